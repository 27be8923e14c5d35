/* vit_block_dev.cu - the INT8 GEMM with I-ViT's epilogues that vit.block@cuda.int8 runs for every
 * product of the block (vit_block_cuda.c): Y = A·Wᵀ with exact int32 accumulators, then either
 * the dyadic requantization to int8 (quant_dyadic_requant) or the residual add
 * sat8(dy(acc) + dy(res)) (vit_dyadic_i32, vit_sat8), one dyadic per output column or one for
 * all. The operands are strided views, so the per-head products read Q_h, K_h and V_h in place in
 * the [T][3D] QKV buffer (K_h as W: row j = token j; V_hᵀ as W: element (e, j) = V[j][e]) and a
 * grid's z index walks the heads.
 *
 * Plain CUDA cores, not tensor cores: a 32×32 output tile per block of 256 threads (2×2 outputs
 * each), A and W staged 32 k at a time through shared memory as int32. Integer sums are exact
 * in any order, so the result is bit for bit the CPU kernel's whatever the tiling. */
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/quant/vit_block_cuda.h"
}

namespace {

constexpr int VT = 32; /* output tile and k step */

__device__ __forceinline__ int8_t requant8(int32_t acc, int32_t b, int32_t c)
{
    const int64_t y = ((int64_t)acc * b + ((int64_t)1 << (c - 1))) >> c;
    return (int8_t)(y > 127 ? 127 : y < -127 ? -127 : y);
}

__device__ __forceinline__ int32_t dyadic_i32(int32_t acc, int32_t b, int32_t c)
{
    const int64_t y = ((int64_t)acc * b + ((int64_t)1 << (c - 1))) >> c;
    return (int32_t)(y > INT32_MAX ? INT32_MAX : y < -INT32_MAX ? -INT32_MAX : y);
}

__global__ void __launch_bounds__(256) vit_gemm_kernel(struct vit_gemm g)
{
    __shared__ int32_t sa[VT][VT + 1], sw[VT][VT + 1];
    const int z = blockIdx.z, tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    const int i0 = blockIdx.y * VT, j0 = blockIdx.x * VT;
    const int8_t *a = g.a + (size_t)z * g.a_bs, *w = g.w + (size_t)z * g.w_bs;
    int32_t acc[2][2] = { { 0, 0 }, { 0, 0 } };
    for (int p0 = 0; p0 < g.k; p0 += VT) {
        for (int e = threadIdx.x; e < VT * VT; e += 256) {
            const int r = e / VT, p = e % VT, kp = p0 + p;
            const int ia = i0 + r, jw = j0 + r;
            sa[r][p] = ia < g.m && kp < g.k ? a[(size_t)ia * g.lda + kp] : 0;
            sw[r][p] = jw < g.n && kp < g.k ? w[(size_t)jw * g.w_sn + (size_t)kp * g.w_sk] : 0;
        }
        __syncthreads();
#pragma unroll 8
        for (int p = 0; p < VT; p++) {
            const int32_t a0 = sa[2 * ty][p], a1 = sa[2 * ty + 1][p], w0 = sw[2 * tx][p], w1 = sw[2 * tx + 1][p];
            acc[0][0] += a0 * w0;
            acc[0][1] += a0 * w1;
            acc[1][0] += a1 * w0;
            acc[1][1] += a1 * w1;
        }
        __syncthreads();
    }
    for (int r = 0; r < 2; r++)
        for (int q = 0; q < 2; q++) {
            const int i = i0 + 2 * ty + r, j = j0 + 2 * tx + q;
            if (i >= g.m || j >= g.n)
                continue;
            const int col = g.per_col ? j : 0;
            const size_t at = (size_t)z * g.o_bs + (size_t)i * g.ldo + j;
            if (g.res)
                g.out[at] = (int8_t)max(-127, min(127, dyadic_i32(acc[r][q], g.dy_b[col], g.dy_c[col]) +
                                                            dyadic_i32(g.res[at], g.res_b, g.res_c)));
            else
                g.out[at] = requant8(acc[r][q], g.dy_b[col], g.dy_c[col]);
        }
}

} // namespace

extern "C" int vit_gemm_launch(const struct vit_gemm *g, int batch, void *stream)
{
    dim3 grid((unsigned)((g->n + VT - 1) / VT), (unsigned)((g->m + VT - 1) / VT), (unsigned)batch);
    vit_gemm_kernel<<<grid, 256, 0, (cudaStream_t)stream>>>(*g);
    return (int)cudaGetLastError();
}
