/* naive_cuda.h - the deliberately naive CUDA attention baselines two paper claims measure the
 * fast kernels against (faster-neighborhood-attention, scaling-transnormer): the descriptors
 * (window_naive_cuda.c, linear_naive_cuda.c) and the launchers of their device code
 * (naive_cuda.cu). No tensor cores, no tiling, no data reuse beyond what correctness needs: the
 * GPU form of attention.window@cpu.naive and attention.linear@cpu.naive, on the same rounded
 * f16/bf16 inputs as the tensor-core kernels (attention_cuda.h), with float32 arithmetic.
 */
#ifndef KB_NAIVE_CUDA_H
#define KB_NAIVE_CUDA_H

#include <stddef.h>

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_window_cuda_naive; /* per-query scalar loop */
extern const struct kb_kernel kb_attention_linear_cuda_naive; /* masked quadratic, N×N in memory */

/* attention.window@cuda.naive: one thread block per query row; the row's scores over its
 * min(W, i + 1) keys go to shared memory (a scalar dot product per key and thread), then the
 * block's maximum and sum, then P·V with a thread per output channel. */

/* Dynamic shared memory one block needs: the query row and the scores of min(W, N) keys. */
size_t window_naive_cuda_smem(const struct kb_shape *s);
/* Lets the kernel use up to smem bytes of dynamic shared memory (over the 48 KiB default, up
 * to the device's opt-in limit); called at setup, outside any graph capture. cudaError_t. */
int window_naive_cuda_prepare(size_t smem, enum kb_dtype t);
/* Enqueues the kernel: q [B,H,N,d], k and v [B,H_kv,N,d], o [B,H,N,d] in dtype t (f16/bf16),
 * any d. The attention_cuda_launcher signature. Returns a cudaError_t. */
int window_naive_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                             const void *v, void *o, void *stream);

/* attention.linear@cuda.naive: two kernels over an N×N float32 matrix per (batch, head) in
 * global memory, a [B·H][N][N]:
 *   1 scores   a thread per element: A_ij = φ(q_i)·φ(k_j) · λ_h^(i−j) (decay_pow[h][i−j]) for
 *              j ≤ i (causal; zero above the diagonal) or every j (non-causal, λ = 1)
 *   2 outputs  a block per row: den_i = Σ_j A_ij, o_i = Σ_j A_ij v_j / den_i (0 where
 *              den_i = 0), a thread per output channel
 * decay_pow is [H][N] float32 (λ_h^m, m = 0..N−1), read only when s->decay. */
int linear_naive_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                             const void *v, void *o, float *a, const float *decay_pow, void *stream);

#endif
