/* NVRTC, loaded with dlopen on first use: the binary builds and runs where
 * the CUDA toolkit is absent, and CUDA C compiles where there is no GPU
 * (NVRTC needs none). Only the handful of entry points sheaf calls are
 * declared here, with NVRTC's documented C signatures. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda.h"
#include "runtime/nvrtc.h"

typedef int nvrtc_result; /* NVRTC_SUCCESS is 0 */
typedef struct nvrtc_program *nvrtc_program;

static struct {
    void *lib;
    const char *why;
    int version;
    nvrtc_result (*version_fn)(int *, int *);
    nvrtc_result (*create)(nvrtc_program *, const char *, const char *, int, const char *const *, const char *const *);
    nvrtc_result (*compile)(nvrtc_program, int, const char *const *);
    nvrtc_result (*log_size)(nvrtc_program, size_t *);
    nvrtc_result (*log)(nvrtc_program, char *);
    nvrtc_result (*cubin_size)(nvrtc_program, size_t *);
    nvrtc_result (*cubin)(nvrtc_program, char *);
    nvrtc_result (*ptx_size)(nvrtc_program, size_t *);
    nvrtc_result (*ptx)(nvrtc_program, char *);
    nvrtc_result (*destroy)(nvrtc_program *);
    const char *(*error_string)(nvrtc_result);
} nv;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *find(const char *name)
{
    void *p = dlsym(nv.lib, name);
    if (!p)
        nv.why = "libnvrtc lacks an entry point sheaf needs";
    return p;
}

static void load(void)
{
    /* the soname of each toolkit generation, newest first, then the toolkit's own directory */
    static const char *const names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so",
                                        "/usr/local/cuda/lib64/libnvrtc.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !nv.lib; i++)
        nv.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!nv.lib) {
        nv.why = "libnvrtc.so not found (the CUDA toolkit's NVRTC is needed to compile CUDA C)";
        return;
    }
    *(void **)&nv.version_fn = find("nvrtcVersion");
    *(void **)&nv.create = find("nvrtcCreateProgram");
    *(void **)&nv.compile = find("nvrtcCompileProgram");
    *(void **)&nv.log_size = find("nvrtcGetProgramLogSize");
    *(void **)&nv.log = find("nvrtcGetProgramLog");
    *(void **)&nv.cubin_size = find("nvrtcGetCUBINSize");
    *(void **)&nv.cubin = find("nvrtcGetCUBIN");
    *(void **)&nv.ptx_size = find("nvrtcGetPTXSize");
    *(void **)&nv.ptx = find("nvrtcGetPTX");
    *(void **)&nv.destroy = find("nvrtcDestroyProgram");
    *(void **)&nv.error_string = find("nvrtcGetErrorString");
    int major = 0, minor = 0;
    if (nv.why || nv.version_fn(&major, &minor) != 0) {
        nv.why = nv.why ? nv.why : "nvrtcVersion failed";
        dlclose(nv.lib);
        nv.lib = NULL;
        return;
    }
    nv.version = major * 1000 + minor * 10;
}

bool sf_nvrtc_available(const char **why)
{
    pthread_once(&once, load);
    if (why)
        *why = nv.why;
    return nv.lib != NULL;
}

int sf_nvrtc_version(void) { return sf_nvrtc_available(NULL) ? nv.version : 0; }

/* every option but the architecture; sf_nvrtc_options spells the same list */
#define FIXED_OPTIONS "--std=c++17", "--fmad=true"

void sf_nvrtc_options(int arch, bool cubin, char *out, size_t cap)
{
    static const char *const fixed[] = {FIXED_OPTIONS};
    int n = snprintf(out, cap, "--gpu-architecture=%s_%d", cubin ? "sm" : "compute", arch);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && n > 0 && (size_t)n < cap; i++)
        n += snprintf(out + n, cap - (size_t)n, " %s", fixed[i]);
}

static sf_status nv_fail(sf_error *err, const char *call, nvrtc_result r)
{
    return sf_fail(err, SF_ERR_RUNTIME, "cuda backend: %s failed: %s", call, nv.error_string(r));
}

static char *program_log(nvrtc_program p)
{
    size_t n = 0;
    char *log = NULL;
    if (nv.log_size(p, &n) == 0 && (log = calloc(n + 1, 1)) != NULL && n > 0 && nv.log(p, log) != 0)
        log[0] = '\0';
    if (log) /* NVRTC counts the terminating NUL; drop trailing blank lines */
        for (size_t len = strlen(log); len > 0 && (log[len - 1] == '\n' || log[len - 1] == ' '); len--)
            log[len - 1] = '\0';
    return log;
}

sf_status sf_nvrtc_compile(const char *src, int arch, bool cubin, unsigned char **out, size_t *out_len, char **log,
                           sf_error *err)
{
    *out = NULL, *out_len = 0, *log = NULL;
    const char *why;
    if (!sf_nvrtc_available(&why))
        return sf_fail(err, SF_ERR_UNSUPPORTED, "cuda backend: %s", why);
    if (arch < 50 || arch > 999)
        return sf_fail(err, SF_ERR_INVALID_ARG, "cuda backend: architecture %d is not a compute capability (sm_80 is 80)",
                       arch);
    char gpu[48];
    snprintf(gpu, sizeof gpu, "--gpu-architecture=%s_%d", cubin ? "sm" : "compute", arch);
    const char *opts[] = {gpu, FIXED_OPTIONS};
    nvrtc_program p = NULL;
    nvrtc_result r = nv.create(&p, src, "sheaf_model.cu", 0, NULL, NULL);
    if (r != 0)
        return nv_fail(err, "nvrtcCreateProgram", r);
    r = nv.compile(p, (int)(sizeof opts / sizeof opts[0]), opts);
    *log = program_log(p);
    sf_status st = SF_OK;
    if (r != 0) {
        st = sf_fail(err, SF_ERR_RUNTIME, "cuda backend: NVRTC could not compile the model for %s_%d: %s%s%.1500s",
                     cubin ? "sm" : "compute", arch, nv.error_string(r), *log && **log ? "\n" : "",
                     *log ? *log : "");
    } else {
        size_t n = 0;
        r = cubin ? nv.cubin_size(p, &n) : nv.ptx_size(p, &n);
        if (r != 0)
            st = nv_fail(err, cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize", r);
        else if (!(*out = malloc(n ? n : 1)))
            st = sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory");
        else if ((r = cubin ? nv.cubin(p, (char *)*out) : nv.ptx(p, (char *)*out)) != 0)
            st = nv_fail(err, cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX", r);
        else
            *out_len = n;
    }
    nv.destroy(&p);
    if (st != SF_OK) {
        free(*out);
        *out = NULL, *out_len = 0;
    }
    return st;
}
