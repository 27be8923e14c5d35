/* runner_child.h - internal to the runner: the measurement done inside the case's process, and
 * the fixed-size message it sends back. Not part of the harness's interface (see runner.h). */
#ifndef KB_RUNNER_CHILD_H
#define KB_RUNNER_CHILD_H

#include <sys/types.h>

#include "harness/runner.h"
#include "harness/cupti_trace.h"

struct child_result {
    int status;                  /* enum case_status */
    char error[256];
    int verified;
    struct kb_accuracy accuracy;
    int calls_per_sample;
    int warmup_calls;
    size_t n_samples;            /* followed on the pipe by n_samples doubles, then (has_clocks)
                                  * n_samples clocks (doubles) and n_samples throttle flags */
    int has_clocks;
    int stop;                    /* enum sampling_stop */
    char throttle_reason[96];    /* reasons of the throttled samples (NVML names), "" none */
    double case_start;           /* runner_now() when the case's measurement began (with a setup
                                  * allowance: when setup and verification were done) */
    int ready_sent;              /* the one-byte "setup done" went up the pipe (ready_fd) */
    int process_retires;         /* a warm process (runner_worker.c) ends after this case */
    struct kb_counter_report counters;
    struct gpu_trace gpu_trace;  /* CUDA cases: the kernels one call launches (CUPTI) */
    char nvml_status[192];       /* CUDA cases: "ok", or why NVML measured nothing */
    char metrics_status[256];    /* CUDA cases: "ok", or why CUPTI collected no metrics */
};

/* A case's samples: per-call seconds and, where the GPU's clock could be read, the SM clock
 * after each sample and whether it was throttled. */
struct sample_series {
    double *seconds;
    double *sm_clock_mhz;     /* NULL without a clock; NaN for a sample whose clock was unreadable */
    signed char *throttled;   /* NULL without a clock; 1, 0, or -1 unknown */
    size_t n;
};
void sample_series_free(struct sample_series *s);

/* Sets up, verifies, warms up, samples and counts one case in this process. The series is
 * malloc'd (res->n_samples values). Never exits; errors land in res. */
void runner_measure(const struct plan_case *pc, const struct runner_options *o,
                    struct child_result *res, struct sample_series *samples);

/* Monotonic seconds. */
double runner_now(void);

/* One sample: sets *per_call (seconds per kernel call); 0, or -1 with the reason in why. */
typedef int (*runner_take_fn)(void *ctx, double *per_call, char *why, size_t whylen);
/* The GPU's clock, read after each sample (runner_gpu.c: NVML). read returns 0 with the SM clock,
 * the maximum SM clock (0 unknown) and the throttle reasons (NVML's bit mask), or -1. */
struct runner_clock {
    int (*read)(void *ctx, double *sm_mhz, double *max_mhz, unsigned long long *reasons);
    void *ctx;
};
/* 1 when a sample at sm_mhz was taken under throttling: below `fraction` of max_mhz; 0 when not;
 * -1 when unknown (no clock or no maximum). */
int runner_sample_throttled(double sm_mhz, double max_mhz, double fraction);

/* Takes samples until the median's 95% CI of the samples that count is within the noise target
 * or the budget is spent (the same rule for every device). Samples taken under throttling (clock
 * given) are kept but do not count, unless o->include_throttled. The budget grows past
 * o->max_time_s until o->min_samples count, up to o->min_samples_cap_s and never past
 * RUNNER_SAMPLING_TIMEOUT_SHARE of the timeout since res->case_start (when > 0). res->stop says
 * why sampling stopped. The series is malloc'd; failures land in res. */
void runner_adaptive_sampling(const struct runner_options *o, runner_take_fn take, void *ctx,
                              const struct runner_clock *clock, struct child_result *res,
                              struct sample_series *out);

struct gpu_timer;
/* runner_gpu.c: warm-up, CUDA-graph batching of short kernels, cold-L2 and event-timed
 * adaptive sampling of a CUDA case. */
void runner_sample_gpu(const struct plan_case *pc, const struct runner_options *o, struct kb_case *c,
                       struct gpu_timer *t, struct child_result *res, struct sample_series *out);
/* runner_gpu.c: the passes after timing: NVML energy, then the CUPTI kernel trace. */
void runner_gpu_passes(const struct runner_options *o, struct kb_case *c, struct gpu_timer *t,
                       const double *samples, struct child_result *res);

/* Inside a case's process: says up the pipe that setup and verification are done, once, where
 * the parent waits for it (o->ready_fd >= 0); the timeout counts from here. */
void runner_signal_ready(const struct runner_options *o, struct child_result *res);

/* --no-counters (papi_events ""): no counting passes at all; --no-metrics (cupti_metrics ""): no
 * range-profiler pass. */
static inline int runner_counters_off(const struct runner_options *o) { return o->papi_events && !*o->papi_events; }
static inline int runner_metrics_off(const struct runner_options *o) { return o->cupti_metrics && !*o->cupti_metrics; }

/* A new case process's first steps: it dies with the harness, and a crash ends it with its
 * signal whatever handlers the parent had installed, so the parent can record it. */
void runner_child_prepare(void);
/* Sends a case's result up fd: the record, then the samples (and their clocks). 0 or -1. */
int runner_write_result(int fd, const struct child_result *res, const struct sample_series *samples);

/* runner_worker.c: warm case processes for GPU cases (see there). Whether this case runs in
 * one; sending it to one (started if needed; its pid and the socket its answer comes on);
 * after the answer, ending it (killed when it overran); reaping one that died in the case
 * (its wait status); and, in a new child, closing the sockets it inherited. */
int runner_worker_wanted(const struct plan_case *pc, const struct runner_options *o);
int runner_worker_send(const struct plan_case *pc, const struct runner_options *o, double allowance,
                       pid_t *pid, int *fd);
void runner_worker_done(pid_t pid, int kill_it);
void runner_worker_dead(pid_t pid, int *wstatus);
void runner_close_inherited_workers(void);

#endif
