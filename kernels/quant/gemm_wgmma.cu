/* gemm_wgmma.cu - the device code of quant.gemm_fp8@cuda.wgmma and quant.gemm_int8@cuda.wgmma:
 * the 8-bit GEMM Y = A·Wᵀ of gemm_mma.cu on Hopper's warpgroup tensor-core instructions
 * (wgmma.mma_async, sm_90a only) fed by the Tensor Memory Accelerator (TMA). Same operands
 * (gemm_cuda.h), same epilogues (gemm_dev.cuh): fp8 → bf16(scale·acc), int8 → dyadic requant.
 *
 * Why: mma.sync issues from each warp through the register file (ldmatrix → registers → MMA) and
 * tops out near half of the H100's 8-bit tensor rate; wgmma lets a warpgroup (4 warps) issue one
 * 64×256×32 product that reads both operands straight from shared memory, asynchronously, and
 * TMA moves whole tiles global → shared with one instruction from one thread, so nearly every
 * consumer cycle is tensor-core issue.
 *
 * Block: 384 threads = 3 warpgroups, one 128×256 output tile (M × N); the loop below is
 * kernels/gpu/wgmma_ring.cuh, shared with moe_gemm_wgmma.cu.
 *   warpgroup 0  producer: one thread issues, per k-tile of 128 bytes, two TMA loads (A 128×128
 *                and W 256×128 bytes) into a STAGES-deep ring of shared-memory stages; each stage
 *                has a "full" mbarrier (TMA completes its byte count) and an "empty" one (the 8
 *                consumer warps arrive when their wgmmas stopped reading it). It gives registers
 *                away (setmaxnreg.dec 40) so the consumers can hold their accumulators;
 *   warpgroups 1, 2  consumers: each owns 64 rows × 256 columns: 128 f32 (or s32) accumulators a
 *                thread; per k-tile four wgmma m64n256k32 (k 32 bytes each), committed as one
 *                group; wait_group 1 keeps one group in flight while the next stage is waited
 *                for, and the stage read by the group that just completed is released.
 *   Then the accumulators go straight from registers to Y (M/N bounds checked per element).
 * Blocks are numbered in groups of 8 tile-rows (grouped_tile) for L2 reuse of W tiles.
 *
 * Shared layout: the 128-byte-swizzle canonical K-major layout. A stage's A tile is 128 rows of
 * 128 bytes (16 KiB), its W tile 256 rows (32 KiB); TMA with CU_TENSOR_MAP_SWIZZLE_128B stores
 * row r's 16-byte chunk c at chunk c ^ (r % 8) (the XOR of address bits [4,7) with [7,10), so
 * every tile starts 1024-byte aligned), which is exactly what a wgmma descriptor with swizzle
 * mode 128B describes: 8-row core-matrix groups 1024 bytes apart (SBO), leading offset unused
 * for swizzled K-major. A k-step of 32 bytes starts 32 bytes further into the row (the hardware
 * applies the XOR after adding), as in flash_wgmma.cu where a 16-element f16 k-step is also 32
 * bytes. Consumer warpgroup c reads A rows 64c..64c+63: 8 KiB on, still 1024-aligned.
 * 8-bit wgmma requires both operands K-major: A [M,K] is, and W [N,K] is B = Wᵀ "column-major".
 *
 * Ragged shapes: the tensor maps span m (n) rows and lda bytes; TMA zero-fills every box element
 * outside them (rows past M or N, k past the padded K; the padding itself is zeros), and still
 * counts the whole box in the transaction bytes, so expect_tx is a constant.
 *
 * Accumulator layout (PTX ISA, wgmma D fragments, m64nN, 32-bit): warp w of the warpgroup holds
 * rows 16w + lane/4 and 16w + lane/4 + 8; d[4j], d[4j+1] are row lane/4, columns 8j + 2(lane%4)
 * + {0, 1}; d[4j+2], d[4j+3] the same columns of row lane/4 + 8 (j = 0..31). */
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <type_traits>

extern "C" {
#include "kernels/quant/gemm_cuda.h"
}

#include "kernels/gpu/ptx.cuh"
#include "kernels/gpu/smem_limit.cuh"
#include "kernels/gpu/tma.cuh"
#include "kernels/gpu/wgmma.cuh"
#include "kernels/gpu/wgmma_mma.cuh"
#include "kernels/gpu/wgmma_ring.cuh"
#include "kernels/quant/gemm_dev.cuh"

namespace {

using namespace kb_ptx;
using namespace kb_qgemm;
using namespace kb_tma;
using kb_wgmma::pin;

using kb_wgring::BM;
using kb_wgring::BN;
using kb_wgring::SMEM;
using kb_wgring::THREADS;
constexpr int BK = kb_wgring::ROW_BYTES; /* k bytes (= elements) per stage: one 128-byte swizzle row */
constexpr int GROUP_M = 8;

struct Args {
    int m, n, ktiles;
    void *y;
    const int32_t *dyb, *dyc; /* int8 epilogue */
    float scale;              /* fp8 epilogue */
};

/* d (64×256) += A (64×32, descriptor) · B (32×256, descriptor), 8-bit inputs (wgmma_mma.cuh's
 * instructions, which tests/cuda_emu emulates). scale-d is 1: the accumulators start at zero and
 * always accumulate. */
__device__ __forceinline__ void wgmma_k32(float (&d)[128], uint64_t desc_a, uint64_t desc_b)
{
    kb_wgmma::mma_m64n256k32_e4m3_ss(d, desc_a, desc_b, 1);
}
__device__ __forceinline__ void wgmma_k32(int (&d)[128], uint64_t desc_a, uint64_t desc_b)
{
    kb_wgmma::mma_m64n256k32_s8_ss(d, desc_a, desc_b, 1);
}

template <bool FP8>
__global__ void __launch_bounds__(THREADS, 1)
    qgemm_wgmma(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_w, const Args p)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using Acc = typename std::conditional<FP8, float, int>::type;
    extern __shared__ unsigned char smem_raw[];
    int m0, n0;
    grouped_tile((int)blockIdx.x, p.m, p.n, BM, BN, GROUP_M, m0, n0);
    const kb_wgring::Ring ring = kb_wgring::ring_init(smem_raw);
    const int wg = threadIdx.x / 128, lane = threadIdx.x % 32;
    if (wg == 0) {
        kb_wgring::produce(ring, &map_a, m0, &map_w, n0, p.ktiles, BK);
        return; /* nothing below synchronises the whole block */
    }
    const int c = wg - 1;
    Acc d[128];
    kb_wgring::consume<BK / 32>(ring, c, p.ktiles, d,
                                [](Acc(&acc)[128], uint64_t da, uint64_t db) { wgmma_k32(acc, da, db); });

    /* epilogue: straight from the accumulators (layout in the header comment) */
    const int w = (threadIdx.x / 32) % 4, g = lane / 4, t = lane % 4;
    const int row0 = m0 + c * 64 + w * 16 + g;
#pragma unroll
    for (int j = 0; j < BN / 8; j++) {
        const int col = n0 + j * 8 + 2 * t;
        if (col >= p.n)
            continue;
        const bool pair = col + 1 < p.n;
        const column_dyadic dy = load_column_dyadic<FP8>(p.dyb, p.dyc, col, pair);
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int row = row0 + 8 * h;
            if (row >= p.m)
                continue;
            const size_t at = (size_t)row * p.n + col;
            if (FP8)
                store_bf16_pair(p.y, at, (float)d[4 * j + 2 * h] * p.scale, (float)d[4 * j + 2 * h + 1] * p.scale, pair);
            else
                store_s8_pair(p.y, at, requant((int)d[4 * j + 2 * h], dy.b0, dy.c0), requant((int)d[4 * j + 2 * h + 1], dy.b1, dy.c1),
                              pair);
        }
    }
#else
    (void)map_a, (void)map_w, (void)p;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

template <bool FP8> cudaError_t launch(const struct qgemm_tma *t, const Args &p, cudaStream_t st)
{
    CUtensorMap ma, mw;
    memcpy(&ma, t->a, sizeof ma);
    memcpy(&mw, t->w, sizeof mw);
    const long blocks = (long)((p.m + BM - 1) / BM) * ((p.n + BN - 1) / BN);
    qgemm_wgmma<FP8><<<(unsigned)blocks, THREADS, SMEM, st>>>(ma, mw, p);
    return cudaGetLastError();
}

Args make_args(int m, int n, size_t lda, void *y)
{
    Args p;
    memset(&p, 0, sizeof p);
    p.m = m, p.n = n, p.ktiles = (int)((lda + BK - 1) / BK);
    p.y = y;
    return p;
}

/* A [rows, lda] byte matrix as boxes of box_rows × BK bytes, 128-byte swizzled, zero-filled
 * outside it. */
CUresult encode(PFN_cuTensorMapEncodeTiled_v12000 fn, CUtensorMap *map, const void *ptr, int rows, size_t lda,
                int box_rows)
{
    return encode_2d_sw128(fn, map, CU_TENSOR_MAP_DATA_TYPE_UINT8, ptr, (uint64_t)rows, lda, lda, BK, (uint32_t)box_rows);
}

} // namespace

static_assert(sizeof(CUtensorMap) == sizeof(((struct qgemm_tma *)0)->a), "qgemm_tma holds one CUtensorMap per operand");

extern "C" int qgemm_wgmma_prepare(void)
{
    return (int)kb_gpu::allow_dynamic_smem(SMEM, qgemm_wgmma<true>, qgemm_wgmma<false>);
}

extern "C" int qgemm_wgmma_tma_new(struct qgemm_tma *t, const void *a, const void *w, int m, int n, size_t lda,
                                   char *err, size_t errlen)
{
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled_or_say(err, errlen);
    if (!fn)
        return KB_UNSUPPORTED;
    CUtensorMap ma, mw;
    CUresult r = encode(fn, &ma, a, m, lda, BM);
    if (r == CUDA_SUCCESS)
        r = encode(fn, &mw, w, n, lda, BN);
    if (r != CUDA_SUCCESS) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled (m %d, n %d, row %zu bytes): CUresult %d", m, n, lda, (int)r);
        return KB_ERROR;
    }
    memcpy(t->a, &ma, sizeof ma);
    memcpy(t->w, &mw, sizeof mw);
    return KB_OK;
}

extern "C" int qgemm_int8_wgmma_launch(const struct qgemm_tma *t, int m, int n, size_t lda, const int32_t *dy_b,
                                       const int32_t *dy_c, int8_t *y, void *stream)
{
    Args p = make_args(m, n, lda, y);
    p.dyb = dy_b, p.dyc = dy_c;
    return (int)launch<false>(t, p, (cudaStream_t)stream);
}

extern "C" int qgemm_fp8_wgmma_launch(const struct qgemm_tma *t, int m, int n, size_t lda, float scale, void *y,
                                      void *stream)
{
    Args p = make_args(m, n, lda, y);
    p.scale = scale;
    return (int)launch<true>(t, p, (cudaStream_t)stream);
}
