/* delta_ops.h - the operation attention.delta: DeltaNet and Gated DeltaNet (the delta rule).
 * What an implementation (built in or a plugin) reads and writes; the definition, reference
 * and counts live in delta_op.c.
 *
 * Per head, a state S of d_k x d_v = d x d (S[i][j]: key channel i, value channel j, the
 * layout of fla's [K, V] state), zero before token 0. With k̂_t = k_t/‖k_t‖, q̂_t = q_t/‖q_t‖
 * (every implementation L2-normalises q and k itself, in at least float32, as fla's
 * use_qk_l2norm_in_kernel does) and the scale 1/√d:
 *     S_t = α_t (I − β_t k̂_t k̂_tᵀ) S_{t−1} + β_t k̂_t v_tᵀ
 *     o_t = (1/√d) S_tᵀ q̂_t
 * which is the delta update  u_t = β_t (v_t − α_t S_{t−1}ᵀ k̂_t),  S_t = α_t S_{t−1} + k̂_t u_tᵀ.
 * α_t = exp(log_gate_t): shape.decay = 0 is DeltaNet (log_gate all zero, α = 1: an
 * implementation may skip the gate), shape.decay = 1 is Gated DeltaNet (log α = logsigmoid(x)/16,
 * x ~ N(0,1), one gate per head and token as in Gated DeltaNet).
 * β_t = β_max(h)·sigmoid(x), x ~ N(0,1): β_max is 1 on even heads (DeltaNet's β in [0,1]) and 2
 * on odd heads (β in [0,2]: the transition I − β k̂k̂ᵀ gets the eigenvalue 1 − β in [−1, 1], the
 * negative-eigenvalue variant of "Unlocking State-Tracking in Linear RNNs"), so every case with
 * H >= 2 exercises both ranges.
 * shape.chunk is an algorithm parameter (the chunk length of the chunked implementations),
 * not part of the definition. Always causal; H_kv = H (no GQA).
 *
 * Decode (shape.decode = 1): the inputs hold T = N + 1 tokens and the output is the one row of
 * token N; the state after the first N tokens is the implementation's to build in setup
 * (untimed), and the timed step reads that state, writes the next one and the output row.
 *
 * Every tensor is float32, row-major, 64-byte aligned and followed by at least 256 zero bytes.
 * For f16/bf16 cases q, k, v hold values already rounded to that dtype (β and the gates stay
 * float32); outputs are float32.
 *   KB_DELTA_Q     "q"         input   [B, H, T, d]
 *   KB_DELTA_K     "k"         input   [B, H, T, d]   (not normalised: implementations do it)
 *   KB_DELTA_V     "v"         input   [B, H, T, d]
 *   KB_DELTA_BETA  "beta"      input   [B, H, T]
 *   KB_DELTA_G     "log_gate"  input   [B, H, T]      log α ≤ 0 (all 0 when decay = 0)
 *   KB_DELTA_O     "o"         output  [B, H, N, d]   ([B, H, 1, d] in decode) */
#ifndef KB_DELTA_OPS_H
#define KB_DELTA_OPS_H

#include "kernels/kernel.h"

enum { KB_DELTA_Q, KB_DELTA_K, KB_DELTA_V, KB_DELTA_BETA, KB_DELTA_G, KB_DELTA_O };

extern const struct kb_operation kb_op_attention_delta;

#endif
