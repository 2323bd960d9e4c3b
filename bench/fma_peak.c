/* This machine's single-precision FMA peak: 10 independent chains of
 * 8-wide fused multiply-adds per thread in named registers (enough to
 * cover the latency of two FMA pipes; an array would stay in memory), on
 * 1..N threads. Check the loop with -S: ten vfmadd on ymm, no loads. Build: cc -O2 -mavx2 -mfma -pthread
 * fma_peak.c -o fma_peak. Prints GFLOP/s (a multiply-add counts 2). */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ITERS = 100000000 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *spin(void *arg)
{
    float *sink = arg;
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
    __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
    __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9);
    for (long n = 0; n < ITERS; n++) {
        a0 = _mm256_fmadd_ps(a0, b, c), a1 = _mm256_fmadd_ps(a1, b, c), a2 = _mm256_fmadd_ps(a2, b, c);
        a3 = _mm256_fmadd_ps(a3, b, c), a4 = _mm256_fmadd_ps(a4, b, c), a5 = _mm256_fmadd_ps(a5, b, c);
        a6 = _mm256_fmadd_ps(a6, b, c), a7 = _mm256_fmadd_ps(a7, b, c), a8 = _mm256_fmadd_ps(a8, b, c);
        a9 = _mm256_fmadd_ps(a9, b, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    *sink = _mm256_cvtss_f32(_mm256_add_ps(s, _mm256_add_ps(a8, a9)));
    return NULL;
}

int main(int argc, char **argv)
{
    int max = argc > 1 ? atoi(argv[1]) : 2;
    for (int t = 1; t <= max; t++) {
        pthread_t th[64];
        float sink[64];
        double t0 = now();
        for (int i = 0; i < t; i++)
            pthread_create(&th[i], NULL, spin, &sink[i]);
        for (int i = 0; i < t; i++)
            pthread_join(th[i], NULL);
        double s = now() - t0, flops = 2.0 * 8 * 10 * (double)ITERS * t;
        printf("fma peak: %d thread(s): %.1f GFLOP/s (%.2f s)\n", t, flops / s * 1e-9, s);
    }
    return 0;
}
