/* gla_cuda.h - attention.gla@cuda.mma: the descriptor (gla_cuda.c) and the launcher of its
 * device code (gla_mma.cu). Definition, gates and float64 reference: linear.h.
 *
 * Chunk-parallel in three kernels, the pattern of attention.linear@cuda.mma with GLA's
 * per-key-channel gates. With B_i = Σ_{t=t0..i} G_t the in-chunk cumulative log-gate (per
 * channel, float32, as attention.gla@cpu):
 *   1 local   per chunk c: L_c = Σ_j (k_j ⊙ exp(B_{C−1} − B_j))ᵀ v_j (d×d, tensor cores) and
 *             a_c = exp(B_{C−1}) (d), float32                       -> local [B·H·nc][(d+1)·d]
 *   2 scan    per state element (p, e): P_0 = 0, P_{c+1} = a_c[p]·P_c + L_c   -> prefix, 16-bit
 *   3 output  per chunk: O = q̃·P_c + ((q̃·k̃ᵀ) masked to j ≤ i)·V, q̃ = (q/√d) ⊙ exp(B)
 * The local states are per query head (the gates are), reading the K, V of its KV head.
 * C is GLA_CUDA_CHUNK; the shape's chunk must equal it.
 */
#ifndef KB_GLA_CUDA_H
#define KB_GLA_CUDA_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_gla_cuda;

/* The chunk length the device code is compiled for. */
#define GLA_CUDA_CHUNK 64

/* Scratch the three passes share, in device memory. */
struct gla_cuda_scratch {
    float *local; /* [B·H·nc][(d+1)·d]: each chunk's own state L_c, then its decay a_c, float32 */
    void *prefix; /* [B·H·nc][d·d]: the state before each chunk, 16-bit */
};

/* Bytes of that scratch: nc = ceil(N / C) chunks per head. */
double gla_cuda_scratch_bytes(const struct kb_shape *s, enum kb_dtype t);

/* Enqueues the three passes on stream: q and g (log-gates) [B,H,N,d], k and v [B,H_kv,N,d],
 * o [B,H,N,d], all in dtype t (f16 or bf16); d = 64 or 128. Returns a cudaError_t (0 = success). */
int gla_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                    const void *g, void *o, const struct gla_cuda_scratch *scratch, void *stream);

#endif
