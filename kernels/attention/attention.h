/* attention.h - the attention family: shared shape arithmetic and the registered kernels. */
#ifndef KB_ATTENTION_H
#define KB_ATTENTION_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_reference;     /* float64 naive, two pass */
extern const struct kb_kernel kb_attention_flash_cpu;     /* tiled online softmax, float32 */

/* FLOPs of softmax attention: 4·B·H·N²·d non-causal, 2·B·H·N·(N+1)·d causal. */
double attention_flops(const struct kb_shape *s);
/* Compulsory bytes of a fused kernel: s·B·N·d·(2H + 2H_kv). */
double attention_min_bytes(const struct kb_shape *s, enum kb_dtype t);

/* The float64 reference for one query row (b, h, i) of Q,K,V laid out [B,H(_kv),N,d] in
 * float32: writes d outputs into out. Two passes with row-max subtraction. */
void attention_reference_row(const struct kb_shape *s, const float *q, const float *k,
                             const float *v, int b, int h, int i, double *out);

#endif
