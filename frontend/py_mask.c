/* Masks and constants in forward: comparisons (x > 0, torch.eq...), the
 * bitwise operators on masks (~ & | ^), where and masked_fill, isnan and
 * kin, dtype conversions (float, bool, to), tril/triu, and the tensors
 * made in forward (torch.zeros(x.size(0), 4), ones_like...).
 *
 * A mask is an IR value of dtype bool (ir.h). PyTorch promotes bool to
 * float in arithmetic, and so does py_begin (py_as_number): x * mask and
 * mask.sum() work as they do there. */
#include <math.h>
#include <string.h>

#include "frontend/py_torch.h"

sf_value *py_as_number(py_interp *I, const py_expr *at, sf_value *v)
{
    if (!v || v->type.dtype != SF_BOOL)
        return v;
    sf_value *in[3] = {v, py_scalar(I, at, 1.0), py_scalar(I, at, 0.0)};
    return in[1] && in[2] ? py_emit(I, at, py_begin(I, at, SF_OP_WHERE, 3, in)) : NULL;
}

/* v as a mask: bool stays, numbers are true where nonzero (torch.logical_*) */
static sf_value *as_mask(py_interp *I, const py_expr *at, sf_value *v)
{
    if (!v || v->type.dtype == SF_BOOL)
        return v;
    sf_value *z = py_scalar(I, at, 0.0);
    return z ? py_op2(I, at, SF_OP_NE, v, z) : NULL;
}

/* a tensor or a Python number (True is 1) as an IR value */
static sf_value *operand(py_interp *I, const py_expr *at, pv *v, const char *what)
{
    if (pv_is_number(v))
        return py_scalar(I, at, pv_as_double(v));
    return py_tv(I, at, v, what);
}

static sf_opcode compare_op(py_binop op)
{
    switch (op) {
    case PB_EQ: return SF_OP_EQ;
    case PB_NE: return SF_OP_NE;
    case PB_LT: return SF_OP_LT;
    case PB_LE: return SF_OP_LE;
    case PB_GT: return SF_OP_GT;
    default: return SF_OP_GE;
    }
}

pv *py_tensor_compare(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b)
{
    if (op < PB_EQ || op > PB_GE)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "this comparison is not supported on tensors");
    sf_value *x = operand(I, at, a, "comparison"), *y = x ? operand(I, at, b, "comparison") : NULL;
    return y ? pv_tensor(I, py_op2(I, at, compare_op(op), x, y)) : NULL;
}

/* & | ^ ~ on masks as and = minimum, or = maximum, xor = ne, not = (m == 0) */
pv *py_tensor_bitop(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b)
{
    sf_value *x = py_tv(I, at, a, "bitwise operator"), *y = NULL;
    if (!x)
        return NULL;
    if (op != PB_INVERT && !(y = py_tv(I, at, b, "bitwise operator")))
        return NULL;
    if (x->type.dtype != SF_BOOL || (y && y->type.dtype != SF_BOOL))
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "bitwise operators on float tensors: PyTorch refuses them too (they are for masks)");
    switch (op) {
    case PB_INVERT: {
        sf_value *z = py_scalar(I, at, 0.0);
        return z ? pv_tensor(I, py_op2(I, at, SF_OP_EQ, x, z)) : NULL;
    }
    case PB_BITAND: return pv_tensor(I, py_op2(I, at, SF_OP_MINIMUM, x, y));
    case PB_BITOR: return pv_tensor(I, py_op2(I, at, SF_OP_MAXIMUM, x, y));
    default: return pv_tensor(I, py_op2(I, at, SF_OP_NE, x, y));
    }
}

/* ---- the functions ---- */

#define CMP_FN(fname, OP)                                                        \
    TFN(t_##fname)                                                               \
    {                                                                            \
        BIND(#fname "()", 2, "input", "other");                                  \
        return py_tensor_compare(I, at, OP, a[0], a[1]);                         \
    }
CMP_FN(eq, PB_EQ)
CMP_FN(ne, PB_NE)
CMP_FN(lt, PB_LT)
CMP_FN(le, PB_LE)
CMP_FN(gt, PB_GT)
CMP_FN(ge, PB_GE)

TFN(t_logical_not)
{
    BIND("logical_not()", 1, "input");
    sf_value *m = as_mask(I, at, py_tv(I, at, a[0], "logical_not")), *z = m ? py_scalar(I, at, 0.0) : NULL;
    return z ? pv_tensor(I, py_op2(I, at, SF_OP_EQ, m, z)) : NULL;
}

static pv *logical(py_interp *I, const py_expr *at, const char *what, sf_opcode op, pv **a)
{
    sf_value *x = as_mask(I, at, py_tv(I, at, a[0], what)), *y = x ? as_mask(I, at, py_tv(I, at, a[1], what)) : NULL;
    return y ? pv_tensor(I, py_op2(I, at, op, x, y)) : NULL;
}

TFN(t_logical_and) { BIND("logical_and()", 2, "input", "other"); return logical(I, at, "logical_and", SF_OP_MINIMUM, a); }
TFN(t_logical_or) { BIND("logical_or()", 2, "input", "other"); return logical(I, at, "logical_or", SF_OP_MAXIMUM, a); }
TFN(t_logical_xor) { BIND("logical_xor()", 2, "input", "other"); return logical(I, at, "logical_xor", SF_OP_NE, a); }

/* where(c, a, b) with a or b a number: PyTorch gives the tensor's dtype */
static pv *select(py_interp *I, const py_expr *at, pv *cond, pv *a, pv *b)
{
    sf_value *c = py_tv(I, at, cond, "where condition");
    if (!c)
        return NULL;
    if (c->type.dtype != SF_BOOL)
        return py_error(I, at, SF_ERR_INVALID_ARG, "where() needs a bool condition (a comparison), got a float tensor");
    sf_value *in[3] = {c, operand(I, at, a, "where"), NULL};
    if (!in[1] || !(in[2] = operand(I, at, b, "where")))
        return NULL;
    if (in[1]->type.dtype != in[2]->type.dtype) { /* a mask against a number: numbers win */
        in[1] = py_as_number(I, at, in[1]);
        in[2] = in[1] ? py_as_number(I, at, in[2]) : NULL;
    }
    return in[2] ? pv_tensor(I, py_emit(I, at, py_begin(I, at, SF_OP_WHERE, 3, in))) : NULL;
}

TFN(t_where)
{
    BIND("where()", 1, "condition", "input", "other");
    if (!a[1] || !a[2])
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "torch.where(condition) alone gives indices whose count depends on the data: give both values");
    return select(I, at, a[0], a[1], a[2]);
}

/* Tensor.where(condition, y): self where condition holds, else y */
TFN(t_where_method)
{
    BIND("where()", 3, "input", "condition", "other");
    return select(I, at, a[1], a[0], a[2]);
}

TFN(t_masked_fill)
{
    BIND("masked_fill()", 3, "input", "mask", "value");
    return select(I, at, a[1], a[2], a[0]);
}

TFN(t_masked_fill_)
{
    BIND("masked_fill_()", 3, "input", "mask", "value");
    pv *r = select(I, at, a[1], a[2], a[0]);
    return r ? py_tensor_inplace(I, at, a[0], r->u.t->v) : NULL;
}

static pv *nan_test(py_interp *I, const py_expr *at, pv **a, const char *what, sf_opcode op, bool absolute)
{
    sf_value *x = py_as_number(I, at, py_tv(I, at, a[0], what));
    if (x && absolute)
        x = py_op1(I, at, SF_OP_ABS, x);
    sf_value *y = x && absolute ? py_scalar(I, at, INFINITY) : x;
    return y ? pv_tensor(I, py_op2(I, at, op, x, y)) : NULL;
}

/* NaN is the one value unequal to itself; |x| < inf is false for NaN too */
TFN(t_isnan) { BIND("isnan()", 1, "input"); return nan_test(I, at, a, "isnan", SF_OP_NE, false); }
TFN(t_isinf) { BIND("isinf()", 1, "input"); return nan_test(I, at, a, "isinf", SF_OP_EQ, true); }
TFN(t_isfinite) { BIND("isfinite()", 1, "input"); return nan_test(I, at, a, "isfinite", SF_OP_LT, true); }

/* ---- dtypes ---- */

/* a dtype argument: torch.float32 and torch.bool are the two sheaf computes */
static bool dtype_of(py_interp *I, const py_expr *at, pv *v, sf_dtype *out)
{
    if (v && v->k == PV_STR && strcmp(v->u.s.s, "float32") == 0) {
        *out = SF_F32;
        return true;
    }
    if (v && v->k == PV_STR && strcmp(v->u.s.s, "bool") == 0) {
        *out = SF_BOOL;
        return true;
    }
    py_error(I, at, SF_ERR_UNSUPPORTED, "dtype %s: sheaf computes float32 and bool tensors",
             v && v->k == PV_STR ? v->u.s.s : v ? pv_describe(I, v) : "None");
    return false;
}

static pv *convert(py_interp *I, const py_expr *at, pv *t, sf_dtype to)
{
    sf_value *x = py_tv(I, at, t, "dtype conversion");
    if (!x)
        return NULL;
    if (x->type.dtype == to)
        return t;
    return pv_tensor(I, to == SF_BOOL ? as_mask(I, at, x) : py_as_number(I, at, x));
}

TFN(t_float) { BIND("float()", 1, "input", "memory_format"); return convert(I, at, a[0], SF_F32); }
TFN(t_bool) { BIND("bool()", 1, "input", "memory_format"); return convert(I, at, a[0], SF_BOOL); }

/* to(dtype), to(device), to(other), to(device, dtype), with the keywords */
TFN(t_to)
{
    BIND("to()", 1, "input", "dtype", "non_blocking", "copy", "memory_format", "device");
    sf_dtype want;
    pv *d = a[1];
    if (d && d->k == PV_TENSOR) {
        sf_value *o = py_tv(I, at, d, "to()");
        return o ? convert(I, at, a[0], o->type.dtype) : NULL;
    }
    if (d && d->k == PV_STR && !py_is_dtype(d->u.s.s))
        d = a[2] && a[2]->k == PV_STR ? a[2] : NULL; /* to("cpu"), to("cuda", torch.float32) */
    if (!d || d->k == PV_NONE)
        return py_tv(I, at, a[0], "to()") ? a[0] : NULL;
    if (d->k == PV_STR && (strncmp(d->u.s.s, "int", 3) == 0 || strcmp(d->u.s.s, "uint8") == 0)) /* torch.long */
        return pv_tensor(I, py_truncate(I, at, py_tv(I, at, a[0], "to()")));
    return dtype_of(I, at, d, &want) ? convert(I, at, a[0], want) : NULL;
}

/* ---- tril, triu and tensors made in forward ---- */

static pv *triangle(py_interp *I, const py_expr *at, pv **a, sf_opcode op, const char *what)
{
    if (a[0]->k == PV_INIT && a[0]->u.init->type.rank >= 2)
        return py_init_derived(I, a[0]);
    sf_value *x = py_tv(I, at, a[0], what);
    int64_t k = 0;
    if (!x || (a[1] && !py_as_int(I, at, a[1], "diagonal", &k)))
        return NULL;
    sf_node *n = py_begin(I, at, op, 1, &x);
    if (n)
        sf_node_set_int(n, SF_ATTR_DIAGONAL, k);
    return pv_tensor(I, py_emit(I, at, n));
}

TFN(t_tril) { BIND("tril()", 1, "input", "diagonal"); return triangle(I, at, a, SF_OP_TRIL, "tril"); }
TFN(t_triu) { BIND("triu()", 1, "input", "diagonal"); return triangle(I, at, a, SF_OP_TRIU, "triu"); }

sf_value *py_full(py_interp *I, const py_expr *at, const int64_t *dims, int rank, double value, pv *dtype,
                  sf_dtype dflt)
{
    sf_dtype want = dflt;
    if (dtype && dtype->k != PV_NONE && !dtype_of(I, at, dtype, &want))
        return NULL;
    sf_node *n = py_begin(I, at, SF_OP_FULL, 0, NULL);
    if (!n || !sf_node_set_ints(I->g, n, SF_ATTR_SHAPE, dims, rank))
        return NULL;
    sf_node_set_float(n, SF_ATTR_VALUE, value);
    sf_value *f = py_emit(I, at, n);
    return want == SF_BOOL ? as_mask(I, at, f) : f;
}

/* x's shape filled with value, of x's dtype unless dtype says */
static pv *like(py_interp *I, const py_expr *at, pv *t, pv *dtype, double value, const char *what)
{
    sf_value *x = py_tv(I, at, t, what);
    sf_value *f = x ? py_full(I, at, x->type.dim, x->type.rank, value, dtype, x->type.dtype) : NULL;
    return f ? pv_tensor(I, f) : NULL;
}

TFN(t_zeros_like) { BIND("zeros_like()", 1, "input", "dtype", "device", "requires_grad"); return like(I, at, a[0], a[1], 0, "zeros_like"); }
TFN(t_ones_like) { BIND("ones_like()", 1, "input", "dtype", "device", "requires_grad"); return like(I, at, a[0], a[1], 1, "ones_like"); }
TFN(t_empty_like) { BIND("empty_like()", 1, "input", "dtype", "device", "requires_grad"); return like(I, at, a[0], a[1], 0, "empty_like"); }
TFN(t_full_like)
{
    BIND("full_like()", 2, "input", "fill_value", "dtype", "device", "requires_grad");
    if (!pv_is_number(a[1]))
        return py_error(I, at, SF_ERR_INVALID_ARG, "full_like(input, fill_value): fill_value must be a number");
    return like(I, at, a[0], a[2], pv_as_double(a[1]), "full_like");
}

static const py_fn_row fns[] = {
    {{"eq", t_eq}, PY_IN_TORCH | PY_IN_METHOD},
    {{"ne", t_ne}, PY_IN_TORCH | PY_IN_METHOD},
    {{"not_equal", t_ne}, PY_IN_TORCH | PY_IN_METHOD},
    {{"lt", t_lt}, PY_IN_TORCH | PY_IN_METHOD},
    {{"less", t_lt}, PY_IN_TORCH | PY_IN_METHOD},
    {{"le", t_le}, PY_IN_TORCH | PY_IN_METHOD},
    {{"less_equal", t_le}, PY_IN_TORCH | PY_IN_METHOD},
    {{"gt", t_gt}, PY_IN_TORCH | PY_IN_METHOD},
    {{"greater", t_gt}, PY_IN_TORCH | PY_IN_METHOD},
    {{"ge", t_ge}, PY_IN_TORCH | PY_IN_METHOD},
    {{"greater_equal", t_ge}, PY_IN_TORCH | PY_IN_METHOD},
    {{"logical_not", t_logical_not}, PY_IN_TORCH | PY_IN_METHOD},
    {{"logical_and", t_logical_and}, PY_IN_TORCH | PY_IN_METHOD},
    {{"logical_or", t_logical_or}, PY_IN_TORCH | PY_IN_METHOD},
    {{"logical_xor", t_logical_xor}, PY_IN_TORCH | PY_IN_METHOD},
    {{"where", t_where}, PY_IN_TORCH},
    {{"where", t_where_method}, PY_IN_METHOD},
    {{"masked_fill", t_masked_fill}, PY_IN_TORCH | PY_IN_METHOD},
    {{"masked_fill_", t_masked_fill_}, PY_IN_METHOD},
    {{"isnan", t_isnan}, PY_IN_TORCH | PY_IN_METHOD},
    {{"isinf", t_isinf}, PY_IN_TORCH | PY_IN_METHOD},
    {{"isfinite", t_isfinite}, PY_IN_TORCH | PY_IN_METHOD},
    {{"float", t_float}, PY_IN_METHOD},
    {{"bool", t_bool}, PY_IN_METHOD},
    {{"to", t_to}, PY_IN_METHOD},
    {{"type_as", t_to}, PY_IN_METHOD},
    {{"tril", t_tril}, PY_IN_TORCH | PY_IN_METHOD},
    {{"triu", t_triu}, PY_IN_TORCH | PY_IN_METHOD},
    {{"zeros_like", t_zeros_like}, PY_IN_TORCH},
    {{"ones_like", t_ones_like}, PY_IN_TORCH},
    {{"empty_like", t_empty_like}, PY_IN_TORCH},
    {{"full_like", t_full_like}, PY_IN_TORCH},
};

pv *py_mask_fn(py_interp *I, int where, const char *name, pv *self)
{
    return py_fn_lookup(I, fns, sizeof fns / sizeof fns[0], where, name, self);
}
