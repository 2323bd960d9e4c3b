/* concat_elim: a run of concat operands that are consecutive rows of one
 * tensor F, each row g being reshape(slice(F, d, g, g+1)) with d the dim
 * before F's last, concatenated along their last dim, is F's rows a..b
 * laid end to end: reshape(slice(F, d, a, b)), or reshape(F) for all of
 * F. After horizontal fusion this turns "concat the branches' outputs"
 * into a view of the grouped result: no copy.
 * Needs nothing; leaves dead nodes (SF_PASS_DEAD: dce follows). */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

/* F and the row index when v is a row view of F, else NULL. */
static const sf_value *row_of(const sf_value *v, int64_t *row)
{
    const sf_node *r = v->def;
    if (r->op != SF_OP_RESHAPE)
        return NULL;
    const sf_node *s = r->in[0]->def;
    if (s->op != SF_OP_SLICE || sf_attr_step(s) != 1 || sf_attr_end(s) != sf_attr_start(s) + 1)
        return NULL;
    const sf_value *f = s->in[0];
    int d = (int)sf_attr_dim(s);
    if (f->type.rank != v->type.rank + 1 || d != f->type.rank - 2)
        return NULL;
    for (int i = 0, j = 0; i < f->type.rank; i++) /* v is F without dim d */
        if (i != d && f->type.dim[i] != v->type.dim[j++])
            return NULL;
    *row = sf_attr_start(s);
    return f;
}

static sf_value *rows_view(sf_rewriter *rw, const sf_value *f_old, int64_t a, int64_t b, sf_error *err)
{
    sf_value *f = sf_rw_value(rw, f_old, err);
    if (!f)
        return NULL;
    int r = f->type.rank, d = r - 2;
    if ((a != 0 || b != f->type.dim[d]) && !(f = sf_rw_slice(rw, f, d, a, b, err)))
        return NULL;
    int64_t dims[SF_MAX_RANK];
    memcpy(dims, f->type.dim, sizeof(int64_t) * (size_t)d);
    dims[d] = (b - a) * f->type.dim[d + 1];
    return sf_rw_reshape(rw, f, dims, d + 1, err);
}

/* the tensor a value is a step-1 slice of, along dim d */
static const sf_value *slice_of_dim(const sf_value *v, int d, int64_t *start, int64_t *end)
{
    const sf_node *s = v->def;
    if (s->op != SF_OP_SLICE || sf_attr_step(s) != 1 || sf_attr_dim(s) != d)
        return NULL;
    *start = sf_attr_start(s);
    *end = sf_attr_end(s);
    return s->in[0];
}

static sf_value *slice_view(sf_rewriter *rw, const sf_value *f_old, int d, int64_t a, int64_t b, sf_error *err)
{
    sf_value *f = sf_rw_value(rw, f_old, err);
    if (!f || (a == 0 && b == f->type.dim[d]))
        return f;
    return sf_rw_slice(rw, f, d, a, b, err);
}

static sf_status rewrite_concat(sf_rewriter *rw, const sf_node *n, bool *changed, sf_error *err)
{
    int d = (int)sf_attr_dim(n);
    sf_value **pieces = malloc(sizeof *pieces * (size_t)n->nin);
    if (!pieces)
        return sf_fail(err, SF_ERR_NOMEM, "concat_elim: out of memory");
    int np = 0;
    sf_status st = SF_OK;
    for (int i = 0; st == SF_OK && i < n->nin;) {
        int64_t row, next;
        const sf_value *f = d == n->in[i]->type.rank - 1 ? row_of(n->in[i], &row) : NULL;
        int j = i + 1;
        while (f && j < n->nin && row_of(n->in[j], &next) == f && next == row + (j - i))
            j++;
        int64_t a, b, na, nb;
        const sf_value *t = f ? NULL : slice_of_dim(n->in[i], d, &a, &b);
        if (t) { /* adjacent slices of one tensor along the concat dim: one slice */
            j = i + 1;
            while (j < n->nin && slice_of_dim(n->in[j], d, &na, &nb) == t && na == b) {
                b = nb;
                j++;
            }
        }
        if (f && j - i > 1) {
            pieces[np] = rows_view(rw, f, row, row + (j - i), err);
            *changed = true;
        } else if (t && j - i > 1) {
            pieces[np] = slice_view(rw, t, d, a, b, err);
            *changed = true;
        } else {
            pieces[np] = sf_rw_value(rw, n->in[i], err);
            j = i + 1;
        }
        if (!pieces[np++])
            st = err ? err->code : SF_ERR_NOMEM;
        i = j;
    }
    if (st == SF_OK && np == 1) {
        rw->map[n->out[0]->id] = pieces[0];
    } else if (st == SF_OK) {
        sf_node *c = sf_rw_node(rw, SF_OP_CONCAT, np, pieces, n, err);
        st = c ? sf_node_finish(rw->g, c, err) : (err ? err->code : SF_ERR_NOMEM);
        if (st == SF_OK)
            rw->map[n->out[0]->id] = c->out[0];
    }
    free(pieces);
    return st;
}

sf_status sf_pass_concat_elim(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    sf_rewriter rw;
    bool changed = false;
    sf_status st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        st = n->op == SF_OP_CONCAT ? rewrite_concat(&rw, n, &changed, err) : sf_rw_copy(&rw, n, err);
    }
    if (st != SF_OK) {
        sf_rw_abort(&rw);
        return st;
    }
    (void)changed; /* the pipeline's dce drops what the views left unused */
    return sf_rw_finish(&rw, m, err);
}
