/* The CPU executor: one arena per run size laid out by the memory plan
 * (per-row offsets scale with the batch, views of the reshape family share
 * their operand's bytes, elementwise results may take a dying operand's
 * place), kernels called in node order, each large one split over the
 * thread pool along its partitioned loop. No allocation per op. */
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu_emit.h"
#include "runtime/cpu_model.h"
#include "codegen/kernel_key.h"

#ifdef SF_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* A kernel below both figures runs on the calling thread: handing out
 * pieces costs about a microsecond. Bytes count too: seed 003's composed
 * product is 42 kflop but reads 164 KB, which two cores' caches move in
 * half the time (batch 1: 3.1 -> 2.0 us). */
#define SPLIT_MIN_FLOPS 2e5
#define SPLIT_MIN_BYTES (64 * 1024)
/* a sleeping worker is woken only for this much work: waking costs the caller a futex call and the
 * worker tens of microseconds, what 1e6 flops take one core here (a busy machine's workers sleep) */
#define WAKE_MIN_FLOPS 1e6

void sf_cpu_set_poison(sf_cpu_model *m, bool on) { m->poison = on; }

void sf_cpu_weights_changed(sf_cpu_model *m) { m->repack = true; }

/* every activation byte NaN (all bits set: a quiet NaN), and the bytes
 * past what this batch planned, through ARENA_GUARD more at the end, a
 * pattern that guarded() checks after the run. Outputs need none: the run
 * copies every element of each into the caller's buffer, which may be an
 * input's too. */
enum { ARENA_GUARD = 256, GUARD_BYTE = 0xa5 };

static void poison(sf_cpu_model *m, int64_t batch)
{
    size_t bytes;
    if (!sf_cpu_planned_bytes(m, batch, &bytes))
        return;
    memset(m->arena, 0xff, bytes);
    memset(m->arena + bytes, GUARD_BYTE, m->arena_cap + ARENA_GUARD - bytes);
}

static sf_status guarded(const sf_cpu_model *m, int64_t batch, sf_error *err)
{
    size_t bytes;
    if (!sf_cpu_planned_bytes(m, batch, &bytes))
        return SF_OK;
    for (size_t k = bytes; k < m->arena_cap + ARENA_GUARD; k++)
        if (m->arena[k] != GUARD_BYTE)
            return sf_fail(err, SF_ERR_RUNTIME,
                           "cpu backend: a kernel wrote past the activations planned at batch %lld (guard byte %zu of "
                           "%zu changed): a backend bug, please report it", (long long)batch, k - bytes,
                           m->arena_cap + ARENA_GUARD - bytes);
    return SF_OK;
}

void sf_cpu_set_threads(sf_cpu_model *m, int threads)
{
    if (threads < 1)
        threads = sf_pool_cpus();
    if (m->pool && sf_pool_threads(m->pool) != threads) {
        sf_pool_free(m->pool);
        m->pool = NULL;
    }
    m->threads = threads;
}

int sf_cpu_threads(const sf_cpu_model *m) { return m->threads; }

bool sf_cpu_planned_bytes(const sf_cpu_model *m, int64_t batch, size_t *bytes)
{
    size_t rows;
    return !sf_mul_overflow(m->plan.mem.row_bytes, (size_t)batch, &rows) && !sf_add_overflow(rows, m->plan.mem.fixed_bytes, bytes);
}

size_t sf_cpu_arena_bytes(const sf_cpu_model *m) { return m->arena_cap; }

static sf_status ensure_arena(sf_cpu_model *m, int64_t batch, sf_error *err)
{
    size_t need;
    if (!sf_cpu_planned_bytes(m, batch, &need) || need > SIZE_MAX - 64)
        return sf_fail(err, SF_ERR_NOMEM, "cpu backend: activations at batch %lld overflow", (long long)batch);
    if (need <= m->arena_cap && m->arena)
        return SF_OK;
    need = (need + 63) & ~(size_t)63;
    unsigned char *a = aligned_alloc(64, need + ARENA_GUARD); /* the guard: see poison */
    if (!a)
        return sf_fail(err, SF_ERR_NOMEM, "cpu backend: cannot allocate %zu bytes of activations at batch %lld", need,
                       (long long)batch);
    free(m->arena);
    m->arena = a;
    m->arena_cap = need;
    return SF_OK;
}

/* node i's product weight as its kernel reads it: packed once for the
 * model's weights; again when they may have changed or are computed */
static float *packed_weight(sf_cpu_model *m, size_t i, float *src, sf_error *err)
{
    const sf_node *n = m->g->nodes.items[i];
    const sf_value *w = n->in[1];
    bool fresh = m->packed[i] && m->packed_src[i] == src && !m->repack && w->def->op == SF_OP_PARAM;
    if (fresh)
        return m->packed[i];
    size_t numel;
    if (!m->packed[i]) {
        sf_type_numel(&w->type, 1, &numel);
        if (!(m->packed[i] = malloc(numel * sizeof(float) + 1))) {
            sf_fail(err, SF_ERR_NOMEM, "cpu backend: out of memory packing a weight");
            return NULL;
        }
    }
    em_pack_weight(n, em_summed_slice(&m->plan, (int)i), src, m->packed[i]);
    m->packed_src[i] = src;
    return m->packed[i];
}

/* A dense product this large goes to OpenBLAS: its cache-blocked GEMM
 * runs at 186 GFLOP/s on 2 threads of the developer machine where the
 * generated kernel (which streams the weight per block of rows) runs at
 * 25; below this size the generated code wins on call overhead and keeps
 * the packed weight. */
#define BLAS_MIN_FLOPS 1.6e7
/* ... and has this many outputs: narrower, OpenBLAS 0.3.21 was the
 * slower one (why was not profiled). Measured at batch 4096, 2 threads (sheaf
 * bench, two rounds), generated code against cblas_sgemm: O = 1, I = 4096
 * 1.0-1.9 ms against 4.1-5.5; O = 10 3.2-3.9 against 7.8-9.3 (I = 4096),
 * 175 against 303-510 us (I = 256); O = 32 5.9-6.2 against 11.9-13.0 ms;
 * O = 64 about even (12.3-14.6 against 13.7-15.8 ms); O = 128 OpenBLAS
 * ahead (21.6-23.6 against 35.1-37.5 ms). Ensemble's 4096 -> 10 and NAM's
 * 2048 -> 1 are of the narrow kind. */
#define BLAS_MIN_OUTPUTS 64

bool sf_cpu_has_blas(void)
{
#ifdef SF_HAVE_OPENBLAS
    return true;
#else
    return false;
#endif
}

/* out[M, O] = x[M, I] W[O, I]^T (+ b) through cblas_sgemm; false when n is
 * not such a product or too small to be worth it */
static bool blas_product(const sf_cpu_model *m, const sf_node *n, int64_t batch, double flops, int threads)
{
#ifdef SF_HAVE_OPENBLAS
    if (n->op != SF_OP_LINEAR || flops < BLAS_MIN_FLOPS || m->no_blas)
        return false;
    const sf_type *wt = &n->in[1]->type;
    int64_t nout = wt->dim[0], nin = wt->dim[1]; /* not O, I: complex.h defines I */
    if (nout < BLAS_MIN_OUTPUTS)
        return false;
    size_t numel;
    sf_type_numel(&n->out[0]->type, batch, &numel);
    int64_t M = (int64_t)numel / nout;
    if (M > INT32_MAX || nout > INT32_MAX || nin > INT32_MAX)
        return false;
    float *x = m->bufs[n->in[0]->id], *w = m->bufs[n->in[1]->id], *out = m->bufs[n->out[0]->id];
    const float *b = n->nin > 2 ? m->bufs[n->in[2]->id] : NULL;
    for (int64_t r = 0; b && r < M; r++)
        memcpy(out + r * nout, b, (size_t)nout * sizeof(float));
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)nout, (int)nin, 1.0f, x, (int)nin, w, (int)nin,
                b ? 1.0f : 0.0f, out, (int)nout);
    return true;
#else
    (void)m, (void)n, (void)batch, (void)flops, (void)threads;
    return false;
#endif
}

/* argument i of a kernel (-1: its last, the result) as it lies this run */
static float *arg_at(const sf_cpu_model *m, const sf_plan_kernel *pk, int i, int64_t batch)
{
    const sf_plan_arg *a = &pk->args[i < 0 ? pk->nargs - 1 : i];
    return m->bufs[a->value] + (int64_t)sf_linear_at(a->offset, batch);
}

/* kernel k through oneDNN where the plan gives it a convolution and this
 * model has one, with the m->absorbed[k] kernels after it as post-ops
 * (their result is the last one's): false when it does not, or when
 * oneDNN refuses this batch (dropped: the generated code runs from then
 * on, and the kernels after it run themselves) */
static bool dnnl_conv(sf_cpu_model *m, size_t k, float **args, int64_t batch, int threads, sf_status *st,
                      sf_error *err)
{
    sf_dnnl_conv *c = m->dnnl[k];
    if (!c || m->no_dnnl)
        return false;
    const sf_node *n = m->g->nodes.items[m->plan.kernels[k].first];
    bool w_fresh = m->repack || n->in[1]->def->op != SF_OP_PARAM;
    const float *b = n->nin > 2 ? args[2] : NULL, *residual = NULL;
    float *out = args[n->nin];
    if (m->absorbed[k]) {
        out = arg_at(m, &m->plan.kernels[k + (size_t)m->absorbed[k]], -1, batch);
        if (sf_dnnl_conv_adds(c))
            residual = arg_at(m, &m->plan.kernels[k + 1], m->addend[k], batch);
    }
    *st = sf_dnnl_conv_run(c, &m->dnnl_scratch, batch, threads, args[0], args[1], w_fresh, b, residual, out, err);
    if (*st != SF_ERR_UNSUPPORTED)
        return true;
    sf_dnnl_conv_free(c);
    m->dnnl[k] = NULL;
    *st = SF_OK;
    return false;
}

typedef struct call {
    sf_kernel_fn fn;
    float **args;
    int64_t batch;
} call;

static void run_piece(void *ctx, int64_t lo, int64_t hi)
{
    const call *c = ctx;
    c->fn(c->args, c->batch, lo, hi);
}

/* every value's address for this run: inputs and parameters where the
 * caller has them, activations in the arena by the plan, views after them
 * in node order */
static void set_addresses(sf_cpu_model *m, int64_t batch, const float *const *inputs, const float *const *params)
{
    const sf_graph *g = m->g;
    const sf_memplan *p = &m->plan.mem;
    for (size_t i = 0; i < g->inputs.len; i++)
        m->bufs[((const sf_value *)g->inputs.items[i])->id] = (float *)inputs[i];
    for (size_t i = 0; i < g->params.len; i++)
        m->bufs[((const sf_value *)g->params.items[i])->id] = (float *)params[i];
    size_t rows = p->row_bytes * (size_t)batch;
    for (size_t i = 0; i < m->nplaced; i++) {
        int v = m->placed[i];
        m->bufs[v] = (float *)(m->arena + (p->home[v] == SF_HOME_ROWS ? p->offset[v] * (size_t)batch
                                                                      : rows + p->offset[v]));
    }
    for (size_t i = 0; i < m->nviews; i++)
        m->bufs[m->views[i].out] = m->bufs[m->views[i].in];
}

/* kernel k's pointers: each argument's value, at its offset, packed where
 * the kernel reads a packed weight */
static float **kernel_args(sf_cpu_model *m, size_t k, int64_t batch, sf_error *err)
{
    const sf_plan_kernel *pk = &m->plan.kernels[k];
    float **args = m->args + m->args_at[k];
    const int *packs = m->packs + m->args_at[k];
    for (int a = 0; a < pk->nargs; a++) {
        const sf_plan_arg *arg = &pk->args[a];
        args[a] = m->bufs[arg->value] + (int64_t)sf_linear_at(arg->offset, batch);
        if (packs[a] >= 0 && !(args[a] = packed_weight(m, (size_t)packs[a], args[a], err)))
            return NULL;
    }
    return args;
}

sf_status sf_cpu_exec(sf_cpu_model *m, int64_t batch, const float *const *inputs, const float *const *params,
                      float *const *outputs, sf_error *err)
{
    const sf_graph *g = m->g;
    if (batch < 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "cpu backend: batch size must be at least 1");
    sf_status st = ensure_arena(m, batch, err);
    if (st != SF_OK)
        return st;
    if (!m->pool && !(m->pool = sf_pool_new(m->threads)))
        return sf_fail(err, SF_ERR_RUNTIME, "cpu backend: cannot start %d threads", m->threads);
    int threads = sf_pool_threads(m->pool);
    if (m->poison)
        poison(m, batch);
    set_addresses(m, batch, inputs, params);
    for (size_t k = 0; k < m->plan.nkernels; k++) {
        const sf_plan_kernel *pk = &m->plan.kernels[k];
        float **args = kernel_args(m, k, batch, err);
        if (!args)
            return SF_ERR_NOMEM;
        const sf_node *a = g->nodes.items[pk->first];
        double flops = sf_linear_at(pk->flops, batch);
        if (pk->first == pk->last && blas_product(m, a, batch, flops, threads))
            continue;
        bool had = pk->lib == SF_LIB_DNNL_CONV && m->dnnl[k] && !m->no_dnnl;
        if (had && dnnl_conv(m, k, args, batch, flops >= SPLIT_MIN_FLOPS ? threads : 1, &st, err)) {
            if (st != SF_OK)
                return st;
            k += (size_t)m->absorbed[k];
            continue;
        }
        if (had && m->blocked_layouts) { /* refused: what came before may be blocked; again, all plain */
            sf_cpu_plain_layouts(m);
            if (m->poison)
                poison(m, batch);
            k = (size_t)-1;
            continue;
        }
        call c = {m->code[pk->code], args, batch};
        const sf_node *members[64];
        int count = pk->first != pk->last ? sf_plan_members(&m->plan, pk, members) : 1;
        int64_t extent = count > 1 ? em_chain_extent(members, count, batch) : em_extent(a, batch);
        if (threads > 1 && extent > 1 &&
            (flops >= SPLIT_MIN_FLOPS || sf_linear_at(pk->bytes, batch) >= SPLIT_MIN_BYTES))
            sf_pool_for(m->pool, run_piece, &c, extent, threads, flops >= WAKE_MIN_FLOPS);
        else
            c.fn(args, batch, 0, extent);
    }
    m->repack = false;
    if (m->poison && guarded(m, batch, err) != SF_OK)
        return err ? err->code : SF_ERR_RUNTIME;
    for (size_t i = 0; i < g->outputs.len; i++) {
        const sf_value *v = g->outputs.items[i];
        size_t numel;
        sf_type_numel(&v->type, batch, &numel); /* fits: the arena holds it */
        memmove(outputs[i], m->bufs[v->id], numel * sizeof(float));
    }
    return SF_OK;
}

sf_status sf_cpu_run(sf_cpu_model *m, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                     sf_tensor_set *out, sf_error *err)
{
    const sf_graph *g = m->g;
    if (batch < 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "cpu backend: batch size must be at least 1");
    size_t nin = g->inputs.len, np = g->params.len, nout = g->outputs.len;
    const float **ptrs = calloc(nin + np + 1, sizeof *ptrs);
    float **outs = calloc(nout + 1, sizeof *outs);
    sf_status st = ptrs && outs ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == SF_OK && i < nin + np; i++) {
        const sf_value *v = i < nin ? g->inputs.items[i] : g->params.items[i - nin];
        const sf_node *n = v->def;
        const sf_tensor *t = sf_tensors_get(i < nin ? inputs : weights, n->name);
        size_t want, have = t ? sf_tensor_numel(t) : 0;
        if (!t || !sf_type_numel(&v->type, batch, &want) || want != have || t->rank != v->type.rank)
            st = sf_fail(err, i >= nin ? SF_ERR_WEIGHTS : SF_ERR_INVALID_ARG,
                         "cpu backend: %s '%s' is missing or mis-shaped", sf_ops[n->op].name, n->name);
        else
            ptrs[i] = t->data;
    }
    for (size_t i = 0; st == SF_OK && i < nout; i++) {
        char name[32];
        sf_output_name(g, i, name, sizeof name);
        sf_tensor *t = sf_tensors_add_value(out, name, g->outputs.items[i], batch, NULL, err);
        if (!t)
            st = err ? err->code : SF_ERR_NOMEM;
        else
            outs[i] = t->data;
    }
    m->repack = true; /* the caller's sets may hold other values than last time */
    if (st == SF_OK)
        st = sf_cpu_exec(m, batch, ptrs, ptrs + nin, outs, err);
    free(ptrs);
    free(outs);
    return st;
}

void sf_cpu_set_blas(sf_cpu_model *m, bool use) { m->no_blas = !use; }

void sf_cpu_set_dnnl(sf_cpu_model *m, bool use) { m->no_dnnl = !use; }

bool sf_cpu_uses_dnnl(const sf_cpu_model *m, size_t kernel)
{
    return kernel < m->plan.nkernels && m->dnnl[kernel] && !m->no_dnnl;
}
