/* The CPU backend when LLVM was not found at configure time. */
#include "cpu.h"

bool sf_cpu_available(void) { return false; }

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
