/* sf_trainer: optimizer steps on a backward model (include/sheaf.h,
 * docs/training.md). A step runs the model once (forward, loss and every
 * parameter's gradient, fused by the passes like any graph), updates each
 * trained parameter where the model keeps it (runtime/optim.c), then
 * recomputes the parameters the passes derived from them (params.c). */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/safetensors.h"
#include "runtime/model.h"
#include "runtime/optim.h"

typedef struct slot {
    sf_tensor *p;   /* the model's own parameter */
    float *grad;    /* the model's gradient output for it */
    float *s[2];    /* optimizer state */
    sf_hyper h;
} slot;

struct sf_trainer {
    sf_model *m;
    float **outs;  /* the model's outputs: the loss, then one gradient per parameter */
    const float **ins;
    float loss, seed;
    slot *slots;   /* the trained parameters */
    size_t nslots;
    long long steps;
};

void sf_trainer_free(sf_trainer *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->outs && i < sf_num_outputs(t->m); i++)
        if (t->outs[i] != &t->loss)
            free(t->outs[i]);
    free(t->outs);
    free(t->ins);
    for (size_t i = 0; t->slots && i < t->nslots; i++)
        free(t->slots[i].s[0]), free(t->slots[i].s[1]);
    free(t->slots);
    free(t);
}

/* what a trainer needs of its model: a loss, and a gradient per parameter and nothing else */
static sf_status trainable_model(const sf_model *m, sf_error *err)
{
    size_t ni = sf_num_inputs(m), no = sf_num_outputs(m);
    sf_tensor_info seed, target;
    if (!m->grads.names || ni < 2 || !sf_input_info(m, ni - 1, &seed) || strcmp(seed.name, "grad.output") ||
        !sf_input_info(m, ni - 2, &target) || strcmp(target.name, "target"))
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_new: the model was not compiled with backward and a loss "
                                                "(sf_options.backward and .loss; a loaded package keeps neither)");
    if (no != 1 + m->grads.count)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_new: the model has %zu outputs, expected the loss and "
                                                "%zu gradients (compile without input_grads)", no, m->grads.count);
    return SF_OK;
}

/* the hyperparameters of parameter `name`: its first group's, else the optimizer's */
static sf_status hyper_of(const char *name, const sf_hyper *base, const sf_train_options *o, sf_hyper *h,
                          sf_error *err)
{
    *h = *base;
    for (int g = 0; g < o->ngroups; g++) {
        char pattern[512];
        sf_hyper gh;
        if (sf_optim_group(o->groups[g], base, pattern, sizeof pattern, &gh, err) != SF_OK)
            return err ? err->code : SF_ERR_INVALID_ARG;
        if (fnmatch(pattern, name, 0) == 0) {
            *h = gh;
            break;
        }
    }
    return SF_OK;
}

static sf_status make_slots(sf_trainer *t, const sf_train_options *o, sf_error *err)
{
    sf_model *m = t->m;
    sf_hyper base;
    if (sf_optim_parse(o->optimizer, &base, err) != SF_OK)
        return err ? err->code : SF_ERR_INVALID_ARG;
    for (int g = 0; g < o->ngroups; g++) { /* every group well-formed, matching or not */
        char pattern[512];
        sf_hyper gh;
        if (sf_optim_group(o->groups[g], &base, pattern, sizeof pattern, &gh, err) != SF_OK)
            return err ? err->code : SF_ERR_INVALID_ARG;
    }
    if (!(t->slots = calloc(m->grads.count + 1, sizeof *t->slots)))
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->grads.count; i++) {
        if (!m->grads.trains[i])
            continue;
        slot *s = &t->slots[t->nslots];
        if (!(s->p = sf_model_own_weight(m, m->grads.names[i], err)))
            return err ? err->code : SF_ERR_WEIGHTS;
        s->grad = t->outs[1 + i];
        if (hyper_of(m->grads.names[i], &base, o, &s->h, err) != SF_OK)
            return err ? err->code : SF_ERR_INVALID_ARG;
        size_t n = sf_tensor_numel(s->p);
        for (int k = 0; k < sf_optim_nstate(&s->h); k++)
            if (!(s->s[k] = calloc(n + 1, sizeof(float))))
                return sf_fail(err, SF_ERR_NOMEM, "out of memory for the optimizer's state");
        t->nslots++;
    }
    return SF_OK;
}

sf_trainer *sf_trainer_new(sf_model *m, const sf_train_options *o, sf_error *err)
{
    static const sf_train_options none = {0};
    if (!m) {
        sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_new: null model");
        return NULL;
    }
    if (trainable_model(m, err) != SF_OK)
        return NULL;
    if (!o)
        o = &none;
    sf_trainer *t = calloc(1, sizeof *t);
    size_t no = sf_num_outputs(m);
    if (!t || !(t->outs = calloc(no + 1, sizeof *t->outs)) || !(t->ins = calloc(sf_num_inputs(m) + 1, sizeof *t->ins))) {
        sf_trainer_free(t);
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->m = m;
    t->seed = 1.0f;
    t->outs[0] = &t->loss;
    sf_status st = sf_output_numel(m, 0, 1) == 1 ? SF_OK
                   : sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_new: the model's first output is not a scalar loss");
    for (size_t i = 1; st == SF_OK && i < no; i++) /* gradients of parameters: the same size at every batch */
        if (!(t->outs[i] = malloc(sf_output_numel(m, i, 1) * sizeof(float) + 1)))
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory for the gradients");
    if (st == SF_OK)
        st = make_slots(t, o, err);
    if (st != SF_OK) {
        sf_trainer_free(t);
        return NULL;
    }
    return t;
}

/* the model on a batch: the loss and every gradient, nothing updated */
static sf_status forward_backward(sf_trainer *t, int64_t batch, const float *const *inputs, float *loss,
                                  sf_error *err)
{
    size_t ni = sf_num_inputs(t->m);
    memcpy(t->ins, inputs, (ni - 1) * sizeof *t->ins);
    t->ins[ni - 1] = &t->seed;
    sf_status st = sf_run(t->m, batch, t->ins, t->outs, err);
    if (st == SF_OK && loss)
        *loss = t->loss;
    return st;
}

sf_status sf_trainer_eval(sf_trainer *t, int64_t batch, const float *const *inputs, float *loss, sf_error *err)
{
    if (!t || !inputs)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_eval: null argument");
    return forward_backward(t, batch, inputs, loss, err);
}

sf_status sf_train_step(sf_trainer *t, int64_t batch, const float *const *inputs, float *loss, sf_error *err)
{
    if (!t || !inputs)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_train_step: null argument");
    sf_status st = forward_backward(t, batch, inputs, loss, err);
    if (st != SF_OK)
        return st;
    t->steps++;
    for (size_t i = 0; i < t->nslots; i++) {
        slot *s = &t->slots[i];
        sf_optim_update(&s->h, t->steps, s->p->data, s->grad, s->s, sf_tensor_numel(s->p));
    }
    return sf_model_weights_changed(t->m, err);
}

long long sf_trainer_steps(const sf_trainer *t) { return t ? t->steps : 0; }

/* the model's own parameters and buffers, borrowed into a set */
static sf_status own_set(const sf_model *m, sf_tensor_set *set, sf_error *err)
{
    for (size_t i = 0; i < m->weights->tensors.len; i++) {
        const char *name = m->weights->names.items[i];
        const sf_tensor *x = m->weights->tensors.items[i];
        if (i < m->nown && !sf_tensors_borrow(set, name, x->rank, x->dim, x->data, err))
            return err ? err->code : SF_ERR_NOMEM;
    }
    return SF_OK;
}

sf_status sf_trainer_save_params(const sf_trainer *t, const char *path, sf_error *err)
{
    if (!t || !path)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_save_params: null argument");
    sf_tensor_set *set = sf_tensors_new();
    sf_status st = set ? own_set(t->m, set, err) : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK)
        st = sf_st_save(path, set, err);
    sf_tensors_free(set);
    return st;
}

static void state_key(const slot *s, int k, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.%s", name, sf_optim_state_name(&s->h, k));
}

/* the parameter name of slot i */
static const char *slot_name(const sf_trainer *t, size_t i)
{
    for (size_t k = 0; k < t->m->weights->tensors.len; k++)
        if (t->m->weights->tensors.items[k] == t->slots[i].p)
            return t->m->weights->names.items[k];
    return "?";
}

sf_status sf_trainer_save_state(const sf_trainer *t, const char *path, sf_error *err)
{
    if (!t || !path)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_save_state: null argument");
    sf_tensor_set *set = sf_tensors_new();
    sf_status st = set ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    float step = (float)t->steps;
    if (st == SF_OK && !sf_tensors_borrow(set, "step", 1, (int64_t[]){1}, &step, err))
        st = err ? err->code : SF_ERR_NOMEM;
    for (size_t i = 0; st == SF_OK && i < t->nslots; i++) {
        const slot *s = &t->slots[i];
        for (int k = 0; st == SF_OK && k < sf_optim_nstate(&s->h); k++) {
            char key[600];
            state_key(s, k, slot_name(t, i), key, sizeof key);
            if (!sf_tensors_borrow(set, key, s->p->rank, s->p->dim, s->s[k], err))
                st = err ? err->code : SF_ERR_NOMEM;
        }
    }
    if (st == SF_OK)
        st = sf_st_save(path, set, err);
    sf_tensors_free(set);
    return st;
}

sf_status sf_trainer_load_state(sf_trainer *t, const char *path, sf_error *err)
{
    if (!t || !path)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_trainer_load_state: null argument");
    sf_tensor_set *set = sf_tensors_new();
    sf_status st = set ? sf_st_load(path, set, err) : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    const sf_tensor *step = st == SF_OK ? sf_tensors_get(set, "step") : NULL;
    if (st == SF_OK && (!step || sf_tensor_numel(step) != 1 || !(step->data[0] >= 0)))
        st = sf_fail(err, SF_ERR_WEIGHTS, "%s: no step count ('step', one value)", path);
    size_t expect = 1;
    for (size_t i = 0; st == SF_OK && i < t->nslots; i++) { /* all checked before any is taken */
        const slot *s = &t->slots[i];
        for (int k = 0; st == SF_OK && k < sf_optim_nstate(&s->h); k++, expect++) {
            char key[600];
            state_key(s, k, slot_name(t, i), key, sizeof key);
            const sf_tensor *x = sf_tensors_get(set, key);
            if (!x || sf_tensor_numel(x) != sf_tensor_numel(s->p))
                st = sf_fail(err, SF_ERR_WEIGHTS, "%s: '%s' is missing or mis-shaped (state of another optimizer "
                                                  "or model?)", path, key);
        }
    }
    if (st == SF_OK && set->tensors.len != expect)
        st = sf_fail(err, SF_ERR_WEIGHTS, "%s: %zu tensors, this optimizer keeps %zu (state of another optimizer or "
                                          "model?)", path, set->tensors.len, expect);
    for (size_t i = 0; st == SF_OK && i < t->nslots; i++) {
        slot *s = &t->slots[i];
        for (int k = 0; k < sf_optim_nstate(&s->h); k++) {
            char key[600];
            state_key(s, k, slot_name(t, i), key, sizeof key);
            memcpy(s->s[k], sf_tensors_get(set, key)->data, sf_tensor_numel(s->p) * sizeof(float));
        }
    }
    if (st == SF_OK)
        t->steps = (long long)step->data[0];
    sf_tensors_free(set);
    return st;
}
