/* int8_cpu_avx512.c - AVX-512 VNNI int8 score micro-kernel of attention.int8@cpu (int8.h).
 *
 * vpdpbusd adds four unsigned×signed byte products into each int32 lane, without saturation.
 * Q is signed, so its bytes are biased to unsigned (q + 128, an XOR with 0x80) and the bias
 * removed afterwards: Σ (q + 128)·k = Σ q·k + 128·Σ k, with Σ k the key's code sum (ksum).
 * All exact in int32 (|Σ| ≤ 255·127·dq). Tile: 6 query rows × 16 keys (one panel: one 64-byte
 * load is 16 keys × 4 channels). */
#include "kernels/attention/int8.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512vnni")))

VNNI static inline __m512i bias_dot4(__m512i acc, const int8_t *q4, __m512i k)
{
    int32_t a;
    memcpy(&a, q4, 4);
    return _mm512_dpbusd_epi32(acc, _mm512_set1_epi32(a ^ (int32_t)0x80808080u), k);
}

VNNI static void scores_vnni(const int8_t *q, int dq, int rows, const int8_t *kpan, int npan, const int32_t *ksum,
                             int32_t *acc, int ldacc)
{
    const int d4 = dq / 4;
    for (int pn = 0; pn < npan; pn++) {
        const int8_t *kp = kpan + (size_t)pn * d4 * 64;
        const __m512i bias = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(ksum + pn * INT8_KP)), 7);
        for (int r = 0; r < rows; r += 6) {
            const int8_t *q0 = q + (size_t)r * dq;
            __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
            for (int p = 0; p < d4; p++) {
                __m512i k = _mm512_loadu_si512((const void *)(kp + (size_t)p * 64));
                c0 = bias_dot4(c0, q0 + 0 * (size_t)dq + 4 * p, k);
                c1 = bias_dot4(c1, q0 + 1 * (size_t)dq + 4 * p, k);
                c2 = bias_dot4(c2, q0 + 2 * (size_t)dq + 4 * p, k);
                c3 = bias_dot4(c3, q0 + 3 * (size_t)dq + 4 * p, k);
                c4 = bias_dot4(c4, q0 + 4 * (size_t)dq + 4 * p, k);
                c5 = bias_dot4(c5, q0 + 5 * (size_t)dq + 4 * p, k);
            }
            int32_t *o = acc + (size_t)r * ldacc + pn * INT8_KP;
            _mm512_storeu_si512((void *)(o + 0 * (size_t)ldacc), _mm512_sub_epi32(c0, bias));
            _mm512_storeu_si512((void *)(o + 1 * (size_t)ldacc), _mm512_sub_epi32(c1, bias));
            _mm512_storeu_si512((void *)(o + 2 * (size_t)ldacc), _mm512_sub_epi32(c2, bias));
            _mm512_storeu_si512((void *)(o + 3 * (size_t)ldacc), _mm512_sub_epi32(c3, bias));
            _mm512_storeu_si512((void *)(o + 4 * (size_t)ldacc), _mm512_sub_epi32(c4, bias));
            _mm512_storeu_si512((void *)(o + 5 * (size_t)ldacc), _mm512_sub_epi32(c5, bias));
        }
    }
}

const struct int8_isa int8_isa_avx512vnni = { .name = "avx512vnni", .scores = scores_vnni };

#else
typedef int int8_cpu_avx512_unused;
#endif
