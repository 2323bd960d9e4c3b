/* Internal to the CPU runtime: what a compiled model holds. */
#ifndef SF_CPU_MODEL_H
#define SF_CPU_MODEL_H

#include <llvm-c/LLJIT.h>

#include "runtime/cpu.h"
#include "passes/memplan.h"
#include "runtime/pool.h"

typedef void (*sf_kernel_fn)(float **args, int64_t batch, int64_t lo, int64_t hi);

struct sf_cpu_model {
    LLVMOrcLLJITRef jit;
    sf_graph *g;             /* a private copy: the model outlives the caller's graph */
    sf_kernel_fn *kernels;   /* by node index; NULL: no code (leaf or view) */
    int nkernels;            /* distinct kernels: nodes with one signature share one */
    int *chain_prev;         /* by node: the previous node of its fused chain, or -1 */
    bool *absorbed;          /* by node: runs inside the chain kernel of a later node */
    float **args;            /* by node: its operands' then results' pointers, for this run */
    size_t *args_at;         /* by node: where its pointers begin in args */
    sf_memplan plan;         /* contiguous: only the reshape family aliases */
    int threads;             /* wanted; the pool starts at the first run */
    sf_pool *pool;
    unsigned char *arena;    /* activations of the last run size, grown on demand */
    size_t arena_cap;
    float **bufs;            /* by value id: where each value lives this run */
    float **packed;          /* by node: its product weight packed for the kernel (NULL: none yet) */
    const float **packed_src;/* by node: what was packed */
    bool no_blas;            /* large dense products in generated code too (tests, comparisons) */
    bool poison;             /* NaN in the arena and outputs before each run (sf_cpu_set_poison) */
    bool repack;             /* pack again on the next run: weights may have changed in place */
    void *object;            /* the kernels' object code (what a package stores) */
    size_t object_size;
};

#endif
