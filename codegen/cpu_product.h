/* Internal to the CPU backend's products and fused chains (cpu_product.c
 * owns the product kernels, cpu_chain.c the chains built from them). */
#ifndef SF_CPU_PRODUCT_H
#define SF_CPU_PRODUCT_H

#include "codegen/cpu_emit.h"

/* ROWS rows by MAX_CHUNKS chunks of WIDTH outputs: 16 accumulators from 2
 * weight loads and 8 broadcasts per k. With 8 accumulators (ROWS 4) the
 * two FMA pipes' latency was only just covered and any load or broadcast
 * stalled them; sheaf bench, 2 threads, batch 4096, interleaved twice
 * (2026-12-04): NAM(64, 32) 2.70 -> 2.06 ms, Ensemble(64, 32, 64, 10) 7.2
 * -> 5.6, DeepParallel(1000) 45 -> 32, Towers(4, 8, 32) without its GELU
 * 2.46 -> 1.6 (224 -> 320 GFLOP/s); batch 64 1.05-1.5x faster, batch 1
 * the same. ROWS 12 ran 7% faster at 4096 but 10% slower at 64 (five
 * blocks and four single rows), ROWS 6 slower than 8 at both. WIDTH is
 * AVX-512's 16 lanes: this machine's FMA peak is 463 GFLOP/s on 2 threads
 * with 16 lanes against 205 with 8 (bench/fma_peak.c). A CPU without
 * AVX-512 runs the same packing as pairs of 8-lane instructions, its
 * blocks as sub-blocks of 4 rows by one chunk (em_rows_block). A chain's
 * two stack buffers of ROWS rows take up to 2 x 8 x 4096 floats (256 KiB)
 * of the running thread's stack (docs/c-api.md). Changing WIDTH changes
 * the packing: SF_CPU_ABI with it. */
enum { ROWS = 8, WIDTH = 16, MAX_CHUNKS = 2 };
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
