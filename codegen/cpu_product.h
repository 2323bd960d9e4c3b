/* Internal to the CPU backend's products and fused chains (cpu_product.c
 * owns the product kernels, cpu_chain.c the chains built from them). */
#ifndef SF_CPU_PRODUCT_H
#define SF_CPU_PRODUCT_H

#include "codegen/cpu_emit.h"

/* ROWS rows by MAX_CHUNKS chunks of WIDTH outputs: 8 accumulators, enough
 * independent multiply-adds to cover two FMA pipes' latency (4 alone ran
 * at half of it), from 2 weight loads and 4 broadcasts per k. WIDTH is
 * AVX-512's 16 lanes: this machine's FMA peak is 463 GFLOP/s on 2 threads
 * with 16 lanes against 205 with 8 (bench/fma_peak.c), and one tower of
 * Towers(4, 8, 32) without its GELU (32 -> 8 x 32 -> 32, batch 4096) went
 * from 182-191 to 313-319 GFLOP/s. A CPU without AVX-512 runs the same
 * code as pairs of 8-lane instructions. Changing WIDTH changes the
 * packing: SF_CPU_ABI with it. */
enum { ROWS = 4, WIDTH = 16, MAX_CHUNKS = 2 };
/* the narrow kernel's lanes: 8 groups at a time (lane_sums' 8 x 8 transpose) */
enum { NW = 8 };

/* One product as the emitter sees it: x[m, g, k] at m * x_m + g * x_g + k,
 * out[m, g, o] at m * o_m + g * o_g + o, W^T[g, k, o], b[g, o]. A fused
 * chain's intermediate lives in a stack buffer of ROWS rows (g stride 0).
 * A slice of a product over all groups (a chain's last) runs its k over
 * [k0, k0 + I) of the weight's IW and adds to what out holds. */
typedef struct product {
    int64_t G, O, I, IW;
    int64_t x_m, x_g, o_m, o_g;
    LLVMValueRef x, w, b, out;
    LLVMValueRef k0; /* NULL: 0 */
    bool accumulate; /* out's values are the sums so far: they start the accumulators (b is NULL) */
} product;

/* every output of `rows` rows (x from row mx, out from row mo) in group g */
void em_rows_block(emit *e, const product *p, int rows, LLVMValueRef mx, LLVMValueRef mo, LLVMValueRef g);
/* the product of node n reading args[xa] (x), args[wa], args[ba] (bias, if
 * any) and writing args[oa], with global strides */
product em_product_of(emit *e, const sf_node *n, int xa, int wa, int ba, int oa);
/* the partitioned loop over (block of ROWS rows, group): body(rows, m0, g) for
 * the full blocks, then row by row for the last, partial one */
typedef void (*block_fn)(emit *e, void *ctx, int rows, LLVMValueRef m0, LLVMValueRef g);
void em_over_blocks(emit *e, const sf_node *first, int64_t G, block_fn body, void *ctx);
/* ROWS-row blocks of a product's rows at batch B */
int64_t em_row_blocks(const sf_node *first, int64_t B);
/* a product's groups (1 for a linear) */
int64_t em_groups_of(const sf_node *n);

#endif
