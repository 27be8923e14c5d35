/* hybrid_ops.h - the operation attention.hybrid: a stack of L attention layers mixing
 * linear-attention and softmax-attention layers at a ratio, as the hybrid models do (Jamba,
 * MiniMax-01, Gated DeltaNet-H, Qwen3-Next: a few softmax layers among many linear ones), so the
 * cost of a ratio can be measured: prefill time against N, decode time per token against the
 * context length, and the memory the stack keeps (softmax KV caches plus linear states).
 *
 * Layers. shape.layers = L (layers axis), shape.ratio (ratio axis, enum kb_hybrid_ratio) =
 * r linear layers per softmax layer, written linear:softmax:
 *     softmax  every layer softmax            1:1  r = 1
 *     3:1      r = 3                          6:1  r = 6
 *     linear   every layer linear
 * With r, layer l (0-based) is softmax exactly when (l + 1) is a multiple of r + 1: r linear
 * layers, then one softmax layer, repeated (the papers' "every (r+1)-th layer is attention").
 * When L is not a multiple of r + 1 the last layers are linear (L = 12 at 6:1: layer 6 alone is
 * softmax). (hybrid.h computes it for one layer.)
 *
 * Each layer is attention only: no projections, MLP or norms, so what is measured is the
 * attention cost of the ratio alone. Layers do not feed each other: layer l reads its own Q, K,
 * V, drawn from the case seed and l (as a stack of layers that each received their projections),
 * so each layer's output is verified on its own against its float64 reference. A softmax layer
 * is attention.softmax (causal; softmax_ops.h); a linear-family layer (shape.linear_kind) is
 * attention.linear (causal, elu1 feature map, no decay: the normalised linear attention of
 * linear_ops.h; the default) or attention.gla (gated linear attention, linear_ops.h; prefill
 * only: it has no decode step). A kernel's layers are the registered implementations of those
 * operations (attention.hybrid@cpu: attention.flash@cpu, attention.linear@cpu, attention.gla@cpu),
 * run one after the other.
 *
 * Decode (shape.decode = 1): one new token per layer against an N-token context: each layer
 * holds T = N + 1 tokens (the N cached and the new one) and outputs token N's row. A softmax
 * layer attends from it to all N + 1 keys (its KV cache plus the token's own key: attention.softmax
 * in decode over N + 1 keys); a linear layer takes one step of its state (attention.linear in
 * decode, the state of the first N tokens built in setup). So a decode case's output is the last
 * row of the prefill of N + 1 tokens.
 *
 * Operands (float32, 64-byte aligned), T = N (prefill) or N + 1 (decode), R = B·H·T query rows
 * and R_kv = B·H_kv·T key rows of one layer. Each layer's block of x rows is followed by zero
 * rows up to rows(x) = the smallest r ≥ x + ⌈64/d⌉ with r·d a multiple of 16 (at least 256
 * bytes of zeros, the next layer on a 64-byte boundary), so a layer's block is laid out as the
 * single-layer operations lay out
 * theirs, padding included:
 *   KB_HYB_Q  "q"  input   [L, rows(R),    d]   layer l's Q [B,H,T,d] first
 *   KB_HYB_K  "k"  input   [L, rows(R_kv), d]
 *   KB_HYB_V  "v"  input   [L, rows(R_kv), d]
 *   KB_HYB_O  "o"  output  [L, rows(B·H·M), d]  M = N (prefill) or 1 (decode):
 *                                                     layer l's O [B,H,M,d] first
 *   KB_HYB_G  "log_gates"  input  [L, rows(R), d]  linear_kind gla only: each layer's log α
 *                                                     [B,H,N,d], drawn as attention.gla draws them
 *                                                     (used by the gla layers)
 * f16/bf16 cases hold values rounded to the dtype, as the single-layer operations do.
 *
 * Verification: every layer against its operation's float64 reference (its sampled rows, its
 * tolerance); the case's error is the worst layer's. FLOPs and bytes: the sum over layers of the
 * layer operations' counts. Memory: what the stack keeps for an N-token
 * context: 2·B·H_kv·N·d·s per softmax layer (K and V at the dtype's size s) plus
 * 4·B·H·(d² + d) per linear layer (its float32 state S and normaliser z; 4·B·H·d² for a gla
 * layer, which has no normaliser); implementations
 * report it after each case as the counters hybrid.cache_bytes, hybrid.kv_cache_bytes and
 * hybrid.state_bytes, with hybrid.softmax_layers.
 */
#ifndef KB_HYBRID_OPS_H
#define KB_HYBRID_OPS_H

#include "kernels/kernel.h"

enum { KB_HYB_Q, KB_HYB_K, KB_HYB_V, KB_HYB_O, KB_HYB_G };

extern const struct kb_operation kb_op_attention_hybrid;

#endif
