/* Random models for the differential tests (tests/randmodel.c). */
#ifndef SF_RANDMODEL_H
#define SF_RANDMODEL_H

#include <stddef.h>
#include <stdint.h>

/* A growing malloc'd string for the generators. */
typedef struct sf_text {
    char *s;
    size_t len, cap;
} sf_text;
void sf_text_put(sf_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The activations the generators draw: op and attribute text (" {...}"
 * or ""), every unary op of the IR with attributes at and off their defaults. */
typedef struct sf_rand_act {
    const char *op, *attrs;
} sf_rand_act;
enum { SF_RAND_NACTS = 25 };
extern const sf_rand_act sf_rand_acts[SF_RAND_NACTS];

/* The IR text of a random model (malloc'd); the same seed gives the same model. */
char *sf_test_random_model(uint64_t seed);

/* Branchy models the way users write them, with awkward sizes
 * (tests/randwide.c), and the batch to run each at (*batch). */
char *sf_test_random_wide_model(uint64_t seed, int64_t *batch);
/* Rank-3 models of the other ops: attention (transpose, matmul, softmax),
 * x @ W with a parameter, layernorm over one or two dims, unequal splits,
 * broadcast sub/div, keepdim reductions, flatten/reshape, stacks. */
char *sf_test_random_ops_model(uint64_t seed, int64_t *batch);
/* Family 0 (sf_test_random_model, batch 3), 1 (wide) or 2 (ops): the IR
 * text, its batch, and a name for messages ("wide model 4"). */
enum { SF_RAND_FAMILIES = 3 };
char *sf_test_random_family(int family, uint64_t seed, int64_t *batch, char *name, size_t cap);
/* One product on either side of OpenBLAS's threshold, and its batch. */
char *sf_test_random_dense_model(uint64_t seed, int64_t *batch);

#endif
