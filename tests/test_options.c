/* Every compile option of the command line is a field of sf_options, and
 * each one is set here through the C API alone and seen to take effect
 * (tools/cli.c only maps its flags onto these fields). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/safetensors.h"
#include "ir/tensor.h"
#include "runtime/model.h"
#include "runtime/nvrtc.h"
#include "sheaf.h"
#include "testutil.h"

static const char *inputs3[] = {"x=f32[B,60]"};

/* ParallelFCN(3) with the given options on top of its model and inputs */
static sf_model *pfcn3(sf_options o, sf_error *e)
{
    o.model = "ParallelFCN(3)";
    o.inputs = inputs3;
    o.ninputs = 1;
    return sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, e);
}

static sf_model *pfcn3_ok(sf_options o)
{
    sf_error e = {0};
    sf_model *m = pfcn3(o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

static char *ir_of(const sf_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sf_error e = {0};
    assert_int_equal(sf_model_write_ir(m, "text", f, &e), SF_OK);
    fclose(f);
    return buf;
}

/* the outputs at batch 2 for a fixed input */
static void run2(sf_model *m, float out[6])
{
    float x[120];
    for (int i = 0; i < 120; i++)
        x[i] = (float)((i * 37) % 19) / 9.0f - 1.0f;
    const float *in[1] = {x};
    float *outs[1] = {out};
    sf_error e = {0};
    if (sf_run(m, 2, in, outs, &e) != SF_OK)
        fail_msg("%s", e.msg);
}

static bool same6(const float *a, const float *b) { return memcmp(a, b, 6 * sizeof *a) == 0; }

static void expect_refused(sf_options o, const char *want)
{
    sf_error e = {0};
    sf_model *m = pfcn3(o, &e);
    if (m)
        fail_msg("compiled, wanted a refusal with '%s'", want);
    assert_contains(e.msg, want);
}

/* model, inputs, consts; unoptimised; passes */
static void test_source_and_pipeline(void **state)
{
    (void)state;
    sf_model *m = pfcn3_ok((sf_options){0});
    char *ir = ir_of(m);
    assert_non_null(strstr(ir, "grouped_linear")); /* -O2: the branches are one product */
    free(ir);
    /* the IR the way `sheaf ir --format dot --stats` prints it */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sf_error e = {0};
    assert_int_equal(sf_model_write_ir(m, "dot", f, &e), SF_OK);
    assert_int_equal(sf_model_write_ir(m, "stats", f, &e), SF_OK);
    assert_int_equal(sf_model_write_ir(m, "yaml", f, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "format 'yaml': expected text, dot or stats");
    fclose(f);
    assert_non_null(strstr(buf, "digraph"));
    assert_non_null(strstr(buf, "# stats: ops"));
    free(buf), sf_model_free(m);
    m = pfcn3_ok((sf_options){.unoptimised = true});
    ir = ir_of(m);
    assert_null(strstr(ir, "grouped_linear"));
    assert_non_null(strstr(ir, "concat"));
    free(ir), sf_model_free(m);
    m = pfcn3_ok((sf_options){.passes = "canonicalize,compose,dce"});
    ir = ir_of(m);
    assert_null(strstr(ir, "grouped_linear")); /* composed per branch, never grouped */
    assert_non_null(strstr(ir, "linear"));
    free(ir), sf_model_free(m);
    expect_refused((sf_options){.passes = "cse,nope"}, "passes (--passes): unknown pass 'nope'");
    /* consts: a forward argument fixed at compile time */
    const char *in10[] = {"x=f32[B,10]"}, *on[] = {"condition=True"}, *off[] = {"condition=False"};
    sf_options c = {.model = "ConditionalModel(10, 50, 2)", .inputs = in10, .ninputs = 1, .consts = on, .nconsts = 1};
    m = sf_compile_file(SF_MODELS "/conditional.py", &c, &e);
    if (!m)
        fail_msg("%s", e.msg);
    sf_model_free(m);
    c.consts = off;
    assert_null(sf_compile_file(SF_MODELS "/conditional.py", &c, &e));
    assert_contains(e.msg, "module_list.2");
}

/* seed, weights, weights_file, allow_extra_weights */
static void test_weights_options(void **state)
{
    (void)state;
    float a[6], b[6], c[6], d[6];
    sf_model *m = pfcn3_ok((sf_options){.seed = 1});
    run2(m, a);
    sf_tensor_set *w = m->weights; /* seed 1's values, folded ones included */
    sf_weights *mem = sf_weights_new();
    sf_error e = {0};
    for (size_t i = 0; i < w->tensors.len; i++) {
        const char *name = w->names.items[i];
        const sf_tensor *t = w->tensors.items[i];
        if (!strstr(name, "composed") && !strstr(name, "grouped") && strncmp(name, "models.", 7) == 0)
            assert_int_equal(sf_weights_set(mem, name, t->rank, t->dim, t->data, &e), SF_OK);
    }
    sf_model_free(m);
    m = pfcn3_ok((sf_options){.seed = 2});
    run2(m, b);
    sf_model_free(m);
    assert_false(same6(a, b));
    m = pfcn3_ok((sf_options){.seed = 2, .weights = mem}); /* the weights, not the seed */
    run2(m, c);
    sf_model_free(m);
    assert_true(same6(a, c));
    char dir[] = "/tmp/sheaf-options-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    sf_tensor_set *copy = sf_tensors_new();
    for (size_t i = 0; i < mem->set->tensors.len; i++) {
        const sf_tensor *t = mem->set->tensors.items[i];
        assert_non_null(sf_tensors_add(copy, mem->set->names.items[i], t->rank, t->dim, t->data, &e));
    }
    assert_int_equal(sf_st_save(path, copy, &e), SF_OK);
    m = pfcn3_ok((sf_options){.weights_file = path});
    run2(m, d);
    sf_model_free(m);
    assert_true(same6(a, d));
    /* a key that names no parameter: refused, unless allowed */
    int64_t one = 1;
    float zero = 0;
    assert_int_equal(sf_weights_set(mem, "models.9.fc1.weight", 1, &one, &zero, &e), SF_OK);
    expect_refused((sf_options){.weights = mem}, "models.9.fc1.weight");
    m = pfcn3_ok((sf_options){.weights = mem, .allow_extra_weights = true});
    run2(m, d);
    sf_model_free(m);
    assert_true(same6(a, d));
    unlink(path);
    rmdir(dir);
    sf_tensors_free(copy);
    sf_weights_free(mem);
}

static char *text_of(FILE *f, char **buf)
{
    fflush(f);
    return *buf ? *buf : "";
}

/* verify_each, print_after, time_passes, time, log, dump */
static void test_reporting_options(void **state)
{
    (void)state;
    char *lbuf = NULL, *dbuf = NULL;
    size_t llen = 0, dlen = 0;
    FILE *log = open_memstream(&lbuf, &llen), *dump = open_memstream(&dbuf, &dlen);
    sf_model *m = pfcn3_ok((sf_options){.verify_each = true, .print_after = "hfuse", .time = true, .log = log,
                                        .dump = dump});
    sf_model_free(m);
    assert_non_null(strstr(text_of(dump, &dbuf), "# *** IR after hfuse"));
    assert_null(strstr(text_of(dump, &dbuf), "# *** IR after cse"));
    assert_non_null(strstr(text_of(log, &lbuf), "sheaf: frontend of"));
    assert_non_null(strstr(text_of(log, &lbuf), "sheaf: compile of"));
    m = pfcn3_ok((sf_options){.print_after = "all", .time_passes = true, .log = log, .dump = dump});
    sf_model_free(m);
    assert_non_null(strstr(text_of(dump, &dbuf), "# *** IR after cse"));
    assert_non_null(strstr(text_of(dump, &dbuf), "# pass hfuse")); /* with the dumps, in order */
    m = pfcn3_ok((sf_options){.time_passes = true, .log = log});
    sf_model_free(m);
    char *at = strstr(text_of(log, &lbuf), "# pass canonicalize");
    assert_non_null(at);
    fclose(log), fclose(dump);
    free(lbuf), free(dbuf);
    expect_refused((sf_options){.print_after = "nope"}, "print_after (--print-after): unknown pass 'nope'");
}

/* hfuse_min_branches, hfuse_max_bytes */
static void test_hfuse_options(void **state)
{
    (void)state;
    sf_model *m = pfcn3_ok((sf_options){.hfuse_min_branches = 4});
    char *ir = ir_of(m);
    assert_null(strstr(ir, "grouped_linear")); /* 3 branches are too few */
    free(ir), sf_model_free(m);
    m = pfcn3_ok((sf_options){.hfuse_min_branches = 3});
    ir = ir_of(m);
    assert_non_null(strstr(ir, "grouped_linear"));
    free(ir), sf_model_free(m);
    m = pfcn3_ok((sf_options){.hfuse_max_bytes = 64});
    ir = ir_of(m);
    assert_null(strstr(ir, "grouped_linear")); /* no group fits 64 bytes of weights */
    free(ir), sf_model_free(m);
    expect_refused((sf_options){.hfuse_min_branches = 1}, "hfuse_min_branches: 1");
}

/* backend, threads, poison, precision, max_nodes, check */
static void test_backend_options(void **state)
{
    (void)state;
    float a[6], b[6];
    sf_model *m = pfcn3_ok((sf_options){.backend = "interp"});
    assert_string_equal(sf_model_backend(m), "interp");
    run2(m, a);
    sf_model_free(m);
    m = pfcn3_ok((sf_options){.backend = "cpu", .threads = 1, .poison = true});
    assert_string_equal(sf_model_backend(m), "cpu");
    assert_int_equal(sf_cpu_threads(m->cpu), 1);
    run2(m, b);
    sf_model_free(m);
    for (int i = 0; i < 6; i++)
        assert_float_equal(a[i], b[i], 1e-4);
    m = pfcn3_ok((sf_options){.backend = "cuda"});
    if (!strcmp(sf_model_backend(m), "cpu")) /* no GPU here: the CPU, with one line saying why */
        assert_contains(sf_model_notice(m), "running on the CPU backend");
    sf_model_free(m);
    expect_refused((sf_options){.backend = "tpu"}, "backend 'tpu': expected cpu, cuda or interp");
    expect_refused((sf_options){.threads = -1}, "threads: -1");
    expect_refused((sf_options){.precision = "fp16"}, "precision fp16: not supported yet");
    m = pfcn3_ok((sf_options){.precision = "fp32"});
    sf_model_free(m);
    expect_refused((sf_options){.max_nodes = 5}, "ParallelFCN(3) unrolls to more than 5 IR nodes");
    /* check: against the -O0 IR, which still reads the original weights */
    m = pfcn3_ok((sf_options){.check = true});
    assert_non_null(m->ref);
    run2(m, a);
    sf_tensor *w1 = sf_tensors_get(m->weights, "models.0.fc1.weight"); /* composed away at -O2 */
    assert_non_null(w1);
    w1->data[0] += 1.0f;
    const float x[120] = {1.0f};
    const float *in[1] = {x};
    float *outs[1] = {b};
    sf_error e = {0};
    assert_int_equal(sf_run(m, 2, in, outs, &e), SF_ERR_RUNTIME);
    assert_contains(e.msg, "interpreter on -O0 IR");
    sf_model_free(m);
}

/* targets, no_cache: CUDA code ahead of time, and nothing left in the cache */
static void test_cuda_options(void **state)
{
    (void)state;
    const char *why;
    if (!sf_nvrtc_available(&why)) {
        printf("  (NVRTC not loadable: %s; targets not compiled here)\n", why);
        return;
    }
    char dir[] = "/tmp/sheaf-options-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *old = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    setenv("XDG_CACHE_HOME", dir, 1);
    sf_model *m = pfcn3_ok((sf_options){.targets = "sm_80", .no_cache = true});
    assert_true(m->cuda.nimages >= 1);
    sf_model_free(m);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sheaf", dir);
    assert_int_not_equal(access(sub, F_OK), 0); /* no_cache: nothing written */
    if (old)
        setenv("XDG_CACHE_HOME", old, 1), free(old);
    else
        unsetenv("XDG_CACHE_HOME");
    rmdir(dir);
    expect_refused((sf_options){.targets = "sm_1"}, "sm_1");
}

/* backward, input_grads, loss: the backward function, run like any model */
static void test_training_options(void **state)
{
    (void)state;
    sf_model *m = pfcn3_ok((sf_options){.backward = true});
    assert_int_equal(m->g->inputs.len, 2);
    assert_string_equal(((sf_value *)m->g->inputs.items[1])->def->name, "grad.output");
    assert_int_equal(m->g->outputs.len, 1 + 12); /* the output, then 4 parameters per branch */
    float x[120], seed[6], out[6], grads[12][200];
    for (int i = 0; i < 120; i++)
        x[i] = (float)((i * 37) % 19) / 9.0f - 1.0f;
    for (int i = 0; i < 6; i++)
        seed[i] = (float)i - 2.5f;
    const float *in[2] = {x, seed};
    float *outs[13] = {out};
    for (int k = 0; k < 12; k++)
        outs[1 + k] = grads[k];
    sf_error e = {0};
    if (sf_run(m, 2, in, outs, &e) != SF_OK)
        fail_msg("%s", e.msg);
    for (int i = 0; i < 3; i++) /* d/d models.i.fc2.bias: the seed summed over the batch */
        assert_float_equal(grads[4 * i + 3][0], seed[i] + seed[3 + i], 1e-5);
    sf_model_free(m);
    m = pfcn3_ok((sf_options){.backward = true, .input_grads = true, .loss = "mse"});
    assert_int_equal(m->g->inputs.len, 3); /* x, target, grad.output */
    assert_string_equal(((sf_value *)m->g->inputs.items[1])->def->name, "target");
    assert_int_equal(m->g->outputs.len, 1 + 12 + 2); /* and d/dx, d/dtarget */
    sf_tensor_info info;
    assert_true(sf_output_info(m, 1, &info));
    assert_string_equal(info.name, "grad.models.0.fc1.weight"); /* named by what they are the gradients of */
    assert_true(sf_output_info(m, 13, &info));
    assert_string_equal(info.name, "grad.x");
    assert_true(sf_output_info(m, 14, &info));
    assert_string_equal(info.name, "grad.target");
    sf_model_free(m);
    /* trainable: the stacked weights follow new values (hfuse still groups the three branches) */
    sf_model *plain = pfcn3_ok((sf_options){0}), *tr = pfcn3_ok((sf_options){.trainable = true});
    assert_true(tr->nderive >= 4 && plain->nderive == 0);
    sf_weights *w = sf_weights_new();
    float zero[200] = {0};
    assert_int_equal(sf_weights_set(w, "models.1.fc2.weight", 2, (int64_t[]){1, 10}, zero, &e), SF_OK);
    assert_int_equal(sf_weights_set(w, "models.1.fc2.bias", 1, (int64_t[]){1}, (float[]){0.25f}, &e), SF_OK);
    assert_int_equal(sf_model_set_weights(tr, w, &e), SF_OK);
    float a[6], b[6];
    assert_int_equal(sf_run(plain, 2, in, (float *[]){a}, &e), SF_OK);
    assert_int_equal(sf_run(tr, 2, in, (float *[]){b}, &e), SF_OK);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 3; k++)
            assert_float_equal(b[r * 3 + k], k == 1 ? 0.25f : a[r * 3 + k], 1e-6); /* branch 1 only: bias */
    sf_weights_free(w);
    sf_model_free(plain), sf_model_free(tr);
    expect_refused((sf_options){.loss = "hinge"}, "loss 'hinge': expected one of mse, l1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_and_pipeline), cmocka_unit_test(test_weights_options),
        cmocka_unit_test(test_reporting_options),   cmocka_unit_test(test_hfuse_options),
        cmocka_unit_test(test_backend_options),     cmocka_unit_test(test_cuda_options),
        cmocka_unit_test(test_training_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
