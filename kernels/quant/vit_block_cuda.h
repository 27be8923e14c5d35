/* vit_block_cuda.h - vit.block@cuda.int8's pipeline (vit_block_steps.c, plain C: the order of
 * its steps and the views they read, which tests/test_quant.c runs on the CPU with host versions
 * of the two launchers) and its device GEMM (vit_block_dev.cu). */
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

struct vit_i8_view;
/* The block's buffers (device pointers on the GPU): inputs x [t][d], the weight codes, every
 * dyadic (vit_block_dyadics' layout), and the intermediates ln [t][d], qkv [t][3d], sc and p
 * [h][t][t], attn, hb [t][d], ff, g [t][f], y [t][d]. */
struct vit_block_bufs {
    const int8_t *x, *wqkv, *wo, *w1, *w2;
    const int32_t *dy_b, *dy_c;
    int8_t *ln, *qkv, *sc, *p, *attn, *hb, *ff, *g, *y;
};
/* The two launchers the steps call: vit_gemm_launch and quant_ivit_launch on the GPU. */
struct vit_block_launchers {
    int (*gemm)(const struct vit_gemm *g, int batch, void *stream);
    int (*ivit)(int op, const int8_t *x, int8_t *y, int m, int n, int32_t i0, void *stream);
};
/* Dyadics in one array each for b and c: qkv [3d], o [d], fc1 [f], fc2 [d], then scores, P·V. */
void vit_block_dyadics(const struct vit_i8_view *w, int32_t *b, int32_t *c);
/* The whole block, step by step; the first launcher error (0 = all enqueued). */
int vit_block_steps(const struct vit_block_bufs *b, const struct vit_i8_view *w, const struct vit_block_launchers *l,
                    void *stream);

#endif
