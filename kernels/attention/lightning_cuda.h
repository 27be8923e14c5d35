/* lightning_cuda.h - attention.lightning@cuda.mma: the descriptor (lightning_cuda.c) and the
 * launcher of its device code (lightning_mma.cu). Definition and float64 reference: lightning.h.
 *
 * Chunk-parallel in three kernels (the design of fla's chunk_simple_gla and Lightning
 * Attention-2, with the chunk scan made parallel over state elements), so every chunk of every
 * head is its own block (batch 1 × 16 heads × N/C chunks fills the GPU) and the only serial walk
 * over the sequence is a cheap element-wise scan:
 *   1 local   per chunk c: L_c = Σ_j λ^(C−1−j) k_jᵀ v_j (d×d, tensor cores, float32
 *             accumulation), stored in 16 bits times 1/C                -> local [B·H·nc][d·d]
 *   2 scan    per pair of state elements: P_0 = 0, P_{c+1} = λ^C P_c + L_c in float32, P_c
 *             stored in 16 bits times σ_c = 2^-⌊log2(cC+1)/2⌋              -> prefix [B·H·nc][d·d]
 *   3 output  per chunk: O = scale · (λ^(i+1) Q·P_c + ((Q Kᵀ) ⊙ D) V), D_ij = λ^(i−j) for
 *             j ≤ i, 0 above (tensor cores, float32 accumulation)
 * The states are 16-bit in memory: at d = 128 a chunk's state is as many bytes as 64 tokens of
 * Q, K, V and O together, so the state traffic, not the arithmetic, decides the time; float32
 * local states would double it.
 * C is the shape's chunk: 64 or 128 (both compiled; 128 halves the state traffic, 64 halves the
 * in-chunk quadratic work).
 */
#ifndef KB_LIGHTNING_CUDA_H
#define KB_LIGHTNING_CUDA_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_lightning_cuda;

/* Scratch the three passes share, in device memory, in the case's 16-bit dtype. */
struct lightning_cuda_scratch {
    void *local;  /* [B·H·nc][d·d]: each chunk's own state L_c */
    void *prefix; /* [B·H·nc][d·d]: the state before each chunk, times σ_c */
};

/* 1 when the device code is compiled for this chunk length (64 or 128). */
int lightning_cuda_chunk_ok(int chunk);

/* Bytes of that scratch for a shape (chunk 64 or 128): nc = ceil(N / chunk) chunks per head. */
double lightning_cuda_scratch_bytes(const struct kb_shape *s, enum kb_dtype t);

/* Enqueues the three passes on stream: q [B,H,N,d], k and v [B,H_kv,N,d], o [B,H,N,d], all in
 * dtype t (f16 or bf16); d = 64 or 128; chunk 64 or 128. Returns a cudaError_t (0 = success). */
int lightning_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                          void *o, const struct lightning_cuda_scratch *scratch, void *stream);

#endif
