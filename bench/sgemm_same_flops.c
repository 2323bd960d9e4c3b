/* One OpenBLAS sgemm with the flops of ParallelFCN(1000)'s products as
 * written (per row, 1000 groups of 20 -> 10 -> 1: 210,000 multiply-adds),
 * for issue 16's mark "at least as fast as one OpenBLAS sgemm of the same
 * FLOPs". Two shapes, since "the same flops" does not fix one:
 *   wide:   [B, 20000] x [20000, 10] (2e5 multiply-adds a row, 95% of the
 *           model's): reads the same 20000 floats a row as the model does;
 *   square: [B, 458] x [458, 458] (209,764 a row): the flops alone, the
 *           operands cache-sized, so it runs near the machine's peak.
 * Build: cc -O2 bench/sgemm_same_flops.c -o sgemm_same_flops -lopenblas
 * Run:   OPENBLAS_NUM_THREADS=2 ./sgemm_same_flops 4096 15
 * Prints min and median of the runs (one warm-up first) and GFLOP/s of the
 * median (2 per multiply-add). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

static float *filled(size_t n, int mod)
{
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (float)(i % (size_t)mod) / (float)mod - 0.5f;
    return p;
}

/* C [m, n] = A [m, k] B^T (B [n, k], as a linear layer's weight) */
static int time_sgemm(const char *name, int m, int k, int n, int reps)
{
    float *a = filled((size_t)m * k, 97), *b = filled((size_t)n * k, 13), *c = malloc(sizeof(float) * (size_t)m * n);
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!a || !b || !c || !t) {
        fprintf(stderr, "sgemm_same_flops: out of memory\n");
        return 1;
    }
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
        if (r >= 0)
            t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double flops = 2.0 * m * k * n;
    printf("sgemm %s [%d, %d] x [%d, %d]: %.3g GFLOP, min %.2f ms, median %.2f ms, %.1f GFLOP/s, c[0] = %g\n", name, m,
           k, k, n, flops * 1e-9, t[0] * 1e3, t[reps / 2] * 1e3, flops / t[reps / 2] * 1e-9, c[0]);
    free(a), free(b), free(c), free(t);
    return 0;
}

int main(int argc, char **argv)
{
    int B = argc > 1 ? atoi(argv[1]) : 4096, reps = argc > 2 ? atoi(argv[2]) : 15;
    if (B < 1 || reps < 1) {
        fprintf(stderr, "usage: sgemm_same_flops [BATCH [REPS]]\n");
        return 2;
    }
    return time_sgemm("wide", B, 20000, 10, reps) || time_sgemm("square", B, 458, 458, reps);
}
