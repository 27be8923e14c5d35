/* gemm_op.c - the operation gemm (gemm_ops.h): its inputs per dtype, its float64 reference,
 * tolerances and counts. The generators are those the kernels used before the operation
 * existed (the same sub-seeds, quantizers and calibration), so a (shape, dtype, seed) gives the
 * bytes it always gave; the exception is f32 on cuBLAS, which now reads the draws gemm.f32
 * read (one operation, one input per dtype). */
#include "kernels/gemm/gemm_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/gemm/gemm_ref.h"
#include "kernels/quant/quant.h"
#include "kernels/verify.h"

/* i8: the outputs whose float64 values fix the output scale s_y: at least 16 rows and at least
 * this many outputs (a narrow N needs more rows, or rows outside a small sample saturate often
 * enough to dominate the error: 6% at N = 7 with 16 rows). */
#define GEMM_SCALE_ROWS 16
#define GEMM_SCALE_OUTPUTS 4096
/* f16 and bf16 draw from the sub-seeds gemm.dense@cuda.cublas used (seed ^ 0xA, seed ^ 0xB) */
#define GEMM_HALF_SEED_A 0xAu
#define GEMM_HALF_SEED_B 0xBu
/* e4m3: relative L2 bound against float64 over the decoded inputs: bf16 output rounding
 * (2^-9 relative, ≈ 0.003 in L2) and float32 accumulation; measured well below */
#define GEMM_FP8_TOL 1e-2

/* ---- counts ---------------------------------------------------------------------------------- */

static double gemm_flops(const struct kb_shape *s)
{
    return 2.0 * s->m * (double)s->n * s->k;
}

static double gemm_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    const double in = (double)s->m * s->k + (double)s->n * s->k, mn = (double)s->m * s->n;
    switch (t) {
    case KB_DTYPE_I8: /* int8 in and out, and 4·(M + N) scale bytes (the catalogue's) */
        return in + mn + 4.0 * ((double)s->m + s->n);
    case KB_DTYPE_FP8_E4M3: /* e4m3 in, bf16 out (the two scales are negligible) */
        return in + 2.0 * mn;
    default:
        return kb_dtype_size(t) * (in + mn);
    }
}

static double gemm_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    const double mk = (double)s->m * s->k, nk = (double)s->n * s->k;
    /* the operands, 8·N of scales and dyadics, and what generation holds for a while */
    double need = gemm_bytes(s, t) + 12.0 * s->n + 4096;
    if (t == KB_DTYPE_I8)
        need += 4.0 * (mk + nk); /* the unquantized inputs stay for verify */
    else if (t != KB_DTYPE_F32)
        need += 4.0 * (mk + nk); /* float32 draws, freed once rounded or quantized */
    return need + 8.0 * s->n; /* verify's reference row */
}

/* ---- inputs ---------------------------------------------------------------------------------- */

/* The dyadic of every column's requantization, s_a·s_w[n]/s_y, into REQUANT [2,N]. */
static void fill_requant(struct kb_operands *io, int n)
{
    const float *s_w = io->tensor[KB_GEMM_W_SCALES].data, *sc = io->tensor[KB_GEMM_SCALES].data;
    int32_t *b = io->buffer[KB_GEMM_REQUANT], *c = b + n;
    for (int j = 0; j < n; j++) {
        struct quant_dyadic d = quant_dyadic_from((double)sc[0] * s_w[j] / sc[1]);
        b[j] = d.b, c[j] = d.c;
    }
}

/* i8: codes, per-channel weight scales, the calibrated output scale (as quant.gemm_int8 made
 * them at setup) */
static int inputs_i8(struct kb_operands *io, const struct kb_shape *s, uint64_t seed, char *err, size_t errlen)
{
    const size_t m = (size_t)s->m, n = (size_t)s->n, k = (size_t)s->k;
    float *a_f = io->buffer[KB_GEMM_A_F32], *w_f = io->buffer[KB_GEMM_W_F32];
    int8_t *a = io->buffer[KB_GEMM_A], *w = io->buffer[KB_GEMM_W];
    float *s_w = io->buffer[KB_GEMM_W_SCALES], *sc = io->buffer[KB_GEMM_SCALES];
    gen_fill_input_f32(a_f, m, k, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    gen_fill_input_f32(w_f, n, k, quant_sub_seed(seed, QUANT_SEED_B), KB_INPUT_NORMAL);
    long scale_rows = (GEMM_SCALE_OUTPUTS + (long)n - 1) / (long)n;
    if (scale_rows < GEMM_SCALE_ROWS)
        scale_rows = GEMM_SCALE_ROWS;
    long *rows = malloc((size_t)scale_rows * sizeof *rows);
    double *ref = malloc(n * sizeof *ref);
    if (!rows || !ref) {
        free(rows);
        free(ref);
        snprintf(err, errlen, "gemm: out of memory");
        return KB_ERROR;
    }
    const float s_a = quant_scale(gemm_absmax(a_f, m * k), KB_DTYPE_I8), inv_a = 1.0f / s_a;
    for (size_t i = 0; i < m * k; i++)
        a[i] = (int8_t)quant_code(a_f[i], inv_a, KB_DTYPE_I8);
    for (size_t j = 0; j < n; j++) {
        s_w[j] = quant_scale(gemm_absmax(w_f + j * k, k), KB_DTYPE_I8);
        const float inv = 1.0f / s_w[j];
        for (size_t p = 0; p < k; p++)
            w[j * k + p] = (int8_t)quant_code(w_f[j * k + p], inv, KB_DTYPE_I8);
    }
    /* Output scale: the largest |y| of a few float64 rows maps to 127 (a calibration, as a
     * deployed model would do offline); rows outside the sample may saturate, as they would. */
    long nr = verify_sample_rows((long)m, scale_rows, seed, rows);
    double ymax = 0;
    for (long r = 0; r < nr; r++) {
        gemm_ref_row(a_f, w_f, s->n, s->k, (int)rows[r], ref);
        for (size_t j = 0; j < n; j++)
            ymax = fmax(ymax, fabs(ref[j]));
    }
    sc[0] = s_a;
    sc[1] = quant_scale((float)ymax, KB_DTYPE_I8);
    free(rows);
    free(ref);
    return KB_OK;
}

/* x[count] to e4m3 codes at one scale for the tensor (quant.h's scalar quantizer) */
static float quantize_e4m3(const float *x, size_t count, uint8_t *codes)
{
    const float scale = quant_scale(gemm_absmax(x, count), KB_DTYPE_FP8_E4M3), inv = 1.0f / scale;
    for (size_t i = 0; i < count; i++)
        codes[i] = quant_code(x[i], inv, KB_DTYPE_FP8_E4M3);
    return scale;
}

/* The float32 draws of A and W into a_f and w_f (temporary for e4m3, f16 and bf16). */
static void draw(const struct kb_shape *s, enum kb_dtype t, uint64_t seed, float *a_f, float *w_f)
{
    const int half = t == KB_DTYPE_F16 || t == KB_DTYPE_BF16;
    gen_fill_input_f32(a_f, (size_t)s->m, (size_t)s->k, half ? seed ^ GEMM_HALF_SEED_A : quant_sub_seed(seed, QUANT_SEED_A),
                       s->input);
    gen_fill_input_f32(w_f, (size_t)s->n, (size_t)s->k, half ? seed ^ GEMM_HALF_SEED_B : quant_sub_seed(seed, QUANT_SEED_B),
                       KB_INPUT_NORMAL);
}

static int inputs_float_or_e4m3(struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                                char *err, size_t errlen)
{
    const size_t mk = (size_t)s->m * s->k, nk = (size_t)s->n * s->k;
    float *s_w = io->buffer[KB_GEMM_W_SCALES], *sc = io->buffer[KB_GEMM_SCALES];
    sc[0] = sc[1] = 1.0f;
    for (int j = 0; j < s->n; j++)
        s_w[j] = 1.0f;
    if (t == KB_DTYPE_F32) {
        draw(s, t, seed, io->buffer[KB_GEMM_A], io->buffer[KB_GEMM_W]);
        return KB_OK;
    }
    float *a_f = malloc(mk * sizeof *a_f), *w_f = malloc(nk * sizeof *w_f);
    if (!a_f || !w_f) {
        free(a_f);
        free(w_f);
        snprintf(err, errlen, "gemm: out of memory for the float32 draws");
        return KB_ERROR;
    }
    draw(s, t, seed, a_f, w_f);
    if (t == KB_DTYPE_FP8_E4M3) {
        sc[0] = quantize_e4m3(a_f, mk, io->buffer[KB_GEMM_A]);
        const float sw = quantize_e4m3(w_f, nk, io->buffer[KB_GEMM_W]);
        for (int j = 0; j < s->n; j++)
            s_w[j] = sw;
    } else {
        uint16_t (*round16)(float) = t == KB_DTYPE_F16 ? gemm_f16_round : gemm_bf16_round;
        uint16_t *a = io->buffer[KB_GEMM_A], *w = io->buffer[KB_GEMM_W];
        for (size_t i = 0; i < mk; i++)
            a[i] = round16(a_f[i]);
        for (size_t i = 0; i < nk; i++)
            w[i] = round16(w_f[i]);
    }
    free(a_f);
    free(w_f);
    return KB_OK;
}

static int gemm_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                       size_t errlen)
{
    int rc = gemm_check_shape("gemm", s, t == KB_DTYPE_I8, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (t != KB_DTYPE_F32 && t != KB_DTYPE_F16 && t != KB_DTYPE_BF16 && t != KB_DTYPE_I8 && t != KB_DTYPE_FP8_E4M3) {
        snprintf(err, errlen, "gemm: dtype %s not supported (f32, f16, bf16, i8, e4m3)",
                 kb_dtype_name(t) ? kb_dtype_name(t) : "?");
        return KB_UNSUPPORTED;
    }
    const int64_t a_dims[2] = { s->m, s->k }, w_dims[2] = { s->n, s->k }, y_dims[2] = { s->m, s->n };
    const int64_t n1[1] = { s->n }, two[1] = { 2 }, rq[2] = { 2, s->n };
    const enum kb_dtype y_t = t == KB_DTYPE_FP8_E4M3 ? KB_DTYPE_BF16 : t;
    /* 64 spare zero bytes after A and W: vector code may read a short way past a row's end */
    if (kb_operands_add(io, "a", t, 2, a_dims, 0, 64, err, errlen) != KB_GEMM_A ||
        kb_operands_add(io, "w", t, 2, w_dims, 0, 64, err, errlen) != KB_GEMM_W ||
        kb_operands_add(io, "w_scales", KB_DTYPE_F32, 1, n1, 0, 0, err, errlen) != KB_GEMM_W_SCALES ||
        kb_operands_add(io, "scales", KB_DTYPE_F32, 1, two, 0, 0, err, errlen) != KB_GEMM_SCALES ||
        kb_operands_add(io, "requant", KB_DTYPE_I32, 2, rq, 0, 0, err, errlen) != KB_GEMM_REQUANT ||
        kb_operands_add(io, "y", y_t, 2, y_dims, 1, 0, err, errlen) != KB_GEMM_Y)
        return KB_ERROR;
    if (t == KB_DTYPE_I8) {
        if (kb_operands_add(io, "a_f32", KB_DTYPE_F32, 2, a_dims, 0, 0, err, errlen) != KB_GEMM_A_F32 ||
            kb_operands_add(io, "w_f32", KB_DTYPE_F32, 2, w_dims, 0, 0, err, errlen) != KB_GEMM_W_F32)
            return KB_ERROR;
        rc = inputs_i8(io, s, seed, err, errlen);
    } else {
        rc = inputs_float_or_e4m3(io, s, t, seed, err, errlen);
    }
    if (rc == KB_OK)
        fill_requant(io, s->n);
    return rc;
}

/* ---- verification ------------------------------------------------------------------------- */

/* The value of element i of a tensor of dtype t (i8 and e4m3: the code's value). */
static double value_at(const void *p, enum kb_dtype t, size_t i, const float *e4m3)
{
    switch (t) {
    case KB_DTYPE_F32: return ((const float *)p)[i];
    case KB_DTYPE_F16: return gemm_f16_value(((const uint16_t *)p)[i]);
    case KB_DTYPE_BF16: return gemm_bf16_value(((const uint16_t *)p)[i]);
    case KB_DTYPE_I8: return ((const int8_t *)p)[i];
    case KB_DTYPE_FP8_E4M3: return e4m3[((const uint8_t *)p)[i]];
    default: return NAN;
    }
}

/* i8: Y·s_y on sampled rows against float64 over the unquantized inputs */
static int verify_rows_i8(const struct kb_operands *io, const struct kb_shape *s, uint64_t seed,
                          struct kb_accuracy *acc)
{
    const float s_y = ((const float *)io->tensor[KB_GEMM_SCALES].data)[1];
    return gemm_verify_sampled_rows(s, seed, io->tensor[KB_GEMM_Y].data, KB_DTYPE_I8, s_y,
                                    io->tensor[KB_GEMM_A_F32].data, io->tensor[KB_GEMM_W_F32].data,
                                    s->input == KB_INPUT_OUTLIER ? QUANT_GEMM_INT8_TOL_OUTLIER : QUANT_GEMM_INT8_TOL,
                                    acc);
}

/* float dtypes and e4m3: sampled elements against float64 dot products over A and W's values
 * times s_a·s_w */
static void verify_points(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                          struct kb_accuracy *acc)
{
    const size_t mn = (size_t)s->m * s->n, k = (size_t)s->k;
    const long points = mn < GEMM_VERIFY_POINTS ? (long)mn : GEMM_VERIFY_POINTS;
    const double scale = (double)((const float *)io->tensor[KB_GEMM_SCALES].data)[0] *
                         ((const float *)io->tensor[KB_GEMM_W_SCALES].data)[0];
    const enum kb_dtype y_t = io->tensor[KB_GEMM_Y].dtype;
    const void *a = io->tensor[KB_GEMM_A].data, *w = io->tensor[KB_GEMM_W].data, *y = io->tensor[KB_GEMM_Y].data;
    float e4m3[256];
    for (int c = 0; c < 256; c++)
        e4m3[c] = quant_decode((uint8_t)c, KB_DTYPE_FP8_E4M3);
    struct kb_rng r;
    kb_rng_seed(&r, seed);
    struct verify_acc va;
    verify_begin(&va);
    for (long p = 0; p < points; p++) {
        /* every element when they are few; else the first, the last, then seeded random ones */
        size_t idx = (size_t)points == mn ? (size_t)p : p == 0 ? 0 : p == 1 ? mn - 1 : (size_t)(kb_rng_next(&r) % mn);
        size_t i = idx / (size_t)s->n, j = idx % (size_t)s->n;
        double ref = 0;
        for (size_t kk = 0; kk < k; kk++)
            ref += value_at(a, t, i * k + kk, e4m3) * value_at(w, t, j * k + kk, e4m3);
        verify_add(&va, value_at(y, y_t, idx, e4m3), ref * scale);
    }
    verify_finish(&va, t == KB_DTYPE_FP8_E4M3 ? GEMM_FP8_TOL : verify_default_tolerance(t), acc);
    acc->rows_checked = points; /* elements, here */
    acc->rows_total = (long)mn;
}

static int gemm_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                       int threads, struct kb_accuracy *acc)
{
    (void)threads;
    memset(acc, 0, sizeof *acc);
    if (t == KB_DTYPE_I8)
        return verify_rows_i8(io, s, seed, acc);
    verify_points(io, s, t, seed, acc);
    return KB_OK;
}

const struct kb_operation kb_op_gemm = {
    .name = "gemm",
    .description = "C = A·Wᵀ: f32, f16, bf16; W8A8 int8 with requantization; e4m3 with per-tensor scales, bf16 out",
    .family = KB_FAMILY_QUANT,
    .axes = KB_AXES_GEMM,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16) |
              KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .layout = "row-major; activations a [M,K], weights w [N,K] (row n is output channel n), output y = a w^T "
              "[M,N] (int8 for i8, bf16 for e4m3, else the dtype); w_scales [N] and scales [s_a, s_y] (1 for "
              "float dtypes), requant [2,N] the dyadic b_n, c_n of s_a*s_w[n]/s_y; i8: a_f32 and w_f32 the "
              "values the codes stand for",
    .flops = gemm_flops,
    .bytes = gemm_bytes,
    .footprint = gemm_footprint,
    .inputs = gemm_inputs,
    .verify = gemm_verify,
};
