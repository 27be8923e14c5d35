/* flash_wgmma_ws.cu - the device code of attention.flash@cuda.wgmma-ws: FlashAttention's forward
 * pass on Hopper (sm_90a only) scheduled as FlashAttention-3 showed (Shah et al., 2024): warp
 * specialization, a TMA ring, ping-pong between consumer warpgroups, and Q·Kᵀ of the next tile
 * issued before the softmax of this one. Head_dim 256, 128 or 64, f16/bf16 in, f32 accumulate.
 *
 * Why a third flash: flash_wgmma.cu loads with cp.async from all 256 threads and runs both
 * warpgroups in lock-step (a block-wide barrier per tile), so while they compute the softmax the
 * tensor cores idle (CUPTI: the tensor pipe 38.5% busy at N = 16k). Here the copies cost no
 * consumer instructions, and the two consumers are kept out of phase so one's softmax overlaps
 * the other's matrix products.
 *
 * The schedule below (layout, rings, producer, ping-pong consumers) is code of flash_ws.cuh,
 * shared with attention.int8@cuda.wgmma-ws (int8_wgmma_ws.cu); this file gives it S = Q·Kᵀ in
 * f16/bf16 (Scores16). Everything per tile is flash_wgmma's, through flash_wgmma.cuh: the
 * 128B-swizzled tiles (a 128-row × 128-column 16-bit tile is two column blocks of 64, 16 KiB
 * each), the descriptors,
 * the wgmma m64n128k16 instructions (S = Q·Kᵀ with both operands in shared memory, O += P·V
 * with P from registers and V MN-major), the masks, the online softmax, the output store. Only
 * who loads and when is new. Head_dim 64 (template DH) is the same with one column block per
 * tile, four k-steps for S and P·V on m64n64k16 (32 O accumulators). Head_dim 256 (template
 * DH, as FlashAttention-3 does it with narrower key tiles): its O alone is 128 registers a
 * thread, and with S and P of 128-key tiles (96 more) a consumer would need more than 232, so
 * its K and V tiles are 64 keys (flash_ws.cuh's WsLayout KEYS; boxes of 64 rows × 64 columns):
 * S is m64n64k16 (32 accumulators, 16 k-steps over Q's four column blocks), P 16 registers of
 * four k-steps, P·V m64n256k16 with P from registers (one wgmma spans all four V column blocks,
 * the leading offset 8 KiB). Live across the wgmmas: 128 + 32 + 16 = 176 registers a thread.
 * The masks, the online softmax and the P packing take the tile width from S's array size.
 * The causal diagonal then falls inside a 128-row query block: in its last key tile consumer 0's
 * rows see no key (all −inf, P = 0, α = 1), a wasted half tile FA3 would skip.
 *
 * A block is 3 warpgroups (384 threads) and owns 128 query rows of one (batch, head):
 *   warpgroup 0, producer: gives registers away (setmaxnreg.dec 40); one thread issues TMA loads
 *     through 3D tensor maps ({d, N, batch·heads}: rows past N are zero-filled and still counted
 *     in the transaction bytes): Q once (two 64-column boxes of 128 rows), then K_0, and for
 *     j = 1.. the pair K_j, V_{j−1} (the order the consumers use them), then the last V. K and
 *     V each have a STAGES-deep ring; every stage has a full mbarrier (expect_tx + TMA) and an
 *     empty one (count 8: lane 0 of every consumer warp). Use u of a stage has parity u & 1.
 *   warpgroups 1 and 2, consumers (setmaxnreg.inc 232): each owns 64 query rows (the m64 of one
 *     wgmma; 64 f32 accumulators of S and 64 of O a thread, plus P packed in 32). Per tile j:
 *       wait K_j, V_{j−1} full; named barrier "my turn"
 *       issue S_j = Q·K_jᵀ (one wgmma group), issue O += P_{j−1}·V_{j−1} (a second group)
 *       named barrier "your turn" to the other consumer
 *       wait_group 1 (S_j done): release K_j; mask and softmax of S_j (m, l, α; O untouched)
 *       wait_group 0 (P·V done): release V_{j−1}; O *= α; P_j packed for the next iteration
 *     Tile 0 issues S_0 alone and the last P·V is issued after the loop (also in turn).
 *   Ping-pong: named barrier 1 + c is consumer c's turn to issue (bar.sync by it, bar.arrive by
 *   the other, 256 threads). Consumer 1 arrives on consumer 0's barrier once at the start, so
 *   consumer 0 issues first; each then syncs on its own barrier before issuing and arrives on the
 *   other's after, consumer 1 skipping its arrive after the final P·V so that every arrive has a
 *   matching sync (n_tiles + 1 turns each). While one consumer's wgmmas run, the other does its
 *   softmax, so the tensor cores see back-to-back groups.
 * Why 2 consumers of 64 rows, not 3 (FA3's choice for d = 128 too): a consumer thread holds S,
 * O and P of its rows, 160 registers live across the wgmmas before any address or softmax
 * state. With 3 consumers a block is 512 threads, and after the producer's minimum (24) a
 * consumer can get at most (65536 − 128·24) / 384 = 162 registers: it would spill. Giving one
 * warpgroup 128 rows instead doubles S and O (two m64 row blocks): 288 registers.
 * Head_dim 64 is different: O is 32 registers, S, O and P 128, so three consumers fit in 160
 * (FA3's tile for d = 64: 192 query rows, 512 threads, setmaxnreg 24/160), and there the third
 * softmax matters most: a d-64 tile's matrix products are half a d-128 tile's and its softmax the
 * same (the Q map's boxes are then 192 rows; the turns go 0 → 1 → 2 → 0 on named barriers 1-3).
 * It is the non-causal default: on an H100 (2026-12-07, bf16, 16 heads, one lease, against
 * cuDNN through PyTorch) three consumers ran batch 4 × N 4k in 570.5 and 564.9 us against two's
 * 641.7 and 648.2 and cuDNN's 579.2 and 576.0 (1.01-1.02x cuDNN), and batch 8 × N 2k in 314.0
 * against 351.9 and cuDNN's 300.6 (0.96x). Causal, three were no better (371.5 / 223.4 us
 * against two's 377.8 / 219.6), so two stayed its default; d 64 causal now runs the persistent
 * kernel (two consumers by default, below). KBENCH_FLASH_WS_D64_CONSUMERS=2 or 3 forces either,
 * in either kernel (the persistent one on three: written after the nineteenth session's lease,
 * not yet timed).
 * Head_dim 128 with 176-key tiles (KBENCH_FLASH_WS_KEYS=176, FlashAttention-3's non-causal tile):
 * a tile's fixed costs (its barrier waits, the wgmma group waits, O's rescale: 64 multiplies a
 * thread) spread over 176 keys instead of 128; S is m64n176k16 (88 accumulators), P 11 k-steps
 * (44 registers), 196 live across the wgmmas with O, and K and V stages of 176 rows × 256 bytes
 * (shared memory 214 KiB). Opt-in: on an H100 (2026-12-07, batch 8, 16 heads, N 2k, bf16) it ran
 * in 463.4 / 311.5 us (non-causal / causal) against 128-key tiles' 460.7 / 290.3: no gain.
 * Why 2 stages: K and V have their own rings, so a 2-deep ring already lets the producer run a
 * whole tile ahead of both consumers; 3 stages would also fit (224 KiB with Q) and is one
 * constant.
 *
 * Block order, causal: a causal query block's cost grows with its index, and one block an SM
 * takes the next block in index order when one ends. Numbered a plane at a time (heaviest first
 * within each), the last planes' heaviest blocks start near the end and run on alone; with
 * sections the grid is instead one dimension in sections of planes whose K and V share L2, every
 * plane's heaviest block first (flash_ws.cuh's ws_grid: a greedy list-schedule model put the old
 * order's tail at 7% of the work at batch 4, 16 heads, N 4k and 13% at N 2k, this one's at
 * 1-2%). On an H100 (2026-12-08, one lease) the sections were 1-3% faster at d 64 and 128 and
 * 3.7% at d 256: the default where the kernel is not persistent (KBENCH_FLASH_WS_SECTIONS=0
 * restores the plane order; counter flash_ws.sections).
 *
 * Persistent form (flash_wgmma_ws_persistent; FlashAttention-3's scheduler for short sequences,
 * where each 128-row block of few key tiles pays its own prologue and epilogue): a grid of
 * min(#SMs, work tiles) blocks, block i running work tiles i, i + grid, ... of all (query
 * block, head, batch) (causal: claimed from a counter instead, flash_ws.cuh's DYNAMIC), in
 * sections of (batch, head) planes whose K and V fit in a third of L2, query blocks (causal:
 * heaviest first) slowest within a section (flash_ws.cuh's persistent_tile; numbering all
 * planes' heaviest block first had every plane's K and V in flight at once, re-read from DRAM by
 * each query block). The producer loads the next tile's Q once the consumers released the last
 * (q_empty: count 8, arrived after their last S), then its K/V, while the consumers still finish
 * the previous tile's last P·V and store O; the K/V rings' uses (stage u % STAGES, parity
 * (u / STAGES) & 1) count on across tiles, the last V of a tile is released too, and the
 * ping-pong turns start over per tile. The same template (ws_attention's PERSISTENT), so the
 * non-persistent kernels' PTX is unchanged. With the TMA stores (from a staging tile of its own),
 * the lazy rescale and the claimed causal tiles it is the default at d 128 and at d 64 causal
 * (persistent_for): on an H100 (2026-12-08, bf16, 16 heads, one lease, batch 4/8 × N 2k/4k,
 * against the one-block-a-tile kernel and cuDNN) 13-18% faster at d 64 causal (0.94-0.99x
 * cuDNN), 10-18% at d 128 causal (1.06-1.14x), 5-10% at d 128 non-causal (0.97-1.04x). d 64
 * non-causal keeps three consumers (two in the persistent kernel: level at batch 8 × N 2k) and
 * d 256 its register stores' kernel. KBENCH_FLASH_WS_PERSISTENT=1 or 0 forces it everywhere or
 * nowhere.
 *
 * Output: each consumer warp stages its 16 rows of O / l in 16 bits in its rows of the Q tile
 * (free once its last S is done; 128B-swizzled, the O map's layout) and one lane stores the
 * boxes with TMA (flash_ws.cuh's map_o), FlashAttention-3's epilogue. On an H100 (2026-12-07, bf16,
 * 16 heads, one lease) it was faster than the 4-byte register stores at every shape timed:
 * 1-4% non-causal, up to 10% causal (d 128, batch 8 × N 2k causal: 276.0-278.7 us against 305.5,
 * cuDNN 264.1-264.5). KBENCH_FLASH_WS_TMA_STORE=0 keeps the register stores. The persistent
 * kernel's next work tile reuses the Q tile, so it stages O in a tile of its own (flash_ws.cuh's
 * OFF_O: 32 KiB more at d 128, 194 KiB in all; d 256 has no room and stores from registers).
 *
 * Registers: producer 40, consumers 232 a thread (128·40 + 256·232 = 64512 ≤ 65536); the kernel
 * is compiled for 384 threads at one block per SM (168 a thread at launch).
 * Shared memory: Q 32 KiB, K 2 × 32 KiB, V 2 × 32 KiB, 9 mbarriers, +1024 for alignment:
 * 164936 bytes, one block per SM (d = 64: half the tiles, 83016 bytes; still one block per SM,
 * by registers; d = 256: Q 64 KiB, K and V stages of 64 keys × 256, 32 KiB each, 197704 bytes). */
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

#include "kernels/attention/flash_ws.cuh"
#include "kernels/attention/ws_scores16.cuh"
#include "kernels/gpu/sm_count.cuh"
#include "kernels/gpu/smem_limit.cuh"
#include "kernels/gpu/tile_counter.h"

namespace {

using namespace kb_fws;

/* Shared memory for head_dim DH (256, 128 or 64) and C consumer warpgroups (3 only for d = 64):
 * a Q tile of 64·C rows is DH / 64 column blocks (boxes) of 64·C rows × 128 bytes, a K or V tile
 * of keys_per_tile rows DH / 64 boxes of that many rows (flash_ws.cuh's WsLayout). */
template <int DH, int C = CONSUMERS, int KN = keys_per_tile<DH>()>
struct Layout : WsLayout<DH / 64, DH / 64, DH / 64, false, KN, false, C> {
    static_assert(DH == 256 || DH == 128 || DH == 64, "head_dim 256, 128 or 64");
    static_assert(KN == keys_per_tile<DH>() || (DH == 128 && KN == 176), "176-key tiles at d = 128 only");
};

template <bool CAUSAL, bool BF16, int DH, int C = CONSUMERS, int KN = keys_per_tile<DH>()>
__global__ void __launch_bounds__(Layout<DH, C, KN>::THREADS, 1)
    flash_wgmma_ws(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                   const __grid_constant__ CUtensorMap map_v, const __grid_constant__ CUtensorMap map_o,
                   uint16_t *__restrict__ O, int n, int heads, int kv_heads, float scale_log2, int tma_store,
                   float lazy)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    Scores16<BF16, DH, KN> sc;
    sc.scale_log2 = scale_log2;
    sc.lazy = lazy;
    ws_attention<Layout<DH, C, KN>, CAUSAL>(smem_raw, &map_q, &map_k, &map_v, O, n, heads, kv_heads, sc, 1, AllTiles(),
                                            tma_store ? &map_o : nullptr);
#else
    (void)map_q, (void)map_k, (void)map_v, (void)map_o, (void)O, (void)n, (void)heads, (void)kv_heads, (void)scale_log2,
        (void)tma_store, (void)lazy;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

/* The same over persistent blocks (flash_ws.cuh's ws_attention with PERSISTENT): a grid of at
 * most one block per SM, each looping over every gridDim.x-th work tile (128 query rows of one
 * (batch, head); heaviest first), so a block's prologue (barrier init, tensor-map prefetch) is
 * paid once and the next tile's Q and K/V loads overlap the last P·V and O store of the one
 * before. batch: the number of (batch) planes, which the 1D grid no longer gives. tma_store and
 * lazy as the other kernel's (O staged in a tile of its own, d 64 and 128 only: flash_ws.cuh's
 * OFF_O). tile_counter: two ints, zero, on this device: causal, the blocks claim their work
 * tiles through them (flash_ws.cuh's DYNAMIC) and leave them zero. C: consumer warpgroups (3 at
 * d = 64 only, 192-row work tiles: KBENCH_FLASH_WS_D64_CONSUMERS=3). */
template <bool CAUSAL, bool BF16, int DH, int C = CONSUMERS>
__global__ void __launch_bounds__(Layout<DH, C>::THREADS, 1)
    flash_wgmma_ws_persistent(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                              const __grid_constant__ CUtensorMap map_v, const __grid_constant__ CUtensorMap map_o,
                              uint16_t *__restrict__ O, int n, int heads, int kv_heads, int batch, float scale_log2,
                              int tma_store, float lazy, int *tile_counter)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ unsigned char smem_raw[];
    Scores16<BF16, DH> sc;
    sc.scale_log2 = scale_log2;
    sc.lazy = lazy;
    ws_attention<Layout<DH, C>, CAUSAL, Scores16<BF16, DH>, true>(smem_raw, &map_q, &map_k, &map_v, O, n, heads,
                                                                   kv_heads, sc, batch, AllTiles(),
                                                                   tma_store ? &map_o : nullptr, tile_counter);
#else
    (void)map_q, (void)map_k, (void)map_v, (void)map_o, (void)O, (void)n, (void)heads, (void)kv_heads, (void)batch,
        (void)scale_log2, (void)tma_store, (void)lazy, (void)tile_counter;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

/* A [planes, n, dh] 16-bit tensor as boxes of `rows` rows (Layout's Q_ROWS for Q; its KEYS for K
 * and V) × 64 columns (128 bytes: the swizzle row), 128-byte swizzled into shared memory,
 * zero-filled past row n. */
CUresult encode(PFN_cuTensorMapEncodeTiled_v12000 fn, CUtensorMap *map, const void *ptr, int n, int planes, int dh,
                int rows = BOX_ROWS)
{
    return encode_rows(fn, map, CU_TENSOR_MAP_DATA_TYPE_UINT16, ptr, n, planes, dh, 2, rows);
}

/* Whether an environment variable's value e (getenv's, NULL when unset) is the number `value`:
 * how a design kept for timing against the default is asked for (each caller reads it once, into
 * a static; the getenv stays at the call, where tests/env_doc.sh finds the variable's name). */
bool env_is(const char *e, int value)
{
    return e && atoi(e) == value;
}

/* KBENCH_FLASH_WS_KEYS=176: head_dim 128 with 176-key K/V tiles (flash_wgmma_ws_keys) */
bool keys176_wanted()
{
    static const bool keys176 = env_is(getenv("KBENCH_FLASH_WS_KEYS"), 176);
    return keys176;
}

/* Whether launch runs the persistent kernel at head_dim dh: by default at d = 128 and at d = 64
 * causal, where it was faster than the one-block-a-tile kernel at every shape timed (an H100,
 * 2026-12-08, bf16, 16 heads, one lease: d 128 causal batch 4/8 × N 2k/4k 10-18%, non-causal
 * 5-10%, d 64 causal 13-18%; the header comment); d 64 non-causal keeps its three consumers (the
 * persistent kernel has two by default) and d 256 stores O from registers when persistent. A request for
 * 176-key tiles (non-persistent only) at d 128 keeps the non-persistent kernel.
 * KBENCH_FLASH_WS_PERSISTENT=1 or 0 forces it at every head_dim or at none, to time the two on
 * the same build. */
bool persistent_for(int dh, int causal)
{
    static const char *const forced = getenv("KBENCH_FLASH_WS_PERSISTENT");
    if (env_is(forced, 1))
        return true;
    if (forced && *forced && env_is(forced, 0))
        return false;
    if (dh == 128)
        return !keys176_wanted();
    return dh == 64 && causal;
}

/* KBENCH_FLASH_WS_TMA_STORE=0: the kernels store O from registers instead of staging it in
 * shared memory for TMA stores (flash_ws.cuh's map_o; the persistent kernel at head_dim 256
 * always stores from registers: no shared memory is left for a staging tile). */
bool tma_store_wanted()
{
    static const bool off = env_is(getenv("KBENCH_FLASH_WS_TMA_STORE"), 0);
    return !off;
}

/* The kernels keep a row's running maximum until a tile's exceeds it by more than
 * 2^8 (softmax_exp_scaled's LAZY, FlashAttention-4's conditional rescale), so most tiles skip O's
 * rescale; KBENCH_FLASH_WS_LAZY_RESCALE=0 rescales O whenever a maximum grows, as before. The
 * threshold in base-2 units. On an H100 (2026-12-07, bf16, 16 heads, one lease, beside cuDNN)
 * the lazy rescale was faster at 9 of 10 shapes: d 256 batch 4 × N 4k 1568.2 / 896.8 us against
 * 1696.8 / 995.8 (non-causal / causal; cuDNN 1515.2 / 870.5), d 128 batch 8 × N 2k 466.3 / 286.5
 * against 473.2 / 294.9, d 64 1-3%; d 128 batch 4 × N 4k non-causal 901.7 against 893.1. */
float lazy_rescale()
{
    static const bool off = env_is(getenv("KBENCH_FLASH_WS_LAZY_RESCALE"), 0);
    return !off ? 8.f : 0.f;
}

/* The non-persistent kernel of C consumers and KN-key tiles; mq's boxes are its Q_ROWS rows, mk's
 * and mv's its KN, mo's 16 (a consumer warp's rows: used with tma_store_wanted). */
template <bool CAUSAL, bool BF16, int DH, int C, int KN = keys_per_tile<DH>()>
cudaError_t launch_blocks(const struct kb_shape *s, const CUtensorMap &mq, const CUtensorMap &mk, const CUtensorMap &mv,
                          const CUtensorMap &mo, void *o, cudaStream_t st, float scale_log2)
{
    using L = Layout<DH, C, KN>;
    const WsGrid g = ws_grid(s->seq_len, s->heads, s->batch, L::Q_ROWS, CAUSAL, ws_sections_wanted());
    flash_wgmma_ws<CAUSAL, BF16, DH, C, KN><<<dim3(g.x, g.y, g.z), L::THREADS, L::SMEM, st>>>(
        mq, mk, mv, mo, (uint16_t *)o, s->seq_len, s->heads, s->kv_heads, scale_log2, tma_store_wanted() ? 1 : 0,
        lazy_rescale());
    return cudaGetLastError();
}

/* The persistent kernel of C consumers (flash_ws.cuh's persistent_grid). */
template <bool CAUSAL, bool BF16, int DH, int C>
cudaError_t launch_persistent(const struct kb_shape *s, const CUtensorMap &mq, const CUtensorMap &mk,
                              const CUtensorMap &mv, const CUtensorMap &mo, void *o, cudaStream_t st, float scale_log2)
{
    using L = Layout<DH, C>;
    const int grid = persistent_grid(s->seq_len, s->heads, s->batch, L::Q_ROWS, kb_gpu::sm_count());
    int *const counter = kb_tile_counter();
    if (CAUSAL && !counter)
        return cudaErrorInitializationError; /* flash_wgmma_ws_prepare allocates it */
    flash_wgmma_ws_persistent<CAUSAL, BF16, DH, C><<<grid, L::THREADS, L::SMEM_PERSISTENT, st>>>(
        mq, mk, mv, mo, (uint16_t *)o, s->seq_len, s->heads, s->kv_heads, s->batch, scale_log2,
        tma_store_wanted() ? 1 : 0, lazy_rescale(), counter);
    return cudaGetLastError();
}

template <bool CAUSAL, bool BF16, int DH>
cudaError_t launch(const struct kb_shape *s, const CUtensorMap &mq, const CUtensorMap &mk, const CUtensorMap &mv,
                   const CUtensorMap &mo, void *o, cudaStream_t st)
{
    float scale_log2 = (float)(1.4426950408889634 / sqrt((double)DH));
    if (!persistent_for(DH, CAUSAL)) {
        if (DH == 64 && flash_wgmma_ws_consumers(DH, CAUSAL) == 3)
            return launch_blocks<CAUSAL, BF16, 64, 3>(s, mq, mk, mv, mo, o, st, scale_log2);
        if (DH == 128 && flash_wgmma_ws_keys(DH) == 176)
            return launch_blocks<CAUSAL, BF16, 128, CONSUMERS, 176>(s, mq, mk, mv, mo, o, st, scale_log2);
        return launch_blocks<CAUSAL, BF16, DH, CONSUMERS>(s, mq, mk, mv, mo, o, st, scale_log2);
    }
    if (DH == 64 && flash_wgmma_ws_consumers(DH, CAUSAL) == 3)
        return launch_persistent<CAUSAL, BF16, 64, 3>(s, mq, mk, mv, mo, o, st, scale_log2);
    return launch_persistent<CAUSAL, BF16, DH, CONSUMERS>(s, mq, mk, mv, mo, o, st, scale_log2);
}

template <int DH> cudaError_t launch_dh(const struct kb_shape *s, bool bf16, const CUtensorMap &mq, const CUtensorMap &mk,
                                        const CUtensorMap &mv, const CUtensorMap &mo, void *o, cudaStream_t st)
{
    if (s->causal)
        return bf16 ? launch<true, true, DH>(s, mq, mk, mv, mo, o, st) : launch<true, false, DH>(s, mq, mk, mv, mo, o, st);
    return bf16 ? launch<false, true, DH>(s, mq, mk, mv, mo, o, st) : launch<false, false, DH>(s, mq, mk, mv, mo, o, st);
}

/* The four instantiations of head_dim DH with C consumers and KN-key tiles may use its shared
 * memory. */
template <int DH, int C = CONSUMERS, int KN = keys_per_tile<DH>()> cudaError_t raise_smem_limit()
{
    return kb_gpu::allow_dynamic_smem(Layout<DH, C, KN>::SMEM, flash_wgmma_ws<false, false, DH, C, KN>,
                                      flash_wgmma_ws<false, true, DH, C, KN>, flash_wgmma_ws<true, false, DH, C, KN>,
                                      flash_wgmma_ws<true, true, DH, C, KN>);
}

/* And the persistent ones (instantiated after all of the above, so those keep their place, and
 * their PTX, in the module). */
template <int DH, int C = CONSUMERS> cudaError_t raise_smem_limit_persistent()
{
    return kb_gpu::allow_dynamic_smem(Layout<DH, C>::SMEM_PERSISTENT, flash_wgmma_ws_persistent<false, false, DH, C>,
                                      flash_wgmma_ws_persistent<false, true, DH, C>,
                                      flash_wgmma_ws_persistent<true, false, DH, C>,
                                      flash_wgmma_ws_persistent<true, true, DH, C>);
}

} // namespace

extern "C" int flash_wgmma_ws_prepare(char *err, size_t errlen)
{
    if (!encode_tiled_or_say(err, errlen))
        return KB_UNSUPPORTED;
    cudaError_t e = raise_smem_limit<128>();
    if (e == cudaSuccess)
        e = raise_smem_limit<64>();
    if (e == cudaSuccess)
        e = raise_smem_limit<256>();
    if (e == cudaSuccess)
        e = raise_smem_limit<64, 3>();
    if (e == cudaSuccess)
        e = raise_smem_limit<128, CONSUMERS, 176>();
    if (e == cudaSuccess)
        e = raise_smem_limit_persistent<128>();
    if (e == cudaSuccess)
        e = raise_smem_limit_persistent<64>();
    if (e == cudaSuccess)
        e = raise_smem_limit_persistent<256>();
    if (e == cudaSuccess)
        e = raise_smem_limit_persistent<64, 3>();
    if (e != cudaSuccess) {
        snprintf(err, errlen, "raising flash_wgmma_ws's shared-memory limit to %d bytes: %s", Layout<256>::SMEM_PERSISTENT,
                 cudaGetErrorString(e));
        return KB_ERROR;
    }
    if ((e = (cudaError_t)kb_tile_counter_reset()) != cudaSuccess) { /* any shape may run the persistent kernel */
        snprintf(err, errlen, "the persistent kernel's tile counters: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

extern "C" int flash_wgmma_ws_persistent(int dh, int causal) { return persistent_for(dh, causal) ? 1 : 0; }

/* Head_dim 64 on three consumer warpgroups of 64 query rows (192 a block, FlashAttention-3's
 * tile for d = 64) where not causal and not persistent, two where causal or persistent (the
 * timings above); KBENCH_FLASH_WS_D64_CONSUMERS=2 or 3 forces either, in either kernel (the
 * persistent one on three: written in the nineteenth session after its lease, not yet timed),
 * to time one against the other on the same build. Two at other head_dims. launch and the Q
 * map's boxes follow this. */
extern "C" int flash_wgmma_ws_consumers(int dh, int causal)
{
    static const char *const forced = getenv("KBENCH_FLASH_WS_D64_CONSUMERS");
    if (dh != 64)
        return CONSUMERS;
    if (env_is(forced, 3))
        return 3;
    if (env_is(forced, 2))
        return 2;
    return causal || persistent_for(dh, causal) ? CONSUMERS : 3;
}

/* KBENCH_FLASH_WS_KEYS=176: head_dim 128 with 176-key K/V tiles (FlashAttention-3's non-causal
 * tile: each tile's fixed costs, its barriers, the O rescale and the wgmma waits, over 176 keys
 * instead of 128; S 88 and P 44 registers a thread), else 128. Not with the persistent kernel.
 * launch and the K and V maps' boxes follow this. */
extern "C" int flash_wgmma_ws_keys(int dh)
{
    if (dh == 256)
        return Layout<256>::KEYS;
    return dh == 128 && keys176_wanted() && !persistent_for(dh, 0) ? 176 : BN; /* d 128: either mask */
}

extern "C" int flash_wgmma_ws_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                     const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const bool bf16 = t == KB_DTYPE_BF16;
    const int dh = s->head_dim;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || (dh != 256 && dh != 128 && dh != 64) || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled();
    if (!fn)
        return (int)cudaErrorNotSupported;
    /* host-only encoding, a few hundred ns each: the maps hold this call's pointers, which the
     * harness rotates between input copies */
    CUtensorMap mq, mk, mv, mo = {}; /* mo: unused unless tma_store_wanted */
    /* the tiles' rows: Q 64 per consumer warpgroup, K and V the keys of a tile; O's boxes a
     * consumer warp's 16 rows */
    const int q_rows = 64 * flash_wgmma_ws_consumers(dh, s->causal), kv_rows = flash_wgmma_ws_keys(dh);
    const bool tma_store = flash_wgmma_ws_tma_store(dh, s->causal) != 0;
    if (encode(fn, &mq, q, s->seq_len, s->batch * s->heads, dh, q_rows) != CUDA_SUCCESS ||
        encode(fn, &mk, k, s->seq_len, s->batch * s->kv_heads, dh, kv_rows) != CUDA_SUCCESS ||
        encode(fn, &mv, v, s->seq_len, s->batch * s->kv_heads, dh, kv_rows) != CUDA_SUCCESS ||
        (tma_store && encode(fn, &mo, o, s->seq_len, s->batch * s->heads, dh, 16) != CUDA_SUCCESS))
        return (int)cudaErrorInvalidValue;
    if (dh == 256)
        return (int)launch_dh<256>(s, bf16, mq, mk, mv, mo, o, st);
    return (int)(dh == 128 ? launch_dh<128>(s, bf16, mq, mk, mv, mo, o, st) : launch_dh<64>(s, bf16, mq, mk, mv, mo, o, st));
}

extern "C" int flash_wgmma_ws_tma_store(int dh, int causal)
{
    const bool staged = !persistent_for(dh, causal) || (dh == 256   ? Layout<256>::O_STAGED_PERSISTENT
                                                 : dh == 128 ? Layout<128>::O_STAGED_PERSISTENT
                                                             : Layout<64>::O_STAGED_PERSISTENT);
    return tma_store_wanted() && staged ? 1 : 0;
}

extern "C" int flash_wgmma_ws_sections(int dh, int causal)
{
    return causal && !persistent_for(dh, causal) && ws_sections_wanted() ? 1 : 0;
}

extern "C" int flash_ws_sections_wanted(void) { return ws_sections_wanted() ? 1 : 0; }
extern "C" int flash_wgmma_ws_lazy_rescale(void) { return lazy_rescale() > 0.f ? 1 : 0; }
