/* The pool: workers sleep on a condition variable until a new loop is
 * posted (a generation count); thread t (the caller is 0) runs pieces t,
 * t + T, t + 2T...: the same pieces land on the same core run after run, so
 * a kernel's share of the weights stays in that core's cache. The last
 * piece done wakes the caller. A pool of one thread is a plain call. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct sf_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t *workers;
    int nworkers;
    unsigned long generation;
    bool stopping;
    /* the loop being run */
    sf_pool_fn fn;
    void *ctx;
    int64_t n, chunks;
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

/* runs thread t's pieces; true when this thread finished the last piece */
static bool take_pieces(sf_pool *p, int t)
{
    bool last = false;
    for (int64_t k = t; k < p->chunks; k += p->nworkers + 1) {
        int64_t lo = p->n * k / p->chunks, hi = p->n * (k + 1) / p->chunks;
        if (lo < hi)
            p->fn(p->ctx, lo, hi);
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
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stopping && p->generation == seen)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stopping)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        bool last = take_pieces(p, id);
        pthread_mutex_lock(&p->mu);
        if (last)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
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
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunks = chunks;
    atomic_store(&p->left, chunks);
    p->generation++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    take_pieces(p, 0);
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->left) > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void sf_pool_free(sf_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
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
