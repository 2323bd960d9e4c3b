/* The CPU backend when LLVM was not found at configure time. */
#include "runtime/cpu.h"

bool sf_cpu_available(void) { return false; }

bool sf_cpu_supports(sf_opcode op) { (void)op; return false; }

sf_cpu_model *sf_cpu_compile(const sf_graph *g, sf_error *err)
{
    (void)g;
    sf_fail(err, SF_ERR_UNSUPPORTED, "this sheaf was built without LLVM: the CPU backend is off (--backend interp)");
    return NULL;
}

sf_status sf_cpu_run(sf_cpu_model *m, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                     sf_tensor_set *out, sf_error *err)
{
    (void)m, (void)batch, (void)inputs, (void)weights, (void)out;
    return sf_fail(err, SF_ERR_UNSUPPORTED, "this sheaf was built without LLVM");
}

void sf_cpu_free(sf_cpu_model *m) { (void)m; }

sf_status sf_cpu_exec(sf_cpu_model *m, int64_t batch, const float *const *inputs, const float *const *params,
                      float *const *outputs, sf_error *err)
{
    (void)m, (void)batch, (void)inputs, (void)params, (void)outputs;
    return sf_fail(err, SF_ERR_UNSUPPORTED, "this sheaf was built without LLVM");
}

/* no model exists without LLVM, so these are never reached with one */
const sf_graph *sf_cpu_graph(const sf_cpu_model *m) { (void)m; return NULL; }
const struct sf_plan *sf_cpu_plan(const sf_cpu_model *m) { (void)m; return NULL; }
int sf_cpu_linked_kernels(const sf_cpu_model *m) { (void)m; return 0; }
void sf_cpu_set_threads(sf_cpu_model *m, int threads) { (void)m, (void)threads; }
int sf_cpu_threads(const sf_cpu_model *m) { (void)m; return 1; }
bool sf_cpu_planned_bytes(const sf_cpu_model *m, int64_t batch, size_t *bytes)
{
    (void)m, (void)batch;
    *bytes = 0;
    return false;
}
size_t sf_cpu_arena_bytes(const sf_cpu_model *m) { (void)m; return 0; }

sf_status sf_cpu_host(sf_cpu_target *t, sf_error *err)
{
    (void)t;
    return sf_fail(err, SF_ERR_UNSUPPORTED, "this sheaf was built without LLVM");
}

sf_cpu_model *sf_cpu_load_object(const sf_graph *g, const void *object, size_t size, sf_error *err)
{
    (void)object, (void)size;
    return sf_cpu_compile(g, err);
}

sf_cpu_model *sf_cpu_prepare(const sf_graph *g, const struct sf_plan *plan, const void *object, size_t size,
                             sf_error *err)
{
    (void)plan, (void)object, (void)size;
    return sf_cpu_compile(g, err);
}

void sf_cpu_object(const sf_cpu_model *m, const void **object, size_t *size)
{
    (void)m;
    *object = NULL;
    *size = 0;
}
bool sf_cpu_has_blas(void) { return false; }
void sf_cpu_set_blas(sf_cpu_model *m, bool use) { (void)m, (void)use; }
void sf_cpu_set_dnnl(sf_cpu_model *m, bool use) { (void)m, (void)use; }
bool sf_cpu_uses_dnnl(const sf_cpu_model *m, size_t kernel) { (void)m, (void)kernel; return false; }
