/* gemm_ref.c - see gemm_ref.h. */
#include "kernels/gemm/gemm_ref.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"

void gemm_ref_row(const float *a, const float *w, int n, int k, int i, double *out)
{
    const float *ar = a + (size_t)i * k;
    for (int j = 0; j < n; j++) {
        const float *wr = w + (size_t)j * k;
        double s = 0;
        for (int p = 0; p < k; p++)
            s += (double)ar[p] * wr[p];
        out[j] = s;
    }
}

int gemm_check_shape(const char *what, const struct kb_shape *s, int int32_acc, char *err, size_t errlen)
{
    const int v[3] = { s->m, s->n, s->k };
    static const char *const key[3] = { "m", "n", "k" };
    for (int i = 0; i < 3; i++)
        if (v[i] < 1) {
            snprintf(err, errlen, "%s: %s = %d, must be at least 1", what, key[i], v[i]);
            return KB_UNSUPPORTED;
        }
    /* int32 accumulation of int8·int8 products stays exact while K·127² < 2^31 */
    if (int32_acc && s->k > 131072) {
        snprintf(err, errlen, "%s: K = %d exceeds 131072, past which int32 accumulators may overflow", what, s->k);
        return KB_UNSUPPORTED;
    }
    /* the bound quant.gemm_int8 always had (on M·N·K, so a reference of that many products) */
    double elems = (double)s->m * s->n * s->k;
    if (elems > (double)(SIZE_MAX / 16) || elems > 1e13) {
        snprintf(err, errlen, "%s: %.3g elements do not fit this machine's address space", what, elems);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

long *gemm_sample_rows(const struct kb_shape *s, uint64_t seed, long *n)
{
    long *rows = malloc(GEMM_VERIFY_ROWS * sizeof *rows);
    *n = rows ? verify_sample_rows(s->m, GEMM_VERIFY_ROWS, seed, rows) : 0;
    return rows;
}

float gemm_absmax(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* ---- 16-bit floats (round to nearest even, as the GPU's __float2half_rn/__float2bfloat16_rn) */

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

uint16_t gemm_bf16_round(float x)
{
    uint32_t u = bits_of(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

uint16_t gemm_f16_round(float x)
{
    const uint32_t u = bits_of(x), ax = u & 0x7FFFFFFFu;
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    if (ax > 0x7F800000u)
        return sign | 0x7E00u;
    if (ax >= 0x477FF000u) /* 65520 and up (the midpoint above 65504) round to infinity */
        return sign | 0x7C00u;
    if (ax >= 0x38800000u) { /* normal: rebias the exponent, round the 13 dropped bits */
        uint32_t r = ax + 0xFFFu + ((ax >> 13) & 1u);
        return sign | (uint16_t)((r >> 13) - (112u << 10));
    }
    if (ax < 0x33000000u) /* below 2^-25 (half the smallest subnormal, which ties to 0) */
        return sign;
    /* subnormal: the value in units of 2^-24 is the 24-bit significand shifted right */
    const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
    const int shift = 126 - (int)(ax >> 23);
    uint32_t code = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (code & 1u)))
        code++;
    return sign | (uint16_t)code;
}

float gemm_f16_value(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0)
        return (sign ? -1.0f : 1.0f) * ldexpf((float)m, -24);
    if (e == 31)
        return float_of(sign | 0x7F800000u | (m << 13));
    return float_of(sign | ((e + 112u) << 23) | (m << 13));
}

float gemm_bf16_value(uint16_t h)
{
    return float_of((uint32_t)h << 16);
}

int gemm_verify_sampled_rows(const struct kb_shape *s, uint64_t seed, const void *y, enum kb_dtype y_type,
                             double y_scale, const float *a_f32, const float *w_f32, double tol,
                             struct kb_accuracy *acc)
{
    long nr;
    long *rows = gemm_sample_rows(s, seed, &nr);
    double *ref = malloc((size_t)s->n * sizeof *ref);
    if (!rows || !ref) {
        free(rows);
        free(ref);
        return KB_ERROR;
    }
    struct verify_acc va;
    verify_begin(&va);
    for (long r = 0; r < nr; r++) {
        const int i = (int)rows[r];
        gemm_ref_row(a_f32, w_f32, s->n, s->k, i, ref);
        for (int j = 0; j < s->n; j++) {
            size_t at = (size_t)i * s->n + j;
            double got = y_type == KB_DTYPE_I8 ? (double)((const int8_t *)y)[at] * y_scale
                                               : (double)((const float *)y)[at];
            verify_add(&va, got, ref[j]);
        }
    }
    verify_finish(&va, tol, acc);
    acc->rows_checked = nr;
    acc->rows_total = s->m;
    free(rows);
    free(ref);
    return KB_OK;
}
