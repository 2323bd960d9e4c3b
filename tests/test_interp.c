/* Interpreter kernels for products, convolutions, normalisations and
 * elementwise ops, checked against values computed by hand. */
#include "testutil.h"

#include <math.h>

static void test_linear(void **state)
{
    (void)state;
    /* y = x W^T + b: [1,2,3] . [1,0,-1] + 0.5 = -1.5; [1,2,3] . [2,1,0] - 1 = 3 */
    const char *ir = "param @w : f32[2,3]\nparam @b : f32[2]\n"
                     "func @f(%x: f32[B,3]) {\n  %0 = linear %x, @w, @b : f32[B,2]\n  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(2, 3), 1, 2, 3, -1, 0, 1));
    sf_tensor_set *w = tset(2, (tensor_lit[]){LIT("w", 2, DIMS(2, 3), 1, 0, -1, 2, 1, 0), LIT("b", 1, DIMS(2), 0.5, -1)});
    sf_tensor_set *out = run_ir(ir, 2, in, w);
    /* row 2: [-1,0,1] . [1,0,-1] + .5 = -1.5; [-1,0,1] . [2,1,0] - 1 = -3 */
    EXPECT(out, "output", 2, DIMS(2, 2), -1.5, 3, -1.5, -3);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_linear_no_bias_3d(void **state)
{
    (void)state;
    const char *ir = "param @w : f32[1,2]\n"
                     "func @f(%x: f32[B,2,2]) {\n  %0 = linear %x, @w : f32[B,2,1]\n  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 3, DIMS(1, 2, 2), 1, 2, 3, 4));
    sf_tensor_set *w = tset(1, &LIT("w", 2, DIMS(1, 2), 10, 1));
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output", 3, DIMS(1, 2, 1), 12, 34);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_matmul(void **state)
{
    (void)state;
    /* [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]; the second batch
     * element [[1,0],[0,1]] reproduces the right operand. b broadcasts. */
    const char *ir = "param @m : f32[2,2]\n"
                     "func @f(%a: f32[B,2,2]) {\n  %0 = matmul %a, @m : f32[B,2,2]\n  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("a", 3, DIMS(2, 2, 2), 1, 2, 3, 4, 1, 0, 0, 1));
    sf_tensor_set *w = tset(1, &LIT("m", 2, DIMS(2, 2), 5, 6, 7, 8));
    sf_tensor_set *out = run_ir(ir, 2, in, w);
    EXPECT(out, "output", 3, DIMS(2, 2, 2), 19, 22, 43, 50, 5, 6, 7, 8);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_matmul_broadcast_left(void **state)
{
    (void)state;
    /* a [2,3] (no batch) times b [B,3,1]: a broadcasts over B */
    const char *ir = "param @a : f32[2,3]\n"
                     "func @f(%b: f32[B,3,1]) {\n  %0 = matmul @a, %b : f32[B,2,1]\n  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("b", 3, DIMS(2, 3, 1), 1, 1, 1, 1, 2, 3));
    sf_tensor_set *w = tset(1, &LIT("a", 2, DIMS(2, 3), 1, 2, 3, 0, 1, 0));
    sf_tensor_set *out = run_ir(ir, 2, in, w);
    /* [1,2,3].[1,1,1]=6, [0,1,0].[1,1,1]=1; [1,2,3].[1,2,3]=14, [0,1,0].[1,2,3]=2 */
    EXPECT(out, "output", 3, DIMS(2, 2, 1), 6, 1, 14, 2);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_grouped_linear(void **state)
{
    (void)state;
    /* G=2 groups, in 2, out 1. Per-group: x[b,g,:] . W[g,0,:] + b[g].
     * shared: every group sees the same x[b,:]. */
    const char *ir = "param @w : f32[2,1,2]\nparam @b : f32[2,1]\n"
                     "func @f(%x: f32[B,2,2], %s: f32[B,2]) {\n"
                     "  %0 = grouped_linear %x, @w, @b {shared=false} : f32[B,2,1]\n"
                     "  %1 = grouped_linear %s, @w {shared=true} : f32[B,2,1]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *in = tset(2, (tensor_lit[]){LIT("x", 3, DIMS(1, 2, 2), 1, 2, 3, 4), LIT("s", 2, DIMS(1, 2), 1, 2)});
    sf_tensor_set *w = tset(2, (tensor_lit[]){LIT("w", 3, DIMS(2, 1, 2), 1, 1, 1, -1), LIT("b", 2, DIMS(2, 1), 10, 20)});
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    /* group 0: [1,2].[1,1]+10 = 13; group 1: [3,4].[1,-1]+20 = 19 */
    EXPECT(out, "output.0", 3, DIMS(1, 2, 1), 13, 19);
    /* shared: [1,2].[1,1] = 3, [1,2].[1,-1] = -1 */
    EXPECT(out, "output.1", 3, DIMS(1, 2, 1), 3, -1);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_conv1d_stride_padding_dilation(void **state)
{
    (void)state;
    /* x = 1..5, w = [1,0,-1], pad 1, stride 2: padded 0,1,2,3,4,5,0;
     * windows at 0,2,4: 0-2, 2-4, 4-0 -> -2,-2,4 (+ bias 1).
     * w2 = [1,1] with dilation 2: x0+x2, x1+x3, x2+x4 = 4,6,8. */
    const char *ir = "param @w : f32[1,1,3]\nparam @b : f32[1]\nparam @w2 : f32[1,1,2]\n"
                     "func @f(%x: f32[B,1,5]) {\n"
                     "  %0 = conv1d %x, @w, @b {stride=[2], padding=[1], dilation=[1], groups=1} : f32[B,1,3]\n"
                     "  %1 = conv1d %x, @w2 {stride=[1], padding=[0], dilation=[2], groups=1} : f32[B,1,3]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 3, DIMS(1, 1, 5), 1, 2, 3, 4, 5));
    sf_tensor_set *w = tset(3, (tensor_lit[]){LIT("w", 3, DIMS(1, 1, 3), 1, 0, -1), LIT("b", 1, DIMS(1), 1),
                                              LIT("w2", 3, DIMS(1, 1, 2), 1, 1)});
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output.0", 3, DIMS(1, 1, 3), -1, -1, 5);
    EXPECT(out, "output.1", 3, DIMS(1, 1, 3), 4, 6, 8);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_conv1d_groups_pointwise(void **state)
{
    (void)state;
    /* seed 003's rewrite in miniature: 2 groups of Linear(2,1) as a 1x1
     * grouped conv. Channels [1,2 | 3,4], weights [1,1 | 2,-1]. */
    const char *ir = "param @w : f32[2,2,1]\n"
                     "func @f(%x: f32[B,4,1]) {\n"
                     "  %0 = conv1d %x, @w {stride=[1], padding=[0], dilation=[1], groups=2} : f32[B,2,1]\n"
                     "  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 3, DIMS(1, 4, 1), 1, 2, 3, 4));
    sf_tensor_set *w = tset(1, &LIT("w", 3, DIMS(2, 2, 1), 1, 1, 2, -1));
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output", 3, DIMS(1, 2, 1), 3, 2);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_conv2d_groups(void **state)
{
    (void)state;
    /* channel 0 = 1..9 (3x3) with [[1,0],[0,1]]: 1+5, 2+6, 4+8, 5+9;
     * channel 1 = ones with [[1,1],[1,1]] + bias 1: 5 everywhere. */
    const char *ir = "param @w : f32[2,1,2,2]\nparam @b : f32[2]\n"
                     "func @f(%x: f32[B,2,3,3]) {\n"
                     "  %0 = conv2d %x, @w, @b {stride=[1,1], padding=[0,0], dilation=[1,1], groups=2} : f32[B,2,2,2]\n"
                     "  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 4, DIMS(1, 2, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1));
    sf_tensor_set *w = tset(2, (tensor_lit[]){LIT("w", 4, DIMS(2, 1, 2, 2), 1, 0, 0, 1, 1, 1, 1, 1),
                                              LIT("b", 1, DIMS(2), 0, 1)});
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output", 4, DIMS(1, 2, 2, 2), 6, 8, 12, 14, 5, 5, 5, 5);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_conv2d_padding_stride(void **state)
{
    (void)state;
    /* 1..9 padded by 1, kernel [[1,0],[0,1]], stride 2: the four windows
     * start at (-1,-1), (-1,1), (1,-1), (1,1): 0+1, 0+3, 0+7, 5+9. */
    const char *ir = "param @w : f32[1,1,2,2]\n"
                     "func @f(%x: f32[B,1,3,3]) {\n"
                     "  %0 = conv2d %x, @w {stride=[2,2], padding=[1,1], dilation=[1,1], groups=1} : f32[B,1,2,2]\n"
                     "  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 4, DIMS(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9));
    sf_tensor_set *w = tset(1, &LIT("w", 4, DIMS(1, 1, 2, 2), 1, 0, 0, 1));
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output", 4, DIMS(1, 1, 2, 2), 1, 3, 7, 14);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_conv2d_multichannel_sum(void **state)
{
    (void)state;
    /* two input channels summed by one output channel, 1x1 kernel [2,3] */
    const char *ir = "param @w : f32[1,2,1,1]\n"
                     "func @f(%x: f32[B,2,1,2]) {\n"
                     "  %0 = conv2d %x, @w {stride=[1,1], padding=[0,0], dilation=[1,1], groups=1} : f32[B,1,1,2]\n"
                     "  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 4, DIMS(1, 2, 1, 2), 1, 2, 10, 20));
    sf_tensor_set *w = tset(1, &LIT("w", 4, DIMS(1, 2, 1, 1), 2, 3));
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output", 4, DIMS(1, 1, 1, 2), 32, 64);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_batchnorm(void **state)
{
    (void)state;
    /* ch0: (x-1)/sqrt(4)*2 + 0 = x-1; ch1: (x-2)/1*1 + 1 = x-1 */
    const char *ir = "param @m : f32[2]\nparam @v : f32[2]\nparam @g : f32[2]\nparam @b : f32[2]\n"
                     "func @f(%x: f32[B,2]) {\n"
                     "  %0 = batchnorm %x, @m, @v, @g, @b {eps=0.0} : f32[B,2]\n"
                     "  %1 = batchnorm %x, @m, @v {eps=0.0} : f32[B,2]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(2, 2), 1, 2, 3, 4));
    sf_tensor_set *w = tset(4, (tensor_lit[]){LIT("m", 1, DIMS(2), 1, 2), LIT("v", 1, DIMS(2), 4, 1),
                                              LIT("g", 1, DIMS(2), 2, 1), LIT("b", 1, DIMS(2), 0, 1)});
    sf_tensor_set *out = run_ir(ir, 2, in, w);
    EXPECT(out, "output.0", 2, DIMS(2, 2), 0, 1, 2, 3);
    /* without affine: (x-1)/2, (x-2)/1 */
    EXPECT(out, "output.1", 2, DIMS(2, 2), 0, 0, 1, 2);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_batchnorm_spatial_eps(void **state)
{
    (void)state;
    /* [1,1,2,2] channel with mean 0, var 3, eps 1: x / 2 */
    const char *ir = "param @m : f32[1]\nparam @v : f32[1]\n"
                     "func @f(%x: f32[B,1,2,2]) {\n"
                     "  %0 = batchnorm %x, @m, @v {eps=1.0} : f32[B,1,2,2]\n  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 4, DIMS(1, 1, 2, 2), 2, 4, 6, 8));
    sf_tensor_set *w = tset(2, (tensor_lit[]){LIT("m", 1, DIMS(1), 0), LIT("v", 1, DIMS(1), 3)});
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output", 4, DIMS(1, 1, 2, 2), 1, 2, 3, 4);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_layernorm(void **state)
{
    (void)state;
    /* [1,2,3,4]: mean 2.5, biased var 1.25; (x-2.5)/sqrt(1.25) =
     * -1.3416408, -0.4472136, 0.4472136, 1.3416408; then *[1,1,2,2] + [0,0,0,1] */
    const char *ir = "param @g : f32[4]\nparam @b : f32[4]\n"
                     "func @f(%x: f32[B,4]) {\n"
                     "  %0 = layernorm %x, @g, @b {ndim=1, eps=0.0} : f32[B,4]\n"
                     "  %1 = layernorm %x {ndim=1, eps=0.0} : f32[B,4]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(1, 4), 1, 2, 3, 4));
    sf_tensor_set *w = tset(2, (tensor_lit[]){LIT("g", 1, DIMS(4), 1, 1, 2, 2), LIT("b", 1, DIMS(4), 0, 0, 0, 1)});
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output.0", 2, DIMS(1, 4), -1.3416408, -0.4472136, 0.8944272, 3.6832816);
    EXPECT(out, "output.1", 2, DIMS(1, 4), -1.3416408, -0.4472136, 0.4472136, 1.3416408);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_layernorm_two_dims_eps(void **state)
{
    (void)state;
    /* normalise over [2,2] = {0,0,2,2}: mean 1, var 1, eps 3 -> (x-1)/2 */
    const char *ir = "func @f(%x: f32[B,2,2]) {\n"
                     "  %0 = layernorm %x {ndim=2, eps=3.0} : f32[B,2,2]\n  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 3, DIMS(1, 2, 2), 0, 0, 2, 2));
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    EXPECT(out, "output", 3, DIMS(1, 2, 2), -0.5, -0.5, 0.5, 0.5);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_binary_broadcast(void **state)
{
    (void)state;
    const char *ir = "param @r : f32[3]\n"
                     "func @f(%x: f32[B,3]) {\n"
                     "  %0 = add %x, @r : f32[B,3]\n  %1 = sub %x, @r : f32[B,3]\n"
                     "  %2 = mul %x, @r : f32[B,3]\n  %3 = div %x, @r : f32[B,3]\n"
                     "  return %0, %1, %2, %3\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(2, 3), 1, 2, 3, 4, 5, 6));
    sf_tensor_set *w = tset(1, &LIT("r", 1, DIMS(3), 1, 2, 4));
    sf_tensor_set *out = run_ir(ir, 2, in, w);
    EXPECT(out, "output.0", 2, DIMS(2, 3), 2, 4, 7, 5, 7, 10);
    EXPECT(out, "output.1", 2, DIMS(2, 3), 0, 0, -1, 3, 3, 2);
    EXPECT(out, "output.2", 2, DIMS(2, 3), 1, 4, 12, 4, 10, 24);
    EXPECT(out, "output.3", 2, DIMS(2, 3), 1, 1, 0.75, 4, 2.5, 1.5);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_binary_broadcast_both_sides(void **state)
{
    (void)state;
    /* [B,2,1] + [1,3] -> [B,2,3] (outer sum); and a scalar operand */
    const char *ir = "param @r : f32[1,3]\n"
                     "func @f(%x: f32[B,2,1]) {\n"
                     "  %0 = add %x, @r : f32[B,2,3]\n"
                     "  %1 = scalar {value=0.5} : f32[]\n"
                     "  %2 = mul %0, %1 : f32[B,2,3]\n"
                     "  return %2\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 3, DIMS(1, 2, 1), 10, 20));
    sf_tensor_set *w = tset(1, &LIT("r", 2, DIMS(1, 3), 0, 2, 4));
    sf_tensor_set *out = run_ir(ir, 1, in, w);
    EXPECT(out, "output", 3, DIMS(1, 2, 3), 5, 6, 7, 10, 11, 12);
    sf_tensors_free(in), sf_tensors_free(w), sf_tensors_free(out);
}

static void test_activations(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,3]) {\n"
                     "  %0 = relu %x : f32[B,3]\n  %1 = gelu %x : f32[B,3]\n  %2 = tanh %x : f32[B,3]\n"
                     "  %3 = sigmoid %x : f32[B,3]\n  %4 = silu %x : f32[B,3]\n"
                     "  return %0, %1, %2, %3, %4\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(1, 3), -1, 0, 2));
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    EXPECT(out, "output.0", 2, DIMS(1, 3), 0, 0, 2);
    /* exact gelu: x * Phi(x); Phi(-1) = 0.15865525, Phi(2) = 0.97724987 */
    EXPECT(out, "output.1", 2, DIMS(1, 3), -0.15865525, 0, 1.95449974);
    EXPECT(out, "output.2", 2, DIMS(1, 3), -0.76159416, 0, 0.96402758);
    EXPECT(out, "output.3", 2, DIMS(1, 3), 0.26894142, 0.5, 0.88079708);
    EXPECT(out, "output.4", 2, DIMS(1, 3), -0.26894142, 0, 1.76159416);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_gelu_is_exact_not_tanh(void **state)
{
    (void)state;
    /* at x = 1 the erf form gives 0.8413447, the tanh approximation
     * 0.8411920: the test tells them apart */
    const char *ir = "func @f(%x: f32[B,1]) {\n  %0 = gelu %x : f32[B,1]\n  return %0\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(1, 1), 1));
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    const sf_tensor *t = sf_tensors_get(out, "output");
    assert_true(fabs(t->data[0] - 0.8413447) < 1e-6);
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_softmax(void **state)
{
    (void)state;
    /* softmax([1,2,3]) = e^{0,1,2} / sum = 0.09003057, 0.24472847, 0.66524096;
     * over dim 0 of [[0,0],[ln 3, 0]]: column 0 -> 1/4, 3/4; column 1 -> 1/2, 1/2 */
    const char *ir = "func @f(%x: f32[B,3], %y: f32[B,2]) {\n"
                     "  %0 = softmax %x {dim=1} : f32[B,3]\n"
                     "  %1 = softmax %y {dim=0} : f32[B,2]\n"
                     "  return %0, %1\n}\n";
    sf_tensor_set *in = tset(2, (tensor_lit[]){LIT("x", 2, DIMS(2, 3), 1, 2, 3, 1001, 1002, 1003),
                                               LIT("y", 2, DIMS(2, 2), 0, 0, 1.0986123, 0)});
    sf_tensor_set *out = run_ir(ir, 2, in, NULL);
    /* the second row is shifted by 1000: same result, no overflow */
    EXPECT(out, "output.0", 2, DIMS(2, 3), 0.09003057, 0.24472847, 0.66524096, 0.09003057, 0.24472847, 0.66524096);
    EXPECT(out, "output.1", 2, DIMS(2, 2), 0.25, 0.5, 0.75, 0.5);
    sf_tensors_free(in), sf_tensors_free(out);
}

/* comparisons give 1/0 masks (NaN unequal to all, itself too); where picks by them */
static void test_masks_and_where(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,4]) {\n  %0 = scalar {value=1} : f32[]\n  %1 = gt %x, %0 : bool[B,4]\n"
                     "  %2 = eq %x, %x : bool[B,4]\n  %3 = ne %x, %0 : bool[B,4]\n  %4 = le %x, %0 : bool[B,4]\n"
                     "  %5 = scalar {value=-9} : f32[]\n  %6 = where %1, %5, %x : f32[B,4]\n"
                     "  %7 = maximum %1, %4 : bool[B,4]\n  return %1, %2, %3, %4, %6, %7\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 2, DIMS(1, 4), 0.5, 1, 2, NAN));
    sf_tensor_set *out = run_ir(ir, 1, in, NULL);
    EXPECT(out, "output.0", 2, DIMS(1, 4), 0, 0, 1, 0);
    EXPECT(out, "output.1", 2, DIMS(1, 4), 1, 1, 1, 0);
    EXPECT(out, "output.2", 2, DIMS(1, 4), 1, 0, 1, 1);
    EXPECT(out, "output.3", 2, DIMS(1, 4), 1, 1, 0, 0);
    const sf_tensor *w = sf_tensors_get(out, "output.4");
    assert_non_null(w);
    assert_true(w->data[0] == 0.5f && w->data[1] == 1 && w->data[2] == -9 && isnan(w->data[3]));
    EXPECT(out, "output.5", 2, DIMS(1, 4), 1, 1, 1, 0); /* or: NaN is neither > 1 nor <= 1 */
    sf_tensors_free(in), sf_tensors_free(out);
}

static void test_full_tril_triu(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,2,3]) {\n  %0 = tril %x {diagonal=0} : f32[B,2,3]\n"
                     "  %1 = triu %x {diagonal=1} : f32[B,2,3]\n  %2 = tril %x {diagonal=-1} : f32[B,2,3]\n"
                     "  %3 = full {shape=[B,2], value=-1.5} : f32[B,2]\n  return %0, %1, %2, %3\n}\n";
    sf_tensor_set *in = tset(1, &LIT("x", 3, DIMS(2, 2, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    sf_tensor_set *out = run_ir(ir, 2, in, NULL);
    EXPECT(out, "output.0", 3, DIMS(2, 2, 3), 1, 0, 0, 4, 5, 0, 7, 0, 0, 10, 11, 0);
    EXPECT(out, "output.1", 3, DIMS(2, 2, 3), 0, 2, 3, 0, 0, 6, 0, 8, 9, 0, 0, 12);
    EXPECT(out, "output.2", 3, DIMS(2, 2, 3), 0, 0, 0, 4, 0, 0, 0, 0, 0, 10, 0, 0);
    EXPECT(out, "output.3", 2, DIMS(2, 2), -1.5, -1.5, -1.5, -1.5);
    sf_tensors_free(in), sf_tensors_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_linear_no_bias_3d),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_matmul_broadcast_left),
        cmocka_unit_test(test_grouped_linear),
        cmocka_unit_test(test_conv1d_stride_padding_dilation),
        cmocka_unit_test(test_conv1d_groups_pointwise),
        cmocka_unit_test(test_conv2d_groups),
        cmocka_unit_test(test_conv2d_padding_stride),
        cmocka_unit_test(test_conv2d_multichannel_sum),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_batchnorm_spatial_eps),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_layernorm_two_dims_eps),
        cmocka_unit_test(test_binary_broadcast),
        cmocka_unit_test(test_binary_broadcast_both_sides),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_gelu_is_exact_not_tanh),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_masks_and_where),
        cmocka_unit_test(test_full_tril_triu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
