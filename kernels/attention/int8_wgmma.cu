/* int8_wgmma.cu - the attention of attention.int8@cuda.wgmma: SageAttention's INT8 Q·Kᵀ on
 * Hopper's warpgroup tensor cores (wgmma.mma_async m64n128k32 .s32.s8.s8, sm_90a only), head_dim
 * 128, after the same pre-pass as attention.int8@cuda.mma (int8_quant.cu: K smoothed, Q and K
 * coded per block of INT8_BLOCK = 64 tokens with one float scale each).
 *
 * The structure is attention.flash@cuda.wgmma's (flash_wgmma.cu), and everything after S is its
 * code (flash_wgmma.cuh): a block is two warpgroups (256 threads) owning 128 query rows of one
 * (batch, head), 64 rows each; per tile of 128 keys
 *   S₈ = Q₈·K₈ᵀ  four wgmma m64n128k32 s8·s8 → s32 (k-steps of 32 channels), A (Q codes) and B
 *               (K codes) from shared memory, both K-major — the only layout 8-bit wgmma takes;
 *   S = S₈ · s_q · s_k · log2(e)/√d   s_q: the warpgroup's 64 rows start at a multiple of 64, so
 *               they are exactly one Q block (2·qb + wg); s_k: a 128-key tile spans K blocks 2j
 *               (columns 0..63 of the tile) and 2j + 1 (columns 64..127);
 *   masks, online softmax, O = α·O + P·V in f16 (P from registers, V f16 from shared memory):
 *               flash_wgmma.cuh's, with the log2 scale already applied (scale 1).
 * Overlap (FlashAttention-3's intra-warpgroup pipelining): S₈ of tile j + 1 is issued before the
 * softmax of tile j and runs on the tensor cores under it; then P·V(j) is issued and both are
 * waited for. So tile j's loop iteration reads K codes of tile j + 1 and V of tile j; the cp.async
 * group issued in it brings K codes of tile j + 2 and V of tile j + 1 (double-buffered: tile t's
 * K codes and V live in stage t & 1), after the barrier that shows both warpgroups done with the
 * stages they overwrite (S₈(j) and P·V(j − 1), waited for at the end of iteration j − 1).
 * Registers: o, s, the S₈ in flight and P take 255 a thread (ptxas -v; no spills).
 *
 * Shared memory (1024-byte aligned): Q codes 128 rows × 128 bytes (16 KiB), two stages of K codes
 * (2 × 16 KiB), two stages of V (2 × 32 KiB, f16): 112 KiB. An INT8 row of 128 channels is
 * exactly one 128-byte swizzle row: row r's 16-byte chunk c sits at chunk c ^ (r % 8), 8-row
 * groups 1024 bytes apart (the descriptor's SBO); the k-step kk starts 32·kk bytes into the row
 * (the hardware applies the XOR after adding) — gemm_wgmma.cu's proven layout.
 *
 * s32 → f32 without I2F (a quarter-rate conversion, as costly per score as the exponential):
 * |S₈| ≤ 128·127·127 = 2064512 < 2²², and for an integer x with |x| < 2²² the float whose bits
 * are those of 1.5·2²³ plus x is exactly 1.5·2²³ + x (its exponent stays 2²³, where the spacing
 * is 1), so (bits(1.5·2²³) + x as float) − 1.5·2²³ is x, exactly: an integer add and a float add. */
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/int8.h"
}

#include "kernels/attention/flash_wgmma.cuh"
#include "kernels/attention/int8_wgmma.cuh"

namespace {

using namespace kb_fwgmma;

static_assert(INT8_BLOCK == 64 && BM == 2 * INT8_BLOCK && BN == 2 * INT8_BLOCK,
              "a warpgroup's 64 rows are one Q block; a key tile is two K blocks");

/* Q codes, two stages of K codes (bytes: D = 128 a row), two stages of V (f16), +1024: alignment */
constexpr size_t SMEM_BYTES = (size_t)(BM + 2 * BN) * D + (size_t)2 * BN * D * sizeof(uint16_t) + 1024;

/* Rows [row0, row0 + R) of an [n, 128] INT8 matrix into a 128B-swizzled tile of 128-byte rows;
 * rows past n are zero (their scores are 0, and masked). */
template <int R> __device__ __forceinline__ void load_tile8(uint8_t *tile, const int8_t *src, int row0, int n)
{
#pragma unroll
    for (int c = threadIdx.x; c < R * (D / 16); c += THREADS) {
        int r = c / (D / 16), ch = c % (D / 16), gr = row0 + r;
        bool ok = gr < n;
        cp_async16(smem_u32(tile + r * D + ((ch ^ (r % 8)) << 4)), src + (size_t)(ok ? gr : 0) * D + ch * 16, ok);
    }
}

template <bool CAUSAL>
__global__ void __launch_bounds__(THREADS, 1)
    int8_wgmma(const int8_t *__restrict__ Q8, const int8_t *__restrict__ K8, const float *__restrict__ qscale,
               const float *__restrict__ kscale, const uint16_t *__restrict__ V, uint16_t *__restrict__ O, int n,
               int heads, int kv_heads, int qblocks, float scale_log2)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    /* descriptors assume 1024-byte aligned swizzle atoms */
    uint8_t *sQ = reinterpret_cast<uint8_t *>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~(uintptr_t)1023);
    uint8_t *sK = sQ + BM * D;                                     /* two stages of BN × D bytes */
    uint16_t *sV = reinterpret_cast<uint16_t *>(sK + 2 * BN * D); /* two stages of BN × D f16 */

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wg = warp / 4, wl = warp % 4, g = lane / 4, t4 = lane % 4;
    const int qb = CAUSAL ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x; /* heaviest first */
    const int h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const size_t qhead = (size_t)b * heads + h, kvhead = (size_t)b * kv_heads + kh;
    const int8_t *q = Q8 + qhead * (size_t)n * D, *k = K8 + kvhead * (size_t)n * D;
    const uint16_t *v = V + kvhead * (size_t)n * D;
    const float *ks = kscale + kvhead * (size_t)qblocks;
    const int q0 = qb * BM;
    const int wrow0 = q0 + wg * 64 + wl * 16; /* this warp's first row */
    const int row_a = wrow0 + g, row_b = row_a + 8;
    /* the warpgroup's rows q0 + 64·wg .. +63 are Q block 2·qb + wg; past the end: no rows, 0 */
    const int qblk = 2 * qb + wg;
    const float q_scale = qblk < qblocks ? qscale[qhead * (size_t)qblocks + qblk] * scale_log2 : 0.f;

    int n_tiles = (n + BN - 1) / BN;
    if (CAUSAL)
        n_tiles = min(n_tiles, (q0 + BM - 1) / BN + 1);

    float o[64];
#pragma unroll
    for (int i = 0; i < 64; i++)
        o[i] = 0.f;
    float m[2] = { -INFINITY, -INFINITY }, l[2] = { 0.f, 0.f };
    const uint8_t *qw = sQ + wg * 64 * D; /* this warpgroup's 64 rows: 8 KiB on, still 1024-aligned */
    int si[64];                           /* S₈ of the tile in flight */
#pragma unroll
    for (int i = 0; i < 64; i++)
        si[i] = 0;

    /* Tile j's K codes live in K stage j & 1, its V in V stage j & 1. Q, K(0), V(0), K(1) first,
     * and S₈(0). */
    load_tile8<BM>(sQ, q, q0, n);
    load_tile8<BN>(sK, k, 0, n);
    load_tile<BN>(sV, v, 0, n);
    if (n_tiles > 1)
        load_tile8<BN>(sK + BN * D, k, BN, n);
    cp_commit();
    cp_wait_all();
    fence_proxy_async();
    __syncthreads();
    pin(si);
    issue_qk(si, qw, sK);
    wg_wait_all();
    pin(si);

    /* Per tile j: S₈(j) is done; S₈(j + 1) is issued before tile j's softmax and runs under it
     * (FlashAttention-3's intra-warpgroup overlap), then P·V(j); both are waited for at the end. */
    for (int j = 0; j < n_tiles; j++) {
        cp_wait_all(); /* K(j + 1) and V(j), loaded during tile j − 1 (or before the loop) */
        fence_proxy_async();
        /* both warpgroups are done with S₈(j) (K stage j & 1) and P·V(j − 1) (V stage (j + 1) & 1) */
        __syncthreads();
        if (j + 2 < n_tiles)
            load_tile8<BN>(sK + (j & 1) * BN * D, k, (j + 2) * BN, n);
        if (j + 1 < n_tiles)
            load_tile<BN>(sV + ((j + 1) & 1) * BN * D, v, (j + 1) * BN, n);
        cp_commit();

        /* dequantize: 8-column block nt holds tile columns 8nt..8nt+7, in K block 2j + nt / 8;
         * block 2j + 1 lies past the end when n <= 64·(2j + 1) (its keys are all masked), so it
         * is not read */
        const float deq0 = q_scale * ks[2 * j];
        const float deq1 = 2 * j + 1 < qblocks ? q_scale * ks[2 * j + 1] : 0.f;
        float s[64];
        dequantize(s, si, deq0, deq1);

        if (j + 1 < n_tiles) {
            pin(si);
            issue_qk(si, qw, sK + ((j + 1) & 1) * BN * D);
        }
        mask_tile<CAUSAL>(s, j * BN, n, wrow0, row_a, row_b, t4);
        uint32_t pa[BN / 16][4];
        softmax_p<false>(s, o, m, l, 1.f, pa);
        issue_pv<false>(o, pa, sV + (j & 1) * BN * D);
        wg_wait_all();
        pin(o);
        pin(si);
    }

    store_o<false>(o, l, O + qhead * (size_t)n * D, row_a, row_b, n, t4);
#else
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

template <bool CAUSAL>
cudaError_t launch(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale, const float *kscale,
                   const void *v, void *o, cudaStream_t st)
{
    static bool attribute_set; /* once per instantiation and process */
    if (!attribute_set) {
        cudaError_t e = cudaFuncSetAttribute(int8_wgmma<CAUSAL>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)SMEM_BYTES);
        if (e != cudaSuccess)
            return e;
        attribute_set = true;
    }
    dim3 grid((s->seq_len + BM - 1) / BM, s->heads, s->batch);
    const int qblocks = (s->seq_len + INT8_BLOCK - 1) / INT8_BLOCK;
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    int8_wgmma<CAUSAL><<<grid, THREADS, SMEM_BYTES, st>>>((const int8_t *)q8, (const int8_t *)k8, qscale, kscale,
                                                          (const uint16_t *)v, (uint16_t *)o, s->seq_len, s->heads,
                                                          s->kv_heads, qblocks, scale_log2);
    return cudaGetLastError();
}

} // namespace

extern "C" int int8_cuda_attend_wgmma(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                                      const float *kscale, const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (s->head_dim != D || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    return (int)(s->causal ? launch<true>(s, q8, k8, qscale, kscale, v, o, st)
                           : launch<false>(s, q8, k8, qscale, kscale, v, o, st));
}
