/* Every op against every backend, the way ggml's test-backend-ops does it:
 * one table of op cases (shapes, attributes, edge cases: size-1 dims,
 * remainders, strides, broadcasts; operands that are inputs, activations,
 * parameters, constants and views of each) run on the interpreter (the
 * oracle), the CPU backend (on the graph and on it after -O2) and the host
 * build of the CUDA C, at two batch sizes. Every buffer the CPU backend is handed has guard bytes before and
 * after it (and inputs and parameters must come back unchanged); its arena
 * is poisoned with NaN and guarded at the end; the host CUDA runner fills
 * device memory with NaN and guards its end too. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/plan.h"
#include "runtime/backend.h"
#include "runtime/cpu.h"
#include "codegen/cuda.h"
#include "cuda_host.h"
#include "passes/pass.h"

#include "op_cases.h"

enum { GUARD = 64 }; /* floats on each side */
static const float CANARY = 1234.5f;

/* n floats between two guards of CANARY; returns the data */
static float *guarded_alloc(size_t n, const float *init)
{
    float *b = malloc(sizeof(float) * (n + 2 * GUARD));
    for (size_t i = 0; i < n + 2 * GUARD; i++)
        b[i] = CANARY;
    if (init)
        memcpy(b + GUARD, init, n * sizeof(float));
    return b + GUARD;
}

static void guard_check(const float *data, size_t n, const char *what, const char *name)
{
    for (int i = 1; i <= GUARD; i++)
        if (data[-i] != CANARY || data[n - 1 + (size_t)i] != CANARY)
            fail_msg("%s: cpu backend wrote outside %s (guard %d)", name, what, i);
}

/* the CPU backend through sf_cpu_exec with guarded buffers; inputs and parameters must not change */
static void cpu_case(const op_case *c, const sf_graph *g, int64_t batch, const sf_tensor_set *in,
                     const sf_tensor_set *w, const sf_tensor_set *want)
{
    sf_error e = {0};
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    if (!m)
        fail_msg("%s: %s", c->name, e.msg);
    sf_cpu_set_poison(m, true);
    size_t nin = g->inputs.len, np = g->params.len, nout = g->outputs.len;
    float **bufs = calloc(nin + np + nout + 1, sizeof *bufs);
    const sf_tensor **src = calloc(nin + np + 1, sizeof *src);
    for (size_t i = 0; i < nin + np; i++) {
        const sf_value *v = i < nin ? g->inputs.items[i] : g->params.items[i - nin];
        src[i] = sf_tensors_get(i < nin ? in : w, v->def->name);
        bufs[i] = guarded_alloc(sf_tensor_numel(src[i]), src[i]->data);
    }
    for (size_t i = 0; i < nout; i++)
        bufs[nin + np + i] = guarded_alloc(sf_tensor_numel(want->tensors.items[i]), NULL);
    for (int rep = 0; rep < 2; rep++) /* twice: the second run reuses the packed weights */
        if (sf_cpu_exec(m, batch, (const float *const *)bufs, (const float *const *)bufs + nin, bufs + nin + np, &e) !=
            SF_OK)
            fail_msg("%s batch %lld: %s", c->name, (long long)batch, e.msg);
    for (size_t i = 0; i < nin + np; i++) {
        size_t n = sf_tensor_numel(src[i]);
        guard_check(bufs[i], n, i < nin ? "an input" : "a parameter", c->name);
        if (memcmp(bufs[i], src[i]->data, n * sizeof(float)))
            fail_msg("%s: cpu backend changed %s %zu", c->name, i < nin ? "input" : "parameter", i);
    }
    for (size_t i = 0; i < nout; i++) {
        const sf_tensor *t = want->tensors.items[i];
        float *got = bufs[nin + np + i];
        guard_check(got, sf_tensor_numel(t), "an output", c->name);
        sf_mismatch mm;
        if (!sf_compare_values(got, t->data, sf_tensor_numel(t), &mm))
            fail_msg("%s batch %lld: cpu output %zu element %zu: %g, interpreter %g", c->name, (long long)batch, i,
                     mm.index, mm.got, mm.want);
    }
    for (size_t i = 0; i < nin + np + nout; i++)
        free(bufs[i] - GUARD);
    free(bufs), free(src);
    sf_cpu_free(m);
}

static void cuda_case(const op_case *c, const sf_graph *g, int64_t batch, const sf_tensor_set *in,
                      const sf_tensor_set *w, const sf_tensor_set *want)
{
    sf_tensor_set *got = sf_tensors_new();
    char *problem = cuda_host_run(g, batch, in, w, 2, got);
    if (problem)
        fail_msg("%s batch %lld: cuda on the host: %s", c->name, (long long)batch, problem);
    for (size_t i = 0; i < want->tensors.len; i++) {
        const sf_tensor *a = want->tensors.items[i], *b = sf_tensors_get(got, want->names.items[i]);
        sf_mismatch mm;
        if (!b || sf_tensor_numel(a) != sf_tensor_numel(b))
            fail_msg("%s: cuda output %zu missing or mis-shaped", c->name, i);
        if (!sf_compare_values(b->data, a->data, sf_tensor_numel(a), &mm))
            fail_msg("%s batch %lld: cuda output %zu element %zu: %g, interpreter %g", c->name, (long long)batch, i,
                     mm.index, mm.got, mm.want);
    }
    sf_tensors_free(got);
}

static void test_every_op_every_backend(void **state)
{
    (void)state;
    const char *why;
    bool cpu = sf_cpu_available(), cuda = cuda_host_available(&why);
    int n = (int)sf_op_case_count, chains[2] = {0, 0}; /* epilogue, two products */
    for (int k = 0; k < n; k++) {
        const op_case *c = &sf_op_cases[k];
        sf_error e = {0};
        sf_graph *g = sf_parse(c->ir, strlen(c->ir), c->name, &e);
        if (!g)
            fail_msg("%s: %s", c->name, e.msg);
        sf_tensor_set *w = sf_op_case_weights(g, k), *w2 = sf_op_case_weights(g, k);
        /* and the case after -O2 (folded, fused, chained), against the -O0 oracle */
        sf_module opt = {.g = sf_parse(c->ir, strlen(c->ir), c->name, &e), .weights = w2};
        sf_pipeline_opts o2 = {.opt_level = 2, .verify_each = true};
        if (!opt.g || sf_run_pipeline(&opt, &o2, &e) != SF_OK)
            fail_msg("%s -O2: %s", c->name, e.msg);
        sf_plan plan;
        assert_int_equal(sf_plan_build(opt.g, &plan, &e), SF_OK);
        for (size_t j = 0; j < plan.nkernels; j++) {
            const sf_node *m[64];
            int count = sf_plan_members(&plan, &plan.kernels[j], m);
            if (count > 1)
                chains[sf_op_cls(m[count - 1]->op) != SF_OPCLS_UNARY]++;
        }
        sf_plan_free(&plan);
        for (int64_t batch = 1; batch <= 5; batch += 4) {
            sf_tensor_set *in = sf_tensors_new(), *want = sf_tensors_new();
            assert_int_equal(sf_random_inputs(g, batch, (uint64_t)(k * 10 + batch), in, &e), SF_OK);
            assert_int_equal(sf_interp_run(g, batch, in, w, want, &e), SF_OK);
            if (cpu)
                cpu_case(c, g, batch, in, w, want), cpu_case(c, opt.g, batch, in, w2, want);
            if (cuda)
                cuda_case(c, g, batch, in, w, want), cuda_case(c, opt.g, batch, in, w2, want);
            sf_tensors_free(in), sf_tensors_free(want);
        }
        sf_tensors_free(w), sf_tensors_free(w2);
        sf_graph_free(g), sf_graph_free(opt.g);
    }
    assert_true(chains[0] > 0 && chains[1] >= 2); /* both kinds of fused kernel, with and without biases */
    printf("  %d op cases at batch 1 and 5 (%d epilogue and %d two-product chains at -O2): interpreter%s%s\n", n,
           chains[0], chains[1], cpu ? ", cpu backend at -O0 and -O2 (guarded)" : "",
           cuda ? ", cuda on the host at -O0 and -O2 (chains included)" : "");
}

/* Does some case run op (an "= name " in its text)? */
static bool has_case(const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, "= %s ", name);
    for (size_t k = 0; k < sf_op_case_count; k++)
        if (strstr(sf_op_cases[k].ir, pat))
            return true;
    return false;
}

/* The op table's answer for every op: every backend of the table
 * (runtime/backend.h) supports every op that computes (the compiled ones
 * have a kernel rule, and a device function for a unary op; sources and
 * views need none and have none), and a case above runs it. A new op in
 * ops.def with a rule left empty fails here by name. */
static void test_every_op_has_a_rule_and_a_case(void **state)
{
    (void)state;
    for (int op = 0; op < SF_OP_COUNT; op++) {
        const char *name = sf_ops[op].name;
        sf_opcls cls = sf_op_cls((sf_opcode)op);
        bool computes = cls != SF_OPCLS_SOURCE && cls != SF_OPCLS_VIEW;
        for (int k = 0; k < SF_BACKEND_COUNT; k++) {
            const sf_backend_i *b = &sf_backends[k];
            bool compiled = k != SF_BACKEND_INTERP;
            if (b->built() && compiled && b->supports((sf_opcode)op) != computes)
                fail_msg("op %s: the %s backend's rule %s a kernel", name, b->name, computes ? "lacks" : "has");
            if (b->built() && !compiled && !b->supports((sf_opcode)op))
                fail_msg("op %s: the interpreter does not run it", name);
        }
        if (cls != SF_OPCLS_SOURCE && !has_case(name))
            fail_msg("op %s: no case in tests/test_ops.c runs it", name);
    }
    /* the backend names resolve to their entries, once, and nothing else does */
    for (int k = 0; k < SF_BACKEND_COUNT; k++) {
        sf_backend_kind kind;
        assert_int_equal(sf_backend_resolve(sf_backends[k].name, &kind, NULL), SF_OK);
        assert_int_equal(kind, k);
    }
    sf_error e = {0};
    sf_backend_kind kind;
    assert_int_equal(sf_backend_resolve("gpu", &kind, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "backend 'gpu': expected cpu, cuda or interp");
    assert_int_equal(sf_backend_resolve(NULL, &kind, &e), SF_OK);
    assert_int_equal(kind, sf_cpu_available() ? SF_BACKEND_CPU : SF_BACKEND_INTERP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_op_has_a_rule_and_a_case),
                                       cmocka_unit_test(test_every_op_every_backend)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
