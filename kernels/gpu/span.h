/* span.h - one case over several GPUs (kb_shape.span): one process drives them all through an
 * NCCL communicator made by ncclCommInitAll, with a stream per GPU.
 *
 * Why one process: the harness already runs each case in one child process, and a single
 * process needs no ncclUniqueId passed between processes, sees every rank's routing counts in
 * host memory (no count exchange), and fails as one. Rank 0 is cuda:first and works on the
 * case's own stream (c->stream), so the harness's events time it; every other rank's stream
 * waits for rank 0's start and rank 0's stream waits for every rank's end, so the timed
 * interval is that of the slowest rank. Each rank also records its own start and end events:
 * the per-rank times (counters rank0_s, rank1_s, ...).
 *
 * Without NCCL (configure --without-nccl, or no nccl.h) kb_span_open returns KB_UNSUPPORTED
 * with the reason, so multi-GPU cases are stored skipped. */
#ifndef KB_GPU_SPAN_H
#define KB_GPU_SPAN_H

#include <stddef.h>

#include "kernels/kernel.h"

#define KB_SPAN_MAX 64

struct kb_span {
    int ranks;                   /* GPUs: cuda:first .. cuda:first+ranks-1 */
    int first;
    void *comm[KB_SPAN_MAX];     /* ncclComm_t */
    void *stream[KB_SPAN_MAX];   /* cudaStream_t; [0] is the case's stream (not owned) */
    void *begin[KB_SPAN_MAX];    /* cudaEvent_t: each rank's start and end of the last run */
    void *end[KB_SPAN_MAX];
    double bytes_moved;          /* bytes the last run sent between GPUs (all ranks) */
};

/* Opens the communicator over c's GPUs (c->device_index, c->shape.span of them; span 0 means 1).
 * KB_OK; KB_UNSUPPORTED (no NCCL in this build, fewer GPUs than the span) or KB_ERROR with the
 * reason in err. Sets NCCL_NVLS_ENABLE=0 first unless the user set it. */
int kb_span_open(struct kb_span *sp, const struct kb_case *c, char *err, size_t errlen);
/* 1 when c's stream is being captured into a CUDA graph. The multi-GPU runs refuse capture (their
 * run returns KB_ERROR at once, before any NCCL call, so the harness times them directly): an
 * NCCL group cut short by a failed capture could leave the ranks out of step. */
int kb_span_capturing(const struct kb_case *c);
/* Rank r's start: rank 0 records its begin event; the others wait for it on their streams. */
int kb_span_fork(struct kb_span *sp);
/* Every rank records its end; rank 0's stream waits for them all (the slowest rank). */
int kb_span_join(struct kb_span *sp);
/* Seconds between rank r's begin and end events of the last run (-1 when unknown). */
double kb_span_rank_seconds(const struct kb_span *sp, int r);
/* Counters: rank<r>_s for every rank, nccl_bytes, span. Returns how many (at most max). */
int kb_span_stats(const struct kb_span *sp, struct kb_counter *out, int max);
/* Destroys the communicators, streams and events (safe on a half-opened span). */
void kb_span_close(struct kb_span *sp);

/* ---- a span kernel's case state, whose first member is its struct kb_span ------------------ */
/* Setup's start: a zeroed state of state_bytes, the span opened over c's GPUs (kb_span_open),
 * then c->state. KB_OK, or the error with the reason in err ("kernel: out of memory" when the
 * state cannot be allocated) and nothing left allocated. */
int kb_span_state_open(struct kb_case *c, size_t state_bytes, const char *kernel, char *err, size_t errlen);
/* Teardown's end: the span closed, the state freed, c->state NULL. */
void kb_span_state_close(struct kb_case *c);
/* A .stats: kb_span_stats of the state's span (none before setup). */
int kb_span_case_stats(const struct kb_case *c, struct kb_counter *out, int max);
/* Run's refusal while c's stream is being captured (kb_span_capturing): 1 with "kernel: not
 * captured into a CUDA graph (timed call by call)" in c->error; else 0. */
int kb_span_refuse_capture(struct kb_case *c, const char *kernel);
/* Makes cuda:first+r current and waits for rank r's stream; a cudaError_t (0: done). */
int kb_span_rank_sync(const struct kb_span *sp, int r);

/* Sets NCCL_NVLS_ENABLE=0 unless the user set it (kb_span_open calls it; so does calibrate). */
void kb_span_nvls_off(void);

#endif
