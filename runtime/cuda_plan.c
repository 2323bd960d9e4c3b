/* The CUDA executor's plan for a batch size (cuda_plan.h). Tensors start
 * on 256-byte boundaries, as cudaMalloc's do, so that a kernel's loads
 * are aligned whatever the batch; the activations follow the CPU
 * backend's memory plan, per-row offsets scaled by the batch. */
#include "runtime/cuda_plan.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/kernel_key.h"

#define ALIGN 256

static bool take(size_t *top, size_t bytes, size_t *at)
{
    size_t start = (*top + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (start < *top || sf_add_overflow(start, bytes, top))
        return false;
    *at = start;
    return true;
}

static bool tensor_bytes(const sf_value *v, int64_t batch, size_t *bytes)
{
    size_t numel;
    return sf_type_numel(&v->type, batch, &numel) && !sf_mul_overflow(numel, sf_dtype_size(v->type.dtype), bytes);
}

sf_status sf_cuda_plan_build(const sf_graph *g, sf_cuda_plan *p, sf_error *err)
{
    memset(p, 0, sizeof *p);
    p->g = g;
    sf_status st = sf_memplan_build_for(g, SF_PLAN_CONTIGUOUS, NULL, &p->mem, err);
    if (st != SF_OK)
        return st;
    p->param_at = calloc(g->params.len + 1, sizeof *p->param_at);
    p->value_at = calloc(g->values.len + 1, sizeof *p->value_at);
    if (!p->param_at || !p->value_at) {
        sf_cuda_plan_free(p);
        return sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory planning");
    }
    for (size_t i = 0; i < g->params.len; i++) {
        size_t bytes;
        if (!tensor_bytes(g->params.items[i], 1, &bytes) || !take(&p->weights_bytes, bytes, &p->param_at[i])) {
            sf_cuda_plan_free(p);
            return sf_fail(err, SF_ERR_NOMEM, "cuda backend: the weights overflow the address space");
        }
    }
    return SF_OK;
}

/* node i's launch: its pointers appended to the table */
static sf_status plan_launch(sf_cuda_plan *p, const sf_cuda_source *src, size_t i, unsigned max_grid, sf_error *err)
{
    const sf_node *n = p->g->nodes.items[i];
    if (i >= src->nnodes || src->kernel_of[i] < 0)
        return sf_fail(err, SF_ERR_RUNTIME, "cuda backend: %s (node %zu) has no kernel in the source",
                       sf_ops[n->op].name, i);
    sf_cuda_launch *l = &p->launch[p->nlaunch++];
    l->node = (int)i;
    l->kernel = src->kernel_of[i];
    l->args = p->ntable;
    for (int k = 0; k < n->nin; k++) {
        sf_cuda_ref r = p->value_at[n->in[k]->id];
        r.offset += (size_t)sf_kernel_arg_offset(n, k, p->batch) * sf_dtype_size(n->in[k]->type.dtype);
        p->table[p->ntable++] = r;
    }
    for (int k = 0; k < n->nout; k++)
        p->table[p->ntable++] = p->value_at[n->out[k]->id];
    int64_t blocks = (sf_cuda_extent(n, p->batch) + SF_CUDA_BLOCK - 1) / SF_CUDA_BLOCK;
    l->grid = blocks < 1 ? 1 : blocks > (int64_t)max_grid ? max_grid : (unsigned)blocks;
    return SF_OK;
}

/* an activation's place in the arena, which starts at `arena` */
static sf_status place(sf_cuda_plan *p, const sf_value *v, size_t arena, sf_error *err)
{
    const sf_memplan *m = &p->mem;
    size_t at;
    if (m->home[v->id] == SF_HOME_ROWS)
        at = m->offset[v->id] * (size_t)p->batch;
    else if (m->home[v->id] == SF_HOME_FIXED)
        at = m->row_bytes * (size_t)p->batch + m->offset[v->id];
    else
        return sf_fail(err, SF_ERR_RUNTIME, "cuda backend: value %%%d has no place in the memory plan", v->id);
    p->value_at[v->id] = (sf_cuda_ref){SF_CUDA_BATCH, arena + at};
    return SF_OK;
}

static size_t count_pointers(const sf_graph *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *nd = g->nodes.items[i];
        n += (size_t)(nd->nin + nd->nout);
    }
    return n;
}

sf_status sf_cuda_plan_batch(sf_cuda_plan *p, const sf_cuda_source *src, int64_t batch, unsigned max_grid,
                             sf_error *err)
{
    const sf_graph *g = p->g;
    if (batch < 1 || max_grid < 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "cuda backend: batch size must be at least 1");
    size_t npointers = count_pointers(g);
    free(p->table), free(p->launch);
    p->table = calloc(npointers + 1, sizeof *p->table);
    p->launch = calloc(g->nodes.len + 1, sizeof *p->launch);
    if (!p->table || !p->launch)
        return sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory planning");
    p->batch = batch, p->batch_bytes = 0, p->ntable = 0, p->nlaunch = 0;
    memset(p->value_at, 0, sizeof *p->value_at * g->values.len);
    for (size_t i = 0; i < g->params.len; i++)
        p->value_at[((const sf_value *)g->params.items[i])->id] = (sf_cuda_ref){SF_CUDA_WEIGHTS, p->param_at[i]};
    size_t arena, rows, activations, bytes;
    bool fits = true;
    for (size_t i = 0; fits && i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        p->value_at[v->id].region = SF_CUDA_BATCH;
        fits = tensor_bytes(v, batch, &bytes) && take(&p->batch_bytes, bytes, &p->value_at[v->id].offset);
    }
    fits = fits && !sf_mul_overflow(p->mem.row_bytes, (size_t)batch, &rows) &&
           !sf_add_overflow(rows, p->mem.fixed_bytes, &activations) && take(&p->batch_bytes, activations, &arena) &&
           !sf_mul_overflow(npointers, sizeof(uint64_t), &bytes) && take(&p->batch_bytes, bytes, &p->table_at);
    if (!fits)
        return sf_fail(err, SF_ERR_NOMEM, "cuda backend: device memory for batch %lld overflows", (long long)batch);
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        sf_status st = SF_OK;
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        if (sf_op_cls(n->op) == SF_OPCLS_VIEW) {
            p->value_at[n->out[0]->id] = p->value_at[n->in[0]->id];
            continue;
        }
        for (int k = 0; st == SF_OK && k < n->nout; k++)
            st = place(p, n->out[k], arena, err);
        if (st == SF_OK)
            st = plan_launch(p, src, i, max_grid, err);
        if (st != SF_OK)
            return st;
    }
    return SF_OK;
}

void sf_cuda_plan_free(sf_cuda_plan *p)
{
    sf_memplan_free(&p->mem);
    free(p->param_at);
    free(p->value_at);
    free(p->table);
    free(p->launch);
    memset(p, 0, sizeof *p);
}
