/* Interpreter kernels for products, convolutions, normalisations and
 * reductions. Accumulation is in double: the oracle should be the most
 * accurate party in every comparison. */
#include "ir/interp_kernels.h"

#include <math.h>
#include <stdlib.h>

/* y[m,o] = b[o] + sum_k x[m,k] W[o,k], over all leading dims m */
sf_status sf_k_LINEAR(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    const sf_tensor *x = in[0], *w = in[1], *b = n->nin > 2 ? in[2] : NULL;
    int64_t O = w->dim[0], I = w->dim[1], M = sf_dims_prod(x, 0, x->rank - 1);
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < O; o++) {
            double acc = b ? b->data[o] : 0.0;
            for (int64_t k = 0; k < I; k++)
                acc += (double)x->data[m * I + k] * w->data[o * I + k];
            out[0]->data[m * O + o] = (float)acc;
        }
    return SF_OK;
}

/* Offset of a broadcast batch index into one operand's leading dims. */
static int64_t batch_offset(const sf_tensor *o, const sf_tensor *x, int64_t bi)
{
    int ob = o->rank - 2, xb = x->rank - 2;
    int64_t off = 0, stride = x->dim[x->rank - 1] * x->dim[x->rank - 2];
    for (int d = ob - 1; d >= 0; d--) {
        int64_t c = bi % o->dim[d];
        bi /= o->dim[d];
        int xd = d - (ob - xb);
        if (xd >= 0) {
            if (x->dim[xd] != 1)
                off += c * stride;
            stride *= x->dim[xd];
        }
    }
    return off;
}

sf_status sf_k_MATMUL(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)n, (void)err;
    const sf_tensor *a = in[0], *b = in[1];
    sf_tensor *y = out[0];
    int64_t M = a->dim[a->rank - 2], K = a->dim[a->rank - 1], N = b->dim[b->rank - 1];
    int64_t batches = sf_dims_prod(y, 0, y->rank - 2);
    for (int64_t bi = 0; bi < batches; bi++) {
        const float *pa = a->data + batch_offset(y, a, bi), *pb = b->data + batch_offset(y, b, bi);
        float *py = y->data + bi * M * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (double)pa[i * K + k] * pb[k * N + j];
                py[i * N + j] = (float)acc;
            }
    }
    return SF_OK;
}

/* shared: x[M,I] -> y[M,G,O]; per group: x[M,G,I] -> y[M,G,O] */
sf_status sf_k_GROUPED_LINEAR(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    const sf_tensor *x = in[0], *w = in[1], *b = n->nin > 2 ? in[2] : NULL;
    bool shared = sf_attr_shared(n) != 0;
    int64_t G = w->dim[0], O = w->dim[1], I = w->dim[2];
    int64_t M = sf_dims_prod(x, 0, x->rank - (shared ? 1 : 2));
    for (int64_t m = 0; m < M; m++)
        for (int64_t g = 0; g < G; g++) {
            const float *xr = x->data + (shared ? m * I : (m * G + g) * I);
            for (int64_t o = 0; o < O; o++) {
                double acc = b ? b->data[g * O + o] : 0.0;
                for (int64_t k = 0; k < I; k++)
                    acc += (double)xr[k] * w->data[(g * O + o) * I + k];
                out[0]->data[(m * G + g) * O + o] = (float)acc;
            }
        }
    return SF_OK;
}

/* Direct convolution over 1 or 2 spatial dims; conv1d is conv2d with H = 1. */
static sf_status conv(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, int sp)
{
    const sf_tensor *x = in[0], *w = in[1], *b = n->nin > 2 ? in[2] : NULL;
    sf_tensor *y = out[0];
    const sf_attr *as = sf_attr_stride(n), *ap = sf_attr_padding(n), *ad = sf_attr_dilation(n);
    int64_t groups = sf_attr_groups(n);
    int64_t N = x->dim[0], C = x->dim[1], O = y->dim[1];
    int64_t H = sp == 2 ? x->dim[2] : 1, W = x->dim[sp + 1];
    int64_t KH = sp == 2 ? w->dim[2] : 1, KW = w->dim[sp + 1];
    int64_t OH = sp == 2 ? y->dim[2] : 1, OW = y->dim[sp + 1];
    int64_t sh = sp == 2 ? as->ints[0] : 1, sw = as->ints[sp - 1];
    int64_t ph = sp == 2 ? ap->ints[0] : 0, pw = ap->ints[sp - 1];
    int64_t dh = sp == 2 ? ad->ints[0] : 1, dw = ad->ints[sp - 1];
    int64_t cg = C / groups, og = O / groups;
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t o = 0; o < O; o++) {
            int64_t g = o / og;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double acc = b ? b->data[o] : 0.0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t kh = 0; kh < KH; kh++) {
                            int64_t ih = oh * sh - ph + kh * dh;
                            if (ih < 0 || ih >= H)
                                continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t iw = ow * sw - pw + kw * dw;
                                if (iw < 0 || iw >= W)
                                    continue;
                                acc += (double)x->data[((nn * C + g * cg + c) * H + ih) * W + iw] *
                                       w->data[((o * cg + c) * KH + kh) * KW + kw];
                            }
                        }
                    y->data[((nn * O + o) * OH + oh) * OW + ow] = (float)acc;
                }
        }
    return SF_OK;
}

sf_status sf_k_CONV1D(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    return conv(n, in, out, 1);
}

sf_status sf_k_CONV2D(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    return conv(n, in, out, 2);
}

/* Inference batchnorm over channel dim 1 with running statistics. */
sf_status sf_k_BATCHNORM(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    const sf_tensor *x = in[0];
    double eps = sf_attr_eps(n);
    int64_t N = x->dim[0], C = x->dim[1], inner = sf_dims_prod(x, 2, x->rank);
    for (int64_t c = 0; c < C; c++) {
        double scale = 1.0 / sqrt((double)in[2]->data[c] + eps), shift = 0.0;
        if (n->nin == 5) {
            scale *= in[3]->data[c];
            shift = in[4]->data[c];
        }
        double mean = in[1]->data[c];
        for (int64_t b = 0; b < N; b++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (b * C + c) * inner + i;
                out[0]->data[at] = (float)((x->data[at] - mean) * scale + shift);
            }
    }
    return SF_OK;
}

/* Over the trailing ndim dims: biased variance, as PyTorch. */
sf_status sf_k_LAYERNORM(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    (void)err;
    const sf_tensor *x = in[0];
    const float *w = n->nin > 1 ? in[1]->data : NULL, *b = n->nin > 2 ? in[2]->data : NULL;
    double eps = sf_attr_eps(n);
    int nd = (int)sf_attr_ndim(n);
    int64_t inner = sf_dims_prod(x, x->rank - nd, x->rank), outer = sf_dims_prod(x, 0, x->rank - nd);
    for (int64_t o = 0; o < outer; o++) {
        const float *xr = x->data + o * inner;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < inner; i++)
            mean += xr[i];
        mean /= (double)inner;
        for (int64_t i = 0; i < inner; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        var /= (double)inner;
        double rstd = 1.0 / sqrt(var + eps);
        for (int64_t i = 0; i < inner; i++) {
            double v = (xr[i] - mean) * rstd;
            if (w)
                v *= w[i];
            if (b)
                v += b[i];
            out[0]->data[o * inner + i] = (float)v;
        }
    }
    return SF_OK;
}

/* softmax, or its log (x - max - log sum), along dim */
static sf_status softmax(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, bool log_of)
{
    const sf_tensor *x = in[0];
    int d = (int)sf_attr_dim(n);
    int64_t outer = sf_dims_prod(x, 0, d), len = x->dim[d], inner = sf_dims_prod(x, d + 1, x->rank);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xr = x->data + o * len * inner + i;
            float *yr = out[0]->data + o * len * inner + i;
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < len; j++)
                mx = xr[j * inner] > mx ? xr[j * inner] : mx;
            for (int64_t j = 0; j < len; j++)
                sum += exp(xr[j * inner] - mx);
            for (int64_t j = 0; j < len; j++)
                yr[j * inner] = (float)(log_of ? xr[j * inner] - mx - log(sum) : exp(xr[j * inner] - mx) / sum);
        }
    return SF_OK;
}

sf_status sf_k_SOFTMAX(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    return (void)err, softmax(n, in, out, false);
}

sf_status sf_k_LOG_SOFTMAX(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err)
{
    return (void)err, softmax(n, in, out, true);
}

/* Every input element goes into the output element that keeps its
 * non-reduced coordinates: added (sum, mean), multiplied (prod), or the
 * larger or smaller kept (amax, amin; NaN stays once met). */
static double combine(sf_opcode op, double acc, double v)
{
    switch (op) {
    case SF_OP_PROD: return acc * v;
    case SF_OP_AMAX: return v > acc || isnan(v) ? v : acc;
    case SF_OP_AMIN: return v < acc || isnan(v) ? v : acc;
    default: return acc + v;
    }
}

static double identity(sf_opcode op)
{
    return op == SF_OP_PROD ? 1 : op == SF_OP_AMAX ? -INFINITY : op == SF_OP_AMIN ? INFINITY : 0;
}

static sf_status reduce(const sf_node *n, const sf_tensor *x, sf_tensor *y, sf_error *err)
{
    const sf_attr *dims = sf_attr_dims(n);
    bool red[SF_MAX_RANK] = {0};
    for (int i = 0; i < dims->n; i++)
        red[dims->ints[i]] = true;
    size_t ny = sf_tensor_numel(y), nx = sf_tensor_numel(x);
    double *acc = malloc((ny ? ny : 1) * sizeof *acc);
    if (!acc)
        return sf_fail(err, SF_ERR_NOMEM, "interp: out of memory in %s", sf_ops[n->op].name);
    for (size_t i = 0; i < ny; i++)
        acc[i] = identity(n->op);
    int64_t count = 1;
    for (int d = 0; d < x->rank; d++)
        if (red[d])
            count *= x->dim[d];
    for (size_t i = 0; i < nx; i++) {
        int64_t rem = (int64_t)i, at = 0, stride = 1;
        for (int d = x->rank - 1; d >= 0; d--) {
            int64_t c = rem % x->dim[d];
            rem /= x->dim[d];
            if (!red[d]) {
                at += c * stride;
                stride *= x->dim[d];
            }
        }
        acc[at] = combine(n->op, acc[at], x->data[i]);
    }
    for (size_t i = 0; i < ny; i++)
        y->data[i] = (float)(n->op == SF_OP_MEAN ? acc[i] / (double)count : acc[i]);
    free(acc);
    return SF_OK;
}

#define REDUCE(ID)                                                                                       \
    sf_status sf_k_##ID(const sf_node *n, const sf_tensor *const *in, sf_tensor *const *out, sf_error *err) \
    {                                                                                                    \
        return reduce(n, in[0], out[0], err);                                                            \
    }
REDUCE(SUM)
REDUCE(AMAX)
REDUCE(AMIN)
REDUCE(PROD)

REDUCE(MEAN)
