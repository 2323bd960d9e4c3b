/* A compiled model's parameters after compiling: new values for the
 * model's own (state_dict) parameters, and the parameters the passes
 * derived from them recomputed by the model's derive graph
 * (passes/derive.c), so that a trainable model computes with the values it
 * was last given, through every fold. */
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"

/* the model's own parameters: the compile's weights that came before the
 * passes added theirs (a set keeps its order) */
bool sf_model_owns(const sf_model *m, const char *name)
{
    for (size_t i = 0; i < m->nown && i < m->weights->tensors.len; i++)
        if (!strcmp(m->weights->names.items[i], name))
            return true;
    return false;
}

sf_tensor *sf_model_own_weight(sf_model *m, const char *name, sf_error *err)
{
    sf_tensor *t = sf_tensors_get(m->weights, name);
    if (!t || !sf_model_owns(m, name)) {
        sf_fail(err, SF_ERR_WEIGHTS, "weights: '%s' is not a parameter of the model", name);
        return NULL;
    }
    if (t->borrowed) { /* the caller's memory is never written: the model takes a copy */
        size_t n = sf_tensor_numel(t);
        float *copy = malloc(n * sizeof *copy + 1);
        if (!copy) {
            sf_fail(err, SF_ERR_NOMEM, "out of memory copying weight '%s'", name);
            return NULL;
        }
        memcpy(copy, t->data, n * sizeof *copy);
        t->data = copy;
        t->borrowed = false;
    }
    return t;
}

/* every parameter's address again (a borrowed one may have become a copy) */
static void readdress(sf_model *m)
{
    for (size_t i = 0; i < m->g->params.len; i++)
        m->params[i] = sf_tensors_get(m->weights, ((const sf_value *)m->g->params.items[i])->def->name)->data;
}

sf_status sf_model_weights_changed(sf_model *m, sf_error *err)
{
    sf_tensor_set *none = sf_tensors_new(), *out = sf_tensors_new();
    sf_status st = none && out ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK && m->nderive)
        st = sf_interp_run(m->derive, 1, none, m->weights, out, err);
    for (size_t i = 0; st == SF_OK && i < m->nderive; i++) {
        const sf_tensor *got = out->tensors.items[i];
        sf_tensor *t = sf_tensors_get(m->weights, m->derive_names[i]);
        memcpy(t->data, got->data, sf_tensor_numel(t) * sizeof(float)); /* shapes: the derive graph's outputs */
    }
    sf_tensors_free(none);
    sf_tensors_free(out);
    readdress(m);
    if (m->cpu)
        sf_cpu_weights_changed(m->cpu);
    return st;
}

sf_status sf_model_set_weights(sf_model *m, const sf_weights *w, sf_error *err)
{
    if (!m || !w)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_model_set_weights: null argument");
    if (!m->derive)
        return sf_fail(err, SF_ERR_INVALID_ARG,
                       "sf_model_set_weights: the model was compiled without trainable (or backward), or loaded "
                       "from a package: its folded weights are constants; compile it with trainable");
    if (m->gpu)
        return sf_fail(err, SF_ERR_UNSUPPORTED, "sf_model_set_weights: not yet on the cuda backend");
    const sf_tensor_set *src = w->set;
    for (size_t i = 0; i < src->tensors.len; i++) { /* all checked before any is written */
        const char *name = src->names.items[i];
        const sf_tensor *from = src->tensors.items[i], *to = sf_tensors_get(m->weights, name);
        if (!to || !sf_model_owns(m, name))
            return sf_fail(err, SF_ERR_WEIGHTS, "sf_model_set_weights: '%s' is not a parameter of the model", name);
        bool same = from->rank == to->rank;
        for (int d = 0; same && d < to->rank; d++)
            same = from->dim[d] == to->dim[d];
        if (!same) {
            char a[64], b[64];
            return sf_fail(err, SF_ERR_WEIGHTS, "sf_model_set_weights: '%s' is %s, the model's is %s", name,
                           sf_tensor_shape_str(from, a, sizeof a), sf_tensor_shape_str(to, b, sizeof b));
        }
    }
    for (size_t i = 0; i < src->tensors.len; i++) {
        const sf_tensor *from = src->tensors.items[i];
        sf_tensor *to = sf_model_own_weight(m, src->names.items[i], err);
        if (!to)
            return err ? err->code : SF_ERR_NOMEM;
        memcpy(to->data, from->data, sf_tensor_numel(to) * sizeof(float));
    }
    return sf_model_weights_changed(m, err);
}
