/* flash_wgmma.cu - the device code of attention.flash@cuda.wgmma: FlashAttention's forward pass
 * on Hopper's warpgroup tensor-core instructions (wgmma.mma_async, sm_90a only), head_dim 128,
 * f16/bf16 in, f32 accumulate.
 *
 * Why a second flash: mma.sync (flash_mma.cu) issues from each warp and tops out well below the
 * H100's tensor-core rate; wgmma lets a warpgroup (4 warps) issue one 64×128×16 product that reads
 * its operands straight from shared memory, asynchronously.
 *
 * A block is two warpgroups (256 threads) and owns 128 query rows of one (batch, head); each
 * warpgroup owns 64 of them. Per tile of 128 keys:
 *   S = Q·Kᵀ   wgmma m64n128k16, A (Q) and B (K) from shared memory, both K-major (d contiguous)
 *   P = 2^(S·log2(e)/√d − m) with the causal/ragged masks, m and l updated online (registers)
 *   O = α·O + P·V  wgmma m64n128k16 with A = P from registers (the S accumulator is already in
 *              the A-fragment layout) and B = V from shared memory, MN-major (d contiguous: the
 *              instruction's transpose bit)
 * K and V tiles are double-buffered with cp.async: tile j+1 loads while tile j computes.
 *
 * Shared-memory layout: the 128B-swizzle canonical layout the wgmma descriptors describe. A tile
 * of R rows × 128 columns is stored as two column blocks of 64 (128 bytes a row); in each, row r's
 * 16-byte chunk c sits at chunk c ^ (r % 8) — the hardware applies the same XOR to address bits
 * [4,7) from bits [7,10), so every block starts 1024-byte aligned. Descriptors:
 *   K-major (Q, K): 8-row core-matrix groups 1024 bytes apart (SBO); a k-step of 16 columns
 *                   starts 32 bytes further inside the 128-byte row (LBO unused);
 *   MN-major (V):   along d, the next 64-column block at LBO = 128·rows bytes; along keys, the
 *                   next 8-key group at SBO = 1024; a k-step of 16 keys starts 2048 bytes on.
 * The accumulator of a warpgroup: warp w holds rows 16w + lane/4 (+8), and in each 8-column block
 * n the columns 8n + 2(lane%4) + {0, 1} — the mma.sync m16n8 C layout, 16 blocks wide. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

#include "kernels/attention/flash_wgmma.cuh"

namespace {

using namespace kb_fwgmma;

constexpr size_t SMEM_BYTES = (size_t)(BM + 4 * BN) * D * sizeof(uint16_t) + 1024; /* +1024: alignment */

template <bool CAUSAL, bool BF16>
__global__ void __launch_bounds__(THREADS, 1) flash_wgmma(const uint16_t *__restrict__ Q, const uint16_t *__restrict__ K,
                                                          const uint16_t *__restrict__ V, uint16_t *__restrict__ O,
                                                          int n, int heads, int kv_heads, float scale_log2)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    /* descriptors assume 1024-byte aligned swizzle atoms */
    uint16_t *sQ = reinterpret_cast<uint16_t *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~(uintptr_t)1023);
    uint16_t *sK = sQ + BM * D; /* two stages of BN × D */
    uint16_t *sV = sK + 2 * BN * D;

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wg = warp / 4, wl = warp % 4, g = lane / 4, t4 = lane % 4;
    const int qb = CAUSAL ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x; /* heaviest first */
    const int h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const size_t qoff = ((size_t)b * heads + h) * (size_t)n * D;
    const size_t kvoff = ((size_t)b * kv_heads + kh) * (size_t)n * D;
    const uint16_t *q = Q + qoff, *k = K + kvoff, *v = V + kvoff;
    const int q0 = qb * BM;
    const int wrow0 = q0 + wg * 64 + wl * 16; /* this warp's first row */
    const int row_a = wrow0 + g, row_b = row_a + 8;

    int n_tiles = (n + BN - 1) / BN;
    if (CAUSAL)
        n_tiles = min(n_tiles, (q0 + BM - 1) / BN + 1);

    load_tile<BM>(sQ, q, q0, n);
    load_tile<BN>(sK, k, 0, n);
    load_tile<BN>(sV, v, 0, n);
    cp_commit();

    float o[64];
#pragma unroll
    for (int i = 0; i < 64; i++)
        o[i] = 0.f;
    float m[2] = { -INFINITY, -INFINITY }, l[2] = { 0.f, 0.f };
    const uint16_t *qw = sQ + wg * 64 * 64; /* this warpgroup's 64 rows, in each column block */

    for (int j = 0; j < n_tiles; j++) {
        const int st = j & 1;
        cp_wait_all();
        fence_proxy_async();
        __syncthreads(); /* tile j is in; everyone is done with the stage tile j + 1 refills */
        if (j + 1 < n_tiles) {
            load_tile<BN>(sK + (st ^ 1) * BN * D, k, (j + 1) * BN, n);
            load_tile<BN>(sV + (st ^ 1) * BN * D, v, (j + 1) * BN, n);
            cp_commit();
        }
        const uint16_t *kt = sK + st * BN * D, *vt = sV + st * BN * D;
        const int k0 = j * BN;

        float s[64];
#pragma unroll
        for (int i = 0; i < 64; i++)
            s[i] = 0.f;
        pin(s);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            const int cb = kk / 4, koff = (kk % 4) * 16;
            uint64_t da = smem_desc(qw + cb * BM * 64 + koff, 16, 1024);
            uint64_t db = smem_desc(kt + cb * BN * 64 + koff, 16, 1024);
            wgmma_ss<BF16>(s, da, db, kk > 0);
        }
        wg_commit();
        wg_wait_all();
        pin(s);

        mask_tile<CAUSAL>(s, k0, n, wrow0, row_a, row_b, t4);
        softmax_pv<BF16>(s, o, m, l, scale_log2, vt);
    }

    store_o<BF16>(o, l, O + qoff, row_a, row_b, n, t4);
#else
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

template <bool CAUSAL, bool BF16>
cudaError_t launch(const struct kb_shape *s, const void *q, const void *k, const void *v, void *o, cudaStream_t st)
{
    static bool attribute_set; /* once per instantiation and process */
    if (!attribute_set) {
        cudaError_t e = cudaFuncSetAttribute(flash_wgmma<CAUSAL, BF16>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)SMEM_BYTES);
        if (e != cudaSuccess)
            return e;
        attribute_set = true;
    }
    dim3 grid((s->seq_len + BM - 1) / BM, s->heads, s->batch);
    float scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    flash_wgmma<CAUSAL, BF16><<<grid, THREADS, SMEM_BYTES, st>>>((const uint16_t *)q, (const uint16_t *)k,
                                                                  (const uint16_t *)v, (uint16_t *)o, s->seq_len,
                                                                  s->heads, s->kv_heads, scale_log2);
    return cudaGetLastError();
}

} // namespace

extern "C" int flash_wgmma_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                  const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->head_dim != D || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    if (s->causal)
        return (int)(bf16 ? launch<true, true>(s, q, k, v, o, st) : launch<true, false>(s, q, k, v, o, st));
    return (int)(bf16 ? launch<false, true>(s, q, k, v, o, st) : launch<false, false>(s, q, k, v, o, st));
}
