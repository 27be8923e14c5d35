/* device_memory.h - whether a case's buffers fit on the GPU, asked before allocating them, so a
 * shape too big for the device is a skipped case that says why, not an allocation failure. */
#ifndef KB_DEVICE_MEMORY_H
#define KB_DEVICE_MEMORY_H

#include <stddef.h>

/* KB_OK when `need` bytes are at most `share` (0..1] of the current device's free memory, else
 * KB_UNSUPPORTED with "<what> need(s) X GiB of GPU memory, more than <share> of the Y GiB free"
 * in err. When the free memory cannot be read, KB_OK: the allocations themselves will say. */
int gpu_memory_fits(double need, double share, const char *what, char *err, size_t errlen);

#endif
