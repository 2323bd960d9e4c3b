/* sf_save and sf_load: a model to and from its compiled package. Loading
 * checks the whole file first (package.c), then the target: another
 * architecture is refused; the same architecture with CPU features this
 * machine lacks is compiled again from the package's IR, with a notice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cuda_runtime.h"
#include "ir/fileio.h"
#include "runtime/package.h"

sf_status sf_save(const sf_model *m, const char *path, sf_error *err)
{
    if (!m || !path)
        return sf_fail(err, SF_ERR_INVALID_ARG, "sf_save: null argument");
    sf_cpu_target t;
    memset(&t, 0, sizeof t);
    const void *object = NULL;
    size_t size = 0;
    if (m->cpu) {
        sf_status st = sf_cpu_host(&t, err);
        if (st != SF_OK)
            return st;
        sf_cpu_object(m->cpu, &object, &size);
    }
    return sf_pkg_write(path, m->g, m->weights, &m->plan, object, size, &t, SF_CPU_ABI,
                        m->cuda.nimages ? &m->cuda : NULL, err);
}

/* whether every "+feature" the package's code uses is one this CPU has */
static bool features_present(const char *want, const char *have, char *missing, size_t cap)
{
    missing[0] = '\0';
    const char *p = want;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 1 && p[0] == '+') {
            bool found = false;
            for (const char *h = have; *h && !found;) {
                const char *hc = strchr(h, ',');
                size_t hn = hc ? (size_t)(hc - h) : strlen(h);
                found = hn == n && !memcmp(h, p, n);
                h += hn + (hc ? 1 : 0);
            }
            if (!found) {
                snprintf(missing, cap, "%.*s", (int)(n - 1), p + 1);
                return false;
            }
        }
        p += n + (comma ? 1 : 0);
    }
    return true;
}

typedef struct pkg_target {
    char triple[128], cpu[64], features[4096], abi[16];
} pkg_target;

/* Whether the package's object code runs here: SF_OK with notice empty (link
 * it), SF_OK with a notice (compile again from the IR, and say why), or a
 * refusal. */
static sf_status check_object(const pkg_target *t, const char *what, char *notice, size_t cap, sf_error *err)
{
    sf_cpu_target host;
    char want_abi[16], missing[64];
    notice[0] = '\0';
    sf_status st = sf_cpu_host(&host, err);
    if (st != SF_OK)
        return st;
    if (strcmp(host.triple, t->triple))
        return sf_fail(err, SF_ERR_UNSUPPORTED, "%s: built for %s, this machine is %s (compile the model here)", what,
                       t->triple, host.triple);
    snprintf(want_abi, sizeof want_abi, "%d", SF_CPU_ABI);
    if (strcmp(t->abi, want_abi))
        snprintf(notice, cap, "%s: its code follows kernel convention %s, this sheaf's is %s: compiled again from its IR",
                 what, t->abi[0] ? t->abi : "(none)", want_abi);
    else if (!features_present(t->features, host.features, missing, sizeof missing))
        snprintf(notice, cap,
                 "%s: its code needs CPU feature '%s' (built for %s), which this CPU (%s) lacks: compiled again "
                 "from its IR",
                 what, missing, t->cpu, host.cpu);
    return SF_OK;
}

/* A package's CUDA code goes with the model (sf_save keeps it) and, with
 * a GPU there, runs on it; with none the CPU runs it and one line says
 * why. want_gpu: the backend is unset or "cuda". */
static sf_model *with_cuda(sf_model *m, const sf_pkg_view *v, const char *what, bool want_gpu, const sf_options *o,
                           sf_error *err)
{
    if (!m)
        return NULL;
    if (v->cuda.nimages && sf_cuda_code_copy(&v->cuda, &m->cuda, err) != SF_OK) {
        sf_model_free(m);
        return NULL;
    }
    char version[16];
    if (sf_pkg_meta(v, "nvrtc", version, sizeof version)) /* which NVRTC made the images, kept for sf_save */
        m->cuda.nvrtc_version = atoi(version);
    bool asked = o && o->backend; /* by name: cuda */
    if (!want_gpu || (!v->cuda.nimages && !asked))
        return m;
    char archs[128], label[600] = "backend cuda: ";
    sf_cuda_targets_text(&m->cuda, archs, sizeof archs);
    if (v->cuda.nimages)
        snprintf(label, sizeof label, "%s: CUDA code for %s%s", what, archs,
                 sf_cuda_device_present(NULL) ? "; running on " : ", but ");
    if (sf_model_to_gpu(m, label, o, err) != SF_OK) {
        sf_model_free(m);
        return NULL;
    }
    return m;
}

/* the model from a checked package: its IR, weights and CPU code, on the
 * CPU or the interpreter (kind) */
static sf_model *load_parts(const sf_pkg_view *pv, const char *what, sf_backend_kind kind, const sf_options *o,
                            sf_error *err)
{
    const sf_pkg_view v = *pv;
    pkg_target t = {.abi = ""};
    if (!sf_pkg_meta(&v, "triple", t.triple, sizeof t.triple) || !sf_pkg_meta(&v, "cpu", t.cpu, sizeof t.cpu) ||
        !sf_pkg_meta(&v, "features", t.features, sizeof t.features)) {
        sf_fail(err, SF_ERR_FORMAT, "%s: meta section lacks triple, cpu or features", what);
        return NULL;
    }
    if (!sf_pkg_meta(&v, "abi", t.abi, sizeof t.abi))
        t.abi[0] = '\0';
    sf_graph *g = sf_parse(v.ir, v.ir_len, what, err);
    sf_tensor_set *w = g ? sf_tensors_new() : NULL;
    sf_status st = !g ? SF_ERR_PARSE : w ? sf_pkg_weights(&v, what, w, err) : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK)
        st = sf_check_weights(g, w, false, err);
    char notice[512] = "";
    sf_prebuilt pre = {v.plan, v.plan_len, NULL, 0}; /* a version 2 package has no plan: made from its IR */
    bool link = kind != SF_BACKEND_INTERP && v.object_len && sf_cpu_available();
    if (st == SF_OK && link)
        st = check_object(&t, what, notice, sizeof notice, err);
    if (st != SF_OK) {
        sf_graph_free(g);
        sf_tensors_free(w);
        return NULL;
    }
    if (!notice[0]) {
        if (link)
            pre.object = v.object, pre.object_size = v.object_len;
        sf_model *m = sf_model_make(g, w, &pre, kind, o, err);
        if (!m) /* which file's plan or object code */
            sf_error_prefix(err, "%s", what);
        return m;
    }
    pre.plan = NULL, pre.plan_len = 0; /* compiled again: planned again too, by this sheaf's rules */
    sf_model *m = sf_model_make(g, w, &pre, kind, o, err);
    if (m)
        snprintf(m->notice, sizeof m->notice, "%s", notice);
    return m;
}

sf_model *sf_load_bytes(const unsigned char *bytes, size_t size, const char *what, const sf_options *o,
                        sf_error *err)
{
    sf_pkg_view v;
    if (sf_check_precision(o ? o->precision : NULL, err) != SF_OK || sf_pkg_parse(bytes, size, what, &v, err) != SF_OK)
        return NULL;
    sf_backend_kind kind;
    if (sf_backend_resolve(o ? o->backend : NULL, &kind, err) != SF_OK)
        return NULL;
    /* the CPU side first; the GPU once the model holds the package's CUDA
     * code: asked for, or by default where the package has some */
    bool want_gpu = kind == SF_BACKEND_CUDA || !(o && o->backend);
    sf_backend_kind cpu = kind == SF_BACKEND_CUDA ? SF_BACKEND_CPU : kind;
    return with_cuda(load_parts(&v, what, cpu, o, err), &v, what, want_gpu, o, err);
}

sf_model *sf_load(const char *path, const sf_options *o, sf_error *err)
{
    if (!path) {
        sf_fail(err, SF_ERR_INVALID_ARG, "sf_load: null path");
        return NULL;
    }
    char *bytes;
    size_t size;
    if (sf_read_file(path, &bytes, &size, err) != SF_OK)
        return NULL;
    sf_model *m = sf_load_bytes((const unsigned char *)bytes, size, path, o, err);
    free(bytes);
    return m;
}
