// ssd.cpp - attention.ssd's CUDA kernels (kernels/attention/ssd_dev.cu) run on the host under
// shim.h's emulation, in the launchers' order (chunked: states, scan, output per direction;
// recurrent; decode: the recurrent state build, then the step), on the operation's own inputs,
// judged by the operation's float64 verify. Outputs and scratch start as NaN, so an element a
// kernel fails to write fails the verdict. run.sh builds and runs it.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* ssd_dev.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/ssd.h"
#include "kernels/attention/ssd_ops.h"
}
#include <cstdio>
#include <cstdlib>

template <typename T, int S, int P>
static void chunked(const kb_shape &s, const ssd_cuda_args &a)
{
    const Dims d = dims_of(&s);
    const int nc = (d.n + CH - 1) / CH, bh = s.batch * s.heads;
    for (int dir = 0; dir < (s.causal ? 1 : 2); dir++) {
        emu_launch(nc, bh, 1, THREADS, states_smem<S, P>(), [&] {
            chunk_states_kernel<T, S, P>(d, (const T *)a.x, (const T *)a.b, a.dt, a.A, a.states, a.decays, nc, dir); });
        emu_launch((S * P + THREADS - 1) / THREADS, bh, 1, THREADS, 0, [&] {
            chunk_scan_kernel(a.states, a.decays, nc, S * P); });
        emu_launch(nc, bh, 1, THREADS, output_smem<S, P>(), [&] {
            chunk_output_kernel<T, S, P>(d, (const T *)a.x, (const T *)a.b, (const T *)a.c, a.dt, a.A, a.states, a.y,
                                         nc, dir); });
    }
}

template <typename T>
static void recurrent(const kb_shape &s, const ssd_cuda_args &a, float *y, float *state_out, int passes)
{
    const Dims d = dims_of(&s);
    emu_launch(s.batch * s.heads, (s.head_dim + RCOLS - 1) / RCOLS, 1, RCOLS * RT, recurrent_smem(&s), [&] {
        recurrent_kernel<T>(d, (const T *)a.x, (const T *)a.b, (const T *)a.c, a.dt, a.A, y, state_out, passes); });
}

template <typename T>
static void run_typed(const kb_shape &s, const ssd_cuda_args &a, int use_chunked)
{
    if (s.decode) { /* both kernels: ssd_cuda_build_states at setup, ssd_cuda_decode_launch per run */
        recurrent<T>(s, a, nullptr, a.states, 1);
        const Dims d = dims_of(&s);
        emu_launch(s.batch * s.heads, 1, 1, recurrent_threads(&s), 0, [&] {
            decode_kernel<T>(d, (const T *)a.x, (const T *)a.b, (const T *)a.c, a.dt, a.A, a.states, a.states_new,
                             a.y); });
    } else if (!use_chunked)
        recurrent<T>(s, a, a.y, nullptr, s.causal ? 1 : 2);
    else if (s.state == 64 && s.head_dim == 64)
        chunked<T, 64, 64>(s, a);
    else if (s.state == 128 && s.head_dim == 64)
        chunked<T, 128, 64>(s, a);
    else if (s.state == 64 && s.head_dim == 128)
        chunked<T, 64, 128>(s, a);
    else
        chunked<T, 128, 128>(s, a);
}

template <typename T>
static int run(enum kb_dtype dt, int use_chunked, int B, int H, int G, int N, int P, int S, int causal, int decode)
{
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = G; s.seq_len = N; s.head_dim = P; s.state = S; s.chunk = 64;
    s.causal = causal; s.decode = decode; s.input = KB_INPUT_NORMAL;
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
    std::vector<float> states(decode ? bh * sp : (size_t)bh * nc * sp, NAN), states_new(bh * sp, NAN),
        decays((size_t)bh * nc, NAN);
    ssd_cuda_args a = {};
    a.x = x.data(); a.b = b.data(); a.c = c.data();
    a.dt = (float *)io.buffer[KB_SSD_DT]; a.A = (float *)io.buffer[KB_SSD_A];
    a.y = y; a.states = states.data(); a.decays = decays.data(); a.states_new = states_new.data();
    run_typed<T>(s, a, use_chunked);
    kb_accuracy acc;
    kb_op_attention_ssd.verify(&io, &s, dt, 42, 1, &acc);
    printf("%s %s B=%d H=%d G=%d N=%d P=%d S=%d causal=%d decode=%d: rel_l2 %.3g max_abs %.3g %s\n",
           use_chunked ? "chunked  " : "recurrent", kb_dtype_name(dt), B, H, G, N, P, S, causal, decode, acc.rel_l2_err,
           acc.max_abs_err, acc.passed ? "PASS" : "FAIL");
    kb_operands_free(&io);
    return !acc.passed;
}

int main(int argc, char **argv)
{
    (void)argv;
    const int quick = argc > 1; /* any argument: the first cases only */
    int bad = 0;
    /* chunked: S and P 64 or 128, chunk 64; N not a multiple of it, one token, GQA, both forms */
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 2, 1, 77, 64, 64, 1, 0);
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 2, 2, 77, 64, 64, 0, 0);
    if (!quick) {
        bad += run<__half>(KB_DTYPE_F16, 1, 2, 2, 1, 150, 64, 128, 1, 0);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 3, 1, 131, 128, 64, 0, 0);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 1, 1, 1, 128, 128, 0, 0);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 1, 1, 64, 128, 128, 1, 0);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 4, 2, 521, 64, 64, 0, 0); /* 9 chunks: the scan's unrolled loop */
    }
    /* recurrent: any P <= 128 (column slices of 32), S <= 256 (8 threads a column) */
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 0, 1, 2, 1, 77, 64, 64, 1, 0);
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 0, 1, 2, 2, 77, 40, 20, 0, 0);
    if (!quick) {
        bad += run<__half>(KB_DTYPE_F16, 0, 2, 2, 1, 37, 72, 256, 1, 0);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 0, 1, 3, 3, 1, 128, 13, 0, 0);
    }
    /* decode (either kernel): the recurrent build, then one step; P x 8 threads */
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 1, 2, 1, 77, 64, 64, 1, 1);
    if (!quick) {
        bad += run<__half>(KB_DTYPE_F16, 0, 2, 2, 2, 19, 40, 24, 1, 1);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 0, 1, 1, 1, 5, 128, 256, 1, 1);
    }
    printf("%d failed\n", bad);
    return bad != 0;
}
