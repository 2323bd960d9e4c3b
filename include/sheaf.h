/*
 * sheaf: a graph compiler for PyTorch container models.
 *
 * Public C API. Every entry point reports failure through an sf_status return
 * value and an sf_error filled with a one-line message naming the place
 * (file:line:col, module path, tensor key, pass name). Nothing in the library
 * calls exit() or abort() on bad input.
 *
 * Thread safety: distinct objects may be used from distinct threads at once;
 * one object must not be used from two threads at the same time (a model
 * owns its activation memory and its worker threads; sf_run on one model
 * from two threads needs the caller's lock, or one model per thread).
 */
#ifndef SHEAF_H
#define SHEAF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* ---- weights: named f32 tensors, from memory or safetensors files ---- */

typedef struct sf_weights sf_weights;

sf_weights *sf_weights_new(void);
void sf_weights_free(sf_weights *w);
/* Copies `data` (row-major f32, product of dims elements) under `name`
 * (PyTorch's state_dict key, e.g. "models.3.fc1.weight"); replaces nothing:
 * a name given twice is an error. */
sf_status sf_weights_set(sf_weights *w, const char *name, int rank, const int64_t *dims, const float *data,
                         sf_error *err);
/* The same without a copy: the model reads `data` where it is, at every
 * run, wherever no pass derived a weight from it (grouped, folded and
 * composed weights are the model's own) and no product packed it. `data`
 * must stay alive while these weights or any model compiled from them
 * live; sheaf never writes it. Changing it afterwards is not a way to
 * update a model: packed and derived weights keep the old values (compile
 * again). */
sf_status sf_weights_borrow(sf_weights *w, const char *name, int rank, const int64_t *dims, const float *data,
                            sf_error *err);
/* Adds every tensor of a safetensors file (F32, F16, BF16, F64 as f32). */
sf_status sf_weights_load(sf_weights *w, const char *path, sf_error *err);

/* ---- a live model's module tree ----
 * What a host that holds the model itself (the Python package, holding an
 * nn.Module) hands over instead of a constructor expression: every module
 * with its class, the plain attributes forward reads and its own
 * parameters and buffers, so the model file's __init__ never runs (it may
 * hold any Python). The file's forward methods are traced as always. Set
 * sf_options.tree (model is then not needed); the weights come as usual
 * (sf_options.weights, a file, or the seed). */

typedef struct sf_module_tree sf_module_tree;

sf_module_tree *sf_tree_new(void);
void sf_tree_free(sf_module_tree *t);
/* The module at path ("" the root, first; "models.3": its parent given
 * before it, the last part its attribute name or container index). cls
 * is a class of the model file, or with args (NULL otherwise) a torch.nn
 * module built as nn.<cls>(<args>) ("20, 10, bias=True": its constructor
 * arguments, as its extra_repr() gives them; "" for containers and
 * modules without arguments). cls "list", "tuple" or "dict" with args
 * NULL: a plain Python container of modules held in an attribute of its
 * parent (a class of the file, or another such container), its elements
 * named 0, 1, ... in order (a dict's by their string keys); their tensors
 * are keyed path.<index>.<name>, though PyTorch's state_dict lacks them. */
sf_status sf_tree_module(sf_module_tree *t, const char *path, const char *cls, const char *args, sf_error *err);
/* A plain attribute of the module at path (a class of the file): a Python
 * literal, "3", "1e-05", "'relu'", "(4, 8)", "[True, None]". */
sf_status sf_tree_attr(sf_module_tree *t, const char *path, const char *name, const char *literal, sf_error *err);
/* A parameter (buffer false) or buffer of the module at path (a class of
 * the file), registered on it directly; its state_dict key is
 * path.name. */
sf_status sf_tree_tensor(sf_module_tree *t, const char *path, const char *name, int rank, const int64_t *dims,
                         bool buffer, sf_error *err);

/* ---- compiling ---- */

#define SF_MAX_RANK_PUBLIC 8
#define SF_BATCH (-1) /* the symbolic batch dim in shapes */

typedef struct sf_options {
    const char *model;          /* .py sources: the class to build, "ParallelFCN(1000)"; or: */
    const sf_module_tree *tree; /* .py sources: the model as a live instance describes it (above) */
    const char *const *inputs;  /* .py sources: "x=f32[B,20000]", one per tensor argument of forward */
    int ninputs;
    const char *const *consts;  /* .py sources: "condition=True", non-tensor arguments of forward */
    int nconsts;
    const char *weights_file;   /* safetensors with the state_dict; or: */
    const sf_weights *weights;  /* weights from memory (copied); neither: initialised from seed */
    uint64_t seed;
    bool allow_extra_weights;   /* keys that name no parameter are ignored instead of refused */
    bool unoptimised;           /* -O0: no passes (one kernel per op) */
    const char *passes;         /* "canonicalize,cse,dce": exactly these passes, in order (overrides
                                   unoptimised and the -O2 pipeline; docs/passes.md lists them) */
    bool verify_each;           /* the IR verifier after every pass, naming the pass that broke it */
    const char *print_after;    /* a pass name: the IR after it is written to `dump`; "all": after each */
    bool time_passes;           /* one line per pass (time, nodes before and after) to `log` (to `dump`
                                   when IR is dumped too, so the two interleave in order) */
    int hfuse_min_branches;     /* hfuse: fewest sibling branches worth a group (0: 2; else at least 2) */
    size_t hfuse_max_bytes;     /* hfuse: most weight bytes in one group (0: 1 GiB) */
    bool time;                  /* one line per stage (frontend, passes, backend, NVRTC) to `log` */
    FILE *log;                  /* where time and time_passes write; NULL: stderr */
    FILE *dump;                 /* where print_after writes; NULL: stdout */
    const char *backend;        /* "cpu": native code; "interp": the reference interpreter; "cuda": the
                                   GPU where one is usable, else the CPU with a notice; NULL: the CPU,
                                   or the interpreter in a build without LLVM */
    int threads;                /* CPU threads for sf_run: 0 means one per CPU available */
    const char *targets;        /* CUDA code ahead of time, "sm_80,sm_90" (no GPU needed): CUBIN for
                                   each and PTX for the newest, kept by sf_save; NULL: none */
    bool no_cache;              /* compile CUDA C with NVRTC even when the on-disk cache
                                   ($XDG_CACHE_HOME/sheaf or ~/.cache/sheaf) holds it, and keep nothing there */
    const char *precision;      /* NULL or "fp32": every product in fp32 (TF32 off); "tf32", "fp16",
                                   "bf16" are refused with the reason until they are built */
    long long max_nodes;        /* .py sources: tracing stops past this many IR nodes (0: 4 million, about
                                   4-8 GB while compiling), with a message naming the model and the count */
    bool check;                 /* every sf_run also runs the reference interpreter on the model's
                                   unoptimised (-O0) IR (a package: on its own IR) and fails
                                   (SF_ERR_RUNTIME, naming the output, the worst element and both
                                   values) where they differ beyond rtol 1e-3, atol 1e-4 x the output's
                                   largest |value|; slow: for finding a wrong result, not for serving */
    bool poison;                /* the CPU backend fills its activations with NaN before every run, so
                                   that a value read before it was written shows (also: SHEAF_POISON=1) */
    bool backward;              /* compile the model's backward function instead (docs/training.md): its
                                   inputs are the forward's, then one "grad.<output name>" per f32 output
                                   (dL/d that output, shaped like it); its outputs the forward's, then
                                   dL/d each parameter in state_dict order (zeros where none flows) */
    bool input_grads;           /* with backward: then dL/d each f32 input too, in signature order */
    bool trainable;             /* the parameters may change after compiling (sf_model_set_weights): every
                                   parameter a pass derives (stacked, summed, reshaped, folded) keeps how it
                                   is computed and follows them; folds that cannot (BatchNorm into a
                                   product, composed linear chains) are not made. backward implies it */
    const char *loss;           /* "mse", "l1", "smooth_l1", "cross_entropy" (class indices),
                                   "cross_entropy_probs", "bce_with_logits": the model's one output
                                   against a new input "target", the mean loss the only output (with
                                   backward: the seed grad.output is then dL/dloss, 1 for a step) */
} sf_options;

typedef struct sf_model sf_model;

/* A PyTorch model file (.py, with model and inputs set) or an IR file
 * (.sfir). Weights are part of the compile: passes fold them. */
sf_model *sf_compile_file(const char *path, const sf_options *o, sf_error *err);
/* The same from text in memory; `name` says which kind (ends in .py or
 * .sfir) and is the file name used in messages. */
sf_model *sf_compile_text(const char *text, size_t len, const char *name, const sf_options *o, sf_error *err);
/* A compiled package (sheaf compile -o m.sheaf, or sf_save): compiles
 * nothing when it was built for this CPU (see docs/package.md). o may be
 * NULL; only threads, backend, check and poison are read. */
sf_model *sf_load(const char *path, const sf_options *o, sf_error *err);
/* Writes the model as a package: IR, weights, native code for this CPU. */
sf_status sf_save(const sf_model *m, const char *path, sf_error *err);
/* The model's optimised IR: format "text" (docs/ir.md), "dot" (Graphviz)
 * or "stats" (op counts, parameters, the memory plan's activation bytes). */
sf_status sf_model_write_ir(const sf_model *m, const char *format, FILE *out, sf_error *err);
void sf_model_free(sf_model *m);
/* What sf_run runs the model on: "cuda", "cpu" or "interp". */
const char *sf_model_backend(const sf_model *m);
/* A line the library wants the user to see (a package recompiled for this
 * CPU, say); NULL when none. */
const char *sf_model_notice(const sf_model *m);

/* New values for some of a trainable model's own parameters (state_dict
 * names, each its compile shape; copied): the parameters the passes derived
 * from them are recomputed, so the next sf_run computes with the new
 * values. Refused for a model compiled without trainable (or backward), a
 * loaded package, and (not yet) the cuda backend; nothing is changed when
 * a name or a shape is wrong. Not to be called while sf_run runs the model. */
sf_status sf_model_set_weights(sf_model *m, const sf_weights *w, sf_error *err);

/* ---- inputs and outputs ---- */

typedef struct sf_tensor_info {
    const char *name;
    int rank;
    int64_t dims[SF_MAX_RANK_PUBLIC]; /* SF_BATCH where the batch goes */
} sf_tensor_info;

size_t sf_num_inputs(const sf_model *m);
size_t sf_num_outputs(const sf_model *m);
/* false when i is out of range */
bool sf_input_info(const sf_model *m, size_t i, sf_tensor_info *info);
bool sf_output_info(const sf_model *m, size_t i, sf_tensor_info *info);
/* Elements of input/output i at a batch size (0 when i is out of range). */
size_t sf_input_numel(const sf_model *m, size_t i, int64_t batch);
size_t sf_output_numel(const sf_model *m, size_t i, int64_t batch);

/* ---- running ---- */

/* Runs at any batch size >= 1: inputs[i] holds sf_input_numel(m, i, batch)
 * floats, outputs[i] room for sf_output_numel(m, i, batch); both are the
 * caller's: host memory, or on the CUDA backend also device memory
 * (cuMemAlloc/cudaMalloc; each pointer is told apart on its own).
 * Outputs may not overlap inputs. */
sf_status sf_run(sf_model *m, int64_t batch, const float *const *inputs, float *const *outputs, sf_error *err);

/* ---- training (docs/training.md) ----
 * A trainer runs optimizer steps on a model compiled with backward and a
 * loss (sf_options.backward, .loss), whose inputs are the forward's, then
 * "target", then the seed "grad.output". Each step runs the model (forward,
 * loss, backward: the gradients of every parameter), then the optimizer
 * updates the model's parameters in place and the parameters derived from
 * them follow (sf_model_set_weights). Buffers (BatchNorm's running
 * statistics) are not updated.
 *
 * The optimizer is a spec, the same from C and the command line:
 * "sgd", "adam" or "adamw", then optionally ":" and key=value pairs
 * separated by commas, with PyTorch's meanings and defaults:
 *   sgd:   lr (1e-3), momentum (0), dampening (0), weight_decay (0), nesterov (0 or 1)
 *   adam:  lr (1e-3), beta1 (0.9), beta2 (0.999), eps (1e-8), weight_decay (0, added to the gradient)
 *   adamw: the same, weight_decay 1e-2 and decoupled
 * e.g. "adam:lr=3e-4,weight_decay=1e-5". Parameter groups override them for
 * the parameters whose state_dict name matches a glob pattern (* and ?):
 * "layer_list.3.*:lr=1e-2" (the first group that matches wins; lr=0 freezes). */
typedef struct sf_train_options {
    const char *optimizer;     /* NULL: "sgd" */
    const char *const *groups; /* "pattern:key=value,...", ngroups of them */
    int ngroups;
} sf_train_options;

typedef struct sf_trainer sf_trainer;

/* The trainer of m, which it uses (not owns): m must outlive it. */
sf_trainer *sf_trainer_new(sf_model *m, const sf_train_options *t, sf_error *err);
void sf_trainer_free(sf_trainer *t);
/* One step on a batch: inputs[i] for the model's inputs but the last (the
 * forward's inputs and the target; the seed is the trainer's, 1); loss
 * (may be NULL) gets the batch's loss before the update. */
sf_status sf_train_step(sf_trainer *t, int64_t batch, const float *const *inputs, float *loss, sf_error *err);
/* The loss on a batch (validation), the parameters left as they are. */
sf_status sf_trainer_eval(sf_trainer *t, int64_t batch, const float *const *inputs, float *loss, sf_error *err);
/* The steps taken (the optimizer's step count). */
long long sf_trainer_steps(const sf_trainer *t);
/* The model's parameters and buffers as a state_dict (safetensors), which
 * PyTorch's model.load_state_dict(safetensors.torch.load_file(path)) takes. */
sf_status sf_trainer_save_params(const sf_trainer *t, const char *path, sf_error *err);
/* The optimizer's state, keyed by parameter name: "<name>.momentum_buffer",
 * "<name>.exp_avg", "<name>.exp_avg_sq", and "step"; loading it back
 * resumes the same run (its kind and shapes checked). */
sf_status sf_trainer_save_state(const sf_trainer *t, const char *path, sf_error *err);
sf_status sf_trainer_load_state(sf_trainer *t, const char *path, sf_error *err);

/* ---- building a graph without a Python file ----
 * Calls return a value handle (> 0), or 0 after an error; the first error
 * is kept and reported by sf_builder_compile, so a sequence of calls needs
 * one check at the end. Parameters are named like PyTorch's state_dict:
 * sf_b_linear(b, x, 10, true, "models.0.fc1") makes "models.0.fc1.weight"
 * [10, in] and "models.0.fc1.bias" [10]; their values come from the
 * options' weights (or the seed) at compile time. */

typedef struct sf_builder sf_builder;
typedef int sf_ref;

sf_builder *sf_builder_new(const char *name);
void sf_builder_free(sf_builder *b);
sf_ref sf_b_input(sf_builder *b, const char *name, int rank, const int64_t *dims); /* dims may hold SF_BATCH once */
sf_ref sf_b_linear(sf_builder *b, sf_ref x, int64_t out_features, bool bias, const char *prefix);
sf_ref sf_b_conv2d(sf_builder *b, sf_ref x, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding,
                   int64_t groups, bool bias, const char *prefix);
/* A unary op with no attributes, by its IR name (docs/ir.md): "relu",
 * "gelu", "gelu_tanh", "tanh", "sigmoid", "silu", "abs", "neg", "sign",
 * "floor", "round", "sqrt", "rsqrt", "reciprocal", "exp", "log", "log1p",
 * "softsign", "tanhshrink", "hardsigmoid", "hardswish", "mish". */
sf_ref sf_b_activation(sf_builder *b, const char *name, sf_ref x);
/* A unary op with float attributes, in the IR's order (docs/ir.md):
 * "leaky_relu" {alpha}, "elu" {alpha, scale, input_scale}, "clamp" {min,
 * max} (-INFINITY/INFINITY for no bound), "softplus" {beta, threshold},
 * "softshrink" and "hardshrink" {lambd}, "threshold" {threshold, value}.
 * nattrs must be the op's count; sf_b_activation is this with none. */
sf_ref sf_b_activation_attrs(sf_builder *b, const char *name, sf_ref x, const double *attrs, int nattrs);
sf_ref sf_b_add(sf_builder *b, sf_ref x, sf_ref y);
sf_ref sf_b_mul(sf_builder *b, sf_ref x, sf_ref y);
sf_ref sf_b_slice(sf_builder *b, sf_ref x, int dim, int64_t start, int64_t end);
/* the containers' patterns: branches joined by concatenation, a sum or a mean */
sf_ref sf_b_concat(sf_builder *b, const sf_ref *xs, int n, int dim);
sf_ref sf_b_sum(sf_builder *b, const sf_ref *xs, int n);
sf_ref sf_b_mean(sf_builder *b, const sf_ref *xs, int n);
sf_status sf_b_output(sf_builder *b, sf_ref x);
/* Compiles what was built (the builder can be freed afterwards). */
sf_model *sf_builder_compile(sf_builder *b, const sf_options *o, sf_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SHEAF_H */
