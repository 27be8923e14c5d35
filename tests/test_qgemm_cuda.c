/* test_qgemm_cuda.c - the host side of the quantized GEMMs on the GPU, which runs without one:
 * the FP8 GEMM's inputs (seeded, per-tensor e4m3 codes of quant.h's quantizer) and its verify,
 * which must pass an output computed the way the kernel computes it (float32 sums of exact e4m3
 * products, scaled, rounded to bf16) and fail planted faults: a scale off by 5%, the poison the
 * kernels leave in unwritten elements (bf16 NaN), and transposed operands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kernels/quant/fp8.h"
#include "kernels/quant/gemm_cuda.h"

/* float32 to bf16 bits, round to nearest even (finite inputs) */
static uint16_t to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Y as the kernel computes it; transpose: A·W instead of A·Wᵀ over the same bytes (square). */
static uint16_t *host_gemm(const struct gemm_fp8_data *d, float scale, int transpose)
{
    uint16_t *y = malloc((size_t)d->m * d->n * sizeof *y);
    for (int i = 0; i < d->m; i++)
        for (int j = 0; j < d->n; j++) {
            float acc = 0;
            for (int p = 0; p < d->k; p++) {
                uint8_t w = transpose ? d->w[(size_t)p * d->k + j] : d->w[(size_t)j * d->k + p];
                acc += d->lut[d->a[(size_t)i * d->k + p]] * d->lut[w];
            }
            y[(size_t)i * d->n + j] = to_bf16(acc * scale);
        }
    return y;
}

static void fp8_inputs(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 37, .n = 29, .k = 129, .input = KB_INPUT_OUTLIER };
    struct gemm_fp8_data d, e;
    char err[256];
    assert_int_equal(gemm_fp8_data_new(&d, &s, 7, err, sizeof err), KB_OK);
    assert_int_equal(gemm_fp8_data_new(&e, &s, 7, err, sizeof err), KB_OK);
    assert_memory_equal(d.a, e.a, (size_t)s.m * s.k); /* same seed, same codes */
    assert_memory_equal(d.w, e.w, (size_t)s.n * s.k);
    /* per-tensor scales: the largest magnitude is coded as ±448 and nothing is NaN */
    int max_a = 0;
    for (size_t i = 0; i < (size_t)s.m * s.k; i++) {
        assert_false(isnan(d.lut[d.a[i]]));
        max_a |= fabsf(d.lut[d.a[i]]) == 448.0f;
    }
    assert_true(max_a);
    assert_true(d.lut[0x7E] == 448.0f && d.lut[0x01] == ldexpf(1.0f, -9));
    gemm_fp8_data_free(&d);
    gemm_fp8_data_free(&e);
}

static void fp8_verify_passes_and_fails(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 64, .n = 64, .k = 64, .input = KB_INPUT_NORMAL };
    struct gemm_fp8_data d;
    char err[256];
    assert_int_equal(gemm_fp8_data_new(&d, &s, 11, err, sizeof err), KB_OK);
    const float scale = d.s_a * d.s_w;
    struct kb_accuracy acc;

    uint16_t *y = host_gemm(&d, scale, 0);
    memset(&acc, 0, sizeof acc);
    gemm_fp8_verify(&d, y, (size_t)d.n, 11, &acc);
    assert_true(acc.passed);
    assert_true(acc.rel_l2_err < 0.005); /* bf16 rounding only */
    assert_int_equal(acc.rows_checked, (long)s.m * s.n); /* few elements: all of them */

    y[5 * d.n + 3] = 0xFFFF; /* one unwritten (poisoned) element */
    gemm_fp8_verify(&d, y, (size_t)d.n, 11, &acc);
    assert_false(acc.passed);
    free(y);

    y = host_gemm(&d, scale * 1.05f, 0); /* a scale 5% off */
    gemm_fp8_verify(&d, y, (size_t)d.n, 11, &acc);
    assert_false(acc.passed);
    free(y);

    y = host_gemm(&d, scale, 1); /* W read transposed */
    gemm_fp8_verify(&d, y, (size_t)d.n, 11, &acc);
    assert_false(acc.passed);
    free(y);

    /* a padded row stride: verify reads the M×N corner only */
    y = host_gemm(&d, scale, 0);
    uint16_t *wide = malloc((size_t)d.m * 80 * sizeof *wide);
    for (int i = 0; i < d.m; i++) {
        memcpy(wide + (size_t)i * 80, y + (size_t)i * d.n, (size_t)d.n * sizeof *y);
        for (int j = d.n; j < 80; j++)
            wide[(size_t)i * 80 + j] = 0xFFFF;
    }
    gemm_fp8_verify(&d, wide, 80, 11, &acc);
    assert_true(acc.passed);
    free(wide);
    free(y);
    gemm_fp8_data_free(&d);
}

static void bf16_widening(void **state)
{
    (void)state;
    assert_true(qgemm_bf16_to_float(0x3F80) == 1.0f);
    assert_true(qgemm_bf16_to_float(0xC040) == -3.0f);
    assert_true(isnan(qgemm_bf16_to_float(0xFFFF)));
    assert_int_equal(QGEMM_LDA(129), 144);
    assert_int_equal(QGEMM_LDA(8192), 8192);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp8_inputs),
        cmocka_unit_test(fp8_verify_passes_and_fails),
        cmocka_unit_test(bf16_widening),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
