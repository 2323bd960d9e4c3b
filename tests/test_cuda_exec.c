/* The CUDA executor end to end: kernels loaded from a package's CUBIN or
 * PTX or compiled by NVRTC, weights and batch regions in device memory,
 * the forward captured in a CUDA graph and replayed, host and device
 * pointers, driver errors by call name. Without a GPU it runs against the
 * stand-in driver (tests/fake_cuda.c), which executes the host build of
 * the same CUDA C; with SHEAF_TEST_GPU=1 against the real driver, where
 * the stand-in's counters are not checked. Skips, saying why, without
 * NVRTC or a host C++ compiler (the stand-in needs both). */
#define _GNU_SOURCE /* setenv */
#include "testutil.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_host.h"
#include "runtime/cuda_runtime.h"
#include "fake_cuda.h"
#include "golden_case.h"
#include "runtime/model.h"
#include "runtime/nvrtc.h"

static bool real_gpu;
static char kernels[600]; /* the current model's host build, for the stand-in */

static bool ready_or_skip(void)
{
    const char *why = NULL;
    if (!sf_nvrtc_available(&why) || (!real_gpu && !cuda_host_available(&why)) || !sf_cuda_device_present(&why)) {
        printf("  cuda executor: skipped: %s\n", why);
        return false;
    }
    return true;
}

static fake_cuda_stats *stats(void)
{
    static fake_cuda_stats none;
    if (real_gpu)
        return &none;
    fake_cuda_stats *(*get)(void) = NULL;
    void *lib = dlopen(getenv("SHEAF_LIBCUDA"), RTLD_NOW | RTLD_NOLOAD);
    *(void **)&get = lib ? dlsym(lib, "fake_cuda_get_stats") : NULL;
    assert_non_null(get);
    return get();
}

/* the stand-in runs g's CUDA C built for the host */
static void use_kernels(const sf_graph *g)
{
    if (real_gpu)
        return;
    if (kernels[0])
        cuda_host_remove(kernels);
    char *problem = cuda_host_build_so(g, kernels, sizeof kernels);
    if (problem)
        fail_msg("%s", problem);
    setenv("SHEAF_FAKE_CUDA_KERNELS", kernels, 1);
}

static sf_model *on_gpu(sf_graph *g, sf_tensor_set *w)
{
    use_kernels(g);
    sf_options o = {.backend = "cuda"};
    sf_error e = {0};
    sf_model *m = sf_model_from_parts(g, w, &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_non_null(m->gpu);
    return m;
}

static void compare(const sf_tensor_set *got, const sf_tensor_set *want)
{
    assert_int_equal(sf_tensors_count(got), sf_tensors_count(want));
    for (size_t i = 0; i < want->tensors.len; i++) {
        const sf_tensor *x = want->tensors.items[i], *y = got->tensors.items[i];
        assert_int_equal(sf_tensor_numel(x), sf_tensor_numel(y));
        assert_close(y->data, x->data, sf_tensor_numel(x), 1e-4, 1e-5);
    }
}

static void golden_on_gpu(golden_case *c, void *ctx)
{
    (void)ctx;
    golden_optimise(c);
    sf_error e = {0};
    sf_tensor_set *in5 = sf_tensors_new(), *want5 = sf_tensors_new();
    assert_int_equal(sf_random_inputs(c->model->graph, 5, 9, in5, &e), SF_OK);
    assert_int_equal(sf_interp_run(c->model->graph, 5, in5, c->weights, want5, &e), SF_OK);
    sf_model *m = on_gpu(c->model->graph, c->weights);
    c->model->graph = NULL, c->weights = sf_tensors_new(); /* the model's now */
    assert_contains(sf_model_notice(m), "backend cuda: ");
    for (int pass = 0; pass < 3; pass++) {
        sf_tensor_set *got = sf_tensors_new();
        int64_t batch = pass == 1 ? 5 : c->batch;
        if (sf_model_run_sets(m, batch, pass == 1 ? in5 : c->inputs, got, &e) != SF_OK)
            fail_msg("%s: %s", c->name, e.msg);
        if (pass == 1)
            compare(got, want5);
        else
            golden_check(c, got);
        sf_tensors_free(got);
    }
    printf("  cuda executor: golden %-18s matches PyTorch (%s)\n", c->name, sf_model_notice(m));
    sf_model_free(m);
    sf_tensors_free(in5), sf_tensors_free(want5);
}

/* every golden case at -O2 on the GPU: PyTorch's outputs at the golden
 * batch, the interpreter's at batch 5, then the golden batch again */
static void test_golden_cases(void **state)
{
    (void)state;
    if (!ready_or_skip())
        skip();
    assert_true(golden_each(golden_on_gpu, NULL) >= 13);
    assert_int_equal(stats()->allocations, 0); /* every model gave its memory back */
}

static const char *pfcn_in[] = {"x=f32[B,20000]"};

/* a package's images: CUBIN for the device's architecture, else PTX it
 * can run, else NVRTC; the forward replayed from one graph per batch */
static void test_package_images(void **state)
{
    (void)state;
    if (!ready_or_skip())
        skip();
    const char *pkg = tmp_path("pfcn_gpu.sheaf");
    sf_options o = {.model = "ParallelFCN(1000)", .inputs = pfcn_in, .ninputs = 1, .backend = "cpu",
                    .targets = "sm_80,sm_90"};
    sf_error e = {0};
    sf_model *cpu = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
    if (!cpu)
        fail_msg("%s", e.msg);
    assert_int_equal(sf_save(cpu, pkg, &e), SF_OK);
    use_kernels(cpu->g);
    sf_tensor_set *in = sf_tensors_new(), *want = sf_tensors_new();
    assert_int_equal(sf_random_inputs(cpu->g, 3, 5, in, &e), SF_OK);
    assert_int_equal(sf_model_run_sets(cpu, 3, in, want, &e), SF_OK);
    static const struct { const char *cc, *how; } cases[] = {
        {"90", "CUBIN for sm_90 from the package"},
        {"100", "PTX for compute_90 from the package"},
        {"86", "by NVRTC"}, /* or from its cache: no image fits sm_86 */
    };
    for (size_t i = 0; i < (real_gpu ? 1u : 3u); i++) {
        if (!real_gpu)
            setenv("SHEAF_FAKE_CUDA_CC", cases[i].cc, 1);
        fake_cuda_stats before = *stats();
        sf_model *m = sf_load(pkg, NULL, &e);
        if (!m)
            fail_msg("%s", e.msg);
        assert_non_null(m->gpu);
        if (!real_gpu) {
            assert_contains(sf_model_notice(m), "sheaf fake GPU");
            assert_contains(sf_model_notice(m), i < 2 ? cases[i].how : "NVRTC");
        }
        for (int run = 0; run < 3; run++) {
            sf_tensor_set *got = sf_tensors_new();
            assert_int_equal(sf_model_run_sets(m, 3, in, got, &e), SF_OK);
            compare(got, want);
            sf_tensors_free(got);
        }
        if (!real_gpu) { /* one kernel, captured once, replayed three times */
            assert_int_equal(stats()->captures - before.captures, 1);
            assert_int_equal(stats()->graph_launches - before.graph_launches, 3);
            assert_int_equal(stats()->kernels_run - before.kernels_run, 3);
            assert_int_equal(sf_cuda_model_launches(m->gpu), 1);
        }
        printf("  cuda executor: ParallelFCN(1000) package: %s\n", sf_model_notice(m));
        sf_model_free(m);
    }
    unsetenv("SHEAF_FAKE_CUDA_CC");
    sf_tensors_free(in), sf_tensors_free(want);
    sf_model_free(cpu);
}

typedef int (*alloc_fn)(unsigned long long *, size_t);
typedef int (*free_fn)(unsigned long long);
typedef int (*htod_fn)(unsigned long long, const void *, size_t);
typedef int (*dtoh_fn)(void *, unsigned long long, size_t);

/* sf_run with inputs and outputs in device memory */
static void test_device_pointers(void **state)
{
    (void)state;
    if (!ready_or_skip())
        skip();
    const char *ir = "func @f(%x: f32[B,3]) {\n  %0 = relu %x : f32[B,3]\n  %1 = add %0, %x : f32[B,3]\n"
                     "  return %1\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t.sfir", &e);
    sf_model *m = on_gpu(g, sf_tensors_new());
    void *lib = dlopen(real_gpu ? "libcuda.so.1" : getenv("SHEAF_LIBCUDA"), RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(lib);
    alloc_fn alloc = (alloc_fn)dlsym(lib, "cuMemAlloc_v2");
    free_fn release = (free_fn)dlsym(lib, "cuMemFree_v2");
    htod_fn htod = (htod_fn)dlsym(lib, "cuMemcpyHtoD_v2");
    dtoh_fn dtoh = (dtoh_fn)dlsym(lib, "cuMemcpyDtoH_v2");
    const float x[6] = {1, -2, 3, -4, 5, -6};
    float y[6] = {0}, host_y[6] = {0};
    unsigned long long dx, dy;
    assert_int_equal(alloc(&dx, sizeof x), 0);
    assert_int_equal(alloc(&dy, sizeof y), 0);
    assert_int_equal(htod(dx, x, sizeof x), 0);
    const float *ins[] = {(const float *)(uintptr_t)dx};
    float *outs[] = {(float *)(uintptr_t)dy};
    if (sf_run(m, 2, ins, outs, &e) != SF_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(dtoh(y, dy, sizeof y), 0);
    const float want[6] = {2, -2, 6, -4, 10, -6};
    assert_memory_equal(y, want, sizeof want);
    /* a host input and a device output, then the other way round */
    const float *host_in[] = {x};
    assert_int_equal(sf_run(m, 2, host_in, outs, &e), SF_OK);
    assert_int_equal(dtoh(y, dy, sizeof y), 0);
    assert_memory_equal(y, want, sizeof want);
    float *host_out[] = {host_y};
    assert_int_equal(sf_run(m, 2, ins, host_out, &e), SF_OK);
    assert_memory_equal(host_y, want, sizeof want);
    release(dx), release(dy);
    sf_model_free(m);
}

/* a failing driver call comes back as an sf error naming the call, and
 * the model frees what it had */
static void test_driver_errors(void **state)
{
    (void)state;
    if (real_gpu || !ready_or_skip())
        skip();
    const char *ir = "func @f(%x: f32[B,3]) {\n  %0 = relu %x : f32[B,3]\n  return %0\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "t.sfir", &e);
    use_kernels(g);
    setenv("SHEAF_FAKE_CUDA_FAIL", "cuMemAlloc_v2", 1);
    sf_options o = {.backend = "cuda"};
    assert_null(sf_model_from_parts(g, sf_tensors_new(), &o, &e));
    assert_contains(e.msg, "cuda backend: cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (2)");
    assert_int_equal(stats()->allocations, 0);
    unsetenv("SHEAF_FAKE_CUDA_FAIL");
    g = sf_parse(ir, strlen(ir), "t.sfir", &e);
    sf_model *m = sf_model_from_parts(g, sf_tensors_new(), &o, &e);
    assert_non_null(m);
    setenv("SHEAF_FAKE_CUDA_FAIL", "cuGraphLaunch", 1);
    const float x[3] = {1, 2, 3};
    float y[3];
    const float *ins[] = {x};
    float *outs[] = {y};
    assert_int_equal(sf_run(m, 1, ins, outs, &e), SF_ERR_RUNTIME);
    assert_contains(e.msg, "cuGraphLaunch: CUDA_ERROR_OUT_OF_MEMORY");
    unsetenv("SHEAF_FAKE_CUDA_FAIL");
    assert_int_equal(sf_run(m, 1, ins, outs, &e), SF_OK);
    assert_true(y[0] == 1 && y[2] == 3);
    sf_model_free(m);
    assert_int_equal(stats()->allocations, 0);
}

int main(void)
{
    real_gpu = getenv("SHEAF_TEST_GPU") && !strcmp(getenv("SHEAF_TEST_GPU"), "1");
    if (!real_gpu)
        setenv("SHEAF_LIBCUDA", SF_FAKE_CUDA, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_pointers),
        cmocka_unit_test(test_driver_errors),
        cmocka_unit_test(test_package_images),
        cmocka_unit_test(test_golden_cases),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (kernels[0])
        cuda_host_remove(kernels);
    return failed;
}
