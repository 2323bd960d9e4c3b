/* The CUDA backend's code generator and NVRTC: one CUDA C translation unit
 * per model, compiled at run time or ahead of time (docs/cuda-backend.md).
 * Neither needs a GPU: NVRTC is loaded with dlopen and compiles for any
 * architecture it knows. */
#ifndef SF_CUDA_H
#define SF_CUDA_H

#include "ir.h"

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

/* ---- NVRTC (runtime/nvrtc.c), loaded on first use ---- */

/* Whether NVRTC could be loaded; when not, why (a static string) in *why. */
bool sf_nvrtc_available(const char **why);
/* NVRTC's version as major * 1000 + minor * 10, 0 when unavailable. */
int sf_nvrtc_version(void);
/* Compiles src for arch (e.g. 90 for sm_90): CUBIN when cubin is true, else
 * PTX for compute_<arch>. *out is malloc'd; *log (malloc'd, may be empty)
 * holds NVRTC's messages, warnings included, on success and failure. */
sf_status sf_nvrtc_compile(const char *src, int arch, bool cubin, unsigned char **out, size_t *out_len, char **log,
                           sf_error *err);

/* The options sf_nvrtc_compile passes for (arch, cubin), space-separated:
 * what the on-disk cache keys on. */
void sf_nvrtc_options(int arch, bool cubin, char *out, size_t cap);

#endif
