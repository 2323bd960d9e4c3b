/* Reductions and the functions PyTorch users build from them: sum, mean,
 * prod, amax, amin, max/min, maximum/minimum, var, std, logsumexp, norm;
 * F.normalize, F.cosine_similarity, F.pairwise_distance; log_softmax,
 * softmin, glu. Each composite is written out of IR ops the way PyTorch's
 * own kernel computes it (its clamps included), so it fuses like any
 * other code and needs no kernel of its own. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "frontend/py_torch.h"

enum { IN_TORCH = PY_IN_TORCH, IN_METHOD = PY_IN_METHOD, IN_F = PY_IN_F };

#define FAIL(code, ...) py_error(I, at, code, __VA_ARGS__)

sf_value *py_reduce(py_interp *I, const py_expr *at, sf_opcode op, sf_value *x, const int64_t *dims, int nd, bool keep)
{
    sf_node *n = x ? py_begin(I, at, op, 1, &x) : NULL;
    if (!n || !sf_node_set_ints(I->g, n, SF_ATTR_DIMS, dims, nd))
        return NULL;
    sf_node_set_int(n, SF_ATTR_KEEPDIM, keep);
    return py_emit(I, at, n);
}

/* dim as dims: None (or missing) is every dim, an int or a list of ints
 * each normalised; *nd = 0 only for an empty list */
static bool dims_arg(py_interp *I, const py_expr *at, pv *v, const sf_value *x, int64_t *dims, int *nd)
{
    *nd = 0;
    if (!v || v->k == PV_NONE) {
        for (int i = 0; i < x->type.rank; i++)
            dims[(*nd)++] = i;
        return true;
    }
    int64_t raw[SF_MAX_RANK];
    if (!py_as_ints(I, at, v, "dim", raw, SF_MAX_RANK, nd))
        return false;
    for (int i = 0; i < *nd; i++) {
        int d;
        if (!py_norm_dim(I, at, raw[i], x->type.rank, &d))
            return false;
        for (int j = 0; j < i; j++)
            if (dims[j] == d)
                return FAIL(SF_ERR_INVALID_ARG, "dim %d appears more than once", d) != NULL;
        dims[i] = d;
    }
    return true;
}

static bool keep_arg(py_interp *I, const py_expr *at, pv *v, bool *keep)
{
    *keep = false;
    return !v || pv_truth(I, at, v, keep);
}

/* one int dim, normalised */
static bool dim_arg(py_interp *I, const py_expr *at, pv *v, const sf_value *x, const char *fname, int *d)
{
    int64_t raw;
    if (!v || v->k == PV_NONE)
        return FAIL(SF_ERR_INVALID_ARG, "%s: dim must be given (the implicit dim is deprecated)", fname) != NULL;
    return py_as_int(I, at, v, "dim", &raw) && py_norm_dim(I, at, raw, x->type.rank, d);
}

/* ---- the reductions ---- */

/* sum, mean (dim=None is every dim, dim=[] returns the input), amax,
 * amin (dim=(), the default, is every dim) */
static pv *reduction(py_interp *I, const py_expr *at, sf_opcode op, pv *self, int argc, pv **argv, int kwc,
                     const char **kwn, pv **kwv)
{
    const char *fname = sf_ops[op].name;
    BIND(fname, 1, "input", "dim", "keepdim", "dtype");
    sf_value *x = py_tv(I, at, a[0], fname);
    int64_t dims[SF_MAX_RANK];
    int nd;
    bool keep, extreme = op == SF_OP_AMAX || op == SF_OP_AMIN;
    if (!x || !keep_arg(I, at, a[2], &keep) || !dims_arg(I, at, a[1], x, dims, &nd))
        return NULL;
    if (extreme && a[3])
        return FAIL(SF_ERR_INVALID_ARG, "%s() got an unexpected keyword argument 'dtype'", fname);
    if (nd == 0 && extreme)
        dims_arg(I, at, NULL, x, dims, &nd);
    return nd == 0 ? a[0] : pv_tensor(I, py_reduce(I, at, op, x, dims, nd, keep));
}
TFN(t_sum) { return reduction(I, at, SF_OP_SUM, self, argc, argv, kwc, kwn, kwv); }
TFN(t_mean) { return reduction(I, at, SF_OP_MEAN, self, argc, argv, kwc, kwn, kwv); }
TFN(t_amax) { return reduction(I, at, SF_OP_AMAX, self, argc, argv, kwc, kwn, kwv); }
TFN(t_amin) { return reduction(I, at, SF_OP_AMIN, self, argc, argv, kwc, kwn, kwv); }

/* prod(x) over everything, prod(x, dim) over one dim */
TFN(t_prod)
{
    BIND("prod", 1, "input", "dim", "keepdim", "dtype");
    sf_value *x = py_tv(I, at, a[0], "prod");
    int64_t dims[SF_MAX_RANK];
    int nd, d;
    bool keep;
    if (!x || !keep_arg(I, at, a[2], &keep))
        return NULL;
    if (!a[1] || a[1]->k == PV_NONE)
        dims_arg(I, at, NULL, x, dims, &nd);
    else if (dim_arg(I, at, a[1], x, "prod", &d))
        dims[0] = d, nd = 1;
    else
        return NULL;
    return pv_tensor(I, py_reduce(I, at, SF_OP_PROD, x, dims, nd, keep));
}

/* max(x): the largest element; max(x, y): maximum; max(x, dim): (values, indices) */
static pv *max_or_min(py_interp *I, const py_expr *at, bool max, pv *self, int argc, pv **argv, int kwc,
                      const char **kwn, pv **kwv)
{
    const char *fname = max ? "max" : "min";
    BIND(fname, 1, "input", "dim", "keepdim", "other");
    pv *other = a[3] ? a[3] : a[1] && a[1]->k == PV_TENSOR ? a[1] : NULL;
    sf_value *x = py_tv(I, at, a[0], fname);
    if (!x)
        return NULL;
    if (other) {
        sf_value *y = py_tv(I, at, other, fname);
        return y ? pv_tensor(I, py_op2(I, at, max ? SF_OP_MAXIMUM : SF_OP_MINIMUM, x, y)) : NULL;
    }
    if (a[1] && a[1]->k != PV_NONE)
        return py_max_along(I, at, x, a[1], a[2], max);
    int64_t dims[SF_MAX_RANK];
    int nd;
    dims_arg(I, at, NULL, x, dims, &nd);
    return pv_tensor(I, py_reduce(I, at, max ? SF_OP_AMAX : SF_OP_AMIN, x, dims, nd, false));
}
TFN(t_max) { return max_or_min(I, at, true, self, argc, argv, kwc, kwn, kwv); }
TFN(t_min) { return max_or_min(I, at, false, self, argc, argv, kwc, kwn, kwv); }

static pv *elementwise2(py_interp *I, const py_expr *at, sf_opcode op, const char *fname, pv *self, int argc,
                        pv **argv, int kwc, const char **kwn, pv **kwv)
{
    BIND(fname, 2, "input", "other");
    sf_value *x = py_tv(I, at, a[0], fname), *y = x ? py_tv(I, at, a[1], fname) : NULL;
    return y ? pv_tensor(I, py_op2(I, at, op, x, y)) : NULL;
}
TFN(t_maximum) { return elementwise2(I, at, SF_OP_MAXIMUM, "maximum", self, argc, argv, kwc, kwn, kwv); }
TFN(t_minimum) { return elementwise2(I, at, SF_OP_MINIMUM, "minimum", self, argc, argv, kwc, kwn, kwv); }

/* ---- built from reductions ---- */

/* x's elements over dims, or an error where the batch is among them */
static bool count_of(py_interp *I, const py_expr *at, const sf_value *x, const int64_t *dims, int nd,
                     const char *fname, double *n)
{
    *n = 1;
    for (int i = 0; i < nd; i++) {
        if (x->type.dim[dims[i]] == SF_DIM_B)
            return FAIL(SF_ERR_UNSUPPORTED, "%s over the batch dim with a correction: its count is the batch", fname) !=
                   NULL;
        *n *= (double)x->type.dim[dims[i]];
    }
    return true;
}

/* var: the mean of squared deviations times n / (n - correction), as
 * PyTorch (n - correction <= 0 gives inf or NaN there too); std: its root */
static pv *var_or_std(py_interp *I, const py_expr *at, bool root, pv *self, int argc, pv **argv, int kwc,
                      const char **kwn, pv **kwv)
{
    const char *fname = root ? "std" : "var";
    BIND(fname, 1, "input", "dim", "unbiased", "keepdim", "correction");
    sf_value *x = py_tv(I, at, a[0], fname);
    int64_t dims[SF_MAX_RANK];
    int nd;
    bool keep, unbiased = true;
    if (!x || !keep_arg(I, at, a[3], &keep) || !dims_arg(I, at, a[1], x, dims, &nd) ||
        (a[2] && !pv_truth(I, at, a[2], &unbiased)))
        return NULL;
    double c = unbiased ? 1 : 0, n = 1;
    if (a[4] && a[4]->k != PV_NONE) {
        if (!pv_is_number(a[4]))
            return FAIL(SF_ERR_INVALID_ARG, "%s: correction must be a number, got %s", fname, pv_describe(I, a[4]));
        c = pv_as_double(a[4]);
    }
    if (c != 0 && !count_of(I, at, x, dims, nd, fname, &n))
        return NULL;
    sf_value *m = py_reduce(I, at, SF_OP_MEAN, x, dims, nd, true);
    sf_value *d = m ? py_op2(I, at, SF_OP_SUB, x, m) : NULL;
    sf_value *v = d ? py_reduce(I, at, SF_OP_MEAN, py_op2(I, at, SF_OP_MUL, d, d), dims, nd, keep) : NULL;
    if (v && c != 0)
        v = py_op2(I, at, SF_OP_MUL, v, py_scalar(I, at, n / fmax(0, n - c)));
    return v ? pv_tensor(I, root ? py_op1(I, at, SF_OP_SQRT, v) : v) : NULL;
}
TFN(t_var) { return var_or_std(I, at, false, self, argc, argv, kwc, kwn, kwv); }
TFN(t_std) { return var_or_std(I, at, true, self, argc, argv, kwc, kwn, kwv); }

/* clamp(x, min, max) */
static sf_value *clamp(py_interp *I, const py_expr *at, sf_value *x, double lo, double hi)
{
    double attrs[2] = {lo, hi};
    return x ? py_act_emit(I, at, SF_OP_CLAMP, attrs, x) : NULL;
}

/* m + log(sum e^(x - m)), m the max clamped to the finite floats so that a
 * row of -inf gives -inf (x - m stays -inf) and one holding +inf gives +inf */
static sf_value *logsumexp(py_interp *I, const py_expr *at, sf_value *x, const int64_t *dims, int nd, bool keep)
{
    sf_value *m = clamp(I, at, py_reduce(I, at, SF_OP_AMAX, x, dims, nd, true), -FLT_MAX, FLT_MAX);
    sf_value *e = m ? py_op1(I, at, SF_OP_EXP, py_op2(I, at, SF_OP_SUB, x, m)) : NULL;
    sf_value *s = e ? py_op1(I, at, SF_OP_LOG, py_reduce(I, at, SF_OP_SUM, e, dims, nd, keep)) : NULL;
    if (s && !keep) /* m without the reduced dims, to add */
        m = py_reduce(I, at, SF_OP_SUM, m, dims, nd, false);
    return s && m ? py_op2(I, at, SF_OP_ADD, s, m) : NULL;
}

TFN(t_logsumexp)
{
    BIND("logsumexp", 2, "input", "dim", "keepdim");
    sf_value *x = py_tv(I, at, a[0], "logsumexp");
    int64_t dims[SF_MAX_RANK];
    int nd;
    bool keep;
    if (!x || !keep_arg(I, at, a[2], &keep) || !dims_arg(I, at, a[1], x, dims, &nd))
        return NULL;
    return nd == 0 ? a[0] : pv_tensor(I, logsumexp(I, at, x, dims, nd, keep));
}

/* the p-norm for p = 1, 2, inf, -inf ('fro' is 2); NAN p: unsupported */
static bool p_arg(py_interp *I, const py_expr *at, pv *v, const char *fname, double dflt, double *p)
{
    *p = dflt;
    if (!v || v->k == PV_NONE || (v->k == PV_STR && strcmp(v->u.s.s, "fro") == 0))
        return true;
    if (pv_is_number(v)) {
        *p = pv_as_double(v);
        if (*p == 1 || *p == 2 || isinf(*p))
            return true;
    }
    return FAIL(SF_ERR_UNSUPPORTED, "%s: p=%s is not supported (1, 2, inf, -inf or 'fro' are)", fname,
                pv_describe(I, v)) != NULL;
}

static sf_value *pnorm(py_interp *I, const py_expr *at, sf_value *x, double p, const int64_t *dims, int nd, bool keep)
{
    if (p == 2) {
        sf_value *s = x ? py_reduce(I, at, SF_OP_SUM, py_op2(I, at, SF_OP_MUL, x, x), dims, nd, keep) : NULL;
        return s ? py_op1(I, at, SF_OP_SQRT, s) : NULL;
    }
    sf_value *ax = x ? py_op1(I, at, SF_OP_ABS, x) : NULL;
    return py_reduce(I, at, p == 1 ? SF_OP_SUM : p > 0 ? SF_OP_AMAX : SF_OP_AMIN, ax, dims, nd, keep);
}

TFN(t_norm)
{
    BIND("norm", 1, "input", "p", "dim", "keepdim", "dtype");
    sf_value *x = py_tv(I, at, a[0], "norm");
    int64_t dims[SF_MAX_RANK];
    int nd;
    bool keep;
    double p;
    if (!x || !keep_arg(I, at, a[3], &keep) || !p_arg(I, at, a[1], "norm", 2, &p) ||
        !dims_arg(I, at, a[2], x, dims, &nd))
        return NULL;
    return pv_tensor(I, pnorm(I, at, x, p, dims, nd, keep));
}

/* x / max(||x||_p, eps) along dim */
TFN(t_normalize)
{
    BIND("normalize", 1, "input", "p", "dim", "eps");
    sf_value *x = py_tv(I, at, a[0], "normalize");
    double p, eps = 1e-12;
    int d = 1;
    if (!x || !p_arg(I, at, a[1], "normalize", 2, &p) || (a[2] && !dim_arg(I, at, a[2], x, "normalize", &d)) ||
        (!a[2] && !py_norm_dim(I, at, 1, x->type.rank, &d)))
        return NULL;
    if (a[3] && !(pv_is_number(a[3]) && (eps = pv_as_double(a[3])) >= 0))
        return FAIL(SF_ERR_INVALID_ARG, "normalize: eps must be a number >= 0");
    int64_t dims[1] = {d};
    sf_value *n = clamp(I, at, pnorm(I, at, x, p, dims, 1, true), eps, INFINITY);
    return n ? pv_tensor(I, py_op2(I, at, SF_OP_DIV, x, n)) : NULL;
}

/* sum((x1 / max(||x1||, eps)) (x2 / max(||x2||, eps))) along dim, PyTorch's current form */
TFN(t_cosine_similarity)
{
    BIND("cosine_similarity", 2, "x1", "x2", "dim", "eps");
    sf_value *x1 = py_tv(I, at, a[0], "cosine_similarity"), *x2 = x1 ? py_tv(I, at, a[1], "cosine_similarity") : NULL;
    double eps = 1e-8;
    int d = 1;
    if (!x2 || (a[2] && !dim_arg(I, at, a[2], x1, "cosine_similarity", &d)) ||
        (!a[2] && !py_norm_dim(I, at, 1, x1->type.rank, &d)))
        return NULL;
    if (x1->type.rank != x2->type.rank)
        return FAIL(SF_ERR_UNSUPPORTED, "cosine_similarity: x1 and x2 of different ranks are not supported");
    if (a[3] && !(pv_is_number(a[3]) && (eps = pv_as_double(a[3])) >= 0))
        return FAIL(SF_ERR_INVALID_ARG, "cosine_similarity: eps must be a number >= 0");
    int64_t dims[1] = {d};
    sf_value *n1 = clamp(I, at, pnorm(I, at, x1, 2, dims, 1, true), eps, INFINITY);
    sf_value *n2 = n1 ? clamp(I, at, pnorm(I, at, x2, 2, dims, 1, true), eps, INFINITY) : NULL;
    sf_value *u1 = n2 ? py_op2(I, at, SF_OP_DIV, x1, n1) : NULL, *u2 = u1 ? py_op2(I, at, SF_OP_DIV, x2, n2) : NULL;
    return u2 ? pv_tensor(I, py_reduce(I, at, SF_OP_SUM, py_op2(I, at, SF_OP_MUL, u1, u2), dims, 1, false)) : NULL;
}

/* ||x1 - x2 + eps||_p over the last dim */
TFN(t_pairwise_distance)
{
    BIND("pairwise_distance", 2, "x1", "x2", "p", "eps", "keepdim");
    sf_value *x1 = py_tv(I, at, a[0], "pairwise_distance"), *x2 = x1 ? py_tv(I, at, a[1], "pairwise_distance") : NULL;
    double p, eps = 1e-6;
    bool keep;
    if (!x2 || !p_arg(I, at, a[2], "pairwise_distance", 2, &p) || !keep_arg(I, at, a[4], &keep))
        return NULL;
    if (a[3] && !(pv_is_number(a[3]) && isfinite(eps = pv_as_double(a[3]))))
        return FAIL(SF_ERR_INVALID_ARG, "pairwise_distance: eps must be a finite number");
    sf_value *d = py_op2(I, at, SF_OP_ADD, py_op2(I, at, SF_OP_SUB, x1, x2), py_scalar(I, at, eps));
    int64_t dims[1] = {d ? d->type.rank - 1 : 0};
    return d ? pv_tensor(I, pnorm(I, at, d, p, dims, 1, keep)) : NULL;
}

/* ---- norms built from the others ---- */

sf_value *py_reshaped(py_interp *I, const py_expr *at, sf_value *x, const int64_t *shape, int n)
{
    sf_node *node = x ? py_begin(I, at, SF_OP_RESHAPE, 1, &x) : NULL;
    if (!node || !sf_node_set_ints(I->g, node, SF_ATTR_SHAPE, shape, n))
        return NULL;
    return py_emit(I, at, node);
}

/* a per-channel vector w [C] as [C, 1, ...] for an input of rank r, so that it broadcasts along dim 1 */
sf_value *py_channel_view(py_interp *I, const py_expr *at, sf_value *w, int r)
{
    if (!w || r <= 2)
        return w;
    int64_t shape[SF_MAX_RANK] = {w->type.dim[0]};
    for (int i = 1; i < r - 1; i++)
        shape[i] = 1;
    return py_reshaped(I, at, w, shape, r - 1);
}

/* x / sqrt(mean(x^2) + eps) over the last ndim dims, times w */
sf_value *py_rms_norm(py_interp *I, const py_expr *at, sf_value *x, int ndim, double eps, sf_value *w)
{
    int64_t dims[SF_MAX_RANK];
    for (int i = 0; i < ndim; i++)
        dims[i] = x->type.rank - ndim + i;
    sf_value *ms = py_reduce(I, at, SF_OP_MEAN, py_op2(I, at, SF_OP_MUL, x, x), dims, ndim, true);
    sf_value *r = ms ? py_op1(I, at, SF_OP_RSQRT, py_op2(I, at, SF_OP_ADD, ms, py_scalar(I, at, eps))) : NULL;
    sf_value *y = r ? py_op2(I, at, SF_OP_MUL, x, r) : NULL;
    return y && w ? py_op2(I, at, SF_OP_MUL, y, w) : y;
}

/* x [N, C, ...] as [N, G, C/G * ...], normalised over the last dim as
 * layernorm does (biased variance), back to x's shape, then w and b per channel */
sf_value *py_group_norm(py_interp *I, const py_expr *at, sf_value *x, int64_t groups, double eps, sf_value *w,
                        sf_value *b)
{
    char tb[160];
    int64_t C = x->type.rank >= 2 ? x->type.dim[1] : 0, rest = 1;
    if (C < 1 || C == SF_DIM_B || groups < 1 || C % groups)
        return FAIL(SF_ERR_SHAPE, "group_norm: %s does not split into %lld groups of channels at dim 1",
                    sf_type_str(&x->type, tb, sizeof tb), (long long)groups), NULL;
    for (int i = 2; i < x->type.rank; i++) {
        if (x->type.dim[i] == SF_DIM_B)
            return FAIL(SF_ERR_UNSUPPORTED, "group_norm: the batch must be dim 0"), NULL;
        rest *= x->type.dim[i];
    }
    int64_t g[3] = {x->type.dim[0], groups, C / groups * rest};
    sf_value *v = py_reshaped(I, at, x, g, 3);
    sf_node *n = v ? py_begin(I, at, SF_OP_LAYERNORM, 1, &v) : NULL;
    if (n) {
        sf_node_set_int(n, SF_ATTR_NDIM, 1);
        sf_node_set_float(n, SF_ATTR_EPS, eps);
    }
    sf_value *y = py_reshaped(I, at, py_emit(I, at, n), x->type.dim, x->type.rank);
    if (y && w)
        y = py_op2(I, at, SF_OP_MUL, y, py_channel_view(I, at, w, x->type.rank));
    if (y && b)
        y = py_op2(I, at, SF_OP_ADD, y, py_channel_view(I, at, b, x->type.rank));
    return y;
}

/* an optional tensor argument (None: NULL), true unless it is there and not a tensor */
static bool opt_tensor(py_interp *I, const py_expr *at, pv *v, const char *what, sf_value **out)
{
    *out = NULL;
    return !v || v->k == PV_NONE || (*out = py_tv(I, at, v, what)) != NULL;
}

TFN(t_group_norm)
{
    BIND("group_norm", 2, "input", "num_groups", "weight", "bias", "eps");
    sf_value *x = py_tv(I, at, a[0], "group_norm"), *w, *b;
    int64_t groups;
    double eps = a[4] && pv_is_number(a[4]) ? pv_as_double(a[4]) : 1e-5;
    if (!x || !py_as_int(I, at, a[1], "num_groups", &groups) || !opt_tensor(I, at, a[2], "weight", &w) ||
        !opt_tensor(I, at, a[3], "bias", &b))
        return NULL;
    return pv_tensor(I, py_group_norm(I, at, x, groups, eps, w, b));
}

/* F.instance_norm in eval: statistics of each channel of each sample unless running ones are given and
 * use_input_stats is False (then BatchNorm's formula with them) */
TFN(t_instance_norm)
{
    BIND("instance_norm", 1, "input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum",
         "eps");
    sf_value *x = py_tv(I, at, a[0], "instance_norm"), *rm, *rv, *w, *b;
    double eps = a[7] && pv_is_number(a[7]) ? pv_as_double(a[7]) : 1e-5;
    bool own;
    if (!x || !opt_tensor(I, at, a[1], "running_mean", &rm) || !opt_tensor(I, at, a[2], "running_var", &rv) ||
        !opt_tensor(I, at, a[3], "weight", &w) || !opt_tensor(I, at, a[4], "bias", &b) ||
        !py_opt_bool(I, at, a[5], true, &own))
        return NULL;
    if (x->type.rank < 3)
        return FAIL(SF_ERR_SHAPE, "instance_norm: input of rank %d: it needs [N, C, ...]", x->type.rank);
    if (own)
        return pv_tensor(I, py_group_norm(I, at, x, x->type.dim[1], eps, w, b));
    if (!rm || !rv || !w != !b)
        return FAIL(SF_ERR_INVALID_ARG, "instance_norm(use_input_stats=False) needs running_mean and running_var");
    sf_value *in[5] = {x, rm, rv, w, b};
    sf_node *n = py_begin(I, at, SF_OP_BATCHNORM, w ? 5 : 3, in);
    if (n)
        sf_node_set_float(n, SF_ATTR_EPS, eps);
    return pv_tensor(I, py_emit(I, at, n));
}

/* x1 [.., I] W [O, I, J] x2 [.., J] + b: one product of x1 with W as
 * [O J, I] (a folded constant), then x2 times its rows, summed over J */
sf_value *py_bilinear(py_interp *I, const py_expr *at, sf_value *x1, sf_value *x2, sf_value *w, sf_value *b)
{
    char t1[160], t2[160], tw[160];
    int r = x1->type.rank;
    if (w->type.rank != 3 || r < 1 || x2->type.rank != r || x1->type.dim[r - 1] != w->type.dim[1] ||
        x2->type.dim[r - 1] != w->type.dim[2] || r + 1 > SF_MAX_RANK)
        return FAIL(SF_ERR_SHAPE, "bilinear: inputs %s and %s do not fit the weight %s", sf_type_str(&x1->type, t1, sizeof t1),
                    sf_type_str(&x2->type, t2, sizeof t2), sf_type_str(&w->type, tw, sizeof tw)), NULL;
    int64_t O = w->type.dim[0], J = w->type.dim[2], flat[2] = {O * J, w->type.dim[1]}, dims[SF_MAX_RANK], sum[1] = {r};
    sf_value *wt = py_reshaped(I, at, py_transpose(I, at, w, 1, 2), flat, 2);
    sf_value *t = wt ? py_linear(I, at, x1, wt, NULL) : NULL;
    memcpy(dims, x1->type.dim, sizeof *dims * (size_t)(r - 1));
    dims[r - 1] = O, dims[r] = J;
    t = t ? py_reshaped(I, at, t, dims, r + 1) : NULL;
    sf_value *u = t ? py_unsqueeze_dim(I, at, x2, r - 1) : NULL;
    sf_value *y = u ? py_reduce(I, at, SF_OP_SUM, py_op2(I, at, SF_OP_MUL, t, u), sum, 1, false) : NULL;
    return y && b ? py_op2(I, at, SF_OP_ADD, y, b) : y;
}

TFN(t_bilinear)
{
    BIND("bilinear", 3, "input1", "input2", "weight", "bias");
    sf_value *x1 = py_tv(I, at, a[0], "bilinear"), *x2 = x1 ? py_tv(I, at, a[1], "bilinear") : NULL, *w = NULL, *b;
    if (!x2 || !(w = py_tv(I, at, a[2], "bilinear")) || !opt_tensor(I, at, a[3], "bias", &b))
        return NULL;
    return pv_tensor(I, py_bilinear(I, at, x1, x2, w, b));
}

TFN(t_rms_norm)
{
    BIND("rms_norm", 2, "input", "normalized_shape", "weight", "eps");
    sf_value *x = py_tv(I, at, a[0], "rms_norm"), *w;
    int64_t shape[SF_MAX_RANK];
    int nd;
    double eps = a[3] && pv_is_number(a[3]) ? pv_as_double(a[3]) : FLT_EPSILON;
    if (!x || !py_as_ints(I, at, a[1], "normalized_shape", shape, SF_MAX_RANK, &nd) ||
        !opt_tensor(I, at, a[2], "weight", &w))
        return NULL;
    for (int i = 0; i < nd; i++)
        if (nd > x->type.rank || x->type.dim[x->type.rank - nd + i] != shape[i])
            return FAIL(SF_ERR_SHAPE, "rms_norm: normalized_shape does not match the input's last dims");
    return pv_tensor(I, py_rms_norm(I, at, x, nd, eps, w));
}

/* ---- powers ---- */

/* x^n, |n| <= 64, by squaring: about log2 n + popcount n multiplies, each
 * correctly rounded (a few ulp in all, where exp(n log x) would lose |n log x| ulp) */
static sf_value *int_power(py_interp *I, const py_expr *at, sf_value *x, int64_t n)
{
    sf_value *r = NULL, *sq = x;
    for (int64_t k = n < 0 ? -n : n; k && sq; k >>= 1) {
        if (k & 1)
            r = r ? py_op2(I, at, SF_OP_MUL, r, sq) : sq;
        if (k > 1)
            sq = py_op2(I, at, SF_OP_MUL, sq, sq);
    }
    return r && n < 0 ? py_op1(I, at, SF_OP_RECIPROCAL, r) : r;
}

pv *py_pow(py_interp *I, const py_expr *at, pv *a, pv *b)
{
    if (a->k == PV_TENSOR && pv_is_number(b)) {
        double p = pv_as_double(b);
        sf_value *x = py_tv(I, at, a, "**");
        if (!x)
            return NULL;
        if (p == 1)
            return a;
        if (p == 0.5 || p == -0.5)
            return pv_tensor(I, py_op1(I, at, p > 0 ? SF_OP_SQRT : SF_OP_RSQRT, x));
        if (p == floor(p) && p != 0 && fabs(p) <= 64)
            return pv_tensor(I, int_power(I, at, x, (int64_t)p));
        return FAIL(SF_ERR_UNSUPPORTED, "tensor ** %g is not supported (integer exponents from -64 to 64 but 0, "
                                        "and 0.5, -0.5 are)", p);
    }
    if (pv_is_number(a) && b->k == PV_TENSOR) { /* c ** x = e^(x log c) */
        double c = pv_as_double(a);
        sf_value *x = py_tv(I, at, b, "**");
        if (!x)
            return NULL;
        if (!(c > 0) || isinf(c))
            return FAIL(SF_ERR_UNSUPPORTED, "%g ** tensor is supported for a finite positive base only", c);
        return pv_tensor(I, py_op1(I, at, SF_OP_EXP, py_op2(I, at, SF_OP_MUL, x, py_scalar(I, at, log(c)))));
    }
    return FAIL(SF_ERR_UNSUPPORTED, "tensor ** tensor is not supported (a number exponent or base is)");
}

TFN(t_pow)
{
    BIND("pow", 2, "input", "exponent");
    return py_pow(I, at, a[0], a[1]);
}

/* ---- the softmax family ---- */

/* softmax or log_softmax along dim */
static sf_value *along(py_interp *I, const py_expr *at, sf_opcode op, sf_value *x, int64_t dim)
{
    int d;
    if (!py_norm_dim(I, at, dim, x->type.rank, &d))
        return NULL;
    sf_node *n = py_begin(I, at, op, 1, &x);
    if (n)
        sf_node_set_int(n, SF_ATTR_DIM, d);
    return py_emit(I, at, n);
}

sf_value *py_softmax(py_interp *I, const py_expr *at, sf_value *x, int64_t dim)
{
    return along(I, at, SF_OP_SOFTMAX, x, dim);
}

sf_value *py_log_softmax(py_interp *I, const py_expr *at, sf_value *x, int64_t dim)
{
    return along(I, at, SF_OP_LOG_SOFTMAX, x, dim);
}

sf_value *py_softmin(py_interp *I, const py_expr *at, sf_value *x, int64_t dim)
{
    sf_value *m = py_op1(I, at, SF_OP_NEG, x);
    return m ? py_softmax(I, at, m, dim) : NULL;
}

/* a * sigmoid(b), a and b the halves of x along dim */
sf_value *py_glu(py_interp *I, const py_expr *at, sf_value *x, int64_t dim)
{
    int d;
    if (!py_norm_dim(I, at, dim, x->type.rank, &d))
        return NULL;
    int64_t n = x->type.dim[d];
    if (n == SF_DIM_B || n % 2)
        return FAIL(SF_ERR_SHAPE, "glu: the halved dim %d must have an even size, got %s", d,
                    n == SF_DIM_B ? "the batch" : "an odd one"), NULL;
    sf_value *lo = py_slice_dim(I, at, x, d, 0, n / 2, 1), *hi = lo ? py_slice_dim(I, at, x, d, n / 2, n, 1) : NULL;
    sf_value *g = hi ? py_op1(I, at, SF_OP_SIGMOID, hi) : NULL;
    return g ? py_op2(I, at, SF_OP_MUL, lo, g) : NULL;
}

typedef sf_value *(*along_dim)(py_interp *I, const py_expr *at, sf_value *x, int64_t dim);

static pv *with_dim(py_interp *I, const py_expr *at, const char *fname, along_dim f, bool dflt_last, pv *self, int argc,
                    pv **argv, int kwc, const char **kwn, pv **kwv)
{
    BIND(fname, 1, "input", "dim", "_stacklevel", "dtype");
    sf_value *x = py_tv(I, at, a[0], fname);
    int64_t dim = -1;
    if (!x)
        return NULL;
    if (a[1] && a[1]->k != PV_NONE) {
        if (!py_as_int(I, at, a[1], "dim", &dim))
            return NULL;
    } else if (!dflt_last) {
        return FAIL(SF_ERR_INVALID_ARG, "%s(dim=None): the implicit dim is deprecated; give dim", fname);
    }
    return pv_tensor(I, f(I, at, x, dim));
}
TFN(t_log_softmax) { return with_dim(I, at, "log_softmax", py_log_softmax, false, self, argc, argv, kwc, kwn, kwv); }
TFN(t_softmin) { return with_dim(I, at, "softmin", py_softmin, false, self, argc, argv, kwc, kwn, kwv); }
TFN(t_glu) { return with_dim(I, at, "glu", py_glu, true, self, argc, argv, kwc, kwn, kwv); }

static const py_fn_row fns[] = {
    {{"sum", t_sum}, IN_TORCH | IN_METHOD},
    {{"mean", t_mean}, IN_TORCH | IN_METHOD},
    {{"amax", t_amax}, IN_TORCH | IN_METHOD},
    {{"amin", t_amin}, IN_TORCH | IN_METHOD},
    {{"prod", t_prod}, IN_TORCH | IN_METHOD},
    {{"max", t_max}, IN_TORCH | IN_METHOD},
    {{"min", t_min}, IN_TORCH | IN_METHOD},
    {{"maximum", t_maximum}, IN_TORCH | IN_METHOD},
    {{"minimum", t_minimum}, IN_TORCH | IN_METHOD},
    {{"var", t_var}, IN_TORCH | IN_METHOD},
    {{"std", t_std}, IN_TORCH | IN_METHOD},
    {{"logsumexp", t_logsumexp}, IN_TORCH | IN_METHOD},
    {{"norm", t_norm}, IN_TORCH | IN_METHOD},
    {{"normalize", t_normalize}, IN_F},
    {{"cosine_similarity", t_cosine_similarity}, IN_TORCH | IN_F},
    {{"pairwise_distance", t_pairwise_distance}, IN_TORCH | IN_F},
    {{"log_softmax", t_log_softmax}, IN_TORCH | IN_METHOD | IN_F},
    {{"softmin", t_softmin}, IN_F},
    {{"glu", t_glu}, IN_F},
    {{"pow", t_pow}, IN_TORCH | IN_METHOD},
    {{"group_norm", t_group_norm}, IN_TORCH | IN_F},
    {{"rms_norm", t_rms_norm}, IN_TORCH | IN_F},
    {{"instance_norm", t_instance_norm}, IN_TORCH | IN_F},
    {{"bilinear", t_bilinear}, IN_TORCH | IN_F},
};

pv *py_math_fn(py_interp *I, int where, const char *name, pv *self)
{
    return py_fn_lookup(I, fns, sizeof fns / sizeof fns[0], where, name, self);
}
