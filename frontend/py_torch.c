/* torch, torch.nn.functional and Tensor methods in forward: each call
 * becomes IR nodes. View ops remember their base so that an in-place write
 * that PyTorch would share between views is refused, not silently split. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_interp.h"
#include "frontend/py_torch.h"

sf_value *py_emit(py_interp *I, const py_expr *at, sf_node *n)
{
    if (!n)
        return NULL;
    char loc[512];
    snprintf(loc, sizeof loc, "%s:%d:%d", I->file, at ? at->line : 0, at ? at->col : 0);
    n->loc = sf_arena_strdup(&I->g->arena, loc);
    sf_error e = {0};
    if (sf_node_finish(I->g, n, &e) != SF_OK) {
        py_error(I, at, e.code, "%s", e.msg);
        return NULL;
    }
    I->stats_nodes++;
    return n->out[0];
}

sf_node *py_begin(py_interp *I, const py_expr *at, sf_opcode op, int nin, sf_value *const *in)
{
    if (!I->g) {
        py_error(I, at, SF_ERR_UNSUPPORTED, "tensor operations run only in forward");
        return NULL;
    }
    if ((int64_t)I->g->nodes.len >= I->max_nodes) {
        py_error(I, at, SF_ERR_UNSUPPORTED,
                 "%s unrolls to more than %lld IR nodes: tracing stopped (raise the limit with --max-nodes N, "
                 "or sf_options.max_nodes)", I->model_expr ? I->model_expr : "the model", (long long)I->max_nodes);
        return NULL;
    }
    sf_value **conv = NULL;
    for (int i = 0; i < nin && !sf_op_has(op, SF_OPF_MASKS); i++) /* PyTorch promotes bool in arithmetic */
        if (in[i] && in[i]->type.dtype == SF_BOOL) {
            if (!conv) {
                if (!(conv = sf_arena_alloc(I->arena, sizeof *conv * (size_t)nin))) {
                    py_error(I, at, SF_ERR_NOMEM, "out of memory");
                    return NULL;
                }
                memcpy(conv, in, sizeof *conv * (size_t)nin);
            }
            if (!(conv[i] = py_as_number(I, at, in[i])))
                return NULL;
        }
    sf_error e = {0};
    sf_node *n = sf_node_begin(I->g, op, nin, conv ? conv : in, &e);
    if (!n)
        py_error(I, at, e.code, "%s", e.msg);
    return n;
}

/* Method calls pass the tensor as self: put it first, as torch.X would get it. */
pv **py_with_self(py_interp *I, pv *self, int *argc, pv **argv)
{
    if (!self)
        return argv;
    pv **all = sf_arena_alloc(I->arena, sizeof *all * (size_t)(*argc + 1));
    if (!all)
        return NULL;
    all[0] = self;
    for (int i = 0; i < *argc; i++)
        all[i + 1] = argv[i];
    (*argc)++;
    return all;
}

sf_value *py_op1(py_interp *I, const py_expr *at, sf_opcode op, sf_value *x)
{
    return py_emit(I, at, py_begin(I, at, op, 1, &x));
}

sf_value *py_op2(py_interp *I, const py_expr *at, sf_opcode op, sf_value *a, sf_value *b)
{
    sf_value *in[2] = {a, b};
    return py_emit(I, at, py_begin(I, at, op, 2, in));
}

sf_value *py_scalar(py_interp *I, const py_expr *at, double v)
{
    sf_node *n = py_begin(I, at, SF_OP_SCALAR, 0, NULL);
    if (n)
        sf_node_set_float(n, SF_ATTR_VALUE, v);
    return py_emit(I, at, n);
}

sf_value *py_tv(py_interp *I, const py_expr *at, pv *v, const char *what)
{
    if (v && v->k == PV_TENSOR && v->u.t->v)
        return v->u.t->v;
    if (v && v->k == PV_INIT)
        py_error(I, at, SF_ERR_UNSUPPORTED, "%s: a tensor made in __init__ is used outside forward", what);
    else
        py_error(I, at, SF_ERR_INVALID_ARG, "%s expects a tensor, got %s", what, v ? pv_describe(I, v) : "nothing");
    return NULL;
}

bool py_norm_dim(py_interp *I, const py_expr *at, int64_t d, int rank, int *out)
{
    int64_t r = d < 0 ? d + rank : d;
    if (r < 0 || r >= rank) {
        py_error(I, at, SF_ERR_SHAPE, "dim %lld is out of range for a tensor of rank %d", (long long)d, rank);
        return false;
    }
    *out = (int)r;
    return true;
}

/* The result of a view op: shares storage with the source, as in PyTorch. */
pv *py_view_of(py_interp *I, pv *src, sf_value *result)
{
    pv *v = result ? pv_tensor(I, result) : NULL;
    if (!v)
        return NULL;
    py_tensor *root = src->u.t->base ? src->u.t->base : src->u.t;
    v->u.t->base = root;
    root->has_views = true;
    return v;
}

pv *py_tensor_inplace(py_interp *I, const py_expr *at, pv *t, sf_value *result)
{
    py_tensor *x = t->u.t;
    if (!result)
        return NULL;
    if (x->param)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "in-place update of parameter '%s' in forward", x->param->key);
    if (x->base || x->has_views)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "in-place update of a tensor that shares storage with a view (slice, view, squeeze...): "
                        "write it out of place (y = x + ...)");
    if (!sf_type_equal(&x->v->type, &result->type)) {
        char a[160], b[160];
        return py_error(I, at, SF_ERR_SHAPE, "in-place result %s does not fit the tensor %s",
                        sf_type_str(&result->type, b, sizeof b), sf_type_str(&x->v->type, a, sizeof a));
    }
    x->v = result;
    return t;
}

/* ---- operators ---- */

static sf_value *operand(py_interp *I, const py_expr *at, pv *v)
{
    if (v->k == PV_TENSOR)
        return py_tv(I, at, v, "operator");
    if (pv_is_number(v))
        return py_scalar(I, at, pv_as_double(v));
    py_error(I, at, SF_ERR_UNSUPPORTED, "unsupported operand %s for a tensor operator", pv_describe(I, v));
    return NULL;
}

/* a tensor made in __init__ like src: its shape, a parameter or not */
static pv *init_like(py_interp *I, pv *src, bool parameter)
{
    pv *v = pv_new(I, PV_INIT);
    py_init *init = v ? sf_arena_alloc(I->arena, sizeof *init) : NULL;
    if (!init)
        return NULL;
    *init = *src->u.init;
    init->parameter = parameter;
    v->u.init = init;
    return v;
}

pv *py_init_derived(py_interp *I, pv *src) { return init_like(I, src, false); }

pv *py_tensor_binop(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b)
{
    /* torch.randn(4, 4) * 0.1 in __init__: values come from state_dict, only the shape matters */
    if (op != PB_MATMUL && ((a->k == PV_INIT && (!b || pv_is_number(b))) || (b && b->k == PV_INIT && pv_is_number(a))))
        return py_init_derived(I, a->k == PV_INIT ? a : b);
    if (op == PB_NEG) {
        sf_value *x = py_tv(I, at, a, "unary -"), *m = x ? py_scalar(I, at, -1.0) : NULL;
        return m ? pv_tensor(I, py_op2(I, at, SF_OP_MUL, x, m)) : NULL;
    }
    if (op == PB_POW)
        return py_pow(I, at, a, b);
    if (op == PB_BITAND || op == PB_BITOR || op == PB_BITXOR)
        return py_tensor_bitop(I, at, op, a, b);
    sf_opcode k;
    switch (op) {
    case PB_ADD: k = SF_OP_ADD; break;
    case PB_SUB: k = SF_OP_SUB; break;
    case PB_MUL: k = SF_OP_MUL; break;
    case PB_DIV: k = SF_OP_DIV; break;
    case PB_MATMUL: k = SF_OP_MATMUL; break;
    default:
        return py_error(I, at, SF_ERR_UNSUPPORTED, "this operator is not supported on tensors");
    }
    if (k == SF_OP_MATMUL && (a->k != PV_TENSOR || b->k != PV_TENSOR))
        return py_error(I, at, SF_ERR_INVALID_ARG, "@ needs two tensors");
    sf_value *x = operand(I, at, a), *y = x ? operand(I, at, b) : NULL;
    return y ? pv_tensor(I, py_op2(I, at, k, x, y)) : NULL;
}

/* ---- subscripts: ints select, slices slice, None adds a dim, ... skips ---- */

sf_value *py_slice_dim(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t start, int64_t end, int64_t step)
{
    sf_node *n = py_begin(I, at, SF_OP_SLICE, 1, &x);
    if (!n)
        return NULL;
    sf_node_set_int(n, SF_ATTR_DIM, d);
    sf_node_set_int(n, SF_ATTR_START, start);
    sf_node_set_int(n, SF_ATTR_END, end);
    sf_node_set_int(n, SF_ATTR_STEP, step);
    return py_emit(I, at, n);
}

sf_value *py_squeeze_dim(py_interp *I, const py_expr *at, sf_value *x, int d)
{
    sf_node *n = py_begin(I, at, SF_OP_SQUEEZE, 1, &x);
    int64_t dims[1] = {d};
    if (!n || !sf_node_set_ints(I->g, n, SF_ATTR_DIMS, dims, 1))
        return NULL;
    return py_emit(I, at, n);
}

sf_value *py_unsqueeze_dim(py_interp *I, const py_expr *at, sf_value *x, int d)
{
    sf_node *n = py_begin(I, at, SF_OP_UNSQUEEZE, 1, &x);
    if (n)
        sf_node_set_int(n, SF_ATTR_DIM, d);
    return py_emit(I, at, n);
}

pv *py_tensor_subscript(py_interp *I, const py_expr *at, pv *t, pv *index)
{
    sf_value *x = py_tv(I, at, t, "indexing");
    if (!x)
        return NULL;
    pv *items = index->k == PV_TUPLE ? index : NULL;
    int64_t n = items ? items->u.list->n : 1;
    pv **idx = items ? items->u.list->items : &index;
    int consumed = 0; /* dims of the input the index covers */
    for (int64_t i = 0; i < n; i++)
        if (idx[i]->k != PV_NONE && idx[i]->k != PV_ELLIPSIS)
            consumed++;
    int rank = x->type.rank, d = 0;
    if (consumed > rank)
        return py_error(I, at, SF_ERR_SHAPE, "too many indices (%d) for a tensor of rank %d", consumed, rank);
    for (int64_t i = 0; i < n && x; i++) {
        pv *ix = idx[i];
        if (ix->k == PV_ELLIPSIS) {
            /* the remaining indices cover the trailing dims */
            int rest = 0;
            for (int64_t k = i + 1; k < n; k++)
                if (idx[k]->k != PV_NONE && idx[k]->k != PV_ELLIPSIS)
                    rest++;
            d = x->type.rank - rest;
            continue;
        }
        if (ix->k == PV_NONE) {
            x = py_unsqueeze_dim(I, at, x, d);
            d++;
            continue;
        }
        int64_t size = x->type.dim[d];
        if (ix->k == PV_SLICE) {
            bool full = (!ix->u.slice.lo || ix->u.slice.lo->k == PV_NONE) &&
                        (!ix->u.slice.hi || ix->u.slice.hi->k == PV_NONE) &&
                        (!ix->u.slice.step || ix->u.slice.step->k == PV_NONE);
            if (!full) {
                if (size == SF_DIM_B)
                    return py_error(I, at, SF_ERR_UNSUPPORTED, "slicing the batch dim is not supported");
                int64_t a, b, st;
                if (!py_slice_bounds(I, at, ix, size, &a, &b, &st))
                    return NULL;
                if (st < 0)
                    return py_error(I, at, SF_ERR_UNSUPPORTED, "negative slice steps are not supported on tensors");
                if (!(a == 0 && b == size && st == 1))
                    x = py_slice_dim(I, at, x, d, a, b > a ? b : a, st);
            }
            d++;
            continue;
        }
        int64_t k;
        if (!py_as_int(I, at, ix, "tensor index", &k))
            return NULL;
        if (size == SF_DIM_B)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "indexing the batch dim is not supported");
        if (k < -size || k >= size)
            return py_error(I, at, SF_ERR_SHAPE, "index %lld is out of range for dim %d of size %lld", (long long)k, d,
                            (long long)size);
        if (k < 0)
            k += size;
        x = py_slice_dim(I, at, x, d, k, k + 1, 1);
        x = x ? py_squeeze_dim(I, at, x, d) : NULL;
    }
    return x ? py_view_of(I, t, x) : NULL;
}

/* ---- tensors made in __init__: shape and fill only ---- */

#define IFN(name) \
    static pv *name(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn, pv **kwv)

/* torch.zeros(...) in forward: a FULL op, whose dims may be the batch
 * (torch.zeros(x.size(0), 4)); dtype=torch.bool makes a mask */
static pv *make_in_forward(py_interp *I, const py_expr *at, py_init_kind kind, double fill, int argc, pv **argv,
                           pv *dtype)
{
    if (kind == INIT_NORMAL || kind == INIT_UNIFORM)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "random tensors in forward: sheaf compiles deterministic inference");
    pv *dims_of = argc == 1 && (argv[0]->k == PV_LIST || argv[0]->k == PV_TUPLE) ? argv[0] : NULL;
    int n = dims_of ? (int)dims_of->u.list->n : argc;
    if (n > SF_MAX_RANK)
        return py_error(I, at, SF_ERR_SHAPE, "rank above %d", SF_MAX_RANK);
    int64_t dims[SF_MAX_RANK];
    for (int i = 0; i < n; i++) {
        pv *d = dims_of ? dims_of->u.list->items[i] : argv[i];
        if (d->k == PV_BATCH)
            dims[i] = SF_DIM_B;
        else if (!py_as_int(I, at, d, "size", &dims[i]))
            return NULL;
        else if (dims[i] < 0 || dims[i] > SF_DIM_MAX)
            return py_error(I, at, SF_ERR_SHAPE, "invalid size %lld", (long long)dims[i]);
    }
    sf_value *f = py_full(I, at, dims, n, fill, dtype, SF_F32);
    return f ? pv_tensor(I, f) : NULL;
}

static pv *make_init(py_interp *I, const py_expr *at, py_init_kind kind, double fill, int argc, pv **argv, int kwc,
                     const char **kwn, pv **kwv)
{
    pv *dtype = NULL;
    for (int k = 0; k < kwc; k++) {
        if (strcmp(kwn[k], "dtype") && strcmp(kwn[k], "device") && strcmp(kwn[k], "requires_grad"))
            return py_error(I, at, SF_ERR_INVALID_ARG, "unexpected keyword argument '%s'", kwn[k]);
        if (strcmp(kwn[k], "dtype") == 0)
            dtype = kwv[k];
    }
    if (I->g)
        return make_in_forward(I, at, kind, fill, argc, argv, dtype);
    pv *v = pv_new(I, PV_INIT);
    py_init *init = v ? sf_arena_alloc(I->arena, sizeof *init) : NULL;
    if (!init)
        return NULL;
    int64_t dims[SF_MAX_RANK];
    int n = 0;
    if (argc == 1 && (argv[0]->k == PV_LIST || argv[0]->k == PV_TUPLE)) {
        if (!py_as_ints(I, at, argv[0], "size", dims, SF_MAX_RANK, &n))
            return NULL;
    } else {
        if (argc > SF_MAX_RANK)
            return py_error(I, at, SF_ERR_SHAPE, "rank above %d", SF_MAX_RANK);
        for (int i = 0; i < argc; i++)
            if (!py_as_int(I, at, argv[i], "size", &dims[n++]))
                return NULL;
    }
    init->type.dtype = SF_F32;
    init->type.rank = n;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || dims[i] > SF_DIM_MAX)
            return py_error(I, at, SF_ERR_SHAPE, "invalid size %lld", (long long)dims[i]);
        init->type.dim[i] = dims[i];
    }
    init->kind = kind;
    init->fill = fill;
    v->u.init = init;
    return v;
}

IFN(i_zeros) { (void)self; return make_init(I, at, INIT_ZEROS, 0, argc, argv, kwc, kwn, kwv); }
IFN(i_ones) { (void)self; return make_init(I, at, INIT_ONES, 1, argc, argv, kwc, kwn, kwv); }
IFN(i_randn) { (void)self; return make_init(I, at, INIT_NORMAL, 0, argc, argv, kwc, kwn, kwv); }
IFN(i_rand) { (void)self; return make_init(I, at, INIT_UNIFORM, 0, argc, argv, kwc, kwn, kwv); }
IFN(i_empty) { (void)self; return make_init(I, at, INIT_EMPTY, 0, argc, argv, kwc, kwn, kwv); }

IFN(i_full)
{
    (void)self;
    if (argc != 2 || !pv_is_number(argv[1]))
        return py_error(I, at, SF_ERR_INVALID_ARG, "torch.full(size, fill_value)");
    return make_init(I, at, INIT_FULL, pv_as_double(argv[1]), 1, argv, kwc, kwn, kwv);
}

/* nn.Parameter(t): marks an __init__ tensor as a parameter */
IFN(i_parameter)
{
    (void)self;
    static const char *const names[] = {"data", "requires_grad", NULL};
    pv *a[2];
    if (!py_bind(I, at, "nn.Parameter()", names, 1, argc, argv, kwc, kwn, kwv, a))
        return NULL;
    if (a[0]->k != PV_INIT)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "nn.Parameter() of %s: make it with torch.zeros/ones/randn/rand/empty/full",
                        pv_describe(I, a[0]));
    return init_like(I, a[0], true);
}

/* nn.init.*_(tensor, ...): change how a parameter is initialised */
static pv *set_init(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, py_init_kind kind, double fill)
{
    if (self) { /* t.zero_(): the tensor is self */
        argv = &self;
        argc = 1;
    }
    if (argc < 1 || argv[0]->k != PV_INIT)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "nn.init functions take a parameter of the module being built");
    argv[0]->u.init->kind = kind;
    argv[0]->u.init->fill = fill;
    return argv[0];
}

IFN(n_zeros_) { (void)kwc, (void)kwn, (void)kwv; return set_init(I, at, self, argc, argv, INIT_ZEROS, 0); }
IFN(n_ones_) { (void)kwc, (void)kwn, (void)kwv; return set_init(I, at, self, argc, argv, INIT_ONES, 1); }
IFN(n_normal_) { (void)kwc, (void)kwn, (void)kwv; return set_init(I, at, self, argc, argv, INIT_NORMAL, 0); }
IFN(n_uniform_) { (void)kwc, (void)kwn, (void)kwv; return set_init(I, at, self, argc, argv, INIT_UNIFORM, 0); }
IFN(n_constant_)
{
    (void)kwc, (void)kwn, (void)kwv;
    if (argc < 2 || !pv_is_number(argv[1]))
        return py_error(I, at, SF_ERR_INVALID_ARG, "nn.init.constant_(tensor, value)");
    return set_init(I, at, self, argc, argv, INIT_FULL, pv_as_double(argv[1]));
}
IFN(n_kaiming)
{
    (void)kwc, (void)kwn, (void)kwv;
    if (self) {
        argv = &self;
        argc = 1;
    }
    if (argc < 1 || argv[0]->k != PV_INIT)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "nn.init functions take a parameter of the module being built");
    py_init *in = argv[0]->u.init;
    int64_t fan = 1;
    for (int i = 1; i < in->type.rank; i++)
        fan *= in->type.dim[i];
    in->fan_in = fan;
    return set_init(I, at, self, argc, argv, INIT_KAIMING, 0);
}

static const py_builtin init_makers[] = {{"zeros", i_zeros}, {"ones", i_ones}, {"randn", i_randn},
                                         {"rand", i_rand}, {"empty", i_empty}, {"full", i_full}};
static const py_builtin parameter_fn = {"Parameter", i_parameter};
static const py_builtin tensor_type = {"Tensor", i_empty};
static const py_builtin nn_init_fns[] = {
    {"zeros_", n_zeros_}, {"ones_", n_ones_}, {"normal_", n_normal_}, {"uniform_", n_uniform_},
    {"constant_", n_constant_}, {"kaiming_uniform_", n_kaiming}, {"kaiming_normal_", n_kaiming},
    {"xavier_uniform_", n_kaiming}, {"xavier_normal_", n_kaiming}, {"trunc_normal_", n_normal_}};

static pv *ns(py_interp *I, int which)
{
    pv *v = pv_new(I, PV_NAMESPACE);
    if (v)
        v->u.ns = which;
    return v;
}

/* torch's dtypes by name and alias, as their canonical names: a dtype is a
 * string to the frontend, and only float32 and bool are computed (py_mask.c
 * refuses the rest where they are used, naming them) */
static const char *const dtypes[][2] = {
    {"float32", "float32"}, {"float", "float32"}, {"bool", "bool"}, {"float64", "float64"}, {"double", "float64"},
    {"float16", "float16"}, {"half", "float16"}, {"bfloat16", "bfloat16"}, {"int64", "int64"}, {"long", "int64"},
    {"int32", "int32"}, {"int", "int32"}, {"int16", "int16"}, {"short", "int16"}, {"int8", "int8"}, {"uint8", "uint8"},
};

bool py_is_dtype(const char *name)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(name, dtypes[i][1]) == 0)
            return true;
    return false;
}

pv *py_torch_attr(py_interp *I, const py_expr *at, int space, const char *name)
{
    pv *v = NULL;
    switch (space) {
    case NS_TORCH:
        if (strcmp(name, "nn") == 0)
            return ns(I, NS_NN);
        if (strcmp(name, "Tensor") == 0)
            return pv_builtin(I, &tensor_type, NULL);
        for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
            if (strcmp(name, dtypes[i][0]) == 0)
                return pv_cstr(I, dtypes[i][1]);
        if ((v = py_tensor_fn(I, 1, name, NULL)) ||
            (v = py_builtin_find(I, init_makers, sizeof init_makers / sizeof init_makers[0], NULL, name)))
            return v;
        return py_error(I, at, SF_ERR_UNSUPPORTED, "torch.%s is not supported (see docs/python-subset.md)", name);
    case NS_NN:
        if (strcmp(name, "functional") == 0)
            return ns(I, NS_F);
        if (strcmp(name, "init") == 0)
            return ns(I, NS_INIT);
        if (strcmp(name, "Parameter") == 0)
            return pv_builtin(I, &parameter_fn, NULL);
        {
            py_class *c = py_nn_class(I, name);
            if (c) {
                v = pv_new(I, PV_CLASS);
                if (v)
                    v->u.cls = c;
                return v;
            }
        }
        return py_error(I, at, SF_ERR_UNSUPPORTED, "torch.nn.%s is not supported (see docs/python-subset.md)", name);
    case NS_F:
        if ((v = py_tensor_fn(I, 4, name, NULL)))
            return v;
        return py_error(I, at, SF_ERR_UNSUPPORTED, "torch.nn.functional.%s is not supported (see docs/python-subset.md)",
                        name);
    case NS_INIT:
        if ((v = py_builtin_find(I, nn_init_fns, sizeof nn_init_fns / sizeof nn_init_fns[0], NULL, name)))
            return v;
        return py_error(I, at, SF_ERR_UNSUPPORTED, "torch.nn.init.%s is not supported", name);
    }
    return py_error(I, at, SF_ERR_UNSUPPORTED, "%s is not supported", name);
}

/* ---- attributes and methods of tensors ---- */

static pv *init_shape(py_interp *I, const py_init *in)
{
    pv *r = pv_list_new(I, PV_TUPLE, in->type.rank);
    for (int i = 0; r && i < in->type.rank; i++)
        pv_list_push(I, r, pv_int(I, in->type.dim[i]));
    return r;
}

pv *py_tensor_method(py_interp *I, const py_expr *at, pv *self, const char *name)
{
    if (self->k == PV_INIT) {
        py_init *in = self->u.init;
        if (strcmp(name, "shape") == 0)
            return init_shape(I, in);
        if (strcmp(name, "data") == 0)
            return self;
        static const struct { const char *n; py_init_kind k; } fills[] = {
            {"zero_", INIT_ZEROS}, {"normal_", INIT_NORMAL}, {"uniform_", INIT_UNIFORM}};
        for (size_t i = 0; i < sizeof fills / sizeof fills[0]; i++)
            if (strcmp(name, fills[i].n) == 0)
                return pv_builtin(I, &nn_init_fns[fills[i].k == INIT_ZEROS ? 0 : fills[i].k == INIT_NORMAL ? 2 : 3],
                                  self);
        if (strcmp(name, "tril") == 0 || strcmp(name, "triu") == 0)
            return py_mask_fn(I, 2, name, self);
        return py_error(I, at, SF_ERR_UNSUPPORTED, "Tensor.%s on a tensor made in __init__ is not supported", name);
    }
    if (strcmp(name, "shape") == 0)
        return py_call(I, at, py_tensor_fn(I, 2, "size", self), 0, NULL, 0, NULL, NULL);
    if (strcmp(name, "ndim") == 0)
        return py_call(I, at, py_tensor_fn(I, 2, "dim", self), 0, NULL, 0, NULL, NULL);
    if (strcmp(name, "__len__") == 0) {
        sf_value *x = py_tv(I, at, self, "len()");
        if (!x)
            return NULL;
        if (x->type.rank == 0 || x->type.dim[0] == SF_DIM_B)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "len() of a tensor whose first dim is the batch");
        return pv_int(I, x->type.dim[0]);
    }
    if (strcmp(name, "data") == 0)
        return self;
    if (strcmp(name, "dtype") == 0) {
        sf_value *x = py_tv(I, at, self, "dtype");
        return x ? pv_cstr(I, x->type.dtype == SF_BOOL ? "bool" : "float32") : NULL;
    }
    pv *m = py_tensor_fn(I, 2, name, self);
    if (m)
        return m;
    return py_error(I, at, SF_ERR_UNSUPPORTED, "Tensor.%s is not supported (see docs/python-subset.md)", name);
}
