/* Internal to the runtime: the CUDA side of a model (docs/cuda-backend.md). */
#ifndef SF_CUDA_RUNTIME_H
#define SF_CUDA_RUNTIME_H

#include "codegen/cuda.h"
#include "runtime/package.h"

/* Whether a CUDA device can be used; when not, why, in a few words. */
bool sf_cuda_device_present(const char **why);

/* CUDA code for plan's kernels made ahead of time for `targets`
 * ("sm_80,sm_90"): the source, CUBIN for each sm_XX named, and PTX for the
 * newest of them (so that a later GPU can still run it). Owns its bytes:
 * sf_cuda_code_free. */
sf_status sf_cuda_build(const sf_plan *plan, const char *targets, bool use_cache, sf_pkg_cuda *out, int *cache_hits,
                        sf_error *err);
/* A copy that owns its bytes (a package's view points into the file). */
sf_status sf_cuda_code_copy(const sf_pkg_cuda *from, sf_pkg_cuda *to, sf_error *err);
void sf_cuda_code_free(sf_pkg_cuda *c);

/* A model on the GPU (runtime/cuda_exec.c): the kernels of plan (the
 * model's; plan->g must outlive it) loaded (the package's CUBIN or PTX
 * when aot holds code for this graph and device, else NVRTC through the
 * cache), its weights uploaded. NULL with err set where the driver, NVRTC
 * or memory fails. */
typedef struct sf_cuda_model sf_cuda_model;
sf_cuda_model *sf_cuda_model_new(const sf_plan *plan, const float *const *params, const sf_pkg_cuda *aot,
                                 bool use_cache, sf_error *err);
/* One forward; inputs and outputs each in host or device memory (told
 * apart by cuPointerGetAttribute). Replays the batch's CUDA graph. */
sf_status sf_cuda_exec(sf_cuda_model *cm, int64_t batch, const float *const *inputs, float *const *outputs,
                       sf_error *err);
void sf_cuda_model_free(sf_cuda_model *cm);
/* "NVIDIA H100 (sm_90): CUBIN for sm_90 from the package" */
const char *sf_cuda_model_describe(const sf_cuda_model *cm);
/* kernel launches per forward (the same at every batch) */
size_t sf_cuda_model_launches(const sf_cuda_model *cm);

#endif
