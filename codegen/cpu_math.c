/* exp, tanh, GELU's erfc, log, log1p and x - tanh x for the CPU backend's
 * kernels, as straight-line f32 arithmetic (cpu_emit.h). libm's expf,
 * tanhf, erff and logf are calls the loop vectorizer cannot widen: a
 * Linear -> Tanh head at batch 4096 spent most of its time in tanhf, 8x
 * slower than PyTorch's vectorized tanh. These have no calls and no
 * branches (selects only), so a loop of them becomes AVX-512 code.
 *
 * The polynomials are fitted by scripts/fit_math.py. Worst errors against
 * double-precision libm over a million inputs of every exponent and dense
 * sweeps (tests/test_cpu_math.c, through the ops): tanh 1.6 ulp, sigmoid
 * 2.4, silu 3.3, GELU 6.1, softmax 3.9, exp 0.9, log 0.8, log1p 1.4,
 * tanhshrink 3.0, denormal results within a few 2^-149 steps. NaN in
 * gives NaN out; +-inf give the limits. */
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

static LLVMValueRef fma64(emit *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);

/* c[0] + u (c[1] + u (c[2] + ...)), in u's type (f32, or f64 for sin and cos) */
static LLVMValueRef horner(emit *e, const double *c, int n, LLVMValueRef u)
{
    LLVMTypeRef t = LLVMTypeOf(u);
    bool f64 = LLVMGetTypeKind(t) == LLVMDoubleTypeKind;
    LLVMValueRef r = LLVMConstReal(t, c[n - 1]);
    for (int k = n - 2; k >= 0; k--)
        r = f64 ? fma64(e, r, u, LLVMConstReal(t, c[k])) : em_fmuladd(e, r, u, LLVMConstReal(t, c[k]));
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

/* 2^64 e^y for y in [-128, 0], no NaN or overflow handling (GELU's own
 * use). n = round(y / ln 2) by the 1.5 * 2^23 shift, whose low mantissa
 * bits are n, so that 2^(n + 64) is two integer operations (n + 64 + 127 is
 * in [6, 191]: no denormals, the 2^-64 comes back in one final multiply);
 * e^r by a degree-6 fit (0.03 ulp). */
static LLVMValueRef exp_scaled(emit *e, LLVMValueRef y, LLVMValueRef lo)
{
    static const double X[7] = {1.0000000005555267,  1.0000000363851722,   0.4999999206483764,   0.16666419888033404,
                                0.04166822765380615, 0.008374839597692686, 0.0013836800119997935};
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef shifted = em_fmuladd(e, y, c32(e, 1.44269504088896341), c32(e, 12582912.0));
    LLVMValueRef n = fsub(e, shifted, c32(e, 12582912.0));
    LLVMValueRef r = em_fmuladd(e, n, c32(e, -0.693359375), y);
    r = em_fmuladd(e, n, c32(e, 2.12194440054690583e-4), r);
    r = em_fmuladd(e, lo, c32(e, -0.5), r); /* e^-(lo/2): the low part of x^2 / 2 */
    LLVMValueRef bits = LLVMBuildShl(e->b, LLVMBuildBitCast(e->b, shifted, i32, ""), LLVMConstInt(i32, 23, 0), "");
    bits = LLVMBuildAdd(e->b, bits, LLVMConstInt(i32, (127 + 64) << 23, 0), "");
    return fmul(e, horner(e, X, 7, r), LLVMBuildBitCast(e->b, bits, e->f32, ""));
}

/* GELU, x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), from one erfc of a =
 * |x| / sqrt 2: Phi = erfc(a) / 2 for x < 0, 1 - erfc(a) / 2 for x >= 0
 * (neither cancels: erfc(a) / 2 <= 1/2). erfc(a) = e^-(a^2) t G(t), t = 1 /
 * (1 + a/2), G fitted on [0, 10.5] (0.7 ulp; GELU is 0 in f32 below x =
 * -14.6). A larger factor than 1/2 makes t G steeper at t = 1, where t's
 * rounding then costs more; a smaller one needs more terms. x^2 / 2 is
 * carried exactly as hi + lo (an FMA gives lo): rounding it, or a, before
 * squaring would cost 60 ulp at x = 11.
 *
 * No selects for the special values: e^-(x^2/2) takes |x| clamped to 16
 * (x^2 must stay finite; Phi(16) is 1 in f32) but t does not, so that for
 * |x| > 16 erfc goes on falling as t, to exactly 0 at t = 0: GELU(-inf) is
 * -inf * 0 = NaN as in PyTorch, GELU(+inf) = inf, NaN gives NaN through t.
 * Where Phi is denormal (x < -13.1) x Phi rounds twice: |x| 2^-150 at most. */
LLVMValueRef em_gelu(emit *e, LLVMValueRef x)
{
    static const double G[9] = {0.2820855642066982,    0.2823902719251983,  0.2429949854710179,
                                0.20311689214734252,   -0.027641052017441603, 0.27953968132085594,
                                -0.48848574291682234, 0.285195346983273,   -0.059195990514002816};
    LLVMValueRef a = em_call_f32(e, "llvm.fabs.f32", x);
    LLVMValueRef t = LLVMBuildFDiv(e->b, c32(e, 1), em_fmuladd(e, a, c32(e, 0.5 * 0.70710678118654752), c32(e, 1)), "");
    LLVMValueRef ac = pick(e, lt(e, a, 16), a, c32(e, 16));
    LLVMValueRef sq = fmul(e, ac, ac);
    LLVMValueRef v[3] = {ac, ac, LLVMBuildFNeg(e->b, sq, "")};
    LLVMValueRef lo = em_call_f32n(e, "llvm.fma.f32", v, 3); /* exact: a^2 = sq + lo */
    LLVMValueRef ex = exp_scaled(e, fmul(e, sq, c32(e, -0.5)), lo);
    LLVMValueRef h = fmul(e, fmul(e, ex, fmul(e, horner(e, G, 9, t), t)), c32(e, 0x1p-65)); /* erfc(a) / 2 */
    LLVMValueRef phi = pick(e, lt(e, x, 0), h, fsub(e, c32(e, 1), h));
    return fmul(e, x, phi);
}

/* log: x = 2^k m with m in [sqrt(1/2), sqrt(2)) (k from the bits of x
 * less those of sqrt(1/2), so that m never needs a second adjustment), f =
 * m - 1 exact, log m = f - f^2/2 + f^3 L(f) with a fitted L (the error of
 * f^2/2 is carried by the f^3 term's small size), k ln 2 added last in two
 * parts (Cody-Waite). Denormal x is scaled by 2^23 first. x = 0 gives
 * -inf, x < 0 and NaN give NaN, +inf gives +inf. */
LLVMValueRef em_log(emit *e, LLVMValueRef x)
{
    static const double L[9] = {0.3333333117351066,   -0.24999994010131193, 0.2000071478955181,
                                -0.16668056222173677, 0.1424932065157005,   -0.12420171675337434,
                                0.11677051969649684,  -0.11514419562569035, 0.07037303352745612};
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef tiny = lt(e, x, 0x1p-126);
    LLVMValueRef xs = pick(e, tiny, fmul(e, x, c32(e, 0x1p23)), x);
    LLVMValueRef d = LLVMBuildSub(e->b, LLVMBuildBitCast(e->b, xs, i32, ""), LLVMConstInt(i32, 0x3f3504f3, 0), "");
    LLVMValueRef k = LLVMBuildAShr(e->b, d, LLVMConstInt(i32, 23, 0), "");
    LLVMValueRef mb = LLVMBuildAdd(e->b, LLVMBuildAnd(e->b, d, LLVMConstInt(i32, 0x7fffff, 0), ""),
                                   LLVMConstInt(i32, 0x3f3504f3, 0), "");
    LLVMValueRef f = fsub(e, LLVMBuildBitCast(e->b, mb, e->f32, ""), c32(e, 1));
    LLVMValueRef kf = fadd(e, LLVMBuildSIToFP(e->b, k, e->f32, ""), pick(e, tiny, c32(e, -23), c32(e, 0)));
    LLVMValueRef f2 = fmul(e, f, f);
    LLVMValueRef r = em_fmuladd(e, fmul(e, f2, f), horner(e, L, 9, f), fmul(e, f2, c32(e, -0.5)));
    LLVMValueRef y = fadd(e, em_fmuladd(e, kf, c32(e, -2.12194440054690583e-4), r), f);
    y = em_fmuladd(e, kf, c32(e, 0.693359375), y);
    y = pick(e, LLVMBuildFCmp(e->b, LLVMRealOEQ, x, c32(e, __builtin_inff()), ""), x, y);
    y = pick(e, LLVMBuildFCmp(e->b, LLVMRealOEQ, x, c32(e, 0), ""), c32(e, -__builtin_inff()), y);
    return pick(e, LLVMBuildFCmp(e->b, LLVMRealULT, x, c32(e, 0), ""), c32(e, __builtin_nanf("")), y);
}

/* log(1 + x) = log(u) + (x - (u - 1)) / u, u = 1 + x rounded: the second
 * term is the rounding error of u, to first order, so x near 0 keeps its
 * digits (u = 1 gives exactly x). x = inf and x = -1 are set apart (the
 * correction is inf - inf and 0 / 0 there). */
LLVMValueRef em_log1p(emit *e, LLVMValueRef x)
{
    LLVMValueRef u = fadd(e, x, c32(e, 1));
    LLVMValueRef corr = LLVMBuildFDiv(e->b, fsub(e, x, fsub(e, u, c32(e, 1))), u, "");
    LLVMValueRef y = fadd(e, em_log(e, u), corr);
    y = pick(e, LLVMBuildFCmp(e->b, LLVMRealOEQ, x, c32(e, __builtin_inff()), ""), x, y);
    return pick(e, LLVMBuildFCmp(e->b, LLVMRealOEQ, u, c32(e, 0), ""), c32(e, -__builtin_inff()), y);
}

/* x - tanh x: x^3 T(x^2) below 1.5 with a fitted T (the difference
 * cancels there: at x = 0.01 it is 3e-7 of x), the difference itself above
 * (x - tanh x >= 0.59 there, tanh x <= 1: under 2 bits lost). NaN: the
 * second form. */
LLVMValueRef em_tanhshrink(emit *e, LLVMValueRef x)
{
    static const double T[11] = {0.33333333214327887,   -0.13333320393601925,   0.053965904953124054,
                                 -0.021852594159861613, 0.008799654757094096,   -0.0034486087595505368,
                                 0.001245338644499874,  -0.00037818021237350473, 8.575689899462113e-05,
                                 -1.239047649599645e-05, 8.349979909033634e-07};
    LLVMValueRef u = fmul(e, x, x);
    LLVMValueRef small = fmul(e, fmul(e, x, u), horner(e, T, 11, u));
    LLVMValueRef big = fsub(e, x, em_tanh(e, x));
    return pick(e, lt(e, em_call_f32(e, "llvm.fabs.f32", x), 1.5), small, big);
}

/* ---- sin and cos, in double ---- */

static LLVMValueRef c64(emit *e, double v) { return LLVMConstReal(LLVMDoubleTypeInContext(e->ctx), v); }

static LLVMValueRef call_f64(emit *e, const char *name, LLVMValueRef *args, int nargs)
{
    LLVMTypeRef f64 = LLVMDoubleTypeInContext(e->ctx), types[3] = {f64, f64, f64};
    LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
    if (!f)
        f = LLVMAddFunction(e->mod, name, LLVMFunctionType(f64, types, (unsigned)nargs, 0));
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, (unsigned)nargs, "");
}

static LLVMValueRef fma64(emit *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMValueRef args[3] = {a, b, c};
    return call_f64(e, "llvm.fma.f64", args, 3);
}

/* v mod 4 in [-2, 2] split into its nearest integer (added to *n) and a
 * fraction in [-1/2, 1/2]: both exact for any double v (rounding to
 * nearest, not flooring, keeps a tiny negative v from becoming 4 - |v|) */
static LLVMValueRef frac_mod4(emit *e, LLVMValueRef v, LLVMValueRef *n)
{
    LLVMValueRef m = fma64(e, call_f64(e, "llvm.roundeven.f64", (LLVMValueRef[]){fmul(e, v, c64(e, 0.25))}, 1),
                           c64(e, -4), v);
    LLVMValueRef i = call_f64(e, "llvm.roundeven.f64", &m, 1);
    *n = fadd(e, *n, i);
    return fsub(e, m, i);
}

/* *s + *c += f, with the rounding error of each addition kept in *c (Knuth's two-sum) */
static void two_sum(emit *e, LLVMValueRef *s, LLVMValueRef *c, LLVMValueRef f)
{
    LLVMValueRef t = fadd(e, *s, f), bp = fsub(e, t, *s);
    LLVMValueRef err = fadd(e, fsub(e, *s, fsub(e, t, bp)), fsub(e, f, bp));
    *c = fadd(e, *c, err), *s = t;
}

/* sin x (cos_ = false) or cos x for every f32 x, without libm's sinf (a
 * call the loop vectorizer cannot widen). x 2/pi = q + f, |f| <= 1/2, is
 * found exactly enough for any float: 2/pi is held in five doubles (265
 * bits), each product with x (24 bits) is exact as a double pair through
 * an fma, each piece is reduced mod 4 and split into integer and fraction
 * exactly, the integers summed exactly and the fractions with two-sum.
 * Then r = f pi/2 and sin r, cos r by their Taylor series to r^15 and r^16
 * (|r| <= pi/4: under 2^-50), q mod 4 choosing which and its sign.
 * inf and NaN give NaN (through inf - inf). Worst error under 1 ulp over
 * every float (tests/test_cpu_math.c). */
LLVMValueRef em_sincos(emit *e, LLVMValueRef x, bool cos_)
{
    static const double two_over_pi[5] = {0x1.45f306dc9c883p-1, -0x1.6b01ec5417056p-55, -0x1.6447e493ad4cep-109,
                                          0x1.e21c820ff28b2p-163, -0x1.508510ea79237p-218};
    static const double S[8] = {1, -1. / 6, 1. / 120, -1. / 5040, 1. / 362880, -1. / 39916800, 1. / 6227020800.,
                                -1. / 1307674368000.};
    static const double C[9] = {1, -1. / 2, 1. / 24, -1. / 720, 1. / 40320, -1. / 3628800, 1. / 479001600.,
                                -1. / 87178291200., 1. / 20922789888000.};
    LLVMValueRef xd = LLVMBuildFPExt(e->b, x, LLVMDoubleTypeInContext(e->ctx), "");
    LLVMValueRef n = c64(e, 0), s = c64(e, 0), c = c64(e, 0);
    for (int i = 4; i >= 0; i--) { /* the smallest pieces first */
        LLVMValueRef h = fmul(e, xd, c64(e, two_over_pi[i]));
        LLVMValueRef l = fma64(e, xd, c64(e, two_over_pi[i]), LLVMBuildFNeg(e->b, h, ""));
        two_sum(e, &s, &c, frac_mod4(e, l, &n));
        two_sum(e, &s, &c, frac_mod4(e, h, &n));
    }
    LLVMValueRef q = call_f64(e, "llvm.roundeven.f64", (LLVMValueRef[]){fadd(e, s, c)}, 1);
    LLVMValueRef f = fadd(e, fsub(e, s, q), c); /* s - q is exact */
    LLVMValueRef r = fma64(e, f, c64(e, 1.5707963267948966), fmul(e, f, c64(e, 6.123233995736766e-17)));
    LLVMValueRef u = fmul(e, r, r);
    LLVMValueRef sn = fmul(e, r, horner(e, S, 8, u)), cs = horner(e, C, 9, u);
    LLVMValueRef k = fadd(e, n, q);
    k = fma64(e, call_f64(e, "llvm.floor.f64", (LLVMValueRef[]){fmul(e, k, c64(e, 0.25))}, 1), c64(e, -4), k);
    if (cos_)
        k = fadd(e, k, c64(e, 1)); /* cos x = sin(x + pi/2) */
    LLVMValueRef odd = LLVMBuildFCmp(e->b, LLVMRealOEQ, k, c64(e, 1), "");
    odd = LLVMBuildOr(e->b, odd, LLVMBuildFCmp(e->b, LLVMRealOEQ, k, c64(e, 3), ""), "");
    LLVMValueRef neg = LLVMBuildFCmp(e->b, LLVMRealOGE, k, c64(e, 2), "");
    neg = LLVMBuildAnd(e->b, neg, LLVMBuildFCmp(e->b, LLVMRealOLT, k, c64(e, 4), ""), "");
    LLVMValueRef v = pick(e, odd, cs, sn);
    v = pick(e, neg, LLVMBuildFNeg(e->b, v, ""), v);
    return LLVMBuildFPTrunc(e->b, v, e->f32, "");
}
