/* The interpreter's kernels: one per op of ops.def (a missing one fails to
 * link). Outputs arrive allocated with their concrete shapes. */
#ifndef SF_INTERP_KERNELS_H
#define SF_INTERP_KERNELS_H

#include "ir/tensor.h"

typedef sf_status (*sf_kernel_fn)(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out,
                                  sf_error *err);

#define OP(id, ...) sf_status sf_k_##id(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err);
#include "ir/ops.def"
#undef OP

/* Row-major strides of a tensor. */
void sf_strides(const sf_tensor *t, int64_t *st);
/* Product of dims [from, to). */
int64_t sf_dims_prod(const sf_tensor *t, int from, int to);

#endif
