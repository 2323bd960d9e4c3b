/* Recursive-descent parser for the Python subset (docs/python-subset.md):
 * statements and the entry points. Constructs outside the subset are
 * refused by name with file:line:col. */
#include <string.h>

#include "frontend/py_parser.h"

/* ---- statements ---- */

static py_stmt *new_stmt(parser *P, py_stmt_kind k, int line, int col)
{
    py_stmt *s = py_alloc(P, sizeof *s);
    if (s) {
        s->kind = k;
        s->line = line;
        s->col = col;
    }
    return s;
}

static bool parse_stmt(parser *P, plist *out);

static bool end_simple(parser *P)
{
    if (P->tok.kind == PT_NEWLINE || P->tok.kind == PT_EOF)
        return P->tok.kind == PT_EOF || py_advance(P);
    if (py_is_op(&P->tok, ";"))
        return true;
    char b[64];
    return py_perr(P, P->tok.line, P->tok.col, "expected the end of the statement, found %s", py_tok_desc(&P->tok, b, sizeof b));
}

/* ':' then a simple statement on the same line, or an indented block */
static bool parse_block(parser *P, py_stmt ***body, int *n)
{
    if (!py_expect_op(P, ":"))
        return false;
    plist l = {0};
    if (P->tok.kind != PT_NEWLINE) {
        if (!parse_stmt(P, &l))
            return false;
    } else {
        if (!py_advance(P))
            return false;
        if (P->tok.kind != PT_INDENT)
            return py_perr(P, P->tok.line, P->tok.col, "expected an indented block");
        if (!py_advance(P))
            return false;
        while (P->tok.kind != PT_DEDENT && P->tok.kind != PT_EOF)
            if (!parse_stmt(P, &l))
                return false;
        if (P->tok.kind == PT_DEDENT && !py_advance(P))
            return false;
    }
    *body = (py_stmt **)l.items;
    *n = l.n;
    return true;
}

static const char *parse_dotted(parser *P)
{
    char buf[256];
    size_t n = 0;
    for (;;) {
        if (P->tok.kind != PT_NAME) {
            py_perr(P, P->tok.line, P->tok.col, "expected a module name");
            return NULL;
        }
        size_t k = strlen(P->tok.text);
        if (n + k + 2 > sizeof buf) {
            py_perr(P, P->tok.line, P->tok.col, "module name too long");
            return NULL;
        }
        memcpy(buf + n, P->tok.text, k);
        n += k;
        if (!py_advance(P))
            return NULL;
        if (!py_is_op(&P->tok, "."))
            break;
        buf[n++] = '.';
        if (!py_advance(P))
            return NULL;
    }
    return sf_arena_strndup(P->arena, buf, n);
}

static bool parse_import(parser *P, py_stmt *s)
{
    plist names = {0}, aliases = {0};
    bool from = s->kind == PS_FROM;
    if (!py_advance(P))
        return false;
    if (from) {
        if (!(s->name = parse_dotted(P)))
            return false;
        if (!py_is_kw(&P->tok, "import"))
            return py_perr(P, P->tok.line, P->tok.col, "expected 'import'");
        if (!py_advance(P))
            return false;
        if (py_is_op(&P->tok, "*"))
            return py_perr(P, P->tok.line, P->tok.col, "'from %s import *' is not supported: import names explicitly",
                        s->name);
    }
    bool paren = from && py_is_op(&P->tok, "(");
    if (paren && !py_advance(P))
        return false;
    for (;;) {
        const char *name = from ? P->tok.text : parse_dotted(P), *alias = NULL;
        if (from) {
            if (P->tok.kind != PT_NAME)
                return py_perr(P, P->tok.line, P->tok.col, "expected a name to import");
            if (!py_advance(P))
                return false;
        }
        if (!name)
            return false;
        if (py_is_kw(&P->tok, "as")) {
            if (!py_advance(P) || P->tok.kind != PT_NAME)
                return py_perr(P, P->tok.line, P->tok.col, "expected a name after 'as'");
            alias = P->tok.text;
            if (!py_advance(P))
                return false;
        }
        if (!py_plist_push(P, &names, (void *)name) || !py_plist_push(P, &aliases, (void *)alias))
            return false;
        if (!py_is_op(&P->tok, ","))
            break;
        if (!py_advance(P))
            return false;
        if (paren && py_is_op(&P->tok, ")"))
            break;
    }
    if (paren && !py_expect_op(P, ")"))
        return false;
    s->names = (const char **)names.items;
    s->aliases = (const char **)aliases.items;
    s->nnames = names.n;
    return true;
}

static bool valid_target(parser *P, py_expr *e)
{
    switch (e->kind) {
    case PE_NAME: case PE_ATTR: case PE_SUBSCRIPT:
        return true;
    case PE_TUPLE: case PE_LIST:
        for (int i = 0; i < e->n; i++)
            if (!valid_target(P, e->items[i]))
                return false;
        return true;
    case PE_STARRED:
        return py_perr(P, e->line, e->col, "starred assignment targets are not supported");
    default:
        return py_perr(P, e->line, e->col, "cannot assign to this expression");
    }
}

static bool parse_small(parser *P, plist *out)
{
    py_token t = P->tok;
    py_stmt *s = NULL;
    static const struct { const char *kw, *why; } refused[] = {
        {"global", "'global' is not supported: models keep their state in module attributes"},
        {"nonlocal", "'nonlocal' is not supported"},
        {"del", "'del' is not supported"},
        {"yield", "'yield' is not supported: forward is traced once at compile time"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (py_is_kw(&t, refused[i].kw))
            return py_perr(P, t.line, t.col, "%s", refused[i].why);
    if (py_is_kw(&t, "pass") || py_is_kw(&t, "break") || py_is_kw(&t, "continue")) {
        s = new_stmt(P, t.text[0] == 'p' ? PS_PASS : t.text[0] == 'b' ? PS_BREAK : PS_CONTINUE, t.line, t.col);
        if (!s || !py_advance(P))
            return false;
    } else if (py_is_kw(&t, "return")) {
        if (!(s = new_stmt(P, PS_RETURN, t.line, t.col)) || !py_advance(P))
            return false;
        if (P->tok.kind != PT_NEWLINE && P->tok.kind != PT_EOF && !py_is_op(&P->tok, ";") &&
            !(s->value = py_parse_testlist(P)))
            return false;
    } else if (py_is_kw(&t, "import") || py_is_kw(&t, "from")) {
        if (!(s = new_stmt(P, t.text[0] == 'i' ? PS_IMPORT : PS_FROM, t.line, t.col)) || !parse_import(P, s))
            return false;
    } else if (py_is_kw(&t, "assert") || py_is_kw(&t, "raise")) {
        if (!(s = new_stmt(P, t.text[0] == 'a' ? PS_ASSERT : PS_RAISE, t.line, t.col)) || !py_advance(P))
            return false;
        if (P->tok.kind != PT_NEWLINE && P->tok.kind != PT_EOF && !(s->value = py_parse_test(P)))
            return false;
        if (s->kind == PS_ASSERT && !s->value)
            return py_perr(P, t.line, t.col, "assert needs a condition");
        if (s->kind == PS_ASSERT && py_is_op(&P->tok, ",") && (!py_advance(P) || !(s->msg = py_parse_test(P))))
            return false;
        if (s->kind == PS_RAISE && py_is_kw(&P->tok, "from") && (!py_advance(P) || !py_parse_test(P)))
            return false;
    } else {
        py_expr *e = py_parse_testlist(P);
        if (!e)
            return false;
        static const struct { const char *op; py_binop b; } aug[] = {
            {"+=", PB_ADD}, {"-=", PB_SUB}, {"*=", PB_MUL}, {"/=", PB_DIV}, {"//=", PB_FLOORDIV},
            {"%=", PB_MOD}, {"**=", PB_POW}, {"@=", PB_MATMUL}};
        for (size_t i = 0; i < sizeof aug / sizeof aug[0]; i++)
            if (py_is_op(&P->tok, aug[i].op)) {
                if (!(s = new_stmt(P, PS_AUGASSIGN, t.line, t.col)) || !py_advance(P))
                    return false;
                if (e->kind != PE_NAME && e->kind != PE_ATTR && e->kind != PE_SUBSCRIPT)
                    return py_perr(P, e->line, e->col, "augmented assignment needs a name, attribute or subscript");
                s->target = e;
                s->op = aug[i].b;
                if (!(s->value = py_parse_testlist(P)))
                    return false;
                return py_plist_push(P, out, s) && end_simple(P);
            }
        if (py_is_op(&P->tok, ":")) { /* annotated: x: int = 3 */
            py_expr *ann;
            if (!py_advance(P) || !(ann = py_parse_test(P)))
                return false;
            (void)ann;
            if (!py_is_op(&P->tok, "="))
                return end_simple(P); /* a bare annotation does nothing */
        }
        if (py_is_op(&P->tok, "=")) {
            plist targets = {0};
            if (!(s = new_stmt(P, PS_ASSIGN, t.line, t.col)))
                return false;
            while (py_is_op(&P->tok, "=")) {
                if (!valid_target(P, e) || !py_plist_push(P, &targets, e) || !py_advance(P) || !(e = py_parse_testlist(P)))
                    return false;
            }
            s->targets = (py_expr **)targets.items;
            s->ntargets = targets.n;
            s->value = e;
        } else {
            if (!(s = new_stmt(P, PS_EXPR, t.line, t.col)))
                return false;
            s->value = e;
        }
    }
    return py_plist_push(P, out, s) && end_simple(P);
}

static bool parse_if(parser *P, plist *out)
{
    py_stmt *s = new_stmt(P, PS_IF, P->tok.line, P->tok.col);
    if (!s || !py_advance(P) || !(s->value = py_parse_test(P)) || !parse_block(P, &s->body, &s->nbody))
        return false;
    if (!py_plist_push(P, out, s))
        return false;
    if (py_is_kw(&P->tok, "elif")) {
        plist chain = {0};
        if (!parse_if(P, &chain))
            return false;
        s->orelse = (py_stmt **)chain.items;
        s->norelse = chain.n;
    } else if (py_is_kw(&P->tok, "else")) {
        if (!py_advance(P) || !parse_block(P, &s->orelse, &s->norelse))
            return false;
    }
    return true;
}

static bool parse_for(parser *P, plist *out)
{
    py_stmt *s = new_stmt(P, PS_FOR, P->tok.line, P->tok.col);
    if (!s || !py_advance(P))
        return false;
    if (!(s->target = py_parse_targets(P)) || !valid_target(P, s->target))
        return false;
    if (!py_is_kw(&P->tok, "in"))
        return py_perr(P, P->tok.line, P->tok.col, "expected 'in' in a for statement");
    if (!py_advance(P) || !(s->value = py_parse_testlist(P)) || !parse_block(P, &s->body, &s->nbody))
        return false;
    if (py_is_kw(&P->tok, "else"))
        return py_perr(P, P->tok.line, P->tok.col, "'for ... else' is not supported");
    return py_plist_push(P, out, s);
}

static bool parse_def(parser *P, plist *out)
{
    py_stmt *s = new_stmt(P, PS_DEF, P->tok.line, P->tok.col);
    if (!s || !py_advance(P))
        return false;
    if (P->tok.kind != PT_NAME)
        return py_perr(P, P->tok.line, P->tok.col, "expected a function name");
    s->name = P->tok.text;
    if (!py_advance(P) || !py_expect_op(P, "("))
        return false;
    plist params = {0};
    bool kwonly = false;
    while (!py_is_op(&P->tok, ")")) {
        if (py_is_op(&P->tok, "**") || (py_is_op(&P->tok, "*") && py_peek(P)->kind == PT_NAME))
            return py_perr(P, P->tok.line, P->tok.col, "*args and **kwargs parameters are not supported");
        if (py_is_op(&P->tok, "*")) { /* bare '*': keyword-only parameters follow */
            kwonly = true;
            if (!py_advance(P) || !py_expect_op(P, ","))
                return false;
            continue;
        }
        if (py_is_op(&P->tok, "/")) {
            if (!py_advance(P))
                return false;
            if (py_is_op(&P->tok, ",") && !py_advance(P))
                return false;
            continue;
        }
        if (P->tok.kind != PT_NAME || py_is_reserved(P->tok.text))
            return py_perr(P, P->tok.line, P->tok.col, "expected a parameter name");
        py_arg *p = py_alloc(P, sizeof *p);
        if (!p)
            return false;
        p->name = P->tok.text;
        for (int i = 0; i < params.n; i++)
            if (strcmp(((py_arg *)params.items[i])->name, p->name) == 0)
                return py_perr(P, P->tok.line, P->tok.col, "duplicate parameter '%s'", p->name);
        if (!py_advance(P))
            return false;
        if (py_is_op(&P->tok, ":") && (!py_advance(P) || !py_parse_test(P))) /* annotation, ignored */
            return false;
        if (py_is_op(&P->tok, "=") && (!py_advance(P) || !(p->def = py_parse_test(P))))
            return false;
        if (!p->def && params.n && ((py_arg *)params.items[params.n - 1])->def && !kwonly)
            return py_perr(P, P->tok.line, P->tok.col, "parameter without a default follows one with a default");
        if (!py_plist_push(P, &params, p))
            return false;
        if (py_is_op(&P->tok, ",")) {
            if (!py_advance(P))
                return false;
        } else if (!py_is_op(&P->tok, ")")) {
            return py_perr(P, P->tok.line, P->tok.col, "expected ',' or ')' in the parameter list");
        }
    }
    if (!py_advance(P))
        return false;
    if (py_is_op(&P->tok, "->") && (!py_advance(P) || !py_parse_test(P)))
        return false;
    s->params = py_alloc(P, sizeof *s->params * (size_t)(params.n ? params.n : 1));
    if (!s->params)
        return false;
    for (int i = 0; i < params.n; i++)
        s->params[i] = *(py_arg *)params.items[i];
    s->nparams = params.n;
    return parse_block(P, &s->body, &s->nbody) && py_plist_push(P, out, s);
}

static bool parse_class(parser *P, plist *out)
{
    py_stmt *s = new_stmt(P, PS_CLASS, P->tok.line, P->tok.col);
    if (!s || !py_advance(P))
        return false;
    if (P->tok.kind != PT_NAME)
        return py_perr(P, P->tok.line, P->tok.col, "expected a class name");
    s->name = P->tok.text;
    if (!py_advance(P))
        return false;
    plist bases = {0};
    if (py_is_op(&P->tok, "(")) {
        if (!py_advance(P))
            return false;
        while (!py_is_op(&P->tok, ")")) {
            if (P->tok.kind == PT_NAME && py_is_op(py_peek(P), "="))
                return py_perr(P, P->tok.line, P->tok.col, "class keywords (metaclass=...) are not supported");
            py_expr *b = py_parse_test(P);
            if (!b || !py_plist_push(P, &bases, b))
                return false;
            if (py_is_op(&P->tok, ",") && !py_advance(P))
                return false;
            else if (!py_is_op(&P->tok, ",") && !py_is_op(&P->tok, ")"))
                return py_perr(P, P->tok.line, P->tok.col, "expected ',' or ')' after a base class");
        }
        if (!py_advance(P))
            return false;
    }
    s->bases = (py_expr **)bases.items;
    s->nbases = bases.n;
    return parse_block(P, &s->body, &s->nbody) && py_plist_push(P, out, s);
}

static bool parse_stmt(parser *P, plist *out)
{
    py_token t = P->tok;
    if (t.kind == PT_INDENT)
        return py_perr(P, t.line, t.col, "unexpected indent");
    if (t.kind == PT_NAME) {
        if (strcmp(t.text, "if") == 0)
            return parse_if(P, out);
        if (strcmp(t.text, "for") == 0)
            return parse_for(P, out);
        if (strcmp(t.text, "def") == 0)
            return parse_def(P, out);
        if (strcmp(t.text, "class") == 0)
            return parse_class(P, out);
        static const struct { const char *kw, *why; } refused[] = {
            {"while", "'while' loops are not supported: forward is unrolled at compile time; "
                      "use a for loop over range() or a container"},
            {"try", "'try' is not supported: errors are reported at compile time"},
            {"with", "'with' blocks are not supported"},
            {"async", "'async' is not supported"},
            {"match", NULL},
        };
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            if (refused[i].why && strcmp(t.text, refused[i].kw) == 0)
                return py_perr(P, t.line, t.col, "%s", refused[i].why);
        if (strcmp(t.text, "elif") == 0 || strcmp(t.text, "else") == 0)
            return py_perr(P, t.line, t.col, "'%s' without a matching 'if'", t.text);
    }
    if (py_is_op(&t, "@"))
        return py_perr(P, t.line, t.col, "decorators are not supported");
    plist line = {0};
    if (!parse_small(P, &line))
        return false;
    while (py_is_op(&P->tok, ";")) {
        if (!py_advance(P))
            return false;
        if (P->tok.kind == PT_NEWLINE || P->tok.kind == PT_EOF) {
            if (P->tok.kind == PT_NEWLINE && !py_advance(P))
                return false;
            break;
        }
        if (!parse_small(P, &line))
            return false;
    }
    for (int i = 0; i < line.n; i++)
        if (!py_plist_push(P, out, line.items[i]))
            return false;
    return true;
}

static void init_parser(parser *P, const char *src, size_t len, const char *file, sf_arena *arena, sf_error *err)
{
    memset(P, 0, sizeof *P);
    P->arena = arena;
    P->err = err;
    P->file = file;
    py_lex_init(&P->lex, src, len, file, arena, err);
}

py_module_ast *py_parse_file(const char *src, size_t len, const char *file, sf_arena *arena, sf_error *err)
{
    parser P;
    init_parser(&P, src, len, file, arena, err);
    py_module_ast *m = sf_arena_alloc(arena, sizeof *m);
    if (!m) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->file = file;
    plist body = {0};
    if (!py_advance(&P))
        return NULL;
    while (P.tok.kind != PT_EOF) {
        if (P.tok.kind == PT_NEWLINE) {
            if (!py_advance(&P))
                return NULL;
            continue;
        }
        if (!parse_stmt(&P, &body))
            return NULL;
    }
    m->body = (py_stmt **)body.items;
    m->nbody = body.n;
    return m;
}

py_expr *py_parse_expr(const char *src, size_t len, const char *what, sf_arena *arena, sf_error *err)
{
    parser P;
    init_parser(&P, src, len, what, arena, err);
    py_expr *e = py_advance(&P) ? py_parse_test(&P) : NULL;
    if (!e)
        return NULL;
    if (P.tok.kind != PT_NEWLINE && P.tok.kind != PT_EOF) {
        char b[64];
        py_perr(&P, P.tok.line, P.tok.col, "unexpected %s after the expression", py_tok_desc(&P.tok, b, sizeof b));
        return NULL;
    }
    return e;
}
