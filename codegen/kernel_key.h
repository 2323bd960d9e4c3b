/* What every backend's kernels agree on, with no backend's toolchain:
 * when two nodes may share one kernel, and what the executor adds to an
 * operand's pointer so that they can. */
#ifndef SF_KERNEL_KEY_H
#define SF_KERNEL_KEY_H

#include "ir/ir.h"

/* Elements to add to operand k's pointer before the call: a slice's kernel
 * reads from its start, so one kernel serves every start. */
int64_t sf_kernel_arg_offset(const sf_node *n, int k, int64_t B);
/* The key under which nodes share a kernel (sf_node_signature, less what
 * sf_kernel_arg_offset accounts for); malloc'd, NULL when out of memory. */
char *sf_kernel_signature(const sf_node *n);
/* product of a type's dims [from, to) at batch B */
int64_t sf_dims_at(const sf_type *t, int from, int to, int64_t B);

#endif
