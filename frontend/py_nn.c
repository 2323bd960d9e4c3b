/* torch.nn modules: constructors with PyTorch's argument names and
 * defaults, their parameters (state_dict order and shapes), their forward
 * as IR, and the methods of nn.Module and the containers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_torch.h"

enum nn_kind {
    NN_NONE, NN_MODULE, NN_LINEAR, NN_CONV1D, NN_CONV2D, NN_BN1D, NN_BN2D, NN_LAYERNORM, NN_SOFTMAX, NN_LOGSOFTMAX, NN_SOFTMIN, NN_GLU, NN_PRELU, NN_GROUPNORM, NN_RMSNORM, NN_PARAMLIST, NN_PARAMDICT, NN_DROPOUT, NN_IDENTITY, NN_FLATTEN, NN_SEQUENTIAL, NN_MODULELIST,
    NN_MODULEDICT, NN_MHA, NN_IN1D, NN_IN2D, NN_EMBEDDING, NN_BILINEAR, NN_UPSAMPLE, NN_COUNT
};

/* The classes are shared, read-only. */
static py_class nn_classes[NN_COUNT] = {
    [NN_MODULE] = {"Module", NN_MODULE, NULL, 0, NULL, true, NULL, NULL},
    [NN_LINEAR] = {"Linear", NN_LINEAR, NULL, 0, NULL, true, NULL, NULL},
    [NN_CONV1D] = {"Conv1d", NN_CONV1D, NULL, 0, NULL, true, NULL, NULL},
    [NN_CONV2D] = {"Conv2d", NN_CONV2D, NULL, 0, NULL, true, NULL, NULL},
    [NN_BN1D] = {"BatchNorm1d", NN_BN1D, NULL, 0, NULL, true, NULL, NULL},
    [NN_BN2D] = {"BatchNorm2d", NN_BN2D, NULL, 0, NULL, true, NULL, NULL},
    [NN_LAYERNORM] = {"LayerNorm", NN_LAYERNORM, NULL, 0, NULL, true, NULL, NULL},
    [NN_SOFTMAX] = {"Softmax", NN_SOFTMAX, NULL, 0, NULL, true, NULL, NULL},
    [NN_LOGSOFTMAX] = {"LogSoftmax", NN_LOGSOFTMAX, NULL, 0, NULL, true, NULL, NULL},
    [NN_SOFTMIN] = {"Softmin", NN_SOFTMIN, NULL, 0, NULL, true, NULL, NULL},
    [NN_GLU] = {"GLU", NN_GLU, NULL, 0, NULL, true, NULL, NULL},
    [NN_PRELU] = {"PReLU", NN_PRELU, NULL, 0, NULL, true, NULL, NULL},
    [NN_GROUPNORM] = {"GroupNorm", NN_GROUPNORM, NULL, 0, NULL, true, NULL, NULL},
    [NN_RMSNORM] = {"RMSNorm", NN_RMSNORM, NULL, 0, NULL, true, NULL, NULL},
    [NN_PARAMLIST] = {"ParameterList", NN_PARAMLIST, NULL, 0, NULL, true, NULL, NULL},
    [NN_PARAMDICT] = {"ParameterDict", NN_PARAMDICT, NULL, 0, NULL, true, NULL, NULL},
    [NN_DROPOUT] = {"Dropout", NN_DROPOUT, NULL, 0, NULL, true, NULL, NULL},
    [NN_IDENTITY] = {"Identity", NN_IDENTITY, NULL, 0, NULL, true, NULL, NULL},
    [NN_FLATTEN] = {"Flatten", NN_FLATTEN, NULL, 0, NULL, true, NULL, NULL},
    [NN_SEQUENTIAL] = {"Sequential", NN_SEQUENTIAL, NULL, 0, NULL, true, NULL, NULL},
    [NN_MODULELIST] = {"ModuleList", NN_MODULELIST, NULL, 0, NULL, true, NULL, NULL},
    [NN_MODULEDICT] = {"ModuleDict", NN_MODULEDICT, NULL, 0, NULL, true, NULL, NULL},
    [NN_MHA] = {"MultiheadAttention", NN_MHA, NULL, 0, NULL, true, NULL, NULL},
    [NN_IN1D] = {"InstanceNorm1d", NN_IN1D, NULL, 0, NULL, true, NULL, NULL},
    [NN_IN2D] = {"InstanceNorm2d", NN_IN2D, NULL, 0, NULL, true, NULL, NULL},
    [NN_EMBEDDING] = {"Embedding", NN_EMBEDDING, NULL, 0, NULL, true, NULL, NULL},
    [NN_BILINEAR] = {"Bilinear", NN_BILINEAR, NULL, 0, NULL, true, NULL, NULL},
    [NN_UPSAMPLE] = {"Upsample", NN_UPSAMPLE, NULL, 0, NULL, true, NULL, NULL},
};

static const struct { const char *alias; int kind; } nn_aliases[] = {
    {"Dropout1d", NN_DROPOUT}, {"Dropout2d", NN_DROPOUT}, {"AlphaDropout", NN_DROPOUT},
    {"UpsamplingNearest2d", NN_UPSAMPLE}};

py_class *py_nn_class(py_interp *I, const char *name)
{
    (void)I;
    for (int k = 1; k < NN_COUNT; k++)
        if (strcmp(nn_classes[k].name, name) == 0)
            return &nn_classes[k];
    for (size_t i = 0; i < sizeof nn_aliases / sizeof nn_aliases[0]; i++)
        if (strcmp(nn_aliases[i].alias, name) == 0)
            return &nn_classes[nn_aliases[i].kind];
    py_class *c = py_act_class(name);
    return c ? c : py_pool_class(name);
}

typedef struct nn_cfg {
    int64_t in, out, groups;
    int sp;                   /* conv: spatial dims */
    int64_t k[2], stride[2], pad[2], dil[2];
    py_pad_mode pad_mode;     /* conv: padding_mode; other than zeros, a pad before a conv without padding */
    bool bias, affine, track; /* track: running statistics (BatchNorm, InstanceNorm) */
    double eps, momentum, p;
    int64_t norm_shape[SF_MAX_RANK];
    int norm_ndim;
    int64_t dim, end;         /* Softmax dim (INT64_MIN: None); Flatten start/end */
    py_act_cfg act;           /* PY_NN_ACTIVATION modules */
    py_pool_cfg pool;         /* PY_NN_POOL modules */
    pv *up_size, *up_scale;   /* Upsample */
} nn_cfg;
_Static_assert(NN_COUNT < PY_NN_ACTIVATION && NN_COUNT < PY_NN_POOL, "the activation and pooling modules' kinds are none of these");

static nn_cfg *cfg_of(const py_object *o) { return o->cfg; }

#define ARGS_OF(...) static const char *const names[] = {__VA_ARGS__, NULL}; pv *a[sizeof names / sizeof names[0]]

bool py_opt_bool(py_interp *I, const py_expr *at, pv *v, bool def, bool *out)
{
    *out = def;
    return !v || pv_truth(I, at, v, out);
}

static bool get_float(py_interp *I, const py_expr *at, pv *v, double def, const char *what, double *out)
{
    *out = def;
    if (!v)
        return true;
    if (!pv_is_number(v)) {
        py_error(I, at, SF_ERR_INVALID_ARG, "%s must be a number, got %s", what, pv_describe(I, v));
        return false;
    }
    *out = pv_as_double(v);
    return true;
}

bool py_get_pair(py_interp *I, const py_expr *at, pv *v, int sp, int64_t def, const char *what, int64_t *out)
{
    if (!v) {
        out[0] = out[1] = def;
        return true;
    }
    int64_t vals[SF_MAX_RANK];
    int n;
    if (!py_as_ints(I, at, v, what, vals, SF_MAX_RANK, &n))
        return false;
    if (n != 1 && n != sp) {
        py_error(I, at, SF_ERR_INVALID_ARG, "%s needs 1 or %d values, got %d", what, sp, n);
        return false;
    }
    for (int i = 0; i < sp; i++)
        out[i] = vals[n == 1 ? 0 : i];
    return true;
}

static bool positive(py_interp *I, const py_expr *at, int64_t v, const char *what)
{
    if (v >= 1 && v <= SF_DIM_MAX)
        return true;
    py_error(I, at, SF_ERR_INVALID_ARG, "%s must be a positive integer, got %lld", what, (long long)v);
    return false;
}

static py_param *add_param(py_interp *I, const py_expr *at, py_object *o, const char *name, int rank,
                           const int64_t *dims, py_init_kind kind, int64_t fan_in, bool buffer)
{
    py_init init = {0};
    init.type.dtype = SF_F32;
    init.type.rank = rank;
    for (int i = 0; i < rank; i++)
        init.type.dim[i] = dims[i];
    init.kind = kind;
    init.fan_in = fan_in;
    init.parameter = !buffer;
    return py_param_add(I, at, o, name, &init, buffer);
}

static bool build_linear(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                         const char **kwn, pv **kwv)
{
    ARGS_OF("in_features", "out_features", "bias", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    if (!py_bind(I, at, "nn.Linear()", names, 2, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_int(I, at, a[0], "in_features", &c->in) || !py_as_int(I, at, a[1], "out_features", &c->out) ||
        !py_opt_bool(I, at, a[2], true, &c->bias) || !positive(I, at, c->in, "in_features") ||
        !positive(I, at, c->out, "out_features"))
        return false;
    int64_t w[2] = {c->out, c->in};
    if (!add_param(I, at, o, "weight", 2, w, INIT_KAIMING, c->in, false))
        return false;
    return !c->bias || add_param(I, at, o, "bias", 1, &c->out, INIT_BIAS, c->in, false);
}

static bool build_conv(py_interp *I, const py_expr *at, py_object *o, int sp, int argc, pv **argv, int kwc,
                       const char **kwn, pv **kwv)
{
    ARGS_OF("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
            "padding_mode", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    c->sp = sp;
    const char *fname = sp == 1 ? "nn.Conv1d()" : "nn.Conv2d()";
    if (!py_bind(I, at, fname, names, 3, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_int(I, at, a[0], "in_channels", &c->in) || !py_as_int(I, at, a[1], "out_channels", &c->out) ||
        !py_get_pair(I, at, a[2], sp, 1, "kernel_size", c->k) || !py_get_pair(I, at, a[3], sp, 1, "stride", c->stride) ||
        !py_get_pair(I, at, a[5], sp, 1, "dilation", c->dil) || !py_opt_bool(I, at, a[7], true, &c->bias))
        return false;
    c->groups = 1;
    if (a[6] && !py_as_int(I, at, a[6], "groups", &c->groups))
        return false;
    if (!py_pad_mode_of(I, at, a[8], true, &c->pad_mode))
        return false;
    if (a[4] && a[4]->k == PV_STR) {
        bool same = strcmp(a[4]->u.s.s, "same") == 0;
        if (!same && strcmp(a[4]->u.s.s, "valid") != 0)
            return py_error(I, at, SF_ERR_INVALID_ARG, "padding must be 'same', 'valid' or ints") != NULL;
        for (int i = 0; i < sp; i++) {
            int64_t total = c->dil[i] * (c->k[i] - 1);
            if (same && (total % 2 || c->stride[i] != 1))
                return py_error(I, at, SF_ERR_UNSUPPORTED,
                                "padding='same' with an even effective kernel or a stride is not supported") != NULL;
            c->pad[i] = same ? total / 2 : 0;
        }
    } else if (!py_get_pair(I, at, a[4], sp, 0, "padding", c->pad)) {
        return false;
    }
    if (!positive(I, at, c->in, "in_channels") || !positive(I, at, c->out, "out_channels") ||
        !positive(I, at, c->groups, "groups"))
        return false;
    if (c->in % c->groups || c->out % c->groups)
        return py_error(I, at, SF_ERR_INVALID_ARG, "groups=%lld must divide in_channels=%lld and out_channels=%lld",
                        (long long)c->groups, (long long)c->in, (long long)c->out) != NULL;
    int64_t w[4] = {c->out, c->in / c->groups, c->k[0], c->k[1]}, fan = c->in / c->groups;
    for (int i = 0; i < sp; i++) {
        if (!positive(I, at, c->k[i], "kernel_size") || !positive(I, at, c->stride[i], "stride") ||
            !positive(I, at, c->dil[i], "dilation"))
            return false;
        if (c->pad[i] < 0 || c->pad[i] > SF_DIM_MAX)
            return py_error(I, at, SF_ERR_INVALID_ARG, "padding must be non-negative") != NULL;
        fan *= c->k[i];
    }
    if (!add_param(I, at, o, "weight", 2 + sp, w, INIT_KAIMING, fan, false))
        return false;
    return !c->bias || add_param(I, at, o, "bias", 1, &c->out, INIT_BIAS, fan, false);
}

/* BatchNorm (affine and running statistics by default) and InstanceNorm
 * (neither by default): weight, bias, then the running statistics */
static bool build_stat_norm(py_interp *I, const py_expr *at, py_object *o, bool instance, int argc, pv **argv, int kwc,
                            const char **kwn, pv **kwv)
{
    ARGS_OF("num_features", "eps", "momentum", "affine", "track_running_stats", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    if (!py_bind(I, at, instance ? "nn.InstanceNorm()" : "nn.BatchNorm()", names, 1, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_int(I, at, a[0], "num_features", &c->in) || !get_float(I, at, a[1], 1e-5, "eps", &c->eps) ||
        !py_opt_bool(I, at, a[3], !instance, &c->affine) || !py_opt_bool(I, at, a[4], !instance, &c->track) ||
        !positive(I, at, c->in, "num_features"))
        return false;
    if (!instance && !c->track)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "BatchNorm with track_running_stats=False normalises with batch statistics even in eval "
                        "mode; sheaf compiles inference with running statistics") != NULL;
    if (c->affine && (!add_param(I, at, o, "weight", 1, &c->in, INIT_ONES, 0, false) ||
                      !add_param(I, at, o, "bias", 1, &c->in, INIT_ZEROS, 0, false)))
        return false;
    if (!c->track)
        return true;
    py_param *nbt;
    if (!add_param(I, at, o, "running_mean", 1, &c->in, INIT_ZEROS, 0, true) ||
        !add_param(I, at, o, "running_var", 1, &c->in, INIT_ONES, 0, true) ||
        !(nbt = add_param(I, at, o, "num_batches_tracked", 0, NULL, INIT_ZEROS, 0, true)))
        return false;
    nbt->integer = true;
    return true;
}

static bool build_layernorm(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                            const char **kwn, pv **kwv)
{
    ARGS_OF("normalized_shape", "eps", "elementwise_affine", "bias", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    bool bias;
    if (!py_bind(I, at, "nn.LayerNorm()", names, 1, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_ints(I, at, a[0], "normalized_shape", c->norm_shape, SF_MAX_RANK, &c->norm_ndim) ||
        !get_float(I, at, a[1], 1e-5, "eps", &c->eps) || !py_opt_bool(I, at, a[2], true, &c->affine) ||
        !py_opt_bool(I, at, a[3], true, &bias))
        return false;
    for (int i = 0; i < c->norm_ndim; i++)
        if (!positive(I, at, c->norm_shape[i], "normalized_shape"))
            return false;
    c->bias = bias && c->affine;
    if (c->affine && !add_param(I, at, o, "weight", c->norm_ndim, c->norm_shape, INIT_ONES, 0, false))
        return false;
    return !c->bias || add_param(I, at, o, "bias", c->norm_ndim, c->norm_shape, INIT_ZEROS, 0, false);
}

/* Upsample(size, scale_factor, mode='nearest'): whole factors, checked at forward against the input */
static bool build_upsample(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                           const char **kwn, pv **kwv)
{
    ARGS_OF("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor");
    nn_cfg *c = cfg_of(o);
    if (!py_bind(I, at, "nn.Upsample()", names, 0, argc, argv, kwc, kwn, kwv, a))
        return false;
    if (a[2] && !(a[2]->k == PV_STR && !strcmp(a[2]->u.s.s, "nearest")))
        return py_error(I, at, SF_ERR_UNSUPPORTED, "Upsample(mode=%s): only 'nearest' is supported",
                        a[2]->k == PV_STR ? a[2]->u.s.s : pv_describe(I, a[2])) != NULL;
    c->up_size = a[0], c->up_scale = a[1];
    return true;
}

/* Embedding(num_embeddings, embedding_dim, padding_idx, max_norm, ...): weight ~ N(0, 1) */
static bool build_embedding(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                            const char **kwn, pv **kwv)
{
    ARGS_OF("num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse",
            "_weight", "_freeze", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    if (!py_bind(I, at, "nn.Embedding()", names, 2, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_int(I, at, a[0], "num_embeddings", &c->in) || !py_as_int(I, at, a[1], "embedding_dim", &c->out) ||
        !positive(I, at, c->in, "num_embeddings") || !positive(I, at, c->out, "embedding_dim"))
        return false;
    if (a[3] && a[3]->k != PV_NONE)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "Embedding(max_norm=...) renormalises its weight in place during "
                                                   "forward: not supported") != NULL;
    if (a[7] && a[7]->k != PV_NONE)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "Embedding(_weight=...): use Embedding.from_pretrained's weights "
                                                   "through state_dict") != NULL;
    int64_t w[2] = {c->in, c->out};
    return add_param(I, at, o, "weight", 2, w, INIT_NORMAL, 0, false) != NULL;
}

/* Bilinear(in1_features, in2_features, out_features, bias): weight [out, in1, in2], both in +-1/sqrt(in1) */
static bool build_bilinear(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                           const char **kwn, pv **kwv)
{
    ARGS_OF("in1_features", "in2_features", "out_features", "bias", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    if (!py_bind(I, at, "nn.Bilinear()", names, 3, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_int(I, at, a[0], "in1_features", &c->in) || !py_as_int(I, at, a[1], "in2_features", &c->groups) ||
        !py_as_int(I, at, a[2], "out_features", &c->out) || !py_opt_bool(I, at, a[3], true, &c->bias) ||
        !positive(I, at, c->in, "in1_features") || !positive(I, at, c->groups, "in2_features") ||
        !positive(I, at, c->out, "out_features"))
        return false;
    int64_t w[3] = {c->out, c->in, c->groups};
    if (!add_param(I, at, o, "weight", 3, w, INIT_BIAS, c->in, false))
        return false;
    return !c->bias || add_param(I, at, o, "bias", 1, &c->out, INIT_BIAS, c->in, false);
}

/* GroupNorm(num_groups, num_channels, eps=1e-5, affine=True) */
static bool build_groupnorm(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                            const char **kwn, pv **kwv)
{
    ARGS_OF("num_groups", "num_channels", "eps", "affine", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    if (!py_bind(I, at, "nn.GroupNorm()", names, 2, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_int(I, at, a[0], "num_groups", &c->groups) || !py_as_int(I, at, a[1], "num_channels", &c->in) ||
        !get_float(I, at, a[2], 1e-5, "eps", &c->eps) || !py_opt_bool(I, at, a[3], true, &c->affine) ||
        !positive(I, at, c->groups, "num_groups") || !positive(I, at, c->in, "num_channels"))
        return false;
    if (c->in % c->groups)
        return py_error(I, at, SF_ERR_INVALID_ARG, "GroupNorm: num_channels (%lld) must be divisible by num_groups (%lld)",
                        (long long)c->in, (long long)c->groups) != NULL;
    return !c->affine || (add_param(I, at, o, "weight", 1, &c->in, INIT_ONES, 0, false) &&
                          add_param(I, at, o, "bias", 1, &c->in, INIT_ZEROS, 0, false));
}

/* RMSNorm(normalized_shape, eps=None (float32's epsilon), elementwise_affine=True) */
static bool build_rmsnorm(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                          const char **kwn, pv **kwv)
{
    ARGS_OF("normalized_shape", "eps", "elementwise_affine", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    if (!py_bind(I, at, "nn.RMSNorm()", names, 1, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_ints(I, at, a[0], "normalized_shape", c->norm_shape, SF_MAX_RANK, &c->norm_ndim) ||
        !get_float(I, at, a[1] && a[1]->k == PV_NONE ? NULL : a[1], 1.1920928955078125e-07, "eps", &c->eps) ||
        !py_opt_bool(I, at, a[2], true, &c->affine))
        return false;
    for (int i = 0; i < c->norm_ndim; i++)
        if (!positive(I, at, c->norm_shape[i], "normalized_shape"))
            return false;
    return !c->affine || add_param(I, at, o, "weight", c->norm_ndim, c->norm_shape, INIT_ONES, 0, false);
}

static bool add_children(py_interp *I, const py_expr *at, py_object *o, pv *src)
{
    if (src->k == PV_DICT) {
        for (int64_t i = 0; i < src->u.dict->n; i++) {
            pv *k = src->u.dict->keys[i], *m = src->u.dict->vals[i];
            if (k->k != PV_STR || m->k != PV_OBJECT || !m->u.obj->cls->is_module)
                return py_error(I, at, SF_ERR_INVALID_ARG, "%s entries must be name: module", o->cls->name) != NULL;
            if (!py_child_add(I, o, k->u.s.s, m->u.obj))
                return false;
        }
        return true;
    }
    pv *items = pv_iterate(I, at, src);
    for (int64_t i = 0; items && i < items->u.list->n; i++) {
        pv *m = items->u.list->items[i];
        if (o->cls->nn == NN_MODULEDICT) {
            pv *mod = (m->k == PV_TUPLE || m->k == PV_LIST) && m->u.list->n == 2 ? m->u.list->items[1] : NULL;
            if (!mod || m->u.list->items[0]->k != PV_STR || mod->k != PV_OBJECT || !mod->u.obj->cls->is_module)
                return py_error(I, at, SF_ERR_INVALID_ARG, "ModuleDict entries must be (name, module) pairs") != NULL;
            if (!py_child_add(I, o, m->u.list->items[0]->u.s.s, mod->u.obj))
                return false;
            continue;
        }
        if (m->k != PV_OBJECT || !m->u.obj->cls->is_module)
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s holds modules, got %s", o->cls->name, pv_describe(I, m)) !=
                   NULL;
        char name[32];
        snprintf(name, sizeof name, "%lld", (long long)o->nchildren);
        if (!py_child_append(I, o, name, m->u.obj))
            return false;
    }
    return items != NULL;
}

/* PReLU(num_parameters=1, init=0.25): weight [num_parameters], filled with init */
static bool build_prelu(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn,
                        pv **kwv)
{
    ARGS_OF("num_parameters", "init", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    c->in = 1;
    double init = 0.25;
    if (!py_bind(I, at, "nn.PReLU()", names, 0, argc, argv, kwc, kwn, kwv, a) ||
        (a[0] && !py_as_int(I, at, a[0], "num_parameters", &c->in)) || !positive(I, at, c->in, "num_parameters") ||
        !get_float(I, at, a[1], 0.25, "init", &init))
        return false;
    py_param *p = add_param(I, at, o, "weight", 1, &c->in, INIT_FULL, 0, false);
    return p && (p->init.fill = init, true);
}

/* in_proj_weight [3E, E], in_proj_bias, then out_proj's: PyTorch's keys and order (out_proj is a child
 * there; its parameters come last either way) */
static bool build_mha(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn,
                      pv **kwv)
{
    ARGS_OF("embed_dim", "num_heads", "dropout", "bias", "add_bias_kv", "add_zero_attn", "kdim", "vdim",
            "batch_first", "device", "dtype");
    nn_cfg *c = cfg_of(o);
    bool bias_kv, zero_attn, batch_first;
    int64_t kdim, vdim;
    if (!py_bind(I, at, "nn.MultiheadAttention()", names, 2, argc, argv, kwc, kwn, kwv, a) ||
        !py_as_int(I, at, a[0], "embed_dim", &c->in) || !py_as_int(I, at, a[1], "num_heads", &c->groups) ||
        !py_opt_bool(I, at, a[3], true, &c->bias) || !py_opt_bool(I, at, a[4], false, &bias_kv) ||
        !py_opt_bool(I, at, a[5], false, &zero_attn) || !py_opt_bool(I, at, a[8], false, &batch_first) ||
        !positive(I, at, c->in, "embed_dim") || !positive(I, at, c->groups, "num_heads"))
        return false;
    if (c->in % c->groups)
        return py_error(I, at, SF_ERR_INVALID_ARG, "MultiheadAttention: embed_dim %lld is not divisible by num_heads %lld",
                        (long long)c->in, (long long)c->groups) != NULL;
    if (!batch_first)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "MultiheadAttention with batch_first=False takes [length, batch, "
                        "embed]: sheaf's batch is dim 0, so pass batch_first=True") != NULL;
    if (bias_kv || zero_attn)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "MultiheadAttention: add_bias_kv and add_zero_attn are not "
                        "supported") != NULL;
    if ((a[6] && a[6]->k != PV_NONE && (!py_as_int(I, at, a[6], "kdim", &kdim) || kdim != c->in)) ||
        (a[7] && a[7]->k != PV_NONE && (!py_as_int(I, at, a[7], "vdim", &vdim) || vdim != c->in)))
        return I->failed ? false : py_error(I, at, SF_ERR_UNSUPPORTED, "MultiheadAttention: kdim and vdim other "
                                            "than embed_dim are not supported") != NULL;
    int64_t e = c->in, packed[2] = {3 * e, e}, square[2] = {e, e}, three = 3 * e;
    return add_param(I, at, o, "in_proj_weight", 2, packed, INIT_KAIMING, e, false) &&
           (!c->bias || add_param(I, at, o, "in_proj_bias", 1, &three, INIT_ZEROS, 0, false)) &&
           add_param(I, at, o, "out_proj.weight", 2, square, INIT_KAIMING, e, false) &&
           (!c->bias || add_param(I, at, o, "out_proj.bias", 1, &e, INIT_ZEROS, 0, false));
}

static bool build_simple(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc,
                         const char **kwn, pv **kwv)
{
    nn_cfg *c = cfg_of(o);
    int kind = o->cls->nn;
    const char *fname = o->cls->name;
    switch (kind) {
    case PY_NN_ACTIVATION: return py_act_module_init(I, at, fname, argc, argv, kwc, kwn, kwv, &c->act);
    case PY_NN_POOL: return py_pool_module_init(I, at, fname, argc, argv, kwc, kwn, kwv, &c->pool);
    case NN_SOFTMAX: case NN_LOGSOFTMAX: case NN_SOFTMIN: case NN_GLU: {
        ARGS_OF("dim");
        if (!py_bind(I, at, fname, names, 0, argc, argv, kwc, kwn, kwv, a))
            return false;
        c->dim = kind == NN_GLU ? -1 : INT64_MIN; /* GLU halves the last dim by default */
        return !a[0] || a[0]->k == PV_NONE || py_as_int(I, at, a[0], "dim", &c->dim);
    }
    case NN_DROPOUT: {
        ARGS_OF("p", "inplace");
        if (!py_bind(I, at, fname, names, 0, argc, argv, kwc, kwn, kwv, a) ||
            !get_float(I, at, a[0], 0.5, "p", &c->p))
            return false;
        if (c->p < 0 || c->p > 1)
            return py_error(I, at, SF_ERR_INVALID_ARG, "dropout probability must be in [0, 1], got %g", c->p) != NULL;
        return true;
    }
    case NN_IDENTITY:
        return true; /* Identity(*args, **kwargs) ignores its arguments */
    case NN_FLATTEN: {
        ARGS_OF("start_dim", "end_dim");
        c->dim = 1;
        c->end = -1;
        return py_bind(I, at, fname, names, 0, argc, argv, kwc, kwn, kwv, a) &&
               (!a[0] || py_as_int(I, at, a[0], "start_dim", &c->dim)) &&
               (!a[1] || py_as_int(I, at, a[1], "end_dim", &c->end));
    }
    case NN_SEQUENTIAL:
        if (kwc)
            return py_error(I, at, SF_ERR_INVALID_ARG, "nn.Sequential takes modules, not keyword arguments") != NULL;
        if (argc == 1 && argv[0]->k == PV_DICT)
            return add_children(I, at, o, argv[0]);
        for (int i = 0; i < argc; i++) {
            pv *one = pv_list_new(I, PV_LIST, 1);
            if (!one || !pv_list_push(I, one, argv[i]) || !add_children(I, at, o, one))
                return false;
        }
        return true;
    case NN_MODULELIST: case NN_MODULEDICT: {
        ARGS_OF("modules");
        if (!py_bind(I, at, fname, names, 0, argc, argv, kwc, kwn, kwv, a))
            return false;
        return !a[0] || a[0]->k == PV_NONE || add_children(I, at, o, a[0]);
    }
    case NN_MODULE:
        return argc == 0 && kwc == 0 ? true : py_error(I, at, SF_ERR_INVALID_ARG, "nn.Module() takes no arguments") != NULL;
    }
    return false;
}

pv *py_nn_construct(py_interp *I, const py_expr *at, py_class *cls, int argc, pv **argv, int kwc, const char **kwn,
                    pv **kwv)
{
    py_object *o = py_object_new(I, cls);
    nn_cfg *c = o ? sf_arena_alloc(I->arena, sizeof *c) : NULL;
    pv *v = c ? pv_new(I, PV_OBJECT) : NULL;
    if (!v)
        return NULL;
    o->cfg = c;
    v->u.obj = o;
    bool ok;
    switch (cls->nn) {
    case NN_LINEAR: ok = build_linear(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_CONV1D: ok = build_conv(I, at, o, 1, argc, argv, kwc, kwn, kwv); break;
    case NN_CONV2D: ok = build_conv(I, at, o, 2, argc, argv, kwc, kwn, kwv); break;
    case NN_BN1D: case NN_BN2D: ok = build_stat_norm(I, at, o, false, argc, argv, kwc, kwn, kwv); break;
    case NN_IN1D: case NN_IN2D: ok = build_stat_norm(I, at, o, true, argc, argv, kwc, kwn, kwv); break;
    case NN_EMBEDDING: ok = build_embedding(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_BILINEAR: ok = build_bilinear(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_UPSAMPLE: ok = build_upsample(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_LAYERNORM: ok = build_layernorm(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_PRELU: ok = build_prelu(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_GROUPNORM: ok = build_groupnorm(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_RMSNORM: ok = build_rmsnorm(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_PARAMLIST: ok = py_param_list_init(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_PARAMDICT: ok = py_param_dict_init(I, at, o, argc, argv, kwc, kwn, kwv); break;
    case NN_MHA: ok = build_mha(I, at, o, argc, argv, kwc, kwn, kwv); break;
    default: ok = build_simple(I, at, o, argc, argv, kwc, kwn, kwv); break;
    }
    return ok && !I->failed ? v : NULL;
}

/* ---- forward ---- */

static sf_value *param_value(py_interp *I, const py_expr *at, py_object *o, const char *name)
{
    py_param *p = py_param_find(o, name);
    if (!p)
        return NULL;
    pv *t = py_param_tensor(I, at, p);
    return t ? t->u.t->v : NULL;
}

/* PReLU: x > 0 ? x : w x, w per channel (dim 1) or one for all: relu(x) +
 * w (x - relu(x)), whose x - relu(x) is min(x, 0) exactly */
static sf_value *prelu_forward(py_interp *I, const py_expr *at, py_object *o, sf_value *x)
{
    sf_value *w = param_value(I, at, o, "weight");
    int64_t C = cfg_of(o)->in;
    if (!w)
        return NULL;
    if (C > 1) {
        if (x->type.rank < 2 || x->type.dim[1] != C)
            return py_error(I, at, SF_ERR_SHAPE, "PReLU(%lld) needs %lld channels at dim 1 of its input",
                            (long long)C, (long long)C), NULL;
        w = py_channel_view(I, at, w, x->type.rank);
    }
    sf_value *pos = w ? py_op1(I, at, SF_OP_RELU, x) : NULL, *neg = pos ? py_op2(I, at, SF_OP_SUB, x, pos) : NULL;
    return neg ? py_op2(I, at, SF_OP_ADD, pos, py_op2(I, at, SF_OP_MUL, neg, w)) : NULL;
}


static sf_value *conv_forward(py_interp *I, const py_expr *at, py_object *o, sf_value *x)
{
    nn_cfg *c = cfg_of(o);
    sf_value *in[3] = {x, param_value(I, at, o, "weight"), c->bias ? param_value(I, at, o, "bias") : NULL};
    if (!in[1] || (c->bias && !in[2]))
        return NULL;
    if (x->type.rank != c->sp + 2) {
        char tb[160];
        py_error(I, at, SF_ERR_SHAPE, "%s expects a batched input of rank %d, got %s", o->cls->name, c->sp + 2,
                 sf_type_str(&x->type, tb, sizeof tb));
        return NULL;
    }
    int64_t none[2] = {0, 0}, *pad = c->pad;
    if (c->pad_mode != PY_PAD_CONSTANT) { /* as PyTorch: F.pad(x, mode), then a conv without padding */
        int64_t p[4] = {c->pad[c->sp - 1], c->pad[c->sp - 1], c->pad[0], c->pad[0]};
        if (!(in[0] = py_pad(I, at, x, p, 2 * c->sp, c->pad_mode, 0.0)))
            return NULL;
        pad = none;
    }
    sf_node *n = py_begin(I, at, c->sp == 1 ? SF_OP_CONV1D : SF_OP_CONV2D, c->bias ? 3 : 2, in);
    if (!n || !sf_node_set_ints(I->g, n, SF_ATTR_STRIDE, c->stride, c->sp) ||
        !sf_node_set_ints(I->g, n, SF_ATTR_PADDING, pad, c->sp) || !sf_node_set_ints(I->g, n, SF_ATTR_DILATION, c->dil, c->sp))
        return NULL;
    sf_node_set_int(n, SF_ATTR_GROUPS, c->groups);
    return py_emit(I, at, n);
}

static sf_value *norm_forward(py_interp *I, const py_expr *at, py_object *o, sf_value *x)
{
    nn_cfg *c = cfg_of(o);
    char tb[160];
    if (o->cls->nn == NN_LAYERNORM) {
        sf_value *in[3] = {x, NULL, NULL};
        int nin = 1;
        if (c->affine && !(in[nin++] = param_value(I, at, o, "weight")))
            return NULL;
        if (c->bias && !(in[nin++] = param_value(I, at, o, "bias")))
            return NULL;
        sf_node *n = py_begin(I, at, SF_OP_LAYERNORM, nin, in);
        if (n) {
            sf_node_set_int(n, SF_ATTR_NDIM, c->norm_ndim);
            sf_node_set_float(n, SF_ATTR_EPS, c->eps);
        }
        return py_emit(I, at, n);
    }
    bool two_d = o->cls->nn == NN_BN2D || o->cls->nn == NN_IN2D, instance = o->cls->nn == NN_IN1D || o->cls->nn == NN_IN2D;
    if (two_d ? x->type.rank != 4 : (x->type.rank != 3 && (instance || x->type.rank != 2))) {
        py_error(I, at, SF_ERR_SHAPE, "%s expects %s input, got %s%s", o->cls->name, two_d ? "4D" : instance ? "3D" : "2D or 3D",
                 sf_type_str(&x->type, tb, sizeof tb), instance ? " (an unbatched input would normalise the batch)" : "");
        return NULL;
    }
    if (x->type.dim[1] != c->in) {
        py_error(I, at, SF_ERR_SHAPE, "%s(%lld) needs %lld channels at dim 1 of its input %s", o->cls->name,
                 (long long)c->in, (long long)c->in, sf_type_str(&x->type, tb, sizeof tb));
        return NULL;
    }
    if (instance && !c->track) { /* statistics of each channel of each sample: GroupNorm with a group per channel */
        sf_value *w = c->affine ? param_value(I, at, o, "weight") : NULL, *b = c->affine ? param_value(I, at, o, "bias") : NULL;
        return !c->affine || (w && b) ? py_group_norm(I, at, x, c->in, c->eps, w, b) : NULL;
    }
    sf_value *in[5] = {x, param_value(I, at, o, "running_mean"), param_value(I, at, o, "running_var"), NULL, NULL};
    int nin = 3;
    if (c->affine) {
        in[3] = param_value(I, at, o, "weight");
        in[4] = param_value(I, at, o, "bias");
        nin = 5;
    }
    for (int i = 1; i < nin; i++)
        if (!in[i])
            return NULL;
    sf_node *n = py_begin(I, at, SF_OP_BATCHNORM, nin, in);
    if (n)
        sf_node_set_float(n, SF_ATTR_EPS, c->eps);
    return py_emit(I, at, n);
}

pv *py_nn_call(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn, pv **kwv)
{
    int kind = o->cls->nn;
    if (kind == NN_MODULELIST || kind == NN_MODULEDICT || kind == NN_MODULE)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s is not callable (it has no forward)", o->cls->name);
    if (kind == NN_IDENTITY && argc >= 1)
        return argv[0];
    if (kind == NN_MHA) {
        bool bias = cfg_of(o)->bias;
        sf_value *w[4] = {param_value(I, at, o, "in_proj_weight"), bias ? param_value(I, at, o, "in_proj_bias") : NULL,
                          param_value(I, at, o, "out_proj.weight"), bias ? param_value(I, at, o, "out_proj.bias") : NULL};
        if (!w[0] || !w[2] || (bias && (!w[1] || !w[3])))
            return NULL;
        return py_mha_forward(I, at, cfg_of(o)->groups, w, argc, argv, kwc, kwn, kwv);
    }
    if (kind == NN_BILINEAR) {
        nn_cfg *c = cfg_of(o);
        sf_value *w = param_value(I, at, o, "weight"), *b = c->bias ? param_value(I, at, o, "bias") : NULL;
        if (argc != 2 || kwc)
            return py_error(I, at, SF_ERR_INVALID_ARG, "Bilinear takes two input tensors");
        sf_value *x1 = py_tv(I, at, argv[0], "Bilinear"), *x2 = x1 ? py_tv(I, at, argv[1], "Bilinear") : NULL;
        return x2 && w && (b || !c->bias) ? pv_tensor(I, py_bilinear(I, at, x1, x2, w, b)) : NULL;
    }
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s takes one input tensor", o->cls->name);
    if (kind == NN_SEQUENTIAL) {
        if (I->depth >= PY_MAX_CALL_DEPTH)
            return py_error(I, at, SF_ERR_UNSUPPORTED,
                            "module calls nested deeper than %d (a Sequential that contains itself?)", PY_MAX_CALL_DEPTH);
        pv *x = argv[0];
        I->depth++;
        for (int64_t i = 0; x && i < o->nchildren; i++) {
            pv *child = pv_new(I, PV_OBJECT);
            if (!(x = child ? x : NULL))
                break;
            child->u.obj = o->children[i].obj;
            x = py_call(I, at, child, 1, &x, 0, NULL, NULL);
        }
        I->depth--;
        return x;
    }
    sf_value *x = py_tv(I, at, argv[0], o->cls->name);
    if (!x)
        return NULL;
    nn_cfg *c = cfg_of(o);
    sf_value *r = NULL;
    switch (kind) {
    case NN_LINEAR: {
        sf_value *w = param_value(I, at, o, "weight"), *b = c->bias ? param_value(I, at, o, "bias") : NULL;
        r = w && (b || !c->bias) ? py_linear(I, at, x, w, b) : NULL;
        break;
    }
    case NN_CONV1D: case NN_CONV2D: r = conv_forward(I, at, o, x); break;
    case NN_BN1D: case NN_BN2D: case NN_LAYERNORM: case NN_IN1D: case NN_IN2D: r = norm_forward(I, at, o, x); break;
    case NN_UPSAMPLE: r = py_upsample_nearest(I, at, x, c->up_size, c->up_scale, o->cls->name); break;
    case NN_EMBEDDING: {
        sf_value *w = param_value(I, at, o, "weight");
        r = w ? py_embedding(I, at, x, w) : NULL;
        break;
    }
    case PY_NN_ACTIVATION: return py_act_forward(I, at, &c->act, o->cls->name, argv[0]);
    case PY_NN_POOL: return py_pool_forward(I, at, &c->pool, o->cls->name, argv[0]);
    case NN_SOFTMAX: case NN_LOGSOFTMAX: case NN_SOFTMIN: case NN_GLU:
        if (c->dim == INT64_MIN)
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s(dim=None): the implicit dim is deprecated; give dim",
                            o->cls->name);
        r = kind == NN_SOFTMAX ? py_softmax(I, at, x, c->dim)
          : kind == NN_LOGSOFTMAX ? py_log_softmax(I, at, x, c->dim)
          : kind == NN_SOFTMIN ? py_softmin(I, at, x, c->dim)
                               : py_glu(I, at, x, c->dim);
        break;
    case NN_PRELU: r = prelu_forward(I, at, o, x); break;
    case NN_GROUPNORM: {
        if (x->type.rank < 2 || x->type.dim[1] != c->in)
            return py_error(I, at, SF_ERR_SHAPE, "GroupNorm(%lld, %lld) needs %lld channels at dim 1 of its input",
                            (long long)c->groups, (long long)c->in, (long long)c->in);
        sf_value *w = c->affine ? param_value(I, at, o, "weight") : NULL, *b = c->affine ? param_value(I, at, o, "bias") : NULL;
        r = !c->affine || (w && b) ? py_group_norm(I, at, x, c->groups, c->eps, w, b) : NULL;
        break;
    }
    case NN_RMSNORM: {
        char tb[160];
        int nd = c->norm_ndim;
        for (int i = 0; i < nd; i++)
            if (nd > x->type.rank || x->type.dim[x->type.rank - nd + i] != c->norm_shape[i])
                return py_error(I, at, SF_ERR_SHAPE, "RMSNorm: input %s does not end in its normalized_shape",
                                sf_type_str(&x->type, tb, sizeof tb));
        sf_value *w = c->affine ? param_value(I, at, o, "weight") : NULL;
        r = !c->affine || w ? py_rms_norm(I, at, x, nd, c->eps, w) : NULL;
        break;
    }
    case NN_DROPOUT: return argv[0]; /* inference: identity */
    case NN_FLATTEN: return py_view_of(I, argv[0], py_flatten(I, at, x, c->dim, c->end));
    }
    return r ? pv_tensor(I, r) : NULL;
}

pv *py_nn_attr(py_interp *I, const py_expr *at, py_object *o, const char *name)
{
    (void)at;
    nn_cfg *c = cfg_of(o);
    int kind = o->cls->nn;
    if (!c)
        return NULL;
    if (kind == NN_LINEAR) {
        if (strcmp(name, "in_features") == 0) return pv_int(I, c->in);
        if (strcmp(name, "out_features") == 0) return pv_int(I, c->out);
    }
    if (kind == NN_CONV1D || kind == NN_CONV2D) {
        if (strcmp(name, "in_channels") == 0) return pv_int(I, c->in);
        if (strcmp(name, "out_channels") == 0) return pv_int(I, c->out);
        if (strcmp(name, "groups") == 0) return pv_int(I, c->groups);
        const int64_t *src = strcmp(name, "kernel_size") == 0 ? c->k : strcmp(name, "stride") == 0 ? c->stride
                           : strcmp(name, "padding") == 0     ? c->pad
                           : strcmp(name, "dilation") == 0    ? c->dil : NULL;
        if (src) {
            pv *t = pv_list_new(I, PV_TUPLE, c->sp);
            for (int i = 0; t && i < c->sp; i++)
                pv_list_push(I, t, pv_int(I, src[i]));
            return t;
        }
    }
    if (kind == NN_MHA) {
        if (strcmp(name, "embed_dim") == 0) return pv_int(I, c->in);
        if (strcmp(name, "num_heads") == 0) return pv_int(I, c->groups);
        if (strcmp(name, "head_dim") == 0) return pv_int(I, c->in / c->groups);
        if (strcmp(name, "batch_first") == 0) return pv_bool(I, true);
    }
    if (kind == NN_BN1D || kind == NN_BN2D) {
        if (strcmp(name, "num_features") == 0) return pv_int(I, c->in);
        if (strcmp(name, "eps") == 0) return pv_float(I, c->eps);
        if (strcmp(name, "affine") == 0) return pv_bool(I, c->affine);
    }
    if (kind == NN_LAYERNORM && strcmp(name, "normalized_shape") == 0) {
        pv *t = pv_list_new(I, PV_TUPLE, c->norm_ndim);
        for (int i = 0; t && i < c->norm_ndim; i++)
            pv_list_push(I, t, pv_int(I, c->norm_shape[i]));
        return t;
    }
    if ((kind == NN_SOFTMAX || kind == NN_LOGSOFTMAX || kind == NN_SOFTMIN || kind == NN_GLU) && strcmp(name, "dim") == 0)
        return c->dim == INT64_MIN ? pv_none(I) : pv_int(I, c->dim);
    if (kind == NN_EMBEDDING) {
        if (strcmp(name, "num_embeddings") == 0) return pv_int(I, c->in);
        if (strcmp(name, "embedding_dim") == 0) return pv_int(I, c->out);
    }
    if (kind == NN_DROPOUT && strcmp(name, "p") == 0)
        return pv_float(I, c->p);
    return NULL;
}
