/* IR emission helpers shared by py_torch.c, py_tensor.c and py_nn.c. */
#ifndef SF_PY_TORCH_H
#define SF_PY_TORCH_H

#include "frontend/py_interp.h"

sf_node *py_begin(py_interp *I, const py_expr *at, sf_opcode op, int nin, sf_value *const *in);
/* A tensor computed in __init__ from src (torch.tril(torch.ones(T, T)), randn(...) * 0.1):
 * its values come from state_dict like any buffer's, so only its shape is kept */
pv *py_init_derived(py_interp *I, pv *src);
/* Method calls pass the tensor as self: argv with self put first, as torch.X would get it (NULL: no memory). */
pv **py_with_self(py_interp *I, pv *self, int *argc, pv **argv);
sf_value *py_op1(py_interp *I, const py_expr *at, sf_opcode op, sf_value *x);
sf_value *py_op2(py_interp *I, const py_expr *at, sf_opcode op, sf_value *a, sf_value *b);
sf_value *py_scalar(py_interp *I, const py_expr *at, double v);
/* The IR value of a tensor argument, or an error naming `what`. */
sf_value *py_tv(py_interp *I, const py_expr *at, pv *v, const char *what);
bool py_norm_dim(py_interp *I, const py_expr *at, int64_t d, int rank, int *out);
pv *py_view_of(py_interp *I, pv *src, sf_value *result);
sf_value *py_squeeze_dim(py_interp *I, const py_expr *at, sf_value *x, int d);
sf_value *py_unsqueeze_dim(py_interp *I, const py_expr *at, sf_value *x, int d);
bool py_slice_bounds(py_interp *I, const py_expr *at, const pv *s, int64_t n, int64_t *start, int64_t *stop,
                     int64_t *step);

/* Ops shared by torch.X, Tensor.X and modules. */
sf_value *py_linear(py_interp *I, const py_expr *at, sf_value *x, sf_value *w, sf_value *b);
sf_value *py_softmax(py_interp *I, const py_expr *at, sf_value *x, int64_t dim);
sf_value *py_flatten(py_interp *I, const py_expr *at, sf_value *x, int64_t start, int64_t end);
/* Activations and elementwise maps, one unary op each (py_act.c): modules
 * of py_class.nn PY_NN_ACTIVATION, their configuration, and the functions. */
#define PY_NN_ACTIVATION 64
typedef struct py_act_cfg {
    sf_opcode op;
    double attrs[3]; /* the op's float attributes in ops.def's order */
    bool inplace;    /* inplace=True: the input tensor names the result */
} py_act_cfg;
py_class *py_act_class(const char *name);
bool py_act_module_init(py_interp *I, const py_expr *at, const char *cls, int argc, pv **argv, int kwc,
                        const char **kwn, pv **kwv, py_act_cfg *c);
/* the module's forward on the tensor x */
pv *py_act_forward(py_interp *I, const py_expr *at, const py_act_cfg *c, const char *cls, pv *x);
/* the unary op with its float attributes, on x */
sf_value *py_act_emit(py_interp *I, const py_expr *at, sf_opcode op, const double *attrs, sf_value *x);
/* an activation function by name (where as py_tensor_fn's), NULL if none */
pv *py_act_fn(py_interp *I, int where, const char *name, pv *self);
/* A builtin of the tensor function tables (py_tensor.c, py_math.c) and the
 * binding of its arguments by PyTorch's names (self first for Tensor.X) */
#define TFN(name) \
    static pv *name(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn, pv **kwv)
#define BIND(fname, nreq, ...)                                                       \
    static const char *const names_[] = {__VA_ARGS__, NULL};                         \
    pv *a[sizeof names_ / sizeof names_[0]];                                         \
    argv = py_with_self(I, self, &argc, argv);                                       \
    if (!argv || !py_bind(I, at, fname, names_, nreq, argc, argv, kwc, kwn, kwv, a)) \
        return NULL

/* Pooling (py_pool.c): modules of py_class.nn PY_NN_POOL, their configuration, and the functions */
#define PY_NN_POOL 65
typedef struct py_pool_cfg {
    int kind, sp;                      /* max, average, adaptive max, adaptive average; 1 or 2 dims */
    int64_t k[2], stride[2], pad[2], dil[2];
    int64_t out[2];                    /* adaptive: the output size, -1 keeps the dim */
    bool ceil_mode, count_include_pad;
    double divisor;                    /* divisor_override, 0 if none */
} py_pool_cfg;
py_class *py_pool_class(const char *name);
bool py_pool_module_init(py_interp *I, const py_expr *at, const char *cls, int argc, pv **argv, int kwc,
                         const char **kwn, pv **kwv, py_pool_cfg *c);
pv *py_pool_forward(py_interp *I, const py_expr *at, const py_pool_cfg *c, const char *cls, pv *x);
pv *py_pool_fn(py_interp *I, int where, const char *name, pv *self);

/* Reductions and the functions built from them (py_math.c), by name as py_tensor_fn; NULL if none */
pv *py_math_fn(py_interp *I, int where, const char *name, pv *self);
/* a ** b, torch.pow: a tensor to a number's power, or a positive number to a tensor's */
pv *py_pow(py_interp *I, const py_expr *at, pv *a, pv *b);
/* w [C] as [C, 1, ...] for an input of rank r (broadcasts along dim 1) */
sf_value *py_channel_view(py_interp *I, const py_expr *at, sf_value *w, int r);
sf_value *py_rms_norm(py_interp *I, const py_expr *at, sf_value *x, int ndim, double eps, sf_value *w);
sf_value *py_group_norm(py_interp *I, const py_expr *at, sf_value *x, int64_t groups, double eps, sf_value *w,
                        sf_value *b);
/* x1 W x2 + b for W [O, I, J] (nn.Bilinear, F.bilinear); b may be NULL */
sf_value *py_bilinear(py_interp *I, const py_expr *at, sf_value *x1, sf_value *x2, sf_value *w, sf_value *b);
/* ParameterList.append: p made in __init__ becomes parameter str(len) of o */
bool py_param_list_append(py_interp *I, const py_expr *at, py_object *o, pv *p);
/* ParameterDict's pd[key] = p: p made in __init__ becomes parameter key of o */
bool py_param_dict_set(py_interp *I, const py_expr *at, py_object *o, const char *key, pv *p);
/* nn.ParameterList(values) and nn.ParameterDict(values) (a plain dict's keys sorted, as PyTorch's update) */
bool py_param_list_init(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn,
                        pv **kwv);
bool py_param_dict_init(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn,
                        pv **kwv);
sf_value *py_log_softmax(py_interp *I, const py_expr *at, sf_value *x, int64_t dim);
sf_value *py_softmin(py_interp *I, const py_expr *at, sf_value *x, int64_t dim);
sf_value *py_glu(py_interp *I, const py_expr *at, sf_value *x, int64_t dim);
sf_value *py_slice_dim(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t start, int64_t end, int64_t step);

/* op (a reduction) over dims[0..nd) of x, keeping them as 1s where keep */
sf_value *py_reduce(py_interp *I, const py_expr *at, sf_opcode op, sf_value *x, const int64_t *dims, int nd, bool keep);
/* an optional argument's truth: absent is def */
bool py_opt_bool(py_interp *I, const py_expr *at, pv *v, bool def, bool *out);
/* int or tuple of sp ints (kernel_size=3 or (3, 3)); missing: def */
bool py_get_pair(py_interp *I, const py_expr *at, pv *v, int sp, int64_t def, const char *what, int64_t *out);
/* x with dims d0 and d1 swapped (negative dims count from the end) */
sf_value *py_transpose(py_interp *I, const py_expr *at, sf_value *x, int64_t d0, int64_t d1);
/* Attention (py_attn.c): F.scaled_dot_product_attention by name as py_tensor_fn, and
 * nn.MultiheadAttention's forward given its heads and in_proj weight, bias, out_proj weight, bias */
pv *py_attn_fn(py_interp *I, int where, const char *name, pv *self);
pv *py_mha_forward(py_interp *I, const py_expr *at, int64_t heads, sf_value *const *w, int argc, pv **argv, int kwc,
                   const char **kwn, pv **kwv);
/* x reshaped to shape (n dims; the batch where x has it at dim 0) */
sf_value *py_reshaped(py_interp *I, const py_expr *at, sf_value *x, const int64_t *shape, int n);

/* Moves made of slices, concats and broadcasts (py_shape.c), by name as py_tensor_fn; NULL if none */
pv *py_shape_fn(py_interp *I, int where, const char *name, pv *self);
/* each element of dim d repeated s times (repeat_interleave); nearest upsampling of x [N, C, ...] to size or by
 * scale (numbers or sequences of them: whole factors only), for nn.Upsample and F.interpolate */
sf_value *py_repeat_each(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t s);
sf_value *py_upsample_nearest(py_interp *I, const py_expr *at, sf_value *x, pv *size, pv *scale, const char *what);
/* concat of n values along d (one: itself) */
sf_value *py_concat(py_interp *I, const py_expr *at, sf_value *const *xs, int n, int d);
/* x broadcast to dims, exactly (x's dims right-aligned against them) */
sf_value *py_broadcast_to(py_interp *I, const py_expr *at, sf_value *x, const int64_t *dims, int rank);
typedef enum { PY_PAD_CONSTANT, PY_PAD_REFLECT, PY_PAD_REPLICATE, PY_PAD_CIRCULAR } py_pad_mode;
/* F.pad's mode names, or with conv the padding_mode ones ('zeros' for constant); None: constant */
bool py_pad_mode_of(py_interp *I, const py_expr *at, pv *v, bool conv, py_pad_mode *out);
/* F.pad: pad[2i], pad[2i+1] before and after along dim rank-1-i */
sf_value *py_pad(py_interp *I, const py_expr *at, sf_value *x, const int64_t *pad, int npad, py_pad_mode mode,
                 double value);

/* A row of a tensor function table: the builtin and where it is found
 * (PY_IN_* bits); py_fn_lookup finds name among rows[0..n) for `where`. */
enum { PY_IN_TORCH = 1, PY_IN_METHOD = 2, PY_IN_F = 4 };
typedef struct py_fn_row {
    py_builtin b;
    int where;
} py_fn_row;
pv *py_fn_lookup(py_interp *I, const py_fn_row *rows, size_t n, int where, const char *name, pv *self);

/* Masks and constants in forward (py_mask.c), by name as py_tensor_fn; NULL if none */
pv *py_mask_fn(py_interp *I, int where, const char *name, pv *self);
/* name is a torch dtype's canonical name (torch.long is "int64") */
bool py_is_dtype(const char *name);
/* v as numbers: a mask becomes 1.0 / 0.0, as PyTorch promotes bool in arithmetic */
sf_value *py_as_number(py_interp *I, const py_expr *at, sf_value *v);
/* torch.zeros/ones/full/empty in forward and the *_like: the FULL op over
 * dims (B allowed), of dtype (torch.float32 or torch.bool; NULL or None: dflt) */
sf_value *py_full(py_interp *I, const py_expr *at, const int64_t *dims, int rank, double value, pv *dtype,
                  sf_dtype dflt);

/* x with its dims in the order want (a permutation of 0..rank-1) */
sf_value *py_permute(py_interp *I, const py_expr *at, sf_value *x, const int *want);
/* torch.einsum (py_einsum.c): the equation over ops[0..n), and the function by name as py_tensor_fn */
sf_value *py_einsum(py_interp *I, const py_expr *at, const char *eq, sf_value *const *ops, int n);
pv *py_einsum_fn(py_interp *I, int where, const char *name, pv *self);
/* Indices (py_index.c): arange, eye, argmax, cumsum, the gathers, by name as py_tensor_fn; NULL if none */
pv *py_index_fn(py_interp *I, int where, const char *name, pv *self);
/* max(x, dim) / min(x, dim): the named tuple (values, indices) */
pv *py_max_along(py_interp *I, const py_expr *at, sf_value *x, pv *dim, pv *keepdim, bool max);
/* rows of the table w [n, d] at the indices ids (any shape): ids' shape + [d] */
sf_value *py_embedding(py_interp *I, const py_expr *at, sf_value *ids, sf_value *w);
/* toward zero, as PyTorch's conversion to an integer dtype (the result stays f32) */
sf_value *py_truncate(py_interp *I, const py_expr *at, sf_value *x);

/* A tensor function by name, where = 1 torch.X, 2 Tensor.X, 4 F.X; NULL if none. */
pv *py_tensor_fn(py_interp *I, int where, const char *name, pv *self);

#endif
