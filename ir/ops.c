/* The op table and the attribute table, expanded from ops.def. */
#include "ir/ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sf_attr_spec sf_attrs[SF_ATTR_COUNT] = {
#define ATTR(id, name, kind) [SF_ATTR_##id] = {SF_ATTR_##id, #name, SF_AK_##kind},
#include "ir/ops.def"
};

#define A(id) &sf_attrs[SF_ATTR_##id],
#define OP(id, text, min_in, max_in, nres, cls, flags, grad, ...) \
    static const sf_attr_spec *const attrs_##id[] = {__VA_ARGS__ NULL};
#include "ir/ops.def"

#define OP(id, text, min_in, max_in, nres, cls, flags, grad, ...)                                   \
    [SF_OP_##id] = {text, min_in, max_in, nres, SF_OPCLS_##cls, flags, attrs_##id,                  \
                    (int)(sizeof attrs_##id / sizeof attrs_##id[0]) - 1},
const sf_op_info sf_ops[SF_OP_COUNT] = {
#include "ir/ops.def"
};
#undef A

sf_opcode sf_op_by_name(const char *s, size_t n)
{
    for (int op = 0; op < SF_OP_COUNT; op++)
        if (strlen(sf_ops[op].name) == n && memcmp(sf_ops[op].name, s, n) == 0)
            return (sf_opcode)op;
    return SF_OP_COUNT;
}

int sf_op_attr_slot(sf_opcode op, sf_attr_id id)
{
    const sf_op_info *info = &sf_ops[op];
    for (int i = 0; i < info->nattrs; i++)
        if (info->attrs[i]->id == id)
            return i;
    return -1;
}
