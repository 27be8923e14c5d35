// flash_wgmma_ws.cpp - attention.flash@cuda.wgmma-ws's kernel (kernels/attention/flash_wgmma_ws.cu
// on flash_ws.cuh's FlashAttention-3 schedule, verified on an H100 by tests/gpu.sh) under
// hopper_emu.h: the check of the Hopper emulation itself (wgmma SS with K-major operands, RS with
// an MN-major B, m64n128 and m64n64, TMA boxes of 16-bit rows, the mbarrier rings, the ping-pong
// named barriers), since a kernel the hardware accepts must pass here too. The launcher's grid
// and tensor maps (its encode, through the emulated cuTensorMapEncodeTiled), 384 threads a block;
// f16 and bf16, d 256 (64-key K/V tiles: m64n64k16 SS, m64n256k16 RS), 128 and 64, causal or not, GQA, N not a multiple of the 128-row tiles;
// O staged in the Q tile and stored by TMA (16-row boxes, rows past N dropped), or from registers;
// the lazy rescale (maxima kept until they grow by 2^8) or the exact one; judged
// by attention.softmax's verify.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* flash_wgmma_ws.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/softmax_ops.h"
}
#include "softmax_case.h"
#include <cstdio>
#include <type_traits>

/* persistent_grid > 0: the persistent kernel (flash_wgmma_ws_persistent) on that many blocks,
 * mostly fewer than the work tiles, so a block runs several and its rings run on across them. C: the
 * consumer warpgroups (3: d 64's 192-row blocks, the non-causal default;
 * KBENCH_FLASH_WS_D64_CONSUMERS=3 forces it causal). */
template <typename T, int DH, bool CAUSAL, int C = CONSUMERS, int KN = keys_per_tile<DH>()>
static int run(enum kb_dtype dt, int B, int H, int KV, int N, int persistent_grid = 0, int tma_store = 1,
               float lazy = 8.f, enum kb_input input = KB_INPUT_NORMAL, bool sections = true)
{
    using L = Layout<DH, C, KN>;
    constexpr bool BF16 = std::is_same<T, __nv_bfloat16>::value;
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = KV; s.seq_len = N; s.head_dim = DH; s.causal = CAUSAL;
    s.input = input;
    softmax_case<T> c;
    if (c.setup(s, dt))
        return 1;
    CUtensorMap mq, mk, mv, mo;
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    if (encode(fn, &mq, c.q.data(), N, B * H, DH, L::Q_ROWS) != CUDA_SUCCESS || encode(fn, &mk, c.k.data(), N, B * KV, DH, L::KEYS) != CUDA_SUCCESS ||
        encode(fn, &mv, c.v.data(), N, B * KV, DH, L::KEYS) != CUDA_SUCCESS ||
        encode(fn, &mo, c.o.data(), N, B * H, DH, 16) != CUDA_SUCCESS) { printf("encode failed\n"); return 1; }
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)DH));
    std::vector<int> counter(2, 0); /* the causal persistent kernel's tile counters (its DYNAMIC schedule) */
    if (persistent_grid > 0)
        emu_launch(persistent_grid, 1, 1, L::THREADS, Layout<DH, C>::SMEM_PERSISTENT,
                   [&] {
                       flash_wgmma_ws_persistent<CAUSAL, BF16, DH, C>(mq, mk, mv, mo, c.o.data(), N, H, KV, B, scale_log2,
                                                                   tma_store, lazy, counter.data());
                   });
    else {
        const WsGrid g = ws_grid(N, H, B, L::Q_ROWS, CAUSAL, sections);
        emu_launch(g.x, g.y, g.z, L::THREADS, L::SMEM,
                   [&] { flash_wgmma_ws<CAUSAL, BF16, DH, C, KN>(mq, mk, mv, mo, c.o.data(), N, H, KV, scale_log2, tma_store, lazy); });
    }
    const kb_accuracy acc = c.judge(dt);
    printf("flash wgmma-ws %s B=%d H=%d KV=%d N=%d d=%d causal=%d%s%s%s%s%s: rel_l2 %.3g max_abs %.3g %s\n", kb_dtype_name(dt),
           B, H, KV, N, DH, CAUSAL, persistent_grid > 0 ? " persistent" : "",
           tma_store && (persistent_grid == 0 || Layout<DH>::O_STAGED_PERSISTENT) ? "" : " O from registers",
           lazy == 0.f ? " exact rescale" : input == KB_INPUT_OUTLIER ? " outliers" : C == 3 ? " 3 consumers" : "",
           KN == 176 ? " 176-key tiles" : "", CAUSAL && persistent_grid == 0 && !sections ? " a plane at a time" : "", acc.rel_l2_err, acc.max_abs_err,
           acc.passed ? "PASS" : "FAIL");
    if (persistent_grid > 0)
        printf("  (%d blocks for %d work tiles)\n", persistent_grid, (N + L::Q_ROWS - 1) / L::Q_ROWS * H * B);
    if (counter[0] != 0 || counter[1] != 0) { /* a launch must leave them as it found them */
        printf("  tile counters left at %d, %d: FAIL\n", counter[0], counter[1]);
        return 1;
    }
    return !acc.passed;
}

/* persistent_tile covers every (query block, plane) once, for section sizes from one plane to
 * all of them (the emulated cases' K and V are small enough for one section) */
static int check_persistent_order()
{
    int bad = 0;
    for (int n_qb = 1; n_qb <= 7; n_qb++)
        for (int planes = 1; planes <= 11; planes++)
            for (int sec = 1; sec <= planes; sec++)
                for (int causal = 0; causal < 2; causal++) {
                    std::vector<int> seen(n_qb * planes, 0);
                    for (int w = 0; w < n_qb * planes; w++) {
                        int qb, plane;
                        persistent_tile(w, n_qb, planes, sec, causal, qb, plane);
                        if (qb < 0 || qb >= n_qb || plane < 0 || plane >= planes)
                            bad++;
                        else
                            seen[plane * n_qb + qb]++;
                    }
                    for (int v : seen)
                        bad += v != 1;
                }
    printf("persistent work order: %s\n", bad ? "FAIL (a tile missed or run twice)" : "every tile once, PASS");
    return bad != 0;
}

int main()
{
    int bad = check_persistent_order();
    bad += run<__nv_bfloat16, 128, false>(KB_DTYPE_BF16, 1, 2, 1, 77);
    bad += run<__half, 128, true>(KB_DTYPE_F16, 1, 2, 2, 300);
    bad += run<__half, 64, false>(KB_DTYPE_F16, 1, 1, 1, 300);
    bad += run<__nv_bfloat16, 64, true>(KB_DTYPE_BF16, 2, 2, 1, 200);
    bad += run<__half, 128, true>(KB_DTYPE_F16, 2, 4, 2, 128);
    bad += run<__nv_bfloat16, 128, false>(KB_DTYPE_BF16, 1, 1, 1, 1);
    /* head_dim 256: 64-key K/V tiles (m64n64k16 S, m64n256k16 P·V), so the tile boundaries and
     * the causal diagonal fall inside the 128-row query blocks */
    bad += run<__half, 256, false>(KB_DTYPE_F16, 1, 2, 1, 77);
    bad += run<__nv_bfloat16, 256, true>(KB_DTYPE_BF16, 1, 2, 2, 300);
    bad += run<__half, 256, true>(KB_DTYPE_F16, 2, 4, 2, 200);
    bad += run<__nv_bfloat16, 256, false>(KB_DTYPE_BF16, 1, 2, 1, 300);
    bad += run<__half, 256, true>(KB_DTYPE_F16, 1, 1, 1, 1);
    /* persistent: 3 blocks over 2..24 work tiles (uneven shares: some blocks run one tile more;
     * causal heaviest first), d 128, 64 and 256, GQA, batch 2, N 1 (one tile a block or none) */
    bad += run<__half, 128, true>(KB_DTYPE_F16, 2, 2, 1, 300, 3);
    bad += run<__nv_bfloat16, 128, false>(KB_DTYPE_BF16, 1, 4, 2, 200, 3);
    bad += run<__half, 64, true>(KB_DTYPE_F16, 2, 4, 2, 300, 3);
    bad += run<__nv_bfloat16, 256, true>(KB_DTYPE_BF16, 2, 2, 1, 300, 3);
    bad += run<__half, 256, false>(KB_DTYPE_F16, 1, 2, 2, 77, 3);
    bad += run<__half, 128, false>(KB_DTYPE_F16, 2, 1, 1, 1, 1);
    /* causal, the blocks claim their work tiles (flash_ws.cuh's DYNAMIC; here the blocks run one
     * after another, so the first claims all but the other blocks' first tiles); every run
     * checks the counters are left zero, here also with blocks that have no work at all */
    bad += run<__nv_bfloat16, 64, true>(KB_DTYPE_BF16, 1, 1, 1, 1, 3);
    /* the persistent runs above stage O in their own tile for TMA stores (d 64, 128; d 256 has
     * no room and stores from registers) and keep maxima lazily; here without either, as the
     * persistent kernel ran before */
    bad += run<__nv_bfloat16, 128, true>(KB_DTYPE_BF16, 2, 2, 1, 300, 3, 0, 0.f);
    bad += run<__half, 64, false>(KB_DTYPE_F16, 1, 4, 2, 200, 3, 0, 0.f);
    bad += run<__half, 128, true>(KB_DTYPE_F16, 1, 2, 2, 300, 2, 1, 8.f, KB_INPUT_OUTLIER);
    /* d 64 on three consumers (192-row blocks, three-way turns): N not a multiple of 192 nor of
     * the 128-key tiles, the causal diagonal inside a block's rows, GQA, batch 2, one token */
    bad += run<__half, 64, false, 3>(KB_DTYPE_F16, 1, 2, 1, 300);
    bad += run<__nv_bfloat16, 64, true, 3>(KB_DTYPE_BF16, 2, 2, 1, 200);
    bad += run<__half, 64, true, 3>(KB_DTYPE_F16, 1, 4, 2, 77);
    bad += run<__nv_bfloat16, 64, false, 3>(KB_DTYPE_BF16, 2, 2, 2, 1000);
    bad += run<__half, 64, true, 3>(KB_DTYPE_F16, 1, 1, 1, 385);
    bad += run<__nv_bfloat16, 64, false, 3>(KB_DTYPE_BF16, 1, 1, 1, 1);
    /* and the persistent kernel on three (KBENCH_FLASH_WS_D64_CONSUMERS=3 with it): 192-row work
     * tiles over 3 blocks, causal claimed from the counter, O staged in a 192-row tile of its own */
    bad += run<__half, 64, false, 3>(KB_DTYPE_F16, 2, 2, 1, 500, 3);
    bad += run<__nv_bfloat16, 64, true, 3>(KB_DTYPE_BF16, 2, 3, 1, 400, 3);
    bad += run<__half, 64, true, 3>(KB_DTYPE_F16, 1, 2, 2, 77, 2);
    /* d 128 with 176-key K/V tiles (KBENCH_FLASH_WS_KEYS=176, m64n176k16 S, 11 P·V k-steps): N
     * across several tiles and not a multiple of 176, the causal diagonal inside a tile, GQA */
    bad += run<__nv_bfloat16, 128, false, CONSUMERS, 176>(KB_DTYPE_BF16, 1, 2, 1, 500);
    bad += run<__half, 128, true, CONSUMERS, 176>(KB_DTYPE_F16, 2, 2, 2, 300);
    bad += run<__half, 128, false, CONSUMERS, 176>(KB_DTYPE_F16, 1, 4, 2, 176);
    bad += run<__nv_bfloat16, 128, true, CONSUMERS, 176>(KB_DTYPE_BF16, 1, 2, 1, 77);
    bad += run<__half, 128, false, CONSUMERS, 176>(KB_DTYPE_F16, 1, 1, 1, 1);
    /* O from registers (KBENCH_FLASH_WS_TMA_STORE=0), where the runs above stage it for TMA
     * stores: d 128, 64 (three consumers) and 256, ragged N */
    bad += run<__nv_bfloat16, 128, true>(KB_DTYPE_BF16, 1, 2, 1, 300, 0, 0);
    bad += run<__half, 64, false, 3>(KB_DTYPE_F16, 1, 2, 2, 77, 0, 0);
    bad += run<__half, 256, false>(KB_DTYPE_F16, 1, 1, 1, 200, 0, 0);
    /* the runs above keep a row's maximum until it grows by 2^8 (the default lazy rescale); with
     * outlier inputs (rows whose maximum jumps, so O is rescaled mid-row), then the exact rescale
     * (KBENCH_FLASH_WS_LAZY_RESCALE=0) */
    bad += run<__half, 128, true>(KB_DTYPE_F16, 1, 2, 2, 300, 0, 1, 8.f, KB_INPUT_OUTLIER);
    bad += run<__half, 64, false, 3>(KB_DTYPE_F16, 1, 2, 1, 500, 0, 1, 8.f, KB_INPUT_OUTLIER);
    bad += run<__nv_bfloat16, 256, true>(KB_DTYPE_BF16, 1, 1, 1, 300, 0, 1, 8.f, KB_INPUT_OUTLIER);
    bad += run<__nv_bfloat16, 128, false>(KB_DTYPE_BF16, 1, 2, 1, 1000, 0, 1, 0.f);
    bad += run<__half, 64, true>(KB_DTYPE_F16, 1, 2, 2, 300, 0, 1, 0.f);
    bad += run<__nv_bfloat16, 256, false>(KB_DTYPE_BF16, 1, 1, 1, 200, 0, 1, 0.f);
    /* causal grids a plane at a time (the launcher's default), where the runs above number them
     * in sections of planes (ws_grid, KBENCH_FLASH_WS_SECTIONS=1): d 128, 64 (three consumers)
     * and 256, GQA, batch 2 */
    bad += run<__half, 128, true>(KB_DTYPE_F16, 2, 2, 1, 300, 0, 1, 8.f, KB_INPUT_NORMAL, false);
    bad += run<__nv_bfloat16, 64, true, 3>(KB_DTYPE_BF16, 2, 2, 2, 200, 0, 1, 8.f, KB_INPUT_NORMAL, false);
    bad += run<__half, 256, true>(KB_DTYPE_F16, 1, 4, 2, 77, 0, 1, 8.f, KB_INPUT_NORMAL, false);
    printf("%d failed\n", bad);
    return bad != 0;
}
