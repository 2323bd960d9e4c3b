/* The one compile driver: source text to a model. The frontend (a .py
 * model file) or the IR parser (.sfir), the weights checked against the
 * parameters, the pass pipeline with every option of sf_options, the
 * reference kept for sf_options.check, the backend, and CUDA code ahead of
 * time. The command line (tools/cli.c), the builder and host programs all
 * come through here. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/frontend.h"
#include "frontend/safetensors.h"
#include "ir/fileio.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "runtime/cuda_runtime.h"
#include "runtime/model.h"

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static FILE *log_of(const sf_options *o) { return o->log ? o->log : stderr; }

sf_tensor_set *sf_gather_weights(const sf_graph *g, const sf_py_model *py, const sf_options *o, sf_error *err)
{
    sf_tensor_set *w = sf_tensors_new();
    sf_status st = w ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK && o->weights) {
        const sf_tensor_set *src = o->weights->set;
        for (size_t i = 0; st == SF_OK && i < src->tensors.len; i++) {
            const sf_tensor *t = src->tensors.items[i];
            if (!(t->borrowed ? sf_tensors_borrow : sf_tensors_add)(w, src->names.items[i], t->rank, t->dim, t->data,
                                                                   err))
                st = err ? err->code : SF_ERR_NOMEM;
        }
    }
    if (st == SF_OK && o->weights_file)
        st = sf_st_load(o->weights_file, w, err);
    bool seeded = !o->weights && !o->weights_file;
    if (st == SF_OK && seeded)
        st = py ? sf_py_init_weights(py, o->seed, w, err) : sf_init_weights(g, o->seed, w, err);
    /* given weights are a state_dict: every key, as load_state_dict; seeded
     * ones are what forward uses (a submodule it never calls needs none) */
    if (st == SF_OK)
        st = py && !seeded ? sf_py_check_weights(py, w, !o->allow_extra_weights, err)
                           : sf_check_weights(g, w, o->allow_extra_weights, err);
    if (st != SF_OK) {
        sf_tensors_free(w);
        return NULL;
    }
    return w;
}

/* The options that are refused before any work, each by its name. */
static sf_status check_options(const sf_options *o, sf_error *err)
{
    if (sf_check_precision(o->precision, err) != SF_OK)
        return err ? err->code : SF_ERR_INVALID_ARG;
    if (o->hfuse_min_branches < 0 || o->hfuse_min_branches == 1 || o->hfuse_min_branches > (1 << 30))
        return sf_fail(err, SF_ERR_INVALID_ARG, "hfuse_min_branches: %d: expected 0 (the default, 2) or at least 2",
                       o->hfuse_min_branches);
    if (o->max_nodes < 0)
        return sf_fail(err, SF_ERR_INVALID_ARG, "max_nodes: %lld: expected 0 (the default) or a positive count",
                       o->max_nodes);
    if (o->threads < 0 || o->threads > 1024)
        return sf_fail(err, SF_ERR_INVALID_ARG, "threads: %d: expected 0 (one per CPU) to 1024", o->threads);
    return SF_OK;
}

/* frontend or parser: the graph, and for a model file what its weights
 * are checked against */
static sf_graph *read_source(const char *text, size_t len, const char *name, const sf_options *o, sf_py_model **pm,
                             sf_error *err)
{
    double t0 = now_ms();
    *pm = NULL;
    if (has_suffix(name, ".py")) {
        sf_py_options po = {o->model, o->inputs, o->ninputs, o->consts, o->nconsts, o->max_nodes, o->tree};
        *pm = sf_py_compile(name, text, len, &po, err);
        if (*pm && o->time)
            fprintf(log_of(o), "sheaf: frontend of %s: parse %.2f ms, __init__ %.2f ms, trace %.2f ms, %zu IR nodes\n",
                    name, (*pm)->stats.parse_ms, (*pm)->stats.init_ms, (*pm)->stats.trace_ms,
                    (*pm)->graph->nodes.len);
        return *pm ? (*pm)->graph : NULL;
    }
    if (o->model || o->tree || o->ninputs || o->nconsts) {
        sf_fail(err, SF_ERR_INVALID_ARG, "%s: model, tree, inputs and consts (--model, --input, --const) apply to "
                                         ".py model files", name);
        return NULL;
    }
    sf_graph *g = sf_parse(text, len, name, err);
    if (g && o->time)
        fprintf(log_of(o), "sheaf: parse of %s: %.2f ms, %zu IR nodes\n", name, now_ms() - t0, g->nodes.len);
    return g;
}

/* A backward model's gradient outputs: the f32 parameters of the forward
 * g in declaration order (sf_grad's), and which of them an optimizer
 * updates (not a model file's buffers). */
static sf_status grad_params(const sf_graph *g, const sf_py_model *pm, sf_grad_params *gp, sf_error *err)
{
    gp->names = calloc(g->params.len + 1, sizeof *gp->names);
    gp->trains = calloc(g->params.len + 1, sizeof *gp->trains);
    if (!gp->names || !gp->trains) {
        sf_grad_params_free(gp);
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < g->params.len; i++) {
        const sf_value *v = g->params.items[i];
        if (v->type.dtype != SF_F32)
            continue;
        bool buffer = false;
        for (size_t k = 0; pm && k < pm->nkeys; k++)
            if (!strcmp(pm->keys[k].key, v->def->name))
                buffer = pm->keys[k].buffer;
        if (!(gp->names[gp->count] = strdup(v->def->name))) {
            sf_grad_params_free(gp);
            return sf_fail(err, SF_ERR_NOMEM, "out of memory");
        }
        gp->trains[gp->count++] = !buffer;
    }
    return SF_OK;
}

void sf_grad_params_free(sf_grad_params *gp)
{
    for (size_t i = 0; gp->names && i < gp->count; i++)
        free(gp->names[i]);
    free(gp->names);
    free(gp->trains);
    memset(gp, 0, sizeof *gp);
}

/* A backward model's gradient outputs by what they are the gradients of:
 * "grad.<parameter>", then with input_grads "grad.<input>". */
static sf_status name_gradients(sf_model *m, const sf_options *o, sf_error *err)
{
    size_t no = m->g->outputs.len, ni = 0;
    const char **inputs = calloc(m->g->inputs.len + 1, sizeof *inputs);
    if (!inputs)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; o->input_grads && i < m->g->inputs.len; i++) {
        const sf_value *v = m->g->inputs.items[i];
        if (v->type.dtype == SF_F32 && strncmp(v->def->name, "grad.", 5))
            inputs[ni++] = v->def->name;
    }
    sf_status st = SF_OK;
    size_t first = no - m->grads.count - ni;
    for (size_t k = 0; st == SF_OK && m->grads.count + ni <= no && k < m->grads.count + ni; k++) {
        const char *of = k < m->grads.count ? m->grads.names[k] : inputs[k - m->grads.count];
        char *name = malloc(strlen(of) + 6);
        if (!name) {
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
            break;
        }
        sprintf(name, "grad.%s", of);
        free(m->out_names[first + k]);
        m->out_names[first + k] = name;
    }
    free(inputs);
    return st;
}

static sf_status run_passes(sf_module *mod, const sf_options *o, sf_error *err)
{
    FILE *dump = o->dump ? o->dump : stdout;
    bool all = o->print_after && !strcmp(o->print_after, "all");
    sf_pipeline_opts pipe = {.opt_level = o->unoptimised ? 0 : 2,
                             .passes = o->passes,
                             .verify_each = o->verify_each,
                             .print_after_all = all,
                             .print_after = all ? NULL : o->print_after,
                             .time_passes = o->time_passes,
                             .print_to = o->print_after ? dump : log_of(o)};
    mod->hfuse_min_branches = o->hfuse_min_branches;
    mod->hfuse_max_bytes = o->hfuse_max_bytes;
    return sf_run_pipeline(mod, &pipe, err);
}

sf_model *sf_compile_text(const char *text, size_t len, const char *name, const sf_options *o, sf_error *err)
{
    static const sf_options none = {0};
    if (!o)
        o = &none;
    if (!text || !name) {
        sf_fail(err, SF_ERR_INVALID_ARG, "sf_compile_text: null argument");
        return NULL;
    }
    if (check_options(o, err) != SF_OK)
        return NULL;
    if (!has_suffix(name, ".py") && !has_suffix(name, ".sfir")) {
        sf_fail(err, SF_ERR_INVALID_ARG, "%s: unknown kind of source (expected a name ending in .py or .sfir)", name);
        return NULL;
    }
    double t0 = now_ms();
    sf_py_model *pm;
    sf_graph *g = read_source(text, len, name, o, &pm, err);
    sf_tensor_set *w = g ? sf_gather_weights(g, pm, o, err) : NULL;
    sf_grad_params gp = {0};
    if (w && o->backward && grad_params(g, pm, &gp, err) != SF_OK)
        sf_tensors_free(w), w = NULL;
    if (pm)
        pm->graph = NULL; /* ours now */
    sf_py_model_free(pm);
    sf_module mod = {.g = g, .weights = w};
    sf_grad_opts go = {.inputs = o->input_grads};
    /* before any pass: the folds are derived from the parameters the gradients are for */
    bool ok = w && (!o->loss || sf_add_loss(&mod, o->loss, err) == SF_OK) &&
              (!o->backward || sf_grad(&mod, &go, err) == SF_OK) &&
              (!(o->trainable || o->backward) || (mod.derive = sf_derive_new(name, err)));
    size_t nown = w ? w->tensors.len : 0; /* the passes add theirs after */
    sf_graph *ref = ok && o->check ? sf_graph_copy(mod.g, name, err) : NULL; /* the -O0 oracle */
    if (!ok || (o->check && !ref) || run_passes(&mod, o, err) != SF_OK || sf_derive_finish(&mod, err) != SF_OK) {
        sf_grad_params_free(&gp);
        sf_graph_free(mod.g);
        sf_graph_free(ref);
        sf_tensors_free(w);
        sf_derive_free(mod.derive);
        return NULL;
    }
    double t1 = now_ms();
    sf_model *m = sf_model_from_parts(mod.g, w, o, err);
    double t2 = now_ms(); /* the backend's time ends here */
    if (m)
        m->ref = ref;
    else
        sf_graph_free(ref);
    if (m && mod.derive) {
        m->derive = sf_derive_take(&mod, &m->derive_names, &m->nderive);
        m->nown = nown;
    }
    sf_derive_free(mod.derive);
    if (m) {
        m->grads = gp;
        if (name_gradients(m, o, err) != SF_OK) {
            sf_model_free(m);
            return NULL;
        }
    } else {
        sf_grad_params_free(&gp);
    }
    int hits = 0;
    if (m && o->targets && sf_cuda_build(&m->plan, o->targets, !o->no_cache, &m->cuda, &hits, err) != SF_OK) {
        sf_model_free(m);
        return NULL;
    }
    if (m && o->targets && o->time)
        fprintf(log_of(o), "sheaf: CUDA code for %s (NVRTC): %.2f ms, %d of %d images from the cache\n", o->targets,
                now_ms() - t2, hits, m->cuda.nimages);
    if (m && o->time)
        fprintf(log_of(o), "sheaf: compile of %s: frontend, weights and passes %.2f ms, %s backend %.2f ms\n", name,
                t1 - t0, sf_model_backend(m), t2 - t1);
    return m;
}

sf_model *sf_compile_file(const char *path, const sf_options *o, sf_error *err)
{
    if (!path) {
        sf_fail(err, SF_ERR_INVALID_ARG, "sf_compile_file: null path");
        return NULL;
    }
    char *text;
    size_t len;
    if (sf_read_file(path, &text, &len, err) != SF_OK)
        return NULL;
    sf_model *m = sf_compile_text(text, len, path, o, err);
    free(text);
    return m;
}

sf_status sf_model_write_ir(const sf_model *m, const char *format, FILE *out, sf_error *err)
{
    if (!m || !format || !out)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_model_write_ir: null argument");
    if (!strcmp(format, "text"))
        sf_print(m->g, out);
    else if (!strcmp(format, "dot"))
        sf_print_dot(m->g, out);
    else if (!strcmp(format, "stats"))
        return sf_print_stats(m->g, out, err);
    else
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_model_write_ir: format '%s': expected text, dot or stats", format);
    return ferror(out) ? sf_fail(err, SF_ERR_IO, "sf_model_write_ir: write failed") : SF_OK;
}
