/*
 * Inside reverse-mode differentiation (grad.c drives, grad_rules.c holds
 * the rules of the op table's gradient column). A rule sees the old node,
 * its results' gradients and the forward copy of its operands and results
 * in the new graph, and adds its operands' gradients with grad_acc.
 *
 * Errors are sticky: every builder below returns NULL once the context has
 * failed or when handed a NULL operand, so a rule is a straight line of
 * builders and the driver reads c->st afterwards.
 */
#ifndef SF_GRAD_H
#define SF_GRAD_H

#include "passes/pass.h"

typedef struct grad_ctx {
    sf_rewriter rw;   /* the new graph; rw.map: old value -> its forward copy */
    sf_value **grad;  /* old value id -> its gradient so far (NULL: none) */
    bool *needs;      /* old value id -> a gradient must reach it */
    sf_error *err;
    sf_status st;
} grad_ctx;

typedef sf_value *V;

/* the rules: one per G(name) of ops.def; D(name) rules give dx of an elementwise op */
typedef void (*grad_rule)(grad_ctx *c, const sf_node *n, V const *dy);
typedef V (*grad_d)(grad_ctx *c, const sf_node *n, V x, V y, V g);

/* the forward copy of operand i / result k of an old node */
V grad_x(grad_ctx *c, const sf_node *n, int i);
V grad_y(grad_ctx *c, const sf_node *n, int k);
/* adds g into operand i's gradient, summed down to the operand's shape where
 * g is broadcast over it; nothing when no gradient is needed there */
void grad_acc(grad_ctx *c, const sf_node *n, int i, V g);
bool grad_needs(const grad_ctx *c, const sf_node *n, int i);

/* builders in the new graph */
V gb_op1(grad_ctx *c, sf_opcode op, V a);
V gb_op2(grad_ctx *c, sf_opcode op, V a, V b);
V gb_where(grad_ctx *c, V cond, V a, V b);
V gb_num(grad_ctx *c, double v);
V gb_full(grad_ctx *c, const sf_type *t, double v);
V gb_reduce(grad_ctx *c, sf_opcode op, V x, const int64_t *dims, int n, bool keep);
V gb_sum(grad_ctx *c, V x, const int64_t *dims, int n, bool keep);
V gb_iota(grad_ctx *c, const sf_type *t, int dim);
V gb_softplus(grad_ctx *c, V x, double beta, double threshold);
V gb_reshape(grad_ctx *c, V x, const sf_type *t);
V gb_transpose(grad_ctx *c, V x, int d0, int d1);
V gb_unsqueeze(grad_ctx *c, V x, int dim);
/* a one-operand op whose one attribute is dim (unsqueeze, softmax, log_softmax) */
V gb_with_dim(grad_ctx *c, sf_opcode op, V x, int dim);
V gb_slice(grad_ctx *c, V x, int dim, int64_t start, int64_t end);
V gb_concat(grad_ctx *c, V const *parts, int n, int dim);
V gb_gather(grad_ctx *c, V x, V idx, int dim);
/* a copy of n (same op and attributes) on other operands */
V gb_like(grad_ctx *c, const sf_node *n, V const *in, int nin);
/* v broadcast to t (v's shape must broadcast to it) */
V gb_expand(grad_ctx *c, V v, const sf_type *t);
/* g summed down to t, the shape it was broadcast from */
V gb_unbroadcast(grad_ctx *c, V g, const sf_type *t);
/* the number of elements over dims as a value (a scalar, or a reduction of ones when B is among them) */
V gb_count(grad_ctx *c, const sf_type *t, const int64_t *dims, int n);
/* sets the context's error (the first one stays) and returns NULL */
V gb_fail(grad_ctx *c, const sf_node *n, const char *why);

extern const struct grad_entry {
    grad_rule rule;
    grad_d d;
} grad_rules[SF_OP_COUNT];
void grad_unary(grad_ctx *c, const sf_node *n, V const *dy);

#endif
