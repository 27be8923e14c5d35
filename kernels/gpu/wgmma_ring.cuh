/* wgmma_ring.cuh - the main loop of kbench's Hopper GEMMs (quant/gemm_wgmma.cu: INT8 and FP8;
 * moe/moe_gemm_wgmma.cu: the grouped bf16 MoE GEMM; moe/moe_fp8_wgmma.cu: the grouped FP8 one, with
 * its own Layout and consume_promoted below): a 128 × 256 output tile per block of three
 * warpgroups. Warpgroup 0 is the producer: it gives its registers away and one of its threads
 * streams k-tiles of A (128 rows) and B (256 rows), each row 128 bytes of k, through TMA into a
 * 4-stage ring (tma.cuh's full/empty mbarriers). Warpgroups 1 and 2 are the consumers, 64 output
 * rows each: per stage they issue the wgmma k-steps the caller's instruction takes (a step reads
 * 32 bytes further into the 128-byte swizzled rows), commit, and release the previous stage once
 * its products are done. What differs between the GEMMs (element type, instruction, which rows a
 * block loads, the epilogue) stays in the kernels. Include only from code built for sm_90a. */
#ifndef KB_WGMMA_RING_CUH
#define KB_WGMMA_RING_CUH

#include <cuda.h>
#include <stdint.h>

#include "kernels/gpu/ptx.cuh"
#include "kernels/gpu/tma.cuh"
#include "kernels/gpu/wgmma.cuh"

namespace kb_wgring {

constexpr int BM = 128, BN = 256; /* output tile */
constexpr int ROW_BYTES = 128;    /* k bytes of a stage's row: one 128-byte swizzle row */
constexpr int STAGES = 4;         /* 4 × 48 KiB: as deep as 227 KiB of shared memory allows */
constexpr int CONSUMERS = 2;      /* warpgroups of 64 rows each */
constexpr int THREADS = 128 * (1 + CONSUMERS);
constexpr int A_BYTES = BM * ROW_BYTES, B_BYTES = BN * ROW_BYTES, STAGE_BYTES = A_BYTES + B_BYTES;
/* +1024: the stages are aligned up to 1024 bytes; then a full and an empty barrier per stage */
constexpr int SMEM = 1024 + STAGES * STAGE_BYTES + 2 * STAGES * 8;

/* The ring's geometry: B_ROWS rows of B per stage (the output tile's columns), NSTAGES stages.
 * Wide is the 128 × 256 tile above (the default of every function below); the block-scaled FP8
 * MoE GEMM (moe_fp8_wgmma.cu) uses Layout<128, 6>: its two-level accumulation needs two sets of
 * accumulators, which only a 64 × 128 consumer tile leaves registers for. */
template <int B_ROWS, int NSTAGES> struct Layout {
    static constexpr int B_TILE = B_ROWS, STAGES = NSTAGES;
    static constexpr int B_BYTES = B_ROWS * ROW_BYTES, STAGE_BYTES = A_BYTES + B_BYTES;
    static constexpr int SMEM = 1024 + STAGES * STAGE_BYTES + 2 * STAGES * 8;
    static_assert(STAGE_BYTES % 1024 == 0 && B_ROWS <= 256, "1024-byte aligned stages, at most 256 rows of B");
    static_assert(SMEM <= 227 * 1024, "shared memory of one H100 block");
};
using Wide = Layout<BN, STAGES>;
static_assert(Wide::SMEM == SMEM && Wide::STAGE_BYTES == STAGE_BYTES, "the default layout is the constants above");
/* registers a thread: producer 40, consumers 232 (the 128 accumulators and addresses); the
 * block's 384 threads then fit one SM's 64K registers */
constexpr int PRODUCER_REGS = 40, CONSUMER_REGS = 232;
static_assert(BM == 64 * CONSUMERS, "one m64 wgmma row block per consumer warpgroup");
static_assert(STAGE_BYTES % 1024 == 0 && A_BYTES % 1024 == 0, "1024-byte aligned swizzle atoms");
static_assert(SMEM <= 227 * 1024, "shared memory of one H100 block");

/* A K-major operand tile in the 128B-swizzle layout: 8-row groups 1024 bytes apart (SBO); the
 * leading offset is unused for swizzled K-major layouts (16 by convention). */
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr) { return kb_wgmma::desc_sw128(addr, 16, 1024); }

struct Ring {
    uint32_t base, full0, empty0; /* the stages, then the full and the empty barriers */
};

/* The addresses of the ring in the block's dynamic shared memory (cheap: a kernel may recompute
 * them rather than keep them in registers). */
template <class L = Wide> __device__ __forceinline__ Ring ring_at(unsigned char *smem_raw)
{
    Ring r;
    r.base = (kb_ptx::smem_u32(smem_raw) + 1023u) & ~1023u;
    r.full0 = r.base + L::STAGES * L::STAGE_BYTES;
    r.empty0 = r.full0 + 8 * L::STAGES;
    return r;
}

/* The ring in the block's dynamic shared memory, its barriers initialised (every thread calls
 * it; it ends in __syncthreads). full_arrivals: the arrivals that fill a stage besides its bytes,
 * 1 (the producer's expect_tx) unless other producer threads also write the stage;
 * empty_arrivals: the consumer warps that release a stage, twice as many where the stages of a
 * two-block cluster share their B (produce_stages' shared_box). */
template <class L = Wide>
__device__ __forceinline__ Ring ring_init(unsigned char *smem_raw, int full_arrivals = 1, int empty_arrivals = CONSUMERS * 4)
{
    const Ring r = ring_at<L>(smem_raw);
    if (threadIdx.x == 0) {
        for (int s = 0; s < L::STAGES; s++) {
            kb_tma::mbar_init(r.full0 + 8 * s, full_arrivals);
            kb_tma::mbar_init(r.empty0 + 8 * s, empty_arrivals); /* lane 0 of every consumer warp */
        }
        kb_tma::fence_barrier_init();
    }
    __syncthreads();
    return r;
}

/* The shared-memory address just past the ring's barriers, where a kernel may keep per-stage
 * data of its own (the FP8 MoE GEMM's block scales): 16-byte aligned, as the stages are 1024-byte
 * aligned and each has 16 bytes of barriers. */
template <class L = Wide> __device__ __forceinline__ uint32_t ring_end(const Ring &r) { return r.empty0 + 8 * L::STAGES; }

/* One thread of warpgroup 0: k-tile kt of A's rows from a_row (map_a) and of B's from b_row
 * (map_b) into the ring's use u0 + kt (stage (u0 + kt) % STAGES), k_per_tile elements (128 bytes)
 * along k per tile. u0: the ring's uses by the block's earlier output tiles (0 for the first), so
 * a persistent block's stages and phases run on from tile to tile. B_BOX: the rows of map_b's
 * box, B_TILE / B_BOX loads of it a stage (the FP8 MoE GEMM's 256-row tiles from 128-row boxes).
 * shared_box >= 0: this block and the other of its two-block cluster compute tiles of the same
 * B, so this block loads only box shared_box of B, multicast to both at its place in the stage,
 * and the other block the other box (a stage then takes its bytes from both blocks; its empty
 * barrier must count both blocks' consumers, which consume_promoted's peer_empty0 gives it). */
template <class L = Wide, int B_BOX = L::B_TILE>
__device__ __forceinline__ void produce_stages(const Ring &r, const CUtensorMap *map_a, int a_row,
                                               const CUtensorMap *map_b, int b_row, int ktiles, int k_per_tile, int u0,
                                               int shared_box = -1)
{
    for (int kt = 0; kt < ktiles; kt++) {
        const int u = u0 + kt, s = u % L::STAGES;
        if (u >= L::STAGES) /* the consumers released this stage's previous use, u − STAGES */
            kb_tma::mbar_wait(r.empty0 + 8 * s, (uint32_t)((u / L::STAGES - 1) & 1));
        const uint32_t sa = r.base + s * L::STAGE_BYTES, full = r.full0 + 8 * s;
        kb_tma::mbar_expect_tx(full, L::STAGE_BYTES); /* whole boxes, zero-filled parts included */
        kb_tma::load_2d(sa, map_a, kt * k_per_tile, a_row, full);
        if (shared_box >= 0) {
            kb_tma::load_2d_multicast(sa + A_BYTES + shared_box * B_BOX * ROW_BYTES, map_b, kt * k_per_tile,
                                      b_row + shared_box * B_BOX, full, 0x3);
            continue;
        }
#pragma unroll
        for (int bb = 0; bb < L::B_TILE / B_BOX; bb++)
            kb_tma::load_2d(sa + A_BYTES + bb * B_BOX * ROW_BYTES, map_b, kt * k_per_tile, b_row + bb * B_BOX, full);
    }
}

/* Warpgroup 0 of a block with one output tile: gives its registers away, and one thread streams
 * the tile's k-tiles (produce_stages from the ring's first use). */
template <class L = Wide, int B_BOX = L::B_TILE>
__device__ __forceinline__ void produce(const Ring &r, const CUtensorMap *map_a, int a_row, const CUtensorMap *map_b,
                                        int b_row, int ktiles, int k_per_tile)
{
    kb_tma::regs_dec<PRODUCER_REGS>();
    if (threadIdx.x != 0)
        return;
    kb_tma::prefetch_map(map_a);
    kb_tma::prefetch_map(map_b);
    produce_stages<L, B_BOX>(r, map_a, a_row, map_b, b_row, ktiles, k_per_tile, 0);
}

/* The release of stage s by a consumer warp (its lane 0): an arrival on the stage's empty
 * barrier, and with peer_empty0 (a shared::cluster address, kb_tma::mapa: the other block's empty
 * barriers in a two-block cluster whose stages take bytes from both blocks) on the other block's
 * too. */
__device__ __forceinline__ void release_stage(const Ring &r, int s, uint32_t peer_empty0)
{
    kb_tma::mbar_arrive(r.empty0 + 8 * s);
    if (peer_empty0)
        kb_tma::mbar_arrive_cluster(peer_empty0 + 8 * s);
}

/* An idle consumer warp's part in stage s, once it is full: its release, by lane 0 after every
 * lane has passed the full barrier's wait (a lane left behind would wait for a phase the barrier
 * has already gone past twice). The release comes only after the fill: an earlier arrival would
 * count towards the other consumer's release of the stage's previous use. */
__device__ __forceinline__ void pass_stage(const Ring &r, int s, uint32_t peer_empty0)
{
    __syncwarp();
    if (threadIdx.x % 32 == 0)
        release_stage(r, s, peer_empty0);
}

/* Consumer c (0 or 1, its registers raised to CONSUMER_REGS by the caller) of one output tile:
 * d (its 64 × 256 accumulators, zeroed here) += its A rows · B over k-tiles kt = 0..ktiles − 1,
 * the ring's uses u0 + kt (produce_stages' count, running on from the block's earlier tiles),
 * STEPS calls of mma(d, desc_a, desc_b) per stage, each 32 bytes further along k. Two k-tiles'
 * products are in flight: a stage is released once the next one's are issued and its own are
 * done, and the last once all are, so the producer may fill the ring with the next tile's
 * k-tiles while the caller stores this one. A consumer whose rows all lie past the tile's last
 * real row (active false: a group's tail tile of 64 rows or fewer) computes nothing and only
 * releases each stage once it was filled (an arrival before the fill would count towards the
 * other consumer's release of the stage's previous use), leaving the tensor cores to the other.
 * peer_empty0: release_stage's. */
template <int STEPS, class L = Wide, class Acc, class Mma>
__device__ __forceinline__ void consume_stages(const Ring &r, int c, int ktiles, int u0, bool active,
                                               uint32_t peer_empty0, Acc (&d)[128], Mma mma)
{
    static_assert(STEPS * 32 == ROW_BYTES, "the k-steps of a stage cover its 128-byte rows");
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int i = 0; i < 128; i++)
        d[i] = 0;
    kb_wgmma::pin(d);
    for (int kt = 0; kt < ktiles; kt++) {
        const int u = u0 + kt, s = u % L::STAGES;
        kb_tma::mbar_wait(r.full0 + 8 * s, (uint32_t)((u / L::STAGES) & 1));
        if (!active) {
            pass_stage(r, s, peer_empty0);
            continue;
        }
        const uint32_t sa = r.base + s * L::STAGE_BYTES + c * 64 * ROW_BYTES, sb = r.base + s * L::STAGE_BYTES + A_BYTES;
        kb_wgmma::fence();
#pragma unroll
        for (int kk = 0; kk < STEPS; kk++)
            mma(d, smem_desc(sa + 32 * kk), smem_desc(sb + 32 * kk));
        kb_wgmma::commit();
        kb_wgmma::wait<1>(); /* use u − 1's products are done: its stage may be refilled */
        if (kt > 0 && lane == 0)
            release_stage(r, (u - 1) % L::STAGES, peer_empty0);
    }
    /* also where nothing was issued (!active): on a path without the wait, ptxas assumes the
     * accumulators may still be written by a wgmma and serializes every wgmma of the kernel */
    kb_wgmma::wait<0>();
    kb_wgmma::pin(d);
    if (active && ktiles > 0 && lane == 0)
        release_stage(r, (u0 + ktiles - 1) % L::STAGES, peer_empty0);
}

/* Consumer c of a block with one output tile (the ring's uses from 0): raises its registers to
 * CONSUMER_REGS, then consume_stages. */
template <int STEPS, class Acc, class Mma>
__device__ __forceinline__ void consume(const Ring &r, int c, int ktiles, Acc (&d)[128], Mma mma)
{
    kb_tma::regs_inc<CONSUMER_REGS>();
    consume_stages<STEPS>(r, c, ktiles, 0, true, 0u, d, mma);
}

/* Consumer c's A fragments of a stage (its 64 rows of the 128 × 128-byte A tile at a_tile,
 * 128B-swizzled: 16-byte chunk j of row r at chunk j ^ (r % 8)) for STEPS 32-byte k-steps, in
 * the register layout of an 8-bit wgmma A operand: warp w's rows 16w + g and 16w + g + 8 (g =
 * lane / 4), bytes 4t..4t+3 (t = lane % 4) of the step's first 16 and of its second 16, in
 * a[kk][0..3] as rows (g, g + 8) × halves (first, second). That is the byte layout ldmatrix.x4
 * gives for 16-bit matrices (lane i naming row i % 8 of matrix i / 8): matrix 0 rows 0-7 and 1
 * rows 8-15 of the first 16 bytes, 2 and 3 of the second. */
template <int STEPS>
__device__ __forceinline__ void load_a_frags(uint32_t a_tile, int c, uint32_t (&a)[STEPS][4])
{
    const int lane = threadIdx.x % 32, w = (threadIdx.x / 32) % 4, m = lane / 8;
    const int row = c * 64 + w * 16 + (m & 1) * 8 + lane % 8; /* row % 8 = lane % 8 */
    const uint32_t row_addr = a_tile + (uint32_t)row * ROW_BYTES;
#pragma unroll
    for (int kk = 0; kk < STEPS; kk++)
        kb_ptx::ldsm_x4(a[kk], row_addr + (uint32_t)(((2 * kk + (m >> 1)) ^ (lane % 8)) << 4));
}

/* Consumer c (its registers raised to CONSUMER_REGS by the caller) with two-level accumulation
 * (DeepSeek-V3's FP8 recipe: the tensor cores' FP8 sums keep fewer bits than f32, so each
 * k-tile's partial sum is promoted into f32 accumulators the caller holds, scaled per k-block).
 * k-tile kt is the ring's use u0 + kt (produce_stages' count). Per k-tile kt and 128-column half
 * h of the stage's B rows (L::B_TILE / 128 of them): STEPS calls of mma(part, desc_a, desc_b,
 * accumulate) into part (the first overwrites it: accumulate 0), each 32 bytes further along k;
 * scales = load(kt, s) once stage s is full (the k-tile's scales, which the producer put beside
 * the stage: read here, before the stage is released); once the products are done
 * promote(part, scales, h) folds part into the caller's accumulators of half h, and after the
 * last half the stage is released. One part of 64 columns serves both halves of a 256-column
 * tile, which is what lets that tile's 128 promoted accumulators fit beside it: the tile loads
 * 384 bytes of A and B a k for 2·128·256 products where a 128 × 128 tile loads 256 for half as
 * many, and the FP8 GEMM at 128 × 128 is bound by L2 → shared-memory bandwidth.
 * A consumer waits for its products before it promotes them, and its tensor work stops
 * meanwhile. With turns (both consumers active), the two take turns to issue (ping-pong, as
 * FlashAttention-3 schedules its softmax): named barrier 1 + c is consumer c's turn, passed to the
 * other once its wgmmas of a half are issued. Their products then run back to back on the tensor
 * cores, each consumer's promotion under the other's products; without turns both tend to issue
 * together and promote together, the tensor cores idle for the length of a promotion (64 FFMA a
 * thread a half). Consumer 1 gives consumer 0 the first turn of every tile with turns, and
 * passes none after its tile's last issue, so each tile's turns start and end balanced.
 * turns_from: the turns start at that k-tile (consumer 1's first pass there), each consumer
 * issuing when ready before it, so that consumer 0, done with its epilogue, need not wait for
 * consumer 1's before its first products of the tile (the ring lets it run up to its depth ahead;
 * no faster in the FP8 MoE on an H100, so 0 there by default).
 * (Carrying consumer 1's last pass over to consumer 0's first turn of the next tile, so consumer
 * 0 need not wait for consumer 1's epilogue, was no faster on an H100 (2026-12-07, DeepSeek-V3's
 * shape), and it raced: consumer 1, idle in a tail tile of few k-tiles, could pass twice before
 * consumer 0 took the first. Removed.)
 * A consumer whose rows are all past the block's last real row
 * (active false: a group's tail tile of 64 rows or fewer) computes nothing and only releases each
 * stage after it was filled (an arrival before the fill would count towards the other
 * consumer's release of the stage's previous use), so the other has the tensor cores alone;
 * turns must then be false. peer_empty0: release_stage's (0 in a block of its own).
 * A_REGS: the consumer loads its A fragments of the k-tile into registers once (load_a_frags)
 * and the mma takes them (mma(part, a[kk], desc_b, accumulate): the RS form), where by default
 * both halves' wgmmas read A from shared memory: 8 KiB a consumer a k-tile less shared-memory
 * traffic, 16 registers more. */
template <int STEPS, class L, bool A_REGS = false, class Part, class Mma, class Load, class Promote>
__device__ __forceinline__ void consume_promoted(const Ring &r, int c, int ktiles, int u0, bool active, bool turns,
                                                 int turns_from, uint32_t peer_empty0, Part &part,
                                                 Mma mma, Load load, Promote promote)
{
    static_assert(STEPS * 32 == ROW_BYTES, "the k-steps of a stage cover its 128-byte rows");
    static_assert(L::B_TILE % 128 == 0, "whole 128-column halves");
    static_assert(CONSUMERS == 2, "turns pass between two consumers");
    constexpr int TURN_THREADS = 128 * CONSUMERS;
    const int lane = threadIdx.x % 32;
    /* the barrier id from c, not a branch per consumer with a constant id: on the H100 each
     * branch's bar.sync came with a WARPSYNC of its own, 20 instructions a k-tile, 12% of the
     * loop's stall samples with the BARs */
    auto wait_turn = [&](int kt) {
        if (turns && kt >= turns_from)
            kb_tma::bar_sync(1 + c, TURN_THREADS);
    };
    auto pass_turn = [&](int kt) {
        if (turns && kt >= turns_from)
            kb_tma::bar_arrive(2 - c, TURN_THREADS);
    };
    /* stage 0's descriptors of this consumer's A rows and of B: a start address below 256 KiB
     * (/ 16: 14 bits) leaves the low word's upper bits to the leading byte offset, which the
     * additions below never reach */
    const uint64_t d0a = smem_desc(r.base + c * 64 * ROW_BYTES), d0b = smem_desc(r.base + A_BYTES);
    const uint64_t hi = d0a & ~0xFFFFFFFFull;
    const uint32_t a_lo = (uint32_t)d0a, b_lo = (uint32_t)d0b;
    for (int kt = 0; kt < ktiles; kt++) {
        const int u = u0 + kt, s = u % L::STAGES; /* the ring's use, as produce_stages counts them */
        kb_tma::mbar_wait(r.full0 + 8 * s, (uint32_t)((u / L::STAGES) & 1));
        if (!active) {
            pass_stage(r, s, peer_empty0);
            continue;
        }
        /* the operands' descriptors differ only in their low words (the start address / 16):
         * the stage's, then 2 a 32-byte k-step; the high word (stride, swizzle) is one constant */
        const uint32_t stage16 = (uint32_t)(s * (L::STAGE_BYTES / 16));
        const uint32_t da = a_lo + stage16, db = b_lo + stage16;
        if (turns && kt == turns_from && c == 1)
            kb_tma::bar_arrive(1, TURN_THREADS); /* consumer 0 goes first */
        const auto scales = load(kt, s);
        uint32_t afrag[A_REGS ? STEPS : 1][4];
        if constexpr (A_REGS) /* once for both halves: the SS form reads A from shared memory for each */
            load_a_frags<STEPS>(r.base + s * L::STAGE_BYTES, c, afrag);
#pragma unroll
        for (int h = 0; h < L::B_TILE / 128; h++) {
            const uint32_t dbh = db + (uint32_t)(h * 128 * ROW_BYTES / 16);
            kb_wgmma::pin(part);
            wait_turn(kt);
            kb_wgmma::fence(); /* part was read by the last promotion */
#pragma unroll
            for (int kk = 0; kk < STEPS; kk++)
                if constexpr (A_REGS)
                    mma(part, afrag[kk], hi | (dbh + 2 * kk), kk > 0);
                else
                    mma(part, hi | (da + 2 * kk), hi | (dbh + 2 * kk), kk > 0);
            kb_wgmma::commit();
            if (c == 0 || kt + 1 < ktiles || h + 1 < L::B_TILE / 128)
                pass_turn(kt);
            kb_wgmma::wait<0>();
            kb_wgmma::pin(part);
            if (h == L::B_TILE / 128 - 1 && lane == 0) /* this k-tile's products are done: its stage may be refilled */
                release_stage(r, s, peer_empty0);
            promote(part, scales, h);
        }
    }
}

} // namespace kb_wgring

#endif
