/* The verifier's and the shape rules' refusals: each names the op, the
 * shapes and (from text) file:line:col. */
#include "testutil.h"

#include <string.h>

#define FN(sig, body) "func @f(" sig ") {\n" body "}\n"

static void test_linear_mismatch_names_both_shapes(void **state)
{
    (void)state;
    const char *msg = parse_error("param @w : f32[5,20]\n"
                                  FN("%x: f32[B,10]", "  %0 = linear %x, @w : f32[B,5]\n  return %0\n"));
    assert_contains(msg, "bad.sfir:3:8");
    assert_contains(msg, "linear");
    assert_contains(msg, "f32[B,10]");
    assert_contains(msg, "f32[5,20]");
}

static void test_shape_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *ir, *want;
    } cases[] = {
        {"param @w : f32[4,3,1]\n" FN("%x: f32[B,6,5]",
         "  %0 = conv1d %x, @w {stride=[1], padding=[0], dilation=[1], groups=4} : f32[B,4,5]\n  return %0\n"),
         "groups=4 must divide input channels 6"},
        {"param @w : f32[2,3,3]\n" FN("%x: f32[B,3,2]",
         "  %0 = conv1d %x, @w {stride=[1], padding=[0], dilation=[1], groups=1} : f32[B,2,1]\n  return %0\n"),
         "larger than padded input"},
        {"param @w : f32[2,3,3,3]\n" FN("%x: f32[B,3,8,8]",
         "  %0 = conv2d %x, @w {stride=[1], padding=[0,0], dilation=[1,1], groups=1} : f32[B,2,6,6]\n  return %0\n"),
         "need 2 value(s) each"},
        {FN("%a: f32[B,2,3], %b: f32[B,2,3]", "  %0 = matmul %a, %b : f32[B,2,3]\n  return %0\n"),
         "f32[B,2,3] @ f32[B,2,3]: inner dims differ"},
        {FN("%a: f32[B,3], %b: f32[B,4]", "  %0 = add %a, %b : f32[B,3]\n  return %0\n"),
         "add: f32[B,3] and f32[B,4] do not broadcast"},
        {FN("%a: f32[B,3], %b: f32[2,3]", "  %0 = mul %a, %b : f32[B,3]\n  return %0\n"),
         "do not broadcast"},
        {FN("%a: f32[B,3], %b: f16[B,3]", "  %0 = add %a, %b : f32[B,3]\n  return %0\n"), "dtypes must match"},
        {FN("%a: f32[B,3]", "  %0 = gt %a, %a : bool[B,3]\n  %1 = relu %0 : bool[B,3]\n  return %1\n"),
         "relu: operand 0 is the mask bool[B,3]; this op takes numbers"},
        {FN("%a: f32[B,3]", "  %0 = gt %a, %a : bool[B,3]\n  %1 = add %a, %0 : f32[B,3]\n  return %1\n"),
         "add: operand 1 is the mask bool[B,3]"},
        {FN("%a: f32[B,3]", "  %0 = where %a, %a, %a : f32[B,3]\n  return %0\n"),
         "where: the condition f32[B,3] must be bool"},
        {FN("%a: f32[B,3]", "  %0 = gt %a, %a : bool[B,3]\n  %1 = where %0, %0, %a : f32[B,3]\n  return %1\n"),
         "the two choices must have one dtype"},
        {FN("%a: f32[B,3], %b: f32[B,4]", "  %0 = gt %a, %a : bool[B,3]\n  %1 = where %0, %b, %b : f32[B,4]\n  return %1\n"),
         "do not broadcast"},
        {FN("%a: f32[B,3], %b: f32[B,4]", "  %0 = lt %a, %b : bool[B,3]\n  return %0\n"), "lt: f32[B,3] and f32[B,4] do not broadcast"},
        {FN("%a: f32[B,3]", "  %0 = full {shape=[2,-3], value=0} : f32[2,3]\n  return %0\n"), "shape dim 1 is -3"},
        {FN("%a: f32[B,3]", "  %0 = full {shape=[B,2,B], value=0} : f32[B,2,B]\n  return %0\n"), "batch dim B twice"},
        {FN("%a: f32[B]", "  %0 = tril %a {diagonal=0} : f32[B]\n  return %0\n"), "tril: f32[B] has fewer than 2 dims"},
        {FN("%a: f32[B]", "  %0 = iota {shape=[], dim=0} : f32[]\n  return %0\n"), "iota: dim 0 is not a dim of the shape"},
        {FN("%a: f32[B]", "  %0 = iota {shape=[B,2], dim=0} : f32[B,2]\n  return %0\n"), "or is the batch"},
        {FN("%a: f32[B,3], %i: f32[B]", "  %0 = gather %a, %i {dim=1} : f32[B,3]\n  return %0\n"),
         "gather: f32[B,3] and indices f32[B]: one rank"},
        {FN("%a: f32[B,3]", "  %0 = gt %a, %a : bool[B,3]\n  %1 = gather %a, %0 {dim=1} : f32[B,3]\n  return %1\n"),
         "gather: operand 1 is the mask bool[B,3]"},
        {FN("%a: f32[B,3], %i: f32[2,3]", "  %0 = gather %a, %i {dim=0} : f32[2,3]\n  return %0\n"),
         "gathering along the batch dim is not supported"},
        {FN("%a: f32[B,3,4], %i: f32[B,2,5]", "  %0 = gather %a, %i {dim=1} : f32[B,2,4]\n  return %0\n"),
         "do not broadcast in dim 2"},
        {FN("%a: f32[B,3]", "  %0 = softmax %a {dim=2} : f32[B,3]\n  return %0\n"), "dim=2 is out of range"},
        {FN("%a: f32[B,3]", "  %0 = slice %a {dim=1, start=2, end=5, step=1} : f32[B,1]\n  return %0\n"),
         "need 0 <= start <= end <= 3"},
        {FN("%a: f32[B,3]", "  %0 = slice %a {dim=0, start=0, end=1, step=1} : f32[1,3]\n  return %0\n"),
         "cannot slice the batch dim"},
        {FN("%a: f32[B,4]", "  %0, %1 = split %a {dim=1, sizes=[1,2]} : f32[B,1], f32[B,2]\n  return %0\n"),
         "sizes add up to 3 but dim 1 of f32[B,4] is 4"},
        {FN("%a: f32[B,4], %b: f32[B,3,1]", "  %0 = concat %a, %b {dim=1} : f32[B,7]\n  return %0\n"),
         "operand 1 f32[B,3,1] does not fit operand 0 f32[B,4]"},
        {FN("%a: f32[B,4], %b: f32[B,3]", "  %0 = stack %a, %b {dim=0} : f32[2,B,4]\n  return %0\n"),
         "operand 1 f32[B,3] differs from operand 0 f32[B,4]"},
        {FN("%a: f32[B,4]", "  %0 = sum %a {dims=[1,1], keepdim=false} : f32[B]\n  return %0\n"),
         "out of range or repeated"},
        {FN("%a: f32[B,4]", "  %0 = reshape %a {shape=[B,3]} : f32[B,3]\n  return %0\n"),
         "cannot reshape f32[B,4] to [B,3]"},
        {FN("%a: f32[B,4]", "  %0 = reshape %a {shape=[4,2]} : f32[4,2]\n  return %0\n"),
         "element counts differ"},
        {FN("%a: f32[B,4]", "  %0 = flatten %a {start=0, end=1} : f32[B]\n  return %0\n"),
         "cannot merge the batch dim B"},
        {FN("%a: f32[B,4]", "  %0 = squeeze %a {dims=[1]} : f32[B]\n  return %0\n"), "dim 1 of f32[B,4] is not 1"},
        {FN("%a: f32[B,4]", "  %0 = unsqueeze %a {dim=3} : f32[B,4,1]\n  return %0\n"), "dim=3 is out of range"},
        {FN("%a: f32[B,4]", "  %0 = transpose %a {dim0=0, dim1=2} : f32[B,4]\n  return %0\n"), "dim1=2"},
        {"param @m : f32[3]\nparam @v : f32[3]\nparam @g : f32[3]\n" FN("%a: f32[B,3]",
         "  %0 = batchnorm %a, @m, @v, @g {eps=1e-05} : f32[B,3]\n  return %0\n"), "either both weight and bias"},
        {"param @m : f32[4]\nparam @v : f32[3]\n" FN("%a: f32[B,3]",
         "  %0 = batchnorm %a, @m, @v {eps=1e-05} : f32[B,3]\n  return %0\n"), "operand 1 f32[4] does not fit input f32[B,3]"},
        {"param @g : f32[3]\n" FN("%a: f32[B,4]",
         "  %0 = layernorm %a, @g {ndim=1, eps=1e-05} : f32[B,4]\n  return %0\n"), "does not fit the last 1 dim(s)"},
        {"param @w : f32[3,2,5]\n" FN("%a: f32[B,4,5]",
         "  %0 = grouped_linear %a, @w {shared=false} : f32[B,4,2]\n  return %0\n"), "need [..., 3, 5]"},
        {"param @w : f32[3,2,5]\nparam @b : f32[3]\n" FN("%a: f32[B,5]",
         "  %0 = grouped_linear %a, @w, @b {shared=true} : f32[B,3,2]\n  return %0\n"), "bias f32[3] does not fit"},
        {FN("%a: f32[B,1], %b: f32[1,B]", "  %0 = add %a, %b : f32[B,B]\n  return %0\n"), "batch dim B twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_contains(parse_error(cases[i].ir), cases[i].want);
}

static void test_text_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *ir, *want;
    } cases[] = {
        {FN("%a: f32[B,4]", "  %0 = frobnicate %a : f32[B,4]\n  return %0\n"), "2:8: unknown op 'frobnicate'"},
        {FN("%a: f32[B,4]", "  %0 = relu %a, %a : f32[B,4]\n  return %0\n"), "relu takes 1 operand(s), got 2"},
        {FN("%a: f32[B,4]", "  %0 = relu %zz : f32[B,4]\n  return %0\n"), "2:13: %zz is not defined"},
        {FN("%a: f32[B,4]", "  %0 = add %a, @nope : f32[B,4]\n  return %0\n"), "parameter @nope is not declared"},
        {FN("%a: f32[B,4]", "  %0 = relu %a : f32[B,5]\n  return %0\n"),
         "relu result is stated as f32[B,5] but its operands give f32[B,4]"},
        {FN("%a: f32[B,4]", "  %0 = softmax %a : f32[B,4]\n  return %0\n"), "attribute 'dim' is missing"},
        {FN("%a: f32[B,4]", "  %0 = softmax %a {dim=1, axis=1} : f32[B,4]\n  return %0\n"), "no attribute 'axis'"},
        {FN("%a: f32[B,4]", "  %0 = softmax %a {dim=1, dim=1} : f32[B,4]\n  return %0\n"), "given twice"},
        {FN("%a: f32[B,4]", "  %0 = relu %a : f32[B,4]\n  %0 = relu %a : f32[B,4]\n  return %0\n"),
         "%0 is defined twice"},
        {"param @w : f32[2]\nparam @w : f32[3]\n" FN("%a: f32[B,4]", "  return %a\n"), "'w' declared twice"},
        {"param @w : f32[B,2]\n" FN("%a: f32[B,4]", "  return %a\n"), "parameters have fixed shapes"},
        {FN("%a: f32[B,B]", "  return %a\n"), "may hold the batch dim B once"},
        {FN("%a: f32[B,4]", "  %0 = relu %a : f32[B,4]\n"), "expected a statement or 'return'"},
        {FN("%a: f32[B,4]", "  return %a\n") "extra", "end of input after the function"},
        {"func @f(%a: f32[B,4]) {\n  return %a\n", "'}' to close the function"},
        {FN("%a: f64[B,4]", "  return %a\n"), "expected a type such as f32[B,10]"},
        {FN("%a: f32[B,-4]", "  return %a\n"), "negative dimension"},
        {FN("%a: f32[B,99999999999]", "  return %a\n"), "out of range"},
        {FN("%a: f32[1,2,3,4,5,6,7,8,9]", "  return %a\n"), "rank above 8"},
        {FN("%a: f32[B,4]", "  %0 = softmax %a {dim=x} : f32[B,4]\n  return %0\n"), "expected an integer"},
        {FN("%a: f32[B,4]", "  %0 = sum %a {dims=1, keepdim=false} : f32[B]\n  return %0\n"), "'[' to open a list"},
        {FN("%a: f32[B,4]", "  %0 = sum %a {dims=[1], keepdim=2} : f32[B]\n  return %0\n"), "takes true or false"},
        {FN("%a: f32[B,4]", "  %0 = relu %a : f32[B,4]\n  return %0 $\n"), "unexpected character '$'"},
        {FN("%\"unterminated: f32[B,4]", "  return %a\n"), "unterminated quoted name"},
        {FN("%a: f32[B,4]", "  %0 = input : f32[B,4]\n  return %0\n"), "made by declaring them"},
        {"", "expected 'param' or 'func', found end of input"},
        {"\x01", "unexpected byte 0x01"},
        {"func @\"a\tb\"() {\n  return %x\n}\n", "control byte 0x09 in a quoted name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_contains(parse_error(cases[i].ir), cases[i].want);
}

/* A graph edited behind the builder's back: the verifier must notice. */
static sf_graph *small_graph(sf_value **x, sf_value **r)
{
    sf_error e = {0};
    sf_graph *g = sf_graph_new("g");
    sf_type t = {SF_F32, 2, {SF_DIM_B, 4}};
    *x = sf_graph_input(g, "x", &t, &e);
    *r = sf_build1(g, SF_OP_RELU, *x, &e);
    sf_value *s = sf_build1(g, SF_OP_SIGMOID, *r, &e);
    assert_non_null(s);
    assert_int_equal(sf_graph_add_output(g, s, &e), SF_OK);
    assert_int_equal(sf_verify(g, &e), SF_OK);
    return g;
}

static void test_verifier_catches_edits(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_value *x, *r;

    sf_graph *g = small_graph(&x, &r);
    r->type.dim[1] = 5; /* a pass that wrote a wrong type */
    assert_int_equal(sf_verify(g, &e), SF_ERR_VERIFY);
    assert_contains(e.msg, "verify: node 1 (relu)");
    assert_contains(e.msg, "typed f32[B,5] but its operands give f32[B,4]");
    sf_graph_free(g);

    g = small_graph(&x, &r);
    void *tmp = g->nodes.items[1]; /* use before definition */
    g->nodes.items[1] = g->nodes.items[2];
    g->nodes.items[2] = tmp;
    assert_int_equal(sf_verify(g, &e), SF_ERR_VERIFY);
    assert_contains(e.msg, "used before it is defined");
    sf_graph_free(g);

    g = small_graph(&x, &r);
    sf_value *xo, *ro;
    sf_graph *other = small_graph(&xo, &ro);
    ((sf_node *)g->nodes.items[2])->in[0] = ro; /* an operand from another graph */
    assert_int_equal(sf_verify(g, &e), SF_ERR_VERIFY);
    assert_contains(e.msg, "not a value of this graph");
    sf_graph_free(other);
    sf_graph_free(g);

    g = small_graph(&x, &r);
    g->outputs.len = 0;
    assert_int_equal(sf_verify(g, &e), SF_ERR_VERIFY);
    assert_contains(e.msg, "returns nothing");
    sf_graph_free(g);

    g = small_graph(&x, &r);
    ((sf_node *)g->nodes.items[1])->nin = 2; /* operand count out of range */
    assert_int_equal(sf_verify(g, &e), SF_ERR_VERIFY);
    assert_contains(e.msg, "has 2 operands");
    sf_graph_free(g);
}

static void test_builder_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_graph *g = sf_graph_new("g");
    sf_type t = {SF_F32, 2, {SF_DIM_B, 4}}, big = {SF_F32, 1, {(int64_t)1 << 40}};
    sf_value *x = sf_graph_input(g, "x", &t, &e);
    assert_non_null(x);
    assert_null(sf_graph_input(g, "x", &t, &e));
    assert_contains(e.msg, "input 'x' declared twice");
    assert_null(sf_graph_param(g, "p", &big, &e));
    assert_contains(e.msg, "invalid type");
    assert_null(sf_build2(g, SF_OP_ADD, x, NULL, &e));
    assert_contains(e.msg, "operand 1 is missing");
    /* a failed node leaves the graph as it was */
    size_t before = g->nodes.len;
    sf_node *n = sf_node_begin(g, SF_OP_SOFTMAX, 1, &x, &e);
    assert_non_null(n);
    assert_int_equal(sf_node_finish(g, n, &e), SF_ERR_VERIFY);
    assert_contains(e.msg, "softmax: attribute 'dim' is missing");
    assert_int_equal(g->nodes.len, before);
    sf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_mismatch_names_both_shapes),
        cmocka_unit_test(test_shape_refusals),
        cmocka_unit_test(test_text_refusals),
        cmocka_unit_test(test_verifier_catches_edits),
        cmocka_unit_test(test_builder_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
