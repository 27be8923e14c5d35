/* ssd_step.c - one token of the SSD recurrence on a float32 state (ssd_step.h), in AVX-512,
 * AVX2+FMA and scalar versions chosen at run time through kernels/cpu_features.h. The state
 * (S×P floats, 16 KiB at S = P = 64) stays in L1 across tokens, so the step is bound by its
 * three vector operations per 16 (8) state elements; the P columns are walked in blocks of
 * four vectors whose x and y stay in registers over the S rows. */
#include "kernels/attention/ssd_step.h"

#include <stddef.h>
#include <string.h>

#include "kernels/cpu_features.h"

static void step_scalar(int S, int P, float a, float w, int exclusive, const float *x, const float *b,
                        const float *c, float *h, float *y)
{
    for (int p = 0; p < P; p++)
        y[p] = 0;
    for (int i = 0; i < S; i++) {
        float *row = h + (size_t)i * P;
        const float bi = w * b[i], ci = c[i], ce = exclusive ? c[i] * a : c[i];
        for (int p = 0; p < P; p++) {
            float old = row[p], upd = a * old + bi * x[p];
            y[p] += exclusive ? ce * old : ci * upd;
            row[p] = upd;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

AVX512 static void step_avx512(int S, int P, float a, float w, int exclusive, const float *x, const float *b,
                               const float *c, float *h, float *y)
{
    const __m512 va = _mm512_set1_ps(a);
    for (int p0 = 0; p0 < P; p0 += 64) {
        __mmask16 m[4];
        __m512 vx[4], acc[4];
        for (int v = 0; v < 4; v++) {
            int left = P - p0 - 16 * v;
            m[v] = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
            vx[v] = _mm512_maskz_loadu_ps(m[v], x + p0 + 16 * v);
            acc[v] = _mm512_setzero_ps();
        }
        const int nv = P - p0 >= 64 ? 4 : (P - p0 + 15) / 16;
        for (int i = 0; i < S; i++) {
            float *row = h + (size_t)i * P + p0;
            const __m512 bi = _mm512_set1_ps(w * b[i]);
            const __m512 ci = _mm512_set1_ps(exclusive ? c[i] * a : c[i]);
            if (nv == 4 && m[3] == 0xFFFF) {
#pragma GCC unroll 4
                for (int v = 0; v < 4; v++) {
                    __m512 old = _mm512_loadu_ps(row + 16 * v);
                    __m512 upd = _mm512_fmadd_ps(va, old, _mm512_mul_ps(bi, vx[v]));
                    acc[v] = _mm512_fmadd_ps(ci, exclusive ? old : upd, acc[v]);
                    _mm512_storeu_ps(row + 16 * v, upd);
                }
            } else {
                for (int v = 0; v < nv; v++) {
                    __m512 old = _mm512_maskz_loadu_ps(m[v], row + 16 * v);
                    __m512 upd = _mm512_fmadd_ps(va, old, _mm512_mul_ps(bi, vx[v]));
                    acc[v] = _mm512_fmadd_ps(ci, exclusive ? old : upd, acc[v]);
                    _mm512_mask_storeu_ps(row + 16 * v, m[v], upd);
                }
            }
        }
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(y + p0 + 16 * v, m[v], acc[v]);
    }
}

AVX2 static void step_avx2(int S, int P, float a, float w, int exclusive, const float *x, const float *b,
                           const float *c, float *h, float *y)
{
    const int P8 = P / 8 * 8;
    const __m256 va = _mm256_set1_ps(a);
    for (int p0 = 0; p0 < P8; p0 += 32) {
        const int nv = P8 - p0 >= 32 ? 4 : (P8 - p0) / 8;
        __m256 vx[4], acc[4];
        for (int v = 0; v < nv; v++) {
            vx[v] = _mm256_loadu_ps(x + p0 + 8 * v);
            acc[v] = _mm256_setzero_ps();
        }
        for (int i = 0; i < S; i++) {
            float *row = h + (size_t)i * P + p0;
            const __m256 bi = _mm256_set1_ps(w * b[i]);
            const __m256 ci = _mm256_set1_ps(exclusive ? c[i] * a : c[i]);
            for (int v = 0; v < nv; v++) {
                __m256 old = _mm256_loadu_ps(row + 8 * v);
                __m256 upd = _mm256_fmadd_ps(va, old, _mm256_mul_ps(bi, vx[v]));
                acc[v] = _mm256_fmadd_ps(ci, exclusive ? old : upd, acc[v]);
                _mm256_storeu_ps(row + 8 * v, upd);
            }
        }
        for (int v = 0; v < nv; v++)
            _mm256_storeu_ps(y + p0 + 8 * v, acc[v]);
    }
    if (P8 < P) { /* the last P % 8 columns */
        for (int p = P8; p < P; p++)
            y[p] = 0;
        for (int i = 0; i < S; i++) {
            float *row = h + (size_t)i * P;
            const float bi = w * b[i], ce = exclusive ? c[i] * a : c[i];
            for (int p = P8; p < P; p++) {
                float old = row[p], upd = a * old + bi * x[p];
                y[p] += ce * (exclusive ? old : upd);
                row[p] = upd;
            }
        }
    }
}
#endif

const struct ssd_step_isa ssd_step_scalar = { "scalar", step_scalar };
#if defined(__x86_64__)
const struct ssd_step_isa ssd_step_avx2 = { "avx2", step_avx2 };
const struct ssd_step_isa ssd_step_avx512 = { "avx512", step_avx512 };
#endif

const struct ssd_step_isa *ssd_step_by_name(const char *name)
{
    if (!name)
        return NULL;
#if defined(__x86_64__)
    if (strcmp(name, "avx512") == 0 && kb_cpu_has(KB_CPU_AVX512F))
        return &ssd_step_avx512;
    if (strcmp(name, "avx2") == 0 && kb_cpu_has(KB_CPU_AVX2 | KB_CPU_FMA))
        return &ssd_step_avx2;
#endif
    if (strcmp(name, "scalar") == 0)
        return &ssd_step_scalar;
    return NULL;
}

const struct ssd_step_isa *ssd_step_best(void)
{
    const struct ssd_step_isa *s = ssd_step_by_name("avx512");
    if (!s)
        s = ssd_step_by_name("avx2");
    return s ? s : &ssd_step_scalar;
}
