// moe_driver.h - what every MoE driver shares (moe_fp8.cpp, and moe_gemm.cpp / moe_gemm_mma.cpp
// through moe_gemm_driver.h): one case's moe.experts inputs with its groups' row tiles, bf16
// conversions as the device rounds, and the relative L2 error. Include after the driver's
// dev_emu.cpp.
#ifndef KB_MOE_DRIVER_H
#define KB_MOE_DRIVER_H

extern "C" {
#include "kernels/moe/moe.h"
}
#include <cmath>
#include <cstdio>
#include <vector>

namespace moe_driver {

inline float bf16_value(uint16_t b) { return __bfloat162float(__nv_bfloat16{ b }); }
inline uint16_t bf16_code(float f) { return __float2bfloat16_rn(f).x; }

inline double rel_l2(const std::vector<double> &got, const std::vector<double> &ref)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < got.size(); i++)
        e += (got[i] - ref[i]) * (got[i] - ref[i]), r += ref[i] * ref[i];
    return r > 0 ? sqrt(e / r) : sqrt(e);
}

/* moe.experts' inputs of a case (T tokens, hidden h, ffn f, E experts, top-k, a routing skew) at
 * dtype t into io and s, and mts[e]: the row tiles of bm rows of the groups before e, as the
 * sort's scan writes them; prints the groups. False (saying why) if the operation refuses. */
inline bool case_inputs(int T, int h, int f, int E, int k, int routing, kb_dtype t, uint64_t seed, int bm, kb_shape &s,
                        kb_operands &io, std::vector<int> &mts)
{
    s = {};
    s.tokens = T, s.hidden = h, s.ffn = f, s.experts = E, s.top_k = k, s.routing = routing, s.input = KB_INPUT_NORMAL;
    io = {};
    char err[256];
    if (kb_op_moe_experts.inputs(&io, &s, t, seed, err, sizeof err) != KB_OK) {
        printf("inputs: %s\n", err);
        return false;
    }
    const int *off = (const int *)io.tensor[KB_MOE_EXPERTS_OFFSETS].data;
    mts.assign(E + 1, 0);
    printf("T %d h %d f %d E %d k %d, groups:", T, h, f, E, k);
    for (int e = 0; e < E; e++) {
        mts[e + 1] = mts[e] + (off[e + 1] - off[e] + bm - 1) / bm;
        printf(" %d", off[e + 1] - off[e]);
    }
    printf("\n");
    return true;
}

/* moe.experts' verdict on yp, bf16 [slots][ld] (its first h columns the output), as the
 * harness gives it (float64 FFN on the inputs, the operation's tolerance at dtype t); frees io.
 * True if it passed. */
inline bool experts_verdict(kb_operands &io, const kb_shape &s, kb_dtype t, uint64_t seed, const std::vector<uint16_t> &yp,
                            int ld, const char *what)
{
    const int slots = s.tokens * s.top_k, h = s.hidden;
    float *out = (float *)io.buffer[KB_MOE_EXPERTS_YP];
    for (int r = 0; r < slots; r++)
        for (int col = 0; col < h; col++)
            out[(size_t)r * h + col] = bf16_value(yp[(size_t)r * ld + col]);
    kb_accuracy acc = {};
    kb_op_moe_experts.verify(&io, &s, t, seed, 2, &acc);
    printf("  moe.experts verify (%s): rel_l2 %.3g (tolerance %.3g) %s\n", what, acc.rel_l2_err, acc.tolerance,
           acc.passed ? "ok" : "FAIL");
    kb_operands_free(&io);
    return acc.passed;
}

} // namespace moe_driver

#endif
