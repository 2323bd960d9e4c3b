/* Products (linear, grouped_linear) for the CPU backend: register-blocked
 * kernels in explicit vector code. The weight arrives packed as W^T per
 * group, [G, I, O] (the executor packs it once, em_pack_weight), so that
 * the outputs of a row are contiguous in both the weight and the result:
 *
 *   for each block of ROWS rows and group g (the partitioned loop):
 *     for each chunk of outputs (8 wide, then 4, 2, 1 for the tail):
 *       acc[r] = bias chunk                      (ROWS vector registers)
 *       for k < I: acc[r] += x[r, g, k] * W^T[g, k, chunk]
 *       store acc[r]
 *
 * One weight load feeds ROWS fused multiply-adds; nothing is gathered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_emit.h"

enum { ROWS = 4, WIDTH = 8 };

typedef struct product {
    int64_t G, O, I;
    bool grouped_x; /* x is [.., G, I] (not shared) */
    LLVMValueRef x, w, b, out;
} product;

static LLVMValueRef splat(emit *e, LLVMValueRef s, int width)
{
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width);
    LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetUndef(vt), s, em_const(e, 0), "");
    if (width == 1)
        return v;
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(LLVMInt32TypeInContext(e->ctx), (unsigned)width));
    return LLVMBuildShuffleVector(e->b, v, LLVMGetUndef(vt), zeros, "");
}

static LLVMValueRef vec_ptr(emit *e, LLVMValueRef base, LLVMValueRef index, int width)
{
    LLVMValueRef p = LLVMBuildGEP2(e->b, e->f32, base, &index, 1, "");
    return LLVMBuildBitCast(e->b, p, LLVMPointerType(LLVMVectorType(e->f32, (unsigned)width), 0), "");
}

static LLVMValueRef vec_load(emit *e, LLVMValueRef base, LLVMValueRef index, int width)
{
    LLVMValueRef v = LLVMBuildLoad2(e->b, LLVMVectorType(e->f32, (unsigned)width), vec_ptr(e, base, index, width), "");
    LLVMSetAlignment(v, 4);
    return v;
}

static void vec_store(emit *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, int width)
{
    LLVMValueRef s = LLVMBuildStore(e->b, v, vec_ptr(e, base, index, width));
    LLVMSetAlignment(s, 4);
}

static LLVMValueRef vec_fma(emit *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c, int width)
{
    char name[32];
    snprintf(name, sizeof name, width == 1 ? "llvm.fmuladd.v1f32" : "llvm.fmuladd.v%df32", width);
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width);
    LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
    if (!f) {
        LLVMTypeRef args[3] = {vt, vt, vt};
        f = LLVMAddFunction(e->mod, name, LLVMFunctionType(vt, args, 3, 0));
    }
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, 3, "");
}

/* an alloca in the entry block, so that mem2reg makes it a register */
static LLVMValueRef entry_slot(emit *e, LLVMTypeRef t)
{
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b), entry = LLVMGetEntryBasicBlock(e->fn);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first)
        LLVMPositionBuilderBefore(e->b, first);
    else
        LLVMPositionBuilderAtEnd(e->b, entry);
    LLVMValueRef a = LLVMBuildAlloca(e->b, t, "acc");
    LLVMPositionBuilderAtEnd(e->b, cur);
    return a;
}

static LLVMValueRef mul(emit *e, LLVMValueRef a, int64_t k) { return LLVMBuildMul(e->b, a, em_const(e, k), ""); }
static LLVMValueRef add(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(e->b, a, b, ""); }

/* acc[r][j] += x[r, k] * W^T[k, chunk] for one k */
static void step(emit *e, const product *p, int rows, LLVMValueRef *xrow, LLVMValueRef g, LLVMValueRef oc,
                 LLVMValueRef k, int width, LLVMValueRef *acc)
{
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width);
    LLVMValueRef wv = vec_load(e, p->w, add(e, mul(e, add(e, mul(e, g, p->I), k), p->O), oc), width);
    for (int r = 0; r < rows; r++) {
        LLVMValueRef xs = splat(e, em_load(e, p->x, add(e, xrow[r], k)), width);
        LLVMBuildStore(e->b, vec_fma(e, xs, wv, LLVMBuildLoad2(e->b, vt, acc[r], ""), width), acc[r]);
    }
}

/* outputs [oc, oc + width) of `rows` rows from row m0, group g. With few
 * rows, k is split over SPLIT accumulators per row so that the chain of
 * dependent multiply-adds does not set the pace. */
static void chunk(emit *e, const product *p, int rows, LLVMValueRef m0, LLVMValueRef g, LLVMValueRef oc, int width)
{
    enum { CHAINS = 4 };
    int split = rows >= CHAINS ? 1 : CHAINS / rows;
    if (split > p->I)
        split = (int)p->I;
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width);
    LLVMValueRef acc[CHAINS][ROWS], xrow[ROWS], orow[ROWS];
    LLVMValueRef go = add(e, mul(e, g, p->O), oc);
    LLVMValueRef init = p->b ? vec_load(e, p->b, go, width) : LLVMConstNull(vt);
    for (int r = 0; r < rows; r++) {
        LLVMValueRef m = add(e, m0, em_const(e, r));
        xrow[r] = mul(e, p->grouped_x ? add(e, mul(e, m, p->G), g) : m, p->I);
        orow[r] = add(e, mul(e, m, p->G * p->O), go);
        for (int j = 0; j < split; j++) {
            acc[j][r] = entry_slot(e, vt);
            LLVMBuildStore(e->b, j ? LLVMConstNull(vt) : init, acc[j][r]);
        }
    }
    loop lk;
    em_loop_begin(e, &lk, em_const(e, p->I / split), "k");
    for (int j = 0; j < split; j++)
        step(e, p, rows, xrow, g, oc, add(e, mul(e, lk.index, split), em_const(e, j)), width, acc[j]);
    em_loop_end(e, &lk);
    for (int64_t k = p->I / split * split; k < p->I; k++)
        step(e, p, rows, xrow, g, oc, em_const(e, k), width, acc[0]);
    for (int r = 0; r < rows; r++) {
        LLVMValueRef v = LLVMBuildLoad2(e->b, vt, acc[0][r], "");
        for (int j = 1; j < split; j++)
            v = LLVMBuildFAdd(e->b, v, LLVMBuildLoad2(e->b, vt, acc[j][r], ""), "");
        vec_store(e, v, p->out, orow[r], width);
    }
}

/* every output of `rows` rows from m0 in group g: full chunks in a loop, the tail unrolled */
static void rows_block(emit *e, const product *p, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    int64_t full = p->O / WIDTH;
    if (full > 0) {
        loop lc;
        em_loop_begin(e, &lc, em_const(e, full), "c");
        chunk(e, p, rows, m0, g, mul(e, lc.index, WIDTH), WIDTH);
        em_loop_end(e, &lc);
    }
    int64_t at = full * WIDTH;
    for (int width = WIDTH / 2; width >= 1; width /= 2)
        if ((p->O - at) >= width) {
            chunk(e, p, rows, m0, g, em_const(e, at), width);
            at += width;
        }
}

static int64_t rows_of(const sf_node *n, int64_t B)
{
    const sf_type *xt = &n->in[0]->type;
    bool grouped = n->op == SF_OP_GROUPED_LINEAR, shared = grouped && sf_attr_int(n, "shared");
    int64_t m = 1;
    for (int i = 0; i < xt->rank - (grouped && !shared ? 2 : 1); i++)
        m *= xt->dim[i] == SF_DIM_B ? B : xt->dim[i];
    return m;
}

static LLVMValueRef rows_value(emit *e, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type;
    bool grouped = n->op == SF_OP_GROUPED_LINEAR, shared = grouped && sf_attr_int(n, "shared");
    return em_prod(e, xt, 0, xt->rank - (grouped && !shared ? 2 : 1));
}

int64_t em_product_extent(const sf_node *n, int64_t B)
{
    int64_t G = n->op == SF_OP_GROUPED_LINEAR ? n->in[1]->type.dim[0] : 1;
    return (rows_of(n, B) + ROWS - 1) / ROWS * G;
}

void em_product(emit *e, const sf_node *n)
{
    bool grouped = n->op == SF_OP_GROUPED_LINEAR;
    const sf_type *wt = &n->in[1]->type;
    product p = {.G = grouped ? wt->dim[0] : 1, .O = wt->dim[grouped ? 1 : 0], .I = wt->dim[grouped ? 2 : 1],
                 .grouped_x = grouped && !sf_attr_int(n, "shared"),
                 .x = em_arg(e, 0), .w = em_arg(e, 1), .b = n->nin > 2 ? em_arg(e, 2) : NULL, .out = em_arg(e, n->nin)};
    LLVMValueRef M = rows_value(e, n);
    loop lt;
    em_part_loop_begin(e, &lt, "t"); /* t = block * G + g */
    LLVMValueRef g = LLVMBuildSRem(e->b, lt.index, em_const(e, p.G), "");
    LLVMValueRef m0 = mul(e, LLVMBuildSDiv(e->b, lt.index, em_const(e, p.G), ""), ROWS);
    LLVMValueRef whole = LLVMBuildICmp(e->b, LLVMIntSLE, add(e, m0, em_const(e, ROWS)), M, "");
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "full");
    LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "part");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "done");
    LLVMBuildCondBr(e->b, whole, full, part);
    LLVMPositionBuilderAtEnd(e->b, full);
    rows_block(e, &p, ROWS, m0, g);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, part); /* the last, partial block: row by row */
    loop lr;
    em_loop_begin(e, &lr, LLVMBuildSub(e->b, M, m0, ""), "r");
    rows_block(e, &p, 1, add(e, m0, lr.index), g);
    em_loop_end(e, &lr);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
    em_loop_end(e, &lt);
}

bool em_packs_weight(const sf_node *n, int k)
{
    return (n->op == SF_OP_LINEAR || n->op == SF_OP_GROUPED_LINEAR) && k == 1;
}

void em_pack_weight(const sf_node *n, const float *w, float *packed)
{
    const sf_type *wt = &n->in[1]->type;
    bool grouped = n->op == SF_OP_GROUPED_LINEAR;
    int64_t G = grouped ? wt->dim[0] : 1, O = wt->dim[grouped ? 1 : 0], I = wt->dim[grouped ? 2 : 1];
    for (int64_t g = 0; g < G; g++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t k = 0; k < I; k++)
                packed[(g * I + k) * O + o] = w[(g * O + o) * I + k];
}
