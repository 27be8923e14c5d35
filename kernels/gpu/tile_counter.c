/* tile_counter.c - the work-tile counters of the causal persistent attention kernels
 * (tile_counter.h). */
#include "kernels/gpu/tile_counter.h"

#include <cuda_runtime_api.h>
#include <stddef.h>

#define MAX_DEVICES 64
static int *counters[MAX_DEVICES]; /* per device, two ints each */

/* the current device's entry of counters, or NULL and *e why */
static int **counter_slot(cudaError_t *e)
{
    int d = 0;
    *e = cudaGetDevice(&d);
    if (*e == cudaSuccess && (d < 0 || d >= MAX_DEVICES))
        *e = cudaErrorInvalidDevice;
    return *e == cudaSuccess ? &counters[d] : NULL;
}

int kb_tile_counter_reset(void)
{
    cudaError_t e;
    int **const slot = counter_slot(&e);
    if (!slot)
        return (int)e;
    if (!*slot && (e = cudaMalloc((void **)slot, 2 * sizeof(int))) != cudaSuccess)
        return (int)e;
    return (int)cudaMemset(*slot, 0, 2 * sizeof(int));
}

int *kb_tile_counter(void)
{
    cudaError_t e;
    int **const slot = counter_slot(&e);
    return slot ? *slot : NULL;
}
