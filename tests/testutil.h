/* Helpers for the CMocka tests: small tensors, running IR text, comparing. */
#ifndef SF_TESTUTIL_H
#define SF_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tools/cli.h"
#include "frontend/safetensors.h"
#include "ir/tensor.h"

/* A tensor literal: name, rank, dims, values. */
typedef struct tensor_lit {
    const char *name;
    int rank;
    int64_t dim[SF_MAX_RANK];
    const float *data;
} tensor_lit;

#define LIT(nm, r, dims, ...) ((tensor_lit){nm, r, dims, (const float[]){__VA_ARGS__}})
#define DIMS(...) {__VA_ARGS__}

/* A set from n literals (NULL-data literals are zero-filled). */
sf_tensor_set *tset(int n, const tensor_lit *lits);

/* Parses IR text (failing the test on an error), runs it with the
 * interpreter, returns the outputs. */
sf_tensor_set *run_ir(const char *ir, int64_t batch, sf_tensor_set *inputs, sf_tensor_set *weights);
/* Parses IR text and expects failure; returns the error message (static). */
const char *parse_error(const char *ir);

/* |got - want| <= atol + rtol * |want| for every element. */
void assert_close(const float *got, const float *want, size_t n, double rtol, double atol);
/* Checks an output's shape and values against expectations. */
void expect_tensor(const sf_tensor_set *outs, const char *name, int rank, const int64_t *dims, const float *want,
                   double tol);
#define EXPECT(outs, name, r, dims, ...) \
    expect_tensor(outs, name, r, (const int64_t[])dims, (const float[]){__VA_ARGS__}, 1e-6)

/* Asserts that haystack contains needle, printing both on failure. */
void assert_contains(const char *haystack, const char *needle);

/* Runs the CLI in-process; captures stdout and stderr into static buffers. */
int run_cli(const char *const *args, const char **out, const char **err);

/* A fresh path under a per-process temporary directory. */
const char *tmp_path(const char *name);
bool file_exists(const char *path);
/* Writes raw bytes to a file (for hand-made bad inputs). */
void write_bytes(const char *path, const void *data, size_t n);

#endif
