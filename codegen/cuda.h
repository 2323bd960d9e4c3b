/* The CUDA backend's code generator: one CUDA C translation unit per model,
 * compiled by NVRTC (runtime/nvrtc.h) at run time or ahead of time
 * (docs/cuda-backend.md). Needs no GPU and no toolkit. */
#ifndef SF_CUDA_H
#define SF_CUDA_H

#include "codegen/plan.h"

/* The source holds one kernel per code of the kernel plan (codegen/plan.h):
 * kernel c is `extern "C" __global__ void sheaf_k<c>(float *const *args,
 * long long B)`, and args (in device memory) are the plan kernel's
 * arguments, each already offset as the plan says; the kernel covers work
 * items [0, sf_cuda_kernel_extent(plan, kernel, B)) with a grid-stride
 * loop, so any grid size is correct. */
typedef struct sf_cuda_source {
    char *text; /* NUL-terminated CUDA C */
    size_t len;
    sf_plan plan; /* what the source was made from: plan.kernels[i].code is its kernel */
    int nkernels; /* = plan.ncodes */
} sf_cuda_source;

#define SF_CUDA_BLOCK 256 /* threads per block every kernel is written for */

sf_status sf_cuda_emit(const sf_graph *g, sf_cuda_source *src, sf_error *err);
/* The same from a plan made already (a model's; the source keeps a copy). */
sf_status sf_cuda_emit_plan(const sf_plan *plan, sf_cuda_source *src, sf_error *err);
void sf_cuda_source_free(sf_cuda_source *src);
int64_t sf_cuda_extent(const sf_node *n, int64_t B);
int64_t sf_cuda_kernel_extent(const sf_plan *p, const sf_plan_kernel *k, int64_t B);
/* Whether op has a CUDA kernel of its own (sources and views need none). */
bool sf_cuda_supports(sf_opcode op);

#endif
