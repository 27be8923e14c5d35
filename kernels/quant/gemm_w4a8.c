/* gemm_w4a8.c - quant.gemm_w4a8@cpu: INT4 weights with per-group scales × INT8 or FP8 (e4m3)
 * activations, float32 output (FireQ-style W4A8; the catalogue's fp16 output is float32 here).
 * The operation (kernels/gemm/gemm_ops.h) makes the inputs and gives the float64 verdict; this
 * file adds the kernel and its exact check (gemm_w4a8_check_exact, shared with @cuda.mma).
 *
 *   W [N,K] int4, packed two per byte (low nibble first), one float scale per group of g
 *   consecutive k of a row; A [M,K] int8 (dtype i8) or e4m3 codes (dtype e4m3), one scale for
 *   the tensor. For each group an exact integer partial sum, then float32:
 *     P_g = Σ_{k∈g} â[k]·w[k]  (int32)      acc ← acc + (float)P_g · s_w[n][g]   (in group order)
 *     Y[i][n] = acc · ŝ_a
 *   where â is the int8 code (i8; ŝ_a = s_a) or the e4m3 value times 2^9 — every e4m3 value is
 *   an integer multiple of 2^-9, |â| ≤ 448·2^9 < 2^18 — so the FP8 products are integers too
 *   (ŝ_a = s_a·2^-9). P_g fits int32 while g·2^18·7 < 2^31: g ≤ 1024 for e4m3 (checked).
 *   Integer partials make the result independent of summation order: the SIMD kernel and the
 *   scalar emulation agree bit for bit (the float steps are the same operations in the same
 *   order; no FMA contraction under -std=c11).
 *
 * AVX2 path: per 32 k, 16 packed bytes are unpacked in registers (mask, shift, interleave) into
 * 32 nibbles in k order; i8 activations meet them through vpmaddubsw with the nibble as the
 * unsigned operand u = w + 8 (the nibble with its top bit flipped, 0..15) and the correction
 * P_g = Σ u·a − 8·Σ_g a (row-group sums of A computed once per run); e4m3 activations (int32
 * after a 256-entry table) through vpmulld. Four rows of A share each unpacked weight vector.
 * Groups whose size is odd or not a multiple of 32 finish with a scalar tail. */
#include "kernels/quant/quant.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/gemm/gemm_ref.h"
#include "kernels/quant/fp8.h"
#include "kernels/quant/gemm_w4a8.h"

#define W4A8_ROWS 4 /* rows of A per weight unpack */

struct w4a8_state {
    int m, n, k, g, groups;
    enum kb_dtype t;
    const uint8_t *a_codes; /* [M,K] int8 or e4m3 codes: the operation's input */
    const uint8_t *w4;      /* [N, rb] packed int4 */
    size_t rb;
    const float *s_w;       /* [N, groups] */
    float s_a_eff;          /* ŝ_a */
    int32_t lut[256];       /* e4m3 code → value·2^9 */
    int32_t *a_int;         /* [M,K] run-time: e4m3 activations as integers */
    int32_t *a_gsum;        /* [M, groups] run-time: Σ_g a (i8 offset correction) */
    float *y;               /* [M,N]: the operation's output */
    int use_avx2, nthreads;
    /* the panel paths (i8 only): W packed once in setup (gemm_w4a8_vnni.c's layout), one group
     * of a tile by AVX-512 VNNI, AVX-VNNI or AVX2; NULL: the per-column path below */
    void (*group)(const int8_t *const a[W4A8_VNNI_MR], int steps, const uint8_t *wp, const int32_t asum[W4A8_VNNI_MR],
                  const float *sw, float *facc);
    const char *group_path;
    int steps_full;         /* 8-k steps of a whole group */
    size_t panel_steps;     /* 8-k steps of a panel, over all groups */
    uint8_t *wpk;           /* [N/32 panels][panel_steps][128 bytes] */
    float *swpk;            /* [N/32 panels][groups][32] scales (0 past N) */
    int8_t *padbuf;         /* per thread: a ragged group's activations, zero-padded */
};

/* The case's operands and the derived constants, as the kernel and the emulation read them. */
static void w4a8_view(struct w4a8_state *st, const struct kb_case *c)
{
    st->m = c->shape.m, st->n = c->shape.n, st->k = c->shape.k, st->t = c->dtype;
    st->g = c->shape.group < c->shape.k ? c->shape.group : c->shape.k;
    st->groups = (st->k + st->g - 1) / st->g;
    st->rb = quant_row_bytes(st->k, KB_DTYPE_I4);
    st->a_codes = kb_input(c, KB_W4A8_A);
    st->w4 = kb_input(c, KB_W4A8_W);
    st->s_w = kb_input(c, KB_W4A8_W_SCALES);
    st->y = c->io.buffer[KB_W4A8_Y];
    const float s_a = *(const float *)kb_input(c, KB_W4A8_A_SCALE);
    st->s_a_eff = c->dtype == KB_DTYPE_I8 ? s_a : s_a * 0x1p-9f;
    for (int code = 0; code < 256; code++) {
        float v = fp8_decode((uint8_t)code, FP8_E4M3);
        st->lut[code] = isfinite(v) ? (int32_t)(v * 512.0f) : 0; /* NaN codes are never produced */
    }
}

static int32_t act_int(const struct w4a8_state *st, int i, int k)
{
    uint8_t c = st->a_codes[(size_t)i * st->k + k];
    return st->t == KB_DTYPE_I8 ? (int32_t)(int8_t)c : st->lut[c];
}

/* The scalar emulation: row i of Y. */
static void w4a8_emulate_row(const struct w4a8_state *st, int i, float *out)
{
    for (int n = 0; n < st->n; n++) {
        const uint8_t *wr = st->w4 + (size_t)n * st->rb;
        float acc = 0.0f;
        for (int gi = 0; gi < st->groups; gi++) {
            int k0 = gi * st->g, k1 = k0 + st->g < st->k ? k0 + st->g : st->k;
            int32_t p = 0;
            for (int k = k0; k < k1; k++)
                p += act_int(st, i, k) * quant_i4_get(wr, k);
            float term = (float)p * st->s_w[(size_t)n * st->groups + gi];
            acc = acc + term;
        }
        out[n] = acc * st->s_a_eff;
    }
}

/* ---- AVX2 ------------------------------------------------------------------------------------ */
#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))

/* 32 nibbles of 16 packed bytes, in k order, as u = w + 8 (unsigned 0..15). */
AVX2 static inline __m256i unpack_u4(const uint8_t *p)
{
    const __m128i mask = _mm_set1_epi8(0x0F);
    __m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_set1_epi8((char)0x88));
    __m128i lo = _mm_and_si128(b, mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
    return _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
}

AVX2 static inline int32_t hsum8(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* Y rows r0[0..3] (pointers may repeat for a ragged block) × column n. */
AVX2 static void w4a8_block_avx2(const struct w4a8_state *st, const int *rows, int n, float *outs[W4A8_ROWS])
{
    const uint8_t *wr = st->w4 + (size_t)n * st->rb;
    const __m256i ones = _mm256_set1_epi16(1), eight = _mm256_set1_epi8(8);
    float acc[W4A8_ROWS] = { 0 };
    for (int gi = 0; gi < st->groups; gi++) {
        const int k0 = gi * st->g, k1 = k0 + st->g < st->k ? k0 + st->g : st->k;
        __m256i s[W4A8_ROWS];
        for (int r = 0; r < W4A8_ROWS; r++)
            s[r] = _mm256_setzero_si256();
        int k = k0;
        if ((k0 & 1) == 0) {
            for (; k + 32 <= k1; k += 32) {
                const __m256i u = unpack_u4(wr + k / 2);
                if (st->t == KB_DTYPE_I8) {
                    for (int r = 0; r < W4A8_ROWS; r++) {
                        __m256i a = _mm256_loadu_si256((const __m256i *)(st->a_codes + (size_t)rows[r] * st->k + k));
                        s[r] = _mm256_add_epi32(s[r], _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), ones));
                    }
                } else {
                    const __m256i w = _mm256_sub_epi8(u, eight);
                    const __m256i w0 = _mm256_cvtepi8_epi32(_mm256_castsi256_si128(w));
                    const __m256i w1 = _mm256_cvtepi8_epi32(_mm_srli_si128(_mm256_castsi256_si128(w), 8));
                    const __m256i w2 = _mm256_cvtepi8_epi32(_mm256_extracti128_si256(w, 1));
                    const __m256i w3 = _mm256_cvtepi8_epi32(_mm_srli_si128(_mm256_extracti128_si256(w, 1), 8));
                    for (int r = 0; r < W4A8_ROWS; r++) {
                        const int32_t *a = st->a_int + (size_t)rows[r] * st->k + k;
                        __m256i t = _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)a), w0);
                        t = _mm256_add_epi32(t, _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(a + 8)), w1));
                        t = _mm256_add_epi32(t, _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(a + 16)), w2));
                        t = _mm256_add_epi32(t, _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(a + 24)), w3));
                        s[r] = _mm256_add_epi32(s[r], t);
                    }
                }
            }
        }
        const int simd_end = k;
        for (int r = 0; r < W4A8_ROWS; r++) {
            int32_t p = hsum8(s[r]);
            if (st->t == KB_DTYPE_I8 && simd_end > k0) {
                /* Σ u·a over the SIMD part = Σ w·a + 8·Σ a: take the 8·Σ a back out */
                int32_t asum = 0;
                if (simd_end == k1)
                    asum = st->a_gsum[(size_t)rows[r] * st->groups + gi];
                else
                    for (int kk = k0; kk < simd_end; kk++)
                        asum += (int8_t)st->a_codes[(size_t)rows[r] * st->k + kk];
                p -= 8 * asum;
            }
            for (int kk = simd_end; kk < k1; kk++)
                p += act_int(st, rows[r], kk) * quant_i4_get(wr, kk);
            float term = (float)p * st->s_w[(size_t)n * st->groups + gi];
            acc[r] = acc[r] + term;
        }
    }
    for (int r = 0; r < W4A8_ROWS; r++)
        outs[r][n] = acc[r] * st->s_a_eff;
}
#endif

/* ---- AVX-512 VNNI driver (micro-kernel and layout: gemm_w4a8_vnni.c) ----------------------- */

/* The packed weights and scales of every panel: setup's work, once (the weights are static). */
static int vnni_pack(struct w4a8_state *st)
{
    const int NR = W4A8_VNNI_NR, panels = (st->n + NR - 1) / NR;
    const int last = st->k - (st->groups - 1) * st->g;
    st->steps_full = (st->g + 7) / 8;
    st->panel_steps = (size_t)(st->groups - 1) * st->steps_full + (size_t)(last + 7) / 8;
    st->wpk = quant_alloc((size_t)panels * st->panel_steps * 128);
    st->swpk = quant_alloc((size_t)panels * st->groups * NR * sizeof(float));
    st->padbuf = malloc((size_t)st->nthreads * W4A8_VNNI_MR * st->steps_full * 8);
    if (!st->wpk || !st->swpk || !st->padbuf)
        return -1;
    memset(st->wpk, 0, (size_t)panels * st->panel_steps * 128);
    for (int pn = 0; pn < panels; pn++)
        for (int gi = 0; gi < st->groups; gi++) {
            const int k0 = gi * st->g, k1 = k0 + st->g < st->k ? k0 + st->g : st->k;
            uint8_t *dst = st->wpk + ((size_t)pn * st->panel_steps + (size_t)gi * st->steps_full) * 128;
            for (int jj = 0; jj < NR; jj++) {
                const int col = pn * NR + jj;
                st->swpk[((size_t)pn * st->groups + gi) * NR + jj] = col < st->n ? st->s_w[(size_t)col * st->groups + gi] : 0.0f;
                if (col >= st->n)
                    continue; /* u = 0: the padding columns multiply to nothing */
                const uint8_t *wr = st->w4 + (size_t)col * st->rb;
                for (int k = k0; k < k1; k++) {
                    const int r = k - k0, step = r / 8, t = r % 4, high = (r % 8) >= 4;
                    const uint8_t u = (uint8_t)(quant_i4_get(wr, k) + 8);
                    dst[(size_t)step * 128 + (jj / 16) * 64 + (jj % 16) * 4 + t] |= (uint8_t)(high ? u << 4 : u);
                }
            }
        }
    return 0;
}

#define W4A8_MC 128 /* rows of A per task: with one weight panel, the L2 working set */

/* Rows [i0, i0 + 8) (clamped to m; repeats for a ragged tile) against panel pn. */
static void vnni_tile(const struct w4a8_state *st, int pn, int i0, int8_t *padbuf)
{
    const int MR = W4A8_VNNI_MR, NR = W4A8_VNNI_NR;
    int row[W4A8_VNNI_MR];
    for (int r = 0; r < MR; r++)
        row[r] = i0 + r < st->m ? i0 + r : i0;
    float facc[W4A8_VNNI_MR * W4A8_VNNI_NR] __attribute__((aligned(64))) = { 0 };
    const uint8_t *wpan = st->wpk + (size_t)pn * st->panel_steps * 128;
    for (int gi = 0; gi < st->groups; gi++) {
        const int k0 = gi * st->g, len = (k0 + st->g < st->k ? st->g : st->k - k0), steps = (len + 7) / 8;
        const int8_t *a[W4A8_VNNI_MR];
        int32_t asum[W4A8_VNNI_MR];
        for (int r = 0; r < MR; r++) {
            const int8_t *src = (const int8_t *)st->a_codes + (size_t)row[r] * st->k + k0;
            asum[r] = st->a_gsum[(size_t)row[r] * st->groups + gi];
            if (len % 8 == 0) {
                a[r] = src;
            } else { /* a ragged group: its activations zero-padded to whole steps */
                int8_t *p = padbuf + (size_t)r * steps * 8;
                memcpy(p, src, (size_t)len);
                memset(p + len, 0, (size_t)(steps * 8 - len));
                a[r] = p;
            }
        }
        st->group(a, steps, wpan + (size_t)gi * st->steps_full * 128, asum,
                        st->swpk + ((size_t)pn * st->groups + gi) * NR, facc);
    }
    const int cols = st->n - pn * NR < NR ? st->n - pn * NR : NR;
    for (int r = 0; r < MR && i0 + r < st->m; r++)
        for (int j = 0; j < cols; j++)
            st->y[(size_t)(i0 + r) * st->n + pn * NR + j] = facc[r * NR + j] * st->s_a_eff;
}

static void vnni_run(const struct w4a8_state *st)
{
    const int panels = (st->n + W4A8_VNNI_NR - 1) / W4A8_VNNI_NR, mblocks = (st->m + W4A8_MC - 1) / W4A8_MC;
    const long ntasks = (long)panels * mblocks;
#pragma omp parallel num_threads(st->nthreads)
    {
#ifdef _OPENMP
        int8_t *padbuf = st->padbuf + (size_t)omp_get_thread_num() * W4A8_VNNI_MR * st->steps_full * 8;
#else
        int8_t *padbuf = st->padbuf;
#endif
        /* panel-major: a thread's consecutive tasks share a panel */
#pragma omp for schedule(static)
        for (long t = 0; t < ntasks; t++) {
            const int pn = (int)(t / mblocks), mb = (int)(t % mblocks);
            const int i1 = (mb + 1) * W4A8_MC < st->m ? (mb + 1) * W4A8_MC : st->m;
            for (int i0 = mb * W4A8_MC; i0 < i1; i0 += W4A8_VNNI_MR)
                vnni_tile(st, pn, i0, padbuf);
        }
    }
}

/* ---- descriptor ------------------------------------------------------------------------------ */

static double w4a8_workspace(const struct kb_shape *s, enum kb_dtype t)
{
    const double m = s->m, k = s->k, g = s->group < s->k ? s->group : s->k;
    /* e4m3 activations as int32, the group sums of i8 activations */
    const double groups = ceil(k / (g > 0 ? g : 1)), panels = ceil(s->n / 32.0);
    /* the VNNI path's packed W (each group padded to 8 k) and scales */
    const double packed = t == KB_DTYPE_I8 ? panels * (groups * (ceil(g / 8.0) + 1) * 128 + groups * 32 * 4) : 0;
    return (t == KB_DTYPE_FP8_E4M3 ? 4 * m * k : 0) + 4 * m * groups + packed + 1024;
}

static void w4a8_teardown(struct kb_case *c)
{
    struct w4a8_state *st = c->state;
    if (!st)
        return;
    free(st->a_int);
    free(st->a_gsum);
    free(st->wpk);
    free(st->swpk);
    free(st->padbuf);
    free(st);
    c->state = NULL;
}

static int w4a8_setup(struct kb_case *c, char *err, size_t errlen)
{
    const int g = c->shape.group < c->shape.k ? c->shape.group : c->shape.k;
    if (c->dtype == KB_DTYPE_FP8_E4M3 && g > 1024) {
        snprintf(err, errlen, "quant.gemm_w4a8: group = %d exceeds 1024, past which an e4m3 group sum may overflow int32", g);
        return KB_UNSUPPORTED;
    }
    struct w4a8_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "quant.gemm_w4a8: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    w4a8_view(st, c);
    const size_t m = (size_t)st->m, k = (size_t)st->k;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->a_int = c->dtype == KB_DTYPE_FP8_E4M3 ? quant_alloc(m * k * sizeof(int32_t)) : NULL;
    st->a_gsum = malloc(m * (size_t)st->groups * sizeof(int32_t));
    if (!st->a_gsum || (c->dtype == KB_DTYPE_FP8_E4M3 && !st->a_int)) {
        snprintf(err, errlen, "quant.gemm_w4a8: out of memory (%.0f bytes)", w4a8_workspace(&c->shape, c->dtype));
        w4a8_teardown(c);
        return KB_ERROR;
    }
#if defined(__x86_64__)
    st->use_avx2 = kb_cpu_has(QUANT_AVX2_NEEDS);
    if (c->dtype == KB_DTYPE_I8) {
        if (kb_cpu_has(W4A8_VNNI_NEEDS))
            st->group = w4a8_vnni_group, st->group_path = "avx512vnni";
        else if (kb_cpu_has(W4A8_AVXVNNI_NEEDS))
            st->group = w4a8_avxvnni_group, st->group_path = "avxvnni";
        else if (kb_cpu_has(W4A8_AVX2_NEEDS))
            st->group = w4a8_avx2_group, st->group_path = "avx2-panels";
    }
    if (st->group && vnni_pack(st) != 0) {
        snprintf(err, errlen, "quant.gemm_w4a8: out of memory for the packed weights");
        w4a8_teardown(c);
        return KB_ERROR;
    }
#endif
    return KB_OK;
}

static int w4a8_run(struct kb_case *c)
{
    struct w4a8_state *st = c->state;
    const int m = st->m, k = st->k;
    /* activation preparation, part of the timed work: integers of the e4m3 codes, group sums */
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (int i = 0; i < m; i++) {
        const uint8_t *ar = st->a_codes + (size_t)i * k;
        if (st->t == KB_DTYPE_FP8_E4M3)
            for (int j = 0; j < k; j++)
                st->a_int[(size_t)i * k + j] = st->lut[ar[j]];
        else
            for (int gi = 0; gi < st->groups; gi++) {
                int k0 = gi * st->g, k1 = k0 + st->g < k ? k0 + st->g : k;
                int32_t sum = 0;
                for (int j = k0; j < k1; j++)
                    sum += (int8_t)ar[j];
                st->a_gsum[(size_t)i * st->groups + gi] = sum;
            }
    }
    if (st->group) {
        vnni_run(st);
        return KB_OK;
    }
    const int blocks = (m + W4A8_ROWS - 1) / W4A8_ROWS;
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (int b = 0; b < blocks; b++) {
        int rows[W4A8_ROWS];
        float *outs[W4A8_ROWS];
        for (int r = 0; r < W4A8_ROWS; r++) {
            rows[r] = b * W4A8_ROWS + r < m ? b * W4A8_ROWS + r : b * W4A8_ROWS; /* ragged: repeat */
            outs[r] = st->y + (size_t)rows[r] * st->n;
        }
#if defined(__x86_64__)
        if (st->use_avx2) {
            for (int n = 0; n < st->n; n++)
                w4a8_block_avx2(st, rows, n, outs);
            continue;
        }
#endif
        for (int r = 0; r < W4A8_ROWS; r++)
            if (r == 0 || rows[r] != rows[0])
                w4a8_emulate_row(st, rows[r], outs[r]);
    }
    return KB_OK;
}

const char *gemm_w4a8_cpu_path(const struct kb_case *c)
{
    const struct w4a8_state *st = c->state;
    return !st ? NULL : st->group ? st->group_path : st->use_avx2 ? "avx2" : "scalar";
}

int gemm_w4a8_check_exact(const struct kb_case *c, struct kb_accuracy *acc)
{
    struct w4a8_state st;
    memset(&st, 0, sizeof st);
    w4a8_view(&st, c);
    long nr;
    long *rows = gemm_sample_rows(&c->shape, c->seed, &nr), mismatches = 0;
    float *emu = malloc((size_t)st.n * sizeof *emu);
    if (!rows || !emu) {
        free(rows);
        free(emu);
        return KB_ERROR;
    }
    for (long r = 0; r < nr; r++) {
        const int i = (int)rows[r];
        const float *yr = st.y + (size_t)i * st.n;
        w4a8_emulate_row(&st, i, emu);
        for (int j = 0; j < st.n; j++)
            mismatches += memcmp(&yr[j], &emu[j], sizeof(float)) != 0;
    }
    acc->exact_checked = nr * st.n;
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
    free(rows);
    free(emu);
    return KB_OK;
}

const struct kb_kernel kb_quant_gemm_w4a8_cpu = {
    .name = "quant.gemm_w4a8",
    .impl = "cpu",
    .description = "INT4 weights (group scales) x INT8 or FP8-e4m3 activations, exact integer group sums, f32 out",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .axes = QUANT_AXES_W4A8,
    .op = &kb_op_quant_gemm_w4a8,
    .footprint = w4a8_workspace,
    .setup = w4a8_setup,
    .run = w4a8_run,
    .check = gemm_w4a8_check_exact,
    .teardown = w4a8_teardown,
};
