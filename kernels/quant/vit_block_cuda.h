/* vit_block_cuda.h - the device side of vit.block@cuda.int8 (vit_block_dev.cu). */
#ifndef KB_QUANT_VIT_BLOCK_CUDA_H
#define KB_QUANT_VIT_BLOCK_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

extern const struct kb_kernel kb_vit_block_cuda_int8;

/* out[z][i][j] = epilogue(Σ_p A[z][i][p]·W[z][j][p]) for i < m, j < n, z < batch, with
 *   A[z][i][p] = a[z·a_bs + i·lda + p],  W[z][j][p] = w[z·w_bs + j·w_sn + p·w_sk],
 *   out at z·o_bs + i·ldo + j; the dyadic (b, c) of column j (per_col) or of all (index 0);
 *   epilogue: res NULL: sat±127((acc·b + 2^(c−1)) >> c)  (quant_dyadic_requant);
 *             else sat±127(dy(acc) + dy(res[same index], res_b/2^res_c))  (the residual add). */
struct vit_gemm {
    const int8_t *a;
    long lda, a_bs;
    const int8_t *w;
    long w_sn, w_sk, w_bs;
    int m, n, k;
    int8_t *out;
    long ldo, o_bs;
    const int32_t *dy_b, *dy_c;
    int per_col;
    const int8_t *res;
    int32_t res_b, res_c;
};
/* Enqueues on stream; returns a cudaError_t (0 = success). */
int vit_gemm_launch(const struct vit_gemm *g, int batch, void *stream);

#endif
