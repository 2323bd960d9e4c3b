/*
 * sheaf: a graph compiler for PyTorch container models.
 *
 * Public C API. Every entry point reports failure through an sf_status return
 * value and an sf_error filled with a one-line message naming the place
 * (file:line:col, module path, tensor key, pass name). Nothing in the library
 * calls exit() or abort() on bad input.
 *
 * Thread safety: distinct objects may be used from distinct threads at once;
 * one object must not be used from two threads at the same time.
 */
#ifndef SHEAF_H
#define SHEAF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_VERSION_MAJOR 0
#define SF_VERSION_MINOR 1
#define SF_VERSION_PATCH 0
#define SF_VERSION_STRING "0.1.0"

typedef enum sf_status {
    SF_OK = 0,
    SF_ERR_INVALID_ARG, /* a caller passed something meaningless */
    SF_ERR_IO,          /* a file could not be opened, read or written */
    SF_ERR_PARSE,       /* text (IR, Python) did not parse */
    SF_ERR_FORMAT,      /* a binary file (safetensors, package) is malformed */
    SF_ERR_SHAPE,       /* shapes of operands do not fit an op */
    SF_ERR_VERIFY,      /* the IR breaks an invariant */
    SF_ERR_WEIGHTS,     /* missing, unexpected or mis-shaped weights */
    SF_ERR_UNSUPPORTED, /* valid, but not (yet) handled */
    SF_ERR_NOMEM,       /* an allocation failed or a size overflowed */
    SF_ERR_RUNTIME      /* execution failed */
} sf_status;

#define SF_ERROR_MSG_MAX 1024

typedef struct sf_error {
    sf_status code;
    char msg[SF_ERROR_MSG_MAX];
} sf_error;

/* A short name for a status ("parse error", "shape error", ...). */
const char *sf_status_name(sf_status s);

#ifdef __cplusplus
}
#endif

#endif /* SHEAF_H */
