/* A stand-in for libcuda.so.1, for testing the CUDA executor's driver
 * calls where there is no GPU: "device memory" is host memory, a module
 * is the host build of the model's CUDA C ($SHEAF_FAKE_CUDA_KERNELS, a
 * shared object from tests/cuda_host.c), a launch runs each block's
 * threads one after another, stream capture records launches and a graph
 * replays them. $SHEAF_FAKE_CUDA_CC sets the compute capability (default
 * 90); $SHEAF_FAKE_CUDA_FAIL names one entry point that then fails with
 * CUDA_ERROR_OUT_OF_MEMORY. Only what sheaf calls, with the driver's C
 * signatures (pointers to opaque structs as void *). */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cuda.h"

#define OOM 2
#define INVALID 1

typedef void (*kernel_fn)(void *args, long long B);
typedef void (*at_fn)(unsigned, unsigned, unsigned, unsigned);

typedef struct launch {
    kernel_fn fn;
    unsigned grid, block;
    uint64_t args;
    long long batch;
} launch;

typedef struct graph {
    launch *l;
    size_t n;
} graph;

static struct {
    void *so;
    at_fn at;
    char *allocs[256];
    size_t sizes[256];
    bool capturing;
    graph rec;
    fake_cuda_stats stats;
} fk;

static bool fails(const char *name)
{
    const char *f = getenv("SHEAF_FAKE_CUDA_FAIL");
    return f && !strcmp(f, name);
}

fake_cuda_stats *fake_cuda_get_stats(void) { return &fk.stats; }

int cuInit(unsigned flags) { return flags ? INVALID : 0; }
int cuDeviceGetCount(int *n) { return *n = 1, 0; }
int cuDeviceGet(int *d, int i) { return *d = i, i ? INVALID : 0; }
int cuDeviceGetName(char *name, int len, int d)
{
    (void)d;
    strncpy(name, "sheaf fake GPU", (size_t)len);
    return 0;
}

int cuDeviceGetAttribute(int *v, int attr, int d)
{
    (void)d;
    const char *e = getenv("SHEAF_FAKE_CUDA_CC");
    int cc = e ? atoi(e) : 90;
    *v = attr == 75 ? cc / 10 : attr == 76 ? cc % 10 : attr == 16 ? 4 : 0;
    return 0;
}

int cuDevicePrimaryCtxRetain(void **ctx, int d) { return *ctx = (void *)(uintptr_t)(d + 1), 0; }
int cuDevicePrimaryCtxRelease_v2(int d) { return d ? INVALID : 0; }
int cuCtxSetCurrent(void *ctx) { return ctx ? 0 : INVALID; }

int cuModuleLoadData(void **mod, const void *image)
{
    const char *path = getenv("SHEAF_FAKE_CUDA_KERNELS");
    if (fails("cuModuleLoadData") || !image || !path)
        return fails("cuModuleLoadData") ? OOM : INVALID;
    /* what NVRTC made: CUBIN (ELF) or PTX text */
    bool cubin = !memcmp(image, "\177ELF", 4), ptx = !cubin && strstr(image, ".entry");
    if (!cubin && !ptx)
        return 200; /* CUDA_ERROR_INVALID_IMAGE */
    fk.stats.loaded_cubin += cubin, fk.stats.loaded_ptx += ptx;
    if (fk.so)
        dlclose(fk.so);
    if (!(fk.so = dlopen(path, RTLD_NOW | RTLD_LOCAL)) || !(fk.at = (at_fn)dlsym(fk.so, "sheaf_host_at")))
        return 200;
    return *mod = fk.so, 0;
}

int cuModuleUnload(void *mod) { return mod ? 0 : INVALID; }
int cuModuleGetFunction(void **fn, void *mod, const char *name)
{
    return (*fn = dlsym(mod, name)) ? 0 : 500; /* CUDA_ERROR_NOT_FOUND */
}

int cuMemAlloc_v2(uint64_t *p, size_t n)
{
    if (fails("cuMemAlloc_v2"))
        return OOM;
    for (int i = 0; i < 256; i++)
        if (!fk.allocs[i]) {
            fk.allocs[i] = malloc(n);
            fk.sizes[i] = n;
            memset(fk.allocs[i], 0xff, n); /* NaN: reading what nothing wrote shows */
            *p = (uint64_t)(uintptr_t)fk.allocs[i];
            fk.stats.allocations++;
            return fk.allocs[i] ? 0 : OOM;
        }
    return OOM;
}

int cuMemFree_v2(uint64_t p)
{
    for (int i = 0; i < 256; i++)
        if (fk.allocs[i] && (uint64_t)(uintptr_t)fk.allocs[i] == p) {
            free(fk.allocs[i]);
            fk.allocs[i] = NULL;
            fk.stats.allocations--;
            return 0;
        }
    return INVALID;
}

/* whether [p, p+n) lies inside one allocation */
static bool device(uint64_t p, size_t n)
{
    for (int i = 0; i < 256; i++) {
        uint64_t a = (uint64_t)(uintptr_t)fk.allocs[i];
        if (fk.allocs[i] && p >= a && p - a <= fk.sizes[i] && n <= fk.sizes[i] - (p - a))
            return true;
    }
    return false;
}

int cuMemcpyHtoDAsync_v2(uint64_t to, const void *from, size_t n, void *s)
{
    (void)s;
    if (!device(to, n) || device((uint64_t)(uintptr_t)from, n))
        return INVALID;
    memcpy((void *)(uintptr_t)to, from, n);
    return 0;
}

int cuMemcpyDtoHAsync_v2(void *to, uint64_t from, size_t n, void *s)
{
    (void)s;
    if (!device(from, n) || device((uint64_t)(uintptr_t)to, n))
        return INVALID;
    memcpy(to, (const void *)(uintptr_t)from, n);
    return 0;
}

int cuMemcpyDtoDAsync_v2(uint64_t to, uint64_t from, size_t n, void *s)
{
    (void)s;
    if (!device(to, n) || !device(from, n))
        return INVALID;
    fk.stats.device_copies++;
    memmove((void *)(uintptr_t)to, (const void *)(uintptr_t)from, n);
    return 0;
}

int cuMemcpyHtoD_v2(uint64_t to, const void *from, size_t n) { return cuMemcpyHtoDAsync_v2(to, from, n, NULL); }
int cuMemcpyDtoH_v2(void *to, uint64_t from, size_t n) { return cuMemcpyDtoHAsync_v2(to, from, n, NULL); }

int cuPointerGetAttribute(void *out, int attr, uint64_t p)
{
    if (attr != 2 || !device(p, 0))
        return INVALID; /* as the driver answers for memory it does not know */
    *(unsigned *)out = 2;
    return 0;
}

int cuStreamCreate(void **s, unsigned flags) { return *s = (void *)(uintptr_t)(flags + 1), 0; }
int cuStreamDestroy_v2(void *s) { return s ? 0 : INVALID; }
int cuStreamSynchronize(void *s) { return s ? 0 : INVALID; }

static void run(const launch *l)
{
    for (unsigned b = 0; b < l->grid; b++)
        for (unsigned t = 0; t < l->block; t++) {
            fk.at(b, t, l->grid, l->block);
            l->fn((void *)(uintptr_t)l->args, l->batch);
        }
    fk.stats.kernels_run++;
}

int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, void *stream, void **params, void **extra)
{
    (void)stream;
    if (!f || gx < 1 || gy != 1 || gz != 1 || bx < 1 || bx > 1024 || by != 1 || bz != 1 || shared || extra ||
        !device(*(uint64_t *)params[0], 8))
        return INVALID;
    launch l = {(kernel_fn)f, gx, bx, *(uint64_t *)params[0], *(long long *)params[1]};
    if (!fk.capturing) {
        run(&l);
        return 0;
    }
    launch *grown = realloc(fk.rec.l, (fk.rec.n + 1) * sizeof *grown);
    if (!grown)
        return OOM;
    fk.rec.l = grown;
    fk.rec.l[fk.rec.n++] = l;
    return 0;
}

int cuStreamBeginCapture_v2(void *s, int mode)
{
    (void)s;
    if (fk.capturing || mode != 1)
        return INVALID;
    fk.capturing = true;
    fk.rec = (graph){0};
    return 0;
}

int cuStreamEndCapture(void *s, void **g)
{
    (void)s;
    if (!fk.capturing)
        return INVALID;
    fk.capturing = false;
    graph *copy = malloc(sizeof *copy);
    *copy = fk.rec;
    *g = copy;
    fk.stats.captures++;
    return 0;
}

int cuGraphInstantiateWithFlags(void **exec, void *g, unsigned long long flags)
{
    if (flags)
        return INVALID;
    *exec = g; /* the graph is its own executable form here */
    return 0;
}

int cuGraphLaunch(void *exec, void *s)
{
    (void)s;
    if (fails("cuGraphLaunch"))
        return OOM;
    const graph *g = exec;
    for (size_t i = 0; i < g->n; i++)
        run(&g->l[i]);
    fk.stats.graph_launches++;
    return 0;
}

int cuGraphExecDestroy(void *exec) { return exec ? 0 : INVALID; }
int cuGraphDestroy(void *g)
{
    graph *gr = g;
    if (!gr)
        return INVALID;
    free(gr->l);
    free(gr);
    return 0;
}

int cuGetErrorName(int r, const char **name)
{
    *name = r == OOM ? "CUDA_ERROR_OUT_OF_MEMORY" : r == INVALID ? "CUDA_ERROR_INVALID_VALUE" : "CUDA_ERROR_UNKNOWN";
    return 0;
}
