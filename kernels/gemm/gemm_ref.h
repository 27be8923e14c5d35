/* gemm_ref.h - what the GEMM operations (gemm_op.c, gemm_w4a8_op.c) and the implementations'
 * own checks share: float64 rows of the reference, the shape check and the sampled rows. Not
 * part of the public header. */
#ifndef KB_GEMM_REF_H
#define KB_GEMM_REF_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

/* Rows of the output the row-sampled verifications (i8, W4A8) and the exact checks compare:
 * the same rows for both (verify_sample_rows with the case's seed). */
#define GEMM_VERIFY_ROWS 64
/* Output elements the element-sampled verifications (float dtypes, e4m3) compare. */
#define GEMM_VERIFY_POINTS 4096

/* float64 row i of A·Wᵀ (a [.,k], w [n,k] float32) into out[n]. */
void gemm_ref_row(const float *a, const float *w, int n, int k, int i, double *out);
/* m, n, k at least 1 and addressable; int32_acc: K small enough that int8·int8 sums over K
 * stay exact in int32 (K ≤ 131072). KB_OK or KB_UNSUPPORTED with "what: m = 0 ..." in err. */
int gemm_check_shape(const char *what, const struct kb_shape *s, int int32_acc, char *err, size_t errlen);
/* The rows verify compares (ascending), GEMM_VERIFY_ROWS at most; *n their count. NULL when
 * out of memory. free() it. */
long *gemm_sample_rows(const struct kb_shape *s, uint64_t seed, long *n);
/* The row-sampled verdict of the i8 and W4A8 operations: the output y [m,n] (int8 codes times
 * y_scale, or float32 with y_scale 1) on the gemm_sample_rows rows against float64 rows of
 * a_f32·w_f32ᵀ, within tol, into acc. KB_OK, or KB_ERROR when out of memory. */
int gemm_verify_sampled_rows(const struct kb_shape *s, uint64_t seed, const void *y, enum kb_dtype y_type,
                             double y_scale, const float *a_f32, const float *w_f32, double tol,
                             struct kb_accuracy *acc);
/* Largest |x[i]|, i < n. */
float gemm_absmax(const float *x, size_t n);

/* float32 to f16 / bf16 bits, rounding to nearest even (as the GPU's __float2half_rn and
 * __float2bfloat16_rn: f16 subnormals, overflow to infinity, NaN kept), and back (exact). */
uint16_t gemm_f16_round(float x);
uint16_t gemm_bf16_round(float x);
float gemm_f16_value(uint16_t h);
float gemm_bf16_value(uint16_t h);

#endif
