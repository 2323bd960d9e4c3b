/* A host program: JIT-compiles a PyTorch model file with sheaf, runs it on
 * its own buffers, checks it against the reference interpreter, and saves
 * and reloads it as a package.
 *
 *   host MODEL.py CLASS(ARGS) INPUT_SPEC [BATCH]
 *   host ../tests/models/parallel_fcn.py "ParallelFCN(100)" "x=f32[B,2000]" 4
 *
 * Only the public header is used: link with libsheaf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sheaf.h"

static int fail(const char *what, const sf_error *e)
{
    fprintf(stderr, "host: %s: %s (%s)\n", what, e->msg, sf_status_name(e->code));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.py 'Class(args)' 'x=f32[B,N]' [BATCH]\n", argv[0]);
        return 2;
    }
    int64_t batch = argc > 4 ? atoll(argv[4]) : 4;
    const char *inputs[] = {argv[3]};
    sf_options opts = {.model = argv[2], .inputs = inputs, .ninputs = 1, .seed = 42};
    sf_error err = {0};
    sf_model *m = sf_compile_file(argv[1], &opts, &err);
    if (!m)
        return fail("compile", &err);
    sf_options ref_opts = opts;
    ref_opts.backend = "interp";
    ref_opts.unoptimised = true;
    sf_model *ref = sf_compile_file(argv[1], &ref_opts, &err);
    if (!ref)
        return fail("compile for the interpreter", &err);

    size_t nin = sf_num_inputs(m), nout = sf_num_outputs(m);
    float **in = calloc(nin, sizeof *in), **out = calloc(nout, sizeof *out), **want = calloc(nout, sizeof *want);
    for (size_t i = 0; i < nin; i++) {
        sf_tensor_info info;
        sf_input_info(m, i, &info);
        size_t n = sf_input_numel(m, i, batch);
        printf("input %s: rank %d, %zu floats at batch %lld\n", info.name, info.rank, n, (long long)batch);
        in[i] = malloc(n * sizeof(float));
        for (size_t k = 0; k < n; k++)
            in[i][k] = (float)sin(0.1 * (double)k);
    }
    for (size_t i = 0; i < nout; i++) {
        out[i] = calloc(sf_output_numel(m, i, batch), sizeof(float));
        want[i] = calloc(sf_output_numel(m, i, batch), sizeof(float));
    }
    if (sf_run(m, batch, (const float *const *)in, out, &err) != SF_OK)
        return fail("run", &err);
    if (sf_run(ref, batch, (const float *const *)in, want, &err) != SF_OK)
        return fail("interpreter run", &err);

    int bad = 0;
    for (size_t i = 0; i < nout; i++) {
        sf_tensor_info info;
        sf_output_info(m, i, &info);
        double worst = 0, sum = 0;
        for (size_t k = 0, n = sf_output_numel(m, i, batch); k < n; k++) {
            double d = fabs((double)out[i][k] - want[i][k]);
            worst = d > worst ? d : worst;
            sum += out[i][k];
            bad |= d > 1e-5 + 1e-5 * fabs(want[i][k]);
        }
        printf("output %s: sum %.6f, max |diff| vs interpreter %.3g\n", info.name, sum, worst);
    }

    /* ahead of time: the package reloads without compiling */
    if (sf_save(m, "host_model.sheaf", &err) != SF_OK)
        return fail("save", &err);
    sf_model *loaded = sf_load("host_model.sheaf", NULL, &err);
    if (!loaded)
        return fail("load", &err);
    if (sf_run(loaded, batch, (const float *const *)in, want, &err) != SF_OK)
        return fail("run of the package", &err);
    for (size_t i = 0; i < nout; i++)
        for (size_t k = 0, n = sf_output_numel(m, i, batch); k < n; k++)
            bad |= want[i][k] != out[i][k];
    printf("package host_model.sheaf: %s\n", bad ? "MISMATCH" : "same outputs");
    remove("host_model.sheaf");

    for (size_t i = 0; i < nin; i++)
        free(in[i]);
    for (size_t i = 0; i < nout; i++)
        free(out[i]), free(want[i]);
    free(in), free(out), free(want);
    sf_model_free(loaded);
    sf_model_free(ref);
    sf_model_free(m);
    return bad;
}
