/* vfuse: vertical fusion marks for the backends. Nothing is rewritten;
 * nodes that a backend should run as one kernel share a region number:
 *  - a product (linear, grouped_linear, matmul, conv) with its epilogue:
 *    the chain of elementwise ops after it (activations, ops with a
 *    constant operand such as a bias or a scale) whose inner values have
 *    no other use;
 *  - a whole small per-branch chain: a grouped product, its epilogue, and
 *    the per-group grouped products that read it, when each group's
 *    widths are small enough to keep the intermediate on chip;
 *  - after a grouped product whose groups are that small, the product that
 *    sums over the groups: a reshape [..., G, H] -> [..., G*H] and the
 *    linear that reads it (the K-concatenated product hfuse makes of
 *    branches summed), so the groups' results need never be stored;
 *  - a chain of elementwise ops with no product in front of it.
 * A region of one node is left unmarked. Runs last: later rewrites would
 * drop the marks.
 * Needs use counts (SF_PASS_USES); changes only regions, so the counts stay valid. */
#include <stdlib.h>

#include "passes/pass.h"

enum { ON_CHIP_WIDTH = 256 }; /* per group: widths up to this stay on chip */

static bool is_constant(const sf_value *v) { return v->def->op == SF_OP_PARAM || v->def->op == SF_OP_SCALAR; }

/* can `n` run in the epilogue of the value `v` it reads? */
static bool epilogue_op(const sf_node *n, const sf_value *v)
{
    if (sf_op_cls(n->op) == SF_OPCLS_UNARY)
        return true;
    if (sf_op_cls(n->op) != SF_OPCLS_BINARY)
        return false;
    const sf_value *other = n->in[0] == v ? n->in[1] : n->in[0];
    return other != v && is_constant(other) && sf_type_equal(&n->out[0]->type, &v->type);
}

static bool small_groups(const sf_node *gl)
{
    const sf_type *w = &gl->in[1]->type; /* [G, out, in] */
    return !sf_attr_shared(gl) && w->dim[1] <= ON_CHIP_WIDTH && w->dim[2] <= ON_CHIP_WIDTH;
}

typedef struct marker {
    const int *uses;
    const sf_node *const *user;
    int next;
} marker;


/* the node that reads v, v's only use, unmarked; or NULL */
static const sf_node *only_user(const marker *k, const sf_value *v)
{
    const sf_node *u = k->uses[v->id] == 1 ? k->user[v->id] : NULL;
    return u && !u->region ? u : NULL;
}

/* v (a grouped product's result, or its epilogue's) seen as one row of all
 * groups by a reshape that only a linear reads: that linear, else NULL */
static const sf_node *sum_over_groups(const marker *k, const sf_node *u, const sf_value *v)
{
    if (u->op != SF_OP_RESHAPE || !sf_type_joins_last2(&v->type, &u->out[0]->type))
        return NULL;
    const sf_node *l = only_user(k, u->out[0]);
    return l && l->op == SF_OP_LINEAR && l->in[0] == u->out[0] ? l : NULL;
}

/* The epilogue after v; when the region began with a small per-group
 * product, a small per-group product that reads the result joins too; when
 * v holds small groups (grouped: their product has at most ON_CHIP_WIDTH
 * outputs each), the product that sums over them, and its epilogue. */
static int extend(marker *k, const sf_value *v, int region, bool per_group, bool grouped)
{
    int added = 0;
    for (;;) {
        const sf_node *u = only_user(k, v), *sum = u && grouped ? sum_over_groups(k, u, v) : NULL;
        if (sum) {
            ((sf_node *)u)->region = region;
            ((sf_node *)sum)->region = region;
            added += 2;
            v = sum->out[0];
            per_group = grouped = false;
        } else if (u && (epilogue_op(u, v) ||
                         (per_group && u->op == SF_OP_GROUPED_LINEAR && u->in[0] == v && small_groups(u)))) {
            ((sf_node *)u)->region = region;
            added++;
            v = u->out[0];
        } else {
            return added;
        }
    }
}

sf_status sf_pass_vfuse(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    const sf_uses *u = sf_pass_uses(m, "vfuse", err);
    if (!u)
        return SF_ERR_VERIFY;
    for (size_t i = 0; i < g->nodes.len; i++)
        ((sf_node *)g->nodes.items[i])->region = 0;
    marker k = {u->count, u->user, 0};
    for (size_t i = 0; i < g->nodes.len; i++) {
        sf_node *n = g->nodes.items[i];
        if (n->region || n->nout != 1 || !(sf_op_cls(n->op) == SF_OPCLS_PRODUCT || (n->nin > 0 && epilogue_op(n, n->in[0]))))
            continue;
        int r = ++k.next;
        n->region = r;
        bool per_group = n->op == SF_OP_GROUPED_LINEAR && small_groups(n);
        bool grouped = n->op == SF_OP_GROUPED_LINEAR && n->in[1]->type.dim[1] <= ON_CHIP_WIDTH;
        if (extend(&k, n->out[0], r, per_group, grouped) == 0) {
            n->region = 0; /* a region of one op is just that op */
            k.next--;
        }
    }
    return SF_OK;
}
