/* Interpreter kernels that move data or reduce it, checked by hand. */
#include "testutil.h"

#include <string.h>

/* x = [[0,1,2,3],[4,5,6,7]] for most tests */
static sf_tensor_set *x24(void)
{
    return tset(1, &LIT("x", 2, DIMS(2, 4), 0, 1, 2, 3, 4, 5, 6, 7));
}

static void test_slice(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,4]) {\n"
                     "  %0 = slice %x {dim=1, start=1, end=3, step=1} : f32[B,2]\n"
                     "  %1 = slice %x {dim=1, start=0, end=4, step=3} : f32[B,2]\n"
                     "  %2 = slice %x {dim=1, start=2, end=2, step=1} : f32[B,0]\n"
                     "  return %0, %1, %2\n}\n";
    sf_tensor_set *in = x24(), *out = run_ir(ir, 2, in, NULL);
    EXPECT(out, "output.0", 2, DIMS(2, 2), 1, 2, 5, 6);
    EXPECT(out, "output.1", 2, DIMS(2, 2), 0, 3, 4, 7);
    const sf_tensor *empty = sf_tensors_get(out, "output.2");
    assert_int_equal(empty->dim[1], 0);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_split(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,4]) {\n"
                     "  %0, %1 = split %x {dim=1, sizes=[1,3]} : f32[B,1], f32[B,3]\n"
                     "  return %1, %0\n}\n";
    sf_tensor_set *in = x24(), *out = run_ir(ir, 2, in, NULL);
    EXPECT(out, "output.0", 2, DIMS(2, 3), 1, 2, 3, 5, 6, 7);
    EXPECT(out, "output.1", 2, DIMS(2, 1), 0, 4);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_concat(void **state)
{
    (void)state;
    const char *ir = "param @p : f32[1,4]\n"
                     "func @f(%x: f32[B,4]) {\n"
                     "  %0 = concat %x, %x {dim=1} : f32[B,8]\n"
                     "  %1 = concat %x, @p, %x {dim=0} : f32[5,4]\n"
                     "  %2 = concat %x {dim=1} : f32[B,4]\n"
                     "  return %0, %1, %2\n}\n";
    sf_tensor_set *in = x24();
    /* concat along dim 0 mixes B with constants: allowed only when the
     * other dims agree; here the result dim is 2+1+2 for B=2 -- but the
     * type says 5, so the rule must refuse B along the concat dim */
    const char *msg = parse_error(ir);
    assert_contains(msg, "concat");
    const char *ok = "func @f(%x: f32[B,4]) {\n"
                     "  %0 = concat %x, %x {dim=1} : f32[B,8]\n"
                     "  %1 = concat %x {dim=1} : f32[B,4]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *out = run_ir(ok, 2, in, NULL);
    EXPECT(out, "output.0", 2, DIMS(2, 8), 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7);
    EXPECT(out, "output.1", 2, DIMS(2, 4), 0, 1, 2, 3, 4, 5, 6, 7);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_stack(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,4], %y: f32[B,4]) {\n"
                     "  %0 = stack %x, %y {dim=0} : f32[2,B,4]\n"
                     "  %1 = stack %x, %y {dim=2} : f32[B,4,2]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *in = tset(2, (tensor_lit[]){LIT("x", 2, DIMS(1, 4), 0, 1, 2, 3), LIT("y", 2, DIMS(1, 4), 4, 5, 6, 7)});
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    EXPECT(out, "output.0", 3, DIMS(2, 1, 4), 0, 1, 2, 3, 4, 5, 6, 7);
    EXPECT(out, "output.1", 3, DIMS(1, 4, 2), 0, 4, 1, 5, 2, 6, 3, 7);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_sum_mean(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,4]) {\n"
                     "  %0 = sum %x {dims=[1], keepdim=false} : f32[B]\n"
                     "  %1 = mean %x {dims=[1], keepdim=true} : f32[B,1]\n"
                     "  %2 = sum %x {dims=[0], keepdim=false} : f32[4]\n"
                     "  %3 = mean %x {dims=[0,1], keepdim=false} : f32[]\n"
                     "  return %0, %1, %2, %3\n}\n";
    sf_tensor_set *in = x24(), *out = run_ir(ir, 2, in, NULL);
    EXPECT(out, "output.0", 1, DIMS(2), 6, 22);
    EXPECT(out, "output.1", 2, DIMS(2, 1), 1.5, 5.5);
    EXPECT(out, "output.2", 1, DIMS(4), 4, 6, 8, 10);
    EXPECT(out, "output.3", 0, DIMS(0), 3.5);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_stack_sum_over_branches(void **state)
{
    (void)state;
    /* seed 001's pattern: stack(branches).sum(0) equals the plain sum */
    const char *ir = "func @f(%x: f32[B,2], %y: f32[B,2], %z: f32[B,2]) {\n"
                     "  %0 = stack %x, %y, %z {dim=0} : f32[3,B,2]\n"
                     "  %1 = sum %0 {dims=[0], keepdim=false} : f32[B,2]\n"
                     "  return %1\n}\n";
    sf_tensor_set *in = tset(3, (tensor_lit[]){LIT("x", 2, DIMS(1, 2), 1, 2), LIT("y", 2, DIMS(1, 2), 10, 20),
                                               LIT("z", 2, DIMS(1, 2), 100, 200)});
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    EXPECT(out, "output", 2, DIMS(1, 2), 111, 222);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_views(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,4]) {\n"
                     "  %0 = reshape %x {shape=[B,2,2]} : f32[B,2,2]\n"
                     "  %1 = flatten %0 {start=1, end=2} : f32[B,4]\n"
                     "  %2 = unsqueeze %x {dim=2} : f32[B,4,1]\n"
                     "  %3 = squeeze %2 {dims=[2]} : f32[B,4]\n"
                     "  %4 = transpose %0 {dim0=1, dim1=2} : f32[B,2,2]\n"
                     "  %5 = transpose %x {dim0=0, dim1=1} : f32[4,B]\n"
                     "  return %0, %1, %3, %4, %5\n}\n";
    sf_tensor_set *in = x24(), *out = run_ir(ir, 2, in, NULL);
    EXPECT(out, "output.0", 3, DIMS(2, 2, 2), 0, 1, 2, 3, 4, 5, 6, 7);
    EXPECT(out, "output.1", 2, DIMS(2, 4), 0, 1, 2, 3, 4, 5, 6, 7);
    EXPECT(out, "output.2", 2, DIMS(2, 4), 0, 1, 2, 3, 4, 5, 6, 7);
    EXPECT(out, "output.3", 3, DIMS(2, 2, 2), 0, 2, 1, 3, 4, 6, 5, 7);
    EXPECT(out, "output.4", 2, DIMS(4, 2), 0, 4, 1, 5, 2, 6, 3, 7);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_scalar(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,2]) {\n"
                     "  %0 = scalar {value=-2.5} : f32[]\n"
                     "  %1 = sub %0, %x : f32[B,2]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(1, 2), 1, -1));
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    EXPECT(out, "output.0", 0, DIMS(0), -2.5);
    EXPECT(out, "output.1", 2, DIMS(1, 2), -3.5, -1.5);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_same_value_returned_twice(void **state)
{
    (void)state;
    /* an output aliased with another output, and with an input */
    const char *ir = "func @f(%x: f32[B,2]) {\n  %0 = relu %x : f32[B,2]\n  return %0, %0, %x\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(1, 2), -1, 3));
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    EXPECT(out, "output.0", 2, DIMS(1, 2), 0, 3);
    EXPECT(out, "output.1", 2, DIMS(1, 2), 0, 3);
    EXPECT(out, "output.2", 2, DIMS(1, 2), -1, 3);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_batch_at_run_time(void **state)
{
    (void)state;
    /* one graph, three batch sizes: each row's result depends only on its row */
    const char *ir = "param @w : f32[1,2]\n"
                     "func @f(%x: f32[B,2]) {\n  %0 = linear %x, @w : f32[B,1]\n  return %0\n}\n";
    sf_tensor_set *w = tset(1, &LIT("w", 2, DIMS(1, 2), 1, 10));
    for (int64_t b = 1; b <= 7; b += 3) {
        float xs[14], want[7];
        for (int i = 0; i < b; i++) {
            xs[2 * i] = (float)i;
            xs[2 * i + 1] = 1;
            want[i] = (float)i + 10;
        }
        tensor_lit lit = {"x", 2, {b, 2}, xs};
        sf_tensor_set *in = tset(1, &lit), *out = run_ir(ir, b, in, w);
        expect_tensor(out, "output", 2, (const int64_t[]){b, 1}, want, 1e-6);
        sf_tensors_free(in), sf_tensors_free(out);
    }
    sf_tensors_free(w);
}

static void test_interp_refusals(void **state)
{
    (void)state;
    const char *ir = "param @w : f32[1,2]\n"
                     "func @f(%x: f32[B,2]) {\n  %0 = linear %x, @w : f32[B,1]\n  return %0\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t.sfir", &e);
    assert_non_null(g);
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(1, 2), 1, 2)), *out = sf_tensors_new();
    sf_tensor_set *none = sf_tensors_new(), *bad = tset(1, &LIT("w", 2, DIMS(2, 1), 1, 2));
    assert_int_equal(sf_interp_run(g, 1, in, none, out, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "'w'");
    assert_int_equal(sf_interp_run(g, 1, in, bad, out, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "[2,1]");
    assert_int_equal(sf_interp_run(g, 3, in, bad, out, &e), SF_ERR_WEIGHTS);
    assert_int_equal(sf_interp_run(g, 0, in, bad, out, &e), SF_ERR_INVALID_ARG);
    /* wrong batch for the input */
    sf_tensor_set *good = tset(1, &LIT("w", 2, DIMS(1, 2), 1, 2));
    assert_int_equal(sf_interp_run(g, 2, in, good, out, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "input 'x'");
    assert_int_equal(sf_tensors_count(out), 0);
    sf_tensors_free(in), sf_tensors_free(out), sf_tensors_free(none), sf_tensors_free(bad), sf_tensors_free(good);
    sf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_stack),
        cmocka_unit_test(test_sum_mean),
        cmocka_unit_test(test_stack_sum_over_branches),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_same_value_returned_twice),
        cmocka_unit_test(test_batch_at_run_time),
        cmocka_unit_test(test_interp_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
