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

typedef struct op_case {
    const char *name, *ir;
} op_case;

#define P(shape) "param @p : f32[" shape "]\n"
static const op_case cases[] = {
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

/* the case's parameters: values away from 0 and 1 (variances too), the same for every k */
static sf_tensor_set *weights_for(const sf_graph *g, int k)
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

static void test_every_op_every_backend(void **state)
{
    (void)state;
    const char *why;
    bool cpu = sf_cpu_available(), cuda = cuda_host_available(&why);
    int n = (int)(sizeof cases / sizeof cases[0]), chains[2] = {0, 0}; /* epilogue, two products */
    for (int k = 0; k < n; k++) {
        const op_case *c = &cases[k];
        sf_error e = {0};
        sf_graph *g = sf_parse(c->ir, strlen(c->ir), c->name, &e);
        if (!g)
            fail_msg("%s: %s", c->name, e.msg);
        sf_tensor_set *w = weights_for(g, k), *w2 = weights_for(g, k);
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
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (strstr(cases[k].ir, pat))
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
