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

static void mul_scalar(float *dst, const float *a, const float *b, int n)
{
    for (int j = 0; j < n; j++)
        dst[j] = a[j] * b[j];
}

static void scale_scalar(float *dst, const float *a, float f, int n)
{
    for (int j = 0; j < n; j++)
        dst[j] = a[j] * f;
}

static void transpose_scalar(float *dst, int ldd, const float *src, int lds, int rows, int cols)
{
    for (int i = 0; i < cols; i++)
        for (int k = 0; k < rows; k++)
            dst[(size_t)i * ldd + k] = src[(size_t)k * lds + i];
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

/* 64 columns p0 .. p0+63 of the state, x and the accumulators in named registers (arrays
 * indexed in a loop GCC does not unroll end up on the stack: 3x slower). */
#define SSD_ROW4(LOAD, STORE, VX, ACC, OFF, CE, EXCL)                                                       \
    do {                                                                                                   \
        __m512 old_ = LOAD(row + (OFF));                                                                   \
        __m512 upd_ = _mm512_fmadd_ps(va, old_, _mm512_mul_ps(bi, VX));                                    \
        ACC = _mm512_fmadd_ps(CE, (EXCL) ? old_ : upd_, ACC);                                              \
        STORE(row + (OFF), upd_);                                                                          \
    } while (0)

AVX512 static void cols64_avx512(int S, int P, __m512 va, float a, float w, int exclusive, const float *x,
                                 const float *b, const float *c, float *h, float *y)
{
    const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16), x2 = _mm512_loadu_ps(x + 32),
                 x3 = _mm512_loadu_ps(x + 48);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    if (exclusive) {
        for (int i = 0; i < S; i++) {
            float *row = h + (size_t)i * P;
            const __m512 bi = _mm512_set1_ps(w * b[i]), ce = _mm512_set1_ps(c[i] * a);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x0, a0, 0, ce, 1);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x1, a1, 16, ce, 1);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x2, a2, 32, ce, 1);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x3, a3, 48, ce, 1);
        }
    } else {
        for (int i = 0; i < S; i++) {
            float *row = h + (size_t)i * P;
            const __m512 bi = _mm512_set1_ps(w * b[i]), ce = _mm512_set1_ps(c[i]);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x0, a0, 0, ce, 0);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x1, a1, 16, ce, 0);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x2, a2, 32, ce, 0);
            SSD_ROW4(_mm512_loadu_ps, _mm512_storeu_ps, x3, a3, 48, ce, 0);
        }
    }
    _mm512_storeu_ps(y, a0);
    _mm512_storeu_ps(y + 16, a1);
    _mm512_storeu_ps(y + 32, a2);
    _mm512_storeu_ps(y + 48, a3);
}

AVX512 static void step_avx512(int S, int P, float a, float w, int exclusive, const float *x, const float *b,
                               const float *c, float *h, float *y)
{
    const __m512 va = _mm512_set1_ps(a);
    int p0 = 0;
    for (; p0 + 64 <= P; p0 += 64)
        cols64_avx512(S, P, va, a, w, exclusive, x + p0, b, c, h + p0, y + p0);
    for (; p0 < P; p0 += 64) { /* the last P % 64 columns, lanes masked */
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
            for (int v = 0; v < nv; v++) {
                __m512 old = _mm512_maskz_loadu_ps(m[v], row + 16 * v);
                __m512 upd = _mm512_fmadd_ps(va, old, _mm512_mul_ps(bi, vx[v]));
                acc[v] = _mm512_fmadd_ps(ci, exclusive ? old : upd, acc[v]);
                _mm512_mask_storeu_ps(row + 16 * v, m[v], upd);
            }
        }
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(y + p0 + 16 * v, m[v], acc[v]);
    }
}

AVX512 static void mul_avx512(float *dst, const float *a, const float *b, int n)
{
    for (int j = 0; j < n; j += 16) {
        const __mmask16 m = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(dst + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j)));
    }
}

AVX512 static void scale_avx512(float *dst, const float *a, float f, int n)
{
    const __m512 vf = _mm512_set1_ps(f);
    for (int j = 0; j < n; j += 16) {
        const __mmask16 m = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(dst + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + j), vf));
    }
}

AVX2 static void mul_avx2(float *dst, const float *a, const float *b, int n)
{
    int j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(dst + j, _mm256_mul_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j)));
    for (; j < n; j++)
        dst[j] = a[j] * b[j];
}

AVX2 static void scale_avx2(float *dst, const float *a, float f, int n)
{
    const __m256 vf = _mm256_set1_ps(f);
    int j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(dst + j, _mm256_mul_ps(_mm256_loadu_ps(a + j), vf));
    for (; j < n; j++)
        dst[j] = a[j] * f;
}

/* 8×8 blocks in registers (unpack, shuffle, 128-bit permute), the edges scalar. */
AVX2 static void transpose_avx2(float *dst, int ldd, const float *src, int lds, int rows, int cols)
{
    const int r8 = rows / 8 * 8, c8 = cols / 8 * 8;
    for (int k0 = 0; k0 < r8; k0 += 8)
        for (int i0 = 0; i0 < c8; i0 += 8) {
            __m256 r[8], t[8];
            for (int q = 0; q < 8; q++)
                r[q] = _mm256_loadu_ps(src + (size_t)(k0 + q) * lds + i0);
            for (int q = 0; q < 8; q += 2) {
                t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
                t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
            }
            r[0] = _mm256_shuffle_ps(t[0], t[2], _MM_SHUFFLE(1, 0, 1, 0));
            r[1] = _mm256_shuffle_ps(t[0], t[2], _MM_SHUFFLE(3, 2, 3, 2));
            r[2] = _mm256_shuffle_ps(t[1], t[3], _MM_SHUFFLE(1, 0, 1, 0));
            r[3] = _mm256_shuffle_ps(t[1], t[3], _MM_SHUFFLE(3, 2, 3, 2));
            r[4] = _mm256_shuffle_ps(t[4], t[6], _MM_SHUFFLE(1, 0, 1, 0));
            r[5] = _mm256_shuffle_ps(t[4], t[6], _MM_SHUFFLE(3, 2, 3, 2));
            r[6] = _mm256_shuffle_ps(t[5], t[7], _MM_SHUFFLE(1, 0, 1, 0));
            r[7] = _mm256_shuffle_ps(t[5], t[7], _MM_SHUFFLE(3, 2, 3, 2));
            for (int q = 0; q < 4; q++) {
                _mm256_storeu_ps(dst + (size_t)(i0 + q) * ldd + k0, _mm256_permute2f128_ps(r[q], r[q + 4], 0x20));
                _mm256_storeu_ps(dst + (size_t)(i0 + q + 4) * ldd + k0, _mm256_permute2f128_ps(r[q], r[q + 4], 0x31));
            }
        }
    for (int i = 0; i < cols; i++) /* the edges */
        for (int k = i < c8 ? r8 : 0; k < rows; k++)
            dst[(size_t)i * ldd + k] = src[(size_t)k * lds + i];
}

#define SSD_ROW4_AVX2(VX, ACC, OFF, CE, EXCL)                                                              \
    do {                                                                                                   \
        __m256 old_ = _mm256_loadu_ps(row + (OFF));                                                        \
        __m256 upd_ = _mm256_fmadd_ps(va, old_, _mm256_mul_ps(bi, VX));                                    \
        ACC = _mm256_fmadd_ps(CE, (EXCL) ? old_ : upd_, ACC);                                              \
        _mm256_storeu_ps(row + (OFF), upd_);                                                               \
    } while (0)

/* 32 columns in named registers, as cols64_avx512. */
AVX2 static void cols32_avx2(int S, int P, __m256 va, float a, float w, int exclusive, const float *x,
                             const float *b, const float *c, float *h, float *y)
{
    const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8), x2 = _mm256_loadu_ps(x + 16),
                 x3 = _mm256_loadu_ps(x + 24);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    if (exclusive) {
        for (int i = 0; i < S; i++) {
            float *row = h + (size_t)i * P;
            const __m256 bi = _mm256_set1_ps(w * b[i]), ce = _mm256_set1_ps(c[i] * a);
            SSD_ROW4_AVX2(x0, a0, 0, ce, 1);
            SSD_ROW4_AVX2(x1, a1, 8, ce, 1);
            SSD_ROW4_AVX2(x2, a2, 16, ce, 1);
            SSD_ROW4_AVX2(x3, a3, 24, ce, 1);
        }
    } else {
        for (int i = 0; i < S; i++) {
            float *row = h + (size_t)i * P;
            const __m256 bi = _mm256_set1_ps(w * b[i]), ce = _mm256_set1_ps(c[i]);
            SSD_ROW4_AVX2(x0, a0, 0, ce, 0);
            SSD_ROW4_AVX2(x1, a1, 8, ce, 0);
            SSD_ROW4_AVX2(x2, a2, 16, ce, 0);
            SSD_ROW4_AVX2(x3, a3, 24, ce, 0);
        }
    }
    _mm256_storeu_ps(y, a0);
    _mm256_storeu_ps(y + 8, a1);
    _mm256_storeu_ps(y + 16, a2);
    _mm256_storeu_ps(y + 24, a3);
}

AVX2 static void step_avx2(int S, int P, float a, float w, int exclusive, const float *x, const float *b,
                           const float *c, float *h, float *y)
{
    const int P8 = P / 8 * 8;
    const __m256 va = _mm256_set1_ps(a);
    int first = 0;
    for (; first + 32 <= P8; first += 32)
        cols32_avx2(S, P, va, a, w, exclusive, x + first, b, c, h + first, y + first);
    for (int p0 = first; p0 < P8; p0 += 32) { /* fewer than 32 columns left: 1-3 vectors */
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

const struct ssd_step_isa ssd_step_scalar = { "scalar", step_scalar, mul_scalar, scale_scalar, transpose_scalar };
#if defined(__x86_64__)
const struct ssd_step_isa ssd_step_avx2 = { "avx2", step_avx2, mul_avx2, scale_avx2, transpose_avx2 };
/* the AVX-512 path transposes in AVX2's 8×8 blocks (every AVX-512 CPU has AVX2) */
const struct ssd_step_isa ssd_step_avx512 = { "avx512", step_avx512, mul_avx512, scale_avx512, transpose_avx2 };
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
