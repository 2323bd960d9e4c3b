/* Attention from its pieces: F.scaled_dot_product_attention (attn_mask,
 * is_causal, scale) and nn.MultiheadAttention's forward (batch_first, the
 * packed in_proj weights, key_padding_mask, attn_mask, need_weights and
 * average_attn_weights), as PyTorch's math path computes them: scores
 * q k^T scaled, masked with -inf where a position may not be attended,
 * softmax, times v. The module itself (its parameters) is py_nn.c's. */
#include <math.h>
#include <string.h>

#include "frontend/py_torch.h"

#define FAIL(code, ...) py_error(I, at, code, __VA_ARGS__)

/* masks in one form: keep (bool, true where attended) and bias (added to the scores), either may be NULL */
typedef struct attn_mask {
    sf_value *keep, *bias;
} attn_mask;

/* m into masks: a bool mask keeps where it equals keep_when; a float one is added */
static bool add_mask(py_interp *I, const py_expr *at, sf_value *m, bool keep_when, attn_mask *out)
{
    if (!m)
        return true;
    if (m->type.dtype != SF_BOOL) {
        out->bias = out->bias ? py_op2(I, at, SF_OP_ADD, out->bias, m) : m;
        return out->bias != NULL;
    }
    if (!keep_when)
        m = py_op2(I, at, SF_OP_EQ, m, py_scalar(I, at, 0.0));
    out->keep = m && out->keep ? py_op2(I, at, SF_OP_MINIMUM, out->keep, m) : m;
    return out->keep != NULL;
}

/* the causal mask of scores [..., L, S]: position i attends to j <= i */
static bool add_causal(py_interp *I, const py_expr *at, const sf_value *scores, attn_mask *out)
{
    int r = scores->type.rank;
    int64_t dims[2] = {scores->type.dim[r - 2], scores->type.dim[r - 1]};
    sf_value *ones = py_full(I, at, dims, 2, 1.0, NULL, SF_BOOL);
    sf_node *n = ones ? py_begin(I, at, SF_OP_TRIL, 1, &ones) : NULL;
    if (n)
        sf_node_set_int(n, SF_ATTR_DIAGONAL, 0);
    return add_mask(I, at, py_emit(I, at, n), true, out);
}

/* softmax(q k^T * scale + masks) over the last dim; *weights gets it, the result times v */
static sf_value *attend(py_interp *I, const py_expr *at, sf_value *q, sf_value *k, sf_value *v, double scale,
                        attn_mask *m, bool causal, sf_value **weights)
{
    sf_value *kt = py_transpose(I, at, k, -2, -1), *s = kt ? py_op2(I, at, SF_OP_MATMUL, q, kt) : NULL;
    if (s && scale != 1.0)
        s = py_op2(I, at, SF_OP_MUL, s, py_scalar(I, at, scale));
    if (!s || (causal && !add_causal(I, at, s, m)))
        return NULL;
    if (m->bias)
        s = py_op2(I, at, SF_OP_ADD, s, m->bias);
    if (s && m->keep) {
        sf_value *in[3] = {m->keep, s, py_scalar(I, at, -INFINITY)};
        s = in[2] ? py_emit(I, at, py_begin(I, at, SF_OP_WHERE, 3, in)) : NULL;
    }
    sf_value *p = s ? py_softmax(I, at, s, -1) : NULL;
    if (weights)
        *weights = p;
    return p ? py_op2(I, at, SF_OP_MATMUL, p, v) : NULL;
}

static sf_value *opt_tensor(py_interp *I, const py_expr *at, pv *v, const char *what, bool *ok)
{
    *ok = true;
    if (!v || v->k == PV_NONE)
        return NULL;
    sf_value *t = py_tv(I, at, v, what);
    *ok = t != NULL;
    return t;
}

TFN(t_sdpa)
{
    BIND("scaled_dot_product_attention()", 3, "query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
         "enable_gqa");
    bool ok, causal, gqa;
    sf_value *q = py_tv(I, at, a[0], "query"), *k = q ? py_tv(I, at, a[1], "key") : NULL;
    sf_value *v = k ? py_tv(I, at, a[2], "value") : NULL, *mask = v ? opt_tensor(I, at, a[3], "attn_mask", &ok) : NULL;
    if (!v || !ok || !py_opt_bool(I, at, a[5], false, &causal) || !py_opt_bool(I, at, a[7], false, &gqa))
        return NULL;
    if (a[4] && !(pv_is_number(a[4]) && pv_as_double(a[4]) == 0.0))
        return FAIL(SF_ERR_UNSUPPORTED, "scaled_dot_product_attention: dropout_p other than 0 drops at random even in "
                                        "eval mode: pass dropout_p=0.0 (or p if self.training else 0.0)");
    if (causal && mask)
        return FAIL(SF_ERR_INVALID_ARG, "scaled_dot_product_attention: attn_mask and is_causal=True together");
    if (gqa)
        return FAIL(SF_ERR_UNSUPPORTED, "scaled_dot_product_attention: enable_gqa=True is not supported");
    if (q->type.rank < 2 || q->type.dim[q->type.rank - 1] == SF_DIM_B)
        return FAIL(SF_ERR_SHAPE, "scaled_dot_product_attention: the query needs a rank of 2 or more");
    double scale = 1.0 / sqrt((double)q->type.dim[q->type.rank - 1]);
    if (a[6] && a[6]->k != PV_NONE) {
        if (!pv_is_number(a[6]) || !isfinite(pv_as_double(a[6])))
            return FAIL(SF_ERR_INVALID_ARG, "scaled_dot_product_attention: scale must be a finite number");
        scale = pv_as_double(a[6]);
    }
    attn_mask m = {0};
    if (!add_mask(I, at, mask, true, &m))
        return NULL;
    return pv_tensor(I, attend(I, at, q, k, v, scale, &m, causal, NULL));
}

/* ---- nn.MultiheadAttention(batch_first=True) ---- */

/* rows [i E, (i + 1) E) of the packed in_proj weight (and bias), applied to x */
static sf_value *project(py_interp *I, const py_expr *at, sf_value *x, sf_value *w, sf_value *b, int i, int64_t e)
{
    sf_value *wi = py_slice_dim(I, at, w, 0, i * e, (i + 1) * e, 1);
    sf_value *bi = b ? py_slice_dim(I, at, b, 0, i * e, (i + 1) * e, 1) : NULL;
    return wi && (bi || !b) ? py_linear(I, at, x, wi, bi) : NULL;
}

/* [B, L, E] as [B, H, L, E / H] */
static sf_value *split_heads(py_interp *I, const py_expr *at, sf_value *x, int64_t heads)
{
    if (!x)
        return NULL;
    int64_t shape[4] = {x->type.dim[0], x->type.dim[1], heads, x->type.dim[2] / heads};
    return py_transpose(I, at, py_reshaped(I, at, x, shape, 4), 1, 2);
}

static bool mha_input(py_interp *I, const py_expr *at, sf_value *x, int64_t e, const char *what)
{
    char tb[160];
    if (x->type.rank == 3 && x->type.dim[2] == e && x->type.dim[1] != SF_DIM_B)
        return true;
    return FAIL(SF_ERR_SHAPE, "MultiheadAttention: %s %s is not [batch, length, %lld] (batch_first=True)", what,
                sf_type_str(&x->type, tb, sizeof tb), (long long)e) != NULL;
}

pv *py_mha_forward(py_interp *I, const py_expr *at, int64_t heads, sf_value *const *w, int argc, pv **argv, int kwc,
                   const char **kwn, pv **kwv)
{
    static const char *const names[] = {"query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
                                        "average_attn_weights", "is_causal", NULL};
    pv *a[8] = {0};
    bool ok1, ok2, need, average, causal;
    if (!py_bind(I, at, "MultiheadAttention", names, 3, argc, argv, kwc, kwn, kwv, a))
        return NULL;
    int64_t e = w[0]->type.dim[1];
    sf_value *q = py_tv(I, at, a[0], "query"), *k = q ? py_tv(I, at, a[1], "key") : NULL;
    sf_value *v = k ? py_tv(I, at, a[2], "value") : NULL;
    sf_value *kpm = v ? opt_tensor(I, at, a[3], "key_padding_mask", &ok1) : NULL;
    sf_value *mask = v ? opt_tensor(I, at, a[5], "attn_mask", &ok2) : NULL;
    if (!v || !ok1 || !ok2 || !py_opt_bool(I, at, a[4], true, &need) || !py_opt_bool(I, at, a[6], true, &average) ||
        !py_opt_bool(I, at, a[7], false, &causal))
        return NULL;
    if (!mha_input(I, at, q, e, "query") || !mha_input(I, at, k, e, "key") || !mha_input(I, at, v, e, "value"))
        return NULL;
    if (causal && !mask)
        return FAIL(SF_ERR_INVALID_ARG, "MultiheadAttention: is_causal=True is a hint that attn_mask is causal; give "
                                        "attn_mask too");
    int64_t len = q->type.dim[1], src = k->type.dim[1];
    if (mask && !(mask->type.rank == 2 && mask->type.dim[0] == len && mask->type.dim[1] == src))
        return FAIL(SF_ERR_SHAPE, "MultiheadAttention: attn_mask must be [%lld, %lld] (a per-head 3-D mask merges "
                                  "the batch with the heads)", (long long)len, (long long)src);
    attn_mask m = {0};
    if (kpm) {
        if (!(kpm->type.rank == 2 && kpm->type.dim[1] == src))
            return FAIL(SF_ERR_SHAPE, "MultiheadAttention: key_padding_mask must be [batch, %lld]", (long long)src);
        int64_t shape[4] = {kpm->type.dim[0], 1, 1, src};
        kpm = py_reshaped(I, at, kpm, shape, 4);
    }
    if (!add_mask(I, at, mask, false, &m) || !add_mask(I, at, kpm, false, &m))
        return NULL;
    sf_value *qh = split_heads(I, at, project(I, at, q, w[0], w[1], 0, e), heads);
    sf_value *kh = qh ? split_heads(I, at, project(I, at, k, w[0], w[1], 1, e), heads) : NULL;
    sf_value *vh = kh ? split_heads(I, at, project(I, at, v, w[0], w[1], 2, e), heads) : NULL;
    if (!vh)
        return NULL;
    /* PyTorch scales q before the product */
    qh = py_op2(I, at, SF_OP_MUL, qh, py_scalar(I, at, sqrt(1.0 / (double)(e / heads))));
    sf_value *p = NULL, *o = qh ? attend(I, at, qh, kh, vh, 1.0, &m, false, &p) : NULL;
    int64_t shape[3] = {q->type.dim[0], len, e};
    o = o ? py_reshaped(I, at, py_transpose(I, at, o, 1, 2), shape, 3) : NULL;
    o = o ? py_linear(I, at, o, w[2], w[3]) : NULL;
    if (!o)
        return NULL;
    int64_t head_dim[1] = {1};
    sf_value *weights = need && average ? py_reduce(I, at, SF_OP_MEAN, p, head_dim, 1, false) : p;
    pv *r = pv_list_new(I, PV_TUPLE, 2);
    if (!r || !weights || !pv_list_push(I, r, pv_tensor(I, o)) ||
        !pv_list_push(I, r, need ? pv_tensor(I, weights) : pv_none(I)))
        return NULL;
    return r;
}

static const py_fn_row fns[] = {
    {{"scaled_dot_product_attention", t_sdpa}, PY_IN_F},
};

pv *py_attn_fn(py_interp *I, int where, const char *name, pv *self)
{
    return py_fn_lookup(I, fns, sizeof fns / sizeof fns[0], where, name, self);
}
