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
 *
 * @cuda.mma (delta_mma.cu) is the same chunked form in fla's structure on mma.sync tensor
 * cores, d = 64 or 128, chunk 64, in three kernels:
 *   prep  (chunk, head):        T = (I + L)⁻¹ (forward substitution, float32), W = T diag(βe^γ) K̂,
 *                               U = T diag(β) V, K̃ = diag(e^{γ_last − γ}) K̂, γ; 16-bit W, U, K̃
 *   state (DELTA_MMA_VS(d) value channels, head), chunk after chunk: the 16-bit state before
 *                               the chunk, V' = U − W S, S ← e^{γ_last} S + K̃ᵀ V' (float32 in
 *                               registers); 16 channels a block at d = 128, 32 at d = 64, or the
 *                               width KBENCH_DELTA_VS names
 *   out   (chunk, head):        O = (diag(e^γ) Q̂ S_chunk + (Q̂K̂ᵀ ⊙ Γ ⊙ causal) V') / √d
 * It uses the four scratch buffers of delta_cuda_args as: scratch_l W then U, scratch_p K̃ then
 * V' ([B·H][nc·C][d] 16-bit each), scratch_s the 16-bit state before each chunk
 * [B·H][nc][d][d], scratch_u γ [B·H][nc·C] float32 (delta_cuda_mma_scratch_floats). Decode is
 * @cuda.recurrent's step from the state its own passes built in setup.
 */
#ifndef KB_DELTA_CUDA_H
#define KB_DELTA_CUDA_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_delta_cuda_chunked;
extern const struct kb_kernel kb_attention_delta_cuda_recurrent;
extern const struct kb_kernel kb_attention_delta_cuda_mma;

#define DELTA_CUDA_CHUNK 64 /* the chunk the device code is compiled for */
#define DELTA_CUDA_VS 32    /* value channels per block; head_dim must be a multiple, at most 128 */
#define DELTA_CUDA_MAX_D 128
/* Value channels per block of @cuda.mma's state pass by default: the fewest the kernel is built
 * for at each d, so the most blocks (batch 1, 16 heads: 128). On an H100 at d = 128, 16k tokens,
 * the pass took 336 us at 16 and 504 at 32 in one call (857 at 64 in an earlier one): it walks
 * the chunks one after another, so its time is that chain, and less work a block shortens each
 * link of it. */
#define DELTA_MMA_VS(d) ((d) == 128 ? 16 : 32)

/* The device operands of one case. q, k, v [B·H][tokens][d] in the dtype; beta, g [B·H][tokens]
 * float32; o [B·H][rows][d] float32. */
struct delta_cuda_args {
    const void *q, *k, *v;
    const float *beta, *g;
    float *o;           /* NULL: outputs not written (building a decode state) */
    void *o16;          /* @cuda.mma: O [B·H][N][d] in the inputs' 16-bit dtype, in place of o
                           (NULL: outputs not written) */
    int bh, tokens, d;  /* heads over the batch, tokens per head in the buffers, head dim */
    int begin, end;     /* the tokens processed: [begin, end); output row t − begin */
    const float *state_in; /* [B·H][d][d] the state before `begin`, or NULL: zero */
    float *state_out;      /* [B·H][d][d] the state after `end − 1`, or NULL */
    int bf16;           /* 1: q, k, v are bf16, 0: f16 */
    int state_channels; /* @cuda.mma: value channels per state-pass block, 32 or 64, or 16 at d = 128
                           (0: DELTA_MMA_VS(d)) */
    int out_split;      /* @cuda.mma: 1: the output pass computes 64 channels a block (d = 128: two a chunk) */
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

/* @cuda.mma (d = 64 or 128, chunk DELTA_CUDA_CHUNK): the launcher (begin = 0, no state_in;
 * o16 NULL runs only the first two passes; o is not used), the floats of its four scratch
 * buffers, and its shared-memory allowances (setup calls it). */
int delta_cuda_mma_launch(const struct delta_cuda_args *a, void *stream);
void delta_cuda_mma_scratch_floats(int bh, int n, int d, size_t out[4]);
int delta_cuda_mma_prepare(int bf16, int d);
/* The value channels per block @cuda.mma's state pass runs with at head dim d: 64, 32 or 16
 * (d = 128 only) when the environment sets KBENCH_DELTA_VS to it (read once), else
 * DELTA_MMA_VS(d). Reported as the counter delta.state_channels. */
int delta_cuda_mma_state_channels(int d);
/* 1 when the environment sets KBENCH_DELTA_OUT=split: @cuda.mma's output pass then computes 64
 * output channels a block, two blocks a chunk at d = 128 (read once; the counter
 * delta.out_split). */
int delta_cuda_mma_out_split(void);

#endif
