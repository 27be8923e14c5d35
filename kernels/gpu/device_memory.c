/* device_memory.c - the free-memory check before a case allocates (device_memory.h). */
#include "kernels/gpu/device_memory.h"

#include <cuda_runtime_api.h>
#include <stdio.h>

#include "kernels/kernel.h"

int gpu_memory_fits(double need, double share, const char *what, char *err, size_t errlen)
{
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        return KB_OK;
    }
    if (need <= share * (double)free_b)
        return KB_OK;
    const double gib = 1073741824.0;
    if (share >= 1.0)
        snprintf(err, errlen, "%s: needs %.2f GiB of GPU memory, %.2f GiB free", what, need / gib, (double)free_b / gib);
    else if (share == 0.25)
        snprintf(err, errlen, "%s: needs %.2f GiB of GPU memory, more than a quarter of the %.2f GiB free", what,
                 need / gib, (double)free_b / gib);
    else
        snprintf(err, errlen, "%s: needs %.2f GiB of GPU memory, more than %.0f%% of the %.2f GiB free", what,
                 need / gib, 100.0 * share, (double)free_b / gib);
    return KB_UNSUPPORTED;
}

int gpu_copy_to_device(void *dst, const void *src, size_t bytes)
{
    cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize(); /* waits for the copy's DMA, whatever stream runs next */
    return (int)e;
}
