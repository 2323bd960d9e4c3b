/* The `sheaf` command: subcommands ir, run, version, help. Every failure is
 * one line on stderr and a non-zero exit status; no output file is left
 * behind by a failed command. */
#include "tools/cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "frontend/safetensors.h"
#include "ir/fileio.h"
#include "ir/tensor.h"
#include "runtime/cpu.h"
#include "runtime/cpu_dnnl.h"
#include "runtime/model.h"
#include "tools/bench.h"
#include "tools/train.h"

#ifndef SF_LLVM_VERSION
#define SF_LLVM_VERSION ""
#endif
#ifndef SF_CUDA_VERSION
#define SF_CUDA_VERSION ""
#endif

enum { MAX_SPECS = 64 };

typedef struct options {
    const char *file;
    const char *model;                 /* --model, for .py files */
    const char *inputs[MAX_SPECS];     /* --input x=f32[B,10], repeatable */
    int ninputs;
    const char *consts[MAX_SPECS];     /* --const name=value, repeatable */
    int nconsts;
    bool strict;                       /* --strict[=true|false], default true */
    bool time;                         /* --time */
    bool stats;                        /* --stats */
    const char *backend;               /* --backend cpu|cuda|interp */
    long long hfuse_min;               /* --hfuse-min-branches */
    unsigned long long hfuse_max;      /* --hfuse-max-bytes */
    int opt_level;                     /* -O0, -O1, -O2 */
    const char *passes;                /* --passes */
    const char *print_after;           /* --print-after */
    bool print_after_all;              /* --print-after-all */
    bool verify_each;                  /* --verify-each */
    bool time_passes;                  /* --time-passes */
    const char *format;  /* ir: text | dot */
    const char *output;  /* -o */
    const char *weights; /* --weights */
    const char *inputs_file; /* --inputs */
    long long batch;     /* --batch; 0: unset */
    const char *batch_list; /* bench: --batch 1,64,4096 */
    long long threads;   /* --threads; 0: one per CPU */
    const char *json;    /* bench: --json FILE */
    const char *targets; /* compile: --target sm_80,sm_90 */
    bool no_cache;       /* --no-cache: NVRTC compiles, the on-disk cache is left alone */
    const char *precision; /* --precision fp32|tf32|fp16|bf16 */
    double budget;       /* bench: --budget SECONDS per measurement */
    bool check;          /* run: --check, the interpreter beside the model */
    long long max_nodes; /* --max-nodes: the tracing budget (0: the default) */
    bool poison;         /* run, bench: --poison, NaN in the activations before each run */
    bool backward;       /* --backward: the model's backward function instead of its forward */
    bool input_grads;    /* --input-grads: with --backward, the inputs' gradients too */
    const char *loss;    /* --loss mse|l1|...: the output against an input "target" */
    unsigned long long seed;
    const char *data;    /* train: --data, --val */
    const char *val;
    const char *optimizer;             /* train: --optimizer adam[:key=value,...] */
    const char *lr;                    /* train: --lr, over the optimizer's */
    const char *groups[MAX_SPECS];     /* train: --group 'pattern:key=value,...', repeatable */
    int ngroups;
    long long epochs;                  /* train: --epochs */
} options;

static const char usage[] =
    "usage: sheaf <command> [options]\n"
    "\n"
    "commands:\n"
    "  ir SOURCE [--format text|dot] [-o OUT] [--time] [--stats] [--weights W.safetensors]\n"
    "      compile to IR, optimise, print it (text form, or Graphviz DOT)\n"
    "  run SOURCE [--backend cpu|cuda|interp] [--weights W.safetensors] [--strict=false] [--inputs I.safetensors]\n"
    "             [--batch N] [--seed S] [-o O.safetensors] [--check] [--poison]\n"
    "      compile and run (native code on the CPU by default; the reference\n"
    "      interpreter with --backend interp); without --weights the\n"
    "      parameters are initialised from the seed, without --inputs the\n"
    "      inputs are drawn from the seed (batch N, default 1); without -o\n"
    "      the outputs are printed; --check also runs the interpreter (on the\n"
    "      unoptimised IR; a package's own IR) and fails where they disagree,\n"
    "      naming the output, the worst element and both values; --poison\n"
    "      fills the CPU backend's activations with NaN before each run\n"
    "\n"
    "passes (ir and run): -O0 (none) | -O2 (default) | --passes=canonicalize,cse,dce\n"
    "  --print-after-all | --print-after=PASS | --verify-each | --time-passes\n"
    "  --hfuse-min-branches=N (default 2) | --hfuse-max-bytes=N (default 1 GiB per group)\n"
    "  --max-nodes=N: a model file that traces to more IR nodes is refused (default 4000000)\n"
    "  --backward: the model's backward function instead (inputs: the forward's, then\n"
    "      grad.output... = dL/d each output; outputs: the forward's, then dL/d each\n"
    "      parameter in state_dict order); --input-grads: and dL/d each input (docs/training.md)\n"
    "  --loss mse|l1|smooth_l1|cross_entropy|cross_entropy_probs|bce_with_logits: the output\n"
    "      against an input 'target', the mean loss the output\n"
    "\n"
    "SOURCE is an IR file (FILE.sfir) or a PyTorch model file with:\n"
    "  model.py --model \"ParallelFCN(1000)\" --input \"x=f32[B,20000]\" [--const name=value]\n"
    "  compile SOURCE -o M.sheaf [--weights W.safetensors] [--backend cpu|interp] [--target sm_80,sm_90]\n"
    "      compile to a package: optimised IR, weights, native code for this CPU;\n"
    "      with --target also CUDA code (CUBIN per architecture, PTX for the newest;\n"
    "      no GPU needed); 'sheaf run M.sheaf' and sf_load() compile nothing (docs/package.md);\n"
    "      NVRTC's output is cached in $XDG_CACHE_HOME/sheaf (or ~/.cache/sheaf): --no-cache\n"
    "      compiles again and keeps nothing\n"
    "  bench SOURCE [--batch 1,64,4096] [--threads N] [--budget SECONDS] [--json OUT.json] [--time]\n"
    "      latency (min/median/p90), rows/s, GFLOP/s and memory per batch size on the CPU\n"
    "      backend, with the interpreter and -O0 timed in the same run\n"
    "  run and bench also take a package (M.sheaf); --threads N sets the CPU threads\n"
    "  --precision fp32 (the default, TF32 off); tf32, fp16 and bf16 are not built yet\n"
    "  train SOURCE --loss L --data D.safetensors [--val V.safetensors] [--optimizer sgd|adam|adamw[:k=v,...]]\n"
    "             [--lr X] [--group 'layer_list.3.*:lr=1e-2'] [--epochs N] [--batch 64] [-o T.safetensors]\n"
    "      train the model: D holds each input of forward and 'target', rows on dim 0; each\n"
    "      step runs forward, loss and backward fused, then the optimizer (PyTorch's defaults;\n"
    "      settings lr, momentum, dampening, nesterov, weight_decay, beta1, beta2, eps); groups\n"
    "      set them for the parameters a glob matches; -o writes the trained state_dict, which\n"
    "      model.load_state_dict(safetensors.torch.load_file(T)) takes (docs/training.md)\n"
    "  version    print the version and the toolchains found at build time\n"
    "  help       print this text\n";

static int fail_line(FILE *errf, const sf_error *e)
{
    fprintf(errf, "sheaf: %s\n", e->msg);
    return 1;
}

static int usage_error(FILE *errf, const char *fmt, const char *arg)
{
    fputs("sheaf: ", errf);
    fprintf(errf, fmt, arg);
    fputs(" (see 'sheaf help')\n", errf);
    return 2;
}

static bool parse_number(const char *s, unsigned long long *out)
{
    if (!s || !*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return !errno && !*end;
}

/* An output never replaces a file the command reads (or the other output):
 * -o naming --inputs would destroy the inputs before anyone noticed. */
static int outputs_spare_inputs(const options *o, FILE *errf)
{
    const struct { const char *what, *path; } in[] = {
        {"the -o file", o->output}, /* in[0] is out[0]: -o against --json only */
        {"the model file", o->file}, {"the --weights file", o->weights}, {"the --inputs file", o->inputs_file},
        {"the --data file", o->data}, {"the --val file", o->val}};
    const struct { const char *what, *path; } out[] = {{"-o", o->output}, {"--json", o->json}};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        for (size_t k = 0; out[i].path && k < sizeof in / sizeof in[0]; k++)
            if (!(i == 0 && k == 0) && in[k].path && (in[k].path == out[i].path || sf_same_file(out[i].path, in[k].path)))
            {
                char msg[1200];
                snprintf(msg, sizeof msg, "%s %s is %s (%s): refusing to overwrite it", out[i].what, out[i].path,
                         in[k].what, in[k].path);
                return usage_error(errf, "%s", msg);
            }
    return 0;
}

/* Options shared by the subcommands; --opt=value and --opt value both work. */
static int parse_options(int argc, char **argv, options *o, FILE *errf)
{
    for (int i = 2; i < argc; i++) {
        char *arg = argv[i], *val = NULL;
        char name[64];
        if (arg[0] != '-' || arg[1] == '\0') {
            if (o->file)
                return usage_error(errf, "unexpected argument '%s'", arg);
            o->file = arg;
            continue;
        }
        char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name)
            return usage_error(errf, "unknown option '%s'", arg);
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        if (!eq && (strcmp(name, "-O0") == 0 || strcmp(name, "-O1") == 0 || strcmp(name, "-O2") == 0)) {
            o->opt_level = name[2] - '0';
            continue;
        }
        static const struct { const char *name; size_t off; } flags[] = {
            {"--time", offsetof(options, time)},
            {"--stats", offsetof(options, stats)},
            {"--verify-each", offsetof(options, verify_each)},
            {"--print-after-all", offsetof(options, print_after_all)},
            {"--time-passes", offsetof(options, time_passes)},
            {"--no-cache", offsetof(options, no_cache)},
            {"--check", offsetof(options, check)},
            {"--poison", offsetof(options, poison)},
            {"--backward", offsetof(options, backward)},
            {"--input-grads", offsetof(options, input_grads)},
        };
        bool flag = false;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0] && !eq; k++)
            if (strcmp(name, flags[k].name) == 0) {
                *(bool *)((char *)o + flags[k].off) = true;
                flag = true;
            }
        if (flag)
            continue;
        if (strcmp(name, "--strict") == 0) {
            if (eq && strcmp(eq + 1, "true") && strcmp(eq + 1, "false"))
                return usage_error(errf, "--strict takes true or false, got '%s'", eq + 1);
            o->strict = !eq || strcmp(eq + 1, "true") == 0;
            continue;
        }
        static const char *const valued[] = {"-o",      "--format", "--weights", "--inputs",     "--batch", "--seed",
                                             "--model", "--input",  "--const",   "--print-after", "--passes",
                                             "--hfuse-min-branches", "--hfuse-max-bytes", "--backend",
                                             "--threads", "--json", "--budget", "--target", "--precision",
                                             "--max-nodes", "--loss", "--data", "--val", "--optimizer", "--lr",
                                             "--group", "--epochs"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known |= strcmp(name, valued[k]) == 0;
        if (!known)
            return usage_error(errf, "unknown option '%s'", arg);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error(errf, "option '%s' needs a value", arg);
        unsigned long long num;
        if (strcmp(name, "-o") == 0)
            o->output = val;
        else if (strcmp(name, "--format") == 0)
            o->format = val;
        else if (strcmp(name, "--weights") == 0)
            o->weights = val;
        else if (strcmp(name, "--inputs") == 0)
            o->inputs_file = val;
        else if (strcmp(name, "--model") == 0)
            o->model = val;
        else if (strcmp(name, "--passes") == 0)
            o->passes = val;
        else if (strcmp(name, "--backend") == 0) {
            sf_backend_kind kind;
            if (sf_backend_resolve(val, &kind, NULL) != SF_OK)
                return usage_error(errf, "--backend is cpu, cuda or interp, got '%s'", val);
            o->backend = val;
        }
        else if (strcmp(name, "--hfuse-min-branches") == 0) {
            if (!parse_number(val, &num) || num < 2 || num > (1u << 30))
                return usage_error(errf, "--hfuse-min-branches takes an integer of at least 2, got '%s'", val);
            o->hfuse_min = (long long)num;
        } else if (strcmp(name, "--hfuse-max-bytes") == 0) {
            if (!parse_number(val, &num) || num < 1)
                return usage_error(errf, "--hfuse-max-bytes takes a positive integer, got '%s'", val);
            o->hfuse_max = num;
        }
        else if (strcmp(name, "--print-after") == 0)
            o->print_after = val;
        else if (strcmp(name, "--input") == 0 || strcmp(name, "--const") == 0) {
            bool in = name[3] == 'n';
            int *n = in ? &o->ninputs : &o->nconsts;
            if (*n == MAX_SPECS)
                return usage_error(errf, "too many %s options", name);
            (in ? o->inputs : o->consts)[(*n)++] = val;
        }
        else if (strcmp(name, "--threads") == 0) {
            if (!parse_number(val, &num) || num > 1024)
                return usage_error(errf, "--threads takes an integer from 0 (all CPUs) to 1024, got '%s'", val);
            o->threads = (long long)num;
        } else if (strcmp(name, "--json") == 0)
            o->json = val;
        else if (strcmp(name, "--target") == 0) {
            if (strcmp(argv[1], "compile"))
                return usage_error(errf, "--target (CUDA architectures ahead of time) is for compile, not '%s'", argv[1]);
            o->targets = val;
        }
        else if (strcmp(name, "--precision") == 0)
            o->precision = val;
        else if (strcmp(name, "--loss") == 0)
            o->loss = val;
        else if (strcmp(name, "--data") == 0 || strcmp(name, "--val") == 0 || strcmp(name, "--optimizer") == 0 ||
                 strcmp(name, "--lr") == 0 || strcmp(name, "--group") == 0 || strcmp(name, "--epochs") == 0) {
            if (strcmp(argv[1], "train"))
                return usage_error(errf, "%s is for train", name);
            if (strcmp(name, "--data") == 0)
                o->data = val;
            else if (strcmp(name, "--val") == 0)
                o->val = val;
            else if (strcmp(name, "--optimizer") == 0)
                o->optimizer = val;
            else if (strcmp(name, "--lr") == 0)
                o->lr = val;
            else if (strcmp(name, "--group") == 0) {
                if (o->ngroups == MAX_SPECS)
                    return usage_error(errf, "too many %s options", name);
                o->groups[o->ngroups++] = val;
            } else if (!parse_number(val, &num) || num < 1 || num > (1ull << 31))
                return usage_error(errf, "--epochs takes a positive integer, got '%s'", val);
            else
                o->epochs = (long long)num;
        }
        else if (strcmp(name, "--max-nodes") == 0) {
            if (!parse_number(val, &num) || num < 1 || num > (1ull << 40))
                return usage_error(errf, "--max-nodes takes a positive integer, got '%s'", val);
            o->max_nodes = (long long)num;
        }
        else if (strcmp(name, "--budget") == 0) {
            char *end;
            o->budget = strtod(val, &end);
            if (*end || !(o->budget > 0 && o->budget <= 3600))
                return usage_error(errf, "--budget takes seconds between 0 and 3600, got '%s'", val);
        }
        else if (strcmp(name, "--batch") == 0 && strcmp(argv[1], "bench") == 0)
            o->batch_list = val;
        else if (strcmp(name, "--batch") == 0) {
            if (!parse_number(val, &num) || num < 1 || num > (1ull << 31))
                return usage_error(errf, "--batch takes a positive integer, got '%s'", val);
            o->batch = (long long)num;
        } else if (strcmp(name, "--seed") == 0) {
            if (!parse_number(val, &num))
                return usage_error(errf, "--seed takes a non-negative integer, got '%s'", val);
            o->seed = num;
        }
    }
    if (!o->file)
        return usage_error(errf, "%s needs a FILE", argv[1]);
    return outputs_spare_inputs(o, errf);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

/* The command line's options as the API's: the CLI compiles nothing itself. */
static sf_options api_options(const options *o, FILE *out, FILE *errf)
{
    return (sf_options){
        .model = o->model, .inputs = o->inputs, .ninputs = o->ninputs, .consts = o->consts, .nconsts = o->nconsts,
        .weights_file = o->weights, .seed = o->seed, .allow_extra_weights = !o->strict,
        .unoptimised = o->opt_level == 0, .passes = o->passes, .verify_each = o->verify_each,
        .print_after = o->print_after_all ? "all" : o->print_after, .time_passes = o->time_passes,
        .hfuse_min_branches = (int)o->hfuse_min, .hfuse_max_bytes = (size_t)o->hfuse_max, .time = o->time,
        .log = errf, .dump = out, .backend = o->backend, .threads = (int)o->threads, .targets = o->targets,
        .no_cache = o->no_cache, .precision = o->precision, .max_nodes = o->max_nodes, .check = o->check,
        .poison = o->poison, .backward = o->backward || o->input_grads, .input_grads = o->input_grads,
        .loss = o->loss};
}

/* A source the compile commands take: a model file or an IR file (a
 * package is for run and bench). */
static bool compilable(const options *o, sf_error *e)
{
    if (has_suffix(o->file, ".py") || has_suffix(o->file, ".sfir"))
        return true;
    sf_fail(e, SF_ERR_INVALID_ARG, "%s: unknown file kind (expected a .py model file or a .sfir IR file)", o->file);
    return false;
}

static int cmd_ir(const options *o, FILE *out, FILE *errf)
{
    sf_error e = {0};
    const char *fmt = o->format ? o->format : "text";
    if (strcmp(fmt, "text") && strcmp(fmt, "dot"))
        return usage_error(errf, "--format is text or dot, got '%s'", fmt);
    sf_options so = api_options(o, out, errf);
    so.backend = "interp"; /* the IR is the product: no native code */
    sf_model *m = compilable(o, &e) ? sf_compile_file(o->file, &so, &e) : NULL;
    if (!m)
        return fail_line(errf, &e);
    sf_outfile of;
    FILE *dst = out;
    if (o->output) {
        if (sf_outfile_open(&of, o->output, &e) != SF_OK) {
            sf_model_free(m);
            return fail_line(errf, &e);
        }
        dst = of.f;
    }
    sf_status st = sf_model_write_ir(m, fmt, dst, &e);
    if (st == SF_OK && o->stats)
        st = sf_model_write_ir(m, "stats", dst, &e);
    sf_model_free(m);
    if (st != SF_OK) {
        if (o->output)
            sf_outfile_abort(&of);
        return fail_line(errf, &e);
    }
    if (o->output && sf_outfile_commit(&of, &e) != SF_OK)
        return fail_line(errf, &e);
    return 0;
}

static void print_outputs(const sf_tensor_set *outs, FILE *out)
{
    for (size_t i = 0; i < outs->tensors.len; i++) {
        const sf_tensor *t = outs->tensors.items[i];
        char shape[160];
        size_t n = sf_tensor_numel(t);
        fprintf(out, "%s: f32%s =", (const char *)outs->names.items[i], sf_tensor_shape_str(t, shape, sizeof shape));
        for (size_t k = 0; k < n && k < 8; k++)
            fprintf(out, " %.6g", t->data[k]);
        fputs(n > 8 ? " ...\n" : "\n", out);
    }
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A model from the source: a package is loaded; a model or IR file is
 * compiled through the API with the command line's options. */
static sf_model *open_model(const options *o, FILE *out, FILE *errf, sf_error *e)
{
    sf_options so = api_options(o, out, errf);
    double t0 = now_ms();
    sf_model *m = NULL;
    if (has_suffix(o->file, ".sheaf")) {
        if (o->model || o->ninputs || o->nconsts || o->weights) {
            sf_fail(e, SF_ERR_INVALID_ARG, "%s: a package holds its model and weights: --model, --input, --const and "
                                           "--weights do not apply", o->file);
            return NULL;
        }
        m = sf_load(o->file, &so, e); /* no backend named: the package's GPU code where a GPU is */
        if (m && o->time)
            fprintf(errf, "sheaf: load of %s: %.2f ms\n", o->file, now_ms() - t0);
    } else if (compilable(o, e)) {
        m = sf_compile_file(o->file, &so, e);
    }
    if (m && sf_model_notice(m))
        fprintf(errf, "sheaf: %s\n", sf_model_notice(m));
    return m;
}

static int cmd_compile(const options *o, FILE *out, FILE *errf)
{
    sf_error e = {0};
    if (!o->output)
        return usage_error(errf, "%s", "compile needs -o FILE.sheaf");
    if (has_suffix(o->file, ".sheaf"))
        return usage_error(errf, "%s is a package already", o->file);
    sf_model *m = open_model(o, out, errf, &e);
    double t0 = now_ms();
    sf_status st = m ? sf_save(m, o->output, &e) : e.code;
    if (st == SF_OK && o->time)
        fprintf(errf, "sheaf: package %s written in %.2f ms\n", o->output, now_ms() - t0);
    sf_model_free(m);
    return st == SF_OK ? 0 : fail_line(errf, &e);
}

static int cmd_run(const options *o, FILE *out, FILE *errf)
{
    sf_error e = {0};
    sf_model *m = open_model(o, out, errf, &e);
    if (!m)
        return fail_line(errf, &e);
    const sf_graph *g = m->g;
    sf_tensor_set *in = sf_tensors_new(), *res = sf_tensors_new();
    sf_status st = (in && res) ? SF_OK : sf_fail(&e, SF_ERR_NOMEM, "out of memory");
    int64_t batch = o->batch ? o->batch : 1;
    if (st == SF_OK && o->inputs_file) {
        st = sf_st_load(o->inputs_file, in, &e);
        if (st == SF_OK)
            st = sf_check_inputs(g, in, &batch, &e);
        if (st == SF_OK && o->batch && o->batch != batch)
            st = sf_fail(&e, SF_ERR_INVALID_ARG, "--batch %lld disagrees with the inputs' batch %lld", o->batch,
                         (long long)batch);
    } else if (st == SF_OK) {
        st = sf_random_inputs(g, batch, o->seed, in, &e);
    }
    double t0 = now_ms();
    if (st == SF_OK)
        st = sf_model_run_sets(m, batch, in, res, &e); /* sf_run picks the GPU, the CPU or the interpreter */
    if (st == SF_OK && o->time)
        fprintf(errf, "sheaf: run at batch %lld: %.3f ms (%s)\n", (long long)batch, now_ms() - t0,
                sf_model_backend(m));
    if (st == SF_OK && o->check)
        fprintf(errf, "sheaf: check: every output agrees with the interpreter's at batch %lld\n", (long long)batch);
    if (st == SF_OK && o->output)
        st = sf_st_save(o->output, res, &e);
    if (st == SF_OK && !o->output)
        print_outputs(res, out);
    sf_tensors_free(in);
    sf_tensors_free(res);
    sf_model_free(m);
    return st == SF_OK ? 0 : fail_line(errf, &e);
}

/* "1,64,4096" */
static int parse_batches(const char *s, int64_t *b, int cap, FILE *errf)
{
    int n = 0;
    char buf[256];
    if (!s)
        s = "1,64,4096";
    if (strlen(s) >= sizeof buf)
        return -usage_error(errf, "--batch list too long: '%s'", s);
    strcpy(buf, s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        unsigned long long v;
        if (n == cap || !parse_number(tok, &v) || v < 1 || v > (1ull << 31))
            return -usage_error(errf, "--batch takes positive integers separated by commas (at most 16), got '%s'", s);
        b[n++] = (int64_t)v;
    }
    return n ? n : -usage_error(errf, "--batch takes positive integers separated by commas, got '%s'", s);
}

static int cmd_bench(const options *o, FILE *out, FILE *errf)
{
    int64_t batches[16];
    int nb = parse_batches(o->batch_list, batches, 16, errf);
    if (nb < 0)
        return -nb;
    sf_backend_kind kind = SF_BACKEND_CPU;
    if (o->backend && (sf_backend_resolve(o->backend, &kind, NULL) != SF_OK || kind != SF_BACKEND_CPU))
        return usage_error(errf, "bench measures the cpu backend, not '%s'", o->backend);
    if (!sf_cpu_available())
        return usage_error(errf, "%s", "bench needs the CPU backend: this sheaf was built without LLVM");
    sf_error e = {0};
    sf_model *m = open_model(o, out, errf, &e), *o0 = NULL;
    if (m && !has_suffix(o->file, ".sheaf")) { /* the baselines: no passes */
        options b = *o;
        b.opt_level = 0, b.passes = b.print_after = NULL, b.print_after_all = b.verify_each = b.time_passes = false;
        b.time = false;
        o0 = open_model(&b, out, errf, &e);
        if (!o0) {
            sf_model_free(m);
            m = NULL;
        }
    }
    if (!m)
        return fail_line(errf, &e);
    if (!o0)
        fprintf(errf, "sheaf: %s is a package: no -O0 or interpreter baselines\n", o->file);
    sf_bench_opts bo = {o->model ? o->model : o->file, batches, nb, o->budget, o->json, out};
    int rc = sf_bench(m, o0, &bo, &e);
    sf_model_free(m);
    sf_model_free(o0);
    return rc ? fail_line(errf, &e) : 0;
}

static int cmd_train(const options *o, FILE *out, FILE *errf)
{
    if (!o->loss)
        return usage_error(errf, "%s", "train needs --loss (mse, l1, smooth_l1, cross_entropy, cross_entropy_probs, "
                                       "bce_with_logits)");
    if (!o->data)
        return usage_error(errf, "%s", "train needs --data (a safetensors file of each forward input and 'target')");
    if (o->backward || o->input_grads)
        return usage_error(errf, "%s", "train makes the backward itself: no --backward or --input-grads");
    char spec[600];
    const char *opt = o->optimizer ? o->optimizer : "sgd";
    if (o->lr) {
        char *end;
        double lr = strtod(o->lr, &end);
        if (*end || !(lr >= 0 && lr < 1e6))
            return usage_error(errf, "--lr takes a learning rate of at least 0, got '%s'", o->lr);
        snprintf(spec, sizeof spec, "%s%slr=%s", opt, strchr(opt, ':') ? "," : ":", o->lr);
        opt = spec;
    }
    sf_error e = {0};
    options c = *o;
    c.backward = true;
    sf_model *m = open_model(&c, out, errf, &e);
    if (!m)
        return fail_line(errf, &e);
    sf_train_options to = {.optimizer = opt, .groups = o->groups, .ngroups = o->ngroups};
    sf_train_cli_opts tc = {o->data, o->val, o->epochs, o->batch, o->output, out, errf};
    int rc = sf_train_cli(m, &to, &tc, &e);
    sf_model_free(m);
    return rc ? fail_line(errf, &e) : 0;
}

static int cmd_version(FILE *out)
{
    fprintf(out, "sheaf %s\n", SF_VERSION_STRING);
    fprintf(out, "backends: interpreter%s\n", sf_cpu_available() ? ", cpu (LLVM)" : "");
    fprintf(out, "toolchains found at build: LLVM %s, CUDA %s\n", *SF_LLVM_VERSION ? SF_LLVM_VERSION : "no",
            *SF_CUDA_VERSION ? SF_CUDA_VERSION : "no");
    fprintf(out, "libraries: OpenBLAS %s, oneDNN %s\n", sf_cpu_has_blas() ? "yes" : "no",
            sf_dnnl_available() ? sf_dnnl_version() : "no");
    return 0;
}

int sf_tool_main(int argc, char **argv, FILE *out, FILE *errf)
{
    if (argc < 2) {
        fputs(usage, errf);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, out);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cmd_version(out);
    options o = {0};
    o.strict = true;
    o.opt_level = 2;
    static const struct { const char *name; int (*fn)(const options *, FILE *, FILE *); } cmds[] = {
        {"ir", cmd_ir}, {"run", cmd_run}, {"compile", cmd_compile}, {"bench", cmd_bench},
        {"train", cmd_train}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0) {
            int rc = parse_options(argc, argv, &o, errf);
            return rc ? rc : cmds[i].fn(&o, out, errf);
        }
    return usage_error(errf, "unknown command '%s'", cmd);
}
