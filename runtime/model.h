/* Internal to the runtime: the public sf_model, and the pieces the CLI and
 * the package reader build one from. */
#ifndef SF_MODEL_H
#define SF_MODEL_H

#include "codegen/plan.h"
#include "runtime/backend.h"
#include "runtime/cpu.h"
#include "runtime/cuda_code.h"
#include "frontend/frontend.h"
#include "sheaf.h"
#include "ir/tensor.h"

struct sf_weights {
    sf_tensor_set *set;
};

/* A backward model's gradient outputs, after the forward's: one per f32
 * parameter of the forward, named; trains: an optimizer updates it (a
 * model file's buffers, BatchNorm's running statistics, it does not). */
typedef struct sf_grad_params {
    char **names;
    bool *trains;
    size_t count;
} sf_grad_params;
void sf_grad_params_free(sf_grad_params *gp);

struct sf_model {
    sf_graph *g;              /* optimised, as its printed IR parses (a package's graph): the plan's indices */
    sf_plan plan;             /* the kernels every backend runs (codegen/plan.h), a package's own when loaded */
    sf_tensor_set *weights;   /* after the passes' folding: one per g->params */
    const float **params;     /* weights' data in g->params order */
    sf_backend_kind backend;  /* what sf_run runs it on (backend.h) */
    sf_cpu_model *cpu;        /* the CPU backend's state (the cuda backend's models keep one too) */
    struct sf_cuda_model *gpu; /* the cuda backend's, where a device is */
    sf_pkg_cuda cuda;         /* ahead-of-time CUDA code (owned; none: no images) */
    char **out_names;         /* "output", or "output.0", "output.1"... */
    bool check;               /* sf_options.check: each run compared with the interpreter */
    sf_graph *ref;            /* for check: the -O0 graph (a package has none: its own graph serves) */
    sf_graph *derive;         /* trainable: computes the derived parameters from the model's own (passes/derive.c) */
    char **derive_names;      /* its outputs' parameter names, nderive of them */
    size_t nderive;
    size_t nown;              /* trainable: weights' first nown tensors are the model's own parameters */
    sf_grad_params grads;     /* backward compiles (none for a loaded package) */
    char notice[512];
};

/* The weights for a graph (py: its model file's frontend result, or NULL
 * for IR): the options' weights copied, then its weights file, or without
 * either the seed's initialisation; checked against the parameters
 * (allow_extra_weights: keys naming no parameter are ignored). */
sf_tensor_set *sf_gather_weights(const sf_graph *g, const sf_py_model *py, const sf_options *o, sf_error *err);

/* A model from an optimised graph and its weights, both taken (freed on
 * failure too); the backend and threads from o (NULL: CPU, all CPUs). */
sf_model *sf_model_from_parts(sf_graph *g, sf_tensor_set *weights, const sf_options *o, sf_error *err);
/* What a package brings made already: its plan section (NULL: none, plan
 * it) and its CPU object code (NULL: none, compile it). */
typedef struct sf_prebuilt {
    const unsigned char *plan;
    size_t plan_len;
    const void *object;
    size_t object_size;
} sf_prebuilt;

/* The same on a backend already resolved (sf_backend_resolve). With pre
 * (a package's), g is the graph its IR parsed to and the plan is read from
 * pre, else built; without, g is put in its printed order first. */
sf_model *sf_model_make(sf_graph *g, sf_tensor_set *weights, const sf_prebuilt *pre, sf_backend_kind kind,
                        const sf_options *o, sf_error *err);

/* Moves the model's runs to the GPU when a device is there (its package
 * code, else NVRTC); else leaves them on the CPU with one line in
 * m->notice, "<what><why>: running on the CPU backend". */
sf_status sf_model_to_gpu(sf_model *m, const char *what, const sf_options *o, sf_error *err);

/* The interpreter on g (the model's graph, or its -O0 reference) through
 * the caller's buffers. */
sf_status sf_interp_run_on(sf_model *m, const sf_graph *g, int64_t batch, const float *const *inputs,
                           float *const *outputs, sf_error *err);

/* sf_run on named tensors: inputs by name, outputs added to out. */
sf_status sf_model_run_sets(sf_model *m, int64_t batch, const sf_tensor_set *in, sf_tensor_set *out, sf_error *err);

/* NULL and "fp32" pass; the other names sf_options.precision documents are
 * refused with the reason, anything else with the choices. */
sf_status sf_check_precision(const char *precision, sf_error *err);

/* sf_load from bytes in memory (the fuzz target's entry); `what` names
 * them in messages. */
sf_model *sf_load_bytes(const unsigned char *bytes, size_t size, const char *what, const sf_options *o,
                        sf_error *err);

/* After the model's own parameters changed in m->weights: the derived ones
 * recomputed, the backend told. */
sf_status sf_model_weights_changed(sf_model *m, sf_error *err);
/* Whether `name` is one of the model's own parameters (not a pass's). */
bool sf_model_owns(const sf_model *m, const char *name);
/* The model's own parameter `name`, writable (a borrowed one copied first);
 * NULL with an error when there is none. */
sf_tensor *sf_model_own_weight(sf_model *m, const char *name, sf_error *err);

#endif
