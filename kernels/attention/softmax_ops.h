/* softmax_ops.h - the softmax attention operation, attention.softmax:
 *
 *     O = softmax(Q·Kᵀ / √d  [+ causal mask]) · V
 *
 * per (batch, query head), with grouped-query attention: query head h reads key/value head
 * h / (H / H_kv). Implementations of it (attention.flash@cpu, attention.softmax@cpu.blas,
 * attention.flash@cuda.mma, a plugin's) read the inputs below and write O; the harness fills
 * the inputs and judges O, so every implementation sees the same bytes for one case.
 *
 * Shape axes: batch B, heads H, kv_heads H_kv (H a multiple of it), seq N, head_dim d, causal,
 * decode, input, page. decode = 1 is one new query token per (batch, head) against an N-token KV
 * cache (it sees every key; causal does not apply). page (decode only): 0 a contiguous cache;
 * > 0 a paged cache of `page` tokens per page read through a block table (below).
 *
 * Operands (kb_input / kb_output indices), all float32, row-major, 64-byte aligned:
 *   KB_ATTN_Q  "q"  [B, H,    N, d]   (decode: [B, H, 1, d])
 *   KB_ATTN_K  "k"  [B, H_kv, N, d]
 *   KB_ATTN_V  "v"  [B, H_kv, N, d]
 *   KB_ATTN_O  "o"  [B, H,    N, d]   (decode: [B, H, 1, d]), output, zeroed before setup
 * Paged decode (page > 0), P = ceil(N / page) pages per sequence (paged_kv.h):
 *   KB_ATTN_K  "k"  [B·P, H_kv, page, d]  the pool of physical pages (rows past N zeros)
 *   KB_ATTN_V  "v"  [B·P, H_kv, page, d]
 *   KB_ATTN_BLOCK_TABLE "block_table" [B, P] int32, input (after O: the first four indices
 *              stay those of every case): logical page p of sequence b is physical page
 *              block_table[b][p], a seeded shuffle of 0 .. B·P − 1. K and V hold the values
 *              a contiguous cache of the same seed holds, moved into their pages.
 * Q, K and V are each followed by KB_ATTN_INPUT_PAD zero floats, so vector code may read a
 * short way past the last row.
 *
 * dtypes: the case's dtype says what the values are, not how they are stored (always float32):
 *   f32        the float32 draws;
 *   f16, bf16  the draws rounded (to nearest even) to f16 or bf16 values, so a kernel that
 *              converts them to its 16-bit type loses nothing and the reference sees exactly
 *              what the kernel computes from;
 *   i8         the draws rounded to f16 values: an INT8 attention (SageAttention-style)
 *              quantizes Q and K itself from half-precision inputs.
 * Inputs are normal(0,1) (or the case's input distribution; "outlier" puts large per-channel
 * offsets in K, as SageAttention measured in real models), drawn from the case seed.
 *
 * Verification: 256 output rows sampled from the seed (all of them when fewer) against float64 attention of
 * the same inputs; relative L2 error within 1e-4 (f32), 5e-3 (f16), 2e-2 (bf16) or 5e-2 (i8:
 * the cost of 8-bit Q and K, as INT8 kernels are judged). FLOPs: 4·B·H·N²·d, causal
 * 2·B·H·N·(N+1)·d, decode 4·B·H·N·d. Minimum bytes: Q, K, V read and O written once at the
 * dtype's size (i8: f16's); in decode that is K and V of N tokens per KV head (the cache, which
 * dominates), Q and O, plus 4 bytes per block-table entry when paged.
 */
#ifndef KB_ATTENTION_SOFTMAX_OPS_H
#define KB_ATTENTION_SOFTMAX_OPS_H

#include "kernels/kernel.h"

enum { KB_ATTN_Q, KB_ATTN_K, KB_ATTN_V, KB_ATTN_O, KB_ATTN_BLOCK_TABLE };

/* Zero floats after each of Q, K, V. */
#define KB_ATTN_INPUT_PAD 64

extern const struct kb_operation kb_op_attention_softmax;

#endif
