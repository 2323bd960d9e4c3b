#include "frontend/py_lex.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void py_lex_init(py_lexer *L, const char *src, size_t len, const char *file, sf_arena *arena, sf_error *err)
{
    memset(L, 0, sizeof *L);
    L->src = L->p = L->line_start = src;
    L->end = src + len;
    L->file = file;
    L->line = 1;
    L->nindent = 1;
    L->at_line_start = true;
    L->arena = arena;
    L->err = err;
}

static bool lex_error(py_lexer *L, int line, int col, const char *fmt, ...) SF_PRINTF(4, 5);
static bool lex_error(py_lexer *L, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sf_fail_atv(L->err, SF_ERR_PARSE, L->file, line, col, fmt, ap);
    va_end(ap);
    L->failed = true;
    return false;
}

static int col_of(const py_lexer *L, const char *p) { return (int)(p - L->line_start) + 1; }

static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

static void newline(py_lexer *L, const char *next)
{
    L->line++;
    L->line_start = next;
}

/* At the start of a logical line: measure indentation, skip blank and
 * comment-only lines, and queue INDENT or DEDENTs. */
static bool handle_indent(py_lexer *L, py_token *t)
{
    for (;;) {
        int width = 0;
        const char *p = L->p;
        while (p < L->end && (*p == ' ' || *p == '\t' || *p == '\f')) {
            width = *p == '\t' ? (width / 8 + 1) * 8 : width + 1;
            p++;
        }
        if (p < L->end && *p == '#')
            while (p < L->end && *p != '\n')
                p++;
        if (p < L->end && (*p == '\n' || *p == '\r')) {
            if (*p == '\r' && p + 1 < L->end && p[1] == '\n')
                p++;
            L->p = p + 1;
            newline(L, L->p);
            continue;
        }
        L->p = p;
        if (p >= L->end)
            return true; /* EOF: dedents come from the EOF path */
        L->at_line_start = false;
        int cur = L->indents[L->nindent - 1];
        if (width > cur) {
            if (L->nindent == (int)(sizeof L->indents / sizeof L->indents[0]))
                return lex_error(L, L->line, 1, "indentation nested too deeply");
            L->indents[L->nindent++] = width;
            t->kind = PT_INDENT;
            t->line = L->line;
            t->col = 1;
            L->pending = 0;
            return true;
        }
        int n = 0;
        while (L->nindent > 1 && width < L->indents[L->nindent - 1]) {
            L->nindent--;
            n++;
        }
        if (width != L->indents[L->nindent - 1])
            return lex_error(L, L->line, col_of(L, p), "unindent does not match any outer indentation level");
        L->pending = -n;
        return true;
    }
}

static bool lex_number(py_lexer *L, py_token *t)
{
    const char *s = L->p;
    char buf[128];
    size_t n = 0;
    bool is_float = false;
    int base = 10;
    if (s[0] == '0' && s + 1 < L->end && strchr("xXoObB", s[1])) {
        base = s[1] == 'x' || s[1] == 'X' ? 16 : s[1] == 'o' || s[1] == 'O' ? 8 : 2;
        s += 2;
    }
    const char *p = s;
    while (p < L->end && n + 1 < sizeof buf) {
        char c = *p;
        if (c == '_') {
            p++;
            continue;
        }
        bool digit = base == 16 ? strchr("0123456789abcdefABCDEF", c) != NULL && c : (c >= '0' && c <= '9');
        if (digit) {
            buf[n++] = c;
        } else if (base == 10 && (c == '.' || c == 'e' || c == 'E')) {
            is_float = true;
            buf[n++] = c;
            if ((c == 'e' || c == 'E') && p + 1 < L->end && (p[1] == '+' || p[1] == '-'))
                buf[n++] = *++p;
        } else {
            break;
        }
        p++;
    }
    buf[n] = '\0';
    if (n + 1 >= sizeof buf)
        return lex_error(L, t->line, t->col, "number literal longer than %d characters", (int)sizeof buf - 2);
    if (p < L->end && (is_name_char(*p)))
        return lex_error(L, t->line, t->col, "malformed number (imaginary and suffixed literals are not supported)");
    char *endp;
    errno = 0;
    if (is_float) {
        t->kind = PT_FLOAT;
        t->fval = strtod(buf, &endp);
    } else {
        t->kind = PT_INT;
        unsigned long long v = strtoull(buf, &endp, base);
        if (v > INT64_MAX)
            errno = ERANGE;
        t->ival = (int64_t)v;
    }
    if (*endp || errno || n == 0)
        return lex_error(L, t->line, t->col, "malformed or out-of-range number");
    L->p = p;
    return true;
}

static int hex1(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool lex_string(py_lexer *L, py_token *t, bool raw, bool fstr)
{
    char q = *L->p;
    bool triple = L->end - L->p >= 3 && L->p[1] == q && L->p[2] == q;
    const char *p = L->p + (triple ? 3 : 1);
    char *buf = sf_arena_alloc(L->arena, (size_t)(L->end - p) + 1);
    size_t n = 0;
    if (!buf)
        return lex_error(L, t->line, t->col, "out of memory");
    for (;;) {
        if (p >= L->end)
            return lex_error(L, t->line, t->col, "unterminated string");
        char c = *p;
        if (c == q && (!triple || (L->end - p >= 3 && p[1] == q && p[2] == q))) {
            p += triple ? 3 : 1;
            break;
        }
        if (c == '\n') {
            if (!triple)
                return lex_error(L, t->line, t->col, "unterminated string");
            buf[n++] = c;
            newline(L, ++p);
            continue;
        }
        if (c == '\\' && p + 1 < L->end) {
            char e = p[1];
            if (raw) {
                buf[n++] = c;
                buf[n++] = e;
                if (e == '\n')
                    newline(L, p + 2);
                p += 2;
                continue;
            }
            p += 2;
            switch (e) {
            case 'n': buf[n++] = '\n'; break;
            case 't': buf[n++] = '\t'; break;
            case 'r': buf[n++] = '\r'; break;
            case '0': buf[n++] = '\0'; break;
            case '\n': newline(L, p); break;
            case 'x':
                if (p + 1 < L->end && hex1(p[0]) >= 0 && hex1(p[1]) >= 0) {
                    buf[n++] = (char)(hex1(p[0]) * 16 + hex1(p[1]));
                    p += 2;
                    break;
                }
                return lex_error(L, t->line, t->col, "bad \\x escape in string");
            default: buf[n++] = e; break;
            }
            continue;
        }
        buf[n++] = c;
        p++;
    }
    buf[n] = '\0';
    /* a NUL inside a name would cut it short in C ("a\x00b" and "a\x00c"
     * would name one module and share its parameters): refused */
    if (strlen(buf) != n)
        return lex_error(L, t->line, t->col, "a NUL character in a string is not supported (module, parameter and "
                                             "tensor names must not contain one)");
    t->kind = PT_STRING;
    t->str = buf;
    t->str_len = n;
    t->fstring = fstr;
    L->p = p;
    return true;
}

static const char *const ops3[] = {"**=", "//=", ">>=", "<<=", "...", NULL};
static const char *const ops2[] = {"**", "//", "==", "!=", "<=", ">=", "->", "+=", "-=", "*=", "/=", "%=",
                                   "&=", "|=", "^=", "<<", ">>", ":=", "@=", NULL};
static const char ops1[] = "+-*/%<>=()[]{},:.;@&|^~";
static const char ops1_text[][2] = {"+", "-", "*", "/", "%", "<", ">", "=", "(", ")", "[", "]",
                                    "{", "}", ",", ":", ".", ";", "@", "&", "|", "^", "~"};

bool py_lex_next(py_lexer *L, py_token *t)
{
    memset(t, 0, sizeof *t);
    if (L->failed)
        return false;
    if (L->pending < 0) {
        L->pending++;
        t->kind = PT_DEDENT;
        t->line = L->line;
        t->col = 1;
        return true;
    }
    if (L->at_line_start && L->depth == 0) {
        if (!handle_indent(L, t))
            return false;
        if (t->kind == PT_INDENT)
            return true;
        if (L->pending < 0)
            return py_lex_next(L, t);
    }
    /* spaces, comments, continuations */
    for (;;) {
        while (L->p < L->end && (*L->p == ' ' || *L->p == '\t' || *L->p == '\f' || *L->p == '\r'))
            L->p++;
        if (L->p < L->end && *L->p == '#')
            while (L->p < L->end && *L->p != '\n')
                L->p++;
        if (L->p + 1 < L->end && L->p[0] == '\\' && (L->p[1] == '\n' || L->p[1] == '\r')) {
            L->p += L->p[1] == '\r' && L->p + 2 < L->end && L->p[2] == '\n' ? 3 : 2;
            newline(L, L->p);
            continue;
        }
        if (L->p < L->end && *L->p == '\n' && L->depth > 0) {
            newline(L, ++L->p);
            continue;
        }
        break;
    }
    t->line = L->line;
    t->col = col_of(L, L->p);
    if (L->p >= L->end) {
        if (!L->at_line_start && L->depth == 0) {
            /* a last line without '\n' still ends with NEWLINE */
            L->at_line_start = true;
            t->kind = PT_NEWLINE;
            return true;
        }
        if (L->depth > 0)
            return lex_error(L, t->line, t->col, "unexpected end of file inside brackets");
        if (L->nindent > 1) {
            L->nindent--;
            t->kind = PT_DEDENT;
            return true;
        }
        t->kind = PT_EOF;
        return true;
    }
    char c = *L->p;
    if (c == '\n') {
        newline(L, ++L->p);
        L->at_line_start = true;
        t->kind = PT_NEWLINE;
        return true;
    }
    if ((c >= '0' && c <= '9') || (c == '.' && L->p + 1 < L->end && L->p[1] >= '0' && L->p[1] <= '9'))
        return lex_number(L, t);
    if (is_name_start(c)) {
        const char *s = L->p;
        while (L->p < L->end && is_name_char(*L->p))
            L->p++;
        size_t n = (size_t)(L->p - s);
        /* string prefixes: r, b, u, f and their pairs */
        if (L->p < L->end && (*L->p == '\'' || *L->p == '"') && n <= 2) {
            bool raw = false, fstr = false, ok = true;
            for (size_t i = 0; i < n; i++) {
                char k = (char)(s[i] | 0x20);
                raw |= k == 'r';
                fstr |= k == 'f';
                ok &= k == 'r' || k == 'b' || k == 'u' || k == 'f';
            }
            if (ok)
                return lex_string(L, t, raw, fstr);
        }
        t->kind = PT_NAME;
        t->text = sf_arena_strndup(L->arena, s, n);
        return t->text ? true : lex_error(L, t->line, t->col, "out of memory");
    }
    if (c == '\'' || c == '"')
        return lex_string(L, t, false, false);
    size_t left = (size_t)(L->end - L->p);
    for (int i = 0; ops3[i]; i++)
        if (left >= 3 && memcmp(L->p, ops3[i], 3) == 0) {
            t->kind = PT_OP;
            t->text = ops3[i];
            L->p += 3;
            return true;
        }
    for (int i = 0; ops2[i]; i++)
        if (left >= 2 && memcmp(L->p, ops2[i], 2) == 0) {
            t->kind = PT_OP;
            t->text = ops2[i];
            L->p += 2;
            return true;
        }
    const char *o = strchr(ops1, c);
    if (o && c) {
        t->kind = PT_OP;
        t->text = ops1_text[o - ops1];
        L->p++;
        if (c == '(' || c == '[' || c == '{')
            L->depth++;
        else if ((c == ')' || c == ']' || c == '}') && L->depth > 0)
            L->depth--;
        return true;
    }
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        return lex_error(L, t->line, t->col, "unexpected byte 0x%02x", (unsigned char)c);
    return lex_error(L, t->line, t->col, "unexpected character '%c'", c);
}
