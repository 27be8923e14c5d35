/* sweep.h - one sweep as a library call: plan it, store the run, measure every case in isolation,
 * store each case as it finishes, finish the run; or resume an unfinished run, measuring only the
 * cases it has not stored.
 *
 * Every command that measures goes through sweep_run (`kbench run`, `claims`, `nightly`; the
 * dashboard may): what happens is told through an event callback (progress, warnings, waits for
 * a locked database), and what came of it is returned as data (the run, each case's status and
 * error text, counts, interrupted or not), so no command reads another's printed text.
 *
 * Signals are the caller's: a command that wants Ctrl-C to end a sweep cleanly installs a handler
 * that calls runner_request_stop(); the sweep then stops, marks the run interrupted and says so.
 */
#ifndef KB_SWEEP_H
#define KB_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "harness/plan.h"
#include "harness/record.h"
#include "harness/runner.h"
#include "harness/store.h"

/* One axis as plan_spec_set takes it ("seq", "512:4096:x2"), applied over every group. */
struct sweep_axis {
    const char *key, *value;
};

enum sweep_event_kind {
    SWEEP_EV_BEGIN,      /* the run exists: run_id, uuid, total (this call's cases), stored (resume) */
    SWEEP_EV_WARNING,    /* text: one whole line (before the cases: the run's; after a case: that case's) */
    SWEEP_EV_CASES,      /* the cases start: total */
    SWEEP_EV_CASE_START, /* index, total, pc, label */
    SWEEP_EV_CASE_DONE,  /* index, total, pc, label, rec (stored; its warnings came just before) */
    SWEEP_EV_WAIT,       /* text: the database is locked by another writer, and the sweep waits */
    SWEEP_EV_ERROR,      /* text: the harness or the store failed; the sweep stops (result.error too) */
    SWEEP_EV_END,        /* the cases are over (before the run is finished in the store) */
};

struct sweep_event {
    enum sweep_event_kind kind;
    int64_t run_id;
    const char *uuid;
    size_t index, total;          /* the case (0-based) among this call's cases */
    long stored;                  /* SWEEP_EV_BEGIN of a resume: cases the run had already stored; -1 new */
    const struct plan_case *pc;
    const char *label;            /* sweep_case_label of pc */
    const struct case_record *rec;
    const char *text;
};

/* The events of a sweep come in this order: BEGIN, WARNING (the run's), CASES, then per case
 * CASE_START, WARNING (the case's), CASE_DONE, then END; WAIT and ERROR where they happen.
 * The return of CASE_DONE is heeded: non-zero stops the sweep before its next case (the run is
 * then interrupted, as by runner_request_stop, but nothing process-wide is set: a dashboard's
 * "stop" button); the others' is ignored. */
typedef int (*sweep_event_fn)(const struct sweep_event *ev, void *ctx);

struct sweep_request {
    /* What to measure, one of:
     *  - plan: cases planned already (sweep_plan, or built by hand): measured as they are;
     *  - suite_text: a suite's text (claims carry theirs), named suite_label in errors and, unless
     *    it has a `name`, in the run's suite column;
     *  - suite: a suite name or file (plan_suite_find);
     *  - none of them: one group of the planner's defaults.
     * axes are set over every group; shard_n > 1 keeps shard shard_i of shard_n. */
    const struct plan *plan;
    const char *plan_suite;       /* with plan: the suite name stored with the run (NULL: none) */
    const char *suite;
    const char *suite_text, *suite_label;
    const struct sweep_axis *axes;
    int n_axes;
    int shard_i, shard_n;
    struct runner_options ro;

    /* Where it goes: an open, writable store (read-only is enough with plan_only). */
    struct store *store;
    const char *tag;              /* NULL: untagged */
    const char *cmdline;          /* stored with the run: the command as a user can paste it */
    /* The arguments `kbench run --resume` re-plans the run from (after "run"); no_resume: none are
     * stored, as the sweep came from elsewhere (a claim's suite) and `kbench run` cannot plan it. */
    int argc;
    char **argv;
    int no_resume;

    /* > 0: finish this unfinished run of this machine instead of starting one; the request must
     * plan what the run planned, and only the cases it has not stored are measured. */
    int64_t resume_run_id;
    /* 1: plan (and for a resume, leave out what is stored) into result.plan, measure nothing,
     * change nothing in the store. */
    int plan_only;

    sweep_event_fn on_event;      /* NULL: silent */
    void *ctx;
};

/* A request's defaults: nothing to plan, runner_options_default, no store. */
void sweep_request_init(struct sweep_request *req);

/* What kind of error stopped a sweep before it measured: the request was wrong (an axis value,
 * a pattern matching no kernel: the user's to fix) or what it needs was not there (a suite, a
 * device, the run to resume, the store). */
enum sweep_error_kind { SWEEP_OK, SWEEP_ERR_USAGE, SWEEP_ERR_INPUT };

/* What one measured case came to. */
struct sweep_outcome {
    struct plan_case pc;
    enum case_status status;
    char error[256];              /* why, for any status but ok */
    int64_t case_id;              /* its row in the store */
    struct kb_stats stats;        /* NaN/0 where it was not timed */
};

struct sweep_result {
    enum sweep_error_kind error_kind;
    char error[1024];             /* why it could not plan or start, or why the store failed */
    int64_t run_id;               /* 0: no run was started or reopened */
    char uuid[37];
    char suite_name[64];          /* the suite's own name (its `name` key), else as given; "" none */
    size_t planned;               /* this call's cases (a resume: those still to go) */
    long stored_before;           /* a resume: the cases the run already had; -1 a new run */
    struct sweep_outcome *cases;  /* this call's measured cases, in order */
    size_t n_cases;
    size_t n_ok, n_failed, n_skipped; /* failed: any status but ok and skipped */
    int interrupted;              /* stopped before every case was measured (signal or callback) */
    int store_failed;             /* the harness or the store failed: the run is marked failed */
    int already_complete;         /* a resume of a complete run: nothing was done */
    const char *run_status;       /* "complete", "interrupted", "failed"; NULL when none finished */
    struct plan plan;             /* plan_only: the cases it would measure */
};

/* Plans a request (suite, axes, shard; devices named must exist here; --metrics are checked on the
 * plan's first GPU) into plan. Returns 0, or -1 with the kind and message in res (a plan that has no
 * case is an error unless resuming). res->suite_name gets the suite's name. */
int sweep_plan(const struct sweep_request *req, struct plan *plan, struct sweep_result *res);

/* Runs the sweep. Returns 0 when it ran (whatever the cases' outcomes, also interrupted, a
 * store that failed mid-way (store_failed) or a complete run resumed), -1 when it could not start
 * (res->error_kind, res->error). Release res with sweep_result_free. */
int sweep_run(const struct sweep_request *req, struct sweep_result *res);

void sweep_result_free(struct sweep_result *res);

/* "attention.flash@cpu cpu f32 b=1 h=8 n=512 d=64 t=1": a case as progress and warnings name it. */
void sweep_case_label(const struct plan_case *c, char *buf, size_t len);

#endif
