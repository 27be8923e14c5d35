/* tma.cuh - Hopper's asynchronous data movement and warp specialization, shared by the sm_90a
 * kernels that feed wgmma from a producer warp (gemm_wgmma.cu, flash_wgmma_ws.cu, moe_gemm_wgmma.cu): mbarriers
 * (PTX ISA 8.0, "Parallel Synchronization and Communication Instructions: mbarrier"), TMA loads
 * (cp.async.bulk.tensor) that complete their bytes on one, the named barriers two warpgroups
 * take turns with (bar.sync / bar.arrive), setmaxnreg, and the host's tensor-map encoder.
 *
 * The pattern: a stage of a shared-memory ring has a "full" mbarrier (initialised with count 1:
 * the producer's arrive.expect_tx, then TMA completes the announced bytes) and an "empty" one
 * (count = the consumer warps that arrive once they stopped reading it). Use number u of a stage
 * (u = 0, 1, ...) completes phase u of its full barrier, so a consumer waits with parity u & 1;
 * the producer, before refilling it for use u >= 1, waits on the empty barrier with parity
 * (u − 1) & 1. Include only from code built for sm_90a. */
#ifndef KB_TMA_CUH
#define KB_TMA_CUH

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>

#include "kernels/gpu/wgmma.cuh"

namespace kb_tma {

/* ---- mbarriers ----------------------------------------------------------------------------- */

__device__ __forceinline__ void mbar_init(uint32_t bar, int count)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
/* Makes the barriers' initialisation visible to the async proxy (TMA) before first use. */
__device__ __forceinline__ void fence_barrier_init()
{
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    kb_wgmma::fence_proxy_async();
}
/* One arrival that also announces `bytes` to come from TMA in this phase. */
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
/* The thread's arrival, made once every cp.async it issued before has landed, not waited for
 * here (.noinc: it is one of the phase's expected arrivals, as mbar_arrive's) */
__device__ __forceinline__ void mbar_arrive_after_cp_async(uint32_t bar)
{
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
/* Spins until the phase with parity `parity` of the barrier has completed. */
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity)
{
    uint32_t done;
    do {
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done)
                     : "r"(bar), "r"(parity)
                     : "memory");
    } while (!done);
}

/* ---- TMA loads ----------------------------------------------------------------------------- */

/* The box at (x, y) of a 2D tensor map into shared memory at dst; completes its bytes on bar. */
__device__ __forceinline__ void load_2d(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
                 ::"r"(dst), "l"((uint64_t)map), "r"(x), "r"(y), "r"(bar)
                 : "memory");
}
/* The same for a 3D tensor map, box at (x, y, z). */
__device__ __forceinline__ void load_3d(uint32_t dst, const CUtensorMap *map, int x, int y, int z, uint32_t bar)
{
    asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n"
                 ::"r"(dst), "l"((uint64_t)map), "r"(x), "r"(y), "r"(z), "r"(bar)
                 : "memory");
}
/* The reverse: the box at (x, y, z) of a 3D tensor map from shared memory at src (laid out as a
 * load would leave it, swizzle included); elements outside the tensor are not written. The
 * stores a thread issued since its last bulk_commit form one bulk group; bulk_wait_read<N>
 * returns once at most N of its groups still read shared memory (their global writes may still
 * be under way), and a block must not exit or reuse src before. src's writes by other threads
 * need fence_proxy_async (kb_wgmma) and a barrier first. */
__device__ __forceinline__ void store_3d(const CUtensorMap *map, int x, int y, int z, uint32_t src)
{
    asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%1, %2, %3}], [%4];\n"
                 ::"l"((uint64_t)map), "r"(x), "r"(y), "r"(z), "r"(src)
                 : "memory");
}
/* store_3d's two-dimensional form: the box at (x, y) of a 2D tensor map */
__device__ __forceinline__ void store_2d(const CUtensorMap *map, int x, int y, uint32_t src)
{
    asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%1, %2}], [%3];\n"
                 ::"l"((uint64_t)map), "r"(x), "r"(y), "r"(src)
                 : "memory");
}
__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void bulk_wait_read()
{
    asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void prefetch_map(const CUtensorMap *map)
{
    asm volatile("prefetch.tensormap [%0];\n" ::"l"((uint64_t)map) : "memory");
}

/* ---- warp specialization ------------------------------------------------------------------- */

/* The calling warpgroup's register budget per thread: lowered for a producer that needs few, so
 * the consumers can raise theirs (all warps of the warpgroup execute it). N: a multiple of 8 in
 * [24, 256]; the decrements of the block must free what its increments take. */
template <int N> __device__ __forceinline__ void regs_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N)); }
template <int N> __device__ __forceinline__ void regs_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N)); }

/* Named barrier `id` (1-15; 0 is __syncthreads) of `threads` threads: bar_sync waits for them
 * all, bar_arrive counts the calling warp's threads without waiting. */
__device__ __forceinline__ void bar_sync(int id, int threads)
{
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void bar_arrive(int id, int threads)
{
    asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

/* ---- clusters ------------------------------------------------------------------------------ */
/* For kernels launched in thread-block clusters (PTX ISA 8.0, "Cluster"): a block's rank, the
 * address of the same shared-memory offset in another block of the cluster (mapa), an arrival on
 * an mbarrier there, a TMA load delivered to several blocks at once (each block in ctaMask gets
 * the box at dst and the bytes completed on its barrier at bar, both offsets in its own shared
 * memory), and barrier.cluster (threads that have exited count as arrived). A block must not
 * exit while another may still write its shared memory or arrive on its barriers: end with
 * cluster_sync. tests/cuda_emu/hopper_emu.h emulates each. */
__device__ __forceinline__ uint32_t cluster_ctarank()
{
    uint32_t r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
    return r;
}
__device__ __forceinline__ uint32_t mapa(uint32_t addr, uint32_t rank)
{
    uint32_t r;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(r) : "r"(addr), "r"(rank));
    return r;
}
/* The arrival's default semantics (release at CTA scope), as CUTLASS's ClusterBarrier::arrive: a
 * consumer releasing a stage to another block orders nothing of its own but its wgmma reads,
 * already complete. `.release.cluster` compiled to a MEMBAR and an ERRBAR before every arrival,
 * and the FP8 MoE's clusters spent 31% of their stall samples there (H100, 2026-12-07). */
__device__ __forceinline__ void mbar_arrive_cluster(uint32_t bar)
{
    asm volatile("mbarrier.arrive.shared::cluster.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void load_2d_multicast(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar,
                                                  uint16_t mask)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster"
                 " [%0], [%1, {%2, %3}], [%4], %5;\n" ::"r"(dst),
                 "l"((uint64_t)map), "r"(x), "r"(y), "r"(bar), "h"(mask)
                 : "memory");
}
__device__ __forceinline__ void cluster_sync()
{
    asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}

/* ---- host: tensor maps --------------------------------------------------------------------- */

/* cuTensorMapEncodeTiled from the driver the runtime has loaded (no link against libcuda), or
 * NULL where the driver has none. */
static inline PFN_cuTensorMapEncodeTiled_v12000 encode_tiled(void)
{
    static PFN_cuTensorMapEncodeTiled_v12000 fn;
    if (!fn) {
        void *f = NULL;
        cudaDriverEntryPointQueryResult q;
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) == cudaSuccess &&
            q == cudaDriverEntryPointSuccess)
            fn = (PFN_cuTensorMapEncodeTiled_v12000)f;
    }
    return fn;
}

/* encode_tiled, or NULL with the reason written to err (the callers then skip the case:
 * KB_UNSUPPORTED). */
static inline PFN_cuTensorMapEncodeTiled_v12000 encode_tiled_or_say(char *err, size_t errlen)
{
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled();
    if (!fn)
        snprintf(err, errlen, "cuTensorMapEncodeTiled not found in the CUDA driver (TMA needs driver 12.0+)");
    return fn;
}

/* A row-major [rows, cols] matrix of `type` elements (row stride ld_bytes, a multiple of 16)
 * as boxes of box_rows × box_cols, 128-byte swizzled (box_cols elements must be 128 bytes),
 * zero-filled outside it. */
static inline CUresult encode_2d_sw128(PFN_cuTensorMapEncodeTiled_v12000 fn, CUtensorMap *map, CUtensorMapDataType type,
                                const void *ptr, uint64_t rows, uint64_t cols, uint64_t ld_bytes, uint32_t box_cols,
                                uint32_t box_rows)
{
    const cuuint64_t dims[2] = { (cuuint64_t)cols, (cuuint64_t)rows };
    const cuuint64_t strides[1] = { (cuuint64_t)ld_bytes }; /* bytes between rows (dimension 1) */
    const cuuint32_t box[2] = { (cuuint32_t)box_cols, (cuuint32_t)box_rows };
    const cuuint32_t elem_strides[2] = { 1, 1 };
    return fn(map, type, 2, const_cast<void *>(ptr), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
              CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

} // namespace kb_tma

#endif
