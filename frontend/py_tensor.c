/* The tensor functions: one table serves torch.X(t, ...), t.X(...) and
 * F.X(t, ...). Each entry binds its arguments by PyTorch's names. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_torch.h"

enum { IN_TORCH = PY_IN_TORCH, IN_METHOD = PY_IN_METHOD, IN_F = PY_IN_F };

static bool opt_int(py_interp *I, const py_expr *at, pv *v, const char *what, int64_t def, int64_t *out)
{
    if (!v || v->k == PV_NONE) {
        *out = def;
        return true;
    }
    return py_as_int(I, at, v, what, out);
}

static bool opt_bool(py_interp *I, const py_expr *at, pv *v, bool def, bool *out)
{
    if (!v) {
        *out = def;
        return true;
    }
    return pv_truth(I, at, v, out);
}

TFN(t_softmax)
{
    BIND("softmax()", 1, "input", "dim", "dtype");
    sf_value *x = py_tv(I, at, a[0], "softmax");
    int64_t dim;
    if (!x)
        return NULL;
    if (!a[1] || a[1]->k == PV_NONE)
        return py_error(I, at, SF_ERR_INVALID_ARG, "softmax() needs dim: the implicit choice is deprecated in PyTorch");
    if (!py_as_int(I, at, a[1], "softmax dim", &dim))
        return NULL;
    return pv_tensor(I, py_softmax(I, at, x, dim));
}

sf_value *py_linear(py_interp *I, const py_expr *at, sf_value *x, sf_value *w, sf_value *b)
{
    sf_value *in[3] = {x, w, b};
    return py_emit(I, at, py_begin(I, at, SF_OP_LINEAR, b ? 3 : 2, in));
}

TFN(t_linear)
{
    BIND("linear()", 2, "input", "weight", "bias");
    sf_value *x = py_tv(I, at, a[0], "linear input"), *w = x ? py_tv(I, at, a[1], "linear weight") : NULL;
    sf_value *b = w && a[2] && a[2]->k != PV_NONE ? py_tv(I, at, a[2], "linear bias") : NULL;
    if (!w || (a[2] && a[2]->k != PV_NONE && !b))
        return NULL;
    return pv_tensor(I, py_linear(I, at, x, w, b));
}


static bool tensor_list(py_interp *I, const py_expr *at, pv *seq, const char *what, sf_value ***out, int *n)
{
    pv *items = seq->k == PV_LIST || seq->k == PV_TUPLE ? seq : NULL;
    if (!items) {
        py_error(I, at, SF_ERR_INVALID_ARG, "%s expects a list or tuple of tensors, got %s", what, pv_describe(I, seq));
        return false;
    }
    if (items->u.list->n == 0 || items->u.list->n > INT32_MAX) {
        py_error(I, at, SF_ERR_INVALID_ARG, "%s of an empty list", what);
        return false;
    }
    *n = (int)items->u.list->n;
    *out = sf_arena_alloc(I->arena, sizeof **out * (size_t)*n);
    if (!*out) {
        py_error(I, at, SF_ERR_NOMEM, "out of memory");
        return false;
    }
    for (int i = 0; i < *n; i++)
        if (!((*out)[i] = py_tv(I, at, items->u.list->items[i], what)))
            return false;
    return true;
}

static pv *join(py_interp *I, const py_expr *at, sf_opcode op, int argc, pv **argv, int kwc, const char **kwn,
                pv **kwv)
{
    pv *self = NULL;
    BIND(op == SF_OP_CONCAT ? "cat()" : "stack()", 1, "tensors", "dim");
    sf_value **xs;
    int n;
    int64_t dim;
    if (!tensor_list(I, at, a[0], op == SF_OP_CONCAT ? "cat" : "stack", &xs, &n) ||
        !opt_int(I, at, a[1], "dim", 0, &dim))
        return NULL;
    int d;
    if (!py_norm_dim(I, at, dim, xs[0]->type.rank + (op == SF_OP_STACK), &d))
        return NULL;
    sf_node *node = py_begin(I, at, op, n, xs);
    if (node)
        sf_node_set_int(node, SF_ATTR_DIM, d);
    return pv_tensor(I, py_emit(I, at, node));
}

TFN(t_cat) { (void)self; return join(I, at, SF_OP_CONCAT, argc, argv, kwc, kwn, kwv); }
TFN(t_stack) { (void)self; return join(I, at, SF_OP_STACK, argc, argv, kwc, kwn, kwv); }

/* split/chunk: one split node; results are views of the input */
static pv *split_sizes(py_interp *I, const py_expr *at, pv *src, sf_value *x, int d, const int64_t *sizes, int n)
{
    sf_node *node = py_begin(I, at, SF_OP_SPLIT, 1, &x);
    if (!node || !sf_node_set_ints(I->g, node, SF_ATTR_SIZES, sizes, n))
        return NULL;
    sf_node_set_int(node, SF_ATTR_DIM, d);
    if (!py_emit(I, at, node))
        return NULL;
    pv *r = pv_list_new(I, PV_TUPLE, n);
    for (int i = 0; r && i < n; i++)
        if (!pv_list_push(I, r, py_view_of(I, src, node->out[i])))
            return NULL;
    return r;
}

static bool split_dim(py_interp *I, const py_expr *at, sf_value *x, pv *dimv, int *d, int64_t *len)
{
    int64_t dim;
    if (!opt_int(I, at, dimv, "dim", 0, &dim) || !py_norm_dim(I, at, dim, x->type.rank, d))
        return false;
    *len = x->type.dim[*d];
    if (*len == SF_DIM_B) {
        py_error(I, at, SF_ERR_UNSUPPORTED, "splitting the batch dim is not supported");
        return false;
    }
    return true;
}

TFN(t_split)
{
    BIND("split()", 2, "tensor", "split_size_or_sections", "dim");
    sf_value *x = py_tv(I, at, a[0], "split");
    int d;
    int64_t len;
    if (!x || !split_dim(I, at, x, a[2], &d, &len))
        return NULL;
    int64_t *sizes = sf_arena_alloc(I->arena, sizeof *sizes * (size_t)(len + 1));
    int n = 0;
    if (!sizes)
        return py_error(I, at, SF_ERR_NOMEM, "out of memory");
    if (a[1]->k == PV_LIST || a[1]->k == PV_TUPLE) {
        if (a[1]->u.list->n > len + 1)
            return py_error(I, at, SF_ERR_SHAPE, "split sections do not fit dim %d of size %lld", d, (long long)len);
        for (int64_t i = 0; i < a[1]->u.list->n; i++)
            if (!py_as_int(I, at, a[1]->u.list->items[i], "split section", &sizes[n++]))
                return NULL;
    } else {
        int64_t size;
        if (!py_as_int(I, at, a[1], "split_size", &size))
            return NULL;
        if (size < 1)
            return py_error(I, at, SF_ERR_INVALID_ARG, "split_size must be positive, got %lld", (long long)size);
        for (int64_t at_ = 0; at_ < len; at_ += size)
            sizes[n++] = at_ + size <= len ? size : len - at_;
    }
    return split_sizes(I, at, a[0], x, d, sizes, n);
}

TFN(t_chunk)
{
    BIND("chunk()", 2, "input", "chunks", "dim");
    sf_value *x = py_tv(I, at, a[0], "chunk");
    int d;
    int64_t len, chunks;
    if (!x || !py_as_int(I, at, a[1], "chunks", &chunks) || !split_dim(I, at, x, a[2], &d, &len))
        return NULL;
    if (chunks < 1)
        return py_error(I, at, SF_ERR_INVALID_ARG, "chunks must be positive, got %lld", (long long)chunks);
    int64_t size = (len + chunks - 1) / chunks, sizes[4096];
    int n = 0;
    for (int64_t s = 0; s < len && n < 4096; s += size)
        sizes[n++] = s + size <= len ? size : len - s;
    if (n == 4096 && size * n < len)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "chunk() into more than 4096 parts");
    return split_sizes(I, at, a[0], x, d, sizes, n);
}

TFN(t_squeeze)
{
    BIND("squeeze()", 1, "input", "dim");
    sf_value *x = py_tv(I, at, a[0], "squeeze");
    if (!x)
        return NULL;
    int64_t dims[SF_MAX_RANK];
    int nd = 0;
    if (!a[1] || a[1]->k == PV_NONE) {
        /* every constant dim of 1; B is never assumed to be 1 */
        for (int i = 0; i < x->type.rank; i++)
            if (x->type.dim[i] == 1)
                dims[nd++] = i;
    } else {
        int64_t raw[SF_MAX_RANK];
        int n;
        if (!py_as_ints(I, at, a[1], "dim", raw, SF_MAX_RANK, &n))
            return NULL;
        for (int i = 0; i < n; i++) {
            int d;
            if (!py_norm_dim(I, at, raw[i], x->type.rank, &d))
                return NULL;
            if (x->type.dim[d] == 1) /* PyTorch leaves other dims alone */
                dims[nd++] = d;
        }
    }
    if (nd == 0)
        return py_view_of(I, a[0], x);
    sf_node *n = py_begin(I, at, SF_OP_SQUEEZE, 1, &x);
    if (!n || !sf_node_set_ints(I->g, n, SF_ATTR_DIMS, dims, nd))
        return NULL;
    return py_view_of(I, a[0], py_emit(I, at, n));
}

TFN(t_unsqueeze)
{
    BIND("unsqueeze()", 2, "input", "dim");
    sf_value *x = py_tv(I, at, a[0], "unsqueeze");
    int64_t dim;
    int d;
    if (!x || !py_as_int(I, at, a[1], "dim", &dim) || !py_norm_dim(I, at, dim, x->type.rank + 1, &d))
        return NULL;
    return py_view_of(I, a[0], py_unsqueeze_dim(I, at, x, d));
}

sf_value *py_flatten(py_interp *I, const py_expr *at, sf_value *x, int64_t start, int64_t end)
{
    if (x->type.rank == 0)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "flatten of a scalar"), NULL;
    int s, e;
    if (!py_norm_dim(I, at, start, x->type.rank, &s) || !py_norm_dim(I, at, end, x->type.rank, &e))
        return NULL;
    if (s > e) {
        py_error(I, at, SF_ERR_INVALID_ARG, "flatten start_dim %d is after end_dim %d", s, e);
        return NULL;
    }
    if (s == e)
        return x;
    sf_node *n = py_begin(I, at, SF_OP_FLATTEN, 1, &x);
    if (n) {
        sf_node_set_int(n, SF_ATTR_START, s);
        sf_node_set_int(n, SF_ATTR_END, e);
    }
    return py_emit(I, at, n);
}

TFN(t_flatten)
{
    BIND("flatten()", 1, "input", "start_dim", "end_dim");
    sf_value *x = py_tv(I, at, a[0], "flatten");
    int64_t s, e;
    if (!x || !opt_int(I, at, a[1], "start_dim", 0, &s) || !opt_int(I, at, a[2], "end_dim", -1, &e))
        return NULL;
    return py_view_of(I, a[0], py_flatten(I, at, x, s, e));
}

/* view/reshape: -1 is inferred; the batch dim B may come back as x.size(0) */
static pv *reshape(py_interp *I, const py_expr *at, pv *t, pv **dims, int n)
{
    sf_value *x = py_tv(I, at, t, "reshape");
    if (!x)
        return NULL;
    if (n == 1 && (dims[0]->k == PV_LIST || dims[0]->k == PV_TUPLE)) {
        n = (int)dims[0]->u.list->n;
        dims = dims[0]->u.list->items;
    }
    if (n > SF_MAX_RANK)
        return py_error(I, at, SF_ERR_SHAPE, "reshape to rank %d, above %d", n, SF_MAX_RANK);
    int64_t shape[SF_MAX_RANK], known = 1, in_known = 1;
    int infer = -1, in_b = 0, out_b = 0;
    for (int i = 0; i < x->type.rank; i++) {
        if (x->type.dim[i] == SF_DIM_B)
            in_b++;
        else
            in_known *= x->type.dim[i];
    }
    for (int i = 0; i < n; i++) {
        if (dims[i]->k == PV_BATCH) {
            shape[i] = SF_DIM_B;
            out_b++;
            continue;
        }
        if (!py_as_int(I, at, dims[i], "shape entry", &shape[i]))
            return NULL;
        if (shape[i] == -1) {
            if (infer >= 0)
                return py_error(I, at, SF_ERR_SHAPE, "only one dim can be -1");
            infer = i;
        } else if (shape[i] < 0 || shape[i] > SF_DIM_MAX) {
            return py_error(I, at, SF_ERR_SHAPE, "invalid shape entry %lld", (long long)shape[i]);
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || in_known % known)
            return py_error(I, at, SF_ERR_SHAPE, "cannot infer -1 when reshaping a tensor of %lld elements (per batch row)",
                            (long long)in_known);
        int64_t q = in_known / known;
        if (in_b > out_b) { /* -1 absorbs the batch dim: only when nothing else is merged with it */
            if (q != 1)
                return py_error(I, at, SF_ERR_SHAPE,
                                "reshape would merge the batch dim B with %lld other elements per row: the result "
                                "would not have a per-row layout",
                                (long long)q);
            shape[infer] = SF_DIM_B;
        } else {
            shape[infer] = q;
        }
    }
    sf_node *node = py_begin(I, at, SF_OP_RESHAPE, 1, &x);
    if (!node || !sf_node_set_ints(I->g, node, SF_ATTR_SHAPE, shape, n))
        return NULL;
    return py_view_of(I, t, py_emit(I, at, node));
}

TFN(t_view)
{
    (void)kwn, (void)kwv;
    if (kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "view() takes no keyword arguments");
    if (!self)
        return py_error(I, at, SF_ERR_INVALID_ARG, "view() is a tensor method");
    return reshape(I, at, self, argv, argc);
}

TFN(t_reshape)
{
    if (self) {
        if (kwc == 1 && strcmp(kwn[0], "shape") == 0)
            return reshape(I, at, self, kwv, 1);
        return t_view(I, at, self, argc, argv, kwc, kwn, kwv);
    }
    BIND("reshape()", 2, "input", "shape");
    return reshape(I, at, a[0], &a[1], 1);
}

sf_value *py_transpose(py_interp *I, const py_expr *at, sf_value *x, int64_t d0, int64_t d1)
{
    int a0, a1;
    if (!x || !py_norm_dim(I, at, d0, x->type.rank, &a0) || !py_norm_dim(I, at, d1, x->type.rank, &a1))
        return NULL;
    if (a0 == a1)
        return x;
    sf_node *n = py_begin(I, at, SF_OP_TRANSPOSE, 1, &x);
    if (n) {
        sf_node_set_int(n, SF_ATTR_DIM0, a0);
        sf_node_set_int(n, SF_ATTR_DIM1, a1);
    }
    return py_emit(I, at, n);
}

/* transpose(input, dim0, dim1), swapaxes(input, axis0, axis1): a view */
static pv *swap(py_interp *I, const py_expr *at, pv **a, const char *const *names)
{
    sf_value *x = py_tv(I, at, a[0], names[0]);
    int64_t d0, d1;
    if (!x || !py_as_int(I, at, a[1], names[1], &d0) || !py_as_int(I, at, a[2], names[2], &d1))
        return NULL;
    return py_view_of(I, a[0], py_transpose(I, at, x, d0, d1));
}

TFN(t_transpose)
{
    BIND("transpose()", 3, "input", "dim0", "dim1");
    return swap(I, at, a, (const char *const[]){"transpose", "dim0", "dim1"});
}

TFN(t_t)
{
    BIND("t()", 1, "input");
    sf_value *x = py_tv(I, at, a[0], "t");
    if (!x)
        return NULL;
    if (x->type.rank > 2)
        return py_error(I, at, SF_ERR_SHAPE, "t() expects a tensor of rank 2 or less");
    return py_view_of(I, a[0], x->type.rank < 2 ? x : py_transpose(I, at, x, 0, 1));
}

/* x with its dims in the order want (a permutation), by transposes (a selection sort of the dims) */
sf_value *py_permute(py_interp *I, const py_expr *at, sf_value *x, const int *want)
{
    int n = x->type.rank, cur[SF_MAX_RANK];
    for (int i = 0; i < n; i++)
        cur[i] = i;
    for (int i = 0; i < n && x; i++) {
        int j = i;
        while (cur[j] != want[i])
            j++;
        if (j != i) {
            x = py_transpose(I, at, x, i, j);
            int tmp = cur[i];
            cur[i] = cur[j];
            cur[j] = tmp;
        }
    }
    return x;
}

TFN(t_permute)
{
    (void)kwn, (void)kwv;
    pv **all = py_with_self(I, self, &argc, argv);
    if (!all || argc < 1 || kwc)
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "permute(input, dims)");
    sf_value *x = py_tv(I, at, all[0], "permute");
    if (!x)
        return NULL;
    pv *list = argc == 2 && (all[1]->k == PV_LIST || all[1]->k == PV_TUPLE) ? all[1] : NULL;
    int n = list ? (int)list->u.list->n : argc - 1;
    pv **items = list ? list->u.list->items : all + 1;
    if (n != x->type.rank)
        return py_error(I, at, SF_ERR_SHAPE, "permute needs %d dims, got %d", x->type.rank, n);
    int want[SF_MAX_RANK];
    bool seen[SF_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        int64_t d;
        if (!py_as_int(I, at, items[i], "permute dim", &d) || !py_norm_dim(I, at, d, n, &want[i]))
            return NULL;
        if (seen[want[i]])
            return py_error(I, at, SF_ERR_SHAPE, "permute repeats dim %d", want[i]);
        seen[want[i]] = true;
    }
    x = py_permute(I, at, x, want);
    return x ? py_view_of(I, all[0], x) : NULL;
}

/* movedim(x, source, destination), ints or sequences of them: the moved
 * dims at their destinations, the others in their order around them */
TFN(t_movedim)
{
    BIND("movedim()", 3, "input", "source", "destination");
    sf_value *x = py_tv(I, at, a[0], "movedim");
    int64_t src[SF_MAX_RANK], dst[SF_MAX_RANK];
    int ns, nd, r = x ? x->type.rank : 0, want[SF_MAX_RANK];
    if (!x || !py_as_ints(I, at, a[1], "source", src, SF_MAX_RANK, &ns) ||
        !py_as_ints(I, at, a[2], "destination", dst, SF_MAX_RANK, &nd))
        return NULL;
    if (ns != nd)
        return py_error(I, at, SF_ERR_INVALID_ARG, "movedim: %d source dims but %d destinations", ns, nd);
    bool src_used[SF_MAX_RANK] = {0}, dst_used[SF_MAX_RANK] = {0};
    for (int i = 0; i < ns; i++) {
        int s, d;
        if (!py_norm_dim(I, at, src[i], r, &s) || !py_norm_dim(I, at, dst[i], r, &d))
            return NULL;
        if (src_used[s] || dst_used[d])
            return py_error(I, at, SF_ERR_INVALID_ARG, "movedim: a dim repeats");
        src_used[s] = dst_used[d] = true;
        want[d] = s;
    }
    for (int d = 0, s = 0; d < r; d++) {
        if (dst_used[d])
            continue;
        while (src_used[s])
            s++;
        want[d] = s++;
    }
    x = py_permute(I, at, x, want);
    return x ? py_view_of(I, a[0], x) : NULL;
}

TFN(t_swapaxes)
{
    BIND("swapaxes()", 3, "input", "axis0", "axis1");
    return swap(I, at, a, (const char *const[]){"swapaxes", "axis0", "axis1"});
}

/* a dim of x other than the batch, normalised */
static bool plain_dim(py_interp *I, const py_expr *at, const sf_value *x, pv *v, const char *fname, int *d)
{
    int64_t raw;
    if (!opt_int(I, at, v, "dim", 0, &raw) || !py_norm_dim(I, at, raw, x->type.rank, d))
        return false;
    if (x->type.dim[*d] == SF_DIM_B)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s along the batch dim is not supported", fname) != NULL;
    return true;
}

/* x[.., index, ..] along d: a slice and a squeeze, a view */
static sf_value *select_at(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t index)
{
    int64_t n = x->type.dim[d];
    if (index < -n || index >= n) {
        py_error(I, at, SF_ERR_SHAPE, "index %lld is out of range for dim %d of size %lld", (long long)index, d,
                 (long long)n);
        return NULL;
    }
    index = index < 0 ? index + n : index;
    sf_value *s = py_slice_dim(I, at, x, d, index, index + 1, 1);
    return s ? py_squeeze_dim(I, at, s, d) : NULL;
}

TFN(t_select)
{
    BIND("select()", 3, "input", "dim", "index");
    sf_value *x = py_tv(I, at, a[0], "select");
    int d;
    int64_t index;
    if (!x || !plain_dim(I, at, x, a[1], "select", &d) || !py_as_int(I, at, a[2], "index", &index))
        return NULL;
    return py_view_of(I, a[0], select_at(I, at, x, d, index));
}

TFN(t_narrow)
{
    BIND("narrow()", 4, "input", "dim", "start", "length");
    sf_value *x = py_tv(I, at, a[0], "narrow");
    int d;
    int64_t start, len;
    if (!x || !plain_dim(I, at, x, a[1], "narrow", &d) || !py_as_int(I, at, a[2], "start", &start) ||
        !py_as_int(I, at, a[3], "length", &len))
        return NULL;
    int64_t n = x->type.dim[d];
    start = start < 0 ? start + n : start;
    if (start < 0 || len < 1 || start > n - len)
        return py_error(I, at, SF_ERR_SHAPE, "narrow: start %lld, length %lld do not fit dim %d of size %lld",
                        (long long)start, (long long)len, d, (long long)n);
    return py_view_of(I, a[0], py_slice_dim(I, at, x, d, start, start + len, 1));
}

/* a tuple of the selects along dim */
TFN(t_unbind)
{
    BIND("unbind()", 1, "input", "dim");
    sf_value *x = py_tv(I, at, a[0], "unbind");
    int d;
    if (!x || !plain_dim(I, at, x, a[1], "unbind", &d))
        return NULL;
    int64_t n = x->type.dim[d];
    if (n > 4096)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "unbind() into more than 4096 parts");
    pv *r = pv_list_new(I, PV_TUPLE, n);
    for (int64_t i = 0; r && i < n; i++)
        if (!pv_list_push(I, r, py_view_of(I, a[0], select_at(I, at, x, d, i))))
            return NULL;
    return r;
}


TFN(t_matmul)
{
    BIND("matmul()", 2, "input", "other");
    return py_tensor_binop(I, at, PB_MATMUL, a[0], a[1]);
}

static pv *arith(py_interp *I, const py_expr *at, py_binop op, bool inplace, pv *self, int argc, pv **argv, int kwc,
                 const char **kwn, pv **kwv)
{
    BIND("arithmetic", 2, "input", "other");
    pv *r = py_tensor_binop(I, at, op, a[0], a[1]);
    if (!r || !inplace)
        return r;
    if (a[0]->k != PV_TENSOR)
        return py_error(I, at, SF_ERR_INVALID_ARG, "in-place arithmetic needs a tensor");
    return py_tensor_inplace(I, at, a[0], r->u.t->v);
}

TFN(t_add) { return arith(I, at, PB_ADD, false, self, argc, argv, kwc, kwn, kwv); }
TFN(t_sub) { return arith(I, at, PB_SUB, false, self, argc, argv, kwc, kwn, kwv); }
TFN(t_mul) { return arith(I, at, PB_MUL, false, self, argc, argv, kwc, kwn, kwv); }
TFN(t_div) { return arith(I, at, PB_DIV, false, self, argc, argv, kwc, kwn, kwv); }
TFN(t_add_) { return arith(I, at, PB_ADD, true, self, argc, argv, kwc, kwn, kwv); }
TFN(t_sub_) { return arith(I, at, PB_SUB, true, self, argc, argv, kwc, kwn, kwv); }
TFN(t_mul_) { return arith(I, at, PB_MUL, true, self, argc, argv, kwc, kwn, kwv); }
TFN(t_div_) { return arith(I, at, PB_DIV, true, self, argc, argv, kwc, kwn, kwv); }

/* contiguous, float, to, cuda, cpu, detach: the value itself */
TFN(t_same)
{
    (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv;
    if (!self || !py_tv(I, at, self, "tensor method"))
        return NULL;
    return self;
}

/* clone: a new tensor, so that in-place writes to it do not reach the source */
TFN(t_clone)
{
    BIND("clone()", 1, "input", "memory_format");
    sf_value *x = py_tv(I, at, a[0], "clone");
    return x ? pv_tensor(I, x) : NULL;
}

static pv *dim_size(py_interp *I, int64_t d)
{
    if (d == SF_DIM_B)
        return pv_new(I, PV_BATCH);
    return pv_int(I, d);
}

TFN(t_size)
{
    BIND("size()", 1, "input", "dim");
    sf_value *x = py_tv(I, at, a[0], "size");
    if (!x)
        return NULL;
    if (a[1] && a[1]->k != PV_NONE) {
        int64_t dim;
        int d;
        if (!py_as_int(I, at, a[1], "dim", &dim) || !py_norm_dim(I, at, dim, x->type.rank, &d))
            return NULL;
        return dim_size(I, x->type.dim[d]);
    }
    pv *r = pv_list_new(I, PV_TUPLE, x->type.rank);
    for (int i = 0; r && i < x->type.rank; i++)
        pv_list_push(I, r, dim_size(I, x->type.dim[i]));
    return r;
}

TFN(t_dim)
{
    BIND("dim()", 1, "input");
    sf_value *x = py_tv(I, at, a[0], "dim");
    return x ? pv_int(I, x->type.rank) : NULL;
}

TFN(t_dropout)
{
    BIND("dropout()", 1, "input", "p", "training", "inplace");
    bool training;
    if (!py_tv(I, at, a[0], "dropout") || !opt_bool(I, at, a[2], true, &training))
        return NULL;
    if (training)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "F.dropout with training=True (its default) is random; sheaf compiles inference: pass "
                        "training=self.training");
    return a[0];
}

static const py_fn_row tensor_fns[] = {
    {{"softmax", t_softmax}, IN_TORCH | IN_METHOD | IN_F},
    {{"linear", t_linear}, IN_F},
    {{"cat", t_cat}, IN_TORCH},
    {{"concat", t_cat}, IN_TORCH},
    {{"concatenate", t_cat}, IN_TORCH},
    {{"stack", t_stack}, IN_TORCH},
    {{"split", t_split}, IN_TORCH | IN_METHOD},
    {{"chunk", t_chunk}, IN_TORCH | IN_METHOD},
    {{"squeeze", t_squeeze}, IN_TORCH | IN_METHOD},
    {{"unsqueeze", t_unsqueeze}, IN_TORCH | IN_METHOD},
    {{"flatten", t_flatten}, IN_TORCH | IN_METHOD},
    {{"reshape", t_reshape}, IN_TORCH | IN_METHOD},
    {{"view", t_view}, IN_METHOD},
    {{"transpose", t_transpose}, IN_TORCH | IN_METHOD},
    {{"t", t_t}, IN_TORCH | IN_METHOD},
    {{"permute", t_permute}, IN_TORCH | IN_METHOD},
    {{"movedim", t_movedim}, IN_TORCH | IN_METHOD},
    {{"moveaxis", t_movedim}, IN_TORCH | IN_METHOD},
    {{"swapaxes", t_swapaxes}, IN_TORCH | IN_METHOD},
    {{"swapdims", t_transpose}, IN_TORCH | IN_METHOD},
    {{"select", t_select}, IN_TORCH | IN_METHOD},
    {{"narrow", t_narrow}, IN_TORCH | IN_METHOD},
    {{"unbind", t_unbind}, IN_TORCH | IN_METHOD},
    {{"matmul", t_matmul}, IN_TORCH | IN_METHOD},
    {{"mm", t_matmul}, IN_TORCH | IN_METHOD},
    {{"bmm", t_matmul}, IN_TORCH | IN_METHOD},
    {{"add", t_add}, IN_TORCH | IN_METHOD},
    {{"sub", t_sub}, IN_TORCH | IN_METHOD},
    {{"mul", t_mul}, IN_TORCH | IN_METHOD},
    {{"div", t_div}, IN_TORCH | IN_METHOD},
    {{"add_", t_add_}, IN_METHOD},
    {{"sub_", t_sub_}, IN_METHOD},
    {{"mul_", t_mul_}, IN_METHOD},
    {{"div_", t_div_}, IN_METHOD},
    {{"contiguous", t_same}, IN_METHOD},
    {{"cuda", t_same}, IN_METHOD},
    {{"cpu", t_same}, IN_METHOD},
    {{"detach", t_same}, IN_METHOD},
    {{"clone", t_clone}, IN_TORCH | IN_METHOD},
    {{"size", t_size}, IN_METHOD},
    {{"dim", t_dim}, IN_METHOD},
    {{"dropout", t_dropout}, IN_F},
};

pv *py_fn_lookup(py_interp *I, const py_fn_row *rows, size_t n, int where, const char *name, pv *self)
{
    for (size_t i = 0; i < n; i++)
        if ((rows[i].where & where) && strcmp(rows[i].b.name, name) == 0)
            return pv_builtin(I, &rows[i].b, self);
    return NULL;
}

/* the tables in turn: this file's, activations, reductions, masks, moves, pooling, attention, indices */
pv *py_tensor_fn(py_interp *I, int where, const char *name, pv *self)
{
    pv *f = py_fn_lookup(I, tensor_fns, sizeof tensor_fns / sizeof tensor_fns[0], where, name, self);
    if (!f)
        f = py_act_fn(I, where, name, self);
    if (!f)
        f = py_math_fn(I, where, name, self);
    if (!f)
        f = py_mask_fn(I, where, name, self);
    if (!f)
        f = py_shape_fn(I, where, name, self);
    if (!f)
        f = py_pool_fn(I, where, name, self);
    if (!f)
        f = py_attn_fn(I, where, name, self);
    if (!f)
        f = py_einsum_fn(I, where, name, self);
    return f ? f : py_index_fn(I, where, name, self);
}
