/* fp4_gemm.c - quant.fp4_gemm@cpu: the emulated FP4 GEMM Y = dequant(A)·dequant(W)ᵀ (quant_ops.h)
 * on the CPU. No CPU has FP4 arithmetic, so the operands are decoded to float32 and multiplied
 * with float32 FMAs:
 *
 *   1. decode (timed): every row of A and W to float32 E2M1·block scale (exact), K padded with
 *      zeros to a multiple of 16. AVX-512 decodes 32 elements (16 bytes) at a time: the low and
 *      high nibbles index a 16-entry table with vpermps and vpermt2ps interleaves them back into
 *      element order; elsewhere a 256-entry table gives the two values of a byte.
 *   2. multiply: W's decoded rows go through a transpose into panels of Wᵀ, FP4_NP columns
 *      wide and kp deep, each contiguous ([N/FP4_NP][kp][FP4_NP]: 16 rows of W at a time from
 *      a per-thread buffer; a whole Wᵀ with rows N floats apart cost a TLB miss a row), so
 *      Y += A·Wᵀ is a row-major product per panel: the register-blocked outer-product GEMM of
 *      linear_isa.h (AVX-512 tiles of 6 rows × 64 columns: 24 accumulators fed by one
 *      broadcast of A and four loads of Wᵀ per step; AVX2 6 × 16; scalar), blocked by FP4_NC
 *      columns (a block of Y stays in L2) and FP4_KC of K (a panel's block, 32 KiB, stays in
 *      L1), each thread over its own rows of Y.
 *   3. Y times s_tA·s_tW (NVFP4's tensor scales; 1 for MXFP4), in the last K block's epilogue.
 * The sums run in float32 in their own order: the operation checks each element against the
 * float64 sum within float32 accumulation error. */
#include "kernels/quant/fp4.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_ops.h"
#include "kernels/cpu_features.h"
#include "kernels/attention/linear_isa.h" /* the CPU kernels' shared register-blocked GEMM */

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

#define FP4_KC 128 /* K per product: a 64-column panel of Wᵀ (32 KiB) stays in L1 */
#define FP4_NC 512 /* columns of Y per block: a thread's rows of them stay in L2 across K */
#define FP4_WR 16  /* rows of W decoded, then transposed, together */
#define FP4_NP 64  /* columns of a panel of Wᵀ (a multiple of FP4_WR) */

enum fp4_path { PATH_SCALAR, PATH_AVX2, PATH_AVX512 };

struct fp4g_state {
    int kp;              /* K rounded up to 16 */
    float *ad, *wt;      /* decoded A [M,kp], decoded W as panels of Wᵀ [N/FP4_NP][kp][FP4_NP] */
    float *wrows;        /* per thread: FP4_WR decoded rows of W [FP4_WR,kp] */
    float *rowscale;     /* [M]: s_tA·s_tW, for the last K block */
    int nthreads;
    enum fp4_path path;  /* the decode's */
    const struct linear_isa *isa;
    float pair[256][2]; /* byte -> its two E2M1 values (low nibble first) */
    float scale[256];   /* block scale code -> its value (E8M0 or E4M3) */
};

/* ---- decode ----------------------------------------------------------------------------------- */

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f")))

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

/* ---- implementation --------------------------------------------------------------------------- */

static double fp4g_workspace(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    /* decoded operands, one thread's W rows and the row scales (one thread: the footprint's
     * convention) */
    return 4.0 * (((double)s->m + (s->n + FP4_NP - 1) / FP4_NP * FP4_NP + FP4_WR) * (s->k + 16) + s->m) + 4096;
}

static void fp4g_teardown(struct kb_case *c)
{
    struct fp4g_state *st = c->state;
    if (st) {
        free(st->ad);
        free(st->wt);
        free(st->wrows);
        free(st->rowscale);
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
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->ad = quant_alloc((size_t)c->shape.m * st->kp * sizeof(float));
    st->wt = quant_alloc((size_t)(c->shape.n + FP4_NP - 1) / FP4_NP * FP4_NP * st->kp * sizeof(float));
    st->wrows = quant_alloc((size_t)st->nthreads * FP4_WR * st->kp * sizeof(float));
    st->rowscale = quant_alloc((size_t)c->shape.m * sizeof(float));
    if (!st->ad || !st->wt || !st->wrows || !st->rowscale) {
        snprintf(err, errlen, "quant.fp4_gemm: out of memory for the decoded operands");
        fp4g_teardown(c);
        return KB_ERROR;
    }
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
    st->isa = linear_isa_best();
    return KB_OK;
}

static int fp4g_run(struct kb_case *c)
{
    struct fp4g_state *st = c->state;
    const int m = c->shape.m, n = c->shape.n, k = c->shape.k, kp = st->kp, nt = st->nthreads;
    const enum kb_dtype t = c->dtype;
    const size_t rb = fp4_row_bytes(k), nb = (size_t)fp4_blocks(k, t);
    const uint8_t *a = kb_input(c, KB_FP4G_A), *as = kb_input(c, KB_FP4G_A_SCALES);
    const uint8_t *w = kb_input(c, KB_FP4G_W), *ws = kb_input(c, KB_FP4G_W_SCALES);
    const float *ts = kb_input(c, KB_FP4G_TENSOR_SCALES);
    const float scale = ts[0] * ts[1];
    float *y = kb_output(c, KB_FP4G_Y);
    const struct linear_isa *isa = st->isa;
    const int wgroups = (n + FP4_WR - 1) / FP4_WR;
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
#else
        const int tid = 0, nth = 1;
#endif
#pragma omp for schedule(static) nowait
        for (int i = 0; i < m; i++) {
            decode_row(st, a + (size_t)i * rb, as + (size_t)i * nb, k, t, st->ad + (size_t)i * kp);
            st->rowscale[i] = scale;
        }
        float *wrows = st->wrows + (size_t)tid * FP4_WR * kp;
#pragma omp for schedule(static)
        for (int g = 0; g < wgroups; g++) {
            const int j0 = g * FP4_WR, rows = n - j0 < FP4_WR ? n - j0 : FP4_WR;
            for (int r = 0; r < rows; r++)
                decode_row(st, w + (size_t)(j0 + r) * rb, ws + (size_t)(j0 + r) * nb, k, t, wrows + (size_t)r * kp);
            /* into its panel (the padding rows of Wᵀ are zeros too; a last panel's columns past
             * N are never read) */
            isa->transpose(rows, kp, wrows, kp, st->wt + (size_t)(j0 / FP4_NP) * kp * FP4_NP + j0 % FP4_NP, FP4_NP,
                           NULL);
        }
        /* (the loop's barrier: every thread's products read all of Wᵀ) each thread owns a
         * contiguous run of Y's rows */
        const int i0 = (int)((long)m * tid / nth), i1 = (int)((long)m * (tid + 1) / nth);
        for (int n0 = 0; n0 < n && i0 < i1; n0 += FP4_NC) {
            const int nc = n - n0 < FP4_NC ? n - n0 : FP4_NC;
            for (int k0 = 0; k0 < kp; k0 += FP4_KC) {
                const int kc = kp - k0 < FP4_KC ? kp - k0 : FP4_KC;
                const int last = k0 + kc >= kp;
                for (int j0 = n0; j0 < n0 + nc; j0 += FP4_NP) {
                    const int cols = n - j0 < FP4_NP ? n - j0 : FP4_NP;
                    const float *panel = st->wt + (size_t)(j0 / FP4_NP) * kp * FP4_NP + (size_t)k0 * FP4_NP;
                    /* the first block writes Y (beta 0), the last scales it */
                    isa->gemm_ex(i1 - i0, cols, kc, st->ad + (size_t)i0 * kp + k0, kp, panel, FP4_NP,
                                 y + (size_t)i0 * n + j0, n, k0 == 0 ? 0.0f : 1.0f,
                                 last && scale != 1.0f ? st->rowscale + i0 : NULL, NULL);
                }
            }
        }
    }
    return KB_OK;
}

const struct kb_kernel kb_quant_fp4_gemm_cpu = {
    .name = "quant.fp4_gemm",
    .impl = "cpu",
    .description = "emulated FP4 GEMM: LUT decode (AVX-512 vpermps) to f32, W transposed, register-blocked "
                   "outer-product GEMM (linear_isa: AVX-512 / AVX2 / scalar)",
    .op = &kb_op_quant_fp4_gemm,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_MXFP4) | KB_DTYPE_BIT(KB_DTYPE_NVFP4),
    .footprint = fp4g_workspace,
    .setup = fp4g_setup,
    .run = fp4g_run,
    .teardown = fp4g_teardown,
};
