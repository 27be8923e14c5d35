/* test_fp4.c - the FP4 formats (kernels/quant/fp4.h) bit for bit, and quant.fp4_quantize@cpu /
 * quant.fp4_gemm@cpu on every SIMD path at odd sizes, with planted bugs the verdicts must catch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/kernel_case.h"
#include "harness/case.h"
#include "kernels/kernel.h"
#include "kernels/quant/fp4.h"
#include "kernels/quant/fp8.h"
#include "kernels/quant/quant_ops.h"

/* Every E2M1 code decodes to sign · 2^(e-1) · (1 + m/2) (normal) or m/2 (e = 0), computed here
 * from the bit fields, and encodes back to itself. */
static void test_e2m1_every_code(void **state)
{
    (void)state;
    for (unsigned code = 0; code < 16; code++) {
        const unsigned e = (code >> 1) & 3, mbit = code & 1;
        double mag = e == 0 ? mbit * 0.5 : ldexp(1.0 + mbit * 0.5, (int)e - 1);
        double want = (code & 8) ? -mag : mag;
        assert_true((double)fp4_e2m1_value[code] == want);
        assert_int_equal(!!signbit(fp4_e2m1_value[code]), code >> 3);
        assert_int_equal(fp4_e2m1_encode(fp4_e2m1_value[code]), code);
    }
    static const float grid[8] = { 0, 0.5f, 1, 1.5f, 2, 3, 4, 6 };
    for (int i = 0; i < 8; i++)
        assert_true(fp4_e2m1_value[i] == grid[i]);
}

/* Known values: the nearest grid point, ties to the even code, saturation, signs, NaN. */
static void test_e2m1_rounding(void **state)
{
    (void)state;
    static const struct {
        float v;
        unsigned code;
    } cases[] = {
        { 0.0f, 0 },   { 0.1f, 0 },   { 0.25f, 0 },  { 0.2500001f, 1 }, { 0.5f, 1 }, { 0.74f, 1 },
        { 0.75f, 2 },  { 1.0f, 2 },   { 1.25f, 2 },  { 1.2500001f, 3 }, { 1.5f, 3 }, { 1.75f, 4 },
        { 2.0f, 4 },   { 2.5f, 4 },   { 2.5000002f, 5 }, { 3.0f, 5 },   { 3.4999998f, 5 }, { 3.5f, 6 },
        { 4.0f, 6 },   { 5.0f, 6 },   { 5.0000005f, 7 }, { 6.0f, 7 },   { 7.0f, 7 },  { 1e30f, 7 },
        { INFINITY, 7 }, { -0.0f, 8 }, { -0.1f, 8 },  { -0.75f, 10 }, { -5.0f, 14 }, { -1e9f, 15 },
        { -INFINITY, 15 }, { NAN, 0 }, { -NAN, 0 }, { 1e-45f, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (fp4_e2m1_encode(cases[i].v) != cases[i].code)
            fail_msg("e2m1(%.9g) = %u, want %u", (double)cases[i].v, fp4_e2m1_encode(cases[i].v), cases[i].code);
    /* every float near the grid: the code is the nearest value (ties: even code), by brute force */
    for (int i = 0; i < 200000; i++) {
        float v = -7.0f + 14.0f * (float)i / 200000.0f;
        unsigned got = fp4_e2m1_encode(v), best = 0;
        double bd = INFINITY;
        for (unsigned c = 0; c < 8; c++) {
            double d = fabs(fabs((double)v) - fp4_e2m1_value[c]);
            if (d < bd || (d == bd && (c & 1) == 0))
                bd = d, best = c;
        }
        if (fabs((double)v) > 6)
            best = 7;
        assert_int_equal(got & 7, best);
    }
}

static void test_packing(void **state)
{
    (void)state;
    uint8_t row[4] = { 0xAA, 0xAA, 0xAA, 0xAA };
    fp4_put(row, 0, 0x1);
    fp4_put(row, 1, 0xF);
    fp4_put(row, 4, 0x7);
    assert_int_equal(row[0], 0xF1);
    assert_int_equal(row[2], 0xA7);
    assert_int_equal(fp4_get(row, 1), 0xF);
    assert_int_equal(fp4_get(row, 5), 0xA);
}

/* MX scale selection: 2^(floor(log2 amax) - 2), clamped to [-127, 127]; zero and non-finite. */
static void test_mx_scale(void **state)
{
    (void)state;
    assert_int_equal(fp4_mx_scale_code(1.0f), 127 - 2);
    assert_int_equal(fp4_mx_scale_code(1.9999999f), 127 - 2);
    assert_int_equal(fp4_mx_scale_code(2.0f), 127 - 1);
    assert_int_equal(fp4_mx_scale_code(6.0f), 127);     /* 6 = 1.5·2^2: X = 1, 6 maps to itself */
    assert_int_equal(fp4_mx_scale_code(7.9f), 127);     /* 7.9 saturates to 6 */
    assert_int_equal(fp4_mx_scale_code(0.001f), 127 - 10 - 2);
    assert_int_equal(fp4_mx_scale_code(3.0e38f), 127 + 127 - 2);
    assert_int_equal(fp4_mx_scale_code(0.0f), 0);       /* documented: the clamp of -inf */
    assert_int_equal(fp4_mx_scale_code(0x1p-126f), 0);  /* -126 - 2 clamps to -127 */
    assert_int_equal(fp4_mx_scale_code(0x1p-124f), 1);  /* -124 - 2 = -126 */
    assert_int_equal(fp4_mx_scale_code(0x1p-140f), 0);  /* a subnormal amax */
    assert_int_equal(fp4_mx_scale_code(INFINITY), 0xFF);
    assert_int_equal(fp4_mx_scale_code(NAN), 0xFF);
    assert_true(fp4_e8m0_value(127) == 1.0f);
    assert_true(fp4_e8m0_value(0) == 0x1p-127f);
    assert_true(fp4_e8m0_value(254) == 0x1p127f);
    assert_true(isnan(fp4_e8m0_value(0xFF)));

    /* a hand-made block: amax 5 -> X = 1; 5 is a tie between 4 and 6 (even: 4); 0.75 -> 1 */
    float x[32] = { 5.0f, -0.75f, 0.25f, 3.5f, -6.0f, 1.25f };
    uint8_t row[16] = { 0 };
    float deq[32];
    uint8_t sc = fp4_quantize_block(x, 32, KB_DTYPE_MXFP4, 1, row, 0, deq);
    assert_int_equal(sc, 127 + 0);
    assert_int_equal(fp4_e2m1_value[fp4_get(row, 0)], 4.0f);
    assert_true(deq[0] == 4.0f && deq[1] == -1.0f && deq[2] == 0.0f && deq[3] == 4.0f && deq[4] == -6.0f &&
                deq[5] == 1.0f);
    /* the same block scaled by 2^-100: everything scales exactly */
    for (int j = 0; j < 32; j++)
        x[j] = ldexpf(x[j], -100);
    sc = fp4_quantize_block(x, 32, KB_DTYPE_MXFP4, 1, row, 0, deq);
    assert_int_equal(sc, 127 - 100);
    assert_true(deq[0] == 0x1p-98f && deq[4] == -6 * 0x1p-100f);
    /* tiny values: the exponent clamps at -127, so they round to zero rather than overflow */
    float tiny[8] = { 0x1p-140f, -0x1p-135f, 0x1p-149f };
    sc = fp4_quantize_block(tiny, 8, KB_DTYPE_MXFP4, 1, row, 0, deq);
    assert_int_equal(sc, 0);
    for (int j = 0; j < 8; j++)
        assert_true(deq[j] == 0 && (fp4_get(row, j) & 7) == 0);
    /* an all-zero block; a block with an infinity; one with a NaN */
    float z[32] = { 0 };
    assert_int_equal(fp4_quantize_block(z, 32, KB_DTYPE_MXFP4, 1, row, 0, deq), 0);
    assert_true(deq[0] == 0 && deq[31] == 0);
    z[3] = INFINITY;
    assert_int_equal(fp4_quantize_block(z, 32, KB_DTYPE_MXFP4, 1, row, 0, deq), 0xFF);
    assert_true(isnan(deq[0]) && isnan(deq[3]) && fp4_get(row, 3) == 0);
    z[3] = NAN;
    assert_int_equal(fp4_quantize_block(z, 32, KB_DTYPE_MXFP4, 1, row, 0, deq), 0xFF);
}

/* NV scale selection: s_t = amax/(6·448); s_b = e4m3(amax_b / 6 / s_t). */
static void test_nv_scale(void **state)
{
    (void)state;
    assert_true(fp4_nv_tensor_scale(2688.0f) == 1.0f);
    assert_true(fp4_nv_tensor_scale(0.0f) == 1.0f);
    assert_true(fp4_nv_tensor_scale(1.0f) == 1.0f / 2688.0f);
    /* the tensor's largest block gets 448, its largest element 6 */
    assert_int_equal(fp4_nv_scale_code(2688.0f, 1.0f), 0x7E);
    assert_int_equal(fp4_nv_scale_code(6.0f, 1.0f), fp8_encode(1.0f, FP8_E4M3));
    /* 1.0625 is a tie between e4m3 1.0 and 1.125: even mantissa, 1.0 */
    assert_int_equal(fp4_nv_scale_code(6.375f, 1.0f), fp8_encode(1.0f, FP8_E4M3));
    assert_int_equal(fp4_nv_scale_code(0.0f, 1.0f), 0);
    assert_int_equal(fp4_nv_scale_code(INFINITY, 1.0f), 0x7F);
    assert_true(fp4_scale_value(0x7E, KB_DTYPE_NVFP4) == 448.0f);

    /* a hand-made block at s_t = 1: amax 12 -> s_b 2; 5 -> v 2.5 -> 2 (tie, even) -> 4 */
    float x[16] = { 12.0f, 5.0f, -1.5f, 0.5f };
    uint8_t row[8] = { 0 };
    float deq[16];
    uint8_t sc = fp4_quantize_block(x, 16, KB_DTYPE_NVFP4, 1.0f, row, 0, deq);
    assert_true(fp4_scale_value(sc, KB_DTYPE_NVFP4) == 2.0f);
    assert_true(deq[0] == 12.0f && deq[1] == 4.0f && deq[2] == -2.0f && deq[3] == 0.0f);
    /* a block far below the tensor's amax: its e4m3 scale underflows to 0, documented zeros */
    float small[16] = { 1e-6f, -2e-6f };
    sc = fp4_quantize_block(small, 16, KB_DTYPE_NVFP4, fp4_nv_tensor_scale(1e6f), row, 0, deq);
    assert_int_equal(sc, 0);
    assert_true(deq[0] == 0 && deq[1] == 0);
    /* NaN: scale NaN, deq NaN */
    small[5] = NAN;
    assert_int_equal(fp4_quantize_block(small, 16, KB_DTYPE_NVFP4, 1.0f, row, 0, deq), 0x7F);
    assert_true(isnan(deq[0]));
    /* s_t over the finite elements only */
    float t[4] = { 1.0f, INFINITY, NAN, -3.0f };
    assert_true(fp4_finite_absmax(t, 4) == 3.0f);
}

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, enum kb_dtype t, int threads,
                                uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = t, .threads = threads, .seed = seed };
}

static struct kb_accuracy verdict_now(struct kb_case *c)
{
    struct kb_accuracy a;
    memset(&a, 0, sizeof a);
    assert_int_equal(kb_case_verify(c, &a), KB_OK);
    return a;
}

static void quantize_on_one_path(enum kb_cpu_path p)
{
    (void)p;
    const enum kb_dtype types[] = { KB_DTYPE_MXFP4, KB_DTYPE_NVFP4 };
    const int shapes[][2] = { { 37, 301 }, { 8, 128 }, { 1, 7 }, { 65, 77 }, { 3, 33 }, { 5, 4096 + 35 } };
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < 6; si++)
            for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_OUTLIER; input++) {
                struct kb_shape s = { .m = shapes[si][0], .k = shapes[si][1], .input = input };
                struct kb_case c = make_case(&kb_quant_fp4_quantize_cpu, s, types[ti], 1 + (int)(si & 1), 5 + si);
                case_setup_ok(&c);
                struct kb_accuracy a = case_run_verify(&c);
                if (!a.passed || a.exact_mismatches != 0 || a.exact_checked <= 0)
                    fail_msg("%s m=%d k=%d input=%d: passed %d, %ld/%ld mismatches, rel %.3g", kb_dtype_name(types[ti]),
                             s.m, s.k, input, a.passed, a.exact_mismatches, a.exact_checked, a.rel_l2_err);
                struct kb_counter ctr[4];
                assert_int_equal(kb_quant_fp4_quantize_cpu.stats(&c, ctr, 4), 3);
                assert_string_equal(ctr[2].name, "fp4.sqnr_db");
                /* 4-bit floats with block scales: 15-25 dB, the relative RMSE the verdict saw */
                assert_true(ctr[2].value > 10 && ctr[2].value < 40);
                assert_true(fabs(ctr[0].value - a.rel_l2_err) < 1e-9);
                case_teardown(&c);
            }
}

static void test_quantize_every_path(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, CASE_NO_PATH, KB_CPU_AVX512F };
    case_each_path("quant.fp4_quantize@cpu", needs, quantize_on_one_path);
}

/* Non-finite and zero rows through the kernel: the AVX-512 path hands those blocks to the scalar
 * definition, and the operation still finds every code equal. */
static void test_quantize_special_values(void **state)
{
    (void)state;
    const enum kb_dtype types[] = { KB_DTYPE_MXFP4, KB_DTYPE_NVFP4 };
    for (size_t ti = 0; ti < 2; ti++) {
        struct kb_shape s = { .m = 4, .k = 96, .input = KB_INPUT_NORMAL };
        struct kb_case c = make_case(&kb_quant_fp4_quantize_cpu, s, types[ti], 1, 9);
        case_setup_ok(&c);
        float *x = c.io.buffer[KB_FP4Q_X];
        x[5] = INFINITY;
        x[96 + 40] = NAN;
        for (int j = 0; j < 96; j++)
            x[2 * 96 + j] = 0;
        x[3 * 96 + 7] = 1e-30f; /* tiny beside the others */
        assert_int_equal(kb_case_run(&c), KB_OK);
        struct kb_accuracy a = verdict_now(&c);
        assert_int_equal(a.exact_mismatches, 0);
        assert_false(a.passed); /* NaN in the dequantized output: not a pass on accuracy */
        case_teardown(&c);
    }
}

/* NVFP4 block scales across E4M3's whole range (subnormal, normal, saturated) and zero scales,
 * many blocks a row, so the AVX-512 path's 16-block groups (vector FP8 scale encoding) meet
 * every kind of scale: its codes and scales must equal the scalar definition's. */
static void test_quantize_nv_scale_range(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 3, .k = 1024 + 48, .input = KB_INPUT_NORMAL };
    struct kb_case c = make_case(&kb_quant_fp4_quantize_cpu, s, KB_DTYPE_NVFP4, 1, 17);
    case_setup_ok(&c);
    float *x = c.io.buffer[KB_FP4Q_X];
    for (int j = 0; j < s.k; j++) {
        x[j] *= ldexpf(1.0f, j / 16 - 40);                 /* a binade per block: 2^-40 .. 2^26 */
        x[s.k + j] *= j / 16 == 5 ? 1e4f : 1e-3f;          /* one large block: the rest scale ~0 */
        x[2 * s.k + j] *= ldexpf(1.0f, (j / 16) % 24 - 12); /* scales up and down again */
    }
    assert_int_equal(kb_case_run(&c), KB_OK);
    struct kb_accuracy a = verdict_now(&c);
    assert_int_equal(a.exact_mismatches, 0);
    assert_true(a.exact_checked > 0);
    case_teardown(&c);
}

static void test_quantize_planted_bugs_fail(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 16, .k = 100, .input = KB_INPUT_NORMAL };
    const enum kb_dtype types[] = { KB_DTYPE_MXFP4, KB_DTYPE_NVFP4 };
    for (size_t ti = 0; ti < 2; ti++) {
        struct kb_case c = make_case(&kb_quant_fp4_quantize_cpu, s, types[ti], 1, 3);
        case_setup_ok(&c);
        assert_true(case_run_verify(&c).passed);
        uint8_t *codes = (uint8_t *)case_tensor(&c, "codes").data;
        codes[7] ^= 0x01; /* one code one step off: the accuracy cannot see it */
        struct kb_accuracy a = verdict_now(&c);
        assert_false(a.passed);
        assert_int_equal(a.exact_mismatches, 1);
        assert_int_equal(kb_case_run(&c), KB_OK);
        ((uint8_t *)case_tensor(&c, "scales").data)[2] += 1;
        assert_false(verdict_now(&c).passed);
        assert_int_equal(kb_case_run(&c), KB_OK);
        float *ts = (float *)case_tensor(&c, "tensor_scale").data;
        *ts = nextafterf(*ts, 10);
        assert_false(verdict_now(&c).passed);
        case_teardown(&c);
    }
}

static void gemm_on_one_path(enum kb_cpu_path p)
{
    (void)p;
    const enum kb_dtype types[] = { KB_DTYPE_MXFP4, KB_DTYPE_NVFP4 };
    /* m n k; the last spans several of the kernel's column and K blocks */
    const int shapes[][3] = { { 37, 29, 301 }, { 1, 7, 33 }, { 65, 130, 77 }, { 8, 16, 1040 }, { 13, 600, 290 } };
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < 5; si++)
            for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_OUTLIER; input++) {
                struct kb_shape s = { .m = shapes[si][0], .n = shapes[si][1], .k = shapes[si][2], .input = input };
                struct kb_case c = make_case(&kb_quant_fp4_gemm_cpu, s, types[ti], 1 + (int)(si & 1), 21 + si);
                case_setup_ok(&c);
                struct kb_accuracy a = case_run_verify(&c);
                if (!a.passed || a.exact_mismatches != 0 || a.exact_checked <= 0)
                    fail_msg("%s m=%d n=%d k=%d input=%d: passed %d, %ld/%ld outside f32 accumulation, rel %.3g",
                             kb_dtype_name(types[ti]), s.m, s.n, s.k, input, a.passed, a.exact_mismatches,
                             a.exact_checked, a.rel_l2_err);
                /* a 4-bit GEMM is far from the unquantized one, but not useless */
                assert_true(a.rel_l2_err > 0.01 && a.rel_l2_err < 0.5);
                case_teardown(&c);
            }
}

static void test_gemm_every_path(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, KB_CPU_AVX2 | KB_CPU_FMA, KB_CPU_AVX512F };
    case_each_path("quant.fp4_gemm@cpu", needs, gemm_on_one_path);
}

/* An output off by far less than the quantization error is still caught: the check against the
 * dequantized GEMM is exact up to float32 accumulation. */
static void test_gemm_planted_bugs_fail(void **state)
{
    (void)state;
    const enum kb_dtype types[] = { KB_DTYPE_MXFP4, KB_DTYPE_NVFP4 };
    for (size_t ti = 0; ti < 2; ti++) {
        struct kb_shape s = { .m = 5, .n = 9, .k = 200, .input = KB_INPUT_NORMAL };
        struct kb_case c = make_case(&kb_quant_fp4_gemm_cpu, s, types[ti], 1, 4);
        case_setup_ok(&c);
        assert_true(case_run_verify(&c).passed);
        float *y = (float *)case_tensor(&c, "y").data;
        y[3] *= 1.001f;
        struct kb_accuracy a = verdict_now(&c);
        assert_false(a.passed);
        assert_int_equal(a.exact_mismatches, 1);
        assert_int_equal(kb_case_run(&c), KB_OK);
        /* verify decodes the operands itself: a W block scale changed after the run leaves Y
         * stale in the column of that row, in every sampled row */
        ((uint8_t *)case_tensor(&c, "w_scales").data)[0] += 1;
        a = verdict_now(&c);
        assert_false(a.passed);
        assert_true(a.exact_mismatches >= 1);
        case_teardown(&c);
    }
}

static void test_dtypes_and_shapes_rejected(void **state)
{
    (void)state;
    enum kb_dtype t;
    assert_int_equal(kb_dtype_parse("mxfp4", &t), 0);
    assert_int_equal(t, KB_DTYPE_MXFP4);
    assert_int_equal(kb_dtype_parse("nvfp4", &t), 0);
    assert_int_equal(t, KB_DTYPE_NVFP4);
    assert_true(kb_dtype_size(KB_DTYPE_MXFP4) == 0.5);
    struct kb_operands io = { 0 };
    char err[256] = "";
    struct kb_shape s = { .m = 4, .k = 32, .input = KB_INPUT_NORMAL };
    assert_int_equal(kb_op_quant_fp4_quantize.inputs(&io, &s, KB_DTYPE_I8, 1, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "not an FP4 format"));
    kb_operands_free(&io);
    struct kb_shape g = { .m = 4, .n = 0, .k = 32, .input = KB_INPUT_NORMAL };
    assert_int_equal(kb_op_quant_fp4_gemm.inputs(&io, &g, KB_DTYPE_MXFP4, 1, err, sizeof err), KB_UNSUPPORTED);
    kb_operands_free(&io);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2m1_every_code),
        cmocka_unit_test(test_e2m1_rounding),
        cmocka_unit_test(test_packing),
        cmocka_unit_test(test_mx_scale),
        cmocka_unit_test(test_nv_scale),
        cmocka_unit_test(test_quantize_every_path),
        cmocka_unit_test(test_quantize_nv_scale_range),
        cmocka_unit_test(test_quantize_special_values),
        cmocka_unit_test(test_quantize_planted_bugs_fail),
        cmocka_unit_test(test_gemm_every_path),
        cmocka_unit_test(test_gemm_planted_bugs_fail),
        cmocka_unit_test(test_dtypes_and_shapes_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
