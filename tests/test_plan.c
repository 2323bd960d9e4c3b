/* The kernel plan's checker and its bytes (codegen/plan_verify.c,
 * codegen/plan_store.c): every golden model's plan passes and survives
 * the round trip byte for byte; each refusal is reached by a plan damaged
 * in one way; every prefix and many flipped bytes of a plan's bytes are
 * refused or read back to themselves; and a plan the checker accepts runs
 * to the same numbers, where values are moved to other places in the
 * arena, sharing bytes where their lives allow it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/plan.h"
#include "golden_case.h"
#include "ir/fileio.h"
#include "runtime/cpu.h"
#include "testutil.h"

/* tests/fixtures/plan.sfir: a chain, results written in place, two
 * kernels of one key over fixed values, views between two kernels */
static char *MODEL;

static sf_graph *parsed(const char *text)
{
    sf_error e = {0};
    sf_graph *g = sf_parse(text, strlen(text), "model", &e);
    if (!g)
        fail_msg("%s", e.msg);
    return g;
}

static void plan_of(const sf_graph *g, sf_plan *p)
{
    sf_error e = {0};
    if (sf_plan_build(g, p, &e) != SF_OK)
        fail_msg("%s", e.msg);
}

/* the kernel whose first member is node n's op, counting from `from` */
static size_t kernel_with(const sf_plan *p, sf_opcode op, size_t from)
{
    for (size_t k = from; k < p->nkernels; k++)
        if (((const sf_node *)p->g->nodes.items[p->kernels[k].first])->op == op)
            return k;
    fail_msg("no %s kernel", sf_ops[op].name);
    return 0;
}

/* the value made by the node at index i */
static int value_at(const sf_plan *p, int i) { return ((const sf_node *)p->g->nodes.items[i])->out[0]->id; }

static void refused(const sf_plan *p, const char *want, const char *what)
{
    sf_error e = {0};
    if (sf_plan_verify(p, &e) == SF_OK)
        fail_msg("%s: the plan passed", what);
    assert_int_equal(e.code, SF_ERR_VERIFY);
    if (!strstr(e.msg, want))
        fail_msg("%s: wanted '%s', got '%s'", what, want, e.msg);
}

static void test_the_model_plans_as_described(void **state)
{
    (void)state;
    sf_graph *g = parsed(MODEL);
    sf_plan p;
    plan_of(g, &p);
    size_t chain = kernel_with(&p, SF_OP_LINEAR, 0);
    assert_int_equal(p.kernels[chain].last - p.kernels[chain].first, 2); /* linear, relu, linear */
    assert_int_equal(p.nkernels, 7); /* chain, tanh, relu, relu, add, add, linear */
    assert_int_equal(p.ncodes, 6);  /* the two relus share one */
    assert_true(p.mem.inplace >= 2);
    assert_true(p.mem.fixed_bytes > 0);
    assert_true(p.unstored[value_at(&p, p.kernels[chain].first)]);
    sf_plan_free(&p);
    sf_graph_free(g);
}

/* each damage, on a fresh plan of MODEL, and the words that must name it */
typedef void (*damage_fn)(sf_plan *p);

static void overlap_kernels(sf_plan *p) { p->kernels[1].first = p->kernels[0].last; }
static void start_on_source(sf_plan *p) { p->kernels[0].first--; }
static void span_a_view(sf_plan *p) /* the second add through the views to the last linear */
{
    size_t a = kernel_with(p, SF_OP_ADD, kernel_with(p, SF_OP_ADD, 0) + 1), z = kernel_with(p, SF_OP_LINEAR, a);
    p->kernels[a].last = p->kernels[z].last;
    memmove(&p->kernels[z], &p->kernels[z + 1], (p->nkernels - z - 1) * sizeof *p->kernels);
    p->nkernels--;
}
static void chain_too_far(sf_plan *p) /* the chain runs on to the add of its result, which no chain has */
{
    size_t a = kernel_with(p, SF_OP_ADD, kernel_with(p, SF_OP_ADD, 0) + 1);
    p->kernels[0].last = p->kernels[a].last;
    memmove(&p->kernels[1], &p->kernels[a + 1], (p->nkernels - a - 1) * sizeof *p->kernels);
    p->nkernels -= a;
}
static void drop_last_kernel(sf_plan *p) { p->nkernels--; }
static void list_a_source(sf_plan *p) { p->kernel_of[0] = 0; }
static void keep_on_chip(sf_plan *p) { p->unstored[value_at(p, p->kernels[1].first)] = true; }
static void store_intermediate(sf_plan *p) { p->unstored[value_at(p, p->kernels[0].first)] = false; }
static void one_arg_less(sf_plan *p) { p->kernels[1].nargs--; }
static void wrong_value(sf_plan *p) { p->kernels[1].args[0].value = p->kernels[1].args[1].value; }
static void wrong_offset(sf_plan *p) { p->kernels[0].args[1].offset.c0 += 1; }
static void negative_flops(sf_plan *p) { p->kernels[1].flops.cb = -1; }
static void dnnl_not_a_conv(sf_plan *p) { p->kernels[1].lib = SF_LIB_DNNL_CONV; }
static void infinite_bytes(sf_plan *p) { p->kernels[1].bytes.c0 = INFINITY; }
static void too_many_codes(sf_plan *p) { p->ncodes = (int)p->nkernels + 1; }
static void code_of_another(sf_plan *p) { p->code_kernel[0] = 1; }
static void code_out_of_range(sf_plan *p) /* the second relu's: no code's own kernel */
{
    p->kernels[kernel_with(p, SF_OP_RELU, kernel_with(p, SF_OP_RELU, 0) + 1)].code = p->ncodes;
}
static void share_another_key(sf_plan *p) /* the second relu runs the tanh's code */
{
    size_t second = kernel_with(p, SF_OP_RELU, kernel_with(p, SF_OP_RELU, 0) + 1);
    p->kernels[second].code = p->kernels[kernel_with(p, SF_OP_TANH, 0)].code;
}
static void not_contiguous(sf_plan *p) { p->mem.contiguous = false; }
static void fixed_in_rows(sf_plan *p) { p->mem.home[value_at(p, p->kernels[kernel_with(p, SF_OP_RELU, 0)].first)] = SF_HOME_ROWS; }
static int a_view(const sf_plan *p)
{
    for (size_t i = 0; i < p->g->nodes.len; i++)
        if (((const sf_node *)p->g->nodes.items[i])->op == SF_OP_RESHAPE)
            return value_at(p, (int)i);
    fail_msg("no view");
    return 0;
}
static void view_elsewhere(sf_plan *p) { p->mem.alias_of[a_view(p)] = 0; }
static void view_with_offset(sf_plan *p) { p->mem.offset[a_view(p)] = 64; }
static int last_linear_value(const sf_plan *p)
{
    return value_at(p, p->kernels[kernel_with(p, SF_OP_LINEAR, 1)].first);
}
static void past_the_arena(sf_plan *p) { p->mem.offset[last_linear_value(p)] = p->mem.row_bytes; }
static void off_the_grid(sf_plan *p) { p->mem.offset[last_linear_value(p)] += 4; }
/* the last product's result over its own operand, which it is still reading */
static void over_a_live_operand(sf_plan *p)
{
    size_t k = kernel_with(p, SF_OP_LINEAR, 1);
    const sf_node *n = p->g->nodes.items[p->kernels[k].first];
    int operand = n->in[0]->id;
    while (p->mem.home[operand] == SF_HOME_VIEW)
        operand = p->mem.alias_of[operand];
    p->mem.offset[n->out[0]->id] = p->mem.offset[operand];
}
static void test_each_damage_is_refused(void **state)
{
    (void)state;
    static const struct {
        damage_fn fn;
        const char *name, *want;
    } cases[] = {
        {overlap_kernels, "kernels overlap", "spans nodes"},
        {start_on_source, "a kernel starts on a source", "does not begin and end on a node that computes"},
        {span_a_view, "a kernel spans views", "a chain that not every backend can run"},
        {chain_too_far, "a chain runs on to a binary op", "a chain that not every backend can run"},
        {drop_last_kernel, "a node without a kernel", "is in no kernel"},
        {list_a_source, "a source listed in a kernel", "is listed in kernel 0, not -1"},
        {keep_on_chip, "a result kept on chip", "is out of memory but is not a chain's intermediate"},
        {store_intermediate, "an intermediate in memory", "is in memory but is a chain's intermediate"},
        {one_arg_less, "an argument missing", "has the wrong number of arguments"},
        {wrong_value, "another value as an argument", "not the operand or result its place implies"},
        {wrong_offset, "an argument offset", "offset the kernel convention does not give"},
        {negative_flops, "negative flops", "negative or infinite cost"},
        {dnnl_not_a_conv, "oneDNN for a kernel that is no convolution", "names a library that does not run it"},
        {infinite_bytes, "infinite bytes", "negative or infinite cost"},
        {too_many_codes, "more codes than kernels", "codes for"},
        {code_of_another, "a code naming another's kernel", "does not name a kernel of its own"},
        {code_out_of_range, "a code past the last", "has no code"},
        {share_another_key, "one code for two keys", "shares code with a kernel of another key"},
        {not_contiguous, "a strided memory plan", "not a contiguous one"},
        {fixed_in_rows, "a fixed value in the row arena", "lives in the per-row arena, not the fixed arena"},
        {view_elsewhere, "a view of another value", "not its operand"},
        {view_with_offset, "a view with an offset", "has an offset, alias or slot that a view does not use"},
        {past_the_arena, "a value past the arena", "lies outside the per-row arena"},
        {off_the_grid, "a value off the 64-byte grid", "off a 64-byte boundary"},
        {over_a_live_operand, "a result over its live operand", "still reads"},
    };
    sf_graph *g = parsed(MODEL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sf_plan p;
        plan_of(g, &p);
        size_t nkernels = p.nkernels;
        sf_plan_kernel *kernels = malloc(nkernels * sizeof *kernels); /* the args arrays stay the plan's */
        memcpy(kernels, p.kernels, nkernels * sizeof *kernels);
        cases[i].fn(&p);
        refused(&p, cases[i].want, cases[i].name);
        memcpy(p.kernels, kernels, nkernels * sizeof *kernels);
        p.nkernels = nkernels;
        free(kernels);
        sf_plan_free(&p);
    }
    sf_graph_free(g);
}

/* a chain of 65 members is one more than any backend takes */
static void test_a_chain_of_65_is_refused(void **state)
{
    (void)state;
    char *text = malloc(8192);
    int n = sprintf(text, "param @w : f32[4,4]\nfunc @m(%%x: f32[B,4]) {\n  %%0 = linear %%x, @w : f32[B,4] [region 1]\n");
    for (int i = 1; i <= 64; i++)
        n += sprintf(text + n, "  %%%d = relu %%%d : f32[B,4] [region 1]\n", i, i - 1);
    sprintf(text + n, "  return %%64\n}\n");
    sf_graph *g = parsed(text);
    free(text);
    sf_plan p;
    plan_of(g, &p);
    assert_true(p.nkernels >= 2); /* the builder stops short of 64 */
    int keep = p.kernels[0].last;
    size_t nk = p.nkernels;
    p.kernels[0].last = p.kernels[nk - 1].last, p.nkernels = 1;
    refused(&p, "has more than 64 members", "a chain of 65");
    p.kernels[0].last = keep, p.nkernels = nk;
    sf_plan_free(&p);
    sf_graph_free(g);
}

/* a product whose result is read twice: no chain, and one forced is refused */
static void test_a_chain_over_a_shared_value_is_refused(void **state)
{
    (void)state;
    sf_graph *g = parsed("param @w : f32[4,4]\n"
                         "func @m(%x: f32[B,4]) {\n"
                         "  %0 = linear %x, @w : f32[B,4] [region 1]\n"
                         "  %1 = relu %0 : f32[B,4] [region 1]\n"
                         "  %2 = add %0, %1 : f32[B,4]\n"
                         "  return %2\n"
                         "}\n");
    sf_plan p;
    plan_of(g, &p);
    assert_int_equal(p.nkernels, 3);
    sf_plan_kernel k1 = p.kernels[1], k2 = p.kernels[2];
    p.kernels[0].last = k1.last, p.kernels[1] = k2, p.nkernels = 2; /* linear and relu as one */
    refused(&p, "do not each read only the one before", "a chain over a shared value");
    p.kernels[0].last = p.kernels[0].first, p.kernels[1] = k1, p.kernels[2] = k2, p.nkernels = 3;
    sf_plan_free(&p);
    sf_graph_free(g);
}

/* ---- bytes ---- */

static void encoded(const sf_plan *p, unsigned char **bytes, size_t *len)
{
    sf_error e = {0};
    if (sf_plan_encode(p, bytes, len, &e) != SF_OK)
        fail_msg("%s", e.msg);
}

/* decoding bytes either refuses them or reads a plan that encodes back to
 * exactly them: no byte goes unchecked or unused */
static bool reads_back(const sf_graph *g, const unsigned char *bytes, size_t len, sf_error *e)
{
    sf_plan q;
    if (sf_plan_decode(g, bytes, len, &q, e) != SF_OK) {
        assert_true(e->code == SF_ERR_FORMAT || e->code == SF_ERR_VERIFY);
        return false;
    }
    unsigned char *again;
    size_t n;
    encoded(&q, &again, &n);
    assert_int_equal(n, len);
    assert_memory_equal(again, bytes, len);
    free(again);
    sf_plan_free(&q);
    return true;
}

/* ---- chains that sum over the groups ---- */

/* two per-group products, then one over all groups through a reshape */
static const char SUM_MODEL[] = "param @w0 : f32[3,5,4]\n"
                                "param @b0 : f32[3,5]\n"
                                "param @w1 : f32[3,16,5]\n"
                                "param @w2 : f32[7,48]\n"
                                "param @b2 : f32[7]\n"
                                "func @m(%x: f32[B,3,4]) {\n"
                                "  %0 = grouped_linear %x, @w0, @b0 {shared=false} : f32[B,3,5] [region 1]\n"
                                "  %1 = relu %0 : f32[B,3,5] [region 1]\n"
                                "  %2 = grouped_linear %1, @w1 {shared=false} : f32[B,3,16] [region 1]\n"
                                "  %3 = tanh %2 : f32[B,3,16] [region 1]\n"
                                "  %4 = reshape %3 {shape=[B,48]} : f32[B,48] [region 1]\n"
                                "  %5 = linear %4, @w2, @b2 : f32[B,7] [region 1]\n"
                                "  %6 = relu %5 : f32[B,7] [region 1]\n"
                                "  %7 = sigmoid %6 : f32[B,7]\n"
                                "  %8 = add %7, %x2 : f32[B,7]\n"
                                "  return %8\n"
                                "}\n";

static sf_graph *sum_model(const char *extra_use)
{
    char text[2048];
    snprintf(text, sizeof text, "%s", SUM_MODEL);
    char *at = strstr(text, "  %8 = add %7, %x2 : f32[B,7]\n  return %8\n");
    snprintf(at, sizeof text - (size_t)(at - text), "%s", extra_use);
    return parsed(text);
}

static void test_a_chain_sums_over_groups(void **state)
{
    (void)state;
    sf_graph *g = sum_model("  return %7\n}\n");
    sf_plan p;
    plan_of(g, &p);
    assert_int_equal(p.nkernels, 2); /* the chain to the relu after the sum; the sigmoid */
    const sf_node *m[64];
    assert_int_equal(sf_plan_members(&p, &p.kernels[0], m), 6); /* the reshape is no member */
    assert_int_equal(p.kernels[0].first, 6);                       /* after the five params and x */
    assert_int_equal(p.kernels[0].last, 12);
    assert_int_equal(p.kernels[0].nargs, 3 + 1 + 2 + 1); /* x w0 b0, w1, w2 b2, the result */
    assert_int_equal(p.kernel_of[10], -1);               /* the reshape */
    const sf_value *flat = ((const sf_node *)g->nodes.items[10])->out[0];
    assert_true(p.unstored[flat->id]);
    assert_int_equal(p.mem.home[flat->id], SF_HOME_NONE);
    unsigned char *bytes;
    size_t len;
    encoded(&p, &bytes, &len);
    sf_error e = {0};
    assert_true(reads_back(g, bytes, len, &e));
    free(bytes);
    sf_plan_free(&p);
    sf_graph_free(g);
}

/* the reshape read twice: the planner keeps the groups' results, and a
 * plan that chains over it anyway is refused */
static void test_a_sum_over_a_shared_view_is_refused(void **state)
{
    (void)state;
    sf_graph *g = sum_model("  %8 = reshape %4 {shape=[B,3,16]} : f32[B,3,16]\n  return %7, %8\n}\n");
    sf_plan p;
    plan_of(g, &p);
    assert_int_equal(p.kernels[0].last, 9); /* stops at the tanh */
    assert_int_equal(p.nkernels, 3);
    sf_plan_kernel k1 = p.kernels[1], k2 = p.kernels[2];
    p.kernels[0].last = k1.last, p.kernels[1] = k2, p.nkernels = 2;
    refused(&p, "do not each read only the one before", "a sum over a view used twice");
    p.kernels[0].last = 9, p.kernels[1] = k1, p.kernels[2] = k2, p.nkernels = 3;
    sf_plan_free(&p);
    sf_graph_free(g);
}

/* sf_plan_chain_fits over every computing node of an IR text */
static bool fits(const char *text)
{
    sf_graph *g = parsed(text);
    const sf_node *m[64];
    int n = 0;
    for (size_t i = 0; i < g->nodes.len && n < 64; i++) {
        const sf_node *x = g->nodes.items[i];
        if (sf_op_cls(x->op) != SF_OPCLS_SOURCE && sf_op_cls(x->op) != SF_OPCLS_VIEW)
            m[n++] = x;
    }
    bool ok = sf_plan_chain_fits(m, n);
    sf_graph_free(g);
    return ok;
}

static void test_chain_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
        bool fits;
    } cases[] = {
        {"a sum of 256 outputs", "param @a : f32[2,16,4]\nparam @s : f32[256,32]\nfunc @m(%x: f32[B,4]) {\n"
         "  %0 = grouped_linear %x, @a {shared=true} : f32[B,2,16]\n  %1 = reshape %0 {shape=[B,32]} : f32[B,32]\n"
         "  %2 = linear %1, @s : f32[B,256]\n  return %2\n}\n", true},
        {"a sum of 257 outputs", "param @a : f32[2,16,4]\nparam @s : f32[257,32]\nfunc @m(%x: f32[B,4]) {\n"
         "  %0 = grouped_linear %x, @a {shared=true} : f32[B,2,16]\n  %1 = reshape %0 {shape=[B,32]} : f32[B,32]\n"
         "  %2 = linear %1, @s : f32[B,257]\n  return %2\n}\n", false},
        {"a sum over slices of 15", "param @a : f32[2,15,4]\nparam @s : f32[5,30]\nfunc @m(%x: f32[B,4]) {\n"
         "  %0 = grouped_linear %x, @a {shared=true} : f32[B,2,15]\n  %1 = reshape %0 {shape=[B,30]} : f32[B,30]\n"
         "  %2 = linear %1, @s : f32[B,5]\n  return %2\n}\n", false},
        {"a product after the sum", "param @a : f32[2,16,4]\nparam @s : f32[5,32]\nparam @t : f32[5,5]\n"
         "func @m(%x: f32[B,4]) {\n  %0 = grouped_linear %x, @a {shared=true} : f32[B,2,16]\n"
         "  %1 = reshape %0 {shape=[B,32]} : f32[B,32]\n  %2 = linear %1, @s : f32[B,5]\n"
         "  %3 = linear %2, @t : f32[B,5]\n  return %3\n}\n", false},
        {"groups too wide to sum", "param @a : f32[1,4097,4]\nparam @s : f32[2,4097]\nfunc @m(%x: f32[B,4]) {\n"
         "  %0 = grouped_linear %x, @a {shared=true} : f32[B,1,4097]\n"
         "  %1 = reshape %0 {shape=[B,4097]} : f32[B,4097]\n  %2 = linear %1, @s : f32[B,2]\n  return %2\n}\n",
         false},
        {"a reshape that joins no groups", "param @a : f32[4,4]\nparam @s : f32[4,4]\nfunc @m(%x: f32[B,4]) {\n"
         "  %0 = linear %x, @a : f32[B,4]\n  %1 = reshape %0 {shape=[B,4]} : f32[B,4]\n"
         "  %2 = linear %1, @s : f32[B,4]\n  return %2\n}\n", false},
        {"a grouped product after a dense one", "param @a : f32[4,4]\nparam @s : f32[2,3,4]\n"
         "func @m(%x: f32[B,4]) {\n  %0 = linear %x, @a : f32[B,4]\n"
         "  %1 = grouped_linear %0, @s {shared=true} : f32[B,2,3]\n  return %1\n}\n", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (fits(cases[i].text) != cases[i].fits)
            fail_msg("%s: sf_plan_chain_fits said %s", cases[i].name, cases[i].fits ? "no" : "yes");
    /* eight products in a row, then nine */
    for (int n = 8; n <= 9; n++) {
        char text[2048];
        int at = sprintf(text, "param @w : f32[4,4]\nfunc @m(%%x: f32[B,4]) {\n  %%0 = linear %%x, @w : f32[B,4]\n");
        for (int i = 1; i < n; i++)
            at += sprintf(text + at, "  %%%d = linear %%%d, @w : f32[B,4]\n", i, i - 1);
        sprintf(text + at, "  return %%%d\n}\n", n - 1);
        assert_int_equal(fits(text), n == 8);
    }
}

typedef struct tally {
    int models, kernels, chains, inplace, fixed, dnnl;
} tally;

/* every golden model's plan, at -O0 and at -O2, passes the checker, reads
 * back byte for byte, and copies onto a copy of its graph */
static void round_trip(const sf_graph *traced, tally *t)
{
    sf_error e = {0};
    sf_graph *g = sf_graph_copy(traced, "golden", &e), *h = g ? sf_graph_copy(g, "again", &e) : NULL;
    if (!h)
        fail_msg("%s", e.msg);
    sf_plan p, c;
    plan_of(g, &p);
    unsigned char *bytes;
    size_t len;
    encoded(&p, &bytes, &len);
    if (!reads_back(g, bytes, len, &e))
        fail_msg("%s", e.msg);
    if (sf_plan_copy(&p, h, &c, &e) != SF_OK)
        fail_msg("%s", e.msg);
    t->models++, t->kernels += (int)p.nkernels, t->inplace += p.mem.inplace, t->fixed += p.mem.fixed_bytes > 0;
    for (size_t k = 0; k < p.nkernels; k++) {
        t->chains += p.kernels[k].first != p.kernels[k].last;
        t->dnnl += p.kernels[k].lib == SF_LIB_DNNL_CONV;
        assert_int_equal(c.kernels[k].lib, p.kernels[k].lib); /* the library reads back too */
    }
    free(bytes);
    sf_plan_free(&c);
    sf_plan_free(&p);
    sf_graph_free(h);
    sf_graph_free(g);
}

static void golden_round_trip(golden_case *c, void *ctx)
{
    round_trip(c->model->graph, ctx);
    golden_optimise(c);
    round_trip(c->model->graph, ctx);
}

static void test_golden_plans_pass_and_read_back(void **state)
{
    (void)state;
    tally t = {0};
    golden_each(golden_round_trip, &t);
    golden_each_in("random_cases.txt", golden_round_trip, &t);
    printf("  %d plans (golden models at -O0 and -O2): %d kernels, %d chains, %d values written in place, "
           "%d with fixed values, %d convolutions for oneDNN\n", t.models, t.kernels, t.chains, t.inplace, t.fixed,
           t.dnnl);
    assert_true(t.models >= 140 && t.chains > 0 && t.inplace > 0 && t.fixed > 0 && t.dnnl >= 20);
}

/* every prefix is refused; a byte more is refused; a flipped byte is
 * refused or reads back to itself */
static void test_damaged_bytes(void **state)
{
    (void)state;
    sf_graph *g = parsed(MODEL);
    sf_plan p;
    plan_of(g, &p);
    unsigned char *bytes;
    size_t len;
    encoded(&p, &bytes, &len);
    sf_error e = {0};
    for (size_t n = 0; n < len; n++) {
        assert_false(reads_back(g, bytes, n, &e));
        assert_int_equal(e.code, SF_ERR_FORMAT);
    }
    unsigned char *more = calloc(len + 4, 1);
    memcpy(more, bytes, len);
    assert_false(reads_back(g, more, len + 4, &e));
    assert_contains(e.msg, "plan: 4 bytes after the plan");
    free(more);
    int accepted = 0, refusals = 0;
    unsigned seed = 7;
    for (int trial = 0; trial < 4000; trial++) {
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % len;
        unsigned char bit = (unsigned char)(1u << ((seed >> 4) % 8));
        bytes[at] ^= bit;
        if (reads_back(g, bytes, len, &e))
            accepted++;
        else
            refusals++;
        bytes[at] ^= bit;
    }
    printf("  4000 flipped bits: %d refused, %d read back (costs and statistics)\n", refusals, accepted);
    assert_true(refusals > 3000);
    /* a plan for another graph: the value count tells */
    sf_graph *other = parsed("func @m(%x: f32[B,4]) {\n  %0 = relu %x : f32[B,4]\n  return %0\n}\n");
    assert_false(reads_back(other, bytes, len, &e));
    assert_contains(e.msg, "values, the IR has");
    sf_graph_free(other);
    free(bytes);
    sf_plan_free(&p);
    sf_graph_free(g);
}

/* ---- what the checker accepts runs right ---- */

typedef struct moved {
    int models, unique, shared, refused;
    unsigned seed;
} moved;

static unsigned next(moved *mv)
{
    mv->seed = mv->seed * 1103515245u + 12345u;
    return mv->seed >> 8;
}

static bool placed(const sf_plan *p, int v)
{
    return p->mem.home[v] == SF_HOME_ROWS || p->mem.home[v] == SF_HOME_FIXED;
}

/* every placed value in bytes of its own, in a shuffled order: sound, so accepted */
static void spread_out(sf_plan *p, moved *mv)
{
    size_t nv = p->g->values.len, top[2] = {0, 0};
    int *order = malloc((nv + 1) * sizeof *order);
    for (size_t v = 0; v < nv; v++)
        order[v] = (int)v;
    for (size_t v = nv; v > 1; v--) {
        size_t j = next(mv) % v;
        int t = order[v - 1];
        order[v - 1] = order[j], order[j] = t;
    }
    for (size_t i = 0; i < nv; i++) {
        int v = order[i];
        if (!placed(p, v))
            continue;
        size_t *at = &top[p->mem.home[v] == SF_HOME_FIXED];
        p->mem.offset[v] = *at;
        *at += (sf_memplan_value_bytes(p->g->values.items[v]) + 63) & ~(size_t)63;
    }
    p->mem.row_bytes = top[0], p->mem.fixed_bytes = top[1];
    free(order);
}

/* value b where value a is, when it fits: sound only where their lives do not meet */
static bool share(sf_plan *p, moved *mv)
{
    size_t nv = p->g->values.len;
    int a = (int)(next(mv) % nv), b = (int)(next(mv) % nv);
    if (a == b || !placed(p, a) || p->mem.home[a] != p->mem.home[b])
        return false;
    size_t cap = p->mem.home[a] == SF_HOME_ROWS ? p->mem.row_bytes : p->mem.fixed_bytes;
    if (p->mem.offset[a] + sf_memplan_value_bytes(p->g->values.items[b]) > cap)
        return false;
    p->mem.offset[b] = p->mem.offset[a];
    return true;
}

/* a kernel's result over one of its operands: sound only for an
 * elementwise kernel reading that operand for the last time, all of it */
static bool over_operand(sf_plan *p, moved *mv)
{
    if (!p->nkernels)
        return false;
    const sf_plan_kernel *k = &p->kernels[next(mv) % p->nkernels];
    const sf_plan_arg *in = &k->args[next(mv) % (size_t)k->nargs], *out = &k->args[k->nargs - 1];
    int r = in->value;
    while (p->mem.home[r] == SF_HOME_VIEW)
        r = p->mem.alias_of[r];
    if (r == out->value || !placed(p, r) || p->mem.home[r] != p->mem.home[out->value])
        return false;
    size_t cap = p->mem.home[r] == SF_HOME_ROWS ? p->mem.row_bytes : p->mem.fixed_bytes;
    if (p->mem.offset[r] + sf_memplan_value_bytes(p->g->values.items[out->value]) > cap)
        return false;
    p->mem.offset[out->value] = p->mem.offset[r];
    return true;
}

static sf_tensor_set *run_with(const sf_cpu_model *base, const sf_plan *plan, const golden_case *c)
{
    const void *obj;
    size_t size;
    sf_cpu_object(base, &obj, &size);
    sf_error e = {0};
    sf_cpu_model *m = sf_cpu_prepare(sf_cpu_graph(base), plan, obj, size, &e);
    if (!m)
        fail_msg("%s: %s", c->name, e.msg);
    sf_tensor_set *out = sf_tensors_new();
    if (sf_cpu_run(m, c->batch, c->inputs, c->weights, out, &e) != SF_OK)
        fail_msg("%s: %s", c->name, e.msg);
    sf_cpu_free(m);
    return out;
}

static void same_outputs(const golden_case *c, const sf_graph *g, const sf_tensor_set *a, const sf_tensor_set *b)
{
    for (size_t i = 0; i < g->outputs.len; i++) {
        char name[32];
        sf_output_name(g, i, name, sizeof name);
        const sf_tensor *x = sf_tensors_get(a, name), *y = sf_tensors_get(b, name);
        assert_non_null(x);
        assert_non_null(y);
        if (memcmp(x->data, y->data, sf_tensor_numel(x) * sizeof(float)))
            fail_msg("%s: output %s differs with values moved", c->name, name);
    }
}

static void move_values(golden_case *c, void *ctx)
{
    moved *mv = ctx;
    golden_optimise(c);
    sf_error e = {0};
    sf_cpu_model *base = sf_cpu_compile(c->model->graph, &e);
    if (!base)
        fail_msg("%s: %s", c->name, e.msg);
    const sf_plan *built = sf_cpu_plan(base);
    sf_tensor_set *want = run_with(base, built, c);
    for (int trial = 0; trial < 24; trial++) {
        sf_plan p;
        if (sf_plan_copy(built, built->g, &p, &e) != SF_OK)
            fail_msg("%s: %s", c->name, e.msg);
        bool unique = trial == 0;
        if (unique)
            spread_out(&p, mv);
        else if (!(trial % 2 ? share(&p, mv) : over_operand(&p, mv))) {
            sf_plan_free(&p);
            continue;
        }
        if (sf_plan_verify(&p, &e) != SF_OK) {
            if (unique)
                fail_msg("%s: values in bytes of their own refused: %s", c->name, e.msg);
            mv->refused++;
        } else {
            sf_tensor_set *got = run_with(base, &p, c);
            same_outputs(c, built->g, want, got);
            sf_tensors_free(got);
            *(unique ? &mv->unique : &mv->shared) += 1;
        }
        sf_plan_free(&p);
    }
    mv->models++;
    sf_tensors_free(want);
    sf_cpu_free(base);
}

static void test_accepted_plans_run_right(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    moved mv = {.seed = 11};
    golden_each(move_values, &mv);
    golden_each_in("random_cases.txt", move_values, &mv);
    printf("  %d golden models run with values moved: %d spread out, %d sharing bytes (accepted, same numbers), "
           "%d shares refused\n", mv.models, mv.unique, mv.shared, mv.refused);
    assert_true(mv.unique == mv.models && mv.shared > 0 && mv.refused > 0);
}

int main(void)
{
    size_t n;
    sf_error e = {0};
    if (sf_read_file(SF_FIXTURES "/plan.sfir", &MODEL, &n, &e) != SF_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_model_plans_as_described),
        cmocka_unit_test(test_each_damage_is_refused),
        cmocka_unit_test(test_a_chain_of_65_is_refused),
        cmocka_unit_test(test_a_chain_over_a_shared_value_is_refused),
        cmocka_unit_test(test_a_chain_sums_over_groups),
        cmocka_unit_test(test_a_sum_over_a_shared_view_is_refused),
        cmocka_unit_test(test_chain_shapes),
        cmocka_unit_test(test_golden_plans_pass_and_read_back),
        cmocka_unit_test(test_damaged_bytes),
        cmocka_unit_test(test_accepted_plans_run_right),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(MODEL);
    return failed;
}
