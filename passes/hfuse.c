/* hfuse: horizontal fusion of sibling linear branches.
 *
 * Sibling linears with constant weights of one shape are grouped by where
 * their input comes from: the same value (one grouped_linear with
 * shared=true: every branch reads it) or equal-width slices that tile the
 * last dim of one tensor (that tensor reshaped to [..., G, w]: a view,
 * never a gather). The branches are then followed in lockstep: while every
 * branch's value has one use and the next ops agree (an activation, an op
 * with the same scalar, another linear of one shape), the grouped value
 * flows on; grouped feeds grouped without splitting back. Windows of one
 * width whose products differ in output width are grouped padded to the
 * widest (zero rows and columns) where that costs at most PAD_LIMIT times
 * the multiply-adds; the padding lanes must stay finite along the chain
 * (they meet only zero weights). Where the
 * branches end, each branch's value is a view of the grouped one, and a
 * concat of a group's ends in order is a reshape of it.
 * Needs use counts (SF_PASS_USES); leaves dead nodes (SF_PASS_DEAD: dce follows). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/tensor.h"
#include "passes/pass.h"

#define PAD_LIMIT 1.5 /* most multiply-adds a padded group of windows may do, over the branches' own */

typedef struct hgroup {
    int G;
    int nsteps;
    const sf_node **steps;     /* steps[s * G + g]: branch g's node at step s */
    const sf_value *src;       /* shared input, or the tensor the slices tile */
    bool sliced;
    bool padded;               /* sliced windows with products of different output widths */
    bool conv;                 /* sibling convs on one input: one wider conv */
    int64_t start, width;      /* sliced: first start, window width */
    sf_value *final;           /* the grouped result, once emitted: [..., G, O] */
    bool emitted;
} hgroup;

typedef struct hplan {
    hgroup **groups;
    size_t ngroups;
    hgroup **of_value;         /* old value id -> group whose node defines it */
} hplan;

static bool const_linear(const sf_module *m, const sf_node *n)
{
    if (n->op != SF_OP_LINEAR)
        return false;
    for (int i = 1; i < n->nin; i++)
        if (!sf_param_tensor(m, n->in[i]))
            return false;
    return true;
}

/* a conv with constant weights and one group: siblings widen into one conv */
static bool const_conv(const sf_module *m, const sf_node *n)
{
    if (!sf_op_has(n->op, SF_OPF_CONV) || sf_attr_groups(n) != 1)
        return false;
    for (int i = 1; i < n->nin; i++)
        if (!sf_param_tensor(m, n->in[i]))
            return false;
    return true;
}

/* Two branch nodes do the same thing to their own operand. */
static bool same_step(const sf_node *a, const sf_node *b, const sf_value *a_in, const sf_value *b_in, bool padded)
{
    if (a->op != b->op || a->nin != b->nin)
        return false;
    if (sf_op_cls(a->op) == SF_OPCLS_UNARY)
        return sf_node_attrs_equal(a, b); /* LeakyReLU(0.1) and LeakyReLU(0.2) are not one step */
    if (a->op == SF_OP_LINEAR)
        return (padded || sf_type_equal(&a->in[1]->type, &b->in[1]->type)) && a->in[0] == a_in && b->in[0] == b_in;
    if (sf_op_cls(a->op) == SF_OPCLS_BINARY) {
        /* the branch value on the same side, the same scalar on the other */
        int side = a->in[0] == a_in ? 0 : 1;
        if (a->in[side] != a_in || b->in[side] != b_in)
            return false;
        const sf_value *sa = a->in[1 - side], *sb = b->in[1 - side];
        return sa->def->op == SF_OP_SCALAR && sb->def->op == SF_OP_SCALAR &&
               sf_attr_value(sa->def) == sf_attr_value(sb->def) &&
               sf_type_equal(&a->out[0]->type, &a_in->type);
    }
    return false;
}

static const sf_node *only_user(const sf_value *v, const sf_node *const *user, const int *uses)
{
    return uses[v->id] == 1 ? user[v->id] : NULL;
}

float sf_padding_after(const sf_node *n, const sf_value *in, float pad)
{
    if (n->op == SF_OP_LINEAR)
        return 0.0f;
    int side = n->in[0] == in ? 0 : 1;
    if (n->nin == 2 && n->in[1 - side]->def->op != SF_OP_SCALAR)
        return NAN; /* not a step a group takes (same_step) */
    return sf_interp_elementwise(n, side, pad, n->nin == 2 ? (float)sf_attr_value(n->in[1 - side]->def) : 0.0f);
}

/* Extends a group of first steps as far as every branch agrees; nodes
 * another group already took end the chain. */
static sf_status follow(hgroup *h, const sf_module *m, const sf_node *const *user, const int *uses,
                        const unsigned char *claimed, sf_error *err)
{
    int G = h->G;
    float pad = 0.0f;
    h->nsteps = 1;
    for (;;) {
        const sf_node *first = only_user(h->steps[(size_t)(h->nsteps - 1) * G]->out[0], user, uses);
        if (!first || claimed[first->out[0]->id] || first->nout != 1 ||
            (!sf_op_is_elementwise(first->op) && !(first->op == SF_OP_LINEAR && const_linear(m, first))))
            return SF_OK;
        const sf_value *first_in = h->steps[(size_t)(h->nsteps - 1) * G]->out[0];
        float next_pad = h->padded ? sf_padding_after(first, first_in, pad) : 0.0f;
        if (!isfinite(next_pad)) /* a later product would meet 0 x inf */
            return SF_OK;
        const sf_node **grown = realloc(h->steps, sizeof *grown * (size_t)G * (size_t)(h->nsteps + 1));
        if (!grown)
            return sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
        h->steps = grown;
        const sf_node **next = &h->steps[(size_t)h->nsteps * G];
        for (int g = 0; g < G; g++) {
            const sf_value *v = h->steps[(size_t)(h->nsteps - 1) * G + g]->out[0];
            next[g] = only_user(v, user, uses);
            if (!next[g] || claimed[next[g]->out[0]->id] || !same_step(first, next[g], first_in, v, h->padded) ||
                (next[g]->op == SF_OP_LINEAR && !const_linear(m, next[g])))
                return SF_OK;
        }
        h->nsteps++;
        pad = next_pad;
    }
}

/* ---- grouping ---- */

typedef struct cand {
    const sf_node *n;
    int64_t start; /* sliced: where the window starts */
    size_t order;  /* position in the graph */
} cand;

static int64_t out_width(const cand *c) { return c->n->in[1]->type.dim[0]; }

static int by_start(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* the slice that feeds a linear, when it is a window of the last dim */
static const sf_node *last_dim_window(const sf_node *lin)
{
    const sf_node *s = lin->in[0]->def;
    if (s->op != SF_OP_SLICE || sf_attr_step(s) != 1)
        return NULL;
    const sf_type *t = &s->in[0]->type;
    return sf_attr_dim(s) == t->rank - 1 && t->dim[t->rank - 1] >= 0 ? s : NULL;
}

static size_t branch_bytes(const sf_module *m, const sf_node *lin)
{
    size_t b = 0;
    for (int i = 1; i < lin->nin; i++)
        b += sf_tensor_numel(sf_tensors_get(m->weights, lin->in[i]->def->name)) * sizeof(float);
    return b;
}

static sf_status add_group(hplan *p, const sf_module *m, const cand *c, int G, bool sliced, bool padded,
                           const sf_node *const *user, const int *uses, unsigned char *claimed, sf_error *err)
{
    hgroup *h = calloc(1, sizeof *h);
    hgroup **grown = realloc(p->groups, sizeof *grown * (p->ngroups + 1));
    if (!h || !grown) {
        free(h);
        return sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
    }
    p->groups = grown;
    p->groups[p->ngroups++] = h;
    h->G = G;
    h->sliced = sliced;
    h->padded = padded;
    h->steps = malloc(sizeof *h->steps * (size_t)G);
    if (!h->steps)
        return sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
    for (int g = 0; g < G; g++)
        h->steps[g] = c[g].n;
    const sf_node *w0 = sliced ? last_dim_window(c[0].n) : NULL;
    h->src = sliced ? w0->in[0] : c[0].n->in[0];
    h->start = sliced ? c[0].start : 0;
    h->width = sliced ? c[0].n->in[0]->type.dim[c[0].n->in[0]->type.rank - 1] : 0;
    h->conv = c[0].n->op != SF_OP_LINEAR;
    h->nsteps = 1;
    sf_status st = h->conv ? SF_OK : follow(h, m, user, uses, claimed, err);
    for (int s = 0; st == SF_OK && s < h->nsteps; s++)
        for (int g = 0; g < G; g++) {
            const sf_node *n = h->steps[(size_t)s * G + g];
            claimed[n->out[0]->id] = 1;
            p->of_value[n->out[0]->id] = h;
        }
    return st;
}

bool sf_summed_after_epilogue(const sf_node *n, const sf_node *const *user, const int *uses)
{
    const sf_value *v = n->out[0];
    while (uses[v->id] == 1 && sf_op_cls(user[v->id]->op) == SF_OPCLS_UNARY)
        v = user[v->id]->out[0];
    return v != n->out[0] && uses[v->id] == 1 && user[v->id]->op == SF_OP_ADD;
}

/* Memory, the cost model of widening convs: the FLOPs are the same either
 * way, but G branches summed after an activation (a growing network's
 * conv + BatchNorm + ReLU layers) widened hold G results at once, where
 * kept apart each is added into the sum and freed (about 2 results'
 * worth: the sum and the branch being made). Widening wins only up to 2. */
static bool keep_convs_apart(const sf_module *m, const cand *c, size_t n, const sf_node *const *user, const int *uses)
{
    if (n <= 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!sf_summed_after_epilogue(c[i].n, user, uses))
            return false;
    const sf_type *t = &c[0].n->out[0]->type;
    size_t per = 1;
    for (int d = 1; d < t->rank; d++)
        per *= (size_t)t->dim[d];
    sf_graph_note(m->g, "hfuse: %zu convs on one input kept apart: summed after an activation, widened they would "
                        "hold %zu bytes per batch row at once, apart about %zu", n, n * per * sizeof(float),
                  2 * per * sizeof(float));
    return true;
}

static sf_status group_run(hplan *p, const sf_module *m, const cand *c, size_t n, bool sliced, bool padded,
                           int min_branches, const sf_node *const *user, const int *uses, unsigned char *claimed,
                           sf_error *err)
{
    if (n < (size_t)min_branches || n > INT32_MAX)
        return SF_OK;
    return add_group(p, m, c, (int)n, sliced, padded, user, uses, claimed, err);
}

/* A contiguous run of windows of one width: one group when its products
 * share an output width, or padded to the widest where that costs at most
 * PAD_LIMIT times the multiply-adds; else runs of one output width. */
static sf_status window_run(hplan *p, const sf_module *m, const cand *c, size_t n, int min_branches,
                            const sf_node *const *user, const int *uses, unsigned char *claimed, sf_error *err)
{
    int64_t most = 0, least = INT64_MAX, total = 0;
    for (size_t i = 0; i < n; i++) {
        most = out_width(&c[i]) > most ? out_width(&c[i]) : most;
        least = out_width(&c[i]) < least ? out_width(&c[i]) : least;
        total += out_width(&c[i]);
    }
    double cost = total ? (double)most * (double)n / (double)total : 1.0;
    bool mixed = (double)most * (double)n != (double)total;
    if (!mixed || (cost <= PAD_LIMIT && n >= (size_t)min_branches)) {
        if (mixed)
            sf_graph_note(m->g, "hfuse: %zu windows with products of %lld to %lld outputs grouped, padded to %lld: "
                                "%.2fx their multiply-adds", n, (long long)least, (long long)most,
                          (long long)most, cost);
        return group_run(p, m, c, n, true, mixed, min_branches, user, uses, claimed, err);
    }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && out_width(&c[j]) == out_width(&c[i]))
            j++;
        sf_status st = group_run(p, m, c + i, j - i, true, false, min_branches, user, uses, claimed, err);
        if (st != SF_OK)
            return st;
        i = j;
    }
    return SF_OK;
}

/* the ops that follow a branch's product, two deep: chains prefer windows
 * that go on alike, so a chain stays one ModuleList's */
static int64_t what_follows(const sf_node *n, const sf_node *const *user, const int *uses)
{
    int64_t sig = 0;
    for (int d = 0; d < 2 && n && n->nout == 1 && uses[n->out[0]->id] == 1; d++) {
        n = user[n->out[0]->id];
        sig = sig * SF_OP_COUNT + n->op + 1;
    }
    return sig;
}

/* Windows sorted into chains that tile the tensor, one after another:
 * two ModuleLists over the same windows are two chains, not runs of one.
 * From the first window left, each chain takes the next window on (one
 * followed by the same ops first, then the earliest in the graph). */
static sf_status chain_windows(cand *c, size_t n, const sf_node *const *user, const int *uses, sf_error *err)
{
    qsort(c, n, sizeof *c, by_start);
    cand *out = malloc(sizeof *out * (n ? n : 1));
    unsigned char *taken = calloc(n ? n : 1, 1);
    if (!out || !taken) {
        free(out), free(taken);
        return sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
    }
    size_t k = 0, lo = 0; /* lo: the first window not taken */
    while (k < n) {
        while (taken[lo])
            lo++;
        size_t at = lo;
        for (;;) {
            taken[at] = 1;
            out[k++] = c[at];
            int64_t next = c[at].start + c[at].n->in[0]->type.dim[c[at].n->in[0]->type.rank - 1];
            size_t pick = n;
            bool alike = false; /* pick is followed by the same ops as at */
            int64_t want = what_follows(c[at].n, user, uses);
            for (size_t j = at + 1; j < n && c[j].start <= next && !alike; j++)
                if (!taken[j] && c[j].start == next && (pick == n || what_follows(c[j].n, user, uses) == want)) {
                    pick = j;
                    alike = what_follows(c[j].n, user, uses) == want;
                }
            if (pick == n)
                break;
            at = pick;
        }
    }
    memcpy(c, out, sizeof *c * n);
    free(out), free(taken);
    return SF_OK;
}

/* One bucket of candidates (same source, same weight shapes): contiguous
 * runs of windows, or all readers of one value, cut to the size limit. */
static sf_status form_groups(hplan *p, const sf_module *m, cand *c, size_t n, bool sliced, int min_branches,
                             size_t max_bytes, const sf_node *const *user, const int *uses, unsigned char *claimed,
                             sf_error *err)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!claimed[c[i].n->out[0]->id])
            c[k++] = c[i];
    n = k;
    if (n && c[0].n->op != SF_OP_LINEAR && keep_convs_apart(m, c, n, user, uses))
        return SF_OK;
    if (sliced && chain_windows(c, n, user, uses, err) != SF_OK)
        return err ? err->code : SF_ERR_NOMEM;
    size_t per = 1;
    for (size_t i = 0; i < n; i++) /* padded, every branch costs the largest's bytes */
        if (branch_bytes(m, c[i].n) > per)
            per = branch_bytes(m, c[i].n);
    size_t most = max_bytes / per;
    if (most < 1)
        most = 1;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        int64_t w = sliced ? c[i].n->in[0]->type.dim[c[i].n->in[0]->type.rank - 1] : 0;
        while (j < n && j - i < most && (!sliced || c[j].start == c[j - 1].start + w))
            j++;
        sf_status st = sliced ? window_run(p, m, c + i, j - i, min_branches, user, uses, claimed, err)
                              : group_run(p, m, c + i, j - i, false, false, min_branches, user, uses, claimed, err);
        if (st != SF_OK)
            return st;
        i = j;
    }
    return SF_OK;
}

typedef struct bucket {
    cand *c;
    size_t n, cap;
    bool sliced;
} bucket;

static int by_first(const void *a, const void *b)
{
    const bucket *x = a, *y = b;
    return x->c[0].order < y->c[0].order ? -1 : x->c[0].order > y->c[0].order;
}

static sf_status build_plan(const sf_module *m, hplan *p, int min_branches, size_t max_bytes, sf_error *err)
{
    const sf_graph *g = m->g;
    size_t nv = g->values.len + 1;
    const sf_uses *u = sf_pass_uses(m, "hfuse", err);
    if (!u)
        return SF_ERR_VERIFY;
    const int *uses = u->count;
    const sf_node *const *user = u->user;
    unsigned char *claimed = calloc(nv, 1);
    p->of_value = calloc(nv, sizeof *p->of_value);
    bucket *buckets = NULL;
    size_t nb = 0, capb = 0;
    sf_map index = {0};
    sf_arena keys;
    sf_arena_init(&keys);
    sf_status st = claimed && p->of_value ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        bool conv = const_conv(m, n);
        if (!conv && !const_linear(m, n))
            continue;
        const sf_node *win = conv ? NULL : last_dim_window(n);
        char key[256], tb[160];
        const sf_type *w = &n->in[1]->type;
        /* windows of one tensor and width bucket together whatever their output widths (window_run pads) */
        int at_ = snprintf(key, sizeof key, "%c%d/%lld/%s/%d", conv ? 'c' : win ? 's' : 'x',
                           win ? win->in[0]->id : n->in[0]->id,
                           (long long)(win ? n->in[0]->type.dim[n->in[0]->type.rank - 1] : 0),
                           win ? "" : sf_type_str(w, tb, sizeof tb), n->nin);
        for (int k = 0; conv && k < 3 && at_ > 0 && (size_t)at_ < sizeof key; k++) {
            static const sf_attr_id geometry[] = {SF_ATTR_STRIDE, SF_ATTR_PADDING, SF_ATTR_DILATION};
            const sf_attr *a = sf_node_attr(n, geometry[k]);
            for (int d = 0; d < a->n && (size_t)at_ < sizeof key; d++)
                at_ += snprintf(key + at_, sizeof key - (size_t)at_, "/%lld", (long long)a->ints[d]);
        }
        size_t at = (size_t)(uintptr_t)sf_map_get(&index, key);
        if (!at) {
            char *k = sf_arena_strdup(&keys, key);
            bucket *grown = nb == capb ? realloc(buckets, sizeof *grown * (capb = capb ? capb * 2 : 16)) : buckets;
            if (!k || !grown || !sf_map_put(&index, k, (void *)(uintptr_t)(nb + 1))) {
                st = sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
                break;
            }
            buckets = grown;
            memset(&buckets[nb], 0, sizeof buckets[nb]);
            buckets[nb].sliced = win != NULL;
            at = ++nb;
        }
        bucket *b = &buckets[at - 1];
        if (b->n == b->cap) {
            cand *c = realloc(b->c, sizeof *c * (b->cap = b->cap ? b->cap * 2 : 8));
            if (!c) {
                st = sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
                break;
            }
            b->c = c;
        }
        b->c[b->n++] = (cand){n, win ? sf_attr_start(win) : 0, i};
    }
    if (st == SF_OK && nb)
        qsort(buckets, nb, sizeof *buckets, by_first);
    for (size_t i = 0; st == SF_OK && i < nb; i++)
        st = form_groups(p, m, buckets[i].c, buckets[i].n, buckets[i].sliced, min_branches, max_bytes, user, uses,
                         claimed, err);
    for (size_t i = 0; i < nb; i++)
        free(buckets[i].c);
    free(buckets);
    sf_map_free(&index);
    sf_arena_free(&keys);
    free(claimed);
    return st;
}

static void free_plan(hplan *p)
{
    for (size_t i = 0; i < p->ngroups; i++) {
        free(p->groups[i]->steps);
        free(p->groups[i]);
    }
    free(p->groups);
    free(p->of_value);
}

/* ---- emission ---- */

static sf_value *emit(sf_rewriter *rw, sf_opcode op, int nin, sf_value *const *in, const sf_node *like, sf_error *err)
{
    sf_node *n = sf_rw_node(rw, op, nin, in, like, err);
    return n && sf_node_finish(rw->g, n, err) == SF_OK ? n->out[0] : NULL;
}

/* branch g's parameter `slot` at step s */
static const sf_tensor *branch_param(const sf_module *m, const hgroup *h, int s, int g, int slot)
{
    return sf_tensors_get(m->weights, h->steps[(size_t)s * h->G + g]->in[slot]->def->name);
}

/* A padded group's parameters (a weight [O_g, K_g] or bias [O_g]) stacked
 * into [G, max O, max K], zeros around each. */
static float *stack_padded(const sf_module *m, const hgroup *h, int s, int slot, int64_t *dims, sf_error *err)
{
    const sf_tensor *t0 = branch_param(m, h, s, 0, slot);
    int r = t0->rank;
    dims[0] = h->G;
    for (int d = 0; d < r; d++) {
        dims[d + 1] = 0;
        for (int g = 0; g < h->G; g++)
            dims[d + 1] = branch_param(m, h, s, g, slot)->dim[d] > dims[d + 1] ? branch_param(m, h, s, g, slot)->dim[d]
                                                                              : dims[d + 1];
    }
    int64_t rows = r == 2 ? dims[1] : 1, cols = dims[r];
    float *data = calloc((size_t)(h->G * rows * cols), sizeof *data); /* within the group's byte limit */
    if (!data) {
        sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
        return NULL;
    }
    for (int g = 0; g < h->G; g++) {
        const sf_tensor *t = branch_param(m, h, s, g, slot);
        int64_t tr = r == 2 ? t->dim[0] : 1, tc = t->dim[r - 1];
        for (int64_t i = 0; i < tr; i++)
            memcpy(data + ((size_t)g * rows + i) * cols, t->data + i * tc, sizeof *data * (size_t)tc);
    }
    return data;
}

/* how a trainable compile recomputes a stacked parameter of dims */
static sf_value *stack_recipe(sf_module *m, const hgroup *h, int s, int slot, const int64_t *dims, sf_error *err)
{
    if (!sf_trainable(m))
        return NULL;
    const sf_value **ps = malloc(sizeof *ps * (size_t)h->G);
    if (!ps) {
        sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
        return NULL;
    }
    for (int g = 0; g < h->G; g++)
        ps[g] = h->steps[(size_t)s * h->G + g]->in[slot];
    sf_value *r = sf_derive_stack(m, ps, h->G, dims, err);
    free(ps);
    return r;
}

/* The G branches' parameter `slot` stacked along a new group dim. */
static sf_value *stacked(sf_rewriter *rw, sf_module *m, const hgroup *h, int s, int slot, sf_error *err)
{
    const sf_node *n0 = h->steps[(size_t)s * h->G];
    const sf_tensor *t0 = sf_tensors_get(m->weights, n0->in[slot]->def->name);
    char hint[512];
    snprintf(hint, sizeof hint, "%s.grouped%d", n0->in[slot]->def->name, h->G);
    if (h->padded) {
        int64_t dims[SF_MAX_RANK];
        float *data = stack_padded(m, h, s, slot, dims, err);
        sf_value *v = data ? sf_new_param(m, rw->g, hint, t0->rank + 1, dims, data,
                                          stack_recipe(m, h, s, slot, dims, err), err)
                           : NULL;
        free(data);
        return v;
    }
    size_t per = sf_tensor_numel(t0), total;
    if (sf_mul_overflow(per, (size_t)h->G, &total)) {
        sf_fail(err, SF_ERR_NOMEM, "hfuse: grouped weights too large");
        return NULL;
    }
    float *data = malloc(sizeof *data * (total ? total : 1));
    if (!data) {
        sf_fail(err, SF_ERR_NOMEM, "hfuse: out of memory");
        return NULL;
    }
    for (int g = 0; g < h->G; g++) {
        const sf_node *n = h->steps[(size_t)s * h->G + g];
        memcpy(data + (size_t)g * per, sf_tensors_get(m->weights, n->in[slot]->def->name)->data, per * sizeof *data);
    }
    int64_t dims[SF_MAX_RANK] = {h->G};
    for (int i = 0; i < t0->rank; i++)
        dims[i + 1] = t0->dim[i];
    sf_value *v = sf_new_param(m, rw->g, hint, t0->rank + 1, dims, data, stack_recipe(m, h, s, slot, dims, err), err);
    free(data);
    return v;
}

/* the branches' common input, grouped: a view of the tiled tensor, or the shared value */
static sf_value *group_input(sf_rewriter *rw, const hgroup *h, sf_error *err)
{
    sf_value *src = sf_rw_value(rw, h->src, err);
    if (!src || !h->sliced)
        return src;
    int r = src->type.rank;
    if (h->start != 0 || h->G * h->width != src->type.dim[r - 1])
        src = sf_rw_slice(rw, src, r - 1, h->start, h->start + h->G * h->width, err);
    int64_t dims[SF_MAX_RANK];
    memcpy(dims, src->type.dim, sizeof(int64_t) * (size_t)(r - 1));
    dims[r - 1] = h->G;
    dims[r] = h->width;
    return src ? sf_rw_reshape(rw, src, dims, r + 1, err) : NULL;
}

/* the branches' weights (slot 1) or biases (slot 2) laid end to end on the output channels */
static sf_value *widened(sf_rewriter *rw, sf_module *m, const hgroup *h, int slot, sf_error *err)
{
    sf_value *v = stacked(rw, m, h, 0, slot, err);
    if (!v)
        return NULL;
    const sf_type *t = &v->type; /* [G, O, ...] -> [G*O, ...]: same bytes */
    int64_t dims[SF_MAX_RANK];
    dims[0] = t->dim[0] * t->dim[1];
    for (int i = 2; i < t->rank; i++)
        dims[i - 1] = t->dim[i];
    sf_value *flat = sf_rw_reshape(rw, v, dims, t->rank - 1, err);
    return flat;
}

static sf_status emit_conv_group(sf_rewriter *rw, sf_module *m, hgroup *h, sf_error *err)
{
    const sf_node *n0 = h->steps[0];
    sf_value *in[3] = {sf_rw_value(rw, n0->in[0], err), NULL, NULL};
    if (in[0])
        in[1] = widened(rw, m, h, 1, err);
    if (in[1] && n0->nin == 3)
        in[2] = widened(rw, m, h, 2, err);
    if (!in[1] || (n0->nin == 3 && !in[2]))
        return err ? err->code : SF_ERR_NOMEM;
    sf_value *out = emit(rw, n0->op, n0->nin, in, n0, err);
    if (!out)
        return err ? err->code : SF_ERR_NOMEM;
    h->final = out;
    h->emitted = true;
    int64_t O = n0->out[0]->type.dim[1];
    for (int g = 0; g < h->G; g++) { /* branch g: its channels, a view */
        sf_value *v = sf_rw_slice(rw, out, 1, g * O, (g + 1) * O, err);
        if (!v)
            return err ? err->code : SF_ERR_NOMEM;
        rw->map[h->steps[g]->out[0]->id] = v;
    }
    return SF_OK;
}

static sf_status emit_group(sf_rewriter *rw, sf_module *m, hgroup *h, sf_error *err)
{
    if (h->conv)
        return emit_conv_group(rw, m, h, err);
    sf_value *cur = group_input(rw, h, err);
    for (int s = 0; cur && s < h->nsteps; s++) {
        const sf_node *n0 = h->steps[(size_t)s * h->G];
        if (n0->op == SF_OP_LINEAR) {
            sf_value *in[3] = {cur, stacked(rw, m, h, s, 1, err), NULL};
            if (in[1] && n0->nin == 3)
                in[2] = stacked(rw, m, h, s, 2, err);
            sf_node *gl = in[1] && (n0->nin == 2 || in[2]) ? sf_rw_node(rw, SF_OP_GROUPED_LINEAR, n0->nin, in, NULL, err)
                                                           : NULL;
            if (gl) {
                sf_node_set_int(gl, SF_ATTR_SHARED, s == 0 && !h->sliced);
                gl->loc = n0->loc ? sf_arena_strdup(&rw->g->arena, n0->loc) : NULL;
            }
            cur = gl && sf_node_finish(rw->g, gl, err) == SF_OK ? gl->out[0] : NULL;
        } else if (sf_op_cls(n0->op) == SF_OPCLS_UNARY) {
            cur = emit(rw, n0->op, 1, &cur, n0, err);
        } else { /* with the same scalar on the same side in every branch */
            const sf_value *prev = h->steps[(size_t)(s - 1) * h->G]->out[0];
            int side = n0->in[0] == prev ? 0 : 1;
            sf_node *sc = sf_rw_node(rw, SF_OP_SCALAR, 0, NULL, n0->in[1 - side]->def, err);
            sf_value *in[2];
            in[side] = cur;
            in[1 - side] = sc && sf_node_finish(rw->g, sc, err) == SF_OK ? sc->out[0] : NULL;
            cur = in[1 - side] ? emit(rw, n0->op, 2, in, n0, err) : NULL;
        }
    }
    if (!cur)
        return err ? err->code : SF_ERR_NOMEM;
    h->final = cur;
    h->emitted = true;
    /* each branch's end: a view of its group row (dce drops unused ones) */
    int r = cur->type.rank;
    for (int g = 0; g < h->G; g++) {
        const sf_value *end = h->steps[(size_t)(h->nsteps - 1) * h->G + g]->out[0];
        sf_value *row = sf_rw_slice(rw, cur, r - 2, g, g + 1, err);
        int64_t lanes = end->type.dim[end->type.rank - 1];
        if (row && lanes < cur->type.dim[r - 1]) /* a padded group's: its own lanes */
            row = sf_rw_slice(rw, row, r - 1, 0, lanes, err);
        sf_value *v = row ? sf_rw_reshape(rw, row, end->type.dim, end->type.rank, err) : NULL;
        if (!v)
            return err ? err->code : SF_ERR_NOMEM;
        rw->map[end->id] = v;
    }
    return SF_OK;
}

sf_status sf_pass_hfuse(sf_module *m, sf_error *err)
{
    hplan p = {0};
    int min_branches = m->hfuse_min_branches > 0 ? m->hfuse_min_branches : 2;
    size_t max_bytes = m->hfuse_max_bytes ? m->hfuse_max_bytes : (size_t)1 << 30;
    sf_status st = build_plan(m, &p, min_branches, max_bytes, err);
    if (st != SF_OK || p.ngroups == 0) {
        free_plan(&p);
        return st;
    }
    const sf_graph *g = m->g;
    sf_rewriter rw;
    st = sf_rw_begin(&rw, g, err);
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        hgroup *h = p.of_value[n->out[0]->id];
        if (h)
            st = h->emitted ? SF_OK : emit_group(&rw, m, h, err);
        else
            st = sf_rw_copy(&rw, n, err);
    }
    free_plan(&p);
    if (st != SF_OK) {
        sf_rw_abort(&rw);
        return st;
    }
    return sf_rw_finish(&rw, m, err);
}
