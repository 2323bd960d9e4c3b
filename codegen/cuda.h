/* The CUDA backend's code generator: one CUDA C translation unit per model,
 * compiled by NVRTC (runtime/nvrtc.h) at run time or ahead of time
 * (docs/cuda-backend.md). Needs no GPU and no toolkit. */
#ifndef SF_CUDA_H
#define SF_CUDA_H

#include "ir/ir.h"

/* Kernel k of a source is `extern "C" __global__ void sheaf_k<k>(float
 * *const *args, long long B)`: args (in device memory) holds the node's
 * operands, then its results, each already offset by sf_kernel_arg_offset;
 * the kernel covers work items [0, sf_cuda_extent(n, B)) with a grid-stride
 * loop, so any grid size is correct. Nodes with the same
 * sf_kernel_signature share a kernel. */
typedef struct sf_cuda_source {
    char *text; /* NUL-terminated CUDA C */
    size_t len;
    int *kernel_of; /* node index -> kernel number; -1: no kernel (inputs, params, views) */
    size_t nnodes;
    int nkernels;
} sf_cuda_source;

#define SF_CUDA_BLOCK 256 /* threads per block every kernel is written for */

sf_status sf_cuda_emit(const sf_graph *g, sf_cuda_source *src, sf_error *err);
void sf_cuda_source_free(sf_cuda_source *src);
int64_t sf_cuda_extent(const sf_node *n, int64_t B);
/* Whether op has a CUDA kernel of its own (sources and views need none). */
bool sf_cuda_supports(sf_opcode op);

#endif
