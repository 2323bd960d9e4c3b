/* Internal to the CPU backend: emitting one kernel per node. */
#ifndef SF_CPU_EMIT_H
#define SF_CPU_EMIT_H

#include <llvm-c/Core.h>

#include "codegen/plan.h"
#include "ir/ir.h"

typedef struct emit {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, i64, ptr, kernel_type;
    LLVMValueRef fn, args, batch; /* the kernel being emitted: its operands' pointers and B */
    LLVMValueRef lo, hi;          /* its share of its partitioned loop */
    bool zmm; /* the target has AVX-512's 32 registers of 16 lanes; else 16 of 8 (AVX2): smaller register blocks */
    /* LLVM may unroll loops of unknown trip count in this kernel: only in
     * kernels with a product, whose inner loops are hot (set_loop_hints) */
    bool unroll;
} emit;

/* A nested loop counter. */
typedef struct loop {
    LLVMBasicBlockRef head, body, exit;
    LLVMValueRef index, next;
} loop;

void em_loop_begin(emit *e, loop *l, LLVMValueRef limit, const char *name);
void em_loop_from(emit *e, loop *l, LLVMValueRef start, LLVMValueRef limit, const char *name);
/* the kernel's share of its partitioned loop: from lo to hi */
void em_part_loop_begin(emit *e, loop *l, const char *name);
void em_loop_end(emit *e, loop *l);
/* em_loop_end, asking the vectorizer to fold the remainder into a masked
 * vector step (short loops whose length is not a multiple of the lanes) */
void em_loop_end_masked(emit *e, loop *l);
LLVMValueRef em_const(emit *e, int64_t v);

/* A loop nest over every dim of a shape. */
typedef struct nest {
    loop l[SF_MAX_RANK];
    LLVMValueRef idx[SF_MAX_RANK];
    int rank;
} nest;
/* a nest over t; when `part`, dim 0 runs over the kernel's [lo, hi) */
void em_nest_open(emit *e, nest *n, const sf_type *t, bool part);
void em_nest_close(emit *e, nest *n);
/* offset of operand x (right-aligned to out, broadcast dims pinned) at the nest's index */
LLVMValueRef em_bcast_offset(emit *e, const nest *n, const sf_type *out, const sf_type *x);
/* a dim as an i64 value: the constant, or B */
LLVMValueRef em_dim(emit *e, int64_t d);
/* product of dims [from, to) of a type */
LLVMValueRef em_prod(emit *e, const sf_type *t, int from, int to);
/* the float* of the node's operand k (k < nin) or result k - nin */
LLVMValueRef em_arg(emit *e, int k);
LLVMValueRef em_load(emit *e, LLVMValueRef base, LLVMValueRef index);
void em_store(emit *e, LLVMValueRef base, LLVMValueRef index, LLVMValueRef v);
LLVMValueRef em_call_f32(emit *e, const char *name, LLVMValueRef x);
/* name(args...) for an f32 function of 1 to 3 f32 arguments (libm, llvm.* intrinsics) */
LLVMValueRef em_call_f32n(emit *e, const char *name, LLVMValueRef *args, int nargs);
static inline LLVMValueRef em_add(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(e->b, a, b, ""); }
/* a * k for a constant k */
static inline LLVMValueRef em_mulk(emit *e, LLVMValueRef a, int64_t k) { return LLVMBuildMul(e->b, a, em_const(e, k), ""); }
/* a stack slot in the kernel's entry block (mem2reg makes scalars registers) */
LLVMValueRef em_entry_alloca(emit *e, LLVMTypeRef t);

/* Emits kernel `name` for node n into e->mod; false (err set) when unsupported.
 * A kernel is void name(float **args, int64_t B, int64_t lo, int64_t hi):
 * args holds the node's operands then its results; it runs indices [lo, hi)
 * of its outermost loop, whose length em_extent gives, so that threads can
 * share it; an extent of 1 means a kernel that is not split. A kernel
 * depends only on the node's op, attributes and types (sf_node_signature),
 * so nodes that agree on those share one. */
bool em_kernel(emit *e, const sf_node *n, const char *name, sf_error *err);

int64_t em_extent(const sf_node *n, int64_t B);

/* whether op has a kernel of its own (sources and views do not) */
bool em_supports(sf_opcode op);
/* a unary op's map applied to one f32 value (cpu_unary.c) */
LLVMValueRef em_unary(emit *e, const sf_node *n, LLVMValueRef x);

/* exp, tanh and GELU as vectorizable f32 arithmetic, no libm calls (cpu_math.c) */
LLVMValueRef em_exp(emit *e, LLVMValueRef x);
/* e^x - 1 without the cancellation near 0 */
LLVMValueRef em_expm1(emit *e, LLVMValueRef x);
LLVMValueRef em_tanh(emit *e, LLVMValueRef x);
LLVMValueRef em_gelu(emit *e, LLVMValueRef x);
/* log x and log(1 + x): NaN below 0 (and below -1), -inf at 0 (at -1) */
LLVMValueRef em_log(emit *e, LLVMValueRef x);
LLVMValueRef em_log1p(emit *e, LLVMValueRef x);
/* x - tanh x without the cancellation near 0 */
LLVMValueRef em_tanhshrink(emit *e, LLVMValueRef x);
LLVMValueRef em_sincos(emit *e, LLVMValueRef x, bool cos_);
/* a * b + c, fused where the target has it */
LLVMValueRef em_fmuladd(emit *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
/* iota, tril/triu and gather (cpu_move.c) */
void em_iota(emit *e, const sf_node *n);
void em_triangle(emit *e, const sf_node *n);
void em_gather(emit *e, const sf_node *n);
/* convolutions (cpu_conv.c) */
void em_conv(emit *e, const sf_node *n);

/* products (cpu_product.c) */
void em_product(emit *e, const sf_node *n);
int64_t em_product_extent(const sf_node *n, int64_t B);
/* Whether operand k of n is passed packed (a product's weight, as W^T per
 * group), and the packing: `packed` has as many floats as the operand. */
bool em_packs_weight(const sf_node *n, int k);
/* `slice`: the k each run of the product covers where it is a chain's
 * product over all groups, run a group's slice at a time (em_summed_slice),
 * else 0 (its whole rows): the tail's layout depends on it. */
void em_pack_weight(const sf_node *n, int64_t slice, const float *w, float *packed);
/* A chain of the kernel plan (codegen/plan.h: sf_plan_chain_fits) runs as
 * one kernel that keeps each intermediate of ROWS rows of one group on the
 * stack. Its args are the plan kernel's: the first product's operands,
 * each later product's weight and bias, the result. Its extent is
 * em_chain_extent, which is not always the first product's own (a narrow
 * product alone runs another loop; a chain that sums over the groups
 * splits its rows only). */
int64_t em_chain_extent(const sf_node *const *nodes, int count, int64_t B);
/* node i's k per run where it is the product over all groups that ends a
 * chain of plan p (its rows' length over the groups), else 0 */
int64_t em_summed_slice(const sf_plan *p, int i);
void em_chain(emit *e, const sf_node *const *nodes, int count);
/* the chain as kernel `name` (sf_plan_chain_fits holds) */
bool em_chain_kernel(emit *e, const sf_node *const *nodes, int count, const char *name);

#endif
