/* ivit.h - I-ViT's integer-only row operators (ivit.c) for composite kernels such as the ViT
 * block (vit_block_int8.c), and their float32 counterparts. The quant.ivit_* implementations are
 * the same functions measured one at a time. ivit.c's header comment defines the arithmetic. */
#ifndef KB_QUANT_IVIT_H
#define KB_QUANT_IVIT_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/quant/quant_ops.h"

#define IVIT_LN_EPS KB_IVIT_LAYERNORM_EPS             /* the float LayerNorms' ε */
#define IVIT_LN_OUT_SCALE KB_IVIT_LAYERNORM_OUT_SCALE /* I-LayerNorm's output codes stand for (x − μ)/σ · 16 */
#define IVIT_LN_MAX_N 32768      /* I-LayerNorm's int32 sums hold up to this row length */

/* 1 when this CPU runs the AVX2 Shiftmax / ShiftGELU (bit-exact with the scalar ones). */
int ivit_simd_available(void);
/* Shiftmax of one row of n int8 scores whose scale S gives i0 = round(1/S): probabilities as
 * codes 0..127 at scale 1/127. tmp: n int32 of scratch for the AVX2 path (used when the CPU has
 * it); NULL runs the scalar emulation. */
void ivit_shiftmax_row(const int8_t *in, int n, int32_t i0, int8_t *out, int32_t *tmp);
/* ShiftGELU of n codes at scale S (i0 = round(1/S)); output at the same scale. simd = 0 runs the
 * scalar emulation. */
void ivit_shiftgelu_row(const int8_t *in, int n, int32_t i0, int8_t *out, int simd);
/* I-LayerNorm (no affine) of n ≤ IVIT_LN_MAX_N codes (any scale): out at IVIT_LN_OUT_SCALE. */
void ivit_layernorm_row(const int8_t *in, int n, int8_t *out);

/* float32 counterparts: softmax (expf), GELU 0.5·x·(1 + erf(x/√2)), LayerNorm (no affine, ε
 * IVIT_LN_EPS). In place is allowed. */
void ivit_softmax_row_f32(const float *x, int n, float *y);
void ivit_gelu_row_f32(const float *x, int n, float *y);
void ivit_layernorm_row_f32(const float *x, int n, float *y);

/* ---- the quant.ivit_* operations (ivit_op.c) and what their implementations share (ivit.c) -- */

enum ivit_op { IVIT_SHIFTMAX, IVIT_SHIFTGELU, IVIT_LAYERNORM };
/* Which of the three an operation (kb_op_quant_ivit_*) is. */
enum ivit_op ivit_op_of(const struct kb_operation *op);
/* What every implementation of the ops checks at setup (so @cpu and @cuda refuse alike): an i8
 * case's I_0 = round(1/S) of its input scale into *i0 (0 for f32), KB_OK, or KB_UNSUPPORTED with
 * a message for the shapes the integer arithmetic cannot take (I_0 outside [1, 2^15] for the
 * shift-exp, rows past IVIT_LN_MAX_N for I-LayerNorm). */
int ivit_prepare(const struct kb_case *c, int32_t *i0, char *err, size_t errlen);
/* The integer implementations' .check: every output code of c->io against the scalar emulation. */
int ivit_check(const struct kb_case *c, struct kb_accuracy *acc);

#endif
