/* Inside the CUDA backend: the pieces of CUDA C expressions (cuda_emit.c)
 * and the kernel bodies of cuda_kernels.c, which the rule table in
 * cuda_emit.c names. */
#ifndef SF_CUDA_EMIT_H
#define SF_CUDA_EMIT_H

#include <stdio.h>

#include "ir/ir.h"

/* a dim: B, or a constant */
void cu_put_dim(FILE *f, int64_t d);
/* (d_from * ... * d_to-1) as a long long expression */
void cu_put_prod(FILE *f, const sf_type *t, int from, int to);
/* const long long c0..c{rank-1} = the coordinates of index `var` in t */
void cu_put_coords(FILE *f, const sf_type *t, const char *var, const char *prefix);
/* the offset in `in` (right-aligned against a rank-`rank` type, dims of 1
 * broadcast) of coordinates prefix0.. */
void cu_put_bcast_offset(FILE *f, const sf_type *in, int rank, const char *prefix);
/* a float literal (infinities and NaN by their bits) */
void cu_put_float(FILE *f, double v);
/* "        <to> = fn(<x>, the node's float attributes in spec order);" */
void cu_put_unary(FILE *f, const sf_node *n, const char *to, const char *x);

/* kernel bodies for work item t (cuda_kernels.c) */
void cu_k_binary(FILE *f, const sf_node *n);
void cu_k_where(FILE *f, const sf_node *n);
void cu_k_batchnorm(FILE *f, const sf_node *n);
void cu_k_layernorm(FILE *f, const sf_node *n);
void cu_k_softmax(FILE *f, const sf_node *n);
void cu_k_slice(FILE *f, const sf_node *n);
void cu_k_split(FILE *f, const sf_node *n);
void cu_k_concat(FILE *f, const sf_node *n, int k);
void cu_concat_table(FILE *f, const sf_node *n, int k);
void cu_k_stack(FILE *f, const sf_node *n);
void cu_k_reduce(FILE *f, const sf_node *n);
void cu_k_transpose(FILE *f, const sf_node *n);
void cu_k_fill(FILE *f, const sf_node *n);
void cu_k_iota(FILE *f, const sf_node *n);
void cu_k_gather(FILE *f, const sf_node *n);
void cu_k_triangle(FILE *f, const sf_node *n);

#endif
