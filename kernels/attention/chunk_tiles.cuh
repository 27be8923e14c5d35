/* chunk_tiles.cuh - the tile code the chunk-parallel linear-attention kernels share
 * (linear_mma.cu, gla_mma.cu): 16-bit conversions, the swizzled [rows][D] shared-memory tiles,
 * their cp.async loads, and a chunk's state product L = K̃ᵀ V on tensor cores.
 *
 * A tile of D-wide rows keeps row r's 16-byte chunk ch at chunk ch ^ (r % 8), so the 8 rows one
 * ldmatrix phase reads fall in 8 different bank groups. */
#ifndef KB_CHUNK_TILES_CUH
#define KB_CHUNK_TILES_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/gpu/ptx.cuh"

namespace kb_chunk {

using namespace kb_ptx;

template <bool BF16> __device__ __forceinline__ float2 unpack2(uint32_t u)
{
    if (BF16)
        return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162 *>(&u));
    return __half22float2(*reinterpret_cast<__half2 *>(&u));
}

template <bool BF16> __device__ __forceinline__ uint16_t to16(float x)
{
    return (uint16_t)(pack2<BF16>(x, 0.f) & 0xFFFFu);
}

template <bool BF16> __device__ __forceinline__ float from16(uint16_t x)
{
    return unpack2<BF16>((uint32_t)x).x;
}

/* Index of element 0 of 16-byte chunk ch of row `row` in a swizzled tile of D-wide rows. */
template <int D> __device__ __forceinline__ int swz(int row, int ch)
{
    return row * D + ((ch ^ (row & 7)) << 3);
}
/* Index of element p of row `row`. */
template <int D> __device__ __forceinline__ int swz_elem(int row, int p)
{
    return swz<D>(row, p >> 3) + (p & 7);
}

/* Rows [row0, row0 + ROWS) of a [n, D] matrix into a swizzled tile; rows past n are zero. Rows
 * lie ld elements apart (D when dense; H·D in a token-major packed batch). */
template <int D, int ROWS, int THREADS>
__device__ __forceinline__ void load_tile(uint16_t *tile, const uint16_t *src, int row0, int n, size_t ld = D)
{
    constexpr int CH = D / 8;
    for (int c = threadIdx.x; c < ROWS * CH; c += THREADS) {
        int r = c / CH, ch = c % CH, gr = row0 + r;
        bool ok = gr < n;
        cp_async16(smem_u32(tile + swz<D>(r, ch)), src + (size_t)(ok ? gr : 0) * ld + ch * 8, ok);
    }
}

/* out[p][e] = Σ_j sK[j][p] · sV[j][e] over the C tokens of a chunk, in float32 (a [D][D] state):
 * M = N = D, K = C. Four warps; warp w owns state rows [16·MT·w, +16·MT) with MT = D / 64. The
 * A operand is Kᵀ, read transposed from the [C][D] tile; so is V, the col-major B operand. */
template <int D, int C, bool BF16>
__device__ __forceinline__ void chunk_state_product(const uint16_t *sK, const uint16_t *sV, float *out)
{
    constexpr int MT = D / 64;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int p0 = warp * 16 * MT;
    float acc[MT][D / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int i = 0; i < D / 8; i++)
            acc[mt][i][0] = acc[mt][i][1] = acc[mt][i][2] = acc[mt][i][3] = 0.f;
#pragma unroll
    for (int kc = 0; kc < C / 16; kc++) {
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            /* matrix i = lane/8: rows (tokens) kc·16 + 8·(i/2) + lane%8, columns p0 + 16·mt + 8·(i%2) */
            int j = kc * 16 + 8 * (lane / 16) + lane % 8;
            ldsm_x4_trans(a[mt], smem_u32(sK + swz<D>(j, (p0 + mt * 16) / 8 + (lane / 8) % 2)));
        }
#pragma unroll
        for (int dp = 0; dp < D / 16; dp++) {
            /* matrix i: tokens kc·16 + 8·(i%2) + lane%8, columns 16·dp + 8·(i/2) */
            uint32_t r[4];
            int vr = kc * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
            ldsm_x4_trans(r, smem_u32(sV + swz<D>(vr, dp * 2 + lane / 16)));
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                mma_16816<BF16>(acc[mt][2 * dp], a[mt], r[0], r[1]);
                mma_16816<BF16>(acc[mt][2 * dp + 1], a[mt], r[2], r[3]);
            }
        }
    }
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < D / 8; nt++) {
            int p = p0 + mt * 16 + g, col = nt * 8 + 2 * t4;
            *reinterpret_cast<float2 *>(out + (size_t)p * D + col) = make_float2(acc[mt][nt][0], acc[mt][nt][1]);
            *reinterpret_cast<float2 *>(out + (size_t)(p + 8) * D + col) = make_float2(acc[mt][nt][2], acc[mt][nt][3]);
        }
}

/* O += (τ·W)·V for one warp's 16 query rows of a chunk: W is the warp's masked in-chunk weights
 * in the S-accumulator layout (s[n-tile][4], which is already the A-fragment layout of P·V, two
 * n-tiles a k-step), τ the per-row scale (rows g and g + 8) applied before rounding to 16 bits;
 * key tiles after the warp's own (kc > warp) are all masked and skipped. */
template <int D, int C, bool BF16>
__device__ __forceinline__ void chunk_intra_pv(float (&o)[D / 8][4], const float (&s)[C / 8][4], const float (&tau)[2],
                                               const uint16_t *sV, int warp, int lane)
{
#pragma unroll
    for (int kc = 0; kc < C / 16; kc++) {
        if (kc > warp)
            break;
        uint32_t pa[4];
        pa[0] = pack2<BF16>(s[2 * kc][0] * tau[0], s[2 * kc][1] * tau[0]);
        pa[1] = pack2<BF16>(s[2 * kc][2] * tau[1], s[2 * kc][3] * tau[1]);
        pa[2] = pack2<BF16>(s[2 * kc + 1][0] * tau[0], s[2 * kc + 1][1] * tau[0]);
        pa[3] = pack2<BF16>(s[2 * kc + 1][2] * tau[1], s[2 * kc + 1][3] * tau[1]);
#pragma unroll
        for (int dp = 0; dp < D / 16; dp++) {
            uint32_t r[4];
            ldsm_x4_trans(r, smem_u32(sV + swz<D>(kc * 16 + (lane % 8) + 8 * ((lane / 8) % 2), dp * 2 + lane / 16)));
            mma_16816<BF16>(o[2 * dp], pa, r[0], r[1]);
            mma_16816<BF16>(o[2 * dp + 1], pa, r[2], r[3]);
        }
    }
}

/* Lets `kernel` use `bytes` of dynamic shared memory, once per process (*done remembers). */
template <typename F> cudaError_t allow_smem(F *kernel, size_t bytes, bool *done)
{
    if (*done)
        return cudaSuccess;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (e == cudaSuccess)
        *done = true;
    return e;
}

} // namespace kb_chunk

#endif
