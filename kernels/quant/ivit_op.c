/* ivit_op.c - the operations quant.ivit_shiftmax, quant.ivit_shiftgelu and quant.ivit_layernorm
 * (quant_ops.h): softmax, GELU and LayerNorm of the rows of an M×N matrix, each judged by one
 * verdict whether an implementation computes in float32 or with I-ViT's int8 arithmetic.
 *
 * Inputs: one float32 matrix X from the case's seed (sub-seed A, the case's input distribution;
 * Shiftmax's scores 3x wider). f32 cases get X; i8 cases get X quantized per tensor (quant.h's
 * quantizer, as quant.quantize i8 per tensor), so the integer and float implementations of one
 * operation see the same matrix, the integer ones at int8 precision. These are the bytes the
 * kernels drew themselves before operations existed.
 *
 * Reference: float64 of the exact function on the input values (f32: X; i8: S·I, what the codes
 * stand for), every row. Tolerance on relative L2 error: 1e-5 for f32 (float32 rounding); for i8
 * the output's own floor (the error of the reference rounded to the int8 output grid and
 * saturated as the output is: on a row of 768 nearly equal probabilities every one is below half
 * of Shiftmax's 1/127 step, and past ±7.9 I-LayerNorm's 2^-4 grid saturates) plus a margin for
 * the approximation, about twice what was measured on normal and uniform inputs
 * (docs/kernels-quant.md). */
#include "kernels/quant/quant_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "datasets/generate.h"
#include "kernels/quant/ivit.h"
#include "kernels/quant/quant.h"
#include "kernels/verify.h"

/* Attention scores are drawn with 3x the generator's spread: softmax over N(0,1) scores is
 * nearly flat, softmax of trained ViT attention is peakier. */
#define IVIT_SCORE_SPREAD 3.0f

#define IVIT_F32_TOL 1e-5

/* ---- counts (one formula for the float and the integer implementations) --------------------- */

static double ivit_flops(const struct kb_shape *s)
{
    /* the catalogue: ≈ 10 operations per element, for the float and the integer versions alike */
    return 10.0 * s->m * (double)s->n;
}

static double ivit_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return 2.0 * kb_dtype_size(t) * s->m * (double)s->n; /* read the input, write the output */
}

static double ivit_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    /* x and y; X in float32 while an i8 case's inputs are drawn; verify's rows in double */
    return (2.0 * kb_dtype_size(t) + 4.0) * s->m * (double)s->n + 16.0 * s->n + 4096;
}

/* ---- inputs ---------------------------------------------------------------------------------- */

static int ivit_inputs(enum ivit_op op, const char *name, struct kb_operands *io, struct kb_shape *s,
                       enum kb_dtype t, uint64_t seed, char *err, size_t errlen)
{
    int rc = quant_check_shape(name, s, QUANT_AXES_ROWS, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (t != KB_DTYPE_I8 && t != KB_DTYPE_F32) {
        snprintf(err, errlen, "%s: dtype %s not supported (i8, f32)", name, kb_dtype_name(t) ? kb_dtype_name(t) : "?");
        return KB_UNSUPPORTED;
    }
    const size_t e = (size_t)s->m * (size_t)s->n;
    const int64_t dims[2] = { s->m, s->n }, one[1] = { 1 };
    if (kb_operands_add(io, "x", t, 2, dims, 0, 64, err, errlen) != KB_IVIT_X ||
        kb_operands_add(io, "x_scale", KB_DTYPE_F32, 1, one, 0, 0, err, errlen) != KB_IVIT_X_SCALE ||
        kb_operands_add(io, "y", t, 2, dims, 1, 0, err, errlen) != KB_IVIT_Y)
        return KB_ERROR;
    float *scale = io->buffer[KB_IVIT_X_SCALE];
    float *x = t == KB_DTYPE_F32 ? io->buffer[KB_IVIT_X] : malloc(e * sizeof(float));
    if (!x) {
        snprintf(err, errlen, "%s: out of memory", name);
        return KB_ERROR;
    }
    gen_fill_input_f32(x, (size_t)s->m, (size_t)s->n, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    float amax = 0;
    for (size_t i = 0; i < e; i++) {
        if (op == IVIT_SHIFTMAX)
            x[i] *= IVIT_SCORE_SPREAD;
        amax = fmaxf(amax, fabsf(x[i]));
    }
    if (t == KB_DTYPE_F32) {
        *scale = 1.0f;
        return KB_OK;
    }
    *scale = quant_scale(amax, KB_DTYPE_I8);
    const float inv = 1.0f / *scale;
    int8_t *xi = io->buffer[KB_IVIT_X];
    for (size_t i = 0; i < e; i++)
        xi[i] = (int8_t)quant_code(x[i], inv, KB_DTYPE_I8);
    free(x);
    return KB_OK;
}

/* ---- verify ---------------------------------------------------------------------------------- */

/* float64 definitions, of input row x (given as doubles) */
static void reference_row(enum ivit_op op, const double *x, int n, double *y)
{
    if (op == IVIT_SHIFTMAX) {
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++)
            mx = fmax(mx, x[j]);
        for (int j = 0; j < n; j++)
            sum += y[j] = exp(x[j] - mx);
        for (int j = 0; j < n; j++)
            y[j] /= sum;
    } else if (op == IVIT_SHIFTGELU) {
        for (int j = 0; j < n; j++)
            y[j] = 0.5 * x[j] * (1.0 + erf(x[j] / sqrt(2.0)));
    } else {
        double mean = 0, var = 0;
        for (int j = 0; j < n; j++)
            mean += x[j];
        mean /= n;
        for (int j = 0; j < n; j++)
            var += (x[j] - mean) * (x[j] - mean);
        var /= n;
        for (int j = 0; j < n; j++)
            y[j] = (x[j] - mean) / sqrt(var + IVIT_LN_EPS);
    }
}

/* The i8 output's scale and the margin above its floor (quant_ops.h). */
static double out_scale(enum ivit_op op, float s_in)
{
    return op == IVIT_SHIFTMAX ? (double)(1.0f / 127) : op == IVIT_SHIFTGELU ? (double)s_in : IVIT_LN_OUT_SCALE;
}

static double i8_margin(enum ivit_op op)
{
    return op == IVIT_SHIFTMAX ? QUANT_IVIT_TOL : op == IVIT_SHIFTGELU ? 0.06 : 0.03;
}

/* The reference rounded to the output grid and saturated like an int8 output. */
static double on_output_grid(enum ivit_op op, double s_out, double ref)
{
    double q = nearbyint(ref / s_out), lo = op == IVIT_SHIFTMAX ? 0 : -127;
    q = q > 127 ? 127 : q < lo ? lo : q;
    return q * s_out;
}

static int ivit_verify(enum ivit_op op, const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t,
                       struct kb_accuracy *acc)
{
    const int m = s->m, n = s->n, integer = t == KB_DTYPE_I8;
    const float s_in = *(const float *)io->tensor[KB_IVIT_X_SCALE].data;
    const double s_out = out_scale(op, s_in);
    const int8_t *xi = io->tensor[KB_IVIT_X].data, *yi = io->tensor[KB_IVIT_Y].data;
    const float *xf = io->tensor[KB_IVIT_X].data, *yf = io->tensor[KB_IVIT_Y].data;
    double *x = malloc((size_t)n * sizeof *x), *ref = malloc((size_t)n * sizeof *ref);
    if (!x || !ref) {
        free(x);
        free(ref);
        return KB_ERROR;
    }
    double floor_sq = 0, ref_sq = 0;
    struct verify_acc va;
    verify_begin(&va);
    for (int i = 0; i < m; i++) {
        const size_t row = (size_t)i * n;
        for (int j = 0; j < n; j++)
            x[j] = integer ? (double)s_in * xi[row + j] : (double)xf[row + j];
        reference_row(op, x, n, ref);
        for (int j = 0; j < n; j++) {
            if (!integer) {
                verify_add(&va, yf[row + j], ref[j]);
                continue;
            }
            verify_add(&va, s_out * yi[row + j], ref[j]);
            double g = on_output_grid(op, s_out, ref[j]) - ref[j];
            floor_sq += g * g;
            ref_sq += ref[j] * ref[j];
        }
    }
    double tol = integer ? i8_margin(op) + (ref_sq > 0 ? sqrt(floor_sq / ref_sq) : 0) : IVIT_F32_TOL;
    verify_finish(&va, tol, acc);
    acc->rows_checked = acc->rows_total = m;
    free(x);
    free(ref);
    return KB_OK;
}

/* ---- the three operations -------------------------------------------------------------------- */

#define IVIT_OPERATION(o, OP, desc)                                                                         \
    static int o##_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed,       \
                          char *err, size_t errlen)                                                         \
    {                                                                                                       \
        return ivit_inputs(OP, "quant." #o, io, s, t, seed, err, errlen);                                   \
    }                                                                                                       \
    static int o##_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t,          \
                          uint64_t seed, int threads, struct kb_accuracy *acc)                              \
    {                                                                                                       \
        (void)seed;                                                                                         \
        (void)threads;                                                                                      \
        return ivit_verify(OP, io, s, t, acc);                                                              \
    }                                                                                                       \
    const struct kb_operation kb_op_quant_##o = {                                                           \
        .name = "quant." #o, .description = desc, .family = KB_FAMILY_QUANT, .axes = QUANT_AXES_ROWS,       \
        .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_F32),                                   \
        .layout = "row-major; x [M,N] in (f32 values, or i8 codes of x_scale·x), x_scale f32 [1] in (1 for " \
                  "f32), y [M,N] out (f32, or i8 codes on the operator's output scale: quant_ops.h)",       \
        .flops = ivit_flops, .bytes = ivit_bytes, .footprint = ivit_footprint,                              \
        .inputs = o##_inputs, .verify = o##_verify,                                                         \
    }

IVIT_OPERATION(ivit_shiftmax, IVIT_SHIFTMAX, "softmax along each row of an M×N matrix (I-ViT's Shiftmax in i8)");
IVIT_OPERATION(ivit_shiftgelu, IVIT_SHIFTGELU, "GELU (erf) of an M×N matrix (I-ViT's ShiftGELU in i8)");
IVIT_OPERATION(ivit_layernorm, IVIT_LAYERNORM, "LayerNorm without affine along each row of an M×N matrix (I-LayerNorm in i8)");
