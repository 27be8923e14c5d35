/* int8_cpu_avx512.c - AVX-512 VNNI micro-kernels of attention.int8@cpu (int8.h): the int8
 * scores, P·V on 7-bit P codes (unsigned, so vpdpbusd takes them as they are), and the float
 * steps between (dequantizing scores, quantizing P).
 *
 * vpdpbusd adds four unsigned×signed byte products into each int32 lane, without saturation.
 * Q is signed, so its bytes are biased to unsigned (q + 128, an XOR with 0x80, done in setup) and the bias
 * removed afterwards: Σ (q + 128)·k = Σ q·k + 128·Σ k, with Σ k the key's code sum (ksum).
 * All exact in int32 (|Σ| ≤ 255·127·dq). Tile: 6 query rows × 64 keys (four panels; one 64-byte
 * load is 16 keys × 4 channels), so each broadcast feeds four vpdpbusd. */
#include "kernels/attention/int8.h"
#include "kernels/dpbusd.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512vnni")))


/* Row i's four (already biased) codes at step p, broadcast: one load-port vpbroadcastd. */
VNNI static inline __m512i qbias4(const int8_t *q, int dq, int i, int p)
{
    int32_t a;
    memcpy(&a, q + (size_t)i * dq + 4 * (size_t)p, 4);
    return _mm512_set1_epi32(a);
}

#define SC_ROW4(i, x0, x1, x2, x3)                                                                         \
    do {                                                                                                   \
        const __m512i b = qbias4(q0, dq, i, p);                                                            \
        x0 = kb_dpbusd512(x0, b, k0);                                                               \
        x1 = kb_dpbusd512(x1, b, k1);                                                               \
        x2 = kb_dpbusd512(x2, b, k2);                                                               \
        x3 = kb_dpbusd512(x3, b, k3);                                                               \
    } while (0)
#define SC_OUT(i, z, x)                                                                                    \
    _mm512_storeu_si512((void *)(o + (size_t)(i) * ldacc + 16 * (z)), _mm512_sub_epi32(x, bias##z))

/* 3 rows × 4 panels (64 keys): 12 accumulators, each broadcast feeds four vpdpbusd. (6 rows,
 * 24 accumulators, left GCC spilling them around the loop.) */
VNNI static void scores_3x4(const int8_t *q0, int dq, const int8_t *kp, const int32_t *ksum, int32_t *o, int ldacc)
{
    const int d4 = dq / 4;
    const size_t ps = (size_t)d4 * 64; /* bytes per panel */
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    for (int p = 0; p < d4; p++) {
        const int8_t *k = kp + (size_t)p * 64;
        const __m512i k0 = _mm512_loadu_si512((const void *)k), k1 = _mm512_loadu_si512((const void *)(k + ps));
        const __m512i k2 = _mm512_loadu_si512((const void *)(k + 2 * ps)), k3 = _mm512_loadu_si512((const void *)(k + 3 * ps));
        SC_ROW4(0, a00, a01, a02, a03);
        SC_ROW4(1, a10, a11, a12, a13);
        SC_ROW4(2, a20, a21, a22, a23);
    }
    const __m512i bias0 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)ksum), 7);
    const __m512i bias1 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(ksum + 16)), 7);
    const __m512i bias2 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(ksum + 32)), 7);
    const __m512i bias3 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(ksum + 48)), 7);
    SC_OUT(0, 0, a00); SC_OUT(0, 1, a01); SC_OUT(0, 2, a02); SC_OUT(0, 3, a03);
    SC_OUT(1, 0, a10); SC_OUT(1, 1, a11); SC_OUT(1, 2, a12); SC_OUT(1, 3, a13);
    SC_OUT(2, 0, a20); SC_OUT(2, 1, a21); SC_OUT(2, 2, a22); SC_OUT(2, 3, a23);
}

/* 6 rows × 1 panel (the last panels of a block that are not a group of four). */
VNNI static void scores_6x1(const int8_t *q0, int dq, const int8_t *kp, const int32_t *ksum, int32_t *o, int ldacc)
{
    const int d4 = dq / 4;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    for (int p = 0; p < d4; p++) {
        const __m512i k = _mm512_loadu_si512((const void *)(kp + (size_t)p * 64));
        a0 = kb_dpbusd512(a0, qbias4(q0, dq, 0, p), k);
        a1 = kb_dpbusd512(a1, qbias4(q0, dq, 1, p), k);
        a2 = kb_dpbusd512(a2, qbias4(q0, dq, 2, p), k);
        a3 = kb_dpbusd512(a3, qbias4(q0, dq, 3, p), k);
        a4 = kb_dpbusd512(a4, qbias4(q0, dq, 4, p), k);
        a5 = kb_dpbusd512(a5, qbias4(q0, dq, 5, p), k);
    }
    const __m512i bias0 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)ksum), 7);
    SC_OUT(0, 0, a0); SC_OUT(1, 0, a1); SC_OUT(2, 0, a2); SC_OUT(3, 0, a3); SC_OUT(4, 0, a4); SC_OUT(5, 0, a5);
}

VNNI static void scores_vnni(const int8_t *q, int dq, int rows, const int8_t *kpan, int npan, const int32_t *ksum,
                             int32_t *acc, int ldacc)
{
    const size_t ps = (size_t)dq / 4 * 64;
    for (int r = 0; r < rows; r += 6) {
        const int8_t *q0 = q + (size_t)r * dq;
        int32_t *o = acc + (size_t)r * ldacc;
        int pn = 0;
        for (; pn + 4 <= npan; pn += 4) {
            scores_3x4(q0, dq, kpan + pn * ps, ksum + pn * INT8_KP, o + pn * INT8_KP, ldacc);
            scores_3x4(q0 + 3 * (size_t)dq, dq, kpan + pn * ps, ksum + pn * INT8_KP, o + 3 * (size_t)ldacc + pn * INT8_KP, ldacc);
        }
        for (; pn < npan; pn++)
            scores_6x1(q0, dq, kpan + pn * ps, ksum + pn * INT8_KP, o + pn * INT8_KP, ldacc);
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

/* P·V for 3 rows × 64 channels: 12 accumulators, 4 V vectors per group of 4 keys, each row's 4
 * codes broadcast once. Written out so the accumulators live in registers (6 rows, 24
 * accumulators, made GCC spill). */
#define PV_ROW4(i, x0, x1, x2, x3)                                                                         \
    do {                                                                                                   \
        const __m512i b = bcast4u(p + (size_t)(i) * ldp + 4 * (size_t)g);                                   \
        x0 = kb_dpbusd512(x0, b, w0);                                                               \
        x1 = kb_dpbusd512(x1, b, w1);                                                               \
        x2 = kb_dpbusd512(x2, b, w2);                                                               \
        x3 = kb_dpbusd512(x3, b, w3);                                                               \
    } while (0)
#define PV_OUT(i, z, x)                                                                                    \
    do {                                                                                                   \
        float *orow = o + (size_t)(i) * ldo + 16 * (z);                                                    \
        _mm512_storeu_ps(orow, _mm512_fmadd_ps(_mm512_cvtepi32_ps(x), _mm512_set1_ps(sp[i]),               \
                                               _mm512_mul_ps(_mm512_loadu_ps(orow), _mm512_set1_ps(alpha[i])))); \
    } while (0)

VNNI static inline __m512i bcast4u(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

VNNI static void pv_3x4(const uint8_t *p, int ldp, int groups, const int8_t *v, int dv, float *o, int ldo,
                        const float *alpha, const float *sp)
{
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    for (int g = 0; g < groups; g++) {
        const int8_t *vg = v + (size_t)g * dv * 4;
        const __m512i w0 = _mm512_loadu_si512((const void *)vg), w1 = _mm512_loadu_si512((const void *)(vg + 64));
        const __m512i w2 = _mm512_loadu_si512((const void *)(vg + 128)), w3 = _mm512_loadu_si512((const void *)(vg + 192));
        PV_ROW4(0, a00, a01, a02, a03);
        PV_ROW4(1, a10, a11, a12, a13);
        PV_ROW4(2, a20, a21, a22, a23);
    }
    PV_OUT(0, 0, a00); PV_OUT(0, 1, a01); PV_OUT(0, 2, a02); PV_OUT(0, 3, a03);
    PV_OUT(1, 0, a10); PV_OUT(1, 1, a11); PV_OUT(1, 2, a12); PV_OUT(1, 3, a13);
    PV_OUT(2, 0, a20); PV_OUT(2, 1, a21); PV_OUT(2, 2, a22); PV_OUT(2, 3, a23);
}

/* The same for 16 channels (d not a multiple of 64). */
VNNI static void pv_6x1(const uint8_t *p, int ldp, int groups, const int8_t *v, int dv, float *o, int ldo,
                        const float *alpha, const float *sp)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    for (int g = 0; g < groups; g++) {
        const __m512i w0 = _mm512_loadu_si512((const void *)(v + (size_t)g * dv * 4));
        a0 = kb_dpbusd512(a0, bcast4u(p + 0 * (size_t)ldp + 4 * (size_t)g), w0);
        a1 = kb_dpbusd512(a1, bcast4u(p + 1 * (size_t)ldp + 4 * (size_t)g), w0);
        a2 = kb_dpbusd512(a2, bcast4u(p + 2 * (size_t)ldp + 4 * (size_t)g), w0);
        a3 = kb_dpbusd512(a3, bcast4u(p + 3 * (size_t)ldp + 4 * (size_t)g), w0);
        a4 = kb_dpbusd512(a4, bcast4u(p + 4 * (size_t)ldp + 4 * (size_t)g), w0);
        a5 = kb_dpbusd512(a5, bcast4u(p + 5 * (size_t)ldp + 4 * (size_t)g), w0);
    }
    PV_OUT(0, 0, a0); PV_OUT(1, 0, a1); PV_OUT(2, 0, a2); PV_OUT(3, 0, a3); PV_OUT(4, 0, a4); PV_OUT(5, 0, a5);
}

VNNI static void pv_vnni(const uint8_t *p, int ldp, int rows, int groups, const int8_t *v, int dv, float *o, int ldo,
                         const float *alpha, const float *sp)
{
    for (int r = 0; r < rows; r += 6) {
        int c0 = 0;
        for (; c0 + 64 <= dv; c0 += 64)
            for (int h = 0; h < 6; h += 3)
                pv_3x4(p + (size_t)(r + h) * ldp, ldp, groups, v + (size_t)c0 * 4, dv, o + (size_t)(r + h) * ldo + c0, ldo,
                       alpha + r + h, sp + r + h);
        for (; c0 < dv; c0 += 16)
            pv_6x1(p + (size_t)r * ldp, ldp, groups, v + (size_t)c0 * 4, dv, o + (size_t)r * ldo + c0, ldo, alpha + r, sp + r);
    }
}

const struct int8_isa int8_isa_avx512vnni = {
    .name = "avx512vnni", .q_xor = 0x80, .scores = scores_vnni, .dequant = dequant_avx512, .pquant = pquant_avx512, .pv = pv_vnni,
};

#else
typedef int int8_cpu_avx512_unused;
#endif
