#include "ir/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t sf_tensor_numel(const sf_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (size_t)t->dim[i];
    return n;
}

const char *sf_tensor_shape_str(const sf_tensor *t, char *buf, size_t cap)
{
    return sf_dims_str(t->dim, t->rank, buf, cap);
}

sf_tensor_set *sf_tensors_new(void)
{
    return calloc(1, sizeof(sf_tensor_set));
}

void sf_tensors_free(sf_tensor_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->tensors.len; i++) {
        sf_tensor *t = s->tensors.items[i];
        if (!t->borrowed)
            free(t->data);
        free(t);
        free(s->names.items[i]);
    }
    sf_vec_free(&s->names);
    sf_vec_free(&s->tensors);
    sf_map_free(&s->by_name);
    free(s);
}

/* a new entry named name, shaped dims, with room for its data when own */
static sf_tensor *add_entry(sf_tensor_set *s, const char *name, int rank, const int64_t *dims, bool own,
                            size_t *bytes, sf_error *err)
{
    if (rank < 0 || rank > SF_MAX_RANK) {
        sf_fail(err, SF_ERR_UNSUPPORTED, "tensor '%s' has rank %d; at most %d is supported", name, rank, SF_MAX_RANK);
        return NULL;
    }
    if (sf_map_get(&s->by_name, name)) {
        sf_fail(err, SF_ERR_INVALID_ARG, "tensor '%s' given twice", name);
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || sf_mul_overflow(n, (size_t)dims[i], &n)) {
            sf_fail(err, SF_ERR_NOMEM, "tensor '%s' has a negative or overflowing shape", name);
            return NULL;
        }
    }
    if (sf_mul_overflow(n, sizeof(float), bytes)) {
        sf_fail(err, SF_ERR_NOMEM, "tensor '%s' is too large", name);
        return NULL;
    }
    sf_tensor *t = calloc(1, sizeof *t);
    char *copy = strdup(name);
    float *buf = own ? malloc(*bytes ? *bytes : 1) : NULL;
    if (!t || !copy || (own && !buf) || !sf_vec_push(&s->tensors, t)) {
        free(t), free(copy), free(buf);
        sf_fail(err, SF_ERR_NOMEM, "out of memory for tensor '%s' (%zu bytes)", name, *bytes);
        return NULL;
    }
    if (!sf_vec_push(&s->names, copy) || !sf_map_put(&s->by_name, copy, t)) {
        s->tensors.len--;
        free(t), free(copy), free(buf);
        sf_fail(err, SF_ERR_NOMEM, "out of memory for tensor '%s'", name);
        return NULL;
    }
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dim[i] = dims[i];
    t->data = buf;
    return t;
}

sf_tensor *sf_tensors_add(sf_tensor_set *s, const char *name, int rank, const int64_t *dims, const float *data,
                          sf_error *err)
{
    size_t bytes;
    sf_tensor *t = add_entry(s, name, rank, dims, true, &bytes, err);
    if (t && data)
        memcpy(t->data, data, bytes);
    else if (t)
        memset(t->data, 0, bytes);
    return t;
}

sf_tensor *sf_tensors_borrow(sf_tensor_set *s, const char *name, int rank, const int64_t *dims, const float *data,
                             sf_error *err)
{
    size_t bytes;
    sf_tensor *t = add_entry(s, name, rank, dims, false, &bytes, err);
    if (t) {
        t->data = (float *)data; /* never written: the flag says so */
        t->borrowed = true;
    }
    return t;
}

sf_tensor *sf_tensors_get(const sf_tensor_set *s, const char *name)
{
    return sf_map_get(&s->by_name, name);
}

size_t sf_tensors_count(const sf_tensor_set *s) { return s->tensors.len; }

static bool shape_matches(const sf_type *ty, const sf_tensor *t, int64_t batch)
{
    if (ty->rank != t->rank)
        return false;
    for (int i = 0; i < t->rank; i++)
        if ((ty->dim[i] == SF_DIM_B ? batch : ty->dim[i]) != t->dim[i])
            return false;
    return true;
}

sf_status sf_check_weights(const sf_graph *g, const sf_tensor_set *w, bool allow_extra, sf_error *err)
{
    char a[160], b[160];
    for (size_t i = 0; i < g->params.len; i++) {
        const sf_value *p = g->params.items[i];
        const sf_tensor *t = sf_tensors_get(w, p->def->name);
        if (!t)
            return sf_fail(err, SF_ERR_WEIGHTS, "weights: missing key '%s' (parameter %s)", p->def->name,
                           sf_type_str(&p->type, a, sizeof a));
        if (!shape_matches(&p->type, t, 0))
            return sf_fail(err, SF_ERR_WEIGHTS, "weights: key '%s' has shape %s but the parameter is %s", p->def->name,
                           sf_tensor_shape_str(t, b, sizeof b), sf_type_str(&p->type, a, sizeof a));
    }
    if (!allow_extra)
        for (size_t i = 0; i < w->names.len; i++)
            if (!sf_graph_param_get(g, w->names.items[i]))
                return sf_fail(err, SF_ERR_WEIGHTS, "weights: unexpected key '%s' (no such parameter)",
                               (const char *)w->names.items[i]);
    return SF_OK;
}

sf_status sf_check_inputs(const sf_graph *g, const sf_tensor_set *in, int64_t *batch, sf_error *err)
{
    char a[160], b[160];
    int64_t bt = -1;
    for (size_t i = 0; i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        const sf_tensor *t = sf_tensors_get(in, v->def->name);
        if (!t)
            return sf_fail(err, SF_ERR_INVALID_ARG, "inputs: missing input '%s' %s", v->def->name,
                           sf_type_str(&v->type, a, sizeof a));
        for (int k = 0; k < v->type.rank && k < t->rank; k++)
            if (v->type.dim[k] == SF_DIM_B && bt < 0)
                bt = t->dim[k];
        if (!shape_matches(&v->type, t, bt))
            return sf_fail(err, SF_ERR_INVALID_ARG,
                           "inputs: input '%s' has shape %s, which does not fit %s%s", v->def->name,
                           sf_tensor_shape_str(t, b, sizeof b), sf_type_str(&v->type, a, sizeof a),
                           bt >= 0 ? " with the batch of the other inputs" : "");
    }
    for (size_t i = 0; i < in->names.len; i++)
        if (!sf_map_get(&g->input_by_name, in->names.items[i]))
            return sf_fail(err, SF_ERR_INVALID_ARG, "inputs: unexpected input '%s' (the function takes no such argument)",
                           (const char *)in->names.items[i]);
    if (bt == 0)
        return sf_fail(err, SF_ERR_INVALID_ARG, "inputs: batch size 0 is not supported");
    *batch = bt < 0 ? 1 : bt;
    return SF_OK;
}

void sf_output_name(const sf_graph *g, size_t i, char *buf, size_t cap)
{
    if (g->outputs.len == 1)
        snprintf(buf, cap, "output");
    else
        snprintf(buf, cap, "output.%zu", i);
}

/* How a parameter is used decides how PyTorch would have initialised it. */
typedef enum { INIT_KAIMING, INIT_BIAS, INIT_ONES, INIT_ZEROS } init_kind;

static init_kind init_for(const sf_node *user, int slot, int64_t *fan_in)
{
    const sf_type *w = user->nin > 1 ? &user->in[1]->type : NULL;
    switch (user->op) {
    case SF_OP_LINEAR:
    case SF_OP_GROUPED_LINEAR:
    case SF_OP_CONV1D:
    case SF_OP_CONV2D:
        *fan_in = 1;
        for (int i = user->op == SF_OP_GROUPED_LINEAR ? 2 : 1; w && i < w->rank; i++)
            *fan_in *= w->dim[i];
        return slot == 1 ? INIT_KAIMING : INIT_BIAS;
    case SF_OP_BATCHNORM: /* x, running_mean, running_var, weight, bias */
        return slot == 2 || slot == 3 ? INIT_ONES : INIT_ZEROS;
    case SF_OP_LAYERNORM: /* x, weight, bias */
        return slot == 1 ? INIT_ONES : INIT_ZEROS;
    default:
        return INIT_KAIMING;
    }
}

sf_status sf_init_weights(const sf_graph *g, uint64_t seed, sf_tensor_set *w, sf_error *err)
{
    /* the first use of each parameter decides its role */
    const sf_node **user = calloc(g->values.len + 1, sizeof *user);
    int *slot = calloc(g->values.len + 1, sizeof *slot);
    sf_status st = SF_OK;
    if (!user || !slot)
        st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int k = 0; k < n->nin; k++)
            if (!user[n->in[k]->id]) {
                user[n->in[k]->id] = n;
                slot[n->in[k]->id] = k;
            }
    }
    for (size_t i = 0; st == SF_OK && i < g->params.len; i++) {
        const sf_value *p = g->params.items[i];
        sf_tensor *t = sf_tensors_add(w, p->def->name, p->type.rank, p->type.dim, NULL, err);
        if (!t) {
            st = err ? err->code : SF_ERR_NOMEM;
            break;
        }
        int64_t fan_in = p->type.rank > 1 ? p->type.dim[1] : (p->type.rank ? p->type.dim[0] : 1);
        init_kind kind = user[p->id] ? init_for(user[p->id], slot[p->id], &fan_in) : INIT_KAIMING;
        /* kaiming_uniform(a=sqrt(5)) and the bias rule both give 1/sqrt(fan_in) */
        double bound = 1.0 / sqrt((double)(fan_in > 0 ? fan_in : 1));
        sf_rng rng = {seed ^ (0x9e3779b97f4a7c15ull * (i + 1))};
        size_t n = sf_tensor_numel(t);
        for (size_t k = 0; k < n; k++) {
            switch (kind) {
            case INIT_ONES: t->data[k] = 1.0f; break;
            case INIT_ZEROS: t->data[k] = 0.0f; break;
            default: t->data[k] = (float)((2.0 * sf_rng_uniform(&rng) - 1.0) * bound); break;
            }
        }
    }
    free(user);
    free(slot);
    return st;
}

sf_tensor *sf_tensors_add_value(sf_tensor_set *s, const char *name, const sf_value *v, int64_t batch, const float *data,
                                sf_error *err)
{
    int64_t dims[SF_MAX_RANK];
    for (int k = 0; k < v->type.rank; k++)
        dims[k] = v->type.dim[k] == SF_DIM_B ? batch : v->type.dim[k];
    return sf_tensors_add(s, name, v->type.rank, dims, data, err);
}

sf_status sf_random_inputs(const sf_graph *g, int64_t batch, uint64_t seed, sf_tensor_set *in, sf_error *err)
{
    for (size_t i = 0; i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        sf_tensor *t = sf_tensors_add_value(in, v->def->name, v, batch, NULL, err);
        if (!t)
            return err ? err->code : SF_ERR_NOMEM;
        sf_rng rng = {seed * 0x2545f4914f6cdd1dull + i + 1};
        size_t n = sf_tensor_numel(t);
        for (size_t k = 0; k < n; k++)
            t->data[k] = (float)sf_rng_normal(&rng);
    }
    return SF_OK;
}
