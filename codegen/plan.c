/* The kernel plan (plan.h): fusion into chains, kernel keys, arguments
 * and the memory plan, decided once for both backends. */
#include "codegen/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/kernel_key.h"

enum { MAX_CHAIN = 64 };

/* Chains keep per-group weights this small on chip (floats of all their
 * products together; of a product over all groups, its share of one
 * group): a large layer streams its weight per row block, and the
 * intermediate saved is small next to it. */
#define CHAIN_MAX_WEIGHTS 32768

static bool is_linear(const sf_node *n) { return sf_op_has(n->op, SF_OPF_LINEAR); }

static bool computes(const sf_node *n)
{
    return sf_op_cls(n->op) != SF_OPCLS_SOURCE && sf_op_cls(n->op) != SF_OPCLS_VIEW;
}

static bool is_grouped(const sf_node *n) { return n->op == SF_OP_GROUPED_LINEAR; }

const sf_value *sf_plan_chain_link(const sf_node *n)
{
    const sf_value *x = n->in[0];
    return n->op == SF_OP_LINEAR && x->def && x->def->op == SF_OP_RESHAPE ? x->def->in[0] : x;
}

bool sf_plan_chain_sums(const sf_node *const *nodes, int count)
{
    for (int k = count - 1; k > 0; k--)
        if (is_linear(nodes[k]))
            return is_grouped(nodes[0]) && nodes[k]->op == SF_OP_LINEAR;
    return false;
}

bool sf_plan_chain_fits(const sf_node *const *nodes, int count)
{
    if (count < 2 || !is_linear(nodes[0]) || nodes[0]->in[0]->type.dtype != SF_F32)
        return false;
    const sf_node *prev = nodes[0]; /* the last product so far */
    int products = 1;
    bool summed = false;
    for (int k = 1; k < count; k++) {
        const sf_node *n = nodes[k];
        if (sf_op_cls(n->op) == SF_OPCLS_UNARY)
            continue;
        if (!is_linear(n) || summed || ++products > SF_CHAIN_MAX_PRODUCTS)
            return false;
        const sf_type *wp = &prev->in[1]->type;
        bool gp = is_grouped(prev), gn = is_grouped(n);
        if (gp && !gn && sf_sums_groups(n, wp->dim[0])) {
            if (wp->dim[1] > SF_CHAIN_MAX_HIDDEN)
                return false;
            summed = true;
        } else if (gp != gn || (gn && sf_attr_shared(n)) || (gn && wp->dim[0] != n->in[1]->type.dim[0]) ||
                   wp->dim[gp ? 1 : 0] > SF_CHAIN_MAX_HIDDEN || sf_plan_chain_link(n) != n->in[0]) {
            return false;
        }
        prev = n;
    }
    return true;
}

/* per-group weight floats of a product; of one summing groups, one group's share */
static int64_t group_weights(const sf_node *n, int64_t G)
{
    const sf_type *w = &n->in[1]->type;
    return is_grouped(n) ? w->dim[1] * w->dim[2] : w->dim[0] * w->dim[1] / G;
}

/* a product and its epilogue keeps no weight on chip; longer chains each group's of all products */
static bool within_weights(const sf_node *const *chain, int len)
{
    int64_t G = is_grouped(chain[0]) ? chain[0]->in[1]->type.dim[0] : 1, sum = 0;
    int products = 0;
    for (int k = 0; k < len; k++)
        if (is_linear(chain[k]))
            sum += group_weights(chain[k], G), products++;
    return products == 1 || sum <= CHAIN_MAX_WEIGHTS;
}

/* The chain that starts at node i: fusion regions (vfuse's marks) whose
 * nodes form product -> activations -> product ... one after the other in
 * node order (inputs and parameters declared between them do not count:
 * where a graph declares them is not a decision; nor does the reshape in
 * front of a product over all groups), each intermediate used once and by
 * the next; the longest such run that sf_plan_chain_fits and keeps its
 * weights on chip. Its member count (1: no chain) and the index of its
 * last member. */
static int chain_at(const sf_graph *g, const sf_uses *u, size_t i, size_t *last)
{
    const sf_node *a = g->nodes.items[i];
    *last = i;
    if (!a->region || !is_linear(a))
        return 1;
    const sf_node *chain[MAX_CHAIN] = {a};
    size_t at[MAX_CHAIN] = {i};
    int len = 1;
    const sf_value *link = a->out[0]; /* what the next member reads */
    for (size_t j = i + 1; j < g->nodes.len && len < MAX_CHAIN - 1; j++) {
        const sf_node *n = g->nodes.items[j];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        if (n->region != a->region || n->nin < 1 || n->in[0] != link || u->count[link->id] != 1)
            break;
        link = n->out[0];
        if (n->op == SF_OP_RESHAPE)
            continue;
        if (sf_op_cls(n->op) == SF_OPCLS_VIEW || n->nout != 1)
            break;
        at[len] = j;
        chain[len++] = n;
    }
    while (len >= 2 && !(sf_plan_chain_fits(chain, len) && within_weights(chain, len)))
        len--;
    if (len < 2)
        return 1;
    *last = at[len - 1];
    return len;
}

int sf_plan_members(const sf_plan *p, const sf_plan_kernel *k, const sf_node **out)
{
    int n = 0;
    for (int i = k->first; i <= k->last && n < MAX_CHAIN; i++)
        if (computes(p->g->nodes.items[i]))
            out[n++] = p->g->nodes.items[i];
    return n;
}

static sf_linear linear_of(double at1, double at2) { return (sf_linear){2 * at1 - at2, at2 - at1}; }

static double value_bytes(const sf_value *v, int64_t batch)
{
    size_t numel;
    return sf_type_numel(&v->type, batch, &numel) ? (double)sf_dtype_size(v->type.dtype) * (double)numel : 0;
}

/* what the kernel reads and writes: the first member's operands, the
 * others' operands but the one each reads from the member before, the
 * last's results */
static double kernel_bytes(const sf_node *const *m, int count, int64_t batch)
{
    double bytes = 0;
    for (int j = 0; j < count; j++)
        for (int k = j ? 1 : 0; k < m[j]->nin; k++)
            bytes += value_bytes(m[j]->in[k], batch);
    for (int k = 0; k < m[count - 1]->nout; k++)
        bytes += value_bytes(m[count - 1]->out[k], batch);
    return bytes;
}

static sf_plan_arg arg_of(const sf_node *n, int node, int index)
{
    const sf_value *v = index < n->nin ? n->in[index] : n->out[index - n->nin];
    double o1 = 0, o2 = 0;
    if (index < n->nin)
        o1 = (double)sf_kernel_arg_offset(n, index, 1), o2 = (double)sf_kernel_arg_offset(n, index, 2);
    return (sf_plan_arg){v->id, node, index, linear_of(o1, o2)};
}

/* the kernel's arguments: the first member's operands, then each later
 * member's but the first (a chain's weights and biases, in member order),
 * then the last's results */
static sf_status fill_kernel(sf_plan *p, sf_plan_kernel *k, sf_error *err)
{
    const sf_node *m[MAX_CHAIN];
    int count = sf_plan_members(p, k, m), idx[MAX_CHAIN], nargs = 0;
    for (int j = 0, i = k->first; i <= k->last; i++)
        if (j < count && p->g->nodes.items[i] == m[j])
            idx[j++] = i;
    for (int j = 0; j < count; j++)
        nargs += m[j]->nin - (j ? 1 : 0);
    const sf_node *z = m[count - 1];
    k->args = calloc((size_t)(nargs + z->nout) + 1, sizeof *k->args);
    if (!k->args)
        return sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    for (int j = 0; j < count; j++)
        for (int i = j ? 1 : 0; i < m[j]->nin; i++)
            k->args[k->nargs++] = arg_of(m[j], idx[j], i);
    for (int i = 0; i < z->nout; i++)
        k->args[k->nargs++] = arg_of(z, k->last, z->nin + i);
    double f1 = 0, f2 = 0; /* sources between members count nothing */
    for (int i = k->first; i <= k->last; i++)
        f1 += sf_node_flops(p->g->nodes.items[i], 1), f2 += sf_node_flops(p->g->nodes.items[i], 2);
    k->flops = linear_of(f1, f2);
    k->bytes = linear_of(kernel_bytes(m, count, 1), kernel_bytes(m, count, 2));
    k->lib = sf_plan_lib_for(m, count);
    return SF_OK;
}

/* oneDNN's convolution ran 1.3-28x the generated direct one on every conv
 * shape of the corpus and the golden models, at batch 1 and 16, on 2
 * threads (docs/cpu-backend.md): every convolution goes to it. */
sf_plan_lib sf_plan_lib_for(const sf_node *const *members, int count)
{
    bool conv = count == 1 && (members[0]->op == SF_OP_CONV1D || members[0]->op == SF_OP_CONV2D);
    return conv && members[0]->out[0]->type.dtype == SF_F32 ? SF_LIB_DNNL_CONV : SF_LIB_GENERATED;
}

char *sf_plan_key(const sf_plan *p, const sf_plan_kernel *k)
{
    char *key = NULL;
    size_t len = 0;
    const sf_node *members[MAX_CHAIN];
    int count = sf_plan_members(p, k, members);
    for (int i = 0; i < count; i++) {
        char *part = sf_kernel_signature(members[i]);
        char *grown = part ? realloc(key, len + strlen(part) + 2) : NULL;
        if (!grown) {
            free(part);
            free(key);
            return NULL;
        }
        key = grown;
        sprintf(key + len, "%s%s", len ? "|" : "", part);
        len = strlen(key);
        free(part);
    }
    return key;
}

/* Kernels with one key share code: codes numbered in order of first use. */
static sf_status number_codes(sf_plan *p, sf_error *err)
{
    sf_map seen = {0};
    sf_status st = SF_OK;
    p->keys = calloc(p->nkernels + 1, sizeof *p->keys);
    p->code_kernel = calloc(p->nkernels + 1, sizeof *p->code_kernel);
    if (!p->keys || !p->code_kernel)
        st = sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    for (size_t i = 0; st == SF_OK && i < p->nkernels; i++) {
        sf_plan_kernel *k = &p->kernels[i];
        char *key = sf_plan_key(p, k);
        if (!key) {
            st = sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
            break;
        }
        void *known = sf_map_get(&seen, key);
        if (known) {
            k->code = (int)(intptr_t)known - 1;
            free(key);
            continue;
        }
        k->code = p->ncodes;
        p->keys[p->ncodes] = key;
        p->code_kernel[p->ncodes++] = (int)i;
        if (!sf_map_put(&seen, key, (void *)(intptr_t)p->ncodes))
            st = sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    }
    sf_map_free(&seen);
    return st;
}

/* the kernels in node order: chains where they fit, else one per node
 * that computes (sources and views need none) */
static sf_status find_kernels(sf_plan *p, const sf_uses *u, sf_error *err)
{
    const sf_graph *g = p->g;
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        p->kernel_of[i] = -1;
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE || sf_op_cls(n->op) == SF_OPCLS_VIEW)
            continue;
        size_t last;
        chain_at(g, u, i, &last);
        sf_plan_kernel *k = &p->kernels[p->nkernels];
        k->first = (int)i, k->last = (int)last;
        for (size_t j = i; j <= last; j++) {
            const sf_node *m = g->nodes.items[j];
            p->kernel_of[j] = computes(m) ? (int)p->nkernels : -1;
            if (j < last && sf_op_cls(m->op) != SF_OPCLS_SOURCE) /* a chain's intermediates stay on chip */
                p->unstored[m->out[0]->id] = true;
        }
        p->nkernels++;
        sf_status st = fill_kernel(p, k, err);
        if (st != SF_OK)
            return st;
        i = last;
    }
    return SF_OK;
}

sf_status sf_plan_build(const sf_graph *g, sf_plan *p, sf_error *err)
{
    memset(p, 0, sizeof *p);
    p->g = g;
    const sf_uses *u = sf_fill_uses(g);
    p->kernels = calloc(g->nodes.len + 1, sizeof *p->kernels);
    p->kernel_of = calloc(g->nodes.len + 1, sizeof *p->kernel_of);
    p->unstored = calloc(g->values.len + 1, sizeof *p->unstored);
    sf_status st = u && p->kernels && p->kernel_of && p->unstored ? SF_OK : sf_fail(err, SF_ERR_NOMEM,
                                                                                    "plan: out of memory");
    if (st == SF_OK)
        st = find_kernels(p, u, err);
    if (st == SF_OK)
        st = number_codes(p, err);
    if (st == SF_OK)
        st = sf_memplan_build_for(g, SF_PLAN_CONTIGUOUS, p->unstored, &p->mem, err);
    if (st == SF_OK && (st = sf_plan_verify(p, err)) != SF_OK) /* a planner bug: an error, not a wrong number */
        sf_error_prefix(err, "internal error");
    if (st != SF_OK)
        sf_plan_free(p);
    return st;
}

void sf_plan_free(sf_plan *p)
{
    for (size_t i = 0; p->kernels && i < p->nkernels; i++)
        free(p->kernels[i].args);
    for (int i = 0; p->keys && i < p->ncodes; i++)
        free(p->keys[i]);
    free(p->kernels), free(p->keys), free(p->code_kernel), free(p->kernel_of), free(p->unstored);
    sf_memplan_free(&p->mem);
    memset(p, 0, sizeof *p);
}
