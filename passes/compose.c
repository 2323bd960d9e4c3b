/* compose: two affine maps in a row with nothing between them are one.
 * linear(linear(x, W1, b1), W2, b2) = linear(x, W2·W1, W2·b1 + b2), and the
 * same per group for grouped_linear. Seed 003's FullyConnectedNetwork
 * (Linear(20, 10) then Linear(10, 1), no activation) costs 210 multiply-adds
 * per branch as written and 20 composed.
 *
 * Only where it pays: the composed product has fewer multiply-adds (and so
 * fewer weights) than the two it replaces, I·O < H·(I + O). A bottleneck
 * (1000 -> 10 -> 1000) stays as written. The intermediate must have no other
 * use, and both weights must be constants. The composed weights are computed
 * in double and rounded once, so they are at least as accurate as the two
 * float products they replace.
 * Needs use counts (SF_PASS_USES); leaves dead nodes (SF_PASS_DEAD: dce follows). */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

typedef struct affine {
    const sf_node *n;       /* inner: in the new graph; outer: in the old one */
    const sf_tensor *w, *b; /* w: [G, out, in] or [out, in]; b optional */
    int64_t G, out, in;
} affine;

static bool affine_of(const sf_module *m, const sf_node *n, affine *a)
{
    if (!sf_op_has(n->op, SF_OPF_LINEAR) || sf_trainable(m)) /* trainable: no recipe for a product of weights yet */
        return false;
    memset(a, 0, sizeof *a);
    a->n = n;
    a->w = sf_param_tensor(m, n->in[1]);
    a->b = n->nin > 2 ? sf_param_tensor(m, n->in[2]) : NULL;
    if (!a->w || (n->nin > 2 && !a->b) || n->out[0]->type.dtype != SF_F32)
        return false;
    bool grouped = n->op == SF_OP_GROUPED_LINEAR;
    a->G = grouped ? a->w->dim[0] : 1;
    a->out = a->w->dim[grouped ? 1 : 0];
    a->in = a->w->dim[grouped ? 2 : 1];
    return true;
}

/* outer after inner, both the same kind; the outer's groups must be the inner's */
static bool composable(const affine *inner, const affine *outer)
{
    if (inner->n->op != outer->n->op || inner->G != outer->G || inner->out != outer->in)
        return false;
    if (outer->n->op == SF_OP_GROUPED_LINEAR && sf_attr_shared(outer->n))
        return false;
    double I = (double)inner->in, H = (double)inner->out, O = (double)outer->out;
    return I * O < H * (I + O);
}

static sf_status compose(sf_rewriter *rw, sf_module *m, const sf_node *old, const affine *inner, const affine *outer,
                         sf_error *err)
{
    int64_t G = inner->G, I = inner->in, H = inner->out, O = outer->out;
    bool bias = inner->b || outer->b;
    float *w = malloc(sizeof *w * (size_t)(G * O * I)), *b = malloc(sizeof *b * (size_t)(G * O));
    if (!w || !b) {
        free(w), free(b);
        return sf_fail(err, SF_ERR_NOMEM, "compose: out of memory");
    }
    for (int64_t g = 0; g < G; g++) {
        const float *w1 = inner->w->data + g * H * I, *w2 = outer->w->data + g * O * H;
        for (int64_t o = 0; o < O; o++) {
            for (int64_t i = 0; i < I; i++) {
                double s = 0;
                for (int64_t h = 0; h < H; h++)
                    s += (double)w2[o * H + h] * w1[h * I + i];
                w[(g * O + o) * I + i] = (float)s;
            }
            double s = outer->b ? outer->b->data[g * O + o] : 0.0;
            for (int64_t h = 0; inner->b && h < H; h++)
                s += (double)w2[o * H + h] * inner->b->data[g * H + h];
            b[g * O + o] = (float)s;
        }
    }
    bool grouped = old->op == SF_OP_GROUPED_LINEAR;
    int64_t wd[3] = {G, O, I}, bd[2] = {G, O};
    char hint[512];
    snprintf(hint, sizeof hint, "%s.composed", outer->n->in[1]->def->name);
    sf_value *in[3] = {inner->n->in[0], NULL, NULL};
    in[1] = sf_new_param(m, rw->g, hint, grouped ? 3 : 2, grouped ? wd : wd + 1, w, NULL, err);
    if (in[1] && bias) {
        snprintf(hint, sizeof hint, "%s.composed_bias", outer->n->in[1]->def->name);
        in[2] = sf_new_param(m, rw->g, hint, grouped ? 2 : 1, grouped ? bd : bd + 1, b, NULL, err);
    }
    free(w), free(b);
    if (!in[1] || (bias && !in[2]))
        return err ? err->code : SF_ERR_NOMEM;
    sf_node *c = sf_rw_node(rw, old->op, bias ? 3 : 2, in, old, err);
    if (c && grouped)
        sf_node_set_int(c, SF_ATTR_SHARED, sf_attr_shared(inner->n));
    if (!c || sf_node_finish(rw->g, c, err) != SF_OK)
        return err ? err->code : SF_ERR_NOMEM;
    rw->map[old->out[0]->id] = c->out[0];
    return SF_OK;
}

/* Walks the graph in order, so a chain of three composes left to right:
 * the inner of the second step is the product the first step made. */
sf_status sf_pass_compose(sf_module *m, sf_error *err)
{
    const sf_graph *g = m->g;
    const sf_uses *u = sf_pass_uses(m, "compose", err);
    if (!u)
        return SF_ERR_VERIFY;
    const int *uses = u->count;
    sf_rewriter rw;
    sf_status st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        affine inner, outer;
        sf_value *x = n->nin > 0 ? rw.map[n->in[0]->id] : NULL;
        if (x && uses[n->in[0]->id] == 1 && affine_of(m, x->def, &inner) && affine_of(m, n, &outer) &&
            composable(&inner, &outer)) {
            st = compose(&rw, m, n, &inner, &outer, err);
        } else {
            st = sf_rw_copy(&rw, n, err);
        }
    }
    if (st != SF_OK) {
        sf_rw_abort(&rw);
        return st;
    }
    return sf_rw_finish(&rw, m, err);
}
