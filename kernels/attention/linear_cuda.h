/* linear_cuda.h - attention.linear@cuda.mma: the descriptor (linear_cuda.c) and the launcher of
 * its device code (linear_mma.cu). Definitions and the float64 reference: linear.h.
 *
 * Chunk-parallel in three kernels (Lightning Attention-2 / flash-linear-attention style), so
 * every chunk of every head is its own block and nothing walks the sequence serially but a
 * cheap element-wise scan:
 *   1 local   per chunk c: L_c = Σ_j λ^(C−1−j) φ(k_j)ᵀ v_j (d×d, tensor cores) and
 *             z_c = Σ_j λ^(C−1−j) φ(k_j), float32                 -> local [B·H·nc][(d+1)·d]
 *   2 scan    per state element: P_0 = 0, P_{c+1} = λ^C P_c + L_c (non-causal: the total
 *             Σ L_c, into slot 0); S written in 16 bits scaled by σ_c, z in float32
 *                                                                  -> prefix, zprefix
 *   3 output  per chunk: O = λ^(i+1) φ(Q)·P_c + ((φ(Q)φ(K)ᵀ) ⊙ D) V, den likewise with z
 *             and the row sums, o = O / den (non-causal: φ(Q)·S / φ(Q)·z only)
 * C is LINEAR_CUDA_CHUNK; the shape's chunk must equal it.
 */
#ifndef KB_LINEAR_CUDA_H
#define KB_LINEAR_CUDA_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_linear_cuda;

/* The chunk length the device code is compiled for. */
#define LINEAR_CUDA_CHUNK 64

/* Scratch the three passes share, in device memory, for a shape (kv_heads filled). */
struct linear_cuda_scratch {
    float *local;   /* [B·H·nc][(d+1)·d]: each chunk's own S then z, float32 */
    void *prefix;   /* [B·H·nc][d·d]: the state before each chunk, 16-bit, times σ_c */
    float *zprefix; /* [B·H·nc][d]: the normaliser state before each chunk, float32 */
};

/* Bytes of that scratch: nc = ceil(N / C) chunks per head. */
double linear_cuda_scratch_bytes(const struct kb_shape *s, enum kb_dtype t);

/* Enqueues the three passes on stream: q [B,H,N,d], k and v [B,H_kv,N,d], o [B,H,N,d], all in
 * dtype t (f16 or bf16); d = 64 or 128. Returns a cudaError_t (0 = success). */
int linear_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                       void *o, const struct linear_cuda_scratch *scratch, void *stream);

/* attention.linear_varlen@cuda.mma (varlen_cuda.c): the same three passes over a packed ragged
 * batch (varlen_ops.h): s->batch sequences, s->seq_len the longest (the scratch of that shape),
 * token-major q and o [total, H, d], k and v [total, H_kv, d], cu_seqlens [B + 1] on the device;
 * no decay. Chunks past a sequence's end exit at once. Returns a cudaError_t. */
int linear_varlen_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                              void *o, const struct linear_cuda_scratch *scratch, const int *cu_seqlens,
                              void *stream);

#endif
