/* CUDA C for a graph: one kernel per distinct node signature, each a
 * grid-stride loop over its work items (an output element, or a row for
 * the ops that reduce along one). Shapes are compiled in, the batch is
 * the argument B. Reductions (layernorm, softmax, sum, mean) accumulate in
 * double as the reference interpreter does; products accumulate in float
 * with fused multiply-adds, in k order. */
#define _GNU_SOURCE /* open_memstream */
#include "codegen/cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda_emit.h"
#include "codegen/cuda_unary.h"
#include "codegen/kernel_key.h"

/* ---- pieces of expressions ---- */

void cu_put_dim(FILE *f, int64_t d)
{
    if (d == SF_DIM_B)
        fputs("B", f);
    else
        fprintf(f, "%lldLL", (long long)d);
}

/* (d_from * ... * d_to-1) as a long long expression */
void cu_put_prod(FILE *f, const sf_type *t, int from, int to)
{
    fputs("(1LL", f);
    for (int i = from; i < to; i++) {
        fputc('*', f);
        cu_put_dim(f, t->dim[i]);
    }
    fputc(')', f);
}

/* const long long c0..c{rank-1} = the coordinates of index `var` in t */
void cu_put_coords(FILE *f, const sf_type *t, const char *var, const char *prefix)
{
    if (t->rank == 0)
        return; /* a scalar: no coordinates */
    fprintf(f, "        long long r_%s = %s;\n", prefix, var);
    for (int d = t->rank - 1; d > 0; d--) {
        fprintf(f, "        const long long %s%d = r_%s %% ", prefix, d, prefix);
        cu_put_dim(f, t->dim[d]);
        fprintf(f, "; r_%s /= ", prefix);
        cu_put_dim(f, t->dim[d]);
        fputs(";\n", f);
    }
    fprintf(f, "        const long long %s0 = r_%s;\n", prefix, prefix);
    fprintf(f, "        (void)r_%s;", prefix); /* not every op reads every coordinate */
    for (int d = 0; d < t->rank; d++)
        fprintf(f, " (void)%s%d;", prefix, d);
    fputc('\n', f);
}

/* the offset in `in` (right-aligned against coordinates of a rank-`rank`
 * type, dims of 1 broadcast) of coordinates prefix0.. */
void cu_put_bcast_offset(FILE *f, const sf_type *in, int rank, const char *prefix)
{
    fputs("(0LL", f);
    for (int d = 0; d < in->rank; d++) {
        if (in->dim[d] == 1)
            continue;
        fprintf(f, " + %s%d*", prefix, d + rank - in->rank);
        cu_put_prod(f, in, d + 1, in->rank);
    }
    fputc(')', f);
}

/* a float literal: "2" needs its ".0" before the f; infinities and NaN have no literal */
void cu_put_float(FILE *f, double v)
{
    char text[64];
    if (isnan(v))
        fputs("__int_as_float(0x7fffffff)", f);
    else if (isinf(v))
        fputs(v < 0 ? "__int_as_float(0xff800000)" : "__int_as_float(0x7f800000)", f);
    else {
        snprintf(text, sizeof text, "%.9g", v);
        fprintf(f, "%s%sf", text, strpbrk(text, ".e") ? "" : ".0");
    }
}

/* ---- kernels ---- */

static void k_unary(FILE *f, const sf_node *n) { cu_put_unary(f, n, "args[1][t]", "args[0][t]"); }

/* a linear or grouped product's shape */
typedef struct dims {
    long long G, O, I;
    bool per_group; /* x holds one slice per group */
} dims;

static dims dims_of(const sf_node *n)
{
    bool grouped = n->op == SF_OP_GROUPED_LINEAR;
    const sf_type *wt = &n->in[1]->type;
    return (dims){grouped ? wt->dim[0] : 1, wt->dim[grouped ? 1 : 0], wt->dim[grouped ? 2 : 1],
                  grouped && !sf_attr_shared(n)};
}

/* acc = x·W[g, o] + b[g, o] in k order, W and b from args[wa], args[ba] (ba < 0: none) */
static void put_dot(FILE *f, dims d, const char *x, int wa, int ba)
{
    fprintf(f, "        const float *w = args[%d] + (g * %lldLL + o) * %lldLL;\n", wa, d.O, d.I);
    if (ba >= 0)
        fprintf(f, "        float acc = args[%d][g * %lldLL + o];\n", ba, d.O);
    else
        fputs("        float acc = 0.0f;\n", f);
    fprintf(f, "        for (long long k = 0; k < %lldLL; k++)\n            acc = fmaf(%s[k], w[k], acc);\n", d.I, x);
}

static void put_x(FILE *f, dims d)
{
    fprintf(f, "        const float *x = args[0] + (m * %lldLL + g * %lldLL) * %lldLL;\n", d.per_group ? d.G : 1,
            d.per_group ? 1LL : 0LL, d.I);
}

/* linear: t = (row, o); grouped: t = (row, g, o); x·Wᵀ + b in k order,
 * then a chain's epilogue (unary ops) before the store */
static void product_body(FILE *f, const sf_node *n, const sf_node *const *epilogue, int nepilogue)
{
    dims d = dims_of(n);
    fprintf(f, "        const long long o = t %% %lldLL, g = (t / %lldLL) %% %lldLL, m = t / %lldLL;\n", d.O, d.O, d.G,
            d.O * d.G);
    put_x(f, d);
    put_dot(f, d, "x", 1, n->nin > 2 ? 2 : -1);
    for (int k = 0; k < nepilogue; k++)
        cu_put_unary(f, epilogue[k], "acc", "acc");
    fprintf(f, "        args[%d][t] = acc;\n", n->nin);
}

static void k_product(FILE *f, const sf_node *n) { product_body(f, n, NULL, 0); }

/* matmul: a [..., M, K] · b [..., K, N], leading dims broadcast */
static void k_matmul(FILE *f, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type, *at = &n->in[0]->type, *bt = &n->in[1]->type;
    int R = ot->rank;
    long long M = at->dim[at->rank - 2], K = at->dim[at->rank - 1], N = bt->dim[bt->rank - 1];
    cu_put_coords(f, ot, "t", "c");
    /* the leading coordinates only: the last two index the matrices */
    fputs("        const float *a = args[0] + (0LL", f);
    for (int d = 0; d < at->rank - 2; d++)
        if (at->dim[d] != 1) {
            fprintf(f, " + c%d*", d + R - at->rank);
            cu_put_prod(f, at, d + 1, at->rank);
        }
    fprintf(f, ") + c%d * ", R - 2);
    cu_put_dim(f, K);
    fputs(";\n", f);
    fputs("        const float *b = args[1] + (0LL", f);
    for (int d = 0; d < bt->rank - 2; d++)
        if (bt->dim[d] != 1) {
            fprintf(f, " + c%d*", d + R - bt->rank);
            cu_put_prod(f, bt, d + 1, bt->rank);
        }
    fprintf(f, ") + c%d;\n", R - 1);
    fputs("        float acc = 0.0f;\n        for (long long k = 0; k < ", f);
    cu_put_dim(f, K); /* B where the product sums over the batch */
    fputs("; k++)\n            acc = fmaf(a[k], b[k * ", f);
    cu_put_dim(f, N);
    fputs("], acc);\n        args[2][t] = acc;\n", f);
    (void)M;
}

/* conv1d/conv2d, direct: t = an output element; taps outside the input are skipped (zero padding) */
static void k_conv(FILE *f, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type, *wt = &n->in[1]->type, *ot = &n->out[0]->type;
    bool two = n->op == SF_OP_CONV2D;
    const sf_attr *st = sf_attr_stride(n), *pd = sf_attr_padding(n), *dl = sf_attr_dilation(n);
    long long C = xt->dim[1], O = ot->dim[1], G = sf_attr_groups(n), Cg = C / G, Og = O / G;
    long long H = two ? xt->dim[2] : 1, W = xt->dim[two ? 3 : 2], OH = two ? ot->dim[2] : 1, OW = ot->dim[two ? 3 : 2];
    long long KH = two ? wt->dim[2] : 1, KW = wt->dim[two ? 3 : 2];
    long long sh = two ? st->ints[0] : 1, sw = st->ints[two ? 1 : 0], ph = two ? pd->ints[0] : 0,
              pw = pd->ints[two ? 1 : 0], dh = two ? dl->ints[0] : 1, dw = dl->ints[two ? 1 : 0];
    fprintf(f, "        const long long ow = t %% %lldLL, oh = (t / %lldLL) %% %lldLL, o = (t / %lldLL) %% %lldLL,"
               " nb = t / %lldLL;\n", OW, OW, OH, OW * OH, O, OW * OH * O);
    fprintf(f, "        const long long cg0 = (o / %lldLL) * %lldLL;\n", Og, Cg);
    fprintf(f, "        float acc = %s;\n", n->nin > 2 ? "args[2][o]" : "0.0f");
    fprintf(f, "        for (long long c = 0; c < %lldLL; c++)\n", Cg);
    fprintf(f, "            for (long long kh = 0; kh < %lldLL; kh++) {\n", KH);
    fprintf(f, "                const long long ih = oh * %lldLL - %lldLL + kh * %lldLL;\n", sh, ph, dh);
    fprintf(f, "                if (ih < 0 || ih >= %lldLL) continue;\n", H);
    fprintf(f, "                for (long long kw = 0; kw < %lldLL; kw++) {\n", KW);
    fprintf(f, "                    const long long iw = ow * %lldLL - %lldLL + kw * %lldLL;\n", sw, pw, dw);
    fprintf(f, "                    if (iw < 0 || iw >= %lldLL) continue;\n", W);
    fprintf(f, "                    acc = fmaf(args[0][((nb * %lldLL + cg0 + c) * %lldLL + ih) * %lldLL + iw],\n", C, H,
            W);
    fprintf(f, "                               args[1][((o * %lldLL + c) * %lldLL + kh) * %lldLL + kw], acc);\n", Cg,
            KH, KW);
    fputs("                }\n            }\n", f);
    fprintf(f, "        args[%d][t] = acc;\n", n->nin);
}

/* ---- the translation unit ---- */

/* How a kernel's work items are counted: one thread each. */
typedef enum span {
    S_OUT,         /* every element of the result */
    S_IN,          /* every element of the operand */
    S_BEFORE_NDIM, /* the operand's dims before its last ndim */
    S_AROUND_DIM,  /* a line along attribute dim: the dims before it and after it */
} span;

/* Every op's CUDA rule: its kernel body (NULL: no kernel, or `indexed`,
 * which also takes the kernel's index for its table), an emitter of the
 * table, and its work (a unary op's device function is its row in
 * codegen/cuda_unary.c). A new op in ops.def without a line here fails
 * the build. */
typedef struct cuda_rule {
    void (*body)(FILE *f, const sf_node *n);
    void (*indexed)(FILE *f, const sf_node *n, int k);
    void (*table)(FILE *f, const sf_node *n, int k); /* file-scope data kernel k reads */
    span span;
} cuda_rule;

#define CUDA_INPUT {NULL, NULL, NULL, S_OUT}
#define CUDA_PARAM {NULL, NULL, NULL, S_OUT}
#define CUDA_SCALAR {cu_k_fill, NULL, NULL, S_OUT}
#define CUDA_LINEAR {k_product, NULL, NULL, S_OUT}
#define CUDA_MATMUL {k_matmul, NULL, NULL, S_OUT}
#define CUDA_GROUPED_LINEAR {k_product, NULL, NULL, S_OUT}
#define CUDA_CONV1D {k_conv, NULL, NULL, S_OUT}
#define CUDA_CONV2D {k_conv, NULL, NULL, S_OUT}
#define CUDA_BATCHNORM {cu_k_batchnorm, NULL, NULL, S_OUT}
#define CUDA_LAYERNORM {cu_k_layernorm, NULL, NULL, S_BEFORE_NDIM}
#define CUDA_ADD {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_SUB {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_MUL {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_DIV {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_MAXIMUM {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_MINIMUM {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_RELU {k_unary, NULL, NULL, S_OUT}
#define CUDA_GELU {k_unary, NULL, NULL, S_OUT}
#define CUDA_TANH {k_unary, NULL, NULL, S_OUT}
#define CUDA_SIGMOID {k_unary, NULL, NULL, S_OUT}
#define CUDA_SILU {k_unary, NULL, NULL, S_OUT}
#define CUDA_LEAKY_RELU {k_unary, NULL, NULL, S_OUT}
#define CUDA_ELU {k_unary, NULL, NULL, S_OUT}
#define CUDA_CLAMP {k_unary, NULL, NULL, S_OUT}
#define CUDA_ABS {k_unary, NULL, NULL, S_OUT}
#define CUDA_NEG {k_unary, NULL, NULL, S_OUT}
#define CUDA_SIGN {k_unary, NULL, NULL, S_OUT}
#define CUDA_FLOOR {k_unary, NULL, NULL, S_OUT}
#define CUDA_ROUND {k_unary, NULL, NULL, S_OUT}
#define CUDA_SQRT {k_unary, NULL, NULL, S_OUT}
#define CUDA_RSQRT {k_unary, NULL, NULL, S_OUT}
#define CUDA_RECIPROCAL {k_unary, NULL, NULL, S_OUT}
#define CUDA_EXP {k_unary, NULL, NULL, S_OUT}
#define CUDA_LOG {k_unary, NULL, NULL, S_OUT}
#define CUDA_LOG1P {k_unary, NULL, NULL, S_OUT}
#define CUDA_SIN {k_unary, NULL, NULL, S_OUT}
#define CUDA_COS {k_unary, NULL, NULL, S_OUT}
#define CUDA_SOFTSIGN {k_unary, NULL, NULL, S_OUT}
#define CUDA_TANHSHRINK {k_unary, NULL, NULL, S_OUT}
#define CUDA_HARDSIGMOID {k_unary, NULL, NULL, S_OUT}
#define CUDA_HARDSWISH {k_unary, NULL, NULL, S_OUT}
#define CUDA_MISH {k_unary, NULL, NULL, S_OUT}
#define CUDA_GELU_TANH {k_unary, NULL, NULL, S_OUT}
#define CUDA_SOFTPLUS {k_unary, NULL, NULL, S_OUT}
#define CUDA_SOFTSHRINK {k_unary, NULL, NULL, S_OUT}
#define CUDA_HARDSHRINK {k_unary, NULL, NULL, S_OUT}
#define CUDA_THRESHOLD {k_unary, NULL, NULL, S_OUT}
#define CUDA_LOGSIGMOID {k_unary, NULL, NULL, S_OUT}
#define CUDA_SOFTMAX {cu_k_softmax, NULL, NULL, S_AROUND_DIM}
#define CUDA_LOG_SOFTMAX {cu_k_softmax, NULL, NULL, S_AROUND_DIM}
#define CUDA_SLICE {cu_k_slice, NULL, NULL, S_OUT}
#define CUDA_SPLIT {cu_k_split, NULL, NULL, S_IN}
#define CUDA_CONCAT {NULL, cu_k_concat, cu_concat_table, S_OUT}
#define CUDA_STACK {cu_k_stack, NULL, NULL, S_OUT}
#define CUDA_SUM {cu_k_reduce, NULL, NULL, S_OUT}
#define CUDA_MEAN {cu_k_reduce, NULL, NULL, S_OUT}
#define CUDA_AMAX {cu_k_reduce, NULL, NULL, S_OUT}
#define CUDA_AMIN {cu_k_reduce, NULL, NULL, S_OUT}
#define CUDA_PROD {cu_k_reduce, NULL, NULL, S_OUT}
#define CUDA_RESHAPE {NULL, NULL, NULL, S_OUT}
#define CUDA_FLATTEN {NULL, NULL, NULL, S_OUT}
#define CUDA_SQUEEZE {NULL, NULL, NULL, S_OUT}
#define CUDA_UNSQUEEZE {NULL, NULL, NULL, S_OUT}
#define CUDA_TRANSPOSE {cu_k_transpose, NULL, NULL, S_OUT}
#define CUDA_EQ {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_NE {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_LT {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_LE {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_GT {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_GE {cu_k_binary, NULL, NULL, S_OUT}
#define CUDA_WHERE {cu_k_where, NULL, NULL, S_OUT}
#define CUDA_FULL {cu_k_fill, NULL, NULL, S_OUT}
#define CUDA_IOTA {cu_k_iota, NULL, NULL, S_OUT}
#define CUDA_GATHER {cu_k_gather, NULL, NULL, S_OUT}
#define CUDA_TRIL {cu_k_triangle, NULL, NULL, S_OUT}
#define CUDA_TRIU {cu_k_triangle, NULL, NULL, S_OUT}

static const cuda_rule rules[SF_OP_COUNT] = {
#define OP(id, ...) [SF_OP_##id] = CUDA_##id,
#include "ir/ops.def"
};

void cu_put_unary(FILE *f, const sf_node *n, const char *to, const char *x)
{
    fprintf(f, "        %s = %s(%s", to, sf_cuda_unary_fn(n->op), x);
    for (int k = 0; k < sf_ops[n->op].nattrs; k++) {
        fputs(", ", f);
        cu_put_float(f, n->attrs[k].f); /* unary ops' attributes are floats (ops.def) */
    }
    fputs(");\n", f);
}

static bool has_kernel(const sf_node *n) { return rules[n->op].body || rules[n->op].indexed; }

bool sf_cuda_supports(sf_opcode op)
{
    const cuda_rule *r = &rules[op];
    return (r->body || r->indexed) && (sf_op_cls(op) != SF_OPCLS_UNARY || sf_cuda_unary_fn(op));
}

/* A kernel's work items, as the product of dims [span[k][0], span[k][1])
 * of *t for each span: one rule for the extent the host launches and the
 * `total` the kernel loops to. Returns the number of spans. */
static int work_spans(const sf_node *n, const sf_type **t, int span[2][2])
{
    const sf_type *ot = &n->out[0]->type, *it = n->nin ? &n->in[0]->type : ot;
    *t = it;
    switch (rules[n->op].span) {
    case S_IN: span[0][0] = 0, span[0][1] = it->rank; return 1;
    case S_BEFORE_NDIM: span[0][0] = 0, span[0][1] = it->rank - (int)sf_attr_ndim(n); return 1;
    case S_AROUND_DIM: {
        int d = (int)sf_attr_dim(n);
        span[0][0] = 0, span[0][1] = d, span[1][0] = d + 1, span[1][1] = it->rank;
        return 2;
    }
    case S_OUT: break;
    }
    *t = ot, span[0][0] = 0, span[0][1] = ot->rank;
    return 1;
}

int64_t sf_cuda_extent(const sf_node *n, int64_t B)
{
    const sf_type *t;
    int span[2][2], count = work_spans(n, &t, span);
    int64_t e = 1;
    for (int k = 0; k < count; k++)
        e *= sf_dims_at(t, span[k][0], span[k][1], B);
    return e;
}

static void kernel_body(FILE *f, const sf_node *n, int k)
{
    if (rules[n->op].indexed)
        rules[n->op].indexed(f, n, k);
    else
        rules[n->op].body(f, n);
}

/* kernel k's head, to where its work count goes: `total = ` */
static void kernel_open(FILE *f, const char *what, int k)
{
    fprintf(f, "\n/* %s */\nextern \"C\" __global__ void __launch_bounds__(%d) sheaf_k%d(float *const *__restrict__ args, "
               "long long B)\n{\n    (void)B;\n    const long long total = ",
            what, SF_CUDA_BLOCK, k);
}

static void kernel_loop(FILE *f)
{
    fputs(";\n    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < total;\n"
          "         t += (long long)gridDim.x * blockDim.x) {\n",
          f);
}

static void emit_kernel(FILE *f, const sf_node *n, int k)
{
    if (rules[n->op].table)
        rules[n->op].table(f, n, k);
    kernel_open(f, sf_ops[n->op].name, k);
    const sf_type *t;
    int span[2][2], count = work_spans(n, &t, span);
    for (int s = 0; s < count; s++) {
        if (s)
            fputc('*', f);
        cu_put_prod(f, t, span[s][0], span[s][1]);
    }
    kernel_loop(f);
    kernel_body(f, n, k);
    fputs("    }\n}\n", f);
}

/* ---- chains of the kernel plan ---- */

static int x_rank_rows(const sf_node *n) { return n->in[0]->type.rank - (dims_of(n).per_group ? 2 : 1); }

static bool is_product(const sf_node *n) { return sf_op_has(n->op, SF_OPF_LINEAR); }


/* the products of a chain, each with the args of its weight and bias (-1:
 * none) and the unary ops after it: the first product's operands, then
 * each later product's weight and bias */
typedef struct stage {
    const sf_node *n;
    int wa, ba;
    const sf_node *const *epilogue;
    int nepilogue;
} stage;

static int stages_of(const sf_node *const *nodes, int count, stage *s, int *out)
{
    int n = 0, at = nodes[0]->nin;
    for (int k = 0; k < count; k++) {
        if (!is_product(nodes[k])) {
            s[n - 1].nepilogue++;
            continue;
        }
        int nin = nodes[k]->nin;
        s[n++] = (stage){nodes[k], k ? at : 1, nin > 2 ? (k ? at + 1 : 2) : -1, nodes + k + 1, 0};
        at += k ? nin - 1 : 0;
    }
    *out = at;
    return n;
}

static void put_epilogue(FILE *f, const stage *s)
{
    for (int k = 0; k < s->nepilogue; k++)
        cu_put_unary(f, s->epilogue[k], "acc", "acc");
}

/* stages [0, n) of row m, group g: each into the thread's own h<i> */
static void put_stages(FILE *f, const stage *s, int n)
{
    for (int i = 0; i < n; i++) {
        dims d = dims_of(s[i].n);
        char x[16];
        snprintf(x, sizeof x, i ? "h%d" : "x", i - 1);
        fprintf(f, "        float h%d[%lld];\n        for (long long o = 0; o < %lldLL; o++) {\n", i, d.O, d.O);
        put_dot(f, d, x, s[i].wa, s[i].ba);
        put_epilogue(f, &s[i]);
        fprintf(f, "        h%d[o] = acc;\n        }\n", i);
    }
}

/* products and unary ops per group: t = (row, g), each intermediate in the
 * thread's own memory; or, ending in a product over all groups, t = row:
 * every group in turn, each adding its slice of that product to the sums */
static void chain_body(FILE *f, const sf_node *const *nodes, int count)
{
    stage s[SF_CHAIN_MAX_PRODUCTS];
    int out, n = stages_of(nodes, count, s, &out);
    const stage *z = &s[n - 1];
    dims d = dims_of(nodes[0]), e = dims_of(z->n);
    if (!sf_plan_chain_sums(nodes, count)) {
        fprintf(f, "        const long long g = t %% %lldLL, m = t / %lldLL;\n", d.G, d.G);
        put_x(f, d);
        put_stages(f, s, n - 1);
        fprintf(f, "        for (long long o = 0; o < %lldLL; o++) {\n", e.O);
        char x[16];
        snprintf(x, sizeof x, n > 1 ? "h%d" : "x", n - 2);
        put_dot(f, e, x, z->wa, z->ba);
        put_epilogue(f, z);
        fprintf(f, "        args[%d][(m * %lldLL + g) * %lldLL + o] = acc;\n        }\n", out, d.G, e.O);
        return;
    }
    long long H = e.I / d.G;
    fprintf(f, "        const long long m = t;\n        float sum[%lld];\n", e.O);
    if (z->ba >= 0)
        fprintf(f, "        for (long long o = 0; o < %lldLL; o++)\n            sum[o] = args[%d][o];\n", e.O, z->ba);
    else
        fprintf(f, "        for (long long o = 0; o < %lldLL; o++)\n            sum[o] = 0.0f;\n", e.O);
    fprintf(f, "        for (long long g = 0; g < %lldLL; g++) {\n", d.G);
    put_x(f, d);
    put_stages(f, s, n - 1);
    fprintf(f, "        for (long long o = 0; o < %lldLL; o++) {\n", e.O);
    fprintf(f, "            const float *w = args[%d] + o * %lldLL + g * %lldLL;\n", z->wa, e.I, H);
    fprintf(f, "            for (long long k = 0; k < %lldLL; k++)\n                sum[o] = fmaf(h%d[k], w[k], sum[o]);\n",
            H, n - 2);
    fputs("        }\n        }\n", f);
    fprintf(f, "        for (long long o = 0; o < %lldLL; o++) {\n        float acc = sum[o];\n", e.O);
    put_epilogue(f, z);
    fprintf(f, "        args[%d][m * %lldLL + o] = acc;\n        }\n", out, e.O);
}

static bool two_products(const sf_node *const *nodes, int count)
{
    for (int k = 1; k < count; k++)
        if (is_product(nodes[k]))
            return true;
    return false;
}

/* the chain's threads: (row, group), or rows where it sums over the groups */
static int64_t chain_threads(const sf_node *const *nodes, int count, int64_t B)
{
    const sf_node *a = nodes[0];
    int64_t rows = sf_dims_at(&a->in[0]->type, 0, x_rank_rows(a), B);
    return sf_plan_chain_sums(nodes, count) ? rows : rows * dims_of(a).G;
}

static void emit_chain(FILE *f, const sf_node *const *nodes, int count, int k)
{
    const sf_node *a = nodes[0];
    bool products = two_products(nodes, count);
    kernel_open(f, !products ? "chain: product, epilogue"
                   : sf_plan_chain_sums(nodes, count) ? "chain: products per group, then one over all groups"
                                              : "chain: products and activations",
                k);
    if (products) {
        cu_put_prod(f, &a->in[0]->type, 0, x_rank_rows(a));
        if (!sf_plan_chain_sums(nodes, count))
            fprintf(f, "*%lldLL", dims_of(a).G);
    } else {
        cu_put_prod(f, &a->out[0]->type, 0, a->out[0]->type.rank);
    }
    kernel_loop(f);
    if (products)
        chain_body(f, nodes, count);
    else
        product_body(f, a, nodes + 1, count - 1);
    fputs("    }\n}\n", f);
}

int64_t sf_cuda_kernel_extent(const sf_plan *p, const sf_plan_kernel *pk, int64_t B)
{
    const sf_node *nodes[64];
    int count = sf_plan_members(p, pk, nodes);
    const sf_node *a = nodes[0];
    if (count > 1 && two_products(nodes, count))
        return chain_threads(nodes, count, B);
    return sf_cuda_extent(a, B); /* a node, or a product whose epilogue adds no work */
}

static sf_status unsupported(const sf_node *n, sf_error *err)
{
    for (int i = 0; i < n->nin; i++)
        if (!sf_dtype_runs(n->in[i]->type.dtype))
            return sf_fail(err, SF_ERR_UNSUPPORTED, "cuda backend: %s%s%s: operand %d is %s; only f32 is compiled",
                           sf_ops[n->op].name, n->loc ? " at " : "", n->loc ? n->loc : "", i,
                           sf_dtype_name(n->in[i]->type.dtype));
    return SF_OK;
}

/* the source for the plan src holds */
static sf_status emit_source(sf_cuda_source *src, sf_error *err)
{
    const sf_plan *p = &src->plan;
    const sf_graph *g = p->g;
    sf_status st = SF_OK;
    for (size_t i = 0; i < g->nodes.len && st == SF_OK; i++)
        if (has_kernel(g->nodes.items[i]))
            st = unsupported(g->nodes.items[i], err);
    FILE *f = st == SF_OK ? open_memstream(&src->text, &src->len) : NULL;
    if (st == SF_OK && !f)
        st = sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory");
    if (st == SF_OK)
        fputs("/* generated by sheaf: one kernel per distinct node */\n", f), sf_cuda_put_unary_defs(f);
    for (int c = 0; st == SF_OK && c < p->ncodes; c++) {
        const sf_node *nodes[64];
        int count = sf_plan_members(p, &p->kernels[p->code_kernel[c]], nodes);
        if (count > 1)
            emit_chain(f, nodes, count, c);
        else
            emit_kernel(f, nodes[0], c);
    }
    src->nkernels = p->ncodes;
    if (f && fclose(f) != 0 && st == SF_OK)
        st = sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory");
    if (st != SF_OK)
        sf_cuda_source_free(src);
    return st;
}

sf_status sf_cuda_emit(const sf_graph *g, sf_cuda_source *src, sf_error *err)
{
    memset(src, 0, sizeof *src);
    sf_status st = sf_plan_build(g, &src->plan, err);
    return st == SF_OK ? emit_source(src, err) : st;
}

sf_status sf_cuda_emit_plan(const sf_plan *plan, sf_cuda_source *src, sf_error *err)
{
    memset(src, 0, sizeof *src);
    sf_status st = sf_plan_copy(plan, plan->g, &src->plan, err);
    return st == SF_OK ? emit_source(src, err) : st;
}

void sf_cuda_source_free(sf_cuda_source *src)
{
    free(src->text);
    sf_plan_free(&src->plan);
    memset(src, 0, sizeof *src);
}
