/* Passes as IR text in, IR text out, like FileCheck tests; every rewrite
 * is also run through the interpreter before and after (the oracle). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "pass.h"

/* Runs passes on the IR; checks the printed result, then that the
 * interpreter gives the same outputs before and after (batch 3). */
static void check(const char *passes, const char *ir, const char *want)
{
    sf_error e = {0};
    sf_graph *before = sf_parse(ir, strlen(ir), "in.sfir", &e), *after = sf_parse(ir, strlen(ir), "in.sfir", &e);
    if (!before || !after)
        fail_msg("%s", e.msg);
    sf_module m = {after, sf_tensors_new()};
    assert_int_equal(sf_init_weights(before, 7, m.weights, &e), SF_OK);
    sf_pipeline_opts o = {.passes = passes, .verify_each = true};
    if (sf_run_pipeline(&m, &o, &e) != SF_OK)
        fail_msg("%s", e.msg);
    char *got = sf_print_string(m.g);
    if (strcmp(got, want) != 0)
        fail_msg("after %s:\n%s\nwanted:\n%s", passes, got, want);
    sf_tensor_set *in = sf_tensors_new(), *out0 = sf_tensors_new(), *out1 = sf_tensors_new();
    assert_int_equal(sf_random_inputs(before, 3, 11, in, &e), SF_OK);
    assert_int_equal(sf_interp_run(before, 3, in, m.weights, out0, &e), SF_OK);
    if (sf_interp_run(m.g, 3, in, m.weights, out1, &e) != SF_OK)
        fail_msg("%s", e.msg);
    for (size_t i = 0; i < out0->tensors.len; i++) {
        const sf_tensor *a = out0->tensors.items[i], *b = out1->tensors.items[i];
        assert_int_equal(sf_tensor_numel(a), sf_tensor_numel(b));
        assert_close(b->data, a->data, sf_tensor_numel(a), 1e-5, 1e-5);
    }
    free(got);
    sf_tensors_free(in), sf_tensors_free(out0), sf_tensors_free(out1), sf_tensors_free(m.weights);
    sf_graph_free(before);
    sf_graph_free(m.g);
}

static void test_dce(void **state)
{
    (void)state;
    check("dce",
          "param @w : f32[2,2]\nparam @unused : f32[3]\n"
          "func @f(%x: f32[B,2], %y: f32[B,2]) {\n"
          "  %0 = linear %x, @w : f32[B,2]\n  %1 = relu %x : f32[B,2]\n  %2 = tanh %0 : f32[B,2]\n"
          "  %3 = sigmoid %1 : f32[B,2]\n  return %2\n}\n",
          "param @w : f32[2,2]\n\n"
          "func @f(%x: f32[B,2], %y: f32[B,2]) {\n"
          "  %0 = linear %x, @w : f32[B,2]\n  %1 = tanh %0 : f32[B,2]\n  return %1\n}\n");
}

static void test_cse(void **state)
{
    (void)state;
    check("cse",
          "param @w : f32[2,2]\n"
          "func @f(%x: f32[B,2]) {\n"
          "  %0 = linear %x, @w : f32[B,2]\n  %1 = linear %x, @w : f32[B,2]\n"
          "  %2 = scalar {value=2.0} : f32[]\n  %3 = scalar {value=2.0} : f32[]\n  %4 = scalar {value=3.0} : f32[]\n"
          "  %5 = mul %0, %2 : f32[B,2]\n  %6 = mul %1, %3 : f32[B,2]\n  %7 = mul %1, %4 : f32[B,2]\n"
          "  %8 = softmax %5 {dim=1} : f32[B,2]\n  %9 = softmax %5 {dim=0} : f32[B,2]\n"
          "  return %6, %7, %8, %9\n}\n",
          "param @w : f32[2,2]\n\n"
          "func @f(%x: f32[B,2]) {\n"
          "  %0 = linear %x, @w : f32[B,2]\n  %1 = scalar {value=2.0} : f32[]\n  %2 = scalar {value=3.0} : f32[]\n"
          "  %3 = mul %0, %1 : f32[B,2]\n  %4 = mul %0, %2 : f32[B,2]\n  %5 = softmax %3 {dim=1} : f32[B,2]\n"
          "  %6 = softmax %3 {dim=0} : f32[B,2]\n  return %3, %4, %5, %6\n}\n");
}

static void test_views_become_one_reshape(void **state)
{
    (void)state;
    /* seed 003's hand-written model: unsqueeze ... squeeze around the convs;
     * chains of views collapse, a view back to the same type disappears */
    check("canonicalize,dce",
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = unsqueeze %x {dim=2} : f32[B,6,1]\n  %1 = reshape %0 {shape=[B,2,3]} : f32[B,2,3]\n"
          "  %2 = flatten %1 {start=1, end=2} : f32[B,6]\n  %3 = relu %2 : f32[B,6]\n"
          "  %4 = unsqueeze %3 {dim=1} : f32[B,1,6]\n  %5 = squeeze %4 {dims=[1]} : f32[B,6]\n"
          "  %6 = unsqueeze %3 {dim=0} : f32[1,B,6]\n  return %5, %1, %6\n}\n",
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = reshape %x {shape=[B,2,3]} : f32[B,2,3]\n  %1 = relu %x : f32[B,6]\n"
          "  %2 = reshape %1 {shape=[1,B,6]} : f32[1,B,6]\n  return %1, %0, %2\n}\n");
}

static void test_noops_go_away(void **state)
{
    (void)state;
    /* a concat of a single input, a split into one piece, a full slice, x*1,
     * 1*x, x/1, x+0, x-0: each is its operand; x*1 that broadcasts is not */
    check("canonicalize,dce",
          "func @f(%x: f32[B,4], %s: f32[B,1]) {\n"
          "  %0 = concat %x {dim=1} : f32[B,4]\n  %1 = split %0 {dim=1, sizes=[4]} : f32[B,4]\n"
          "  %2 = slice %1 {dim=1, start=0, end=4, step=1} : f32[B,4]\n  %3 = scalar {value=1.0} : f32[]\n"
          "  %4 = scalar {value=0.0} : f32[]\n  %5 = mul %2, %3 : f32[B,4]\n  %6 = mul %3, %5 : f32[B,4]\n"
          "  %7 = div %6, %3 : f32[B,4]\n  %8 = add %7, %4 : f32[B,4]\n  %9 = sub %8, %4 : f32[B,4]\n"
          "  %10 = transpose %9 {dim0=1, dim1=1} : f32[B,4]\n  %11 = mul %s, %3 : f32[B,1]\n"
          "  %12 = add %11, %4 : f32[B,1]\n  %13 = mul %x, %s : f32[B,4]\n"
          "  return %10, %12, %13\n}\n",
          "func @f(%x: f32[B,4], %s: f32[B,1]) {\n"
          "  %0 = mul %x, %s : f32[B,4]\n  return %x, %s, %0\n}\n");
}

static void test_batchnorm_folds_into_conv_and_linear(void **state)
{
    (void)state;
    check("canonicalize,dce",
          "param @cw : f32[3,2,3,3]\nparam @cb : f32[3]\n"
          "param @m : f32[3]\nparam @v : f32[3]\nparam @g : f32[3]\nparam @b : f32[3]\n"
          "param @lw : f32[3,4]\nparam @m2 : f32[3]\nparam @v2 : f32[3]\n"
          "func @f(%x: f32[B,2,5,5], %y: f32[B,4]) {\n"
          "  %0 = conv2d %x, @cw, @cb {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,3,5,5]\n"
          "  %1 = batchnorm %0, @m, @v, @g, @b {eps=1e-05} : f32[B,3,5,5]\n"
          "  %2 = linear %y, @lw : f32[B,3]\n"
          "  %3 = batchnorm %2, @m2, @v2 {eps=0.001} : f32[B,3]\n"
          "  return %1, %3\n}\n",
          "param @cw.bn_folded : f32[3,2,3,3]\nparam @cw.bn_folded_bias : f32[3]\n"
          "param @lw.bn_folded : f32[3,4]\nparam @lw.bn_folded_bias : f32[3]\n\n"
          "func @f(%x: f32[B,2,5,5], %y: f32[B,4]) {\n"
          "  %0 = conv2d %x, @cw.bn_folded, @cw.bn_folded_bias {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} "
          ": f32[B,3,5,5]\n"
          "  %1 = linear %y, @lw.bn_folded, @lw.bn_folded_bias : f32[B,3]\n  return %0, %1\n}\n");
}

static void test_batchnorm_not_folded_when_conv_is_shared(void **state)
{
    (void)state;
    /* the conv's own result is also returned: folding would change it */
    const char *ir = "param @cw : f32[2,2,1]\nparam @m : f32[2]\nparam @v : f32[2]\n"
                     "func @f(%x: f32[B,2,4]) {\n"
                     "  %0 = conv1d %x, @cw {stride=[1], padding=[0], dilation=[1], groups=1} : f32[B,2,4]\n"
                     "  %1 = batchnorm %0, @m, @v {eps=1e-05} : f32[B,2,4]\n  return %0, %1\n}\n";
    check("canonicalize", ir,
          "param @cw : f32[2,2,1]\nparam @m : f32[2]\nparam @v : f32[2]\n\n"
          "func @f(%x: f32[B,2,4]) {\n"
          "  %0 = conv1d %x, @cw {stride=[1], padding=[0], dilation=[1], groups=1} : f32[B,2,4]\n"
          "  %1 = batchnorm %0, @m, @v {eps=1e-05} : f32[B,2,4]\n  return %0, %1\n}\n");
}

static void test_constant_folding(void **state)
{
    (void)state;
    /* relu(@p) * 2 and @a + @b depend on parameters only */
    check("canonicalize,dce",
          "param @p : f32[4]\nparam @a : f32[4]\nparam @b : f32[4]\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = relu @p : f32[4]\n  %1 = scalar {value=2.0} : f32[]\n  %2 = mul %0, %1 : f32[4]\n"
          "  %3 = add @a, @b : f32[4]\n  %4 = mul %x, %2 : f32[B,4]\n  %5 = add %4, %3 : f32[B,4]\n"
          "  return %5\n}\n",
          "param @p.folded.folded : f32[4]\nparam @a.folded : f32[4]\n\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = mul %x, @p.folded.folded : f32[B,4]\n  %1 = add %0, @a.folded : f32[B,4]\n  return %1\n}\n");
}

static void test_manager_options(void **state)
{
    (void)state;
    sf_error e = {0};
    const char *ir = "func @f(%x: f32[B,4]) {\n  %0 = relu %x : f32[B,4]\n  return %0\n}\n";
    sf_graph *g = sf_parse(ir, strlen(ir), "t", &e);
    sf_module m = {g, sf_tensors_new()};
    sf_pipeline_opts o = {.passes = "canonicalize,frob"};
    assert_int_equal(sf_run_pipeline(&m, &o, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "unknown pass 'frob'");
    sf_pipeline_opts p = {.opt_level = 2, .print_after = "nope"};
    assert_int_equal(sf_run_pipeline(&m, &p, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "--print-after: unknown pass 'nope'");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sf_pipeline_opts q = {.opt_level = 2, .print_after_all = true, .time_passes = true, .print_to = f};
    assert_int_equal(sf_run_pipeline(&m, &q, &e), SF_OK);
    fclose(f);
    assert_contains(buf, "# *** IR after canonicalize (pass 1 of 3) ***\nfunc @f");
    assert_contains(buf, "# *** IR after dce (pass 3 of 3) ***");
    assert_contains(buf, "# pass cse ");
    free(buf);
    sf_tensors_free(m.weights);
    sf_graph_free(m.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dce),
        cmocka_unit_test(test_cse),
        cmocka_unit_test(test_views_become_one_reshape),
        cmocka_unit_test(test_noops_go_away),
        cmocka_unit_test(test_batchnorm_folds_into_conv_and_linear),
        cmocka_unit_test(test_batchnorm_not_folded_when_conv_is_shared),
        cmocka_unit_test(test_constant_folding),
        cmocka_unit_test(test_manager_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
