/* flash_cpu_avx2.c - AVX2+FMA micro-kernels of attention.flash@cpu (see flash_cpu.h).
 *
 * Compiled with function target attributes rather than -mavx2, so the rest of kbench stays
 * portable and the driver picks this path only on CPUs that report AVX2 and FMA.
 *
 * Both products are 6×16 register tiles: 12 ymm accumulators, 2 ymm of streamed operand and
 * one broadcast (15 of 16 registers). Per step that is 12 FMAs against 2 vector loads and 6
 * broadcasts, which keeps even Zen 1 (one 256-bit load per cycle, 256-bit FMAs split across
 * its two 128-bit pipes) bound by FMA throughput rather than loads. */
#include "kernels/attention/flash_cpu.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static void scores_avx2(const float *qpack, int d, const float *kpan, int npan, int rows, float *s)
{
    for (int pn = 0; pn < npan; pn++) {
        const float *kp = kpan + (size_t)pn * d * FLASH_KP;
        for (int r = 0; r < rows; r += FLASH_MR) {
            const float *a = qpack + (size_t)r * d;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
            __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            const float *b = kp;
#pragma GCC unroll 4
            for (int p = 0; p < d; p++, a += FLASH_MR, b += FLASH_KP) {
                __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), x;
                x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
                x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
                x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
            }
            float *o = s + (size_t)r * FLASH_BC + pn * FLASH_KP;
            _mm256_store_ps(o + 0 * FLASH_BC, c00); _mm256_store_ps(o + 0 * FLASH_BC + 8, c01);
            _mm256_store_ps(o + 1 * FLASH_BC, c10); _mm256_store_ps(o + 1 * FLASH_BC + 8, c11);
            _mm256_store_ps(o + 2 * FLASH_BC, c20); _mm256_store_ps(o + 2 * FLASH_BC + 8, c21);
            _mm256_store_ps(o + 3 * FLASH_BC, c30); _mm256_store_ps(o + 3 * FLASH_BC + 8, c31);
            _mm256_store_ps(o + 4 * FLASH_BC, c40); _mm256_store_ps(o + 4 * FLASH_BC + 8, c41);
            _mm256_store_ps(o + 5 * FLASH_BC, c50); _mm256_store_ps(o + 5 * FLASH_BC + 8, c51);
        }
    }
}

AVX2 static float hmax_avx2(__m256 v)
{
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

AVX2 static float hsum_avx2(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

AVX2 static float row_max_avx2(const float *s, int cols)
{
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    for (int j = 0; j < cols; j += 16) {
        m0 = _mm256_max_ps(m0, _mm256_load_ps(s + j));
        m1 = _mm256_max_ps(m1, _mm256_load_ps(s + j + 8));
    }
    return hmax_avx2(_mm256_max_ps(m0, m1));
}

/* 2^x for x <= 0: x = n + f with n = round(x), |f| <= 1/2; 2^f from a degree-6 polynomial
 * fitted here for relative error (7.9e-8 evaluated in float), 2^n built in the exponent field.
 * Adding 1.5·2^23 + 127 rounds x to an integer in the low mantissa bits already biased by 127,
 * so one shift makes the exponent field (cheaper than two conversions and an integer add).
 * x is clamped at -126 so 2^n stays a normal number; masked scores (-inf) give 2^-126, which
 * is nothing next to the row maximum's 1. */
AVX2 static __m256 exp2_avx2(__m256 x)
{
    const __m256 shifter = _mm256_set1_ps(12582912.0f + 127.0f);
    x = _mm256_max_ps(x, _mm256_set1_ps(-126.0f));
    __m256 t = _mm256_add_ps(x, shifter);
    __m256 f = _mm256_sub_ps(x, _mm256_sub_ps(t, shifter));
    __m256 e = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
    __m256 p = _mm256_set1_ps(1.533757750e-4f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.339985989e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618519805e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550329015e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402264625e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931471825e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    return _mm256_mul_ps(p, e);
}

AVX2 static float row_exp2_sum_avx2(float *s, int cols, float c, float mc)
{
    const __m256 vc = _mm256_set1_ps(c), vmc = _mm256_set1_ps(-mc);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    for (int j = 0; j < cols; j += 16) {
        __m256 p0 = exp2_avx2(_mm256_fmadd_ps(_mm256_load_ps(s + j), vc, vmc));
        __m256 p1 = exp2_avx2(_mm256_fmadd_ps(_mm256_load_ps(s + j + 8), vc, vmc));
        _mm256_store_ps(s + j, p0);
        _mm256_store_ps(s + j + 8, p1);
        s0 = _mm256_add_ps(s0, p0);
        s1 = _mm256_add_ps(s1, p1);
    }
    return hsum_avx2(_mm256_add_ps(s0, s1));
}

AVX2 static void pv_avx2(const float *p, int keys, const float *v, int d, float *o, int ldo,
                         const float *alpha, int rows)
{
    for (int col = 0; col < ldo; col += 16) {
        for (int r = 0; r < rows; r += FLASH_MR) {
            float *orow = o + (size_t)r * ldo + col;
            const float *pr = p + (size_t)r * FLASH_BC;
            __m256 x;
            x = _mm256_broadcast_ss(alpha + r + 0);
            __m256 c00 = _mm256_mul_ps(x, _mm256_load_ps(orow + 0 * ldo)), c01 = _mm256_mul_ps(x, _mm256_load_ps(orow + 0 * ldo + 8));
            x = _mm256_broadcast_ss(alpha + r + 1);
            __m256 c10 = _mm256_mul_ps(x, _mm256_load_ps(orow + 1 * ldo)), c11 = _mm256_mul_ps(x, _mm256_load_ps(orow + 1 * ldo + 8));
            x = _mm256_broadcast_ss(alpha + r + 2);
            __m256 c20 = _mm256_mul_ps(x, _mm256_load_ps(orow + 2 * ldo)), c21 = _mm256_mul_ps(x, _mm256_load_ps(orow + 2 * ldo + 8));
            x = _mm256_broadcast_ss(alpha + r + 3);
            __m256 c30 = _mm256_mul_ps(x, _mm256_load_ps(orow + 3 * ldo)), c31 = _mm256_mul_ps(x, _mm256_load_ps(orow + 3 * ldo + 8));
            x = _mm256_broadcast_ss(alpha + r + 4);
            __m256 c40 = _mm256_mul_ps(x, _mm256_load_ps(orow + 4 * ldo)), c41 = _mm256_mul_ps(x, _mm256_load_ps(orow + 4 * ldo + 8));
            x = _mm256_broadcast_ss(alpha + r + 5);
            __m256 c50 = _mm256_mul_ps(x, _mm256_load_ps(orow + 5 * ldo)), c51 = _mm256_mul_ps(x, _mm256_load_ps(orow + 5 * ldo + 8));
            const float *vj = v + col;
#pragma GCC unroll 4
            for (int j = 0; j < keys; j++, vj += d) {
                __m256 b0 = _mm256_loadu_ps(vj), b1 = _mm256_loadu_ps(vj + 8);
                x = _mm256_broadcast_ss(pr + 0 * FLASH_BC + j); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_broadcast_ss(pr + 1 * FLASH_BC + j); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_broadcast_ss(pr + 2 * FLASH_BC + j); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_broadcast_ss(pr + 3 * FLASH_BC + j); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
                x = _mm256_broadcast_ss(pr + 4 * FLASH_BC + j); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
                x = _mm256_broadcast_ss(pr + 5 * FLASH_BC + j); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
            }
            _mm256_store_ps(orow + 0 * ldo, c00); _mm256_store_ps(orow + 0 * ldo + 8, c01);
            _mm256_store_ps(orow + 1 * ldo, c10); _mm256_store_ps(orow + 1 * ldo + 8, c11);
            _mm256_store_ps(orow + 2 * ldo, c20); _mm256_store_ps(orow + 2 * ldo + 8, c21);
            _mm256_store_ps(orow + 3 * ldo, c30); _mm256_store_ps(orow + 3 * ldo + 8, c31);
            _mm256_store_ps(orow + 4 * ldo, c40); _mm256_store_ps(orow + 4 * ldo + 8, c41);
            _mm256_store_ps(orow + 5 * ldo, c50); _mm256_store_ps(orow + 5 * ldo + 8, c51);
        }
    }
}

const struct flash_isa flash_isa_avx2 = {
    .name = "avx2",
    .scores = scores_avx2,
    .row_max = row_max_avx2,
    .row_exp2_sum = row_exp2_sum_avx2,
    .pv = pv_avx2,
};

#else
/* Not x86-64: the driver uses the scalar path; keep the translation unit non-empty. */
typedef int flash_cpu_avx2_unused;
#endif
