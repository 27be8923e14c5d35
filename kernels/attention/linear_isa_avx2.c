/* linear_isa_avx2.c - AVX2+FMA primitives of the linear-attention kernels (linear_isa.h).
 *
 * gemm_acc walks C in tiles of 6 rows × 16 columns: 12 ymm accumulators, two loads of a B row
 * and one broadcast of A per step (15 of the 16 registers), so each broadcast feeds two FMAs.
 * Columns left over go 8 at a time, then one by one; rows left over use the same tiles with
 * fewer rows (the row count is a compile-time constant in each instance, so the accumulators
 * stay in registers). */
#include "kernels/attention/linear_isa.h"

/* The products' k loops start on 64-byte boundaries (GCC; as -falign-loops=64 for this file
 * alone): where they fall otherwise moves with any code around them, and on the machine of
 * docs/performance.md's tier-2 table that alone measured ±2% for the same instructions
 * (attention.linear_varlen@cpu's rounds: +0.5-1.3% on AVX-512, and AVX2's 2% loss after an
 * unrelated change recovered). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("align-loops=64")
#endif

#if defined(__x86_64__)

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/attention/linear_transpose.h"

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE_AVX2 static inline __attribute__((always_inline, target("avx2,fma")))

/* C[R×8V] += A[R×k]·B[k×8V] for V = 1 or 2 vectors of columns. */
INLINE_AVX2 void tile(const int R, const int V, int k, const float *a, int lda, const float *b,
                      int ldb, float *c, int ldc)
{
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm256_loadu_ps(c + (size_t)r * ldc + 8 * v);
    for (int p = 0; p < k; p++) {
        const float *bp = b + (size_t)p * ldb;
        __m256 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            bv[v] = _mm256_loadu_ps(bp + 8 * v);
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m256 x = _mm256_broadcast_ss(a + (size_t)r * lda + p);
#pragma GCC unroll 2
            for (int v = 0; v < V; v++)
                acc[r][v] = _mm256_fmadd_ps(x, bv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            _mm256_storeu_ps(c + (size_t)r * ldc + 8 * v, acc[r][v]);
}

INLINE_AVX2 void tile_rows(int rows, const int V, int k, const float *a, int lda, const float *b,
                           int ldb, float *c, int ldc)
{
    switch (rows) {
    case 6: tile(6, V, k, a, lda, b, ldb, c, ldc); break;
    case 5: tile(5, V, k, a, lda, b, ldb, c, ldc); break;
    case 4: tile(4, V, k, a, lda, b, ldb, c, ldc); break;
    case 3: tile(3, V, k, a, lda, b, ldb, c, ldc); break;
    case 2: tile(2, V, k, a, lda, b, ldb, c, ldc); break;
    default: tile(1, V, k, a, lda, b, ldb, c, ldc); break;
    }
}

AVX2 static void gemm_acc_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                               float *c, int ldc)
{
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int i = 0; i < m; i += 6)
            tile_rows(m - i < 6 ? m - i : 6, 2, k, a + (size_t)i * lda, lda, b + j, ldb,
                      c + (size_t)i * ldc + j, ldc);
    for (; j + 8 <= n; j += 8)
        for (int i = 0; i < m; i += 6)
            tile_rows(m - i < 6 ? m - i : 6, 1, k, a + (size_t)i * lda, lda, b + j, ldb,
                      c + (size_t)i * ldc + j, ldc);
    if (j < n)
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc;
            const float *ai = a + (size_t)i * lda;
            for (int p = 0; p < k; p++)
                for (int jj = j; jj < n; jj++)
                    ci[jj] += ai[p] * b[(size_t)p * ldb + jj];
        }
}

/* e^x = 2^(x·log2 e): 2^f for the fraction by a degree-6 polynomial (the one attention.flash
 * uses), 2^n by building the exponent bits. */
INLINE_AVX2 __m256 exp_avx2(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
    __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_sub_ps(t, n);
    __m256 p = _mm256_set1_ps(1.533757750e-4f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.339985989e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618519805e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550329015e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402264625e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931471825e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 static void vexp_avx2(float *x, int len)
{
    int j = 0;
    for (; j + 8 <= len; j += 8)
        _mm256_storeu_ps(x + j, exp_avx2(_mm256_loadu_ps(x + j)));
    if (j < len) {
        float tail[8] = { 0 };
        for (int t = 0; j + t < len; t++)
            tail[t] = x[j + t];
        _mm256_storeu_ps(tail, exp_avx2(_mm256_loadu_ps(tail)));
        for (int t = 0; j + t < len; t++)
            x[j + t] = tail[t];
    }
}

/* φ in one pass: relu as a max, elu+1 as e^min(x, 0) blended with x + 1 where x > 0. */
INLINE_AVX2 __m256 feature8(int feature, __m256 v)
{
    const __m256 zero = _mm256_setzero_ps();
    if (feature == KB_FEATURE_RELU)
        return _mm256_max_ps(v, zero); /* NaN and -0 give +0, as x > 0 ? x : 0 */
    const __m256 pos = _mm256_cmp_ps(v, zero, _CMP_GT_OQ);
    return _mm256_blendv_ps(exp_avx2(_mm256_min_ps(v, zero)), _mm256_add_ps(v, _mm256_set1_ps(1.0f)), pos);
}

AVX2 static void feature_avx2(int feature, const float *x, float *y, size_t len)
{
    size_t e = 0;
    for (; e + 8 <= len; e += 8)
        _mm256_storeu_ps(y + e, feature8(feature, _mm256_loadu_ps(x + e)));
    if (e < len) {
        float tail[8] = { 0 };
        for (size_t t = 0; e + t < len; t++)
            tail[t] = x[e + t];
        _mm256_storeu_ps(tail, feature8(feature, _mm256_loadu_ps(tail)));
        for (size_t t = 0; e + t < len; t++)
            y[e + t] = tail[t];
    }
}

/* 8×8 blocks transposed in registers; the edges element by element. */
AVX2 static void transpose_avx2(int rows, int cols, const float *src, int lds, float *dst, int ldd, const float *w)
{
    int i = 0;
    for (; i + 8 <= rows; i += 8) {
        int j = 0;
        for (; j + 8 <= cols; j += 8)
            linear_transpose8x8(src + (size_t)i * lds + j, lds, dst + (size_t)j * ldd + i, ldd, w ? w + i : NULL);
        for (; j < cols; j++)
            for (int r = 0; r < 8; r++)
                dst[(size_t)j * ldd + i + r] = src[(size_t)(i + r) * lds + j] * (w ? w[i + r] : 1.0f);
    }
    for (; i < rows; i++)
        for (int j = 0; j < cols; j++)
            dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j] * (w ? w[i] : 1.0f);
}

INLINE_AVX2 float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void row_dots_avx2(int m, int k, const float *a, int lda, const float *x, float *out)
{
    for (int i = 0; i < m; i++) {
        const float *ai = a + (size_t)i * lda;
        __m256 acc = _mm256_setzero_ps();
        int p = 0;
        for (; p + 8 <= k; p += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(ai + p), _mm256_loadu_ps(x + p), acc);
        float sum = hsum8(acc);
        for (; p < k; p++)
            sum += ai[p] * x[p];
        out[i] = sum;
    }
}

AVX2 static void mul_rowsum_avx2(int m, int n, float *a, int lda, const float *w, int ldw, float *sums)
{
    for (int i = 0; i < m; i++) {
        float *ai = a + (size_t)i * lda;
        const float *wi = w + (size_t)i * ldw;
        __m256 acc = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(ai + j), _mm256_loadu_ps(wi + j));
            _mm256_storeu_ps(ai + j, v);
            acc = _mm256_add_ps(acc, v);
        }
        float sum = hsum8(acc);
        for (; j < n; j++) {
            ai[j] *= wi[j];
            sum += ai[j];
        }
        if (sums)
            sums[i] += sum;
    }
}

AVX2 static void scale_rows_avx2(int m, int n, float *a, int lda, const float *s)
{
    for (int i = 0; i < m; i++) {
        float *ai = a + (size_t)i * lda;
        const __m256 f = _mm256_set1_ps(s[i]);
        int j = 0;
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(ai + j, _mm256_mul_ps(_mm256_loadu_ps(ai + j), f));
        for (; j < n; j++)
            ai[j] *= s[i];
    }
}

/* gemm_ex as C ← beta·C (zeroed for beta 0), the product accumulated, then the rows scaled
 * (no prefetching on this path). */
AVX2 static void gemm_ex_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                           int ldc, float beta, const float *rowscale, const struct linear_ahead *ahead)
{
    (void)ahead;
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(ci, 0, (size_t)n * sizeof(float));
        else if (beta != 1.0f)
            for (int j = 0; j < n; j++)
                ci[j] *= beta;
    }
    gemm_acc_avx2(m, n, k, a, lda, b, ldb, c, ldc);
    if (rowscale)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] *= rowscale[i];
}

static void gemm_plus_lower_avx2(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                                 const float *l, int ldl, const float *d, int ldd, float *c, int ldc,
                                 const float *rowscale, int stream, const struct linear_ahead *ahead)
{
    (void)stream;
    linear_gemm_plus_lower_composed(&linear_isa_avx2, m, n, k, a, lda, b, ldb, l, ldl, d, ldd, c, ldc, rowscale,
                                    ahead);
}

AVX2 static void feature_transpose_avx2(int feature, int rows, int cols, const float *src, int lds, float *dst, int ldd,
                                       float *colsum)
{
    linear_feature_transpose_blocked(&linear_isa_avx2, feature, rows, cols, src, lds, dst, ldd, colsum);
}

/* φ of each row, stored, and its dot product with z from the φ vectors in registers (the
 * order of row_dots_avx2's: the same floats); the row's last k % 8 through feature_avx2. */
AVX2 static void feature_dot_avx2(int feature, int m, int k, const float *x, int ldx, float *y, const float *z,
                                 float *dots)
{
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * ldx;
        float *yi = y + (size_t)i * k;
        __m256 acc = _mm256_setzero_ps();
        int p = 0;
        for (; p + 8 <= k; p += 8) {
            const __m256 v = feature8(feature, _mm256_loadu_ps(xi + p));
            _mm256_storeu_ps(yi + p, v);
            acc = _mm256_fmadd_ps(v, _mm256_loadu_ps(z + p), acc);
        }
        float sum = hsum8(acc);
        if (p < k) {
            feature_avx2(feature, xi + p, yi + p, (size_t)(k - p));
            for (; p < k; p++)
                sum += yi[p] * z[p];
        }
        dots[i] = sum;
    }
}

const struct linear_isa linear_isa_avx2 = {
    .name = "avx2",
    .gemm_acc = gemm_acc_avx2,
    .gemm_ex = gemm_ex_avx2,
    .gemm_plus_lower = gemm_plus_lower_avx2,
    .vexp = vexp_avx2,
    .feature = feature_avx2,
    .transpose = transpose_avx2,
    .feature_transpose = feature_transpose_avx2,
    .feature_dot = feature_dot_avx2,
    .row_dots = row_dots_avx2,
    .mul_rowsum = mul_rowsum_avx2,
    .scale_rows = scale_rows_avx2,
};

#else
typedef int linear_isa_avx2_unused;
#endif
