/* Methods of nn.Module objects (user modules and torch.nn ones): add_module,
 * register_buffer, apply, eval..., and the ModuleList / Sequential /
 * ModuleDict container protocol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/py_interp.h"
#include "frontend/py_torch.h"

#define MFN(name) \
    static pv *name(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn, pv **kwv)

static pv *obj_value(py_interp *I, py_object *o)
{
    pv *v = pv_new(I, PV_OBJECT);
    if (v)
        v->u.obj = o;
    return v;
}

static bool is_list_like(const py_object *o)
{
    return o->cls->nn && (!strcmp(o->cls->name, "ModuleList") || !strcmp(o->cls->name, "Sequential"));
}

static bool is_dict_like(const py_object *o) { return o->cls->nn && !strcmp(o->cls->name, "ModuleDict"); }

static const char *where(const py_object *o)
{
    return o->path && *o->path ? o->path : "(not yet attached)";
}

MFN(m_add_module)
{
    static const char *const names[] = {"name", "module", NULL};
    pv *a[2];
    if (!py_bind(I, at, "add_module()", names, 2, argc, argv, kwc, kwn, kwv, a))
        return NULL;
    if (a[0]->k != PV_STR || a[1]->k != PV_OBJECT || !a[1]->u.obj->cls->is_module)
        return py_error(I, at, SF_ERR_INVALID_ARG, "add_module(name: str, module: nn.Module)");
    return py_child_add(I, self->u.obj, a[0]->u.s.s, a[1]->u.obj) ? pv_none(I) : NULL;
}

MFN(m_register_buffer)
{
    static const char *const names[] = {"name", "tensor", "persistent", NULL};
    pv *a[3];
    if (!py_bind(I, at, "register_buffer()", names, 2, argc, argv, kwc, kwn, kwv, a))
        return NULL;
    bool persistent = true;
    if (a[2] && !pv_truth(I, at, a[2], &persistent))
        return NULL;
    if (a[0]->k != PV_STR || a[1]->k != PV_INIT)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "register_buffer(name, tensor) needs a tensor made with torch.zeros/ones/randn/rand/empty/full");
    if (!persistent)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "non-persistent buffer '%s' is not in state_dict, so its values are unknown to sheaf",
                        a[0]->u.s.s);
    return py_param_add(I, at, self->u.obj, a[0]->u.s.s, a[1]->u.init, true) ? pv_none(I) : NULL;
}

MFN(m_register_parameter)
{
    static const char *const names[] = {"name", "param", NULL};
    pv *a[2];
    if (!py_bind(I, at, "register_parameter()", names, 2, argc, argv, kwc, kwn, kwv, a))
        return NULL;
    if (a[0]->k != PV_STR || a[1]->k != PV_INIT)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "register_parameter(name, nn.Parameter(...))");
    return py_param_add(I, at, self->u.obj, a[0]->u.s.s, a[1]->u.init, false) ? pv_none(I) : NULL;
}

/* eval(), train(), to(...), cuda(), float()...: inference on one device, f32 */
MFN(m_self)
{
    (void)I, (void)at, (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv;
    return self;
}

static bool collect_modules(py_interp *I, py_object *o, pv *out, bool recurse, int depth)
{
    if (depth > 1000)
        return py_error(I, NULL, SF_ERR_UNSUPPORTED, "modules nested deeper than 1000") != NULL;
    for (int64_t i = 0; i < o->nchildren; i++) {
        if (!pv_list_push(I, out, obj_value(I, o->children[i].obj)))
            return false;
        if (recurse && !collect_modules(I, o->children[i].obj, out, true, depth + 1))
            return false;
    }
    return true;
}

MFN(m_children)
{
    (void)argv, (void)kwn, (void)kwv;
    pv *out = pv_list_new(I, PV_LIST, self->u.obj->nchildren);
    if (argc || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "children() takes no arguments");
    return out && collect_modules(I, self->u.obj, out, false, 0) ? out : NULL;
}

MFN(m_modules)
{
    (void)argv, (void)kwn, (void)kwv;
    pv *out = pv_list_new(I, PV_LIST, 0);
    if (argc || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "modules() takes no arguments");
    return out && pv_list_push(I, out, self) && collect_modules(I, self->u.obj, out, true, 0) ? out : NULL;
}

/* apply(fn): children first, then the module itself, as PyTorch */
static bool apply_to(py_interp *I, const py_expr *at, py_object *o, pv *fn, int depth)
{
    if (depth > 1000)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "modules nested deeper than 1000") != NULL;
    for (int64_t i = 0; i < o->nchildren; i++)
        if (!apply_to(I, at, o->children[i].obj, fn, depth + 1))
            return false;
    pv *v = obj_value(I, o);
    return v && py_call(I, at, fn, 1, &v, 0, NULL, NULL);
}

MFN(m_apply)
{
    (void)kwn, (void)kwv;
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "apply(fn) takes one function");
    return apply_to(I, at, self->u.obj, argv[0], 0) ? self : NULL;
}

/* ---- containers ---- */

MFN(m_len)
{
    (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv;
    (void)at;
    return pv_int(I, self->u.obj->nchildren);
}

MFN(m_iter)
{
    (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv, (void)at;
    py_object *o = self->u.obj;
    pv *out = pv_list_new(I, PV_LIST, o->nchildren);
    for (int64_t i = 0; out && i < o->nchildren; i++)
        if (!pv_list_push(I, out, is_dict_like(o) ? pv_cstr(I, o->children[i].name) : obj_value(I, o->children[i].obj)))
            return NULL;
    return out;
}

static py_object *new_like(py_interp *I, py_object *o)
{
    py_object *n = py_object_new(I, o->cls);
    if (n)
        n->cfg = o->cfg;
    return n;
}

MFN(m_getitem)
{
    (void)kwn, (void)kwv;
    py_object *o = self->u.obj;
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "indexing takes one index");
    pv *idx = argv[0];
    if (is_dict_like(o)) {
        if (idx->k != PV_STR)
            return py_error(I, at, SF_ERR_INVALID_ARG, "ModuleDict keys are strings");
        py_object *c = py_child_find(o, idx->u.s.s);
        return c ? obj_value(I, c)
                 : py_error(I, at, SF_ERR_INVALID_ARG, "no key '%s' in ModuleDict '%s'", idx->u.s.s, where(o));
    }
    if (idx->k == PV_SLICE) {
        int64_t a, b, st;
        if (!py_slice_bounds(I, at, idx, o->nchildren, &a, &b, &st))
            return NULL;
        py_object *n = new_like(I, o);
        for (int64_t i = a; n && (st > 0 ? i < b : i > b); i += st) {
            char name[32];
            snprintf(name, sizeof name, "%lld", (long long)n->nchildren);
            if (!py_child_append(I, n, name, o->children[i].obj))
                return NULL;
        }
        return n ? obj_value(I, n) : NULL;
    }
    int64_t i;
    if (!py_as_int(I, at, idx, "module index", &i))
        return NULL;
    int64_t j = i < 0 ? i + o->nchildren : i;
    if (j < 0 || j >= o->nchildren)
        return py_error(I, at, SF_ERR_INVALID_ARG, "index %lld is out of range for %s '%s' of length %lld",
                        (long long)i, o->cls->name, where(o), (long long)o->nchildren);
    return obj_value(I, o->children[j].obj);
}

MFN(m_setitem)
{
    (void)kwn, (void)kwv;
    py_object *o = self->u.obj;
    if (argc != 2 || kwc || argv[1]->k != PV_OBJECT || !argv[1]->u.obj->cls->is_module)
        return py_error(I, at, SF_ERR_INVALID_ARG, "container[index] = module");
    if (is_dict_like(o)) {
        if (argv[0]->k != PV_STR)
            return py_error(I, at, SF_ERR_INVALID_ARG, "ModuleDict keys are strings");
        return py_child_add(I, o, argv[0]->u.s.s, argv[1]->u.obj) ? pv_none(I) : NULL;
    }
    int64_t i;
    if (!py_as_int(I, at, argv[0], "module index", &i))
        return NULL;
    int64_t j = i < 0 ? i + o->nchildren : i;
    if (j < 0 || j >= o->nchildren)
        return py_error(I, at, SF_ERR_INVALID_ARG, "index %lld is out of range for %s of length %lld", (long long)i,
                        o->cls->name, (long long)o->nchildren);
    o->children[j].obj = argv[1]->u.obj;
    return pv_none(I);
}

static bool append_module(py_interp *I, const py_expr *at, py_object *o, pv *m)
{
    if (m->k != PV_OBJECT || !m->u.obj->cls->is_module)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s holds modules, got %s", o->cls->name, pv_describe(I, m)) != NULL;
    char name[32];
    snprintf(name, sizeof name, "%lld", (long long)o->nchildren);
    return py_child_append(I, o, name, m->u.obj);
}

MFN(m_append)
{
    (void)kwn, (void)kwv;
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "append(module)");
    return append_module(I, at, self->u.obj, argv[0]) ? self : NULL;
}

MFN(m_extend)
{
    (void)kwn, (void)kwv;
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "extend(modules)");
    pv *items = pv_iterate(I, at, argv[0]);
    for (int64_t i = 0; items && i < items->u.list->n; i++)
        if (!append_module(I, at, self->u.obj, items->u.list->items[i]))
            return NULL;
    return items ? self : NULL;
}

MFN(m_insert)
{
    (void)kwn, (void)kwv;
    py_object *o = self->u.obj;
    int64_t i;
    if (argc != 2 || kwc || !py_as_int(I, at, argv[0], "index", &i))
        return I->failed ? NULL : py_error(I, at, SF_ERR_INVALID_ARG, "insert(index, module)");
    if (!append_module(I, at, o, argv[1]))
        return NULL;
    int64_t n = o->nchildren - 1;
    i = py_insert_at(i, n);
    py_object *m = o->children[n].obj;
    for (int64_t k = n; k > i; k--)
        o->children[k].obj = o->children[k - 1].obj;
    o->children[i].obj = m;
    return pv_none(I);
}

static pv *dict_entries(py_interp *I, py_object *o, int which)
{
    pv *out = pv_list_new(I, PV_LIST, o->nchildren);
    for (int64_t i = 0; out && i < o->nchildren; i++) {
        pv *k = pv_cstr(I, o->children[i].name), *v = obj_value(I, o->children[i].obj), *x = which == 0 ? k : v;
        if (which == 2) {
            x = pv_list_new(I, PV_TUPLE, 2);
            if (!x || !pv_list_push(I, x, k) || !pv_list_push(I, x, v))
                return NULL;
        }
        if (!pv_list_push(I, out, x))
            return NULL;
    }
    return out;
}

MFN(m_keys) { (void)at, (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv; return dict_entries(I, self->u.obj, 0); }
MFN(m_values) { (void)at, (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv; return dict_entries(I, self->u.obj, 1); }
MFN(m_items) { (void)at, (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv; return dict_entries(I, self->u.obj, 2); }

static const py_builtin module_methods[] = {
    {"add_module", m_add_module}, {"register_module", m_add_module}, {"register_buffer", m_register_buffer},
    {"register_parameter", m_register_parameter}, {"eval", m_self}, {"train", m_self}, {"to", m_self},
    {"cuda", m_self}, {"cpu", m_self}, {"float", m_self}, {"requires_grad_", m_self}, {"zero_grad", m_self},
    {"children", m_children}, {"modules", m_modules}, {"apply", m_apply},
};
static const py_builtin list_methods[] = {
    {"__len__", m_len}, {"__iter__", m_iter}, {"__getitem__", m_getitem}, {"__setitem__", m_setitem},
    {"append", m_append}, {"extend", m_extend}, {"insert", m_insert},
};
/* ---- ParameterList: its parameters are named 0, 1, ... in order ---- */

static bool is_param_list(const py_object *o) { return o->cls->nn && !strcmp(o->cls->name, "ParameterList"); }

/* the i-th parameter as a value (a handle in __init__, the tensor in forward) */
static pv *param_at(py_interp *I, const py_expr *at, pv *self, int64_t i)
{
    char name[32];
    snprintf(name, sizeof name, "%lld", (long long)i);
    return py_getattr(I, at, self, name);
}

MFN(p_len)
{
    (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv, (void)at;
    return pv_int(I, self->u.obj->nparams);
}

MFN(p_iter)
{
    (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv;
    pv *out = pv_list_new(I, PV_LIST, self->u.obj->nparams);
    for (int i = 0; out && i < self->u.obj->nparams; i++)
        if (!pv_list_push(I, out, param_at(I, at, self, i)))
            return NULL;
    return out;
}

MFN(p_getitem)
{
    (void)kwn, (void)kwv;
    int64_t i, n = self->u.obj->nparams;
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "indexing takes one index");
    if (argv[0]->k == PV_SLICE)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "slicing a ParameterList is not supported");
    if (!py_as_int(I, at, argv[0], "parameter index", &i))
        return NULL;
    if (i < -n || i >= n)
        return py_error(I, at, SF_ERR_INVALID_ARG, "index %lld is out of range for ParameterList '%s' of length %lld",
                        (long long)i, where(self->u.obj), (long long)n);
    return param_at(I, at, self, i < 0 ? i + n : i);
}

/* append(p): p made in __init__ (nn.Parameter(torch.zeros(...)), torch.randn(...)) */
bool py_param_list_append(py_interp *I, const py_expr *at, py_object *o, pv *p)
{
    if (p->k != PV_INIT)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "ParameterList holds tensors made in __init__ (nn.Parameter(torch."
                                                   "zeros/ones/randn/rand/empty/full(...))), got %s",
                        pv_describe(I, p)) != NULL;
    char name[32];
    snprintf(name, sizeof name, "%d", o->nparams);
    py_init init = *p->u.init;
    init.parameter = true; /* a plain tensor becomes a Parameter there, as in PyTorch */
    return py_param_add(I, at, o, name, &init, false) != NULL;
}

MFN(p_append)
{
    (void)kwn, (void)kwv;
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "append() takes one parameter");
    return py_param_list_append(I, at, self->u.obj, argv[0]) ? self : NULL;
}

MFN(p_extend)
{
    (void)kwn, (void)kwv;
    if (argc != 1 || kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "extend() takes one iterable");
    pv *items = pv_iterate(I, at, argv[0]);
    for (int64_t i = 0; items && i < items->u.list->n; i++)
        if (!py_param_list_append(I, at, self->u.obj, items->u.list->items[i]))
            return NULL;
    return items ? self : NULL;
}

static const py_builtin param_list_methods[] = {
    {"__len__", p_len}, {"__iter__", p_iter}, {"__getitem__", p_getitem}, {"append", p_append}, {"extend", p_extend},
};

/* ---- ParameterDict: its parameters are named by its keys ---- */

static bool is_param_dict(const py_object *o) { return o->cls->nn && !strcmp(o->cls->name, "ParameterDict"); }

/* pd[key] = p in __init__: p made there becomes parameter `key` */
bool py_param_dict_set(py_interp *I, const py_expr *at, py_object *o, const char *key, pv *p)
{
    if (p->k != PV_INIT)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "ParameterDict holds tensors made in __init__ (nn.Parameter(torch."
                                                   "zeros/ones/randn/rand/empty/full(...))), got %s for key '%s'",
                        pv_describe(I, p), key) != NULL;
    if (!*key || strchr(key, '.') || py_param_find(o, key))
        return py_error(I, at, SF_ERR_INVALID_ARG, "ParameterDict key '%s': empty, dotted or already there", key) != NULL;
    py_init init = *p->u.init;
    init.parameter = true;
    return py_param_add(I, at, o, key, &init, false) != NULL;
}

/* keys (0), values (1) or (key, value) pairs (2), in the dict's order */
static pv *param_entries(py_interp *I, const py_expr *at, pv *self, int what)
{
    py_object *o = self->u.obj;
    pv *out = pv_list_new(I, PV_LIST, o->nparams);
    for (int i = 0; out && i < o->nparams; i++) {
        pv *k = pv_str(I, o->params[i]->name, strlen(o->params[i]->name)), *v = what ? py_getattr(I, at, self, o->params[i]->name) : k, *item = v;
        if (what == 2 && (item = pv_list_new(I, PV_TUPLE, 2)) && (!pv_list_push(I, item, k) || !pv_list_push(I, item, v)))
            return NULL;
        if (!k || !v || !item || !pv_list_push(I, out, item))
            return NULL;
    }
    return out;
}

MFN(d_keys) { (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv; return param_entries(I, at, self, 0); }
MFN(d_values) { (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv; return param_entries(I, at, self, 1); }
MFN(d_items) { (void)argc, (void)argv, (void)kwc, (void)kwn, (void)kwv; return param_entries(I, at, self, 2); }

MFN(d_getitem)
{
    (void)kwn, (void)kwv;
    if (argc != 1 || kwc || argv[0]->k != PV_STR)
        return py_error(I, at, SF_ERR_INVALID_ARG, "ParameterDict keys are strings");
    if (!py_param_find(self->u.obj, argv[0]->u.s.s))
        return py_error(I, at, SF_ERR_INVALID_ARG, "no key '%s' in ParameterDict '%s'", argv[0]->u.s.s,
                        where(self->u.obj));
    return py_getattr(I, at, self, argv[0]->u.s.s);
}

MFN(d_setitem)
{
    (void)kwn, (void)kwv;
    if (argc != 2 || kwc || argv[0]->k != PV_STR)
        return py_error(I, at, SF_ERR_INVALID_ARG, "ParameterDict keys are strings");
    return py_param_dict_set(I, at, self->u.obj, argv[0]->u.s.s, argv[1]) ? pv_none(I) : NULL;
}

static const py_builtin param_dict_methods[] = {
    {"__len__", p_len}, {"__iter__", d_keys}, {"__getitem__", d_getitem}, {"__setitem__", d_setitem},
    {"keys", d_keys}, {"values", d_values}, {"items", d_items},
};

/* ParameterList(values=None): each a tensor made in __init__, named 0, 1, ... */
bool py_param_list_init(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn,
                        pv **kwv)
{
    static const char *const names[] = {"values", NULL};
    pv *a[2];
    if (!py_bind(I, at, "nn.ParameterList()", names, 0, argc, argv, kwc, kwn, kwv, a))
        return false;
    pv *items = a[0] && a[0]->k != PV_NONE ? pv_iterate(I, at, a[0]) : NULL;
    if (a[0] && a[0]->k != PV_NONE && !items)
        return false;
    for (int64_t i = 0; items && i < items->u.list->n; i++)
        if (!py_param_list_append(I, at, o, items->u.list->items[i]))
            return false;
    return true;
}

static int key_order(const void *a, const void *b)
{
    const pv *x = ((pv *const *)a)[0], *y = ((pv *const *)b)[0];
    return strcmp(x->u.s.s, y->u.s.s);
}

/* ParameterDict(values=None), as PyTorch's update(): an OrderedDict's (or
 * pairs') order as given, a plain dict's keys sorted */
bool py_param_dict_init(py_interp *I, const py_expr *at, py_object *o, int argc, pv **argv, int kwc, const char **kwn,
                        pv **kwv)
{
    static const char *const names[] = {"values", NULL};
    pv *a[2];
    if (!py_bind(I, at, "nn.ParameterDict()", names, 0, argc, argv, kwc, kwn, kwv, a))
        return false;
    if (!a[0] || a[0]->k == PV_NONE)
        return true;
    int64_t n = 0;
    pv **pairs = NULL; /* key, value, key, value ... */
    if (a[0]->k == PV_DICT) {
        const pv_dict *d = a[0]->u.dict;
        if (!(pairs = sf_arena_alloc(I->arena, sizeof *pairs * (size_t)(2 * d->n + 1))))
            return py_error(I, at, SF_ERR_NOMEM, "out of memory") != NULL;
        for (n = 0; n < d->n; n++)
            pairs[2 * n] = d->keys[n], pairs[2 * n + 1] = d->vals[n];
        for (int64_t i = 0; i < n; i++)
            if (pairs[2 * i]->k != PV_STR)
                return py_error(I, at, SF_ERR_INVALID_ARG, "ParameterDict keys are strings") != NULL;
        if (!d->ordered)
            qsort(pairs, (size_t)n, 2 * sizeof *pairs, key_order);
    } else {
        pv *items = pv_iterate(I, at, a[0]);
        if (!items || !(pairs = sf_arena_alloc(I->arena, sizeof *pairs * (size_t)(2 * items->u.list->n + 1))))
            return false;
        for (n = 0; n < items->u.list->n; n++) {
            pv *p = items->u.list->items[n];
            if ((p->k != PV_TUPLE && p->k != PV_LIST) || p->u.list->n != 2 || p->u.list->items[0]->k != PV_STR)
                return py_error(I, at, SF_ERR_INVALID_ARG, "ParameterDict() takes a dict or (name, tensor) pairs") != NULL;
            pairs[2 * n] = p->u.list->items[0], pairs[2 * n + 1] = p->u.list->items[1];
        }
    }
    for (int64_t i = 0; i < n; i++)
        if (!py_param_dict_set(I, at, o, pairs[2 * i]->u.s.s, pairs[2 * i + 1]))
            return false;
    return true;
}



static const py_builtin dict_methods[] = {
    {"__len__", m_len}, {"__iter__", m_iter}, {"__getitem__", m_getitem}, {"__setitem__", m_setitem},
    {"keys", m_keys}, {"values", m_values}, {"items", m_items},
};

/* NULL without an error when the module has no such method. */
pv *py_module_method(py_interp *I, const py_expr *at, pv *self, const char *name)
{
    (void)at;
    if (self->k != PV_OBJECT || !self->u.obj->cls->is_module)
        return NULL;
    py_object *o = self->u.obj;
    if (strcmp(name, "training") == 0)
        return pv_bool(I, false); /* compiled models run in eval mode */
    pv *m = py_builtin_find(I, module_methods, sizeof module_methods / sizeof module_methods[0], self, name);
    if (!m && is_list_like(o))
        m = py_builtin_find(I, list_methods, sizeof list_methods / sizeof list_methods[0], self, name);
    if (!m && is_param_list(o))
        m = py_builtin_find(I, param_list_methods, sizeof param_list_methods / sizeof param_list_methods[0], self, name);
    if (!m && is_param_dict(o))
        m = py_builtin_find(I, param_dict_methods, sizeof param_dict_methods / sizeof param_dict_methods[0], self, name);
    if (!m && is_dict_like(o))
        m = py_builtin_find(I, dict_methods, sizeof dict_methods / sizeof dict_methods[0], self, name);
    return m;
}
