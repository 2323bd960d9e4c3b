/* The clock and the sort the standalone benchmarks of this directory share
 * (each is built alone with one cc command, so this is a header). */
#ifndef SF_BENCH_TIMING_H
#define SF_BENCH_TIMING_H

#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* for qsort over doubles, ascending */
static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
