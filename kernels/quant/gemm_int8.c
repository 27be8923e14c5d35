/* gemm_int8.c - quant.gemm_int8: W8A8 GEMM, int32 accumulation, dyadic requantization to int8.
 *
 *   Y[i][n] = sat8((acc[i][n] · b_n + 2^(c_n − 1)) >> c_n),  acc = Σ_k A[i][k] · W[n][k]
 *
 * integers only after setup (HAWQ-V3's dyadic arithmetic; quant.h, quant_dyadic_from).
 *
 * Two implementations of the operation gemm at dtype i8 (kernels/gemm/gemm_ops.h: the inputs,
 * scales, dyadics and the float64 verdict are the operation's); both are also checked bit for
 * bit against the scalar emulation (gemm_int8_check_exact, shared with the CUDA kernels):
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
 * the true acc fits int32 (K ≤ 131072, which the operation requires at i8).
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

#include "kernels/gemm/gemm_ref.h"

/* ---- the exact check ------------------------------------------------------------------------ */

long gemm_int8_emulation_diff(const struct kb_case *c, int max_units, long *checked)
{
    const struct kb_shape *s = &c->shape;
    const int8_t *a = kb_input(c, KB_GEMM_A), *w = kb_input(c, KB_GEMM_W), *y = c->io.tensor[KB_GEMM_Y].data;
    const int32_t *b = kb_input(c, KB_GEMM_REQUANT), *sh = b + s->n;
    long nr, differ = 0;
    long *rows = gemm_sample_rows(s, c->seed, &nr);
    if (!rows)
        return -1;
    for (long r = 0; r < nr; r++) {
        const int i = (int)rows[r];
        const int8_t *ar = a + (size_t)i * s->k;
        for (int j = 0; j < s->n; j++) {
            const int8_t *wr = w + (size_t)j * s->k;
            int64_t acc = 0;
            for (int p = 0; p < s->k; p++)
                acc += (int64_t)ar[p] * wr[p];
            struct quant_dyadic d = { b[j], sh[j] };
            differ += abs((int)y[(size_t)i * s->n + j] - (int)quant_dyadic_requant((int32_t)acc, d)) > max_units;
        }
    }
    free(rows);
    *checked = nr * s->n;
    return differ;
}

int gemm_int8_check_exact(const struct kb_case *c, struct kb_accuracy *acc)
{
    long checked;
    long mismatches = gemm_int8_emulation_diff(c, 0, &checked);
    if (mismatches < 0)
        return KB_ERROR;
    acc->exact_checked = checked;
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
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

/* The workspace beyond the operands: packed copies and column sums (@cpu only). */
static double gemm_int8_workspace(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double m = s->m, n = s->n, k = s->k;
    return (m + 64) * (k + 4) + (n + 64) * (k + 4) + 4 * (n + 64) + 256;
}

static void gemm_int8_teardown(struct kb_case *c)
{
    struct gemm_int8_state *st = c->state;
    if (!st)
        return;
    free(st->apk);
    free(st->wpk);
    free(st->colsum);
    free(st);
    c->state = NULL;
}

static int gemm_int8_run(struct kb_case *c);

/* The operation made and checked the inputs (shape, dtype i8); this adds the path and, for
 * @cpu, the packed buffers. */
static int gemm_int8_setup_common(struct kb_case *c, char *err, size_t errlen)
{
    struct gemm_int8_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", c->kernel->name);
        return KB_ERROR;
    }
    c->state = st;
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
struct requant_ctx {
    int8_t *y;
    int n;
    const int32_t *b, *c; /* the operation's dyadics: b_n, c_n */
};

static void requant_epilogue(void *ctx, int i0, int rows, int j0, int cols, const int32_t *acc, int ldacc)
{
    const struct requant_ctx *q = ctx;
    for (int r = 0; r < rows; r++) {
        int8_t *yr = q->y + (size_t)(i0 + r) * q->n + j0;
        for (int j = 0; j < cols; j++) {
            struct quant_dyadic d = { q->b[j0 + j], q->c[j0 + j] };
            yr[j] = quant_dyadic_requant(acc[r * ldacc + j], d);
        }
    }
}

static int gemm_int8_run(struct kb_case *c)
{
    struct gemm_int8_state *st = c->state;
    const int m = c->shape.m, n = c->shape.n, k = c->shape.k;
    const int8_t *a = kb_input(c, KB_GEMM_A), *w = kb_input(c, KB_GEMM_W);
    const int32_t *dy = kb_input(c, KB_GEMM_REQUANT);
    struct requant_ctx q = { kb_output(c, KB_GEMM_Y), n, dy, dy + n };
    const struct gemm_int8_isa *isa = st->isa;
    const int mr = isa->mr, nr = isa->nr;
    const size_t k4 = round_up((size_t)k, 4);
    const int mpad = (int)round_up((size_t)m, (size_t)mr);
    const int npan = (n + nr - 1) / nr;
    uint8_t *apk = st->apk;
    int8_t *wpk = st->wpk;
    int32_t *colsum = st->colsum;

#pragma omp parallel num_threads(st->nthreads)
    {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < mpad; i++)
            gemm_int8_pack_a_row(i < m ? a + (size_t)i * k : NULL, k, k4, isa->offset_a, apk + (size_t)i * k4);
#pragma omp for schedule(static)
        for (int pn = 0; pn < npan; pn++)
            gemm_int8_pack_w_panel(w, n, k, (size_t)k, 1, nr, k4, pn, wpk + (size_t)pn * nr * k4,
                                   colsum + (size_t)pn * nr);
        /* (barrier) */
        gemm_int8_packed(isa, apk, m, k4, wpk, colsum, n, 1, requant_epilogue, &q);
    }
    return KB_OK;
}

const struct kb_kernel kb_quant_gemm_int8_cpu = {
    .name = "quant.gemm_int8",
    .impl = "cpu",
    .description = "W8A8 GEMM, int32 accumulation, dyadic requant to int8 (VNNI/AVX2/scalar, packed W)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .op = &kb_op_gemm,
    .footprint = gemm_int8_workspace,
    .setup = gemm_int8_setup_common,
    .run = gemm_int8_run,
    .check = gemm_int8_check_exact,
    .teardown = gemm_int8_teardown,
};

/* ---- quant.gemm_int8@cpu.naive ------------------------------------------------------------- */

static int gemm_int8_naive_run(struct kb_case *c)
{
    struct gemm_int8_state *st = c->state;
    const int m = c->shape.m, n = c->shape.n, k = c->shape.k;
    const int8_t *a = kb_input(c, KB_GEMM_A), *w = kb_input(c, KB_GEMM_W);
    const int32_t *dy_b = kb_input(c, KB_GEMM_REQUANT), *dy_c = dy_b + n;
    int8_t *y = kb_output(c, KB_GEMM_Y);
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (int i = 0; i < m; i++) {
        const int8_t *ar = a + (size_t)i * k;
        for (int j = 0; j < n; j++) {
            const int8_t *wr = w + (size_t)j * k;
            int32_t acc = 0;
            for (int p = 0; p < k; p++)
                acc += ar[p] * wr[p];
            struct quant_dyadic d = { dy_b[j], dy_c[j] };
            y[(size_t)i * n + j] = quant_dyadic_requant(acc, d);
        }
    }
    return KB_OK;
}

const struct kb_kernel kb_quant_gemm_int8_naive = {
    .name = "quant.gemm_int8",
    .impl = "cpu.naive",
    .description = "W8A8 GEMM, the same arithmetic as @cpu in one plain loop nest (the SIMD gain's baseline)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .op = &kb_op_gemm,
    .setup = gemm_int8_setup_common,
    .run = gemm_int8_naive_run,
    .check = gemm_int8_check_exact,
    .teardown = gemm_int8_teardown,
};
