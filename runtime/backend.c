/* The backend table (backend.h): the reference interpreter, the CPU's
 * native code and the GPU's, each behind the same five calls. */
#include "runtime/backend.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/cuda.h"
#include "runtime/cuda_runtime.h"
#include "runtime/model.h"

/* ---- the interpreter: every op, on the model's weights ---- */

static bool always(void) { return true; }
static bool every_op(sf_opcode op) { (void)op; return true; }

static sf_status interp_prepare(sf_model *m, const void *object, size_t size, const sf_options *o, sf_error *err)
{
    (void)object, (void)size, (void)o, (void)err;
    m->backend = SF_BACKEND_INTERP;
    return SF_OK;
}

/* the interpreter on g (the model's graph, or its -O0 reference: the same
 * signature) through the caller's buffers */
sf_status sf_interp_run_on(sf_model *m, const sf_graph *g, int64_t batch, const float *const *inputs,
                           float *const *outputs, sf_error *err)
{
    sf_tensor_set *in = sf_tensors_new(), *out = sf_tensors_new();
    sf_status st = in && out ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == SF_OK && i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        if (!sf_tensors_add_value(in, v->def->name, v, batch, inputs[i], err))
            st = err ? err->code : SF_ERR_NOMEM;
    }
    if (st == SF_OK)
        st = sf_interp_run(g, batch, in, m->weights, out, err);
    for (size_t i = 0; st == SF_OK && i < g->outputs.len; i++) {
        const sf_tensor *t = out->tensors.items[i]; /* in output order (m->out_names may name them otherwise) */
        memcpy(outputs[i], t->data, sf_tensor_numel(t) * sizeof(float));
    }
    sf_tensors_free(in);
    sf_tensors_free(out);
    return st;
}

static sf_status interp_run(sf_model *m, int64_t batch, const float *const *in, float *const *out, sf_error *err)
{
    return sf_interp_run_on(m, m->g, batch, in, out, err);
}

static void nothing(sf_model *m) { (void)m; }

/* ---- the CPU: LLVM's native code ---- */

static sf_status cpu_prepare(sf_model *m, const void *object, size_t size, const sf_options *o, sf_error *err)
{
    m->cpu = sf_cpu_prepare(m->g, &m->plan, object, size, err);
    if (!m->cpu)
        return err ? err->code : SF_ERR_RUNTIME;
    sf_cpu_set_threads(m->cpu, o ? o->threads : 0);
    if (o && o->poison)
        sf_cpu_set_poison(m->cpu, true);
    m->backend = SF_BACKEND_CPU;
    return SF_OK;
}

static sf_status cpu_run(sf_model *m, int64_t batch, const float *const *in, float *const *out, sf_error *err)
{
    return sf_cpu_exec(m->cpu, batch, in, m->params, out, err);
}

static void cpu_release(sf_model *m)
{
    sf_cpu_free(m->cpu);
    m->cpu = NULL;
}

/* ---- the GPU: the CPU's code too (packages keep it), runs where a device is ---- */

static bool cuda_built(void) { return true; } /* NVRTC and the driver are loaded when used */

static sf_status cuda_prepare(sf_model *m, const void *object, size_t size, const sf_options *o, sf_error *err)
{
    sf_status st = cpu_prepare(m, object, size, o, err);
    return st == SF_OK ? sf_model_to_gpu(m, "backend cuda: ", o, err) : st;
}

static sf_status cuda_run(sf_model *m, int64_t batch, const float *const *in, float *const *out, sf_error *err)
{
    return sf_cuda_exec(m->gpu, batch, in, out, err);
}

static void cuda_release(sf_model *m)
{
    sf_cuda_model_free(m->gpu);
    m->gpu = NULL;
}

const sf_backend_i sf_backends[SF_BACKEND_COUNT] = {
    [SF_BACKEND_INTERP] = {"interp", always, every_op, interp_prepare, interp_run, nothing},
    [SF_BACKEND_CPU] = {"cpu", sf_cpu_available, sf_cpu_supports, cpu_prepare, cpu_run, cpu_release},
    [SF_BACKEND_CUDA] = {"cuda", cuda_built, sf_cuda_supports, cuda_prepare, cuda_run, cuda_release},
};

sf_status sf_backend_resolve(const char *name, sf_backend_kind *kind, sf_error *err)
{
    if (!name) {
        *kind = sf_cpu_available() ? SF_BACKEND_CPU : SF_BACKEND_INTERP;
        return SF_OK;
    }
    for (int k = 0; k < SF_BACKEND_COUNT; k++)
        if (!strcmp(name, sf_backends[k].name)) {
            *kind = (sf_backend_kind)k;
            return SF_OK;
        }
    return sf_fail(err, SF_ERR_INVALID_ARG, "backend '%s': expected cpu, cuda or interp", name);
}
