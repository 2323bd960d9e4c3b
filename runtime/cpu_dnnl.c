/* oneDNN convolutions (cpu_dnnl.h). oneDNN's convolutions run 1.3-28x the
 * generated direct kernel on the corpus's shapes (docs/cpu-backend.md), in
 * the layouts it picks itself ("any"): plain NCHW in and out of the arena
 * cost a reorder each way per call, still 2x faster than asking it for
 * plain layouts (its im2col GEMM); activations that stay in its layout
 * (sf_dnnl_layout) need none. Debian's build threads with OpenMP, so the
 * thread count is the calling thread's omp_set_num_threads, restored after
 * each call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu_dnnl.h"

#ifdef SF_HAVE_DNNL
#include <pthread.h>

#include <oneapi/dnnl/dnnl.h>

/* libgomp's, which libdnnl links; declared here so no OpenMP flags are needed */
extern void omp_set_num_threads(int n);
extern int omp_get_max_threads(void);

static dnnl_engine_t engine;
static _Atomic int failures;   /* sf_dnnl_fail_next: primitives to make before the one that fails, plus 1 */
static dnnl_status_t failure;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) { engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0); }

bool sf_dnnl_available(void) { return true; }

const char *sf_dnnl_version(void)
{
    static char text[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(text, sizeof text, "%d.%d.%d", v->major, v->minor, v->patch);
    return text;
}

/* a plain tensor's memory and, where oneDNN wants another layout, a second
 * one in it and the reorder between them */
typedef struct side {
    dnnl_memory_t plain, inner;
    dnnl_primitive_t reorder; /* NULL: the plain layout is the inner one */
    size_t inner_bytes;       /* rounded up to 64 */
    void *buf;                /* inner's bytes where it owns them (the weight); else the scratch's */
} side;

struct sf_dnnl_conv {
    const sf_node *n;
    int nd;                           /* spatial dims: 1 or 2 */
    dnnl_dims_t sd, wd, dd, stride, dil, pad; /* batch 1 in sd[0], dd[0] */
    int wrank;
    dnnl_stream_t stream;
    int64_t batch;                    /* the primitives' batch; 0: none yet */
    int threads;                      /* the OpenMP threads they were made for */
    dnnl_primitive_t conv;
    side src, dst, wgt;
    dnnl_memory_t bias;
    sf_dnnl_epilogue epi;
    sf_dnnl_layout lay;               /* which tensors lie blocked in the arena */
    dnnl_memory_t resid;              /* the epilogue's addend, plain */
    dnnl_primitive_t load;            /* resid into the inner result, where the result is reordered */
    size_t x_bytes, out_bytes;        /* at the primitives' batch */
    const float *w_src;               /* what wgt holds, reordered */
    char impl[64];
};

/* names the convolution by its signature: the model's graph is a copy, so
 * its node locations are not the user's */
static sf_status fail(sf_error *err, sf_status code, const sf_dnnl_conv *c, const char *what, dnnl_status_t s)
{
    char *sig = sf_node_signature(c->n);
    sf_fail(err, code, "cpu backend: oneDNN %s %s: status %d", what, sig ? sig : sf_ops[c->n->op].name, (int)s);
    free(sig);
    return code;
}

static void side_free(side *s)
{
    if (s->reorder)
        dnnl_primitive_destroy(s->reorder);
    if (s->plain)
        dnnl_memory_destroy(s->plain);
    if (s->inner)
        dnnl_memory_destroy(s->inner);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

static void drop_primitives(sf_dnnl_conv *c)
{
    if (c->conv)
        dnnl_primitive_destroy(c->conv);
    if (c->bias)
        dnnl_memory_destroy(c->bias);
    if (c->resid)
        dnnl_memory_destroy(c->resid);
    if (c->load)
        dnnl_primitive_destroy(c->load);
    c->conv = NULL, c->bias = NULL, c->resid = NULL, c->load = NULL;
    side_free(&c->src), side_free(&c->dst), side_free(&c->wgt);
    c->batch = 0, c->w_src = NULL;
}

sf_dnnl_conv *sf_dnnl_conv_new(const sf_node *n, sf_dnnl_epilogue epi, sf_error *err)
{
    pthread_once(&engine_once, engine_init);
    if (engine_status != dnnl_success) {
        sf_fail(err, SF_ERR_RUNTIME, "cpu backend: oneDNN has no CPU engine (status %d)", (int)engine_status);
        return NULL;
    }
    sf_dnnl_conv *c = calloc(1, sizeof *c);
    if (!c) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    const sf_type *xt = &n->in[0]->type, *wt = &n->in[1]->type, *ot = &n->out[0]->type;
    const sf_attr *as = sf_attr_stride(n), *ap = sf_attr_padding(n), *ad = sf_attr_dilation(n);
    int64_t groups = sf_attr_groups(n);
    c->n = n, c->nd = n->op == SF_OP_CONV2D ? 2 : 1, c->epi = epi;
    c->sd[0] = 1, c->sd[1] = xt->dim[1], c->dd[0] = 1, c->dd[1] = ot->dim[1];
    int w0 = groups > 1; /* goihw: the groups first, then the weight's own dims with O split */
    c->wd[0] = groups, c->wd[w0] = wt->dim[0] / groups;
    for (int i = 1; i < wt->rank; i++)
        c->wd[w0 + i] = wt->dim[i];
    c->wrank = wt->rank + w0;
    for (int i = 0; i < c->nd; i++) {
        c->sd[2 + i] = xt->dim[2 + i], c->dd[2 + i] = ot->dim[2 + i];
        c->stride[i] = as->ints[i], c->pad[i] = ap->ints[i], c->dil[i] = ad->ints[i] - 1; /* oneDNN counts gaps */
    }
    dnnl_status_t s = dnnl_stream_create(&c->stream, engine, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        fail(err, SF_ERR_RUNTIME, c, "cannot make a stream", s);
        free(c);
        return NULL;
    }
    return c;
}

static dnnl_format_tag_t plain_tag(int rank, bool weights, bool grouped)
{
    if (weights)
        return rank == 5 ? dnnl_goihw : rank == 4 ? (grouped ? dnnl_goiw : dnnl_oihw) : dnnl_oiw;
    return rank == 4 ? dnnl_nchw : dnnl_ncw;
}

static dnnl_status_t make_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, NULL);
    s = s ? s : dnnl_primitive_create(r, rpd);
    dnnl_primitive_desc_destroy(rpd);
    return s;
}

/* the epilogue as post-ops: a sum (the addend is in the result's memory
 * when the convolution runs), then ReLU */
static dnnl_status_t epilogue_attr(sf_dnnl_epilogue epi, dnnl_primitive_attr_t *attr)
{
    if (!epi.add && !epi.relu)
        return dnnl_success;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(attr);
    s = s ? s : dnnl_post_ops_create(&po);
    s = s || !epi.add ? s : dnnl_post_ops_append_sum(po, 1.0f);
    s = s || !epi.relu ? s : dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    s = s ? s : dnnl_primitive_attr_set_post_ops(*attr, po);
    dnnl_post_ops_destroy(po);
    return s;
}

/* the plain memory of a tensor, and the inner one with its reorder when
 * oneDNN's layout `want` differs; to_inner: reorders plain -> inner. Each
 * step runs while the ones before succeeded. */
static dnnl_status_t side_make(side *sd, const dnnl_memory_desc_t *plain_md, const dnnl_memory_desc_t *want,
                               bool to_inner, bool own)
{
    dnnl_status_t s = dnnl_memory_create(&sd->plain, plain_md, engine, DNNL_MEMORY_NONE);
    if (s != dnnl_success || dnnl_memory_desc_equal(plain_md, want))
        return s;
    sd->inner_bytes = (dnnl_memory_desc_get_size(want) + 63) & ~(size_t)63;
    sd->buf = own ? aligned_alloc(64, sd->inner_bytes) : NULL;
    s = own && !sd->buf ? dnnl_out_of_memory : dnnl_memory_create(&sd->inner, want, engine, own ? sd->buf : DNNL_MEMORY_NONE);
    return s ? s : make_reorder(&sd->reorder, to_inner ? plain_md : want, to_inner ? want : plain_md);
}

static dnnl_memory_t side_inner(const side *sd) { return sd->reorder ? sd->inner : sd->plain; }

/* sf_dnnl_fail_next's: the status the next primitive descriptor gets instead of its own */
static dnnl_status_t injected(void)
{
    if (failures <= 0)
        return dnnl_success;
    return --failures == 0 ? failure : dnnl_success;
}

/* Whether the convolution is asked for a plain NCHW source rather than
 * oneDNN's choice. With neither channel count a multiple of 16, oneDNN 2.6
 * on AVX-512 chooses brgconv with NHWC, which fills half its vectors at 8
 * channels; given NCHW it takes its first-layer jit kernel (the result in
 * 16-channel blocks, reordered back): whole golden models ran 1.2-2.3x
 * faster this way at every batch (docs/cpu-backend.md). Measured on
 * ungrouped conv2d only, so only there. */
static bool plain_source(const sf_dnnl_conv *c)
{
    return c->nd == 2 && c->wrank == 4 && c->sd[1] % 16 != 0 && c->dd[1] % 16 != 0;
}

static dnnl_status_t make_primitives(sf_dnnl_conv *c, int64_t batch, const char **what)
{
    int rank = c->nd + 2;
    dnnl_dims_t sd, dd, bd = {c->dd[1]};
    memcpy(sd, c->sd, sizeof sd), memcpy(dd, c->dd, sizeof dd);
    sd[0] = dd[0] = batch;
    bool grouped = c->wrank > rank, has_bias = c->n->nin > 2;
    /* the tensors as the arena holds them (s_plain, d_plain, r_md: NCHW, or
     * blocked where the layout says), and what the convolution is asked for:
     * its choice ("any"), but the blocked layout for a blocked side, and for
     * the result when the addend is blocked (so the addend is copied in) */
    const sf_dnnl_layout *l = &c->lay;
    dnnl_format_tag_t plain = plain_tag(rank, false, false);
    dnnl_format_tag_t blocked = l->block == 16 ? dnnl_nChw16c : l->block == 8 ? dnnl_nChw8c : dnnl_nhwc;
    dnnl_memory_desc_t s_plain, d_plain, r_md, w_plain, b_md, s_any, d_any, w_any;
    *what = "cannot describe the tensors";
    dnnl_status_t s = dnnl_memory_desc_init_by_tag(&s_plain, rank, sd, dnnl_f32, l->src ? blocked : plain);
    s = s ? s : dnnl_memory_desc_init_by_tag(&d_plain, rank, dd, dnnl_f32, l->dst ? blocked : plain);
    s = s ? s : dnnl_memory_desc_init_by_tag(&r_md, rank, dd, dnnl_f32, l->addend ? blocked : plain);
    s = s ? s : dnnl_memory_desc_init_by_tag(&w_plain, c->wrank, c->wd, dnnl_f32, plain_tag(c->wrank, true, grouped));
    s = s ? s : dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x);
    dnnl_format_tag_t s_ask = l->src ? blocked : plain_source(c) ? plain : dnnl_format_tag_any;
    s = s ? s : dnnl_memory_desc_init_by_tag(&s_any, rank, sd, dnnl_f32, s_ask);
    s = s ? s : dnnl_memory_desc_init_by_tag(&d_any, rank, dd, dnnl_f32,
                                             l->dst || l->addend ? blocked : dnnl_format_tag_any);
    s = s ? s : dnnl_memory_desc_init_by_tag(&w_any, c->wrank, c->wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    if (s == dnnl_success) {
        *what = "refuses the convolution";
        s = dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &s_any,
                                                       &w_any, has_bias ? &b_md : NULL, &d_any, c->stride, c->dil,
                                                       c->pad, c->pad);
    }
    dnnl_primitive_attr_t attr = NULL;
    s = s ? s : epilogue_attr(c->epi, &attr);
    s = s ? s : injected();
    s = s ? s : dnnl_primitive_desc_create(&pd, &cd, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    const char *impl = "";
    if (s == dnnl_success) {
        *what = "cannot set up the convolution";
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    }
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    s = s ? s : dnnl_primitive_create(&c->conv, pd);
    s = s ? s : side_make(&c->src, &s_plain, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), true, false);
    s = s ? s : side_make(&c->dst, &d_plain, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), false, false);
    s = s ? s : side_make(&c->wgt, &w_plain, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), true, true);
    if (s == dnnl_success && has_bias)
        s = dnnl_memory_create(&c->bias, &b_md, engine, DNNL_MEMORY_NONE);
    const dnnl_memory_desc_t *d_inner = s == dnnl_success ? dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0) : NULL;
    if (s == dnnl_success && c->epi.add)
        s = dnnl_memory_create(&c->resid, &r_md, engine, DNNL_MEMORY_NONE);
    if (s == dnnl_success && c->epi.add && !dnnl_memory_desc_equal(&r_md, d_inner))
        s = make_reorder(&c->load, &r_md, d_inner);
    dnnl_primitive_desc_destroy(pd);
    c->x_bytes = dnnl_memory_desc_get_size(&s_plain), c->out_bytes = dnnl_memory_desc_get_size(&d_plain);
    c->batch = s == dnnl_success ? batch : 0;
    return s;
}

static dnnl_status_t reorder(const sf_dnnl_conv *c, const side *sd, bool to_inner)
{
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, to_inner ? sd->plain : sd->inner},
                            {DNNL_ARG_TO, to_inner ? sd->inner : sd->plain}};
    return dnnl_primitive_execute(sd->reorder, c->stream, 2, a);
}

/* whether out's bytes meet x's while the convolution reads x (an
 * epilogue's result may take x's place; a reordered source or result
 * keeps them apart): then x is copied first */
static bool copy_x(const sf_dnnl_conv *c, const float *x, const float *out)
{
    const char *xa = (const char *)x, *oa = (const char *)out;
    return !c->src.reorder && !c->dst.reorder && xa < oa + c->out_bytes && oa < xa + c->x_bytes;
}

/* the reordered source and result in the shared scratch, grown to fit,
 * and x's copy after them where it needs one; *xs: what the convolution reads */
static dnnl_status_t place_inner(sf_dnnl_conv *c, sf_dnnl_scratch *scratch, const float *x, const float *out,
                                 const float **xs)
{
    bool copy = copy_x(c, x, out);
    size_t need = c->src.inner_bytes + c->dst.inner_bytes + (copy ? c->x_bytes : 0);
    if (need > scratch->cap) {
        void *p = aligned_alloc(64, (need + 63) & ~(size_t)63);
        if (!p)
            return dnnl_out_of_memory;
        free(scratch->p);
        scratch->p = p, scratch->cap = need;
    }
    char *at = scratch->p;
    *xs = copy ? memcpy(at + c->src.inner_bytes + c->dst.inner_bytes, x, c->x_bytes) : x;
    dnnl_status_t s = c->src.reorder ? dnnl_memory_set_data_handle(c->src.inner, at) : dnnl_success;
    return s || !c->dst.reorder ? s : dnnl_memory_set_data_handle(c->dst.inner, at + c->src.inner_bytes);
}

/* the addend where the post-op sum finds it: in the result as the
 * convolution writes it (the inner one, or out), reordered or copied */
static dnnl_status_t load_addend(const sf_dnnl_conv *c, sf_dnnl_scratch *scratch, const float *residual, float *out)
{
    if (!c->epi.add)
        return dnnl_success;
    if (!c->load) {
        char *to = c->dst.reorder ? (char *)scratch->p + c->src.inner_bytes : (char *)out;
        if ((const char *)residual != to)
            memmove(to, residual, c->out_bytes);
        return dnnl_success;
    }
    dnnl_status_t s = dnnl_memory_set_data_handle(c->resid, (void *)residual);
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, c->resid}, {DNNL_ARG_TO, side_inner(&c->dst)}};
    return s ? s : dnnl_primitive_execute(c->load, c->stream, 2, a);
}

/* in this order: x out of the way of out (reordered or copied), the
 * addend into the result, the convolution, the result out */
static dnnl_status_t run(sf_dnnl_conv *c, sf_dnnl_scratch *scratch, const float *x, const float *w, bool w_fresh,
                         const float *b, const float *residual, float *out)
{
    const float *xs;
    dnnl_status_t s = place_inner(c, scratch, x, out, &xs);
    s = s ? s : dnnl_memory_set_data_handle(c->src.plain, (void *)xs);
    s = s ? s : dnnl_memory_set_data_handle(c->dst.plain, out);
    s = s ? s : dnnl_memory_set_data_handle(c->wgt.plain, (void *)w);
    s = s || !c->bias ? s : dnnl_memory_set_data_handle(c->bias, (void *)b);
    bool reweigh = c->wgt.reorder && (w_fresh || w != c->w_src);
    s = s || !reweigh ? s : reorder(c, &c->wgt, true);
    c->w_src = s == dnnl_success ? w : NULL;
    s = s || !c->src.reorder ? s : reorder(c, &c->src, true);
    s = s ? s : load_addend(c, scratch, residual, out);
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, side_inner(&c->src)},
                            {DNNL_ARG_WEIGHTS, side_inner(&c->wgt)},
                            {DNNL_ARG_DST, side_inner(&c->dst)},
                            {DNNL_ARG_BIAS, c->bias}};
    s = s ? s : dnnl_primitive_execute(c->conv, c->stream, c->bias ? 4 : 3, a);
    s = s || !c->dst.reorder ? s : reorder(c, &c->dst, false);
    return s ? s : dnnl_stream_wait(c->stream);
}

sf_status sf_dnnl_conv_run(sf_dnnl_conv *c, sf_dnnl_scratch *scratch, int64_t batch, int threads, const float *x,
                           const float *w, bool w_fresh, const float *b, const float *residual, float *out,
                           sf_error *err)
{
    const char *what = "";
    dnnl_status_t s = dnnl_success;
    /* oneDNN fixes a primitive's thread count when it makes it (from
     * omp_get_max_threads): made outside this window, a 1-thread run used
     * both cores. So they are made, and remade, for the count asked. */
    int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    if (batch != c->batch || threads != c->threads) {
        drop_primitives(c);
        s = make_primitives(c, batch, &what);
        c->threads = threads;
        if (s == dnnl_unimplemented || s == dnnl_invalid_arguments) {
            omp_set_num_threads(before);
            drop_primitives(c);
            return fail(err, SF_ERR_UNSUPPORTED, c, what, s);
        }
        w_fresh = true;
    }
    if (s == dnnl_success) {
        what = "failed to run";
        s = run(c, scratch, x, w, w_fresh, b, residual, out);
    }
    omp_set_num_threads(before);
    if (s == dnnl_success)
        return SF_OK;
    drop_primitives(c);
    return s == dnnl_out_of_memory ? sf_fail(err, SF_ERR_NOMEM, "cpu backend: out of memory for a oneDNN convolution")
                                   : fail(err, SF_ERR_RUNTIME, c, what, s);
}

const char *sf_dnnl_conv_impl(const sf_dnnl_conv *c) { return c->impl; }

bool sf_dnnl_conv_adds(const sf_dnnl_conv *c) { return c->epi.add; }

/* which of the layouts sf_dnnl_layout names `md` is (its block; 1: NHWC), else 0 */
static int block_of(const dnnl_memory_desc_t *md)
{
    static const struct {
        dnnl_format_tag_t tag;
        int block;
    } tags[] = {{dnnl_nhwc, 1}, {dnnl_nChw16c, 16}, {dnnl_nChw8c, 8}};
    for (size_t i = 0; md && md->ndims == 4 && i < sizeof tags / sizeof tags[0]; i++) {
        dnnl_memory_desc_t t;
        if (dnnl_memory_desc_init_by_tag(&t, 4, md->dims, dnnl_f32, tags[i].tag) == dnnl_success &&
            dnnl_memory_desc_equal(&t, md) && md->dims[1] % tags[i].block == 0)
            return tags[i].block;
    }
    return 0;
}

static const dnnl_memory_desc_t *md_of(dnnl_memory_t m)
{
    const dnnl_memory_desc_t *md = NULL;
    return m && dnnl_memory_get_memory_desc(m, &md) == dnnl_success ? md : NULL;
}

void sf_dnnl_conv_blocks(sf_dnnl_conv *c, int *src, int *dst)
{
    *src = *dst = 0;
    drop_primitives(c);
    c->lay = (sf_dnnl_layout){0, false, false, false};
    const char *what;
    if (make_primitives(c, 1, &what) == dnnl_success) {
        *src = c->src.reorder ? block_of(md_of(c->src.inner)) : 0;
        *dst = c->dst.reorder ? block_of(md_of(c->dst.inner)) : 0;
    }
    drop_primitives(c);
}

void sf_dnnl_conv_set_layout(sf_dnnl_conv *c, sf_dnnl_layout lay)
{
    drop_primitives(c);
    c->lay = lay;
}

void sf_dnnl_fail_next(int skip, bool refuse)
{
    failure = refuse ? dnnl_unimplemented : dnnl_runtime_error;
    failures = skip + 1;
}

void sf_dnnl_conv_free(sf_dnnl_conv *c)
{
    if (!c)
        return;
    drop_primitives(c);
    if (c->stream)
        dnnl_stream_destroy(c->stream);
    free(c);
}

#else /* no oneDNN: every convolution is generated code */

bool sf_dnnl_available(void) { return false; }
const char *sf_dnnl_version(void) { return NULL; }

sf_dnnl_conv *sf_dnnl_conv_new(const sf_node *n, sf_dnnl_epilogue epi, sf_error *err)
{
    (void)epi;
    sf_fail(err, SF_ERR_UNSUPPORTED, "cpu backend: %s: this sheaf was built without oneDNN", sf_ops[n->op].name);
    return NULL;
}

sf_status sf_dnnl_conv_run(sf_dnnl_conv *c, sf_dnnl_scratch *scratch, int64_t batch, int threads, const float *x,
                           const float *w, bool w_fresh, const float *b, const float *residual, float *out,
                           sf_error *err)
{
    (void)c, (void)scratch, (void)batch, (void)threads, (void)x, (void)w, (void)w_fresh, (void)b, (void)residual;
    (void)out;
    return sf_fail(err, SF_ERR_UNSUPPORTED, "cpu backend: this sheaf was built without oneDNN");
}

const char *sf_dnnl_conv_impl(const sf_dnnl_conv *c) { (void)c; return ""; }
bool sf_dnnl_conv_adds(const sf_dnnl_conv *c) { (void)c; return false; }
void sf_dnnl_conv_blocks(sf_dnnl_conv *c, int *src, int *dst) { (void)c, *src = *dst = 0; }
void sf_dnnl_conv_set_layout(sf_dnnl_conv *c, sf_dnnl_layout lay) { (void)c, (void)lay; }
void sf_dnnl_fail_next(int skip, bool refuse) { (void)skip, (void)refuse; }
void sf_dnnl_conv_free(sf_dnnl_conv *c) { (void)c; }

#endif
