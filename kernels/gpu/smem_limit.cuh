/* smem_limit.cuh - lets kernels use more dynamic shared memory than the default 48 KiB, as each
 * kernel whose tiles need more must ask once before its first launch (the prepare functions of
 * the Hopper kernels). */
#ifndef KB_SMEM_LIMIT_CUH
#define KB_SMEM_LIMIT_CUH

#include <cuda_runtime.h>

namespace kb_gpu {

/* Raises each of kernels' dynamic shared-memory limit to bytes, in order, stopping at the first
 * error: that error, or cudaSuccess. */
template <typename... Kernel> cudaError_t allow_dynamic_smem(int bytes, Kernel *...kernels)
{
    cudaError_t e = cudaSuccess;
    ((e = e == cudaSuccess ? cudaFuncSetAttribute(kernels, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes) : e),
     ...);
    return e;
}

} // namespace kb_gpu

#endif
