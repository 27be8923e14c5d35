/* test_claims.c - claim files and the verdict logic (reports/claims.h), on synthetic results
 * whose verdict is known: a clear speed-up, a partial one, one within noise, a crossover, a flat
 * and a non-flat series, an accuracy bound, and claims that cannot be tested. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/plan.h"
#include "reports/claims.h"

static char err[1024];

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/kbench-test-claim-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static struct claim load_text(const char *text)
{
    struct claim c;
    const char *path = write_tmp(text);
    int rc = claim_load(path, &c, err, sizeof err);
    unlink(path);
    if (rc != 0)
        fail_msg("claim_load: %s", err);
    return c;
}

/* A measured case: median t with a +-noise confidence interval. */
static struct result_row row(const char *kernel, const char *impl, int n, double t, double noise)
{
    struct result_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.kernel, sizeof r.kernel, "%s", kernel);
    snprintf(r.impl, sizeof r.impl, "%s", impl);
    snprintf(r.device, sizeof r.device, "cpu");
    snprintf(r.dtype, sizeof r.dtype, "f32");
    snprintf(r.status, sizeof r.status, "ok");
    r.shape = (struct kb_shape){ .batch = 1, .heads = 8, .kv_heads = 8, .seq_len = n, .head_dim = 64 };
    r.stats.median = t;
    r.stats.n = 20;
    r.stats.ci_lo = t * (1 - noise);
    r.stats.ci_hi = t * (1 + noise);
    r.cosine = 0.99999;
    return r;
}

#define SPEEDUP_CLAIM(value, extra) \
    "id = t\npaper = P\nquote = Q\nmetric = speedup\ncandidate = attention.flash\n" \
    "baseline = attention.reference\npaper_value = " value "\n" extra "[run]\nseq = 1k\n"

static void speedup_verdicts(void **unused)
{
    (void)unused;
    struct claim c = load_text(SPEEDUP_CLAIM("4", ""));
    struct claim_result res;
    struct result_row rows[4];
    rows[0] = row("attention.reference", "cpu.f64", 1024, 10.0, 0.01);
    rows[1] = row("attention.flash", "cpu", 1024, 2.0, 0.01);
    claim_evaluate(&c, rows, 2, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);          /* 5x against a claimed 4x */
    assert_true(fabs(res.measured - 5.0) < 1e-9);
    assert_true(res.ci_lo < 5.0 && res.ci_hi > 5.0);
    rows[1] = row("attention.flash", "cpu", 1024, 3.3, 0.01);
    c = load_text(SPEEDUP_CLAIM("5", ""));
    claim_evaluate(&c, rows, 2, &res);
    assert_int_equal(res.verdict, CLAIM_PARTLY);         /* 3x: faster, not 5x */
    rows[1] = row("attention.flash", "cpu", 1024, 9.9, 0.06);
    claim_evaluate(&c, rows, 2, &res);
    assert_int_equal(res.verdict, CLAIM_FAILS);          /* 1.01x within +-6% noise */
    assert_non_null(strstr(res.reason, "no significant"));
    rows[1] = row("attention.flash", "cpu", 1024, 20.0, 0.01);
    claim_evaluate(&c, rows, 2, &res);
    assert_int_equal(res.verdict, CLAIM_FAILS);
    assert_non_null(strstr(res.reason, "slower"));
    /* one sample each: 2% slower is within the assumed +-5%, not "slower" */
    rows[1] = row("attention.flash", "cpu", 1024, 10.2, 0.0);
    rows[0].stats.n = rows[1].stats.n = 1;
    rows[0].stats.ci_lo = rows[0].stats.ci_hi = 10.0;
    claim_evaluate(&c, rows, 2, &res);
    assert_int_equal(res.verdict, CLAIM_FAILS);
    assert_non_null(strstr(res.reason, "no significant"));
    assert_non_null(strstr(res.measured_text, "assumed"));
    rows[0] = row("attention.reference", "cpu.f64", 1024, 10.0, 0.01);
    /* the largest shared size decides, not the first */
    rows[0] = row("attention.reference", "cpu.f64", 1024, 10.0, 0.01);
    rows[1] = row("attention.flash", "cpu", 1024, 20.0, 0.01);
    rows[2] = row("attention.reference", "cpu.f64", 4096, 100.0, 0.01);
    rows[3] = row("attention.flash", "cpu", 4096, 10.0, 0.01);
    claim_evaluate(&c, rows, 4, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);
    assert_non_null(strstr(res.measured_text, "4096"));
    /* an accuracy bound the speed needs: fast but inaccurate is only partly */
    c = load_text(SPEEDUP_CLAIM("4", "min_cosine = 0.9999999\n"));
    claim_evaluate(&c, rows, 4, &res);
    assert_int_equal(res.verdict, CLAIM_PARTLY);
    assert_non_null(strstr(res.reason, "cosine"));
}

static void untestable_claims(void **unused)
{
    (void)unused;
    struct claim_result res;
    struct result_row rows[2];
    rows[0] = row("attention.reference", "cpu.f64", 1024, 10.0, 0.01);
    rows[1] = row("attention.flash", "cpu", 1024, 2.0, 0.01);
    struct claim c = load_text("id = t\npaper = P\nquote = Q\nmetric = speedup\ncandidate = attention.quantum\n"
                               "baseline = attention.flash\npaper_value = 2\n");
    claim_evaluate(&c, rows, 2, &res);
    assert_int_equal(res.verdict, CLAIM_UNTESTABLE);
    assert_non_null(strstr(res.reason, "attention.quantum"));
    char missing[128];
    claim_missing_kernels(&c, missing, sizeof missing);
    assert_string_equal(missing, "attention.quantum");
    /* a candidate whose cases all failed */
    c = load_text(SPEEDUP_CLAIM("4", ""));
    snprintf(rows[1].status, sizeof rows[1].status, "skipped");
    snprintf(rows[1].error, sizeof rows[1].error, "needs 300 GiB, 20 GiB free");
    claim_evaluate(&c, rows, 2, &res);
    assert_int_equal(res.verdict, CLAIM_UNTESTABLE);
    assert_non_null(strstr(res.reason, "needs 300 GiB"));
    /* an alternative pattern that matches nothing here is dropped from the sweep, not fatal */
    c = load_text("id = t\npaper = P\nquote = Q\nmetric = flat\ncandidate = attention.flash@cpu,attention.flash@cuda.none\n"
                  "paper_value = 0\n");
    claim_missing_kernels(&c, missing, sizeof missing);
    assert_string_equal(missing, "");
    assert_non_null(strstr(c.suite, "kernels = attention.flash@cpu\n"));
}

static void crossover_and_scaling_verdicts(void **unused)
{
    (void)unused;
    struct claim c = load_text("id = t\npaper = P\nquote = Q\nmetric = crossover\ncandidate = attention.flash\n"
                               "baseline = attention.reference\npaper_value = 4096\n");
    struct result_row rows[16];
    int n = 0;
    for (int N = 512; N <= 16384; N *= 2) {
        rows[n++] = row("attention.reference", "cpu.f64", N, 1e-9 * N * N, 0.01); /* quadratic */
        rows[n++] = row("attention.flash", "cpu", N, 4e-6 * N, 0.01);             /* linear: equal at 4000 */
    }
    struct claim_result res;
    claim_evaluate(&c, rows, n, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);
    assert_true(res.measured > 3000 && res.measured < 5000);
    c.paper_value = 1000; /* claimed much earlier than measured: partly */
    claim_evaluate(&c, rows, n, &res);
    assert_int_equal(res.verdict, CLAIM_PARTLY);

    struct claim flat = load_text("id = t\npaper = P\nquote = Q\nmetric = flat\ncandidate = attention.flash\n"
                                  "paper_value = 0\ntolerance = 0.1\n");
    struct result_row lin[8], quad[8];
    for (int i = 0; i < 8; i++) {
        int N = 1024 << i;
        lin[i] = row("attention.flash", "cpu", N, 1e-6 * N * (1 + 0.02 * (i % 2)), 0.01);
        quad[i] = row("attention.flash", "cpu", N, 1e-9 * pow(N, 1.5), 0.01);
    }
    claim_evaluate(&flat, lin, 8, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);
    assert_true(res.measured < 0.03);
    claim_evaluate(&flat, quad, 8, &res);
    assert_int_equal(res.verdict, CLAIM_FAILS);

    struct claim expo = load_text("id = t\npaper = P\nquote = Q\nmetric = exponent\ncandidate = attention.flash\n"
                                  "paper_value = 1.5\n");
    claim_evaluate(&expo, quad, 8, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);
    assert_true(fabs(res.measured - 1.5) < 1e-6);
    claim_evaluate(&expo, lin, 8, &res);
    assert_int_equal(res.verdict, CLAIM_FAILS);
}

/* A pattern that matches several implementations or devices: the curve metrics read one series
 * (the one with the most sizes; a crossover's baseline on the candidate's device), never a pool
 * of them, and say which. The series are named after CPU implementations, which every build
 * has: a claim whose candidate this build lacks is untestable, whatever the rows say. */
static void curve_metrics_read_one_series(void **unused)
{
    (void)unused;
    struct claim flat = load_text("id = t\npaper = P\nquote = Q\nmetric = flat\ncandidate = attention.linear@cpu*\n"
                                  "paper_value = 0\ntolerance = 0.1\n");
    struct result_row rows[24];
    int n = 0;
    for (int i = 0; i < 7; i++) {
        int N = 4096 << i;
        rows[n++] = row("attention.linear", "cpu", N, 9e-9 * N, 0.01); /* flat: 9 ns a token */
        if (i < 3) /* its quadratic naive twin, where it fits in memory */
            rows[n++] = row("attention.linear", "cpu.naive", N, 1e-12 * (double)N * N, 0.01);
    }
    struct claim_result res;
    claim_evaluate(&flat, rows, n, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);
    assert_true(res.measured < 1e-6);
    assert_non_null(strstr(res.reason, "attention.linear@cpu on cpu"));
    assert_non_null(strstr(res.reason, "2 series matched"));

    struct claim expo = load_text("id = t\npaper = P\nquote = Q\nmetric = exponent\ncandidate = attention.linear@cpu*\n"
                                  "paper_value = 1\n");
    claim_evaluate(&expo, rows, n, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);
    assert_true(fabs(res.measured - 1.0) < 1e-6);

    /* crossover: the baseline ran on two devices; only the candidate's counts */
    struct claim cross = load_text("id = t\npaper = P\nquote = Q\nmetric = crossover\ncandidate = attention.flash\n"
                                   "baseline = attention.reference\npaper_value = 4096\n");
    n = 0;
    for (int N = 512; N <= 16384; N *= 2) {
        rows[n++] = row("attention.flash", "cpu", N, 4e-6 * N, 0.01);
        rows[n] = row("attention.reference", "cuda", N, 1e-12 * N * N, 0.01); /* fast, on another device */
        snprintf(rows[n++].device, sizeof rows[0].device, "cuda:0");
        rows[n++] = row("attention.reference", "cpu.f64", N, 1e-9 * N * N, 0.01); /* equal at 4000 */
    }
    claim_evaluate(&cross, rows, n, &res);
    assert_int_equal(res.verdict, CLAIM_HOLDS);
    assert_true(res.measured > 3000 && res.measured < 5000);
}

/* Several implementations on a side of a speed-up: the fastest candidate against the fastest
 * baseline of the same problem, named in the reason, whatever order the rows come in. */
static void speedup_takes_the_best_of_each_side(void **unused)
{
    (void)unused;
    struct claim c = load_text("id = t\npaper = P\nquote = Q\nmetric = speedup\ncandidate = attention.int8\n"
                               "baseline = attention.flash\npaper_value = 1.3\n[run]\nseq = 1k\n");
    struct result_row rows[4] = {
        row("attention.flash", "cuda.mma", 16384, 7.0e-3, 0.01),
        row("attention.int8", "cuda.mma", 16384, 6.0e-3, 0.01),
        row("attention.int8", "cuda.wgmma", 16384, 5.7e-3, 0.01),
        row("attention.flash", "cuda.wgmma", 16384, 6.0e-3, 0.01),
    };
    struct claim_result res;
    claim_evaluate(&c, rows, 4, &res);
    assert_true(fabs(res.measured - 6.0 / 5.7) < 1e-9); /* not 7.0 / 5.7 nor 7.0 / 6.0 */
    assert_int_equal(res.verdict, CLAIM_PARTLY);
    assert_non_null(strstr(res.reason, "attention.int8@cuda.wgmma against attention.flash@cuda.wgmma"));
    struct result_row reversed[4] = { rows[3], rows[2], rows[1], rows[0] };
    claim_evaluate(&c, reversed, 4, &res);
    assert_true(fabs(res.measured - 6.0 / 5.7) < 1e-9);
}

static void parse_errors_name_the_place(void **unused)
{
    (void)unused;
    struct claim c;
    const char *path = write_tmp("id = t\nmetric = fastest\n");
    assert_int_equal(claim_load(path, &c, err, sizeof err), -1);
    unlink(path);
    assert_non_null(strstr(err, ":2:10: unknown metric 'fastest'"));
    path = write_tmp("id = t\npaper = P\nquote = Q\nmetric = speedup\ncandidate = attention.flash\npaper_value = 2\n");
    assert_int_equal(claim_load(path, &c, err, sizeof err), -1);
    unlink(path);
    assert_non_null(strstr(err, "missing 'baseline'"));
    path = write_tmp("id = t\n[run]\nseq = 1k:oops\n");
    assert_int_equal(claim_load(path, &c, err, sizeof err), -1);
    unlink(path);
    assert_non_null(strstr(err, ":3:7: bad seq"));
    path = write_tmp("id = t\n[run]\nkernels = attention.*\n");
    assert_int_equal(claim_load(path, &c, err, sizeof err), -1);
    unlink(path);
    assert_non_null(strstr(err, "'kernels' comes from candidate and baseline"));
    path = write_tmp("id = t\ngpus = 2.5\n");
    assert_int_equal(claim_load(path, &c, err, sizeof err), -1);
    unlink(path);
    assert_non_null(strstr(err, ":2:8: bad gpus '2.5'"));
}

/* Every shipped claim parses, has a unique id, and its sweep is a valid suite. */
static void shipped_claims_parse(void **unused)
{
    (void)unused;
    struct claim *claims;
    int n = claims_load_dir(KB_SRCDIR "/datasets/claims", &claims, err, sizeof err);
    if (n < 0)
        fail_msg("%s", err);
    assert_true(n >= 9);
    int flashmoe = 0;
    for (int i = 0; i < n; i++) {
        /* FlashMoE's 6x is an 8-GPU expert-parallel figure: the claim says so (docs/multi-gpu.md) */
        if (strcmp(claims[i].id, "flashmoe") == 0) {
            assert_int_equal(claims[i].gpus, 8);
            flashmoe = 1;
        } else {
            assert_int_equal(claims[i].gpus, 0);
        }
        FILE *f = fmemopen(claims[i].suite, strlen(claims[i].suite), "r");
        assert_non_null(f);
        struct plan_spec base, specs[4];
        plan_spec_default(&base);
        char name[64];
        int groups = plan_suite_parse(f, claims[i].path, &base, specs, 4, name, sizeof name, err, sizeof err);
        fclose(f);
        if (groups < 1)
            fail_msg("%s: %s", claims[i].path, err);
        assert_int_equal(groups, *claims[i].baseline ? 2 : 1);
        assert_true(strlen(claims[i].quote) > 10);
    }
    assert_true(flashmoe);
    free(claims);
}

/* A side's alternatives narrow to the devices a claim runs on: the GPU peer's name does not stop
 * the CPU sweep (the planner refuses a pattern with kernels only on other devices). */
static void suite_narrows_to_the_devices(void **unused)
{
    (void)unused;
    struct claim c = load_text("id = t\npaper = p\nquote = a quote long enough\nhardware = h\nmetric = speedup\n"
                               "candidate = attention.int8\nbaseline = attention.flash@cuda.mma, attention.flash@cpu\n"
                               "paper_value = 2\n");
    char suite[sizeof c.suite];
    claim_suite_on_devices(&c, NULL, suite, sizeof suite);
    if (!strstr(suite, "kernels = attention.flash@cpu\n") || strstr(suite, "cuda.mma"))
        fail_msg("the CPU sweep keeps only the CPU baseline: %s", suite);
    assert_non_null(strstr(suite, "kernels = attention.int8\n")); /* a side without a list is left alone */
    claim_suite_on_devices(&c, "cpu,cuda:0", suite, sizeof suite);
    if (kb_registry_find("attention.flash", "cuda.mma")) /* a CUDA build keeps both */
        assert_non_null(strstr(suite, "attention.flash@cuda.mma,attention.flash@cpu"));
    else
        assert_non_null(strstr(suite, "kernels = attention.flash@cpu\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(speedup_verdicts),
        cmocka_unit_test(untestable_claims),
        cmocka_unit_test(crossover_and_scaling_verdicts),
        cmocka_unit_test(curve_metrics_read_one_series),
        cmocka_unit_test(speedup_takes_the_best_of_each_side),
        cmocka_unit_test(parse_errors_name_the_place),
        cmocka_unit_test(shipped_claims_parse),
        cmocka_unit_test(suite_narrows_to_the_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
