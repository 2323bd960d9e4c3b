/* Kernel emission for the CPU backend: plain loop nests in LLVM IR over
 * contiguous row-major buffers; LLVM's O3 pipeline vectorises the inner
 * loops. Accumulations are in f32 with fused multiply-add. */
#include "cpu_emit.h"

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

LLVMValueRef em_buf(emit *e, const sf_value *v)
{
    LLVMValueRef slot = LLVMBuildGEP2(e->b, e->ptr, e->bufs, (LLVMValueRef[]){em_const(e, v->id)}, 1, "");
    return LLVMBuildLoad2(e->b, e->ptr, slot, "");
}

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

LLVMValueRef em_call_f32(emit *e, const char *name, LLVMValueRef x)
{
    LLVMValueRef f = declare_f32_fn(e, name, 1);
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, &x, 1, "");
}

static LLVMValueRef fmuladd(emit *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMValueRef f = declare_f32_fn(e, "llvm.fmuladd.f32", 3);
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, 3, "");
}

static LLVMValueRef fconst(emit *e, double v) { return LLVMConstReal(e->f32, v); }

/* for (i = 0; i < limit; i++): the body block is current after begin */
void em_loop_begin(emit *e, loop *l, LLVMValueRef limit, const char *name)
{
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    l->head = LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
    l->body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
    l->exit = LLVMAppendBasicBlockInContext(e->ctx, e->fn, name);
    LLVMBuildBr(e->b, l->head);
    LLVMPositionBuilderAtEnd(e->b, l->head);
    l->index = LLVMBuildPhi(e->b, e->i64, name);
    LLVMValueRef zero = em_const(e, 0);
    LLVMAddIncoming(l->index, &zero, &pre, 1);
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, l->index, limit, ""), l->body, l->exit);
    LLVMPositionBuilderAtEnd(e->b, l->body);
}

void em_loop_end(emit *e, loop *l)
{
    LLVMValueRef next = LLVMBuildAdd(e->b, l->index, em_const(e, 1), "");
    LLVMBasicBlockRef from = LLVMGetInsertBlock(e->b);
    LLVMAddIncoming(l->index, &next, &from, 1);
    LLVMBuildBr(e->b, l->head);
    LLVMPositionBuilderAtEnd(e->b, l->exit);
}

/* ---- loop nests over a shape ---- */

typedef struct nest {
    loop l[SF_MAX_RANK];
    LLVMValueRef idx[SF_MAX_RANK];
    int rank;
} nest;

static void nest_open(emit *e, nest *n, const sf_type *t)
{
    n->rank = t->rank;
    for (int d = 0; d < t->rank; d++) {
        em_loop_begin(e, &n->l[d], em_dim(e, t->dim[d]), "d");
        n->idx[d] = n->l[d].index;
    }
}

static void nest_close(emit *e, nest *n)
{
    for (int d = n->rank - 1; d >= 0; d--)
        em_loop_end(e, &n->l[d]);
}

/* offset of operand x (right-aligned to out, broadcast dims pinned) at the nest's index */
static LLVMValueRef bcast_offset(emit *e, const nest *n, const sf_type *out, const sf_type *x)
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

static LLVMValueRef accumulator(emit *e)
{
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(e->fn);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first)
        LLVMPositionBuilderBefore(e->b, first);
    else
        LLVMPositionBuilderAtEnd(e->b, entry);
    LLVMValueRef a = LLVMBuildAlloca(e->b, e->f32, "acc");
    LLVMPositionBuilderAtEnd(e->b, cur);
    return a;
}

/* ---- kernels ---- */

static LLVMValueRef unary_value(emit *e, sf_opcode op, LLVMValueRef x)
{
    switch (op) {
    case SF_OP_RELU:
        return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, x, fconst(e, 0), ""), x, fconst(e, 0), "");
    case SF_OP_TANH: return em_call_f32(e, "tanhf", x);
    case SF_OP_SIGMOID:
    case SF_OP_SILU: {
        LLVMValueRef ex = em_call_f32(e, "llvm.exp.f32", LLVMBuildFNeg(e->b, x, ""));
        LLVMValueRef s = LLVMBuildFDiv(e->b, fconst(e, 1), LLVMBuildFAdd(e->b, fconst(e, 1), ex, ""), "");
        return op == SF_OP_SIGMOID ? s : LLVMBuildFMul(e->b, x, s, "");
    }
    case SF_OP_GELU: { /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
        LLVMValueRef er = em_call_f32(e, "erff", LLVMBuildFMul(e->b, x, fconst(e, 0.70710678118654752), ""));
        return LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, fconst(e, 0.5), x, ""),
                             LLVMBuildFAdd(e->b, fconst(e, 1), er, ""), "");
    }
    default: return NULL;
    }
}

static void k_unary(emit *e, const sf_node *n)
{
    LLVMValueRef in = em_buf(e, n->in[0]), out = em_buf(e, n->out[0]);
    loop l;
    em_loop_begin(e, &l, em_prod(e, &n->out[0]->type, 0, n->out[0]->type.rank), "i");
    em_store(e, out, l.index, unary_value(e, n->op, em_load(e, in, l.index)));
    em_loop_end(e, &l);
}

static void k_binary(emit *e, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type;
    LLVMValueRef a = em_buf(e, n->in[0]), b = em_buf(e, n->in[1]), out = em_buf(e, n->out[0]);
    nest ne;
    nest_open(e, &ne, ot);
    LLVMValueRef x = em_load(e, a, bcast_offset(e, &ne, ot, &n->in[0]->type));
    LLVMValueRef y = em_load(e, b, bcast_offset(e, &ne, ot, &n->in[1]->type));
    LLVMValueRef r = n->op == SF_OP_ADD ? LLVMBuildFAdd(e->b, x, y, "")
                   : n->op == SF_OP_SUB ? LLVMBuildFSub(e->b, x, y, "")
                   : n->op == SF_OP_MUL ? LLVMBuildFMul(e->b, x, y, "")
                                        : LLVMBuildFDiv(e->b, x, y, "");
    em_store(e, out, bcast_offset(e, &ne, ot, ot), r);
    nest_close(e, &ne);
}

/* linear and grouped_linear: out[m, (g,) o] = b + sum_k x[m, (g,) k] W[(g,) o, k] */
static void k_product(emit *e, const sf_node *n)
{
    bool grouped = n->op == SF_OP_GROUPED_LINEAR, shared = grouped && sf_attr_int(n, "shared");
    const sf_type *xt = &n->in[0]->type, *wt = &n->in[1]->type;
    int64_t G = grouped ? wt->dim[0] : 1, O = wt->dim[grouped ? 1 : 0], I = wt->dim[grouped ? 2 : 1];
    LLVMValueRef x = em_buf(e, n->in[0]), w = em_buf(e, n->in[1]), b = n->nin > 2 ? em_buf(e, n->in[2]) : NULL;
    LLVMValueRef out = em_buf(e, n->out[0]), acc = accumulator(e);
    LLVMValueRef M = em_prod(e, xt, 0, xt->rank - (grouped && !shared ? 2 : 1));
    loop lm, lg, lo, lk;
    em_loop_begin(e, &lm, M, "m");
    em_loop_begin(e, &lg, em_const(e, G), "g");
    em_loop_begin(e, &lo, em_const(e, O), "o");
    LLVMValueRef go = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lg.index, em_const(e, O), ""), lo.index, "");
    LLVMBuildStore(e->b, b ? em_load(e, b, go) : fconst(e, 0), acc);
    LLVMValueRef xrow = shared || !grouped ? LLVMBuildMul(e->b, lm.index, em_const(e, I), "")
                                           : LLVMBuildMul(e->b,
                                                          LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lm.index, em_const(e, G), ""),
                                                                       lg.index, ""),
                                                          em_const(e, I), "");
    LLVMValueRef wrow = LLVMBuildMul(e->b, go, em_const(e, I), "");
    em_loop_begin(e, &lk, em_const(e, I), "k");
    LLVMValueRef xv = em_load(e, x, LLVMBuildAdd(e->b, xrow, lk.index, ""));
    LLVMValueRef wv = em_load(e, w, LLVMBuildAdd(e->b, wrow, lk.index, ""));
    LLVMBuildStore(e->b, fmuladd(e, xv, wv, LLVMBuildLoad2(e->b, e->f32, acc, "")), acc);
    em_loop_end(e, &lk);
    LLVMValueRef at = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lm.index, em_const(e, G * O), ""), go, "");
    em_store(e, out, at, LLVMBuildLoad2(e->b, e->f32, acc, ""));
    em_loop_end(e, &lo);
    em_loop_end(e, &lg);
    em_loop_end(e, &lm);
}

/* matmul: batch dims broadcast; out[.., i, j] = sum_k a[.., i, k] b[.., k, j] */
static void k_matmul(emit *e, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type, *at = &n->in[0]->type, *bt = &n->in[1]->type;
    int64_t Mi = at->dim[at->rank - 2], K = at->dim[at->rank - 1], N = bt->dim[bt->rank - 1];
    sf_type obatch = *ot, abatch = *at, bbatch = *bt;
    obatch.rank -= 2, abatch.rank -= 2, bbatch.rank -= 2;
    LLVMValueRef a = em_buf(e, n->in[0]), b = em_buf(e, n->in[1]), out = em_buf(e, n->out[0]), acc = accumulator(e);
    nest ne;
    nest_open(e, &ne, &obatch);
    LLVMValueRef abase = LLVMBuildMul(e->b, bcast_offset(e, &ne, &obatch, &abatch), em_const(e, Mi * K), "");
    LLVMValueRef bbase = LLVMBuildMul(e->b, bcast_offset(e, &ne, &obatch, &bbatch), em_const(e, K * N), "");
    LLVMValueRef obase = LLVMBuildMul(e->b, bcast_offset(e, &ne, &obatch, &obatch), em_const(e, Mi * N), "");
    loop li, lj, lk;
    em_loop_begin(e, &li, em_const(e, Mi), "i");
    em_loop_begin(e, &lj, em_const(e, N), "j");
    LLVMBuildStore(e->b, fconst(e, 0), acc);
    em_loop_begin(e, &lk, em_const(e, K), "k");
    LLVMValueRef av = em_load(e, a, LLVMBuildAdd(e->b, abase,
                                                 LLVMBuildAdd(e->b, LLVMBuildMul(e->b, li.index, em_const(e, K), ""),
                                                              lk.index, ""), ""));
    LLVMValueRef bv = em_load(e, b, LLVMBuildAdd(e->b, bbase,
                                                 LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lk.index, em_const(e, N), ""),
                                                              lj.index, ""), ""));
    LLVMBuildStore(e->b, fmuladd(e, av, bv, LLVMBuildLoad2(e->b, e->f32, acc, "")), acc);
    em_loop_end(e, &lk);
    em_store(e, out, LLVMBuildAdd(e->b, obase, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, li.index, em_const(e, N), ""),
                                                            lj.index, ""), ""),
             LLVMBuildLoad2(e->b, e->f32, acc, ""));
    em_loop_end(e, &lj);
    em_loop_end(e, &li);
    nest_close(e, &ne);
}

/* copies a [outer, len, inner] block: dst[o, at + j, i] = src[o, from + j*step, i] */
static void copy_block(emit *e, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef outer, LLVMValueRef inner,
                       int64_t len, int64_t dst_len, int64_t at, int64_t src_len, int64_t from, int64_t step)
{
    loop lo, lj, li;
    em_loop_begin(e, &lo, outer, "o");
    em_loop_begin(e, &lj, em_const(e, len), "j");
    em_loop_begin(e, &li, inner, "i");
    LLVMValueRef s = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lo.index, em_const(e, src_len), ""),
                                  LLVMBuildAdd(e->b, em_const(e, from), LLVMBuildMul(e->b, lj.index, em_const(e, step), ""), ""), "");
    LLVMValueRef d = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, lo.index, em_const(e, dst_len), ""),
                                  LLVMBuildAdd(e->b, em_const(e, at), lj.index, ""), "");
    LLVMValueRef sv = em_load(e, src, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, s, inner, ""), li.index, ""));
    em_store(e, dst, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, d, inner, ""), li.index, ""), sv);
    em_loop_end(e, &li);
    em_loop_end(e, &lj);
    em_loop_end(e, &lo);
}

static void k_concat(emit *e, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type;
    int d = (int)sf_attr_int(n, "dim");
    LLVMValueRef out = em_buf(e, n->out[0]), outer = em_prod(e, ot, 0, d), inner = em_prod(e, ot, d + 1, ot->rank);
    int64_t at = 0;
    for (int k = 0; k < n->nin; k++) {
        int64_t part = n->in[k]->type.dim[d];
        copy_block(e, out, em_buf(e, n->in[k]), outer, inner, part, ot->dim[d], at, part, 0, 1);
        at += part;
    }
}

static void k_slice(emit *e, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type, *ot = &n->out[0]->type;
    int d = (int)sf_attr_int(n, "dim");
    copy_block(e, em_buf(e, n->out[0]), em_buf(e, n->in[0]), em_prod(e, it, 0, d), em_prod(e, it, d + 1, it->rank),
               ot->dim[d], ot->dim[d], 0, it->dim[d], sf_attr_int(n, "start"), sf_attr_int(n, "step"));
}

/* sum/mean: zero the result, add every input element into its place, scale */
static void k_reduce(emit *e, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type, *ot = &n->out[0]->type;
    const sf_attr *dims = sf_node_attr(n, "dims");
    bool red[SF_MAX_RANK] = {0};
    for (int i = 0; i < dims->n; i++)
        red[dims->ints[i]] = true;
    LLVMValueRef x = em_buf(e, n->in[0]), out = em_buf(e, n->out[0]);
    loop lz;
    LLVMValueRef total = em_prod(e, ot, 0, ot->rank);
    em_loop_begin(e, &lz, total, "z");
    em_store(e, out, lz.index, fconst(e, 0));
    em_loop_end(e, &lz);
    nest ne;
    nest_open(e, &ne, it);
    LLVMValueRef oi = em_const(e, 0), stride = em_const(e, 1);
    for (int d = it->rank - 1; d >= 0; d--)
        if (!red[d]) {
            oi = LLVMBuildAdd(e->b, oi, LLVMBuildMul(e->b, ne.idx[d], stride, ""), "");
            stride = LLVMBuildMul(e->b, stride, em_dim(e, it->dim[d]), "");
        }
    LLVMValueRef v = LLVMBuildFAdd(e->b, em_load(e, out, oi), em_load(e, x, bcast_offset(e, &ne, it, it)), "");
    em_store(e, out, oi, v);
    nest_close(e, &ne);
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

bool em_kernel(emit *e, const sf_node *n, const char *name, sf_error *err)
{
    for (int k = 0; k < n->nout; k++)
        if (n->out[k]->type.dtype != SF_F32) {
            sf_fail(err, SF_ERR_UNSUPPORTED, "cpu backend: %s produces %s; only f32 today", sf_ops[n->op].name,
                    sf_dtype_name(n->out[k]->type.dtype));
            return false;
        }
    switch (n->op) {
    case SF_OP_RELU: case SF_OP_GELU: case SF_OP_TANH: case SF_OP_SIGMOID: case SF_OP_SILU:
    case SF_OP_ADD: case SF_OP_SUB: case SF_OP_MUL: case SF_OP_DIV:
    case SF_OP_SCALAR: case SF_OP_LINEAR: case SF_OP_GROUPED_LINEAR: case SF_OP_MATMUL:
    case SF_OP_CONCAT: case SF_OP_SLICE: case SF_OP_SUM: case SF_OP_MEAN:
        break;
    default:
        sf_fail(err, SF_ERR_UNSUPPORTED, "cpu backend: %s is not compiled yet (the interpreter runs it: --backend interp)",
                sf_ops[n->op].name);
        return false;
    }
    e->fn = LLVMAddFunction(e->mod, name, e->kernel_type);
    e->bufs = LLVMGetParam(e->fn, 0);
    e->batch = LLVMGetParam(e->fn, 1);
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, e->fn, "entry"));
    switch (n->op) {
    case SF_OP_SCALAR:
        em_store(e, em_buf(e, n->out[0]), em_const(e, 0), fconst(e, sf_attr_float(n, "value")));
        break;
    case SF_OP_ADD: case SF_OP_SUB: case SF_OP_MUL: case SF_OP_DIV: k_binary(e, n); break;
    case SF_OP_LINEAR: case SF_OP_GROUPED_LINEAR: k_product(e, n); break;
    case SF_OP_MATMUL: k_matmul(e, n); break;
    case SF_OP_CONCAT: k_concat(e, n); break;
    case SF_OP_SLICE: k_slice(e, n); break;
    case SF_OP_SUM: case SF_OP_MEAN: k_reduce(e, n); break;
    default: k_unary(e, n); break;
    }
    LLVMBuildRetVoid(e->b);
    return true;
}
