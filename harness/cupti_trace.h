/* cupti_trace.h - every GPU kernel a case launches, through CUPTI's Activity API: name, grid,
 * block, registers, shared memory and duration.
 *
 * Runs inside a case's process in a pass of its own after timing (tracing adds overhead the
 * timed samples must not see). Built from cupti_trace.cu with CUPTI and from cupti_none.c
 * without it (the status then says why nothing was traced).
 */
#ifndef KB_CUPTI_TRACE_H
#define KB_CUPTI_TRACE_H

#include "kernels/kernel.h"

struct gpu_timer;

#define GPU_TRACE_MAX 16 /* launches kept per call; a case launching more keeps the first */

struct gpu_kernel_launch {
    char name[160];       /* demangled, truncated to fit */
    int grid[3], block[3];
    int registers;        /* per thread */
    int static_shared;    /* bytes per block */
    int dynamic_shared;   /* bytes per block */
    double duration_s;    /* median over the traced calls of this launch's GPU time */
};

struct gpu_trace {
    int n;                /* launches per call (at most GPU_TRACE_MAX kept) */
    int launches_per_call;/* as counted, even past GPU_TRACE_MAX */
    int calls;            /* calls traced */
    double event_s;       /* median CUDA-event time of the traced calls: the same calls, same clocks */
    struct gpu_kernel_launch k[GPU_TRACE_MAX];
    char status[192];     /* "ok", or why nothing was traced */
};

/* Runs `calls` calls of run(c) on the timer's stream with kernel activity recording on, and
 * fills out. Returns 0, or -1 with out->status saying why (CUPTI missing, a call failed). */
int cupti_trace_calls(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c, int calls,
                      struct gpu_trace *out);

#endif
