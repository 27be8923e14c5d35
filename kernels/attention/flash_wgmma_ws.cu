/* flash_wgmma_ws.cu - the device code of attention.flash@cuda.wgmma-ws: FlashAttention's forward
 * pass on Hopper (sm_90a only) scheduled as FlashAttention-3 showed (Shah et al., 2024): warp
 * specialization, a TMA ring, ping-pong between consumer warpgroups, and Q·Kᵀ of the next tile
 * issued before the softmax of this one. Head_dim 128 or 64, f16/bf16 in, f32 accumulate.
 *
 * Why a third flash: flash_wgmma.cu loads with cp.async from all 256 threads and runs both
 * warpgroups in lock-step (a block-wide barrier per tile), so while they compute the softmax the
 * tensor cores idle (CUPTI: the tensor pipe 38.5% busy at N = 16k). Here the copies cost no
 * consumer instructions, and the two consumers are kept out of phase so one's softmax overlaps
 * the other's matrix products.
 *
 * Everything per tile is flash_wgmma's, through flash_wgmma.cuh: the 128B-swizzled tiles (a
 * 128-row × 128-column 16-bit tile is two column blocks of 64, 16 KiB each), the descriptors,
 * the wgmma m64n128k16 instructions (S = Q·Kᵀ with both operands in shared memory, O += P·V
 * with P from registers and V MN-major), the masks, the online softmax, the output store. Only
 * who loads and when is new. Head_dim 64 (template DH) is the same with one column block per
 * tile, four k-steps for S and P·V on m64n64k16 (32 O accumulators). Head_dim 256 is not built:
 * its O alone is 128 registers, and with S and P of 128-key tiles (96 more) a consumer would
 * need more than 232; it wants narrower key tiles, i.e. a softmax over another tile width.
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
 * Why 2 stages: K and V have their own rings, so a 2-deep ring already lets the producer run a
 * whole tile ahead of both consumers; 3 stages would also fit (224 KiB with Q) and is one
 * constant.
 *
 * Registers: producer 40, consumers 232 a thread (128·40 + 256·232 = 64512 ≤ 65536); the kernel
 * is compiled for 384 threads at one block per SM (168 a thread at launch).
 * Shared memory: Q 32 KiB, K 2 × 32 KiB, V 2 × 32 KiB, 9 mbarriers, +1024 for alignment:
 * 164936 bytes, one block per SM (d = 64: half the tiles, 83016 bytes; still one block per SM,
 * by registers). */
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

#include "kernels/attention/flash_wgmma.cuh"
#include "kernels/gpu/tma.cuh"

namespace {

using namespace kb_fwgmma;
using namespace kb_tma;

constexpr int CONSUMERS = 2;                     /* warpgroups of 64 query rows */
constexpr int WS_THREADS = 128 * (1 + CONSUMERS); /* + the producer warpgroup */
constexpr int STAGES = 2;                        /* per ring (K and V each) */
constexpr int BOX_COLS = 64;                     /* one 128-byte swizzle row of 16-bit values */
constexpr int BOX_ROWS = 128;                    /* = BM = BN: one box shape for Q, K and V */
constexpr int HALF_BYTES = BOX_ROWS * BOX_COLS * 2; /* one 64-column block of a tile: 16 KiB */
constexpr int N_BARS = 1 + 4 * STAGES; /* Q full; K full, V full, K empty, V empty per stage */
/* Shared memory for head_dim DH (128 or 64): a Q, K or V tile of 128 rows is DH / 64 column
 * blocks (boxes), Q once, then the K ring, the V ring and the barriers. */
template <int DH> struct Layout {
    static constexpr int BLOCKS = DH / BOX_COLS;
    static constexpr int TILE_BYTES = BLOCKS * HALF_BYTES;
    static constexpr int OFF_Q = 0, OFF_K = OFF_Q + TILE_BYTES, OFF_V = OFF_K + STAGES * TILE_BYTES;
    static constexpr int OFF_BAR = OFF_V + STAGES * TILE_BYTES;
    static constexpr int SMEM = 1024 + OFF_BAR + 8 * N_BARS; /* +1024: the tiles are aligned up to 1024 */
    static_assert(DH == 128 || DH == 64, "head_dim 128 or 64");
    static_assert(TILE_BYTES % 1024 == 0, "1024-byte aligned swizzle atoms");
    static_assert(SMEM <= 227 * 1024, "shared memory of one H100 block");
};
constexpr int PRODUCER_REGS = 40, CONSUMER_REGS = 232;
constexpr int TURN_THREADS = 256; /* a named barrier of the two consumer warpgroups */
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
static_assert(BM == BOX_ROWS && BN == BOX_ROWS, "Q, K and V tiles are 128-row boxes");
static_assert(BM == 64 * CONSUMERS, "one m64 wgmma row block per consumer warpgroup");
static_assert(HALF_BYTES % 1024 == 0, "1024-byte aligned swizzle atoms");
static_assert(128 * PRODUCER_REGS + 128 * CONSUMERS * CONSUMER_REGS <= 65536, "the register file of one SM");

/* S = Q·Kᵀ for one tile: DH / 16 k-steps of 16 over d as one committed group, not waited for.
 * qw: the consumer's 64 rows of Q (in each column block), kt: the K tile. */
template <bool BF16, int DH>
__device__ __forceinline__ void issue_s(float (&s)[64], const uint16_t *qw, const uint16_t *kt)
{
    pin(s);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) {
        const int cb = kk / 4, koff = (kk % 4) * 16;
        uint64_t da = smem_desc(qw + cb * BM * 64 + koff, 16, 1024);
        uint64_t db = smem_desc(kt + cb * BN * 64 + koff, 16, 1024);
        wgmma_ss<BF16>(s, da, db, kk > 0); /* the first k-step overwrites s */
    }
    wg_commit();
}

template <bool CAUSAL, bool BF16, int DH>
__global__ void __launch_bounds__(WS_THREADS, 1)
    flash_wgmma_ws(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                   const __grid_constant__ CUtensorMap map_v, uint16_t *__restrict__ O, int n, int heads, int kv_heads,
                   float scale_log2)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using L = Layout<DH>;
    extern __shared__ unsigned char smem_raw[];
    /* TMA's 128B swizzle and the wgmma descriptors both assume 1024-byte aligned atoms */
    const uint32_t raw = smem_u32(smem_raw), base = (raw + 1023u) & ~1023u;
    uint16_t *const tiles = reinterpret_cast<uint16_t *>(smem_raw + (base - raw));
    const uint32_t bars = base + L::OFF_BAR;
    const uint32_t q_full = bars;
    auto k_full = [&](int s) { return bars + 8u * (1 + s); };
    auto v_full = [&](int s) { return bars + 8u * (1 + STAGES + s); };
    auto k_empty = [&](int s) { return bars + 8u * (1 + 2 * STAGES + s); };
    auto v_empty = [&](int s) { return bars + 8u * (1 + 3 * STAGES + s); };

    const int wg = threadIdx.x / 128;
    const int qb = CAUSAL ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x; /* heaviest first */
    const int h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const int q0 = qb * BM;
    int n_tiles = (n + BN - 1) / BN;
    if (CAUSAL)
        n_tiles = min(n_tiles, (q0 + BM - 1) / BN + 1);

    if (threadIdx.x == 0) {
        mbar_init(q_full, 1);
        for (int s = 0; s < STAGES; s++) {
            mbar_init(k_full(s), 1); /* the producer's expect_tx arrival */
            mbar_init(v_full(s), 1);
            mbar_init(k_empty(s), CONSUMERS * 4); /* lane 0 of every consumer warp */
            mbar_init(v_empty(s), CONSUMERS * 4);
        }
        fence_barrier_init();
    }
    __syncthreads(); /* the last block-wide barrier: the producer leaves early */

    if (wg == 0) { /* ---- producer ---- */
        regs_dec<PRODUCER_REGS>();
        if (threadIdx.x == 0) {
            const int zq = b * heads + h, zkv = b * kv_heads + kh; /* the (batch, head) plane of each map */
            prefetch_map(&map_q);
            prefetch_map(&map_k);
            prefetch_map(&map_v);
            mbar_expect_tx(q_full, L::TILE_BYTES);
#pragma unroll
            for (int cb = 0; cb < L::BLOCKS; cb++)
                load_3d(base + L::OFF_Q + cb * HALF_BYTES, &map_q, cb * BOX_COLS, q0, zq, q_full);
            /* tile t of K or V into its ring once the consumers released use t − STAGES */
            auto load = [&](const CUtensorMap *map, uint32_t ring, uint32_t full, uint32_t empty, int t) {
                if (t >= STAGES)
                    mbar_wait(empty, (uint32_t)((t / STAGES - 1) & 1));
                const uint32_t dst = ring + (uint32_t)(t % STAGES) * L::TILE_BYTES;
                mbar_expect_tx(full, L::TILE_BYTES);
#pragma unroll
                for (int cb = 0; cb < L::BLOCKS; cb++)
                    load_3d(dst + cb * HALF_BYTES, map, cb * BOX_COLS, t * BN, zkv, full);
            };
            load(&map_k, base + L::OFF_K, k_full(0), k_empty(0), 0);
            for (int j = 1; j < n_tiles; j++) {
                load(&map_k, base + L::OFF_K, k_full(j % STAGES), k_empty(j % STAGES), j);
                load(&map_v, base + L::OFF_V, v_full((j - 1) % STAGES), v_empty((j - 1) % STAGES), j - 1);
            }
            load(&map_v, base + L::OFF_V, v_full((n_tiles - 1) % STAGES), v_empty((n_tiles - 1) % STAGES), n_tiles - 1);
        }
        return; /* nothing below synchronises the whole block */
    }

    /* ---- consumers ---- */
    regs_inc<CONSUMER_REGS>();
    const int c = wg - 1;
    const int lane = threadIdx.x % 32, wl = (threadIdx.x / 32) % 4, g = lane / 4, t4 = lane % 4;
    const int wrow0 = q0 + c * 64 + wl * 16; /* this warp's first row */
    const int row_a = wrow0 + g, row_b = row_a + 8;
    /* named barrier 1 + c: consumer c's turn (constant ids: ptxas then reserves only those) */
    auto wait_turn = [&]() {
        if (!KB_FLASH_WS_PING_PONG)
            return;
        if (c == 0)
            bar_sync(1, TURN_THREADS);
        else
            bar_sync(2, TURN_THREADS);
    };
    auto pass_turn = [&]() {
        if (!KB_FLASH_WS_PING_PONG)
            return;
        if (c == 0)
            bar_arrive(2, TURN_THREADS);
        else
            bar_arrive(1, TURN_THREADS);
    };
    const uint16_t *qw = tiles + L::OFF_Q / 2 + c * 64 * 64; /* this warpgroup's 64 rows, in each column block */
    auto k_tile = [&](int s) { return tiles + (L::OFF_K + s * L::TILE_BYTES) / 2; };
    auto v_tile = [&](int s) { return tiles + (L::OFF_V + s * L::TILE_BYTES) / 2; };

    float o[DH / 2], s[64]; /* O: 64 rows × DH; S: 64 rows × 128 keys */
#pragma unroll
    for (int i = 0; i < DH / 2; i++)
        o[i] = 0.f;
#pragma unroll
    for (int i = 0; i < 64; i++)
        s[i] = 0.f;
    float m[2] = { -INFINITY, -INFINITY }, l[2] = { 0.f, 0.f }, alpha[2];
    uint32_t pa[BN / 16][4]; /* P of the previous tile, the A fragments of its P·V */

    if (c == 1 && KB_FLASH_WS_PING_PONG)
        bar_arrive(1, TURN_THREADS); /* consumer 0 takes the first turn */
    mbar_wait(q_full, 0);

    /* tile 0: S_0 alone */
    mbar_wait(k_full(0), 0);
    wait_turn();
    issue_s<BF16, DH>(s, qw, k_tile(0));
    pass_turn();
    wg_wait_all();
    pin(s);
    if (lane == 0)
        mbar_arrive(k_empty(0));
    mask_tile<CAUSAL>(s, 0, n, wrow0, row_a, row_b, t4);
    softmax_exp(s, m, l, scale_log2, alpha); /* O is still zero: no rescale */
    pack_p<BF16>(s, pa);

    for (int j = 1; j < n_tiles; j++) {
        const int sk = j % STAGES, sv = (j - 1) % STAGES;
        mbar_wait(k_full(sk), (uint32_t)((j / STAGES) & 1));
        mbar_wait(v_full(sv), (uint32_t)(((j - 1) / STAGES) & 1));
        wait_turn();
        issue_s<BF16, DH>(s, qw, k_tile(sk));       /* group 1: S_j */
        issue_pv<BF16>(o, pa, v_tile(sv));      /* group 2: O += P_{j−1}·V_{j−1} */
        pass_turn();
        if (KB_FLASH_WS_OVERLAP)
            kb_wgmma::wait<1>(); /* S_j is done; P·V may still run */
        else
            kb_wgmma::wait<0>();
        pin(s);
        if (lane == 0)
            mbar_arrive(k_empty(sk));
        mask_tile<CAUSAL>(s, j * BN, n, wrow0, row_a, row_b, t4);
        softmax_exp(s, m, l, scale_log2, alpha);
        wg_wait_all(); /* P_{j−1}·V_{j−1} is done: O and pa may be touched */
        pin(o);
        pin(s); /* keeps P_j's packing below the wait: pa is read by the P·V until then */
        if (lane == 0)
            mbar_arrive(v_empty(sv));
        rescale_o(o, alpha);
        pack_p<BF16>(s, pa);
    }

    /* the last tile's P·V, in turn; consumer 1's is the last turn: no arrive after it */
    const int sv = (n_tiles - 1) % STAGES;
    mbar_wait(v_full(sv), (uint32_t)(((n_tiles - 1) / STAGES) & 1));
    wait_turn();
    issue_pv<BF16>(o, pa, v_tile(sv));
    if (c == 0)
        pass_turn();
    wg_wait_all();
    pin(o);

    const size_t qoff = ((size_t)b * heads + h) * (size_t)n * DH;
    store_o<BF16>(o, l, O + qoff, row_a, row_b, n, t4);
#else
    (void)map_q, (void)map_k, (void)map_v, (void)O, (void)n, (void)heads, (void)kv_heads, (void)scale_log2;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

/* A [planes, n, dh] 16-bit tensor as boxes of 128 rows × 64 columns (128 bytes: the swizzle
 * row), 128-byte swizzled into shared memory, zero-filled past row n. */
CUresult encode(PFN_cuTensorMapEncodeTiled_v12000 fn, CUtensorMap *map, const void *ptr, int n, int planes, int dh)
{
    const cuuint64_t dims[3] = { (cuuint64_t)dh, (cuuint64_t)n, (cuuint64_t)planes };
    const cuuint64_t strides[2] = { (cuuint64_t)dh * 2, (cuuint64_t)n * dh * 2 }; /* bytes, dimensions 1 and 2 */
    const cuuint32_t box[3] = { (cuuint32_t)BOX_COLS, (cuuint32_t)BOX_ROWS, 1 };
    const cuuint32_t elem_strides[3] = { 1, 1, 1 };
    return fn(map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 3, const_cast<void *>(ptr), dims, strides, box, elem_strides,
              CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

template <bool CAUSAL, bool BF16, int DH>
cudaError_t launch(const struct kb_shape *s, const CUtensorMap &mq, const CUtensorMap &mk, const CUtensorMap &mv,
                   void *o, cudaStream_t st)
{
    dim3 grid((s->seq_len + BM - 1) / BM, s->heads, s->batch);
    float scale_log2 = (float)(1.4426950408889634 / sqrt((double)DH));
    flash_wgmma_ws<CAUSAL, BF16, DH><<<grid, WS_THREADS, Layout<DH>::SMEM, st>>>(mq, mk, mv, (uint16_t *)o, s->seq_len,
                                                                                  s->heads, s->kv_heads, scale_log2);
    return cudaGetLastError();
}

template <int DH> cudaError_t launch_dh(const struct kb_shape *s, bool bf16, const CUtensorMap &mq, const CUtensorMap &mk,
                                        const CUtensorMap &mv, void *o, cudaStream_t st)
{
    if (s->causal)
        return bf16 ? launch<true, true, DH>(s, mq, mk, mv, o, st) : launch<true, false, DH>(s, mq, mk, mv, o, st);
    return bf16 ? launch<false, true, DH>(s, mq, mk, mv, o, st) : launch<false, false, DH>(s, mq, mk, mv, o, st);
}

/* The four instantiations of head_dim DH may use its shared memory. */
template <int DH> cudaError_t raise_smem_limit()
{
    const int bytes = Layout<DH>::SMEM;
    cudaError_t e = cudaFuncSetAttribute(flash_wgmma_ws<false, false, DH>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(flash_wgmma_ws<false, true, DH>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(flash_wgmma_ws<true, false, DH>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(flash_wgmma_ws<true, true, DH>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    return e;
}

} // namespace

extern "C" int flash_wgmma_ws_prepare(char *err, size_t errlen)
{
    if (!encode_tiled()) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled not found in the CUDA driver (TMA needs driver 12.0+)");
        return KB_UNSUPPORTED;
    }
    cudaError_t e = raise_smem_limit<128>();
    if (e == cudaSuccess)
        e = raise_smem_limit<64>();
    if (e != cudaSuccess) {
        snprintf(err, errlen, "raising flash_wgmma_ws's shared-memory limit to %d bytes: %s", Layout<128>::SMEM,
                 cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

extern "C" int flash_wgmma_ws_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                     const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const bool bf16 = t == KB_DTYPE_BF16;
    const int dh = s->head_dim;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || (dh != 128 && dh != 64) || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled();
    if (!fn)
        return (int)cudaErrorNotSupported;
    /* host-only encoding, a few hundred ns each: the maps hold this call's pointers, which the
     * harness rotates between input copies */
    CUtensorMap mq, mk, mv;
    if (encode(fn, &mq, q, s->seq_len, s->batch * s->heads, dh) != CUDA_SUCCESS ||
        encode(fn, &mk, k, s->seq_len, s->batch * s->kv_heads, dh) != CUDA_SUCCESS ||
        encode(fn, &mv, v, s->seq_len, s->batch * s->kv_heads, dh) != CUDA_SUCCESS)
        return (int)cudaErrorInvalidValue;
    return (int)(dh == 128 ? launch_dh<128>(s, bf16, mq, mk, mv, o, st) : launch_dh<64>(s, bf16, mq, mk, mv, o, st));
}
