/* gemm_int8_avx2.c - the AVX2 register tile of quant.gemm_int8@cpu (see gemm_int8.h).
 *
 * 4 rows × 16 columns, eight ymm accumulators of int32. Per group of four k: two W vectors
 * (16 columns × 4 bytes); per row one broadcast of A's four bytes, then for each W vector
 *   vpsignb  w·sign(a)      (bytewise: the a matching each w byte is the broadcast byte)
 *   vpmaddubsw |a| × (w·sign(a)) → eight pairs summed to s16 (≤ 32258: never saturates, as the
 *            quantizer emits no −128)
 *   vpmaddwd  × 1 → int32 sums of four products, added to the accumulator. */
#include "kernels/quant/gemm_int8.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2")))
#define MR 4
#define NR 16

AVX2 static inline __m256i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

AVX2 static void tile_avx2(const uint8_t *a, size_t lda, const int8_t *panel, int k4, int32_t *acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
#define ROW(r, c0, c1)                                                                         \
    do {                                                                                       \
        __m256i av = bcast4(a + (r) * lda + (size_t)q * 4), aa = _mm256_abs_epi8(av);         \
        c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(_mm256_maddubs_epi16(aa, _mm256_sign_epi8(b0, av)), ones)); \
        c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(_mm256_maddubs_epi16(aa, _mm256_sign_epi8(b1, av)), ones)); \
    } while (0)
    for (int q = 0; q < k4; q++) {
        const __m256i b0 = _mm256_load_si256((const __m256i *)(panel + (size_t)q * NR * 4));
        const __m256i b1 = _mm256_load_si256((const __m256i *)(panel + (size_t)q * NR * 4 + 32));
        ROW(0, c00, c01);
        ROW(1, c10, c11);
        ROW(2, c20, c21);
        ROW(3, c30, c31);
    }
#undef ROW
    /* the accumulators hold columns in the order of the panel: vector 0 = columns 0..7 */
    _mm256_storeu_si256((__m256i *)(acc + 0 * NR), c00);
    _mm256_storeu_si256((__m256i *)(acc + 0 * NR + 8), c01);
    _mm256_storeu_si256((__m256i *)(acc + 1 * NR), c10);
    _mm256_storeu_si256((__m256i *)(acc + 1 * NR + 8), c11);
    _mm256_storeu_si256((__m256i *)(acc + 2 * NR), c20);
    _mm256_storeu_si256((__m256i *)(acc + 2 * NR + 8), c21);
    _mm256_storeu_si256((__m256i *)(acc + 3 * NR), c30);
    _mm256_storeu_si256((__m256i *)(acc + 3 * NR + 8), c31);
}

const struct gemm_int8_isa gemm_int8_isa_avx2 = {
    .name = "avx2", .mr = MR, .nr = NR, .offset_a = 0, .tile = tile_avx2,
};

#endif
