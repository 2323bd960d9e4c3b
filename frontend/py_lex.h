/* Lexer for the Python subset: tokens with line:col, INDENT/DEDENT from
 * the indentation stack, newlines ignored inside brackets, backslash
 * continuations, all string forms (prefixes, triple quotes). */
#ifndef SF_PY_LEX_H
#define SF_PY_LEX_H

#include "ir/base.h"

typedef enum py_tok {
    PT_EOF, PT_NEWLINE, PT_INDENT, PT_DEDENT, PT_NAME, PT_INT, PT_FLOAT, PT_STRING, PT_OP
} py_tok;

typedef struct py_token {
    py_tok kind;
    int line, col;
    const char *text; /* NAME, OP: the lexeme (NUL-terminated, arena) */
    int64_t ival;
    double fval;
    const char *str;  /* STRING: decoded contents */
    size_t str_len;
    bool fstring;
} py_token;

typedef struct py_lexer {
    const char *src, *p, *end, *line_start;
    const char *file;
    int line;
    int depth;       /* bracket nesting */
    int indents[128];
    int nindent;
    int pending;     /* DEDENTs still to emit (negative) or an INDENT (1) */
    bool at_line_start;
    sf_arena *arena;
    sf_error *err;
    bool failed;
} py_lexer;

void py_lex_init(py_lexer *L, const char *src, size_t len, const char *file, sf_arena *arena, sf_error *err);
/* false on a lexical error (err set with file:line:col). */
bool py_lex_next(py_lexer *L, py_token *t);

#endif
