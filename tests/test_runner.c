/* test_runner.c - case isolation and measurement, with kernels planted in this file:
 * a crash, a hang, a wrong answer, an unsupported shape, one too big for memory, and a no-op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness/runner.h"
#include "harness/stats.h"
#include "kernels/selftest/selftest.h"

static double zero_flops(const struct kb_shape *s) { (void)s; return 1.0; }
static double zero_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 1.0; }
static int ok_setup(struct kb_case *c, char *err, size_t len) { (void)c; (void)err; (void)len; return KB_OK; }
static int noop_run(struct kb_case *c) { (void)c; return KB_OK; }
static void noop_teardown(struct kb_case *c) { (void)c; }
static int pass_verify(struct kb_case *c, struct kb_accuracy *a)
{
    (void)c;
    memset(a, 0, sizeof *a);
    a->cosine = 1;
    a->tolerance = 1e-4;
    a->rows_checked = a->rows_total = 1;
    a->passed = 1;
    return KB_OK;
}
static int fail_verify(struct kb_case *c, struct kb_accuracy *a)
{
    pass_verify(c, a);
    a->rel_l2_err = 0.5;
    a->max_abs_err = 3;
    a->passed = 0;
    return KB_OK;
}
static int unsupported_setup(struct kb_case *c, char *err, size_t len)
{
    (void)c;
    snprintf(err, len, "head_dim %d not supported", c->shape.head_dim);
    return KB_UNSUPPORTED;
}
static double huge_footprint(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 1e18; }
static int runs_seen;
static int counting_run(struct kb_case *c) { (void)c; runs_seen++; return KB_OK; }
static int counting_verify(struct kb_case *c, struct kb_accuracy *a)
{
    /* the harness must verify after exactly one run, before any timing */
    assert_int_equal(runs_seen, 1);
    return pass_verify(c, a);
}

#define KERNEL(NAME, SETUP, RUN, VERIFY, FOOT)                                                     \
    { .name = NAME, .impl = "test", .description = "planted", .family = KB_FAMILY_SELFTEST,          \
      .device = KB_DEVICE_CPU, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .flops = zero_flops,           \
      .bytes = zero_bytes, .footprint = FOOT, .setup = SETUP, .run = RUN, .verify = VERIFY,          \
      .teardown = noop_teardown }

static const struct kb_kernel k_noop = KERNEL("test.noop", ok_setup, noop_run, pass_verify, NULL);
static const struct kb_kernel k_wrong = KERNEL("test.wrong", ok_setup, noop_run, fail_verify, NULL);
/* crash and hang: the registry's own fault kernels */
#define k_crash kb_selftest_crash
#define k_hang kb_selftest_hang
static const struct kb_kernel k_unsup = KERNEL("test.unsupported", unsupported_setup, noop_run, pass_verify, NULL);
static const struct kb_kernel k_huge = KERNEL("test.huge", ok_setup, noop_run, pass_verify, huge_footprint);
static const struct kb_kernel k_order = KERNEL("test.order", ok_setup, counting_run, counting_verify, NULL);

static struct plan_case make_case(const struct kb_kernel *k)
{
    struct plan_case pc;
    memset(&pc, 0, sizeof pc);
    pc.kernel = k;
    strcpy(pc.device, "cpu");
    pc.dtype = KB_DTYPE_F32;
    pc.shape = (struct kb_shape){ .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 16, .head_dim = 8 };
    pc.threads = 1;
    pc.seed = 42;
    return pc;
}

static struct runner_options fast_options(void)
{
    struct runner_options o;
    runner_options_default(&o);
    o.max_time_s = 0.2;
    o.min_time_s = 0.01;
    o.warmup_s = 0.001;
    o.timeout_s = 5;
    o.papi_events = "";
    return o;
}

static void test_noop_is_sampled_and_batched(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_noop);
    struct runner_options o = fast_options();
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_OK);
    assert_true(r.verified);
    assert_true(r.n_samples >= (size_t)o.min_samples);
    assert_true(r.calls_per_sample > 1);   /* a no-op is far below the 20 us sample floor */
    assert_int_equal(r.stats.n, r.n_samples);
    assert_true(r.stats.median > 0 && r.stats.median < 1e-5);
    assert_true(r.stats.ci_lo <= r.stats.median && r.stats.median <= r.stats.ci_hi);
    /* rusage figures are always recorded */
    int saw_rusage = 0;
    for (int i = 0; i < r.counters.n; i++)
        saw_rusage |= strcmp(r.counters.v[i].backend, "rusage") == 0;
    assert_true(saw_rusage);
    case_record_release(&r);
}

static void test_stopping_rule(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_noop);
    struct runner_options o = fast_options();
    o.min_sample_s = 50e-6;
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_OK);
    /* Sampling stopped early only if the median's CI met the target. */
    if (r.n_samples < (size_t)o.max_samples && r.wall_s < o.max_time_s) {
        double *sorted = malloc(r.n_samples * sizeof *sorted), lo, hi;
        stats_sorted_copy(r.samples, r.n_samples, sorted);
        stats_median_ci_order(sorted, r.n_samples, 0.95, &lo, &hi);
        double med = stats_quantile_sorted(sorted, r.n_samples, 0.5);
        assert_true((hi - lo) / 2 / med <= o.noise_target);
        free(sorted);
    }
    /* a hard sample cap is respected */
    o.max_samples = 12;
    o.min_samples = 10;
    o.noise_target = 1e-5;
    case_record_release(&r);
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_true(r.n_samples <= 12);
    case_record_release(&r);
}

static void test_cold_cache_never_batches(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_noop);
    pc.cold_cache = 1;
    struct runner_options o = fast_options();
    o.max_samples = 20;
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_OK);
    assert_int_equal(r.calls_per_sample, 1);
    assert_true(r.cold_cache);
    case_record_release(&r);
}

static void test_wrong_answer_is_not_timed(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_wrong);
    struct runner_options o = fast_options();
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_VERIFY_FAILED);
    assert_int_equal(r.n_samples, 0);
    assert_true(r.verified);
    assert_false(r.accuracy.passed);
    assert_non_null(strstr(r.error, "wrong answer"));
    case_record_release(&r);
}

static void test_verify_before_timing(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_order);
    struct runner_options o = fast_options();
    o.isolate = 0; /* in process, so the assertion inside verify reaches cmocka */
    struct case_record r;
    runs_seen = 0;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_OK);
    assert_true(runs_seen > 1);
    case_record_release(&r);
}

static void test_crash_is_contained(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_crash);
    struct runner_options o = fast_options();
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_CRASHED);
    assert_non_null(strstr(r.error, "signal 11"));
    /* and the next case runs normally */
    pc = make_case(&k_noop);
    case_record_release(&r);
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_OK);
    case_record_release(&r);
}

static void test_hang_is_killed(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_hang);
    struct runner_options o = fast_options();
    o.timeout_s = 0.5;
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_TIMEOUT);
    assert_true(r.wall_s >= 0.5 && r.wall_s < 5);
    assert_non_null(strstr(r.error, "time limit"));
    case_record_release(&r);
}

static void test_unsupported_and_too_big_are_skipped(void **state)
{
    (void)state;
    struct runner_options o = fast_options();
    struct case_record r;
    struct plan_case pc = make_case(&k_unsup);
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_SKIPPED);
    assert_non_null(strstr(r.error, "head_dim 8"));
    case_record_release(&r);
    pc = make_case(&k_huge);
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_SKIPPED);
    assert_non_null(strstr(r.error, "GiB free"));
    case_record_release(&r);
}

static void on_alarm(int sig)
{
    (void)sig;
    runner_request_stop();
}

/* Last: the stop request is process-wide and stays set. */
static void test_stop_request_interrupts(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_hang);
    struct runner_options o = fast_options();
    o.timeout_s = 30;
    signal(SIGALRM, on_alarm);
    struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = 300000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_INTERRUPTED);
    assert_true(r.wall_s < 5);
    assert_true(runner_stop_requested());
    case_record_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noop_is_sampled_and_batched),
        cmocka_unit_test(test_stopping_rule),
        cmocka_unit_test(test_cold_cache_never_batches),
        cmocka_unit_test(test_wrong_answer_is_not_timed),
        cmocka_unit_test(test_verify_before_timing),
        cmocka_unit_test(test_crash_is_contained),
        cmocka_unit_test(test_hang_is_killed),
        cmocka_unit_test(test_unsupported_and_too_big_are_skipped),
        cmocka_unit_test(test_stop_request_interrupts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
