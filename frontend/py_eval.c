/* The evaluator: expressions, statements, calls, classes, imports. It runs
 * __init__ with Python values and forward with tensors that are IR values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_interp.h"

enum { MAX_CALL_DEPTH = PY_MAX_CALL_DEPTH };
/* Expressions nest through chains (x + x + ... + x is a left-deep tree,
 * x.relu().relu()... and y[0][0]... too), and py_eval recurses once per
 * level: past this many levels, calls included, the trace is refused
 * instead of running out of stack (CPython refuses near 1000 as well). */
enum { MAX_EVAL_DEPTH = 1000 };


/* ---- scopes ---- */

static pv *scope_get(py_interp *I, py_scope *sc, const char *name)
{
    for (; sc; sc = sc->parent)
        for (int i = sc->n - 1; i >= 0; i--)
            if (strcmp(sc->names[i], name) == 0)
                return sc->vals[i];
    return sf_map_get(&I->globals, name);
}

bool py_scope_set(py_interp *I, py_scope *sc, const char *name, pv *v)
{
    if (!sc)
        return sf_map_put(&I->globals, name, v) || (py_error(I, NULL, SF_ERR_NOMEM, "out of memory"), false);
    for (int i = 0; i < sc->n; i++)
        if (strcmp(sc->names[i], name) == 0) {
            sc->vals[i] = v;
            return true;
        }
    size_t nc = (size_t)sc->cap, vc = nc;
    const char **names = sf_arena_grow(I->arena, sc->names, (size_t)sc->n, &nc, sizeof *names);
    pv **vals = names ? sf_arena_grow(I->arena, sc->vals, (size_t)sc->n, &vc, sizeof *vals) : NULL;
    if (!vals) {
        py_error(I, NULL, SF_ERR_NOMEM, "out of memory");
        return false;
    }
    sc->names = names, sc->vals = vals, sc->cap = (int)nc;
    sc->names[sc->n] = name;
    sc->vals[sc->n++] = v;
    return true;
}

/* ---- argument binding ---- */

bool py_bind(py_interp *I, const py_expr *at, const char *fname, const char *const *names, int nreq, int argc,
             pv **argv, int kwc, const char **kwn, pv **kwv, pv **out)
{
    int n = 0;
    while (names[n])
        n++;
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    if (argc > n) {
        py_error(I, at, SF_ERR_INVALID_ARG, "%s takes at most %d argument(s), got %d", fname, n, argc);
        return false;
    }
    for (int i = 0; i < argc; i++)
        out[i] = argv[i];
    for (int k = 0; k < kwc; k++) {
        int slot = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], kwn[k]) == 0)
                slot = i;
        if (slot < 0) {
            py_error(I, at, SF_ERR_INVALID_ARG, "%s got an unexpected keyword argument '%s'", fname, kwn[k]);
            return false;
        }
        if (out[slot]) {
            py_error(I, at, SF_ERR_INVALID_ARG, "%s got multiple values for argument '%s'", fname, kwn[k]);
            return false;
        }
        out[slot] = kwv[k];
    }
    for (int i = 0; i < nreq; i++)
        if (!out[i]) {
            py_error(I, at, SF_ERR_INVALID_ARG, "%s is missing the argument '%s'", fname, names[i]);
            return false;
        }
    return true;
}

bool py_as_int(py_interp *I, const py_expr *at, const pv *v, const char *what, int64_t *out)
{
    if (v && (v->k == PV_INT || v->k == PV_BOOL)) {
        *out = v->k == PV_INT ? v->u.i : v->u.b;
        return true;
    }
    py_error(I, at, SF_ERR_INVALID_ARG, "%s must be an int, got %s", what, v ? pv_describe(I, v) : "nothing");
    return false;
}

/* An int or a list/tuple of ints (also ints given as separate arguments by the caller). */
bool py_as_ints(py_interp *I, const py_expr *at, pv *v, const char *what, int64_t *out, int max, int *n)
{
    if (v->k == PV_INT || v->k == PV_BOOL || v->k == PV_BATCH) {
        *n = 1;
        out[0] = v->k == PV_BATCH ? SF_DIM_B : v->k == PV_INT ? v->u.i : v->u.b;
        return true;
    }
    if (v->k != PV_LIST && v->k != PV_TUPLE) {
        py_error(I, at, SF_ERR_INVALID_ARG, "%s must be an int or a sequence of ints, got %s", what, pv_describe(I, v));
        return false;
    }
    if (v->u.list->n > max) {
        py_error(I, at, SF_ERR_INVALID_ARG, "%s has %lld entries, at most %d", what, (long long)v->u.list->n, max);
        return false;
    }
    *n = (int)v->u.list->n;
    for (int i = 0; i < *n; i++) {
        pv *x = v->u.list->items[i];
        if (x->k == PV_BATCH)
            out[i] = SF_DIM_B;
        else if (!py_as_int(I, at, x, what, &out[i]))
            return false;
    }
    return true;
}

/* ---- calls ---- */


static pv *call_user(py_interp *I, const py_expr *at, py_func *fn, pv *self, int argc, pv **argv, int kwc,
                     const char **kwn, pv **kwv)
{
    const py_stmt *def = fn->def;
    if (I->depth >= MAX_CALL_DEPTH)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "calls nested deeper than %d (recursion in %s?)", MAX_CALL_DEPTH,
                        fn->qualname);
    py_scope sc = {0};
    int first = 0;
    if (self) {
        if (def->nparams == 0)
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s takes no 'self' parameter", fn->qualname);
        if (!py_scope_set(I, &sc, def->params[0].name, self))
            return NULL;
        first = 1;
    }
    int nslots = def->nparams - first;
    if (argc > nslots)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s takes %d argument(s), got %d", fn->qualname, nslots, argc);
    pv *vals[256];
    if (nslots > 256)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s has too many parameters", fn->qualname);
    for (int i = 0; i < nslots; i++)
        vals[i] = i < argc ? argv[i] : NULL;
    for (int k = 0; k < kwc; k++) {
        int slot = -1;
        for (int i = 0; i < nslots; i++)
            if (strcmp(def->params[first + i].name, kwn[k]) == 0)
                slot = i;
        if (slot < 0)
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s got an unexpected keyword argument '%s'", fn->qualname,
                            kwn[k]);
        if (vals[slot])
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s got multiple values for argument '%s'", fn->qualname,
                            kwn[k]);
        vals[slot] = kwv[k];
    }
    for (int i = 0; i < nslots; i++) {
        if (!vals[i])
            vals[i] = fn->defaults[first + i];
        if (!vals[i])
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s is missing the argument '%s'", fn->qualname,
                            def->params[first + i].name);
        if (!py_scope_set(I, &sc, def->params[first + i].name, vals[i]))
            return NULL;
    }
    py_class *saved_class = I->cur_class;
    pv *saved_self = I->cur_self;
    I->cur_class = fn->owner;
    I->cur_self = self;
    I->depth++;
    pv *ret = NULL;
    const char *file = I->file;
    if (I->source)
        I->file = I->source; /* a function's body is in the model file, wherever it was called from */
    py_flow f = py_exec_block(I, &sc, def->body, def->nbody, &ret);
    I->file = file;
    I->depth--;
    I->cur_class = saved_class;
    I->cur_self = saved_self;
    if (f == FLOW_ERROR)
        return NULL;
    return f == FLOW_RETURN && ret ? ret : pv_none(I);
}

static pv *construct(py_interp *I, const py_expr *at, py_class *cls, int argc, pv **argv, int kwc, const char **kwn,
                     pv **kwv)
{
    if (cls->nn)
        return py_nn_construct(I, at, cls, argc, argv, kwc, kwn, kwv);
    if (cls->foreign)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "class %s derives from %s, which sheaf does not model", cls->name,
                        cls->foreign);
    py_object *o = py_object_new(I, cls);
    pv *self = o ? pv_new(I, PV_OBJECT) : NULL;
    if (!self)
        return NULL;
    self->u.obj = o;
    pv *init = py_class_lookup(cls, "__init__");
    if (!init) {
        if (argc || kwc)
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s() takes no arguments", cls->name);
        return self;
    }
    if (init->k != PV_FUNC)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s.__init__ is not a function", cls->name);
    o->constructing = true;
    pv *r = call_user(I, at, init->u.fn, self, argc, argv, kwc, kwn, kwv);
    o->constructing = false;
    return r ? self : NULL;
}

/* The name under which a module runs, for messages. */
static const char *module_ctx(py_interp *I, py_object *o)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s (%s)", o->path && *o->path ? o->path : "the model", o->cls->name);
    return sf_arena_strdup(I->arena, buf);
}

pv *py_call(py_interp *I, const py_expr *at, pv *fn, int argc, pv **argv, int kwc, const char **kwn, pv **kwv)
{
    if (I->failed)
        return NULL;
    switch (fn->k) {
    case PV_BUILTIN:
        return fn->u.builtin.b->fn(I, at, fn->u.builtin.self, argc, argv, kwc, kwn, kwv);
    case PV_FUNC:
        return call_user(I, at, fn->u.fn, NULL, argc, argv, kwc, kwn, kwv);
    case PV_BOUND:
        return call_user(I, at, fn->u.bound.fn, fn->u.bound.self, argc, argv, kwc, kwn, kwv);
    case PV_CLASS:
        return construct(I, at, fn->u.cls, argc, argv, kwc, kwn, kwv);
    case PV_OBJECT: {
        py_object *o = fn->u.obj;
        const char *saved = I->ctx;
        pv *r;
        if (o->cls->nn) {
            I->ctx = module_ctx(I, o);
            r = py_nn_call(I, at, o, argc, argv, kwc, kwn, kwv);
        } else {
            pv *m = py_class_lookup(o->cls, o->cls->is_module ? "forward" : "__call__");
            if (!m || m->k != PV_FUNC)
                return py_error(I, at, SF_ERR_INVALID_ARG, "%s has no %s method", pv_describe(I, fn),
                                o->cls->is_module ? "forward" : "__call__");
            I->ctx = module_ctx(I, o);
            r = call_user(I, at, m->u.fn, fn, argc, argv, kwc, kwn, kwv);
        }
        I->ctx = saved;
        return r;
    }
    default:
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s is not callable", pv_describe(I, fn));
    }
}

/* ---- expressions ---- */

static pv *num_binop(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b)
{
    bool ints = a->k != PV_FLOAT && b->k != PV_FLOAT;
    if (ints) {
        int64_t x = a->k == PV_INT ? a->u.i : a->u.b, y = b->k == PV_INT ? b->u.i : b->u.b, r;
        switch (op) {
        case PB_ADD:
            if (__builtin_add_overflow(x, y, &r))
                break;
            return pv_int(I, r);
        case PB_SUB:
            if (__builtin_sub_overflow(x, y, &r))
                break;
            return pv_int(I, r);
        case PB_MUL:
            if (__builtin_mul_overflow(x, y, &r))
                break;
            return pv_int(I, r);
        case PB_FLOORDIV:
        case PB_MOD:
            if (y == 0)
                return py_error(I, at, SF_ERR_INVALID_ARG, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1)
                break;
            {
                int64_t q = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {
                    q--;
                    m += y;
                }
                return pv_int(I, op == PB_FLOORDIV ? q : m);
            }
        case PB_POW:
            if (y >= 0) {
                int64_t acc = 1;
                for (int64_t k = 0; k < y; k++)
                    if (__builtin_mul_overflow(acc, x, &acc))
                        return py_error(I, at, SF_ERR_UNSUPPORTED, "integer overflow in **");
                return pv_int(I, acc);
            }
            return pv_float(I, pow((double)x, (double)y));
        case PB_DIV:
            if (y == 0)
                return py_error(I, at, SF_ERR_INVALID_ARG, "division by zero");
            return pv_float(I, (double)x / (double)y);
        case PB_BITAND: case PB_BITOR: case PB_BITXOR: {
            int64_t v = op == PB_BITAND ? x & y : op == PB_BITOR ? x | y : x ^ y;
            return a->k == PV_BOOL && b->k == PV_BOOL ? pv_bool(I, v != 0) : pv_int(I, v); /* True & False is a bool */
        }
        default: break;
        }
        if (op == PB_ADD || op == PB_SUB || op == PB_MUL || op == PB_MOD || op == PB_FLOORDIV)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "integer overflow");
    }
    double x = pv_as_double(a), y = pv_as_double(b);
    switch (op) {
    case PB_ADD: return pv_float(I, x + y);
    case PB_SUB: return pv_float(I, x - y);
    case PB_MUL: return pv_float(I, x * y);
    case PB_DIV:
        if (y == 0)
            return py_error(I, at, SF_ERR_INVALID_ARG, "float division by zero");
        return pv_float(I, x / y);
    case PB_FLOORDIV:
        if (y == 0)
            return py_error(I, at, SF_ERR_INVALID_ARG, "float floor division by zero");
        return pv_float(I, floor(x / y));
    case PB_MOD:
        if (y == 0)
            return py_error(I, at, SF_ERR_INVALID_ARG, "float modulo by zero");
        return pv_float(I, x - floor(x / y) * y);
    case PB_POW: return pv_float(I, pow(x, y));
    case PB_BITAND: case PB_BITOR: case PB_BITXOR:
        return py_error(I, at, SF_ERR_UNSUPPORTED, "bitwise operator on a float");
    default: return py_error(I, at, SF_ERR_UNSUPPORTED, "operator not supported on numbers");
    }
}

static pv *seq_repeat(py_interp *I, const py_expr *at, pv *seq, int64_t times)
{
    if (seq->k == PV_STR) {
        if (times <= 0)
            return pv_str(I, "", 0);
        if ((size_t)times > (1u << 24) / (seq->u.s.n + 1))
            return py_error(I, at, SF_ERR_UNSUPPORTED, "string repetition too long");
        size_t n = seq->u.s.n * (size_t)times;
        char *buf = sf_arena_alloc(I->arena, n + 1);
        if (!buf)
            return py_error(I, at, SF_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; k < times; k++)
            memcpy(buf + (size_t)k * seq->u.s.n, seq->u.s.s, seq->u.s.n);
        return pv_str(I, buf, n);
    }
    int64_t n = seq->u.list->n;
    if (times > 0 && n > 0 && times > 100000000 / n)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "sequence repetition too long");
    pv *r = pv_list_new(I, seq->k, times > 0 ? n * times : 0);
    for (int64_t k = 0; r && k < times; k++)
        for (int64_t i = 0; i < n; i++)
            if (!pv_list_push(I, r, seq->u.list->items[i]))
                return NULL;
    return r;
}

pv *py_binop_values(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b)
{
    if (a->k == PV_TENSOR || b->k == PV_TENSOR || a->k == PV_INIT || b->k == PV_INIT)
        return py_tensor_binop(I, at, op, a, b);
    if (a->k == PV_BATCH || b->k == PV_BATCH)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "the batch size is symbolic (B): it can be passed where a dim is expected (view, reshape), "
                        "not computed with");
    if (pv_is_number(a) && pv_is_number(b))
        return num_binop(I, at, op, a, b);
    if (op == PB_ADD && a->k == b->k && (a->k == PV_LIST || a->k == PV_TUPLE)) {
        pv *r = pv_list_new(I, a->k, a->u.list->n + b->u.list->n);
        for (int64_t i = 0; r && i < a->u.list->n; i++)
            pv_list_push(I, r, a->u.list->items[i]);
        for (int64_t i = 0; r && i < b->u.list->n; i++)
            pv_list_push(I, r, b->u.list->items[i]);
        return r;
    }
    if (op == PB_ADD && a->k == PV_STR && b->k == PV_STR) {
        char *buf = sf_arena_alloc(I->arena, a->u.s.n + b->u.s.n + 1);
        if (!buf)
            return py_error(I, at, SF_ERR_NOMEM, "out of memory");
        memcpy(buf, a->u.s.s, a->u.s.n);
        memcpy(buf + a->u.s.n, b->u.s.s, b->u.s.n);
        return pv_str(I, buf, a->u.s.n + b->u.s.n);
    }
    if (op == PB_MUL && (a->k == PV_STR || a->k == PV_LIST || a->k == PV_TUPLE) && b->k == PV_INT)
        return seq_repeat(I, at, a, b->u.i);
    if (op == PB_MUL && (b->k == PV_STR || b->k == PV_LIST || b->k == PV_TUPLE) && a->k == PV_INT)
        return seq_repeat(I, at, b, a->u.i);
    if (op == PB_MOD && a->k == PV_STR)
        return py_format_percent(I, at, a, b);
    return py_error(I, at, SF_ERR_UNSUPPORTED, "unsupported operands for this operator: %s and %s",
                    pv_describe(I, a), pv_describe(I, b));
}

static bool compare(py_interp *I, const py_expr *at, py_binop op, pv *a, pv *b, bool *out)
{
    if (a->k == PV_TENSOR || b->k == PV_TENSOR) {
        if (op == PB_IS || op == PB_ISNOT) {
            *out = (a->k == b->k && a->u.t == b->u.t) == (op == PB_IS);
            return true;
        }
        py_error(I, at, SF_ERR_UNSUPPORTED, "comparing tensors is not supported: the result is not known at compile time");
        return false;
    }
    switch (op) {
    case PB_IS: case PB_ISNOT: {
        bool same = a->k == b->k && (a->k == PV_NONE || a->k == PV_ELLIPSIS || pv_equal(a, b)) &&
                    (a->k != PV_INT || a->u.i == b->u.i);
        *out = op == PB_IS ? same : !same;
        return true;
    }
    case PB_EQ: *out = pv_equal(a, b); return true;
    case PB_NE: *out = !pv_equal(a, b); return true;
    case PB_IN: case PB_NOTIN: {
        bool found = false;
        if (b->k == PV_DICT) {
            found = pv_dict_get(b->u.dict, a) != NULL;
        } else if (b->k == PV_STR && a->k == PV_STR) {
            found = a->u.s.n == 0 || (b->u.s.n >= a->u.s.n && strstr(b->u.s.s, a->u.s.s));
        } else {
            pv *items = pv_iterate(I, at, b);
            if (!items)
                return false;
            for (int64_t i = 0; i < items->u.list->n && !found; i++)
                found = pv_equal(items->u.list->items[i], a);
        }
        *out = op == PB_IN ? found : !found;
        return true;
    }
    default: break;
    }
    int c;
    if (pv_is_number(a) && pv_is_number(b)) {
        double x = pv_as_double(a), y = pv_as_double(b);
        c = x < y ? -1 : x > y;
    } else if (a->k == PV_STR && b->k == PV_STR) {
        c = strcmp(a->u.s.s, b->u.s.s);
    } else {
        py_error(I, at, SF_ERR_UNSUPPORTED, "cannot order %s and %s", pv_describe(I, a), pv_describe(I, b));
        return false;
    }
    *out = op == PB_LT ? c < 0 : op == PB_LE ? c <= 0 : op == PB_GT ? c > 0 : c >= 0;
    return true;
}

static int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

/* Python slice bounds, clamped as Python does. */
bool py_slice_bounds(py_interp *I, const py_expr *at, const pv *s, int64_t n, int64_t *start, int64_t *stop,
                     int64_t *step)
{
    int64_t st = 1;
    if (s->u.slice.step && s->u.slice.step->k != PV_NONE && !py_as_int(I, at, s->u.slice.step, "slice step", &st))
        return false;
    if (st == 0) {
        py_error(I, at, SF_ERR_INVALID_ARG, "slice step cannot be zero");
        return false;
    }
    int64_t lo = st > 0 ? 0 : n - 1, hi = st > 0 ? n : -1;
    if (s->u.slice.lo && s->u.slice.lo->k != PV_NONE) {
        if (!py_as_int(I, at, s->u.slice.lo, "slice start", &lo))
            return false;
        lo = norm_index(lo, n);
        lo = st > 0 ? (lo < 0 ? 0 : lo > n ? n : lo) : (lo < -1 ? -1 : lo > n - 1 ? n - 1 : lo);
    }
    if (s->u.slice.hi && s->u.slice.hi->k != PV_NONE) {
        if (!py_as_int(I, at, s->u.slice.hi, "slice stop", &hi))
            return false;
        hi = norm_index(hi, n);
        hi = st > 0 ? (hi < 0 ? 0 : hi > n ? n : hi) : (hi < -1 ? -1 : hi > n - 1 ? n - 1 : hi);
    }
    *start = lo, *stop = hi, *step = st;
    return true;
}

static pv *subscript(py_interp *I, const py_expr *at, pv *obj, pv *idx)
{
    switch (obj->k) {
    case PV_TENSOR:
        return py_tensor_subscript(I, at, obj, idx);
    case PV_DICT: {
        pv *v = pv_dict_get(obj->u.dict, idx);
        return v ? v : py_error(I, at, SF_ERR_INVALID_ARG, "key %s not in dict", pv_describe(I, idx));
    }
    case PV_LIST: case PV_TUPLE: case PV_STR: case PV_RANGE: {
        pv *seq = obj->k == PV_RANGE ? pv_iterate(I, at, obj) : obj;
        if (!seq)
            return NULL;
        int64_t n = seq->k == PV_STR ? (int64_t)seq->u.s.n : seq->u.list->n;
        if (idx->k == PV_SLICE) {
            int64_t a, b, st;
            if (!py_slice_bounds(I, at, idx, n, &a, &b, &st))
                return NULL;
            if (seq->k == PV_STR) {
                char *buf = sf_arena_alloc(I->arena, (size_t)n + 1);
                size_t k = 0;
                for (int64_t i = a; buf && (st > 0 ? i < b : i > b); i += st)
                    buf[k++] = seq->u.s.s[i];
                return buf ? pv_str(I, buf, k) : NULL;
            }
            pv *r = pv_list_new(I, seq->k == PV_TUPLE ? PV_TUPLE : PV_LIST, 0);
            for (int64_t i = a; r && (st > 0 ? i < b : i > b); i += st)
                if (!pv_list_push(I, r, seq->u.list->items[i]))
                    return NULL;
            return r;
        }
        int64_t i;
        if (!py_as_int(I, at, idx, "index", &i))
            return NULL;
        int64_t j = norm_index(i, n);
        if (j < 0 || j >= n)
            return py_error(I, at, SF_ERR_INVALID_ARG, "index %lld out of range for %s", (long long)i,
                            pv_describe(I, obj));
        return seq->k == PV_STR ? pv_str(I, seq->u.s.s + j, 1) : seq->u.list->items[j];
    }
    case PV_OBJECT: {
        pv *m = py_module_method(I, at, obj, "__getitem__");
        if (m)
            return py_call(I, at, m, 1, &idx, 0, NULL, NULL);
        if (I->failed)
            return NULL;
        break;
    }
    case PV_NAMESPACE: /* typing: List[int], Optional[Tensor] */
        if (obj->u.ns == NS_TYPING)
            return obj;
        break;
    default: break;
    }
    return py_error(I, at, SF_ERR_INVALID_ARG, "%s is not subscriptable", pv_describe(I, obj));
}

static bool collect(py_interp *I, py_scope *sc, pv *list, py_expr *const *items, int n)
{
    for (int i = 0; i < n; i++) {
        if (items[i]->kind == PE_STARRED) {
            pv *v = py_eval(I, sc, items[i]->a), *it = v ? pv_iterate(I, items[i], v) : NULL;
            if (!it)
                return false;
            for (int64_t k = 0; k < it->u.list->n; k++)
                if (!pv_list_push(I, list, it->u.list->items[k]))
                    return false;
            continue;
        }
        pv *v = py_eval(I, sc, items[i]);
        if (!v || !pv_list_push(I, list, v))
            return false;
    }
    return true;
}


static bool comprehension(py_interp *I, py_scope *sc, const py_expr *e, int level, pv *out)
{
    if (level == e->ncomps) {
        pv *v = py_eval(I, sc, e->a);
        if (v && out->k == PV_DICT) {
            pv *val = py_eval(I, sc, e->b);
            return val && pv_dict_set(I, out->u.dict, v, val);
        }
        return v && pv_list_push(I, out, v);
    }
    const py_comp *c = &e->comps[level];
    pv *src = py_eval(I, sc, c->iter), *items = src ? pv_iterate(I, c->iter, src) : NULL;
    if (!items)
        return false;
    for (int64_t i = 0; i < items->u.list->n; i++) {
        if (!py_assign(I, sc, c->target, items->u.list->items[i]))
            return false;
        bool keep = true;
        for (int k = 0; k < c->nconds && keep; k++) {
            pv *cv = py_eval(I, sc, c->conds[k]);
            if (!cv || !pv_truth(I, c->conds[k], cv, &keep))
                return false;
        }
        if (keep && !comprehension(I, sc, e, level + 1, out))
            return false;
    }
    return true;
}

static pv *eval_call(py_interp *I, py_scope *sc, const py_expr *e)
{
    pv *fn = py_eval(I, sc, e->a);
    if (!fn)
        return NULL;
    pv *args = pv_list_new(I, PV_TUPLE, e->n);
    if (!args || !collect(I, sc, args, e->items, e->n))
        return NULL;
    int kwc = 0, cap = e->nkw;
    const char **kwn = NULL;
    pv **kwv = NULL;
    for (int k = 0; k < e->nkw; k++)
        if (e->values[k]->kind == PE_DSTARRED) {
            pv *d = py_eval(I, sc, e->values[k]->a);
            if (!d)
                return NULL;
            if (d->k != PV_DICT)
                return py_error(I, e->values[k], SF_ERR_INVALID_ARG, "** needs a dict, got %s", pv_describe(I, d));
            cap += (int)d->u.dict->n;
        }
    if (cap) {
        kwn = sf_arena_alloc(I->arena, sizeof *kwn * (size_t)cap);
        kwv = sf_arena_alloc(I->arena, sizeof *kwv * (size_t)cap);
        if (!kwn || !kwv)
            return py_error(I, e, SF_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; k < e->nkw; k++) {
        if (e->values[k]->kind == PE_DSTARRED) {
            pv *d = py_eval(I, sc, e->values[k]->a);
            for (int64_t j = 0; d && j < d->u.dict->n; j++) {
                if (d->u.dict->keys[j]->k != PV_STR)
                    return py_error(I, e->values[k], SF_ERR_INVALID_ARG, "** keys must be strings");
                kwn[kwc] = d->u.dict->keys[j]->u.s.s;
                kwv[kwc++] = d->u.dict->vals[j];
            }
            continue;
        }
        pv *v = py_eval(I, sc, e->values[k]);
        if (!v)
            return NULL;
        kwn[kwc] = e->kwnames[k];
        kwv[kwc++] = v;
    }
    return py_call(I, e, fn, (int)args->u.list->n, args->u.list->items, kwc, kwn, kwv);
}

/* f"...{expr[:spec]}...": each field parsed and evaluated in the scope */
static pv *fstring(py_interp *I, py_scope *sc, const py_expr *e)
{
    const char *s = e->name, *end = e->name + e->len;
    char *out = NULL;
    size_t len = 0, cap = 0;
    while (s < end) {
        const char *piece = s;
        size_t n = 1;
        char text[600];
        if ((*s == '{' || *s == '}') && s + 1 < end && s[1] == *s) {
            s += 2;
        } else if (*s == '{') {
            const char *close = memchr(s, '}', (size_t)(end - s));
            if (!close)
                return py_error(I, e, SF_ERR_PARSE, "unmatched '{' in f-string");
            const char *colon = memchr(s, ':', (size_t)(close - s));
            const char *stop = colon ? colon : close;
            py_expr *x = py_parse_expr(s + 1, (size_t)(stop - s - 1), "f-string", I->arena, I->err);
            if (!x) {
                I->failed = true;
                return NULL;
            }
            x->line = e->line;
            x->col = e->col;
            pv *v = py_eval(I, sc, x);
            char spec[32] = "";
            if (colon)
                snprintf(spec, sizeof spec, "%.*s", (int)(close - colon - 1), colon + 1);
            if (!v || !py_format_spec(I, e, v, spec, text, sizeof text))
                return NULL;
            piece = text;
            n = strlen(text);
            s = close + 1;
        } else {
            s++;
        }
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = sf_arena_alloc(I->arena, cap);
            if (!grown)
                return py_error(I, e, SF_ERR_NOMEM, "out of memory");
            if (len)
                memcpy(grown, out, len);
            out = grown;
        }
        memcpy(out + len, piece, n);
        len += n;
    }
    return pv_str(I, out ? out : "", len);
}

static pv *eval_expr(py_interp *I, py_scope *sc, const py_expr *e);

pv *py_eval(py_interp *I, py_scope *sc, const py_expr *e)
{
    if (I->failed)
        return NULL;
    if (I->eval_depth >= MAX_EVAL_DEPTH)
        return py_error(I, e, SF_ERR_UNSUPPORTED,
                        "expression nested deeper than %d levels (operators, calls, attributes and subscripts "
                        "chained count too): split it into statements", MAX_EVAL_DEPTH);
    I->eval_depth++;
    pv *v = eval_expr(I, sc, e);
    I->eval_depth--;
    return v;
}

static pv *eval_expr(py_interp *I, py_scope *sc, const py_expr *e)
{
    switch (e->kind) {
    case PE_NAME: {
        pv *v = scope_get(I, sc, e->name);
        return v ? v : py_error(I, e, SF_ERR_INVALID_ARG, "name '%s' is not defined", e->name);
    }
    case PE_INT: return pv_int(I, e->ival);
    case PE_FLOAT: return pv_float(I, e->fval);
    case PE_STR: return e->fstring ? fstring(I, sc, e) : pv_str(I, e->name, e->len);
    case PE_TRUE: return pv_bool(I, true);
    case PE_FALSE: return pv_bool(I, false);
    case PE_NONE: return pv_none(I);
    case PE_ELLIPSIS: return pv_new(I, PV_ELLIPSIS);
    case PE_ATTR: {
        pv *o = py_eval(I, sc, e->a);
        return o ? py_getattr(I, e, o, e->name) : NULL;
    }
    case PE_CALL: return eval_call(I, sc, e);
    case PE_SUBSCRIPT: {
        pv *o = py_eval(I, sc, e->a), *i = o ? py_eval(I, sc, e->b) : NULL;
        return i ? subscript(I, e, o, i) : NULL;
    }
    case PE_SLICE: {
        pv *s = pv_new(I, PV_SLICE);
        if (!s)
            return NULL;
        if ((e->a && !(s->u.slice.lo = py_eval(I, sc, e->a))) || (e->b && !(s->u.slice.hi = py_eval(I, sc, e->b))) ||
            (e->c && !(s->u.slice.step = py_eval(I, sc, e->c))))
            return NULL;
        return s;
    }
    case PE_TUPLE: case PE_LIST: {
        pv *l = pv_list_new(I, e->kind == PE_TUPLE ? PV_TUPLE : PV_LIST, e->n);
        return l && collect(I, sc, l, e->items, e->n) ? l : NULL;
    }
    case PE_DICT: {
        pv *d = pv_dict_new(I);
        for (int i = 0; d && i < e->n; i++) {
            pv *k = py_eval(I, sc, e->items[i]), *v = k ? py_eval(I, sc, e->values[i]) : NULL;
            if (!v || !pv_dict_set(I, d->u.dict, k, v))
                return NULL;
        }
        return d;
    }
    case PE_LISTCOMP: case PE_DICTCOMP: {
        py_scope inner = {0};
        inner.parent = sc;
        pv *out = e->kind == PE_LISTCOMP ? pv_list_new(I, PV_LIST, 0) : pv_dict_new(I);
        return out && comprehension(I, &inner, e, 0, out) ? out : NULL;
    }
    case PE_BINOP: {
        pv *a = py_eval(I, sc, e->a), *b = a ? py_eval(I, sc, e->b) : NULL;
        return b ? py_binop_values(I, e, e->op, a, b) : NULL;
    }
    case PE_UNARY: {
        pv *a = py_eval(I, sc, e->a);
        if (!a)
            return NULL;
        if (e->op == PB_POS && (pv_is_number(a) || a->k == PV_TENSOR))
            return a;
        if (e->op == PB_INVERT) {
            if (a->k == PV_TENSOR)
                return py_tensor_bitop(I, e, PB_INVERT, a, NULL);
            if (a->k != PV_INT && a->k != PV_BOOL)
                return py_error(I, e, SF_ERR_UNSUPPORTED, "bad operand for unary ~: %s", pv_describe(I, a));
            return pv_int(I, ~(a->k == PV_INT ? a->u.i : (int64_t)a->u.b));
        }
        if (a->k == PV_TENSOR)
            return py_tensor_binop(I, e, PB_NEG, a, NULL);
        if (a->k == PV_INT)
            return a->u.i == INT64_MIN ? py_error(I, e, SF_ERR_UNSUPPORTED, "integer overflow") : pv_int(I, -a->u.i);
        if (a->k == PV_BOOL)
            return pv_int(I, -(int64_t)a->u.b);
        if (a->k == PV_FLOAT)
            return pv_float(I, -a->u.f);
        return py_error(I, e, SF_ERR_UNSUPPORTED, "bad operand for unary -: %s", pv_describe(I, a));
    }
    case PE_AND: case PE_OR: {
        pv *a = py_eval(I, sc, e->a);
        bool t;
        if (!a || !pv_truth(I, e->a, a, &t))
            return NULL;
        if ((e->kind == PE_AND) != t)
            return a;
        return py_eval(I, sc, e->b);
    }
    case PE_NOT: {
        pv *a = py_eval(I, sc, e->a);
        bool t;
        return a && pv_truth(I, e->a, a, &t) ? pv_bool(I, !t) : NULL;
    }
    case PE_COMPARE: {
        pv *left = py_eval(I, sc, e->items[0]);
        for (int i = 0; left && i < e->n - 1; i++) {
            pv *right = py_eval(I, sc, e->items[i + 1]);
            if (right && (left->k == PV_TENSOR || right->k == PV_TENSOR) && e->ops[i] >= PB_EQ && e->ops[i] <= PB_GE) {
                if (e->n > 2) /* a < x < b would ask the truth of the mask a < x, as PyTorch refuses */
                    return py_error(I, e, SF_ERR_UNSUPPORTED,
                                    "chained comparison of tensors: write (a < x) & (x < b)");
                return py_tensor_compare(I, e, e->ops[i], left, right);
            }
            bool r;
            if (!right || !compare(I, e, e->ops[i], left, right, &r))
                return NULL;
            if (!r)
                return pv_bool(I, false);
            left = right;
        }
        return left ? pv_bool(I, true) : NULL;
    }
    case PE_IFEXP: {
        pv *c = py_eval(I, sc, e->b);
        bool t;
        if (!c || !pv_truth(I, e->b, c, &t))
            return NULL;
        return py_eval(I, sc, t ? e->a : e->c);
    }
    case PE_STARRED: case PE_DSTARRED:
        return py_error(I, e, SF_ERR_UNSUPPORTED, "starred expression in this position is not supported");
    }
    return py_error(I, e, SF_ERR_UNSUPPORTED, "unsupported expression");
}

