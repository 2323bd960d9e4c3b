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

sf_status sf_cuda_plan_build(const sf_cuda_source *src, sf_cuda_plan *p, sf_error *err)
{
    memset(p, 0, sizeof *p);
    const sf_graph *g = p->g = src->plan.g;
    p->kp = &src->plan;
    p->mem = &src->plan.mem;
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

/* plan kernel k's launch: its pointers appended to the table */
static void plan_launch(sf_cuda_plan *p, size_t k, unsigned max_grid)
{
    const sf_plan_kernel *pk = &p->kp->kernels[k];
    const sf_graph *g = p->g;
    sf_cuda_launch *l = &p->launch[p->nlaunch++];
    l->node = pk->first;
    l->kernel = pk->code;
    l->args = p->ntable;
    for (int a = 0; a < pk->nargs; a++) {
        const sf_plan_arg *arg = &pk->args[a];
        sf_cuda_ref r = p->value_at[arg->value];
        const sf_value *v = g->values.items[arg->value];
        r.offset += (size_t)(int64_t)sf_linear_at(arg->offset, p->batch) * sf_dtype_size(v->type.dtype);
        p->table[p->ntable++] = r;
    }
    int64_t blocks = (sf_cuda_kernel_extent(p->kp, pk, p->batch) + SF_CUDA_BLOCK - 1) / SF_CUDA_BLOCK;
    l->grid = blocks < 1 ? 1 : blocks > (int64_t)max_grid ? max_grid : (unsigned)blocks;
}

/* an activation's place in the arena, which starts at `arena` */
static sf_status place(sf_cuda_plan *p, const sf_value *v, size_t arena, sf_error *err)
{
    const sf_memplan *m = p->mem;
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

static size_t count_pointers(const sf_plan *kp)
{
    size_t n = 0;
    for (size_t k = 0; k < kp->nkernels; k++)
        n += (size_t)kp->kernels[k].nargs;
    return n;
}

sf_status sf_cuda_plan_batch(sf_cuda_plan *p, const sf_cuda_source *src, int64_t batch, unsigned max_grid,
                             sf_error *err)
{
    const sf_graph *g = p->g;
    if (batch < 1 || max_grid < 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "cuda backend: batch size must be at least 1");
    if (&src->plan != p->kp)
        return sf_fail(err, SF_ERR_RUNTIME, "cuda backend: the source was not made for this plan's graph");
    size_t npointers = count_pointers(p->kp);
    free(p->table), free(p->launch);
    p->table = calloc(npointers + 1, sizeof *p->table);
    p->launch = calloc(p->kp->nkernels + 1, sizeof *p->launch);
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
    fits = fits && !sf_mul_overflow(p->mem->row_bytes, (size_t)batch, &rows) &&
           !sf_add_overflow(rows, p->mem->fixed_bytes, &activations) && take(&p->batch_bytes, activations, &arena) &&
           !sf_mul_overflow(npointers, sizeof(uint64_t), &bytes) && take(&p->batch_bytes, bytes, &p->table_at);
    if (!fits)
        return sf_fail(err, SF_ERR_NOMEM, "cuda backend: device memory for batch %lld overflows", (long long)batch);
    /* every stored value placed (a chain's intermediates are not), views
     * after their operands in node order, then the launches */
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_VIEW)
            p->value_at[n->out[0]->id] = p->value_at[n->in[0]->id];
        if (p->kp->kernel_of[i] < 0) /* sources and views */
            continue;
        for (int k = 0; k < n->nout; k++)
            if (!p->kp->unstored[n->out[k]->id] && place(p, n->out[k], arena, err) != SF_OK)
                return err ? err->code : SF_ERR_RUNTIME;
    }
    for (size_t k = 0; k < p->kp->nkernels; k++)
        plan_launch(p, k, max_grid);
    return SF_OK;
}

void sf_cuda_plan_free(sf_cuda_plan *p)
{
    free(p->param_at);
    free(p->value_at);
    free(p->table);
    free(p->launch);
    memset(p, 0, sizeof *p);
}
