/* int8_cpu_avx512.c - AVX-512 VNNI micro-kernels of attention.int8@cpu (int8.h): the int8
 * scores, P·V on 7-bit P codes (unsigned, so vpdpbusd takes them as they are), and the float
 * steps between (dequantizing scores, quantizing P).
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

VNNI static void dequant_avx512(const int32_t *acc, int n, float scale, float *s)
{
    const __m512 f = _mm512_set1_ps(scale);
    for (int j = 0; j < n; j += 16)
        _mm512_storeu_ps(s + j, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(acc + j))), f));
}

VNNI static void pquant_avx512(const float *p, int n, float inv, uint8_t *codes)
{
    const __m512 f = _mm512_set1_ps(inv);
    const __m512i top = _mm512_set1_epi32(127);
    for (int j = 0; j < n; j += 16) {
        __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(p + j), f)); /* nearest even */
        _mm_storeu_si128((__m128i *)(void *)(codes + j), _mm512_cvtepi32_epi8(_mm512_min_epi32(q, top)));
    }
}

/* P·V for 6 rows × 16·NZ channels: 6·NZ accumulators, NZ V vectors per group of 4 keys, each
 * row's 4 codes broadcast once. */
#define PV_TILE(NZ)                                                                                        \
    VNNI static void pv_6x##NZ(const uint8_t *p, int ldp, int groups, const int8_t *v, int dv, float *o,    \
                               int ldo, const float *alpha, const float *sp)                                \
    {                                                                                                      \
        __m512i acc[6][NZ];                                                                                \
        for (int i = 0; i < 6; i++)                                                                        \
            for (int z = 0; z < NZ; z++)                                                                   \
                acc[i][z] = _mm512_setzero_si512();                                                        \
        for (int g = 0; g < groups; g++) {                                                                 \
            __m512i w[NZ];                                                                                 \
            for (int z = 0; z < NZ; z++)                                                                   \
                w[z] = _mm512_loadu_si512((const void *)(v + ((size_t)g * dv + 16 * z) * 4));              \
            for (int i = 0; i < 6; i++) {                                                                  \
                int32_t b4;                                                                                \
                memcpy(&b4, p + (size_t)i * ldp + 4 * g, 4);                                               \
                const __m512i b = _mm512_set1_epi32(b4);                                                   \
                for (int z = 0; z < NZ; z++)                                                               \
                    acc[i][z] = _mm512_dpbusd_epi32(acc[i][z], b, w[z]);                                   \
            }                                                                                              \
        }                                                                                                  \
        for (int i = 0; i < 6; i++) {                                                                      \
            const __m512 a = _mm512_set1_ps(alpha[i]), f = _mm512_set1_ps(sp[i]);                         \
            for (int z = 0; z < NZ; z++) {                                                                 \
                float *orow = o + (size_t)i * ldo + 16 * z;                                                  \
                _mm512_storeu_ps(orow, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][z]), f,                     \
                                                     _mm512_mul_ps(_mm512_loadu_ps(orow), a)));              \
            }                                                                                              \
        }                                                                                                  \
    }
PV_TILE(4)
PV_TILE(1)

VNNI static void pv_vnni(const uint8_t *p, int ldp, int rows, int groups, const int8_t *v, int dv, float *o, int ldo,
                         const float *alpha, const float *sp)
{
    for (int r = 0; r < rows; r += 6) {
        int c0 = 0;
        for (; c0 + 64 <= dv; c0 += 64)
            pv_6x4(p + (size_t)r * ldp, ldp, groups, v + (size_t)c0 * 4, dv, o + (size_t)r * ldo + c0, ldo, alpha + r, sp + r);
        for (; c0 < dv; c0 += 16)
            pv_6x1(p + (size_t)r * ldp, ldp, groups, v + (size_t)c0 * 4, dv, o + (size_t)r * ldo + c0, ldo, alpha + r, sp + r);
    }
}

const struct int8_isa int8_isa_avx512vnni = {
    .name = "avx512vnni", .scores = scores_vnni, .dequant = dequant_avx512, .pquant = pquant_avx512, .pv = pv_vnni,
};

#else
typedef int int8_cpu_avx512_unused;
#endif
