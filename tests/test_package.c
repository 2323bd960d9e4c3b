/* The compiled package: round trip, every refusal (truncation, a flipped
 * byte anywhere, magic, version, target), and the CLI's compile and run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "package.h"
#include "sheaf.h"
#include "testutil.h"

static const char *pfcn_inputs[] = {"x=f32[B,160]"};

static sf_model *pfcn8(void)
{
    sf_options o = {.model = "ParallelFCN(8)", .inputs = pfcn_inputs, .ninputs = 1, .seed = 3};
    sf_error e = {0};
    sf_model *m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

static void outputs_of(sf_model *m, float *y)
{
    float x[3 * 160];
    for (int i = 0; i < 3 * 160; i++)
        x[i] = (float)((i * 37) % 23) / 11.0f - 1.0f;
    sf_error e = {0};
    assert_int_equal(sf_run(m, 3, (const float *const[]){x}, (float *const[]){y}, &e), SF_OK);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    char *b;
    sf_error e = {0};
    assert_int_equal(sf_read_file(path, &b, n, &e), SF_OK);
    return (unsigned char *)b;
}

/* a saved package of ParallelFCN(8), its bytes, and the outputs to expect */
static const char *saved(unsigned char **bytes, size_t *n, float *want)
{
    sf_model *m = pfcn8();
    outputs_of(m, want);
    const char *path = tmp_path("pfcn8.sheaf");
    sf_error e = {0};
    assert_int_equal(sf_save(m, path, &e), SF_OK);
    sf_model_free(m);
    *bytes = slurp(path, n);
    return path;
}

static const char *load_error(const unsigned char *bytes, size_t n)
{
    static sf_error e;
    memset(&e, 0, sizeof e);
    sf_model *m = sf_load_bytes(bytes, n, "pkg", NULL, &e);
    if (m) {
        sf_model_free(m);
        fail_msg("a bad package loaded (%zu bytes)", n);
    }
    assert_int_not_equal(e.code, SF_OK);
    return e.msg;
}

static void test_round_trip(void **state)
{
    (void)state;
    unsigned char *bytes;
    size_t n;
    float want[24], got[24];
    const char *path = saved(&bytes, &n, want);
    assert_int_equal(n % 64, 0);
    sf_error e = {0};
    sf_model *m = sf_load(path, NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_null(sf_model_notice(m)); /* linked, not compiled again */
    outputs_of(m, got);
    assert_memory_equal(got, want, sizeof want); /* the same code on the same data */
    sf_model_free(m);
    /* the interpreter runs a package too */
    sf_options o = {.backend = "interp"};
    m = sf_load(path, &o, &e);
    assert_non_null(m);
    outputs_of(m, got);
    assert_close(got, want, 24, 1e-5, 1e-5);
    sf_model_free(m);
    free(bytes);
}

static void test_truncated(void **state)
{
    (void)state;
    unsigned char *bytes;
    size_t n;
    float want[24];
    saved(&bytes, &n, want);
    size_t cuts[] = {0, 7, 20, 31, 32, 100, n / 2, n - 64, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *msg = load_error(bytes, cuts[i]);
        if (cuts[i] < 32)
            assert_contains(msg, "magic");
        else
            assert_contains(msg, "truncated");
    }
    free(bytes);
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    unsigned char *bytes;
    size_t n;
    float want[24];
    saved(&bytes, &n, want);
    uint32_t nsec = bytes[12];
    assert_int_equal(nsec, 4); /* meta, ir, weights, cpu object */
    static const char *const names[] = {"meta", "ir", "weights", "cpu object"};
    for (uint32_t s = 0; s < nsec; s++) {
        const unsigned char *ent = bytes + 32 + 32 * s;
        size_t off = 0, len = 0;
        for (int k = 7; k >= 0; k--) {
            off = off << 8 | ent[8 + k];
            len = len << 8 | ent[16 + k];
        }
        size_t at[3] = {off, off + len / 2, off + len - 1};
        for (int k = 0; k < 3; k++) {
            bytes[at[k]] ^= 0x10;
            const char *msg = load_error(bytes, n);
            assert_contains(msg, names[s]);
            assert_contains(msg, "checksum");
            bytes[at[k]] ^= 0x10;
        }
        if ((off + len) % 64) { /* padding after the section must stay zero */
            bytes[off + len] = 1;
            assert_contains(load_error(bytes, n), "padding");
            bytes[off + len] = 0;
        }
    }
    size_t header_bytes[] = {13, 17, 30, 40, 32 + 32 * 2 + 9};
    for (size_t k = 0; k < sizeof header_bytes / sizeof header_bytes[0]; k++) {
        bytes[header_bytes[k]] ^= 0x01;
        load_error(bytes, n);
        bytes[header_bytes[k]] ^= 0x01;
    }
    sf_model *m = sf_load_bytes(bytes, n, "pkg", NULL, &(sf_error){0}); /* restored: loads */
    assert_non_null(m);
    sf_model_free(m);
    free(bytes);
}

static void test_magic_and_version(void **state)
{
    (void)state;
    unsigned char *bytes;
    size_t n;
    float want[24];
    saved(&bytes, &n, want);
    bytes[0] = 'X';
    assert_contains(load_error(bytes, n), "not a sheaf package");
    bytes[0] = 'S';
    bytes[8] = SF_PKG_VERSION + 1;
    assert_contains(load_error(bytes, n), "newer than this sheaf reads");
    bytes[8] = SF_PKG_VERSION;
    free(bytes);
}

/* a package written for another target (or kernel convention) */
static sf_status write_for(const char *path, const sf_cpu_target *t, int abi)
{
    sf_model *m = pfcn8();
    const void *obj;
    size_t size;
    sf_cpu_object(m->cpu, &obj, &size);
    sf_error e = {0};
    sf_status st = sf_pkg_write(path, m->g, m->weights, obj, size, t, abi, &e);
    sf_model_free(m);
    return st;
}

static void test_target_mismatch(void **state)
{
    (void)state;
    sf_cpu_target host, t;
    sf_error e = {0};
    assert_int_equal(sf_cpu_host(&host, &e), SF_OK);
    t = host;
    strcpy(t.triple, "riscv64-unknown-linux-gnu");
    const char *path = tmp_path("riscv.sheaf");
    assert_int_equal(write_for(path, &t, SF_CPU_ABI), SF_OK);
    assert_null(sf_load(path, NULL, &e));
    assert_contains(e.msg, "built for riscv64-unknown-linux-gnu");
    /* the same architecture with a feature this CPU lacks: compiled again */
    t = host;
    assert_true(strlen(host.features) + 32 < sizeof t.features);
    strcat(t.features, ",+sheaf-imaginary-feature");
    path = tmp_path("future.sheaf");
    assert_int_equal(write_for(path, &t, SF_CPU_ABI), SF_OK);
    sf_model *m = sf_load(path, NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_non_null(sf_model_notice(m));
    assert_contains(sf_model_notice(m), "sheaf-imaginary-feature");
    float want[24], got[24];
    sf_model *ref = pfcn8();
    outputs_of(ref, want);
    outputs_of(m, got);
    assert_close(got, want, 24, 1e-6, 1e-6);
    sf_model_free(m);
    /* object code from a sheaf whose kernels take other arguments: compiled again, not run */
    path = tmp_path("old_abi.sheaf");
    assert_int_equal(write_for(path, &host, SF_CPU_ABI - 1), SF_OK);
    m = sf_load(path, NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_non_null(sf_model_notice(m));
    assert_contains(sf_model_notice(m), "kernel convention");
    outputs_of(m, got);
    assert_close(got, want, 24, 1e-6, 1e-6);
    sf_model_free(ref);
    sf_model_free(m);
}

static void test_cli_compile_and_run(void **state)
{
    (void)state;
    const char *out, *err;
    const char *pkg = tmp_path("cli.sheaf");
    const char *compile[] = {"sheaf", "compile", SF_MODELS "/parallel_fcn.py", "--model", "ParallelFCN(8)", "--input",
                             "x=f32[B,160]", "--seed", "5", "-o", pkg, NULL};
    assert_int_equal(run_cli(compile, &out, &err), 0);
    assert_true(file_exists(pkg));
    /* the package (native code) and the model file (interpreter), same seed: same outputs */
    const char *pkg_out = tmp_path("pkg_out.safetensors"), *py_out = tmp_path("py_out.safetensors");
    const char *run_pkg[] = {"sheaf", "run", pkg, "--batch", "2", "--seed", "5", "-o", pkg_out, NULL};
    assert_int_equal(run_cli(run_pkg, &out, &err), 0);
    const char *run_py[] = {"sheaf", "run", SF_MODELS "/parallel_fcn.py", "--model", "ParallelFCN(8)", "--input",
                            "x=f32[B,160]", "--seed", "5", "--batch", "2", "--backend", "interp", "-o", py_out, NULL};
    assert_int_equal(run_cli(run_py, &out, &err), 0);
    sf_tensor_set *a = sf_tensors_new(), *b = sf_tensors_new();
    sf_error e = {0};
    assert_int_equal(sf_st_load(pkg_out, a, &e), SF_OK);
    assert_int_equal(sf_st_load(py_out, b, &e), SF_OK);
    const sf_tensor *ta = sf_tensors_get(a, "output"), *tb = sf_tensors_get(b, "output");
    assert_non_null(ta);
    assert_non_null(tb);
    assert_int_equal(sf_tensor_numel(ta), 16);
    assert_int_equal(sf_tensor_numel(tb), 16);
    assert_close(ta->data, tb->data, 16, 1e-5, 1e-6);
    sf_tensors_free(a), sf_tensors_free(b);
    /* refusals: no -o; a package as the source; model flags on a package; a failed compile leaves no file */
    const char *no_o[] = {"sheaf", "compile", SF_EXAMPLES "/mlp.sfir", NULL};
    assert_int_equal(run_cli(no_o, &out, &err), 2);
    assert_contains(err, "-o");
    const char *again[] = {"sheaf", "compile", pkg, "-o", tmp_path("x.sheaf"), NULL};
    assert_int_equal(run_cli(again, &out, &err), 2);
    const char *flags[] = {"sheaf", "run", pkg, "--model", "X()", NULL};
    assert_int_equal(run_cli(flags, &out, &err), 1);
    assert_contains(err, "holds its model");
    const char *bad_pkg = tmp_path("bad.sheaf");
    const char *bad[] = {"sheaf", "compile", SF_MODELS "/parallel_fcn.py", "--model", "ParallelFCN(8)", "--input",
                         "x=f32[B,160]", "--weights", "/nonexistent.safetensors", "-o", bad_pkg, NULL};
    assert_int_equal(run_cli(bad, &out, &err), 1);
    assert_false(file_exists(bad_pkg));
    write_bytes(bad_pkg, "SHEAFPK", 8);
    const char *run_bad[] = {"sheaf", "run", bad_pkg, NULL};
    assert_int_equal(run_cli(run_bad, &out, &err), 1);
    assert_contains(err, "bad.sheaf");
}

static void test_cli_bench_json(void **state)
{
    (void)state;
    const char *out, *err;
    const char *json = tmp_path("bench.json");
    const char *bench[] = {"sheaf", "bench", SF_EXAMPLES "/mlp.sfir", "--batch", "1,3", "--budget", "0.02",
                           "--json", json, NULL};
    assert_int_equal(run_cli(bench, &out, &err), 0);
    assert_contains(out, "batch 1: min ");
    assert_contains(out, "batch 3: min ");
    assert_contains(out, "vs interpreter on -O0 IR");
    char *text;
    size_t n;
    sf_error e = {0};
    assert_int_equal(sf_read_file(json, &text, &n, &e), SF_OK);
    /* one object per batch size, the figures present and sane */
    assert_contains(text, "\"batch\": 1,");
    assert_contains(text, "\"batch\": 3,");
    const char *p = strstr(text, "\"median_s\": ");
    assert_non_null(p);
    assert_true(strtod(p + 12, NULL) > 0);
    p = strstr(text, "\"max_abs_diff_O0\": ");
    assert_non_null(p);
    assert_true(strtod(p + 19, NULL) < 1e-4);
    p = strstr(text, "\"flop_per_run\": ");
    assert_non_null(p);
    /* batch 1: 2 flops per weight of each linear, 1 per relu element */
    assert_float_equal(strtod(p + 16, NULL), 2.0 * (10 * 50 + 50 * 2) + 50, 1e-9);
    free(text);
    /* a baseline estimated at more than 20 budgets per run is not timed, and says so */
    const char *skip[] = {"sheaf", "bench", SF_EXAMPLES "/mlp.sfir", "--batch", "1,20000", "--budget", "0.0001", NULL};
    assert_int_equal(run_cli(skip, &out, &err), 0);
    assert_contains(out, "batch 20000: min ");
    assert_contains(out, "interpreter not timed (about");
    const char *bad[] = {"sheaf", "bench", SF_EXAMPLES "/mlp.sfir", "--batch", "1,x", NULL};
    assert_int_equal(run_cli(bad, &out, &err), 2);
    assert_contains(err, "--batch");
    const char *threads[] = {"sheaf", "bench", SF_EXAMPLES "/mlp.sfir", "--threads", "2000", NULL};
    assert_int_equal(run_cli(threads, &out, &err), 2);
    assert_contains(err, "--threads");
    const char *budget[] = {"sheaf", "bench", SF_EXAMPLES "/mlp.sfir", "--budget", "0", NULL};
    assert_int_equal(run_cli(budget, &out, &err), 2);
    assert_contains(err, "--budget");
    const char *interp[] = {"sheaf", "bench", SF_EXAMPLES "/mlp.sfir", "--backend", "interp", NULL};
    assert_int_equal(run_cli(interp, &out, &err), 2);
    assert_contains(err, "measures the cpu backend");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_magic_and_version),
        cmocka_unit_test(test_target_mismatch),
        cmocka_unit_test(test_cli_compile_and_run),
        cmocka_unit_test(test_cli_bench_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
