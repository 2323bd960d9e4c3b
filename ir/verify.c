/* The verifier: invariants every graph holds between passes. It trusts
 * nothing that the builder checked, so a pass that edits nodes directly is
 * caught here. */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

/* "node 7 (linear at m.sfir:3:5)" */
static const char *where(const sf_node *n, size_t i, char *buf, size_t cap)
{
    if (n->loc)
        snprintf(buf, cap, "node %zu (%s at %s)", i, sf_ops[n->op].name, n->loc);
    else
        snprintf(buf, cap, "node %zu (%s)", i, sf_ops[n->op].name);
    return buf;
}

static sf_status check_attrs(const sf_node *n)
{
    const sf_op_info *info = &sf_ops[n->op];
    for (int i = 0; i < info->nattrs; i++) {
        const sf_attr *a = &n->attrs[i];
        if (!a->set)
            return SF_ERR_VERIFY;
        bool list = info->attrs[i]->kind == SF_AK_INTS || info->attrs[i]->kind == SF_AK_SHAPE;
        if (list && (a->n < 0 || (a->n > 0 && !a->ints)))
            return SF_ERR_VERIFY;
        if (info->attrs[i]->kind == SF_AK_BOOL && a->i != 0 && a->i != 1)
            return SF_ERR_VERIFY;
    }
    return SF_OK;
}

static sf_status verify_node(const sf_graph *g, const sf_node *n, const unsigned char *defined, sf_error *err)
{
    const sf_op_info *info = &sf_ops[n->op];
    if (n->nin < info->min_in || (info->max_in >= 0 && n->nin > info->max_in))
        return sf_fail(err, SF_ERR_VERIFY, "has %d operands", n->nin);
    for (int i = 0; i < n->nin; i++) {
        const sf_value *v = n->in[i];
        if (!v || v->id < 0 || (size_t)v->id >= g->values.len || g->values.items[v->id] != v)
            return sf_fail(err, SF_ERR_VERIFY, "operand %d is not a value of this graph", i);
        if (!defined[v->id])
            return sf_fail(err, SF_ERR_VERIFY, "operand %d (%%%d) is used before it is defined", i, v->id);
    }
    if (check_attrs(n) != SF_OK)
        return sf_fail(err, SF_ERR_VERIFY, "has a missing or malformed attribute");
    if (sf_op_cls(n->op) == SF_OPCLS_SOURCE) {
        if (n->nout != 1 || !n->name || !*n->name)
            return sf_fail(err, SF_ERR_VERIFY, "must have a name and one result");
        return SF_OK;
    }
    int nres = sf_node_result_count(n);
    if (nres != n->nout || nres < 1)
        return sf_fail(err, SF_ERR_VERIFY, "has %d results, its attributes say %d", n->nout, nres);
    sf_type *types = malloc(sizeof *types * (size_t)nres);
    if (!types)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    sf_status st = sf_infer_shapes(n, types, nres, err);
    for (int i = 0; st == SF_OK && i < nres; i++) {
        if (!sf_type_equal(&types[i], &n->out[i]->type)) {
            char a[128], b[128];
            st = sf_fail(err, SF_ERR_VERIFY, "result %d is typed %s but its operands give %s", i,
                         sf_type_str(&n->out[i]->type, a, sizeof a), sf_type_str(&types[i], b, sizeof b));
        }
    }
    free(types);
    return st;
}

sf_status sf_verify(const sf_graph *g, sf_error *err)
{
    unsigned char *defined = calloc(g->values.len + 1, 1);
    if (!defined)
        return sf_fail(err, SF_ERR_NOMEM, "verify: out of memory");
    sf_status st = SF_OK;
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (n->op < 0 || n->op >= SF_OP_COUNT) {
            st = sf_fail(err, SF_ERR_VERIFY, "verify: node %zu has an unknown opcode %d", i, (int)n->op);
            break;
        }
        st = verify_node(g, n, defined, err);
        for (int k = 0; st == SF_OK && k < n->nout; k++) {
            const sf_value *v = n->out[k];
            if (!v || v->def != n || v->index != k || (size_t)v->id >= g->values.len ||
                g->values.items[v->id] != v || defined[v->id])
                st = sf_fail(err, SF_ERR_VERIFY, "result %d is malformed or defined twice", k);
            else
                defined[v->id] = 1;
        }
        if (st != SF_OK) {
            char buf[256];
            sf_error_prefix(err, "verify: %s", where(n, i, buf, sizeof buf));
        }
    }
    if (st == SF_OK && g->outputs.len == 0)
        st = sf_fail(err, SF_ERR_VERIFY, "verify: the function returns nothing");
    for (size_t i = 0; st == SF_OK && i < g->outputs.len; i++) {
        const sf_value *v = g->outputs.items[i];
        if (!v || (size_t)v->id >= g->values.len || g->values.items[v->id] != v || !defined[v->id])
            st = sf_fail(err, SF_ERR_VERIFY, "verify: output %zu is not a defined value", i);
    }
    free(defined);
    return st;
}
