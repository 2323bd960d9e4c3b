/* The CPU backend's compile: kernels from codegen/cpu_emit.c (one per
 * distinct node signature), optimised with LLVM's default<O3> pipeline for
 * the host CPU, emitted as an object file in memory and linked by ORC
 * LLJIT. The same object is what a package stores: loading one links it
 * without compiling. The executor (cpu_exec.c) runs the kernels over the
 * memory plan's arena. */
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <llvm-c/ErrorHandling.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu_emit.h"
#include "runtime/cpu_model.h"
#include "runtime/elf_tls.h"
#include "codegen/kernel_key.h"

bool sf_cpu_available(void) { return true; }

bool sf_cpu_supports(sf_opcode op) { return em_supports(op); }

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* LLVM reports some failures (object code its loader cannot handle: TLS,
 * unknown relocations) through report_fatal_error, which calls this
 * handler and then exits the process. A library must not: while this
 * thread is inside link_object the handler jumps back there instead, and
 * the JIT it was filling is abandoned (never disposed: its state is
 * whatever LLVM left), a small leak in exchange for an error instead of
 * an exit. Elsewhere LLVM's own behaviour stands. */
static _Thread_local jmp_buf *fatal_jump;
static _Thread_local char fatal_reason[256];

static void fatal_handler(const char *reason)
{
    if (!fatal_jump)
        return;
    snprintf(fatal_reason, sizeof fatal_reason, "%s", reason ? reason : "");
    longjmp(*fatal_jump, 1);
}

static void init_llvm(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMInstallFatalErrorHandler(fatal_handler);
}

static sf_status llvm_fail(sf_error *err, const char *what, LLVMErrorRef e)
{
    char *msg = LLVMGetErrorMessage(e);
    sf_status st = sf_fail(err, SF_ERR_RUNTIME, "cpu backend: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return st;
}

sf_status sf_cpu_host(sf_cpu_target *t, sf_error *err)
{
    pthread_once(&init_once, init_llvm);
    char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    sf_status st = SF_OK;
    if (snprintf(t->triple, sizeof t->triple, "%s", triple) >= (int)sizeof t->triple ||
        snprintf(t->cpu, sizeof t->cpu, "%s", cpu) >= (int)sizeof t->cpu ||
        snprintf(t->features, sizeof t->features, "%s", features) >= (int)sizeof t->features)
        st = sf_fail(err, SF_ERR_RUNTIME, "cpu backend: the host's target description is too long");
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return st;
}

static LLVMTargetMachineRef host_machine(sf_error *err)
{
    sf_cpu_target t;
    if (sf_cpu_host(&t, err) != SF_OK)
        return NULL;
    char *msg = NULL;
    LLVMTargetRef target;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMGetTargetFromTriple(t.triple, &target, &msg))
        sf_fail(err, SF_ERR_RUNTIME, "cpu backend: no target for %s: %s", t.triple, msg ? msg : "");
    else /* position-independent: the object is linked at load time, anywhere */
        tm = LLVMCreateTargetMachine(target, t.triple, t.cpu, t.features, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                     LLVMCodeModelDefault);
    LLVMDisposeMessage(msg);
    return tm;
}

/* the nodes of the chain ending at node i, first to last; their count */
static int chain_nodes(const sf_cpu_model *m, size_t i, const sf_node **out)
{
    int n = 0;
    for (int k = (int)i; k >= 0 && n < 64; k = m->chain_prev[k])
        n++;
    int at = n;
    for (int k = (int)i; k >= 0 && at > 0; k = m->chain_prev[k])
        out[--at] = m->g->nodes.items[k];
    return n;
}

/* per-group weight floats of a product */
static int64_t group_weights(const sf_node *n)
{
    const sf_type *w = &n->in[1]->type;
    return n->op == SF_OP_GROUPED_LINEAR ? w->dim[1] * w->dim[2] : w->dim[0] * w->dim[1];
}

/* Fusion regions (vfuse's marks) whose nodes form product -> activations ->
 * product, one after the other in node order, each intermediate used once
 * and by the next: one kernel that keeps the intermediate on chip (small
 * per-group weights only: a large layer streams its weight per row block,
 * and the intermediate saved is small next to it). A product followed by
 * activations alone becomes one kernel that applies them before the
 * result leaves the cache. */
static sf_status find_chains(sf_cpu_model *m, bool *unstored, sf_error *err)
{
    const sf_graph *g = m->g;
    size_t nn = g->nodes.len;
    const sf_uses *use = sf_fill_uses(g);
    if (!use)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    const int *uses = use->count;
    for (size_t i = 0; i < nn; i++)
        m->chain_prev[i] = -1;
    for (size_t i = 0; i < nn; i++) {
        const sf_node *a = g->nodes.items[i];
        if (!a->region || (a->op != SF_OP_LINEAR && a->op != SF_OP_GROUPED_LINEAR) || m->absorbed[i] ||
            m->chain_prev[i] >= 0)
            continue;
        const sf_node *chain[64] = {a};
        int len = 1;
        size_t j = i + 1;
        for (; j < nn && len < 63; j++) {
            const sf_node *u = g->nodes.items[j], *prev = chain[len - 1];
            if (u->region != a->region || u->nin < 1 || u->in[0] != prev->out[0] || uses[prev->out[0]->id] != 1)
                break;
            chain[len++] = u;
            if (sf_op_cls(u->op) != SF_OPCLS_UNARY)
                break;
        }
        /* a product and activations ending the region: the epilogue alone */
        if (len >= 2 && !em_chain_fits(chain, len) && sf_op_cls(chain[len - 2]->op) == SF_OPCLS_UNARY &&
            em_chain_fits(chain, len - 1))
            len--;
        bool second = len >= 2 && sf_op_cls(chain[len - 1]->op) != SF_OPCLS_UNARY;
        if (len < 2 || !em_chain_fits(chain, len) ||
            (second && group_weights(a) + group_weights(chain[len - 1]) > 32768))
            continue;
        for (int k = 0; k < len; k++) {
            size_t at = i + (size_t)k;
            if (k > 0)
                m->chain_prev[at] = (int)at - 1;
            if (k < len - 1) {
                m->absorbed[at] = true;
                unstored[chain[k]->out[0]->id] = true;
            }
        }
    }
    return SF_OK;
}

/* a chain's key: its nodes' signatures */
static char *chain_signature(const sf_node *const *nodes, int count)
{
    char *sig = NULL;
    size_t len = 0;
    for (int k = 0; k < count; k++) {
        char *part = sf_kernel_signature(nodes[k]);
        char *grown = part ? realloc(sig, len + strlen(part) + 2) : NULL;
        if (!grown) {
            free(part);
            free(sig);
            return NULL;
        }
        sig = grown;
        sprintf(sig + len, "%s%s", k ? "|" : "", part);
        len = strlen(sig);
        free(part);
    }
    return sig;
}

/* Node i's kernel number kid[i] (-1: no code) and one node per kernel:
 * nodes (and chains) with the same signature share a kernel. */
static sf_status number_kernels(const sf_cpu_model *m, int *kid, size_t *rep, int *nkernels, sf_error *err)
{
    const sf_graph *g = m->g;
    sf_map seen = {0};
    sf_vec sigs = {0};
    sf_status st = SF_OK;
    *nkernels = 0;
    for (size_t i = 0; st == SF_OK && i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        kid[i] = -1;
        if (sf_op_cls(n->op) == SF_OPCLS_SOURCE || sf_op_cls(n->op) == SF_OPCLS_VIEW || m->absorbed[i])
            continue;
        const sf_node *chain[64];
        int len = chain_nodes(m, i, chain);
        char *sig = len > 1 ? chain_signature(chain, len) : sf_kernel_signature(n);
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
        rep[*nkernels] = i;
        kid[i] = (*nkernels)++;
        if (!sf_map_put(&seen, sig, &kid[i]))
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < sigs.len; i++)
        free(sigs.items[i]);
    sf_vec_free(&sigs);
    sf_map_free(&seen);
    return st;
}

static sf_status emit_module(const sf_cpu_model *m, const size_t *rep, int nkernels, LLVMContextRef ctx,
                             LLVMModuleRef mod, sf_error *err)
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
    sf_status st = SF_OK;
    for (int k = 0; st == SF_OK && k < nkernels; k++) {
        char name[32];
        snprintf(name, sizeof name, "k%d", k);
        const sf_node *chain[64];
        int len = chain_nodes(m, rep[k], chain);
        if (!(len > 1 ? em_chain_kernel(&e, chain, len, name) : em_kernel(&e, chain[0], name, err)))
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

/* a model with its graph copied, planned, and its kernels numbered */
static sf_cpu_model *model_new(const sf_graph *g, int **kid, size_t **rep, int *nkernels, sf_error *err)
{
    pthread_once(&init_once, init_llvm);
    sf_cpu_model *m = calloc(1, sizeof *m);
    if (!m) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->threads = sf_pool_cpus();
    m->poison = getenv("SHEAF_POISON") && *getenv("SHEAF_POISON") && strcmp(getenv("SHEAF_POISON"), "0");
    m->g = copy_graph(g, err);
    size_t nn = m->g ? m->g->nodes.len + 1 : 0;
    m->kernels = m->g ? calloc(nn, sizeof *m->kernels) : NULL;
    m->bufs = m->g ? calloc(m->g->values.len + 1, sizeof *m->bufs) : NULL;
    *kid = m->g ? calloc(nn, sizeof **kid) : NULL;
    *rep = m->g ? calloc(nn, sizeof **rep) : NULL;
    m->chain_prev = m->g ? calloc(nn, sizeof *m->chain_prev) : NULL;
    m->absorbed = m->g ? calloc(nn, sizeof *m->absorbed) : NULL;
    bool *unstored = m->g ? calloc(m->g->values.len + 1, sizeof *unstored) : NULL;
    sf_status st = !m->g ? SF_ERR_PARSE
                 : !m->kernels || !m->bufs || !*kid || !*rep || !m->chain_prev || !m->absorbed || !unstored
                     ? sf_fail(err, SF_ERR_NOMEM, "out of memory")
                     : SF_OK;
    if (st == SF_OK)
        st = find_chains(m, unstored, err);
    if (st == SF_OK)
        st = sf_memplan_build_for(m->g, SF_PLAN_CONTIGUOUS, unstored, &m->plan, err);
    free(unstored);
    if (st == SF_OK)
        st = number_kernels(m, *kid, *rep, nkernels, err);
    if (st != SF_OK) {
        free(*kid);
        free(*rep);
        *kid = NULL, *rep = NULL;
        sf_cpu_free(m);
        return NULL;
    }
    return m;
}

static sf_status link_object_unguarded(sf_cpu_model *m, const int *kid, int nkernels, sf_error *err);

/* links the object into a fresh JIT and finds every kernel; an LLVM fatal
 * error on the way is this call's error */
static sf_status link_object(sf_cpu_model *m, const int *kid, int nkernels, sf_error *err)
{
    if (sf_elf_uses_tls(m->object, m->object_size))
        return sf_fail(err, SF_ERR_FORMAT, "cpu backend: LLVM cannot load the object code: it uses thread-local "
                                           "storage, which sheaf's kernels never do");
    jmp_buf here;
    if (setjmp(here)) {
        fatal_jump = NULL;
        m->jit = NULL; /* abandoned: see fatal_handler */
        return sf_fail(err, SF_ERR_FORMAT, "cpu backend: LLVM cannot load the object code: %s", fatal_reason);
    }
    fatal_jump = &here;
    sf_status st = link_object_unguarded(m, kid, nkernels, err);
    fatal_jump = NULL;
    return st;
}

static sf_status link_object_unguarded(sf_cpu_model *m, const int *kid, int nkernels, sf_error *err)
{
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&m->jit, NULL);
    if (e)
        return llvm_fail(err, "creating the JIT", e);
    LLVMOrcDefinitionGeneratorRef gen; /* libm (tanhf, erff) from the process */
    char prefix = LLVMOrcLLJITGetGlobalPrefix(m->jit);
    if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, prefix, NULL, NULL)))
        return llvm_fail(err, "symbol search", e);
    LLVMOrcJITDylibRef lib = LLVMOrcLLJITGetMainJITDylib(m->jit);
    LLVMOrcJITDylibAddGenerator(lib, gen);
    LLVMMemoryBufferRef buf =
        LLVMCreateMemoryBufferWithMemoryRangeCopy((const char *)m->object, m->object_size, "sheaf kernels");
    if ((e = LLVMOrcLLJITAddObjectFile(m->jit, lib, buf)))
        return llvm_fail(err, "loading the object code", e);
    sf_kernel_fn *fns = calloc((size_t)nkernels + 1, sizeof *fns);
    if (!fns)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    sf_status st = SF_OK;
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
    return st;
}

/* emits, optimises and compiles the kernels to an object in memory */
static sf_status compile_object(sf_cpu_model *m, const size_t *rep, int nkernels, sf_error *err)
{
    LLVMTargetMachineRef tm = host_machine(err);
    if (!tm)
        return err ? err->code : SF_ERR_RUNTIME;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("sheaf", ctx);
    sf_status st = emit_module(m, rep, nkernels, ctx, mod, err);
    char *msg = NULL;
    if (st == SF_OK && LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg))
        st = sf_fail(err, SF_ERR_RUNTIME, "cpu backend: emitted invalid LLVM IR: %.300s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    msg = NULL;
    if (st == SF_OK)
        st = optimise(mod, tm, err);
    LLVMMemoryBufferRef obj = NULL;
    if (st == SF_OK && LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &obj))
        st = sf_fail(err, SF_ERR_RUNTIME, "cpu backend: emitting object code: %s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    if (st == SF_OK) {
        m->object_size = LLVMGetBufferSize(obj);
        m->object = malloc(m->object_size ? m->object_size : 1);
        if (!m->object)
            st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
        else
            memcpy(m->object, LLVMGetBufferStart(obj), m->object_size);
    }
    const char *dump = getenv("SHEAF_DUMP_OBJECT"); /* to read the generated code: objdump -d */
    if (st == SF_OK && dump && *dump) {
        FILE *f = fopen(dump, "wb");
        if (f) {
            fwrite(m->object, 1, m->object_size, f);
            fclose(f);
        }
    }
    if (obj)
        LLVMDisposeMemoryBuffer(obj);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    return st;
}

static sf_cpu_model *build(const sf_graph *g, const void *object, size_t size, sf_error *err)
{
    int *kid, nkernels;
    size_t *rep;
    sf_cpu_model *m = model_new(g, &kid, &rep, &nkernels, err);
    if (!m)
        return NULL;
    sf_status st = SF_OK;
    if (object) {
        m->object_size = size;
        m->object = malloc(size ? size : 1);
        st = m->object ? SF_OK : sf_fail(err, SF_ERR_NOMEM, "out of memory");
        if (st == SF_OK)
            memcpy(m->object, object, size);
    } else {
        st = compile_object(m, rep, nkernels, err);
    }
    if (st == SF_OK)
        st = link_object(m, kid, nkernels, err);
    free(kid);
    free(rep);
    if (st != SF_OK) {
        sf_cpu_free(m);
        return NULL;
    }
    return m;
}

sf_cpu_model *sf_cpu_compile(const sf_graph *g, sf_error *err) { return build(g, NULL, 0, err); }

sf_cpu_model *sf_cpu_load_object(const sf_graph *g, const void *object, size_t size, sf_error *err)
{
    if (!object) {
        sf_fail(err, SF_ERR_INVALID_ARG, "cpu backend: no object code");
        return NULL;
    }
    return build(g, object, size, err);
}

void sf_cpu_object(const sf_cpu_model *m, const void **object, size_t *size)
{
    *object = m->object;
    *size = m->object_size;
}

void sf_cpu_free(sf_cpu_model *m)
{
    if (!m)
        return;
    if (m->jit)
        LLVMOrcDisposeLLJIT(m->jit);
    for (size_t i = 0; m->packed && i < m->g->nodes.len; i++)
        free(m->packed[i]);
    sf_graph_free(m->g);
    free(m->kernels);
    free(m->bufs);
    free(m->args);
    free(m->args_at);
    free(m->packed);
    free(m->packed_src);
    free(m->chain_prev);
    free(m->absorbed);
    free(m->object);
    sf_memplan_free(&m->plan);
    sf_pool_free(m->pool);
    free(m->arena);
    free(m);
}

const sf_graph *sf_cpu_graph(const sf_cpu_model *m) { return m->g; }
