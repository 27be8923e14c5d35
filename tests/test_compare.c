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

#include <sqlite3.h>

#include "harness/compare.h"
#include "harness/regress.h"
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

/* ---- the decision with few samples ---------------------------------------------------------------- */

/* A spin case of exactly these samples (the stats from them, as a run stores them). */
static int64_t add_samples(struct store *s, int64_t run, int seq, const double *v, size_t n)
{
    double samples[64];
    struct case_record r;
    make_case(&r, samples, "selftest.spin", seq, 1e-3, 1);
    memcpy(samples, v, n * sizeof *v);
    r.n_samples = n;
    assert_int_equal(stats_summarize(samples, n, 500, 1, &r.stats), 0);
    int64_t id = store_case_insert(s, run, &r);
    assert_true(id > 0);
    return id;
}

/* A database of its own: a base run and a candidate run of the cases the caller adds. */
static struct store *fresh_db(const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    unlink(path);
    struct store *s;
    char err[512];
    assert_int_equal(store_open(path, STORE_WRITE, &s, err, sizeof err), 0);
    return s;
}

static void sql(const char *path, const char *statement)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, statement, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", statement, msg ? msg : "?");
    sqlite3_close(db);
}

/* Adds a column an older schema lacks (schema v8 adds these), unless it is there already. */
static void ensure_column(const char *path, const char *table, const char *column, const char *type)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!have) {
        char stmt[200];
        snprintf(stmt, sizeof stmt, "ALTER TABLE %s ADD COLUMN %s %s", table, column, type);
        sql(path, stmt);
    }
}

static void test_min_p(void **state)
{
    (void)state;
    assert_true(fabs(regress_mann_whitney_min_p(3, 3) - 1.0 / 20) < 1e-12);
    assert_true(fabs(regress_mann_whitney_min_p(3, 4) - 1.0 / 35) < 1e-12); /* the p = 0.029 */
    assert_true(fabs(regress_mann_whitney_min_p(4, 5) - 1.0 / 126) < 1e-12);
    assert_true(regress_mann_whitney_min_p(60, 60) < 1e-30);
    assert_true(regress_mann_whitney_min_p(0, 5) == 1.0);
    /* what the test gives for complete separation is that smallest p */
    const double b[] = { 1, 2, 3 }, c[] = { 4, 5, 6, 7 };
    struct mann_whitney mw;
    assert_int_equal(regress_mann_whitney(b, 3, c, 4, &mw), 0);
    assert_true(fabs(mw.p_greater - regress_mann_whitney_min_p(3, 4)) < 1e-12);
}

/* 3 vs 3 samples: the U test cannot reach p < 0.01 (smallest p 0.05), so the CI decides. */
static void test_few_samples(void **state)
{
    (void)state;
    char path[160], err[512];
    struct store *s = fresh_db("few.db", path, sizeof path);
    int64_t base = begin(s, "00000000000000aa");
    const double b3[] = { 0.300, 0.301, 0.302 }, b3b[] = { 0.3005, 0.3012, 0.3001 };
    const double slow[] = { 0.450, 0.452, 0.451 }, slow10[] = { 0.331, 0.332, 0.330 };
    const double noisy[] = { 0.30, 0.45, 0.46 }, one_b[] = { 0.300 }, one_c[] = { 0.450 }, two_c[] = { 0.303, 0.302 };
    const double fast[] = { 0.200, 0.201, 0.199 };
    /* 6 a side, so the U test could reach 0.01, but the candidate's spread hides its +50% median */
    const double b6[] = { 0.30, 0.31, 0.29, 0.30, 0.60, 0.31 }, c6[] = { 0.29, 0.45, 0.46, 0.44, 0.47, 0.30 };
    add_samples(s, base, 8, b6, 6);
    add_samples(s, base, 1, b3, 3);  /* identical */
    add_samples(s, base, 2, b3, 3);  /* +50% */
    add_samples(s, base, 3, b3, 3);  /* +10% */
    add_samples(s, base, 4, b3, 3);  /* +50% median, but overlapping */
    add_samples(s, base, 5, one_b, 1); /* +50% from one sample a side */
    add_samples(s, base, 6, one_b, 1); /* +1% from 1 and 2 samples */
    add_samples(s, base, 7, b3, 3);  /* -33% */
    assert_int_equal(store_run_finish(s, base, "complete"), 0);
    int64_t cand = begin(s, "00000000000000aa");
    add_samples(s, cand, 1, b3b, 3);
    add_samples(s, cand, 2, slow, 3);
    add_samples(s, cand, 3, slow10, 3);
    add_samples(s, cand, 4, noisy, 3);
    add_samples(s, cand, 5, one_c, 1);
    add_samples(s, cand, 6, two_c, 2);
    add_samples(s, cand, 7, fast, 3);
    add_samples(s, cand, 8, c6, 6);
    assert_int_equal(store_run_finish(s, cand, "complete"), 0);

    struct compare_options o;
    compare_options_default(&o);
    struct compare_result r;
    assert_int_equal(compare_runs(s, base, cand, &o, &r, err, sizeof err), 0);
    /* enough samples for the test, too noisy for it: a slowdown beyond the threshold that is not
     * shown is inconclusive, never "same" */
    const struct compare_case *noisy6 = find(&r, "selftest.spin", 8);
    assert_true(noisy6->p_min < o.alpha && noisy6->p_slower >= o.alpha);
    assert_true(noisy6->ratio - 1 > noisy6->threshold);
    assert_int_equal(noisy6->verdict, VERDICT_INCONCLUSIVE);
    const struct compare_case *same = find(&r, "selftest.spin", 1), *slow50 = find(&r, "selftest.spin", 2);
    assert_int_equal(same->verdict, VERDICT_SAME);
    /* 50% slower in 3 vs 3: the U test alone would say p = 0.05, "same"; the CI shows it */
    assert_true(slow50->p_slower > o.alpha);
    assert_true(fabs(slow50->p_min - 0.05) < 1e-12);
    assert_int_equal(slow50->verdict, VERDICT_REGRESSED);
    assert_true(slow50->ratio_lo > 1.4);
    assert_int_equal(find(&r, "selftest.spin", 3)->verdict, VERDICT_REGRESSED);
    /* a median 50% up with a base-like sample among the candidate's: not shown, not passed */
    const struct compare_case *overlap = find(&r, "selftest.spin", 4);
    assert_int_equal(overlap->verdict, VERDICT_INCONCLUSIVE);
    assert_non_null(strstr(overlap->reason, "more samples"));
    /* one sample a side: no CI (n/a), no test; a 50% slowdown is inconclusive, 1% is same */
    const struct compare_case *single = find(&r, "selftest.spin", 5);
    assert_int_equal(single->verdict, VERDICT_INCONCLUSIVE);
    assert_true(isnan(single->ratio_lo) && isnan(single->ratio_hi));
    assert_true(fabs(single->ratio - 1.5) < 1e-9);
    assert_int_equal(find(&r, "selftest.spin", 6)->verdict, VERDICT_SAME);
    assert_int_equal(find(&r, "selftest.spin", 7)->verdict, VERDICT_IMPROVED);
    assert_int_equal(r.summary.count[VERDICT_INCONCLUSIVE], 3);
    assert_int_equal(r.summary.failing, 5); /* 2 regressed + 3 inconclusive */
    assert_int_equal(r.summary.matched, 8);
    assert_false(r.summary.too_few_matched);
    assert_true(compare_verdict_fails(VERDICT_INCONCLUSIVE, &o));
    compare_result_free(&r);

    /* --allow-inconclusive: the same verdicts, but only the regressions fail */
    o.allow_inconclusive = 1;
    assert_false(compare_verdict_fails(VERDICT_INCONCLUSIVE, &o));
    assert_true(compare_verdict_fails(VERDICT_REGRESSED, &o));
    assert_int_equal(compare_runs(s, base, cand, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.summary.count[VERDICT_INCONCLUSIVE], 3);
    assert_int_equal(r.summary.failing, 2);
    compare_result_free(&r);

    /* a run against itself is the same throughout, however few its samples */
    compare_options_default(&o);
    assert_int_equal(compare_runs(s, base, base, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.summary.count[VERDICT_SAME], 8);
    assert_int_equal(r.summary.failing, 0);
    compare_result_free(&r);
    store_close(s);
}

/* Runs that share no case, or too few of them. */
static void test_matched(void **state)
{
    (void)state;
    char path[160], err[512];
    struct store *s = fresh_db("matched.db", path, sizeof path);
    const double v[] = { 0.001, 0.0011, 0.00105 };
    int64_t a = begin(s, "00000000000000aa");
    add_samples(s, a, 10, v, 3);
    add_samples(s, a, 20, v, 3);
    assert_int_equal(store_run_finish(s, a, "complete"), 0);
    int64_t b = begin(s, "00000000000000aa");
    add_samples(s, b, 30, v, 3);
    assert_int_equal(store_run_finish(s, b, "interrupted"), 0);
    int64_t c = begin(s, "00000000000000aa");
    add_samples(s, c, 10, v, 3);
    add_samples(s, c, 40, v, 3);
    add_samples(s, c, 50, v, 3);
    assert_int_equal(store_run_finish(s, c, "complete"), 0);
    struct compare_options o;
    compare_options_default(&o);
    struct compare_result r;
    assert_int_equal(compare_runs(s, a, b, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.summary.matched, 0);
    assert_true(r.summary.too_few_matched);
    assert_int_equal(r.summary.failing, 0); /* nothing failed: nothing was tested */
    char why[200];
    compare_matched_problem(&r, why, sizeof why);
    assert_string_equal(why, "no case in common");
    assert_false(compare_run_incomplete(&r.base));
    assert_true(compare_run_incomplete(&r.cand));
    compare_result_free(&r);
    /* 1 of 4 cases in both: enough by default, not under --min-matched 0.5 */
    assert_int_equal(compare_runs(s, a, c, &o, &r, err, sizeof err), 0);
    assert_int_equal(r.summary.matched, 1);
    assert_false(r.summary.too_few_matched);
    compare_result_free(&r);
    o.min_matched = 0.5;
    assert_int_equal(compare_runs(s, a, c, &o, &r, err, sizeof err), 0);
    assert_true(r.summary.too_few_matched);
    compare_matched_problem(&r, why, sizeof why);
    assert_non_null(strstr(why, "1 of 4 cases"));
    compare_result_free(&r);
    o.min_matched = 0.25;
    assert_int_equal(compare_runs(s, a, c, &o, &r, err, sizeof err), 0);
    assert_false(r.summary.too_few_matched);
    compare_result_free(&r);
    store_close(s);
}

/* A span-1 case and a span-2 case of the same shape are different cases: compare never holds
 * one against the other (and the store keeps the span; CUDA builds, where a kernel spans). */
static void test_span_apart(void **state)
{
    (void)state;
    const struct kb_kernel *k = kb_registry_find("moe.layer", "cuda.ep");
    if (!k)
        skip();
    char path[160], err[512];
    struct store *s = fresh_db("span.db", path, sizeof path);
    int64_t runs[3];
    const int spans[3] = { 1, 2, 1 };
    for (int i = 0; i < 3; i++) {
        runs[i] = begin(s, "00000000000000aa");
        double samples[N_SAMPLES];
        struct case_record r;
        make_case(&r, samples, "selftest.spin", 100, 1e-4, 40 + (uint64_t)i);
        r.kernel = k;
        snprintf(r.device, sizeof r.device, "cuda:0");
        r.dtype = KB_DTYPE_BF16;
        r.shape = (struct kb_shape){ .tokens = 64, .hidden = 64, .ffn = 64, .experts = 4, .top_k = 2,
                                     .routing = KB_ROUTING_UNIFORM, .input = KB_INPUT_NORMAL, .span = spans[i] };
        assert_true(store_case_insert(s, runs[i], &r) > 0);
        assert_int_equal(store_run_finish(s, runs[i], "complete"), 0);
    }
    struct compare_options o;
    compare_options_default(&o);
    struct compare_result r;
    assert_int_equal(compare_runs(s, runs[0], runs[1], &o, &r, err, sizeof err), 0);
    assert_int_equal(r.summary.matched, 0);
    compare_result_free(&r);
    assert_int_equal(compare_runs(s, runs[0], runs[2], &o, &r, err, sizeof err), 0);
    assert_int_equal(r.summary.matched, 1);
    compare_result_free(&r);
    store_close(s);
    char sqlcmd[400];
    snprintf(sqlcmd, sizeof sqlcmd, "SELECT group_concat(span) FROM (SELECT span FROM cases ORDER BY id)");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sqlcmd, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "1,2,1");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The sampling columns of schema v8, where present: a side short of its minimum is not judged,
 * throttled samples stay out of the tests, and SM clocks say whether a change survives. */
static void test_sampling_columns(void **state)
{
    (void)state;
    char path[160], err[512];
    struct store *s = fresh_db("v8.db", path, sizeof path);
    double base10[10], cand10[12], slow10[10], same10[10];
    for (int i = 0; i < 10; i++) {
        base10[i] = 0.100 + 0.0001 * i;
        slow10[i] = 1.5 * base10[i];
        same10[i] = base10[i] * 1.0005;
    }
    memcpy(cand10, same10, sizeof same10);
    cand10[10] = cand10[11] = 0.9; /* two throttled samples, far slower */
    int64_t a = begin(s, "00000000000000aa");
    int64_t short_base = add_samples(s, a, 1, base10, 10);
    add_samples(s, a, 2, base10, 10);
    add_samples(s, a, 3, base10, 10);
    add_samples(s, a, 4, base10, 10);
    assert_int_equal(store_run_finish(s, a, "complete"), 0);
    int64_t b = begin(s, "00000000000000aa");
    add_samples(s, b, 1, same10, 10);
    int64_t throttled = add_samples(s, b, 2, cand10, 12);
    int64_t clock_slow = add_samples(s, b, 3, slow10, 10);
    add_samples(s, b, 4, slow10, 10);
    assert_int_equal(store_run_finish(s, b, "complete"), 0);

    /* before the columns exist (an older database): unknown, nothing changes */
    struct compare_options o;
    compare_options_default(&o);
    struct compare_result r;
    assert_int_equal(compare_runs(s, a, b, &o, &r, err, sizeof err), 0);
    assert_int_equal(find(&r, "selftest.spin", 1)->verdict, VERDICT_SAME);
    assert_true(find(&r, "selftest.spin", 1)->base_min_samples < 1); /* -1 before schema v8 */
    assert_int_equal(find(&r, "selftest.spin", 2)->verdict, VERDICT_SAME); /* 2 of 12 slow: the median holds */
    assert_true(isnan(find(&r, "selftest.spin", 3)->clock_ratio));
    compare_result_free(&r);
    store_close(s);

    ensure_column(path, "stats", "min_samples", "INTEGER");
    ensure_column(path, "stats", "set_aside", "INTEGER");
    ensure_column(path, "samples", "sm_clock_mhz", "REAL");
    ensure_column(path, "samples", "throttled", "INTEGER");
    char stmt[512];
    /* the base of case 1 asked for 12 and kept 10, 2 set aside as throttled */
    snprintf(stmt, sizeof stmt, "UPDATE stats SET min_samples = 12, set_aside = 2 WHERE case_id = %lld;"
             "UPDATE stats SET min_samples = 10 WHERE case_id <> %lld;", (long long)short_base, (long long)short_base);
    sql(path, stmt);
    /* case 2's candidate: its two slow samples were throttled (stats already leave them out) */
    snprintf(stmt, sizeof stmt, "UPDATE samples SET throttled = (seconds > 0.5) WHERE case_id = %lld;",
             (long long)throttled);
    sql(path, stmt);
    /* case 3: 50% slower in time because the clock fell from 1980 to 1320 MHz; case 4: the same
     * clock on both sides, really slower */
    snprintf(stmt, sizeof stmt, "UPDATE samples SET sm_clock_mhz = 1980 WHERE case_id IN (SELECT id FROM cases "
             "WHERE seq_len IN (3, 4));"
             "UPDATE samples SET sm_clock_mhz = 1320 WHERE case_id = %lld;", (long long)clock_slow);
    sql(path, stmt);

    assert_int_equal(store_open(path, STORE_READ, &s, err, sizeof err), 0);
    assert_int_equal(compare_runs(s, a, b, &o, &r, err, sizeof err), 0);
    const struct compare_case *c1 = find(&r, "selftest.spin", 1);
    assert_int_equal(c1->verdict, VERDICT_INCONCLUSIVE);
    assert_int_equal(c1->base_min_samples, 12);
    assert_int_equal(c1->base_set_aside, 2);
    assert_non_null(strstr(c1->reason, "10 of its minimum 12"));
    assert_non_null(strstr(c1->reason, "2 throttled samples set aside"));
    const struct compare_case *c2 = find(&r, "selftest.spin", 2);
    assert_int_equal(c2->verdict, VERDICT_SAME);
    assert_true(c2->ratio < 1.01); /* the throttled 0.9 s samples were not tested */
    assert_true(c2->p_slower > 0.01);
    const struct compare_case *c3 = find(&r, "selftest.spin", 3), *c4 = find(&r, "selftest.spin", 4);
    assert_int_equal(c3->verdict, VERDICT_REGRESSED); /* the verdict is on time */
    assert_true(fabs(c3->clock_ratio - 1.0) < 1e-9);
    assert_non_null(strstr(c3->note, "does not survive clock normalisation"));
    assert_int_equal(c4->verdict, VERDICT_REGRESSED);
    assert_true(fabs(c4->clock_ratio - 1.5) < 1e-9);
    assert_non_null(strstr(c4->note, "survives clock normalisation"));
    assert_null(strstr(c4->note, "not survive"));
    compare_result_free(&r);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_cross_machine),
        cmocka_unit_test(test_tag_per_machine),
        cmocka_unit_test(test_min_p),
        cmocka_unit_test(test_few_samples),
        cmocka_unit_test(test_matched),
        cmocka_unit_test(test_sampling_columns),
        cmocka_unit_test(test_span_apart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
