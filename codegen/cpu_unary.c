/* Each unary op's map on one f32 value, for its kernel and for the
 * epilogues fused into products and chains: one function per op, found by
 * a table built from ops.def by class, so a unary op without its u_<ID>
 * here fails to compile (tests/new_op.sh).
 *
 * Selects, not minnum/maxnum, wherever a comparison decides: those would
 * turn NaN into a bound. NaN and infinities give what PyTorch's formulas
 * give (softsign(inf) = NaN, hardswish(-inf) = NaN, sign(NaN) = 0). */
#include "codegen/cpu_emit.h"

static LLVMValueRef k32(emit *e, double v) { return LLVMConstReal(e->f32, v); }
static LLVMValueRef cmp(emit *e, LLVMRealPredicate p, LLVMValueRef a, double v)
{
    return LLVMBuildFCmp(e->b, p, a, k32(e, v), "");
}
static LLVMValueRef sel(emit *e, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(e->b, c, a, b, "");
}
static LLVMValueRef mulk(emit *e, LLVMValueRef x, double v) { return LLVMBuildFMul(e->b, x, k32(e, v), ""); }
static LLVMValueRef addk(emit *e, LLVMValueRef x, double v) { return LLVMBuildFAdd(e->b, x, k32(e, v), ""); }
static LLVMValueRef divide(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(e->b, a, b, ""); }
static LLVMValueRef fabs_(emit *e, LLVMValueRef x) { return em_call_f32(e, "llvm.fabs.f32", x); }

static LLVMValueRef u_RELU(emit *e, const sf_node *n, LLVMValueRef x)
{
    (void)n;
    return sel(e, cmp(e, LLVMRealOGT, x, 0), x, k32(e, 0));
}

static LLVMValueRef u_TANH(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_tanh(e, x); }

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: e^-|x| never
 * overflows, so the left tail keeps its denormals instead of 1 / inf */
static LLVMValueRef sigmoid(emit *e, LLVMValueRef x)
{
    LLVMValueRef t = em_exp(e, LLVMBuildFNeg(e->b, fabs_(e, x), ""));
    LLVMValueRef s = divide(e, k32(e, 1), addk(e, t, 1));
    return sel(e, cmp(e, LLVMRealOLT, x, 0), LLVMBuildFMul(e->b, t, s, ""), s); /* NaN: s, which is NaN */
}

static LLVMValueRef u_SIGMOID(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, sigmoid(e, x); }
static LLVMValueRef u_SILU(emit *e, const sf_node *n, LLVMValueRef x)
{
    return (void)n, LLVMBuildFMul(e->b, x, sigmoid(e, x), "");
}
static LLVMValueRef u_GELU(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_gelu(e, x); } /* exact */

/* 0.5 x (1 + tanh z) = x sigmoid(2z), z = sqrt(2/pi) (x + 0.044715 x^3):
 * the same function without 1 + tanh's cancellation for x < 0 */
static LLVMValueRef u_GELU_TANH(emit *e, const sf_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef x3 = LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, x, x, ""), x, "");
    LLVMValueRef z2 = mulk(e, em_fmuladd(e, x3, k32(e, 0.044715), x), 1.5957691216057308); /* 2 sqrt(2/pi) */
    return LLVMBuildFMul(e->b, x, sigmoid(e, z2), "");
}

/* x > 0 ? x : alpha x; NaN: alpha NaN */
static LLVMValueRef u_LEAKY_RELU(emit *e, const sf_node *n, LLVMValueRef x)
{
    return sel(e, cmp(e, LLVMRealOGT, x, 0), x, mulk(e, x, sf_attr_alpha(n)));
}

/* x > 0 ? scale x : alpha scale expm1(input_scale x); NaN goes the second way */
static LLVMValueRef u_ELU(emit *e, const sf_node *n, LLVMValueRef x)
{
    double s = sf_attr_scale(n);
    LLVMValueRef neg = mulk(e, em_expm1(e, mulk(e, x, sf_attr_input_scale(n))), sf_attr_alpha(n) * s);
    return sel(e, cmp(e, LLVMRealOGT, x, 0), mulk(e, x, s), neg);
}

/* min > max gives max, as torch.clamp */
static LLVMValueRef u_CLAMP(emit *e, const sf_node *n, LLVMValueRef x)
{
    double lo = sf_attr_min(n), hi = sf_attr_max(n);
    LLVMValueRef r = sel(e, cmp(e, LLVMRealOLT, x, lo), k32(e, lo), x);
    return sel(e, cmp(e, LLVMRealOGT, r, hi), k32(e, hi), r);
}

static LLVMValueRef u_ABS(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, fabs_(e, x); }
static LLVMValueRef u_NEG(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, LLVMBuildFNeg(e->b, x, ""); }
static LLVMValueRef u_SIGN(emit *e, const sf_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef r = sel(e, cmp(e, LLVMRealOLT, x, 0), k32(e, -1), k32(e, 0));
    return sel(e, cmp(e, LLVMRealOGT, x, 0), k32(e, 1), r);
}
static LLVMValueRef u_FLOOR(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_call_f32(e, "llvm.floor.f32", x); }
static LLVMValueRef u_ROUND(emit *e, const sf_node *n, LLVMValueRef x)
{
    return (void)n, em_call_f32(e, "llvm.roundeven.f32", x); /* halves to even, as torch.round */
}
static LLVMValueRef u_SQRT(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_call_f32(e, "llvm.sqrt.f32", x); }
/* two correctly rounded steps (1.5 ulp), not the 12-bit estimate */
static LLVMValueRef u_RSQRT(emit *e, const sf_node *n, LLVMValueRef x)
{
    return (void)n, divide(e, k32(e, 1), em_call_f32(e, "llvm.sqrt.f32", x));
}
static LLVMValueRef u_RECIPROCAL(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, divide(e, k32(e, 1), x); }
static LLVMValueRef u_EXP(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_exp(e, x); }
static LLVMValueRef u_LOG(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_log(e, x); }
static LLVMValueRef u_LOG1P(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_log1p(e, x); }
static LLVMValueRef u_SIN(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_sincos(e, x, false); }
static LLVMValueRef u_COS(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_sincos(e, x, true); }
static LLVMValueRef u_SOFTSIGN(emit *e, const sf_node *n, LLVMValueRef x)
{
    return (void)n, divide(e, x, addk(e, fabs_(e, x), 1));
}
static LLVMValueRef u_TANHSHRINK(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, em_tanhshrink(e, x); }

/* min(max(x + 3, 0), 6) / 6 */
static LLVMValueRef hardsigmoid(emit *e, LLVMValueRef x)
{
    LLVMValueRef t = addk(e, x, 3);
    t = sel(e, cmp(e, LLVMRealOLT, t, 0), k32(e, 0), t);
    return divide(e, sel(e, cmp(e, LLVMRealOGT, t, 6), k32(e, 6), t), k32(e, 6));
}
static LLVMValueRef u_HARDSIGMOID(emit *e, const sf_node *n, LLVMValueRef x) { return (void)n, hardsigmoid(e, x); }
static LLVMValueRef u_HARDSWISH(emit *e, const sf_node *n, LLVMValueRef x)
{
    return (void)n, LLVMBuildFMul(e->b, x, hardsigmoid(e, x), "");
}

/* log(1 + e^y) as max(y, 0) + log1p(e^-|y|): no overflow for any y (PyTorch's
 * own form overflows to inf past its threshold when that is set high) */
static LLVMValueRef softplus(emit *e, LLVMValueRef y)
{
    LLVMValueRef tail = em_log1p(e, em_exp(e, LLVMBuildFNeg(e->b, fabs_(e, y), "")));
    return LLVMBuildFAdd(e->b, sel(e, cmp(e, LLVMRealOGT, y, 0), y, k32(e, 0)), tail, ""); /* NaN: the tail's */
}

/* beta x > threshold ? x : softplus(beta x) / beta */
static LLVMValueRef u_SOFTPLUS(emit *e, const sf_node *n, LLVMValueRef x)
{
    LLVMValueRef y = mulk(e, x, sf_attr_beta(n));
    LLVMValueRef r = divide(e, softplus(e, y), k32(e, sf_attr_beta(n)));
    return sel(e, cmp(e, LLVMRealOGT, y, sf_attr_threshold(n)), x, r);
}

static LLVMValueRef u_MISH(emit *e, const sf_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef sp = sel(e, cmp(e, LLVMRealOGT, x, 20), x, softplus(e, x));
    return LLVMBuildFMul(e->b, x, em_tanh(e, sp), "");
}

/* x > l ? x - l : x < -l ? x + l : 0 x (NaN stays) */
static LLVMValueRef u_SOFTSHRINK(emit *e, const sf_node *n, LLVMValueRef x)
{
    double l = sf_attr_lambd(n);
    LLVMValueRef r = sel(e, cmp(e, LLVMRealOLT, x, -l), addk(e, x, l), mulk(e, x, 0));
    return sel(e, cmp(e, LLVMRealOGT, x, l), addk(e, x, -l), r);
}

static LLVMValueRef u_HARDSHRINK(emit *e, const sf_node *n, LLVMValueRef x)
{
    return sel(e, cmp(e, LLVMRealOLE, fabs_(e, x), sf_attr_lambd(n)), k32(e, 0), x);
}

static LLVMValueRef u_THRESHOLD(emit *e, const sf_node *n, LLVMValueRef x)
{
    return sel(e, cmp(e, LLVMRealOLE, x, sf_attr_threshold(n)), k32(e, sf_attr_value(n)), x);
}

/* min(x, 0) - log1p(e^-|x|): PyTorch's form, no overflow either side; NaN: the tail's */
static LLVMValueRef u_LOGSIGMOID(emit *e, const sf_node *n, LLVMValueRef x)
{
    (void)n;
    LLVMValueRef tail = em_log1p(e, em_exp(e, LLVMBuildFNeg(e->b, fabs_(e, x), "")));
    return LLVMBuildFSub(e->b, sel(e, cmp(e, LLVMRealOLT, x, 0), x, k32(e, 0)), tail, "");
}

typedef LLVMValueRef (*unary_fn)(emit *e, const sf_node *n, LLVMValueRef x);

/* by class: a unary op's map is u_<ID>, every other op has none */
#define MAP_UNARY(id) u_##id
#define MAP_SOURCE(id) NULL
#define MAP_CONSTANT(id) NULL
#define MAP_PRODUCT(id) NULL
#define MAP_NORM(id) NULL
#define MAP_BINARY(id) NULL
#define MAP_REDUCE(id) NULL
#define MAP_VIEW(id) NULL
#define MAP_MOVE(id) NULL
#define MAP_SELECT(id) NULL

static const unary_fn maps[SF_OP_COUNT] = {
#define OP(id, text, min_in, max_in, nres, cls, ...) [SF_OP_##id] = MAP_##cls(id),
#include "ir/ops.def"
};

LLVMValueRef em_unary(emit *e, const sf_node *n, LLVMValueRef x) { return maps[n->op](e, n, x); }
