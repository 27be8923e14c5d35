/* moe_gemm_mma.cu - the grouped GEMM of the CUDA MoE kernels (moe_cuda.h): bf16 in, float32
 * accumulation, on tensor cores through mma.sync.m16n8k16 (sm_80 and later).
 *
 * One grid covers every (expert, column tile, row tile) triple; the routing stays on the device:
 * a block finds its expert by binary search over mtile_start (written by the sort's scan) and
 * exits when it lies past the last tile. Blocks run expert by expert, column tile by column tile,
 * row tiles fastest, so the blocks resident at one time share a column panel of the expert's
 * weights and the expert's rows stay in L2 while its column panels stream through once.
 *
 * Tile: 128 × 128 × 32 per step, 8 warps as 2 (rows) × 4 (columns), a 64 × 32 warp tile
 * (4 × 4 mma of m16n8), four cp.async stages. Shared memory, per stage:
 *   A [128][32] bf16: 4 chunks of 16 bytes per row, chunk c of row r at c ^ ((r >> 1) & 3)
 *   B [32][128] bf16: 16 chunks per row, chunk c of row r at c ^ (r & 7)
 * so the 8 row addresses of each ldmatrix phase hit 8 different 16-byte bank groups.
 *
 * Fragments (PTX ISA, mma.m16n8k16 with .bf16; g = lane / 4, t = lane % 4):
 *   A (row-major 16 × 16): a0 (row g, k 2t..2t+1), a1 (g + 8, 2t), a2 (g, 8 + 2t), a3 (g + 8, 8 + 2t)
 *     — ldmatrix.x4 with lanes 0-7 / 8-15 / 16-23 / 24-31 addressing rows 0-7 / 8-15 / 0-7 / 8-15
 *       at k chunks 0 / 0 / 1 / 1;
 *   B (16 × 8, "col"): b0 (k 2t..2t+1, column g), b1 (k 8 + 2t, column g) — ldmatrix.x4.trans
 *     from the [k][n] tile: lanes address k rows 0-7 / 8-15 / 0-7 / 8-15 at n chunks 0 / 0 / 1 / 1,
 *     giving b0, b1 of two adjacent 8-column tiles;
 *   C (16 × 8 float): c0, c1 (row g, columns 2t, 2t + 1), c2, c3 (row g + 8, the same columns).
 */
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/moe/moe_cuda.h"
}

#include "kernels/gpu/ptx.cuh"
#include "kernels/moe/moe_tile.cuh"
#include "kernels/moe/swiglu.cuh"

namespace {

using namespace kb_ptx;

constexpr int BM = MOE_CUDA_BM, BN = MOE_CUDA_BN, BK = 32, STAGES = 4, THREADS = 256;
constexpr int A_STAGE = BM * BK, B_STAGE = BK * BN; /* elements */
constexpr size_t SMEM = (size_t)STAGES * (A_STAGE + B_STAGE) * sizeof(uint16_t);

__device__ __forceinline__ int a_swz(int r, int ch) { return r * BK + ((ch ^ ((r >> 1) & 3)) << 3); }
__device__ __forceinline__ int b_swz(int r, int ch) { return r * BN + ((ch ^ (r & 7)) << 3); }

template <int EPI> __global__ void __launch_bounds__(THREADS) grouped_gemm(const moe_cuda_gemm g)
{
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sA = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sB = sA + STAGES * A_STAGE;

    /* which (group, column tile, row tile) this block computes (moe_tile.cuh) */
    const int ntn = (g.n + BN - 1) / BN;
    struct moe_tile tile;
    if (!moe_tile_of(blockIdx.x, ntn, BM, BN, g.mtile_start, g.group_off, g.groups, &tile))
        return; /* the whole block, before any barrier */
    const int e = tile.group, n0 = tile.n0, row0 = tile.row0, row_end = tile.row_end;
    const uint16_t *B = g.b + (long)e * g.b_group_stride;

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int wm = warp / 4, wn = warp % 4;

    /* each thread copies the same two A rows (and two B rows) at every k step */
    const uint16_t *a_src[2];
    int a_row[2], a_ch[2], b_row[2], b_ch[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        const int c = tid + i * THREADS;
        a_row[i] = c / 4;
        a_ch[i] = c % 4;
        b_row[i] = c / 16;
        b_ch[i] = c % 16;
        const int s = row0 + a_row[i];
        if (s < row_end) {
            const long src = g.a_index ? g.a_index[s] / g.a_div : s;
            a_src[i] = g.a + src * g.lda;
        } else {
            a_src[i] = nullptr;
        }
    }
    const int k_tiles = (g.k + BK - 1) / BK;
    auto load_stage = [&](int stage, int kt) {
        uint16_t *a = sA + stage * A_STAGE, *b = sB + stage * B_STAGE;
        const int k0 = kt * BK;
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int kc = k0 + a_ch[i] * 8;
            const bool ok = a_src[i] && kc < g.k;
            cp_async16(smem_u32(a + a_swz(a_row[i], a_ch[i])), ok ? a_src[i] + kc : g.a, ok);
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int kr = k0 + b_row[i], nc = n0 + b_ch[i] * 8;
            const bool ok = kr < g.k && nc < g.n;
            cp_async16(smem_u32(b + b_swz(b_row[i], b_ch[i])), ok ? B + (long)kr * g.ldb + nc : g.b, ok);
        }
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
            acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < k_tiles)
            load_stage(s, s);
        cp_commit();
    }
    for (int kt = 0; kt < k_tiles; kt++) {
        cp_wait<STAGES - 2>();
        __syncthreads(); /* tile kt is in; every warp is done with the stage refilled next */
        const int next = kt + STAGES - 1;
        if (next < k_tiles)
            load_stage(next % STAGES, next);
        cp_commit();
        const uint16_t *a = sA + (kt % STAGES) * A_STAGE, *b = sB + (kt % STAGES) * B_STAGE;
#pragma unroll
        for (int kk = 0; kk < BK / 16; kk++) {
            uint32_t af[4][4], bf[4][2];
#pragma unroll
            for (int mt = 0; mt < 4; mt++) {
                const int r = wm * 64 + mt * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
                ldsm_x4(af[mt], smem_u32(a + a_swz(r, kk * 2 + lane / 16)));
            }
#pragma unroll
            for (int np = 0; np < 2; np++) {
                uint32_t r[4];
                const int kr = kk * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
                ldsm_x4_trans(r, smem_u32(b + b_swz(kr, (wn * 32 + np * 16) / 8 + lane / 16)));
                bf[2 * np][0] = r[0];
                bf[2 * np][1] = r[1];
                bf[2 * np + 1][0] = r[2];
                bf[2 * np + 1][1] = r[3];
            }
#pragma unroll
            for (int mt = 0; mt < 4; mt++)
#pragma unroll
                for (int nf = 0; nf < 4; nf++)
                    mma_16816<true>(acc[mt][nf], af[mt], bf[nf][0], bf[nf][1]);
        }
    }
    cp_wait<0>();

    /* epilogue, straight from the accumulators */
    const int gq = lane / 4, t4 = lane % 4;
#pragma unroll
    for (int mt = 0; mt < 4; mt++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            const int s = row0 + wm * 64 + mt * 16 + gq + 8 * half;
            if (s >= row_end)
                continue;
            long out_row = s;
            float scale = 1.f;
            if (EPI == MOE_EPI_SCATTER) {
                const int a_id = g.c_index[s];
                out_row = a_id / g.c_div;
                scale = g.c_scale[a_id];
            }
#pragma unroll
            for (int nf = 0; nf < 4; nf++) {
                const int col = n0 + wn * 32 + nf * 8 + 2 * t4;
                const float v0 = acc[mt][nf][2 * half], v1 = acc[mt][nf][2 * half + 1];
                if (EPI == MOE_EPI_SWIGLU) {
                    if (nf % 2 == 1 || col >= g.n)
                        continue; /* odd tiles hold the up values, read with their even partner */
                    const float u0 = acc[mt][nf + 1][2 * half], u1 = acc[mt][nf + 1][2 * half + 1];
                    const float h0 = kb_moe::swiglu(v0, u0), h1 = kb_moe::swiglu(v1, u1);
                    const int j = (n0 + wn * 32 + nf * 8) / 2 + 2 * t4;
                    *reinterpret_cast<uint32_t *>((uint16_t *)g.c + out_row * g.ldc + j) = pack2<true>(h0, h1);
                } else if (col < g.n) {
                    if (EPI == MOE_EPI_F32) {
                        *reinterpret_cast<float2 *>((float *)g.c + out_row * g.ldc + col) = make_float2(v0, v1);
                    } else if (EPI == MOE_EPI_BF16) {
                        *reinterpret_cast<uint32_t *>((uint16_t *)g.c + out_row * g.ldc + col) = pack2<true>(v0, v1);
                    } else {
                        float *dst = (float *)g.c + out_row * g.ldc + col;
                        atomicAdd(dst, scale * v0);
                        atomicAdd(dst + 1, scale * v1);
                    }
                }
            }
        }
    }
}

template <int EPI> cudaError_t launch(const moe_cuda_gemm *g, cudaStream_t st)
{
    static bool attribute_set; /* once per instantiation and process */
    if (!attribute_set) {
        cudaError_t e = cudaFuncSetAttribute(grouped_gemm<EPI>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)SMEM);
        if (e != cudaSuccess)
            return e;
        attribute_set = true;
    }
    const long ntn = (g->n + BN - 1) / BN, blocks = ntn * g->max_mtiles;
    if (blocks <= 0)
        return cudaSuccess;
    if (blocks > 0x7fffffffL)
        return cudaErrorInvalidConfiguration;
    grouped_gemm<EPI><<<(unsigned)blocks, THREADS, SMEM, st>>>(*g);
    return cudaGetLastError();
}

} // namespace

extern "C" int moe_cuda_gemm_launch(const struct moe_cuda_gemm *g, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    /* the 16-byte copies need 8-element alignment of every row and column start */
    if (g->lda % 8 || g->ldb % 8 || g->k % 8 || g->n % 8 || g->ldc % 2 || g->groups < 1 ||
        (g->epilogue == MOE_EPI_SWIGLU && g->n % 16))
        return (int)cudaErrorInvalidValue;
    switch (g->epilogue) {
    case MOE_EPI_F32: return (int)launch<MOE_EPI_F32>(g, st);
    case MOE_EPI_BF16: return (int)launch<MOE_EPI_BF16>(g, st);
    case MOE_EPI_SWIGLU: return (int)launch<MOE_EPI_SWIGLU>(g, st);
    case MOE_EPI_SCATTER: return (int)launch<MOE_EPI_SCATTER>(g, st);
    }
    return (int)cudaErrorInvalidValue;
}
