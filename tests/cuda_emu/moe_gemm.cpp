// moe_gemm.cpp - the grouped GEMM of moe.experts@cuda.wgmma and moe.layer@cuda.wgmma
// (kernels/moe/moe_gemm_wgmma.cu: wgmma m64n256k16 bf16, both operands from TMA-loaded shared
// memory, one 128 × 256 output tile a block) under hopper_emu.h, as on the GPU. The launcher
// sequence of moe_cuda.c's launch_experts_wg, its layouts rebuilt here: xp bf16 [slots][hp], the
// weights transposed (K-major) and padded to multiples of 8, w13t [E][2·fp][hp] with W1's and
// W3's columns interleaved by 8, w2t [E][hp][fp]; the up GEMM with the SwiGLU epilogue into hb,
// the down GEMM with the bf16 epilogue into yp, and again with moe.layer's scatter epilogue
// (y[slot / k] += gate[slot] · row, atomically) into a float y. On moe.experts' bf16 inputs:
// uneven groups, an empty expert, h and f that are not multiples of 8 (the padding), groups of
// more than one row tile, column tiles cut by n, k-loops that turn the 4-stage ring over.
// Judged three ways:
//   hb against float64 SwiGLU(xp · W13) of the same bf16 values (2^-7: bf16 output, f32 sums;
//     a wrong gate/up pairing, column tile or group's weights is off by order 1);
//   moe.experts' verify of yp at bf16 (float64 FFN on the inputs, its tolerance);
//   y against float64 Σ gate · (hb · W2) on the kernel's own hb (2^-12: f32 sums only).
#include "dev_emu.cpp" /* moe_gemm_wgmma.cu made C++ by run.sh */
extern "C" {
#include "kernels/moe/moe.h"
}
#include <cmath>
#include <cstdio>
#include <vector>

static float bf16_value(uint16_t b) { return __bfloat162float(__nv_bfloat16{ b }); }
static uint16_t bf16_code(float f) { return __float2bfloat16_rn(f).x; }
static int round8(int v) { return (v + 7) / 8 * 8; }

static double rel_l2(const std::vector<double> &got, const std::vector<double> &ref)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < got.size(); i++)
        e += (got[i] - ref[i]) * (got[i] - ref[i]), r += ref[i] * ref[i];
    return r > 0 ? sqrt(e / r) : sqrt(e);
}

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

/* one GEMM as moe_wg_gemm_launch runs it: a block a (column tile, row tile), blocks past the
 * last row tile return at once */
template <int EPI> static void gemm(const CUtensorMap &a, const CUtensorMap &b, const Args &p, int mtiles)
{
    const int blocks = (p.n + BN - 1) / BN * mtiles;
    emu_launch(blocks, 1, 1, THREADS, SMEM, [&] { moe_wgmma<EPI>(a, b, p); });
}

static int run(int T, int h, int f, int E, int k, int routing)
{
    kb_shape s = {};
    s.tokens = T, s.hidden = h, s.ffn = f, s.experts = E, s.top_k = k, s.routing = routing, s.input = KB_INPUT_NORMAL;
    kb_operands io = {};
    char err[256];
    if (kb_op_moe_experts.inputs(&io, &s, KB_DTYPE_BF16, 11, err, sizeof err) != KB_OK) {
        printf("inputs: %s\n", err);
        return 1;
    }
    const int slots = T * k, hp = round8(h), fp = round8(f), n13 = 2 * fp;
    const int *off = (const int *)io.tensor[KB_MOE_EXPERTS_OFFSETS].data;
    std::vector<int> mts(E + 1, 0);
    printf("T %d h %d f %d E %d k %d, groups:", T, h, f, E, k);
    for (int e = 0; e < E; e++) {
        mts[e + 1] = mts[e] + (off[e + 1] - off[e] + BM - 1) / BM;
        printf(" %d", off[e + 1] - off[e]);
    }
    printf("\n");
    /* the layouts moe_cuda.c uploads (the inputs hold bf16 values: exact) */
    const float *xpf = (const float *)io.tensor[KB_MOE_EXPERTS_XP].data;
    const float *w1 = (const float *)io.tensor[KB_MOE_EXPERTS_W1].data, *w3 = (const float *)io.tensor[KB_MOE_EXPERTS_W3].data;
    const float *w2 = (const float *)io.tensor[KB_MOE_EXPERTS_W2].data;
    std::vector<uint16_t> xp((size_t)slots * hp, 0), w13t((size_t)E * n13 * hp, 0), w2t((size_t)E * hp * fp, 0);
    for (int r = 0; r < slots; r++)
        for (int c = 0; c < h; c++)
            xp[(size_t)r * hp + c] = bf16_code(xpf[(size_t)r * h + c]);
    for (int e = 0; e < E; e++) {
        for (int i = 0; i < h; i++)
            for (int j = 0; j < f; j++) {
                const size_t row = (size_t)e * n13 + (size_t)(j / 8) * 16 + j % 8; /* W3's is 8 further */
                w13t[row * hp + i] = bf16_code(w1[((size_t)e * h + i) * f + j]);
                w13t[(row + 8) * hp + i] = bf16_code(w3[((size_t)e * h + i) * f + j]);
            }
        for (int i = 0; i < f; i++)
            for (int j = 0; j < h; j++)
                w2t[((size_t)e * hp + j) * fp + i] = bf16_code(w2[((size_t)e * f + i) * h + j]);
    }
    int bad = 0;
    std::vector<uint16_t> hb((size_t)slots * fp, 0x7fff), yp((size_t)slots * hp, 0x7fff); /* NaN */
    const CUtensorMap a_up = map_of(xp.data(), slots, hp, BM), b_up = map_of(w13t.data(), (long)E * n13, hp, BN);
    Args up = {};
    up.n = n13, up.ktiles = (hp + BK - 1) / BK, up.groups = E, up.group_off = off, up.mtile_start = mts.data();
    up.c = hb.data(), up.ldc = fp;
    gemm<MOE_EPI_SWIGLU>(a_up, b_up, up, mts[E]);
    const CUtensorMap a_down = map_of(hb.data(), slots, fp, BM), b_down = map_of(w2t.data(), (long)E * hp, fp, BN);
    Args down = {};
    down.n = hp, down.ktiles = (fp + BK - 1) / BK, down.groups = E, down.group_off = off, down.mtile_start = mts.data();
    down.c = yp.data(), down.ldc = hp;
    gemm<MOE_EPI_BF16>(a_down, b_down, down, mts[E]);
    /* moe.layer's down GEMM: every slot's row times its gate added into its token's row of y */
    std::vector<float> y((size_t)T * hp, 0.f), gate(slots);
    std::vector<int> index(slots);
    for (int r = 0; r < slots; r++)
        index[r] = r, gate[r] = 0.25f + 0.5f * (float)((r * 37) % 11) / 11.f;
    Args sc = down;
    sc.c = y.data(), sc.c_index = index.data(), sc.c_div = k, sc.c_scale = gate.data();
    gemm<MOE_EPI_SCATTER>(a_down, b_down, sc, mts[E]);

    /* float64 on the same bf16 values: hb against SwiGLU(xp · W13); y against Σ gate · (hb · W2) */
    std::vector<double> hg, hr, yg, yr;
    std::vector<double> yref((size_t)T * h, 0.0);
    for (int e = 0; e < E; e++)
        for (int r = off[e]; r < off[e + 1]; r++) {
            for (int j = 0; j < f; j++) {
                double g = 0, u = 0;
                for (int i = 0; i < h; i++) {
                    const double x = bf16_value(xp[(size_t)r * hp + i]);
                    g += x * (double)bf16_value(bf16_code(w1[((size_t)e * h + i) * f + j]));
                    u += x * (double)bf16_value(bf16_code(w3[((size_t)e * h + i) * f + j]));
                }
                hr.push_back(g / (1.0 + exp(-g)) * u), hg.push_back(bf16_value(hb[(size_t)r * fp + j]));
            }
            for (int c = 0; c < h; c++) {
                double v = 0;
                for (int j = 0; j < f; j++)
                    v += (double)bf16_value(hb[(size_t)r * fp + j]) * (double)bf16_value(w2t[((size_t)e * hp + c) * fp + j]);
                yref[(size_t)(r / k) * h + c] += gate[r] * v;
            }
        }
    for (int t = 0; t < T; t++)
        for (int c = 0; c < h; c++)
            yr.push_back(yref[(size_t)t * h + c]), yg.push_back(y[(size_t)t * hp + c]);
    const double eh = rel_l2(hg, hr), ey = rel_l2(yg, yr);
    const bool h_ok = eh <= 0x1p-7, y_ok = ey <= 0x1p-12;
    printf("  hb against float64 SwiGLU(xp · W13): rel_l2 %.3g (bound %.3g) %s\n", eh, 0x1p-7, h_ok ? "ok" : "FAIL");
    printf("  scattered y against float64 on its own hb: rel_l2 %.3g (bound %.3g) %s\n", ey, 0x1p-12, y_ok ? "ok" : "FAIL");
    bad += !h_ok + !y_ok;
    /* moe.experts' verdict at bf16 */
    float *out = (float *)io.buffer[KB_MOE_EXPERTS_YP];
    for (int r = 0; r < slots; r++)
        for (int c = 0; c < h; c++)
            out[(size_t)r * h + c] = bf16_value(yp[(size_t)r * hp + c]);
    kb_accuracy acc = {};
    kb_op_moe_experts.verify(&io, &s, KB_DTYPE_BF16, 11, 2, &acc);
    printf("  moe.experts verify (bf16): rel_l2 %.3g (tolerance %.3g) %s\n", acc.rel_l2_err, acc.tolerance,
           acc.passed ? "ok" : "FAIL");
    bad += !acc.passed;
    kb_operands_free(&io);
    return bad != 0;
}

int main()
{
    int bad = 0;
    bad += run(101, 200, 136, 8, 2, KB_ROUTING_ZIPF);   /* 202 slots, skewed; h and f padded to 8 */
    bad += run(75, 128, 384, 6, 2, KB_ROUTING_UNIFORM); /* n 768: three full column tiles */
    bad += run(150, 256, 72, 4, 1, KB_ROUTING_ONE);     /* every row to one expert (two row tiles), three empty */
    bad += run(91, 520, 264, 3, 2, KB_ROUTING_ZIPF);    /* 9 and 5 k-tiles: the ring turns over; n 528 cut */
    printf("%d failed\n", bad);
    return bad != 0;
}
