/* oneDNN convolutions for the CPU executor: where the plan gives a kernel
 * to SF_LIB_DNNL_CONV (codegen/plan.h) and this build found libdnnl, the
 * executor calls oneDNN's convolution instead of the generated direct one
 * (which stays compiled: a package made here runs where oneDNN is missing).
 * Activations are plain NCHW / NCW in the arena unless a layout says
 * otherwise (sf_dnnl_layout); each call reorders a plain one into the
 * layout oneDNN picks and back, the weight once per weight. */
#ifndef SF_CPU_DNNL_H
#define SF_CPU_DNNL_H

#include "ir/ir.h"

typedef struct sf_dnnl_conv sf_dnnl_conv;

/* Bytes for the reordered activations, shared by a model's convolutions
 * (they run one at a time): grown on demand, freed by the owner. */
typedef struct sf_dnnl_scratch {
    void *p;
    size_t cap;
} sf_dnnl_scratch;

/* Whether this build calls oneDNN (libdnnl found at configure time). */
bool sf_dnnl_available(void);
/* oneDNN's version as "2.6.3", or NULL without it. */
const char *sf_dnnl_version(void);

/* What a convolution's result goes through before it is stored, as
 * oneDNN post-ops: the add of a tensor of its own shape (a residual),
 * then ReLU; either or both. */
typedef struct sf_dnnl_epilogue {
    bool add, relu;
} sf_dnnl_epilogue;

/* Where a conv2d's tensors lie in the arena: NCHW, or the layout oneDNN
 * picks for them ("blocked" here): NHWC (block 1; what it picks on the
 * developer machine) or nChw16c / nChw8c (channels in blocks of 16 or 8
 * innermost, taken only where the block divides the channels, so the bytes
 * are the same), for the source, the result and the addend. A tensor that
 * only oneDNN convolutions write and read may stay blocked between them,
 * saving two or three reorders per call (cpu_jit.c decides). */
typedef struct sf_dnnl_layout {
    int block; /* 1 (NHWC), 8 or 16; 0: all plain */
    bool src, dst, addend;
} sf_dnnl_layout;

/* A convolution for node n (conv1d or conv2d) and its epilogue; NULL with
 * err set when oneDNN is missing or refuses it. Primitives are made at the
 * first run of each batch size (the latest is kept). */
sf_dnnl_conv *sf_dnnl_conv_new(const sf_node *n, sf_dnnl_epilogue epi, sf_error *err);
/* out = relu?(conv(x, w) + b + residual?) (b NULL: none; residual: the
 * epilogue's add) at a batch on `threads` threads. out may share bytes
 * with x or the residual (an epilogue's result may take a dead operand's
 * place). w_fresh: w may differ from the last call's even at the same
 * address (reordered again). SF_ERR_UNSUPPORTED: oneDNN refuses this
 * convolution at this batch (the caller runs its own code); other errors
 * are the run's. Not for two threads at once. */
sf_status sf_dnnl_conv_run(sf_dnnl_conv *c, sf_dnnl_scratch *scratch, int64_t batch, int threads, const float *x,
                           const float *w, bool w_fresh, const float *b, const float *residual, float *out,
                           sf_error *err);
/* The block of the layout oneDNN picks for its source and its result at
 * batch 1 (0: plain NCHW, or a layout sf_dnnl_layout cannot say). */
void sf_dnnl_conv_blocks(sf_dnnl_conv *c, int *src, int *dst);
/* Runs it with these layouts from the next run on (all plain until set). */
void sf_dnnl_conv_set_layout(sf_dnnl_conv *c, sf_dnnl_layout lay);
/* Whether its epilogue adds a residual. */
bool sf_dnnl_conv_adds(const sf_dnnl_conv *c);
/* The implementation oneDNN chose at the last run ("" before one). */
const char *sf_dnnl_conv_impl(const sf_dnnl_conv *c);
void sf_dnnl_conv_free(sf_dnnl_conv *c);
/* Tests: after `skip` more convolution primitives made in this process,
 * the next one fails, refused (refuse: as oneDNN refuses one it has no
 * implementation for) or with a runtime error, so that the executor's
 * fallback and error paths are reached; oneDNN takes every shape sheaf's
 * IR allows. */
void sf_dnnl_fail_next(int skip, bool refuse);

#endif
