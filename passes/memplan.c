/* Memory planning: live intervals in node order, a linear scan that
 * reuses freed buffers (best fit), views that alias their source, and
 * elementwise ops that write in place over an operand dying there.
 * Batch-dependent values are planned in bytes per batch row, so one plan
 * serves every batch size. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/memplan.h"

/* a view aliases its operand; strided ones only where the backend reads strides */
static bool is_view(const sf_memplan *p, sf_opcode op)
{
    return sf_op_cls(op) == SF_OPCLS_VIEW || (!p->contiguous && sf_op_has(op, SF_OPF_STRIDED));
}

size_t sf_memplan_value_bytes(const sf_value *v)
{
    size_t n = 1;
    for (int i = 0; i < v->type.rank; i++)
        if (v->type.dim[i] != SF_DIM_B)
            n *= (size_t)v->type.dim[i];
    return n * sf_dtype_size(v->type.dtype);
}

typedef struct block {
    size_t offset, size;
} block;

typedef struct arena_plan {
    block *free_blocks;
    size_t nfree, capfree;
    size_t top; /* high-water mark */
} arena_plan;

static bool arena_take(arena_plan *a, size_t size, size_t *offset)
{
    size = (size + 63) & ~(size_t)63; /* cache-line aligned buffers */
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < a->nfree; i++)
        if (a->free_blocks[i].size >= size && (best == SIZE_MAX || a->free_blocks[i].size < a->free_blocks[best].size))
            best = i;
    if (best != SIZE_MAX) {
        block *b = &a->free_blocks[best];
        *offset = b->offset;
        b->offset += size;
        b->size -= size;
        if (b->size == 0)
            a->free_blocks[best] = a->free_blocks[--a->nfree];
        return true;
    }
    *offset = a->top;
    a->top += size;
    return true;
}

static bool arena_give(arena_plan *a, size_t offset, size_t size)
{
    size = (size + 63) & ~(size_t)63;
    if (a->nfree == a->capfree) {
        size_t cap = a->capfree ? a->capfree * 2 : 16;
        block *grown = realloc(a->free_blocks, sizeof *grown * cap);
        if (!grown)
            return false;
        a->free_blocks = grown;
        a->capfree = cap;
    }
    /* merge with a neighbour when one touches */
    for (size_t i = 0; i < a->nfree; i++) {
        block *b = &a->free_blocks[i];
        if (b->offset + b->size == offset) {
            b->size += size;
            return true;
        }
        if (offset + size == b->offset) {
            b->offset = offset;
            b->size += size;
            return true;
        }
    }
    a->free_blocks[a->nfree++] = (block){offset, size};
    return true;
}

/* operand v is its buffer r seen through reshapes only: same bytes, same order */
static bool same_layout(const sf_value *v, int r)
{
    while (v->id != r) {
        if (sf_op_cls(v->def->op) != SF_OPCLS_VIEW)
            return false;
        v = v->def->in[0];
    }
    return true;
}

static int root_of(const sf_memplan *p, int id)
{
    while (p->home[id] == SF_HOME_VIEW || p->home[id] == SF_HOME_SLOT)
        id = p->alias_of[id];
    return id;
}

/* A concat whose operands are each computed for it alone (one use, by a
 * real op, all distinct) lets each operand be written into its slot. */
static bool slots_possible(const sf_memplan *p, const sf_node *c, const int *uses)
{
    if (c->op != SF_OP_CONCAT || c->nin < 2 || p->contiguous)
        return false;
    for (int k = 0; k < c->nin; k++) {
        const sf_node *d = c->in[k]->def;
        if (uses[c->in[k]->id] != 1 || sf_op_cls(d->op) == SF_OPCLS_SOURCE || sf_op_cls(d->op) == SF_OPCLS_CONSTANT ||
            is_view(p, d->op) || d->nout != 1)
            return false;
    }
    return true;
}

sf_status sf_memplan_build(const sf_graph *g, sf_memplan *p, sf_error *err)
{
    return sf_memplan_build_for(g, 0, NULL, p, err);
}

sf_status sf_memplan_build_for(const sf_graph *g, unsigned flags, const bool *unstored, sf_memplan *p, sf_error *err)
{
    memset(p, 0, sizeof *p);
    p->contiguous = flags & SF_PLAN_CONTIGUOUS;
    size_t nv = g->values.len;
    p->nvalues = nv;
    p->home = calloc(nv + 1, sizeof *p->home);
    p->offset = calloc(nv + 1, sizeof *p->offset);
    p->alias_of = calloc(nv + 1, sizeof *p->alias_of);
    p->slot_start = calloc(nv + 1, sizeof *p->slot_start);
    size_t *last = calloc(nv + 1, sizeof *last);
    const sf_uses *u = sf_fill_uses(g);
    arena_plan rows = {0}, fixed = {0};
    if (!p->home || !p->offset || !p->alias_of || !p->slot_start || !last || !u) {
        free(last);
        sf_memplan_free(p);
        return sf_fail(err, SF_ERR_NOMEM, "memplan: out of memory");
    }
    const int *uses = u->count;
    /* concat operands computed for it alone live in their slot of it */
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (!slots_possible(p, n, uses))
            continue;
        int64_t at = 0, d = sf_attr_dim(n);
        for (int k = 0; k < n->nin; k++) {
            p->home[n->in[k]->id] = SF_HOME_SLOT;
            p->alias_of[n->in[k]->id] = n->out[0]->id;
            p->slot_start[n->in[k]->id] = at;
            at += n->in[k]->type.dim[d];
            p->slots++;
        }
    }
    /* a buffer lives until the last use of any view of it; outputs to the end */
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int k = 0; k < n->nout; k++) {
            if (sf_op_cls(n->op) == SF_OPCLS_SOURCE || (unstored && unstored[n->out[k]->id])) {
                p->home[n->out[k]->id] = SF_HOME_NONE; /* unstored: a view inside a chain */
            } else if (is_view(p, n->op) && p->home[n->out[k]->id] != SF_HOME_SLOT) {
                p->home[n->out[k]->id] = SF_HOME_VIEW;
                p->alias_of[n->out[k]->id] = n->in[0]->id;
            }
        }
        for (int k = 0; k < n->nin; k++)
            last[root_of(p, n->in[k]->id)] = i;
    }
    for (size_t i = 0; i < g->outputs.len; i++)
        last[root_of(p, ((const sf_value *)g->outputs.items[i])->id)] = SIZE_MAX;
    /* a fused kernel reads the operands of its unstored values when it runs:
     * they live as long as those values would have */
    for (size_t i = g->nodes.len; unstored && i-- > 0;) {
        const sf_node *n = g->nodes.items[i];
        if (!unstored[n->out[0]->id])
            continue;
        for (int k = 0; k < n->nin; k++) {
            int r = root_of(p, n->in[k]->id);
            if (last[n->out[0]->id] > last[r])
                last[r] = last[n->out[0]->id];
        }
    }
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE || is_view(p, n->op) || (unstored && unstored[n->out[0]->id]))
            continue;
        /* elementwise: an operand buffer that dies here can take the result */
        bool done = false;
        if (sf_op_has(n->op, SF_OPF_INPLACE)) {
            for (int k = 0; k < n->nin && !done; k++) {
                int r = root_of(p, n->in[k]->id);
                if (last[r] == i && (p->home[r] == SF_HOME_ROWS || p->home[r] == SF_HOME_FIXED) &&
                    same_layout(n->in[k], r) && sf_type_equal(&n->in[k]->type, &n->out[0]->type) &&
                    sf_memplan_value_bytes(g->values.items[r]) == sf_memplan_value_bytes(n->out[0])) {
                    p->home[n->out[0]->id] = p->home[r];
                    p->offset[n->out[0]->id] = p->offset[r];
                    last[r] = 0; /* handed over, not freed */
                    p->inplace++;
                    done = true;
                }
            }
        }
        if (p->home[n->out[0]->id] == SF_HOME_SLOT) {
            int c = p->alias_of[n->out[0]->id];
            if (p->home[c] == SF_HOME_NONE) { /* the first slot: the concat's buffer now */
                const sf_value *cv = g->values.items[c];
                bool batch = sf_type_has_batch(&cv->type);
                p->home[c] = batch ? SF_HOME_ROWS : SF_HOME_FIXED;
                arena_take(batch ? &rows : &fixed, sf_memplan_value_bytes(cv), &p->offset[c]);
                if (batch)
                    p->naive_row_bytes += (sf_memplan_value_bytes(cv) + 63) & ~(size_t)63;
            }
            done = true;
        } else if (n->op == SF_OP_CONCAT && p->home[n->out[0]->id] != SF_HOME_NONE) {
            done = true; /* its operands already wrote it */
        }
        for (int k = 0; k < n->nout && !done; k++) {
            const sf_value *v = n->out[k];
            bool batch = sf_type_has_batch(&v->type);
            p->home[v->id] = batch ? SF_HOME_ROWS : SF_HOME_FIXED;
            arena_take(batch ? &rows : &fixed, sf_memplan_value_bytes(v), &p->offset[v->id]);
            if (batch)
                p->naive_row_bytes += (sf_memplan_value_bytes(v) + 63) & ~(size_t)63;
        }
        /* operands whose last use this was give their buffers back */
        for (int k = 0; k < n->nin; k++) {
            int r = root_of(p, n->in[k]->id);
            if (last[r] == i && (p->home[r] == SF_HOME_ROWS || p->home[r] == SF_HOME_FIXED)) {
                const sf_value *rv = g->values.items[r];
                arena_give(p->home[r] == SF_HOME_ROWS ? &rows : &fixed, p->offset[r], sf_memplan_value_bytes(rv));
                last[r] = 0;
            }
        }
    }
    p->row_bytes = rows.top;
    p->fixed_bytes = fixed.top;
    free(rows.free_blocks);
    free(fixed.free_blocks);
    free(last);
    return SF_OK;
}

void sf_memplan_free(sf_memplan *p)
{
    free(p->home);
    free(p->offset);
    free(p->alias_of);
    free(p->slot_start);
    memset(p, 0, sizeof *p);
}

sf_status sf_print_stats(const sf_graph *g, FILE *out, sf_error *err)
{
    size_t count[SF_OP_COUNT] = {0}, param_elems = 0;
    for (size_t i = 0; i < g->nodes.len; i++)
        count[((const sf_node *)g->nodes.items[i])->op]++;
    for (size_t i = 0; i < g->params.len; i++) {
        size_t n;
        if (sf_type_numel(&((const sf_value *)g->params.items[i])->type, 1, &n))
            param_elems += n;
    }
    sf_memplan plan;
    sf_status st = sf_memplan_build(g, &plan, err);
    if (st != SF_OK)
        return st;
    fputs("# stats: ops", out);
    for (int op = 0; op < SF_OP_COUNT; op++)
        if (count[op] && sf_op_cls(op) != SF_OPCLS_SOURCE)
            fprintf(out, " %s=%zu", sf_ops[op].name, count[op]);
    fprintf(out, "\n# stats: parameters %zu tensors, %zu elements (%zu bytes)\n", count[SF_OP_PARAM], param_elems,
            param_elems * sizeof(float));
    fprintf(out, "# stats: planned peak activations %zu bytes per batch row + %zu bytes fixed "
                 "(%zu per row without reuse; %d written in place, %d into concat slots)\n",
            plan.row_bytes, plan.fixed_bytes, plan.naive_row_bytes, plan.inplace, plan.slots);
    for (const char *line = g->notes; line && *line;) { /* the passes' choices */
        const char *end = strchr(line, '\n');
        fprintf(out, "# stats: %.*s\n", (int)(end ? end - line : (ptrdiff_t)strlen(line)), line);
        line = end ? end + 1 : line + strlen(line);
    }
    sf_memplan_free(&plan);
    return SF_OK;
}
