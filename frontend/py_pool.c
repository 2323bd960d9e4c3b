/* Pooling, built from strided slices (no op of its own): max and average
 * pooling (1-D and 2-D; stride, padding, dilation, ceil_mode,
 * count_include_pad, divisor_override), adaptive average and max pooling
 * (any output size), as modules (py_class.nn PY_NN_POOL) and functions.
 *
 * A window over several dims is the window over each in turn (max and
 * sum are associative), so a k x k pool is 2k slices, not k^2. Windows
 * read the input padded with -inf (max) or 0 (average); the average
 * divides by PyTorch's count for each window, which differs only at the
 * edges. */
#include <math.h>
#include <string.h>

#include "frontend/py_torch.h"

enum { MAX_WINDOW = 4096 };

#define FAIL(code, ...) py_error(I, at, code, __VA_ARGS__)

/* x padded along d alone, with fill (as F.pad's constant mode) */
static sf_value *pad_along(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t before, int64_t after,
                           double fill)
{
    if (!before && !after)
        return x;
    int64_t pad[2 * SF_MAX_RANK] = {0};
    int i = x->type.rank - 1 - d;
    pad[2 * i] = before, pad[2 * i + 1] = after;
    return py_pad(I, at, x, pad, 2 * (i + 1), PY_PAD_CONSTANT, fill);
}

/* the windows along d: k taps dil apart, every s-th start, out of them; max or sum */
static sf_value *windows(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t k, int64_t s, int64_t dil,
                         int64_t out, bool max)
{
    if (k > MAX_WINDOW)
        return FAIL(SF_ERR_UNSUPPORTED, "pool: a window of %lld along one dim (%d at most)", (long long)k, MAX_WINDOW),
               NULL;
    sf_value *acc = NULL;
    for (int64_t i = 0; i < k; i++) {
        sf_value *tap = py_slice_dim(I, at, x, d, i * dil, i * dil + (out - 1) * s + 1, s);
        acc = !tap || !acc ? tap : py_op2(I, at, max ? SF_OP_MAXIMUM : SF_OP_ADD, acc, tap);
        if (!acc)
            return NULL;
    }
    return acc;
}

/* PyTorch's output size along one dim; false (with the reason) if none */
static bool out_size(py_interp *I, const py_expr *at, int64_t n, int64_t k, int64_t s, int64_t p, int64_t dil,
                     bool ceil_mode, int64_t *out)
{
    int64_t eff = dil * (k - 1) + 1, span = n + 2 * p - eff;
    if (p > eff / 2)
        return FAIL(SF_ERR_INVALID_ARG, "pool: padding %lld is more than half the window (%lld)", (long long)p,
                    (long long)eff) != NULL;
    if (span < 0)
        return FAIL(SF_ERR_SHAPE, "pool: the input's %lld elements are fewer than the window's %lld", (long long)n,
                    (long long)(eff - 2 * p)) != NULL;
    *out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (*out - 1) * s >= n + p) /* the last window must start inside the input or its left padding */
        (*out)--;
    return true;
}

/* the count PyTorch divides each window along d by, as a [out, 1...] tensor
 * (a constant: the passes fold it), or NULL with *uniform set when all are k */
static sf_value *counts(py_interp *I, const py_expr *at, const sf_value *x, int d, int64_t k, int64_t s, int64_t p,
                        int64_t out, bool include_pad, double *uniform)
{
    int64_t n = x->type.dim[d], padded = n + 2 * p, right = (out - 1) * s + k - padded;
    if ((include_pad || p == 0) && right <= 0) {
        *uniform = (double)k;
        return NULL;
    }
    *uniform = 0;
    int64_t dims[SF_MAX_RANK];
    int r = x->type.rank - d;
    for (int i = 0; i < r; i++)
        dims[i] = i == 0 ? n : 1;
    sf_value *ones = py_full(I, at, dims, r, 1.0, NULL, SF_F32);
    if (ones && include_pad)
        ones = pad_along(I, at, ones, 0, p, p, 1.0), p = 0;
    if (ones)
        ones = pad_along(I, at, ones, 0, p, p + (right > 0 ? right : 0), 0.0);
    return ones ? windows(I, at, ones, 0, k, s, 1, out, false) : NULL;
}

typedef struct window_cfg {
    int64_t k, s, p, dil;
} window_cfg;

/* max or average pooling along d */
static sf_value *pool_dim(py_interp *I, const py_expr *at, sf_value *x, int d, const window_cfg *w, bool max,
                          bool ceil_mode, bool include_pad, bool divide)
{
    int64_t out = 0;
    if (!out_size(I, at, x->type.dim[d], w->k, w->s, w->p, w->dil, ceil_mode, &out))
        return NULL;
    int64_t n = x->type.dim[d];
    if (w->p == 0 && w->dil == 1 && w->s == w->k && n % w->k == 0 && x->type.rank < SF_MAX_RANK) {
        /* windows that tile the dim (MaxPool2d(2), AdaptiveAvgPool(1)): [.., n/k, k, ..] reduced over the k */
        int64_t dims[SF_MAX_RANK], red[1] = {d + 1};
        memcpy(dims, x->type.dim, sizeof *dims * (size_t)d);
        dims[d] = n / w->k, dims[d + 1] = w->k;
        memcpy(dims + d + 2, x->type.dim + d + 1, sizeof *dims * (size_t)(x->type.rank - d - 1));
        sf_value *v = py_reshaped(I, at, x, dims, x->type.rank + 1);
        return py_reduce(I, at, max ? SF_OP_AMAX : divide ? SF_OP_MEAN : SF_OP_SUM, v, red, 1, false);
    }
    int64_t right = (out - 1) * w->s + w->dil * (w->k - 1) + 1 - (n + 2 * w->p);
    sf_value *in = pad_along(I, at, x, d, w->p, w->p + (right > 0 ? right : 0), max ? -INFINITY : 0.0);
    sf_value *y = in ? windows(I, at, in, d, w->k, w->s, w->dil, out, max) : NULL;
    if (!y || max || !divide)
        return y;
    double k = 0;
    sf_value *c = counts(I, at, x, d, w->k, w->s, w->p, out, include_pad, &k);
    return c ? py_op2(I, at, SF_OP_DIV, y, c) : k ? py_op2(I, at, SF_OP_DIV, y, py_scalar(I, at, k)) : NULL;
}

/* adaptive pooling along d to out: window i is [floor(i n / out), ceil((i + 1) n / out)) */
static sf_value *adaptive_dim(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t out, bool max)
{
    int64_t n = x->type.dim[d];
    if (out == n)
        return x;
    if (n % out == 0) {
        window_cfg w = {n / out, n / out, 0, 1};
        return pool_dim(I, at, x, d, &w, max, false, true, true);
    }
    if (out > MAX_WINDOW)
        return FAIL(SF_ERR_UNSUPPORTED, "adaptive pool: an output of %lld (%d at most)", (long long)out, MAX_WINDOW),
               NULL;
    sf_value **parts = sf_arena_alloc(I->arena, sizeof *parts * (size_t)out);
    if (!parts)
        return FAIL(SF_ERR_NOMEM, "out of memory"), NULL;
    int64_t dims[1] = {d};
    for (int64_t i = 0; i < out; i++) {
        int64_t a = i * n / out, b = ((i + 1) * n + out - 1) / out;
        parts[i] = py_reduce(I, at, max ? SF_OP_AMAX : SF_OP_MEAN, py_slice_dim(I, at, x, d, a, b, 1), dims, 1, true);
    }
    return py_concat(I, at, parts, (int)out, d);
}

/* ---- the configuration, from a module's or a function's arguments ---- */

enum { P_MAX, P_AVG, P_ADAPTIVE_MAX, P_ADAPTIVE_AVG };

/* the spatial dims of x are its last sp, after at least one other (so never the batch, dim 0) */
static bool spatial(py_interp *I, const py_expr *at, const sf_value *x, int sp, const char *what)
{
    char tb[160];
    if (x->type.rank >= sp + 1)
        return true;
    return FAIL(SF_ERR_SHAPE, "%s expects an input of rank %d or %d, got %s", what, sp + 1, sp + 2,
                sf_type_str(&x->type, tb, sizeof tb)) != NULL;
}

static sf_value *pool(py_interp *I, const py_expr *at, const py_pool_cfg *c, sf_value *x, const char *what)
{
    if (!x || !spatial(I, at, x, c->sp, what))
        return NULL;
    bool max = c->kind == P_MAX || c->kind == P_ADAPTIVE_MAX;
    for (int i = 0; x && i < c->sp; i++) {
        int d = x->type.rank - c->sp + i;
        if (c->kind >= P_ADAPTIVE_MAX) {
            x = adaptive_dim(I, at, x, d, c->out[i] < 0 ? x->type.dim[d] : c->out[i], max);
            continue;
        }
        window_cfg w = {c->k[i], c->stride[i], c->pad[i], c->dil[i]};
        x = pool_dim(I, at, x, d, &w, max, c->ceil_mode, c->count_include_pad, c->divisor == 0);
    }
    if (x && c->divisor != 0)
        x = py_op2(I, at, SF_OP_DIV, x, py_scalar(I, at, c->divisor));
    return x;
}

/* a[] in the order kernel_size, stride, padding, dilation, ceil_mode,
 * count_include_pad, divisor_override, return_indices (NULL: absent) */
static bool read_window(py_interp *I, const py_expr *at, const char *what, pv **a, py_pool_cfg *c)
{
    bool indices;
    if (!py_get_pair(I, at, a[0], c->sp, 1, "kernel_size", c->k) ||
        !py_get_pair(I, at, a[1] && a[1]->k != PV_NONE ? a[1] : a[0], c->sp, 1, "stride", c->stride) ||
        !py_get_pair(I, at, a[2], c->sp, 0, "padding", c->pad) || !py_get_pair(I, at, a[3], c->sp, 1, "dilation", c->dil) ||
        !py_opt_bool(I, at, a[4], false, &c->ceil_mode) || !py_opt_bool(I, at, a[5], true, &c->count_include_pad) ||
        !py_opt_bool(I, at, a[7], false, &indices))
        return false;
    if (indices)
        return FAIL(SF_ERR_UNSUPPORTED, "%s: return_indices=True gives integer indices; sheaf has none", what) != NULL;
    c->divisor = 0;
    if (a[6] && a[6]->k != PV_NONE) {
        int64_t v;
        if (!py_as_int(I, at, a[6], "divisor_override", &v))
            return false;
        if (v == 0)
            return FAIL(SF_ERR_INVALID_ARG, "%s: divisor_override must not be 0", what) != NULL;
        c->divisor = (double)v;
    }
    for (int i = 0; i < c->sp; i++)
        if (c->k[i] < 1 || c->stride[i] < 1 || c->dil[i] < 1 || c->pad[i] < 0 || c->k[i] > SF_DIM_MAX ||
            c->stride[i] > SF_DIM_MAX || c->dil[i] > SF_DIM_MAX || c->pad[i] > SF_DIM_MAX)
            return FAIL(SF_ERR_INVALID_ARG, "%s: kernel_size, stride and dilation must be positive, padding at least 0",
                        what) != NULL;
    return true;
}

/* output_size: an int, or a tuple whose None entries keep their dim (-1) */
static bool read_output(py_interp *I, const py_expr *at, const char *what, pv *v, py_pool_cfg *c)
{
    pv *seq = v && (v->k == PV_TUPLE || v->k == PV_LIST) ? v : NULL;
    if (seq && (int)seq->u.list->n != c->sp)
        return FAIL(SF_ERR_INVALID_ARG, "%s: output_size needs 1 or %d values", what, c->sp) != NULL;
    for (int i = 0; i < c->sp; i++) {
        pv *e = seq ? seq->u.list->items[i] : v;
        c->out[i] = -1;
        if (e && e->k != PV_NONE && !py_as_int(I, at, e, "output_size", &c->out[i]))
            return false;
        if (e && e->k != PV_NONE && (c->out[i] < 1 || c->out[i] > SF_DIM_MAX))
            return FAIL(SF_ERR_INVALID_ARG, "%s: output_size must be positive", what) != NULL;
    }
    return true;
}

/* the argument names of each kind, as PyTorch's modules and functions spell them */
static const char *const *arg_names(int kind, int sp, bool fn)
{
    static const char *const max_m[] = {"kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode", NULL};
    static const char *const max_f[] = {"input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                        "return_indices", NULL};
    static const char *const avg1_m[] = {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", NULL};
    static const char *const avg2_m[] = {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                         "divisor_override", NULL};
    static const char *const avg1_f[] = {"input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", NULL};
    static const char *const avg2_f[] = {"input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                         "divisor_override", NULL};
    static const char *const ad_m[] = {"output_size", "return_indices", NULL};
    static const char *const ad_f[] = {"input", "output_size", "return_indices", NULL};
    switch (kind) {
    case P_MAX: return fn ? max_f : max_m;
    case P_AVG: return sp == 1 ? (fn ? avg1_f : avg1_m) : (fn ? avg2_f : avg2_m);
    default: return fn ? ad_f : ad_m;
    }
}

/* bound arguments in arg_names' order into read_window's order */
static bool configure(py_interp *I, const py_expr *at, const char *what, pv **got, const char *const *names,
                      py_pool_cfg *c)
{
    if (c->kind >= P_ADAPTIVE_MAX) {
        bool indices;
        if (!py_opt_bool(I, at, got[1], false, &indices))
            return false;
        if (indices)
            return FAIL(SF_ERR_UNSUPPORTED, "%s: return_indices=True gives integer indices; sheaf has none", what) != NULL;
        return read_output(I, at, what, got[0], c);
    }
    static const char *const order[] = {"kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                        "count_include_pad", "divisor_override", "return_indices"};
    pv *a[8] = {0};
    for (int i = 0; names[i]; i++)
        for (int j = 0; j < 8; j++)
            if (strcmp(names[i], order[j]) == 0)
                a[j] = got[i];
    return read_window(I, at, what, a, c);
}

/* ---- modules ---- */

#define POOL_MODULES(X)                                                                                          \
    X(MaxPool1d, P_MAX, 1) X(MaxPool2d, P_MAX, 2) X(AvgPool1d, P_AVG, 1) X(AvgPool2d, P_AVG, 2)                  \
    X(AdaptiveMaxPool1d, P_ADAPTIVE_MAX, 1) X(AdaptiveMaxPool2d, P_ADAPTIVE_MAX, 2)                               \
    X(AdaptiveAvgPool1d, P_ADAPTIVE_AVG, 1) X(AdaptiveAvgPool2d, P_ADAPTIVE_AVG, 2)

#define CLASS_ROW(name, kind, sp) {#name, PY_NN_POOL, NULL, 0, NULL, true, NULL, NULL},
static py_class classes[] = {POOL_MODULES(CLASS_ROW)};
#define KIND_ROW(name, kind, sp) {kind, sp},
static const struct {
    int kind, sp;
} kinds[] = {POOL_MODULES(KIND_ROW)};

static int module_index(const char *cls)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i].name, cls) == 0)
            return (int)i;
    return -1;
}

py_class *py_pool_class(const char *name)
{
    int i = module_index(name);
    return i < 0 ? NULL : &classes[i];
}

bool py_pool_module_init(py_interp *I, const py_expr *at, const char *cls, int argc, pv **argv, int kwc,
                         const char **kwn, pv **kwv, py_pool_cfg *c)
{
    int i = module_index(cls);
    if (i < 0)
        return FAIL(SF_ERR_UNSUPPORTED, "%s is not a pooling module", cls) != NULL;
    c->kind = kinds[i].kind, c->sp = kinds[i].sp;
    const char *const *names = arg_names(c->kind, c->sp, false);
    pv *a[8] = {0};
    return py_bind(I, at, cls, names, 1, argc, argv, kwc, kwn, kwv, a) && configure(I, at, cls, a, names, c);
}

pv *py_pool_forward(py_interp *I, const py_expr *at, const py_pool_cfg *c, const char *cls, pv *x)
{
    sf_value *v = py_tv(I, at, x, cls);
    return v ? pv_tensor(I, pool(I, at, c, v, cls)) : NULL;
}

/* ---- functions ---- */

static pv *pool_fn(py_interp *I, const py_expr *at, int kind, int sp, const char *what, pv *self, int argc, pv **argv,
                   int kwc, const char **kwn, pv **kwv)
{
    py_pool_cfg c = {.kind = kind, .sp = sp};
    const char *const *names = arg_names(kind, sp, true);
    pv *a[9] = {0};
    argv = py_with_self(I, self, &argc, argv);
    if (!argv || !py_bind(I, at, what, names, 2, argc, argv, kwc, kwn, kwv, a) ||
        !configure(I, at, what, a + 1, names + 1, &c))
        return NULL;
    sf_value *x = py_tv(I, at, a[0], what);
    return x ? pv_tensor(I, pool(I, at, &c, x, what)) : NULL;
}

#define POOL_FN(fname, kind, sp) \
    TFN(t_##fname) { return pool_fn(I, at, kind, sp, #fname "()", self, argc, argv, kwc, kwn, kwv); }
POOL_FN(max_pool1d, P_MAX, 1)
POOL_FN(max_pool2d, P_MAX, 2)
POOL_FN(avg_pool1d, P_AVG, 1)
POOL_FN(avg_pool2d, P_AVG, 2)
POOL_FN(adaptive_max_pool1d, P_ADAPTIVE_MAX, 1)
POOL_FN(adaptive_max_pool2d, P_ADAPTIVE_MAX, 2)
POOL_FN(adaptive_avg_pool1d, P_ADAPTIVE_AVG, 1)
POOL_FN(adaptive_avg_pool2d, P_ADAPTIVE_AVG, 2)

static const py_fn_row fns[] = {
    {{"max_pool1d", t_max_pool1d}, PY_IN_F | PY_IN_TORCH},
    {{"max_pool2d", t_max_pool2d}, PY_IN_F | PY_IN_TORCH},
    {{"avg_pool1d", t_avg_pool1d}, PY_IN_F | PY_IN_TORCH},
    {{"avg_pool2d", t_avg_pool2d}, PY_IN_F},
    {{"adaptive_max_pool1d", t_adaptive_max_pool1d}, PY_IN_F},
    {{"adaptive_max_pool2d", t_adaptive_max_pool2d}, PY_IN_F},
    {{"adaptive_avg_pool1d", t_adaptive_avg_pool1d}, PY_IN_F | PY_IN_TORCH},
    {{"adaptive_avg_pool2d", t_adaptive_avg_pool2d}, PY_IN_F},
};

pv *py_pool_fn(py_interp *I, int where, const char *name, pv *self)
{
    return py_fn_lookup(I, fns, sizeof fns / sizeof fns[0], where, name, self);
}
