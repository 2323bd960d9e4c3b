/* The public C API (include/sheaf.h): weights, models and their backends,
 * running, and what a host program asks of a model's inputs and outputs.
 * Compiling source text is runtime/compile.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"
#include "frontend/frontend.h"
#include "runtime/cuda_runtime.h"
#include "runtime/model.h"
#include "passes/pass.h"
#include "frontend/safetensors.h"

sf_weights *sf_weights_new(void)
{
    sf_weights *w = calloc(1, sizeof *w);
    if (w && !(w->set = sf_tensors_new())) {
        free(w);
        return NULL;
    }
    return w;
}

void sf_weights_free(sf_weights *w)
{
    if (!w)
        return;
    sf_tensors_free(w->set);
    free(w);
}

/* a weight's arguments, checked for sf_weights_set and sf_weights_borrow (fn names the call) */
static sf_status weight_args(const char *fn, const sf_weights *w, const char *name, int rank, const int64_t *dims,
                             const float *data, sf_error *err)
{
    if (!w || !name || !data || rank < 0 || rank > SF_MAX_RANK || (rank && !dims))
        return sf_fail(err, SF_ERR_INVALID_ARG, "%s: null or out-of-range argument", fn);
    for (int i = 0; i < rank; i++)
        if (dims[i] < 1)
            return sf_fail(err, SF_ERR_INVALID_ARG, "%s: '%s' dim %d is %lld", fn, name, i, (long long)dims[i]);
    return SF_OK;
}

sf_status sf_weights_set(sf_weights *w, const char *name, int rank, const int64_t *dims, const float *data,
                         sf_error *err)
{
    sf_status st = weight_args("sf_weights_set", w, name, rank, dims, data, err);
    if (st != SF_OK)
        return st;
    return sf_tensors_add(w->set, name, rank, dims, data, err) ? SF_OK : (err ? err->code : SF_ERR_NOMEM);
}

sf_status sf_weights_borrow(sf_weights *w, const char *name, int rank, const int64_t *dims, const float *data,
                            sf_error *err)
{
    sf_status st = weight_args("sf_weights_borrow", w, name, rank, dims, data, err);
    if (st != SF_OK)
        return st;
    return sf_tensors_borrow(w->set, name, rank, dims, data, err) ? SF_OK : (err ? err->code : SF_ERR_NOMEM);
}

sf_status sf_weights_load(sf_weights *w, const char *path, sf_error *err)
{
    if (!w || !path)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_weights_load: null argument");
    return sf_st_load(path, w->set, err);
}

static sf_model *model_begin(sf_graph *g, sf_tensor_set *w, sf_error *err)
{
    sf_model *m = calloc(1, sizeof *m);
    if (m) {
        m->g = g;
        m->weights = w;
        m->params = calloc(g->params.len + 1, sizeof *m->params);
        m->out_names = calloc(g->outputs.len + 1, sizeof *m->out_names);
    }
    if (!m || !m->params || !m->out_names) {
        if (m)
            sf_model_free(m);
        else {
            sf_graph_free(g);
            sf_tensors_free(w);
        }
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < g->params.len; i++) {
        const sf_value *v = g->params.items[i];
        const sf_tensor *t = sf_tensors_get(w, v->def->name);
        size_t want;
        if (!t || !sf_type_numel(&v->type, 1, &want) || want != sf_tensor_numel(t)) {
            sf_fail(err, SF_ERR_WEIGHTS, "weights: '%s' is missing or mis-shaped", v->def->name);
            sf_model_free(m);
            return NULL;
        }
        m->params[i] = t->data;
    }
    for (size_t i = 0; i < g->outputs.len; i++) {
        char name[32];
        sf_output_name(g, i, name, sizeof name);
        if (!(m->out_names[i] = strdup(name))) {
            sf_fail(err, SF_ERR_NOMEM, "out of memory");
            sf_model_free(m);
            return NULL;
        }
    }
    return m;
}

sf_status sf_model_run_sets(sf_model *m, int64_t batch, const sf_tensor_set *in, sf_tensor_set *out, sf_error *err)
{
    const sf_graph *g = m->g;
    const float **ins = calloc(g->inputs.len + 1, sizeof *ins);
    float **outs = calloc(g->outputs.len + 1, sizeof *outs);
    sf_status st = ins && outs ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == SF_OK && i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        const sf_tensor *t = sf_tensors_get(in, v->def->name);
        if (!t || sf_tensor_numel(t) != sf_input_numel(m, i, batch))
            st = sf_fail(err, SF_ERR_INVALID_ARG, "input '%s' is missing or mis-shaped", v->def->name);
        else
            ins[i] = t->data;
    }
    for (size_t i = 0; st == SF_OK && i < g->outputs.len; i++) {
        sf_tensor *t = sf_tensors_add_value(out, m->out_names[i], g->outputs.items[i], batch, NULL, err);
        if (!t)
            st = err ? err->code : SF_ERR_NOMEM;
        else
            outs[i] = t->data;
    }
    if (st == SF_OK)
        st = sf_run(m, batch, ins, outs, err);
    free(ins);
    free(outs);
    return st;
}

sf_status sf_check_precision(const char *precision, sf_error *err)
{
    if (!precision || !strcmp(precision, "fp32"))
        return SF_OK;
    if (!strcmp(precision, "tf32"))
        return sf_fail(err, SF_ERR_UNSUPPORTED,
                       "precision tf32: not available yet: TF32 is for cuBLAS products on a GPU, which this build "
                       "does not run; every product is computed in fp32");
    if (!strcmp(precision, "fp16") || !strcmp(precision, "bf16"))
        return sf_fail(err, SF_ERR_UNSUPPORTED,
                       "precision %s: not supported yet: sheaf's kernels compute in fp32 (fp16 and bf16 weights "
                       "are read as fp32)", precision);
    return sf_fail(err, SF_ERR_INVALID_ARG, "precision '%s': expected fp32, tf32, fp16 or bf16", precision);
}

/* The model on the GPU when one is there; where none is, one line says
 * why the CPU runs it. what begins the notice ("backend cuda: "). */
sf_status sf_model_to_gpu(sf_model *m, const char *what, const sf_options *o, sf_error *err)
{
    const char *why;
    if (!sf_cuda_device_present(&why)) {
        if (!m->notice[0]) /* a notice already there (a package compiled again for this CPU) says more */
            snprintf(m->notice, sizeof m->notice, "%s%s: running on the CPU backend", what, why);
        return SF_OK;
    }
    if (!(m->gpu = sf_cuda_model_new(&m->plan, m->params, &m->cuda, !(o && o->no_cache), err)))
        return err ? err->code : SF_ERR_RUNTIME;
    snprintf(m->notice, sizeof m->notice, "%s%s", what, sf_cuda_model_describe(m->gpu));
    m->backend = SF_BACKEND_CUDA;
    return SF_OK;
}

/* the model's plan: the package's (checked against its graph), else made now */
static sf_status plan_model(sf_model *m, const sf_prebuilt *pre, sf_error *err)
{
    if (!pre || !pre->plan)
        return sf_plan_build(m->g, &m->plan, err);
    return sf_plan_decode(m->g, pre->plan, pre->plan_len, &m->plan, err);
}

sf_model *sf_model_make(sf_graph *g, sf_tensor_set *w, const sf_prebuilt *pre, sf_backend_kind kind,
                        const sf_options *o, sf_error *err)
{
    if (!pre) { /* in printed order, as a package's graph is: the plan's indices hold for every copy */
        sf_graph *c = sf_graph_copy(g, "<model>", err);
        if (c) { /* the passes' choices, for --stats */
            c->notes = g->notes;
            g->notes = NULL;
        }
        sf_graph_free(g);
        if (!(g = c)) {
            sf_tensors_free(w);
            return NULL;
        }
    }
    sf_model *m = model_begin(g, w, err);
    if (!m)
        return NULL;
    m->check = o && o->check;
    if (plan_model(m, pre, err) != SF_OK ||
        sf_backends[kind].prepare(m, pre ? pre->object : NULL, pre ? pre->object_size : 0, o, err) != SF_OK) {
        sf_model_free(m);
        return NULL;
    }
    return m;
}

sf_model *sf_model_from_parts(sf_graph *g, sf_tensor_set *w, const sf_options *o, sf_error *err)
{
    sf_backend_kind kind;
    if (sf_backend_resolve(o ? o->backend : NULL, &kind, err) != SF_OK) {
        sf_graph_free(g);
        sf_tensors_free(w);
        return NULL;
    }
    return sf_model_make(g, w, NULL, kind, o, err);
}

void sf_model_free(sf_model *m)
{
    if (!m)
        return;
    for (int k = 0; k < SF_BACKEND_COUNT; k++)
        sf_backends[k].release(m);
    sf_cuda_code_free(&m->cuda);
    for (size_t i = 0; m->out_names && i < m->g->outputs.len; i++)
        free(m->out_names[i]);
    free(m->out_names);
    free(m->params);
    sf_tensors_free(m->weights);
    sf_plan_free(&m->plan);
    sf_graph_free(m->g);
    sf_graph_free(m->ref);
    sf_graph_free(m->derive);
    for (size_t i = 0; i < m->nderive; i++)
        free(m->derive_names[i]);
    free(m->derive_names);
    sf_grad_params_free(&m->grads);
    free(m);
}

const char *sf_model_backend(const sf_model *m) { return m ? sf_backends[m->backend].name : NULL; }

const char *sf_model_notice(const sf_model *m) { return m && m->notice[0] ? m->notice : NULL; }

size_t sf_num_inputs(const sf_model *m) { return m ? m->g->inputs.len : 0; }
size_t sf_num_outputs(const sf_model *m) { return m ? m->g->outputs.len : 0; }

static void describe(const sf_value *v, const char *name, sf_tensor_info *info)
{
    info->name = name;
    info->rank = v->type.rank;
    for (int d = 0; d < v->type.rank; d++)
        info->dims[d] = v->type.dim[d] == SF_DIM_B ? SF_BATCH : v->type.dim[d];
}

bool sf_input_info(const sf_model *m, size_t i, sf_tensor_info *info)
{
    if (!m || !info || i >= m->g->inputs.len)
        return false;
    const sf_value *v = m->g->inputs.items[i];
    describe(v, v->def->name, info);
    return true;
}

bool sf_output_info(const sf_model *m, size_t i, sf_tensor_info *info)
{
    if (!m || !info || i >= m->g->outputs.len)
        return false;
    describe(m->g->outputs.items[i], m->out_names[i], info);
    return true;
}

static size_t numel_of(const sf_vec *vals, size_t i, int64_t batch)
{
    size_t n;
    if (i >= vals->len || batch < 1 || !sf_type_numel(&((const sf_value *)vals->items[i])->type, batch, &n))
        return 0;
    return n;
}

size_t sf_input_numel(const sf_model *m, size_t i, int64_t batch) { return m ? numel_of(&m->g->inputs, i, batch) : 0; }
size_t sf_output_numel(const sf_model *m, size_t i, int64_t batch) { return m ? numel_of(&m->g->outputs, i, batch) : 0; }

/* sf_options.check: the interpreter on the same inputs, each output compared */
static sf_status check_run(sf_model *m, int64_t batch, const float *const *inputs, float *const *outputs,
                           sf_error *err)
{
    size_t n = m->g->outputs.len;
    float **want = calloc(n + 1, sizeof *want);
    sf_status st = want ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == SF_OK && i < n; i++)
        if (!(want[i] = malloc(sf_output_numel(m, i, batch) * sizeof(float) + 1)))
            st = sf_fail(err, SF_ERR_NOMEM, "check: out of memory for the interpreter's outputs");
    if (st == SF_OK)
        st = sf_interp_run_on(m, m->ref ? m->ref : m->g, batch, inputs, want, err);
    if (st == SF_OK)
        st = sf_compare_outputs(m->g, batch, sf_model_backend(m),
                                m->ref ? "interpreter on -O0 IR" : "interpreter", (const float *const *)outputs,
                                (const float *const *)want, err);
    for (size_t i = 0; want && i < n; i++)
        free(want[i]);
    free(want);
    return st;
}

sf_status sf_run(sf_model *m, int64_t batch, const float *const *inputs, float *const *outputs, sf_error *err)
{
    if (!m || (!inputs && m->g->inputs.len) || !outputs)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_run: null argument");
    if (batch < 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_run: batch size must be at least 1, got %lld", (long long)batch);
    for (size_t i = 0; i < m->g->outputs.len + m->g->inputs.len; i++) { /* zero-size: said as such */
        const sf_value *v = i < m->g->inputs.len ? m->g->inputs.items[i] : m->g->outputs.items[i - m->g->inputs.len];
        for (int d = 0; d < v->type.rank; d++)
            if (v->type.dim[d] == 0)
                return sf_fail(err, SF_ERR_UNSUPPORTED, "sf_run: %s %zu has a zero-size dim (%s): zero-size tensors "
                               "are not supported", i < m->g->inputs.len ? "input" : "output",
                               i < m->g->inputs.len ? i : i - m->g->inputs.len,
                               i < m->g->inputs.len ? v->def->name : "a result");
    }
    for (size_t i = 0; i < m->g->inputs.len; i++)
        if (!inputs[i] || !sf_input_numel(m, i, batch))
            return sf_fail(err, SF_ERR_INVALID_ARG, "sf_run: input %zu ('%s') is null or too large at batch %lld", i,
                           ((const sf_value *)m->g->inputs.items[i])->def->name, (long long)batch);
    for (size_t i = 0; i < m->g->outputs.len; i++)
        if (!outputs[i] || !sf_output_numel(m, i, batch))
            return sf_fail(err, SF_ERR_INVALID_ARG, "sf_run: output %zu is null or too large at batch %lld", i,
                           (long long)batch);
    sf_status st = sf_backends[m->backend].run(m, batch, inputs, outputs, err);
    bool oracle = m->backend != SF_BACKEND_INTERP || m->ref; /* the interpreter checking itself proves nothing */
    return st == SF_OK && m->check && oracle ? check_run(m, batch, inputs, outputs, err) : st;
}
