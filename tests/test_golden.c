/* Every case of tests/golden/cases.txt: compile the model file, load
 * PyTorch's weights and inputs, run the interpreter, compare with PyTorch's
 * outputs (rtol 1e-4, atol 1e-5). The files come from make_golden.py. */
#define _GNU_SOURCE /* open_memstream */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_case.h"
#include "passes/memplan.h"

/* The op counts -O2 leaves, for the models of each fusion pattern (docs/passes.md) */
static const struct {
    const char *name, *ops;
} fused[] = {
    {"hetero_ensemble", "linear=2 relu=1"},                  /* widths 16, 32, 64: widen, then K-concatenation */
    {"nonlinear_sum", "linear=1 tanh=1 sum=1 reshape=1"},    /* sum of tanh branches: one reduction */
    {"towers", "grouped_linear=2 relu=1 reshape=2"},         /* 3 towers of 4: one group of 12 */
    {"inception", "conv2d=3 relu=3 slice=3 concat=1"},       /* the three 1x1 convs widened into one */
    {"growing_relu", "conv2d=24 add=23 relu=24"},            /* kept apart: summed in place, not 24x the memory */
    {"parallel_fcn", "grouped_linear=1 reshape=2"},
    {"styles_ensemble", "linear=2 relu=1"},                  /* 5 members on one input: one wide product, one K-concatenated */
    /* the corpus (tests/models/corpus.py) and the other kinds of model people write */
    {"moe", "linear=1 grouped_linear=2 mul=1 gelu=1 softmax=1 sum=1 reshape=1"},
    {"multitask", "linear=3 relu=2 slice=3"},
    {"siamese", "scalar=2 linear=4 add=1 sub=1 mul=5 div=2 relu=2 sigmoid=1 sum=5 clamp=2 abs=1 sqrt=3"},
    {"triplet", "scalar=1 linear=6 add=1 sub=3 mul=5 div=3 relu=1 silu=3 sum=5 clamp=3 sqrt=3"},
    {"nam", "linear=1 grouped_linear=2 add=1 relu=2 reshape=2"},
    {"densenet1d", "conv1d=4 batchnorm=4 relu=4 concat=4 mean=1 reshape=2"},
    {"unet1d", "conv1d=5 mul=2 relu=4 concat=2 reshape=6 amax=2"},
    {"mixture_density", "scalar=1 linear=2 add=1 tanh=1 slice=3 reshape=2 softplus=1 log_softmax=1"},
    {"deep_ensemble", "scalar=1 grouped_linear=3 sub=1 mul=2 relu=2 mean=3 transpose=1 sqrt=1"},
    {"einsums", "scalar=1 matmul=8 add=1 mul=4 div=1 softmax=1 slice=2 sum=5 reshape=6 transpose=4"},
    {"transformer_block", "scalar=3 linear=4 matmul=2 layernorm=2 add=2 mul=1 gelu=1 softmax=1 slice=3 reshape=5 transpose=5 eq=1 ne=1 where=1"},
    {"small_cnn", "linear=1 conv2d=2 relu=2 slice=4 concat=2 mean=2 reshape=5 amax=2 maximum=2 full=2"},
};

static void check_fused_ops(const golden_case *c)
{
    for (size_t i = 0; i < sizeof fused / sizeof fused[0]; i++) {
        if (strcmp(fused[i].name, c->name))
            continue;
        char *text = NULL, want[256];
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        sf_error e = {0};
        if (!f || sf_print_stats(c->model->graph, f, &e) != SF_OK)
            fail_msg("%s: stats: %s", c->name, e.msg);
        fclose(f);
        snprintf(want, sizeof want, "# stats: ops %s\n", fused[i].ops);
        if (strncmp(text, want, strlen(want)))
            fail_msg("%s after -O2: want \"%s\", got \"%.*s\"", c->name, fused[i].ops, (int)strcspn(text, "\n"), text);
        free(text);
    }
}

static void run_case(golden_case *cp, void *ctx)
{
    (void)ctx;
    golden_case c = *cp;
    size_t nodes_o0 = c.model->graph->nodes.len;
    /* as compiled (-O0), then after the -O2 pipeline: both must match PyTorch */
    for (int level = 0; level <= 2; level += 2) {
        sf_error e = {0};
        if (level == 2) {
            golden_optimise(&c);
            for (size_t i = 0; i < c.model->graph->nodes.len; i++) { /* one after a product folds into it */
                const sf_node *n = c.model->graph->nodes.items[i];
                if (n->op == SF_OP_BATCHNORM && sf_op_cls(n->in[0]->def->op) == SF_OPCLS_PRODUCT)
                    fail_msg("%s: a batchnorm after a product is left after -O2", c.name);
            }
        }
        sf_tensor_set *got = sf_tensors_new();
        if (sf_interp_run(c.model->graph, c.batch, c.inputs, c.weights, got, &e) != SF_OK)
            fail_msg("%s -O%d: %s", c.name, level, e.msg);
        golden_check(&c, got);
        sf_tensors_free(got);
        if (level == 2)
            check_fused_ops(&c);
    }
    printf("  golden %-18s %zu nodes at -O0, %zu at -O2; both match PyTorch\n", c.name, nodes_o0,
           c.model->graph->nodes.len);
    *cp = c;
}

static void test_golden_cases(void **state)
{
    (void)state;
    assert_true(golden_each(run_case, NULL) >= 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden_cases)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
