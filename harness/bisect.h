/* bisect.h - the first commit that made a case slower: commits between a good and a bad one of
 * a git repository (kbench's own, or a user's plugin's) are each built with the user's command
 * and measured, and a binary search over them, judged with compare's statistics, names the
 * first bad commit with the evidence on both sides.
 *
 * The repository is cloned into a work folder (its own work tree is never touched); each commit
 * tested is checked out there, its build output removed, the build command run (sh -c, in the
 * checkout), and the build's product (the plugin, or a kbench executable) copied aside and
 * measured through remeasure.h as a run tagged bisect-<short sha>. GOOD and BAD are measured
 * first, and BAD must be shown slower than GOOD (compare's regressed verdict), else there is
 * nothing to bisect. A commit is bad when it is shown slower than GOOD, good when BAD is shown
 * slower than it; when neither can be shown it is measured once more (samples pooled) and then
 * goes to the side whose median it is nearer (said in its note). A commit whose build fails, or
 * whose case does not come out ok (verification failed, crashed), is skipped, as `git bisect
 * skip` does: the nearest untested commit is tried instead, and every skip is reported.
 */
#ifndef KB_BISECT_H
#define KB_BISECT_H

#include <stddef.h>
#include <stdint.h>

#include "harness/compare.h"
#include "harness/remeasure.h"

enum bisect_state {
    BISECT_UNTESTED,
    BISECT_GOOD,
    BISECT_BAD,
    BISECT_SKIPPED_BUILD,    /* the build command failed, or made no product */
    BISECT_SKIPPED_MEASURE,  /* measured, but the case was not ok (verify failed, crashed, ...) */
};
/* "untested", "good", "bad", "skipped (build)", "skipped (measurement)" */
const char *bisect_state_name(enum bisect_state s);

struct bisect_commit {
    char sha[41];
    char subject[120];
    enum bisect_state state;
    char note[320];          /* why skipped; how a close call was decided */
    double median, ci_lo, ci_hi; /* seconds per call, its 95% CI; NaN untested */
    size_t n;                /* samples */
    int64_t run_id;          /* its last measurement's run; 0 none */
    double *samples;         /* pooled samples (internal) */
};

enum bisect_event_kind { BISECT_EV_BUILD, BISECT_EV_MEASURE, BISECT_EV_TESTED };
struct bisect_event {
    enum bisect_event_kind kind;
    const struct bisect_commit *commit;
    size_t index, total;     /* the commit among all (0: GOOD) */
};

struct bisect_options {
    const char *repo;            /* a git repository (a folder in it) */
    const char *good, *bad;      /* any revisions git understands; GOOD an ancestor of BAD */
    const char *build;           /* shell command run in the checkout */
    const char *plugin;          /* the plugin the build makes, relative to the checkout; NULL: kbench's own */
    const char *bin;             /* with plugin NULL: the kbench executable the build makes ("kbench") */
    const char *self_bin;        /* this kbench: it measures a plugin */
    const char *db_path;
    const struct remeasure_words *case_words;  /* `run` options naming the case */
    const struct remeasure_words *run_options; /* sampling options */
    struct compare_options compare;
    const char *workdir;         /* an empty folder for the clone and the builds */
    const char *log_path;        /* the builds' output is appended here */
    void (*on_event)(const struct bisect_event *ev, void *ctx);
    void *ctx;
};

struct bisect_result {
    struct bisect_commit *commits; /* GOOD, then GOOD..BAD oldest first (first-parent), BAD last */
    size_t n;
    long first_bad, last_good;   /* indices; first_bad -1: not found */
    int ambiguous;               /* skipped commits lie between last_good and first_bad */
    struct compare_case evidence; /* first_bad judged against last_good: ratio, CI, p, reason */
    int builds, measurements;
    double seconds;
    char error[768];             /* why the bisection could not finish ("" when it did) */
};

/* Runs the bisection. Returns 0 when it ran to an answer (first_bad >= 0), 1 when it ran but
 * found none (BAD not slower than GOOD, GOOD or BAD cannot be built or measured: error says), -1
 * when it could not start or go on (not a repository, unknown revisions, GOOD not an ancestor of
 * BAD, a case spec that plans other than one case, the database: error says).
 * Free with bisect_result_free. */
int bisect_run(const struct bisect_options *o, struct bisect_result *out);
void bisect_result_free(struct bisect_result *r);

#endif
