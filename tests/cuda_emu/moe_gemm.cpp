// moe_gemm.cpp - the grouped GEMM of moe.experts@cuda.wgmma and moe.layer@cuda.wgmma
// (kernels/moe/moe_gemm_wgmma.cu: wgmma m64n256k16 bf16, both operands from TMA-loaded shared
// memory, 128 × 256 output tiles, a 4-stage ring) under hopper_emu.h, as on the GPU: moe_cuda.c's
// launch_experts_wg on the transposed weights, every case in four forms: in two-block clusters
// sharing B (the default), persistent on 2 clusters and a cluster a pair of tiles
// (KBENCH_MOE_WG_PERSISTENT=0; odd tile counts leave a pair's second block without rows, and
// pairs that straddle two column tiles or experts load B whole); and in blocks of their own
// (KBENCH_MOE_WG_CLUSTER=1), persistent on 3 blocks (blocks then loop over different numbers of
// tiles, the ring's stages and phases running on from tile to tile) and a block a tile. A barrier
// left with arrivals pending at a block's end fails the run (hopper_emu.h). Cases and verdicts:
// moe_gemm_driver.h.
#include "dev_emu.cpp" /* moe_gemm_wgmma.cu made C++ by run.sh */
#include "moe_gemm_driver.h"

/* a map of a row-major bf16 [rows][cols] matrix in boxes of 64 columns (one 128-byte swizzled
 * row) × box_rows, as moe_wg_map_new encodes it */
static CUtensorMap map_of(const uint16_t *p, long rows, int cols, uint32_t box_rows)
{
    CUtensorMap m;
    const cuuint64_t dims[2] = { (cuuint64_t)cols, (cuuint64_t)rows }, strides[1] = { (cuuint64_t)cols * 2 };
    const cuuint32_t box[2] = { (cuuint32_t)BK, box_rows }, es[2] = { 1, 1 };
    if (kb_hopper_emu::encode_tiled(&m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, (void *)p, dims, strides, box, es,
                                    CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                    CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) != CUDA_SUCCESS) {
        printf("a %ld × %d bf16 map was refused\n", rows, cols);
        exit(1);
    }
    return m;
}

/* the form a case runs in: the blocks of the persistent grid (0: a block a tile), clusters of 1 or 2 */
struct Form {
    int persistent_blocks, cluster;
};

/* one GEMM as moe_wg_gemm_launch runs it (the grid a GPU of f.persistent_blocks SMs would get);
 * blocks past the last row tile return at once */
template <int EPI> static void gemm(const CUtensorMap &a, const CUtensorMap &b, Args p, int mtiles, const Form &f)
{
    p.cluster = f.cluster;
    const int tiles = (p.n + BN - 1) / BN * mtiles, groups = (tiles + f.cluster - 1) / f.cluster;
    const int fit = f.persistent_blocks ? f.persistent_blocks / f.cluster : groups;
    const int grid = f.cluster * (groups < fit ? groups : fit);
    emu_launch_cluster(grid, 1, 1, f.cluster, THREADS, SMEM, [&] { moe_wgmma<EPI>(a, b, p); });
}

int main()
{
    const Form forms[] = { { 4, 2 }, { 0, 2 }, { 3, 1 }, { 0, 1 } };
    int bad = 0;
    for (const Form &f : forms) {
        printf("%s%s\n", f.persistent_blocks ? "persistent" : "a block a tile",
               f.cluster == 2 ? ", two-block clusters" : ", blocks of their own");
        bad += moe_gemm_cases([&f](MoeGemmCase &c) {
            const int n13 = 2 * c.fp, tiles = c.mts[c.E];
            const CUtensorMap a_up = map_of(c.xp.data(), c.slots, c.hp, BM), b_up = map_of(c.w13t.data(), (long)c.E * n13, c.hp, B_BOX);
            Args up = {};
            up.n = n13, up.ktiles = (c.hp + BK - 1) / BK, up.groups = c.E, up.group_off = c.off, up.mtile_start = c.mts.data();
            up.c = c.hb.data(), up.ldc = c.fp;
            gemm<MOE_EPI_SWIGLU>(a_up, b_up, up, tiles, f);
            const CUtensorMap a_down = map_of(c.hb.data(), c.slots, c.fp, BM), b_down = map_of(c.w2t.data(), (long)c.E * c.hp, c.fp, B_BOX);
            Args down = {};
            down.n = c.hp, down.ktiles = (c.fp + BK - 1) / BK, down.groups = c.E, down.group_off = c.off;
            down.mtile_start = c.mts.data(), down.c = c.yp.data(), down.ldc = c.hp;
            gemm<MOE_EPI_BF16>(a_down, b_down, down, tiles, f);
            Args sc = down;
            sc.c = c.y.data(), sc.c_index = c.index.data(), sc.c_div = c.k, sc.c_scale = c.gate.data();
            gemm<MOE_EPI_SCATTER>(a_down, b_down, sc, tiles, f);
        });
    }
    return bad != 0;
}
