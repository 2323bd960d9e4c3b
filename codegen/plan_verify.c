/* The plan checker (plan.h: sf_plan_verify): what a backend relies on to
 * run a plan without touching a byte it should not, checked against the
 * graph. sf_plan_build runs it on every plan it makes and the package
 * reader on every plan it reads, so a planner bug or a damaged plan is an
 * error naming the kernel or value, never a wrong number.
 *
 * It checks, rather than recomputes: a plan made by another sheaf (other
 * fusion or placement choices) passes when it is sound. Sound means the
 * kernels cover every node that computes once, in order; a chain is one
 * that both backends can run (sf_plan_chain_fits) and keeps on chip only
 * its own intermediates; a kernel given to a library is one it runs
 * (sf_plan_lib_for's); kernels that share code have one key; every
 * argument is the operand or result the key implies, at the offset the
 * kernel convention gives; and no two values share arena bytes while both
 * are live, but for an elementwise kernel writing over the operand it is
 * the last to read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/kernel_key.h"
#include "codegen/plan.h"

enum { MAX_CHAIN = 64 };

static const sf_node *node_at(const sf_plan *p, int i) { return p->g->nodes.items[i]; }

static bool computes(const sf_node *n)
{
    return sf_op_cls(n->op) != SF_OPCLS_SOURCE && sf_op_cls(n->op) != SF_OPCLS_VIEW;
}

static sf_status bad(sf_error *err, size_t k, const sf_plan *p, const char *what)
{
    const sf_node *n = node_at(p, p->kernels[k].first);
    return sf_fail(err, SF_ERR_VERIFY, "plan: kernel %zu (%s at node %d): %s", k, sf_ops[n->op].name,
                   p->kernels[k].first, what);
}

/* first..last in range, in order after the previous kernel, starting and
 * ending on a node that computes, with nothing but sources, at most 64
 * members, between */
static sf_status check_span(const sf_plan *p, size_t k, int after, sf_error *err)
{
    const sf_plan_kernel *pk = &p->kernels[k];
    int nn = (int)p->g->nodes.len;
    if (pk->first <= after || pk->first > pk->last || pk->last >= nn)
        return sf_fail(err, SF_ERR_VERIFY, "plan: kernel %zu spans nodes %d..%d, not after node %d within %d nodes",
                       k, pk->first, pk->last, after, nn);
    if (!computes(node_at(p, pk->first)) || !computes(node_at(p, pk->last)))
        return bad(err, k, p, "does not begin and end on a node that computes");
    int members = 0;
    for (int i = pk->first; i <= pk->last; i++)
        members += computes(node_at(p, i));
    return members <= MAX_CHAIN ? SF_OK : bad(err, k, p, "has more than 64 members");
}

/* a library kernel is one its library runs; a chain: each member reads
 * the one before it, used nowhere else, and every backend can run the whole */
static sf_status check_chain(const sf_plan *p, size_t k, const sf_uses *u, sf_error *err)
{
    const sf_node *m[MAX_CHAIN];
    int count = sf_plan_members(p, &p->kernels[k], m);
    if (p->kernels[k].lib != SF_LIB_GENERATED && p->kernels[k].lib != (int)sf_plan_lib_for(m, count))
        return bad(err, k, p, "names a library that does not run it");
    if (count == 1)
        return SF_OK;
    if (!sf_plan_chain_fits(m, count))
        return bad(err, k, p, "is a chain that not every backend can run");
    for (int j = 1; j < count; j++) /* through the reshape, if any, that only this member reads */
        if (m[j]->nin < 1 || m[j - 1]->nout != 1 || sf_plan_chain_link(m[j]) != m[j - 1]->out[0] ||
            u->count[m[j - 1]->out[0]->id] != 1 || u->count[m[j]->in[0]->id] != 1)
            return bad(err, k, p, "is a chain whose members do not each read only the one before");
    return SF_OK;
}

/* one argument: operand (or result) i of member n, node index `node` */
static sf_status check_arg(const sf_plan *p, size_t k, const sf_plan_arg *g, const sf_node *n, int node, int i,
                           sf_error *err)
{
    const sf_value *v = i < n->nin ? n->in[i] : n->out[i - n->nin];
    double o1 = i < n->nin ? (double)sf_kernel_arg_offset(n, i, 1) : 0;
    double o2 = i < n->nin ? (double)sf_kernel_arg_offset(n, i, 2) : 0;
    if (g->node != node || g->index != i || g->value != v->id)
        return bad(err, k, p, "has an argument that is not the operand or result its place implies");
    if (sf_linear_at(g->offset, 1) != o1 || sf_linear_at(g->offset, 2) != o2)
        return bad(err, k, p, "has an argument offset the kernel convention does not give");
    return SF_OK;
}

/* the arguments: the first member's operands, each later member's but its
 * first, the last's results, each at the kernel convention's offset */
static sf_status check_args(const sf_plan *p, size_t k, sf_error *err)
{
    const sf_plan_kernel *pk = &p->kernels[k];
    const sf_node *z = node_at(p, pk->last);
    int want = z->nout, at = 0;
    for (int i = pk->first, first = 1; i <= pk->last; i++)
        if (computes(node_at(p, i)))
            want += node_at(p, i)->nin - (first ? 0 : 1), first = 0;
    if (pk->nargs != want || (want && !pk->args))
        return bad(err, k, p, "has the wrong number of arguments");
    sf_status st = SF_OK;
    for (int i = pk->first, first = 1; st == SF_OK && i <= pk->last; i++) {
        const sf_node *n = node_at(p, i);
        for (int j = first ? 0 : 1; computes(n) && st == SF_OK && j < n->nin; j++)
            st = check_arg(p, k, &pk->args[at++], n, i, j, err);
        first &= !computes(n);
    }
    for (int i = 0; st == SF_OK && i < z->nout; i++)
        st = check_arg(p, k, &pk->args[at++], z, pk->last, z->nin + i, err);
    if (st != SF_OK)
        return st;
    double c[4] = {pk->flops.c0, pk->flops.cb, pk->bytes.c0, pk->bytes.cb};
    for (int i = 0; i < 4; i++)
        if (!isfinite(c[i]) || c[i] < 0)
            return bad(err, k, p, "has a negative or infinite cost");
    return SF_OK;
}

/* codes: each kernel's key is its code's, and each code's kernel has it */
static sf_status check_codes(const sf_plan *p, sf_error *err)
{
    if (p->ncodes < 0 || (size_t)p->ncodes > p->nkernels || (p->nkernels && !p->ncodes))
        return sf_fail(err, SF_ERR_VERIFY, "plan: %d codes for %zu kernels", p->ncodes, p->nkernels);
    for (int c = 0; c < p->ncodes; c++)
        if (p->code_kernel[c] < 0 || (size_t)p->code_kernel[c] >= p->nkernels ||
            p->kernels[p->code_kernel[c]].code != c || !p->keys[c])
            return sf_fail(err, SF_ERR_VERIFY, "plan: code %d does not name a kernel of its own", c);
    for (size_t k = 0; k < p->nkernels; k++) {
        int c = p->kernels[k].code;
        if (c < 0 || c >= p->ncodes)
            return bad(err, k, p, "has no code");
        char *key = sf_plan_key(p, &p->kernels[k]);
        if (!key)
            return sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
        bool same = !strcmp(key, p->keys[c]);
        free(key);
        if (!same)
            return bad(err, k, p, "shares code with a kernel of another key");
    }
    return SF_OK;
}

/* every node that computes is in exactly one kernel (kernel_of says which),
 * others in none; unstored is exactly the chains' intermediates */
static sf_status check_cover(const sf_plan *p, sf_error *err)
{
    size_t nn = p->g->nodes.len, k = 0;
    for (size_t i = 0; i < nn; i++) {
        const sf_node *n = node_at(p, (int)i);
        while (k < p->nkernels && (size_t)p->kernels[k].last < i)
            k++;
        bool inside = k < p->nkernels && (size_t)p->kernels[k].first <= i;
        int want = inside && computes(n) ? (int)k : -1;
        if (computes(n) && want < 0)
            return sf_fail(err, SF_ERR_VERIFY, "plan: node %zu (%s) is in no kernel", i, sf_ops[n->op].name);
        if (p->kernel_of[i] != want)
            return sf_fail(err, SF_ERR_VERIFY, "plan: node %zu (%s) is listed in kernel %d, not %d", i,
                           sf_ops[n->op].name, p->kernel_of[i], want);
        for (int o = 0; o < n->nout; o++) {
            bool mid = inside && sf_op_cls(n->op) != SF_OPCLS_SOURCE && i < (size_t)p->kernels[k].last;
            if (p->unstored[n->out[o]->id] != mid)
                return sf_fail(err, SF_ERR_VERIFY, "plan: value id %d is %s memory but %s a chain's intermediate",
                               n->out[o]->id, mid ? "in" : "out of", mid ? "is" : "is not");
        }
    }
    return SF_OK;
}


/* ---- memory: where each value lives, and that no two live ones share bytes ---- */

static const char *const home_name[] = {"no memory", "the per-row arena", "the fixed arena", "a view", "a slot"};

/* what a contiguous plan gives the value v that node def makes */
static sf_home home_wanted(const sf_plan *p, const sf_node *def, const sf_value *v)
{
    if (sf_op_cls(def->op) == SF_OPCLS_SOURCE || p->unstored[v->id])
        return SF_HOME_NONE;
    if (sf_op_cls(def->op) == SF_OPCLS_VIEW)
        return SF_HOME_VIEW;
    return sf_type_has_batch(&v->type) ? SF_HOME_ROWS : SF_HOME_FIXED;
}

static sf_status check_home(const sf_plan *p, const sf_node *def, const sf_value *v, sf_error *err)
{
    const sf_memplan *m = &p->mem;
    sf_home h = m->home[v->id], want = home_wanted(p, def, v);
    if ((unsigned)h > SF_HOME_SLOT || h != want)
        return sf_fail(err, SF_ERR_VERIFY, "plan: value id %d (made by %s) lives in %s, not %s", v->id,
                       sf_ops[def->op].name, (unsigned)h > SF_HOME_SLOT ? "an unknown place" : home_name[h],
                       home_name[want]);
    if (h == SF_HOME_VIEW && m->alias_of[v->id] != def->in[0]->id)
        return sf_fail(err, SF_ERR_VERIFY, "plan: value id %d views value id %d, not its operand %d", v->id,
                       m->alias_of[v->id], def->in[0]->id);
    bool placed = h == SF_HOME_ROWS || h == SF_HOME_FIXED;
    if ((!placed && m->offset[v->id]) || (h != SF_HOME_VIEW && m->alias_of[v->id]) ||
        (m->slot_start && m->slot_start[v->id]))
        return sf_fail(err, SF_ERR_VERIFY, "plan: value id %d has an offset, alias or slot that %s does not use",
                       v->id, home_name[h]);
    if (!placed)
        return SF_OK;
    size_t size = sf_memplan_value_bytes(v), cap = h == SF_HOME_ROWS ? m->row_bytes : m->fixed_bytes;
    if (m->offset[v->id] % 64 || m->offset[v->id] > cap || size > cap - m->offset[v->id])
        return sf_fail(err, SF_ERR_VERIFY, "plan: value id %d (%zu bytes at %zu) lies outside %s (%zu bytes) or "
                       "off a 64-byte boundary", v->id, size, m->offset[v->id], home_name[h], cap);
    return SF_OK;
}

typedef struct span {
    size_t lo, hi;
    int value;
} span;

typedef struct span_set { /* disjoint byte ranges in one arena, by lo */
    span *s;
    size_t n;
} span_set;

static size_t lower_bound(const span_set *a, size_t lo)
{
    size_t l = 0, r = a->n;
    while (l < r) {
        size_t mid = (l + r) / 2;
        if (a->s[mid].lo < lo)
            l = mid + 1;
        else
            r = mid;
    }
    return l;
}

typedef struct sweep {
    const sf_plan *p;
    int *last;       /* by value id: the last kernel that reads it (nkernels: an output) */
    int *die_head;   /* by kernel: values whose last reader it is, linked through die_next */
    int *die_next;
    span_set arena[2]; /* rows, fixed */
} sweep;

static int root_of(const sf_memplan *m, int v)
{
    for (size_t steps = 0; m->home[v] == SF_HOME_VIEW && steps < m->nvalues; steps++)
        v = m->alias_of[v];
    return v;
}

/* v, written by kernel k, takes its bytes; only an elementwise kernel may
 * take those of the operand it is the last to read, and only all of them */
static sf_status place(sweep *w, size_t k, const sf_value *v, sf_error *err)
{
    const sf_memplan *m = &w->p->mem;
    size_t size = sf_memplan_value_bytes(v);
    if (!size)
        return SF_OK;
    span_set *a = &w->arena[m->home[v->id] == SF_HOME_FIXED];
    span new = {m->offset[v->id], m->offset[v->id] + size, v->id};
    size_t at = lower_bound(a, new.lo);
    int clash = at > 0 && a->s[at - 1].hi > new.lo ? (int)at - 1 : at < a->n && a->s[at].lo < new.hi ? (int)at : -1;
    if (clash < 0) {
        memmove(a->s + at + 1, a->s + at, (a->n - at) * sizeof *a->s);
        a->s[at] = new;
        a->n++;
        return SF_OK;
    }
    const span *old = &a->s[clash];
    const sf_plan_kernel *pk = &w->p->kernels[k];
    const sf_node *n = node_at(w->p, pk->first);
    bool operand = false;
    for (int i = 0; i < n->nin; i++)
        operand |= root_of(m, n->in[i]->id) == old->value;
    if (operand && w->last[old->value] == (int)k && pk->first == pk->last && sf_op_has(n->op, SF_OPF_INPLACE) &&
        old->lo == new.lo && old->hi == new.hi) {
        a->s[clash].value = v->id; /* written in place */
        return SF_OK;
    }
    return sf_fail(err, SF_ERR_VERIFY, "plan: kernel %zu (%s at node %d) writes value id %d over value id %d, which "
                   "kernel %d still reads", k, sf_ops[n->op].name, pk->first, v->id, old->value,
                   w->last[old->value]);
}

static void forget(sweep *w, int v)
{
    const sf_memplan *m = &w->p->mem;
    const sf_value *val = w->p->g->values.items[v];
    span_set *a = &w->arena[m->home[v] == SF_HOME_FIXED];
    size_t at = lower_bound(a, m->offset[v]);
    if (sf_memplan_value_bytes(val) && at < a->n && a->s[at].value == v) { /* else written over in place */
        memmove(a->s + at, a->s + at + 1, (a->n - at - 1) * sizeof *a->s);
        a->n--;
    }
}

/* the last reader of every buffer (through its views), then the kernels in
 * order: each result takes its bytes, then the buffers read for the last
 * time give theirs back */
static sf_status sweep_kernels(sweep *w, sf_error *err)
{
    const sf_plan *p = w->p;
    const sf_graph *g = p->g;
    int nk = (int)p->nkernels;
    for (size_t v = 0; v < g->values.len; v++)
        w->last[v] = -1;
    for (int k = 0; k < nk; k++)
        for (int a = 0; a < p->kernels[k].nargs; a++) {
            int r = root_of(&p->mem, p->kernels[k].args[a].value);
            w->last[r] = k; /* read there, or written there: live at least until then */
        }
    for (size_t i = 0; i < g->outputs.len; i++)
        w->last[root_of(&p->mem, ((const sf_value *)g->outputs.items[i])->id)] = nk;
    for (int k = 0; k <= nk; k++)
        w->die_head[k] = -1;
    for (size_t v = 0; v < g->values.len; v++)
        if (w->last[v] >= 0 && (p->mem.home[v] == SF_HOME_ROWS || p->mem.home[v] == SF_HOME_FIXED)) {
            w->die_next[v] = w->die_head[w->last[v]];
            w->die_head[w->last[v]] = (int)v;
        }
    sf_status st = SF_OK;
    for (int k = 0; st == SF_OK && k < nk; k++) {
        const sf_plan_kernel *pk = &p->kernels[k];
        const sf_node *z = node_at(p, pk->last);
        for (int a = pk->nargs - z->nout; st == SF_OK && a < pk->nargs; a++)
            st = place(w, (size_t)k, g->values.items[pk->args[a].value], err);
        for (int v = w->die_head[k]; st == SF_OK && v >= 0; v = w->die_next[v])
            forget(w, v);
    }
    return st;
}

static sf_status verify_memory(const sf_plan *p, sf_error *err)
{
    const sf_graph *g = p->g;
    const sf_memplan *m = &p->mem;
    if (m->nvalues != g->values.len || !m->contiguous || !m->home || !m->offset || !m->alias_of)
        return sf_fail(err, SF_ERR_VERIFY, "plan: the memory plan is not a contiguous one for %zu values",
                       g->values.len);
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int o = 0; o < n->nout; o++) {
            sf_status st = check_home(p, n, n->out[o], err);
            if (st != SF_OK)
                return st;
        }
    }
    size_t nv = g->values.len;
    sweep w = {.p = p};
    w.last = calloc(nv + 1, sizeof *w.last);
    w.die_head = calloc(p->nkernels + 2, sizeof *w.die_head);
    w.die_next = calloc(nv + 1, sizeof *w.die_next);
    w.arena[0].s = calloc(nv + 1, sizeof *w.arena[0].s);
    w.arena[1].s = calloc(nv + 1, sizeof *w.arena[1].s);
    sf_status st = w.last && w.die_head && w.die_next && w.arena[0].s && w.arena[1].s
                       ? sweep_kernels(&w, err)
                       : sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    free(w.last), free(w.die_head), free(w.die_next), free(w.arena[0].s), free(w.arena[1].s);
    return st;
}

sf_status sf_plan_verify(const sf_plan *p, sf_error *err)
{
    const sf_graph *g = p->g;
    if (p->nkernels > g->nodes.len || (p->nkernels && !p->kernels) || !p->kernel_of || !p->unstored)
        return sf_fail(err, SF_ERR_VERIFY, "plan: %zu kernels for %zu nodes", p->nkernels, g->nodes.len);
    const sf_uses *u = sf_fill_uses(g);
    if (!u)
        return sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    sf_status st = SF_OK;
    for (size_t k = 0; st == SF_OK && k < p->nkernels; k++)
        st = check_span(p, k, k ? p->kernels[k - 1].last : -1, err);
    for (size_t k = 0; st == SF_OK && k < p->nkernels; k++)
        st = check_chain(p, k, u, err);
    if (st == SF_OK)
        st = check_cover(p, err);
    for (size_t k = 0; st == SF_OK && k < p->nkernels; k++)
        st = check_args(p, k, err);
    if (st == SF_OK)
        st = check_codes(p, err);
    return st == SF_OK ? verify_memory(p, err) : st;
}
