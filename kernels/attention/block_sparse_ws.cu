/* block_sparse_ws.cu - the attention of attention.block_sparse@cuda.wgmma-ws (sm_90a only):
 * MoBA's block-sparse causal attention on the FlashAttention-3 schedule of
 * attention.flash@cuda.wgmma-ws (flash_ws.cuh: a TMA producer warpgroup, a 2-stage K/V ring
 * each, two ping-pong wgmma consumer warpgroups of 64 query rows), f16/bf16, d = 128 or 64,
 * block = 128, GQA, batch.
 *
 * Why: attention.block_sparse@cuda.mma walks the kept blocks with flash_mma.cu's mma.sync kernel
 * (~280 TFLOP/s on an H100), the dense wgmma-ws kernel runs at ~600; at 90% sparsity the sparse
 * kernel must be 5x the dense one, so it runs on the same schedule.
 *
 * With block = 128 a query block is exactly one 128-row Q tile (one CTA, query block qb =
 * the CTA's tile) and a kept block exactly one 128-key K/V tile, so nothing of the schedule
 * changes but which K/V tiles a Q tile visits: flash_ws.cuh's Walk policy, here KeptTiles. Step
 * j < nkept = min(topk, qb) loads and computes key tile kept[qb][j] (the selection's list,
 * ascending, block_sparse_select.cu), step nkept the own block qb, the diagonal: the only tile
 * that can need a mask (causal, and keys past N in a short last block), since a kept block
 * kb < qb is whole and before every row of the Q tile. The producer reads the list (one
 * thread, __ldg), the consumers need only its length. The scores are the dense kernel's
 * (ws_scores16.cuh's Scores16: S = Q·Kᵀ on m64n128k16 SS wgmma, P·V in the input type through
 * flash_ws.cuh's PvHalf).
 *
 * Shared memory and registers as the dense kernel's d = 128 and 64 (164936 and 83016 bytes, one
 * block per SM); the grid (nb, heads, batch), heaviest first within each (batch, head) plane:
 * here all but the first topk query blocks take the same topk + 1 steps, so the dense causal
 * kernel's order of planes in sections (flash_ws.cuh's ws_grid) has no tail to save. */
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

#include "kernels/attention/flash_ws.cuh"
#include "kernels/attention/ws_scores16.cuh"
#include "kernels/gpu/smem_limit.cuh"

namespace {

using namespace kb_fws;

/* One query block of MoBA is one Q tile, one kept block one K/V tile. */
constexpr int BSA_BLOCK = 128;
static_assert(BSA_BLOCK == BM && BSA_BLOCK == BN, "a block is one Q tile and one K/V tile");

/* head_dim DH (128 or 64): Q, K and V tiles of DH / 64 boxes of 128 rows (flash_ws.cuh). */
template <int DH> struct BsaLayout : WsLayout<DH / 64, DH / 64, DH / 64> {
    static_assert(DH == 128 || DH == 64, "head_dim 128 or 64");
};
static_assert(BsaLayout<128>::KEYS == BSA_BLOCK && BsaLayout<64>::KEYS == BSA_BLOCK, "128-key K/V tiles");

/* The key tiles of query block qb (flash_ws.cuh's Walk policy): its kept past blocks, ascending,
 * then its own block, the last step and the only masked one. kept: [B·H][nb][topk], the
 * selection's output, of which the first min(topk, qb) entries of each query block are read. */
struct KeptTiles {
    const int *kept;
    int nb, topk;
    const int *mine; /* this work tile's list */
    int nkept, own;
    __device__ __forceinline__ int begin(int, int qb, int qhead)
    {
        mine = kept + ((size_t)qhead * nb + qb) * topk;
        nkept = min(topk, qb);
        own = qb;
        return nkept + 1; /* the dense count (qb + 1 tiles up to the diagonal) is not used */
    }
    __device__ __forceinline__ int tile(int j) const { return j < nkept ? __ldg(mine + j) : own; }
    __device__ __forceinline__ bool masked(int j, int steps) const { return j == steps - 1; }
};

/* grid (nb, heads, batch): CTA (x, h, b) is query block nb − 1 − x of head h of batch b. */
template <bool BF16, int DH>
__global__ void __launch_bounds__(WS_THREADS, 1)
    block_sparse_ws(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                    const __grid_constant__ CUtensorMap map_v, uint16_t *__restrict__ O, const int *__restrict__ kept,
                    int n, int heads, int kv_heads, int topk, float scale_log2)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    Scores16<BF16, DH> sc;
    sc.scale_log2 = scale_log2;
    KeptTiles walk;
    walk.kept = kept, walk.nb = (n + BSA_BLOCK - 1) / BSA_BLOCK, walk.topk = topk;
    ws_attention<BsaLayout<DH>, true, Scores16<BF16, DH>, false, KeptTiles>(smem_raw, &map_q, &map_k, &map_v, O, n,
                                                                            heads, kv_heads, sc, 1, walk);
#else
    (void)map_q, (void)map_k, (void)map_v, (void)O, (void)kept, (void)n, (void)heads, (void)kv_heads, (void)topk,
        (void)scale_log2;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

template <bool BF16, int DH>
cudaError_t launch(const struct kb_shape *s, const CUtensorMap &mq, const CUtensorMap &mk, const CUtensorMap &mv,
                   const int *kept, void *o, cudaStream_t st)
{
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)DH));
    dim3 grid((s->seq_len + BSA_BLOCK - 1) / BSA_BLOCK, s->heads, s->batch);
    block_sparse_ws<BF16, DH><<<grid, WS_THREADS, BsaLayout<DH>::SMEM, st>>>(
        mq, mk, mv, (uint16_t *)o, kept, s->seq_len, s->heads, s->kv_heads, s->topk_blocks, scale_log2);
    return cudaGetLastError();
}

/* The two instantiations of head_dim DH may use its shared memory. */
template <int DH> cudaError_t raise_smem_limit()
{
    return kb_gpu::allow_dynamic_smem(BsaLayout<DH>::SMEM, block_sparse_ws<false, DH>, block_sparse_ws<true, DH>);
}

} // namespace

extern "C" int block_sparse_ws_prepare(char *err, size_t errlen)
{
    if (!encode_tiled_or_say(err, errlen))
        return KB_UNSUPPORTED;
    cudaError_t e = raise_smem_limit<128>();
    if (e == cudaSuccess)
        e = raise_smem_limit<64>();
    if (e != cudaSuccess) {
        snprintf(err, errlen, "raising block_sparse_ws's shared-memory limit to %d bytes: %s", BsaLayout<128>::SMEM,
                 cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

extern "C" int block_sparse_ws_attend(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                      const void *v, const int *kept, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const bool bf16 = t == KB_DTYPE_BF16;
    const int dh = s->head_dim;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || (dh != 128 && dh != 64) || s->block != BSA_BLOCK ||
        s->topk_blocks < 1 || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled();
    if (!fn)
        return (int)cudaErrorNotSupported;
    /* host-only encoding (the maps hold this call's pointers, which the harness rotates):
     * [planes, N, d] 16-bit, boxes of 128 rows × 64 columns, 128B-swizzled, zero past row N */
    CUtensorMap mq, mk, mv;
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT16, q, s->seq_len, s->batch * s->heads, dh, 2) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT16, k, s->seq_len, s->batch * s->kv_heads, dh, 2) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT16, v, s->seq_len, s->batch * s->kv_heads, dh, 2) != CUDA_SUCCESS)
        return (int)cudaErrorInvalidValue;
    if (dh == 128)
        return (int)(bf16 ? launch<true, 128>(s, mq, mk, mv, kept, o, st) : launch<false, 128>(s, mq, mk, mv, kept, o, st));
    return (int)(bf16 ? launch<true, 64>(s, mq, mk, mv, kept, o, st) : launch<false, 64>(s, mq, mk, mv, kept, o, st));
}
