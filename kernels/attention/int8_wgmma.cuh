/* int8_wgmma.cuh - the INT8 Q·Kᵀ of the Hopper INT8 attention kernels (int8_wgmma.cu and
 * int8_wgmma_ws.cu): the wgmma m64n128k32 s8·s8 → s32 instruction, S₈ of one 128-key tile
 * from K-major 128B-swizzled INT8 tiles (128 channels: one 128-byte swizzle row), and its
 * exact conversion and dequantization to f32 scores. int8_wgmma.cu's header comment explains
 * the layout and the conversion. Include only from code built for sm_90a. */
#ifndef KB_INT8_WGMMA_CUH
#define KB_INT8_WGMMA_CUH

#include <stdint.h>

#include "kernels/attention/flash_wgmma.cuh"

namespace kb_fwgmma {

static_assert(128 * 127 * 127 < (1 << 22), "the exact s32 -> f32 conversion needs |S8| < 2^22");

/* d (64×128, s32) (+)= A (64×32 s8) · B (32×128 s8), both K-major in shared memory. */
__device__ __forceinline__ void wgmma_s8(int (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_wgmma::mma_m64n128k32_s8_ss(d, desc_a, desc_b, accumulate);
}

/* Issues S₈ = Q₈·K₈ᵀ of the warpgroup's 64 rows (qw) and a tile of 128 keys (kt): four k-steps
 * of 32 channels, 32 bytes apart inside the 128-byte swizzled rows, as one committed group. */
__device__ __forceinline__ void issue_qk(int (&si)[64], const uint8_t *qw, const uint8_t *kt)
{
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < D / 32; kk++)
        wgmma_s8(si, smem_desc(qw + 32 * kk, 16, 1024), smem_desc(kt + 32 * kk, 16, 1024), kk > 0);
    wg_commit();
}

/* x exactly as a float, for |x| < 2^22 (see the top of int8_wgmma.cu). */
__device__ __forceinline__ float exact_s32_to_f32(int x)
{
    return __int_as_float(x + 0x4B400000) - 12582912.f; /* 0x4B400000 = bits of 1.5·2^23 = 12582912 */
}

/* S = S₈ dequantized: columns 0..63 of the tile (accumulators 0..31: 8-column blocks 0..7) by
 * deq0, columns 64..127 by deq1 (the scales of the tile's two K blocks times Q's). */
__device__ __forceinline__ void dequantize(float (&s)[64], const int (&si)[64], float deq0, float deq1)
{
#pragma unroll
    for (int i = 0; i < 64; i++)
        s[i] = exact_s32_to_f32(si[i]) * (i < 32 ? deq0 : deq1);
}

} // namespace kb_fwgmma

#endif
