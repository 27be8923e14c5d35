/* qkv_operands.h - the Q, K, V operands the operations of linear_ops.h and sparse_ops.h share:
 * drawn in place exactly as attention_inputs_new draws them (same sub-seeds, distributions,
 * outlier rule), so a case's bytes are those the kernels generated for themselves before the
 * operations owned the inputs, and rounded to f16/bf16 values for 16-bit cases (the operation's
 * decision, the same for every implementation: the reference then measures only a kernel's own
 * error, as the CUDA kernels arranged before by rounding on the GPU). Private to the family. */
#ifndef KB_QKV_OPERANDS_H
#define KB_QKV_OPERANDS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/attention/attention.h"
#include "kernels/kernel.h"

/* Every tensor is followed by this many zero bytes (ATTENTION_INPUT_PAD floats). */
#define QKV_PAD_BYTES (ATTENTION_INPUT_PAD * sizeof(float))

/* Appends "q" [B,H,tokens,d], "k" and "v" [B,H_kv,tokens,d] float32 (kv_heads filled) to an
 * empty io as tensors 0, 1, 2, filled from seed (the bytes attention_inputs_new draws with
 * seq_len = tokens) and rounded to t's values when t is f16 or bf16. KB_OK or KB_ERROR with a message. */
int qkv_operands_add(struct kb_operands *io, const struct kb_shape *s, int tokens, enum kb_dtype t, uint64_t seed,
                     char *err, size_t errlen);
/* Appends a float32 output [B, H, rows, d] called name; its index or -1 (message in err). */
int qkv_operands_output(struct kb_operands *io, const char *name, const struct kb_shape *s, int rows, char *err,
                        size_t errlen);
/* Q, K, V of io as the family's attention_inputs (pointers into io, not owned: never free). */
struct attention_inputs qkv_operands_view(const struct kb_operands *io);
/* x[0..n) rounded to the nearest f16 (ties to even, overflow to infinity, subnormals kept) or
 * bf16 value, as the GPU's __float2half_rn / __float2bfloat16_rn; other dtypes: unchanged. */
void qkv_round_to(float *x, size_t n, enum kb_dtype t);
/* The bytes of Q, K, V and an output of `rows` rows (what qkv_operands_add/_output allocate). */
double qkv_operands_bytes(const struct kb_shape *s, int tokens, int rows);

#endif
