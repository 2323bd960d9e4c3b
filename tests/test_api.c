/* The public C API: compiling from files and text, weights from memory,
 * caller-owned buffers, IO queries, the builder, and refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sheaf.h"
#include "testutil.h"

static const char *pfcn_inputs[] = {"x=f32[B,160]"};

static sf_model *pfcn8(const char *backend, bool unoptimised)
{
    sf_options o = {.model = "ParallelFCN(8)", .inputs = pfcn_inputs, .ninputs = 1, .seed = 7,
                    .backend = backend, .unoptimised = unoptimised};
    sf_error e = {0};
    sf_model *m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

static float *random_floats(size_t n, unsigned seed)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
    }
    return x;
}

static void test_io_queries(void **state)
{
    (void)state;
    sf_model *m = pfcn8(NULL, false);
    assert_int_equal(sf_num_inputs(m), 1);
    assert_int_equal(sf_num_outputs(m), 1);
    sf_tensor_info in, out;
    assert_true(sf_input_info(m, 0, &in));
    assert_string_equal(in.name, "x");
    assert_int_equal(in.rank, 2);
    assert_int_equal(in.dims[0], SF_BATCH);
    assert_int_equal(in.dims[1], 160);
    assert_true(sf_output_info(m, 0, &out));
    assert_string_equal(out.name, "output");
    assert_int_equal(out.dims[1], 8);
    assert_false(sf_input_info(m, 1, &in));
    assert_int_equal(sf_input_numel(m, 0, 5), 800);
    assert_int_equal(sf_output_numel(m, 0, 5), 40);
    assert_int_equal(sf_output_numel(m, 3, 5), 0);
    sf_model_free(m);
}

/* the CPU backend at -O2 against the interpreter at -O0, same weights (seed) */
static void test_cpu_matches_interpreter(void **state)
{
    (void)state;
    sf_model *fast = pfcn8("cpu", false), *ref = pfcn8("interp", true);
    for (int64_t batch = 1; batch <= 9; batch += 4) {
        float *x = random_floats((size_t)batch * 160, (unsigned)batch);
        float *y = calloc((size_t)batch * 8, sizeof *y), *want = calloc((size_t)batch * 8, sizeof *want);
        sf_error e = {0};
        assert_int_equal(sf_run(fast, batch, (const float *const[]){x}, (float *const[]){y}, &e), SF_OK);
        assert_int_equal(sf_run(ref, batch, (const float *const[]){x}, (float *const[]){want}, &e), SF_OK);
        assert_close(y, want, (size_t)batch * 8, 1e-5, 1e-5);
        double norm = 0;
        for (int64_t i = 0; i < batch * 8; i++)
            norm += fabs(want[i]);
        assert_true(norm > 0.01); /* not a vacuous comparison */
        free(x), free(y), free(want);
    }
    sf_model_free(fast);
    sf_model_free(ref);
}

/* SimpleMLP from text with weights set from memory: values by hand */
static void test_weights_from_memory(void **state)
{
    (void)state;
    static const char ir[] = "param @fc.weight : f32[2,3]\nparam @fc.bias : f32[2]\n"
                             "func @M(%x: f32[B,3]) {\n  %0 = linear %x, @fc.weight, @fc.bias : f32[B,2]\n"
                             "  %1 = relu %0 : f32[B,2]\n  return %1\n}\n";
    sf_weights *w = sf_weights_new();
    sf_error e = {0};
    assert_int_equal(sf_weights_set(w, "fc.weight", 2, (const int64_t[]){2, 3}, (const float[]){1, 2, 3, -1, -2, -3}, &e),
                     SF_OK);
    assert_int_equal(sf_weights_set(w, "fc.bias", 1, (const int64_t[]){2}, (const float[]){0.5f, 0.25f}, &e), SF_OK);
    assert_int_equal(sf_weights_set(w, "fc.bias", 1, (const int64_t[]){2}, (const float[]){0, 0}, &e), SF_ERR_INVALID_ARG);
    sf_options o = {.weights = w};
    sf_model *m = sf_compile_text(ir, strlen(ir), "mem.sfir", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    float y[4];
    assert_int_equal(sf_run(m, 2, (const float *const[]){(const float[]){1, 1, 1, -1, 0, 0}}, (float *const[]){y}, &e),
                     SF_OK);
    /* row 0: 6.5, -6+0.25 -> relu 0; row 1: -1+0.5 -> 0, 1+0.25 */
    assert_close(y, (const float[]){6.5f, 0, 0, 1.25f}, 4, 1e-6, 1e-6);
    sf_model_free(m);
    /* a missing weight is named */
    sf_weights *partial = sf_weights_new();
    assert_int_equal(sf_weights_set(partial, "fc.weight", 2, (const int64_t[]){2, 3}, (const float[]){1, 2, 3, 4, 5, 6}, &e),
                     SF_OK);
    o.weights = partial;
    assert_null(sf_compile_text(ir, strlen(ir), "mem.sfir", &o, &e));
    assert_contains(e.msg, "fc.bias");
    sf_weights_free(partial);
    sf_weights_free(w);
}

static void test_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    assert_null(sf_compile_file(SF_MODELS "/no_such_file.py", NULL, &e));
    assert_int_equal(e.code, SF_ERR_IO);
    assert_null(sf_compile_text("x", 1, "model.txt", NULL, &e));
    assert_contains(e.msg, "model.txt");
    const char *in[] = {"x=f32[B,160]"};
    sf_options bad = {.model = "ParallelFCN(8)", .inputs = in, .ninputs = 1, .backend = "tpu"};
    assert_null(sf_compile_file(SF_MODELS "/parallel_fcn.py", &bad, &e));
    assert_contains(e.msg, "tpu");
    assert_contains(e.msg, "expected cpu, cuda or interp");
    sf_model *m = pfcn8(NULL, false);
    float x[160] = {0}, y[8];
    assert_int_equal(sf_run(m, 0, (const float *const[]){x}, (float *const[]){y}, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "batch");
    assert_int_equal(sf_run(m, 1, (const float *const[]){NULL}, (float *const[]){y}, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "'x'");
    assert_int_equal(sf_run(m, 1, (const float *const[]){x}, NULL, &e), SF_ERR_INVALID_ARG);
    assert_int_equal(sf_run(NULL, 1, NULL, NULL, &e), SF_ERR_INVALID_ARG);
    sf_model_free(m);
    assert_null(sf_load(NULL, NULL, &e));
    assert_int_equal(sf_save(NULL, "x", &e), SF_ERR_INVALID_ARG);
}

/* four branches of linear -> relu on 2-wide slices, concatenated: the
 * builder's graph, weights from memory, checked by hand */
static void test_builder_parallel_branches(void **state)
{
    (void)state;
    sf_builder *b = sf_builder_new("branches");
    sf_ref x = sf_b_input(b, "x", 2, (const int64_t[]){SF_BATCH, 8});
    sf_ref outs[4];
    sf_weights *w = sf_weights_new();
    sf_error e = {0};
    for (int i = 0; i < 4; i++) {
        char prefix[32], key[64];
        snprintf(prefix, sizeof prefix, "models.%d", i);
        sf_ref s = sf_b_slice(b, x, 1, 2 * i, 2 * i + 2);
        outs[i] = sf_b_activation(b, "relu", sf_b_linear(b, s, 1, true, prefix));
        /* branch i: y = relu((i+1) * (x0 - x1) + i) */
        snprintf(key, sizeof key, "%s.weight", prefix);
        assert_int_equal(sf_weights_set(w, key, 2, (const int64_t[]){1, 2}, (const float[]){(float)(i + 1), (float)-(i + 1)}, &e),
                         SF_OK);
        snprintf(key, sizeof key, "%s.bias", prefix);
        assert_int_equal(sf_weights_set(w, key, 1, (const int64_t[]){1}, (const float[]){(float)i}, &e), SF_OK);
    }
    assert_int_equal(sf_b_output(b, sf_b_concat(b, outs, 4, 1)), SF_OK);
    sf_options o = {.weights = w};
    sf_model *m = sf_builder_compile(b, &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    sf_builder_free(b);
    const float xin[8] = {3, 1, 0, 2, 1, 1, -5, 0};
    float y[4];
    assert_int_equal(sf_run(m, 1, (const float *const[]){xin}, (float *const[]){y}, &e), SF_OK);
    /* 1*(3-1)+0 = 2; 2*(0-2)+1 = -3 -> 0; 3*0+2 = 2; 4*(-5)+3 = -17 -> 0 */
    assert_close(y, (const float[]){2, 0, 2, 0}, 4, 1e-6, 1e-6);
    sf_model_free(m);
    sf_weights_free(w);
}

static void test_builder_sum_mean_conv(void **state)
{
    (void)state;
    sf_builder *b = sf_builder_new("sums");
    sf_ref x = sf_b_input(b, "x", 4, (const int64_t[]){SF_BATCH, 1, 3, 3});
    sf_ref c[2];
    for (int i = 0; i < 2; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "convs.%d", i);
        c[i] = sf_b_conv2d(b, x, 1, 3, 1, 1, 1, false, prefix);
    }
    sf_b_output(b, sf_b_sum(b, c, 2));
    sf_b_output(b, sf_b_mean(b, c, 2));
    sf_weights *w = sf_weights_new();
    sf_error e = {0};
    float k0[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, k1[9] = {0, 0, 0, 0, 3, 0, 0, 0, 0}; /* identity, times 3 */
    sf_weights_set(w, "convs.0.weight", 4, (const int64_t[]){1, 1, 3, 3}, k0, &e);
    sf_weights_set(w, "convs.1.weight", 4, (const int64_t[]){1, 1, 3, 3}, k1, &e);
    sf_options o = {.weights = w};
    sf_model *m = sf_builder_compile(b, &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    float xin[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, s[9], mean[9], want_s[9], want_m[9];
    for (int i = 0; i < 9; i++)
        want_s[i] = 4 * xin[i], want_m[i] = 2 * xin[i];
    assert_int_equal(sf_run(m, 1, (const float *const[]){xin}, (float *const[]){s, mean}, &e), SF_OK);
    assert_close(s, want_s, 9, 1e-6, 1e-6);
    assert_close(mean, want_m, 9, 1e-6, 1e-6);
    sf_model_free(m);
    sf_weights_free(w);
    sf_builder_free(b);
}

/* name as a whole word of a "(a, b, c)" list: "ne" is not listed by "neg" */
static bool in_list(const char *msg, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(msg, name); p; p = strstr(p + 1, name))
        if (p > msg && (p[-1] == '(' || p[-1] == ' ') && (p[n] == ',' || p[n] == ')'))
            return true;
    return false;
}

static void test_builder_errors(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_builder *b = sf_builder_new("bad");
    sf_ref x = sf_b_input(b, "x", 2, (const int64_t[]){SF_BATCH, 4});
    sf_ref y = sf_b_activation(b, "swish", x);
    assert_int_equal(y, 0);
    sf_ref z = sf_b_linear(b, y, 3, true, "fc"); /* after the error: nothing, and no new error */
    assert_int_equal(z, 0);
    assert_null(sf_builder_compile(b, NULL, &e));
    assert_contains(e.msg, "unknown activation 'swish'");
    assert_contains(e.msg, "(relu, gelu, tanh, sigmoid, silu, leaky_relu, elu, clamp, abs, ");
    for (int op = 0; op < SF_OP_COUNT; op++) /* every unary op, from the table, and nothing else */
        if (in_list(e.msg, sf_ops[op].name) != (sf_op_cls((sf_opcode)op) == SF_OPCLS_UNARY))
            fail_msg("op %s: %s", sf_ops[op].name, e.msg);
    sf_builder_free(b);

    b = sf_builder_new("attrs");
    x = sf_b_input(b, "x", 2, (const int64_t[]){SF_BATCH, 4});
    assert_int_equal(sf_b_activation(b, "leaky_relu", x), 0);
    assert_null(sf_builder_compile(b, NULL, &e));
    assert_contains(e.msg, "leaky_relu takes 1 attribute (alpha), got 0");
    sf_builder_free(b);
    b = sf_builder_new("attrs");
    x = sf_b_input(b, "x", 2, (const int64_t[]){SF_BATCH, 4});
    assert_int_equal(sf_b_activation_attrs(b, "relu", x, (const double[]){1}, 1), 0);
    assert_null(sf_builder_compile(b, NULL, &e));
    assert_contains(e.msg, "relu takes 0 attributes (none), got 1");
    sf_builder_free(b);
    b = sf_builder_new("attrs");
    x = sf_b_input(b, "x", 2, (const int64_t[]){SF_BATCH, 4});
    assert_int_equal(sf_b_activation_attrs(b, "softplus", x, (const double[]){1}, 1), 0);
    assert_null(sf_builder_compile(b, NULL, &e));
    assert_contains(e.msg, "softplus takes 2 attributes (beta, threshold), got 1");
    sf_builder_free(b);

    b = sf_builder_new("shapes");
    x = sf_b_input(b, "x", 2, (const int64_t[]){SF_BATCH, 4});
    sf_ref u = sf_b_input(b, "u", 2, (const int64_t[]){SF_BATCH, 5});
    assert_int_equal(sf_b_add(b, x, u), 0);
    assert_null(sf_builder_compile(b, NULL, &e));
    assert_contains(e.msg, "add");
    sf_builder_free(b);

    b = sf_builder_new("empty");
    sf_b_input(b, "x", 1, (const int64_t[]){SF_BATCH});
    assert_null(sf_builder_compile(b, NULL, &e));
    assert_contains(e.msg, "no output");
    assert_int_equal(sf_b_output(b, 42), SF_ERR_INVALID_ARG);
    sf_builder_free(b);

    /* each builder refusal, named in the message compile reports */
    static const struct { const char *want; int which; } refusals[] = {
        {"dim below 1", 0}, {"out_features must be positive", 1}, {"conv2d", 2},
        {"dim out of range", 3}, {"at least one operand", 4}, {"rank out of range", 5}};
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        b = sf_builder_new("refusal");
        sf_ref v = sf_b_input(b, "v", 2, (const int64_t[]){SF_BATCH, 4});
        switch (refusals[i].which) {
        case 0: sf_b_input(b, "z", 2, (const int64_t[]){SF_BATCH, 0}); break;
        case 1: sf_b_linear(b, v, 0, true, "fc"); break;
        case 2: sf_b_conv2d(b, v, 4, 3, 1, 1, 1, true, "conv"); break; /* a rank-2 input */
        case 3: sf_b_slice(b, v, 5, 0, 1); break;
        case 4: sf_b_concat(b, NULL, 0, 1); break;
        default: sf_b_input(b, "w", SF_MAX_RANK_PUBLIC + 1, (const int64_t[]){1}); break;
        }
        assert_null(sf_builder_compile(b, NULL, &e));
        assert_contains(e.msg, refusals[i].want);
        sf_builder_free(b);
    }
}

static void test_weights_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_weights *w = sf_weights_new();
    assert_int_equal(sf_weights_set(w, "a", 1, (const int64_t[]){0}, (const float[]){0}, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "'a' dim 0 is 0");
    assert_int_equal(sf_weights_set(w, "a", 1, (const int64_t[]){1}, NULL, &e), SF_ERR_INVALID_ARG);
    assert_int_equal(sf_weights_set(w, "a", SF_MAX_RANK_PUBLIC + 1, (const int64_t[]){1}, (const float[]){0}, &e),
                     SF_ERR_INVALID_ARG);
    assert_int_equal(sf_weights_load(w, NULL, &e), SF_ERR_INVALID_ARG);
    assert_int_equal(sf_weights_load(w, "/nonexistent.safetensors", &e), SF_ERR_IO);
    sf_weights_free(w);
}

/* borrowed weights are read where the caller keeps them: a change shows in
 * the next run (where no pass derived or packed them), and the weights
 * object may go before the model; copied ones are the model's own */
static void test_weights_borrowed(void **state)
{
    (void)state;
    static const char *ir = "param @b : f32[4]\n\nfunc @m(%x: f32[B,4]) {\n  %0 = add %x, @b : f32[B,4]\n"
                            "  %1 = relu %0 : f32[B,4]\n  return %1\n}\n";
    const char *backends[] = {"cpu", "interp"};
    for (int k = 0; k < 2; k++)
        for (int borrow = 0; borrow < 2; borrow++) {
            float b[4] = {1, 2, 3, 4}, x[4] = {0, -1, -5, 1}, y[4];
            sf_error e = {0};
            sf_weights *w = sf_weights_new();
            sf_status st = borrow ? sf_weights_borrow(w, "b", 1, (const int64_t[]){4}, b, &e)
                                  : sf_weights_set(w, "b", 1, (const int64_t[]){4}, b, &e);
            assert_int_equal(st, SF_OK);
            sf_options o = {.weights = w, .backend = backends[k]};
            sf_model *m = sf_compile_text(ir, strlen(ir), "borrow.sfir", &o, &e);
            if (!m)
                fail_msg("%s", e.msg);
            sf_weights_free(w);
            assert_int_equal(sf_run(m, 1, (const float *const[]){x}, (float *const[]){y}, &e), SF_OK);
            assert_close(y, (const float[]){1, 1, 0, 5}, 4, 0, 0);
            b[0] = 10;
            assert_int_equal(sf_run(m, 1, (const float *const[]){x}, (float *const[]){y}, &e), SF_OK);
            assert_true(y[0] == (borrow ? 10.0f : 1.0f)); /* the caller's memory, or the model's copy */
            sf_model_free(m);
        }
    sf_error e = {0};
    assert_int_equal(sf_weights_borrow(NULL, "b", 1, (const int64_t[]){4}, (const float[]){0}, &e), SF_ERR_INVALID_ARG);
    sf_weights *w = sf_weights_new();
    assert_int_equal(sf_weights_borrow(w, "b", 1, (const int64_t[]){0}, (const float[]){0}, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "'b' dim 0 is 0");
    sf_weights_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_queries),
        cmocka_unit_test(test_cpu_matches_interpreter),
        cmocka_unit_test(test_weights_from_memory),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_builder_parallel_branches),
        cmocka_unit_test(test_builder_sum_mean_conv),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_weights_refusals),
        cmocka_unit_test(test_weights_borrowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
