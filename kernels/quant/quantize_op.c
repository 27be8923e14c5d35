/* quantize_op.c - the operation quant.quantize (quant_ops.h): its input, its exact definition
 * (quant_quantize_emulate) as the verdict on codes and scales, and the accuracy of the
 * dequantized matrix against the float64 input. */
#include "kernels/quant/quant_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/quant/quant.h"
#include "kernels/verify.h"

#define QUANTIZE_DTYPES (KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_I4) | \
    KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3) | KB_DTYPE_BIT(KB_DTYPE_FP8_E5M2))

static double quantize_flops(const struct kb_shape *s)
{
    /* the catalogue's ≈ 4–6 ops per element (abs-max, scale, round, clamp) + 1 for dequantize */
    return 5.0 * s->m * (double)s->k;
}

static double quantize_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double n = (double)s->m * s->k;
    /* read x, write codes and the dequantized copy, 4 bytes per scale */
    return n * (4.0 + kb_dtype_size(t) + 4.0) + 4.0 * (double)quant_scale_count(s);
}

static double quantize_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    /* the operands (x, codes, dequantized, scales) and verify's emulation of the last three */
    return (double)s->m * s->k * 14.0 + 8.0 * (double)quant_scale_count(s) + 4096;
}

static int quantize_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                           size_t errlen)
{
    int rc = quant_check_shape("quant.quantize", s, QUANT_AXES_QUANTIZE, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (quant_qmax(t) == 0) {
        snprintf(err, errlen, "quant.quantize: dtype %s is not a quantized format (i8, i4, e4m3, e5m2)",
                 kb_dtype_name(t) ? kb_dtype_name(t) : "?");
        return KB_UNSUPPORTED;
    }
    const int64_t m = s->m, k = s->k, rb = (int64_t)quant_row_bytes(s->k, t);
    /* codes count elements (kb_operands_add): an i4 row of K nibbles is padded to whole bytes,
     * 2·ceil(K/2) nibbles */
    const int64_t dx[2] = { m, k }, dc[2] = { m, t == KB_DTYPE_I4 ? 2 * rb : rb },
                  ds[1] = { (int64_t)quant_scale_count(s) };
    /* 64 bytes past x: vector code may read a short way past the end */
    if (kb_operands_add(io, "x", KB_DTYPE_F32, 2, dx, 0, 64, err, errlen) != KB_QUANTIZE_X ||
        kb_operands_add(io, "codes", t, 2, dc, 1, 0, err, errlen) != KB_QUANTIZE_CODES ||
        kb_operands_add(io, "scales", KB_DTYPE_F32, 1, ds, 1, 0, err, errlen) != KB_QUANTIZE_SCALES ||
        kb_operands_add(io, "dequantized", KB_DTYPE_F32, 2, dx, 1, 0, err, errlen) != KB_QUANTIZE_DEQ)
        return KB_ERROR;
    gen_fill_input_f32(io->buffer[KB_QUANTIZE_X], (size_t)m, (size_t)k, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    return KB_OK;
}

static int quantize_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                           int threads, struct kb_accuracy *acc)
{
    (void)seed;
    (void)threads;
    const size_t m = (size_t)s->m, k = (size_t)s->k, rb = quant_row_bytes(s->k, t);
    const size_t nscales = quant_scale_count(s);
    const float *x = io->tensor[KB_QUANTIZE_X].data;
    const uint8_t *got_codes = io->tensor[KB_QUANTIZE_CODES].data;
    const float *got_scales = io->tensor[KB_QUANTIZE_SCALES].data;
    const float *got_deq = io->tensor[KB_QUANTIZE_DEQ].data;
    float *scales = malloc(nscales * sizeof(float));
    uint8_t *codes = malloc(m * rb);
    float *deq = malloc(m * k * sizeof(float));
    if (!scales || !codes || !deq) {
        free(scales);
        free(codes);
        free(deq);
        return KB_ERROR;
    }
    quant_quantize_emulate(x, s, t, scales, codes, deq);
    long mismatches = 0;
    for (size_t i = 0; i < m * rb; i++)
        mismatches += codes[i] != got_codes[i];
    for (size_t i = 0; i < nscales; i++)
        mismatches += memcmp(&scales[i], &got_scales[i], sizeof(float)) != 0;
    struct verify_acc va;
    verify_begin(&va);
    for (size_t i = 0; i < m * k; i++)
        verify_add(&va, got_deq[i], (double)x[i]);
    verify_finish(&va, quant_quantize_tolerance(t, s->input), acc);
    acc->rows_checked = acc->rows_total = (long)m;
    acc->exact_checked = (long)(m * rb + nscales);
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
    free(scales);
    free(codes);
    free(deq);
    return KB_OK;
}

const struct kb_operation kb_op_quant_quantize = {
    .name = "quant.quantize",
    .description = "symmetric quantize + dequantize of an M×K float32 matrix per tensor/channel/group",
    .family = KB_FAMILY_QUANT,
    .axes = QUANT_AXES_QUANTIZE,
    .dtypes = QUANTIZE_DTYPES,
    .layout = "row-major; x [M,K] f32 in; codes [M,K] out (i4: two to a byte, low nibble first, each row "
              "padded to whole bytes), scales f32 [1], [M] or [M,ceil(K/group)] out, dequantized f32 [M,K] out",
    .flops = quantize_flops,
    .bytes = quantize_bytes,
    .footprint = quantize_footprint,
    .inputs = quantize_inputs,
    .verify = quantize_verify,
};
