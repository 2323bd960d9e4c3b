/* Graphviz DOT: one box per op, parameters as small ellipses. */
#include "ir/ir.h"

#include <stdlib.h>

static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, out);
    }
}

void sf_print_dot(const sf_graph *g, FILE *out)
{
    char tb[160];
    fputs("digraph \"", out);
    put_escaped(out, g->name);
    fputs("\" {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n", out);
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        fprintf(out, "  n%zu [", i);
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE) {
            fprintf(out, "shape=%s, label=\"%c", n->op == SF_OP_PARAM ? "ellipse" : "invhouse",
                    n->op == SF_OP_PARAM ? '@' : '%');
            put_escaped(out, n->name);
            fprintf(out, "\\n%s\"];\n", sf_type_str(&n->out[0]->type, tb, sizeof tb));
            continue;
        }
        fprintf(out, "shape=box, label=\"%s", sf_ops[n->op].name);
        for (int k = 0; k < n->nout; k++)
            fprintf(out, "\\n%s", sf_type_str(&n->out[k]->type, tb, sizeof tb));
        fputs("\"];\n", out);
    }
    /* value id -> node index, for edges */
    size_t *at = malloc(sizeof *at * (g->values.len + 1));
    if (!at) {
        fputs("}\n", out);
        return;
    }
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int k = 0; k < n->nout; k++)
            at[n->out[k]->id] = i;
    }
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        for (int k = 0; k < n->nin; k++)
            fprintf(out, "  n%zu -> n%zu;\n", at[n->in[k]->id], i);
    }
    fputs("  out [shape=house, label=\"return\"];\n", out);
    for (size_t i = 0; i < g->outputs.len; i++)
        fprintf(out, "  n%zu -> out;\n", at[((const sf_value *)g->outputs.items[i])->id]);
    free(at);
    fputs("}\n", out);
}
