/* Randomised differential test: random container-shaped models (branches on
 * windows of the input or on the shared input, chains of linears,
 * activations, scalar ops and BatchNorm, conv branches), combined by
 * concat, stack+sum/mean, chains of adds or several outputs; each runs
 * at -O0 and -O2 in the interpreter and must agree. */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "pass.h"

enum { CASES = 300 };

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[4096];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, buf, (size_t)n + 1);
    t->len += (size_t)n;
}

static int pick(sf_rng *r, int n) { return (int)(sf_rng_next(r) % (uint64_t)n); }

static const char *const acts[] = {"relu", "tanh", "sigmoid", "gelu", "silu"};

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
            const char *a = acts[same_acts ? (act_seed + d) % 5 : pick(&g->rng, 5)];
            put(&g->body, "  %%%d = %s %%%d : f32[B,%d]\n", g->next, a, cur, cw);
            cur = g->next++;
        }
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

static char *random_model(uint64_t seed)
{
    gen g = {{seed}, {0}, {0}, 0, 0};
    put(&g.params, "");
    put(&g.body, "");
    if (seed % 4 == 0)
        return random_conv_model(&g);
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

static void test_random_models(void **state)
{
    (void)state;
    int fused = 0, fewer_convs = 0, bn_folded = 0, on_cpu = 0;
    for (uint64_t seed = 1; seed <= CASES; seed++) {
        char *ir = random_model(seed);
        sf_error e = {0};
        sf_graph *g0 = sf_parse(ir, strlen(ir), "random.sfir", &e), *g2 = g0 ? sf_parse(ir, strlen(ir), "r", &e) : NULL;
        if (!g0 || !g2)
            fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, e.msg, ir);
        sf_module m = {.g = g2, .weights = sf_tensors_new()};
        assert_int_equal(sf_init_weights(g0, seed, m.weights, &e), SF_OK);
        sf_rng r = {seed * 7919};
        for (size_t i = 0; i < m.weights->names.len; i++) /* BatchNorm statistics worth folding */
            if (strncmp(m.weights->names.items[i], "bn", 2) == 0) {
                sf_tensor *t = m.weights->tensors.items[i];
                for (size_t k = 0; k < sf_tensor_numel(t); k++)
                    t->data[k] = (float)(0.5 + sf_rng_uniform(&r));
            }
        sf_pipeline_opts o = {.opt_level = 2, .verify_each = true};
        if (sf_run_pipeline(&m, &o, &e) != SF_OK)
            fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, e.msg, ir);
        int count[2][SF_OP_COUNT] = {{0}};
        for (size_t i = 0; i < g0->nodes.len; i++)
            count[0][((sf_node *)g0->nodes.items[i])->op]++;
        for (size_t i = 0; i < m.g->nodes.len; i++)
            count[1][((sf_node *)m.g->nodes.items[i])->op]++;
        fused += count[1][SF_OP_GROUPED_LINEAR] > 0;
        fewer_convs += count[1][SF_OP_CONV1D] < count[0][SF_OP_CONV1D];
        bn_folded += count[0][SF_OP_BATCHNORM] > 0 && count[1][SF_OP_BATCHNORM] == 0;
        sf_tensor_set *in = sf_tensors_new(), *a = sf_tensors_new(), *b = sf_tensors_new();
        assert_int_equal(sf_random_inputs(g0, 3, seed, in, &e), SF_OK);
        assert_int_equal(sf_interp_run(g0, 3, in, m.weights, a, &e), SF_OK);
        if (sf_interp_run(m.g, 3, in, m.weights, b, &e) != SF_OK)
            fail_msg("seed %llu: %s", (unsigned long long)seed, e.msg);
        assert_int_equal(sf_tensors_count(a), sf_tensors_count(b));
        for (size_t i = 0; i < a->tensors.len; i++) {
            const sf_tensor *x = a->tensors.items[i], *y = b->tensors.items[i];
            assert_int_equal(sf_tensor_numel(x), sf_tensor_numel(y));
            for (size_t k = 0; k < sf_tensor_numel(x); k++) {
                double d = x->data[k] - y->data[k];
                if (d < 0)
                    d = -d;
                if (d > 1e-5 + 1e-4 * (x->data[k] < 0 ? -x->data[k] : x->data[k])) {
                    char *after = sf_print_string(m.g);
                    fail_msg("seed %llu: output %zu element %zu: -O0 %g, -O2 %g\n%s\n--- after -O2:\n%s",
                             (unsigned long long)seed, i, k, x->data[k], y->data[k], ir, after);
                }
            }
        }
        /* the CPU backend on the -O2 graph, where it compiles every op; every
         * 8th model, since each JIT compile of many one-node kernels costs */
        bool try_cpu = sf_cpu_available() && (seed % 8 == 1 || seed % 16 == 4); /* some of each family */
        sf_cpu_model *cm = try_cpu ? sf_cpu_compile(m.g, &e) : NULL;
        if (cm) {
            sf_tensor_set *c = sf_tensors_new();
            if (sf_cpu_run(cm, 3, in, m.weights, c, &e) != SF_OK)
                fail_msg("seed %llu: %s", (unsigned long long)seed, e.msg);
            for (size_t i = 0; i < a->tensors.len; i++) {
                const sf_tensor *x = a->tensors.items[i], *y = c->tensors.items[i];
                assert_close(y->data, x->data, sf_tensor_numel(x), 1e-4, 1e-5);
            }
            sf_tensors_free(c);
            sf_cpu_free(cm);
            on_cpu++;
        } else if (try_cpu) {
            fail_msg("seed %llu: %s", (unsigned long long)seed, e.msg); /* every op compiles now */
        }
        sf_tensors_free(in), sf_tensors_free(a), sf_tensors_free(b), sf_tensors_free(m.weights);
        sf_graph_free(g0);
        sf_graph_free(m.g);
        free(ir);
    }
    printf("  %d random models agree at -O0 and -O2: %d with grouped products, %d with convs merged, %d with "
           "BatchNorm folded away; %d also on the CPU backend\n",
           CASES, fused, fewer_convs, bn_folded, on_cpu);
    if (sf_cpu_available())
        assert_true(on_cpu > CASES / 16);
    /* the generator does exercise the rewrites */
    assert_true(fused > CASES / 5);
    assert_true(fewer_convs > CASES / 10);
    assert_true(bn_folded > CASES / 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_models)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
