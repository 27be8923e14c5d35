/* test_attention_varlen.c - packed ragged batches (varlen_ops.h): the length generator's
 * properties; attention.varlen@cpu.flash and attention.linear_varlen@cpu against their float64
 * references at odd lengths, GQA, both mixes and causal or not, on every SIMD path; with equal
 * lengths, the same numbers as the padded kernels on the same inputs; implementations that
 * mishandle cu_seqlens (attending across sequence boundaries) fail verification; counts from
 * the actual lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "harness/case.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/flash_cpu.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/varlen.h"
#include "kernels/attention/varlen_ops.h"
#include "kernels/kernel.h"
#include "tests/kernel_case.h"

static struct kb_shape varlen_shape(int batch, int heads, int kv_heads, int n, int d, int causal, int mix)
{
    return (struct kb_shape){ .batch = batch, .heads = heads, .kv_heads = kv_heads, .seq_len = n, .head_dim = d,
                              .causal = causal, .chunk = 64, .feature = KB_FEATURE_ELU1, .input = KB_INPUT_NORMAL,
                              .lengths = mix };
}

/* ---- the generator -------------------------------------------------------------------------- */

static double max_over_median(const int *len, int n)
{
    int *sorted = malloc((size_t)n * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, len, (size_t)n * sizeof *sorted);
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            int t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    double r = (double)sorted[n - 1] / sorted[n / 2];
    free(sorted);
    return r;
}

static void test_generator_properties(void **state)
{
    (void)state;
    static const int batches[] = { 1, 2, 7, 64 }, maxes[] = { 1, 3, 97, 4096 };
    int a[64], b[64];
    for (int mix = KB_LENGTHS_UNIFORM; mix <= KB_LENGTHS_EQUAL; mix++)
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 4; j++)
                for (uint64_t seed = 1; seed <= 5; seed++) {
                    const int batch = batches[i], n = maxes[j];
                    int64_t total = gen_seq_lengths(a, batch, n, mix, seed);
                    int64_t sum = 0, longest = 0;
                    for (int k = 0; k < batch; k++) {
                        assert_in_range(a[k], mix == KB_LENGTHS_UNIFORM ? (n + 3) / 4 : 1, n);
                        if (mix == KB_LENGTHS_EQUAL)
                            assert_int_equal(a[k], n);
                        sum += a[k];
                        longest = a[k] > longest ? a[k] : longest;
                    }
                    assert_int_equal(total, sum);
                    if (mix == KB_LENGTHS_LONGTAIL) /* the longest is the shape's N */
                        assert_int_equal(longest, n);
                    /* deterministic by seed */
                    assert_int_equal(gen_seq_lengths(b, batch, n, mix, seed), total);
                    assert_memory_equal(a, b, (size_t)batch * sizeof *a);
                }
    /* different seeds, different mixes */
    gen_seq_lengths(a, 64, 4096, KB_LENGTHS_UNIFORM, 1);
    gen_seq_lengths(b, 64, 4096, KB_LENGTHS_UNIFORM, 2);
    assert_memory_not_equal(a, b, sizeof a);
    gen_seq_lengths(a, 64, 4096, KB_LENGTHS_LONGTAIL, 1);
    gen_seq_lengths(b, 64, 4096, KB_LENGTHS_LONGTAIL, 2);
    assert_memory_not_equal(a, b, sizeof a);
    /* a heavier tail: the longest sequence far above the median for long-tail (Pareto with
     * alpha 0.8: typically (64/2)^(1/0.8) ~ 76x), at most 4x for uniform in [N/4, N], on every
     * seed */
    for (uint64_t seed = 1; seed <= 20; seed++) {
        gen_seq_lengths(a, 64, 4096, KB_LENGTHS_UNIFORM, seed);
        gen_seq_lengths(b, 64, 4096, KB_LENGTHS_LONGTAIL, seed);
        double ru = max_over_median(a, 64), rl = max_over_median(b, 64);
        if (!(ru <= 4.0) || !(rl > 2.0 * ru))
            fail_msg("seed %llu: max/median uniform %.2f, longtail %.2f", (unsigned long long)seed, ru, rl);
    }
}

/* cu_seqlens of the operands: cumulative, starting at 0, matching the generator */
static void test_operands_cu_seqlens(void **state)
{
    (void)state;
    struct kb_shape s = varlen_shape(7, 2, 1, 301, 32, 0, KB_LENGTHS_LONGTAIL);
    struct kb_case c = case_f32(&kb_attention_varlen_cpu, s, 1, 5);
    case_setup_ok(&c);
    const int32_t *cu = case_tensor(&c, "cu_seqlens").data;
    int len[7];
    int64_t total = gen_seq_lengths(len, 7, 301, KB_LENGTHS_LONGTAIL, VARLEN_LENGTHS_SEED);
    assert_int_equal(cu[0], 0);
    for (int b = 0; b < 7; b++)
        assert_int_equal(cu[b + 1] - cu[b], len[b]);
    assert_int_equal(cu[7], total);
    struct kb_tensor q = case_tensor(&c, "q"), k = case_tensor(&c, "k"), o = case_tensor(&c, "o");
    assert_int_equal(q.ndim, 3); /* token-major [T, H, d] */
    assert_int_equal(q.dims[0], total);
    assert_int_equal(q.dims[1], 2);
    assert_int_equal(q.dims[2], 32);
    assert_int_equal(k.dims[0], total);
    assert_int_equal(k.dims[1], 1);
    assert_int_equal(o.dims[0], total);
    assert_int_equal(o.dims[1], 2);
    assert_int_equal(o.dims[2], 32);
    case_teardown(&c);
}

/* ---- against the reference ------------------------------------------------------------------ */

static const unsigned flash_needs[KB_PATH_COUNT] = { 0, FLASH_AVX2_NEEDS, FLASH_AVX512_NEEDS };
static const unsigned linear_needs[KB_PATH_COUNT] = { 0, LINEAR_AVX2_NEEDS, LINEAR_AVX512_NEEDS };

/* odd lengths (N not a multiple of any tile or chunk), GQA, d not a multiple of 16, both mixes */
static const struct {
    int batch, heads, kv_heads, n, d;
} odd[] = { { 5, 4, 2, 97, 64 }, { 3, 2, 2, 301, 40 }, { 9, 2, 1, 131, 64 }, { 1, 1, 1, 7, 16 } };

static void run_odd(const struct kb_kernel *k, enum kb_cpu_path p)
{
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        for (int causal = 0; causal <= 1; causal++)
            for (int mix = KB_LENGTHS_UNIFORM; mix <= KB_LENGTHS_LONGTAIL; mix++) {
                struct kb_shape s = varlen_shape(odd[i].batch, odd[i].heads, odd[i].kv_heads, odd[i].n, odd[i].d,
                                                 causal, mix);
                struct kb_case c = case_f32(k, s, 1 + (int)(i % 2), 17 + i);
                case_setup_ok(&c);
                struct kb_accuracy acc = case_run_verify(&c);
                if (!acc.passed || !(acc.rel_l2_err < 1e-5))
                    fail_msg("%s@%s path %s case %zu causal %d mix %d: passed %d rel_l2 %g", k->name, k->impl,
                             kb_cpu_path_name(p), i, causal, mix, acc.passed, acc.rel_l2_err);
                case_teardown(&c);
            }
}

static void flash_odd(enum kb_cpu_path p)
{
    run_odd(&kb_attention_varlen_cpu, p);
}

static void linear_odd(enum kb_cpu_path p)
{
    run_odd(&kb_attention_linear_varlen_cpu, p);
}

/* The work-split counter: present after a run, between 1 (even) and the thread count (one
 * thread did everything); never a timing assumption (dynamic scheduling follows the OS). */
static void test_work_split_counter(void **state)
{
    (void)state;
    struct kb_shape s = varlen_shape(23, 2, 2, 301, 32, 1, KB_LENGTHS_LONGTAIL);
    struct kb_case c = case_f32(&kb_attention_varlen_cpu, s, 2, 3);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    struct kb_counter k[4];
    assert_int_equal(kb_attention_varlen_cpu.stats(&c, k, 4), 1);
    assert_string_equal(k[0].name, "varlen.work_max_over_mean");
    assert_true(k[0].value >= 1.0 - 1e-12 && k[0].value <= 2.0 + 1e-12);
    case_teardown(&c);
}

static void test_flash_odd_lengths_verify(void **state)
{
    (void)state;
    case_each_path("attention.varlen@cpu.flash", flash_needs, flash_odd);
}

static void test_linear_odd_lengths_verify(void **state)
{
    (void)state;
    case_each_path("attention.linear_varlen@cpu", linear_needs, linear_odd);
}

/* ---- equal lengths: the padded kernel's numbers ---------------------------------------------- */

/* [B·N, H, d] (packed token-major, equal lengths) -> [B, H, N, d] (padded) */
static void packed_to_padded(const float *packed, float *padded, int batch, int heads, int n, int d)
{
    for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n; i++)
                memcpy(padded + (((size_t)b * heads + h) * n + i) * d,
                       packed + (((size_t)b * n + i) * heads + h) * d, (size_t)d * sizeof(float));
}

/* [T, H, d] <-> [H, T, d] (to_heads 1: token-major to head-major) */
static void transpose_th(const float *src, float *dst, int tokens, int heads, int d, int to_heads)
{
    for (int t = 0; t < tokens; t++)
        for (int h = 0; h < heads; h++) {
            size_t tm = ((size_t)t * heads + h) * d, hm = ((size_t)h * tokens + t) * d;
            memcpy(dst + (to_heads ? hm : tm), src + (to_heads ? tm : hm), (size_t)d * sizeof(float));
        }
}

/* The varlen kernel on an equal mix and the padded kernel on the same values rearranged: the
 * same tiles over the same keys, so the same floats. */
static void equal_matches_padded(const struct kb_kernel *varlen, const struct kb_kernel *padded)
{
    for (int causal = 0; causal <= 1; causal++) {
        const int B = 3, H = 4, HKV = 2, N = 131, D = 64;
        struct kb_shape s = varlen_shape(B, H, HKV, N, D, causal, KB_LENGTHS_EQUAL);
        struct kb_case v = case_f32(varlen, s, 2, 99);
        case_setup_ok(&v);
        struct kb_accuracy acc = case_run_verify(&v);
        assert_true(acc.passed);

        struct kb_shape ps = s;
        ps.lengths = 0;
        struct kb_case p = case_f32(padded, ps, 2, 1234);
        case_setup_ok(&p);
        /* the padded case's inputs replaced after setup (both CPU kernels read the operands in run) */
        packed_to_padded(kb_input(&v, KB_VARLEN_Q), p.io.buffer[0], B, H, N, D);
        packed_to_padded(kb_input(&v, KB_VARLEN_K), p.io.buffer[1], B, HKV, N, D);
        packed_to_padded(kb_input(&v, KB_VARLEN_V), p.io.buffer[2], B, HKV, N, D);
        acc = case_run_verify(&p);
        assert_true(acc.passed);

        float *want = malloc((size_t)B * H * N * D * sizeof *want);
        assert_non_null(want);
        packed_to_padded(kb_output(&v, KB_VARLEN_O), want, B, H, N, D);
        const float *got = p.io.buffer[3];
        for (size_t e = 0; e < (size_t)B * H * N * D; e++)
            if (got[e] != want[e])
                fail_msg("%s causal %d: element %zu padded %.9g varlen %.9g", varlen->name, causal, e, got[e], want[e]);
        free(want);
        /* the counts agree too: the equal mix is the padded shape */
        assert_float_equal(kb_kernel_flops(varlen, &s), kb_kernel_flops(padded, &ps), 1e-6 * kb_kernel_flops(padded, &ps));
        case_teardown(&p);
        case_teardown(&v);
    }
}

static void test_equal_lengths_match_padded(void **state)
{
    (void)state;
    equal_matches_padded(&kb_attention_varlen_cpu, &kb_attention_flash_cpu);
    equal_matches_padded(&kb_attention_linear_varlen_cpu, &kb_attention_linear_cpu);
}

/* ---- implementations that mishandle cu_seqlens fail ----------------------------------------- */

/* The padded kernel run over the whole packed axis as one sequence (cu_seqlens ignored: every
 * query attends to the other sequences' keys, linear attention carries its state across them),
 * its output judged by the varlen operation: must fail. */
static void ignoring_cu_fails(const struct kb_kernel *varlen, const struct kb_kernel *padded, int causal)
{
    struct kb_shape s = varlen_shape(4, 2, 1, 97, 64, causal, KB_LENGTHS_UNIFORM);
    struct kb_case v = case_f32(varlen, s, 1, 7);
    case_setup_ok(&v);
    const int T = ((const int32_t *)kb_input(&v, KB_VARLEN_CU))[s.batch];
    struct kb_shape whole = s;
    whole.batch = 1;
    whole.seq_len = T;
    whole.lengths = 0;
    struct kb_case p = case_f32(padded, whole, 1, 7);
    case_setup_ok(&p);
    for (int i = 0; i < 3; i++) /* [1, H, T, d]: the packed tokens, head-major */
        transpose_th(kb_input(&v, i), p.io.buffer[i], T, i == 0 ? s.heads : s.kv_heads, s.head_dim, 1);
    assert_int_equal(kb_case_run(&p), KB_OK);
    transpose_th(p.io.buffer[3], kb_output(&v, KB_VARLEN_O), T, s.heads, s.head_dim, 0);
    struct kb_accuracy acc;
    assert_int_equal(varlen->op->verify(&v.io, &v.shape, KB_DTYPE_F32, v.seed, 1, &acc), KB_OK);
    if (acc.passed)
        fail_msg("%s causal %d: cu_seqlens ignored yet verified (rel_l2 %g)", varlen->name, causal, acc.rel_l2_err);
    case_teardown(&p);
    case_teardown(&v);
}

/* Sequence boundaries off by one token (each sequence's first key given to the one before):
 * a subtler mistake, caught too. */
static void boundary_off_by_one_fails(void)
{
    struct kb_shape s = varlen_shape(6, 2, 2, 97, 64, 0, KB_LENGTHS_LONGTAIL);
    struct kb_case v = case_f32(&kb_attention_varlen_cpu, s, 1, 8);
    case_setup_ok(&v);
    int32_t *cu = v.io.buffer[KB_VARLEN_CU];
    for (int b = 1; b < s.batch; b++)
        cu[b] += 1; /* the lengths stay valid (every one at least 1 in this mix? checked below) */
    for (int b = 0; b < s.batch; b++)
        assert_true(cu[b + 1] > cu[b]);
    assert_int_equal(kb_case_run(&v), KB_OK);
    for (int b = 1; b < s.batch; b++)
        cu[b] -= 1; /* verify judges with the true boundaries */
    struct kb_accuracy acc;
    assert_int_equal(kb_op_attention_varlen.verify(&v.io, &v.shape, KB_DTYPE_F32, v.seed, 1, &acc), KB_OK);
    assert_false(acc.passed);
    case_teardown(&v);
}

static void test_wrong_cu_handling_fails(void **state)
{
    (void)state;
    for (int causal = 0; causal <= 1; causal++) {
        ignoring_cu_fails(&kb_attention_varlen_cpu, &kb_attention_flash_cpu, causal);
        ignoring_cu_fails(&kb_attention_linear_varlen_cpu, &kb_attention_linear_cpu, causal);
    }
    boundary_off_by_one_fails();
}

/* ---- counts --------------------------------------------------------------------------------- */

static void test_counts_from_lengths(void **state)
{
    (void)state;
    for (int causal = 0; causal <= 1; causal++) {
        struct kb_shape s = varlen_shape(9, 4, 2, 500, 64, causal, KB_LENGTHS_LONGTAIL);
        int len[9];
        int64_t total = gen_seq_lengths(len, 9, 500, KB_LENGTHS_LONGTAIL, VARLEN_LENGTHS_SEED);
        double want = 0;
        for (int b = 0; b < 9; b++)
            want += causal ? 2.0 * 4 * len[b] * (len[b] + 1.0) * 64 : 4.0 * 4 * (double)len[b] * len[b] * 64;
        assert_float_equal(kb_op_attention_varlen.flops(&s), want, 1e-9 * want);
        double padded = causal ? 2.0 * 9 * 4 * 500 * 501.0 * 64 : 4.0 * 9 * 4 * 500.0 * 500 * 64;
        assert_true(kb_op_attention_varlen.flops(&s) < padded); /* not the padded size */
        double lin = 4.0 * 4 * (double)total * (64.0 * 64 + 64);
        assert_float_equal(kb_op_attention_linear_varlen.flops(&s), lin, 1e-9 * lin);
        double bytes = 4.0 * (double)total * 64 * (2 * 4 + 2 * 2) + 4.0 * 10;
        assert_float_equal(kb_op_attention_varlen.bytes(&s, KB_DTYPE_F32), bytes, 1e-9 * bytes);
    }
}

/* Bad shapes get a clear refusal. */
static void test_bad_shapes_refused(void **state)
{
    (void)state;
    struct kb_shape bad[] = {
        varlen_shape(2, 2, 2, 64, 64, 0, 0),                  /* no mix */
        varlen_shape(2, 2, 2, 64, 64, 0, 4),                  /* unknown mix */
        varlen_shape(0, 2, 2, 64, 64, 0, KB_LENGTHS_UNIFORM), /* no sequence */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct kb_case c = case_f32(&kb_attention_varlen_cpu, bad[i], 1, 1);
        char err[256] = "";
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_true(strlen(err) > 0);
        kb_case_end(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_properties),
        cmocka_unit_test(test_operands_cu_seqlens),
        cmocka_unit_test(test_flash_odd_lengths_verify),
        cmocka_unit_test(test_linear_odd_lengths_verify),
        cmocka_unit_test(test_work_split_counter),
        cmocka_unit_test(test_equal_lengths_match_padded),
        cmocka_unit_test(test_wrong_cu_handling_fails),
        cmocka_unit_test(test_counts_from_lengths),
        cmocka_unit_test(test_bad_shapes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
