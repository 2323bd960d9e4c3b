/* The CUDA kernel bodies of the ops that are neither products nor
 * unary maps: binary ops and comparisons, where, norms, data movement,
 * reductions and constants. Each writes the loop body for work item t
 * (cuda_emit.c's rule table says what t counts). */
#include "codegen/cuda_emit.h"

#include <math.h>

/* a and b combined by a binary op, or v into the accumulator acc of a
 * reduction; NaN wins in maximum/minimum/amax/amin (fmaxf would drop it) */
static const char *combine_expr(sf_opcode op)
{
    switch (op) {
    case SF_OP_SUB: return "a - b";
    case SF_OP_MUL: return "a * b";
    case SF_OP_DIV: return "a / b";
    case SF_OP_MAXIMUM: case SF_OP_AMAX: return "(a > b || a != a) ? a : b";
    case SF_OP_MINIMUM: case SF_OP_AMIN: return "(a < b || a != a) ? a : b";
    case SF_OP_PROD: return "a * b";
    case SF_OP_EQ: return "a == b ? 1.0f : 0.0f"; /* C's comparisons are IEEE's, as torch's */
    case SF_OP_NE: return "a != b ? 1.0f : 0.0f";
    case SF_OP_LT: return "a < b ? 1.0f : 0.0f";
    case SF_OP_LE: return "a <= b ? 1.0f : 0.0f";
    case SF_OP_GT: return "a > b ? 1.0f : 0.0f";
    case SF_OP_GE: return "a >= b ? 1.0f : 0.0f";
    default: return "a + b";
    }
}

void cu_k_binary(FILE *f, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type;
    cu_put_coords(f, ot, "t", "c");
    fputs("        const float a = args[0][", f);
    cu_put_bcast_offset(f, &n->in[0]->type, ot->rank, "c");
    fputs("], b = args[1][", f);
    cu_put_bcast_offset(f, &n->in[1]->type, ot->rank, "c");
    fprintf(f, "];\n        args[2][t] = %s;\n", combine_expr(n->op));
}


void cu_k_batchnorm(FILE *f, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type;
    fputs("        const long long c = (t / ", f);
    cu_put_prod(f, xt, 2, xt->rank);
    fprintf(f, ") %% %lldLL;\n", (long long)xt->dim[1]);
    fputs("        double scale = 1.0 / sqrt((double)args[2][c] + ", f);
    fprintf(f, "%.17g), shift = 0.0;\n", sf_attr_eps(n));
    if (n->nin == 5)
        fputs("        scale *= args[3][c];\n        shift = args[4][c];\n", f);
    fprintf(f, "        args[%d][t] = (float)((args[0][t] - (double)args[1][c]) * scale + shift);\n", n->nin);
}

/* t = a row of the trailing ndim dims */
void cu_k_layernorm(FILE *f, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type;
    int nd = (int)sf_attr_ndim(n);
    fputs("        const long long inner = ", f);
    cu_put_prod(f, xt, xt->rank - nd, xt->rank);
    fprintf(f, ";\n        const float *x = args[0] + t * inner;\n        float *y = args[%d] + t * inner;\n", n->nin);
    fputs("        double mean = 0, var = 0;\n        for (long long i = 0; i < inner; i++) mean += x[i];\n"
          "        mean /= (double)inner;\n"
          "        for (long long i = 0; i < inner; i++) var += (x[i] - mean) * (x[i] - mean);\n"
          "        var /= (double)inner;\n",
          f);
    fprintf(f, "        const double rstd = 1.0 / sqrt(var + %.17g);\n", sf_attr_eps(n));
    fprintf(f, "        for (long long i = 0; i < inner; i++) {\n            double v = (x[i] - mean) * rstd;\n%s%s"
               "            y[i] = (float)v;\n        }\n",
            n->nin > 1 ? "            v *= args[1][i];\n" : "", n->nin > 2 ? "            v += args[2][i];\n" : "");
}

/* t = (outer, inner) around the softmax dim, whose length may be the batch
 * (softmax over dim 0: a constant there looped over nothing, giving NaN) */
void cu_k_softmax(FILE *f, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type;
    int d = (int)sf_attr_dim(n);
    fputs("        const long long inner = ", f);
    cu_put_prod(f, xt, d + 1, xt->rank);
    fputs(", len = ", f);
    cu_put_dim(f, xt->dim[d]);
    fputs(";\n        const long long at = (t / inner) * len * inner + t % inner;\n", f);
    fputs("        const float *x = args[0] + at;\n        float *y = args[1] + at;\n", f);
    fputs("        float mx = x[0];\n        for (long long i = 1; i < len; i++) mx = fmaxf(mx, x[i * inner]);\n", f);
    fputs("        double sum = 0;\n        for (long long i = 0; i < len; i++) sum += exp((double)x[i * inner] - mx);\n",
          f);
    if (n->op == SF_OP_LOG_SOFTMAX)
        fputs("        for (long long i = 0; i < len; i++) y[i * inner] = (float)((double)x[i * inner] - mx - log(sum));\n",
              f);
    else
        fputs("        for (long long i = 0; i < len; i++) y[i * inner] = (float)(exp((double)x[i * inner] - mx) / sum);\n",
              f);
}

/* slice: the operand arrives offset to its start (sf_kernel_arg_offset) */
void cu_k_slice(FILE *f, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type, *ot = &n->out[0]->type;
    int d = (int)sf_attr_dim(n);
    fputs("        const long long inner = ", f);
    cu_put_prod(f, ot, d + 1, ot->rank);
    fprintf(f, ";\n        const long long j = t %% inner, i = (t / inner) %% %lldLL, outer = t / (inner * %lldLL);\n",
            (long long)ot->dim[d], (long long)ot->dim[d]);
    fprintf(f, "        args[1][t] = args[0][(outer * %lldLL + i * %lldLL) * inner + j];\n", (long long)it->dim[d],
            (long long)sf_attr_step(n));
}

/* split: t = an input element, written to the piece that holds it */
void cu_k_split(FILE *f, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type;
    int d = (int)sf_attr_dim(n);
    const sf_attr *sizes = sf_attr_sizes(n);
    fputs("        const long long inner = ", f);
    cu_put_prod(f, it, d + 1, it->rank);
    fprintf(f, ";\n        const long long j = t %% inner, i = (t / inner) %% %lldLL, outer = t / (inner * %lldLL);\n",
            (long long)it->dim[d], (long long)it->dim[d]);
    long long at = 0;
    for (int p = 0; p < sizes->n; p++) {
        long long sz = sizes->ints[p];
        fprintf(f, "        %sif (i < %lldLL) args[%d][(outer * %lldLL + i - %lldLL) * inner + j] = args[0][t];\n",
                p ? "else " : "", at + sz, 1 + p, sz, at);
        at += sz;
    }
}

/* concat: t = an output element, read from the operand that holds it
 * (offsets in a table, found by binary search: at -O0 a concat may have
 * a thousand operands) */
void cu_k_concat(FILE *f, const sf_node *n, int k)
{
    const sf_type *ot = &n->out[0]->type;
    int d = (int)sf_attr_dim(n);
    fputs("        const long long inner = ", f);
    cu_put_prod(f, ot, d + 1, ot->rank);
    fprintf(f, ";\n        const long long j = t %% inner, i = (t / inner) %% %lldLL, outer = t / (inner * %lldLL);\n",
            (long long)ot->dim[d], (long long)ot->dim[d]);
    fprintf(f, "        int lo = 0, hi = %d;\n", n->nin - 1);
    fprintf(f, "        while (lo < hi) { const int mid = (lo + hi + 1) / 2; if (sheaf_k%d_at[mid] <= i) lo = mid; else hi = mid - 1; }\n",
            k);
    fprintf(f, "        const long long len = sheaf_k%d_at[lo + 1] - sheaf_k%d_at[lo];\n", k, k);
    fprintf(f, "        args[%d][t] = args[lo][(outer * len + i - sheaf_k%d_at[lo]) * inner + j];\n", n->nin, k);
}

void cu_concat_table(FILE *f, const sf_node *n, int k)
{
    int d = (int)sf_attr_dim(n);
    fprintf(f, "__device__ const long long sheaf_k%d_at[%d] = {0", k, n->nin + 1);
    long long at = 0;
    for (int i = 0; i < n->nin; i++) {
        at += n->in[i]->type.dim[d];
        fprintf(f, ", %lld", at);
    }
    fputs("};\n", f);
}

/* stack: t = an output element; the new dim picks the operand */
void cu_k_stack(FILE *f, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type;
    int d = (int)sf_attr_dim(n);
    fputs("        const long long inner = ", f);
    cu_put_prod(f, it, d, it->rank);
    fprintf(f, ";\n        const long long j = t %% inner, s = (t / inner) %% %dLL, outer = t / (inner * %dLL);\n",
            n->nin, n->nin);
    fprintf(f, "        args[%d][t] = args[s][outer * inner + j];\n", n->nin);
}

/* sum/mean: t = an output element; a loop over each reduced dim */
void cu_k_reduce(FILE *f, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type;
    const sf_attr *dims = sf_attr_dims(n);
    bool red[SF_MAX_RANK] = {0};
    for (int i = 0; i < dims->n; i++)
        red[dims->ints[i]] = true;
    /* the kept coordinates, innermost first */
    bool kept = false;
    for (int d = 0; d < it->rank; d++)
        kept |= !red[d];
    if (kept) /* (none kept: r_k would be set and never read, which NVRTC warns of) */
        fputs("        long long r_k = t;\n", f);
    for (int d = it->rank - 1; d >= 0; d--)
        if (!red[d]) {
            fprintf(f, "        const long long k%d = r_k %% ", d);
            cu_put_dim(f, it->dim[d]);
            fputs("; r_k /= ", f);
            cu_put_dim(f, it->dim[d]);
            fputs(";\n", f);
        }
    fputs(kept ? "        (void)r_k;\n        double acc = " : "        (void)t;\n        double acc = ", f);
    cu_put_float(f, n->op == SF_OP_PROD ? 1 : n->op == SF_OP_AMAX ? -INFINITY : n->op == SF_OP_AMIN ? INFINITY : 0);
    fputs(";\n", f);
    long long count = 1;
    for (int d = 0; d < it->rank; d++)
        if (red[d]) {
            count *= it->dim[d] == SF_DIM_B ? 1 : it->dim[d];
            fprintf(f, "        for (long long k%d = 0; k%d < ", d, d);
            cu_put_dim(f, it->dim[d]);
            fprintf(f, "; k%d++)\n", d);
        }
    fputs("        { const double a = args[0][0LL", f);
    for (int d = 0; d < it->rank; d++) {
        fprintf(f, " + k%d*", d);
        cu_put_prod(f, it, d + 1, it->rank);
    }
    fprintf(f, "], b = acc; acc = %s; }\n", combine_expr(n->op));
    bool batch_reduced = false;
    for (int d = 0; d < it->rank; d++)
        batch_reduced |= red[d] && it->dim[d] == SF_DIM_B;
    if (n->op == SF_OP_MEAN)
        fprintf(f, "        acc /= (double)%lldLL%s;\n", count, batch_reduced ? " * (double)B" : "");
    fputs("        args[1][t] = (float)acc;\n", f);
}

void cu_k_transpose(FILE *f, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type, *ot = &n->out[0]->type;
    int a = (int)sf_attr_dim0(n), b = (int)sf_attr_dim1(n);
    cu_put_coords(f, ot, "t", "c");
    fputs("        args[1][t] = args[0][0LL", f);
    for (int d = 0; d < it->rank; d++) {
        int from = d == a ? b : d == b ? a : d; /* input dim d is output dim `from` */
        fprintf(f, " + c%d*", from);
        cu_put_prod(f, it, d + 1, it->rank);
    }
    fputs("];\n", f);
}

/* scalar and full: every element the value attribute */
void cu_k_fill(FILE *f, const sf_node *n)
{
    fputs("        args[0][t] = ", f);
    cu_put_float(f, sf_attr_value(n));
    fputs(";\n", f);
}

void cu_k_where(FILE *f, const sf_node *n)
{
    const sf_type *ot = &n->out[0]->type;
    cu_put_coords(f, ot, "t", "c");
    static const char *const names[3] = {"c", "a", "b"};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "        const float %s_ = args[%d][", names[k], k);
        cu_put_bcast_offset(f, &n->in[k]->type, ot->rank, "c");
        fputs("];\n", f);
    }
    fputs("        args[3][t] = c_ != 0.0f ? a_ : b_;\n", f);
}

/* element t holds (t / inner) % dim[d], inner the product of the dims after d */
void cu_k_iota(FILE *f, const sf_node *n)
{
    const sf_type *t = &n->out[0]->type;
    int d = (int)sf_attr_dim(n);
    fputs("        args[0][t] = (float)(t / ", f);
    cu_put_prod(f, t, d + 1, t->rank);
    fputs(" % ", f);
    cu_put_dim(f, t->dim[d]);
    fputs(");\n", f);
}

/* gather along dim: an index outside [0, n) or NaN gives NaN (and reads x[0]) */
void cu_k_gather(FILE *f, const sf_node *n)
{
    const sf_type *xt = &n->in[0]->type, *ot = &n->out[0]->type;
    int dim = (int)sf_attr_dim(n);
    cu_put_coords(f, ot, "t", "c");
    fputs("        const float v = args[1][", f);
    cu_put_bcast_offset(f, &n->in[1]->type, ot->rank, "c");
    fprintf(f, "];\n        const bool ok = v >= 0.0f && v < %lld.0f;\n", (long long)xt->dim[dim]);
    fputs("        const long long k = ok ? (long long)v : 0LL;\n        const float g = args[0][(0LL", f);
    for (int d = 0; d < xt->rank; d++) {
        if (d != dim && xt->dim[d] == 1)
            continue;
        if (d == dim)
            fputs(" + k*", f);
        else
            fprintf(f, " + c%d*", d);
        cu_put_prod(f, xt, d + 1, xt->rank);
    }
    fputs(")];\n        args[2][t] = ok ? g : __int_as_float(0x7fffffff);\n", f);
}

/* tril and triu: element (i, j) of each matrix kept where j - i <= or >= diagonal (either may be the batch) */
void cu_k_triangle(FILE *f, const sf_node *n)
{
    const sf_type *it = &n->in[0]->type;
    fputs("        const long long j = t % ", f);
    cu_put_dim(f, it->dim[it->rank - 1]);
    fputs(", i = t / ", f);
    cu_put_dim(f, it->dim[it->rank - 1]);
    fputs(" % ", f);
    cu_put_dim(f, it->dim[it->rank - 2]);
    fputs(";\n", f);
    fprintf(f, "        args[1][t] = j - i %s %lldLL ? args[0][t] : 0.0f;\n", n->op == SF_OP_TRIL ? "<=" : ">=",
            (long long)sf_attr_diagonal(n));
}
