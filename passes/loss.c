/*
 * Losses as ops of the graph, as PyTorch defines them with reduction='mean':
 * the model's one output y against a new input "target", the graph's
 * output becoming the loss (a scalar). Built from ordinary ops, so the
 * gradient rules differentiate them like the model.
 */
#include <string.h>

#include "passes/grad.h"

typedef V (*loss_fn)(grad_ctx *c, V y, V t);

#define MEAN_ALL(v) mean_all(c, v)
#define LOG_SOFTMAX(v) gb_with_dim(c, SF_OP_LOG_SOFTMAX, v, 1)
static V mean_all(grad_ctx *c, V v)
{
    int64_t dims[SF_MAX_RANK];
    int r = v ? v->type.rank : 0;
    for (int d = 0; d < r; d++)
        dims[d] = d;
    return gb_reduce(c, SF_OP_MEAN, v, dims, r, false);
}

static V mse(grad_ctx *c, V y, V t)
{
    V d = gb_op2(c, SF_OP_SUB, y, t);
    return MEAN_ALL(gb_op2(c, SF_OP_MUL, d, d));
}

static V l1(grad_ctx *c, V y, V t) { return MEAN_ALL(gb_op1(c, SF_OP_ABS, gb_op2(c, SF_OP_SUB, y, t))); }

/* beta = 1: 0.5 d^2 below 1, d - 0.5 above */
static V smooth_l1(grad_ctx *c, V y, V t)
{
    V d = gb_op1(c, SF_OP_ABS, gb_op2(c, SF_OP_SUB, y, t));
    V sq = gb_op2(c, SF_OP_MUL, gb_op2(c, SF_OP_MUL, d, d), gb_num(c, 0.5));
    V lin = gb_op2(c, SF_OP_SUB, d, gb_num(c, 0.5));
    return MEAN_ALL(gb_where(c, gb_op2(c, SF_OP_LT, d, gb_num(c, 1)), sq, lin));
}

/* logits [N, C], target class indices [N] (as f32): -mean(log_softmax(y)[n, t[n]]) */
static V cross_entropy(grad_ctx *c, V y, V t)
{
    V lsm = LOG_SOFTMAX(y);
    return gb_op1(c, SF_OP_NEG, MEAN_ALL(gb_gather(c, lsm, gb_unsqueeze(c, t, 1), 1)));
}

/* logits [N, C], target probabilities [N, C]: -mean over N of sum over C of t log_softmax(y) */
static V cross_entropy_probs(grad_ctx *c, V y, V t)
{
    int64_t d1 = 1;
    V s = gb_sum(c, gb_op2(c, SF_OP_MUL, t, LOG_SOFTMAX(y)), &d1, 1, false);
    return gb_op1(c, SF_OP_NEG, MEAN_ALL(s));
}

/* max(y, 0) - y t + log(1 + e^-|y|), which never overflows */
static V bce_with_logits(grad_ctx *c, V y, V t)
{
    V pos = gb_op1(c, SF_OP_RELU, y), prod = gb_op2(c, SF_OP_MUL, y, t);
    V soft = gb_op1(c, SF_OP_LOG1P, gb_op1(c, SF_OP_EXP, gb_op1(c, SF_OP_NEG, gb_op1(c, SF_OP_ABS, y))));
    return MEAN_ALL(gb_op2(c, SF_OP_ADD, gb_op2(c, SF_OP_SUB, pos, prod), soft));
}

static const struct {
    const char *name;
    loss_fn fn;
    bool indices; /* the target is one class index per row */
} losses[] = {
    {"mse", mse, false},
    {"l1", l1, false},
    {"smooth_l1", smooth_l1, false},
    {"cross_entropy", cross_entropy, true},
    {"cross_entropy_probs", cross_entropy_probs, false},
    {"bce_with_logits", bce_with_logits, false},
};

const char *sf_loss_names(void) { return "mse, l1, smooth_l1, cross_entropy, cross_entropy_probs, bce_with_logits"; }

sf_status sf_add_loss(sf_module *m, const char *kind, sf_error *err)
{
    size_t k = 0, nl = sizeof losses / sizeof losses[0];
    while (k < nl && strcmp(losses[k].name, kind))
        k++;
    if (k == nl)
        return sf_fail(err, SF_ERR_INVALID_ARG, "loss '%s': expected one of %s", kind, sf_loss_names());
    sf_graph *g = m->g;
    if (g->outputs.len != 1 || ((sf_value *)g->outputs.items[0])->type.dtype != SF_F32)
        return sf_fail(err, SF_ERR_INVALID_ARG, "loss %s: the model has %zu outputs; a loss takes one f32 output",
                       kind, g->outputs.len);
    V y = g->outputs.items[0];
    sf_type tt = y->type;
    char ys[96];
    if ((losses[k].indices || !strcmp(kind, "cross_entropy_probs")) && tt.rank != 2)
        return sf_fail(err, SF_ERR_SHAPE, "loss %s: the output %s is not [rows, classes]", kind,
                       sf_type_str(&y->type, ys, sizeof ys));
    if (losses[k].indices)
        tt.rank = 1;
    if (sf_map_get(&g->input_by_name, "target"))
        return sf_fail(err, SF_ERR_INVALID_ARG, "loss %s: the model already has an input named 'target'", kind);
    grad_ctx c = {.err = err};
    c.rw.g = g;
    V t = sf_graph_input(g, "target", &tt, err);
    V L = t ? losses[k].fn(&c, y, t) : NULL;
    if (!L)
        return c.st != SF_OK ? c.st : (err ? err->code : SF_ERR_NOMEM);
    g->outputs.len = 0;
    return sf_graph_add_output(g, L, err);
}
