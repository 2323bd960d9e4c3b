/* Trainable models: a model compiled once follows new parameter values
 * through every fold its passes made (sf_options.trainable,
 * sf_model_set_weights, passes/derive.c). Each model is compiled trainable
 * at -O2 on the CPU backend with one set of weights, given another, and run
 * against the interpreter on the -O0 graph compiled with the second set:
 * the random differential models, the golden cases, forward and backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_case.h"
#include "ir/fileio.h"
#include "randmodel.h"
#include "runtime/model.h"
#include "sheaf.h"
#include "testutil.h"

typedef struct source {
    const char *name, *text, *file; /* file: the name that says its kind (.py or .sfir) */
    size_t len;
    sf_options base; /* model, inputs, consts */
    int64_t batch;
} source;

typedef struct tally {
    int models, refused, grouped, derived;
} tally;

/* other values for every parameter of m (its -O0 compile: all its own) */
static sf_weights *other_weights(const sf_model *m)
{
    sf_weights *w = sf_weights_new();
    sf_error e = {0};
    for (size_t i = 0; i < m->weights->tensors.len; i++) {
        const sf_tensor *t = m->weights->tensors.items[i];
        size_t n = sf_tensor_numel(t);
        float *v = malloc(n * sizeof *v + 1);
        for (size_t k = 0; k < n; k++) /* a running variance stays positive */
            v[k] = t->data[k] * 1.5f + 0.05f * (float)fabs(sin(0.7 * (double)k + (double)i));
        assert_int_equal(sf_weights_set(w, m->weights->names.items[i], t->rank, t->dim, v, &e), SF_OK);
        free(v);
    }
    return w;
}

static sf_model *compile(const source *s, sf_options o, sf_error *e)
{
    o.model = s->base.model, o.inputs = s->base.inputs, o.ninputs = s->base.ninputs;
    o.consts = s->base.consts, o.nconsts = s->base.nconsts, o.seed = 1, o.threads = 2;
    return sf_compile_text(s->text, s->len, s->file, &o, e);
}

/* outputs of m on `in` (by name), malloc'd buffers */
static float **run(sf_model *m, const sf_tensor_set *in, int64_t batch, const char *who, const char *name)
{
    size_t ni = sf_num_inputs(m), no = sf_num_outputs(m);
    const float **ins = calloc(ni + 1, sizeof *ins);
    float **outs = calloc(no + 1, sizeof *outs);
    for (size_t i = 0; i < ni; i++) {
        sf_tensor_info info;
        sf_input_info(m, i, &info);
        ins[i] = sf_tensors_get(in, info.name)->data;
    }
    for (size_t i = 0; i < no; i++)
        outs[i] = malloc(sf_output_numel(m, i, batch) * sizeof(float) + 1);
    sf_error e = {0};
    if (sf_run(m, batch, ins, outs, &e) != SF_OK)
        fail_msg("%s (%s): %s", name, who, e.msg);
    free(ins);
    return outs;
}

static void free_outs(float **o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(o[i]);
    free(o);
}

/* One source, forward or backward: trainable -O2 with the seed's weights,
 * then the others, against the -O0 interpreter compiled with the others. */
static bool follows(const source *s, bool backward, tally *t)
{
    sf_error e = {0};
    char name[160];
    snprintf(name, sizeof name, "%s%s", s->name, backward ? " (backward)" : "");
    sf_model *ref0 = compile(s, (sf_options){.unoptimised = true, .backend = "interp", .backward = backward}, &e);
    if (!ref0) {
        if (backward && e.code == SF_ERR_UNSUPPORTED && strstr(e.msg, "grad: conv")) {
            t->refused++; /* no gradient rule for convolutions yet */
            return false;
        }
        fail_msg("%s: %s", name, e.msg);
    }
    sf_weights *w2 = other_weights(ref0);
    sf_model *ref = compile(s, (sf_options){.unoptimised = true, .backend = "interp", .backward = backward,
                                            .weights = w2}, &e);
    sf_model *m = ref ? compile(s, (sf_options){.backend = "cpu", .trainable = true, .backward = backward}, &e) : NULL;
    if (!m)
        fail_msg("%s: %s", name, e.msg);
    if (sf_model_set_weights(m, w2, &e) != SF_OK)
        fail_msg("%s: sf_model_set_weights: %s", name, e.msg);
    t->derived += (int)m->nderive;
    for (size_t i = 0; i < m->g->nodes.len; i++)
        if (((const sf_node *)m->g->nodes.items[i])->op == SF_OP_GROUPED_LINEAR) {
            t->grouped++;
            break;
        }
    sf_tensor_set *in = sf_tensors_new();
    assert_int_equal(sf_random_inputs(ref->g, s->batch, 7, in, &e), SF_OK);
    float **want = run(ref, in, s->batch, "interpreter -O0", name), **got = run(m, in, s->batch, "cpu -O2", name);
    for (size_t i = 0; i < sf_num_outputs(m); i++) {
        sf_mismatch worst;
        if (!sf_compare_values(got[i], want[i], sf_output_numel(m, i, s->batch), &worst)) {
            char where[128];
            sf_mismatch_describe(&worst, ref->g->outputs.items[i], s->batch, where, sizeof where);
            fail_msg("%s: output %zu %s: trainable cpu -O2 after new weights %.7g, interpreter on them %.7g", name,
                     i, where, (double)worst.got, (double)worst.want);
        }
    }
    free_outs(want, sf_num_outputs(ref)), free_outs(got, sf_num_outputs(m));
    sf_tensors_free(in);
    sf_weights_free(w2);
    sf_model_free(m), sf_model_free(ref), sf_model_free(ref0);
    t->models++;
    return true;
}

/* the random differential models, every family, forward and backward */
static void test_random_models_follow(void **state)
{
    (void)state;
    tally t = {0};
    for (int family = 0; family < SF_RAND_FAMILIES; family++)
        for (uint64_t seed = 0; seed < (family == 0 ? 10u : 7u); seed++) {
            int64_t batch;
            char name[64];
            char *ir = sf_test_random_family(family, seed, &batch, name, sizeof name);
            source s = {name, ir, "random.sfir", strlen(ir), {0}, batch > 64 ? 64 : batch};
            follows(&s, false, &t);
            follows(&s, true, &t);
            free(ir);
        }
    printf("  %d random models follow new weights (%d backward refused: convolutions); %d derived parameters "
           "recomputed, %d models kept a grouped product\n", t.models, t.refused, t.derived, t.grouped);
    assert_true(t.models >= 40 && t.derived > 80 && t.grouped >= 8);
}

/* splits "a;b;c" in place into at most cap strings */
static int split(char *s, const char **out, int cap)
{
    int n = 0;
    for (char *p = strtok(s, ";"); p && n < cap; p = strtok(NULL, ";"))
        out[n++] = p;
    return n;
}

/* every golden case (tests/golden/cases.txt): its backward (whose outputs
 * hold the forward's), the forward where a convolution refuses the backward */
static void test_golden_models_follow(void **state)
{
    (void)state;
    tally t = {0};
    char **lines = golden_lines();
    for (size_t i = 0; lines[i]; i++) {
        char *f[6] = {0}, *save = NULL, *line = strdup(lines[i]);
        int nf = 0;
        for (char *p = line, *q; nf < 6; p = q + 1) { /* empty fields count */
            q = strchr(p, '|');
            f[nf++] = p;
            if (!q)
                break;
            *q = 0;
        }
        (void)save;
        assert_int_equal(nf, 6);
        char path[1024], *text;
        size_t len;
        sf_error e = {0};
        snprintf(path, sizeof path, "%s/%s", SF_MODELS, f[1]);
        assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
        const char *ins[16], *consts[16];
        source s = {f[0], text, path, len, {.model = f[2], .inputs = ins, .consts = consts}, atoll(f[5])};
        s.base.ninputs = split(f[3], ins, 16);
        s.base.nconsts = split(f[4], consts, 16);
        if (!follows(&s, true, &t)) /* the backward holds the forward's outputs too */
            follows(&s, false, &t);
        free(text), free(line);
    }
    golden_lines_free(lines);
    printf("  %d golden cases follow new weights (%d backward refused: convolutions); %d derived parameters "
           "recomputed, %d models kept a grouped product\n", t.models, t.refused, t.derived, t.grouped);
    assert_true(t.models >= 45 && t.derived > 25 && t.grouped >= 5);
}

/* what sf_model_set_weights refuses, each leaving the model as it was */
static void test_set_weights_refusals(void **state)
{
    (void)state;
    const char *ir = "param @l.weight : f32[3,4]\nparam @l.bias : f32[3]\n"
                     "func @f(%x: f32[B,4]) {\n  %0 = linear %x, @l.weight, @l.bias : f32[B,3]\n  return %0\n}\n";
    sf_error e = {0};
    sf_model *plain = sf_compile_text(ir, strlen(ir), "m.sfir", &(sf_options){.seed = 1}, &e);
    sf_model *m = sf_compile_text(ir, strlen(ir), "m.sfir", &(sf_options){.seed = 1, .trainable = true}, &e);
    assert_non_null(plain);
    assert_non_null(m);
    sf_weights *w = sf_weights_new();
    float v[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    assert_int_equal(sf_weights_set(w, "l.weight", 2, (int64_t[]){3, 4}, v, &e), SF_OK);
    assert_int_equal(sf_model_set_weights(plain, w, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "compiled without trainable");
    assert_int_equal(sf_model_set_weights(NULL, w, &e), SF_ERR_INVALID_ARG);
    sf_weights *bad = sf_weights_new();
    assert_int_equal(sf_weights_set(bad, "l.weight", 2, (int64_t[]){4, 3}, v, &e), SF_OK);
    assert_int_equal(sf_model_set_weights(m, bad, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "'l.weight' is [4,3], the model's is [3,4]");
    sf_weights_free(bad);
    bad = sf_weights_new();
    assert_int_equal(sf_weights_set(bad, "l.weight", 2, (int64_t[]){3, 4}, v, &e), SF_OK);
    assert_int_equal(sf_weights_set(bad, "nothing", 1, (int64_t[]){3}, v, &e), SF_OK);
    assert_int_equal(sf_model_set_weights(m, bad, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "'nothing' is not a parameter of the model");
    sf_weights_free(bad);
    /* refused sets changed nothing; the good one does, bias kept */
    float x[4] = {1, 2, 3, 4}, before[3], after[3];
    const float *in[1] = {x};
    assert_int_equal(sf_run(m, 1, in, (float *[]){before}, &e), SF_OK);
    assert_int_equal(sf_model_set_weights(m, w, &e), SF_OK);
    assert_int_equal(sf_run(m, 1, in, (float *[]){after}, &e), SF_OK);
    float ref[3];
    assert_int_equal(sf_run(plain, 1, in, (float *[]){ref}, &e), SF_OK);
    for (int k = 0; k < 3; k++)
        assert_true(before[k] == ref[k]);
    /* W' = [I 0] picks x's first three; the bias stays the seed's */
    float wx[3] = {1, 2, 3};
    const sf_tensor *b = sf_tensors_get(m->weights, "l.bias");
    for (int k = 0; k < 3; k++)
        assert_float_equal(after[k], wx[k] + b->data[k], 1e-5);
    sf_weights_free(w);
    sf_model_free(plain), sf_model_free(m);
}

/* what sf_trainer_new and sf_trainer_load_state refuse, each by name */
static void test_trainer_refusals(void **state)
{
    (void)state;
    const char *ir = "param @l.weight : f32[1,4]\n"
                     "func @f(%x: f32[B,4]) {\n  %0 = linear %x, @l.weight : f32[B,1]\n  return %0\n}\n";
    sf_error e = {0};
    sf_model *fwd = sf_compile_text(ir, strlen(ir), "m.sfir", &(sf_options){.seed = 1}, &e);
    sf_model *noloss = sf_compile_text(ir, strlen(ir), "m.sfir", &(sf_options){.seed = 1, .backward = true}, &e);
    sf_model *inputs = sf_compile_text(ir, strlen(ir), "m.sfir",
                                       &(sf_options){.seed = 1, .backward = true, .input_grads = true, .loss = "mse"},
                                       &e);
    sf_model *m = sf_compile_text(ir, strlen(ir), "m.sfir", &(sf_options){.seed = 1, .backward = true, .loss = "mse"},
                                  &e);
    assert_non_null(fwd), assert_non_null(noloss), assert_non_null(inputs), assert_non_null(m);
    assert_null(sf_trainer_new(NULL, NULL, &e));
    assert_contains(e.msg, "null model");
    assert_null(sf_trainer_new(fwd, NULL, &e));
    assert_contains(e.msg, "not compiled with backward and a loss");
    assert_null(sf_trainer_new(noloss, NULL, &e));
    assert_contains(e.msg, "not compiled with backward and a loss");
    assert_null(sf_trainer_new(inputs, NULL, &e));
    assert_contains(e.msg, "compile without input_grads");
    assert_null(sf_trainer_new(m, &(sf_train_options){.optimizer = "adam:beta1=1"}, &e));
    assert_contains(e.msg, "optimizer 'adam:beta1=1': beta1 and beta2 must be in [0, 1)");
    assert_null(sf_trainer_new(m, &(sf_train_options){.groups = (const char *[]){"*:nesterov=2"}, .ngroups = 1}, &e));
    assert_contains(e.msg, "group '*:nesterov=2': nesterov=2: expected 0 or 1");
    /* eval leaves the parameters; a step moves them (lr 1 on a known gradient) */
    sf_trainer *t = sf_trainer_new(m, &(sf_train_options){.optimizer = "sgd:lr=1"}, &e);
    assert_non_null(t);
    float x[4] = {1, 0, 0, 0}, y[1] = {0}, L0, L1;
    const float *in[2] = {x, y};
    float w0 = sf_tensors_get(m->weights, "l.weight")->data[0];
    assert_int_equal(sf_trainer_eval(t, 1, in, &L0, &e), SF_OK);
    assert_float_equal(L0, w0 * w0, 1e-6);
    assert_int_equal(sf_trainer_steps(t), 0);
    assert_int_equal(sf_train_step(t, 1, in, &L1, &e), SF_OK);
    assert_float_equal(L1, L0, 1e-7);
    assert_float_equal(sf_tensors_get(m->weights, "l.weight")->data[0], w0 - 2 * w0, 1e-6); /* dL/dw = 2 w x */
    assert_int_equal(sf_train_step(t, 1, NULL, NULL, &e), SF_ERR_INVALID_ARG);
    /* state files: another optimizer's, none at all */
    const char *sgd = tmp_path("sgd_state.safetensors"), *adam = tmp_path("adam_state.safetensors");
    assert_int_equal(sf_trainer_save_state(t, sgd, &e), SF_OK);
    sf_trainer *a = sf_trainer_new(m, &(sf_train_options){.optimizer = "adam"}, &e);
    assert_non_null(a);
    assert_int_equal(sf_trainer_save_state(a, adam, &e), SF_OK);
    assert_int_equal(sf_trainer_load_state(a, sgd, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "'l.weight.exp_avg' is missing or mis-shaped");
    assert_int_equal(sf_trainer_load_state(t, adam, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "3 tensors, this optimizer keeps 1 (state of another optimizer"); /* step, exp_avg, exp_avg_sq */
    assert_int_equal(sf_trainer_load_state(t, "/nonexistent.safetensors", &e), SF_ERR_IO);
    assert_int_equal(sf_trainer_steps(t), 1); /* nothing taken from a refused file */
    sf_trainer_free(a), sf_trainer_free(t);
    sf_model_free(fwd), sf_model_free(noloss), sf_model_free(inputs), sf_model_free(m);
}

/* a package keeps the derived values, not their recipes */
static void test_loaded_package_is_not_trainable(void **state)
{
    (void)state;
    const char *ir = "param @l.weight : f32[3,4]\n"
                     "func @f(%x: f32[B,4]) {\n  %0 = linear %x, @l.weight : f32[B,3]\n  return %0\n}\n";
    sf_error e = {0};
    sf_model *m = sf_compile_text(ir, strlen(ir), "m.sfir", &(sf_options){.seed = 1, .trainable = true}, &e);
    assert_non_null(m);
    const char *path = tmp_path("trainable.sheaf");
    assert_int_equal(sf_save(m, path, &e), SF_OK);
    sf_model *l = sf_load(path, NULL, &e);
    assert_non_null(l);
    sf_weights *w = sf_weights_new();
    float v[12] = {0};
    assert_int_equal(sf_weights_set(w, "l.weight", 2, (int64_t[]){3, 4}, v, &e), SF_OK);
    assert_int_equal(sf_model_set_weights(l, w, &e), SF_ERR_INVALID_ARG);
    assert_contains(e.msg, "loaded from a package");
    sf_weights_free(w);
    sf_model_free(l), sf_model_free(m);
}

/* the fields of a '|'-separated line, empty ones too, in place */
static int fields(char *line, char **f, int cap)
{
    int n = 0;
    for (char *p = line, *q; n < cap; p = q + 1) {
        q = strchr(p, '|');
        f[n++] = p;
        if (!q)
            break;
        *q = 0;
    }
    return n;
}

typedef struct run_spec {
    char case_line[512]; /* cases.txt's line of the case */
    char *spec, *loss;
    const char *groups[8];
    int ngroups;
} run_spec;

/* train_runs.txt's lines, parsed; returns how many */
static int train_runs(run_spec *r, char **text, int cap)
{
    char path[1024];
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/train_runs.txt", SF_GOLDEN);
    assert_int_equal(sf_read_file(path, text, &len, &e), SF_OK);
    char **cases = golden_lines();
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(*text, "\n", &save); line && n < cap; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *f[4];
        assert_int_equal(fields(line, f, 4), 4);
        memset(&r[n], 0, sizeof r[n]);
        for (size_t i = 0; cases[i]; i++)
            if (!strncmp(cases[i], f[0], strlen(f[0])) && cases[i][strlen(f[0])] == '|')
                snprintf(r[n].case_line, sizeof r[n].case_line, "%s", cases[i]);
        assert_true(r[n].case_line[0]);
        r[n].spec = f[1], r[n].loss = f[2];
        r[n].ngroups = f[3][0] ? split(f[3], r[n].groups, 8) : 0;
        n++;
    }
    golden_lines_free(cases);
    return n;
}

/* the case's model compiled with backward and the run's loss, from its golden weights (or `weights`) */
static sf_model *train_model(const run_spec *r, bool O0, const char *weights, sf_error *e)
{
    char line[512], *f[6], path[1024], wpath[1024];
    snprintf(line, sizeof line, "%s", r->case_line);
    assert_int_equal(fields(line, f, 6), 6);
    const char *ins[16];
    int nin = split(f[3], ins, 16);
    snprintf(path, sizeof path, "%s/%s", SF_MODELS, f[1]);
    snprintf(wpath, sizeof wpath, "%s/%s.weights.safetensors", SF_GOLDEN, f[0]);
    sf_options o = {.model = f[2], .inputs = ins, .ninputs = nin, .weights_file = weights ? weights : wpath,
                    .backward = true, .loss = r->loss, .threads = 2, .unoptimised = O0,
                    .backend = O0 ? "interp" : "cpu"};
    return sf_compile_file(path, &o, e);
}

/* steps [from, to) of the run on its data; losses[k] gets step k's */
static void steps(sf_trainer *t, const sf_tensor_set *data, int from, int to, float *losses)
{
    const sf_tensor *x = sf_tensors_get(data, "x"), *y = sf_tensors_get(data, "target");
    int64_t B = 8;
    for (int k = from; k < to; k++) {
        const float *in[2] = {x->data + k * B * x->dim[1], y->data + k * B * y->dim[1]};
        sf_error e = {0};
        if (sf_train_step(t, B, in, &losses[k], &e) != SF_OK)
            fail_msg("step %d: %s", k, e.msg);
    }
}

/* the model's parameters against torch.optim's after the run */
static void check_trained(const char *who, int run, const sf_model *m, const sf_tensor_set *want, const float *losses)
{
    char key[600];
    snprintf(key, sizeof key, "run%d.loss", run);
    const sf_tensor *L = sf_tensors_get(want, key);
    assert_non_null(L);
    for (int k = 0; k < 20; k++)
        if (!(fabs(losses[k] - L->data[k]) <= 1e-4 * fabs(L->data[k]) + 1e-6))
            fail_msg("run %d (%s): step %d's loss %.7g, PyTorch %.7g", run, who, k, (double)losses[k],
                     (double)L->data[k]);
    int checked = 0;
    snprintf(key, sizeof key, "run%d.param.", run);
    for (size_t i = 0; i < want->tensors.len; i++) {
        const char *name = want->names.items[i];
        if (strncmp(name, key, strlen(key)))
            continue;
        const sf_tensor *w = want->tensors.items[i], *got = sf_tensors_get(m->weights, name + strlen(key));
        assert_non_null(got);
        for (size_t j = 0; j < sf_tensor_numel(w); j++)
            if (!(fabs(got->data[j] - w->data[j]) <= 1e-4))
                fail_msg("run %d (%s): %s element %zu: %.7g, PyTorch %.7g", run, who, name + strlen(key), j,
                         (double)got->data[j], (double)w->data[j]);
        checked++;
    }
    assert_true(checked >= 4);
}

/* the run's data (x, target) and torch.optim's results (all runs) */
static sf_tensor_set *run_data(const run_spec *r)
{
    char name[64], path[1024];
    sf_error e = {0};
    snprintf(name, sizeof name, "%.*s", (int)strcspn(r->case_line, "|"), r->case_line);
    snprintf(path, sizeof path, "%s/%s.train_data.safetensors", SF_GOLDEN, name);
    sf_tensor_set *data = sf_tensors_new();
    assert_int_equal(sf_st_load(path, data, &e), SF_OK);
    return data;
}

static sf_tensor_set *torch_results(void)
{
    char path[1024];
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/trained.safetensors", SF_GOLDEN);
    sf_tensor_set *want = sf_tensors_new();
    assert_int_equal(sf_st_load(path, want, &e), SF_OK);
    return want;
}

/* 20 steps of each run of train_runs.txt against torch.optim: SGD (momentum,
 * dampening, Nesterov, weight decay), Adam, AdamW, groups; -O2 on the CPU
 * backend and -O0 on the interpreter */
static void test_matches_torch_optim(void **state)
{
    (void)state;
    run_spec r[32];
    char *text;
    int n = train_runs(r, &text, 32);
    sf_error e = {0};
    sf_tensor_set *want = torch_results();
    for (int i = 0; i < n; i++)
        for (int O0 = 0; O0 < 2; O0++) {
            sf_model *m = train_model(&r[i], O0, NULL, &e);
            if (!m)
                fail_msg("run %d: %s", i, e.msg);
            sf_train_options to = {.optimizer = r[i].spec, .groups = r[i].groups, .ngroups = r[i].ngroups};
            sf_trainer *t = sf_trainer_new(m, &to, &e);
            if (!t)
                fail_msg("run %d: %s", i, e.msg);
            sf_tensor_set *data = run_data(&r[i]);
            float losses[20];
            steps(t, data, 0, 20, losses);
            assert_int_equal(sf_trainer_steps(t), 20);
            check_trained(O0 ? "interpreter -O0" : "cpu -O2", i, m, want, losses);
            sf_tensors_free(data);
            sf_trainer_free(t), sf_model_free(m);
        }
    printf("  %d training runs of 20 steps match torch.optim on the CPU backend and the interpreter\n", n);
    assert_true(n >= 9);
    sf_tensors_free(want);
    free(text);
}

/* 10 steps, the parameters and the optimizer state saved, a new model and
 * trainer from them, 10 more: the 20-step run's parameters */
static void test_checkpoint_resumes(void **state)
{
    (void)state;
    run_spec r[32];
    char *text;
    int n = train_runs(r, &text, 32);
    sf_error e = {0};
    sf_tensor_set *want = torch_results();
    int resumed = 0;
    for (int i = 0; i < n; i++) {
        if (!strstr(r[i].spec, "momentum") && strncmp(r[i].spec, "adam", 4))
            continue; /* the runs with state */
        sf_tensor_set *data = run_data(&r[i]);
        sf_train_options to = {.optimizer = r[i].spec, .groups = r[i].groups, .ngroups = r[i].ngroups};
        sf_model *m = train_model(&r[i], false, NULL, &e);
        sf_trainer *t = m ? sf_trainer_new(m, &to, &e) : NULL;
        assert_non_null(t);
        float losses[20];
        steps(t, data, 0, 10, losses);
        const char *params = tmp_path("ckpt.params.safetensors"), *opt = tmp_path("ckpt.state.safetensors");
        assert_int_equal(sf_trainer_save_params(t, params, &e), SF_OK);
        assert_int_equal(sf_trainer_save_state(t, opt, &e), SF_OK);
        sf_trainer_free(t), sf_model_free(m);
        m = train_model(&r[i], false, params, &e);
        t = m ? sf_trainer_new(m, &to, &e) : NULL;
        assert_non_null(t);
        if (sf_trainer_load_state(t, opt, &e) != SF_OK)
            fail_msg("run %d: %s", i, e.msg);
        assert_int_equal(sf_trainer_steps(t), 10);
        steps(t, data, 10, 20, losses);
        check_trained("resumed at step 10", i, m, want, losses);
        sf_trainer_free(t), sf_model_free(m);
        sf_tensors_free(data);
        resumed++;
    }
    printf("  %d runs resumed from a checkpoint at step 10 end where torch.optim's do\n", resumed);
    assert_true(resumed >= 5);
    sf_tensors_free(want);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_weights_refusals),
        cmocka_unit_test(test_trainer_refusals),
        cmocka_unit_test(test_matches_torch_optim),
        cmocka_unit_test(test_checkpoint_resumes),
        cmocka_unit_test(test_loaded_package_is_not_trainable),
        cmocka_unit_test(test_random_models_follow),
        cmocka_unit_test(test_golden_models_follow),
    };
    if (getenv("SF_TEST_FILTER")) /* one test while developing: SF_TEST_FILTER=test_checkpoint* */
        cmocka_set_test_filter(getenv("SF_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
