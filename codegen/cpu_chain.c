/* Fused chains for the CPU backend: products and unary ops per group,
 * optionally ending in a product over all groups, one kernel (the plan
 * chooses them, sf_plan_chain_fits).
 * Each product of a chain (a stage) writes ROWS rows of one group into a
 * stack buffer the next reads (two, in turn), the last into the output;
 * the unary ops after a stage run over what it wrote. A chain that ends
 * in a product over all groups (the K-concatenated product hfuse makes of
 * summed branches) runs each block of rows through every group in turn,
 * adding each group's slice of that product into the output rows, so the
 * groups' results are never stored. */
#include "codegen/cpu_product.h"

enum { MAX_STAGES = SF_CHAIN_MAX_PRODUCTS };

typedef struct stage {
    product p;
    const sf_node *const *epilogue; /* the unary ops after it */
    int nepilogue;
    LLVMValueRef fn; /* epilogue_fn's, once made */
} stage;

typedef struct chain {
    stage s[MAX_STAGES];
    int n;
    bool sums;       /* the last stage sums over the groups */
    int64_t G, H;    /* the groups, and the width of each that the sum reads */
    LLVMValueRef b;  /* the sum's bias, or NULL */
} chain;

/* the stage's unary ops over base[from, from + n): whole vectors in one
 * loop, the n % WIDTH left in a second that the vectorizer runs as one
 * masked step. One loop for both left the remainder scalar (Heads(37, 12,
 * 7, 3) at batch 1: 37 groups of 7 scalar tanh, 3x slower); one masked
 * loop for all of it made every step masked (Towers(4, 8, 32)'s GELU at
 * batch 4096, 2x slower). */
static void map_loop(emit *e, const stage *s, LLVMValueRef base, LLVMValueRef from, LLVMValueRef to, bool masked)
{
    loop li;
    em_loop_from(e, &li, from, to, masked ? "t" : "i");
    LLVMValueRef v = em_load(e, base, li.index);
    for (int k = 0; k < s->nepilogue; k++)
        v = em_unary(e, s->epilogue[k], v);
    em_store(e, base, li.index, v);
    (masked ? em_loop_end_masked : em_loop_end)(e, &li);
}

static void map_run(emit *e, const stage *s, LLVMValueRef base, LLVMValueRef from, LLVMValueRef n)
{
    LLVMValueRef whole = em_add(e, from, LLVMBuildAnd(e->b, n, em_const(e, -WIDTH), ""));
    map_loop(e, s, base, from, whole, false);
    map_loop(e, s, base, whole, em_add(e, from, n), true);
}

/* void f(float *p, i64 n): the stage's unary ops over p[0, n), as a
 * function of its own, not inlined. Written inline, in a chain's nested
 * loops over a stack buffer, LLVM 14 left the loop scalar (GELU over 4
 * rows of 32 ran as scalar code, 6x slower than the kernel alone);
 * alone, it is the plain loop the vectorizer widens. */
static LLVMValueRef epilogue_fn(emit *e, const stage *s)
{
    LLVMTypeRef params[2] = {e->ptr, e->i64};
    LLVMValueRef f = LLVMAddFunction(e->mod, "epilogue", LLVMFunctionType(LLVMVoidTypeInContext(e->ctx), params, 2, 0));
    LLVMSetLinkage(f, LLVMInternalLinkage);
    unsigned kind = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(e->ctx, kind, 0));
    LLVMValueRef fn = e->fn;
    LLVMBasicBlockRef at = LLVMGetInsertBlock(e->b);
    e->fn = f;
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->ctx, f, "entry"));
    map_run(e, s, LLVMGetParam(f, 0), em_const(e, 0), LLVMGetParam(f, 1));
    LLVMBuildRetVoid(e->b);
    e->fn = fn;
    LLVMPositionBuilderAtEnd(e->b, at);
    return f;
}

/* the activations over `rows` rows of p's result, where it lies: a stack
 * buffer (one run of rows * O, through epilogue_fn), or the output (a run
 * per row, inline: the vectorizer widens it there) */
static void apply_epilogue(emit *e, stage *s, int rows, LLVMValueRef mo, LLVMValueRef g, bool on_stack)
{
    const product *p = &s->p;
    if (on_stack) {
        if (!s->fn)
            s->fn = epilogue_fn(e, s);
        LLVMValueRef args[2] = {p->out, em_const(e, rows * p->O)};
        LLVMBuildCall2(e->b, LLVMGlobalGetValueType(s->fn), s->fn, args, 2, "");
        return;
    }
    bool packed = p->o_m == p->O; /* one group's rows are one run of rows * O: one vector loop */
    for (int r = 0; r < (packed ? 1 : rows); r++) {
        LLVMValueRef row = em_add(e, em_mulk(e, em_add(e, mo, em_const(e, r)), p->o_m), em_mulk(e, g, p->o_g));
        map_run(e, s, p->out, row, em_const(e, packed ? rows * p->O : p->O));
    }
}

/* stages [0, n) of `rows` rows from row m0, group g */
static void run_stages(emit *e, chain *c, int n, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    LLVMValueRef zero = em_const(e, 0);
    for (int i = 0; i < n; i++) {
        stage *s = &c->s[i];
        bool to_out = i == c->n - 1;
        LLVMValueRef mo = to_out ? m0 : zero, pg = s->p.G > 1 ? g : zero;
        em_rows_block(e, &s->p, rows, i == 0 ? m0 : zero, mo, pg);
        if (s->nepilogue)
            apply_epilogue(e, s, rows, mo, pg, !to_out);
    }
}

static void chain_block(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    run_stages(e, ctx, ((chain *)ctx)->n, rows, m0, g);
}

/* a block of rows through every group: the output rows start at the sum's
 * bias, each group adds its slice, the sum's epilogue runs last */
static void sum_block(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g)
{
    (void)g;
    chain *c = ctx;
    stage *z = &c->s[c->n - 1];
    int64_t O = z->p.O;
    loop li;
    em_loop_begin(e, &li, em_const(e, rows * O), "i");
    LLVMValueRef start = c->b ? em_load(e, c->b, LLVMBuildSRem(e->b, li.index, em_const(e, O), ""))
                              : LLVMConstReal(e->f32, 0);
    em_store(e, z->p.out, em_add(e, em_mulk(e, m0, O), li.index), start);
    em_loop_end(e, &li);
    loop lg;
    em_loop_begin(e, &lg, em_const(e, c->G), "g");
    run_stages(e, c, c->n - 1, rows, m0, lg.index);
    z->p.k0 = em_mulk(e, lg.index, c->H);
    em_rows_block(e, &z->p, rows, em_const(e, 0), m0, em_const(e, 0));
    em_loop_end(e, &lg);
    if (z->nepilogue)
        apply_epilogue(e, z, rows, m0, em_const(e, 0), false);
}

/* the k of one group's slice of a summing chain's last product, whose rows are I long */
static int64_t slice_of(const sf_node *const *nodes, int64_t I) { return I / em_groups_of(nodes[0]); }

/* the stages of nodes[0..count) (sf_plan_chain_fits holds), with the plan
 * kernel's args: the first product's operands, each later product's
 * weight and bias, the result */
static void stages_of(emit *e, chain *c, const sf_node *const *nodes, int count)
{
    int at = nodes[0]->nin;
    for (int k = 0; k < count; k++) {
        const sf_node *n = nodes[k];
        if (sf_op_cls(n->op) == SF_OPCLS_UNARY) {
            c->s[c->n - 1].nepilogue++;
            continue;
        }
        int wa = k ? at : 1, ba = k ? at + 1 : 2;
        if (k)
            at += n->nin - 1;
        stage *s = &c->s[c->n++];
        s->p = em_product_of(e, n, 0, wa, ba, 0);
        s->epilogue = nodes + k + 1;
        s->nepilogue = 0;
        s->fn = NULL;
    }
    stage *z = &c->s[c->n - 1];
    z->p.out = em_arg(e, at);
    c->sums = sf_plan_chain_sums(nodes, count);
    c->G = em_groups_of(nodes[0]);
    if (c->sums) { /* one group's slice at a time: k over [g H, (g + 1) H) of the whole row */
        c->H = slice_of(nodes, z->p.I);
        z->p.I = c->H, z->p.o_g = 0, z->p.accumulate = true;
        c->b = z->p.b;
        z->p.b = NULL;
    }
}

int64_t em_summed_slice(const sf_plan *p, int i)
{
    int k = p->kernel_of[i];
    if (k < 0)
        return 0;
    const sf_node *m[64];
    int count = sf_plan_members(p, &p->kernels[k], m), last = count - 1;
    while (last > 0 && sf_op_cls(m[last]->op) == SF_OPCLS_UNARY)
        last--;
    if (count < 2 || m[last] != p->g->nodes.items[i] || !sf_plan_chain_sums(m, count))
        return 0;
    return slice_of(m, m[last]->in[1]->type.dim[1]);
}

/* em_over_blocks' loop: (block of ROWS rows, group), or blocks alone where the
 * chain sums over the groups (each block runs every group) */
int64_t em_chain_extent(const sf_node *const *nodes, int count, int64_t B)
{
    return em_row_blocks(nodes[0], B) * (sf_plan_chain_sums(nodes, count) ? 1 : em_groups_of(nodes[0]));
}

void em_chain(emit *e, const sf_node *const *nodes, int count)
{
    chain c = {.n = 0};
    stages_of(e, &c, nodes, count);
    int64_t H = 0; /* the widest intermediate */
    for (int i = 0; i < c.n - 1; i++)
        H = c.s[i].p.O > H ? c.s[i].p.O : H;
    LLVMValueRef mid[2] = {NULL, NULL};
    for (int j = 0; j < 2 && H; j++) {
        LLVMValueRef slot = em_entry_alloca(e, LLVMArrayType(e->f32, (unsigned)(ROWS * H)));
        LLVMSetAlignment(slot, 32);
        mid[j] = LLVMBuildBitCast(e->b, slot, e->ptr, "");
    }
    for (int i = 0; i < c.n; i++) { /* stage i writes mid[i % 2], stage i + 1 reads it */
        product *p = &c.s[i].p;
        if (i < c.n - 1)
            p->out = mid[i % 2], p->o_m = p->O, p->o_g = 0;
        if (i > 0)
            p->x = mid[(i - 1) % 2], p->x_m = c.s[i - 1].p.O, p->x_g = 0;
    }
    em_over_blocks(e, nodes[0], c.sums ? 1 : c.G, c.sums ? sum_block : chain_block, &c);
}
