/* The pass manager: the pipeline for -O0/-O2 or --passes, with the
 * verifier, dumps and timings between passes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "passes/pass.h"

const sf_pass_info sf_passes[] = {
    {"canonicalize", sf_pass_canonicalize,
     "views as one reshape, no-ops away, BatchNorm folded into conv/linear, constants evaluated", SF_PASS_USES},
    {"cse", sf_pass_cse, "one node for each distinct computation", SF_PASS_DEAD},
    {"compose", sf_pass_compose, "two affine maps in a row as one product where that has fewer multiply-adds",
     SF_PASS_USES | SF_PASS_DEAD},
    {"hfuse", sf_pass_hfuse, "sibling linear branches as grouped products, followed in lockstep",
     SF_PASS_USES | SF_PASS_DEAD},
    {"widen", sf_pass_widen, "sibling products of different widths on one input as one product, and their activations",
     SF_PASS_USES | SF_PASS_DEAD},
    {"concat_elim", sf_pass_concat_elim,
     "a concat of consecutive rows of one tensor is a view of it, and a sum of its rows one reduction",
     SF_PASS_USES | SF_PASS_DEAD},
    {"accumulate", sf_pass_accumulate, "sums over branches without a stack: folded weights, K-concatenation",
     SF_PASS_USES | SF_PASS_DEAD},
    {"vfuse", sf_pass_vfuse, "marks products with their epilogues, and small per-branch chains, as fusion regions",
     SF_PASS_USES},
    {"dce", sf_pass_dce, "drop what no output needs", 0},
    {NULL, NULL, NULL, 0},
};

/* -O2, in order */
/* compose runs twice: before hfuse, so that each branch's pair is one
 * product before the branches are grouped, and after the second
 * canonicalize, for grouped pairs that only views stood between (a
 * grouped Conv1d pair becomes products with reshapes around them) */
static const char *const o2[] = {"canonicalize", "cse", "compose", "accumulate", "widen", "hfuse", "concat_elim",
                                 "canonicalize", "cse", "compose", "dce", "vfuse", NULL};

const sf_pass_info *sf_pass_find(const char *name)
{
    for (const sf_pass_info *p = sf_passes; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* the list of known passes comes from the table, so it cannot go stale */
static sf_status unknown_pass(sf_error *err, const char *option, const char *name)
{
    char known[256] = "";
    for (const sf_pass_info *p = sf_passes; p->name; p++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", p == sf_passes ? "" : ", ", p->name);
    return sf_fail(err, SF_ERR_INVALID_ARG, "%s: unknown pass '%s' (known: %s)", option, name, known);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static sf_status run_one(sf_module *m, const sf_pass_info *p, int index, int count, const sf_pipeline_opts *o,
                         sf_error *err)
{
    size_t before = m->g->nodes.len;
    double t0 = now_ms();
    sf_status st = SF_OK;
    if ((p->flags & SF_PASS_USES) && !sf_fill_uses(m->g))
        st = sf_fail(err, SF_ERR_NOMEM, "out of memory counting uses");
    const sf_graph *was = m->g;
    if (st == SF_OK)
        st = p->run(m, err);
    /* what a rewrite left unused goes before anyone sees the result */
    if (st == SF_OK && (p->flags & SF_PASS_DEAD) && m->g != was)
        st = sf_pass_dce(m, err);
    double t1 = now_ms();
    if (st != SF_OK) {
        sf_error_prefix(err, "pass %s", p->name);
        return st;
    }
    if (o->verify_each && (st = sf_verify(m->g, err)) != SF_OK) {
        sf_error_prefix(err, "after pass %s", p->name);
        return st;
    }
    FILE *out = o->print_to ? o->print_to : stderr;
    if (o->time_passes)
        fprintf(out, "# pass %-14s %9.3f ms  %zu -> %zu nodes\n", p->name, t1 - t0, before, m->g->nodes.len);
    if (o->print_after_all || (o->print_after && strcmp(o->print_after, p->name) == 0)) {
        fprintf(out, "# *** IR after %s (pass %d of %d) ***\n", p->name, index + 1, count);
        sf_print(m->g, out);
    }
    return SF_OK;
}

sf_status sf_run_pipeline(sf_module *m, const sf_pipeline_opts *o, sf_error *err)
{
    const sf_pass_info *list[64];
    int n = 0;
    if (o->passes) {
        char buf[1024], *save = NULL;
        if (strlen(o->passes) >= sizeof buf)
            return sf_fail(err, SF_ERR_INVALID_ARG, "passes (--passes): the list is longer than %zu characters",
                           sizeof buf - 1);
        snprintf(buf, sizeof buf, "%s", o->passes);
        /* strtok_r: a host may compile on two threads at once */
        for (char *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
            const sf_pass_info *p = sf_pass_find(name);
            if (!p)
                return unknown_pass(err, "passes (--passes)", name);
            if (n == 64)
                return sf_fail(err, SF_ERR_INVALID_ARG, "passes (--passes): more than 64 passes");
            list[n++] = p;
        }
    } else if (o->opt_level >= 1) {
        for (int i = 0; o2[i]; i++)
            list[n++] = sf_pass_find(o2[i]);
    }
    if (o->print_after && !sf_pass_find(o->print_after))
        return unknown_pass(err, "print_after (--print-after)", o->print_after);
    for (int i = 0; i < n; i++) {
        sf_status st = run_one(m, list[i], i, n, o, err);
        if (st != SF_OK)
            return st;
    }
    return n && !o->verify_each ? sf_verify(m->g, err) : SF_OK;
}
