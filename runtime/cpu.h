/*
 * The CPU backend: each compute node of a graph becomes a function emitted
 * as LLVM IR through the LLVM C API, optimised with default<O3> for the
 * host CPU and compiled by ORC LLJIT; the executor lays activations out in
 * one arena per run size by the memory plan and splits large kernels over
 * a thread pool. Every op of the IR on f32; other dtypes are refused.
 *
 * A model must not be used from two threads at once (it owns its arena).
 */
#ifndef SF_CPU_H
#define SF_CPU_H

#include "ir/tensor.h"

typedef struct sf_cpu_model sf_cpu_model;
struct sf_plan;

/* Whether this build has the CPU backend (LLVM found at configure time). */
bool sf_cpu_available(void);
/* Whether op has a CPU kernel of its own (sources and views need none). */
bool sf_cpu_supports(sf_opcode op);
/* The kernels' calling convention: how nodes map to kernels (signatures,
 * fused chains) and what each kernel's args hold. Object code made under
 * another number does not fit this sheaf's executor; bump it with any such
 * change. Packages record it. */
#define SF_CPU_ABI 8 /* 8: a summing chain's tail as a chunk by its slice (em_pack_weight); 7: products packed in chunks of 16 outputs (AVX-512 lanes); 6: tail outputs as W^T where they run as a masked chunk */

/* What native code is built for: LLVM's triple, CPU name and feature string. */
typedef struct sf_cpu_target {
    char triple[128];
    char cpu[64];
    char features[4096];
} sf_cpu_target;
sf_status sf_cpu_host(sf_cpu_target *t, sf_error *err);

/* Compiles a graph for this CPU; the weights are read at run time. */
sf_cpu_model *sf_cpu_compile(const sf_graph *g, sf_error *err);
/* A model from object code that sf_cpu_compile made for the same graph on a
 * CPU like this one (a package's); links it, compiles nothing. */
sf_cpu_model *sf_cpu_load_object(const sf_graph *g, const void *object, size_t size, sf_error *err);
/* Either of those on a plan made already (a model's: its own copy is made
 * and checked; NULL: planned from g): object NULL compiles, else links. */
sf_cpu_model *sf_cpu_prepare(const sf_graph *g, const struct sf_plan *plan, const void *object, size_t size,
                             sf_error *err);
/* The model's object code (owned by the model). */
void sf_cpu_object(const sf_cpu_model *m, const void **object, size_t *size);
/* Runs with tensors looked up by name; outputs are added to `out`. */
sf_status sf_cpu_run(sf_cpu_model *m, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                     sf_tensor_set *out, sf_error *err);
/* Runs with caller-owned memory, in the order of g->inputs, g->params and
 * g->outputs; sizes are the caller's to get right (sf_cpu_run checks them). */
sf_status sf_cpu_exec(sf_cpu_model *m, int64_t batch, const float *const *inputs, const float *const *params,
                      float *const *outputs, sf_error *err);
/* The graph the model runs (its own copy). */
const sf_graph *sf_cpu_graph(const sf_cpu_model *m);
/* The kernel plan it runs (codegen/plan.h), and how many distinct kernels
 * it compiled and linked for it. */
const struct sf_plan *sf_cpu_plan(const sf_cpu_model *m);
int sf_cpu_linked_kernels(const sf_cpu_model *m);
/* Whether large dense products call OpenBLAS (found at configure time),
 * and a switch to keep them in generated code (for comparisons). */
bool sf_cpu_has_blas(void);
void sf_cpu_set_blas(sf_cpu_model *m, bool use);
/* Whether convolutions the plan gives to oneDNN (found at configure time)
 * call it, and a switch to keep them in generated code; whether plan
 * kernel `kernel` runs through oneDNN now. */
void sf_cpu_set_dnnl(sf_cpu_model *m, bool use);
bool sf_cpu_uses_dnnl(const sf_cpu_model *m, size_t kernel);
/* Poisoning: before each run every activation byte is set to NaN, so that an element read before anything wrote it shows as
 * NaN in the results. On by default where SHEAF_POISON is set (the test
 * suite sets it); sf_options.poison and `--poison` turn it on too. */
void sf_cpu_set_poison(sf_cpu_model *m, bool on);
/* The weights' values changed in place: the next run packs them again. */
void sf_cpu_weights_changed(sf_cpu_model *m);
/* Threads for later runs: 0 means one per CPU this process may use. */
void sf_cpu_set_threads(sf_cpu_model *m, int threads);
int sf_cpu_threads(const sf_cpu_model *m);
/* Activation bytes the memory plan lays out at a batch size; false on overflow. */
bool sf_cpu_planned_bytes(const sf_cpu_model *m, int64_t batch, size_t *bytes);
/* Bytes of the activation arena allocated so far (the largest run size). */
size_t sf_cpu_arena_bytes(const sf_cpu_model *m);
void sf_cpu_free(sf_cpu_model *m);

#endif
