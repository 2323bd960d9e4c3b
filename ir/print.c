/* The text form, written out. docs/ir.md describes it; parse.c reads it back. */
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

bool sf_name_is_plain(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!name_char(*s))
            return false;
    return true;
}

/* Inputs share the % namespace with numbered temporaries, so an input whose
 * name starts with a digit is quoted. */
static void put_name(FILE *out, char sigil, const char *name)
{
    bool plain = sf_name_is_plain(name) && !(sigil == '%' && name[0] >= '0' && name[0] <= '9');
    if (plain) {
        fprintf(out, "%c%s", sigil, name);
        return;
    }
    fprintf(out, "%c\"", sigil);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* Shortest text that reads back to the same double. */
static void put_float(FILE *out, double v)
{
    if (isnan(v)) {
        fputs("nan", out);
        return;
    }
    if (isinf(v)) {
        fputs(v < 0 ? "-inf" : "inf", out);
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".e"))
        strcat(buf, ".0");
    fputs(buf, out);
}

static void put_type(FILE *out, const sf_type *t)
{
    char buf[160];
    fputs(sf_type_str(t, buf, sizeof buf), out);
}

/* Temporaries are numbered in definition order; inputs and params keep names. */
static void put_value(FILE *out, const sf_value *v, const int *num)
{
    if (v->def->op == SF_OP_PARAM)
        put_name(out, '@', v->def->name);
    else if (v->def->op == SF_OP_INPUT)
        put_name(out, '%', v->def->name);
    else
        fprintf(out, "%%%d", num[v->id]);
}

static void put_attrs(FILE *out, const sf_node *n)
{
    const sf_op_info *info = &sf_ops[n->op];
    if (info->nattrs == 0)
        return;
    fputs(" {", out);
    for (int i = 0; i < info->nattrs; i++) {
        const sf_attr *a = &n->attrs[i];
        fprintf(out, "%s%s=", i ? ", " : "", info->attrs[i]->name);
        switch (info->attrs[i]->kind) {
        case SF_AK_INT: fprintf(out, "%lld", (long long)a->i); break;
        case SF_AK_BOOL: fputs(a->i ? "true" : "false", out); break;
        case SF_AK_FLOAT: put_float(out, a->f); break;
        case SF_AK_INTS:
        case SF_AK_SHAPE: {
            fputc('[', out);
            for (int k = 0; k < a->n; k++) {
                if (k)
                    fputc(',', out);
                if (a->ints[k] == SF_DIM_B && info->attrs[i]->kind == SF_AK_SHAPE)
                    fputc('B', out);
                else
                    fprintf(out, "%lld", (long long)a->ints[k]);
            }
            fputc(']', out);
            break;
        }
        }
    }
    fputc('}', out);
}

void sf_print(const sf_graph *g, FILE *out)
{
    int *num = calloc(g->values.len + 1, sizeof *num);
    if (!num) {
        fputs("# out of memory printing the graph\n", out);
        return;
    }
    for (size_t i = 0; i < g->params.len; i++) {
        const sf_value *p = g->params.items[i];
        fputs("param ", out);
        put_name(out, '@', p->def->name);
        fputs(" : ", out);
        put_type(out, &p->type);
        fputc('\n', out);
    }
    if (g->params.len)
        fputc('\n', out);
    fputs("func ", out);
    put_name(out, '@', g->name);
    fputc('(', out);
    for (size_t i = 0; i < g->inputs.len; i++) {
        const sf_value *v = g->inputs.items[i];
        if (i)
            fputs(", ", out);
        put_name(out, '%', v->def->name);
        fputs(": ", out);
        put_type(out, &v->type);
    }
    fputs(") {\n", out);
    int next = 0;
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE)
            continue;
        fputs("  ", out);
        for (int k = 0; k < n->nout; k++) {
            num[n->out[k]->id] = next++;
            fprintf(out, "%s%%%d", k ? ", " : "", num[n->out[k]->id]);
        }
        fprintf(out, " = %s", sf_ops[n->op].name);
        for (int k = 0; k < n->nin; k++) {
            fputs(k ? ", " : " ", out);
            put_value(out, n->in[k], num);
        }
        put_attrs(out, n);
        fputs(" : ", out);
        for (int k = 0; k < n->nout; k++) {
            if (k)
                fputs(", ", out);
            put_type(out, &n->out[k]->type);
        }
        if (n->region > 0)
            fprintf(out, " [region %d]", n->region);
        fputc('\n', out);
    }
    fputs("  return", out);
    for (size_t i = 0; i < g->outputs.len; i++) {
        fputs(i ? ", " : " ", out);
        put_value(out, g->outputs.items[i], num);
    }
    fputs("\n}\n", out);
    free(num);
}

/* what a printer writes, as a malloc'd string; NULL when out of memory */
static char *print_to_string(void (*print)(const void *, FILE *), const void *what)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    print(what, f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void print_graph(const void *g, FILE *out) { sf_print(g, out); }

char *sf_print_string(const sf_graph *g) { return print_to_string(print_graph, g); }

static void print_signature(const void *node, FILE *out)
{
    const sf_node *n = node;
    fputs(sf_ops[n->op].name, out);
    fputc('(', out);
    for (int k = 0; k < n->nin; k++) {
        if (k)
            fputc(',', out);
        put_type(out, &n->in[k]->type);
    }
    fputs(") ->", out);
    for (int k = 0; k < n->nout; k++) {
        fputc(' ', out);
        put_type(out, &n->out[k]->type);
    }
    put_attrs(out, n);
}

char *sf_node_signature(const sf_node *n) { return print_to_string(print_signature, n); }
