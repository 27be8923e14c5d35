/* wgmma.cuh - Hopper's warpgroup MMA plumbing the sm_90a kernels share (flash_wgmma.cu,
 * gemm_wgmma.cu, moe_gemm_wgmma.cu): the shared-memory matrix descriptor of the 128-byte-swizzle
 * layout, the fence / commit / wait instructions around wgmma.mma_async (PTX ISA 8.0,
 * "Asynchronous Warpgroup Level Matrix Multiply-Accumulate"), and the pins that keep the
 * compiler off the accumulators while a wgmma writes them. The MMA instructions themselves, every
 * shape and type, are wgmma_mma.cuh's (which tests/cuda_emu emulates). Include only from code
 * built for sm_90a. */
#ifndef KB_WGMMA_CUH
#define KB_WGMMA_CUH

#include <stdint.h>

namespace kb_wgmma {

/* Descriptor of a matrix at shared-state-space address `addr` in the 128B-swizzle layout (rows
 * of 128 bytes, 16-byte chunk c of row r at c ^ (r % 8), atoms 1024-byte aligned): start
 * address, leading and stride byte offsets (all >> 4), swizzle mode 1 = 128B in bits 62-63,
 * base offset 0. A k-step inside the 128-byte row is addr + its byte offset (the hardware
 * applies the XOR after adding). */
__device__ __forceinline__ uint64_t desc_sw128(uint32_t addr, uint32_t lbo, uint32_t sbo)
{
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
           ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

/* Before the first wgmma, and after registers it reads or writes were touched otherwise. */
__device__ __forceinline__ void fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
/* Closes the wgmmas issued since the last commit into one group. */
__device__ __forceinline__ void commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
/* Waits until at most N committed groups are still running. */
template <int N> __device__ __forceinline__ void wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
/* Orders shared-memory writes of the generic proxy (st.shared, cp.async) before reads of the
 * async proxy (wgmma operands, TMA). */
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

/* Keeps the compiler from moving accumulator reads or writes across this point (wgmma writes
 * them asynchronously, behind its back): any accumulator array, f32 or s32 (m64n256: 128 of
 * them, m64n136: 68, m64n128: 64, m64n64: 32). */
template <int N> __device__ __forceinline__ void pin(float (&d)[N])
{
#pragma unroll
    for (int i = 0; i < N; i++)
        asm volatile("" : "+f"(d[i])::"memory");
}
template <int N> __device__ __forceinline__ void pin(int (&d)[N])
{
#pragma unroll
    for (int i = 0; i < N; i++)
        asm volatile("" : "+r"(d[i])::"memory");
}

} // namespace kb_wgmma

#endif
