/* cluster_grid.cuh - launching a kernel whose blocks walk output tiles (the grouped MoE GEMMs:
 * moe_gemm_wgmma.cu, moe_fp8_wgmma.cu) in blocks of their own or in two-block clusters, a block
 * (a cluster) a tile or persistent: as many as can be resident at once, each looping over every
 * gridDim-th tile. Include only from a .cu file's host side (tests/cuda_emu, whose drivers launch
 * the kernels themselves, installs an empty one). */
#ifndef KB_CLUSTER_GRID_CUH
#define KB_CLUSTER_GRID_CUH

#include <cuda_runtime.h>
#include <string.h>

#include "kernels/gpu/sm_count.cuh"

namespace kb_gpu {

/* The clusters of `cfg` (its cluster attribute, block and shared memory) of `kernel` that can be
 * resident at once on the current device (cudaOccupancyMaxActiveClusters: a cluster's blocks
 * share a GPC), asked once per device and kernel, so not inside a timed launch after the first;
 * the SMs over the cluster size where the runtime cannot say. */
template <class Kernel> int max_active_clusters(Kernel *kernel, const cudaLaunchConfig_t &cfg, int cluster)
{
    constexpr int CACHED = 64; /* (device, kernel) pairs kept */
    static struct {
        int dev;
        const void *kernel;
        int clusters;
    } known[CACHED];
    static int used;
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess)
        dev = -1;
    for (int i = 0; i < used; i++)
        if (known[i].dev == dev && known[i].kernel == (const void *)kernel)
            return known[i].clusters;
    int n = 0;
    if (cudaOccupancyMaxActiveClusters(&n, kernel, &cfg) != cudaSuccess || n < 1)
        n = sm_count() / cluster > 0 ? sm_count() / cluster : 1;
    if (used < CACHED)
        known[used].dev = dev, known[used].kernel = (const void *)kernel, known[used].clusters = n, used++;
    return n;
}

/* kernel(args...) over `tiles` tiles in clusters of `cluster` blocks (1 or 2; 1 launches without
 * a cluster attribute), `threads` a block, `smem` bytes of dynamic shared memory: a cluster a
 * pair of tiles (a block a tile), or with `persistent` no more than can be resident at once, one
 * block an SM. The kernel finds its tiles from blockIdx and gridDim (moe_tile.cuh's
 * moe_for_each_tile); tiles may bound them from above, blocks past the last returning at once. */
template <class... KernelArgs, class... Args>
cudaError_t launch_tile_grid(void (*kernel)(KernelArgs...), long tiles, int cluster, bool persistent, int threads,
                             int smem, cudaStream_t st, Args &&...args)
{
    cudaLaunchConfig_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cudaLaunchAttribute attr[1];
    memset(attr, 0, sizeof attr);
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = (unsigned)cluster, attr[0].val.clusterDim.y = 1, attr[0].val.clusterDim.z = 1;
    cfg.blockDim = dim3((unsigned)threads), cfg.dynamicSmemBytes = (size_t)smem, cfg.stream = st;
    cfg.attrs = attr, cfg.numAttrs = cluster > 1 ? 1 : 0;
    long groups = (tiles + cluster - 1) / cluster; /* clusters, or blocks */
    if (persistent) {
        cfg.gridDim = dim3((unsigned)(cluster * groups));
        const long fit = cluster > 1 ? max_active_clusters(kernel, cfg, cluster) : sm_count();
        if (groups > fit)
            groups = fit;
    }
    cfg.gridDim = dim3((unsigned)(cluster * groups));
    return cudaLaunchKernelEx(&cfg, kernel, static_cast<Args &&>(args)...);
}

} // namespace kb_gpu

#endif
