/* The compiled package: round trip, every refusal (truncation, a flipped
 * byte anywhere, magic, version, target), and the CLI's compile and run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "runtime/cuda_runtime.h"
#include "ir/fileio.h"
#include "runtime/package.h"
#include "sheaf.h"
#include "testutil.h"
#include "runtime/nvrtc.h"

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
    assert_int_equal(nsec, 5); /* meta, ir, weights, plan, cpu object */
    static const char *const names[] = {"meta", "ir", "weights", "plan", "cpu object"};
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
    sf_status st = sf_pkg_write(path, m->g, m->weights, &m->plan, obj, size, t, abi, NULL, &e);
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

/* the section table entry s of a package: kind, arch, offset, length, format */
static void entry(const unsigned char *bytes, uint32_t s, uint32_t *kind, uint32_t *arch, size_t *off, size_t *len,
                  uint32_t *format)
{
    const unsigned char *e = bytes + 32 + 32 * s;
    *kind = e[0] | e[1] << 8, *arch = e[4] | e[5] << 8, *format = e[28];
    *off = 0, *len = 0;
    for (int k = 7; k >= 0; k--) {
        *off = *off << 8 | e[8 + k];
        *len = *len << 8 | e[16 + k];
    }
}

/* the header checksum again after a deliberate edit of the table */
static void reseal(unsigned char *bytes)
{
    uint32_t nsec = bytes[12];
    memset(bytes + 24, 0, 4);
    uLong c = crc32(0L, bytes, 32 + 32 * nsec);
    for (int i = 0; i < 4; i++)
        bytes[24 + i] = (unsigned char)(c >> (8 * i));
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* section s's checksum again after a deliberate edit of its bytes, then the header's */
static void reseal_section(unsigned char *bytes, uint32_t s)
{
    uint32_t kind, arch, format;
    size_t off, len;
    entry(bytes, s, &kind, &arch, &off, &len, &format);
    put_le(bytes + 32 + 32 * s + 24, crc32(crc32(0L, Z_NULL, 0), bytes + off, (uInt)len), 4);
    reseal(bytes);
}

/* the package without section drop, as format version 2 wrote it */
static unsigned char *without_section(const unsigned char *b, uint32_t drop, size_t *outn)
{
    uint32_t nsec = b[12], t = 0;
    size_t n = 0;
    for (int k = 7; k >= 0; k--)
        n = n << 8 | b[16 + k];
    unsigned char *o = calloc(n, 1);
    assert_non_null(o);
    size_t at = (32 + 32 * (size_t)(nsec - 1) + 63) & ~(size_t)63;
    memcpy(o, b, 32);
    for (uint32_t s = 0; s < nsec; s++) {
        uint32_t kind, arch, format;
        size_t off, len;
        entry(b, s, &kind, &arch, &off, &len, &format);
        if (s == drop)
            continue;
        memcpy(o + 32 + 32 * t, b + 32 + 32 * s, 32);
        put_le(o + 32 + 32 * t + 8, at, 8);
        memcpy(o + at, b + off, len);
        at = (at + len + 63) & ~(size_t)63;
        t++;
    }
    o[8] = 2, o[12] = (unsigned char)t;
    put_le(o + 16, at, 8);
    reseal(o);
    *outn = at;
    return o;
}

/* The plan is stored: the package's plan section is the plan the loaded
 * model and its CPU code run from; a damaged one (checksums made good
 * again) is refused, naming the section and what is wrong; a version 2
 * package, which has none, loads and is planned from its IR. */
static void test_plan_section(void **state)
{
    (void)state;
    unsigned char *bytes, *enc;
    size_t n, elen, off, len;
    uint32_t kind, arch, format;
    float want[24], got[24];
    saved(&bytes, &n, want);
    entry(bytes, 3, &kind, &arch, &off, &len, &format);
    assert_int_equal(kind, 7);
    sf_error e = {0};
    sf_model *m = sf_load_bytes(bytes, n, "pkg", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    const sf_plan *runs[] = {&m->plan, sf_cpu_plan(m->cpu)};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sf_plan_encode(runs[i], &enc, &elen, &e), SF_OK);
        assert_int_equal(elen, len);
        assert_memory_equal(enc, bytes + off, len);
        free(enc);
    }
    assert_true(m->plan.nkernels >= 1);
    sf_model_free(m);
    /* the layout of docs/package.md: 16 bytes of counts, kernel 0 (16 + 32 + 4 bytes, then its arguments of 32) */
    const struct {
        size_t at;
        unsigned char xor;
        const char *msg;
    } damage[] = {
        {0, 0x01, "plan: format 3, this sheaf reads 2"},
        {12, 0x01, "values, the IR has"},
        {16 + 2, 0x40, "a kernel's first node is truncated or out of range"},
        {16 + 4, 0x01, "does not begin and end on a node that computes"},
        {16 + 16 + 15, 0x80, "negative or infinite cost"},
        {16 + 48, 0x01, "names a library that does not run it"}, /* oneDNN for a product */
        {16 + 48, 0x02, "a kernel's library is truncated or out of range"},
        {16 + 52, 0x01, "not the operand or result its place implies"},
        {16 + 52 + 16 + 6, 0x10, "offset the kernel convention does not give"},
        {len - 32, 0x02, "lives in"},              /* the last value's home */
        {len - 16, 0x01, "has an offset, alias or slot that a view does not use"}, /* its offset */
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        bytes[off + damage[i].at] ^= damage[i].xor;
        reseal_section(bytes, 3);
        const char *msg = load_error(bytes, n);
        if (!strstr(msg, "pkg: plan: ") || !strstr(msg, damage[i].msg))
            fail_msg("damage %zu: wanted '%s', got '%s'", i, damage[i].msg, msg);
        bytes[off + damage[i].at] ^= damage[i].xor;
    }
    reseal_section(bytes, 3);
    size_t n2;
    unsigned char *v2 = without_section(bytes, 3, &n2);
    m = sf_load_bytes(v2, n2, "v2", NULL, &e);
    if (!m)
        fail_msg("version 2: %s", e.msg);
    assert_null(sf_model_notice(m));
    outputs_of(m, got);
    assert_memory_equal(got, want, sizeof want);
    assert_int_equal(sf_plan_encode(&m->plan, &enc, &elen, &e), SF_OK); /* planned again: the same plan */
    assert_int_equal(elen, len);
    assert_memory_equal(enc, bytes + off, len);
    free(enc);
    sf_model_free(m);
    bytes[8] = 2; /* a version 2 package with a plan section */
    reseal(bytes);
    assert_contains(load_error(bytes, n), "section 3 has unknown kind 7 or is out of place");
    free(v2);
    free(bytes);
}

/* --target: CUBIN for sm_80 and sm_90 and PTX for compute_90 in the
 * package, kept through load and save; no GPU here, so the CPU runs it
 * and says why in one line */
static void test_cuda_package(void **state)
{
    (void)state;
    const char *why;
    if (!sf_nvrtc_available(&why)) {
        printf("  cuda package: skipped: %s\n", why);
        skip();
    }
    sf_options o = {.model = "ParallelFCN(8)", .inputs = pfcn_inputs, .ninputs = 1, .seed = 3,
                    .targets = "sm_80,sm_90"};
    sf_error e = {0};
    sf_model *m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_int_equal(m->cuda.nimages, 3);
    assert_int_equal(m->cuda.images[0].arch, 80);
    assert_false(m->cuda.images[1].ptx);
    assert_true(m->cuda.images[2].ptx);
    assert_int_equal(m->cuda.images[2].arch, 90);
    assert_non_null(strstr(m->cuda.source, "sheaf_k0"));
    float want[24], got[24];
    outputs_of(m, want);
    const char *path = tmp_path("pfcn8_cuda.sheaf"), *again = tmp_path("pfcn8_cuda2.sheaf");
    assert_int_equal(sf_save(m, path, &e), SF_OK);
    sf_model_free(m);
    size_t n, n2;
    unsigned char *bytes = slurp(path, &n);
    assert_int_equal(bytes[12], 9); /* meta, ir, weights, plan, cpu object, cuda source, 3 images */
    m = sf_load(path, NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    if (!sf_cuda_device_present(NULL)) {
        assert_contains(sf_model_notice(m), "CUDA code for sm_80,sm_90,compute_90, but no CUDA");
        assert_contains(sf_model_notice(m), "running on the CPU backend");
        assert_null(strchr(sf_model_notice(m), '\n'));
    }
    outputs_of(m, got);
    assert_memory_equal(got, want, sizeof want);
    assert_int_equal(sf_save(m, again, &e), SF_OK); /* the CUDA code goes along */
    sf_model_free(m);
    unsigned char *bytes2 = slurp(again, &n2);
    assert_int_equal(n2, n);
    assert_memory_equal(bytes2, bytes, n);
    free(bytes2);
    /* every byte of the CUDA sections is checked; images carry an arch and a format */
    for (uint32_t s = 5; s < 9; s++) {
        uint32_t kind, arch, format;
        size_t off, len;
        entry(bytes, s, &kind, &arch, &off, &len, &format);
        assert_int_equal(kind, s == 5 ? 5 : 6);
        bytes[off + len / 2] ^= 0x04;
        const char *msg = load_error(bytes, n);
        assert_contains(msg, s == 5 ? "cuda source section checksum" : "cuda image section checksum");
        bytes[off + len / 2] ^= 0x04;
        if (s == 5)
            continue;
        unsigned char *f = bytes + 32 + 32 * s + 28, *a = bytes + 32 + 32 * s + 4, keep = *f, keep_a = *a;
        *f = 3; /* neither CUBIN nor PTX */
        reseal(bytes);
        assert_contains(load_error(bytes, n), "out of place");
        *f = keep, *a = 7; /* sm_7: no such architecture */
        reseal(bytes);
        assert_contains(load_error(bytes, n), "out of place");
        *a = keep_a;
        reseal(bytes);
    }
    /* a CUDA source after the images */
    unsigned char *e4 = bytes + 32 + 32 * 5, *e5 = bytes + 32 + 32 * 6, tmp[32];
    memcpy(tmp, e4, 32), memcpy(e4, e5, 32), memcpy(e5, tmp, 32);
    reseal(bytes);
    assert_contains(load_error(bytes, n), "out of order");
    memcpy(e5, e4, 32), memcpy(e4, tmp, 32);
    /* the kinds (with arch and format) swapped, offsets left in file order */
    unsigned char k4[12], k5[12];
    memcpy(k4, e4, 8), memcpy(k4 + 8, e4 + 28, 4), memcpy(k5, e5, 8), memcpy(k5 + 8, e5 + 28, 4);
    memcpy(e4, k5, 8), memcpy(e4 + 28, k5 + 8, 4), memcpy(e5, k4, 8), memcpy(e5 + 28, k4 + 8, 4);
    reseal(bytes);
    assert_contains(load_error(bytes, n), "out of place");
    memcpy(e4, k4, 8), memcpy(e4 + 28, k4 + 8, 4), memcpy(e5, k5, 8), memcpy(e5 + 28, k5 + 8, 4);
    reseal(bytes);
    m = sf_load_bytes(bytes, n, "pkg", NULL, &e); /* restored: loads */
    assert_non_null(m);
    sf_model_free(m);
    free(bytes);
}

static void test_cuda_target_refusals(void **state)
{
    (void)state;
    static const char *const bad[][2] = {{"sm_8", "not an architecture"},  {"compute_90", "not an architecture"},
                                         {"sm_80,", "comma at the end"},    {"sm_80,sm_80", "named twice"},
                                         {"", "no architecture named"},     {"sm_90x", "not an architecture"},
                                         {"sm_80,,sm_90", "not an architecture"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sf_options o = {.model = "ParallelFCN(8)", .inputs = pfcn_inputs, .ninputs = 1, .targets = bad[i][0]};
        sf_error e = {0};
        sf_model *m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
        assert_null(m);
        assert_int_equal(e.code, SF_ERR_INVALID_ARG);
        assert_contains(e.msg, "--target");
        assert_contains(e.msg, bad[i][1]);
    }
    /* the CLI: --target is for compile only; compile --target writes a package run falls back from */
    const char *pfcn = SF_MODELS "/parallel_fcn.py", *out = tmp_path("cli_cuda.sheaf");
    const char *so, *se;
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", pfcn, "--model", "ParallelFCN(8)", "--input",
                                              "x=f32[B,160]", "--target", "sm_90", NULL},
                             &so, &se),
                     2);
    assert_contains(se, "--target (CUDA architectures ahead of time) is for compile");
    assert_int_equal(run_cli((const char *[]){"sheaf", "compile", pfcn, "--model", "ParallelFCN(8)", "--input",
                                              "x=f32[B,160]", "--target", "sm_9", "-o", out, NULL},
                             &so, &se),
                     1);
    assert_contains(se, "'sm_9' is not an architecture");
    if (!sf_nvrtc_available(NULL))
        return;
    assert_int_equal(run_cli((const char *[]){"sheaf", "compile", pfcn, "--model", "ParallelFCN(8)", "--input",
                                              "x=f32[B,160]", "--target", "sm_90", "-o", out, NULL},
                             &so, &se),
                     0);
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", out, NULL}, &so, &se), 0);
    assert_contains(so, "output: f32[1,8]");
    if (!sf_cuda_device_present(NULL)) {
        assert_contains(se, "CUDA code for sm_90,compute_90, but no CUDA");
        assert_int_equal(strchr(se, '\n') - se + 1, (long)strlen(se)); /* one line */
    }
}

/* --precision: fp32 is what sheaf computes; the rest is refused with the
 * reason by the API (compile and load) and the CLI */
static void test_precision(void **state)
{
    (void)state;
    static const char *const bad[][3] = {{"tf32", "not available yet", "1"},
                                         {"fp16", "not supported yet", "1"},
                                         {"bf16", "not supported yet", "1"},
                                         {"fp64", "expected fp32, tf32, fp16 or bf16", "0"}};
    const char *pkg = tmp_path("precision.sheaf"), *so, *se;
    sf_options o = {.model = "ParallelFCN(8)", .inputs = pfcn_inputs, .ninputs = 1, .precision = "fp32"};
    sf_error e = {0};
    sf_model *m = sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e);
    assert_non_null(m);
    assert_int_equal(sf_save(m, pkg, &e), SF_OK);
    sf_model_free(m);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.precision = bad[i][0];
        assert_null(sf_compile_file(SF_MODELS "/parallel_fcn.py", &o, &e));
        assert_int_equal(e.code, bad[i][2][0] == '1' ? SF_ERR_UNSUPPORTED : SF_ERR_INVALID_ARG);
        assert_contains(e.msg, bad[i][1]);
        assert_null(sf_load(pkg, &o, &e));
        assert_contains(e.msg, bad[i][1]);
        assert_int_equal(run_cli((const char *[]){"sheaf", "run", pkg, "--precision", bad[i][0], NULL}, &so, &se), 1);
        assert_contains(se, bad[i][1]);
        assert_string_equal(so, "");
    }
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", pkg, "--precision=fp32", NULL}, &so, &se), 0);
    assert_contains(so, "output: f32[1,8]");
}

/* --no-cache: NVRTC compiles every image; without it the second compile
 * takes them from the cache, and the packages are the same bytes */
static void test_cli_cache(void **state)
{
    (void)state;
    if (!sf_nvrtc_available(NULL))
        skip();
    const char *pfcn = SF_MODELS "/parallel_fcn.py", *a = tmp_path("cache_a.sheaf"), *b = tmp_path("cache_b.sheaf");
    const char *so, *se;
    char dir[512], *old = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    snprintf(dir, sizeof dir, "%s", tmp_path("cli_cache"));
    setenv("XDG_CACHE_HOME", dir, 1);
    const char *args[] = {"sheaf", "compile", pfcn, "--model", "ParallelFCN(9)", "--input", "x=f32[B,180]",
                          "--target", "sm_80", "--time", "-o", a, NULL, NULL};
    assert_int_equal(run_cli(args, &so, &se), 0);
    assert_contains(se, "0 of 2 images from the cache");
    args[11] = b;
    assert_int_equal(run_cli(args, &so, &se), 0);
    assert_contains(se, "2 of 2 images from the cache");
    args[12] = "--no-cache";
    assert_int_equal(run_cli(args, &so, &se), 0);
    assert_contains(se, "0 of 2 images from the cache");
    char *x, *y;
    size_t nx, ny;
    sf_error e = {0};
    assert_int_equal(sf_read_file(a, &x, &nx, &e), SF_OK);
    assert_int_equal(sf_read_file(b, &y, &ny, &e), SF_OK);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    free(x), free(y);
    if (old)
        setenv("XDG_CACHE_HOME", old, 1);
    else
        unsetenv("XDG_CACHE_HOME");
    free(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_magic_and_version),
        cmocka_unit_test(test_target_mismatch),
        cmocka_unit_test(test_plan_section),
        cmocka_unit_test(test_cli_compile_and_run),
        cmocka_unit_test(test_cli_bench_json),
        cmocka_unit_test(test_cuda_package),
        cmocka_unit_test(test_cuda_target_refusals),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_cli_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
