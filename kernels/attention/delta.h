/* delta.h - what the implementations of attention.delta (delta_ops.h) share: the shape rule,
 * the counts, the float64 recurrence and the registered kernels. Private to the family. */
#ifndef KB_DELTA_H
#define KB_DELTA_H

#include <stddef.h>

#include "kernels/attention/delta_ops.h"
#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_delta_cpu_recurrent; /* token by token, threads over B·H */
extern const struct kb_kernel kb_attention_delta_cpu_chunked;   /* WY/UT chunks, SIMD GEMMs */

/* The longest chunk the chunked implementations take: inside a chunk the gated form divides
 * by the cumulative decay (exp(−Σ log α) ≤ exp(C·max|log α|)), which must stay in float range. */
#define DELTA_MAX_CHUNK 256

/* float32 cases are held to this relative L2 error; 16-bit ones to the dtype's default. */
#define DELTA_TOLERANCE_F32 1e-4

/* attention_check_shape, then kv_heads = heads, chunk 0 accepted (the recurrent forms leave it
 * unset) or 1..DELTA_MAX_CHUNK. KB_OK or KB_UNSUPPORTED with a message. */
int delta_check_shape(struct kb_shape *s, char *err, size_t errlen);
/* Tokens of the inputs: N, or N + 1 in decode. */
int delta_tokens(const struct kb_shape *s);
/* Useful FLOPs of the recurrence: per token S_{t−1}ᵀk (2d²), the rank-1 update (2d²), Sᵀq
 * (2d²), plus the gate's d² when decay = 1; decode counts one token. */
double delta_flops(const struct kb_shape *s);
/* q, k, v and o (and β, the gate) once; decode reads and writes the d×d float32 state. */
double delta_bytes(const struct kb_shape *s, enum kb_dtype t);

/* The float64 recurrence of one head (b, h) over `tokens` tokens of the operands in io
 * (q, k, v, β, gate as delta_ops.h): writes rows [first_row, tokens) of o (d doubles each) into
 * out. Returns 0, or -1 when out of memory. */
int delta_reference_head(const struct kb_operands *io, const struct kb_shape *s, int b, int h, int first_row,
                         double *out);

/* Make a set-up case of either CPU kernel use the named SIMD path of linear_isa.h ("scalar",
 * "avx2", "avx512"); 0, or -1 when this CPU cannot run it (tests compare paths). */
struct kb_case;
int delta_cpu_use_path(struct kb_case *c, const char *name);

#endif
