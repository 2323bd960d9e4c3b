/*
 * Derived parameters of a trainable compile (sf_options.trainable, implied
 * by backward): how each parameter a pass makes (branches' weights stacked
 * or laid end to end, summed, reshaped, constant-folded) is computed from
 * the model's own parameters. The recipes are one graph, the derive graph,
 * whose PARAMs are the model's parameters by their state_dict names and
 * whose outputs are the derived parameters; the runtime runs it after the
 * parameters change (an optimizer step, new values from a host), so no fold
 * goes stale. The gradients need none of this: sf_grad runs before the
 * passes, so they are the model's own parameters' already.
 *
 * The passes compute a derived parameter's data as always and hand its
 * recipe beside it (sf_new_param); sf_derive_finish then runs every recipe
 * on the compile's values and fails, naming the parameter, where one does
 * not give what its pass made. A fold that has no recipe is not made in a
 * trainable compile (sf_trainable), and sf_new_param refuses a derived
 * parameter without one, so a forgotten recipe is an error, never a
 * parameter that silently keeps its first value.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/grad.h"

struct sf_derive {
    grad_ctx c;   /* the builders (grad.h) on the derive graph c.rw.g */
    sf_map of;    /* derived parameter name -> its value in the graph */
    sf_vec names; /* the derived parameters' names (heap), in creation order */
};

sf_derive *sf_derive_new(const char *name, sf_error *err)
{
    sf_derive *d = calloc(1, sizeof *d);
    if (d && !(d->c.rw.g = sf_graph_new(name)))
        free(d), d = NULL;
    if (!d)
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
    return d;
}

void sf_derive_free(sf_derive *d)
{
    if (!d)
        return;
    sf_graph_free(d->c.rw.g);
    sf_map_free(&d->of);
    for (size_t i = 0; i < d->names.len; i++)
        free(d->names.items[i]);
    sf_vec_free(&d->names);
    free(d);
}

bool sf_trainable(const sf_module *m) { return m->derive != NULL; }

const sf_graph *sf_derive_graph(const sf_derive *d) { return d->c.rw.g; }

const char *sf_derive_name(const sf_derive *d, size_t i)
{
    return i < d->names.len ? d->names.items[i] : NULL;
}

/* the builders' context, its error reset to the caller's */
static grad_ctx *ctx(sf_module *m, sf_error *err)
{
    m->derive->c.err = err;
    return &m->derive->c;
}

static sf_value *done(grad_ctx *c, sf_value *v)
{
    if (!v && c->st == SF_OK)
        c->st = c->err && c->err->code ? c->err->code : SF_ERR_NOMEM;
    if (c->st != SF_OK)
        v = NULL;
    c->st = SF_OK; /* the next recipe starts clean; this one's error is the caller's */
    return v;
}

/* a parameter of the graph being rewritten, as a value of the derive graph */
static sf_value *source(sf_module *m, const sf_value *p, sf_error *err)
{
    grad_ctx *c = ctx(m, err);
    if (c->st != SF_OK)
        return NULL;
    if (p->def->op == SF_OP_SCALAR)
        return gb_num(c, sf_attr_value(p->def));
    if (p->def->op != SF_OP_PARAM) {
        c->st = sf_fail(err, SF_ERR_VERIFY, "derive: a recipe reads %s, which is not a parameter",
                        sf_ops[p->def->op].name);
        return NULL;
    }
    sf_value *v = sf_map_get(&m->derive->of, p->def->name);
    if (!v)
        v = sf_graph_param_get(c->rw.g, p->def->name);
    if (!v && !(v = sf_graph_param(c->rw.g, p->def->name, &p->type, err)))
        c->st = err ? err->code : SF_ERR_NOMEM;
    return v;
}

static sf_value *scaled(grad_ctx *c, sf_value *v, double s)
{
    return s == 1.0 ? v : gb_op2(c, SF_OP_MUL, v, gb_num(c, s));
}

sf_value *sf_derive_reshape(sf_module *m, const sf_value *p, int rank, const int64_t *dims, sf_error *err)
{
    if (!sf_trainable(m))
        return NULL;
    sf_type t = {SF_F32, rank, {0}};
    memcpy(t.dim, dims, sizeof *dims * (size_t)rank);
    grad_ctx *c = ctx(m, err);
    return done(c, gb_reshape(c, source(m, p, err), &t));
}

/* p, [d0, d1] or [d0], zero-padded to [D0, D1] (or [D1]) */
static sf_value *padded(grad_ctx *c, sf_value *x, int rank, const int64_t *to)
{
    for (int d = rank - 1; x && d >= 0; d--) {
        int64_t have = x->type.dim[d];
        if (have == to[d])
            continue;
        sf_type z = x->type;
        z.dim[d] = to[d] - have;
        sf_value *parts[2] = {x, gb_full(c, &z, 0.0)};
        x = gb_concat(c, parts, 2, d);
    }
    return x;
}

/* room for n values of the derive graph; NULL with the error set */
static sf_value **parts_of(int n, sf_error *err)
{
    sf_value **parts = calloc((size_t)n + 1, sizeof *parts);
    if (!parts)
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
    return parts;
}

sf_value *sf_derive_stack(sf_module *m, const sf_value *const *ps, int n, const int64_t *dims, sf_error *err)
{
    sf_value **parts = sf_trainable(m) ? parts_of(n, err) : NULL;
    if (!parts)
        return NULL;
    grad_ctx *c = ctx(m, err);
    int rank = ps[0]->type.rank;
    sf_type one = {SF_F32, rank + 1, {1}};
    memcpy(one.dim + 1, dims + 1, sizeof *dims * (size_t)rank);
    for (int g = 0; g < n; g++)
        parts[g] = gb_reshape(c, padded(c, source(m, ps[g], err), rank, dims + 1), &one);
    sf_value *v = gb_concat(c, parts, n, 0);
    free(parts);
    return done(c, v);
}

sf_value *sf_derive_concat(sf_module *m, const sf_value *const *ps, int n, int dim, double scale, sf_error *err)
{
    sf_value **parts = sf_trainable(m) ? parts_of(n, err) : NULL;
    if (!parts)
        return NULL;
    grad_ctx *c = ctx(m, err);
    for (int i = 0; i < n; i++)
        parts[i] = source(m, ps[i], err);
    sf_value *v = scaled(c, gb_concat(c, parts, n, dim), scale);
    free(parts);
    return done(c, v);
}

sf_value *sf_derive_sum(sf_module *m, const sf_value *const *ps, int n, double scale, sf_error *err)
{
    if (!sf_trainable(m))
        return NULL;
    grad_ctx *c = ctx(m, err);
    sf_value *v = NULL;
    for (int i = 0; i < n; i++) {
        sf_value *x = source(m, ps[i], err);
        v = v ? gb_op2(c, SF_OP_ADD, v, x) : x;
    }
    return done(c, scaled(c, v, scale));
}

sf_value *sf_derive_like(sf_module *m, const sf_node *n, sf_value *const *in, int k, sf_error *err)
{
    if (!sf_trainable(m))
        return NULL;
    grad_ctx *c = ctx(m, err);
    sf_value **ins = calloc((size_t)n->nin + 1, sizeof *ins);
    if (!ins) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    bool ok = true;
    for (int i = 0; ok && i < n->nin; i++)
        ok = (ins[i] = source(m, in[i], err)) != NULL;
    sf_node *copy = ok ? sf_node_begin(c->rw.g, n->op, n->nin, ins, err) : NULL;
    free(ins);
    if (copy && (sf_copy_attrs(c->rw.g, copy, n, err) != SF_OK || sf_node_finish(c->rw.g, copy, err) != SF_OK))
        copy = NULL;
    if (!copy && c->st == SF_OK)
        c->st = err && err->code ? err->code : SF_ERR_NOMEM;
    return done(c, copy && k < copy->nout ? copy->out[k] : NULL);
}

sf_status sf_derive_record(sf_module *m, const char *name, sf_value *recipe, const sf_type *t, sf_error *err)
{
    if (!recipe && err && err->code)
        return err->code; /* the recipe's builder failed and said why */
    if (!recipe)
        return sf_fail(err, SF_ERR_VERIFY, "derive: parameter %s: a pass made it without a recipe in a trainable "
                                           "compile, so it could not follow the parameters it came from",
                       name);
    if (!sf_type_equal(&recipe->type, t)) {
        char a[64], b[64];
        return sf_fail(err, SF_ERR_VERIFY, "derive: parameter %s is %s but its recipe makes %s", name,
                       sf_type_str(t, a, sizeof a), sf_type_str(&recipe->type, b, sizeof b));
    }
    char *copy = strdup(name);
    if (!copy || !sf_vec_push(&m->derive->names, copy)) {
        free(copy);
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    if (!sf_map_put(&m->derive->of, copy, recipe))
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    return SF_OK;
}

/* Keeps the recipes of the parameters m->g still reads, as the graph's
 * outputs in m->g's parameter order, and nothing they do not need. */
static sf_status keep_used(sf_module *m, sf_error *err)
{
    sf_derive *d = m->derive;
    sf_graph *g = d->c.rw.g;
    sf_vec names = {0};
    g->outputs.len = 0;
    for (size_t i = 0; i < m->g->params.len; i++) {
        const char *name = ((const sf_value *)m->g->params.items[i])->def->name;
        sf_value *v = sf_map_get(&d->of, name);
        if (!v)
            continue;
        char *copy = strdup(name);
        if (!copy || !sf_vec_push(&names, copy) || sf_graph_add_output(g, v, err) != SF_OK) {
            free(copy);
            for (size_t k = 0; k < names.len; k++)
                free(names.items[k]);
            sf_vec_free(&names);
            return err && err->code ? err->code : sf_fail(err, SF_ERR_NOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < d->names.len; i++)
        free(d->names.items[i]);
    sf_vec_free(&d->names);
    d->names = names;
    sf_map_free(&d->of); /* its values are the old graph's once dce rewrites it */
    memset(&d->of, 0, sizeof d->of);
    sf_module dm = {.g = g, .weights = m->weights};
    sf_status st = sf_pass_dce(&dm, err);
    d->c.rw.g = dm.g;
    for (size_t i = 0; st == SF_OK && i < names.len; i++)
        if (!sf_map_put(&d->of, names.items[i], dm.g->outputs.items[i]))
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
    return st;
}

/* Every recipe against the data its pass computed: the same up to the
 * order of a sum's float additions. */
static sf_status check_recipes(const sf_module *m, sf_error *err)
{
    const sf_derive *d = m->derive;
    sf_tensor_set *none = sf_tensors_new(), *out = sf_tensors_new();
    sf_status st = none && out ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK)
        st = sf_interp_run(d->c.rw.g, 1, none, m->weights, out, err);
    for (size_t i = 0; st == SF_OK && i < d->names.len; i++) {
        const sf_tensor *got = out->tensors.items[i], *want = sf_tensors_get(m->weights, d->names.items[i]);
        size_t n = sf_tensor_numel(want);
        for (size_t e = 0; st == SF_OK && e < n; e++) {
            double a = got->data[e], b = want->data[e];
            if (!(fabs(a - b) <= 1e-5 * (1.0 + fabs(b))))
                st = sf_fail(err, SF_ERR_VERIFY,
                             "derive: parameter %s element %zu: its recipe gives %.9g, its pass made %.9g",
                             (const char *)d->names.items[i], e, a, b);
        }
    }
    sf_tensors_free(none);
    sf_tensors_free(out);
    return st;
}

sf_status sf_derive_finish(sf_module *m, sf_error *err)
{
    if (!sf_trainable(m))
        return SF_OK;
    sf_status st = keep_used(m, err);
    if (st == SF_OK)
        st = check_recipes(m, err);
    return st;
}

sf_graph *sf_derive_take(sf_module *m, char ***names, size_t *count)
{
    sf_derive *d = m->derive;
    sf_graph *g = d->c.rw.g;
    d->c.rw.g = NULL;
    *names = (char **)d->names.items;
    *count = d->names.len;
    memset(&d->names, 0, sizeof d->names);
    sf_derive_free(d);
    m->derive = NULL;
    return g;
}
