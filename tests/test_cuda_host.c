/* The generated CUDA C's numerics without a GPU: the translation unit
 * sf_cuda_emit writes, compiled by the host C++ compiler and run through
 * the CUDA executor's plan (tests/cuda_host.c), must match PyTorch on the
 * golden cases and the interpreter on random models. The plan itself is
 * checked here too: launches, grids, the table's pointers. Skips, saying
 * why, where there is no host C++ compiler. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_host.h"
#include "runtime/cpu.h"
#include "runtime/cuda_plan.h"
#include "golden_case.h"
#include "runtime/model.h"
#include "passes/pass.h"
#include "randmodel.h"

static bool host_or_skip(void)
{
    const char *why;
    if (cuda_host_available(&why))
        return true;
    printf("  cuda on the host: skipped: %s\n", why);
    return false;
}

static sf_tensor_set *host_run(const sf_graph *g, int64_t batch, const sf_tensor_set *in, const sf_tensor_set *w,
                               unsigned max_grid, const char *what)
{
    sf_tensor_set *out = sf_tensors_new();
    char *problem = cuda_host_run(g, batch, in, w, max_grid, out);
    if (problem)
        fail_msg("%s: %s", what, problem);
    return out;
}

static void golden_on_host(golden_case *c, void *ctx)
{
    (void)ctx;
    for (int level = 0; level <= 2; level += 2) {
        if (level == 2)
            golden_optimise(c);
        char what[96];
        snprintf(what, sizeof what, "%s -O%d", c->name, level);
        sf_tensor_set *got = host_run(c->model->graph, c->batch, c->inputs, c->weights, 3, what);
        golden_check(c, got);
        sf_tensors_free(got);
    }
    printf("  cuda on the host: golden %-18s matches PyTorch at -O0 and -O2\n", c->name);
}

/* every golden case at -O0 and -O2, with grids of at most 3 blocks so that
 * most kernels go round their grid-stride loop */
static void test_golden_cases(void **state)
{
    (void)state;
    if (!host_or_skip())
        skip();
    assert_true(golden_each(golden_on_host, NULL) >= 13);
}

static void compare(const sf_tensor_set *got, const sf_tensor_set *want, const char *what)
{
    assert_int_equal(sf_tensors_count(got), sf_tensors_count(want));
    for (size_t i = 0; i < want->tensors.len; i++) {
        const sf_tensor *x = want->tensors.items[i], *y = sf_tensors_get(got, want->names.items[i]);
        if (!y || sf_tensor_numel(x) != sf_tensor_numel(y))
            fail_msg("%s: output %zu is missing or mis-shaped", what, i);
        assert_close(y->data, x->data, sf_tensor_numel(x), 1e-4, 1e-5);
    }
}

enum { RANDOM_CASES = 40 };

/* a random model's IR as parsed (*g0, -O0) and optimised (the module's
 * graph, -O2), with weights from the seed */
static sf_module both_levels(const char *ir, uint64_t seed, sf_graph **g0)
{
    sf_error e = {0};
    sf_graph *g2 = (*g0 = sf_parse(ir, strlen(ir), "random.sfir", &e)) ? sf_parse(ir, strlen(ir), "r", &e) : NULL;
    if (!*g0 || !g2)
        fail_msg("seed %llu: %s", (unsigned long long)seed, e.msg);
    sf_module m = {.g = g2, .weights = sf_tensors_new()};
    sf_pipeline_opts o = {.opt_level = 2};
    assert_int_equal(sf_init_weights(*g0, seed, m.weights, &e), SF_OK);
    if (sf_run_pipeline(&m, &o, &e) != SF_OK)
        fail_msg("seed %llu: %s", (unsigned long long)seed, e.msg);
    return m;
}

/* random models at -O2 (every fourth also at -O0) against the interpreter on the -O0 graph */
static void test_random_models(void **state)
{
    (void)state;
    if (!host_or_skip())
        skip();
    for (uint64_t seed = 1; seed <= RANDOM_CASES; seed++) {
        char *ir = sf_test_random_model(seed), what[64];
        sf_error e = {0};
        sf_graph *g0;
        sf_module m = both_levels(ir, seed, &g0);
        sf_tensor_set *in = sf_tensors_new(), *want = sf_tensors_new();
        assert_int_equal(sf_random_inputs(g0, 3, seed, in, &e), SF_OK);
        assert_int_equal(sf_interp_run(g0, 3, in, m.weights, want, &e), SF_OK);
        snprintf(what, sizeof what, "random model %llu -O2", (unsigned long long)seed);
        sf_tensor_set *got = host_run(m.g, 3, in, m.weights, (unsigned)(1 + seed % 3), what);
        compare(got, want, what);
        sf_tensors_free(got);
        if (seed % 4 == 0) {
            snprintf(what, sizeof what, "random model %llu -O0", (unsigned long long)seed);
            got = host_run(g0, 3, in, m.weights, 2, what);
            compare(got, want, what);
            sf_tensors_free(got);
        }
        sf_tensors_free(in), sf_tensors_free(want), sf_tensors_free(m.weights);
        sf_graph_free(g0), sf_graph_free(m.g);
        free(ir);
    }
    printf("  cuda on the host: %d random models match the interpreter at -O2, %d also at -O0\n", RANDOM_CASES,
           RANDOM_CASES / 4);
}

enum { WIDE_CASES = 24, OPS_CASES = 16 };

/* the wide random models (tests/randwide.c) at -O2 at their own batch,
 * against the interpreter on the -O0 graph */
static void test_wide_models(void **state)
{
    (void)state;
    if (!host_or_skip())
        skip();
    for (uint64_t k = 1; k <= WIDE_CASES + OPS_CASES; k++) {
        uint64_t seed = k * 7; /* a spread of the CPU test's seeds */
        int64_t batch;
        char *ir = k <= WIDE_CASES ? sf_test_random_wide_model(seed, &batch) : sf_test_random_ops_model(seed, &batch);
        char what[64];
        sf_error e = {0};
        sf_graph *g0;
        sf_module m = both_levels(ir, seed, &g0);
        sf_tensor_set *in = sf_tensors_new(), *want = sf_tensors_new();
        assert_int_equal(sf_random_inputs(g0, batch, seed, in, &e), SF_OK);
        assert_int_equal(sf_interp_run(g0, batch, in, m.weights, want, &e), SF_OK);
        snprintf(what, sizeof what, "random model %llu -O%d batch %lld", (unsigned long long)seed, k % 4 ? 2 : 0,
                 (long long)batch); /* every fourth unoptimised: BatchNorm and the rest unfused */
        sf_tensor_set *got = host_run(k % 4 ? m.g : g0, batch, in, m.weights, (unsigned)(1 + seed % 3), what);
        for (size_t i = 0; i < want->tensors.len; i++) {
            const sf_tensor *x = want->tensors.items[i], *y = sf_tensors_get(got, want->names.items[i]);
            sf_mismatch w;
            if (!y || sf_tensor_numel(x) != sf_tensor_numel(y))
                fail_msg("%s: output %zu is missing or mis-shaped", what, i);
            if (!sf_compare_values(y->data, x->data, sf_tensor_numel(x), &w))
                fail_msg("%s: output %zu element %zu: %g, interpreter %g\n%s", what, i, w.index, w.got, w.want, ir);
        }
        sf_tensors_free(got);
        sf_tensors_free(in), sf_tensors_free(want), sf_tensors_free(m.weights);
        sf_graph_free(g0), sf_graph_free(m.g);
        free(ir);
    }
    printf("  cuda on the host: %d wide and %d ops random models match the interpreter (a quarter at -O0, the "
           "rest at -O2)\n", WIDE_CASES, OPS_CASES);
}

static void random_golden_on_host(golden_case *c, void *ctx)
{
    (void)ctx;
    golden_optimise(c);
    sf_tensor_set *got = host_run(c->model->graph, c->batch, c->inputs, c->weights, 2, c->name);
    golden_check(c, got);
    sf_tensors_free(got);
}

/* the committed random corpus at -O2 against PyTorch */
static void test_random_golden(void **state)
{
    (void)state;
    if (!host_or_skip())
        skip();
    int n = golden_each_in("random_cases.txt", random_golden_on_host, NULL);
    assert_true(n >= 50);
    printf("  cuda on the host: %d random PyTorch models match PyTorch at -O2\n", n);
}

/* ParallelFCN(n) at -O2, with its weights (initialised from the seed) */
static sf_model *parallel_fcn(int n)
{
    char spec[64], model[64];
    snprintf(model, sizeof model, "ParallelFCN(%d)", n);
    snprintf(spec, sizeof spec, "x=f32[B,%d]", 20 * n);
    sf_options o = {.model = model, .inputs = (const char *[]){spec}, .ninputs = 1, .backend = "interp"};
    sf_error e = {0};
    sf_model *m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

/* ParallelFCN(1000) at -O2 is one grouped product: one launch, its grid
 * the work over 256-thread blocks, the table's pointers inside their
 * regions; bigger batches only grow the batch region. */
static void test_plan(void **state)
{
    (void)state;
    sf_model *m = parallel_fcn(1000);
    const sf_graph *g = m->g;
    const sf_tensor_set *w = m->weights;
    sf_error e = {0};
    sf_cuda_source src;
    sf_cuda_plan p;
    assert_int_equal(sf_cuda_emit(g, &src, &e), SF_OK);
    assert_int_equal(sf_cuda_plan_build(&src, &p, &e), SF_OK);
    assert_int_equal(p.weights_bytes, 1000 * 20 * 4 + 1000 * 4 + 256 - (1000 * 20 * 4) % 256);
    size_t last_bytes = 0;
    static const int64_t batches[] = {1, 64, 4096};
    for (int b = 0; b < 3; b++) {
        assert_int_equal(sf_cuda_plan_batch(&p, &src, batches[b], 100000, &e), SF_OK);
        assert_int_equal(p.nlaunch, 1);
        const sf_node *n = g->nodes.items[p.launch[0].node];
        assert_int_equal(n->op, SF_OP_GROUPED_LINEAR);
        assert_int_equal(p.launch[0].grid, (unsigned)((batches[b] * 1000 + 255) / 256));
        assert_int_equal(p.ntable, 4); /* x, W, b, out */
        for (size_t i = 0; i < p.ntable; i++) {
            sf_cuda_ref r = p.table[i];
            assert_true(r.offset % 256 == 0);
            assert_true(r.offset < (r.region == SF_CUDA_WEIGHTS ? p.weights_bytes : p.batch_bytes));
        }
        assert_int_equal(p.table[0].region, SF_CUDA_BATCH);
        assert_int_equal(p.table[1].region, SF_CUDA_WEIGHTS);
        assert_true(p.table_at + p.ntable * 8 <= p.batch_bytes);
        assert_true(p.batch_bytes > last_bytes);
        assert_true(p.batch_bytes >= (size_t)batches[b] * (20000 + 1000) * 4);
        last_bytes = p.batch_bytes;
    }
    assert_int_equal(sf_cuda_plan_batch(&p, &src, 4096, 7, &e), SF_OK);
    assert_int_equal(p.launch[0].grid, 7);
    assert_int_equal(sf_cuda_plan_batch(&p, &src, 0, 7, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "batch size must be at least 1");
    sf_cuda_plan_free(&p);
    /* a source that is not the plan's: refused by name, not read out of bounds */
    sf_cuda_source other = src;
    assert_int_equal(sf_cuda_plan_build(&src, &p, &e), SF_OK);
    assert_int_equal(sf_cuda_plan_batch(&p, &other, 1, 8, &e), SF_ERR_RUNTIME);
    assert_contains(e.msg, "the source was not made for this plan's graph");
    sf_cuda_plan_free(&p);
    sf_cuda_source_free(&src);
    if (host_or_skip()) { /* the grid changes nothing but the order: the same bits */
        sf_tensor_set *in = sf_tensors_new();
        assert_int_equal(sf_random_inputs(g, 5, 3, in, &e), SF_OK);
        sf_tensor_set *one = host_run(g, 5, in, w, 1, "grid 1"), *many = host_run(g, 5, in, w, 1000, "grid 20");
        const sf_tensor *a = one->tensors.items[0], *b = many->tensors.items[0];
        assert_int_equal(sf_tensor_numel(a), 5000);
        assert_memory_equal(a->data, b->data, 5000 * sizeof(float));
        sf_tensor_set *want = sf_tensors_new();
        assert_int_equal(sf_interp_run(g, 5, in, w, want, &e), SF_OK);
        compare(one, want, "ParallelFCN(1000)");
        sf_tensors_free(in), sf_tensors_free(one), sf_tensors_free(many), sf_tensors_free(want);
    }
    sf_model_free(m);
}

/* literals C++ cannot spell as printed: an integral float, an infinity */
static void test_literals(void **state)
{
    (void)state;
    if (!host_or_skip())
        skip();
    const char *ir = "func @f(%x: f32[B,2]) {\n  %0 = scalar {value=2} : f32[]\n  %1 = mul %x, %0 : f32[B,2]\n"
                     "  %2 = scalar {value=-inf} : f32[]\n  %3 = add %1, %2 : f32[B,2]\n  return %1, %3\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t", &e);
    assert_non_null(g);
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(2, 2), 1.5f, -3, 0.25f, 7)), *w = sf_tensors_new();
    sf_tensor_set *got = host_run(g, 2, in, w, 1, "literals");
    EXPECT(got, "output.0", 2, DIMS(2, 2), 3, -6, 0.5f, 14);
    const sf_tensor *t = sf_tensors_get(got, "output.1");
    for (int i = 0; i < 4; i++)
        assert_true(isinf(t->data[i]) && t->data[i] < 0);
    sf_tensors_free(got), sf_tensors_free(in), sf_tensors_free(w);
    sf_graph_free(g);
}

/* Both backends build their kernels from one plan: for every golden
 * model at -O2 the CPU backend (what it linked, over its own copy of the
 * graph) and the CUDA source (what it defines) have the same kernels, with
 * the same members (by signature, in order), codes and keys. */
typedef struct agree {
    int models, kernels, chains;
} agree;

static int count_kernels(const char *text)
{
    int n = 0;
    for (const char *at = text; (at = strstr(at, "__global__")); at++)
        n++;
    return n;
}

static void agree_case(golden_case *c, void *ctx)
{
    agree *a = ctx;
    golden_optimise(c);
    const sf_graph *g = c->model->graph;
    sf_error e = {0};
    sf_cuda_source src;
    if (sf_cuda_emit(g, &src, &e) != SF_OK)
        fail_msg("%s: %s", c->name, e.msg);
    const sf_plan *cu = &src.plan;
    assert_int_equal(count_kernels(src.text), cu->ncodes);
    sf_cpu_model *m = sf_cpu_available() ? sf_cpu_compile(g, &e) : NULL;
    if (sf_cpu_available() && !m)
        fail_msg("%s: %s", c->name, e.msg);
    const sf_plan *cp = m ? sf_cpu_plan(m) : cu;
    if (m)
        assert_int_equal(sf_cpu_linked_kernels(m), cp->ncodes);
    if (cp->nkernels != cu->nkernels || cp->ncodes != cu->ncodes)
        fail_msg("%s: cpu has %zu kernels (%d codes), cuda %zu (%d)", c->name, cp->nkernels, cp->ncodes, cu->nkernels,
                 cu->ncodes);
    for (size_t k = 0; k < cu->nkernels; k++) {
        const sf_plan_kernel *x = &cp->kernels[k], *y = &cu->kernels[k];
        /* node indices differ (the CPU's copy declares its parameters first): members by signature */
        const sf_node *mx[64], *my[64];
        int nx = sf_plan_members(cp, x, mx), ny = sf_plan_members(cu, y, my);
        if (nx != ny || x->code != y->code || x->nargs != y->nargs)
            fail_msg("%s: kernel %zu: cpu runs %d nodes as code %d, cuda %d as %d", c->name, k, nx, x->code, ny,
                     y->code);
        assert_string_equal(cp->keys[x->code], cu->keys[y->code]); /* every member's signature, in order */
        a->chains += nx > 1;
    }
    a->models++, a->kernels += (int)cu->nkernels;
    sf_cpu_free(m);
    sf_cuda_source_free(&src);
}

static void test_backends_agree_on_kernels(void **state)
{
    (void)state;
    agree a = {0};
    golden_each(agree_case, &a);
    golden_each_in("random_cases.txt", agree_case, &a);
    printf("  %d golden models at -O2: %d kernels (%d fused chains), the same on the CPU and CUDA backends\n",
           a.models, a.kernels, a.chains);
    assert_true(a.models >= 70 && a.chains > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_backends_agree_on_kernels),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_golden_cases),
        cmocka_unit_test(test_random_models),
        cmocka_unit_test(test_wide_models),
        cmocka_unit_test(test_random_golden),
    };
    if (getenv("SF_TEST_FILTER")) /* e.g. "test_*random*" or "test_wide*": the random tests alone, for coverage */
        cmocka_set_test_filter(getenv("SF_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
