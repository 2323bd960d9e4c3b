/* The frontend's entry point: parse the file, run its top level, build the
 * model from --model, give every parameter its state_dict key, trace
 * forward into a graph. */
#include "frontend/frontend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/py_interp.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

sf_status sf_parse_input_spec(const char *spec, char *name, size_t cap, sf_type *t, sf_error *err)
{
    const char *eq = strchr(spec, '=');
    size_t n = eq ? (size_t)(eq - spec) : 0;
    if (!eq || n == 0 || n >= cap)
        return sf_fail(err, SF_ERR_INVALID_ARG, "--input '%s': expected NAME=TYPE such as x=f32[B,20000]", spec);
    memcpy(name, spec, n);
    name[n] = '\0';
    const char *p = eq + 1, *lb = strchr(p, '[');
    memset(t, 0, sizeof *t);
    /* integer inputs (token ids): f32 values holding the integers, exact below 2^24, as every index in sheaf */
    bool integer = lb && (lb - p == 3) && (!strncmp(p, "i64", 3) || !strncmp(p, "i32", 3));
    if (!lb || (!integer && !sf_dtype_parse(p, (size_t)(lb - p), &t->dtype)))
        return sf_fail(err, SF_ERR_INVALID_ARG, "--input '%s': the type must look like f32[B,20000]", spec);
    p = lb + 1;
    int nb = 0;
    while (*p != ']') {
        if (t->rank == SF_MAX_RANK)
            return sf_fail(err, SF_ERR_INVALID_ARG, "--input '%s': rank above %d", spec, SF_MAX_RANK);
        if (*p == 'B') {
            t->dim[t->rank++] = SF_DIM_B;
            nb++;
            p++;
        } else {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p || v < 0 || v > SF_DIM_MAX)
                return sf_fail(err, SF_ERR_INVALID_ARG, "--input '%s': bad dim", spec);
            t->dim[t->rank++] = v;
            p = end;
        }
        if (*p == ',')
            p++;
        else if (*p != ']')
            return sf_fail(err, SF_ERR_INVALID_ARG, "--input '%s': expected ',' or ']'", spec);
    }
    if (p[1] != '\0' || nb > 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "--input '%s': malformed type (B may appear once)", spec);
    return SF_OK;
}

/* "prefix.name", or "name" at the root, in the arena: paths have no length limit */
static char *dotted(py_interp *I, const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *s = sf_arena_alloc(I->arena, a + b + 2);
    if (s)
        snprintf(s, a + b + 2, "%s%s%s", prefix, a ? "." : "", name);
    return s;
}

static bool assign_paths(py_interp *I, py_object *o, const char *prefix, sf_vec *order, bool held, int depth);

/* the modules in a plain list, tuple or dict of a live model (py_tree.c)
 * at prefix: keyed prefix.<index or key>.<name>, as the host hands them */
static bool assign_held(py_interp *I, pv *v, const char *prefix, sf_vec *order, int depth)
{
    if (v->k == PV_OBJECT)
        return !v->u.obj->cls->is_module || assign_paths(I, v->u.obj, prefix, order, true, depth);
    if (depth > 1000)
        return py_error(I, NULL, SF_ERR_UNSUPPORTED, "containers nested deeper than 1000") != NULL;
    bool list = v->k == PV_LIST || v->k == PV_TUPLE;
    int64_t n = list ? v->u.list->n : v->k == PV_DICT ? v->u.dict->n : 0;
    for (int64_t i = 0; i < n; i++) {
        char index[24];
        snprintf(index, sizeof index, "%lld", (long long)i);
        pv *key = list ? NULL : v->u.dict->keys[i];
        if (!list && key->k != PV_STR)
            continue; /* the tree names dict entries by string keys only */
        char *path = dotted(I, prefix, list ? index : key->u.s.s);
        if (!path || !assign_held(I, list ? v->u.list->items[i] : v->u.dict->vals[i], path, order, depth + 1))
            return false;
    }
    return true;
}

/* PyTorch's state_dict order: a module's parameters, its buffers, then
 * its children depth-first. A module reached twice keeps its first path.
 * held: a live model's, whose plain containers of modules come last. */
static bool assign_paths(py_interp *I, py_object *o, const char *prefix, sf_vec *order, bool held, int depth)
{
    if (o->path)
        return true;
    if (depth > 1000)
        return py_error(I, NULL, SF_ERR_UNSUPPORTED, "modules nested deeper than 1000") != NULL;
    o->path = sf_arena_strdup(I->arena, prefix);
    if (!o->path)
        return false;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < o->nparams; i++) {
            py_param *p = o->params[i];
            if (p->buffer != (pass == 1))
                continue;
            p->key = dotted(I, prefix, p->name);
            if (!p->key || !sf_vec_push(order, p))
                return false;
        }
    for (int64_t i = 0; i < o->nchildren; i++) {
        char *path = dotted(I, prefix, o->children[i].name);
        if (!path || !assign_paths(I, o->children[i].obj, path, order, held, depth + 1))
            return false;
    }
    for (int64_t i = 0; held && o->attrs && i < o->attrs->n; i++) {
        pv *v = o->attrs->vals[i];
        char *path = v->k == PV_OBJECT || v->k == PV_LIST || v->k == PV_TUPLE || v->k == PV_DICT
                         ? dotted(I, prefix, o->attrs->keys[i]->u.s.s)
                         : NULL;
        if (path && !assign_held(I, v, path, order, depth + 1))
            return false;
    }
    return true;
}

pv *py_eval_text(py_interp *I, const char *text, const char *what)
{
    py_expr *e = py_parse_expr(text, strlen(text), what, I->arena, I->err);
    if (!e) {
        I->failed = true;
        return NULL;
    }
    const char *saved = I->file;
    I->file = what;
    pv *v = py_eval(I, NULL, e);
    I->file = saved;
    return v;
}

static pv *build_model(py_interp *I, const char *model)
{
    char what[64];
    snprintf(what, sizeof what, "--model");
    py_expr *e = py_parse_expr(model, strlen(model), what, I->arena, I->err);
    if (!e) {
        I->failed = true;
        return NULL;
    }
    const py_expr *callee = e->kind == PE_CALL ? e->a : e;
    if (callee->kind == PE_NAME && !sf_map_get(&I->globals, callee->name)) {
        sf_fail(I->err, SF_ERR_INVALID_ARG, "--model '%s': no class '%s' in %s", model, callee->name, I->file);
        I->failed = true;
        return NULL;
    }
    I->file = "--model"; /* errors in the expression are placed in the option; in __init__, in the file */
    pv *v = py_eval(I, NULL, e);
    I->file = I->source;
    if (v && (v->k != PV_OBJECT || !v->u.obj->cls->is_module)) {
        sf_fail(I->err, SF_ERR_INVALID_ARG, "--model '%s' is %s, not an nn.Module", model, pv_describe(I, v));
        I->failed = true;
        return NULL;
    }
    return v;
}

/* forward's parameters after self, matched to --input and --const */
static bool forward_args(py_interp *I, pv *model, const sf_py_options *o, pv ***argv, int *argc)
{
    py_object *m = model->u.obj;
    pv *fwd = m->cls->nn ? NULL : py_class_lookup(m->cls, "forward");
    const py_stmt *def = fwd && fwd->k == PV_FUNC ? fwd->u.fn->def : NULL;
    if (!m->cls->nn && !def) {
        sf_fail(I->err, SF_ERR_INVALID_ARG, "class %s has no forward method", m->cls->name);
        return false;
    }
    int nparams = def ? def->nparams - 1 : 1;
    *argv = sf_arena_alloc(I->arena, sizeof **argv * (size_t)(nparams + 1));
    bool *used_in = calloc((size_t)o->ninputs + 1, 1), *used_c = calloc((size_t)o->nconsts + 1, 1);
    bool ok = *argv && used_in && used_c;
    for (int k = 0; ok && k < o->ninputs + o->nconsts; k++) /* each argument named once */
        for (int j = 0; ok && j < k; j++) {
            const char *a = k < o->ninputs ? o->inputs[k] : o->consts[k - o->ninputs];
            const char *b = j < o->ninputs ? o->inputs[j] : o->consts[j - o->ninputs];
            size_t la = strcspn(a, "="), lb = strcspn(b, "=");
            if (la == lb && !strncmp(a, b, la)) {
                sf_fail(I->err, SF_ERR_INVALID_ARG, "forward argument '%.*s' is given twice (%s %s, %s %s)", (int)la, a,
                        j < o->ninputs ? "--input" : "--const", b, k < o->ninputs ? "--input" : "--const", a);
                ok = false;
            }
        }
    for (int i = 0; ok && i < nparams; i++) {
        const char *pname = def ? def->params[i + 1].name : NULL;
        pv *v = NULL;
        for (int k = 0; k < o->ninputs && !v; k++) {
            char name[256];
            sf_type t;
            if (sf_parse_input_spec(o->inputs[k], name, sizeof name, &t, I->err) != SF_OK) {
                ok = false;
                break;
            }
            if (pname && strcmp(name, pname))
                continue;
            sf_error e = {0};
            sf_value *x = sf_graph_input(I->g, name, &t, &e);
            if (!x) {
                sf_fail(I->err, e.code, "--input %s: %s", o->inputs[k], e.msg);
                ok = false;
                break;
            }
            used_in[k] = true;
            v = pv_tensor(I, x);
        }
        for (int k = 0; ok && k < o->nconsts && !v && pname; k++) {
            const char *eq = strchr(o->consts[k], '=');
            if (!eq || strncmp(o->consts[k], pname, (size_t)(eq - o->consts[k])) || pname[eq - o->consts[k]])
                continue;
            used_c[k] = true;
            if (!(v = py_eval_text(I, eq + 1, "--const")))
                ok = false;
        }
        if (ok && !v && def && fwd->u.fn->defaults[i + 1])
            v = fwd->u.fn->defaults[i + 1];
        if (ok && !v) {
            sf_fail(I->err, SF_ERR_INVALID_ARG,
                    "forward argument '%s' has no value: give a tensor with --input %s=f32[B,...] or a constant "
                    "with --const %s=...",
                    pname ? pname : "input", pname ? pname : "x", pname ? pname : "x");
            ok = false;
        }
        if (ok)
            (*argv)[i] = v;
    }
    for (int k = 0; ok && k < o->ninputs; k++)
        if (!used_in[k]) {
            sf_fail(I->err, SF_ERR_INVALID_ARG, "--input %s: forward of %s has no such argument", o->inputs[k],
                    m->cls->name);
            ok = false;
        }
    for (int k = 0; ok && k < o->nconsts; k++)
        if (!used_c[k]) {
            sf_fail(I->err, SF_ERR_INVALID_ARG, "--const %s: forward of %s has no such argument", o->consts[k],
                    m->cls->name);
            ok = false;
        }
    free(used_in);
    free(used_c);
    *argc = nparams;
    if (!ok)
        I->failed = true;
    return ok;
}

static bool add_outputs(py_interp *I, pv *r)
{
    pv *items = r->k == PV_TUPLE || r->k == PV_LIST ? r : NULL;
    int64_t n = items ? items->u.list->n : 1;
    for (int64_t i = 0; i < n; i++) {
        pv *x = items ? items->u.list->items[i] : r;
        sf_error e = {0};
        if (x->k != PV_TENSOR || !x->u.t->v) {
            sf_fail(I->err, SF_ERR_UNSUPPORTED, "forward returned %s; it must return a tensor or a tuple of tensors",
                    pv_describe(I, x));
            return false;
        }
        if (sf_graph_add_output(I->g, x->u.t->v, &e) != SF_OK) {
            *I->err = e;
            return false;
        }
    }
    return true;
}

static bool fill_keys(py_interp *I, sf_py_model *m, const sf_vec *order)
{
    m->keys = sf_arena_alloc(&m->arena, sizeof *m->keys * (order->len + 1));
    if (!m->keys)
        return false;
    for (size_t i = 0; i < order->len; i++) {
        const py_param *p = order->items[i];
        sf_py_key *k = &m->keys[m->nkeys++];
        k->key = sf_arena_strdup(&m->arena, p->key);
        k->type = p->init.type;
        k->integer = p->integer;
        k->buffer = p->buffer;
        k->init = p->init.kind;
        k->fill = p->init.fill;
        k->step = p->init.step;
        k->fan_in = p->init.fan_in;
        if (!k->key)
            return false;
    }
    (void)I;
    return true;
}

static bool compile_into(py_interp *I, sf_py_model *m, const char *source, size_t len, const sf_py_options *o)
{
    double t0 = now_ms();
    py_module_ast *ast = py_parse_file(source, len, I->file, I->arena, I->err);
    if (!ast)
        return false;
    double t1 = now_ms();
    py_install_builtins(I);
    if (!py_exec_module(I, ast))
        return false;
    pv *model = o->tree ? py_tree_build(I, o->tree) : build_model(I, o->model);
    if (!model)
        return false;
    sf_vec order = {0};
    bool ok = assign_paths(I, model->u.obj, "", &order, o->tree != NULL, 0);
    double t2 = now_ms();
    I->g = sf_graph_new(model->u.obj->cls->name);
    m->graph = I->g;
    pv **argv = NULL;
    int argc = 0;
    ok = ok && I->g && forward_args(I, model, o, &argv, &argc);
    pv *r = ok ? py_call(I, NULL, model, argc, argv, 0, NULL, NULL) : NULL;
    ok = r && add_outputs(I, r) && fill_keys(I, m, &order);
    sf_vec_free(&order);
    if (ok && sf_verify(I->g, I->err) != SF_OK)
        ok = false;
    double t3 = now_ms();
    m->stats.parse_ms = t1 - t0;
    m->stats.init_ms = t2 - t1;
    m->stats.trace_ms = t3 - t2;
    return ok;
}

sf_py_model *sf_py_compile(const char *path, const char *source, size_t len, const sf_py_options *o, sf_error *err)
{
    if (!o || (!o->model == !o->tree)) {
        sf_fail(err, SF_ERR_INVALID_ARG, "%s: %s", path,
                o && o->tree ? "a module tree and --model: give one of them"
                             : "--model is required (e.g. --model \"ParallelFCN(1000)\")");
        return NULL;
    }
    sf_py_model *m = calloc(1, sizeof *m);
    sf_arena *scratch = malloc(sizeof *scratch);
    sf_error local = {0};
    if (!err)
        err = &local;
    if (!m || !scratch) {
        free(m);
        free(scratch);
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sf_arena_init(&m->arena);
    sf_arena_init(scratch);
    py_interp I = {0};
    I.arena = scratch;
    I.err = err;
    I.file = path;
    I.max_nodes = o->max_nodes > 0 ? o->max_nodes : SF_PY_MAX_NODES;
    I.source = path;
    I.model_expr = o->model ? o->model : "the model";
    bool ok = compile_into(&I, m, source, len, o);
    if (!ok && err->code == SF_OK)
        sf_fail(err, SF_ERR_INVALID_ARG, "%s: compilation failed", path);
    sf_map_free(&I.globals);
    sf_vec_free(&I.params);
    sf_vec_free(&I.foreign);
    sf_arena_free(scratch);
    free(scratch);
    if (!ok) {
        sf_py_model_free(m);
        return NULL;
    }
    return m;
}

void sf_py_model_free(sf_py_model *m)
{
    if (!m)
        return;
    sf_graph_free(m->graph);
    sf_arena_free(&m->arena);
    free(m);
}

/* key -> sf_py_key, built per use: models with 100k branches have 400k keys */
static bool key_map(const sf_py_model *m, sf_map *map, sf_error *err)
{
    memset(map, 0, sizeof *map);
    for (size_t i = 0; i < m->nkeys; i++)
        if (!sf_map_put(map, m->keys[i].key, &m->keys[i])) {
            sf_map_free(map);
            sf_fail(err, SF_ERR_NOMEM, "out of memory");
            return false;
        }
    return true;
}

sf_status sf_py_check_weights(const sf_py_model *m, const sf_tensor_set *w, bool strict, sf_error *err)
{
    char a[160], b[160];
    for (size_t i = 0; i < m->nkeys; i++) {
        const sf_py_key *k = &m->keys[i];
        if (k->integer)
            continue; /* num_batches_tracked: never used in inference */
        const sf_tensor *t = sf_tensors_get(w, k->key);
        if (!t) {
            static const char *const prefixes[] = {"module.", "_orig_mod."};
            for (size_t p = 0; p < 2; p++) {
                char alt[1100];
                snprintf(alt, sizeof alt, "%s%s", prefixes[p], k->key);
                if (sf_tensors_get(w, alt))
                    return sf_fail(err, SF_ERR_WEIGHTS,
                                   "weights: missing key '%s', but '%s' is present: the file was saved from a "
                                   "wrapped model (DDP or torch.compile); save model.module.state_dict() or "
                                   "model._orig_mod.state_dict()",
                                   k->key, alt);
            }
            return sf_fail(err, SF_ERR_WEIGHTS, "weights: missing key '%s' (%s)", k->key,
                           sf_type_str(&k->type, a, sizeof a));
        }
        bool same = t->rank == k->type.rank;
        for (int d = 0; same && d < t->rank; d++)
            same = t->dim[d] == k->type.dim[d];
        if (!same)
            return sf_fail(err, SF_ERR_WEIGHTS, "weights: key '%s' has shape %s but the model expects %s", k->key,
                           sf_tensor_shape_str(t, b, sizeof b), sf_type_str(&k->type, a, sizeof a));
    }
    sf_map keys;
    if (!strict)
        return SF_OK;
    if (!key_map(m, &keys, err))
        return SF_ERR_NOMEM;
    sf_status st = SF_OK;
    for (size_t i = 0; st == SF_OK && i < w->names.len; i++)
        if (!sf_map_get(&keys, w->names.items[i]))
            st = sf_fail(err, SF_ERR_WEIGHTS,
                         "weights: unexpected key '%s' (not in the model's state_dict; --strict=false ignores it)",
                         (const char *)w->names.items[i]);
    sf_map_free(&keys);
    return st;
}

sf_status sf_py_init_weights(const sf_py_model *m, uint64_t seed, sf_tensor_set *w, sf_error *err)
{
    sf_map keys;
    if (!key_map(m, &keys, err))
        return SF_ERR_NOMEM;
    sf_status st = SF_OK;
    for (size_t i = 0; st == SF_OK && i < m->graph->params.len; i++) {
        const sf_value *p = m->graph->params.items[i];
        const sf_py_key *k = sf_map_get(&keys, p->def->name);
        sf_tensor *t = sf_tensors_add(w, p->def->name, p->type.rank, p->type.dim, NULL, err);
        if (!t || !k) {
            st = t ? sf_fail(err, SF_ERR_WEIGHTS, "no state_dict entry for '%s'", p->def->name) : err->code;
            break;
        }
        sf_rng rng = {seed ^ (0x9e3779b97f4a7c15ull * (i + 1))};
        double bound = 1.0 / sqrt((double)(k->fan_in > 0 ? k->fan_in : 1));
        size_t n = sf_tensor_numel(t);
        for (size_t j = 0; j < n; j++) {
            double v;
            switch (k->init) {
            case INIT_ZEROS: case INIT_EMPTY: v = 0; break;
            case INIT_ONES: v = 1; break;
            case INIT_FULL: v = k->fill; break;
            case INIT_ARANGE: v = k->fill + (double)j * k->step; break;
            case INIT_EYE: v = (int64_t)j / t->dim[1] == (int64_t)j % t->dim[1]; break;
            case INIT_NORMAL: v = sf_rng_normal(&rng); break;
            case INIT_UNIFORM: v = sf_rng_uniform(&rng); break;
            default: v = (2 * sf_rng_uniform(&rng) - 1) * bound; break; /* KAIMING, BIAS */
            }
            t->data[j] = (float)v;
        }
    }
    sf_map_free(&keys);
    return st;
}
