/* sheaf._sheaf: the CPython binding of the public C API (include/sheaf.h)
 * and nothing else. The Python layer (sheaf/__init__.py) turns torch
 * tensors and numpy arrays into buffers and shapes; this module checks
 * each buffer (C-contiguous float32 of the size the model needs), runs
 * without the GIL, and turns every sf_error into sheaf.Error. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sheaf.h"

static PyObject *Error; /* sheaf.Error: code, name, message, place */

/* the "file:line:col" a message begins with (the place in the user's
 * file), or None */
static PyObject *place_of(const char *msg)
{
    for (const char *p = strstr(msg, ": "); p; p = strstr(p + 1, ": ")) {
        const char *q = p;
        int numbers = 0;
        for (; numbers < 2; numbers++) {
            const char *d = q;
            while (d > msg && d[-1] >= '0' && d[-1] <= '9')
                d--;
            if (d == q || d - 1 <= msg || d[-1] != ':')
                break;
            q = d - 1;
        }
        if (numbers == 2)
            return PyUnicode_FromStringAndSize(msg, p - msg);
    }
    Py_RETURN_NONE;
}

static PyObject *raise(const sf_error *e)
{
    PyObject *exc = PyObject_CallFunction(Error, "s", e->msg);
    if (!exc)
        return NULL;
    PyObject *attrs[][2] = {{PyUnicode_FromString("code"), PyLong_FromLong((long)e->code)},
                            {PyUnicode_FromString("name"), PyUnicode_FromString(sf_status_name(e->code))},
                            {PyUnicode_FromString("message"), PyUnicode_FromString(e->msg)},
                            {PyUnicode_FromString("place"), place_of(e->msg)}};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        if (attrs[i][0] && attrs[i][1])
            PyObject_SetAttr(exc, attrs[i][0], attrs[i][1]);
        Py_XDECREF(attrs[i][0]);
        Py_XDECREF(attrs[i][1]);
    }
    PyErr_SetObject(Error, exc);
    Py_DECREF(exc);
    return NULL;
}

/* ---- the model object ---- */

typedef struct {
    PyObject_HEAD sf_model *m;
    PyObject *dump; /* what print_after wrote while compiling (str), or None */
    PyObject *keep; /* the weights' arrays the model reads in place (sf_weights_borrow), or NULL */
} Model;

static void model_dealloc(Model *self)
{
    sf_model_free(self->m);
    Py_XDECREF(self->dump);
    Py_XDECREF(self->keep);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *info_list(const sf_model *m, bool outputs)
{
    size_t n = outputs ? sf_num_outputs(m) : sf_num_inputs(m);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        sf_tensor_info t;
        if (!(outputs ? sf_output_info(m, i, &t) : sf_input_info(m, i, &t)))
            continue;
        PyObject *dims = PyTuple_New(t.rank);
        for (int d = 0; dims && d < t.rank; d++)
            PyTuple_SET_ITEM(dims, d, PyLong_FromLongLong(t.dims[d]));
        PyList_SET_ITEM(list, (Py_ssize_t)i, Py_BuildValue("(sN)", t.name, dims));
    }
    return list;
}

static PyObject *model_inputs(Model *self, void *closure)
{
    (void)closure;
    return info_list(self->m, false);
}

static PyObject *model_outputs(Model *self, void *closure)
{
    (void)closure;
    return info_list(self->m, true);
}

static PyObject *model_backend(Model *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(sf_model_backend(self->m));
}

static PyObject *model_notice(Model *self, void *closure)
{
    (void)closure;
    const char *n = sf_model_notice(self->m);
    if (!n)
        Py_RETURN_NONE;
    return PyUnicode_FromString(n);
}

static PyObject *model_dump(Model *self, void *closure)
{
    (void)closure;
    PyObject *d = self->dump ? self->dump : Py_None;
    Py_INCREF(d);
    return d;
}

/* buffer i of seq as floats: C-contiguous float32 holding exactly want elements */
static bool get_floats(PyObject *seq, Py_ssize_t i, bool writable, size_t want, Py_buffer *view, const char *what)
{
    PyObject *o = PySequence_GetItem(seq, i);
    if (!o)
        return false;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    int r = PyObject_GetBuffer(o, view, flags);
    Py_DECREF(o);
    if (r != 0)
        return false;
    bool f32 = view->itemsize == 4 && view->format && (!strcmp(view->format, "f") || !strcmp(view->format, "<f") ||
                                                      !strcmp(view->format, "=f"));
    if (!f32 || (size_t)view->len != want * sizeof(float)) {
        PyErr_Format(PyExc_ValueError, "%s %zd: expected %zu float32 elements, got %zd bytes of format '%s'", what,
                     i, want, view->len, view->format ? view->format : "?");
        PyBuffer_Release(view);
        return false;
    }
    return true;
}

/* run(batch, inputs, outputs): every buffer C-contiguous float32 */
static PyObject *model_run(Model *self, PyObject *args)
{
    long long batch;
    PyObject *ins, *outs;
    if (!PyArg_ParseTuple(args, "LOO", &batch, &ins, &outs))
        return NULL;
    size_t ni = sf_num_inputs(self->m), no = sf_num_outputs(self->m);
    if (batch < 1 || !PySequence_Check(ins) || !PySequence_Check(outs) || PySequence_Size(ins) != (Py_ssize_t)ni ||
        PySequence_Size(outs) != (Py_ssize_t)no) {
        PyErr_Format(PyExc_ValueError, "run: expected a batch >= 1, %zu inputs and %zu outputs", ni, no);
        return NULL;
    }
    enum { SMALL = 16 };
    Py_buffer small[2 * SMALL], *views = ni + no <= 2 * SMALL ? small : PyMem_Calloc(ni + no, sizeof *views);
    const float *in_small[SMALL], **in = ni <= SMALL ? in_small : PyMem_Calloc(ni + 1, sizeof *in);
    float *out_small[SMALL], **out = no <= SMALL ? out_small : PyMem_Calloc(no + 1, sizeof *out);
    size_t got = 0;
    bool ok = views && in && out;
    if (!ok)
        PyErr_NoMemory();
    for (size_t i = 0; ok && i < ni; i++)
        if ((ok = get_floats(ins, (Py_ssize_t)i, false, sf_input_numel(self->m, i, batch), &views[got], "input")))
            in[i] = views[got++].buf;
    for (size_t i = 0; ok && i < no; i++)
        if ((ok = get_floats(outs, (Py_ssize_t)i, true, sf_output_numel(self->m, i, batch), &views[got], "output")))
            out[i] = views[got++].buf;
    sf_error e = {0};
    sf_status st = SF_OK;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS st = sf_run(self->m, batch, in, out, &e);
        Py_END_ALLOW_THREADS
    }
    for (size_t i = 0; i < got; i++)
        PyBuffer_Release(&views[i]);
    if (views != small)
        PyMem_Free(views);
    if (in != in_small)
        PyMem_Free((void *)in);
    if (out != out_small)
        PyMem_Free(out);
    if (!ok)
        return NULL;
    if (st != SF_OK)
        return raise(&e);
    Py_RETURN_NONE;
}

static PyObject *model_save(Model *self, PyObject *args)
{
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    sf_error e = {0};
    sf_status st;
    Py_BEGIN_ALLOW_THREADS st = sf_save(self->m, path, &e);
    Py_END_ALLOW_THREADS
    if (st != SF_OK)
        return raise(&e);
    Py_RETURN_NONE;
}

/* ir(format): "text", "dot" or "stats", as sf_model_write_ir writes it */
static PyObject *model_ir(Model *self, PyObject *args)
{
    const char *format = "text";
    if (!PyArg_ParseTuple(args, "|s", &format))
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return PyErr_NoMemory();
    sf_error e = {0};
    sf_status st = sf_model_write_ir(self->m, format, f, &e);
    fclose(f);
    PyObject *r = st == SF_OK ? PyUnicode_FromStringAndSize(text, (Py_ssize_t)len) : raise(&e);
    free(text);
    return r;
}

static PyObject *model_set_weights(Model *self, PyObject *args);

static PyMethodDef model_methods[] = {
    {"set_weights", (PyCFunction)model_set_weights, METH_VARARGS,
     "set_weights({name: float32 array}): new values for a trainable model's parameters (copied)"},
    {"run", (PyCFunction)model_run, METH_VARARGS, "run(batch, inputs, outputs): fills the output buffers"},
    {"save", (PyCFunction)model_save, METH_VARARGS, "save(path): writes the package"},
    {"ir", (PyCFunction)model_ir, METH_VARARGS, "ir(format='text'): the optimised IR, 'dot' or 'stats'"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef model_getset[] = {
    {"inputs", (getter)model_inputs, NULL, "[(name, dims)], -1 where the batch goes", NULL},
    {"outputs", (getter)model_outputs, NULL, "[(name, dims)], -1 where the batch goes", NULL},
    {"backend", (getter)model_backend, NULL, "what runs it: 'cpu', 'cuda' or 'interp'", NULL},
    {"notice", (getter)model_notice, NULL, "a line for the user, or None", NULL},
    {"dump", (getter)model_dump, NULL, "what print_after wrote while compiling, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sheaf._sheaf.Model",
    .tp_basicsize = sizeof(Model),
    .tp_dealloc = (destructor)model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a compiled sheaf model (the C API's sf_model)",
    .tp_methods = model_methods,
    .tp_getset = model_getset,
};

/* ---- options: a dict of sf_options fields ---- */

typedef struct held { /* what an sf_options points into, alive until the call returns */
    sf_options o;
    PyObject *refs;   /* list of objects whose UTF-8 or buffers o borrows */
    const char **inputs, **consts;
    sf_weights *weights;
    sf_module_tree *tree;
    PyObject *borrowed; /* the weights dict, whose arrays the model reads in place */
    char *dump;
    size_t dump_len;
} held;

static bool opt_str(held *h, PyObject *v, const char **out)
{
    if (v == Py_None)
        return true;
    if (!PyUnicode_Check(v)) {
        PyErr_Format(PyExc_TypeError, "expected a str, got %s", Py_TYPE(v)->tp_name);
        return false;
    }
    PyList_Append(h->refs, v);
    *out = PyUnicode_AsUTF8(v);
    return *out != NULL;
}

static bool opt_strs(held *h, PyObject *v, const char ***out, int *n)
{
    PyObject *seq = PySequence_Fast(v, "expected a list of str");
    if (!seq)
        return false;
    PyList_Append(h->refs, seq);
    Py_DECREF(seq);
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    *out = PyMem_Calloc((size_t)k + 1, sizeof **out);
    if (!*out)
        return PyErr_NoMemory(), false;
    for (Py_ssize_t i = 0; i < k; i++)
        if (!opt_str(h, PySequence_Fast_GET_ITEM(seq, i), &(*out)[i]))
            return false;
    *n = (int)k;
    return true;
}

/* weights: {name: buffer of float32 with a shape}: read in place
 * (sf_weights_borrow); the model keeps the dict, and so its arrays, alive */
static bool borrow_weights(PyObject *v, sf_weights *w)
{
    if (!PyDict_Check(v)) {
        PyErr_SetString(PyExc_TypeError, "options: weights must be a dict of name to float32 array");
        return false;
    }
    PyObject *key, *val;
    Py_ssize_t pos = 0;
    while (PyDict_Next(v, &pos, &key, &val)) {
        Py_buffer b;
        const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!name || PyObject_GetBuffer(val, &b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND) != 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "options: a weight's key must be a str");
            return false;
        }
        int64_t dims[8];
        bool fits = b.itemsize == 4 && b.format && strchr(b.format, 'f') && b.ndim <= 8;
        for (int d = 0; fits && d < b.ndim; d++)
            dims[d] = b.shape[d];
        sf_error e = {0};
        /* the buffer is released now, but the dict the model keeps holds its array */
        sf_status st = fits ? sf_weights_borrow(w, name, b.ndim, dims, b.buf, &e) : SF_ERR_INVALID_ARG;
        PyBuffer_Release(&b);
        if (!fits) {
            PyErr_Format(PyExc_ValueError, "weight '%s': expected float32 of rank <= 8", name);
            return false;
        }
        if (st != SF_OK)
            return raise(&e), false;
    }
    return true;
}

static PyObject *model_set_weights(Model *self, PyObject *args)
{
    PyObject *dict;
    if (!PyArg_ParseTuple(args, "O", &dict))
        return NULL;
    sf_weights *w = sf_weights_new();
    if (!w)
        return PyErr_NoMemory();
    bool ok = borrow_weights(dict, w);
    sf_error e = {0};
    sf_status st = SF_OK;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS st = sf_model_set_weights(self->m, w, &e);
        Py_END_ALLOW_THREADS
    }
    sf_weights_free(w);
    if (!ok)
        return NULL;
    if (st != SF_OK)
        return raise(&e);
    Py_RETURN_NONE;
}

static bool opt_weights(held *h, PyObject *v)
{
    h->weights = sf_weights_new();
    if (!h->weights)
        return PyErr_NoMemory(), false;
    if (!borrow_weights(v, h->weights))
        return false;
    h->o.weights = h->weights;
    Py_INCREF(v);
    h->borrowed = v;
    return true;
}

/* tree: [(path, cls, args or None, [(name, literal)], [(name, dims, buffer)])], parents first */
static bool opt_tree(held *h, PyObject *v)
{
    PyObject *seq = PySequence_Fast(v, "options: tree must be a list of modules");
    if (!seq)
        return false;
    PyList_Append(h->refs, seq);
    Py_DECREF(seq);
    h->tree = sf_tree_new();
    if (!h->tree)
        return PyErr_NoMemory(), false;
    sf_error e = {0};
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *path, *cls, *args;
        PyObject *attrs, *tensors;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "sszOO", &path, &cls, &args, &attrs, &tensors))
            return false;
        if (sf_tree_module(h->tree, path, cls, args, &e) != SF_OK)
            return raise(&e), false;
        PyObject *a = PySequence_Fast(attrs, "options: a module's attributes must be a list");
        for (Py_ssize_t k = 0; a && k < PySequence_Fast_GET_SIZE(a); k++) {
            const char *name, *literal;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(a, k), "ss", &name, &literal) ||
                (sf_tree_attr(h->tree, path, name, literal, &e) != SF_OK && !raise(&e))) {
                Py_DECREF(a);
                return false;
            }
        }
        Py_XDECREF(a);
        PyObject *t = a ? PySequence_Fast(tensors, "options: a module's tensors must be a list") : NULL;
        for (Py_ssize_t k = 0; t && k < PySequence_Fast_GET_SIZE(t); k++) {
            const char *name;
            PyObject *dims;
            int buffer;
            int64_t d[8];
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(t, k), "sOp", &name, &dims, &buffer)) {
                Py_DECREF(t);
                return false;
            }
            PyObject *ds = PySequence_Fast(dims, "options: a tensor's dims must be a sequence");
            Py_ssize_t rank = ds ? PySequence_Fast_GET_SIZE(ds) : 0;
            for (Py_ssize_t r = 0; ds && r < rank && r < 8; r++)
                d[r] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(ds, r));
            Py_XDECREF(ds);
            if (!ds || PyErr_Occurred() ||
                (sf_tree_tensor(h->tree, path, name, (int)rank, d, buffer, &e) != SF_OK && !raise(&e))) {
                Py_DECREF(t);
                return false;
            }
        }
        Py_XDECREF(t);
        if (!a || !t)
            return false;
    }
    h->o.tree = h->tree;
    return true;
}

/* an integer option: a Python int (not a bool, not a str) in [0, max] */
static bool opt_int(PyObject *v, long long max, long long *out)
{
    if (!PyLong_Check(v) || PyBool_Check(v)) {
        PyErr_Format(PyExc_TypeError, "expected an int, got %s", Py_TYPE(v)->tp_name);
        return false;
    }
    *out = PyLong_AsLongLong(v);
    if (*out == -1 && PyErr_Occurred())
        return false;
    if (*out < 0 || *out > max) {
        PyErr_Format(PyExc_ValueError, "%lld is outside [0, %lld]", *out, max);
        return false;
    }
    return true;
}

static bool set_option(held *h, const char *k, PyObject *v)
{
    sf_options *o = &h->o;
    long long n = 0;
    if (!strcmp(k, "model"))
        return opt_str(h, v, &o->model);
    if (!strcmp(k, "inputs"))
        return opt_strs(h, v, (const char ***)&h->inputs, &o->ninputs) && (o->inputs = h->inputs, true);
    if (!strcmp(k, "consts"))
        return opt_strs(h, v, (const char ***)&h->consts, &o->nconsts) && (o->consts = h->consts, true);
    if (!strcmp(k, "weights_file"))
        return opt_str(h, v, &o->weights_file);
    if (!strcmp(k, "weights"))
        return v == Py_None || opt_weights(h, v);
    if (!strcmp(k, "tree"))
        return v == Py_None || opt_tree(h, v);
    if (!strcmp(k, "passes"))
        return opt_str(h, v, &o->passes);
    if (!strcmp(k, "print_after"))
        return opt_str(h, v, &o->print_after);
    if (!strcmp(k, "backend"))
        return opt_str(h, v, &o->backend);
    if (!strcmp(k, "targets"))
        return opt_str(h, v, &o->targets);
    if (!strcmp(k, "precision"))
        return opt_str(h, v, &o->precision);
    if (!strcmp(k, "loss"))
        return opt_str(h, v, &o->loss);
    bool *flag = !strcmp(k, "unoptimised")           ? &o->unoptimised
                 : !strcmp(k, "verify_each")         ? &o->verify_each
                 : !strcmp(k, "allow_extra_weights") ? &o->allow_extra_weights
                 : !strcmp(k, "no_cache")            ? &o->no_cache
                 : !strcmp(k, "check")               ? &o->check
                 : !strcmp(k, "poison")              ? &o->poison
                 : !strcmp(k, "backward")            ? &o->backward
                 : !strcmp(k, "input_grads")         ? &o->input_grads
                 : !strcmp(k, "trainable")           ? &o->trainable
                                                     : NULL;
    if (flag) {
        int t = PyObject_IsTrue(v);
        return t >= 0 && (*flag = t, true);
    }
    if (!strcmp(k, "seed"))
        return opt_int(v, LLONG_MAX, &n) && (o->seed = (uint64_t)n, true);
    if (!strcmp(k, "threads"))
        return opt_int(v, INT_MAX, &n) && (o->threads = (int)n, true);
    if (!strcmp(k, "max_nodes"))
        return opt_int(v, LLONG_MAX, &n) && (o->max_nodes = n, true);
    if (!strcmp(k, "hfuse_min_branches"))
        return opt_int(v, INT_MAX, &n) && (o->hfuse_min_branches = (int)n, true);
    if (!strcmp(k, "hfuse_max_bytes"))
        return opt_int(v, LLONG_MAX, &n) && (o->hfuse_max_bytes = (size_t)n, true);
    PyErr_Format(PyExc_TypeError, "unknown option '%s'", k);
    return false;
}

/* set_option's refusal, with the option's name in front ("option 'threads': expected an int, got str") */
static bool set_named_option(held *h, const char *k, PyObject *v)
{
    if (set_option(h, k, v))
        return true;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type != PyExc_TypeError && type != PyExc_ValueError && type != PyExc_OverflowError) {
        PyErr_Restore(type, value, tb);
        return false;
    }
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *t = text ? PyUnicode_AsUTF8(text) : NULL;
    if (t && strncmp(t, "unknown option", 14) && strncmp(t, "options:", 8))
        PyErr_Format(type, "option '%s': %s", k, t);
    else
        PyErr_Restore(type, value, tb), type = value = tb = NULL;
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return false;
}

static bool hold(held *h, PyObject *opts)
{
    memset(h, 0, sizeof *h);
    if (!(h->refs = PyList_New(0)))
        return false;
    if (opts && opts != Py_None) {
        if (!PyDict_Check(opts)) {
            PyErr_SetString(PyExc_TypeError, "options must be a dict");
            return false;
        }
        PyObject *key, *val;
        Py_ssize_t pos = 0;
        while (PyDict_Next(opts, &pos, &key, &val)) {
            if (!PyUnicode_Check(key)) {
                PyErr_Format(PyExc_TypeError, "option names must be str, got %s", Py_TYPE(key)->tp_name);
                return false;
            }
            const char *k = PyUnicode_AsUTF8(key);
            if (!k || !set_named_option(h, k, val))
                return false;
        }
    }
    if (h->o.print_after) { /* the IR after a pass: kept on the model */
        FILE *f = open_memstream(&h->dump, &h->dump_len);
        if (!f)
            return PyErr_NoMemory(), false;
        h->o.dump = f;
    }
    return true;
}

static void release(held *h)
{
    if (h->o.dump)
        fclose(h->o.dump);
    free(h->dump);
    sf_weights_free(h->weights);
    sf_tree_free(h->tree);
    Py_XDECREF(h->borrowed);
    PyMem_Free(h->inputs);
    PyMem_Free(h->consts);
    Py_XDECREF(h->refs);
}

static PyObject *wrap(sf_model *m, const sf_error *e, held *h)
{
    if (!m)
        return raise(e);
    Model *self = PyObject_New(Model, &ModelType);
    if (!self) {
        sf_model_free(m);
        return NULL;
    }
    self->m = m;
    self->dump = NULL;
    self->keep = h->borrowed;
    Py_XINCREF(self->keep);
    if (h->o.dump) {
        fflush(h->o.dump);
        self->dump = PyUnicode_DecodeUTF8(h->dump ? h->dump : "", (Py_ssize_t)h->dump_len, "replace");
    }
    return (PyObject *)self;
}

/* compile(name, text, options): text (str) is a model file's or an IR
 * file's contents, name its file name (ending in .py or .sfir); text None
 * reads the file name */
static PyObject *py_compile(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *name;
    PyObject *text, *opts = NULL;
    if (!PyArg_ParseTuple(args, "sO|O", &name, &text, &opts))
        return NULL;
    held h;
    PyObject *r = NULL;
    Py_ssize_t len = 0;
    const char *src = text == Py_None ? NULL : PyUnicode_AsUTF8AndSize(text, &len);
    if ((text == Py_None || src) && hold(&h, opts)) {
        sf_error e = {0};
        sf_model *m;
        Py_BEGIN_ALLOW_THREADS m = src ? sf_compile_text(src, (size_t)len, name, &h.o, &e)
                                       : sf_compile_file(name, &h.o, &e);
        Py_END_ALLOW_THREADS r = wrap(m, &e, &h);
    }
    release(&h);
    return r;
}

static PyObject *py_load(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *path;
    PyObject *opts = NULL, *r = NULL;
    if (!PyArg_ParseTuple(args, "s|O", &path, &opts))
        return NULL;
    held h;
    if (hold(&h, opts)) {
        sf_error e = {0};
        sf_model *m;
        Py_BEGIN_ALLOW_THREADS m = sf_load(path, &h.o, &e);
        Py_END_ALLOW_THREADS r = wrap(m, &e, &h);
    }
    release(&h);
    return r;
}

static PyMethodDef module_methods[] = {
    {"compile", py_compile, METH_VARARGS, "compile(name, text_or_None, options) -> Model"},
    {"load", py_load, METH_VARARGS, "load(path, options) -> Model"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sheaf", "sheaf's C API", -1, module_methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__sheaf(void)
{
    if (PyType_Ready(&ModelType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Error = PyErr_NewExceptionWithDoc("sheaf.Error",
                                      "an error from sheaf: .code (sf_status), .name ('parse error'), .message "
                                      "(one line naming the place), .place ('model.py:12:9', or None)",
                                      NULL, NULL);
    Py_INCREF(&ModelType);
    if (!Error || PyModule_AddObject(m, "Error", Error) < 0 ||
        PyModule_AddObject(m, "Model", (PyObject *)&ModelType) < 0 ||
        PyModule_AddStringConstant(m, "version", SF_VERSION_STRING) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(Error);
    static const struct {
        const char *name;
        sf_status code;
    } codes[] = {{"OK", SF_OK},           {"ERR_INVALID_ARG", SF_ERR_INVALID_ARG}, {"ERR_IO", SF_ERR_IO},
                 {"ERR_PARSE", SF_ERR_PARSE}, {"ERR_FORMAT", SF_ERR_FORMAT},     {"ERR_SHAPE", SF_ERR_SHAPE},
                 {"ERR_VERIFY", SF_ERR_VERIFY}, {"ERR_WEIGHTS", SF_ERR_WEIGHTS}, {"ERR_UNSUPPORTED", SF_ERR_UNSUPPORTED},
                 {"ERR_NOMEM", SF_ERR_NOMEM}, {"ERR_RUNTIME", SF_ERR_RUNTIME}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) /* sheaf.ERR_PARSE == e.code */
        if (PyModule_AddIntConstant(m, codes[i].name, codes[i].code) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    return m;
}
