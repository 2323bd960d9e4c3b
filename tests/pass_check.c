/* The pass tests' one check: IR text in, passes, IR text out (like
 * FileCheck), then the interpreter on the IR before and after (the oracle). */
#include "pass_check.h"

#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"
#include "frontend/frontend.h"
#include "passes/pass.h"

void sf_check_passes(const char *passes, const char *ir, const char *want, int min_branches, size_t max_bytes)
{
    sf_error e = {0};
    sf_graph *before = sf_parse(ir, strlen(ir), "in.sfir", &e), *after = sf_parse(ir, strlen(ir), "in.sfir", &e);
    if (!before || !after)
        fail_msg("%s", e.msg);
    sf_module m = {.g = after, .weights = sf_tensors_new(), .hfuse_min_branches = min_branches,
                   .hfuse_max_bytes = max_bytes};
    assert_int_equal(sf_init_weights(before, 7, m.weights, &e), SF_OK);
    sf_pipeline_opts o = {.passes = passes, .verify_each = true};
    if (sf_run_pipeline(&m, &o, &e) != SF_OK)
        fail_msg("%s", e.msg);
    char *got = sf_print_string(m.g);
    if (strcmp(got, want) != 0)
        fail_msg("after %s:\n%s\nwanted:\n%s", passes, got, want);
    sf_tensor_set *in = sf_tensors_new(), *out0 = sf_tensors_new(), *out1 = sf_tensors_new();
    assert_int_equal(sf_random_inputs(before, 3, 11, in, &e), SF_OK);
    assert_int_equal(sf_interp_run(before, 3, in, m.weights, out0, &e), SF_OK);
    if (sf_interp_run(m.g, 3, in, m.weights, out1, &e) != SF_OK)
        fail_msg("%s", e.msg);
    for (size_t i = 0; i < out0->tensors.len; i++) {
        const sf_tensor *a = out0->tensors.items[i], *b = out1->tensors.items[i];
        assert_int_equal(sf_tensor_numel(a), sf_tensor_numel(b));
        assert_close(b->data, a->data, sf_tensor_numel(a), 1e-5, 1e-5);
    }
    free(got);
    sf_tensors_free(in), sf_tensors_free(out0), sf_tensors_free(out1), sf_tensors_free(m.weights);
    sf_graph_free(before);
    sf_graph_free(m.g);
}

