/* The CUDA executor: the model's kernels in one module, weights uploaded
 * once, the batch region (inputs, activations, argument table) laid out
 * by the plan (cuda_plan.c) and allocated for the largest batch seen,
 * and the forward's launches captured in a CUDA graph per batch size and
 * replayed. The plan is checked on the host (tests/test_cuda_host.c) and
 * this file's driver calls through a stand-in driver that runs the same
 * kernels on the host (tests/fake_cuda.c); on a GPU it is unverified
 * until a session with one runs tests/test_cuda_exec (docs/cuda-backend.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cuda_driver.h"
#include "runtime/cuda_plan.h"
#include "runtime/cuda_runtime.h"
#include "runtime/nvrtc_cache.h"

struct sf_cuda_model {
    const sf_cu *cu;
    cu_device dev;
    cu_ctx ctx;
    cu_stream stream;
    cu_module mod;
    cu_function *fn;
    sf_cuda_source src;
    sf_cuda_plan plan;
    cu_ptr weights, region;
    size_t region_cap;
    uint64_t *table; /* the argument table as uploaded */
    cu_graph graph;
    cu_graph_exec exec; /* the forward at plan.batch */
    int arch, sms;
    char describe[400];
};

#define CU(call, args) ((r = cm->cu->call args) != 0 ? sf_cu_fail(err, "cu" #call, r) : SF_OK)

static sf_status load_image(sf_cuda_model *cm, const void *image, const char *how, sf_error *err)
{
    cu_result r;
    sf_status st = CU(ModuleLoadData, (&cm->mod, image));
    if (st == SF_OK) {
        char name[128];
        if (cm->cu->DeviceGetName(name, (int)sizeof name, cm->dev) != 0)
            snprintf(name, sizeof name, "device %d", cm->dev);
        snprintf(cm->describe, sizeof cm->describe, "%s (sm_%d): %s", name, cm->arch, how);
    }
    return st;
}

/* the package's code when it was made from this graph and fits the
 * device: CUBIN for its architecture, else the newest PTX it can JIT */
static bool from_package(sf_cuda_model *cm, const sf_pkg_cuda *aot, sf_status *st, sf_error *err)
{
    if (!aot || !aot->nimages || aot->source_len != cm->src.len || memcmp(aot->source, cm->src.text, cm->src.len))
        return false;
    const sf_pkg_image *best = NULL;
    for (int i = 0; i < aot->nimages; i++) {
        const sf_pkg_image *im = &aot->images[i];
        if (!im->ptx && im->arch == cm->arch)
            best = im;
        else if (im->ptx && im->arch <= cm->arch && (!best || (best->ptx && im->arch > best->arch)))
            best = im;
    }
    if (!best)
        return false;
    char how[64];
    snprintf(how, sizeof how, "%s_%d from the package", best->ptx ? "PTX for compute" : "CUBIN for sm", best->arch);
    *st = load_image(cm, best->data, how, err);
    return true;
}

/* NVRTC for the device's architecture: CUBIN, or PTX where this NVRTC
 * cannot make CUBIN for it */
static sf_status compile_here(sf_cuda_model *cm, bool use_cache, sf_error *err)
{
    unsigned char *image = NULL;
    size_t len;
    char *log = NULL;
    bool hit, cubin = true;
    sf_status st = sf_nvrtc_compile_cached(cm->src.text, cm->arch, true, use_cache, &image, &len, &log, &hit, err);
    if (st != SF_OK) {
        free(log);
        cubin = false;
        st = sf_nvrtc_compile_cached(cm->src.text, cm->arch, false, use_cache, &image, &len, &log, &hit, err);
    }
    free(log);
    if (st == SF_OK)
        st = load_image(cm, image, cubin ? (hit ? "CUBIN from the NVRTC cache" : "CUBIN compiled by NVRTC")
                                         : (hit ? "PTX from the NVRTC cache" : "PTX compiled by NVRTC"), err);
    free(image);
    return st;
}

static sf_status upload_weights(sf_cuda_model *cm, const float *const *params, sf_error *err)
{
    cu_result r;
    const sf_graph *g = cm->plan.g;
    sf_status st = CU(MemAlloc, (&cm->weights, cm->plan.weights_bytes ? cm->plan.weights_bytes : 256));
    for (size_t i = 0; st == SF_OK && i < g->params.len; i++) {
        size_t numel;
        sf_type_numel(&((const sf_value *)g->params.items[i])->type, 1, &numel);
        st = CU(MemcpyHtoDAsync, (cm->weights + cm->plan.param_at[i], params[i], numel * sizeof(float), cm->stream));
    }
    return st == SF_OK ? CU(StreamSynchronize, (cm->stream)) : st;
}

static sf_status open_device(sf_cuda_model *cm, sf_error *err)
{
    cu_result r;
    int major = 0, minor = 0;
    sf_status st = CU(DeviceGet, (&cm->dev, 0));
    if (st == SF_OK)
        st = CU(DevicePrimaryCtxRetain, (&cm->ctx, cm->dev));
    if (st == SF_OK && (st = CU(CtxSetCurrent, (cm->ctx))) == SF_OK &&
        (st = CU(DeviceGetAttribute, (&major, CU_ATTR_CC_MAJOR, cm->dev))) == SF_OK &&
        (st = CU(DeviceGetAttribute, (&minor, CU_ATTR_CC_MINOR, cm->dev))) == SF_OK)
        st = CU(DeviceGetAttribute, (&cm->sms, CU_ATTR_SM_COUNT, cm->dev));
    cm->arch = major * 10 + minor;
    return st == SF_OK ? CU(StreamCreate, (&cm->stream, CU_STREAM_NONBLOCKING)) : st;
}

sf_cuda_model *sf_cuda_model_new(const sf_plan *plan, const float *const *params, const sf_pkg_cuda *aot,
                                 bool use_cache, sf_error *err)
{
    sf_cuda_model *cm = calloc(1, sizeof *cm);
    if (!cm) {
        sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory");
        return NULL;
    }
    if (!(cm->cu = sf_cuda_driver())) {
        const char *why;
        sf_cuda_device_present(&why);
        sf_fail(err, SF_ERR_UNSUPPORTED, "cuda backend: %s", why);
        free(cm);
        return NULL;
    }
    sf_status st = open_device(cm, err);
    if (st == SF_OK)
        st = sf_cuda_emit_plan(plan, &cm->src, err);
    if (st == SF_OK && !from_package(cm, aot, &st, err))
        st = compile_here(cm, use_cache, err);
    if (st == SF_OK && !(cm->fn = calloc((size_t)cm->src.nkernels + 1, sizeof *cm->fn)))
        st = sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory");
    for (int k = 0; st == SF_OK && k < cm->src.nkernels; k++) {
        char name[32];
        cu_result r;
        snprintf(name, sizeof name, "sheaf_k%d", k);
        st = CU(ModuleGetFunction, (&cm->fn[k], cm->mod, name));
    }
    if (st == SF_OK)
        st = sf_cuda_plan_build(&cm->src, &cm->plan, err);
    if (st == SF_OK)
        st = upload_weights(cm, params, err);
    if (st != SF_OK) {
        sf_cuda_model_free(cm);
        return NULL;
    }
    return cm;
}

static void drop_graph(sf_cuda_model *cm)
{
    if (cm->exec)
        cm->cu->GraphExecDestroy(cm->exec);
    if (cm->graph)
        cm->cu->GraphDestroy(cm->graph);
    cm->exec = NULL, cm->graph = NULL;
}

void sf_cuda_model_free(sf_cuda_model *cm)
{
    if (!cm)
        return;
    if (cm->cu && cm->ctx) {
        cm->cu->CtxSetCurrent(cm->ctx);
        drop_graph(cm);
        if (cm->stream)
            cm->cu->StreamSynchronize(cm->stream), cm->cu->StreamDestroy(cm->stream);
        if (cm->region)
            cm->cu->MemFree(cm->region);
        if (cm->weights)
            cm->cu->MemFree(cm->weights);
        if (cm->mod)
            cm->cu->ModuleUnload(cm->mod);
        cm->cu->DevicePrimaryCtxRelease(cm->dev);
    }
    free(cm->fn);
    free(cm->table);
    sf_cuda_plan_free(&cm->plan);
    sf_cuda_source_free(&cm->src);
    free(cm);
}

const char *sf_cuda_model_describe(const sf_cuda_model *cm) { return cm->describe; }

size_t sf_cuda_model_launches(const sf_cuda_model *cm)
{
    return cm->src.plan.nkernels;
}


/* the forward's launches, in order, on the stream */
static sf_status launch_all(sf_cuda_model *cm, sf_error *err)
{
    cu_result r;
    sf_status st = SF_OK;
    long long batch = cm->plan.batch;
    for (size_t i = 0; st == SF_OK && i < cm->plan.nlaunch; i++) {
        const sf_cuda_launch *l = &cm->plan.launch[i];
        cu_ptr args = cm->region + cm->plan.table_at + l->args * sizeof(uint64_t);
        void *params[] = {&args, &batch};
        st = CU(LaunchKernel, (cm->fn[l->kernel], l->grid, 1, 1, SF_CUDA_BLOCK, 1, 1, 0, cm->stream, params, NULL));
    }
    return st;
}

/* a plan, a region, a table and a captured graph for this batch size */
static sf_status prepare(sf_cuda_model *cm, int64_t batch, sf_error *err)
{
    cu_result r;
    if (cm->exec && cm->plan.batch == batch)
        return SF_OK;
    drop_graph(cm);
    unsigned max_grid = (unsigned)(cm->sms > 0 ? cm->sms : 1) * 32; /* a few waves of 8 resident blocks per SM */
    sf_status st = sf_cuda_plan_batch(&cm->plan, &cm->src, batch, max_grid, err);
    if (st == SF_OK && cm->plan.batch_bytes > cm->region_cap) {
        if (cm->region)
            cm->cu->MemFree(cm->region);
        cm->region = 0, cm->region_cap = 0;
        if ((st = CU(MemAlloc, (&cm->region, cm->plan.batch_bytes))) == SF_OK)
            cm->region_cap = cm->plan.batch_bytes;
    }
    free(cm->table);
    if (st == SF_OK && !(cm->table = malloc(cm->plan.ntable * sizeof *cm->table + 1)))
        st = sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory");
    for (size_t i = 0; st == SF_OK && i < cm->plan.ntable; i++)
        cm->table[i] = sf_cuda_resolve(cm->plan.table[i], cm->weights, cm->region);
    if (st == SF_OK)
        st = CU(MemcpyHtoDAsync, (cm->region + cm->plan.table_at, cm->table, cm->plan.ntable * sizeof *cm->table,
                                  cm->stream));
    if (st == SF_OK)
        st = CU(StreamSynchronize, (cm->stream));
    if (st == SF_OK)
        st = CU(StreamBeginCapture, (cm->stream, CU_CAPTURE_THREAD_LOCAL));
    if (st == SF_OK) {
        sf_status launched = launch_all(cm, err);
        st = CU(StreamEndCapture, (cm->stream, &cm->graph)); /* ends the capture whatever happened */
        st = launched != SF_OK ? launched : st;
    }
    if (st == SF_OK)
        st = CU(GraphInstantiate, (&cm->exec, cm->graph, 0));
    if (st != SF_OK) {
        drop_graph(cm);
        cm->plan.batch = 0;
    }
    return st;
}

static bool on_device(const sf_cuda_model *cm, const void *p)
{
    int type = 0;
    return cm->cu->PointerGetAttribute(&type, CU_POINTER_MEMORY_TYPE, (cu_ptr)(uintptr_t)p) == 0 &&
           type == CU_MEMORY_DEVICE;
}

static size_t value_bytes(const sf_value *v, int64_t batch)
{
    size_t numel;
    sf_type_numel(&v->type, batch, &numel); /* checked by sf_run */
    return numel * sizeof(float);
}

sf_status sf_cuda_exec(sf_cuda_model *cm, int64_t batch, const float *const *inputs, float *const *outputs,
                       sf_error *err)
{
    cu_result r;
    const sf_graph *g = cm->plan.g;
    sf_status st = CU(CtxSetCurrent, (cm->ctx));
    if (st == SF_OK)
        st = prepare(cm, batch, err);
    for (size_t i = 0; st == SF_OK && i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        cu_ptr to = cm->region + cm->plan.value_at[v->id].offset;
        st = on_device(cm, inputs[i]) ? CU(MemcpyDtoDAsync, (to, (cu_ptr)(uintptr_t)inputs[i], value_bytes(v, batch), cm->stream))
                                      : CU(MemcpyHtoDAsync, (to, inputs[i], value_bytes(v, batch), cm->stream));
    }
    if (st == SF_OK)
        st = CU(GraphLaunch, (cm->exec, cm->stream));
    for (size_t i = 0; st == SF_OK && i < g->outputs.len; i++) {
        const sf_value *v = g->outputs.items[i];
        cu_ptr from = sf_cuda_resolve(cm->plan.value_at[v->id], cm->weights, cm->region);
        st = on_device(cm, outputs[i])
                 ? CU(MemcpyDtoDAsync, ((cu_ptr)(uintptr_t)outputs[i], from, value_bytes(v, batch), cm->stream))
                 : CU(MemcpyDtoHAsync, (outputs[i], from, value_bytes(v, batch), cm->stream));
    }
    sf_status done = CU(StreamSynchronize, (cm->stream)); /* also reports a kernel's fault */
    return st != SF_OK ? st : done;
}
