/* flash_ws.cuh - the FlashAttention-3 schedule of the Hopper warp-specialised attention kernels,
 * shared by attention.flash@cuda.wgmma-ws (flash_wgmma_ws.cu: f16/bf16 Q·Kᵀ, d = 64, 128, 256) and
 * attention.int8@cuda.wgmma-ws (int8_wgmma_ws.cu: INT8 Q₈·K₈ᵀ, d = 128): the shared-memory
 * layout, the mbarrier rings, the TMA producer warpgroup, the two ping-pong consumer warpgroups
 * and their loop (Q·K_{j+1}ᵀ issued before the softmax of tile j). flash_wgmma_ws.cu's header
 * comment describes the schedule; this file is its code, with what differs between the kernels
 * behind a "scores" policy (the Sc parameter of ws_attention):
 *   Sc::NACC        O's accumulators a thread: head_dim / 2
 *   (S is float s[L::KEYS / 2]: the layout's keys per K/V tile, 128, or 64 for d = 256)
 *   Sc::Regs        registers the policy keeps per consumer thread (the INT8 kernel: its s32 S₈)
 *   sc.begin(r, row0, qhead, kvhead)  once per consumer before its first tile: row0 its first
 *                   of 64 query rows, qhead and kvhead the (batch, head) planes of Q and of K, V
 *   sc.issue(s, r, qw, kt, j)  issues S_j of the consumer's rows of Q (qw) and K tile j (kt) as
 *                   one committed wgmma group, not waited for (j: the key tile, walk.tile below)
 *   sc.ready(s, r, j)  after that group is waited for: S_j as f32 values in s, in whatever
 *                   units the policy's softmax takes (masked keys are set to −∞ in them)
 *   sc.softmax(s, r, m, l, alpha)  flash_wgmma.cuh's softmax_exp of those values: s becomes P
 *                   (times the P·V policy's scale), m and l the running maximum (base-2 units)
 *                   and sum, alpha O's rescale (Scores16: with its lazy threshold, a row's
 *                   maximum kept until it grows by more, α = 1 meanwhile)
 * and the P·V behind it (PvHalf below: P in f16/bf16 accumulated straight into O; fp8_pv.cuh:
 * P and V in e4m3, each tile's product in its own f32 accumulator added into O):
 *   Sc::P_STEPS     k-steps of one tile's P·V: P is held as uint32_t pa[P_STEPS][4]
 *   sc.begin_pv(r, kvhead)  from sc.begin
 *   sc.pack(s, pa)  P (s after softmax_exp) into the A fragments of P·V
 *   sc.issue_pv(o, r, pa, vt)  issues P·V of the V tile vt as one committed group
 *   sc.add_pv(o, r, alpha)  after that group is waited for: O = α·(O + P·V)
 *   sc.add_last_pv(o, r)    the same for the last tile, without α
 *   Sc::SUMS_ROWS   the P·V sums P's rows itself (fp8_pv.cuh): the softmax leaves l alone
 *   Sc::LAST_V16_BYTES, sc.map_v16, sc.issue_last_pv16(r, s, v16), sc.add_last_pv16(o, r, t4)
 *                   (optional, fp8_pv.cuh) the last key tile's P·V from a 16-bit V tile that
 *                   the producer loads into L::OFF_V16 after K_0, on a barrier of its own,
 *                   where map_v16 is set, in place of that tile's issue_pv and add_last_pv
 *   sc.store(o, l, r, out, row_a, row_b, n, t4)  O / l into the output rows
 *   sc.stage(o, l, r, dst, box_bytes, g, t4)  (PvHalf only: a kernel passing map_o) O / l as
 *                   16-bit into the warp's rows of swizzled boxes for a TMA store
 * map_o (kernels of a PvHalf policy): a 3D map of O in boxes of 16 rows × 128 bytes. With it
 * each consumer warp stages its 16 rows into its own rows of the Q tile (free once the
 * consumer's last S is done) and stores them with TMA, as FlashAttention-3's epilogue: one
 * instruction a 16 × 64 box instead of 64 four-byte stores a thread, and the warp leaves as soon
 * as the box is read (the kernel's end otherwise waited for the stores to drain).
 * PERSISTENT (flash_wgmma_ws.cu's persistent kernel; batch then an argument): each block loops
 * over every gridDim.x-th work tile (see that file's header), with one more barrier, q_empty
 * (WsLayout's SMEM_PERSISTENT). There the next work tile's Q reuses the Q tile, so a warp stages
 * O in its rows of a tile of its own (WsLayout's OFF_O, where shared memory allows it: head_dim
 * 64 and 128), waiting only before it stages the next work tile's O for its last store to have
 * read them: the store runs under the next work tile.
 * Which K/V tiles a work tile visits, in order, is a second policy (the Walk parameter: the
 * default AllTiles is the dense kernels' 0 .. n_tiles − 1 and compiles to the code they had
 * before; block_sparse_ws.cu's KeptTiles walks MoBA's kept blocks, then the diagonal):
 *   walk.begin(n_tiles, qb, qhead)  per work tile: the steps it takes, given the dense count
 *                   n_tiles (causal: up to the diagonal), its query block qb and Q plane qhead
 *   walk.tile(j)    the key tile of step j (what the producer loads; the j that the scores
 *                   policy's issue and ready see)
 *   walk.masked(j, steps)  whether step j may need mask_tile (else every key of the tile is
 *                   below N and, causal, at most the first row of the work tile)
 * Include only from code built for sm_90a. */
#ifndef KB_FLASH_WS_CUH
#define KB_FLASH_WS_CUH

#include <cuda.h>
#include <cudaTypedefs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <type_traits>

#include "kernels/attention/flash_wgmma.cuh"
#include "kernels/gpu/tma.cuh"

/* Switches for bisecting a failure or measuring what each overlap buys (both 1 is the design;
 * e.g. make NVCCFLAGS='-O3 -std=c++17 -DKB_FLASH_WS_PING_PONG=0'): without ping-pong the
 * consumers issue whenever they are ready; without the intra-warpgroup overlap each waits for
 * S_j and P_{j-1}·V_{j-1} together before its softmax. Either way the result is the same. */
#ifndef KB_FLASH_WS_PING_PONG
#define KB_FLASH_WS_PING_PONG 1
#endif
#ifndef KB_FLASH_WS_OVERLAP
#define KB_FLASH_WS_OVERLAP 1
#endif

namespace kb_fws {

using namespace kb_fwgmma;
using namespace kb_tma;

constexpr int CONSUMERS = 2;                      /* warpgroups of 64 query rows */
constexpr int WS_THREADS = 128 * (1 + CONSUMERS); /* + the producer warpgroup */
constexpr int STAGES = 2;                         /* per ring (K and V each) */
constexpr int BOX_COLS = 64;                      /* one 128-byte swizzle row of 16-bit values */
constexpr int BOX_ROWS = 128;                     /* = BM = BN: one box shape for Q, K and V */
constexpr int HALF_BYTES = BOX_ROWS * 128;        /* one box: 128 rows of 128 bytes, 16 KiB */
constexpr int N_BARS = 1 + 4 * STAGES; /* Q full; K full, V full, K empty, V empty per stage */
constexpr int PRODUCER_REGS = 40, CONSUMER_REGS = 232;
constexpr int TURN_THREADS = 256; /* a named barrier of the two consumer warpgroups */
constexpr long L2_SHARE = 16l << 20; /* the K and V bytes a persistent grid's blocks in flight share: a third of H100's L2 */
static_assert(BM == BOX_ROWS && BN == BOX_ROWS, "Q, K and V tiles are 128-row boxes");
static_assert(BM == 64 * CONSUMERS, "one m64 wgmma row block per consumer warpgroup");
static_assert(HALF_BYTES % 1024 == 0, "1024-byte aligned swizzle atoms");
static_assert(128 * PRODUCER_REGS + 128 * CONSUMERS * CONSUMER_REGS <= 65536, "the register file of one SM");

/* Shared memory: a Q, K or V tile of 128 rows is QB, KB or VB boxes of 128 rows × 128 bytes
 * (a 16-bit tile of head_dim DH: DH / 64 boxes of 64 columns; an INT8 tile of 128 channels:
 * one box), Q once, then the K ring, the V ring and the barriers. Box cb of a tile is loaded
 * from column cb · BOX_COLS (only 16-bit tiles have more than one box). VT: V is stored
 * transposed, [channels][keys] of 8-bit codes (fp8_pv.cuh), so a V tile is boxes of 128
 * channel rows × 128 keys, box cb loaded from key t · BN, channel row cb · BOX_ROWS.
 * V_ONES (transposed V only): each V stage is followed by 8 rows of 128 bytes of e4m3 1.0
 * (0x38), written once before the loop, so a K-major wgmma of N = 136 over the stage gives P's
 * row sums in its last 8 columns (fp8_pv.cuh); the swizzle cannot move a constant. */
template <int QB, int KB, int VB, bool VT = false, int KN = BN, bool V_ONES = false, int C = CONSUMERS>
struct WsLayout {
    static constexpr int Q_BLOCKS = QB, K_BLOCKS = KB, V_BLOCKS = VB;
    static constexpr bool V_KEYS_INNER = VT;
    /* C consumer warpgroups of 64 query rows (2, or 3 as FlashAttention-3 runs head_dim 64: a
     * third softmax to hide under the tensor cores, and K/V read once for 192 rows); the block's
     * threads and the registers setmaxnreg gives each side (the producer's floor is 24) */
    static constexpr int CONS = C, Q_ROWS = 64 * C, THREADS = 128 * (1 + C);
    static constexpr int PRODUCER_NREGS = C == 2 ? PRODUCER_REGS : 24, CONSUMER_NREGS = C == 2 ? CONSUMER_REGS : 160;
    static_assert(C == 2 || (C == 3 && QB == 1 && !VT), "3 consumers: 16-bit head_dim 64 (one Q column block)");
    static_assert(128 * PRODUCER_NREGS + 128 * C * CONSUMER_NREGS <= 65536, "the register file of one SM");
    static_assert(!V_ONES || VT, "the ones rows extend a transposed ([channels][keys]) V tile");
    /* KN: keys per K/V tile, the rows of their boxes (128; 64 for head_dim 256, whose O leaves a
     * consumer no registers for a 128-key S and P; 176 for head_dim 128 on request, the tile
     * FlashAttention-3 runs non-causal d = 128 with), KV_BOX_BYTES one such box */
    static constexpr int KEYS = KN, KV_BOX_BYTES = KN * 128;
    static_assert(KN == BN || ((KN == 64 || KN == 176) && !VT), "64- and 176-key tiles only for [keys][channels] V");
    /* a Q box: Q_ROWS rows of 128 bytes (the Q map's box rows) */
    static constexpr int Q_BOX_BYTES = Q_ROWS * 128;
    static constexpr int Q_BYTES = QB * Q_BOX_BYTES, K_BYTES = KB * KV_BOX_BYTES, V_BYTES = VB * KV_BOX_BYTES;
    /* V_BYTES are loaded into each V stage, V_STRIDE apart (the ones rows after each) */
    static constexpr int ONES_BYTES = V_ONES ? 8 * 128 : 0, V_STRIDE = V_BYTES + ONES_BYTES;
    static constexpr int OFF_Q = 0, OFF_K = OFF_Q + Q_BYTES, OFF_V = OFF_K + STAGES * K_BYTES;
    static constexpr int OFF_BAR = OFF_V + STAGES * V_STRIDE;
    static constexpr int SMEM = 1024 + OFF_BAR + 8 * N_BARS; /* +1024: the tiles are aligned up to 1024 */
    /* The persistent kernel's own O staging (its next work tile's Q reuses the Q tile, where the
     * others stage O): a Q tile's geometry past the barriers (and the words after them), 1024-byte
     * aligned, where it fits in one H100 block's shared memory (head_dim 64 and 128; 256 stores
     * O from registers) */
    static constexpr int OFF_O = (OFF_BAR + 8 * (N_BARS + 2) + 1023) / 1024 * 1024;
    static constexpr bool O_STAGED_PERSISTENT = 1024 + OFF_O + Q_BYTES <= 227 * 1024;
    /* past the barriers: q_empty, then the two work-tile slots of the causal persistent kernel's
     * dynamic schedule (ws_attention's tile_counter) */
    static constexpr int SMEM_PERSISTENT = O_STAGED_PERSISTENT ? 1024 + OFF_O + Q_BYTES : SMEM + 16;
    static_assert(SMEM_PERSISTENT <= 227 * 1024, "shared memory of one H100 block");
};

/* The P·V of 16-bit P and V (the policy the f16/bf16 and INT8 kernels' scores derive from): P
 * rounded to f16 or bf16, accumulated by the wgmma straight into O, V a [keys][channels] tile
 * (MN-major B) of KN keys; flash_wgmma.cuh's pack_p, issue_pv, rescale_o and store_o. */
template <bool BF16, int NACC, int KN = BN> struct PvHalf {
    static constexpr int P_STEPS = KN / 16;
    static constexpr float P_LOG2 = 0.f; /* P itself, in [0, 1] */
    static constexpr bool SUMS_ROWS = false; /* the softmax keeps l */
    struct PvRegs {}; /* nothing a thread keeps for P·V beyond O */
    template <class R> __device__ __forceinline__ void begin_pv(R &, int) {}
    __device__ __forceinline__ void pack(const float (&s)[KN / 2], uint32_t (&pa)[P_STEPS][4]) { pack_p<BF16>(s, pa); }
    template <class R>
    __device__ __forceinline__ void issue_pv(float (&o)[NACC], R &, const uint32_t (&pa)[P_STEPS][4], const uint16_t *vt)
    {
        kb_fwgmma::issue_pv<BF16>(o, pa, vt);
    }
    template <class R> __device__ __forceinline__ void add_pv(float (&o)[NACC], R &, const float (&alpha)[2])
    {
        if (rescale_o_needed(alpha)) /* the wgmma already added P·V */
            rescale_o(o, alpha);
    }
    template <class R> __device__ __forceinline__ void add_last_pv(float (&)[NACC], R &) {}
    template <class R>
    __device__ __forceinline__ void store(const float (&o)[NACC], const float (&l)[2], R &, uint16_t *out, int row_a,
                                          int row_b, int n, int t4)
    {
        store_o<BF16>(o, l, out, row_a, row_b, n, t4);
    }
    static constexpr bool STAGES_O = true;
    template <class R>
    __device__ __forceinline__ void stage(const float (&o)[NACC], const float (&l)[2], R &, unsigned char *dst,
                                          int box_bytes, int g, int t4)
    {
        stage_o_sw128<BF16>(o, l, dst, box_bytes, g, t4);
    }
};

/* Work tile w of a persistent grid as its query block qb and (batch, head) plane: planes in
 * sections of sec (the last may have fewer), and in a section the n_qb query blocks (causal:
 * heaviest, the last, first) with the section's planes fastest (ws_attention says why). A
 * bijection of [0, n_qb · planes) (tests/cuda_emu/flash_wgmma_ws.cpp checks it). */
__host__ __device__ __forceinline__ void persistent_tile(int w, int n_qb, int planes, int sec, bool causal, int &qb,
                                                         int &plane)
{
    const int s0 = w / (sec * n_qb) * sec;        /* the first plane of w's section */
    const int in = sec < planes - s0 ? sec : planes - s0; /* its planes */
    const int r = w - s0 * n_qb, q = r / in;      /* w's index in the section, its query block's */
    qb = causal ? n_qb - 1 - q : q;
    plane = s0 + r % in;
}

/* The grid of a non-persistent kernel of q_rows-row query blocks over n tokens, heads × batch
 * (batch, head) planes. Causal with sections, the n_qb · planes blocks lie in one
 * dimension and ws_attention numbers them as persistent_tile numbers a persistent grid's work
 * tiles: planes in sections whose K and V fit in L2_SHARE, in a section every plane's heaviest
 * query block first. Blocks start in the order of their index as SMs free up, so the light
 * blocks of every plane in a section come last and the heaviest come early enough to finish
 * with them. Numbered a plane at a time (the (n_qb, heads, batch) grid, heaviest first within
 * each plane), the heaviest blocks of the last planes start near the end and run on alone:
 * modelled as one block an SM taking blocks in index order (a greedy list schedule of block
 * costs proportional to their key tiles), that tail is 7% of the work at batch 4, 16 heads, N 4k
 * and 13% at N 2k (128-row blocks), the sections' order 1-2%. Not causal, every block costs the
 * same and the grid stays (n_qb, heads, batch). */
struct WsGrid {
    int x, y, z;
};
static inline WsGrid ws_grid(int n, int heads, int batch, int q_rows, bool causal, bool sections)
{
    const int n_qb = (n + q_rows - 1) / q_rows;
    if (causal && sections)
        return WsGrid{ n_qb * heads * batch, 1, 1 };
    return WsGrid{ n_qb, heads, batch };
}

/* The grid of a persistent kernel of q_rows-row work tiles on a GPU of sms multiprocessors: at
 * most one block an SM, none without a work tile. */
static inline int persistent_grid(int n, int heads, int batch, int q_rows, int sms)
{
    const long work = (long)((n + q_rows - 1) / q_rows) * heads * batch;
    return (int)(work < sms ? work : sms);
}

/* A causal grid's blocks numbered in sections of planes (ws_grid), by default: on an H100
 * (2026-12-08, bf16, 16 heads, one lease, alternating with the plane order) 1-3% faster at
 * d 64 and 128 (batch 4/8 × N 2k/4k), 3.7% at d 256, level for the INT8 and FP8 kernels at
 * SageAttention2's shape. KBENCH_FLASH_WS_SECTIONS=0 numbers them a plane at a time. */
static inline bool ws_sections_wanted()
{
    static const bool on = [] {
        const char *e = getenv("KBENCH_FLASH_WS_SECTIONS");
        return !(e != nullptr && strcmp(e, "0") == 0);
    }();
    return on;
}

/* The bytes of the 16-bit V tile a policy's P·V takes its last key tile from (fp8_pv.cuh's
 * PvFp8: LAST_V16_BYTES, where sc.map_v16 is set; the layout's OFF_V16), else 0. */
template <class S, class = void> struct last_v16 : std::integral_constant<int, 0> {};
template <class S>
struct last_v16<S, std::void_t<decltype(S::LAST_V16_BYTES)>> : std::integral_constant<int, S::LAST_V16_BYTES> {};

/* Whether a scores policy can stage O for a TMA store (its P·V is PvHalf's: sc.stage). */
template <class S, class = void> struct stages_o : std::false_type {};
template <class S> struct stages_o<S, std::void_t<decltype(S::STAGES_O)>> : std::bool_constant<S::STAGES_O> {};

/* The dense kernels' key tiles: every one up to n_tiles, each masked where it needs it. */
struct AllTiles {
    __device__ __forceinline__ int begin(int n_tiles, int, int) { return n_tiles; }
    __device__ __forceinline__ int tile(int j) const { return j; }
    __device__ __forceinline__ bool masked(int, int) const { return true; }
};

/* The whole kernel after its arguments: barriers, producer, consumers, output store. smem_raw:
 * the kernel's dynamic shared memory (L::SMEM bytes, declared by the kernel so each file keeps
 * its own symbol); map_q, map_k, map_v: 3D tensor maps ({row bytes, N, batch·heads}, boxes of 128 rows × 128 bytes,
 * 128B-swizzled, zero past row N); O: [B, H, N, 2·NACC] 16-bit; walk: the key tiles' policy (each
 * thread keeps its own copy). */
template <class L, bool CAUSAL, class Sc, bool PERSISTENT = false, class Walk = AllTiles>
__device__ __forceinline__ void ws_attention(unsigned char *smem_raw, const CUtensorMap *map_q, const CUtensorMap *map_k,
                                             const CUtensorMap *map_v, uint16_t *__restrict__ O, int n, int heads,
                                             int kv_heads, Sc &sc, int batch = 1, Walk walk = Walk(),
                                             const CUtensorMap *map_o = nullptr, int *tile_counter = nullptr)
{
    constexpr int NACC = Sc::NACC;
    constexpr int KN = L::KEYS; /* keys per K/V tile */
    /* TMA's 128B swizzle and the wgmma descriptors both assume 1024-byte aligned atoms */
    const uint32_t raw = smem_u32(smem_raw), base = (raw + 1023u) & ~1023u;
    uint16_t *const tiles = reinterpret_cast<uint16_t *>(smem_raw + (base - raw));
    const uint32_t bars = base + L::OFF_BAR;
    const uint32_t q_full = bars;
    auto k_full = [&](int s) { return bars + 8u * (1 + s); };
    auto v_full = [&](int s) { return bars + 8u * (1 + STAGES + s); };
    auto k_empty = [&](int s) { return bars + 8u * (1 + 2 * STAGES + s); };
    auto v_empty = [&](int s) { return bars + 8u * (1 + 3 * STAGES + s); };
    const uint32_t q_empty = bars + 8u * N_BARS; /* PERSISTENT: Q released for the next work tile */
    /* DYNAMIC (the causal persistent kernel): work tiles are claimed, not strided. Each block
     * takes blockIdx.x first, then the producer claims the next with an atomic on
     * tile_counter[0] (plus gridDim.x) once it has issued the loads of its current one (near
     * the current one's end: a 2-stage ring ahead of the consumers) and passes it to the
     * consumers in slot[it & 1], written before its arrival on q_full for that work tile; a
     * claim past the last work tile ends the block (slot written, q_full arrived on without a
     * load). Strided, the causal tiles' descending costs left some blocks far more work than
     * others (a model of 132 SMs, 16 heads, batch 4-8, N 2k-4k: 3-72% over the ideal, which is
     * why the persistent kernel lost causal; claimed, 0-3%, as the non-persistent grid:
     * tests/gpu-host/block-order-model.py). The last block to finish claiming puts both
     * counters back to 0 for the next launch. */
    constexpr bool DYNAMIC = PERSISTENT && CAUSAL;
    /* LAST_V16: the last key tile's V also as 16 bits (fp8_pv.cuh), loaded into L::OFF_V16 on a
     * barrier of its own (v16_full, past the work-tile slots) after K_0, so Q and K_0 do not wait
     * behind it, and multiplied there in place of that tile's ring stage (which is still loaded
     * and waited for, so the rings' count stays the same). Loaded with Q on q_full, as first
     * written, it cost 5-10% at SageAttention2's shape on an H100 (one lease, 2026-12-08).
     * PERSISTENT: one use a work tile (phase it & 1), the next tile's load waiting on v16_empty
     * (lane 0 of every consumer warp, after its last P·V) */
    constexpr int LAST16 = last_v16<Sc>::value;
    bool last16 = false;
    if constexpr (LAST16 > 0)
        last16 = sc.map_v16 != nullptr;
    const uint32_t v16_full = bars + 8u * (N_BARS + 2), v16_empty = bars + 8u * (N_BARS + 3);
    volatile int *const slot = reinterpret_cast<volatile int *>(smem_raw + (bars + 8u * (N_BARS + 1) - raw));
    auto claims_done = [&]() { /* DYNAMIC, thread 0: this block claims no more */
        __threadfence(); /* its last claim before its count on tile_counter[1] */
        if (atomicAdd(tile_counter + 1, 1) == (int)gridDim.x - 1) { /* every block has claimed its last */
            atomicExch(tile_counter, 0);
            atomicExch(tile_counter + 1, 0);
        }
    };

    const int wg = threadIdx.x / 128;
    /* The work tile (the query rows of one block of one (batch, head)): the block's own
     * (blockIdx: in ws_grid's order where the grid has one dimension, else (query block, head,
     * batch), causal heaviest first), or with PERSISTENT the block's every gridDim.x-th of
     * all n_qb · heads · batch, numbered by place() below; next_work moves a thread's copy of
     * qb, h, b, kh, q0, n_tiles on to its next one. */
    constexpr int QR = L::Q_ROWS, NC = L::CONS; /* query rows of a work tile, consumer warpgroups */
    /* numbered: blocks numbered as work tiles by place(), the persistent grid's and ws_grid's one
     * dimension (its planes from the grid, as batch is not an argument of the kernels it
     * launches; for one plane the same numbering as the (n_qb, 1, 1) grid's own) */
    const bool numbered = PERSISTENT || (gridDim.y == 1 && gridDim.z == 1);
    const int n_qb = numbered ? (n + QR - 1) / QR : 1;
    const int planes = PERSISTENT || !numbered ? heads * batch : (int)gridDim.x / n_qb, n_work = n_qb * planes;
    int w = numbered ? (int)blockIdx.x : 0;
    if (PERSISTENT && w >= n_work) { /* more blocks than work (the host launches none such) */
        if (DYNAMIC && threadIdx.x == 0)
            claims_done();
        return;
    }
    /* PERSISTENT's order: the (batch, head) planes in sections whose K and V fit in L2_SHARE, and
     * in a section the query blocks (causal: heaviest first) with its planes fastest. The blocks
     * running at once then read the K and V of a few planes, which stay in L2 for all their query
     * blocks. Numbering every plane's query block qb before any plane's qb − 1 (as before) put
     * all (batch, head) planes in flight at once: at batch 8, 16 heads, N 2k, d 128 that is 128
     * MiB of K and V for a 50 MB L2, read again from DRAM by every query block, and the
     * persistent kernel took 1.5 times as long as the one-block-a-tile kernel. */
    const long plane_bytes = (long)n * (L::K_BYTES + L::V_BYTES) / KN;
    const int sec = (int)max(1L, min((long)planes, L2_SHARE / max(plane_bytes, 1L)));
    int qb, h, b;
    auto place = [&]() {
        int plane;
        persistent_tile(w, n_qb, planes, sec, CAUSAL, qb, plane);
        h = plane % heads, b = plane / heads;
    };
    if (numbered)
        place();
    else
        qb = CAUSAL ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x, h = (int)blockIdx.y, b = (int)blockIdx.z;
    int kh = h / (heads / kv_heads);
    int q0 = qb * QR;
    int n_tiles = (n + KN - 1) / KN;
    if (CAUSAL)
        n_tiles = min(n_tiles, (q0 + QR - 1) / KN + 1);
    n_tiles = walk.begin(n_tiles, qb, b * heads + h); /* from here: the steps of the work tile */
    /* the next work tile of this thread's copy (next_it: its number in the block); the producer's
     * dynamic claim past the last tile still returns true (its loop then ends the block) */
    auto next_work = [&](int next_it) {
        if (!PERSISTENT)
            return false;
        if constexpr (DYNAMIC) {
            if (wg == 0) {
                w = atomicAdd(tile_counter, 1) + (int)gridDim.x;
                if (w >= n_work)
                    return true;
            } else {
                mbar_wait(q_full, (uint32_t)(next_it & 1)); /* the producer wrote the slot before arriving */
                w = slot[next_it & 1];
                if (w >= n_work)
                    return false;
            }
        } else {
            w += gridDim.x;
            if (w >= n_work)
                return false;
        }
        place();
        kh = h / (heads / kv_heads);
        q0 = qb * QR;
        n_tiles = (n + KN - 1) / KN;
        if (CAUSAL)
            n_tiles = min(n_tiles, (q0 + QR - 1) / KN + 1);
        n_tiles = walk.begin(n_tiles, qb, b * heads + h);
        return true;
    };

    if (threadIdx.x == 0) {
        mbar_init(q_full, 1);
        for (int s = 0; s < STAGES; s++) {
            mbar_init(k_full(s), 1); /* the producer's expect_tx arrival */
            mbar_init(v_full(s), 1);
            mbar_init(k_empty(s), NC * 4); /* lane 0 of every consumer warp */
            mbar_init(v_empty(s), NC * 4);
        }
        if (PERSISTENT)
            mbar_init(q_empty, NC * 4);
        if (last16)
            mbar_init(v16_full, 1);
        if (PERSISTENT && last16)
            mbar_init(v16_empty, NC * 4);
        fence_barrier_init();
    }
    if constexpr (L::ONES_BYTES > 0) { /* the constant rows after each V stage, e4m3 1.0 */
        for (int i = threadIdx.x; i < STAGES * L::ONES_BYTES / 4; i += L::THREADS) {
            const int st = i / (L::ONES_BYTES / 4), w4 = i % (L::ONES_BYTES / 4);
            reinterpret_cast<uint32_t *>(smem_raw + (base - raw) + L::OFF_V + st * L::V_STRIDE + L::V_BYTES)[w4] =
                0x38383838u;
        }
        fence_proxy_async(); /* written through the generic proxy, read by wgmma through the async one */
    }
    __syncthreads(); /* the last block-wide barrier: the producer leaves early */

    if (wg == 0) { /* ---- producer ---- */
        regs_dec<L::PRODUCER_NREGS>();
        if (threadIdx.x == 0) {
            int zq = b * heads + h, zkv = b * kv_heads + kh; /* the (batch, head) plane of each map */
            prefetch_map(map_q);
            prefetch_map(map_k);
            prefetch_map(map_v);
            if constexpr (LAST16 > 0)
                if (last16)
                    prefetch_map(sc.map_v16);
            /* it: the block's work tiles before this one; u: K (and V) tiles loaded before it,
             * the rings' running count */
            for (int it = 0, u = 0;; it++) {
                if (PERSISTENT && it > 0)
                    mbar_wait(q_empty, (uint32_t)((it - 1) & 1)); /* the consumers' last S of work tile it − 1 */
                if constexpr (DYNAMIC) {
                    slot[it & 1] = w; /* read by the consumers once q_full's phase it completes */
                    if (w >= n_work) {
                        mbar_arrive(q_full); /* no load: the phase completes on this arrival */
                        break;
                    }
                }
                mbar_expect_tx(q_full, L::Q_BYTES);
#pragma unroll
                for (int cb = 0; cb < L::Q_BLOCKS; cb++)
                    load_3d(base + L::OFF_Q + cb * L::Q_BOX_BYTES, map_q, cb * BOX_COLS, q0, zq, q_full);
                /* the K or V tile of step t (walk.tile(t); BLOCKS boxes, BYTES; KEYS_INNER: a
                 * transposed tile, keys along the box rows) into its ring as use r = u + t once
                 * the consumers released use r − STAGES */
                auto load = [&](auto blocks, auto keys_inner, int bytes, int stride, const CUtensorMap *map,
                                uint32_t ring, uint32_t full, uint32_t empty, int step) {
                    const int r = u + step, t = walk.tile(step);
                    if (r >= STAGES)
                        mbar_wait(empty, (uint32_t)((r / STAGES - 1) & 1));
                    const uint32_t dst = ring + (uint32_t)(r % STAGES) * stride;
                    mbar_expect_tx(full, bytes);
#pragma unroll
                    for (int cb = 0; cb < decltype(blocks)::value; cb++) {
                        if constexpr (decltype(keys_inner)::value)
                            load_3d(dst + cb * HALF_BYTES, map, t * BN, cb * BOX_ROWS, zkv, full);
                        else
                            load_3d(dst + cb * L::KV_BOX_BYTES, map, cb * BOX_COLS, t * KN, zkv, full);
                    }
                };
                using KBL = std::integral_constant<int, L::K_BLOCKS>;
                using VBL = std::integral_constant<int, L::V_BLOCKS>;
                using ROWS = std::integral_constant<bool, false>;
                using VT = std::integral_constant<bool, L::V_KEYS_INNER>;
                load(KBL(), ROWS(), L::K_BYTES, L::K_BYTES, map_k, base + L::OFF_K, k_full(u % STAGES), k_empty(u % STAGES), 0);
                if constexpr (LAST16 > 0) {
                    if (last16) { /* [keys][channels], two boxes of 64 channels */
                        if (PERSISTENT && it > 0)
                            mbar_wait(v16_empty, (uint32_t)((it - 1) & 1)); /* the last work tile's last P·V */
                        mbar_expect_tx(v16_full, LAST16);
                        for (int cb = 0; cb < LAST16 / HALF_BYTES; cb++)
                            load_3d(base + L::OFF_V16 + cb * HALF_BYTES, sc.map_v16, cb * BOX_COLS,
                                    walk.tile(n_tiles - 1) * KN, zkv, v16_full);
                    }
                }
                for (int j = 1; j < n_tiles; j++) {
                    load(KBL(), ROWS(), L::K_BYTES, L::K_BYTES, map_k, base + L::OFF_K, k_full((u + j) % STAGES),
                         k_empty((u + j) % STAGES), j);
                    load(VBL(), VT(), L::V_BYTES, L::V_STRIDE, map_v, base + L::OFF_V, v_full((u + j - 1) % STAGES),
                         v_empty((u + j - 1) % STAGES), j - 1);
                }
                load(VBL(), VT(), L::V_BYTES, L::V_STRIDE, map_v, base + L::OFF_V, v_full((u + n_tiles - 1) % STAGES),
                     v_empty((u + n_tiles - 1) % STAGES), n_tiles - 1);
                u += n_tiles;
                if (!next_work(it + 1))
                    break;
                zq = b * heads + h, zkv = b * kv_heads + kh;
            }
            if constexpr (DYNAMIC)
                claims_done();
        }
        return; /* nothing below synchronises the whole block */
    }

    /* ---- consumers ---- */
    regs_inc<L::CONSUMER_NREGS>();
    const int c = wg - 1;
    const int lane = threadIdx.x % 32, wl = (threadIdx.x / 32) % 4, g = lane / 4, t4 = lane % 4;
    /* named barrier 1 + c: consumer c's turn, passed on to consumer c + 1 (mod NC) after its
     * issues (constant ids: ptxas then reserves only those) */
    auto wait_turn = [&]() {
        if (!KB_FLASH_WS_PING_PONG)
            return;
        if (c == 0)
            bar_sync(1, TURN_THREADS);
        else if (NC == 2 || c == 1) /* barrier 3 only where there is a third consumer */
            bar_sync(2, TURN_THREADS);
        else
            bar_sync(3, TURN_THREADS);
    };
    auto pass_turn = [&]() {
        if (!KB_FLASH_WS_PING_PONG)
            return;
        if (c == NC - 1)
            bar_arrive(1, TURN_THREADS);
        else if (NC == 2 || c == 0)
            bar_arrive(2, TURN_THREADS);
        else
            bar_arrive(3, TURN_THREADS);
    };
    /* this warpgroup's 64 rows of Q (8 KiB a consumer into each box: 64 rows of 128 bytes), a K and a V tile */
    const uint16_t *qw = tiles + L::OFF_Q / 2 + c * 64 * 64;
    auto k_tile = [&](int s) { return tiles + (L::OFF_K + s * L::K_BYTES) / 2; };
    auto v_tile = [&](int s) { return tiles + (L::OFF_V + s * L::V_STRIDE) / 2; };

    /* O staged for TMA stores (map_o): without PERSISTENT in the warp's rows of the Q tile (not
     * loaded again), with it in the same rows of its own staging tile (OFF_O), once the warp's
     * store of its previous work tile has read them */
    constexpr bool STAGE_O = stages_o<Sc>::value && (!PERSISTENT || L::O_STAGED_PERSISTENT);
    /* per work tile, as the producer: it its number in this block, u the rings' running count;
     * the turns start over (the last consumer gives consumer 0 the first, takes the last) */
    for (int it = 0, u = 0;; it++) {
        const int wrow0 = q0 + c * 64 + wl * 16; /* this warp's first row */
        const int row_a = wrow0 + g, row_b = row_a + 8;

        typename Sc::Regs r;
        float o[NACC], s[KN / 2]; /* O: 64 rows × head_dim; S: 64 rows × KN keys */
#pragma unroll
        for (int i = 0; i < NACC; i++)
            o[i] = 0.f;
#pragma unroll
        for (int i = 0; i < KN / 2; i++)
            s[i] = 0.f;
        sc.begin(r, q0 + c * 64, b * heads + h, b * kv_heads + kh);
        float m[2] = { -INFINITY, -INFINITY }, l[2] = { 0.f, 0.f }, alpha[2];
        uint32_t pa[Sc::P_STEPS][4]; /* P of the previous tile, the A fragments of its P·V */

        if (c == NC - 1 && KB_FLASH_WS_PING_PONG)
            bar_arrive(1, TURN_THREADS); /* consumer 0 takes the first turn */
        mbar_wait(q_full, (uint32_t)(it & 1));

        /* tile 0: S_0 alone */
        mbar_wait(k_full(u % STAGES), (uint32_t)((u / STAGES) & 1));
        wait_turn();
        sc.issue(s, r, qw, k_tile(u % STAGES), walk.tile(0));
        pass_turn();
        wg_wait_all();
        sc.ready(s, r, walk.tile(0));
        if (lane == 0)
            mbar_arrive(k_empty(u % STAGES));
        if (walk.masked(0, n_tiles))
            mask_tile<CAUSAL>(s, walk.tile(0) * KN, n, wrow0, row_a, row_b, t4);
        sc.softmax(s, r, m, l, alpha); /* O is still zero: no rescale */
        sc.pack(s, pa);

        for (int j = 1; j < n_tiles; j++) {
            const int sk = (u + j) % STAGES, sv = (u + j - 1) % STAGES;
            mbar_wait(k_full(sk), (uint32_t)(((u + j) / STAGES) & 1));
            mbar_wait(v_full(sv), (uint32_t)(((u + j - 1) / STAGES) & 1));
            wait_turn();
            sc.issue(s, r, qw, k_tile(sk), walk.tile(j)); /* group 1: S_j */
            sc.issue_pv(o, r, pa, v_tile(sv)); /* group 2: P_{j−1}·V_{j−1} */
            pass_turn();
            if (KB_FLASH_WS_OVERLAP)
                kb_wgmma::wait<1>(); /* S_j is done; P·V may still run */
            else
                kb_wgmma::wait<0>();
            sc.ready(s, r, walk.tile(j));
            if (lane == 0)
                mbar_arrive(k_empty(sk));
            if (walk.masked(j, n_tiles))
                mask_tile<CAUSAL>(s, walk.tile(j) * KN, n, wrow0, row_a, row_b, t4);
            sc.softmax(s, r, m, l, alpha);
            wg_wait_all(); /* P_{j−1}·V_{j−1} is done: O and pa may be touched */
            pin(o);
            pin(s); /* keeps P_j's packing below the wait: pa is read by the P·V until then */
            if (lane == 0)
                mbar_arrive(v_empty(sv));
            sc.add_pv(o, r, alpha); /* O = α·(O + P_{j−1}·V_{j−1}) */
            sc.pack(s, pa);
        }
        if (PERSISTENT && lane == 0)
            mbar_arrive(q_empty); /* every S of this work tile is done: the producer may load the next Q */

        /* the last tile's P·V, in turn; the last consumer's is the last turn: no arrive after it */
        const int sv = (u + n_tiles - 1) % STAGES;
        mbar_wait(v_full(sv), (uint32_t)(((u + n_tiles - 1) / STAGES) & 1));
        if (last16) /* false for the policies without LAST_V16 */
            mbar_wait(v16_full, (uint32_t)(it & 1)); /* one use a work tile; before the turn, not in it */
        wait_turn();
        if constexpr (LAST16 > 0)
            if (last16)
                sc.issue_last_pv16(r, s, tiles + L::OFF_V16 / 2); /* s: the last tile's P, packed but kept */
        if (!last16)
            sc.issue_pv(o, r, pa, v_tile(sv));
        if (c != NC - 1)
            pass_turn();
        wg_wait_all();
        pin(o);
        if (PERSISTENT && lane == 0)
            mbar_arrive(v_empty(sv)); /* the ring runs on into the next work tile */
        if constexpr (LAST16 > 0)
            if (last16)
                sc.add_last_pv16(o, r, t4);
        if (!last16)
            sc.add_last_pv(o, r);
        if (PERSISTENT && last16 && lane == 0)
            mbar_arrive(v16_empty); /* its wgmma is waited for: the next work tile's may load */

        bool staged = false;
        if constexpr (STAGE_O) {
            if (map_o) {
                const int box = L::Q_BOX_BYTES, rows0 = c * 64 + wl * 16; /* the warp's rows in the tile */
                constexpr int OFF = PERSISTENT ? L::OFF_O : L::OFF_Q;
                if (PERSISTENT && it > 0) {
                    if (lane == 0)
                        bulk_wait_read<0>(); /* long done: it was issued a work tile ago */
                    __syncwarp();
                }
                sc.stage(o, l, r, reinterpret_cast<unsigned char *>(tiles) + OFF + rows0 * 128, box, g, t4);
                fence_proxy_async(); /* generic writes, read by the TMA store (async proxy) */
                __syncwarp();
                if (lane == 0) {
#pragma unroll
                    for (int cb = 0; cb < L::Q_BLOCKS; cb++)
                        store_3d(map_o, cb * BOX_COLS, q0 + rows0, b * heads + h, base + OFF + cb * box + rows0 * 128);
                    bulk_commit();
                }
                staged = true;
            }
        }
        if (!staged) {
            const size_t qoff = ((size_t)b * heads + h) * (size_t)n * (2 * NACC);
            sc.store(o, l, r, O + qoff, row_a, row_b, n, t4);
        }
        u += n_tiles;
        if (!next_work(it + 1))
            break;
    }
    if (STAGE_O && map_o && lane == 0)
        bulk_wait_read<0>(); /* the block's shared memory outlives the last store's read */
}

/* A [planes, n, cols] tensor of `type` elements of elem_bytes bytes (a row: cols · elem_bytes, a
 * multiple of 16) as boxes of box_rows rows (128, or a WsLayout's KEYS for K and V) × 128 bytes
 * (the swizzle row: 64 16-bit or 128 8-bit columns), 128-byte swizzled into shared memory,
 * zero-filled past row n. */
static inline CUresult encode_rows(PFN_cuTensorMapEncodeTiled_v12000 fn, CUtensorMap *map, CUtensorMapDataType type,
                                   const void *ptr, int n, int planes, int cols, int elem_bytes,
                                   int box_rows = BOX_ROWS)
{
    const cuuint64_t dims[3] = { (cuuint64_t)cols, (cuuint64_t)n, (cuuint64_t)planes };
    const cuuint64_t strides[2] = { (cuuint64_t)cols * elem_bytes, (cuuint64_t)n * cols * elem_bytes }; /* bytes, dimensions 1 and 2 */
    const cuuint32_t box[3] = { (cuuint32_t)(128 / elem_bytes), (cuuint32_t)box_rows, 1 };
    const cuuint32_t elem_strides[3] = { 1, 1, 1 };
    return fn(map, type, 3, const_cast<void *>(ptr), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
              CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

} // namespace kb_fws

#endif
