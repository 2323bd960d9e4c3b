/* cse: two nodes with the same op, the same operands and the same
 * attributes compute the same value; the second reuses the first.
 * Needs nothing; leaves dead nodes (SF_PASS_DEAD: dce follows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

/* "op|operand ids|attributes" over the new graph's value ids */
static char *node_key(sf_arena *a, const sf_node *n)
{
    const sf_op_info *info = &sf_ops[n->op];
    size_t cap = 64 + (size_t)n->nin * 12;
    for (int i = 0; i < info->nattrs; i++)
        cap += 32 + (size_t)n->attrs[i].n * 21;
    char *s = sf_arena_alloc(a, cap);
    if (!s)
        return NULL;
    size_t at = (size_t)snprintf(s, cap, "%d|", (int)n->op);
    for (int i = 0; i < n->nin; i++)
        at += (size_t)snprintf(s + at, cap - at, "%d,", n->in[i]->id);
    for (int i = 0; i < info->nattrs; i++) {
        const sf_attr *x = &n->attrs[i];
        at += (size_t)snprintf(s + at, cap - at, "|%lld/%a/", (long long)x->i, x->f);
        for (int k = 0; k < x->n; k++)
            at += (size_t)snprintf(s + at, cap - at, "%lld,", (long long)x->ints[k]);
    }
    return s;
}

sf_status sf_pass_cse(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    sf_rewriter rw;
    sf_arena keys;
    sf_map seen = {0};
    sf_arena_init(&keys);
    sf_status st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        if ((st = sf_rw_copy(&rw, n, err)) != SF_OK)
            break;
        const sf_node *copy = rw.map[n->out[0]->id]->def;
        char *key = node_key(&keys, copy);
        if (!key) {
            st = sf_fail(err, SF_ERR_NOMEM, "cse: out of memory");
            break;
        }
        const sf_node *prev = sf_map_get(&seen, key);
        if (prev) {
            /* the copy stays in the new graph unused; dce removes it */
            for (int k = 0; k < n->nout; k++)
                rw.map[n->out[k]->id] = prev->out[k];
        } else if (!sf_map_put(&seen, key, (void *)copy)) {
            st = sf_fail(err, SF_ERR_NOMEM, "cse: out of memory");
        }
    }
    sf_map_free(&seen);
    sf_arena_free(&keys);
    if (st != SF_OK) {
        sf_rw_abort(&rw);
        return st;
    }
    return sf_rw_finish(&rw, m, err);
}
