/* The CUDA backend's elementwise maps: each unary op's device function,
 * its name and its definition in one row (codegen/cuda_unary.c). */
#ifndef SF_CUDA_UNARY_H
#define SF_CUDA_UNARY_H

#include <stdio.h>

#include "ir/ir.h"

/* The device function a unary op calls as f(x, its float attributes in
 * ops.def's order); NULL for an op of another class. */
const char *sf_cuda_unary_fn(sf_opcode op);
/* Every definition, for the source's prelude. */
void sf_cuda_put_unary_defs(FILE *f);

#endif
