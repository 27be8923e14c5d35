/* sparse_ops.h - the attention operations that see only part of the keys: attention.window
 * (causal sliding window) and attention.block_sparse (MoBA-style mixture of block attention).
 * What an implementation of either (built in or a plugin) reads and writes; definitions,
 * references and counts live in the operations (window_op.c, block_sparse_op.c).
 *
 * Tensors are row-major, 64-byte aligned and followed by at least 256 zero bytes. Q, K, V and
 * O are float32; for f16/bf16 cases the inputs hold values already rounded to that dtype (an
 * implementation converts them exactly). B = batch, H = heads, H_kv = kv_heads (query head h
 * reads KV head h / (H / H_kv)), N = seq_len, d = head_dim. Attention is softmax(q·kᵀ/√d)
 * over the keys a query sees.
 */
#ifndef KB_SPARSE_OPS_H
#define KB_SPARSE_OPS_H

#include "kernels/kernel.h"

/* attention.window: query i sees keys max(0, i − W + 1) .. i (W = shape.window).
 *   KB_WIN_Q  "q"  input   [B, H,    N, d]
 *   KB_WIN_K  "k"  input   [B, H_kv, N, d]
 *   KB_WIN_V  "v"  input   [B, H_kv, N, d]
 *   KB_WIN_O  "o"  output  [B, H,    N, d] */
enum { KB_WIN_Q, KB_WIN_K, KB_WIN_V, KB_WIN_O };

/* attention.block_sparse, causal: tokens fall in blocks of b = shape.block (the last may be
 * short), nb = ceil(N / b) per head. Query block qb attends to its own block (causally) and to
 * the min(topk, qb) past blocks kb < qb (topk = shape.topk_blocks) whose mean key scores
 * highest against the block's mean query: mean_q(qb)·mean_k(kb) in float64, each mean summed
 * over tokens in ascending order then divided by the block's token count, the dot product
 * summed over channels in ascending order; ties go to the lower block. The choice is part of
 * the result: an implementation writes it, ascending, into "kept_blocks" (entries past
 * min(topk, qb) are not read) and verification compares it exactly.
 *   KB_BSA_Q     "q"            input   [B, H,    N, d]      float32
 *   KB_BSA_K     "k"            input   [B, H_kv, N, d]      float32
 *   KB_BSA_V     "v"            input   [B, H_kv, N, d]      float32
 *   KB_BSA_O     "o"            output  [B, H,    N, d]      float32
 *   KB_BSA_KEPT  "kept_blocks"  output  [B, H, nb, topk]     int32 */
enum { KB_BSA_Q, KB_BSA_K, KB_BSA_V, KB_BSA_O, KB_BSA_KEPT };

extern const struct kb_operation kb_op_attention_window;
extern const struct kb_operation kb_op_attention_block_sparse;

#endif
