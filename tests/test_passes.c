/* Passes as IR text in, IR text out, like FileCheck tests; every rewrite
 * is also run through the interpreter before and after (the oracle). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"
#include "frontend/frontend.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "pass_check.h"

/* Runs passes on the IR; checks the printed result, then that the
 * interpreter gives the same outputs before and after (batch 3). */
static int opt_min_branches;
static size_t opt_max_bytes;

/* each test starts from the default limits, even after a failed one */
static int reset_options(void **state)
{
    (void)state;
    opt_min_branches = 0;
    opt_max_bytes = 0;
    return 0;
}

#define check(passes, ir, want) sf_check_passes(passes, ir, want, opt_min_branches, opt_max_bytes)

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

/* One convention for use counts, stored on the graph: an output counts
 * SF_USE_OUTPUT, so 1 means one reader and nothing else; the counts go
 * stale when the graph grows, and a pass never reads stale ones. */
static void test_use_counts(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f32[B,2]) {\n  %0 = relu %x : f32[B,2]\n  %1 = tanh %0 : f32[B,2]\n"
                     "  %2 = add %0, %x : f32[B,2]\n  %3 = sigmoid %2 : f32[B,2]\n  return %3, %1\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "uses.sfir", &e);
    assert_non_null(g);
    assert_false(sf_uses_fresh(g));
    const sf_uses *u = sf_fill_uses(g);
    assert_non_null(u);
    assert_true(sf_uses_fresh(g));
    const sf_value *x = g->inputs.items[0];
    const sf_node *relu = g->nodes.items[1], *tanh_ = g->nodes.items[2], *add = g->nodes.items[3],
                  *sig = g->nodes.items[4];
    assert_int_equal(u->count[x->id], 2);              /* relu and add */
    assert_int_equal(u->count[relu->out[0]->id], 2);   /* tanh and add */
    assert_int_equal(u->count[add->out[0]->id], 1);    /* sigmoid alone: private */
    assert_ptr_equal(u->user[add->out[0]->id], sig);
    assert_int_equal(u->count[tanh_->out[0]->id], SF_USE_OUTPUT);
    assert_int_equal(u->count[sig->out[0]->id], SF_USE_OUTPUT);
    /* a new node makes them stale; a pass that reads them refuses stale ones */
    assert_non_null(sf_build1(g, SF_OP_RELU, sig->out[0], &e));
    assert_false(sf_uses_fresh(g));
    sf_module m = {.g = g};
    assert_null(sf_pass_uses(&m, "test", &e));
    assert_int_equal(e.code, SF_ERR_VERIFY);
    assert_contains(e.msg, "test: the use counts are stale");
    assert_non_null(sf_fill_uses(g));
    assert_non_null(sf_pass_uses(&m, "test", &e));
    sf_graph_free(g);
}

/* Every pass that can leave dead nodes says so, and the pipeline (not the
 * pass) runs dce after it: cse alone leaves no dead copy behind. */
static void test_pipeline_runs_dce_after_passes(void **state)
{
    (void)state;
    for (const sf_pass_info *p = sf_passes; p->name; p++)
        if (!strcmp(p->name, "cse") || !strcmp(p->name, "hfuse") || !strcmp(p->name, "compose") ||
            !strcmp(p->name, "accumulate") || !strcmp(p->name, "concat_elim"))
            assert_true(p->flags & SF_PASS_DEAD);
    check("cse",
          "func @f(%x: f32[B,2]) {\n  %0 = relu %x : f32[B,2]\n  %1 = relu %x : f32[B,2]\n"
          "  %2 = tanh %1 : f32[B,2]\n  return %2\n}\n",
          "func @f(%x: f32[B,2]) {\n  %0 = relu %x : f32[B,2]\n  %1 = tanh %0 : f32[B,2]\n  return %1\n}\n");
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

static void test_shared_grouped_product_becomes_dense(void **state)
{
    (void)state;
    /* a shared grouped product is one linear with its activations moved in
     * front of the reshape back, except where its groups go on separately:
     * into a sum over groups of 16 wide (kept for the chain) or into a
     * per-group product; a returned grouped result keeps its type */
    check("canonicalize,dce",
          "param @g : f32[4,5,10]\n"
          "param @gb : f32[4,5]\n"
          "param @w2 : f32[3,20]\n"
          "param @h : f32[3,16,10]\n"
          "param @w3 : f32[2,48]\n"
          "param @k : f32[2,3,10]\n"
          "param @k2 : f32[2,4,3]\n"
          "param @m : f32[3,2,10]\n"
          "func @f(%x: f32[B,10]) {\n"
          "  %0 = grouped_linear %x, @g, @gb {shared=true} : f32[B,4,5]\n"
          "  %1 = gelu %0 : f32[B,4,5]\n"
          "  %2 = leaky_relu %1 {alpha=0.2} : f32[B,4,5]\n"
          "  %3 = reshape %2 {shape=[B,20]} : f32[B,20]\n"
          "  %4 = linear %3, @w2 : f32[B,3]\n"
          "  %5 = grouped_linear %x, @h {shared=true} : f32[B,3,16]\n"
          "  %6 = relu %5 : f32[B,3,16]\n"
          "  %7 = reshape %6 {shape=[B,48]} : f32[B,48]\n"
          "  %8 = linear %7, @w3 : f32[B,2]\n"
          "  %9 = grouped_linear %x, @k {shared=true} : f32[B,2,3]\n"
          "  %10 = tanh %9 : f32[B,2,3]\n"
          "  %11 = grouped_linear %10, @k2 {shared=false} : f32[B,2,4]\n"
          "  %12 = grouped_linear %x, @m {shared=true} : f32[B,3,2]\n"
          "  %13 = sigmoid %12 : f32[B,3,2]\n"
          "  return %4, %8, %11, %12, %13\n"
          "}\n",
          "param @g.dense : f32[20,10]\n"
          "param @gb.dense : f32[20]\n"
          "param @w2 : f32[3,20]\n"
          "param @h : f32[3,16,10]\n"
          "param @w3 : f32[2,48]\n"
          "param @k : f32[2,3,10]\n"
          "param @k2 : f32[2,4,3]\n"
          "param @m.dense : f32[6,10]\n"
          "\n"
          "func @f(%x: f32[B,10]) {\n"
          "  %0 = linear %x, @g.dense, @gb.dense : f32[B,20]\n"
          "  %1 = gelu %0 : f32[B,20]\n"
          "  %2 = leaky_relu %1 {alpha=0.2} : f32[B,20]\n"
          "  %3 = linear %2, @w2 : f32[B,3]\n"
          "  %4 = grouped_linear %x, @h {shared=true} : f32[B,3,16]\n"
          "  %5 = relu %4 : f32[B,3,16]\n"
          "  %6 = reshape %5 {shape=[B,48]} : f32[B,48]\n"
          "  %7 = linear %6, @w3 : f32[B,2]\n"
          "  %8 = grouped_linear %x, @k {shared=true} : f32[B,2,3]\n"
          "  %9 = tanh %8 : f32[B,2,3]\n"
          "  %10 = grouped_linear %9, @k2 {shared=false} : f32[B,2,4]\n"
          "  %11 = linear %x, @m.dense : f32[B,6]\n"
          "  %12 = reshape %11 {shape=[B,3,2]} : f32[B,3,2]\n"
          "  %13 = sigmoid %12 : f32[B,3,2]\n"
          "  return %3, %7, %10, %12, %13\n"
          "}\n");
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

static void test_compose_affine_pairs(void **state)
{
    (void)state;
    /* 6 -> 4 -> 3 -> 2 with nothing between: one product (18 < 36, then 12 < 24 multiply-adds) */
    check("compose",
          "param @w1 : f32[4,6]\nparam @b1 : f32[4]\nparam @w2 : f32[3,4]\nparam @w3 : f32[2,3]\nparam @b3 : f32[2]\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = linear %x, @w1, @b1 : f32[B,4]\n  %1 = linear %0, @w2 : f32[B,3]\n"
          "  %2 = linear %1, @w3, @b3 : f32[B,2]\n  return %2\n}\n",
          "param @w3.composed : f32[2,6]\nparam @w3.composed_bias : f32[2]\n\n"
          "func @f(%x: f32[B,6]) {\n"
          "  %0 = linear %x, @w3.composed, @w3.composed_bias : f32[B,2]\n  return %0\n}\n");
    /* no bias on either side: none on the result */
    check("compose",
          "param @w1 : f32[2,5]\nparam @w2 : f32[1,2]\n"
          "func @f(%x: f32[B,7,5]) {\n"
          "  %0 = linear %x, @w1 : f32[B,7,2]\n  %1 = linear %0, @w2 : f32[B,7,1]\n  return %1\n}\n",
          "param @w2.composed : f32[1,5]\n\n"
          "func @f(%x: f32[B,7,5]) {\n"
          "  %0 = linear %x, @w2.composed : f32[B,7,1]\n  return %0\n}\n");
}

static void test_compose_grouped(void **state)
{
    (void)state;
    /* per group, the inner's sharing kept: every group sees x */
    check("compose",
          "param @w1 : f32[3,2,4]\nparam @b1 : f32[3,2]\nparam @w2 : f32[3,1,2]\nparam @b2 : f32[3,1]\n"
          "func @f(%x: f32[B,4], %y: f32[B,3,4]) {\n"
          "  %0 = grouped_linear %x, @w1, @b1 {shared=true} : f32[B,3,2]\n"
          "  %1 = grouped_linear %0, @w2, @b2 {shared=false} : f32[B,3,1]\n"
          "  %2 = grouped_linear %y, @w1 {shared=false} : f32[B,3,2]\n"
          "  %3 = grouped_linear %2, @w2, @b2 {shared=false} : f32[B,3,1]\n  return %1, %3\n}\n",
          "param @w2.composed : f32[3,1,4]\nparam @w2.composed_bias : f32[3,1]\n"
          "param @w2.composed.1 : f32[3,1,4]\nparam @w2.composed_bias.1 : f32[3,1]\n\n"
          "func @f(%x: f32[B,4], %y: f32[B,3,4]) {\n"
          "  %0 = grouped_linear %x, @w2.composed, @w2.composed_bias {shared=true} : f32[B,3,1]\n"
          "  %1 = grouped_linear %y, @w2.composed.1, @w2.composed_bias.1 {shared=false} : f32[B,3,1]\n"
          "  return %0, %1\n}\n");
}

static void test_compose_refusals(void **state)
{
    (void)state;
    /* a bottleneck costs less as written (8*8 > 2*16); an activation between;
     * the intermediate also returned; an input as weight; a shared outer;
     * a plain product after a grouped one: each stays */
    const char *ir = "param @w1 : f32[2,8]\nparam @w2 : f32[8,2]\nparam @a : f32[4,6]\nparam @c : f32[1,4]\n"
                     "param @g1 : f32[3,2,4]\nparam @g2 : f32[3,1,2]\nparam @l : f32[1,2]\n"
                     "func @f(%x: f32[B,8], %y: f32[B,6], %w: f32[1,4], %z: f32[B,3,4]) {\n"
                     "  %0 = linear %x, @w1 : f32[B,2]\n  %1 = linear %0, @w2 : f32[B,8]\n"
                     "  %2 = linear %y, @a : f32[B,4]\n  %3 = relu %2 : f32[B,4]\n  %4 = linear %3, @c : f32[B,1]\n"
                     "  %5 = linear %y, @a : f32[B,4]\n  %6 = linear %5, @c : f32[B,1]\n"
                     "  %7 = linear %y, @a : f32[B,4]\n  %8 = linear %7, %w : f32[B,1]\n"
                     "  %9 = grouped_linear %z, @g1 {shared=false} : f32[B,3,2]\n"
                     "  %10 = linear %9, @l : f32[B,3,1]\n"
                     "  %11 = grouped_linear %z, @g1 {shared=false} : f32[B,3,2]\n"
                     "  %12 = grouped_linear %11, @g2 {shared=true} : f32[B,3,3,1]\n"
                     "  return %1, %4, %5, %6, %8, %10, %12\n}\n";
    check("compose", ir,
          "param @w1 : f32[2,8]\nparam @w2 : f32[8,2]\nparam @a : f32[4,6]\nparam @c : f32[1,4]\n"
          "param @g1 : f32[3,2,4]\nparam @l : f32[1,2]\nparam @g2 : f32[3,1,2]\n\n"
          "func @f(%x: f32[B,8], %y: f32[B,6], %w: f32[1,4], %z: f32[B,3,4]) {\n"
          "  %0 = linear %x, @w1 : f32[B,2]\n  %1 = linear %0, @w2 : f32[B,8]\n"
          "  %2 = linear %y, @a : f32[B,4]\n  %3 = relu %2 : f32[B,4]\n  %4 = linear %3, @c : f32[B,1]\n"
          "  %5 = linear %y, @a : f32[B,4]\n  %6 = linear %5, @c : f32[B,1]\n"
          "  %7 = linear %y, @a : f32[B,4]\n  %8 = linear %7, %w : f32[B,1]\n"
          "  %9 = grouped_linear %z, @g1 {shared=false} : f32[B,3,2]\n  %10 = linear %9, @l : f32[B,3,1]\n"
          "  %11 = grouped_linear %z, @g1 {shared=false} : f32[B,3,2]\n"
          "  %12 = grouped_linear %11, @g2 {shared=true} : f32[B,3,3,1]\n"
          "  return %1, %4, %5, %6, %8, %10, %12\n}\n");
}

#define PFCN3_PARAMS                                                                            \
    "param @a0 : f32[2,3]\nparam @b0 : f32[2]\nparam @a1 : f32[2,3]\nparam @b1 : f32[2]\n"     \
    "param @a2 : f32[2,3]\nparam @b2 : f32[2]\nparam @c0 : f32[1,2]\nparam @c1 : f32[1,2]\n" \
    "param @c2 : f32[1,2]\n\n"

/* seed 003 in miniature: windows of x, two linears with a relu between,
 * outputs concatenated: one view in, two grouped products, one view out */
static const char *pfcn3 =
    PFCN3_PARAMS "func @f(%x: f32[B,9]) {\n"
    "  %0 = slice %x {dim=1, start=0, end=3, step=1} : f32[B,3]\n  %1 = linear %0, @a0, @b0 : f32[B,2]\n"
    "  %2 = relu %1 : f32[B,2]\n  %3 = linear %2, @c0 : f32[B,1]\n"
    "  %4 = slice %x {dim=1, start=3, end=6, step=1} : f32[B,3]\n  %5 = linear %4, @a1, @b1 : f32[B,2]\n"
    "  %6 = relu %5 : f32[B,2]\n  %7 = linear %6, @c1 : f32[B,1]\n"
    "  %8 = slice %x {dim=1, start=6, end=9, step=1} : f32[B,3]\n  %9 = linear %8, @a2, @b2 : f32[B,2]\n"
    "  %10 = relu %9 : f32[B,2]\n  %11 = linear %10, @c2 : f32[B,1]\n"
    "  %12 = concat %3, %7, %11 {dim=1} : f32[B,3]\n  return %12\n}\n";

static void test_hfuse_windows_and_concat(void **state)
{
    (void)state;
    check("hfuse,concat_elim", pfcn3,
          "param @a0.grouped3 : f32[3,2,3]\nparam @b0.grouped3 : f32[3,2]\nparam @c0.grouped3 : f32[3,1,2]\n\n"
          "func @f(%x: f32[B,9]) {\n"
          "  %0 = reshape %x {shape=[B,3,3]} : f32[B,3,3]\n"
          "  %1 = grouped_linear %0, @a0.grouped3, @b0.grouped3 {shared=false} : f32[B,3,2]\n"
          "  %2 = relu %1 : f32[B,3,2]\n"
          "  %3 = grouped_linear %2, @c0.grouped3 {shared=false} : f32[B,3,1]\n"
          "  %4 = reshape %3 {shape=[B,3]} : f32[B,3]\n  return %4\n}\n");
}

/* pfcn3 with LeakyReLU(0.1) in two branches and LeakyReLU(0.2) in the
 * third: the lockstep ends at the activations (one with alpha 0.1 for all
 * three would be wrong for the third) */
static void test_hfuse_keeps_activation_attributes_apart(void **state)
{
    (void)state;
    static const char *in =
        PFCN3_PARAMS "func @f(%x: f32[B,9]) {\n"
        "  %0 = slice %x {dim=1, start=0, end=3, step=1} : f32[B,3]\n  %1 = linear %0, @a0, @b0 : f32[B,2]\n"
        "  %2 = leaky_relu %1 {alpha=0.1} : f32[B,2]\n  %3 = linear %2, @c0 : f32[B,1]\n"
        "  %4 = slice %x {dim=1, start=3, end=6, step=1} : f32[B,3]\n  %5 = linear %4, @a1, @b1 : f32[B,2]\n"
        "  %6 = leaky_relu %5 {alpha=0.1} : f32[B,2]\n  %7 = linear %6, @c1 : f32[B,1]\n"
        "  %8 = slice %x {dim=1, start=6, end=9, step=1} : f32[B,3]\n  %9 = linear %8, @a2, @b2 : f32[B,2]\n"
        "  %10 = leaky_relu %9 {alpha=0.2} : f32[B,2]\n  %11 = linear %10, @c2 : f32[B,1]\n"
        "  %12 = concat %3, %7, %11 {dim=1} : f32[B,3]\n  return %12\n}\n";
    check("hfuse,concat_elim,dce", in,
          "param @a0.grouped3 : f32[3,2,3]\nparam @b0.grouped3 : f32[3,2]\nparam @c0 : f32[1,2]\nparam @c1 : f32[1,2]\n"
          "param @c2 : f32[1,2]\n\nfunc @f(%x: f32[B,9]) {\n  %0 = reshape %x {shape=[B,3,3]} : f32[B,3,3]\n"
          "  %1 = grouped_linear %0, @a0.grouped3, @b0.grouped3 {shared=false} : f32[B,3,2]\n"
          "  %2 = slice %1 {dim=1, start=0, end=1, step=1} : f32[B,1,2]\n  %3 = reshape %2 {shape=[B,2]} : f32[B,2]\n"
          "  %4 = slice %1 {dim=1, start=1, end=2, step=1} : f32[B,1,2]\n  %5 = reshape %4 {shape=[B,2]} : f32[B,2]\n"
          "  %6 = slice %1 {dim=1, start=2, end=3, step=1} : f32[B,1,2]\n  %7 = reshape %6 {shape=[B,2]} : f32[B,2]\n"
          "  %8 = leaky_relu %3 {alpha=0.1} : f32[B,2]\n  %9 = linear %8, @c0 : f32[B,1]\n"
          "  %10 = leaky_relu %5 {alpha=0.1} : f32[B,2]\n  %11 = linear %10, @c1 : f32[B,1]\n"
          "  %12 = leaky_relu %7 {alpha=0.2} : f32[B,2]\n  %13 = linear %12, @c2 : f32[B,1]\n"
          "  %14 = concat %9, %11, %13 {dim=1} : f32[B,3]\n  return %14\n}\n");
}

static void test_hfuse_minimum_and_size_limit(void **state)
{
    (void)state;
    /* fewer branches than the minimum: untouched */
    opt_min_branches = 4;
    check("hfuse", pfcn3, pfcn3);
    opt_min_branches = 0;
    /* a limit of two branches' weights: groups of 2 and 1 (the 1 stays a
     * plain branch); the concat keeps the group as one piece */
    opt_max_bytes = 2 * (6 + 2) * sizeof(float);
    check("hfuse,concat_elim,dce", pfcn3,
          "param @a0.grouped2 : f32[2,2,3]\nparam @b0.grouped2 : f32[2,2]\nparam @c0.grouped2 : f32[2,1,2]\n"
          "param @a2 : f32[2,3]\nparam @b2 : f32[2]\nparam @c2 : f32[1,2]\n\n"
          "func @f(%x: f32[B,9]) {\n"
          "  %0 = slice %x {dim=1, start=0, end=6, step=1} : f32[B,6]\n"
          "  %1 = reshape %0 {shape=[B,2,3]} : f32[B,2,3]\n"
          "  %2 = grouped_linear %1, @a0.grouped2, @b0.grouped2 {shared=false} : f32[B,2,2]\n"
          "  %3 = relu %2 : f32[B,2,2]\n"
          "  %4 = grouped_linear %3, @c0.grouped2 {shared=false} : f32[B,2,1]\n"
          "  %5 = slice %x {dim=1, start=6, end=9, step=1} : f32[B,3]\n  %6 = linear %5, @a2, @b2 : f32[B,2]\n"
          "  %7 = relu %6 : f32[B,2]\n  %8 = linear %7, @c2 : f32[B,1]\n"
          "  %9 = reshape %4 {shape=[B,2]} : f32[B,2]\n  %10 = concat %9, %8 {dim=1} : f32[B,3]\n"
          "  return %10\n}\n");
    opt_max_bytes = 0;
}

static void test_hfuse_shared_input_and_shape_classes(void **state)
{
    (void)state;
    /* four heads on one input, two of width 2 and two of width 3: one
     * shared grouped product per shape class, each branch's end a view;
     * the scalar multiply follows the branches in lockstep */
    check("hfuse,dce",
          "param @p : f32[2,4]\nparam @q : f32[2,4]\nparam @r : f32[3,4]\nparam @s : f32[3,4]\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = scalar {value=0.5} : f32[]\n"
          "  %1 = linear %x, @p : f32[B,2]\n  %2 = mul %1, %0 : f32[B,2]\n"
          "  %3 = linear %x, @q : f32[B,2]\n  %4 = mul %3, %0 : f32[B,2]\n"
          "  %5 = linear %x, @r : f32[B,3]\n  %6 = linear %x, @s : f32[B,3]\n"
          "  %7 = add %2, %4 : f32[B,2]\n  return %7, %5, %6\n}\n",
          "param @p.grouped2 : f32[2,2,4]\nparam @r.grouped2 : f32[2,3,4]\n\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = grouped_linear %x, @p.grouped2 {shared=true} : f32[B,2,2]\n"
          "  %1 = scalar {value=0.5} : f32[]\n  %2 = mul %0, %1 : f32[B,2,2]\n"
          "  %3 = slice %2 {dim=1, start=0, end=1, step=1} : f32[B,1,2]\n  %4 = reshape %3 {shape=[B,2]} : f32[B,2]\n"
          "  %5 = slice %2 {dim=1, start=1, end=2, step=1} : f32[B,1,2]\n  %6 = reshape %5 {shape=[B,2]} : f32[B,2]\n"
          "  %7 = grouped_linear %x, @r.grouped2 {shared=true} : f32[B,2,3]\n"
          "  %8 = slice %7 {dim=1, start=0, end=1, step=1} : f32[B,1,3]\n  %9 = reshape %8 {shape=[B,3]} : f32[B,3]\n"
          "  %10 = slice %7 {dim=1, start=1, end=2, step=1} : f32[B,1,3]\n  %11 = reshape %10 {shape=[B,3]} : f32[B,3]\n"
          "  %12 = add %4, %6 : f32[B,2]\n  return %12, %9, %11\n}\n");
}

static void test_accumulate_folds_sibling_convs(void **state)
{
    (void)state;
    /* seed 001: stack(branches).sum(0) over convs of one input: one conv */
    check("accumulate",
          "param @w0 : f32[2,1,3]\nparam @b0 : f32[2]\nparam @w1 : f32[2,1,3]\nparam @b1 : f32[2]\n"
          "param @w2 : f32[2,1,3]\n\n"
          "func @f(%x: f32[B,1,5]) {\n"
          "  %0 = conv1d %x, @w0, @b0 {stride=[1], padding=[1], dilation=[1], groups=1} : f32[B,2,5]\n"
          "  %1 = conv1d %x, @w1, @b1 {stride=[1], padding=[1], dilation=[1], groups=1} : f32[B,2,5]\n"
          "  %2 = conv1d %x, @w2 {stride=[1], padding=[1], dilation=[1], groups=1} : f32[B,2,5]\n"
          "  %3 = stack %0, %1, %2 {dim=0} : f32[3,B,2,5]\n"
          "  %4 = mean %3 {dims=[0], keepdim=false} : f32[B,2,5]\n  return %4\n}\n",
          "param @w0.summed3 : f32[2,1,3]\nparam @w0.summed3_bias : f32[2]\n\n"
          "func @f(%x: f32[B,1,5]) {\n"
          "  %0 = conv1d %x, @w0.summed3, @w0.summed3_bias {stride=[1], padding=[1], dilation=[1], groups=1} "
          ": f32[B,2,5]\n  return %0\n}\n");
}

static void test_accumulate_k_concatenation_and_leftovers(void **state)
{
    (void)state;
    /* linears on different inputs: one product with the branches along K;
     * a relu branch is added in; a conv of another geometry stays apart */
    check("accumulate",
          "param @p : f32[3,2]\nparam @pb : f32[3]\nparam @q : f32[3,4]\nparam @qb : f32[3]\n\n"
          "func @f(%a: f32[B,2], %b: f32[B,4], %c: f32[B,3]) {\n"
          "  %0 = linear %a, @p, @pb : f32[B,3]\n  %1 = relu %c : f32[B,3]\n  %2 = linear %b, @q, @qb : f32[B,3]\n"
          "  %3 = add %0, %1 : f32[B,3]\n  %4 = add %3, %2 : f32[B,3]\n  return %4\n}\n",
          "param @p.kcat2 : f32[3,6]\nparam @p.kcat2_bias : f32[3]\n\n"
          "func @f(%a: f32[B,2], %b: f32[B,4], %c: f32[B,3]) {\n"
          "  %0 = relu %c : f32[B,3]\n  %1 = concat %a, %b {dim=1} : f32[B,6]\n"
          "  %2 = linear %1, @p.kcat2, @p.kcat2_bias : f32[B,3]\n  %3 = add %2, %0 : f32[B,3]\n  return %3\n}\n");
}

static void test_accumulate_beside_a_broadcast_bias(void **state)
{
    (void)state;
    /* NAM's `out = self.bias; out = out + f(x_i)`: the bias is a summand of
     * its own and the branches beside it still become one product */
    check("accumulate",
          "param @bias : f32[1]\nparam @p : f32[1,2]\nparam @q : f32[1,4]\n\n"
          "func @f(%a: f32[B,2], %b: f32[B,4]) {\n"
          "  %0 = linear %a, @p : f32[B,1]\n  %1 = add @bias, %0 : f32[B,1]\n  %2 = linear %b, @q : f32[B,1]\n"
          "  %3 = add %1, %2 : f32[B,1]\n  return %3\n}\n",
          "param @p.kcat2 : f32[1,6]\nparam @bias : f32[1]\n\n"
          "func @f(%a: f32[B,2], %b: f32[B,4]) {\n"
          "  %0 = concat %a, %b {dim=1} : f32[B,6]\n  %1 = linear %0, @p.kcat2 : f32[B,1]\n"
          "  %2 = add @bias, %1 : f32[B,1]\n  return %2\n}\n");
}

static void test_accumulate_stack_without_folding(void **state)
{
    (void)state;
    /* nothing to fold: the stack still goes, the sum is an accumulation */
    check("accumulate",
          "func @f(%a: f32[B,3], %b: f32[B,3], %c: f32[B,3]) {\n"
          "  %0 = relu %a : f32[B,3]\n  %1 = tanh %b : f32[B,3]\n"
          "  %2 = stack %0, %1, %c {dim=0} : f32[3,B,3]\n  %3 = mean %2 {dims=[0], keepdim=false} : f32[B,3]\n"
          "  return %3\n}\n",
          "func @f(%a: f32[B,3], %b: f32[B,3], %c: f32[B,3]) {\n"
          "  %0 = relu %a : f32[B,3]\n  %1 = tanh %b : f32[B,3]\n  %2 = add %0, %1 : f32[B,3]\n"
          "  %3 = add %2, %c : f32[B,3]\n  %4 = scalar {value=0.3333333333333333} : f32[]\n"
          "  %5 = mul %3, %4 : f32[B,3]\n  return %5\n}\n");
    /* a residual add of unrelated values is left as it is */
    const char *res = "func @f(%a: f32[B,3], %b: f32[B,3]) {\n  %0 = relu %a : f32[B,3]\n"
                      "  %1 = add %0, %b : f32[B,3]\n  return %1\n}\n";
    check("accumulate", res, res);
}

/* A corpus model at -O0 and -O2 over the same weights and inputs. */
typedef struct compiled {
    sf_graph *o0;
    sf_module o2;
    sf_tensor_set *in;
} compiled;

static void compile_both(compiled *c, const char *file, const char *model, const char *input)
{
    char path[1024], *src;
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/%s", SF_MODELS, file);
    assert_int_equal(sf_read_file(path, &src, &len, &e), SF_OK);
    const char *inputs[1] = {input};
    sf_py_options o = {model, inputs, 1, NULL, 0, 0, NULL};
    sf_py_model *a = sf_py_compile(path, src, len, &o, &e), *b = sf_py_compile(path, src, len, &o, &e);
    free(src);
    if (!a || !b)
        fail_msg("%s", e.msg);
    c->in = sf_tensors_new();
    c->o2 = (sf_module){.g = b->graph, .weights = sf_tensors_new()};
    assert_int_equal(sf_py_init_weights(a, 5, c->o2.weights, &e), SF_OK);
    assert_int_equal(sf_random_inputs(a->graph, 2, 9, c->in, &e), SF_OK);
    c->o0 = a->graph;
    a->graph = b->graph = NULL; /* the graphs outlive their models */
    sf_py_model_free(a);
    sf_py_model_free(b);
    sf_pipeline_opts o2 = {.opt_level = 2, .verify_each = true};
    if (sf_run_pipeline(&c->o2, &o2, &e) != SF_OK)
        fail_msg("%s", e.msg);
}

static int count_op(const sf_graph *g, sf_opcode op)
{
    int n = 0;
    for (size_t i = 0; i < g->nodes.len; i++)
        n += ((const sf_node *)g->nodes.items[i])->op == op;
    return n;
}

static sf_tensor_set *run_graph(const sf_graph *g, sf_tensor_set *in, sf_tensor_set *w)
{
    sf_error e = {0};
    sf_tensor_set *out = sf_tensors_new();
    if (sf_interp_run(g, 2, in, w, out, &e) != SF_OK)
        fail_msg("%s", e.msg);
    return out;
}

static void free_compiled(compiled *c)
{
    sf_graph_free(c->o0);
    sf_graph_free(c->o2.g);
    sf_tensors_free(c->o2.weights);
    sf_tensors_free(c->in);
}

static void test_parallel_fcn_1000(void **state)
{
    (void)state;
    compiled c;
    compile_both(&c, "parallel_fcn.py", "ParallelFCN(1000)", "x=f32[B,20000]");
    assert_int_equal(count_op(c.o0, SF_OP_LINEAR), 2000);
    assert_int_equal(count_op(c.o2.g, SF_OP_SLICE), 0);
    assert_int_equal(count_op(c.o2.g, SF_OP_CONCAT), 0);
    assert_int_equal(count_op(c.o2.g, SF_OP_LINEAR), 0);
    assert_int_equal(count_op(c.o2.g, SF_OP_GROUPED_LINEAR), 1); /* fc2 after fc1, composed */
    sf_tensor_set *a = run_graph(c.o0, c.in, c.o2.weights), *b = run_graph(c.o2.g, c.in, c.o2.weights);
    const sf_tensor *ta = a->tensors.items[0], *tb = b->tensors.items[0];
    assert_int_equal(sf_tensor_numel(ta), 2 * 1000);
    assert_close(tb->data, ta->data, sf_tensor_numel(ta), 1e-5, 1e-6);
    sf_tensors_free(a), sf_tensors_free(b);
    free_compiled(&c);
}

static void test_conv_pfcn_and_parallel_fcn_agree(void **state)
{
    (void)state;
    enum { N = 50 };
    compiled p, q;
    compile_both(&p, "parallel_fcn.py", "ParallelFCN(50)", "x=f32[B,1000]");
    compile_both(&q, "conv_pfcn.py", "ConvolutionalPFCN(50)", "x=f32[B,1000]");
    /* the hand-written model's grouped 1-wide convs over one position are the
     * same grouped product as ParallelFCN's (fc2 after fc1 composed), op for op; -O2 keeps its numbers */
    assert_int_equal(count_op(q.o2.g, SF_OP_CONV1D), 0);
    assert_int_equal(count_op(q.o2.g, SF_OP_GROUPED_LINEAR), 1);
    assert_int_equal(q.o2.g->nodes.len, p.o2.g->nodes.len);
    for (size_t i = 0; i < p.o2.g->nodes.len; i++) {
        const sf_node *a = p.o2.g->nodes.items[i], *b = q.o2.g->nodes.items[i];
        assert_int_equal(a->op, b->op);
        assert_true(sf_type_equal(&a->out[0]->type, &b->out[0]->type));
    }
    assert_int_equal(count_op(q.o2.g, SF_OP_CONCAT) + count_op(q.o2.g, SF_OP_SLICE), 0);
    sf_tensor_set *q0 = run_graph(q.o0, q.in, q.o2.weights), *q2 = run_graph(q.o2.g, q.in, q.o2.weights);
    assert_close(((sf_tensor *)q2->tensors.items[0])->data, ((sf_tensor *)q0->tensors.items[0])->data, 2 * N, 1e-5, 1e-6);
    /* ParallelFCN's weights rearranged as the grouped convs' weights */
    sf_error e = {0};
    sf_tensor_set *w = sf_tensors_new();
    float *w1 = malloc(sizeof *w1 * N * 200), *b1 = malloc(sizeof *b1 * N * 10), *w2 = malloc(sizeof *w2 * N * 10),
          *b2 = malloc(sizeof *b2 * N);
    for (int i = 0; i < N; i++) {
        char k[64];
        snprintf(k, sizeof k, "models.%d.fc1.weight", i);
        memcpy(w1 + i * 200, sf_tensors_get(p.o2.weights, k)->data, 200 * sizeof *w1);
        snprintf(k, sizeof k, "models.%d.fc1.bias", i);
        memcpy(b1 + i * 10, sf_tensors_get(p.o2.weights, k)->data, 10 * sizeof *b1);
        snprintf(k, sizeof k, "models.%d.fc2.weight", i);
        memcpy(w2 + i * 10, sf_tensors_get(p.o2.weights, k)->data, 10 * sizeof *w2);
        snprintf(k, sizeof k, "models.%d.fc2.bias", i);
        b2[i] = sf_tensors_get(p.o2.weights, k)->data[0];
    }
    assert_non_null(sf_tensors_add(w, "layer1.weight", 3, (const int64_t[]){N * 10, 20, 1}, w1, &e));
    assert_non_null(sf_tensors_add(w, "layer1.bias", 1, (const int64_t[]){N * 10}, b1, &e));
    assert_non_null(sf_tensors_add(w, "layer2.weight", 3, (const int64_t[]){N, 10, 1}, w2, &e));
    assert_non_null(sf_tensors_add(w, "layer2.bias", 1, (const int64_t[]){N}, b2, &e));
    sf_tensor_set *pa = run_graph(p.o2.g, p.in, p.o2.weights), *qa = run_graph(q.o0, p.in, w);
    assert_close(((sf_tensor *)qa->tensors.items[0])->data, ((sf_tensor *)pa->tensors.items[0])->data, 2 * N, 1e-5, 1e-6);
    free(w1), free(b1), free(w2), free(b2);
    sf_tensors_free(w), sf_tensors_free(pa), sf_tensors_free(qa), sf_tensors_free(q0), sf_tensors_free(q2);
    free_compiled(&p);
    free_compiled(&q);
}

static void test_growing_layers_become_one_conv(void **state)
{
    (void)state;
    static const char *const models[] = {"GrowingLayer(4, 8, 4, 3)", "GrowingLayerInPlace(4, 8, 4, 3)",
                                         "GrowingLayer(4, 8, 64, 3)", "GrowingLayerInPlace(4, 8, 64, 3)"};
    for (int i = 0; i < 4; i++) {
        compiled c;
        compile_both(&c, "growing_layer.py", models[i], "x=f32[B,4,6,6]");
        assert_int_equal(count_op(c.o2.g, SF_OP_STACK), 0);
        assert_int_equal(count_op(c.o2.g, SF_OP_ADD), 0);
        assert_int_equal(count_op(c.o2.g, SF_OP_CONV2D), 1);
        sf_tensor_set *a = run_graph(c.o0, c.in, c.o2.weights), *b = run_graph(c.o2.g, c.in, c.o2.weights);
        const sf_tensor *ta = a->tensors.items[0];
        assert_close(((sf_tensor *)b->tensors.items[0])->data, ta->data, sf_tensor_numel(ta), 1e-5, 1e-5);
        sf_tensors_free(a), sf_tensors_free(b);
        free_compiled(&c);
    }
}

static void test_hfuse_sibling_convs_widen(void **state)
{
    (void)state;
    /* Inception-style: three convs of one geometry on x become one wider
     * conv; the concat of their channels is that conv; the 1x1 stays */
    check("hfuse,concat_elim,canonicalize,dce",
          "param @a : f32[2,3,3,3]\nparam @ab : f32[2]\nparam @b : f32[2,3,3,3]\nparam @bb : f32[2]\n"
          "param @c : f32[2,3,3,3]\nparam @cb : f32[2]\nparam @d : f32[2,3,1,1]\n\n"
          "func @f(%x: f32[B,3,6,6]) {\n"
          "  %0 = conv2d %x, @a, @ab {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,2,6,6]\n"
          "  %1 = conv2d %x, @b, @bb {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,2,6,6]\n"
          "  %2 = conv2d %x, @c, @cb {stride=[1,1], padding=[1,1], dilation=[1,1], groups=1} : f32[B,2,6,6]\n"
          "  %3 = conv2d %x, @d {stride=[1,1], padding=[0,0], dilation=[1,1], groups=1} : f32[B,2,6,6]\n"
          "  %4 = concat %0, %1, %2, %3 {dim=1} : f32[B,8,6,6]\n  %5 = relu %1 : f32[B,2,6,6]\n"
          "  return %4, %5\n}\n",
          "param @a.grouped3.folded : f32[6,3,3,3]\nparam @ab.grouped3.folded : f32[6]\nparam @d : f32[2,3,1,1]\n\n"
          "func @f(%x: f32[B,3,6,6]) {\n"
          "  %0 = conv2d %x, @a.grouped3.folded, @ab.grouped3.folded {stride=[1,1], padding=[1,1], dilation=[1,1], "
          "groups=1} : f32[B,6,6,6]\n"
          "  %1 = slice %0 {dim=1, start=2, end=4, step=1} : f32[B,2,6,6]\n"
          "  %2 = conv2d %x, @d {stride=[1,1], padding=[0,0], dilation=[1,1], groups=1} : f32[B,2,6,6]\n"
          "  %3 = concat %0, %2 {dim=1} : f32[B,8,6,6]\n  %4 = relu %1 : f32[B,2,6,6]\n  return %3, %4\n}\n");
}

static void test_vfuse_marks(void **state)
{
    (void)state;
    /* a product with its epilogue (bias-like add of a constant, activation),
     * a small per-group chain as one region, a lone op unmarked */
    check("vfuse",
          "param @w : f32[4,4]\nparam @c : f32[4]\nparam @g1 : f32[3,5,4]\nparam @g2 : f32[3,2,5]\n\n"
          "func @f(%x: f32[B,4], %y: f32[B,3,4]) {\n"
          "  %0 = linear %x, @w : f32[B,4]\n  %1 = add %0, @c : f32[B,4]\n  %2 = gelu %1 : f32[B,4]\n"
          "  %3 = tanh %x : f32[B,4]\n"
          "  %4 = grouped_linear %y, @g1 {shared=false} : f32[B,3,5]\n  %5 = relu %4 : f32[B,3,5]\n"
          "  %6 = grouped_linear %5, @g2 {shared=false} : f32[B,3,2]\n  return %2, %3, %6\n}\n",
          "param @w : f32[4,4]\nparam @c : f32[4]\nparam @g1 : f32[3,5,4]\nparam @g2 : f32[3,2,5]\n\n"
          "func @f(%x: f32[B,4], %y: f32[B,3,4]) {\n"
          "  %0 = linear %x, @w : f32[B,4] [region 1]\n  %1 = add %0, @c : f32[B,4] [region 1]\n"
          "  %2 = gelu %1 : f32[B,4] [region 1]\n  %3 = tanh %x : f32[B,4]\n"
          "  %4 = grouped_linear %y, @g1 {shared=false} : f32[B,3,5] [region 2]\n"
          "  %5 = relu %4 : f32[B,3,5] [region 2]\n"
          "  %6 = grouped_linear %5, @g2 {shared=false} : f32[B,3,2] [region 2]\n  return %2, %3, %6\n}\n");
    /* a shared grouped product, its activation and the sum over its groups (reshape, linear,
     * its relu); a second one whose reshape is read twice, and a third whose groups are
     * wider than 256: their sums stay out */
    check("vfuse",
          "param @g : f32[2,3,4]\nparam @s : f32[5,6]\nparam @h : f32[2,300,4]\nparam @t : f32[5,600]\n\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = grouped_linear %x, @g {shared=true} : f32[B,2,3]\n  %1 = tanh %0 : f32[B,2,3]\n"
          "  %2 = reshape %1 {shape=[B,6]} : f32[B,6]\n  %3 = linear %2, @s : f32[B,5]\n  %4 = relu %3 : f32[B,5]\n"
          "  %5 = grouped_linear %x, @g {shared=true} : f32[B,2,3]\n  %6 = reshape %5 {shape=[B,6]} : f32[B,6]\n"
          "  %7 = linear %6, @s : f32[B,5]\n"
          "  %8 = grouped_linear %x, @h {shared=true} : f32[B,2,300]\n  %9 = reshape %8 {shape=[B,600]} : f32[B,600]\n"
          "  %10 = linear %9, @t : f32[B,5]\n  return %4, %7, %6, %10\n}\n",
          "param @g : f32[2,3,4]\nparam @s : f32[5,6]\nparam @h : f32[2,300,4]\nparam @t : f32[5,600]\n\n"
          "func @f(%x: f32[B,4]) {\n"
          "  %0 = grouped_linear %x, @g {shared=true} : f32[B,2,3] [region 1]\n  %1 = tanh %0 : f32[B,2,3] [region 1]\n"
          "  %2 = reshape %1 {shape=[B,6]} : f32[B,6] [region 1]\n  %3 = linear %2, @s : f32[B,5] [region 1]\n"
          "  %4 = relu %3 : f32[B,5] [region 1]\n"
          "  %5 = grouped_linear %x, @g {shared=true} : f32[B,2,3]\n  %6 = reshape %5 {shape=[B,6]} : f32[B,6]\n"
          "  %7 = linear %6, @s : f32[B,5]\n"
          "  %8 = grouped_linear %x, @h {shared=true} : f32[B,2,300]\n  %9 = reshape %8 {shape=[B,600]} : f32[B,600]\n"
          "  %10 = linear %9, @t : f32[B,5]\n  return %4, %7, %6, %10\n}\n");
    assert_contains(parse_error("func @f(%x: f32[B,4]) {\n  %0 = relu %x : f32[B,4] [region 0]\n  return %0\n}\n"),
                    "region numbers start at 1");
    assert_contains(parse_error("func @f(%x: f32[B,4]) {\n  %0 = relu %x : f32[B,4] [fusion 1]\n  return %0\n}\n"),
                    "expected 'region'");
}

static sf_memplan plan_of(const char *ir)
{
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "plan.sfir", &e);
    sf_memplan p = {0};
    if (!g || sf_memplan_build(g, &p, &e) != SF_OK)
        fail_msg("%s", e.msg);
    sf_graph_free(g);
    return p;
}

static void test_memplan_reuse_inplace_and_views(void **state)
{
    (void)state;
    /* three products in a chain: two buffers take turns (each 256 B/row) */
    sf_memplan p = plan_of("param @w : f32[64,64]\n\nfunc @f(%x: f32[B,64]) {\n"
                           "  %0 = linear %x, @w : f32[B,64]\n  %1 = linear %0, @w : f32[B,64]\n"
                           "  %2 = linear %1, @w : f32[B,64]\n  return %2\n}\n");
    assert_int_equal(p.row_bytes, 2 * 256);
    assert_int_equal(p.naive_row_bytes, 3 * 256);
    sf_memplan_free(&p);
    /* elementwise ops write over the operand that dies there; views cost nothing */
    p = plan_of("func @f(%x: f32[B,64]) {\n  %0 = relu %x : f32[B,64]\n  %1 = tanh %0 : f32[B,64]\n"
                "  %2 = reshape %1 {shape=[B,8,8]} : f32[B,8,8]\n  %3 = sigmoid %2 : f32[B,8,8]\n"
                "  %4 = slice %3 {dim=1, start=0, end=4, step=1} : f32[B,4,8]\n  return %4\n}\n");
    assert_int_equal(p.row_bytes, 256);
    assert_int_equal(p.inplace, 2);
    sf_memplan_free(&p);
    /* two products computed only for a concat write into its slots: one buffer */
    p = plan_of("param @u : f32[16,4]\nparam @v : f32[32,4]\n\nfunc @f(%x: f32[B,4]) {\n"
                "  %0 = linear %x, @u : f32[B,16]\n  %1 = linear %x, @v : f32[B,32]\n"
                "  %2 = concat %0, %1 {dim=1} : f32[B,48]\n  %3 = relu %2 : f32[B,48]\n  return %3\n}\n");
    assert_int_equal(p.slots, 2);
    assert_int_equal(p.home[3], SF_HOME_SLOT); /* value ids: @u, @v, %x, %0, %1, ... */
    assert_int_equal(p.home[4], SF_HOME_SLOT);
    assert_int_equal(p.slot_start[4], 16);
    assert_int_equal(p.row_bytes, 192);
    assert_int_equal(p.inplace, 1);
    sf_memplan_free(&p);
    /* a value without the batch dim goes to the fixed arena */
    p = plan_of("param @a : f32[4]\nparam @b : f32[4]\n\nfunc @f(%x: f32[B,4]) {\n"
                "  %0 = add @a, @b : f32[4]\n  %1 = mul %x, %0 : f32[B,4]\n  return %1\n}\n");
    assert_int_equal(p.fixed_bytes, 64);
    assert_int_equal(p.row_bytes, 64);
    sf_memplan_free(&p);
}

static void test_growing_layer_peak_does_not_grow(void **state)
{
    (void)state;
    static const char *const models[2][2] = {{"GrowingLayer(16, 32, 4, 3)", "GrowingLayer(16, 32, 64, 3)"},
                                             {"GrowingLayerInPlace(16, 32, 4, 3)", "GrowingLayerInPlace(16, 32, 64, 3)"}};
    for (int kind = 0; kind < 2; kind++) {
        size_t peak[2][2];
        for (int i = 0; i < 2; i++) {
            compiled c;
            sf_error e = {0};
            sf_memplan p0 = {0}, p2 = {0};
            compile_both(&c, "growing_layer.py", models[kind][i], "x=f32[B,16,32,32]");
            assert_int_equal(sf_memplan_build(c.o0, &p0, &e), SF_OK);
            assert_int_equal(sf_memplan_build(c.o2.g, &p2, &e), SF_OK);
            peak[i][0] = p0.row_bytes;
            peak[i][1] = p2.row_bytes;
            sf_memplan_free(&p0), sf_memplan_free(&p2);
            free_compiled(&c);
        }
        assert_int_equal(peak[0][1], 32 * 32 * 32 * 4); /* one conv output per batch row */
        assert_int_equal(peak[1][1], peak[0][1]);
        if (kind == 0) /* stacking every branch grows with the layers without the passes */
            assert_true(peak[1][0] > 10 * peak[0][1]);
    }
}

static void test_manager_options(void **state)
{
    (void)state;
    sf_error e = {0};
    const char *ir = "func @f(%x: f32[B,4]) {\n  %0 = relu %x : f32[B,4]\n  return %0\n}\n";
    sf_graph *g = sf_parse(ir, strlen(ir), "t", &e);
    sf_module m = {.g = g, .weights = sf_tensors_new()};
    sf_pipeline_opts o = {.passes = "canonicalize,frob"};
    assert_int_equal(sf_run_pipeline(&m, &o, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "unknown pass 'frob'");
    sf_pipeline_opts p = {.opt_level = 2, .print_after = "nope"};
    assert_int_equal(sf_run_pipeline(&m, &p, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "print_after (--print-after): unknown pass 'nope'");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sf_pipeline_opts q = {.opt_level = 2, .print_after_all = true, .time_passes = true, .print_to = f};
    assert_int_equal(sf_run_pipeline(&m, &q, &e), SF_OK);
    fclose(f);
    assert_contains(buf, "# *** IR after canonicalize (pass 1 of ");
    assert_contains(buf, "***\nfunc @f");
    assert_contains(buf, "# *** IR after dce (pass ");
    assert_contains(buf, "# *** IR after vfuse (pass ");
    assert_contains(buf, "# pass cse ");
    free(buf);
    sf_tensors_free(m.weights);
    sf_graph_free(m.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dce),
        cmocka_unit_test(test_use_counts),
        cmocka_unit_test(test_pipeline_runs_dce_after_passes),
        cmocka_unit_test(test_cse),
        cmocka_unit_test(test_views_become_one_reshape),
        cmocka_unit_test(test_noops_go_away),
        cmocka_unit_test(test_batchnorm_folds_into_conv_and_linear),
        cmocka_unit_test(test_batchnorm_not_folded_when_conv_is_shared),
        cmocka_unit_test(test_shared_grouped_product_becomes_dense),
        cmocka_unit_test(test_constant_folding),
        cmocka_unit_test(test_compose_affine_pairs),
        cmocka_unit_test(test_compose_grouped),
        cmocka_unit_test(test_compose_refusals),
        cmocka_unit_test(test_hfuse_windows_and_concat),
        cmocka_unit_test(test_hfuse_keeps_activation_attributes_apart),
        cmocka_unit_test_setup(test_hfuse_minimum_and_size_limit, reset_options),
        cmocka_unit_test_setup(test_hfuse_shared_input_and_shape_classes, reset_options),
        cmocka_unit_test(test_accumulate_folds_sibling_convs),
        cmocka_unit_test(test_accumulate_k_concatenation_and_leftovers),
        cmocka_unit_test(test_accumulate_beside_a_broadcast_bias),
        cmocka_unit_test(test_accumulate_stack_without_folding),
        cmocka_unit_test(test_parallel_fcn_1000),
        cmocka_unit_test(test_conv_pfcn_and_parallel_fcn_agree),
        cmocka_unit_test(test_growing_layers_become_one_conv),
        cmocka_unit_test(test_hfuse_sibling_convs_widen),
        cmocka_unit_test(test_vfuse_marks),
        cmocka_unit_test(test_memplan_reuse_inplace_and_views),
        cmocka_unit_test(test_growing_layer_peak_does_not_grow),
        cmocka_unit_test(test_manager_options),
    };
    return cmocka_run_group_tests(tests, reset_options, NULL);
}
