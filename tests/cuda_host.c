/* The generated CUDA C on the host. A prelude turns the CUDA keywords
 * into C++ and blockIdx/threadIdx/blockDim/gridDim into variables the
 * launcher sets; the host C++ compiler makes a shared object of prelude
 * and source; the launcher runs the CUDA executor's plan (the same
 * regions, table and grids as on a GPU) one thread at a time. Thread
 * order within a launch is sequential, which a kernel with no barrier and
 * no shared state between threads (every kernel sheaf writes today) cannot
 * tell from a GPU's. */
#define _GNU_SOURCE /* asprintf, mkdtemp */
#include "cuda_host.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cuda.h"
#include "runtime/cuda_plan.h"

static const char host_prelude[] =
    "#include <math.h>\n#include <string.h>\n"
    "static inline float __int_as_float(unsigned bits) { float f; memcpy(&f, &bits, 4); return f; }\n"
    "struct sheaf_dim3 { unsigned x, y, z; };\n"
    "static sheaf_dim3 threadIdx, blockIdx, blockDim, gridDim;\n"
    "extern \"C\" void sheaf_host_at(unsigned block, unsigned thread, unsigned grid, unsigned threads)\n"
    "{ blockIdx.x = block, threadIdx.x = thread, gridDim.x = grid, blockDim.x = threads;\n"
    "  blockIdx.y = blockIdx.z = threadIdx.y = threadIdx.z = 0; gridDim.y = gridDim.z = blockDim.y = blockDim.z = 1; }\n"
    "#define __global__\n#define __device__\n#define __forceinline__ inline\n#define __launch_bounds__(...)\n"
    "#line 1 \"model.cu\"\n";

static const char *cxx(void)
{
    const char *c = getenv("SF_HOST_CXX");
    return c && *c ? c : "c++";
}

bool cuda_host_available(const char **why)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", cxx());
    if (system(cmd) == 0)
        return true;
    *why = "no host C++ compiler (c++, or $SF_HOST_CXX) to run the CUDA C on the host";
    return false;
}

typedef void (*kernel_fn)(float *const *args, long long B);
typedef void (*at_fn)(unsigned block, unsigned thread, unsigned grid, unsigned threads);

typedef struct host_code {
    char dir[256];
    void *so;
    at_fn at;
    kernel_fn *kernels;
} host_code;

/* prelude + source -> a shared object, its kernels looked up */
static char *build(const sf_cuda_source *src, host_code *h)
{
    char *problem = NULL, path[512], cmd[2048];
    snprintf(h->dir, sizeof h->dir, "%s/sheaf-cuda-host-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(h->dir)) {
        h->dir[0] = '\0';
        return strdup("cannot make a temporary directory");
    }
    snprintf(path, sizeof path, "%s/model.cc", h->dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(host_prelude, f) < 0 || fwrite(src->text, 1, src->len, f) != src->len) {
        if (f)
            fclose(f);
        return strdup("cannot write the CUDA C for the host compiler");
    }
    fclose(f);
    /* -ffp-contract=off: only the fmaf calls the source asks for are fused, as NVRTC compiles them */
    snprintf(cmd, sizeof cmd, "'%s' -std=c++17 -O1 -ffp-contract=off -fPIC -shared -o '%s/model.so' '%s' > '%s/log' 2>&1",
             cxx(), h->dir, path, h->dir);
    if (system(cmd) != 0) {
        char log[4096] = "";
        snprintf(path, sizeof path, "%s/log", h->dir);
        if ((f = fopen(path, "r"))) {
            log[fread(log, 1, sizeof log - 1, f)] = '\0';
            fclose(f);
        }
        asprintf(&problem, "the host C++ compiler refused the CUDA C:\n%s", log);
        return problem;
    }
    snprintf(path, sizeof path, "%s/model.so", h->dir);
    if (!(h->so = dlopen(path, RTLD_NOW | RTLD_LOCAL)) || !(h->at = (at_fn)dlsym(h->so, "sheaf_host_at"))) {
        asprintf(&problem, "dlopen: %s", dlerror());
        return problem;
    }
    h->kernels = calloc((size_t)src->nkernels + 1, sizeof *h->kernels);
    for (int k = 0; h->kernels && k < src->nkernels; k++) {
        char name[32];
        snprintf(name, sizeof name, "sheaf_k%d", k);
        if (!(h->kernels[k] = (kernel_fn)dlsym(h->so, name))) {
            asprintf(&problem, "kernel %s is missing from the CUDA C", name);
            return problem;
        }
    }
    return h->kernels ? NULL : strdup("out of memory");
}

static void unbuild(host_code *h)
{
    if (h->so)
        dlclose(h->so);
    free(h->kernels);
    if (h->dir[0]) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cuda_host: could not remove %s\n", h->dir);
    }
}

char *cuda_host_build_so(const sf_graph *g, char *so_path, size_t cap)
{
    sf_error e = {0};
    sf_cuda_source src;
    host_code h = {0};
    char *problem = NULL;
    if (sf_cuda_emit(g, &src, &e) != SF_OK) {
        asprintf(&problem, "%s", e.msg);
        return problem;
    }
    if (!(problem = build(&src, &h)))
        snprintf(so_path, cap, "%s/model.so", h.dir);
    else
        unbuild(&h);
    if (h.so)
        dlclose(h.so);
    free(h.kernels);
    sf_cuda_source_free(&src);
    return problem;
}

void cuda_host_remove(const char *so_path)
{
    char cmd[600];
    const char *slash = strrchr(so_path, '/');
    if (!slash)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(slash - so_path), so_path);
    if (system(cmd) != 0)
        fprintf(stderr, "cuda_host: could not remove %s\n", so_path);
}

/* copies a named tensor of the caller's into its place in a region */
static char *upload(const sf_value *v, const sf_tensor_set *set, int64_t batch, unsigned char *to)
{
    const sf_tensor *t = sf_tensors_get(set, v->def->name);
    size_t numel;
    char *problem = NULL;
    if (!t || !sf_type_numel(&v->type, batch, &numel) || numel != sf_tensor_numel(t))
        asprintf(&problem, "'%s' is missing or mis-shaped", v->def->name);
    else
        memcpy(to, t->data, numel * sizeof(float));
    return problem;
}

/* every launch of the plan, thread by thread */
static void launch_all(const host_code *h, const sf_cuda_plan *p, unsigned char *weights, unsigned char *batch)
{
    uint64_t *table = (uint64_t *)(batch + p->table_at);
    for (size_t i = 0; i < p->ntable; i++)
        table[i] = sf_cuda_resolve(p->table[i], (uint64_t)(uintptr_t)weights, (uint64_t)(uintptr_t)batch);
    for (size_t i = 0; i < p->nlaunch; i++) {
        const sf_cuda_launch *l = &p->launch[i];
        for (unsigned b = 0; b < l->grid; b++)
            for (unsigned t = 0; t < SF_CUDA_BLOCK; t++) {
                h->at(b, t, l->grid, SF_CUDA_BLOCK);
                h->kernels[l->kernel]((float *const *)(table + l->args), p->batch);
            }
    }
}

static char *collect(const sf_graph *g, const sf_cuda_plan *p, const unsigned char *weights,
                     const unsigned char *batch, sf_tensor_set *out)
{
    for (size_t i = 0; i < g->outputs.len; i++) {
        const sf_value *v = g->outputs.items[i];
        char name[32];
        sf_output_name(g, i, name, sizeof name);
        sf_cuda_ref r = p->value_at[v->id];
        const unsigned char *at = (r.region == SF_CUDA_WEIGHTS ? weights : batch) + r.offset;
        if (!sf_tensors_add_value(out, name, v, p->batch, (const float *)at, NULL))
            return strdup("out of memory");
    }
    return NULL;
}

char *cuda_host_run(const sf_graph *g, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                    unsigned max_grid, sf_tensor_set *out)
{
    sf_error e = {0};
    sf_cuda_source src = {0};
    sf_cuda_plan p = {0};
    host_code h = {0};
    unsigned char *wr = NULL, *br = NULL;
    char *problem = NULL;
    if (sf_cuda_emit(g, &src, &e) != SF_OK || sf_cuda_plan_build(&src, &p, &e) != SF_OK ||
        sf_cuda_plan_batch(&p, &src, batch, max_grid, &e) != SF_OK) {
        asprintf(&problem, "%s", e.msg);
        goto done;
    }
    if ((problem = build(&src, &h)))
        goto done;
    size_t br_bytes = (p.batch_bytes + 255) / 256 * 256 + 256;
    wr = aligned_alloc(256, (p.weights_bytes + 255) / 256 * 256 + 256);
    br = aligned_alloc(256, br_bytes);
    if (!wr || !br) {
        problem = strdup("out of memory");
        goto done;
    }
    memset(br, 0xff, p.batch_bytes); /* NaN: a kernel reading what nothing wrote shows */
    memset(br + p.batch_bytes, 0xa5, br_bytes - p.batch_bytes); /* a guard: checked after the launches */
    for (size_t i = 0; !problem && i < g->params.len; i++)
        problem = upload(g->params.items[i], weights, 1, wr + p.param_at[i]);
    for (size_t i = 0; !problem && i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        problem = upload(v, inputs, batch, br + p.value_at[v->id].offset);
    }
    if (!problem) {
        launch_all(&h, &p, wr, br);
        for (size_t k = p.batch_bytes; !problem && k < br_bytes; k++)
            if (br[k] != 0xa5)
                asprintf(&problem, "a kernel wrote past the batch region (guard byte %zu)", k - p.batch_bytes);
        if (!problem)
            problem = collect(g, &p, wr, br, out);
    }
done:
    free(wr), free(br);
    unbuild(&h);
    sf_cuda_plan_free(&p);
    sf_cuda_source_free(&src);
    return problem;
}
