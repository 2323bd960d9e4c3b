/* Python builtins, methods of lists/dicts/strings, super(), and the small
 * namespaces (collections, math, typing) the models use. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_interp.h"

#define BUILTIN(name) \
    static pv *name(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn, pv **kwv)
#define UNUSED_ARGS (void)self, (void)argv, (void)kwn, (void)kwv

static pv *no_kwargs(py_interp *I, const py_expr *at, const char *fname, int kwc)
{
    if (kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s takes no keyword arguments", fname);
    return pv_none(I);
}

static pv *need_args(py_interp *I, const py_expr *at, const char *fname, int argc, int lo, int hi, int kwc)
{
    if (!no_kwargs(I, at, fname, kwc))
        return NULL;
    if (argc < lo || argc > hi)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s takes %d to %d arguments, got %d", fname, lo, hi, argc);
    return pv_none(I);
}

static int64_t length_of(py_interp *I, const py_expr *at, pv *v)
{
    switch (v->k) {
    case PV_LIST: case PV_TUPLE: return v->u.list->n;
    case PV_DICT: return v->u.dict->n;
    case PV_STR: return (int64_t)v->u.s.n;
    default: {
        pv *items = pv_iterate(I, at, v);
        return items ? items->u.list->n : -1;
    }
    }
}

BUILTIN(b_len)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "len()", argc, 1, 1, kwc))
        return NULL;
    if (argv[0]->k == PV_TENSOR || argv[0]->k == PV_INIT)
        return py_tensor_method(I, at, argv[0], "__len__");
    int64_t n = length_of(I, at, argv[0]);
    return n < 0 ? NULL : pv_int(I, n);
}

BUILTIN(b_range)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "range()", argc, 1, 3, kwc))
        return NULL;
    int64_t a[3] = {0, 0, 1};
    for (int i = 0; i < argc; i++)
        if (!py_as_int(I, at, argv[i], "range() argument", &a[i]))
            return NULL;
    pv *r = pv_new(I, PV_RANGE);
    if (!r)
        return NULL;
    if (argc == 1) {
        a[1] = a[0];
        a[0] = 0;
    }
    if (a[2] == 0)
        return py_error(I, at, SF_ERR_INVALID_ARG, "range() step must not be zero");
    r->u.range.start = a[0], r->u.range.stop = a[1], r->u.range.step = a[2];
    return r;
}

BUILTIN(b_enumerate)
{
    UNUSED_ARGS;
    pv *args[2];
    static const char *const names[] = {"iterable", "start", NULL};
    if (!py_bind(I, at, "enumerate()", names, 1, argc, argv, kwc, kwn, kwv, args))
        return NULL;
    int64_t start = 0;
    if (args[1] && !py_as_int(I, at, args[1], "enumerate start", &start))
        return NULL;
    pv *items = pv_iterate(I, at, args[0]);
    pv *r = items ? pv_list_new(I, PV_LIST, items->u.list->n) : NULL;
    for (int64_t i = 0; r && i < items->u.list->n; i++) {
        pv *pair = pv_list_new(I, PV_TUPLE, 2);
        if (!pair || !pv_list_push(I, pair, pv_int(I, start + i)) || !pv_list_push(I, pair, items->u.list->items[i]) ||
            !pv_list_push(I, r, pair))
            return NULL;
    }
    return r;
}

BUILTIN(b_zip)
{
    UNUSED_ARGS;
    if (!no_kwargs(I, at, "zip()", kwc))
        return NULL;
    pv *lists[16];
    if (argc > 16)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "zip() of more than 16 iterables");
    int64_t n = INT64_MAX;
    for (int i = 0; i < argc; i++) {
        if (!(lists[i] = pv_iterate(I, at, argv[i])))
            return NULL;
        if (lists[i]->u.list->n < n)
            n = lists[i]->u.list->n;
    }
    if (argc == 0)
        n = 0;
    pv *r = pv_list_new(I, PV_LIST, n);
    for (int64_t k = 0; r && k < n; k++) {
        pv *t = pv_list_new(I, PV_TUPLE, argc);
        for (int i = 0; t && i < argc; i++)
            pv_list_push(I, t, lists[i]->u.list->items[k]);
        if (!t || !pv_list_push(I, r, t))
            return NULL;
    }
    return r;
}

static pv *copy_list(py_interp *I, const py_expr *at, pv *src, pv_kind k)
{
    pv *items = pv_iterate(I, at, src);
    pv *r = items ? pv_list_new(I, k, items->u.list->n) : NULL;
    for (int64_t i = 0; r && i < items->u.list->n; i++)
        pv_list_push(I, r, items->u.list->items[i]);
    return r;
}

BUILTIN(b_list)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "list()", argc, 0, 1, kwc))
        return NULL;
    return argc ? copy_list(I, at, argv[0], PV_LIST) : pv_list_new(I, PV_LIST, 0);
}

BUILTIN(b_tuple)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "tuple()", argc, 0, 1, kwc))
        return NULL;
    return argc ? copy_list(I, at, argv[0], PV_TUPLE) : pv_list_new(I, PV_TUPLE, 0);
}

BUILTIN(b_dict)
{
    UNUSED_ARGS;
    pv *d = pv_dict_new(I);
    if (!d || argc > 1)
        return argc > 1 ? py_error(I, at, SF_ERR_INVALID_ARG, "dict() takes at most one positional argument") : NULL;
    if (argc == 1) {
        if (argv[0]->k == PV_DICT) {
            for (int64_t i = 0; i < argv[0]->u.dict->n; i++)
                pv_dict_set(I, d->u.dict, argv[0]->u.dict->keys[i], argv[0]->u.dict->vals[i]);
        } else {
            pv *items = pv_iterate(I, at, argv[0]);
            for (int64_t i = 0; items && i < items->u.list->n; i++) {
                pv *p = items->u.list->items[i];
                if ((p->k != PV_TUPLE && p->k != PV_LIST) || p->u.list->n != 2)
                    return py_error(I, at, SF_ERR_INVALID_ARG, "dict() needs (key, value) pairs");
                pv_dict_set(I, d->u.dict, p->u.list->items[0], p->u.list->items[1]);
            }
            if (!items)
                return NULL;
        }
    }
    for (int k = 0; k < kwc; k++)
        pv_dict_sets(I, d->u.dict, kwn[k], kwv[k]);
    return d;
}

BUILTIN(b_int)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "int()", argc, 0, 1, kwc))
        return NULL;
    if (argc == 0)
        return pv_int(I, 0);
    pv *v = argv[0];
    if (v->k == PV_INT || v->k == PV_BOOL)
        return pv_int(I, v->k == PV_INT ? v->u.i : v->u.b);
    if (v->k == PV_FLOAT) {
        if (!isfinite(v->u.f) || fabs(v->u.f) > 9.2e18)
            return py_error(I, at, SF_ERR_INVALID_ARG, "cannot convert %g to int", v->u.f);
        return pv_int(I, (int64_t)v->u.f);
    }
    if (v->k == PV_BATCH)
        return v;
    return py_error(I, at, SF_ERR_INVALID_ARG, "int() of %s", pv_describe(I, v));
}

BUILTIN(b_float)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "float()", argc, 0, 1, kwc))
        return NULL;
    if (argc == 0)
        return pv_float(I, 0);
    if (pv_is_number(argv[0]))
        return pv_float(I, pv_as_double(argv[0]));
    if (argv[0]->k == PV_STR) {
        const char *s = argv[0]->u.s.s;
        if (strcmp(s, "inf") == 0 || strcmp(s, "-inf") == 0)
            return pv_float(I, s[0] == '-' ? -INFINITY : INFINITY);
    }
    return py_error(I, at, SF_ERR_INVALID_ARG, "float() of %s", pv_describe(I, argv[0]));
}

BUILTIN(b_bool)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "bool()", argc, 0, 1, kwc))
        return NULL;
    bool t = false;
    return argc == 0 || pv_truth(I, at, argv[0], &t) ? pv_bool(I, t) : NULL;
}

BUILTIN(b_str)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "str()", argc, 0, 1, kwc))
        return NULL;
    if (argc == 0)
        return pv_str(I, "", 0);
    pv *v = argv[0];
    char buf[512];
    if (v->k == PV_STR)
        return v;
    py_text_of(I, at, v, buf, sizeof buf);
    return pv_cstr(I, buf);
}

static pv *minmax(py_interp *I, const py_expr *at, int argc, pv **argv, bool max)
{
    pv *items = argc == 1 ? pv_iterate(I, at, argv[0]) : NULL;
    pv **xs = items ? items->u.list->items : argv;
    int64_t n = items ? items->u.list->n : argc;
    if (argc == 0 || (argc == 1 && !items))
        return argc ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "%s() needs arguments", max ? "max" : "min");
    if (n == 0)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s() of an empty sequence", max ? "max" : "min");
    pv *best = xs[0];
    for (int64_t i = 1; i < n; i++) {
        if (!pv_is_number(xs[i]) || !pv_is_number(best))
            return py_error(I, at, SF_ERR_UNSUPPORTED, "%s() of non-numbers", max ? "max" : "min");
        if (max ? pv_as_double(xs[i]) > pv_as_double(best) : pv_as_double(xs[i]) < pv_as_double(best))
            best = xs[i];
    }
    return best;
}

BUILTIN(b_min) { UNUSED_ARGS; return no_kwargs(I, at, "min()", kwc) ? minmax(I, at, argc, argv, false) : NULL; }
BUILTIN(b_max) { UNUSED_ARGS; return no_kwargs(I, at, "max()", kwc) ? minmax(I, at, argc, argv, true) : NULL; }

BUILTIN(b_abs)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "abs()", argc, 1, 1, kwc))
        return NULL;
    pv *v = argv[0];
    if (v->k == PV_TENSOR) { /* Tensor.__abs__ */
        pv *m = py_tensor_method(I, at, v, "abs");
        return m ? py_call(I, at, m, 0, NULL, 0, NULL, NULL) : NULL;
    }
    if (v->k == PV_INT)
        return v->u.i == INT64_MIN ? py_error(I, at, SF_ERR_UNSUPPORTED, "integer overflow") : pv_int(I, v->u.i < 0 ? -v->u.i : v->u.i);
    if (v->k == PV_FLOAT)
        return pv_float(I, fabs(v->u.f));
    return py_error(I, at, SF_ERR_UNSUPPORTED, "abs() of %s", pv_describe(I, v));
}

/* sum(xs, start=0): over tensors, a chain of adds with no zero tensor */
BUILTIN(b_sum)
{
    UNUSED_ARGS;
    pv *args[2];
    static const char *const names[] = {"iterable", "start", NULL};
    if (!py_bind(I, at, "sum()", names, 1, argc, argv, kwc, kwn, kwv, args))
        return NULL;
    pv *items = pv_iterate(I, at, args[0]);
    if (!items)
        return NULL;
    pv *acc = args[1];
    for (int64_t i = 0; i < items->u.list->n; i++) {
        pv *x = items->u.list->items[i];
        if (!acc) {
            if (x->k == PV_TENSOR) {
                acc = x;
                continue;
            }
            acc = pv_int(I, 0);
        }
        if (acc->k == PV_TENSOR || x->k == PV_TENSOR)
            acc = py_tensor_binop(I, at, PB_ADD, acc, x);
        else if (pv_is_number(acc) && pv_is_number(x))
            acc = acc->k == PV_FLOAT || x->k == PV_FLOAT ? pv_float(I, pv_as_double(acc) + pv_as_double(x))
                                                         : pv_int(I, acc->u.i + x->u.i);
        else
            return py_error(I, at, SF_ERR_UNSUPPORTED, "sum() of %s", pv_describe(I, x));
        if (!acc)
            return NULL;
    }
    return acc ? acc : pv_int(I, 0);
}

BUILTIN(b_print)
{
    (void)I, (void)at, (void)self, (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv;
    return pv_none(I); /* compile time has no console: print does nothing */
}

static bool type_matches(py_interp *I, pv *x, pv *t)
{
    if (t->k == PV_TUPLE || t->k == PV_LIST) {
        for (int64_t i = 0; i < t->u.list->n; i++)
            if (type_matches(I, x, t->u.list->items[i]))
                return true;
        return false;
    }
    if (t->k == PV_CLASS)
        return x->k == PV_OBJECT && py_class_is(x->u.obj->cls, t->u.cls);
    if (t->k == PV_BUILTIN) {
        const char *n = t->u.builtin.b->name;
        if (strcmp(n, "int") == 0) return x->k == PV_INT || x->k == PV_BOOL || x->k == PV_BATCH;
        if (strcmp(n, "float") == 0) return x->k == PV_FLOAT;
        if (strcmp(n, "bool") == 0) return x->k == PV_BOOL;
        if (strcmp(n, "str") == 0) return x->k == PV_STR;
        if (strcmp(n, "list") == 0) return x->k == PV_LIST;
        if (strcmp(n, "tuple") == 0) return x->k == PV_TUPLE;
        if (strcmp(n, "dict") == 0) return x->k == PV_DICT;
        if (strcmp(n, "Tensor") == 0 || strcmp(n, "Parameter") == 0) return x->k == PV_TENSOR || x->k == PV_INIT;
    }
    return false;
}

BUILTIN(b_isinstance)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "isinstance()", argc, 2, 2, kwc))
        return NULL;
    return pv_bool(I, type_matches(I, argv[0], argv[1]));
}

BUILTIN(b_hasattr)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "hasattr()", argc, 2, 2, kwc) || argv[1]->k != PV_STR)
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "hasattr() needs a name string");
    /* look without failing: errors from the lookup mean "no" */
    sf_error saved = *I->err;
    pv *v = py_getattr(I, at, argv[0], argv[1]->u.s.s);
    if (!v) {
        I->failed = false;
        *I->err = saved;
    }
    return pv_bool(I, v != NULL);
}

BUILTIN(b_getattr)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "getattr()", argc, 2, 3, kwc) || argv[1]->k != PV_STR)
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "getattr() needs a name string");
    if (argc == 3) {
        sf_error saved = *I->err;
        pv *v = py_getattr(I, at, argv[0], argv[1]->u.s.s);
        if (!v) {
            I->failed = false;
            *I->err = saved;
            return argv[2];
        }
        return v;
    }
    return py_getattr(I, at, argv[0], argv[1]->u.s.s);
}

BUILTIN(b_setattr)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "setattr()", argc, 3, 3, kwc) || argv[1]->k != PV_STR)
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "setattr() needs a name string");
    return py_setattr(I, at, argv[0], argv[1]->u.s.s, argv[2]) ? pv_none(I) : NULL;
}

BUILTIN(b_reversed)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "reversed()", argc, 1, 1, kwc))
        return NULL;
    pv *items = pv_iterate(I, at, argv[0]);
    pv *r = items ? pv_list_new(I, PV_LIST, items->u.list->n) : NULL;
    for (int64_t i = items ? items->u.list->n - 1 : -1; r && i >= 0; i--)
        pv_list_push(I, r, items->u.list->items[i]);
    return r;
}

BUILTIN(b_round)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "round()", argc, 1, 1, kwc))
        return NULL;
    if (!pv_is_number(argv[0]))
        return py_error(I, at, SF_ERR_INVALID_ARG, "round() of a non-number");
    double x = pv_as_double(argv[0]), r = nearbyint(x);
    if (!(fabs(r) < 0x1p63))
        return py_error(I, at, SF_ERR_UNSUPPORTED, "round(%g): not an int sheaf can hold", x);
    return pv_int(I, (int64_t)r);
}

BUILTIN(b_super)
{
    UNUSED_ARGS;
    if (!no_kwargs(I, at, "super()", kwc))
        return NULL;
    pv *v = pv_new(I, PV_SUPER);
    if (!v)
        return NULL;
    if (argc == 2 && argv[0]->k == PV_CLASS) {
        v->u.super.after = argv[0]->u.cls;
        v->u.super.self = argv[1];
    } else if (argc == 0 && I->cur_class && I->cur_self) {
        v->u.super.after = I->cur_class;
        v->u.super.self = I->cur_self;
    } else {
        return py_error(I, at, SF_ERR_UNSUPPORTED, "super() outside a method; use super() or super(Class, self)");
    }
    return v;
}

BUILTIN(b_noop_init)
{
    UNUSED_ARGS;
    (void)I, (void)at, (void)argc, (void)argv, (void)kwc;
    return pv_none(I);
}

static const py_builtin builtins[] = {
    {"len", b_len}, {"range", b_range}, {"enumerate", b_enumerate}, {"zip", b_zip}, {"list", b_list},
    {"tuple", b_tuple}, {"dict", b_dict}, {"int", b_int}, {"float", b_float}, {"bool", b_bool}, {"str", b_str},
    {"min", b_min}, {"max", b_max}, {"abs", b_abs}, {"sum", b_sum}, {"print", b_print},
    {"isinstance", b_isinstance}, {"hasattr", b_hasattr}, {"getattr", b_getattr}, {"setattr", b_setattr},
    {"reversed", b_reversed}, {"round", b_round}, {"super", b_super},
};
static const py_builtin noop_init = {"__init__", b_noop_init};
BUILTIN(b_ordered_dict)
{
    pv *d = b_dict(I, at, self, argc, argv, kwc, kwn, kwv);
    if (d)
        d->u.dict->ordered = true;
    return d;
}

static const py_builtin ordered_dict = {"OrderedDict", b_ordered_dict};

/* ---- methods of lists, dicts and strings ---- */

BUILTIN(m_append)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "list.append()", argc, 1, 1, kwc))
        return NULL;
    return pv_list_push(I, self, argv[0]) ? pv_none(I) : NULL;
}

BUILTIN(m_extend)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "list.extend()", argc, 1, 1, kwc))
        return NULL;
    pv *items = pv_iterate(I, at, argv[0]);
    for (int64_t i = 0; items && i < items->u.list->n; i++)
        if (!pv_list_push(I, self, items->u.list->items[i]))
            return NULL;
    return items ? pv_none(I) : NULL;
}

BUILTIN(m_insert)
{
    UNUSED_ARGS;
    int64_t at_i;
    if (!need_args(I, at, "list.insert()", argc, 2, 2, kwc) || !py_as_int(I, at, argv[0], "index", &at_i))
        return NULL;
    pv_list *l = self->u.list;
    if (!pv_list_push(I, self, argv[1]))
        return NULL;
    int64_t n = l->n - 1;
    at_i = py_insert_at(at_i, n);
    memmove(l->items + at_i + 1, l->items + at_i, sizeof *l->items * (size_t)(n - at_i));
    l->items[at_i] = argv[1];
    return pv_none(I);
}

BUILTIN(m_pop)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "list.pop()", argc, 0, 1, kwc))
        return NULL;
    pv_list *l = self->u.list;
    int64_t i = l->n - 1;
    if (argc && !py_as_int(I, at, argv[0], "index", &i))
        return NULL;
    if (i < 0)
        i += l->n;
    if (i < 0 || i >= l->n)
        return py_error(I, at, SF_ERR_INVALID_ARG, "pop index out of range");
    pv *v = l->items[i];
    memmove(l->items + i, l->items + i + 1, sizeof *l->items * (size_t)(l->n - i - 1));
    l->n--;
    return v;
}

static pv *dict_view(py_interp *I, pv *self, int which)
{
    pv_dict *d = self->u.dict;
    pv *r = pv_list_new(I, PV_LIST, d->n);
    for (int64_t i = 0; r && i < d->n; i++) {
        if (which == 0) {
            pv_list_push(I, r, d->keys[i]);
        } else if (which == 1) {
            pv_list_push(I, r, d->vals[i]);
        } else {
            pv *t = pv_list_new(I, PV_TUPLE, 2);
            if (!t)
                return NULL;
            pv_list_push(I, t, d->keys[i]);
            pv_list_push(I, t, d->vals[i]);
            pv_list_push(I, r, t);
        }
    }
    return r;
}

BUILTIN(m_keys) { UNUSED_ARGS; return need_args(I, at, "keys()", argc, 0, 0, kwc) ? dict_view(I, self, 0) : NULL; }
BUILTIN(m_values) { UNUSED_ARGS; return need_args(I, at, "values()", argc, 0, 0, kwc) ? dict_view(I, self, 1) : NULL; }
BUILTIN(m_items) { UNUSED_ARGS; return need_args(I, at, "items()", argc, 0, 0, kwc) ? dict_view(I, self, 2) : NULL; }

BUILTIN(m_get)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "dict.get()", argc, 1, 2, kwc))
        return NULL;
    pv *v = pv_dict_get(self->u.dict, argv[0]);
    return v ? v : argc == 2 ? argv[1] : pv_none(I);
}

BUILTIN(m_update)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "dict.update()", argc, 1, 1, kwc) || argv[0]->k != PV_DICT)
        return I->failed ? NULL : py_error(I, at, SF_ERR_UNSUPPORTED, "dict.update() takes a dict");
    for (int64_t i = 0; i < argv[0]->u.dict->n; i++)
        if (!pv_dict_set(I, self->u.dict, argv[0]->u.dict->keys[i], argv[0]->u.dict->vals[i]))
            return NULL;
    return pv_none(I);
}

BUILTIN(m_str_format)
{
    return py_format_method(I, at, self, argc, argv, kwc, kwn, kwv);
}

static const py_builtin list_methods[] = {{"append", m_append}, {"extend", m_extend}, {"insert", m_insert},
                                          {"pop", m_pop}};
static const py_builtin dict_methods[] = {{"keys", m_keys}, {"values", m_values}, {"items", m_items},
                                          {"get", m_get}, {"update", m_update}};
static const py_builtin str_methods[] = {{"format", m_str_format}};

pv *py_builtin_find(py_interp *I, const py_builtin *table, size_t n, pv *self, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return pv_builtin(I, &table[i], self);
    return NULL;
}

pv *py_method_of_value(py_interp *I, const py_expr *at, pv *self, const char *name)
{
    pv *m = NULL;
    if (self->k == PV_LIST)
        m = py_builtin_find(I, list_methods, sizeof list_methods / sizeof list_methods[0], self, name);
    else if (self->k == PV_DICT)
        m = py_builtin_find(I, dict_methods, sizeof dict_methods / sizeof dict_methods[0], self, name);
    else if (self->k == PV_STR)
        m = py_builtin_find(I, str_methods, sizeof str_methods / sizeof str_methods[0], self, name);
    else if (self->k == PV_TUPLE && self->u.list->fields) { /* a named tuple */
        for (int64_t i = 0; self->u.list->fields[i] && i < self->u.list->n; i++)
            if (strcmp(self->u.list->fields[i], name) == 0)
                return self->u.list->items[i];
    }
    else if (self->k == PV_SUPER) {
        py_class *after = self->u.super.after;
        for (int i = 0; i < after->nbases && !m; i++)
            m = py_class_lookup(after->bases[i], name);
        if (m && m->k == PV_FUNC) {
            pv *b = pv_new(I, PV_BOUND);
            if (b) {
                b->u.bound.self = self->u.super.self;
                b->u.bound.fn = m->u.fn;
            }
            return b;
        }
        if (!m && strcmp(name, "__init__") == 0)
            return pv_builtin(I, &noop_init, NULL); /* nn.Module.__init__ / object.__init__ */
        if (!m && self->u.super.self->k == PV_OBJECT && self->u.super.self->u.obj->cls->is_module)
            m = py_module_method(I, at, self->u.super.self, name);
    }
    if (m || I->failed)
        return m;
    return py_error(I, at, SF_ERR_INVALID_ARG, "%s has no attribute '%s'", pv_describe(I, self), name);
}

/* ---- namespaces ---- */

static pv *math_const(py_interp *I, const char *name)
{
    if (strcmp(name, "pi") == 0) return pv_float(I, 3.14159265358979323846);
    if (strcmp(name, "e") == 0) return pv_float(I, 2.71828182845904523536);
    if (strcmp(name, "inf") == 0) return pv_float(I, INFINITY);
    return NULL;
}

BUILTIN(math_sqrt)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "math.sqrt()", argc, 1, 1, kwc) || !pv_is_number(argv[0]))
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "math.sqrt() of a non-number");
    double x = pv_as_double(argv[0]);
    return x < 0 ? py_error(I, at, SF_ERR_INVALID_ARG, "math domain error") : pv_float(I, sqrt(x));
}

BUILTIN(math_floorceil)
{
    UNUSED_ARGS;
    (void)self;
    if (!need_args(I, at, "math.floor()/ceil()", argc, 1, 1, kwc) || !pv_is_number(argv[0]))
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "math.floor()/ceil() of a non-number");
    return pv_int(I, (int64_t)floor(pv_as_double(argv[0])));
}

BUILTIN(math_ceil)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "math.ceil()", argc, 1, 1, kwc) || !pv_is_number(argv[0]))
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "math.ceil() of a non-number");
    return pv_int(I, (int64_t)ceil(pv_as_double(argv[0])));
}

BUILTIN(math_prod)
{
    UNUSED_ARGS;
    if (!need_args(I, at, "math.prod()", argc, 1, 1, kwc))
        return NULL;
    pv *items = pv_iterate(I, at, argv[0]);
    int64_t acc = 1;
    for (int64_t i = 0; items && i < items->u.list->n; i++) {
        int64_t x;
        if (!py_as_int(I, at, items->u.list->items[i], "math.prod() item", &x) || __builtin_mul_overflow(acc, x, &acc))
            return I->failed ? NULL : py_error(I, at, SF_ERR_UNSUPPORTED, "integer overflow");
    }
    return items ? pv_int(I, acc) : NULL;
}

/* f of one finite number (log takes a base too): a non-finite result is Python's ValueError or OverflowError */
static pv *math1(py_interp *I, const py_expr *at, int argc, pv **argv, int kwc, const char *what, double (*f)(double))
{
    int most = f == log ? 2 : 1;
    if (!need_args(I, at, what, argc, 1, most, kwc))
        return NULL;
    for (int i = 0; i < argc; i++)
        if (!pv_is_number(argv[i]))
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s of %s: it takes numbers", what, pv_describe(I, argv[i]));
    double x = pv_as_double(argv[0]), r = f(x);
    if (argc == 2)
        r /= log(pv_as_double(argv[1]));
    if (isfinite(x) && !isfinite(r))
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s(%g): math domain or range error", what, x);
    return pv_float(I, r);
}
#define MATH1(fn)                                                                                                 \
    BUILTIN(math_##fn)                                                                                            \
    {                                                                                                             \
        UNUSED_ARGS;                                                                                              \
        return math1(I, at, argc, argv, kwc, "math." #fn "()", fn);                                              \
    }
MATH1(exp) MATH1(log) MATH1(log2) MATH1(log10) MATH1(sin) MATH1(cos) MATH1(tan) MATH1(tanh) MATH1(atan) MATH1(erf)

static const py_builtin math_fns[] = {{"sqrt", math_sqrt}, {"floor", math_floorceil}, {"ceil", math_ceil},
                                      {"prod", math_prod}, {"exp", math_exp}, {"log", math_log}, {"log2", math_log2},
                                      {"log10", math_log10}, {"sin", math_sin}, {"cos", math_cos}, {"tan", math_tan},
                                      {"tanh", math_tanh}, {"atan", math_atan}, {"erf", math_erf}};

pv *py_namespace_attr(py_interp *I, const py_expr *at, int ns, const char *name)
{
    switch (ns) {
    case NS_TORCH: case NS_NN: case NS_F: case NS_INIT:
        return py_torch_attr(I, at, ns, name);
    case NS_COLLECTIONS:
        if (strcmp(name, "OrderedDict") == 0)
            return pv_builtin(I, &ordered_dict, NULL);
        break;
    case NS_MATH: {
        pv *c = math_const(I, name);
        if (c)
            return c;
        pv *m = py_builtin_find(I, math_fns, sizeof math_fns / sizeof math_fns[0], NULL, name);
        if (m)
            return m;
        break;
    }
    case NS_TYPING: {
        pv *v = pv_new(I, PV_NAMESPACE);
        if (v)
            v->u.ns = NS_TYPING; /* List, Optional, Tuple...: annotations only */
        return v;
    }
    default:
        if (ns >= NS_FOREIGN)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "%s.%s: module %s is not modelled by sheaf",
                            (const char *)I->foreign.items[ns - NS_FOREIGN], name,
                            (const char *)I->foreign.items[ns - NS_FOREIGN]);
    }
    return py_error(I, at, SF_ERR_UNSUPPORTED, "%s is not supported (see docs/python-subset.md)", name);
}

void py_install_builtins(py_interp *I)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        sf_map_put(&I->globals, builtins[i].name, pv_builtin(I, &builtins[i], NULL));
    sf_map_put(&I->globals, "__name__", pv_cstr(I, "__sheaf__"));
}
