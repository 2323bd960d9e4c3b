/*
 * The CPU backend: each compute node of a graph becomes a function emitted
 * as LLVM IR through the LLVM C API, optimised with default<O3> for the
 * host CPU and compiled by ORC LLJIT. Views of the reshape family cost
 * nothing: their result is their operand's buffer.
 *
 * Supported today: elementwise ops (with broadcasting), scalar, linear,
 * grouped_linear, matmul, concat, slice, sum and mean; other ops are
 * refused by name (the interpreter still runs every graph).
 */
#ifndef SF_CPU_H
#define SF_CPU_H

#include "tensor.h"

typedef struct sf_cpu_model sf_cpu_model;

/* Whether this build has the CPU backend (LLVM found at configure time). */
bool sf_cpu_available(void);
/* Compiles a graph; the weights are read at run time, by name. */
sf_cpu_model *sf_cpu_compile(const sf_graph *g, sf_error *err);
sf_status sf_cpu_run(sf_cpu_model *m, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                     sf_tensor_set *out, sf_error *err);
void sf_cpu_free(sf_cpu_model *m);

#endif
