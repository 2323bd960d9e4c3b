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

/* One product as the emitter sees it: x[m, g, k] at m * x_m + g * x_g + k,
 * out[m, g, o] at m * o_m + g * o_g + o, W^T[g, k, o], b[g, o]. A fused
 * chain's intermediate lives in a stack buffer of ROWS rows (g stride 0). */
typedef struct product {
    int64_t G, O, I;
    int64_t x_m, x_g, o_m, o_g;
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

static LLVMValueRef mul(emit *e, LLVMValueRef a, int64_t k) { return LLVMBuildMul(e->b, a, em_const(e, k), ""); }

/* outputs in full chunks of 8; the weight's packed layout per group is
 * W^T for those ([I, main]) followed by the other rows as they are ([O - main, I]) */
static int64_t main_outputs(const product *p) { return p->O / WIDTH * WIDTH; }
static LLVMValueRef add(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(e->b, a, b, ""); }

/* acc[r][j] += x[r, k] * W^T[k, chunk] for one k */
static void step(emit *e, const product *p, int rows, LLVMValueRef *xrow, LLVMValueRef g, LLVMValueRef oc,
                 LLVMValueRef k, int width, LLVMValueRef *acc)
{
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width);
    LLVMValueRef wv = vec_load(e, p->w, add(e, add(e, mul(e, g, p->I * p->O), mul(e, k, main_outputs(p))), oc), width);
    for (int r = 0; r < rows; r++) {
        LLVMValueRef xs = splat(e, em_load(e, p->x, add(e, xrow[r], k)), width);
        LLVMBuildStore(e->b, vec_fma(e, xs, wv, LLVMBuildLoad2(e->b, vt, acc[r], ""), width), acc[r]);
    }
}

/* horizontal sum of a vector */
static LLVMValueRef hsum(emit *e, LLVMValueRef v, int width)
{
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    for (; width > 1; width /= 2) {
        LLVMValueRef lo[8], hi[8];
        for (int i = 0; i < width / 2; i++)
            lo[i] = LLVMConstInt(i32, (unsigned)i, 0), hi[i] = LLVMConstInt(i32, (unsigned)(i + width / 2), 0);
        LLVMValueRef a = LLVMBuildShuffleVector(e->b, v, v, LLVMConstVector(lo, (unsigned)width / 2), "");
        LLVMValueRef b = LLVMBuildShuffleVector(e->b, v, v, LLVMConstVector(hi, (unsigned)width / 2), "");
        v = LLVMBuildFAdd(e->b, a, b, "");
    }
    return LLVMBuildExtractElement(e->b, v, em_const(e, 0), "");
}

/* The tail outputs (past the last full chunk of 8) as dot products over k,
 * 8 wide, with the weight's tail rows kept in their original [o][k]
 * layout: a 2-wide chunk would spend a whole step per k on 2 lanes. */
static void tail_dots(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g)
{
    int64_t om = main_outputs(p), kv = p->I / WIDTH;
    LLVMTypeRef vt = LLVMVectorType(e->f32, WIDTH);
    LLVMValueRef xrow[ROWS], orow[ROWS];
    for (int r = 0; r < rows; r++) {
        xrow[r] = add(e, mul(e, add(e, mx, em_const(e, r)), p->x_m), mul(e, g, p->x_g));
        orow[r] = add(e, mul(e, add(e, mo, em_const(e, r)), p->o_m), mul(e, g, p->o_g));
    }
    for (int64_t t = 0; t < p->O - om; t++) {
        LLVMValueRef wrow = add(e, mul(e, g, p->I * p->O), em_const(e, om * p->I + t * p->I));
        LLVMValueRef acc[ROWS];
        for (int r = 0; r < rows; r++) {
            acc[r] = em_entry_alloca(e, vt);
            LLVMBuildStore(e->b, LLVMConstNull(vt), acc[r]);
        }
        if (kv > 0) {
            loop lk;
            em_loop_begin(e, &lk, em_const(e, kv), "kv");
            LLVMValueRef k = mul(e, lk.index, WIDTH);
            LLVMValueRef wv = vec_load(e, p->w, add(e, wrow, k), WIDTH);
            for (int r = 0; r < rows; r++)
                LLVMBuildStore(e->b, vec_fma(e, vec_load(e, p->x, add(e, xrow[r], k), WIDTH), wv,
                                             LLVMBuildLoad2(e->b, vt, acc[r], ""), WIDTH), acc[r]);
            em_loop_end(e, &lk);
        }
        LLVMValueRef bias = p->b ? em_load(e, p->b, add(e, mul(e, g, p->O), em_const(e, om + t)))
                                 : LLVMConstReal(e->f32, 0);
        for (int r = 0; r < rows; r++) {
            LLVMValueRef sum = LLVMBuildFAdd(e->b, hsum(e, LLVMBuildLoad2(e->b, vt, acc[r], ""), WIDTH), bias, "");
            for (int64_t k = kv * WIDTH; k < p->I; k++)
                sum = em_fmuladd(e, em_load(e, p->x, add(e, xrow[r], em_const(e, k))),
                                 em_load(e, p->w, add(e, wrow, em_const(e, k))), sum);
            em_store(e, p->out, add(e, orow[r], em_const(e, om + t)), sum);
        }
    }
}

/* outputs [oc, oc + width) of `rows` rows (x from row mx, out from row mo),
 * group g. With few rows, k is split over several accumulators per row so
 * that the chain of dependent multiply-adds does not set the pace. */
static void chunk(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g,
                  LLVMValueRef oc, int width)
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
        xrow[r] = add(e, mul(e, add(e, mx, em_const(e, r)), p->x_m), mul(e, g, p->x_g));
        orow[r] = add(e, add(e, mul(e, add(e, mo, em_const(e, r)), p->o_m), mul(e, g, p->o_g)), oc);
        for (int j = 0; j < split; j++) {
            acc[j][r] = em_entry_alloca(e, vt);
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

/* every output of `rows` rows in group g: full chunks in a loop, the tail as dot products */
static void rows_block(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g)
{
    int64_t full = p->O / WIDTH;
    if (full > 0) {
        loop lc;
        em_loop_begin(e, &lc, em_const(e, full), "c");
        chunk(e, p, rows, mx, mo, g, mul(e, lc.index, WIDTH), WIDTH);
        em_loop_end(e, &lc);
    }
    if (p->O % WIDTH)
        tail_dots(e, p, rows, mx, mo, g);
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

/* the product of node n reading args[xa] (x), args[wa], args[ba] (bias, if
 * any) and writing args[oa], with global strides */
static product product_of(emit *e, const sf_node *n, int xa, int wa, int ba, int oa)
{
    bool grouped = n->op == SF_OP_GROUPED_LINEAR, grouped_x = grouped && !sf_attr_int(n, "shared");
    const sf_type *wt = &n->in[1]->type;
    product p = {.G = grouped ? wt->dim[0] : 1, .O = wt->dim[grouped ? 1 : 0], .I = wt->dim[grouped ? 2 : 1]};
    p.x_m = grouped_x ? p.G * p.I : p.I;
    p.x_g = grouped_x ? p.I : 0;
    p.o_m = p.G * p.O;
    p.o_g = p.O;
    p.x = em_arg(e, xa), p.w = em_arg(e, wa), p.b = n->nin > 2 ? em_arg(e, ba) : NULL, p.out = em_arg(e, oa);
    return p;
}

/* the partitioned loop over (block of ROWS rows, group): body(rows, m0, g) for
 * the full blocks, then row by row for the last, partial one */
typedef void (*block_fn)(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g);

static void over_blocks(emit *e, const sf_node *first, int64_t G, block_fn body, void *ctx)
{
    LLVMValueRef M = rows_value(e, first);
    loop lt;
    em_part_loop_begin(e, &lt, "t"); /* t = block * G + g */
    LLVMValueRef g = LLVMBuildSRem(e->b, lt.index, em_const(e, G), "");
    LLVMValueRef m0 = mul(e, LLVMBuildSDiv(e->b, lt.index, em_const(e, G), ""), ROWS);
    LLVMValueRef whole = LLVMBuildICmp(e->b, LLVMIntSLE, add(e, m0, em_const(e, ROWS)), M, "");
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "full");
    LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "part");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "done");
    LLVMBuildCondBr(e->b, whole, full, part);
    LLVMPositionBuilderAtEnd(e->b, full);
    body(e, ctx, ROWS, m0, g);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, part);
    loop lr;
    em_loop_begin(e, &lr, LLVMBuildSub(e->b, M, m0, ""), "r");
    body(e, ctx, 1, add(e, m0, lr.index), g);
    em_loop_end(e, &lr);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
    em_loop_end(e, &lt);
}

static void one_product(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    rows_block(e, ctx, rows, m0, m0, g);
}

void em_product(emit *e, const sf_node *n)
{
    product p = product_of(e, n, 0, 1, 2, n->nin);
    over_blocks(e, n, p.G, one_product, &p);
}

/* ---- fused chains: product, unary ops, product, per group ---- */

typedef struct chain {
    product first, second;
    bool has_second; /* else the chain is a product and its epilogue */
    const sf_node *const *epilogue;
    int nepilogue;
    LLVMValueRef mid; /* [ROWS, H] floats on the stack */
} chain;

/* the activations over `rows` rows of the first product's result, where
 * it lies (the stack buffer, or the output when nothing follows) */
static void apply_epilogue(emit *e, const chain *c, int rows, LLVMValueRef mo, LLVMValueRef g)
{
    const product *p = &c->first;
    for (int r = 0; r < rows; r++) {
        LLVMValueRef row = add(e, mul(e, add(e, mo, em_const(e, r)), p->o_m), mul(e, g, p->o_g));
        loop li;
        em_loop_begin(e, &li, em_const(e, p->O), "i");
        LLVMValueRef at = add(e, row, li.index), v = em_load(e, p->out, at);
        for (int k = 0; k < c->nepilogue; k++)
            v = em_unary(e, c->epilogue[k]->op, v);
        em_store(e, p->out, at, v);
        em_loop_end(e, &li);
    }
}

static void chain_block(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    chain *c = ctx;
    LLVMValueRef zero = em_const(e, 0), mo = c->has_second ? zero : m0;
    rows_block(e, &c->first, rows, m0, mo, g); /* into the stack buffer, or the output */
    if (c->nepilogue)
        apply_epilogue(e, c, rows, mo, g);
    if (c->has_second)
        rows_block(e, &c->second, rows, zero, m0, g); /* from the stack buffer */
}

bool em_chain_fits(const sf_node *const *nodes, int count)
{
    if (count < 2 || (nodes[0]->op != SF_OP_LINEAR && nodes[0]->op != SF_OP_GROUPED_LINEAR))
        return false;
    const sf_node *a = nodes[0], *z = nodes[count - 1];
    bool epilogue_only = true;
    for (int k = 1; k < count; k++)
        epilogue_only &= em_is_unary(nodes[k]->op);
    if (epilogue_only)
        return a->in[0]->type.dtype == SF_F32;
    bool ga = a->op == SF_OP_GROUPED_LINEAR, gz = z->op == SF_OP_GROUPED_LINEAR;
    if (!(a->op == SF_OP_LINEAR || ga) || !(z->op == SF_OP_LINEAR || gz) || ga != gz)
        return false;
    if ((gz && sf_attr_int(z, "shared")) || a->in[0]->type.dtype != SF_F32)
        return false;
    const sf_type *wa = &a->in[1]->type, *wz = &z->in[1]->type;
    int64_t H = wa->dim[ga ? 1 : 0];
    if ((ga && wa->dim[0] != wz->dim[0]) || H > 4096)
        return false;
    for (int k = 1; k < count - 1; k++)
        if (!em_is_unary(nodes[k]->op))
            return false;
    return true;
}

void em_chain(emit *e, const sf_node *const *nodes, int count)
{
    const sf_node *a = nodes[0], *z = nodes[count - 1];
    if (em_is_unary(z->op)) { /* a product and its epilogue, written once */
        chain c = {.first = product_of(e, a, 0, 1, 2, a->nin), .epilogue = nodes + 1, .nepilogue = count - 1};
        over_blocks(e, a, c.first.G, chain_block, &c);
        return;
    }
    /* args: a's operands, z's weight and bias, z's result */
    int wz = a->nin, bz = wz + 1, out = z->nin > 2 ? bz + 1 : bz;
    chain c = {.first = product_of(e, a, 0, 1, 2, 0), .second = product_of(e, z, 0, wz, bz, out),
               .has_second = true, .epilogue = nodes + 1, .nepilogue = count - 2};
    int64_t H = c.first.O;
    LLVMTypeRef buf_t = LLVMArrayType(e->f32, (unsigned)(ROWS * H));
    LLVMValueRef slot = em_entry_alloca(e, buf_t);
    LLVMSetAlignment(slot, 32);
    c.mid = LLVMBuildBitCast(e->b, slot, e->ptr, "");
    c.first.out = c.mid, c.first.o_m = H, c.first.o_g = 0;
    c.second.x = c.mid, c.second.x_m = H, c.second.x_g = 0;
    over_blocks(e, a, c.first.G, chain_block, &c);
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
    int64_t om = O / WIDTH * WIDTH;
    for (int64_t g = 0; g < G; g++) {
        const float *src = w + g * O * I;
        float *dst = packed + g * O * I;
        for (int64_t o = 0; o < om; o++)
            for (int64_t k = 0; k < I; k++)
                dst[k * om + o] = src[o * I + k];
        memcpy(dst + om * I, src + om * I, sizeof(float) * (size_t)((O - om) * I));
    }
}
