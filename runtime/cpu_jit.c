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
#include <llvm-c/Object.h>
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
#include <unistd.h>

#include "codegen/cpu_emit.h"
#include "runtime/cpu_model.h"
#include "runtime/elf_check.h"
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
    else /* the large code model: every address is 64 bits wide, so the object links anywhere (elf_check.h) */
        tm = LLVMCreateTargetMachine(target, t.triple, t.cpu, t.features, LLVMCodeGenLevelAggressive, LLVMRelocStatic,
                                     LLVMCodeModelLarge);
    LLVMDisposeMessage(msg);
    return tm;
}

/* one function k<code> per distinct kernel of the plan */
static sf_status emit_module(const sf_cpu_model *m, LLVMContextRef ctx, LLVMModuleRef mod, sf_error *err)
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
    sf_cpu_target t;
    sf_status st = sf_cpu_host(&t, err);
    e.zmm = st == SF_OK && strstr(t.features, "+avx512f");
    /* the other ISA's register blocking (either is correct code on any host, only its
     * speed differs): the tests reach both branches on one machine; measurements compare */
    const char *blocking = getenv("SHEAF_CPU_BLOCKING");
    if (blocking && !strcmp(blocking, "8x2"))
        e.zmm = true;
    else if (blocking && !strcmp(blocking, "4x1"))
        e.zmm = false;
    for (int k = 0; st == SF_OK && k < m->plan.ncodes; k++) {
        char name[32];
        snprintf(name, sizeof name, "k%d", k);
        const sf_node *chain[64];
        int len = sf_plan_members(&m->plan, &m->plan.kernels[m->plan.code_kernel[k]], chain);
        if (!(len > 1 ? em_chain_kernel(&e, chain, len, name) : em_kernel(&e, chain[0], name, err)))
            st = err ? err->code : SF_ERR_UNSUPPORTED;
    }
    LLVMDisposeBuilder(e.b);
    return st;
}

/* LLVM tunes Intel's AVX-512 CPUs (skylake-avx512 to sapphirerapids) to
 * vectorize loops 256 bits wide, for the clock those chips once lost on
 * 512-bit code. Here that halved the activations: Towers(4, 8, 32)'s GELU
 * ran in ymm registers with its constants spilled, costing 1.7x its
 * chain's products on an Intel Xeon with AVX-512 (the product kernels are
 * explicit 16-lane code and were not affected). Every function asks for
 * 512; a CPU without AVX-512 keeps its own widest. */
static void prefer_512(LLVMModuleRef mod)
{
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMAttributeRef a = LLVMCreateStringAttribute(ctx, "prefer-vector-width", 19, "512", 3);
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f))
            LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, a);
}

static sf_status optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, sf_error *err)
{
    prefer_512(mod);
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

/* where every kernel's pointers go, which are packed weights, which
 * values live in the arena and which are views: all fixed by the plan, so
 * a run only fills in addresses */
static sf_status lay_out(sf_cpu_model *m, sf_error *err)
{
    const sf_plan *p = &m->plan;
    const sf_graph *g = m->g;
    size_t total = 0;
    m->args_at = calloc(p->nkernels + 1, sizeof *m->args_at);
    for (size_t k = 0; m->args_at && k < p->nkernels; k++)
        m->args_at[k] = total, total += (size_t)p->kernels[k].nargs;
    m->args = calloc(total + 1, sizeof *m->args);
    m->packs = calloc(total + 1, sizeof *m->packs);
    m->placed = calloc(g->values.len + 1, sizeof *m->placed);
    m->views = calloc(g->nodes.len + 1, sizeof *m->views);
    if (!m->args_at || !m->args || !m->packs || !m->placed || !m->views)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < p->nkernels; k++)
        for (int a = 0; a < p->kernels[k].nargs; a++) {
            const sf_plan_arg *arg = &p->kernels[k].args[a];
            const sf_node *n = g->nodes.items[arg->node];
            m->packs[m->args_at[k] + (size_t)a] = arg->index < n->nin && em_packs_weight(n, arg->index) ? arg->node : -1;
        }
    for (size_t v = 0; v < g->values.len; v++)
        if (p->mem.home[v] == SF_HOME_ROWS || p->mem.home[v] == SF_HOME_FIXED)
            m->placed[m->nplaced++] = (int)v;
    for (size_t i = 0; i < g->nodes.len; i++) {
        const sf_node *n = g->nodes.items[i];
        if (sf_op_cls(n->op) == SF_OPCLS_VIEW)
            m->views[m->nviews++] = (sf_cpu_view){n->out[0]->id, n->in[0]->id};
    }
    return SF_OK;
}

/* a model with its graph copied and planned (plan: a copy of that one) */
static sf_cpu_model *model_new(const sf_graph *g, const sf_plan *plan, sf_error *err)
{
    pthread_once(&init_once, init_llvm);
    sf_cpu_model *m = calloc(1, sizeof *m);
    if (!m) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->threads = sf_pool_cpus();
    m->poison = getenv("SHEAF_POISON") && *getenv("SHEAF_POISON") && strcmp(getenv("SHEAF_POISON"), "0");
    m->g = sf_graph_copy(g, "<cpu backend>", err);
    size_t nn = m->g ? m->g->nodes.len + 1 : 0;
    m->bufs = m->g ? calloc(m->g->values.len + 1, sizeof *m->bufs) : NULL;
    m->packed = m->g ? calloc(nn, sizeof *m->packed) : NULL;
    m->packed_src = m->g ? calloc(nn, sizeof *m->packed_src) : NULL;
    sf_status st = !m->g ? SF_ERR_PARSE
                 : !m->bufs || !m->packed || !m->packed_src ? sf_fail(err, SF_ERR_NOMEM, "out of memory")
                                                            : SF_OK;
    if (st == SF_OK)
        st = plan ? sf_plan_copy(plan, m->g, &m->plan, err) : sf_plan_build(m->g, &m->plan, err);
    if (st == SF_OK)
        st = lay_out(m, err);
    if (st == SF_OK)
        st = sf_cpu_start_libraries(m, err);
    if (st != SF_OK) {
        sf_cpu_free(m);
        return NULL;
    }
    return m;
}

static sf_status link_object_unguarded(sf_cpu_model *m, sf_error *err);

/* With SHEAF_PERF_MAP set, each linked kernel's address, size and key go
 * to /tmp/perf-PID.map, the file perf reads to name JIT code: `perf
 * record` then `perf report` shows which kernel the time went to. The
 * sizes come from the object's symbol table. A development aid: failures
 * to write it are ignored. */
static void write_perf_map(const sf_cpu_model *m)
{
    const char *want = getenv("SHEAF_PERF_MAP");
    if (!want || !*want || !strcmp(want, "0"))
        return;
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
    FILE *f = fopen(path, "a");
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange((const char *)m->object, m->object_size, "", 0);
    LLVMBinaryRef bin = f ? LLVMCreateBinary(buf, NULL, NULL) : NULL;
    if (bin) {
        LLVMSymbolIteratorRef it = LLVMObjectFileCopySymbolIterator(bin);
        for (; !LLVMObjectFileIsSymbolIteratorAtEnd(bin, it); LLVMMoveToNextSymbol(it)) {
            const char *name = LLVMGetSymbolName(it);
            int k;
            if (name && sscanf(name, "k%d", &k) == 1 && k >= 0 && k < m->plan.ncodes)
                fprintf(f, "%lx %lx sheaf_%s_%.200s\n", (unsigned long)(uintptr_t)m->code[k],
                        (unsigned long)LLVMGetSymbolSize(it), name, m->plan.keys[k]);
        }
        LLVMDisposeSymbolIterator(it);
        LLVMDisposeBinary(bin);
    }
    LLVMDisposeMemoryBuffer(buf);
    if (f)
        fclose(f);
}

/* links the object into a fresh JIT and finds every kernel; an LLVM fatal
 * error on the way is this call's error */
static sf_status link_object(sf_cpu_model *m, sf_error *err)
{
    if (sf_elf_uses_tls(m->object, m->object_size))
        return sf_fail(err, SF_ERR_FORMAT, "cpu backend: LLVM cannot load the object code: it uses thread-local "
                                           "storage, which sheaf's kernels never do");
    const char *far = sf_elf_distance_bound(m->object, m->object_size);
    if (far)
        return sf_fail(err, SF_ERR_FORMAT, "cpu backend: the object code is not safe to load: %s (a package "
                                           "from an older sheaf: compile it again)", far);
    jmp_buf here;
    if (setjmp(here)) {
        fatal_jump = NULL;
        m->jit = NULL; /* abandoned: see fatal_handler */
        return sf_fail(err, SF_ERR_FORMAT, "cpu backend: LLVM cannot load the object code: %s", fatal_reason);
    }
    fatal_jump = &here;
    sf_status st = link_object_unguarded(m, err);
    fatal_jump = NULL;
    return st;
}

static sf_status link_object_unguarded(sf_cpu_model *m, sf_error *err)
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
    int ncodes = m->plan.ncodes;
    sf_kernel_fn *fns = calloc((size_t)ncodes + 1, sizeof *fns);
    if (!fns)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    sf_status st = SF_OK;
    for (int k = 0; st == SF_OK && k < ncodes; k++) {
        char name[32];
        LLVMOrcExecutorAddress addr;
        snprintf(name, sizeof name, "k%d", k);
        if ((e = LLVMOrcLLJITLookup(m->jit, &addr, name)))
            st = llvm_fail(err, "looking up a kernel", e);
        else
            fns[k] = (sf_kernel_fn)(uintptr_t)addr;
    }
    if (st == SF_OK)
        m->code = fns;
    else
        free(fns);
    return st;
}

/* emits, optimises and compiles the kernels to an object in memory */
static sf_status compile_object(sf_cpu_model *m, sf_error *err)
{
    LLVMTargetMachineRef tm = host_machine(err);
    if (!tm)
        return err ? err->code : SF_ERR_RUNTIME;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("sheaf", ctx);
    sf_status st = emit_module(m, ctx, mod, err);
    char *msg = NULL;
    if (st == SF_OK && LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg))
        st = sf_fail(err, SF_ERR_RUNTIME, "cpu backend: emitted invalid LLVM IR: %.300s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    msg = NULL;
    const char *ll = getenv("SHEAF_DUMP_LLVM"); /* the module before optimising: opt -O3, llc, to study */
    if (st == SF_OK && ll && *ll && LLVMPrintModuleToFile(mod, ll, &msg))
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

sf_cpu_model *sf_cpu_prepare(const sf_graph *g, const sf_plan *plan, const void *object, size_t size, sf_error *err)
{
    sf_cpu_model *m = model_new(g, plan, err);
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
        st = compile_object(m, err);
    }
    if (st == SF_OK)
        st = link_object(m, err);
    if (st == SF_OK)
        write_perf_map(m);
    if (st != SF_OK) {
        sf_cpu_free(m);
        return NULL;
    }
    return m;
}

sf_cpu_model *sf_cpu_compile(const sf_graph *g, sf_error *err) { return sf_cpu_prepare(g, NULL, NULL, 0, err); }

sf_cpu_model *sf_cpu_load_object(const sf_graph *g, const void *object, size_t size, sf_error *err)
{
    if (!object) {
        sf_fail(err, SF_ERR_INVALID_ARG, "cpu backend: no object code");
        return NULL;
    }
    return sf_cpu_prepare(g, NULL, object, size, err);
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
    for (size_t k = 0; m->dnnl && k < m->plan.nkernels; k++)
        sf_dnnl_conv_free(m->dnnl[k]);
    free(m->dnnl);
    free(m->absorbed);
    free(m->addend);
    free(m->dnnl_scratch.p);
    sf_plan_free(&m->plan);
    sf_graph_free(m->g);
    free(m->code);
    free(m->bufs);
    free(m->args);
    free(m->args_at);
    free(m->packs);
    free(m->placed);
    free(m->views);
    free(m->packed);
    free(m->packed_src);
    free(m->object);
    sf_pool_free(m->pool);
    free(m->arena);
    free(m);
}

const sf_graph *sf_cpu_graph(const sf_cpu_model *m) { return m->g; }

const struct sf_plan *sf_cpu_plan(const sf_cpu_model *m) { return &m->plan; }

int sf_cpu_linked_kernels(const sf_cpu_model *m)
{
    int n = 0;
    for (int k = 0; m->code && k < m->plan.ncodes; k++)
        n += m->code[k] != NULL;
    return n;
}
