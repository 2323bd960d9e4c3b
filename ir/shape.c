/* Shape rules: one function per op of ops.def. Each error names the op and
 * the shapes that disagree. */
#include "ir/ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct { char s[160]; } tbuf;

static const char *T(const sf_value *v, tbuf *b) { return sf_type_str(&v->type, b->s, sizeof b->s); }

static sf_status fail(sf_error *err, const sf_node *n, const char *fmt, ...) SF_PRINTF(3, 4);

/* The shape rules report through this; the message starts with the op name. */
static sf_status fail(sf_error *err, const sf_node *n, const char *fmt, ...)
{
    char msg[SF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sf_fail(err, SF_ERR_SHAPE, "%s: %s", sf_ops[n->op].name, msg);
}

typedef sf_status (*shape_fn)(const sf_node *n, sf_type *out, sf_error *err);

int sf_node_result_count(const sf_node *n)
{
    if (sf_ops[n->op].nres > 0)
        return sf_ops[n->op].nres;
    const sf_attr *sizes = sf_attr_sizes(n);
    return sizes ? sizes->n : 0;
}

static bool same_dtype(const sf_node *n)
{
    for (int i = 1; i < n->nin; i++)
        if (n->in[i]->type.dtype != n->in[0]->type.dtype)
            return false;
    return true;
}

static sf_status need_dtypes(const sf_node *n, sf_error *err)
{
    if (same_dtype(n))
        return SF_OK;
    tbuf a, b;
    for (int i = 1; i < n->nin; i++)
        if (n->in[i]->type.dtype != n->in[0]->type.dtype)
            return fail(err, n, "operand %d is %s but operand 0 is %s: dtypes must match", i, T(n->in[i], &a),
                        T(n->in[0], &b));
    return SF_OK;
}

static bool is_const_dim(int64_t d) { return d >= 0; }

/* A dim index attribute in [0, limit). */
static sf_status check_dim(sf_error *err, const sf_node *n, const char *attr, int64_t d, int limit)
{
    tbuf a;
    if (d < 0 || d >= limit)
        return fail(err, n, "%s=%lld is out of range for %s (valid: 0..%d)", attr, (long long)d, T(n->in[0], &a),
                    limit - 1);
    return SF_OK;
}

static sf_status shape_INPUT(const sf_node *n, sf_type *out, sf_error *err)
{
    (void)err;
    *out = n->out[0]->type;
    return SF_OK;
}
#define shape_PARAM shape_INPUT

static sf_status shape_SCALAR(const sf_node *n, sf_type *out, sf_error *err)
{
    (void)n;
    (void)err;
    out->dtype = SF_F32;
    out->rank = 0;
    return SF_OK;
}

static sf_status shape_LINEAR(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type, *w = &n->in[1]->type;
    tbuf a, b;
    if (x->rank < 1 || w->rank != 2)
        return fail(err, n, "input %s and weight %s: need input [..., in] and weight [out, in]", T(n->in[0], &a),
                    T(n->in[1], &b));
    if (x->dim[x->rank - 1] != w->dim[1])
        return fail(err, n, "input %s does not fit weight %s: in_features is %lld", T(n->in[0], &a), T(n->in[1], &b),
                    (long long)w->dim[1]);
    if (n->nin == 3) {
        const sf_type *bias = &n->in[2]->type;
        if (bias->rank != 1 || bias->dim[0] != w->dim[0])
            return fail(err, n, "bias %s does not fit weight %s: need [%lld]", T(n->in[2], &a), T(n->in[1], &b),
                        (long long)w->dim[0]);
    }
    sf_status st = need_dtypes(n, err);
    *out = *x;
    out->dim[x->rank - 1] = w->dim[0];
    return st;
}

/* numpy broadcasting of two dims; B fits only B or 1 */
static bool broadcast_dim(int64_t a, int64_t b, int64_t *r)
{
    if (a == b) *r = a;
    else if (a == 1) *r = b;
    else if (b == 1) *r = a;
    else return false;
    return true;
}

static bool broadcast(const int64_t *a, int ra, const int64_t *b, int rb, int64_t *r, int *rr)
{
    int n = ra > rb ? ra : rb;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - ra ? 1 : a[i - (n - ra)];
        int64_t db = i < n - rb ? 1 : b[i - (n - rb)];
        if (!broadcast_dim(da, db, &r[i]))
            return false;
    }
    *rr = n;
    return true;
}

static sf_status shape_MATMUL(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type, *y = &n->in[1]->type;
    tbuf a, b;
    if (x->rank < 2 || y->rank < 2)
        return fail(err, n, "%s @ %s: both operands need rank 2 or more", T(n->in[0], &a), T(n->in[1], &b));
    /* the inner dim may be B on both sides: a product that sums over the batch (weight gradients) */
    if (x->dim[x->rank - 1] != y->dim[y->rank - 2])
        return fail(err, n, "%s @ %s: inner dims differ", T(n->in[0], &a), T(n->in[1], &b));
    int rr;
    if (!broadcast(x->dim, x->rank - 2, y->dim, y->rank - 2, out->dim, &rr))
        return fail(err, n, "%s @ %s: batch dims do not broadcast", T(n->in[0], &a), T(n->in[1], &b));
    out->dtype = x->dtype;
    out->rank = rr + 2;
    out->dim[rr] = x->dim[x->rank - 2];
    out->dim[rr + 1] = y->dim[y->rank - 1];
    return need_dtypes(n, err);
}

static sf_status shape_GROUPED_LINEAR(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type, *w = &n->in[1]->type;
    bool shared = sf_attr_shared(n) != 0;
    tbuf a, b;
    if (w->rank != 3)
        return fail(err, n, "weight %s: need [G, out, in]", T(n->in[1], &b));
    int64_t G = w->dim[0], O = w->dim[1], I = w->dim[2];
    if (shared) {
        if (x->rank < 1 || x->dim[x->rank - 1] != I || x->rank + 1 > SF_MAX_RANK)
            return fail(err, n, "shared input %s does not fit weight %s: need [..., %lld]", T(n->in[0], &a),
                        T(n->in[1], &b), (long long)I);
    } else if (x->rank < 2 || x->dim[x->rank - 1] != I || x->dim[x->rank - 2] != G) {
        return fail(err, n, "per-group input %s does not fit weight %s: need [..., %lld, %lld]", T(n->in[0], &a),
                    T(n->in[1], &b), (long long)G, (long long)I);
    }
    if (n->nin == 3) {
        const sf_type *bias = &n->in[2]->type;
        if (bias->rank != 2 || bias->dim[0] != G || bias->dim[1] != O)
            return fail(err, n, "bias %s does not fit weight %s: need [%lld,%lld]", T(n->in[2], &a), T(n->in[1], &b),
                        (long long)G, (long long)O);
    }
    *out = *x;
    if (shared) {
        out->rank = x->rank + 1;
        out->dim[x->rank - 1] = G;
    }
    out->dim[out->rank - 1] = O;
    return need_dtypes(n, err);
}

static sf_status shape_conv(const sf_node *n, sf_type *out, int sp, sf_error *err)
{
    const sf_type *x = &n->in[0]->type, *w = &n->in[1]->type;
    const sf_attr *stride = sf_attr_stride(n), *pad = sf_attr_padding(n),
                  *dil = sf_attr_dilation(n);
    int64_t groups = sf_attr_groups(n);
    tbuf a, b;
    if (stride->n != sp || pad->n != sp || dil->n != sp)
        return fail(err, n, "stride, padding and dilation need %d value(s) each", sp);
    if (x->rank != sp + 2 || w->rank != sp + 2)
        return fail(err, n, "input %s and weight %s: need rank %d each ([N, C, spatial...] and [O, C/groups, kernel...])",
                    T(n->in[0], &a), T(n->in[1], &b), sp + 2);
    for (int i = 1; i < x->rank; i++)
        if (!is_const_dim(x->dim[i]))
            return fail(err, n, "input %s: only dim 0 may be the batch B", T(n->in[0], &a));
    int64_t C = x->dim[1], O = w->dim[0];
    if (groups < 1 || C % groups || O % groups)
        return fail(err, n, "groups=%lld must divide input channels %lld and output channels %lld", (long long)groups,
                    (long long)C, (long long)O);
    if (w->dim[1] != C / groups)
        return fail(err, n, "input %s does not fit weight %s: weight dim 1 must be C/groups = %lld", T(n->in[0], &a),
                    T(n->in[1], &b), (long long)(C / groups));
    if (n->nin == 3 && (n->in[2]->type.rank != 1 || n->in[2]->type.dim[0] != O))
        return fail(err, n, "bias %s does not fit weight %s: need [%lld]", T(n->in[2], &a), T(n->in[1], &b),
                    (long long)O);
    *out = *x;
    out->dim[1] = O;
    for (int i = 0; i < sp; i++) {
        if (stride->ints[i] < 1 || dil->ints[i] < 1 || pad->ints[i] < 0)
            return fail(err, n, "stride and dilation must be >= 1 and padding >= 0");
        int64_t span = dil->ints[i] * (w->dim[2 + i] - 1) + 1;
        int64_t len = x->dim[2 + i] + 2 * pad->ints[i] - span;
        if (w->dim[2 + i] < 1 || len < 0)
            return fail(err, n, "kernel of weight %s is larger than padded input %s", T(n->in[1], &b), T(n->in[0], &a));
        out->dim[2 + i] = len / stride->ints[i] + 1;
    }
    return need_dtypes(n, err);
}

static sf_status shape_CONV1D(const sf_node *n, sf_type *out, sf_error *err) { return shape_conv(n, out, 1, err); }
static sf_status shape_CONV2D(const sf_node *n, sf_type *out, sf_error *err) { return shape_conv(n, out, 2, err); }

static sf_status shape_BATCHNORM(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    tbuf a, b;
    if (n->nin == 4)
        return fail(err, n, "takes input, mean, var, and either both weight and bias or neither");
    if (x->rank < 2 || !is_const_dim(x->dim[1]))
        return fail(err, n, "input %s: need [N, C, ...] with a constant C", T(n->in[0], &a));
    for (int i = 1; i < n->nin; i++) {
        const sf_type *p = &n->in[i]->type;
        if (p->rank != 1 || p->dim[0] != x->dim[1])
            return fail(err, n, "operand %d %s does not fit input %s: need [%lld]", i, T(n->in[i], &b), T(n->in[0], &a),
                        (long long)x->dim[1]);
    }
    if (sf_attr_eps(n) < 0)
        return fail(err, n, "eps must be >= 0");
    *out = *x;
    return need_dtypes(n, err);
}

static sf_status shape_LAYERNORM(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t nd = sf_attr_ndim(n);
    tbuf a, b;
    if (nd < 1 || nd > x->rank)
        return fail(err, n, "ndim=%lld does not fit input %s", (long long)nd, T(n->in[0], &a));
    for (int i = x->rank - (int)nd; i < x->rank; i++)
        if (!is_const_dim(x->dim[i]))
            return fail(err, n, "input %s: the normalised dims cannot include B", T(n->in[0], &a));
    for (int i = 1; i < n->nin; i++) {
        const sf_type *p = &n->in[i]->type;
        bool ok = p->rank == nd;
        for (int k = 0; ok && k < nd; k++)
            ok = p->dim[k] == x->dim[x->rank - nd + k];
        if (!ok)
            return fail(err, n, "operand %d %s does not fit the last %lld dim(s) of input %s", i, T(n->in[i], &b),
                        (long long)nd, T(n->in[0], &a));
    }
    if (sf_attr_eps(n) < 0)
        return fail(err, n, "eps must be >= 0");
    *out = *x;
    return need_dtypes(n, err);
}

static sf_status shape_binary(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type, *y = &n->in[1]->type;
    tbuf a, b;
    if (!broadcast(x->dim, x->rank, y->dim, y->rank, out->dim, &out->rank))
        return fail(err, n, "%s and %s do not broadcast", T(n->in[0], &a), T(n->in[1], &b));
    out->dtype = x->dtype;
    return need_dtypes(n, err);
}
#define shape_ADD shape_binary
#define shape_SUB shape_binary
#define shape_MUL shape_binary
#define shape_DIV shape_binary
#define shape_MAXIMUM shape_binary
#define shape_MINIMUM shape_binary

/* a comparison: any mix of f32 and bool operands, a bool result */
static sf_status shape_compare(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type, *y = &n->in[1]->type;
    tbuf a, b;
    if (!broadcast(x->dim, x->rank, y->dim, y->rank, out->dim, &out->rank))
        return fail(err, n, "%s and %s do not broadcast", T(n->in[0], &a), T(n->in[1], &b));
    out->dtype = SF_BOOL;
    return SF_OK;
}
#define shape_EQ shape_compare
#define shape_NE shape_compare
#define shape_LT shape_compare
#define shape_LE shape_compare
#define shape_GT shape_compare
#define shape_GE shape_compare

static sf_status shape_WHERE(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *c = &n->in[0]->type, *x = &n->in[1]->type, *y = &n->in[2]->type;
    tbuf a, b, d;
    int64_t xy[SF_MAX_RANK];
    int rxy;
    if (c->dtype != SF_BOOL)
        return fail(err, n, "the condition %s must be bool (a comparison's result)", T(n->in[0], &a));
    if (x->dtype != y->dtype)
        return fail(err, n, "%s and %s: the two choices must have one dtype", T(n->in[1], &a), T(n->in[2], &b));
    if (!broadcast(x->dim, x->rank, y->dim, y->rank, xy, &rxy) ||
        !broadcast(c->dim, c->rank, xy, rxy, out->dim, &out->rank))
        return fail(err, n, "%s, %s and %s do not broadcast", T(n->in[0], &a), T(n->in[1], &b), T(n->in[2], &d));
    out->dtype = x->dtype;
    return SF_OK;
}

static sf_status shape_FULL(const sf_node *n, sf_type *out, sf_error *err)
{
    if (n->op == SF_OP_IOTA && (sf_attr_dim(n) >= sf_attr_shape(n)->n || sf_attr_shape(n)->ints[sf_attr_dim(n)] == SF_DIM_B))
        return fail(err, n, "dim %lld is not a dim of the shape, or is the batch", (long long)sf_attr_dim(n));
    const sf_attr *s = sf_attr_shape(n);
    if (s->n > SF_MAX_RANK)
        return fail(err, n, "shape has %d dims, above the limit %d", s->n, SF_MAX_RANK);
    out->dtype = SF_F32;
    out->rank = s->n;
    for (int i = 0; i < s->n; i++) {
        if (s->ints[i] < 0 && s->ints[i] != SF_DIM_B)
            return fail(err, n, "shape dim %d is %lld: dims are B or >= 0", i, (long long)s->ints[i]);
        out->dim[i] = s->ints[i];
    }
    return SF_OK;
}

static sf_status shape_tri(const sf_node *n, sf_type *out, sf_error *err)
{
    tbuf a;
    if (n->in[0]->type.rank < 2)
        return fail(err, n, "%s has fewer than 2 dims", T(n->in[0], &a));
    *out = n->in[0]->type;
    return SF_OK;
}
#define shape_IOTA shape_FULL

static sf_status shape_GATHER(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type, *idx = &n->in[1]->type;
    int d = (int)sf_attr_dim(n);
    tbuf a, b;
    if (x->rank != idx->rank || d >= x->rank)
        return fail(err, n, "%s and indices %s: one rank, and dim %d within it", T(n->in[0], &a), T(n->in[1], &b), d);
    if (idx->dtype != SF_F32 || x->dtype != SF_F32)
        return fail(err, n, "%s and indices %s must be f32", T(n->in[0], &a), T(n->in[1], &b));
    if (x->dim[d] == SF_DIM_B)
        return fail(err, n, "%s: gathering along the batch dim is not supported", T(n->in[0], &a));
    *out = *x;
    for (int k = 0; k < x->rank; k++)
        if (k == d)
            out->dim[k] = idx->dim[k];
        else if (!broadcast_dim(x->dim[k], idx->dim[k], &out->dim[k]))
            return fail(err, n, "%s and indices %s do not broadcast in dim %d", T(n->in[0], &a), T(n->in[1], &b), k);
    return SF_OK;
}
#define shape_TRIL shape_tri
#define shape_TRIU shape_tri

static sf_status shape_unary(const sf_node *n, sf_type *out, sf_error *err)
{
    (void)err;
    *out = n->in[0]->type;
    return SF_OK;
}
#define shape_RELU shape_unary
#define shape_GELU shape_unary
#define shape_TANH shape_unary
#define shape_SIGMOID shape_unary
#define shape_SILU shape_unary
#define shape_LEAKY_RELU shape_unary
#define shape_ELU shape_unary
#define shape_CLAMP shape_unary
#define shape_ABS shape_unary
#define shape_NEG shape_unary
#define shape_SIGN shape_unary
#define shape_FLOOR shape_unary
#define shape_ROUND shape_unary
#define shape_SQRT shape_unary
#define shape_RSQRT shape_unary
#define shape_RECIPROCAL shape_unary
#define shape_EXP shape_unary
#define shape_LOG shape_unary
#define shape_LOG1P shape_unary
#define shape_SIN shape_unary
#define shape_COS shape_unary
#define shape_SOFTSIGN shape_unary
#define shape_TANHSHRINK shape_unary
#define shape_HARDSIGMOID shape_unary
#define shape_HARDSWISH shape_unary
#define shape_MISH shape_unary
#define shape_GELU_TANH shape_unary
#define shape_SOFTPLUS shape_unary
#define shape_SOFTSHRINK shape_unary
#define shape_HARDSHRINK shape_unary
#define shape_THRESHOLD shape_unary
#define shape_LOGSIGMOID shape_unary

static sf_status shape_SOFTMAX(const sf_node *n, sf_type *out, sf_error *err)
{
    *out = n->in[0]->type;
    return check_dim(err, n, "dim", sf_attr_dim(n), out->rank);
}
#define shape_LOG_SOFTMAX shape_SOFTMAX

static sf_status shape_SLICE(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t d = sf_attr_dim(n), start = sf_attr_start(n), end = sf_attr_end(n),
            step = sf_attr_step(n);
    tbuf a;
    sf_status st = check_dim(err, n, "dim", d, x->rank);
    if (st != SF_OK)
        return st;
    if (!is_const_dim(x->dim[d]))
        return fail(err, n, "cannot slice the batch dim of %s", T(n->in[0], &a));
    if (step < 1 || start < 0 || start > end || end > x->dim[d])
        return fail(err, n, "start=%lld end=%lld step=%lld do not fit dim %lld of %s (need 0 <= start <= end <= %lld, step >= 1)",
                    (long long)start, (long long)end, (long long)step, (long long)d, T(n->in[0], &a),
                    (long long)x->dim[d]);
    *out = *x;
    out->dim[d] = (end - start + step - 1) / step;
    return SF_OK;
}

static sf_status shape_SPLIT(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t d = sf_attr_dim(n);
    const sf_attr *sizes = sf_attr_sizes(n);
    tbuf a;
    sf_status st = check_dim(err, n, "dim", d, x->rank);
    if (st != SF_OK)
        return st;
    if (!is_const_dim(x->dim[d]))
        return fail(err, n, "cannot split the batch dim of %s", T(n->in[0], &a));
    int64_t total = 0;
    for (int i = 0; i < sizes->n; i++) {
        if (sizes->ints[i] < 1 || sizes->ints[i] > x->dim[d])
            return fail(err, n, "size %lld at position %d does not fit dim %lld of %s", (long long)sizes->ints[i], i,
                        (long long)d, T(n->in[0], &a));
        total += sizes->ints[i];
        out[i] = *x;
        out[i].dim[d] = sizes->ints[i];
    }
    if (total != x->dim[d])
        return fail(err, n, "sizes add up to %lld but dim %lld of %s is %lld", (long long)total, (long long)d,
                    T(n->in[0], &a), (long long)x->dim[d]);
    return SF_OK;
}

static sf_status shape_CONCAT(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t d = sf_attr_dim(n);
    tbuf a, b;
    sf_status st = check_dim(err, n, "dim", d, x->rank);
    if (st != SF_OK)
        return st;
    *out = *x;
    out->dim[d] = 0;
    for (int i = 0; i < n->nin; i++) {
        const sf_type *y = &n->in[i]->type;
        bool ok = y->rank == x->rank && y->dtype == x->dtype && is_const_dim(y->dim[d]);
        for (int k = 0; ok && k < x->rank; k++)
            ok = k == d || y->dim[k] == x->dim[k];
        if (!ok)
            return fail(err, n, "operand %d %s does not fit operand 0 %s along dim %lld", i, T(n->in[i], &b),
                        T(n->in[0], &a), (long long)d);
        out->dim[d] += y->dim[d];
    }
    return SF_OK;
}

static sf_status shape_STACK(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t d = sf_attr_dim(n);
    tbuf a, b;
    if (x->rank + 1 > SF_MAX_RANK)
        return fail(err, n, "result of stacking %s would exceed rank %d", T(n->in[0], &a), SF_MAX_RANK);
    sf_status st = check_dim(err, n, "dim", d, x->rank + 1);
    if (st != SF_OK)
        return st;
    for (int i = 1; i < n->nin; i++)
        if (!sf_type_equal(&n->in[i]->type, x))
            return fail(err, n, "operand %d %s differs from operand 0 %s", i, T(n->in[i], &b), T(n->in[0], &a));
    out->dtype = x->dtype;
    out->rank = x->rank + 1;
    for (int k = 0, j = 0; k < out->rank; k++)
        out->dim[k] = k == d ? n->nin : x->dim[j++];
    return SF_OK;
}

/* A list of distinct dims, each in [0, rank). */
static sf_status check_dim_list(sf_error *err, const sf_node *n, const sf_attr *dims, int rank, bool *mark)
{
    tbuf a;
    memset(mark, 0, sizeof(bool) * SF_MAX_RANK);
    if (dims->n < 1)
        return fail(err, n, "dims must name at least one dim");
    for (int i = 0; i < dims->n; i++) {
        int64_t d = dims->ints[i];
        if (d < 0 || d >= rank || mark[d])
            return fail(err, n, "dims entry %lld is out of range or repeated for %s", (long long)d, T(n->in[0], &a));
        mark[d] = true;
    }
    return SF_OK;
}

static sf_status shape_reduce(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    bool mark[SF_MAX_RANK], keep = sf_attr_keepdim(n) != 0;
    sf_status st = check_dim_list(err, n, sf_attr_dims(n), x->rank, mark);
    if (st != SF_OK)
        return st;
    out->dtype = x->dtype;
    out->rank = 0;
    for (int k = 0; k < x->rank; k++) {
        if (!mark[k])
            out->dim[out->rank++] = x->dim[k];
        else if (keep)
            out->dim[out->rank++] = 1;
    }
    return SF_OK;
}
#define shape_SUM shape_reduce
#define shape_MEAN shape_reduce
#define shape_AMAX shape_reduce
#define shape_AMIN shape_reduce
#define shape_PROD shape_reduce

/* Product of the constant dims and the number of B dims. */
static void count_elems(const int64_t *dims, int n, int64_t *prod, int *nb, bool *overflow)
{
    *prod = 1;
    *nb = 0;
    *overflow = false;
    for (int i = 0; i < n; i++) {
        if (dims[i] == SF_DIM_B) {
            (*nb)++;
        } else if (dims[i] != 0 && *prod > INT64_MAX / dims[i]) {
            *overflow = true;
        } else {
            *prod *= dims[i];
        }
    }
}

static sf_status shape_RESHAPE(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    const sf_attr *shape = sf_attr_shape(n);
    char sb[160];
    tbuf a;
    if (shape->n > SF_MAX_RANK)
        return fail(err, n, "target rank %d exceeds %d", shape->n, SF_MAX_RANK);
    for (int i = 0; i < shape->n; i++)
        if (shape->ints[i] < 0 && shape->ints[i] != SF_DIM_B)
            return fail(err, n, "target shape %s has a negative dim", sf_dims_str(shape->ints, shape->n, sb, sizeof sb));
    int64_t px, py;
    int bx, by;
    bool ox, oy;
    count_elems(x->dim, x->rank, &px, &bx, &ox);
    count_elems(shape->ints, shape->n, &py, &by, &oy);
    if (ox || oy || px != py || bx != by)
        return fail(err, n, "cannot reshape %s to %s: element counts differ", T(n->in[0], &a),
                    sf_dims_str(shape->ints, shape->n, sb, sizeof sb));
    out->dtype = x->dtype;
    out->rank = shape->n;
    memcpy(out->dim, shape->ints, sizeof(int64_t) * (size_t)shape->n);
    return SF_OK;
}

static sf_status shape_FLATTEN(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t s = sf_attr_start(n), e = sf_attr_end(n);
    tbuf a;
    if (x->rank == 0 || s < 0 || e >= x->rank || s > e)
        return fail(err, n, "start=%lld end=%lld do not fit %s", (long long)s, (long long)e, T(n->in[0], &a));
    int64_t prod;
    int nb;
    bool of;
    count_elems(x->dim + s, (int)(e - s + 1), &prod, &nb, &of);
    if (of || (nb && prod != 1) || nb > 1)
        return fail(err, n, "cannot merge the batch dim B of %s with other dims (start=%lld end=%lld)", T(n->in[0], &a),
                    (long long)s, (long long)e);
    out->dtype = x->dtype;
    out->rank = 0;
    for (int k = 0; k < s; k++)
        out->dim[out->rank++] = x->dim[k];
    out->dim[out->rank++] = nb ? SF_DIM_B : prod;
    for (int k = (int)e + 1; k < x->rank; k++)
        out->dim[out->rank++] = x->dim[k];
    return SF_OK;
}

static sf_status shape_SQUEEZE(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    bool mark[SF_MAX_RANK];
    tbuf a;
    sf_status st = check_dim_list(err, n, sf_attr_dims(n), x->rank, mark);
    if (st != SF_OK)
        return st;
    out->dtype = x->dtype;
    out->rank = 0;
    for (int k = 0; k < x->rank; k++) {
        if (mark[k] && x->dim[k] != 1)
            return fail(err, n, "dim %d of %s is not 1", k, T(n->in[0], &a));
        if (!mark[k])
            out->dim[out->rank++] = x->dim[k];
    }
    return SF_OK;
}

static sf_status shape_UNSQUEEZE(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t d = sf_attr_dim(n);
    tbuf a;
    if (x->rank + 1 > SF_MAX_RANK)
        return fail(err, n, "%s already has rank %d", T(n->in[0], &a), SF_MAX_RANK);
    sf_status st = check_dim(err, n, "dim", d, x->rank + 1);
    if (st != SF_OK)
        return st;
    out->dtype = x->dtype;
    out->rank = x->rank + 1;
    for (int k = 0, j = 0; k < out->rank; k++)
        out->dim[k] = k == d ? 1 : x->dim[j++];
    return SF_OK;
}

static sf_status shape_TRANSPOSE(const sf_node *n, sf_type *out, sf_error *err)
{
    const sf_type *x = &n->in[0]->type;
    int64_t d0 = sf_attr_dim0(n), d1 = sf_attr_dim1(n);
    sf_status st = check_dim(err, n, "dim0", d0, x->rank);
    if (st == SF_OK)
        st = check_dim(err, n, "dim1", d1, x->rank);
    *out = *x;
    if (st == SF_OK) {
        out->dim[d0] = x->dim[d1];
        out->dim[d1] = x->dim[d0];
    }
    return st;
}

static const shape_fn rules[SF_OP_COUNT] = {
#define OP(id, ...) [SF_OP_##id] = shape_##id,
#include "ir/ops.def"
#undef OP
};

sf_status sf_infer_shapes(const sf_node *n, sf_type *types, int nres, sf_error *err)
{
    if (nres != sf_node_result_count(n))
        return sf_fail(err, SF_ERR_VERIFY, "%s: has %d results, expected %d", sf_ops[n->op].name, nres,
                       sf_node_result_count(n));
    for (int i = 0; i < n->nin; i++) {
        tbuf a;
        if (n->in[i]->type.dtype == SF_BOOL && !sf_op_has(n->op, SF_OPF_MASKS))
            return fail(err, n, "operand %d is the mask %s; this op takes numbers (where(mask, 1, 0) makes them)", i,
                        T(n->in[i], &a));
    }
    sf_status st = rules[n->op](n, types, err);
    for (int i = 0; st == SF_OK && i < nres; i++) {
        int nb = 0;
        tbuf a;
        for (int k = 0; k < types[i].rank; k++) {
            nb += types[i].dim[k] == SF_DIM_B;
            if (types[i].dim[k] > SF_DIM_MAX)
                return fail(err, n, "result dim %d would be %lld, above the limit %lld", k,
                            (long long)types[i].dim[k], (long long)SF_DIM_MAX);
        }
        if (nb > 1) {
            st = n->nin ? fail(err, n, "result would have the batch dim B twice (from %s)", T(n->in[0], &a))
                        : fail(err, n, "result would have the batch dim B twice");
        }
    }
    return st;
}
