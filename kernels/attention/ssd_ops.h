/* ssd_ops.h - the operation attention.ssd: Mamba-2's selective state-space layer in its
 * state-space-duality (SSD) form, the scalar-decay SSM of Dao & Gu, "Transformers are SSMs"
 * (2024). What an implementation (built in or a plugin) reads and writes; the definition,
 * references and counts live in ssd_op.c / ssd_common.c (ssd.h).
 *
 * Layout: kbench's attention convention [B, H, N, ·] (heads before tokens), not Mamba-2's
 * [B, N, H, P]: each head's sequence is contiguous, as for attention.linear and attention.gla.
 * B = batch, H = heads, N = seq_len, P = head_dim (Mamba-2's headdim), S = shape.state (d_state),
 * G = shape.kv_heads, the groups of B and C (Mamba-2's ngroups): head h reads group
 * h / (H / G). Unset, kv_heads follows heads as for every attention kernel (G = H: each head its
 * own B and C); Mamba-2's default ngroups = 1 is kv_heads = 1, which the shipped suites name.
 *
 * Definition, per head h with a_t = exp(dt_t · A_h) in (0, 1), state h_t of S×P:
 *     h_t = a_t · h_{t−1} + dt_t · B_t x_tᵀ,     y_t = C_tᵀ h_t          (h_{−1} = 0)
 * i.e. y_t = Σ_{s≤t} (C_t·B_s) · L_ts · dt_s · x_s with L_ts = exp(A_h Σ_{s<r≤t} dt_r), the
 * materialised "mixing matrix" M = L ∘ (C Bᵀ) (times diag(dt)) of the SSD paper. Mamba-2's skip
 * term D·x_t is left out (D = 0): it is an elementwise add no kernel finds hard.
 *
 * causal = 0 is the bidirectional form (Hydra / bidirectional Mamba as sums of two scans): the
 * causal scan plus the same scan over the reversed sequence (flip, scan, flip), minus the
 * diagonal term dt_t (C_t·B_t) x_t that both count:
 *     y_t = Σ_{s≤t} (C_t·B_s) L_ts dt_s x_s + Σ_{s≥t} (C_t·B_s) R_ts dt_s x_s − dt_t (C_t·B_t) x_t
 * with R_ts = exp(A_h Σ_{t≤r<s} dt_r). (Hydra shifts both scans off the diagonal and adds its
 * own D; this form keeps the parameters of one SSD layer and counts each token once.) Suites
 * name causal = 1 for Mamba-2's causal layer.
 *
 * Decode (shape.decode = 1, always causal): the inputs hold T = N + 1 tokens; the output is the
 * one row y_N. The state after the first N tokens is the implementation's to build in setup,
 * untimed; run takes the one step of token N against it.
 *
 * shape.chunk is an algorithm parameter (the chunked implementations' block length), part of
 * the counts as for attention.gla.
 *
 * Inputs: x, b, c are drawn N(0,1) (the input axis shapes x), dt = softplus(u), u ~ N(−3, 0.5²)
 * (dt ≈ 0.05, Mamba-2's dt range), A_h = −2^(−4 + 8h/H) (memories from ~2 to ~300 tokens at
 * dt = 0.05, across the heads). For f16/bf16 cases x, b and c hold values already rounded to
 * the dtype; dt and A stay float32 (Mamba-2 keeps them in float32). Every tensor is float32,
 * row-major, 64-byte aligned and followed by at least 256 zero bytes.
 *   KB_SSD_X   "x"   input   [B, H, T, P]
 *   KB_SSD_DT  "dt"  input   [B, H, T]        dt > 0
 *   KB_SSD_A   "A"   input   [H]              A < 0
 *   KB_SSD_B   "b"   input   [B, G, T, S]
 *   KB_SSD_C   "c"   input   [B, G, T, S]
 *   KB_SSD_Y   "y"   output  [B, H, N, P]     ([B, H, 1, P] in decode)
 */
#ifndef KB_SSD_OPS_H
#define KB_SSD_OPS_H

#include "kernels/kernel.h"

enum { KB_SSD_X, KB_SSD_DT, KB_SSD_A, KB_SSD_B, KB_SSD_C, KB_SSD_Y };

extern const struct kb_operation kb_op_attention_ssd;

#endif
