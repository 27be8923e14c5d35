// delta_mma.cpp - attention.delta@cuda.mma's three passes (kernels/attention/delta_mma.cu) run on
// the host under shim.h with ptx_emu.h standing in for ldmatrix, mma.sync and cp.async, on the
// operation's own inputs (f16 and bf16), judged by the operation's float64 verify: a check of
// the fragment layouts, masks, the forward substitution and the state pass's staging on a
// machine without a GPU. Scratch is poisoned with NaN. Not part of `make check`; run.sh builds
// and runs it. tests/gpu.sh verifies the same kernels on a real GPU.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* delta_mma.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/delta.h"
#include "kernels/verify.h"
}
#include <cstdio>
#include <cstdlib>

static std::vector<uint16_t> to16(const float *x, size_t n, bool bf16)
{
    std::vector<uint16_t> r(n);
    for (size_t i = 0; i < n; i++)
        r[i] = bf16 ? __float2bfloat16_rn(x[i]).x : __float2half_rn(x[i]).x;
    return r;
}

static bool g_out_split; /* the output pass at 64 channels a block (KBENCH_DELTA_OUT=split) */

template <int D, int DV, int ST, bool BF16>
static void mma_run(const uint16_t *q, const uint16_t *k, const uint16_t *v, const float *beta, const float *g, float *o,
                    float *state_out, int T, int N, int BH)
{
    const int nch = (N + C - 1) / C;
    const size_t rows = (size_t)BH * nch * C * D;
    const uint16_t nan16 = BF16 ? 0x7FC0 : 0x7E00;
    std::vector<uint16_t> W(rows, nan16), U(rows, nan16), Kt(rows, nan16), Vn(rows, nan16),
        S((size_t)BH * nch * D * D, nan16);
    std::vector<float> gam((size_t)BH * nch * C, NAN);
    emu_launch(nch, BH, 1, 128, prep_smem_bytes<D>(), [&] {
        delta_mma_prep<D, BF16>(k, v, beta, g, W.data(), U.data(), Kt.data(), gam.data(), T, N); });
    emu_launch(D / DV, BH, 1, STATE_THREADS, state_smem_bytes<D, DV, ST>(), [&] {
        delta_mma_state<D, DV, ST, BF16>(W.data(), U.data(), Kt.data(), gam.data(), Vn.data(), S.data(), state_out, N, nch); });
    if (o) { /* O in the 16-bit dtype (poisoned), widened into the operation's float32 output */
        std::vector<uint16_t> o16((size_t)BH * N * D, nan16);
        if (g_out_split && D > 64)
            emu_launch(nch, BH, D / 64, 128, out_smem_bytes<D, 64>(), [&] {
                delta_mma_out<D, (D > 64 ? 64 : D), BF16>(q, k, Vn.data(), S.data(), gam.data(), o16.data(), T, N); });
        else
            emu_launch(nch, BH, 1, 128, out_smem_bytes<D>(), [&] {
                delta_mma_out<D, D, BF16>(q, k, Vn.data(), S.data(), gam.data(), o16.data(), T, N); });
        for (size_t i = 0; i < o16.size(); i++)
            o[i] = BF16 ? __bfloat162float(__nv_bfloat16{ o16[i] }) : __half2float(__half{ o16[i] });
    }
}

/* Relative L2 error of the state pass's final state (what decode starts from) against the float64
 * recurrence over the same 16-bit inputs, all heads. */
static double state_error(const uint16_t *k16, const uint16_t *v16, const float *beta, const float *g, const float *st,
                          int T, int N, int D, int BH, bool bf16)
{
    auto f = [&](uint16_t h) { return bf16 ? __bfloat162float(__nv_bfloat16{ h }) : __half2float(__half{ h }); };
    double err = 0, ref = 0;
    std::vector<double> S((size_t)D * D), kn(D), u(D);
    for (int h = 0; h < BH; h++) {
        std::fill(S.begin(), S.end(), 0.0);
        for (int t = 0; t < N; t++) {
            const uint16_t *k = k16 + ((size_t)h * T + t) * D, *v = v16 + ((size_t)h * T + t) * D;
            double ss = 0;
            for (int i = 0; i < D; i++)
                ss += (double)f(k[i]) * f(k[i]);
            for (int i = 0; i < D; i++)
                kn[i] = ss > 0 ? f(k[i]) / sqrt(ss) : 0.0;
            const double a = exp((double)g[(size_t)h * T + t]), b = beta[(size_t)h * T + t];
            for (int j = 0; j < D; j++) {
                double x = 0;
                for (int i = 0; i < D; i++)
                    x += S[(size_t)i * D + j] * kn[i];
                u[j] = b * (f(v[j]) - a * x);
            }
            for (int i = 0; i < D; i++)
                for (int j = 0; j < D; j++)
                    S[(size_t)i * D + j] = a * S[(size_t)i * D + j] + kn[i] * u[j];
        }
        for (size_t e = 0; e < S.size(); e++) {
            const double d = st[(size_t)h * D * D + e] - S[e];
            err += d * d;
            ref += S[e] * S[e];
        }
    }
    return ref > 0 ? sqrt(err / ref) : sqrt(err);
}

static int run(int B, int H, int N, int D, int decay, bool bf16, int vs = 0, int stages = 2)
{
    if (!vs) /* kbench's default width at this d */
        vs = DELTA_MMA_VS(D);
    struct kb_shape s = {};
    s.batch = B; s.heads = H; s.seq_len = N; s.head_dim = D; s.chunk = 64; s.decay = decay;
    s.input = KB_INPUT_NORMAL;
    const enum kb_dtype t = bf16 ? KB_DTYPE_BF16 : KB_DTYPE_F16;
    struct kb_operands io = {};
    char err[256];
    if (kb_op_attention_delta.inputs(&io, &s, t, 42, err, sizeof err) != KB_OK) { printf("inputs: %s\n", err); return 1; }
    const int T = delta_tokens(&s), BH = B * H;
    const size_t nq = (size_t)BH * T * D;
    auto q = to16((float *)io.buffer[KB_DELTA_Q], nq, bf16), k = to16((float *)io.buffer[KB_DELTA_K], nq, bf16),
         v = to16((float *)io.buffer[KB_DELTA_V], nq, bf16);
    const float *beta = (float *)io.buffer[KB_DELTA_BETA], *g = (float *)io.buffer[KB_DELTA_G];
    float *o = (float *)io.buffer[KB_DELTA_O];
    std::vector<float> st((size_t)BH * D * D, NAN);
#define MMA_RUN(d, vw, b) \
    (stages == 4 ? mma_run<d, vw, 4, b>(q.data(), k.data(), v.data(), beta, g, o, st.data(), T, N, BH) : \
     stages == 3 ? mma_run<d, vw, 3, b>(q.data(), k.data(), v.data(), beta, g, o, st.data(), T, N, BH) \
                 : mma_run<d, vw, 2, b>(q.data(), k.data(), v.data(), beta, g, o, st.data(), T, N, BH))
    if (vs == 16 && D == 128 && stages == 2) /* the 16-wide blocks (the default at d 128) */
        bf16 ? mma_run<128, 16, 2, true>(q.data(), k.data(), v.data(), beta, g, o, st.data(), T, N, BH)
             : mma_run<128, 16, 2, false>(q.data(), k.data(), v.data(), beta, g, o, st.data(), T, N, BH);
    else if (vs == 64) /* the state pass's 64-wide blocks (KBENCH_DELTA_VS=64) */
        D == 64 ? (bf16 ? MMA_RUN(64, 64, true) : MMA_RUN(64, 64, false))
                : (bf16 ? MMA_RUN(128, 64, true) : MMA_RUN(128, 64, false));
    else /* 32 (the default at d 64) */
        D == 64 ? (bf16 ? MMA_RUN(64, 32, true) : MMA_RUN(64, 32, false))
                : (bf16 ? MMA_RUN(128, 32, true) : MMA_RUN(128, 32, false));
#undef MMA_RUN
    const double serr = state_error(k.data(), v.data(), beta, g, st.data(), T, N, D, BH, bf16);
    struct kb_accuracy acc;
    kb_op_attention_delta.verify(&io, &s, t, 42, 1, &acc);
    const bool ok = acc.passed && serr <= verify_default_tolerance(t); /* NaN fails */
    printf("mma %s%s vs=%d stages=%d B=%d H=%d N=%d d=%d decay=%d: rel_l2 %.3g max_abs %.3g, final state rel_l2 %.3g: %s\n",
           bf16 ? "bf16" : "f16 ", g_out_split ? " out-split" : "", vs, stages, B, H, N, D, decay, acc.rel_l2_err, acc.max_abs_err, serr, ok ? "PASS" : "FAIL");
    kb_operands_free(&io);
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc == 7 || argc == 8) /* one case: B H N d decay bf16 [vs] (e.g. a long one by hand) */
        return run(atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]) != 0,
                   argc == 8 ? atoi(argv[7]) : 0);
    int bad = 0;
    bad += run(1, 2, 77, 64, 0, true);
    bad += run(1, 2, 77, 64, 1, false);
    bad += run(2, 1, 130, 128, 1, true);
    bad += run(1, 2, 1, 64, 0, false);
    bad += run(1, 2, 200, 128, 0, false);
    bad += run(1, 2, 300, 64, 1, true);
    /* the 64-wide state blocks: both dtypes, d 64 and 128, decay 0 and 1, N not a multiple of 64;
     * N = 130..300: 3..5 chunks, so the three-stage ring wraps */
    bad += run(1, 2, 77, 64, 0, true, 64);
    bad += run(1, 2, 150, 64, 1, false, 64);
    bad += run(2, 1, 130, 128, 1, true, 64);
    bad += run(1, 2, 200, 128, 0, false, 64);
    bad += run(1, 1, 1, 128, 1, false, 64);
    bad += run(1, 2, 300, 64, 1, true, 64);
    /* the state pass's ring at three stages (kbench builds two since the H100 measured no gain;
     * the ring is written for any depth and these keep it so), both widths: 1, 2 (no chunk two
     * ahead), 3 and 5 chunks (the ring wraps) */
    bad += run(1, 2, 77, 64, 1, true, 32, 3);
    bad += run(2, 1, 130, 128, 1, true, 32, 3);
    bad += run(1, 2, 300, 128, 0, false, 32, 3);
    bad += run(1, 1, 1, 64, 0, false, 64, 3);
    bad += run(1, 2, 200, 64, 1, true, 64, 3);
    bad += run(1, 2, 300, 128, 1, false, 64, 3);
    /* four stages (32 channels): 1, 2, 3 (no chunk three ahead), 4 and 5 chunks (the ring wraps) */
    bad += run(1, 2, 1, 128, 1, true, 32, 4);
    bad += run(1, 2, 77, 64, 1, false, 32, 4);
    bad += run(2, 1, 130, 128, 0, true, 32, 4);
    bad += run(1, 2, 200, 128, 1, false, 32, 4);
    bad += run(1, 2, 300, 64, 1, true, 32, 4);
    /* the output pass at 64 channels a block (KBENCH_DELTA_OUT=split): d 128 (two blocks a
     * chunk) and 64 (one, the same kernel), both dtypes, N not a multiple of 64 */
    g_out_split = true;
    bad += run(1, 2, 77, 128, 1, true);
    bad += run(2, 1, 130, 128, 0, false);
    bad += run(1, 2, 300, 128, 1, false);
    bad += run(1, 1, 1, 128, 0, true);
    bad += run(1, 2, 150, 64, 1, true);
    g_out_split = false;
    /* the 32-wide state pass at d = 128 (KBENCH_DELTA_VS=32; 16 is the default there): 1, 2, 3
     * and 5 chunks, both dtypes, gated or not, batch 2 */
    bad += run(1, 2, 1, 128, 1, true, 32);
    bad += run(1, 2, 77, 128, 0, false, 32);
    bad += run(2, 1, 130, 128, 1, true, 32);
    bad += run(1, 2, 300, 128, 1, false, 32);
    printf("%d failed\n", bad);
    return bad != 0;
}
