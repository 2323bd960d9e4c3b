/* Internal to the Python parser: the parser state and helpers shared by
 * the expression half (py_parse_expr.c) and the statement half (py_parse.c). */
#ifndef SF_PY_PARSER_H
#define SF_PY_PARSER_H

#include "frontend/py_ast.h"
#include "frontend/py_lex.h"

enum { PY_MAX_DEPTH = 200 };

typedef struct parser {
    py_lexer lex;
    py_token tok, next;
    bool has_next;
    sf_arena *arena;
    sf_error *err;
    const char *file;
    bool failed;
    int depth;
} parser;

/* Growable arrays of pointers built in the arena. */
typedef struct { void **items; int n, cap; } plist;

bool py_perr(parser *P, int line, int col, const char *fmt, ...) SF_PRINTF(4, 5);
bool py_advance(parser *P);
const py_token *py_peek(parser *P);
bool py_is_op(const py_token *t, const char *op);
bool py_is_kw(const py_token *t, const char *kw);
const char *py_tok_desc(const py_token *t, char *buf, size_t cap);
bool py_expect_op(parser *P, const char *op);
void *py_alloc(parser *P, size_t n);
bool py_plist_push(parser *P, plist *l, void *x);
py_expr *py_new_expr(parser *P, py_expr_kind k, int line, int col);
bool py_is_reserved(const char *s);

py_expr *py_parse_test(parser *P);
py_expr *py_parse_arith(parser *P);
py_expr *py_parse_or(parser *P);
py_expr *py_parse_testlist(parser *P);
py_expr *py_parse_targets(parser *P);

#endif
