/* Internal to the runtime: the CUDA side of a model (docs/cuda-backend.md). */
#ifndef SF_CUDA_RUNTIME_H
#define SF_CUDA_RUNTIME_H

#include "cuda.h"
#include "package.h"

/* Whether a CUDA device can be used; when not, why, in a few words. */
bool sf_cuda_device_present(const char **why);

/* CUDA code made ahead of time for `targets` ("sm_80,sm_90"): the source,
 * CUBIN for each sm_XX named, and PTX for the newest of them (so that a
 * later GPU can still run it). Owns its bytes: sf_cuda_code_free. */
sf_status sf_cuda_build(const sf_graph *g, const char *targets, sf_pkg_cuda *out, sf_error *err);
/* A copy that owns its bytes (a package's view points into the file). */
sf_status sf_cuda_code_copy(const sf_pkg_cuda *from, sf_pkg_cuda *to, sf_error *err);
void sf_cuda_code_free(sf_pkg_cuda *c);

#endif
