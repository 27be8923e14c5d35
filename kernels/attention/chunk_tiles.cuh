/* chunk_tiles.cuh - the tile code the chunk-parallel linear-attention kernels share
 * (linear_mma.cu, gla_mma.cu, lightning_mma.cu, ssd_mma.cu): 16-bit conversions, the swizzled
 * [rows][D] shared-memory tiles, their cp.async loads, and a chunk's state product L = K̃ᵀ V on
 * tensor cores (square, or rectangular with per-token weights).
 *
 * A tile of D-wide rows keeps row r's 16-byte chunk ch at chunk ch ^ (r % 8) (32-wide rows:
 * ch ^ ((r / 2) % 4)), so the 8 rows one ldmatrix phase reads fall in 8 different bank groups. */
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

/* Index of element 0 of 16-byte chunk ch of row `row` in a swizzled tile of D-wide rows. Rows of
 * 32 values (4 chunks, two rows to a 128-byte line) use the 64-byte pattern ch ^ ((row / 2) % 4)
 * instead, rows of 16 (2 chunks, four rows to a line) ch ^ ((row / 4) % 2): the 8 rows of an
 * ldmatrix phase then still fill the 8 distinct 16-byte bank groups. */
template <int D> __device__ __forceinline__ int swz(int row, int ch)
{
    static_assert(D == 16 || D == 32 || D % 64 == 0, "swizzled rows are 16, 32 or a multiple of 64 16-bit values");
    if constexpr (D >= 64)
        return row * D + ((ch ^ (row & 7)) << 3);
    else if constexpr (D == 32)
        return row * D + ((ch ^ ((row >> 1) & 3)) << 3);
    else /* 2 chunks a row, four rows to a line: rows 4..7 take the other half of each pair */
        return row * D + ((ch ^ ((row >> 2) & 1)) << 3);
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

/* The fragment walk of the chunk-state products below: acc += Σ_j w_j · sK[j][p] · sV[j][e] over
 * the C tokens of a chunk, for a DK×DV state (multiples of 64) in float32 registers, M = DK,
 * N = DV, K = C. Four warps (threads 0..127); warp w owns state rows [16·MT·w, +16·MT) with
 * MT = DK / 64: row p = 16·MT·w + 16·mt + g (+8), columns 8·nt + 2·t4 (+1) in the C/D fragment
 * layout. The A operand is Kᵀ, read transposed from the [C][DK] tile; so is V, the col-major B
 * operand. weights(j0, w) gives the weights of tokens j0, j0 + 1, j0 + 8, j0 + 9 (with
 * lane = 4g + t4, registers a[0], a[1] hold tokens 16kc + 2t4, +1 and a[2], a[3] tokens
 * 16kc + 8 + 2t4, +1: the .trans load of matrices 0..3 below) and returns true, or returns
 * false for unweighted tokens; the weights scale the A fragments in float32, rounded once to 16
 * bits as a weighted tile would be. */
template <int DK, int DV, int C, bool BF16, class Weights>
__device__ __forceinline__ void chunk_state_walk(const uint16_t *sK, const uint16_t *sV,
                                                 float (&acc)[DK / 64][DV / 8][4], Weights weights)
{
    constexpr int MT = DK / 64;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int p0 = warp * 16 * MT;
#pragma unroll
    for (int kc = 0; kc < C / 16; kc++) {
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            /* matrix i = lane/8: rows (tokens) kc·16 + 8·(i/2) + lane%8, columns p0 + 16·mt + 8·(i%2) */
            int j = kc * 16 + 8 * (lane / 16) + lane % 8;
            ldsm_x4_trans(a[mt], smem_u32(sK + swz<DK>(j, (p0 + mt * 16) / 8 + (lane / 8) % 2)));
        }
        float w[4];
        if (weights(kc * 16 + 2 * (lane % 4), w)) {
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int r = 0; r < 4; r++) {
                    const float2 x = unpack2<BF16>(a[mt][r]);
                    a[mt][r] = r < 2 ? pack2<BF16>(x.x * w[0], x.y * w[1]) : pack2<BF16>(x.x * w[2], x.y * w[3]);
                }
        }
#pragma unroll
        for (int dp = 0; dp < DV / 16; dp++) {
            /* matrix i: tokens kc·16 + 8·(i%2) + lane%8, columns 16·dp + 8·(i/2) */
            uint32_t r[4];
            int vr = kc * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
            ldsm_x4_trans(r, smem_u32(sV + swz<DV>(vr, dp * 2 + lane / 16)));
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                mma_16816<BF16>(acc[mt][2 * dp], a[mt], r[0], r[1]);
                mma_16816<BF16>(acc[mt][2 * dp + 1], a[mt], r[2], r[3]);
            }
        }
    }
}

/* acc += Σ_j sK[j][p] · sV[j][e] over the C tokens of a chunk (a [D][D] state; chunk_state_walk).
 * DECAYED: key j is weighted by 2^(log2_w·(base + C−1−j)) (a decay to the end of a span of
 * base + C tokens). */
template <int D, int C, bool BF16, bool DECAYED = false>
__device__ __forceinline__ void chunk_state_mma(const uint16_t *sK, const uint16_t *sV, float (&acc)[D / 64][D / 8][4],
                                                float log2_w = 0.f, int base = 0)
{
    chunk_state_walk<D, D, C, BF16>(sK, sV, acc, [&](int j0, float (&w)[4]) {
        if (!DECAYED)
            return false;
        w[0] = exp2f(log2_w * (float)(base + C - 1 - j0));
        w[1] = exp2f(log2_w * (float)(base + C - 2 - j0));
        w[2] = exp2f(log2_w * (float)(base + C - 9 - j0));
        w[3] = exp2f(log2_w * (float)(base + C - 10 - j0));
        return true;
    });
}

/* acc += Σ_j w_j · sK[j][p] · sV[j][e] over the C tokens of a chunk: chunk_state_mma for a
 * rectangular DK×DV state (DK, DV multiples of 64) with per-token weights w (shared memory, C
 * floats; nullptr: 1) applied to the A fragments in float32 and rounded once to 16 bits. */
template <int DK, int DV, int C, bool BF16>
__device__ __forceinline__ void chunk_state_mma_weighted(const uint16_t *sK, const uint16_t *sV, const float *w,
                                                         float (&acc)[DK / 64][DV / 8][4])
{
    chunk_state_walk<DK, DV, C, BF16>(sK, sV, acc, [&](int j0, float (&wt)[4]) {
        if (!w)
            return false;
        wt[0] = w[j0];
        wt[1] = w[j0 + 1];
        wt[2] = w[j0 + 8];
        wt[3] = w[j0 + 9];
        return true;
    });
}

/* acc = 0 (a state accumulator of chunk_state_mma). */
template <int D> __device__ __forceinline__ void chunk_state_zero(float (&acc)[D / 64][D / 8][4])
{
#pragma unroll
    for (int mt = 0; mt < D / 64; mt++)
#pragma unroll
        for (int i = 0; i < D / 8; i++)
            acc[mt][i][0] = acc[mt][i][1] = acc[mt][i][2] = acc[mt][i][3] = 0.f;
}

/* acc = Σ_j sK[j][p] · sV[j][e] (chunk_state_mma from zero). */
template <int D, int C, bool BF16>
__device__ __forceinline__ void chunk_state_accumulate(const uint16_t *sK, const uint16_t *sV,
                                                       float (&acc)[D / 64][D / 8][4])
{
    chunk_state_zero<D>(acc);
    chunk_state_mma<D, C, BF16>(sK, sV, acc);
}

/* acc times `scale`, rounded to 16 bits, into a row-major [D][D] state in global memory (half
 * the bytes of a float32 store); a power-of-two scale keeps long sums in f16's range exactly. */
template <int D, bool BF16>
__device__ __forceinline__ void chunk_state_store16(const float (&acc)[D / 64][D / 8][4], float scale, uint16_t *out)
{
    constexpr int MT = D / 64;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int p0 = warp * 16 * MT;
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < D / 8; nt++) {
            int p = p0 + mt * 16 + g, col = nt * 8 + 2 * t4;
            *reinterpret_cast<uint32_t *>(out + (size_t)p * D + col) =
                pack2<BF16>(acc[mt][nt][0] * scale, acc[mt][nt][1] * scale);
            *reinterpret_cast<uint32_t *>(out + (size_t)(p + 8) * D + col) =
                pack2<BF16>(acc[mt][nt][2] * scale, acc[mt][nt][3] * scale);
        }
}

/* out[p][e] = Σ_j sK[j][p] · sV[j][e] (chunk_state_accumulate), stored in float32. */
template <int D, int C, bool BF16>
__device__ __forceinline__ void chunk_state_product(const uint16_t *sK, const uint16_t *sV, float *out)
{
    constexpr int MT = D / 64;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int p0 = warp * 16 * MT;
    float acc[MT][D / 8][4];
    chunk_state_accumulate<D, C, BF16>(sK, sV, acc);
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < D / 8; nt++) {
            int p = p0 + mt * 16 + g, col = nt * 8 + 2 * t4;
            *reinterpret_cast<float2 *>(out + (size_t)p * D + col) = make_float2(acc[mt][nt][0], acc[mt][nt][1]);
            *reinterpret_cast<float2 *>(out + (size_t)(p + 8) * D + col) = make_float2(acc[mt][nt][2], acc[mt][nt][3]);
        }
}

/* o += a · S[16·kk .. 16·kk + 16)[0 .. D) for one warp's 16 rows: a is their A fragment at k-step
 * kk (16 channels), S a swizzled [D][D] 16-bit state read transposed (.trans) as the B operand,
 * o those rows' accumulators over all D columns (the C/D fragment layout). The inter-chunk part
 * o = Q·S of the chunked linear-family kernels, one k-step at a time. */
template <int D, bool BF16>
__device__ __forceinline__ void mma_rows_state(float (&o)[D / 8][4], const uint32_t (&a)[4], const uint16_t *sS, int kk,
                                               int lane)
{
#pragma unroll
    for (int dp = 0; dp < D / 16; dp++) {
        uint32_t r[4];
        ldsm_x4_trans(r, smem_u32(sS + swz<D>(kk * 16 + (lane % 8) + 8 * ((lane / 8) % 2), dp * 2 + lane / 16)));
        mma_16816<BF16>(o[2 * dp], a, r[0], r[1]);
        mma_16816<BF16>(o[2 * dp + 1], a, r[2], r[3]);
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
