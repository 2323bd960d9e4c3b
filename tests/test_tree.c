/* A live model's module tree through the public C API (sf_tree_*,
 * sf_options.tree): the same model as its constructor builds, attributes
 * and tensors of the file's classes with an __init__ sheaf cannot run,
 * and every refusal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sheaf.h"
#include "testutil.h"

static const char *pfcn_inputs[] = {"x=f32[B,160]"};

static sf_model *compiled(const char *path, const sf_options *o)
{
    sf_error e = {0};
    sf_model *m = sf_compile_file(path, o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

static void ok(sf_status st, const sf_error *e)
{
    if (st != SF_OK)
        fail_msg("%s", e->msg);
}

/* ParallelFCN(8) as the live instance describes it */
static sf_module_tree *pfcn8_tree(void)
{
    sf_module_tree *t = sf_tree_new();
    sf_error e = {0};
    ok(sf_tree_module(t, "", "ParallelFCN", NULL, &e), &e);
    ok(sf_tree_module(t, "models", "ModuleList", "", &e), &e);
    for (int i = 0; i < 8; i++) {
        char path[64];
        snprintf(path, sizeof path, "models.%d", i);
        ok(sf_tree_module(t, path, "FullyConnectedNetwork", NULL, &e), &e);
        snprintf(path, sizeof path, "models.%d.fc1", i);
        ok(sf_tree_module(t, path, "Linear", "in_features=20, out_features=10, bias=True", &e), &e);
        snprintf(path, sizeof path, "models.%d.fc2", i);
        ok(sf_tree_module(t, path, "Linear", "in_features=10, out_features=1, bias=True", &e), &e);
    }
    return t;
}

static void outputs(sf_model *m, float *y)
{
    float x[3 * 160];
    for (int i = 0; i < 3 * 160; i++)
        x[i] = (float)((i * 41) % 29) / 14.0f - 1.0f;
    sf_error e = {0};
    ok(sf_run(m, 3, (const float *const[]){x}, (float *const[]){y}, &e), &e);
}

static void test_a_tree_builds_what_the_constructor_builds(void **state)
{
    (void)state;
    sf_module_tree *t = pfcn8_tree();
    sf_options by_tree = {.tree = t, .inputs = pfcn_inputs, .ninputs = 1, .seed = 7};
    sf_options by_expr = {.model = "ParallelFCN(8)", .inputs = pfcn_inputs, .ninputs = 1, .seed = 7};
    sf_model *a = compiled(SF_MODELS "/parallel_fcn.py", &by_tree), *b = compiled(SF_MODELS "/parallel_fcn.py",
                                                                                   &by_expr);
    float ya[24], yb[24];
    outputs(a, ya);
    outputs(b, yb);
    assert_memory_equal(ya, yb, sizeof ya); /* the same keys, so the same seeded weights, the same kernels */
    sf_model_free(a);
    sf_model_free(b);
    sf_tree_free(t);
}

/* __init__ reads a file: sheaf could never run it; forward reads plain
 * attributes, a parameter and a buffer registered on the module itself,
 * a child built by its nn constructor, and a function the file imports */
static const char *LIVE = "import json\n"
                          "import torch\n"
                          "import torch.nn as nn\n"
                          "import torch.nn.functional as F\n"
                          "\n"
                          "class Net(nn.Module):\n"
                          "    def __init__(self, path):\n"
                          "        super().__init__()\n"
                          "        cfg = json.load(open(path))\n"
                          "        self.fc = nn.Linear(cfg['n'], cfg['n'], bias=False)\n"
                          "\n"
                          "    def forward(self, x):\n"
                          "        y = self.fc(x) * self.scale\n"
                          "        if self.mode == 'relu':\n"
                          "            y = self.act(y)\n"
                          "        return y @ self.w + self.b[: self.dims[1]]\n";

static const char *live_inputs[] = {"x=f32[B,4]"};

static sf_module_tree *live_tree(const char *mode)
{
    sf_module_tree *t = sf_tree_new();
    sf_error e = {0};
    char literal[32];
    snprintf(literal, sizeof literal, "'%s'", mode);
    ok(sf_tree_module(t, "", "Net", NULL, &e), &e);
    ok(sf_tree_attr(t, "", "scale", "0.5", &e), &e);
    ok(sf_tree_attr(t, "", "mode", literal, &e), &e);
    ok(sf_tree_attr(t, "", "dims", "(4, 4)", &e), &e);
    ok(sf_tree_attr(t, "", "act", "F.relu", &e), &e);
    ok(sf_tree_tensor(t, "", "w", 2, (const int64_t[]){4, 4}, false, &e), &e);
    ok(sf_tree_tensor(t, "", "b", 1, (const int64_t[]){6}, true, &e), &e);
    ok(sf_tree_module(t, "fc", "Linear", "4, 4, bias=False", &e), &e);
    return t;
}

static void test_attributes_tensors_and_an_init_never_run(void **state)
{
    (void)state;
    float W[16], w[16], b[6], x[8];
    for (int i = 0; i < 16; i++)
        W[i] = (float)(i % 5) / 4 - 0.5f, w[i] = (float)(i % 7) / 6 - 0.4f;
    for (int i = 0; i < 6; i++)
        b[i] = (float)i / 10;
    for (int i = 0; i < 8; i++)
        x[i] = (float)(i % 3) - 1;
    const char *modes[] = {"relu", "none"};
    for (int k = 0; k < 2; k++) {
        sf_module_tree *t = live_tree(modes[k]);
        sf_weights *wt = sf_weights_new();
        sf_error e = {0};
        ok(sf_weights_set(wt, "fc.weight", 2, (const int64_t[]){4, 4}, W, &e), &e);
        ok(sf_weights_set(wt, "w", 2, (const int64_t[]){4, 4}, w, &e), &e);
        ok(sf_weights_set(wt, "b", 1, (const int64_t[]){6}, b, &e), &e);
        sf_options o = {.tree = t, .inputs = live_inputs, .ninputs = 1, .weights = wt, .check = true};
        sf_model *m = sf_compile_text(LIVE, strlen(LIVE), "live.py", &o, &e);
        if (!m)
            fail_msg("%s", e.msg);
        float y[8], want[8];
        ok(sf_run(m, 2, (const float *const[]){x}, (float *const[]){y}, &e), &e); /* check: the interpreter agrees */
        for (int r = 0; r < 2; r++) {
            float h[4];
            for (int j = 0; j < 4; j++) { /* fc: x W^T, scaled, maybe relu */
                double s = 0;
                for (int i = 0; i < 4; i++)
                    s += x[r * 4 + i] * W[j * 4 + i];
                s *= 0.5;
                h[j] = (float)(k == 0 && s < 0 ? 0 : s);
            }
            for (int j = 0; j < 4; j++) { /* h @ w + b[:4] */
                double s = b[j];
                for (int i = 0; i < 4; i++)
                    s += h[i] * w[i * 4 + j];
                want[r * 4 + j] = (float)s;
            }
        }
        assert_close(y, want, 8, 1e-5, 1e-6);
        sf_model_free(m);
        sf_weights_free(wt);
        sf_tree_free(t);
    }
}

static void refused_at_build(sf_module_tree *t, const char *want)
{
    sf_error e = {0};
    sf_options o = {.tree = t, .inputs = live_inputs, .ninputs = 1};
    sf_model *m = sf_compile_text(LIVE, strlen(LIVE), "live.py", &o, &e);
    assert_null(m);
    assert_contains(e.msg, want);
    sf_tree_free(t);
}

static void test_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_module_tree *t = sf_tree_new();
    assert_int_equal(sf_tree_module(t, "fc", "Linear", "4, 4", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "the root (path \"\") comes first");
    ok(sf_tree_module(t, "", "Net", NULL, &e), &e);
    assert_int_equal(sf_tree_module(t, "", "Net", NULL, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "given twice");
    assert_int_equal(sf_tree_module(t, "a.b", "Linear", "4, 4", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "comes before its parent 'a'");
    assert_int_equal(sf_tree_module(t, "fc", "nn.Linear", "4, 4", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "is not a class name");
    assert_int_equal(sf_tree_module(t, "fc", NULL, NULL, &e), SF_ERR_INVALID_ARG);
    assert_int_equal(sf_tree_module(t, "fc.", "Linear", "4, 4", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "bad path");
    ok(sf_tree_module(t, "fc", "Linear", "4, 4", &e), &e);
    assert_int_equal(sf_tree_attr(t, "fc", "scale", "1", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "nn.Linear is built by its constructor");
    assert_int_equal(sf_tree_attr(t, "nowhere", "scale", "1", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "no such module");
    assert_int_equal(sf_tree_attr(t, "", "not a name", "1", &e), SF_ERR_INVALID_ARG);
    assert_int_equal(sf_tree_tensor(t, "", "w", 1, (const int64_t[]){0}, false, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "dim 0 is 0");
    assert_int_equal(sf_tree_tensor(t, "", "w", 9, (const int64_t[]){1}, false, &e), SF_ERR_INVALID_ARG);
    sf_tree_free(t);
    sf_tree_free(NULL);
    /* at compile time */
    t = sf_tree_new();
    ok(sf_tree_module(t, "", "Transformer", "", &e), &e);
    refused_at_build(t, "is an nn.Transformer, which sheaf does not model");
    t = sf_tree_new();
    ok(sf_tree_module(t, "", "Missing", NULL, &e), &e);
    refused_at_build(t, "module '(the model)' is a Missing, which live.py does not define as an nn.Module");
    t = live_tree("relu");
    ok(sf_tree_attr(t, "", "extra", "(1, ", &e), &e);
    refused_at_build(t, "module tree: attribute 'extra' of ''");
    t = live_tree("relu");
    ok(sf_tree_module(t, "fc2", "Linear", "4, 4, colour=3", &e), &e);
    refused_at_build(t, "colour");
    t = sf_tree_new();
    ok(sf_tree_module(t, "", "Net", NULL, &e), &e); /* no attributes: forward names the missing one */
    refused_at_build(t, "live.py:13:");
    /* a tree and --model, or a tree for IR */
    t = pfcn8_tree();
    sf_options both = {.tree = t, .model = "ParallelFCN(8)", .inputs = pfcn_inputs, .ninputs = 1};
    assert_null(sf_compile_file(SF_MODELS "/parallel_fcn.py", &both, &e));
    assert_contains(e.msg, "a module tree and --model: give one of them");
    sf_options ir = {.tree = t};
    assert_null(sf_compile_file(SF_EXAMPLES "/mlp.sfir", &ir, &e));
    assert_contains(e.msg, "apply to .py model files");
    sf_tree_free(t);
    assert_int_equal(sf_tree_module(NULL, "", "Net", NULL, &e), SF_ERR_INVALID_ARG);
}

/* modules held in plain lists, tuples and dicts (nested too): not
 * registered children in PyTorch, so out of state_dict, but a live
 * instance hands their tensors over under path.<index or key>.<name> */
static const char *HELD = "import torch.nn as nn\n"
                          "\n"
                          "class Held(nn.Module):\n"
                          "    def forward(self, x):\n"
                          "        y = self.base(x)\n"
                          "        for h in self.heads:\n"
                          "            y = y + h(x)\n"
                          "        y = y + self.pair[1](x) - self.pair[0](x)\n"
                          "        y = y + self.experts['b'](x) * 2 + self.experts['a'](x)\n"
                          "        return y + self.nested[0][0](x)\n";

static const char *held_paths[] = {"base", "heads.0", "heads.1", "pair.0", "pair.1", "experts.b", "experts.a",
                                   "nested.0.0"};
static const double held_coef[] = {1, 1, 1, -1, 1, 2, 1, 1};

static sf_module_tree *held_tree(void)
{
    sf_module_tree *t = sf_tree_new();
    sf_error e = {0};
    ok(sf_tree_module(t, "", "Held", NULL, &e), &e);
    ok(sf_tree_module(t, "base", "Linear", "4, 3, bias=False", &e), &e);
    ok(sf_tree_module(t, "heads", "list", NULL, &e), &e);
    ok(sf_tree_module(t, "pair", "tuple", NULL, &e), &e);
    ok(sf_tree_module(t, "experts", "dict", NULL, &e), &e);
    ok(sf_tree_module(t, "nested", "list", NULL, &e), &e);
    ok(sf_tree_module(t, "nested.0", "list", NULL, &e), &e);
    for (int i = 1; i < 8; i++)
        ok(sf_tree_module(t, held_paths[i], "Linear", "4, 3, bias=False", &e), &e);
    return t;
}

static void test_modules_in_plain_containers(void **state)
{
    (void)state;
    float W[8][12], x[8], want[6] = {0}, y[6];
    sf_weights *wt = sf_weights_new();
    sf_error e = {0};
    for (int k = 0; k < 8; k++) {
        char key[64];
        for (int i = 0; i < 12; i++)
            W[k][i] = (float)((i * 7 + k * 5) % 11) / 8 - 0.6f;
        snprintf(key, sizeof key, "%s.weight", held_paths[k]);
        ok(sf_weights_set(wt, key, 2, (const int64_t[]){3, 4}, W[k], &e), &e);
    }
    for (int i = 0; i < 8; i++)
        x[i] = (float)(i % 5) / 2 - 1;
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 8; k++)
                for (int i = 0; i < 4; i++)
                    s += held_coef[k] * x[r * 4 + i] * W[k][j * 4 + i];
            want[r * 3 + j] = (float)s;
        }
    sf_module_tree *t = held_tree();
    sf_options o = {.tree = t, .inputs = live_inputs, .ninputs = 1, .weights = wt, .check = true};
    sf_model *m = sf_compile_text(HELD, strlen(HELD), "held.py", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    ok(sf_run(m, 2, (const float *const[]){x}, (float *const[]){y}, &e), &e);
    assert_close(y, want, 6, 1e-5, 1e-6);
    sf_model_free(m);
    /* their keys are what the model expects: one missing is named */
    sf_weights *few = sf_weights_new();
    ok(sf_weights_set(few, "base.weight", 2, (const int64_t[]){3, 4}, W[0], &e), &e);
    o.weights = few;
    assert_null(sf_compile_text(HELD, strlen(HELD), "held.py", &o, &e));
    assert_contains(e.msg, "heads.0.weight");
    sf_weights_free(few);
    sf_weights_free(wt);
    sf_tree_free(t);
}

static void test_plain_container_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_module_tree *t = sf_tree_new();
    assert_int_equal(sf_tree_module(t, "", "list", NULL, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "a plain list of modules is held by a module of the file");
    ok(sf_tree_module(t, "", "Held", NULL, &e), &e);
    assert_int_equal(sf_tree_module(t, "heads", "list", "", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "without arguments");
    ok(sf_tree_module(t, "seq", "Sequential", "", &e), &e);
    assert_int_equal(sf_tree_module(t, "seq.0", "tuple", NULL, &e), SF_ERR_INVALID_ARG);
    ok(sf_tree_module(t, "heads", "list", NULL, &e), &e);
    assert_int_equal(sf_tree_module(t, "heads.1", "Linear", "4, 3", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "'heads.1' is element 0 of the plain list 'heads', not '1'");
    ok(sf_tree_module(t, "heads.0", "Linear", "4, 3", &e), &e);
    assert_int_equal(sf_tree_module(t, "heads.0", "Linear", "4, 3", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "given twice");
    assert_int_equal(sf_tree_attr(t, "heads", "n", "1", &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "a plain list holds modules only");
    assert_int_equal(sf_tree_tensor(t, "heads", "0", 1, (const int64_t[]){3}, false, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "a plain list holds modules only");
    ok(sf_tree_module(t, "d", "dict", NULL, &e), &e);
    ok(sf_tree_module(t, "d.any key", "Linear", "4, 3", &e), &e); /* a dict's keys are strings, any but dotted */
    sf_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_tree_builds_what_the_constructor_builds),
        cmocka_unit_test(test_attributes_tensors_and_an_init_never_run),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_modules_in_plain_containers),
        cmocka_unit_test(test_plain_container_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
