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

#include "codegen/cpu_emit.h"

/* ROWS rows by MAX_CHUNKS chunks of WIDTH outputs: 8 accumulators, enough
 * independent multiply-adds to cover two FMA pipes' latency (4 alone ran
 * at half of it), from 2 weight loads and 4 broadcasts per k. WIDTH is
 * AVX-512's 16 lanes: this machine's FMA peak is 463 GFLOP/s on 2 threads
 * with 16 lanes against 205 with 8 (bench/fma_peak.c), and one tower of
 * Towers(4, 8, 32) without its GELU (32 -> 8 x 32 -> 32, batch 4096) went
 * from 182-191 to 313-319 GFLOP/s. A CPU without AVX-512 runs the same
 * code as pairs of 8-lane instructions. Changing WIDTH changes the
 * packing: SF_CPU_ABI with it. */
enum { ROWS = 4, WIDTH = 16, MAX_CHUNKS = 2 };
/* the narrow kernel's lanes: 8 groups at a time (lane_sums' 8 x 8 transpose) */
enum { NW = 8 };

/* One product as the emitter sees it: x[m, g, k] at m * x_m + g * x_g + k,
 * out[m, g, o] at m * o_m + g * o_g + o, W^T[g, k, o], b[g, o]. A fused
 * chain's intermediate lives in a stack buffer of ROWS rows (g stride 0).
 * A slice of a product over all groups (a chain's last) runs its k over
 * [k0, k0 + I) of the weight's IW and adds to what out holds. */
typedef struct product {
    int64_t G, O, I, IW;
    int64_t x_m, x_g, o_m, o_g;
    LLVMValueRef x, w, b, out;
    LLVMValueRef k0; /* NULL: 0 */
    bool accumulate; /* out's values are the sums so far: they start the accumulators (b is NULL) */
} product;

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

static LLVMValueRef mul(emit *e, LLVMValueRef a, int64_t k) { return LLVMBuildMul(e->b, a, em_const(e, k), ""); }

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
 * packing: SF_CPU_ABI with it. */
static bool tail_as_chunk(int64_t O, int64_t I)
{
    int64_t t = O % WIDTH;
    return t > 0 && t * (I / WIDTH + (I % WIDTH > 0) + 6) > 2 * I;
}
static LLVMValueRef add(emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(e->b, a, b, ""); }

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
    LLVMValueRef wv[MAX_CHUNKS], kw = p->k0 ? add(e, p->k0, k) : k;
    for (int c = 0; c < chunks; c++)
        wv[c] = lanes == WIDTH ? vec_load(e, p->w, add(e, add(e, mul(e, g, p->IW * p->O), mul(e, kw, om)),
                                                    add(e, oc, em_const(e, c * WIDTH))), WIDTH)
                               : masked_load(e, p->w, add(e, mul(e, g, p->IW * p->O), add(e, em_const(e, p->IW * om),
                                                                                          mul(e, kw, t))), lanes);
    for (int r = 0; r < rows; r++) {
        LLVMValueRef xs = splat(e, em_load(e, p->x, add(e, xrow[r], k)), WIDTH);
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
        xrow[r] = add(e, mul(e, add(e, mx, em_const(e, r)), p->x_m), mul(e, g, p->x_g));
        orow[r] = add(e, mul(e, add(e, mo, em_const(e, r)), p->o_m), mul(e, g, p->o_g));
    }
    for (int64_t t = 0; t < p->O - om; t++) {
        LLVMValueRef wrow = add(e, mul(e, g, p->IW * p->O), em_const(e, om * p->IW + t * p->IW));
        if (p->k0)
            wrow = add(e, wrow, p->k0);
        LLVMValueRef acc[ROWS];
        zeroed(e, vt, acc, rows);
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
        int64_t rem = p->I - kv * WIDTH, k_scalar = rem >= 2 ? p->I : kv * WIDTH;
        if (rem >= 2) { /* the last I % WIDTH as one masked chunk into the same sums, not rem scalar steps */
            LLVMValueRef k = em_const(e, kv * WIDTH), wv = masked_load(e, p->w, add(e, wrow, k), (int)rem);
            for (int r = 0; r < rows; r++)
                LLVMBuildStore(e->b, vec_fma(e, masked_load(e, p->x, add(e, xrow[r], k), (int)rem), wv,
                                             LLVMBuildLoad2(e->b, vt, acc[r], ""), WIDTH), acc[r]);
        }
        LLVMValueRef bias = p->b ? em_load(e, p->b, add(e, mul(e, g, p->O), em_const(e, om + t)))
                                 : LLVMConstReal(e->f32, 0);
        for (int r = 0; r < rows; r++) {
            LLVMValueRef at = add(e, orow[r], em_const(e, om + t)), start = p->accumulate ? em_load(e, p->out, at) : bias;
            LLVMValueRef sum = LLVMBuildFAdd(e->b, hsum(e, LLVMBuildLoad2(e->b, vt, acc[r], ""), WIDTH), start, "");
            for (int64_t k = k_scalar; k < p->I; k++)
                sum = em_fmuladd(e, em_load(e, p->x, add(e, xrow[r], em_const(e, k))),
                                 em_load(e, p->w, add(e, wrow, em_const(e, k))), sum);
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
        LLVMValueRef go = add(e, add(e, mul(e, g, p->O), oc), em_const(e, c * WIDTH));
        init[c] = !p->b           ? LLVMConstNull(vt)
                  : lanes == WIDTH ? vec_load(e, p->b, go, WIDTH)
                                   : masked_load(e, p->b, go, lanes);
    }
    for (int r = 0; r < rows; r++) {
        xrow[r] = add(e, mul(e, add(e, mx, em_const(e, r)), p->x_m), mul(e, g, p->x_g));
        orow[r] = add(e, add(e, mul(e, add(e, mo, em_const(e, r)), p->o_m), mul(e, g, p->o_g)), oc);
        for (int j = 0; j < split; j++)
            for (int c = 0; c < chunks; c++) {
                LLVMValueRef at = add(e, orow[r], em_const(e, c * WIDTH)), sum = init[c];
                if (p->accumulate && !j)
                    sum = lanes == WIDTH ? vec_load(e, p->out, at, WIDTH) : masked_load(e, p->out, at, lanes);
                acc[j][c][r] = em_entry_alloca(e, vt);
                LLVMBuildStore(e->b, j ? LLVMConstNull(vt) : sum, acc[j][c][r]);
            }
    }
    loop lk;
    em_loop_begin(e, &lk, em_const(e, p->I / split), "k");
    for (int j = 0; j < split; j++)
        step(e, p, rows, xrow, g, oc, add(e, mul(e, lk.index, split), em_const(e, j)), chunks, lanes, acc[j]);
    em_loop_end(e, &lk);
    for (int64_t k = p->I / split * split; k < p->I; k++)
        step(e, p, rows, xrow, g, oc, em_const(e, k), chunks, lanes, acc[0]);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < chunks; c++) {
            LLVMValueRef v = LLVMBuildLoad2(e->b, vt, acc[0][c][r], "");
            for (int j = 1; j < split; j++)
                v = LLVMBuildFAdd(e->b, v, LLVMBuildLoad2(e->b, vt, acc[j][c][r], ""), "");
            LLVMValueRef at = add(e, orow[r], em_const(e, c * WIDTH));
            if (lanes == WIDTH)
                vec_store(e, v, p->out, at, WIDTH);
            else
                masked_store(e, v, p->out, at, lanes);
        }
}

/* every output of `rows` rows in group g: full chunks in a loop, the tail as dot products */
static void rows_block(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g)
{
    int64_t full = p->O / WIDTH, pairs = full / MAX_CHUNKS;
    if (pairs > 0) {
        loop lc;
        em_loop_begin(e, &lc, em_const(e, pairs), "c");
        chunk(e, p, rows, mx, mo, g, mul(e, lc.index, MAX_CHUNKS * WIDTH), MAX_CHUNKS, WIDTH);
        em_loop_end(e, &lc);
    }
    if (full % MAX_CHUNKS)
        chunk(e, p, rows, mx, mo, g, em_const(e, pairs * MAX_CHUNKS * WIDTH), (int)(full % MAX_CHUNKS), WIDTH);
    if (tail_as_chunk(p->O, p->IW)) /* the packing's choice: by the weight's whole rows */
        chunk(e, p, rows, mx, mo, g, em_const(e, main_outputs(p)), 1, (int)(p->O % WIDTH));
    else if (p->O % WIDTH)
        tail_dots(e, p, rows, mx, mo, g);
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
           !tail_as_chunk(wt->dim[1], wt->dim[2]);
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
        v = LLVMBuildInsertElement(e->b, v, em_load(e, base, add(e, index, em_const(e, j * stride))), em_const(e, j), "");
    return v;
}

static void store_strided(emit *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index, int64_t stride)
{
    if (stride == 1) {
        vec_store(e, v, base, index, NW);
        return;
    }
    for (int j = 0; j < NW; j++)
        em_store(e, base, add(e, index, em_const(e, j * stride)),
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
        xrow[j] = add(e, mul(e, m, p->x_m), mul(e, add(e, g0, em_const(e, j)), p->x_g));
    for (int64_t t = 0; t < p->O; t++) {
        LLVMValueRef wrow[NW];
        for (int j = 0; j < NW; j++)
            wrow[j] = add(e, mul(e, add(e, g0, em_const(e, j)), p->I * p->O), em_const(e, t * p->I));
        zeroed(e, vt, acc, NW);
        if (kv > 0) {
            loop lk;
            em_loop_begin(e, &lk, em_const(e, kv), "kv");
            LLVMValueRef k = mul(e, lk.index, NW);
            for (int j = 0; j < NW; j++)
                LLVMBuildStore(e->b, vec_fma(e, vec_load(e, p->x, add(e, xrow[j], k), NW),
                                             vec_load(e, p->w, add(e, wrow[j], k), NW),
                                             LLVMBuildLoad2(e->b, vt, acc[j], ""), NW), acc[j]);
            em_loop_end(e, &lk);
        }
        LLVMValueRef k = em_const(e, kv * NW);
        for (int j = 0; j < NW; j++) {
            v[j] = LLVMBuildLoad2(e->b, vt, acc[j], "");
            if (rem == NW / 2) /* plain half-width loads; the upper lanes of their product are 0 */
                v[j] = LLVMBuildFAdd(e->b, v[j], widen(e, LLVMBuildFMul(e->b, vec_load(e, p->x, add(e, xrow[j], k), 4),
                                                                         vec_load(e, p->w, add(e, wrow[j], k), 4), "")), "");
            else if (rem)
                v[j] = vec_fma(e, masked_load_w(e, p->x, add(e, xrow[j], k), (int)rem, NW),
                               masked_load_w(e, p->w, add(e, wrow[j], k), (int)rem, NW), v[j], NW);
        }
        LLVMValueRef sum = lane_sums(e, v), at = add(e, mul(e, g0, p->O), em_const(e, t));
        if (p->b)
            sum = LLVMBuildFAdd(e->b, sum, load_strided(e, p->b, at, p->O), "");
        store_strided(e, sum, p->out, add(e, add(e, mul(e, m, p->o_m), mul(e, g0, p->o_g)), em_const(e, t)), p->o_g);
    }
}

/* the partitioned loop over (row, block of 8 groups); the groups past the
 * last full block as dot products */
static void narrow_product(emit *e, const product *p)
{
    int64_t blocks = (p->G + NW - 1) / NW;
    loop lt;
    em_part_loop_begin(e, &lt, "t"); /* t = m * blocks + block */
    LLVMValueRef g0 = mul(e, LLVMBuildSRem(e->b, lt.index, em_const(e, blocks), ""), NW);
    LLVMValueRef m = LLVMBuildSDiv(e->b, lt.index, em_const(e, blocks), "");
    LLVMValueRef whole = LLVMBuildICmp(e->b, LLVMIntSLE, add(e, g0, em_const(e, NW)), em_const(e, p->G), "");
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
static int64_t row_blocks(const sf_node *first, int64_t B) { return (rows_of(first, B) + ROWS - 1) / ROWS; }

static int64_t groups_of(const sf_node *n) { return n->op == SF_OP_GROUPED_LINEAR ? n->in[1]->type.dim[0] : 1; }


/* over_blocks' loop: (block of ROWS rows, group), or blocks alone where the
 * chain sums over the groups (each block runs every group) */
int64_t em_chain_extent(const sf_node *const *nodes, int count, int64_t B)
{
    return row_blocks(nodes[0], B) * (sf_plan_chain_sums(nodes, count) ? 1 : groups_of(nodes[0]));
}

int64_t em_product_extent(const sf_node *n, int64_t B)
{
    if (narrow(n) && rows_of(n, B) <= NARROW_MAX_ROWS) /* narrow_product's loop: (row, block of 8 groups) */
        return rows_of(n, B) * ((n->in[1]->type.dim[0] + NW - 1) / NW);
    return row_blocks(n, B) * groups_of(n);
}

/* the product of node n reading args[xa] (x), args[wa], args[ba] (bias, if
 * any) and writing args[oa], with global strides */
static product product_of(emit *e, const sf_node *n, int xa, int wa, int ba, int oa)
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
    if (!narrow(n)) {
        over_blocks(e, n, p.G, one_product, &p);
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
    over_blocks(e, n, p.G, one_product, &p);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, done);
}

/* ---- fused chains: products and unary ops per group, optionally a
 * product over all groups ----
 * Each product of a chain (a stage) writes ROWS rows of one group into a
 * stack buffer the next reads (two, in turn), the last into the output;
 * the unary ops after a stage run over what it wrote. A chain that ends
 * in a product over all groups (the K-concatenated product hfuse makes of
 * summed branches) runs each block of rows through every group in turn,
 * adding each group's slice of that product into the output rows, so the
 * groups' results are never stored. */

enum { MAX_STAGES = SF_CHAIN_MAX_PRODUCTS };

typedef struct stage {
    product p;
    const sf_node *const *epilogue; /* the unary ops after it */
    int nepilogue;
    LLVMValueRef fn; /* epilogue_fn's, once made */
} stage;

typedef struct chain {
    stage s[MAX_STAGES];
    int n;
    bool sums;       /* the last stage sums over the groups */
    int64_t G, H;    /* the groups, and the width of each that the sum reads */
    LLVMValueRef b;  /* the sum's bias, or NULL */
} chain;

/* void f(float *p, i64 n): the stage's unary ops over p[0, n), as a
 * function of its own, not inlined. Written inline, in a chain's nested
 * loops over a stack buffer, LLVM 14 left the loop scalar (GELU over 4
 * rows of 32 ran as scalar code, 6x slower than the kernel alone);
 * alone, it is the plain loop the vectorizer widens. */
static LLVMValueRef epilogue_fn(emit *e, const stage *s)
{
    LLVMTypeRef params[2] = {e->ptr, e->i64};
    LLVMValueRef f = LLVMAddFunction(e->mod, "epilogue", LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), params, 2, 0));
    LLVMSetLinkage(f, LLVMInternalLinkage);
    unsigned kind = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(e->ctx, kind, 0));
    LLVMValueRef fn = e->fn;
    LLVMBasicBlockRef at = LLVMGetInsertBlock(e->b);
    e->fn = f;
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, f, "entry"));
    LLVMValueRef p = LLVMGetParam(f, 0);
    loop li;
    em_loop_begin(e, &li, LLVMGetParam(f, 1), "i");
    LLVMValueRef v = em_load(e, p, li.index);
    for (int k = 0; k < s->nepilogue; k++)
        v = em_unary(e, s->epilogue[k]->op, v);
    em_store(e, p, li.index, v);
    em_loop_end(e, &li);
    LLVMBuildRetVoid(e->b);
    e->fn = fn;
    LLVMPositionBuilderAtEnd(e->b, at);
    return f;
}

/* the activations over `rows` rows of p's result, where it lies: a stack
 * buffer (one run of rows * O, through epilogue_fn), or the output (a
 * loop per row, which the vectorizer widens there) */
static void apply_epilogue(emit *e, stage *s, int rows, LLVMValueRef mo, LLVMValueRef g, bool on_stack)
{
    const product *p = &s->p;
    if (on_stack) {
        if (!s->fn)
            s->fn = epilogue_fn(e, s);
        LLVMValueRef args[2] = {p->out, em_const(e, rows * p->O)};
        LLVMBuildCall2(e->b, LLVMGlobalGetValueType(s->fn), s->fn, args, 2, "");
        return;
    }
    bool packed = p->o_m == p->O; /* one group's rows are one run of rows * O: one vector loop */
    for (int r = 0; r < (packed ? 1 : rows); r++) {
        LLVMValueRef row = add(e, mul(e, add(e, mo, em_const(e, r)), p->o_m), mul(e, g, p->o_g));
        loop li;
        em_loop_begin(e, &li, em_const(e, packed ? rows * p->O : p->O), "i");
        LLVMValueRef at = add(e, row, li.index), v = em_load(e, p->out, at);
        for (int k = 0; k < s->nepilogue; k++)
            v = em_unary(e, s->epilogue[k]->op, v);
        em_store(e, p->out, at, v);
        em_loop_end(e, &li);
    }
}

/* stages [0, n) of `rows` rows from row m0, group g */
static void run_stages(emit *e, chain *c, int n, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    LLVMValueRef zero = em_const(e, 0);
    for (int i = 0; i < n; i++) {
        stage *s = &c->s[i];
        bool to_out = i == c->n - 1;
        LLVMValueRef mo = to_out ? m0 : zero, pg = s->p.G > 1 ? g : zero;
        rows_block(e, &s->p, rows, i == 0 ? m0 : zero, mo, pg);
        if (s->nepilogue)
            apply_epilogue(e, s, rows, mo, pg, !to_out);
    }
}

static void chain_block(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    run_stages(e, ctx, ((chain *)ctx)->n, rows, m0, g);
}

/* a block of rows through every group: the output rows start at the sum's
 * bias, each group adds its slice, the sum's epilogue runs last */
static void sum_block(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    (void)g;
    chain *c = ctx;
    stage *z = &c->s[c->n - 1];
    int64_t O = z->p.O;
    loop li;
    em_loop_begin(e, &li, em_const(e, rows * O), "i");
    LLVMValueRef start = c->b ? em_load(e, c->b, LLVMBuildSRem(e->b, li.index, em_const(e, O), ""))
                              : LLVMConstReal(e->f32, 0);
    em_store(e, z->p.out, add(e, mul(e, m0, O), li.index), start);
    em_loop_end(e, &li);
    loop lg;
    em_loop_begin(e, &lg, em_const(e, c->G), "g");
    run_stages(e, c, c->n - 1, rows, m0, lg.index);
    z->p.k0 = mul(e, lg.index, c->H);
    rows_block(e, &z->p, rows, em_const(e, 0), m0, em_const(e, 0));
    em_loop_end(e, &lg);
    if (z->nepilogue)
        apply_epilogue(e, z, rows, m0, em_const(e, 0), false);
}

/* the stages of nodes[0..count) (sf_plan_chain_fits holds), with the plan
 * kernel's args: the first product's operands, each later product's
 * weight and bias, the result */
static void stages_of(emit *e, chain *c, const sf_node *const *nodes, int count)
{
    int at = nodes[0]->nin;
    for (int k = 0; k < count; k++) {
        const sf_node *n = nodes[k];
        if (sf_op_cls(n->op) == SF_OPCLS_UNARY) {
            c->s[c->n - 1].nepilogue++;
            continue;
        }
        int wa = k ? at : 1, ba = k ? at + 1 : 2;
        if (k)
            at += n->nin - 1;
        stage *s = &c->s[c->n++];
        s->p = product_of(e, n, 0, wa, ba, 0);
        s->epilogue = nodes + k + 1;
        s->nepilogue = 0;
        s->fn = NULL;
    }
    stage *z = &c->s[c->n - 1];
    z->p.out = em_arg(e, at);
    c->sums = sf_plan_chain_sums(nodes, count);
    c->G = groups_of(nodes[0]);
    if (c->sums) { /* one group's slice at a time: k over [g H, (g + 1) H) of the whole row */
        c->H = z->p.I / c->G;
        z->p.I = c->H, z->p.o_g = 0, z->p.accumulate = true;
        c->b = z->p.b;
        z->p.b = NULL;
    }
}

void em_chain(emit *e, const sf_node *const *nodes, int count)
{
    chain c = {.n = 0};
    stages_of(e, &c, nodes, count);
    int64_t H = 0; /* the widest intermediate */
    for (int i = 0; i < c.n - 1; i++)
        H = c.s[i].p.O > H ? c.s[i].p.O : H;
    LLVMValueRef mid[2] = {NULL, NULL};
    for (int j = 0; j < 2 && H; j++) {
        LLVMValueRef slot = em_entry_alloca(e, LLVMArrayType(e->f32, (unsigned)(ROWS * H)));
        LLVMSetAlignment(slot, 32);
        mid[j] = LLVMBuildBitCast(e->b, slot, e->ptr, "");
    }
    for (int i = 0; i < c.n; i++) { /* stage i writes mid[i % 2], stage i + 1 reads it */
        product *p = &c.s[i].p;
        if (i < c.n - 1)
            p->out = mid[i % 2], p->o_m = p->O, p->o_g = 0;
        if (i > 0)
            p->x = mid[(i - 1) % 2], p->x_m = c.s[i - 1].p.O, p->x_g = 0;
    }
    over_blocks(e, nodes[0], c.sums ? 1 : c.G, c.sums ? sum_block : chain_block, &c);
}

bool em_packs_weight(const sf_node *n, int k)
{
    return sf_op_has(n->op, SF_OPF_LINEAR) && k == 1;
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
        if (tail_as_chunk(O, I))
            for (int64_t o = om; o < O; o++)
                for (int64_t k = 0; k < I; k++)
                    dst[om * I + k * (O - om) + (o - om)] = src[o * I + k];
        else
            memcpy(dst + om * I, src + om * I, sizeof(float) * (size_t)((O - om) * I));
    }
}
