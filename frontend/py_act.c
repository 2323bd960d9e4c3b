/* Activations with parameters: the torch.nn modules and the functions
 * (F.X, torch.X, Tensor.X) that map to one unary op with float
 * attributes. One table of PyTorch's argument names and defaults, one
 * rule per kind from those arguments to the op's attributes (ops.def's
 * order), shared by a module's constructor and a function call. */
#include <math.h>
#include <string.h>

#include "frontend/py_torch.h"

typedef enum act_kind { K_LEAKY, K_ELU, K_SELU, K_CELU, K_HARDTANH, K_RELU6, K_CLAMP, K_CLAMP_MIN, K_CLAMP_MAX } act_kind;

enum { MAX_PARAMS = 2 };

/* PyTorch's arguments after the input: names, defaults (NAN: None) */
typedef struct act_args {
    sf_opcode op;
    int n;
    const char *name[MAX_PARAMS];
    double dflt[MAX_PARAMS];
    bool required;  /* the first argument has no default (clamp_min, clamp_max) */
    bool inplace;   /* takes inplace= (the activations; not clamp) */
} act_args;

static const act_args kinds[] = {
    [K_LEAKY] = {SF_OP_LEAKY_RELU, 1, {"negative_slope"}, {0.01}, false, true},
    [K_ELU] = {SF_OP_ELU, 1, {"alpha"}, {1.0}, false, true},
    [K_SELU] = {SF_OP_ELU, 0, {NULL}, {0}, false, true},
    [K_CELU] = {SF_OP_ELU, 1, {"alpha"}, {1.0}, false, true},
    [K_HARDTANH] = {SF_OP_CLAMP, 2, {"min_val", "max_val"}, {-1.0, 1.0}, false, true},
    [K_RELU6] = {SF_OP_CLAMP, 0, {NULL}, {0}, false, true},
    [K_CLAMP] = {SF_OP_CLAMP, 2, {"min", "max"}, {NAN, NAN}, false, false},
    [K_CLAMP_MIN] = {SF_OP_CLAMP, 1, {"min"}, {NAN}, true, false},
    [K_CLAMP_MAX] = {SF_OP_CLAMP, 1, {"max"}, {NAN}, true, false},
};

/* SELU's constants, as torch.nn.functional.selu documents them */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

/* the arguments p (NAN: None) as the op's attributes, or an error */
static bool to_attrs(py_interp *I, const py_expr *at, const char *fname, act_kind k, const double *p, double *out)
{
    switch (k) {
    case K_LEAKY: out[0] = p[0]; return true;
    case K_ELU: out[0] = p[0], out[1] = 1, out[2] = 1; return true;
    case K_SELU: out[0] = SELU_ALPHA, out[1] = SELU_SCALE, out[2] = 1; return true;
    case K_CELU:
        if (p[0] == 0)
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s: alpha must not be 0 (CELU divides by it)", fname) != NULL;
        out[0] = p[0], out[1] = 1, out[2] = 1 / p[0];
        return true;
    case K_HARDTANH:
        if (p[1] < p[0])
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s: max_val (%g) is less than min_val (%g)", fname, p[1],
                            p[0]) != NULL;
        out[0] = p[0], out[1] = p[1];
        return true;
    case K_RELU6: out[0] = 0, out[1] = 6; return true;
    case K_CLAMP:
        if (isnan(p[0]) && isnan(p[1]))
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s: at least one of 'min' or 'max' must not be None", fname) !=
                   NULL;
        out[0] = isnan(p[0]) ? -INFINITY : p[0], out[1] = isnan(p[1]) ? INFINITY : p[1];
        return true;
    case K_CLAMP_MIN: out[0] = p[0], out[1] = INFINITY; return true;
    case K_CLAMP_MAX: out[0] = -INFINITY, out[1] = p[0]; return true;
    }
    return false;
}

/* a[0..n) bound to kind k's arguments -> attrs; *inplace from a[n] */
static bool read_args(py_interp *I, const py_expr *at, const char *fname, act_kind k, pv **a, double *attrs,
                      bool *inplace)
{
    const act_args *s = &kinds[k];
    double p[MAX_PARAMS];
    for (int i = 0; i < s->n; i++) {
        p[i] = s->dflt[i];
        if (!a[i] || a[i]->k == PV_NONE)
            continue;
        if (!pv_is_number(a[i]))
            return py_error(I, at, SF_ERR_UNSUPPORTED, "%s: %s must be a number (a tensor bound is not supported), got %s",
                            fname, s->name[i], pv_describe(I, a[i])) != NULL;
        p[i] = pv_as_double(a[i]);
        if (isnan(p[i]))
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s: %s is NaN", fname, s->name[i]) != NULL;
    }
    if (s->required && isnan(p[0]))
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s: %s must not be None", fname, s->name[0]) != NULL;
    *inplace = false;
    if (s->inplace && a[s->n] && !pv_truth(I, at, a[s->n], inplace))
        return false;
    return to_attrs(I, at, fname, k, p, attrs);
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

/* ---- modules ---- */

/* the modules' classes (py_class.nn PY_NN_ACTIVATION) and their kinds */
static py_class classes[] = {
    {"LeakyReLU", PY_NN_ACTIVATION, NULL, 0, NULL, true, NULL, NULL},
    {"ELU", PY_NN_ACTIVATION, NULL, 0, NULL, true, NULL, NULL},
    {"SELU", PY_NN_ACTIVATION, NULL, 0, NULL, true, NULL, NULL},
    {"CELU", PY_NN_ACTIVATION, NULL, 0, NULL, true, NULL, NULL},
    {"Hardtanh", PY_NN_ACTIVATION, NULL, 0, NULL, true, NULL, NULL},
    {"ReLU6", PY_NN_ACTIVATION, NULL, 0, NULL, true, NULL, NULL},
};
static const act_kind class_kind[] = {K_LEAKY, K_ELU, K_SELU, K_CELU, K_HARDTANH, K_RELU6};
_Static_assert(sizeof classes / sizeof classes[0] == sizeof class_kind / sizeof class_kind[0], "a kind per class");

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
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s is not an activation module", cls) != NULL;
    act_kind k = class_kind[i];
    const char *names[MAX_PARAMS + 3];
    pv *a[MAX_PARAMS + 3];
    bool inplace;
    names_of(k, false, names);
    c->op = kinds[k].op;
    return py_bind(I, at, cls, names, 0, argc, argv, kwc, kwn, kwv, a) && read_args(I, at, cls, k, a, c->attrs, &inplace);
}

/* ---- functions ---- */

/* one builtin per function (a builtin's function gets no pointer to its
 * row, so each has its own); fns[i] says what builtins[i] does */
typedef struct act_fn {
    int where; /* 1 torch.X, 2 Tensor.X, 4 F.X (py_tensor_fn's) */
    act_kind k;
    bool inplace; /* the X_ form */
} act_fn;

enum { T = 1, M = 2, F = 4 };
static const act_fn fns[] = {
    {F, K_LEAKY, false},     {F, K_LEAKY, true},    {F, K_ELU, false},      {F, K_ELU, true},
    {T | F, K_SELU, false},  {T | F, K_SELU, true}, {T | F, K_CELU, false}, {T | F, K_CELU, true},
    {F, K_HARDTANH, false},  {F, K_HARDTANH, true}, {F, K_RELU6, false},    {T | M, K_CLAMP, false},
    {T | M, K_CLAMP, true},  {T | M, K_CLAMP, false}, {T | M, K_CLAMP, true}, {T | M, K_CLAMP_MIN, false},
    {T | M, K_CLAMP_MAX, false},
};
enum { NFNS = sizeof fns / sizeof fns[0] };
static const py_builtin builtins[NFNS];

static pv *call(py_interp *I, const py_expr *at, int i, pv *self, int argc, pv **argv, int kwc, const char **kwn,
                pv **kwv)
{
    const act_fn *f = &fns[i];
    const char *fname = builtins[i].name;
    argv = py_with_self(I, self, &argc, argv); /* x.clamp(...): self is the input */
    if (self && !argv)
        return py_error(I, at, SF_ERR_NOMEM, "out of memory");
    const char *names[MAX_PARAMS + 3];
    pv *a[MAX_PARAMS + 3];
    double attrs[3];
    bool inplace;
    names_of(f->k, true, names);
    if (!py_bind(I, at, fname, names, kinds[f->k].required ? 2 : 1, argc, argv, kwc, kwn, kwv, a) ||
        !read_args(I, at, fname, f->k, a + 1, attrs, &inplace))
        return NULL;
    sf_value *x = py_tv(I, at, a[0], fname), *r = x ? py_act_emit(I, at, kinds[f->k].op, attrs, x) : NULL;
    if (!r)
        return NULL;
    return f->inplace || inplace ? py_tensor_inplace(I, at, a[0], r) : pv_tensor(I, r);
}

#define FN(i)                                                                                                     \
    static pv *fn##i(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn, \
                     pv **kwv)                                                                                    \
    {                                                                                                             \
        return call(I, at, i, self, argc, argv, kwc, kwn, kwv);                                                   \
    }
FN(0) FN(1) FN(2) FN(3) FN(4) FN(5) FN(6) FN(7) FN(8) FN(9) FN(10) FN(11) FN(12) FN(13) FN(14) FN(15) FN(16)
#undef FN

static const py_builtin builtins[NFNS] = {
    {"leaky_relu", fn0}, {"leaky_relu_", fn1}, {"elu", fn2},        {"elu_", fn3},      {"selu", fn4},
    {"selu_", fn5},      {"celu", fn6},        {"celu_", fn7},      {"hardtanh", fn8},  {"hardtanh_", fn9},
    {"relu6", fn10},     {"clamp", fn11},      {"clamp_", fn12},    {"clip", fn13},     {"clip_", fn14},
    {"clamp_min", fn15}, {"clamp_max", fn16},
};

pv *py_act_fn(py_interp *I, int where, const char *name, pv *self)
{
    for (int i = 0; i < NFNS; i++)
        if ((fns[i].where & where) && strcmp(builtins[i].name, name) == 0)
            return pv_builtin(I, &builtins[i], self);
    return NULL;
}
