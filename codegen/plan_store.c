/* The kernel plan as bytes: the package's plan section (docs/package.md
 * gives the layout), written at compile time and read back at load, so a
 * package runs from the plan its code was made from. Reading checks every
 * byte, then the whole plan against the graph (sf_plan_verify). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/plan.h"

enum { FORMAT = 2 }; /* 2: each kernel's library */

/* ---- writing ---- */

static void put32(FILE *f, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    fwrite(b, 1, 4, f);
}

static void put64(FILE *f, uint64_t v)
{
    put32(f, (uint32_t)v);
    put32(f, (uint32_t)(v >> 32));
}

static void put_f64(FILE *f, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put64(f, v);
}

static void put_linear(FILE *f, sf_linear l)
{
    put_f64(f, l.c0);
    put_f64(f, l.cb);
}

sf_status sf_plan_encode(const sf_plan *p, unsigned char **bytes, size_t *len, sf_error *err)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f)
        return sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    const sf_memplan *m = &p->mem;
    put32(f, FORMAT);
    put32(f, (uint32_t)p->nkernels);
    put32(f, (uint32_t)p->ncodes);
    put32(f, (uint32_t)m->nvalues);
    for (size_t k = 0; k < p->nkernels; k++) {
        const sf_plan_kernel *pk = &p->kernels[k];
        put32(f, (uint32_t)pk->first), put32(f, (uint32_t)pk->last);
        put32(f, (uint32_t)pk->code), put32(f, (uint32_t)pk->nargs);
        put_linear(f, pk->flops), put_linear(f, pk->bytes);
        put32(f, (uint32_t)pk->lib);
        for (int a = 0; a < pk->nargs; a++) {
            const sf_plan_arg *arg = &pk->args[a];
            put32(f, (uint32_t)arg->value), put32(f, (uint32_t)arg->node), put32(f, (uint32_t)arg->index);
            put32(f, 0);
            put_linear(f, arg->offset);
        }
    }
    for (int c = 0; c < p->ncodes; c++) {
        size_t klen = strlen(p->keys[c]);
        put32(f, (uint32_t)p->code_kernel[c]), put32(f, (uint32_t)klen);
        fwrite(p->keys[c], 1, klen, f);
        for (size_t z = klen; z % 4; z++)
            fputc(0, f);
    }
    put64(f, m->row_bytes), put64(f, m->fixed_bytes), put64(f, m->naive_row_bytes);
    put32(f, (uint32_t)m->inplace), put32(f, (uint32_t)m->slots), put32(f, m->contiguous ? 1 : 0), put32(f, 0);
    for (size_t v = 0; v < m->nvalues; v++) {
        put32(f, (uint32_t)m->home[v]), put32(f, (uint32_t)m->alias_of[v]);
        put32(f, p->unstored[v] ? 1 : 0), put32(f, 0);
        put64(f, m->offset[v]), put64(f, (uint64_t)m->slot_start[v]);
    }
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(text);
        return sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    }
    *bytes = (unsigned char *)text;
    *len = n;
    return SF_OK;
}

/* ---- reading ---- */

typedef struct reader {
    const unsigned char *p, *end;
    const char *failed; /* what was being read when the bytes ran out or did not fit */
} reader;

static bool need(reader *r, size_t n, const char *what)
{
    if (r->failed)
        return false;
    if ((size_t)(r->end - r->p) < n) {
        r->failed = what;
        return false;
    }
    return true;
}

static uint32_t get32(reader *r, const char *what)
{
    if (!need(r, 4, what))
        return 0;
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

static uint64_t get64(reader *r, const char *what)
{
    uint64_t lo = get32(r, what);
    return lo | (uint64_t)get32(r, what) << 32;
}

/* a count or index that fits an int and is below limit */
static int get_index(reader *r, uint32_t limit, const char *what)
{
    uint32_t v = get32(r, what);
    if (!r->failed && (v >= limit || v > INT_MAX))
        r->failed = what;
    return r->failed ? 0 : (int)v;
}

static void get_zero(reader *r, const char *what)
{
    if (get32(r, what) && !r->failed)
        r->failed = what;
}

static sf_linear get_linear(reader *r, const char *what)
{
    uint64_t a = get64(r, what), b = get64(r, what);
    sf_linear l;
    memcpy(&l.c0, &a, sizeof a);
    memcpy(&l.cb, &b, sizeof b);
    return l;
}

static void read_kernels(reader *r, const sf_graph *g, sf_plan *p)
{
    uint32_t nn = (uint32_t)g->nodes.len, nv = (uint32_t)g->values.len;
    for (size_t k = 0; k < p->nkernels && !r->failed; k++) {
        sf_plan_kernel *pk = &p->kernels[k];
        pk->first = get_index(r, nn, "a kernel's first node");
        pk->last = get_index(r, nn, "a kernel's last node");
        pk->code = get_index(r, (uint32_t)p->ncodes, "a kernel's code");
        /* an argument takes 32 bytes: a count the section cannot hold is refused before allocating */
        pk->nargs = get_index(r, (uint32_t)((size_t)(r->end - r->p) / 32 + 1), "a kernel's argument count");
        pk->flops = get_linear(r, "a kernel's flops");
        pk->bytes = get_linear(r, "a kernel's bytes");
        pk->lib = get_index(r, SF_LIB_COUNT, "a kernel's library");
        if (r->failed || !(pk->args = calloc((size_t)pk->nargs + 1, sizeof *pk->args))) {
            r->failed = r->failed ? r->failed : "memory";
            return;
        }
        for (int a = 0; a < pk->nargs && !r->failed; a++) {
            sf_plan_arg *arg = &pk->args[a];
            arg->value = get_index(r, nv, "an argument's value");
            arg->node = get_index(r, nn, "an argument's node");
            arg->index = get_index(r, 1u << 16, "an argument's operand");
            get_zero(r, "an argument's padding");
            arg->offset = get_linear(r, "an argument's offset");
        }
    }
}

static void read_codes(reader *r, sf_plan *p)
{
    for (int c = 0; c < p->ncodes && !r->failed; c++) {
        p->code_kernel[c] = get_index(r, (uint32_t)p->nkernels, "a code's kernel");
        uint32_t klen = get32(r, "a key's length");
        size_t padded = ((size_t)klen + 3) & ~(size_t)3;
        if (!need(r, padded, "a key"))
            return;
        if (!klen || memchr(r->p, 0, klen)) {
            r->failed = "a key";
            return;
        }
        for (size_t z = klen; z < padded; z++)
            if (r->p[z])
                r->failed = "a key's padding";
        if (!(p->keys[c] = malloc((size_t)klen + 1))) {
            r->failed = "memory";
            return;
        }
        memcpy(p->keys[c], r->p, klen);
        p->keys[c][klen] = '\0';
        r->p += padded;
    }
}

static void read_memory(reader *r, sf_plan *p)
{
    sf_memplan *m = &p->mem;
    m->row_bytes = (size_t)get64(r, "the arena sizes");
    m->fixed_bytes = (size_t)get64(r, "the arena sizes");
    m->naive_row_bytes = (size_t)get64(r, "the arena sizes");
    m->inplace = get_index(r, (uint32_t)m->nvalues + 1, "the in-place count");
    m->slots = get_index(r, (uint32_t)m->nvalues + 1, "the slot count");
    m->contiguous = get_index(r, 2, "the memory plan's flags");
    get_zero(r, "the memory plan's padding");
    for (size_t v = 0; v < m->nvalues && !r->failed; v++) {
        m->home[v] = (sf_home)get_index(r, SF_HOME_SLOT + 1, "a value's home");
        m->alias_of[v] = get_index(r, (uint32_t)m->nvalues, "a value's alias");
        p->unstored[v] = get_index(r, 2, "a value's unstored flag");
        get_zero(r, "a value's padding");
        m->offset[v] = (size_t)get64(r, "a value's offset");
        m->slot_start[v] = (int64_t)get64(r, "a value's slot");
    }
}

/* kernel_of from the kernels where they follow each other; sf_plan_verify
 * refuses the plan where they do not */
static void fill_kernel_of(sf_plan *p)
{
    size_t nn = p->g->nodes.len;
    for (size_t i = 0; i < nn; i++)
        p->kernel_of[i] = -1;
    int after = -1;
    for (size_t k = 0; k < p->nkernels; k++) {
        const sf_plan_kernel *pk = &p->kernels[k];
        if (pk->first <= after || pk->last < pk->first)
            return;
        for (int i = pk->first; i <= pk->last; i++) { /* sources and a chain's views are in no kernel */
            sf_opcls c = sf_op_cls(((const sf_node *)p->g->nodes.items[i])->op);
            if (c != SF_OPCLS_SOURCE && c != SF_OPCLS_VIEW)
                p->kernel_of[i] = (int)k;
        }
        after = pk->last;
    }
}

static sf_status read_plan(reader *r, const sf_graph *g, sf_plan *p, sf_error *err)
{
    size_t nn = g->nodes.len, nv = g->values.len;
    uint32_t format = get32(r, "the format"), nkernels = get32(r, "the counts"), ncodes = get32(r, "the counts"),
             nvalues = get32(r, "the counts");
    if (r->failed)
        return sf_fail(err, SF_ERR_FORMAT, "plan: %s is truncated", r->failed);
    if (format != FORMAT)
        return sf_fail(err, SF_ERR_FORMAT, "plan: format %u, this sheaf reads %d", format, FORMAT);
    if (nvalues != nv)
        return sf_fail(err, SF_ERR_FORMAT, "plan: %u values, the IR has %zu", nvalues, nv);
    if (nkernels > nn || ncodes > nkernels)
        return sf_fail(err, SF_ERR_FORMAT, "plan: %u kernels (%u codes) for %zu nodes", nkernels, ncodes, nn);
    p->nkernels = nkernels;
    p->ncodes = (int)ncodes;
    sf_memplan *m = &p->mem;
    m->nvalues = nv;
    p->kernels = calloc(p->nkernels + 1, sizeof *p->kernels);
    p->keys = calloc((size_t)p->ncodes + 1, sizeof *p->keys);
    p->code_kernel = calloc((size_t)p->ncodes + 1, sizeof *p->code_kernel);
    p->kernel_of = calloc(nn + 1, sizeof *p->kernel_of);
    p->unstored = calloc(nv + 1, sizeof *p->unstored);
    m->home = calloc(nv + 1, sizeof *m->home);
    m->offset = calloc(nv + 1, sizeof *m->offset);
    m->alias_of = calloc(nv + 1, sizeof *m->alias_of);
    m->slot_start = calloc(nv + 1, sizeof *m->slot_start);
    if (!p->kernels || !p->keys || !p->code_kernel || !p->kernel_of || !p->unstored || !m->home || !m->offset ||
        !m->alias_of || !m->slot_start)
        return sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    read_kernels(r, g, p);
    read_codes(r, p);
    read_memory(r, p);
    if (r->failed && !strcmp(r->failed, "memory"))
        return sf_fail(err, SF_ERR_NOMEM, "plan: out of memory");
    if (r->failed)
        return sf_fail(err, SF_ERR_FORMAT, "plan: %s is truncated or out of range", r->failed);
    if (r->p != r->end)
        return sf_fail(err, SF_ERR_FORMAT, "plan: %zu bytes after the plan", (size_t)(r->end - r->p));
    fill_kernel_of(p);
    return sf_plan_verify(p, err);
}

sf_status sf_plan_decode(const sf_graph *g, const unsigned char *bytes, size_t len, sf_plan *p, sf_error *err)
{
    memset(p, 0, sizeof *p);
    p->g = g;
    reader r = {bytes, bytes + len, NULL};
    sf_status st = read_plan(&r, g, p, err);
    if (st != SF_OK)
        sf_plan_free(p);
    return st;
}

sf_status sf_plan_copy(const sf_plan *src, const sf_graph *g, sf_plan *dst, sf_error *err)
{
    unsigned char *bytes;
    size_t len;
    sf_status st = sf_plan_encode(src, &bytes, &len, err);
    if (st != SF_OK)
        return st;
    st = sf_plan_decode(g, bytes, len, dst, err);
    free(bytes);
    return st;
}
