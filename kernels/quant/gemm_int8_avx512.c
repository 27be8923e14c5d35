/* gemm_int8_avx512.c - the AVX-512 VNNI register tile of quant.gemm_int8@cpu (gemm_int8.h).
 *
 * 8 rows × 32 columns, sixteen zmm accumulators. Per group of four k: two W vectors (16 columns
 * × 4 bytes each); per row one broadcast of the four (offset, unsigned) A bytes and two
 * vpdpbusd, each 64 multiply-adds into 16 int32 lanes. The driver subtracts 128·colsum. */
#include "kernels/quant/gemm_int8.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define MR 8
#define NR 32

VNNI static void tile_vnni(const uint8_t *a, size_t lda, const int8_t *panel, int k4, int32_t *acc)
{
    __m512i c[MR][2];
    for (int r = 0; r < MR; r++)
        c[r][0] = c[r][1] = _mm512_setzero_si512();
    for (int q = 0; q < k4; q++) {
        const __m512i b0 = _mm512_load_si512((const void *)(panel + (size_t)q * NR * 4));
        const __m512i b1 = _mm512_load_si512((const void *)(panel + (size_t)q * NR * 4 + 64));
        for (int r = 0; r < MR; r++) { /* unrolled by the compiler: MR is a constant */
            int32_t v;
            memcpy(&v, a + r * lda + (size_t)q * 4, sizeof v);
            const __m512i av = _mm512_set1_epi32(v);
            c[r][0] = _mm512_dpbusd_epi32(c[r][0], av, b0);
            c[r][1] = _mm512_dpbusd_epi32(c[r][1], av, b1);
        }
    }
    for (int r = 0; r < MR; r++) {
        _mm512_storeu_si512((void *)(acc + r * NR), c[r][0]);
        _mm512_storeu_si512((void *)(acc + r * NR + 16), c[r][1]);
    }
}

const struct gemm_int8_isa gemm_int8_isa_avx512vnni = {
    .name = "avx512vnni", .mr = MR, .nr = NR, .offset_a = 1, .tile = tile_vnni,
};

#endif
