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

#include "kernels/gpu/ptx.cuh"
#include "kernels/gpu/wgmma.cuh"

namespace {

using namespace kb_ptx;

constexpr int D = 128;      /* head_dim */
constexpr int BM = 128;     /* query rows per block: two warpgroups of 64 */
constexpr int BN = 128;     /* keys per tile */
constexpr int THREADS = 256;
constexpr size_t SMEM_BYTES = (size_t)(BM + 4 * BN) * D * sizeof(uint16_t) + 1024; /* +1024: alignment */

__device__ __forceinline__ void cp_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

/* Element offset of (row, col) in a 128-column tile of R rows, 128B-swizzled (see above). */
template <int R> __device__ __forceinline__ int sw128(int row, int col)
{
    return (col / 64) * R * 64 + row * 64 + ((((col % 64) / 8) ^ (row % 8)) << 3) + col % 8;
}

/* Rows [row0, row0 + R) of a [n, 128] matrix into a swizzled tile; rows past n are zero. */
template <int R> __device__ __forceinline__ void load_tile(uint16_t *tile, const uint16_t *src, int row0, int n)
{
#pragma unroll
    for (int c = threadIdx.x; c < R * (D / 8); c += THREADS) {
        int r = c / (D / 8), ch = c % (D / 8), gr = row0 + r;
        bool ok = gr < n;
        cp_async16(smem_u32(tile + sw128<R>(r, ch * 8)), src + (size_t)(ok ? gr : 0) * D + ch * 8, ok);
    }
}

__device__ __forceinline__ uint64_t smem_desc(const uint16_t *p, uint32_t lbo, uint32_t sbo)
{
    return kb_wgmma::desc_sw128(smem_u32(p), lbo, sbo);
}

using kb_wgmma::fence_proxy_async; /* cp.async writes through the generic proxy, wgmma reads through the async one */
__device__ __forceinline__ void wg_fence() { kb_wgmma::fence(); }
__device__ __forceinline__ void wg_commit() { kb_wgmma::commit(); }
__device__ __forceinline__ void wg_wait_all() { kb_wgmma::wait<0>(); }

/* Pins the accumulator registers at this point: the compiler may not move their reads or
 * writes across it (wgmma writes them asynchronously, behind its back). */
__device__ __forceinline__ void pin(float (&d)[64])
{
#pragma unroll
    for (int i = 0; i < 64; i++)
        asm volatile("" : "+f"(d[i])::"memory");
}

/* The 64 f32 accumulator operands of an m64n128 wgmma, and the instructions for one input type
 * TY ("bf16" or "f16"): SS reads A and B from shared memory, RS takes A from registers. Both
 * accumulate into d when `accumulate` is nonzero and overwrite it otherwise. */
#define WGMMA_D \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define WGMMA_D_OPERANDS \
      "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
      "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
      "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
      "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
      "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
      "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
      "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
      "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define WGMMA_SS(TY)                                                                                \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                      \
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " WGMMA_D               \
                 ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                                  \
                 : WGMMA_D_OPERANDS                                                                 \
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate))
#define WGMMA_RS(TY)                                                                                \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                                      \
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " WGMMA_D               \
                 ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"                                    \
                 : WGMMA_D_OPERANDS                                                                 \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate))

/* d (64×128, f32) (+)= A·B with A and B described in shared memory. */
template <bool BF16> __device__ __forceinline__ void wgmma_ss(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_SS("bf16");
    else
        WGMMA_SS("f16");
#endif
}

/* d (64×128, f32) += A·B with A (this thread's 4 registers of the 64×16 A fragment) and B
 * (16×128, MN-major) in shared memory. */
template <bool BF16> __device__ __forceinline__ void wgmma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_RS("bf16");
    else
        WGMMA_RS("f16");
#endif
}

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

        if (k0 + BN > n || (CAUSAL && k0 + BN - 1 > wrow0)) {
#pragma unroll
            for (int nt = 0; nt < BN / 8; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int key = k0 + nt * 8 + 2 * t4 + (e & 1), row = e < 2 ? row_a : row_b;
                    if (key >= n || (CAUSAL && key > row))
                        s[4 * nt + e] = -INFINITY;
                }
        }
        /* online softmax: rows g and g + 8 of the warp, shared by the 4 lanes of a quad */
        float tmax[2] = { -INFINITY, -INFINITY };
#pragma unroll
        for (int nt = 0; nt < BN / 8; nt++) {
            tmax[0] = fmaxf(tmax[0], fmaxf(s[4 * nt], s[4 * nt + 1]));
            tmax[1] = fmaxf(tmax[1], fmaxf(s[4 * nt + 2], s[4 * nt + 3]));
        }
        float msub[2], alpha[2], rs[2] = { 0.f, 0.f };
#pragma unroll
        for (int i = 0; i < 2; i++) {
            tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 1));
            tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 2));
            float mnew = fmaxf(m[i], tmax[i] * scale_log2);
            msub[i] = mnew == -INFINITY ? 0.f : mnew; /* a row with nothing seen yet */
            alpha[i] = ex2(m[i] - msub[i]);
            m[i] = mnew;
        }
#pragma unroll
        for (int nt = 0; nt < BN / 8; nt++) {
            s[4 * nt] = ex2(fmaf(s[4 * nt], scale_log2, -msub[0]));
            s[4 * nt + 1] = ex2(fmaf(s[4 * nt + 1], scale_log2, -msub[0]));
            s[4 * nt + 2] = ex2(fmaf(s[4 * nt + 2], scale_log2, -msub[1]));
            s[4 * nt + 3] = ex2(fmaf(s[4 * nt + 3], scale_log2, -msub[1]));
            rs[0] += s[4 * nt] + s[4 * nt + 1];
            rs[1] += s[4 * nt + 2] + s[4 * nt + 3];
        }
        l[0] = l[0] * alpha[0] + rs[0];
        l[1] = l[1] * alpha[1] + rs[1];
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            o[4 * dt] *= alpha[0];
            o[4 * dt + 1] *= alpha[0];
            o[4 * dt + 2] *= alpha[1];
            o[4 * dt + 3] *= alpha[1];
        }
        /* P in the A-fragment layout: 16 keys (two 8-column blocks) per k-step */
        uint32_t pa[BN / 16][4];
#pragma unroll
        for (int kc = 0; kc < BN / 16; kc++) {
            pa[kc][0] = pack2<BF16>(s[8 * kc], s[8 * kc + 1]);
            pa[kc][1] = pack2<BF16>(s[8 * kc + 2], s[8 * kc + 3]);
            pa[kc][2] = pack2<BF16>(s[8 * kc + 4], s[8 * kc + 5]);
            pa[kc][3] = pack2<BF16>(s[8 * kc + 6], s[8 * kc + 7]);
        }
        pin(o);
        wg_fence();
#pragma unroll
        for (int kc = 0; kc < BN / 16; kc++)
            wgmma_rs<BF16>(o, pa[kc], smem_desc(vt + kc * 16 * 64, BN * 128, 1024), 1);
        wg_commit();
        wg_wait_all();
        pin(o);
    }

    uint16_t *out = O + qoff;
    float inv[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        float li = l[i];
        li += __shfl_xor_sync(0xffffffffu, li, 1);
        li += __shfl_xor_sync(0xffffffffu, li, 2);
        inv[i] = 1.f / li;
    }
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++) {
        int col = dt * 8 + 2 * t4;
        if (row_a < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)row_a * D + col) = pack2<BF16>(o[4 * dt] * inv[0], o[4 * dt + 1] * inv[0]);
        if (row_b < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)row_b * D + col) =
                pack2<BF16>(o[4 * dt + 2] * inv[1], o[4 * dt + 3] * inv[1]);
    }
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
