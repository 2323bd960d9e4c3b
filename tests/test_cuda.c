/* The CUDA backend without a GPU: the generated CUDA C of every model and
 * of 100 random models compiles under NVRTC for sm_80 and sm_90 (CUBIN)
 * with no warnings, and the models' also as compute_90 PTX. Skips, saying why, where NVRTC
 * cannot be loaded. */
#define _GNU_SOURCE /* asprintf */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda.h"
#include "runtime/nvrtc.h"
#include "ir/fileio.h"
#include "frontend/frontend.h"
#include "golden_case.h"
#include "runtime/nvrtc_cache.h"
#include "passes/pass.h"
#include "randmodel.h"

static bool nvrtc_or_skip(void)
{
    const char *why;
    if (sf_nvrtc_available(&why))
        return true;
    printf("  cuda: skipped: %s\n", why);
    return false;
}

/* Compiles g's CUDA for sm_80 and sm_90 (CUBIN) and, with ptx, compute_90;
 * NULL when all compile with an empty log, else what went wrong (malloc'd).
 * Thread-safe: the random models compile on two threads. */
static char *compile_problem(const sf_graph *g, const char *what, bool ptx)
{
    sf_error e = {0};
    sf_cuda_source src;
    char *problem = NULL;
    if (sf_cuda_emit(g, &src, &e) != SF_OK) {
        asprintf(&problem, "%s: %s", what, e.msg);
        return problem;
    }
    static const struct { int arch; bool cubin; } targets[] = {{80, true}, {90, true}, {90, false}};
    for (size_t i = 0; !problem && i < (ptx ? 3u : 2u); i++) {
        unsigned char *out;
        size_t len;
        char *log;
        if (sf_nvrtc_compile(src.text, targets[i].arch, targets[i].cubin, &out, &len, &log, &e) != SF_OK)
            asprintf(&problem, "%s: %s\n--- source ---\n%.4000s", what, e.msg, src.text);
        else if (log && *log)
            asprintf(&problem, "%s: NVRTC said, for %d: %s", what, targets[i].arch, log);
        else if (len < 100 || (targets[i].cubin ? memcmp(out, "\177ELF", 4) != 0
                                                : !strstr((const char *)out, ".entry sheaf_k0")))
            asprintf(&problem, "%s: NVRTC's output for %d is not %s", what, targets[i].arch,
                     targets[i].cubin ? "an ELF image" : "PTX with the first kernel");
        free(out), free(log);
    }
    sf_cuda_source_free(&src);
    return problem;
}

static void compiles_cleanly(const sf_graph *g, const char *what)
{
    char *problem = compile_problem(g, what, true);
    if (problem)
        fail_msg("%s", problem);
}

static sf_graph *trace(const char *file, const char *model, const char *input, const char *konst, int opt,
                       sf_tensor_set *w)
{
    char path[1024], *text;
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/%s", SF_MODELS, file);
    assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
    const char *inputs[1] = {input}, *consts[1] = {konst};
    sf_py_options o = {model, inputs, 1, consts, konst && *konst ? 1 : 0, 0, NULL};
    sf_py_model *pm = sf_py_compile(path, text, len, &o, &e);
    free(text);
    if (!pm)
        fail_msg("%s: %s", model, e.msg);
    if (sf_init_weights(pm->graph, 1, w, &e) != SF_OK)
        fail_msg("%s: %s", model, e.msg);
    sf_module m = {.g = pm->graph, .weights = w};
    sf_pipeline_opts po = {.opt_level = opt};
    if (sf_run_pipeline(&m, &po, &e) != SF_OK)
        fail_msg("%s: %s", model, e.msg);
    pm->graph = NULL;
    sf_py_model_free(pm);
    return m.g;
}

/* the quoted value after `flag` on a `# compile:` line, or "" */
static void flag_value(const char *line, const char *flag, char *out, size_t cap)
{
    out[0] = '\0';
    const char *p = strstr(line, flag);
    if (!p || !(p = strchr(p, '"')))
        return;
    const char *q = strchr(p + 1, '"');
    if (q && (size_t)(q - p) <= cap)
        snprintf(out, cap, "%.*s", (int)(q - p - 1), p + 1);
}

/* every `# compile:` line of every model file, at -O0 and -O2 */
static void test_models_compile(void **state)
{
    (void)state;
    if (!nvrtc_or_skip())
        skip();
    static const char *const files[] = {"conditional.py", "conv_pfcn.py", "growing_layer.py", "mlp.py",
                                        "module_list_mlp.py", "parallel_fcn.py", "resnet_like.py"};
    int done = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024], *text;
        size_t len;
        sf_error e = {0};
        snprintf(path, sizeof path, "%s/%s", SF_MODELS, files[i]);
        assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
        for (char *line = strstr(text, "# compile:"); line; line = strstr(line + 1, "# compile:")) {
            char *end = strchr(line, '\n'), model[256], input[256], konst[256];
            if (end)
                *end = '\0';
            flag_value(line, "--model", model, sizeof model);
            flag_value(line, "--input", input, sizeof input);
            flag_value(line, "--const", konst, sizeof konst);
            for (int opt = 0; opt <= 2; opt += 2) {
                if (opt == 0 && strstr(model, "1000")) /* -O0 ParallelFCN(1000): 7,002 nodes, covered at 50 below */
                    continue;
                sf_tensor_set *w = sf_tensors_new();
                sf_graph *g = trace(files[i], model, input, konst, opt, w);
                char what[600];
                snprintf(what, sizeof what, "%s -O%d", model, opt);
                compiles_cleanly(g, what);
                printf("  cuda: %-40s compiles for sm_80, sm_90, compute_90\n", what);
                sf_graph_free(g);
                sf_tensors_free(w);
                done++;
            }
            if (end)
                *end = '\n';
        }
        free(text);
    }
    assert_true(done >= 16);
    /* an -O0 graph with a thousand-operand concat of slices, small enough to compile fast */
    sf_tensor_set *w = sf_tensors_new();
    sf_graph *g = trace("parallel_fcn.py", "ParallelFCN(50)", "x=f32[B,1000]", "", 0, w);
    compiles_cleanly(g, "ParallelFCN(50) -O0");
    sf_graph_free(g);
    sf_tensors_free(w);
}

static void golden_compiles(golden_case *c, void *ctx)
{
    (void)ctx;
    for (int level = 0; level <= 2; level += 2) {
        char what[96];
        snprintf(what, sizeof what, "golden %s -O%d", c->name, level);
        if (level == 2)
            golden_optimise(c);
        char *problem = compile_problem(c->model->graph, what, false);
        if (problem)
            fail_msg("%s", problem);
    }
}

/* the golden cases' models (tests/models/styles.py's too) at -O0 and -O2 */
static void test_golden_models_compile(void **state)
{
    (void)state;
    if (!nvrtc_or_skip())
        skip();
    int count = golden_each(golden_compiles, NULL);
    printf("  cuda: the %d golden cases' models compile for sm_80 and sm_90 at -O0 and -O2\n", count);
}

typedef struct random_share {
    uint64_t first, step, last;
    char *problem; /* the first failure */
} random_share;

static void *random_worker(void *arg)
{
    random_share *r = arg;
    for (uint64_t seed = r->first; seed <= r->last && !r->problem; seed += r->step) {
        char *ir = sf_test_random_model(seed), what[64];
        sf_error e = {0};
        snprintf(what, sizeof what, "random model %llu", (unsigned long long)seed);
        sf_graph *g = sf_parse(ir, strlen(ir), "rand.sfir", &e);
        sf_module m = {.g = g, .weights = sf_tensors_new()};
        sf_pipeline_opts po = {.opt_level = 2};
        if (!g || sf_init_weights(g, seed, m.weights, &e) != SF_OK || sf_run_pipeline(&m, &po, &e) != SF_OK)
            asprintf(&r->problem, "%s: %s", what, e.msg);
        else
            r->problem = compile_problem(m.g, what, false);
        sf_graph_free(m.g);
        sf_tensors_free(m.weights);
        free(ir);
    }
    return NULL;
}

/* 100 random models at -O2 (the corpus is also checked at -O0), for sm_80 and sm_90 */
static void test_random_models_compile(void **state)
{
    (void)state;
    if (!nvrtc_or_skip())
        skip();
    random_share shares[2] = {{1, 2, 100, NULL}, {2, 2, 100, NULL}};
    pthread_t other;
    assert_int_equal(pthread_create(&other, NULL, random_worker, &shares[1]), 0);
    random_worker(&shares[0]);
    pthread_join(other, NULL);
    for (int i = 0; i < 2; i++)
        if (shares[i].problem)
            fail_msg("%s", shares[i].problem);
    printf("  cuda: 100 random models compile for sm_80 and sm_90\n");
}

/* literals C++ cannot spell as printed: an integral float, infinities, NaN */
static void test_literals(void **state)
{
    (void)state;
    if (!nvrtc_or_skip())
        skip();
    const char *ir = "func @f(%x: f32[B,2]) {\n  %0 = scalar {value=2} : f32[]\n  %1 = mul %x, %0 : f32[B,2]\n"
                     "  %2 = scalar {value=-inf} : f32[]\n  %3 = add %1, %2 : f32[B,2]\n"
                     "  %4 = scalar {value=nan} : f32[]\n  %5 = scalar {value=inf} : f32[]\n"
                     "  %6 = add %4, %5 : f32[]\n  return %1, %3, %6\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t", &e);
    if (!g)
        fail_msg("%s", e.msg);
    compiles_cleanly(g, "literals");
    sf_graph_free(g);
}

static int count_files(const char *dir)
{
    char cmd[600], line[32] = "";
    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    pclose(p);
    return atoi(line);
}

static unsigned char *cached_compile(const char *src, bool use, bool *hit, size_t *len)
{
    unsigned char *out;
    char *log;
    sf_error e = {0};
    if (sf_nvrtc_compile_cached(src, 80, true, use, &out, len, &log, hit, &e) != SF_OK)
        fail_msg("%s", e.msg);
    assert_string_equal(log, "");
    free(log);
    return out;
}

/* the on-disk cache: a second compile is a hit with the same bytes; a
 * damaged entry, another source, --no-cache and a cache that cannot be
 * written all compile with NVRTC and never fail */
static void test_cache(void **state)
{
    (void)state;
    if (!nvrtc_or_skip())
        skip();
    char dir[512], sub[600], *old = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    snprintf(dir, sizeof dir, "%s", tmp_path("cache"));
    snprintf(sub, sizeof sub, "%s/sheaf", dir);
    setenv("XDG_CACHE_HOME", dir, 1);
    const char *src = "extern \"C\" __global__ void sheaf_k0(float *x) { x[threadIdx.x] += 1.0f; }\n";
    bool hit;
    size_t len, len2;
    unsigned char *first = cached_compile(src, true, &hit, &len);
    assert_false(hit);
    assert_int_equal(count_files(sub), 1);
    unsigned char *again = cached_compile(src, true, &hit, &len2);
    assert_true(hit);
    assert_int_equal(len, len2);
    assert_memory_equal(first, again, len);
    free(again);
    /* a flipped byte in the stored image: a miss, then a good entry again */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*.cubin) && printf 'X' | dd of=\"$f\" bs=1 seek=300 conv=notrunc 2>/dev/null", sub);
    assert_int_equal(system(cmd), 0);
    free(cached_compile(src, true, &hit, &len2));
    assert_false(hit);
    again = cached_compile(src, true, &hit, &len2);
    assert_true(hit);
    assert_memory_equal(first, again, len);
    free(again);
    /* without the cache: NVRTC runs and nothing is added */
    free(cached_compile(src, false, &hit, &len2));
    assert_false(hit);
    const char *other = "extern \"C\" __global__ void sheaf_k0(float *x) { x[threadIdx.x] += 2.0f; }\n";
    free(cached_compile(other, false, &hit, &len2));
    assert_int_equal(count_files(sub), 1);
    free(cached_compile(other, true, &hit, &len2));
    assert_false(hit);
    assert_int_equal(count_files(sub), 2);
    /* a cache directory that cannot be made: compiled all the same */
    char blocked[600];
    snprintf(blocked, sizeof blocked, "%s/file", dir);
    write_bytes(blocked, "x", 1);
    setenv("XDG_CACHE_HOME", blocked, 1);
    free(cached_compile(src, true, &hit, &len2));
    assert_false(hit);
    /* a relative XDG_CACHE_HOME is ignored, as the XDG spec says: ~/.cache/sheaf */
    setenv("XDG_CACHE_HOME", "relative", 1);
    const char *why;
    char path[600];
    if (getenv("HOME") && getenv("HOME")[0] == '/') {
        assert_true(sf_nvrtc_cache_dir(path, sizeof path, &why));
        assert_non_null(strstr(path, "/.cache/sheaf"));
    }
    if (old)
        setenv("XDG_CACHE_HOME", old, 1);
    else
        unsetenv("XDG_CACHE_HOME");
    free(old);
    free(first);
}

/* the cache file parser: only an entry for exactly the key asked for matches */
static void test_cache_entries(void **state)
{
    (void)state;
    const unsigned char image[] = "IMAGE";
    size_t len, got;
    unsigned char *e = sf_nvrtc_cache_entry("--opt", 12090, "src", image, 5, &len);
    assert_non_null(e);
    const unsigned char *im = sf_nvrtc_cache_match(e, len, "--opt", 12090, "src", &got);
    assert_non_null(im);
    assert_int_equal(got, 5);
    assert_memory_equal(im, "IMAGE", 5);
    assert_null(sf_nvrtc_cache_match(e, len, "--opt", 12080, "src", &got));  /* another NVRTC */
    assert_null(sf_nvrtc_cache_match(e, len, "--opx", 12090, "src", &got));  /* other options */
    assert_null(sf_nvrtc_cache_match(e, len, "--opt", 12090, "srd", &got));  /* another source */
    assert_null(sf_nvrtc_cache_match(e, len, "--opt", 12090, "sr", &got));
    for (size_t cut = 0; cut < len; cut++) /* every truncation */
        assert_null(sf_nvrtc_cache_match(e, cut, "--opt", 12090, "src", &got));
    e[len - 1] ^= 1; /* the checksum */
    assert_null(sf_nvrtc_cache_match(e, len, "--opt", 12090, "src", &got));
    e[len - 1] ^= 1;
    memset(e + 16, 0xff, 8); /* sizes that would overflow a sum */
    assert_null(sf_nvrtc_cache_match(e, len, "--opt", 12090, "src", &got));
    free(e);
}

/* what the CUDA side refuses, by name */
static void test_refusals(void **state)
{
    (void)state;
    const char *ir = "func @f(%x: f16[B,4]) {\n  %0 = relu %x : f16[B,4]\n  return %0\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t", &e);
    sf_cuda_source src;
    assert_int_equal(sf_cuda_emit(g, &src, &e), SF_ERR_UNSUPPORTED);
    assert_contains(e.msg, "relu");
    assert_contains(e.msg, "only f32 is compiled");
    sf_graph_free(g);
    if (!nvrtc_or_skip())
        return;
    unsigned char *out;
    size_t len;
    char *log;
    assert_int_equal(sf_nvrtc_compile("", 7, true, &out, &len, &log, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "architecture 7 is not a compute capability");
    /* a compile error comes back with NVRTC's log */
    assert_int_equal(sf_nvrtc_compile("extern \"C\" __global__ void k() { undeclared_thing(); }", 80, true, &out,
                                      &len, &log, &e),
                     SF_ERR_RUNTIME);
    assert_contains(e.msg, "could not compile the model for sm_80");
    assert_contains(e.msg, "undeclared_thing");
    assert_null(out);
    free(log);
    /* the CPU runs --backend cuda where no device is, and says so in one line */
    sf_options o = {.model = "ParallelFCN(8)", .inputs = (const char *[]){"x=f32[B,160]"}, .ninputs = 1,
                    .backend = "cuda"};
    sf_model *m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_contains(sf_model_notice(m), "backend cuda: ");
    assert_contains(sf_model_notice(m), "running on the CPU backend");
    sf_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_compile),
        cmocka_unit_test(test_random_models_compile),
        cmocka_unit_test(test_golden_models_compile),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_entries),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
