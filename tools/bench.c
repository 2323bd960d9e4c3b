/* The benchmark: per batch size, the model's latency (min / median / p90 of
 * repeated runs within a time budget), rows/s and GFLOP/s (flops of the
 * unoptimised graph: the work the model asks for), the activation memory the
 * plan laid out and the process's peak RSS, and in the same run the
 * interpreter on the unoptimised IR and the CPU backend at -O0, with the
 * largest difference between their outputs and the model's. A baseline
 * whose run would take more than 20 budgets at a batch size (estimated from
 * the smaller batch sizes) is said to be so instead of timed. */
#include "tools/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ir/fileio.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct timing {
    double min, median, p90;
    int reps;
} timing;

typedef struct io {
    sf_tensor_set *inputs; /* drawn from the seed; in[i] points into it */
    float **in, **out;
    size_t nin, nout;
} io;

static void io_free(io *b)
{
    sf_tensors_free(b->inputs);
    for (size_t i = 0; b->out && i < b->nout; i++)
        free(b->out[i]);
    free(b->in);
    free(b->out);
    memset(b, 0, sizeof *b);
}

/* inputs drawn from the seed (the same for every model), zeroed outputs */
static sf_status io_make(const sf_model *m, int64_t batch, io *b, sf_error *err)
{
    memset(b, 0, sizeof *b);
    b->nin = sf_num_inputs(m), b->nout = sf_num_outputs(m);
    b->in = calloc(b->nin + 1, sizeof *b->in);
    b->out = calloc(b->nout + 1, sizeof *b->out);
    b->inputs = sf_tensors_new();
    sf_status st = b->in && b->out && b->inputs ? sf_random_inputs(m->g, batch, 1, b->inputs, err) : SF_ERR_NOMEM;
    for (size_t i = 0; st == SF_OK && i < b->nin; i++) /* in the graph's input order */
        b->in[i] = ((sf_tensor *)b->inputs->tensors.items[i])->data;
    for (size_t i = 0; st == SF_OK && i < b->nout; i++)
        if (!(b->out[i] = calloc(sf_output_numel(m, i, batch) + 1, sizeof(float))))
            st = SF_ERR_NOMEM;
    if (st == SF_ERR_NOMEM)
        sf_fail(err, st, "bench: out of memory for batch %lld", (long long)batch);
    if (st != SF_OK)
        io_free(b);
    return st;
}

/* a warm-up run (when `warm`), then runs until the budget is spent (at least `least`) */
static sf_status time_runs(sf_model *m, int64_t batch, io *b, double budget, int least, bool warm, timing *t,
                           sf_error *err)
{
    sf_status st = warm ? sf_run(m, batch, (const float *const *)b->in, b->out, err) : SF_OK;
    int cap = 100000, n = 0;
    double *s = malloc(sizeof *s * (size_t)cap), start = now();
    if (!s)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    while (st == SF_OK && n < cap && (n < least || now() - start < budget)) {
        double t0 = now();
        st = sf_run(m, batch, (const float *const *)b->in, b->out, err);
        s[n++] = now() - t0;
    }
    if (st == SF_OK) {
        qsort(s, (size_t)n, sizeof *s, cmp_double);
        t->min = s[0], t->median = s[n / 2], t->p90 = s[(size_t)(n * 9 / 10) < (size_t)n ? n * 9 / 10 : n - 1];
        t->reps = n;
    }
    free(s);
    return st;
}

/* the largest |a - b| over every output (infinite where one side has a
 * NaN); the first output beyond the check's tolerance fails `bad` once */
static double max_diff(const io *a, const io *b, const sf_model *m, int64_t batch, const char *oracle,
                       sf_status *bad, sf_error *err)
{
    double d = 0;
    for (size_t i = 0; i < a->nout; i++) {
        sf_mismatch w;
        sf_compare_values(a->out[i], b->out[i], sf_output_numel(m, i, batch), &w);
        d = fmax(d, w.max_abs);
    }
    if (*bad == SF_OK)
        *bad = sf_compare_outputs(m->g, batch, "cpu", oracle, (const float *const *)a->out,
                                  (const float *const *)b->out, err);
    return d;
}

static void put_time(FILE *f, double s)
{
    if (s < 1e-3)
        fprintf(f, "%.1f us", s * 1e6);
    else if (s < 1)
        fprintf(f, "%.2f ms", s * 1e3);
    else
        fprintf(f, "%.2f s", s);
}

/* The process's own peak resident set: Linux's VmHWM, which exec resets. getrusage's ru_maxrss is
 * carried across exec from the parent (a 71 MB run launched from a 905 MB Python process reported
 * 905 MB), so it is only the fallback where /proc is missing. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (kb < 0 && fgets(line, sizeof line, f))
            if (!strncmp(line, "VmHWM:", 6))
                kb = strtol(line + 6, NULL, 10);
        fclose(f);
        if (kb >= 0)
            return kb;
    }
    struct rusage u;
    return getrusage(RUSAGE_SELF, &u) == 0 ? u.ru_maxrss : 0;
}

typedef struct row {
    int64_t batch;
    timing t, interp, o0;
    bool has_interp, has_o0;
    double skip_interp, skip_o0; /* not timed: the estimated seconds per run */
    double gflops, exec_gflops; /* the model as written (-O0 graph), and as run */
    double diff_interp, diff_o0;
    sf_status wrong; /* not SF_OK: an output beyond tolerance, said in why */
    sf_error why;
    size_t planned, arena;
    long rss_kb;
} row;

static void print_row(FILE *f, const char *label, int threads, const row *r)
{
    fprintf(f, "bench %s cpu threads=%d batch %lld: min ", label, threads, (long long)r->batch);
    put_time(f, r->t.min);
    fputs(", median ", f);
    put_time(f, r->t.median);
    fputs(", p90 ", f);
    put_time(f, r->t.p90);
    fprintf(f, " (%d runs); %.4g rows/s, %.3g GFLOP/s", r->t.reps, (double)r->batch / r->t.median,
            r->gflops / r->t.median);
    if (fabs(r->exec_gflops - r->gflops) > 0.01 * r->gflops) /* the passes changed the work, e.g. composed products */
        fprintf(f, " of the model as written (%.3g GFLOP/s executed)", r->exec_gflops / r->t.median);
    fprintf(f, "; activations planned %zu B, allocated %zu B, peak RSS %ld MB", r->planned, r->arena,
            r->rss_kb / 1024);
    if (r->has_interp)
        fprintf(f, "; vs interpreter on -O0 IR %.0fx (max |diff| %.2g)", r->interp.median / r->t.median, r->diff_interp);
    else if (r->skip_interp > 0)
        fprintf(f, "; interpreter not timed (about %.0f s per run here)", r->skip_interp);
    if (r->has_o0)
        fprintf(f, "; vs cpu -O0 %.1fx (max |diff| %.2g)", r->o0.median / r->t.median, r->diff_o0);
    else if (r->skip_o0 > 0)
        fprintf(f, "; cpu -O0 not timed (about %.0f s per run here)", r->skip_o0);
    fputc('\n', f);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    fputc('"', f);
}

static void json_timing(FILE *f, const char *key, const timing *t)
{
    fprintf(f, "\"%s\": {\"min_s\": %.9g, \"median_s\": %.9g, \"p90_s\": %.9g, \"runs\": %d}", key, t->min, t->median,
            t->p90, t->reps);
}

static void json_row(FILE *f, const char *label, int threads, const row *r, bool last)
{
    fputs("  {\"model\": ", f);
    json_string(f, label);
    fprintf(f, ", \"backend\": \"cpu\", \"threads\": %d, \"batch\": %lld, ", threads, (long long)r->batch);
    json_timing(f, "latency", &r->t);
    fprintf(f, ", \"rows_per_s\": %.9g, \"gflop_per_s\": %.9g, \"flop_per_run\": %.9g, ", (double)r->batch / r->t.median,
            r->gflops / r->t.median, r->gflops * 1e9);
    fprintf(f, "\"executed_gflop_per_s\": %.9g, \"executed_flop_per_run\": %.9g, ", r->exec_gflops / r->t.median,
            r->exec_gflops * 1e9);
    fprintf(f, "\"activations_planned_bytes\": %zu, \"activations_allocated_bytes\": %zu, \"peak_rss_bytes\": %ld",
            r->planned, r->arena, r->rss_kb * 1024);
    if (r->has_interp) {
        fputs(", ", f);
        json_timing(f, "interpreter_O0", &r->interp);
        fprintf(f, ", \"speedup_vs_interpreter\": %.6g, \"max_abs_diff_interpreter\": %.3g",
                r->interp.median / r->t.median, r->diff_interp);
    }
    if (!r->has_interp && r->skip_interp > 0)
        fprintf(f, ", \"interpreter_O0_skipped_estimate_s\": %.3g", r->skip_interp);
    if (!r->has_o0 && r->skip_o0 > 0)
        fprintf(f, ", \"cpu_O0_skipped_estimate_s\": %.3g", r->skip_o0);
    if (r->has_o0) {
        fputs(", ", f);
        json_timing(f, "cpu_O0", &r->o0);
        fprintf(f, ", \"speedup_vs_O0\": %.6g, \"max_abs_diff_O0\": %.3g", r->o0.median / r->t.median, r->diff_o0);
    }
    fprintf(f, "}%s\n", last ? "" : ",");
}

/* the interpreter on o0's graph, through the same buffers */
static sf_status bench_interp(sf_model *o0, int64_t batch, io *b, double budget, timing *t, sf_error *err)
{
    sf_backend_kind kind = o0->backend;
    o0->backend = SF_BACKEND_INTERP; /* its graph and weights, on the interpreter */
    sf_status st = time_runs(o0, batch, b, budget, 1, false, t, err);
    o0->backend = kind;
    return st;
}

/* a baseline's seconds per run at `batch`, from the last smaller batch it
 * was timed at (linear in the batch); 0 when unknown */
static double estimate(const row *rows, int n, int64_t batch, bool interp)
{
    for (int i = n - 1; i >= 0; i--)
        if ((interp ? rows[i].has_interp : rows[i].has_o0) && rows[i].batch <= batch)
            return (interp ? rows[i].interp.median : rows[i].o0.median) * (double)batch / (double)rows[i].batch;
    return 0;
}

/* A baseline that would take more than this many budgets per run is not
 * timed: the interpreter on ResNetLike at batch 4096 would take an hour. */
#define SKIP_BUDGETS 20

static sf_status bench_batch(sf_model *m, sf_model *o0, const sf_bench_opts *o, int64_t batch, const row *done,
                             int ndone, row *r, sf_error *err)
{
    memset(r, 0, sizeof *r);
    r->batch = batch;
    io a, b;
    sf_status st = io_make(m, batch, &a, err);
    if (st != SF_OK)
        return st;
    double budget = o->budget_s > 0 ? o->budget_s : 1.0;
    st = time_runs(m, batch, &a, budget, 5, true, &r->t, err);
    r->gflops = sf_graph_flops(o0 ? o0->g : m->g, batch) * 1e-9;
    r->exec_gflops = sf_graph_flops(m->g, batch) * 1e-9;
    if (m->cpu) {
        sf_cpu_planned_bytes(m->cpu, batch, &r->planned);
        r->arena = sf_cpu_arena_bytes(m->cpu);
    }
    r->rss_kb = peak_rss_kb();
    double est_o0 = estimate(done, ndone, batch, false), est_interp = estimate(done, ndone, batch, true);
    if (est_o0 > SKIP_BUDGETS * budget)
        r->skip_o0 = est_o0;
    if (est_interp > SKIP_BUDGETS * budget)
        r->skip_interp = est_interp;
    if (st == SF_OK && o0 && (!r->skip_o0 || !r->skip_interp) && (st = io_make(o0, batch, &b, err)) == SF_OK) {
        if (!r->skip_o0) {
            st = time_runs(o0, batch, &b, budget, 3, true, &r->o0, err);
            r->has_o0 = st == SF_OK;
            r->diff_o0 = max_diff(&a, &b, m, batch, "cpu -O0", &r->wrong, &r->why);
        }
        if (st == SF_OK && !r->skip_interp) {
            st = bench_interp(o0, batch, &b, budget, &r->interp, err);
            r->has_interp = st == SF_OK;
            r->diff_interp = max_diff(&a, &b, m, batch, "interpreter on -O0 IR", &r->wrong, &r->why);
        }
        io_free(&b);
    }
    io_free(&a);
    return st;
}

int sf_bench(sf_model *m, sf_model *o0, const sf_bench_opts *o, sf_error *err)
{
    row *rows = calloc((size_t)o->nbatches + 1, sizeof *rows);
    if (!rows) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return 1;
    }
    int threads = m->cpu ? sf_cpu_threads(m->cpu) : 1;
    sf_status st = SF_OK;
    int wrong = -1; /* the first row whose outputs differ from a baseline's */
    for (int i = 0; st == SF_OK && i < o->nbatches; i++) {
        st = bench_batch(m, o0, o, o->batches[i], rows, i, &rows[i], err);
        if (st == SF_OK) {
            print_row(o->out, o->label, threads, &rows[i]);
            fflush(o->out);
        }
        if (st == SF_OK && rows[i].wrong != SF_OK && wrong < 0)
            wrong = i;
    }
    if (st == SF_OK && o->json) {
        sf_outfile of;
        st = sf_outfile_open(&of, o->json, err);
        if (st == SF_OK) {
            fputs("[\n", of.f);
            for (int i = 0; i < o->nbatches; i++)
                json_row(of.f, o->label, threads, &rows[i], i + 1 == o->nbatches);
            fputs("]\n", of.f);
            st = sf_outfile_commit(&of, err);
        }
    }
    if (st == SF_OK && wrong >= 0) { /* timings of a wrong result are worth nothing: say so, fail */
        if (err)
            *err = rows[wrong].why;
        st = rows[wrong].wrong;
    }
    free(rows);
    return st == SF_OK ? 0 : 1;
}
