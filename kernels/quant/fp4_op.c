/* fp4_op.c - the operations quant.fp4_quantize and quant.fp4_gemm (quant_ops.h): inputs from the
 * case's seed, the scalar definition (fp4.c) as the verdict on codes and scales, float64
 * references and the FLOP / byte counts. */
#include "kernels/quant/quant_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "datasets/generate.h"
#include "kernels/gemm/gemm_ref.h"
#include "kernels/quant/fp4.h"
#include "kernels/quant/quant.h"
#include "kernels/verify.h"

#define FP4_DTYPES (KB_DTYPE_BIT(KB_DTYPE_MXFP4) | KB_DTYPE_BIT(KB_DTYPE_NVFP4))

static enum kb_dtype scale_dtype(enum kb_dtype t)
{
    return t == KB_DTYPE_NVFP4 ? KB_DTYPE_FP8_E4M3 : KB_DTYPE_E8M0;
}

static int check_dtype(const char *op, enum kb_dtype t, char *err, size_t errlen)
{
    if (t == KB_DTYPE_MXFP4 || t == KB_DTYPE_NVFP4)
        return KB_OK;
    snprintf(err, errlen, "%s: dtype %s is not an FP4 format (mxfp4, nvfp4)", op, kb_dtype_name(t) ? kb_dtype_name(t) : "?");
    return KB_UNSUPPORTED;
}

/* ---- quant.fp4_quantize ------------------------------------------------------------------------ */

static double fp4q_flops(const struct kb_shape *s)
{
    /* as quant.quantize: abs-max, scale, round (7 compares here, counted as the usual 4), + 1 for
     * dequantize */
    return 5.0 * s->m * (double)s->k;
}

static double fp4q_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double n = (double)s->m * s->k;
    /* read x, write codes, scale bytes and the dequantized copy */
    return n * (4.0 + 0.5 + 4.0) + (double)s->m * fp4_blocks(s->k, t) + 4.0;
}

static double fp4q_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    /* the operands and verify's emulation of codes, scales and the dequantized matrix */
    return (double)s->m * s->k * (4 + 0.5 + 4) * 2 + 2.0 * s->m * (s->k / 16 + 1) + 4096;
}

static int fp4q_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                       size_t errlen)
{
    int rc = quant_check_shape("quant.fp4_quantize", s, KB_AXIS_BIT(KB_AXIS_M) | KB_AXIS_BIT(KB_AXIS_K), err, errlen);
    if (rc == KB_OK)
        rc = check_dtype("quant.fp4_quantize", t, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t dx[2] = { s->m, s->k }, dc[2] = { s->m, 2 * (int64_t)fp4_row_bytes(s->k) },
                  ds[2] = { s->m, fp4_blocks(s->k, t) }, one[1] = { 1 };
    /* 64 bytes past x and the codes: vector code may read or write a short way past the end */
    if (kb_operands_add(io, "x", KB_DTYPE_F32, 2, dx, 0, 64, err, errlen) != KB_FP4Q_X ||
        kb_operands_add(io, "codes", t, 2, dc, 1, 64, err, errlen) != KB_FP4Q_CODES ||
        kb_operands_add(io, "scales", scale_dtype(t), 2, ds, 1, 64, err, errlen) != KB_FP4Q_SCALES ||
        kb_operands_add(io, "tensor_scale", KB_DTYPE_F32, 1, one, 1, 0, err, errlen) != KB_FP4Q_TENSOR_SCALE ||
        kb_operands_add(io, "dequantized", KB_DTYPE_F32, 2, dx, 1, 64, err, errlen) != KB_FP4Q_DEQ)
        return KB_ERROR;
    gen_fill_input_f32(io->buffer[KB_FP4Q_X], (size_t)s->m, (size_t)s->k, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    return KB_OK;
}

static int fp4q_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                       int threads, struct kb_accuracy *acc)
{
    (void)seed, (void)threads;
    const size_t m = (size_t)s->m, k = (size_t)s->k, rb = fp4_row_bytes(s->k), nb = (size_t)fp4_blocks(s->k, t);
    const float *x = io->tensor[KB_FP4Q_X].data, *got_deq = io->tensor[KB_FP4Q_DEQ].data;
    const uint8_t *got_codes = io->tensor[KB_FP4Q_CODES].data, *got_scales = io->tensor[KB_FP4Q_SCALES].data;
    const float *got_ts = io->tensor[KB_FP4Q_TENSOR_SCALE].data;
    uint8_t *codes = malloc(m * rb), *scales = malloc(m * nb);
    float *deq = malloc(m * k * sizeof *deq), ts;
    if (!codes || !scales || !deq) {
        free(codes), free(scales), free(deq);
        return KB_ERROR;
    }
    fp4_quantize_emulate(x, s->m, s->k, t, codes, scales, &ts, deq);
    long mismatches = memcmp(&ts, got_ts, sizeof ts) != 0;
    for (size_t i = 0; i < m * rb; i++)
        mismatches += codes[i] != got_codes[i];
    for (size_t i = 0; i < m * nb; i++)
        mismatches += scales[i] != got_scales[i];
    /* NaN (a non-finite block) equals any NaN: a GPU writes its canonical NaN */
    for (size_t i = 0; i < m * k; i++)
        mismatches += memcmp(&deq[i], &got_deq[i], sizeof(float)) != 0 && !(isnan(deq[i]) && isnan(got_deq[i]));
    struct verify_acc va;
    verify_begin(&va);
    for (size_t i = 0; i < m * k; i++)
        verify_add(&va, got_deq[i], (double)x[i]);
    verify_finish(&va, s->input == KB_INPUT_OUTLIER ? QUANT_FP4_TOL_OUTLIER : QUANT_FP4_TOL, acc);
    acc->rows_checked = acc->rows_total = (long)m;
    acc->exact_checked = (long)(m * rb + m * nb + m * k + 1);
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
    free(codes), free(scales), free(deq);
    return KB_OK;
}

int fp4_quantize_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    if (max < 3)
        return 0;
    const size_t n = (size_t)c->shape.m * c->shape.k;
    const float *x = c->io.tensor[KB_FP4Q_X].data, *deq = c->io.tensor[KB_FP4Q_DEQ].data;
    double err_sq = 0, ref_sq = 0, max_err = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)deq[i] - x[i]);
        err_sq += e * e;
        ref_sq += (double)x[i] * x[i];
        max_err = e > max_err ? e : max_err;
        max_ref = fabs((double)x[i]) > max_ref ? fabs((double)x[i]) : max_ref;
    }
    const struct {
        const char *name, *unit;
        double value;
    } v[3] = {
        { "fp4.rmse_rel", "ratio", ref_sq > 0 ? sqrt(err_sq / ref_sq) : 0 }, /* RMSE / RMS of x */
        { "fp4.max_err_rel", "ratio", max_ref > 0 ? max_err / max_ref : 0 }, /* max |err| / max |x| */
        { "fp4.sqnr_db", "dB", err_sq > 0 ? 10 * log10(ref_sq / err_sq) : 999 }, /* 999: no error */
    };
    for (int i = 0; i < 3; i++) {
        snprintf(out[i].name, sizeof out[i].name, "%s", v[i].name);
        snprintf(out[i].unit, sizeof out[i].unit, "%s", v[i].unit);
        out[i].value = v[i].value;
    }
    return 3;
}

const struct kb_operation kb_op_quant_fp4_quantize = {
    .name = "quant.fp4_quantize",
    .description = "MXFP4 / NVFP4 block-scaled E2M1 quantize + dequantize of an M×K float32 matrix",
    .family = KB_FAMILY_QUANT,
    .axes = KB_AXIS_BIT(KB_AXIS_M) | KB_AXIS_BIT(KB_AXIS_K) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .dtypes = FP4_DTYPES,
    .layout = "row-major; x [M,K] f32 in; codes [M,K] E2M1 out, two to a byte, low nibble first, rows padded to "
              "whole bytes; scales [M,ceil(K/block)] out, e8m0 (mxfp4, block 32) or e4m3 (nvfp4, block 16); "
              "tensor_scale f32 [1] out (nvfp4; 1 for mxfp4); dequantized f32 [M,K] out",
    .flops = fp4q_flops,
    .bytes = fp4q_bytes,
    .footprint = fp4q_footprint,
    .inputs = fp4q_inputs,
    .verify = fp4q_verify,
};

/* ---- quant.fp4_gemm ---------------------------------------------------------------------------- */

static double fp4g_flops(const struct kb_shape *s)
{
    return 2.0 * s->m * (double)s->n * s->k;
}

static double fp4g_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return ((double)s->m + s->n) * (s->k / 2.0 + fp4_blocks(s->k, t)) + 8.0 + 4.0 * s->m * (double)s->n;
}

static double fp4g_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    const double m = s->m, n = s->n, k = s->k;
    /* codes and scales, Y, the float32 draws, the dequantized values inputs() writes for a while
     * and verify's decoded W */
    return (m + n) * (k / 2 + k / 16 + 2) + 4 * m * n + 4 * (m + n) * k + 4 * (m + n) * k + 4 * n * k + 8192;
}

static int fp4g_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                       size_t errlen)
{
    int rc = gemm_check_shape("quant.fp4_gemm", s, 0, err, errlen);
    if (rc == KB_OK)
        rc = check_dtype("quant.fp4_gemm", t, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int nb = fp4_blocks(s->k, t);
    const int64_t kp = 2 * (int64_t)fp4_row_bytes(s->k);
    const int64_t a_dims[2] = { s->m, kp }, as_dims[2] = { s->m, nb }, w_dims[2] = { s->n, kp },
                  ws_dims[2] = { s->n, nb }, two[1] = { 2 }, y_dims[2] = { s->m, s->n }, af_dims[2] = { s->m, s->k },
                  wf_dims[2] = { s->n, s->k };
    /* 64 spare bytes after the codes and scales: vector code reads whole 16-byte chunks */
    if (kb_operands_add(io, "a", t, 2, a_dims, 0, 64, err, errlen) != KB_FP4G_A ||
        kb_operands_add(io, "a_scales", scale_dtype(t), 2, as_dims, 0, 64, err, errlen) != KB_FP4G_A_SCALES ||
        kb_operands_add(io, "w", t, 2, w_dims, 0, 64, err, errlen) != KB_FP4G_W ||
        kb_operands_add(io, "w_scales", scale_dtype(t), 2, ws_dims, 0, 64, err, errlen) != KB_FP4G_W_SCALES ||
        kb_operands_add(io, "tensor_scales", KB_DTYPE_F32, 1, two, 0, 0, err, errlen) != KB_FP4G_TENSOR_SCALES ||
        kb_operands_add(io, "y", KB_DTYPE_F32, 2, y_dims, 1, 0, err, errlen) != KB_FP4G_Y ||
        kb_operands_add(io, "a_f32", KB_DTYPE_F32, 2, af_dims, 0, 0, err, errlen) != KB_FP4G_A_F32 ||
        kb_operands_add(io, "w_f32", KB_DTYPE_F32, 2, wf_dims, 0, 0, err, errlen) != KB_FP4G_W_F32)
        return KB_ERROR;
    float *a_f = io->buffer[KB_FP4G_A_F32], *w_f = io->buffer[KB_FP4G_W_F32], *ts = io->buffer[KB_FP4G_TENSOR_SCALES];
    gen_fill_input_f32(a_f, (size_t)s->m, (size_t)s->k, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    gen_fill_input_f32(w_f, (size_t)s->n, (size_t)s->k, quant_sub_seed(seed, QUANT_SEED_B), KB_INPUT_NORMAL);
    /* per row along K, each operand with its own tensor scale (nvfp4) */
    fp4_quantize_emulate(a_f, s->m, s->k, t, io->buffer[KB_FP4G_A], io->buffer[KB_FP4G_A_SCALES], &ts[0], NULL);
    fp4_quantize_emulate(w_f, s->n, s->k, t, io->buffer[KB_FP4G_W], io->buffer[KB_FP4G_W_SCALES], &ts[1], NULL);
    return KB_OK;
}

/* The rows of a packed operand decoded without the tensor scale (exact in float32). */
static float *decode_unscaled(const struct kb_operands *io, int codes, int scales, int rows, int k, enum kb_dtype t,
                              int threads)
{
    float *out = malloc((size_t)rows * k * sizeof *out);
    if (!out)
        return NULL;
    const uint8_t *c = io->tensor[codes].data, *sc = io->tensor[scales].data;
    const size_t rb = fp4_row_bytes(k), nb = (size_t)fp4_blocks(k, t);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < k; j++)
            out[(size_t)i * k + j] = fp4_value_unscaled(c + (size_t)i * rb, sc + (size_t)i * nb, j, t);
    return out;
}

static int fp4g_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                       int threads, struct kb_accuracy *acc)
{
    memset(acc, 0, sizeof *acc);
    const int nt = threads > 0 ? threads : 1;
    int rc = gemm_verify_sampled_rows(s, seed, io->tensor[KB_FP4G_Y].data, KB_DTYPE_F32, 1.0,
                                      io->tensor[KB_FP4G_A_F32].data, io->tensor[KB_FP4G_W_F32].data,
                                      s->input == KB_INPUT_OUTLIER ? QUANT_FP4_GEMM_TOL_OUTLIER : QUANT_FP4_GEMM_TOL, acc);
    if (rc != KB_OK)
        return rc;
    /* the dequantized GEMM, in float64, on the same rows: only float32 accumulation may differ */
    long nr;
    long *rows = gemm_sample_rows(s, seed, &nr);
    float *wd = decode_unscaled(io, KB_FP4G_W, KB_FP4G_W_SCALES, s->n, s->k, t, nt);
    float *ad = malloc((size_t)s->k * sizeof *ad);
    if (!rows || !wd || !ad) {
        free(rows), free(wd), free(ad);
        return KB_ERROR;
    }
    const float *ts = io->tensor[KB_FP4G_TENSOR_SCALES].data, *y = io->tensor[KB_FP4G_Y].data;
    const uint8_t *a = io->tensor[KB_FP4G_A].data, *as = io->tensor[KB_FP4G_A_SCALES].data;
    const double st = (double)ts[0] * ts[1], u = 0x1p-24;
    const size_t rb = fp4_row_bytes(s->k), nb = (size_t)fp4_blocks(s->k, t);
    long mismatches = 0;
    for (long r = 0; r < nr; r++) {
        const int i = (int)rows[r];
        for (int j = 0; j < s->k; j++)
            ad[j] = fp4_value_unscaled(a + (size_t)i * rb, as + (size_t)i * nb, j, t);
#pragma omp parallel for num_threads(nt) reduction(+ : mismatches) schedule(static)
        for (int n = 0; n < s->n; n++) {
            const float *wr = wd + (size_t)n * s->k;
            double sum = 0, sum_abs = 0;
            for (int j = 0; j < s->k; j++) {
                double p = (double)ad[j] * wr[j];
                sum += p;
                sum_abs += fabs(p);
            }
            const double ref = sum * st, bound = 2.0 * (s->k + 4) * u * sum_abs * st;
            const double got = y[(size_t)i * s->n + n];
            mismatches += !(fabs(got - ref) <= bound); /* NaN counts */
        }
    }
    acc->exact_checked = nr * (long)s->n;
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
    free(rows), free(wd), free(ad);
    return KB_OK;
}

const struct kb_operation kb_op_quant_fp4_gemm = {
    .name = "quant.fp4_gemm",
    .description = "emulated FP4 GEMM: MXFP4 / NVFP4 operands (packed E2M1 + block scales), f32 accumulation and out",
    .family = KB_FAMILY_QUANT,
    .axes = KB_AXES_GEMM,
    .dtypes = FP4_DTYPES,
    .layout = "row-major; a [M,K] and w [N,K] E2M1 codes, two to a byte, low nibble first, rows padded to whole "
              "bytes; a_scales [M,ceil(K/b)], w_scales [N,ceil(K/b)] (e8m0, b 32 / e4m3, b 16); tensor_scales f32 "
              "[2] (s_tA, s_tW); y = dequant(a) dequant(w)^T [M,N] f32 out; a_f32, w_f32 the unquantized draws",
    .flops = fp4g_flops,
    .bytes = fp4g_bytes,
    .footprint = fp4g_footprint,
    .inputs = fp4g_inputs,
    .verify = fp4g_verify,
};
