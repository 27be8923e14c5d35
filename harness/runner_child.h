/* runner_child.h - internal to the runner: the measurement done inside the case's process, and
 * the fixed-size message it sends back. Not part of the harness's interface (see runner.h). */
#ifndef KB_RUNNER_CHILD_H
#define KB_RUNNER_CHILD_H

#include "harness/runner.h"
#include "harness/cupti_trace.h"

struct child_result {
    int status;                  /* enum case_status */
    char error[256];
    int verified;
    struct kb_accuracy accuracy;
    int calls_per_sample;
    int warmup_calls;
    size_t n_samples;            /* followed on the pipe by n_samples doubles */
    struct kb_counter_report counters;
    struct gpu_trace gpu_trace;  /* CUDA cases: the kernels one call launches (CUPTI) */
    char nvml_status[192];       /* CUDA cases: "ok", or why NVML measured nothing */
    char metrics_status[256];    /* CUDA cases: "ok", or why CUPTI collected no metrics */
};

/* Sets up, verifies, warms up, samples and counts one case in this process. *samples is
 * malloc'd (n_samples values, per-call seconds). Never exits; errors land in res. */
void runner_measure(const struct plan_case *pc, const struct runner_options *o,
                    struct child_result *res, double **samples);

/* Monotonic seconds. */
double runner_now(void);

/* One sample: sets *per_call (seconds per kernel call); 0, or -1 with the reason in why. */
typedef int (*runner_take_fn)(void *ctx, double *per_call, char *why, size_t whylen);
/* Takes samples until the median's 95% CI is within the noise target or the budget is spent
 * (the same rule for every device). *samples_out is malloc'd; failures land in res. */
void runner_adaptive_sampling(const struct runner_options *o, runner_take_fn take, void *ctx,
                              struct child_result *res, double **samples_out);

struct gpu_timer;
/* runner_gpu.c: warm-up, CUDA-graph batching of short kernels, cold-L2 and event-timed
 * adaptive sampling of a CUDA case. */
void runner_sample_gpu(const struct plan_case *pc, const struct runner_options *o, struct kb_case *c,
                       struct gpu_timer *t, struct child_result *res, double **samples_out);
/* runner_gpu.c: the passes after timing: NVML energy, then the CUPTI kernel trace. */
void runner_gpu_passes(const struct runner_options *o, struct kb_case *c, struct gpu_timer *t,
                       const double *samples, struct child_result *res);

#endif
