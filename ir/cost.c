/* Arithmetic cost of nodes: what bench reports as GFLOP/s and what the
 * CPU runtime uses to decide whether a kernel is worth splitting. */
#include "ir/ir.h"

static double numel_at(const sf_type *t, int64_t batch)
{
    double n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dim[i] == SF_DIM_B ? (double)batch : (double)t->dim[i];
    return n;
}

double sf_node_flops(const sf_node *n, int64_t batch)
{
    sf_opcls cls = sf_op_cls(n->op);
    if (cls == SF_OPCLS_SOURCE || cls == SF_OPCLS_CONSTANT || cls == SF_OPCLS_VIEW)
        return 0;
    const sf_type *ot = &n->out[0]->type;
    double out = numel_at(ot, batch);
    if (sf_op_has(n->op, SF_OPF_LINEAR)) { /* a multiply and an add per weight per row */
        const sf_type *wt = &n->in[1]->type;
        return 2.0 * out * (double)wt->dim[wt->rank - 1];
    }
    if (n->op == SF_OP_MATMUL) {
        const sf_type *at = &n->in[0]->type;
        int64_t k = at->dim[at->rank - 1]; /* B where it sums over the batch */
        return 2.0 * out * (k == SF_DIM_B ? (double)batch : (double)k);
    }
    if (sf_op_has(n->op, SF_OPF_CONV)) { /* weight [O, C/groups, k...] */
        const sf_type *wt = &n->in[1]->type;
        return 2.0 * out * numel_at(wt, batch) / (double)wt->dim[0];
    }
    /* reductions: one per element read; normalisations: about four */
    if (cls == SF_OPCLS_REDUCE || cls == SF_OPCLS_NORM)
        return numel_at(&n->in[0]->type, batch) * (cls == SF_OPCLS_REDUCE ? 1 : 4);
    /* elementwise and copies: one per element written */
    for (int k = 1; k < n->nout; k++)
        out += numel_at(&n->out[k]->type, batch);
    return out;
}

double sf_graph_flops(const sf_graph *g, int64_t batch)
{
    double f = 0;
    for (size_t i = 0; i < g->nodes.len; i++)
        f += sf_node_flops(g->nodes.items[i], batch);
    return f;
}
