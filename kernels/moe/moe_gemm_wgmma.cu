/* moe_gemm_wgmma.cu - the grouped GEMM of moe.experts@cuda.wgmma and moe.layer@cuda.wgmma
 * (moe_cuda.h, "Hopper"): moe_gemm_mma.cu's grouped structure on Hopper's warpgroup tensor-core
 * instructions (wgmma.mma_async m64n256k16 bf16, f32 accumulate, sm_90a only) fed by TMA. The
 * main loop is gemm_wgmma.cu's (the same block, ring, barriers, descriptors and swizzle, with
 * the shared pieces in kernels/gpu/tma.cuh and wgmma.cuh); only the tile → expert mapping and
 * the epilogues are new.
 *
 * Tiles: (group, 256-column tile, 128-row tile) as in moe_gemm_mma.cu: a block finds a tile's
 * group by binary search over mtile_start (written on the device by the sort's scan), and row
 * tiles are numbered fastest so the blocks resident at one time share the group's weight panel.
 * No host round trip: graph-capturable. The grid is persistent: a block an SM takes tiles
 * blockIdx.x, + gridDim.x, ..., the ring's uses running on from tile to tile, so the producer
 * loads the next tile while the consumers store the last (KBENCH_MOE_WG_PERSISTENT=0: a block a
 * tile). The blocks run in two-block clusters that take pairs of consecutive tiles (mostly two
 * row tiles of one column tile: the same B tile), each block loading half of B for both by TMA
 * multicast: 32 KiB of L2 reads a block a k-tile instead of 48, for a loop that at 600-660
 * TFLOP/s moved about 7 TB/s from L2 (moe_tile.cuh's moe_for_each_tile; cluster_blocks below
 * has the timings; KBENCH_MOE_WG_CLUSTER=1: blocks of their own).
 *
 * Block: 384 threads = 3 warpgroups, one 128 × 256 output tile at a time.
 *   warpgroup 0  producer: one thread issues, per k-tile of 64 bf16 (128 bytes), TMA loads of A
 *                (rows row0..row0+127 of the A map) and B (rows g·n + n0 .. + 255 of the B map,
 *                two 128-row boxes, one from each block of a cluster) into a 4-deep ring of
 *                stages with a full and an empty mbarrier each;
 *   warpgroups 1, 2  consumers: 64 rows × 256 columns each, 128 f32 accumulators a thread; per
 *                k-tile four wgmma m64n256k16 (16 bf16 = 32 bytes of k each), one commit group,
 *                wait_group 1, then the stage of the previous k-tile is released
 *                (kb_wgring::consume_stages); in a group's tail tile of 64 rows or fewer the
 *                second consumer computes nothing and only releases the stages.
 * Shared layout: the 128B-swizzle canonical K-major layout of gemm_wgmma.cu, byte for byte (a
 * stage row is 128 bytes there too: 128 int8 or 64 bf16), so the descriptors (SBO 1024, k-step
 * +32 bytes) are the same; both operands K-major (transpose bits 0): A [rows][k] is, and the
 * weights are stored transposed ([n][k], moe_cuda.h) so B = Wᵀ is "column-major" as wgmma wants.
 *
 * What TMA cannot skip is masked in the epilogue. The A box of a group's last row tile runs into
 * the next group's rows (or past the matrix: zero fill); the B box of a last column tile runs
 * into the next group's weights (or zero fill). Those rows and columns are computed and never
 * stored: rows ≥ group_off[g + 1] and columns ≥ n are skipped per element. k past the row length
 * is zero-filled by TMA in both operands, and the padded columns of every layout are zeros.
 *
 * Accumulator layout (PTX ISA, wgmma D fragments, m64nN f32): warp w of the warpgroup holds rows
 * 16w + lane/4 and 16w + lane/4 + 8; d[4j], d[4j+1] are row lane/4, columns 8j + 2(lane%4) +
 * {0, 1}; d[4j+2], d[4j+3] the same columns of row lane/4 + 8 (j = 0..31). With w13's 8-column
 * interleave, column block j even holds W1 (gate) and j + 1 the matching W3 (up) values: the
 * SwiGLU pairs d[4j + i] with d[4j + 4 + i] in the same thread. */
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
using namespace kb_tma;
using kb_wgmma::pin;

using kb_wgring::BM;
using kb_wgring::BN;
using kb_wgring::SMEM;
using kb_wgring::THREADS;
constexpr int BK = kb_wgring::ROW_BYTES / 2; /* bf16 per stage row: one 128-byte swizzle row */
static_assert(BM == MOE_CUDA_BM && BN == MOE_WG_BN, "the sort's row tile and the host's column tile are the ring's");
static_assert(BN <= 256 && BM <= 256, "a TMA box is at most 256 rows");

constexpr int B_BOX = 128; /* rows of a B box: half the tile, what each block of a cluster loads for both */
constexpr int CONSUMER_WARPS = kb_wgring::CONSUMERS * 4;

struct Args {
    int n, ktiles, groups;
    const int *group_off, *mtile_start;
    void *c;
    long ldc;
    const int *c_index;
    int c_div;
    const float *c_scale;
    int cluster; /* 2: launched in two-block clusters sharing B, else 1 */
};

/* A consumer warpgroup's epilogue of one tile, straight from its accumulators d (rows r and
 * r + 8 of the thread, t its place in the row's quad); rows of other groups (≥ row_end) and
 * columns ≥ n skipped */
template <int EPI>
__device__ __forceinline__ void store_tile(const float (&d)[128], const Args &p, int r, int row_end, int n0, int t)
{
#pragma unroll
    for (int h = 0; h < 2; h++) {
        const int row = r + 8 * h;
        if (row >= row_end)
            continue;
        long out_row = row;
        float scale = 1.f;
        if (EPI == MOE_EPI_SCATTER) {
            const int a_id = p.c_index[row];
            out_row = a_id / p.c_div;
            scale = p.c_scale[a_id];
        }
        if (EPI == MOE_EPI_SWIGLU) {
#pragma unroll
            for (int j = 0; j < BN / 8; j += 2) { /* gate block j, its up values in block j + 1 */
                const int col = n0 + j * 8 + 2 * t; /* n is a multiple of 16: the pair block is < n too */
                if (col >= p.n)
                    continue;
                const float v0 = d[4 * j + 2 * h], v1 = d[4 * j + 2 * h + 1];
                const float u0 = d[4 * j + 4 + 2 * h], u1 = d[4 * j + 4 + 2 * h + 1];
                const float h0 = kb_moe::swiglu(v0, u0), h1 = kb_moe::swiglu(v1, u1);
                const int a = (n0 + j * 8) / 2 + 2 * t;
                *reinterpret_cast<uint32_t *>((uint16_t *)p.c + out_row * p.ldc + a) = pack2<true>(h0, h1);
            }
        } else {
#pragma unroll
            for (int j = 0; j < BN / 8; j++) {
                const int col = n0 + j * 8 + 2 * t; /* n is a multiple of 8: col < n implies col + 1 < n */
                if (col >= p.n)
                    continue;
                const float v0 = d[4 * j + 2 * h], v1 = d[4 * j + 2 * h + 1];
                if (EPI == MOE_EPI_BF16) {
                    *reinterpret_cast<uint32_t *>((uint16_t *)p.c + out_row * p.ldc + col) = pack2<true>(v0, v1);
                } else {
                    float *dst = (float *)p.c + out_row * p.ldc + col;
                    atomicAdd(dst, scale * v0);
                    atomicAdd(dst + 1, scale * v1);
                }
            }
        }
    }
}

/* A block loops over its output tiles (moe_tile.cuh's moe_for_each_tile: a block a tile, or on
 * a persistent grid every gridDim.x-th, or pairs of them in two-block clusters sharing B), the
 * ring's uses running on from tile to tile, so the producer loads the next tile's k-tiles while
 * the consumers store the last. */
template <int EPI>
__global__ void __launch_bounds__(THREADS, 1)
    moe_wgmma(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b, const Args p)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    const int ntn = (p.n + BN - 1) / BN;
    /* none: the whole block (the whole cluster: both blocks see its first tile missing) returns,
     * before any barrier */
    struct moe_tile first;
    if (!moe_tile_of(blockIdx.x / p.cluster * p.cluster, ntn, BM, BN, p.mtile_start, p.group_off, p.groups, &first))
        return;

    extern __shared__ unsigned char smem_raw[];
    /* in a cluster both blocks' consumers release each stage (its B comes from both) */
    const kb_wgring::Ring ring = kb_wgring::ring_init(smem_raw, 1, CONSUMER_WARPS * p.cluster);
    if (p.cluster == 2)
        kb_tma::cluster_sync(); /* both blocks' barriers exist before either loads into or arrives on the other's */
    const int rank = p.cluster == 2 ? (int)kb_tma::cluster_ctarank() : 0;
    auto for_each_tile = [&](auto f) {
        moe_for_each_tile(ntn, BM, BN, p.mtile_start, p.group_off, p.groups, p.ktiles, p.cluster, rank, f);
    };
    if (threadIdx.x < 128) { /* group e's weights are rows [e·n, e·n + n) of map_b, in 128-row boxes */
        kb_tma::regs_dec<kb_wgring::PRODUCER_REGS>();
        if (threadIdx.x != 0)
            return;
        kb_tma::prefetch_map(&map_a);
        kb_tma::prefetch_map(&map_b);
        for_each_tile([&](const struct moe_tile &t, int u0, int shared_box) {
            kb_wgring::produce_stages<kb_wgring::Wide, B_BOX>(ring, &map_a, t.row0, &map_b, t.group * p.n + t.n0,
                                                              p.ktiles, BK, u0, shared_box);
        });
        return; /* nothing below synchronises the whole block; a returned thread counts as arrived
                 * at the cluster barrier below */
    }
    kb_tma::regs_inc<kb_wgring::CONSUMER_REGS>();
    /* c and w through a shuffle, as moe_fp8_wgmma.cu does: values the compiler knows are the same
     * in every lane, which keeps the descriptors built from c in uniform registers */
    const int lane = threadIdx.x % 32, c = __shfl_sync(0xffffffffu, (int)threadIdx.x / 128, 0) - 1;
    const int w = __shfl_sync(0xffffffffu, (int)(threadIdx.x / 32) % 4, 0);
    const uint32_t peer_empty0 = p.cluster == 2 ? kb_tma::mapa(ring.empty0, (uint32_t)rank ^ 1u) : 0;
    for_each_tile([&](const struct moe_tile &t, int u0, int) {
        float d[128];
        const bool active = t.row0 + c * 64 < t.row_end; /* a tail tile of 64 rows or fewer: consumer 1 has none */
        kb_wgring::consume_stages<BK / 16>(ring, c, p.ktiles, u0, active, peer_empty0, d,
                                           [](float(&acc)[128], uint64_t da, uint64_t db) {
                                               /* scale-d 1: the accumulators start at zero */
                                               kb_wgmma::mma_m64n256k16_ss<true>(acc, da, db, 1);
                                           });
        if (active)
            store_tile<EPI>(d, p, t.row0 + c * 64 + w * 16 + lane / 4, t.row_end, t.n0, lane % 4);
    });
    if (p.cluster == 2)
        kb_tma::cluster_sync(); /* the other block may still load into this one or release its stages */
#else
    (void)map_a, (void)map_b, (void)p;
    __trap(); /* built without sm_90a: the host side never launches this */
#endif
}

/* a block an SM, each looping over output tiles, unless KBENCH_MOE_WG_PERSISTENT=0 asks for a
 * block a tile */
bool persistent_on()
{
    static const char *const want = getenv("KBENCH_MOE_WG_PERSISTENT");
    return !(want && strcmp(want, "0") == 0);
}

/* Two-block clusters sharing B (each block loads half of each B tile for both by TMA
 * multicast), unless KBENCH_MOE_WG_CLUSTER=1 asks for blocks of their own. On an H100
 * (2026-12-07, bf16, 4096 tokens, alternating in one lease) the clusters ran Mixtral-8x7B's
 * experts in 4085.7 / 4106.6 us against 4594.3 / 4629.1 (up GEMM 2720 against 3100-3150 us,
 * down 1407-1411 against 1538-1594) and DeepSeek-V3's (16 experts) in 4183.7 against 4729.7
 * (their first samples 4163-4215 against 4447-4550 where the card's drift under load lifted
 * later ones). Where the FP8 GEMM's clusters lose (moe_fp8_wgmma.cu), these win: this loop has
 * no promotion to wait on, and at 48 KiB of L2 reads a k-tile a block it is bound by them. */
int cluster_blocks()
{
    static const char *const want = getenv("KBENCH_MOE_WG_CLUSTER");
    return want && strcmp(want, "1") == 0 ? 1 : 2;
}

template <int EPI> cudaError_t launch(const struct moe_wg_gemm *g, cudaStream_t st)
{
    const long ntn = (g->n + BN - 1) / BN, tiles = ntn * g->max_mtiles;
    if (tiles <= 0)
        return cudaSuccess;
    if (tiles > 0x7fffffffL)
        return cudaErrorInvalidConfiguration;
    CUtensorMap ma, mb;
    memcpy(&ma, g->a->bytes, sizeof ma);
    memcpy(&mb, g->b->bytes, sizeof mb);
    Args p;
    memset(&p, 0, sizeof p);
    p.n = g->n, p.ktiles = (g->k + BK - 1) / BK, p.groups = g->groups;
    p.group_off = g->group_off, p.mtile_start = g->mtile_start;
    p.c = g->c, p.ldc = g->ldc;
    p.c_index = g->c_index, p.c_div = g->c_div, p.c_scale = g->c_scale;
    p.cluster = cluster_blocks();
    /* persistent: one block an SM (the ring's shared memory allows no second), or as many
     * clusters as can be resident; max_mtiles bounds the row tiles from above, and blocks past
     * the last tile return at once */
    return kb_gpu::launch_tile_grid(moe_wgmma<EPI>, tiles, p.cluster, persistent_on(), THREADS, SMEM, st, ma, mb, p);
}

} // namespace

static_assert(sizeof(CUtensorMap) == sizeof(((struct moe_wg_map *)0)->bytes), "moe_wg_map holds one CUtensorMap");

extern "C" int moe_wg_prepare(void)
{
    (void)kb_gpu::sm_count(); /* asked here, not in the first timed launch */
    return (int)kb_gpu::allow_dynamic_smem(SMEM, moe_wgmma<MOE_EPI_BF16>, moe_wgmma<MOE_EPI_SWIGLU>,
                                           moe_wgmma<MOE_EPI_SCATTER>);
}

extern "C" int moe_wg_persistent(void) { return persistent_on() ? 1 : 0; }

extern "C" int moe_wg_cluster(void) { return cluster_blocks(); }

extern "C" int moe_wg_map_new(struct moe_wg_map *map, const uint16_t *ptr, long rows, int cols, int b_operand,
                              char *err, size_t errlen)
{
    PFN_cuTensorMapEncodeTiled_v12000 fn = encode_tiled_or_say(err, errlen);
    if (!fn)
        return KB_UNSUPPORTED;
    if (rows < 1 || cols < 8 || cols % 8) { /* TMA: row strides a multiple of 16 bytes */
        snprintf(err, errlen, "tensor map of %ld × %d bf16: rows must be ≥ 1 and a multiple of 8 elements", rows, cols);
        return KB_ERROR;
    }
    CUtensorMap m;
    CUresult r = encode_2d_sw128(fn, &m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, ptr, (uint64_t)rows, (uint64_t)cols,
                                 (uint64_t)cols * 2, (uint32_t)BK, (uint32_t)(b_operand ? B_BOX : BM));
    if (r != CUDA_SUCCESS) {
        snprintf(err, errlen, "cuTensorMapEncodeTiled (%ld rows of %d bf16): CUresult %d", rows, cols, (int)r);
        return KB_ERROR;
    }
    memcpy(map->bytes, &m, sizeof m);
    return KB_OK;
}

extern "C" int moe_wg_gemm_launch(const struct moe_wg_gemm *g, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    /* the maps' rows are multiples of 8 bf16; n so that a column pair never straddles n */
    if (g->k % 8 || g->n % 8 || g->n < 8 || g->ldc % 2 || g->groups < 1 || (g->epilogue == MOE_EPI_SWIGLU && g->n % 16))
        return (int)cudaErrorInvalidValue;
    switch (g->epilogue) {
    case MOE_EPI_BF16: return (int)launch<MOE_EPI_BF16>(g, st);
    case MOE_EPI_SWIGLU: return (int)launch<MOE_EPI_SWIGLU>(g, st);
    case MOE_EPI_SCATTER: return (int)launch<MOE_EPI_SCATTER>(g, st);
    case MOE_EPI_F32: break; /* the router's: not built here */
    }
    return (int)cudaErrorInvalidValue;
}
