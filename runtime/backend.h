/* The backends behind sf_run, in the way of ggml's backend interface: one
 * table, each entry a name, what it supports, how it prepares a model and
 * runs it, and how it lets go. sf_options.backend is resolved to an entry
 * once, where a model is made; sf_run calls the entry the model holds. */
#ifndef SF_BACKEND_H
#define SF_BACKEND_H

#include "sheaf.h"

#include "ir/ir.h"

typedef enum sf_backend_kind { SF_BACKEND_INTERP, SF_BACKEND_CPU, SF_BACKEND_CUDA, SF_BACKEND_COUNT } sf_backend_kind;

typedef struct sf_backend_i {
    const char *name;               /* as sf_options.backend names it */
    bool (*built)(void);            /* whether this build has it */
    bool (*supports)(sf_opcode op); /* whether an op computes there (sources and views need nothing) */
    /* makes the model's state for this backend from its graph (object: a
     * package's CPU code, or NULL); the model's backend may end up another
     * one (cuda without a device runs on the CPU, and says so in its notice) */
    sf_status (*prepare)(sf_model *m, const void *object, size_t size, const sf_options *o, sf_error *err);
    sf_status (*run)(sf_model *m, int64_t batch, const float *const *inputs, float *const *outputs, sf_error *err);
    void (*release)(sf_model *m);
} sf_backend_i;

extern const sf_backend_i sf_backends[SF_BACKEND_COUNT];

/* sf_options.backend as an entry: NULL is the CPU where this build has it,
 * else the interpreter; an unknown name is refused with the choices. */
sf_status sf_backend_resolve(const char *name, sf_backend_kind *kind, sf_error *err);

#endif
