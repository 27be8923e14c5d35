/* fp4.h - the block-scaled 4-bit float formats of quant.fp4_quantize and quant.fp4_gemm, bit-exact
 * in plain C (the scalar definition every CPU and CUDA implementation must match):
 *
 *   E2M1   1 sign, 2 exponent (bias 1), 1 mantissa bit: the 8 magnitudes 0, 0.5, 1, 1.5, 2, 3,
 *          4, 6 (code 1 is the one subnormal, 0.5); no infinities, no NaN. Code bit 3 is the sign.
 *   MXFP4  (OCP Microscaling Formats (MX) v1.0): blocks of 32 consecutive elements of a row
 *          share an E8M0 scale X = 2^(code-127) (code 0xFF NaN). X = 2^(floor(log2(amax)) - 2),
 *          2 being emax of E2M1, the shared exponent clamped to [-127, 127].
 *   NVFP4  (NVIDIA): blocks of 16 share an E4M3 scale s_b, and the tensor a float32 s_t:
 *          s_t = amax(tensor) / (6·448), s_b = e4m3(amax(block) / 6 / s_t), so the tensor's
 *          largest block scale is 448 and its largest element maps to 6.
 *
 * Rounding: an element x of a block becomes v = x · 2^-e (MX, exact) or v = x / (s_b·s_t) (NV,
 * float32 operations rounded to nearest), then the E2M1 code nearest v, ties to the even code
 * (0.25 -> 0, 0.75 -> 1, 1.25 -> 1, 1.75 -> 2, 2.5 -> 2, 3.5 -> 4, 5 -> 4), |v| > 5 to ±6
 * (saturation: no code is larger). The sign is kept (-0.1 gives the code of -0).
 * Dequantized value: E2M1(code) · X (MX), (E2M1(code) · s_b) · s_t in float32 (NV).
 *
 * Documented choices where the specifications leave room:
 *   - an all-zero block: MX scale code 0 (2^-127, the clamped exponent of amax 0), NV s_b = 0;
 *     its codes are 0 and it dequantizes to zeros. An NV block whose s_b rounds to 0 (tiny
 *     against the tensor's amax) likewise: codes 0, zeros.
 *   - a block holding an infinity or a NaN: scale NaN (MX 0xFF, NV 0x7F), codes 0, dequantized
 *     NaN (the MX rule "a NaN scale makes the whole block NaN"). NV's s_t is taken over the
 *     finite elements (1 when there are none, or when they are all 0).
 *   - the last block of a row may be short (K not a multiple of the block): it is a block of
 *     the remaining elements.
 */
#ifndef KB_QUANT_FP4_H
#define KB_QUANT_FP4_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

/* Elements per block: 32 (mxfp4) or 16 (nvfp4). */
int fp4_block(enum kb_dtype t);
/* Blocks of a row of k elements: ceil(k / block). */
static inline int fp4_blocks(int k, enum kb_dtype t)
{
    return (k + fp4_block(t) - 1) / fp4_block(t);
}
/* Bytes of a row of k packed codes: ceil(k / 2). */
static inline size_t fp4_row_bytes(int k)
{
    return ((size_t)k + 1) / 2;
}

/* The E2M1 value of each of the 16 codes (code 8 is -0). */
extern const float fp4_e2m1_value[16];
/* The E2M1 code of v: nearest, ties to even, saturating at ±6; NaN gives 0. */
static inline uint8_t fp4_e2m1_encode(float v)
{
    /* each comparison with a midpoint of the grid adds one step; > or >= sends a tie to the
     * even code. Exact: the midpoints are float32 values and comparisons do not round. */
    float a = fabsf(v);
    unsigned code = (a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) + (a >= 3.5f) + (a > 5.0f);
    return (uint8_t)(code | (signbit(v) && !isnan(v) ? 8u : 0u));
}
/* Element j of a packed row: byte j/2, low nibble when j is even. */
static inline unsigned fp4_get(const uint8_t *row, int j)
{
    return (row[j / 2] >> ((j & 1) * 4)) & 0x0F;
}
static inline void fp4_put(uint8_t *row, int j, unsigned code)
{
    uint8_t *p = row + j / 2;
    *p = (j & 1) ? (uint8_t)((*p & 0x0F) | (code << 4)) : (uint8_t)((*p & 0xF0) | (code & 0x0F));
}

/* E8M0: 2^(code-127) (code 0 is 2^-127, a float32 subnormal), NaN for 0xFF. */
float fp4_e8m0_value(uint8_t code);
/* The MX scale code of a block whose largest magnitude is amax (NaN or inf: 0xFF). */
uint8_t fp4_mx_scale_code(float amax);
/* NVFP4's per-tensor scale from the largest finite magnitude of the tensor (1 when 0). */
float fp4_nv_tensor_scale(float amax);
/* NVFP4's E4M3 block scale code of a block of largest magnitude amax (NaN or inf: 0x7F). */
uint8_t fp4_nv_scale_code(float amax, float s_t);
/* The value a block scale code stands for (E8M0 for mxfp4, E4M3 for nvfp4). */
float fp4_scale_value(uint8_t code, enum kb_dtype t);

/* Largest |x| of the finite elements of x[0..n) (NV's per-tensor amax). */
float fp4_finite_absmax(const float *x, size_t n);
/* Quantizes one block x[0..n) of a row into codes j0..j0+n-1 of row (packed), returns its scale
 * code and writes the dequantized values to deq[0..n) (deq may be NULL). s_t: NV's tensor scale
 * (ignored for MX). */
uint8_t fp4_quantize_block(const float *x, int n, enum kb_dtype t, float s_t, uint8_t *row, int j0, float *deq);
/* The whole scalar emulation of quant.fp4_quantize: x [m,k] into codes [m, fp4_row_bytes(k)],
 * scales [m, fp4_blocks(k)], *tensor_scale (1 for MX) and deq [m,k] (may be NULL). */
void fp4_quantize_emulate(const float *x, int m, int k, enum kb_dtype t, uint8_t *codes, uint8_t *scales,
                          float *tensor_scale, float *deq);
/* The dequantized value of element j of a row, without the NV tensor scale: E2M1 · block scale
 * (exact in float32 for both formats). */
static inline float fp4_value_unscaled(const uint8_t *row, const uint8_t *row_scales, int j, enum kb_dtype t)
{
    return fp4_e2m1_value[fp4_get(row, j)] * fp4_scale_value(row_scales[j / fp4_block(t)], t);
}

/* The accuracy of a quant.fp4_quantize case's dequantized matrix against float64 x, as kernel
 * counters (kb_kernel.stats): fp4.rmse_rel (RMSE / RMS of x), fp4.max_err_rel (max |error| /
 * max |x|), fp4.sqnr_db (10·log10(Σx² / Σerror²)). Returns 3 (0 when max < 3). */
int fp4_quantize_stats(const struct kb_case *c, struct kb_counter *out, int max);

extern const struct kb_kernel kb_quant_fp4_quantize_cpu;
extern const struct kb_kernel kb_quant_fp4_gemm_cpu;

#endif
