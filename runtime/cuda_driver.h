/* Internal to the runtime: the CUDA driver API entry points sheaf calls,
 * loaded with dlopen (runtime/cuda_driver.c), declared here with the
 * driver's documented C signatures so that building needs no toolkit. */
#ifndef SF_CUDA_DRIVER_H
#define SF_CUDA_DRIVER_H

#include <stddef.h>

#include "ir/base.h"

typedef int cu_result; /* CUDA_SUCCESS is 0 */
typedef int cu_device;
typedef unsigned long long cu_ptr;
typedef struct cu_ctx_st *cu_ctx;
typedef struct cu_mod_st *cu_module;
typedef struct cu_func_st *cu_function;
typedef struct cu_stream_st *cu_stream;
typedef struct cu_graph_st *cu_graph;
typedef struct cu_graph_exec_st *cu_graph_exec;

enum {
    CU_ATTR_SM_COUNT = 16,       /* CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT */
    CU_ATTR_CC_MAJOR = 75,       /* CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR */
    CU_ATTR_CC_MINOR = 76,       /* ..._MINOR */
    CU_POINTER_MEMORY_TYPE = 2,  /* CU_POINTER_ATTRIBUTE_MEMORY_TYPE */
    CU_MEMORY_DEVICE = 2,        /* CU_MEMORYTYPE_DEVICE */
    CU_STREAM_NONBLOCKING = 1,   /* CU_STREAM_NON_BLOCKING */
    CU_CAPTURE_THREAD_LOCAL = 1, /* CU_STREAM_CAPTURE_MODE_THREAD_LOCAL */
};

typedef struct sf_cu {
    cu_result (*DeviceGet)(cu_device *, int);
    cu_result (*DeviceGetAttribute)(int *, int, cu_device);
    cu_result (*DeviceGetName)(char *, int, cu_device);
    cu_result (*DevicePrimaryCtxRetain)(cu_ctx *, cu_device);
    cu_result (*DevicePrimaryCtxRelease)(cu_device);
    cu_result (*CtxSetCurrent)(cu_ctx);
    cu_result (*ModuleLoadData)(cu_module *, const void *);
    cu_result (*ModuleUnload)(cu_module);
    cu_result (*ModuleGetFunction)(cu_function *, cu_module, const char *);
    cu_result (*MemAlloc)(cu_ptr *, size_t);
    cu_result (*MemFree)(cu_ptr);
    cu_result (*MemcpyHtoDAsync)(cu_ptr, const void *, size_t, cu_stream);
    cu_result (*MemcpyDtoHAsync)(void *, cu_ptr, size_t, cu_stream);
    cu_result (*MemcpyDtoDAsync)(cu_ptr, cu_ptr, size_t, cu_stream);
    cu_result (*PointerGetAttribute)(void *, int, cu_ptr);
    cu_result (*StreamCreate)(cu_stream *, unsigned);
    cu_result (*StreamDestroy)(cu_stream);
    cu_result (*StreamSynchronize)(cu_stream);
    cu_result (*LaunchKernel)(cu_function, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                              cu_stream, void **, void **);
    cu_result (*StreamBeginCapture)(cu_stream, int);
    cu_result (*StreamEndCapture)(cu_stream, cu_graph *);
    cu_result (*GraphInstantiate)(cu_graph_exec *, cu_graph, unsigned long long);
    cu_result (*GraphLaunch)(cu_graph_exec, cu_stream);
    cu_result (*GraphExecDestroy)(cu_graph_exec);
    cu_result (*GraphDestroy)(cu_graph);
    cu_result (*GetErrorName)(cu_result, const char **);
} sf_cu;

/* The driver's entry points once cuInit succeeded and a device is there;
 * NULL otherwise (sf_cuda_device_present says why). */
const sf_cu *sf_cuda_driver(void);
/* An sf error for a failed driver call: "cuda backend: cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2)". */
sf_status sf_cu_fail(sf_error *err, const char *call, cu_result r);

#endif
