/*
 * Passes: each takes the module (graph + weights) and may replace the graph
 * with a rewritten one. Folding passes create parameters whose values they
 * compute at compile time, so the weights travel with the graph.
 */
#ifndef SF_PASS_H
#define SF_PASS_H

#include <stdio.h>

#include "ir/tensor.h"

typedef struct sf_derive sf_derive;

typedef struct sf_module {
    sf_graph *g;
    sf_tensor_set *weights;   /* values of g's parameters (and of others, unused) */
    sf_derive *derive;        /* trainable compiles: how each derived parameter is computed (derive.c) */
    int hfuse_min_branches;   /* hfuse: fewest branches worth a group (0: 2) */
    size_t hfuse_max_bytes;   /* hfuse: most weight bytes in one group (0: 1 GiB) */
} sf_module;

typedef sf_status (*sf_pass_fn)(sf_module *m, sf_error *err);

/* What a pass needs and leaves, so that the pipeline, not the pass,
 * composes the passes: the manager fills the use counts before a pass that
 * reads them and runs dce after a pass that can leave dead nodes. */
enum {
    SF_PASS_USES = 1 << 0, /* reads m->g's use counts (sf_pass_uses) */
    SF_PASS_DEAD = 1 << 1, /* can leave nodes no output needs: dce follows it */
};

typedef struct sf_pass_info {
    const char *name;
    sf_pass_fn run;
    const char *what; /* one line for --help and docs */
    unsigned flags;   /* SF_PASS_* */
} sf_pass_info;

const sf_pass_info *sf_pass_find(const char *name);
/* All passes, in -O2 order; NULL-terminated by name. */
extern const sf_pass_info sf_passes[];

typedef struct sf_pipeline_opts {
    int opt_level;             /* 0: no passes; 2: the default pipeline */
    const char *passes;        /* "a,b,c": exactly these, in order (overrides opt_level) */
    bool verify_each;          /* verifier after every pass */
    bool print_after_all;
    const char *print_after;   /* a pass name */
    bool time_passes;
    FILE *print_to;            /* where --print-after* and --time-passes write */
} sf_pipeline_opts;

sf_status sf_run_pipeline(sf_module *m, const sf_pipeline_opts *o, sf_error *err);

/* ---- sums over groups (canonicalize.c) ----
 * A linear that sums the results of G groups, each group's H inputs one
 * slice of its K: a fused chain (codegen/plan.h) runs it group by group,
 * adding each group's slice, so the groups' results are never stored.
 * That pays where each slice is at least SF_CHAIN_SUM_MIN_WIDTH wide and
 * the sums of one row fit a backend's registers or thread memory (at most
 * SF_CHAIN_SUM_MAX_OUTPUTS): a narrow slice costs its dot products'
 * horizontal sums once per group, and golden StackMean(50, 10, 5, 3)
 * (slices of 5) and the styles Ensemble (8) ran 1.6x and 3x slower fused
 * than with the groups' results stored, while NAM(64, 32) (32) ran 1.25x
 * faster at batch 4096. Canonicalize keeps a shared grouped product
 * grouped for such a sum and makes it one linear otherwise. */
enum { SF_CHAIN_SUM_MAX_OUTPUTS = 256, SF_CHAIN_SUM_MIN_WIDTH = 16 };
/* Whether n is such a linear: it reads a reshape that joins [..., G, H]
 * into one row. */
bool sf_sums_groups(const sf_node *n, int64_t G);

/* ---- the passes ---- */
sf_status sf_pass_dce(sf_module *m, sf_error *err);
sf_status sf_pass_cse(sf_module *m, sf_error *err);
sf_status sf_pass_canonicalize(sf_module *m, sf_error *err);
sf_status sf_pass_compose(sf_module *m, sf_error *err);
sf_status sf_pass_hfuse(sf_module *m, sf_error *err);
sf_status sf_pass_concat_elim(sf_module *m, sf_error *err);
sf_status sf_pass_widen(sf_module *m, sf_error *err);
/* What the padding lanes of a padded group (hfuse: zero weight rows and
 * bias) hold after step n when they held pad: a product's are 0; an
 * elementwise op's, its value (NaN where the other operand is not a
 * scalar). concat_elim reads a group's padding through zero weights only
 * where this stays finite. */
float sf_padding_after(const sf_node *n, const sf_value *in, float pad);
/* n's result, through an epilogue of unary ops (each the only reader of the last), ends in an add: a sum of
 * branches with an activation before it, which hfuse and widen keep apart for convs (the memory of widening) */
bool sf_summed_after_epilogue(const sf_node *n, const sf_node *const *user, const int *uses);
sf_status sf_pass_accumulate(sf_module *m, sf_error *err);
sf_status sf_pass_vfuse(sf_module *m, sf_error *err);

/* ---- reverse-mode differentiation (grad.c, rules in grad_rules.c) ----
 * Replaces m->g by its backward function, in the graph's own ops: the same
 * inputs, then one more per f32 output, "grad.<output name>" (the output
 * names of sf_output_name), holding dL/d(that output), shaped like it; the
 * same parameters. Its outputs: the forward's, then dL/d(parameter) for
 * every f32 parameter in declaration order (zeros where none flows), then,
 * with `inputs`, dL/d(input) for every f32 input (the seeds excluded).
 * An op without a gradient rule (ops.def: NOGRAD) that a gradient reaches
 * fails with SF_ERR_UNSUPPORTED naming it and its place. */
typedef struct sf_grad_opts {
    bool inputs; /* also the inputs' gradients */
} sf_grad_opts;
sf_status sf_grad(sf_module *m, const sf_grad_opts *o, sf_error *err);
/* The seed input's name for output i of the forward g: "grad.output", "grad.output.<i>". */
void sf_grad_seed_name(const sf_graph *g, size_t i, char *buf, size_t cap);
/* ---- losses (loss.c) ----
 * Makes m->g's one f32 output y the input of a loss, PyTorch's with
 * reduction='mean', against a new input "target" (y's shape; for
 * cross_entropy, one class index per row of y [rows, classes]); the loss, a
 * scalar, becomes the only output. kind: one of sf_loss_names(). */
sf_status sf_add_loss(sf_module *m, const char *kind, sf_error *err);
const char *sf_loss_names(void);

/* ---- rewriting (rewrite.c): build a new graph from an old one ---- */
typedef struct sf_rewriter {
    const sf_graph *old;
    sf_graph *g;     /* the new graph */
    sf_value **map;  /* old value id -> new value (NULL: not mapped yet) */
} sf_rewriter;

/* The new graph with the old one's inputs; params are copied on first use. */
sf_status sf_rw_begin(sf_rewriter *rw, const sf_graph *old, sf_error *err);
/* The new value standing for an old one (params copied lazily). */
sf_value *sf_rw_value(sf_rewriter *rw, const sf_value *old, sf_error *err);
/* Copies a node with mapped operands and the same attributes; maps its results. */
sf_status sf_rw_copy(sf_rewriter *rw, const sf_node *n, sf_error *err);
/* Copies the attributes (and place) of `like` onto n, a node of g of the same op. */
sf_status sf_copy_attrs(sf_graph *g, sf_node *n, const sf_node *like, sf_error *err);
/* A node of the new graph, attributes copied from `like` when non-NULL. */
sf_node *sf_rw_node(sf_rewriter *rw, sf_opcode op, int nin, sf_value *const *in, const sf_node *like, sf_error *err);
/* Views emitted into the new graph: a step-1 slice, a reshape. */
sf_value *sf_rw_slice(sf_rewriter *rw, sf_value *x, int dim, int64_t start, int64_t end, sf_error *err);
sf_value *sf_rw_reshape(sf_rewriter *rw, sf_value *x, const int64_t *dims, int rank, sf_error *err);
/* Sets the outputs, replaces m->g, frees the old graph. */
sf_status sf_rw_finish(sf_rewriter *rw, sf_module *m, sf_error *err);
void sf_rw_abort(sf_rewriter *rw);

/* The use counts of m->g for a pass that declares SF_PASS_USES (the manager
 * filled them); NULL with an error naming the pass when they are stale. */
const sf_uses *sf_pass_uses(const sf_module *m, const char *pass, sf_error *err);
/* The value of a parameter; NULL when v is not a parameter or has none. */
const sf_tensor *sf_param_tensor(const sf_module *m, const sf_value *v);
/* A new parameter with values (copied), named after a hint and made unique.
 * In a trainable compile `recipe` is how the derive graph computes the same
 * values from the model's parameters (the sf_derive_* builders below); a
 * NULL recipe there is refused. Elsewhere it is ignored (NULL). */
sf_value *sf_new_param(sf_module *m, sf_graph *g, const char *hint, int rank, const int64_t *dims, const float *data,
                       sf_value *recipe, sf_error *err);

/* ---- derived parameters of a trainable compile (derive.c) ----
 * A fold that a pass makes in a trainable compile carries its recipe, built
 * from the parameters (or scalars) of the graph being rewritten; a fold with
 * no recipe builder here is not made when sf_trainable(m). The builders
 * return NULL outside a trainable compile. */
sf_derive *sf_derive_new(const char *name, sf_error *err);
void sf_derive_free(sf_derive *d);
bool sf_trainable(const sf_module *m);
/* p's values with another shape */
sf_value *sf_derive_reshape(sf_module *m, const sf_value *p, int rank, const int64_t *dims, sf_error *err);
/* n parameters of one rank stacked on a new dim 0 into dims [n, ...], each
 * zero-padded at the end of every dim to dims[1..] */
sf_value *sf_derive_stack(sf_module *m, const sf_value *const *ps, int n, const int64_t *dims, sf_error *err);
/* concatenated on dim, times scale */
sf_value *sf_derive_concat(sf_module *m, const sf_value *const *ps, int n, int dim, double scale, sf_error *err);
/* summed, times scale */
sf_value *sf_derive_sum(sf_module *m, const sf_value *const *ps, int n, double scale, sf_error *err);
/* result k of node n on operands in (parameters and scalars), as n computes it */
sf_value *sf_derive_like(sf_module *m, const sf_node *n, sf_value *const *in, int k, sf_error *err);
/* Registers a derived parameter's recipe (sf_new_param does). */
sf_status sf_derive_record(sf_module *m, const char *name, sf_value *recipe, const sf_type *t, sf_error *err);
/* After the pipeline: keeps the recipes of the parameters m->g reads, as the
 * derive graph's outputs, and runs them on the compile's weights, failing
 * (SF_ERR_VERIFY, naming the parameter) where one disagrees with its data. */
sf_status sf_derive_finish(sf_module *m, sf_error *err);
const sf_graph *sf_derive_graph(const sf_derive *d);
/* The derive graph and its outputs' parameter names (heap strings in a heap
 * array, `count` of them), the caller's now; m->derive is freed. */
sf_graph *sf_derive_take(sf_module *m, char ***names, size_t *count);

#endif
