/* Rewriting by rebuilding: a pass walks the old graph in order and emits
 * into a new one, mapping old values to new ones. The new graph is
 * verified by construction (every node goes through the builder). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

sf_status sf_rw_begin(sf_rewriter *rw, const sf_graph *old, sf_error *err)
{
    memset(rw, 0, sizeof *rw);
    rw->old = old;
    rw->g = sf_graph_new(old->name);
    rw->map = calloc(old->values.len + 1, sizeof *rw->map);
    if (!rw->g || !rw->map) {
        sf_rw_abort(rw);
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < old->inputs.len; i++) {
        const sf_value *v = old->inputs.items[i];
        if (!(rw->map[v->id] = sf_graph_input(rw->g, v->def->name, &v->type, err))) {
            sf_rw_abort(rw);
            return err ? err->code : SF_ERR_NOMEM;
        }
    }
    return SF_OK;
}

sf_value *sf_rw_value(sf_rewriter *rw, const sf_value *old, sf_error *err)
{
    sf_value *v = rw->map[old->id];
    if (v)
        return v;
    if (old->def->op == SF_OP_PARAM) {
        v = sf_graph_param_get(rw->g, old->def->name);
        if (!v)
            v = sf_graph_param(rw->g, old->def->name, &old->type, err);
        return rw->map[old->id] = v;
    }
    sf_fail(err, SF_ERR_VERIFY, "rewrite: %s value %d used before it was rewritten", sf_ops[old->def->op].name,
            old->id);
    return NULL;
}

sf_status sf_copy_attrs(sf_graph *g, sf_node *n, const sf_node *like, sf_error *err)
{
    const sf_op_info *info = &sf_ops[n->op];
    for (int i = 0; i < info->nattrs; i++) {
        const sf_attr *a = &like->attrs[i];
        n->attrs[i] = *a;
        if ((info->attrs[i]->kind == SF_AK_INTS || info->attrs[i]->kind == SF_AK_SHAPE) &&
            !sf_node_set_ints(g, n, info->attrs[i]->id, a->ints, a->n))
            return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    n->loc = like->loc ? sf_arena_strdup(&g->arena, like->loc) : NULL;
    return SF_OK;
}

sf_node *sf_rw_node(sf_rewriter *rw, sf_opcode op, int nin, sf_value *const *in, const sf_node *like, sf_error *err)
{
    sf_node *n = sf_node_begin(rw->g, op, nin, in, err);
    if (n && like && like->op == op && sf_copy_attrs(rw->g, n, like, err) != SF_OK)
        return NULL;
    return n;
}

sf_value *sf_rw_slice(sf_rewriter *rw, sf_value *x, int dim, int64_t start, int64_t end, sf_error *err)
{
    sf_node *n = sf_rw_node(rw, SF_OP_SLICE, 1, &x, NULL, err);
    if (!n)
        return NULL;
    sf_node_set_int(n, SF_ATTR_DIM, dim);
    sf_node_set_int(n, SF_ATTR_START, start);
    sf_node_set_int(n, SF_ATTR_END, end);
    sf_node_set_int(n, SF_ATTR_STEP, 1);
    return sf_node_finish(rw->g, n, err) == SF_OK ? n->out[0] : NULL;
}

sf_value *sf_rw_reshape(sf_rewriter *rw, sf_value *x, const int64_t *dims, int rank, sf_error *err)
{
    sf_node *n = sf_rw_node(rw, SF_OP_RESHAPE, 1, &x, NULL, err);
    if (!n || !sf_node_set_ints(rw->g, n, SF_ATTR_SHAPE, dims, rank))
        return NULL;
    return sf_node_finish(rw->g, n, err) == SF_OK ? n->out[0] : NULL;
}

sf_status sf_rw_copy(sf_rewriter *rw, const sf_node *n, sf_error *err)
{
    sf_value *stack_in[8], **in = n->nin <= 8 ? stack_in : malloc(sizeof *in * (size_t)n->nin);
    if (!in)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    sf_status st = SF_OK;
    for (int i = 0; st == SF_OK && i < n->nin; i++)
        if (!(in[i] = sf_rw_value(rw, n->in[i], err)))
            st = err ? err->code : SF_ERR_VERIFY;
    sf_node *c = st == SF_OK ? sf_rw_node(rw, n->op, n->nin, in, n, err) : NULL;
    if (in != stack_in)
        free(in);
    if (!c)
        return st != SF_OK ? st : (err ? err->code : SF_ERR_NOMEM);
    if ((st = sf_node_finish(rw->g, c, err)) != SF_OK)
        return st;
    for (int k = 0; k < n->nout; k++)
        rw->map[n->out[k]->id] = c->out[k];
    return SF_OK;
}

sf_status sf_rw_finish(sf_rewriter *rw, sf_module *m, sf_error *err)
{
    for (size_t i = 0; i < rw->old->outputs.len; i++) {
        sf_value *v = sf_rw_value(rw, rw->old->outputs.items[i], err);
        if (!v || sf_graph_add_output(rw->g, v, err) != SF_OK) {
            sf_rw_abort(rw);
            return err ? err->code : SF_ERR_VERIFY;
        }
    }
    free(rw->map);
    rw->g->notes = m->g->notes; /* the choices made so far stay with the graph */
    m->g->notes = NULL;
    sf_graph_free(m->g);
    m->g = rw->g;
    memset(rw, 0, sizeof *rw);
    return SF_OK;
}

void sf_rw_abort(sf_rewriter *rw)
{
    sf_graph_free(rw->g);
    free(rw->map);
    memset(rw, 0, sizeof *rw);
}

sf_value *sf_new_param(sf_module *m, sf_graph *g, const char *hint, int rank, const int64_t *dims, const float *data,
                       sf_value *recipe, sf_error *err)
{
    char name[512];
    snprintf(name, sizeof name, "%s", hint);
    for (int k = 1; sf_graph_param_get(g, name) || sf_tensors_get(m->weights, name); k++)
        snprintf(name, sizeof name, "%s.%d", hint, k);
    if (!sf_tensors_add(m->weights, name, rank, dims, data, err))
        return NULL;
    sf_type t = {SF_F32, rank, {0}};
    for (int i = 0; i < rank; i++)
        t.dim[i] = dims[i];
    if (sf_trainable(m) && sf_derive_record(m, name, recipe, &t, err) != SF_OK)
        return NULL;
    return sf_graph_param(g, name, &t, err);
}

const sf_uses *sf_pass_uses(const sf_module *m, const char *pass, sf_error *err)
{
    if (!sf_uses_fresh(m->g)) {
        sf_fail(err, SF_ERR_VERIFY, "%s: the use counts are stale (a pass that reads them declares SF_PASS_USES)",
                pass);
        return NULL;
    }
    return m->g->use;
}

const sf_tensor *sf_param_tensor(const sf_module *m, const sf_value *v)
{
    return v && v->def->op == SF_OP_PARAM ? sf_tensors_get(m->weights, v->def->name) : NULL;
}
