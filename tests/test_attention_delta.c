/* test_attention_delta.c - attention.delta (DeltaNet / Gated DeltaNet, delta_ops.h): @cpu.chunked
 * and @cpu.recurrent against the operation's float64 recurrence on every head and row, at sizes
 * that are not multiples of the chunk, with and without the gate, β in [0,1] (even heads) and
 * [0,2] (odd heads), on every SIMD path this CPU runs and on one and two threads; the decode step
 * against the last row of a full run; the inputs' ranges; planted mistakes that verify must
 * catch; shapes the operation refuses. Cases are driven through tests/kernel_case.h and
 * harness/case.h, as the runner drives them. */
#ifdef HAVE_CONFIG_H
#include "tests/kernel_case.h"
#include "config.h"
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/case.h"
#include "kernels/attention/delta.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/kernel.h"

static const char *const paths[KB_PATH_COUNT] = { "scalar", "avx2", "avx512" };
static const unsigned path_needs[KB_PATH_COUNT] = { 0, LINEAR_AVX2_NEEDS, LINEAR_AVX512_NEEDS };

static struct kb_shape delta_shape(int b, int h, int n, int d, int chunk, int gated)
{
    return (struct kb_shape){ .batch = b, .heads = h, .seq_len = n, .head_dim = d, .chunk = chunk, .decay = gated,
                              .input = KB_INPUT_NORMAL };
}

/* The worst relative L2 error of any head's output rows against the float64 recurrence. */
static double worst_head_error(struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    const int rows = s->decode ? 1 : s->seq_len, d = s->head_dim;
    const float *o = case_tensor(c, "o").data;
    double *ref = malloc((size_t)rows * d * sizeof *ref), worst = 0;
    assert_non_null(ref);
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++) {
            assert_int_equal(delta_reference_head(&c->io, s, b, h, s->decode ? s->seq_len : 0, ref), 0);
            const float *got = o + ((size_t)b * s->heads + h) * rows * d;
            double e = 0, r = 0;
            for (size_t i = 0; i < (size_t)rows * d; i++) {
                e += (got[i] - ref[i]) * (got[i] - ref[i]);
                r += ref[i] * ref[i];
            }
            double rel = sqrt(e / (r > 0 ? r : 1));
            worst = rel > worst ? rel : worst;
        }
    free(ref);
    return worst;
}

/* ---- both implementations against the float64 recurrence --------------------------------- */

static void test_kernels_match_recurrence(void **state)
{
    (void)state;
    struct {
        struct kb_shape shape;
        int threads;
    } cases[] = {
        { delta_shape(1, 2, 300, 16, 64, 0), 1 },  /* 300 = 4·64 + 44 */
        { delta_shape(1, 2, 300, 16, 64, 1), 2 },
        { delta_shape(2, 3, 67, 40, 7, 1), 2 },    /* odd d, odd chunk */
        { delta_shape(1, 2, 1000, 32, 48, 1), 1 }, /* long: the state is carried across 21 chunks */
        { delta_shape(1, 2, 50, 64, 256, 0), 1 },  /* one chunk longer than the sequence */
        /* the gated chunked form keeps its state as σ·Ŝ and rescales Ŝ when σ < 2^-20: with the
         * generator's gates (log α ≈ −0.06 a token) that is every 5 chunks of 64, 6 times here */
        { delta_shape(1, 1, 2100, 16, 64, 1), 1 },
    };
    const struct kb_kernel *kernels[2] = { &kb_attention_delta_cpu_chunked, &kb_attention_delta_cpu_recurrent };
    struct case_paths run = case_paths_start("attention.delta@cpu.*");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&run, p, path_needs[p]))
            continue;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            for (int kk = 0; kk < 2; kk++) {
                struct kb_case c = case_f32(kernels[kk], cases[i].shape, cases[i].threads, 3 + i);
                case_setup_ok(&c);
                assert_int_equal(delta_cpu_use_path(&c, paths[p]), 0);
                assert_int_equal(kb_case_run(&c), KB_OK);
                double err = worst_head_error(&c);
                if (err > 2e-5)
                    fail_msg("%s path %s case %zu: rel L2 %.3g", kernels[kk]->impl, paths[p], i, err);
                assert_true(case_verdict(&c).passed);
                case_teardown(&c);
            }
    }
    case_paths_end(&run);
}

/* chunked == recurrent output for output, beyond each matching the reference */
static void test_chunked_equals_recurrent(void **state)
{
    (void)state;
    for (int gated = 0; gated < 2; gated++) {
        struct kb_shape s = delta_shape(1, 4, 333, 24, 32, gated);
        struct kb_case a = case_f32(&kb_attention_delta_cpu_chunked, s, 2, 11);
        struct kb_case r = case_f32(&kb_attention_delta_cpu_recurrent, s, 1, 11);
        case_setup_ok(&a);
        case_setup_ok(&r);
        assert_int_equal(kb_case_run(&a), KB_OK);
        assert_int_equal(kb_case_run(&r), KB_OK);
        const float *oa = case_tensor(&a, "o").data, *orr = case_tensor(&r, "o").data;
        double e = 0, n = 0;
        for (size_t i = 0; i < (size_t)4 * 333 * 24; i++) {
            e += ((double)oa[i] - orr[i]) * ((double)oa[i] - orr[i]);
            n += (double)orr[i] * orr[i];
        }
        assert_true(n > 0);
        if (sqrt(e / n) > 2e-5)
            fail_msg("gated %d: chunked and recurrent differ by rel L2 %.3g", gated, sqrt(e / n));
        case_teardown(&a);
        case_teardown(&r);
    }
}

/* β spans both ranges (even heads ≤ 1, odd heads up to 2), the gate is ≤ 0 only when gated */
static void test_inputs_ranges(void **state)
{
    (void)state;
    for (int gated = 0; gated < 2; gated++) {
        struct kb_case c = case_f32(&kb_attention_delta_cpu_recurrent, delta_shape(1, 2, 500, 8, 0, gated), 1, 5);
        case_setup_ok(&c);
        const float *beta = case_tensor(&c, "beta").data, *g = case_tensor(&c, "log_gate").data;
        float max_even = 0, max_odd = 0, min_g = 0, max_g = -1;
        for (int t = 0; t < 500; t++) {
            assert_true(beta[t] > 0 && beta[500 + t] > 0);
            max_even = beta[t] > max_even ? beta[t] : max_even;
            max_odd = beta[500 + t] > max_odd ? beta[500 + t] : max_odd;
            min_g = g[t] < min_g ? g[t] : min_g;
            max_g = g[t] > max_g ? g[t] : max_g;
        }
        assert_true(max_even <= 1.0f && max_even > 0.9f);
        assert_true(max_odd <= 2.0f && max_odd > 1.8f);
        if (gated)
            assert_true(max_g < 0 && min_g < -0.1f);
        else
            assert_true(min_g == 0 && max_g == 0);
        case_teardown(&c);
    }
}

/* The decode step (token N against the state of N tokens) equals row N of a full run over N + 1
 * tokens: same seed, same bytes. */
static void test_decode_is_last_row(void **state)
{
    (void)state;
    const struct kb_kernel *kernels[2] = { &kb_attention_delta_cpu_chunked, &kb_attention_delta_cpu_recurrent };
    for (int kk = 0; kk < 2; kk++)
        for (int gated = 0; gated < 2; gated++) {
            struct kb_shape ds = delta_shape(2, 2, 299, 32, 64, gated);
            ds.decode = 1;
            struct kb_case d = case_f32(kernels[kk], ds, 2, 21);
            case_setup_ok(&d);
            assert_int_equal(kb_case_run(&d), KB_OK);
            assert_int_equal(kb_case_run(&d), KB_OK); /* repeatable: the carried state is not overwritten */
            assert_true(case_verdict(&d).passed);
            assert_true(worst_head_error(&d) < 2e-5);
            struct kb_case f = case_f32(&kb_attention_delta_cpu_recurrent, delta_shape(2, 2, 300, 32, 64, gated), 1,
                                         21);
            case_setup_ok(&f);
            assert_int_equal(kb_case_run(&f), KB_OK);
            const float *od = case_tensor(&d, "o").data, *of = case_tensor(&f, "o").data;
            for (int h = 0; h < 4; h++)
                for (int j = 0; j < 32; j++) {
                    float a = od[h * 32 + j], b = of[((size_t)h * 300 + 299) * 32 + j];
                    if (fabsf(a - b) > 1e-4f * (1.0f + fabsf(b)))
                        fail_msg("%s gated %d head %d channel %d: decode %g, full run %g", kernels[kk]->impl, gated, h,
                                 j, a, b);
                }
            case_teardown(&f);
            case_teardown(&d);
        }
}

/* ---- planted mistakes verify must catch ---------------------------------------------------- */

static void test_wrong_outputs_fail(void **state)
{
    (void)state;
    struct kb_shape s = delta_shape(1, 2, 200, 16, 32, 1);
    struct kb_case c = case_f32(&kb_attention_delta_cpu_chunked, s, 1, 9);
    case_setup_ok(&c);
    assert_int_equal(kb_case_run(&c), KB_OK);
    assert_true(case_verdict(&c).passed);
    /* the gate ignored (DeltaNet run on a Gated DeltaNet case) */
    float *g = (float *)case_tensor(&c, "log_gate").data;
    float *saved = malloc(2 * 200 * sizeof *saved);
    memcpy(saved, g, 2 * 200 * sizeof *saved);
    memset(g, 0, 2 * 200 * sizeof *g);
    assert_int_equal(kb_case_run(&c), KB_OK);
    memcpy(g, saved, 2 * 200 * sizeof *saved);
    assert_false(case_verdict(&c).passed);
    /* β clamped to 1 (the [0,2] range of odd heads lost) */
    float *beta = (float *)case_tensor(&c, "beta").data;
    memcpy(saved, beta, 2 * 200 * sizeof *saved);
    for (int e = 0; e < 400; e++)
        beta[e] = beta[e] > 1.0f ? 1.0f : beta[e];
    assert_int_equal(kb_case_run(&c), KB_OK);
    memcpy(beta, saved, 2 * 200 * sizeof *saved);
    assert_false(case_verdict(&c).passed);
    /* one output row off by 1% (the last token of the last head) */
    assert_int_equal(kb_case_run(&c), KB_OK);
    float *o = (float *)case_tensor(&c, "o").data;
    for (int j = 0; j < 16; j++)
        o[(size_t)(2 * 200 - 1) * 16 + j] *= 1.5f;
    assert_false(case_verdict(&c).passed);
    /* a non-finite output */
    assert_int_equal(kb_case_run(&c), KB_OK);
    o[5] = NAN;
    assert_false(case_verdict(&c).passed);
    free(saved);
    case_teardown(&c);
}

/* ---- shapes the operation refuses ---------------------------------------------------------- */

static void test_refusals(void **state)
{
    (void)state;
    case_expect_refused(&kb_attention_delta_cpu_chunked, delta_shape(1, 2, 64, 16, DELTA_MAX_CHUNK + 1, 1),
                        KB_DTYPE_F32, "chunk");
    struct kb_shape gqa = delta_shape(1, 4, 64, 16, 16, 0);
    gqa.kv_heads = 2;
    case_expect_refused(&kb_attention_delta_cpu_recurrent, gqa, KB_DTYPE_F32, "kv_heads");
    case_expect_refused(&kb_attention_delta_cpu_chunked, delta_shape(1, 2, 64, 16, 16, 0), KB_DTYPE_BF16, "bf16");
}

/* the counts: linear in N for a prefill, N-independent for decode */
static void test_counts(void **state)
{
    (void)state;
    struct kb_shape a = delta_shape(1, 2, 1000, 64, 64, 0), b = a;
    b.seq_len = 2000;
    const struct kb_kernel *k = &kb_attention_delta_cpu_chunked;
    assert_true(fabs(kb_kernel_flops(k, &b) / kb_kernel_flops(k, &a) - 2.0) < 1e-9);
    assert_true(fabs(kb_kernel_bytes(k, &b, KB_DTYPE_F32) / kb_kernel_bytes(k, &a, KB_DTYPE_F32) - 2.0) < 1e-9);
    a.decode = b.decode = 1;
    assert_true(kb_kernel_flops(k, &a) == kb_kernel_flops(k, &b));
    assert_true(kb_kernel_flops(k, &a) > 6.0 * 2 * 64 * 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_match_recurrence),
        cmocka_unit_test(test_chunked_equals_recurrent),
        cmocka_unit_test(test_inputs_ranges),
        cmocka_unit_test(test_decode_is_last_row),
        cmocka_unit_test(test_wrong_outputs_fail),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
