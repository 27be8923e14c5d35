/* test_tui_compare.c - the dashboard's compare rule (tui/compare.h): which cases pair up, and
 * the verdict on each pair, on rows built to sit either side of each threshold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/compare.h"

static struct result_row timed_case(const char *kernel, int seq, double median, double half_ci)
{
    struct result_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.kernel, sizeof r.kernel, "%s", kernel);
    snprintf(r.impl, sizeof r.impl, "cpu");
    snprintf(r.device, sizeof r.device, "cpu");
    snprintf(r.dtype, sizeof r.dtype, "f32");
    snprintf(r.status, sizeof r.status, "ok");
    r.shape = (struct kb_shape){ 1, 8, 8, seq, 64, 0 };
    r.threads = 1;
    r.stats.median = median;
    r.stats.ci_lo = median - half_ci;
    r.stats.ci_hi = median + half_ci;
    return r;
}

static void verdicts_follow_ratio_and_interval_overlap(void **unused)
{
    (void)unused;
    double ratio;
    struct result_row base = timed_case("attention.flash", 1024, 1.0, 0.01);
    struct result_row slower = timed_case("attention.flash", 1024, 1.10, 0.01);
    assert_int_equal(compare_judge(&base, &slower, &ratio), CMP_SLOWER);
    assert_true(fabs(ratio - 1.10) < 1e-12);
    /* 10% slower but intervals overlap: not significant */
    struct result_row noisy = timed_case("attention.flash", 1024, 1.10, 0.2);
    assert_int_equal(compare_judge(&base, &noisy, &ratio), CMP_SAME);
    /* intervals apart but within 5% */
    struct result_row small = timed_case("attention.flash", 1024, 1.04, 0.001);
    base.stats.ci_lo = 0.999, base.stats.ci_hi = 1.001;
    assert_int_equal(compare_judge(&base, &small, &ratio), CMP_SAME);
    struct result_row faster = timed_case("attention.flash", 1024, 0.80, 0.01);
    assert_int_equal(compare_judge(&base, &faster, &ratio), CMP_FASTER);
    struct result_row broken = faster;
    snprintf(broken.status, sizeof broken.status, "crashed");
    assert_int_equal(compare_judge(&base, &broken, &ratio), CMP_FAILED);
    assert_true(isnan(ratio));
}

static void cases_pair_by_identity_and_leftovers_are_reported(void **unused)
{
    (void)unused;
    struct result_row base[3] = { timed_case("attention.flash", 512, 1, 0.01), timed_case("attention.flash", 1024, 4, 0.01),
                                  timed_case("attention.linear", 512, 1, 0.01) };
    struct result_row cand[3] = { timed_case("attention.flash", 1024, 5, 0.01), timed_case("attention.flash", 512, 1, 0.01),
                                  timed_case("attention.flash", 2048, 9, 0.01) };
    cand[1].threads = 2; /* another thread count is another case */
    struct compare_row *rows;
    long n = compare_match(base, 3, cand, 3, &rows);
    assert_int_equal(n, 5);
    assert_int_equal(rows[0].verdict, CMP_SLOWER);
    assert_int_equal(rows[0].base.shape.seq_len, 1024);
    assert_int_equal(rows[1].verdict, CMP_ONLY_CAND);
    assert_int_equal(rows[2].verdict, CMP_ONLY_CAND);
    struct compare_summary sum;
    compare_summarize(rows, n, &sum);
    assert_int_equal(sum.matched, 1);
    assert_int_equal(sum.slower, 1);
    assert_int_equal(sum.only_cand, 2);
    assert_int_equal(sum.only_base, 2);
    assert_true(fabs(sum.geomean_ratio - 1.25) < 1e-12);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verdicts_follow_ratio_and_interval_overlap),
        cmocka_unit_test(cases_pair_by_identity_and_leftovers_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
