/* dce: drop every node no output depends on, and the parameters only they
 * used. Inputs stay: they are the function's signature.
 * Needs nothing; the pipeline runs it after every pass that declares SF_PASS_DEAD. */
#include <stdlib.h>

#include "passes/pass.h"

sf_status sf_pass_dce(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    unsigned char *live = calloc(g->values.len + 1, 1);
    if (!live)
        return sf_fail(err, SF_ERR_NOMEM, "dce: out of memory");
    for (size_t i = 0; i < g->outputs.len; i++)
        live[((const sf_value *)g->outputs.items[i])->id] = 1;
    for (size_t i = g->nodes.len; i-- > 0;) {
        const sf_node *n = g->nodes.items[i];
        bool used = false;
        for (int k = 0; k < n->nout; k++)
            used |= live[n->out[k]->id];
        for (int k = 0; used && k < n->nin; k++)
            live[n->in[k]->id] = 1;
    }
    sf_rewriter rw;
    sf_status st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        bool used = false;
        for (int k = 0; k < n->nout; k++)
            used |= live[n->out[k]->id];
        if (used && sf_op_cls(n->op) != SF_OPCLS_SOURCE)
            st = sf_rw_copy(&rw, n, err);
    }
    free(live);
    if (st != SF_OK) {
        sf_rw_abort(&rw);
        return st;
    }
    return sf_rw_finish(&rw, m, err);
}
