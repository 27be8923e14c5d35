// moe_fp8.cpp - moe.experts@cuda.wgmma-fp8's kernels (kernels/moe/moe_fp8_wgmma.cu: the 1 × 128
// activation quantizer and the block-scaled grouped GEMM on wgmma m64n128k32 .e4m3 with k-block
// promotion) under hopper_emu.h, as on the GPU. The launcher sequence of
// moe_fp8_cuda.c (quantize xp; up GEMM with SwiGLU into hb; quantize hb; down GEMM into yp) with
// its grids and maps, on moe.experts' e4m3 inputs (uneven groups, an empty expert), the weights
// quantized by moe_fp8.c as setup does; every case three times: the 128-column tiles
// (KBENCH_MOE_FP8_TILE=128) and the 256-column ones where n is a multiple of 256 (the default),
// both persistent (here 3 blocks, so blocks loop over different numbers of tiles and the ring's
// stages and phases run on from tile to tile) with the consumers taking turns to issue (the
// defaults), and the wide tile with a block a tile and no turns (KBENCH_MOE_FP8_PERSISTENT=0,
// KBENCH_MOE_FP8_TURNS=0); and the wide tile in two-block clusters sharing B
// (KBENCH_MOE_FP8_CLUSTER=2), persistent on 2 clusters with turns and a cluster a pair of tiles
// without (odd tile counts leave a pair's second block without rows; pairs that straddle two
// column tiles or experts load B whole); and the wide tile with its A fragments in registers
// (KBENCH_MOE_FP8_A_REGS=1: ldmatrix from the swizzled stage, the RS wgmma), persistent with
// turns. The block-a-tile mode's scale warp loads the block scales into registers and stores them
// (KBENCH_MOE_FP8_SCALES_ASYNC=0), the others copy them by cp.async (the default). The zipf and
// one-expert cases' tail tiles of 64 rows or fewer run without turns between tiles with them.
// The down GEMM's stores and the up GEMM's h codes go through shared memory by stmatrix and out
// by TMA stores (the defaults) but in the A-in-registers mode (KBENCH_MOE_FP8_STAGED_STORE=0) and
// a persistent wide mode, where the lanes store them (KBENCH_MOE_FP8_TMA_STORE=0). That mode and
// the persistent clusters start their turns at k-tile 2 and 1 (KBENCH_MOE_FP8_TURNS_FROM: the
// cases' 1-13 k-tiles make tiles with and without turns).
// Turns that never pass, or a barrier left with arrivals pending at a
// block's end, fail the run (hopper_emu.h).
// The wide modes also run the up GEMM with the quantization in its epilogue (MOE_EPI_SWIGLU_FP8,
// the default where the up tile is the wide one), storing hb and not: its codes and scales must
// be the host rule's on its hb, that hb MOE_EPI_SWIGLU's, and the codes without hb the same.
// Judged four ways:
//   the pre-pass's codes and scales against the host rule bit for bit (xp and hb:
//     moe_fp8_quantizer_mismatches, as the kernel's check on the GPU host);
//   hb (bf16) against float64 SwiGLU(xq · W13) on the dequantized codes, and yp against float64
//     hq · W2 on the kernel's own dequantized h (moe_fp8_reference_row, as that check):
//     MOE_FP8_KERNEL_TOLERANCE (2^-8), where only the bf16 outputs and f32 sums differ, so a
//     scale taken from the wrong block fails;
//   moe.experts' verify at e4m3 (float64 FFN on the unquantized inputs, MOE_FP8_TOLERANCE).
#include "dev_emu.cpp" /* moe_fp8_wgmma.cu made C++ by run.sh */
#include "moe_driver.h"

#include <cstring>

using moe_driver::bf16_code;
using moe_driver::bf16_value;
using moe_driver::rel_l2;

static CUtensorMap map_of(const uint8_t *p, long rows, int cols)
{
    return kb_hopper_emu::map_2d_u8(p, rows, cols, BK, BM, CU_TENSOR_MAP_SWIZZLE_128B);
}

/* the emulated pre-pass: x bf16 [rows][ld] → q, scale; checked against the host rule */
static int quantize(const std::vector<uint16_t> &x, long ld, int rows, std::vector<uint8_t> &q, std::vector<float> &sc,
                    const char *what)
{
    q.assign((size_t)rows * ld, 0xAA);
    sc.assign((size_t)(ld / MOE_FP8_BLOCK) * (rows ? rows : 1), NAN);
    const long warps = (long)rows * (ld / MOE_FP8_BLOCK);
    if (warps)
        emu_launch((int)((warps * 32 + 255) / 256), 1, 1, 256, 0, [&] { moe_fp8_quantize(x.data(), ld, rows, q.data(), sc.data()); });
    const long bad = moe_fp8_quantizer_mismatches(NULL, x.data(), rows, (int)ld, q.data(), sc.data());
    printf("  %s quantized: %ld blocks' codes or scales differ from the host rule\n", what, bad);
    return bad != 0;
}

/* the modes a case runs in */
struct Mode {
    bool wide, turns;
    int persistent_blocks; /* 0: a block a tile */
    bool cluster;          /* the wide tile's blocks in two-block clusters sharing B */
    bool a_regs;           /* the wide tile's A fragments in registers (blocks of their own) */
    bool scales_async;     /* the scale warp's copies by cp.async (the default) */
    bool staged;           /* the down GEMM's stores, the up GEMM's codes through shared memory (the default) */
    bool tma_store;        /* those sent by TMA stores where a warp's rows are all the group's (the default) */
    int turns_from;        /* the turns from this k-tile of a tile (opt-in; 0: all) */
};

/* the store map of a GEMM's output, as moe_fp8_store_map_new makes it */
static CUtensorMap store_map_of(void *p, long rows, int cols, int elem_bytes)
{
    CUtensorMap t;
    if (encode_store_map(kb_tma::encode_tiled(), &t, p, rows, cols, elem_bytes) != CUDA_SUCCESS) {
        printf("  FAIL: the store map of %ld × %d\n", rows, cols);
        exit(1);
    }
    return t;
}

/* one GEMM as moe_fp8_gemm_launch runs it: with wide, the 256-column tile where n allows; a
 * persistent grid as it would be on a GPU of m.persistent_blocks SMs */
template <int EPI>
static void gemm(const CUtensorMap &a, const CUtensorMap &b, const CUtensorMap &c, Args p, int mtiles, const Mode &m)
{
    p.turns = m.turns;
    p.turns_from = m.turns_from;
    p.scales_async = m.scales_async;
    p.staged = (EPI == MOE_EPI_BF16 || EPI == MOE_EPI_SWIGLU_FP8) && m.staged;
    p.tma_store = p.staged && m.tma_store;
    const bool wide = m.wide && p.n % 256 == 0;
    p.cluster = m.cluster && wide ? 2 : 1;
    const int tiles = (p.n / (wide ? 256 : 128)) * mtiles;
    int grid = m.persistent_blocks && m.persistent_blocks < tiles ? m.persistent_blocks : tiles;
    if (p.cluster == 2) { /* a cluster per pair of tiles, or as many as the persistent grid holds */
        const int clusters = (tiles + 1) / 2;
        grid = 2 * (m.persistent_blocks && m.persistent_blocks / 2 < clusters ? m.persistent_blocks / 2 : clusters);
    }
    if (wide && m.a_regs && p.cluster == 1)
        emu_launch(grid, 1, 1, THREADS, fp8_smem<256>(), [&] { moe_fp8_wgmma<EPI, 256, true>(a, b, c, p); });
    else if (wide)
        emu_launch_cluster(grid, 1, 1, p.cluster, THREADS, fp8_smem<256>(), [&] { moe_fp8_wgmma<EPI, 256>(a, b, c, p); });
    else if constexpr (EPI != MOE_EPI_SWIGLU_FP8) /* the fused quantization has the wide tile only */
        emu_launch(grid, 1, 1, THREADS, fp8_smem<128>(), [&] { moe_fp8_wgmma<EPI, 128>(a, b, c, p); });
    else
        printf("  FAIL: the fused quantization asked of a narrow tile\n");
    printf("  n %d: %d-column tiles, %d blocks%s for %d tiles, %s%s%s, scales %s%s\n", p.n, wide ? 256 : 128,
           grid, p.cluster == 2 ? " in two-block clusters" : "", tiles, m.turns ? "turns" : "no turns",
           m.turns && m.turns_from ? (" from k-tile " + std::to_string(m.turns_from)).c_str() : "",
           wide && m.a_regs && p.cluster == 1 ? ", A in registers" : "",
           m.scales_async ? "by cp.async" : "through registers",
           p.tma_store ? ", stores staged, sent by TMA" : p.staged ? ", stores staged" : "");
}

static int run(int T, int h, int f, int E, int k, int routing, const Mode &m)
{
    kb_shape s;
    kb_operands io;
    std::vector<int> mts;
    if (!moe_driver::case_inputs(T, h, f, E, k, routing, KB_DTYPE_FP8_E4M3, 7, BM, s, io, mts))
        return 1;
    const int slots = T * k;
    const int *off = (const int *)io.tensor[KB_MOE_EXPERTS_OFFSETS].data;
    /* setup: xp as bf16 (exact: e4m3 cases hold bf16 values); the weights quantized on the host */
    const float *xpf = (const float *)io.tensor[KB_MOE_EXPERTS_XP].data;
    std::vector<uint16_t> xp((size_t)slots * h);
    for (size_t i = 0; i < xp.size(); i++)
        xp[i] = bf16_code(xpf[i]);
    const int n13 = 2 * f;
    std::vector<uint8_t> w13((size_t)E * n13 * h), w2((size_t)E * h * f);
    std::vector<float> s13((size_t)E * (n13 / 128) * (h / 128)), s2((size_t)E * (h / 128) * (f / 128));
    const float *w1a = (const float *)io.tensor[KB_MOE_EXPERTS_W1].data, *w3a = (const float *)io.tensor[KB_MOE_EXPERTS_W3].data;
    const float *w2a = (const float *)io.tensor[KB_MOE_EXPERTS_W2].data;
    for (int e = 0; e < E; e++) {
        if (moe_fp8_quantize_w13(w1a + (size_t)e * h * f, w3a + (size_t)e * h * f, h, f, &w13[(size_t)e * n13 * h],
                                 &s13[(size_t)e * (n13 / 128) * (h / 128)]) != KB_OK ||
            moe_fp8_quantize_w2(w2a + (size_t)e * f * h, f, h, &w2[(size_t)e * h * f], &s2[(size_t)e * (h / 128) * (f / 128)]) != KB_OK)
            return 1;
    }
    int bad = 0;
    /* run: the launcher's sequence */
    std::vector<uint8_t> xq, hq;
    std::vector<float> xs, hs;
    bad += quantize(xp, h, slots, xq, xs, "xp");
    std::vector<uint16_t> hb((size_t)slots * f, 0x7fff), yp((size_t)slots * h, 0x7fff); /* NaN */
    const CUtensorMap a_up = map_of(xq.data(), slots, h), b_up = map_of(w13.data(), (long)E * n13, h);
    Args up = {};
    up.n = n13, up.ktiles = h / BK, up.groups = E, up.group_off = off, up.mtile_start = mts.data();
    up.sa = xs.data(), up.lds = slots, up.sb = s13.data(), up.c = hb.data(), up.ldc = f;
    const CUtensorMap none = {};
    gemm<MOE_EPI_SWIGLU>(a_up, b_up, none, up, mts[E], m);
    bad += quantize(hb, f, slots, hq, hs, "hb");
    if (m.wide) { /* the default up GEMM: h quantized in its epilogue, with hb and without */
        std::vector<uint8_t> fq((size_t)slots * f, 0xAA), fq2((size_t)slots * f, 0x55);
        std::vector<float> fs((size_t)(f / MOE_FP8_BLOCK) * slots, NAN), fs2(fs.size(), -1.f);
        std::vector<uint16_t> fb((size_t)slots * f, 0x7fff);
        Args fu = up;
        fu.c = fb.data(), fu.q = fq.data(), fu.qs = fs.data(), fu.ldqs = slots;
        gemm<MOE_EPI_SWIGLU_FP8>(a_up, b_up, store_map_of(fq.data(), slots, f, 1), fu, mts[E], m);
        fu.c = nullptr, fu.q = fq2.data(), fu.qs = fs2.data();
        gemm<MOE_EPI_SWIGLU_FP8>(a_up, b_up, store_map_of(fq2.data(), slots, f, 1), fu, mts[E], m);
        const long q_bad = moe_fp8_quantizer_mismatches(NULL, fb.data(), slots, f, fq.data(), fs.data());
        const bool same_h = fb == hb, same_codes = fq == fq2 && memcmp(fs.data(), fs2.data(), fs.size() * sizeof(float)) == 0,
                   same_as_pass = fq == hq && memcmp(fs.data(), hs.data(), fs.size() * sizeof(float)) == 0;
        printf("  fused quantization: %ld blocks differ from the host rule; hb %s; codes without hb %s; codes %s the "
               "separate pass's\n",
               q_bad, same_h ? "as MOE_EPI_SWIGLU's" : "DIFFERS from MOE_EPI_SWIGLU's", same_codes ? "the same" : "DIFFER",
               same_as_pass ? "equal" : "DIFFER from");
        bad += q_bad != 0 || !same_h || !same_codes || !same_as_pass;
    }
    const CUtensorMap a_down = map_of(hq.data(), slots, f), b_down = map_of(w2.data(), (long)E * h, f);
    Args down = {};
    down.n = h, down.ktiles = f / BK, down.groups = E, down.group_off = off, down.mtile_start = mts.data();
    down.sa = hs.data(), down.lds = slots, down.sb = s2.data(), down.c = yp.data(), down.ldc = h;
    gemm<MOE_EPI_BF16>(a_down, b_down, store_map_of(yp.data(), slots, h, 2), down, mts[E], m);

    /* float64 on the dequantized codes (moe_fp8_reference_row: what the kernel's check runs on
     * the GPU host): hb against SwiGLU(xq · W13), yp against hq · W2 */
    std::vector<double> hg, hr, yg, yr, hrow(f), yrow(h);
    for (int e = 0; e < E; e++) {
        moe_fp8_operands o = {};
        o.xq = xq.data(), o.hq = hq.data(), o.xs = xs.data(), o.hs = hs.data(), o.slots = slots, o.h = h, o.f = f;
        o.w13 = &w13[(size_t)e * n13 * h], o.s13 = &s13[(size_t)e * (n13 / 128) * (h / 128)];
        o.w2 = &w2[(size_t)e * h * f], o.s2 = &s2[(size_t)e * (h / 128) * (f / 128)];
        for (int r = off[e]; r < off[e + 1]; r++) {
            moe_fp8_reference_row(&o, r, 2, hrow.data(), yrow.data());
            for (int j = 0; j < f; j++)
                hr.push_back(hrow[j]), hg.push_back(bf16_value(hb[(size_t)r * f + j]));
            for (int c = 0; c < h; c++)
                yr.push_back(yrow[c]), yg.push_back(bf16_value(yp[(size_t)r * h + c]));
        }
    }
    const double eh = rel_l2(hg, hr), ey = rel_l2(yg, yr);
    const bool tight = eh <= MOE_FP8_KERNEL_TOLERANCE && ey <= MOE_FP8_KERNEL_TOLERANCE;
    printf("  on the dequantized codes: h rel_l2 %.3g, y rel_l2 %.3g (bound %.3g) %s\n", eh, ey, MOE_FP8_KERNEL_TOLERANCE,
           tight ? "ok" : "FAIL");
    bad += !tight;

    bad += !moe_driver::experts_verdict(io, s, KB_DTYPE_FP8_E4M3, 7, yp, h, "e4m3");
    return bad != 0;
}

/* EMU_ARGS="I": mode I alone (0-based, in the list below) */
int main(int argc, char **argv)
{
    int bad = 0;
    const Mode modes[] = { { false, true, 3, false, false, true, true, true },
                           { true, true, 3, false, false, true, true, true },
                           { true, true, 3, false, false, true, true, false, 2 },
                           { true, false, 0, false, false, false, true, true },
                           { true, true, 4, true, false, true, true, true, 1 },
                           { true, false, 0, true, false, true, true, true },
                           { true, true, 3, false, true, true, false, false } };
    const int only = argc > 1 ? atoi(argv[1]) : -1;
    for (int i = 0; i < (int)(sizeof modes / sizeof modes[0]); i++) {
        if (only >= 0 && i != only)
            continue;
        const Mode &m = modes[i];
        bad += run(101, 256, 256, 8, 2, KB_ROUTING_ZIPF, m);    /* 202 slots, skewed: a group past one row tile */
        bad += run(75, 128, 384, 6, 2, KB_ROUTING_UNIFORM, m);  /* 150 slots, 3 w13 column pairs */
        bad += run(150, 256, 128, 4, 1, KB_ROUTING_ONE, m);     /* every row to one expert (two row tiles), three empty groups */
        bad += run(301, 128, 256, 4, 2, KB_ROUTING_UNIFORM, m); /* 602 slots: groups of two row tiles and more */
        bad += run(91, 1664, 896, 3, 2, KB_ROUTING_ZIPF, m);    /* 13 and 7 k-tiles: the 4- and 6-stage rings turn over */
    }
    printf("%d failed\n", bad);
    return bad != 0;
}
