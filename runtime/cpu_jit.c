/* The CPU backend's compile and run: kernels from codegen/cpu_emit.c,
 * optimised with LLVM's default<O3> pipeline for the host CPU and
 * compiled by ORC LLJIT; running calls them in node order over one buffer
 * per computed value (reshape-family views share their operand's). */
#include "cpu.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_emit.h"

typedef void (*kernel_fn)(float **bufs, int64_t batch);

struct sf_cpu_model {
    LLVMOrcLLJITRef jit;
    sf_graph *g;          /* a private copy: the model outlives the caller's graph */
    kernel_fn *kernels;   /* by node index; NULL: no code (leaf or view) */
};

bool sf_cpu_available(void) { return true; }

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_llvm(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
}

static sf_status llvm_fail(sf_error *err, const char *what, LLVMErrorRef e)
{
    char *msg = LLVMGetErrorMessage(e);
    sf_status st = sf_fail(err, SF_ERR_RUNTIME, "cpu backend: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return st;
}

static LLVMTargetMachineRef host_machine(sf_error *err)
{
    char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    char *msg = NULL;
    LLVMTargetRef target;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg))
        sf_fail(err, SF_ERR_RUNTIME, "cpu backend: no target for %s: %s", triple, msg ? msg : "");
    else
        tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive, LLVMRelocDefault,
                                     LLVMCodeModelJITDefault);
    LLVMDisposeMessage(msg);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return tm;
}

/* Emits every kernel of g into a module of ctx. */
static sf_status emit_module(const sf_graph *g, LLVMContextRef ctx, LLVMModuleRef mod, sf_error *err)
{
    emit e = {0};
    e.ctx = ctx;
    e.mod = mod;
    e.b = LLVMCreateBuilderInContext(ctx);
    e.f32 = LLVMFloatTypeInContext(ctx);
    e.i64 = LLVMInt64TypeInContext(ctx);
    e.ptr = LLVMPointerType(e.f32, 0);
    LLVMTypeRef params[2] = {LLVMPointerType(e.ptr, 0), e.i64};
    e.kernel_type = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 2, 0);
    e.ptr = LLVMPointerType(e.f32, 0);
    sf_status st = SF_OK;
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (n->op == SF_OP_INPUT || n->op == SF_OP_PARAM || sf_op_is_reshape(n->op))
            continue;
        char name[32];
        snprintf(name, sizeof name, "k%zu", i);
        if (!em_kernel(&e, n, name, err))
            st = err ? err->code : SF_ERR_UNSUPPORTED;
    }
    LLVMDisposeBuilder(e.b);
    return st;
}

static sf_status optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, sf_error *err)
{
    LLVMTargetDataRef data = LLVMCreateTargetDataLayout(tm);
    char *layout = LLVMCopyStringRepOfTargetData(data);
    LLVMSetDataLayout(mod, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(data);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(mod, triple);
    LLVMDisposeMessage(triple);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
    LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    return e ? llvm_fail(err, "optimising", e) : SF_OK;
}

/* the graph, copied: printed and parsed back, the text form being exact */
static sf_graph *copy_graph(const sf_graph *g, sf_error *err)
{
    char *text = sf_print_string(g);
    if (!text) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sf_graph *c = sf_parse(text, strlen(text), "<cpu backend>", err);
    free(text);
    return c;
}

sf_cpu_model *sf_cpu_compile(const sf_graph *g, sf_error *err)
{
    pthread_once(&init_once, init_llvm);
    sf_cpu_model *m = calloc(1, sizeof *m);
    if (!m) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->g = copy_graph(g, err);
    m->kernels = m->g ? calloc(m->g->nodes.len + 1, sizeof *m->kernels) : NULL;
    LLVMTargetMachineRef tm = m->kernels ? host_machine(err) : NULL;
    if (!tm) {
        sf_cpu_free(m);
        return NULL;
    }
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("sheaf", ctx);
    sf_status st = emit_module(m->g, ctx, mod, err);
    char *msg = NULL;
    if (st == SF_OK && LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg))
        st = sf_fail(err, SF_ERR_RUNTIME, "cpu backend: emitted invalid LLVM IR: %.300s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    if (st == SF_OK)
        st = optimise(mod, tm, err);
    LLVMDisposeTargetMachine(tm);
    LLVMErrorRef e = NULL;
    if (st == SF_OK && (e = LLVMOrcCreateLLJIT(&m->jit, NULL)))
        st = llvm_fail(err, "creating the JIT", e);
    if (st == SF_OK) { /* libm (tanhf, erff) from the process */
        LLVMOrcDefinitionGeneratorRef gen;
        char prefix = LLVMOrcLLJITGetGlobalPrefix(m->jit);
        if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, prefix, NULL, NULL)))
            st = llvm_fail(err, "symbol search", e);
        else
            LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(m->jit), gen);
    }
    if (st == SF_OK) {
        LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
        mod = NULL; /* owned by the JIT now */
        if ((e = LLVMOrcLLJITAddLLVMIRModule(m->jit, LLVMOrcLLJITGetMainJITDylib(m->jit), tsm))) {
            st = llvm_fail(err, "adding the module", e);
            LLVMOrcDisposeThreadSafeModule(tsm);
        }
    }
    if (mod)
        LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    for (size_t i = 0; st == SF_OK && i < m->g->nodes.len; i++) {
        const sf_node *n = m->g->nodes.items[i];
        if (n->op == SF_OP_INPUT || n->op == SF_OP_PARAM || sf_op_is_reshape(n->op))
            continue;
        char name[32];
        LLVMOrcExecutorAddress addr;
        snprintf(name, sizeof name, "k%zu", i);
        if ((e = LLVMOrcLLJITLookup(m->jit, &addr, name)))
            st = llvm_fail(err, "looking up a kernel", e);
        else
            m->kernels[i] = (kernel_fn)(uintptr_t)addr;
    }
    if (st != SF_OK) {
        sf_cpu_free(m);
        return NULL;
    }
    return m;
}

void sf_cpu_free(sf_cpu_model *m)
{
    if (!m)
        return;
    if (m->jit)
        LLVMOrcDisposeLLJIT(m->jit);
    sf_graph_free(m->g);
    free(m->kernels);
    free(m);
}

sf_status sf_cpu_run(sf_cpu_model *m, int64_t batch, const sf_tensor_set *inputs, const sf_tensor_set *weights,
                     sf_tensor_set *out, sf_error *err)
{
    const sf_graph *g = m->g;
    if (batch < 1)
        return sf_fail(err, SF_ERR_INVALID_ARG, "cpu backend: batch size must be at least 1");
    float **bufs = calloc(g->values.len + 1, sizeof *bufs);
    unsigned char *owned = calloc(g->values.len + 1, 1);
    sf_status st = bufs && owned ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        const sf_value *v = n->out[0];
        if (n->op == SF_OP_INPUT || n->op == SF_OP_PARAM) {
            const sf_tensor *t = sf_tensors_get(n->op == SF_OP_INPUT ? inputs : weights, n->name);
            size_t want, have = t ? sf_tensor_numel(t) : 0;
            if (!t || !sf_type_numel(&v->type, batch, &want) || want != have || t->rank != v->type.rank)
                st = sf_fail(err, n->op == SF_OP_PARAM ? SF_ERR_WEIGHTS : SF_ERR_INVALID_ARG,
                             "cpu backend: %s '%s' is missing or mis-shaped", sf_ops[n->op].name, n->name);
            else
                bufs[v->id] = t->data;
            continue;
        }
        if (sf_op_is_reshape(n->op)) {
            bufs[v->id] = bufs[n->in[0]->id];
            continue;
        }
        for (int k = 0; st == SF_OK && k < n->nout; k++) {
            size_t numel, bytes;
            if (!sf_type_numel(&n->out[k]->type, batch, &numel) || sf_mul_overflow(numel, sizeof(float), &bytes) ||
                !(bufs[n->out[k]->id] = malloc(bytes ? bytes : sizeof(float))))
                st = sf_fail(err, SF_ERR_NOMEM, "cpu backend: cannot allocate %s's result at batch %lld",
                             sf_ops[n->op].name, (long long)batch);
            else
                owned[n->out[k]->id] = 1;
        }
        if (st == SF_OK)
            m->kernels[i](bufs, batch);
    }
    for (size_t i = 0; st == SF_OK && i < g->outputs.len; i++) {
        const sf_value *v = g->outputs.items[i];
        int64_t dims[SF_MAX_RANK];
        for (int d = 0; d < v->type.rank; d++)
            dims[d] = v->type.dim[d] == SF_DIM_B ? batch : v->type.dim[d];
        char name[32];
        sf_output_name(g, i, name, sizeof name);
        if (!sf_tensors_add(out, name, v->type.rank, dims, bufs[v->id], err))
            st = err ? err->code : SF_ERR_NOMEM;
    }
    for (size_t i = 0; owned && i < g->values.len; i++)
        if (owned[i])
            free(bufs[i]);
    free(bufs);
    free(owned);
    return st;
}
