// moe_gemm_mma.cpp - the grouped GEMM of the CUDA MoE kernels on mma.sync (kernels/moe/
// moe_gemm_mma.cu: m16n8k16 bf16, 128 × 128 × 32 tiles, four cp.async stages, swizzled ldmatrix;
// moe.experts@cuda, moe.router@cuda, moe.layer@cuda) under ptx_emu.h, as on the GPU: moe_cuda.c's
// launches on the [k][n] weights, a block a (column tile, row tile). Cases and verdicts:
// moe_gemm_driver.h.
#include "dev_emu.cpp" /* moe_gemm_mma.cu made C++ by run.sh */
#include "moe_gemm_driver.h"

/* one GEMM as moe_cuda_gemm_launch runs it; blocks past the last row tile return at once */
template <int EPI> static void gemm(const moe_cuda_gemm &g, int mtiles)
{
    emu_launch((g.n + BN - 1) / BN * mtiles, 1, 1, THREADS, SMEM, [&] { grouped_gemm<EPI>(g); });
}

int main()
{
    return moe_gemm_cases([](MoeGemmCase &c) {
        const int n13 = 2 * c.fp, tiles = c.mts[c.E];
        moe_cuda_gemm up = {};
        up.a = c.xp.data(), up.lda = c.hp, up.b = c.w13.data(), up.b_group_stride = (long)c.hp * n13, up.ldb = n13;
        up.n = n13, up.k = c.hp, up.group_off = c.off, up.mtile_start = c.mts.data(), up.groups = c.E;
        up.max_mtiles = tiles, up.epilogue = MOE_EPI_SWIGLU, up.c = c.hb.data(), up.ldc = c.fp;
        gemm<MOE_EPI_SWIGLU>(up, tiles);
        moe_cuda_gemm down = {};
        down.a = c.hb.data(), down.lda = c.fp, down.b = c.w2.data(), down.b_group_stride = (long)c.fp * c.hp;
        down.ldb = c.hp, down.n = c.hp, down.k = c.fp, down.group_off = c.off, down.mtile_start = c.mts.data();
        down.groups = c.E, down.max_mtiles = tiles, down.epilogue = MOE_EPI_BF16, down.c = c.yp.data(), down.ldc = c.hp;
        gemm<MOE_EPI_BF16>(down, tiles);
        moe_cuda_gemm sc = down;
        sc.epilogue = MOE_EPI_SCATTER, sc.c = c.y.data(), sc.c_index = c.index.data(), sc.c_div = c.k;
        sc.c_scale = c.gate.data();
        gemm<MOE_EPI_SCATTER>(sc, tiles);
    });
}
