/* widen: sibling products of different widths on one input as one product.
 *
 * hfuse groups siblings whose weights have one shape. What it leaves are
 * siblings that read the same value with different output widths (an
 * ensemble of MLPs of widths 16, 32 and 64; an Inception block's 1x1
 * reductions to 16, 24 and 8 channels): `linear`s with constant weights of
 * one input width, all with a bias or none; `conv1d`/`conv2d`s with one
 * group, one kernel size and one geometry. They become one product over
 * their weights (and biases) laid end to end on the output dim, which is
 * the same bytes appended; each branch is then a slice of the wide result,
 * a view, and concat_elim makes a concat of adjacent ones a view too.
 * While every branch's only reader is the same unary op (one ReLU each),
 * it is applied once to the wide result.
 *
 * Convs summed after an activation stay apart for the reason hfuse keeps
 * them apart (the memory of G results at once: sf_summed_after_epilogue).
 * Needs use counts; leaves dead nodes (dce follows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

typedef struct wgroup {
    const sf_node **n; /* the branches, in graph order */
    int count;
    bool emitted;
} wgroup;

static bool const_operands(const sf_module *m, const sf_node *n)
{
    for (int i = 1; i < n->nin; i++)
        if (!sf_param_tensor(m, n->in[i]))
            return false;
    return true;
}

static bool candidate(const sf_module *m, const sf_node *n)
{
    if (n->op == SF_OP_LINEAR)
        return const_operands(m, n);
    return sf_op_has(n->op, SF_OPF_CONV) && sf_attr_groups(n) == 1 && const_operands(m, n);
}

/* what siblings must share: op, input, bias or none, the weight's dims past the first, the geometry */
static void key_of(const sf_node *n, char *key, size_t cap)
{
    const sf_type *w = &n->in[1]->type;
    int at = snprintf(key, cap, "%d/%d/%d", n->op, n->in[0]->id, n->nin);
    for (int d = 1; d < w->rank && at > 0 && (size_t)at < cap; d++)
        at += snprintf(key + at, cap - (size_t)at, "/%lld", (long long)w->dim[d]);
    static const sf_attr_id geometry[] = {SF_ATTR_STRIDE, SF_ATTR_PADDING, SF_ATTR_DILATION};
    for (int k = 0; n->op != SF_OP_LINEAR && k < 3; k++) {
        const sf_attr *a = sf_node_attr(n, geometry[k]);
        for (int d = 0; d < a->n && at > 0 && (size_t)at < cap; d++)
            at += snprintf(key + at, cap - (size_t)at, "/%lld", (long long)a->ints[d]);
    }
}

/* n's result, through its epilogue of unary ops, goes on into another product */
static bool continues(const sf_node *n, const sf_uses *u)
{
    const sf_value *v = n->out[0];
    while (u->count[v->id] == 1 && sf_op_cls(u->user[v->id]->op) == SF_OPCLS_UNARY)
        v = u->user[v->id]->out[0];
    return u->count[v->id] == 1 && sf_op_cls(u->user[v->id]->op) == SF_OPCLS_PRODUCT;
}

/* Siblings of one width that go on into further products are hfuse's: it
 * groups them and follows them in lockstep (a mixture of experts' experts
 * beside its gate); they leave the group. */
static void leave_lockstep_to_hfuse(wgroup *w, const sf_uses *u)
{
    int k = 0;
    const sf_node **keep = w->n;
    bool *out = calloc((size_t)w->count, sizeof *out);
    if (!out)
        return; /* then all stay: widening is still right, only less than hfuse would do */
    for (int i = 0; i < w->count; i++) {
        int same = 0;
        bool all_go_on = true;
        for (int j = 0; j < w->count; j++)
            if (w->n[j]->in[1]->type.dim[0] == w->n[i]->in[1]->type.dim[0]) {
                same++;
                all_go_on &= continues(w->n[j], u);
            }
        out[i] = same >= 2 && all_go_on;
    }
    for (int i = 0; i < w->count; i++)
        if (!out[i])
            keep[k++] = w->n[i];
    w->count = k;
    free(out);
}

/* groups worth widening: at least two branches, not all of one width (hfuse's), convs not kept apart */
static bool worth_it(const sf_module *m, wgroup *w, const sf_uses *u)
{
    leave_lockstep_to_hfuse(w, u);
    if (w->count < 2)
        return false;
    bool same = true;
    for (int i = 1; i < w->count; i++)
        same &= w->n[i]->in[1]->type.dim[0] == w->n[0]->in[1]->type.dim[0];
    if (same)
        return false;
    if (w->n[0]->op == SF_OP_LINEAR || w->count <= 2)
        return true;
    for (int i = 0; i < w->count; i++)
        if (!sf_summed_after_epilogue(w->n[i], u->user, u->count))
            return true;
    sf_graph_note(m->g, "widen: %d convs of different widths on one input kept apart: summed after an activation",
                  w->count);
    return false;
}

/* the branches' operand `slot` (weight or bias) laid end to end on dim 0 */
static sf_value *appended(sf_rewriter *rw, sf_module *m, const wgroup *w, int slot, sf_error *err)
{
    size_t total = 0;
    for (int i = 0; i < w->count; i++)
        total += sf_tensor_numel(sf_param_tensor(m, w->n[i]->in[slot]));
    float *data = malloc(sizeof *data * (total ? total : 1));
    if (!data) {
        sf_fail(err, SF_ERR_NOMEM, "widen: out of memory");
        return NULL;
    }
    size_t at = 0;
    int64_t dims[SF_MAX_RANK];
    const sf_tensor *t0 = sf_param_tensor(m, w->n[0]->in[slot]);
    memcpy(dims, t0->dim, sizeof *dims * (size_t)t0->rank);
    dims[0] = 0;
    for (int i = 0; i < w->count; i++) {
        const sf_tensor *t = sf_param_tensor(m, w->n[i]->in[slot]);
        memcpy(data + at, t->data, sizeof *data * sf_tensor_numel(t));
        at += sf_tensor_numel(t);
        dims[0] += t->dim[0];
    }
    char hint[512];
    snprintf(hint, sizeof hint, "%s.widened%d", w->n[0]->in[slot]->def->name, w->count);
    sf_value *v = sf_new_param(m, rw->g, hint, t0->rank, dims, data, err);
    free(data);
    return v;
}

static sf_value *emit1(sf_rewriter *rw, const sf_node *like, sf_value *x, sf_error *err)
{
    sf_node *n = sf_rw_node(rw, like->op, 1, &x, like, err);
    return n && sf_node_finish(rw->g, n, err) == SF_OK ? n->out[0] : NULL;
}

/* the wide product, the unary ops every branch agrees on, and each branch's end as a slice of it */
static sf_status emit_group(sf_rewriter *rw, sf_module *m, wgroup *w, const sf_uses *u, sf_error *err)
{
    const sf_node *n0 = w->n[0];
    sf_value *in[3] = {sf_rw_value(rw, n0->in[0], err), NULL, NULL};
    if (in[0])
        in[1] = appended(rw, m, w, 1, err);
    if (in[1] && n0->nin == 3)
        in[2] = appended(rw, m, w, 2, err);
    sf_node *p = in[1] && (n0->nin == 2 || in[2]) ? sf_rw_node(rw, n0->op, n0->nin, in, n0, err) : NULL;
    sf_value *cur = p && sf_node_finish(rw->g, p, err) == SF_OK ? p->out[0] : NULL;
    const sf_node **ends = malloc(sizeof *ends * (size_t)w->count);
    if (!cur || !ends) {
        free(ends);
        return err && err->code ? err->code : sf_fail(err, SF_ERR_NOMEM, "widen: out of memory");
    }
    memcpy(ends, w->n, sizeof *ends * (size_t)w->count);
    for (;;) { /* one unary op on the wide value while every branch's only reader is that op */
        const sf_node *next = u->count[ends[0]->out[0]->id] == 1 ? u->user[ends[0]->out[0]->id] : NULL;
        bool agree = next && sf_op_cls(next->op) == SF_OPCLS_UNARY;
        for (int i = 1; agree && i < w->count; i++) {
            const sf_node *x = u->count[ends[i]->out[0]->id] == 1 ? u->user[ends[i]->out[0]->id] : NULL;
            agree = x && x->op == next->op && sf_node_attrs_equal(x, next);
        }
        if (!agree)
            break;
        if (!(cur = emit1(rw, next, cur, err))) {
            free(ends);
            return err ? err->code : SF_ERR_NOMEM;
        }
        for (int i = 0; i < w->count; i++)
            ends[i] = u->user[ends[i]->out[0]->id];
    }
    int d = n0->op == SF_OP_LINEAR ? cur->type.rank - 1 : 1;
    int64_t at = 0;
    sf_status st = SF_OK;
    for (int i = 0; st == SF_OK && i < w->count; i++) {
        int64_t o = w->n[i]->in[1]->type.dim[0];
        sf_value *v = sf_rw_slice(rw, cur, d, at, at + o, err);
        for (const sf_node *b = w->n[i]; v; b = u->user[b->out[0]->id]) { /* the branch's nodes, all done */
            rw->map[b->out[0]->id] = v;
            if (b == ends[i])
                break;
        }
        st = v ? SF_OK : (err ? err->code : SF_ERR_NOMEM);
        at += o;
    }
    free(ends);
    w->emitted = true;
    return st;
}

sf_status sf_pass_widen(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    const sf_uses *u = sf_pass_uses(m, "widen", err);
    if (!u)
        return SF_ERR_VERIFY;
    size_t nv = g->values.len + 1;
    wgroup *groups = calloc(g->nodes.len + 1, sizeof *groups), **of = calloc(nv, sizeof *of);
    sf_map index = {0};
    sf_arena keys;
    sf_arena_init(&keys);
    size_t ng = 0;
    sf_status st = groups && of ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "widen: out of memory");
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (!candidate(m, n))
            continue;
        char key[256];
        key_of(n, key, sizeof key);
        size_t at = (size_t)(uintptr_t)sf_map_get(&index, key);
        char *k = at ? NULL : sf_arena_strdup(&keys, key);
        if (!at && (!k || !sf_map_put(&index, k, (void *)(uintptr_t)(ng + 1)))) {
            st = sf_fail(err, SF_ERR_NOMEM, "widen: out of memory");
            break;
        }
        wgroup *w = &groups[at ? at - 1 : ng++];
        const sf_node **grown = realloc(w->n, sizeof *grown * (size_t)(w->count + 1));
        if (!grown) {
            st = sf_fail(err, SF_ERR_NOMEM, "widen: out of memory");
            break;
        }
        w->n = grown;
        w->n[w->count++] = n;
    }
    bool any = false;
    for (size_t i = 0; st == SF_OK && i < ng; i++)
        if (worth_it(m, &groups[i], u)) {
            any = true;
            for (int k = 0; k < groups[i].count; k++)
                of[groups[i].n[k]->out[0]->id] = &groups[i];
        }
    sf_rewriter rw;
    if (st == SF_OK && any && (st = sf_rw_begin(&rw, g, err)) == SF_OK) {
        for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
            const sf_node *n = g->nodes.items[i];
            if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
                continue;
            wgroup *w = n->nout == 1 ? of[n->out[0]->id] : NULL;
            if (w)
                st = w->emitted ? SF_OK : emit_group(&rw, m, w, u, err);
            else if (n->nout == 1 && rw.map[n->out[0]->id])
                continue; /* a unary op applied on the wide value */
            else
                st = sf_rw_copy(&rw, n, err);
        }
        st = st == SF_OK ? sf_rw_finish(&rw, m, err) : (sf_rw_abort(&rw), st);
    }
    for (size_t i = 0; i < ng; i++)
        free(groups[i].n);
    free(groups), free(of);
    sf_map_free(&index);
    sf_arena_free(&keys);
    return st;
}
