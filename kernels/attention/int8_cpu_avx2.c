/* int8_cpu_avx2.c - AVX2 int8 score micro-kernel of attention.int8@cpu (see int8.h).
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

const struct int8_isa int8_isa_avx2 = { .name = "avx2", .scores = scores_avx2 };

#else
typedef int int8_cpu_avx2_unused;
#endif
