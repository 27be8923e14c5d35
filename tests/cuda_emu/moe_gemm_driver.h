// moe_gemm_driver.h - what the two bf16 grouped-GEMM drivers share beyond moe_driver.h
// (moe_gemm.cpp: the wgmma kernel of moe_gemm_wgmma.cu; moe_gemm_mma.cpp: the mma.sync kernel of
// moe_gemm_mma.cu): one
// case's moe.experts bf16 inputs in the layouts moe_cuda.c uploads (xp bf16 [slots][hp]; the
// weights padded to multiples of 8, with W1's and W3's columns interleaved by 8: w13 [E][hp][2·fp]
// and w2 [E][fp][hp] for mma.sync, transposed (K-major) w13t [E][2·fp][hp] and w2t [E][hp][fp] for
// wgmma), the driver's launches (the up GEMM with the SwiGLU epilogue into hb, the down GEMM
// with the bf16 epilogue into yp, and again with moe.layer's scatter epilogue, y[slot / k] +=
// gate[slot] · row, into a float y), and the verdicts:
//   hb against float64 SwiGLU(xp · W13) of the same bf16 values (2^-7: bf16 output, f32 sums;
//     a wrong gate/up pairing, column tile or group's weights is off by order 1);
//   moe.experts' verify of yp at bf16 (float64 FFN on the inputs, its tolerance);
//   y against float64 Σ gate · (hb · W2) on the kernel's own hb (2^-12: f32 sums only).
// Include after the driver's dev_emu.cpp.
#ifndef KB_MOE_GEMM_DRIVER_H
#define KB_MOE_GEMM_DRIVER_H

#include "moe_driver.h"

struct MoeGemmCase {
    int T, h, f, E, k, slots, hp, fp;
    const int *off;
    std::vector<int> mts; /* row tiles of the groups before each, as the sort's scan writes them */
    std::vector<uint16_t> xp, w13, w2, w13t, w2t;
    std::vector<uint16_t> hb, yp; /* outputs, NaN until written */
    std::vector<float> y, gate;   /* the scatter's output and its gates */
    std::vector<int> index;       /* the scatter's assignment of each slot (the identity here) */
};

/* One case: launch(c) runs the three GEMMs into c.hb, c.yp and c.y; 1 if a verdict fails. */
template <class Launch> int moe_gemm_run(int T, int h, int f, int E, int k, int routing, Launch launch)
{
    using namespace moe_driver;
    kb_shape s;
    kb_operands io;
    MoeGemmCase c;
    if (!case_inputs(T, h, f, E, k, routing, KB_DTYPE_BF16, 11, MOE_CUDA_BM, s, io, c.mts))
        return 1;
    /* hp, fp: moe_cuda_host.h's moe_round8, which this build cannot include (it brings the real
     * CUDA runtime's headers, which the emulated ones replace) */
    c.T = T, c.h = h, c.f = f, c.E = E, c.k = k, c.slots = T * k, c.hp = (h + 7) / 8 * 8, c.fp = (f + 7) / 8 * 8;
    const int slots = c.slots, hp = c.hp, fp = c.fp, n13 = 2 * fp;
    c.off = (const int *)io.tensor[KB_MOE_EXPERTS_OFFSETS].data;
    const int *off = c.off;
    /* the layouts moe_cuda.c uploads (the inputs hold bf16 values: exact) */
    const float *xpf = (const float *)io.tensor[KB_MOE_EXPERTS_XP].data;
    const float *w1 = (const float *)io.tensor[KB_MOE_EXPERTS_W1].data, *w3 = (const float *)io.tensor[KB_MOE_EXPERTS_W3].data;
    const float *w2 = (const float *)io.tensor[KB_MOE_EXPERTS_W2].data;
    c.xp.assign((size_t)slots * hp, 0);
    c.w13.assign((size_t)E * hp * n13, 0), c.w13t.assign((size_t)E * n13 * hp, 0);
    c.w2.assign((size_t)E * fp * hp, 0), c.w2t.assign((size_t)E * hp * fp, 0);
    for (int r = 0; r < slots; r++)
        for (int col = 0; col < h; col++)
            c.xp[(size_t)r * hp + col] = bf16_code(xpf[(size_t)r * h + col]);
    for (int e = 0; e < E; e++) {
        for (int i = 0; i < h; i++)
            for (int j = 0; j < f; j++) {
                const size_t col = (size_t)(j / 8) * 16 + j % 8; /* W3's is 8 further */
                const uint16_t g = bf16_code(w1[((size_t)e * h + i) * f + j]), u = bf16_code(w3[((size_t)e * h + i) * f + j]);
                c.w13[((size_t)e * hp + i) * n13 + col] = g, c.w13[((size_t)e * hp + i) * n13 + col + 8] = u;
                c.w13t[((size_t)e * n13 + col) * hp + i] = g, c.w13t[((size_t)e * n13 + col + 8) * hp + i] = u;
            }
        for (int i = 0; i < f; i++)
            for (int j = 0; j < h; j++) {
                const uint16_t v = bf16_code(w2[((size_t)e * f + i) * h + j]);
                c.w2[((size_t)e * fp + i) * hp + j] = v, c.w2t[((size_t)e * hp + j) * fp + i] = v;
            }
    }
    c.hb.assign((size_t)slots * fp, 0x7fff), c.yp.assign((size_t)slots * hp, 0x7fff); /* NaN */
    c.y.assign((size_t)T * hp, 0.f), c.gate.resize(slots), c.index.resize(slots);
    for (int r = 0; r < slots; r++)
        c.index[r] = r, c.gate[r] = 0.25f + 0.5f * (float)((r * 37) % 11) / 11.f;
    launch(c);

    /* float64 on the same bf16 values: hb against SwiGLU(xp · W13); y against Σ gate · (hb · W2) */
    std::vector<double> hg, hr, yg, yr, yref((size_t)T * h, 0.0);
    for (int e = 0; e < E; e++)
        for (int r = off[e]; r < off[e + 1]; r++) {
            for (int j = 0; j < f; j++) {
                double g = 0, u = 0;
                for (int i = 0; i < h; i++) {
                    const double x = bf16_value(c.xp[(size_t)r * hp + i]);
                    g += x * (double)bf16_value(bf16_code(w1[((size_t)e * h + i) * f + j]));
                    u += x * (double)bf16_value(bf16_code(w3[((size_t)e * h + i) * f + j]));
                }
                hr.push_back(g / (1.0 + exp(-g)) * u), hg.push_back(bf16_value(c.hb[(size_t)r * fp + j]));
            }
            for (int col = 0; col < h; col++) {
                double v = 0;
                for (int j = 0; j < f; j++)
                    v += (double)bf16_value(c.hb[(size_t)r * fp + j]) * (double)bf16_value(c.w2t[((size_t)e * hp + col) * fp + j]);
                yref[(size_t)(r / k) * h + col] += c.gate[r] * v;
            }
        }
    for (int t = 0; t < T; t++)
        for (int col = 0; col < h; col++)
            yr.push_back(yref[(size_t)t * h + col]), yg.push_back(c.y[(size_t)t * hp + col]);
    const double eh = rel_l2(hg, hr), ey = rel_l2(yg, yr);
    const bool h_ok = eh <= 0x1p-7, y_ok = ey <= 0x1p-12;
    printf("  hb against float64 SwiGLU(xp · W13): rel_l2 %.3g (bound %.3g) %s\n", eh, 0x1p-7, h_ok ? "ok" : "FAIL");
    printf("  scattered y against float64 on its own hb: rel_l2 %.3g (bound %.3g) %s\n", ey, 0x1p-12, y_ok ? "ok" : "FAIL");
    int bad = !h_ok + !y_ok;
    bad += !experts_verdict(io, s, KB_DTYPE_BF16, 11, c.yp, hp, "bf16");
    return bad != 0;
}

/* The cases both drivers run. */
template <class Launch> int moe_gemm_cases(Launch launch)
{
    int bad = 0;
    bad += moe_gemm_run(101, 200, 136, 8, 2, KB_ROUTING_ZIPF, launch);   /* 202 slots, skewed; h and f padded to 8 */
    bad += moe_gemm_run(75, 128, 384, 6, 2, KB_ROUTING_UNIFORM, launch); /* n 768: whole column tiles */
    bad += moe_gemm_run(150, 256, 72, 4, 1, KB_ROUTING_ONE, launch);     /* all rows to one expert, three empty */
    bad += moe_gemm_run(91, 520, 264, 3, 2, KB_ROUTING_ZIPF, launch);    /* long k: the rings turn over; n 528 cut */
    printf("%d failed\n", bad);
    return bad != 0;
}

#endif
