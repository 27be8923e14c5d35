/* device_memory.h - whether a case's buffers fit on the GPU, asked before allocating them, so a
 * shape too big for the device is a skipped case that says why, not an allocation failure; and
 * host-to-device copies that are complete when they return. */
#ifndef KB_DEVICE_MEMORY_H
#define KB_DEVICE_MEMORY_H

#include <stddef.h>

/* KB_OK when `need` bytes are at most `share` (0..1] of the current device's free memory, else
 * KB_UNSUPPORTED with "<what> need(s) X GiB of GPU memory, more than <share> of the Y GiB free"
 * in err. When the free memory cannot be read, KB_OK: the allocations themselves will say. */
int gpu_memory_fits(double need, double share, const char *what, char *err, size_t errlen);

/* Copies bytes from host memory to the device and returns once they are there (a cudaError_t,
 * 0 on success). A plain cudaMemcpy from pageable memory may return while its DMA is still in
 * flight, and a case's kernels run on a non-blocking stream that does not wait for the legacy
 * stream's copies: such a kernel may read the buffer's previous contents. A fresh process hands
 * out zeroed memory, which hid that; a warm case process (harness/runner_worker.c) reuses the
 * last case's memory, and attention.varlen@cuda.mma read a stale cu_seqlens there. */
int gpu_copy_to_device(void *dst, const void *src, size_t bytes);

#endif
