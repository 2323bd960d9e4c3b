/* `sheaf bench`: latency, throughput and memory per batch size, with the
 * baselines (interpreter, -O0) timed in the same run. */
#ifndef SF_BENCH_H
#define SF_BENCH_H

#include <stdio.h>

#include "runtime/model.h"

typedef struct sf_bench_opts {
    const char *label;          /* the model, for the report */
    const int64_t *batches;
    int nbatches;
    double budget_s;            /* time per measurement (default 1 s) */
    const char *json;           /* write the figures here too (NULL: no) */
    FILE *out;
} sf_bench_opts;

/* m: the model as compiled (-O2 unless asked otherwise); o0: the same model
 * with no passes on the CPU backend, whose graph the interpreter also runs
 * as the "eager" baseline (NULL: no baselines, e.g. for a package). */
int sf_bench(sf_model *m, sf_model *o0, const sf_bench_opts *o, sf_error *err);

#endif
