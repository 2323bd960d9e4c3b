/* The op cases every backend and the gradient rules are checked on
 * (test_ops.c, test_grad.c): shapes, attributes and edge cases (size-1
 * dims, remainders, strides, broadcasts; operands that are inputs,
 * activations, parameters, constants and views of each), one IR text each. */
#include "op_cases.h"

#include "testutil.h"

#define P(shape) "param @p : f32[" shape "]\n"
const op_case sf_op_cases[] = {
    /* elementwise: every activation, on an input, an activation, a view, a parameter */
    {"unary on input", "func @f(%x: f32[B,5]) {\n  %0 = relu %x : f32[B,5]\n  %1 = gelu %x : f32[B,5]\n"
                       "  %2 = tanh %0 : f32[B,5]\n  %3 = sigmoid %1 : f32[B,5]\n  %4 = silu %2 : f32[B,5]\n"
                       "  return %0, %1, %2, %3, %4\n}\n"},
    {"unary size-1", "func @f(%x: f32[B,1,1]) {\n  %0 = gelu %x : f32[B,1,1]\n  %1 = silu %0 : f32[B,1,1]\n  return %1\n}\n"},
    {"unary on view", "func @f(%x: f32[B,9]) {\n  %0 = slice %x {dim=1, start=2, end=9, step=3} : f32[B,3]\n"
                      "  %1 = sigmoid %0 : f32[B,3]\n  return %1\n}\n"},
    {"unary on param", P("3,4") "func @f(%x: f32[B,3,4]) {\n  %0 = tanh @p : f32[3,4]\n  %1 = add %x, %0 : f32[B,3,4]\n"
                                "  return %1\n}\n"},
    {"unary attributes", "func @f(%x: f32[B,17]) {\n  %0 = leaky_relu %x {alpha=0.2} : f32[B,17]\n"
                         "  %1 = elu %x {alpha=1, scale=1, input_scale=1} : f32[B,17]\n"
                         "  %2 = elu %x {alpha=1.6732632423543772, scale=1.0507009873554805, input_scale=1} : f32[B,17]\n"
                         "  %3 = elu %x {alpha=0.5, scale=1, input_scale=2} : f32[B,17]\n"
                         "  %4 = clamp %x {min=-0.5, max=inf} : f32[B,17]\n  %5 = clamp %x {min=1, max=-1} : f32[B,17]\n"
                         "  %6 = clamp %x {min=-inf, max=0.25} : f32[B,17]\n  %7 = leaky_relu %x {alpha=-3} : f32[B,17]\n"
                         "  return %0, %1, %2, %3, %4, %5, %6, %7\n}\n"},
    {"unary elementwise", "func @f(%x: f32[B,19]) {\n  %0 = abs %x : f32[B,19]\n  %1 = neg %x : f32[B,19]\n"
                          "  %2 = sign %x : f32[B,19]\n  %3 = floor %x : f32[B,19]\n  %4 = round %x : f32[B,19]\n"
                          "  %5 = exp %x : f32[B,19]\n  %6 = softsign %x : f32[B,19]\n  %7 = tanhshrink %x : f32[B,19]\n"
                          "  %8 = hardsigmoid %x : f32[B,19]\n  %9 = hardswish %x : f32[B,19]\n  %10 = mish %x : f32[B,19]\n"
                          "  %11 = gelu_tanh %x : f32[B,19]\n  %12 = reciprocal %x : f32[B,19]\n"
                          "  %13 = logsigmoid %x : f32[B,19]\n"
                          "  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13\n}\n"},
    /* the ops with a domain, on values inside it */
    {"unary domains", "func @f(%x: f32[B,11]) {\n  %0 = sigmoid %x : f32[B,11]\n  %1 = log %0 : f32[B,11]\n"
                      "  %2 = sqrt %0 : f32[B,11]\n  %3 = rsqrt %0 : f32[B,11]\n  %4 = tanh %x : f32[B,11]\n"
                      "  %5 = log1p %4 : f32[B,11]\n  %6 = mul %x, %x : f32[B,11]\n  %7 = log %6 : f32[B,11]\n"
                      "  return %1, %2, %3, %5, %7\n}\n"},
    {"unary attributes 2", "func @f(%x: f32[B,13]) {\n  %0 = softplus %x {beta=1, threshold=20} : f32[B,13]\n"
                           "  %1 = softplus %x {beta=2.5, threshold=1} : f32[B,13]\n"
                           "  %2 = softshrink %x {lambd=0.5} : f32[B,13]\n  %3 = hardshrink %x {lambd=0.75} : f32[B,13]\n"
                           "  %4 = threshold %x {threshold=0.1, value=-2} : f32[B,13]\n"
                           "  %5 = softshrink %x {lambd=0} : f32[B,13]\n  return %0, %1, %2, %3, %4, %5\n}\n"},
    {"unary attributes on param", P("2,3") "func @f(%x: f32[B,2,3]) {\n  %0 = clamp @p {min=-0.1, max=0.1} : f32[2,3]\n"
                                          "  %1 = add %x, %0 : f32[B,2,3]\n  %2 = elu %1 {alpha=2, scale=1, input_scale=1} : f32[B,2,3]\n"
                                          "  return %2\n}\n"},
    {"binary broadcast", "param @r : f32[1,4]\nparam @c : f32[3,1]\nfunc @f(%x: f32[B,3,4]) {\n"
                         "  %0 = add %x, @r : f32[B,3,4]\n  %1 = sub @c, %0 : f32[B,3,4]\n  %2 = mul %1, %x : f32[B,3,4]\n"
                         "  %3 = div %2, @r : f32[B,3,4]\n  return %3\n}\n"},
    {"binary scalar", "func @f(%x: f32[B,7]) {\n  %0 = scalar {value=0.25} : f32[]\n  %1 = mul %x, %0 : f32[B,7]\n"
                      "  %2 = scalar {value=-3} : f32[]\n  %3 = sub %2, %1 : f32[B,7]\n  %4 = div %3, %2 : f32[B,7]\n"
                      "  return %4\n}\n"},
    {"binary views", "func @f(%x: f32[B,8]) {\n  %0 = slice %x {dim=1, start=0, end=4, step=1} : f32[B,4]\n"
                     "  %1 = slice %x {dim=1, start=4, end=8, step=1} : f32[B,4]\n  %2 = mul %0, %1 : f32[B,4]\n"
                     "  %3 = reshape %2 {shape=[B,2,2]} : f32[B,2,2]\n  %4 = add %3, %3 : f32[B,2,2]\n  return %4\n}\n"},
    /* products: every remainder of 8 outputs and 8 inputs, bias and none, rank 3 */
    {"linear 1x1", P("1,1") "func @f(%x: f32[B,1]) {\n  %0 = linear %x, @p : f32[B,1]\n  return %0\n}\n"},
    {"linear 9x13 bias", P("9,13") "param @b : f32[9]\nfunc @f(%x: f32[B,13]) {\n  %0 = linear %x, @p, @b : f32[B,9]\n"
                                   "  return %0\n}\n"},
    {"linear 16x8 rank 3", P("16,8") "func @f(%x: f32[B,3,8]) {\n  %0 = linear %x, @p : f32[B,3,16]\n  return %0\n}\n"},
    {"linear on view + epilogue", P("7,4") "param @b : f32[7]\nfunc @f(%x: f32[B,10]) {\n"
                                          "  %0 = slice %x {dim=1, start=3, end=7, step=1} : f32[B,4]\n"
                                          "  %1 = linear %0, @p, @b : f32[B,7]\n  %2 = gelu %1 : f32[B,7]\n  return %2\n}\n"},
    {"linear chain", "param @a : f32[12,5]\nparam @b : f32[3,12]\nparam @c : f32[3]\nfunc @f(%x: f32[B,5]) {\n"
                     "  %0 = linear %x, @a : f32[B,12]\n  %1 = silu %0 : f32[B,12]\n  %2 = linear %1, @b, @c : f32[B,3]\n"
                     "  return %2\n}\n"},
    {"chain hidden past 4096", "param @a : f32[4100,1]\nparam @b : f32[1,4100]\nfunc @f(%x: f32[B,1]) {\n"
                               "  %0 = linear %x, @a : f32[B,4100]\n  %1 = relu %0 : f32[B,4100]\n"
                               "  %2 = linear %1, @b : f32[B,1]\n  return %2\n}\n"},
    /* per-group chains (vfuse's small groups): one kernel for product, activations, product */
    {"grouped chain bias", "param @a : f32[4,5,6]\nparam @ab : f32[4,5]\nparam @z : f32[4,3,5]\nparam @zb : f32[4,3]\n"
                           "func @f(%x: f32[B,4,6]) {\n  %0 = grouped_linear %x, @a, @ab {shared=false} : f32[B,4,5]\n"
                           "  %1 = gelu %0 : f32[B,4,5]\n  %2 = tanh %1 : f32[B,4,5]\n"
                           "  %3 = grouped_linear %2, @z, @zb {shared=false} : f32[B,4,3]\n  return %3\n}\n"},
    {"grouped chain no bias", "param @a : f32[3,9,7]\nparam @z : f32[3,2,9]\nfunc @f(%x: f32[B,3,7]) {\n"
                              "  %0 = grouped_linear %x, @a {shared=false} : f32[B,3,9]\n  %1 = relu %0 : f32[B,3,9]\n"
                               "  %2 = grouped_linear %1, @z {shared=false} : f32[B,3,2]\n  return %2\n}\n"},
    {"grouped chain attributes", "param @a : f32[5,6,3]\nparam @z : f32[5,4,6]\nparam @zb : f32[5,4]\n"
                                 "func @f(%x: f32[B,5,3]) {\n  %0 = grouped_linear %x, @a {shared=false} : f32[B,5,6]\n"
                                 "  %1 = leaky_relu %0 {alpha=0.05} : f32[B,5,6]\n"
                                 "  %2 = elu %1 {alpha=0.7, scale=1, input_scale=1.4285714285714286} : f32[B,5,6]\n"
                                 "  %3 = grouped_linear %2, @z, @zb {shared=false} : f32[B,5,4]\n"
                                 "  %4 = clamp %3 {min=-0.25, max=0.5} : f32[B,5,4]\n  return %4\n}\n"},
    {"grouped narrow", P("9,3,12") "param @b : f32[9,3]\nfunc @f(%x: f32[B,9,12]) {\n"
                                   "  %0 = grouped_linear %x, @p, @b {shared=false} : f32[B,9,3]\n  return %0\n}\n"},
    {"grouped narrow k4", P("8,1,4") "func @f(%x: f32[B,8,4]) {\n  %0 = grouped_linear %x, @p {shared=false} : f32[B,8,1]\n"
                                     "  return %0\n}\n"},
    {"grouped shared wide", P("3,10,6") "param @b : f32[3,10]\nfunc @f(%x: f32[B,6]) {\n"
                                        "  %0 = grouped_linear %x, @p, @b {shared=true} : f32[B,3,10]\n"
                                        "  %1 = relu %0 : f32[B,3,10]\n  return %1\n}\n"},
    {"grouped one group", P("1,5,2") "func @f(%x: f32[B,1,2]) {\n  %0 = grouped_linear %x, @p {shared=false} : f32[B,1,5]\n"
                                     "  return %0\n}\n"},
    {"matmul param", P("4,3") "func @f(%x: f32[B,4]) {\n  %0 = matmul %x, @p : f32[B,3]\n  return %0\n}\n"},
    {"matmul activations", "func @f(%a: f32[B,3,4], %b: f32[B,4,2]) {\n  %0 = relu %b : f32[B,4,2]\n"
                           "  %1 = matmul %a, %0 : f32[B,3,2]\n  return %1\n}\n"},
    {"matmul broadcast", P("2,4,5") "func @f(%a: f32[B,2,3,4]) {\n  %0 = matmul %a, @p : f32[B,2,3,5]\n  return %0\n}\n"},
    {"matmul transposed view", "func @f(%a: f32[B,3,4]) {\n  %0 = transpose %a {dim0=1, dim1=2} : f32[B,4,3]\n"
                               "  %1 = matmul %a, %0 : f32[B,3,3]\n  return %1\n}\n"},
    /* the inner dim B: a product summing over the batch, as weight gradients are */
    {"matmul over the batch", "func @f(%a: f32[B,4], %b: f32[B,3]) {\n  %0 = transpose %a {dim0=0, dim1=1} : f32[4,B]\n"
                              "  %1 = matmul %0, %b : f32[4,3]\n  %2 = tanh %1 : f32[4,3]\n  return %2\n}\n"},
    /* convolutions */
    {"conv1d pad stride", "param @w : f32[4,2,3]\nparam @b : f32[4]\nfunc @f(%x: f32[B,2,9]) {\n"
                          "  %0 = conv1d %x, @w, @b {stride=[2], padding=[1], dilation=[1], groups=1} : f32[B,4,5]\n"
                          "  return %0\n}\n"},
    {"conv1d dilated grouped", "param @w : f32[4,1,2]\nfunc @f(%x: f32[B,2,7]) {\n"
                               "  %0 = conv1d %x, @w {stride=[1], padding=[0], dilation=[3], groups=2} : f32[B,4,4]\n"
                               "  return %0\n}\n"},
    {"conv2d", "param @w : f32[4,2,3,3]\nparam @b : f32[4]\nfunc @f(%x: f32[B,4,7,6]) {\n"
               "  %0 = conv2d %x, @w, @b {stride=[2,1], padding=[1,2], dilation=[1,2], groups=2} : f32[B,4,4,6]\n"
               "  return %0\n}\n"},
    {"conv2d 1x1", "param @w : f32[3,2,1,1]\nfunc @f(%x: f32[B,2,1,1]) {\n"
                   "  %0 = conv2d %x, @w {stride=[1,1], padding=[0,0], dilation=[1,1], groups=1} : f32[B,3,1,1]\n"
                   "  return %0\n}\n"},
    /* norms and softmax */
    {"batchnorm affine", "param @m : f32[3]\nparam @v : f32[3]\nparam @g : f32[3]\nparam @s : f32[3]\n"
                         "func @f(%x: f32[B,3,4]) {\n  %0 = batchnorm %x, @m, @v, @g, @s {eps=1e-05} : f32[B,3,4]\n"
                         "  return %0\n}\n"},
    {"batchnorm plain", "param @m : f32[5]\nparam @v : f32[5]\nfunc @f(%x: f32[B,5]) {\n"
                        "  %0 = batchnorm %x, @m, @v {eps=0.001} : f32[B,5]\n  return %0\n}\n"},
    {"layernorm 1 dim", "param @g : f32[6]\nparam @s : f32[6]\nfunc @f(%x: f32[B,2,6]) {\n"
                        "  %0 = layernorm %x, @g, @s {ndim=1, eps=1e-05} : f32[B,2,6]\n  return %0\n}\n"},
    {"layernorm 2 dims plain", "func @f(%x: f32[B,3,2]) {\n  %0 = layernorm %x {ndim=2, eps=1e-06} : f32[B,3,2]\n"
                               "  return %0\n}\n"},
    {"layernorm size 1", "func @f(%x: f32[B,1]) {\n  %0 = layernorm %x {ndim=1, eps=1e-05} : f32[B,1]\n  return %0\n}\n"},
    {"softmax dims", "func @f(%x: f32[B,3,4]) {\n  %0 = softmax %x {dim=2} : f32[B,3,4]\n"
                     "  %1 = softmax %x {dim=1} : f32[B,3,4]\n  %2 = softmax %x {dim=0} : f32[B,3,4]\n  return %0, %1, %2\n}\n"},
    {"log_softmax dims", "func @f(%x: f32[B,3,4]) {\n  %0 = scalar {value=30} : f32[]\n  %1 = mul %x, %0 : f32[B,3,4]\n"
                         "  %2 = log_softmax %1 {dim=2} : f32[B,3,4]\n  %3 = log_softmax %x {dim=1} : f32[B,3,4]\n"
                         "  %4 = log_softmax %x {dim=0} : f32[B,3,4]\n  return %2, %3, %4\n}\n"},
    /* moving data */
    {"slice steps", "func @f(%x: f32[B,10,2]) {\n  %0 = slice %x {dim=1, start=1, end=10, step=4} : f32[B,3,2]\n"
                    "  %1 = slice %x {dim=2, start=1, end=2, step=1} : f32[B,10,1]\n  return %0, %1\n}\n"},
    {"split unequal", "func @f(%x: f32[B,6,2]) {\n"
                      "  %0, %1, %2 = split %x {dim=1, sizes=[1,3,2]} : f32[B,1,2], f32[B,3,2], f32[B,2,2]\n"
                      "  %3 = relu %1 : f32[B,3,2]\n  return %0, %3, %2\n}\n"},
    {"concat mixed", "func @f(%x: f32[B,2,3], %y: f32[B,4,3]) {\n  %0 = tanh %y : f32[B,4,3]\n"
                     "  %1 = concat %x, %0, %x {dim=1} : f32[B,8,3]\n  %2 = concat %x, %x {dim=2} : f32[B,2,6]\n"
                     "  return %1, %2\n}\n"},
    {"stack dims", "func @f(%x: f32[B,3]) {\n  %0 = relu %x : f32[B,3]\n  %1 = stack %x, %0 {dim=0} : f32[2,B,3]\n"
                   "  %2 = stack %x, %0, %x {dim=2} : f32[B,3,3]\n  return %1, %2\n}\n"},
    {"reductions", "func @f(%x: f32[B,3,4]) {\n  %0 = sum %x {dims=[1], keepdim=false} : f32[B,4]\n"
                   "  %1 = mean %x {dims=[0,2], keepdim=true} : f32[1,3,1]\n  %2 = sum %x {dims=[1,2], keepdim=true} : f32[B,1,1]\n"
                   "  return %0, %1, %2\n}\n"},
    {"reductions 2", "func @f(%x: f32[B,3,4]) {\n  %0 = amax %x {dims=[1], keepdim=false} : f32[B,4]\n"
                     "  %1 = amin %x {dims=[0,2], keepdim=true} : f32[1,3,1]\n  %2 = prod %x {dims=[2], keepdim=true} : f32[B,3,1]\n"
                     "  %3 = amax %x {dims=[0,1,2], keepdim=false} : f32[]\n  %4 = prod %x {dims=[0], keepdim=false} : f32[3,4]\n"
                     "  return %0, %1, %2, %3, %4\n}\n"},
    {"maximum minimum", P("1,4") "func @f(%x: f32[B,3,4]) {\n  %0 = maximum %x, @p : f32[B,3,4]\n"
                                 "  %1 = minimum @p, %x : f32[B,3,4]\n  %2 = maximum %0, %1 : f32[B,3,4]\n"
                                 "  return %0, %1, %2\n}\n"},
    /* NaN where x < 0: every element NaN-free rows and rows with some NaN */
    {"nan propagation", "func @f(%x: f32[B,3,4]) {\n  %0 = sqrt %x : f32[B,3,4]\n  %1 = amax %0 {dims=[2], keepdim=false} : f32[B,3]\n"
                        "  %2 = amin %0 {dims=[1], keepdim=false} : f32[B,4]\n  %3 = maximum %0, %x : f32[B,3,4]\n"
                        "  %4 = minimum %x, %0 : f32[B,3,4]\n  %5 = prod %0 {dims=[2], keepdim=false} : f32[B,3]\n"
                        "  %6 = sum %0 {dims=[2], keepdim=false} : f32[B,3]\n  return %1, %2, %3, %4, %5, %6\n}\n"},
    /* masks: comparisons (NaN from sqrt of the negatives; x against itself for equality), where, and/or as min/max */
    {"comparisons", P("1,4") "func @f(%x: f32[B,3,4]) {\n  %0 = sqrt %x : f32[B,3,4]\n  %1 = eq %0, %0 : bool[B,3,4]\n"
                             "  %2 = ne %0, %x : bool[B,3,4]\n  %3 = lt %x, @p : bool[B,3,4]\n  %4 = le @p, %x : bool[B,3,4]\n"
                             "  %5 = scalar {value=0.25} : f32[]\n  %6 = gt %0, %5 : bool[B,3,4]\n  %7 = ge %5, %x : bool[B,3,4]\n"
                             "  %8 = eq %x, %x : bool[B,3,4]\n  %9 = round %x : f32[B,3,4]\n  %10 = eq %9, %5 : bool[B,3,4]\n"
                             "  %11 = ge %x, %x : bool[B,3,4]\n  return %1, %2, %3, %4, %6, %7, %8, %10, %11\n}\n"},
    {"where", P("1,4") "func @f(%x: f32[B,3,4]) {\n  %0 = gt %x, @p : bool[B,3,4]\n  %1 = scalar {value=-inf} : f32[]\n"
                       "  %2 = where %0, %x, %1 : f32[B,3,4]\n  %3 = lt @p, %1 : bool[1,4]\n  %4 = where %3, @p, %x : f32[B,3,4]\n"
                       "  %5 = scalar {value=0} : f32[]\n  %6 = ne @p, %5 : bool[1,4]\n  %7 = maximum %0, %6 : bool[B,3,4]\n"
                       "  %8 = minimum %6, %0 : bool[B,3,4]\n  %9 = where %8, %7, %0 : bool[B,3,4]\n"
                       "  %10 = scalar {value=1} : f32[]\n  %11 = where %9, %10, %5 : f32[B,3,4]\n"
                       "  %12 = where %7, %x, %2 : f32[B,3,4]\n  %13 = where %0, %x, %x : f32[B,3,4]\n"
                       "  return %2, %4, %7, %8, %9, %11, %12, %13\n}\n"},
    {"masks moved", "func @f(%x: f32[B,4,6]) {\n  %0 = scalar {value=0} : f32[]\n  %1 = gt %x, %0 : bool[B,4,6]\n"
                    "  %2 = slice %1 {dim=2, start=1, end=6, step=2} : bool[B,4,3]\n  %3 = transpose %2 {dim0=1, dim1=2} : bool[B,3,4]\n"
                    "  %4 = reshape %3 {shape=[B,12]} : bool[B,12]\n  %5 = reshape %x {shape=[B,24]} : f32[B,24]\n"
                    "  %6 = slice %5 {dim=1, start=0, end=12, step=1} : f32[B,12]\n  %7 = where %4, %6, %0 : f32[B,12]\n"
                    "  %8 = concat %4, %4 {dim=1} : bool[B,24]\n  %9, %10 = split %1 {dim=1, sizes=[1,3]} : bool[B,1,6], bool[B,3,6]\n"
                    "  %11 = unsqueeze %4 {dim=1} : bool[B,1,12]\n  %12 = squeeze %11 {dims=[1]} : bool[B,12]\n"
                    "  %13 = stack %12, %4 {dim=0} : bool[2,B,12]\n  %14 = flatten %10 {start=1, end=2} : bool[B,18]\n"
                    "  return %7, %8, %9, %13, %14\n}\n"},
    {"full and triangles", P("3,5") "func @f(%x: f32[B,4,5]) {\n  %0 = full {shape=[B,3], value=2.5} : f32[B,3]\n"
                                    "  %1 = full {shape=[2,2], value=-inf} : f32[2,2]\n  %2 = tril %x {diagonal=0} : f32[B,4,5]\n"
                                    "  %3 = triu %x {diagonal=1} : f32[B,4,5]\n  %4 = tril %x {diagonal=-2} : f32[B,4,5]\n"
                                    "  %5 = triu @p {diagonal=-1} : f32[3,5]\n  %6 = tril %x {diagonal=9} : f32[B,4,5]\n"
                                    "  %7 = full {shape=[4,4], value=1} : f32[4,4]\n  %8 = tril %7 {diagonal=0} : f32[4,4]\n"
                                    "  %9 = scalar {value=0} : f32[]\n  %10 = eq %8, %9 : bool[4,4]\n"
                                    "  %11 = triu %10 {diagonal=2} : bool[4,4]\n  %12 = full {shape=[], value=7} : f32[]\n"
                                    "  return %0, %1, %2, %3, %4, %5, %6, %10, %11, %12\n}\n"},
    {"sin cos", P("3,4") "func @f(%x: f32[B,3,4]) {\n  %0 = sin %x : f32[B,3,4]\n  %1 = cos %x : f32[B,3,4]\n"
                         "  %2 = scalar {value=300} : f32[]\n  %3 = mul %x, %2 : f32[B,3,4]\n  %4 = sin %3 : f32[B,3,4]\n"
                         "  %5 = cos %3 : f32[B,3,4]\n  %6 = sin @p : f32[3,4]\n  %7 = add %1, %6 : f32[B,3,4]\n"
                         "  return %0, %4, %5, %7\n}\n"},
    {"iota", "func @f(%x: f32[B,3,4]) {\n  %0 = iota {shape=[B,3,4], dim=1} : f32[B,3,4]\n"
             "  %1 = iota {shape=[5], dim=0} : f32[5]\n  %2 = iota {shape=[2,B], dim=0} : f32[2,B]\n"
             "  %3 = iota {shape=[3,1,4], dim=2} : f32[3,1,4]\n  %4 = add %x, %0 : f32[B,3,4]\n"
             "  return %1, %2, %3, %4\n}\n"},
    /* gather: in range, past either end (NaN), indices from the data, an embedding's table lookup */
    {"gather", P("7,4") "func @f(%x: f32[B,5,4], %y: f32[B,6,1]) {\n  %0 = iota {shape=[1,3,1], dim=1} : f32[1,3,1]\n"
                        "  %1 = scalar {value=2} : f32[]\n  %2 = mul %0, %1 : f32[1,3,1]\n"
                        "  %3 = gather %x, %2 {dim=1} : f32[B,3,4]\n  %4 = add %2, %1 : f32[1,3,1]\n"
                        "  %5 = gather %x, %4 {dim=1} : f32[B,3,4]\n  %6 = neg %0 : f32[1,3,1]\n"
                        "  %7 = gather %x, %6 {dim=1} : f32[B,3,4]\n  %8 = abs %y : f32[B,6,1]\n"
                        "  %9 = scalar {value=3} : f32[]\n  %10 = mul %8, %9 : f32[B,6,1]\n  %11 = floor %10 : f32[B,6,1]\n"
                        "  %12 = reshape @p {shape=[1,7,4]} : f32[1,7,4]\n  %13 = gather %12, %11 {dim=1} : f32[B,6,4]\n"
                        "  %14 = reshape %x {shape=[B,20]} : f32[B,20]\n  %15 = reshape %11 {shape=[B,6]} : f32[B,6]\n"
                        "  %16 = gather %14, %15 {dim=1} : f32[B,6]\n  %17 = sin %16 : f32[B,6]\n"
                        "  return %3, %5, %7, %13, %17\n}\n"},
    {"views", "func @f(%x: f32[B,6,1]) {\n  %0 = squeeze %x {dims=[2]} : f32[B,6]\n"
              "  %1 = reshape %0 {shape=[B,3,2]} : f32[B,3,2]\n  %2 = flatten %1 {start=1, end=2} : f32[B,6]\n"
              "  %3 = unsqueeze %2 {dim=1} : f32[B,1,6]\n  %4 = transpose %1 {dim0=1, dim1=2} : f32[B,2,3]\n"
              "  %5 = sigmoid %4 : f32[B,2,3]\n  return %3, %5\n}\n"},
    {"output is input and param", P("2") "func @f(%x: f32[B,2]) {\n  %0 = add %x, @p : f32[B,2]\n  return %x, %0\n}\n"},
};
const size_t sf_op_case_count = sizeof sf_op_cases / sizeof sf_op_cases[0];

/* the case's parameters: values away from 0 and 1 (variances too), the same for every k */
sf_tensor_set *sf_op_case_weights(const sf_graph *g, int k)
{
    sf_error e = {0};
    sf_tensor_set *w = sf_tensors_new();
    assert_int_equal(sf_init_weights(g, (uint64_t)k + 1, w, &e), SF_OK);
    for (size_t i = 0; i < w->tensors.len; i++) {
        sf_tensor *t = w->tensors.items[i];
        for (size_t j = 0; j < sf_tensor_numel(t); j++)
            t->data[j] = 0.6f + 0.4f * (float)((j * 7 + i * 3) % 5) / 5.0f;
    }
    return w;
}
