/* test_quant.c - the quantization family: FP8 conversion (every code, every tie, random floats
 * against a slow converter written another way), INT4 packing, dyadic requantization, and each
 * kernel bit-exact against its scalar emulation plus its float64 accuracy, on ragged shapes,
 * every SIMD path this CPU runs and two threads; planted bugs that verification must catch. */
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
#include "config.h"
#include "datasets/generate.h"
#include "kernels/kernel.h"
#include "kernels/quant/fp8.h"
#include "kernels/quant/gemm_int8.h"
#include "kernels/quant/gemm_w4a8.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_ops.h"

/* ---- FP8 ------------------------------------------------------------------------------------ */

struct fmt {
    enum fp8_format f;
    int mbits, bias;
    double max;
};
static const struct fmt fmts[] = { { FP8_E4M3, 3, 7, 448.0 }, { FP8_E5M2, 2, 15, 57344.0 } };

/* The value of a code from the OCP tables' definition, in double, independently of fp8.c:
 * 0 for NaN codes' caller to skip (flagged by *is_nan), ±inf where e5m2 has them. */
static double ref_decode(const struct fmt *t, int code, int *is_nan)
{
    int ebits = 7 - t->mbits, e = (code >> t->mbits) & ((1 << ebits) - 1), m = code & ((1 << t->mbits) - 1);
    double sign = (code & 0x80) ? -1 : 1;
    *is_nan = 0;
    if (t->f == FP8_E4M3 && e == 15 && m == 7) {
        *is_nan = 1;
        return 0;
    }
    if (t->f == FP8_E5M2 && e == 31) {
        if (m != 0)
            *is_nan = 1;
        return m ? 0 : sign * INFINITY;
    }
    if (e == 0)
        return sign * m * pow(2.0, 1 - t->bias - t->mbits);
    return sign * (1.0 + m / (double)(1 << t->mbits)) * pow(2.0, e - t->bias);
}

static void test_fp8_every_code_decodes(void **state)
{
    (void)state;
    for (size_t fi = 0; fi < 2; fi++) {
        const struct fmt *t = &fmts[fi];
        int nans = 0;
        for (int c = 0; c < 256; c++) {
            int is_nan;
            double want = ref_decode(t, c, &is_nan);
            float got = fp8_decode((uint8_t)c, t->f);
            if (is_nan) {
                assert_true(isnan(got));
                nans++;
                continue;
            }
            if ((double)got != want)
                fail_msg("format %zu code 0x%02x: decoded %.9g, expected %.9g", fi, c, got, want);
        }
        assert_int_equal(nans, t->f == FP8_E4M3 ? 2 : 6);
    }
    /* landmarks of the OCP tables */
    assert_true(fp8_decode(0x7E, FP8_E4M3) == 448.0f && fp8_decode(0x01, FP8_E4M3) == 0x1p-9f);
    assert_true(fp8_decode(0x08, FP8_E4M3) == 0x1p-6f && fp8_decode(0xFE, FP8_E4M3) == -448.0f);
    assert_true(fp8_decode(0x7B, FP8_E5M2) == 57344.0f && fp8_decode(0x01, FP8_E5M2) == 0x1p-16f);
    assert_true(isinf(fp8_decode(0x7C, FP8_E5M2)) && fp8_decode(0xFC, FP8_E5M2) < 0);
    assert_true(fp8_max(FP8_E4M3) == 448.0f && fp8_max(FP8_E5M2) == 57344.0f);
}

static void test_fp8_encode_inverts_decode(void **state)
{
    (void)state;
    for (size_t fi = 0; fi < 2; fi++) {
        for (int c = 0; c < 256; c++) {
            float v = fp8_decode((uint8_t)c, fmts[fi].f);
            if (isnan(v))
                continue;
            /* inf saturates (satfinite): the only codes that do not come back */
            uint8_t want = isinf(v) ? (uint8_t)((c & 0x80) | 0x7B) : (uint8_t)c;
            if (fp8_encode(v, fmts[fi].f) != want)
                fail_msg("format %zu: encode(decode(0x%02x)) = 0x%02x", fi, c, fp8_encode(v, fmts[fi].f));
        }
        assert_int_equal(fp8_encode(NAN, fmts[fi].f) & 0x7F, 0x7F);
        assert_int_equal(fp8_encode(-0.0f, fmts[fi].f), 0x80);
    }
}

/* The slow converter: frexp for the binade, the quantum from it, nearbyint in double for the
 * rounding (exact: a float32 over a power of two is a double), saturation, then a search of the
 * decode table for the code of that value. */
static uint8_t slow_encode(const struct fmt *t, float x)
{
    if (isnan(x))
        return 0x7F;
    double a = fabs((double)x);
    int ex;
    frexp(a, &ex); /* a = f·2^ex, f in [0.5, 1): the binade's exponent is ex − 1 */
    int e = a == 0 ? 1 - t->bias : ex - 1;
    if (e < 1 - t->bias)
        e = 1 - t->bias;
    double quantum = ldexp(1.0, e - t->mbits);
    double v = nearbyint(a / quantum) * quantum;
    if (v > t->max)
        v = t->max;
    for (int c = 0; c < 128; c++) {
        int is_nan;
        if (ref_decode(t, c, &is_nan) == v && !is_nan)
            return (uint8_t)(c | (signbit(x) ? 0x80 : 0));
    }
    fail_msg("slow_encode: no code for %.9g", v);
    return 0;
}

static void test_fp8_random_floats_and_ties(void **state)
{
    (void)state;
    struct kb_rng r;
    kb_rng_seed(&r, 42);
    for (size_t fi = 0; fi < 2; fi++) {
        const struct fmt *t = &fmts[fi];
        for (int i = 0; i < 200000; i++) {
            /* log-uniform magnitudes from far below the subnormals to past the maximum */
            float x = (float)(ldexp(1.0 + kb_rng_uniform(&r), (int)(kb_rng_uniform(&r) * 50) - 30));
            if (kb_rng_next(&r) & 1)
                x = -x;
            uint8_t got = fp8_encode(x, t->f), want = slow_encode(t, x);
            if (got != want)
                fail_msg("format %zu: encode(%.9g) = 0x%02x, slow converter 0x%02x", fi, x, got, want);
        }
        /* every midpoint between neighbouring codes is a tie: it goes to the even code */
        for (int c = 0; c < 0x7F; c++) {
            int n1, n2;
            double lo = ref_decode(t, c, &n1), hi = ref_decode(t, c + 1, &n2);
            if (n1 || n2 || isinf(hi))
                continue;
            float mid = (float)((lo + hi) / 2);
            assert_true((double)mid == (lo + hi) / 2); /* exact in float32 */
            uint8_t want = (uint8_t)((c & 1) ? c + 1 : c);
            if (fp8_encode(mid, t->f) != want || fp8_encode(-mid, t->f) != (want | 0x80))
                fail_msg("format %zu: tie %.9g between 0x%02x and 0x%02x encoded 0x%02x", fi, mid, c, c + 1,
                         fp8_encode(mid, t->f));
            /* a hair above the tie rounds up */
            assert_int_equal(fp8_encode(nextafterf(mid, INFINITY), t->f), c + 1);
        }
        /* saturation: past the maximum and infinity clip to ±max */
        uint8_t maxc = t->f == FP8_E4M3 ? 0x7E : 0x7B;
        assert_int_equal(fp8_encode(1e30f, t->f), maxc);
        assert_int_equal(fp8_encode(-INFINITY, t->f), maxc | 0x80);
        assert_int_equal(fp8_encode((float)t->max * 1.06f, t->f), maxc);
        /* far below the smallest subnormal: zero; just above half of it: the smallest */
        assert_int_equal(fp8_encode(1e-30f, t->f), 0);
        float sub = fp8_decode(1, t->f);
        assert_int_equal(fp8_encode(sub / 2, t->f), 0); /* tie to even: 0 */
        assert_int_equal(fp8_encode(nextafterf(sub / 2, 1), t->f), 1);
    }
}

/* ---- INT4 packing, dyadic ------------------------------------------------------------------- */

static void test_int4_packing(void **state)
{
    (void)state;
    uint8_t row[4] = { 0 };
    quant_i4_put(row, 0, -1);
    quant_i4_put(row, 1, 2);
    assert_int_equal(row[0], 0x2F); /* low nibble first */
    quant_i4_put(row, 2, 7);
    quant_i4_put(row, 3, -7);
    assert_int_equal(row[1], 0x97);
    for (int v = -8; v <= 7; v++)
        for (int j = 0; j < 8; j++) {
            uint8_t r[4];
            memset(r, 0xA5, sizeof r);
            quant_i4_put(r, j, v);
            assert_int_equal(quant_i4_get(r, j), v);
            /* the neighbouring nibble is untouched */
            int other = j ^ 1;
            assert_int_equal(quant_i4_get(r, other), (other & 1) ? (0xA - 16) : 5);
        }
}

static void test_dyadic_requant(void **state)
{
    (void)state;
    struct kb_rng r;
    kb_rng_seed(&r, 7);
    for (int i = 0; i < 20000; i++) {
        double s = ldexp(1.0 + kb_rng_uniform(&r), (int)(kb_rng_uniform(&r) * 40) - 30);
        struct quant_dyadic d = quant_dyadic_from(s);
        assert_true(d.b > 0 && d.c >= 1 && d.c <= 62);
        /* b/2^c approximates S to 2^-30 relative (b has 31 significant bits) */
        double approx = ldexp((double)d.b, -d.c);
        if (fabs(approx - s) > s * 0x1p-30)
            fail_msg("S = %.17g: b/2^c = %.17g", s, approx);
        int32_t acc = (int32_t)(kb_rng_next(&r) % 2000001) - 1000000;
        int y = quant_dyadic_requant(acc, d);
        /* rounding half up of the exact product, then saturated to ±127 */
        double exact = (double)acc * approx;
        double want = floor(exact + 0.5);
        want = want > 127 ? 127 : want < -127 ? -127 : want;
        if (y != (int)want)
            fail_msg("acc %d S %.17g: %d, expected %.0f", acc, s, y, want);
    }
    /* HAWQ-V3's example shape: a scale of 0.375 is exactly 3·2^-3 */
    struct quant_dyadic d = quant_dyadic_from(0.375);
    assert_true(ldexp((double)d.b, -d.c) == 0.375);
    assert_int_equal(quant_dyadic_requant(4, d), 2);   /* 1.5 rounds up */
    assert_int_equal(quant_dyadic_requant(-4, d), -1); /* -1.5 rounds up, to -1 */
    assert_int_equal(quant_dyadic_requant(1000, d), 127);
    assert_int_equal(quant_dyadic_requant(-1000, d), -127);
}

/* ---- kernels -------------------------------------------------------------------------------- */

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, enum kb_dtype t, int threads,
                                uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = t, .threads = threads, .seed = seed };
}

static void quantize_bit_exact_and_accurate_on_one_path(enum kb_cpu_path p)
{
    (void)p;
    const enum kb_dtype types[] = { KB_DTYPE_I8, KB_DTYPE_I4, KB_DTYPE_FP8_E4M3, KB_DTYPE_FP8_E5M2 };
    const int shapes[][3] = { { 37, 301, 64 }, { 8, 128, 32 }, { 1, 7, 3 }, { 65, 77, 200 } }; /* m, k, group */
    for (size_t ti = 0; ti < 4; ti++)
        for (size_t si = 0; si < 4; si++)
            for (int g = KB_GRAN_TENSOR; g <= KB_GRAN_GROUP; g++)
                for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_OUTLIER; input++) {
                    struct kb_shape s = { .m = shapes[si][0], .k = shapes[si][1], .group = shapes[si][2],
                                          .granularity = g, .input = input };
                    struct kb_case c = make_case(&kb_quant_quantize_cpu, s, types[ti], 1 + (int)(si & 1), 11 + si);
                    case_setup_ok(&c);
                    struct kb_accuracy a = case_run_verify(&c);
                    if (!a.passed || a.exact_mismatches != 0 || a.exact_checked <= 0)
                        fail_msg("%s m=%d k=%d g=%d gran=%d input=%d: passed %d, %ld/%ld mismatches, rel %.3g (tol %.3g)",
                                 kb_dtype_name(types[ti]), s.m, s.k, s.group, g, input, a.passed,
                                 a.exact_mismatches, a.exact_checked, a.rel_l2_err, a.tolerance);
                    /* the accuracy is a real measurement: quantizing loses something, not everything */
                    assert_true(a.rel_l2_err > 0 && a.cosine > 0.8);
                    case_teardown(&c);
                }
}

static void test_quantize_finer_scales_are_more_accurate(void **state)
{
    (void)state;
    double err[4];
    for (int g = KB_GRAN_TENSOR; g <= KB_GRAN_GROUP; g++) {
        struct kb_shape s = { .m = 64, .k = 512, .group = 32, .granularity = g, .input = KB_INPUT_OUTLIER };
        struct kb_case c = make_case(&kb_quant_quantize_cpu, s, KB_DTYPE_I4, 1, 5);
        case_setup_ok(&c);
        err[g] = case_run_verify(&c).rel_l2_err;
        case_teardown(&c);
    }
    assert_true(err[KB_GRAN_GROUP] < err[KB_GRAN_CHANNEL] && err[KB_GRAN_CHANNEL] <= err[KB_GRAN_TENSOR]);
}

/* The verdict on a case's outputs as they are now (a planted bug), without running it again. */
static struct kb_accuracy verdict_now(struct kb_case *c)
{
    struct kb_accuracy a;
    memset(&a, 0, sizeof a);
    assert_int_equal(kb_case_verify(c, &a), KB_OK);
    return a;
}

static void test_quantize_planted_bugs_fail(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 16, .k = 100, .group = 32, .granularity = KB_GRAN_GROUP, .input = KB_INPUT_NORMAL };
    const enum kb_dtype types[] = { KB_DTYPE_I8, KB_DTYPE_I4, KB_DTYPE_FP8_E4M3 };
    for (size_t ti = 0; ti < 3; ti++) {
        struct kb_case c = make_case(&kb_quant_quantize_cpu, s, types[ti], 1, 3);
        case_setup_ok(&c);
        assert_true(case_run_verify(&c).passed);
        /* one code off by one unit: invisible to the accuracy, caught by the bit-exact check */
        uint8_t *codes = (uint8_t *)case_tensor(&c, "codes").data;
        codes[7] ^= 0x01;
        struct kb_accuracy a = verdict_now(&c);
        assert_false(a.passed);
        assert_int_equal(a.exact_mismatches, 1);
        /* a scale off by a little */
        assert_int_equal(kb_case_run(&c), KB_OK);
        float *scales = (float *)case_tensor(&c, "scales").data;
        scales[2] = nextafterf(scales[2], 0);
        a = verdict_now(&c);
        assert_false(a.passed);
        /* a dequantized output that is wrong where the codes are right: the accuracy catches it */
        assert_int_equal(kb_case_run(&c), KB_OK);
        float *deq = (float *)case_tensor(&c, "dequantized").data;
        for (int i = 0; i < 200; i++)
            deq[i] = -deq[i];
        a = verdict_now(&c);
        assert_false(a.passed);
        assert_int_equal(a.exact_mismatches, 0);
        case_teardown(&c);
    }
}

/* The operation's input is what the kernel drew before operations existed (stored runs stay
 * comparable): the case's distribution from sub-seed A, whatever the code format. */
static void test_quantize_input_bytes(void **state)
{
    (void)state;
    const enum kb_dtype types[] = { KB_DTYPE_I8, KB_DTYPE_I4, KB_DTYPE_FP8_E5M2 };
    struct kb_shape s = { .m = 13, .k = 51, .group = 16, .granularity = KB_GRAN_CHANNEL, .input = KB_INPUT_OUTLIER };
    float *want = malloc((size_t)s.m * s.k * sizeof *want);
    assert_non_null(want);
    gen_fill_input_f32(want, (size_t)s.m, (size_t)s.k, quant_sub_seed(42, QUANT_SEED_A), s.input);
    for (size_t ti = 0; ti < 3; ti++) {
        struct kb_case c = make_case(&kb_quant_quantize_cpu, s, types[ti], 1, 42);
        case_setup_ok(&c);
        struct kb_tensor x = case_tensor(&c, "x"), codes = case_tensor(&c, "codes");
        assert_memory_equal(x.data, want, (size_t)s.m * s.k * sizeof *want);
        /* codes' dims count elements, i4 rows padded to whole bytes */
        assert_int_equal(codes.dims[1], types[ti] == KB_DTYPE_I4 ? s.k + 1 : s.k);
        assert_true(case_run_verify(&c).passed);
        case_teardown(&c);
    }
    free(want);
}

/* The GEMM's path names by kb_cpu_path: scalar-u8 runs the VNNI path's offset-and-correct
 * arithmetic on any CPU, so it runs with scalar. */
static const char *const gemm_paths[KB_PATH_COUNT][2] = { { "scalar", "scalar-u8" }, { "avx2", NULL }, { "avx512vnni", NULL } };

static void gemm_int8_on_one_path(enum kb_cpu_path p)
{
    const int shapes[][3] = { { 37, 45, 131 }, { 8, 32, 64 }, { 1, 1, 1 }, { 130, 70, 259 }, { 300, 33, 17 } };
    assert_string_equal(gemm_int8_isa_best()->name, gemm_paths[p][0]); /* the mask chose it */
    for (size_t pi = 0; pi < 2 && gemm_paths[p][pi]; pi++)
        for (size_t si = 0; si < 5; si++)
            for (int threads = 1; threads <= 2; threads++)
                for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_OUTLIER; input += 2) {
                    struct kb_shape s = { .m = shapes[si][0], .n = shapes[si][1], .k = shapes[si][2], .input = input };
                    struct kb_case c = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_I8, threads, 100 + si);
                    case_setup_ok(&c);
                    assert_int_equal(gemm_int8_cpu_use_path(&c, gemm_paths[p][pi]), 0);
                    struct kb_accuracy a = case_run_verify(&c);
                    if (!a.passed || a.exact_mismatches || a.exact_checked != a.rows_checked * s.n)
                        fail_msg("%s M=%d N=%d K=%d t=%d input=%d: passed %d mismatches %ld/%ld rel %.3g",
                                 gemm_paths[p][pi], s.m, s.n, s.k, threads, input, a.passed, a.exact_mismatches,
                                 a.exact_checked, a.rel_l2_err);
                    case_teardown(&c);
                }
}

static void test_gemm_int8_every_path(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, GEMM_INT8_AVX2_NEEDS, GEMM_INT8_AVX512_NEEDS };
    case_each_path("quant.gemm_int8@cpu", needs, gemm_int8_on_one_path);
    assert_non_null(gemm_int8_isa_by_name(quant_gemm_int8_path()));
}

/* Two implementations of one operation: the same input bytes (the operation made them), the same
 * FLOP and byte counts. */
static void assert_same_inputs_and_counts(const struct kb_case *x, const struct kb_case *y)
{
    assert_int_equal(x->io.count, y->io.count);
    for (int i = 0; i < x->io.count; i++) {
        assert_string_equal(x->io.tensor[i].name, y->io.tensor[i].name);
        assert_int_equal(x->io.bytes[i], y->io.bytes[i]);
        if (!x->io.tensor[i].is_output)
            assert_memory_equal(x->io.tensor[i].data, y->io.tensor[i].data, x->io.bytes[i]);
    }
    assert_true(kb_kernel_flops(x->kernel, &x->shape) == kb_kernel_flops(y->kernel, &y->shape));
    assert_true(kb_kernel_bytes(x->kernel, &x->shape, x->dtype) == kb_kernel_bytes(y->kernel, &y->shape, y->dtype));
    assert_true(kb_kernel_flops(x->kernel, &x->shape) == 2.0 * x->shape.m * x->shape.n * x->shape.k);
}

static void test_gemm_int8_naive_agrees_and_all_rows(void **state)
{
    (void)state;
    /* every row checked (M <= QUANT_VERIFY_ROWS), against the emulation and float64 */
    struct kb_shape s = { .m = 50, .n = 77, .k = 300, .input = KB_INPUT_UNIFORM };
    struct kb_case c = make_case(&kb_quant_gemm_int8_naive, s, KB_DTYPE_I8, 2, 9);
    case_setup_ok(&c);
    struct kb_accuracy a = case_run_verify(&c);
    assert_true(a.passed);
    assert_int_equal(a.rows_checked, 50);
    assert_int_equal(a.exact_checked, 50 * 77);
    /* the accuracy cost is real but small: three int8 roundings */
    assert_true(a.rel_l2_err > 1e-4 && a.rel_l2_err < QUANT_GEMM_INT8_TOL);
    struct kb_case o = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_I8, 1, 9);
    case_setup_ok(&o);
    /* @cpu and @cpu.naive see byte-identical inputs and report identical counts */
    assert_same_inputs_and_counts(&c, &o);
    case_run_verify(&o);
    assert_memory_equal(case_tensor(&c, "y").data, case_tensor(&o, "y").data, 50 * 77);
    case_teardown(&o);
    /* another seed, other bytes: the comparison above could fail */
    o = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_I8, 1, 10);
    case_setup_ok(&o);
    assert_memory_not_equal(case_tensor(&c, "a").data, case_tensor(&o, "a").data, 50 * 300);
    case_teardown(&o);
    case_teardown(&c);
}

static void test_gemm_int8_planted_bugs_fail(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 20, .n = 40, .k = 64, .input = KB_INPUT_NORMAL };
    struct kb_case c = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_I8, 1, 4);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    int8_t *y = (int8_t *)case_tensor(&c, "y").data;
    /* one output one unit off: within the accuracy bound, but not bit-exact (the kernel's check) */
    y[5 * 40 + 3] = (int8_t)(y[5 * 40 + 3] == 127 ? 126 : y[5 * 40 + 3] + 1);
    struct kb_accuracy a;
    assert_int_equal(kb_case_verify(&c, &a), KB_OK);
    assert_false(a.passed);
    assert_int_equal(a.exact_mismatches, 1);
    assert_true(a.rel_l2_err < QUANT_GEMM_INT8_TOL); /* the operation's verdict alone would pass */
    /* a kernel that forgets the VNNI offset correction is off everywhere: emulate it */
    assert_int_equal(kb_case_run(&c), KB_OK);
    for (int i = 0; i < 20 * 40; i++)
        y[i] = (int8_t)(y[i] / 2);
    assert_int_equal(kb_case_verify(&c, &a), KB_OK);
    assert_false(a.passed);
    assert_true(a.rel_l2_err > QUANT_GEMM_INT8_TOL);
    case_teardown(&c);
}

#ifdef HAVE_CBLAS
static void test_gemm_f32_blas(void **state)
{
    (void)state;
    struct kb_shape s = { .m = 70, .n = 33, .k = 129, .input = KB_INPUT_OUTLIER };
    struct kb_case c = make_case(&kb_gemm_f32_blas, s, KB_DTYPE_F32, 2, 8);
    case_setup_ok(&c);
    struct kb_accuracy a = case_run_verify(&c);
    assert_true(a.passed && a.rel_l2_err < 1e-6);
    float *out = (float *)case_tensor(&c, "y").data;
    out[69 * 33 + 32] += 1.0f; /* the last element is always sampled */
    assert_int_equal(kb_case_verify(&c, &a), KB_OK);
    assert_false(a.passed);
    /* the float baseline reads the very values the int8 codes quantize */
    struct kb_case q = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_I8, 1, 8);
    case_setup_ok(&q);
    assert_memory_equal(case_tensor(&c, "a").data, case_tensor(&q, "a_f32").data, sizeof(float) * 70 * 129);
    assert_memory_equal(case_tensor(&c, "w").data, case_tensor(&q, "w_f32").data, sizeof(float) * 33 * 129);
    case_teardown(&q);
    case_teardown(&c);
}
#endif

static void gemm_w4a8_bit_exact_and_accurate_on_one_path(enum kb_cpu_path p)
{
    const enum kb_dtype types[] = { KB_DTYPE_I8, KB_DTYPE_FP8_E4M3 };
    /* m, n, k, group: ragged row tiles, column panels and groups (k, g not multiples of 8), a
     * group wider than k, several whole panels */
    const int shapes[][4] = { { 37, 45, 300, 64 }, { 9, 16, 256, 128 }, { 5, 3, 77, 33 }, { 1, 8, 64, 1000 },
                              { 66, 20, 130, 32 }, { 130, 97, 200, 24 } };
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_OUTLIER; input++) {
                struct kb_shape s = { .m = shapes[si][0], .n = shapes[si][1], .k = shapes[si][2],
                                      .group = shapes[si][3], .input = input };
                struct kb_case c = make_case(&kb_quant_gemm_w4a8_cpu, s, types[ti], 1 + (int)(si & 1), 20 + si);
                case_setup_ok(&c);
                /* the level's path runs: i8 on the packed panels (AVX-512 VNNI, else AVX-VNNI, else
                 * AVX2), e4m3 on AVX2's per-column path */
                const char *want = p == KB_PATH_SCALAR              ? "scalar"
                                   : types[ti] != KB_DTYPE_I8       ? "avx2"
                                   : p == KB_PATH_AVX512            ? "avx512vnni"
                                   : kb_cpu_has(W4A8_AVXVNNI_NEEDS) ? "avxvnni"
                                                                    : "avx2-panels";
                assert_string_equal(gemm_w4a8_cpu_path(&c), want);
                struct kb_accuracy a = case_run_verify(&c);
                if (!a.passed || a.exact_mismatches || a.exact_checked != a.rows_checked * s.n)
                    fail_msg("%s M=%d N=%d K=%d g=%d input=%d: passed %d mismatches %ld/%ld rel %.3g",
                             kb_dtype_name(types[ti]), s.m, s.n, s.k, s.group, input, a.passed,
                             a.exact_mismatches, a.exact_checked, a.rel_l2_err);
                assert_true(a.rel_l2_err > 1e-3 && a.cosine > 0.95);
                /* planted: the last bit of one sampled output (row 0 is always checked) */
                float *y = (float *)case_tensor(&c, "y").data;
                uint32_t bits;
                memcpy(&bits, &y[s.n - 1], sizeof bits);
                bits ^= 1;
                memcpy(&y[s.n - 1], &bits, sizeof bits);
                assert_int_equal(kb_case_verify(&c, &a), KB_OK);
                assert_false(a.passed);
                assert_int_equal(a.exact_mismatches, 1);
                case_teardown(&c);
            }
    /* finer weight groups cost less accuracy */
    double err[2];
    const int groups[2] = { 256, 32 };
    for (int gi = 0; gi < 2; gi++) {
        struct kb_shape s = { .m = 16, .n = 64, .k = 512, .group = groups[gi], .input = KB_INPUT_NORMAL };
        struct kb_case c = make_case(&kb_quant_gemm_w4a8_cpu, s, KB_DTYPE_I8, 1, 3);
        case_setup_ok(&c);
        err[gi] = case_run_verify(&c).rel_l2_err;
        case_teardown(&c);
    }
    assert_true(err[1] < err[0]);
}

static void ivit_ops_on_one_path(enum kb_cpu_path p)
{
    (void)p;
    const struct kb_kernel *ints[] = { &kb_quant_ivit_shiftmax_cpu, &kb_quant_ivit_shiftgelu_cpu, &kb_quant_ivit_layernorm_cpu };
    const struct kb_kernel *flts[] = { &kb_quant_ivit_shiftmax_f32, &kb_quant_ivit_shiftgelu_f32, &kb_quant_ivit_layernorm_f32 };
    const int shapes[][2] = { { 197, 197 }, { 13, 768 }, { 3, 7 }, { 1, 1 }, { 20, 33 } };
    for (int op = 0; op < 3; op++)
        for (size_t si = 0; si < 5; si++)
            for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_UNIFORM; input++) {
                struct kb_shape s = { .m = shapes[si][0], .n = shapes[si][1], .input = input };
                /* one operation, one count, whatever precision computes it */
                assert_ptr_equal(ints[op]->op, flts[op]->op);
                assert_true(kb_kernel_flops(ints[op], &s) == kb_kernel_flops(flts[op], &s));
                assert_true(kb_kernel_flops(ints[op], &s) > 0);
                struct kb_case c = make_case(ints[op], s, KB_DTYPE_I8, 1 + (int)(si & 1), 30 + si);
                case_setup_ok(&c);
                struct kb_accuracy a = case_run_verify(&c);
                /* the AVX2 path (where it runs) against the scalar emulation, every element */
                if (!a.passed || a.exact_mismatches || a.exact_checked != (long)s.m * s.n || a.rows_checked != s.m)
                    fail_msg("%s m=%d n=%d input=%d: passed %d mismatches %ld rel %.3g tol %.3g", ints[op]->name,
                             s.m, s.n, input, a.passed, a.exact_mismatches, a.rel_l2_err, a.tolerance);
                /* (a flat row of 768 Shiftmax probabilities is mostly below half an output step) */
                if (s.n > 1 && !(a.cosine > (op == 0 ? 0.8 : 0.9)))
                    fail_msg("%s m=%d n=%d input=%d: cosine %.3f", ints[op]->name, s.m, s.n, input, a.cosine);

                struct kb_case f = make_case(flts[op], s, KB_DTYPE_F32, 1, 30 + si);
                case_setup_ok(&f);
                struct kb_accuracy af = case_run_verify(&f);
                assert_true(af.passed && af.exact_checked == 0 && af.rows_checked == s.m);
                /* the integer case's input is the f32 case's quantized at its scale */
                const float scale = *(const float *)case_tensor(&c, "x_scale").data;
                const int8_t *xi = case_tensor(&c, "x").data;
                const float *xf = case_tensor(&f, "x").data;
                assert_true(*(const float *)case_tensor(&f, "x_scale").data == 1.0f);
                for (int i = 0; i < s.m * s.n; i++)
                    if ((uint8_t)xi[i] != quant_code(xf[i], 1.0f / scale, KB_DTYPE_I8))
                        fail_msg("%s m=%d n=%d: x[%d] = %d is not the code of %g at scale %g", ints[op]->name, s.m,
                                 s.n, i, xi[i], xf[i], scale);

                /* planted: one output code off by one, caught by the integer kernel's check */
                int8_t *y = (int8_t *)case_tensor(&c, "y").data;
                y[s.m * s.n - 1] = (int8_t)(y[s.m * s.n - 1] == 127 ? 126 : y[s.m * s.n - 1] + 1);
                a = verdict_now(&c);
                assert_false(a.passed);
                assert_int_equal(a.exact_mismatches, 1);
                case_teardown(&c);

                float *yf = (float *)case_tensor(&f, "y").data;
                yf[0] += 0.5f;
                assert_false(verdict_now(&f).passed);
                case_teardown(&f);
            }
}

static void test_ivit_semantics(void **state)
{
    (void)state;
    /* Shiftmax rows are probabilities: codes in [0, 127], summing to about 127 */
    struct kb_shape s = { .m = 40, .n = 64, .input = KB_INPUT_NORMAL };
    struct kb_case c = make_case(&kb_quant_ivit_shiftmax_cpu, s, KB_DTYPE_I8, 1, 2);
    case_setup_ok(&c);
    case_run_verify(&c);
    const int8_t *y = case_tensor(&c, "y").data;
    for (int i = 0; i < s.m; i++) {
        int sum = 0;
        for (int j = 0; j < s.n; j++) {
            assert_true(y[i * s.n + j] >= 0);
            sum += y[i * s.n + j];
        }
        assert_in_range(sum, 127 - s.n / 2 - 8, 127 + s.n / 2 + 8);
    }
    case_teardown(&c);
    /* I-LayerNorm rows have mean ~0 and RMS ~16 (1.0 at scale 2^-4) */
    struct kb_shape l = { .m = 10, .n = 768, .input = KB_INPUT_NORMAL };
    c = make_case(&kb_quant_ivit_layernorm_cpu, l, KB_DTYPE_I8, 1, 2);
    case_setup_ok(&c);
    case_run_verify(&c);
    y = case_tensor(&c, "y").data;
    for (int i = 0; i < l.m; i++) {
        double mean = 0, sq = 0;
        for (int j = 0; j < l.n; j++) {
            mean += y[i * l.n + j];
            sq += (double)y[i * l.n + j] * y[i * l.n + j];
        }
        mean /= l.n;
        assert_true(fabs(mean) < 1.0);
        assert_true(fabs(sqrt(sq / l.n) - 16.0) < 0.5);
    }
    case_teardown(&c);
    /* outlier inputs leave Shiftmax less than one integer step per unit: refused with a reason,
     * nothing left allocated; the float kernel takes the same inputs */
    char err[256];
    struct kb_shape o = { .m = 197, .n = 768, .input = KB_INPUT_OUTLIER };
    c = make_case(&kb_quant_ivit_shiftgelu_cpu, o, KB_DTYPE_I8, 1, 2);
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "I_0"));
    assert_int_equal(c.io.count, 0);
    c = make_case(&kb_quant_ivit_shiftgelu_f32, o, KB_DTYPE_F32, 1, 2);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    case_teardown(&c);
}

static void test_shapes_and_dtypes_rejected(void **state)
{
    (void)state;
    char err[256];
    struct kb_shape s = { .m = 0, .n = 4, .k = 4, .input = 1 };
    struct kb_case c = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_I8, 1, 1);
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "m = 0"));
    s.m = 4;
    c = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_F32, 1, 1);
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    s.k = 200000;
    c = make_case(&kb_quant_gemm_int8_cpu, s, KB_DTYPE_I8, 1, 1);
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "overflow"));
    struct kb_shape q = { .m = 4, .k = 4, .group = 2, .granularity = KB_GRAN_GROUP, .input = 1 };
    c = make_case(&kb_quant_quantize_cpu, q, KB_DTYPE_F32, 1, 1);
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "dtype f32"));
    assert_int_equal(c.io.count, 0);
    q.m = 0;
    c = make_case(&kb_quant_quantize_cpu, q, KB_DTYPE_I8, 1, 1);
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "m = 0"));
    struct kb_shape w = { .m = 4, .n = 4, .k = 4096, .group = 2048, .input = 1 };
    c = make_case(&kb_quant_gemm_w4a8_cpu, w, KB_DTYPE_FP8_E4M3, 1, 1);
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "1024"));
}

static void test_quantize_bit_exact_and_accurate(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, QUANT_AVX2_NEEDS, CASE_NO_PATH };
    case_each_path("quant.quantize@cpu", needs, quantize_bit_exact_and_accurate_on_one_path);
}

/* The AVX2 panel tile, which the AVX2 level only runs on CPUs without AVX-VNNI: forced by a mask
 * that takes AVX-VNNI away, bit for bit at ragged shapes. */
static void test_gemm_w4a8_avx2_panels(void **state)
{
    (void)state;
    if (!kb_cpu_has(KB_CPU_AVX2))
        skip();
    const int shapes[][4] = { { 37, 45, 300, 64 }, { 130, 97, 200, 24 }, { 1, 8, 64, 1000 }, { 64, 64, 512, 128 } };
    kb_cpu_features_set_mask(KB_CPU_AVX2 | KB_CPU_FMA);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        struct kb_shape s = { .m = shapes[si][0], .n = shapes[si][1], .k = shapes[si][2], .group = shapes[si][3],
                              .input = KB_INPUT_OUTLIER };
        struct kb_case c = make_case(&kb_quant_gemm_w4a8_cpu, s, KB_DTYPE_I8, 2, 30 + si);
        case_setup_ok(&c);
        assert_string_equal(gemm_w4a8_cpu_path(&c), "avx2-panels");
        struct kb_accuracy a = case_run_verify(&c);
        if (!a.passed || a.exact_mismatches || a.exact_checked != a.rows_checked * s.n)
            fail_msg("M=%d N=%d K=%d g=%d: passed %d mismatches %ld/%ld", s.m, s.n, s.k, s.group, a.passed,
                     a.exact_mismatches, a.exact_checked);
        case_teardown(&c);
    }
    kb_cpu_features_set_mask(KB_CPU_ALL);
}

static void test_gemm_w4a8_bit_exact_and_accurate(void **state)
{
    (void)state;
    /* avx512: the VNNI path (i8; e4m3 stays on AVX2's) */
    static const unsigned needs[KB_PATH_COUNT] = { 0, QUANT_AVX2_NEEDS, W4A8_VNNI_NEEDS };
    case_each_path("quant.gemm_w4a8@cpu", needs, gemm_w4a8_bit_exact_and_accurate_on_one_path);
}

static void test_ivit_ops(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, QUANT_AVX2_NEEDS, CASE_NO_PATH };
    case_each_path("quant.ivit_*@cpu", needs, ivit_ops_on_one_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp8_every_code_decodes),
        cmocka_unit_test(test_fp8_encode_inverts_decode),
        cmocka_unit_test(test_fp8_random_floats_and_ties),
        cmocka_unit_test(test_int4_packing),
        cmocka_unit_test(test_dyadic_requant),
        cmocka_unit_test(test_quantize_bit_exact_and_accurate),
        cmocka_unit_test(test_quantize_finer_scales_are_more_accurate),
        cmocka_unit_test(test_quantize_planted_bugs_fail),
        cmocka_unit_test(test_quantize_input_bytes),
        cmocka_unit_test(test_gemm_int8_every_path),
        cmocka_unit_test(test_gemm_int8_naive_agrees_and_all_rows),
        cmocka_unit_test(test_gemm_int8_planted_bugs_fail),
#ifdef HAVE_CBLAS
        cmocka_unit_test(test_gemm_f32_blas),
#endif
        cmocka_unit_test(test_gemm_w4a8_bit_exact_and_accurate),
        cmocka_unit_test(test_gemm_w4a8_avx2_panels),
        cmocka_unit_test(test_ivit_ops),
        cmocka_unit_test(test_ivit_semantics),
        cmocka_unit_test(test_shapes_and_dtypes_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
