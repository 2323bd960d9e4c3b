/* The generated CUDA C run on the host, for checking its numerics where
 * there is no GPU (tests/cuda_host.c). */
#ifndef SF_CUDA_HOST_H
#define SF_CUDA_HOST_H

#include "ir/ir.h"
#include "ir/tensor.h"

/* Whether a host C++ compiler is there ($SF_HOST_CXX, else c++); when not, why. */
bool cuda_host_available(const char **why);

/* Runs g's CUDA C at `batch`: the translation unit sf_cuda_emit writes,
 * compiled by the host C++ compiler with a prelude standing in for
 * blockIdx and friends, launched block by block and thread by thread in
 * the order and with the grids and argument table the CUDA executor's
 * plan gives (no grid above max_grid, so that small values exercise the
 * grid-stride loops). Outputs are named as sf_interp_run names them.
 * NULL on success, else what went wrong (malloc'd). */
char *cuda_host_run(const sf_graph *g, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                    unsigned max_grid, sf_tensor_set *out);

/* g's CUDA C built for the host as a shared object, for the stand-in
 * driver (tests/fake_cuda.c) to load as the model's module: its path in
 * so_path. NULL on success, else what went wrong (malloc'd).
 * cuda_host_remove deletes it and its directory. */
char *cuda_host_build_so(const sf_graph *g, char *so_path, size_t cap);
void cuda_host_remove(const char *so_path);

#endif
