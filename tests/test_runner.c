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
#include <math.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness/nvml.h"
#include "harness/runner.h"
#include "harness/runner_checks.h"
#include "harness/runner_child.h"
#include "harness/stats.h"
#include "kernels/selftest/selftest.h"

static double zero_flops(const struct kb_shape *s) { (void)s; return 1.0; }
static double zero_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 1.0; }
static int ok_setup(struct kb_case *c, char *err, size_t len) { (void)c; (void)err; (void)len; return KB_OK; }
static int noop_run(struct kb_case *c) { (void)c; return KB_OK; }
static void noop_teardown(struct kb_case *c) { (void)c; }
static int pass_verify(const struct kb_operands *io, const struct kb_shape *sh, enum kb_dtype t, uint64_t seed,
                       int threads, struct kb_accuracy *a)
{
    (void)io;
    (void)sh;
    (void)t;
    (void)seed;
    (void)threads;
    memset(a, 0, sizeof *a);
    a->cosine = 1;
    a->tolerance = 1e-4;
    a->rows_checked = a->rows_total = 1;
    a->passed = 1;
    return KB_OK;
}
static int fail_verify(const struct kb_operands *io, const struct kb_shape *sh, enum kb_dtype t, uint64_t seed,
                       int threads, struct kb_accuracy *a)
{
    pass_verify(io, sh, t, seed, threads, a);
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
static int counting_verify(const struct kb_operands *io, const struct kb_shape *sh, enum kb_dtype t, uint64_t seed,
                           int threads, struct kb_accuracy *a)
{
    /* the harness must verify after exactly one run, before any timing */
    assert_int_equal(runs_seen, 1);
    return pass_verify(io, sh, t, seed, threads, a);
}

/* The planted kernels have no tensors: an operation each, whose verdict is the planted one. */
static int no_inputs(struct kb_operands *io, struct kb_shape *sh, enum kb_dtype t, uint64_t seed, char *err, size_t len)
{
    (void)io;
    (void)sh;
    (void)t;
    (void)seed;
    (void)err;
    (void)len;
    return KB_OK;
}
#define OPERATION(NAME, VERIFY)                                                                     \
    { .name = NAME, .description = "planted", .family = KB_FAMILY_SELFTEST, .axes = KB_AXES_SELFTEST, \
      .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .flops = zero_flops, .bytes = zero_bytes, .inputs = no_inputs, \
      .verify = VERIFY }
static const struct kb_operation op_pass = OPERATION("test.passes", pass_verify);
static const struct kb_operation op_fail = OPERATION("test.fails", fail_verify);
static const struct kb_operation op_order = OPERATION("test.order", counting_verify);

#define KERNEL(NAME, SETUP, RUN, OP, FOOT)                                                          \
    { .name = NAME, .impl = "test", .description = "planted", .op = OP, .device = KB_DEVICE_CPU,     \
      .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .footprint = FOOT, .setup = SETUP, .run = RUN,          \
      .teardown = noop_teardown }

static const struct kb_kernel k_noop = KERNEL("test.noop", ok_setup, noop_run, &op_pass, NULL);
static const struct kb_kernel k_wrong = KERNEL("test.wrong", ok_setup, noop_run, &op_fail, NULL);
/* crash and hang: the registry's own fault kernels */
#define k_crash kb_selftest_crash
#define k_hang kb_selftest_hang
static const struct kb_kernel k_unsup = KERNEL("test.unsupported", unsupported_setup, noop_run, &op_pass, NULL);
static const struct kb_kernel k_huge = KERNEL("test.huge", ok_setup, noop_run, &op_pass, huge_footprint);
static const struct kb_kernel k_order = KERNEL("test.order", ok_setup, counting_run, &op_order, NULL);

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


/* ---- sampling keeps its promises: synthetic samples and clocks -------------------------------- */

struct fake_take {
    double seconds;  /* per call the sample reports */
    double sleep_s;  /* how long one sample really takes */
    int taken;
};

static int fake_take(void *ctx, double *per_call, char *why, size_t whylen)
{
    (void)why;
    (void)whylen;
    struct fake_take *f = ctx;
    if (f->sleep_s > 0) {
        struct timespec ts = { 0, (long)(f->sleep_s * 1e9) };
        nanosleep(&ts, NULL);
    }
    /* a little spread, so the CI is not degenerate */
    *per_call = f->seconds * (1.0 + 0.001 * (f->taken++ % 7));
    return 0;
}

/* A clock that reads `max` except on the samples `throttle_every` picks (every k-th), which read
 * half of it with the software power cap set; throttle_every 1: every sample throttled. */
struct fake_clock {
    double max;
    int throttle_every;
    int reads;
};

static int fake_clock_read(void *ctx, double *mhz, double *max_mhz, unsigned long long *reasons)
{
    struct fake_clock *c = ctx;
    int low = c->throttle_every > 0 && c->reads++ % c->throttle_every == 0;
    *mhz = low ? c->max / 2 : c->max;
    *max_mhz = c->max;
    *reasons = low ? 0x4 : 0x0; /* sw_power_cap */
    return 0;
}

static struct runner_options sampling_options(void)
{
    struct runner_options o = fast_options();
    o.max_time_s = 1e-4; /* spent after the first sample: only the minimum keeps sampling going */
    o.min_time_s = 0;
    o.min_samples = 10;
    o.noise_target = 1e-9; /* never met */
    return o;
}

/* Before: --min-samples 10 --max-time 0.05 gave n=1 for a slow kernel. */
static void test_min_samples_grow_the_budget(void **state)
{
    (void)state;
    struct runner_options o = sampling_options();
    struct fake_take f = { .seconds = 1e-3, .sleep_s = 1e-3 };
    struct child_result res = { 0 };
    struct sample_series ss;
    runner_adaptive_sampling(&o, fake_take, &f, NULL, &res, &ss);
    assert_int_equal(res.status, CASE_OK);
    assert_int_equal(ss.n, 10);
    assert_int_equal(res.stop, STOP_MAX_TIME);
    assert_null(ss.sm_clock_mhz);
    assert_null(ss.throttled);
    sample_series_free(&ss);
}

static void test_min_samples_cap_keeps_the_samples(void **state)
{
    (void)state;
    struct runner_options o = sampling_options();
    o.min_samples_cap_s = 0.05;
    struct fake_take f = { .seconds = 0.02, .sleep_s = 0.02 }; /* at most 3 samples fit in 0.05 s */
    struct child_result res = { 0 };
    struct sample_series ss;
    runner_adaptive_sampling(&o, fake_take, &f, NULL, &res, &ss);
    assert_int_equal(res.status, CASE_OK);
    assert_true(ss.n >= 1 && ss.n < 10);
    assert_int_equal(res.stop, STOP_MIN_SAMPLES_CAP);
    sample_series_free(&ss);
}

/* The cap never outlasts 3/4 of the case's timeout: the timeout would kill the case and lose all. */
static void test_min_samples_cap_stays_inside_the_timeout(void **state)
{
    (void)state;
    struct runner_options o = sampling_options();
    o.min_samples_cap_s = 100;
    o.timeout_s = 1.0;
    /* 10 samples of 0.1 s need all of the timeout; its share (0.75 s) holds at most 8 */
    struct fake_take f = { .seconds = 0.1, .sleep_s = 0.1 };
    struct child_result res = { .case_start = runner_now() };
    struct sample_series ss;
    runner_adaptive_sampling(&o, fake_take, &f, NULL, &res, &ss);
    assert_int_equal(res.stop, STOP_MIN_SAMPLES_CAP);
    assert_true(ss.n >= 1 && ss.n < 10);
    sample_series_free(&ss);
}

static void test_throttle_threshold(void **state)
{
    (void)state;
    assert_int_equal(runner_sample_throttled(1980, 1980, 0.75), 0);
    assert_int_equal(runner_sample_throttled(1500, 1980, 0.75), 0);
    assert_int_equal(runner_sample_throttled(1400, 1980, 0.75), 1);
    assert_int_equal(runner_sample_throttled(1400, 0, 0.75), -1); /* no maximum: unknown */
    assert_int_equal(runner_sample_throttled(NAN, 1980, 0.75), -1);
}

static void test_throttle_reason_names(void **state)
{
    (void)state;
    char buf[96];
    nvml_throttle_reason_names(0x4 | 0x40, buf, sizeof buf);
    assert_string_equal(buf, "sw_power_cap,hw_thermal_slowdown");
    nvml_throttle_reason_names(0, buf, sizeof buf);
    assert_string_equal(buf, "");
    nvml_throttle_reason_names(0x8 | 0x10000, buf, sizeof buf);
    assert_string_equal(buf, "hw_slowdown,0x10000");
}

/* Throttled samples are stored, marked, set aside from the statistics, and sampling goes on
 * until the minimum of unthrottled ones is reached. */
static void test_throttled_samples_are_set_aside_and_resampled(void **state)
{
    (void)state;
    struct runner_options o = sampling_options();
    struct fake_take f = { .seconds = 1e-4 };
    struct fake_clock clk = { .max = 1980, .throttle_every = 2 }; /* samples 0, 2, 4, ... throttled */
    struct runner_clock rc = { fake_clock_read, &clk };
    struct child_result res = { 0 };
    struct sample_series ss;
    runner_adaptive_sampling(&o, fake_take, &f, &rc, &res, &ss);
    assert_int_equal(res.status, CASE_OK);
    assert_int_equal(res.has_clocks, 1);
    assert_non_null(ss.sm_clock_mhz);
    size_t throttled = 0;
    for (size_t i = 0; i < ss.n; i++) {
        assert_int_equal(ss.throttled[i], i % 2 == 0);
        assert_true(ss.sm_clock_mhz[i] == (i % 2 == 0 ? 990 : 1980));
        throttled += ss.throttled[i] == 1;
    }
    assert_int_equal(ss.n - throttled, 10); /* re-sampled until 10 count */
    assert_string_equal(res.throttle_reason, "sw_power_cap");

    /* the record's statistics leave them out; --include-throttled counts them */
    struct case_record rec = { .status = CASE_OK, .samples = ss.seconds, .sm_clock_mhz = ss.sm_clock_mhz,
                               .throttled = ss.throttled, .n_samples = ss.n, .noise_target = 0.5 };
    runner_summarize(&rec, 0, 1);
    assert_int_equal(rec.stats.n, 10);
    assert_int_equal(rec.set_aside, throttled);
    runner_summarize(&rec, 1, 1);
    assert_int_equal(rec.stats.n, ss.n);
    assert_int_equal(rec.set_aside, 0);
    sample_series_free(&ss);
}

/* A GPU throttled throughout: nothing counts; the case stops at the cap and stays marked. */
static void test_always_throttled_stays_below_minimum(void **state)
{
    (void)state;
    struct runner_options o = sampling_options();
    o.min_samples_cap_s = 0.02;
    struct fake_take f = { .seconds = 1e-4 };
    struct fake_clock clk = { .max = 1980, .throttle_every = 1 };
    struct runner_clock rc = { fake_clock_read, &clk };
    struct child_result res = { 0 };
    struct sample_series ss;
    runner_adaptive_sampling(&o, fake_take, &f, &rc, &res, &ss);
    assert_int_equal(res.stop, STOP_MIN_SAMPLES_CAP);
    assert_true(ss.n >= 1);
    struct case_record rec = { .status = CASE_OK, .samples = ss.seconds, .sm_clock_mhz = ss.sm_clock_mhz,
                               .throttled = ss.throttled, .n_samples = ss.n, .noise_target = 0.01,
                               .min_samples = o.min_samples };
    runner_summarize(&rec, 0, 1);
    assert_int_equal(rec.stats.n, 0);
    assert_int_equal(rec.set_aside, ss.n);
    assert_int_equal(rec.noise_met, 0);
    assert_true(isnan(rec.stats.median)); /* never judged on the throttled samples */
    sample_series_free(&ss);
}

/* Through the case process and its pipe: the minimum, the stop reason and the noise target. */
static void test_run_case_records_sampling(void **state)
{
    (void)state;
    struct plan_case pc = make_case(&k_noop);
    struct runner_options o = fast_options();
    o.max_time_s = 1e-4;
    o.min_time_s = 0;
    o.min_samples = 12;
    o.noise_target = 0.25;
    struct case_record r;
    assert_int_equal(runner_run_case(&pc, &o, &r), 0);
    assert_int_equal(r.status, CASE_OK);
    assert_true(r.stats.n >= 12);
    assert_int_equal(r.min_samples, 12);
    assert_true(r.stop == STOP_MAX_TIME || r.stop == STOP_NOISE || r.stop == STOP_MAX_SAMPLES);
    assert_true(r.noise_target == 0.25);
    assert_int_equal(r.noise_met, isfinite(r.stats.noise) && r.stats.noise <= 0.25);
    assert_null(r.throttled); /* the CPU has no clock to read */
    case_record_release(&r);
}

/* ---- warnings --------------------------------------------------------------------------------- */

struct warnings {
    char text[4096];
    int n;
};

static void collect_warning(void *ctx, const char *line)
{
    struct warnings *w = ctx;
    size_t used = strlen(w->text);
    snprintf(w->text + used, sizeof w->text - used, "%s\n", line);
    w->n++;
}

static void test_case_warnings(void **state)
{
    (void)state;
    /* 40 steady samples and 4 far out */
    double x[44];
    for (int i = 0; i < 40; i++)
        x[i] = 1.0 + 0.001 * (i % 5);
    for (int i = 40; i < 44; i++)
        x[i] = 3.0;
    struct case_record r = { .status = CASE_OK, .samples = x, .n_samples = 44, .noise_target = 0.01,
                             .min_samples = 10, .stop = STOP_NOISE };
    runner_summarize(&r, 0, 1);
    assert_int_equal(r.stats.outliers, 4);
    struct warnings w = { "", 0 };
    runner_warn_case("case A", &r, collect_warning, &w);
    assert_non_null(strstr(w.text, "case A: 4 of 44 samples are outliers"));
    assert_null(strstr(w.text, "CI")); /* a narrow CI says nothing */

    /* a wide CI, and a minimum not reached */
    double y[] = { 1.0, 1.5, 2.0, 1.2 };
    struct case_record q = { .status = CASE_OK, .samples = y, .n_samples = 4, .noise_target = 0.01,
                             .min_samples = 10, .stop = STOP_MIN_SAMPLES_CAP };
    runner_summarize(&q, 0, 1);
    w = (struct warnings){ "", 0 };
    runner_warn_case("case B", &q, collect_warning, &w);
    assert_non_null(strstr(w.text, "case B: 4 of the 10 samples asked for (--min-samples): stopped by --min-samples-cap"));
    assert_non_null(strstr(w.text, "wider than 10%"));

    /* throttled samples set aside */
    struct case_record t = r;
    t.set_aside = 3;
    snprintf(t.throttle_reason, sizeof t.throttle_reason, "hw_slowdown");
    w = (struct warnings){ "", 0 };
    runner_warn_case("case C", &t, collect_warning, &w);
    assert_non_null(strstr(w.text, "case C: 3 samples taken under GPU throttling (hw_slowdown) set aside"));
}

static void test_threads_above_cpus_warned(void **state)
{
    (void)state;
    int cpus = runner_cpus_available();
    assert_true(cpus >= 1);
    struct warnings w = { "", 0 };
    setenv("KBENCH_SYSFS_CPU", "/nonexistent", 1);
    runner_warn_run(cpus, 0, NULL, collect_warning, &w);
    assert_int_equal(w.n, 0);
    runner_warn_run(cpus + 1, 0, NULL, collect_warning, &w);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.text, "threads on"));
    long pids[] = { 1234 };
    w = (struct warnings){ "", 0 };
    runner_warn_run(1, 1, pids, collect_warning, &w);
    assert_non_null(strstr(w.text, "another kbench run is measuring on this host (pid 1234)"));
    unsetenv("KBENCH_SYSFS_CPU");
}

static void write_governor(const char *root, int cpu, const char *gov)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cpu%d", root, cpu);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/cpu%d/cpufreq", root, cpu);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/cpu%d/cpufreq/scaling_governor", root, cpu);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", gov);
    fclose(f);
}

static void test_governor_warned(void **state)
{
    (void)state;
    char root[] = "/tmp/kbench-sysfs-XXXXXX";
    assert_non_null(mkdtemp(root));
    setenv("KBENCH_SYSFS_CPU", root, 1);
    char gov[32];
    int readable;
    assert_int_equal(runner_governor_check(gov, sizeof gov, &readable), -1); /* no cpufreq: nothing to say */
    write_governor(root, 0, "performance");
    write_governor(root, 1, "performance");
    assert_int_equal(runner_governor_check(gov, sizeof gov, &readable), 0);
    assert_int_equal(readable, 2);
    struct warnings w = { "", 0 };
    runner_warn_run(1, 0, NULL, collect_warning, &w);
    assert_int_equal(w.n, 0);
    write_governor(root, 1, "powersave");
    assert_int_equal(runner_governor_check(gov, sizeof gov, &readable), 1);
    assert_string_equal(gov, "powersave");
    runner_warn_run(1, 0, NULL, collect_warning, &w);
    assert_non_null(strstr(w.text, "governor 'powersave' on 1 of 2 CPUs"));
    unsetenv("KBENCH_SYSFS_CPU");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
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
        cmocka_unit_test(test_min_samples_grow_the_budget),
        cmocka_unit_test(test_min_samples_cap_keeps_the_samples),
        cmocka_unit_test(test_min_samples_cap_stays_inside_the_timeout),
        cmocka_unit_test(test_throttle_threshold),
        cmocka_unit_test(test_throttle_reason_names),
        cmocka_unit_test(test_throttled_samples_are_set_aside_and_resampled),
        cmocka_unit_test(test_always_throttled_stays_below_minimum),
        cmocka_unit_test(test_run_case_records_sampling),
        cmocka_unit_test(test_case_warnings),
        cmocka_unit_test(test_threads_above_cpus_warned),
        cmocka_unit_test(test_governor_warned),
        cmocka_unit_test(test_stop_request_interrupts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
