/* The AST of the Python subset. Nodes live in the compilation's arena. */
#ifndef SF_PY_AST_H
#define SF_PY_AST_H

#include "ir/base.h"

typedef struct py_expr py_expr;
typedef struct py_stmt py_stmt;

typedef enum py_expr_kind {
    PE_NAME, PE_INT, PE_FLOAT, PE_STR, PE_TRUE, PE_FALSE, PE_NONE, PE_ELLIPSIS,
    PE_ATTR,      /* a.name */
    PE_CALL,      /* f(args, k=v, *xs, **kw) */
    PE_SUBSCRIPT, /* a[index] */
    PE_SLICE,     /* lo:hi:step inside a subscript; parts may be NULL */
    PE_TUPLE, PE_LIST, PE_DICT,
    PE_LISTCOMP,  /* [elt for t in it if c ...] */
    PE_DICTCOMP,  /* {k: v for t in it if c ...}: key in a, value in b */
    PE_BINOP, PE_UNARY, PE_AND, PE_OR, PE_NOT,
    PE_COMPARE,   /* a < b <= c: ops[i] between items[i] and items[i+1] */
    PE_IFEXP,     /* a if cond else b */
    PE_STARRED,   /* *x in a call or a list */
    PE_DSTARRED,  /* **x in a call */
} py_expr_kind;

typedef enum py_binop {
    PB_ADD, PB_SUB, PB_MUL, PB_DIV, PB_FLOORDIV, PB_MOD, PB_POW, PB_MATMUL,
    PB_EQ, PB_NE, PB_LT, PB_LE, PB_GT, PB_GE, PB_IS, PB_ISNOT, PB_IN, PB_NOTIN,
    PB_NEG, PB_POS,
    PB_BITAND, PB_BITOR, PB_BITXOR, PB_INVERT
} py_binop;

typedef struct py_comp {
    py_expr *target, *iter;
    py_expr **conds;
    int nconds;
} py_comp;

struct py_expr {
    py_expr_kind kind;
    int line, col;
    const char *name; /* NAME, ATTR: the name; STR: the text */
    bool fstring;     /* STR: an f-string, formatted when evaluated */
    size_t len;       /* STR */
    int64_t ival;
    double fval;
    py_binop op;
    py_expr *a, *b, *c;   /* operands: ATTR/SUBSCRIPT a; BINOP a,b; IFEXP a (then), b (cond), c (else); SLICE a,b,c */
    py_expr **items;      /* CALL args; TUPLE/LIST items; DICT keys; COMPARE operands */
    py_expr **values;     /* DICT values; CALL keyword values */
    const char **kwnames; /* CALL keyword names (NULL for positional) */
    py_binop *ops;        /* COMPARE */
    int n, nkw;
    py_comp *comps;       /* LISTCOMP */
    int ncomps;
};

typedef enum py_stmt_kind {
    PS_EXPR, PS_ASSIGN, PS_AUGASSIGN, PS_IF, PS_FOR, PS_RETURN, PS_PASS, PS_BREAK, PS_CONTINUE,
    PS_IMPORT, PS_FROM, PS_CLASS, PS_DEF, PS_ASSERT, PS_RAISE
} py_stmt_kind;

typedef struct py_arg {
    const char *name;
    py_expr *def; /* default value or NULL */
} py_arg;

struct py_stmt {
    py_stmt_kind kind;
    int line, col;
    py_expr *target;    /* FOR target; AUGASSIGN target */
    py_expr **targets;  /* ASSIGN: a = b = value */
    int ntargets;
    py_expr *value;     /* ASSIGN/AUGASSIGN/RETURN/EXPR value; IF/ASSERT condition; FOR iter */
    py_expr *msg;       /* ASSERT message */
    py_binop op;        /* AUGASSIGN */
    py_stmt **body, **orelse;
    int nbody, norelse;
    const char *name;   /* CLASS, DEF name; IMPORT/FROM module */
    const char **names, **aliases; /* IMPORT/FROM */
    int nnames;
    py_expr **bases;    /* CLASS */
    int nbases;
    py_arg *params;     /* DEF */
    int nparams;
};

typedef struct py_module_ast {
    const char *file;
    py_stmt **body;
    int nbody;
} py_module_ast;

/* Parses a whole file. */
py_module_ast *py_parse_file(const char *src, size_t len, const char *file, sf_arena *arena, sf_error *err);
/* Parses one expression (for --model and --const). */
py_expr *py_parse_expr(const char *src, size_t len, const char *what, sf_arena *arena, sf_error *err);

#endif
