/* Where a model's tensors live in device memory and what the forward
 * launches, for one batch size: everything the CUDA executor needs that
 * is not a driver call. Kept apart from the driver so that it can be
 * checked without a GPU (tests/cuda_host.c runs the generated kernels on
 * the host through the same plan). */
#ifndef SF_CUDA_PLAN_H
#define SF_CUDA_PLAN_H

#include "codegen/cuda.h"
#include "passes/memplan.h"

/* Device memory comes in two allocations: the weights, uploaded once per
 * model, and the batch region (inputs, activations, the kernels' argument
 * table), sized per batch. */
typedef enum sf_cuda_region { SF_CUDA_WEIGHTS, SF_CUDA_BATCH } sf_cuda_region;

/* a device address before the regions are allocated */
typedef struct sf_cuda_ref {
    sf_cuda_region region;
    size_t offset; /* bytes into the region */
} sf_cuda_ref;

typedef struct sf_cuda_launch {
    int node;         /* index in the graph's nodes: the plan kernel's first */
    int kernel;       /* sheaf_k<kernel>: the plan kernel's code */
    unsigned grid;    /* blocks of SF_CUDA_BLOCK threads */
    size_t args;      /* index of its first pointer in the table */
} sf_cuda_launch;

typedef struct sf_cuda_plan {
    const sf_graph *g;
    const sf_plan *kp;     /* the source's kernel plan */
    const sf_memplan *mem; /* its memory plan, the CPU backend's too */
    size_t weights_bytes;  /* the weights region */
    size_t *param_at;      /* by g->params index: offset in the weights region */
    /* for `batch` (sf_cuda_plan_batch) */
    int64_t batch;
    size_t batch_bytes;    /* the batch region, the table included */
    sf_cuda_ref *value_at; /* by value id; views share their operand's address */
    size_t table_at;       /* the argument table's offset in the batch region */
    size_t ntable;
    sf_cuda_ref *table;    /* what each of its pointers points to */
    sf_cuda_launch *launch;
    size_t nlaunch;
} sf_cuda_plan;

/* The batch-independent part for src's kernels (src outlives p): the
 * weights' places. */
sf_status sf_cuda_plan_build(const sf_cuda_source *src, sf_cuda_plan *p, sf_error *err);
/* Places inputs, activations and the table for `batch` and lists the
 * launches of src's kernels in the plan's order, none with more than
 * max_grid blocks (the kernels are grid-stride loops, so any grid is
 * correct). src must be the one p was built for. */
sf_status sf_cuda_plan_batch(sf_cuda_plan *p, const sf_cuda_source *src, int64_t batch, unsigned max_grid,
                             sf_error *err);
void sf_cuda_plan_free(sf_cuda_plan *p);

/* Every value, its address from the regions' bases: for the table's
 * pointers, resolved once the regions are allocated. */
static inline uint64_t sf_cuda_resolve(sf_cuda_ref r, uint64_t weights, uint64_t batch)
{
    return (r.region == SF_CUDA_WEIGHTS ? weights : batch) + r.offset;
}

#endif
