/* test_stats.c - latency statistics (quantiles, summary, bootstrap and order-statistic CIs of the
 * median), the verification accumulator and row sampler, the seeded input generators and the
 * .npy writer. Expected values come from Python's statistics module or exact binomial sums
 * (fractions + math.comb), computed offline as each test says, never from this code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/generate.h"
#include "harness/npy.h"
#include "harness/stats.h"
#include "kernels/verify.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* cmocka 1.1 compares only floats; these checks need doubles. */
#define assert_near(got, want, eps) check_near((got), (want), (eps), #got, __FILE__, __LINE__)
static void check_near(double got, double want, double eps, const char *what, const char *file,
                       int line)
{
    if (!(fabs(got - want) <= eps) && !(got == want))
        fail_msg("%s:%d: %s = %.17g, expected %.17g (within %g)", file, line, what, got, want, eps);
}

/* Two small samples, unsorted on purpose. Expected values below from python3:
 *   import statistics as st; q = st.quantiles(x, n=100, method='inclusive')  # type 7
 *   st.median(x), st.mean(x), st.stdev(x), q[4] (p5), q[24], q[74], q[94] (p95),
 *   st.median([abs(v - st.median(x)) for v in x])  (unscaled MAD) */
static const double odd_x[] = { 3.1, 1.4, 15.9, 2.6, 5.3, 5.8, 9.7 };
static const double even_x[] = { 12, 7, 3, 4.5, 9, 1, 20, 15 };

struct expected {
    double median, mean, stddev, p5, p25, p75, p95, mad, min, max;
};
static const struct expected odd_e = { 5.3, 6.257142857142857, 5.048054788020544, 1.76, 2.85,
                                       7.75, 14.04, 2.6999999999999997, 1.4, 15.9 };
static const struct expected even_e = { 8.0, 8.9375, 6.438930146272083, 1.7, 4.125,
                                        12.75, 18.25, 4.5, 1, 20 };

static void check_quantiles(const double *x, size_t n, const struct expected *e)
{
    double sorted[16];
    stats_sorted_copy(x, n, sorted);
    for (size_t i = 1; i < n; i++)
        assert_true(sorted[i - 1] <= sorted[i]);
    assert_near(stats_quantile_sorted(sorted, n, 0.0), e->min, 1e-12);
    assert_near(stats_quantile_sorted(sorted, n, 1.0), e->max, 1e-12);
    assert_near(stats_quantile_sorted(sorted, n, 0.5), e->median, 1e-12);
    assert_near(stats_quantile_sorted(sorted, n, 0.05), e->p5, 1e-12);
    assert_near(stats_quantile_sorted(sorted, n, 0.25), e->p25, 1e-12);
    assert_near(stats_quantile_sorted(sorted, n, 0.75), e->p75, 1e-12);
    assert_near(stats_quantile_sorted(sorted, n, 0.95), e->p95, 1e-12);
}

static void test_quantiles_odd(void **state)
{
    (void)state;
    check_quantiles(odd_x, ARRAY_LEN(odd_x), &odd_e);
}

static void test_quantiles_even(void **state)
{
    (void)state;
    check_quantiles(even_x, ARRAY_LEN(even_x), &even_e);
}

static void check_summary(const double *x, size_t n, const struct expected *e)
{
    struct kb_stats s;
    assert_int_equal(stats_summarize(x, n, 1000, 7, &s), 0);
    assert_int_equal(s.n, n);
    assert_near(s.median, e->median, 1e-12);
    assert_near(s.mean, e->mean, 1e-12);
    assert_near(s.stddev, e->stddev, 1e-12);
    assert_near(s.min, e->min, 1e-12);
    assert_near(s.max, e->max, 1e-12);
    assert_near(s.p5, e->p5, 1e-12);
    assert_near(s.p95, e->p95, 1e-12);
    assert_near(s.mad, e->mad, 1e-12);
    assert_true(s.ci_lo <= s.median && s.median <= s.ci_hi);
    assert_true(s.ci_lo >= s.min && s.ci_hi <= s.max);
    assert_near(s.noise, (s.ci_hi - s.ci_lo) / 2 / s.median, 1e-15);
}

static void test_summary_odd(void **state)
{
    (void)state;
    check_summary(odd_x, ARRAY_LEN(odd_x), &odd_e);
}

static void test_summary_even(void **state)
{
    (void)state;
    check_summary(even_x, ARRAY_LEN(even_x), &even_e);
}

static void test_summary_single_and_empty(void **state)
{
    (void)state;
    const double one = 4.25;
    struct kb_stats s;
    assert_int_equal(stats_summarize(&one, 1, 500, 1, &s), 0);
    assert_int_equal(s.n, 1);
    assert_near(s.median, 4.25, 0);
    assert_near(s.mean, 4.25, 0);
    assert_near(s.stddev, 0, 0);
    assert_near(s.mad, 0, 0);
    assert_near(s.p5, 4.25, 0);
    assert_near(s.p95, 4.25, 0);
    /* one sample bounds nothing: no interval, not "4.25 to 4.25, +-0%" */
    assert_true(isnan(s.ci_lo) && isnan(s.ci_hi) && isnan(s.noise));
    assert_int_equal(stats_summarize(&one, 0, 500, 1, &s), -1);
}

static void test_summary_no_ci_below_three(void **state)
{
    (void)state;
    const double two[] = { 95.1e-3, 95.1e-3 }, three[] = { 1.0, 1.1, 1.2 };
    struct kb_stats s;
    assert_int_equal(stats_summarize(two, 2, 500, 1, &s), 0);
    assert_int_equal(s.n, 2);
    assert_near(s.median, 95.1e-3, 0);
    assert_true(isnan(s.ci_lo) && isnan(s.ci_hi) && isnan(s.noise));
    assert_int_equal(stats_summarize(two, 2, 0, 1, &s), 0); /* the order-statistic path too */
    assert_true(isnan(s.ci_lo) && isnan(s.noise));
    assert_int_equal(stats_summarize(three, 3, 500, 1, &s), 0);
    assert_true(isfinite(s.ci_lo) && isfinite(s.ci_hi) && isfinite(s.noise));
}

static void test_outliers_tukey_far_out(void **state)
{
    (void)state;
    double x[20];
    for (int i = 0; i < 20; i++)
        x[i] = 10.0 + 0.1 * (i % 4);
    struct kb_stats s;
    assert_int_equal(stats_summarize(x, 20, 0, 1, &s), 0);
    assert_int_equal(s.outliers, 0);
    x[3] = 50.0;
    x[7] = 0.5;
    assert_int_equal(stats_summarize(x, 20, 0, 1, &s), 0);
    assert_int_equal(s.outliers, 2);
    /* a coarse timer: most samples equal (IQR 0); a step of 0.5% is not an outlier */
    for (int i = 0; i < 20; i++)
        x[i] = i == 5 ? 10.05 : 10.0;
    assert_int_equal(stats_summarize(x, 20, 0, 1, &s), 0);
    assert_int_equal(s.outliers, 0);
    double lo, hi;
    stats_outlier_fences(x, 0, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));
}

static void test_summary_zero_median_noise(void **state)
{
    (void)state;
    const double x[] = { -1, 0, 0, 0, 1 };
    struct kb_stats s;
    assert_int_equal(stats_summarize(x, ARRAY_LEN(x), 200, 3, &s), 0);
    assert_near(s.median, 0, 0);
    assert_near(s.noise, 0, 0);
}

/* n draws of N(10, 1) */
static double *normal_samples(size_t n, uint64_t seed)
{
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    struct kb_rng r;
    kb_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = 10.0 + kb_rng_normal(&r);
    return x;
}

/* The median of N(mu, 1) has asymptotic standard error sqrt(pi/2)/sqrt(n) ≈ 1.2533/sqrt(n), so
 * a 95% CI is about 2 * 1.96 * 1.2533 / sqrt(n) wide. */
static void test_bootstrap_ci_narrows(void **state)
{
    (void)state;
    const size_t sizes[] = { 50, 500, 5000, 100000 };
    double prev_width = INFINITY;
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i];
        double *x = normal_samples(n, 100 + i);
        struct kb_stats s;
        assert_int_equal(stats_summarize(x, n, 2000, 42, &s), 0);
        assert_true(s.ci_lo <= s.median && s.median <= s.ci_hi);
        double width = s.ci_hi - s.ci_lo, expect = 2 * 1.96 * 1.2533 / sqrt((double)n);
        if (!(width > 0.5 * expect && width < 2.0 * expect))
            fail_msg("n=%zu: CI width %g, expected about %g", n, width, expect);
        assert_true(width < prev_width);
        assert_near(s.noise, width / 2 / s.median, 1e-15);
        prev_width = width;
        free(x);
    }
}

/* Calibration: over several data sets, the mean CI width matches the asymptotic 95% width
 * (a CI taken at the wrong percentiles, such as 25%/97.5%, is a third narrower). */
static void test_bootstrap_ci_calibrated(void **state)
{
    (void)state;
    const size_t n = 4001;
    const int sets = 8;
    double sum_ratio = 0;
    for (int i = 0; i < sets; i++) {
        double *x = normal_samples(n, 500 + (uint64_t)i);
        struct kb_stats s;
        assert_int_equal(stats_summarize(x, n, 1000, 77 + (uint64_t)i, &s), 0);
        sum_ratio += (s.ci_hi - s.ci_lo) / (2 * 1.96 * 1.2533 / sqrt((double)n));
        free(x);
    }
    double ratio = sum_ratio / sets;
    if (!(ratio > 0.88 && ratio < 1.12))
        fail_msg("mean CI width / asymptotic width = %g, expected about 1", ratio);
}

/* The exact bootstrap distribution of the median of a resample of 1..10 (python3: enumerate all
 * count vectors over the 10 values, weight each by its multinomial probability, take the mean
 * of the 5th and 6th order statistics) has P(median <= 2.5) = 0.0195, P(median <= 3) = 0.0547,
 * and symmetrically P(median >= 8.5) = 0.0195, P(median >= 8) = 0.0547. With 20000 draws the
 * 2.5% and 97.5% points are therefore 3 and 8 (about 390 draws expected beyond each, against
 * 500 allowed; sd 20). */
static void test_bootstrap_exact_small(void **state)
{
    (void)state;
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = 10 - i;
    struct kb_stats s;
    assert_int_equal(stats_summarize(x, 10, 20000, 31, &s), 0);
    assert_near(s.ci_lo, 3, 0);
    assert_near(s.ci_hi, 8, 0);
    assert_near(s.noise, (8 - 3) / 2.0 / 5.5, 1e-15);
}

static void test_bootstrap_deterministic(void **state)
{
    (void)state;
    double *x = normal_samples(501, 9);
    struct kb_stats a, b, c;
    assert_int_equal(stats_summarize(x, 501, 1000, 1234, &a), 0);
    assert_int_equal(stats_summarize(x, 501, 1000, 1234, &b), 0);
    assert_int_equal(stats_summarize(x, 501, 1000, 4321, &c), 0);
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(a.ci_lo != c.ci_lo || a.ci_hi != c.ci_hi); /* the seed is really used */
    free(x);
}

/* Without resamples the summary falls back to the order-statistic interval. */
static void test_summary_no_resamples(void **state)
{
    (void)state;
    double x[20];
    for (int i = 0; i < 20; i++)
        x[i] = (double)((i * 7) % 20 + 1); /* 1..20 shuffled */
    struct kb_stats s;
    assert_int_equal(stats_summarize(x, 20, 0, 5, &s), 0);
    assert_near(s.ci_lo, 6, 0);
    assert_near(s.ci_hi, 15, 0);
}

/* Order-statistic CI on data 1..n, so x_(j) = j. The ranks j are the largest with
 * P(Binom(n, 1/2) < j) <= (1 - level) / 2, computed exactly in python3 with
 *   cdf = sum(comb(n, k) for k in range(j)) and Fraction(cdf, 2**n) <= Fraction(25, 1000):
 *   n=9: j=2; n=20: j=6 (P(B<=5) = 0.02069, P(B<=6) = 0.05766); n=20 at 99%: j=4;
 *   n=100: 40; n=1000: 469; n=1001: 470; n=5000: 2431; n=20000: 9861. */
static void check_order_ci(size_t n, double level, double want_lo, double want_hi)
{
    double *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(i + 1);
    double lo, hi;
    stats_median_ci_order(x, n, level, &lo, &hi);
    if (lo != want_lo || hi != want_hi)
        fail_msg("n=%zu level=%g: [%g, %g], expected [%g, %g]", n, level, lo, hi, want_lo,
                 want_hi);
    free(x);
}

static void test_order_ci_exact(void **state)
{
    (void)state;
    check_order_ci(20, 0.95, 6, 15);
    check_order_ci(20, 0.99, 4, 17);
    check_order_ci(9, 0.95, 2, 8);
    check_order_ci(100, 0.95, 40, 61);
    check_order_ci(1000, 0.95, 469, 532);
}

static void test_order_ci_small_n(void **state)
{
    (void)state;
    for (size_t n = 1; n < 6; n++)
        check_order_ci(n, 0.95, 1, (double)n);
    /* n = 6: P(B < 1) = 1/64 <= 0.025 but P(B < 2) = 7/64 is not, so j = 1: the full range */
    check_order_ci(6, 0.95, 1, 6);
}

/* Above n = 1000 the rank comes from the normal approximation (with continuity correction). A
 * python3 comparison against the exact ranks for n = 1001..3000 (step 7), 5000, 10007 and 20000
 * found it off in 3 of 290 cases, each time by one rank and on the wide (conservative) side;
 * n = 1001 is one of them (exact 470, approximation 469). */
static void test_order_ci_large_n(void **state)
{
    (void)state;
    double x[1001], lo, hi;
    for (int i = 0; i < 1001; i++)
        x[i] = i + 1;
    stats_median_ci_order(x, 1001, 0.95, &lo, &hi);
    if (!((lo == 470 && hi == 532) || (lo == 469 && hi == 533)))
        fail_msg("n=1001: [%g, %g], expected [470, 532] or one rank wider", lo, hi);
    check_order_ci(5000, 0.95, 2431, 2570);
    check_order_ci(20000, 0.95, 9861, 10140);
}

/* ---- verify ------------------------------------------------------------------------------- */

static void run_verify(const double *got, const double *ref, size_t n, double tol,
                       struct kb_accuracy *acc)
{
    struct verify_acc a;
    verify_begin(&a);
    for (size_t i = 0; i < n; i++)
        verify_add(&a, got[i], ref[i]);
    assert_int_equal(a.count, (long)n);
    acc->rows_checked = 777; /* the caller's fields: verify_finish must leave them alone */
    acc->rows_total = 888;
    verify_finish(&a, tol, acc);
    assert_int_equal(acc->rows_checked, 777);
    assert_int_equal(acc->rows_total, 888);
    assert_near(acc->tolerance, tol, 0);
}

static void test_verify_scaled(void **state)
{
    (void)state;
    double ref[64], got[64];
    for (int i = 0; i < 64; i++) {
        ref[i] = sin(0.37 * i) * (1 + i % 5) - 0.5;
        got[i] = ref[i] * (1 + 1e-3);
    }
    double max_ref = 0;
    for (int i = 0; i < 64; i++)
        max_ref = fmax(max_ref, fabs(ref[i]));
    struct kb_accuracy acc;
    run_verify(got, ref, 64, 2e-3, &acc);
    assert_near(acc.rel_l2_err, 1e-3, 1e-12);
    assert_near(acc.cosine, 1.0, 1e-12);
    assert_near(acc.max_abs_err, 1e-3 * max_ref, 1e-12);
    assert_int_equal(acc.passed, 1);
    run_verify(got, ref, 64, 5e-4, &acc);
    assert_int_equal(acc.passed, 0);
}

static void test_verify_geometry(void **state)
{
    (void)state;
    const double a[] = { 1, 0, 2, 0 }, b[] = { 0, 3, 0, -1 }, neg[] = { -1, 0, -2, 0 };
    struct kb_accuracy acc;
    run_verify(b, a, 4, 10, &acc); /* orthogonal: cos 0, err² = 1+9+4+1 = 15 over |a|² = 5 */
    assert_near(acc.cosine, 0, 1e-15);
    assert_near(acc.rel_l2_err, sqrt(3.0), 1e-12);
    assert_near(acc.max_abs_err, 3, 0);
    run_verify(neg, a, 4, 10, &acc); /* opposite: cos -1, rel err 2 */
    assert_near(acc.cosine, -1, 1e-15);
    assert_near(acc.rel_l2_err, 2, 1e-15);
}

static void test_verify_zero_reference(void **state)
{
    (void)state;
    const double zero[] = { 0, 0 }, v[] = { 3, 4 };
    struct kb_accuracy acc;
    run_verify(zero, zero, 2, 1e-12, &acc);
    assert_near(acc.rel_l2_err, 0, 0);
    assert_near(acc.cosine, 1, 0);
    assert_int_equal(acc.passed, 1);
    run_verify(v, zero, 2, 1e-3, &acc); /* no scale: the absolute L2 error, 5 */
    assert_near(acc.rel_l2_err, 5, 1e-15);
    assert_near(acc.cosine, 0, 0);
    assert_int_equal(acc.passed, 0);
}

static void test_verify_nonfinite_fails(void **state)
{
    (void)state;
    double ref[] = { 1, 2, 3, 4 }, got[] = { 1, 2, 3, 4 };
    struct kb_accuracy acc;
    run_verify(got, ref, 4, 1e-3, &acc);
    assert_int_equal(acc.passed, 1);
    got[2] = NAN;
    run_verify(got, ref, 4, 1e300, &acc);
    assert_int_equal(acc.passed, 0);
    assert_true(isinf(acc.rel_l2_err));
    got[2] = -INFINITY;
    run_verify(got, ref, 4, 1e300, &acc);
    assert_int_equal(acc.passed, 0);
    assert_true(isinf(acc.rel_l2_err));
}

static void test_verify_empty_fails(void **state)
{
    (void)state;
    struct kb_accuracy acc;
    run_verify(NULL, NULL, 0, 1.0, &acc);
    assert_int_equal(acc.passed, 0);
}

static void test_verify_tolerances(void **state)
{
    (void)state;
    /* coarser types get looser bounds, and each bound sits above its type's unit roundoff */
    const enum kb_dtype order[] = { KB_DTYPE_F64, KB_DTYPE_F32, KB_DTYPE_F16, KB_DTYPE_BF16,
                                    KB_DTYPE_I8 };
    const double unit_roundoff[] = { 0x1p-53, 0x1p-24, 0x1p-11, 0x1p-8, 1.0 / 254 };
    for (size_t i = 0; i < ARRAY_LEN(order); i++) {
        double t = verify_default_tolerance(order[i]);
        assert_true(t > unit_roundoff[i] && t < 0.1);
        if (i > 0)
            assert_true(t > verify_default_tolerance(order[i - 1]));
    }
}

static void check_rows(long total, long max_rows, uint64_t seed)
{
    long cap = max_rows > 0 ? max_rows : 1;
    long *rows = malloc((size_t)cap * sizeof *rows), *again = malloc((size_t)cap * sizeof *rows);
    assert_non_null(rows);
    assert_non_null(again);
    long n = verify_sample_rows(total, max_rows, seed, rows);
    long want = total < max_rows ? total : max_rows;
    assert_int_equal(n, want);
    assert_int_equal(rows[0], 0);
    if (want >= 2)
        assert_int_equal(rows[n - 1], total - 1);
    for (long i = 1; i < n; i++)
        assert_true(rows[i] > rows[i - 1]); /* ascending and distinct */
    /* evenly spread: no gap wider than two strata */
    if (n > 2) {
        long stratum = (total - 2 + (n - 2) - 1) / (n - 2);
        for (long i = 1; i < n; i++)
            assert_true(rows[i] - rows[i - 1] <= 2 * stratum);
    }
    assert_int_equal(verify_sample_rows(total, max_rows, seed, again), n);
    assert_memory_equal(rows, again, (size_t)n * sizeof *rows);
    free(rows);
    free(again);
}

static void test_sample_rows(void **state)
{
    (void)state;
    check_rows(1000, 64, 1);
    check_rows(65, 64, 2);        /* strata of one row each: all but one interior row */
    check_rows(64, 64, 3);        /* exactly enough: every row */
    check_rows(10, 64, 4);        /* fewer rows than asked for */
    check_rows(1000000007L, 256, 5);
    check_rows(5, 2, 6);

    long a[64], b[64];
    verify_sample_rows(100000, 64, 11, a);
    verify_sample_rows(100000, 64, 12, b);
    assert_true(memcmp(a, b, sizeof a) != 0); /* the jitter depends on the seed */
    long all[10];
    assert_int_equal(verify_sample_rows(10, 64, 7, all), 10);
    for (long i = 0; i < 10; i++)
        assert_int_equal(all[i], i);
    assert_int_equal(verify_sample_rows(0, 64, 7, all), 0);
}

/* ---- generators --------------------------------------------------------------------------- */

/* Reference outputs of splitmix64-seeded xoshiro256**, from an independent python3
 * transcription of the published algorithms (its first splitmix64 output for seed 0 is the
 * well-known 0xe220a8397b1dcdaf). */
static void test_rng_reference_values(void **state)
{
    (void)state;
    struct kb_rng r;
    kb_rng_seed(&r, 0);
    assert_int_equal(r.s[0], 0xe220a8397b1dcdafull);
    assert_int_equal(kb_rng_next(&r), 0x99ec5f36cb75f2b4ull);
    assert_int_equal(kb_rng_next(&r), 0xbf6e1f784956452aull);
    assert_int_equal(kb_rng_next(&r), 0x1a5f849d4933e6e0ull);
    for (int i = 3; i < 999; i++) /* later outputs depend on every word of the state */
        kb_rng_next(&r);
    assert_int_equal(kb_rng_next(&r), 0x7aac8c483a2edd2full); /* the 1000th */
    kb_rng_seed(&r, 12345);
    assert_int_equal(kb_rng_next(&r), 0xbe6a36374160d49bull);
    assert_int_equal(kb_rng_next(&r), 0x214aaa0637a688c6ull);
    assert_int_equal(kb_rng_next(&r), 0xf69d16de9954d388ull);
    for (int i = 3; i < 999; i++)
        kb_rng_next(&r);
    assert_int_equal(kb_rng_next(&r), 0x3cbb8486529694b8ull);
}

static void test_rng_uniform(void **state)
{
    (void)state;
    struct kb_rng r;
    kb_rng_seed(&r, 77);
    double sum = 0;
    const int n = 1000000;
    for (int i = 0; i < n; i++) {
        double u = kb_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    assert_near(sum / n, 0.5, 2e-3); /* sd of the mean: 0.289 / 1000 */
}

/* Mean ~0, variance ~1 (standard errors 1e-3 and 1.4e-3 at 1e6 draws), and the normal's tail:
 * P(|z| > 1.96) = 0.05 (standard error 2.2e-4), which a wrongly scaled or uniform variate
 * would miss. */
static void check_normal_moments(const double *sum, const double *sumsq, const long *tail, long n,
                                 double mean, double std)
{
    double m = *sum / n, v = *sumsq / n - m * m;
    if (fabs(m - mean) > 5e-3 * std || fabs(v / (std * std) - 1) > 7e-3 ||
        fabs((double)*tail / n - 0.05) > 1.5e-3)
        fail_msg("mean %g (want %g), variance %g (want %g), tail %g (want 0.05)", m, mean, v,
                 std * std, (double)*tail / n);
}

static void test_rng_normal(void **state)
{
    (void)state;
    struct kb_rng r;
    kb_rng_seed(&r, 2024);
    const long n = 1000000;
    double sum = 0, sumsq = 0;
    long tail = 0;
    for (long i = 0; i < n; i++) {
        double z = kb_rng_normal(&r);
        sum += z;
        sumsq += z * z;
        tail += fabs(z) > 1.959964;
    }
    check_normal_moments(&sum, &sumsq, &tail, n, 0, 1);
}

static void test_fill_normal_moments(void **state)
{
    (void)state;
    const long n = 1000001;
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    gen_fill_normal_f32(x, (size_t)n, 99, 3.0, 2.0);
    double sum = 0, sumsq = 0;
    long tail = 0;
    for (long i = 0; i < n; i++) {
        sum += x[i];
        sumsq += (double)x[i] * x[i];
        tail += fabs((x[i] - 3.0) / 2.0) > 1.959964;
    }
    check_normal_moments(&sum, &sumsq, &tail, n, 3.0, 2.0);
    free(x);
}

/* Same seed, same values, whatever the thread count; and a shorter fill is a prefix of a longer
 * one, because blocks are seeded by position rather than by thread. */
static void test_fill_thread_independent(void **state)
{
    (void)state;
    const size_t n = 3 * 65536 + 1001;
    float *one = malloc(n * sizeof *one), *two = malloc(n * sizeof *two);
    float *shorter = malloc(n * sizeof *shorter), *other = malloc(n * sizeof *other);
    assert_non_null(one);
    assert_non_null(two);
    assert_non_null(shorter);
    assert_non_null(other);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    gen_fill_normal_f32(one, n, 5, 0, 1);
    omp_set_num_threads(2);
    gen_fill_normal_f32(two, n, 5, 0, 1);
    omp_set_num_threads(saved);
    assert_memory_equal(one, two, n * sizeof *one);
    gen_fill_normal_f32(shorter, 70001, 5, 0, 1);
    assert_memory_equal(one, shorter, 70001 * sizeof *one);
    gen_fill_normal_f32(other, n, 6, 0, 1);
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += one[i] == other[i];
    assert_true(same < n / 1000); /* another seed, other values */
    /* no block repeats another (block streams must differ) */
    assert_true(memcmp(one, one + 65536, 65536 * sizeof *one) != 0);
    free(one);
    free(two);
    free(shorter);
    free(other);
}

/* ---- npy ---------------------------------------------------------------------------------- */

struct npy_file {
    size_t header_len; /* magic through the newline */
    char dict[1024];
    unsigned char data[4096];
    size_t data_len;
};

static void read_npy(const char *path, struct npy_file *f)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char pre[10];
    assert_int_equal(fread(pre, 1, 10, fp), 10);
    assert_memory_equal(pre, "\x93NUMPY", 6);
    assert_int_equal(pre[6], 1);
    assert_int_equal(pre[7], 0);
    size_t hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    assert_true(hlen < sizeof f->dict);
    assert_int_equal(fread(f->dict, 1, hlen, fp), hlen);
    f->dict[hlen] = '\0';
    f->header_len = 10 + hlen;
    f->data_len = fread(f->data, 1, sizeof f->data, fp);
    assert_true(feof(fp));
    fclose(fp);
    assert_int_equal(f->header_len % 64, 0);
    assert_int_equal(f->dict[hlen - 1], '\n');
    assert_int_equal(strchr(f->dict, '\n') - f->dict, (long)hlen - 1); /* only newline: last */
}

static char *temp_path(char *buf, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, len, "%s/kb_test_npy_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
    return buf;
}

static void test_npy_2d_f32(void **state)
{
    (void)state;
    float v[3 * 5];
    for (int i = 0; i < 15; i++)
        v[i] = 0.5f * (float)i - 3.0f;
    struct kb_tensor t = { .name = "o", .dtype = KB_DTYPE_F32, .ndim = 2, .dims = { 3, 5 },
                           .data = v, .is_output = 1 };
    char path[512];
    temp_path(path, sizeof path);
    assert_int_equal(npy_write(path, &t), 0);
    struct npy_file f;
    read_npy(path, &f);
    assert_non_null(strstr(f.dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }"));
    assert_ptr_equal(strstr(f.dict, "{"), f.dict);
    assert_int_equal(f.data_len, sizeof v);
    assert_memory_equal(f.data, v, sizeof v);
    unlink(path);
}

static void test_npy_1d_and_descrs(void **state)
{
    (void)state;
    const int8_t q[7] = { -128, -1, 0, 1, 2, 64, 127 };
    struct kb_tensor t = { .name = "q", .dtype = KB_DTYPE_I8, .ndim = 1, .dims = { 7 }, .data = q };
    char path[512];
    temp_path(path, sizeof path);
    assert_int_equal(npy_write(path, &t), 0);
    struct npy_file f;
    read_npy(path, &f);
    assert_non_null(strstr(f.dict, "'descr': '|i1'"));
    assert_non_null(strstr(f.dict, "'shape': (7,)"));
    assert_int_equal(f.data_len, 7);
    assert_memory_equal(f.data, q, 7);

    /* 4-D bf16 as raw uint16 */
    uint16_t h[2 * 1 * 3 * 4];
    for (int i = 0; i < 24; i++)
        h[i] = (uint16_t)(0x3f80 + i);
    struct kb_tensor b = { .name = "k", .dtype = KB_DTYPE_BF16, .ndim = 4, .dims = { 2, 1, 3, 4 },
                           .data = h };
    assert_int_equal(npy_write(path, &b), 0);
    read_npy(path, &f);
    assert_non_null(strstr(f.dict, "'descr': '<u2'"));
    assert_non_null(strstr(f.dict, "'shape': (2, 1, 3, 4)"));
    assert_int_equal(f.data_len, sizeof h);
    assert_memory_equal(f.data, h, sizeof h);
    unlink(path);

    /* int4: dims count nibbles, the file holds the packed bytes (no over-read past them) */
    const uint8_t nib[2 * 3] = { 0x21, 0x43, 0x65, 0x87, 0xA9, 0xCB };
    struct kb_tensor p4 = { .name = "w", .dtype = KB_DTYPE_I4, .ndim = 2, .dims = { 2, 6 }, .data = nib };
    assert_int_equal(npy_write(path, &p4), 0);
    read_npy(path, &f);
    assert_non_null(strstr(f.dict, "'shape': (2, 3)"));
    assert_int_equal(f.data_len, sizeof nib);
    assert_memory_equal(f.data, nib, sizeof nib);
    p4.dims[1] = 3; /* odd rows packed back to back: one row of bytes */
    p4.ndim = 2;
    assert_int_equal(npy_write(path, &p4), 0);
    read_npy(path, &f);
    assert_non_null(strstr(f.dict, "'shape': (3,)"));
    assert_int_equal(f.data_len, 3);
    unlink(path);

    assert_string_equal(npy_descr(KB_DTYPE_F64), "<f8");
    assert_string_equal(npy_descr(KB_DTYPE_F16), "<f2");
    assert_string_equal(npy_descr(KB_DTYPE_I32), "<i4");
    assert_null(npy_descr(KB_DTYPE_COUNT));
}

static void test_npy_errors(void **state)
{
    (void)state;
    float v[2] = { 1, 2 };
    struct kb_tensor t = { .name = "x", .dtype = KB_DTYPE_COUNT, .ndim = 1, .dims = { 2 }, .data = v };
    errno = 0;
    assert_int_equal(npy_write("/tmp/kb_never_written.npy", &t), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(access("/tmp/kb_never_written.npy", F_OK), -1);
    t.dtype = KB_DTYPE_F32;
    t.dims[0] = -2;
    assert_int_equal(npy_write("/tmp/kb_never_written.npy", &t), -1);
    assert_int_equal(errno, EINVAL);
    t.dims[0] = 2;
    errno = 0;
    assert_int_equal(npy_write("/nonexistent-dir-kb/x.npy", &t), -1);
    assert_int_equal(errno, ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles_odd),
        cmocka_unit_test(test_quantiles_even),
        cmocka_unit_test(test_summary_odd),
        cmocka_unit_test(test_summary_even),
        cmocka_unit_test(test_summary_single_and_empty),
        cmocka_unit_test(test_summary_zero_median_noise),
        cmocka_unit_test(test_summary_no_ci_below_three),
        cmocka_unit_test(test_outliers_tukey_far_out),
        cmocka_unit_test(test_bootstrap_ci_narrows),
        cmocka_unit_test(test_bootstrap_ci_calibrated),
        cmocka_unit_test(test_bootstrap_exact_small),
        cmocka_unit_test(test_bootstrap_deterministic),
        cmocka_unit_test(test_summary_no_resamples),
        cmocka_unit_test(test_order_ci_exact),
        cmocka_unit_test(test_order_ci_small_n),
        cmocka_unit_test(test_order_ci_large_n),
        cmocka_unit_test(test_verify_scaled),
        cmocka_unit_test(test_verify_geometry),
        cmocka_unit_test(test_verify_zero_reference),
        cmocka_unit_test(test_verify_nonfinite_fails),
        cmocka_unit_test(test_verify_empty_fails),
        cmocka_unit_test(test_verify_tolerances),
        cmocka_unit_test(test_sample_rows),
        cmocka_unit_test(test_rng_reference_values),
        cmocka_unit_test(test_rng_uniform),
        cmocka_unit_test(test_rng_normal),
        cmocka_unit_test(test_fill_normal_moments),
        cmocka_unit_test(test_fill_thread_independent),
        cmocka_unit_test(test_npy_2d_f32),
        cmocka_unit_test(test_npy_1d_and_descrs),
        cmocka_unit_test(test_npy_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
