/*
 * The compile-time Python evaluator: values, modules, the interpreter state.
 * __init__ runs here with plain Python values; forward runs here too, with
 * tensors that are IR values, so loops unroll and calls inline.
 *
 * Files: py_eval.c (statements, expressions, calls), py_object.c (values,
 * objects, attributes), py_builtins.c (builtins, list/dict methods),
 * py_nn.c (torch.nn modules), py_torch.c (torch, F, tensor methods),
 * frontend.c (the entry point).
 */
#ifndef SF_PY_INTERP_H
#define SF_PY_INTERP_H

#include "frontend/frontend.h"
#include "frontend/py_ast.h"

typedef struct pv pv;
/* Calls of functions and containers nested deeper than this are refused:
 * recursion, or a Sequential that contains itself. */
enum { PY_MAX_CALL_DEPTH = 200 };

typedef struct py_interp py_interp;
typedef struct py_object py_object;
typedef struct py_class py_class;

typedef enum pv_kind {
    PV_NONE, PV_BOOL, PV_INT, PV_FLOAT, PV_STR, PV_ELLIPSIS,
    PV_BATCH,      /* x.size(0) of a B dim: usable as a dim, nothing else */
    PV_LIST, PV_TUPLE, PV_DICT, PV_SLICE, PV_RANGE,
    PV_TENSOR,     /* an IR value in forward */
    PV_INIT,       /* a tensor made in __init__ (torch.zeros(...)): shape and fill */
    PV_OBJECT,     /* instance of a user class or an nn module */
    PV_CLASS,      /* user class or nn class */
    PV_FUNC,       /* user function */
    PV_BOUND,      /* user method bound to self */
    PV_BUILTIN,    /* C function, maybe bound to self */
    PV_NAMESPACE,  /* torch, torch.nn, torch.nn.functional, ... */
    PV_SUPER,      /* super(): lookups start after a class */
} pv_kind;

typedef struct pv_list {
    pv **items;
    int64_t n, cap;
    const char *const *fields; /* a named tuple's field names (max(x, dim)'s values, indices), else NULL */
} pv_list;

typedef struct pv_dict {
    pv **keys, **vals;    /* insertion order, as Python's */
    int64_t n, cap;
    int64_t *slots;       /* past a few entries: open addressing, index + 1 (0: empty) */
    int64_t nslots;       /* a power of two, at least twice n */
    bool ordered;         /* made by OrderedDict(): nn.ParameterDict keeps its order, a plain dict's it sorts */
} pv_dict;

/* A tensor in forward. In-place ops rebind v; views and their bases are
 * tracked so that an in-place write PyTorch would share is refused. */
typedef struct py_tensor {
    sf_value *v;
    struct py_tensor *base; /* this tensor is a view of base */
    bool has_views;
    struct py_param *param; /* set for parameter tensors */
} py_tensor;

typedef enum py_init_kind { INIT_ZEROS, INIT_ONES, INIT_FULL, INIT_NORMAL, INIT_UNIFORM, INIT_EMPTY,
                            INIT_KAIMING, INIT_BIAS, INIT_ARANGE, INIT_EYE } py_init_kind;

typedef struct py_init {
    sf_type type;
    py_init_kind kind;
    double fill;    /* FULL; ARANGE's start */
    double step;    /* ARANGE */
    int64_t fan_in; /* KAIMING, BIAS */
    bool parameter; /* wrapped by nn.Parameter */
} py_init;

/* A parameter or buffer of a module: state_dict key, shape, how to
 * initialise it without weights, and its IR value once forward uses it. */
typedef struct py_param {
    const char *name;  /* within the owner: "weight" */
    py_object *owner;
    py_init init;
    bool buffer;
    bool integer;      /* num_batches_tracked: in state_dict, never in the IR */
    const char *key;   /* "models.3.fc1.weight", set after __init__ */
    sf_value *ir;
} py_param;

typedef struct py_func {
    const py_stmt *def;
    const char *qualname; /* Class.method */
    py_class *owner;      /* defining class, for super() */
    pv **defaults;        /* evaluated when the def ran, as Python does */
} py_func;

typedef struct py_builtin {
    const char *name;
    pv *(*fn)(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn, pv **kwv);
} py_builtin;

struct py_class {
    const char *name;
    int nn;             /* NN_* for torch.nn classes, 0 for user classes */
    py_class **bases;
    int nbases;
    pv_dict *dict;      /* methods and class attributes */
    bool is_module;     /* derives from nn.Module */
    const char *foreign;/* derives from a class of a module sheaf does not model */
    const py_stmt *def;
};

typedef struct py_child {
    const char *name;
    py_object *obj;
} py_child;

struct py_object {
    py_class *cls;
    pv_dict *attrs;        /* plain attributes */
    py_child *children;    /* registered submodules, in order */
    int64_t nchildren, capchildren;
    py_param **params;     /* parameters then buffers, in registration order */
    int nparams, capparams;
    const char *path;      /* "models.3", "" for the root; NULL until assigned */
    bool constructing;     /* inside __init__: recursion guard */
    void *cfg;             /* torch.nn module configuration (py_nn.c) */
};

struct pv {
    pv_kind k;
    union {
        bool b;
        int64_t i;
        double f;
        struct { const char *s; size_t n; } s;
        pv_list *list;
        pv_dict *dict;
        struct { pv *lo, *hi, *step; } slice;
        struct { int64_t start, stop, step; } range;
        py_tensor *t;
        py_init *init;
        py_object *obj;
        py_class *cls;
        py_func *fn;
        struct { pv *self; py_func *fn; } bound;
        struct { const py_builtin *b; pv *self; } builtin;
        struct { py_class *after; pv *self; } super;
        int ns;
    } u;
};

enum { NS_TORCH = 1, NS_NN, NS_F, NS_INIT, NS_COLLECTIONS, NS_MATH, NS_TYPING,
       NS_FOREIGN /* + index into py_interp.foreign: a module sheaf does not model */ };

typedef struct py_scope {
    const char **names;
    pv **vals;
    int n, cap;
    struct py_scope *parent; /* comprehensions see the enclosing function's names */
} py_scope;

struct py_interp {
    sf_arena *arena;
    sf_error *err;
    bool failed;
    const char *file;
    sf_map globals;        /* name -> pv* */
    sf_graph *g;           /* the graph forward is traced into */
    int depth;             /* call depth (functions and Sequential), at most PY_MAX_CALL_DEPTH */
    int eval_depth;        /* py_eval's own recursion: chains like x + x + ... + x nest too */
    int64_t max_nodes;     /* the tracing budget (sf_py_options.max_nodes) */
    const char *model_expr; /* --model, for messages */
    const char *source;    /* the model file: where user functions' errors are placed (file is
                              "--model" while the --model expression itself is evaluated) */
    const char *ctx;       /* what runs now, for messages: "models.3 (FullyConnectedNetwork.forward)" */
    py_interp_stats stats;
    size_t stats_nodes;    /* IR nodes emitted */
    sf_vec params;         /* every py_param, creation order */
    sf_vec foreign;        /* names of imported modules sheaf does not model */
    py_class *cur_class;   /* the class whose method runs now, for super() */
    pv *cur_self;
};

/* ---- errors ---- */
pv *py_error(py_interp *I, const py_expr *at, sf_status code, const char *fmt, ...) SF_PRINTF(4, 5);
pv *py_error_at(py_interp *I, int line, int col, sf_status code, const char *fmt, ...) SF_PRINTF(5, 6);

/* ---- values (py_object.c) ---- */
pv *pv_new(py_interp *I, pv_kind k);
pv *pv_none(py_interp *I);
pv *pv_bool(py_interp *I, bool b);
pv *pv_int(py_interp *I, int64_t i);
pv *pv_float(py_interp *I, double f);
pv *pv_str(py_interp *I, const char *s, size_t n);
pv *pv_cstr(py_interp *I, const char *s);
pv *pv_tensor(py_interp *I, sf_value *v);
pv *pv_list_new(py_interp *I, pv_kind k, int64_t cap); /* PV_LIST or PV_TUPLE */
bool pv_list_push(py_interp *I, pv *list, pv *x);
pv *pv_dict_new(py_interp *I);
pv *pv_dict_get(const pv_dict *d, const pv *key);
bool pv_dict_set(py_interp *I, pv_dict *d, pv *key, pv *val);
pv *pv_dict_gets(const pv_dict *d, const char *key);
bool pv_dict_sets(py_interp *I, pv_dict *d, const char *key, pv *val);
pv *pv_builtin(py_interp *I, const py_builtin *b, pv *self);
const char *pv_type_name(const pv *v);
bool pv_equal(const pv *a, const pv *b);
/* A short description for messages: "int 3", "Linear(20, 10)", "tensor f32[B,10]". */
const char *pv_describe(py_interp *I, const pv *v);
/* Python truth; a tensor is an error (control flow must be compile-time). */
bool pv_truth(py_interp *I, const py_expr *at, const pv *v, bool *out);
bool pv_is_number(const pv *v);
double pv_as_double(const pv *v);
/* Materialises any iterable (list, tuple, dict keys, range, str, ModuleList...) as a list. */
pv *pv_iterate(py_interp *I, const py_expr *at, pv *v);

py_object *py_object_new(py_interp *I, py_class *cls);
py_param *py_param_add(py_interp *I, const py_expr *at, py_object *o, const char *name, const py_init *init, bool buffer);
py_param *py_param_find(const py_object *o, const char *name);
bool py_child_add(py_interp *I, py_object *o, const char *name, py_object *child);
bool py_child_append(py_interp *I, py_object *o, const char *name, py_object *child);
py_object *py_child_find(const py_object *o, const char *name);
bool py_class_is(const py_class *c, const py_class *base);
pv *py_class_lookup(const py_class *c, const char *name);
pv *py_getattr(py_interp *I, const py_expr *at, pv *obj, const char *name);
bool py_setattr(py_interp *I, const py_expr *at, pv *obj, const char *name, pv *val);
/* The tensor of a parameter in forward (its IR param, made on first use). */
pv *py_param_tensor(py_interp *I, const py_expr *at, py_param *p);
/* "Linear(in_features=20, out_features=10)" style name of an object. */
const char *py_object_name(const py_object *o);

bool py_slice_bounds(py_interp *I, const py_expr *at, const pv *s, int64_t n, int64_t *start, int64_t *stop,
                     int64_t *step);

/* ---- string formatting (py_format.c) ---- */
bool py_text_of(py_interp *I, const py_expr *at, const pv *v, char *buf, size_t cap);
bool py_format_spec(py_interp *I, const py_expr *at, const pv *v, const char *spec, char *out, size_t cap);
pv *py_format_percent(py_interp *I, const py_expr *at, const pv *fmt, pv *args);
pv *py_format_method(py_interp *I, const py_expr *at, const pv *fmt, int argc, pv **argv, int kwc, const char **kwn,
                     pv **kwv);

/* ---- evaluation (py_eval.c) ---- */
pv *py_eval(py_interp *I, py_scope *sc, const py_expr *e);
pv *py_call(py_interp *I, const py_expr *at, pv *fn, int argc, pv **argv, int kwc, const char **kwn, pv **kwv);
bool py_exec_module(py_interp *I, const py_module_ast *m);

/* Binds call arguments to named slots (positional, then keywords); missing
 * optional ones are NULL. names[] ends with NULL; the first nreq are required. */
bool py_bind(py_interp *I, const py_expr *at, const char *fname, const char *const *names, int nreq, int argc,
             pv **argv, int kwc, const char **kwn, pv **kwv, pv **out);
bool py_as_int(py_interp *I, const py_expr *at, const pv *v, const char *what, int64_t *out);
/* Where Python's insert(i, x) puts x in a sequence of n: negative i counts
 * from the end, and both ends clamp. */
static inline int64_t py_insert_at(int64_t i, int64_t n)
{
    if (i < 0)
        i = i + n < 0 ? 0 : i + n;
    return i > n ? n : i;
}
bool py_as_ints(py_interp *I, const py_expr *at, pv *v, const char *what, int64_t *out, int max, int *n);

/* ---- builtins and namespaces (py_builtins.c, py_nn.c, py_torch.c) ---- */
void py_install_builtins(py_interp *I);
/* The entry of a builtin table named `name`, bound to self; NULL if none. */
pv *py_builtin_find(py_interp *I, const py_builtin *table, size_t n, pv *self, const char *name);
pv *py_namespace_attr(py_interp *I, const py_expr *at, int ns, const char *name);
pv *py_method_of_value(py_interp *I, const py_expr *at, pv *self, const char *name);
pv *py_torch_attr(py_interp *I, const py_expr *at, int ns, const char *name);
pv *py_tensor_method(py_interp *I, const py_expr *at, pv *self, const char *name);
pv *py_tensor_binop(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b);
/* a == b, a < b ... and ~a, a & b, a | b, a ^ b with a or b a tensor (py_mask.c) */
pv *py_tensor_compare(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b);
pv *py_tensor_bitop(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b);
pv *py_tensor_subscript(py_interp *I, const py_expr *at, pv *t, pv *index);
pv *py_tensor_inplace(py_interp *I, const py_expr *at, pv *t, sf_value *result);
sf_value *py_emit(py_interp *I, const py_expr *at, sf_node *n);

py_class *py_nn_class(py_interp *I, const char *name);

/* An expression's value, its errors placed in `what` ("--const", "module tree: ..."); frontend.c. */
pv *py_eval_text(py_interp *I, const char *text, const char *what);

/* ---- a live model's module tree (py_tree.c) ---- */
/* The model the tree describes, its __init__ never run; NULL after an error. */
pv *py_tree_build(py_interp *I, const sf_module_tree *t);
pv *py_nn_construct(py_interp *I, const py_expr *at, py_class *cls, int argc, pv **argv, int kwc, const char **kwn,
                    pv **kwv);
pv *py_nn_call(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn, pv **kwv);
pv *py_nn_attr(py_interp *I, const py_expr *at, py_object *o, const char *name);
pv *py_module_method(py_interp *I, const py_expr *at, pv *self, const char *name);

/* ---- evaluator internals shared by py_eval.c and py_exec.c ---- */
typedef enum { FLOW_NEXT, FLOW_RETURN, FLOW_BREAK, FLOW_CONTINUE, FLOW_ERROR } py_flow;
bool py_scope_set(py_interp *I, py_scope *sc, const char *name, pv *v);
pv *py_binop_values(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b);
bool py_assign(py_interp *I, py_scope *sc, const py_expr *target, pv *v);
py_flow py_exec_block(py_interp *I, py_scope *sc, py_stmt *const *body, int n, pv **ret);

#endif
