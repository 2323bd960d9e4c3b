/* Every case of tests/golden/cases.txt: compile the model file, load
 * PyTorch's weights and inputs, run the interpreter, compare with PyTorch's
 * outputs (rtol 1e-4, atol 1e-5). The files come from make_golden.py. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "frontend.h"
#include "pass.h"

static void split(char *s, char sep, char **out, int max, int *n)
{
    *n = 0;
    while (s && *n < max) {
        out[(*n)++] = s;
        char *p = strchr(s, sep);
        if (p)
            *p++ = '\0';
        s = p;
    }
}

static void run_case(char *line)
{
    char *f[6];
    int nf;
    split(line, '|', f, 6, &nf);
    assert_int_equal(nf, 6);
    char *inputs[8], *consts[8];
    int ni = 0, nc = 0;
    if (*f[3])
        split(f[3], ';', inputs, 8, &ni);
    if (*f[4])
        split(f[4], ';', consts, 8, &nc);
    char path[1024], *src;
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/%s", SF_MODELS, f[1]);
    assert_int_equal(sf_read_file(path, &src, &len, &e), SF_OK);
    sf_py_options o = {f[2], (const char *const *)inputs, ni, (const char *const *)consts, nc};
    sf_py_model *m = sf_py_compile(path, src, len, &o, &e);
    if (!m)
        fail_msg("%s: %s", f[0], e.msg);
    sf_tensor_set *w = sf_tensors_new(), *in = sf_tensors_new(), *want = sf_tensors_new();
    char file[2200];
    snprintf(file, sizeof file, "%s/%s.weights.safetensors", SF_GOLDEN, f[0]);
    assert_int_equal(sf_st_load(file, w, &e), SF_OK);
    if (sf_py_check_weights(m, w, true, &e) != SF_OK)
        fail_msg("%s: %s", f[0], e.msg);
    snprintf(file, sizeof file, "%s/%s.inputs.safetensors", SF_GOLDEN, f[0]);
    assert_int_equal(sf_st_load(file, in, &e), SF_OK);
    snprintf(file, sizeof file, "%s/%s.outputs.safetensors", SF_GOLDEN, f[0]);
    assert_int_equal(sf_st_load(file, want, &e), SF_OK);
    int64_t batch;
    assert_int_equal(sf_check_inputs(m->graph, in, &batch, &e), SF_OK);
    assert_int_equal(batch, atoi(f[5]));
    size_t nodes_o0 = m->graph->nodes.len;
    /* as compiled (-O0), then after the -O2 pipeline: both must match PyTorch */
    for (int level = 0; level <= 2; level += 2) {
        if (level == 2) {
            sf_module mod = {.g = m->graph, .weights = w};
            sf_pipeline_opts o2 = {.opt_level = 2, .verify_each = true};
            if (sf_run_pipeline(&mod, &o2, &e) != SF_OK)
                fail_msg("%s: %s", f[0], e.msg);
            m->graph = mod.g;
            for (size_t i = 0; i < m->graph->nodes.len; i++)
                if (((sf_node *)m->graph->nodes.items[i])->op == SF_OP_BATCHNORM)
                    fail_msg("%s: a batchnorm is left after -O2", f[0]);
        }
        sf_tensor_set *got = sf_tensors_new();
        if (sf_interp_run(m->graph, batch, in, w, got, &e) != SF_OK)
            fail_msg("%s -O%d: %s", f[0], level, e.msg);
        assert_int_equal(sf_tensors_count(got), sf_tensors_count(want));
        for (size_t i = 0; i < want->names.len; i++) {
            const sf_tensor *wt = want->tensors.items[i], *gt = sf_tensors_get(got, want->names.items[i]);
            assert_non_null(gt);
            assert_int_equal(gt->rank, wt->rank);
            for (int d = 0; d < wt->rank; d++)
                assert_int_equal(gt->dim[d], wt->dim[d]);
            assert_close(gt->data, wt->data, sf_tensor_numel(wt), 1e-4, 1e-5);
        }
        sf_tensors_free(got);
    }
    printf("  golden %-18s %zu nodes at -O0, %zu at -O2; both match PyTorch\n", f[0], nodes_o0, m->graph->nodes.len);
    sf_tensors_free(w), sf_tensors_free(in), sf_tensors_free(want);
    sf_py_model_free(m);
    free(src);
}

static void test_golden_cases(void **state)
{
    (void)state;
    char path[1024], *text;
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/cases.txt", SF_GOLDEN);
    assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
    int count = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0])
            continue;
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", line);
        run_case(copy);
        count++;
    }
    free(text);
    assert_true(count >= 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden_cases)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
