/* sparse.h - shape arithmetic, masks and float64 references of the attention variants that see
 * only part of the keys: sliding-window attention (attention.window), mixture-of-block
 * attention (attention.block_sparse) and decode (attention.flash with decode = 1). Plain C with
 * no CPU-specific code, so a CUDA implementation can call the same FLOP/byte counts and
 * references.
 *
 * Conventions: Q [B,H,Nq,d], K and V [B,H_kv,N,d] in float32, query head h reads KV head
 * h / (H / H_kv) (GQA). "Row i" is query token i (0 <= i < N; in decode the single new query,
 * which sees all N keys).
 */
#ifndef KB_ATTENTION_SPARSE_H
#define KB_ATTENTION_SPARSE_H

#include <stdint.h>

#include "kernels/attention/attention.h"

extern const struct kb_kernel kb_attention_window_cpu;   /* fused sliding window */
extern const struct kb_kernel kb_attention_window_naive; /* per-query scalar baseline */
extern const struct kb_kernel kb_attention_block_sparse_cpu; /* MoBA-style top-k blocks */
extern const struct kb_kernel kb_attention_block_sparse_cuda; /* the same on tensor cores (CUDA builds) */
extern const struct kb_kernel kb_attention_block_sparse_wgmma_ws; /* the same on Hopper wgmma-ws (sm_90a builds) */

/* A half-open key interval [lo, hi). */
struct key_range {
    int lo, hi;
};

/* float64 attention of one query row q[0..d) over the keys of ranges (disjoint, ascending)
 * of the head's K and V (each [N][d]): two passes with the maximum subtracted; out gets d
 * values. Ranges that are empty are skipped; with no key at all out is all zeros. */
void attention_ranges_reference_row(const float *q, const float *k, const float *v, int d,
                                    const struct key_range *ranges, int nranges, double *out);

/* ---- sliding window: query i sees keys max(0, i − W + 1) .. i ------------------------------ */

/* The first key query i sees with window w. */
static inline int window_first_key(int i, int w)
{
    return i - w + 1 > 0 ? i - w + 1 : 0;
}
/* Σ_i min(i + 1, W): the (query, key) pairs of one head. */
double window_pairs(int n, int w);
/* 4·B·H·d·pairs (QKᵀ and PV, multiply-add = 2). */
double window_flops(const struct kb_shape *s);
/* The fused ideal: read Q, K, V once, write O: s·B·N·d·(2H + 2H_kv) (attention_min_bytes). */
double window_bytes(const struct kb_shape *s, enum kb_dtype t);
/* The axes every attention.window implementation sweeps (no causal axis: it is always causal). */
#define WINDOW_AXES (KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) | \
                     KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_WINDOW) | \
                     KB_AXIS_BIT(KB_AXIS_INPUT))
/* KB_OK, or KB_UNSUPPORTED naming a window < 1. */
int window_check_shape(const struct kb_shape *s, char *err, size_t errlen);

/* ---- mixture of block attention (MoBA-style), causal ---------------------------------------- */
/* Tokens fall in blocks of `block`; the last may be short. Query block qb keeps its own block
 * (masked causally) and the topk_blocks past blocks kb < qb whose mean key scores highest against
 * the block's mean query, mean_q(qb) · mean_k(kb) in float64 with a fixed summation order (so
 * any implementation that sums in token, then channel, order makes the same choice); ties go to
 * the lower block index. With qb or fewer past blocks, all of them are kept. */

/* Blocks of one head: ceil(N / block). */
int bsa_blocks(const struct kb_shape *s);
/* Past blocks query block qb keeps: min(topk_blocks, qb). */
int bsa_kept_past(const struct kb_shape *s, int qb);
/* (query, key) pairs of one head that are computed (analytic: the selection's size does not
 * depend on the data, only its choice). */
double bsa_pairs(const struct kb_shape *s);
/* Kept blocks / causal blocks over all query blocks: Σ(kept_past + 1) / Σ(qb + 1). */
double bsa_density(const struct kb_shape *s);
/* 4·B·H·d·pairs + the estimator 2·B·H·nb·nb/2·d + pooling 2·B·N·d·(H + H_kv). */
double bsa_flops(const struct kb_shape *s);
/* Q, K, V read once and O written, plus K/V re-read per query block for kept blocks:
 * s·B·(2·H·N·d + 2·H·d·Σ kept keys per query block). */
double bsa_bytes(const struct kb_shape *s, enum kb_dtype t);
/* KB_OK, or KB_UNSUPPORTED naming a block or topk_blocks < 1. */
int bsa_check_shape(const struct kb_shape *s, char *err, size_t errlen);

/* Mean over the tokens of each block of one head's X [N][d] into means [nb][d] (float64,
 * tokens summed in ascending order, then divided by the block's token count). */
void bsa_block_means(const float *x, int n, int d, int block, double *means);
/* The selection of query block qb: sorted ascending into keep[0..kept_past) (past blocks only;
 * the own block is implied). qmean is that block's mean query [d], kmeans [nb][d].
 * Partial selection by repeated maximum, as a kernel would do it; score is scratch for qb
 * doubles. */
void bsa_select(const double *qmean, const double *kmeans, int d, int qb, int topk, double *score,
                int *keep);

/* ---- decode: one new query per (batch, head) against an N-token KV cache ------------------- */

/* 4·B·H·N·d. */
double decode_flops(const struct kb_shape *s);
/* s·(2·B·H·d + 2·B·H_kv·N·d): the query and output, and the whole cache read once. */
double decode_bytes(const struct kb_shape *s, enum kb_dtype t);
/* Q of decode, [B,H,1,d], from the case seed (the same sub-seed as the prefill Q) and input
 * distribution; 64-byte aligned with ATTENTION_INPUT_PAD zero floats after. NULL when out of
 * memory. */
float *decode_query_new(const struct kb_shape *s, uint64_t seed);

/* ---- bf16 ------------------------------------------------------------------------------------ */

/* Round to nearest even (NaN kept quiet). */
uint16_t bf16_from_f32(float x);
static inline float bf16_to_f32(uint16_t b)
{
    union { uint32_t u; float f; } v = { .u = (uint32_t)b << 16 };
    return v.f;
}

#endif
