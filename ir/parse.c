/* The text form, read: a hand-written lexer and recursive-descent parser.
 * Every error carries file:line:col. Nodes are built through the builder, so
 * shape rules run as the text is read and a stated type that disagrees with
 * the inferred one is an error at that statement. */
#include "ir/ir.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_EOF, T_IDENT, T_LOCAL, T_GLOBAL, T_INT, T_FLOAT,
    T_EQ, T_COMMA, T_COLON, T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACK, T_RBRACK, T_ARROW
} tok_kind;

typedef struct {
    tok_kind kind;
    const char *start; /* lexeme in the source */
    size_t len;
    char *name;        /* T_LOCAL, T_GLOBAL, T_IDENT: the (unquoted) text */
    bool quoted;       /* the name was written "..." */
    int line, col;
} token;

typedef struct {
    const char *src, *end, *p;
    const char *file;
    int line;
    const char *line_start;
    token tok;
    sf_arena scratch; /* names of the text; freed with the parser */
    sf_map locals;    /* %name -> sf_value* */
    sf_graph *g;
    sf_error *err;
    bool failed;
} parser;

static const char *tok_desc(const token *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case T_EOF: return "end of input";
    case T_INT: case T_FLOAT: case T_IDENT:
        snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->start);
        return buf;
    case T_LOCAL: case T_GLOBAL:
        snprintf(buf, cap, "%c%.40s", t->kind == T_LOCAL ? '%' : '@', t->name);
        return buf;
    default:
        snprintf(buf, cap, "'%.*s'", (int)t->len, t->start);
        return buf;
    }
}

static bool perr(parser *ps, int line, int col, const char *fmt, ...) SF_PRINTF(4, 5);
static bool perr(parser *ps, int line, int col, const char *fmt, ...)
{
    if (ps->failed)
        return false;
    va_list ap;
    va_start(ap, fmt);
    sf_fail_atv(ps->err, SF_ERR_PARSE, ps->file, line, col, fmt, ap);
    va_end(ap);
    ps->failed = true;
    return false;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A quoted name after a sigil: "..." with \" \\ \xNN escapes. */
static bool lex_quoted(parser *ps, token *t)
{
    const char *p = ps->p + 1;
    char *buf = sf_arena_alloc(&ps->scratch, (size_t)(ps->end - p) + 1);
    size_t n = 0;
    if (!buf)
        return perr(ps, t->line, t->col, "out of memory");
    while (p < ps->end && *p != '"') {
        if (*p == '\n')
            return perr(ps, t->line, t->col, "unterminated quoted name");
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return perr(ps, t->line, t->col, "control byte 0x%02x in a quoted name (write it as \\x%02x)",
                        (unsigned char)*p, (unsigned char)*p);
        if (*p == '\\') {
            if (p + 1 < ps->end && (p[1] == '"' || p[1] == '\\')) {
                buf[n++] = p[1];
                p += 2;
            } else if (p + 3 < ps->end && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
                buf[n++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                p += 4;
            } else {
                return perr(ps, t->line, t->col, "bad escape in quoted name");
            }
            if (buf[n - 1] == '\0')
                return perr(ps, t->line, t->col, "NUL byte in quoted name");
            continue;
        }
        buf[n++] = *p++;
    }
    if (p >= ps->end)
        return perr(ps, t->line, t->col, "unterminated quoted name");
    if (n == 0)
        return perr(ps, t->line, t->col, "empty quoted name");
    buf[n] = '\0';
    t->name = buf;
    t->quoted = true;
    ps->p = p + 1;
    return true;
}

static bool lex(parser *ps)
{
    token *t = &ps->tok;
    for (;;) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n')) {
            if (*ps->p == '\n') {
                ps->line++;
                ps->line_start = ps->p + 1;
            }
            ps->p++;
        }
        if (ps->p < ps->end && *ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
            continue;
        }
        break;
    }
    memset(t, 0, sizeof *t);
    t->start = ps->p;
    t->line = ps->line;
    t->col = (int)(ps->p - ps->line_start) + 1;
    if (ps->p >= ps->end) {
        t->kind = T_EOF;
        return true;
    }
    char c = *ps->p;
    static const char punct[] = "=,:(){}[]";
    static const tok_kind pk[] = {T_EQ, T_COMMA, T_COLON, T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACK, T_RBRACK};
    const char *pp = c ? strchr(punct, c) : NULL;
    if (pp) {
        t->kind = pk[pp - punct];
        t->len = 1;
        ps->p++;
        return true;
    }
    if (c == '-' && ps->p + 1 < ps->end && ps->p[1] == '>') {
        t->kind = T_ARROW;
        t->len = 2;
        ps->p += 2;
        return true;
    }
    if (c == '%' || c == '@') {
        t->kind = c == '%' ? T_LOCAL : T_GLOBAL;
        ps->p++;
        if (ps->p < ps->end && *ps->p == '"') {
            if (!lex_quoted(ps, t))
                return false;
        } else {
            const char *s = ps->p;
            while (ps->p < ps->end && name_char(*ps->p))
                ps->p++;
            if (ps->p == s)
                return perr(ps, t->line, t->col, "expected a name after '%c'", c);
            t->name = sf_arena_strndup(&ps->scratch, s, (size_t)(ps->p - s));
            if (!t->name)
                return perr(ps, t->line, t->col, "out of memory");
        }
        t->len = (size_t)(ps->p - t->start);
        return true;
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
        const char *s = ps->p + 1;
        bool is_float = false;
        while (s < ps->end && ((*s >= '0' && *s <= '9') || *s == '.' || *s == 'e' || *s == 'E' ||
                               ((*s == '-' || *s == '+') && (s[-1] == 'e' || s[-1] == 'E')))) {
            if (*s == '.' || *s == 'e' || *s == 'E')
                is_float = true;
            s++;
        }
        /* -inf */
        if (s == ps->p + 1 && (c == '-' || c == '+') && ps->end - s >= 3 && memcmp(s, "inf", 3) == 0) {
            s += 3;
            is_float = true;
        }
        t->kind = is_float ? T_FLOAT : T_INT;
        t->len = (size_t)(s - ps->p);
        ps->p = s;
        return true;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        const char *s = ps->p;
        while (ps->p < ps->end && name_char(*ps->p))
            ps->p++;
        t->kind = T_IDENT;
        t->len = (size_t)(ps->p - s);
        t->name = sf_arena_strndup(&ps->scratch, s, t->len);
        return t->name ? true : perr(ps, t->line, t->col, "out of memory");
    }
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        return perr(ps, t->line, t->col, "unexpected byte 0x%02x", (unsigned char)c);
    return perr(ps, t->line, t->col, "unexpected character '%c'", c);
}

static bool is_ident(parser *ps, const char *word)
{
    return ps->tok.kind == T_IDENT && strcmp(ps->tok.name, word) == 0;
}

static bool expect(parser *ps, tok_kind k, const char *what)
{
    if (ps->tok.kind != k) {
        char buf[80];
        return perr(ps, ps->tok.line, ps->tok.col, "expected %s, found %s", what, tok_desc(&ps->tok, buf, sizeof buf));
    }
    return lex(ps);
}

/* Integers are kept within 32 bits so that shape arithmetic cannot overflow. */
static bool parse_int(parser *ps, int64_t *out)
{
    token t = ps->tok;
    if (t.kind != T_INT) {
        char buf[80];
        return perr(ps, t.line, t.col, "expected an integer, found %s", tok_desc(&t, buf, sizeof buf));
    }
    char buf[32];
    if (t.len >= sizeof buf)
        return perr(ps, t.line, t.col, "integer '%.*s' is too long", 31, t.start);
    memcpy(buf, t.start, t.len);
    buf[t.len] = '\0';
    char *endp;
    errno = 0;
    long long v = strtoll(buf, &endp, 10);
    if (errno || *endp || v > INT32_MAX || v < -(long long)INT32_MAX)
        return perr(ps, t.line, t.col, "integer '%s' is malformed or out of range (|v| < 2^31)", buf);
    *out = v;
    return lex(ps);
}

static bool parse_float(parser *ps, double *out)
{
    token t = ps->tok;
    if (t.kind == T_IDENT && (strcmp(t.name, "inf") == 0 || strcmp(t.name, "nan") == 0)) {
        *out = t.name[0] == 'i' ? INFINITY : NAN;
        return lex(ps);
    }
    if (t.kind != T_INT && t.kind != T_FLOAT) {
        char buf[80];
        return perr(ps, t.line, t.col, "expected a number, found %s", tok_desc(&t, buf, sizeof buf));
    }
    char buf[64];
    if (t.len >= sizeof buf)
        return perr(ps, t.line, t.col, "number is too long");
    memcpy(buf, t.start, t.len);
    buf[t.len] = '\0';
    char *endp;
    *out = strtod(buf, &endp);
    if (*endp)
        return perr(ps, t.line, t.col, "malformed number '%s'", buf);
    return lex(ps);
}

/* f32[B,10] */
static bool parse_type(parser *ps, sf_type *t)
{
    token tk = ps->tok;
    memset(t, 0, sizeof *t);
    if (tk.kind != T_IDENT || !sf_dtype_parse(tk.name, strlen(tk.name), &t->dtype)) {
        char buf[80];
        return perr(ps, tk.line, tk.col, "expected a type such as f32[B,10], found %s", tok_desc(&tk, buf, sizeof buf));
    }
    if (!lex(ps) || !expect(ps, T_LBRACK, "'[' after the dtype"))
        return false;
    int nb = 0;
    while (ps->tok.kind != T_RBRACK) {
        if (t->rank == SF_MAX_RANK)
            return perr(ps, ps->tok.line, ps->tok.col, "rank above %d", SF_MAX_RANK);
        if (is_ident(ps, "B")) {
            t->dim[t->rank++] = SF_DIM_B;
            nb++;
            if (!lex(ps))
                return false;
        } else {
            int64_t d;
            int line = ps->tok.line, col = ps->tok.col;
            if (!parse_int(ps, &d))
                return false;
            if (d < 0)
                return perr(ps, line, col, "negative dimension %lld", (long long)d);
            t->dim[t->rank++] = d;
        }
        if (ps->tok.kind == T_COMMA) {
            if (!lex(ps))
                return false;
        } else if (ps->tok.kind != T_RBRACK) {
            return expect(ps, T_RBRACK, "',' or ']' in the shape");
        }
    }
    if (nb > 1)
        return perr(ps, tk.line, tk.col, "a type may hold the batch dim B once");
    return lex(ps);
}

static bool parse_attr_value(parser *ps, sf_node *n, const sf_attr_spec *spec, int line, int col)
{
    switch (spec->kind) {
    case SF_AK_INT: {
        int64_t v = 0;
        if (!parse_int(ps, &v))
            return false;
        sf_node_set_int(n, spec->id, v);
        return true;
    }
    case SF_AK_FLOAT: {
        double v = 0;
        if (!parse_float(ps, &v))
            return false;
        sf_node_set_float(n, spec->id, v);
        return true;
    }
    case SF_AK_BOOL:
        if (!is_ident(ps, "true") && !is_ident(ps, "false"))
            return perr(ps, ps->tok.line, ps->tok.col, "attribute '%s' takes true or false", spec->name);
        sf_node_set_int(n, spec->id, is_ident(ps, "true"));
        return lex(ps);
    case SF_AK_INTS:
    case SF_AK_SHAPE: {
        int64_t *vals = NULL;
        size_t nv = 0, cap = 0;
        bool ok = expect(ps, T_LBRACK, "'[' to open a list");
        while (ok && ps->tok.kind != T_RBRACK) {
            int64_t v = 0;
            if (spec->kind == SF_AK_SHAPE && is_ident(ps, "B")) {
                v = SF_DIM_B;
                ok = lex(ps);
            } else {
                ok = parse_int(ps, &v);
            }
            if (ok && nv == cap) {
                cap = cap ? cap * 2 : 8;
                int64_t *grown = cap <= 1000000 ? realloc(vals, sizeof *vals * cap) : NULL;
                if (!grown)
                    ok = perr(ps, line, col, "attribute '%s' has too many entries", spec->name);
                else
                    vals = grown;
            }
            if (ok)
                vals[nv++] = v;
            if (ok && ps->tok.kind == T_COMMA)
                ok = lex(ps);
            else if (ok && ps->tok.kind != T_RBRACK)
                ok = expect(ps, T_RBRACK, "',' or ']' in the list");
        }
        if (ok && !sf_node_set_ints(ps->g, n, spec->id, vals, (int)nv))
            ok = perr(ps, line, col, "out of memory");
        free(vals);
        return ok && lex(ps);
    }
    }
    return false;
}

/* {name=value, ...}: each attribute of the op exactly once. */
static bool parse_attrs(parser *ps, sf_node *n)
{
    const sf_op_info *info = &sf_ops[n->op];
    if (ps->tok.kind != T_LBRACE)
        return true;
    if (!lex(ps))
        return false;
    while (ps->tok.kind != T_RBRACE) {
        token t = ps->tok;
        if (t.kind != T_IDENT)
            return expect(ps, T_IDENT, "an attribute name");
        const sf_attr_spec *spec = NULL;
        int slot = -1;
        for (int i = 0; i < info->nattrs; i++)
            if (strcmp(info->attrs[i]->name, t.name) == 0) {
                spec = info->attrs[i];
                slot = i;
            }
        if (!spec)
            return perr(ps, t.line, t.col, "%s has no attribute '%s'", info->name, t.name);
        if (n->attrs[slot].set)
            return perr(ps, t.line, t.col, "attribute '%s' given twice", t.name);
        if (!lex(ps) || !expect(ps, T_EQ, "'=' after the attribute name") ||
            !parse_attr_value(ps, n, spec, t.line, t.col))
            return false;
        if (ps->tok.kind == T_COMMA) {
            if (!lex(ps))
                return false;
        } else if (ps->tok.kind != T_RBRACE) {
            return expect(ps, T_RBRACE, "',' or '}' after an attribute");
        }
    }
    return lex(ps);
}

/* %"0" (an input named 0) and %0 (a temporary) are different values: a
 * quoted name that would not print bare gets its own key. */
static const char *local_key(parser *ps, const token *t)
{
    if (!t->quoted || (sf_name_is_plain(t->name) && !(t->name[0] >= '0' && t->name[0] <= '9')))
        return t->name;
    size_t n = strlen(t->name);
    char *key = sf_arena_alloc(&ps->scratch, n + 2);
    if (!key)
        return t->name;
    key[0] = '"';
    memcpy(key + 1, t->name, n + 1);
    return key;
}

static sf_value *parse_operand(parser *ps)
{
    token t = ps->tok;
    sf_value *v = NULL;
    if (t.kind == T_LOCAL) {
        v = sf_map_get(&ps->locals, local_key(ps, &t));
        if (!v)
            perr(ps, t.line, t.col, "%%%s is not defined", t.name);
    } else if (t.kind == T_GLOBAL) {
        v = sf_graph_param_get(ps->g, t.name);
        if (!v)
            perr(ps, t.line, t.col, "parameter @%s is not declared", t.name);
    } else {
        char buf[80];
        perr(ps, t.line, t.col, "expected an operand (%%value or @param), found %s", tok_desc(&t, buf, sizeof buf));
    }
    if (v && !lex(ps))
        return NULL;
    return v;
}

static bool define_local(parser *ps, const token *t, sf_value *v)
{
    const char *key = local_key(ps, t);
    if (sf_map_get(&ps->locals, key))
        return perr(ps, t->line, t->col, "%%%s is defined twice", t->name);
    if (!sf_map_put(&ps->locals, key, v))
        return perr(ps, t->line, t->col, "out of memory");
    return true;
}

static char *loc_string(parser *ps, int line, int col)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s:%d:%d", ps->file, line, col);
    return sf_arena_strdup(&ps->g->arena, buf);
}

/* %a, %b = op operands {attrs} : type, type */
static bool parse_statement(parser *ps)
{
    sf_vec results = {0};
    sf_vec operands = {0};
    int line = ps->tok.line, col = ps->tok.col;
    bool ok = true;
    while (ok) {
        token *t = sf_arena_alloc(&ps->scratch, sizeof *t);
        if (!t || !sf_vec_push(&results, t)) {
            ok = perr(ps, line, col, "out of memory");
            break;
        }
        *t = ps->tok;
        ok = expect(ps, T_LOCAL, "a %result name");
        if (ok && ps->tok.kind == T_COMMA)
            ok = lex(ps);
        else
            break;
    }
    ok = ok && expect(ps, T_EQ, "'=' after the result names");
    token opt = ps->tok;
    int op = -1;
    if (ok && opt.kind == T_IDENT)
        for (int i = 0; i < SF_OP_COUNT; i++)
            if (strcmp(sf_ops[i].name, opt.name) == 0)
                op = i;
    if (ok && op < 0) {
        char buf[80];
        ok = perr(ps, opt.line, opt.col, "unknown op %s", tok_desc(&opt, buf, sizeof buf));
    }
    ok = ok && lex(ps);
    while (ok && (ps->tok.kind == T_LOCAL || ps->tok.kind == T_GLOBAL)) {
        sf_value *v = parse_operand(ps);
        ok = v && sf_vec_push(&operands, v);
        if (ok && ps->tok.kind == T_COMMA)
            ok = lex(ps);
        else
            break;
    }
    sf_node *n = NULL;
    if (ok) {
        n = sf_node_begin(ps->g, (sf_opcode)op, (int)operands.len, (sf_value **)operands.items, ps->err);
        if (!n)
            ok = perr(ps, opt.line, opt.col, "%s", ps->err ? ps->err->msg : "bad operands");
    }
    ok = ok && parse_attrs(ps, n) && expect(ps, T_COLON, "':' and the result types");
    if (ok) {
        n->loc = loc_string(ps, line, col);
        if (sf_node_finish(ps->g, n, ps->err) != SF_OK) {
            char msg[SF_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", ps->err ? ps->err->msg : "bad node");
            ok = perr(ps, opt.line, opt.col, "%s", msg);
        }
    }
    if (ok && (size_t)n->nout != results.len)
        ok = perr(ps, line, col, "%s has %d result(s) but %zu name(s) are given", opt.name, n->nout, results.len);
    for (int i = 0; ok && i < n->nout; i++) {
        sf_type t;
        int tl = ps->tok.line, tc = ps->tok.col;
        ok = parse_type(ps, &t);
        if (ok && !sf_type_equal(&t, &n->out[i]->type)) {
            char a[128], b[128];
            ok = perr(ps, tl, tc, "%s result is stated as %s but its operands give %s", opt.name,
                      sf_type_str(&t, a, sizeof a), sf_type_str(&n->out[i]->type, b, sizeof b));
        }
        ok = ok && define_local(ps, results.items[i], n->out[i]);
        if (ok && i + 1 < n->nout)
            ok = expect(ps, T_COMMA, "',' between result types");
    }
    /* [region N]: a fusion region mark */
    if (ok && ps->tok.kind == T_LBRACK) {
        int64_t r = 0;
        int rl = ps->tok.line, rc = ps->tok.col;
        ok = lex(ps);
        if (ok && !is_ident(ps, "region"))
            ok = perr(ps, ps->tok.line, ps->tok.col, "expected 'region' in a [region N] mark");
        ok = ok && lex(ps) && parse_int(ps, &r) && expect(ps, T_RBRACK, "']' after the region number");
        if (ok && r < 1)
            ok = perr(ps, rl, rc, "region numbers start at 1");
        if (ok)
            n->region = (int)r;
    }
    sf_vec_free(&results);
    sf_vec_free(&operands);
    return ok;
}

static bool parse_param_decl(parser *ps)
{
    token t;
    sf_type type;
    if (!lex(ps))
        return false;
    t = ps->tok;
    if (!expect(ps, T_GLOBAL, "@name after 'param'") || !expect(ps, T_COLON, "':' after the parameter name") ||
        !parse_type(ps, &type))
        return false;
    if (!sf_graph_param(ps->g, t.name, &type, ps->err)) {
        char msg[SF_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", ps->err ? ps->err->msg : "bad parameter");
        return perr(ps, t.line, t.col, "%s", msg);
    }
    return true;
}

static bool parse_func(parser *ps)
{
    if (!lex(ps))
        return false;
    token name = ps->tok;
    if (!expect(ps, T_GLOBAL, "@name after 'func'"))
        return false;
    ps->g->name = sf_arena_strdup(&ps->g->arena, name.name);
    if (!expect(ps, T_LPAREN, "'(' to open the arguments"))
        return false;
    while (ps->tok.kind != T_RPAREN) {
        token arg = ps->tok;
        sf_type type;
        if (!expect(ps, T_LOCAL, "an argument %name") || !expect(ps, T_COLON, "':' after the argument name") ||
            !parse_type(ps, &type))
            return false;
        sf_value *v = sf_graph_input(ps->g, arg.name, &type, ps->err);
        if (!v) {
            char msg[SF_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", ps->err ? ps->err->msg : "bad argument");
            return perr(ps, arg.line, arg.col, "%s", msg);
        }
        if (!define_local(ps, &arg, v))
            return false;
        if (ps->tok.kind == T_COMMA) {
            if (!lex(ps))
                return false;
        } else if (ps->tok.kind != T_RPAREN) {
            return expect(ps, T_RPAREN, "',' or ')' after an argument");
        }
    }
    if (!lex(ps) || !expect(ps, T_LBRACE, "'{' to open the body"))
        return false;
    while (ps->tok.kind == T_LOCAL)
        if (!parse_statement(ps))
            return false;
    if (!is_ident(ps, "return")) {
        char buf[80];
        return perr(ps, ps->tok.line, ps->tok.col, "expected a statement or 'return', found %s",
                    tok_desc(&ps->tok, buf, sizeof buf));
    }
    int rl = ps->tok.line, rc = ps->tok.col;
    if (!lex(ps))
        return false;
    for (;;) {
        sf_value *v = parse_operand(ps);
        if (!v || sf_graph_add_output(ps->g, v, ps->err) != SF_OK)
            return perr(ps, rl, rc, "bad return value");
        if (ps->tok.kind != T_COMMA)
            break;
        if (!lex(ps))
            return false;
    }
    return expect(ps, T_RBRACE, "'}' to close the function") && expect(ps, T_EOF, "end of input after the function");
}

sf_graph *sf_graph_copy(const sf_graph *g, const char *what, sf_error *err)
{
    char *text = sf_print_string(g);
    if (!text) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sf_graph *c = sf_parse(text, strlen(text), what, err);
    free(text);
    return c;
}

sf_graph *sf_parse(const char *text, size_t len, const char *filename, sf_error *err)
{
    parser ps = {0};
    ps.src = ps.p = ps.line_start = text;
    ps.end = text + len;
    ps.file = filename ? filename : "<input>";
    ps.line = 1;
    ps.err = err;
    sf_arena_init(&ps.scratch);
    ps.g = sf_graph_new("main");
    if (!ps.g) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    bool ok = lex(&ps);
    while (ok && is_ident(&ps, "param"))
        ok = parse_param_decl(&ps);
    if (ok && !is_ident(&ps, "func")) {
        char buf[80];
        ok = perr(&ps, ps.tok.line, ps.tok.col, "expected 'param' or 'func', found %s", tok_desc(&ps.tok, buf, sizeof buf));
    }
    ok = ok && parse_func(&ps);
    if (ok && sf_verify(ps.g, err) != SF_OK) {
        sf_error_prefix(err, "%s", ps.file);
        ok = false;
    }
    sf_map_free(&ps.locals);
    sf_arena_free(&ps.scratch);
    if (!ok) {
        if (err && err->code == SF_OK)
            sf_fail(err, SF_ERR_PARSE, "%s: parse failed", ps.file);
        sf_graph_free(ps.g);
        return NULL;
    }
    return ps.g;
}
