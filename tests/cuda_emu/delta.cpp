// delta.cpp - attention.delta's CUDA kernels (kernels/attention/delta_dev.cu) run on the host
// under shim.h's emulation, on the operation's own inputs, judged by the operation's float64
// verify: a check of the device code's logic (tiles, scan, triangular solve, decode) on a
// machine without a GPU. Not part of `make check`; run.sh builds and runs it. tests/gpu.sh
// verifies the same kernels on a real GPU.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* delta_dev.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/delta.h"
}
#include <cstdio>
#include <cstdlib>

static std::vector<__nv_bfloat16> to_bf16(const float *x, size_t n)
{
    std::vector<__nv_bfloat16> r(n);
    for (size_t i = 0; i < n; i++) { uint32_t u; memcpy(&u, &x[i], 4); r[i].x = (uint16_t)(u >> 16); }
    return r;
}

static void chunked_run(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, const float *beta,
                        const float *g, float *o, float *state_out, int T, int D, int N, int BH)
{
    const int nch = (N + C - 1) / C;
    std::vector<float> l((size_t)BH * nch * C * C, NAN), p(l.size(), NAN), sg((size_t)BH * nch * D * D, NAN),
        ug((size_t)BH * nch * C * D, NAN);
    emu_launch(BH, nch, 1, THREADS, smem_a(D) * 4, [&] {
        delta_lp_kernel<__nv_bfloat16>(q, k, beta, g, l.data(), p.data(), T, D, N); });
    emu_launch(BH, D / VS, 1, THREADS, smem_b(D) * 4, [&] {
        delta_state_kernel<__nv_bfloat16>(k, v, beta, g, l.data(), sg.data(), ug.data(), state_out, T, D, N, nch); });
    if (o)
        emu_launch(BH, nch, D / VS, THREADS, smem_c(D) * 4, [&] {
            delta_out_kernel<__nv_bfloat16>(q, g, p.data(), sg.data(), ug.data(), o, T, D, N); });
}

static int run(int B, int H, int N, int D, int decay, int decode, int chunked)
{
    struct kb_shape s = {};
    s.batch = B; s.heads = H; s.seq_len = N; s.head_dim = D; s.chunk = 64; s.decay = decay; s.decode = decode;
    s.input = KB_INPUT_NORMAL;
    struct kb_operands io = {};
    char err[256];
    if (kb_op_attention_delta.inputs(&io, &s, KB_DTYPE_BF16, 42, err, sizeof err) != KB_OK) { printf("inputs: %s\n", err); return 1; }
    int T = delta_tokens(&s), rows = decode ? 1 : N, BH = B * H;
    size_t nq = (size_t)BH * T * D;
    auto q = to_bf16((float *)io.buffer[KB_DELTA_Q], nq), k = to_bf16((float *)io.buffer[KB_DELTA_K], nq),
         v = to_bf16((float *)io.buffer[KB_DELTA_V], nq);
    const float *beta = (float *)io.buffer[KB_DELTA_BETA], *g = (float *)io.buffer[KB_DELTA_G];
    float *o = (float *)io.buffer[KB_DELTA_O];
    std::vector<float> st_in((size_t)BH * D * D), st_out((size_t)BH * D * D);
    if (!decode) {
        if (chunked)
            chunked_run(q.data(), k.data(), v.data(), beta, g, o, nullptr, T, D, N, BH);
        else
            emu_launch(BH, D / VS, 1, THREADS, 0, [&] {
                delta_recurrent_kernel<__nv_bfloat16>(q.data(), k.data(), v.data(), beta, g, o, nullptr, nullptr, T, D, 0, N); });
    } else {
        if (chunked)
            chunked_run(q.data(), k.data(), v.data(), beta, g, nullptr, st_in.data(), T, D, N, BH);
        else
            emu_launch(BH, D / VS, 1, THREADS, 0, [&] {
                delta_recurrent_kernel<__nv_bfloat16>(q.data(), k.data(), v.data(), beta, g, nullptr, nullptr, st_in.data(), T, D, 0, N); });
        emu_launch(BH, D / VS, 1, THREADS, 0, [&] {
            delta_recurrent_kernel<__nv_bfloat16>(q.data(), k.data(), v.data(), beta, g, o, st_in.data(), st_out.data(), T, D, N, N + 1); });
    }
    struct kb_accuracy acc;
    kb_op_attention_delta.verify(&io, &s, KB_DTYPE_BF16, 42, 1, &acc);
    printf("%s B=%d H=%d N=%d d=%d decay=%d decode=%d: rel_l2 %.3g max_abs %.3g %s\n", chunked ? "chunked  " : "recurrent", B, H,
           N, D, decay, decode, acc.rel_l2_err, acc.max_abs_err, acc.passed ? "PASS" : "FAIL");
    kb_operands_free(&io);
    return !acc.passed;
}

int main()
{
    int bad = 0;
    for (int chunked = 1; chunked >= 0; chunked--) {
        bad += run(1, 2, 77, 64, 0, 0, chunked);
        bad += run(1, 2, 300, 64, 1, 0, chunked);
        bad += run(2, 1, 130, 128, 1, 0, chunked);
        bad += run(1, 2, 1, 64, 0, 0, chunked);
        bad += run(1, 2, 200, 96, 1, 1, chunked);
    }
    printf("%d failed\n", bad);
    return bad != 0;
}
