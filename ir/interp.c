/* The reference interpreter: the oracle for every pass and backend. It is
 * written for clarity, not speed: plain loops, one buffer per value, double
 * accumulators. Views (slice, reshape, ...) are copies here. */
#include "ir/interp_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const sf_kernel_fn kernels[SF_OP_COUNT] = {
#define OP(id, ...) [SF_OP_##id] = sf_k_##id,
#include "ir/ops.def"
#undef OP
};

void sf_strides(const sf_tensor *t, int64_t *st)
{
    int64_t s = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->dim[i];
    }
}

int64_t sf_dims_prod(const sf_tensor *t, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= t->dim[i];
    return p;
}

float sf_interp_elementwise(const sf_node *n, int side, float x, float c)
{
    if (!sf_op_is_elementwise(n->op) || n->nin > 2)
        return NAN;
    float a = side ? c : x, b = side ? x : c, y = NAN;
    sf_tensor ta = {.data = &a}, tb = {.data = &b}, ty = {.data = &y};
    const sf_tensor *in[2] = {&ta, &tb};
    sf_tensor *out[1] = {&ty};
    return kernels[n->op](n, in, out, NULL) == SF_OK ? y : NAN;
}

/* INPUT and PARAM values are bound by the driver, never run. */
sf_status sf_k_INPUT(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)in, (void)out;
    return sf_fail(err, SF_ERR_RUNTIME, "interp: %s node run as an op", sf_ops[n->op].name);
}

sf_status sf_k_PARAM(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    return sf_k_INPUT(n, in, out, err);
}

sf_status sf_k_SCALAR(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)in, (void)err;
    out[0]->data[0] = (float)sf_attr_value(n);
    return SF_OK;
}

/* ---- elementwise ---- */

typedef double (*binop)(double, double);
static double op_add(double a, double b) { return a + b; }
static double op_sub(double a, double b) { return a - b; }
static double op_mul(double a, double b) { return a * b; }
static double op_div(double a, double b) { return a / b; }
static double op_maximum(double a, double b) { return a > b || isnan(a) ? a : b; } /* NaN from either side */
static double op_minimum(double a, double b) { return a < b || isnan(a) ? a : b; }
/* C's comparisons are IEEE's: false with a NaN, but for != */
static double op_eq(double a, double b) { return a == b; }
static double op_ne(double a, double b) { return a != b; }
static double op_lt(double a, double b) { return a < b; }
static double op_le(double a, double b) { return a <= b; }
static double op_gt(double a, double b) { return a > b; }
static double op_ge(double a, double b) { return a >= b; }

/* numpy broadcasting: each output coordinate maps to an input coordinate,
 * with dims of size 1 (or missing on the left) pinned to 0. */
static void broadcast_offsets(const sf_tensor *o, const sf_tensor *x, size_t i, int64_t *off)
{
    int64_t xs[SF_MAX_RANK];
    sf_strides(x, xs);
    int64_t rem = (int64_t)i, acc = 0;
    for (int d = o->rank - 1; d >= 0; d--) {
        int64_t c = rem % o->dim[d];
        rem /= o->dim[d];
        int xd = d - (o->rank - x->rank);
        if (xd >= 0 && x->dim[xd] != 1)
            acc += c * xs[xd];
    }
    *off = acc;
}

static sf_status binary(const sf_tensor *const *in, sf_tensor *const *out, binop f)
{
    size_t n = sf_tensor_numel(out[0]);
    for (size_t i = 0; i < n; i++) {
        int64_t a, b;
        broadcast_offsets(out[0], in[0], i, &a);
        broadcast_offsets(out[0], in[1], i, &b);
        out[0]->data[i] = (float)f(in[0]->data[a], in[1]->data[b]);
    }
    return SF_OK;
}

#define BINARY(ID, fn)                                                                                  \
    sf_status sf_k_##ID(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err) \
    {                                                                                                   \
        (void)n, (void)err;                                                                             \
        return binary(in, out, fn);                                                                     \
    }
BINARY(ADD, op_add)
BINARY(SUB, op_sub)
BINARY(MUL, op_mul)
BINARY(DIV, op_div)
BINARY(MAXIMUM, op_maximum)
BINARY(MINIMUM, op_minimum)
BINARY(EQ, op_eq)
BINARY(NE, op_ne)
BINARY(LT, op_lt)
BINARY(LE, op_le)
BINARY(GT, op_gt)
BINARY(GE, op_ge)

sf_status sf_k_WHERE(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)n, (void)err;
    size_t cnt = sf_tensor_numel(out[0]);
    for (size_t i = 0; i < cnt; i++) {
        int64_t c, a, b;
        broadcast_offsets(out[0], in[0], i, &c);
        broadcast_offsets(out[0], in[1], i, &a);
        broadcast_offsets(out[0], in[2], i, &b);
        out[0]->data[i] = in[0]->data[c] != 0 ? in[1]->data[a] : in[2]->data[b];
    }
    return SF_OK;
}

sf_status sf_k_FULL(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)in, (void)err;
    size_t cnt = sf_tensor_numel(out[0]);
    for (size_t i = 0; i < cnt; i++)
        out[0]->data[i] = (float)sf_attr_value(n);
    return SF_OK;
}

sf_status sf_k_IOTA(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)in, (void)err;
    const sf_tensor *t = out[0];
    int d = (int)sf_attr_dim(n);
    int64_t inner = 1;
    for (int k = d + 1; k < t->rank; k++)
        inner *= t->dim[k];
    size_t cnt = sf_tensor_numel(t);
    for (size_t i = 0; i < cnt; i++)
        t->data[i] = (float)((int64_t)i / inner % t->dim[d]);
    return SF_OK;
}

/* an index outside [0, n) or NaN gives NaN; others are truncated toward zero */
sf_status sf_k_GATHER(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    const sf_tensor *x = in[0], *o = out[0];
    int d = (int)sf_attr_dim(n);
    size_t cnt = sf_tensor_numel(o);
    for (size_t i = 0; i < cnt; i++) {
        int64_t at, off = 0, stride = 1, r = (int64_t)i;
        broadcast_offsets(o, in[1], i, &at);
        float v = in[1]->data[at];
        bool ok = v >= 0 && v < (float)x->dim[d];
        for (int k = o->rank - 1; k >= 0; k--) {
            int64_t c = r % o->dim[k];
            r /= o->dim[k];
            off += (k == d ? (ok ? (int64_t)v : 0) : x->dim[k] == 1 ? 0 : c) * stride;
            stride *= x->dim[k];
        }
        o->data[i] = ok ? x->data[off] : NAN;
    }
    return SF_OK;
}

/* y = f(node, x) in double: the node for the ops with attributes */
static double f_relu(const sf_node *n, double x) { return (void)n, x > 0 ? x : 0.0; }
static double f_gelu(const sf_node *n, double x) { return (void)n, 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double f_tanh(const sf_node *n, double x) { return (void)n, tanh(x); }
static double f_sigmoid(const sf_node *n, double x) { return (void)n, 1.0 / (1.0 + exp(-x)); }
static double f_silu(const sf_node *n, double x) { return (void)n, x / (1.0 + exp(-x)); }
static double f_leaky_relu(const sf_node *n, double x) { return x > 0 ? x : x * sf_attr_alpha(n); }
static double f_elu(const sf_node *n, double x)
{
    double s = sf_attr_scale(n);
    return x > 0 ? x * s : expm1(x * sf_attr_input_scale(n)) * sf_attr_alpha(n) * s;
}
/* NaN stays NaN; min > max gives max everywhere, as torch.clamp */
static double f_clamp(const sf_node *n, double x)
{
    if (isnan(x))
        return x;
    double lo = sf_attr_min(n), hi = sf_attr_max(n), r = x < lo ? lo : x;
    return r > hi ? hi : r;
}

/* the math and activations as PyTorch defines them, in double */
static double f_abs(const sf_node *n, double x) { return (void)n, fabs(x); }
static double f_neg(const sf_node *n, double x) { return (void)n, -x; }
static double f_sign(const sf_node *n, double x) { return (void)n, x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; } /* NaN: 0 */
static double f_floor(const sf_node *n, double x) { return (void)n, floor(x); }
static double f_round(const sf_node *n, double x) { return (void)n, nearbyint(x); } /* halves to even */
static double f_sqrt(const sf_node *n, double x) { return (void)n, sqrt(x); }
static double f_rsqrt(const sf_node *n, double x) { return (void)n, 1.0 / sqrt(x); }
static double f_reciprocal(const sf_node *n, double x) { return (void)n, 1.0 / x; }
static double f_exp(const sf_node *n, double x) { return (void)n, exp(x); }
static double f_log(const sf_node *n, double x) { return (void)n, log(x); }
static double f_log1p(const sf_node *n, double x) { return (void)n, log1p(x); }
static double f_sin(const sf_node *n, double x) { return (void)n, sin(x); }
static double f_cos(const sf_node *n, double x) { return (void)n, cos(x); }
static double f_softsign(const sf_node *n, double x) { return (void)n, x / (1.0 + fabs(x)); }
static double f_tanhshrink(const sf_node *n, double x) { return (void)n, x - tanh(x); }
static double f_hardsigmoid(const sf_node *n, double x) { return (void)n, isnan(x) ? x : fmin(fmax(x + 3, 0), 6) / 6; }
static double f_hardswish(const sf_node *n, double x) { return x * f_hardsigmoid(n, x); }
static double softplus(double x, double beta, double threshold)
{
    return x * beta > threshold ? x : log1p(exp(x * beta)) / beta;
}
static double f_mish(const sf_node *n, double x) { return (void)n, x * tanh(softplus(x, 1, 20)); }
/* 0.5 x (1 + tanh z) as x / (1 + e^-2z): 1 + tanh z cancels to 0 in double too where x < -9 */
static double f_gelu_tanh(const sf_node *n, double x)
{
    return (void)n, x / (1 + exp(-2 * 0.79788456080286536 * (x + 0.044715 * x * x * x)));
}
static double f_logsigmoid(const sf_node *n, double x) { return (void)n, fmin(x, 0) - log1p(exp(-fabs(x))); }
static double f_softplus(const sf_node *n, double x) { return softplus(x, sf_attr_beta(n), sf_attr_threshold(n)); }
static double f_softshrink(const sf_node *n, double x)
{
    double l = sf_attr_lambd(n);
    return x > l ? x - l : x < -l ? x + l : 0.0 * x; /* NaN stays */
}
static double f_hardshrink(const sf_node *n, double x)
{
    double l = sf_attr_lambd(n);
    return x > l || x < -l || isnan(x) ? x : 0.0;
}
static double f_threshold(const sf_node *n, double x) { return x <= sf_attr_threshold(n) ? sf_attr_value(n) : x; }

#define UNARY(ID, fn)                                                                                   \
    sf_status sf_k_##ID(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err) \
    {                                                                                                   \
        (void)err;                                                                                      \
        size_t cnt = sf_tensor_numel(out[0]);                                                           \
        for (size_t i = 0; i < cnt; i++)                                                                \
            out[0]->data[i] = (float)fn(n, in[0]->data[i]);                                             \
        return SF_OK;                                                                                   \
    }
UNARY(RELU, f_relu)
UNARY(GELU, f_gelu)
UNARY(TANH, f_tanh)
UNARY(SIGMOID, f_sigmoid)
UNARY(SILU, f_silu)
UNARY(LEAKY_RELU, f_leaky_relu)
UNARY(ELU, f_elu)
UNARY(CLAMP, f_clamp)
UNARY(ABS, f_abs)
UNARY(NEG, f_neg)
UNARY(SIGN, f_sign)
UNARY(FLOOR, f_floor)
UNARY(ROUND, f_round)
UNARY(SQRT, f_sqrt)
UNARY(RSQRT, f_rsqrt)
UNARY(RECIPROCAL, f_reciprocal)
UNARY(EXP, f_exp)
UNARY(LOG, f_log)
UNARY(LOG1P, f_log1p)
UNARY(SIN, f_sin)
UNARY(COS, f_cos)
UNARY(SOFTSIGN, f_softsign)
UNARY(TANHSHRINK, f_tanhshrink)
UNARY(HARDSIGMOID, f_hardsigmoid)
UNARY(HARDSWISH, f_hardswish)
UNARY(MISH, f_mish)
UNARY(GELU_TANH, f_gelu_tanh)
UNARY(SOFTPLUS, f_softplus)
UNARY(SOFTSHRINK, f_softshrink)
UNARY(HARDSHRINK, f_hardshrink)
UNARY(THRESHOLD, f_threshold)
UNARY(LOGSIGMOID, f_logsigmoid)

/* ---- data movement ---- */

/* tril keeps j - i <= diagonal, triu j - i >= diagonal, over the last two dims */
static sf_status triangle(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, bool lower)
{
    int64_t R = in[0]->dim[in[0]->rank - 2], C = in[0]->dim[in[0]->rank - 1], k = sf_attr_diagonal(n);
    size_t cnt = sf_tensor_numel(out[0]);
    for (size_t e = 0; e < cnt; e++) {
        int64_t j = (int64_t)e % C, i = (int64_t)e / C % R;
        bool keep = lower ? j - i <= k : j - i >= k;
        out[0]->data[e] = keep ? in[0]->data[e] : 0.0f;
    }
    return SF_OK;
}

sf_status sf_k_TRIL(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    return (void)err, triangle(n, in, out, true);
}

sf_status sf_k_TRIU(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    return (void)err, triangle(n, in, out, false);
}

/* Ops whose result holds the operand's elements in the same order. */
static sf_status same_order(const sf_tensor *const *in, sf_tensor *const *out)
{
    memcpy(out[0]->data, in[0]->data, sf_tensor_numel(out[0]) * sizeof(float));
    return SF_OK;
}

#define SAME_ORDER(ID)                                                                                  \
    sf_status sf_k_##ID(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err) \
    {                                                                                                   \
        (void)n, (void)err;                                                                             \
        return same_order(in, out);                                                                     \
    }
SAME_ORDER(RESHAPE)
SAME_ORDER(FLATTEN)
SAME_ORDER(SQUEEZE)
SAME_ORDER(UNSQUEEZE)

sf_status sf_k_SLICE(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    int d = (int)sf_attr_dim(n);
    int64_t start = sf_attr_start(n), step = sf_attr_step(n);
    int64_t outer = sf_dims_prod(in[0], 0, d), inner = sf_dims_prod(in[0], d + 1, in[0]->rank);
    int64_t len = in[0]->dim[d], olen = out[0]->dim[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < olen; j++)
            memcpy(out[0]->data + (o * olen + j) * inner, in[0]->data + (o * len + start + j * step) * inner,
                   (size_t)inner * sizeof(float));
    return SF_OK;
}

sf_status sf_k_SPLIT(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    int d = (int)sf_attr_dim(n);
    int64_t outer = sf_dims_prod(in[0], 0, d), inner = sf_dims_prod(in[0], d + 1, in[0]->rank);
    int64_t len = in[0]->dim[d], at = 0;
    for (int r = 0; r < n->nout; r++) {
        int64_t part = out[r]->dim[d];
        for (int64_t o = 0; o < outer; o++)
            memcpy(out[r]->data + o * part * inner, in[0]->data + (o * len + at) * inner,
                   (size_t)(part * inner) * sizeof(float));
        at += part;
    }
    return SF_OK;
}

sf_status sf_k_CONCAT(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    int d = (int)sf_attr_dim(n);
    int64_t outer = sf_dims_prod(out[0], 0, d), inner = sf_dims_prod(out[0], d + 1, out[0]->rank);
    int64_t len = out[0]->dim[d], at = 0;
    for (int i = 0; i < n->nin; i++) {
        int64_t part = in[i]->dim[d];
        for (int64_t o = 0; o < outer; o++)
            memcpy(out[0]->data + (o * len + at) * inner, in[i]->data + o * part * inner,
                   (size_t)(part * inner) * sizeof(float));
        at += part;
    }
    return SF_OK;
}

sf_status sf_k_STACK(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    int d = (int)sf_attr_dim(n);
    int64_t outer = sf_dims_prod(in[0], 0, d), inner = sf_dims_prod(in[0], d, in[0]->rank);
    for (int i = 0; i < n->nin; i++)
        for (int64_t o = 0; o < outer; o++)
            memcpy(out[0]->data + (o * n->nin + i) * inner, in[i]->data + o * inner, (size_t)inner * sizeof(float));
    return SF_OK;
}

sf_status sf_k_TRANSPOSE(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    int d0 = (int)sf_attr_dim0(n), d1 = (int)sf_attr_dim1(n);
    int64_t is[SF_MAX_RANK];
    sf_strides(in[0], is);
    size_t cnt = sf_tensor_numel(out[0]);
    for (size_t i = 0; i < cnt; i++) {
        int64_t rem = (int64_t)i, src = 0;
        for (int d = out[0]->rank - 1; d >= 0; d--) {
            int64_t c = rem % out[0]->dim[d];
            rem /= out[0]->dim[d];
            int sd = d == d0 ? d1 : d == d1 ? d0 : d;
            src += c * is[sd];
        }
        out[0]->data[i] = in[0]->data[src];
    }
    return SF_OK;
}

/* ---- the driver ---- */

static bool alloc_value(const sf_value *v, int64_t batch, sf_tensor *t)
{
    size_t n, bytes;
    if (!sf_type_numel(&v->type, batch, &n) || sf_mul_overflow(n, sizeof(float), &bytes))
        return false;
    t->rank = v->type.rank;
    for (int i = 0; i < t->rank; i++)
        t->dim[i] = v->type.dim[i] == SF_DIM_B ? batch : v->type.dim[i];
    t->data = malloc(bytes ? bytes : sizeof(float));
    return t->data != NULL;
}

static sf_status bind_leaf(const sf_graph *g, const sf_node *n, int64_t batch, const sf_tensor_set *inputs,
                           const sf_tensor_set *weights, sf_tensor *t, sf_error *err)
{
    bool param = n->op == SF_OP_PARAM;
    const sf_tensor *src = sf_tensors_get(param ? weights : inputs, n->name);
    const sf_type *ty = &n->out[0]->type;
    char a[160], b[160];
    (void)g;
    if (!src)
        return sf_fail(err, param ? SF_ERR_WEIGHTS : SF_ERR_INVALID_ARG, "interp: no %s for '%s' %s",
                       param ? "weight" : "input", n->name, sf_type_str(ty, a, sizeof a));
    bool ok = src->rank == ty->rank;
    for (int i = 0; ok && i < ty->rank; i++)
        ok = src->dim[i] == (ty->dim[i] == SF_DIM_B ? batch : ty->dim[i]);
    if (!ok)
        return sf_fail(err, param ? SF_ERR_WEIGHTS : SF_ERR_INVALID_ARG,
                       "interp: %s '%s' has shape %s but %s at batch %lld is needed", param ? "weight" : "input",
                       n->name, sf_tensor_shape_str(src, b, sizeof b), sf_type_str(ty, a, sizeof a),
                       (long long)batch);
    *t = *src; /* borrowed: not freed by the interpreter */
    return SF_OK;
}

sf_status sf_interp_run(const sf_graph *g, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                        sf_tensor_set *out, sf_error *err)
{
    if (batch < 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "interp: batch size must be at least 1, got %lld", (long long)batch);
    size_t nv = g->values.len;
    sf_tensor *vals = calloc(nv + 1, sizeof *vals);
    unsigned char *owned = calloc(nv + 1, 1);
    size_t *last_use = calloc(nv + 1, sizeof *last_use);
    sf_status st = SF_OK;
    if (!vals || !owned || !last_use)
        st = sf_fail(err, SF_ERR_NOMEM, "interp: out of memory");
    /* free each buffer after its last use; outputs live to the end */
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int k = 0; k < n->nin; k++)
            last_use[n->in[k]->id] = i;
    }
    for (size_t i = 0; st == SF_OK && i < g->outputs.len; i++)
        last_use[((const sf_value *)g->outputs.items[i])->id] = SIZE_MAX;
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int k = 0; k < n->nout; k++)
            if (!sf_dtype_runs(n->out[k]->type.dtype))
                st = sf_fail(err, SF_ERR_UNSUPPORTED, "interp: %s produces %s; only f32 runs today",
                             sf_ops[n->op].name, sf_dtype_name(n->out[k]->type.dtype));
        if (st != SF_OK)
            break;
        if (n->op == SF_OP_INPUT || n->op == SF_OP_PARAM) {
            st = bind_leaf(g, n, batch, inputs, weights, &vals[n->out[0]->id], err);
            continue;
        }
        /* concat of 100k branches: operand lists go on the heap */
        const sf_tensor **ins = malloc(sizeof *ins * (size_t)(n->nin + 1));
        sf_tensor **outs = malloc(sizeof *outs * (size_t)(n->nout + 1));
        if (!ins || !outs) {
            free(ins), free(outs);
            st = sf_fail(err, SF_ERR_NOMEM, "interp: out of memory");
            break;
        }
        for (int k = 0; k < n->nin; k++)
            ins[k] = &vals[n->in[k]->id];
        for (int k = 0; st == SF_OK && k < n->nout; k++) {
            outs[k] = &vals[n->out[k]->id];
            if (!alloc_value(n->out[k], batch, outs[k]))
                st = sf_fail(err, SF_ERR_NOMEM, "interp: cannot allocate the result of %s at batch %lld",
                             sf_ops[n->op].name, (long long)batch);
            else
                owned[n->out[k]->id] = 1;
        }
        if (st == SF_OK)
            st = kernels[n->op](n, ins, outs, err);
        free(ins);
        free(outs);
        for (int k = 0; k < n->nin; k++) {
            int id = n->in[k]->id;
            if (last_use[id] == i && owned[id]) {
                free(vals[id].data);
                owned[id] = 0;
            }
        }
    }
    for (size_t i = 0; st == SF_OK && i < g->outputs.len; i++) {
        const sf_tensor *t = &vals[((const sf_value *)g->outputs.items[i])->id];
        char name[32];
        sf_output_name(g, i, name, sizeof name);
        if (!sf_tensors_add(out, name, t->rank, t->dim, t->data, err))
            st = err ? err->code : SF_ERR_NOMEM;
    }
    for (size_t i = 0; vals && owned && i < nv; i++)
        if (owned[i])
            free(vals[i].data);
    free(vals);
    free(owned);
    free(last_use);
    return st;
}
