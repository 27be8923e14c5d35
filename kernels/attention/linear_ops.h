/* linear_ops.h - the linear-attention operations: attention.linear (feature-map linear
 * attention) and attention.gla (gated linear attention). What an implementation of either
 * (built in or a plugin) reads and writes; the definitions, references and counts live in the
 * operations (linear_op.c, gla_op.c).
 *
 * Every tensor is float32, row-major, 64-byte aligned and followed by at least 256 zero bytes
 * (vector code may read a short way past the end). For f16/bf16 cases the inputs hold values
 * already rounded to that dtype (an implementation converts them exactly); outputs are float32.
 * B = batch, H = heads, H_kv = kv_heads (query head h reads KV head h / (H / H_kv)),
 * N = seq_len, d = head_dim.
 *
 * attention.lightning (the Lightning Attention / RetNet / fla chunk_simple_gla form): always
 * causal, no feature map, no normaliser, the same per-head decay λ_h as attention.linear's
 * decay, scale = 1/√d:
 *     o_i = scale · Σ_{s≤i} λ_h^(i−s) (q_i·k_s) v_s,   i.e. S_t = λ_h S_{t−1} + k_tᵀ v_t, o_t = scale · q_t S_t
 * Decode as attention.linear's (N + 1 tokens in, token N's row out).
 *
 * attention.linear: feature map φ (shape.feature: elu1 = elu(x)+1, relu = max(x, 0)), per-head
 * decay λ_h = 1 − 2^(−5 − 8h/H) when shape.decay (causal order only), weights
 * w_is = λ_h^(i−s)·φ(q_i)·φ(k_s) over the keys s row i sees (all; s ≤ i when causal):
 *     o_i = Σ_s w_is v_s / Σ_s w_is        (0 where the sum of weights is 0)
 * shape.chunk is an algorithm parameter (chunked implementations' tile length; 0 = unset),
 * not part of the definition. Decode (shape.decode = 1): the inputs hold T = N + 1 tokens and
 * the output is the one row of token N (the state of the first N tokens is the
 * implementation's to build in setup).
 */
#ifndef KB_LINEAR_OPS_H
#define KB_LINEAR_OPS_H

#include "kernels/kernel.h"

/* attention.linear's operands (T = N, or N + 1 in decode):
 *   KB_LIN_Q  "q"  input   [B, H,    T, d]
 *   KB_LIN_K  "k"  input   [B, H_kv, T, d]
 *   KB_LIN_V  "v"  input   [B, H_kv, T, d]
 *   KB_LIN_O  "o"  output  [B, H,    N, d]   ([B, H, 1, d] in decode) */
enum { KB_LIN_Q, KB_LIN_K, KB_LIN_V, KB_LIN_O };

/* attention.gla, always causal, q scaled by 1/√d, per-channel gates α = exp(G):
 *     S_t = diag(α_t) S_{t−1} + k_tᵀ v_t,   o_t = (q_t/√d) S_t
 * G = log α = logsigmoid(x)/16, x ~ N(0,1) per case. shape.chunk (1..512) is part of its
 * counts (the catalogue credits the chunkwise form's in-chunk work).
 *   KB_GLA_Q  "q"          input   [B, H,    N, d]
 *   KB_GLA_K  "k"          input   [B, H_kv, N, d]
 *   KB_GLA_V  "v"          input   [B, H_kv, N, d]
 *   KB_GLA_G  "log_gates"  input   [B, H,    N, d]   log α (< 0)
 *   KB_GLA_O  "o"          output  [B, H,    N, d] */
enum { KB_GLA_Q, KB_GLA_K, KB_GLA_V, KB_GLA_G, KB_GLA_O };

/* attention.lightning's operands: those of attention.linear (KB_LIN_Q, KB_LIN_K, KB_LIN_V,
 * KB_LIN_O), the same layouts. */

extern const struct kb_operation kb_op_attention_linear;
extern const struct kb_operation kb_op_attention_lightning;
extern const struct kb_operation kb_op_attention_gla;

#endif
