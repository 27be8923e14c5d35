/* runner.h - measuring one case: isolation, verification, warm-up, adaptive sampling,
 * cold/hot cache, counters.
 *
 * Each case runs in a forked child with a time limit. The child sets up the kernel, runs it
 * once, verifies it against the reference (a wrong answer ends the case: it is never timed),
 * warms up, then samples until the median's 95% confidence interval is within the noise
 * target or the time budget is spent, then counts PAPI events in a separate pass, and sends
 * everything back through a pipe. A crash or hang becomes the case's status.
 */
#ifndef KB_RUNNER_H
#define KB_RUNNER_H

#include "harness/plan.h"
#include "harness/record.h"

struct runner_options {
    double noise_target;   /* stop when CI half-width / median <= this (0.01) */
    double min_time_s;     /* sample at least this long (0.02) */
    double max_time_s;     /* per-case sampling budget (1.0) */
    int min_samples;       /* (10): the budget grows past max_time_s until this many samples count */
    double min_samples_cap_s; /* ... but sampling stops at this many seconds (10), and before 3/4 of
                               * timeout_s since the case began, so the case is never killed for it */
    int max_samples;       /* (100000) */
    double min_sample_s;   /* batch calls until a sample lasts this long, hot cache only (20e-6) */
    double warmup_s;       /* (0.01), at least one call */
    double timeout_s;      /* child killed after this long (60) */
    double setup_timeout_s; /* > 0: setup and verification (the first call, where a JIT compiles)
                            * may take this long before timeout_s starts; 0: the default, none
                            * for C kernels, RUNNER_PYTHON_SETUP_S for Python implementations */
    int ready_fd;          /* inside a case's process: where to say setup is done (-1: nowhere) */
    const char *papi_events; /* NULL: defaults; "": no PAPI pass */
    const char *dump_dir;  /* NULL: no dumps */
    const char *cupti_metrics; /* GPU cases: NULL the default metric set; "": no metrics pass */
    int isolate;           /* 1: fork per case (default); 0: in process (tests, debuggers) */
    int reuse_process;     /* isolated cases: RUNNER_PROCESS_FRESH, _AUTO (default) or _WARM */
    double throttle_fraction; /* GPU: a sample whose SM clock is below this fraction of the maximum
                               * is taken under throttling (0.75, as nvbench) */
    int include_throttled; /* 1: throttled samples count in the statistics (0: set aside) */
};
/* The setup allowance of a Python implementation by default: Triton kernels (fla's) compile
 * and autotune in their first call, 30-60 s on an H100, in each case's new process. */
#define RUNNER_PYTHON_SETUP_S 300.0
/* The seconds a case may spend in setup and verification before its timeout starts: 0 where
 * they count inside the timeout. */
double runner_setup_allowance(const struct plan_case *pc, const struct runner_options *o);
/* The part of a case's timeout that its sampling may use when the budget grows for the minimum:
 * the rest is left for the counting passes and the result. */
#define RUNNER_SAMPLING_TIMEOUT_SHARE 0.75
/* Which isolated cases run in a warm process that outlives the case (runner_worker.c): none
 * (a new process for every case), GPU cases only (their process start, the CUDA context, costs
 * about half a second), or every case. */
enum { RUNNER_PROCESS_FRESH = 0, RUNNER_PROCESS_AUTO = 1, RUNNER_PROCESS_WARM = 2 };
void runner_options_default(struct runner_options *o);

/* Measures one case; fills rec (the caller releases it). Returns 0 whatever the case's
 * outcome (rec->status says), or -1 when the harness itself failed (fork, pipe). */
int runner_run_case(const struct plan_case *pc, const struct runner_options *o, struct case_record *rec);

/* The statistics of a measured case (rec->stats, set_aside, noise_met) from its samples: those
 * marked throttled are set aside unless include_throttled; rec->noise_target must be set. */
void runner_summarize(struct case_record *rec, int include_throttled, uint64_t seed);

/* Ends the warm case processes (runner_worker.c): a sweep calls it when its last case is done.
 * Harmless when there are none. */
void runner_close_workers(void);

/* Asks a running case to stop (async-signal-safe): the child is killed and the case comes
 * back CASE_INTERRUPTED. */
void runner_request_stop(void);
int runner_stop_requested(void);

#endif
