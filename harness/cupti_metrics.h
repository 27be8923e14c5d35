/* cupti_metrics.h - GPU performance metrics through CUPTI's range profiler, in a pass of their
 * own after timing: one range is one call of the case (all the kernels it launches), and the
 * call is replayed once per pass the metrics need (user replay), so a metric set larger than
 * the hardware counts at once still comes from whole calls.
 *
 * Built from cupti_metrics.cu with CUPTI and from cupti_metrics_none.c without it. Where
 * profiling is refused (no root and NVreg_RestrictProfilingToAdminUsers=1, a virtual GPU) the
 * status says so and nothing else is lost.
 */
#ifndef KB_CUPTI_METRICS_H
#define KB_CUPTI_METRICS_H

#include <stddef.h>

#include "harness/counters.h"
#include "kernels/kernel.h"

struct gpu_timer;

/* The default set, comma-separated: DRAM bytes read and written, SM and memory throughput (% of
 * peak), achieved occupancy, tensor-pipe activity, L2 hit rate. A name this GPU lacks is left
 * out of the default set (the status lists it). */
extern const char cupti_default_metrics[];

/* Profiles one call of run(c) on cuda:c->device_index and appends each metric (backend
 * "cupti", unit from CUPTI's description) to r. metrics_csv NULL: the default set. status gets
 * "ok", "ok (without ...)" or why nothing was collected. Returns 0 or -1. */
int cupti_metrics_collect(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c,
                          const char *metrics_csv, struct kb_counter_report *r, char *status, size_t len);

/* Checks metric names against the GPU's metrics before a run starts, in a short-lived child
 * (kbench itself never initialises CUDA). An unknown name is an error naming it, with the
 * nearest names this GPU has. Returns 0, or -1 with the message in err. */
int cupti_metrics_validate(const char *metrics_csv, int device, char *err, size_t errlen);

#endif
