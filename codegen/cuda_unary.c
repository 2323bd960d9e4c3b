/* Each unary op's CUDA device function as one row: the name the kernels
 * call and its definition (NULL: a CUDA math function). The table is
 * built from ops.def by class, so a unary op without a row here fails to
 * compile (tests/new_op.sh).
 *
 * The definitions follow PyTorch's formulas where their NaN and infinity
 * results matter (softsign(inf) = NaN, hardswish(-inf) = NaN); comparisons
 * and selects instead of fminf/fmaxf, which would turn NaN into a bound.
 * GELU's tanh form is written as x sigmoid(2z), the same function
 * without 1 + tanh's cancellation for negative x. */
#include "codegen/cuda_unary.h"

typedef struct dev_fn {
    const char *name, *def;
} dev_fn;

#define D(name, params, body) {name, "__device__ __forceinline__ float " name "(" params ")\n{ " body " }\n"}
#define X1 "float x"

#define DEV_RELU D("sheaf_relu", X1, "return x > 0.0f ? x : 0.0f;")
#define DEV_GELU D("sheaf_gelu", X1, "return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));")
#define DEV_TANH {"tanhf", NULL}
#define DEV_SIGMOID D("sheaf_sigmoid", X1, "return 1.0f / (1.0f + expf(-x));")
#define DEV_SILU D("sheaf_silu", X1, "return x / (1.0f + expf(-x));")
#define DEV_LEAKY_RELU D("sheaf_leaky_relu", X1 ", float a", "return x > 0.0f ? x : x * a;")
#define DEV_ELU D("sheaf_elu", X1 ", float a, float s, float is", "return x > 0.0f ? x * s : expm1f(x * is) * (a * s);")
#define DEV_CLAMP D("sheaf_clamp", X1 ", float lo, float hi", "float r = x < lo ? lo : x; return r > hi ? hi : r;")
#define DEV_ABS {"fabsf", NULL}
#define DEV_NEG D("sheaf_neg", X1, "return -x;")
#define DEV_SIGN D("sheaf_sign", X1, "return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f;")
#define DEV_FLOOR {"floorf", NULL}
#define DEV_ROUND {"rintf", NULL} /* halves to even */
#define DEV_SQRT {"sqrtf", NULL}
#define DEV_RSQRT D("sheaf_rsqrt", X1, "return 1.0f / sqrtf(x);")
#define DEV_RECIPROCAL D("sheaf_reciprocal", X1, "return 1.0f / x;")
#define DEV_EXP {"expf", NULL}
#define DEV_LOG {"logf", NULL}
#define DEV_LOG1P {"log1pf", NULL}
#define DEV_SIN {"sinf", NULL}
#define DEV_COS {"cosf", NULL}
#define DEV_SOFTSIGN D("sheaf_softsign", X1, "return x / (1.0f + fabsf(x));")
#define DEV_TANHSHRINK D("sheaf_tanhshrink", X1, "return x - tanhf(x);")
#define DEV_HARDSIGMOID \
    D("sheaf_hardsigmoid", X1, "float t = x + 3.0f; t = t < 0.0f ? 0.0f : t; return (t > 6.0f ? 6.0f : t) / 6.0f;")
#define DEV_HARDSWISH \
    D("sheaf_hardswish", X1, "float t = x + 3.0f; t = t < 0.0f ? 0.0f : t; return x * (t > 6.0f ? 6.0f : t) / 6.0f;")
#define DEV_SOFTPLUS                                                                                            \
    D("sheaf_softplus", X1 ", float b, float th",                                                               \
      "float y = x * b; return y > th ? x : ((y > 0.0f ? y : 0.0f) + log1pf(expf(-fabsf(y)))) / b;")
#define DEV_MISH \
    D("sheaf_mish", X1, "return x * tanhf(x > 20.0f ? x : (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x))));")
#define DEV_GELU_TANH \
    D("sheaf_gelu_tanh", X1, "return x / (1.0f + expf(-1.5957691216057308f * (x + 0.044715f * x * x * x)));")
#define DEV_SOFTSHRINK D("sheaf_softshrink", X1 ", float l", "return x > l ? x - l : x < -l ? x + l : x * 0.0f;")
#define DEV_HARDSHRINK D("sheaf_hardshrink", X1 ", float l", "return fabsf(x) <= l ? 0.0f : x;")
#define DEV_THRESHOLD D("sheaf_threshold", X1 ", float th, float v", "return x <= th ? v : x;")
#define DEV_LOGSIGMOID D("sheaf_logsigmoid", X1, "return (x < 0.0f ? x : 0.0f) - log1pf(expf(-fabsf(x)));")

/* by class: a unary op's row is DEV_<ID>, every other op has none */
#define DEV_CLS_UNARY(id) DEV_##id
#define DEV_CLS_SOURCE(id) {NULL, NULL}
#define DEV_CLS_CONSTANT(id) {NULL, NULL}
#define DEV_CLS_PRODUCT(id) {NULL, NULL}
#define DEV_CLS_NORM(id) {NULL, NULL}
#define DEV_CLS_BINARY(id) {NULL, NULL}
#define DEV_CLS_REDUCE(id) {NULL, NULL}
#define DEV_CLS_VIEW(id) {NULL, NULL}
#define DEV_CLS_MOVE(id) {NULL, NULL}
#define DEV_CLS_SELECT(id) {NULL, NULL}

static const dev_fn fns[SF_OP_COUNT] = {
#define OP(id, text, min_in, max_in, nres, cls, ...) [SF_OP_##id] = DEV_CLS_##cls(id),
#include "ir/ops.def"
};

const char *sf_cuda_unary_fn(sf_opcode op) { return fns[op].name; }

void sf_cuda_put_unary_defs(FILE *f)
{
    for (int op = 0; op < SF_OP_COUNT; op++)
        if (fns[op].def)
            fputs(fns[op].def, f);
}
