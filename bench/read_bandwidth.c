/* This machine's memory read bandwidth: T threads each sum their share of
 * one buffer of N bytes (16 independent float sums, so the adds do not set
 * the pace), best of 10 runs. For kernels bound by reading their input:
 * ParallelFCN(1000) at batch 4096 reads 328 MB to do 164 MFLOP after its
 * compose pass. Build: cc -O3 -march=native -pthread read_bandwidth.c -o
 * read_bandwidth; run: ./read_bandwidth BYTES THREADS. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { MAX_THREADS = 64, RUNS = 10, LANES = 16 };

static float *buf;
static size_t count;
static int threads;
static volatile float sink[MAX_THREADS];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *sum_share(void *arg)
{
    long id = (long)arg;
    size_t lo = count * (size_t)id / (size_t)threads, hi = count * (size_t)(id + 1) / (size_t)threads;
    float s[LANES] = {0};
    for (size_t i = lo; i + LANES <= hi; i += LANES)
        for (int j = 0; j < LANES; j++)
            s[j] += buf[i + j];
    float total = 0;
    for (int j = 0; j < LANES; j++)
        total += s[j];
    sink[id] = total;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: read_bandwidth BYTES THREADS\n");
        return 2;
    }
    count = (size_t)atoll(argv[1]) / sizeof(float);
    threads = atoi(argv[2]);
    if (count < LANES || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "read_bandwidth: BYTES must be at least 64, THREADS from 1 to %d\n", MAX_THREADS);
        return 2;
    }
    buf = malloc(count * sizeof(float));
    if (!buf) {
        fprintf(stderr, "read_bandwidth: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < count; i++)
        buf[i] = 1; /* touched: the pages exist before the clock starts */
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        pthread_t th[MAX_THREADS];
        double t0 = now();
        for (long i = 0; i < threads; i++)
            pthread_create(&th[i], NULL, sum_share, (void *)i);
        for (int i = 0; i < threads; i++)
            pthread_join(th[i], NULL);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("%d threads: %.1f GB/s (%.2f ms for %.0f MB)\n", threads, (double)count * sizeof(float) / best / 1e9,
           best * 1e3, (double)count * sizeof(float) / 1e6);
    free(buf);
    return 0;
}
