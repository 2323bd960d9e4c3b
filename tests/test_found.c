/* Regressions for what was found by trying sheaf on models written outside
 * the test corpus (tests/models/found.py): each model that the CPU backend
 * once got wrong runs at every batch from 1 to 300, at -O0 and -O2,
 * against the interpreter on the unoptimised graph. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SF_CLANG_ASAN 1
#endif
#endif
#ifndef SF_CLANG_ASAN
#define SF_CLANG_ASAN 0
#endif
#include <stdlib.h>
#include <string.h>

#include "tools/bench.h"
#include "runtime/cpu.h"
#ifdef SF_TEST_CPU_INTERNALS
#include "runtime/cpu_model.h"
#include "runtime/elf_check.h"
#endif
#include "ir/fileio.h"
#include "frontend/frontend.h"
#include "runtime/model.h"
#include "passes/pass.h"

static sf_py_model *trace(const char *file, const char *expr, const char *input)
{
    char path[1024], *src;
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/%s", SF_MODELS, file);
    assert_int_equal(sf_read_file(path, &src, &len, &e), SF_OK);
    const char *inputs[] = {input};
    sf_py_options o = {expr, inputs, 1, NULL, 0, 0, NULL};
    sf_py_model *m = sf_py_compile(path, src, len, &o, &e);
    free(src);
    if (!m)
        fail_msg("%s: %s", expr, e.msg);
    return m;
}

/* the CPU backend on `expr` at opt level `level` matches the interpreter on
 * the -O0 graph at every batch in [1, max_batch] */
static void every_batch(const char *file, const char *expr, const char *input, int level, int64_t max_batch)
{
    sf_error e = {0};
    sf_py_model *m0 = trace(file, expr, input), *m = trace(file, expr, input);
    sf_tensor_set *w = sf_tensors_new();
    assert_int_equal(sf_py_init_weights(m0, 7, w, &e), SF_OK);
    sf_module mod = {.g = m->graph, .weights = w};
    sf_pipeline_opts o = {.opt_level = level, .verify_each = true};
    if (sf_run_pipeline(&mod, &o, &e) != SF_OK)
        fail_msg("%s: %s", expr, e.msg);
    m->graph = mod.g;
    sf_cpu_model *cm = sf_cpu_compile(m->graph, &e);
    if (!cm)
        fail_msg("%s: %s", expr, e.msg);
    for (int64_t batch = 1; batch <= max_batch; batch++) {
        sf_tensor_set *in = sf_tensors_new(), *want = sf_tensors_new(), *got = sf_tensors_new();
        assert_int_equal(sf_random_inputs(m0->graph, batch, (uint64_t)batch, in, &e), SF_OK);
        assert_int_equal(sf_interp_run(m0->graph, batch, in, w, want, &e), SF_OK);
        if (sf_cpu_run(cm, batch, in, w, got, &e) != SF_OK)
            fail_msg("%s batch %lld: %s", expr, (long long)batch, e.msg);
        assert_int_equal(sf_tensors_count(got), sf_tensors_count(want));
        for (size_t i = 0; i < want->tensors.len; i++) {
            const sf_tensor *a = want->tensors.items[i], *b = got->tensors.items[i];
            assert_int_equal(sf_tensor_numel(a), sf_tensor_numel(b));
            for (size_t k = 0; k < sf_tensor_numel(a); k++) {
                double d = (double)b->data[k] - a->data[k], tol = 1e-5 + 1e-4 * (a->data[k] < 0 ? -a->data[k] : a->data[k]);
                if (!(d <= tol && -d <= tol))
                    fail_msg("%s -O%d batch %lld: output %zu element %zu: cpu %g, interpreter %g", expr, level,
                             (long long)batch, i, k, b->data[k], a->data[k]);
            }
        }
        sf_tensors_free(in), sf_tensors_free(want), sf_tensors_free(got);
    }
    sf_cpu_free(cm);
    sf_tensors_free(w);
    sf_py_model_free(m0), sf_py_model_free(m);
}

/* 37 heads on their own 12-column slices: Linear(12, 7) -> tanh ->
 * Linear(7, 3): grouped products too narrow for a chunk of 8, chained;
 * the chain ran over 5 of its 37 work items per row below batch 257 */
static void test_narrow_chain(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    for (int level = 0; level <= 2; level += 2)
        every_batch("found.py", "Heads(37, 12, 7, 3)", "x=f32[B,444]", level, 300);
}

/* x @ W with W a parameter: the kernel took the batch dim for a constant */
static void test_matmul_parameter(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    for (int level = 0; level <= 2; level += 2) {
        every_batch("found.py", "MatW(4, 4)", "x=f32[B,4]", level, 40);
        every_batch("found.py", "MatW(5, 3)", "x=f32[B,2,5]", level, 40);
    }
}

/* 50 branches of Linear -> GELU -> Linear, torch.stack(...).mean(0) */
static void test_stack_mean(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    for (int level = 0; level <= 2; level += 2)
        every_batch("found.py", "StackMean(50, 10, 5, 3)", "x=f32[B,10]", level, 300);
}

static const char linear_ir[] = "param @w : f32[3,4]\nparam @b : f32[3]\n\nfunc @f(%x: f32[B,4]) {\n"
                                "  %0 = linear %x, @w, @b : f32[B,3]\n  %1 = relu %0 : f32[B,3]\n  return %1\n}\n";

/* a model run once: the CPU backend keeps the weights it packed then */
static sf_model *wrong_after_first_run(bool check, bool unoptimised)
{
    sf_error e = {0};
    sf_options o = {.backend = "cpu", .seed = 3, .check = check, .unoptimised = unoptimised};
    sf_model *m = sf_compile_text(linear_ir, strlen(linear_ir), "lin.sfir", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    float x[8] = {1, 2, 3, 4, -1, 0.5f, 2, 1}, y[6];
    const float *in[] = {x};
    float *out[] = {y};
    assert_int_equal(sf_run(m, 2, in, out, &e), SF_OK);
    return m;
}

/* the interpreter's weights changed in place (the CPU's packed copy is
 * not: nothing told it), so that the two disagree */
static void corrupt(sf_model *m)
{
    for (size_t i = 0; i < m->weights->tensors.len; i++)
        ((sf_tensor *)m->weights->tensors.items[i])->data[0] += 3.0f;
}

/* sf_options.check (sheaf run --check) names the output, the element and both values */
static void test_check_reports_a_wrong_result(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    sf_error e = {0};
    sf_model *m = wrong_after_first_run(true, false);
    float x[8] = {1, 2, 3, 4, -1, 0.5f, 2, 1}, y[6];
    const float *in[] = {x};
    float *out[] = {y};
    assert_int_equal(sf_run(m, 2, in, out, &e), SF_OK); /* not yet wrong: agrees */
    corrupt(m);
    assert_int_equal(sf_run(m, 2, in, out, &e), SF_ERR_RUNTIME);
    assert_contains(e.msg, "check: output 'output' element ");
    assert_contains(e.msg, "at batch 2: cpu ");
    assert_contains(e.msg, ", interpreter ");
    sf_model_free(m);
    /* a NaN where the oracle has a number is a disagreement, not a pass */
    sf_mismatch w;
    const float want[3] = {1, 2, 3}, got[3] = {1, NAN, 3}, same[3] = {1, 2.0001f, 3};
    assert_false(sf_compare_values(got, want, 3, &w));
    assert_int_equal(w.index, 1);
    assert_true(isinf(w.max_abs));
    assert_true(sf_compare_values(same, want, 3, &w));
}

/* sheaf bench exits non-zero when the model disagrees with its baselines */
static void test_bench_fails_on_a_wrong_result(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    sf_model *m = wrong_after_first_run(false, false), *o0 = wrong_after_first_run(false, true);
    int64_t batches[] = {2};
    FILE *devnull = fopen("/dev/null", "w");
    sf_bench_opts bo = {"lin", batches, 1, 0.01, NULL, devnull};
    sf_error e = {0};
    assert_int_equal(sf_bench(m, o0, &bo, &e), 0);
    corrupt(o0); /* the interpreter baseline runs o0's weights */
    assert_int_equal(sf_bench(m, o0, &bo, &e), 1);
    assert_contains(e.msg, "check: output 'output' element ");
    fclose(devnull);
    sf_model_free(m);
    sf_model_free(o0);
}

/* poisoning: a run leaves NaN in every activation byte no kernel wrote */
static void test_poison(void **state)
{
    (void)state;
#ifndef SF_TEST_CPU_INTERNALS
    skip();
#else
    sf_error e = {0};
    sf_model *m = wrong_after_first_run(false, true);
    size_t bytes;
    assert_true(sf_cpu_planned_bytes(m->cpu, 2, &bytes));
    assert_true(bytes >= 2 * 3 * sizeof(float));
    float x[8] = {0}, y[6];
    const float *in[] = {x};
    float *out[] = {y};
    sf_cpu_set_poison(m->cpu, false);
    memset(m->cpu->arena, 0, bytes);
    assert_int_equal(sf_run(m, 1, in, out, &e), SF_OK); /* batch 1 writes half of what batch 2 planned */
    assert_int_equal(m->cpu->arena[bytes - 1], 0);
    sf_cpu_set_poison(m->cpu, true);
    assert_int_equal(sf_run(m, 2, in, out, &e), SF_OK);
    assert_int_equal(m->cpu->arena[bytes - 1], 0xff); /* planned, never written: NaN */
    assert_int_equal(sf_run(m, 1, in, out, &e), SF_OK);
    assert_int_equal(m->cpu->arena[bytes - 1], 0xa5); /* past batch 1's plan: the guard pattern, checked */
    sf_model_free(m);
#endif
}

#ifdef SF_TEST_CPU_INTERNALS
/* cc's object for code: its bytes (the caller frees), NULL where cc is missing */
static char *cc_object(const char *name, const char *code, const char *flags, size_t *len)
{
    char src[512], obj[512], cmd[2048];
    snprintf(src, sizeof src, "%s.c", tmp_path(name));
    snprintf(obj, sizeof obj, "%s.o", tmp_path(name));
    write_bytes(src, code, strlen(code));
    snprintf(cmd, sizeof cmd, "cc -c -O1 %s -o %s %s", flags, obj, src);
    char *bytes = NULL;
    sf_error e = {0};
    if (system(cmd) != 0 || sf_read_file(obj, &bytes, len, &e) != SF_OK)
        return NULL;
    return bytes;
}

/* a package carrying the given object code in place of its own */
static const char *package_with_object(const char *name, char *bytes, size_t len)
{
    static char pkg[512];
    snprintf(pkg, sizeof pkg, "%s.sheaf", tmp_path(name));
    sf_error e = {0};
    sf_model *m = wrong_after_first_run(false, true);
    free(m->cpu->object);
    m->cpu->object = (unsigned char *)bytes, m->cpu->object_size = len;
    assert_int_equal(sf_save(m, pkg, &e), SF_OK);
    sf_model_free(m);
    return pkg;
}
#endif

/* object code LLVM's loader cannot handle (thread-local storage: "LLVM
 * ERROR: allocation of TLS not implemented", then exit) in a package: an
 * error naming the file, and the process goes on */
static void test_package_object_llvm_cannot_load(void **state)
{
    (void)state;
#ifndef SF_TEST_CPU_INTERNALS
    skip();
#else
    static const char code[] = "__thread float t;\n"
                               "void k0(float **a, long b, long lo, long hi) { t += a[0][0] + b + lo + hi; a[1][0] = t; }\n"
                               "void k1(float **a, long b, long lo, long hi) { k0(a, b, lo, hi); }\n";
    size_t len;
    char *bytes = cc_object("tls", code, "-fPIC", &len);
    if (!bytes)
        skip();
    const char *pkg = package_with_object("tls", bytes, len);
    sf_error e = {0};
    sf_options o = {.backend = "cpu"};
    assert_null(sf_load(pkg, &o, &e));
    assert_contains(e.msg, pkg);
    assert_contains(e.msg, "LLVM cannot load the object code");
    assert_null(sf_load(pkg, &o, &e)); /* and again: the handler is still there */
    assert_contains(e.msg, "LLVM cannot load the object code");
#endif
}

/* Found by the Python tests, where PyTorch fills the address space: a
 * kernel of Derived(6, heads=2) tail-called memset through a GOT entry the
 * loader had placed more than 2 GiB from the code (small code model, a
 * 32-bit offset), jumped to a truncated address and crashed the process.
 * Kernels are now compiled with 64-bit addresses, and an object with any
 * relocation of limited reach (to another section or an outside symbol) is
 * refused before LLVM links it. */
static void test_object_relocations_reach_anywhere(void **state)
{
    (void)state;
#ifndef SF_TEST_CPU_INTERNALS
    skip();
#else
    sf_error err = {0};
    sf_py_model *pm = trace("styles.py", "Derived(6, heads=2)", "x=f32[B,6]");
    sf_module mod = {.g = pm->graph, .weights = sf_tensors_new()};
    sf_pipeline_opts po = {.opt_level = 2};
    assert_int_equal(sf_run_pipeline(&mod, &po, &err), SF_OK);
    pm->graph = mod.g;
    sf_cpu_model *cm = sf_cpu_compile(pm->graph, &err);
    if (!cm)
        fail_msg("%s", err.msg);
    assert_null(sf_elf_distance_bound(cm->object, cm->object_size)); /* it calls memset: through a 64-bit address */
    sf_cpu_free(cm);
    sf_tensors_free(mod.weights);
    sf_py_model_free(pm);
    static const char code[] = "#include <string.h>\n"
                               "static const float c[4] = {1, 2, 3, 4};\n"
                               "void k0(float **a, long b, long lo, long hi) { a[1][0] = c[b & 3] * a[0][lo + hi]; }\n"
                               "void k1(float **a, long b, long lo, long hi) { memset(a[1], 0, (size_t)(b + lo + hi)); }\n";
    size_t len;
    char *small = cc_object("small_model", code, "-fPIC", &len);
    if (!small)
        skip();
    const char *why = sf_elf_distance_bound((unsigned char *)small, len);
    assert_non_null(why);
    assert_contains(why, "reaches only 2 GiB");
    const char *pkg = package_with_object("small_model", small, len);
    sf_error e = {0};
    sf_options o = {.backend = "cpu"};
    assert_null(sf_load(pkg, &o, &e));
    assert_contains(e.msg, pkg);
    assert_contains(e.msg, "not safe to load");
    assert_contains(e.msg, "compile it again");
    char *large = cc_object("large_model", code, "-fno-pic -mcmodel=large -fno-asynchronous-unwind-tables", &len);
    assert_non_null(large);
    assert_null(sf_elf_distance_bound((unsigned char *)large, len));
    free(large);
#endif
}

/* a model file whose forward returns `head` followed by `step` n times */
static char *chained(const char *prefix, const char *head, const char *step, const char *sep, int n)
{
    size_t cap = strlen(prefix) + strlen(head) + (size_t)n * (strlen(step) + strlen(sep)) + 64;
    char *s = malloc(cap), *p = s;
    p += sprintf(p, "%s        return %s", prefix, head);
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%s", sep, step);
    sprintf(p, "\n");
    return s;
}

static const char *trace_error(const char *src)
{
    static sf_error e;
    memset(&e, 0, sizeof e);
    const char *inputs[] = {"x=f32[B,4]"};
    sf_py_options o = {"M()", inputs, 1, NULL, 0, 0, NULL};
    sf_py_model *m = sf_py_compile("chain.py", src, strlen(src), &o, &e);
    if (m)
        fail_msg("traced what should be refused:\n%.300s", src);
    return e.msg;
}

/* long operator chains and self-containing containers: refused with the
 * place, not a crash (the evaluator recursed once per link) */
static void test_long_chains_refused(void **state)
{
    (void)state;
    static const char head[] = "import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n";
    static const char head_y[] = "import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, x):\n"
                                 "        y = [[x]]\n";
    struct { const char *prefix, *head, *step, *sep; int n; } cases[] = {
        {head, "x", "x", " + ", 100000}, {head, "x * 1", "1", " + ", 60000}, {head, "x", "relu()", ".", 30000},
        {head_y, "y", "[0]", "", 100000}, {head, "x", "x", " * ", 1001},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *src = chained(cases[i].prefix, cases[i].head, cases[i].step, cases[i].sep, cases[i].n);
        const char *msg = trace_error(src);
        assert_contains(msg, "chain.py:");
        assert_contains(msg, "expression nested deeper than 1000 levels");
        free(src);
    }
    /* below the limit: traced */
    char *src = chained(head, "x", "x", " + ", 400);
    const char *inputs[] = {"x=f32[B,4]"};
    sf_py_options o = {"M()", inputs, 1, NULL, 0, 0, NULL};
    sf_error e = {0};
    sf_py_model *m = sf_py_compile("chain.py", src, strlen(src), &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    sf_py_model_free(m);
    free(src);
    static const char self_seq[] = "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n"
                                   "        super().__init__()\n        self.l = nn.Sequential(nn.Linear(4, 4))\n"
                                   "        self.l.append(self.l)\n    def forward(self, x):\n        return self.l(x)\n";
    const char *msg = trace_error(self_seq);
    assert_contains(msg, "chain.py:8:16: module calls nested deeper than 200 (a Sequential that contains itself?)");
}

/* messages that misled: each now names what is wrong */
static void test_messages(void **state)
{
    (void)state;
    static const char two_fc[] = "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n"
                                 "        super().__init__()\n        self.fc = nn.Linear(4, 4)\n"
                                 "        self.fc2 = nn.Linear(4, 4)\n    def forward(self, x):\n        return self.fc(x)\n";
    /* a submodule forward never calls needs no weights when they come from the seed (PyTorch runs it) */
    const char *inputs[] = {"x=f32[B,4]", "x=f32[B,4]"};
    sf_options o = {.model = "M()", .inputs = inputs, .ninputs = 1, .backend = "interp"};
    sf_error e = {0};
    sf_model *m = sf_compile_text(two_fc, strlen(two_fc), "two.py", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    sf_model_free(m);
    /* the same --input twice */
    o.ninputs = 2;
    assert_null(sf_compile_text(two_fc, strlen(two_fc), "two.py", &o, &e));
    assert_contains(e.msg, "forward argument 'x' is given twice (--input x=f32[B,4], --input x=f32[B,4])");
    /* a 100001-digit integer */
    size_t n = 100001;
    char *big = malloc(n + 64);
    memcpy(big, "x = ", 4);
    memset(big + 4, '9', n);
    strcpy(big + 4 + n, "\n");
    o.ninputs = 1;
    assert_null(sf_compile_text(big, strlen(big), "big.py", &o, &e));
    assert_contains(e.msg, "big.py:1:5: number literal longer than 126 characters");
    free(big);
    /* NUL in a module name made two modules one, sharing parameters */
    static const char nul[] = "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n"
                              "        super().__init__()\n        setattr(self, 'a\\x00b', nn.Linear(4, 4))\n"
                              "        setattr(self, 'a\\x00c', nn.Linear(4, 4))\n    def forward(self, x):\n"
                              "        return getattr(self, 'a\\x00b')(x)\n";
    assert_null(sf_compile_text(nul, strlen(nul), "nul.py", &o, &e));
    assert_contains(e.msg, "nul.py:5:23: a NUL character in a string is not supported");
    /* an error in the --model expression is placed in the option, one in __init__ in the file */
    o.model = "M(5)";
    assert_null(sf_compile_text(two_fc, strlen(two_fc), "two.py", &o, &e));
    assert_contains(e.msg, "--model:1:1: M.__init__ takes 0 argument(s), got 1");
    o.model = "M(undefined)";
    assert_null(sf_compile_text(two_fc, strlen(two_fc), "two.py", &o, &e));
    assert_contains(e.msg, "--model:1:3: name 'undefined' is not defined");
    static const char bad_init[] = "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self, n):\n"
                                   "        super().__init__()\n        self.fc = nn.Linear(n + 'a', 4)\n";
    o.model = "M(3)";
    assert_null(sf_compile_text(bad_init, strlen(bad_init), "init.py", &o, &e));
    assert_contains(e.msg, "init.py:5:");
    /* zero-size tensors: refused as such, not as a null or too large buffer */
    static const char zero[] = "func @f(%x: f32[B,0]) {\n  %0 = relu %x : f32[B,0]\n  return %0\n}\n";
    sf_options zo = {.backend = "interp"};
    sf_model *z = sf_compile_text(zero, strlen(zero), "zero.sfir", &zo, &e);
    if (!z)
        fail_msg("%s", e.msg);
    float buf[1];
    const float *zin[] = {buf};
    float *zout[] = {buf};
    assert_int_equal(sf_run(z, 3, zin, zout, &e), SF_ERR_UNSUPPORTED);
    assert_contains(e.msg, "sf_run: input 0 has a zero-size dim (x): zero-size tensors are not supported");
    sf_model_free(z);
}

/* resource limits: a node budget that names the model and the count, and
 * __init__ work that is linear in the number of attributes */
static void test_limits(void **state)
{
    (void)state;
    sf_error e = {0};
    const char *pin[] = {"x=f32[B,20000]"};
    sf_options o = {.model = "ParallelFCN(1000)", .inputs = pin, .ninputs = 1, .backend = "interp", .max_nodes = 1000};
    assert_null(sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e));
    assert_contains(e.msg, "ParallelFCN(1000) unrolls to more than 1000 IR nodes: tracing stopped (raise the limit "
                           "with --max-nodes N");
    static const char many[] = "import torch.nn as nn\nclass L(nn.Module):\n    def __init__(self, n):\n"
                               "        super().__init__()\n        self.fc = nn.Linear(4, 4)\n"
                               "        self.many = [self.fc] * n\n        for i in range(n // 50):\n"
                               "            setattr(self, 'a%d' % i, i)\n    def forward(self, x):\n"
                               "        for f in self.many:\n            x = f(x)\n        return x\n";
    const char *in4[] = {"x=f32[B,4]"};
    sf_options l = {.model = "L(10**7)", .inputs = in4, .ninputs = 1, .backend = "interp", .max_nodes = 100000};
    assert_null(sf_compile_text(many, strlen(many), "many.py", &l, &e)); /* 200000 attributes, then 10^7 calls */
    assert_contains(e.msg, "L(10**7) unrolls to more than 100000 IR nodes");
    l.model = "L(2000)";
    sf_model *m = sf_compile_text(many, strlen(many), "many.py", &l, &e);
    if (!m)
        fail_msg("%s", e.msg);
    sf_model_free(m);
#if !defined(__SANITIZE_ADDRESS__) && !SF_CLANG_ASAN
    /* ParallelFCN(100000) is well inside the default budget (about 10 s; not under ASan) */
    const char *big[] = {"x=f32[B,2000000]"};
    sf_options p = {.model = "ParallelFCN(100000)", .inputs = big, .ninputs = 1, .backend = "interp"};
    if (!(m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &p, &e)))
        fail_msg("%s", e.msg);
    assert_int_equal(sf_output_numel(m, 0, 1), 100000);
    sf_model_free(m);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_narrow_chain),
        cmocka_unit_test(test_matmul_parameter),
        cmocka_unit_test(test_stack_mean),
        cmocka_unit_test(test_check_reports_a_wrong_result),
        cmocka_unit_test(test_bench_fails_on_a_wrong_result),
        cmocka_unit_test(test_poison),
        cmocka_unit_test(test_package_object_llvm_cannot_load),
        cmocka_unit_test(test_object_relocations_reach_anywhere),
        cmocka_unit_test(test_long_chains_refused),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
