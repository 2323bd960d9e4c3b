/* Kernel emission for the CPU backend: plain loop nests in LLVM IR over
 * contiguous row-major buffers; LLVM's O3 pipeline vectorises the inner
 * loops. Accumulations are in f32 with fused multiply-add. */
#include <stdlib.h>

#include <llvm-c/DebugInfo.h>

#include "codegen/cpu_emit.h"
#include "codegen/kernel_key.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

LLVMValueRef em_const(emit *e, int64_t v) { return LLVMConstInt(e->i64, (unsigned long long)v, 1); }

LLVMValueRef em_dim(emit *e, int64_t d) { return d == SF_DIM_B ? e->batch : em_const(e, d); }

LLVMValueRef em_prod(emit *e, const sf_type *t, int from, int to)
{
    LLVMValueRef p = em_const(e, 1);
    for (int i = from; i < to; i++)
        p = LLVMBuildMul(e->b, p, em_dim(e, t->dim[i]), "");
    return p;
}

static LLVMValueRef mul(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildMul(e->b, a, b, ""); }
static LLVMValueRef add(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(e->b, a, b, ""); }

/* the pointer at args[k], k known at run time only */
static LLVMValueRef arg_at(emit *e, LLVMValueRef k)
{
    return LLVMBuildLoad2(e->b, e->ptr, LLVMBuildGEP2(e->b, e->ptr, e->args, &k, 1, ""), "");
}

LLVMValueRef em_arg(emit *e, int k) { return arg_at(e, em_const(e, k)); }

LLVMValueRef em_load(emit *e, LLVMValueRef base, LLVMValueRef index)
{
    return LLVMBuildLoad2(e->b, e->f32, LLVMBuildGEP2(e->b, e->f32, base, &index, 1, ""), "");
}

void em_store(emit *e, LLVMValueRef base, LLVMValueRef index, LLVMValueRef v)
{
    LLVMBuildStore(e->b, v, LLVMBuildGEP2(e->b, e->f32, base, &index, 1, ""));
}

static LLVMValueRef declare_f32_fn(emit *e, const char *name, int nargs)
{
    LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
    if (!f) {
        LLVMTypeRef args[3] = {e->f32, e->f32, e->f32};
        f = LLVMAddFunction(e->mod, name, LLVMFunctionType(e->f32, args, (unsigned)nargs, 0));
    }
    return f;
}

LLVMValueRef em_call_f32n(emit *e, const char *name, LLVMValueRef *args, int nargs)
{
    LLVMValueRef f = declare_f32_fn(e, name, nargs);
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, (unsigned)nargs, "");
}

LLVMValueRef em_call_f32(emit *e, const char *name, LLVMValueRef x) { return em_call_f32n(e, name, &x, 1); }

LLVMValueRef em_fmuladd(emit *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMValueRef args[3] = {a, b, c};
    return em_call_f32n(e, "llvm.fmuladd.f32", args, 3);
}

static LLVMValueRef fconst(emit *e, double v) { return LLVMConstReal(e->f32, v); }

/* for (i = 0; i < limit; i++): the body block is current after begin */
void em_loop_begin(emit *e, loop *l, LLVMValueRef limit, const char *name)
{
    em_loop_from(e, l, em_const(e, 0), limit, name);
}

/* the kernel's share of its partitioned loop: [lo, hi) */
void em_part_loop_begin(emit *e, loop *l, const char *name) { em_loop_from(e, l, e->lo, e->hi, name); }

void em_loop_from(emit *e, loop *l, LLVMValueRef start, LLVMValueRef limit, const char *name)
{
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    l->head = LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
    l->body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
    l->exit = LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
    LLVMBuildBr(e->b, l->head);
    LLVMPositionBuilderAtEnd(e->b, l->head);
    l->index = LLVMBuildPhi(e->b, e->i64, name);
    LLVMAddIncoming(l->index, &start, &pre, 1);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, l->index, limit, ""), l->body, l->exit);
    LLVMPositionBuilderAtEnd(e->b, l->body);
}

/* !{!"name"} or !{!"name", i1 true}: one loop hint */
static LLVMMetadataRef hint(emit *e, const char *name, bool with_true)
{
    LLVMMetadataRef pair[2] = {LLVMMDStringInContext2(e->ctx, name, strlen(name)),
                               LLVMValueAsMetadata(LLVMConstInt(LLVMInt1TypeInContext(e->ctx), 1, 0))};
    return LLVMMDNodeInContext2(e->ctx, pair, with_true ? 2 : 1);
}

/* the loop's back edge gets llvm.loop !{self, hints...}: masked asks the
 * vectorizer to run the remainder as one masked vector step instead of
 * scalar iterations; outside a product kernel (e->unroll false) a loop of
 * unknown trip count is not unrolled at run time. LLVM unrolled the
 * vectorized loops and their vector epilogues of copies and maps into
 * 40,000 lines of IR for Moves(6, 3)'s 25 kernels; without it the CPU
 * backend compiles Moves in 0.53 s instead of 2.1, Activations(6, 5) in
 * 0.56 s instead of 1.8, Reductions(6, 8, 3) in 1.6 s instead of 4.5, and
 * their kernels run as fast (within this VM's noise, batch 1 to 4096).
 * Full unrolling of short constant loops stays: without it softmax over 6
 * elements ran 4x slower. Products keep runtime unrolling too. */
static void set_loop_hints(emit *e, loop *l, bool masked)
{
    if (!masked && e->unroll)
        return; /* no hints */
    LLVMMetadataRef self = LLVMTemporaryMDNode(e->ctx, NULL, 0), ops[4] = {self};
    unsigned n = 1;
    if (masked) {
        ops[n++] = hint(e, "llvm.loop.vectorize.enable", true);
        ops[n++] = hint(e, "llvm.loop.vectorize.predicate.enable", true);
    }
    if (!e->unroll)
        ops[n++] = hint(e, "llvm.loop.unroll.runtime.disable", false);
    LLVMMetadataRef md = LLVMMDNodeInContext2(e->ctx, ops, n);
    LLVMMetadataReplaceAllUsesWith(self, md);
    LLVMValueRef br = LLVMGetLastInstruction(LLVMGetIncomingBlock(l->index, 1)); /* the back edge */
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(e->ctx, "llvm.loop", 9), LLVMMetadataAsValue(e->ctx, md));
}

static void close_loop(emit *e, loop *l)
{
    LLVMValueRef next = LLVMBuildAdd(e->b, l->index, em_const(e, 1), "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(e->b);
    LLVMAddIncoming(l->index, &next, &from, 1);
    LLVMBuildBr(e->b, l->head);
    LLVMPositionBuilderAtEnd(e->b, l->exit);
}

void em_loop_end(emit *e, loop *l)
{
    close_loop(e, l);
    set_loop_hints(e, l, false);
}

void em_loop_end_masked(emit *e, loop *l)
{
    close_loop(e, l);
    set_loop_hints(e, l, true);
}

/* ---- loop nests over a shape ---- */

/* a nest over t; when `part`, dim 0 runs over the kernel's [lo, hi) */
void em_nest_open(emit *e, nest *n, const sf_type *t, bool part)
{
    n->rank = t->rank;
    for (int d = 0; d < t->rank; d++) {
        if (d == 0 && part)
            em_part_loop_begin(e, &n->l[d], "d");
        else
            em_loop_begin(e, &n->l[d], em_dim(e, t->dim[d]), "d");
        n->idx[d] = n->l[d].index;
    }
}

void em_nest_close(emit *e, nest *n)
{
    for (int d = n->rank - 1; d >= 0; d--)
        em_loop_end(e, &n->l[d]);
}

/* offset of operand x (right-aligned to out, broadcast dims pinned) at the nest's index */
LLVMValueRef em_bcast_offset(emit *e, const nest *n, const sf_type *out, const sf_type *x)
{
    LLVMValueRef off = em_const(e, 0), stride = em_const(e, 1);
    for (int d = x->rank - 1; d >= 0; d--) {
        int od = d + (out->rank - x->rank);
        if (x->dim[d] != 1)
            off = LLVMBuildAdd(e->b, off, LLVMBuildMul(e->b, n->idx[od], stride, ""), "");
        stride = LLVMBuildMul(e->b, stride, em_dim(e, x->dim[d]), "");
    }
    return off;
}

LLVMValueRef em_entry_alloca(emit *e, LLVMTypeRef t)
{
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
    LLVMValueRef first = LLVMGetFirstInstruction(LLVMGetEntryBasicBlock(e->fn));
    if (first)
        LLVMPositionBuilderBefore(e->b, first);
    else
        LLVMPositionBuilderAtEnd(e->b, LLVMGetEntryBasicBlock(e->fn));
    LLVMValueRef a = LLVMBuildAlloca(e->b, t, "slot");
    LLVMPositionBuilderAtEnd(e->b, cur);
    return a;
}

static LLVMValueRef accumulator(emit *e) { return em_entry_alloca(e, e->f32); }

/* ---- kernels ---- */

/* The memory plan often gives a result its operand's bytes. A loop that
 * reads and writes through two pointers that may be equal fails LLVM's
 * overlap check and runs scalar (3-15x slower for tanh or silu); one that
 * reads and writes the same pointer needs no check. So the loop is emitted
 * once per operand that may be the result (body's `same`, whose pointer it
 * then reads through the result's) and once for none (-1). */
typedef void (*loop_body)(emit *e, const sf_node *n, int same);

static void split_on_alias(emit *e, const sf_node *n, int k, loop_body body)
{
    if (k == n->nin) {
        body(e, n, -1);
        return;
    }
    if (!sf_type_equal(&n->in[k]->type, &n->out[0]->type)) {
        split_on_alias(e, n, k + 1, body); /* broadcast: not the result's bytes (if so, the checked loop runs) */
        return;
    }
    LLVMBasicBlockRef same = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "same");
    LLVMBasicBlockRef apart = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "apart");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "done");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntEQ, em_arg(e, k), em_arg(e, n->nin), ""), same, apart);
    LLVMPositionBuilderAtEnd(e->b, same);
    body(e, n, k);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, apart);
    split_on_alias(e, n, k + 1, body);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
}

/* operand k, or the result's pointer where the loop runs for `same` == k */
static LLVMValueRef operand(emit *e, const sf_node *n, int k, int same)
{
    return em_arg(e, same == k ? n->nin : k);
}

static void unary_loop(emit *e, const sf_node *n, int same)
{
    LLVMValueRef in = operand(e, n, 0, same), out = em_arg(e, n->nin + 0);
    loop l;
    em_part_loop_begin(e, &l, "i");
    em_store(e, out, l.index, em_unary(e, n, em_load(e, in, l.index)));
    em_loop_end(e, &l);
}

static void k_unary(emit *e, const sf_node *n) { split_on_alias(e, n, 0, unary_loop); }

/* v into an accumulator: added (sum, mean), multiplied (prod), or the
 * larger or smaller kept with NaN winning (amax, amin, maximum, minimum;
 * selects: maxnum would drop the NaN) */
static LLVMValueRef reduce_step(emit *e, sf_opcode op, LLVMValueRef acc, LLVMValueRef v)
{
    if (op == SF_OP_PROD)
        return LLVMBuildFMul(e->b, acc, v, "");
    if (op != SF_OP_AMAX && op != SF_OP_AMIN)
        return LLVMBuildFAdd(e->b, acc, v, "");
    LLVMValueRef wins = LLVMBuildFCmp(e->b, op == SF_OP_AMAX ? LLVMRealUGT : LLVMRealULT, v, acc, ""); /* or NaN */
    LLVMValueRef keep_nan = LLVMBuildFCmp(e->b, LLVMRealUNO, acc, acc, "");
    return LLVMBuildSelect(e->b, LLVMBuildAnd(e->b, wins, LLVMBuildNot(e->b, keep_nan, ""), ""), v, acc, "");
}

/* a comparison's predicate: ordered (false with a NaN) but for ne, as C and torch */
static LLVMRealPredicate predicate(sf_opcode op)
{
    switch (op) {
    case SF_OP_EQ: return LLVMRealOEQ;
    case SF_OP_NE: return LLVMRealUNE;
    case SF_OP_LT: return LLVMRealOLT;
    case SF_OP_LE: return LLVMRealOLE;
    case SF_OP_GT: return LLVMRealOGT;
    default: return LLVMRealOGE;
    }
}

/* a binary op on x and y; a comparison gives the mask as 1.0 or 0.0 */
static LLVMValueRef combine(emit *e, sf_opcode op, LLVMValueRef x, LLVMValueRef y)
{
    switch (op) {
    case SF_OP_ADD: return LLVMBuildFAdd(e->b, x, y, "");
    case SF_OP_SUB: return LLVMBuildFSub(e->b, x, y, "");
    case SF_OP_MUL: return LLVMBuildFMul(e->b, x, y, "");
    case SF_OP_DIV: return LLVMBuildFDiv(e->b, x, y, "");
    case SF_OP_MAXIMUM: return reduce_step(e, SF_OP_AMAX, y, x);
    case SF_OP_MINIMUM: return reduce_step(e, SF_OP_AMIN, y, x);
    default:
        return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, predicate(op), x, y, ""), fconst(e, 1), fconst(e, 0), "");
    }
}

static void binary_loop(emit *e, const sf_node *n, int same)
{
    const sf_type *ot = &n->out[0]->type;
    LLVMValueRef a = operand(e, n, 0, same), b = operand(e, n, 1, same), out = em_arg(e, n->nin + 0);
    nest ne;
    em_nest_open(e, &ne, ot, true);
    LLVMValueRef x = em_load(e, a, em_bcast_offset(e, &ne, ot, &n->in[0]->type));
    LLVMValueRef y = em_load(e, b, em_bcast_offset(e, &ne, ot, &n->in[1]->type));
    em_store(e, out, em_bcast_offset(e, &ne, ot, ot), combine(e, n->op, x, y));
    em_nest_close(e, &ne);
}

static void k_binary(emit *e, const sf_node *n) { split_on_alias(e, n, 0, binary_loop); }

static void where_loop(emit *e, const sf_node *n, int same)
{
    const sf_type *ot = &n->out[0]->type;
    LLVMValueRef c = operand(e, n, 0, same), a = operand(e, n, 1, same), b = operand(e, n, 2, same);
    nest ne;
    em_nest_open(e, &ne, ot, true);
    LLVMValueRef cv = em_load(e, c, em_bcast_offset(e, &ne, ot, &n->in[0]->type));
    LLVMValueRef x = em_load(e, a, em_bcast_offset(e, &ne, ot, &n->in[1]->type));
    LLVMValueRef y = em_load(e, b, em_bcast_offset(e, &ne, ot, &n->in[2]->type));
    LLVMValueRef holds = LLVMBuildFCmp(e->b, LLVMRealUNE, cv, fconst(e, 0), "");
    em_store(e, em_arg(e, n->nin + 0), em_bcast_offset(e, &ne, ot, ot), LLVMBuildSelect(e->b, holds, x, y, ""));
    em_nest_close(e, &ne);
}

static void k_where(emit *e, const sf_node *n) { split_on_alias(e, n, 0, where_loop); }

static void k_full(emit *e, const sf_node *n)
{
    loop l;
    em_part_loop_begin(e, &l, "i");
    em_store(e, em_arg(e, 0), l.index, fconst(e, sf_attr_value(n)));
    em_loop_end(e, &l);
}

/* matmul: batch dims broadcast; out[.., i, j] = sum_k a[.., i, k] b[.., k, j].
 * The row and column counts are values: either may be the batch (x @ W
 * with x [B, K] has B rows). */
static void k_matmul(emit *e, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type, *at = &n->in[0]->type, *bt = &n->in[1]->type;
    LLVMValueRef Mi = em_dim(e, at->dim[at->rank - 2]), K = em_dim(e, at->dim[at->rank - 1]);
    LLVMValueRef N = em_dim(e, bt->dim[bt->rank - 1]);
    sf_type obatch = *ot, abatch = *at, bbatch = *bt;
    obatch.rank -= 2, abatch.rank -= 2, bbatch.rank -= 2;
    LLVMValueRef a = em_arg(e, 0), b = em_arg(e, 1), out = em_arg(e, n->nin + 0), acc = accumulator(e);
    nest ne;
    em_nest_open(e, &ne, &obatch, false);
    LLVMValueRef abase = mul(e, em_bcast_offset(e, &ne, &obatch, &abatch), mul(e, Mi, K));
    LLVMValueRef bbase = mul(e, em_bcast_offset(e, &ne, &obatch, &bbatch), mul(e, K, N));
    LLVMValueRef obase = mul(e, em_bcast_offset(e, &ne, &obatch, &obatch), mul(e, Mi, N));
    loop li, lj, lk;
    em_loop_begin(e, &li, Mi, "i");
    em_loop_begin(e, &lj, N, "j");
    LLVMBuildStore(e->b, fconst(e, 0), acc);
    em_loop_begin(e, &lk, K, "k");
    LLVMValueRef av = em_load(e, a, add(e, abase, add(e, mul(e, li.index, K), lk.index)));
    LLVMValueRef bv = em_load(e, b, add(e, bbase, add(e, mul(e, lk.index, N), lj.index)));
    LLVMBuildStore(e->b, em_fmuladd(e, av, bv, LLVMBuildLoad2(e->b, e->f32, acc, "")), acc);
    em_loop_end(e, &lk);
    em_store(e, out, add(e, obase, add(e, mul(e, li.index, N), lj.index)), LLVMBuildLoad2(e->b, e->f32, acc, ""));
    em_loop_end(e, &lj);
    em_loop_end(e, &li);
    em_nest_close(e, &ne);
}

/* copies a [outer, len, inner] block: dst[o, at + j, i] = src[o, from + j*step, i]; o runs over the
 * kernel's share of outer */
static void copy_block(emit *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef inner, LLVMValueRef len,
                       LLVMValueRef dst_len, LLVMValueRef at, LLVMValueRef src_len, LLVMValueRef from, int64_t step)
{
    loop lo, lj, li;
    em_part_loop_begin(e, &lo, "o");
    em_loop_begin(e, &lj, len, "j");
    em_loop_begin(e, &li, inner, "i");
    LLVMValueRef s = add(e, mul(e, lo.index, src_len), add(e, from, mul(e, lj.index, em_const(e, step))));
    LLVMValueRef d = add(e, mul(e, lo.index, dst_len), add(e, at, lj.index));
    LLVMValueRef sv = em_load(e, src, add(e, mul(e, s, inner), li.index));
    em_store(e, dst, add(e, mul(e, d, inner), li.index), sv);
    em_loop_end(e, &li);
    em_loop_end(e, &lj);
    em_loop_end(e, &lo);
}

/* element i of a constant i64 table in the module */
static LLVMValueRef table_at(emit *e, const int64_t *v, int n, LLVMValueRef i)
{
    LLVMTypeRef i64 = LLVMInt64TypeInContext(e->ctx), at = LLVMArrayType(i64, (unsigned)n);
    LLVMValueRef *c = malloc(sizeof *c * (size_t)n);
    for (int k = 0; k < n; k++)
        c[k] = LLVMConstInt(i64, (unsigned long long)v[k], 0);
    LLVMValueRef g = LLVMAddGlobal(e->mod, at, "table");
    LLVMSetInitializer(g, LLVMConstArray(i64, c, (unsigned)n));
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    free(c);
    LLVMValueRef idx[2] = {em_const(e, 0), i};
    return LLVMBuildLoad2(e->b, i64, LLVMBuildGEP2(e->b, at, g, idx, 2, ""), "");
}

/* whether values v[0..count) all have the same extent along dim d */
static bool equal_parts(sf_value *const *v, int count, int d)
{
    for (int k = 1; k < count; k++)
        if (v[k]->type.dim[d] != v[0]->type.dim[d])
            return false;
    return true;
}

/* Concat, split and stack move equal parts in a loop over their pointers at
 * run time, so that a kernel for a thousand operands stays small; unequal
 * parts are unrolled. `first` is the args index of part 0, `whole` the
 * joined value's extent along the dim and `part` each part's. */
static void copy_parts(emit *e, bool join, LLVMValueRef whole_buf, int first, int count, sf_value *const *parts,
                       int d, int64_t whole, LLVMValueRef inner)
{
    /* each part's extent and place along d: constants when the parts are equal, else
     * read from two tables (an unrolled copy per part made LLVM take minutes for 1000) */
    int64_t *len = malloc(sizeof *len * (size_t)count), *at = malloc(sizeof *at * (size_t)count), sum = 0;
    for (int k = 0; k < count; k++)
        len[k] = parts[k]->type.dim[d], at[k] = sum, sum += len[k];
    bool equal = equal_parts(parts, count, d);
    loop lp;
    em_loop_begin(e, &lp, em_const(e, count), "p");
    LLVMValueRef buf = arg_at(e, add(e, lp.index, em_const(e, first)));
    LLVMValueRef part = equal ? em_const(e, len[0]) : table_at(e, len, count, lp.index);
    LLVMValueRef where = equal ? mul(e, lp.index, em_const(e, len[0])) : table_at(e, at, count, lp.index);
    LLVMValueRef zero = em_const(e, 0), all = em_const(e, whole);
    if (join)
        copy_block(e, whole_buf, buf, inner, part, all, where, part, zero, 1);
    else
        copy_block(e, buf, whole_buf, inner, part, part, zero, all, where, 1);
    em_loop_end(e, &lp);
    free(len), free(at);
}

static void k_concat(emit *e, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type;
    int d = (int)sf_attr_dim(n);
    copy_parts(e, true, em_arg(e, n->nin), 0, n->nin, n->in, d, ot->dim[d], em_prod(e, ot, d + 1, ot->rank));
}

static void k_slice(emit *e, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type, *ot = &n->out[0]->type;
    int d = (int)sf_attr_dim(n);
        /* the executor passes the operand from `start` on (sf_kernel_arg_offset) */
    copy_block(e, em_arg(e, n->nin + 0), em_arg(e, 0), em_prod(e, it, d + 1, it->rank), em_const(e, ot->dim[d]),
               em_const(e, ot->dim[d]), em_const(e, 0), em_const(e, it->dim[d]), em_const(e, 0), sf_attr_step(n));
}

/* sum/mean/prod/amax/amin: the result set to the identity, every input
 * element combined into its place, mean's scale */
static void k_reduce(emit *e, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type, *ot = &n->out[0]->type;
    const sf_attr *dims = sf_attr_dims(n);
    bool red[SF_MAX_RANK] = {0};
    for (int i = 0; i < dims->n; i++)
        red[dims->ints[i]] = true;
    LLVMValueRef x = em_arg(e, 0), out = em_arg(e, n->nin + 0);
    double identity = n->op == SF_OP_PROD ? 1 : n->op == SF_OP_AMAX ? -INFINITY : n->op == SF_OP_AMIN ? INFINITY : 0;
    loop lz;
    LLVMValueRef total = em_prod(e, ot, 0, ot->rank);
    em_loop_begin(e, &lz, total, "z");
    em_store(e, out, lz.index, fconst(e, identity));
    em_loop_end(e, &lz);
    nest ne;
    em_nest_open(e, &ne, it, false);
    LLVMValueRef oi = em_const(e, 0), stride = em_const(e, 1);
    for (int d = it->rank - 1; d >= 0; d--)
        if (!red[d]) {
            oi = LLVMBuildAdd(e->b, oi, LLVMBuildMul(e->b, ne.idx[d], stride, ""), "");
            stride = LLVMBuildMul(e->b, stride, em_dim(e, it->dim[d]), "");
        }
    LLVMValueRef v = reduce_step(e, n->op, em_load(e, out, oi), em_load(e, x, em_bcast_offset(e, &ne, it, it)));
    em_store(e, out, oi, v);
    em_nest_close(e, &ne);
    if (n->op == SF_OP_MEAN) {
        LLVMValueRef count = em_const(e, 1);
        for (int d = 0; d < it->rank; d++)
            if (red[d])
                count = LLVMBuildMul(e->b, count, em_dim(e, it->dim[d]), "");
        LLVMValueRef inv = LLVMBuildFDiv(e->b, fconst(e, 1), LLVMBuildSIToFP(e->b, count, e->f32, ""), "");
        loop ls;
        em_loop_begin(e, &ls, total, "s");
        em_store(e, out, ls.index, LLVMBuildFMul(e->b, em_load(e, out, ls.index), inv, ""));
        em_loop_end(e, &ls);
    }
}

static void k_batchnorm(emit *e, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type;
    LLVMValueRef x = em_arg(e, 0), mean = em_arg(e, 1), var = em_arg(e, 2);
    LLVMValueRef gam = n->nin == 5 ? em_arg(e, 3) : NULL, bet = n->nin == 5 ? em_arg(e, 4) : NULL;
    LLVMValueRef out = em_arg(e, n->nin + 0);
    loop lb, lc, li;
    em_part_loop_begin(e, &lb, "b");
    em_loop_begin(e, &lc, em_const(e, xt->dim[1]), "c");
    LLVMValueRef s = LLVMBuildFDiv(e->b, gam ? em_load(e, gam, lc.index) : fconst(e, 1),
                                   em_call_f32(e, "llvm.sqrt.f32", LLVMBuildFAdd(e->b, em_load(e, var, lc.index),
                                                                                 fconst(e, sf_attr_eps(n)), "")), "");
    LLVMValueRef m = em_load(e, mean, lc.index), sh = bet ? em_load(e, bet, lc.index) : fconst(e, 0);
    LLVMValueRef inner = em_prod(e, xt, 2, xt->rank);
    LLVMValueRef row = LLVMBuildMul(e->b, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lb.index, em_const(e, xt->dim[1]), ""),
                                                       lc.index, ""), inner, "");
    em_loop_begin(e, &li, inner, "i");
    LLVMValueRef at = LLVMBuildAdd(e->b, row, li.index, "");
    em_store(e, out, at, em_fmuladd(e, LLVMBuildFSub(e->b, em_load(e, x, at), m, ""), s, sh));
    em_loop_end(e, &li);
    em_loop_end(e, &lc);
    em_loop_end(e, &lb);
}

/* layernorm over the trailing ndim dims; softmax along one dim */
static void k_normalise(emit *e, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type;
    bool ln = n->op == SF_OP_LAYERNORM, logs = n->op == SF_OP_LOG_SOFTMAX;
    int d = ln ? xt->rank - (int)sf_attr_ndim(n) : (int)sf_attr_dim(n);
    LLVMValueRef len = em_prod(e, xt, d, ln ? xt->rank : d + 1);
    LLVMValueRef inner = ln ? em_const(e, 1) : em_prod(e, xt, d + 1, xt->rank);
    LLVMValueRef x = em_arg(e, 0), out = em_arg(e, n->nin + 0);
    LLVMValueRef w = ln && n->nin > 1 ? em_arg(e, 1) : NULL, b = ln && n->nin > 2 ? em_arg(e, 2) : NULL;
    LLVMValueRef a1 = accumulator(e), a2 = accumulator(e);
    loop lo, li, lj;
    em_part_loop_begin(e, &lo, "o");
    em_loop_begin(e, &li, inner, "i");
    LLVMValueRef base = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, LLVMBuildMul(e->b, lo.index, len, ""), inner, ""), li.index, "");
#define AT(j) LLVMBuildAdd(e->b, base, LLVMBuildMul(e->b, (j), inner, ""), "")
    /* pass 1: mean (layernorm) or max (softmax) */
    LLVMBuildStore(e->b, ln ? fconst(e, 0) : fconst(e, -3.4028234663852886e38), a1);
    em_loop_begin(e, &lj, len, "j");
    LLVMValueRef v = em_load(e, x, AT(lj.index)), cur = LLVMBuildLoad2(e->b, e->f32, a1, "");
    LLVMBuildStore(e->b, ln ? LLVMBuildFAdd(e->b, cur, v, "")
                            : LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, v, cur, ""), v, cur, ""), a1);
    em_loop_end(e, &lj);
    LLVMValueRef lenf = LLVMBuildSIToFP(e->b, len, e->f32, "");
    LLVMValueRef c1 = ln ? LLVMBuildFDiv(e->b, LLVMBuildLoad2(e->b, e->f32, a1, ""), lenf, "") : LLVMBuildLoad2(e->b, e->f32, a1, "");
    /* pass 2: variance (layernorm) or the sum of exponentials (softmax) */
    LLVMBuildStore(e->b, fconst(e, 0), a2);
    em_loop_begin(e, &lj, len, "j");
    LLVMValueRef dv = LLVMBuildFSub(e->b, em_load(e, x, AT(lj.index)), c1, "");
    LLVMValueRef term = ln ? LLVMBuildFMul(e->b, dv, dv, "") : em_exp(e, dv);
    LLVMBuildStore(e->b, LLVMBuildFAdd(e->b, LLVMBuildLoad2(e->b, e->f32, a2, ""), term, ""), a2);
    em_loop_end(e, &lj);
    LLVMValueRef c2 = ln ? LLVMBuildFDiv(e->b, fconst(e, 1),
                                         em_call_f32(e, "llvm.sqrt.f32", LLVMBuildFAdd(e->b,
                                                     LLVMBuildFDiv(e->b, LLVMBuildLoad2(e->b, e->f32, a2, ""), lenf, ""),
                                                     fconst(e, sf_attr_eps(n)), "")), "")
                 : logs ? em_log(e, LLVMBuildLoad2(e->b, e->f32, a2, ""))
                        : LLVMBuildFDiv(e->b, fconst(e, 1), LLVMBuildLoad2(e->b, e->f32, a2, ""), "");
    /* pass 3: write */
    em_loop_begin(e, &lj, len, "j");
    LLVMValueRef dv3 = LLVMBuildFSub(e->b, em_load(e, x, AT(lj.index)), c1, "");
    LLVMValueRef r = ln ? LLVMBuildFMul(e->b, dv3, c2, "")
                 : logs ? LLVMBuildFSub(e->b, dv3, c2, "")
                        : LLVMBuildFMul(e->b, em_exp(e, dv3), c2, "");
    if (w)
        r = LLVMBuildFMul(e->b, r, em_load(e, w, lj.index), "");
    if (b)
        r = LLVMBuildFAdd(e->b, r, em_load(e, b, lj.index), "");
    em_store(e, out, AT(lj.index), r);
    em_loop_end(e, &lj);
#undef AT
    em_loop_end(e, &li);
    em_loop_end(e, &lo);
}

static void k_split(emit *e, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type;
    int d = (int)sf_attr_dim(n);
    copy_parts(e, false, em_arg(e, 0), n->nin, n->nout, n->out, d, it->dim[d], em_prod(e, it, d + 1, it->rank));
}

/* stack along d: a concat of [.., 1, ..] parts */
static void k_stack(emit *e, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type;
    int d = (int)sf_attr_dim(n);
    LLVMValueRef out = em_arg(e, n->nin), inner = em_prod(e, it, d, it->rank);
    loop lp;
    em_loop_begin(e, &lp, em_const(e, n->nin), "p");
    copy_block(e, out, arg_at(e, lp.index), inner, em_const(e, 1), em_const(e, n->nin), lp.index, em_const(e, 1),
               em_const(e, 0), 1);
    em_loop_end(e, &lp);
}

static void k_transpose(emit *e, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type, *ot = &n->out[0]->type;
    int d0 = (int)sf_attr_dim0(n), d1 = (int)sf_attr_dim1(n);
    LLVMValueRef in = em_arg(e, 0), out = em_arg(e, n->nin + 0);
    nest ne;
    em_nest_open(e, &ne, ot, false);
    LLVMValueRef src = em_const(e, 0), stride = em_const(e, 1);
    for (int d = it->rank - 1; d >= 0; d--) { /* input dim d is output dim d with d0, d1 swapped */
        int od = d == d0 ? d1 : d == d1 ? d0 : d;
        src = LLVMBuildAdd(e->b, src, LLVMBuildMul(e->b, ne.idx[od], stride, ""), "");
        stride = LLVMBuildMul(e->b, stride, em_dim(e, it->dim[d]), "");
    }
    em_store(e, out, em_bcast_offset(e, &ne, ot, ot), em_load(e, in, src));
    em_nest_close(e, &ne);
}

/* a kernel of these nodes (one, or a chain's members) */
static void begin_kernel(emit *e, const char *name, const sf_node *const *nodes, int count)
{
    e->unroll = false;
    for (int k = 0; k < count; k++)
        e->unroll = e->unroll || sf_op_cls(nodes[k]->op) == SF_OPCLS_PRODUCT;
    e->fn = LLVMAddFunction(e->mod, name, e->kernel_type);
    e->args = LLVMGetParam(e->fn, 0);
    e->batch = LLVMGetParam(e->fn, 1);
    e->lo = LLVMGetParam(e->fn, 2);
    e->hi = LLVMGetParam(e->fn, 3);
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, e->fn, "entry"));
}

bool em_chain_kernel(emit *e, const sf_node *const *nodes, int count, const char *name)
{
    begin_kernel(e, name, nodes, count);
    em_chain(e, nodes, count);
    LLVMBuildRetVoid(e->b);
    return true;
}

static void k_scalar(emit *e, const sf_node *n)
{
    em_store(e, em_arg(e, n->nin + 0), em_const(e, 0), fconst(e, sf_attr_value(n)));
}

/* How a kernel's outermost loop, the one threads share, is counted. */
typedef enum work {
    W_ONE,         /* not partitioned: the kernel ignores [lo, hi) */
    W_ALL,         /* every element of the result */
    W_ROWS,        /* the result's first dim */
    W_BEFORE_DIM,  /* the operand's dims before attribute dim */
    W_BEFORE_NDIM, /* the operand's dims before its last ndim */
    W_PRODUCT,     /* em_product_extent */
    W_CONV,        /* batch x output channels */
} work;

/* Every op's CPU rule: its kernel (NULL: none, the executor handles it or
 * refuses it) and its work; a unary op's map is its u_<ID> in
 * cpu_unary.c. A new op in ops.def without a line here fails the build. */
typedef struct cpu_rule {
    void (*kernel)(emit *e, const sf_node *n);
    work work;
} cpu_rule;

#define CPU_INPUT {NULL, W_ONE}
#define CPU_PARAM {NULL, W_ONE}
#define CPU_SCALAR {k_scalar, W_ONE}
#define CPU_LINEAR {em_product, W_PRODUCT}
#define CPU_MATMUL {k_matmul, W_ONE}
#define CPU_GROUPED_LINEAR {em_product, W_PRODUCT}
#define CPU_CONV1D {em_conv, W_CONV}
#define CPU_CONV2D {em_conv, W_CONV}
#define CPU_BATCHNORM {k_batchnorm, W_ROWS}
#define CPU_LAYERNORM {k_normalise, W_BEFORE_NDIM}
#define CPU_ADD {k_binary, W_ROWS}
#define CPU_SUB {k_binary, W_ROWS}
#define CPU_MUL {k_binary, W_ROWS}
#define CPU_DIV {k_binary, W_ROWS}
#define CPU_MAXIMUM {k_binary, W_ROWS}
#define CPU_MINIMUM {k_binary, W_ROWS}
#define CPU_RELU {k_unary, W_ALL}
#define CPU_GELU {k_unary, W_ALL}
#define CPU_TANH {k_unary, W_ALL}
#define CPU_SIGMOID {k_unary, W_ALL}
#define CPU_SILU {k_unary, W_ALL}
#define CPU_LEAKY_RELU {k_unary, W_ALL}
#define CPU_ELU {k_unary, W_ALL}
#define CPU_CLAMP {k_unary, W_ALL}
#define CPU_ABS {k_unary, W_ALL}
#define CPU_NEG {k_unary, W_ALL}
#define CPU_SIGN {k_unary, W_ALL}
#define CPU_FLOOR {k_unary, W_ALL}
#define CPU_ROUND {k_unary, W_ALL}
#define CPU_SQRT {k_unary, W_ALL}
#define CPU_RSQRT {k_unary, W_ALL}
#define CPU_RECIPROCAL {k_unary, W_ALL}
#define CPU_EXP {k_unary, W_ALL}
#define CPU_LOG {k_unary, W_ALL}
#define CPU_LOG1P {k_unary, W_ALL}
#define CPU_SIN {k_unary, W_ALL}
#define CPU_COS {k_unary, W_ALL}
#define CPU_SOFTSIGN {k_unary, W_ALL}
#define CPU_TANHSHRINK {k_unary, W_ALL}
#define CPU_HARDSIGMOID {k_unary, W_ALL}
#define CPU_HARDSWISH {k_unary, W_ALL}
#define CPU_MISH {k_unary, W_ALL}
#define CPU_GELU_TANH {k_unary, W_ALL}
#define CPU_SOFTPLUS {k_unary, W_ALL}
#define CPU_SOFTSHRINK {k_unary, W_ALL}
#define CPU_HARDSHRINK {k_unary, W_ALL}
#define CPU_THRESHOLD {k_unary, W_ALL}
#define CPU_LOGSIGMOID {k_unary, W_ALL}
#define CPU_SOFTMAX {k_normalise, W_BEFORE_DIM}
#define CPU_LOG_SOFTMAX {k_normalise, W_BEFORE_DIM}
#define CPU_SLICE {k_slice, W_BEFORE_DIM}
#define CPU_SPLIT {k_split, W_BEFORE_DIM}
#define CPU_CONCAT {k_concat, W_BEFORE_DIM}
#define CPU_STACK {k_stack, W_BEFORE_DIM}
#define CPU_SUM {k_reduce, W_ONE}
#define CPU_MEAN {k_reduce, W_ONE}
#define CPU_AMAX {k_reduce, W_ONE}
#define CPU_AMIN {k_reduce, W_ONE}
#define CPU_PROD {k_reduce, W_ONE}
#define CPU_RESHAPE {NULL, W_ONE}
#define CPU_FLATTEN {NULL, W_ONE}
#define CPU_SQUEEZE {NULL, W_ONE}
#define CPU_UNSQUEEZE {NULL, W_ONE}
#define CPU_TRANSPOSE {k_transpose, W_ONE}
#define CPU_EQ {k_binary, W_ROWS}
#define CPU_NE {k_binary, W_ROWS}
#define CPU_LT {k_binary, W_ROWS}
#define CPU_LE {k_binary, W_ROWS}
#define CPU_GT {k_binary, W_ROWS}
#define CPU_GE {k_binary, W_ROWS}
#define CPU_WHERE {k_where, W_ROWS}
#define CPU_FULL {k_full, W_ALL}
#define CPU_IOTA {em_iota, W_ALL}
#define CPU_TRIL {em_triangle, W_ALL}
#define CPU_TRIU {em_triangle, W_ALL}
#define CPU_GATHER {em_gather, W_ROWS}

static const cpu_rule rules[SF_OP_COUNT] = {
#define OP(id, ...) [SF_OP_##id] = CPU_##id,
#include "ir/ops.def"
};

bool em_supports(sf_opcode op) { return rules[op].kernel != NULL; }

bool em_kernel(emit *e, const sf_node *n, const char *name, sf_error *err)
{
    for (int k = 0; k < n->nout; k++)
        if (!sf_dtype_runs(n->out[k]->type.dtype)) {
            sf_fail(err, SF_ERR_UNSUPPORTED, "cpu backend: %s produces %s; only f32 today", sf_ops[n->op].name,
                    sf_dtype_name(n->out[k]->type.dtype));
            return false;
        }
    if (!rules[n->op].kernel) {
        sf_fail(err, SF_ERR_UNSUPPORTED, "cpu backend: %s is not compiled yet (the interpreter runs it: --backend interp)",
                sf_ops[n->op].name);
        return false;
    }
    begin_kernel(e, name, &n, 1);
    rules[n->op].kernel(e, n);
    LLVMBuildRetVoid(e->b);
    return true;
}

int64_t em_extent(const sf_node *n, int64_t B)
{
    const sf_type *ot = &n->out[0]->type, *it = n->nin ? &n->in[0]->type : ot;
    switch (rules[n->op].work) {
    case W_ALL: return sf_dims_at(ot, 0, ot->rank, B);
    case W_ROWS: return ot->rank ? sf_dims_at(ot, 0, 1, B) : 1;
    case W_BEFORE_DIM: return sf_dims_at(it, 0, (int)sf_attr_dim(n), B);
    case W_BEFORE_NDIM: return sf_dims_at(it, 0, it->rank - (int)sf_attr_ndim(n), B);
    case W_PRODUCT: return em_product_extent(n, B);
    case W_CONV: return sf_dims_at(it, 0, 1, B) * ot->dim[1];
    case W_ONE: break;
    }
    return 1;
}
