/* Kernel sharing rules common to the CPU and CUDA backends. */
#include "codegen/kernel_key.h"

#include <string.h>

int64_t sf_dims_at(const sf_type *t, int from, int to, int64_t B)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= t->dim[i] == SF_DIM_B ? B : t->dim[i];
    return p;
}

int64_t sf_kernel_arg_offset(const sf_node *n, int k, int64_t B)
{
    if (n->op != SF_OP_SLICE || k != 0)
        return 0;
    const sf_type *it = &n->in[0]->type;
    return sf_attr_start(n) * sf_dims_at(it, (int)sf_attr_dim(n) + 1, it->rank, B);
}

char *sf_kernel_signature(const sf_node *n)
{
    if (n->op != SF_OP_SLICE)
        return sf_node_signature(n);
    /* the same slice kernel serves every start */
    sf_node copy = *n;
    sf_attr attrs[8];
    int na = sf_ops[n->op].nattrs;
    memcpy(attrs, n->attrs, sizeof attrs[0] * (size_t)na);
    int64_t start = sf_attr_start(n);
    attrs[sf_op_attr_slot(n->op, SF_ATTR_START)].i -= start;
    attrs[sf_op_attr_slot(n->op, SF_ATTR_END)].i -= start;
    copy.attrs = attrs;
    return sf_node_signature(&copy);
}
