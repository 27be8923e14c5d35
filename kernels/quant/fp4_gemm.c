/* fp4_gemm.c - quant.fp4_gemm@cpu: the emulated FP4 GEMM Y = dequant(A)·dequant(W)ᵀ (quant_ops.h)
 * on the CPU. No CPU has FP4 arithmetic, so the operands are decoded to float32 and multiplied
 * with float32 FMAs:
 *
 *   1. decode (timed): every row of A and W to float32 E2M1·block scale (exact), K padded with
 *      zeros to a multiple of 16. AVX-512 decodes 32 elements (16 bytes) at a time: the low and
 *      high nibbles index a 16-entry table with vpermps and vpermt2ps interleaves them back into
 *      element order; elsewhere a 256-entry table gives the two values of a byte.
 *   2. multiply: blocked over K (FP4_KC) and W rows (FP4_NC) so a block of W stays in L2 while
 *      each thread runs its own rows of A through it; a 4×4 tile of dot products per step
 *      (AVX-512: 16 accumulators of 16 lanes; AVX2 + FMA: two 2×4 tiles of 8 lanes; scalar),
 *      reduced across lanes at the end of each K block and added into Y.
 *   3. Y times s_tA·s_tW (NVFP4's tensor scales; 1 for MXFP4).
 * The sums run in float32 in their own order: the operation checks each element against the
 * float64 sum within float32 accumulation error. */
#include "kernels/quant/fp4.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_ops.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define FP4_KC 512 /* K per block: 4 rows of A (8 KiB) stay in L1 */
#define FP4_NC 128 /* rows of W per block: 256 KiB, in L2 */
#define FP4_MR 4
#define FP4_NR 4

enum fp4_path { PATH_SCALAR, PATH_AVX2, PATH_AVX512 };

struct fp4g_state {
    int kp;            /* K rounded up to 16 */
    float *ad, *wd;    /* decoded A [M,kp], W [N,kp] */
    float *zero;       /* a zero row of kp: the missing rows of an edge tile */
    enum fp4_path path;
    float pair[256][2]; /* byte -> its two E2M1 values (low nibble first) */
    float scale[256];   /* block scale code -> its value (E8M0 or E4M3) */
};

/* ---- decode ----------------------------------------------------------------------------------- */

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f")))
#define AVX2FMA __attribute__((target("avx2,fma")))

/* 32 elements (16 bytes of codes) times the scales of their two halves */
AVX512 static void decode32_avx512(const uint8_t *src, float s0, float s1, float *dst)
{
    const __m512 lut = _mm512_loadu_ps(fp4_e2m1_value);
    const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)src));
    const __m512 lo = _mm512_permutexvar_ps(_mm512_and_si512(bytes, _mm512_set1_epi32(15)), lut);
    const __m512 hi = _mm512_permutexvar_ps(_mm512_srli_epi32(bytes, 4), lut);
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_ps(dst, _mm512_mul_ps(_mm512_permutex2var_ps(lo, first, hi), _mm512_set1_ps(s0)));
    _mm512_storeu_ps(dst + 16, _mm512_mul_ps(_mm512_permutex2var_ps(lo, second, hi), _mm512_set1_ps(s1)));
}
#endif

static void decode_row(const struct fp4g_state *st, const uint8_t *row, const uint8_t *scales, int k, enum kb_dtype t,
                       float *dst)
{
    const int b = fp4_block(t);
    int j = 0;
#if defined(__x86_64__)
    if (st->path == PATH_AVX512)
        for (; j + 32 <= k; j += 32) /* a chunk of 32 is one MX block or two NV blocks */
            decode32_avx512(row + j / 2, st->scale[scales[j / b]], st->scale[scales[(j + 16) / b]], dst + j);
#endif
    for (; j + 1 < k; j += 2) {
        const float s = st->scale[scales[j / b]]; /* j even: j and j+1 share a block */
        dst[j] = st->pair[row[j / 2]][0] * s;
        dst[j + 1] = st->pair[row[j / 2]][1] * s;
    }
    for (; j < k; j++)
        dst[j] = fp4_e2m1_value[fp4_get(row, j)] * st->scale[scales[j / b]];
    for (; j < st->kp; j++)
        dst[j] = 0;
}

/* ---- the 4×4 tile ----------------------------------------------------------------------------- */

/* y[r][c] += Σ_{k in [0,len)} a[r][k]·w[c][k]; len a multiple of 16 */
static void tile_scalar(const float *const a[FP4_MR], const float *const w[FP4_NR], int len, float y[FP4_MR][FP4_NR])
{
    for (int r = 0; r < FP4_MR; r++)
        for (int c = 0; c < FP4_NR; c++) {
            float s = 0;
            for (int k = 0; k < len; k++)
                s += a[r][k] * w[c][k];
            y[r][c] += s;
        }
}

#if defined(__x86_64__)
/* Written out register by register: at -O2 GCC keeps an array of accumulators in memory */
#define FMA_ROW(r, av) \
    acc##r##0 = _mm512_fmadd_ps(av, w0, acc##r##0), acc##r##1 = _mm512_fmadd_ps(av, w1, acc##r##1), \
    acc##r##2 = _mm512_fmadd_ps(av, w2, acc##r##2), acc##r##3 = _mm512_fmadd_ps(av, w3, acc##r##3)
AVX512 static void tile_avx512(const float *const a[FP4_MR], const float *const w[FP4_NR], int len,
                               float y[FP4_MR][FP4_NR])
{
    __m512 acc00 = _mm512_setzero_ps(), acc01 = acc00, acc02 = acc00, acc03 = acc00;
    __m512 acc10 = acc00, acc11 = acc00, acc12 = acc00, acc13 = acc00;
    __m512 acc20 = acc00, acc21 = acc00, acc22 = acc00, acc23 = acc00;
    __m512 acc30 = acc00, acc31 = acc00, acc32 = acc00, acc33 = acc00;
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    const float *p0 = w[0], *p1 = w[1], *p2 = w[2], *p3 = w[3];
    for (int k = 0; k < len; k += 16) {
        const __m512 w0 = _mm512_loadu_ps(p0 + k), w1 = _mm512_loadu_ps(p1 + k), w2 = _mm512_loadu_ps(p2 + k),
                     w3 = _mm512_loadu_ps(p3 + k);
        FMA_ROW(0, _mm512_loadu_ps(a0 + k));
        FMA_ROW(1, _mm512_loadu_ps(a1 + k));
        FMA_ROW(2, _mm512_loadu_ps(a2 + k));
        FMA_ROW(3, _mm512_loadu_ps(a3 + k));
    }
    const __m512 acc[FP4_MR][FP4_NR] = { { acc00, acc01, acc02, acc03 }, { acc10, acc11, acc12, acc13 },
                                         { acc20, acc21, acc22, acc23 }, { acc30, acc31, acc32, acc33 } };
    for (int r = 0; r < FP4_MR; r++)
        for (int c = 0; c < FP4_NR; c++)
            y[r][c] += _mm512_reduce_add_ps(acc[r][c]);
}
#undef FMA_ROW

AVX2FMA static float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* two rows at a time: 8 accumulators and 6 loads fit AVX2's 16 registers (written out: at -O2
 * GCC keeps an array of accumulators in memory) */
AVX2FMA static void tile_avx2(const float *const a[FP4_MR], const float *const w[FP4_NR], int len,
                              float y[FP4_MR][FP4_NR])
{
    for (int r0 = 0; r0 < FP4_MR; r0 += 2) {
        __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        const float *a0 = a[r0], *a1 = a[r0 + 1], *p0 = w[0], *p1 = w[1], *p2 = w[2], *p3 = w[3];
        for (int k = 0; k < len; k += 8) {
            const __m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k);
            __m256 wv = _mm256_loadu_ps(p0 + k);
            c00 = _mm256_fmadd_ps(x0, wv, c00), c10 = _mm256_fmadd_ps(x1, wv, c10);
            wv = _mm256_loadu_ps(p1 + k);
            c01 = _mm256_fmadd_ps(x0, wv, c01), c11 = _mm256_fmadd_ps(x1, wv, c11);
            wv = _mm256_loadu_ps(p2 + k);
            c02 = _mm256_fmadd_ps(x0, wv, c02), c12 = _mm256_fmadd_ps(x1, wv, c12);
            wv = _mm256_loadu_ps(p3 + k);
            c03 = _mm256_fmadd_ps(x0, wv, c03), c13 = _mm256_fmadd_ps(x1, wv, c13);
        }
        y[r0][0] += hsum256(c00), y[r0][1] += hsum256(c01), y[r0][2] += hsum256(c02), y[r0][3] += hsum256(c03);
        y[r0 + 1][0] += hsum256(c10), y[r0 + 1][1] += hsum256(c11), y[r0 + 1][2] += hsum256(c12),
            y[r0 + 1][3] += hsum256(c13);
    }
}
#endif

static void tile(enum fp4_path p, const float *const a[FP4_MR], const float *const w[FP4_NR], int len,
                 float y[FP4_MR][FP4_NR])
{
#if defined(__x86_64__)
    if (p == PATH_AVX512) {
        tile_avx512(a, w, len, y);
        return;
    }
    if (p == PATH_AVX2) {
        tile_avx2(a, w, len, y);
        return;
    }
#endif
    (void)p;
    tile_scalar(a, w, len, y);
}

/* ---- implementation --------------------------------------------------------------------------- */

static double fp4g_workspace(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return 4.0 * ((double)s->m + s->n + 1) * (s->k + 16) + 4096;
}

static void fp4g_teardown(struct kb_case *c)
{
    struct fp4g_state *st = c->state;
    if (st) {
        free(st->ad);
        free(st->wd);
        free(st->zero);
        free(st);
    }
    c->state = NULL;
}

static int fp4g_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct fp4g_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "quant.fp4_gemm: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->kp = (c->shape.k + 15) / 16 * 16;
    st->ad = quant_alloc((size_t)c->shape.m * st->kp * sizeof(float));
    st->wd = quant_alloc((size_t)c->shape.n * st->kp * sizeof(float));
    st->zero = quant_alloc((size_t)st->kp * sizeof(float));
    if (!st->ad || !st->wd || !st->zero) {
        snprintf(err, errlen, "quant.fp4_gemm: out of memory for the decoded operands");
        fp4g_teardown(c);
        return KB_ERROR;
    }
    memset(st->zero, 0, (size_t)st->kp * sizeof(float));
    for (int byte = 0; byte < 256; byte++) {
        st->pair[byte][0] = fp4_e2m1_value[byte & 15];
        st->pair[byte][1] = fp4_e2m1_value[byte >> 4];
        st->scale[byte] = fp4_scale_value((uint8_t)byte, c->dtype);
    }
    st->path = PATH_SCALAR;
#if defined(__x86_64__)
    if (kb_cpu_has(KB_CPU_AVX512F))
        st->path = PATH_AVX512;
    else if (kb_cpu_has(KB_CPU_AVX2 | KB_CPU_FMA))
        st->path = PATH_AVX2;
#endif
    return KB_OK;
}

static int fp4g_run(struct kb_case *c)
{
    struct fp4g_state *st = c->state;
    const int m = c->shape.m, n = c->shape.n, k = c->shape.k, kp = st->kp, nt = c->threads > 0 ? c->threads : 1;
    const enum kb_dtype t = c->dtype;
    const size_t rb = fp4_row_bytes(k), nb = (size_t)fp4_blocks(k, t);
    const uint8_t *a = kb_input(c, KB_FP4G_A), *as = kb_input(c, KB_FP4G_A_SCALES);
    const uint8_t *w = kb_input(c, KB_FP4G_W), *ws = kb_input(c, KB_FP4G_W_SCALES);
    const float *ts = kb_input(c, KB_FP4G_TENSOR_SCALES);
    const float scale = ts[0] * ts[1];
    float *y = kb_output(c, KB_FP4G_Y);
    const int row_tiles = (m + FP4_MR - 1) / FP4_MR;
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
        for (int i = 0; i < m + n; i++) {
            if (i < m)
                decode_row(st, a + (size_t)i * rb, as + (size_t)i * nb, k, t, st->ad + (size_t)i * kp);
            else
                decode_row(st, w + (size_t)(i - m) * rb, ws + (size_t)(i - m) * nb, k, t, st->wd + (size_t)(i - m) * kp);
        }
        /* each thread owns a contiguous run of row tiles of Y */
#ifdef _OPENMP
        const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
#else
        const int tid = 0, nth = 1;
#endif
        const int t0 = (int)((long)row_tiles * tid / nth), t1 = (int)((long)row_tiles * (tid + 1) / nth);
        for (int i = t0 * FP4_MR; i < m && i < t1 * FP4_MR; i++)
            memset(y + (size_t)i * n, 0, (size_t)n * sizeof(float));
        for (int k0 = 0; k0 < kp; k0 += FP4_KC) {
            const int len = kp - k0 < FP4_KC ? kp - k0 : FP4_KC;
            for (int n0 = 0; n0 < n; n0 += FP4_NC) {
                const int n1 = n0 + FP4_NC < n ? n0 + FP4_NC : n;
                for (int ti = t0; ti < t1; ti++) {
                    const int i0 = ti * FP4_MR;
                    const float *ar[FP4_MR];
                    for (int r = 0; r < FP4_MR; r++)
                        ar[r] = (i0 + r < m ? st->ad + (size_t)(i0 + r) * kp : st->zero) + k0;
                    for (int j0 = n0; j0 < n1; j0 += FP4_NR) {
                        const float *wr[FP4_NR];
                        for (int q = 0; q < FP4_NR; q++)
                            wr[q] = (j0 + q < n1 ? st->wd + (size_t)(j0 + q) * kp : st->zero) + k0;
                        float acc[FP4_MR][FP4_NR] = { { 0 } };
                        tile(st->path, ar, wr, len, acc);
                        for (int r = 0; r < FP4_MR && i0 + r < m; r++)
                            for (int q = 0; q < FP4_NR && j0 + q < n1; q++)
                                y[(size_t)(i0 + r) * n + j0 + q] += acc[r][q];
                    }
                }
            }
        }
        if (scale != 1.0f)
            for (int i = t0 * FP4_MR; i < m && i < t1 * FP4_MR; i++)
                for (int j = 0; j < n; j++)
                    y[(size_t)i * n + j] *= scale;
    }
    return KB_OK;
}

const struct kb_kernel kb_quant_fp4_gemm_cpu = {
    .name = "quant.fp4_gemm",
    .impl = "cpu",
    .description = "emulated FP4 GEMM: LUT decode (AVX-512 vpermps) to f32, blocked FMA tiles (AVX-512 / AVX2 / scalar)",
    .op = &kb_op_quant_fp4_gemm,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_MXFP4) | KB_DTYPE_BIT(KB_DTYPE_NVFP4),
    .footprint = fp4g_workspace,
    .setup = fp4g_setup,
    .run = fp4g_run,
    .teardown = fp4g_teardown,
};
