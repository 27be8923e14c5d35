/* varlen.h - what the implementations of the packed ragged-batch operations (varlen_ops.h)
 * share: the lengths of a shape, the work items of a packed batch, and the registered kernels.
 * Private to the family. */
#ifndef KB_VARLEN_H
#define KB_VARLEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_varlen_cpu;        /* attention.varlen@cpu.flash */
extern const struct kb_kernel kb_attention_linear_varlen_cpu; /* attention.linear_varlen@cpu */
extern const struct kb_kernel kb_attention_varlen_cuda;       /* attention.varlen@cuda.mma (CUDA builds) */
extern const struct kb_kernel kb_attention_linear_varlen_cuda; /* attention.linear_varlen@cuda.mma */

/* The fixed seed of the length generator (the lengths are a function of the shape). */
#define VARLEN_LENGTHS_SEED 0x7661726C656E0001ull

/* cu[0..batch] of the shape's mix (cu has batch + 1 ints); returns T = cu[batch], or -1 when T
 * does not fit an int (the message in err). */
int64_t varlen_cu_seqlens(const struct kb_shape *s, int32_t *cu, char *err, size_t errlen);
/* The sequence holding packed token t: the b with cu[b] <= t < cu[b + 1]. */
int varlen_sequence_of(const int32_t *cu, int batch, int64_t t);
/* The shape of sequence b alone, as the padded operations see it (batch 1, seq_len n_b). */
struct kb_shape varlen_sequence_shape(const struct kb_shape *s, int n);

/* A case's packed operands as the CPU kernels read them (pointers into the case, not owned). */
struct varlen_operands {
    const float *q, *k, *v; /* token-major: [T, H, d], [T, H_kv, d], [T, H_kv, d] */
    float *o;               /* [T, H, d] */
    const int32_t *cu;      /* [B + 1] cu_seqlens */
    int64_t total;          /* T = cu[B] */
};
struct varlen_operands varlen_operands_of(struct kb_case *c);

/* Copies n rows of d floats from src, ld floats apart, to dst, d floats apart (one head of a
 * token-major sequence into contiguous rows); varlen_rows_scatter is the way back. */
static inline void varlen_rows_gather(float *dst, const float *src, size_t ld, int n, int d)
{
    for (int j = 0; j < n; j++)
        memcpy(dst + (size_t)j * d, src + (size_t)j * ld, (size_t)d * sizeof(float));
}
static inline void varlen_rows_scatter(float *dst, size_t ld, const float *src, int n, int d)
{
    for (int j = 0; j < n; j++)
        memcpy(dst + (size_t)j * ld, src + (size_t)j * d, (size_t)d * sizeof(float));
}

#endif
