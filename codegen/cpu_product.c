/* Products (linear, grouped_linear) for the CPU backend: register-blocked
 * kernels in explicit vector code. The weight arrives packed as W^T per
 * group, [G, I, O] (the executor packs it once, em_pack_weight), so that
 * the outputs of a row are contiguous in both the weight and the result:
 *
 *   for each block of ROWS rows and group g (the partitioned loop):
 *     for each pair of chunks of WIDTH (16) outputs (then a single chunk):
 *       acc[c][r] = bias chunk c             (2 x ROWS vector registers)
 *       for k < I: acc[c][r] += x[r, g, k] * W^T[g, k, chunk c]
 *       store acc
 *     the tail (O % 16 outputs): a masked chunk, or dot products over k
 *
 * One weight load feeds ROWS fused multiply-adds; nothing is gathered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu_product.h"

static LLVMValueRef splat(emit *e, LLVMValueRef s, int width)
{
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width);
    LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetUndef(vt), s, em_const(e, 0), "");
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
    snprintf(name, sizeof name, "llvm.fmuladd.v%df32", width);
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width);
    LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
    if (!f) {
        LLVMTypeRef args[3] = {vt, vt, vt};
        f = LLVMAddFunction(e->mod, name, LLVMFunctionType(vt, args, 3, 0));
    }
    LLVMValueRef args[3] = {a, b, c};
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, 3, "");
}

/* outputs in full chunks of WIDTH; the weight's packed layout per group is
 * W^T for those ([I, main]) followed by the other rows as they are ([O - main, I]) */
static int64_t main_outputs(const product *p) { return p->O / WIDTH * WIDTH; }

/* The t = O % WIDTH outputs past the full chunks: as one masked chunk (t of WIDTH
 * lanes; I broadcast multiply-adds per row for all t), or as t dot
 * products over k (per output, I/16 vector multiply-adds, one masked or
 * scalar one for the I%16 left, and a horizontal sum, about 6
 * instructions). The chunk wins where t of those
 * cost more than its 2I (a broadcast and an FMA per k): Heads' 12 -> 7 and
 * 7 -> 3 (a fused chain) ran 1.4x faster as chunks at batch 4096, 1.26x at
 * 256; seed 003's 20 -> 1 stays a dot product. The tail's packed weight is W^T ([I, t]) for a
 * chunk, its rows as they are ([t, I]) for dots. The rule was measured with
 * 8 lanes and a dot's I%8 as I%8 scalar steps; now the remainder is one
 * step (tail_dots) and the lanes 16, and the cases above still come out
 * as they were measured (12 -> 7: 49 > 24). Changing it changes the
 * packing: SF_CPU_ABI with it.
 *
 * A chain's product over all groups (slice > 0) runs slice k at a time,
 * once per group, adding into the output: the rule takes the slice for I,
 * and each dot of each group also has its own horizontal sum and loads,
 * adds and stores its output, about 3 more. Measured (AMD EPYC VM, AVX2, 2
 * threads, batch 4096), Ensemble(n, 32, H, t) dots -> chunk: (64, 64, 10)
 * 12.0 -> 10.6 ms, (16, 256, 10) 12.6 -> 11.3, (64, 64, 5) 9.2 -> 10.1,
 * (64, 64, 3) 7.75 -> 10.2; the rule picks the chunk for the first only
 * (10 x 14 > 128; the second's 10 x 26 < 512 stays dots, 10% slower).
 * Judged on the whole rows it chose dots for all four. */
static bool tail_as_chunk(int64_t O, int64_t I, int64_t slice)
{
    int64_t t = O % WIDTH, k = slice ? slice : I;
    return t > 0 && t * (k / WIDTH + (k % WIDTH > 0) + 6 + (slice ? 3 : 0)) > 2 * k;
}
static LLVMValueRef lane_mask(emit *e, int lanes, int width)
{
    LLVMTypeRef i1 = LLVMInt1TypeInContext(e->ctx);
    LLVMValueRef bits[WIDTH];
    for (int j = 0; j < width; j++)
        bits[j] = LLVMConstInt(i1, j < lanes, 0);
    return LLVMConstVector(bits, (unsigned)width);
}

static LLVMValueRef masked_fn(emit *e, bool store, int width)
{
    char name[64];
    snprintf(name, sizeof name, "llvm.masked.%s.v%df32.p0v%df32", store ? "store" : "load", width, width);
    LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)width), pt = LLVMPointerType(vt, 0);
    LLVMTypeRef mt = LLVMVectorType(LLVMInt1TypeInContext(e->ctx), (unsigned)width), i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
    if (!f) {
        LLVMTypeRef load_args[4] = {pt, i32, mt, vt}, store_args[4] = {vt, pt, i32, mt};
        f = LLVMAddFunction(e->mod, name,
                            store ? LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), store_args, 4, 0)
                                  : LLVMFunctionType(vt, load_args, 4, 0));
    }
    return f;
}

/* the first `lanes` lanes of a `width`-wide base[index ...]; the others are 0 and not read */
static LLVMValueRef masked_load_w(emit *e, LLVMValueRef base, LLVMValueRef index, int lanes, int width)
{
    LLVMValueRef f = masked_fn(e, false, width);
    LLVMValueRef args[4] = {vec_ptr(e, base, index, width), LLVMConstInt(LLVMInt32TypeInContext(e->ctx), 4, 0),
                            lane_mask(e, lanes, width), LLVMConstNull(LLVMVectorType(e->f32, (unsigned)width))};
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, 4, "");
}

static LLVMValueRef masked_load(emit *e, LLVMValueRef base, LLVMValueRef index, int lanes)
{
    return masked_load_w(e, base, index, lanes, WIDTH);
}

/* the first `lanes` lanes of v to base[index ...]; the others are not written */
static void masked_store(emit *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, int lanes)
{
    LLVMValueRef f = masked_fn(e, true, WIDTH);
    LLVMValueRef args[4] = {v, vec_ptr(e, base, index, WIDTH), LLVMConstInt(LLVMInt32TypeInContext(e->ctx), 4, 0),
                            lane_mask(e, lanes, WIDTH)};
    LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, 4, "");
}

/* acc[c][r] += x[r, k] * W^T[k, chunk c] for one k, chunks [oc, oc + 8 chunks) (or one chunk of
 * `lanes` < 8 lanes: the tail) */
static void step(emit *e, const product *p, int rows, LLVMValueRef *xrow, LLVMValueRef g, LLVMValueRef oc,
                 LLVMValueRef k, int chunks, int lanes, LLVMValueRef (*acc)[ROWS])
{
    LLVMTypeRef vt = LLVMVectorType(e->f32, WIDTH);
    int64_t om = main_outputs(p), t = p->O - om;
    LLVMValueRef wv[MAX_CHUNKS], kw = p->k0 ? em_add(e, p->k0, k) : k;
    for (int c = 0; c < chunks; c++)
        wv[c] = lanes == WIDTH ? vec_load(e, p->w, em_add(e, em_add(e, em_mulk(e, g, p->IW * p->O), em_mulk(e, kw, om)),
                                                    em_add(e, oc, em_const(e, c * WIDTH))), WIDTH)
                               : masked_load(e, p->w, em_add(e, em_mulk(e, g, p->IW * p->O), em_add(e, em_const(e, p->IW * om),
                                                                                          em_mulk(e, kw, t))), lanes);
    for (int r = 0; r < rows; r++) {
        LLVMValueRef xs = splat(e, em_load(e, p->x, em_add(e, xrow[r], k)), WIDTH);
        for (int c = 0; c < chunks; c++)
            LLVMBuildStore(e->b, vec_fma(e, xs, wv[c], LLVMBuildLoad2(e->b, vt, acc[c][r], ""), WIDTH), acc[c][r]);
    }
}

/* n vector accumulators on the stack (registers after mem2reg), all zero */
static void zeroed(emit *e, LLVMTypeRef vt, LLVMValueRef *acc, int n)
{
    for (int i = 0; i < n; i++) {
        acc[i] = em_entry_alloca(e, vt);
        LLVMBuildStore(e->b, LLVMConstNull(vt), acc[i]);
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

/* The tail outputs (past the last full chunk) as dot products over k,
 * WIDTH wide, with the weight's tail rows kept in their original [o][k]
 * layout: a 2-wide chunk would spend a whole step per k on 2 lanes. */
static void tail_dots(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g)
{
    int64_t om = main_outputs(p), kv = p->I / WIDTH;
    LLVMTypeRef vt = LLVMVectorType(e->f32, WIDTH);
    LLVMValueRef xrow[ROWS], orow[ROWS];
    for (int r = 0; r < rows; r++) {
        xrow[r] = em_add(e, em_mulk(e, em_add(e, mx, em_const(e, r)), p->x_m), em_mulk(e, g, p->x_g));
        orow[r] = em_add(e, em_mulk(e, em_add(e, mo, em_const(e, r)), p->o_m), em_mulk(e, g, p->o_g));
    }
    for (int64_t t = 0; t < p->O - om; t++) {
        LLVMValueRef wrow = em_add(e, em_mulk(e, g, p->IW * p->O), em_const(e, om * p->IW + t * p->IW));
        if (p->k0)
            wrow = em_add(e, wrow, p->k0);
        LLVMValueRef acc[ROWS];
        zeroed(e, vt, acc, rows);
        if (kv > 0) {
            loop lk;
            em_loop_begin(e, &lk, em_const(e, kv), "kv");
            LLVMValueRef k = em_mulk(e, lk.index, WIDTH);
            LLVMValueRef wv = vec_load(e, p->w, em_add(e, wrow, k), WIDTH);
            for (int r = 0; r < rows; r++)
                LLVMBuildStore(e->b, vec_fma(e, vec_load(e, p->x, em_add(e, xrow[r], k), WIDTH), wv,
                                             LLVMBuildLoad2(e->b, vt, acc[r], ""), WIDTH), acc[r]);
            em_loop_end(e, &lk);
        }
        int64_t rem = p->I - kv * WIDTH, k_scalar = rem >= 2 ? p->I : kv * WIDTH;
        if (rem >= 2) { /* the last I % WIDTH as one masked chunk into the same sums, not rem scalar steps */
            LLVMValueRef k = em_const(e, kv * WIDTH), wv = masked_load(e, p->w, em_add(e, wrow, k), (int)rem);
            for (int r = 0; r < rows; r++)
                LLVMBuildStore(e->b, vec_fma(e, masked_load(e, p->x, em_add(e, xrow[r], k), (int)rem), wv,
                                             LLVMBuildLoad2(e->b, vt, acc[r], ""), WIDTH), acc[r]);
        }
        LLVMValueRef bias = p->b ? em_load(e, p->b, em_add(e, em_mulk(e, g, p->O), em_const(e, om + t)))
                                 : LLVMConstReal(e->f32, 0);
        for (int r = 0; r < rows; r++) {
            LLVMValueRef at = em_add(e, orow[r], em_const(e, om + t)), start = p->accumulate ? em_load(e, p->out, at) : bias;
            LLVMValueRef sum = LLVMBuildFAdd(e->b, hsum(e, LLVMBuildLoad2(e->b, vt, acc[r], ""), WIDTH), start, "");
            for (int64_t k = k_scalar; k < p->I; k++)
                sum = em_fmuladd(e, em_load(e, p->x, em_add(e, xrow[r], em_const(e, k))),
                                 em_load(e, p->w, em_add(e, wrow, em_const(e, k))), sum);
            em_store(e, p->out, at, sum);
        }
    }
}

/* outputs [oc, oc + 8 chunks) of `rows` rows (x from row mx, out from row mo), group g, or the
 * `lanes` < 8 of the tail (one chunk, masked). With few rows, k is split over several accumulators per
 * row so that the chain of dependent multiply-adds does not set the pace. */
static void chunk(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g,
                  LLVMValueRef oc, int chunks, int lanes)
{
    enum { CHAINS = 4 };
    int split = rows >= CHAINS ? 1 : CHAINS / rows;
    if (split > p->I)
        split = (int)p->I;
    LLVMTypeRef vt = LLVMVectorType(e->f32, WIDTH);
    LLVMValueRef acc[CHAINS][MAX_CHUNKS][ROWS], xrow[ROWS], orow[ROWS], init[MAX_CHUNKS];
    for (int c = 0; c < chunks; c++) {
        LLVMValueRef go = em_add(e, em_add(e, em_mulk(e, g, p->O), oc), em_const(e, c * WIDTH));
        init[c] = !p->b           ? LLVMConstNull(vt)
                  : lanes == WIDTH ? vec_load(e, p->b, go, WIDTH)
                                   : masked_load(e, p->b, go, lanes);
    }
    for (int r = 0; r < rows; r++) {
        xrow[r] = em_add(e, em_mulk(e, em_add(e, mx, em_const(e, r)), p->x_m), em_mulk(e, g, p->x_g));
        orow[r] = em_add(e, em_add(e, em_mulk(e, em_add(e, mo, em_const(e, r)), p->o_m), em_mulk(e, g, p->o_g)), oc);
        for (int j = 0; j < split; j++)
            for (int c = 0; c < chunks; c++) {
                LLVMValueRef at = em_add(e, orow[r], em_const(e, c * WIDTH)), sum = init[c];
                if (p->accumulate && !j)
                    sum = lanes == WIDTH ? vec_load(e, p->out, at, WIDTH) : masked_load(e, p->out, at, lanes);
                acc[j][c][r] = em_entry_alloca(e, vt);
                LLVMBuildStore(e->b, j ? LLVMConstNull(vt) : sum, acc[j][c][r]);
            }
    }
    loop lk;
    em_loop_begin(e, &lk, em_const(e, p->I / split), "k");
    for (int j = 0; j < split; j++)
        step(e, p, rows, xrow, g, oc, em_add(e, em_mulk(e, lk.index, split), em_const(e, j)), chunks, lanes, acc[j]);
    em_loop_end(e, &lk);
    for (int64_t k = p->I / split * split; k < p->I; k++)
        step(e, p, rows, xrow, g, oc, em_const(e, k), chunks, lanes, acc[0]);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < chunks; c++) {
            LLVMValueRef v = LLVMBuildLoad2(e->b, vt, acc[0][c][r], "");
            for (int j = 1; j < split; j++)
                v = LLVMBuildFAdd(e->b, v, LLVMBuildLoad2(e->b, vt, acc[j][c][r], ""), "");
            LLVMValueRef at = em_add(e, orow[r], em_const(e, c * WIDTH));
            if (lanes == WIDTH)
                vec_store(e, v, p->out, at, WIDTH);
            else
                masked_store(e, v, p->out, at, lanes);
        }
}

/* every output of `rows` (at most 4 without AVX-512) rows in group g: full chunks in a loop, the tail as
 * dot products */
static void rows_block(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g)
{
    int most = e->zmm ? MAX_CHUNKS : 1;
    int64_t full = p->O / WIDTH, pairs = full / most;
    if (pairs > 0) {
        loop lc;
        em_loop_begin(e, &lc, em_const(e, pairs), "c");
        chunk(e, p, rows, mx, mo, g, em_mulk(e, lc.index, most * WIDTH), most, WIDTH);
        em_loop_end(e, &lc);
    }
    if (full % most)
        chunk(e, p, rows, mx, mo, g, em_const(e, pairs * most * WIDTH), (int)(full % most), WIDTH);
    if (tail_as_chunk(p->O, p->IW, p->accumulate ? p->I : 0)) /* the packing's choice (em_pack_weight) */
        chunk(e, p, rows, mx, mo, g, em_const(e, main_outputs(p)), 1, (int)(p->O % WIDTH));
    else if (p->O % WIDTH)
        tail_dots(e, p, rows, mx, mo, g);
}

/* An AVX2 CPU runs a 16-lane vector as two 8-lane registers and has 16 of
 * them: ROWS 8 x 2 chunks was 32 accumulators, and LLVM spilled them to
 * the stack (Towers(4, 8, 32)'s chain kernel: 288 spill stores in its
 * loops, 44 GFLOP/s of the 199 peak on the AMD EPYC VM). There a block
 * runs as sub-blocks of 4 rows by one chunk: 8 accumulators, 2 weight
 * loads and 4 broadcasts per k, the blocking the kernels had at 8 lanes. */
void em_rows_block(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g)
{
    enum { AVX2_ROWS = 4 };
    int sub = e->zmm ? rows : AVX2_ROWS;
    for (int r0 = 0; r0 < rows; r0 += sub) {
        int n = rows - r0 < sub ? rows - r0 : sub;
        rows_block(e, p, n, em_add(e, mx, em_const(e, r0)), em_add(e, mo, em_const(e, r0)), g);
    }
}

/* ---- narrow products: fewer than 8 outputs per group, many groups ----
 * (seed 003 composed: 1000 groups of 20 -> 1). A dot product per output
 * spends its horizontal sum and its k remainder on one number; here 8
 * groups go through together, one accumulator each, and one transposing
 * sum turns the 8 accumulators into the 8 groups' results in one vector. */

/* Up to this many rows; past it the row-blocked dot products, which load
 * each weight once per 4 rows, measured 10-20% faster (batch 4096), and
 * the narrow kernel 1.3-1.6x faster at batch 1 and 64. */
enum { NARROW_MAX_ROWS = 256 };

static bool narrow(const sf_node *n)
{
    const sf_type *wt = &n->in[1]->type; /* a tail packed as a chunk is not the [O, I] rows lanes_row reads */
    return n->op == SF_OP_GROUPED_LINEAR && wt->dim[1] < NW && wt->dim[0] >= NW &&
           !tail_as_chunk(wt->dim[1], wt->dim[2], 0);
}

/* a 4-wide vector as the low half of an 8-wide one, the high half 0 */
static LLVMValueRef widen(emit *e, LLVMValueRef v4)
{
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef idx[NW];
    for (int j = 0; j < NW; j++)
        idx[j] = LLVMConstInt(i32, (unsigned)j, 0);
    return LLVMBuildShuffleVector(e->b, v4, LLVMConstNull(LLVMTypeOf(v4)), LLVMConstVector(idx, NW), "");
}

/* lane j of the result = the sum of v[j]'s lanes: an 8 x 8 transpose and
 * add in three levels whose shuffles stay within 128-bit halves until the
 * last (unpack, then shufps, then the halves), one instruction each on AVX. */
static LLVMValueRef shuffle_add(emit *e, LLVMValueRef a, LLVMValueRef b, const unsigned *m1, const unsigned *m2)
{
    LLVMTypeRef i32 = LLVMInt32TypeInContext(e->ctx);
    LLVMValueRef c1[NW], c2[NW];
    for (int j = 0; j < NW; j++)
        c1[j] = LLVMConstInt(i32, m1[j], 0), c2[j] = LLVMConstInt(i32, m2[j], 0);
    return LLVMBuildFAdd(e->b, LLVMBuildShuffleVector(e->b, a, b, LLVMConstVector(c1, NW), ""),
                         LLVMBuildShuffleVector(e->b, a, b, LLVMConstVector(c2, NW), ""), "");
}

static LLVMValueRef lane_sums(emit *e, LLVMValueRef *v)
{
    /* after level 1, pair (a, b): a's and b's partial sums interleaved in each half;
     * after level 2: each half holds four vectors' sums over that half */
    static const unsigned lo[] = {0, 8, 1, 9, 4, 12, 5, 13}, hi[] = {2, 10, 3, 11, 6, 14, 7, 15};
    static const unsigned even[] = {0, 1, 8, 9, 4, 5, 12, 13}, odd[] = {2, 3, 10, 11, 6, 7, 14, 15};
    static const unsigned low[] = {0, 1, 2, 3, 8, 9, 10, 11}, high[] = {4, 5, 6, 7, 12, 13, 14, 15};
    LLVMValueRef t[4], u[2];
    for (int i = 0; i < 4; i++)
        t[i] = shuffle_add(e, v[2 * i], v[2 * i + 1], lo, hi);
    for (int i = 0; i < 2; i++)
        u[i] = shuffle_add(e, t[2 * i], t[2 * i + 1], even, odd);
    return shuffle_add(e, u[0], u[1], low, high);
}

/* 8 values at base[index + j * stride]: one load when they are contiguous */
static LLVMValueRef load_strided(emit *e, LLVMValueRef base, LLVMValueRef index, int64_t stride)
{
    if (stride == 1)
        return vec_load(e, base, index, NW);
    LLVMValueRef v = LLVMGetUndef(LLVMVectorType(e->f32, NW));
    for (int j = 0; j < NW; j++)
        v = LLVMBuildInsertElement(e->b, v, em_load(e, base, em_add(e, index, em_const(e, j * stride))), em_const(e, j), "");
    return v;
}

static void store_strided(emit *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, int64_t stride)
{
    if (stride == 1) {
        vec_store(e, v, base, index, NW);
        return;
    }
    for (int j = 0; j < NW; j++)
        em_store(e, base, em_add(e, index, em_const(e, j * stride)),
                 LLVMBuildExtractElement(e->b, v, em_const(e, j), ""));
}

/* every output of row m in groups [g0, g0 + 8); the weight is unpacked
 * (no full chunk of 8 outputs): W[g, o, k] */
static void lanes_row(emit *e, const product *p, LLVMValueRef m, LLVMValueRef g0)
{
    int64_t kv = p->I / NW, rem = p->I % NW;
    LLVMTypeRef vt = LLVMVectorType(e->f32, NW);
    LLVMValueRef xrow[NW], acc[NW], v[NW];
    for (int j = 0; j < NW; j++)
        xrow[j] = em_add(e, em_mulk(e, m, p->x_m), em_mulk(e, em_add(e, g0, em_const(e, j)), p->x_g));
    for (int64_t t = 0; t < p->O; t++) {
        LLVMValueRef wrow[NW];
        for (int j = 0; j < NW; j++)
            wrow[j] = em_add(e, em_mulk(e, em_add(e, g0, em_const(e, j)), p->I * p->O), em_const(e, t * p->I));
        zeroed(e, vt, acc, NW);
        if (kv > 0) {
            loop lk;
            em_loop_begin(e, &lk, em_const(e, kv), "kv");
            LLVMValueRef k = em_mulk(e, lk.index, NW);
            for (int j = 0; j < NW; j++)
                LLVMBuildStore(e->b, vec_fma(e, vec_load(e, p->x, em_add(e, xrow[j], k), NW),
                                             vec_load(e, p->w, em_add(e, wrow[j], k), NW),
                                             LLVMBuildLoad2(e->b, vt, acc[j], ""), NW), acc[j]);
            em_loop_end(e, &lk);
        }
        LLVMValueRef k = em_const(e, kv * NW);
        for (int j = 0; j < NW; j++) {
            v[j] = LLVMBuildLoad2(e->b, vt, acc[j], "");
            if (rem == NW / 2) /* plain half-width loads; the upper lanes of their product are 0 */
                v[j] = LLVMBuildFAdd(e->b, v[j], widen(e, LLVMBuildFMul(e->b, vec_load(e, p->x, em_add(e, xrow[j], k), 4),
                                                                         vec_load(e, p->w, em_add(e, wrow[j], k), 4), "")), "");
            else if (rem)
                v[j] = vec_fma(e, masked_load_w(e, p->x, em_add(e, xrow[j], k), (int)rem, NW),
                               masked_load_w(e, p->w, em_add(e, wrow[j], k), (int)rem, NW), v[j], NW);
        }
        LLVMValueRef sum = lane_sums(e, v), at = em_add(e, em_mulk(e, g0, p->O), em_const(e, t));
        if (p->b)
            sum = LLVMBuildFAdd(e->b, sum, load_strided(e, p->b, at, p->O), "");
        store_strided(e, sum, p->out, em_add(e, em_add(e, em_mulk(e, m, p->o_m), em_mulk(e, g0, p->o_g)), em_const(e, t)), p->o_g);
    }
}

/* the partitioned loop over (row, block of 8 groups); the groups past the
 * last full block as dot products */
static void narrow_product(emit *e, const product *p)
{
    int64_t blocks = (p->G + NW - 1) / NW;
    loop lt;
    em_part_loop_begin(e, &lt, "t"); /* t = m * blocks + block */
    LLVMValueRef g0 = em_mulk(e, LLVMBuildSRem(e->b, lt.index, em_const(e, blocks), ""), NW);
    LLVMValueRef m = LLVMBuildSDiv(e->b, lt.index, em_const(e, blocks), "");
    LLVMValueRef whole = LLVMBuildICmp(e->b, LLVMIntSLE, em_add(e, g0, em_const(e, NW)), em_const(e, p->G), "");
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "lanes");
    LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "rest");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "done");
    LLVMBuildCondBr(e->b, whole, full, part);
    LLVMPositionBuilderAtEnd(e->b, full);
    lanes_row(e, p, m, g0);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, part);
    loop lg;
    em_loop_from(e, &lg, g0, em_const(e, p->G), "g");
    tail_dots(e, p, 1, m, m, lg.index);
    em_loop_end(e, &lg);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
    em_loop_end(e, &lt);
}

static int64_t rows_of(const sf_node *n, int64_t B)
{
    const sf_type *xt = &n->in[0]->type;
    bool grouped = n->op == SF_OP_GROUPED_LINEAR, shared = grouped && sf_attr_shared(n);
    int64_t m = 1;
    for (int i = 0; i < xt->rank - (grouped && !shared ? 2 : 1); i++)
        m *= xt->dim[i] == SF_DIM_B ? B : xt->dim[i];
    return m;
}

static LLVMValueRef rows_value(emit *e, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type;
    bool grouped = n->op == SF_OP_GROUPED_LINEAR, shared = grouped && sf_attr_shared(n);
    return em_prod(e, xt, 0, xt->rank - (grouped && !shared ? 2 : 1));
}

/* ROWS-row blocks of the first product's rows */
int64_t em_row_blocks(const sf_node *first, int64_t B) { return (rows_of(first, B) + ROWS - 1) / ROWS; }

int64_t em_groups_of(const sf_node *n) { return n->op == SF_OP_GROUPED_LINEAR ? n->in[1]->type.dim[0] : 1; }


int64_t em_product_extent(const sf_node *n, int64_t B)
{
    if (narrow(n) && rows_of(n, B) <= NARROW_MAX_ROWS) /* narrow_product's loop: (row, block of 8 groups) */
        return rows_of(n, B) * ((n->in[1]->type.dim[0] + NW - 1) / NW);
    return em_row_blocks(n, B) * em_groups_of(n);
}

/* the product of node n reading args[xa] (x), args[wa], args[ba] (bias, if
 * any) and writing args[oa], with global strides */
product em_product_of(emit *e, const sf_node *n, int xa, int wa, int ba, int oa)
{
    bool grouped = n->op == SF_OP_GROUPED_LINEAR, grouped_x = grouped && !sf_attr_shared(n);
    const sf_type *wt = &n->in[1]->type;
    product p = {.G = grouped ? wt->dim[0] : 1, .O = wt->dim[grouped ? 1 : 0], .I = wt->dim[grouped ? 2 : 1]};
    p.IW = p.I;
    p.x_m = grouped_x ? p.G * p.I : p.I;
    p.x_g = grouped_x ? p.I : 0;
    p.o_m = p.G * p.O;
    p.o_g = p.O;
    p.x = em_arg(e, xa), p.w = em_arg(e, wa), p.b = n->nin > 2 ? em_arg(e, ba) : NULL, p.out = em_arg(e, oa);
    return p;
}

/* the partitioned loop over (block of ROWS rows, group): body(rows, m0, g) for
 * the full blocks, then row by row for the last, partial one */
void em_over_blocks(emit *e, const sf_node *first, int64_t G, block_fn body, void *ctx)
{
    LLVMValueRef M = rows_value(e, first);
    loop lt;
    em_part_loop_begin(e, &lt, "t"); /* t = block * G + g */
    LLVMValueRef g = LLVMBuildSRem(e->b, lt.index, em_const(e, G), "");
    LLVMValueRef m0 = em_mulk(e, LLVMBuildSDiv(e->b, lt.index, em_const(e, G), ""), ROWS);
    LLVMValueRef whole = LLVMBuildICmp(e->b, LLVMIntSLE, em_add(e, m0, em_const(e, ROWS)), M, "");
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
    body(e, ctx, 1, em_add(e, m0, lr.index), g);
    em_loop_end(e, &lr);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
    em_loop_end(e, &lt);
}

static void one_product(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    em_rows_block(e, ctx, rows, m0, m0, g);
}

void em_product(emit *e, const sf_node *n)
{
    product p = em_product_of(e, n, 0, 1, 2, n->nin);
    if (!narrow(n)) {
        em_over_blocks(e, n, p.G, one_product, &p);
        return;
    }
    /* the row count is known only at run time: both kernels, chosen as em_product_extent chooses */
    LLVMValueRef few = LLVMBuildICmp(e->b, LLVMIntSLE, rows_value(e, n), em_const(e, NARROW_MAX_ROWS), "");
    LLVMBasicBlockRef lanes = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "narrow");
    LLVMBasicBlockRef dots = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "blocked");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "end");
    LLVMBuildCondBr(e->b, few, lanes, dots);
    LLVMPositionBuilderAtEnd(e->b, lanes);
    narrow_product(e, &p);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, dots);
    em_over_blocks(e, n, p.G, one_product, &p);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
}

bool em_packs_weight(const sf_node *n, int k)
{
    return sf_op_has(n->op, SF_OPF_LINEAR) && k == 1;
}

void em_pack_weight(const sf_node *n, int64_t slice, const float *w, float *packed)
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
        if (tail_as_chunk(O, I, slice))
            for (int64_t o = om; o < O; o++)
                for (int64_t k = 0; k < I; k++)
                    dst[om * I + k * (O - om) + (o - om)] = src[o * I + k];
        else
            memcpy(dst + om * I, src + om * I, sizeof(float) * (size_t)((O - om) * I));
    }
}
