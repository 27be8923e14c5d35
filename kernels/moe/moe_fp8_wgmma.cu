/* moe_fp8_wgmma.cu - the device code of moe.experts@cuda.wgmma-fp8 (moe_fp8_cuda.c): the grouped
 * GEMM of moe_gemm_wgmma.cu with e4m3 operands and DeepSeek-V3's block scales, and the activation
 * quantizer that feeds it. sm_90a only.
 *
 * The recipe (DeepSeek-V3 technical report, §3.3): activations are quantized per token per 128
 * channels (a 1 × 128 block, one float scale each: moe_fp8_quantize below), weights per 128 × 128
 * block (one float scale each, quantized once on the host: moe_fp8_cuda.c). The GEMM runs on
 * wgmma .e4m3 (k32) with f32 accumulation, and because the tensor cores' FP8 accumulation keeps
 * fewer bits than f32, every 128-wide k-block's partial sum is promoted into a separate f32
 * accumulator with scale_a(row, kb) · scale_b(n-block, kb): two-level accumulation. A k-tile of
 * the ring (128 bytes = 128 e4m3) is exactly one k-block, so one promotion per stage.
 *
 * Grid and main loop: moe_gemm_wgmma.cu's output tiles ((group, column tile, row tile), the group
 * found by binary search over mtile_start; kernels/gpu/wgmma_ring.cuh's producer and ring), with
 * an output tile of 128 rows × TN columns, TN = 256 where n is a multiple of 256, else 128. The
 * grid is persistent: a block an SM takes tiles blockIdx.x, + gridDim.x, ..., the ring's uses
 * running on from tile to tile, so the producer loads the next tile while the consumers store
 * the last (KBENCH_MOE_FP8_PERSISTENT=0: a block a tile).
 * The 128 × 128 tile loads 256 bytes of A and B per k for 32K products, and at that ratio the
 * GEMM was bound by L2 → shared-memory bandwidth (tensor pipe 33% busy, DeepSeek-V3's shape on
 * an H100); the 256-wide tile loads 384 for twice the products. Its consumers hold the promoted
 * sums of an m64n256 tile (128 f32) and one m64n128 partial sum (64 f32), used for each
 * 128-column half in turn (an m64n256 partial sum beside them would need 256 registers, more than
 * a thread has). Rings: kb_wgring::Layout<128, 6> (6 stages of 16 + 16 KiB) and Layout<256, 4>
 * (4 of 16 + 32 KiB, B as two 128-row boxes); the consumer loop is kb_wgring::consume_promoted.
 * Per k-tile, consumer and half: (first half) read the k-tile's scales from the stage's slot
 * (rows r and r + 8 of A, the B block of each half), four wgmma m64n128k32 e4m3 SS (K-major A
 * and B, 32 bytes of k each), commit, wait, (last half) release the stage, promote. The two
 * consumers take turns to issue (consume_promoted's turns), so one promotes while the other's
 * products run (KBENCH_MOE_FP8_TURNS=0: each issues when ready). In a group's tail tile of 64
 * rows or fewer the second consumer only releases the stages (consume_promoted's active),
 * leaving the tensor cores to the first. Turns, persistence and the scales in shared memory were
 * each within the run-to-run spread on an H100 (2026-12-07: 3072-3527 us at DeepSeek-V3's
 * shape, 0.61-0.64x cuBLASLt): kept, as verified and no worse. The wide tile is the default where n allows it: on an
 * H100 (2026-12-07, DeepSeek-V3's shape, 4096 tokens, 16 experts, one lease) it ran in 3165 us
 * (912 TFLOP/s) against the narrow tile's 4124 (700), the same answer to the bit;
 * KBENCH_MOE_FP8_TILE=128 keeps the narrow one for comparison.
 *
 * Scales: A's k-block major, sa[kb · lds + row] (a tile's 128 rows read as four 128-byte
 * segments); B's sb[(n_global / 128) · ktiles + kb] with n_global = g·n + column: a 128-row block
 * of the B map never straddles two experts because n is a multiple of 128 (the host checks it).
 * Rows past the group's end read the last row's scale (they are computed and never stored).
 * Warp 1 of the producer warpgroup copies them (cp.async) into a slot per stage beside the ring,
 * up to the ring's depth ahead of their use (produce_scales).
 *
 * Epilogues: MOE_EPI_SWIGLU (bf16 h from w13's 8-column gate/up interleave, as moe_gemm_wgmma.cu),
 * MOE_EPI_SWIGLU_FP8 (that h quantized for the down GEMM in the epilogue, store_h: the
 * default, which saves the separate quantizer's pass over h; its codes staged in shared memory)
 * and MOE_EPI_BF16 (bf16 yp: from the tile staged in shared memory, store_bf16_staged;
 * KBENCH_MOE_FP8_STAGED_STORE=0: both from the accumulators, store_bf16). A warp's staged rows
 * go out by one TMA store where they are all its group's (send_staged; KBENCH_MOE_FP8_TMA_STORE=0:
 * by its lanes' 16-byte stores).
 * Accumulator layout (m64n128, f32): warp w of the warpgroup holds rows 16w + lane/4 (+ 8);
 * d[4j + 2h + {0, 1}] is row lane/4 + 8h, columns 8j + 2(lane%4) + {0, 1} (j = 0..15). */
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "kernels/moe/moe_cuda.h"
}

#include "kernels/gpu/cluster_grid.cuh"
#include "kernels/gpu/ptx.cuh"
#include "kernels/gpu/sm_count.cuh"
#include "kernels/gpu/smem_limit.cuh"
#include "kernels/moe/moe_tile.cuh"
#include "kernels/moe/swiglu.cuh"
#include "kernels/gpu/tma.cuh"
#include "kernels/gpu/wgmma.cuh"
#include "kernels/gpu/wgmma_mma.cuh"
#include "kernels/gpu/wgmma_ring.cuh"

namespace {

using namespace kb_ptx;
using kb_wgring::BM;
using kb_wgring::THREADS;
using kb_moe::swiglu;
/* the ring of a TN-column output tile */
template <int TN> using FP8Ring = kb_wgring::Layout<TN, TN == 128 ? 6 : 4>;
/* A stage's block scales, beside the ring (kb_wgring::ring_end): scale_a of the tile's 128 rows,
 * then scale_b of its (one or two) 128-column halves, padded to 16 bytes. The producer's scale
 * warp writes them with the stage's k-tile; the consumers read them from shared memory, where a
 * global load a k-tile ahead still left its latency in front of the promotion. */
constexpr int SCALE_SLOT = 128 + 4;    /* floats */
constexpr int SCALE_WARP = 1;          /* the producer warpgroup's warp that loads them */
constexpr int FULL_ARRIVALS = 1 + 32;  /* the TMA thread's expect_tx and the scale warp's lanes */
/* The epilogues' staging, past the scale slots and aligned up to 1024 bytes: a consumer warp's 16
 * rows of 128 bytes, 64 columns of bf16 (MOE_EPI_BF16, store_bf16_staged) or the 128 h codes of a
 * row (MOE_EPI_SWIGLU_FP8, store_h). Aligned, each warp's buffer is a TMA store's 128-byte swizzled
 * box as it stands (staged_unit_at). */
constexpr int STAGE_COLS = 64, STAGE_ROW_BYTES = STAGE_COLS * 2, STAGE_WARP_BYTES = 16 * STAGE_ROW_BYTES;
template <int TN> constexpr int fp8_smem()
{
    return FP8Ring<TN>::SMEM + FP8Ring<TN>::STAGES * SCALE_SLOT * 4 + 1024 + kb_wgring::CONSUMERS * 4 * STAGE_WARP_BYTES;
}
static_assert(fp8_smem<128>() <= 227 * 1024 && fp8_smem<256>() <= 227 * 1024, "shared memory of one H100 block");
constexpr int BN = 128;                  /* an n-block: the narrow tile, a half of the wide one */
constexpr int BK = kb_wgring::ROW_BYTES; /* e4m3 per stage row: one k-block */
static_assert(BK == MOE_FP8_BLOCK && BN == MOE_FP8_BLOCK, "a stage is one 128-wide k-block, a half tile one n-block");
static_assert(BM == MOE_CUDA_BM, "the sort's row tile is the ring's");

struct Args {
    int n, ktiles, groups;
    const int *group_off, *mtile_start;
    const float *sa; /* [ktiles][lds] */
    long lds;
    const float *sb; /* [groups · n / 128][ktiles] */
    void *c; /* MOE_EPI_SWIGLU_FP8: may be NULL */
    long ldc;
    uint8_t *q; /* MOE_EPI_SWIGLU_FP8's codes [rows][ldc] and scales [ldc / 128][ldqs] */
    float *qs;
    long ldqs;
    int turns;   /* the consumers take turns to issue (consume_promoted) where both have rows */
    int turns_from; /* from this k-tile of each tile */
    int staged;     /* MOE_EPI_BF16's stores and MOE_EPI_SWIGLU_FP8's codes through shared memory */
    int tma_store;  /* staged: those go out by TMA stores through map_c (send_staged) */
    int cluster; /* 2: launched in two-block clusters sharing B (the wide tile only), else 1 */
    int scales_async; /* the scale warp copies the scales with cp.async (produce_scales) */
};

/* scale_a of the thread's two rows, scale_b of the column blocks of the tile's halves, read
 * from the stage's slot once it is full */
template <int HALVES> struct RowScales {
    float a0, a8, b[HALVES];
};

/* the stage slots of the block scales (generic pointer: the consumers read them as floats) */
template <int TN> __device__ __forceinline__ float *scale_slots(unsigned char *smem_raw, const kb_wgring::Ring &ring)
{
    return reinterpret_cast<float *>(smem_raw + (kb_wgring::ring_end<FP8Ring<TN>>(ring) - smem_u32(smem_raw)));
}

/* a consumer warp's staging buffer (store_bf16_staged, store_h), past the scale slots, 1024-byte
 * aligned (fp8_smem) */
template <int TN> __device__ __forceinline__ unsigned char *warp_stage(unsigned char *smem_raw, const kb_wgring::Ring &ring)
{
    const int warp = (int)threadIdx.x / 32 - 4; /* 0..7: the consumers' warps */
    const uint32_t end = kb_wgring::ring_end<FP8Ring<TN>>(ring) + FP8Ring<TN>::STAGES * SCALE_SLOT * 4;
    return smem_raw + (((end + 1023u) & ~1023u) - smem_u32(smem_raw)) + warp * STAGE_WARP_BYTES;
}

/* The producer's scale warp: for each k-tile of the tile, once the stage is free, scale_a of the
 * tile's 128 rows (rows past the group's end read its last row's: they are computed, never
 * stored) and scale_b of its halves into the stage's slot; every lane then arrives on the
 * stage's full barrier, so the consumers see them when they see the stage's operands.
 * ASYNC (the default): the copies are cp.async, and each lane's arrival waits for its own copies
 * in the memory system (cp.async.mbarrier.arrive.noinc), not in the warp, which goes straight
 * on to the next stage. Loaded into registers and stored (KBENCH_MOE_FP8_SCALES_ASYNC=0), a
 * k-tile's scales cost the warp a global load's latency (from L2, under the TMA's traffic) each,
 * which the consumers can outrun. (Loads issued a few k-tiles ahead into registers do not fit:
 * ptxas holds the producer warpgroup to its 40 registers and spilled.) */
template <int TN, bool ASYNC>
__device__ __forceinline__ void produce_scales(const kb_wgring::Ring &ring, float *slots, const struct moe_tile &tile,
                                               int u0, const Args &p)
{
    using Ring = FP8Ring<TN>;
    const int lane = threadIdx.x % 32;
    const float *sb = p.sb + (long)((tile.group * p.n + tile.n0) / BN) * p.ktiles + lane * p.ktiles;
    for (int kt = 0; kt < p.ktiles; kt++) {
        const int u = u0 + kt, s = u % Ring::STAGES;
        if (u >= Ring::STAGES) /* the consumers have read this slot's previous use */
            kb_tma::mbar_wait(ring.empty0 + 8 * s, (uint32_t)((u / Ring::STAGES - 1) & 1));
        float *slot = slots + s * SCALE_SLOT;
        const float *sa = p.sa + (long)kt * p.lds;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int row = tile.row0 + lane + 32 * i;
            const float *from = sa + (row < tile.row_end ? row : tile.row_end - 1);
            if constexpr (ASYNC)
                cp_async4(smem_u32(slot + lane + 32 * i), from);
            else
                slot[lane + 32 * i] = __ldg(from);
        }
        if (lane < TN / BN) { /* the next n-block's row of sb */
            if constexpr (ASYNC)
                cp_async4(smem_u32(slot + 128 + lane), sb + kt);
            else
                slot[128 + lane] = __ldg(sb + kt);
        }
        if constexpr (ASYNC)
            kb_tma::mbar_arrive_after_cp_async(ring.full0 + 8 * s);
        else
            kb_tma::mbar_arrive(ring.full0 + 8 * s);
    }
}

/* f(tile, u0, shared_box) for each output tile of this block (moe_tile.cuh's moe_for_each_tile) */
template <int TN, class F> __device__ __forceinline__ void for_each_tile(const Args &p, F f)
{
    const int rank = p.cluster == 2 ? (int)kb_tma::cluster_ctarank() : 0;
    moe_for_each_tile(p.n / TN, BM, TN, p.mtile_start, p.group_off, p.groups, p.ktiles, p.cluster, rank, f);
}

/* The byte offset of a staged row's 16-byte unit, swizzled to u ^ (row % 8): the 8 rows of a
 * stmatrix matrix, and the 8 units of a row, each fall in distinct banks. */
__device__ __forceinline__ int staged_unit_at(int row, int unit) { return row * STAGE_ROW_BYTES + ((unit ^ (row % 8)) << 4); }

/* The warp's 16 staged rows (STAGE_ROW_BYTES each, staged_unit_at's layout) out to global memory,
 * once every lane has written its part: row i to dst + (wrow0 + i)·pitch bytes, rows from row_end
 * on (another group's) left out; 16 bytes a lane, each 8 lanes a whole row. Returns once the warp
 * has read the buffer, which the caller may then fill again. */
__device__ __forceinline__ void copy_out_staged(const unsigned char *stage, unsigned char *dst, long pitch, int wrow0,
                                                int row_end)
{
    const int lane = threadIdx.x % 32;
    __syncwarp();
#pragma unroll
    for (int i = 0; i < 16 * STAGE_ROW_BYTES / 16 / 32; i++) {
        const int row = 4 * i + lane / 8, unit = lane % 8;
        const uint4 v = *reinterpret_cast<const uint4 *>(stage + staged_unit_at(row, unit));
        if (wrow0 + row < row_end)
            *reinterpret_cast<uint4 *>(dst + (long)(wrow0 + row) * pitch + unit * 16) = v;
    }
    __syncwarp();
}

/* Before a warp writes its staging buffer: with TMA stores, the last one's read of it is over
 * (lane 0 issued it, and a thread waits for its own bulk groups). */
__device__ __forceinline__ void stage_free(bool tma)
{
    if (tma) {
        if (threadIdx.x % 32 == 0)
            kb_tma::bulk_wait_read<0>();
        __syncwarp();
    }
}

/* The warp's 16 staged rows out, as copy_out_staged's arguments say; with tma and every row the
 * group's (below row_end), as one TMA store of map's box at (x, wrow0) instead, left in flight
 * (stage_free waits for its read). Rows of another group in the box would be overwritten, so a
 * group's last rows go by copy_out_staged. The rows under row_end but past the tensor's end do not
 * arise (the output's rows are the groups'). */
__device__ __forceinline__ void send_staged(const unsigned char *stage, bool tma, const CUtensorMap *map, int x,
                                            unsigned char *dst, long pitch, int wrow0, int row_end)
{
    if (tma && wrow0 + 16 <= row_end) {
        kb_wgmma::fence_proxy_async(); /* the warp's generic writes, read by the async proxy */
        __syncwarp();
        if (threadIdx.x % 32 == 0) {
            kb_tma::store_2d(map, x, wrow0, smem_u32(stage));
            kb_tma::bulk_commit();
        }
        return;
    }
    copy_out_staged(stage, dst, pitch, wrow0, row_end);
}

/* The SwiGLU epilogues, from the thread's promoted sums acc (rows r and r + 8, t its place in the
 * row's quad): h = silu(gate)·up into the places of the gate sums it came from (w13's 8-column
 * gate/up interleave: block j gate, j + 1 up), stored as bf16 to p.c where not NULL (a tile's h
 * is columns n0/2 .. n0/2 + TN/2 − 1). QUANT (MOE_EPI_SWIGLU_FP8) first rounds h to bf16, as
 * the bf16 store would, and quantizes it by moe_fp8_quantize's rule: a 256-column tile's h is one
 * quantization block of each row, which the row's quad holds whole (32 values a thread), so the
 * block's absmax takes two shuffles and no other tile. Its codes go, with p.staged, into the
 * warp's buffer (stage; 16-byte units XOR-swizzled by the row, as store_bf16_staged's) and out as
 * whole 16-byte pieces of a row, 4 stores a thread, where straight from the quads they are 32
 * two-byte stores a thread, each warp's touching 8 rows (on an H100 those stores were the up
 * GEMM epilogue's largest stall, lg throttle). Rows past row_end (another group's) are computed
 * but not stored; every lane takes part in the shuffles before that test. */
template <int TN, bool QUANT>
__device__ __forceinline__ void store_h(float (&acc)[TN / BN][64], const Args &p, const CUtensorMap *map_c, int r,
                                        int row_end, int n0, int t, unsigned char *stage)
{
    static_assert(!QUANT || TN == 2 * MOE_FP8_BLOCK, "a tile's h columns are one quantization block");
    static_assert(!QUANT || STAGE_ROW_BYTES == TN / 2, "a staged row holds a tile row's codes");
    float amax[2] = { 0.f, 0.f };
#pragma unroll
    for (int hv = 0; hv < TN / BN; hv++)
#pragma unroll
        for (int j = 0; j < BN / 8; j += 2)
#pragma unroll
            for (int h = 0; h < 2; h++) {
                float *v = &acc[hv][4 * j + 2 * h];
                const float *up = &acc[hv][4 * j + 4 + 2 * h];
                v[0] = swiglu(v[0], up[0]), v[1] = swiglu(v[1], up[1]);
                if (QUANT) {
                    const float2 hb = __bfloat1622float2(__floats2bfloat162_rn(v[0], v[1]));
                    v[0] = hb.x, v[1] = hb.y;
                    amax[h] = fmaxf(amax[h], fmaxf(fabsf(hb.x), fabsf(hb.y)));
                }
            }
    if (QUANT) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            amax[h] = fmaxf(amax[h], __shfl_xor_sync(0xffffffffu, amax[h], 1));
            amax[h] = fmaxf(amax[h], __shfl_xor_sync(0xffffffffu, amax[h], 2));
        }
    }
    const int lane_row = (int)(threadIdx.x % 32) / 4; /* the thread's first row in its warp's 16 */
    if (QUANT && p.staged)
        stage_free(p.tma_store);
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const long row = r + 8 * h;
        if (row >= row_end)
            continue;
        /* the row's first h column of this thread: every store below is at a constant offset */
        const long at = row * p.ldc + n0 / 2 + 2 * t;
        if (QUANT) {
            const float inv = amax[h] > 0.f ? 448.f / amax[h] : 0.f;
            if (t == 0)
                p.qs[(long)(n0 / TN) * p.ldqs + row] = amax[h] / 448.f; /* the block: (n0 / 2) / 128 */
            uint8_t *q = p.q + at;
            /* staged: the row's 128 code bytes in the warp's buffer (staged_unit_at) */
            unsigned char *srow = stage + 2 * t;
#pragma unroll
            for (int hv = 0; hv < TN / BN; hv++)
#pragma unroll
                for (int j = 0; j < BN / 8; j += 2) {
                    const uint16_t codes = kb_wgmma::cvt_e4m3x2(acc[hv][4 * j + 2 * h] * inv, acc[hv][4 * j + 2 * h + 1] * inv);
                    const int byte = hv * BN / 2 + j * 4; /* of the row's codes */
                    if (p.staged)
                        *reinterpret_cast<uint16_t *>(srow + staged_unit_at(lane_row + 8 * h, byte >> 4) + (byte & 15)) = codes;
                    else
                        *reinterpret_cast<uint16_t *>(q + byte) = codes;
                }
        }
        if (p.c) { /* QUANT: exact, the values are bf16's */
            uint16_t *c = (uint16_t *)p.c + at;
#pragma unroll
            for (int hv = 0; hv < TN / BN; hv++)
#pragma unroll
                for (int j = 0; j < BN / 8; j += 2)
                    *reinterpret_cast<uint32_t *>(c + hv * BN / 2 + j * 4) =
                        pack2<true>(acc[hv][4 * j + 2 * h], acc[hv][4 * j + 2 * h + 1]);
        }
    }
    if (QUANT && p.staged) /* the warp's 16 rows of codes */
        send_staged(stage, p.tma_store, map_c, n0 / 2, p.q + n0 / 2, p.ldc, r - lane_row, row_end);
}

/* MOE_EPI_BF16's epilogue: straight from the promoted accumulators, half hv's columns from
 * n0 + 128·hv; rows of other groups skipped (every column of the tile is < n: n is a multiple of
 * TN) */
template <int TN>
__device__ __forceinline__ void store_bf16(const float (&acc)[TN / BN][64], const Args &p, int r, int row_end, int n0, int t)
{
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const long row = r + 8 * h;
        if (row >= row_end)
            continue;
        uint16_t *c = (uint16_t *)p.c + row * p.ldc + n0 + 2 * t; /* every store at a constant offset */
#pragma unroll
        for (int hv = 0; hv < TN / BN; hv++)
#pragma unroll
            for (int j = 0; j < BN / 8; j++)
                *reinterpret_cast<uint32_t *>(c + hv * BN + j * 8) = pack2<true>(acc[hv][4 * j + 2 * h], acc[hv][4 * j + 2 * h + 1]);
    }
}

/* MOE_EPI_BF16's epilogue through shared memory: per 64-column chunk of a half, the warp's 16
 * rows go into its staging buffer by stmatrix (a quad's row of 8 columns at once, from the
 * accumulators' own layout, at staged_unit_at's places), then out by copy_out_staged: each
 * global store a whole 128-byte row segment of 8 lanes, 16 a thread in all, where store_bf16
 * makes 64 four-byte stores a thread, each warp's touching 8 rows' 16 bytes. stage: the warp's
 * buffer (STAGE_WARP_BYTES). */
template <int TN>
__device__ __forceinline__ void store_bf16_staged(const float (&acc)[TN / BN][64], const Args &p, const CUtensorMap *map_c,
                                                  int r, int row_end, int n0, unsigned char *stage)
{
    const int lane = threadIdx.x % 32, m = lane / 8;
    const int srow = (m & 1) * 8 + lane % 8; /* the row of matrix m this lane addresses */
    const int wrow0 = r - lane / 4; /* the warp's first row */
#pragma unroll
    for (int hv = 0; hv < TN / BN; hv++)
#pragma unroll
        for (int q = 0; q < BN / STAGE_COLS; q++) {
            stage_free(p.tma_store);
#pragma unroll
            for (int jp = 0; jp < STAGE_COLS / 16; jp++) { /* matrices: rows 0-7, 8-15 of blocks j, j + 1 */
                const int j = q * (STAGE_COLS / 8) + 2 * jp, unit = 2 * jp + (m >> 1);
                const float *a = &acc[hv][4 * j];
                stsm_x4(smem_u32(stage) + (uint32_t)staged_unit_at(srow, unit), pack2<true>(a[0], a[1]),
                        pack2<true>(a[2], a[3]), pack2<true>(a[4], a[5]), pack2<true>(a[6], a[7]));
            }
            const int col = n0 + hv * BN + q * STAGE_COLS;
            send_staged(stage, p.tma_store, map_c, col, reinterpret_cast<unsigned char *>((uint16_t *)p.c + col), 2 * p.ldc,
                        wrow0, row_end);
        }
}

/* A consumer warpgroup's share of one output tile: its 64 rows' promoted sums over every k-tile
 * (the ring's uses u0 on), then the epilogue. The thread's place is recomputed from threadIdx
 * rather than carried across the block's tiles, which leaves the registers to the sums. */
template <int EPI, int TN, bool AR>
__device__ __forceinline__ void consume_tile(unsigned char *smem_raw, const struct moe_tile &tile, int u0, const Args &p,
                                             const CUtensorMap *map_c)
{
    using Ring = FP8Ring<TN>;
    const kb_wgring::Ring ring = kb_wgring::ring_at<Ring>(smem_raw);
    constexpr int HALVES = TN / BN;
    /* c and w through a shuffle: values the compiler then knows are the same in every lane, so
     * the wgmma descriptors built from c stay in uniform registers (DeepGEMM's device), where
     * from threadIdx each took R2UR moves: 32 a k-tile in the H100's SASS. On an H100
     * (2026-12-07, DeepSeek-V3's shape) 2909.9-2965.9 us against 3135.6-3424.4 without. */
    const int lane = threadIdx.x % 32, c = __shfl_sync(0xffffffffu, (int)threadIdx.x / 128, 0) - 1;
    const int w = __shfl_sync(0xffffffffu, (int)(threadIdx.x / 32) % 4, 0), g = lane / 4, t = lane % 4;
    const int n0 = tile.n0, row0 = tile.row0, row_end = tile.row_end;
    const int r = row0 + c * 64 + w * 16 + g; /* this thread's rows r and r + 8 */
    const float *slots = scale_slots<TN>(smem_raw, ring);
    const int ra = r - row0; /* the thread's first row in the tile: its scale_a in a slot */

    float acc[HALVES][64], part[64];
#pragma unroll
    for (int hv = 0; hv < HALVES; hv++)
#pragma unroll
        for (int i = 0; i < 64; i++)
            acc[hv][i] = 0.f;
    /* a tail tile of 64 rows or fewer: consumer 1 has no rows (the epilogue stores none of them) */
    const bool active = row0 + c * 64 < row_end;
    const bool turns = p.turns && row0 + 64 < row_end; /* the same in both consumers */
    const uint32_t peer_empty0 = p.cluster == 2 ? kb_tma::mapa(ring.empty0, kb_tma::cluster_ctarank() ^ 1u) : 0;
    kb_wgring::consume_promoted<BK / 32, Ring, AR>(
        ring, c, p.ktiles, u0, active, turns, p.turns_from, peer_empty0, part,
        [](float(&d)[64], const auto &a, uint64_t db, int accumulate) {
            if constexpr (AR) /* a: the thread's A fragment of the k-step */
                kb_wgmma::mma_m64n128k32_e4m3_rs(d, a, db, accumulate);
            else /* a: A's descriptor */
                kb_wgmma::mma_m64n128k32_e4m3_ss(d, a, db, accumulate);
        },
        [&](int, int s) {
            const float *slot = slots + s * SCALE_SLOT;
            RowScales<HALVES> sc;
            sc.a0 = slot[ra], sc.a8 = slot[ra + 8];
#pragma unroll
            for (int hv = 0; hv < HALVES; hv++)
                sc.b[hv] = slot[128 + hv];
            return sc;
        },
        [&](const float(&d)[64], const RowScales<HALVES> &s, int hv) {
            const float r0 = s.a0 * s.b[hv], r8 = s.a8 * s.b[hv];
#pragma unroll
            for (int i = 0; i < 64; i++)
                acc[hv][i] += d[i] * ((i / 2) % 2 ? r8 : r0);
        });

    if constexpr (EPI == MOE_EPI_BF16) {
        if (p.staged)
            store_bf16_staged<TN>(acc, p, map_c, r, row_end, n0, warp_stage<TN>(smem_raw, ring));
        else
            store_bf16<TN>(acc, p, r, row_end, n0, t);
    } else {
        store_h<TN, EPI == MOE_EPI_SWIGLU_FP8>(acc, p, map_c, r, row_end, n0, t, warp_stage<TN>(smem_raw, ring));
    }
}

template <int EPI, int TN, bool AR = false>
__global__ void __launch_bounds__(THREADS, 1)
    moe_fp8_wgmma(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
                  const __grid_constant__ CUtensorMap map_c, const Args p)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using Ring = FP8Ring<TN>;
    /* the block's output tiles (for_each_tile); none: the whole block (the whole cluster: both
     * blocks see its first tile missing) returns, before any barrier */
    struct moe_tile first;
    if (!moe_tile_of(blockIdx.x / p.cluster * p.cluster, p.n / TN, BM, TN, p.mtile_start, p.group_off, p.groups, &first))
        return;

    extern __shared__ unsigned char smem_raw[];
    /* in a cluster both blocks' consumers release each stage (its B comes from both) */
    const kb_wgring::Ring ring =
        kb_wgring::ring_init<Ring>(smem_raw, FULL_ARRIVALS, kb_wgring::CONSUMERS * 4 * p.cluster);
    if (p.cluster == 2)
        kb_tma::cluster_sync(); /* both blocks' barriers exist before either loads into or arrives on the other's */
    if (threadIdx.x < 128) { /* group e's weights are rows [e·n, e·n + n) of map_b, in 128-row boxes */
        kb_tma::regs_dec<kb_wgring::PRODUCER_REGS>();
        if (threadIdx.x / 32 == SCALE_WARP) {
            float *slots = scale_slots<TN>(smem_raw, ring);
            for_each_tile<TN>(p, [&](const struct moe_tile &t, int u0, int) {
                if (p.scales_async)
                    produce_scales<TN, true>(ring, slots, t, u0, p);
                else
                    produce_scales<TN, false>(ring, slots, t, u0, p);
            });
            return;
        }
        if (threadIdx.x != 0)
            return;
        kb_tma::prefetch_map(&map_a);
        kb_tma::prefetch_map(&map_b);
        if (p.tma_store)
            kb_tma::prefetch_map(&map_c);
        /* the next tile's k-tiles stream in while the consumers store this one */
        for_each_tile<TN>(p, [&](const struct moe_tile &t, int u0, int shared_box) {
            kb_wgring::produce_stages<Ring, BN>(ring, &map_a, t.row0, &map_b, t.group * p.n + t.n0, p.ktiles, BK, u0,
                                                shared_box);
        });
        return; /* nothing below synchronises the whole block; a returned thread counts as arrived
                 * at the cluster barrier below */
    }
    kb_tma::regs_inc<kb_wgring::CONSUMER_REGS>();
    for_each_tile<TN>(p, [&](const struct moe_tile &t, int u0, int) {
        consume_tile<EPI, TN, AR>(smem_raw, t, u0, p, &map_c);
    });
    stage_free(p.tma_store); /* the shared memory outlives the last TMA store's read */
    if (p.cluster == 2)
        kb_tma::cluster_sync(); /* the other block may still load into this one or release its stages */
#else
    (void)map_a, (void)map_b, (void)map_c, (void)p;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

/* x bf16 [rows][ld] → q e4m3 [rows][ld] and scale[(col / 128) · rows + row] = amax / 448 of the
 * row's 128-column block (0 for an all-zero block, whose codes are then 0). One warp per (row,
 * block), 4 columns a lane; ld a multiple of 128. Codes are e4m3(x · 448 / amax), round to
 * nearest even, saturating (the product may round past 448). */
__global__ void moe_fp8_quantize(const uint16_t *x, long ld, int rows, uint8_t *q, float *scale)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    const int blocks = (int)(ld / MOE_FP8_BLOCK), lane = threadIdx.x % 32;
    const long warp = ((long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    if (warp >= (long)rows * blocks)
        return; /* whole warps: blockDim.x is a multiple of 32 */
    const long row = warp / blocks;
    const int kb = (int)(warp % blocks);
    const long at = row * ld + (long)kb * MOE_FP8_BLOCK + 4 * lane;
    const __nv_bfloat162 *src = reinterpret_cast<const __nv_bfloat162 *>(x + at);
    const float2 lo = __bfloat1622float2(src[0]), hi = __bfloat1622float2(src[1]);
    float amax = fmaxf(fmaxf(fabsf(lo.x), fabsf(lo.y)), fmaxf(fabsf(hi.x), fabsf(hi.y)));
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float inv = amax > 0.f ? 448.f / amax : 0.f;
    *reinterpret_cast<uint32_t *>(q + at) = kb_wgmma::cvt_e4m3x4(lo.x * inv, lo.y * inv, hi.x * inv, hi.y * inv);
    if (lane == 0)
        scale[(long)kb * rows + row] = amax / 448.f;
#else
    (void)x, (void)ld, (void)rows, (void)q, (void)scale;
    __trap();
#endif
}

/* a block per SM, each looping over output tiles, unless KBENCH_MOE_FP8_PERSISTENT=0 asks for a
 * block per tile */
static bool persistent_on()
{
    static const char *const want = getenv("KBENCH_MOE_FP8_PERSISTENT");
    return !(want && strcmp(want, "0") == 0);
}

/* the consumers' turns, unless KBENCH_MOE_FP8_TURNS=0 turns them off */
static bool turns_on()
{
    static const char *const want = getenv("KBENCH_MOE_FP8_TURNS");
    return !(want && strcmp(want, "0") == 0);
}

/* KBENCH_MOE_FP8_TURNS_FROM=K (0-64): the consumers' turns start at each tile's k-tile K, each
 * issuing when ready before it (consume_promoted's turns_from), so consumer 0 can start a tile
 * under consumer 1's epilogue. Opt-in: on an H100 (2026-12-07, DeepSeek-V3's shape, with the TMA
 * stores) no faster: 2571.1 us from k-tile 3 against 2550.3, best samples 2563.9 from k-tile 1
 * against 2553.6-2555.7 (and 2567.8 without turns at all). */
static int turns_from()
{
    static const char *const want = getenv("KBENCH_MOE_FP8_TURNS_FROM");
    const int k = want ? atoi(want) : 0;
    return k < 0 ? 0 : k > 64 ? 64 : k;
}

/* the wide tile where n allows it, unless KBENCH_MOE_FP8_TILE=128 asks for the narrow one */
static bool wide_tile(int n)
{
    static const char *const want = getenv("KBENCH_MOE_FP8_TILE");
    return n % 256 == 0 && !(want && strcmp(want, "128") == 0);
}

/* KBENCH_MOE_FP8_CLUSTER=2: the wide tile's blocks in two-block clusters sharing B (each loads
 * half of it for both: for_each_tile, produce_stages), else blocks of their own. Opt-in: on an
 * H100 (2026-12-07, DeepSeek-V3's shape) it took 3330.8 us against the default's 3115-3120, with
 * the arrival on the other block's barrier at CTA scope (4818 us with a cluster-scope release,
 * which fenced every release of a stage). */
static int cluster_blocks(int n)
{
    static const char *const want = getenv("KBENCH_MOE_FP8_CLUSTER");
    return wide_tile(n) && want && strcmp(want, "2") == 0 ? 2 : 1;
}

/* KBENCH_MOE_FP8_A_REGS=1: the wide tile's consumers (blocks of their own) load their A
 * fragments of a k-tile into registers once and issue the RS form of the wgmma for both
 * 128-column halves (kb_wgring::consume_promoted's A_REGS), where by default each half reads A
 * from shared memory again: a k-tile's shared-memory traffic 144 → 128 KiB (TMA writes 48, B
 * reads 64, A reads 32 → 16). Opt-in: on an H100 (2026-12-07, DeepSeek-V3's shape, alternating
 * with the default in one lease) its up GEMM took 1822.1 / 1808.8 us against 1757.1 / 1748.7,
 * its down GEMM 1196.3 / 1169.5 against 1164.7 / 1161.1: the 16 registers and the ldmatrix
 * latency ahead of each k-tile's first wgmma cost more than the shared memory it spares, which
 * is not this loop's bound. */
static bool a_regs_on()
{
    static const char *const want = getenv("KBENCH_MOE_FP8_A_REGS");
    return want && strcmp(want, "1") == 0;
}

/* KBENCH_MOE_FP8_STAGED_STORE: 2 (unset) where MOE_EPI_BF16 (the down GEMM) stores its tile
 * through shared memory in 16-byte row segments (store_bf16_staged) and MOE_EPI_SWIGLU_FP8 (the up
 * GEMM) its h codes (store_h), 1 (`down`) the down GEMM alone, 0 (`0`) neither: four (bf16) or two
 * (codes) bytes a store from the accumulators. On an H100 (2026-12-07, DeepSeek-V3's shape, one
 * lease, CUPTI) the down GEMM took 918.4 us staged against 1088.8 / 1139.5; the staged codes are
 * verified there at tests/gpu.sh's odd sizes, not yet timed. */
static int staged_mode()
{
    static const char *const want = getenv("KBENCH_MOE_FP8_STAGED_STORE");
    return !want ? 2 : strcmp(want, "0") == 0 ? 0 : strcmp(want, "down") == 0 ? 1 : 2;
}

/* the down GEMM's rows of ldc bf16 staged: 16-byte rows need ldc % 8 == 0 */
static bool staged_store_on(long ldc) { return ldc % 8 == 0 && staged_mode() >= 1; }

/* the up GEMM's h codes staged (its ldc, f, is a multiple of 128) */
static bool staged_codes_on() { return staged_mode() == 2; }

/* The staged epilogues send each warp's 16 rows by a TMA store (send_staged) where the launcher
 * gave a store map, so the warp goes on to its next tile while the copy is under way, unless
 * KBENCH_MOE_FP8_TMA_STORE=0 has every lane store 16-byte pieces (lg throttle on an H100). On an
 * H100 (2026-12-07, DeepSeek-V3's shape, two leases alternating) the TMA stores' best samples were
 * 2539.7-2555.7 us against 2563.8-2621.7, their medians lower in all four pairs (2550.3 against
 * 2568.8 in the quieter lease): 1-2%. */
static bool tma_store_on()
{
    static const char *const want = getenv("KBENCH_MOE_FP8_TMA_STORE");
    return !(want && strcmp(want, "0") == 0);
}

/* the scale warp's copies by cp.async, the stage's arrival when they land (produce_scales),
 * unless KBENCH_MOE_FP8_SCALES_ASYNC=0 has it load them into registers and store them */
static bool scales_async_on()
{
    static const char *const want = getenv("KBENCH_MOE_FP8_SCALES_ASYNC");
    return !(want && strcmp(want, "0") == 0);
}

template <int EPI, int TN> cudaError_t launch(const struct moe_fp8_gemm *g, cudaStream_t st)
{
    const long ntn = g->n / TN, blocks = ntn * g->max_mtiles;
    if (blocks <= 0)
        return cudaSuccess;
    if (blocks > 0x7fffffffL)
        return cudaErrorInvalidConfiguration;
    CUtensorMap ma, mb, mc;
    memcpy(&ma, g->a->bytes, sizeof ma);
    memcpy(&mb, g->b->bytes, sizeof mb);
    memset(&mc, 0, sizeof mc);
    if (g->c_map)
        memcpy(&mc, g->c_map->bytes, sizeof mc);
    Args p;
    memset(&p, 0, sizeof p);
    p.n = g->n, p.ktiles = g->k / BK, p.groups = g->groups;
    p.group_off = g->group_off, p.mtile_start = g->mtile_start;
    p.sa = g->a_scale, p.lds = g->a_scale_ld, p.sb = g->b_scale;
    p.c = g->c, p.ldc = g->ldc;
    p.q = g->q, p.qs = g->q_scale, p.ldqs = g->q_scale_ld;
    p.turns = turns_on();
    p.turns_from = turns_from();
    p.cluster = cluster_blocks(g->n);
    p.scales_async = scales_async_on();
    p.staged = EPI == MOE_EPI_BF16 ? staged_store_on(g->ldc) : EPI == MOE_EPI_SWIGLU_FP8 && staged_codes_on();
    p.tma_store = p.staged && g->c_map && tma_store_on();
    /* persistent: one block an SM (the ring's shared memory allows no second), or as many
     * clusters as can be resident; max_mtiles bounds the row tiles from above, and blocks past
     * the last tile return at once */
    auto kernel = moe_fp8_wgmma<EPI, TN>;
    if constexpr (TN == 256) /* A in registers: the wide tile's form only, in blocks of their own */
        if (a_regs_on() && p.cluster == 1)
            kernel = moe_fp8_wgmma<EPI, TN, true>;
    return kb_gpu::launch_tile_grid(kernel, blocks, p.cluster, persistent_on(), THREADS, fp8_smem<TN>(), st, ma, mb, mc, p);
}

/* Both epilogues' kernels of a TN-column tile may use its ring's shared memory. */
template <int TN> cudaError_t raise_smem_limit()
{
    return kb_gpu::allow_dynamic_smem(fp8_smem<TN>(), moe_fp8_wgmma<MOE_EPI_BF16, TN>,
                                      moe_fp8_wgmma<MOE_EPI_SWIGLU, TN>);
}

/* h quantized in the up GEMM's epilogue where its tile is the wide one, unless
 * KBENCH_MOE_FP8_FUSED_QUANT=0 keeps the separate quantizer */
static bool fused_quant(int n)
{
    static const char *const want = getenv("KBENCH_MOE_FP8_FUSED_QUANT");
    return wide_tile(n) && !(want && strcmp(want, "0") == 0);
}

/* moe_fp8_store_map_new's map, its arguments checked: the boxes are a warp's staged rows, 16 of
 * 128 bytes (send_staged) */
CUresult encode_store_map(PFN_cuTensorMapEncodeTiled_v12000 fn, CUtensorMap *m, void *ptr, long rows, int cols,
                          int elem_bytes)
{
    return kb_tma::encode_2d_sw128(fn, m, elem_bytes == 2 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_UINT8,
                                   ptr, (uint64_t)rows, (uint64_t)cols, (uint64_t)cols * elem_bytes,
                                   (uint32_t)(STAGE_ROW_BYTES / elem_bytes), 16u);
}

} // namespace

extern "C" int moe_fp8_prepare(void)
{
    cudaError_t e = raise_smem_limit<128>();
    if (e == cudaSuccess)
        e = raise_smem_limit<256>();
    if (e == cudaSuccess)
        e = kb_gpu::allow_dynamic_smem(fp8_smem<256>(), moe_fp8_wgmma<MOE_EPI_SWIGLU_FP8, 256>,
                                       moe_fp8_wgmma<MOE_EPI_SWIGLU_FP8, 256, true>, moe_fp8_wgmma<MOE_EPI_BF16, 256, true>,
                                       moe_fp8_wgmma<MOE_EPI_SWIGLU, 256, true>);
    (void)kb_gpu::sm_count(); /* asked here, not in the first timed launch */
    return (int)e;
}

extern "C" int moe_fp8_map_new(struct moe_wg_map *map, const uint8_t *ptr, long rows, int cols, char *err,
                               size_t errlen)
{
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled_or_say(err, errlen);
    if (!fn)
        return KB_UNSUPPORTED;
    if (rows < 1 || cols < MOE_FP8_BLOCK || cols % MOE_FP8_BLOCK) {
        snprintf(err, errlen, "tensor map of %ld × %d e4m3: rows must be ≥ 1, columns a multiple of %d", rows, cols,
                 MOE_FP8_BLOCK);
        return KB_ERROR;
    }
    /* the A boxes are BM rows, the B boxes BN: both 128 */
    CUtensorMap m;
    CUresult r = kb_tma::encode_2d_sw128(fn, &m, CU_TENSOR_MAP_DATA_TYPE_UINT8, ptr, (uint64_t)rows, (uint64_t)cols,
                                         (uint64_t)cols, (uint32_t)BK, (uint32_t)BM);
    if (r != CUDA_SUCCESS) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled (%ld rows of %d e4m3): CUresult %d", rows, cols, (int)r);
        return KB_ERROR;
    }
    memcpy(map->bytes, &m, sizeof m);
    return KB_OK;
}

extern "C" int moe_fp8_store_map_new(struct moe_wg_map *map, void *ptr, long rows, int cols, int elem_bytes, char *err,
                                     size_t errlen)
{
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled_or_say(err, errlen);
    if (!fn)
        return KB_UNSUPPORTED;
    const int box_cols = STAGE_ROW_BYTES / (elem_bytes > 0 ? elem_bytes : 1);
    if (rows < 1 || (elem_bytes != 1 && elem_bytes != 2) || cols < box_cols || (long)cols * elem_bytes % 16) {
        snprintf(err, errlen, "store map of %ld × %d elements of %d bytes: rows ≥ 1, 1- or 2-byte elements, rows of at "
                 "least %d bytes and a multiple of 16", rows, cols, elem_bytes, STAGE_ROW_BYTES);
        return KB_ERROR;
    }
    CUtensorMap m;
    CUresult r = encode_store_map(fn, &m, ptr, rows, cols, elem_bytes);
    if (r != CUDA_SUCCESS) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled (store map, %ld rows of %d elements): CUresult %d", rows, cols, (int)r);
        return KB_ERROR;
    }
    memcpy(map->bytes, &m, sizeof m);
    return KB_OK;
}

extern "C" int moe_fp8_gemm_launch(const struct moe_fp8_gemm *g, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (g->k % BK || g->k < BK || g->n % BN || g->n < BN || g->ldc % 2 || g->groups < 1 || g->a_scale_ld < 1)
        return (int)cudaErrorInvalidValue;
    const bool wide = wide_tile(g->n);
    switch (g->epilogue) {
    case MOE_EPI_BF16: return (int)(wide ? launch<MOE_EPI_BF16, 256>(g, st) : launch<MOE_EPI_BF16, 128>(g, st));
    case MOE_EPI_SWIGLU: return (int)(wide ? launch<MOE_EPI_SWIGLU, 256>(g, st) : launch<MOE_EPI_SWIGLU, 128>(g, st));
    case MOE_EPI_SWIGLU_FP8:
        if (!fused_quant(g->n) || !g->q || !g->q_scale || g->q_scale_ld < 1)
            return (int)cudaErrorInvalidValue;
        return (int)launch<MOE_EPI_SWIGLU_FP8, 256>(g, st);
    default: break; /* the router's and the layer's: not built here */
    }
    return (int)cudaErrorInvalidValue;
}

extern "C" int moe_fp8_tile_columns(int n) { return wide_tile(n) ? 256 : BN; }

extern "C" int moe_fp8_turns(void) { return turns_on(); }

extern "C" int moe_fp8_turns_from(void) { return turns_on() ? turns_from() : 0; }

extern "C" int moe_fp8_a_regs(int n) { return wide_tile(n) && cluster_blocks(n) == 1 && a_regs_on() ? 1 : 0; }

extern "C" int moe_fp8_persistent(void) { return persistent_on(); }

extern "C" int moe_fp8_cluster(int n) { return cluster_blocks(n); }

extern "C" int moe_fp8_fused_quant(int n) { return fused_quant(n); }

extern "C" int moe_fp8_scales_async(void) { return scales_async_on(); }

extern "C" int moe_fp8_staged_store(long ldc) { return staged_store_on(ldc); }

extern "C" int moe_fp8_staged_codes(int n) { return fused_quant(n) && staged_codes_on(); }

extern "C" int moe_fp8_tma_store(void) { return tma_store_on(); }

extern "C" int moe_fp8_quantize_launch(const uint16_t *x, long ld, int rows, uint8_t *q, float *scale, void *stream)
{
    if (ld % MOE_FP8_BLOCK || ld < MOE_FP8_BLOCK || rows < 0)
        return (int)cudaErrorInvalidValue;
    const long warps = (long)rows * (ld / MOE_FP8_BLOCK);
    if (warps == 0)
        return (int)cudaSuccess;
    const int threads = 256;
    const long grid = (warps * 32 + threads - 1) / threads;
    if (grid > 0x7fffffffL)
        return (int)cudaErrorInvalidConfiguration;
    moe_fp8_quantize<<<(unsigned)grid, threads, 0, (cudaStream_t)stream>>>(x, ld, rows, q, scale);
    return (int)cudaGetLastError();
}
