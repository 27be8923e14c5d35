/* linear_isa.c - the portable scalar primitives of the linear-attention kernels and the choice
 * of the fastest path the CPU reports (see linear_isa.h). */
#include "kernels/attention/linear_isa.h"

#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/cpu_features.h"

static void gemm_acc_scalar(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                            float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        const float *ai = a + (size_t)i * lda;
        for (int p = 0; p < k; p++) {
            const float x = ai[p];
            const float *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++)
                ci[j] += x * bp[j];
        }
    }
}

static void vexp_scalar(float *x, int len)
{
    for (int j = 0; j < len; j++) {
        float t = x[j] < -87.0f ? -87.0f : (x[j] > 88.0f ? 88.0f : x[j]);
        x[j] = expf(t);
    }
}

static void feature_scalar(int feature, const float *x, float *y, size_t len)
{
    if (feature == KB_FEATURE_RELU) {
        for (size_t e = 0; e < len; e++)
            y[e] = x[e] > 0 ? x[e] : 0;
        return;
    }
    /* elu(x) + 1: x + 1 above zero, e^x at or below (clamped as vexp clamps) */
    for (size_t e = 0; e < len; e++)
        y[e] = x[e] > 0 ? x[e] + 1.0f : expf(x[e] < -87.0f ? -87.0f : x[e]);
}

static void transpose_scalar(int rows, int cols, const float *src, int lds, float *dst, int ldd, const float *w)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j] * (w ? w[i] : 1.0f);
}

void linear_feature_transpose_blocked(const struct linear_isa *isa, int feature, int rows, int cols, const float *src,
                                      int lds, float *dst, int ldd, float *colsum)
{
    enum { BR = 8, BC = 64 };
    static const float ones[BR] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    float buf[BR * BC];
    for (int i = 0; i < rows; i += BR) {
        const int r = rows - i < BR ? rows - i : BR;
        for (int j = 0; j < cols; j += BC) {
            const int n = cols - j < BC ? cols - j : BC;
            for (int q = 0; q < r; q++)
                isa->feature(feature, src + (size_t)(i + q) * lds + j, buf + (size_t)q * BC, (size_t)n);
            isa->transpose(r, n, buf, BC, dst + (size_t)j * ldd + i, ldd, NULL);
            if (colsum) /* colsum += 1·buf, through the path's vector product */
                isa->gemm_acc(1, n, r, ones, BR, buf, BC, colsum + j, n);
        }
    }
}

void linear_feature_dot_composed(const struct linear_isa *isa, int feature, int m, int k, const float *x, int ldx,
                                 float *y, const float *z, float *dots)
{
    if (ldx == k)
        isa->feature(feature, x, y, (size_t)m * k);
    else
        for (int i = 0; i < m; i++)
            isa->feature(feature, x + (size_t)i * ldx, y + (size_t)i * k, (size_t)k);
    isa->row_dots(m, k, y, k, z, dots);
}

static void feature_dot_scalar(int feature, int m, int k, const float *x, int ldx, float *y, const float *z,
                               float *dots)
{
    linear_feature_dot_composed(&linear_isa_scalar, feature, m, k, x, ldx, y, z, dots);
}

static void feature_transpose_scalar(int feature, int rows, int cols, const float *src, int lds, float *dst, int ldd,
                                     float *colsum)
{
    linear_feature_transpose_blocked(&linear_isa_scalar, feature, rows, cols, src, lds, dst, ldd, colsum);
}

static void row_dots_scalar(int m, int k, const float *a, int lda, const float *x, float *out)
{
    for (int i = 0; i < m; i++) {
        const float *ai = a + (size_t)i * lda;
        float acc = 0;
        for (int p = 0; p < k; p++)
            acc += ai[p] * x[p];
        out[i] = acc;
    }
}

static void mul_rowsum_scalar(int m, int n, float *a, int lda, const float *w, int ldw, float *sums)
{
    for (int i = 0; i < m; i++) {
        float *ai = a + (size_t)i * lda, acc = 0;
        const float *wi = w + (size_t)i * ldw;
        for (int j = 0; j < n; j++) {
            ai[j] *= wi[j];
            acc += ai[j];
        }
        if (sums)
            sums[i] += acc;
    }
}

static void scale_rows_scalar(int m, int n, float *a, int lda, const float *s)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            a[(size_t)i * lda + j] *= s[i];
}

/* gemm_ex as C ← beta·C (zeroed for beta 0), the product accumulated, then the rows scaled
 * (no prefetching on this path). */
static void gemm_ex_scalar(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
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
    gemm_acc_scalar(m, n, k, a, lda, b, ldb, c, ldc);
    if (rowscale)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] *= rowscale[i];
}

void linear_gemm_plus_lower_composed(const struct linear_isa *isa, int m, int n, int k, const float *a, int lda,
                                     const float *b, int ldb, const float *l, int ldl, const float *d, int ldd,
                                     float *c, int ldc, const float *rowscale, const struct linear_ahead *ahead)
{
    enum { ROWS = 6 };
    isa->gemm_ex(m, n, k, a, lda, b, ldb, c, ldc, 0.0f, NULL, ahead);
    for (int i0 = 0; i0 < m; i0 += ROWS) {
        const int rows = m - i0 < ROWS ? m - i0 : ROWS;
        isa->gemm_ex(rows, n, i0 + rows, l + (size_t)i0 * ldl, ldl, d, ldd, c + (size_t)i0 * ldc, ldc, 1.0f,
                     rowscale ? rowscale + i0 : NULL, NULL);
    }
}

static void gemm_plus_lower_scalar(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                                   const float *l, int ldl, const float *d, int ldd, float *c, int ldc,
                                   const float *rowscale, int stream, const struct linear_ahead *ahead)
{
    (void)stream;
    linear_gemm_plus_lower_composed(&linear_isa_scalar, m, n, k, a, lda, b, ldb, l, ldl, d, ldd, c, ldc, rowscale,
                                    ahead);
}

const struct linear_isa linear_isa_scalar = {
    .name = "scalar",
    .gemm_acc = gemm_acc_scalar,
    .gemm_ex = gemm_ex_scalar,
    .gemm_plus_lower = gemm_plus_lower_scalar,
    .vexp = vexp_scalar,
    .feature = feature_scalar,
    .transpose = transpose_scalar,
    .feature_transpose = feature_transpose_scalar,
    .feature_dot = feature_dot_scalar,
    .row_dots = row_dots_scalar,
    .mul_rowsum = mul_rowsum_scalar,
    .scale_rows = scale_rows_scalar,
};

static int runs_here(const struct linear_isa *isa)
{
#if defined(__x86_64__)
    if (isa == &linear_isa_avx512)
        return kb_cpu_has(LINEAR_AVX512_NEEDS);
    if (isa == &linear_isa_avx2)
        return kb_cpu_has(LINEAR_AVX2_NEEDS);
#endif
    return isa == &linear_isa_scalar;
}

static const struct linear_isa *const by_preference[] = {
#if defined(__x86_64__)
    &linear_isa_avx512,
    &linear_isa_avx2,
#endif
    &linear_isa_scalar,
};

const struct linear_isa *linear_isa_best(void)
{
    for (size_t i = 0; i < sizeof by_preference / sizeof by_preference[0]; i++)
        if (runs_here(by_preference[i]))
            return by_preference[i];
    return &linear_isa_scalar;
}

const struct linear_isa *linear_isa_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof by_preference / sizeof by_preference[0]; i++)
        if (strcmp(by_preference[i]->name, name) == 0)
            return runs_here(by_preference[i]) ? by_preference[i] : NULL;
    return NULL;
}

void linear_feature_rows(const struct linear_isa *isa, int feature, const float *x, float *y, size_t len)
{
    isa->feature(feature, x, y, len);
}
