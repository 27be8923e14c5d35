/* varlen_ops.h - attention over packed ragged batches (FlashAttention's "varlen" inputs): B
 * sequences of different lengths n_0 .. n_{B-1} packed one after another along one token axis of
 * T = Σ n_b tokens, with their cumulative lengths cu_seqlens[0..B] (cu_seqlens[0] = 0,
 * cu_seqlens[b+1] = cu_seqlens[b] + n_b, int32). No token attends across a sequence boundary:
 * each sequence is its own attention problem, and no padding is stored or computed.
 *
 *   attention.varlen         softmax attention per sequence: O_b = softmax(Q_b K_bᵀ/√d [+ causal
 *                            mask]) V_b, as attention.softmax (softmax_ops.h) of one sequence
 *   attention.linear_varlen  feature-map linear attention per sequence, as attention.linear
 *                            (linear_ops.h) without decay: the state starts at zero for each
 *                            sequence
 *
 * Shape axes: batch = B sequences, seq = the longest length N (every n_b <= N), lengths = the
 * mix (kernels/kernel.h enum kb_lengths; generator datasets/generate.h gen_seq_lengths):
 * uniform (n_b uniform in [N/4, N]), longtail (Pareto, the longest exactly N), equal (every n_b =
 * N: the padded operation's shape, for comparison), heads H, kv_heads H_kv (GQA), head_dim d,
 * causal, input; attention.linear_varlen also feature (and chunk, an algorithm parameter).
 *
 * The lengths depend on (lengths, batch, seq) alone, not on the case seed: the counts, which see
 * only the shape, are then those of the actual lengths, and every run and implementation of a
 * shape sees the same mix. The seed draws Q, K, V as for the padded operations.
 *
 * Layout: token-major packing, as FlashAttention's varlen API: Q and O [T, H, d], K and V
 * [T, H_kv, d]; row t·H + h of Q is token t of query head h, and sequence b is tokens
 * cu_seqlens[b] .. cu_seqlens[b+1]. A head's rows of one sequence are H·d (H_kv·d) floats
 * apart: the implementations pass that row stride, or the sequence's offset and length, to
 * the padded kernels' code.
 *
 * Operands (kb_input / kb_output indices), float32 unless said, 64-byte aligned, Q, K, V and O
 * followed by at least 256 zero bytes:
 *   KB_VARLEN_Q   "q"           [T, H,    d]
 *   KB_VARLEN_K   "k"           [T, H_kv, d]
 *   KB_VARLEN_V   "v"           [T, H_kv, d]
 *   KB_VARLEN_CU  "cu_seqlens"  [B + 1] int32
 *   KB_VARLEN_O   "o"           [T, H,    d]  output
 * dtypes f32, f16, bf16: the values are float32 draws rounded to the dtype (as softmax_ops.h).
 *
 * Verification: 256 rows of O sampled from the seed against the padded operations' float64
 * references run on the row's own sequence (attention_reference_row, linear_reference_row),
 * softmax within verify_default_tolerance, linear within 1e-4 (f32). FLOPs from the actual
 * lengths: Σ_b 4·H·n_b²·d (causal Σ_b 2·H·n_b·(n_b+1)·d) for softmax, 4·H·T·(d² + d) for linear;
 * bytes: Q, K, V and O once at the dtype's size plus cu_seqlens.
 */
#ifndef KB_VARLEN_OPS_H
#define KB_VARLEN_OPS_H

#include "kernels/kernel.h"

enum { KB_VARLEN_Q, KB_VARLEN_K, KB_VARLEN_V, KB_VARLEN_CU, KB_VARLEN_O };

extern const struct kb_operation kb_op_attention_varlen;
extern const struct kb_operation kb_op_attention_linear_varlen;

#endif
