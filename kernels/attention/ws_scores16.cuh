/* ws_scores16.cuh - flash_ws.cuh's scores policy of 16-bit (f16/bf16) inputs, shared by the
 * dense attention.flash@cuda.wgmma-ws (flash_wgmma_ws.cu) and the block-sparse
 * attention.block_sparse@cuda.wgmma-ws (block_sparse_ws.cu): S = Q·Kᵀ on SS wgmma into the f32
 * accumulator itself, P·V in the same 16-bit type (PvHalf). Include only from code built for
 * sm_90a. */
#ifndef KB_WS_SCORES16_CUH
#define KB_WS_SCORES16_CUH

#include "kernels/attention/flash_ws.cuh"

namespace kb_fws {

/* Keys per K/V tile for head_dim DH: 128, but 64 for DH = 256 (see the header); flash_wgmma_ws.cu
 * also runs d = 128 with 176 on request. */
template <int DH> constexpr int keys_per_tile() { return DH == 256 ? 64 : BN; }

/* S = Q·Kᵀ for one tile of KN keys: DH / 16 k-steps of 16 over d as one committed group, not
 * waited for. qw: the consumer's 64 rows of Q (in each column block), kt: the K tile. */
template <bool BF16, int DH, int KN>
__device__ __forceinline__ void issue_s(float (&s)[KN / 2], const uint16_t *qw, const uint16_t *kt)
{
    pin(s);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) {
        const int cb = kk / 4, koff = (kk % 4) * 16;
        uint64_t da = smem_desc(qw + cb * BM * 64 + koff, 16, 1024);
        uint64_t db = smem_desc(kt + cb * KN * 64 + koff, 16, 1024);
        if constexpr (KN == 64)
            kb_wgmma::mma_m64n64k16_ss<BF16>(s, da, db, kk > 0);
        else if constexpr (KN == 176)
            kb_wgmma::mma_m64n176k16_ss<BF16>(s, da, db, kk > 0);
        else
            wgmma_ss<BF16>(s, da, db, kk > 0); /* the first k-step overwrites s */
    }
    wg_commit();
}

/* flash_ws.cuh's scores policy of 16-bit inputs: S is the wgmma's f32 accumulator itself; P·V
 * in the same 16-bit type (PvHalf). */
template <bool BF16, int DH, int KN = keys_per_tile<DH>()> struct Scores16 : PvHalf<BF16, DH / 2, KN> {
    static constexpr int NACC = DH / 2;
    struct Regs {};
    float scale_log2;
    float lazy = 0.f; /* softmax_exp_scaled's LAZY threshold (KBENCH_FLASH_WS_LAZY_RESCALE) */
    __device__ __forceinline__ void begin(Regs &, int, int, int) {}
    __device__ __forceinline__ void issue(float (&s)[KN / 2], Regs &, const uint16_t *qw, const uint16_t *kt, int)
    {
        issue_s<BF16, DH, KN>(s, qw, kt);
    }
    __device__ __forceinline__ void ready(float (&s)[KN / 2], Regs &, int) { pin(s); }
    __device__ __forceinline__ void softmax(float (&s)[KN / 2], Regs &, float (&m)[2], float (&l)[2], float (&alpha)[2])
    {
        if (lazy > 0.f) /* uniform: the launch's choice; without it the exact update alone */
            softmax_exp_scaled<KN / 2, true, true>(s, m, l, scale_log2, scale_log2, 0.f, alpha, lazy);
        else
            softmax_exp(s, m, l, scale_log2, alpha);
    }
};

} // namespace kb_fws

#endif
