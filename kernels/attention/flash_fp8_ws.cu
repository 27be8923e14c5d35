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
 * Shared memory: Q 16 KiB, K 2 × 16 KiB, Vᵀ 2 × 16 KiB, barriers, +1024: 83016 bytes. */
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

#include "kernels/attention/flash_ws.cuh"
#include "kernels/attention/fp8_pv.cuh"

namespace {

using namespace kb_fws;

static_assert(FP8_P_SCALE == INT8_FP8_MAX, "P's e4m3 scale is int8.h's");
static_assert(INT8_BLOCK == 64 && BM == 2 * INT8_BLOCK && BN == 2 * INT8_BLOCK,
              "a consumer's 64 rows are one Q block; a key tile is two K blocks");
static_assert(D == 128, "one e4m3 row of Q or K is one 128-byte box row");

/* Q codes one box, K codes one box a stage, Vᵀ codes one box a stage (keys along the rows) */
using Layout = WsLayout<1, 1, 1, true>;

/* d (64×128, f32) (+)= A (64×32 e4m3) · B (32×128 e4m3), both K-major in shared memory. */
__device__ __forceinline__ void wgmma_ss_e4m3(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_wgmma::mma_m64n128k32_e4m3_ss(d, desc_a, desc_b, accumulate);
}

/* flash_ws.cuh's scores policy of e4m3 codes; P·V in FP8 (PvFp8). */
struct ScoresE4M3 : PvFp8 {
    static constexpr int NACC = D / 2;
    struct Regs : PvFp8::PvRegs {
        float q_scale;   /* this consumer's Q block scale · log2(e)/√d */
        float ks0, ks1;  /* the scales of the K blocks of the tile in flight */
        const float *ks; /* the K scales of this (batch, KV head) */
    };
    const float *qscale, *kscale; /* [B·H][qblocks], [B·H_kv][qblocks] */
    int qblocks;                  /* ceil(N / 64) */
    float qk_scale_log2;          /* log2(e)/√d */
    float scale_log2;             /* 1: the scores leave ready in base-2 units */

    __device__ __forceinline__ void begin(Regs &r, int row0, int qhead, int kvhead)
    {
        const int qblk = row0 / INT8_BLOCK; /* past the last block: rows past N, never stored */
        r.q_scale = qblk < qblocks ? qscale[(size_t)qhead * qblocks + qblk] * qk_scale_log2 : 0.f;
        r.ks = kscale + (size_t)kvhead * qblocks;
        begin_pv(r, kvhead);
    }
    /* S_j: four k-steps of 32 channels as one committed group, the first overwriting s */
    __device__ __forceinline__ void issue(float (&s)[64], Regs &r, const uint16_t *qw, const uint16_t *kt, int j)
    {
        r.ks0 = r.ks[2 * j];
        r.ks1 = 2 * j + 1 < qblocks ? r.ks[2 * j + 1] : 0.f;
        const uint8_t *q8 = reinterpret_cast<const uint8_t *>(qw), *k8 = reinterpret_cast<const uint8_t *>(kt);
        pin(s);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < D / 32; kk++)
            wgmma_ss_e4m3(s, smem_desc(q8 + 32 * kk, 16, 1024), smem_desc(k8 + 32 * kk, 16, 1024), kk > 0);
        wg_commit();
    }
    __device__ __forceinline__ void ready(float (&s)[64], Regs &r, int)
    {
        pin(s);
        const float deq0 = r.q_scale * r.ks0, deq1 = r.q_scale * r.ks1;
#pragma unroll
        for (int i = 0; i < 64; i++)
            s[i] *= i < 32 ? deq0 : deq1;
    }
};

template <bool CAUSAL>
__global__ void __launch_bounds__(WS_THREADS, 1)
    flash_fp8_ws(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                 const __grid_constant__ CUtensorMap map_vt, const float *__restrict__ qscale,
                 const float *__restrict__ kscale, const float *__restrict__ vscale, uint16_t *__restrict__ O, int n,
                 int heads, int kv_heads, int qblocks, float qk_scale_log2)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    ScoresE4M3 sc;
    sc.qscale = qscale, sc.kscale = kscale, sc.qblocks = qblocks, sc.qk_scale_log2 = qk_scale_log2, sc.scale_log2 = 1.f;
    sc.vscale = vscale;
    ws_attention<Layout, CAUSAL>(smem_raw, &map_q, &map_k, &map_vt, O, n, heads, kv_heads, sc);
#else
    (void)map_q, (void)map_k, (void)map_vt, (void)qscale, (void)kscale, (void)vscale, (void)O, (void)n, (void)heads,
        (void)kv_heads, (void)qblocks, (void)qk_scale_log2;
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
    flash_fp8_ws<CAUSAL><<<grid, WS_THREADS, Layout::SMEM, st>>>(mq, mk, mv, qscale, kscale, vscale, (uint16_t *)o,
                                                                 s->seq_len, s->heads, s->kv_heads, qblocks,
                                                                 qk_scale_log2);
    return cudaGetLastError();
}

} // namespace

extern "C" int flash_fp8_ws_prepare(char *err, size_t errlen)
{
    if (!kb_tma::encode_tiled()) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled not found in the CUDA driver (TMA needs driver 12.0+)");
        return KB_UNSUPPORTED;
    }
    cudaError_t e = cudaFuncSetAttribute(flash_fp8_ws<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, Layout::SMEM);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(flash_fp8_ws<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, Layout::SMEM);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "raising flash_fp8_ws's shared-memory limit to %d bytes: %s", Layout::SMEM,
                 cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

extern "C" int flash_cuda_attend_fp8_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                                        const float *kscale, const void *vt, const float *vscale, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (s->head_dim != D || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    if (!fn)
        return (int)cudaErrorNotSupported;
    /* host-only encoding of setup's codes; Vᵀ rows are whole tiles of keys (int8_fp8_ws.cu) */
    CUtensorMap mq, mk, mv;
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT8, q8, s->seq_len, s->batch * s->heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT8, k8, s->seq_len, s->batch * s->kv_heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT8, vt, D, s->batch * s->kv_heads, int8_fp8_v_keys(s->seq_len),
                    1) != CUDA_SUCCESS)
        return (int)cudaErrorInvalidValue;
    return (int)(s->causal ? launch<true>(s, mq, mk, mv, qscale, kscale, vscale, o, st)
                           : launch<false>(s, mq, mk, mv, qscale, kscale, vscale, o, st));
}
