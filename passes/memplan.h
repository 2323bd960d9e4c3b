/* Memory planning: where each value of a graph lives at run time. */
#ifndef SF_MEMPLAN_H
#define SF_MEMPLAN_H

#include "ir/ir.h"

typedef enum sf_home {
    SF_HOME_NONE,   /* inputs and parameters: owned by the caller */
    SF_HOME_ROWS,   /* in the per-row arena: offset and size scale with the batch */
    SF_HOME_FIXED,  /* in the fixed arena: no batch dim */
    SF_HOME_VIEW,   /* aliases another value (reshape, slice, split, transpose...) */
    SF_HOME_SLOT,   /* written straight into its slot of a concatenation (alias_of: the concat) */
} sf_home;

typedef struct sf_memplan {
    size_t nvalues;
    sf_home *home;       /* by value id */
    size_t *offset;      /* ROWS: bytes per batch row; FIXED: bytes */
    int *alias_of;       /* VIEW, SLOT: the value id it aliases (transitively, a buffer) */
    int64_t *slot_start; /* SLOT: where along the concat dim the slot begins */
    size_t row_bytes;    /* peak of the per-row arena: bytes per batch row */
    size_t fixed_bytes;  /* peak of the fixed arena */
    size_t naive_row_bytes; /* every value in its own buffer, for comparison */
    int inplace;         /* values written over an operand that died there */
    int slots;           /* values written into their slot of a concat */
    bool contiguous;     /* planned with SF_PLAN_CONTIGUOUS */
} sf_memplan;

sf_status sf_memplan_build(const sf_graph *g, sf_memplan *p, sf_error *err);
/* For backends whose kernels need contiguous operands and results: only the
 * reshape family aliases; slices, splits, transposes and concat operands get
 * buffers of their own. */
#define SF_PLAN_CONTIGUOUS 1u
/* unstored (by value id, may be NULL): values a backend keeps on chip inside
 * a fused kernel; they get no memory (home NONE). */
sf_status sf_memplan_build_for(const sf_graph *g, unsigned flags, const bool *unstored, sf_memplan *p,
                               sf_error *err);
void sf_memplan_free(sf_memplan *p);
/* A value's bytes in the plan: per batch row when it has the batch dim, else in all. */
size_t sf_memplan_value_bytes(const sf_value *v);
/* Op counts, parameters and the plan's peaks as '#' comment lines. */
sf_status sf_print_stats(const sf_graph *g, FILE *out, sf_error *err);

#endif
