/* gemm_w4a8_mma.cu - the device code of quant.gemm_w4a8@cuda.mma: INT4 weights with per-group
 * scales × INT8 activations on INT8 tensor cores (mma.sync m16n8k32 .s8.s8.s32), f32 out,
 * bit for bit the CPU's arithmetic (gemm_w4a8.c):
 *     P_g = Σ_{k∈g} a[k]·w[k]  exact in int32;   acc ← acc + (float)P_g · s_w[n][g]  (group order);
 *     y = acc · s_a
 * The int32 accumulators of the tensor cores hold exactly P_g (integer sums do not depend on
 * their order); at each group's end they are converted, scaled and added into float32
 * accumulators with __fmul_rn / __fadd_rn (never fused into an FMA, as the C code is compiled
 * without contraction), so the group order and every rounding are the CPU's.
 *
 * Tiles: a block of 8 warps computes 128×128 outputs, each warp 64×32 (4 m16 × 4 n8 tiles);
 * K advances 64 at a time through a 3-stage cp.async pipeline (A: 128×64 bytes, W: 128×32
 * packed bytes per stage). Inputs are zero-padded at setup to whole tiles (zeros add nothing to
 * an integer sum), so the loads need no bounds checks.
 *
 * Fragments (PTX ISA, mma.m16n8k32 with .s8; groupID = lane/4, tig = lane%4):
 *   A (16×32, row): reg0 = row groupID, k = tig·4 + 0..3; reg1 = row groupID+8, same k;
 *                   reg2 = row groupID, k = 16 + tig·4 + 0..3; reg3 = row groupID+8, same k.
 *   B (32×8, col):  reg0 = col groupID, k = tig·4 + 0..3; reg1 = col groupID, k = 16 + tig·4 + 0..3.
 *   D (16×8 s32):   d0,d1 = row groupID, col tig·2 + 0,1; d2,d3 = row groupID+8, same cols.
 * A dot product does not care how k is numbered, as long as A and B agree: thread tig feeds
 * positions {tig·4.., 16+tig·4..} with the actual k = tig·8 + 0..7 of the 32-k step. Then its
 * A operand is 8 consecutive bytes of a row (one 64-bit shared load for reg0/reg2), and its B
 * operand is 8 consecutive nibbles = one 32-bit word of the packed weight row, unpacked in
 * registers (mask, byte permute, sign extension). The permutation stays inside a 32-k step,
 * and groups are whole steps (group a multiple of 32), so every P_g is unchanged.
 *
 * Shared memory rows are XOR-swizzled in 16-byte chunks so the fragment loads of a warp hit
 * distinct banks (A: chunk ^ 2·((row>>1)&1); W: chunk ^ ((row>>2)&1)). */
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/quant/quant_cuda.h"
}

#include "kernels/gpu/ptx.cuh"

namespace {

using namespace kb_ptx;

constexpr int BM = W4A8_TILE, BN = W4A8_TILE, BK = W4A8_TILE_K, STAGES = 3, THREADS = 256;
constexpr int MT = 4, NT = 4; /* m16 and n8 tiles per warp */

/* Four int4 nibbles (one per byte, 0..15) to int8 bytes: a set bit 3 fills the byte's top four
 * bits (8·0x1E = 0xF0; no byte carries into the next). */
__device__ __forceinline__ uint32_t sext4(uint32_t t) { return t | ((t & 0x08080808u) * 0x1Eu); }

/* The 8 nibbles of word w (k order, low nibble first) as two int8×4 B registers. */
__device__ __forceinline__ void unpack8(uint32_t w, uint32_t &b0, uint32_t &b1)
{
    const uint32_t even = w & 0x0F0F0F0Fu, odd = (w >> 4) & 0x0F0F0F0Fu; /* k 0,2,4,6 and 1,3,5,7 */
    b0 = sext4(__byte_perm(even, odd, 0x5140));                          /* k 0,1,2,3 */
    b1 = sext4(__byte_perm(even, odd, 0x7362));                          /* k 4,5,6,7 */
}

__global__ void __launch_bounds__(THREADS) w4a8_mma(const int8_t *__restrict__ a, const uint8_t *__restrict__ w,
                                                    const float *__restrict__ s_w, float s_a, float *__restrict__ y,
                                                    int m, int n, int k, int kp, int g, int groups)
{
    __shared__ __align__(16) uint8_t sa[STAGES][BM * BK];
    __shared__ __align__(16) uint8_t sw[STAGES][BN * BK / 2];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 2, wn = warp & 3, gid = lane >> 2, tig = lane & 3;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int ktiles = kp / BK, ksteps = (k + 31) / 32;
    const size_t wrow = (size_t)kp / 2;

    auto load_tile = [&](int stage, int kt) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int c = tid + i * THREADS, r = c >> 2, ch = c & 3;
            cp_async16(smem_u32(&sa[stage][r * BK + ((ch ^ (((r >> 1) & 1) << 1)) << 4)]),
                       a + (size_t)(m0 + r) * kp + kt * BK + ch * 16);
        }
        const int r = tid >> 1, ch = tid & 1;
        cp_async16(smem_u32(&sw[stage][r * (BK / 2) + ((ch ^ ((r >> 2) & 1)) << 4)]),
                   w + (size_t)(n0 + r) * wrow + kt * (BK / 2) + ch * 16);
    };

    int32_t acc[MT][NT][4];
    float accf[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                acc[i][j][e] = 0, accf[i][j][e] = 0.0f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < ktiles)
            load_tile(s, s);
        cp_commit();
    }
    for (int kt = 0; kt < ktiles; kt++) {
        cp_wait<STAGES - 2>();
        __syncthreads();
        if (kt + STAGES - 1 < ktiles)
            load_tile((kt + STAGES - 1) % STAGES, kt + STAGES - 1);
        cp_commit();
        const uint8_t *ta = sa[kt % STAGES], *tw = sw[kt % STAGES];
#pragma unroll
        for (int ks = 0; ks < 2; ks++) {
            const int step = kt * 2 + ks;
            if (step >= ksteps)
                break;
            uint32_t af[MT][4];
#pragma unroll
            for (int i = 0; i < MT; i++) {
                const int r0 = wm * 64 + i * 16 + gid, r1 = r0 + 8;
                const int ch = ks * 2 + (tig >> 1), off = (tig & 1) * 8;
                const uint2 lo = *reinterpret_cast<const uint2 *>(ta + r0 * BK + ((ch ^ (((r0 >> 1) & 1) << 1)) << 4) + off);
                const uint2 hi = *reinterpret_cast<const uint2 *>(ta + r1 * BK + ((ch ^ (((r1 >> 1) & 1) << 1)) << 4) + off);
                af[i][0] = lo.x, af[i][2] = lo.y, af[i][1] = hi.x, af[i][3] = hi.y;
            }
#pragma unroll
            for (int j = 0; j < NT; j++) {
                const int rn = wn * 32 + j * 8 + gid;
                const uint32_t word =
                    *reinterpret_cast<const uint32_t *>(tw + rn * (BK / 2) + ((ks ^ ((rn >> 2) & 1)) << 4) + tig * 4);
                uint32_t b0, b1;
                unpack8(word, b0, b1);
#pragma unroll
                for (int i = 0; i < MT; i++)
                    mma_s8(acc[i][j], af[i], b0, b1);
            }
            if (step == ksteps - 1 || ((step + 1) * 32) % g == 0) {
                /* end of group gi: its exact sums into float, in group order */
                const int gi = step * 32 / g;
#pragma unroll
                for (int j = 0; j < NT; j++) {
                    const int col = n0 + wn * 32 + j * 8 + tig * 2;
                    const float sc0 = s_w[(size_t)col * groups + gi], sc1 = s_w[(size_t)(col + 1) * groups + gi];
#pragma unroll
                    for (int i = 0; i < MT; i++)
#pragma unroll
                        for (int e = 0; e < 4; e++) {
                            accf[i][j][e] = __fadd_rn(accf[i][j][e], __fmul_rn((float)acc[i][j][e], (e & 1) ? sc1 : sc0));
                            acc[i][j][e] = 0;
                        }
                }
            }
        }
    }
    cp_wait<0>();
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int row = m0 + wm * 64 + i * 16 + gid + (e >> 1) * 8;
                const int col = n0 + wn * 32 + j * 8 + tig * 2 + (e & 1);
                if (row < m && col < n)
                    y[(size_t)row * n + col] = __fmul_rn(accf[i][j][e], s_a);
            }
}

} // namespace

extern "C" int quant_w4a8_launch(const int8_t *a, const uint8_t *w, const float *s_w, float s_a, float *y, int m, int n,
                                 int k, int kp, int group, int groups, void *stream)
{
    const dim3 grid((unsigned)((n + BN - 1) / BN), (unsigned)((m + BM - 1) / BM));
    w4a8_mma<<<grid, THREADS, 0, (cudaStream_t)stream>>>(a, w, s_w, s_a, y, m, n, k, kp, group, groups);
    return cudaGetLastError();
}
