/* Convolution for the CPU backend, direct, in an order LLVM vectorises:
 * for each (image, output channel) (the partitioned loop) and output row,
 * the row starts as the bias; then for every input channel of the group
 * and kernel tap (kh, kw) whose input row is inside the image, the output
 * columns whose input column is inside it get w * x added:
 *
 *   out[n, o, oh, ow] += W[o, c, kh, kw] * x[n, g*cg + c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
 *
 * The innermost loop runs over ow with unit stride in the output (and in
 * the input when sw = 1), on a row that stays in L1; the padding becomes
 * loop bounds instead of a test per multiply. conv1d is the H = 1 case. */
#include "codegen/cpu_emit.h"


static LLVMValueRef smax(emit *e, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, a, b, ""), a, b, "");
}

static LLVMValueRef smin(emit *e, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, b, ""), a, b, "");
}

/* the first i >= 0 with i*s + a >= 0, and one past the last with i*s + a < limit, clamped to [0, n] */
static void valid_range(emit *e, LLVMValueRef a, int64_t s, int64_t limit, int64_t n, LLVMValueRef *lo, LLVMValueRef *hi)
{
    /* i*s >= -a  <=>  i >= ceil(-a / s); with -a <= 0 that is 0 */
    LLVMValueRef na = LLVMBuildNeg(e->b, a, "");
    LLVMValueRef up = LLVMBuildSDiv(e->b, em_add(e, na, em_const(e, s - 1)), em_const(e, s), "");
    *lo = smin(e, smax(e, up, em_const(e, 0)), em_const(e, n));
    /* i*s <= limit - 1 - a  <=>  i <= floor((limit - 1 - a) / s); negative means none */
    LLVMValueRef top = LLVMBuildSub(e->b, em_const(e, limit - 1), a, "");
    LLVMValueRef last = LLVMBuildSDiv(e->b, top, em_const(e, s), "");
    LLVMValueRef end = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, top, em_const(e, 0), ""), em_const(e, 0),
                                       em_add(e, last, em_const(e, 1)), "");
    *hi = smax(e, smin(e, end, em_const(e, n)), *lo);
}

void em_conv(emit *e, const sf_node *n)
{
    int sp = n->op == SF_OP_CONV2D ? 2 : 1;
    const sf_type *xt = &n->in[0]->type, *wt = &n->in[1]->type, *ot = &n->out[0]->type;
    const sf_attr *as = sf_attr_stride(n), *ap = sf_attr_padding(n), *ad = sf_attr_dilation(n);
    int64_t C = xt->dim[1], O = ot->dim[1], groups = sf_attr_groups(n), cg = C / groups, og = O / groups;
    int64_t H = sp == 2 ? xt->dim[2] : 1, W = xt->dim[sp + 1], KH = sp == 2 ? wt->dim[2] : 1, KW = wt->dim[sp + 1];
    int64_t OH = sp == 2 ? ot->dim[2] : 1, OW = ot->dim[sp + 1];
    int64_t sh = sp == 2 ? as->ints[0] : 1, sw = as->ints[sp - 1], ph = sp == 2 ? ap->ints[0] : 0, pw = ap->ints[sp - 1];
    int64_t dh = sp == 2 ? ad->ints[0] : 1, dw = ad->ints[sp - 1];
    LLVMValueRef x = em_arg(e, 0), w = em_arg(e, 1), b = n->nin > 2 ? em_arg(e, 2) : NULL, out = em_arg(e, n->nin);
    loop lt, lh, lz, lc, lkh, lkw, lw;
    em_part_loop_begin(e, &lt, "t"); /* t = image * O + o */
    LLVMValueRef img = LLVMBuildSDiv(e->b, lt.index, em_const(e, O), "");
    LLVMValueRef o = LLVMBuildSRem(e->b, lt.index, em_const(e, O), "");
    LLVMValueRef g = LLVMBuildSDiv(e->b, o, em_const(e, og), "");
    em_loop_begin(e, &lh, em_const(e, OH), "oh");
    LLVMValueRef orow = em_mulk(e, em_add(e, em_mulk(e, em_add(e, em_mulk(e, img, O), o), OH), lh.index), OW);
    LLVMValueRef bias = b ? em_load(e, b, o) : LLVMConstReal(e->f32, 0);
    em_loop_begin(e, &lz, em_const(e, OW), "z");
    em_store(e, out, em_add(e, orow, lz.index), bias);
    em_loop_end(e, &lz);
    em_loop_begin(e, &lc, em_const(e, cg), "c");
    LLVMValueRef ch = em_add(e, em_mulk(e, g, cg), lc.index);
    em_loop_begin(e, &lkh, em_const(e, KH), "kh");
    LLVMValueRef ih = em_add(e, LLVMBuildSub(e->b, em_mulk(e, lh.index, sh), em_const(e, ph), ""), em_mulk(e, lkh.index, dh));
    LLVMValueRef inside = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, ih, em_const(e, 0), ""),
                                       LLVMBuildICmp(e->b, LLVMIntSLT, ih, em_const(e, H), ""), "");
    LLVMBasicBlockRef rows = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "row");
    LLVMBasicBlockRef skip = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "skip");
    LLVMBuildCondBr(e->b, inside, rows, skip);
    LLVMPositionBuilderAtEnd(e->b, rows);
    LLVMValueRef xrow = em_mulk(e, em_add(e, em_mulk(e, em_add(e, em_mulk(e, img, C), ch), H), ih), W);
    LLVMValueRef wrow = em_mulk(e, em_add(e, em_mulk(e, em_add(e, em_mulk(e, o, cg), lc.index), KH), lkh.index), KW);
    em_loop_begin(e, &lkw, em_const(e, KW), "kw");
    LLVMValueRef wv = em_load(e, w, em_add(e, wrow, lkw.index));
    LLVMValueRef shift = LLVMBuildSub(e->b, em_mulk(e, lkw.index, dw), em_const(e, pw), ""); /* iw = ow*sw + shift */
    LLVMValueRef lo, hi;
    valid_range(e, shift, sw, W, OW, &lo, &hi);
    em_loop_from(e, &lw, lo, hi, "ow");
    LLVMValueRef at = em_add(e, orow, lw.index);
    LLVMValueRef xv = em_load(e, x, em_add(e, xrow, em_add(e, em_mulk(e, lw.index, sw), shift)));
    em_store(e, out, at, em_fmuladd(e, wv, xv, em_load(e, out, at)));
    em_loop_end(e, &lw);
    em_loop_end(e, &lkw);
    LLVMBuildBr(e->b, skip);
    LLVMPositionBuilderAtEnd(e->b, skip);
    em_loop_end(e, &lkh);
    em_loop_end(e, &lc);
    em_loop_end(e, &lh);
    em_loop_end(e, &lt);
}
