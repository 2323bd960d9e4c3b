/* The pool: one loop at a time, split into pieces that threads claim.
 *
 * Why claiming: a busy machine deschedules threads. With a fixed piece per
 * thread the caller waited for a worker that had not even started (on a
 * 2-core machine with one core busy, ParallelFCN(1000) at batch 64 ran 10x
 * slower on 2 threads than on 1). Here thread t owns a contiguous range of
 * pieces (the same range run after run, so a kernel's share of the
 * weights stays in that core's cache) and claims them one at a time from
 * its own cursor; a thread that has finished its range claims from the
 * others'. The caller returns when every piece is done, so it never waits
 * for a thread that has no piece in hand: a worker that wakes late finds
 * nothing to claim.
 *
 * A loop is posted without a lock, as a sequence lock: the caller makes
 * the generation odd, writes the job and resets the cursors, then makes
 * it even. A worker copies the job and keeps the copy only if the
 * generation did not move meanwhile. Each cursor holds the job's tag (its
 * generation) beside the next index, and a claim is a compare-and-swap
 * that fails once the tag is another job's, so a worker holding a stale
 * copy claims nothing. Workers spin briefly after a job (waking a sleeping
 * thread costs tens of microseconds, more than a batch-1 kernel) and then
 * sleep on a condition variable, and a small job does not wake them (the
 * caller's futex call would cost more than the job: a spinning worker
 * still joins in, a sleeping one leaves its pieces to the caller); the caller spins briefly for pieces in
 * progress and then sleeps too. Sleeping is two-sided (the sleeper
 * announces itself and re-checks, the other side changes the count and
 * then looks for sleepers); with sequentially consistent atomics one of
 * them sees the other. A pool of one thread is a plain call. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "runtime/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Polls before sleeping, a few tens of microseconds: enough to catch the
 * next kernel of the same run, short enough that an idle worker gives a
 * shared core back quickly (measured by bench/busy_core.py) */
enum { SPIN = 1 << 11 };

typedef struct job { /* atomics: a worker's copy during a post is not a data race */
    _Atomic(sf_pool_fn) fn;
    _Atomic(void *) ctx;
    atomic_llong n, chunks;
} job;

typedef struct snapshot {
    sf_pool_fn fn;
    void *ctx;
    int64_t n, chunks;
    uint64_t tag;
} snapshot;

typedef struct cursor {
    _Alignas(64) atomic_ullong v; /* tag << 32 | next index in the owner's range; one line per thread */
} cursor;

struct sf_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t *workers;
    int nworkers;
    cursor *cursors; /* nworkers + 1 */
    _Alignas(64) job current;
    atomic_ulong generation; /* odd while the caller writes `current` */
    _Alignas(64) atomic_llong remaining; /* pieces of the current job not finished */
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

static int64_t range_start(const snapshot *j, int threads, int t) { return j->chunks * t / threads; }

/* the next unclaimed piece of thread t's range, or -1 */
static int64_t claim(sf_pool *p, const snapshot *j, int t)
{
    int threads = p->nworkers + 1;
    int64_t start = range_start(j, threads, t), len = range_start(j, threads, t + 1) - start;
    atomic_ullong *c = &p->cursors[t].v;
    unsigned long long v = atomic_load(c);
    for (;;) {
        if (v >> 32 != j->tag || (int64_t)(v & 0xffffffffu) >= len)
            return -1;
        if (atomic_compare_exchange_weak(c, &v, v + 1))
            return start + (int64_t)(v & 0xffffffffu);
    }
}

/* runs pieces of j, thread t's own range first, then what is left of the others' */
static void take_pieces(sf_pool *p, const snapshot *j, int t)
{
    int threads = p->nworkers + 1;
    for (int k = 0; k < threads; k++) {
        int owner = (t + k) % threads;
        for (int64_t piece; (piece = claim(p, j, owner)) >= 0;) {
            int64_t lo = j->n * piece / j->chunks, hi = j->n * (piece + 1) / j->chunks;
            if (lo < hi)
                j->fn(j->ctx, lo, hi);
            if (atomic_fetch_sub(&p->remaining, 1) == 1 && atomic_load(&p->caller_waits)) {
                pthread_mutex_lock(&p->mu);
                pthread_cond_signal(&p->done);
                pthread_mutex_unlock(&p->mu);
            }
        }
    }
}

static bool posted(sf_pool *p, unsigned long seen)
{
    unsigned long g = atomic_load(&p->generation);
    return (g != seen && !(g & 1)) || atomic_load(&p->stopping);
}

/* returns once a job other than `seen` is posted or the pool stops: spins, then sleeps */
static void wait_for_work(sf_pool *p, unsigned long seen)
{
    for (int i = 0; i < SPIN; i++) {
        if (posted(p, seen))
            return;
        relax();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (!posted(p, seen))
        pthread_cond_wait(&p->work, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
}

/* the job of generation g, or false where the caller moved on while it was read */
static bool copy_job(sf_pool *p, unsigned long g, snapshot *j)
{
    /* acquire loads: the generation is read again only after them */
    j->fn = atomic_load_explicit(&p->current.fn, memory_order_acquire);
    j->ctx = atomic_load_explicit(&p->current.ctx, memory_order_acquire);
    j->n = atomic_load_explicit(&p->current.n, memory_order_acquire);
    j->chunks = atomic_load_explicit(&p->current.chunks, memory_order_acquire);
    j->tag = (g >> 1) & 0xffffffffu;
    return atomic_load(&p->generation) == g;
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
        unsigned long g = atomic_load(&p->generation);
        snapshot j;
        if ((g & 1) || !copy_job(p, g, &j))
            continue; /* a post in progress, or one that replaced the job being read: look again */
        seen = g;
        take_pieces(p, &j, id);
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
    p->cursors = aligned_alloc(64, sizeof(cursor) * (size_t)(want + 1));
    if ((want && !p->workers) || !p->cursors) {
        sf_pool_free(p);
        return NULL;
    }
    for (int t = 0; t <= want; t++)
        atomic_init(&p->cursors[t].v, 0);
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

/* writes the job as generation g + 2 (odd while it is written); wakes sleeping workers only when asked */
static void post(sf_pool *p, snapshot *j, bool wake)
{
    unsigned long g = atomic_load(&p->generation);
    atomic_store(&p->generation, g + 1);
    /* release stores: a worker that reads a field of this job then sees the odd generation and drops
     * its copy (and a copy that mixes two jobs has the older tag, so its claims fail anyway) */
    atomic_store_explicit(&p->current.fn, j->fn, memory_order_release);
    atomic_store_explicit(&p->current.ctx, j->ctx, memory_order_release);
    atomic_store_explicit(&p->current.n, j->n, memory_order_release);
    atomic_store_explicit(&p->current.chunks, j->chunks, memory_order_release);
    j->tag = ((g + 2) >> 1) & 0xffffffffu;
    atomic_store(&p->remaining, j->chunks);
    for (int t = 0; t <= p->nworkers; t++)
        atomic_store(&p->cursors[t].v, (unsigned long long)j->tag << 32);
    atomic_store(&p->generation, g + 2);
    if (wake && atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
    }
}

void sf_pool_for(sf_pool *p, sf_pool_fn fn, void *ctx, int64_t n, int64_t chunks, bool wake)
{
    if (chunks > n)
        chunks = n;
    if (chunks > INT32_MAX)
        chunks = INT32_MAX; /* a cursor's index is 32 bits */
    if (p->nworkers == 0 || chunks <= 1) {
        if (n > 0)
            fn(ctx, 0, n);
        return;
    }
    snapshot j = {fn, ctx, n, chunks, 0};
    post(p, &j, wake);
    take_pieces(p, &j, 0);
    /* every piece is claimed now; wait only for those still running on a worker */
    for (int i = 0; i < SPIN && atomic_load(&p->remaining) > 0; i++)
        relax();
    if (atomic_load(&p->remaining) > 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_waits, true);
        while (atomic_load(&p->remaining) > 0)
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
    free(p->cursors);
    free(p);
}
