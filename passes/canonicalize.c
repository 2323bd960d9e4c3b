/* canonicalize: one form for each computation before the fusion passes.
 * - views: squeeze, unsqueeze, flatten and reshape become one reshape of
 *   the original value; a view to the same type disappears;
 * - no-ops: concat or split of one piece, a full slice, transpose of a dim
 *   with itself, x*1, x/1, x+0, x-0 (when the type is unchanged);
 * - a step-1 slice of a step-1 slice along one dim is one slice of the
 *   value underneath (towers of towers: the inner branches then read
 *   windows of one tensor, and hfuse groups them all);
 * - BatchNorm after a conv or linear whose result nothing else reads folds
 *   into that op's weights and bias;
 * - a node computed from parameters and scalars only is evaluated now and
 *   becomes a parameter;
 * - a shared grouped product whose groups do not go on separately is one
 *   linear over all their outputs (dense_shared).
 * The frontend already turns x += y into a pure add and leaves out
 * Dropout and Identity, so those need no rule here.
 * Needs use counts (SF_PASS_USES); leaves no dead nodes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

enum { MAX_FOLD_ELEMS = 1 << 24 };

static bool is_scalar_value(const sf_value *v, double want)
{
    return v->def->op == SF_OP_SCALAR && sf_attr_value(v->def) == want;
}

/* The value a no-op node stands for, or NULL. */
static sf_value *identity_of(const sf_node *n, sf_value *const *in)
{
    const sf_type *out = &n->out[0]->type;
    switch (n->op) {
    case SF_OP_CONCAT: return n->nin == 1 ? in[0] : NULL;
    case SF_OP_SPLIT: return n->nout == 1 ? in[0] : NULL;
    case SF_OP_SLICE: return sf_type_equal(out, &in[0]->type) ? in[0] : NULL;
    case SF_OP_TRANSPOSE: return sf_attr_dim0(n) == sf_attr_dim1(n) ? in[0] : NULL;
    case SF_OP_MUL:
        if (is_scalar_value(in[1], 1.0) && sf_type_equal(out, &in[0]->type))
            return in[0];
        return is_scalar_value(in[0], 1.0) && sf_type_equal(out, &in[1]->type) ? in[1] : NULL;
    case SF_OP_DIV: return is_scalar_value(in[1], 1.0) && sf_type_equal(out, &in[0]->type) ? in[0] : NULL;
    case SF_OP_ADD:
        if (is_scalar_value(in[1], 0.0) && sf_type_equal(out, &in[0]->type))
            return in[0];
        return is_scalar_value(in[0], 0.0) && sf_type_equal(out, &in[1]->type) ? in[1] : NULL;
    case SF_OP_SUB: return is_scalar_value(in[1], 0.0) && sf_type_equal(out, &in[0]->type) ? in[0] : NULL;
    default: return NULL;
    }
}

static bool slice_of_slice(const sf_node *n, const sf_value *in)
{
    const sf_node *inner = in->def;
    return n->op == SF_OP_SLICE && inner->op == SF_OP_SLICE && sf_attr_step(n) == 1 && sf_attr_step(inner) == 1 &&
           sf_attr_dim(n) == sf_attr_dim(inner);
}

/* every view as one reshape of the value underneath all views */
static sf_status view_to_reshape(sf_rewriter *rw, const sf_node *n, sf_value *src, sf_error *err)
{
    const sf_type *out = &n->out[0]->type;
    while (src->def->op == SF_OP_RESHAPE)
        src = src->def->in[0];
    if (sf_type_equal(&src->type, out)) {
        rw->map[n->out[0]->id] = src;
        return SF_OK;
    }
    sf_value *r = sf_rw_reshape(rw, src, out->dim, out->rank, err);
    if (!r)
        return err ? err->code : SF_ERR_NOMEM;
    r->def->loc = n->loc ? sf_arena_strdup(&rw->g->arena, n->loc) : NULL;
    rw->map[n->out[0]->id] = r;
    return SF_OK;
}

/* conv/linear followed only by batchnorm, everything constant: foldable */
static bool bn_foldable(const sf_module *m, const sf_node *bn, const int *uses)
{
    const sf_node *p = bn->in[0]->def;
    if (sf_trainable(m)) /* no recipe yet: the statistics and the scale would be folded in for good */
        return false;
    if (!sf_op_has(p->op, SF_OPF_CONV) && !(p->op == SF_OP_LINEAR && p->out[0]->type.rank == 2))
        return false;
    if (uses[p->out[0]->id] != 1)
        return false;
    for (int i = 1; i < bn->nin; i++)
        if (!sf_param_tensor(m, bn->in[i]))
            return false;
    for (int i = 1; i < p->nin; i++)
        if (!sf_param_tensor(m, p->in[i]))
            return false;
    return true;
}

/* W'[o,...] = W[o,...] * s[o], b'[o] = (b[o] - mean[o]) * s[o] + beta[o], s = gamma / sqrt(var + eps) */
static sf_status fold_bn(sf_rewriter *rw, sf_module *m, const sf_node *p, const sf_node *bn, sf_error *err)
{
    const sf_tensor *w = sf_param_tensor(m, p->in[1]), *b = p->nin > 2 ? sf_param_tensor(m, p->in[2]) : NULL;
    const sf_tensor *mean = sf_param_tensor(m, bn->in[1]), *var = sf_param_tensor(m, bn->in[2]);
    const sf_tensor *gamma = bn->nin > 3 ? sf_param_tensor(m, bn->in[3]) : NULL;
    const sf_tensor *beta = bn->nin > 4 ? sf_param_tensor(m, bn->in[4]) : NULL;
    double eps = sf_attr_eps(bn);
    int64_t O = w->dim[0];
    size_t per = sf_tensor_numel(w) / (size_t)O;
    float *nw = malloc(sizeof *nw * sf_tensor_numel(w)), *nb = malloc(sizeof *nb * (size_t)O);
    if (!nw || !nb) {
        free(nw), free(nb);
        return sf_fail(err, SF_ERR_NOMEM, "canonicalize: out of memory");
    }
    for (int64_t o = 0; o < O; o++) {
        double s = (gamma ? gamma->data[o] : 1.0) / sqrt((double)var->data[o] + eps);
        for (size_t k = 0; k < per; k++)
            nw[o * per + k] = (float)(w->data[o * per + k] * s);
        nb[o] = (float)(((b ? b->data[o] : 0.0) - mean->data[o]) * s + (beta ? beta->data[o] : 0.0));
    }
    char hint[512];
    snprintf(hint, sizeof hint, "%s.bn_folded", p->in[1]->def->name);
    sf_value *in[3] = {sf_rw_value(rw, p->in[0], err), NULL, NULL};
    in[1] = in[0] ? sf_new_param(m, rw->g, hint, w->rank, w->dim, nw, NULL, err) : NULL;
    snprintf(hint, sizeof hint, "%s.bn_folded_bias", p->in[1]->def->name);
    in[2] = in[1] ? sf_new_param(m, rw->g, hint, 1, &O, nb, NULL, err) : NULL;
    free(nw), free(nb);
    sf_node *c = in[2] ? sf_rw_node(rw, p->op, 3, in, p, err) : NULL;
    if (!c)
        return err ? err->code : SF_ERR_NOMEM;
    sf_status st = sf_node_finish(rw->g, c, err);
    if (st == SF_OK)
        rw->map[p->out[0]->id] = rw->map[bn->out[0]->id] = c->out[0];
    return st;
}

/* A convolution over one position with a 1-wide kernel (ConvolutionalPFCN's
 * Conv1d on [B, C, 1]) is a product: groups == 1 a linear, else a
 * grouped_linear over [N, groups, C / groups]. The weight [O, C/g, 1..]
 * holds the same floats as [g, O/g, C/g]. */
static bool conv_is_product(const sf_module *m, const sf_node *n)
{
    if (!sf_op_has(n->op, SF_OPF_CONV))
        return false;
    const sf_type *xt = &n->in[0]->type, *wt = &n->in[1]->type;
    const sf_attr *pad = sf_attr_padding(n);
    for (int d = 2; d < xt->rank; d++)
        if (xt->dim[d] != 1 || wt->dim[d] != 1 || pad->ints[d - 2] != 0)
            return false;
    return xt->dim[1] != SF_DIM_B && sf_param_tensor(m, n->in[1]) && (n->nin < 3 || sf_param_tensor(m, n->in[2]));
}

static sf_status conv_to_product(sf_rewriter *rw, sf_module *m, const sf_node *n, sf_value *x, sf_error *err)
{
    const sf_type *xt = &n->in[0]->type, *ot = &n->out[0]->type;
    const sf_tensor *w = sf_param_tensor(m, n->in[1]), *b = n->nin > 2 ? sf_param_tensor(m, n->in[2]) : NULL;
    int64_t G = sf_attr_groups(n), C = xt->dim[1], O = ot->dim[1];
    bool grouped = G > 1;
    int64_t xg[3] = {xt->dim[0], G, C / G}, xf[2] = {xt->dim[0], C};
    int64_t wg[3] = {G, O / G, C / G}, wf[2] = {O, C}, bg[2] = {G, O / G};
    char hint[512];
    snprintf(hint, sizeof hint, "%s.as_product", n->in[1]->def->name);
    sf_value *in[3] = {sf_rw_reshape(rw, x, grouped ? xg : xf, grouped ? 3 : 2, err), NULL, NULL};
    in[1] = in[0] ? sf_new_param(m, rw->g, hint, grouped ? 3 : 2, grouped ? wg : wf, w->data,
                                 sf_derive_reshape(m, n->in[1], grouped ? 3 : 2, grouped ? wg : wf, err), err)
                  : NULL;
    if (b && in[1]) {
        snprintf(hint, sizeof hint, "%s.as_product", n->in[2]->def->name);
        in[2] = sf_new_param(m, rw->g, hint, grouped ? 2 : 1, grouped ? bg : &O, b->data,
                             sf_derive_reshape(m, n->in[2], grouped ? 2 : 1, grouped ? bg : &O, err), err);
    }
    if (!in[1] || (b && !in[2]))
        return err ? err->code : SF_ERR_NOMEM;
    sf_node *p = sf_rw_node(rw, grouped ? SF_OP_GROUPED_LINEAR : SF_OP_LINEAR, b ? 3 : 2, in, NULL, err);
    if (p && grouped)
        sf_node_set_int(p, SF_ATTR_SHARED, 0);
    if (!p || sf_node_finish(rw->g, p, err) != SF_OK)
        return err ? err->code : SF_ERR_NOMEM;
    sf_value *r = sf_rw_reshape(rw, p->out[0], ot->dim, ot->rank, err);
    if (!r)
        return err ? err->code : SF_ERR_NOMEM;
    rw->map[n->out[0]->id] = r;
    return SF_OK;
}

bool sf_sums_groups(const sf_node *n, int64_t G)
{
    const sf_node *r = n->op == SF_OP_LINEAR ? n->in[0]->def : NULL;
    if (!r || r->op != SF_OP_RESHAPE || !sf_type_joins_last2(&r->in[0]->type, &r->out[0]->type))
        return false;
    const sf_type *t = &r->in[0]->type;
    return t->dim[t->rank - 2] == G && t->dim[t->rank - 1] >= SF_CHAIN_SUM_MIN_WIDTH &&
           n->in[1]->type.dim[0] <= SF_CHAIN_SUM_MAX_OUTPUTS;
}

/* The unary ops that follow n one after the other, each the only reader of
 * the one before: the last of them (n itself when there are none). */
static const sf_node *activations_after(const sf_node *n, const sf_uses *u)
{
    for (;;) {
        const sf_value *v = n->out[0];
        const sf_node *next = u->count[v->id] == 1 ? u->user[v->id] : NULL;
        if (!next || sf_op_cls(next->op) != SF_OPCLS_UNARY || next->nin != 1)
            return n;
        n = next;
    }
}

/* A shared grouped product (hfuse's, of branches on one input) computes
 * one linear: its groups read the same rows, and W[G, O, K] holds the
 * floats of W[G*O, K]. It stays grouped only where its groups go on
 * separately after its activations: into per-group products, or into a
 * sum over the groups that a chain runs group by group (sf_sums_groups).
 * Anywhere else the grouped form only costs: golden StackMean(50, 10, 5,
 * 3) at batch 4096, 2 threads, ran 3.2 ms with groups of 5 (their GELU one
 * masked 16-lane step per group and row) against 0.5 ms as Linear(10,
 * 250) -> GELU -> Linear(250, 3). The activations move in front of the
 * reshape back to [..., G, O], so the dense product keeps its epilogue
 * and a product after the reshape can chain with it. */
static bool dense_shared(const sf_module *m, const sf_node *n, const sf_uses *u, const bool *grouped_reads)
{
    if (n->op != SF_OP_GROUPED_LINEAR || !sf_attr_shared(n) || !sf_param_tensor(m, n->in[1]) ||
        (n->nin > 2 && !sf_param_tensor(m, n->in[2])))
        return false;
    const sf_value *end = activations_after(n, u)->out[0];
    if (grouped_reads[end->id])
        return false;
    const sf_node *r = u->count[end->id] == 1 ? u->user[end->id] : NULL;
    const sf_node *sum = r && r->op == SF_OP_RESHAPE && u->count[r->out[0]->id] == 1 ? u->user[r->out[0]->id] : NULL;
    return !sum || !sf_sums_groups(sum, n->in[1]->type.dim[0]);
}

static sf_status to_dense(sf_rewriter *rw, sf_module *m, const sf_node *n, sf_value *x, const sf_uses *u,
                          bool *lowered, sf_error *err)
{
    const sf_tensor *w = sf_param_tensor(m, n->in[1]), *b = n->nin > 2 ? sf_param_tensor(m, n->in[2]) : NULL;
    int64_t wd[2] = {w->dim[0] * w->dim[1], w->dim[2]};
    char hint[512];
    snprintf(hint, sizeof hint, "%s.dense", n->in[1]->def->name);
    sf_value *in[3] = {x, sf_new_param(m, rw->g, hint, 2, wd, w->data, sf_derive_reshape(m, n->in[1], 2, wd, err), err),
                       NULL};
    if (b && in[1]) {
        snprintf(hint, sizeof hint, "%s.dense", n->in[2]->def->name);
        in[2] = sf_new_param(m, rw->g, hint, 1, wd, b->data, sf_derive_reshape(m, n->in[2], 1, wd, err), err);
    }
    if (!in[1] || (b && !in[2]))
        return err ? err->code : SF_ERR_NOMEM;
    sf_node *p = sf_rw_node(rw, SF_OP_LINEAR, b ? 3 : 2, in, NULL, err);
    if (!p)
        return err ? err->code : SF_ERR_NOMEM;
    p->loc = n->loc ? sf_arena_strdup(&rw->g->arena, n->loc) : NULL;
    sf_status st = sf_node_finish(rw->g, p, err);
    sf_value *v = p->out[0];
    const sf_node *last = activations_after(n, u);
    for (const sf_node *a = n; st == SF_OK && a != last;) {
        a = u->user[a->out[0]->id];
        lowered[a->out[0]->id] = true;
        sf_node *c = sf_rw_node(rw, a->op, 1, &v, a, err);
        st = c ? sf_node_finish(rw->g, c, err) : (err ? err->code : SF_ERR_NOMEM);
        v = st == SF_OK ? c->out[0] : NULL;
    }
    const sf_type *ot = &n->out[0]->type;
    sf_value *r = st == SF_OK ? sf_rw_reshape(rw, v, ot->dim, ot->rank, err) : NULL;
    if (!r)
        return st != SF_OK ? st : (err ? err->code : SF_ERR_NOMEM);
    rw->map[last->out[0]->id] = r;
    return SF_OK;
}

static bool is_constant(const sf_value *v) { return v->def->op == SF_OP_PARAM || v->def->op == SF_OP_SCALAR; }

/* Evaluates a node of constants with the interpreter; results become parameters. */
static sf_status fold_constant(sf_rewriter *rw, sf_module *m, const sf_node *n, sf_value *const *in, sf_error *err)
{
    sf_graph *mini = sf_graph_new("fold");
    sf_tensor_set *none = sf_tensors_new(), *out = sf_tensors_new();
    sf_value **ins = calloc((size_t)n->nin + 1, sizeof *ins);
    sf_status st = mini && none && out && ins ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "canonicalize: out of memory");
    for (int i = 0; st == SF_OK && i < n->nin; i++) {
        const sf_value *v = in[i];
        if (v->def->op == SF_OP_PARAM) {
            ins[i] = sf_graph_param_get(mini, v->def->name);
            if (!ins[i])
                ins[i] = sf_graph_param(mini, v->def->name, &v->type, err);
        } else {
            sf_node *s = sf_node_begin(mini, SF_OP_SCALAR, 0, NULL, err);
            if (s) {
                sf_node_set_float(s, SF_ATTR_VALUE, sf_attr_value(v->def));
                if (sf_node_finish(mini, s, err) == SF_OK)
                    ins[i] = s->out[0];
            }
        }
        if (!ins[i])
            st = err ? err->code : SF_ERR_NOMEM;
    }
    sf_node *c = st == SF_OK ? sf_node_begin(mini, n->op, n->nin, ins, err) : NULL;
    if (st == SF_OK && (!c || sf_copy_attrs(mini, c, n, err) != SF_OK || sf_node_finish(mini, c, err) != SF_OK))
        st = err ? err->code : SF_ERR_VERIFY;
    for (int k = 0; st == SF_OK && k < c->nout; k++)
        st = sf_graph_add_output(mini, c->out[k], err);
    if (st == SF_OK)
        st = sf_interp_run(mini, 1, none, m->weights, out, err);
    for (int k = 0; st == SF_OK && k < n->nout; k++) {
        const sf_tensor *t = out->tensors.items[k];
        char hint[512];
        snprintf(hint, sizeof hint, "%s.folded", n->nin && in[0]->def->op == SF_OP_PARAM ? in[0]->def->name : "const");
        sf_value *p = sf_new_param(m, rw->g, hint, t->rank, t->dim, t->data, sf_derive_like(m, n, in, k, err), err);
        if (!p)
            st = err ? err->code : SF_ERR_NOMEM;
        else
            rw->map[n->out[k]->id] = p;
    }
    free(ins);
    sf_graph_free(mini);
    sf_tensors_free(none);
    sf_tensors_free(out);
    return st;
}

/* A fill or iota of at most this many elements folds (and what it feeds, a causal mask's triangle, folds
 * after it); a larger one stays a kernel rather than become that many bytes of package. */
enum { MAX_FOLD_FILL = 1 << 16 };

static bool foldable_constant(const sf_node *n, sf_value *const *in)
{
    bool fill = n->nin == 0 && sf_op_cls(n->op) == SF_OPCLS_CONSTANT && n->op != SF_OP_SCALAR;
    if (n->op == SF_OP_SCALAR || (n->nin == 0 && !fill))
        return false;
    for (int i = 0; i < n->nin; i++)
        if (!is_constant(in[i]))
            return false;
    size_t numel = 0;
    for (int k = 0; k < n->nout; k++) {
        size_t e;
        if (!sf_type_numel(&n->out[k]->type, 1, &e) || sf_type_has_batch(&n->out[k]->type) ||
            n->out[k]->type.dtype != SF_F32) /* a folded result is an f32 parameter; a mask stays computed */
            return false;
        numel += e;
    }
    return numel <= (fill ? MAX_FOLD_FILL : MAX_FOLD_ELEMS);
}

sf_status sf_pass_canonicalize(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    const sf_uses *u = sf_pass_uses(m, "canonicalize", err);
    if (!u)
        return SF_ERR_VERIFY;
    const int *uses = u->count;
    const sf_node **fold_into = calloc(g->values.len + 1, sizeof *fold_into); /* conv out id -> its bn */
    bool *grouped_reads = calloc(g->values.len + 1, sizeof *grouped_reads); /* by value id: a grouped product reads it */
    bool *lowered = calloc(g->values.len + 1, sizeof *lowered); /* by value id: made by dense_shared's rewrite */
    sf_value **in = NULL;
    size_t in_cap = 0;
    if (!fold_into || !grouped_reads || !lowered) {
        free(fold_into), free(grouped_reads), free(lowered);
        return sf_fail(err, SF_ERR_NOMEM, "canonicalize: out of memory");
    }
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (n->op == SF_OP_BATCHNORM && bn_foldable(m, n, uses))
            fold_into[n->in[0]->id] = n;
        if (n->op == SF_OP_GROUPED_LINEAR)
            grouped_reads[n->in[0]->id] = true;
    }
    sf_rewriter rw;
    sf_status st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        if (n->op == SF_OP_BATCHNORM && fold_into[n->in[0]->id] == n)
            continue; /* done with its producer */
        if (n->nout == 1 && lowered[n->out[0]->id])
            continue; /* done with the dense product before it */
        if (n->nout == 1 && fold_into[n->out[0]->id]) {
            st = fold_bn(&rw, m, n, fold_into[n->out[0]->id], err);
            continue;
        }
        if ((size_t)n->nin > in_cap) {
            in_cap = (size_t)n->nin * 2;
            sf_value **grown = realloc(in, sizeof *in * in_cap);
            if (!grown) {
                st = sf_fail(err, SF_ERR_NOMEM, "canonicalize: out of memory");
                break;
            }
            in = grown;
        }
        for (int k = 0; st == SF_OK && k < n->nin; k++)
            if (!(in[k] = sf_rw_value(&rw, n->in[k], err)))
                st = err ? err->code : SF_ERR_VERIFY;
        if (st != SF_OK)
            break;
        sf_value *same = identity_of(n, in);
        if (same) {
            for (int k = 0; k < n->nout; k++)
                rw.map[n->out[k]->id] = same;
        } else if (foldable_constant(n, in)) { /* before views: a view of a parameter is a parameter */
            st = fold_constant(&rw, m, n, in, err);
        } else if (sf_op_cls(n->op) == SF_OPCLS_VIEW) {
            st = view_to_reshape(&rw, n, in[0], err);
        } else if (n->op == SF_OP_SLICE && slice_of_slice(n, in[0])) {
            const sf_node *inner = in[0]->def;
            int64_t a = sf_attr_start(inner);
            sf_value *v = sf_rw_slice(&rw, inner->in[0], (int)sf_attr_dim(n), a + sf_attr_start(n), a + sf_attr_end(n), err);
            if (v)
                rw.map[n->out[0]->id] = v;
            else
                st = err ? err->code : SF_ERR_NOMEM;
        } else if (conv_is_product(m, n)) {
            st = conv_to_product(&rw, m, n, in[0], err);
        } else if (dense_shared(m, n, u, grouped_reads)) {
            st = to_dense(&rw, m, n, in[0], u, lowered, err);
        } else {
            st = sf_rw_copy(&rw, n, err);
        }
    }
    free(in);
    free(fold_into), free(grouped_reads), free(lowered);
    if (st != SF_OK) {
        sf_rw_abort(&rw);
        return st;
    }
    return sf_rw_finish(&rw, m, err);
}
