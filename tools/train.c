/* `sheaf train`: the loop around sf_train_step. The data file holds one
 * tensor per forward input and "target", their rows on dim 0; the epochs
 * take them in order, batch rows at a time (the last batch of an epoch may
 * be smaller, as DataLoader's drop_last=False). Progress goes to stderr,
 * one line redrawn in place on a terminal; the summary to stdout. */
#include "tools/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/safetensors.h"
#include "ir/tensor.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* a data file's tensors in the order of the model's inputs but the seed,
 * each with the same number of rows (returned), each row the input's shape */
static int64_t load_rows(const sf_model *m, const char *path, sf_tensor_set *set, const sf_tensor **cols,
                         sf_error *err)
{
    if (sf_st_load(path, set, err) != SF_OK)
        return -1;
    size_t n = sf_num_inputs(m) - 1;
    int64_t rows = -1;
    for (size_t i = 0; i < n; i++) {
        sf_tensor_info info;
        sf_input_info(m, i, &info);
        const sf_tensor *t = sf_tensors_get(set, info.name);
        if (!t || t->rank < 1) {
            sf_fail(err, SF_ERR_INVALID_ARG, "%s: no tensor '%s' (the data holds each input of forward and "
                                             "'target', rows on dim 0)", path, info.name);
            return -1;
        }
        size_t per = sf_input_numel(m, i, 1);
        if (t->dim[0] < 1 || sf_tensor_numel(t) != per * (size_t)t->dim[0]) {
            char a[64];
            sf_fail(err, SF_ERR_INVALID_ARG, "%s: '%s' is %s: expected rows of %zu values each", path, info.name,
                    sf_tensor_shape_str(t, a, sizeof a), per);
            return -1;
        }
        if (rows >= 0 && t->dim[0] != rows) {
            sf_fail(err, SF_ERR_INVALID_ARG, "%s: '%s' has %lld rows, the tensors before it %lld", path, info.name,
                    (long long)t->dim[0], (long long)rows);
            return -1;
        }
        rows = t->dim[0];
        cols[i] = t;
    }
    return rows;
}

/* inputs for rows [r, r + b) */
static void rows_at(const sf_model *m, const sf_tensor **cols, int64_t r, const float **ins)
{
    for (size_t i = 0; i + 1 < sf_num_inputs(m); i++)
        ins[i] = cols[i]->data + (size_t)r * sf_input_numel(m, i, 1);
}

/* the mean loss over a data set, batch-weighted */
static sf_status mean_loss(sf_trainer *t, const sf_model *m, const sf_tensor **cols, int64_t rows, int64_t batch,
                           const float **ins, double *mean, sf_error *err)
{
    double sum = 0;
    for (int64_t r = 0; r < rows; r += batch) {
        int64_t b = rows - r < batch ? rows - r : batch;
        float L;
        rows_at(m, cols, r, ins);
        if (sf_trainer_eval(t, b, ins, &L, err) != SF_OK)
            return err ? err->code : SF_ERR_RUNTIME;
        sum += (double)L * (double)b;
    }
    *mean = sum / (double)rows;
    return SF_OK;
}

static void progress(FILE *f, bool tty, long long epoch, long long epochs, int64_t done, int64_t rows, double loss,
                     double rate, double eta)
{
    fprintf(f, "%sepoch %lld/%lld  %3.0f%%  loss %.6g  %.0f rows/s  ETA %.0f s%s", tty ? "\r" : "", epoch, epochs,
            100.0 * (double)done / (double)rows, loss, rate, eta, tty ? "\033[K" : "\n");
    fflush(f);
}

int sf_train_cli(sf_model *m, const sf_train_options *to, const sf_train_cli_opts *o, sf_error *err)
{
    long long epochs = o->epochs ? o->epochs : 1;
    int64_t batch = o->batch ? o->batch : 64;
    sf_trainer *t = sf_trainer_new(m, to, err);
    if (!t)
        return 1;
    size_t n = sf_num_inputs(m);
    const sf_tensor **cols = calloc(n + 1, sizeof *cols), **vcols = calloc(n + 1, sizeof *vcols);
    const float **ins = calloc(n + 1, sizeof *ins);
    sf_tensor_set *data = sf_tensors_new(), *val = sf_tensors_new();
    sf_status st = cols && vcols && ins && data && val ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    int64_t rows = st == SF_OK ? load_rows(m, o->data, data, cols, err) : -1;
    int64_t vrows = rows > 0 && o->val ? load_rows(m, o->val, val, vcols, err) : 0;
    if (rows < 0 || vrows < 0)
        st = err && err->code ? err->code : SF_ERR_INVALID_ARG;
    bool tty = isatty(fileno(o->errf));
    double t0 = now_s(), first = NAN, last = NAN, vloss = NAN;
    for (long long e = 1; st == SF_OK && e <= epochs; e++) {
        double sum = 0, shown = 0;
        for (int64_t r = 0; st == SF_OK && r < rows; r += batch) {
            int64_t b = rows - r < batch ? rows - r : batch;
            float L;
            rows_at(m, cols, r, ins);
            st = sf_train_step(t, b, ins, &L, err);
            sum += (double)L * (double)b;
            first = isnan(first) ? L : first;
            last = L;
            double now = now_s(), done = (double)(e - 1) * (double)rows + (double)(r + b);
            if (st == SF_OK && (now - shown > 0.25 || r + b == rows)) {
                double rate = done / (now - t0 + 1e-9);
                progress(o->errf, tty, e, epochs, r + b, rows, sum / (double)(r + b), rate,
                         ((double)epochs * (double)rows - done) / rate);
                shown = now;
            }
        }
        if (st == SF_OK && vrows)
            st = mean_loss(t, m, vcols, vrows, batch, ins, &vloss, err);
        if (st == SF_OK && vrows)
            fprintf(o->errf, "%sepoch %lld/%lld  validation loss %.6g\n", tty ? "\n" : "", e, epochs, vloss);
        else if (st == SF_OK && tty)
            fputc('\n', o->errf);
    }
    double secs = now_s() - t0;
    if (st == SF_OK && o->output)
        st = sf_trainer_save_params(t, o->output, err);
    if (st == SF_OK) {
        fprintf(o->out, "sheaf: trained %lld steps: %lld epoch%s of %lld rows, batch %lld, in %.6g s (%.0f rows/s, "
                        "%s backend)\n", sf_trainer_steps(t), epochs, epochs == 1 ? "" : "s", (long long)rows,
                (long long)batch, secs, (double)epochs * (double)rows / (secs + 1e-9), sf_model_backend(m));
        fprintf(o->out, "sheaf: loss %.6g at the first step, %.6g at the last", first, last);
        if (vrows)
            fprintf(o->out, "; validation loss %.6g", vloss);
        fprintf(o->out, "\n");
        if (o->output)
            fprintf(o->out, "sheaf: wrote the trained state_dict to %s\n", o->output);
    }
    free(cols), free(vcols), free(ins);
    sf_tensors_free(data), sf_tensors_free(val);
    sf_trainer_free(t);
    return st == SF_OK ? 0 : 1;
}
