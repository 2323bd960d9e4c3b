/* The builder API: graphs made from C, without a Python file. Each call
 * adds nodes through the IR's builder, whose shape rules check operands;
 * the first error sticks and later calls do nothing, so a host program
 * checks once, at sf_builder_compile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"

struct sf_builder {
    sf_graph *g;
    sf_vec values; /* sf_value*, ref - 1 */
    sf_error err;  /* the first error */
    bool failed;
};

sf_builder *sf_builder_new(const char *name)
{
    sf_builder *b = calloc(1, sizeof *b);
    if (b && !(b->g = sf_graph_new(name ? name : "built"))) {
        free(b);
        return NULL;
    }
    return b;
}

void sf_builder_free(sf_builder *b)
{
    if (!b)
        return;
    sf_graph_free(b->g);
    sf_vec_free(&b->values);
    free(b);
}

static sf_ref refuse(sf_builder *b, const char *what, const char *fmt, const char *arg)
{
    if (!b->failed) {
        char msg[SF_ERROR_MSG_MAX - 64];
        snprintf(msg, sizeof msg, fmt, arg);
        sf_fail(&b->err, SF_ERR_INVALID_ARG, "builder: %s: %s", what, msg);
        b->failed = true;
    }
    return 0;
}

/* a handle for v, or 0 (with the error that made v NULL kept) */
static sf_ref keep(sf_builder *b, const char *what, sf_value *v, const sf_error *e)
{
    if (!v) {
        if (!b->failed) {
            sf_fail(&b->err, e->code ? e->code : SF_ERR_NOMEM, "builder: %s: %s", what, e->msg);
            b->failed = true;
        }
        return 0;
    }
    if (!sf_vec_push(&b->values, v))
        return refuse(b, what, "%s", "out of memory");
    return (sf_ref)b->values.len;
}

static sf_value *get(sf_builder *b, sf_ref r, const char *what)
{
    if (!b || b->failed)
        return NULL;
    if (r < 1 || (size_t)r > b->values.len) {
        refuse(b, what, "%s", "operand is not a value of this builder (or an earlier call failed)");
        return NULL;
    }
    return b->values.items[r - 1];
}

static sf_value *param(sf_builder *b, const char *prefix, const char *leaf, int rank, const int64_t *dims, sf_error *e)
{
    char name[512];
    if (snprintf(name, sizeof name, "%s%s%s", prefix ? prefix : "", prefix && *prefix ? "." : "", leaf) >=
        (int)sizeof name) {
        sf_fail(e, SF_ERR_INVALID_ARG, "parameter name too long");
        return NULL;
    }
    sf_type t = {.dtype = SF_F32, .rank = rank};
    memcpy(t.dim, dims, sizeof dims[0] * (size_t)rank);
    return sf_graph_param(b->g, name, &t, e);
}

sf_ref sf_b_input(sf_builder *b, const char *name, int rank, const int64_t *dims)
{
    if (!b || b->failed)
        return 0;
    if (!name || rank < 0 || rank > SF_MAX_RANK || (rank && !dims))
        return refuse(b, "input", "%s", "null name or dims, or rank out of range");
    sf_type t = {.dtype = SF_F32, .rank = rank};
    for (int d = 0; d < rank; d++) {
        if (dims[d] != SF_BATCH && dims[d] < 1)
            return refuse(b, "input", "'%s' has a dim below 1", name);
        t.dim[d] = dims[d] == SF_BATCH ? SF_DIM_B : dims[d];
    }
    sf_error e = {0};
    return keep(b, "input", sf_graph_input(b->g, name, &t, &e), &e);
}

sf_ref sf_b_linear(sf_builder *b, sf_ref xr, int64_t out_features, bool bias, const char *prefix)
{
    sf_value *x = get(b, xr, "linear");
    if (!x)
        return 0;
    if (out_features < 1 || x->type.rank < 1)
        return refuse(b, "linear", "%s", "out_features must be positive and the input at least rank 1");
    sf_error e = {0};
    int64_t wd[2] = {out_features, x->type.dim[x->type.rank - 1]};
    sf_value *in[3] = {x, param(b, prefix, "weight", 2, wd, &e), bias ? param(b, prefix, "bias", 1, wd, &e) : NULL};
    if (!in[1] || (bias && !in[2]))
        return keep(b, "linear", NULL, &e);
    sf_node *n = sf_node_begin(b->g, SF_OP_LINEAR, bias ? 3 : 2, in, &e);
    return keep(b, "linear", n && sf_node_finish(b->g, n, &e) == SF_OK ? n->out[0] : NULL, &e);
}

sf_ref sf_b_conv2d(sf_builder *b, sf_ref xr, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding,
                   int64_t groups, bool bias, const char *prefix)
{
    sf_value *x = get(b, xr, "conv2d");
    if (!x)
        return 0;
    if (x->type.rank != 4 || out_channels < 1 || kernel < 1 || stride < 1 || padding < 0 || groups < 1 ||
        x->type.dim[1] == SF_DIM_B || x->type.dim[1] % groups || out_channels % groups)
        return refuse(b, "conv2d", "%s", "needs a [N, C, H, W] input, positive sizes, groups dividing both channels");
    sf_error e = {0};
    int64_t wd[4] = {out_channels, x->type.dim[1] / groups, kernel, kernel};
    sf_value *in[3] = {x, param(b, prefix, "weight", 4, wd, &e), bias ? param(b, prefix, "bias", 1, wd, &e) : NULL};
    if (!in[1] || (bias && !in[2]))
        return keep(b, "conv2d", NULL, &e);
    sf_node *n = sf_node_begin(b->g, SF_OP_CONV2D, bias ? 3 : 2, in, &e);
    if (n) {
        int64_t s[2] = {stride, stride}, p[2] = {padding, padding}, d[2] = {1, 1};
        sf_node_set_ints(b->g, n, SF_ATTR_STRIDE, s, 2);
        sf_node_set_ints(b->g, n, SF_ATTR_PADDING, p, 2);
        sf_node_set_ints(b->g, n, SF_ATTR_DILATION, d, 2);
        sf_node_set_int(n, SF_ATTR_GROUPS, groups);
    }
    return keep(b, "conv2d", n && sf_node_finish(b->g, n, &e) == SF_OK ? n->out[0] : NULL, &e);
}

sf_ref sf_b_activation_attrs(sf_builder *b, const char *name, sf_ref xr, const double *attrs, int nattrs)
{
    sf_value *x = get(b, xr, "activation");
    if (!x)
        return 0;
    sf_opcode op = name ? sf_op_by_name(name, strlen(name)) : SF_OP_COUNT;
    if (op == SF_OP_COUNT || sf_op_cls(op) != SF_OPCLS_UNARY) {
        char msg[512];
        int at = snprintf(msg, sizeof msg, "unknown activation '%.200s' (", name ? name : "(null)");
        for (int k = 0; k < SF_OP_COUNT && at > 0 && (size_t)at < sizeof msg; k++)
            if (sf_op_cls((sf_opcode)k) == SF_OPCLS_UNARY)
                at += snprintf(msg + at, sizeof msg - (size_t)at, "%s%s", msg[at - 1] == '(' ? "" : ", ",
                               sf_ops[k].name);
        if (at > 0 && (size_t)at < sizeof msg - 1)
            memcpy(msg + at, ")", 2);
        return refuse(b, "activation", "%s", msg);
    }
    const sf_op_info *info = &sf_ops[op];
    if (nattrs != info->nattrs || (nattrs && !attrs)) {
        char names[256] = "";
        for (int k = 0, at = 0; k < info->nattrs && at >= 0 && (size_t)at < sizeof names; k++)
            at += snprintf(names + at, sizeof names - (size_t)at, "%s%s", k ? ", " : "", info->attrs[k]->name);
        char msg[400];
        snprintf(msg, sizeof msg, "%s takes %d attribute%s (%s), got %d", name, info->nattrs, info->nattrs == 1 ? "" : "s",
                 info->nattrs ? names : "none", nattrs);
        return refuse(b, name, "%s", msg);
    }
    sf_error e = {0};
    sf_node *n = sf_node_begin(b->g, op, 1, &x, &e);
    for (int k = 0; n && k < nattrs; k++)
        sf_node_set_float(n, info->attrs[k]->id, attrs[k]);
    return keep(b, name, n && sf_node_finish(b->g, n, &e) == SF_OK ? n->out[0] : NULL, &e);
}

sf_ref sf_b_activation(sf_builder *b, const char *name, sf_ref xr) { return sf_b_activation_attrs(b, name, xr, NULL, 0); }

static sf_ref binary(sf_builder *b, sf_opcode op, sf_ref xr, sf_ref yr)
{
    const char *what = sf_ops[op].name;
    sf_value *x = get(b, xr, what), *y = x ? get(b, yr, what) : NULL;
    if (!y)
        return 0;
    sf_error e = {0};
    return keep(b, what, sf_build2(b->g, op, x, y, &e), &e);
}

sf_ref sf_b_add(sf_builder *b, sf_ref x, sf_ref y) { return binary(b, SF_OP_ADD, x, y); }
sf_ref sf_b_mul(sf_builder *b, sf_ref x, sf_ref y) { return binary(b, SF_OP_MUL, x, y); }

sf_ref sf_b_slice(sf_builder *b, sf_ref xr, int dim, int64_t start, int64_t end)
{
    sf_value *x = get(b, xr, "slice");
    if (!x)
        return 0;
    if (dim < 0 || dim >= x->type.rank)
        return refuse(b, "slice", "%s", "dim out of range");
    sf_error e = {0};
    sf_node *n = sf_node_begin(b->g, SF_OP_SLICE, 1, &x, &e);
    if (n) {
        sf_node_set_int(n, SF_ATTR_DIM, dim);
        sf_node_set_int(n, SF_ATTR_START, start);
        sf_node_set_int(n, SF_ATTR_END, end);
        sf_node_set_int(n, SF_ATTR_STEP, 1);
    }
    return keep(b, "slice", n && sf_node_finish(b->g, n, &e) == SF_OK ? n->out[0] : NULL, &e);
}

/* the operands of a join, or NULL after refusing */
static sf_value **operands(sf_builder *b, const sf_ref *xs, int n, const char *what)
{
    if (!b || b->failed)
        return NULL;
    if (!xs || n < 1) {
        refuse(b, what, "%s", "needs at least one operand");
        return NULL;
    }
    sf_value **in = sf_arena_alloc(&b->g->arena, sizeof *in * (size_t)n);
    if (!in)
        refuse(b, what, "%s", "out of memory");
    for (int i = 0; in && i < n; i++)
        if (!(in[i] = get(b, xs[i], what)))
            return NULL;
    return in;
}

sf_ref sf_b_concat(sf_builder *b, const sf_ref *xs, int n, int dim)
{
    sf_value **in = operands(b, xs, n, "concat");
    if (!in)
        return 0;
    sf_error e = {0};
    sf_node *node = sf_node_begin(b->g, SF_OP_CONCAT, n, in, &e);
    if (node)
        sf_node_set_int(node, SF_ATTR_DIM, dim);
    return keep(b, "concat", node && sf_node_finish(b->g, node, &e) == SF_OK ? node->out[0] : NULL, &e);
}

/* a chain of adds: what a Python loop `out = out + branch(x)` traces to;
 * the accumulate pass turns it into one product or an in-place sum */
sf_ref sf_b_sum(sf_builder *b, const sf_ref *xs, int n)
{
    sf_value **in = operands(b, xs, n, "sum");
    if (!in)
        return 0;
    sf_error e = {0};
    sf_value *acc = in[0];
    for (int i = 1; acc && i < n; i++)
        acc = sf_build2(b->g, SF_OP_ADD, acc, in[i], &e);
    return keep(b, "sum", acc, &e);
}

sf_ref sf_b_mean(sf_builder *b, const sf_ref *xs, int n)
{
    sf_ref s = sf_b_sum(b, xs, n);
    if (!s)
        return 0;
    sf_error e = {0};
    sf_node *k = sf_node_begin(b->g, SF_OP_SCALAR, 0, NULL, &e);
    if (k)
        sf_node_set_float(k, SF_ATTR_VALUE, 1.0 / n);
    sf_ref scale = keep(b, "mean", k && sf_node_finish(b->g, k, &e) == SF_OK ? k->out[0] : NULL, &e);
    return scale ? binary(b, SF_OP_MUL, s, scale) : 0;
}

sf_status sf_b_output(sf_builder *b, sf_ref xr)
{
    if (!b)
        return SF_ERR_INVALID_ARG;
    sf_value *x = get(b, xr, "output");
    if (!x)
        return b->err.code;
    sf_error e = {0};
    if (sf_graph_add_output(b->g, x, &e) != SF_OK) {
        keep(b, "output", NULL, &e);
        return b->err.code;
    }
    return SF_OK;
}

sf_model *sf_builder_compile(sf_builder *b, const sf_options *o, sf_error *err)
{
    if (!b) {
        sf_fail(err, SF_ERR_INVALID_ARG, "sf_builder_compile: null builder");
        return NULL;
    }
    if (b->failed) {
        if (err)
            *err = b->err;
        return NULL;
    }
    if (b->g->outputs.len == 0) {
        sf_fail(err, SF_ERR_INVALID_ARG, "builder: no output (call sf_b_output)");
        return NULL;
    }
    /* the graph goes through the same path as an IR file: its text form */
    char *text = sf_print_string(b->g);
    if (!text) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sf_model *m = sf_compile_text(text, strlen(text), "built.sfir", o, err);
    free(text);
    return m;
}
