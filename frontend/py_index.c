/* Indices: torch.arange and eye (the IOTA op), argmax/argmin and max/min
 * along a dim (values and indices), cumsum, and the gathers built on the
 * GATHER op: index_select, gather, take_along_dim, F.embedding.
 *
 * sheaf computes in f32: an index tensor (PyTorch's int64) holds its
 * integers as f32 values, exact below 2^24, the limit every function here
 * enforces on the sizes it indexes. .long() and .int() truncate toward
 * zero, as PyTorch's conversion does, and keep f32. */
#include <math.h>
#include <string.h>

#include "frontend/py_torch.h"

enum { IN_TORCH = PY_IN_TORCH, IN_METHOD = PY_IN_METHOD, IN_F = PY_IN_F };
enum { EXACT = 1 << 24 }; /* f32 holds every integer below it */

#define FAIL(code, ...) py_error(I, at, code, __VA_ARGS__)

/* dtype= of a function making indices: None, float32 or an integer type; *mask for bool */
static bool index_dtype(py_interp *I, const py_expr *at, pv *v, bool *mask)
{
    static const char *const ok[] = {"float32", "int64", "int32", "int16", "int8", "uint8"};
    *mask = false;
    if (!v || v->k == PV_NONE)
        return true;
    if (v->k == PV_STR) {
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
            if (strcmp(v->u.s.s, ok[i]) == 0)
                return true;
        if (strcmp(v->u.s.s, "bool") == 0)
            return *mask = true;
    }
    return FAIL(SF_ERR_UNSUPPORTED, "dtype %s: sheaf computes indices as float32 (exact below 2^24)",
                v->k == PV_STR ? v->u.s.s : pv_describe(I, v)) != NULL;
}

/* iota over dims (B allowed but not at d) */
static sf_value *iota(py_interp *I, const py_expr *at, const int64_t *dims, int rank, int d)
{
    sf_node *n = py_begin(I, at, SF_OP_IOTA, 0, NULL);
    if (!n || !sf_node_set_ints(I->g, n, SF_ATTR_SHAPE, dims, rank))
        return NULL;
    sf_node_set_int(n, SF_ATTR_DIM, d);
    return py_emit(I, at, n);
}

/* a [n] tensor made in __init__: its values come from state_dict like any
 * buffer's, and without weights from kind (arange's start and step) */
static pv *init_vector(py_interp *I, int rank, const int64_t *dims, py_init_kind kind, double start, double step)
{
    pv *v = pv_new(I, PV_INIT);
    py_init *init = v ? sf_arena_alloc(I->arena, sizeof *init) : NULL;
    if (!init)
        return NULL;
    memset(init, 0, sizeof *init);
    init->type.dtype = SF_F32;
    init->type.rank = rank;
    memcpy(init->type.dim, dims, sizeof *dims * (size_t)rank);
    init->kind = kind;
    init->fill = start;
    init->step = step;
    v->u.init = init;
    return v;
}

/* torch.arange(end), arange(start, end, step): ceil((end - start) / step) values start + i step */
TFN(t_arange)
{
    (void)self;
    BIND("arange()", 1, "start", "end", "step", "dtype", "layout", "device", "requires_grad");
    pv *bounds[3] = {a[1] ? a[0] : NULL, a[1] ? a[1] : a[0], a[2]};
    double v[3] = {0, 0, 1};
    bool mask;
    for (int k = 0; k < 3; k++) {
        if (bounds[k] && !pv_is_number(bounds[k]))
            return FAIL(SF_ERR_INVALID_ARG, "arange(): %s must be a number, not %s",
                        (const char *[]){"start", "end", "step"}[k], pv_describe(I, bounds[k]));
        if (bounds[k])
            v[k] = pv_as_double(bounds[k]);
    }
    if (!index_dtype(I, at, a[3], &mask))
        return NULL;
    if (mask)
        return FAIL(SF_ERR_UNSUPPORTED, "arange(dtype=torch.bool) is not supported");
    if (v[2] == 0 || !isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
        return FAIL(SF_ERR_INVALID_ARG, "arange(): step must be nonzero and the bounds finite");
    double count = ceil((v[1] - v[0]) / v[2]);
    if (count < 0)
        return FAIL(SF_ERR_INVALID_ARG, "arange(%g, %g, %g): the bounds are inconsistent with the step's sign", v[0],
                    v[1], v[2]);
    if (count < 1 || count > EXACT)
        return FAIL(SF_ERR_UNSUPPORTED, "arange() of %.0f elements: sheaf makes 1 to 2^24", count);
    int64_t n = (int64_t)count;
    if (!I->g)
        return init_vector(I, 1, &n, INIT_ARANGE, v[0], v[2]);
    sf_value *x = iota(I, at, &n, 1, 0);
    if (x && v[2] != 1)
        x = py_op2(I, at, SF_OP_MUL, x, py_scalar(I, at, v[2]));
    if (x && v[0] != 0)
        x = py_op2(I, at, SF_OP_ADD, x, py_scalar(I, at, v[0]));
    return x ? pv_tensor(I, x) : NULL;
}

/* torch.eye(n, m): ones where the row is the column */
TFN(t_eye)
{
    (void)self;
    BIND("eye()", 1, "n", "m", "dtype", "layout", "device", "requires_grad");
    int64_t d[2];
    bool mask;
    if (!py_as_int(I, at, a[0], "n", &d[0]) || (a[1] && a[1]->k != PV_NONE && !py_as_int(I, at, a[1], "m", &d[1])))
        return NULL;
    if (!a[1] || a[1]->k == PV_NONE)
        d[1] = d[0];
    if (d[0] < 1 || d[1] < 1 || d[0] > EXACT || d[1] > EXACT)
        return FAIL(SF_ERR_UNSUPPORTED, "eye(%lld, %lld): sheaf makes sizes 1 to 2^24", (long long)d[0], (long long)d[1]);
    if (!index_dtype(I, at, a[2], &mask))
        return NULL;
    if (!I->g)
        return init_vector(I, 2, d, INIT_EYE, 0, 0);
    sf_value *in[2] = {iota(I, at, d, 2, 0), iota(I, at, d, 2, 1)};
    sf_value *e = in[0] && in[1] ? py_emit(I, at, py_begin(I, at, SF_OP_EQ, 2, in)) : NULL;
    return e ? pv_tensor(I, mask ? e : py_as_number(I, at, e)) : NULL;
}

/* [n, 1, ..., 1]: iota along d of an operand of rank `rank`, broadcasting over the dims after d */
static sf_value *iota_along(py_interp *I, const py_expr *at, int64_t n, int rank, int d)
{
    int64_t dims[SF_MAX_RANK];
    for (int k = 0; k < rank - d; k++)
        dims[k] = k ? 1 : n;
    return iota(I, at, dims, rank - d, 0);
}

/* The first index of the largest (least) element along d, as torch.argmax:
 * where x equals its amax, or is NaN (amax is NaN then, and PyTorch's
 * argmax picks the first NaN), the index, else n; the least of those. */
static sf_value *arg_extreme(py_interp *I, const py_expr *at, sf_value *x, int d, bool max, bool keep)
{
    int64_t n = x->type.dim[d], dims[1] = {d};
    if (n == SF_DIM_B)
        return FAIL(SF_ERR_UNSUPPORTED, "arg%s along the batch dim is not supported", max ? "max" : "min"), NULL;
    if (n > EXACT)
        return FAIL(SF_ERR_UNSUPPORTED, "arg%s over %lld elements: indices are exact below 2^24", max ? "max" : "min",
                    (long long)n), NULL;
    sf_value *m = py_reduce(I, at, max ? SF_OP_AMAX : SF_OP_AMIN, x, dims, 1, true);
    sf_value *hit = m ? py_op2(I, at, SF_OP_EQ, x, m) : NULL;
    sf_value *nan = hit ? py_op2(I, at, SF_OP_NE, x, x) : NULL;
    sf_value *either = nan ? py_op2(I, at, SF_OP_MAXIMUM, hit, nan) : NULL; /* or, on masks */
    sf_value *in[3] = {either, iota_along(I, at, n, x->type.rank, d), py_scalar(I, at, (double)n)};
    sf_value *c = in[0] && in[1] && in[2] ? py_emit(I, at, py_begin(I, at, SF_OP_WHERE, 3, in)) : NULL;
    return py_reduce(I, at, SF_OP_AMIN, c, dims, 1, keep);
}

/* argmax(x) over every element (x without the batch, flattened), argmax(x, dim, keepdim) */
static pv *argext(py_interp *I, const py_expr *at, bool max, pv *self, int argc, pv **argv, int kwc, const char **kwn,
                  pv **kwv)
{
    BIND(max ? "argmax()" : "argmin()", 1, "input", "dim", "keepdim");
    sf_value *x = py_as_number(I, at, py_tv(I, at, a[0], max ? "argmax" : "argmin"));
    bool keep;
    int64_t raw;
    int d;
    if (!x || !py_opt_bool(I, at, a[2], false, &keep))
        return NULL;
    if (!a[1] || a[1]->k == PV_NONE) {
        int64_t all = 1;
        for (int k = 0; k < x->type.rank; k++)
            all *= x->type.dim[k] == SF_DIM_B ? 0 : x->type.dim[k];
        if (!all && x->type.rank)
            return FAIL(SF_ERR_UNSUPPORTED, "arg%s() over every element would reach across the batch: give dim",
                        max ? "max" : "min");
        x = py_reshaped(I, at, x, &all, 1);
        return x ? pv_tensor(I, arg_extreme(I, at, x, 0, max, false)) : NULL;
    }
    if (!py_as_int(I, at, a[1], "dim", &raw) || !py_norm_dim(I, at, raw, x->type.rank, &d))
        return NULL;
    return pv_tensor(I, arg_extreme(I, at, x, d, max, keep));
}
TFN(t_argmax) { return argext(I, at, true, self, argc, argv, kwc, kwn, kwv); }
TFN(t_argmin) { return argext(I, at, false, self, argc, argv, kwc, kwn, kwv); }

pv *py_max_along(py_interp *I, const py_expr *at, sf_value *x, pv *dim, pv *keepdim, bool max)
{
    int64_t raw, dims[1];
    int d;
    bool keep;
    if (!py_opt_bool(I, at, keepdim, false, &keep) || !py_as_int(I, at, dim, "dim", &raw) ||
        !py_norm_dim(I, at, raw, x->type.rank, &d))
        return NULL;
    dims[0] = d;
    static const char *const fields[] = {"values", "indices", NULL};
    pv *r = pv_list_new(I, PV_TUPLE, 2);
    sf_value *v = py_reduce(I, at, max ? SF_OP_AMAX : SF_OP_AMIN, x, dims, 1, keep);
    sf_value *i = v ? arg_extreme(I, at, x, d, max, keep) : NULL;
    if (!r || !i || !pv_list_push(I, r, pv_tensor(I, v)) || !pv_list_push(I, r, pv_tensor(I, i)))
        return NULL;
    r->u.list->fields = fields;
    return r;
}

/* cumsum along d: x (d moved last) times the upper triangle of ones, whose
 * element (i, j) is i <= j: a product with a constant, at most 4096 wide */
TFN(t_cumsum)
{
    BIND("cumsum()", 2, "input", "dim", "dtype");
    sf_value *x = py_as_number(I, at, py_tv(I, at, a[0], "cumsum"));
    int64_t raw;
    int d;
    bool mask;
    if (!x || !py_as_int(I, at, a[1], "dim", &raw) || !py_norm_dim(I, at, raw, x->type.rank, &d) ||
        !index_dtype(I, at, a[2], &mask))
        return NULL;
    int64_t n = x->type.dim[d], sq[2] = {n, n};
    if (n == SF_DIM_B)
        return FAIL(SF_ERR_UNSUPPORTED, "cumsum along the batch dim is not supported");
    if (n > 4096)
        return FAIL(SF_ERR_UNSUPPORTED, "cumsum along a dim of %lld: sheaf sums at most 4096 (a product with a "
                                        "triangle of ones)", (long long)n);
    int last = x->type.rank - 1;
    sf_value *in[2] = {iota(I, at, sq, 2, 0), iota(I, at, sq, 2, 1)};
    sf_value *u = in[0] && in[1] ? py_as_number(I, at, py_emit(I, at, py_begin(I, at, SF_OP_LE, 2, in))) : NULL;
    sf_value *t = u && d != last ? py_transpose(I, at, x, d, last) : x;
    sf_value *s = u && t ? py_op2(I, at, SF_OP_MATMUL, t, u) : NULL;
    return pv_tensor(I, s && d != last ? py_transpose(I, at, s, d, last) : s);
}

/* ---- gathers ---- */

static sf_value *gather(py_interp *I, const py_expr *at, sf_value *x, sf_value *idx, int d)
{
    sf_value *in[2] = {x, py_as_number(I, at, idx)};
    sf_node *n = in[1] ? py_begin(I, at, SF_OP_GATHER, 2, in) : NULL;
    if (!n)
        return NULL;
    sf_node_set_int(n, SF_ATTR_DIM, d);
    return py_emit(I, at, n);
}

/* the input, the index tensor and the dim of a gather-like call, or false (an error set) */
static bool gather_args(py_interp *I, const py_expr *at, const char *what, pv *xv, pv *dimv, pv *idxv, sf_value **x,
                        sf_value **idx, int *d)
{
    int64_t raw;
    *x = py_tv(I, at, xv, what);
    *idx = *x ? py_tv(I, at, idxv, what) : NULL;
    return *idx && py_as_int(I, at, dimv, "dim", &raw) && py_norm_dim(I, at, raw, (*x)->type.rank, d);
}

/* index_select(x, dim, index): index a vector, viewed as [n, 1, ...] at dim */
TFN(t_index_select)
{
    BIND("index_select()", 3, "input", "dim", "index");
    sf_value *x, *idx;
    int64_t dims[SF_MAX_RANK];
    int d;
    if (!gather_args(I, at, "index_select", a[0], a[1], a[2], &x, &idx, &d))
        return NULL;
    if (idx->type.rank > 1)
        return FAIL(SF_ERR_SHAPE, "index_select(): index must be 0-D or 1-D, not %d-D", idx->type.rank);
    for (int k = 0; k < x->type.rank; k++)
        dims[k] = k == d ? (idx->type.rank ? idx->type.dim[0] : 1) : 1;
    sf_value *v = py_reshaped(I, at, idx, dims, x->type.rank);
    return v ? pv_tensor(I, gather(I, at, x, v, d)) : NULL;
}

/* gather(x, dim, index): index has x's rank and no larger a dim but dim's; x is cut to it first */
TFN(t_gather)
{
    BIND("gather()", 3, "input", "dim", "index", "sparse_grad");
    sf_value *x, *idx;
    int d;
    if (!gather_args(I, at, "gather", a[0], a[1], a[2], &x, &idx, &d))
        return NULL;
    if (idx->type.rank != x->type.rank)
        return FAIL(SF_ERR_SHAPE, "gather(): index has %d dims and input %d: they must be the same", idx->type.rank,
                    x->type.rank);
    for (int k = 0; k < x->type.rank && x; k++) {
        int64_t xi = x->type.dim[k], ii = idx->type.dim[k];
        if (k == d || xi == ii)
            continue;
        if ((xi == SF_DIM_B) != (ii == SF_DIM_B) || ii > xi)
            return FAIL(SF_ERR_SHAPE, "gather(): index dim %d is %lld, larger than the input's %lld", k, (long long)ii,
                        (long long)xi);
        x = py_slice_dim(I, at, x, k, 0, ii, 1);
    }
    return x ? pv_tensor(I, gather(I, at, x, idx, d)) : NULL;
}

/* take_along_dim(x, indices, dim): gather with broadcasting, which GATHER has */
TFN(t_take_along_dim)
{
    BIND("take_along_dim()", 3, "input", "indices", "dim");
    sf_value *x, *idx;
    int d;
    if (!gather_args(I, at, "take_along_dim", a[0], a[2], a[1], &x, &idx, &d))
        return NULL;
    if (idx->type.rank != x->type.rank)
        return FAIL(SF_ERR_SHAPE, "take_along_dim(): indices have %d dims and input %d", idx->type.rank, x->type.rank);
    return pv_tensor(I, gather(I, at, x, idx, d));
}

sf_value *py_embedding(py_interp *I, const py_expr *at, sf_value *ids, sf_value *w)
{
    if (w->type.rank != 2)
        return FAIL(SF_ERR_SHAPE, "embedding: weight must be 2-D, not %d-D", w->type.rank), NULL;
    if (w->type.dim[0] > EXACT)
        return FAIL(SF_ERR_UNSUPPORTED, "embedding of %lld rows: indices are exact below 2^24",
                    (long long)w->type.dim[0]), NULL;
    if (ids->type.rank == 0) { /* one index: one row */
        static const int64_t one[2] = {1, 1};
        sf_value *v = py_reshaped(I, at, ids, one, 2), *g = v ? gather(I, at, w, v, 0) : NULL;
        return g ? py_squeeze_dim(I, at, g, 0) : NULL;
    }
    int r = ids->type.rank;
    if (r + 1 > SF_MAX_RANK)
        return FAIL(SF_ERR_SHAPE, "embedding: indices of rank %d: above the limit", r), NULL;
    /* ids [.., n] as [.., n, 1] against the table as [1, .., V, D], along the dim of n */
    int64_t wd[SF_MAX_RANK], id[SF_MAX_RANK];
    for (int k = 0; k <= r; k++) {
        wd[k] = k == r - 1 ? w->type.dim[0] : k == r ? w->type.dim[1] : 1;
        id[k] = k < r ? ids->type.dim[k] : 1;
    }
    sf_value *table = py_reshaped(I, at, w, wd, r + 1), *v = table ? py_reshaped(I, at, ids, id, r + 1) : NULL;
    return v ? gather(I, at, table, v, r - 1) : NULL;
}

/* F.embedding(input, weight) without max_norm (which rewrites the weight) */
TFN(t_embedding)
{
    (void)self;
    BIND("embedding()", 2, "input", "weight", "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse");
    sf_value *ids = py_tv(I, at, a[0], "embedding"), *w = ids ? py_tv(I, at, a[1], "embedding") : NULL;
    if (!w)
        return NULL;
    if (a[3] && a[3]->k != PV_NONE)
        return FAIL(SF_ERR_UNSUPPORTED, "embedding(max_norm=...) renormalises the weight in place: not supported");
    return pv_tensor(I, py_embedding(I, at, ids, w));
}

/* .long(), .int(), .to(torch.long): truncation toward zero, kept in f32 */
sf_value *py_truncate(py_interp *I, const py_expr *at, sf_value *x)
{
    x = py_as_number(I, at, x);
    sf_value *s = x ? py_op1(I, at, SF_OP_SIGN, x) : NULL;
    sf_value *m = s ? py_op1(I, at, SF_OP_FLOOR, py_op1(I, at, SF_OP_ABS, x)) : NULL;
    return m ? py_op2(I, at, SF_OP_MUL, s, m) : NULL;
}
TFN(t_long)
{
    BIND("long()", 1, "input", "memory_format");
    return pv_tensor(I, py_truncate(I, at, py_tv(I, at, a[0], "long()")));
}

static const py_fn_row fns[] = {
    {{"arange", t_arange}, IN_TORCH},
    {{"eye", t_eye}, IN_TORCH},
    {{"argmax", t_argmax}, IN_TORCH | IN_METHOD},
    {{"argmin", t_argmin}, IN_TORCH | IN_METHOD},
    {{"cumsum", t_cumsum}, IN_TORCH | IN_METHOD},
    {{"index_select", t_index_select}, IN_TORCH | IN_METHOD},
    {{"gather", t_gather}, IN_TORCH | IN_METHOD},
    {{"take_along_dim", t_take_along_dim}, IN_TORCH | IN_METHOD},
    {{"embedding", t_embedding}, IN_F},
    {{"long", t_long}, IN_METHOD},
    {{"int", t_long}, IN_METHOD},
};

pv *py_index_fn(py_interp *I, int where, const char *name, pv *self)
{
    return py_fn_lookup(I, fns, sizeof fns / sizeof fns[0], where, name, self);
}
