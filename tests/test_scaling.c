/* test_scaling.c - the scaling exponent fit and crossovers (reports/scaling.h) on synthetic
 * series whose exponent and crossing point are known by construction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "reports/scaling.h"

#define assert_near(got, want, eps) check_near((got), (want), (eps), #got, __FILE__, __LINE__)
static void check_near(double got, double want, double eps, const char *what, const char *file,
                       int line)
{
    if (!(fabs(got - want) <= eps))
        _fail(file, line), print_error("%s = %.6g, wanted %.6g +- %.3g\n", what, got, want, eps);
    (void)what;
}

/* Multiplicative noise, log-normal with the given sigma, from a fixed-seed generator. */
static double noise(unsigned *state, double sigma)
{
    double u1 = (rand_r(state) + 1.0) / (RAND_MAX + 2.0);
    double u2 = (rand_r(state) + 1.0) / (RAND_MAX + 2.0);
    return exp(sigma * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}

static void series(double c, double p, double sigma, unsigned seed, double *n, double *t, int count)
{
    unsigned state = seed;
    for (int i = 0; i < count; i++) {
        n[i] = 512.0 * pow(2, i);
        t[i] = c * pow(n[i], p) * noise(&state, sigma);
    }
}

static void fits_known_exponents_with_noise(void **unused)
{
    (void)unused;
    double n[8], t[8];
    for (unsigned seed = 1; seed <= 20; seed++) {
        for (int k = 1; k <= 2; k++) {
            struct scaling_fit f;
            series(3e-9, k, 0.05, seed * 7 + (unsigned)k, n, t, 8);
            assert_int_equal(scaling_fit(n, t, 8, &f), 0);
            assert_int_equal(f.points, 8);
            assert_near(f.exponent, k, 0.05);
            assert_true(f.exponent_lo < f.exponent && f.exponent < f.exponent_hi);
            assert_true(f.r2 > 0.99);
        }
    }
}

static void confidence_interval_covers_the_truth(void **unused)
{
    (void)unused;
    /* A 95% interval should miss the true exponent about 5 times in 100. */
    int misses = 0;
    double n[6], t[6];
    for (unsigned seed = 1; seed <= 200; seed++) {
        struct scaling_fit f;
        series(1e-6, 1.5, 0.2, seed, n, t, 6);
        assert_int_equal(scaling_fit(n, t, 6, &f), 0);
        misses += !(f.exponent_lo <= 1.5 && 1.5 <= f.exponent_hi);
    }
    assert_in_range(misses, 1, 25);
}

static void exact_power_law_and_degenerate_input(void **unused)
{
    (void)unused;
    double n[] = { 100, 1000, 10000 }, t[] = { 2e-4, 2e-2, 2.0 };
    struct scaling_fit f;
    assert_int_equal(scaling_fit(n, t, 3, &f), 0);
    assert_near(f.exponent, 2.0, 1e-12);
    assert_near(scaling_predict(&f, 300), 2e-8 * 300 * 300, 1e-12);
    /* Unusable points are skipped; one N only is no fit. */
    double n2[] = { 100, 0, 100, -5 }, t2[] = { 1, 1, 2, 1 };
    assert_int_equal(scaling_fit(n2, t2, 4, &f), -1);
    double n3[] = { 100, 200, 400 }, t3[] = { 1, NAN, 4 };
    assert_int_equal(scaling_fit(n3, t3, 3, &f), 0);
    assert_int_equal(f.points, 2);
    assert_true(isnan(f.exponent_lo));
}

static void crossovers_measured_and_fitted(void **unused)
{
    (void)unused;
    /* quadratic a = 1e-9 N^2, linear b = 1e-5 N: equal at N = 1e4. */
    double n[8], ta[8], tb[8];
    for (int i = 0; i < 8; i++) {
        n[i] = 1000.0 * pow(2, i);
        ta[i] = 1e-9 * n[i] * n[i];
        tb[i] = 1e-5 * n[i];
    }
    double x[4];
    int after = 0;
    assert_int_equal(scaling_crossovers(n, ta, 8, n, tb, 8, x, 4, &after), 1);
    assert_near(x[0], 1e4, 1e-6 * 1e4);
    assert_int_equal(after, 1);
    struct scaling_fit fa, fb;
    assert_int_equal(scaling_fit(n, ta, 8, &fa), 0);
    assert_int_equal(scaling_fit(n, tb, 8, &fb), 0);
    assert_near(scaling_crossover_fit(&fa, &fb), 1e4, 1e-3);
    /* Parallel lines never meet; b always slower: no measured crossover. */
    assert_true(isnan(scaling_crossover_fit(&fa, &fa)));
    for (int i = 0; i < 8; i++)
        tb[i] = 2 * ta[i];
    assert_int_equal(scaling_crossovers(n, ta, 8, n, tb, 8, x, 4, &after), 0);
    assert_int_equal(after, 0);
    /* Only the N both series share count, whatever their order. */
    double nb[] = { 8000, 2000, 3000 }, tb2[] = { 1e-9 * 8000 * 8000 / 2, 1e-9 * 2000 * 2000 * 2, 5 };
    assert_int_equal(scaling_crossovers(n, ta, 8, nb, tb2, 3, x, 4, &after), 1);
    assert_true(x[0] > 2000 && x[0] < 8000);
    assert_int_equal(after, 1);
}

/* A crossover of the fitted lines is drawn only from fits of 3 or more points, and one outside
 * the lengths both series measured says it is extrapolated. */
static void crossover_judged(void **unused)
{
    (void)unused;
    double n[8], ta[8], tb[8], x;
    for (int i = 0; i < 8; i++) { /* meet at N = 1e4, inside 1000 .. 128000 */
        n[i] = 1000.0 * pow(2, i);
        ta[i] = 1e-9 * n[i] * n[i];
        tb[i] = 1e-5 * n[i];
    }
    struct scaling_fit fa, fb;
    char text[128];
    assert_int_equal(scaling_fit(n, ta, 8, &fa), 0);
    assert_int_equal(scaling_fit(n, tb, 8, &fb), 0);
    assert_int_equal(scaling_crossover_judge(&fa, &fb, &x), SCALING_MEET_INSIDE);
    assert_near(x, 1e4, 1e-3);
    scaling_crossover_text(&fa, &fb, text, sizeof text);
    assert_string_equal(text, "10000");
    /* three points, 1000 .. 4000: the lines meet beyond them */
    assert_int_equal(scaling_fit(n, ta, 3, &fa), 0);
    assert_int_equal(scaling_fit(n, tb, 3, &fb), 0);
    assert_int_equal(scaling_crossover_judge(&fa, &fb, &x), SCALING_MEET_EXTRAPOLATED);
    assert_near(x, 1e4, 1e-3);
    scaling_crossover_text(&fa, &fb, text, sizeof text);
    assert_string_equal(text, "10000 (extrapolated; measured 1000 to 4000)");
    /* two points: any two lines meet somewhere; nothing is drawn */
    assert_int_equal(scaling_fit(n, ta, 2, &fa), 0);
    assert_int_equal(scaling_crossover_judge(&fa, &fb, &x), SCALING_MEET_TOO_FEW);
    assert_true(isnan(x));
    scaling_crossover_text(&fa, &fb, text, sizeof text);
    assert_string_equal(text, "none (2-point fit)");
}

static void student_t_quantiles(void **unused)
{
    (void)unused;
    /* scipy.stats.t.ppf(0.975, df) for df = 1, 10, 40, 120. */
    assert_near(scaling_t95(1), 12.706, 1e-3);
    assert_near(scaling_t95(10), 2.228, 1e-3);
    assert_near(scaling_t95(40), 2.021, 1e-3);
    assert_near(scaling_t95(120), 1.980, 1e-3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fits_known_exponents_with_noise),
        cmocka_unit_test(confidence_interval_covers_the_truth),
        cmocka_unit_test(exact_power_law_and_degenerate_input),
        cmocka_unit_test(crossovers_measured_and_fitted),
        cmocka_unit_test(crossover_judged),
        cmocka_unit_test(student_t_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
