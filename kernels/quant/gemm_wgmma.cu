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
 * Block: 384 threads = 3 warpgroups, one 128×256 output tile (M × N).
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
#include "kernels/gpu/tma.cuh"
#include "kernels/gpu/wgmma.cuh"
#include "kernels/quant/gemm_dev.cuh"

namespace {

using namespace kb_ptx;
using namespace kb_qgemm;
using namespace kb_tma;

constexpr int BM = 128, BN = 256;  /* output tile */
constexpr int BK = 128;            /* k bytes (= elements) per stage: one 128-byte swizzle row */
constexpr int STAGES = 4;          /* 4 × 48 KiB: as deep as 227 KiB of shared memory allows */
constexpr int CONSUMERS = 2;       /* warpgroups of 64 rows each */
constexpr int THREADS = 128 * (1 + CONSUMERS);
constexpr int GROUP_M = 8;
constexpr int A_BYTES = BM * BK, W_BYTES = BN * BK, STAGE_BYTES = A_BYTES + W_BYTES;
/* +1024: the stages are aligned up to 1024 bytes; then a full and an empty barrier per stage */
constexpr int SMEM = 1024 + STAGES * STAGE_BYTES + 2 * STAGES * 8;
/* registers a thread: producer 40, consumers 232 (the 128 accumulators and addresses);
 * 128·40 + 256·232 = 64512 ≤ the SM's 65536 */
constexpr int PRODUCER_REGS = 40, CONSUMER_REGS = 232;
static_assert(BM == 64 * CONSUMERS, "one m64 wgmma row block per consumer warpgroup");
static_assert(STAGE_BYTES % 1024 == 0 && A_BYTES % 1024 == 0, "1024-byte aligned swizzle atoms");
static_assert(SMEM <= 227 * 1024, "shared memory of one H100 block");

struct Args {
    int m, n, ktiles;
    void *y;
    const int32_t *dyb, *dyc; /* int8 epilogue */
    float scale;              /* fp8 epilogue */
};

/* A K-major operand tile in the 128B-swizzle layout: 8-row groups 1024 bytes apart (SBO); the
 * leading offset is unused for swizzled K-major layouts (16 by convention). */
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr) { return kb_wgmma::desc_sw128(addr, 16, 1024); }

/* The 128 accumulator operands of an m64n256 wgmma. */
#define WG_D_REGS \
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, " \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
    "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, " \
    "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
    "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
#define WG_D_F32 \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
    "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
    "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
    "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
    "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), \
    "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
    "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
    "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
    "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
    "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
    "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
    "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
    "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define WG_D_S32 \
    "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), \
    "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), \
    "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), \
    "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), \
    "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), \
    "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), \
    "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), \
    "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63]), \
    "+r"(d[64]), "+r"(d[65]), "+r"(d[66]), "+r"(d[67]), "+r"(d[68]), "+r"(d[69]), "+r"(d[70]), "+r"(d[71]), \
    "+r"(d[72]), "+r"(d[73]), "+r"(d[74]), "+r"(d[75]), "+r"(d[76]), "+r"(d[77]), "+r"(d[78]), "+r"(d[79]), \
    "+r"(d[80]), "+r"(d[81]), "+r"(d[82]), "+r"(d[83]), "+r"(d[84]), "+r"(d[85]), "+r"(d[86]), "+r"(d[87]), \
    "+r"(d[88]), "+r"(d[89]), "+r"(d[90]), "+r"(d[91]), "+r"(d[92]), "+r"(d[93]), "+r"(d[94]), "+r"(d[95]), \
    "+r"(d[96]), "+r"(d[97]), "+r"(d[98]), "+r"(d[99]), "+r"(d[100]), "+r"(d[101]), "+r"(d[102]), "+r"(d[103]), \
    "+r"(d[104]), "+r"(d[105]), "+r"(d[106]), "+r"(d[107]), "+r"(d[108]), "+r"(d[109]), "+r"(d[110]), "+r"(d[111]), \
    "+r"(d[112]), "+r"(d[113]), "+r"(d[114]), "+r"(d[115]), "+r"(d[116]), "+r"(d[117]), "+r"(d[118]), "+r"(d[119]), \
    "+r"(d[120]), "+r"(d[121]), "+r"(d[122]), "+r"(d[123]), "+r"(d[124]), "+r"(d[125]), "+r"(d[126]), "+r"(d[127])

/* d (64×256) += A (64×32, descriptor) · B (32×256, descriptor), 8-bit inputs. scale-d is 1:
 * the accumulators start at zero and always accumulate. */
__device__ __forceinline__ void wgmma_k32(float (&d)[128], uint64_t desc_a, uint64_t desc_b)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 {" WG_D_REGS "}, %128, %129, p, 1, 1;\n}\n"
                 : WG_D_F32
                 : "l"(desc_a), "l"(desc_b), "r"(1));
#else
    (void)d, (void)desc_a, (void)desc_b;
#endif
}
__device__ __forceinline__ void wgmma_k32(int (&d)[128], uint64_t desc_a, uint64_t desc_b)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 {" WG_D_REGS "}, %128, %129, p;\n}\n"
                 : WG_D_S32
                 : "l"(desc_a), "l"(desc_b), "r"(1));
#else
    (void)d, (void)desc_a, (void)desc_b;
#endif
}

/* Keeps the compiler from moving accumulator reads or writes across this point (wgmma writes
 * them asynchronously, behind its back). */
__device__ __forceinline__ void pin(float (&d)[128])
{
#pragma unroll
    for (int i = 0; i < 128; i++)
        asm volatile("" : "+f"(d[i])::"memory");
}
__device__ __forceinline__ void pin(int (&d)[128])
{
#pragma unroll
    for (int i = 0; i < 128; i++)
        asm volatile("" : "+r"(d[i])::"memory");
}

template <bool FP8>
__global__ void __launch_bounds__(THREADS, 1)
    qgemm_wgmma(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_w, const Args p)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using Acc = typename std::conditional<FP8, float, int>::type;
    extern __shared__ unsigned char smem_raw[];
    const uint32_t base = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t full0 = base + STAGES * STAGE_BYTES, empty0 = full0 + 8 * STAGES;
    const int wg = threadIdx.x / 128, lane = threadIdx.x % 32;

    int m0, n0;
    grouped_tile((int)blockIdx.x, p.m, p.n, BM, BN, GROUP_M, m0, n0);

    if (threadIdx.x == 0) {
        for (int s = 0; s < STAGES; s++) {
            mbar_init(full0 + 8 * s, 1);                 /* the producer's expect_tx arrival */
            mbar_init(empty0 + 8 * s, CONSUMERS * 4);    /* lane 0 of every consumer warp */
        }
        fence_barrier_init();
    }
    __syncthreads();

    if (wg == 0) { /* ---- producer ---- */
        regs_dec<PRODUCER_REGS>();
        if (threadIdx.x == 0) {
            prefetch_map(&map_a);
            prefetch_map(&map_w);
            for (int kt = 0; kt < p.ktiles; kt++) {
                const int s = kt % STAGES;
                if (kt >= STAGES) /* the consumers released this stage's previous use, kt − STAGES */
                    mbar_wait(empty0 + 8 * s, (uint32_t)((kt / STAGES - 1) & 1));
                const uint32_t sa = base + s * STAGE_BYTES, full = full0 + 8 * s;
                mbar_expect_tx(full, STAGE_BYTES);
                load_2d(sa, &map_a, kt * BK, m0, full);
                load_2d(sa + A_BYTES, &map_w, kt * BK, n0, full);
            }
        }
        return; /* nothing below synchronises the whole block */
    }

    /* ---- consumers ---- */
    regs_inc<CONSUMER_REGS>();
    const int c = wg - 1;
    Acc d[128];
#pragma unroll
    for (int i = 0; i < 128; i++)
        d[i] = 0;
    pin(d);
    for (int kt = 0; kt < p.ktiles; kt++) {
        const int s = kt % STAGES;
        mbar_wait(full0 + 8 * s, (uint32_t)((kt / STAGES) & 1));
        const uint32_t sa = base + s * STAGE_BYTES + c * 64 * BK, sw = base + s * STAGE_BYTES + A_BYTES;
        kb_wgmma::fence();
#pragma unroll
        for (int kk = 0; kk < BK / 32; kk++)
            wgmma_k32(d, smem_desc(sa + 32 * kk), smem_desc(sw + 32 * kk));
        kb_wgmma::commit();
        kb_wgmma::wait<1>(); /* k-tile kt − 1's products are done: its stage may be refilled */
        if (kt > 0 && lane == 0)
            mbar_arrive(empty0 + 8 * ((kt - 1) % STAGES));
    }
    kb_wgmma::wait<0>();
    pin(d);

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
    const cuuint64_t dims[2] = { (cuuint64_t)lda, (cuuint64_t)rows };
    const cuuint64_t strides[1] = { (cuuint64_t)lda }; /* bytes between rows (dimension 1) */
    const cuuint32_t box[2] = { (cuuint32_t)BK, (cuuint32_t)box_rows };
    const cuuint32_t elem_strides[2] = { 1, 1 };
    return fn(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void *>(ptr), dims, strides, box, elem_strides,
              CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

} // namespace

static_assert(sizeof(CUtensorMap) == sizeof(((struct qgemm_tma *)0)->a), "qgemm_tma holds one CUtensorMap per operand");

extern "C" int qgemm_wgmma_prepare(void)
{
    cudaError_t e = cudaFuncSetAttribute(qgemm_wgmma<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(qgemm_wgmma<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM);
    return (int)e;
}

extern "C" int qgemm_wgmma_tma_new(struct qgemm_tma *t, const void *a, const void *w, int m, int n, size_t lda,
                                   char *err, size_t errlen)
{
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled();
    if (!fn) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled not found in the CUDA driver (TMA needs driver 12.0+)");
        return KB_UNSUPPORTED;
    }
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
