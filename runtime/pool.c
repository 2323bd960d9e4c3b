/* The pool. A loop is posted by writing the job and bumping a generation
 * count under the mutex; workers spin on the count for a while after each
 * job (waking a sleeping thread costs tens of microseconds, more than a
 * batch-1 kernel) and then sleep on a condition variable. A worker copies
 * the job under the mutex, so it never mixes two jobs' fields; thread t
 * (the caller is 0) runs pieces t, t + T, t + 2T...: the same pieces land
 * on the same core run after run, so a kernel's share of the weights stays
 * in that core's cache. A pool of one thread is a plain call. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "pool.h"

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
    atomic_ulong generation;
    atomic_bool stopping;
    job current;         /* written and read under mu */
    atomic_llong left;   /* pieces not finished */
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

/* runs thread t's pieces of j; true when this thread finished the job's last piece */
static bool take_pieces(sf_pool *p, const job *j, int t)
{
    bool last = false;
    for (int64_t k = t; k < j->chunks; k += p->nworkers + 1) {
        int64_t lo = j->n * k / j->chunks, hi = j->n * (k + 1) / j->chunks;
        if (lo < hi)
            j->fn(j->ctx, lo, hi);
        last = atomic_fetch_sub(&p->left, 1) == 1;
    }
    return last;
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
        for (int i = 0; i < SPIN && atomic_load(&p->generation) == seen && !atomic_load(&p->stopping); i++)
            relax();
        pthread_mutex_lock(&p->mu);
        while (!atomic_load(&p->stopping) && atomic_load(&p->generation) == seen)
            pthread_cond_wait(&p->work, &p->mu);
        if (atomic_load(&p->stopping)) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load(&p->generation);
        job j = p->current;
        pthread_mutex_unlock(&p->mu);
        if (take_pieces(p, &j, id)) {
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
    pthread_mutex_lock(&p->mu);
    p->current = j;
    atomic_store(&p->left, chunks);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    take_pieces(p, &j, 0);
    for (int i = 0; i < SPIN && atomic_load(&p->left) > 0; i++)
        relax();
    if (atomic_load(&p->left) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->left) > 0)
            pthread_cond_wait(&p->done, &p->mu);
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
