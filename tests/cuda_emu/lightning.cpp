// lightning.cpp - attention.lightning@cuda.mma's kernels (kernels/attention/lightning_mma.cu) run
// on the host under shim.h's threads and ptx_emu.h's ldmatrix / mma.sync / cp.async, in the
// launcher's order (local states, scan, outputs) and grids, for chunk 64 and 128 and the chunks
// per group G the launcher may choose (a short last group among them). The operation's own
// inputs; scratch and output start as NaN; judged by the operation's float64 verify. run.sh
// builds and runs it.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* lightning_mma.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/linear_ops.h"
}
#include <cstdio>
#include <cstdlib>
#include <type_traits>

/* FUSED: the fused form (lightning_out's FUSED), its blocks emulated a plane at a time side by side
 * (a cluster of ng blocks: they wait for each other at the plane's barriers), twice over the same
 * barrier counts (epochs 1 and 2); it must leave the claim counters zero. */
template <typename T, int D, int C, bool PREFETCH = false, bool FUSED = false>
static int run(enum kb_dtype dt, int B, int H, int KV, int N, int group)
{
    constexpr bool BF16 = std::is_same<T, __nv_bfloat16>::value;
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = KV; s.seq_len = N; s.head_dim = D; s.chunk = C; s.causal = 1;
    s.input = KB_INPUT_NORMAL;
    kb_operands io = {};
    char err[256];
    if (kb_op_attention_lightning.inputs(&io, &s, dt, 42, err, sizeof err) != KB_OK) {
        printf("inputs: %s\n", err);
        return 1;
    }
    const int nc = (N + C - 1) / C, ng = (nc + group - 1) / group;
    auto q = emu_convert<T>((float *)io.buffer[KB_LIN_Q], kb_operands_elems(&io, KB_LIN_Q));
    auto k = emu_convert<T>((float *)io.buffer[KB_LIN_K], kb_operands_elems(&io, KB_LIN_K));
    auto v = emu_convert<T>((float *)io.buffer[KB_LIN_V], kb_operands_elems(&io, KB_LIN_V));
    const size_t no = kb_operands_elems(&io, KB_LIN_O);
    std::vector<uint16_t> o(no, 0x7fff); /* NaN in f16 and bf16 */
    std::vector<uint16_t> local((size_t)B * H * ng * D * D, 0x7fff), prefix(local.size(), 0x7fff);
    const uint16_t *Q = (const uint16_t *)q.data(), *K = (const uint16_t *)k.data(), *V = (const uint16_t *)v.data();
    int bad = 0;
    /* the three passes (for FUSED, what the fused form must match bit for bit) */
    {
        const size_t smem1 = (size_t)4 * C * D * sizeof(uint16_t);
        const size_t smem3 = lightning_out_smem<D, C>(PREFETCH);
        emu_launch(ng, H, B, 128, smem1, [&] { lightning_local<D, C, BF16>(K, V, local.data(), N, H, KV, ng, group); });
        emu_launch((D * D / 2 + 255) / 256, H, B, 256, 0,
                   [&] { lightning_scan<D, C, BF16>(local.data(), prefix.data(), ng, group, H); });
        emu_launch(ng, H, B, C / 16 * 32, smem3, [&] {
            lightning_out<D, C, BF16, PREFETCH>(Q, K, V, o.data(), prefix.data(), N, H, KV, ng, group, FusedArgs{});
        });
    }
    if (FUSED) {
        const std::vector<uint16_t> passes = o;
        std::fill(local.begin(), local.end(), (uint16_t)0x7fff);
        std::fill(prefix.begin(), prefix.end(), (uint16_t)0x7fff);
        std::vector<int> arrive((size_t)B * H, 0), counter(2, 0);
        for (int epoch = 1; epoch <= 2; epoch++) {
            std::fill(o.begin(), o.end(), (uint16_t)0x7fff);
            const FusedArgs f = { local.data(), prefix.data(), arrive.data(), counter.data(), epoch };
            emu_launch_cluster(ng * H * B, 1, 1, ng, C / 16 * 32, lightning_fused_smem<D, C>(PREFETCH), [&] {
                lightning_out<D, C, BF16, PREFETCH, true>(Q, K, V, o.data(), nullptr, N, H, KV, ng, group, f);
            });
            for (int a : arrive)
                if (a != 2 * epoch * ng) {
                    printf("fused: a plane's barrier count is %d after launch %d, not %d\n", a, epoch, 2 * epoch * ng);
                    bad = 1;
                }
            if (counter[0] != 0 || counter[1] != 0) {
                printf("fused: the claim counters were left at %d, %d\n", counter[0], counter[1]);
                bad = 1;
            }
            if (o != passes) {
                printf("fused: launch %d's output differs from the three passes'\n", epoch);
                bad = 1;
            }
        }
    }
    float *out = (float *)io.buffer[KB_LIN_O];
    for (size_t e = 0; e < no; e++)
        out[e] = emu_to_float(T{ o[e] });
    kb_accuracy acc;
    kb_op_attention_lightning.verify(&io, &s, dt, 42, 1, &acc);
    printf("lightning mma %s B=%d H=%d KV=%d N=%d d=%d chunk=%d G=%d%s%s: rel_l2 %.3g max_abs %.3g %s\n",
           kb_dtype_name(dt), B, H, KV, N, D, C, group, PREFETCH ? " prefetch" : "",
           FUSED ? " fused" : "", acc.rel_l2_err, acc.max_abs_err,
           acc.passed && !bad ? "PASS" : "FAIL");
    kb_operands_free(&io);
    return !acc.passed || bad;
}

int main()
{
    int bad = 0;
    /* one state per chunk; groups of 2 and 4 with a short last group (GQA, batch 2); chunk 128 */
    bad += run<__nv_bfloat16, 64, 64>(KB_DTYPE_BF16, 1, 2, 1, 77, 1);
    bad += run<__half, 128, 64>(KB_DTYPE_F16, 1, 2, 2, 300, 2);
    bad += run<__nv_bfloat16, 128, 64>(KB_DTYPE_BF16, 2, 2, 1, 333, 4);
    bad += run<__nv_bfloat16, 64, 128>(KB_DTYPE_BF16, 1, 2, 2, 333, 2);
    bad += run<__half, 128, 128>(KB_DTYPE_F16, 1, 1, 1, 130, 1);
    /* the output pass loading the next chunk while it computes (KBENCH_LIGHTNING_PREFETCH=1):
     * one chunk a group, groups of 2 and 4 with a short last group and a last chunk ending
     * inside it, chunk 128; the emulated cp.async lands a copy only at the wait that covers it */
    bad += run<__nv_bfloat16, 64, 64, true>(KB_DTYPE_BF16, 1, 2, 1, 77, 1);
    bad += run<__half, 128, 64, true>(KB_DTYPE_F16, 1, 2, 2, 300, 2);
    bad += run<__nv_bfloat16, 128, 64, true>(KB_DTYPE_BF16, 2, 2, 1, 333, 4);
    bad += run<__nv_bfloat16, 64, 128, true>(KB_DTYPE_BF16, 1, 2, 2, 333, 2);
    bad += run<__half, 128, 128, true>(KB_DTYPE_F16, 1, 1, 1, 700, 4);
    /* the fused form (KBENCH_LIGHTNING_FUSED=1): with and without the prefetch, chunk 64 and 128,
     * d 64 and 128, GQA and batch 2, a short last group, one to eight groups a plane */
    bad += run<__nv_bfloat16, 128, 64, true, true>(KB_DTYPE_BF16, 2, 2, 1, 1000, 4);
    bad += run<__half, 128, 64, false, true>(KB_DTYPE_F16, 1, 2, 2, 300, 2);
    bad += run<__nv_bfloat16, 64, 128, true, true>(KB_DTYPE_BF16, 1, 2, 2, 333, 1);
    bad += run<__half, 128, 128, false, true>(KB_DTYPE_F16, 1, 1, 1, 700, 2);
    bad += run<__half, 64, 64, false, true>(KB_DTYPE_F16, 1, 1, 1, 77, 1);
    bad += run<__nv_bfloat16, 128, 64, true, true>(KB_DTYPE_BF16, 1, 1, 1, 1000, 2);
    printf("%d failed\n", bad);
    return bad != 0;
}
