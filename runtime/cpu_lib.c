/* Which kernels of a CPU model oneDNN runs, and how: the plan gives it
 * its convolutions (sf_plan_kernel.lib); here the backend decides, per
 * model, which elementwise kernels after each one it takes as post-ops
 * (the residual add and ReLU of a ResNet block) and which activations stay
 * in oneDNN's own layout between its convolutions. Both are the CPU
 * backend's alone: the plan, and so the CUDA backend, is unchanged. */
#include <stdlib.h>

#include "runtime/cpu_model.h"

/* the one-node kernel after kernel k when it is `op` reading value v (and
 * nothing else reads v), else NULL; *other: a binary op's other operand,
 * of v's type */
static const sf_node *next_reads(const sf_cpu_model *m, const sf_uses *u, size_t k, sf_opcode op, const sf_value *v,
                                 const sf_value **other)
{
    if (k + 1 >= m->plan.nkernels || m->plan.kernels[k + 1].first != m->plan.kernels[k + 1].last || u->count[v->id] != 1)
        return NULL;
    const sf_node *n = m->g->nodes.items[m->plan.kernels[k + 1].first];
    if (n->op != op || !sf_type_equal(&n->out[0]->type, &v->type))
        return NULL;
    if (op == SF_OP_RELU)
        return n->in[0] == v ? n : NULL;
    *other = n->in[0] == v ? n->in[1] : n->in[0];
    return (n->in[0] == v || n->in[1] == v) && sf_type_equal(&(*other)->type, &v->type) ? n : NULL;
}

/* what oneDNN runs of the kernels after convolution kernel k as post-ops:
 * a residual add of the conv's own shape, then a ReLU, or either alone,
 * each reading only the one before (ResNetLike's blocks); their results
 * between stay out of memory, unwritten and unread. The epilogue's result
 * is written at the convolution, earlier than planned: the only values
 * whose bytes it may take are those read by the kernels it spans, which
 * cpu_dnnl.c keeps apart (x, the addend); a weight or bias the graph
 * computes could be one too, so those convolutions take no epilogue. */
static sf_dnnl_epilogue epilogue_of(sf_cpu_model *m, const sf_uses *u, size_t k)
{
    sf_dnnl_epilogue epi = {false, false};
    const sf_node *conv = m->g->nodes.items[m->plan.kernels[k].first];
    for (int i = 1; i < conv->nin; i++)
        if (conv->in[i]->def->op != SF_OP_PARAM)
            return epi;
    const sf_value *v = conv->out[0], *other = NULL;
    const sf_node *add = next_reads(m, u, k, SF_OP_ADD, v, &other);
    if (add) /* the addend: which of the add kernel's arguments (its operands first) */
        epi.add = true, m->absorbed[k] = 1, m->addend[k] = add->in[0] == other ? 0 : 1, v = add->out[0];
    if (next_reads(m, u, k + m->absorbed[k], SF_OP_RELU, v, &other))
        epi.relu = true, m->absorbed[k]++;
    return epi;
}

/* the value oneDNN convolution kernel k writes (its epilogue's result) */
static const sf_value *conv_result(const sf_cpu_model *m, size_t k)
{
    const sf_node *last = m->g->nodes.items[m->plan.kernels[k + (size_t)m->absorbed[k]].last];
    return last->out[0];
}

/* whether every reader of v is a oneDNN conv2d taking it as its source
 * with that block, or as its addend: then v may stay blocked */
static bool only_convs_read(const sf_cpu_model *m, const sf_uses *u, const sf_value *v, int block, const int *src_block)
{
    int readers = 0;
    for (size_t k = 0; k < m->plan.nkernels; k++) {
        if (!m->dnnl[k])
            continue;
        const sf_node *conv = m->g->nodes.items[m->plan.kernels[k].first];
        const sf_node *add = sf_dnnl_conv_adds(m->dnnl[k]) ? m->g->nodes.items[m->plan.kernels[k + 1].first] : NULL;
        readers += conv->in[0] == v && src_block[k] == block;
        readers += add && add->in[m->addend[k]] == v;
    }
    return readers == u->count[v->id]; /* a graph output counts more than a reader, so it never passes */
}

/* Layouts (sf_dnnl_layout): a conv2d result stays in the blocked layout
 * oneDNN picks for it when only oneDNN conv2ds read it and pick the same
 * for their source (ResNetLike's blocks); the executor falls back to
 * plain layouts if one of them is refused later (plain_layouts). */
static void choose_layouts(sf_cpu_model *m, const sf_uses *u)
{
    size_t nk = m->plan.nkernels;
    int *src = calloc(nk + 1, sizeof *src), *dst = calloc(nk + 1, sizeof *dst);
    int *blocked = calloc(m->g->values.len + 1, sizeof *blocked), block = 0;
    for (size_t k = 0; src && dst && blocked && k < nk; k++)
        if (m->dnnl[k] && ((const sf_node *)m->g->nodes.items[m->plan.kernels[k].first])->op == SF_OP_CONV2D) {
            sf_dnnl_conv_blocks(m->dnnl[k], &src[k], &dst[k]);
            block = block ? block : dst[k];
        }
    /* one block for the model (a machine's oneDNN picks one), so a convolution never meets two */
    for (size_t k = 0; block && k < nk; k++)
        if (dst[k] == block && only_convs_read(m, u, conv_result(m, k), block, src))
            blocked[conv_result(m, k)->id] = 1;
    for (size_t k = 0; block && k < nk; k++) {
        if (!m->dnnl[k])
            continue;
        const sf_node *conv = m->g->nodes.items[m->plan.kernels[k].first];
        const sf_node *add = sf_dnnl_conv_adds(m->dnnl[k]) ? m->g->nodes.items[m->plan.kernels[k + 1].first] : NULL;
        sf_dnnl_layout lay = {block, blocked[conv->in[0]->id], blocked[conv_result(m, k)->id],
                              add && blocked[add->in[m->addend[k]]->id]};
        if (lay.src || lay.dst || lay.addend)
            sf_dnnl_conv_set_layout(m->dnnl[k], lay), m->blocked_layouts = true;
    }
    free(src), free(dst), free(blocked);
}

/* every convolution back to plain layouts: one of them was refused */
void sf_cpu_plain_layouts(sf_cpu_model *m)
{
    for (size_t k = 0; k < m->plan.nkernels; k++)
        if (m->dnnl[k])
            sf_dnnl_conv_set_layout(m->dnnl[k], (sf_dnnl_layout){0, false, false, false});
    m->blocked_layouts = false;
}

/* oneDNN for the kernels the plan gives it, where this build has it; one
 * it refuses keeps its generated code */
sf_status sf_cpu_start_libraries(sf_cpu_model *m, sf_error *err)
{
    size_t nk = m->plan.nkernels + 1;
    const sf_uses *u = sf_dnnl_available() ? sf_fill_uses(m->g) : NULL;
    m->dnnl = calloc(nk, sizeof *m->dnnl), m->absorbed = calloc(nk, sizeof *m->absorbed);
    m->addend = calloc(nk, sizeof *m->addend);
    if (!m->dnnl || !m->absorbed || !m->addend || (sf_dnnl_available() && !u))
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t k = 0; u && k < m->plan.nkernels; k++) {
        if (m->plan.kernels[k].lib != SF_LIB_DNNL_CONV)
            continue;
        m->dnnl[k] = sf_dnnl_conv_new(m->g->nodes.items[m->plan.kernels[k].first], epilogue_of(m, u, k), NULL);
        if (!m->dnnl[k])
            m->absorbed[k] = 0;
    }
    if (u)
        choose_layouts(m, u);
    return SF_OK;
}

