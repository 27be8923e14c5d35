// ssd_mma.cpp - attention.ssd@cuda.mma's kernels (kernels/attention/ssd_mma.cu) run on the host
// under shim.h's threads and ptx_emu.h's ldmatrix / mma.sync / cp.async, in the launcher's order
// (per direction: states, scan, output) with its grids, on the operation's own inputs, judged by
// the operation's float64 verify. Outputs and scratch start as NaN. run.sh builds and runs it.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* ssd_mma.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/ssd.h"
#include "kernels/attention/ssd_ops.h"
}
#include <cstdio>
#include <cstdlib>
#include <type_traits>

template <int S, int P, bool BF16>
static void launch_emu(const kb_shape &s, const ssd_cuda_args &a)
{
    Geo d;
    d.H = s.heads;
    d.G = s.kv_heads;
    d.n = s.seq_len;
    d.T = s.seq_len;
    d.nc = (d.n + CH - 1) / CH;
    const uint16_t *x = (const uint16_t *)a.x, *b = (const uint16_t *)a.b, *c = (const uint16_t *)a.c;
    uint16_t *prefix = (uint16_t *)a.prefix;
    for (int dir = 0; dir < (s.causal ? 1 : 2); dir++) {
        emu_launch(d.nc, s.heads, s.batch, THREADS, states_smem<S, P>(), [&] {
            ssd_mma_states<S, P, BF16>(d, x, b, a.dt, a.A, a.states, a.decays, dir); });
        emu_launch((S * P / 2 + 255) / 256, s.heads, s.batch, 256, 0, [&] {
            ssd_mma_scan<BF16>(d, a.states, a.decays, prefix, S * P / 2); });
        emu_launch(d.nc, s.heads, s.batch, THREADS, output_smem<S, P>(), [&] {
            ssd_mma_output<S, P, BF16>(d, x, b, c, a.dt, a.A, prefix, a.y, dir); });
    }
}

template <bool BF16> static void launch_sized_emu(const kb_shape &s, const ssd_cuda_args &a)
{
    if (s.state == 64 && s.head_dim == 64)
        launch_emu<64, 64, BF16>(s, a);
    else if (s.state == 128 && s.head_dim == 64)
        launch_emu<128, 64, BF16>(s, a);
    else if (s.state == 64 && s.head_dim == 128)
        launch_emu<64, 128, BF16>(s, a);
    else
        launch_emu<128, 128, BF16>(s, a);
}

template <typename T>
static int run(enum kb_dtype dt, int B, int H, int G, int N, int P, int S, int causal)
{
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = G; s.seq_len = N; s.head_dim = P; s.state = S; s.chunk = 64;
    s.causal = causal; s.input = KB_INPUT_NORMAL;
    kb_operands io = {};
    char err[256];
    if (kb_op_attention_ssd.inputs(&io, &s, dt, 42, err, sizeof err) != KB_OK) { printf("inputs: %s\n", err); return 1; }
    const int nc = (N + CH - 1) / CH, bh = B * H;
    auto x = emu_convert<T>((float *)io.buffer[KB_SSD_X], kb_operands_elems(&io, KB_SSD_X));
    auto b = emu_convert<T>((float *)io.buffer[KB_SSD_B], kb_operands_elems(&io, KB_SSD_B));
    auto c = emu_convert<T>((float *)io.buffer[KB_SSD_C], kb_operands_elems(&io, KB_SSD_C));
    float *y = (float *)io.buffer[KB_SSD_Y];
    const size_t ny = kb_operands_elems(&io, KB_SSD_Y), sp = (size_t)S * P;
    std::fill(y, y + ny, NAN);
    std::vector<float> states((size_t)bh * nc * sp, NAN), decays((size_t)bh * nc, NAN);
    std::vector<uint16_t> prefix((size_t)bh * nc * sp, 0x7fff); /* NaN in f16 and bf16 */
    ssd_cuda_args a = {};
    a.x = x.data(); a.b = b.data(); a.c = c.data();
    a.dt = (float *)io.buffer[KB_SSD_DT]; a.A = (float *)io.buffer[KB_SSD_A];
    a.y = y; a.states = states.data(); a.decays = decays.data(); a.prefix = prefix.data();
    launch_sized_emu<std::is_same<T, __nv_bfloat16>::value>(s, a);
    kb_accuracy acc;
    kb_op_attention_ssd.verify(&io, &s, dt, 42, 1, &acc);
    printf("mma %s B=%d H=%d G=%d N=%d P=%d S=%d causal=%d: rel_l2 %.3g max_abs %.3g %s\n", kb_dtype_name(dt), B, H,
           G, N, P, S, causal, acc.rel_l2_err, acc.max_abs_err, acc.passed ? "PASS" : "FAIL");
    kb_operands_free(&io);
    return !acc.passed;
}

int main(int argc, char **argv)
{
    (void)argv;
    const int quick = argc > 1; /* any argument: the first cases only */
    int bad = 0;
    /* a ragged chunk, one group of two heads, both forms; then every S, P; f16; GQA; batch */
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 2, 1, 77, 64, 64, 1);
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 2, 1, 77, 64, 64, 0);
    if (!quick) {
        bad += run<__half>(KB_DTYPE_F16, 1, 2, 1, 77, 64, 64, 1);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 1, 1, 128, 128, 1);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 1, 1, 64, 64, 0);
        bad += run<__half>(KB_DTYPE_F16, 2, 4, 2, 150, 64, 128, 1);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 4, 2, 131, 128, 64, 0);
        bad += run<__half>(KB_DTYPE_F16, 1, 2, 1, 200, 128, 128, 0);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 1, 64, 128, 128, 1);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 2, 1, 600, 64, 64, 1); /* 10 chunks: the scan's unrolled loop */
    }
    printf("%d failed\n", bad);
    return bad != 0;
}
