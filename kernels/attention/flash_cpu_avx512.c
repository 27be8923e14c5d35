/* flash_cpu_avx512.c - AVX-512F micro-kernels of attention.flash@cpu (see flash_cpu.h).
 *
 * Same structure as the AVX2 path with 16-float vectors, wider tiles: the score tile is 6 rows
 * × 64 keys (four K panels) and the P·V tile 6 rows × 64 output columns, 24 zmm accumulators
 * each, so every broadcast feeds four FMAs and 8 registers are left for the streamed operands.
 * Narrower 6×32 and 6×16 tiles take the leftover panels and columns. */
#include "kernels/attention/flash_cpu.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f")))

/* One 6×16 tile: the odd panel left over after the pairs. */
AVX512 static void scores_one_panel(const float *a, const float *b, int d, float *o)
{
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    for (int p = 0; p < d; p++, a += FLASH_MR, b += FLASH_KP) {
        __m512 b0 = _mm512_load_ps(b);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b0, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b0, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b0, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b0, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b0, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b0, c5);
    }
    _mm512_store_ps(o + 0 * FLASH_BC, c0);
    _mm512_store_ps(o + 1 * FLASH_BC, c1);
    _mm512_store_ps(o + 2 * FLASH_BC, c2);
    _mm512_store_ps(o + 3 * FLASH_BC, c3);
    _mm512_store_ps(o + 4 * FLASH_BC, c4);
    _mm512_store_ps(o + 5 * FLASH_BC, c5);
}

/* One 6×64 tile (four K panels): 24 accumulators, each broadcast of Q feeding four FMAs, and
 * the packed Q block read once per four panels instead of per two. */
AVX512 static void scores_four_panels(const float *a, const float *k0, int d, float *o)
{
    const size_t panel = (size_t)d * FLASH_KP;
    __m512 c[FLASH_MR][4];
#pragma GCC unroll 6
    for (int i = 0; i < FLASH_MR; i++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            c[i][q] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int p = 0; p < d; p++, a += FLASH_MR, k0 += FLASH_KP) {
        const __m512 b0 = _mm512_load_ps(k0), b1 = _mm512_load_ps(k0 + panel);
        const __m512 b2 = _mm512_load_ps(k0 + 2 * panel), b3 = _mm512_load_ps(k0 + 3 * panel);
#pragma GCC unroll 6
        for (int i = 0; i < FLASH_MR; i++) {
            const __m512 x = _mm512_set1_ps(a[i]);
            c[i][0] = _mm512_fmadd_ps(x, b0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(x, b1, c[i][1]);
            c[i][2] = _mm512_fmadd_ps(x, b2, c[i][2]);
            c[i][3] = _mm512_fmadd_ps(x, b3, c[i][3]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < FLASH_MR; i++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            _mm512_store_ps(o + (size_t)i * FLASH_BC + 16 * q, c[i][q]);
}

AVX512 static void scores_avx512(const float *qpack, int d, const float *kpan, int npan, int rows, float *s)
{
    const size_t panel = (size_t)d * FLASH_KP;
    int pn = 0;
    for (; pn + 3 < npan; pn += 4)
        for (int r = 0; r < rows; r += FLASH_MR)
            scores_four_panels(qpack + (size_t)r * d, kpan + pn * panel, d, s + (size_t)r * FLASH_BC + pn * FLASH_KP);
    for (; pn + 1 < npan; pn += 2) {
        const float *k0 = kpan + pn * panel, *k1 = k0 + panel;
        for (int r = 0; r < rows; r += FLASH_MR) {
            const float *a = qpack + (size_t)r * d;
            __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
            __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            const float *b0p = k0, *b1p = k1;
#pragma GCC unroll 4
            for (int p = 0; p < d; p++, a += FLASH_MR, b0p += FLASH_KP, b1p += FLASH_KP) {
                __m512 b0 = _mm512_load_ps(b0p), b1 = _mm512_load_ps(b1p), x;
                x = _mm512_set1_ps(a[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
                x = _mm512_set1_ps(a[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
                x = _mm512_set1_ps(a[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
                x = _mm512_set1_ps(a[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
                x = _mm512_set1_ps(a[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
                x = _mm512_set1_ps(a[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
            }
            float *o = s + (size_t)r * FLASH_BC + pn * FLASH_KP;
            _mm512_store_ps(o + 0 * FLASH_BC, c00); _mm512_store_ps(o + 0 * FLASH_BC + 16, c01);
            _mm512_store_ps(o + 1 * FLASH_BC, c10); _mm512_store_ps(o + 1 * FLASH_BC + 16, c11);
            _mm512_store_ps(o + 2 * FLASH_BC, c20); _mm512_store_ps(o + 2 * FLASH_BC + 16, c21);
            _mm512_store_ps(o + 3 * FLASH_BC, c30); _mm512_store_ps(o + 3 * FLASH_BC + 16, c31);
            _mm512_store_ps(o + 4 * FLASH_BC, c40); _mm512_store_ps(o + 4 * FLASH_BC + 16, c41);
            _mm512_store_ps(o + 5 * FLASH_BC, c50); _mm512_store_ps(o + 5 * FLASH_BC + 16, c51);
        }
    }
    if (pn < npan)
        for (int r = 0; r < rows; r += FLASH_MR)
            scores_one_panel(qpack + (size_t)r * d, kpan + pn * panel, d, s + (size_t)r * FLASH_BC + pn * FLASH_KP);
}

AVX512 static float row_max_avx512(const float *s, int cols)
{
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < cols; j += 16)
        m = _mm512_max_ps(m, _mm512_load_ps(s + j));
    return _mm512_reduce_max_ps(m);
}

/* 2^x as in the AVX2 path (same polynomial); 2^n applied with scalef. */
AVX512 static __m512 exp2_avx512(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-126.0f));
    __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(1.533757750e-4f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339985989e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618519805e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550329015e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264625e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931471825e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

AVX512 static float row_exp2_sum_avx512(float *s, int cols, float c, float mc)
{
    const __m512 vc = _mm512_set1_ps(c), vmc = _mm512_set1_ps(-mc);
    __m512 acc = _mm512_setzero_ps();
    for (int j = 0; j < cols; j += 16) {
        __m512 p = exp2_avx512(_mm512_fmadd_ps(_mm512_load_ps(s + j), vc, vmc));
        _mm512_store_ps(s + j, p);
        acc = _mm512_add_ps(acc, p);
    }
    return _mm512_reduce_add_ps(acc);
}

/* One 6×64 tile of o = alpha·o + p·v: 24 accumulators, so each broadcast of p feeds four FMAs
 * and every 64-column strip re-reads the P block half as often as 32-column strips would. */
AVX512 static void pv_tile64(const float *pr, int keys, const float *vj, int d, float *orow, int ldo,
                             const float *alpha)
{
    __m512 c[FLASH_MR][4];
#pragma GCC unroll 6
    for (int i = 0; i < FLASH_MR; i++) {
        const __m512 x = _mm512_set1_ps(alpha[i]);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            c[i][q] = _mm512_mul_ps(x, _mm512_load_ps(orow + (size_t)i * ldo + 16 * q));
    }
#pragma GCC unroll 2
    for (int j = 0; j < keys; j++, vj += d) {
        const __m512 b0 = _mm512_loadu_ps(vj), b1 = _mm512_loadu_ps(vj + 16);
        const __m512 b2 = _mm512_loadu_ps(vj + 32), b3 = _mm512_loadu_ps(vj + 48);
#pragma GCC unroll 6
        for (int i = 0; i < FLASH_MR; i++) {
            const __m512 x = _mm512_set1_ps(pr[i * FLASH_BC + j]);
            c[i][0] = _mm512_fmadd_ps(x, b0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(x, b1, c[i][1]);
            c[i][2] = _mm512_fmadd_ps(x, b2, c[i][2]);
            c[i][3] = _mm512_fmadd_ps(x, b3, c[i][3]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < FLASH_MR; i++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            _mm512_store_ps(orow + (size_t)i * ldo + 16 * q, c[i][q]);
}

AVX512 static void pv_avx512(const float *p, int keys, const float *v, int d, float *o, int ldo,
                             const float *alpha, int rows)
{
    /* Each strip of V (keys × 64 floats) is copied to a contiguous buffer first: in place its
     * rows are d floats apart (512 bytes at d 128), so a strip's lines fall in only a part of
     * L1's sets and evict each other before the next row tile reuses them. */
    static _Thread_local _Alignas(64) float vstrip[FLASH_BC * 64];
    int col0 = 0;
    for (; col0 + 64 <= ldo; col0 += 64) {
        for (int j = 0; j < keys; j++)
            for (int q = 0; q < 64; q += 16)
                _mm512_store_ps(vstrip + j * 64 + q, _mm512_loadu_ps(v + (size_t)j * d + col0 + q));
        for (int r = 0; r < rows; r += FLASH_MR)
            pv_tile64(p + (size_t)r * FLASH_BC, keys, vstrip, 64, o + (size_t)r * ldo + col0, ldo, alpha + r);
    }
    for (int col = col0; col < ldo; col += 32) {
        for (int r = 0; r < rows; r += FLASH_MR) {
            float *orow = o + (size_t)r * ldo + col;
            const float *pr = p + (size_t)r * FLASH_BC;
            __m512 x;
            x = _mm512_set1_ps(alpha[r + 0]);
            __m512 c00 = _mm512_mul_ps(x, _mm512_load_ps(orow + 0 * ldo)), c01 = _mm512_mul_ps(x, _mm512_load_ps(orow + 0 * ldo + 16));
            x = _mm512_set1_ps(alpha[r + 1]);
            __m512 c10 = _mm512_mul_ps(x, _mm512_load_ps(orow + 1 * ldo)), c11 = _mm512_mul_ps(x, _mm512_load_ps(orow + 1 * ldo + 16));
            x = _mm512_set1_ps(alpha[r + 2]);
            __m512 c20 = _mm512_mul_ps(x, _mm512_load_ps(orow + 2 * ldo)), c21 = _mm512_mul_ps(x, _mm512_load_ps(orow + 2 * ldo + 16));
            x = _mm512_set1_ps(alpha[r + 3]);
            __m512 c30 = _mm512_mul_ps(x, _mm512_load_ps(orow + 3 * ldo)), c31 = _mm512_mul_ps(x, _mm512_load_ps(orow + 3 * ldo + 16));
            x = _mm512_set1_ps(alpha[r + 4]);
            __m512 c40 = _mm512_mul_ps(x, _mm512_load_ps(orow + 4 * ldo)), c41 = _mm512_mul_ps(x, _mm512_load_ps(orow + 4 * ldo + 16));
            x = _mm512_set1_ps(alpha[r + 5]);
            __m512 c50 = _mm512_mul_ps(x, _mm512_load_ps(orow + 5 * ldo)), c51 = _mm512_mul_ps(x, _mm512_load_ps(orow + 5 * ldo + 16));
            const float *vj = v + col;
#pragma GCC unroll 4
            for (int j = 0; j < keys; j++, vj += d) {
                __m512 b0 = _mm512_loadu_ps(vj), b1 = _mm512_loadu_ps(vj + 16);
                x = _mm512_set1_ps(pr[0 * FLASH_BC + j]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
                x = _mm512_set1_ps(pr[1 * FLASH_BC + j]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
                x = _mm512_set1_ps(pr[2 * FLASH_BC + j]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
                x = _mm512_set1_ps(pr[3 * FLASH_BC + j]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
                x = _mm512_set1_ps(pr[4 * FLASH_BC + j]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
                x = _mm512_set1_ps(pr[5 * FLASH_BC + j]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
            }
            _mm512_store_ps(orow + 0 * ldo, c00); _mm512_store_ps(orow + 0 * ldo + 16, c01);
            _mm512_store_ps(orow + 1 * ldo, c10); _mm512_store_ps(orow + 1 * ldo + 16, c11);
            _mm512_store_ps(orow + 2 * ldo, c20); _mm512_store_ps(orow + 2 * ldo + 16, c21);
            _mm512_store_ps(orow + 3 * ldo, c30); _mm512_store_ps(orow + 3 * ldo + 16, c31);
            _mm512_store_ps(orow + 4 * ldo, c40); _mm512_store_ps(orow + 4 * ldo + 16, c41);
            _mm512_store_ps(orow + 5 * ldo, c50); _mm512_store_ps(orow + 5 * ldo + 16, c51);
        }
    }
}

const struct flash_isa flash_isa_avx512 = {
    .name = "avx512",
    .scores = scores_avx512,
    .row_max = row_max_avx512,
    .row_exp2_sum = row_exp2_sum_avx512,
    .pv = pv_avx512,
};

#else
/* Not x86-64: the driver uses the scalar path; keep the translation unit non-empty. */
typedef int flash_cpu_avx512_unused;
#endif
