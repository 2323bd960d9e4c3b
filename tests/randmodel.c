/* Random container-shaped models as IR text, for the differential tests
 * (test_random: interpreter at -O0 and -O2, CPU backend; test_cuda:
 * NVRTC): branches on windows of the input or on the shared input, chains
 * of linears, activations, scalar ops, masked gates (compare + where) and
 * BatchNorm, conv branches (some under tril/triu), summed MLPs of ragged widths,
 * combined by concat, stack+sum/mean, chains of adds or several outputs. */
#include "randmodel.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/base.h"

typedef sf_text text;
#define put sf_text_put

void sf_text_put(sf_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static int pick(sf_rng *r, int n) { return (int)(sf_rng_next(r) % (uint64_t)n); }

const sf_rand_act sf_rand_acts[SF_RAND_NACTS] = {
    {"relu", ""},
    {"tanh", ""},
    {"sigmoid", ""},
    {"gelu", ""},
    {"silu", ""},
    {"leaky_relu", " {alpha=0.2}"},
    {"elu", " {alpha=1, scale=1, input_scale=1}"},
    {"elu", " {alpha=1.6732632423543772, scale=1.0507009873554805, input_scale=1}"}, /* SELU */
    {"clamp", " {min=-0.5, max=0.75}"},
    {"clamp", " {min=0, max=inf}"},
    /* continuous ones only: a step (sign, floor, hardshrink) turns a last-bit
     * difference of summation order into a different value */
    {"gelu_tanh", ""},
    {"mish", ""},
    {"softplus", " {beta=1, threshold=20}"},
    {"softplus", " {beta=2, threshold=1}"},
    {"hardswish", ""},
    {"hardsigmoid", ""},
    {"softsign", ""},
    {"tanhshrink", ""},
    {"softshrink", " {lambd=0.5}"},
    {"threshold", " {threshold=0.1, value=0.1}"},
    {"abs", ""},
    {"neg", ""},
    {"logsigmoid", ""},
    {"sin", ""},
    {"cos", ""},
};

typedef struct gen {
    sf_rng rng;
    text params, body;
    int next, nparam;
} gen;

static int param(gen *g, const char *shape)
{
    put(&g->params, "param @p%d : f32[%s]\n", g->nparam, shape);
    return g->nparam++;
}

/* a mask and a where, continuous in v (a step would turn a last-bit
 * difference into a different value): where(v > t, v, t + (v - t) * slope)
 * or with another comparison, t a random threshold, the slope a random one */
static int gate(gen *g, int v, int w)
{
    static const char *const cmp[] = {"gt", "ge", "lt", "le", "eq", "ne"}; /* both sides agree at v == t */
    int c = pick(&g->rng, 6), n = g->next;
    double t = (pick(&g->rng, 5) - 2) * 0.25, slope = 0.125 * (1 + pick(&g->rng, 4));
    put(&g->body, "  %%%d = scalar {value=%g} : f32[]\n  %%%d = %s %%%d, %%%d : bool[B,%d]\n", n, t, n + 1, cmp[c], v,
        n, w);
    put(&g->body, "  %%%d = sub %%%d, %%%d : f32[B,%d]\n  %%%d = scalar {value=%g} : f32[]\n", n + 2, v, n, w, n + 3,
        slope);
    put(&g->body, "  %%%d = mul %%%d, %%%d : f32[B,%d]\n  %%%d = add %%%d, %%%d : f32[B,%d]\n", n + 4, n + 2, n + 3,
        w, n + 5, n + 4, n, w);
    put(&g->body, "  %%%d = where %%%d, %%%d, %%%d : f32[B,%d]\n", n + 6, n + 1, v, n + 5, w);
    g->next += 7;
    return n + 6;
}

/* one branch: linears (width w -> h...) with activations and scalar ops; returns the value id and its width */
static int branch(gen *g, int in, int w, int depth, bool same_acts, int act_seed, int *out_w, int out_width)
{
    int cur = in, cw = w;
    for (int d = 0; d < depth; d++) {
        int h = d == depth - 1 ? out_width : 2 + pick(&g->rng, 5);
        char shape[64];
        snprintf(shape, sizeof shape, "%d,%d", h, cw);
        int pw = param(g, shape);
        bool bias = pick(&g->rng, 4) != 0;
        int pb = -1;
        if (bias) {
            snprintf(shape, sizeof shape, "%d", h);
            pb = param(g, shape);
        }
        if (bias)
            put(&g->body, "  %%%d = linear %%%d, @p%d, @p%d : f32[B,%d]\n", g->next, cur, pw, pb, h);
        else
            put(&g->body, "  %%%d = linear %%%d, @p%d : f32[B,%d]\n", g->next, cur, pw, h);
        cur = g->next++;
        cw = h;
        if (pick(&g->rng, 4) == 0) { /* BatchNorm1d after the linear: folded at -O2 */
            int m = g->nparam;
            put(&g->params, "param @bn%d : f32[%d]\nparam @bn%d : f32[%d]\nparam @bn%d : f32[%d]\nparam @bn%d : f32[%d]\n",
                m, h, m + 1, h, m + 2, h, m + 3, h);
            g->nparam += 4;
            put(&g->body, "  %%%d = batchnorm %%%d, @bn%d, @bn%d, @bn%d, @bn%d {eps=1e-05} : f32[B,%d]\n", g->next,
                cur, m, m + 1, m + 2, m + 3, h);
            cur = g->next++;
        }
        if (d < depth - 1 || pick(&g->rng, 2)) {
            const sf_rand_act *a = &sf_rand_acts[same_acts ? (act_seed + d) % SF_RAND_NACTS : pick(&g->rng, SF_RAND_NACTS)];
            put(&g->body, "  %%%d = %s %%%d%s : f32[B,%d]\n", g->next, a->op, cur, a->attrs, cw);
            cur = g->next++;
        }
        if (pick(&g->rng, 5) == 0)
            cur = gate(g, cur, cw);
        if (pick(&g->rng, 5) == 0) {
            put(&g->body, "  %%%d = scalar {value=0.5} : f32[]\n", g->next);
            put(&g->body, "  %%%d = mul %%%d, %%%d : f32[B,%d]\n", g->next + 1, cur, g->next, cw);
            cur = g->next + 1;
            g->next += 2;
        }
    }
    *out_w = cw;
    return cur;
}

/* combine n branch values of width w each */
static void combine(gen *g, const int *v, int n, int w, bool same_width)
{
    int how = same_width ? pick(&g->rng, 5) : 4;
    if (how == 0 && n > 1) { /* concat */
        put(&g->body, "  %%%d = concat", g->next);
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %%%d", i ? "," : "", v[i]);
        put(&g->body, " {dim=1} : f32[B,%d]\n  return %%%d\n", n * w, g->next);
    } else if ((how == 1 || how == 2) && n > 1) { /* stack + sum or mean */
        put(&g->body, "  %%%d = stack", g->next);
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %%%d", i ? "," : "", v[i]);
        put(&g->body, " {dim=0} : f32[%d,B,%d]\n", n, w);
        put(&g->body, "  %%%d = %s %%%d {dims=[0], keepdim=false} : f32[B,%d]\n  return %%%d\n", g->next + 1,
            how == 1 ? "sum" : "mean", g->next, w, g->next + 1);
    } else if (how == 3 && n > 1) { /* chain of adds */
        int acc = v[0];
        if (pick(&g->rng, 3) == 0) { /* an offset made in the graph */
            put(&g->body, "  %%%d = full {shape=[B,%d], value=0.75} : f32[B,%d]\n", g->next, w, w);
            put(&g->body, "  %%%d = add %%%d, %%%d : f32[B,%d]\n", g->next + 1, acc, g->next, w);
            acc = g->next + 1;
            g->next += 2;
        }
        for (int i = 1; i < n; i++) {
            put(&g->body, "  %%%d = add %%%d, %%%d : f32[B,%d]\n", g->next, acc, v[i], w);
            acc = g->next++;
        }
        put(&g->body, "  return %%%d\n", acc);
    } else { /* every branch an output */
        put(&g->body, "  return");
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %%%d", i ? "," : "", v[i]);
        put(&g->body, "\n");
    }
}

/* conv branches on one input [B,C,L], same or differing geometry */
static char *random_conv_model(gen *g)
{
    int n = 2 + pick(&g->rng, 4), C = 1 + pick(&g->rng, 3), L = 4 + pick(&g->rng, 5), O = 1 + pick(&g->rng, 3);
    bool same = pick(&g->rng, 3) != 0;
    int vals[8];
    for (int i = 0; i < n; i++) {
        int k = same ? 3 : 1 + 2 * pick(&g->rng, 2), pad = (k - 1) / 2; /* 'same' length either way */
        char shape[64];
        snprintf(shape, sizeof shape, "%d,%d,%d", O, C, k);
        int pw = param(g, shape);
        snprintf(shape, sizeof shape, "%d", O);
        int pb = param(g, shape);
        put(&g->body, "  %%%d = conv1d %%x, @p%d, @p%d {stride=[1], padding=[%d], dilation=[1], groups=1} : f32[B,%d,%d]\n",
            g->next, pw, pb, pad, O, L);
        vals[i] = g->next++;
        if (pick(&g->rng, 4) == 0) { /* a causal-style mask over (channel, position) */
            put(&g->body, "  %%%d = %s %%%d {diagonal=%d} : f32[B,%d,%d]\n", g->next, pick(&g->rng, 2) ? "tril" : "triu",
                vals[i], pick(&g->rng, 5) - 2, O, L);
            vals[i] = g->next++;
        }
    }
    int how = pick(&g->rng, 3);
    if (how == 0) {
        put(&g->body, "  %%%d = concat", g->next);
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %%%d", i ? "," : "", vals[i]);
        put(&g->body, " {dim=1} : f32[B,%d,%d]\n  return %%%d\n", n * O, L, g->next);
    } else {
        put(&g->body, "  %%%d = stack", g->next);
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %%%d", i ? "," : "", vals[i]);
        put(&g->body, " {dim=0} : f32[%d,B,%d,%d]\n", n, O, L);
        put(&g->body, "  %%%d = %s %%%d {dims=[0], keepdim=false} : f32[B,%d,%d]\n  return %%%d\n", g->next + 1,
            how == 1 ? "sum" : "mean", g->next, O, L, g->next + 1);
    }
    text all = {0};
    put(&all, "%s\nfunc @rand(%%x: f32[B,%d,%d]) {\n%s}\n", g->params.s, C, L, g->body.s);
    free(g->params.s), free(g->body.s);
    return all.s;
}

/* MLPs of different hidden widths on windows of the input, summed (a NAM
 * whose features get different capacities): hfuse groups them padded to
 * the widest, and the K-concatenated last layer reads that group through
 * zero weight columns (concat_elim). Widths within a quarter of the widest
 * keep the padding under hfuse's limit; sometimes one far narrower breaks
 * it. */
static char *random_ragged_model(gen *g)
{
    int n = 2 + pick(&g->rng, 7), w = 1 + pick(&g->rng, 3), H = 4 + pick(&g->rng, 29), O = 1 + pick(&g->rng, 3);
    const sf_rand_act *a = &sf_rand_acts[pick(&g->rng, SF_RAND_NACTS)];
    bool bias = pick(&g->rng, 3) != 0, far = pick(&g->rng, 5) == 0;
    int vals[8];
    for (int i = 0; i < n; i++) {
        int h = far && i == n / 2 ? 1 : H - pick(&g->rng, H / 4 + 1);
        put(&g->body, "  %%%d = slice %%x {dim=1, start=%d, end=%d, step=1} : f32[B,%d]\n", g->next, i * w,
            (i + 1) * w, w);
        int cur = g->next++, cw = w;
        for (int d = 0; d < 2; d++) {
            int ow = d ? O : h;
            char shape[64];
            snprintf(shape, sizeof shape, "%d,%d", ow, cw);
            int pw = param(g, shape);
            if (bias) {
                snprintf(shape, sizeof shape, "%d", ow);
                put(&g->body, "  %%%d = linear %%%d, @p%d, @p%d : f32[B,%d]\n", g->next, cur, pw, param(g, shape), ow);
            } else {
                put(&g->body, "  %%%d = linear %%%d, @p%d : f32[B,%d]\n", g->next, cur, pw, ow);
            }
            cur = g->next++;
            cw = ow;
            if (!d) {
                put(&g->body, "  %%%d = %s %%%d%s : f32[B,%d]\n", g->next, a->op, cur, a->attrs, cw);
                cur = g->next++;
            }
        }
        vals[i] = cur;
    }
    combine(g, vals, n, O, true);
    text all = {0};
    put(&all, "%s\nfunc @rand(%%x: f32[B,%d]) {\n%s}\n", g->params.s, n * w, g->body.s);
    free(g->params.s), free(g->body.s);
    return all.s;
}

char *sf_test_random_model(uint64_t seed)
{
    gen g = {{seed}, {0}, {0}, 0, 0};
    put(&g.params, "%s", "");
    put(&g.body, "%s", "");
    if (seed % 4 == 0)
        return random_conv_model(&g);
    if (seed % 16 == 9) /* one seed in 16, one in two of those the CPU backend runs (seed % 8 == 1) */
        return random_ragged_model(&g);
    int n = 2 + pick(&g.rng, 5), w = 1 + pick(&g.rng, 4), depth = 1 + pick(&g.rng, 3);
    bool windows = pick(&g.rng, 2), same_acts = pick(&g.rng, 3) != 0, same_width = pick(&g.rng, 3) != 0;
    int outw = 1 + pick(&g.rng, 3), vals[8];
    int in_w = windows ? n * w : w;
    text head = {0};
    put(&head, "func @rand(%%x: f32[B,%d]) {\n", in_w);
    g.next = 0;
    for (int i = 0; i < n; i++) {
        int in = -1;
        if (windows) {
            put(&g.body, "  %%%d = slice %%x {dim=1, start=%d, end=%d, step=1} : f32[B,%d]\n", g.next, i * w,
                (i + 1) * w, w);
            in = g.next++;
        }
        int bw, ow = same_width ? outw : 1 + pick(&g.rng, 3);
        /* in == -1: a shared-input branch, its first linear reads %x */
        vals[i] = branch(&g, in, w, depth, same_acts, 0, &bw, ow);
        if (!same_width)
            outw = bw;
    }
    combine(&g, vals, n, outw, same_width);
    text all = {0};
    put(&all, "%s\n%s%s}\n", g.params.s, head.s, g.body.s);
    free(g.params.s), free(g.body.s), free(head.s);
    /* branch() writes %-1 for the shared input: name it */
    for (char *p = strstr(all.s, "%-1"); p; p = strstr(p, "%-1")) {
        memmove(p + 2, p + 3, strlen(p + 3) + 1);
        p[1] = 'x';
    }
    return all.s;
}

char *sf_test_random_family(int family, uint64_t seed, int64_t *batch, char *name, size_t cap)
{
    static const char *const names[SF_RAND_FAMILIES] = {"random", "wide", "ops"};
    *batch = 3;
    snprintf(name, cap, "%s model %llu", names[family], (unsigned long long)seed);
    return family == 0 ? sf_test_random_model(seed) : family == 1 ? sf_test_random_wide_model(seed, batch)
                                                                  : sf_test_random_ops_model(seed, batch);
}
