#include "golden_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"
#include "passes/pass.h"
#include "frontend/safetensors.h"
#include "testutil.h"

static void split(char *s, char sep, char **out, int max, int *n)
{
    *n = 0;
    while (s && *n < max) {
        out[(*n)++] = s;
        char *p = strchr(s, sep);
        if (p)
            *p++ = '\0';
        s = p;
    }
}

char **golden_lines(void) { return golden_lines_in("cases.txt"); }

char **golden_lines_in(const char *file)
{
    char path[1024], *text;
    size_t len, n = 0;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/%s", SF_GOLDEN, file);
    assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
    char **lines = calloc(len + 1, sizeof *lines);
    assert_non_null(lines);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#' && line[0])
            lines[n++] = strdup(line);
    free(text);
    return lines;
}

void golden_lines_free(char **lines)
{
    for (size_t i = 0; lines && lines[i]; i++)
        free(lines[i]);
    free(lines);
}

static sf_tensor_set *load_set(const char *name, const char *what)
{
    char file[1024];
    sf_error e = {0};
    sf_tensor_set *s = sf_tensors_new();
    snprintf(file, sizeof file, "%s/%s.%s.safetensors", SF_GOLDEN, name, what);
    if (sf_st_load(file, s, &e) != SF_OK)
        fail_msg("%s: %s", name, e.msg);
    return s;
}

void golden_load(const char *line, golden_case *c)
{
    char copy[1024], *f[6], *inputs[8], *consts[8];
    int nf, ni = 0, nc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    split(copy, '|', f, 6, &nf);
    assert_int_equal(nf, 6);
    if (*f[3])
        split(f[3], ';', inputs, 8, &ni);
    if (*f[4])
        split(f[4], ';', consts, 8, &nc);
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", f[0]);
    char path[1024], *src;
    size_t len;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/%s", SF_MODELS, f[1]);
    assert_int_equal(sf_read_file(path, &src, &len, &e), SF_OK);
    sf_py_options o = {f[2], (const char *const *)inputs, ni, (const char *const *)consts, nc, 0, NULL};
    c->model = sf_py_compile(path, src, len, &o, &e);
    free(src);
    if (!c->model)
        fail_msg("%s: %s", c->name, e.msg);
    c->weights = load_set(c->name, "weights");
    if (sf_py_check_weights(c->model, c->weights, true, &e) != SF_OK)
        fail_msg("%s: %s", c->name, e.msg);
    c->inputs = load_set(c->name, "inputs");
    c->want = load_set(c->name, "outputs");
    assert_int_equal(sf_check_inputs(c->model->graph, c->inputs, &c->batch, &e), SF_OK);
    assert_int_equal(c->batch, atoi(f[5]));
}

void golden_optimise(golden_case *c)
{
    sf_error e = {0};
    sf_module mod = {.g = c->model->graph, .weights = c->weights};
    sf_pipeline_opts o2 = {.opt_level = 2, .verify_each = true};
    if (sf_run_pipeline(&mod, &o2, &e) != SF_OK)
        fail_msg("%s: %s", c->name, e.msg);
    c->model->graph = mod.g;
}

void golden_check(const golden_case *c, const sf_tensor_set *got)
{
    assert_int_equal(sf_tensors_count(got), sf_tensors_count(c->want));
    for (size_t i = 0; i < c->want->names.len; i++) {
        const sf_tensor *wt = c->want->tensors.items[i], *gt = sf_tensors_get(got, c->want->names.items[i]);
        if (!gt)
            fail_msg("%s: no output '%s'", c->name, (const char *)c->want->names.items[i]);
        assert_int_equal(gt->rank, wt->rank);
        for (int d = 0; d < wt->rank; d++)
            assert_int_equal(gt->dim[d], wt->dim[d]);
        assert_close(gt->data, wt->data, sf_tensor_numel(wt), 1e-4, 1e-5);
    }
}

int golden_each(void (*fn)(golden_case *c, void *ctx), void *ctx) { return golden_each_in("cases.txt", fn, ctx); }

int golden_each_in(const char *file, void (*fn)(golden_case *c, void *ctx), void *ctx)
{
    char **lines = golden_lines_in(file);
    int count = 0;
    for (; lines[count]; count++) {
        golden_case c;
        golden_load(lines[count], &c);
        fn(&c, ctx);
        golden_free(&c);
    }
    golden_lines_free(lines);
    return count;
}

void golden_free(golden_case *c)
{
    sf_tensors_free(c->weights), sf_tensors_free(c->inputs), sf_tensors_free(c->want);
    sf_py_model_free(c->model);
    memset(c, 0, sizeof *c);
}
