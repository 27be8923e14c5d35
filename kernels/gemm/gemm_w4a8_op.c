/* gemm_w4a8_op.c - the operation quant.gemm_w4a8 (gemm_ops.h): INT4 weights with group scales
 * × INT8 or e4m3 activations, float32 out. Inputs as quant.gemm_w4a8@cpu made them before the
 * operation existed (same sub-seeds, quant.h's quantizers), so stored runs stay comparable. */
#include "kernels/gemm/gemm_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/gemm/gemm_ref.h"
#include "kernels/quant/quant.h"
#include "kernels/verify.h"

static int group_of(const struct kb_shape *s)
{
    return s->group < s->k ? s->group : s->k;
}

static double w4a8_flops(const struct kb_shape *s)
{
    return 2.0 * s->m * (double)s->n * s->k;
}

static double w4a8_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double g = group_of(s);
    /* catalogue: M·K·s_a + N·K/2 + (N·K/g)·s_scale + M·N·s_o (s_a = 1, s_scale = s_o = 4) */
    return (double)s->m * s->k + (double)s->n * s->k / 2 + 4.0 * s->n * ceil(s->k / g) + 4.0 * s->m * s->n;
}

static double w4a8_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    const double m = s->m, n = s->n, k = s->k;
    /* codes, packed weights, scales, Y, the float inputs, and the dequantized weights that
     * quantizing them writes for a while */
    return m * k + n * (k + 1) / 2 + 4 * n * k + 4 * m * n + 4 * (m + n) * k + 4 * n * k + 8 * n + 4096;
}

static int w4a8_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                       size_t errlen)
{
    int rc = gemm_check_shape("quant.gemm_w4a8", s, 1, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->group < 1) {
        snprintf(err, errlen, "quant.gemm_w4a8: group = %d, must be at least 1", s->group);
        return KB_UNSUPPORTED;
    }
    if (t != KB_DTYPE_I8 && t != KB_DTYPE_FP8_E4M3) {
        snprintf(err, errlen, "quant.gemm_w4a8: dtype %s not supported (activations i8 or e4m3)",
                 kb_dtype_name(t) ? kb_dtype_name(t) : "?");
        return KB_UNSUPPORTED;
    }
    const size_t m = (size_t)s->m, n = (size_t)s->n, k = (size_t)s->k;
    const int g = group_of(s), groups = (s->k + g - 1) / g;
    const int64_t a_dims[2] = { s->m, s->k }, w_dims[2] = { s->n, (int64_t)(s->k + 1) / 2 * 2 },
                  sw_dims[2] = { s->n, groups }, one[1] = { 1 }, y_dims[2] = { s->m, s->n },
                  wf_dims[2] = { s->n, s->k };
    /* 64 spare zero bytes after A: the AVX2 path loads 32 codes at a time */
    if (kb_operands_add(io, "a", t, 2, a_dims, 0, 64, err, errlen) != KB_W4A8_A ||
        kb_operands_add(io, "w_int4", KB_DTYPE_I4, 2, w_dims, 0, 64, err, errlen) != KB_W4A8_W ||
        kb_operands_add(io, "w_scales", KB_DTYPE_F32, 2, sw_dims, 0, 0, err, errlen) != KB_W4A8_W_SCALES ||
        kb_operands_add(io, "a_scale", KB_DTYPE_F32, 1, one, 0, 0, err, errlen) != KB_W4A8_A_SCALE ||
        kb_operands_add(io, "y", KB_DTYPE_F32, 2, y_dims, 1, 0, err, errlen) != KB_W4A8_Y ||
        kb_operands_add(io, "a_f32", KB_DTYPE_F32, 2, a_dims, 0, 0, err, errlen) != KB_W4A8_A_F32 ||
        kb_operands_add(io, "w_f32", KB_DTYPE_F32, 2, wf_dims, 0, 0, err, errlen) != KB_W4A8_W_F32)
        return KB_ERROR;
    float *a_f = io->buffer[KB_W4A8_A_F32], *w_f = io->buffer[KB_W4A8_W_F32];
    gen_fill_input_f32(a_f, m, k, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    gen_fill_input_f32(w_f, n, k, quant_sub_seed(seed, QUANT_SEED_B), KB_INPUT_NORMAL);
    /* weights: int4 per group (quant_code: RNE, clamp to ±7) */
    struct kb_shape ws = { .m = s->n, .k = s->k, .group = g, .granularity = KB_GRAN_GROUP };
    float *deq = malloc(n * k * sizeof *deq);
    if (!deq) {
        snprintf(err, errlen, "quant.gemm_w4a8: out of memory");
        return KB_ERROR;
    }
    quant_quantize_emulate(w_f, &ws, KB_DTYPE_I4, io->buffer[KB_W4A8_W_SCALES], io->buffer[KB_W4A8_W], deq);
    free(deq);
    /* activations: per tensor */
    const float s_a = quant_scale(gemm_absmax(a_f, m * k), t), inv = 1.0f / s_a;
    uint8_t *a = io->buffer[KB_W4A8_A];
    for (size_t i = 0; i < m * k; i++)
        a[i] = quant_code(a_f[i], inv, t);
    *(float *)io->buffer[KB_W4A8_A_SCALE] = s_a;
    return KB_OK;
}

static int w4a8_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                       int threads, struct kb_accuracy *acc)
{
    (void)t, (void)threads;
    memset(acc, 0, sizeof *acc);
    return gemm_verify_sampled_rows(s, seed, io->tensor[KB_W4A8_Y].data, KB_DTYPE_F32, 1.0,
                                    io->tensor[KB_W4A8_A_F32].data, io->tensor[KB_W4A8_W_F32].data,
                                    s->input == KB_INPUT_OUTLIER ? QUANT_GEMM_W4A8_TOL_OUTLIER : QUANT_GEMM_W4A8_TOL,
                                    acc);
}

const struct kb_operation kb_op_quant_gemm_w4a8 = {
    .name = "quant.gemm_w4a8",
    .description = "INT4 weights (group scales) x INT8 or FP8-e4m3 activations (per-tensor scale), f32 out",
    .family = KB_FAMILY_QUANT,
    .axes = KB_AXES_GEMM | KB_AXIS_BIT(KB_AXIS_GROUP),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .layout = "row-major; activations a [M,K] (i8 or e4m3 codes, scale a_scale), weights w_int4 [N,K] as int4 "
              "packed two to a byte, low nibble first, rows padded to whole bytes, w_scales [N,K/group], output "
              "y = a w^T [M,N] float32; a_f32 and w_f32 the values the codes stand for",
    .flops = w4a8_flops,
    .bytes = w4a8_bytes,
    .footprint = w4a8_footprint,
    .inputs = w4a8_inputs,
    .verify = w4a8_verify,
};
