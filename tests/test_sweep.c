/* test_sweep.c - the sweep API (harness/sweep.h) without the kbench command: a small sweep into a
 * temporary database comes back as data (each case's status and error, counts, the run), its
 * events arrive in order, a stop from the callback interrupts the run, and a resume through the
 * API measures only the cases the run is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/runner.h"
#include "harness/store.h"
#include "harness/sweep.h"
#include "kernels/selftest/selftest.h"

/* A kernel that answers wrong: the registry has none (its kernels are right or fail loudly). */
static double one_count(const struct kb_shape *s) { (void)s; return 1.0; }
static double one_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 1.0; }
static int ok_setup(struct kb_case *c, char *err, size_t len) { (void)c; (void)err; (void)len; return KB_OK; }
static int noop_run(struct kb_case *c) { (void)c; return KB_OK; }
static void noop_teardown(struct kb_case *c) { (void)c; }
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
static int wrong_verify(const struct kb_operands *io, const struct kb_shape *sh, enum kb_dtype t, uint64_t seed,
                        int threads, struct kb_accuracy *a)
{
    (void)io;
    (void)sh;
    (void)t;
    (void)seed;
    (void)threads;
    memset(a, 0, sizeof *a);
    a->rel_l2_err = 0.5;
    a->max_abs_err = 3;
    a->tolerance = 1e-4;
    a->rows_checked = a->rows_total = 1;
    a->passed = 0;
    return KB_OK;
}
static const struct kb_operation op_wrong = {
    .name = "test.wrong", .description = "its verdict is always wrong", .family = KB_FAMILY_SELFTEST,
    .axes = KB_AXES_SELFTEST, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .flops = one_count, .bytes = one_bytes,
    .inputs = no_inputs, .verify = wrong_verify,
};
static const struct kb_kernel k_wrong = {
    .name = "test.wrong", .impl = "cpu", .description = "answers wrong", .op = &op_wrong,
    .device = KB_DEVICE_CPU, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = ok_setup, .run = noop_run, .teardown = noop_teardown,
};

static char dir[64], db[128];

static int make_db(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kbench-sweep-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/sweep.db", dir);
    return 0;
}

static int remove_db(void **state)
{
    (void)state;
    const char *suffixes[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

static struct store *open_db(void)
{
    struct store *st;
    char err[512];
    assert_int_equal(store_open(db, STORE_WRITE, &st, err, sizeof err), 0);
    return st;
}

static void fast_request(struct sweep_request *req, struct store *st)
{
    sweep_request_init(req);
    req->ro.max_time_s = 0.05;
    req->ro.min_time_s = 0.005;
    req->ro.warmup_s = 0.001;
    req->ro.min_samples = 3;
    req->ro.timeout_s = 10;
    req->ro.papi_events = "";
    req->store = st;
    req->cmdline = "test_sweep";
}

static struct plan_case make_case(const struct kb_kernel *k, int seq, int causal)
{
    struct plan_case pc;
    memset(&pc, 0, sizeof pc);
    pc.kernel = k;
    strcpy(pc.device, "cpu");
    pc.dtype = KB_DTYPE_F32;
    pc.shape = (struct kb_shape){ .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = seq, .head_dim = 8,
                                  .causal = causal };
    pc.threads = 1;
    pc.seed = 7;
    return pc;
}

/* The events a sweep told, as letters: B begin, W warning, C cases, s start, d done, E end. */
struct seen {
    char kinds[64];
    int n;
    int stop_after; /* stop after this many cases done (0: never) */
    int done;
};

static int record_event(const struct sweep_event *ev, void *ctx)
{
    struct seen *s = ctx;
    const char letters[] = { [SWEEP_EV_BEGIN] = 'B', [SWEEP_EV_WARNING] = 'W', [SWEEP_EV_CASES] = 'C',
                             [SWEEP_EV_CASE_START] = 's', [SWEEP_EV_CASE_DONE] = 'd', [SWEEP_EV_WAIT] = 'w',
                             [SWEEP_EV_ERROR] = 'X', [SWEEP_EV_END] = 'E' };
    if (ev->kind == SWEEP_EV_WARNING)
        return 0; /* the machine's (a governor, a load) are not this test's business */
    if (s->n < (int)sizeof s->kinds - 1)
        s->kinds[s->n++] = letters[ev->kind];
    if (ev->kind == SWEEP_EV_CASE_DONE) {
        assert_non_null(ev->rec);
        assert_non_null(ev->label);
        assert_true(ev->index < ev->total);
        s->done++;
        return s->stop_after && s->done >= s->stop_after;
    }
    return 0;
}

struct count { long n; enum case_status status[16]; };

static int count_row(const struct result_row *r, void *ctx)
{
    struct count *c = ctx;
    if (c->n < 16)
        case_status_parse(r->status, &c->status[c->n]);
    c->n++;
    return 0;
}

static void test_outcomes_come_back_as_data(void **state)
{
    (void)state;
    struct store *st = open_db();
    struct plan_case cases[] = {
        make_case(&kb_selftest_noop, 16, 0),
        make_case(&k_wrong, 16, 0),
        make_case(&kb_selftest_crash, 16, 0),
        make_case(&kb_selftest_oom, 16, 0), /* declares 16 PiB: skipped before it runs */
    };
    struct plan plan = { cases, 4, 4 };
    struct sweep_request req;
    fast_request(&req, st);
    req.plan = &plan;
    req.plan_suite = "planted";
    req.tag = "api";
    req.no_resume = 1;
    struct seen seen = { 0 };
    req.on_event = record_event;
    req.ctx = &seen;
    struct sweep_result res;
    assert_int_equal(sweep_run(&req, &res), 0);

    assert_int_equal(res.error_kind, SWEEP_OK);
    assert_true(res.run_id > 0);
    assert_int_equal(strlen(res.uuid), 36);
    assert_int_equal(res.planned, 4);
    assert_int_equal(res.stored_before, -1);
    assert_int_equal(res.n_cases, 4);
    assert_int_equal(res.cases[0].status, CASE_OK);
    assert_string_equal(res.cases[0].error, "");
    assert_true(res.cases[0].stats.n >= 3);
    assert_int_equal(res.cases[1].status, CASE_VERIFY_FAILED);
    assert_int_equal(res.cases[2].status, CASE_CRASHED);
    assert_non_null(strstr(res.cases[2].error, "killed by signal"));
    assert_int_equal(res.cases[3].status, CASE_SKIPPED);
    for (int i = 1; i < 4; i++)
        assert_true(res.cases[i].error[0] != '\0'); /* every case that is not ok says why */
    for (int i = 0; i < 4; i++) {
        assert_true(res.cases[i].case_id > 0);
        assert_ptr_equal(res.cases[i].pc.kernel, cases[i].kernel);
    }
    assert_int_equal(res.n_ok, 1);
    assert_int_equal(res.n_failed, 2);
    assert_int_equal(res.n_skipped, 1);
    assert_false(res.interrupted);
    assert_false(res.store_failed);
    assert_string_equal(res.run_status, "complete");
    assert_string_equal(seen.kinds, "BCsdsdsdsdE");

    /* and the store holds the same */
    struct run_row run;
    assert_int_equal(store_get_run(st, res.run_id, &run), 0);
    assert_string_equal(run.status, "complete");
    assert_string_equal(run.suite, "planted");
    assert_string_equal(run.tag, "api");
    assert_int_equal(run.planned_cases, 4);
    struct count c = { 0 };
    assert_int_equal(store_list_results(st, res.run_id, count_row, &c), 0);
    assert_int_equal(c.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(c.status[i], res.cases[i].status);
    /* a run stored without resume arguments cannot be resumed by `kbench run --resume`, and says so */
    assert_int_equal(store_run_finish(st, res.run_id, "interrupted"), 0);
    assert_int_equal(store_run_resumable(st, res.run_id), -1);
    assert_non_null(strstr(store_errmsg(st), "without its arguments"));
    sweep_result_free(&res);
    store_close(st);
}

static void test_plans_a_suite_text(void **state)
{
    (void)state;
    struct store *st = open_db();
    struct sweep_request req;
    fast_request(&req, st);
    req.suite_text = "[fine]\nkernels = selftest.noop\nseq = 16,32\n[broken]\nkernels = selftest.abort\nseq = 16\n";
    req.suite_label = "inline.suite";
    struct sweep_result res;
    assert_int_equal(sweep_run(&req, &res), 0);
    assert_int_equal(res.planned, 3);
    assert_string_equal(res.suite_name, "inline.suite");
    assert_int_equal(res.n_ok, 2);
    assert_int_equal(res.n_failed, 1);
    assert_int_equal(res.cases[2].status, CASE_CRASHED);
    assert_non_null(strstr(res.cases[2].error, "killed by signal"));
    sweep_result_free(&res);
    store_close(st);
}

static void test_errors_say_what_is_wrong(void **state)
{
    (void)state;
    struct store *st = open_db();
    struct sweep_request req;
    struct sweep_result res;
    fast_request(&req, st);
    req.suite = "no-such-suite-anywhere";
    assert_int_equal(sweep_run(&req, &res), -1);
    assert_int_equal(res.error_kind, SWEEP_ERR_INPUT);
    assert_non_null(strstr(res.error, "no suite 'no-such-suite-anywhere'"));
    assert_int_equal(res.run_id, 0);

    struct sweep_axis axes[] = { { "kernels", "selftest.noop" }, { "seq", "banana" } };
    fast_request(&req, st);
    req.axes = axes;
    req.n_axes = 2;
    assert_int_equal(sweep_run(&req, &res), -1);
    assert_int_equal(res.error_kind, SWEEP_ERR_USAGE);
    assert_non_null(strstr(res.error, "banana"));

    struct sweep_axis nothing[] = { { "kernels", "no.such.kernel" } };
    fast_request(&req, st);
    req.axes = nothing;
    req.n_axes = 1;
    assert_int_equal(sweep_run(&req, &res), -1);
    assert_int_equal(res.error_kind, SWEEP_ERR_USAGE);
    assert_non_null(strstr(res.error, "no.such.kernel"));

    fast_request(&req, st);
    req.resume_run_id = 999;
    assert_int_equal(sweep_run(&req, &res), -1);
    assert_int_equal(res.error_kind, SWEEP_ERR_INPUT);
    assert_non_null(strstr(res.error, "999"));

    /* nothing above started a run */
    struct run_row run;
    assert_int_equal(store_get_run(st, 1, &run), -1);
    store_close(st);
}

static void test_resume_measures_only_what_is_missing(void **state)
{
    (void)state;
    struct store *st = open_db();
    char *args[] = { "--kernels", "selftest.noop", "--seq", "16,32,64", NULL };
    struct sweep_axis axes[] = { { "kernels", "selftest.noop" }, { "seq", "16,32,64" } };
    struct sweep_request req;
    fast_request(&req, st);
    req.axes = axes;
    req.n_axes = 2;
    req.argc = 4;
    req.argv = args;
    struct seen seen = { .stop_after = 1 };
    req.on_event = record_event;
    req.ctx = &seen;
    struct sweep_result first;
    assert_int_equal(sweep_run(&req, &first), 0);
    assert_int_equal(first.planned, 3);
    assert_int_equal(first.n_cases, 1);
    assert_true(first.interrupted);
    assert_string_equal(first.run_status, "interrupted");
    int measured_seq = first.cases[0].pc.shape.seq_len;
    int64_t run_id = first.run_id;
    sweep_result_free(&first);
    struct run_row run;
    assert_int_equal(store_get_run(st, run_id, &run), 0);
    assert_string_equal(run.status, "interrupted");

    /* what a resume would measure, changing nothing */
    struct sweep_request again = req;
    again.on_event = NULL;
    again.resume_run_id = run_id;
    again.plan_only = 1;
    struct sweep_result look;
    assert_int_equal(sweep_run(&again, &look), 0);
    assert_int_equal(look.plan.n, 2);
    assert_int_equal(look.stored_before, 1);
    sweep_result_free(&look);
    assert_int_equal(store_get_run(st, run_id, &run), 0);
    assert_string_equal(run.status, "interrupted");

    /* the resume itself: the two missing cases, into the same run */
    again.plan_only = 0;
    struct sweep_result rest;
    assert_int_equal(sweep_run(&again, &rest), 0);
    assert_int_equal(rest.run_id, run_id);
    assert_int_equal(rest.stored_before, 1);
    assert_int_equal(rest.planned, 2);
    assert_int_equal(rest.n_cases, 2);
    for (size_t i = 0; i < rest.n_cases; i++) {
        assert_int_equal(rest.cases[i].status, CASE_OK);
        assert_int_not_equal(rest.cases[i].pc.shape.seq_len, measured_seq);
    }
    assert_false(rest.interrupted);
    assert_string_equal(rest.run_status, "complete");
    sweep_result_free(&rest);
    struct count c = { 0 };
    assert_int_equal(store_list_results(st, run_id, count_row, &c), 0);
    assert_int_equal(c.n, 3);

    /* a complete run: nothing to do, and nothing done */
    struct sweep_result done;
    assert_int_equal(sweep_run(&again, &done), 0);
    assert_true(done.already_complete);
    assert_int_equal(done.n_cases, 0);
    sweep_result_free(&done);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outcomes_come_back_as_data, make_db, remove_db),
        cmocka_unit_test_setup_teardown(test_plans_a_suite_text, make_db, remove_db),
        cmocka_unit_test_setup_teardown(test_errors_say_what_is_wrong, make_db, remove_db),
        cmocka_unit_test_setup_teardown(test_resume_measures_only_what_is_missing, make_db, remove_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
