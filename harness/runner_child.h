/* runner_child.h - internal to the runner: the measurement done inside the case's process, and
 * the fixed-size message it sends back. Not part of the harness's interface (see runner.h). */
#ifndef KB_RUNNER_CHILD_H
#define KB_RUNNER_CHILD_H

#include "harness/runner.h"

struct child_result {
    int status;                  /* enum case_status */
    char error[256];
    int verified;
    struct kb_accuracy accuracy;
    int calls_per_sample;
    int warmup_calls;
    size_t n_samples;            /* followed on the pipe by n_samples doubles */
    struct kb_counter_report counters;
};

/* Sets up, verifies, warms up, samples and counts one case in this process. *samples is
 * malloc'd (n_samples values, per-call seconds). Never exits; errors land in res. */
void runner_measure(const struct plan_case *pc, const struct runner_options *o,
                    struct child_result *res, double **samples);

/* Monotonic seconds. */
double runner_now(void);

#endif
