/* OpenBLAS on ParallelFCN(1000)'s products, to compare with sheaf bench:
 * x [B, 20000]; per group g: h_g = x[:, 20g:20g+20] W1_g^T + b1_g ([B, 10]),
 * y[:, g] = h_g W2_g^T + b2_g. Each group is one cblas_sgemm on a strided
 * view (lda = 20000, no copy), the way a BLAS user writes it; the bias is
 * the C operand (beta = 1 over a row-broadcast copy). Build:
 *   cc -O2 openblas_grouped.c -o openblas_grouped -lopenblas
 * Run with OPENBLAS_NUM_THREADS set as wanted. Prints min and median of
 * the runs and GFLOP/s of the products (2 per multiply-add).
 * With a third argument "composed", the problem sheaf runs after its
 * compose pass: per group one 20 -> 1 product (W2_g W1_g), one
 * cblas_sgemv per group on the strided view. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

enum { G = 1000, IN = 20, H = 10 }; /* groups, inputs and hidden units per group */

int main(int argc, char **argv)
{
    int B = argc > 1 ? atoi(argv[1]) : 4096, reps = argc > 2 ? atoi(argv[2]) : 15;
    int composed = argc > 3 && argv[3][0] == 'c';
    if (B < 1 || reps < 1) {
        fprintf(stderr, "usage: openblas_grouped [BATCH [REPS [composed]]]\n");
        return 2;
    }
    float *x = malloc(sizeof(float) * (size_t)B * G * IN), *w1 = malloc(sizeof(float) * G * H * IN);
    float *b1 = malloc(sizeof(float) * G * H), *w2 = malloc(sizeof(float) * G * H), *b2 = malloc(sizeof(float) * G);
    float *h = malloc(sizeof(float) * (size_t)B * G * H), *y = malloc(sizeof(float) * (size_t)B * G);
    for (size_t i = 0; i < (size_t)B * G * IN; i++)
        x[i] = (float)(i % 97) / 97.0f - 0.5f;
    for (size_t i = 0; i < (size_t)G * H * IN; i++)
        w1[i] = (float)(i % 13) / 13.0f - 0.5f;
    for (size_t i = 0; i < (size_t)G * H; i++)
        b1[i] = 0.01f * (float)(i % 7), w2[i] = (float)(i % 5) / 5.0f - 0.4f;
    for (size_t i = 0; i < G; i++)
        b2[i] = 0.1f;
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = -1; r < reps; r++) { /* one warm-up */
        double t0 = now();
        for (int g = 0; composed && g < G; g++) { /* y[:, g] = x_g w_g + b_g, w_g = W1_g's first row standing in */
            for (int m = 0; m < B; m++)
                y[(size_t)m * G + g] = b2[g];
            cblas_sgemv(CblasRowMajor, CblasNoTrans, B, IN, 1.0f, x + (size_t)g * IN, G * IN, w1 + (size_t)g * H * IN,
                        1, 1.0f, y + g, G);
        }
        for (int g = 0; !composed && g < G; g++) { /* bias rows, then h_g += x_g W1_g^T (h is [B, G*H], ldc G*H) */
            for (int m = 0; m < B; m++)
                for (int o = 0; o < H; o++)
                    h[(size_t)m * G * H + g * H + o] = b1[g * H + o];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, IN, 1.0f, x + (size_t)g * IN, G * IN,
                        w1 + (size_t)g * H * IN, IN, 1.0f, h + (size_t)g * H, G * H);
        }
        for (int g = 0; !composed && g < G; g++) {
            for (int m = 0; m < B; m++)
                y[(size_t)m * G + g] = b2[g];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 1, H, 1.0f, h + (size_t)g * H, G * H,
                        w2 + (size_t)g * H, H, 1.0f, y + g, G);
        }
        if (r >= 0)
            t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double flops = composed ? 2.0 * B * G * IN : 2.0 * B * G * (H * IN + H);
    printf("openblas grouped ParallelFCN(1000)%s batch %d: min %.2f ms, median %.2f ms, %.1f GFLOP/s (products), "
           "y[0] = %g\n", composed ? " composed" : "", B, t[0] * 1e3, t[reps / 2] * 1e3, flops / t[reps / 2] * 1e-9,
           y[0]);
    return 0;
}
