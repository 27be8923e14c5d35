/* flash_fp8_ws.cu - the attention of attention.flash@cuda.wgmma-fp8: FlashAttention in FP8 on
 * the FlashAttention-3 schedule of flash_ws.cuh. Q and K are e4m3 codes with one float scale a
 * block of 64 tokens (K smoothed by its channel mean first, as attention.int8's recipe: softmax
 * is invariant to it, and it keeps K's outlier channels from taking the block's precision), V
 * e4m3 per channel, transposed and key-permuted (fp8_pv.cuh), all made by the pre-pass of
 * int8_quant.cu (int8_cuda_quantize_e4m3, int8_cuda_quantize_v_fp8), which setup runs and
 * times apart (int8_cuda.c). sm_90a only, head_dim 128, output f16.
 *
 * The tiles are attention.int8@cuda.wgmma-fp8's (int8_fp8_ws.cu): an e4m3 row of 128 channels
 * is one 128-byte swizzle row, so Q, K and Vᵀ tiles are one 128 × 128-byte box each. Only the
 * scores differ (ScoresE4M3): S = Q·Kᵀ on wgmma m64n128k32 .f32.e4m3.e4m3 with both operands
 * K-major in shared memory (four k-steps of 32 channels, 32 bytes apart in the swizzled rows,
 * as the INT8 kernel's), accumulated in f32 straight in the score registers, then scaled per
 * column half by s_q · s_k · log2(e)/√d (columns 0..63 are K block 2j, 64..127 block 2j + 1,
 * past the end when N <= 64·(2j + 1): scale 0, those keys are masked anyway). P·V is fp8_pv.cuh's
 * (e4m3 P·448 and V, each tile's product in its own f32 accumulator added into O).
 * Shared memory: Q 16 KiB, K 2 × 16 KiB, Vᵀ 2 × (16 + 1) KiB (the ones rows of fp8_pv.cuh's row
 * sums after each stage), barriers, +1024: 85064 bytes.
 * The kernel and its launcher are fp8_pv_ws.cuh's, shared with attention.int8@cuda.wgmma-fp8;
 * this file gives the scores. */
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/int8.h"
}

#include "kernels/attention/fp8_pv_ws.cuh"

namespace {

using namespace kb_fws;

/* flash_ws.cuh's scores policy of e4m3 codes (the block scales are BlockScaled's); P·V in FP8. */
struct ScoresE4M3 : BlockScaled<PvFp8> {
    using Regs = ScaleRegs;

    /* S_j: four k-steps of 32 channels as one committed group, the first overwriting s */
    __device__ __forceinline__ void issue(float (&s)[64], Regs &r, const uint16_t *qw, const uint16_t *kt, int j)
    {
        key_scales(r, j);
        const uint8_t *q8 = reinterpret_cast<const uint8_t *>(qw), *k8 = reinterpret_cast<const uint8_t *>(kt);
        pin(s);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < D / 32; kk++)
            kb_wgmma::mma_m64n128k32_e4m3_ss(s, smem_desc(q8 + 32 * kk, 16, 1024), smem_desc(k8 + 32 * kk, 16, 1024),
                                             kk > 0);
        wg_commit();
    }
    /* the products of the codes, scaled inside the softmax (BlockScaled's softmax_scaled) */
    __device__ __forceinline__ void ready(float (&s)[64], Regs &, int) { pin(s); }
    __device__ __forceinline__ void softmax(float (&s)[64], Regs &r, float (&m)[2], float (&l)[2], float (&alpha)[2])
    {
        softmax_scaled(s, r, m, l, alpha);
    }
};

} // namespace

extern "C" int flash_fp8_ws_prepare(char *err, size_t errlen)
{
    return fp8_pv_ws_prepare<ScoresE4M3>("flash_fp8_ws", err, errlen);
}

extern "C" int flash_cuda_attend_fp8_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                                        const float *kscale, const void *vt, const float *vscale, const void *v16, int persistent,
                                        void *o, void *stream)
{
    return fp8_pv_ws_attend<ScoresE4M3>(s, q8, k8, qscale, kscale, vt, vscale, v16, persistent, o, stream);
}
