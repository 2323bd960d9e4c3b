/* Every case of tests/golden/cases.txt: compile the model file, load
 * PyTorch's weights and inputs, run the interpreter, compare with PyTorch's
 * outputs (rtol 1e-4, atol 1e-5). The files come from make_golden.py. */
#include "testutil.h"

#include <stdio.h>

#include "golden_case.h"

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
