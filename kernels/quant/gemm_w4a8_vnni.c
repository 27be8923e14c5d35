/* gemm_w4a8_vnni.c - the AVX-512 VNNI path of quant.gemm_w4a8@cpu at dtype i8 (gemm_w4a8.h).
 *
 * The weights are static, so setup packs them once (untimed) into panels of 32 columns that
 * stay 4-bit: per panel, per group, per step of 8 k, two 64-byte vectors (columns 0-15 and
 * 16-31) whose byte 4·j + t holds, for column j, u = w + 8 of k = 8s + t in its low nibble and
 * of k = 8s + 4 + t in its high nibble (padding: u = 0, which multiplies to nothing). The
 * micro-kernel unpacks a vector in registers with one AND and one shift + AND into the two
 * 16-column × 4-k byte vectors vpdpbusd wants, with the nibble as its unsigned operand and the
 * activation (broadcast, 4 bytes) as its signed one:
 *   Σ u·a = Σ (w + 8)·a = P_g + 8·Σ_g a,
 * so P_g = dpbusd − 8·a_gsum (exact in int32; the run computes a_gsum per row and group, as
 * the AVX2 path does). Each group ends in registers with the emulation's float steps, in its
 * order: term = (float)P_g · s_w, acc = acc + term (separate multiply and add, no FMA).
 * Tile: 8 rows × 32 columns (sixteen zmm accumulators), as gemm_int8_avx512.c; tasks of
 * GEMM_MC rows × one panel, panel-major, so a thread's panel stays in L2. */
#include "kernels/quant/gemm_w4a8.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include "kernels/dpbusd.h"
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

VNNI static inline __m512i bcast4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

VNNI void w4a8_vnni_group(const int8_t *const a[W4A8_VNNI_MR], int steps, const uint8_t *wp,
                          const int32_t asum[W4A8_VNNI_MR], const float *sw, float *facc)
{
    const __m512i nib = _mm512_set1_epi8(0x0F);
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
    __m512i c70 = c00, c71 = c00;
#define ROW(r, x0, x1)                                                                         \
    do {                                                                                       \
        const __m512i lo = bcast4(a[r] + 8 * (size_t)s), hi = bcast4(a[r] + 8 * (size_t)s + 4); \
        x0 = kb_dpbusd512(x0, w0, lo);                                                  \
        x1 = kb_dpbusd512(x1, w1, lo);                                                  \
        x0 = kb_dpbusd512(x0, v0, hi);                                                  \
        x1 = kb_dpbusd512(x1, v1, hi);                                                  \
    } while (0)
    for (int s = 0; s < steps; s++) {
        const __m512i p0 = _mm512_loadu_si512((const void *)(wp + (size_t)s * 128));
        const __m512i p1 = _mm512_loadu_si512((const void *)(wp + (size_t)s * 128 + 64));
        const __m512i w0 = _mm512_and_si512(p0, nib), w1 = _mm512_and_si512(p1, nib);
        const __m512i v0 = _mm512_and_si512(_mm512_srli_epi16(p0, 4), nib);
        const __m512i v1 = _mm512_and_si512(_mm512_srli_epi16(p1, 4), nib);
        ROW(0, c00, c01);
        ROW(1, c10, c11);
        ROW(2, c20, c21);
        ROW(3, c30, c31);
        ROW(4, c40, c41);
        ROW(5, c50, c51);
        ROW(6, c60, c61);
        ROW(7, c70, c71);
    }
#undef ROW
    const __m512 s0 = _mm512_loadu_ps(sw), s1 = _mm512_loadu_ps(sw + 16);
#define FINISH(r, x0, x1)                                                                      \
    do {                                                                                       \
        const __m512i off = _mm512_set1_epi32(8 * asum[r]);                                    \
        float *f = facc + (r) * W4A8_VNNI_NR;                                                  \
        __m512 t0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(x0, off)), s0);          \
        __m512 t1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(x1, off)), s1);          \
        _mm512_storeu_ps(f, _mm512_add_ps(_mm512_loadu_ps(f), t0));                            \
        _mm512_storeu_ps(f + 16, _mm512_add_ps(_mm512_loadu_ps(f + 16), t1));                  \
    } while (0)
    FINISH(0, c00, c01);
    FINISH(1, c10, c11);
    FINISH(2, c20, c21);
    FINISH(3, c30, c31);
    FINISH(4, c40, c41);
    FINISH(5, c50, c51);
    FINISH(6, c60, c61);
    FINISH(7, c70, c71);
#undef FINISH
}

#else
typedef int gemm_w4a8_vnni_unused;
#endif
