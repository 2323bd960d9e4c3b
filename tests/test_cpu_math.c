/* The CPU backend's exp, tanh and 1 + erf (codegen/cpu_math.c) through the
 * ops that use them (tanh, sigmoid, silu, gelu, elu's e^x - 1, softmax), against double
 * precision libm: the special values, every threshold of the code and its
 * neighbours, a million random bit patterns (every exponent) and dense
 * sweeps of the ranges where the functions bend. Bounds are in ulps of the
 * float nearest the exact value; for denormal results an absolute bound. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"
#include "runtime/cpu.h"

#define N (1 << 20)

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next32(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next32() >> 8) / 16777216.0f; }

static float bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* x: specials, thresholds +-1 ulp, random bit patterns, sweeps */
static float *inputs(void)
{
    static const float special[] = {0.0f, -0.0f, 1e-45f, -1e-45f, FLT_MIN, -FLT_MIN, 1e-30f, 1e-10f, 1e-4f,
                                    0.35f, -0.35f, 0.5f, -0.5f, 0.55f, -0.55f, 0.84375f, -0.84375f, 1, -1, 4, -4, 8, -8,
                                    10, -10, 16, -16, 20, -20, 87.3f, -87.3f, 88.0f, -88.0f, 88.72283935546875f,
                                    -88.72283935546875f, 88.7229f, -88.7229f, 103.9f, -103.9f, 104, -104, 200,
                                    -200, 1e10f, -1e10f, 1.8e19f, -1.8e19f, FLT_MAX, -FLT_MAX, INFINITY,
                                    -INFINITY, NAN, -NAN};
    float *x = malloc(sizeof *x * N);
    size_t i = 0;
    for (size_t k = 0; k < sizeof special / sizeof *special; k++) {
        x[i++] = special[k];
        x[i++] = nextafterf(special[k], INFINITY);
        x[i++] = nextafterf(special[k], -INFINITY);
    }
    while (i < N / 4)
        x[i++] = bits_to_float(next32()); /* every exponent, NaNs included */
    while (i < N / 2)
        x[i++] = uniform(-120, 120);
    while (i < 3 * N / 4)
        x[i++] = uniform(-12, 12);
    while (i < N)
        x[i++] = uniform(-1, 1);
    return x;
}

static float worst_x;     /* where the absolute error is largest, for the message */
static float worst_ulp_x; /* and where the error in ulps is */

static double sigmoid(double x) { return 1 / (1 + exp(-x)); }

/* ulps a function's f32 formula loses by its own conditioning, allowed on
 * top of the bound (NULL: none) */
static double (*conditioning)(double x);

/* worst error in ulps of the result, past what the denormals of an
 * intermediate allow (a few of their 2^-149 steps times |x|: silu(-90) is
 * -90 e^-90, whose e^-90 is a denormal); the absolute error past that
 * slack where |want| < abs_floor. NaN in, NaN out; infinities exact. */
static double worst(const float *got, const float *x, double (*f)(double), double abs_floor, double *worst_abs)
{
    double w = 0;
    *worst_abs = 0;
    for (size_t i = 0; i < N; i++) {
        double want = f(x[i]), g = got[i];
        if (isnan(want) || isnan(g)) {
            if (!(isnan(want) && isnan(g)))
                fail_msg("x = %.9g: got %.9g, want %.9g", x[i], g, want);
            continue;
        }
        if (isinf(want) || fabs(want) > FLT_MAX) {
            if (g != (want > 0 ? INFINITY : -INFINITY) && !(fabs(want) > FLT_MAX && fabs(g) == FLT_MAX))
                fail_msg("x = %.9g: got %.9g, want %.9g", x[i], g, want);
            continue;
        }
        double slack = 4 * 0x1p-149 * fmax(1, fabs(x[i]));
        double err = fmax(0, fabs(g - want) - slack);
        if (fabs(want) < abs_floor) {
            err = fmax(0, err - (conditioning ? conditioning(x[i]) * 0x1p-149 : 0));
            if (err > *worst_abs)
                worst_x = x[i];
            *worst_abs = fmax(*worst_abs, err);
            continue;
        }
        float near = (float)fabs(want);
        double ulp = near == 0 ? 0x1p-149 : (double)nextafterf(near, INFINITY) - near;
        double u = err / ulp - (conditioning ? conditioning(x[i]) : 0);
        if (u > w)
            w = u, worst_ulp_x = x[i];
    }
    return w;
}

static sf_tensor_set *run(const char *ir, sf_tensor_set *in)
{
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "math.sfir", &e);
    if (!g)
        fail_msg("%s", e.msg);
    sf_tensor_set *w = sf_tensors_new(), *out = sf_tensors_new();
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    if (!m)
        fail_msg("%s", e.msg);
    if (sf_cpu_run(m, N, in, w, out, &e) != SF_OK)
        fail_msg("%s", e.msg);
    sf_cpu_free(m);
    sf_tensors_free(w);
    sf_graph_free(g);
    return out;
}

static double f_tanh(double x) { return tanh(x); }
static double f_silu(double x) { return x * sigmoid(x); }
static double f_gelu(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double f_elu(double x) { return x > 0 ? x : expm1(x); }

static void test_elementwise(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    float *x = inputs();
    sf_tensor_set *in = sf_tensors_new();
    sf_tensors_add(in, "x", 1, (const int64_t[]){N}, x, NULL);
    sf_tensor_set *out = run("func @f(%x: f32[B]) {\n  %0 = tanh %x : f32[B]\n  %1 = sigmoid %x : f32[B]\n"
                             "  %2 = silu %x : f32[B]\n  %3 = gelu %x : f32[B]\n"
                             "  %4 = elu %x {alpha=1, scale=1, input_scale=1} : f32[B]\n  return %0, %1, %2, %3, %4\n}\n",
                             in);
    double a;
    double t = worst(sf_tensors_get(out, "output.0")->data, x, f_tanh, FLT_MIN, &a);
    print_message("tanh: %.2f ulp (abs %.3g on denormals)\n", t, a);
    assert_true(t <= 2.0 && a <= 3e-45);
    double s = worst(sf_tensors_get(out, "output.1")->data, x, sigmoid, FLT_MIN, &a);
    print_message("sigmoid: %.2f ulp (abs %.3g at %.9g)\n", s, a, worst_x);
    assert_true(s <= 3.0 && a <= 3e-45);
    double si = worst(sf_tensors_get(out, "output.2")->data, x, f_silu, FLT_MIN, &a);
    print_message("silu: %.2f ulp (abs %.3g)\n", si, a);
    assert_true(si <= 4.0 && a <= 3e-45);
    double gl = worst(sf_tensors_get(out, "output.3")->data, x, f_gelu, FLT_MIN, &a);
    print_message("gelu: %.2f ulp at %.9g (abs %.3g)\n", gl, worst_ulp_x, a);
    assert_true(gl <= 8.0 && a <= 3e-45);
    double el = worst(sf_tensors_get(out, "output.4")->data, x, f_elu, FLT_MIN, &a);
    print_message("elu (expm1): %.2f ulp (abs %.3g)\n", el, a);
    assert_true(el <= 4.0 && a <= 3e-45);
    sf_tensors_free(out), sf_tensors_free(in);
    free(x);
}

static double f_exp(double x) { return exp(x); }
static double f_log(double x) { return log(x); }
static double f_log1p(double x) { return log1p(x); }
static double softplus(double x) { return x > 20 ? x : log1p(exp(x)); }
static double f_mish(double x) { return x * tanh(softplus(x)); }
static double f_gelu_tanh(double x) /* 0.5 x (1 + tanh z) as x sigmoid(2z): no cancellation in double either */
{
    return x / (1 + exp(-2 * 0.79788456080286536 * (x + 0.044715 * x * x * x)));
}
/* its argument 2z, rounded four times in f32, has |2z| of e^2z's relative
 * error each time: at x = -9, e^2z = 2e-30 and 2z = -67 */
static double gelu_tanh_cond(double x)
{
    return x < 0 ? 4 * 2 * 0.79788456080286536 * fabs(x + 0.044715 * x * x * x) : 0;
}
static double f_tanhshrink(double x) /* its series below 0.1, where the difference cancels in double too */
{
    double u = x * x;
    if (fabs(x) >= 0.1)
        return x - tanh(x);
    return x * u * (1. / 3 + u * (-2. / 15 + u * (17. / 315 + u * (-62. / 2835 + u * 1382. / 155925))));
}
static double f_softsign(double x) { return x / (1 + fabs(x)); }
static double f_rsqrt(double x) { return 1 / sqrt(x); }
static double f_logsigmoid(double x) { return fmin(x, 0) - log1p(exp(-fabs(x))); }

/* the ops that PyTorch users reach for next, each by its formula in double */
static void test_more_elementwise(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    static const struct {
        const char *name;
        double (*f)(double), ulps, (*cond)(double);
    } ops[] = {{"exp", f_exp, 1.5, NULL},
               {"log", f_log, 1.5, NULL},
               {"log1p", f_log1p, 2.0, NULL},
               {"softplus", softplus, 2.5, NULL},
               {"mish", f_mish, 4.5, NULL},
               {"gelu_tanh", f_gelu_tanh, 5.0, gelu_tanh_cond},
               {"tanhshrink", f_tanhshrink, 4.0, NULL},
               {"softsign", f_softsign, 1.5, NULL},
               {"rsqrt", f_rsqrt, 1.5, NULL},
               {"logsigmoid", f_logsigmoid, 2.5, NULL}};
    enum { NOPS = sizeof ops / sizeof ops[0] };
    char ir[1024];
    int at = snprintf(ir, sizeof ir, "func @f(%%x: f32[B]) {\n");
    for (int k = 0; k < NOPS; k++)
        at += snprintf(ir + at, sizeof ir - (size_t)at, "  %%%d = %s %%x%s : f32[B]\n", k, ops[k].name,
                       strcmp(ops[k].name, "softplus") ? "" : " {beta=1, threshold=20}");
    at += snprintf(ir + at, sizeof ir - (size_t)at, "  return %%0");
    for (int k = 1; k < NOPS; k++)
        at += snprintf(ir + at, sizeof ir - (size_t)at, ", %%%d", k);
    snprintf(ir + at, sizeof ir - (size_t)at, "\n}\n");
    float *x = inputs();
    sf_tensor_set *in = sf_tensors_new();
    sf_tensors_add(in, "x", 1, (const int64_t[]){N}, x, NULL);
    sf_tensor_set *out = run(ir, in);
    for (int k = 0; k < NOPS; k++) {
        char name[32];
        snprintf(name, sizeof name, "output.%d", k);
        conditioning = ops[k].cond;
        double a, u = worst(sf_tensors_get(out, name)->data, x, ops[k].f, FLT_MIN, &a);
        conditioning = NULL;
        print_message("%s: %.2f ulp at %.9g%s (abs %.3g on denormals)\n", ops[k].name, u, worst_ulp_x,
                      ops[k].cond ? " past its conditioning" : "", a);
        if (u > ops[k].ulps || a > 3e-45)
            fail_msg("%s: %.2f ulp (bound %.1f), abs %.3g", ops[k].name, u, ops[k].ulps, a);
    }
    sf_tensors_free(out), sf_tensors_free(in);
    free(x);
}

/* softmax over rows of 4: exp(x - max) covers [-240, 0] and the denormal results */
static void test_softmax(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    float *x = inputs(), *row = malloc(sizeof *row * N * 4);
    double *want_all = malloc(sizeof *want_all * N * 4);
    for (size_t i = 0; i < N; i++) {
        /* multiples of 2^-10 within 240 of each other: x - max is exact in f32, so the error is exp's */
        float v = isfinite(x[i]) ? roundf(fmodf(x[i], 120) * 1024) / 1024 : 0;
        float r[4] = {v, roundf(512 * v) / 1024, -v, roundf(uniform(-3, 3) * 1024) / 1024};
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < 4; j++)
            row[i * 4 + (size_t)j] = r[j], mx = fmax(mx, r[j]);
        for (int j = 0; j < 4; j++)
            sum += exp(r[j] - mx);
        for (int j = 0; j < 4; j++)
            want_all[i * 4 + (size_t)j] = exp(r[j] - mx) / sum;
    }
    sf_tensor_set *in = sf_tensors_new();
    sf_tensors_add(in, "x", 2, (const int64_t[]){N, 4}, row, NULL);
    sf_tensor_set *out = run("func @f(%x: f32[B,4]) {\n  %0 = softmax %x {dim=1} : f32[B,4]\n  return %0\n}\n", in);
    const float *got = sf_tensors_get(out, "output")->data;
    double w = 0, a = 0;
    for (size_t i = 0; i < (size_t)N * 4; i++) {
        double want = want_all[i], err = fabs(got[i] - want);
        if (want < FLT_MIN) {
            a = fmax(a, err);
            continue;
        }
        w = fmax(w, err / ((double)nextafterf((float)want, INFINITY) - (float)want));
    }
    print_message("softmax: %.2f ulp (abs %.3g on denormals)\n", w, a);
    assert_true(w <= 4.0 && a <= 3e-45);
    sf_tensors_free(out), sf_tensors_free(in);
    free(want_all), free(row), free(x);
}

/* sin and cos over every exponent (the inputs above, and sweeps around
 * multiples of pi/2 up to 1e5 of them, where the reduction must keep the
 * digits that cancel) in ulps against libm's double sin and cos */
static double f_sin(double x) { return sin(x); }
static double f_cos(double x) { return cos(x); }
static void test_sincos(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    float *x = inputs();
    for (size_t i = N / 2; i < N; i += 7)
        x[i] = (float)((double)((int)(next32() % 200001) - 100000) * 1.5707963267948966) * (1 + (float)(i % 3) * 0x1p-23f);
    sf_tensor_set *in = sf_tensors_new();
    sf_tensors_add(in, "x", 1, (const int64_t[]){N}, x, NULL);
    sf_tensor_set *out =
        run("func @f(%x: f32[B]) {\n  %0 = sin %x : f32[B]\n  %1 = cos %x : f32[B]\n  return %0, %1\n}\n", in);
    double a, us = worst(sf_tensors_get(out, "output.0")->data, x, f_sin, FLT_MIN, &a);
    print_message("sin: %.2f ulp at %.9g (abs %.3g)\n", us, worst_ulp_x, a);
    assert_true(us <= 1.0 && a <= 3e-45);
    double uc = worst(sf_tensors_get(out, "output.1")->data, x, f_cos, FLT_MIN, &a);
    print_message("cos: %.2f ulp at %.9g (abs %.3g)\n", uc, worst_ulp_x, a);
    assert_true(uc <= 1.0 && a <= 3e-45);
    sf_tensors_free(out), sf_tensors_free(in);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_more_elementwise),
        cmocka_unit_test(test_sincos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
