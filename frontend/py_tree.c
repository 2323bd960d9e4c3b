/* A live model's module tree (sheaf.h: sf_tree_*): what a host holding the
 * model hands over instead of a constructor expression, and the model
 * built from it in the evaluator (py_tree_build): each module an object
 * of its class with the attributes and tensors given, each torch.nn
 * module built by its own constructor from its arguments, children
 * attached in order. __init__ never runs. A node of class list, tuple or
 * dict is a plain Python container of modules held in an attribute (or
 * in another such container): its modules are not registered children,
 * as in PyTorch, but their tensors still get keys (frontend.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/py_interp.h"
#include "frontend/py_torch.h"

typedef struct tree_attr {
    char *name, *literal;
} tree_attr;

typedef struct tree_tensor {
    char *name;
    sf_type type;
    bool buffer;
} tree_tensor;

typedef struct tree_module {
    char *path, *cls, *args; /* args: NULL for a class of the file */
    const char *name;        /* within the parent: the path's last part */
    int parent, index;       /* the parent's index in modules (-1: the root), and its own */
    int nchildren;           /* how many name it as their parent */
    char plain;              /* 'l', 't', 'd': a plain list, tuple or dict of modules; 0 otherwise */
    sf_vec attrs, tensors;   /* tree_attr *, tree_tensor * */
} tree_module;

struct sf_module_tree {
    sf_vec modules; /* tree_module *, parents first */
    sf_map by_path;
};

sf_module_tree *sf_tree_new(void) { return calloc(1, sizeof(sf_module_tree)); }

void sf_tree_free(sf_module_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->modules.len; i++) {
        tree_module *m = t->modules.items[i];
        for (size_t k = 0; k < m->attrs.len; k++) {
            tree_attr *a = m->attrs.items[k];
            free(a->name), free(a->literal), free(a);
        }
        for (size_t k = 0; k < m->tensors.len; k++) {
            tree_tensor *x = m->tensors.items[k];
            free(x->name), free(x);
        }
        sf_vec_free(&m->attrs), sf_vec_free(&m->tensors);
        free(m->path), free(m->cls), free(m->args), free(m);
    }
    sf_vec_free(&t->modules);
    sf_map_free(&t->by_path);
    free(t);
}

static bool plain_name(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* the last part of a path and the parent's length: "a.b.c" -> "c", 3 */
static const char *last_part(const char *path, size_t *parent_len)
{
    const char *dot = strrchr(path, '.');
    *parent_len = dot ? (size_t)(dot - path) : 0;
    return dot ? dot + 1 : path;
}

/* a child's name: an attribute name, or a container's index or key */
static bool child_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s == '.' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

/* 'l', 't', 'd' for the plain containers a module may hold its modules in */
static char plain_kind(const char *cls)
{
    return !strcmp(cls, "list") ? 'l' : !strcmp(cls, "tuple") ? 't' : !strcmp(cls, "dict") ? 'd' : 0;
}

/* what a plain container's element may be named: list and tuple elements
 * their index, in order; dict entries any key without a dot */
static sf_status plain_child(const tree_module *up, const char *path, const char *name, sf_error *err)
{
    char index[24];
    snprintf(index, sizeof index, "%d", up->nchildren);
    if (up->plain != 'd' && strcmp(name, index))
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: '%s' is element %s of the plain %s '%s', not '%s'", path,
                       index, up->plain == 'l' ? "list" : "tuple", up->path, name);
    return SF_OK;
}

sf_status sf_tree_module(sf_module_tree *t, const char *path, const char *cls, const char *args, sf_error *err)
{
    if (!t || !path || !cls)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_tree_module: null argument");
    if (!plain_name(cls))
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: '%s' (at '%s') is not a class name", cls, path);
    if (sf_map_get(&t->by_path, path))
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: module '%s' given twice", path);
    if (!t->modules.len != !*path)
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: the root (path \"\") comes first, once; '%s' %s", path,
                       *path ? "comes before it" : "is a second root");
    size_t plen;
    const char *name = last_part(path, &plen);
    char parent[1024];
    if (*path && (!child_name(name) || plen >= sizeof parent))
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: bad path '%s'", path);
    memcpy(parent, path, plen);
    parent[plen] = '\0';
    tree_module *up = NULL;
    if (*path && !(up = sf_map_get(&t->by_path, parent)))
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: '%s' comes before its parent '%s'", path, parent);
    char plain = plain_kind(cls);
    if (plain && (args || !up || (up->args && !up->plain)))
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: '%s': a plain %s of modules is held by a module of the "
                       "file or by another plain container, without arguments", *path ? path : "(the root)", cls);
    if (up && up->plain && plain_child(up, path, name, err) != SF_OK)
        return err ? err->code : SF_ERR_INVALID_ARG;
    tree_module *m = calloc(1, sizeof *m);
    if (m) {
        m->path = strdup(path), m->cls = strdup(cls), m->args = args ? strdup(args) : NULL;
        m->parent = up ? up->index : -1;
        m->index = (int)t->modules.len;
        m->plain = plain;
    }
    if (!m || !m->path || !m->cls || (args && !m->args) || !sf_vec_push(&t->modules, m) ||
        !sf_map_put(&t->by_path, m->path, m)) {
        if (m)
            free(m->path), free(m->cls), free(m->args);
        free(m);
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    m->name = m->path + plen + (plen ? 1 : 0);
    if (up)
        up->nchildren++;
    return SF_OK;
}

static bool is_param_list(const tree_module *m) { return m->args && !strcmp(m->cls, "ParameterList"); }

static bool param_container(const tree_module *m)
{
    return m->args && (!strcmp(m->cls, "ParameterList") || !strcmp(m->cls, "ParameterDict"));
}

/* the module at path, a class of the file (or, for a tensor, an
 * nn.ParameterList or ParameterDict, whose tensors are its elements) */
static tree_module *own_module(sf_module_tree *t, const char *path, const char *what, sf_error *err)
{
    tree_module *m = t && path ? sf_map_get(&t->by_path, path) : NULL;
    bool list = m && param_container(m) && !strcmp(what, "a tensor");
    if (!m)
        sf_fail(err, SF_ERR_INVALID_ARG, "module tree: %s of '%s': no such module", what, path ? path : "(null)");
    else if (m->plain)
        sf_fail(err, SF_ERR_INVALID_ARG, "module tree: %s of '%s': a plain %s holds modules only", what, path, m->cls);
    else if (m->args && !list)
        sf_fail(err, SF_ERR_INVALID_ARG, "module tree: %s of '%s': nn.%s is built by its constructor", what, path,
                m->cls);
    return m && !m->plain && (!m->args || list) ? m : NULL;
}

sf_status sf_tree_attr(sf_module_tree *t, const char *path, const char *name, const char *literal, sf_error *err)
{
    tree_module *m = own_module(t, path, "an attribute", err);
    if (!m)
        return err ? err->code : SF_ERR_INVALID_ARG;
    if (!plain_name(name) || !literal)
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: attribute '%s' of '%s': a name and a literal", name,
                       path);
    tree_attr *a = calloc(1, sizeof *a);
    if (a)
        a->name = strdup(name), a->literal = strdup(literal);
    if (!a || !a->name || !a->literal || !sf_vec_push(&m->attrs, a)) {
        if (a)
            free(a->name), free(a->literal);
        free(a);
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    return SF_OK;
}

sf_status sf_tree_tensor(sf_module_tree *t, const char *path, const char *name, int rank, const int64_t *dims,
                         bool buffer, sf_error *err)
{
    tree_module *m = own_module(t, path, "a tensor", err);
    if (!m)
        return err ? err->code : SF_ERR_INVALID_ARG;
    char index[24];
    if (m->args) /* a ParameterList's: named 0, 1, ... in order; a ParameterDict's by its keys, in its order */
        snprintf(index, sizeof index, "%zu", m->tensors.len);
    bool list_name = is_param_list(m) ? name && !strcmp(name, index) : name && *name && !strchr(name, '.');
    if ((m->args ? !list_name || buffer : !plain_name(name)) || rank < 0 || rank > SF_MAX_RANK || (rank && !dims))
        return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: tensor '%s' of '%s': a name and a rank of 0 to %d",
                       name ? name : "(null)", path, SF_MAX_RANK);
    tree_tensor *x = calloc(1, sizeof *x);
    if (!x)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    x->type.dtype = SF_F32;
    x->type.rank = rank;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 1 || dims[d] > SF_DIM_MAX) {
            free(x);
            return sf_fail(err, SF_ERR_INVALID_ARG, "module tree: tensor '%s.%s' dim %d is %lld", path, name, d,
                           (long long)dims[d]);
        }
        x->type.dim[d] = dims[d];
    }
    x->buffer = buffer;
    if (!(x->name = strdup(name)) || !sf_vec_push(&m->tensors, x)) {
        free(x->name), free(x);
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    return SF_OK;
}

/* ---- building the model in the evaluator ---- */

/* nn.<cls>(<args>), through the evaluator's own torch.nn constructors */
static py_object *build_nn(py_interp *I, const tree_module *m)
{
    py_class *cls = py_nn_class(I, m->cls);
    if (!cls) {
        py_error(I, NULL, SF_ERR_UNSUPPORTED, "module '%s' is an nn.%s, which sheaf does not model",
                 *m->path ? m->path : "(the model)", m->cls);
        return NULL;
    }
    pv *c = pv_new(I, PV_CLASS);
    if (!c)
        return NULL;
    c->u.cls = cls;
    if (!sf_map_put(&I->globals, "__sheaf_nn_class__", c))
        return py_error(I, NULL, SF_ERR_NOMEM, "out of memory"), NULL;
    size_t n = strlen(m->args) + 32;
    char *text = sf_arena_alloc(I->arena, n), what[160];
    if (!text)
        return NULL;
    snprintf(text, n, "__sheaf_nn_class__(%s)", m->args);
    snprintf(what, sizeof what, "module tree: nn.%s at '%s'", m->cls, m->path);
    pv *v = py_eval_text(I, text, what);
    if (!v || v->k != PV_OBJECT)
        return NULL;
    for (size_t i = 0; i < m->tensors.len; i++) { /* a ParameterList's or ParameterDict's elements, in order */
        const tree_tensor *x = m->tensors.items[i];
        py_init init = {.type = x->type, .kind = INIT_EMPTY, .parameter = true};
        pv p = {.k = PV_INIT, .u.init = &init};
        if (!param_container(m) || x->buffer)
            return py_error(I, NULL, SF_ERR_INVALID_ARG, "module tree: nn.%s at '%s' is given tensors; it makes its own",
                            m->cls, m->path), NULL;
        if (!(is_param_list(m) ? py_param_list_append(I, NULL, v->u.obj, &p)
                               : py_param_dict_set(I, NULL, v->u.obj, x->name, &p)))
            return NULL;
    }
    return v->u.obj;
}

/* an object of a class of the file, its attributes and tensors set */
static py_object *build_own(py_interp *I, const tree_module *m)
{
    pv *c = sf_map_get(&I->globals, m->cls);
    if (!c || c->k != PV_CLASS || c->u.cls->nn || !c->u.cls->is_module) {
        py_error(I, NULL, SF_ERR_INVALID_ARG, "module '%s' is a %s, which %s does not define as an nn.Module",
                 *m->path ? m->path : "(the model)", m->cls, I->source);
        return NULL;
    }
    py_object *o = py_object_new(I, c->u.cls);
    pv *self = o ? pv_new(I, PV_OBJECT) : NULL;
    if (!self)
        return NULL;
    self->u.obj = o;
    for (size_t i = 0; i < m->attrs.len; i++) {
        const tree_attr *a = m->attrs.items[i];
        char what[160];
        snprintf(what, sizeof what, "module tree: attribute '%s' of '%s'", a->name, m->path);
        pv *v = py_eval_text(I, a->literal, what);
        if (!v || !py_setattr(I, NULL, self, a->name, v))
            return NULL;
    }
    for (size_t i = 0; i < m->tensors.len; i++) {
        const tree_tensor *x = m->tensors.items[i];
        py_init init = {.type = x->type, .kind = INIT_EMPTY, .parameter = !x->buffer};
        if (!py_param_add(I, NULL, o, x->name, &init, x->buffer))
            return NULL;
    }
    return o;
}

/* a plain container's value: filled as its elements are built */
static pv *build_plain(py_interp *I, const tree_module *m)
{
    pv *v = m->plain == 'd' ? pv_dict_new(I) : pv_list_new(I, m->plain == 'l' ? PV_LIST : PV_TUPLE, 4);
    return v ? v : py_error(I, NULL, SF_ERR_NOMEM, "out of memory");
}

/* puts what was built for m into its parent: a module's child or plain
 * attribute, or a plain container's element */
static bool attach(py_interp *I, pv *up, const tree_module *m, pv *v)
{
    if (up->k == PV_LIST || up->k == PV_TUPLE)
        return pv_list_push(I, up, v) || py_error(I, NULL, SF_ERR_NOMEM, "out of memory");
    if (up->k == PV_DICT)
        return pv_dict_sets(I, up->u.dict, m->name, v) || py_error(I, NULL, SF_ERR_NOMEM, "out of memory");
    if (v->k == PV_OBJECT)
        return py_child_add(I, up->u.obj, m->name, v->u.obj) || py_error(I, NULL, SF_ERR_NOMEM, "out of memory");
    return py_setattr(I, NULL, up, m->name, v);
}

static pv *object_value(py_interp *I, py_object *o)
{
    pv *v = o ? pv_new(I, PV_OBJECT) : NULL;
    if (v)
        v->u.obj = o;
    return v;
}

pv *py_tree_build(py_interp *I, const sf_module_tree *t)
{
    if (!t->modules.len)
        return py_error(I, NULL, SF_ERR_INVALID_ARG, "module tree: no modules");
    pv **built = sf_arena_alloc(I->arena, sizeof *built * t->modules.len); /* by module index */
    if (!built)
        return py_error(I, NULL, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->modules.len; i++) {
        const tree_module *m = t->modules.items[i];
        built[i] = m->plain ? build_plain(I, m) : object_value(I, m->args ? build_nn(I, m) : build_own(I, m));
        if (!built[i] || (m->parent >= 0 && !attach(I, built[m->parent], m, built[i]))) {
            I->failed = true;
            return NULL;
        }
    }
    return built[0];
}
