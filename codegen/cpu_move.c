/* The CPU kernels that move elements by their coordinates: iota, tril and
 * triu, gather. */
#include "codegen/cpu_emit.h"

#include <math.h>

static LLVMValueRef f32k(emit *e, double v) { return LLVMConstReal(e->f32, v); }

/* element i holds (i / inner) % dim[d], inner the product of the dims after d */
void em_iota(emit *e, const sf_node *n)
{
    const sf_type *t = &n->out[0]->type;
    int d = (int)sf_attr_dim(n);
    LLVMValueRef inner = em_prod(e, t, d + 1, t->rank);
    loop l;
    em_part_loop_begin(e, &l, "i");
    LLVMValueRef c = LLVMBuildSRem(e->b, LLVMBuildSDiv(e->b, l.index, inner, ""), em_dim(e, t->dim[d]), "");
    em_store(e, em_arg(e, 0), l.index, LLVMBuildSIToFP(e->b, c, e->f32, ""));
    em_loop_end(e, &l);
}

/* tril and triu: element (i, j) of each matrix kept where j - i <= or >= diagonal */
void em_triangle(emit *e, const sf_node *n)
{
    const sf_type *t = &n->in[0]->type;
    LLVMValueRef R = em_dim(e, t->dim[t->rank - 2]), C = em_dim(e, t->dim[t->rank - 1]);
    loop l;
    em_part_loop_begin(e, &l, "i");
    LLVMValueRef j = LLVMBuildSRem(e->b, l.index, C, ""), i = LLVMBuildSRem(e->b, LLVMBuildSDiv(e->b, l.index, C, ""), R, "");
    LLVMValueRef d = LLVMBuildSub(e->b, j, i, ""), k = em_const(e, sf_attr_diagonal(n));
    LLVMValueRef keep = LLVMBuildICmp(e->b, n->op == SF_OP_TRIL ? LLVMIntSLE : LLVMIntSGE, d, k, "");
    LLVMValueRef v = em_load(e, em_arg(e, 0), l.index);
    em_store(e, em_arg(e, 1), l.index, LLVMBuildSelect(e->b, keep, v, f32k(e, 0), ""));
    em_loop_end(e, &l);
}

/* gather along dim: out[p] = x[p with p[dim] := idx[p]], x and idx
 * broadcast in the other dims. An index outside [0, n) or NaN gives NaN
 * (PyTorch raises there; a kernel cannot), and reads x[0] meanwhile, so no
 * load leaves x; other indices are truncated toward zero. */
void em_gather(emit *e, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type, *it = &n->in[1]->type, *ot = &n->out[0]->type;
    int dim = (int)sf_attr_dim(n);
    nest ne;
    em_nest_open(e, &ne, ot, true);
    LLVMValueRef iv = em_load(e, em_arg(e, 1), em_bcast_offset(e, &ne, ot, it));
    LLVMValueRef ok = LLVMBuildAnd(e->b, LLVMBuildFCmp(e->b, LLVMRealOGE, iv, f32k(e, 0), ""),
                                   LLVMBuildFCmp(e->b, LLVMRealOLT, iv, f32k(e, (double)xt->dim[dim]), ""), "");
    LLVMValueRef k = LLVMBuildFPToSI(e->b, LLVMBuildSelect(e->b, ok, iv, f32k(e, 0), ""), e->i64, "");
    LLVMValueRef off = em_const(e, 0), stride = em_const(e, 1);
    for (int d = xt->rank - 1; d >= 0; d--) {
        LLVMValueRef at = d == dim ? k : xt->dim[d] == 1 ? NULL : ne.idx[d];
        if (at)
            off = em_add(e, off, LLVMBuildMul(e->b, at, stride, ""));
        stride = LLVMBuildMul(e->b, stride, em_dim(e, xt->dim[d]), "");
    }
    LLVMValueRef v = em_load(e, em_arg(e, 0), off);
    em_store(e, em_arg(e, 2), em_bcast_offset(e, &ne, ot, ot), LLVMBuildSelect(e->b, ok, v, f32k(e, NAN), ""));
    em_nest_close(e, &ne);
}
