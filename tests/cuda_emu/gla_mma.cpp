// gla_mma.cpp - attention.gla@cuda.mma's kernels (kernels/attention/gla_mma.cu, verified on an
// H100 by tests/gpu.sh) under ptx_emu.h: a check of the emulation itself, since a kernel whose
// fragment walks the hardware accepts must pass here too; then the same emulation judges new
// mma kernels (ssd_mma.cpp). Launcher order and grids; operands, scratch and output as the
// CUDA descriptor has them (16-bit q, k, v, gates and o); judged by attention.gla's verify.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* gla_mma.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/linear_ops.h"
}
#include <cstdio>
#include <cstdlib>
#include <type_traits>

template <typename T, int D>
static int run(enum kb_dtype dt, int B, int H, int KV, int N)
{
    constexpr bool BF16 = std::is_same<T, __nv_bfloat16>::value;
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = KV; s.seq_len = N; s.head_dim = D; s.chunk = CHUNK; s.causal = 1;
    s.input = KB_INPUT_NORMAL;
    kb_operands io = {};
    char err[256];
    if (kb_op_attention_gla.inputs(&io, &s, dt, 42, err, sizeof err) != KB_OK) { printf("inputs: %s\n", err); return 1; }
    const int nc = (N + CHUNK - 1) / CHUNK;
    auto q = emu_convert<T>((float *)io.buffer[KB_GLA_Q], kb_operands_elems(&io, KB_GLA_Q));
    auto k = emu_convert<T>((float *)io.buffer[KB_GLA_K], kb_operands_elems(&io, KB_GLA_K));
    auto v = emu_convert<T>((float *)io.buffer[KB_GLA_V], kb_operands_elems(&io, KB_GLA_V));
    auto g = emu_convert<T>((float *)io.buffer[KB_GLA_G], kb_operands_elems(&io, KB_GLA_G));
    const size_t no = kb_operands_elems(&io, KB_GLA_O);
    std::vector<uint16_t> o(no, 0x7fff); /* NaN in f16 and bf16 */
    std::vector<float> local((size_t)B * H * nc * (D + 1) * D, NAN);
    std::vector<uint16_t> prefix((size_t)B * H * nc * D * D, 0x7fff);
    const uint16_t *Q = (const uint16_t *)q.data(), *K = (const uint16_t *)k.data(), *V = (const uint16_t *)v.data();
    const uint16_t *G = (const uint16_t *)g.data();
    const size_t smem1 = (size_t)3 * CHUNK * D * sizeof(uint16_t);
    const size_t smem3 = ((size_t)4 * CHUNK * D + (size_t)D * D) * sizeof(uint16_t) + (size_t)TILES * D * sizeof(float);
    emu_launch(nc, H, B, THREADS, smem1, [&] { gla_local<D, BF16>(K, V, G, local.data(), N, H, KV, nc); });
    emu_launch((D * D + 255) / 256, H, B, 256, 0, [&] { gla_scan<BF16>(local.data(), prefix.data(), D, nc, H); });
    emu_launch(nc, H, B, THREADS, smem3, [&] { gla_out<D, BF16>(Q, K, V, G, o.data(), prefix.data(), N, H, KV, nc); });
    float *out = (float *)io.buffer[KB_GLA_O];
    for (size_t e = 0; e < no; e++)
        out[e] = emu_to_float(T{ o[e] });
    kb_accuracy acc;
    kb_op_attention_gla.verify(&io, &s, dt, 42, 1, &acc);
    printf("gla mma %s B=%d H=%d KV=%d N=%d d=%d: rel_l2 %.3g max_abs %.3g %s\n", kb_dtype_name(dt), B, H, KV, N, D,
           acc.rel_l2_err, acc.max_abs_err, acc.passed ? "PASS" : "FAIL");
    kb_operands_free(&io);
    return !acc.passed;
}

int main()
{
    int bad = 0;
    bad += run<__nv_bfloat16, 64>(KB_DTYPE_BF16, 1, 2, 1, 77);
    bad += run<__half, 64>(KB_DTYPE_F16, 2, 2, 2, 150);
    bad += run<__nv_bfloat16, 128>(KB_DTYPE_BF16, 1, 1, 1, 130);
    printf("%d failed\n", bad);
    return bad != 0;
}
