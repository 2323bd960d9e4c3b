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

/* The ops line of `sheaf ir --stats` for the graph */
static char *ops_line(const golden_case *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sf_error e = {0};
    if (!f || sf_print_stats(c->model->graph, f, &e) != SF_OK)
        fail_msg("%s: stats: %s", c->name, e.msg);
    fclose(f);
    text[strcspn(text, "\n")] = '\0';
    memmove(text, text + strlen("# stats: ops "), strlen(text + strlen("# stats: ops ")) + 1);
    return text;
}

/* Every case's op counts after -O2 are in golden/fused_ops.txt (name|ops),
 * so a fusion that stops firing, or starts, fails here; SF_PRINT_FUSED=1
 * prints the lines as they are now, to review and paste. */
static void check_fused_ops(const golden_case *c, char **fused)
{
    char *got = ops_line(c);
    if (getenv("SF_PRINT_FUSED")) {
        printf("%s|%s\n", c->name, got);
        free(got);
        return;
    }
    size_t n = strlen(c->name);
    const char *want = NULL;
    for (size_t i = 0; fused[i] && !want; i++)
        if (!strncmp(fused[i], c->name, n) && fused[i][n] == '|')
            want = fused[i] + n + 1;
    if (!want)
        fail_msg("%s: no line in golden/fused_ops.txt; after -O2 it is %s|%s", c->name, c->name, got);
    if (strcmp(want, got))
        fail_msg("%s after -O2: golden/fused_ops.txt says \"%s\", the graph has \"%s\"", c->name, want, got);
    free(got);
}

static void run_case(golden_case *cp, void *ctx)
{
    char **fused = ctx;
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
            check_fused_ops(&c, fused);
    }
    printf("  golden %-18s %zu nodes at -O0, %zu at -O2; both match PyTorch\n", c.name, nodes_o0,
           c.model->graph->nodes.len);
    *cp = c;
}

static void test_golden_cases(void **state)
{
    (void)state;
    char **fused = golden_lines_in("fused_ops.txt");
    assert_true(golden_each(run_case, fused) >= 13);
    golden_lines_free(fused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden_cases)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
