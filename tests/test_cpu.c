/* The CPU backend against the interpreter (the oracle) and PyTorch. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cpu.h"
#include "ir/fileio.h"
#include "frontend/frontend.h"
#include "passes/pass.h"

static void same_outputs(const sf_tensor_set *want, const sf_tensor_set *got, double rtol, double atol)
{
    assert_int_equal(sf_tensors_count(want), sf_tensors_count(got));
    for (size_t i = 0; i < want->tensors.len; i++) {
        const sf_tensor *a = want->tensors.items[i], *b = sf_tensors_get(got, want->names.items[i]);
        assert_non_null(b);
        assert_int_equal(a->rank, b->rank);
        for (int d = 0; d < a->rank; d++)
            assert_int_equal(a->dim[d], b->dim[d]);
        assert_close(b->data, a->data, sf_tensor_numel(a), rtol, atol);
    }
}

/* interpreter vs CPU backend on one graph, random weights and inputs */
static void check_graph(const sf_graph *g, sf_tensor_set *w, int64_t batch, uint64_t seed)
{
    sf_error e = {0};
    sf_tensor_set *in = sf_tensors_new(), *a = sf_tensors_new(), *b = sf_tensors_new();
    assert_int_equal(sf_random_inputs(g, batch, seed, in, &e), SF_OK);
    assert_int_equal(sf_interp_run(g, batch, in, w, a, &e), SF_OK);
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    if (!m)
        fail_msg("%s", e.msg);
    if (sf_cpu_run(m, batch, in, w, b, &e) != SF_OK)
        fail_msg("%s", e.msg);
    same_outputs(a, b, 1e-5, 1e-5);
    sf_cpu_free(m);
    sf_tensors_free(in), sf_tensors_free(a), sf_tensors_free(b);
}

static void check_ir(const char *ir)
{
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "cpu.sfir", &e);
    if (!g)
        fail_msg("%s", e.msg);
    sf_tensor_set *w = sf_tensors_new();
    assert_int_equal(sf_init_weights(g, 3, w, &e), SF_OK);
    for (int64_t batch = 1; batch <= 9; batch += 4)
        check_graph(g, w, batch, 17 + (uint64_t)batch);
    sf_tensors_free(w);
    sf_graph_free(g);
}

static void test_kernels(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    check_ir("func @f(%x: f32[B,5]) {\n  %0 = relu %x : f32[B,5]\n  %1 = gelu %x : f32[B,5]\n  %2 = tanh %x : f32[B,5]\n"
             "  %3 = sigmoid %x : f32[B,5]\n  %4 = silu %x : f32[B,5]\n  return %0, %1, %2, %3, %4\n}\n");
    check_ir("param @r : f32[1,3]\nparam @c : f32[2,1]\n\nfunc @f(%x: f32[B,2,3]) {\n"
             "  %0 = add %x, @r : f32[B,2,3]\n  %1 = sub @c, %0 : f32[B,2,3]\n  %2 = scalar {value=0.25} : f32[]\n"
             "  %3 = mul %1, %2 : f32[B,2,3]\n  %4 = div %3, @r : f32[B,2,3]\n  return %4\n}\n");
    check_ir("param @w : f32[7,5]\nparam @b : f32[7]\nparam @g : f32[3,4,5]\nparam @gb : f32[3,4]\n\n"
             "func @f(%x: f32[B,5], %y: f32[B,3,5]) {\n  %0 = linear %x, @w, @b : f32[B,7]\n"
             "  %1 = grouped_linear %y, @g, @gb {shared=false} : f32[B,3,4]\n"
             "  %2 = grouped_linear %x, @g {shared=true} : f32[B,3,4]\n  return %0, %1, %2\n}\n");
    check_ir("param @m : f32[4,2]\n\nfunc @f(%a: f32[B,3,4], %b: f32[B,4,5]) {\n  %0 = matmul %a, %b : f32[B,3,5]\n"
             "  %1 = matmul %a, @m : f32[B,3,2]\n  return %0, %1\n}\n");
    check_ir("func @f(%x: f32[B,6,4]) {\n  %0 = slice %x {dim=1, start=1, end=6, step=2} : f32[B,3,4]\n"
             "  %1 = concat %0, %x {dim=1} : f32[B,9,4]\n  %2 = concat %x, %x {dim=2} : f32[B,6,8]\n"
             "  %3 = sum %1 {dims=[1], keepdim=false} : f32[B,4]\n  %4 = mean %2 {dims=[0,2], keepdim=true} : f32[1,6,1]\n"
             "  %5 = reshape %3 {shape=[B,2,2]} : f32[B,2,2]\n  return %5, %4\n}\n");
    /* convolutions: padding, stride, dilation, groups, no bias */
    check_ir("param @w : f32[4,2,3,3]\nparam @b : f32[4]\nparam @v : f32[6,2,2]\n\n"
             "func @f(%x: f32[B,4,7,6], %y: f32[B,4,9]) {\n"
             "  %0 = conv2d %x, @w, @b {stride=[2,1], padding=[1,2], dilation=[1,2], groups=2} : f32[B,4,4,6]\n"
             "  %1 = conv1d %y, @v {stride=[2], padding=[1], dilation=[3], groups=2} : f32[B,6,4]\n"
             "  return %0, %1\n}\n");
    /* normalisations and data movement */
    check_ir("param @m : f32[3]\nparam @v : f32[3]\nparam @g : f32[3]\nparam @bb : f32[3]\n"
             "param @lw : f32[4,5]\nparam @lb : f32[4,5]\n\n"
             "func @f(%x: f32[B,3,4,5]) {\n"
             "  %0 = batchnorm %x, @m, @v, @g, @bb {eps=1e-05} : f32[B,3,4,5]\n"
             "  %1 = layernorm %x, @lw, @lb {ndim=2, eps=1e-05} : f32[B,3,4,5]\n"
             "  %2 = softmax %x {dim=2} : f32[B,3,4,5]\n  %3 = softmax %x {dim=3} : f32[B,3,4,5]\n"
             "  %4, %5 = split %x {dim=2, sizes=[1,3]} : f32[B,3,1,5], f32[B,3,3,5]\n"
             "  %6 = stack %0, %1 {dim=1} : f32[B,2,3,4,5]\n  %7 = transpose %x {dim0=1, dim1=3} : f32[B,5,4,3]\n"
             "  %8 = transpose %x {dim0=0, dim1=2} : f32[4,3,B,5]\n"
             "  return %2, %3, %5, %4, %6, %7, %8\n}\n");
}

static void test_refusal(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    const char *ir = "func @f(%x: f16[B,4]) {\n  %0 = relu %x : f16[B,4]\n  return %0\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t", &e);
    assert_null(sf_cpu_compile(g, &e));
    assert_int_equal(e.code, SF_ERR_UNSUPPORTED);
    assert_contains(e.msg, "relu produces f16; only f32 today");
    sf_graph_free(g);
}

/* SHEAF_PERF_MAP: each kernel's address, size and key in /tmp/perf-PID.map, for perf */
static void test_perf_map(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    char path[64], line[512];
    snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
    remove(path);
    const char *ir = "param @w : f32[3,4]\nfunc @f(%x: f32[B,4]) {\n  %0 = linear %x, @w : f32[B,3]\n"
                     "  %1 = tanh %0 : f32[B,3]\n  %2 = add %1, %1 : f32[B,3]\n  return %2\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t", &e);
    setenv("SHEAF_PERF_MAP", "1", 1);
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    unsetenv("SHEAF_PERF_MAP");
    assert_non_null(m);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int kernels = 0;
    unsigned long addr, size;
    char name[400];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lx %lx %399[^\n]", &addr, &size, name) == 3 && addr && size > 0 &&
            !strncmp(name, "sheaf_k", 7))
            kernels++;
    fclose(f);
    remove(path);
    assert_int_equal(kernels, 3); /* linear, tanh, add: no fusion regions marked */
    sf_cpu_free(m);
    sf_graph_free(g);
}

/* the PyTorch golden cases whose -O2 graphs the backend covers */
static void test_golden_on_cpu(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    char path[1024], *cases;
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/cases.txt", SF_GOLDEN);
    assert_int_equal(sf_read_file(path, &cases, &len, &e), SF_OK);
    int ran = 0, skipped = 0;
    char *save = NULL;
    for (char *line = strtok_r(cases, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *f[6];
        int nf = 0;
        for (char *p = line; p && nf < 6; nf++) {
            f[nf] = p;
            p = strchr(p, '|');
            if (p)
                *p++ = '\0';
        }
        char model[1024], *src;
        snprintf(model, sizeof model, "%s/%s", SF_MODELS, f[1]);
        assert_int_equal(sf_read_file(model, &src, &len, &e), SF_OK);
        const char *inputs[8], *consts[8];
        int ni = 0, nc = 0;
        for (char *p = f[3], *q; p && *p && ni < 8; p = q) { /* specs split by ';' */
            inputs[ni++] = p;
            if ((q = strchr(p, ';')))
                *q++ = '\0';
        }
        for (char *p = f[4], *q; p && *p && nc < 8; p = q) {
            consts[nc++] = p;
            if ((q = strchr(p, ';')))
                *q++ = '\0';
        }
        sf_py_options o = {f[2], inputs, ni, consts, nc, 0, NULL};
        sf_py_model *pm = sf_py_compile(model, src, len, &o, &e);
        free(src);
        if (!pm)
            fail_msg("%s", e.msg);
        sf_tensor_set *w = sf_tensors_new(), *in = sf_tensors_new(), *want = sf_tensors_new(), *got = sf_tensors_new();
        char file[1024];
        snprintf(file, sizeof file, "%s/%s.weights.safetensors", SF_GOLDEN, f[0]);
        assert_int_equal(sf_st_load(file, w, &e), SF_OK);
        snprintf(file, sizeof file, "%s/%s.inputs.safetensors", SF_GOLDEN, f[0]);
        assert_int_equal(sf_st_load(file, in, &e), SF_OK);
        snprintf(file, sizeof file, "%s/%s.outputs.safetensors", SF_GOLDEN, f[0]);
        assert_int_equal(sf_st_load(file, want, &e), SF_OK);
        sf_module mod = {.g = pm->graph, .weights = w};
        sf_pipeline_opts o2 = {.opt_level = 2};
        assert_int_equal(sf_run_pipeline(&mod, &o2, &e), SF_OK);
        pm->graph = mod.g;
        sf_cpu_model *cm = sf_cpu_compile(mod.g, &e);
        if (!cm) {
            assert_int_equal(e.code, SF_ERR_UNSUPPORTED);
            printf("  cpu: %-18s not yet: %s\n", f[0], e.msg);
            skipped++;
        } else {
            int64_t batch;
            assert_int_equal(sf_check_inputs(mod.g, in, &batch, &e), SF_OK);
            if (sf_cpu_run(cm, batch, in, w, got, &e) != SF_OK)
                fail_msg("%s: %s", f[0], e.msg);
            same_outputs(want, got, 1e-4, 1e-5);
            static const int64_t batches[] = {1, 7, 256}; /* against the interpreter */
            for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++)
                check_graph(mod.g, w, batches[k], 99);
            printf("  cpu: %-18s matches PyTorch and the interpreter (batch 1, 7, 256)\n", f[0]);
            ran++;
            sf_cpu_free(cm);
        }
        sf_tensors_free(w), sf_tensors_free(in), sf_tensors_free(want), sf_tensors_free(got);
        sf_py_model_free(pm);
    }
    free(cases);
    assert_true(ran >= 14); /* every golden model */
    (void)skipped;
}

/* Products at every size the kernels distinguish: outputs in full 8-wide
 * chunks plus 4/2/1 tails, row blocks of 4 plus a partial block, grouped
 * and shared, a fused chain, and a dense product large enough for
 * OpenBLAS (also forced through generated code): all equal to the
 * interpreter. */
static void test_products(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    check_ir("param @w : f32[15,7]\nparam @b : f32[15]\nfunc @F(%x: f32[B,7]) {\n"
             "  %0 = linear %x, @w, @b : f32[B,15]\n  return %0\n}\n");
    check_ir("param @w : f32[3,13,5]\nfunc @F(%x: f32[B,3,5]) {\n"
             "  %0 = grouped_linear %x, @w {shared=false} : f32[B,3,13]\n  return %0\n}\n");
    check_ir("param @w : f32[4,9,6]\nparam @b : f32[4,9]\nfunc @F(%x: f32[B,6]) {\n"
             "  %0 = grouped_linear %x, @w, @b {shared=true} : f32[B,4,9]\n  return %0\n}\n");
    /* narrow products (fewer than 8 outputs, 8 groups in the lanes): k in
     * full chunks plus a half, a masked remainder, nothing but a remainder;
     * groups past the last block of 8; strided bias and results; shared x */
    static const char narrow[] = "param @w : f32[19,1,20]\nparam @b : f32[19,1]\nfunc @F(%x: f32[B,19,20]) {\n"
                                 "  %0 = grouped_linear %x, @w, @b {shared=false} : f32[B,19,1]\n  return %0\n}\n";
    check_ir(narrow);
    { /* past 256 rows the same kernel takes its row-blocked path */
        sf_error ne = {0};
        sf_graph *ng = sf_parse(narrow, strlen(narrow), "narrow.sfir", &ne);
        sf_tensor_set *nw = sf_tensors_new();
        assert_int_equal(sf_init_weights(ng, 3, nw, &ne), SF_OK);
        check_graph(ng, nw, 257, 5);
        check_graph(ng, nw, 256, 5);
        sf_tensors_free(nw);
        sf_graph_free(ng);
    }
    check_ir("param @w : f32[8,3,13]\nparam @b : f32[8,3]\nfunc @F(%x: f32[B,8,13]) {\n"
             "  %0 = grouped_linear %x, @w, @b {shared=false} : f32[B,8,3]\n  return %0\n}\n");
    check_ir("param @w : f32[9,2,8]\nfunc @F(%x: f32[B,8]) {\n"
             "  %0 = grouped_linear %x, @w {shared=true} : f32[B,9,2]\n  return %0\n}\n");
    check_ir("param @w : f32[16,7,3]\nparam @b : f32[16,7]\nfunc @F(%x: f32[B,16,3]) {\n"
             "  %0 = grouped_linear %x, @w, @b {shared=false} : f32[B,16,7]\n  return %0\n}\n");
    /* a region: product -> gelu -> tanh -> product, one kernel */
    check_ir("param @w1 : f32[5,11,3]\nparam @b1 : f32[5,11]\nparam @w2 : f32[5,2,11]\n"
             "func @F(%x: f32[B,5,3]) {\n"
             "  %0 = grouped_linear %x, @w1, @b1 {shared=false} : f32[B,5,11] [region 1]\n"
             "  %1 = gelu %0 : f32[B,5,11] [region 1]\n  %2 = tanh %1 : f32[B,5,11] [region 1]\n"
             "  %3 = grouped_linear %2, @w2 {shared=false} : f32[B,5,2] [region 1]\n  return %3\n}\n");
    /* the chain kept its intermediates on chip: only the result has memory (40 bytes, 64 aligned) */
    static const char chain[] = "param @w1 : f32[5,11,3]\nparam @w2 : f32[5,2,11]\nfunc @F(%x: f32[B,5,3]) {\n"
                                "  %0 = grouped_linear %x, @w1 {shared=false} : f32[B,5,11] [region 1]\n"
                                "  %1 = relu %0 : f32[B,5,11] [region 1]\n"
                                "  %2 = grouped_linear %1, @w2 {shared=false} : f32[B,5,2] [region 1]\n  return %2\n}\n";
    sf_error ce = {0};
    sf_graph *cg = sf_parse(chain, strlen(chain), "chain.sfir", &ce);
    sf_cpu_model *cm = sf_cpu_compile(cg, &ce);
    size_t planned;
    assert_true(sf_cpu_planned_bytes(cm, 1, &planned));
    assert_int_equal(planned, 64);
    sf_cpu_free(cm);
    sf_graph_free(cg);
    /* a product and its epilogue: one kernel, only the last activation stored (15 floats -> 64 bytes) */
    static const char epi[] = "param @w : f32[15,7]\nparam @b : f32[15]\nfunc @F(%x: f32[B,7]) {\n"
                              "  %0 = linear %x, @w, @b : f32[B,15] [region 1]\n  %1 = silu %0 : f32[B,15] [region 1]\n"
                              "  %2 = sigmoid %1 : f32[B,15] [region 1]\n  return %2\n}\n";
    check_ir(epi);
    cg = sf_parse(epi, strlen(epi), "epi.sfir", &ce);
    cm = sf_cpu_compile(cg, &ce);
    assert_true(sf_cpu_planned_bytes(cm, 1, &planned));
    assert_int_equal(planned, 64);
    sf_cpu_free(cm);
    sf_graph_free(cg);
    /* large enough for BLAS at batch 130: 2 * 130 * 300 * 260 flops */
    static const char big[] = "param @w : f32[300,260]\nparam @b : f32[300]\nfunc @F(%x: f32[B,260]) {\n"
                              "  %0 = linear %x, @w, @b : f32[B,300]\n  %1 = relu %0 : f32[B,300]\n  return %1\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(big, strlen(big), "big.sfir", &e);
    sf_tensor_set *w = sf_tensors_new(), *in = sf_tensors_new(), *want = sf_tensors_new();
    assert_int_equal(sf_init_weights(g, 5, w, &e), SF_OK);
    assert_int_equal(sf_random_inputs(g, 130, 6, in, &e), SF_OK);
    assert_int_equal(sf_interp_run(g, 130, in, w, want, &e), SF_OK);
    sf_cpu_model *m = sf_cpu_compile(g, &e);
    assert_non_null(m);
    for (int blas = 0; blas < 2; blas++) {
        sf_tensor_set *got = sf_tensors_new();
        sf_cpu_set_blas(m, blas);
        assert_int_equal(sf_cpu_run(m, 130, in, w, got, &e), SF_OK);
        same_outputs(want, got, 1e-4, 1e-5);
        sf_tensors_free(got);
    }
    sf_cpu_free(m);
    sf_tensors_free(w), sf_tensors_free(in), sf_tensors_free(want);
    sf_graph_free(g);
}

/* every tail past the full chunks of 8 outputs (1-7), each way it runs (a
 * masked chunk or dot products: codegen/cpu_product.c's tail_as_chunk),
 * with and without bias, after full chunks or alone, grouped (narrow
 * where fewer than 8 outputs) and plain, at batches that leave a partial
 * block of rows */
static void test_product_tails(void **state)
{
    (void)state;
    if (!sf_cpu_available())
        skip();
    static const int ins[] = {1, 3, 7, 8, 10, 12, 20}; /* I % 8: 1 (a scalar step), 2-7 (masked), 0 */
    for (int t = 1; t < 8; t++)
        for (size_t i = 0; i < sizeof ins / sizeof *ins; i++)
            for (int variant = 0; variant < 4; variant++) {
                int I = ins[i], O = t + (variant & 1 ? 8 : 0);
                bool bias = variant & 2;
                char ir[512], gb[64] = "", lb[64] = "";
                if (bias) {
                    snprintf(gb, sizeof gb, "param @b : f32[9,%d]\n", O);
                    snprintf(lb, sizeof lb, "param @b : f32[%d]\n", O);
                }
                snprintf(ir, sizeof ir,
                         "param @w : f32[9,%d,%d]\n%sfunc @F(%%x: f32[B,9,%d]) {\n"
                         "  %%0 = grouped_linear %%x, @w%s {shared=false} : f32[B,9,%d]\n  return %%0\n}\n",
                         O, I, gb, I, bias ? ", @b" : "", O);
                check_ir(ir);
                snprintf(ir, sizeof ir,
                         "param @w : f32[%d,%d]\n%sfunc @F(%%x: f32[B,%d]) {\n"
                         "  %%0 = linear %%x, @w%s : f32[B,%d]\n  return %%0\n}\n",
                         O, I, lb, I, bias ? ", @b" : "", O);
                check_ir(ir);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels),
        cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_perf_map),
        cmocka_unit_test(test_products),
        cmocka_unit_test(test_product_tails),
        cmocka_unit_test(test_golden_on_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
