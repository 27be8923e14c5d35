/* lightning_cuda.h - attention.lightning@cuda.mma: the descriptor (lightning_cuda.c) and the
 * launcher of its device code (lightning_mma.cu). Definition and float64 reference: lightning.h.
 *
 * Chunk-parallel in three kernels (the design of fla's chunk_simple_gla and Lightning
 * Attention-2, with the walk over the sequence made a parallel scan over state elements). The
 * tokens go in chunks of C (the shape's chunk: 64 or 128, both compiled) and the chunks in
 * groups of G (1..16, chosen at launch: lightning_cuda_group below, so a short sequence keeps
 * its parallelism and a long one stores one state per G chunks). With k̃_j = λ^(G·C−1−j) k_j
 * (j the token's index in its group):
 *   1 local   per group q: L_q = Σ_j k̃_jᵀ v_j (d×d, tensor cores, float32 accumulation over
 *             the group's chunks), stored in 16 bits times 1/C          -> local [B·H·ng][d·d]
 *   2 scan    per pair of state elements: P_0 = 0, P_{q+1} = λ^(G·C) P_q + L_q in float32,
 *             P_q stored in 16 bits times σ(q·G·C)                        -> prefix [B·H·ng][d·d]
 *   3 output  per group, its chunks in order, the state S in shared memory (16 bits, times σ):
 *             O = scale · (λ^(i+1) Q·S + ((Q Kᵀ) ⊙ D) V), D_ij = λ^(i−j) for j ≤ i, 0 above;
 *             then S ← λ^C S + Σ_j λ^(C−1−j) k_jᵀ v_j for the group's next chunk
 * At d = 128 a state is as many bytes as 64 tokens of Q, K, V and O together, so the state
 * traffic (written, read, written, read: four state-sized passes per group) decides the time
 * unless G is large; the groups cut it to 1/G of one state per chunk.
 * Fused (lightning_cuda_fused, opt-in): the three passes in one kernel whose blocks each claim a
 * group, compute L_q, scan a share of the state over their plane's groups between two barriers of
 * the plane's blocks, then run pass 3 (lightning_mma.cu): no kernel boundaries, for short
 * sequences where each pass's ramp and tail is a large share of the call.
 */
#ifndef KB_LIGHTNING_CUDA_H
#define KB_LIGHTNING_CUDA_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_lightning_cuda;

/* The fewest blocks a group size may leave (about two per SM of an H100). */
#define LIGHTNING_CUDA_MIN_BLOCKS 256
/* The most chunks a group: the launcher's cap, and what KBENCH_LIGHTNING_GROUP may ask for. */
#define LIGHTNING_CUDA_MAX_GROUP 16

/* The most groups a (batch, head) plane may have for the fused form (lightning_cuda_fused). */
#define LIGHTNING_CUDA_FUSED_MAX_GROUPS 64

/* Scratch the three passes share, in device memory, in the case's 16-bit dtype; and the fused
 * form's, where lightning_cuda_fused says it runs (else NULL, 0). */
struct lightning_cuda_scratch {
    void *local;  /* [B·H·ng][d·d]: each group's own state L_q (sized for G = 1: ng = nc) */
    void *prefix; /* [B·H·ng][d·d]: the state before each group, times σ */
    int *arrive;  /* fused: [B·H], zeroed once: each plane's barrier count, rising across launches */
    int launches; /* fused: launches so far on arrive (the launcher counts them) */
};

/* 1 when the device code is compiled for this chunk length (64 or 128). */
int lightning_cuda_chunk_ok(int chunk);

/* Chunks per group G the launcher uses for a shape (chunk 64 or 128): the largest power of two up
 * to 16 that still leaves at least LIGHTNING_CUDA_MIN_BLOCKS blocks (B·H·groups), so a short
 * sequence keeps some parallelism and a long one stores one state per 16 chunks. Measured on an
 * H100 (2026-12-06, batch 1, 16 heads, d 128, chunk 64; docs/performance.md): at 4k G = 4 beat
 * G = 1, 2 and 8 (82 us against 114, 94, 110), at 16k..256k G = 16 was fastest; the old
 * threshold of 2048 blocks chose G = 1 at 4k and 2 at 16k, 0.74x fla's chunk_simple_gla. The
 * environment variable KBENCH_LIGHTNING_GROUP (1, 2, 4, 8 or 16) overrides it, to measure the
 * trade between state traffic and parallelism; each case stores the G it ran with as the counter
 * lightning.group. */
int lightning_cuda_group(const struct kb_shape *s);

/* 1 when the output pass loads the next chunk's Q, K and V while it computes this one (Q and K
 * in two copies each, 112 KiB of shared memory a block at d 128 and chunk 64), else 0: each
 * chunk's loads after the last chunk is done. By default where lightning_cuda_group is below
 * LIGHTNING_CUDA_MAX_GROUP, the short sequences whose blocks run few chunks each, in step: on an
 * H100 (2026-12-08, bf16, batch 1, 16 heads, d 128, chunk 64, one lease, alternating) 78.4 / 78.7
 * us against 82.4 / 82.8 at N = 4k (G = 4), level at 16k and 1-2% slower at 64k (G = 16). KBENCH_LIGHTNING_PREFETCH=1
 * or 0 forces either; each case stores it as the counter lightning.prefetch. */
int lightning_cuda_prefetch(const struct kb_shape *s);

/* 1 when the three passes run as one kernel (lightning_mma.cu's fused form: each block computes
 * its group's state, takes part in its plane's scan, then computes its outputs), else 0. Opt-in,
 * KBENCH_LIGHTNING_FUSED=1, until timed on a GPU (written in the twentieth session, without one),
 * and only where a plane has at most LIGHTNING_CUDA_FUSED_MAX_GROUPS groups (a plane's blocks must
 * also fit on the GPU at once: setup refuses a case where they do not, saying so, and the launch
 * fails with cudaErrorCooperativeLaunchTooLarge rather than wait forever); each case stores it as
 * the counter lightning.fused. */
int lightning_cuda_fused(const struct kb_shape *s);

/* The fused kernel's blocks that fit on the current GPU at once, for a shape's d, chunk, dtype
 * (f16 or bf16) and prefetch, into *blocks: a plane's groups must not outnumber them. Returns a
 * cudaError_t (0 = success). */
int lightning_cuda_fused_at_once(const struct kb_shape *s, enum kb_dtype t, int *blocks);

/* Bytes of the fused form's own scratch (arrive) for a shape, 0 where it does not run. */
double lightning_cuda_fused_bytes(const struct kb_shape *s);

/* Bytes of the three passes' scratch (local, prefix) for a shape (chunk 64 or 128), sized for one state per chunk (G = 1):
 * nc = ceil(N / chunk) chunks per head. */
double lightning_cuda_scratch_bytes(const struct kb_shape *s, enum kb_dtype t);

/* Enqueues the three passes on stream: q [B,H,N,d], k and v [B,H_kv,N,d], o [B,H,N,d], all in
 * dtype t (f16 or bf16); d = 64 or 128; chunk 64 or 128. Returns a cudaError_t (0 = success). */
int lightning_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                          void *o, struct lightning_cuda_scratch *scratch, void *stream);

#endif
