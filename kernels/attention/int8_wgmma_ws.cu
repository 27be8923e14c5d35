/* int8_wgmma_ws.cu - the attention of attention.int8@cuda.wgmma-ws: SageAttention's INT8 Q·Kᵀ
 * (int8_wgmma.cu's arithmetic) on the FlashAttention-3 schedule of attention.flash@cuda.wgmma-ws
 * (flash_wgmma_ws.cu: a TMA producer warpgroup, 2-stage K and V mbarrier rings, two ping-pong
 * consumer warpgroups of 64 query rows, S_j issued before the softmax of tile j − 1's P·V is
 * waited for). sm_90a only, head_dim 128, after the pre-pass of attention.int8@cuda.mma
 * (int8_quant.cu: K smoothed, Q and K coded per block of INT8_BLOCK = 64 tokens, one float scale
 * each), which setup runs and times apart (int8_cuda.c).
 *
 * The schedule is flash_ws.cuh's code, shared with the f16/bf16 kernel; this file gives it
 *   the tiles  Q codes: one box of 128 rows × 128 bytes (an INT8 row of 128 channels is exactly
 *              one 128-byte swizzle row, the layout int8_wgmma.cu's cp.async loads build by
 *              hand and TMA's SWIZZLE_128B builds here); K codes: one such box a ring stage;
 *              V: f16, two boxes of 64 columns a stage, as the 16-bit kernel's;
 *   the scores (Scores8, int8_ws_scores.cuh: shared with int8_fp8_ws.cu)  S₈ = Q₈·K₈ᵀ on wgmma m64n128k32 .s32.s8.s8 (four k-steps of 32
 *              channels, int8_wgmma.cuh), then S = S₈ · s_q · s_k · log2(e)/√d exactly as
 *              int8_wgmma.cu dequantizes: a consumer's 64 rows are one Q block (row0 / 64), a
 *              128-key tile spans K blocks 2j (its columns 0..63) and 2j + 1 (64..127; past
 *              the end when N <= 64·(2j + 1): scale 0, its keys are masked anyway);
 *   P, V, O    f16 (the softmax gets the scores in base-2 units: scale 1).
 * So the arithmetic is int8_wgmma.cu's in the same order: the two kernels' outputs should be
 * identical (tests/gpu.sh compares their errors).
 *
 * Registers: S₈ (s32) and S (f32) are one set of 64 a thread: issue hands the previous tile's
 * dead P values to the s32 accumulator (bit copies the compiler coalesces) and ready converts
 * them in place, so a consumer holds what the 16-bit kernel's does (O 64, S 64, P 32).
 * The K scales of tile j are loaded from global memory when S₈(j) is issued, under the wgmma.
 * Shared memory: Q 16 KiB, K 2 × 16 KiB, V 2 × 32 KiB, barriers, +1024: 115784 bytes.
 *
 * SageAttention2's further step, P·V in FP8 (e4m3 P and V, f32 accumulated per tile and added
 * into O: two-level accumulation), is attention.int8@cuda.wgmma-fp8 (int8_fp8_ws.cu): P·V
 * here stays the f16 wgmma of the 16-bit kernel, the baseline that one is compared with. */
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/int8.h"
}

#include "kernels/attention/int8_ws_scores.cuh"
#include "kernels/gpu/smem_limit.cuh"

namespace {

using namespace kb_fws;

/* Q codes one box, K codes one box a stage, V (f16, 128 columns) two boxes a stage */
using Layout = WsLayout<1, 1, 2>;

/* The scores of INT8 codes (int8_ws_scores.cuh: Scores8), P·V in f16. */
using Scores = Scores8<PvHalf<false, D / 2>>;

template <bool CAUSAL>
__global__ void __launch_bounds__(WS_THREADS, 1)
    int8_wgmma_ws(const __grid_constant__ CUtensorMap map_q8, const __grid_constant__ CUtensorMap map_k8,
                  const __grid_constant__ CUtensorMap map_v, const float *__restrict__ qscale,
                  const float *__restrict__ kscale, uint16_t *__restrict__ O, int n, int heads, int kv_heads,
                  int qblocks, float qk_scale_log2)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    Scores sc;
    sc.qscale = qscale, sc.kscale = kscale, sc.qblocks = qblocks, sc.qk_scale_log2 = qk_scale_log2;
    ws_attention<Layout, CAUSAL>(smem_raw, &map_q8, &map_k8, &map_v, O, n, heads, kv_heads, sc);
#else
    (void)map_q8, (void)map_k8, (void)map_v, (void)qscale, (void)kscale, (void)O, (void)n, (void)heads,
        (void)kv_heads, (void)qblocks, (void)qk_scale_log2;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

template <bool CAUSAL>
cudaError_t launch(const struct kb_shape *s, const CUtensorMap &mq, const CUtensorMap &mk, const CUtensorMap &mv,
                   const float *qscale, const float *kscale, void *o, cudaStream_t st)
{
    const WsGrid g = ws_grid(s->seq_len, s->heads, s->batch, BM, CAUSAL, ws_sections_wanted());
    const int qblocks = (s->seq_len + INT8_BLOCK - 1) / INT8_BLOCK;
    const float qk_scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    int8_wgmma_ws<CAUSAL><<<dim3(g.x, g.y, g.z), WS_THREADS, Layout::SMEM, st>>>(mq, mk, mv, qscale, kscale, (uint16_t *)o,
                                                                  s->seq_len, s->heads, s->kv_heads, qblocks,
                                                                  qk_scale_log2);
    return cudaGetLastError();
}

} // namespace

extern "C" int int8_wgmma_ws_prepare(char *err, size_t errlen)
{
    if (!kb_tma::encode_tiled_or_say(err, errlen))
        return KB_UNSUPPORTED;
    cudaError_t e = kb_gpu::allow_dynamic_smem(Layout::SMEM, int8_wgmma_ws<false>, int8_wgmma_ws<true>);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "raising int8_wgmma_ws's shared-memory limit to %d bytes: %s", Layout::SMEM,
                 cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

extern "C" int int8_cuda_attend_wgmma_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                                         const float *kscale, const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (s->head_dim != D || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    if (!fn)
        return (int)cudaErrorNotSupported;
    /* host-only encoding: the maps hold this call's pointers (the codes are setup's; V is the
     * harness's, rotated between input copies) */
    CUtensorMap mq, mk, mv;
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT8, q8, s->seq_len, s->batch * s->heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT8, k8, s->seq_len, s->batch * s->kv_heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT16, v, s->seq_len, s->batch * s->kv_heads, D, 2) != CUDA_SUCCESS)
        return (int)cudaErrorInvalidValue;
    return (int)(s->causal ? launch<true>(s, mq, mk, mv, qscale, kscale, o, st)
                           : launch<false>(s, mq, mk, mv, qscale, kscale, o, st));
}
