/*
 * Reverse-mode differentiation: the backward function of a graph, in the
 * graph's own ops. The new graph holds the forward (copied node by node),
 * then, walking the forward backwards, each node's gradient rule (the op
 * table's gradient column, grad_rules.c) applied to the gradients that
 * reached its results. Gradients are ordinary values, so the passes and the
 * backends run the backward like any forward: the products of N branches'
 * gradients are N products that hfuse can group, and memory planning keeps
 * only the forward values the backward reads.
 *
 * What flows: from each f32 output's seed (an input "grad.<output name>"
 * holding dL/d(output)) back to every parameter and, when asked, to every
 * f32 input. Values no parameter (or asked-for input) reaches take no
 * gradient, and neither do masks, so index and mask operands cost nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/grad.h"

V gb_fail(grad_ctx *c, const sf_node *n, const char *why)
{
    if (c->st == SF_OK)
        c->st = sf_fail(c->err, SF_ERR_UNSUPPORTED, "grad: %s%s%s: %s", sf_ops[n->op].name, n->loc ? " at " : "",
                        n->loc ? n->loc : "", why);
    return NULL;
}

/* a node begun on in[0..nin) (all non-NULL), or NULL with the context failed */
static sf_node *begin(grad_ctx *c, sf_opcode op, V const *in, int nin)
{
    if (c->st != SF_OK)
        return NULL;
    for (int i = 0; i < nin; i++)
        if (!in[i]) {
            c->st = c->err && c->err->code ? c->err->code : SF_ERR_NOMEM;
            return NULL;
        }
    sf_node *n = sf_node_begin(c->rw.g, op, nin, in, c->err);
    if (!n)
        c->st = c->err ? c->err->code : SF_ERR_NOMEM;
    return n;
}

static V finish(grad_ctx *c, sf_node *n)
{
    if (!n)
        return NULL;
    sf_status st = sf_node_finish(c->rw.g, n, c->err);
    if (st != SF_OK) {
        c->st = st;
        return NULL;
    }
    return n->out[0];
}

static bool set_ints(grad_ctx *c, sf_node *n, sf_attr_id id, const int64_t *v, int count)
{
    if (n && !sf_node_set_ints(c->rw.g, n, id, v, count)) {
        c->st = sf_fail(c->err, SF_ERR_NOMEM, "out of memory");
        return false;
    }
    return n != NULL;
}

V gb_op1(grad_ctx *c, sf_opcode op, V a) { return finish(c, begin(c, op, &a, 1)); }

V gb_op2(grad_ctx *c, sf_opcode op, V a, V b)
{
    V in[2] = {a, b};
    return finish(c, begin(c, op, in, 2));
}

V gb_where(grad_ctx *c, V cond, V a, V b)
{
    V in[3] = {cond, a, b};
    return finish(c, begin(c, SF_OP_WHERE, in, 3));
}

V gb_num(grad_ctx *c, double v)
{
    sf_node *n = begin(c, SF_OP_SCALAR, NULL, 0);
    if (n)
        sf_node_set_float(n, SF_ATTR_VALUE, v);
    return finish(c, n);
}

/* a constant node of shape t, begun (its other attribute still to set) */
static sf_node *shaped(grad_ctx *c, sf_opcode op, const sf_type *t)
{
    sf_node *n = begin(c, op, NULL, 0);
    return set_ints(c, n, SF_ATTR_SHAPE, t->dim, t->rank) ? n : NULL;
}

V gb_full(grad_ctx *c, const sf_type *t, double v)
{
    sf_node *n = shaped(c, SF_OP_FULL, t);
    if (n)
        sf_node_set_float(n, SF_ATTR_VALUE, v);
    return finish(c, n);
}

V gb_reduce(grad_ctx *c, sf_opcode op, V x, const int64_t *dims, int n, bool keep)
{
    if (n == 0)
        return x;
    sf_node *s = begin(c, op, &x, 1);
    if (!set_ints(c, s, SF_ATTR_DIMS, dims, n))
        return NULL;
    sf_node_set_int(s, SF_ATTR_KEEPDIM, keep);
    return finish(c, s);
}

V gb_sum(grad_ctx *c, V x, const int64_t *dims, int n, bool keep) { return gb_reduce(c, SF_OP_SUM, x, dims, n, keep); }

V gb_iota(grad_ctx *c, const sf_type *t, int dim)
{
    sf_node *n = shaped(c, SF_OP_IOTA, t);
    if (n)
        sf_node_set_int(n, SF_ATTR_DIM, dim);
    return finish(c, n);
}

V gb_softplus(grad_ctx *c, V x, double beta, double threshold)
{
    sf_node *n = begin(c, SF_OP_SOFTPLUS, &x, 1);
    if (n)
        sf_node_set_float(n, SF_ATTR_BETA, beta), sf_node_set_float(n, SF_ATTR_THRESHOLD, threshold);
    return finish(c, n);
}

V gb_reshape(grad_ctx *c, V x, const sf_type *t)
{
    if (x && sf_type_equal(&x->type, t))
        return x;
    sf_node *n = begin(c, SF_OP_RESHAPE, &x, 1);
    return set_ints(c, n, SF_ATTR_SHAPE, t->dim, t->rank) ? finish(c, n) : NULL;
}

V gb_transpose(grad_ctx *c, V x, int d0, int d1)
{
    sf_node *n = begin(c, SF_OP_TRANSPOSE, &x, 1);
    if (n)
        sf_node_set_int(n, SF_ATTR_DIM0, d0), sf_node_set_int(n, SF_ATTR_DIM1, d1);
    return finish(c, n);
}

V gb_with_dim(grad_ctx *c, sf_opcode op, V x, int dim)
{
    sf_node *n = begin(c, op, &x, 1);
    if (n)
        sf_node_set_int(n, SF_ATTR_DIM, dim);
    return finish(c, n);
}

V gb_unsqueeze(grad_ctx *c, V x, int dim) { return gb_with_dim(c, SF_OP_UNSQUEEZE, x, dim); }

V gb_slice(grad_ctx *c, V x, int dim, int64_t start, int64_t end)
{
    sf_node *n = begin(c, SF_OP_SLICE, &x, 1);
    if (n) {
        sf_node_set_int(n, SF_ATTR_DIM, dim), sf_node_set_int(n, SF_ATTR_START, start);
        sf_node_set_int(n, SF_ATTR_END, end), sf_node_set_int(n, SF_ATTR_STEP, 1);
    }
    return finish(c, n);
}

V gb_gather(grad_ctx *c, V x, V idx, int dim)
{
    V in[2] = {x, idx};
    sf_node *n = begin(c, SF_OP_GATHER, in, 2);
    if (n)
        sf_node_set_int(n, SF_ATTR_DIM, dim);
    return finish(c, n);
}

V gb_concat(grad_ctx *c, V const *parts, int n, int dim)
{
    if (n == 1)
        return parts[0];
    sf_node *k = begin(c, SF_OP_CONCAT, parts, n);
    if (k)
        sf_node_set_int(k, SF_ATTR_DIM, dim);
    return finish(c, k);
}

V gb_like(grad_ctx *c, const sf_node *n, V const *in, int nin)
{
    sf_node *k = begin(c, n->op, in, nin);
    if (k && sf_copy_attrs(c->rw.g, k, n, c->err) != SF_OK)
        c->st = c->err ? c->err->code : SF_ERR_NOMEM, k = NULL;
    return finish(c, k);
}

V gb_expand(grad_ctx *c, V v, const sf_type *t)
{
    if (!v || sf_type_equal(&v->type, t))
        return v;
    return gb_op2(c, SF_OP_ADD, v, gb_full(c, t, 0.0));
}

V gb_unbroadcast(grad_ctx *c, V g, const sf_type *t)
{
    if (!g || sf_type_equal(&g->type, t))
        return g;
    int lead = g->type.rank - t->rank, n = 0;
    int64_t dims[SF_MAX_RANK];
    for (int d = 0; d < lead; d++) /* the dims t lacks, away */
        dims[n++] = d;
    g = gb_sum(c, g, dims, n, false);
    n = 0;
    for (int d = 0; g && d < t->rank; d++) /* the dims t has as 1, kept as 1 */
        if (t->dim[d] == 1 && g->type.dim[d] != 1)
            dims[n++] = d;
    return gb_sum(c, g, dims, n, true);
}

V gb_count(grad_ctx *c, const sf_type *t, const int64_t *dims, int n)
{
    double count = 1;
    bool batch = false;
    for (int i = 0; i < n; i++)
        if (t->dim[dims[i]] == SF_DIM_B)
            batch = true;
        else
            count *= (double)t->dim[dims[i]];
    if (!batch)
        return gb_num(c, count);
    sf_type b = {SF_F32, 1, {SF_DIM_B}};
    int64_t d0 = 0;
    return gb_op2(c, SF_OP_MUL, gb_sum(c, gb_full(c, &b, 1.0), &d0, 1, false), gb_num(c, count));
}

V grad_x(grad_ctx *c, const sf_node *n, int i) { return c->rw.map[n->in[i]->id]; }
V grad_y(grad_ctx *c, const sf_node *n, int k) { return c->rw.map[n->out[k]->id]; }
bool grad_needs(const grad_ctx *c, const sf_node *n, int i) { return c->needs[n->in[i]->id]; }

static void add_grad(grad_ctx *c, const sf_value *old, V g)
{
    V *slot = &c->grad[old->id];
    g = gb_unbroadcast(c, g, &old->type);
    *slot = *slot ? gb_op2(c, SF_OP_ADD, *slot, g) : g;
}

void grad_acc(grad_ctx *c, const sf_node *n, int i, V g)
{
    if (c->st == SF_OK && grad_needs(c, n, i))
        add_grad(c, n->in[i], g);
}

/* which values a gradient must reach: the parameters (and f32 inputs when
 * asked), and whatever is computed from them, but no mask */
static void mark_needs(grad_ctx *c, const sf_graph *g, bool inputs)
{
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        bool need = n->op == SF_OP_PARAM || (inputs && n->op == SF_OP_INPUT);
        for (int k = 0; k < n->nin; k++)
            need = need || c->needs[n->in[k]->id];
        for (int k = 0; k < n->nout; k++)
            c->needs[n->out[k]->id] = need && n->out[k]->type.dtype == SF_F32;
    }
}

void sf_grad_seed_name(const sf_graph *g, size_t i, char *buf, size_t cap)
{
    char out[64];
    sf_output_name(g, i, out, sizeof out);
    snprintf(buf, cap, "grad.%s", out);
}

static sf_status seed_outputs(grad_ctx *c, const sf_graph *g)
{
    for (size_t i = 0; i < g->outputs.len && c->st == SF_OK; i++) {
        const sf_value *v = g->outputs.items[i];
        if (v->type.dtype != SF_F32)
            continue;
        char name[80];
        sf_grad_seed_name(g, i, name, sizeof name);
        V seed = sf_graph_input(c->rw.g, name, &v->type, c->err);
        if (!seed) {
            sf_error_prefix(c->err, "grad: the seed of %s", name + 5);
            return c->err ? c->err->code : SF_ERR_INVALID_ARG;
        }
        add_grad(c, v, seed);
    }
    return c->st;
}

/* runs node n's rule on the gradients that reached its results */
static void backward_node(grad_ctx *c, const sf_node *n)
{
    V stack[16], *dy = n->nout <= 16 ? stack : malloc(sizeof *dy * (size_t)n->nout);
    bool any = false, needed = false;
    if (!dy) {
        c->st = sf_fail(c->err, SF_ERR_NOMEM, "out of memory");
        return;
    }
    for (int k = 0; k < n->nout; k++) {
        dy[k] = c->grad[n->out[k]->id];
        any = any || dy[k];
    }
    for (int i = 0; i < n->nin; i++)
        needed = needed || grad_needs(c, n, i);
    const struct grad_entry *e = &grad_rules[n->op];
    if (any && needed && e->rule)
        e->rule(c, n, dy);
    else if (any && needed)
        gb_fail(c, n, "no gradient rule for this op yet");
    if (dy != stack)
        free(dy);
}

/* outputs: the forward's, then each parameter's gradient, then each input's */
static sf_status add_outputs(grad_ctx *c, const sf_graph *old, bool inputs)
{
    sf_status st = SF_OK;
    for (size_t i = 0; st == SF_OK && i < old->outputs.len; i++)
        st = sf_graph_add_output(c->rw.g, c->rw.map[((sf_value *)old->outputs.items[i])->id], c->err);
    for (int pass = 0; pass < 2; pass++) {
        const sf_vec *vs = pass == 0 ? &old->params : &old->inputs;
        if (pass == 1 && !inputs)
            break;
        for (size_t i = 0; st == SF_OK && i < vs->len; i++) {
            const sf_value *v = vs->items[i];
            if (v->type.dtype != SF_F32)
                continue;
            V g = c->grad[v->id] ? c->grad[v->id] : gb_full(c, &v->type, 0.0);
            st = c->st != SF_OK ? c->st : sf_graph_add_output(c->rw.g, g, c->err);
        }
    }
    return st;
}

static sf_status build(grad_ctx *c, const sf_graph *old, const sf_grad_opts *o)
{
    for (size_t i = 0; i < old->params.len; i++) /* every parameter, in declaration order */
        if (!sf_rw_value(&c->rw, old->params.items[i], c->err))
            return c->err ? c->err->code : SF_ERR_NOMEM;
    for (size_t i = 0; i < old->nodes.len; i++) {
        const sf_node *n = old->nodes.items[i];
        if (n->op != SF_OP_INPUT && n->op != SF_OP_PARAM && sf_rw_copy(&c->rw, n, c->err) != SF_OK)
            return c->err ? c->err->code : SF_ERR_NOMEM;
    }
    mark_needs(c, old, o && o->inputs);
    if (seed_outputs(c, old) != SF_OK)
        return c->st != SF_OK ? c->st : (c->err ? c->err->code : SF_ERR_INVALID_ARG);
    for (size_t i = old->nodes.len; c->st == SF_OK && i-- > 0;)
        backward_node(c, old->nodes.items[i]);
    if (c->st != SF_OK)
        return c->st;
    return add_outputs(c, old, o && o->inputs);
}

sf_status sf_grad(sf_module *m, const sf_grad_opts *o, sf_error *err)
{
    grad_ctx c = {.err = err};
    const sf_graph *old = m->g;
    if (sf_rw_begin(&c.rw, old, err) != SF_OK)
        return err ? err->code : SF_ERR_NOMEM;
    c.grad = calloc(old->values.len + 1, sizeof *c.grad);
    c.needs = calloc(old->values.len + 1, sizeof *c.needs);
    sf_status st = c.grad && c.needs ? build(&c, old, o) : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    free(c.grad);
    free(c.needs);
    if (st != SF_OK) {
        sf_rw_abort(&c.rw);
        return st;
    }
    free(c.rw.map);
    c.rw.g->notes = m->g->notes;
    m->g->notes = NULL;
    sf_graph_free(m->g);
    m->g = c.rw.g;
    return sf_verify(m->g, err);
}
