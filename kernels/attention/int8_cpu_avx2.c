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
 * ≤ 127 and |v| ≤ 127: a pair is at most 2·127·127 < 2^15, no saturation), vpdpbusd on AVX-VNNI. */
#define PV_AVX(NAME, ATTR, DOT)                                                                           \
    ATTR static void NAME(const uint8_t *p, int ldp, int rows, int groups, const int8_t *v, int dv, float *o, \
                          int ldo, const float *alpha, const float *sp)                                   \
    {                                                                                                     \
        const __m256i ones = _mm256_set1_epi16(1);                                                        \
        (void)ones;                                                                                       \
        for (int r = 0; r < rows; r += 6)                                                                 \
            for (int c0 = 0; c0 < dv; c0 += 16) {                                                         \
                __m256i acc[6][2];                                                                        \
                for (int i = 0; i < 6; i++)                                                               \
                    acc[i][0] = acc[i][1] = _mm256_setzero_si256();                                       \
                for (int g = 0; g < groups; g++) {                                                        \
                    const int8_t *vg = v + ((size_t)g * dv + c0) * 4;                                     \
                    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)vg);             \
                    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(const void *)(vg + 32));      \
                    for (int i = 0; i < 6; i++) {                                                         \
                        int32_t b4;                                                                       \
                        memcpy(&b4, p + (size_t)(r + i) * ldp + 4 * g, 4);                                \
                        const __m256i b = _mm256_set1_epi32(b4);                                          \
                        acc[i][0] = DOT(acc[i][0], b, w0);                                                \
                        acc[i][1] = DOT(acc[i][1], b, w1);                                                \
                    }                                                                                     \
                }                                                                                         \
                for (int i = 0; i < 6; i++) {                                                             \
                    const __m256 a = _mm256_set1_ps(alpha[r + i]), f = _mm256_set1_ps(sp[r + i]);         \
                    for (int z = 0; z < 2; z++) {                                                         \
                        float *orow = o + (size_t)(r + i) * ldo + c0 + 8 * z;                             \
                        _mm256_storeu_ps(orow, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(orow), a),     \
                                                             _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][z]), f))); \
                    }                                                                                     \
                }                                                                                         \
            }                                                                                             \
    }

#define DOT_MADDUBS(acc, b, w) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((b), (w)), ones))
PV_AVX(pv_avx2, AVX2, DOT_MADDUBS)

const struct int8_isa int8_isa_avx2 = {
    .name = "avx2", .scores = scores_avx2, .dequant = dequant_avx2, .pquant = pquant_avx2, .pv = pv_avx2,
};

/* ---- AVX-VNNI: the 256-bit vpdpbusd (Alder Lake and later, Zen 5) ----------------------------- */

#define AVXVNNI __attribute__((target("avx2,avxvnni")))
#define DOT_VNNI(acc, b, w) _mm256_dpbusd_avx_epi32((acc), (b), (w))
PV_AVX(pv_avxvnni, AVXVNNI, DOT_VNNI)

/* Scores as the AVX-512 path computes them (q biased to unsigned, 128·Σk taken back out), on
 * half a 16-key panel per 32-byte load: 6 rows × 8 keys. */
AVXVNNI static void scores_avxvnni(const int8_t *q, int dq, int rows, const int8_t *kpan, int npan,
                                   const int32_t *ksum, int32_t *acc, int ldacc)
{
    const int d4 = dq / 4;
    for (int pn = 0; pn < npan; pn++)
        for (int half = 0; half < 2; half++) {
            const int8_t *kp = kpan + (size_t)pn * d4 * 64 + half * 32;
            const __m256i bias = _mm256_slli_epi32(
                _mm256_loadu_si256((const __m256i *)(const void *)(ksum + pn * INT8_KP + half * 8)), 7);
            for (int r = 0; r < rows; r += 6) {
                const int8_t *q0 = q + (size_t)r * dq;
                __m256i c[6];
                for (int i = 0; i < 6; i++)
                    c[i] = _mm256_setzero_si256();
                for (int p = 0; p < d4; p++) {
                    const __m256i k = _mm256_loadu_si256((const __m256i *)(const void *)(kp + (size_t)p * 64));
                    for (int i = 0; i < 6; i++) {
                        int32_t a;
                        memcpy(&a, q0 + (size_t)i * dq + 4 * p, 4);
                        c[i] = _mm256_dpbusd_avx_epi32(c[i], _mm256_set1_epi32(a ^ (int32_t)0x80808080u), k);
                    }
                }
                int32_t *o = acc + (size_t)r * ldacc + pn * INT8_KP + half * 8;
                for (int i = 0; i < 6; i++)
                    _mm256_storeu_si256((__m256i *)(void *)(o + (size_t)i * ldacc), _mm256_sub_epi32(c[i], bias));
            }
        }
}

const struct int8_isa int8_isa_avxvnni = {
    .name = "avxvnni", .scores = scores_avxvnni, .dequant = dequant_avx2, .pquant = pquant_avx2, .pv = pv_avxvnni,
};

#else
typedef int int8_cpu_avx2_unused;
#endif
