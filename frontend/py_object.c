/* Values, containers, objects and attribute access for the evaluator. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_interp.h"

static pv *verror_at(py_interp *I, int line, int col, sf_status code, const char *fmt, va_list ap)
{
    if (I->failed)
        return NULL;
    char msg[SF_ERROR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (I->ctx)
        sf_fail(I->err, code, "%s:%d:%d: %s (in %s)", I->file, line, col, msg, I->ctx);
    else
        sf_fail(I->err, code, "%s:%d:%d: %s", I->file, line, col, msg);
    I->failed = true;
    return NULL;
}

pv *py_error_at(py_interp *I, int line, int col, sf_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror_at(I, line, col, code, fmt, ap);
    va_end(ap);
    return NULL;
}

pv *py_error(py_interp *I, const py_expr *at, sf_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror_at(I, at ? at->line : 0, at ? at->col : 0, code, fmt, ap);
    va_end(ap);
    return NULL;
}

static void *palloc(py_interp *I, size_t n)
{
    void *p = sf_arena_alloc(I->arena, n);
    if (!p && !I->failed) {
        sf_fail(I->err, SF_ERR_NOMEM, "%s: out of memory", I->file);
        I->failed = true;
    }
    return p;
}

pv *pv_new(py_interp *I, pv_kind k)
{
    pv *v = palloc(I, sizeof *v);
    if (v)
        v->k = k;
    return v;
}

pv *pv_none(py_interp *I)
{
    static pv none = {PV_NONE, {0}};
    (void)I;
    return &none;
}

pv *pv_bool(py_interp *I, bool b)
{
    static pv t = {PV_BOOL, {.b = true}}, f = {PV_BOOL, {.b = false}};
    (void)I;
    return b ? &t : &f;
}

pv *pv_int(py_interp *I, int64_t i)
{
    pv *v = pv_new(I, PV_INT);
    if (v)
        v->u.i = i;
    return v;
}

pv *pv_float(py_interp *I, double f)
{
    pv *v = pv_new(I, PV_FLOAT);
    if (v)
        v->u.f = f;
    return v;
}

pv *pv_str(py_interp *I, const char *s, size_t n)
{
    pv *v = pv_new(I, PV_STR);
    char *copy = v ? sf_arena_strndup(I->arena, s, n) : NULL;
    if (!copy)
        return NULL;
    v->u.s.s = copy;
    v->u.s.n = n;
    return v;
}

pv *pv_cstr(py_interp *I, const char *s) { return pv_str(I, s, strlen(s)); }

pv *pv_tensor(py_interp *I, sf_value *value)
{
    if (!value) /* the op failed and said why: no tensor (a NULL one was read later as something else) */
        return NULL;
    pv *v = pv_new(I, PV_TENSOR);
    py_tensor *t = v ? palloc(I, sizeof *t) : NULL;
    if (!t)
        return NULL;
    t->v = value;
    v->u.t = t;
    return v;
}

pv *pv_list_new(py_interp *I, pv_kind k, int64_t cap)
{
    pv *v = pv_new(I, k);
    pv_list *l = v ? palloc(I, sizeof *l) : NULL;
    if (!l)
        return NULL;
    if (cap > 0 && !(l->items = palloc(I, sizeof *l->items * (size_t)cap)))
        return NULL;
    l->cap = cap > 0 ? cap : 0;
    v->u.list = l;
    return v;
}

bool pv_list_push(py_interp *I, pv *list, pv *x)
{
    pv_list *l = list->u.list;
    size_t cap = (size_t)l->cap;
    pv **items = sf_arena_grow(I->arena, l->items, (size_t)l->n, &cap, sizeof *items);
    if (!items)
        return py_error(I, NULL, SF_ERR_NOMEM, "out of memory") != NULL;
    l->items = items;
    l->cap = (int64_t)cap;
    l->items[l->n++] = x;
    return true;
}

pv *pv_dict_new(py_interp *I)
{
    pv *v = pv_new(I, PV_DICT);
    pv_dict *d = v ? palloc(I, sizeof *d) : NULL;
    if (!d)
        return NULL;
    v->u.dict = d;
    return v;
}

bool pv_equal(const pv *a, const pv *b)
{
    if (pv_is_number(a) && pv_is_number(b))
        return pv_as_double(a) == pv_as_double(b) &&
               (a->k == PV_FLOAT || b->k == PV_FLOAT || a->u.i == b->u.i || a->k == PV_BOOL || b->k == PV_BOOL);
    if (a->k != b->k)
        return false;
    switch (a->k) {
    case PV_NONE: case PV_ELLIPSIS: case PV_BATCH: return true;
    case PV_STR: return a->u.s.n == b->u.s.n && memcmp(a->u.s.s, b->u.s.s, a->u.s.n) == 0;
    case PV_LIST: case PV_TUPLE:
        if (a->u.list->n != b->u.list->n)
            return false;
        for (int64_t i = 0; i < a->u.list->n; i++)
            if (!pv_equal(a->u.list->items[i], b->u.list->items[i]))
                return false;
        return true;
    case PV_OBJECT: return a->u.obj == b->u.obj;
    case PV_CLASS: return a->u.cls == b->u.cls;
    case PV_TENSOR: return a->u.t == b->u.t;
    case PV_FUNC: return a->u.fn == b->u.fn;
    case PV_NAMESPACE: return a->u.ns == b->u.ns;
    default: return a == b;
    }
}

/* A hash that agrees with pv_equal: equal numbers (1, 1.0, True) hash
 * alike, strings and tuples by content, everything else by identity. */
static uint64_t pv_hash(const pv *v)
{
    uint64_t h = 1469598103934665603ull;
    switch (v->k) {
    case PV_INT: case PV_BOOL: case PV_FLOAT: {
        double d = pv_as_double(v);
        int64_t i = v->k == PV_FLOAT ? (int64_t)d : v->u.i;
        if (v->k == PV_FLOAT && (double)i != d) {
            memcpy(&h, &d, sizeof h);
            break;
        }
        h = (uint64_t)i;
        break;
    }
    case PV_STR:
        for (size_t k = 0; k < v->u.s.n; k++)
            h = (h ^ (unsigned char)v->u.s.s[k]) * 1099511628211ull;
        break;
    case PV_LIST: case PV_TUPLE:
        for (int64_t k = 0; k < v->u.list->n; k++)
            h = (h ^ pv_hash(v->u.list->items[k])) * 1099511628211ull;
        break;
    case PV_NONE: case PV_ELLIPSIS: case PV_BATCH: h = (uint64_t)v->k; break;
    case PV_OBJECT: h = (uint64_t)(uintptr_t)v->u.obj; break;
    case PV_CLASS: h = (uint64_t)(uintptr_t)v->u.cls; break;
    case PV_TENSOR: h = (uint64_t)(uintptr_t)v->u.t; break;
    case PV_FUNC: h = (uint64_t)(uintptr_t)v->u.fn; break;
    case PV_NAMESPACE: h = (uint64_t)(uintptr_t)v->u.ns; break;
    default: h = (uint64_t)(uintptr_t)v; break;
    }
    h ^= h >> 33, h *= 0xff51afd7ed558ccdull, h ^= h >> 33; /* spread the low bits */
    return h;
}

enum { DICT_LINEAR = 8 }; /* up to this many entries a scan is as quick as a hash */

/* the entry's index, or -1 */
static int64_t dict_find(const pv_dict *d, const pv *key)
{
    if (!d->slots) {
        for (int64_t i = 0; i < d->n; i++)
            if (pv_equal(d->keys[i], key))
                return i;
        return -1;
    }
    for (uint64_t s = pv_hash(key) & (uint64_t)(d->nslots - 1);; s = (s + 1) & (uint64_t)(d->nslots - 1)) {
        int64_t i = d->slots[s] - 1;
        if (i < 0 || pv_equal(d->keys[i], key))
            return i;
    }
}

static void slot_put(pv_dict *d, int64_t i)
{
    uint64_t s = pv_hash(d->keys[i]) & (uint64_t)(d->nslots - 1);
    while (d->slots[s])
        s = (s + 1) & (uint64_t)(d->nslots - 1);
    d->slots[s] = i + 1;
}

/* entry i (just appended) into the index, rebuilt twice as large when half full */
static bool index_entry(py_interp *I, pv_dict *d, int64_t i)
{
    if (d->n <= DICT_LINEAR)
        return true;
    if (!d->slots || 2 * d->n > d->nslots) {
        int64_t ns = d->nslots ? 2 * d->nslots : 64;
        int64_t *slots = palloc(I, sizeof *slots * (size_t)ns);
        if (!slots)
            return false;
        memset(slots, 0, sizeof *slots * (size_t)ns);
        d->slots = slots, d->nslots = ns;
        for (int64_t k = 0; k < d->n; k++)
            slot_put(d, k);
        return true;
    }
    slot_put(d, i);
    return true;
}

pv *pv_dict_get(const pv_dict *d, const pv *key)
{
    int64_t i = dict_find(d, key);
    return i < 0 ? NULL : d->vals[i];
}

bool pv_dict_set(py_interp *I, pv_dict *d, pv *key, pv *val)
{
    int64_t at = dict_find(d, key);
    if (at >= 0) {
        d->vals[at] = val;
        return true;
    }
    size_t kc = (size_t)d->cap, vc = kc;
    pv **k = sf_arena_grow(I->arena, d->keys, (size_t)d->n, &kc, sizeof *k);
    pv **v = k ? sf_arena_grow(I->arena, d->vals, (size_t)d->n, &vc, sizeof *v) : NULL;
    if (!v)
        return py_error(I, NULL, SF_ERR_NOMEM, "out of memory") != NULL;
    d->keys = k, d->vals = v, d->cap = (int64_t)kc;
    d->keys[d->n] = key;
    d->vals[d->n++] = val;
    return index_entry(I, d, d->n - 1) || py_error(I, NULL, SF_ERR_NOMEM, "out of memory") != NULL;
}

pv *pv_dict_gets(const pv_dict *d, const char *key)
{
    pv k = {PV_STR, {.s = {key, strlen(key)}}};
    return pv_dict_get(d, &k);
}

bool pv_dict_sets(py_interp *I, pv_dict *d, const char *key, pv *val)
{
    pv *k = pv_cstr(I, key);
    return k && pv_dict_set(I, d, k, val);
}

pv *pv_builtin(py_interp *I, const py_builtin *b, pv *self)
{
    pv *v = pv_new(I, PV_BUILTIN);
    if (v) {
        v->u.builtin.b = b;
        v->u.builtin.self = self;
    }
    return v;
}

bool pv_is_number(const pv *v) { return v->k == PV_INT || v->k == PV_FLOAT || v->k == PV_BOOL; }

double pv_as_double(const pv *v)
{
    return v->k == PV_FLOAT ? v->u.f : v->k == PV_BOOL ? (double)v->u.b : (double)v->u.i;
}

const char *pv_type_name(const pv *v)
{
    switch (v->k) {
    case PV_NONE: return "NoneType";
    case PV_BOOL: return "bool";
    case PV_INT: return "int";
    case PV_FLOAT: return "float";
    case PV_STR: return "str";
    case PV_ELLIPSIS: return "ellipsis";
    case PV_BATCH: return "batch size";
    case PV_LIST: return "list";
    case PV_TUPLE: return "tuple";
    case PV_DICT: return "dict";
    case PV_SLICE: return "slice";
    case PV_RANGE: return "range";
    case PV_TENSOR: return "Tensor";
    case PV_INIT: return "Tensor (made in __init__)";
    case PV_OBJECT: return v->u.obj->cls->name;
    case PV_CLASS: return "class";
    case PV_FUNC: case PV_BOUND: return "function";
    case PV_BUILTIN: return "builtin function";
    case PV_NAMESPACE: return "module";
    case PV_SUPER: return "super";
    }
    return "value";
}

const char *py_object_name(const py_object *o)
{
    return o->cls->name;
}

const char *pv_describe(py_interp *I, const pv *v)
{
    char buf[256];
    switch (v->k) {
    case PV_INT: snprintf(buf, sizeof buf, "int %lld", (long long)v->u.i); break;
    case PV_FLOAT: snprintf(buf, sizeof buf, "float %g", v->u.f); break;
    case PV_BOOL: snprintf(buf, sizeof buf, "bool %s", v->u.b ? "True" : "False"); break;
    case PV_STR: snprintf(buf, sizeof buf, "str '%.60s'", v->u.s.s); break;
    case PV_TENSOR:
        if (v->u.t->v) {
            char tb[160];
            snprintf(buf, sizeof buf, "tensor %s", sf_type_str(&v->u.t->v->type, tb, sizeof tb));
        } else {
            snprintf(buf, sizeof buf, "parameter tensor");
        }
        break;
    case PV_OBJECT:
        if (v->u.obj->path && *v->u.obj->path)
            snprintf(buf, sizeof buf, "%s '%s'", v->u.obj->cls->name, v->u.obj->path);
        else
            snprintf(buf, sizeof buf, "%s object", v->u.obj->cls->name);
        break;
    case PV_CLASS: snprintf(buf, sizeof buf, "class %s", v->u.cls->name); break;
    case PV_LIST: case PV_TUPLE:
        snprintf(buf, sizeof buf, "%s of length %lld", pv_type_name(v), (long long)v->u.list->n);
        break;
    default: snprintf(buf, sizeof buf, "%s", pv_type_name(v)); break;
    }
    char *s = sf_arena_strdup(I->arena, buf);
    return s ? s : "value";
}

bool pv_truth(py_interp *I, const py_expr *at, const pv *v, bool *out)
{
    switch (v->k) {
    case PV_NONE: *out = false; return true;
    case PV_BOOL: *out = v->u.b; return true;
    case PV_INT: *out = v->u.i != 0; return true;
    case PV_FLOAT: *out = v->u.f != 0.0; return true;
    case PV_STR: *out = v->u.s.n != 0; return true;
    case PV_LIST: case PV_TUPLE: *out = v->u.list->n != 0; return true;
    case PV_DICT: *out = v->u.dict->n != 0; return true;
    case PV_RANGE:
        *out = v->u.range.step > 0 ? v->u.range.start < v->u.range.stop : v->u.range.start > v->u.range.stop;
        return true;
    case PV_BATCH: *out = true; return true;
    case PV_TENSOR: case PV_INIT:
        py_error(I, at, SF_ERR_UNSUPPORTED,
                 "the truth of a tensor is not known at compile time: control flow must depend on compile-time "
                 "values (pass non-tensor forward arguments with --const)");
        return false;
    case PV_OBJECT:
        if (v->u.obj->cls->nn) { /* containers: truth is length, like PyTorch's __len__ */
            *out = true;
            return true;
        }
        *out = true;
        return true;
    default: *out = true; return true;
    }
}

/* ---- objects ---- */

py_object *py_object_new(py_interp *I, py_class *cls)
{
    py_object *o = palloc(I, sizeof *o);
    pv *attrs = o ? pv_dict_new(I) : NULL;
    if (!attrs)
        return NULL;
    o->cls = cls;
    o->attrs = attrs->u.dict;
    return o;
}

py_param *py_param_find(const py_object *o, const char *name)
{
    for (int i = 0; i < o->nparams; i++)
        if (strcmp(o->params[i]->name, name) == 0)
            return o->params[i];
    return NULL;
}

py_param *py_param_add(py_interp *I, const py_expr *at, py_object *o, const char *name, const py_init *init, bool buffer)
{
    py_param *p = py_param_find(o, name);
    if (!p) {
        size_t cap = (size_t)o->capparams;
        py_param **ps = sf_arena_grow(I->arena, o->params, (size_t)o->nparams, &cap, sizeof *ps);
        if (!ps) {
            py_error(I, at, SF_ERR_NOMEM, "out of memory");
            return NULL;
        }
        o->params = ps;
        o->capparams = (int)cap;
        if (!(p = palloc(I, sizeof *p)) || !(p->name = sf_arena_strdup(I->arena, name)))
            return NULL;
        o->params[o->nparams++] = p;
        if (!sf_vec_push(&I->params, p)) {
            py_error(I, at, SF_ERR_NOMEM, "out of memory");
            return NULL;
        }
    }
    p->owner = o;
    p->init = *init;
    p->buffer = buffer;
    return p;
}

py_object *py_child_find(const py_object *o, const char *name)
{
    for (int64_t i = 0; i < o->nchildren; i++)
        if (strcmp(o->children[i].name, name) == 0)
            return o->children[i].obj;
    return NULL;
}

bool py_child_add(py_interp *I, py_object *o, const char *name, py_object *child)
{
    for (int64_t i = 0; i < o->nchildren; i++)
        if (strcmp(o->children[i].name, name) == 0) {
            o->children[i].obj = child;
            return true;
        }
    return py_child_append(I, o, name, child);
}

/* Containers name children by position: the name is new, no search. */
bool py_child_append(py_interp *I, py_object *o, const char *name, py_object *child)
{
    size_t cap = (size_t)o->capchildren;
    py_child *c = sf_arena_grow(I->arena, o->children, (size_t)o->nchildren, &cap, sizeof *c);
    if (!c)
        return py_error(I, NULL, SF_ERR_NOMEM, "out of memory") != NULL;
    o->children = c;
    o->capchildren = (int64_t)cap;
    const char *copy = sf_arena_strdup(I->arena, name);
    if (!copy)
        return false;
    o->children[o->nchildren].name = copy;
    o->children[o->nchildren++].obj = child;
    return true;
}

bool py_class_is(const py_class *c, const py_class *base)
{
    if (c == base)
        return true;
    for (int i = 0; i < c->nbases; i++)
        if (py_class_is(c->bases[i], base))
            return true;
    return false;
}

/* Depth-first, left to right: the MRO of the single-inheritance models we see. */
pv *py_class_lookup(const py_class *c, const char *name)
{
    if (c->dict) {
        pv *v = pv_dict_gets(c->dict, name);
        if (v)
            return v;
    }
    for (int i = 0; i < c->nbases; i++) {
        pv *v = py_class_lookup(c->bases[i], name);
        if (v)
            return v;
    }
    return NULL;
}

pv *py_param_tensor(py_interp *I, const py_expr *at, py_param *p)
{
    if (p->integer)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "buffer '%s' is an integer tensor; only float tensors are traced",
                        p->name);
    if (!p->key)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "parameter '%s' of a %s that is not registered in the model (held in a plain Python list "
                        "or dict?): PyTorch leaves it out of state_dict; use nn.ModuleList or nn.ModuleDict",
                        p->name, p->owner->cls->name);
    if (!I->g)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "parameter '%s' used outside forward", p->key);
    if (!p->ir) {
        sf_error e = {0};
        p->ir = sf_graph_param(I->g, p->key, &p->init.type, &e);
        if (!p->ir)
            return py_error(I, at, e.code, "%s", e.msg);
    }
    pv *v = pv_tensor(I, p->ir);
    if (v)
        v->u.t->param = p;
    return v;
}

pv *py_getattr(py_interp *I, const py_expr *at, pv *obj, const char *name)
{
    switch (obj->k) {
    case PV_OBJECT: {
        py_object *o = obj->u.obj;
        py_param *p = py_param_find(o, name);
        if (p) {
            if (!I->g || !p->key) { /* in __init__: a handle, usable by nn.init and shape queries */
                pv *v = pv_new(I, PV_INIT);
                if (v)
                    v->u.init = &p->init;
                return v;
            }
            return py_param_tensor(I, at, p);
        }
        py_object *c = py_child_find(o, name);
        if (c) {
            pv *v = pv_new(I, PV_OBJECT);
            if (v)
                v->u.obj = c;
            return v;
        }
        pv *v = pv_dict_gets(o->attrs, name);
        if (v)
            return v;
        if (o->cls->nn && (v = py_nn_attr(I, at, o, name)))
            return v;
        if (I->failed)
            return NULL;
        pv *m = py_class_lookup(o->cls, name);
        if (m && m->k == PV_FUNC) {
            pv *b = pv_new(I, PV_BOUND);
            if (b) {
                b->u.bound.self = obj;
                b->u.bound.fn = m->u.fn;
            }
            return b;
        }
        if (m)
            return m;
        if (o->cls->is_module && (v = py_module_method(I, at, obj, name)))
            return v;
        if (I->failed)
            return NULL;
        return py_error(I, at, SF_ERR_INVALID_ARG, "'%s' object%s%s has no attribute '%s'", o->cls->name,
                        o->path && *o->path ? " " : "", o->path && *o->path ? o->path : "", name);
    }
    case PV_CLASS: {
        pv *m = py_class_lookup(obj->u.cls, name);
        if (m)
            return m;
        return py_error(I, at, SF_ERR_INVALID_ARG, "class %s has no attribute '%s'", obj->u.cls->name, name);
    }
    case PV_NAMESPACE:
        return py_namespace_attr(I, at, obj->u.ns, name);
    case PV_TENSOR:
    case PV_INIT:
        return py_tensor_method(I, at, obj, name);
    default:
        return py_method_of_value(I, at, obj, name);
    }
}

bool py_setattr(py_interp *I, const py_expr *at, pv *obj, const char *name, pv *val)
{
    if (obj->k != PV_OBJECT) {
        py_error(I, at, SF_ERR_UNSUPPORTED, "cannot set attribute '%s' on %s", name, pv_describe(I, obj));
        return false;
    }
    py_object *o = obj->u.obj;
    if (val->k == PV_OBJECT && val->u.obj->cls->is_module && o->cls->is_module)
        return py_child_add(I, o, name, val->u.obj) ||
               (py_error(I, at, SF_ERR_NOMEM, "out of memory"), false);
    if (val->k == PV_INIT && o->cls->is_module) {
        /* PyTorch keeps a plain tensor attribute out of state_dict: refuse it
         * rather than invent values; reassigning a parameter or buffer is fine */
        py_param *existing = py_param_find(o, name);
        if (!existing && !val->u.init->parameter) {
            py_error(I, at, SF_ERR_UNSUPPORTED,
                     "tensor attribute '%s' is not in state_dict: wrap it in nn.Parameter or use register_buffer",
                     name);
            return false;
        }
        return py_param_add(I, at, o, name, val->u.init, existing ? existing->buffer : false) != NULL;
    }
    if (val->k == PV_TENSOR) {
        py_error(I, at, SF_ERR_UNSUPPORTED, "storing a traced tensor in attribute '%s' is not supported", name);
        return false;
    }
    return pv_dict_sets(I, o->attrs, name, val) || (py_error(I, at, SF_ERR_NOMEM, "out of memory"), false);
}

/* ---- iteration ---- */

pv *pv_iterate(py_interp *I, const py_expr *at, pv *v)
{
    switch (v->k) {
    case PV_LIST: case PV_TUPLE:
        return v;
    case PV_RANGE: {
        int64_t s = v->u.range.start, e = v->u.range.stop, st = v->u.range.step;
        int64_t n = st > 0 ? (e > s ? (e - s + st - 1) / st : 0) : (s > e ? (s - e - st - 1) / -st : 0);
        if (n > 100000000)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "range of %lld elements is too long to unroll", (long long)n);
        pv *l = pv_list_new(I, PV_LIST, n);
        for (int64_t i = 0; l && i < n; i++)
            if (!pv_list_push(I, l, pv_int(I, s + i * st)))
                return NULL;
        return l;
    }
    case PV_DICT: {
        pv *l = pv_list_new(I, PV_LIST, v->u.dict->n);
        for (int64_t i = 0; l && i < v->u.dict->n; i++)
            if (!pv_list_push(I, l, v->u.dict->keys[i]))
                return NULL;
        return l;
    }
    case PV_STR: {
        pv *l = pv_list_new(I, PV_LIST, (int64_t)v->u.s.n);
        for (size_t i = 0; l && i < v->u.s.n; i++)
            if (!pv_list_push(I, l, pv_str(I, v->u.s.s + i, 1)))
                return NULL;
        return l;
    }
    case PV_OBJECT: {
        py_object *o = v->u.obj;
        int nn = o->cls->nn;
        (void)nn;
        pv *m = py_module_method(I, at, v, "__iter__");
        if (m)
            return py_call(I, at, m, 0, NULL, 0, NULL, NULL);
        if (I->failed)
            return NULL;
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s is not iterable", pv_describe(I, v));
    }
    case PV_TENSOR:
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "iterating over a tensor is not supported: index it with compile-time integers");
    default:
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s is not iterable", pv_describe(I, v));
    }
}
