/* pdl.cuh - programmatic dependent launch (Hopper, sm_90+) for a chain of kernels on one stream.
 *
 * Why: when a call is several dependent kernels, each one normally starts only after the one
 * before it has drained its last, nearly empty wave and been retired, so a short call pays a
 * launch gap and a tail per kernel. With PDL the next kernel is launched once every block of
 * the previous one has started (pdl_launch_dependents), so its blocks take the SMs the tail
 * leaves idle, do what does not depend on the previous kernel (load their own inputs), and
 * only then wait (pdl_wait) for the previous grid to finish and its writes to be visible.
 *
 * Device side: griddepcontrol.{launch_dependents,wait} (PTX ISA 7.8, sm_90); compiled to
 * nothing for older targets, where launch_pdl launches the plain way, so the kernel's own order
 * of work is still correct (the wait is then implied by stream order). */
#ifndef KB_GPU_PDL_CUH
#define KB_GPU_PDL_CUH

#include <cuda_runtime.h>

namespace kb_pdl {

/* Lets the next kernel on the stream (launched with launch_pdl) start. */
__device__ __forceinline__ void launch_dependents()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

/* Waits until the previous kernel on the stream has completed and its memory is visible. */
__device__ __forceinline__ void wait()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

/* 1 when the current device runs PDL (compute capability 9.0 or later), remembered per device. */
inline bool device_has_pdl()
{
    static signed char known[64]; /* 0 unknown, 1 yes, -1 no */
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64)
        return false;
    if (!known[dev])
        known[dev] = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess && major >= 9
                         ? 1
                         : -1;
    return known[dev] > 0;
}

/* Launches kernel<<<grid, block, smem, stream>>>(args...) allowed to overlap the previous kernel
 * on the stream (which must call launch_dependents, and this kernel wait before reading what
 * the previous one wrote); a plain launch where the device has no PDL. */
template <typename... Params, typename... Args>
cudaError_t launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                       Args... args)
{
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cfg.attrs = attr;
    cfg.numAttrs = device_has_pdl() ? 1 : 0;
    return cudaLaunchKernelEx(&cfg, kernel, static_cast<Params>(args)...);
}

} // namespace kb_pdl

#endif
