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

/* ---- 256-bit: AVX-VNNI and AVX2 on the same panels -------------------------------------------
 * A 64-byte panel vector is two 32-byte halves of 8 columns each; a tile is 8 rows × 8 columns
 * (eight ymm accumulators), walked over the panel's four column blocks. AVX-VNNI: two
 * {vex} vpdpbusd per row and step. AVX2: vpmaddubsw of the low and the high k-half (each pair at
 * most 2·15·128 in magnitude), added in int16 (at most 7680), widened by vpmaddwd against ones:
 * five instructions per 64 products, where the INT8 GEMM's AVX2 tile spends three per 32. */
#define GROUP256(NAME, ATTR, DOT)                                                                         \
    ATTR void NAME(const int8_t *const a[W4A8_VNNI_MR], int steps, const uint8_t *wp,                     \
                   const int32_t asum[W4A8_VNNI_MR], const float *sw, float *facc)                        \
    {                                                                                                     \
        const __m256i nib = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);                          \
        (void)ones;                                                                                       \
        for (int cb = 0; cb < 4; cb++) {                                                                  \
            const uint8_t *w = wp + (cb / 2) * 64 + (cb % 2) * 32;                                        \
            __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0; \
            for (int s = 0; s < steps; s++) {                                                             \
                const __m256i p = _mm256_loadu_si256((const __m256i *)(const void *)(w + (size_t)s * 128)); \
                const __m256i lo = _mm256_and_si256(p, nib);                                              \
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(p, 4), nib);                       \
                c0 = DOT(c0, a[0] + 8 * (size_t)s);                                                       \
                c1 = DOT(c1, a[1] + 8 * (size_t)s);                                                       \
                c2 = DOT(c2, a[2] + 8 * (size_t)s);                                                       \
                c3 = DOT(c3, a[3] + 8 * (size_t)s);                                                       \
                c4 = DOT(c4, a[4] + 8 * (size_t)s);                                                       \
                c5 = DOT(c5, a[5] + 8 * (size_t)s);                                                       \
                c6 = DOT(c6, a[6] + 8 * (size_t)s);                                                       \
                c7 = DOT(c7, a[7] + 8 * (size_t)s);                                                       \
            }                                                                                             \
            const __m256 f = _mm256_loadu_ps(sw + 8 * cb);                                                \
            const __m256i cs[8] = { c0, c1, c2, c3, c4, c5, c6, c7 };                                     \
            for (int r = 0; r < 8; r++) {                                                                 \
                float *o = facc + r * W4A8_VNNI_NR + 8 * cb;                                              \
                const __m256i pg = _mm256_sub_epi32(cs[r], _mm256_set1_epi32(8 * asum[r]));               \
                _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), _mm256_mul_ps(_mm256_cvtepi32_ps(pg), f))); \
            }                                                                                             \
        }                                                                                                 \
    }

static inline int32_t load4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define DOT_VNNI256(acc, ap)                                                                              \
    kb_dpbusd256(kb_dpbusd256((acc), lo, _mm256_set1_epi32(load4(ap))), hi, _mm256_set1_epi32(load4((ap) + 4)))
GROUP256(w4a8_avxvnni_group, __attribute__((target("avx2,avxvnni"))), DOT_VNNI256)

#define DOT_AVX2(acc, ap)                                                                                 \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_add_epi16(                                          \
        _mm256_maddubs_epi16(lo, _mm256_set1_epi32(load4(ap))),                                           \
        _mm256_maddubs_epi16(hi, _mm256_set1_epi32(load4((ap) + 4)))), ones))
GROUP256(w4a8_avx2_group, __attribute__((target("avx2"))), DOT_AVX2)

#else
typedef int gemm_w4a8_vnni_unused;
#endif
