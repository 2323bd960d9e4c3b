/* exp, tanh and GELU's 1 + erf for the CPU backend's kernels, as straight-line
 * f32 arithmetic (cpu_emit.h). libm's expf, tanhf and erff are calls the
 * loop vectorizer cannot widen: a Linear -> Tanh head at batch 4096 spent
 * most of its time in tanhf, 8x slower than PyTorch's vectorized tanh. These
 * have no calls and no branches (selects only), so a loop of them becomes
 * AVX-512 code.
 *
 * The polynomials are fitted by scripts/fit_math.py. Worst errors against
 * double-precision libm over a million inputs of every exponent and dense
 * sweeps (tests/test_cpu_math.c, through the ops): tanh 1.6 ulp, sigmoid
 * 2.4, silu 3.3, GELU 5.4, softmax 3.9, denormal results within a few
 * 2^-149 steps. NaN in gives NaN out; +-inf give the limits. */
#include "codegen/cpu_emit.h"

static LLVMValueRef c32(emit *e, double v) { return LLVMConstReal(e->f32, v); }

static LLVMValueRef fadd(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(e->b, a, b, ""); }
static LLVMValueRef fsub(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(e->b, a, b, ""); }
static LLVMValueRef fmul(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(e->b, a, b, ""); }

static LLVMValueRef lt(emit *e, LLVMValueRef a, double v) { return LLVMBuildFCmp(e->b, LLVMRealOLT, a, c32(e, v), ""); }
static LLVMValueRef pick(emit *e, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(e->b, c, a, b, "");
}

static LLVMValueRef with_sign(emit *e, LLVMValueRef mag, LLVMValueRef sign)
{
    LLVMValueRef v[2] = {mag, sign};
    return em_call_f32n(e, "llvm.copysign.f32", v, 2);
}

/* c[0] + u (c[1] + u (c[2] + ...)) */
static LLVMValueRef horner(emit *e, const double *c, int n, LLVMValueRef u)
{
    LLVMValueRef r = c32(e, c[n - 1]);
    for (int k = n - 2; k >= 0; k--)
        r = em_fmuladd(e, r, u, c32(e, c[k]));
    return r;
}

/* 2^n for an integral f32 n in [-126, 127] */
static LLVMValueRef pow2(emit *e, LLVMValueRef n)
{
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef k = LLVMBuildFPToSI(e->b, n, i32, "");
    LLVMValueRef bits =
        LLVMBuildShl(e->b, LLVMBuildAdd(e->b, k, LLVMConstInt(i32, 127, 0), ""), LLVMConstInt(i32, 23, 0), "");
    return LLVMBuildBitCast(e->b, bits, e->f32, "");
}

/* exp(x) = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 (Cody-Waite: ln 2
 * split so that n * hi is exact), e^r by its Taylor series to r^7 / 7!
 * (|r| <= 0.347: under 1 ulp). 2^n is applied as 2^(n/2) 2^(n - n/2) so
 * that results below 2^-126 round to denormals instead of wrapping. */
LLVMValueRef em_exp(emit *e, LLVMValueRef x)
{
    static const double taylor[8] = {1, 1, 1. / 2, 1. / 6, 1. / 24, 1. / 120, 1. / 720, 1. / 5040};
    LLVMValueRef nan = LLVMBuildFCmp(e->b, LLVMRealUNO, x, x, "");
    LLVMValueRef xc = pick(e, lt(e, x, -104.0), c32(e, -104.0), x); /* e^-104 < the least denormal */
    xc = pick(e, lt(e, xc, 88.72283935546875), xc, c32(e, 88.72283935546875));
    xc = pick(e, nan, c32(e, 0), xc); /* keeps fptosi off NaN (poison) */
    LLVMValueRef n = em_call_f32(e, "llvm.floor.f32", em_fmuladd(e, xc, c32(e, 1.44269504088896341), c32(e, 0.5)));
    LLVMValueRef r = em_fmuladd(e, n, c32(e, -0.693359375), xc);
    r = em_fmuladd(e, n, c32(e, 2.12194440054690583e-4), r);
    LLVMValueRef p = horner(e, taylor, 8, r);
    LLVMValueRef half = em_call_f32(e, "llvm.floor.f32", fmul(e, n, c32(e, 0.5)));
    LLVMValueRef y = fmul(e, fmul(e, p, pow2(e, half)), pow2(e, fsub(e, n, half)));
    y = pick(e, LLVMBuildFCmp(e->b, LLVMRealOGT, x, c32(e, 88.72283935546875), ""), c32(e, __builtin_inff()), y);
    return pick(e, nan, x, y);
}

/* e^x - 1: x (1 + x/2! + ... + x^7/8!) where |x| < 0.35 (the next term is
 * under 2^-30 of x), e^x - 1 elsewhere (e^x > 0.7 there: the subtraction
 * costs under 2 bits). NaN: the second form, NaN. */
LLVMValueRef em_expm1(emit *e, LLVMValueRef x)
{
    static const double taylor[8] = {1, 1. / 2, 1. / 6, 1. / 24, 1. / 120, 1. / 720, 1. / 5040, 1. / 40320};
    LLVMValueRef small = lt(e, em_call_f32(e, "llvm.fabs.f32", x), 0.35);
    LLVMValueRef p = fmul(e, x, horner(e, taylor, 8, x));
    return pick(e, small, p, fsub(e, em_exp(e, x), c32(e, 1)));
}

/* tanh: x + x^3 P(x^2) below 0.55 (a fitted P; the exp form cancels
 * there), 1 - 2 / (e^2|x| + 1) with x's sign above (exp's overflow to inf
 * gives exactly 1). */
LLVMValueRef em_tanh(emit *e, LLVMValueRef x)
{
    static const double P[5] = {-0.3333333352581738, 0.13333184967667816, -0.05391811425804145, 0.021348151097874964,
                                -0.0066676054416501245};
    LLVMValueRef a = em_call_f32(e, "llvm.fabs.f32", x), u = fmul(e, x, x);
    LLVMValueRef small = em_fmuladd(e, fmul(e, x, u), horner(e, P, 5, u), x);
    LLVMValueRef ex = em_exp(e, fadd(e, a, a));
    LLVMValueRef big = with_sign(e, fsub(e, c32(e, 1), LLVMBuildFDiv(e->b, c32(e, 2), fadd(e, ex, c32(e, 1)), "")), x);
    return pick(e, lt(e, a, 0.55), small, big); /* NaN: big, which is NaN */
}

/* erfc(x / sqrt 2) for x / sqrt 2 >= 0.5: e^-(x^2/2) S(1 / (1 + a/2)),
 * a = |x| / sqrt 2, S fitted on [0.5, 10] (erfc(10) is 2e-45). x^2 / 2 is
 * carried exactly as hi + lo (an FMA gives lo; halving is exact): rounding
 * it, or a, before squaring would cost 60 ulp at x = 11. */
static LLVMValueRef erfc_tail(emit *e, LLVMValueRef x, LLVMValueRef a)
{
    static const double S[11] = {3.148139328625505e-06, 0.28199723584070147,  0.2834169386245651,   0.23652881828257427,
                                 0.2273024261358555,    -0.08265697557317653, 0.3529759000715854,   -0.5367966138830632,
                                 0.2857762791792882,    -0.04117757939165924, -0.007384200118656584};
    LLVMValueRef t = LLVMBuildFDiv(e->b, c32(e, 1), em_fmuladd(e, a, c32(e, 0.5), c32(e, 1)), "");
    LLVMValueRef sq = fmul(e, x, x);
    LLVMValueRef v[3] = {x, x, LLVMBuildFNeg(e->b, sq, "")};
    LLVMValueRef lo = em_call_f32n(e, "llvm.fma.f32", v, 3); /* exact: x^2 = sq + lo */
    lo = pick(e, lt(e, a, 16), fmul(e, lo, c32(e, 0.5)), c32(e, 0)); /* e^-256 is 0 already; x^2 may be inf */
    LLVMValueRef g = fmul(e, em_exp(e, fmul(e, sq, c32(e, -0.5))), horner(e, S, 11, t));
    return fmul(e, g, fsub(e, c32(e, 1), lo)); /* e^-lo = 1 - lo to f32 precision: |lo| < 2^-18 */
}

/* GELU, 0.5 x (1 + erf(x / sqrt 2)), without forming erf where 1 + erf
 * cancels (x / sqrt 2 < -0.5): there 1 + erf = erfc(|z|). |z| small: 1 +
 * z E(z^2), E fitted to erf(z)/z on [0, 0.84375]; large: 2 - erfc(z). */
LLVMValueRef em_gelu(emit *e, LLVMValueRef x)
{
    static const double E[6] = {1.1283791608467488,    -0.37612576555366906, 0.11282776776837744,
                                -0.026805141633939725, 0.005055674993782566, -0.0006343186815330956};
    LLVMValueRef z = fmul(e, x, c32(e, 0.70710678118654752));
    LLVMValueRef a = em_call_f32(e, "llvm.fabs.f32", z);
    LLVMValueRef mid = em_fmuladd(e, z, horner(e, E, 6, fmul(e, z, z)), c32(e, 1));
    LLVMValueRef tail = erfc_tail(e, x, a);
    LLVMValueRef r = pick(e, lt(e, z, 0.84375), mid, fsub(e, c32(e, 2), tail));
    r = pick(e, LLVMBuildFCmp(e->b, LLVMRealOLE, z, c32(e, -0.5), ""), tail, r);
    r = fmul(e, fmul(e, c32(e, 0.5), x), r);
    return pick(e, LLVMBuildFCmp(e->b, LLVMRealUNO, x, x, ""), x, r);
}
