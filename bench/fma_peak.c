/* This machine's single-precision FMA peak: 10 independent chains of
 * fused multiply-adds per thread in named registers (enough to cover the
 * latency of two FMA pipes; an array would stay in memory), on 1..N
 * threads. Check the loop with -S: ten vfmadd, no loads. Build: cc -O2
 * -mavx2 -mfma -pthread fma_peak.c -o fma_peak (8 lanes, ymm), or with
 * -mavx512f for 16 lanes (zmm). Prints GFLOP/s (a multiply-add counts 2). */
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

/* 8-wide AVX2 by default; built with -mavx512f, 16-wide AVX-512 (oneDNN
 * uses it: ResNetLike(3, 3, 64) ran at 330 GFLOP/s at batch 64, past the AVX2
 * peak of this machine) */
#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define FIRST(v) _mm512_cvtss_f32(v)
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define FIRST(v) _mm256_cvtss_f32(v)
#endif

static void *spin(void *arg)
{
    float *sink = arg;
    vec b = SET1(0.999999f), c = SET1(1e-7f);
    vec a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4);
    vec a5 = SET1(5), a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9);
    for (long n = 0; n < ITERS; n++) {
        a0 = FMA(a0, b, c), a1 = FMA(a1, b, c), a2 = FMA(a2, b, c), a3 = FMA(a3, b, c), a4 = FMA(a4, b, c);
        a5 = FMA(a5, b, c), a6 = FMA(a6, b, c), a7 = FMA(a7, b, c), a8 = FMA(a8, b, c), a9 = FMA(a9, b, c);
    }
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    *sink = FIRST(ADD(s, ADD(a8, a9)));
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
        double s = now() - t0, flops = 2.0 * LANES * 10 * (double)ITERS * t;
        printf("fma peak, %d lanes: %d thread(s): %.1f GFLOP/s (%.2f s)\n", LANES, t, flops / s * 1e-9, s);
    }
    return 0;
}
