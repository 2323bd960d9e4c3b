/* The CPU backend's compile: kernels from codegen/cpu_emit.c, optimised
 * with LLVM's default<O3> pipeline for the host CPU and compiled by ORC
 * LLJIT, plus the memory plan the executor (cpu_exec.c) lays out. */
#include "cpu_model.h"

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

/* Emits one kernel per distinct node signature into a module of ctx;
 * kid[i] is node i's kernel number (-1: no code). */
static sf_status emit_module(const sf_graph *g, LLVMContextRef ctx, LLVMModuleRef mod, int *kid, int *nkernels,
                             sf_error *err)
{
    emit e = {0};
    e.ctx = ctx;
    e.mod = mod;
    e.b = LLVMCreateBuilderInContext(ctx);
    e.f32 = LLVMFloatTypeInContext(ctx);
    e.i64 = LLVMInt64TypeInContext(ctx);
    e.ptr = LLVMPointerType(e.f32, 0);
    LLVMTypeRef params[4] = {LLVMPointerType(e.ptr, 0), e.i64, e.i64, e.i64};
    e.kernel_type = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 4, 0);
    sf_map seen = {0};
    sf_vec sigs = {0};
    sf_status st = SF_OK;
    *nkernels = 0;
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        kid[i] = -1;
        if (n->op == SF_OP_INPUT || n->op == SF_OP_PARAM || sf_op_is_reshape(n->op))
            continue;
        char *sig = em_signature(n);
        if (!sig || !sf_vec_push(&sigs, sig)) {
            free(sig);
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
            break;
        }
        int *known = sf_map_get(&seen, sig);
        if (known) {
            kid[i] = *known;
            continue;
        }
        kid[i] = (*nkernels)++;
        char name[32];
        snprintf(name, sizeof name, "k%d", kid[i]);
        if (!sf_map_put(&seen, sig, &kid[i]))
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
        else if (!em_kernel(&e, n, name, err))
            st = err ? err->code : SF_ERR_UNSUPPORTED;
    }
    for (size_t i = 0; i < sigs.len; i++)
        free(sigs.items[i]);
    sf_vec_free(&sigs);
    sf_map_free(&seen);
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
    m->threads = sf_pool_cpus();
    m->g = copy_graph(g, err);
    m->kernels = m->g ? calloc(m->g->nodes.len + 1, sizeof *m->kernels) : NULL;
    m->bufs = m->g ? calloc(m->g->values.len + 1, sizeof *m->bufs) : NULL;
    bool planned = m->kernels && m->bufs && sf_memplan_build_for(m->g, SF_PLAN_CONTIGUOUS, &m->plan, err) == SF_OK;
    if (m->g && (!m->kernels || !m->bufs))
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
    LLVMTargetMachineRef tm = planned ? host_machine(err) : NULL;
    if (!tm) {
        sf_cpu_free(m);
        return NULL;
    }
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("sheaf", ctx);
    int nkernels = 0, *kid = calloc(m->g->nodes.len + 1, sizeof *kid);
    sf_status st = kid ? emit_module(m->g, ctx, mod, kid, &nkernels, err) : sf_fail(err, SF_ERR_NOMEM, "out of memory");
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
    sf_kernel_fn *fns = calloc((size_t)nkernels + 1, sizeof *fns);
    if (st == SF_OK && !fns)
        st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (int k = 0; st == SF_OK && k < nkernels; k++) {
        char name[32];
        LLVMOrcExecutorAddress addr;
        snprintf(name, sizeof name, "k%d", k);
        if ((e = LLVMOrcLLJITLookup(m->jit, &addr, name)))
            st = llvm_fail(err, "looking up a kernel", e);
        else
            fns[k] = (sf_kernel_fn)(uintptr_t)addr;
    }
    for (size_t i = 0; st == SF_OK && i < m->g->nodes.len; i++)
        m->kernels[i] = kid[i] >= 0 ? fns[kid[i]] : NULL;
    m->nkernels = nkernels;
    free(fns);
    free(kid);
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
    free(m->bufs);
    free(m->args);
    free(m->args_at);
    sf_memplan_free(&m->plan);
    sf_pool_free(m->pool);
    free(m->arena);
    free(m);
}

const sf_graph *sf_cpu_graph(const sf_cpu_model *m) { return m->g; }
