/* The CUDA driver, loaded with dlopen: the same binary starts and runs on
 * the CPU backend where there is no driver or no device. This is the
 * start of the CUDA runtime (docs/cuda-backend.md): today it finds out
 * whether a device is there, and says why not in one line. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "cuda_runtime.h"

static struct {
    void *lib;
    int devices;
    char why[256];
} drv;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void probe(void)
{
    drv.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!drv.lib) {
        snprintf(drv.why, sizeof drv.why, "no CUDA driver (libcuda.so.1 not found)");
        return;
    }
    int (*init)(unsigned) = NULL, (*count)(int *) = NULL;
    *(void **)&init = dlsym(drv.lib, "cuInit");
    *(void **)&count = dlsym(drv.lib, "cuDeviceGetCount");
    int r = init && count ? init(0) : -1;
    if (r != 0) {
        snprintf(drv.why, sizeof drv.why, "the CUDA driver did not start (cuInit: %d)", r);
        return;
    }
    if (count(&drv.devices) != 0 || drv.devices < 1) {
        drv.devices = 0;
        snprintf(drv.why, sizeof drv.why, "no CUDA device (cuDeviceGetCount: 0)");
    }
}

bool sf_cuda_device_present(const char **why)
{
    pthread_once(&once, probe);
    if (why)
        *why = drv.why;
    return drv.devices > 0;
}
