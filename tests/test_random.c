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
#include <time.h>

#include "codegen/plan.h"
#include "runtime/cpu.h"
#include "golden_case.h"
#include "passes/pass.h"
#include "randmodel.h"

enum { CASES = 300 };

static void test_random_models(void **state)
{
    (void)state;
    int fused = 0, fewer_convs = 0, bn_folded = 0, on_cpu = 0;
    for (uint64_t seed = 1; seed <= CASES; seed++) {
        char *ir = sf_test_random_model(seed);
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
        /* branches fused: grouped products, or shared ones that canonicalize made one linear (hfuse's
           parameter under it) */
        bool grouped_param = false;
        for (size_t i = 0; i < m.g->params.len; i++)
            grouped_param |= strstr(((sf_value *)m.g->params.items[i])->def->name, ".grouped") != NULL;
        fused += count[1][SF_OP_GROUPED_LINEAR] > 0 || grouped_param;
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
    printf("  %d random models agree at -O0 and -O2: %d with branches fused, %d with convs merged, %d with "
           "BatchNorm folded away; %d also on the CPU backend\n",
           CASES, fused, fewer_convs, bn_folded, on_cpu);
    if (sf_cpu_available())
        assert_true(on_cpu > CASES / 16);
    /* the generator does exercise the rewrites */
    assert_true(fused > CASES / 5);
    assert_true(fewer_convs > CASES / 10);
    assert_true(bn_folded > CASES / 20);
}

static double clock_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* one output set against the oracle's, with the model on failure */
static void agree(const sf_tensor_set *want, const sf_tensor_set *got, const char *what, uint64_t seed,
                  int64_t batch, const char *ir)
{
    assert_int_equal(sf_tensors_count(want), sf_tensors_count(got));
    for (size_t i = 0; i < want->tensors.len; i++) {
        const sf_tensor *a = want->tensors.items[i], *b = got->tensors.items[i];
        assert_int_equal(sf_tensor_numel(a), sf_tensor_numel(b));
        sf_mismatch w;
        if (!sf_compare_values(b->data, a->data, sf_tensor_numel(a), &w))
            fail_msg("seed %llu batch %lld: %s output %zu element %zu: %g, interpreter on -O0 %g\n%s",
                     (unsigned long long)seed, (long long)batch, what, i, w.index, w.got, w.want, ir);
    }
}

/* the CPU backend on g at each batch against the interpreter on g0 */
static void cpu_agrees(const sf_graph *g0, const sf_graph *g, const sf_tensor_set *w, const int64_t *batches, int nb,
                       bool without_blas, uint64_t seed, const char *ir, const char *what)
{
    sf_error e = {0};
    if (seed == 1) /* the object code written out, as SHEAF_DUMP_OBJECT=k.o does for objdump */
        setenv("SHEAF_DUMP_OBJECT", "random-dump.o", 1);
    /* half the seeds of every family with AVX-512's register blocks, half with AVX2's, on any host */
    setenv("SHEAF_CPU_BLOCKING", (seed * 0x9e3779b97f4a7c15u) >> 63 ? "8x2" : "4x1", 1);
    sf_cpu_model *cm = sf_cpu_compile(g, &e);
    unsetenv("SHEAF_CPU_BLOCKING");
    if (!cm)
        fail_msg("seed %llu: %s: %s\n%s", (unsigned long long)seed, what, e.msg, ir);
    if (seed == 1) {
        unsetenv("SHEAF_DUMP_OBJECT");
        assert_true(file_exists("random-dump.o"));
        remove("random-dump.o");
        assert_null(sf_cpu_load_object(g, NULL, 0, &e));
        assert_contains(e.msg, "no object code");
    }
    if (seed % 4 == 1 && g != g0) { /* this object with the -O0 graph's kernels: refused where it lacks one */
        const void *obj;
        size_t size;
        sf_cpu_object(cm, &obj, &size);
        sf_cpu_model *other = sf_cpu_load_object(g0, obj, size, &e);
        if (!other)
            assert_contains(e.msg, "looking up a kernel");
        sf_cpu_free(other); /* never run: its kernels would not be g0's */
    }
    if (seed == 5) { /* a damaged object (as in a tampered package) is refused, never run */
        const void *obj;
        size_t size;
        sf_cpu_object(cm, &obj, &size);
        unsigned char *bad = malloc(size);
        memcpy(bad, obj, size);
        bad[0x3c] = 1, bad[0x3d] = 0;                          /* e_shnum: one section header */
        memcpy(bad + 0x28, &size, sizeof size);                /* e_shoff: past the end */
        assert_null(sf_cpu_load_object(g, bad, size, &e));    /* LLVM's own refusal */
        memcpy(bad, obj, size);
        uint64_t shoff;
        memcpy(&shoff, bad + 0x28, sizeof shoff);
        bad[shoff + 64 + 9] |= 0x04;                           /* section 1's flags: SHF_TLS */
        assert_null(sf_cpu_load_object(g, bad, size, &e));
        assert_contains(e.msg, "thread-local storage");
        assert_null(sf_cpu_load_object(g, bad, 40, &e));      /* truncated */
        free(bad);
    }
    if (seed % 4 == 1) { /* as a package runs it: the object code loaded into a new model */
        const void *obj;
        size_t size;
        sf_cpu_object(cm, &obj, &size);
        sf_cpu_model *loaded = sf_cpu_load_object(sf_cpu_graph(cm), obj, size, &e);
        if (!loaded)
            fail_msg("seed %llu: %s: loading its object: %s", (unsigned long long)seed, what, e.msg);
        sf_cpu_free(cm);
        cm = loaded;
    }
    sf_cpu_set_threads(cm, 0); /* one per CPU, then what the seed says: the pool started again */
    sf_cpu_set_threads(cm, seed % 3 == 0 ? 1 : 2); /* one thread, and a pool that splits kernels */
    assert_int_equal(sf_cpu_threads(cm), seed % 3 == 0 ? 1 : 2);
    sf_cpu_set_poison(cm, true);
    /* each batch with OpenBLAS allowed, then (without_blas) in generated code only */
    for (int k = 0; k < (without_blas ? 2 : 1) * nb; k++) {
        sf_cpu_set_blas(cm, k < nb);
        if (k >= nb && !sf_cpu_has_blas())
            break;
        sf_tensor_set *in = sf_tensors_new(), *want = sf_tensors_new(), *got = sf_tensors_new();
        int64_t b = batches[k % nb];
        assert_int_equal(sf_random_inputs(g0, b, seed + (uint64_t)k, in, &e), SF_OK);
        assert_int_equal(sf_interp_run(g0, b, in, w, want, &e), SF_OK);
        if (sf_cpu_run(cm, b, in, w, got, &e) != SF_OK)
            fail_msg("seed %llu: %s: %s", (unsigned long long)seed, what, e.msg);
        agree(want, got, what, seed, b, ir);
        if (k == 0 && seed % 2 == 0) { /* again through sf_cpu_exec: the packed weights kept, new outputs */
            size_t nin = g0->inputs.len, np = g->params.len, nout = g->outputs.len;
            const float **ins = calloc(nin + np + 1, sizeof *ins);
            float **outs = calloc(nout + 1, sizeof *outs);
            for (size_t i = 0; i < nin; i++)
                ins[i] = sf_tensors_get(in, ((const sf_value *)g->inputs.items[i])->def->name)->data;
            for (size_t i = 0; i < np; i++)
                ins[nin + i] = sf_tensors_get(w, ((const sf_value *)g->params.items[i])->def->name)->data;
            for (size_t i = 0; i < nout; i++)
                outs[i] = ((sf_tensor *)got->tensors.items[i])->data;
            if (sf_cpu_exec(cm, b, ins, ins + nin, outs, &e) != SF_OK)
                fail_msg("seed %llu: %s: %s", (unsigned long long)seed, what, e.msg);
            agree(want, got, what, seed, b, ir);
            assert_int_equal(sf_cpu_exec(cm, 0, ins, ins + nin, outs, &e), SF_ERR_INVALID_ARG); /* refusals */
            assert_int_equal(sf_cpu_run(cm, 0, in, w, got, &e), SF_ERR_INVALID_ARG);
            sf_tensor_set *none = sf_tensors_new();
            assert_int_equal(sf_cpu_run(cm, b, none, w, none, &e), g0->inputs.len ? SF_ERR_INVALID_ARG : SF_OK);
            sf_tensors_free(none);
            free(ins), free(outs);
            sf_cpu_set_threads(cm, seed % 3 == 0 ? 2 : 1); /* the other count: a new pool for the next run */
        }
        size_t planned;
        assert_true(sf_cpu_planned_bytes(cm, b, &planned) && sf_cpu_arena_bytes(cm) >= planned);
        sf_tensors_free(in), sf_tensors_free(want), sf_tensors_free(got);
    }
    sf_cpu_free(cm);
}

enum { WIDE_CASES = 160, DENSE_CASES = 8, OPS_CASES = 60 };

/* the chains g's plan makes that sum over the groups, and those of three or more products */
static void count_chains(const sf_graph *g, int *sums, int *long_chains)
{
    sf_plan p;
    sf_error e = {0};
    if (sf_plan_build(g, &p, &e) != SF_OK)
        fail_msg("%s", e.msg);
    for (size_t k = 0; k < p.nkernels; k++) {
        const sf_node *m[64];
        int count = sf_plan_members(&p, &p.kernels[k], m), products = 0;
        bool sum = false;
        for (int j = 0; j < count; j++)
            if (sf_op_has(m[j]->op, SF_OPF_LINEAR)) {
                products++;
                sum |= j > 0 && m[0]->op == SF_OP_GROUPED_LINEAR && m[j]->op == SF_OP_LINEAR;
            }
        *sums += sum;
        *long_chains += products >= 3;
    }
    sf_plan_free(&p);
}

/* Branchy models with awkward sizes (tests/randwide.c): the CPU backend on
 * the -O2 graph at the model's batch and at a second batch on the other
 * side of a threshold, and on the -O0 graph for some, against the
 * interpreter on the -O0 graph; activations poisoned with NaN. */
static void test_wide_models(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    int grouped = 0, narrow = 0, at_o0 = 0, sums = 0, long_chains = 0;
    /* SF_TEST_SEED=N: that model alone, its IR written to wide-N.sfir */
    uint64_t only = getenv("SF_TEST_SEED") ? strtoull(getenv("SF_TEST_SEED"), NULL, 10) : 0;
    for (uint64_t seed = only ? only : 1; seed <= (only ? only : WIDE_CASES + DENSE_CASES + OPS_CASES); seed++) {
        int64_t batch;
        char *ir = seed <= WIDE_CASES                 ? sf_test_random_wide_model(seed, &batch)
                 : seed <= WIDE_CASES + DENSE_CASES ? sf_test_random_dense_model(seed, &batch)
                                                    : sf_test_random_ops_model(seed, &batch);
        if (only) {
            char name[64];
            snprintf(name, sizeof name, "wide-%llu.sfir", (unsigned long long)seed);
            FILE *f = fopen(name, "w");
            if (f)
                fputs(ir, f), fclose(f);
        }
        sf_error e = {0};
        sf_graph *g0 = sf_parse(ir, strlen(ir), "wide.sfir", &e), *g2 = g0 ? sf_parse(ir, strlen(ir), "w", &e) : NULL;
        if (!g0 || !g2)
            fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, e.msg, ir);
        sf_tensor_set *w = sf_tensors_new();
        assert_int_equal(sf_init_weights(g0, seed, w, &e), SF_OK);
        sf_rng r = {seed * 7919};
        for (size_t i = 0; i < w->tensors.len; i++) { /* every parameter away from its init: BN statistics too */
            sf_tensor *t = w->tensors.items[i];
            for (size_t k = 0; k < sf_tensor_numel(t); k++)
                t->data[k] += (float)(0.25 * sf_rng_uniform(&r));
        }
        sf_module m = {.g = g2, .weights = w};
        sf_pipeline_opts o = {.opt_level = 2, .verify_each = true};
        if (sf_run_pipeline(&m, &o, &e) != SF_OK)
            fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, e.msg, ir);
        for (size_t i = 0; i < m.g->nodes.len; i++) {
            const sf_node *n = m.g->nodes.items[i];
            grouped += n->op == SF_OP_GROUPED_LINEAR;
            narrow += n->op == SF_OP_GROUPED_LINEAR && n->in[1]->type.dim[1] < 8 && n->in[1]->type.dim[0] >= 8;
        }
        count_chains(m.g, &sums, &long_chains);
        int64_t batches[2] = {batch, batch <= 256 ? 257 + (int64_t)(seed % 5) : 1 + (int64_t)(seed % 9)};
        double flops = sf_graph_flops(g0, 1);
        int nb = flops * (double)batches[1] > 1e7 ? 1 : 2;
        double t0 = clock_s();
        bool dense = seed > WIDE_CASES && seed <= WIDE_CASES + DENSE_CASES;
        cpu_agrees(g0, m.g, w, batches, nb, dense, seed, ir, "cpu -O2");
        if (seed % 5 == 0) {
            cpu_agrees(g0, g0, w, batches, 1, false, seed, ir, "cpu -O0");
            at_o0++;
        }
        if (getenv("SF_TEST_VERBOSE"))
            printf("  seed %llu: %zu -> %zu nodes, batch %lld/%lld: %.2f s\n", (unsigned long long)seed, g0->nodes.len,
                   m.g->nodes.len, (long long)batches[0], (long long)batches[1], clock_s() - t0), fflush(stdout);
        sf_tensors_free(w);
        sf_graph_free(g0);
        sf_graph_free(m.g);
        free(ir);
    }
    printf("  %d wide, %d dense and %d ops random models agree on the CPU backend (%d at -O0 too): %d grouped "
           "products, %d of them narrow; %d chains summing over groups, %d of 3+ products\n", WIDE_CASES,
           DENSE_CASES, OPS_CASES, at_o0, grouped, narrow, sums, long_chains);
    if (!only) { /* the generator does make what it is for */
        assert_true(grouped > WIDE_CASES / 2);
        assert_true(narrow > WIDE_CASES / 8);
        assert_true(sums > WIDE_CASES / 20);
        assert_true(long_chains > WIDE_CASES / 20);
    }
}

/* one corpus model: the interpreter, and the CPU backend where there is one, match PyTorch */
static void golden_on_cpu(golden_case *c, void *ctx)
{
    int *count = ctx;
    sf_error e = {0};
    for (int level = 0; level <= 2; level += 2) {
        if (level == 2)
            golden_optimise(c);
        sf_tensor_set *got = sf_tensors_new();
        assert_int_equal(sf_interp_run(c->model->graph, c->batch, c->inputs, c->weights, got, &e), SF_OK);
        golden_check(c, got);
        sf_tensors_free(got);
        if (!sf_cpu_available())
            continue;
        sf_cpu_model *cm = sf_cpu_compile(c->model->graph, &e);
        if (!cm)
            fail_msg("%s: %s", c->name, e.msg);
        got = sf_tensors_new();
        if (sf_cpu_run(cm, c->batch, c->inputs, c->weights, got, &e) != SF_OK)
            fail_msg("%s -O%d: %s", c->name, level, e.msg);
        golden_check(c, got);
        sf_tensors_free(got);
        sf_cpu_free(cm);
    }
    (*count)++;
}

/* The committed random corpus (tests/golden/random_cases.txt, PyTorch's
 * outputs made by make_random.py): the outside check on the same kinds of
 * model, traced from Python by the frontend. */
static void test_random_golden(void **state)
{
    (void)state;
    int count = 0;
    assert_true(golden_each_in("random_cases.txt", golden_on_cpu, &count) >= 50);
    printf("  %d random PyTorch models: the interpreter%s match PyTorch at -O0 and -O2\n", count,
           sf_cpu_available() ? " and the CPU backend" : "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_models), cmocka_unit_test(test_wide_models),
                                       cmocka_unit_test(test_random_golden)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
