/* delta_cuda.h - attention.delta@cuda.chunked and @cuda.recurrent: the descriptors
 * (delta_cuda.c) and the launchers of their device code (delta_dev.cu). Definition and
 * reference: delta_ops.h, delta_op.c.
 *
 * Both split a head's state by value channels: the delta rule never mixes the columns of S
 * (u_t's column j needs only column j of S), so a block of the sequential part owns
 * DELTA_CUDA_VS value channels of one (batch, head) and its own d × VS slice of the state,
 * float32 in shared memory (chunked) or registers (recurrent). Q, K, V in f16/bf16, β and the
 * gates float32, every sum float32 on CUDA cores (register-tiled), O written in float32.
 *
 * @cuda.chunked, the WY/UT form of delta_cpu.c with chunks of DELTA_CUDA_CHUNK tokens, γ the
 * in-chunk prefix sum of the log-gates, in three kernels of which only the second is
 * sequential:
 *   A (head, chunk):      L = strictly-lower(diag(β)(K̂K̂ᵀ ⊙ Γ)), P = (Q̂K̂ᵀ/√d ⊙ Γ) causal
 *   B (head, VS channels), chunk after chunk: the state S before the chunk saved;
 *                         X = diag(β)(V − diag(e^γ) K̂ S), (I + L) U = X by forward
 *                         substitution (one warp, a lane per value channel), U saved;
 *                         S ← e^{γ_last} S + (K̂ ⊙ e^{γ_last − γ})ᵀ U
 *   C (head, chunk, VS):  O = diag(e^γ) Q̂ S_chunk /√d + P U
 * Since T = (I + L)⁻¹, U = T X = T diag(β)V − (T diag(βe^γ)K̂) S = U_WY − W S: the same
 * numbers as forming T, W and U, in fewer steps.
 * @cuda.recurrent walks the tokens of its slice; decode is its one step from a state that
 * setup built (with the block's own form over the first N tokens).
 */
#ifndef KB_DELTA_CUDA_H
#define KB_DELTA_CUDA_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_delta_cuda_chunked;
extern const struct kb_kernel kb_attention_delta_cuda_recurrent;

#define DELTA_CUDA_CHUNK 64 /* the chunk the device code is compiled for */
#define DELTA_CUDA_VS 32    /* value channels per block; head_dim must be a multiple, at most 128 */
#define DELTA_CUDA_MAX_D 128

/* The device operands of one case. q, k, v [B·H][tokens][d] in the dtype; beta, g [B·H][tokens]
 * float32; o [B·H][rows][d] float32. */
struct delta_cuda_args {
    const void *q, *k, *v;
    const float *beta, *g;
    float *o;           /* NULL: outputs not written (building a decode state) */
    int bh, tokens, d;  /* heads over the batch, tokens per head in the buffers, head dim */
    int begin, end;     /* the tokens processed: [begin, end); output row t − begin */
    const float *state_in; /* [B·H][d][d] the state before `begin`, or NULL: zero */
    float *state_out;      /* [B·H][d][d] the state after `end − 1`, or NULL */
    int bf16;           /* 1: q, k, v are bf16, 0: f16 */
    /* the chunked form's device scratch (delta_cuda_chunked_scratch_floats), nc = ceil(end / C):
     * L and P [B·H][nc][C][C], the state before each chunk [B·H][nc][d][d], U [B·H][nc·C][d] */
    float *scratch_l, *scratch_p, *scratch_s, *scratch_u;
};

/* Floats of each of those four buffers for a case of bh heads, n tokens, head dim d. */
void delta_cuda_chunked_scratch_floats(int bh, int n, int d, size_t out[4]);

/* Enqueue on stream; return a cudaError_t (0 = success). The chunked form takes begin = 0 and
 * no state_in. */
int delta_cuda_chunked_launch(const struct delta_cuda_args *a, void *stream);
int delta_cuda_recurrent_launch(const struct delta_cuda_args *a, void *stream);
/* Allows the chunked kernel its shared memory (once per process; setup calls it). */
int delta_cuda_chunked_prepare(int bf16);

#endif
