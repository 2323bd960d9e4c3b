/* The fusion patterns' passes as IR text in, IR text out (pass_check.h):
 * widen (heterogeneous siblings), concat_elim's sums of rows and concats
 * of concats, canonicalize's slice of a slice (towers of towers), and the
 * memory rule that keeps summed conv branches apart. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "pass_check.h"

#define check(passes, ir, want) sf_check_passes(passes, ir, want, 0, 0)

/* linears of widths 3 and 5 on one input become one of 8, their common
 * ReLU applied once; the bias-free one of another kind stays */
static void test_widen_heterogeneous_linears(void **state)
{
    (void)state;
    check("widen,dce",
          "param @w1 : f32[3,4]\n"
          "param @b1 : f32[3]\n"
          "param @w2 : f32[5,4]\n"
          "param @b2 : f32[5]\n"
          "param @w3 : f32[2,4]\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = linear %x, @w1, @b1 : f32[B,3]\n"
          "  %1 = relu %0 : f32[B,3]\n"
          "  %2 = linear %x, @w2, @b2 : f32[B,5]\n"
          "  %3 = relu %2 : f32[B,5]\n"
          "  %4 = linear %x, @w3 : f32[B,2]\n"
          "  %5 = concat %1, %3 {dim=1} : f32[B,8]\n"
          "  return %5, %4\n"
          "}\n",
          "param @w1.widened2 : f32[8,4]\n"
          "param @b1.widened2 : f32[8]\n"
          "param @w3 : f32[2,4]\n"
          "\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = linear %x, @w1.widened2, @b1.widened2 : f32[B,8]\n"
          "  %1 = relu %0 : f32[B,8]\n"
          "  %2 = slice %1 {dim=1, start=0, end=3, step=1} : f32[B,3]\n"
          "  %3 = slice %1 {dim=1, start=3, end=8, step=1} : f32[B,5]\n"
          "  %4 = linear %x, @w3 : f32[B,2]\n"
          "  %5 = concat %2, %3 {dim=1} : f32[B,8]\n"
          "  return %5, %4\n"
          "}\n");
}

/* kernels 3 and 5 over the same centres (paddings 1 and 2) cost 1.25x as
 * one conv of kernel 5 (the 3 centred in zeros): one conv, its ReLU once,
 * the concat a view; the bias-free 1-wide conv is of another kind. An
 * Inception-style 1x1, 3x3 and 5x5 would cost 2.6x padded: they stay. */
static void test_widen_pads_smaller_kernels(void **state)
{
    (void)state;
    check("widen,concat_elim,dce",
          "param @w3 : f32[4,2,3]\n"
          "param @b3 : f32[4]\n"
          "param @w5 : f32[4,2,5]\n"
          "param @b5 : f32[4]\n"
          "param @w1 : f32[3,2,1]\n"
          "func @f(%x: f32[B,2,10]) {\n"
          "  %0 = conv1d %x, @w3, @b3 {stride=[1], padding=[1], dilation=[1], groups=1} : f32[B,4,10]\n"
          "  %1 = relu %0 : f32[B,4,10]\n"
          "  %2 = conv1d %x, @w5, @b5 {stride=[1], padding=[2], dilation=[1], groups=1} : f32[B,4,10]\n"
          "  %3 = relu %2 : f32[B,4,10]\n"
          "  %4 = concat %1, %3 {dim=1} : f32[B,8,10]\n"
          "  %5 = conv1d %x, @w1 {stride=[1], padding=[0], dilation=[1], groups=1} : f32[B,3,10]\n"
          "  return %4, %5\n"
          "}\n",
          "param @w3.widened2 : f32[8,2,5]\n"
          "param @b3.widened2 : f32[8]\n"
          "param @w1 : f32[3,2,1]\n"
          "\n"
          "func @f(%x: f32[B,2,10]) {\n"
          "  %0 = conv1d %x, @w3.widened2, @b3.widened2 {stride=[1], padding=[2], dilation=[1], groups=1} : f32[B,8,10]\n"
          "  %1 = relu %0 : f32[B,8,10]\n"
          "  %2 = conv1d %x, @w1 {stride=[1], padding=[0], dilation=[1], groups=1} : f32[B,3,10]\n"
          "  return %1, %2\n"
          "}\n");
    const char *incep =
          "param @w3 : f32[6,2,3,3]\n"
          "param @b3 : f32[6]\n"
          "param @w5 : f32[2,2,5,5]\n"
          "param @b5 : f32[2]\n"
          "param @w1 : f32[3,2,1,1]\n"
          "param @b1 : f32[3]\n"
          "func @f(%x: f32[B,2,6,6]) {\n"
          "  %0 = conv2d %x, @w3, @b3 {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,6,6,6]\n"
          "  %1 = relu %0 : f32[B,6,6,6]\n"
          "  %2 = conv2d %x, @w5, @b5 {stride=[1,1], padding=[2,2], dilation=[1,1], groups=1} : f32[B,2,6,6]\n"
          "  %3 = relu %2 : f32[B,2,6,6]\n"
          "  %4 = conv2d %x, @w1, @b1 {stride=[1,1], padding=[0,0], dilation=[1,1], groups=1} : f32[B,3,6,6]\n"
          "  %5 = relu %4 : f32[B,3,6,6]\n"
          "  %6 = concat %1, %3, %5 {dim=1} : f32[B,11,6,6]\n"
          "  return %6\n"
          "}\n";
    char want[2048];
    const char *body = strstr(incep, "func");
    snprintf(want, sizeof want, "%.*s\n%s", (int)(body - incep), incep, body);
    check("widen,dce", incep, want);
}

/* a chain of adds over rows of one tensor is one sum (all rows, or a run
 * of them); a concat of concats of its rows is a view; a slice of a slice
 * is one slice */
static void test_sums_of_rows_and_nested_views(void **state)
{
    (void)state;
    check("canonicalize,concat_elim,dce",
          "func @f(%x: f32[B,3,2]) {\n"
          "  %0 = slice %x {dim=1, start=0, end=1, step=1} : f32[B,1,2]\n"
          "  %1 = reshape %0 {shape=[B,2]} : f32[B,2]\n"
          "  %2 = slice %x {dim=1, start=1, end=2, step=1} : f32[B,1,2]\n"
          "  %3 = reshape %2 {shape=[B,2]} : f32[B,2]\n"
          "  %4 = slice %x {dim=1, start=2, end=3, step=1} : f32[B,1,2]\n"
          "  %5 = reshape %4 {shape=[B,2]} : f32[B,2]\n"
          "  %6 = add %3, %1 : f32[B,2]\n"
          "  %7 = add %6, %5 : f32[B,2]\n"
          "  %8 = add %1, %3 : f32[B,2]\n"
          "  %9 = concat %1, %3 {dim=1} : f32[B,4]\n"
          "  %10 = concat %9, %5 {dim=1} : f32[B,6]\n"
          "  %11 = slice %x {dim=1, start=1, end=3, step=1} : f32[B,2,2]\n"
          "  %12 = slice %11 {dim=1, start=1, end=2, step=1} : f32[B,1,2]\n"
          "  return %7, %8, %10, %12\n"
          "}\n",
          "func @f(%x: f32[B,3,2]) {\n"
          "  %0 = sum %x {dims=[1], keepdim=false} : f32[B,2]\n"
          "  %1 = slice %x {dim=1, start=0, end=2, step=1} : f32[B,2,2]\n"
          "  %2 = sum %1 {dims=[1], keepdim=false} : f32[B,2]\n"
          "  %3 = reshape %x {shape=[B,6]} : f32[B,6]\n"
          "  %4 = slice %x {dim=1, start=2, end=3, step=1} : f32[B,1,2]\n"
          "  return %0, %2, %3, %4\n"
          "}\n");
}

/* ir comes out of passes as it went in (printed with a blank line after
 * its params), and the graph's notes say why */
static void stays_apart(const char *passes, const char *ir, const char *note)
{
    char want[4096];
    const char *body = strstr(ir, "func");
    snprintf(want, sizeof want, "%.*s\n%s", (int)(body - ir), ir, body);
    check(passes, ir, want);
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "apart.sfir", &e);
    assert_non_null(g);
    sf_module m = {.g = g, .weights = sf_tensors_new()};
    assert_int_equal(sf_init_weights(g, 7, m.weights, &e), SF_OK);
    sf_pipeline_opts o = {.passes = passes, .verify_each = true};
    assert_int_equal(sf_run_pipeline(&m, &o, &e), SF_OK);
    assert_non_null(m.g->notes);
    assert_contains(m.g->notes, note);
    sf_tensors_free(m.weights);
    sf_graph_free(m.g);
}

/* three convs summed after a ReLU: widened they would hold three results
 * at once; they stay apart, and --stats says so */
static void test_summed_convs_stay_apart(void **state)
{
    (void)state;
    const char *ir =
          "param @w1 : f32[2,2,3,3]\n"
          "param @w2 : f32[2,2,3,3]\n"
          "param @w3 : f32[2,2,3,3]\n"
          "func @f(%x: f32[B,2,5,5]) {\n"
          "  %0 = conv2d %x, @w1 {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,2,5,5]\n"
          "  %1 = relu %0 : f32[B,2,5,5]\n"
          "  %2 = conv2d %x, @w2 {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,2,5,5]\n"
          "  %3 = relu %2 : f32[B,2,5,5]\n"
          "  %4 = add %1, %3 : f32[B,2,5,5]\n"
          "  %5 = conv2d %x, @w3 {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,2,5,5]\n"
          "  %6 = relu %5 : f32[B,2,5,5]\n"
          "  %7 = add %4, %6 : f32[B,2,5,5]\n"
          "  return %7\n"
          "}\n";
    stays_apart("hfuse,widen,dce", ir,
                "hfuse: 3 convs on one input kept apart: summed after an activation, widened they would hold 600 "
                "bytes per batch row at once, apart about 400");
}

/* windows of one width whose products differ in width group padded to
 * the widest (zero rows; 12 multiply-adds for 8: 1.5x, the limit); each
 * branch is its own lanes of its row. 1/0 would put inf in the padding
 * lanes (0 x inf at a later product), so the group stops before them. */
static void test_hfuse_pads_ragged_windows(void **state)
{
    (void)state;
    check("hfuse,dce",
          "param @w1 : f32[3,2]\n"
          "param @w2 : f32[4,2]\n"
          "param @w3 : f32[1,2]\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = slice %x {dim=1, start=0, end=2, step=1} : f32[B,2]\n"
          "  %1 = slice %x {dim=1, start=2, end=4, step=1} : f32[B,2]\n"
          "  %2 = slice %x {dim=1, start=4, end=6, step=1} : f32[B,2]\n"
          "  %3 = linear %0, @w1 : f32[B,3]\n"
          "  %4 = linear %1, @w2 : f32[B,4]\n"
          "  %5 = reciprocal %3 : f32[B,3]\n"
          "  %6 = reciprocal %4 : f32[B,4]\n"
          "  %7 = linear %2, @w3 : f32[B,1]\n"
          "  return %5, %6, %7\n"
          "}\n"
,
          "param @w1.grouped3 : f32[3,4,2]\n"
          "\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = reshape %x {shape=[B,3,2]} : f32[B,3,2]\n"
          "  %1 = grouped_linear %0, @w1.grouped3 {shared=false} : f32[B,3,4]\n"
          "  %2 = slice %1 {dim=1, start=0, end=1, step=1} : f32[B,1,4]\n"
          "  %3 = slice %2 {dim=2, start=0, end=3, step=1} : f32[B,1,3]\n"
          "  %4 = reshape %3 {shape=[B,3]} : f32[B,3]\n"
          "  %5 = slice %1 {dim=1, start=1, end=2, step=1} : f32[B,1,4]\n"
          "  %6 = reshape %5 {shape=[B,4]} : f32[B,4]\n"
          "  %7 = slice %1 {dim=1, start=2, end=3, step=1} : f32[B,1,4]\n"
          "  %8 = slice %7 {dim=2, start=0, end=1, step=1} : f32[B,1,1]\n"
          "  %9 = reshape %8 {shape=[B,1]} : f32[B,1]\n"
          "  %10 = reciprocal %4 : f32[B,3]\n"
          "  %11 = reciprocal %6 : f32[B,4]\n"
          "  return %10, %11, %9\n"
          "}\n"
);
}

/* Past PAD_LIMIT (two windows of width 1 and one of 8: padding all three to 8 costs 24 multiply-adds
 * for 10) the windows fall back to runs of one width: the two of width 1 group, the third stays. */
static void test_hfuse_pad_limit_falls_back_to_runs(void **state)
{
    (void)state;
    check("hfuse,dce",
          "param @w1 : f32[1,2]\n"
          "param @w2 : f32[1,2]\n"
          "param @w3 : f32[8,2]\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = slice %x {dim=1, start=0, end=2, step=1} : f32[B,2]\n"
          "  %1 = slice %x {dim=1, start=2, end=4, step=1} : f32[B,2]\n"
          "  %2 = slice %x {dim=1, start=4, end=6, step=1} : f32[B,2]\n"
          "  %3 = linear %0, @w1 : f32[B,1]\n"
          "  %4 = linear %1, @w2 : f32[B,1]\n"
          "  %5 = linear %2, @w3 : f32[B,8]\n"
          "  return %3, %4, %5\n"
          "}\n"
,
          "param @w1.grouped2 : f32[2,1,2]\n"
          "param @w3 : f32[8,2]\n"
          "\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = slice %x {dim=1, start=4, end=6, step=1} : f32[B,2]\n"
          "  %1 = slice %x {dim=1, start=0, end=4, step=1} : f32[B,4]\n"
          "  %2 = reshape %1 {shape=[B,2,2]} : f32[B,2,2]\n"
          "  %3 = grouped_linear %2, @w1.grouped2 {shared=false} : f32[B,2,1]\n"
          "  %4 = slice %3 {dim=1, start=0, end=1, step=1} : f32[B,1,1]\n"
          "  %5 = reshape %4 {shape=[B,1]} : f32[B,1]\n"
          "  %6 = slice %3 {dim=1, start=1, end=2, step=1} : f32[B,1,1]\n"
          "  %7 = reshape %6 {shape=[B,1]} : f32[B,1]\n"
          "  %8 = linear %0, @w3 : f32[B,8]\n"
          "  return %5, %7, %8\n"
          "}\n"
);
}

/* What hfuse leaves alone: a product whose weight is not a parameter (x @ w, w an input) stays
 * apart from the windows' group; a step that differs between branches (0.5 - x against x - 0.5)
 * ends the chain, and so does a step that is not elementwise (softmax); convs of more than one
 * group stay as they are. */
static void test_hfuse_stops_where_branches_differ(void **state)
{
    (void)state;
    check("hfuse,dce",
          "param @w1 : f32[3,2]\n"
          "param @w2 : f32[3,2]\n"
          "param @w3 : f32[3,2]\n"
          "param @w4 : f32[3,2]\n"
          "func @f(%x: f32[B,10], %y: f32[3,2]) {\n"
          "  %0 = slice %x {dim=1, start=0, end=2, step=1} : f32[B,2]\n"
          "  %1 = slice %x {dim=1, start=2, end=4, step=1} : f32[B,2]\n"
          "  %2 = slice %x {dim=1, start=4, end=6, step=1} : f32[B,2]\n"
          "  %3 = slice %x {dim=1, start=6, end=8, step=1} : f32[B,2]\n"
          "  %4 = slice %x {dim=1, start=8, end=10, step=1} : f32[B,2]\n"
          "  %5 = linear %0, @w1 : f32[B,3]\n"
          "  %6 = linear %1, @w2 : f32[B,3]\n"
          "  %7 = scalar {value=0.5} : f32[]\n"
          "  %8 = sub %5, %7 : f32[B,3]\n"
          "  %9 = sub %7, %6 : f32[B,3]\n"
          "  %10 = linear %2, @w3 : f32[B,3]\n"
          "  %11 = linear %3, @w4 : f32[B,3]\n"
          "  %12 = softmax %10 {dim=1} : f32[B,3]\n"
          "  %13 = softmax %11 {dim=1} : f32[B,3]\n"
          "  %14 = linear %4, %y : f32[B,3]\n"
          "  return %8, %9, %12, %13, %14\n"
          "}\n"
,
          "param @w1.grouped4 : f32[4,3,2]\n"
          "\n"
          "func @f(%x: f32[B,10], %y: f32[3,2]) {\n"
          "  %0 = slice %x {dim=1, start=8, end=10, step=1} : f32[B,2]\n"
          "  %1 = slice %x {dim=1, start=0, end=8, step=1} : f32[B,8]\n"
          "  %2 = reshape %1 {shape=[B,4,2]} : f32[B,4,2]\n"
          "  %3 = grouped_linear %2, @w1.grouped4 {shared=false} : f32[B,4,3]\n"
          "  %4 = slice %3 {dim=1, start=0, end=1, step=1} : f32[B,1,3]\n"
          "  %5 = reshape %4 {shape=[B,3]} : f32[B,3]\n"
          "  %6 = slice %3 {dim=1, start=1, end=2, step=1} : f32[B,1,3]\n"
          "  %7 = reshape %6 {shape=[B,3]} : f32[B,3]\n"
          "  %8 = slice %3 {dim=1, start=2, end=3, step=1} : f32[B,1,3]\n"
          "  %9 = reshape %8 {shape=[B,3]} : f32[B,3]\n"
          "  %10 = slice %3 {dim=1, start=3, end=4, step=1} : f32[B,1,3]\n"
          "  %11 = reshape %10 {shape=[B,3]} : f32[B,3]\n"
          "  %12 = scalar {value=0.5} : f32[]\n"
          "  %13 = sub %5, %12 : f32[B,3]\n"
          "  %14 = sub %12, %7 : f32[B,3]\n"
          "  %15 = softmax %9 {dim=1} : f32[B,3]\n"
          "  %16 = softmax %11 {dim=1} : f32[B,3]\n"
          "  %17 = linear %0, %y : f32[B,3]\n"
          "  return %13, %14, %15, %16, %17\n"
          "}\n"
);
    check("hfuse,dce",
          "param @w1 : f32[4,2,3]\n"
          "param @w2 : f32[4,2,3]\n"
          "func @f(%x: f32[B,4,6]) {\n"
          "  %0 = conv1d %x, @w1 {stride=[1], padding=[1], dilation=[1], groups=2} : f32[B,4,6]\n"
          "  %1 = conv1d %x, @w2 {stride=[1], padding=[1], dilation=[1], groups=2} : f32[B,4,6]\n"
          "  return %0, %1\n"
          "}\n"
,
          "param @w1 : f32[4,2,3]\n"
          "param @w2 : f32[4,2,3]\n"
          "\n"
          "func @f(%x: f32[B,4,6]) {\n"
          "  %0 = conv1d %x, @w1 {stride=[1], padding=[1], dilation=[1], groups=2} : f32[B,4,6]\n"
          "  %1 = conv1d %x, @w2 {stride=[1], padding=[1], dilation=[1], groups=2} : f32[B,4,6]\n"
          "  return %0, %1\n"
          "}\n"
);
}

/* widen alone: three convs of different kernel sizes on one input, each summed after its ReLU,
 * stay apart (widened, they would hold all three outputs at once), and widen says so. */
static void test_widen_keeps_summed_kernels_apart(void **state)
{
    (void)state;
    const char *ir =
          "param @w1 : f32[2,2,3]\n"
          "param @w2 : f32[2,2,5]\n"
          "param @w3 : f32[2,2,5]\n"
          "func @f(%x: f32[B,2,8]) {\n"
          "  %0 = conv1d %x, @w1 {stride=[1], padding=[1], dilation=[1], groups=1} : f32[B,2,8]\n"
          "  %1 = relu %0 : f32[B,2,8]\n"
          "  %2 = conv1d %x, @w2 {stride=[1], padding=[2], dilation=[1], groups=1} : f32[B,2,8]\n"
          "  %3 = relu %2 : f32[B,2,8]\n"
          "  %4 = add %1, %3 : f32[B,2,8]\n"
          "  %5 = conv1d %x, @w3 {stride=[1], padding=[2], dilation=[1], groups=1} : f32[B,2,8]\n"
          "  %6 = relu %5 : f32[B,2,8]\n"
          "  %7 = add %4, %6 : f32[B,2,8]\n"
          "  return %7\n"
          "}\n";
    stays_apart("widen,dce", ir, "widen: 3 convs of different widths on one input kept apart: summed after an activation");
}

/* The K-concatenated last layer over ragged branches (a sum of MLPs of
 * different widths, after accumulate) reads their padded group through
 * zero weight columns: one view, no concat copy. */
static void test_padded_group_feeds_the_product(void **state)
{
    (void)state;
    check("hfuse,concat_elim,dce",
          "param @w1 : f32[3,2]\n"
          "param @b1 : f32[3]\n"
          "param @w2 : f32[4,2]\n"
          "param @b2 : f32[4]\n"
          "param @w3 : f32[3,2]\n"
          "param @b3 : f32[3]\n"
          "param @k : f32[1,10]\n"
          "param @kb : f32[1]\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = slice %x {dim=1, start=0, end=2, step=1} : f32[B,2]\n"
          "  %1 = slice %x {dim=1, start=2, end=4, step=1} : f32[B,2]\n"
          "  %2 = slice %x {dim=1, start=4, end=6, step=1} : f32[B,2]\n"
          "  %3 = linear %0, @w1, @b1 : f32[B,3]\n"
          "  %4 = linear %1, @w2, @b2 : f32[B,4]\n"
          "  %5 = linear %2, @w3, @b3 : f32[B,3]\n"
          "  %6 = relu %3 : f32[B,3]\n"
          "  %7 = relu %4 : f32[B,4]\n"
          "  %8 = relu %5 : f32[B,3]\n"
          "  %9 = concat %6, %7, %8 {dim=1} : f32[B,10]\n"
          "  %10 = linear %9, @k, @kb : f32[B,1]\n"
          "  return %10\n"
          "}\n"
,
          "param @w1.grouped3 : f32[3,4,2]\n"
          "param @b1.grouped3 : f32[3,4]\n"
          "param @k.padded : f32[1,12]\n"
          "param @kb : f32[1]\n"
          "\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = reshape %x {shape=[B,3,2]} : f32[B,3,2]\n"
          "  %1 = grouped_linear %0, @w1.grouped3, @b1.grouped3 {shared=false} : f32[B,3,4]\n"
          "  %2 = relu %1 : f32[B,3,4]\n"
          "  %3 = reshape %2 {shape=[B,12]} : f32[B,12]\n"
          "  %4 = linear %3, @k.padded, @kb : f32[B,1]\n"
          "  return %4\n"
          "}\n"
);
}

/* concat_elim over a grouped product whose weights the test sets: the
 * padding lanes (row 0's lane 2) are read through a zero column only
 * where they are quiet: a zero weight row and bias, and a step that keeps
 * 0 finite. Returns whether it did; the interpreter agrees either way. */
static bool reads_padding(const char *step, bool zero_row)
{
    char ir[2048];
    snprintf(ir, sizeof ir,
             "param @g : f32[2,3,2]\n"
             "param @gb : f32[2,3]\n"
             "param @k : f32[1,5]\n"
             "func @f(%%x: f32[B,2,2]) {\n"
             "  %%0 = grouped_linear %%x, @g, @gb {shared=false} : f32[B,2,3]\n"
             "  %%1 = %s : f32[B,2,3]\n"
             "  %%2 = slice %%1 {dim=1, start=0, end=1, step=1} : f32[B,1,3]\n"
             "  %%3 = slice %%2 {dim=2, start=0, end=2, step=1} : f32[B,1,2]\n"
             "  %%4 = reshape %%3 {shape=[B,2]} : f32[B,2]\n"
             "  %%5 = slice %%1 {dim=1, start=1, end=2, step=1} : f32[B,1,3]\n"
             "  %%6 = reshape %%5 {shape=[B,3]} : f32[B,3]\n"
             "  %%7 = concat %%4, %%6 {dim=1} : f32[B,5]\n"
             "  %%8 = linear %%7, @k : f32[B,1]\n"
             "  return %%8\n"
             "}\n",
             step);
    sf_error e = {0};
    sf_graph *before = sf_parse(ir, strlen(ir), "pad.sfir", &e), *after = sf_parse(ir, strlen(ir), "pad.sfir", &e);
    assert_non_null(before);
    assert_non_null(after);
    sf_module m = {.g = after, .weights = sf_tensors_new()};
    assert_int_equal(sf_init_weights(before, 7, m.weights, &e), SF_OK);
    if (zero_row) { /* row 0, output lane 2: hfuse's padding */
        sf_tensor *g = sf_tensors_get(m.weights, "g"), *gb = sf_tensors_get(m.weights, "gb");
        g->data[2 * 2] = g->data[2 * 2 + 1] = gb->data[2] = 0.0f;
    }
    sf_pipeline_opts o = {.passes = "concat_elim,dce", .verify_each = true};
    assert_int_equal(sf_run_pipeline(&m, &o, &e), SF_OK);
    char *got = sf_print_string(m.g);
    bool padded = strstr(got, "@k.padded") != NULL;
    assert_true(padded == (strstr(got, "concat") == NULL));
    sf_tensor_set *in = sf_tensors_new(), *out0 = sf_tensors_new(), *out1 = sf_tensors_new();
    assert_int_equal(sf_random_inputs(before, 5, 3, in, &e), SF_OK);
    assert_int_equal(sf_interp_run(before, 5, in, m.weights, out0, &e), SF_OK);
    assert_int_equal(sf_interp_run(m.g, 5, in, m.weights, out1, &e), SF_OK);
    const sf_tensor *a = out0->tensors.items[0], *b = out1->tensors.items[0];
    assert_close(b->data, a->data, sf_tensor_numel(a), 1e-5, 1e-6);
    free(got);
    sf_tensors_free(in), sf_tensors_free(out0), sf_tensors_free(out1), sf_tensors_free(m.weights);
    sf_graph_free(before), sf_graph_free(m.g);
    return padded;
}

static void test_padding_read_only_where_quiet(void **state)
{
    (void)state;
    assert_true(reads_padding("relu %0", true));
    assert_true(reads_padding("exp %0", true));           /* 0 -> 1: finite, read through 0 */
    assert_false(reads_padding("relu %0", false));        /* the padding row is not zero: lanes of its own */
    assert_false(reads_padding("reciprocal %0", true));   /* 1/0 = inf: 0 x inf would be NaN */
    assert_false(reads_padding("mul %0, %0", true));      /* not a step with a scalar */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widen_heterogeneous_linears),
        cmocka_unit_test(test_widen_pads_smaller_kernels),
        cmocka_unit_test(test_sums_of_rows_and_nested_views),
        cmocka_unit_test(test_summed_convs_stay_apart),
        cmocka_unit_test(test_hfuse_pads_ragged_windows),
        cmocka_unit_test(test_hfuse_pad_limit_falls_back_to_runs),
        cmocka_unit_test(test_hfuse_stops_where_branches_differ),
        cmocka_unit_test(test_widen_keeps_summed_kernels_apart),
        cmocka_unit_test(test_padded_group_feeds_the_product),
        cmocka_unit_test(test_padding_read_only_where_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
