/* test_compare.c - compare_runs (compare.h) on runs written through the real store: every
 * verdict from cases built to have it (latency samples scaled by known factors, statuses and
 * accuracies set), thresholds from overrides and from a suite file, reproducibility, and the
 * refusal to compare runs of different machines. */
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

#include "harness/compare.h"
#include "harness/stats.h"
#include "harness/store.h"

#define N_SAMPLES 60

static char dir[64], db_path[128];

static void make_machine(struct machine_info *m, const char *fingerprint)
{
    memset(m, 0, sizeof *m);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fingerprint);
    snprintf(m->hostname, sizeof m->hostname, "node-%.4s", fingerprint);
    snprintf(m->cpu_model, sizeof m->cpu_model, "Test CPU");
    m->logical_cpus = 2;
    m->physical_cores = 2;
}

/* A timed case: samples around `latency` (±1%, a fixed pseudo-random spread), so the ratio of two
 * such cases is the ratio of their latencies. */
static void make_case(struct case_record *r, double *samples, const char *kernel, int seq, double latency,
                      uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->kernel = kb_registry_find(kernel, NULL);
    assert_non_null(r->kernel);
    snprintf(r->device, sizeof r->device, "cpu");
    r->dtype = KB_DTYPE_F32;
    r->shape = (struct kb_shape){ .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = seq, .head_dim = 16 };
    r->threads = 1;
    r->status = CASE_OK;
    r->verified = 1;
    r->accuracy = (struct kb_accuracy){ .rel_l2_err = 1e-6, .cosine = 1, .tolerance = 1e-3, .rows_checked = 1,
                                        .rows_total = 1, .passed = 1 };
    for (int i = 0; i < N_SAMPLES; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        samples[i] = latency * (0.99 + 0.02 * (double)(seed >> 11) / 9007199254740992.0);
    }
    r->samples = samples;
    r->n_samples = N_SAMPLES;
    r->calls_per_sample = 1;
    assert_int_equal(stats_summarize(samples, N_SAMPLES, 500, 1, &r->stats), 0);
}

static int64_t add(struct store *s, int64_t run, const char *kernel, int seq, double latency, uint64_t seed,
                   enum case_status status, double rel_err)
{
    double samples[N_SAMPLES];
    struct case_record r;
    make_case(&r, samples, kernel, seq, latency, seed);
    if (status != CASE_OK) {
        r.status = status;
        r.n_samples = 0;
        snprintf(r.error, sizeof r.error, "wrong answer on purpose");
        r.accuracy.passed = 0;
    }
    r.accuracy.rel_l2_err = rel_err;
    int64_t id = store_case_insert(s, run, &r);
    assert_true(id > 0);
    return id;
}

static int64_t begin(struct store *s, const char *fingerprint)
{
    struct machine_info m;
    make_machine(&m, fingerprint);
    int64_t mid = store_machine_upsert(s, &m);
    assert_true(mid > 0);
    struct run_info ri = { .cmdline = "test", .planned_cases = 8 };
    int64_t run = store_run_begin(s, mid, &ri);
    assert_true(run > 0);
    return run;
}

static const struct compare_case *find(const struct compare_result *r, const char *kernel, int seq)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->cases[i].kernel, kernel) == 0 && r->cases[i].shape.seq_len == seq)
            return &r->cases[i];
    fail_msg("case %s seq=%d not in the comparison", kernel, seq);
    return NULL;
}

static int64_t base_run, cand_run, other_run;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kbench-compare.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof db_path, "%s/c.db", dir);
    struct store *s;
    char err[512];
    assert_int_equal(store_open(db_path, STORE_WRITE, &s, err, sizeof err), 0);
    base_run = begin(s, "00000000000000aa");
    add(s, base_run, "selftest.spin", 100, 1e-4, 1, CASE_OK, 0);          /* same */
    add(s, base_run, "selftest.spin", 200, 1e-4, 2, CASE_OK, 0);          /* 10% slower */
    add(s, base_run, "selftest.spin", 300, 1e-4, 3, CASE_OK, 0);          /* 15% faster */
    add(s, base_run, "selftest.spin", 400, 1e-4, 4, CASE_OK, 0);          /* 2% slower */
    add(s, base_run, "selftest.noop", 100, 1e-6, 5, CASE_OK, 0);          /* 6% slower */
    add(s, base_run, "selftest.spin", 500, 1e-4, 6, CASE_OK, 0);          /* newly failing */
    add(s, base_run, "selftest.spin", 600, 1e-4, 7, CASE_OK, 0);          /* missing */
    add(s, base_run, "attention.flash", 64, 1e-5, 8, CASE_OK, 1e-6);      /* accuracy drop */
    add(s, base_run, "attention.reference", 64, 1e-5, 9, CASE_VERIFY_FAILED, 1); /* fixed */
    assert_int_equal(store_run_finish(s, base_run, "complete"), 0);
    cand_run = begin(s, "00000000000000aa");
    add(s, cand_run, "selftest.spin", 100, 1e-4, 11, CASE_OK, 0);
    add(s, cand_run, "selftest.spin", 200, 1.1e-4, 12, CASE_OK, 0);
    add(s, cand_run, "selftest.spin", 300, 0.85e-4, 13, CASE_OK, 0);
    add(s, cand_run, "selftest.spin", 400, 1.02e-4, 14, CASE_OK, 0);
    add(s, cand_run, "selftest.noop", 100, 1.06e-6, 15, CASE_OK, 0);
    add(s, cand_run, "selftest.spin", 500, 1e-4, 16, CASE_VERIFY_FAILED, 0.5);
    add(s, cand_run, "selftest.spin", 700, 1e-4, 17, CASE_OK, 0);         /* new */
    add(s, cand_run, "attention.flash", 64, 1e-5, 18, CASE_OK, 3e-4);
    add(s, cand_run, "attention.reference", 64, 1e-5, 19, CASE_OK, 1e-9);
    assert_int_equal(store_run_finish(s, cand_run, "complete"), 0);
    other_run = begin(s, "00000000000000bb");
    add(s, other_run, "selftest.spin", 100, 1e-4, 21, CASE_OK, 0);
    assert_int_equal(store_run_finish(s, other_run, "complete"), 0);
    store_close(s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_db(void)
{
    struct store *s;
    char err[512];
    assert_int_equal(store_open(db_path, STORE_READ, &s, err, sizeof err), 0);
    return s;
}

static void test_verdicts(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct compare_options o;
    compare_options_default(&o);
    struct compare_result r;
    char err[512];
    assert_int_equal(compare_runs(s, base_run, cand_run, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.n, 10);
    assert_int_equal(find(&r, "selftest.spin", 100)->verdict, VERDICT_SAME);
    const struct compare_case *slow = find(&r, "selftest.spin", 200);
    assert_int_equal(slow->verdict, VERDICT_REGRESSED);
    assert_true(fabs(slow->ratio - 1.1) < 0.01);
    assert_true(slow->ratio_lo < slow->ratio && slow->ratio < slow->ratio_hi);
    assert_true(slow->p_slower < 1e-6);
    assert_int_equal(find(&r, "selftest.spin", 300)->verdict, VERDICT_IMPROVED);
    /* significant, but under the 5% threshold */
    const struct compare_case *small = find(&r, "selftest.spin", 400);
    assert_int_equal(small->verdict, VERDICT_SAME);
    assert_true(small->p_slower < 0.01);
    assert_int_equal(find(&r, "selftest.noop", 100)->verdict, VERDICT_REGRESSED);
    assert_int_equal(find(&r, "selftest.spin", 500)->verdict, VERDICT_NEWLY_FAILING);
    assert_int_equal(find(&r, "selftest.spin", 600)->verdict, VERDICT_MISSING);
    assert_int_equal(find(&r, "selftest.spin", 700)->verdict, VERDICT_NEW);
    assert_int_equal(find(&r, "attention.flash", 64)->verdict, VERDICT_ACCURACY_DROP);
    assert_int_equal(find(&r, "attention.reference", 64)->verdict, VERDICT_FIXED);
    assert_int_equal(r.summary.count[VERDICT_REGRESSED], 2);
    assert_int_equal(r.summary.failing, 4); /* 2 regressed, 1 newly failing, 1 accuracy drop */
    assert_int_equal(r.summary.total, 10);
    /* the same comparison again gives the same numbers: the bootstrap seed is fixed */
    struct compare_result again;
    assert_int_equal(compare_runs(s, base_run, cand_run, &o, &again, err, sizeof err), 0);
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r.cases[i].verdict, again.cases[i].verdict);
        assert_true(r.cases[i].ratio_lo == again.cases[i].ratio_lo || isnan(r.cases[i].ratio_lo));
    }
    compare_result_free(&again);
    compare_result_free(&r);
    /* a run against itself: nothing changes */
    assert_int_equal(compare_runs(s, base_run, base_run, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.summary.failing, 0);
    assert_int_equal(r.summary.count[VERDICT_SAME], 8);
    assert_int_equal(r.summary.count[VERDICT_STILL_FAILING], 1);
    compare_result_free(&r);
    store_close(s);
}

static void test_thresholds(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct compare_options o;
    compare_options_default(&o);
    char err[512];
    assert_int_equal(compare_add_override(&o, "selftest.noop=0.08", err, sizeof err), 0);
    assert_int_equal(compare_add_override(&o, "selftest.*", err, sizeof err), -1);
    assert_int_equal(compare_add_override(&o, "x=-1", err, sizeof err), -1);
    assert_true(compare_threshold_for(&o, "selftest.noop", "cpu") == 0.08);
    assert_true(compare_threshold_for(&o, "selftest.spin", "cpu") == 0.05);
    struct compare_result r;
    assert_int_equal(compare_runs(s, base_run, cand_run, &o, &r, err, sizeof err), 0);
    assert_int_equal(find(&r, "selftest.noop", 100)->verdict, VERDICT_SAME);   /* 6% < 8% */
    assert_int_equal(find(&r, "selftest.spin", 200)->verdict, VERDICT_REGRESSED);
    compare_result_free(&r);

    /* a suite's group threshold, and a later command-line entry overriding it */
    char suite[160];
    snprintf(suite, sizeof suite, "%s/t.suite", dir);
    FILE *f = fopen(suite, "w");
    assert_non_null(f);
    fputs("threshold = 0.03\n[spin]\nkernels = selftest.spin\nthreshold = 0.12\n[noop]\nkernels = selftest.noop\n", f);
    fclose(f);
    compare_options_default(&o);
    assert_int_equal(compare_add_suite_thresholds(&o, suite, err, sizeof err), 0);
    assert_true(compare_threshold_for(&o, "selftest.spin", "cpu") == 0.12);
    assert_true(compare_threshold_for(&o, "selftest.noop", "cpu") == 0.03);
    assert_true(compare_threshold_for(&o, "attention.flash", "cpu") == 0.05);
    assert_int_equal(compare_runs(s, base_run, cand_run, &o, &r, err, sizeof err), 0);
    assert_int_equal(find(&r, "selftest.spin", 200)->verdict, VERDICT_SAME);   /* 10% < 12% */
    assert_int_equal(find(&r, "selftest.noop", 100)->verdict, VERDICT_REGRESSED);
    compare_result_free(&r);
    assert_int_equal(compare_add_override(&o, "selftest.spin@cpu=0.04", err, sizeof err), 0);
    assert_true(compare_threshold_for(&o, "selftest.spin", "cpu") == 0.04);
    /* a malformed threshold in a suite is named */
    f = fopen(suite, "w");
    fputs("[g]\nthreshold = lots\n", f);
    fclose(f);
    assert_int_equal(compare_add_suite_thresholds(&o, suite, err, sizeof err), -1);
    assert_non_null(strstr(err, "t.suite:2"));
    store_close(s);
}

static void test_cross_machine(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct compare_options o;
    compare_options_default(&o);
    struct compare_result r;
    char err[512];
    assert_int_equal(compare_runs(s, base_run, other_run, &o, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "--cross-machine"));
    assert_non_null(strstr(err, "00000000000000bb"));
    o.cross_machine = 1;
    assert_int_equal(compare_runs(s, base_run, other_run, &o, &r, err, sizeof err), 0);
    compare_result_free(&r);
    assert_int_equal(compare_runs(s, base_run, 999, &o, &r, err, sizeof err), -1);
    store_close(s);
}

/* tag:NAME on this machine: the newest run so tagged measured on the given fingerprint */
static void test_tag_per_machine(void **state)
{
    (void)state;
    struct store *s;
    char err[512];
    assert_int_equal(store_open(db_path, STORE_WRITE, &s, err, sizeof err), 0);
    assert_int_equal(store_run_tag(s, base_run, "good"), 0);
    assert_int_equal(store_run_tag(s, other_run, "good"), 0);  /* newer, other machine */
    assert_int_equal(store_resolve_run_on(s, "tag:good", "00000000000000aa"), base_run);
    assert_int_equal(store_resolve_run_on(s, "tag:good", "00000000000000bb"), other_run);
    assert_int_equal(store_resolve_run_on(s, "tag:good", NULL), other_run);
    assert_int_equal(store_resolve_run(s, "tag:good"), other_run);
    assert_int_equal(store_resolve_run_on(s, "tag:good", "00000000000000cc"), -1);
    assert_non_null(strstr(store_errmsg(s), "on this machine"));
    assert_int_equal(store_resolve_run_on(s, "tag:nothing", "00000000000000aa"), -1);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_cross_machine),
        cmocka_unit_test(test_tag_per_machine),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
