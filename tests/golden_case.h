/* The golden cases (tests/golden/cases.txt, made by make_golden.py from
 * PyTorch): a model traced from its file with PyTorch's weights, inputs
 * and outputs. */
#ifndef SF_GOLDEN_CASE_H
#define SF_GOLDEN_CASE_H

#include "frontend/frontend.h"
#include "ir/tensor.h"

typedef struct golden_case {
    char name[64];
    sf_py_model *model; /* model->graph: as traced (-O0) until golden_optimise */
    sf_tensor_set *weights, *inputs, *want;
    int64_t batch;
} golden_case;

/* Every case line of cases.txt, in order (malloc'd copies, NULL-terminated). */
char **golden_lines(void);
/* The same from another cases file beside it (random_cases.txt). */
char **golden_lines_in(const char *file);
void golden_lines_free(char **lines);
/* Traces and loads one line's case; fails the test on any error. */
void golden_load(const char *line, golden_case *c);
/* Runs the -O2 pipeline on the case's graph, in place. */
void golden_optimise(golden_case *c);
/* got matches PyTorch's outputs: names, shapes, rtol 1e-4, atol 1e-5. */
void golden_check(const golden_case *c, const sf_tensor_set *got);
void golden_free(golden_case *c);
/* Loads each case in turn, calls fn, frees it; returns how many. */
int golden_each(void (*fn)(golden_case *c, void *ctx), void *ctx);
int golden_each_in(const char *file, void (*fn)(golden_case *c, void *ctx), void *ctx);

#endif
