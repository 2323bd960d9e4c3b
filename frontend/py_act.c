/* The activations and elementwise maps: the torch.nn modules and the
 * functions (F.X, torch.X, Tensor.X) that map to one unary op. One table
 * of argument kinds (PyTorch's names and defaults, one rule from them to
 * the op's attributes in ops.def's order), one row per module and one per
 * function naming its kind and its op. */
#include <math.h>
#include <string.h>

#include "frontend/py_torch.h"

typedef enum act_kind {
    K_PLAIN,   /* no arguments: torch.exp(x), nn.Tanh() */
    K_INPLACE, /* only inplace=: F.relu(x, inplace=False), nn.Mish(inplace=False) */
    K_GELU, K_ROUND, K_LEAKY, K_ELU, K_SELU, K_CELU, K_HARDTANH, K_RELU6, K_CLAMP, K_CLAMP_MIN, K_CLAMP_MAX,
    K_SOFTPLUS, K_SOFTSHRINK, K_HARDSHRINK, K_THRESHOLD,
    K_RRELU,    /* nn.RReLU(lower, upper): eval mode, the mean slope */
    K_RRELU_FN, /* F.rrelu(x, lower, upper, training) */
} act_kind;

enum { MAX_PARAMS = 3 };

/* PyTorch's arguments after the input: names, defaults (NAN: None) */
typedef struct act_args {
    int n;
    const char *name[MAX_PARAMS];
    double dflt[MAX_PARAMS];
    int nreq;     /* the first nreq have no default (clamp_min, threshold) */
    bool inplace; /* takes inplace= */
    bool text;    /* the one argument is a string (GELU's approximate) */
} act_args;

static const act_args kinds[] = {
    [K_PLAIN] = {0, {NULL}, {0}, 0, false, false},
    [K_INPLACE] = {0, {NULL}, {0}, 0, true, false},
    [K_GELU] = {1, {"approximate"}, {0}, 0, false, true},
    [K_ROUND] = {1, {"decimals"}, {0}, 0, false, false},
    [K_LEAKY] = {1, {"negative_slope"}, {0.01}, 0, true, false},
    [K_ELU] = {1, {"alpha"}, {1.0}, 0, true, false},
    [K_SELU] = {0, {NULL}, {0}, 0, true, false},
    [K_CELU] = {1, {"alpha"}, {1.0}, 0, true, false},
    [K_HARDTANH] = {2, {"min_val", "max_val"}, {-1.0, 1.0}, 0, true, false},
    [K_RELU6] = {0, {NULL}, {0}, 0, true, false},
    [K_CLAMP] = {2, {"min", "max"}, {NAN, NAN}, 0, false, false},
    [K_CLAMP_MIN] = {1, {"min"}, {NAN}, 1, false, false},
    [K_CLAMP_MAX] = {1, {"max"}, {NAN}, 1, false, false},
    [K_SOFTPLUS] = {2, {"beta", "threshold"}, {1.0, 20.0}, 0, false, false},
    [K_SOFTSHRINK] = {1, {"lambd"}, {0.5}, 0, false, false},
    [K_HARDSHRINK] = {1, {"lambd"}, {0.5}, 0, false, false},
    [K_THRESHOLD] = {2, {"threshold", "value"}, {NAN, NAN}, 2, true, false},
    [K_RRELU] = {2, {"lower", "upper"}, {1.0 / 8, 1.0 / 3}, 0, true, false},
    [K_RRELU_FN] = {3, {"lower", "upper", "training"}, {1.0 / 8, 1.0 / 3, 0}, 0, true, false},
};

/* SELU's constants, as torch.nn.functional.selu documents them */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

#define FAIL(code, ...) (py_error(I, at, code, __VA_ARGS__) != NULL)

/* the arguments p (NAN: None) as the op's attributes, or an error; *op
 * is the row's op, which GELU's approximate= may change */
static bool to_attrs(py_interp *I, const py_expr *at, const char *fname, act_kind k, const double *p, sf_opcode *op,
                     double *out)
{
    switch (k) {
    case K_PLAIN: case K_INPLACE: return true;
    case K_GELU: *op = p[0] ? SF_OP_GELU_TANH : SF_OP_GELU; return true;
    case K_ROUND:
        return p[0] == 0 || FAIL(SF_ERR_UNSUPPORTED, "%s: decimals=%g is not supported; decimals=0 is", fname, p[0]);
    case K_LEAKY: case K_HARDSHRINK: out[0] = p[0]; return true;
    case K_ELU: out[0] = p[0], out[1] = 1, out[2] = 1; return true;
    case K_SELU: out[0] = SELU_ALPHA, out[1] = SELU_SCALE, out[2] = 1; return true;
    case K_CELU:
        if (p[0] == 0)
            return FAIL(SF_ERR_INVALID_ARG, "%s: alpha must not be 0 (CELU divides by it)", fname);
        out[0] = p[0], out[1] = 1, out[2] = 1 / p[0];
        return true;
    case K_HARDTANH:
        if (p[1] < p[0])
            return FAIL(SF_ERR_INVALID_ARG, "%s: max_val (%g) is less than min_val (%g)", fname, p[1], p[0]);
        out[0] = p[0], out[1] = p[1];
        return true;
    case K_RELU6: out[0] = 0, out[1] = 6; return true;
    case K_CLAMP:
        if (isnan(p[0]) && isnan(p[1]))
            return FAIL(SF_ERR_INVALID_ARG, "%s: at least one of 'min' or 'max' must not be None", fname);
        out[0] = isnan(p[0]) ? -INFINITY : p[0], out[1] = isnan(p[1]) ? INFINITY : p[1];
        return true;
    case K_CLAMP_MIN: out[0] = p[0], out[1] = INFINITY; return true;
    case K_CLAMP_MAX: out[0] = -INFINITY, out[1] = p[0]; return true;
    case K_SOFTPLUS:
        if (p[0] == 0)
            return FAIL(SF_ERR_INVALID_ARG, "%s: beta must not be 0 (softplus divides by it)", fname);
        out[0] = p[0], out[1] = p[1];
        return true;
    case K_SOFTSHRINK:
        if (p[0] < 0)
            return FAIL(SF_ERR_INVALID_ARG, "%s: lambd must be at least 0, got %g (as PyTorch requires)", fname, p[0]);
        out[0] = p[0];
        return true;
    case K_THRESHOLD: out[0] = p[0], out[1] = p[1]; return true;
    case K_RRELU_FN:
        if (p[2] != 0)
            return FAIL(SF_ERR_UNSUPPORTED, "%s: training=True draws random slopes; sheaf compiles inference "
                                            "(pass training=self.training)", fname);
        /* fall through */
    case K_RRELU:
        if (p[1] < p[0])
            return FAIL(SF_ERR_INVALID_ARG, "%s: upper (%g) is less than lower (%g)", fname, p[1], p[0]);
        out[0] = (p[0] + p[1]) / 2; /* eval mode: x >= 0 ? x : x (lower + upper) / 2 */
        return true;
    }
    return false;
}

/* a string argument: GELU's approximate, 'none' (0) or 'tanh' (1) */
static bool read_text(py_interp *I, const py_expr *at, const char *fname, pv *v, double *p)
{
    if (v->k == PV_STR && strcmp(v->u.s.s, "none") == 0)
        return *p = 0, true;
    if (v->k == PV_STR && strcmp(v->u.s.s, "tanh") == 0)
        return *p = 1, true;
    return FAIL(SF_ERR_INVALID_ARG, "%s: approximate must be 'none' or 'tanh', got %s", fname, pv_describe(I, v));
}

/* a[0..n) bound to kind k's arguments -> op and attrs; *inplace from a[n] */
static bool read_args(py_interp *I, const py_expr *at, const char *fname, act_kind k, pv **a, sf_opcode *op,
                      double *attrs, bool *inplace)
{
    const act_args *s = &kinds[k];
    double p[MAX_PARAMS];
    for (int i = 0; i < s->n; i++) {
        p[i] = s->dflt[i];
        if (!a[i] || a[i]->k == PV_NONE)
            continue;
        if (s->text) {
            if (!read_text(I, at, fname, a[i], &p[i]))
                return false;
            continue;
        }
        if (!pv_is_number(a[i]))
            return FAIL(SF_ERR_UNSUPPORTED, "%s: %s must be a number (a tensor bound is not supported), got %s", fname,
                        s->name[i], pv_describe(I, a[i]));
        p[i] = pv_as_double(a[i]);
        if (isnan(p[i]))
            return FAIL(SF_ERR_INVALID_ARG, "%s: %s is NaN", fname, s->name[i]);
    }
    for (int i = 0; i < s->nreq; i++)
        if (isnan(p[i]))
            return FAIL(SF_ERR_INVALID_ARG, "%s: %s must not be None", fname, s->name[i]);
    *inplace = false;
    if (s->inplace && a[s->n] && !pv_truth(I, at, a[s->n], inplace))
        return false;
    return to_attrs(I, at, fname, k, p, op, attrs);
}

/* the names py_bind takes: [input,] the arguments, [inplace,] NULL */
static void names_of(act_kind k, bool input, const char **names)
{
    int n = 0;
    if (input)
        names[n++] = "input";
    for (int i = 0; i < kinds[k].n; i++)
        names[n++] = kinds[k].name[i];
    if (kinds[k].inplace)
        names[n++] = "inplace";
    names[n] = NULL;
}

sf_value *py_act_emit(py_interp *I, const py_expr *at, sf_opcode op, const double *attrs, sf_value *x)
{
    sf_node *n = py_begin(I, at, op, 1, &x);
    for (int k = 0; n && k < sf_ops[op].nattrs; k++)
        sf_node_set_float(n, sf_ops[op].attrs[k]->id, attrs[k]);
    return py_emit(I, at, n);
}

/* op on the tensor x; in place (x now names the result) or a new tensor */
static pv *apply(py_interp *I, const py_expr *at, const char *what, sf_opcode op, const double *attrs, bool inplace,
                 pv *x)
{
    sf_value *v = py_tv(I, at, x, what), *r = v ? py_act_emit(I, at, op, attrs, v) : NULL;
    if (!r)
        return NULL;
    return inplace ? py_tensor_inplace(I, at, x, r) : pv_tensor(I, r);
}

/* ---- modules ---- */

/* class name, kind, op */
#define ACT_MODULES(X)                                                                                             \
    X(ReLU, K_INPLACE, RELU) X(Tanh, K_PLAIN, TANH) X(Sigmoid, K_PLAIN, SIGMOID) X(SiLU, K_INPLACE, SILU)           \
    X(GELU, K_GELU, GELU) X(LeakyReLU, K_LEAKY, LEAKY_RELU) X(ELU, K_ELU, ELU) X(SELU, K_SELU, ELU)                 \
    X(CELU, K_CELU, ELU) X(Hardtanh, K_HARDTANH, CLAMP) X(ReLU6, K_RELU6, CLAMP) X(Softplus, K_SOFTPLUS, SOFTPLUS) \
    X(Softshrink, K_SOFTSHRINK, SOFTSHRINK) X(Hardshrink, K_HARDSHRINK, HARDSHRINK)                                \
    X(Threshold, K_THRESHOLD, THRESHOLD) X(Hardsigmoid, K_INPLACE, HARDSIGMOID) X(Hardswish, K_INPLACE, HARDSWISH) \
    X(Mish, K_INPLACE, MISH) X(Softsign, K_PLAIN, SOFTSIGN) X(Tanhshrink, K_PLAIN, TANHSHRINK)                    \
    X(LogSigmoid, K_PLAIN, LOGSIGMOID) X(RReLU, K_RRELU, LEAKY_RELU)

/* the modules' classes (py_class.nn PY_NN_ACTIVATION), their kinds and ops */
#define CLASS_ROW(name, k, op) {#name, PY_NN_ACTIVATION, NULL, 0, NULL, true, NULL, NULL},
static py_class classes[] = {ACT_MODULES(CLASS_ROW)};
#define MODULE_ROW(name, k, op) {k, SF_OP_##op},
static const struct {
    act_kind k;
    sf_opcode op;
} modules[] = {ACT_MODULES(MODULE_ROW)};

static int module_index(const char *cls)
{
    for (int i = 0; i < (int)(sizeof classes / sizeof classes[0]); i++)
        if (strcmp(classes[i].name, cls) == 0)
            return i;
    return -1;
}

py_class *py_act_class(const char *name)
{
    int i = module_index(name);
    return i < 0 ? NULL : &classes[i];
}

bool py_act_module_init(py_interp *I, const py_expr *at, const char *cls, int argc, pv **argv, int kwc,
                        const char **kwn, pv **kwv, py_act_cfg *c)
{
    int i = module_index(cls);
    if (i < 0)
        return FAIL(SF_ERR_UNSUPPORTED, "%s is not an activation module", cls);
    act_kind k = modules[i].k;
    const char *names[MAX_PARAMS + 3];
    pv *a[MAX_PARAMS + 3];
    names_of(k, false, names);
    c->op = modules[i].op;
    return py_bind(I, at, cls, names, kinds[k].nreq, argc, argv, kwc, kwn, kwv, a) &&
           read_args(I, at, cls, k, a, &c->op, c->attrs, &c->inplace);
}

pv *py_act_forward(py_interp *I, const py_expr *at, const py_act_cfg *c, const char *cls, pv *x)
{
    return apply(I, at, cls, c->op, c->attrs, c->inplace, x);
}

/* ---- functions ---- */

typedef struct act_fn {
    int where; /* 1 torch.X, 2 Tensor.X, 4 F.X (py_tensor_fn's) */
    const char *name;
    act_kind k;
    sf_opcode op;
    bool inplace; /* the X_ form */
} act_fn;

enum { T = 1, M = 2, F = 4 };

/* where, C name, Python name, kind, op, the X_ form */
#define ACT_FNS(X)                                                                                                \
    X(T | M | F, relu, "relu", K_INPLACE, RELU, false) X(T | M | F, relu_, "relu_", K_INPLACE, RELU, true)         \
    X(T | M | F, sigmoid, "sigmoid", K_PLAIN, SIGMOID, false) X(T | M, sigmoid_, "sigmoid_", K_PLAIN, SIGMOID, true) \
    X(T | M | F, tanh, "tanh", K_PLAIN, TANH, false) X(T | M, tanh_, "tanh_", K_PLAIN, TANH, true)                \
    X(F, silu, "silu", K_INPLACE, SILU, false) X(F, gelu, "gelu", K_GELU, GELU, false)                            \
    X(F, leaky_relu, "leaky_relu", K_LEAKY, LEAKY_RELU, false)                                                    \
    X(F, leaky_relu_, "leaky_relu_", K_LEAKY, LEAKY_RELU, true) X(F, elu, "elu", K_ELU, ELU, false)               \
    X(F, elu_, "elu_", K_ELU, ELU, true) X(T | F, selu, "selu", K_SELU, ELU, false)                               \
    X(T | F, selu_, "selu_", K_SELU, ELU, true) X(T | F, celu, "celu", K_CELU, ELU, false)                        \
    X(T | F, celu_, "celu_", K_CELU, ELU, true) X(F, hardtanh, "hardtanh", K_HARDTANH, CLAMP, false)              \
    X(F, hardtanh_, "hardtanh_", K_HARDTANH, CLAMP, true) X(F, relu6, "relu6", K_RELU6, CLAMP, false)             \
    X(T | M, clamp, "clamp", K_CLAMP, CLAMP, false) X(T | M, clamp_, "clamp_", K_CLAMP, CLAMP, true)              \
    X(T | M, clip, "clip", K_CLAMP, CLAMP, false) X(T | M, clip_, "clip_", K_CLAMP, CLAMP, true)                  \
    X(T | M, clamp_min, "clamp_min", K_CLAMP_MIN, CLAMP, false)                                                   \
    X(T | M, clamp_max, "clamp_max", K_CLAMP_MAX, CLAMP, false)                                                   \
    X(F, softplus, "softplus", K_SOFTPLUS, SOFTPLUS, false)                                                       \
    X(F, softshrink, "softshrink", K_SOFTSHRINK, SOFTSHRINK, false)                                               \
    X(T | M | F, hardshrink, "hardshrink", K_HARDSHRINK, HARDSHRINK, false)                                       \
    X(T | F, threshold, "threshold", K_THRESHOLD, THRESHOLD, false)                                               \
    X(T | F, threshold_, "threshold_", K_THRESHOLD, THRESHOLD, true)                                              \
    X(F, hardsigmoid, "hardsigmoid", K_INPLACE, HARDSIGMOID, false)                                               \
    X(F, hardswish, "hardswish", K_INPLACE, HARDSWISH, false) X(F, mish, "mish", K_INPLACE, MISH, false)          \
    X(F, softsign, "softsign", K_PLAIN, SOFTSIGN, false) X(F, tanhshrink, "tanhshrink", K_PLAIN, TANHSHRINK, false) \
    X(T | M, abs, "abs", K_PLAIN, ABS, false) X(T | M, abs_, "abs_", K_PLAIN, ABS, true)                          \
    X(T | M, absolute, "absolute", K_PLAIN, ABS, false) X(T | M, neg, "neg", K_PLAIN, NEG, false)                 \
    X(T | M, neg_, "neg_", K_PLAIN, NEG, true) X(T | M, negative, "negative", K_PLAIN, NEG, false)                \
    X(T | M, exp, "exp", K_PLAIN, EXP, false) X(T | M, exp_, "exp_", K_PLAIN, EXP, true)                          \
    X(T | M, log, "log", K_PLAIN, LOG, false) X(T | M, log_, "log_", K_PLAIN, LOG, true)                          \
    X(T | M, log1p, "log1p", K_PLAIN, LOG1P, false) X(T | M, log1p_, "log1p_", K_PLAIN, LOG1P, true)              \
    X(T | M, sin, "sin", K_PLAIN, SIN, false) X(T | M, sin_, "sin_", K_PLAIN, SIN, true)                          \
    X(T | M, cos, "cos", K_PLAIN, COS, false) X(T | M, cos_, "cos_", K_PLAIN, COS, true)                          \
    X(T | M, sqrt, "sqrt", K_PLAIN, SQRT, false) X(T | M, sqrt_, "sqrt_", K_PLAIN, SQRT, true)                    \
    X(T | M, rsqrt, "rsqrt", K_PLAIN, RSQRT, false) X(T | M, rsqrt_, "rsqrt_", K_PLAIN, RSQRT, true)              \
    X(T | M, reciprocal, "reciprocal", K_PLAIN, RECIPROCAL, false)                                                \
    X(T | M, reciprocal_, "reciprocal_", K_PLAIN, RECIPROCAL, true) X(T | M, sign, "sign", K_PLAIN, SIGN, false)  \
    X(T | M, sign_, "sign_", K_PLAIN, SIGN, true) X(T | M, floor, "floor", K_PLAIN, FLOOR, false)                 \
    X(T | M, floor_, "floor_", K_PLAIN, FLOOR, true) X(T | M, round, "round", K_ROUND, ROUND, false)              \
    X(T | M, round_, "round_", K_ROUND, ROUND, true) X(F, logsigmoid, "logsigmoid", K_PLAIN, LOGSIGMOID, false)    \
    X(T | F, rrelu, "rrelu", K_RRELU_FN, LEAKY_RELU, false) X(T | F, rrelu_, "rrelu_", K_RRELU_FN, LEAKY_RELU, true)

static pv *call(py_interp *I, const py_expr *at, const act_fn *f, pv *self, int argc, pv **argv, int kwc,
                const char **kwn, pv **kwv)
{
    argv = py_with_self(I, self, &argc, argv); /* x.clamp(...): self is the input */
    if (self && !argv)
        return py_error(I, at, SF_ERR_NOMEM, "out of memory");
    const char *names[MAX_PARAMS + 3];
    pv *a[MAX_PARAMS + 3];
    double attrs[3] = {0};
    sf_opcode op = f->op;
    bool inplace;
    names_of(f->k, true, names);
    if (!py_bind(I, at, f->name, names, 1 + kinds[f->k].nreq, argc, argv, kwc, kwn, kwv, a) ||
        !read_args(I, at, f->name, f->k, a + 1, &op, attrs, &inplace))
        return NULL;
    return apply(I, at, f->name, op, attrs, f->inplace || inplace, a[0]);
}

/* one builtin per function: a builtin gets no pointer to its row */
#define FN_DEF(w, id, pyname, k, op, ip)                                                                          \
    static const act_fn row_##id = {w, pyname, k, SF_OP_##op, ip};                                                \
    static pv *fn_##id(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn, \
                       pv **kwv)                                                                                  \
    {                                                                                                             \
        return call(I, at, &row_##id, self, argc, argv, kwc, kwn, kwv);                                           \
    }
ACT_FNS(FN_DEF)
#define FN_BUILTIN(w, id, pyname, k, op, ip) {pyname, fn_##id},
static const py_builtin builtins[] = {ACT_FNS(FN_BUILTIN)};
#define FN_ROW(w, id, pyname, k, op, ip) &row_##id,
static const act_fn *const rows[] = {ACT_FNS(FN_ROW)};

pv *py_act_fn(py_interp *I, int where, const char *name, pv *self)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if ((rows[i]->where & where) && strcmp(rows[i]->name, name) == 0)
            return pv_builtin(I, &builtins[i], self);
    return NULL;
}
