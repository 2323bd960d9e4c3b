/* Graph construction: the builder every producer of IR goes through
 * (text parser, frontend tracer, passes, the public builder API). */
#include "ir/ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sf_graph *sf_graph_new(const char *name)
{
    sf_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    sf_arena_init(&g->arena);
    g->name = sf_arena_strdup(&g->arena, name ? name : "main");
    g->use = calloc(1, sizeof *g->use);
    if (!g->name || !g->use) {
        free(g->use);
        sf_arena_free(&g->arena);
        free(g);
        return NULL;
    }
    return g;
}

void sf_graph_note(sf_graph *g, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = g->notes ? strlen(g->notes) : 0, add = strlen(line);
    char *grown = realloc(g->notes, old + add + 2);
    if (!grown)
        return;
    memcpy(grown + old, line, add);
    grown[old + add] = '\n', grown[old + add + 1] = '\0';
    g->notes = grown;
}

void sf_graph_free(sf_graph *g)
{
    if (!g)
        return;
    free(g->notes);
    sf_vec_free(&g->nodes);
    sf_vec_free(&g->values);
    sf_vec_free(&g->inputs);
    sf_vec_free(&g->params);
    sf_vec_free(&g->outputs);
    sf_map_free(&g->param_by_name);
    sf_map_free(&g->input_by_name);
    if (g->use)
        free(g->use->count), free(g->use->user), free(g->use);
    sf_arena_free(&g->arena);
    free(g);
}

static sf_value *new_value(sf_graph *g, sf_node *def, int index, const sf_type *t)
{
    sf_value *v = sf_arena_alloc(&g->arena, sizeof *v);
    if (!v || !sf_vec_push(&g->values, v))
        return NULL;
    v->id = (int)g->values.len - 1;
    v->type = *t;
    v->def = def;
    v->index = index;
    return v;
}

static bool valid_type(const sf_type *t)
{
    if (t->rank < 0 || t->rank > SF_MAX_RANK)
        return false;
    for (int i = 0; i < t->rank; i++)
        if ((t->dim[i] < 0 && t->dim[i] != SF_DIM_B) || t->dim[i] > SF_DIM_MAX)
            return false;
    return true;
}

/* INPUT and PARAM: a named leaf value. */
static sf_value *leaf(sf_graph *g, sf_opcode op, sf_map *by_name, sf_vec *list, const char *name,
                      const sf_type *t, sf_error *err)
{
    const char *what = op == SF_OP_INPUT ? "input" : "parameter";
    char tb[128];
    if (!name || !*name) {
        sf_fail(err, SF_ERR_VERIFY, "%s with an empty name", what);
        return NULL;
    }
    if (sf_map_get(by_name, name)) {
        sf_fail(err, SF_ERR_VERIFY, "%s '%s' declared twice", what, name);
        return NULL;
    }
    if (!valid_type(t)) {
        sf_fail(err, SF_ERR_VERIFY, "%s '%s' has an invalid type %s", what, name,
                sf_type_str(t, tb, sizeof tb));
        return NULL;
    }
    if (op == SF_OP_PARAM && sf_type_has_batch(t)) {
        sf_fail(err, SF_ERR_VERIFY, "parameter '%s' has the batch dim B in %s: parameters have fixed shapes",
                name, sf_type_str(t, tb, sizeof tb));
        return NULL;
    }
    sf_node *n = sf_arena_alloc(&g->arena, sizeof *n);
    sf_value **out = sf_arena_alloc(&g->arena, sizeof *out);
    char *copy = sf_arena_strdup(&g->arena, name);
    if (!n || !out || !copy)
        goto oom;
    n->op = op;
    n->name = copy;
    n->nout = 1;
    n->out = out;
    out[0] = new_value(g, n, 0, t);
    if (!out[0] || !sf_vec_push(&g->nodes, n) || !sf_vec_push(list, out[0]) ||
        !sf_map_put(by_name, copy, out[0]))
        goto oom;
    return out[0];
oom:
    sf_fail(err, SF_ERR_NOMEM, "out of memory adding %s '%s'", what, name);
    return NULL;
}

sf_value *sf_graph_input(sf_graph *g, const char *name, const sf_type *t, sf_error *err)
{
    return leaf(g, SF_OP_INPUT, &g->input_by_name, &g->inputs, name, t, err);
}

sf_value *sf_graph_param(sf_graph *g, const char *name, const sf_type *t, sf_error *err)
{
    return leaf(g, SF_OP_PARAM, &g->param_by_name, &g->params, name, t, err);
}

sf_value *sf_graph_param_get(const sf_graph *g, const char *name)
{
    return sf_map_get(&g->param_by_name, name);
}

sf_node *sf_node_begin(sf_graph *g, sf_opcode op, int nin, sf_value *const *in, sf_error *err)
{
    const sf_op_info *info = &sf_ops[op];
    if (sf_op_cls(op) == SF_OPCLS_SOURCE) {
        sf_fail(err, SF_ERR_VERIFY, "%s nodes are made by declaring them, not as operations", info->name);
        return NULL;
    }
    if (nin < info->min_in || (info->max_in >= 0 && nin > info->max_in)) {
        if (info->max_in < 0)
            sf_fail(err, SF_ERR_VERIFY, "%s takes at least %d operand(s), got %d", info->name, info->min_in, nin);
        else if (info->min_in == info->max_in)
            sf_fail(err, SF_ERR_VERIFY, "%s takes %d operand(s), got %d", info->name, info->min_in, nin);
        else
            sf_fail(err, SF_ERR_VERIFY, "%s takes %d to %d operands, got %d", info->name, info->min_in,
                    info->max_in, nin);
        return NULL;
    }
    sf_node *n = sf_arena_alloc(&g->arena, sizeof *n);
    sf_value **ins = sf_arena_alloc(&g->arena, sizeof *ins * (size_t)(nin ? nin : 1));
    sf_attr *attrs = sf_arena_alloc(&g->arena, sizeof *attrs * (size_t)(info->nattrs ? info->nattrs : 1));
    if (!n || !ins || !attrs) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory adding %s", info->name);
        return NULL;
    }
    for (int i = 0; i < nin; i++) {
        if (!in[i]) {
            sf_fail(err, SF_ERR_VERIFY, "%s: operand %d is missing", info->name, i);
            return NULL;
        }
        ins[i] = in[i];
    }
    n->op = op;
    n->nin = nin;
    n->in = ins;
    n->attrs = attrs;
    return n;
}

/* A wrong attribute id is a bug in the caller, not bad input: it stops here
 * rather than compute with a zero. */
static sf_attr *attr_slot(const sf_node *n, sf_attr_id id, sf_attr_kind kind, const char *how)
{
    int slot = sf_op_attr_slot(n->op, id);
    sf_attr_kind k = sf_attrs[id].kind;
    bool same = k == kind || (kind == SF_AK_INT && k == SF_AK_BOOL) || (kind == SF_AK_INTS && k == SF_AK_SHAPE);
    if (slot < 0 || !same) {
        fprintf(stderr, "sheaf: internal error: %s attribute '%s' of %s, which %s\n", how, sf_attrs[id].name,
                sf_ops[n->op].name, slot < 0 ? "has no such attribute" : "has another kind");
        abort();
    }
    return &n->attrs[slot];
}

bool sf_node_attrs_equal(const sf_node *a, const sf_node *b)
{
    if (a->op != b->op)
        return false;
    for (int i = 0; i < sf_ops[a->op].nattrs; i++) {
        const sf_attr *x = &a->attrs[i], *y = &b->attrs[i];
        if (x->i != y->i || x->f != y->f || x->n != y->n ||
            (x->n && memcmp(x->ints, y->ints, sizeof(int64_t) * (size_t)x->n)))
            return false;
    }
    return true;
}

const sf_attr *sf_node_attr(const sf_node *n, sf_attr_id id)
{
    return attr_slot(n, id, sf_attrs[id].kind, "reading");
}

void sf_node_set_int(sf_node *n, sf_attr_id id, int64_t v)
{
    sf_attr *a = attr_slot(n, id, SF_AK_INT, "setting");
    a->i = v;
    a->set = true;
}

void sf_node_set_float(sf_node *n, sf_attr_id id, double v)
{
    sf_attr *a = attr_slot(n, id, SF_AK_FLOAT, "setting");
    a->f = v;
    a->set = true;
}

bool sf_node_set_ints(sf_graph *g, sf_node *n, sf_attr_id id, const int64_t *v, int count)
{
    sf_attr *a = attr_slot(n, id, SF_AK_INTS, "setting");
    int64_t *copy = sf_arena_alloc(&g->arena, sizeof *copy * (size_t)(count ? count : 1));
    if (!copy)
        return false;
    if (count)
        memcpy(copy, v, sizeof *copy * (size_t)count);
    a->ints = copy;
    a->n = count;
    a->set = true;
    return true;
}

sf_status sf_node_finish(sf_graph *g, sf_node *n, sf_error *err)
{
    const sf_op_info *info = &sf_ops[n->op];
    for (int i = 0; i < info->nattrs; i++)
        if (!n->attrs[i].set)
            return sf_fail(err, SF_ERR_VERIFY, "%s: attribute '%s' is missing", info->name, info->attrs[i]->name);
    int nres = sf_node_result_count(n);
    if (nres < 1)
        return sf_fail(err, SF_ERR_VERIFY, "%s: produces no result", info->name);
    sf_type *types = malloc(sizeof *types * (size_t)nres);
    sf_value **out = sf_arena_alloc(&g->arena, sizeof *out * (size_t)nres);
    if (!types || !out) {
        free(types);
        return sf_fail(err, SF_ERR_NOMEM, "out of memory adding %s", info->name);
    }
    sf_status st = sf_infer_shapes(n, types, nres, err);
    if (st != SF_OK) {
        free(types);
        return st;
    }
    n->nout = nres;
    n->out = out;
    for (int i = 0; i < nres && st == SF_OK; i++) {
        out[i] = new_value(g, n, i, &types[i]);
        if (!out[i])
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory adding %s", info->name);
    }
    free(types);
    if (st == SF_OK && !sf_vec_push(&g->nodes, n))
        st = sf_fail(err, SF_ERR_NOMEM, "out of memory adding %s", info->name);
    return st;
}

sf_status sf_graph_add_output(sf_graph *g, sf_value *v, sf_error *err)
{
    if (!v)
        return sf_fail(err, SF_ERR_VERIFY, "returning a missing value");
    if (!sf_vec_push(&g->outputs, v))
        return sf_fail(err, SF_ERR_NOMEM, "out of memory adding an output");
    return SF_OK;
}

sf_value *sf_build1(sf_graph *g, sf_opcode op, sf_value *a, sf_error *err)
{
    sf_node *n = sf_node_begin(g, op, 1, &a, err);
    if (!n || sf_node_finish(g, n, err) != SF_OK)
        return NULL;
    return n->out[0];
}

sf_value *sf_build2(sf_graph *g, sf_opcode op, sf_value *a, sf_value *b, sf_error *err)
{
    sf_value *in[2] = {a, b};
    sf_node *n = sf_node_begin(g, op, 2, in, err);
    if (!n || sf_node_finish(g, n, err) != SF_OK)
        return NULL;
    return n->out[0];
}
