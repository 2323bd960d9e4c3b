/* Reverse-mode differentiation (passes/grad.c): the gradients of every op
 * case (tests/op_cases.c), of every parameter and input, against central
 * differences of the forward on the interpreter; the backward graph on the
 * CPU backend (as built and after -O2) and the host build of the CUDA C
 * against the interpreter on it; and the refusals. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_host.h"
#include "op_cases.h"
#include "passes/pass.h"
#include "randmodel.h"
#include "runtime/cpu.h"

static uint64_t rng = 88172645463325252ull;
static float uniform(void) /* in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* one seed per f32 output, "grad.<output name>", random */
static sf_tensor_set *seeds_for(const sf_graph *g, int64_t batch)
{
    sf_error e = {0};
    sf_tensor_set *s = sf_tensors_new();
    for (size_t i = 0; i < g->outputs.len; i++) {
        const sf_value *v = g->outputs.items[i];
        if (v->type.dtype != SF_F32)
            continue;
        char name[80];
        sf_grad_seed_name(g, i, name, sizeof name);
        sf_tensor *t = sf_tensors_add_value(s, name, v, batch, NULL, &e);
        assert_non_null(t);
        for (size_t j = 0; j < sf_tensor_numel(t); j++)
            t->data[j] = uniform();
    }
    return s;
}

/* L = sum over f32 outputs of seed * output, in double, on the interpreter */
static double loss(const sf_graph *g, int64_t batch, const sf_tensor_set *in, const sf_tensor_set *w,
                   const sf_tensor_set *seeds)
{
    sf_error e = {0};
    sf_tensor_set *out = sf_tensors_new();
    if (sf_interp_run(g, batch, in, w, out, &e) != SF_OK)
        fail_msg("forward: %s", e.msg);
    double L = 0;
    for (size_t i = 0; i < g->outputs.len; i++) {
        char name[64], sname[80];
        sf_output_name(g, i, name, sizeof name);
        sf_grad_seed_name(g, i, sname, sizeof sname);
        const sf_tensor *s = sf_tensors_get(seeds, sname), *y = sf_tensors_get(out, name);
        for (size_t j = 0; s && j < sf_tensor_numel(y); j++)
            L += (double)s->data[j] * (double)y->data[j];
    }
    sf_tensors_free(out);
    return L;
}

typedef struct tally {
    int checked, rough; /* samples compared; samples where the forward is not smooth at the point */
} tally;

/* dL/dt[j] by central differences at h and h/2 (Richardson), against `want`. Where the two differ, a kink
 * or a jump of the forward lies within h (relu at 0, floor, an index): only counted. A kink exactly at the
 * point (relu of an exact 0) fools both alike; there the rule takes one side's slope, as PyTorch does, so
 * the one-sided differences at h/2 are accepted too. */
static void check_element(const char *what, const sf_graph *g, int64_t batch, sf_tensor_set *in, sf_tensor_set *w,
                          const sf_tensor_set *seeds, float *x, float want, tally *t)
{
    const float v = *x, hs[2] = {1e-2f, 5e-3f};
    double f[2][2], d[2];
    for (int k = 0; k < 2; k++) {
        for (int side = 0; side < 2; side++) {
            *x = side ? v - hs[k] : v + hs[k];
            f[k][side] = loss(g, batch, in, w, seeds);
        }
        d[k] = (f[k][0] - f[k][1]) / (double)((v + hs[k]) - (v - hs[k]));
    }
    *x = v;
    double f0 = loss(g, batch, in, w, seeds);
    double fd = (4 * d[1] - d[0]) / 3, scale = 1 + fabs(fd);
    if (!isfinite(fd) || fabs(d[0] - d[1]) > 2e-2 * scale) {
        t->rough++;
        return;
    }
    t->checked++;
    double up = (f[1][0] - f0) / (double)((v + hs[1]) - v), down = (f0 - f[1][1]) / (double)(v - (v - hs[1]));
    double tol = 1e-2 * scale;
    if (!(fabs((double)want - fd) <= tol || fabs((double)want - up) <= tol || fabs((double)want - down) <= tol))
        fail_msg("%s: gradient %.6g, central differences %.6g (one-sided %.6g, %.6g)", what, (double)want, fd, up,
                 down);
}

/* the gradient of every f32 parameter and input, a few elements of each */
static void check_gradients(const char *name, const sf_graph *g, const sf_graph *bwd, int64_t batch,
                            sf_tensor_set *in, sf_tensor_set *w, const sf_tensor_set *seeds,
                            const sf_tensor_set *got, size_t per_tensor, tally *t)
{
    size_t at = g->outputs.len, tensors = 0, every;
    for (int pass = 0; pass < 2; pass++)
        tensors += pass == 0 ? g->params.len : g->inputs.len;
    every = tensors > 12 ? (tensors + 11) / 12 : 1; /* at most about 12 tensors a model: differences are slow */
    for (int pass = 0; pass < 2; pass++) {
        const sf_vec *vs = pass == 0 ? &g->params : &g->inputs;
        for (size_t i = 0; i < vs->len; i++) {
            const sf_value *v = vs->items[i];
            if (v->type.dtype != SF_F32)
                continue;
            char out[64], what[256];
            sf_output_name(bwd, at++, out, sizeof out);
            if ((pass == 0 ? i : g->params.len + i) % every != 0 && !(pass == 1 && i == 0))
                continue; /* the first input always */
            sf_tensor *x = sf_tensors_get(pass == 0 ? w : in, v->def->name);
            const sf_tensor *dx = sf_tensors_get(got, out);
            assert_non_null(dx);
            assert_int_equal(sf_tensor_numel(dx), sf_tensor_numel(x));
            size_t n = sf_tensor_numel(x);
            for (size_t s = 0; s < (n < per_tensor ? n : per_tensor); s++) {
                size_t j = (s * 7919 + i * 31) % n;
                snprintf(what, sizeof what, "%s: d/d%s%s[%zu]", name, pass == 0 ? "@" : "%", v->def->name, j);
                check_element(what, g, batch, in, w, seeds, &x->data[j], dx->data[j], t);
            }
        }
    }
}

/* inputs of the backward: the forward's and the seeds */
static sf_tensor_set *joined(const sf_tensor_set *a, const sf_tensor_set *b)
{
    sf_error e = {0};
    sf_tensor_set *s = sf_tensors_new();
    for (int k = 0; k < 2; k++) {
        const sf_tensor_set *from = k == 0 ? a : b;
        for (size_t i = 0; i < from->tensors.len; i++) {
            const sf_tensor *t = from->tensors.items[i];
            assert_non_null(sf_tensors_add(s, from->names.items[i], t->rank, t->dim, t->data, &e));
        }
    }
    return s;
}

static sf_graph *backward_of(const sf_graph *g, bool inputs, sf_error *e)
{
    sf_module m = {.g = sf_graph_copy(g, "backward", e)};
    sf_grad_opts o = {.inputs = inputs};
    if (!m.g || sf_grad(&m, &o, e) != SF_OK) {
        sf_graph_free(m.g);
        return NULL;
    }
    return m.g;
}

static void same_outputs(const char *name, const char *who, const sf_tensor_set *got, const sf_tensor_set *want)
{
    for (size_t i = 0; i < want->tensors.len; i++) {
        const sf_tensor *a = want->tensors.items[i], *b = sf_tensors_get(got, want->names.items[i]);
        sf_mismatch mm;
        if (!b || sf_tensor_numel(a) != sf_tensor_numel(b))
            fail_msg("%s: %s output %zu missing or mis-shaped", name, who, i);
        if (!sf_compare_values(b->data, a->data, sf_tensor_numel(a), &mm))
            fail_msg("%s: %s output %zu element %zu: %g, interpreter %g", name, who, i, mm.index, mm.got, mm.want);
    }
}

/* the backward graph on the CPU backend after -O2 against the interpreter on it; with `all`, also as built
 * and as CUDA C on the host */
static void check_backends(const char *name, const sf_graph *bwd, int64_t batch, const sf_tensor_set *in,
                           const sf_tensor_set *w, const sf_tensor_set *want, bool all, int *runs)
{
    sf_error e = {0};
    sf_tensor_set *w2 = sf_tensors_new();
    for (size_t i = 0; i < w->tensors.len; i++) {
        const sf_tensor *t = w->tensors.items[i];
        assert_non_null(sf_tensors_add(w2, w->names.items[i], t->rank, t->dim, t->data, &e));
    }
    sf_module opt = {.g = sf_graph_copy(bwd, "backward -O2", &e), .weights = w2};
    sf_pipeline_opts o2 = {.opt_level = 2, .verify_each = true};
    if (!opt.g || sf_run_pipeline(&opt, &o2, &e) != SF_OK)
        fail_msg("%s: backward -O2: %s", name, e.msg);
    const char *why;
    for (int k = all ? 0 : 1; k < 2; k++) { /* all: as built too, and the CUDA C */
        const sf_graph *g = k == 0 ? bwd : opt.g;
        const sf_tensor_set *wk = k == 0 ? w : w2;
        if (sf_cpu_available()) {
            sf_cpu_model *m = sf_cpu_compile(g, &e);
            sf_tensor_set *got = sf_tensors_new();
            if (!m || sf_cpu_run(m, batch, in, wk, got, &e) != SF_OK)
                fail_msg("%s: backward on the cpu backend%s: %s", name, k ? " -O2" : "", e.msg);
            same_outputs(name, k ? "cpu -O2" : "cpu", got, want);
            sf_tensors_free(got), sf_cpu_free(m);
            ++*runs;
        }
        if (all && cuda_host_available(&why)) {
            sf_tensor_set *got = sf_tensors_new();
            char *problem = cuda_host_run(g, batch, in, wk, 2, got);
            if (problem)
                fail_msg("%s: backward as cuda on the host: %s", name, problem);
            same_outputs(name, k ? "cuda -O2" : "cuda", got, want);
            sf_tensors_free(got);
            ++*runs;
        }
    }
    sf_graph_free(opt.g), sf_tensors_free(w2);
}

static bool has_op(const char *ir, const char *op)
{
    char pat[64];
    snprintf(pat, sizeof pat, "= %s ", op);
    return strstr(ir, pat) != NULL;
}

static void test_every_op_case(void **state)
{
    (void)state;
    tally t = {0};
    int cases = 0, refused = 0, runs = 0;
    for (size_t k = 0; k < sf_op_case_count; k++) {
        const op_case *c = &sf_op_cases[k];
        sf_error e = {0};
        sf_graph *g = sf_parse(c->ir, strlen(c->ir), c->name, &e);
        assert_non_null(g);
        sf_graph *bwd = backward_of(g, true, &e);
        if (has_op(c->ir, "conv1d") || has_op(c->ir, "conv2d")) { /* no rule yet: refused, by name */
            assert_null(bwd);
            assert_int_equal(e.code, SF_ERR_UNSUPPORTED);
            assert_contains(e.msg, "grad: conv");
            assert_contains(e.msg, "no gradient rule for this op yet");
            refused++;
            sf_graph_free(g);
            continue;
        }
        if (!bwd)
            fail_msg("%s: %s", c->name, e.msg);
        const int64_t batch = 3;
        sf_tensor_set *w = sf_op_case_weights(g, (int)k), *in = sf_tensors_new();
        assert_int_equal(sf_random_inputs(g, batch, (uint64_t)k * 10 + 7, in, &e), SF_OK);
        sf_tensor_set *seeds = seeds_for(g, batch), *bin = joined(in, seeds), *got = sf_tensors_new();
        if (sf_interp_run(bwd, batch, bin, w, got, &e) != SF_OK)
            fail_msg("%s: backward on the interpreter: %s", c->name, e.msg);
        if (isfinite(loss(g, batch, in, w, seeds))) {
            check_gradients(c->name, g, bwd, batch, in, w, seeds, got, 5, &t);
            check_backends(c->name, bwd, batch, bin, w, got, true, &runs);
            cases++;
        }
        sf_tensors_free(w), sf_tensors_free(in), sf_tensors_free(seeds), sf_tensors_free(bin), sf_tensors_free(got);
        sf_graph_free(g), sf_graph_free(bwd);
    }
    printf("  %d op cases differentiated (%d refused: convolutions), %d gradient elements checked, %d at kinks; "
           "%d backend runs of their backward\n", cases, refused, t.checked, t.rough, runs);
    assert_true(t.rough * 10 < t.checked);
}

/* one model end to end: its backward on the interpreter against central differences, and on the backends;
 * false when the backward is refused (a convolution) */
static bool differentiate(const char *name, sf_graph *g, sf_tensor_set *w, int64_t batch, uint64_t seed,
                          size_t per_tensor, tally *t, int *runs)
{
    sf_error e = {0};
    sf_graph *bwd = backward_of(g, true, &e);
    if (!bwd) {
        if (e.code == SF_ERR_UNSUPPORTED && strstr(e.msg, "grad: conv"))
            return false;
        fail_msg("%s: %s", name, e.msg);
    }
    sf_tensor_set *in = sf_tensors_new();
    assert_int_equal(sf_random_inputs(g, batch, seed, in, &e), SF_OK);
    sf_tensor_set *seeds = seeds_for(g, batch), *bin = joined(in, seeds), *got = sf_tensors_new();
    if (sf_interp_run(bwd, batch, bin, w, got, &e) != SF_OK)
        fail_msg("%s: backward on the interpreter: %s", name, e.msg);
    check_gradients(name, g, bwd, batch, in, w, seeds, got, per_tensor, t);
    check_backends(name, bwd, batch, bin, w, got, false, runs);
    sf_tensors_free(in), sf_tensors_free(seeds), sf_tensors_free(bin), sf_tensors_free(got);
    sf_graph_free(bwd);
    return true;
}

/* the random differential models (tests/randmodel.c, randwide.c), every family */
static void test_random_models(void **state)
{
    (void)state;
    tally t = {0};
    int models = 0, refused = 0, runs = 0;
    for (int family = 0; family < SF_RAND_FAMILIES; family++)
        for (uint64_t seed = 0; seed < (family == 0 ? 32u : 12u); seed++) {
            int64_t batch;
            char name[64];
            char *ir = sf_test_random_family(family, seed, &batch, name, sizeof name);
            sf_error e = {0};
            sf_graph *g = sf_parse(ir, strlen(ir), name, &e);
            if (!g)
                fail_msg("%s: %s", name, e.msg);
            sf_tensor_set *w = sf_tensors_new();
            assert_int_equal(sf_init_weights(g, seed + 1, w, &e), SF_OK);
            if (batch > 16)
                batch = 16; /* central differences run the interpreter four times per element */
            if (differentiate(name, g, w, batch, seed * 3 + 1, 2, &t, &runs))
                models++;
            else
                refused++;
            sf_tensors_free(w), sf_graph_free(g), free(ir);
        }
    printf("  %d random models differentiated (%d with convolutions refused), %d gradient elements checked, %d at "
           "kinks; %d backend runs of their backward\n", models, refused, t.checked, t.rough, runs);
    assert_true(models >= 40 && t.rough * 10 < t.checked);
}

/* each loss: its value by hand on one row, and its gradients through a linear layer */
static void test_losses(void **state)
{
    (void)state;
    static const char *kinds[] = {"mse", "l1", "smooth_l1", "cross_entropy", "cross_entropy_probs", "bce_with_logits"};
    /* y = [0.5, -1, 2], target [1, 1, 0] (cross_entropy: class 2) */
    double lse = log(exp(0.5) + exp(-1.0) + exp(2.0));
    const double want[6] = {(0.25 + 4 + 4) / 3, (0.5 + 2 + 2) / 3, (0.125 + 1.5 + 1.5) / 3, lse - 2,
                            -((0.5 - lse) + (-1 - lse)),
                            ((0.5 - 0.5 + log1p(exp(-0.5))) + (0 + 1 + log1p(exp(-1.0))) + (2 - 0 + log1p(exp(-2.0)))) / 3};
    tally t = {0};
    int runs = 0;
    for (int k = 0; k < 6; k++) {
        sf_error e = {0};
        const char *ir = "func @f(%x: f32[B,3]) {\n  %0 = mul %x, %x : f32[B,3]\n  return %x\n}\n";
        sf_module m = {.g = sf_parse(ir, strlen(ir), "loss", &e)};
        assert_int_equal(sf_add_loss(&m, kinds[k], &e), SF_OK);
        bool idx = k == 3;
        sf_tensor_set *in = tset(2, (tensor_lit[]){LIT("x", 2, DIMS(1, 3), 0.5f, -1, 2),
                                                    idx ? LIT("target", 1, DIMS(1), 2) : LIT("target", 2, DIMS(1, 3), 1, 1, 0)});
        sf_tensor_set *out = sf_tensors_new();
        assert_int_equal(sf_interp_run(m.g, 1, in, NULL, out, &e), SF_OK);
        const sf_tensor *L = sf_tensors_get(out, "output");
        assert_int_equal(L->rank, 0);
        if (fabs(L->data[0] - want[k]) > 1e-5)
            fail_msg("loss %s: %.7g, want %.7g", kinds[k], L->data[0], want[k]);
        sf_tensors_free(in), sf_tensors_free(out), sf_graph_free(m.g);
        /* gradients through a layer, at batch 4, against central differences */
        const char *lin = "param @w : f32[3,5]\nparam @b : f32[3]\nfunc @f(%x: f32[B,5]) {\n"
                          "  %0 = linear %x, @w, @b : f32[B,3]\n  return %0\n}\n";
        sf_module n = {.g = sf_parse(lin, strlen(lin), kinds[k], &e)};
        assert_int_equal(sf_add_loss(&n, kinds[k], &e), SF_OK);
        sf_tensor_set *w = sf_tensors_new();
        assert_int_equal(sf_init_weights(n.g, 5, w, &e), SF_OK);
        sf_graph *bwd = backward_of(n.g, true, &e);
        assert_non_null(bwd);
        sf_tensor_set *rin = sf_tensors_new();
        assert_int_equal(sf_random_inputs(n.g, 4, 11, rin, &e), SF_OK);
        sf_tensor *target = sf_tensors_get(rin, "target");
        for (size_t j = 0; j < sf_tensor_numel(target); j++) /* indices, or probabilities and labels in [0, 1] */
            target->data[j] = idx ? (float)(j % 3) : (float)((j * 5 % 7) / 6.0);
        sf_tensor_set *seeds = seeds_for(n.g, 4), *bin = joined(rin, seeds), *got = sf_tensors_new();
        assert_int_equal(sf_interp_run(bwd, 4, bin, w, got, &e), SF_OK);
        check_gradients(kinds[k], n.g, bwd, 4, rin, w, seeds, got, 6, &t);
        check_backends(kinds[k], bwd, 4, bin, w, got, true, &runs);
        sf_tensors_free(rin), sf_tensors_free(seeds), sf_tensors_free(bin), sf_tensors_free(got), sf_tensors_free(w);
        sf_graph_free(bwd), sf_graph_free(n.g);
    }
    assert_true(t.checked > 100);
}

/* products without a batch (a parameter's product alone), checked like the op cases */
static void test_unbatched_products(void **state)
{
    (void)state;
    static const char *irs[] = {
        "param @v : f32[4]\nparam @w : f32[3,4]\nfunc @f(%x: f32[B,3]) {\n  %0 = linear @v, @w : f32[3]\n"
        "  %1 = mul %x, %0 : f32[B,3]\n  return %1\n}\n",
        "param @v : f32[2,4]\nparam @w : f32[2,3,4]\nparam @b : f32[2,3]\nfunc @f(%x: f32[B,2,3]) {\n"
        "  %0 = grouped_linear @v, @w, @b {shared=false} : f32[2,3]\n  %1 = mul %x, %0 : f32[B,2,3]\n  return %1\n}\n",
    };
    tally t = {0};
    int runs = 0;
    for (int k = 0; k < 2; k++) {
        sf_error e = {0};
        sf_graph *g = sf_parse(irs[k], strlen(irs[k]), "unbatched", &e);
        if (!g)
            fail_msg("%s", e.msg);
        sf_tensor_set *w = sf_tensors_new();
        assert_int_equal(sf_init_weights(g, 3, w, &e), SF_OK);
        assert_true(differentiate("unbatched", g, w, 2, 9, 6, &t, &runs));
        sf_tensors_free(w), sf_graph_free(g);
    }
    assert_true(t.checked >= 20);
}

/* what sf_grad and sf_add_loss refuse, each by name */
static void test_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    const char *seeded = "func @f(%x: f32[B,2], %grad.output: f32[B,2]) {\n  %0 = tanh %x : f32[B,2]\n  return %0\n}\n";
    sf_graph *g = sf_parse(seeded, strlen(seeded), "seeded", &e);
    assert_non_null(g);
    assert_null(backward_of(g, false, &e));
    assert_contains(e.msg, "grad: the seed of output");
    assert_contains(e.msg, "grad.output");
    sf_graph_free(g);
    const char *two = "func @f(%x: f32[B,2]) {\n  %0 = tanh %x : f32[B,2]\n  return %0, %x\n}\n";
    sf_module m = {.g = sf_parse(two, strlen(two), "two", &e)};
    assert_int_equal(sf_add_loss(&m, "mse", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "loss mse: the model has 2 outputs; a loss takes one f32 output");
    assert_int_equal(sf_add_loss(&m, "hinge", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "loss 'hinge': expected one of mse, l1, smooth_l1, cross_entropy");
    sf_graph_free(m.g);
    const char *rank3 = "func @f(%x: f32[B,2,3]) {\n  %0 = tanh %x : f32[B,2,3]\n  return %0\n}\n";
    m.g = sf_parse(rank3, strlen(rank3), "rank3", &e);
    assert_int_equal(sf_add_loss(&m, "cross_entropy", &e), SF_ERR_SHAPE);
    assert_contains(e.msg, "loss cross_entropy: the output f32[B,2,3] is not [rows, classes]");
    sf_graph_free(m.g);
    const char *targeted = "func @f(%target: f32[B,2]) {\n  %0 = tanh %target : f32[B,2]\n  return %0\n}\n";
    m.g = sf_parse(targeted, strlen(targeted), "targeted", &e);
    assert_int_equal(sf_add_loss(&m, "l1", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "already has an input named 'target'");
    sf_graph_free(m.g);
}

/* what the backward holds: the seeds after the inputs, zeros for a parameter no output reads, no gradient
 * into a mask or an index, and the outputs in their documented order */
static void test_signature(void **state)
{
    (void)state;
    sf_error e = {0};
    const char *ir = "param @w : f32[2,3]\nparam @unused : f32[4]\nfunc @f(%x: f32[B,3], %i: f32[B,1]) {\n"
                     "  %0 = linear %x, @w : f32[B,2]\n  %1 = gather %0, %i {dim=1} : f32[B,1]\n"
                     "  %2 = gt %0, %0 : bool[B,2]\n  return %1, %2\n}\n";
    sf_graph *g = sf_parse(ir, strlen(ir), "sig", &e);
    sf_graph *bwd = backward_of(g, true, &e);
    if (!bwd)
        fail_msg("%s", e.msg);
    assert_int_equal(bwd->inputs.len, 3); /* x, i, grad.output.0: the mask output takes no seed */
    assert_string_equal(((sf_value *)bwd->inputs.items[2])->def->name, "grad.output.0");
    assert_int_equal(bwd->outputs.len, 2 + 2 + 2);
    sf_tensor_set *w = tset(2, (tensor_lit[]){LIT("w", 2, DIMS(2, 3), 1, 2, 3, 4, 5, 6), LIT("unused", 1, DIMS(4), 0, 0, 0, 0)});
    sf_tensor_set *in = tset(3, (tensor_lit[]){LIT("x", 2, DIMS(1, 3), 1, 0, -1), LIT("i", 2, DIMS(1, 1), 1),
                                               LIT("grad.output.0", 2, DIMS(1, 1), 2)});
    sf_tensor_set *out = sf_tensors_new();
    assert_int_equal(sf_interp_run(bwd, 1, in, w, out, &e), SF_OK);
    /* y = x W^T = [-2, -2]; the gather takes y[1]: dW row 1 = 2 x, row 0 = 0; dx = 2 W[1] */
    EXPECT(out, "output.2", 2, DIMS(2, 3), 0, 0, 0, 2, 0, -2);
    EXPECT(out, "output.3", 1, DIMS(4), 0, 0, 0, 0);
    EXPECT(out, "output.4", 2, DIMS(1, 3), 8, 10, 12);
    EXPECT(out, "output.5", 2, DIMS(1, 1), 0); /* the index takes none */
    sf_tensors_free(w), sf_tensors_free(in), sf_tensors_free(out);
    sf_graph_free(g), sf_graph_free(bwd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_signature), cmocka_unit_test(test_refusals),
                                       cmocka_unit_test(test_losses), cmocka_unit_test(test_unbatched_products),
                                       cmocka_unit_test(test_every_op_case),
                                       cmocka_unit_test(test_random_models)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
