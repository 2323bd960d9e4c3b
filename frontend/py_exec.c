/* The evaluator's statements: assignment, control flow, imports, classes
 * and function definitions. */
#include <stdio.h>
#include <string.h>

#include "frontend/py_interp.h"

static int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }


static bool setitem(py_interp *I, const py_expr *at, pv *obj, pv *idx, pv *v)
{
    if (obj->k == PV_LIST) {
        int64_t i;
        if (!py_as_int(I, at, idx, "list index", &i))
            return false;
        int64_t j = norm_index(i, obj->u.list->n);
        if (j < 0 || j >= obj->u.list->n) {
            py_error(I, at, SF_ERR_INVALID_ARG, "list assignment index %lld out of range", (long long)i);
            return false;
        }
        obj->u.list->items[j] = v;
        return true;
    }
    if (obj->k == PV_DICT)
        return pv_dict_set(I, obj->u.dict, idx, v);
    if (obj->k == PV_OBJECT) {
        pv *m = py_module_method(I, at, obj, "__setitem__");
        if (m) {
            pv *args[2] = {idx, v};
            return py_call(I, at, m, 2, args, 0, NULL, NULL) != NULL;
        }
    }
    if (obj->k == PV_TENSOR)
        py_error(I, at, SF_ERR_UNSUPPORTED, "assigning into a tensor slice is not supported (an in-place write)");
    else if (!I->failed)
        py_error(I, at, SF_ERR_UNSUPPORTED, "%s does not support item assignment", pv_describe(I, obj));
    return false;
}

bool py_assign(py_interp *I, py_scope *sc, const py_expr *target, pv *v)
{
    switch (target->kind) {
    case PE_NAME:
        return py_scope_set(I, sc, target->name, v);
    case PE_ATTR: {
        pv *o = py_eval(I, sc, target->a);
        return o && py_setattr(I, target, o, target->name, v);
    }
    case PE_SUBSCRIPT: {
        pv *o = py_eval(I, sc, target->a), *i = o ? py_eval(I, sc, target->b) : NULL;
        return i && setitem(I, target, o, i, v);
    }
    case PE_TUPLE: case PE_LIST: {
        pv *items = pv_iterate(I, target, v);
        if (!items)
            return false;
        if (items->u.list->n != target->n) {
            py_error(I, target, SF_ERR_INVALID_ARG, "cannot unpack %lld values into %d names",
                     (long long)items->u.list->n, target->n);
            return false;
        }
        for (int i = 0; i < target->n; i++)
            if (!py_assign(I, sc, target->items[i], items->u.list->items[i]))
                return false;
        return true;
    }
    default:
        py_error(I, target, SF_ERR_UNSUPPORTED, "cannot assign to this expression");
        return false;
    }
}

/* x op= y: tensors update in place (every name bound to x sees it, as in
 * PyTorch); lists extend in place; everything else rebinds. */
static bool augassign(py_interp *I, py_scope *sc, const py_stmt *s)
{
    pv *cur = py_eval(I, sc, s->target), *rhs = cur ? py_eval(I, sc, s->value) : NULL;
    if (!rhs)
        return false;
    if (cur->k == PV_TENSOR) {
        pv *r = py_tensor_binop(I, s->value, s->op, cur, rhs);
        return r && py_tensor_inplace(I, s->target, cur, r->u.t->v);
    }
    if (cur->k == PV_LIST && s->op == PB_ADD) {
        pv *items = pv_iterate(I, s->value, rhs);
        for (int64_t i = 0; items && i < items->u.list->n; i++)
            if (!pv_list_push(I, cur, items->u.list->items[i]))
                return false;
        return items != NULL;
    }
    pv *r = py_binop_values(I, s->value, s->op, cur, rhs);
    return r && py_assign(I, sc, s->target, r);
}

static bool bind_module(py_interp *I, py_scope *sc, const char *name, pv *v) { return py_scope_set(I, sc, name, v); }

static pv *namespace_for(py_interp *I, const char *module)
{
    static const struct { const char *name; int ns; } known[] = {
        {"torch", NS_TORCH}, {"torch.nn", NS_NN}, {"torch.nn.functional", NS_F}, {"torch.nn.init", NS_INIT},
        {"collections", NS_COLLECTIONS}, {"math", NS_MATH}, {"typing", NS_TYPING}, {"__future__", NS_TYPING}};
    pv *v = pv_new(I, PV_NAMESPACE);
    if (!v)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].name, module) == 0) {
            v->u.ns = known[i].ns;
            return v;
        }
    /* numpy, torch.optim, torch.utils.data...: fine to import, an error to use */
    const char *copy = sf_arena_strdup(I->arena, module);
    if (!copy || !sf_vec_push(&I->foreign, (void *)copy))
        return py_error(I, NULL, SF_ERR_NOMEM, "out of memory");
    v->u.ns = NS_FOREIGN + (int)I->foreign.len - 1;
    return v;
}

static bool exec_import(py_interp *I, py_scope *sc, const py_stmt *s)
{
    for (int i = 0; i < s->nnames; i++) {
        const char *mod = s->names[i];
        if (s->kind == PS_IMPORT) {
            pv *ns;
            if (s->aliases[i]) {
                if (!(ns = namespace_for(I, mod)) || !bind_module(I, sc, s->aliases[i], ns))
                    return false;
            } else {
                /* `import torch.nn` binds `torch` */
                char top[128];
                size_t k = strcspn(mod, ".");
                snprintf(top, sizeof top, "%.*s", (int)(k < sizeof top ? k : sizeof top - 1), mod);
                const char *name = sf_arena_strdup(I->arena, top);
                if (!name || !(ns = namespace_for(I, top)) || !bind_module(I, sc, name, ns))
                    return false;
            }
            continue;
        }
        /* from MOD import NAME [as ALIAS] */
        char full[256];
        snprintf(full, sizeof full, "%s.%s", s->name, mod);
        pv *from = namespace_for(I, s->name), *v = NULL;
        if (!from)
            return false;
        if (from->u.ns >= NS_FOREIGN) {
            v = namespace_for(I, full);
        } else {
            pv *sub = namespace_for(I, full);
            if (sub && sub->u.ns < NS_FOREIGN)
                v = sub; /* from torch import nn; from torch.nn import functional */
            else
                v = py_namespace_attr(I, NULL, from->u.ns, mod);
            if (!v) {
                I->failed = false;
                return py_error_at(I, s->line, s->col, SF_ERR_UNSUPPORTED, "cannot import '%s' from %s: not modelled",
                                   mod, s->name) != NULL;
            }
        }
        if (!v || !bind_module(I, sc, s->aliases[i] ? s->aliases[i] : mod, v))
            return false;
    }
    return true;
}

static py_func *make_func(py_interp *I, py_scope *sc, const py_stmt *s, py_class *owner)
{
    py_func *fn = sf_arena_alloc(I->arena, sizeof *fn);
    pv **defs = sf_arena_alloc(I->arena, sizeof *defs * (size_t)(s->nparams + 1));
    if (!fn || !defs) {
        py_error_at(I, s->line, s->col, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < s->nparams; i++)
        if (s->params[i].def && !(defs[i] = py_eval(I, sc, s->params[i].def)))
            return NULL;
    char q[256];
    snprintf(q, sizeof q, "%s%s%s", owner ? owner->name : "", owner ? "." : "", s->name);
    fn->def = s;
    fn->owner = owner;
    fn->defaults = defs;
    fn->qualname = sf_arena_strdup(I->arena, q);
    return fn;
}

static bool exec_class(py_interp *I, py_scope *sc, const py_stmt *s)
{
    py_class *cls = sf_arena_alloc(I->arena, sizeof *cls);
    pv *dict = pv_dict_new(I), *v = pv_new(I, PV_CLASS);
    py_class **bases = sf_arena_alloc(I->arena, sizeof *bases * (size_t)(s->nbases + 1));
    if (!cls || !dict || !v || !bases)
        return false;
    cls->name = s->name;
    cls->def = s;
    cls->dict = dict->u.dict;
    cls->bases = bases;
    for (int i = 0; i < s->nbases; i++) {
        pv *b = py_eval(I, sc, s->bases[i]);
        if (!b)
            return false;
        if (b->k == PV_NAMESPACE && b->u.ns >= NS_FOREIGN) {
            cls->foreign = I->foreign.items[b->u.ns - NS_FOREIGN];
            continue;
        }
        if (b->k == PV_NAMESPACE && b->u.ns == NS_TYPING)
            continue; /* Generic[...] and friends */
        if (b->k != PV_CLASS) {
            py_error(I, s->bases[i], SF_ERR_UNSUPPORTED, "base class of %s is %s, not a class", s->name,
                     pv_describe(I, b));
            return false;
        }
        bases[cls->nbases++] = b->u.cls;
        cls->is_module |= b->u.cls->is_module;
        if (b->u.cls->foreign)
            cls->foreign = b->u.cls->foreign;
    }
    /* the body runs in its own namespace: defs become methods */
    py_scope body = {0};
    for (int i = 0; i < s->nbody; i++) {
        const py_stmt *st = s->body[i];
        if (st->kind == PS_DEF) {
            py_func *fn = make_func(I, sc, st, cls);
            pv *f = fn ? pv_new(I, PV_FUNC) : NULL;
            if (!f)
                return false;
            f->u.fn = fn;
            if (!pv_dict_sets(I, cls->dict, st->name, f))
                return false;
            continue;
        }
        if (st->kind == PS_CLASS) {
            py_error_at(I, st->line, st->col, SF_ERR_UNSUPPORTED, "nested classes are not supported");
            return false;
        }
        pv *ret = NULL;
        if (py_exec_block(I, &body, &s->body[i], 1, &ret) != FLOW_NEXT)
            return false;
    }
    for (int i = 0; i < body.n; i++)
        if (!pv_dict_sets(I, cls->dict, body.names[i], body.vals[i]))
            return false;
    v->u.cls = cls;
    return py_scope_set(I, sc, s->name, v);
}

static py_flow exec_stmt(py_interp *I, py_scope *sc, const py_stmt *s, pv **ret)
{
    switch (s->kind) {
    case PS_EXPR:
        return py_eval(I, sc, s->value) ? FLOW_NEXT : FLOW_ERROR;
    case PS_ASSIGN: {
        pv *v = py_eval(I, sc, s->value);
        if (!v)
            return FLOW_ERROR;
        for (int i = 0; i < s->ntargets; i++)
            if (!py_assign(I, sc, s->targets[i], v))
                return FLOW_ERROR;
        return FLOW_NEXT;
    }
    case PS_AUGASSIGN:
        return augassign(I, sc, s) ? FLOW_NEXT : FLOW_ERROR;
    case PS_IF: {
        pv *c = py_eval(I, sc, s->value);
        bool t;
        if (!c || !pv_truth(I, s->value, c, &t))
            return FLOW_ERROR;
        return t ? py_exec_block(I, sc, s->body, s->nbody, ret) : py_exec_block(I, sc, s->orelse, s->norelse, ret);
    }
    case PS_FOR: {
        pv *src = py_eval(I, sc, s->value), *items = src ? pv_iterate(I, s->value, src) : NULL;
        if (!items)
            return FLOW_ERROR;
        for (int64_t i = 0; i < items->u.list->n; i++) {
            if (!py_assign(I, sc, s->target, items->u.list->items[i]))
                return FLOW_ERROR;
            py_flow f = py_exec_block(I, sc, s->body, s->nbody, ret);
            if (f == FLOW_BREAK)
                break;
            if (f == FLOW_RETURN || f == FLOW_ERROR)
                return f;
        }
        return FLOW_NEXT;
    }
    case PS_RETURN:
        *ret = s->value ? py_eval(I, sc, s->value) : pv_none(I);
        return *ret ? FLOW_RETURN : FLOW_ERROR;
    case PS_PASS: return FLOW_NEXT;
    case PS_BREAK: return FLOW_BREAK;
    case PS_CONTINUE: return FLOW_CONTINUE;
    case PS_IMPORT: case PS_FROM:
        return exec_import(I, sc, s) ? FLOW_NEXT : FLOW_ERROR;
    case PS_CLASS:
        if (sc) {
            py_error_at(I, s->line, s->col, SF_ERR_UNSUPPORTED, "classes defined inside functions are not supported");
            return FLOW_ERROR;
        }
        return exec_class(I, sc, s) ? FLOW_NEXT : FLOW_ERROR;
    case PS_DEF: {
        if (sc) {
            py_error_at(I, s->line, s->col, SF_ERR_UNSUPPORTED, "functions defined inside functions are not supported");
            return FLOW_ERROR;
        }
        py_func *fn = make_func(I, sc, s, NULL);
        pv *f = fn ? pv_new(I, PV_FUNC) : NULL;
        if (!f)
            return FLOW_ERROR;
        f->u.fn = fn;
        return py_scope_set(I, sc, s->name, f) ? FLOW_NEXT : FLOW_ERROR;
    }
    case PS_ASSERT: {
        pv *c = py_eval(I, sc, s->value);
        bool t;
        if (!c || !pv_truth(I, s->value, c, &t))
            return FLOW_ERROR;
        if (t)
            return FLOW_NEXT;
        pv *m = s->msg ? py_eval(I, sc, s->msg) : NULL;
        py_error_at(I, s->line, s->col, SF_ERR_INVALID_ARG, "assertion failed%s%s", m && m->k == PV_STR ? ": " : "",
                    m && m->k == PV_STR ? m->u.s.s : "");
        return FLOW_ERROR;
    }
    case PS_RAISE: { /* raise ValueError("boom %d" % n): the class and the message, evaluated */
        const py_expr *e = s->value, *cls = e && e->kind == PE_CALL ? e->a : e;
        pv *m = e && e->kind == PE_CALL && e->n > 0 ? py_eval(I, sc, e->items[0]) : NULL;
        if (I->failed)
            return FLOW_ERROR;
        const char *name = cls && cls->kind == PE_NAME ? cls->name : NULL;
        py_error_at(I, s->line, s->col, SF_ERR_INVALID_ARG, "the model raised %s%s at compile time%s%.400s",
                    name ? name : "an exception", name ? "" : "", m && m->k == PV_STR ? ": " : "",
                    m && m->k == PV_STR ? m->u.s.s : "");
        return FLOW_ERROR;
    }
    }
    return FLOW_ERROR;
}

py_flow py_exec_block(py_interp *I, py_scope *sc, py_stmt *const *body, int n, pv **ret)
{
    for (int i = 0; i < n; i++) {
        py_flow f = exec_stmt(I, sc, body[i], ret);
        if (f != FLOW_NEXT)
            return f;
        if (I->failed)
            return FLOW_ERROR;
    }
    return FLOW_NEXT;
}

bool py_exec_module(py_interp *I, const py_module_ast *m)
{
    pv *ret = NULL;
    py_flow f = py_exec_block(I, NULL, m->body, m->nbody, &ret);
    if (f == FLOW_RETURN || f == FLOW_BREAK || f == FLOW_CONTINUE) {
        py_error_at(I, 1, 1, SF_ERR_PARSE, "'return', 'break' or 'continue' outside a function or loop");
        return false;
    }
    return f == FLOW_NEXT && !I->failed;
}
