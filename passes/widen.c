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
 * Convs of different kernel sizes that see the same windows' centres (3x3
 * with padding 1 beside 5x5 with padding 2) share the largest kernel, the
 * smaller ones centred in zeros, where that costs at most a quarter more
 * multiply-adds than running them apart (cost_of_padding).
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
    /* trainable: no recipe for a kernel centred in a larger one yet */
    return sf_op_has(n->op, SF_OPF_CONV) && sf_attr_groups(n) == 1 && const_operands(m, n) && !sf_trainable(m);
}

/* What siblings must share: op, input, bias or none, the input width or
 * channels, and for convs the stride, the dilation and, along each spatial
 * dim, the kernel's parity and 2p - dil (k - 1): convs of kernels 3 and 5
 * with paddings 1 and 2 then read the same windows' centres, and the
 * smaller kernel is the larger one with a border of zeros (padding 2). */
static void key_of(const sf_node *n, char *key, size_t cap)
{
    const sf_type *w = &n->in[1]->type;
    int at = snprintf(key, cap, "%d/%d/%d/%lld", n->op, n->in[0]->id, n->nin, (long long)w->dim[1]);
    if (n->op == SF_OP_LINEAR)
        return;
    const sf_attr *st = sf_node_attr(n, SF_ATTR_STRIDE), *pad = sf_node_attr(n, SF_ATTR_PADDING),
                  *dil = sf_node_attr(n, SF_ATTR_DILATION);
    for (int d = 0; d < st->n && at > 0 && (size_t)at < cap; d++) {
        int64_t k = w->dim[2 + d];
        at += snprintf(key + at, cap - (size_t)at, "/%lld,%lld,%lld,%lld", (long long)st->ints[d],
                       (long long)dil->ints[d], (long long)(k % 2),
                       (long long)(2 * pad->ints[d] - dil->ints[d] * (k - 1)));
    }
}

/* the kernel's elements (1 for a linear) */
static int64_t kernel_size(const sf_node *n)
{
    const sf_type *w = &n->in[1]->type;
    int64_t k = 1;
    for (int d = 2; d < w->rank; d++)
        k *= w->dim[d];
    return k;
}

/* the largest kernel along spatial dim d of the group */
static int64_t widest(const wgroup *w, int d)
{
    int64_t k = 0;
    for (int i = 0; i < w->count; i++)
        k = w->n[i]->in[1]->type.dim[2 + d] > k ? w->n[i]->in[1]->type.dim[2 + d] : k;
    return k;
}

static bool same_kernel(const sf_node *a, const sf_node *b)
{
    for (int d = 2; d < a->in[1]->type.rank; d++)
        if (a->in[1]->type.dim[d] != b->in[1]->type.dim[d])
            return false;
    return true;
}

/* Convs of different kernels share one only where the zeros cost at most
 * a quarter more multiply-adds than the convs apart; else the group keeps
 * the kernel with the most output channels. */
static void cost_of_padding(wgroup *w)
{
    int sp = w->n[0]->in[1]->type.rank - 2;
    double plain = 0, padded = 0, K = 1;
    for (int d = 0; d < sp; d++)
        K *= (double)widest(w, d);
    for (int i = 0; i < w->count; i++) {
        double o = (double)w->n[i]->in[1]->type.dim[0];
        plain += o * (double)kernel_size(w->n[i]);
        padded += o * K;
    }
    if (padded <= 1.25 * plain)
        return;
    const sf_node *best = w->n[0];
    int64_t best_o = 0;
    for (int i = 0; i < w->count; i++) {
        int64_t o = 0;
        for (int j = 0; j < w->count; j++)
            if (same_kernel(w->n[j], w->n[i]))
                o += w->n[j]->in[1]->type.dim[0];
        if (o > best_o)
            best_o = o, best = w->n[i];
    }
    int k = 0;
    for (int i = 0; i < w->count; i++)
        if (same_kernel(w->n[i], best))
            w->n[k++] = w->n[i];
    w->count = k;
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

/* the tensor and width a linear's window input covers ("" when its input
 * is not a window of the last dim) */
static void window_key(const sf_node *n, char *key, size_t cap)
{
    const sf_node *s = n->in[0]->def;
    const sf_type *t = s->nin ? &s->in[0]->type : NULL;
    *key = '\0';
    if (n->op == SF_OP_LINEAR && s->op == SF_OP_SLICE && sf_attr_step(s) == 1 && sf_attr_dim(s) == t->rank - 1)
        snprintf(key, cap, "%d/%lld/%d", s->in[0]->id, (long long)(sf_attr_end(s) - sf_attr_start(s)), n->nin);
}

/* groups worth widening: at least two branches, not all of one width (hfuse's), convs not kept apart, and
 * not products over one window among others of the tensor (hfuse groups across the windows, padded where
 * the widths differ, and follows each set on: two ModuleLists over a NAM's features stay two) */
static bool worth_it(const sf_module *m, wgroup *w, const sf_uses *u, const sf_map *windows)
{
    char key[96];
    window_key(w->n[0], key, sizeof key);
    if (*key && (uintptr_t)sf_map_get(windows, key) >= 2)
        return false;
    leave_lockstep_to_hfuse(w, u);
    if (w->count >= 2 && w->n[0]->op != SF_OP_LINEAR)
        cost_of_padding(w);
    if (w->count < 2)
        return false;
    bool same = true;
    for (int i = 1; i < w->count; i++)
        same &= sf_type_equal(&w->n[i]->in[1]->type, &w->n[0]->in[1]->type);
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

/* t [O, C, k...] into out [O, C, K...] (dims: K's), centred, zeros around */
static void place_centred(const sf_tensor *t, const int64_t *dims, float *out)
{
    int r = t->rank;
    size_t n = (size_t)t->dim[0] * (size_t)t->dim[1];
    size_t big = 1, small = 1;
    for (int d = 2; d < r; d++)
        big *= (size_t)dims[d], small *= (size_t)t->dim[d];
    memset(out, 0, sizeof *out * n * big);
    for (size_t oc = 0; oc < n; oc++)
        for (size_t e = 0; e < small; e++) {
            size_t rem = e, off = 0, stride = 1;
            for (int d = r - 1; d >= 2; d--) { /* element e's coordinates in k, shifted by (K - k) / 2 */
                size_t c = rem % (size_t)t->dim[d];
                rem /= (size_t)t->dim[d];
                off += (c + (size_t)(dims[d] - t->dim[d]) / 2) * stride;
                stride *= (size_t)dims[d];
            }
            out[oc * big + off] = t->data[oc * small + e];
        }
}

/* the branches' operand `slot` (weight or bias) laid end to end on dim 0,
 * each conv weight centred in the group's largest kernel */
static sf_value *appended(sf_rewriter *rw, sf_module *m, const wgroup *w, int slot, sf_error *err)
{
    const sf_tensor *t0 = sf_param_tensor(m, w->n[0]->in[slot]);
    int64_t dims[SF_MAX_RANK];
    memcpy(dims, t0->dim, sizeof *dims * (size_t)t0->rank);
    for (int d = 2; slot == 1 && d < t0->rank; d++)
        dims[d] = widest(w, d - 2);
    size_t per_row = 1, total = 0; /* floats per output channel (or bias element) */
    for (int d = 1; d < t0->rank; d++)
        per_row *= (size_t)dims[d];
    for (int i = 0; i < w->count; i++)
        total += (size_t)sf_param_tensor(m, w->n[i]->in[slot])->dim[0] * per_row;
    float *data = malloc(sizeof *data * (total ? total : 1));
    if (!data) {
        sf_fail(err, SF_ERR_NOMEM, "widen: out of memory");
        return NULL;
    }
    size_t at = 0;
    dims[0] = 0;
    for (int i = 0; i < w->count; i++) {
        const sf_tensor *t = sf_param_tensor(m, w->n[i]->in[slot]);
        if (sf_tensor_numel(t) != (size_t)t->dim[0] * per_row)
            place_centred(t, dims, data + at); /* a smaller kernel: zeros around it */
        else
            memcpy(data + at, t->data, sizeof *data * sf_tensor_numel(t));
        at += (size_t)t->dim[0] * per_row;
        dims[0] += t->dim[0];
    }
    char hint[512];
    snprintf(hint, sizeof hint, "%s.widened%d", w->n[0]->in[slot]->def->name, w->count);
    const sf_value **ps = sf_trainable(m) ? malloc(sizeof *ps * (size_t)w->count) : NULL;
    for (int i = 0; ps && i < w->count; i++)
        ps[i] = w->n[i]->in[slot];
    sf_value *v = sf_new_param(m, rw->g, hint, t0->rank, dims, data,
                               ps ? sf_derive_concat(m, ps, w->count, 0, 1.0, err) : NULL, err);
    free(ps);
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
    if (p && n0->op != SF_OP_LINEAR) { /* the padding of the largest kernel: p + dil (K - k) / 2 */
        const sf_attr *pad = sf_node_attr(n0, SF_ATTR_PADDING), *dil = sf_node_attr(n0, SF_ATTR_DILATION);
        int64_t pp[SF_MAX_RANK];
        for (int d = 0; d < pad->n; d++)
            pp[d] = pad->ints[d] + dil->ints[d] * (widest(w, d) - n0->in[1]->type.dim[2 + d]) / 2;
        if (!sf_node_set_ints(rw->g, p, SF_ATTR_PADDING, pp, pad->n))
            p = NULL;
    }
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
    sf_map windows = {0}; /* tensor/width -> how many window inputs of groups cover it */
    for (size_t i = 0; st == SF_OK && i < ng; i++) {
        char key[96];
        window_key(groups[i].n[0], key, sizeof key);
        char *k = *key ? (sf_map_get(&windows, key) ? key : sf_arena_strdup(&keys, key)) : NULL;
        if (k && !sf_map_put(&windows, k, (void *)((uintptr_t)sf_map_get(&windows, key) + 1)))
            st = sf_fail(err, SF_ERR_NOMEM, "widen: out of memory");
    }
    bool any = false;
    for (size_t i = 0; st == SF_OK && i < ng; i++)
        if (worth_it(m, &groups[i], u, &windows)) {
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
    sf_map_free(&windows);
    sf_arena_free(&keys);
    return st;
}
