/* oneDNN's convolutions (runtime/cpu_dnnl.c) against the generated ones
 * and the interpreter, on random geometry: conv1d and conv2d, groups,
 * stride, padding, dilation, bias or none, batches small and large (one
 * thread and two), the batch changing between runs, weights changed in
 * place, at another address, and computed by the graph. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu.h"
#include "runtime/cpu_dnnl.h"
#include "runtime/cpu_model.h"

typedef struct geom {
    int nd, C, O, G, K, S, P, D, L, bias, weight_op;
} geom;

static unsigned rnd(unsigned *s, unsigned n)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) % n;
}

static int out_len(const geom *q)
{
    int span = q->L + 2 * q->P - q->D * (q->K - 1) - 1;
    return span < 0 ? 0 : span / q->S + 1;
}

static geom random_geom(unsigned *s)
{
    geom q;
    do {
        q.nd = 1 + (int)rnd(s, 2);
        q.G = 1 + (int)rnd(s, 3);
        q.C = q.G * (1 + (int)rnd(s, 6));
        q.O = q.G * (1 + (int)rnd(s, 6));
        q.K = 1 + (int)rnd(s, 4), q.S = 1 + (int)rnd(s, 3), q.P = (int)rnd(s, 3), q.D = 1 + (int)rnd(s, 2);
        q.L = 3 + (int)rnd(s, q.nd == 2 ? 12 : 30);
        q.bias = rnd(s, 3) != 0, q.weight_op = rnd(s, 5) == 0;
    } while (out_len(&q) < 1);
    return q;
}

static char *dims(const geom *q, int a, int b, int len, char *buf)
{
    if (q->nd == 2)
        sprintf(buf, "%d,%d,%d,%d", a, b, len, len);
    else
        sprintf(buf, "%d,%d,%d", a, b, len);
    return buf;
}

static char *model_text(const geom *q)
{
    static char text[2048];
    char wd[64], xd[64], od[64], attrs[160];
    int ol = out_len(q);
    dims(q, q->O, q->C / q->G, q->K, wd);
    dims(q, 0, q->C, q->L, xd);
    dims(q, 0, q->O, ol, od);
    if (q->nd == 2)
        sprintf(attrs, "stride=[%d,%d], padding=[%d,%d], dilation=[%d,%d], groups=%d", q->S, q->S, q->P, q->P, q->D,
                q->D, q->G);
    else
        sprintf(attrs, "stride=[%d], padding=[%d], dilation=[%d], groups=%d", q->S, q->P, q->D, q->G);
    int n = sprintf(text, "param @w : f32[%s]\n", wd);
    if (q->bias)
        n += sprintf(text + n, "param @b : f32[%d]\n", q->O);
    n += sprintf(text + n, "func @conv(%%x: f32[B%s]) {\n", xd + 1); /* xd is "0,C,...": the batch is B */
    const char *w = "@w";
    if (q->weight_op) {
        n += sprintf(text + n, "  %%w2 = mul @w, @w : f32[%s]\n", wd);
        w = "%w2";
    }
    sprintf(text + n, "  %%0 = conv%dd %%x, %s%s {%s} : f32[B%s]\n  return %%0\n}\n", q->nd, w, q->bias ? ", @b" : "",
            attrs, od + 1);
    return text;
}

static void same(const sf_tensor_set *want, const sf_tensor_set *got, const char *what, const char *ir)
{
    const sf_tensor *a = want->tensors.items[0], *b = sf_tensors_get(got, want->names.items[0]);
    assert_non_null(b);
    assert_int_equal(sf_tensor_numel(a), sf_tensor_numel(b));
    for (size_t i = 0; i < sf_tensor_numel(a); i++)
        if (!(fabsf(a->data[i] - b->data[i]) <= 1e-4f + 1e-4f * fabsf(a->data[i])))
            fail_msg("%s: element %zu is %g, the interpreter's %g, on\n%s", what, i, b->data[i], a->data[i], ir);
}

/* the model at one batch on oneDNN (`lib` names that side) and on the
 * generated code, each against the interpreter; whether plan kernel
 * `kernel` went through oneDNN. oneDNN is left on. */
static bool both_ways(sf_cpu_model *m, const sf_graph *g, const sf_tensor_set *w, int64_t batch, uint64_t seed,
                      size_t kernel, const char *lib, const char *ir)
{
    sf_error e = {0};
    sf_tensor_set *in = sf_tensors_new(), *want = sf_tensors_new();
    assert_int_equal(sf_random_inputs(g, batch, seed, in, &e), SF_OK);
    assert_int_equal(sf_interp_run(g, batch, in, w, want, &e), SF_OK);
    bool through = false;
    for (int on = 1; on >= 0; on--) {
        sf_tensor_set *got = sf_tensors_new();
        sf_cpu_set_dnnl(m, on);
        if (sf_cpu_run(m, batch, in, w, got, &e) != SF_OK)
            fail_msg("%s\n%s", e.msg, ir);
        same(want, got, on ? lib : "generated", ir);
        through |= on && sf_cpu_uses_dnnl(m, kernel);
        sf_tensors_free(got);
    }
    sf_cpu_set_dnnl(m, true);
    sf_tensors_free(in), sf_tensors_free(want);
    return through;
}

typedef struct counts {
    int models, runs, through_dnnl, two_threads, new_threads, computed, no_bias, conv2d, grouped, strided, dilated;
} counts;

/* one model: interpreter, oneDNN and generated code at batches that change
 * between runs, the last at the second's batch on 1 thread instead of 2
 * (oneDNN's primitives are made for a thread count: a change remakes
 * them); the weights changed in place before the last run */
static void check_model(const geom *q, unsigned *s, counts *c)
{
    const char *ir = model_text(q);
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "dnnl.sfir", &e);
    if (!g)
        fail_msg("%s\n%s", e.msg, ir);
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    if (!m)
        fail_msg("%s\n%s", e.msg, ir);
    sf_tensor_set *w = sf_tensors_new();
    assert_int_equal(sf_init_weights(g, 11 + *s % 97, w, &e), SF_OK);
    int64_t batches[3] = {1 + rnd(s, 3), 1 + rnd(s, 40), 0};
    batches[2] = batches[1];
    for (int r = 0; r < 3; r++) {
        sf_cpu_set_threads(m, r == 2 ? 1 : 2);
        if (r == 2) { /* the same tensor set with other values: oneDNN's reordered weight must follow */
            sf_tensor *t = w->tensors.items[0];
            for (size_t i = 0; i < sf_tensor_numel(t); i++)
                t->data[i] = -0.5f * t->data[i] + 0.01f;
        }
        c->through_dnnl += both_ways(m, g, w, batches[r], 5 + (uint64_t)r, q->weight_op, "oneDNN", ir);
        c->runs++;
        double flops = 2.0 * (double)batches[r] * q->O * (q->C / q->G) * q->K * out_len(q) *
                       (q->nd == 2 ? q->K * out_len(q) : 1);
        c->two_threads += flops >= 2e5 && r < 2;
        c->new_threads += flops >= 2e5 && r == 2; /* made for 2 threads, now run on 1 */
    }
    c->models++, c->computed += q->weight_op, c->no_bias += !q->bias, c->conv2d += q->nd == 2;
    c->grouped += q->G > 1, c->strided += q->S > 1, c->dilated += q->D > 1;
    sf_tensors_free(w);
    sf_cpu_free(m);
    sf_graph_free(g);
}

static void test_random_geometry(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    counts c = {0};
    unsigned s = 2026;
    for (int i = 0; i < 160; i++) {
        geom q = random_geom(&s);
        check_model(&q, &s, &c);
    }
    printf("  %d convolutions, %d runs (%d through oneDNN, %d large enough for 2 threads, %d of them run again on 1): "
           "%d conv2d, %d grouped, %d strided, %d dilated, %d without bias, %d with a computed weight\n", c.models,
           c.runs, c.through_dnnl, c.two_threads, c.new_threads, c.conv2d, c.grouped, c.strided, c.dilated, c.no_bias, c.computed);
    if (sf_dnnl_available()) {
        assert_true(c.through_dnnl >= c.runs * 9 / 10);
        assert_memory_equal(sf_dnnl_version(), "2.", 2); /* Debian's 2.6 or newer */
    }
    assert_true(c.two_threads > 20 && c.new_threads > 10 && c.conv2d > 40 && c.grouped > 40 && c.strided > 40 && c.dilated > 40);
    assert_true(c.no_bias > 20 && c.computed > 15);
}

/* a convolution with an epilogue oneDNN takes as post-ops: ReLU, a
 * residual add, or both; the residual a second input, or the conv's own
 * input (when the shapes allow), which lives in the arena when a sigmoid
 * makes it, so that the epilogue's result may take its place */
static char *epilogue_text(const geom *q, int pattern, bool own_input, bool staged)
{
    static char text[3072];
    char wd[64], xd[64], od[64], attrs[160];
    int ol = out_len(q);
    dims(q, q->O, q->C / q->G, q->K, wd), dims(q, 0, q->C, q->L, xd), dims(q, 0, q->O, ol, od);
    if (q->nd == 2)
        sprintf(attrs, "stride=[%d,%d], padding=[%d,%d], dilation=[%d,%d], groups=%d", q->S, q->S, q->P, q->P, q->D,
                q->D, q->G);
    else
        sprintf(attrs, "stride=[%d], padding=[%d], dilation=[%d], groups=%d", q->S, q->P, q->D, q->G);
    bool add = pattern != 0, relu = pattern != 1;
    int n = sprintf(text, "param @w : f32[%s]\nparam @b : f32[%d]\nfunc @epi(%%x: f32[B%s]%s%s%s) {\n", wd, q->O,
                    xd + 1, add && !own_input ? ", %r: f32[B" : "", add && !own_input ? od + 1 : "",
                    add && !own_input ? "]" : "");
    const char *in = "%x";
    if (staged)
        n += sprintf(text + n, "  %%s = sigmoid %%x : f32[B%s]\n", xd + 1), in = "%s";
    n += sprintf(text + n, "  %%0 = conv%dd %s, @w, @b {%s} : f32[B%s]\n", q->nd, in, attrs, od + 1);
    const char *last = "%0";
    if (add)
        n += sprintf(text + n, "  %%1 = add %s, %%0 : f32[B%s]\n", own_input ? in : "%r", od + 1), last = "%1";
    if (relu)
        n += sprintf(text + n, "  %%2 = relu %s : f32[B%s]\n", last, od + 1), last = "%2";
    sprintf(text + n, "  return %s\n}\n", last);
    return text;
}

/* random epilogues: oneDNN's post-ops against the generated kernels and the interpreter */
static void test_random_epilogues(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    unsigned s = 77;
    int models = 0, absorbed = 0, own = 0, staged_n = 0, adds = 0;
    for (int i = 0; i < 120; i++) {
        geom q = random_geom(&s);
        int pattern = (int)rnd(&s, 3);
        if (pattern != 0 && rnd(&s, 3) == 0) /* a 'same' convolution, as in a residual block */
            q.O = q.C, q.S = 1, q.D = 1, q.K = 1 + 2 * (int)rnd(&s, 2), q.P = (q.K - 1) / 2;
        bool fits = q.C == q.O && out_len(&q) == q.L, own_input = pattern != 0 && fits && rnd(&s, 4) != 0;
        bool staged = rnd(&s, 2);
        const char *ir = epilogue_text(&q, pattern, own_input, staged);
        sf_error e = {0};
        sf_graph *g = sf_parse(ir, strlen(ir), "epi.sfir", &e);
        if (!g)
            fail_msg("%s\n%s", e.msg, ir);
        sf_cpu_model *m = sf_cpu_compile(g, &e);
        if (!m)
            fail_msg("%s\n%s", e.msg, ir);
        sf_cpu_set_threads(m, 2);
        sf_tensor_set *w = sf_tensors_new();
        assert_int_equal(sf_init_weights(g, 3 + (uint64_t)i, w, &e), SF_OK);
        for (int r = 0; r < 2; r++) {
            int64_t batch = r ? 1 + rnd(&s, 30) : 1 + rnd(&s, 3);
            both_ways(m, g, w, batch, 9 + (uint64_t)r, 0, "oneDNN with post-ops", ir);
        }
        size_t conv = staged; /* its plan kernel */
        sf_cpu_set_dnnl(m, true);
        if (sf_dnnl_available()) {
            assert_true(sf_cpu_uses_dnnl(m, conv));
            assert_int_equal(m->absorbed[conv], (pattern != 1) + (pattern != 0)); /* @w and @b are parameters */
        }
        models++, absorbed += m->absorbed[conv], own += own_input, staged_n += staged, adds += pattern != 0;
        sf_tensors_free(w);
        sf_cpu_free(m);
        sf_graph_free(g);
    }
    printf("  %d convolutions with epilogues (%d with an add, %d adding their own input, %d reading a value in the "
           "arena): %d kernels run as post-ops\n", models, adds, own, staged_n, absorbed);
    assert_true(own > 5 && staged_n > 40 && adds > 60);
}

/* residual blocks of conv2d (ResNetLike's shape, random sizes): the result
 * a graph output, or averaged, or also read by generated code, so that
 * some activations may stay in oneDNN's layout and others must not */
static char *stack_text(unsigned *s, int *blocks_out, int *channels)
{
    static char text[8192];
    /* mostly multiples of 16 (kept in oneDNN's layout); 8 or 24: a plain source (cpu_dnnl.c's plain_source) */
    int C = rnd(s, 4) == 0 ? 8 * (1 + 2 * (int)rnd(s, 2)) : 16 * (1 + (int)rnd(s, 3)), H = 3 + (int)rnd(s, 6), blocks = 1 + (int)rnd(s, 3), end = (int)rnd(s, 3);
    int n = 0;
    n += sprintf(text + n, "param @w0 : f32[%d,3,3,3]\nparam @b0 : f32[%d]\n", C, C);
    for (int i = 1; i <= 2 * blocks; i++)
        n += sprintf(text + n, "param @w%d : f32[%d,%d,3,3]\nparam @b%d : f32[%d]\n", i, C, C, i, C);
    n += sprintf(text + n, "func @stack(%%x: f32[B,3,%d,%d]) {\n", H, H);
    const char *conv = "{stride=[1,1], padding=[1,1], dilation=[1,1], groups=1}";
    n += sprintf(text + n, "  %%c0 = conv2d %%x, @w0, @b0 %s : f32[B,%d,%d,%d]\n  %%h0 = relu %%c0 : f32[B,%d,%d,%d]\n",
                 conv, C, H, H, C, H, H);
    for (int i = 0; i < blocks; i++) {
        n += sprintf(text + n, "  %%p%d = conv2d %%h%d, @w%d, @b%d %s : f32[B,%d,%d,%d]\n", i, i, 2 * i + 1, 2 * i + 1,
                     conv, C, H, H);
        n += sprintf(text + n, "  %%q%d = relu %%p%d : f32[B,%d,%d,%d]\n", i, i, C, H, H);
        n += sprintf(text + n, "  %%r%d = conv2d %%q%d, @w%d, @b%d %s : f32[B,%d,%d,%d]\n", i, i, 2 * i + 2, 2 * i + 2,
                     conv, C, H, H);
        n += sprintf(text + n, "  %%a%d = add %%r%d, %%h%d : f32[B,%d,%d,%d]\n", i, i, i, C, H, H);
        n += sprintf(text + n, "  %%h%d = relu %%a%d : f32[B,%d,%d,%d]\n", i + 1, i, C, H, H);
    }
    if (end == 0)
        sprintf(text + n, "  return %%h%d\n}\n", blocks);
    else if (end == 1)
        sprintf(text + n, "  %%m = mean %%h%d {dims=[2,3], keepdim=false} : f32[B,%d]\n  return %%m\n}\n", blocks, C);
    else /* the first block's result read by generated code too: it stays plain */
        sprintf(text + n, "  %%g = sigmoid %%h1 : f32[B,%d,%d,%d]\n  %%o = add %%g, %%h%d : f32[B,%d,%d,%d]\n"
                "  return %%o\n}\n", C, H, H, blocks, C, H, H);
    *blocks_out = blocks, *channels = C;
    return text;
}

static void check_stack(sf_cpu_model *m, const sf_graph *g, const sf_tensor_set *w, int64_t batch, const char *ir)
{
    both_ways(m, g, w, batch, 4 + (uint64_t)batch, 0, "oneDNN, layouts kept", ir);
}

/* random residual stacks: activations kept in oneDNN's layout between its
 * convolutions give the interpreter's numbers; a convolution refused in
 * the middle of a run sends every one back to plain layouts and the run
 * starts over */
static void test_layouts_kept(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    unsigned s = 4242;
    int models = 0, kept = 0, restarted = 0, narrow = 0;
    for (int i = 0; i < 40; i++) {
        int blocks, C;
        const char *ir = stack_text(&s, &blocks, &C);
        sf_error e = {0};
        sf_graph *g = sf_parse(ir, strlen(ir), "stack.sfir", &e);
        if (!g)
            fail_msg("%s\n%s", e.msg, ir);
        sf_cpu_model *m = sf_cpu_compile(g, &e);
        assert_non_null(m);
        sf_cpu_set_threads(m, 2);
        sf_tensor_set *w = sf_tensors_new();
        assert_int_equal(sf_init_weights(g, 8 + (uint64_t)i, w, &e), SF_OK);
        bool blocked = m->blocked_layouts;
        kept += blocked;
        if (C % 16) /* every convolution reads NCHW, so no result stays blocked */
            assert_false(blocked), narrow++;
        check_stack(m, g, w, 1 + rnd(&s, 3), ir);
        if (blocked && i % 2) { /* the second conv's primitive at a new batch is refused */
            sf_dnnl_fail_next(1, true);
            check_stack(m, g, w, 7, ir);
            assert_false(m->blocked_layouts);
            restarted++;
        }
        check_stack(m, g, w, 5 + rnd(&s, 20), ir);
        models++;
        sf_tensors_free(w);
        sf_cpu_free(m);
        sf_graph_free(g);
    }
    printf("  %d residual stacks: %d keep activations in oneDNN's layout, %d restarted plain after a refusal, "
           "%d of 8 or 24 channels\n", models, kept, restarted, narrow);
    if (sf_dnnl_available())
        assert_true(kept > 20 && restarted > 5 && narrow > 5);
}

static const char TWO[] = "param @w : f32[8,4,3,3]\nparam @b : f32[8]\nfunc @two(%x: f32[B,4,9,9]) {\n"
                          "  %0 = conv2d %x, @w, @b {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,8,9,9]\n"
                          "  %1 = relu %0 : f32[B,8,9,9]\n"
                          "  %2 = conv2d %1, @w, @b {stride=[2,2], padding=[0,0], dilation=[1,1], groups=2} : f32[B,8,4,4]\n"
                          "  return %2\n}\n";

/* the interpreter's output on inputs `in` and weights `w` */
static sf_tensor_set *oracle(const sf_graph *g, int64_t batch, const sf_tensor_set *in, const sf_tensor_set *w)
{
    sf_error e = {0};
    sf_tensor_set *want = sf_tensors_new();
    assert_int_equal(sf_interp_run(g, batch, in, w, want, &e), SF_OK);
    return want;
}

/* sf_cpu_exec with the weights at one address, then another, then the
 * first again changed in place: each run's numbers are its weights' */
static void test_weights_move(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    sf_error e = {0};
    sf_graph *g = sf_parse(TWO, strlen(TWO), "two.sfir", &e);
    assert_non_null(g);
    sf_tensor_set *a = sf_tensors_new(), *b = sf_tensors_new(), *in = sf_tensors_new();
    assert_int_equal(sf_init_weights(g, 1, a, &e), SF_OK);
    assert_int_equal(sf_init_weights(g, 2, b, &e), SF_OK);
    assert_int_equal(sf_random_inputs(g, 3, 3, in, &e), SF_OK);
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    assert_non_null(m);
    const float *x[1] = {sf_tensors_get(in, "x")->data};
    float out[3 * 8 * 16];
    for (int r = 0; r < 3; r++) {
        sf_tensor_set *w = r == 1 ? b : a;
        if (r == 2)
            sf_tensors_get(a, "w")->data[5] += 1.0f;
        const float *p[2] = {sf_tensors_get(w, "w")->data, sf_tensors_get(w, "b")->data};
        float *o[1] = {out};
        if (r == 2) { /* a run from sets: the weights may have changed in place, so they are read again */
            sf_tensor_set *got = sf_tensors_new();
            assert_int_equal(sf_cpu_run(m, 3, in, a, got, &e), SF_OK);
            sf_tensors_free(got);
        }
        assert_int_equal(sf_cpu_exec(m, 3, x, p, o, &e), SF_OK);
        sf_tensor_set *want = oracle(g, 3, in, w);
        const sf_tensor *t = want->tensors.items[0];
        assert_close(out, t->data, sf_tensor_numel(t), 1e-4, 1e-4);
        sf_tensors_free(want);
    }
    sf_cpu_free(m);
    sf_tensors_free(a), sf_tensors_free(b), sf_tensors_free(in);
    sf_graph_free(g);
}

/* a convolution oneDNN refuses at a batch runs the generated code, from
 * then on, with the same numbers */
static void test_refused_falls_back(void **state)
{
    (void)state;
    if (!sf_cpu_available() || !sf_dnnl_available())
        skip();
    sf_error e = {0};
    sf_graph *g = sf_parse(TWO, strlen(TWO), "two.sfir", &e);
    sf_tensor_set *w = sf_tensors_new(), *in = sf_tensors_new();
    assert_int_equal(sf_init_weights(g, 1, w, &e), SF_OK);
    assert_int_equal(sf_random_inputs(g, 2, 3, in, &e), SF_OK);
    sf_tensor_set *want = oracle(g, 2, in, w);
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    for (int r = 0; r < 2; r++) {
        sf_tensor_set *got = sf_tensors_new();
        if (r == 1)
            sf_dnnl_fail_next(0, true); /* the first conv's primitive at batch 2 */
        assert_int_equal(sf_cpu_run(m, 2, in, w, got, &e), SF_OK);
        const sf_tensor *t = want->tensors.items[0], *u = got->tensors.items[0];
        assert_close(u->data, t->data, sf_tensor_numel(t), 1e-4, 1e-4);
        assert_true(sf_cpu_uses_dnnl(m, 2)); /* kernels: conv, relu, conv */
        assert_int_equal(sf_cpu_uses_dnnl(m, 0), r == 0);
        sf_tensors_free(got);
        if (r == 0) { /* at batch 1 first, so batch 2 makes new primitives */
            sf_tensor_set *in1 = sf_tensors_new(), *got1 = sf_tensors_new();
            assert_int_equal(sf_random_inputs(g, 1, 3, in1, &e), SF_OK);
            assert_int_equal(sf_cpu_run(m, 1, in1, w, got1, &e), SF_OK);
            sf_tensors_free(in1), sf_tensors_free(got1);
        }
    }
    assert_false(sf_cpu_uses_dnnl(m, 1));
    assert_string_not_equal(sf_dnnl_conv_impl(m->dnnl[2]), "");
    /* a oneDNN failure that is no refusal is the run's error, naming the convolution (the second: the first runs
     * generated code now); the next run makes the primitive again */
    sf_tensor_set *in4 = sf_tensors_new(), *got = sf_tensors_new();
    assert_int_equal(sf_random_inputs(g, 4, 3, in4, &e), SF_OK);
    sf_dnnl_fail_next(0, false);
    assert_int_equal(sf_cpu_run(m, 4, in4, w, got, &e), SF_ERR_RUNTIME);
    assert_contains(e.msg, "cpu backend: oneDNN refuses the convolution conv2d(f32[B,8,9,9],f32[8,4,3,3],f32[8]) -> f32[B,8,4,4] "
                            "{stride=[2,2], padding=[0,0], dilation=[1,1], groups=2}: status 5");
    sf_tensors_free(got);
    got = sf_tensors_new();
    assert_int_equal(sf_cpu_run(m, 4, in4, w, got, &e), SF_OK);
    sf_tensor_set *want4 = oracle(g, 4, in4, w);
    assert_close(((sf_tensor *)got->tensors.items[0])->data, ((sf_tensor *)want4->tensors.items[0])->data,
                 sf_tensor_numel(want4->tensors.items[0]), 1e-4, 1e-4);
    assert_true(sf_cpu_uses_dnnl(m, 2));
    sf_tensors_free(in4), sf_tensors_free(got), sf_tensors_free(want4);
    sf_cpu_free(m);
    sf_tensors_free(w), sf_tensors_free(in), sf_tensors_free(want);
    sf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_geometry),
        cmocka_unit_test(test_random_epilogues),
        cmocka_unit_test(test_layouts_kept),
        cmocka_unit_test(test_weights_move),
        cmocka_unit_test(test_refused_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
