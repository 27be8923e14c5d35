/* int8_cpu_avx2.c - the AVX2 and AVX-VNNI (256-bit vpdpbusd) micro-kernels of
 * attention.int8@cpu (see int8.h): scores, P·V on 7-bit P codes, dequantize / quantize P.
 *
 * AVX2 scores:
 *
 * vpmaddubsw multiplies unsigned by signed bytes and adds pairs into saturating int16, so the
 * signs are moved first: |q| (unsigned) times k with q's sign applied (vpsignb). Codes lie in
 * [−127, 127], so a pair sums to at most 2·127·127 = 32258 < 32767: no saturation, and the
 * result is the exact integer dot product. vpmaddwd by ones widens the pairs to int32.
 * Tile: 6 query rows × 8 keys (half a 16-key panel: one 32-byte load is 8 keys × 4 channels). */
#include "kernels/attention/int8.h"
#include "kernels/dpbusd.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i dot4(__m256i acc, int32_t q4, __m256i k, __m256i ones)
{
    __m256i q = _mm256_set1_epi32(q4);
    __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(k, q));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
}

AVX2 static void scores_avx2(const int8_t *q, int dq, int rows, const int8_t *kpan, int npan, const int32_t *ksum,
                             int32_t *acc, int ldacc)
{
    (void)ksum;
    const int d4 = dq / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int pn = 0; pn < npan; pn++)
        for (int half = 0; half < 2; half++) {
            const int8_t *kp = kpan + (size_t)pn * d4 * 64 + half * 32;
            for (int r = 0; r < rows; r += 6) {
                const int8_t *q0 = q + (size_t)r * dq;
                __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
                for (int p = 0; p < d4; p++) {
                    __m256i k = _mm256_loadu_si256((const __m256i *)(const void *)(kp + (size_t)p * 64));
                    int32_t a[6];
                    for (int i = 0; i < 6; i++)
                        memcpy(&a[i], q0 + (size_t)i * dq + 4 * p, 4);
                    c0 = dot4(c0, a[0], k, ones);
                    c1 = dot4(c1, a[1], k, ones);
                    c2 = dot4(c2, a[2], k, ones);
                    c3 = dot4(c3, a[3], k, ones);
                    c4 = dot4(c4, a[4], k, ones);
                    c5 = dot4(c5, a[5], k, ones);
                }
                int32_t *o = acc + (size_t)r * ldacc + pn * INT8_KP + half * 8;
                _mm256_storeu_si256((__m256i *)(void *)(o + 0 * (size_t)ldacc), c0);
                _mm256_storeu_si256((__m256i *)(void *)(o + 1 * (size_t)ldacc), c1);
                _mm256_storeu_si256((__m256i *)(void *)(o + 2 * (size_t)ldacc), c2);
                _mm256_storeu_si256((__m256i *)(void *)(o + 3 * (size_t)ldacc), c3);
                _mm256_storeu_si256((__m256i *)(void *)(o + 4 * (size_t)ldacc), c4);
                _mm256_storeu_si256((__m256i *)(void *)(o + 5 * (size_t)ldacc), c5);
            }
        }
}

AVX2 static void dequant_avx2(const int32_t *acc, int n, float scale, float *s)
{
    const __m256 f = _mm256_set1_ps(scale);
    for (int j = 0; j < n; j += 8)
        _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(const void *)(acc + j))), f));
}

AVX2 static void pquant_avx2(const float *p, int n, float inv, uint8_t *codes)
{
    const __m256 f = _mm256_set1_ps(inv);
    const __m256i top = _mm256_set1_epi32(127);
    for (int j = 0; j < n; j += 8) {
        __m256i q = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p + j), f)), top);
        __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)); /* in order */
        _mm_storel_epi64((__m128i *)(void *)(codes + j), _mm_packus_epi16(w, w));
    }
}

/* P·V, 6 rows × 16 channels (two 8-channel × 4-key vectors of V per group of 4 keys). DOT is
 * one group's products added into an int32 accumulator: vpmaddubsw + vpmaddwd on AVX2 (P codes
 * ≤ 127 and |v| ≤ 127: a pair is at most 2·127·127 < 2^15, no saturation), vpdpbusd on AVX-VNNI.
 * Written out so the twelve accumulators live in registers. */
#define PV_ROW2(i, x0, x1)                                                                                \
    do {                                                                                                  \
        int32_t b4;                                                                                       \
        memcpy(&b4, p + (size_t)(r + (i)) * ldp + 4 * (size_t)g, 4);                                      \
        const __m256i b = _mm256_set1_epi32(b4);                                                          \
        x0 = DOT(x0, b, w0);                                                                              \
        x1 = DOT(x1, b, w1);                                                                              \
    } while (0)
#define PV_OUT2(i, z, x)                                                                                  \
    do {                                                                                                  \
        float *orow = o + (size_t)(r + (i)) * ldo + c0 + 8 * (z);                                         \
        _mm256_storeu_ps(orow, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(orow), _mm256_set1_ps(alpha[r + (i)])), \
                                             _mm256_mul_ps(_mm256_cvtepi32_ps(x), _mm256_set1_ps(sp[r + (i)])))); \
    } while (0)
#define PV_AVX(NAME, ATTR)                                                                                \
    ATTR static void NAME(const uint8_t *p, int ldp, int rows, int groups, const int8_t *v, int dv, float *o, \
                          int ldo, const float *alpha, const float *sp)                                   \
    {                                                                                                     \
        const __m256i ones = _mm256_set1_epi16(1);                                                        \
        (void)ones;                                                                                       \
        for (int r = 0; r < rows; r += 6)                                                                 \
            for (int c0 = 0; c0 < dv; c0 += 16) {                                                         \
                __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00; \
                __m256i a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;                 \
                for (int g = 0; g < groups; g++) {                                                        \
                    const int8_t *vg = v + ((size_t)g * dv + c0) * 4;                                     \
                    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)vg);             \
                    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(const void *)(vg + 32));      \
                    PV_ROW2(0, a00, a01);                                                                 \
                    PV_ROW2(1, a10, a11);                                                                 \
                    PV_ROW2(2, a20, a21);                                                                 \
                    PV_ROW2(3, a30, a31);                                                                 \
                    PV_ROW2(4, a40, a41);                                                                 \
                    PV_ROW2(5, a50, a51);                                                                 \
                }                                                                                         \
                PV_OUT2(0, 0, a00); PV_OUT2(0, 1, a01); PV_OUT2(1, 0, a10); PV_OUT2(1, 1, a11);           \
                PV_OUT2(2, 0, a20); PV_OUT2(2, 1, a21); PV_OUT2(3, 0, a30); PV_OUT2(3, 1, a31);           \
                PV_OUT2(4, 0, a40); PV_OUT2(4, 1, a41); PV_OUT2(5, 0, a50); PV_OUT2(5, 1, a51);           \
            }                                                                                             \
    }

#define DOT(acc, b, w) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((b), (w)), ones))
PV_AVX(pv_avx2, AVX2)
#undef DOT

const struct int8_isa int8_isa_avx2 = {
    .name = "avx2", .scores = scores_avx2, .dequant = dequant_avx2, .pquant = pquant_avx2, .pv = pv_avx2,
};

/* ---- AVX-VNNI: the 256-bit vpdpbusd (Alder Lake and later, Zen 5) ----------------------------- */

#define AVXVNNI __attribute__((target("avx2,avxvnni")))

#define DOT(acc, b, w) kb_dpbusd256((acc), (b), (w))
PV_AVX(pv_avxvnni, AVXVNNI)
#undef DOT

/* Scores as the AVX-512 path computes them (q + 128 from setup, 128·Σk taken back out), on a
 * 16-key panel as two 32-byte halves: 6 rows × 16 keys, twelve accumulators in registers. */
#define SV_ROW(i, x0, x1)                                                                                 \
    do {                                                                                                  \
        int32_t a4;                                                                                       \
        memcpy(&a4, q0 + (size_t)(i) * dq + 4 * (size_t)p, 4);                                            \
        const __m256i b = _mm256_set1_epi32(a4);                                                          \
        x0 = kb_dpbusd256(x0, b, k0);                                                                       \
        x1 = kb_dpbusd256(x1, b, k1);                                                                       \
    } while (0)
#define SV_OUT(i, x0, x1)                                                                                 \
    do {                                                                                                  \
        _mm256_storeu_si256((__m256i *)(void *)(o + (size_t)(i) * ldacc), _mm256_sub_epi32(x0, bias0));   \
        _mm256_storeu_si256((__m256i *)(void *)(o + (size_t)(i) * ldacc + 8), _mm256_sub_epi32(x1, bias1)); \
    } while (0)

AVXVNNI static void scores_avxvnni(const int8_t *q, int dq, int rows, const int8_t *kpan, int npan,
                                   const int32_t *ksum, int32_t *acc, int ldacc)
{
    const int d4 = dq / 4;
    for (int pn = 0; pn < npan; pn++) {
        const int8_t *kp = kpan + (size_t)pn * d4 * 64;
        const int32_t *ks = ksum + pn * INT8_KP;
        const __m256i bias0 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(const void *)ks), 7);
        const __m256i bias1 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(ks + 8)), 7);
        for (int r = 0; r < rows; r += 6) {
            const int8_t *q0 = q + (size_t)r * dq;
            __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
            __m256i a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
            for (int p = 0; p < d4; p++) {
                const __m256i k0 = _mm256_loadu_si256((const __m256i *)(const void *)(kp + (size_t)p * 64));
                const __m256i k1 = _mm256_loadu_si256((const __m256i *)(const void *)(kp + (size_t)p * 64 + 32));
                SV_ROW(0, a00, a01);
                SV_ROW(1, a10, a11);
                SV_ROW(2, a20, a21);
                SV_ROW(3, a30, a31);
                SV_ROW(4, a40, a41);
                SV_ROW(5, a50, a51);
            }
            int32_t *o = acc + (size_t)r * ldacc + pn * INT8_KP;
            SV_OUT(0, a00, a01);
            SV_OUT(1, a10, a11);
            SV_OUT(2, a20, a21);
            SV_OUT(3, a30, a31);
            SV_OUT(4, a40, a41);
            SV_OUT(5, a50, a51);
        }
    }
}

const struct int8_isa int8_isa_avxvnni = {
    .name = "avxvnni", .q_xor = 0x80, .scores = scores_avxvnni, .dequant = dequant_avx2, .pquant = pquant_avx2, .pv = pv_avxvnni,
};

#else
typedef int int8_cpu_avx2_unused;
#endif
