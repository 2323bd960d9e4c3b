/*
 * The gradient rules of the op table (its gradient column, ir/ops.def),
 * each in the graph's own ops, so that the backward fuses and runs like a
 * forward. The derivatives are PyTorch's, where a choice exists: relu's is 0
 * at 0; maximum and minimum split a tie evenly; clamp passes the gradient
 * where min <= x <= max; amax and amin share it among equal maxima.
 */
#include <math.h>

#include "passes/grad.h"

#define MUL(a, b) gb_op2(c, SF_OP_MUL, a, b)
#define ADD(a, b) gb_op2(c, SF_OP_ADD, a, b)
#define SUB(a, b) gb_op2(c, SF_OP_SUB, a, b)
#define DIV(a, b) gb_op2(c, SF_OP_DIV, a, b)
#define NUM(v) gb_num(c, v)
#define CMP(op, a, b) gb_op2(c, SF_OP_##op, a, b)
#define AND(a, b) gb_op2(c, SF_OP_MINIMUM, a, b) /* on masks */
#define OR(a, b) gb_op2(c, SF_OP_MAXIMUM, a, b)
#define F1(op, a) gb_op1(c, SF_OP_##op, a)
#define PASS(cond, g) gb_where(c, cond, g, NUM(0))
#define ACC(i, expr)                                                                                                   \
    do {                                                                                                               \
        if (grad_needs(c, n, i))                                                                                       \
            grad_acc(c, n, i, expr);                                                                                   \
    } while (0)

static void grad_none(grad_ctx *c, const sf_node *n, V const *dy) { (void)c, (void)n, (void)dy; }

void grad_unary(grad_ctx *c, const sf_node *n, V const *dy)
{
    ACC(0, grad_rules[n->op].d(c, n, grad_x(c, n, 0), grad_y(c, n, 0), dy[0]));
}

/* ---- elementwise, one operand: dx from x, y = f(x) and the gradient g ---- */
static V d_relu(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)y, PASS(CMP(GT, x, NUM(0)), g); }
static V d_leaky_relu(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)y;
    return gb_where(c, CMP(GT, x, NUM(0)), g, MUL(g, NUM(sf_attr_alpha(n))));
}
/* Phi(x) + x phi(x), with Phi(x) = gelu(x) / x away from 0 (the ops have no erf) and its series near 0 */
static V d_gelu(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n;
    V phi0 = ADD(NUM(0.5), MUL(x, NUM(0.3989422804014327)));
    V Phi = gb_where(c, CMP(LT, F1(ABS, x), NUM(1e-3)), phi0, DIV(y, x));
    V phi = MUL(F1(EXP, MUL(MUL(x, x), NUM(-0.5))), NUM(0.3989422804014327));
    return MUL(g, ADD(Phi, MUL(x, phi)));
}
static V d_tanh(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    return (void)n, (void)x, MUL(g, SUB(NUM(1), MUL(y, y)));
}
static V d_sigmoid(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    return (void)n, (void)x, MUL(g, MUL(y, SUB(NUM(1), y)));
}
static V d_silu(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n, (void)y;
    V s = F1(SIGMOID, x);
    return MUL(g, MUL(s, ADD(NUM(1), MUL(x, SUB(NUM(1), s)))));
}
static V d_elu(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)y;
    double a = sf_attr_alpha(n), s = sf_attr_scale(n), is = sf_attr_input_scale(n);
    V neg = MUL(g, MUL(NUM(s * a * is), F1(EXP, MUL(x, NUM(is)))));
    return gb_where(c, CMP(GT, x, NUM(0)), MUL(g, NUM(s)), neg);
}
static V d_clamp(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)y;
    return PASS(AND(CMP(GE, x, NUM(sf_attr_min(n))), CMP(LE, x, NUM(sf_attr_max(n)))), g);
}
static V d_abs(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)y, MUL(g, F1(SIGN, x)); }
static V d_neg(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)x, (void)y, F1(NEG, g); }
static V d_sqrt(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)x, DIV(MUL(g, NUM(0.5)), y); }
static V d_rsqrt(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    return (void)n, (void)x, MUL(MUL(g, NUM(-0.5)), MUL(y, MUL(y, y)));
}
static V d_reciprocal(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    return (void)n, (void)x, F1(NEG, MUL(g, MUL(y, y)));
}
static V d_exp(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)x, MUL(g, y); }
static V d_log(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)y, DIV(g, x); }
static V d_log1p(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)y, DIV(g, ADD(x, NUM(1))); }
static V d_sin(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)y, MUL(g, F1(COS, x)); }
static V d_cos(grad_ctx *c, const sf_node *n, V x, V y, V g) { return (void)n, (void)y, F1(NEG, MUL(g, F1(SIN, x))); }
static V d_softsign(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n, (void)y;
    V a = ADD(NUM(1), F1(ABS, x));
    return DIV(g, MUL(a, a));
}
static V d_tanhshrink(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n, (void)y;
    V t = F1(TANH, x);
    return MUL(g, MUL(t, t));
}
static V d_hardsigmoid(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n, (void)y;
    return PASS(AND(CMP(GT, x, NUM(-3)), CMP(LT, x, NUM(3))), MUL(g, NUM(1.0 / 6.0)));
}
static V d_hardswish(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n, (void)y;
    V mid = MUL(g, ADD(DIV(x, NUM(3)), NUM(0.5)));
    return gb_where(c, CMP(LT, x, NUM(-3)), NUM(0), gb_where(c, CMP(LE, x, NUM(3)), mid, g));
}
static V d_mish(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n, (void)y;
    V t = F1(TANH, gb_softplus(c, x, 1, 20));
    return MUL(g, ADD(t, MUL(MUL(x, F1(SIGMOID, x)), SUB(NUM(1), MUL(t, t)))));
}
static V d_gelu_tanh(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)n, (void)y;
    const double k = 0.7978845608028654, a = 0.044715;
    V x2 = MUL(x, x), t = F1(TANH, MUL(MUL(x, ADD(NUM(1), MUL(x2, NUM(a)))), NUM(k)));
    V du = MUL(NUM(k), ADD(NUM(1), MUL(x2, NUM(3 * a))));
    V d = ADD(MUL(NUM(0.5), ADD(NUM(1), t)), MUL(MUL(MUL(x, NUM(0.5)), SUB(NUM(1), MUL(t, t))), du));
    return MUL(g, d);
}
static V d_softplus(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)y;
    V bx = MUL(x, NUM(sf_attr_beta(n)));
    return gb_where(c, CMP(GT, bx, NUM(sf_attr_threshold(n))), g, MUL(g, F1(SIGMOID, bx)));
}
static V d_shrink(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    (void)y;
    double l = sf_attr_lambd(n);
    return PASS(OR(CMP(GT, x, NUM(l)), CMP(LT, x, NUM(-l))), g);
}
#define d_softshrink d_shrink
#define d_hardshrink d_shrink
static V d_threshold(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    return (void)y, PASS(CMP(GT, x, NUM(sf_attr_threshold(n))), g);
}
static V d_logsigmoid(grad_ctx *c, const sf_node *n, V x, V y, V g)
{
    return (void)n, (void)y, MUL(g, F1(SIGMOID, F1(NEG, x)));
}

/* ---- elementwise, two and three operands (grad_acc sums a broadcast operand's share) ---- */
static void grad_add(grad_ctx *c, const sf_node *n, V const *dy) { ACC(0, dy[0]); ACC(1, dy[0]); }
static void grad_sub(grad_ctx *c, const sf_node *n, V const *dy) { ACC(0, dy[0]); ACC(1, F1(NEG, dy[0])); }
static void grad_mul(grad_ctx *c, const sf_node *n, V const *dy)
{
    ACC(0, MUL(dy[0], grad_x(c, n, 1)));
    ACC(1, MUL(dy[0], grad_x(c, n, 0)));
}
static void grad_div(grad_ctx *c, const sf_node *n, V const *dy)
{
    V b = grad_x(c, n, 1);
    ACC(0, DIV(dy[0], b));
    ACC(1, F1(NEG, DIV(MUL(dy[0], grad_y(c, n, 0)), b)));
}
/* the operand that is not the result's gets 0, a tie half each */
static V tie(grad_ctx *c, V lose, V a, V b, V g)
{
    return gb_where(c, lose, NUM(0), gb_where(c, CMP(EQ, a, b), MUL(g, NUM(0.5)), g));
}
static void grad_maximum(grad_ctx *c, const sf_node *n, V const *dy)
{
    V a = grad_x(c, n, 0), b = grad_x(c, n, 1);
    ACC(0, tie(c, CMP(LT, a, b), a, b, dy[0]));
    ACC(1, tie(c, CMP(GT, a, b), a, b, dy[0]));
}
static void grad_minimum(grad_ctx *c, const sf_node *n, V const *dy)
{
    V a = grad_x(c, n, 0), b = grad_x(c, n, 1);
    ACC(0, tie(c, CMP(GT, a, b), a, b, dy[0]));
    ACC(1, tie(c, CMP(LT, a, b), a, b, dy[0]));
}
static void grad_where(grad_ctx *c, const sf_node *n, V const *dy)
{
    V cond = grad_x(c, n, 0);
    ACC(1, gb_where(c, cond, dy[0], NUM(0)));
    ACC(2, gb_where(c, cond, NUM(0), dy[0]));
}

/* ---- products ---- */
/* dL/dW of x·Wᵀ: gᵀ·x summed over every leading dim of x (the batch contracted in one product) */
static V linear_dw(grad_ctx *c, V g, V x)
{
    int r = x->type.rank;
    if (r == 1)
        return MUL(gb_unsqueeze(c, g, 1), gb_unsqueeze(c, x, 0));
    V p = gb_op2(c, SF_OP_MATMUL, gb_transpose(c, g, r - 1, r - 2), x);
    int64_t lead[SF_MAX_RANK];
    for (int d = 0; d < r - 2; d++)
        lead[d] = d;
    return gb_sum(c, p, lead, r - 2, false);
}
static V sum_leading(grad_ctx *c, V g, int keep_last)
{
    int64_t lead[SF_MAX_RANK];
    int n = g->type.rank - keep_last;
    for (int d = 0; d < n; d++)
        lead[d] = d;
    return gb_sum(c, g, lead, n, false);
}
static void grad_linear(grad_ctx *c, const sf_node *n, V const *dy)
{
    V x = grad_x(c, n, 0), w = grad_x(c, n, 1);
    ACC(0, gb_op2(c, SF_OP_LINEAR, dy[0], gb_transpose(c, w, 0, 1)));
    ACC(1, linear_dw(c, dy[0], x));
    if (n->nin == 3)
        ACC(2, sum_leading(c, dy[0], 1));
}
static void grad_matmul(grad_ctx *c, const sf_node *n, V const *dy)
{
    V a = grad_x(c, n, 0), b = grad_x(c, n, 1);
    int ra = a->type.rank, rb = b->type.rank;
    ACC(0, gb_op2(c, SF_OP_MATMUL, dy[0], gb_transpose(c, b, rb - 1, rb - 2)));
    ACC(1, gb_op2(c, SF_OP_MATMUL, gb_transpose(c, a, ra - 1, ra - 2), dy[0]));
}
/* per group: x [..., G, I], W [G, O, I]; shared: x [..., I] read by every group */
static void grad_grouped_linear(grad_ctx *c, const sf_node *n, V const *dy)
{
    V x = grad_x(c, n, 0), w = grad_x(c, n, 1), g = dy[0];
    const sf_type *wt = &w->type;
    int r = x->type.rank;
    if (n->nin == 3)
        ACC(2, sum_leading(c, g, 2));
    if (sf_attr_shared(n)) { /* as one linear over the groups laid end to end */
        sf_type gf = x->type, wf = {SF_F32, 2, {wt->dim[0] * wt->dim[1], wt->dim[2]}};
        gf.dim[r - 1] = wf.dim[0];
        V g2 = gb_reshape(c, g, &gf), w2 = gb_reshape(c, w, &wf);
        ACC(0, gb_op2(c, SF_OP_LINEAR, g2, gb_transpose(c, w2, 0, 1)));
        ACC(1, linear_dw(c, g2, x));
        return;
    }
    ACC(0, gb_like(c, n, (V[]){g, gb_transpose(c, w, 1, 2)}, 2));
    if (!grad_needs(c, n, 1))
        return;
    if (r == 2) { /* one row per group: outer products */
        grad_acc(c, n, 1, MUL(gb_unsqueeze(c, g, 2), gb_unsqueeze(c, x, 1)));
        return;
    }
    /* [..., N, G, *] -> [..., G, N, *]: the groups lead the product, the rows N are contracted */
    V xg = gb_transpose(c, x, r - 2, r - 3), gg = gb_transpose(c, g, r - 2, r - 3);
    V p = gb_op2(c, SF_OP_MATMUL, gb_transpose(c, gg, r - 1, r - 2), xg);
    grad_acc(c, n, 1, sum_leading(c, p, 3));
}

/* ---- normalisations ---- */
static void grad_softmax(grad_ctx *c, const sf_node *n, V const *dy)
{
    V y = grad_y(c, n, 0);
    int64_t d = sf_attr_dim(n);
    ACC(0, MUL(y, SUB(dy[0], gb_sum(c, MUL(dy[0], y), &d, 1, true))));
}
static void grad_log_softmax(grad_ctx *c, const sf_node *n, V const *dy)
{
    int64_t d = sf_attr_dim(n);
    ACC(0, SUB(dy[0], MUL(F1(EXP, grad_y(c, n, 0)), gb_sum(c, dy[0], &d, 1, true))));
}
static void grad_layernorm(grad_ctx *c, const sf_node *n, V const *dy)
{
    V x = grad_x(c, n, 0), g = dy[0];
    const sf_type *xt = &x->type;
    int nd = (int)sf_attr_ndim(n);
    int64_t dims[SF_MAX_RANK];
    for (int i = 0; i < nd; i++)
        dims[i] = xt->rank - nd + i;
    V inv = DIV(NUM(1), gb_count(c, xt, dims, nd));
#define MEAN(v) MUL(gb_sum(c, v, dims, nd, true), inv)
    V xc = SUB(x, MEAN(x));
    V r = F1(RSQRT, ADD(MEAN(MUL(xc, xc)), NUM(sf_attr_eps(n))));
    V xhat = MUL(xc, r);
    V dxhat = n->nin > 1 ? MUL(g, grad_x(c, n, 1)) : g;
    ACC(0, MUL(r, SUB(SUB(dxhat, MEAN(dxhat)), MUL(xhat, MEAN(MUL(dxhat, xhat))))));
#undef MEAN
    if (n->nin > 1)
        ACC(1, MUL(g, xhat));
    if (n->nin > 2)
        ACC(2, g);
}
/* running statistics (inference); per channel, dim 1 */
static void grad_batchnorm(grad_ctx *c, const sf_node *n, V const *dy)
{
    V x = grad_x(c, n, 0), g = dy[0], mean = grad_x(c, n, 1), var = grad_x(c, n, 2);
    const sf_type *xt = &x->type;
    sf_type ct = {SF_F32, xt->rank, {1}};
    int64_t dims[SF_MAX_RANK];
    int nd = 0;
    for (int d = 0; d < xt->rank; d++) {
        ct.dim[d] = d == 1 ? xt->dim[1] : 1;
        if (d != 1)
            dims[nd++] = d;
    }
#define PER_C(v) gb_reshape(c, v, &ct)
#define OVER_C(v) gb_sum(c, v, dims, nd, false)
    V rstd = F1(RSQRT, ADD(var, NUM(sf_attr_eps(n))));
    V scale = n->nin == 5 ? MUL(rstd, grad_x(c, n, 3)) : rstd;
    V xc = SUB(x, PER_C(mean)), gx = MUL(g, PER_C(scale));
    ACC(0, gx);
    ACC(1, F1(NEG, OVER_C(gx)));
    /* d/dvar of (x - mean) (var + eps)^-1/2 w = -(x - mean) w rstd^3 / 2 */
    ACC(2, MUL(OVER_C(MUL(g, xc)), MUL(MUL(scale, MUL(rstd, rstd)), NUM(-0.5))));
    if (n->nin == 5) {
        ACC(3, OVER_C(MUL(g, MUL(xc, PER_C(rstd)))));
        ACC(4, OVER_C(g));
    }
#undef PER_C
#undef OVER_C
}

/* ---- reductions ---- */
/* x's type with the reduced dims kept as 1 */
static sf_type kept(const sf_node *n, const sf_type *xt)
{
    sf_type t = *xt;
    const sf_attr *dims = sf_attr_dims(n);
    for (int i = 0; i < dims->n; i++)
        t.dim[dims->ints[i]] = 1;
    return t;
}
static void grad_sum(grad_ctx *c, const sf_node *n, V const *dy)
{
    const sf_type *xt = &n->in[0]->type;
    sf_type k = kept(n, xt);
    ACC(0, gb_expand(c, gb_reshape(c, dy[0], &k), xt));
}
static void grad_mean(grad_ctx *c, const sf_node *n, V const *dy)
{
    const sf_type *xt = &n->in[0]->type;
    const sf_attr *dims = sf_attr_dims(n);
    sf_type k = kept(n, xt);
    V share = DIV(gb_reshape(c, dy[0], &k), gb_count(c, xt, dims->ints, dims->n));
    ACC(0, gb_expand(c, share, xt));
}
/* amax, amin: the gradient shared among the elements equal to the result */
static void grad_extremum(grad_ctx *c, const sf_node *n, V const *dy)
{
    const sf_type *xt = &n->in[0]->type;
    const sf_attr *dims = sf_attr_dims(n);
    sf_type k = kept(n, xt);
    V hit = CMP(EQ, grad_x(c, n, 0), gb_reshape(c, grad_y(c, n, 0), &k));
    V count = gb_sum(c, gb_where(c, hit, NUM(1), NUM(0)), dims->ints, dims->n, true);
    ACC(0, PASS(hit, DIV(gb_reshape(c, dy[0], &k), count)));
}
/* y / x, and where x is 0 the product of the others (0 when another is 0 too) */
static void grad_prod(grad_ctx *c, const sf_node *n, V const *dy)
{
    V x = grad_x(c, n, 0);
    const sf_attr *dims = sf_attr_dims(n);
    sf_type k = kept(n, &x->type);
    V zero = CMP(EQ, x, NUM(0)), y = gb_reshape(c, grad_y(c, n, 0), &k);
    V zeros = gb_sum(c, gb_where(c, zero, NUM(1), NUM(0)), dims->ints, dims->n, true);
    V others = gb_reduce(c, SF_OP_PROD, gb_where(c, zero, NUM(1), x), dims->ints, dims->n, true);
    V at_zero = gb_where(c, CMP(EQ, zeros, NUM(1)), others, NUM(0));
    ACC(0, MUL(gb_reshape(c, dy[0], &k), gb_where(c, zero, at_zero, DIV(y, x))));
}

/* ---- views and moves (none of them moves along the batch dim: the shape rules refuse it) ---- */
static void grad_view(grad_ctx *c, const sf_node *n, V const *dy) { ACC(0, gb_reshape(c, dy[0], &n->in[0]->type)); }
static void grad_transpose(grad_ctx *c, const sf_node *n, V const *dy)
{
    ACC(0, gb_transpose(c, dy[0], (int)sf_attr_dim0(n), (int)sf_attr_dim1(n)));
}
static void grad_triangle(grad_ctx *c, const sf_node *n, V const *dy) { ACC(0, gb_like(c, n, dy, 1)); }

/* t with dim d of size len */
static V zeros_along(grad_ctx *c, const sf_type *t, int d, int64_t len)
{
    sf_type z = *t;
    z.dim[d] = len;
    return gb_full(c, &z, 0);
}
/* the gradient of a slice: zeros around it, and between its elements for a step > 1 */
static void grad_slice(grad_ctx *c, const sf_node *n, V const *dy)
{
    const sf_type *xt = &n->in[0]->type;
    int d = (int)sf_attr_dim(n);
    int64_t start = sf_attr_start(n), step = sf_attr_step(n), m = dy[0]->type.dim[d], len = xt->dim[d];
    V g = dy[0];
    if (step > 1 && m > 0) { /* [.., m, ..] -> [.., m, step, ..] with zeros after each -> [.., m*step, ..] */
        sf_type wide = dy[0]->type;
        V e = gb_unsqueeze(c, g, d + 1);
        V parts[2] = {e, e ? zeros_along(c, &e->type, d + 1, step - 1) : NULL};
        wide.dim[d] = m * step;
        g = gb_reshape(c, gb_concat(c, parts, 2, d + 1), &wide);
        int64_t keep = m * step < len - start ? m * step : len - start;
        if (keep < m * step)
            g = gb_slice(c, g, d, 0, keep);
    }
    int64_t used = g ? g->type.dim[d] : 0;
    V parts[3];
    int np = 0;
    if (start > 0)
        parts[np++] = zeros_along(c, xt, d, start);
    parts[np++] = g;
    if (len - start - used > 0)
        parts[np++] = zeros_along(c, xt, d, len - start - used);
    ACC(0, gb_concat(c, parts, np, d));
}
static void grad_split(grad_ctx *c, const sf_node *n, V const *dy)
{
    V *parts = sf_arena_alloc(&c->rw.g->arena, sizeof *parts * (size_t)n->nout);
    if (!parts)
        return (void)(c->st = sf_fail(c->err, SF_ERR_NOMEM, "out of memory"));
    for (int k = 0; k < n->nout; k++) /* a part no output reads takes zeros */
        parts[k] = dy[k] ? dy[k] : gb_full(c, &n->out[k]->type, 0);
    ACC(0, gb_concat(c, parts, n->nout, (int)sf_attr_dim(n)));
}
static void grad_concat(grad_ctx *c, const sf_node *n, V const *dy)
{
    int d = (int)sf_attr_dim(n);
    int64_t at = 0;
    for (int i = 0; i < n->nin; i++) {
        int64_t len = n->in[i]->type.dim[d];
        ACC(i, gb_slice(c, dy[0], d, at, at + len));
        at += len;
    }
}
static void grad_stack(grad_ctx *c, const sf_node *n, V const *dy)
{
    int d = (int)sf_attr_dim(n);
    for (int i = 0; i < n->nin; i++)
        ACC(i, gb_reshape(c, gb_slice(c, dy[0], d, i, i + 1), &n->in[i]->type));
}
/* the scatter-add of gather: each index's gradient summed into its place, through a one-hot mask */
static void grad_gather(grad_ctx *c, const sf_node *n, V const *dy)
{
    if (!grad_needs(c, n, 0))
        return;
    int d = (int)sf_attr_dim(n);
    const sf_type *xt = &n->in[0]->type, *ot = &n->out[0]->type;
    sf_type it = {SF_F32, ot->rank + 1, {0}};
    for (int k = 0; k < it.rank; k++)
        it.dim[k] = k == d + 1 ? xt->dim[d] : 1;
    V hit = CMP(EQ, gb_unsqueeze(c, grad_x(c, n, 1), d + 1), gb_iota(c, &it, d + 1));
    int64_t dd = d;
    grad_acc(c, n, 0, gb_sum(c, PASS(hit, gb_unsqueeze(c, dy[0], d + 1)), &dd, 1, false));
}

#define NOGRAD {NULL, NULL}
#define G(name) {grad_##name, NULL}
#define D(name) {grad_unary, d_##name}
#define OP(id, text, min_in, max_in, nres, cls, flags, grad, ...) [SF_OP_##id] = grad,
const struct grad_entry grad_rules[SF_OP_COUNT] = {
#include "ir/ops.def"
};
