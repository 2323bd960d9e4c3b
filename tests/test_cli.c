/* The sheaf command: success paths print or write what they should; every
 * failure is one line, a non-zero status, and no output file. */
#include "testutil.h"

#include "runtime/cpu_dnnl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/fileio.h"

static const char *tiny_ir =
    "param @w : f32[1,2]\nparam @b : f32[1]\n"
    "func @tiny(%x: f32[B,2]) {\n  %0 = linear %x, @w, @b : f32[B,1]\n  %1 = relu %0 : f32[B,1]\n  return %1\n}\n";

static const char *write_tiny(void)
{
    const char *p = tmp_path("tiny.sfir");
    write_bytes(p, tiny_ir, strlen(tiny_ir));
    return p;
}

static const char *save(const char *name, sf_tensor_set *s)
{
    const char *p = tmp_path(name);
    sf_error e = {0};
    assert_int_equal(sf_st_save(p, s, &e), SF_OK);
    sf_tensors_free(s);
    return p;
}

static void test_ir_prints_and_dots(void **state)
{
    (void)state;
    const char *out, *err;
    char path[512];
    snprintf(path, sizeof path, "%s/mlp.sfir", SF_FIXTURES);
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", path, NULL}, &out, &err), 0);
    assert_contains(out, "%0 = linear %x, @layers.0.weight, @layers.0.bias : f32[B,50]");
    assert_string_equal(err, "");
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", path, "--format=dot", NULL}, &out, &err), 0);
    assert_contains(out, "digraph \"SimpleMLP\"");
    const char *o = tmp_path("printed.sfir");
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", path, "-o", o, NULL}, &out, &err), 0);
    assert_true(file_exists(o));
    assert_string_equal(out, "");
}

static void test_run_with_files(void **state)
{
    (void)state;
    const char *ir = write_tiny();
    /* relu([x0, x1] . [2, -1] + 0.5): rows [1,1] -> 1.5, [0,3] -> 0 (relu of -2.5), [2,0] -> 4.5 */
    const char *w = save("w.safetensors", tset(2, (tensor_lit[]){LIT("w", 2, DIMS(1, 2), 2, -1), LIT("b", 1, DIMS(1), 0.5)}));
    const char *in = save("in.safetensors", tset(1, &LIT("x", 2, DIMS(3, 2), 1, 1, 0, 3, 2, 0)));
    const char *o = tmp_path("out.safetensors");
    const char *out, *err;
    int rc = run_cli((const char *[]){"sheaf", "run", ir, "--weights", w, "--inputs", in, "-o", o, NULL}, &out, &err);
    if (rc)
        fail_msg("%s", err);
    sf_tensor_set *res = sf_tensors_new();
    sf_error e = {0};
    assert_int_equal(sf_st_load(o, res, &e), SF_OK);
    EXPECT(res, "output", 2, DIMS(3, 1), 1.5, 0, 4.5);
    sf_tensors_free(res);

    /* without -o the outputs are printed */
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", ir, "--weights", w, "--inputs", in, NULL}, &out, &err), 0);
    assert_string_equal(out, "output: f32[3,1] = 1.5 0 4.5\n");
}

static void test_run_seeded_is_deterministic(void **state)
{
    (void)state;
    char path[512], first[4096];
    snprintf(path, sizeof path, "%s/mlp.sfir", SF_FIXTURES);
    const char *out;
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", path, "--batch", "4", "--seed", "7", NULL}, &out, NULL), 0);
    assert_contains(out, "output: f32[4,2] = ");
    snprintf(first, sizeof first, "%s", out);
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", path, "--batch=4", "--seed=7", NULL}, &out, NULL), 0);
    assert_string_equal(out, first);
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", path, "--batch", "4", "--seed", "8", NULL}, &out, NULL), 0);
    assert_string_not_equal(out, first);
}

static void test_run_bn_init_is_sane(void **state)
{
    (void)state;
    /* without weights, running_var is initialised to 1, not to a random
     * (possibly negative) number: the output is finite */
    char path[512];
    snprintf(path, sizeof path, "%s/resnet_block.sfir", SF_FIXTURES);
    const char *out;
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", path, "--batch", "2", NULL}, &out, NULL), 0);
    assert_contains(out, "output: f32[2,10] = ");
    assert_null(strstr(out, "nan"));
}

/* Every failure: status 1 (2 for usage), one line on stderr, no file at -o. */
static void expect_failure(const char *const *args, int want_rc, const char *want_msg, const char *outpath)
{
    const char *out, *err;
    int rc = run_cli(args, &out, &err);
    assert_int_equal(rc, want_rc);
    assert_contains(err, want_msg);
    assert_true(strncmp(err, "sheaf: ", 7) == 0);
    const char *nl = strchr(err, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0');
    if (outpath)
        assert_false(file_exists(outpath));
}

static void test_run_refusals(void **state)
{
    (void)state;
    const char *ir = write_tiny();
    const char *good_w = save("gw.safetensors", tset(2, (tensor_lit[]){LIT("w", 2, DIMS(1, 2), 2, -1), LIT("b", 1, DIMS(1), 0.5)}));
    const char *missing = save("mw.safetensors", tset(1, &LIT("w", 2, DIMS(1, 2), 2, -1)));
    const char *extra = save("xw.safetensors", tset(3, (tensor_lit[]){LIT("w", 2, DIMS(1, 2), 2, -1), LIT("b", 1, DIMS(1), 0.5),
                                                                      LIT("c", 1, DIMS(1), 0)}));
    const char *shaped = save("sw.safetensors", tset(2, (tensor_lit[]){LIT("w", 2, DIMS(2, 1), 2, -1), LIT("b", 1, DIMS(1), 0.5)}));
    const char *bad_in = save("bi.safetensors", tset(1, &LIT("x", 2, DIMS(1, 3), 1, 2, 3)));
    const char *odd_in = save("oi.safetensors", tset(2, (tensor_lit[]){LIT("x", 2, DIMS(1, 2), 1, 2), LIT("y", 1, DIMS(1), 1)}));
    const char *trunc = tmp_path("trunc.safetensors");
    write_bytes(trunc, "\x40\0\0\0\0\0\0\0{}", 10);
    const char *o = tmp_path("never.safetensors");

    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", missing, "-o", o, NULL}, 1,
                   "weights: missing key 'b' (parameter f32[1])", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", extra, "-o", o, NULL}, 1,
                   "weights: unexpected key 'c'", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", shaped, "-o", o, NULL}, 1,
                   "weights: key 'w' has shape [2,1] but the parameter is f32[1,2]", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", trunc, "-o", o, NULL}, 1,
                   "runs past the end of the file", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", good_w, "--inputs", bad_in, "-o", o, NULL}, 1,
                   "inputs: input 'x' has shape [1,3], which does not fit f32[B,2]", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", good_w, "--inputs", odd_in, "-o", o, NULL}, 1,
                   "inputs: unexpected input 'y'", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", good_w, "--inputs", odd_in, "--batch", "3", "-o", o, NULL},
                   1, "unexpected input 'y'", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "--weights", "/nonexistent.safetensors", "-o", o, NULL}, 1,
                   "/nonexistent.safetensors: cannot open", o);
    expect_failure((const char *[]){"sheaf", "run", ir, "-o", "/nonexistent-dir/out.safetensors", NULL}, 1,
                   "/nonexistent-dir/out.safetensors: cannot create", NULL);
}

static void test_batch_disagreement(void **state)
{
    (void)state;
    const char *ir = write_tiny();
    const char *in = save("b3.safetensors", tset(1, &LIT("x", 2, DIMS(3, 2), 1, 1, 0, 3, 2, 0)));
    const char *o = tmp_path("never2.safetensors");
    expect_failure((const char *[]){"sheaf", "run", ir, "--inputs", in, "--batch", "2", "-o", o, NULL}, 1,
                   "--batch 2 disagrees with the inputs' batch 3", o);
}

static void test_usage_refusals(void **state)
{
    (void)state;
    const char *ir = write_tiny();
    const char *bad = tmp_path("bad.sfir");
    write_bytes(bad, "func @f(%x: f32[B,2]) {\n  %0 = relu %y : f32[B,2]\n  return %0\n}\n", 60);
    const char *o = tmp_path("never3.sfir");
    expect_failure((const char *[]){"sheaf", "ir", bad, "-o", o, NULL}, 1, "bad.sfir:2:13: %y is not defined", o);
    expect_failure((const char *[]){"sheaf", "frob", NULL}, 2, "unknown command 'frob'", NULL);
    expect_failure((const char *[]){"sheaf", "ir", NULL}, 2, "ir needs a FILE", NULL);
    expect_failure((const char *[]){"sheaf", "ir", ir, "--bogus", NULL}, 2, "unknown option '--bogus'", NULL);
    expect_failure((const char *[]){"sheaf", "ir", ir, "--format", "svg", NULL}, 2, "--format is text or dot", NULL);
    expect_failure((const char *[]){"sheaf", "run", ir, "--batch", "0", NULL}, 2, "--batch takes a positive integer", NULL);
    expect_failure((const char *[]){"sheaf", "run", ir, "--batch", "-3", NULL}, 2, "--batch takes a positive integer", NULL);
    expect_failure((const char *[]){"sheaf", "run", ir, "--seed", NULL}, 2, "option '--seed' needs a value", NULL);
    expect_failure((const char *[]){"sheaf", "run", ir, ir, NULL}, 2, "unexpected argument", NULL);
    expect_failure((const char *[]){"sheaf", "run", ir, "--backend", "gpu", NULL}, 2, "--backend is cpu, cuda or interp",
                   NULL);
    expect_failure((const char *[]){"sheaf", "ir", "model.onnx", NULL}, 1, "model.onnx: unknown file kind", NULL);
    expect_failure((const char *[]){"sheaf", "ir", ir, "--hfuse-min-branches=1", NULL}, 2, "at least 2", NULL);
    expect_failure((const char *[]){"sheaf", "ir", ir, "--passes=cse,nope", NULL}, 1, "unknown pass 'nope'", NULL);
    expect_failure((const char *[]){"sheaf", "ir", ir, "--print-after=nope", NULL}, 1, "print_after (--print-after): unknown pass", NULL);
    expect_failure((const char *[]){"sheaf", "ir", "/nonexistent.sfir", NULL}, 1, "/nonexistent.sfir: cannot open", NULL);
}

static void test_pass_options(void **state)
{
    (void)state;
    char path[512];
    const char *out, *err;
    snprintf(path, sizeof path, "%s/parallel_fcn.py", SF_MODELS);
    const char *base[] = {"sheaf", "ir", path, "--model", "ParallelFCN(8)", "--input", "x=f32[B,160]", NULL, NULL, NULL};
    assert_int_equal(run_cli(base, &out, &err), 0);
    assert_contains(out, "grouped_linear");
    base[7] = "-O0";
    assert_int_equal(run_cli(base, &out, &err), 0);
    assert_null(strstr(out, "grouped_linear"));
    base[7] = "--hfuse-min-branches=9";
    assert_int_equal(run_cli(base, &out, &err), 0);
    assert_null(strstr(out, "grouped_linear"));
    base[7] = "--stats";
    base[8] = "--time-passes";
    assert_int_equal(run_cli(base, &out, &err), 0);
    assert_contains(out, "# stats: ops grouped_linear=1 reshape=2"); /* fc2 after fc1 composed */
    assert_contains(err, "# pass hfuse");
    assert_contains(err, "# pass compose");
    base[8] = "--passes=canonicalize,hfuse,concat_elim,canonicalize";
    assert_int_equal(run_cli(base, &out, &err), 0);
    assert_contains(out, "# stats: ops grouped_linear=2 reshape=2");
}

static void test_version_and_help(void **state)
{
    (void)state;
    const char *out;
    assert_int_equal(run_cli((const char *[]){"sheaf", "version", NULL}, &out, NULL), 0);
    assert_contains(out, "sheaf " SF_VERSION_STRING);
    assert_contains(out, sf_dnnl_available() ? "oneDNN 2." : "oneDNN no");
    assert_int_equal(run_cli((const char *[]){"sheaf", "help", NULL}, &out, NULL), 0);
    assert_contains(out, "usage: sheaf");
    assert_int_equal(run_cli((const char *[]){"sheaf", NULL}, NULL, &out), 2);
    assert_contains(out, "usage: sheaf");
}

/* bytes of a file, to see that a refused command left it as it was */
static size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* an output naming any file the command reads is refused, and that file
 * is left whole (hard and symbolic links count as the same file) */
static void test_outputs_never_replace_inputs(void **state)
{
    (void)state;
    const char *ir = write_tiny();
    const char *w = save("w2.safetensors", tset(2, (tensor_lit[]){LIT("w", 2, DIMS(1, 2), 2, -1), LIT("b", 1, DIMS(1), 0.5)}));
    const char *in = save("in2.safetensors", tset(1, &LIT("x", 2, DIMS(3, 2), 1, 1, 0, 3, 2, 0)));
    size_t ir_size = file_size(ir), w_size = file_size(w), in_size = file_size(in);
    const char *out, *err;
    const char *sym = tmp_path("in2.link");
    unlink(sym);
    assert_int_equal(symlink(in, sym), 0);
    const char *hard = tmp_path("w2.hard");
    unlink(hard);
    assert_int_equal(link(w, hard), 0);
    struct { const char *const *args; const char *msg; } cases[] = {
        {(const char *[]){"sheaf", "run", ir, "--weights", w, "--inputs", in, "-o", in, NULL}, "is the --inputs file"},
        {(const char *[]){"sheaf", "run", ir, "--weights", w, "--inputs", in, "-o", sym, NULL}, "is the --inputs file"},
        {(const char *[]){"sheaf", "run", ir, "--weights", w, "-o", w, NULL}, "is the --weights file"},
        {(const char *[]){"sheaf", "run", ir, "--weights", w, "-o", hard, NULL}, "is the --weights file"},
        {(const char *[]){"sheaf", "run", ir, "-o", ir, NULL}, "is the model file"},
        {(const char *[]){"sheaf", "ir", ir, "-o", ir, NULL}, "is the model file"},
        {(const char *[]){"sheaf", "compile", ir, "--backend", "interp", "-o", ir, NULL}, "is the model file"},
        {(const char *[]){"sheaf", "bench", ir, "--json", ir, NULL}, "--json"},
        {(const char *[]){"sheaf", "bench", ir, "--json", w, "--weights", w, NULL}, "is the --weights file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (run_cli(cases[i].args, &out, &err) != 2)
            fail_msg("case %zu: %s", i, err);
        assert_contains(err, cases[i].msg);
        assert_contains(err, "refusing to overwrite it");
    }
    assert_int_equal(file_size(ir), ir_size);
    assert_int_equal(file_size(w), w_size);
    assert_int_equal(file_size(in), in_size);
    /* a package run with -o naming the package itself */
    const char *pkg = tmp_path("self.sheaf");
    assert_int_equal(run_cli((const char *[]){"sheaf", "compile", ir, "--backend", "interp", "-o", pkg, NULL}, &out, &err), 0);
    size_t pkg_size = file_size(pkg);
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", pkg, "-o", pkg, NULL}, &out, &err), 2);
    assert_contains(err, "is the model file");
    assert_int_equal(file_size(pkg), pkg_size);
}

/* a special file is written in place or refused, never replaced by a rename */
static void test_outputs_to_special_files(void **state)
{
    (void)state;
    const char *ir = write_tiny(), *out, *err;
    struct stat before, after;
    assert_int_equal(stat("/dev/null", &before), 0);
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", ir, "-o", "/dev/null", NULL}, &out, &err), 0);
    assert_int_equal(stat("/dev/null", &after), 0);
    assert_true(S_ISCHR(after.st_mode));
    assert_int_equal(before.st_ino, after.st_ino);
    /* a FIFO that nobody reads: refused at once, not a hang; still a FIFO */
    const char *fifo = tmp_path("out.fifo");
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", ir, "-o", fifo, NULL}, &out, &err), 1);
    assert_contains(err, "a FIFO with no reader");
    assert_int_equal(stat(fifo, &after), 0);
    assert_true(S_ISFIFO(after.st_mode));
    /* a directory */
    const char *dir = tmp_path("out.dir");
    mkdir(dir, 0700);
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", ir, "-o", dir, NULL}, &out, &err), 1);
    assert_contains(err, "is a directory");
    sf_error e = {0};
    sf_outfile of;
    assert_int_equal(sf_outfile_open(&of, dir, &e), SF_ERR_IO);
}

/* --backward, --input-grads, --loss: the backward function from the command line, and what it refuses */
static void test_backward_flags(void **state)
{
    (void)state;
    const char *out, *err;
    char mlp[512], conv[512];
    snprintf(mlp, sizeof mlp, "%s/mlp.sfir", SF_FIXTURES);
    snprintf(conv, sizeof conv, "%s/conv_pfcn.py", SF_MODELS);
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", mlp, "--backward", "--loss", "mse", "-O0", NULL}, &out,
                             &err), 0);
    assert_contains(out, "%target: f32[B,2], %grad.output: f32[]");
    assert_contains(out, "mean ");
    assert_contains(out, "matmul "); /* a weight's gradient: the product over the batch */
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", mlp, "--input-grads", "--batch", "2", NULL}, &out, &err),
                     0);
    assert_contains(out, "grad.layers.0.weight: f32[50,10]"); /* the output, four parameters, then d/dx */
    assert_contains(out, "grad.x: f32[2,10]");
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", mlp, "--loss", "hinge", NULL}, &out, &err), 1);
    assert_contains(err, "loss 'hinge': expected one of mse");
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", conv, "--model", "ConvolutionalPFCN(2)", "--input",
                                              "x=f32[B,40]", "--backward", NULL}, &out, &err), 1);
    assert_contains(err, "grad: conv1d at ");
    assert_contains(err, "conv_pfcn.py:19:13: no gradient rule for this op yet");
}

/* a data file for train: x [rows, 10], target [rows, 1] = a fixed linear map of x, and more when extra */
static void write_train_data(const char *path, int rows, bool target)
{
    sf_tensor_set *d = sf_tensors_new();
    sf_error e = {0};
    float *x = calloc((size_t)rows * 10, sizeof *x), *y = calloc((size_t)rows, sizeof *y);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < 10; c++) {
            x[r * 10 + c] = (float)sin(0.37 * r + 1.3 * c);
            y[r] += 0.1f * (float)(c - 4) * x[r * 10 + c];
        }
    assert_non_null(sf_tensors_add(d, "x", 2, (int64_t[]){rows, 10}, x, &e));
    if (target)
        assert_non_null(sf_tensors_add(d, "target", 2, (int64_t[]){rows, 1}, y, &e));
    assert_int_equal(sf_st_save(path, d, &e), SF_OK);
    sf_tensors_free(d), free(x), free(y);
}

static void test_train_command(void **state)
{
    (void)state;
    const char *out, *err;
    char mlp[512];
    snprintf(mlp, sizeof mlp, "%s/mlp.py", SF_MODELS);
    const char *data = tmp_path("train.safetensors"), *val = tmp_path("val.safetensors"),
               *trained = tmp_path("trained.safetensors");
    write_train_data(data, 40, true);
    write_train_data(val, 12, true);
    assert_int_equal(run_cli((const char *[]){"sheaf", "train", mlp, "--model", "MLP(10, 64, 1)", "--input",
                                              "x=f32[B,10]", "--loss", "mse", "--data", data, "--val", val,
                                              "--optimizer", "adam", "--lr", "1e-2", "--group", "fc2.*:lr=2e-2",
                                              "--epochs", "3", "--batch", "16", "-o", trained, NULL},
                             &out, &err), 0);
    assert_contains(out, "sheaf: trained 9 steps: 3 epochs of 40 rows, batch 16, in ");
    assert_contains(out, "cpu backend");
    assert_contains(out, "; validation loss ");
    assert_contains(err, "epoch 3/3  100%  loss ");
    assert_contains(err, "epoch 3/3  validation loss ");
    float first, last;
    assert_int_equal(sscanf(strstr(out, "sheaf: loss "), "sheaf: loss %f at the first step, %f at the last", &first,
                            &last), 2);
    assert_true(last < first); /* the map is learnable */
    sf_tensor_set *t = sf_tensors_new();
    sf_error e = {0};
    assert_int_equal(sf_st_load(trained, t, &e), SF_OK);
    assert_int_equal(sf_tensors_count(t), 4); /* the state_dict, nothing the passes made */
    assert_non_null(sf_tensors_get(t, "fc1.weight"));
    assert_non_null(sf_tensors_get(t, "fc2.bias"));
    sf_tensors_free(t);
    /* the trained state_dict is a --weights file */
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", mlp, "--model", "MLP(10, 64, 1)", "--input",
                                              "x=f32[B,10]", "--weights", trained, NULL}, &out, &err), 0);
}

static void test_train_refusals(void **state)
{
    (void)state;
    const char *out, *err;
    char mlp[512];
    snprintf(mlp, sizeof mlp, "%s/mlp.py", SF_MODELS);
    const char *data = tmp_path("train_r.safetensors"), *nolabel = tmp_path("nolabel.safetensors"),
               *trained = tmp_path("trained_r.safetensors");
    write_train_data(data, 8, true);
    write_train_data(nolabel, 8, false);
    static const struct {
        const char *flag, *value, *error;
        int rc;
    } bad[] = {
        {"--optimizer", "rmsprop", "optimizer 'rmsprop': unknown (expected sgd, adam or adamw", 1},
        {"--optimizer", "sgd:beta1=0.5", "'beta1' is not a setting of sgd", 1},
        {"--optimizer", "sgd:nesterov=1", "nesterov needs a momentum and zero dampening", 1},
        {"--optimizer", "adam:lr=x", "lr=x: expected a number", 1},
        {"--group", "fc1.*", "group 'fc1.*': expected pattern:key=value", 1},
        {"--group", "fc1.*:momentum=-1", "group 'fc1.*:momentum=-1': lr, momentum and weight_decay must be", 1},
        {"--group", "fc1.*:beta2=0.5", "group 'fc1.*:beta2=0.5': 'beta2' is not a setting of sgd", 1},
        {"--lr", "-1", "--lr takes a learning rate of at least 0, got '-1'", 2},
        {"--epochs", "0", "--epochs takes a positive integer, got '0'", 2},
        {"--data", NULL, "no tensor 'target' (the data holds each input of forward and 'target'", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *d = bad[i].value ? data : nolabel;
        const char *args[] = {"sheaf", "train", mlp, "--model", "MLP(10, 64, 1)", "--input", "x=f32[B,10]", "--loss",
                              "mse", "--data", d, "-o", trained, bad[i].flag, bad[i].value ? bad[i].value : d, NULL};
        assert_int_equal(run_cli(args, &out, &err), bad[i].rc);
        assert_contains(err, bad[i].error);
        assert_false(file_exists(trained)); /* nothing written by a failed command */
    }
    assert_int_equal(run_cli((const char *[]){"sheaf", "train", mlp, "--model", "MLP(10, 64, 1)", "--input",
                                              "x=f32[B,10]", "--data", data, NULL}, &out, &err), 2);
    assert_contains(err, "train needs --loss");
    assert_int_equal(run_cli((const char *[]){"sheaf", "train", mlp, "--model", "MLP(10, 64, 1)", "--input",
                                              "x=f32[B,10]", "--loss", "mse", NULL}, &out, &err), 2);
    assert_contains(err, "train needs --data");
    assert_int_equal(run_cli((const char *[]){"sheaf", "train", mlp, "--model", "MLP(10, 64, 1)", "--input",
                                              "x=f32[B,10]", "--loss", "mse", "--data", data, "-o", data, NULL},
                             &out, &err), 2);
    assert_contains(err, "is the --data file");
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", mlp, "--model", "MLP(10, 64, 1)", "--input",
                                              "x=f32[B,10]", "--data", data, NULL}, &out, &err), 2);
    assert_contains(err, "--data is for train");
    assert_int_equal(run_cli((const char *[]){"sheaf", "train", mlp, "--model", "MLP(10, 64, 1)", "--input",
                                              "x=f32[B,10]", "--loss", "mse", "--data", "/nonexistent.safetensors",
                                              NULL}, &out, &err), 1);
    assert_contains(err, "/nonexistent.safetensors");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ir_prints_and_dots),
        cmocka_unit_test(test_backward_flags),
        cmocka_unit_test(test_train_command),
        cmocka_unit_test(test_train_refusals),
        cmocka_unit_test(test_run_with_files),
        cmocka_unit_test(test_run_seeded_is_deterministic),
        cmocka_unit_test(test_run_bn_init_is_sane),
        cmocka_unit_test(test_run_refusals),
        cmocka_unit_test(test_batch_disagreement),
        cmocka_unit_test(test_usage_refusals),
        cmocka_unit_test(test_pass_options),
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_outputs_never_replace_inputs),
        cmocka_unit_test(test_outputs_to_special_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
