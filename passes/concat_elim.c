/* concat_elim: a run of concat operands that are consecutive rows of one
 * tensor F, each a run of rows g..h laid end to end,
 * reshape(slice(F, d, g, h)) with d the dim before F's last (one branch's
 * row, or a tower's rows), concatenated along their last dim, is F's rows
 * a..b laid end to end: reshape(slice(F, d, a, b)), or reshape(F) for all
 * of F. After horizontal fusion this turns "concat the branches' outputs"
 * into a view of the grouped result: no copy.
 * A stack of F's rows a..b, each once and in order, along the rows' own
 * dim is F's rows (a view), and along the dim before it F's rows with the
 * two dims swapped (the stack of experts' or members' outputs).
 * Likewise a chain of adds whose summands are each one row of F, the rows
 * a..b once each (the sum of branches that end in a nonlinearity, after
 * hfuse grouped them), is one sum over F's rows a..b: a reduction over the
 * group dim instead of b - a - 1 adds of slices.
 * Needs use counts (the add chains' inner results must have no other
 * use); leaves dead nodes (SF_PASS_DEAD: dce follows). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

/* F, its rows [row, *end) and the lanes [0, *h) of each when v is them
 * laid end to end: reshape(slice(F, d, row, end)), d the dim before F's
 * last (h its width), or reshape(slice(slice(F, d, row, row + 1), last, 0,
 * h)) for the first h lanes of one row; else NULL. */
static const sf_value *row_lanes(const sf_value *v, int64_t *row, int64_t *end, int64_t *h)
{
    if (v->def->op != SF_OP_RESHAPE)
        return NULL;
    const sf_value *x = v->def->in[0];
    const sf_node *s = x->def;
    bool lanes = s->op == SF_OP_SLICE && sf_attr_step(s) == 1 && sf_attr_dim(s) == x->type.rank - 1 &&
                 sf_attr_start(s) == 0;
    if (lanes) {
        *h = sf_attr_end(s);
        s = s->in[0]->def;
    }
    if (s->op != SF_OP_SLICE || sf_attr_step(s) != 1)
        return NULL;
    const sf_value *f = s->in[0];
    int d = (int)sf_attr_dim(s);
    int64_t n = sf_attr_end(s) - sf_attr_start(s);
    if (f->type.rank != v->type.rank + 1 || d != f->type.rank - 2 || f->type.dim[d + 1] < 0 || (lanes && n != 1))
        return NULL;
    for (int i = 0; i < d; i++) /* v is F with rows and the last dim merged */
        if (f->type.dim[i] != v->type.dim[i])
            return NULL;
    if (!lanes)
        *h = f->type.dim[d + 1];
    if (v->type.dim[d] != n * *h)
        return NULL;
    *row = sf_attr_start(s);
    *end = sf_attr_end(s);
    return f;
}

/* F and the rows [row, *end) when v is those whole rows of F laid end to end, else NULL. */
static const sf_value *rows_of(const sf_value *v, int64_t *row, int64_t *end)
{
    int64_t h;
    const sf_value *f = row_lanes(v, row, end, &h);
    return f && h == f->type.dim[f->type.rank - 1] ? f : NULL;
}

/* F's rows [a, b) laid end to end (F in the new graph) */
static sf_value *rows_view(sf_rewriter *rw, sf_value *f, int64_t a, int64_t b, sf_error *err)
{
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

/* The operands are looked at as already rewritten, so that a concat of
 * concats (towers of towers) joins in one pass. */
static sf_status rewrite_concat(sf_rewriter *rw, const sf_node *n, bool *changed, sf_error *err)
{
    int d = (int)sf_attr_dim(n);
    sf_value **in = malloc(sizeof *in * (size_t)n->nin), **pieces = malloc(sizeof *pieces * (size_t)n->nin);
    sf_status st = in && pieces ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "concat_elim: out of memory");
    for (int i = 0; st == SF_OK && i < n->nin; i++)
        if (!(in[i] = sf_rw_value(rw, n->in[i], err)))
            st = err ? err->code : SF_ERR_NOMEM;
    int np = 0;
    for (int i = 0; st == SF_OK && i < n->nin;) {
        int64_t row, last, next, next_end;
        const sf_value *f = d == in[i]->type.rank - 1 ? rows_of(in[i], &row, &last) : NULL;
        int j = i + 1;
        while (f && j < n->nin && rows_of(in[j], &next, &next_end) == f && next == last) {
            last = next_end;
            j++;
        }
        int64_t a, b, na, nb;
        const sf_value *t = f ? NULL : slice_of_dim(in[i], d, &a, &b);
        if (t) { /* adjacent slices of one tensor along the concat dim: one slice */
            j = i + 1;
            while (j < n->nin && slice_of_dim(in[j], d, &na, &nb) == t && na == b) {
                b = nb;
                j++;
            }
        }
        if (f && j - i > 1) {
            pieces[np] = rows_view(rw, (sf_value *)f, row, last, err);
            *changed = true;
        } else if (t && j - i > 1) {
            pieces[np] = a == 0 && b == t->type.dim[d] ? (sf_value *)t : sf_rw_slice(rw, (sf_value *)t, d, a, b, err);
            *changed = true;
        } else {
            pieces[np] = in[i];
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
    free(in);
    free(pieces);
    return st;
}

/* stack(rows a..b of F, dim s): F[a..b] where s is the rows' dim d, transposed where s is d - 1; else NULL */
static sf_value *stacked_rows(sf_rewriter *rw, const sf_node *n, sf_error *err)
{
    int64_t row, end, first = 0;
    const sf_value *f = NULL;
    for (int i = 0; i < n->nin; i++) {
        const sf_value *fi = rows_of(n->in[i], &row, &end);
        if (!fi || (f && fi != f) || end != row + 1 || (i && row != first + i))
            return NULL;
        if (!i)
            first = row;
        f = fi;
    }
    int d = f->type.rank - 2, s = (int)sf_attr_dim(n);
    if (s != d && s != d - 1)
        return NULL;
    sf_value *fv = sf_rw_value(rw, f, err);
    if (fv && (first != 0 || first + n->nin != f->type.dim[d]))
        fv = sf_rw_slice(rw, fv, d, first, first + n->nin, err);
    if (!fv || s == d)
        return fv;
    sf_node *t = sf_rw_node(rw, SF_OP_TRANSPOSE, 1, &fv, NULL, err);
    if (!t)
        return NULL;
    sf_node_set_int(t, SF_ATTR_DIM0, s);
    sf_node_set_int(t, SF_ATTR_DIM1, d);
    return sf_node_finish(rw->g, t, err) == SF_OK ? t->out[0] : NULL;
}

enum { MAX_SUMMANDS = 1 << 16 };

/* the summands of the add chain rooted at n (inner adds of n's type with one use), in order; -1 past the limit */
static int summands(const sf_node *n, const int *uses, const sf_value **out, int k)
{
    for (int i = 0; i < 2 && k >= 0; i++) {
        const sf_value *v = n->in[i];
        if (v->def->op == SF_OP_ADD && uses[v->id] == 1 && sf_type_equal(&v->type, &n->out[0]->type))
            k = summands(v->def, uses, out, k);
        else if (k < MAX_SUMMANDS)
            out[k++] = v;
        else
            return -1;
    }
    return k;
}

/* sum(F[a..b], d) when the chain at n adds each row a..b of one F once, else NULL (no error) */
static sf_value *rows_sum(sf_rewriter *rw, const sf_node *n, const int *uses, const sf_value **leaf, sf_error *err)
{
    int k = summands(n, uses, leaf, 0);
    if (k < 2)
        return NULL;
    int64_t lo = INT64_MAX, hi = -1, row, end;
    const sf_value *f = NULL;
    unsigned char seen[MAX_SUMMANDS / 8 + 1] = {0};
    for (int i = 0; i < k; i++) {
        const sf_value *fi = rows_of(leaf[i], &row, &end);
        if (!fi || (f && fi != f) || end != row + 1 || row >= MAX_SUMMANDS || (seen[row / 8] >> (row % 8) & 1))
            return NULL;
        f = fi;
        seen[row / 8] |= (unsigned char)(1 << (row % 8));
        lo = row < lo ? row : lo, hi = row > hi ? row : hi;
    }
    if (hi - lo + 1 != k || !sf_type_equal(&leaf[0]->type, &n->out[0]->type))
        return NULL; /* not a run of rows, or a summand broadcasts */
    sf_value *fv = sf_rw_value(rw, f, err);
    int d = f->type.rank - 2;
    if (fv && (lo != 0 || hi + 1 != f->type.dim[d]))
        fv = sf_rw_slice(rw, fv, d, lo, hi + 1, err);
    sf_node *r = fv ? sf_rw_node(rw, SF_OP_SUM, 1, &fv, NULL, err) : NULL;
    if (!r)
        return NULL;
    int64_t dims[1] = {d};
    if (!sf_node_set_ints(rw->g, r, SF_ATTR_DIMS, dims, 1))
        return sf_fail(err, SF_ERR_NOMEM, "concat_elim: out of memory"), NULL;
    sf_node_set_int(r, SF_ATTR_KEEPDIM, 0);
    r->loc = n->loc ? sf_arena_strdup(&rw->g->arena, n->loc) : NULL;
    return sf_node_finish(rw->g, r, err) == SF_OK ? r->out[0] : NULL;
}

enum { MAX_STEPS = 64 };

/* Whether the lanes of F's rows a.. past each row's h[i] are finite for a
 * finite input: F is elementwise steps (with scalars) over a grouped
 * product whose weight rows and bias there are zero (a padded group of
 * hfuse), and those steps take 0 to a finite value. Zero weights may then
 * read them; 0 x inf could not. */
static bool quiet_padding(const sf_module *m, const sf_value *f, int64_t a, const int64_t *h, int n)
{
    const sf_node *steps[MAX_STEPS];
    int k = 0;
    const sf_value *v = f;
    while (v->def->op != SF_OP_GROUPED_LINEAR) {
        const sf_node *s = v->def;
        const sf_value *in = NULL;
        if (!sf_op_is_elementwise(s->op) || s->nout != 1 || k == MAX_STEPS)
            return false;
        for (int i = 0; i < s->nin; i++)
            if (s->in[i]->def->op != SF_OP_SCALAR) {
                if (in)
                    return false;
                in = s->in[i];
            }
        if (!in || !sf_type_equal(&in->type, &v->type))
            return false;
        steps[k++] = s;
        v = in;
    }
    const sf_node *g = v->def;
    const sf_tensor *w = sf_param_tensor(m, g->in[1]), *b = g->nin == 3 ? sf_param_tensor(m, g->in[2]) : NULL;
    if (!w || w->rank != 3 || (g->nin == 3 && (!b || b->rank != 2)))
        return false;
    int64_t P = w->dim[1], I = w->dim[2];
    if (P != f->type.dim[f->type.rank - 1] || a + n > w->dim[0])
        return false;
    for (int i = 0; i < n; i++)
        for (int64_t o = h[i]; o < P; o++) {
            const float *row = w->data + ((a + i) * P + o) * I;
            for (int64_t j = 0; j < I; j++)
                if (row[j] != 0.0f)
                    return false;
            if (b && b->data[(a + i) * P + o] != 0.0f)
                return false;
        }
    float pad = 0.0f;
    for (int j = k - 1; j >= 0; j--)
        pad = sf_padding_after(steps[j], j == k - 1 ? g->out[0] : steps[j + 1]->out[0], pad);
    return isfinite(pad);
}

/* W's columns spread over rows of width P, each row's first h[i] lanes
 * its own, zeros in the padding */
static float *spread_columns(const sf_tensor *w, const int64_t *h, int n, int64_t P)
{
    int64_t O = w->dim[0], K = w->dim[1];
    float *out = calloc((size_t)(O * n * P), sizeof *out);
    for (int64_t o = 0; out && o < O; o++)
        for (int i = 0, off = 0; i < n; off += (int)h[i], i++)
            memcpy(out + (o * n + i) * P, w->data + o * K + off, sizeof *out * (size_t)h[i]);
    return out;
}

/* linear(concat of the first h[i] lanes of F's rows a.., W), F's padding
 * quiet: linear(F's rows laid end to end, W spread with zero columns). The
 * K-concatenated last layer after a padded group (the sum of ragged
 * branches) then reads the group where it is, not a copy. NULL where the
 * pattern does not hold (no error). */
static sf_value *padded_product(sf_rewriter *rw, sf_module *m, const sf_node *n, const int *uses, sf_error *err)
{
    const sf_value *c = n->in[0];
    const sf_node *cat = c->def;
    const sf_tensor *w = sf_param_tensor(m, n->in[1]);
    /* trainable: no recipe for the spread weight yet, and quiet_padding reads the values */
    if (cat->op != SF_OP_CONCAT || cat->nin < 2 || uses[c->id] != 1 || sf_attr_dim(cat) != c->type.rank - 1 || !w ||
        w->rank != 2 || sf_trainable(m))
        return NULL;
    int64_t *h = malloc(sizeof *h * (size_t)cat->nin), a = 0, row, end;
    const sf_value *f = NULL;
    bool ragged = false;
    for (int i = 0; h && i < cat->nin; i++) {
        const sf_value *fi = row_lanes(cat->in[i], &row, &end, &h[i]);
        if (!fi || end != row + 1 || (f && fi != f) || (i && row != a + i)) {
            f = NULL;
            break;
        }
        a = i ? a : row;
        f = fi;
        ragged |= h[i] != f->type.dim[f->type.rank - 1];
    }
    sf_value *out = NULL;
    if (f && ragged && quiet_padding(m, f, a, h, cat->nin)) {
        int64_t P = f->type.dim[f->type.rank - 1], dims[2] = {w->dim[0], cat->nin * P};
        float *spread = spread_columns(w, h, cat->nin, P);
        char hint[256];
        snprintf(hint, sizeof hint, "%s.padded", n->in[1]->def->name);
        sf_value *fv = sf_rw_value(rw, f, err);
        sf_value *in[3] = {fv ? rows_view(rw, fv, a, a + cat->nin, err) : NULL, NULL, NULL};
        in[1] = in[0] && spread ? sf_new_param(m, rw->g, hint, 2, dims, spread, NULL, err) : NULL;
        in[2] = in[1] && n->nin == 3 ? sf_rw_value(rw, n->in[2], err) : NULL;
        sf_node *l = in[1] && (n->nin == 2 || in[2]) ? sf_rw_node(rw, SF_OP_LINEAR, n->nin, in, n, err) : NULL;
        out = l && sf_node_finish(rw->g, l, err) == SF_OK ? l->out[0] : NULL;
        if (!spread)
            sf_fail(err, SF_ERR_NOMEM, "concat_elim: out of memory");
        free(spread);
    } else if (!h) {
        sf_fail(err, SF_ERR_NOMEM, "concat_elim: out of memory");
    }
    free(h);
    return out;
}

sf_status sf_pass_concat_elim(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    const sf_uses *u = sf_pass_uses(m, "concat_elim", err);
    if (!u)
        return SF_ERR_VERIFY;
    const sf_value **leaf = malloc(sizeof *leaf * MAX_SUMMANDS);
    if (!leaf)
        return sf_fail(err, SF_ERR_NOMEM, "concat_elim: out of memory");
    sf_rewriter rw;
    bool changed = false;
    sf_status st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        bool root = n->op == SF_OP_ADD &&
                    !(u->count[n->out[0]->id] == 1 && u->user[n->out[0]->id]->op == SF_OP_ADD &&
                      sf_type_equal(&u->user[n->out[0]->id]->out[0]->type, &n->out[0]->type));
        /* the views say "no match" with NULL and no error: their own error
         * record, since the caller's may hold an earlier, handled one */
        sf_error verr = {0};
        sf_value *sum = root ? rows_sum(&rw, n, u->count, leaf, &verr)
                      : n->op == SF_OP_STACK && n->nin > 1 ? stacked_rows(&rw, n, &verr)
                      : n->op == SF_OP_LINEAR ? padded_product(&rw, m, n, u->count, &verr) : NULL;
        if (sum)
            rw.map[n->out[0]->id] = sum;
        else if (verr.code != SF_OK)
            st = err ? (*err = verr).code : verr.code;
        else
            st = n->op == SF_OP_CONCAT ? rewrite_concat(&rw, n, &changed, err) : sf_rw_copy(&rw, n, err);
    }
    free(leaf);
    if (st != SF_OK) {
        sf_rw_abort(&rw);
        return st;
    }
    (void)changed; /* the pipeline's dce drops what the views left unused */
    return sf_rw_finish(&rw, m, err);
}
