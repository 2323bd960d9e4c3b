/*
 * The frontend: a user's PyTorch model file (the Python subset of
 * docs/python-subset.md) to IR. __init__ is evaluated at compile time and
 * forward is traced with symbolic tensors: loops unroll, calls inline.
 */
#ifndef SF_FRONTEND_H
#define SF_FRONTEND_H

#include "ir/tensor.h"

typedef struct sf_py_options {
    const char *model;          /* "ParallelFCN(1000)": a Python expression; or tree, below */
    const char *const *inputs;  /* "x=f32[B,20000]", one per forward tensor argument */
    int ninputs;
    const char *const *consts;  /* "condition=True": non-tensor forward arguments */
    int nconsts;
    int64_t max_nodes;          /* tracing stops past this many IR nodes; 0: SF_PY_MAX_NODES */
    const sf_module_tree *tree; /* a live instance's modules (sheaf.h) instead of model: __init__ not run */
} sf_py_options;

/* The default node budget: about 1 KB of memory per node while tracing
 * and compiling, so 4 million stop a model near 4-8 GB instead of the
 * machine running out (ParallelFCN(100000) traces to about 700 thousand;
 * ParallelFCN(1000000) would be 7 million). */
#define SF_PY_MAX_NODES 4000000

typedef struct py_interp_stats {
    double parse_ms, init_ms, trace_ms;
} py_interp_stats;

/* One state_dict entry of the model, used by forward or not. */
typedef struct sf_py_key {
    const char *key;
    sf_type type;
    bool integer; /* num_batches_tracked: loaded and ignored */
    bool buffer;  /* register_buffer's (BatchNorm's running statistics): no optimizer updates it */
    int init;     /* py_init_kind, for deterministic initialisation */
    double fill, step;
    int64_t fan_in;
} sf_py_key;

typedef struct sf_py_model {
    sf_graph *graph;
    sf_py_key *keys; /* the whole state_dict, in PyTorch's order */
    size_t nkeys;
    py_interp_stats stats;
    sf_arena arena;  /* keys and names */
} sf_py_model;

sf_py_model *sf_py_compile(const char *path, const char *source, size_t len, const sf_py_options *o, sf_error *err);
void sf_py_model_free(sf_py_model *m);

/* Weights against the model's whole state_dict, as load_state_dict: every
 * key present with its shape; unknown keys are errors when strict. */
sf_status sf_py_check_weights(const sf_py_model *m, const sf_tensor_set *w, bool strict, sf_error *err);
/* Deterministic PyTorch-like values for every key the graph uses. */
sf_status sf_py_init_weights(const sf_py_model *m, uint64_t seed, sf_tensor_set *w, sf_error *err);

/* "x=f32[B,20000]" -> name and type. */
sf_status sf_parse_input_spec(const char *spec, char *name, size_t cap, sf_type *t, sf_error *err);

#endif
