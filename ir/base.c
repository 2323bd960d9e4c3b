#include "ir/base.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sf_status_name(sf_status s)
{
    switch (s) {
    case SF_OK: return "ok";
    case SF_ERR_INVALID_ARG: return "invalid argument";
    case SF_ERR_IO: return "i/o error";
    case SF_ERR_PARSE: return "parse error";
    case SF_ERR_FORMAT: return "format error";
    case SF_ERR_SHAPE: return "shape error";
    case SF_ERR_VERIFY: return "verifier error";
    case SF_ERR_WEIGHTS: return "weights error";
    case SF_ERR_UNSUPPORTED: return "unsupported";
    case SF_ERR_NOMEM: return "out of memory";
    case SF_ERR_RUNTIME: return "runtime error";
    }
    return "unknown error";
}

sf_status sf_fail(sf_error *err, sf_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

sf_status sf_fail_atv(sf_error *err, sf_status code, const char *file, int line, int col, const char *fmt, va_list ap)
{
    if (err) { /* formatted apart first: an argument may be err->msg itself */
        char msg[SF_ERROR_MSG_MAX];
        vsnprintf(msg, sizeof msg, fmt, ap);
        err->code = code;
        int n = snprintf(err->msg, sizeof err->msg, "%s:%d:%d: ", file, line, col);
        if (n >= 0 && (size_t)n < sizeof err->msg) { /* the message, cut to what fits */
            size_t len = strlen(msg), room = sizeof err->msg - 1 - (size_t)n;
            memcpy(err->msg + n, msg, len < room ? len : room);
            err->msg[(size_t)n + (len < room ? len : room)] = '\0';
        }
    }
    return code;
}

void sf_error_prefix(sf_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[SF_ERROR_MSG_MAX], old[SF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t k = strlen(prefix);
    if (k > sizeof err->msg - 3)
        k = sizeof err->msg - 3;
    memcpy(err->msg, prefix, k);
    memcpy(err->msg + k, ": ", 2);
    size_t room = sizeof err->msg - k - 3, ol = strlen(old);
    if (ol > room)
        ol = room;
    memcpy(err->msg + k + 2, old, ol);
    err->msg[k + 2 + ol] = '\0';
}

void sf_error_clear(sf_error *err)
{
    if (err) {
        err->code = SF_OK;
        err->msg[0] = '\0';
    }
}

bool sf_mul_overflow(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return true;
    *out = a * b;
    return false;
}

bool sf_add_overflow(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return true;
    *out = a + b;
    return false;
}

/* ---- arena ---- */

struct sf_arena_block {
    sf_arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

void sf_arena_init(sf_arena *a)
{
    a->head = NULL;
    a->used_total = 0;
}

void sf_arena_free(sf_arena *a)
{
    sf_arena_block *b = a->head;
    while (b) {
        sf_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

void *sf_arena_alloc(sf_arena *a, size_t size)
{
    size_t need = (size + 15) & ~(size_t)15;
    if (need < size)
        return NULL;
    sf_arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t bsize = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        b = malloc(sizeof *b + bsize);
        if (!b)
            return NULL;
        b->size = bsize;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used_total += need;
    memset(p, 0, need);
    return p;
}

char *sf_arena_strndup(sf_arena *a, const char *s, size_t n)
{
    char *p = sf_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *sf_arena_strdup(sf_arena *a, const char *s)
{
    return sf_arena_strndup(a, s, strlen(s));
}

void *sf_arena_grow(sf_arena *a, void *items, size_t len, size_t *cap, size_t elem)
{
    if (len < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 8, bytes;
    if (sf_mul_overflow(ncap, elem, &bytes))
        return NULL;
    void *grown = sf_arena_alloc(a, bytes);
    if (!grown)
        return NULL;
    if (len)
        memcpy(grown, items, len * elem);
    *cap = ncap;
    return grown;
}

/* ---- vector ---- */

bool sf_vec_push(sf_vec *v, void *item)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void **items = realloc(v->items, cap * sizeof *items);
        if (!items)
            return false;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = item;
    return true;
}

void sf_vec_free(sf_vec *v)
{
    free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

/* ---- map ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void *sf_map_get(const sf_map *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static bool map_grow(sf_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    const char **keys = calloc(cap, sizeof *keys);
    void **vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->keys[j])
            continue;
        size_t i = hash_str(m->keys[j]) & (cap - 1);
        while (keys[i])
            i = (i + 1) & (cap - 1);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

bool sf_map_put(sf_map *m, const char *key, void *val)
{
    if ((m->len + 1) * 2 > m->cap && !map_grow(m))
        return false;
    size_t i = hash_str(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) {
            m->vals[i] = val;
            return true;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
    return true;
}

void sf_map_free(sf_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- rng ---- */

uint64_t sf_rng_next(sf_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double sf_rng_uniform(sf_rng *r)
{
    return (double)(sf_rng_next(r) >> 11) * 0x1.0p-53;
}

double sf_rng_normal(sf_rng *r)
{
    double u1 = sf_rng_uniform(r), u2 = sf_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
