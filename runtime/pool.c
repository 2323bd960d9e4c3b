/* The pool. A loop is posted without a lock: the job is written, then the
 * generation count is bumped (release); workers spin on the count for a
 * while after each job and then sleep on a condition variable (waking a
 * sleeping thread costs tens of microseconds, more than a batch-1 kernel).
 * No lock on the fast path: a worker that found the mutex taken would
 * sleep in the kernel, which cost 1.2 us per loop when posting held it.
 * Every worker, pieces or not, counts itself off `pending` after copying
 * the job and running its pieces, and the caller returns only when pending
 * is 0, so no worker still reads a job when the next one is written.
 * Sleeping is two-sided (a worker waiting for work, the caller waiting for
 * workers): the sleeper announces itself and re-checks, the other side
 * changes the count and then looks for sleepers; with sequentially
 * consistent atomics one of them sees the other. Thread t (the caller is
 * 0) runs pieces t, t + T, t + 2T...: the same pieces land on the same
 * core run after run, so a kernel's share of the weights stays in that
 * core's cache. A pool of one thread is a plain call. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "runtime/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum { SPIN = 1 << 14 }; /* polls before sleeping: a few hundred microseconds */

typedef struct job {
    sf_pool_fn fn;
    void *ctx;
    int64_t n, chunks;
} job;

struct sf_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t *workers;
    int nworkers;
    /* what a post writes and a worker reads, in one cache line: one transfer between cores */
    _Alignas(64) job current; /* written only while no worker reads it */
    atomic_ulong generation;  /* bumped after `current` is written */
    atomic_int pending;       /* workers not finished with the current job */
    atomic_int sleepers;      /* workers waiting on `work` */
    atomic_bool caller_waits; /* the caller waits on `done` */
    atomic_bool stopping;
};

int sf_pool_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* runs thread t's pieces of j */
static void take_pieces(sf_pool *p, const job *j, int t)
{
    for (int64_t k = t; k < j->chunks; k += p->nworkers + 1) {
        int64_t lo = j->n * k / j->chunks, hi = j->n * (k + 1) / j->chunks;
        if (lo < hi)
            j->fn(j->ctx, lo, hi);
    }
}

/* returns once the generation moved past `seen` or the pool stops: spins, then sleeps */
static void wait_for_work(sf_pool *p, unsigned long seen)
{
    for (int i = 0; i < SPIN; i++) {
        if (atomic_load(&p->generation) != seen || atomic_load(&p->stopping))
            return;
        relax();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (atomic_load(&p->generation) == seen && !atomic_load(&p->stopping))
        pthread_cond_wait(&p->work, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
}

typedef struct worker_arg {
    sf_pool *pool;
    int id;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    sf_pool *p = wa->pool;
    int id = wa->id;
    free(wa);
    unsigned long seen = 0;
    for (;;) {
        wait_for_work(p, seen);
        if (atomic_load(&p->stopping))
            return NULL;
        seen = atomic_load(&p->generation);
        job j = p->current;
        take_pieces(p, &j, id);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_waits)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

sf_pool *sf_pool_new(int threads)
{
    sf_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    int want = threads > 1 ? threads - 1 : 0;
    p->workers = want ? calloc((size_t)want, sizeof *p->workers) : NULL;
    if (want && !p->workers) {
        sf_pool_free(p);
        return NULL;
    }
    while (p->nworkers < want) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa)
            *wa = (worker_arg){p, p->nworkers + 1};
        if (!wa || pthread_create(&p->workers[p->nworkers], NULL, worker, wa) != 0) {
            free(wa);
            sf_pool_free(p);
            return NULL;
        }
        p->nworkers++;
    }
    return p;
}

int sf_pool_threads(const sf_pool *p) { return p->nworkers + 1; }

void sf_pool_for(sf_pool *p, sf_pool_fn fn, void *ctx, int64_t n, int64_t chunks)
{
    if (chunks > n)
        chunks = n;
    if (p->nworkers == 0 || chunks <= 1) {
        if (n > 0)
            fn(ctx, 0, n);
        return;
    }
    job j = {fn, ctx, n, chunks};
    p->current = j;
    atomic_store(&p->pending, p->nworkers);
    atomic_fetch_add(&p->generation, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
    }
    take_pieces(p, &j, 0);
    for (int i = 0; i < SPIN && atomic_load(&p->pending) > 0; i++)
        relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_waits, true);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->caller_waits, false);
        pthread_mutex_unlock(&p->mu);
    }
}

void sf_pool_free(sf_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}
