/* timer_gpu.h - timing GPU work inside a case's process: CUDA events around each sample on a
 * dedicated stream, a cold-L2 flush outside the timed region, and CUDA-graph replay of short
 * kernels so launch overhead stays out of the figure.
 *
 * Built from timer_cuda.cu with CUDA and from timer_none.c without it (where every call
 * fails, saying why), so callers never need #ifdef. Only a case's child process calls this:
 * the harness process itself never initialises CUDA (see gpu.h).
 */
#ifndef KB_TIMER_GPU_H
#define KB_TIMER_GPU_H

#include <stddef.h>

#include "kernels/kernel.h"

struct gpu_timer;

/* Selects cuda:device and creates a non-blocking stream, two events and, when cold_l2, a flush
 * buffer twice the size of the device's L2. Returns NULL with the reason in why. */
struct gpu_timer *gpu_timer_new(int device, int cold_l2, char *why, size_t whylen);
void gpu_timer_free(struct gpu_timer *t);

/* The cudaStream_t (as void *) kernels launch on: goes into kb_case.stream. */
void *gpu_timer_stream(const struct gpu_timer *t);
/* The device's L2 size in bytes. */
double gpu_timer_l2_bytes(const struct gpu_timer *t);

/* Waits for everything on the stream; 0, or -1 with the CUDA error (an asynchronous fault in
 * the kernel, say) in why. */
int gpu_timer_sync(struct gpu_timer *t, char *why, size_t whylen);
/* Waits for everything on the device, every stream included: after a case's setup, so copies
 * and memsets it left on the legacy default stream (a plain cudaMemcpy from pageable memory
 * returns before its DMA ends) are done before the case's non-blocking stream runs the kernel.
 * 0, or -1 with the CUDA error in why. */
int gpu_timer_settle(struct gpu_timer *t, char *why, size_t whylen);

/* Chooses what one sample runs: `calls` back-to-back calls of run(c). With use_graph the calls
 * are captured once into a CUDA graph that each sample replays; when the kernel cannot be
 * captured the calls are launched directly instead. Returns 1 (graph), 0 (direct launches) or
 * -1 with the reason in why (a call failed). */
int gpu_timer_prepare(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c, int calls,
                      int use_graph, char *why, size_t whylen);

/* One sample: the flush (cold mode; not timed), an event, the prepared calls, an event, a wait.
 * *seconds is the events' elapsed time divided by the calls. 0, or -1 with the reason in why. */
int gpu_timer_sample(struct gpu_timer *t, double *seconds, char *why, size_t whylen);

/* Runs the prepared calls `times` times back to back (no flush, no events), then waits: the
 * energy pass. 0, or -1 with the reason in why. */
int gpu_timer_repeat(struct gpu_timer *t, int times, char *why, size_t whylen);
/* Calls per repetition, as prepared. */
int gpu_timer_calls(const struct gpu_timer *t);

/* "0000:1A:00.0": the device's PCI bus id, which NVML uses to find the same GPU. */
int gpu_timer_pci_bus_id(const struct gpu_timer *t, char *out, size_t len);

#endif
