/* The op table, expanded from ops.def. */
#include "ir.h"

#define A(name, kind) {#name, SF_ATTR_##kind},
#define OP(id, text, min_in, max_in, nres, ...) \
    static const sf_attr_spec attrs_##id[] = {__VA_ARGS__{NULL, SF_ATTR_INT}};
#include "ops.def"
#undef OP

#define OP(id, text, min_in, max_in, nres, ...) \
    [SF_OP_##id] = {text, min_in, max_in, nres, attrs_##id,    \
                    (int)(sizeof attrs_##id / sizeof attrs_##id[0]) - 1},
const sf_op_info sf_ops[SF_OP_COUNT] = {
#include "ops.def"
};
#undef OP
#undef A

bool sf_op_is_reshape(sf_opcode op)
{
    return op == SF_OP_RESHAPE || op == SF_OP_SQUEEZE || op == SF_OP_UNSQUEEZE || op == SF_OP_FLATTEN;
}
