/* Random branchy models with awkward sizes, for the differential tests
 * (tests/test_random.c, tests/test_cuda_host.c): what users write with a
 * ModuleList — 1 to 1000 same-shaped branches of Linear layers with 1 to
 * 40 features, bias on or off, every activation, BatchNorm and LayerNorm
 * between them, a scalar scale, each branch on its own slice of the input
 * (equal or unequal widths) or on the whole input, combined by cat,
 * stack + sum or mean, a chain of adds, a head layer or several outputs —
 * and a batch size drawn from each side of every size at which a CPU or
 * CUDA kernel changes (4-row blocks, 8-wide chunks, the narrow kernel's
 * 256 rows, OpenBLAS's 1.6e7 flops). The sizes are bounded so that the
 * interpreter runs each model in milliseconds. */
#include "randmodel.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/base.h"

typedef sf_text text;
#define put sf_text_put

typedef struct gen {
    sf_rng rng;
    text params, body;
    int next, nparam;
    double flops; /* multiply-adds per row */
} gen;

static int pick(gen *g, int n) { return (int)(sf_rng_next(&g->rng) % (uint64_t)n); }
static bool chance(gen *g, int percent) { return pick(g, 100) < percent; }
static int between(gen *g, int lo, int hi) { return lo + pick(g, hi - lo + 1); }

/* a value name: %x for the input (id -1), else %N */
static const char *val(int id, char *buf)
{
    if (id < 0)
        return "%x";
    snprintf(buf, 16, "%%%d", id);
    return buf;
}

static int param(gen *g, const char *fmt, ...)
{
    char shape[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(shape, sizeof shape, fmt, ap);
    va_end(ap);
    put(&g->params, "param @p%d : f32[%s]\n", g->nparam, shape);
    return g->nparam++;
}

/* "  %N = <op text> : f32[B,<w>]" for a rank-2 result; returns N */
static int node2(gen *g, int w, const char *fmt, ...)
{
    char op[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op, sizeof op, fmt, ap);
    va_end(ap);
    put(&g->body, "  %%%d = %s : f32[B,%d]\n", g->next, op, w);
    return g->next++;
}


/* A layer's activation: one of the first five of sf_rand_acts drawn
 * (the draw the generator always made, so the models' structure stays),
 * or for about half the output widths its counterpart with attributes,
 * chosen by the width instead of a draw (the same in every branch, so
 * fusion sees the same steps): relu -> leaky_relu, tanh -> clamp,
 * sigmoid -> elu, gelu -> SELU, silu -> clamp at 0 */
static const sf_rand_act *layer_act(int act, int out)
{
    static const int with_attrs[5] = {5, 8, 6, 7, 9};
    return &sf_rand_acts[((unsigned)out * 2654435761u >> 9) % 2 ? with_attrs[act] : act];
}

/* what one layer of every branch does: the same in each branch, so that
 * horizontal fusion sees same-shaped branches (unless `ragged`) */
typedef struct layer {
    int out;
    bool bias, bn, ln, ln_affine, scale;
    int act; /* -1: none */
} layer;

static int linear_layer(gen *g, int in, int w, const layer *l)
{
    char b[16];
    int pw = param(g, "%d,%d", l->out, w), cur;
    g->flops += (double)l->out * w;
    if (l->bias)
        cur = node2(g, l->out, "linear %s, @p%d, @p%d", val(in, b), pw, param(g, "%d", l->out));
    else
        cur = node2(g, l->out, "linear %s, @p%d", val(in, b), pw);
    if (l->bn) { /* running mean, var, weight, bias: folded into the linear at -O2 */
        int m = param(g, "%d", l->out);
        param(g, "%d", l->out), param(g, "%d", l->out), param(g, "%d", l->out);
        cur = node2(g, l->out, "batchnorm %s, @p%d, @p%d, @p%d, @p%d {eps=1e-05}", val(cur, b), m, m + 1, m + 2, m + 3);
    }
    if (l->ln) {
        if (l->ln_affine) {
            int s = param(g, "%d", l->out);
            param(g, "%d", l->out);
            cur = node2(g, l->out, "layernorm %s, @p%d, @p%d {ndim=1, eps=1e-05}", val(cur, b), s, s + 1);
        } else {
            cur = node2(g, l->out, "layernorm %s {ndim=1, eps=1e-05}", val(cur, b));
        }
    }
    if (l->act >= 0) {
        const sf_rand_act *a = layer_act(l->act, l->out);
        cur = node2(g, l->out, "%s %s%s", a->op, val(cur, b), a->attrs);
    }
    if (l->scale) {
        put(&g->body, "  %%%d = scalar {value=0.75} : f32[]\n", g->next);
        int s = g->next++;
        char b2[16];
        cur = node2(g, l->out, "mul %s, %s", val(cur, b), val(s, b2));
    }
    return cur;
}

static layer random_layer(gen *g, int out)
{
    layer l = {.out = out, .bias = chance(g, 70), .bn = chance(g, 15), .ln = chance(g, 8), .ln_affine = chance(g, 60),
               .scale = chance(g, 8), .act = pick(g, 6) - 1};
    return l;
}

/* groups: often past 8 (the narrow kernel's lanes), sometimes hundreds */
static int random_groups(gen *g)
{
    int r = pick(g, 100);
    return r < 25 ? between(g, 1, 7) : r < 70 ? between(g, 8, 64) : r < 90 ? between(g, 65, 300) : between(g, 301, 1000);
}

/* a width: 1-40, with the chunk edges (7, 8, 9, 15, 16, 17) likelier */
static int random_width(gen *g)
{
    static const int edges[] = {1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 40};
    return chance(g, 50) ? edges[pick(g, 16)] : between(g, 1, 40);
}

/* batch sizes on each side of each threshold, or anything small */
static int64_t random_batch(gen *g)
{
    static const int64_t edges[] = {1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 255, 256, 257, 300};
    return chance(g, 60) ? edges[pick(g, 15)] : between(g, 1, 40);
}

static void combine(gen *g, const int *v, int n, int w, bool same_width, int total_w)
{
    char b[16];
    int how = same_width ? pick(g, 7) : (chance(g, 50) ? 0 : 4);
    if (n == 1)
        how = chance(g, 50) ? 4 : 6;
    if (how == 0 || how == 4) { /* cat, then maybe a head layer over it */
        put(&g->body, "  %%%d = concat", g->next);
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %s", i ? "," : "", val(v[i], b));
        put(&g->body, " {dim=1} : f32[B,%d]\n", total_w);
        int cat = g->next++;
        if (how == 4) {
            layer head = random_layer(g, random_width(g));
            head.bn = head.ln = false;
            cat = linear_layer(g, cat, total_w, &head);
        }
        put(&g->body, "  return %s\n", val(cat, b));
    } else if (how == 1 || how == 2) { /* torch.stack(outs).sum(0) / .mean(0) */
        put(&g->body, "  %%%d = stack", g->next);
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %s", i ? "," : "", val(v[i], b));
        put(&g->body, " {dim=0} : f32[%d,B,%d]\n", n, w);
        int st = g->next++;
        node2(g, w, "%s %s {dims=[0], keepdim=false}", how == 1 ? "sum" : "mean", val(st, b));
        put(&g->body, "  return %%%d\n", g->next - 1);
    } else if (how == 3) { /* torch.stack(outs, dim=1).mean(1) */
        put(&g->body, "  %%%d = stack", g->next);
        for (int i = 0; i < n; i++)
            put(&g->body, "%s %s", i ? "," : "", val(v[i], b));
        put(&g->body, " {dim=1} : f32[B,%d,%d]\n", n, w);
        int st = g->next++;
        node2(g, w, "mean %s {dims=[1], keepdim=false}", val(st, b));
        put(&g->body, "  return %%%d\n", g->next - 1);
    } else if (how == 5) { /* out = out + branch(x), or sum(outs) */
        int acc = v[0];
        for (int i = 1; i < n; i++) {
            char b2[16];
            acc = node2(g, w, "add %s, %s", val(acc, b), val(v[i], b2));
        }
        put(&g->body, "  return %s\n", val(acc, b));
    } else { /* every branch an output (at most 8 of them) */
        put(&g->body, "  return");
        for (int i = 0; i < n && i < 8; i++)
            put(&g->body, "%s %s", i ? "," : "", val(v[i], b));
        put(&g->body, "\n");
    }
}

char *sf_test_random_wide_model(uint64_t seed, int64_t *batch)
{
    gen g = {.rng = {seed * 0x9e3779b97f4a7c15ull + 1}};
    put(&g.params, "%s", "");
    put(&g.body, "%s", "");
    int n = random_groups(&g), depth = between(&g, 1, 3), mode = pick(&g, 3); /* 0 equal slices, 1 unequal, 2 shared */
    int w = random_width(&g);
    /* a quarter: one narrow layer alone (fewer than 8 outputs, 8 or more
     * groups), its k remainder each of 0-7 (4 has its own half-width load) */
    bool narrow = chance(&g, 25);
    if (narrow) {
        static const int ks[] = {1, 3, 4, 5, 7, 8, 12, 20, 28, 36, 9, 15};
        depth = 1, mode = pick(&g, 2) ? 0 : 2, w = ks[pick(&g, 12)];
        n = n < 8 ? between(&g, 8, 40) : n;
    }
    while (n * w > 20000)
        w = w / 2 > 0 ? w / 2 : 1;
    /* layer sizes that differ between branches: nothing fuses, so every
     * branch is its own kernels; kept to few branches for the JIT's time */
    bool ragged = chance(&g, 10);
    if (ragged && n > 6)
        n = between(&g, 2, 6);
    if (mode == 1 && n > 12) /* unequal slices: one kernel per width, the same */
        n = between(&g, 2, 12);
    layer plan[3];
    for (int d = 0; d < depth; d++)
        plan[d] = random_layer(&g, narrow ? between(&g, 1, 7) : random_width(&g));
    if (narrow && chance(&g, 60)) /* nothing after it: the narrow kernel itself, not a chain's blocks */
        plan[0].act = -1, plan[0].bn = plan[0].ln = plan[0].scale = false;
    int *widths = calloc((size_t)n, sizeof *widths), *outs = calloc((size_t)n, sizeof *outs), in_w = 0;
    for (int i = 0; i < n; i++) {
        widths[i] = mode == 1 ? between(&g, 1, w) : w;
        in_w += mode == 2 ? 0 : widths[i];
    }
    if (mode == 2)
        in_w = w;
    int at = 0, out_w = plan[depth - 1].out, total = 0;
    bool same_width = !ragged;
    for (int i = 0; i < n; i++) {
        int cur = -1, cw = widths[i];
        if (mode != 2) {
            cur = node2(&g, cw, "slice %%x {dim=1, start=%d, end=%d, step=1}", at, at + cw);
            at += cw;
        }
        for (int d = 0; d < depth; d++) {
            layer l = plan[d];
            if (ragged)
                l.out = between(&g, 1, 12);
            cur = linear_layer(&g, cur, cw, &l);
            cw = l.out;
        }
        outs[i] = cur;
        total += cw;
        same_width &= cw == out_w;
    }
    combine(&g, outs, n, out_w, same_width, total);
    /* the interpreter's work bounded: batch x multiply-adds per row */
    int64_t b = random_batch(&g);
    while (b > 1 && (double)b * g.flops > 5e6)
        b /= 2;
    *batch = b;
    text all = {0};
    put(&all, "%s\nfunc @wide(%%x: f32[B,%d]) {\n%s}\n", g.params.s, in_w, g.body.s);
    free(g.params.s), free(g.body.s), free(widths), free(outs);
    return all.s;
}

char *sf_test_random_dense_model(uint64_t seed, int64_t *batch)
{
    /* one product past OpenBLAS's threshold (2 x B x I x O >= 1.6e7 flops)
     * or just under it, with an epilogue or none; one in four narrower than
     * its 64 outputs (runtime/cpu_exec.c), which stay generated code */
    gen g = {.rng = {seed * 0x2545f4914f6cdd1dull + 7}};
    put(&g.params, "%s", "");
    put(&g.body, "%s", "");
    int I = between(&g, 120, 260), O = seed % 4 == 3 ? between(&g, 8, 63) : between(&g, 120, 260);
    int act = pick(&g, 6) - 1;
    /* a narrow one without an epilogue: with one the kernel never asks for OpenBLAS */
    layer l = {.out = O, .bias = seed % 2 == 0, .act = O < 64 ? -1 : act};
    int out = linear_layer(&g, -1, I, &l);
    put(&g.body, "  return %%%d\n", out);
    int64_t need = (int64_t)(1.6e7 / (2.0 * I * O)) + 1;
    /* with a bias or narrow always past the threshold (OpenBLAS's bias copy; the width rule), else either side */
    *batch = l.bias || O < 64 || chance(&g, 50) ? need + pick(&g, 40) : need > 2 ? need - 1 - pick(&g, (int)(need - 1)) : 1;
    text all = {0};
    put(&all, "%s\nfunc @dense(%%x: f32[B,%d]) {\n%s}\n", g.params.s, I, g.body.s);
    free(g.params.s), free(g.body.s);
    return all.s;
}

/* "  %N = <op text> : f32[B,<s>,<d>]"; returns N */
static int node3(gen *g, int s, int d, const char *fmt, ...)
{
    char op[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op, sizeof op, fmt, ap);
    va_end(ap);
    put(&g->body, "  %%%d = %s : f32[B,%d,%d]\n", g->next, op, s, d);
    return g->next++;
}

/* a random activation of value `from`, [B, s, d] */
static int act3(gen *g, int s, int d, int from, char *b)
{
    const sf_rand_act *a = &sf_rand_acts[pick(g, SF_RAND_NACTS)];
    return node3(g, s, d, "%s %s%s", a->op, val(from, b), a->attrs);
}

/* one step of the ops family on cur [B, S, D]: returns the new value and D */
static int ops_step(gen *g, int cur, int S, int *D)
{
    char b[16], b2[16], b3[16];
    int d = *D, h = between(g, 1, 12);
    switch (pick(g, 12)) {
    case 10: { /* a gather of the features by constant indices (reversed, or every other one), plus positions */
        bool flip = chance(g, 50);
        int k = flip ? d : (d + 1) / 2;
        put(&g->body, "  %%%d = iota {shape=[1,1,%d], dim=2} : f32[1,1,%d]\n", g->next, k, k);
        int io = g->next++;
        put(&g->body, "  %%%d = scalar {value=%d} : f32[]\n", g->next, flip ? -1 : 2);
        int m = g->next++;
        put(&g->body, "  %%%d = mul %s, %s : f32[1,1,%d]\n", g->next, val(io, b), val(m, b2), k);
        int ix = g->next++;
        if (flip) {
            put(&g->body, "  %%%d = scalar {value=%d} : f32[]\n", g->next, d - 1);
            int off = g->next++;
            put(&g->body, "  %%%d = add %s, %s : f32[1,1,%d]\n", g->next, val(ix, b), val(off, b2), k);
            ix = g->next++;
        }
        *D = k;
        int gat = node3(g, S, k, "gather %s, %s {dim=2}", val(cur, b), val(ix, b2));
        put(&g->body, "  %%%d = iota {shape=[%d,1], dim=0} : f32[%d,1]\n", g->next, S, S);
        int pos = g->next++;
        return node3(g, S, k, "add %s, %s", val(gat, b), val(pos, b2));
    }
    case 0: { /* linear, with or without bias */
        int w = param(g, "%d,%d", h, d);
        *D = h;
        return chance(g, 50) ? node3(g, S, h, "linear %s, @p%d, @p%d", val(cur, b), w, param(g, "%d", h))
                             : node3(g, S, h, "linear %s, @p%d", val(cur, b), w);
    }
    case 1: /* x @ W with W a parameter */
        *D = h;
        return node3(g, S, h, "matmul %s, @p%d", val(cur, b), param(g, "%d,%d", d, h));
    case 2: { /* one attention head: softmax(q k^T * scale) v */
        int wq = param(g, "%d,%d", h, d), wk = param(g, "%d,%d", h, d), wv = param(g, "%d,%d", h, d);
        int q = node3(g, S, h, "linear %s, @p%d", val(cur, b), wq), k = node3(g, S, h, "linear %s, @p%d", val(cur, b), wk);
        int v = node3(g, S, h, "linear %s, @p%d", val(cur, b), wv);
        int kt = node3(g, h, S, "transpose %s {dim0=1, dim1=2}", val(k, b));
        int sc = node3(g, S, S, "matmul %s, %s", val(q, b), val(kt, b2));
        put(&g->body, "  %%%d = scalar {value=0.5} : f32[]\n", g->next);
        int half = g->next++;
        int scaled = node3(g, S, S, "mul %s, %s", val(sc, b), val(half, b2));
        int p = node3(g, S, S, "softmax %s {dim=2}", val(scaled, b));
        *D = h;
        return node3(g, S, h, "matmul %s, %s", val(p, b), val(v, b3));
    }
    case 3: /* softmax or its log over the sequence or the features */
        return node3(g, S, d, "%s %s {dim=%d}", chance(g, 50) ? "softmax" : "log_softmax", val(cur, b), 1 + pick(g, 2));
    case 4: { /* layernorm over the last one or two dims */
        int two = chance(g, 40);
        if (chance(g, 50))
            return node3(g, S, d, "layernorm %s {ndim=%d, eps=1e-05}", val(cur, b), 1 + two);
        int s = two ? param(g, "%d,%d", S, d) : param(g, "%d", d);
        two ? param(g, "%d,%d", S, d) : param(g, "%d", d);
        return node3(g, S, d, "layernorm %s, @p%d, @p%d {ndim=%d, eps=1e-05}", val(cur, b), s, s + 1, 1 + two);
    }
    case 5: { /* split the features unequally, an activation on each part, cat */
        if (d < 2)
            return act3(g, S, d, cur, b);
        int a = between(g, 1, d - 1);
        put(&g->body, "  %%%d, %%%d = split %s {dim=2, sizes=[%d,%d]} : f32[B,%d,%d], f32[B,%d,%d]\n", g->next,
            g->next + 1, val(cur, b), a, d - a, S, a, S, d - a);
        int p0 = g->next, p1 = g->next + 1;
        g->next += 2;
        int r0 = act3(g, S, a, p0, b), r1 = act3(g, S, d - a, p1, b);
        return node3(g, S, d, "concat %s, %s {dim=2}", val(r0, b), val(r1, b2));
    }
    case 6: { /* broadcast sub, maximum or minimum against a parameter row, div by a scalar */
        static const char *const ops[] = {"sub", "maximum", "minimum"};
        int r = param(g, "%d", d);
        int s = node3(g, S, d, "%s %s, @p%d", ops[pick(g, 3)], val(cur, b), r);
        put(&g->body, "  %%%d = scalar {value=1.5} : f32[]\n", g->next);
        int k = g->next++;
        return node3(g, S, d, "div %s, %s", val(s, b), val(k, b2));
    }
    case 7: { /* x + a reduction over the sequence (keepdim), broadcast back */
        static const char *const ops[] = {"mean", "sum", "amax", "amin", "prod"};
        put(&g->body, "  %%%d = %s %s {dims=[1], keepdim=true} : f32[B,1,%d]\n", g->next, ops[pick(g, 5)],
            val(cur, b), d);
        int m = g->next++;
        return node3(g, S, d, "add %s, %s", val(cur, b), val(m, b2));
    }
    case 8: { /* flatten, a rank-2 x @ W, and back through reshape */
        put(&g->body, "  %%%d = flatten %s {start=1, end=2} : f32[B,%d]\n", g->next, val(cur, b), S * d);
        int f = g->next++;
        put(&g->body, "  %%%d = matmul %s, @p%d : f32[B,%d]\n", g->next, val(f, b), param(g, "%d,%d", S * d, S * h), S * h);
        int mm = g->next++;
        *D = h;
        return node3(g, S, h, "reshape %s {shape=[B,%d,%d]}", val(mm, b), S, h);
    }
    case 9: { /* the maps with a domain on values inside it: of |x| + 1/4, and e^tanh(x); steps on the
                 input, whose values both sides hold exactly (after a product, summation order would move
                 a value across the step) */
        static const char *const positive[] = {"log", "sqrt", "rsqrt", "reciprocal", "log1p"};
        static const char *const step[] = {"sign", "floor", "round", "hardshrink", "threshold"};
        static const char *const step_attrs[] = {"", "", "", " {lambd=0.375}", " {threshold=0.125, value=-2}"};
        if (cur < 0 && chance(g, 50)) {
            int k = pick(g, 5);
            return node3(g, S, d, "%s %s%s", step[k], val(cur, b), step_attrs[k]);
        }
        if (chance(g, 25))
            return node3(g, S, d, "exp %s", val(node3(g, S, d, "tanh %s", val(cur, b)), b2));
        int a = node3(g, S, d, "abs %s", val(cur, b));
        put(&g->body, "  %%%d = scalar {value=0.25} : f32[]\n", g->next);
        int k = g->next++;
        int p = node3(g, S, d, "add %s, %s", val(a, b), val(k, b2));
        return node3(g, S, d, "%s %s", positive[pick(g, 5)], val(p, b));
    }
    default: /* two activations stacked on a new dim and summed over it */
    {
        int a0 = act3(g, S, d, cur, b), a1 = act3(g, S, d, cur, b);
        put(&g->body, "  %%%d = stack %s, %s {dim=1} : f32[B,2,%d,%d]\n", g->next, val(a0, b), val(a1, b2), S, d);
        int st = g->next++;
        return node3(g, S, d, "sum %s {dims=[1], keepdim=false}", val(st, b));
    }
    }
}

char *sf_test_random_ops_model(uint64_t seed, int64_t *batch)
{
    gen g = {.rng = {seed * 0xbf58476d1ce4e5b9ull + 3}};
    put(&g.params, "%s", "");
    put(&g.body, "%s", "");
    int S = between(&g, 1, 6), D = between(&g, 1, 12), cur = -1, steps = between(&g, 1, 5);
    int in_d = D;
    for (int i = 0; i < steps; i++)
        cur = ops_step(&g, cur, S, &D);
    if (cur < 0)
        cur = node3(&g, S, D, "relu %%x");
    put(&g.body, "  return %%%d\n", cur);
    *batch = random_batch(&g) % 64 + 1;
    text all = {0};
    put(&all, "%s\nfunc @ops(%%x: f32[B,%d,%d]) {\n%s}\n", g.params.s, S, in_d, g.body.s);
    free(g.params.s), free(g.body.s);
    return all.s;
}
