/* test_regress.c - the statistics of regression verdicts (regress.h): the Mann-Whitney U test
 * (exact and normal-approximation p-values), the bootstrap CI of a ratio of medians, and the
 * change-point segmentation. Expected p-values were computed offline in Python, independently
 * of this code: exact ones by enumerating every split of the pooled values (itertools +
 * fractions), the tied one from the textbook normal approximation with tie and continuity
 * corrections (math.erfc), as each test says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "harness/regress.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define assert_near(got, want, eps) check_near((got), (want), (eps), #got, __FILE__, __LINE__)
static void check_near(double got, double want, double eps, const char *what, const char *file, int line)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("%s:%d: %s = %.17g, expected %.17g (within %g)", file, line, what, got, want, eps);
}

/* ---- Mann-Whitney ------------------------------------------------------------------------------ */

/* Every candidate value above every base value: U = 5·5 = 25, and only 1 of C(10,5) = 252 splits
 * is that extreme, so p = 1/252 exactly. */
static void test_mw_exact_separated(void **state)
{
    (void)state;
    const double base[] = { 3, 1, 5, 2, 4 }, cand[] = { 8, 6, 10, 7, 9 };
    struct mann_whitney mw;
    assert_int_equal(regress_mann_whitney(base, 5, cand, 5, &mw), 0);
    assert_true(mw.exact);
    assert_near(mw.u, 25, 0);
    assert_near(mw.p_greater, 1.0 / 252, 1e-15);
    assert_near(mw.p_less, 1.0, 1e-15);
    assert_near(mw.p_two_sided, 2.0 / 252, 1e-15);
    /* swapped: the mirror image */
    assert_int_equal(regress_mann_whitney(cand, 5, base, 5, &mw), 0);
    assert_near(mw.u, 0, 0);
    assert_near(mw.p_less, 1.0 / 252, 1e-15);
}

/* Interleaved samples of unequal size: U = 16, P(U >= 16) = 2/21 and P(U <= 16) = 17/18 by
 * enumeration of the 126 splits. */
static void test_mw_exact_interleaved(void **state)
{
    (void)state;
    const double base[] = { 1.1, 2.3, 3.5, 5.0 }, cand[] = { 2.0, 4.1, 6.2, 7.3, 8.4 };
    struct mann_whitney mw;
    assert_int_equal(regress_mann_whitney(base, 4, cand, 5, &mw), 0);
    assert_true(mw.exact);
    assert_near(mw.u, 16, 0);
    assert_near(mw.p_greater, 2.0 / 21, 1e-14);
    assert_near(mw.p_less, 17.0 / 18, 1e-14);
}

/* Ties force the normal approximation: U = 40.5, tie term sum(t^3 - t) over the pooled values,
 * continuity correction 0.5. Python: 0.5*erfc((u-mu-0.5)/sqrt(var)/sqrt(2)) = 0.02152571636447259. */
static void test_mw_ties_normal(void **state)
{
    (void)state;
    const double base[] = { 1, 2, 2, 3, 3, 3, 4 }, cand[] = { 3, 4, 4, 5, 5, 6, 2 };
    struct mann_whitney mw;
    assert_int_equal(regress_mann_whitney(base, 7, cand, 7, &mw), 0);
    assert_false(mw.exact);
    assert_near(mw.u, 40.5, 0);
    assert_near(mw.p_greater, 0.02152571636447259, 1e-12);
    assert_near(mw.p_less, 0.9843697313699247, 1e-12);
}

/* Large samples: a 1% shift in 2000 samples is overwhelming, no shift is not. */
static void test_mw_large(void **state)
{
    (void)state;
    enum { N = 2000 };
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *c = malloc(N * sizeof *c);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(x >> 11) / 9007199254740992.0;
        a[i] = 100 + u;                 /* uniform on [100, 101) */
        b[i] = 100 + (double)(i % 997) / 997.0;
        c[i] = (100 + u) * 1.01;
    }
    struct mann_whitney mw;
    assert_int_equal(regress_mann_whitney(a, N, c, N, &mw), 0);
    assert_false(mw.exact);
    assert_true(mw.p_greater < 1e-12);
    assert_int_equal(regress_mann_whitney(a, N, b, N, &mw), 0);
    assert_true(mw.p_greater > 0.001 && mw.p_less > 0.001);
    free(a);
    free(b);
    free(c);
}

static void test_mw_rejects(void **state)
{
    (void)state;
    const double ok[] = { 1, 2 }, bad[] = { 1, NAN };
    struct mann_whitney mw;
    assert_int_equal(regress_mann_whitney(ok, 0, ok, 2, &mw), -1);
    assert_int_equal(regress_mann_whitney(ok, 2, bad, 2, &mw), -1);
    /* all equal: no evidence either way */
    const double same[] = { 5, 5, 5 };
    assert_int_equal(regress_mann_whitney(same, 3, same, 3, &mw), 0);
    assert_near(mw.p_greater, 1, 0);
    assert_near(mw.p_less, 1, 0);
}

/* ---- bootstrap ratio ----------------------------------------------------------------------------- */

static void test_ratio_constant(void **state)
{
    (void)state;
    double base[50], cand[50];
    for (int i = 0; i < 50; i++) {
        base[i] = 2.0;
        cand[i] = 2.2;
    }
    double r, lo, hi;
    assert_int_equal(regress_ratio_ci(base, 50, cand, 50, 1000, 1, 0.99, &r, &lo, &hi), 0);
    assert_near(r, 1.1, 1e-12);
    assert_near(lo, 1.1, 1e-12);
    assert_near(hi, 1.1, 1e-12);
}

static void test_ratio_covers_and_repeats(void **state)
{
    (void)state;
    enum { N = 301 };
    double base[N], cand[N];
    uint64_t x = 99;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        base[i] = 1.0 + 0.05 * (double)(x >> 11) / 9007199254740992.0;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        cand[i] = 1.1 * (1.0 + 0.05 * (double)(x >> 11) / 9007199254740992.0);
    }
    double r, lo, hi, r2, lo2, hi2;
    assert_int_equal(regress_ratio_ci(base, N, cand, N, 2000, 7, 0.99, &r, &lo, &hi), 0);
    assert_true(lo <= r && r <= hi);
    assert_true(lo < 1.1 && 1.1 < hi);  /* the true ratio of the distributions' medians */
    assert_true(lo > 1.08 && hi < 1.12);
    /* same seed, same interval: verdicts are reproducible */
    assert_int_equal(regress_ratio_ci(base, N, cand, N, 2000, 7, 0.99, &r2, &lo2, &hi2), 0);
    assert_true(r == r2 && lo == lo2 && hi == hi2);
    /* a wider level gives a wider interval */
    assert_int_equal(regress_ratio_ci(base, N, cand, N, 2000, 7, 0.5, &r2, &lo2, &hi2), 0);
    assert_true(lo2 >= lo && hi2 <= hi && (lo2 > lo || hi2 < hi));
    const double zero[] = { 0, 0, 0 };
    assert_int_equal(regress_ratio_ci(zero, 3, cand, 3, 200, 1, 0.99, &r, &lo, &hi), -1);
}

/* ---- change points ------------------------------------------------------------------------------- */

/* Deterministic noise: uniform on [-1, 1) × amplitude. */
static double noise(uint64_t *x, double amplitude)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return amplitude * (2.0 * (double)(*x >> 11) / 9007199254740992.0 - 1.0);
}

static void test_segments_step(void **state)
{
    (void)state;
    double x[30];
    uint64_t r = 3;
    for (int i = 0; i < 30; i++)
        x[i] = (i < 18 ? 100 : 110) + noise(&r, 0.5);
    struct regress_segment s[30];
    double sigma;
    int n = regress_segments(x, 30, 0.1, s, 30, &sigma);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].start, 0);
    assert_int_equal(s[1].start, 18);   /* the run where the step happened */
    assert_int_equal(s[1].end, 30);
    assert_false(s[0].trend);
    assert_false(s[1].trend);
    assert_near(s[0].first, 100, 0.5);
    assert_near(s[1].first, 110, 0.5);
    assert_true(sigma > 0.1 && sigma < 1.0); /* the noise, not inflated by the step */
}

/* Flat, then a slow drift of +0.5 per run from run 12: a trend, not a step, beginning at 12. */
static void test_segments_drift(void **state)
{
    (void)state;
    double x[30];
    uint64_t r = 5;
    for (int i = 0; i < 30; i++)
        x[i] = 100 + (i >= 12 ? 0.5 * (i - 12) : 0) + noise(&r, 0.2);
    struct regress_segment s[30];
    int n = regress_segments(x, 30, 0.05, s, 30, NULL);
    assert_int_equal(n, 2);
    assert_false(s[0].trend);
    assert_true(s[1].trend);
    assert_true(s[1].start >= 11 && s[1].start <= 13);
    assert_near(s[1].slope, 0.5, 0.05);
    assert_near(s[1].first - s[0].last, 0, 0.6); /* no jump where the drift begins */
}

/* Noise only: across 200 series of 25 points no change is found in at least 95% of them. */
static void test_segments_noise(void **state)
{
    (void)state;
    uint64_t r = 11;
    int false_changes = 0;
    for (int k = 0; k < 200; k++) {
        double x[25];
        for (int i = 0; i < 25; i++)
            x[i] = 50 + noise(&r, 1.0);
        struct regress_segment s[25];
        int n = regress_segments(x, 25, 0.01, s, 25, NULL);
        assert_true(n >= 1);
        false_changes += n > 1 || s[0].trend;
    }
    print_message("# false changes in 200 noise-only series: %d\n", false_changes);
    assert_true(false_changes <= 10);
}

static void test_segments_edges(void **state)
{
    (void)state;
    struct regress_segment s[4];
    const double one[] = { 3 };
    assert_int_equal(regress_segments(one, 1, 0, s, 4, NULL), 1);
    assert_near(s[0].first, 3, 0);
    const double flat[] = { 2, 2, 2, 2 };
    assert_int_equal(regress_segments(flat, 4, 0, s, 4, NULL), 1);
    const double bad[] = { 1, NAN };
    assert_int_equal(regress_segments(bad, 2, 0, s, 4, NULL), -1);
    assert_int_equal(regress_segments(flat, 0, 0, s, 4, NULL), -1);
    /* a change smaller than the floor is noise */
    const double small[] = { 100, 100, 100, 100, 100.2, 100.2, 100.2, 100.2 };
    assert_int_equal(regress_segments(small, 8, 1.0, s, 4, NULL), 1);
    assert_int_equal(regress_segments(small, 8, 0.01, s, 4, NULL), 2);
    assert_int_equal(s[1].start, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mw_exact_separated),
        cmocka_unit_test(test_mw_exact_interleaved),
        cmocka_unit_test(test_mw_ties_normal),
        cmocka_unit_test(test_mw_large),
        cmocka_unit_test(test_mw_rejects),
        cmocka_unit_test(test_ratio_constant),
        cmocka_unit_test(test_ratio_covers_and_repeats),
        cmocka_unit_test(test_segments_step),
        cmocka_unit_test(test_segments_drift),
        cmocka_unit_test(test_segments_noise),
        cmocka_unit_test(test_segments_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
