/* sm_count.cuh - the current device's streaming multiprocessors, for kernels that size a grid by
 * them (persistent grids, wave counts). Asked of the runtime once a device: launchers call it on
 * every launch, inside the timed region. */
#ifndef KB_SM_COUNT_CUH
#define KB_SM_COUNT_CUH

#include <cuda_runtime.h>

namespace kb_gpu {

/* The SMs of the current device; 1 where the runtime cannot say (still a correct, if slow, grid). */
inline int sm_count()
{
    constexpr int CACHED = 64;  /* devices whose count is kept */
    static int known[CACHED]; /* 0: not asked yet */
    int dev = 0, n = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0)
        return 1;
    if (dev < CACHED && known[dev] > 0)
        return known[dev];
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n < 1)
        n = 1;
    if (dev < CACHED)
        known[dev] = n;
    return n;
}

} // namespace kb_gpu

#endif
