/* What the stand-in CUDA driver (tests/fake_cuda.c) counts. */
#ifndef SF_FAKE_CUDA_H
#define SF_FAKE_CUDA_H

#include <stdbool.h>

typedef struct fake_cuda_stats {
    int loaded_cubin, loaded_ptx; /* cuModuleLoadData by image kind */
    int allocations;              /* live cuMemAlloc blocks */
    int captures;                 /* stream captures ended */
    int graph_launches;
    int kernels_run;
    int device_copies;            /* cuMemcpyDtoD */
} fake_cuda_stats;

fake_cuda_stats *fake_cuda_get_stats(void);

#endif
