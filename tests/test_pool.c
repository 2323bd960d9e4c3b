/* The pool (runtime/pool.c): every index of every loop runs exactly once,
 * whatever the threads, pieces and sizes; a thread done with its own range
 * runs the pieces another thread has not claimed, so a worker that stalls
 * (descheduled on a busy machine) holds up only the piece it has in hand. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* rand_r, nanosleep, clock_gettime when built alone (the ThreadSanitizer run) */
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/pool.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

typedef struct count {
    atomic_int *hits;
    atomic_llong calls;
} count;

static void mark(void *ctx, int64_t lo, int64_t hi)
{
    count *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    for (int64_t i = lo; i < hi; i++)
        atomic_fetch_add(&c->hits[i], 1);
}

static void test_every_index_once(void **state)
{
    (void)state;
    enum { MAXN = 1000 };
    atomic_int *hits = calloc(MAXN, sizeof *hits);
    unsigned seed = 7;
    assert_true(sf_pool_cpus() >= 1);
    for (int threads = 1; threads <= 4; threads++) {
        sf_pool *p = sf_pool_new(threads);
        assert_non_null(p);
        assert_int_equal(sf_pool_threads(p), threads);
        for (int round = 0; round < 3000; round++) {
            int64_t n = rand_r(&seed) % MAXN, chunks = 1 + rand_r(&seed) % 40;
            if (round % 7 == 0)
                chunks = n + 5; /* more pieces than indices */
            for (int64_t i = 0; i < n; i++)
                atomic_store(&hits[i], 0);
            count c = {hits, 0};
            sf_pool_for(p, mark, &c, n, chunks, round % 3 != 0);
            for (int64_t i = 0; i < n; i++)
                if (atomic_load(&hits[i]) != 1)
                    fail_msg("threads %d, n %lld, chunks %lld: index %lld ran %d times", threads, (long long)n,
                             (long long)chunks, (long long)i, atomic_load(&hits[i]));
            int64_t pieces = chunks < n ? chunks : n;
            assert_true(atomic_load(&c.calls) <= pieces);
        }
        sf_pool_free(p);
    }
    free(hits);
}

/* 8 pieces on 2 threads: the worker owns pieces 4..7. The first piece a
 * worker takes blocks until 7 pieces are done, which happens only if the
 * caller runs the rest of the worker's range too. */
typedef struct stall {
    pthread_t caller;
    atomic_int done, caller_ran, worker_blocked;
    atomic_bool release;
} stall;

static void stall_piece(void *ctx, int64_t lo, int64_t hi)
{
    (void)lo, (void)hi;
    stall *s = ctx;
    if (!pthread_equal(pthread_self(), s->caller) && atomic_exchange(&s->worker_blocked, 1) == 0)
        while (!atomic_load(&s->release)) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    else if (pthread_equal(pthread_self(), s->caller))
        atomic_fetch_add(&s->caller_ran, 1);
    atomic_fetch_add(&s->done, 1);
}

static void *releaser(void *arg)
{
    stall *s = arg;
    struct timespec t0, now, ts = {0, 100000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        /* every piece but the one the worker holds: the caller took the worker's other pieces */
        if (atomic_load(&s->done) >= 8 - atomic_load(&s->worker_blocked))
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 10)
            break; /* the test fails below; let the pool finish */
        nanosleep(&ts, NULL);
    }
    atomic_store(&s->release, true);
    return NULL;
}

static void test_a_stalled_worker_holds_up_only_its_piece(void **state)
{
    (void)state;
    sf_pool *p = sf_pool_new(2);
    assert_non_null(p);
    for (int round = 0; round < 20; round++) {
        stall s = {.caller = pthread_self()};
        pthread_t r;
        assert_int_equal(pthread_create(&r, NULL, releaser, &s), 0);
        sf_pool_for(p, stall_piece, &s, 8, 8, true);
        int done_before_release = atomic_load(&s.done);
        pthread_join(r, NULL);
        assert_int_equal(done_before_release, 8);
        /* the caller ran its own range and every piece of the worker's but the one it blocked in */
        assert_int_equal(atomic_load(&s.caller_ran), 8 - atomic_load(&s.worker_blocked));
    }
    sf_pool_free(p);
}

/* a small job posted while the worker sleeps: the caller runs all of it, without waking the worker
 * (a futex call would cost more than the job); a large one wakes it */
typedef struct who {
    pthread_t caller;
    bool wait_for_worker; /* the caller's pieces wait (up to 5 s) until the worker has run one */
    atomic_int caller_ran, worker_ran;
} who;

static void who_piece(void *ctx, int64_t lo, int64_t hi)
{
    (void)lo, (void)hi;
    who *w = ctx;
    if (!pthread_equal(pthread_self(), w->caller)) {
        atomic_fetch_add(&w->worker_ran, 1);
        return;
    }
    atomic_fetch_add(&w->caller_ran, 1);
    struct timespec ts = {0, 100000};
    for (int i = 0; w->wait_for_worker && i < 50000 && !atomic_load(&w->worker_ran); i++)
        nanosleep(&ts, NULL);
}

static void test_a_small_job_leaves_a_sleeping_worker_asleep(void **state)
{
    (void)state;
    sf_pool *p = sf_pool_new(2);
    assert_non_null(p);
    struct timespec idle = {0, 50000000}; /* past the worker's polling: it sleeps */
    nanosleep(&idle, NULL);
    who small = {.caller = pthread_self()};
    sf_pool_for(p, who_piece, &small, 8, 8, false);
    assert_int_equal(atomic_load(&small.caller_ran), 8);
    assert_int_equal(atomic_load(&small.worker_ran), 0);
    nanosleep(&idle, NULL);
    who large = {.caller = pthread_self(), .wait_for_worker = true};
    sf_pool_for(p, who_piece, &large, 8, 8, true);
    assert_int_equal(atomic_load(&large.caller_ran) + atomic_load(&large.worker_ran), 8);
    assert_true(atomic_load(&large.worker_ran) > 0);
    sf_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_a_stalled_worker_holds_up_only_its_piece),
        cmocka_unit_test(test_a_small_job_leaves_a_sleeping_worker_asleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
