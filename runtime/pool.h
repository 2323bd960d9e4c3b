/* A fixed pool of worker threads that share one loop at a time. */
#ifndef SF_POOL_H
#define SF_POOL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sf_pool sf_pool;
typedef void (*sf_pool_fn)(void *ctx, int64_t lo, int64_t hi);

/* The threads this process may run on (its CPU affinity), at least 1. */
int sf_pool_cpus(void);
/* A pool of `threads` (the caller counts as one); NULL when out of memory or
 * threads cannot be started. */
sf_pool *sf_pool_new(int threads);
int sf_pool_threads(const sf_pool *p);
/* Runs fn over [0, n) in `chunks` contiguous pieces (at most n) on the pool's
 * threads and the caller's: thread t owns the t-th of `threads` equal ranges
 * of pieces and runs them unless another thread, done with its own, claims
 * them first; returns when every piece is done, waiting only for pieces in
 * progress. `wake`: the job is worth waking a sleeping worker for (tens of
 * microseconds); otherwise only workers still polling join in. One caller
 * at a time. */
void sf_pool_for(sf_pool *p, sf_pool_fn fn, void *ctx, int64_t n, int64_t chunks, bool wake);
void sf_pool_free(sf_pool *p);

#endif
