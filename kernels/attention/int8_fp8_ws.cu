/* int8_fp8_ws.cu - the attention of attention.int8@cuda.wgmma-fp8: SageAttention2's recipe on
 * the FlashAttention-3 schedule of flash_ws.cuh. S = Q₈·K₈ᵀ exactly as
 * attention.int8@cuda.wgmma-ws (int8_wgmma_ws.cu: wgmma .s32.s8.s8, dequantized per Q block
 * and K block; the scores policy Scores8 of int8_ws_scores.cuh), and P·V in FP8 (fp8_pv.cuh:
 * P·448 and V as e4m3, wgmma m64n128k32 .f32.e4m3.e4m3 with P from registers, each tile's
 * product in a fresh f32 accumulator added into O, V's channel scales applied at the store).
 * sm_90a only, head_dim 128, after the pre-pass of int8_quant.cu (Q and K codes as the other
 * INT8 kernels, plus V's e4m3 codes transposed to [channel][keys] with the keys of each group
 * of 32 permuted as fp8_pv.cuh derives), which setup runs and times apart (int8_cuda.c).
 *
 * What changes against @cuda.wgmma-ws: V is one 16 KiB box a stage (128 channel rows × 128 key
 * bytes) instead of two f16 boxes, P is 16 registers a thread instead of 32, and the P·V of a
 * tile needs its own 64 f32 accumulators (two-level accumulation) beside O, S and P: the
 * consumer holds O 64, S 64, pv 64 and P 16 across the wgmmas.
 * Shared memory: Q 16 KiB, K 2 × 16 KiB, V 2 × 16 KiB, barriers, +1024: 83016 bytes. */
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

#include "kernels/attention/fp8_pv.cuh"
#include "kernels/attention/int8_ws_scores.cuh"

namespace {

using namespace kb_fws;

static_assert(FP8_P_SCALE == INT8_FP8_MAX, "P's e4m3 scale is int8.h's");

/* Q codes one box, K codes one box a stage, Vᵀ codes one box a stage (keys along the rows) */
using Layout = WsLayout<1, 1, 1, true>;
using Scores = Scores8<PvFp8>;

template <bool CAUSAL>
__global__ void __launch_bounds__(WS_THREADS, 1)
    int8_fp8_ws(const __grid_constant__ CUtensorMap map_q8, const __grid_constant__ CUtensorMap map_k8,
                const __grid_constant__ CUtensorMap map_vt, const float *__restrict__ qscale,
                const float *__restrict__ kscale, const float *__restrict__ vscale, uint16_t *__restrict__ O, int n,
                int heads, int kv_heads, int qblocks, float qk_scale_log2)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    Scores sc;
    sc.qscale = qscale, sc.kscale = kscale, sc.qblocks = qblocks, sc.qk_scale_log2 = qk_scale_log2, sc.scale_log2 = 1.f;
    sc.vscale = vscale;
    ws_attention<Layout, CAUSAL>(smem_raw, &map_q8, &map_k8, &map_vt, O, n, heads, kv_heads, sc);
#else
    (void)map_q8, (void)map_k8, (void)map_vt, (void)qscale, (void)kscale, (void)vscale, (void)O, (void)n,
        (void)heads, (void)kv_heads, (void)qblocks, (void)qk_scale_log2;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

template <bool CAUSAL>
cudaError_t launch(const struct kb_shape *s, const CUtensorMap &mq, const CUtensorMap &mk, const CUtensorMap &mv,
                   const float *qscale, const float *kscale, const float *vscale, void *o, cudaStream_t st)
{
    dim3 grid((s->seq_len + BM - 1) / BM, s->heads, s->batch);
    const int qblocks = (s->seq_len + INT8_BLOCK - 1) / INT8_BLOCK;
    const float qk_scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    int8_fp8_ws<CAUSAL><<<grid, WS_THREADS, Layout::SMEM, st>>>(mq, mk, mv, qscale, kscale, vscale, (uint16_t *)o,
                                                                s->seq_len, s->heads, s->kv_heads, qblocks,
                                                                qk_scale_log2);
    return cudaGetLastError();
}

} // namespace

extern "C" int int8_fp8_ws_prepare(char *err, size_t errlen)
{
    if (!kb_tma::encode_tiled()) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled not found in the CUDA driver (TMA needs driver 12.0+)");
        return KB_UNSUPPORTED;
    }
    cudaError_t e = cudaFuncSetAttribute(int8_fp8_ws<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, Layout::SMEM);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(int8_fp8_ws<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, Layout::SMEM);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "raising int8_fp8_ws's shared-memory limit to %d bytes: %s", Layout::SMEM,
                 cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

extern "C" int int8_cuda_attend_fp8_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                                       const float *kscale, const void *vt, const float *vscale, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (s->head_dim != D || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    if (!fn)
        return (int)cudaErrorNotSupported;
    /* host-only encoding: the maps hold this call's pointers (all of them setup's codes). Vᵀ is
     * [B·H_kv][D channel rows][int8_fp8_v_keys(N) key bytes]: rows of whole tiles, so every box
     * is in bounds */
    CUtensorMap mq, mk, mv;
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT8, q8, s->seq_len, s->batch * s->heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT8, k8, s->seq_len, s->batch * s->kv_heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT8, vt, D, s->batch * s->kv_heads, int8_fp8_v_keys(s->seq_len),
                    1) != CUDA_SUCCESS)
        return (int)cudaErrorInvalidValue;
    return (int)(s->causal ? launch<true>(s, mq, mk, mv, qscale, kscale, vscale, o, st)
                           : launch<false>(s, mq, mk, mv, qscale, kscale, vscale, o, st));
}
