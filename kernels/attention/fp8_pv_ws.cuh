/* fp8_pv_ws.cuh - the kernel and host launcher the two FP8 P·V kernels on the FlashAttention-3
 * schedule share: attention.int8@cuda.wgmma-fp8 (int8_fp8_ws.cu: INT8 Q·Kᵀ, Scores8<PvFp8>) and
 * attention.flash@cuda.wgmma-fp8 (flash_fp8_ws.cu: e4m3 Q·Kᵀ, ScoresE4M3). They differ only in
 * the scores policy Sc (block-scaled codes, int8_ws_scores.cuh's BlockScaled<PvFp8>); the tiles
 * are the same: Q and K codes of 128 channels (one 128 × 128-byte box each, 8-bit either way) and
 * Vᵀ's e4m3 codes (one box of 128 channel rows × 128 key bytes, fp8_pv.cuh), after the pre-pass
 * of int8_quant.cu that setup runs and times apart (int8_cuda.c). sm_90a only, head_dim 128.
 * Include only from a .cu file, after kernels/attention/attention_cuda.h and int8.h. */
#ifndef KB_FP8_PV_WS_CUH
#define KB_FP8_PV_WS_CUH

#include <math.h>
#include <stdio.h>

#include "kernels/attention/fp8_pv.cuh"
#include "kernels/attention/int8_ws_scores.cuh"
#include "kernels/gpu/sm_count.cuh"
#include "kernels/gpu/smem_limit.cuh"
#include "kernels/gpu/tile_counter.h"

namespace kb_fws {

static_assert(FP8_P_SCALE == INT8_FP8_MAX, "P's e4m3 scale is int8.h's");

/* Q codes one box, K codes one box a stage, Vᵀ codes one box a stage (keys along the rows) and
 * the ones rows of PvFp8's row sums after it; past the barriers, the two work-tile slots and
 * ws_attention's v16_full and v16_empty barriers, the last key tile's f16 V (PvFp8's
 * LAST_V16_BYTES, 1024-byte aligned as the swizzle needs): 117 KiB in all */
struct Fp8PvLayout : WsLayout<1, 1, 1, true, BN, true> {
    static constexpr int OFF_V16 = (OFF_BAR + 8 * (N_BARS + 4) + 1023) / 1024 * 1024;
    static constexpr int SMEM = 1024 + OFF_V16 + PvFp8::LAST_V16_BYTES;
    static_assert(SMEM <= 227 * 1024, "shared memory of one H100 block");
};

/* PERSISTENT: a grid of at most one block an SM looping over the work tiles (flash_ws.cuh's
 * PERSISTENT), batch the planes' batch; causal, the blocks claim their work tiles from
 * tile_counter (kernels/gpu/tile_counter.h: two ints, zero, left zero). */
template <class Sc, bool CAUSAL, bool PERSISTENT = false>
__global__ void __launch_bounds__(WS_THREADS, 1)
    fp8_pv_ws(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
              const __grid_constant__ CUtensorMap map_vt, const __grid_constant__ CUtensorMap map_v16, bool last16,
              const float *__restrict__ qscale,
              const float *__restrict__ kscale, const float *__restrict__ vscale, uint16_t *__restrict__ O, int n,
              int heads, int kv_heads, int qblocks, float qk_scale_log2, int batch, int *tile_counter)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    Sc sc;
    sc.qscale = qscale, sc.kscale = kscale, sc.qblocks = qblocks, sc.qk_scale_log2 = qk_scale_log2;
    sc.vscale = vscale;
    sc.map_v16 = last16 ? &map_v16 : nullptr;
    ws_attention<Fp8PvLayout, CAUSAL, Sc, PERSISTENT>(smem_raw, &map_q, &map_k, &map_vt, O, n, heads, kv_heads, sc, batch,
                                                      AllTiles(), nullptr, tile_counter);
#else
    (void)map_q, (void)map_k, (void)map_vt, (void)map_v16, (void)last16, (void)qscale, (void)kscale, (void)vscale, (void)O, (void)n, (void)heads,
        (void)kv_heads, (void)qblocks, (void)qk_scale_log2, (void)batch,
        (void)tile_counter;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

/* Raises both instantiations' shared-memory limit; name says whose in the error. */
template <class Sc> int fp8_pv_ws_prepare(const char *name, char *err, size_t errlen)
{
    if (!encode_tiled_or_say(err, errlen))
        return KB_UNSUPPORTED;
    const int bytes = Fp8PvLayout::SMEM;
    cudaError_t e = kb_gpu::allow_dynamic_smem(bytes, fp8_pv_ws<Sc, false>, fp8_pv_ws<Sc, true>, fp8_pv_ws<Sc, false, true>,
                                               fp8_pv_ws<Sc, true, true>);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "raising %s's shared-memory limit to %d bytes: %s", name, bytes, cudaGetErrorString(e));
        return KB_ERROR;
    }
    if ((e = (cudaError_t)kb_tile_counter_reset()) != cudaSuccess) { /* the causal persistent kernel's */
        snprintf(err, errlen, "%s's work-tile counters: %s", name, cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

/* Encodes the maps of setup's codes (host only: they hold this call's pointers) and launches on
 * stream; a cudaError_t. Vᵀ rows are whole tiles of keys (int8_fp8_v_keys), so every box of it
 * is in bounds. v16: V's f16 input [B·H_kv][N][128], whose last key tile of each work tile the
 * kernel multiplies on f16 (fp8_pv.cuh's header comment), or NULL for the recipe alone.
 * persistent: the persistent kernel (causal: claiming its work tiles from kb_tile_counter). */
template <class Sc>
int fp8_pv_ws_attend(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                     const float *kscale, const void *vt, const float *vscale, const void *v16, int persistent, void *o,
                     void *stream)
{
    if (s->head_dim != D || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled();
    if (!fn)
        return (int)cudaErrorNotSupported;
    CUtensorMap mq, mk, mv, mv16;
    memset(&mv16, 0, sizeof mv16); /* unread without v16 */
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT8, q8, s->seq_len, s->batch * s->heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT8, k8, s->seq_len, s->batch * s->kv_heads, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT8, vt, D, s->batch * s->kv_heads, int8_fp8_v_keys(s->seq_len),
                    1) != CUDA_SUCCESS ||
        (v16 && encode_rows(fn, &mv16, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, v16, s->seq_len, s->batch * s->kv_heads, D,
                            2) != CUDA_SUCCESS))
        return (int)cudaErrorInvalidValue;
    const WsGrid g = ws_grid(s->seq_len, s->heads, s->batch, BM, s->causal, ws_sections_wanted());
    dim3 grid(g.x, g.y, g.z);
    const int qblocks = (s->seq_len + INT8_BLOCK - 1) / INT8_BLOCK;
    const float qk_scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    auto kernel = s->causal ? fp8_pv_ws<Sc, true> : fp8_pv_ws<Sc, false>;
    int *counter = nullptr;
    if (persistent) {
        grid = dim3((unsigned)persistent_grid(s->seq_len, s->heads, s->batch, BM, kb_gpu::sm_count()), 1, 1);
        kernel = s->causal ? fp8_pv_ws<Sc, true, true> : fp8_pv_ws<Sc, false, true>;
        if (s->causal && !(counter = kb_tile_counter()))
            return (int)cudaErrorInitializationError; /* prepare allocates it */
    }
    kernel<<<grid, WS_THREADS, Fp8PvLayout::SMEM, (cudaStream_t)stream>>>(mq, mk, mv, mv16, v16 != nullptr, qscale, kscale,
                                                                           vscale, (uint16_t *)o, s->seq_len, s->heads,
                                                                           s->kv_heads, qblocks, qk_scale_log2, s->batch,
                                                                           counter);
    return (int)cudaGetLastError();
}

} // namespace kb_fws

#endif
