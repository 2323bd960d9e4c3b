/* The CUDA driver, loaded with dlopen: the same binary starts and runs on
 * the CPU backend where there is no driver or no device, and says why in
 * one line. $SHEAF_LIBCUDA names another library to load instead of
 * libcuda.so.1 (the tests' stand-in driver, tests/fake_cuda.c). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/cuda_driver.h"
#include "runtime/cuda_runtime.h"

static struct {
    void *lib;
    int devices;
    sf_cu cu;
    char why[256];
} drv;

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* every entry point, by the versioned name cuda.h's macros pick */
static bool bind(void)
{
    static const struct { const char *name; size_t at; } fns[] = {
        {"cuDeviceGet", offsetof(sf_cu, DeviceGet)},
        {"cuDeviceGetAttribute", offsetof(sf_cu, DeviceGetAttribute)},
        {"cuDeviceGetName", offsetof(sf_cu, DeviceGetName)},
        {"cuDevicePrimaryCtxRetain", offsetof(sf_cu, DevicePrimaryCtxRetain)},
        {"cuDevicePrimaryCtxRelease_v2", offsetof(sf_cu, DevicePrimaryCtxRelease)},
        {"cuCtxSetCurrent", offsetof(sf_cu, CtxSetCurrent)},
        {"cuModuleLoadData", offsetof(sf_cu, ModuleLoadData)},
        {"cuModuleUnload", offsetof(sf_cu, ModuleUnload)},
        {"cuModuleGetFunction", offsetof(sf_cu, ModuleGetFunction)},
        {"cuMemAlloc_v2", offsetof(sf_cu, MemAlloc)},
        {"cuMemFree_v2", offsetof(sf_cu, MemFree)},
        {"cuMemcpyHtoDAsync_v2", offsetof(sf_cu, MemcpyHtoDAsync)},
        {"cuMemcpyDtoHAsync_v2", offsetof(sf_cu, MemcpyDtoHAsync)},
        {"cuMemcpyDtoDAsync_v2", offsetof(sf_cu, MemcpyDtoDAsync)},
        {"cuPointerGetAttribute", offsetof(sf_cu, PointerGetAttribute)},
        {"cuStreamCreate", offsetof(sf_cu, StreamCreate)},
        {"cuStreamDestroy_v2", offsetof(sf_cu, StreamDestroy)},
        {"cuStreamSynchronize", offsetof(sf_cu, StreamSynchronize)},
        {"cuLaunchKernel", offsetof(sf_cu, LaunchKernel)},
        {"cuStreamBeginCapture_v2", offsetof(sf_cu, StreamBeginCapture)},
        {"cuStreamEndCapture", offsetof(sf_cu, StreamEndCapture)},
        {"cuGraphInstantiateWithFlags", offsetof(sf_cu, GraphInstantiate)},
        {"cuGraphLaunch", offsetof(sf_cu, GraphLaunch)},
        {"cuGraphExecDestroy", offsetof(sf_cu, GraphExecDestroy)},
        {"cuGraphDestroy", offsetof(sf_cu, GraphDestroy)},
        {"cuGetErrorName", offsetof(sf_cu, GetErrorName)},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        void *p = dlsym(drv.lib, fns[i].name);
        if (!p) {
            snprintf(drv.why, sizeof drv.why, "the CUDA driver is too old (no %s)", fns[i].name);
            return false;
        }
        *(void **)((char *)&drv.cu + fns[i].at) = p;
    }
    return true;
}

static void probe(void)
{
    const char *name = getenv("SHEAF_LIBCUDA");
    if (!name || !*name)
        name = "libcuda.so.1";
    drv.lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!drv.lib) {
        snprintf(drv.why, sizeof drv.why, "no CUDA driver (%s not found)", name);
        return;
    }
    cu_result (*init)(unsigned) = NULL, (*count)(int *) = NULL;
    *(void **)&init = dlsym(drv.lib, "cuInit");
    *(void **)&count = dlsym(drv.lib, "cuDeviceGetCount");
    cu_result r = init && count ? init(0) : -1;
    if (r != 0) {
        snprintf(drv.why, sizeof drv.why, "the CUDA driver did not start (cuInit: %d)", r);
        return;
    }
    if (count(&drv.devices) != 0 || drv.devices < 1) {
        drv.devices = 0;
        snprintf(drv.why, sizeof drv.why, "no CUDA device (cuDeviceGetCount: 0)");
        return;
    }
    if (!bind())
        drv.devices = 0;
}

bool sf_cuda_device_present(const char **why)
{
    pthread_once(&once, probe);
    if (why)
        *why = drv.why;
    return drv.devices > 0;
}

const sf_cu *sf_cuda_driver(void) { return sf_cuda_device_present(NULL) ? &drv.cu : NULL; }

sf_status sf_cu_fail(sf_error *err, const char *call, cu_result r)
{
    const char *name = NULL;
    if (drv.cu.GetErrorName && drv.cu.GetErrorName(r, &name) != 0)
        name = NULL;
    return sf_fail(err, SF_ERR_RUNTIME, "cuda backend: %s: %s (%d)", call, name ? name : "unknown error", r);
}
