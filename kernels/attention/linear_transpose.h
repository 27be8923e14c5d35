/* linear_transpose.h - one 8×8 block of floats transposed in AVX registers, shared by the AVX2
 * and AVX-512 paths of linear_isa.h (each file compiles it under its own target attribute, so
 * it is inlined there and never called where AVX is missing). Internal to those two files. */
#ifndef KB_LINEAR_TRANSPOSE_H
#define KB_LINEAR_TRANSPOSE_H

#if defined(__x86_64__)

#include <immintrin.h>
#include <stddef.h>

/* dst[c·ldd + r] = r_in[r][c]·w[r] for r, c < 8 (w NULL: 1): eight rows already in registers. */
static inline __attribute__((always_inline, target("avx"))) void
linear_transpose8x8_regs(const __m256 *r_in, float *dst, int ldd, const float *w)
{
    __m256 r[8], t[8];
    /* interleave pairs of rows, then pairs of pairs, then swap the 128-bit halves */
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r_in[i], r_in[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r_in[i], r_in[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    if (w) {
        const __m256 wv = _mm256_loadu_ps(w);
        for (int i = 0; i < 4; i++) {
            _mm256_storeu_ps(dst + (size_t)i * ldd, _mm256_mul_ps(_mm256_permute2f128_ps(r[i], r[i + 4], 0x20), wv));
            _mm256_storeu_ps(dst + (size_t)(i + 4) * ldd, _mm256_mul_ps(_mm256_permute2f128_ps(r[i], r[i + 4], 0x31), wv));
        }
        return;
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + (size_t)i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(dst + (size_t)(i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}

/* dst[c·ldd + r] = src[r·lds + c]·w[r] for r, c < 8 (w NULL: 1). */
static inline __attribute__((always_inline, target("avx"))) void
linear_transpose8x8(const float *src, int lds, float *dst, int ldd, const float *w)
{
    __m256 r[8];
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_ps(src + (size_t)i * lds);
    linear_transpose8x8_regs(r, dst, ldd, w);
}

#endif
#endif
