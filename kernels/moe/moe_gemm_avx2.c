/* moe_gemm_avx2.c - the AVX2+FMA register tile of the MoE GEMM (see moe_gemm.h).
 *
 * Compiled through a function target attribute, not -mavx2, so the rest of kbench stays
 * portable; moe_gemm_best picks it only where the CPU reports AVX2 and FMA. A 6×16 tile: 12 ymm
 * accumulators, 2 ymm of the B panel row and one broadcast of A (15 of 16 registers); per depth
 * step 12 FMAs against 2 loads and 6 broadcasts, so the FMA units, not the loads, set the pace. */
#include "kernels/moe/moe_gemm.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static void tile_avx2(int kc, const float *ap, const float *bp, float *const *crow, int mr, int nr,
                           const float *scale, int add)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
    for (int p = 0; p < kc; p++, ap += MOE_MR, bp += MOE_NR) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), x;
        x = _mm256_broadcast_ss(ap + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(ap + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(ap + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(ap + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(ap + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(ap + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 acc[MOE_MR][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 },
                              { c30, c31 }, { c40, c41 }, { c50, c51 } };
    if (nr == MOE_NR) {
        for (int i = 0; i < mr; i++) {
            __m256 lo = acc[i][0], hi = acc[i][1];
            if (scale) {
                __m256 s = _mm256_set1_ps(scale[i]);
                lo = _mm256_mul_ps(lo, s);
                hi = _mm256_mul_ps(hi, s);
            }
            if (add) {
                lo = _mm256_add_ps(lo, _mm256_loadu_ps(crow[i]));
                hi = _mm256_add_ps(hi, _mm256_loadu_ps(crow[i] + 8));
            }
            _mm256_storeu_ps(crow[i], lo);
            _mm256_storeu_ps(crow[i] + 8, hi);
        }
        return;
    }
    /* a ragged right edge: through memory, element by element */
    float t[MOE_NR];
    for (int i = 0; i < mr; i++) {
        _mm256_storeu_ps(t, acc[i][0]);
        _mm256_storeu_ps(t + 8, acc[i][1]);
        float sc = scale ? scale[i] : 1.0f;
        for (int j = 0; j < nr; j++)
            crow[i][j] = add ? crow[i][j] + sc * t[j] : sc * t[j];
    }
}

const struct moe_gemm_isa moe_gemm_avx2 = { .name = "avx2", .tile = tile_avx2 };

#endif
