/* Internal to the CPU runtime: what a compiled model holds. */
#ifndef SF_CPU_MODEL_H
#define SF_CPU_MODEL_H

#include <llvm-c/LLJIT.h>

#include "codegen/plan.h"
#include "runtime/cpu.h"
#include "runtime/cpu_dnnl.h"
#include "runtime/pool.h"

typedef void (*sf_kernel_fn)(float **args, int64_t batch, int64_t lo, int64_t hi);

/* A view's pointer is its operand's: set in node order, after the arena's. */
typedef struct sf_cpu_view {
    int out, in; /* value ids */
} sf_cpu_view;

struct sf_cpu_model {
    LLVMOrcLLJITRef jit;
    sf_graph *g;             /* a private copy: the model outlives the caller's graph */
    sf_plan plan;            /* the kernels, their arguments and the memory plan (codegen/plan.h) */
    sf_kernel_fn *code;      /* by plan code: the compiled kernel */
    int *packs;              /* by plan argument (args_at order): node whose packed weight it is, or -1 */
    size_t *args_at;         /* by plan kernel: where its pointers begin in args */
    float **args;            /* every kernel's pointers for this run */
    int *placed;             /* value ids in the arena (rows or fixed), set once per run */
    size_t nplaced;
    sf_cpu_view *views;      /* in node order */
    size_t nviews;
    int threads;             /* wanted; the pool starts at the first run */
    sf_pool *pool;
    unsigned char *arena;    /* activations of the last run size, grown on demand */
    size_t arena_cap;
    float **bufs;            /* by value id: where each value lives this run */
    float **packed;          /* by node: its product weight packed for the kernel (NULL: none yet) */
    const float **packed_src;/* by node: what was packed */
    sf_dnnl_conv **dnnl;     /* by plan kernel: oneDNN's convolution where the plan says (NULL: generated code) */
    int *absorbed;           /* by plan kernel: how many kernels after it its oneDNN convolution runs (post-ops) */
    int *addend;             /* by plan kernel: which argument of the add kernel after it its post-op sum adds */
    sf_dnnl_scratch dnnl_scratch; /* their reordered activations */
    bool blocked_layouts;    /* some activations lie in oneDNN's blocked layouts between its convolutions */
    bool no_dnnl;            /* convolutions in generated code too (tests, comparisons) */
    bool no_blas;            /* large dense products in generated code too (tests, comparisons) */
    bool poison;             /* NaN in the arena and outputs before each run (sf_cpu_set_poison) */
    bool repack;             /* pack again on the next run: weights may have changed in place */
    void *object;            /* the kernels' object code (what a package stores) */
    size_t object_size;
};

/* oneDNN for the kernels the plan gives it, with epilogues and layouts
 * (cpu_lib.c); every oneDNN convolution back to plain NCHW activations. */
sf_status sf_cpu_start_libraries(sf_cpu_model *m, sf_error *err);
void sf_cpu_plain_layouts(sf_cpu_model *m);

#endif
