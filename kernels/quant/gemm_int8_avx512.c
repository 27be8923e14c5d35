/* gemm_int8_avx512.c - the AVX-512 VNNI register tile of quant.gemm_int8@cpu (gemm_int8.h).
 *
 * 8 rows × 32 columns, sixteen zmm accumulators. Per group of four k: two W vectors (16 columns
 * × 4 bytes each); per row one broadcast of the four (offset, unsigned) A bytes and two
 * vpdpbusd, each 64 multiply-adds into 16 int32 lanes. The driver subtracts 128·colsum. */
#include "kernels/quant/gemm_int8.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include "kernels/dpbusd.h"
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define MR 8
#define NR 32

VNNI static inline __m512i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

/* Written out row by row so the sixteen accumulators are sure to live in registers. */
VNNI static void tile_vnni(const uint8_t *a, size_t lda, const int8_t *panel, int k4, int32_t *acc)
{
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
    __m512i c70 = c00, c71 = c00;
#define ROW(r, x0, x1)                                                                         \
    do {                                                                                       \
        const __m512i av = bcast4(a + (r) * lda + (size_t)q * 4);                              \
        x0 = kb_dpbusd512(x0, av, b0);                                                  \
        x1 = kb_dpbusd512(x1, av, b1);                                                  \
    } while (0)
    for (int q = 0; q < k4; q++) {
        const __m512i b0 = _mm512_load_si512((const void *)(panel + (size_t)q * NR * 4));
        const __m512i b1 = _mm512_load_si512((const void *)(panel + (size_t)q * NR * 4 + 64));
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
#define STORE(r, x0, x1)                                                                       \
    do {                                                                                       \
        _mm512_storeu_si512((void *)(acc + (r) * NR), x0);                                     \
        _mm512_storeu_si512((void *)(acc + (r) * NR + 16), x1);                                \
    } while (0)
    STORE(0, c00, c01);
    STORE(1, c10, c11);
    STORE(2, c20, c21);
    STORE(3, c30, c31);
    STORE(4, c40, c41);
    STORE(5, c50, c51);
    STORE(6, c60, c61);
    STORE(7, c70, c71);
#undef STORE
}

const struct gemm_int8_isa gemm_int8_isa_avx512vnni = {
    .name = "avx512vnni", .mr = MR, .nr = NR, .offset_a = 1, .tile = tile_vnni,
};

#endif
