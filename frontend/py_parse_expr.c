/* Expressions of the Python subset. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_parser.h"

bool py_perr(parser *P, int line, int col, const char *fmt, ...)
{
    if (P->failed)
        return false;
    va_list ap;
    va_start(ap, fmt);
    sf_fail_atv(P->err, SF_ERR_PARSE, P->file, line, col, fmt, ap);
    va_end(ap);
    P->failed = true;
    return false;
}

bool py_advance(parser *P)
{
    if (P->failed)
        return false;
    if (P->has_next) {
        P->tok = P->next;
        P->has_next = false;
        return true;
    }
    if (!py_lex_next(&P->lex, &P->tok)) {
        P->failed = true;
        return false;
    }
    return true;
}

const py_token *py_peek(parser *P)
{
    if (!P->has_next && !P->failed) {
        if (!py_lex_next(&P->lex, &P->next))
            P->failed = true;
        P->has_next = true;
    }
    return &P->next;
}

bool py_is_op(const py_token *t, const char *op) { return t->kind == PT_OP && strcmp(t->text, op) == 0; }
bool py_is_kw(const py_token *t, const char *kw) { return t->kind == PT_NAME && strcmp(t->text, kw) == 0; }

const char *py_tok_desc(const py_token *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case PT_EOF: return "end of file";
    case PT_NEWLINE: return "end of line";
    case PT_INDENT: return "an indent";
    case PT_DEDENT: return "an unindent";
    case PT_INT: case PT_FLOAT: return "a number";
    case PT_STRING: return "a string";
    default: snprintf(buf, cap, "'%.40s'", t->text); return buf;
    }
}

bool py_expect_op(parser *P, const char *op)
{
    if (!py_is_op(&P->tok, op)) {
        char b[64];
        return py_perr(P, P->tok.line, P->tok.col, "expected '%s', found %s", op, py_tok_desc(&P->tok, b, sizeof b));
    }
    return py_advance(P);
}

void *py_alloc(parser *P, size_t n)
{
    void *p = sf_arena_alloc(P->arena, n);
    if (!p)
        py_perr(P, P->tok.line, P->tok.col, "out of memory");
    return p;
}

bool py_plist_push(parser *P, plist *l, void *x)
{
    size_t cap = (size_t)l->cap;
    void **items = sf_arena_grow(P->arena, l->items, (size_t)l->n, &cap, sizeof *items);
    if (!items)
        return py_perr(P, P->tok.line, P->tok.col, "out of memory");
    l->items = items;
    l->cap = (int)cap;
    l->items[l->n++] = x;
    return true;
}

py_expr *py_new_expr(parser *P, py_expr_kind k, int line, int col)
{
    py_expr *e = py_alloc(P, sizeof *e);
    if (e) {
        e->kind = k;
        e->line = line;
        e->col = col;
    }
    return e;
}

static const char *const reserved[] = {"False", "None", "True", "and", "as", "assert", "async", "await", "break",
                                       "class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
                                       "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not",
                                       "or", "pass", "raise", "return", "try", "while", "with", "yield", NULL};

bool py_is_reserved(const char *s)
{
    for (int i = 0; reserved[i]; i++)
        if (strcmp(reserved[i], s) == 0)
            return true;
    return false;
}


static bool enter(parser *P)
{
    if (++P->depth > PY_MAX_DEPTH)
        return py_perr(P, P->tok.line, P->tok.col, "expression nested deeper than %d levels", PY_MAX_DEPTH);
    return true;
}

/* the one expression of a list, or a tuple of them all */
static py_expr *one_or_tuple(parser *P, plist *l, bool tuple, int line, int col)
{
    if (!tuple)
        return l->items[0];
    py_expr *t = py_new_expr(P, PE_TUPLE, line, col);
    if (t) {
        t->items = (py_expr **)l->items;
        t->n = l->n;
    }
    return t;
}

/* `a` or `a, b, ...` after `for`: one expression or a tuple of them */
py_expr *py_parse_targets(parser *P)
{
    int line = P->tok.line, col = P->tok.col;
    plist t = {0};
    do {
        if (t.n && !py_advance(P))
            return NULL;
        py_expr *x = py_parse_arith(P);
        if (!x || !py_plist_push(P, &t, x))
            return NULL;
    } while (py_is_op(&P->tok, ","));
    return one_or_tuple(P, &t, t.n > 1, line, col);
}

/* for t in it [if c]* [for ...]* after the element */
static bool parse_comp_clauses(parser *P, py_expr *e)
{
    plist comps = {0};
    while (py_is_kw(&P->tok, "for")) {
        py_comp *c = py_alloc(P, sizeof *c);
        if (!c || !py_advance(P))
            return false;
        if (!(c->target = py_parse_targets(P)))
            return false;
        if (!py_is_kw(&P->tok, "in"))
            return py_perr(P, P->tok.line, P->tok.col, "expected 'in' in a comprehension");
        if (!py_advance(P) || !(c->iter = py_parse_or(P)))
            return false;
        plist conds = {0};
        while (py_is_kw(&P->tok, "if")) {
            py_expr *cond;
            if (!py_advance(P) || !(cond = py_parse_or(P)) || !py_plist_push(P, &conds, cond))
                return false;
        }
        c->conds = (py_expr **)conds.items;
        c->nconds = conds.n;
        if (!py_plist_push(P, &comps, c))
            return false;
    }
    e->comps = (py_comp *)NULL;
    e->ncomps = comps.n;
    py_comp *arr = py_alloc(P, sizeof *arr * (size_t)(comps.n ? comps.n : 1));
    if (!arr)
        return false;
    for (int i = 0; i < comps.n; i++)
        arr[i] = *(py_comp *)comps.items[i];
    e->comps = arr;
    return true;
}

/* an element of a display or tuple: `*expr` or an expression */
static py_expr *star_or_test(parser *P)
{
    if (!py_is_op(&P->tok, "*"))
        return py_parse_test(P);
    int l = P->tok.line, c = P->tok.col;
    py_expr *x;
    if (!py_advance(P) || !(x = py_new_expr(P, PE_STARRED, l, c)) || !(x->a = py_parse_arith(P)))
        return NULL;
    return x;
}


/* ( ... ) [ ... ]: a tuple/list display or a comprehension */
static py_expr *parse_display(parser *P, bool list)
{
    int line = P->tok.line, col = P->tok.col;
    const char *close = list ? "]" : ")";
    if (!py_advance(P))
        return NULL;
    plist items = {0};
    bool trailing_comma = false;
    while (!py_is_op(&P->tok, close)) {
        py_expr *x = star_or_test(P);
        if (!x)
            return NULL;
        if (py_is_kw(&P->tok, "for") && items.n == 0) {
            py_expr *e = py_new_expr(P, PE_LISTCOMP, line, col);
            if (!e)
                return NULL;
            e->a = x;
            if (!parse_comp_clauses(P, e) || !py_expect_op(P, close))
                return NULL;
            return e;
        }
        if (!py_plist_push(P, &items, x))
            return NULL;
        trailing_comma = false;
        if (py_is_op(&P->tok, ",")) {
            trailing_comma = true;
            if (!py_advance(P))
                return NULL;
        } else if (!py_is_op(&P->tok, close)) {
            char b[64];
            py_perr(P, P->tok.line, P->tok.col, "expected ',' or '%s', found %s", close, py_tok_desc(&P->tok, b, sizeof b));
            return NULL;
        }
    }
    if (!py_advance(P))
        return NULL;
    if (!list && items.n == 1 && !trailing_comma)
        return items.items[0]; /* parenthesised expression */
    py_expr *e = py_new_expr(P, list ? PE_LIST : PE_TUPLE, line, col);
    if (e) {
        e->items = (py_expr **)items.items;
        e->n = items.n;
    }
    return e;
}

static py_expr *parse_dict(parser *P)
{
    py_expr *e = py_new_expr(P, PE_DICT, P->tok.line, P->tok.col);
    if (!e || !py_advance(P))
        return NULL;
    plist keys = {0}, vals = {0};
    while (!py_is_op(&P->tok, "}")) {
        py_expr *k = py_parse_test(P), *v;
        if (!k)
            return NULL;
        if (!py_is_op(&P->tok, ":")) {
            py_perr(P, P->tok.line, P->tok.col, "sets are not supported; expected ':' in a dict display");
            return NULL;
        }
        if (!py_advance(P) || !(v = py_parse_test(P)))
            return NULL;
        if (keys.n == 0 && py_is_kw(&P->tok, "for")) {
            e->kind = PE_DICTCOMP;
            e->a = k;
            e->b = v;
            if (!parse_comp_clauses(P, e) || !py_expect_op(P, "}"))
                return NULL;
            return e;
        }
        if (!py_plist_push(P, &keys, k) || !py_plist_push(P, &vals, v))
            return NULL;
        if (py_is_op(&P->tok, ",")) {
            if (!py_advance(P))
                return NULL;
        } else if (!py_is_op(&P->tok, "}")) {
            py_perr(P, P->tok.line, P->tok.col, "expected ',' or '}' in a dict display");
            return NULL;
        }
    }
    if (!py_advance(P))
        return NULL;
    e->items = (py_expr **)keys.items;
    e->values = (py_expr **)vals.items;
    e->n = keys.n;
    return e;
}

static py_expr *parse_atom(parser *P)
{
    py_token t = P->tok;
    py_expr *e = NULL;
    char b[64];
    switch (t.kind) {
    case PT_INT:
        if ((e = py_new_expr(P, PE_INT, t.line, t.col)))
            e->ival = t.ival;
        return e && py_advance(P) ? e : NULL;
    case PT_FLOAT:
        if ((e = py_new_expr(P, PE_FLOAT, t.line, t.col)))
            e->fval = t.fval;
        return e && py_advance(P) ? e : NULL;
    case PT_STRING: {
        /* adjacent literals concatenate */
        size_t n = 0;
        char *buf = NULL;
        bool fstr = false;
        while (P->tok.kind == PT_STRING) {
            fstr |= P->tok.fstring;
            char *grown = py_alloc(P, n + P->tok.str_len + 1);
            if (!grown)
                return NULL;
            if (n)
                memcpy(grown, buf, n);
            memcpy(grown + n, P->tok.str, P->tok.str_len + 1);
            buf = grown;
            n += P->tok.str_len;
            if (!py_advance(P))
                return NULL;
        }
        if ((e = py_new_expr(P, PE_STR, t.line, t.col))) {
            e->name = buf;
            e->len = n;
            e->fstring = fstr;
        }
        return e;
    }
    case PT_NAME:
        if (strcmp(t.text, "True") == 0 || strcmp(t.text, "False") == 0 || strcmp(t.text, "None") == 0) {
            e = py_new_expr(P, t.text[0] == 'T' ? PE_TRUE : t.text[0] == 'F' ? PE_FALSE : PE_NONE, t.line, t.col);
            return e && py_advance(P) ? e : NULL;
        }
        if (strcmp(t.text, "lambda") == 0) {
            py_perr(P, t.line, t.col, "'lambda' is not supported: define a method or a module instead");
            return NULL;
        }
        if (strcmp(t.text, "yield") == 0 || strcmp(t.text, "await") == 0) {
            py_perr(P, t.line, t.col, "'%s' is not supported: forward is traced once at compile time", t.text);
            return NULL;
        }
        if (py_is_reserved(t.text)) {
            py_perr(P, t.line, t.col, "unexpected keyword '%s'", t.text);
            return NULL;
        }
        if ((e = py_new_expr(P, PE_NAME, t.line, t.col)))
            e->name = t.text;
        return e && py_advance(P) ? e : NULL;
    case PT_OP:
        if (py_is_op(&t, "("))
            return parse_display(P, false);
        if (py_is_op(&t, "["))
            return parse_display(P, true);
        if (py_is_op(&t, "{"))
            return parse_dict(P);
        if (py_is_op(&t, "...")) {
            e = py_new_expr(P, PE_ELLIPSIS, t.line, t.col);
            return e && py_advance(P) ? e : NULL;
        }
        /* fallthrough */
    default:
        py_perr(P, t.line, t.col, "expected an expression, found %s", py_tok_desc(&t, b, sizeof b));
        return NULL;
    }
}

/* a call located where the callee expression starts: self.layers[2](x) at
 * 's', (line, col) (passed in: walking back down a long chain per call
 * made chained calls quadratic) */
static py_expr *parse_call(parser *P, py_expr *fn, int line, int col)
{
    py_expr *e = py_new_expr(P, PE_CALL, line, col);
    if (!e || !py_advance(P))
        return NULL;
    e->a = fn;
    plist args = {0}, kwn = {0}, kwv = {0};
    while (!py_is_op(&P->tok, ")")) {
        py_expr *x;
        if (py_is_op(&P->tok, "*") || py_is_op(&P->tok, "**")) {
            bool two = P->tok.text[1] == '*';
            int l = P->tok.line, c = P->tok.col;
            if (!py_advance(P) || !(x = py_new_expr(P, two ? PE_DSTARRED : PE_STARRED, l, c)) || !(x->a = py_parse_test(P)))
                return NULL;
            if (!(two ? py_plist_push(P, &kwn, NULL) && py_plist_push(P, &kwv, x) : py_plist_push(P, &args, x)))
                return NULL;
        } else if (P->tok.kind == PT_NAME && py_is_op(py_peek(P), "=")) {
            const char *name = P->tok.text;
            if (!py_advance(P) || !py_advance(P) || !(x = py_parse_test(P)))
                return NULL;
            for (int i = 0; i < kwn.n; i++)
                if (kwn.items[i] && strcmp(kwn.items[i], name) == 0) {
                    py_perr(P, x->line, x->col, "keyword argument '%s' repeated", name);
                    return NULL;
                }
            if (!py_plist_push(P, &kwn, (void *)name) || !py_plist_push(P, &kwv, x))
                return NULL;
        } else {
            if (!(x = py_parse_test(P)))
                return NULL;
            if (py_is_kw(&P->tok, "for")) { /* f(x for x in xs): a generator argument */
                py_expr *g = py_new_expr(P, PE_LISTCOMP, x->line, x->col);
                if (!g)
                    return NULL;
                g->a = x;
                if (!parse_comp_clauses(P, g))
                    return NULL;
                x = g;
            }
            if (kwn.n) {
                py_perr(P, x->line, x->col, "positional argument after a keyword argument");
                return NULL;
            }
            if (!py_plist_push(P, &args, x))
                return NULL;
        }
        if (py_is_op(&P->tok, ",")) {
            if (!py_advance(P))
                return NULL;
        } else if (!py_is_op(&P->tok, ")")) {
            char b[64];
            py_perr(P, P->tok.line, P->tok.col, "expected ',' or ')' in a call, found %s", py_tok_desc(&P->tok, b, sizeof b));
            return NULL;
        }
    }
    if (!py_advance(P))
        return NULL;
    e->items = (py_expr **)args.items;
    e->n = args.n;
    e->kwnames = (const char **)kwn.items;
    e->values = (py_expr **)kwv.items;
    e->nkw = kwn.n;
    return e;
}

/* one subscript entry: test or [lo]:[hi][:[step]] */
static py_expr *parse_subscript_entry(parser *P)
{
    int line = P->tok.line, col = P->tok.col;
    py_expr *lo = NULL;
    if (!py_is_op(&P->tok, ":") && !(lo = py_parse_test(P)))
        return NULL;
    if (!py_is_op(&P->tok, ":"))
        return lo;
    py_expr *s = py_new_expr(P, PE_SLICE, line, col);
    if (!s || !py_advance(P))
        return NULL;
    s->a = lo;
    if (!py_is_op(&P->tok, ":") && !py_is_op(&P->tok, "]") && !py_is_op(&P->tok, ",") && !(s->b = py_parse_test(P)))
        return NULL;
    if (py_is_op(&P->tok, ":")) {
        if (!py_advance(P))
            return NULL;
        if (!py_is_op(&P->tok, "]") && !py_is_op(&P->tok, ",") && !(s->c = py_parse_test(P)))
            return NULL;
    }
    return s;
}

static py_expr *parse_subscript(parser *P, py_expr *obj)
{
    py_expr *e = py_new_expr(P, PE_SUBSCRIPT, P->tok.line, P->tok.col);
    if (!e || !py_advance(P))
        return NULL;
    e->a = obj;
    plist idx = {0};
    bool comma = false;
    while (!py_is_op(&P->tok, "]")) {
        py_expr *x = parse_subscript_entry(P);
        if (!x || !py_plist_push(P, &idx, x))
            return NULL;
        if (py_is_op(&P->tok, ",")) {
            comma = true;
            if (!py_advance(P))
                return NULL;
        } else if (!py_is_op(&P->tok, "]")) {
            py_perr(P, P->tok.line, P->tok.col, "expected ',' or ']' in a subscript");
            return NULL;
        }
    }
    if (idx.n == 0) {
        py_perr(P, e->line, e->col, "empty subscript");
        return NULL;
    }
    if (!py_advance(P))
        return NULL;
    if (idx.n == 1 && !comma) {
        e->b = idx.items[0];
    } else {
        py_expr *t = py_new_expr(P, PE_TUPLE, e->line, e->col);
        if (!t)
            return NULL;
        t->items = (py_expr **)idx.items;
        t->n = idx.n;
        e->b = t;
    }
    return e;
}

static py_expr *parse_postfix(parser *P)
{
    py_expr *e = parse_atom(P);
    int line = e ? e->line : 0, col = e ? e->col : 0;
    while (e) {
        if (py_is_op(&P->tok, "(")) {
            e = parse_call(P, e, line, col);
        } else if (py_is_op(&P->tok, "[")) {
            e = parse_subscript(P, e);
        } else if (py_is_op(&P->tok, ".")) {
            if (!py_advance(P))
                return NULL;
            if (P->tok.kind != PT_NAME) {
                py_perr(P, P->tok.line, P->tok.col, "expected an attribute name after '.'");
                return NULL;
            }
            py_expr *a = py_new_expr(P, PE_ATTR, P->tok.line, P->tok.col);
            if (!a)
                return NULL;
            a->a = e;
            a->name = P->tok.text;
            e = py_advance(P) ? a : NULL;
        } else {
            break;
        }
    }
    return e;
}

static py_expr *binop(parser *P, py_binop op, py_expr *a, py_expr *b, int line, int col)
{
    py_expr *e = py_new_expr(P, PE_BINOP, line, col);
    if (e) {
        e->op = op;
        e->a = a;
        e->b = b;
    }
    return e;
}

static py_expr *parse_factor(parser *P);

static py_expr *parse_power(parser *P)
{
    py_expr *base = parse_postfix(P);
    if (base && py_is_op(&P->tok, "**")) {
        int line = P->tok.line, col = P->tok.col;
        py_expr *exp;
        if (!py_advance(P) || !(exp = parse_factor(P)))
            return NULL;
        return binop(P, PB_POW, base, exp, line, col);
    }
    return base;
}

static py_expr *parse_factor(parser *P)
{
    if (!enter(P))
        return NULL;
    py_expr *r;
    if (py_is_op(&P->tok, "-") || py_is_op(&P->tok, "+")) {
        py_expr *e = py_new_expr(P, PE_UNARY, P->tok.line, P->tok.col);
        if (!e)
            return NULL;
        e->op = P->tok.text[0] == '-' ? PB_NEG : PB_POS;
        r = py_advance(P) && (e->a = parse_factor(P)) ? e : NULL;
    } else if (py_is_op(&P->tok, "~")) {
        py_expr *e = py_new_expr(P, PE_UNARY, P->tok.line, P->tok.col);
        if (!e)
            return NULL;
        e->op = PB_INVERT;
        r = py_advance(P) && (e->a = parse_factor(P)) ? e : NULL;
    } else {
        r = parse_power(P);
    }
    P->depth--;
    return r;
}

static py_expr *parse_term(parser *P)
{
    static const struct { const char *op; py_binop b; } ops[] = {
        {"*", PB_MUL}, {"/", PB_DIV}, {"//", PB_FLOORDIV}, {"%", PB_MOD}, {"@", PB_MATMUL}};
    py_expr *e = parse_factor(P);
    for (;;) {
        int k = -1;
        for (int i = 0; i < 5; i++)
            if (e && py_is_op(&P->tok, ops[i].op))
                k = i;
        if (k < 0)
            return e;
        int line = P->tok.line, col = P->tok.col;
        py_expr *r;
        if (!py_advance(P) || !(r = parse_factor(P)))
            return NULL;
        e = binop(P, ops[k].b, e, r, line, col);
    }
}

static py_expr *parse_sum(parser *P)
{
    py_expr *e = parse_term(P);
    while (e && (py_is_op(&P->tok, "+") || py_is_op(&P->tok, "-"))) {
        py_binop op = P->tok.text[0] == '+' ? PB_ADD : PB_SUB;
        int line = P->tok.line, col = P->tok.col;
        py_expr *r;
        if (!py_advance(P) || !(r = parse_term(P)))
            return NULL;
        e = binop(P, op, e, r, line, col);
    }
    if (e && (py_is_op(&P->tok, "<<") || py_is_op(&P->tok, ">>"))) {
        py_perr(P, P->tok.line, P->tok.col, "shift operator '%s' is not supported", P->tok.text);
        return NULL;
    }
    return e;
}

/* & binds tighter than ^, ^ than |, all three looser than + and - (Python's order) */
static py_expr *parse_bitwise(parser *P, int level)
{
    static const struct { const char *op; py_binop b; } ops[] = {{"|", PB_BITOR}, {"^", PB_BITXOR}, {"&", PB_BITAND}};
    py_expr *e = level == 2 ? parse_sum(P) : parse_bitwise(P, level + 1);
    while (e && py_is_op(&P->tok, ops[level].op)) {
        int line = P->tok.line, col = P->tok.col;
        py_expr *r;
        if (!py_advance(P) || !(r = level == 2 ? parse_sum(P) : parse_bitwise(P, level + 1)))
            return NULL;
        e = binop(P, ops[level].b, e, r, line, col);
    }
    return e;
}

py_expr *py_parse_arith(parser *P) { return parse_bitwise(P, 0); }

static bool comp_op(parser *P, py_binop *op)
{
    static const struct { const char *t; py_binop b; } ops[] = {
        {"==", PB_EQ}, {"!=", PB_NE}, {"<", PB_LT}, {"<=", PB_LE}, {">", PB_GT}, {">=", PB_GE}};
    for (int i = 0; i < 6; i++)
        if (py_is_op(&P->tok, ops[i].t)) {
            *op = ops[i].b;
            return py_advance(P);
        }
    if (py_is_kw(&P->tok, "in")) {
        *op = PB_IN;
        return py_advance(P);
    }
    if (py_is_kw(&P->tok, "not") && py_is_kw(py_peek(P), "in")) {
        *op = PB_NOTIN;
        return py_advance(P) && py_advance(P);
    }
    if (py_is_kw(&P->tok, "is")) {
        if (!py_advance(P))
            return false;
        *op = PB_IS;
        if (py_is_kw(&P->tok, "not")) {
            *op = PB_ISNOT;
            return py_advance(P);
        }
        return true;
    }
    return false;
}

static py_expr *parse_comparison(parser *P)
{
    py_expr *first = py_parse_arith(P);
    if (!first)
        return NULL;
    plist items = {0};
    py_binop ops[64];
    int nops = 0, line = P->tok.line, col = P->tok.col;
    py_binop op;
    while (!P->failed && comp_op(P, &op)) {
        if (nops == 64) {
            py_perr(P, line, col, "comparison chain too long");
            return NULL;
        }
        if (items.n == 0 && !py_plist_push(P, &items, first))
            return NULL;
        py_expr *r = py_parse_arith(P);
        if (!r || !py_plist_push(P, &items, r))
            return NULL;
        ops[nops++] = op;
    }
    if (P->failed)
        return NULL;
    if (nops == 0)
        return first;
    py_expr *e = py_new_expr(P, PE_COMPARE, first->line, first->col);
    py_binop *o = py_alloc(P, sizeof *o * (size_t)nops);
    if (!e || !o)
        return NULL;
    memcpy(o, ops, sizeof *o * (size_t)nops);
    e->items = (py_expr **)items.items;
    e->n = items.n;
    e->ops = o;
    return e;
}

static py_expr *parse_not(parser *P)
{
    if (!py_is_kw(&P->tok, "not"))
        return parse_comparison(P);
    if (!enter(P))
        return NULL;
    py_expr *e = py_new_expr(P, PE_NOT, P->tok.line, P->tok.col);
    py_expr *r = e && py_advance(P) && (e->a = parse_not(P)) ? e : NULL;
    P->depth--;
    return r;
}

/* left-associative chains of one boolean keyword */
static py_expr *parse_boolop(parser *P, py_expr_kind kind, const char *word, py_expr *(*operand)(parser *))
{
    py_expr *e = operand(P);
    while (e && py_is_kw(&P->tok, word)) {
        py_expr *x = py_new_expr(P, kind, P->tok.line, P->tok.col);
        if (!x || !py_advance(P) || !(x->b = operand(P)))
            return NULL;
        x->a = e;
        e = x;
    }
    return e;
}

static py_expr *parse_and(parser *P) { return parse_boolop(P, PE_AND, "and", parse_not); }

py_expr *py_parse_or(parser *P) { return parse_boolop(P, PE_OR, "or", parse_and); }

py_expr *py_parse_test(parser *P)
{
    if (!enter(P))
        return NULL;
    py_expr *e = py_parse_or(P);
    if (e && py_is_kw(&P->tok, "if")) {
        py_expr *x = py_new_expr(P, PE_IFEXP, P->tok.line, P->tok.col);
        if (!x || !py_advance(P) || !(x->b = py_parse_or(P)))
            e = NULL;
        else if (!py_is_kw(&P->tok, "else"))
            e = (py_perr(P, P->tok.line, P->tok.col, "expected 'else' in a conditional expression"), NULL);
        else if (!py_advance(P) || !(x->c = py_parse_test(P)))
            e = NULL;
        else {
            x->a = e;
            e = x;
        }
    }
    P->depth--;
    return e;
}

/* a, b, c (a tuple when there is a comma), with optional *starred items */
py_expr *py_parse_testlist(parser *P)
{
    int line = P->tok.line, col = P->tok.col;
    plist items = {0};
    bool comma = false;
    for (;;) {
        py_expr *x = star_or_test(P);
        if (!x)
            return NULL;
        if (!py_plist_push(P, &items, x))
            return NULL;
        if (!py_is_op(&P->tok, ","))
            break;
        comma = true;
        if (!py_advance(P))
            return NULL;
        if (P->tok.kind == PT_NEWLINE || py_is_op(&P->tok, "=") || py_is_op(&P->tok, ")") || py_is_op(&P->tok, ";"))
            break;
    }
    return one_or_tuple(P, &items, comma, line, col);
}

