/* Every case of tests/golden/cases.txt: compile the model file, load
 * PyTorch's weights and inputs, run the interpreter, compare with PyTorch's
 * outputs (rtol 1e-4, atol 1e-5). The files come from make_golden.py. */
#define _GNU_SOURCE /* open_memstream */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_case.h"
#include "frontend/safetensors.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "runtime/cpu.h"

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

/* the gradients of every parameter and float input against PyTorch autograd's (make_grads.py), for the
 * backward of the traced graph on the interpreter and, after -O2, on the CPU backend where it is built */
typedef struct grad_tally {
    int cases, refused, tensors;
} grad_tally;

static void check_grad_outputs(const golden_case *c, const sf_graph *fwd, const sf_tensor_set *want,
                               const sf_tensor_set *got, const char *who, int *tensors)
{
    size_t at = fwd->outputs.len;
    for (int pass = 0; pass < 2; pass++) {
        const sf_vec *vs = pass == 0 ? &fwd->params : &fwd->inputs;
        for (size_t i = 0; i < vs->len; i++) {
            const sf_value *v = vs->items[i];
            if (v->type.dtype != SF_F32)
                continue;
            char out[64], key[300];
            snprintf(out, sizeof out, "output.%zu", at++);
            snprintf(key, sizeof key, "%s.%s", pass == 0 ? "param" : "input", v->def->name);
            const sf_tensor *w = sf_tensors_get(want, key), *g = sf_tensors_get(got, out);
            if (!w)
                continue; /* a buffer (running statistics), or an integer input: PyTorch gives none */
            assert_non_null(g);
            assert_int_equal(sf_tensor_numel(g), sf_tensor_numel(w));
            /* rtol 1e-4, atol 1e-5 of the tensor's largest |gradient| (at least 1): a gradient sums many
             * rounded terms, whose error scales with the largest of them (sinusoidal's cos(30 h) amplifies
             * PyTorch's f32 rounding of h 30-fold) */
            double scale = 1;
            for (size_t j = 0; j < sf_tensor_numel(w); j++)
                scale = fmax(scale, fabs((double)w->data[j]));
            for (size_t j = 0; j < sf_tensor_numel(w); j++)
                if (!(fabs((double)g->data[j] - w->data[j]) <= 1e-5 * scale + 1e-4 * fabs((double)w->data[j])))
                    fail_msg("%s (%s): d/d%s element %zu: %.7g, PyTorch %.7g", c->name, who, key, j,
                             (double)g->data[j], (double)w->data[j]);
            ++*tensors;
        }
    }
}

static void grad_case(golden_case *c, void *ctx)
{
    grad_tally *t = ctx;
    sf_error e = {0};
    char file[1024];
    snprintf(file, sizeof file, "%s/%s.grads.safetensors", SF_GOLDEN, c->name);
    sf_tensor_set *want = sf_tensors_new();
    if (sf_st_load(file, want, &e) != SF_OK)
        fail_msg("%s: %s (run tests/golden/make_grads.py)", c->name, e.msg);
    const sf_graph *fwd = c->model->graph;
    sf_module m = {.g = sf_graph_copy(fwd, c->name, &e), .weights = c->weights};
    sf_grad_opts o = {.inputs = true};
    if (!m.g || sf_grad(&m, &o, &e) != SF_OK) {
        if (e.code != SF_ERR_UNSUPPORTED || !strstr(e.msg, "grad: conv"))
            fail_msg("%s: %s", c->name, e.msg);
        t->refused++; /* convolutions: no rule yet */
        sf_graph_free(m.g), sf_tensors_free(want);
        return;
    }
    sf_tensor_set *in = sf_tensors_new();
    for (int k = 0; k < 2; k++) { /* the inputs, then the seeds */
        const sf_tensor_set *from = k == 0 ? c->inputs : want;
        for (size_t i = 0; i < from->tensors.len; i++) {
            const char *name = from->names.items[i];
            const sf_tensor *x = from->tensors.items[i];
            if (k == 0 || strncmp(name, "grad.", 5) == 0)
                assert_non_null(sf_tensors_add(in, name, x->rank, x->dim, x->data, &e));
        }
    }
    for (size_t i = 0; i < m.g->inputs.len; i++) { /* an output PyTorch holds as integers (argmax) takes no seed */
        const sf_value *v = m.g->inputs.items[i];
        if (!sf_tensors_get(in, v->def->name))
            assert_non_null(sf_tensors_add_value(in, v->def->name, v, c->batch, NULL, &e));
    }
    sf_tensor_set *got = sf_tensors_new();
    if (sf_interp_run(m.g, c->batch, in, c->weights, got, &e) != SF_OK)
        fail_msg("%s: backward: %s", c->name, e.msg);
    check_grad_outputs(c, fwd, want, got, "interpreter", &t->tensors);
    sf_tensors_free(got);
    if (sf_cpu_available()) { /* and compiled: -O2, the CPU backend */
        sf_tensor_set *w2 = sf_tensors_new();
        for (size_t i = 0; i < c->weights->tensors.len; i++) {
            const sf_tensor *x = c->weights->tensors.items[i];
            assert_non_null(sf_tensors_add(w2, c->weights->names.items[i], x->rank, x->dim, x->data, &e));
        }
        sf_module opt = {.g = sf_graph_copy(m.g, c->name, &e), .weights = w2};
        sf_pipeline_opts o2 = {.opt_level = 2, .verify_each = true};
        if (!opt.g || sf_run_pipeline(&opt, &o2, &e) != SF_OK)
            fail_msg("%s: backward -O2: %s", c->name, e.msg);
        sf_cpu_model *cm = sf_cpu_compile(opt.g, &e);
        got = sf_tensors_new();
        if (!cm || sf_cpu_run(cm, c->batch, in, w2, got, &e) != SF_OK)
            fail_msg("%s: backward on the cpu backend: %s", c->name, e.msg);
        check_grad_outputs(c, fwd, want, got, "cpu -O2", &t->tensors);
        sf_cpu_free(cm), sf_tensors_free(got), sf_tensors_free(w2), sf_graph_free(opt.g);
    }
    t->cases++;
    sf_tensors_free(in), sf_tensors_free(want), sf_graph_free(m.g);
}

static void test_golden_gradients(void **state)
{
    (void)state;
    grad_tally t = {0};
    golden_each(grad_case, &t);
    printf("  golden gradients: %d cases match PyTorch autograd (%d tensors), %d refused (convolutions)\n", t.cases,
           t.tensors, t.refused);
    assert_true(t.cases >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden_cases), cmocka_unit_test(test_golden_gradients)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
