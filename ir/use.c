/* Use counts: the one analysis of who reads a value, stored on the graph
 * (as QBE's filluse). One convention everywhere: an output counts
 * SF_USE_OUTPUT, so `count == 1` means "read by exactly one node and by
 * nothing else" -- a value a fusion may keep private. */
#include "ir/ir.h"

#include <stdlib.h>

const sf_uses *sf_fill_uses(const sf_graph *g)
{
    sf_uses *u = g->use;
    size_t nv = g->values.len + 1;
    if (!u)
        return NULL;
    if (u->cap < nv) {
        int *count = realloc(u->count, sizeof *count * nv);
        if (count)
            u->count = count;
        const sf_node **user = realloc(u->user, sizeof *user * nv);
        if (user)
            u->user = user;
        if (!count || !user)
            return NULL;
        u->cap = nv;
    }
    for (size_t i = 0; i < nv; i++)
        u->count[i] = 0, u->user[i] = NULL;
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int k = 0; k < n->nin; k++) {
            u->count[n->in[k]->id]++;
            u->user[n->in[k]->id] = n;
        }
    }
    for (size_t i = 0; i < g->outputs.len; i++)
        u->count[((const sf_value *)g->outputs.items[i])->id] += SF_USE_OUTPUT;
    u->values = g->values.len;
    u->nodes = g->nodes.len;
    return u;
}

bool sf_uses_fresh(const sf_graph *g)
{
    return g->use && g->use->count && g->use->values == g->values.len && g->use->nodes == g->nodes.len;
}
