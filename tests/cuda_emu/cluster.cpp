// cluster.cpp - the emulation's thread-block clusters (shim.h's emu_launch_cluster, hopper_emu.h's
// mapa, remote mbarrier arrivals, multicast TMA and barrier.cluster) on the pattern a kernel
// sharing one operand between two blocks would use: a 2-stage ring per block whose B half each
// block loads once and multicasts to both, whose stage a block refills only after the consumers
// of both blocks released it (each consumer arrives on its own block's empty barrier and, through
// mapa, on its peer's). Every stage's bytes are summed by the consumer warp and checked against
// the host's sums of the same boxes; the ring turns over several times, so a release missing
// from one side would deadlock (reported by hopper_emu.h) and a box landing in the wrong block or
// stage would change a sum. The kernel is this file's own (no kernel of kbench uses clusters yet).
#include "kernels/gpu/tma.cuh" /* hopper_emu.h, as run.sh installs it */
#include <cstdio>
#include <vector>

namespace {

constexpr int CLUSTER = 2, STAGES = 2, ROWS = 64, COLS = 128; /* A box: 64 rows of 128 bytes */
constexpr int A_BYTES = ROWS * COLS, B_BYTES = CLUSTER * ROWS * COLS, STAGE = A_BYTES + B_BYTES;
constexpr int THREADS = 64; /* warp 0: the producer's thread 0; warp 1: the consumer */
constexpr int SMEM = STAGES * STAGE + 2 * STAGES * 8;

struct Args {
    int ktiles;
    unsigned *sums; /* [blocks][ktiles] */
};

void kernel(const CUtensorMap &map_a, const CUtensorMap &map_b, const Args p)
{
    using namespace kb_tma;
    unsigned char *smem = (unsigned char *)g_smem;
    const uint32_t base = kb_ptx::smem_u32(smem), full0 = base + STAGES * STAGE, empty0 = full0 + 8 * STAGES;
    const uint32_t rank = cluster_ctarank(), peer = rank ^ 1u;
    if (threadIdx.x == 0) {
        for (int s = 0; s < STAGES; s++) {
            mbar_init(full0 + 8 * s, 1);
            mbar_init(empty0 + 8 * s, CLUSTER); /* this block's consumer and its peer's */
        }
        fence_barrier_init();
    }
    cluster_sync(); /* no block arrives on or loads into another before its barriers exist */
    if (threadIdx.x == 0) {
        for (int kt = 0; kt < p.ktiles; kt++) {
            const int s = kt % STAGES;
            if (kt >= STAGES)
                mbar_wait(empty0 + 8 * s, (uint32_t)((kt / STAGES - 1) & 1));
            const uint32_t st = base + s * STAGE, full = full0 + 8 * s;
            mbar_expect_tx(full, STAGE); /* A's box and both halves of B, one from each block */
            load_2d(st, &map_a, kt * COLS, (int)rank * ROWS, full);
            load_2d_multicast(st + A_BYTES + rank * ROWS * COLS, &map_b, kt * COLS, (int)rank * ROWS, full, 0x3);
        }
    } else if (threadIdx.x >= 32) {
        const int lane = threadIdx.x % 32;
        for (int kt = 0; kt < p.ktiles; kt++) {
            const int s = kt % STAGES;
            mbar_wait(full0 + 8 * s, (uint32_t)((kt / STAGES) & 1));
            unsigned sum = 0;
            for (int i = lane; i < STAGE; i += 32)
                sum += smem[s * STAGE + i];
            for (int o = 16; o > 0; o /= 2)
                sum += __shfl_xor_sync(0xffffffffu, sum, o);
            __syncwarp();
            if (lane == 0) {
                p.sums[blockIdx.x * p.ktiles + kt] = sum;
                mbar_arrive(empty0 + 8 * s);
                mbar_arrive_cluster(mapa(empty0 + 8 * s, peer));
            }
        }
    }
    cluster_sync(); /* the peer may still multicast into this block or arrive on its barriers */
}

CUtensorMap map_of(const uint8_t *p, int rows, int cols)
{
    return kb_hopper_emu::map_2d_u8(p, rows, cols, COLS, ROWS, CU_TENSOR_MAP_SWIZZLE_NONE);
}

} // namespace

int main()
{
    const int ktiles = 5, clusters = 3, blocks = CLUSTER * clusters;
    /* A: each block's own 64 rows (rank 0 the first, rank 1 the next, in every cluster); B: the
     * 128 rows both blocks of a cluster share */
    std::vector<uint8_t> a((size_t)CLUSTER * ROWS * ktiles * COLS), b((size_t)CLUSTER * ROWS * ktiles * COLS);
    for (size_t i = 0; i < a.size(); i++)
        a[i] = (uint8_t)(i * 2654435761u >> 13);
    for (size_t i = 0; i < b.size(); i++)
        b[i] = (uint8_t)(i * 40503u >> 7);
    const CUtensorMap map_a = map_of(a.data(), CLUSTER * ROWS, ktiles * COLS);
    const CUtensorMap map_b = map_of(b.data(), CLUSTER * ROWS, ktiles * COLS);
    std::vector<unsigned> sums((size_t)blocks * ktiles, 0);
    Args p = { ktiles, sums.data() };
    emu_launch_cluster(blocks, 1, 1, CLUSTER, THREADS, SMEM, [&] { kernel(map_a, map_b, p); });
    int bad = 0;
    for (int blk = 0; blk < blocks; blk++)
        for (int kt = 0; kt < ktiles; kt++) {
            unsigned want = 0;
            const int rank = blk % CLUSTER;
            for (int r = 0; r < ROWS; r++)
                for (int c = 0; c < COLS; c++)
                    want += a[(size_t)(rank * ROWS + r) * ktiles * COLS + kt * COLS + c];
            for (int r = 0; r < CLUSTER * ROWS; r++)
                for (int c = 0; c < COLS; c++)
                    want += b[(size_t)r * ktiles * COLS + kt * COLS + c];
            if (sums[(size_t)blk * ktiles + kt] != want) {
                printf("block %d k-tile %d: sum %u, want %u\n", blk, kt, sums[(size_t)blk * ktiles + kt], want);
                bad++;
            }
        }
    printf("clusters of %d, %d blocks, %d k-tiles through a %d-stage ring: %d sums differ\n", CLUSTER, blocks, ktiles,
           STAGES, bad);
    printf("%d failed\n", bad != 0);
    return bad != 0;
}
