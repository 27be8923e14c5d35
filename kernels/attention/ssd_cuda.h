/* ssd_cuda.h - attention.ssd@cuda.chunked, @cuda.recurrent and @cuda.mma: the descriptors
 * (ssd_cuda.c) and the launchers of their device code (ssd_dev.cu, ssd_mma.cu). Definition:
 * ssd_ops.h.
 *
 * Operands on the device: x [B,H,T,P] and b, c [B,G,T,S] in the case's dtype (f16/bf16, the
 * values the operation rounded), dt [B,H,T] and A [H] float32; y [B,H,N,P] float32 (the
 * bidirectional form adds its second pass into it); every state float32.
 *
 * recurrent: one block per (b, h) and slice of 32 state columns (columns never mix), 8 threads
 *   per column p of the S×P state, each holding ceil(S/8) rows in registers; tokens in tiles of
 *   16 through shared memory; y_t reduced over the 8 threads with shuffles. N sequential steps
 *   per head. P ≤ 128, S ≤ 256.
 * chunked (chunk SSD_CUDA_CHUNK, S and P 64 or 128), Mamba-2's algorithm in three passes:
 *   1 states  per chunk k: L_k = Σ_j exp(cum_last − cum_j) dt_j B_j x_jᵀ (S×P), a_k = exp(cum_last)
 *   2 scan    per state element: H_0 = 0, H_{k+1} = a_k H_k + L_k, written over L_k (the state
 *             before each chunk)
 *   3 output  per chunk: Y = (C Bᵀ ∘ exp(cum_i − cum_j) dt_j, j ≤ i) X + diag(exp(cum)) C H_k
 *   (bidirectional: the three passes again over the reversed sequence, j < i, added to y).
 * mma (chunk SSD_CUDA_CHUNK, S and P 64 or 128): the chunked algorithm's three passes on
 *   mma.sync tensor cores (ssd_mma.cu), f16/bf16 operands, float32 accumulation:
 *   1 states  grid (nc, H, B), 4 warps: L_k = B̃ᵀ X (S×P, B̃ the decay- and dt-weighted B rows
 *             applied to the A fragments), float32, and a_k
 *   2 scan    grid (S·P/512, H, B), a thread per pair of elements: H_k in float32, stored in
 *             16 bits (prefix) as the next pass's mma operand
 *   3 output  grid (nc, H, B), 4 warps of 16 rows: Y = exp(cum_i) C H_k + (C Bᵀ ∘ decay ∘ dt,
 *             masked) X, the decay applied to the score fragments, C's fragments shared
 *   (bidirectional: the three passes again over the reversed sequence, j < i, added to y).
 * decode (all three): setup builds every head's state over the first N tokens with the recurrent
 *   kernel; run is one step per head into a second state buffer (repeatable). */
#ifndef KB_SSD_CUDA_H
#define KB_SSD_CUDA_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_ssd_cuda_chunked;
extern const struct kb_kernel kb_attention_ssd_cuda_recurrent;
extern const struct kb_kernel kb_attention_ssd_cuda_mma;

#define SSD_CUDA_CHUNK 64
#define SSD_CUDA_MAX_P 128
#define SSD_CUDA_MAX_S 256

/* The device operands of a case. */
struct ssd_cuda_args {
    const void *x, *b, *c; /* dtype */
    const float *dt, *A;
    float *y;
    float *states;     /* chunked: [2][B·H][nc][S·P] (one set per direction); decode: [B·H][S·P] */
    float *decays;     /* chunked: [2][B·H][nc] */
    float *states_new; /* decode: [B·H][S·P] */
    void *prefix;      /* mma: [B·H][nc][S·P] in the dtype, the state before each chunk */
};

/* Enqueue on stream (a cudaStream_t); return a cudaError_t (0 = success). tokens: the tokens
 * the operands hold (N, or N + 1 in decode). */
int ssd_cuda_recurrent_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a,
                              void *stream);
int ssd_cuda_chunked_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a, void *stream);
int ssd_cuda_mma_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a, void *stream);
/* Decode: states ← the forward scan of the first N tokens (setup), then one step (run). */
int ssd_cuda_build_states(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a, void *stream);
int ssd_cuda_decode_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a, void *stream);

#endif
