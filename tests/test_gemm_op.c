/* test_gemm_op.c - the operation gemm (kernels/gemm/gemm_ops.h) on its own, at the dtypes no CPU
 * kernel implements (e4m3, f16, bf16: the GPU kernels' operation is judged here on every
 * machine): inputs seeded and in the documented formats, a result computed the way the kernels
 * compute it passes verification, planted faults fail it (a scale off by 5%, the poison the
 * kernels leave in unwritten elements, transposed operands); the 16-bit conversions against
 * every code and the rounding landmarks; the counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/gemm/gemm_ops.h"
#include "kernels/gemm/gemm_ref.h"
#include "kernels/quant/quant.h"

static struct kb_operands make(struct kb_shape *s, enum kb_dtype t, uint64_t seed)
{
    struct kb_operands io;
    memset(&io, 0, sizeof io);
    char err[256] = "";
    if (kb_op_gemm.inputs(&io, s, t, seed, err, sizeof err) != KB_OK)
        fail_msg("gemm inputs (%s): %s", kb_dtype_name(t), err);
    return io;
}

static struct kb_accuracy judge(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t,
                                uint64_t seed)
{
    struct kb_accuracy acc;
    assert_int_equal(kb_op_gemm.verify(io, s, t, seed, 1, &acc), KB_OK);
    return acc;
}

/* ---- e4m3 ----------------------------------------------------------------------------------- */

/* Y as the FP8 kernels compute it: float32 sums of exact e4m3 products, scaled, rounded to bf16;
 * transpose: A·W instead of A·Wᵀ over the same bytes (square). */
static void fp8_like_kernel(struct kb_operands *io, const struct kb_shape *s, float scale, int transpose)
{
    const uint8_t *a = io->tensor[KB_GEMM_A].data, *w = io->tensor[KB_GEMM_W].data;
    uint16_t *y = io->buffer[KB_GEMM_Y];
    for (int i = 0; i < s->m; i++)
        for (int j = 0; j < s->n; j++) {
            float acc = 0;
            for (int p = 0; p < s->k; p++) {
                uint8_t wc = transpose ? w[(size_t)p * s->k + j] : w[(size_t)j * s->k + p];
                acc += quant_decode(a[(size_t)i * s->k + p], KB_DTYPE_FP8_E4M3) * quant_decode(wc, KB_DTYPE_FP8_E4M3);
            }
            y[(size_t)i * s->n + j] = gemm_bf16_round(acc * scale);
        }
}

static void test_e4m3_inputs(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 37, .n = 29, .k = 129, .input = KB_INPUT_OUTLIER };
    struct kb_operands d = make(&s, KB_DTYPE_FP8_E4M3, 7), e = make(&s, KB_DTYPE_FP8_E4M3, 7);
    assert_memory_equal(d.tensor[KB_GEMM_A].data, e.tensor[KB_GEMM_A].data, (size_t)s.m * s.k); /* same seed */
    assert_memory_equal(d.tensor[KB_GEMM_W].data, e.tensor[KB_GEMM_W].data, (size_t)s.n * s.k);
    assert_int_equal(d.tensor[KB_GEMM_Y].dtype, KB_DTYPE_BF16);
    /* per-tensor scales: the largest magnitude is coded as ±448 and nothing is NaN */
    const uint8_t *a = d.tensor[KB_GEMM_A].data;
    int max_a = 0;
    for (size_t i = 0; i < (size_t)s.m * s.k; i++) {
        float v = quant_decode(a[i], KB_DTYPE_FP8_E4M3);
        assert_false(isnan(v));
        max_a |= fabsf(v) == 448.0f;
    }
    assert_true(max_a);
    /* one weight scale for the tensor, repeated per column; no output scale */
    const float *s_w = d.tensor[KB_GEMM_W_SCALES].data, *sc = d.tensor[KB_GEMM_SCALES].data;
    for (int j = 1; j < s.n; j++)
        assert_true(s_w[j] == s_w[0]);
    assert_true(sc[0] > 0 && sc[1] == 1.0f);
    kb_operands_free(&d);
    kb_operands_free(&e);
}

static void test_e4m3_verify_passes_and_fails(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 64, .n = 64, .k = 64, .input = KB_INPUT_NORMAL };
    struct kb_operands io = make(&s, KB_DTYPE_FP8_E4M3, 11);
    const float scale = ((const float *)io.tensor[KB_GEMM_SCALES].data)[0] *
                        ((const float *)io.tensor[KB_GEMM_W_SCALES].data)[0];
    fp8_like_kernel(&io, &s, scale, 0);
    struct kb_accuracy acc = judge(&io, &s, KB_DTYPE_FP8_E4M3, 11);
    assert_true(acc.passed);
    assert_true(acc.rel_l2_err < 0.005); /* bf16 rounding only */
    assert_int_equal(acc.rows_checked, (long)s.m * s.n); /* few elements: all of them */

    ((uint16_t *)io.buffer[KB_GEMM_Y])[5 * s.n + 3] = 0xFFFF; /* one unwritten (poisoned) element */
    assert_false(judge(&io, &s, KB_DTYPE_FP8_E4M3, 11).passed);

    fp8_like_kernel(&io, &s, scale * 1.05f, 0); /* a scale 5% off */
    assert_false(judge(&io, &s, KB_DTYPE_FP8_E4M3, 11).passed);

    fp8_like_kernel(&io, &s, scale, 1); /* W read transposed */
    assert_false(judge(&io, &s, KB_DTYPE_FP8_E4M3, 11).passed);
    kb_operands_free(&io);
}

/* ---- f16, bf16 ------------------------------------------------------------------------------ */

static void test_half_conversions(void **state)
{
    (void)state;
    /* every finite code: its value converts back to itself */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) != 0x7C00)
            assert_int_equal(gemm_f16_round(gemm_f16_value((uint16_t)h)), h);
        if ((h & 0x7F80) != 0x7F80)
            assert_int_equal(gemm_bf16_round(gemm_bf16_value((uint16_t)h)), h);
    }
    /* landmarks: largest finite, overflow at the midpoint above it, smallest normal and
     * subnormal, ties to even among subnormals and normals */
    assert_int_equal(gemm_f16_round(65504.0f), 0x7BFF);
    assert_int_equal(gemm_f16_round(65519.99f), 0x7BFF);
    assert_int_equal(gemm_f16_round(65520.0f), 0x7C00);
    assert_int_equal(gemm_f16_round(-INFINITY), 0xFC00);
    assert_int_equal(gemm_f16_round(ldexpf(1, -14)), 0x0400);
    assert_int_equal(gemm_f16_round(ldexpf(1, -24)), 0x0001);
    assert_int_equal(gemm_f16_round(ldexpf(1, -25)), 0x0000);              /* tie: to even 0 */
    assert_int_equal(gemm_f16_round(ldexpf(1.0001f, -25)), 0x0001);        /* just above the tie */
    assert_int_equal(gemm_f16_round(ldexpf(3, -25)), 0x0002);              /* 1.5 units: to even 2 */
    assert_int_equal(gemm_f16_round(1.0f + ldexpf(1, -11)), 0x3C00);      /* tie: to even */
    assert_int_equal(gemm_f16_round(1.0f + ldexpf(3, -11)), 0x3C02);      /* tie: to even (up) */
    assert_int_equal(gemm_f16_round(-2.0f), 0xC000);
    assert_true(isnan(gemm_f16_value(gemm_f16_round(NAN))));
    assert_int_equal(gemm_bf16_round(1.0f + ldexpf(1, -8)), 0x3F80);      /* tie: to even */
    assert_int_equal(gemm_bf16_round(1.0f + ldexpf(3, -8)), 0x3F82);
    assert_true(gemm_bf16_value(0xC040) == -3.0f);
    assert_true(isnan(gemm_bf16_value(gemm_bf16_round(NAN))));
}

static void half_dtype(enum kb_dtype t)
{
    struct kb_shape s = { .m = 33, .n = 20, .k = 300, .input = KB_INPUT_NORMAL };
    const uint64_t seed = 5;
    struct kb_operands io = make(&s, t, seed);
    uint16_t (*round16)(float) = t == KB_DTYPE_F16 ? gemm_f16_round : gemm_bf16_round;
    float (*value16)(uint16_t) = t == KB_DTYPE_F16 ? gemm_f16_value : gemm_bf16_value;
    /* the inputs are the float32 draws of gemm.dense@cuda.cublas's sub-seeds, rounded */
    float *a_f = malloc((size_t)s.m * s.k * sizeof *a_f);
    gen_fill_input_f32(a_f, (size_t)s.m, (size_t)s.k, seed ^ 0xA, s.input);
    const uint16_t *a = io.tensor[KB_GEMM_A].data, *w = io.tensor[KB_GEMM_W].data;
    for (size_t i = 0; i < (size_t)s.m * s.k; i++)
        assert_int_equal(a[i], round16(a_f[i]));
    free(a_f);
    /* Y as a tensor-core kernel computes it (float32 sums, rounded once) passes */
    uint16_t *y = io.buffer[KB_GEMM_Y];
    for (int i = 0; i < s.m; i++)
        for (int j = 0; j < s.n; j++) {
            float acc = 0;
            for (int p = 0; p < s.k; p++)
                acc += value16(a[(size_t)i * s.k + p]) * value16(w[(size_t)j * s.k + p]);
            y[(size_t)i * s.n + j] = round16(acc);
        }
    struct kb_accuracy acc = judge(&io, &s, t, seed);
    assert_true(acc.passed && acc.rel_l2_err < acc.tolerance / 4);
    assert_int_equal(acc.rows_checked, (long)s.m * s.n);
    /* an output read as the other 16-bit format is wrong */
    for (size_t i = 0; i < (size_t)s.m * s.n; i++)
        y[i] = t == KB_DTYPE_F16 ? gemm_bf16_round(value16(y[i])) : gemm_f16_round(value16(y[i]));
    assert_false(judge(&io, &s, t, seed).passed);
    kb_operands_free(&io);
}

static void test_half_dtypes(void **state)
{
    (void)state;
    half_dtype(KB_DTYPE_F16);
    half_dtype(KB_DTYPE_BF16);
}

/* ---- f32, i8 -------------------------------------------------------------------------------- */

static void test_f32_and_i8_share_the_draws(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 9, .n = 40, .k = 70, .input = KB_INPUT_UNIFORM };
    struct kb_operands f = make(&s, KB_DTYPE_F32, 3), q = make(&s, KB_DTYPE_I8, 3);
    /* the float baseline reads the values the int8 codes quantize */
    assert_memory_equal(f.tensor[KB_GEMM_A].data, q.tensor[KB_GEMM_A_F32].data, sizeof(float) * 9 * 70);
    assert_memory_equal(f.tensor[KB_GEMM_W].data, q.tensor[KB_GEMM_W_F32].data, sizeof(float) * 40 * 70);
    /* i8: symmetric codes, each column's dyadic that of s_a·s_w[n]/s_y */
    const int8_t *w = q.tensor[KB_GEMM_W].data;
    for (int i = 0; i < 40 * 70; i++)
        assert_true(w[i] >= -127);
    const float *s_w = q.tensor[KB_GEMM_W_SCALES].data, *sc = q.tensor[KB_GEMM_SCALES].data;
    const int32_t *rq = q.tensor[KB_GEMM_REQUANT].data;
    for (int j = 0; j < s.n; j++) {
        struct quant_dyadic d = quant_dyadic_from((double)sc[0] * s_w[j] / sc[1]);
        assert_int_equal(rq[j], d.b);
        assert_int_equal(rq[s.n + j], d.c);
    }
    /* f32: the exact product passes, a zero output fails */
    const float *a = f.tensor[KB_GEMM_A].data, *wf = f.tensor[KB_GEMM_W].data;
    float *y = f.buffer[KB_GEMM_Y];
    for (int i = 0; i < s.m; i++) {
        double ref[40];
        gemm_ref_row(a, wf, s.n, s.k, i, ref);
        for (int j = 0; j < s.n; j++)
            y[i * s.n + j] = (float)ref[j];
    }
    assert_true(judge(&f, &s, KB_DTYPE_F32, 3).passed);
    memset(y, 0, sizeof(float) * 9 * 40);
    assert_false(judge(&f, &s, KB_DTYPE_F32, 3).passed);
    kb_operands_free(&f);
    kb_operands_free(&q);
}

static void test_counts_and_refusals(void **state)
{
    (void)state;
    const struct kb_shape s = { .m = 3, .n = 5, .k = 7 };
    assert_true(kb_op_gemm.flops(&s) == 2.0 * 3 * 5 * 7);
    assert_true(kb_op_gemm.bytes(&s, KB_DTYPE_F32) == 4.0 * (21 + 35 + 15));
    assert_true(kb_op_gemm.bytes(&s, KB_DTYPE_BF16) == 2.0 * (21 + 35 + 15));
    assert_true(kb_op_gemm.bytes(&s, KB_DTYPE_I8) == 21 + 35 + 15 + 4.0 * (3 + 5));
    assert_true(kb_op_gemm.bytes(&s, KB_DTYPE_FP8_E4M3) == 21 + 35 + 2.0 * 15);
    const struct kb_shape g = { .m = 3, .n = 5, .k = 100, .group = 32 };
    assert_true(kb_op_quant_gemm_w4a8.bytes(&g, KB_DTYPE_I8) == 300 + 250 + 4.0 * 5 * 4 + 4.0 * 15);
    char err[256];
    struct kb_operands io;
    memset(&io, 0, sizeof io);
    struct kb_shape b = { .m = 2, .n = 2, .k = 200000 };
    assert_int_equal(kb_op_gemm.inputs(&io, &b, KB_DTYPE_I4, 1, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "i4"));
    kb_operands_free(&io);
    /* int32 accumulators bound K at i8 only */
    assert_int_equal(kb_op_gemm.inputs(&io, &b, KB_DTYPE_I8, 1, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "overflow"));
    kb_operands_free(&io);
    assert_int_equal(kb_op_gemm.inputs(&io, &b, KB_DTYPE_BF16, 1, err, sizeof err), KB_OK);
    kb_operands_free(&io);
    b.n = 0;
    assert_int_equal(kb_op_gemm.inputs(&io, &b, KB_DTYPE_F32, 1, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "n = 0"));
    kb_operands_free(&io);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e4m3_inputs),
        cmocka_unit_test(test_e4m3_verify_passes_and_fails),
        cmocka_unit_test(test_half_conversions),
        cmocka_unit_test(test_half_dtypes),
        cmocka_unit_test(test_f32_and_i8_share_the_draws),
        cmocka_unit_test(test_counts_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
