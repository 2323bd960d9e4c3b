/*
 * Concrete tensors (batch resolved) and named sets of them: weights by
 * parameter name, run inputs by input name, run outputs. f32 data, row-major,
 * contiguous. A set owns its names and data (but borrowed tensors' data).
 */
#ifndef SF_TENSOR_H
#define SF_TENSOR_H

#include "ir/ir.h"

typedef struct sf_tensor {
    int rank;
    int64_t dim[SF_MAX_RANK];
    float *data;
    bool borrowed; /* data is the caller's (sf_tensors_borrow): never freed, never written */
} sf_tensor;

typedef struct sf_tensor_set {
    sf_vec names;   /* char*, insertion order */
    sf_vec tensors; /* sf_tensor* */
    sf_map by_name;
} sf_tensor_set;

size_t sf_tensor_numel(const sf_tensor *t);
const char *sf_tensor_shape_str(const sf_tensor *t, char *buf, size_t cap);

sf_tensor_set *sf_tensors_new(void);
void sf_tensors_free(sf_tensor_set *s);
/* Adds a tensor; data is copied (NULL: zero-filled). The name must be new. */
sf_tensor *sf_tensors_add(sf_tensor_set *s, const char *name, int rank, const int64_t *dims, const float *data,
                          sf_error *err);
/* Adds a tensor whose data is the caller's, not copied: it must outlive the
 * set and whatever reads the set's data. */
sf_tensor *sf_tensors_borrow(sf_tensor_set *s, const char *name, int rank, const int64_t *dims, const float *data,
                             sf_error *err);
/* A tensor shaped like v at `batch` (its B dim replaced), added under name;
 * data may be NULL (zeros). */
sf_tensor *sf_tensors_add_value(sf_tensor_set *s, const char *name, const sf_value *v, int64_t batch, const float *data,
                                sf_error *err);
sf_tensor *sf_tensors_get(const sf_tensor_set *s, const char *name);
size_t sf_tensors_count(const sf_tensor_set *s);

/* Weights against the graph's parameters: each parameter present with its
 * exact shape; a key that names no parameter is an error unless allow_extra. */
sf_status sf_check_weights(const sf_graph *g, const sf_tensor_set *w, bool allow_extra, sf_error *err);
/* The batch size that the inputs imply (1 when no input has B); errors on
 * missing, unexpected or mis-shaped inputs. */
sf_status sf_check_inputs(const sf_graph *g, const sf_tensor_set *in, int64_t *batch, sf_error *err);

/* Deterministic values: PyTorch-like initialisation for every parameter,
 * picked from how the parameter is used (weights kaiming-uniform, biases
 * uniform in +-1/sqrt(fan_in), norm scales 1, shifts and running means 0,
 * running variances 1); inputs standard normal. */
sf_status sf_init_weights(const sf_graph *g, uint64_t seed, sf_tensor_set *w, sf_error *err);
sf_status sf_random_inputs(const sf_graph *g, int64_t batch, uint64_t seed, sf_tensor_set *in, sf_error *err);

/* The output names: "output" for one output, else "output.0", "output.1"... */
void sf_output_name(const sf_graph *g, size_t i, char *buf, size_t cap);

/* Whether a backend's values agree with the oracle's: every element within
 * SF_CHECK_ATOL * scale + SF_CHECK_RTOL * |want|, scale being the largest
 * finite |want| of the tensor (at least 1), NaN only where the oracle has
 * NaN. worst (may be NULL) gets the element farthest beyond the tolerance
 * and the largest absolute difference (infinite for a NaN on one side). */
#define SF_CHECK_RTOL 1e-3
#define SF_CHECK_ATOL 1e-4
typedef struct sf_mismatch {
    size_t index;   /* flat, row-major */
    float got, want;
    double excess;  /* |got - want| / tolerance: <= 1 agrees */
    double max_abs; /* over the whole tensor */
} sf_mismatch;
bool sf_compare_values(const float *got, const float *want, size_t n, sf_mismatch *worst);
/* "element 17 [2, 5]": the worst element's place in v's shape at batch */
void sf_mismatch_describe(const sf_mismatch *w, const sf_value *v, int64_t batch, char *buf, size_t cap);

/* Each output of g (got[i] from `who`, want[i] from `oracle`) compared as
 * above; the first that disagrees fails with SF_ERR_RUNTIME: "check:
 * output 'output' element 17 [2, 5] at batch 3: cpu 0.5, interpreter 0.1 ...". */
sf_status sf_compare_outputs(const sf_graph *g, int64_t batch, const char *who, const char *oracle,
                             const float *const *got, const float *const *want, sf_error *err);

/* The reference interpreter: plain loops, double accumulators. Outputs are
 * added to `out` under their output names. */
sf_status sf_interp_run(const sf_graph *g, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                        sf_tensor_set *out, sf_error *err);
/* An elementwise node's value on single numbers: x as operand `side`, c as
 * the other (ignored for a unary op). hfuse asks what its padding lanes
 * come to; NaN where the op is not elementwise. */
float sf_interp_elementwise(const sf_node *n, int side, float x, float c);

#endif
