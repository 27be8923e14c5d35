/* gemm_int8.c - quant.gemm_int8: W8A8 GEMM, int32 accumulation, dyadic requantization to int8.
 *
 *   Y[i][n] = sat8((acc[i][n] · b_n + 2^(c_n − 1)) >> c_n),  acc = Σ_k A[i][k] · W[n][k]
 *
 * integers only after setup (HAWQ-V3's dyadic arithmetic; quant.h, quant_dyadic_from).
 *
 * Two implementations share the data and the verification:
 *   @cpu        packs A and W, then register tiles over all of K: AVX-512 VNNI (vpdpbusd), AVX2
 *               (vpmaddubsw + vpmaddwd) or portable scalar, picked at setup from the CPU; OpenMP
 *               over (row block × column panel) tasks; each task keeps one W panel in L2 while
 *               its A rows stream past it.
 *   @cpu.naive  one loop nest on the unpacked operands: the baseline of the SIMD gain.
 *
 * The VNNI instruction multiplies unsigned by signed bytes. Activations are signed, so the
 * packed copy holds a + 128 (in [1, 255]) and the result is corrected per column:
 *   Σ_k (a + 128)·w = Σ_k a·w + 128·Σ_k w   ⇒   acc = dpbusd result − 128·colsum[n],
 * colsum computed while packing W. int32 arithmetic wraps, so the correction is exact whenever
 * the true acc fits int32 (K ≤ 131072, checked at setup).
 * AVX2's vpmaddubsw (u8 × s8 → pairs summed into saturating s16) is fed |a| and w·sign(a):
 * a pair sums at most 2·127·127 = 32258 < 32767 because the quantizer never emits −128, so it
 * never saturates; vpmaddwd against ones widens the pairs to int32. */
#include "kernels/quant/gemm_int8.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/verify.h"

/* Outputs whose float64 values fix the output scale s_y at setup: at least 16 rows, and at
 * least this many outputs (a narrow N needs more rows, or rows outside a small sample saturate
 * often enough to dominate the error: 6% at N = 7 with 16 rows). */
#define GEMM_INT8_SCALE_ROWS 16
#define GEMM_INT8_SCALE_OUTPUTS 4096

/* ---- data ----------------------------------------------------------------------------------- */

void gemm_f64_row(const float *a, const float *w, int n, int k, int i, double *out)
{
    const float *ar = a + (size_t)i * k;
    for (int j = 0; j < n; j++) {
        const float *wr = w + (size_t)j * k;
        double s = 0;
        for (int p = 0; p < k; p++)
            s += (double)ar[p] * wr[p];
        out[j] = s;
    }
}

void gemm_int8_data_free(struct gemm_int8_data *d)
{
    free(d->a_f);
    free(d->w_f);
    free(d->a);
    free(d->w);
    free(d->s_w);
    free(d->dy);
    free(d->y);
    memset(d, 0, sizeof *d);
}

static float absmax_f32(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(x[i]));
    return m;
}

int gemm_int8_data_new(struct gemm_int8_data *d, const struct kb_shape *s, uint64_t seed, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    const size_t m = (size_t)s->m, n = (size_t)s->n, k = (size_t)s->k;
    d->m = s->m, d->n = s->n, d->k = s->k;
    /* activations from the case's distribution (outlier channels live there); weights normal */
    d->a_f = quant_input_new(m, k, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    d->w_f = quant_input_new(n, k, quant_sub_seed(seed, QUANT_SEED_B), KB_INPUT_NORMAL);
    d->a = quant_alloc(m * k);
    d->w = quant_alloc(n * k);
    d->s_w = malloc(n * sizeof *d->s_w);
    d->dy = malloc(n * sizeof *d->dy);
    d->y = quant_alloc(m * n);
    long scale_rows = (GEMM_INT8_SCALE_OUTPUTS + (long)n - 1) / (long)n;
    if (scale_rows < GEMM_INT8_SCALE_ROWS)
        scale_rows = GEMM_INT8_SCALE_ROWS;
    long *rows = malloc((size_t)scale_rows * sizeof *rows);
    double *ref = malloc(n * sizeof *ref);
    if (!d->a_f || !d->w_f || !d->a || !d->w || !d->s_w || !d->dy || !d->y || !rows || !ref) {
        snprintf(err, errlen, "quant.gemm_int8: out of memory");
        free(rows);
        free(ref);
        gemm_int8_data_free(d);
        return KB_ERROR;
    }
    d->s_a = quant_scale(absmax_f32(d->a_f, m * k), KB_DTYPE_I8);
    const float inv_a = 1.0f / d->s_a;
    for (size_t i = 0; i < m * k; i++)
        d->a[i] = (int8_t)quant_code(d->a_f[i], inv_a, KB_DTYPE_I8);
    for (size_t j = 0; j < n; j++) {
        d->s_w[j] = quant_scale(absmax_f32(d->w_f + j * k, k), KB_DTYPE_I8);
        const float inv = 1.0f / d->s_w[j];
        for (size_t p = 0; p < k; p++)
            d->w[j * k + p] = (int8_t)quant_code(d->w_f[j * k + p], inv, KB_DTYPE_I8);
    }
    /* Output scale: the largest |y| of a few float64 rows maps to 127 (a calibration, as a
     * deployed model would do offline); rows outside the sample may saturate, as they would. */
    long nr = verify_sample_rows((long)m, scale_rows, seed, rows);
    double ymax = 0;
    for (long r = 0; r < nr; r++) {
        gemm_f64_row(d->a_f, d->w_f, s->n, s->k, (int)rows[r], ref);
        for (size_t j = 0; j < n; j++)
            ymax = fmax(ymax, fabs(ref[j]));
    }
    d->s_y = quant_scale((float)ymax, KB_DTYPE_I8);
    for (size_t j = 0; j < n; j++)
        d->dy[j] = quant_dyadic_from((double)d->s_a * d->s_w[j] / d->s_y);
    free(rows);
    free(ref);
    return KB_OK;
}

void gemm_int8_emulate_row(const struct gemm_int8_data *d, int i, int8_t *out)
{
    const int8_t *ar = d->a + (size_t)i * d->k;
    for (int j = 0; j < d->n; j++) {
        const int8_t *wr = d->w + (size_t)j * d->k;
        int64_t acc = 0;
        for (int p = 0; p < d->k; p++)
            acc += (int64_t)ar[p] * wr[p];
        out[j] = quant_dyadic_requant((int32_t)acc, d->dy[j]);
    }
}

int gemm_int8_verify(const struct gemm_int8_data *d, uint64_t seed, int input, struct kb_accuracy *acc)
{
    long *rows = malloc(QUANT_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)d->n * sizeof *ref);
    int8_t *emu = malloc((size_t)d->n);
    if (!rows || !ref || !emu) {
        free(rows);
        free(ref);
        free(emu);
        return KB_ERROR;
    }
    long nr = verify_sample_rows(d->m, QUANT_VERIFY_ROWS, seed, rows), mismatches = 0;
    struct verify_acc va;
    verify_begin(&va);
    for (long r = 0; r < nr; r++) {
        int i = (int)rows[r];
        const int8_t *yr = d->y + (size_t)i * d->n;
        gemm_int8_emulate_row(d, i, emu);
        gemm_f64_row(d->a_f, d->w_f, d->n, d->k, i, ref);
        for (int j = 0; j < d->n; j++) {
            mismatches += yr[j] != emu[j];
            verify_add(&va, (double)yr[j] * d->s_y, ref[j]);
        }
    }
    verify_finish(&va, input == KB_INPUT_OUTLIER ? QUANT_GEMM_INT8_TOL_OUTLIER : QUANT_GEMM_INT8_TOL, acc);
    acc->rows_checked = nr;
    acc->rows_total = d->m;
    acc->exact_checked = nr * d->n;
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
    free(rows);
    free(ref);
    free(emu);
    return KB_OK;
}

/* ---- scalar tile and dispatch -------------------------------------------------------------- */

#define SCALAR_MR 4
#define SCALAR_NR 16

static void tile_scalar(const uint8_t *a, size_t lda, const int8_t *panel, int k4, int32_t *acc)
{
    int32_t c[SCALAR_MR][SCALAR_NR] = { { 0 } };
    for (int q = 0; q < k4; q++) {
        const int8_t *p = panel + (size_t)q * SCALAR_NR * 4;
        for (int r = 0; r < SCALAR_MR; r++) {
            const int8_t *ar = (const int8_t *)a + r * lda + (size_t)q * 4;
            for (int j = 0; j < SCALAR_NR; j++)
                c[r][j] += ar[0] * p[j * 4] + ar[1] * p[j * 4 + 1] + ar[2] * p[j * 4 + 2] + ar[3] * p[j * 4 + 3];
        }
    }
    memcpy(acc, c, sizeof c);
}

const struct gemm_int8_isa gemm_int8_isa_scalar = {
    .name = "scalar", .mr = SCALAR_MR, .nr = SCALAR_NR, .offset_a = 0, .tile = tile_scalar,
};

/* The VNNI path's arithmetic in portable C: the same 8×32 tile, the same unsigned a + 128
 * operand and column-sum correction, so the driver's offset path is tested on every CPU (only
 * by name: it is never the fastest). */
#define U8_MR 8
#define U8_NR 32

static void tile_scalar_u8(const uint8_t *a, size_t lda, const int8_t *panel, int k4, int32_t *acc)
{
    uint32_t c[U8_MR][U8_NR] = { { 0 } }; /* unsigned: wraps like vpdpbusd's int32 lanes */
    for (int q = 0; q < k4; q++) {
        const int8_t *p = panel + (size_t)q * U8_NR * 4;
        for (int r = 0; r < U8_MR; r++) {
            const uint8_t *ar = a + r * lda + (size_t)q * 4;
            for (int j = 0; j < U8_NR; j++)
                for (int t = 0; t < 4; t++)
                    c[r][j] += (uint32_t)((int32_t)ar[t] * p[j * 4 + t]);
        }
    }
    for (int r = 0; r < U8_MR; r++)
        for (int j = 0; j < U8_NR; j++)
            acc[r * U8_NR + j] = (int32_t)c[r][j];
}

const struct gemm_int8_isa gemm_int8_isa_scalar_u8 = {
    .name = "scalar-u8", .mr = U8_MR, .nr = U8_NR, .offset_a = 1, .tile = tile_scalar_u8,
};

static int isa_runs_here(const struct gemm_int8_isa *isa)
{
#if defined(__x86_64__)
    if (isa == &gemm_int8_isa_avx512vnni)
        return kb_cpu_has(GEMM_INT8_AVX512_NEEDS);
    if (isa == &gemm_int8_isa_avx2)
        return kb_cpu_has(GEMM_INT8_AVX2_NEEDS);
#endif
    return isa == &gemm_int8_isa_scalar;
}

static const struct gemm_int8_isa *const isa_by_preference[] = {
#if defined(__x86_64__)
    &gemm_int8_isa_avx512vnni,
    &gemm_int8_isa_avx2,
#endif
    &gemm_int8_isa_scalar,
};

const struct gemm_int8_isa *gemm_int8_isa_best(void)
{
    for (size_t i = 0; i < sizeof isa_by_preference / sizeof isa_by_preference[0]; i++)
        if (isa_runs_here(isa_by_preference[i]))
            return isa_by_preference[i];
    return &gemm_int8_isa_scalar;
}

const struct gemm_int8_isa *gemm_int8_isa_by_name(const char *name)
{
    if (name && strcmp(name, gemm_int8_isa_scalar_u8.name) == 0)
        return &gemm_int8_isa_scalar_u8;
    for (size_t i = 0; name && i < sizeof isa_by_preference / sizeof isa_by_preference[0]; i++)
        if (strcmp(isa_by_preference[i]->name, name) == 0)
            return isa_runs_here(isa_by_preference[i]) ? isa_by_preference[i] : NULL;
    return NULL;
}

const char *quant_gemm_int8_path(void)
{
    return gemm_int8_isa_best()->name;
}

/* ---- quant.gemm_int8@cpu -------------------------------------------------------------------- */

#define GEMM_MC 128 /* rows of A per task: with one W panel, the L2 working set */


struct gemm_int8_state {
    struct gemm_int8_data d;
    const struct gemm_int8_isa *isa;
    int nthreads;
    uint8_t *apk;    /* packed A, re-packed by every run (activations change per call) */
    int8_t *wpk;     /* packed W, also re-packed by every run: the float32 baseline gets */
    int32_t *colsum; /* no pre-packed weights either, so neither does this kernel */
};

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

static double gemm_int8_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    /* catalogue: M·K + N·K + M·N·s_o + 4·(M + N) scale bytes (s_o = 1: int8 out) */
    return (double)s->m * s->k + (double)s->n * s->k + (double)s->m * s->n + 4.0 * ((double)s->m + s->n);
}

static double gemm_int8_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double m = s->m, n = s->n, k = s->k;
    /* float inputs + codes + packed copies + output + per-column data */
    return 4 * (m + n) * k + 2 * (m + 64) * (k + 4) + 2 * (n + 64) * (k + 4) + m * n + 16 * (n + 64);
}

static void gemm_int8_teardown(struct kb_case *c)
{
    struct gemm_int8_state *st = c->state;
    if (!st)
        return;
    gemm_int8_data_free(&st->d);
    free(st->apk);
    free(st->wpk);
    free(st->colsum);
    free(st);
    c->state = NULL;
}

static int gemm_int8_run(struct kb_case *c);

static int gemm_int8_setup_common(struct kb_case *c, char *err, size_t errlen)
{
    int rc = quant_check_shape(c->kernel->name, &c->shape, QUANT_AXES_GEMM, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_I8) {
        snprintf(err, errlen, "%s: dtype %s not supported (i8 only)", c->kernel->name,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct gemm_int8_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", c->kernel->name);
        return KB_ERROR;
    }
    c->state = st;
    if (gemm_int8_data_new(&st->d, &c->shape, c->seed, err, errlen) != KB_OK) {
        gemm_int8_teardown(c);
        return KB_ERROR;
    }
    st->isa = gemm_int8_isa_best();
    st->nthreads = c->threads > 0 ? c->threads : 1;
    if (c->kernel->run == gemm_int8_run) {
        const size_t k4 = round_up((size_t)c->shape.k, 4), npad = round_up((size_t)c->shape.n, GEMM_NR_MAX);
        st->apk = quant_alloc(round_up((size_t)c->shape.m, GEMM_MR_MAX) * k4);
        st->wpk = quant_alloc(npad * k4);
        st->colsum = quant_alloc(npad * sizeof(int32_t));
        if (!st->apk || !st->wpk || !st->colsum) {
            snprintf(err, errlen, "%s: out of memory for the packed operands", c->kernel->name);
            gemm_int8_teardown(c);
            return KB_ERROR;
        }
    }
    return KB_OK;
}

int gemm_int8_cpu_use_path(struct kb_case *c, const char *name)
{
    const struct gemm_int8_isa *isa = gemm_int8_isa_by_name(name);
    struct gemm_int8_state *st = c->state;
    if (!isa || !st)
        return -1;
    st->isa = isa;
    return 0;
}

void gemm_int8_pack_a_row(const int8_t *src, int k, size_t k4, int offset, uint8_t *dst)
{
    const uint8_t x = offset ? 0x80 : 0; /* a + 128 as an unsigned byte is a with its top bit flipped */
    if (!src) {
        memset(dst, 0, k4); /* a padding row: its outputs are never stored */
        return;
    }
    for (int p = 0; p < k; p++)
        dst[p] = (uint8_t)src[p] ^ x;
    memset(dst + k, x, k4 - (size_t)k);
}

void gemm_int8_pack_w_panel(const int8_t *w, int n, int k, size_t stride_n, size_t stride_k, int nr, size_t k4,
                            int pn, int8_t *dst, int32_t *colsum)
{
    for (int jj = 0; jj < nr; jj++) {
        int j = pn * nr + jj;
        int32_t sum = 0;
        const int8_t *wr = j < n ? w + (size_t)j * stride_n : NULL;
        for (size_t p = 0; p < k4; p++) {
            int8_t v = wr && p < (size_t)k ? wr[p * stride_k] : 0;
            dst[(p / 4) * nr * 4 + (size_t)jj * 4 + p % 4] = v;
            sum += v;
        }
        colsum[jj] = sum;
    }
}

/* One task: rows [mb·GEMM_MC, ..) of the packed A against panel pn, tile by tile. */
static void packed_task(const struct gemm_int8_isa *isa, const uint8_t *apk, int m, size_t k4, const int8_t *wpk,
                        const int32_t *colsum, int n, int mblocks, long t, gemm_int8_epilogue ep, void *ctx)
{
    const int mr = isa->mr, nr = isa->nr;
    const int mpad = (int)round_up((size_t)m, (size_t)mr);
    const int pn = (int)(t / mblocks), mb = (int)(t % mblocks);
    const int8_t *panel = wpk + (size_t)pn * nr * k4;
    const int32_t *cs = colsum + (size_t)pn * nr;
    const int i1 = (mb + 1) * GEMM_MC < mpad ? (mb + 1) * GEMM_MC : mpad;
    const int j0 = pn * nr, jn = n - j0 < nr ? n - j0 : nr;
    int32_t acc[GEMM_MR_MAX * GEMM_NR_MAX];
    for (int i0 = mb * GEMM_MC; i0 < i1; i0 += mr) {
        isa->tile(apk + (size_t)i0 * k4, k4, panel, (int)(k4 / 4), acc);
        const int rows = m - i0 < mr ? m - i0 : mr;
        if (isa->offset_a)
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < jn; j++) /* unsigned wrap-around: exact modulo 2^32 */
                    acc[r * nr + j] = (int32_t)((uint32_t)acc[r * nr + j] - 128u * (uint32_t)cs[j]);
        ep(ctx, i0, rows, j0, jn, acc, nr);
    }
}

void gemm_int8_packed(const struct gemm_int8_isa *isa, const uint8_t *apk, int m, size_t k4, const int8_t *wpk,
                      const int32_t *colsum, int n, int worksharing, gemm_int8_epilogue ep, void *ctx)
{
    const int mpad = (int)round_up((size_t)m, (size_t)isa->mr);
    const int mblocks = (mpad + GEMM_MC - 1) / GEMM_MC;
    const long ntasks = (long)mblocks * ((n + isa->nr - 1) / isa->nr);
    /* panel-major: consecutive tasks of a thread share a W panel, which stays in L2 */
    if (worksharing) {
#pragma omp for schedule(static)
        for (long t = 0; t < ntasks; t++)
            packed_task(isa, apk, m, k4, wpk, colsum, n, mblocks, t, ep, ctx);
    } else {
        for (long t = 0; t < ntasks; t++)
            packed_task(isa, apk, m, k4, wpk, colsum, n, mblocks, t, ep, ctx);
    }
}

/* quant.gemm_int8's epilogue: each column requantized to int8 by its own dyadic. */
static void requant_epilogue(void *ctx, int i0, int rows, int j0, int cols, const int32_t *acc, int ldacc)
{
    const struct gemm_int8_data *d = ctx;
    for (int r = 0; r < rows; r++) {
        int8_t *yr = d->y + (size_t)(i0 + r) * d->n + j0;
        for (int j = 0; j < cols; j++)
            yr[j] = quant_dyadic_requant(acc[r * ldacc + j], d->dy[j0 + j]);
    }
}

static int gemm_int8_run(struct kb_case *c)
{
    struct gemm_int8_state *st = c->state;
    struct gemm_int8_data *d = &st->d;
    const struct gemm_int8_isa *isa = st->isa;
    const int mr = isa->mr, nr = isa->nr;
    const size_t k4 = round_up((size_t)d->k, 4);
    const int mpad = (int)round_up((size_t)d->m, (size_t)mr);
    const int npan = (int)((d->n + nr - 1) / nr);
    uint8_t *apk = st->apk;
    int8_t *wpk = st->wpk;
    int32_t *colsum = st->colsum;

#pragma omp parallel num_threads(st->nthreads)
    {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < mpad; i++)
            gemm_int8_pack_a_row(i < d->m ? d->a + (size_t)i * d->k : NULL, d->k, k4, isa->offset_a,
                                 apk + (size_t)i * k4);
#pragma omp for schedule(static)
        for (int pn = 0; pn < npan; pn++)
            gemm_int8_pack_w_panel(d->w, d->n, d->k, (size_t)d->k, 1, nr, k4, pn, wpk + (size_t)pn * nr * k4,
                                   colsum + (size_t)pn * nr);
        /* (barrier) */
        gemm_int8_packed(isa, apk, d->m, k4, wpk, colsum, d->n, 1, requant_epilogue, d);
    }
    return KB_OK;
}

static int gemm_int8_verify_case(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct gemm_int8_state *st = c->state;
    return gemm_int8_verify(&st->d, c->seed, c->shape.input, acc);
}

static int gemm_int8_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct gemm_int8_state *st = c->state;
    const struct gemm_int8_data *d = &st->d;
    struct kb_tensor t[] = {
        { "a", KB_DTYPE_I8, 2, { d->m, d->k }, d->a, 0 },
        { "w", KB_DTYPE_I8, 2, { d->n, d->k }, d->w, 0 },
        { "w_scales", KB_DTYPE_F32, 1, { d->n }, d->s_w, 0 },
        { "a_f32", KB_DTYPE_F32, 2, { d->m, d->k }, d->a_f, 0 },
        { "w_f32", KB_DTYPE_F32, 2, { d->n, d->k }, d->w_f, 0 },
        { "y", KB_DTYPE_I8, 2, { d->m, d->n }, d->y, 1 },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

const struct kb_kernel kb_quant_gemm_int8_cpu = {
    .name = "quant.gemm_int8",
    .impl = "cpu",
    .description = "W8A8 GEMM, int32 accumulation, dyadic requant to int8 (VNNI/AVX2/scalar, packed W)",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .flops = quant_gemm_flops,
    .bytes = gemm_int8_bytes,
    .footprint = gemm_int8_footprint,
    .setup = gemm_int8_setup_common,
    .run = gemm_int8_run,
    .verify = gemm_int8_verify_case,
    .tensors = gemm_int8_tensors,
    .teardown = gemm_int8_teardown,
};

/* ---- quant.gemm_int8@cpu.naive ------------------------------------------------------------- */

static int gemm_int8_naive_run(struct kb_case *c)
{
    struct gemm_int8_state *st = c->state;
    const struct gemm_int8_data *d = &st->d;
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (int i = 0; i < d->m; i++) {
        const int8_t *ar = d->a + (size_t)i * d->k;
        for (int j = 0; j < d->n; j++) {
            const int8_t *wr = d->w + (size_t)j * d->k;
            int32_t acc = 0;
            for (int p = 0; p < d->k; p++)
                acc += ar[p] * wr[p];
            d->y[(size_t)i * d->n + j] = quant_dyadic_requant(acc, d->dy[j]);
        }
    }
    return KB_OK;
}

const struct kb_kernel kb_quant_gemm_int8_naive = {
    .name = "quant.gemm_int8",
    .impl = "cpu.naive",
    .description = "W8A8 GEMM, the same arithmetic as @cpu in one plain loop nest (the SIMD gain's baseline)",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .flops = quant_gemm_flops,
    .bytes = gemm_int8_bytes,
    .footprint = gemm_int8_footprint,
    .setup = gemm_int8_setup_common,
    .run = gemm_int8_naive_run,
    .verify = gemm_int8_verify_case,
    .tensors = gemm_int8_tensors,
    .teardown = gemm_int8_teardown,
};
