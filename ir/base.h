/*
 * Small foundations shared by every layer: errors, the arena, a string map,
 * growable pointer vectors and checked size arithmetic. libc only.
 */
#ifndef SF_BASE_H
#define SF_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sheaf.h"

#if defined(__GNUC__) || defined(__clang__)
#define SF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SF_PRINTF(a, b)
#endif

/* Sets err (when non-NULL) and returns code, so that callers can write
 * `return sf_fail(err, SF_ERR_PARSE, "...")`. */
sf_status sf_fail(sf_error *err, sf_status code, const char *fmt, ...) SF_PRINTF(3, 4);
/* sf_fail with the place in front: "file:line:col: message". */
sf_status sf_fail_atv(sf_error *err, sf_status code, const char *file, int line, int col, const char *fmt, va_list ap);
/* Puts "prefix: " in front of an error already set, to add the outer place. */
void sf_error_prefix(sf_error *err, const char *fmt, ...) SF_PRINTF(2, 3);
void sf_error_clear(sf_error *err);

/* Checked arithmetic on sizes: false on overflow. */
bool sf_mul_overflow(size_t a, size_t b, size_t *out);
bool sf_add_overflow(size_t a, size_t b, size_t *out);

/* ---- arena: one per graph; everything in it is freed together ---- */
typedef struct sf_arena_block sf_arena_block;
typedef struct sf_arena {
    sf_arena_block *head;
    size_t used_total;
} sf_arena;

void sf_arena_init(sf_arena *a);
void sf_arena_free(sf_arena *a);
/* Zeroed, 16-byte aligned; NULL only when the system is out of memory. */
void *sf_arena_alloc(sf_arena *a, size_t size);
char *sf_arena_strdup(sf_arena *a, const char *s);
/* Room for one more element in an array that lives in the arena: when
 * len == *cap the array is copied into one twice as large. Returns the
 * (possibly new) array, or NULL when out of memory. */
void *sf_arena_grow(sf_arena *a, void *items, size_t len, size_t *cap, size_t elem);
char *sf_arena_strndup(sf_arena *a, const char *s, size_t n);

/* ---- vector of pointers (grows with realloc; owner frees) ---- */
typedef struct sf_vec {
    void **items;
    size_t len, cap;
} sf_vec;

bool sf_vec_push(sf_vec *v, void *item);
void sf_vec_free(sf_vec *v);

/* ---- string -> pointer map, open addressing; keys are not copied ---- */
typedef struct sf_map {
    const char **keys;
    void **vals;
    size_t cap, len;
} sf_map;

void *sf_map_get(const sf_map *m, const char *key);
/* Returns false only when out of memory. Replaces an existing value. */
bool sf_map_put(sf_map *m, const char *key, void *val);
void sf_map_free(sf_map *m);

/* ---- deterministic random numbers (splitmix64) ---- */
typedef struct sf_rng {
    uint64_t state;
} sf_rng;

uint64_t sf_rng_next(sf_rng *r);
double sf_rng_uniform(sf_rng *r); /* [0, 1) */
double sf_rng_normal(sf_rng *r);

#endif
