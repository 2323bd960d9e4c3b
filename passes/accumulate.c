/* accumulate: a sum or mean over branch outputs never materialises the
 * stack. Matches stack(xs, d) reduced by sum/mean over d, and chains of
 * adds of one type whose inner results have no other use (`+`, `+=`,
 * builtin sum()). The summands are then combined in the cheapest form:
 *  - conv/linear branches on the same input with the same geometry fold
 *    into one op with summed weights and biases (GrowingLayer: one conv);
 *  - remaining linear branches with one output width become one product
 *    with the branches laid along K: linear(concat(h_i), [W_1 .. W_n],
 *    sum of biases); after hfuse the concat is a view;
 *  - whatever is left is added into one accumulator, in order.
 * A mean scales the folded weights, or the accumulated sum, by 1/n.
 * Needs use counts (SF_PASS_USES); leaves dead nodes (SF_PASS_DEAD: dce follows). */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

typedef struct sumplan {
    const sf_value **leaves;
    int n;
    double scale;
} sumplan;

typedef struct accum {
    sumplan **at;            /* old value id -> plan rooted there */
    unsigned char *absorbed; /* old value id -> computed inside a plan */
    const int *uses;
} accum;

static bool const_op(const sf_module *m, const sf_node *n)
{
    if (n->op != SF_OP_LINEAR && !sf_op_has(n->op, SF_OPF_CONV))
        return false;
    for (int i = 1; i < n->nin; i++)
        if (!sf_param_tensor(m, n->in[i]))
            return false;
    return true;
}

static bool push_leaf(sumplan *p, const sf_value *v, int *cap)
{
    if (p->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        const sf_value **grown = realloc(p->leaves, sizeof *grown * (size_t)*cap);
        if (!grown)
            return false;
        p->leaves = grown;
    }
    p->leaves[p->n++] = v;
    return true;
}

/* the leaves of an add tree: inner adds of the same type used only here.
 * A summand that broadcasts (a bias parameter, a constant: NAM's `out =
 * self.bias; out = out + f(x_i)`) is a leaf as it is, so the branches
 * beside it still combine; the sum is emitted in leaf order, and its type
 * is t once a leaf of type t is in it. */
static bool collect_adds(const sf_value *v, const sf_type *t, accum *a, sumplan *p, int *cap, bool root)
{
    const sf_node *n = v->def;
    if (n->op == SF_OP_ADD && sf_type_equal(&v->type, t) && (root || a->uses[v->id] == 1)) {
        bool left = sf_type_equal(&n->in[0]->type, t), right = sf_type_equal(&n->in[1]->type, t);
        if (left || right) {
            if (!root)
                a->absorbed[v->id] = 1;
            return (left ? collect_adds(n->in[0], t, a, p, cap, false) : push_leaf(p, n->in[0], cap)) &&
                   (right ? collect_adds(n->in[1], t, a, p, cap, false) : push_leaf(p, n->in[1], cap));
        }
    }
    return push_leaf(p, v, cap);
}

/* Whether combining the leaves changes anything: two foldable siblings,
 * or linears to lay along K. A plain chain of adds stays as it is. */
static bool worth_it(const sf_module *m, const sumplan *p, const int *uses)
{
    int linears = 0;
    for (int i = 0; i < p->n; i++) {
        const sf_node *x = p->leaves[i]->def;
        if (!const_op(m, x) || uses[p->leaves[i]->id] != 1)
            continue;
        linears += x->op == SF_OP_LINEAR;
        for (int j = i + 1; j < p->n; j++) {
            const sf_node *y = p->leaves[j]->def;
            if (y->op == x->op && y->in[0] == x->in[0] && uses[p->leaves[j]->id] == 1 && const_op(m, y) &&
                sf_type_equal(&y->in[1]->type, &x->in[1]->type))
                return true;
        }
    }
    return linears >= 2;
}

static void mark_folded(const sf_module *m, sumplan *p, accum *a)
{
    for (int i = 0; i < p->n; i++) {
        const sf_node *x = p->leaves[i]->def;
        if ((const_op(m, x) && a->uses[p->leaves[i]->id] == 1))
            a->absorbed[p->leaves[i]->id] = 1; /* emitted by the plan, not where it stood */
    }
}

static sf_status plan_all(const sf_module *m, accum *a, sf_error *err)
{
    const sf_graph *g = m->g;
    for (size_t i = g->nodes.len; i-- > 0;) { /* outermost roots first */
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE || a->absorbed[n->out[0]->id])
            continue;
        sumplan *p = calloc(1, sizeof *p);
        int cap = 0;
        if (!p)
            return sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
        bool ok = false;
        const sf_attr *dims = (n->op == SF_OP_SUM || n->op == SF_OP_MEAN) ? sf_attr_dims(n) : NULL;
        const sf_node *st = dims ? n->in[0]->def : NULL;
        if (st && st->op == SF_OP_STACK && dims->n == 1 && !sf_attr_keepdim(n) &&
            dims->ints[0] == sf_attr_dim(st) && a->uses[n->in[0]->id] == 1) {
            for (int k = 0; k < st->nin; k++)
                if (!push_leaf(p, st->in[k], &cap))
                    return sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
            p->scale = n->op == SF_OP_MEAN ? 1.0 / st->nin : 1.0;
            a->absorbed[n->in[0]->id] = 1;
            ok = true;
        } else if (n->op == SF_OP_ADD) {
            p->scale = 1.0;
            unsigned char *saved = malloc(g->values.len + 1);
            if (!saved)
                return sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
            memcpy(saved, a->absorbed, g->values.len + 1);
            if (!collect_adds(n->out[0], &n->out[0]->type, a, p, &cap, true))
                return sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
            ok = worth_it(m, p, a->uses);
            if (!ok) /* leave the adds alone */
                memcpy(a->absorbed, saved, g->values.len + 1);
            free(saved);
        }
        if (!ok) {
            free(p->leaves);
            free(p);
            continue;
        }
        mark_folded(m, p, a);
        a->at[n->out[0]->id] = p;
    }
    return SF_OK;
}

/* ---- emission ---- */

typedef enum { CLASS_FOLD, CLASS_KCAT, CLASS_PLAIN } class_kind;

static const sf_tensor *wt(const sf_module *m, const sf_value *v) { return sf_tensors_get(m->weights, v->def->name); }

/* the sum of the classes' biases, scaled; NULL data when none has one */
static float *sum_bias(const sf_module *m, const sumplan *p, const int *idx, int n, int64_t O, double s, bool *any)
{
    float *b = calloc((size_t)O, sizeof *b);
    *any = false;
    for (int k = 0; b && k < n; k++) {
        const sf_node *x = p->leaves[idx[k]]->def;
        if (x->nin < 3)
            continue;
        *any = true;
        const sf_tensor *t = wt(m, x->in[2]);
        for (int64_t o = 0; o < O; o++)
            b[o] += (float)(t->data[o] * s);
    }
    return b;
}

/* How a trainable compile recomputes a class's weight (slot 1) or summed
 * bias (slot 2) from the branches'. */
static sf_value *class_recipe(sf_module *m, const sumplan *p, class_kind kind, const int *idx, int n, int slot,
                              double s, sf_error *err)
{
    if (!sf_trainable(m))
        return NULL;
    const sf_value **ps = malloc(sizeof *ps * (size_t)n);
    if (!ps) {
        sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
        return NULL;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        const sf_node *x = p->leaves[idx[i]]->def;
        if (slot < x->nin)
            ps[k++] = x->in[slot];
    }
    sf_value *r = kind == CLASS_FOLD || slot == 2 ? sf_derive_sum(m, ps, k, s, err)
                                                  : sf_derive_concat(m, ps, k, 1, s, err);
    free(ps);
    return r;
}

static sf_value *emit_class(sf_rewriter *rw, sf_module *m, const sumplan *p, class_kind kind, const int *idx, int n,
                            double s, sf_error *err)
{
    const sf_node *x0 = p->leaves[idx[0]]->def;
    if (kind == CLASS_PLAIN) {
        if (sf_rw_copy(rw, x0, err) != SF_OK)
            return NULL;
        return rw->map[x0->out[0]->id];
    }
    const sf_tensor *w0 = wt(m, x0->in[1]);
    int64_t O = w0->dim[0], K = 0;
    for (int k = 0; k < n; k++)
        K += wt(m, p->leaves[idx[k]]->def->in[1])->dim[1];
    size_t per = sf_tensor_numel(w0);
    float *w = calloc(kind == CLASS_FOLD ? per : (size_t)(O * K), sizeof *w);
    if (!w) {
        sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
        return NULL;
    }
    int64_t off = 0;
    for (int k = 0; k < n; k++) {
        const sf_tensor *t = wt(m, p->leaves[idx[k]]->def->in[1]);
        if (kind == CLASS_FOLD) {
            for (size_t e = 0; e < per; e++)
                w[e] += (float)(t->data[e] * s);
        } else { /* columns of branch k go to [off, off + K_k) */
            for (int64_t o = 0; o < O; o++)
                for (int64_t c = 0; c < t->dim[1]; c++)
                    w[o * K + off + c] = (float)(t->data[o * t->dim[1] + c] * s);
            off += t->dim[1];
        }
    }
    bool any;
    float *b = sum_bias(m, p, idx, n, O, s, &any);
    char hint[512];
    snprintf(hint, sizeof hint, "%s.%s%d", x0->in[1]->def->name, kind == CLASS_FOLD ? "summed" : "kcat", n);
    int64_t kdims[2] = {O, K};
    sf_value *in[3] = {NULL, NULL, NULL};
    in[1] = b ? sf_new_param(m, rw->g, hint, kind == CLASS_FOLD ? w0->rank : 2, kind == CLASS_FOLD ? w0->dim : kdims, w,
                             class_recipe(m, p, kind, idx, n, 1, s, err), err)
              : NULL;
    snprintf(hint, sizeof hint, "%s.%s%d_bias", x0->in[1]->def->name, kind == CLASS_FOLD ? "summed" : "kcat", n);
    if (in[1] && any)
        in[2] = sf_new_param(m, rw->g, hint, 1, &O, b, class_recipe(m, p, kind, idx, n, 2, s, err), err);
    free(w);
    free(b);
    if (!in[1] || (any && !in[2]))
        return NULL;
    if (kind == CLASS_FOLD) {
        in[0] = sf_rw_value(rw, x0->in[0], err);
    } else {
        sf_value **hs = malloc(sizeof *hs * (size_t)n);
        if (!hs) {
            sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
            return NULL;
        }
        bool ok = true;
        for (int k = 0; k < n && ok; k++)
            ok = (hs[k] = sf_rw_value(rw, p->leaves[idx[k]]->def->in[0], err)) != NULL;
        sf_node *c = ok ? sf_rw_node(rw, SF_OP_CONCAT, n, hs, NULL, err) : NULL;
        if (c) {
            sf_node_set_int(c, SF_ATTR_DIM, hs[0]->type.rank - 1);
            in[0] = sf_node_finish(rw->g, c, err) == SF_OK ? c->out[0] : NULL;
        }
        free(hs);
    }
    sf_node *op = in[0] ? sf_rw_node(rw, x0->op, any ? 3 : 2, in, x0, err) : NULL;
    return op && sf_node_finish(rw->g, op, err) == SF_OK ? op->out[0] : NULL;
}

/* Splits the leaves into classes: folds, one K-concatenation, the rest. */
static int classify(const sumplan *p, const accum *a, int *cls, class_kind *kinds)
{
    int ncls = 0;
    for (int i = 0; i < p->n; i++)
        cls[i] = -1;
    for (int i = 0; i < p->n; i++) {
        const sf_node *x = p->leaves[i]->def;
        if (cls[i] >= 0 || !a->absorbed[p->leaves[i]->id])
            continue;
        int members = 1;
        for (int j = i + 1; j < p->n; j++) {
            const sf_node *y = p->leaves[j]->def;
            if (cls[j] < 0 && a->absorbed[p->leaves[j]->id] && y->op == x->op && y->in[0] == x->in[0] &&
                sf_type_equal(&y->in[1]->type, &x->in[1]->type) && sf_node_attrs_equal(x, y)) {
                cls[j] = ncls;
                members++;
            }
        }
        if (members > 1) {
            cls[i] = ncls;
            kinds[ncls++] = CLASS_FOLD;
        }
    }
    int kcat = -1, klen = 0;
    for (int i = 0; i < p->n; i++) {
        const sf_node *x = p->leaves[i]->def;
        if (cls[i] < 0 && a->absorbed[p->leaves[i]->id] && x->op == SF_OP_LINEAR) {
            if (kcat < 0) {
                kcat = ncls++;
                kinds[kcat] = CLASS_KCAT;
            }
            cls[i] = kcat;
            klen++;
        }
    }
    if (klen == 1)
        kinds[kcat] = CLASS_PLAIN;
    for (int i = 0; i < p->n; i++)
        if (cls[i] < 0 && a->absorbed[p->leaves[i]->id]) {
            cls[i] = ncls;
            kinds[ncls++] = CLASS_PLAIN;
        }
    return ncls;
}

static sf_status emit_plan(sf_rewriter *rw, sf_module *m, const sf_node *root, const sumplan *p, const accum *a,
                           sf_error *err)
{
    int *cls = malloc(sizeof *cls * (size_t)p->n), *idx = malloc(sizeof *idx * (size_t)p->n);
    class_kind *kinds = malloc(sizeof *kinds * (size_t)p->n);
    if (!cls || !idx || !kinds) {
        free(cls), free(idx), free(kinds);
        return sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
    }
    int ncls = classify(p, a, cls, kinds), loose = 0;
    for (int i = 0; i < p->n; i++)
        loose += cls[i] < 0;
    /* one folded product and nothing else: the mean's 1/n goes into its weights */
    bool scale_in_weights = ncls == 1 && loose == 0 && kinds[0] != CLASS_PLAIN;
    sf_value *acc = NULL;
    sf_status st = SF_OK;
    for (int i = 0; st == SF_OK && i < p->n; i++) {
        sf_value *piece = NULL;
        if (cls[i] < 0) {
            piece = sf_rw_value(rw, p->leaves[i], err);
        } else {
            int n = 0, c = cls[i];
            bool first = true;
            for (int j = 0; j < p->n; j++)
                if (cls[j] == c) {
                    first &= j >= i;
                    idx[n++] = j;
                }
            if (!first)
                continue; /* emitted with its class */
            piece = emit_class(rw, m, p, kinds[c], idx, n, scale_in_weights ? p->scale : 1.0, err);
        }
        if (!piece) {
            st = err ? err->code : SF_ERR_NOMEM;
            break;
        }
        if (!acc) {
            acc = piece;
        } else {
            sf_value *in[2] = {acc, piece};
            sf_node *add = sf_rw_node(rw, SF_OP_ADD, 2, in, NULL, err);
            acc = add && sf_node_finish(rw->g, add, err) == SF_OK ? add->out[0] : NULL;
            if (!acc)
                st = err ? err->code : SF_ERR_NOMEM;
        }
    }
    if (st == SF_OK && p->scale != 1.0 && !scale_in_weights) {
        sf_node *sc = sf_rw_node(rw, SF_OP_SCALAR, 0, NULL, NULL, err);
        if (sc) {
            sf_node_set_float(sc, SF_ATTR_VALUE, p->scale);
            sf_value *in[2] = {acc, sf_node_finish(rw->g, sc, err) == SF_OK ? sc->out[0] : NULL};
            sf_node *mul = in[1] ? sf_rw_node(rw, SF_OP_MUL, 2, in, NULL, err) : NULL;
            acc = mul && sf_node_finish(rw->g, mul, err) == SF_OK ? mul->out[0] : NULL;
        }
        if (!acc)
            st = err ? err->code : SF_ERR_NOMEM;
    }
    if (st == SF_OK)
        rw->map[root->out[0]->id] = acc;
    free(cls), free(idx), free(kinds);
    return st;
}

sf_status sf_pass_accumulate(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    size_t nv = g->values.len + 1;
    const sf_uses *u = sf_pass_uses(m, "accumulate", err);
    if (!u)
        return SF_ERR_VERIFY;
    accum a = {calloc(nv, sizeof(sumplan *)), calloc(nv, 1), u->count};
    sf_status st = a.at && a.absorbed ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "accumulate: out of memory");
    if (st == SF_OK)
        st = plan_all(m, &a, err);
    sf_rewriter rw;
    bool any = false;
    for (size_t i = 0; a.at && i < nv; i++)
        any |= a.at[i] != NULL;
    if (st == SF_OK && any)
        st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && any && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE || a.absorbed[n->out[0]->id])
            continue;
        st = a.at[n->out[0]->id] ? emit_plan(&rw, m, n, a.at[n->out[0]->id], &a, err) : sf_rw_copy(&rw, n, err);
    }
    if (any && st != SF_OK)
        sf_rw_abort(&rw);
    else if (any)
        st = sf_rw_finish(&rw, m, err);
    for (size_t i = 0; a.at && i < nv; i++)
        if (a.at[i]) {
            free(a.at[i]->leaves);
            free(a.at[i]);
        }
    free(a.at), free(a.absorbed);
    return st;
}
