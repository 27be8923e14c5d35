/* varlen.h - what the implementations of the packed ragged-batch operations (varlen_ops.h)
 * share: the lengths of a shape, the work items of a packed batch, and the registered kernels.
 * Private to the family. */
#ifndef KB_VARLEN_H
#define KB_VARLEN_H

#include <stddef.h>
#include <stdint.h>

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

#endif
