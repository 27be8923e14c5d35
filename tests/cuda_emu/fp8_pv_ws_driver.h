// fp8_pv_ws_driver.h - what the drivers of the two FP8 P·V kernels share (int8_fp8_ws.cpp,
// flash_fp8_ws.cpp): fp8_pv_ws.cuh's launcher's maps (Vᵀ rows of whole 128-key tiles), grid and
// arguments on the pre-pass's codes (quant_emu.h), judged by quant_judge against the operation,
// float64 on the kernel's dequantized inputs and the FP8 recipe. Include after "dev_emu.cpp".
#pragma once
#include "quant_emu.h"

// One case of the kernel with scores policy Sc: dtype dt (i8 or e4m3 Q and K codes); last16: each
// work tile's last key tile on f16 (the launcher's default where causal or N <= 128), else every
// tile in e4m3; persistent_grid > 0: the persistent kernel on that many blocks, fewer than the
// work tiles, so each runs several (causal: claimed from a counter, which it must leave zero).
template <class Sc, bool CAUSAL>
int fp8_pv_run(enum kb_dtype dt, const char *name, int B, int H, int KV, int N, bool last16 = true,
               int persistent_grid = 0)
{
    quant_case c;
    if (quant_setup(c, dt, B, H, KV, N, CAUSAL, dt == KB_DTYPE_FP8_E4M3, true))
        return 1;
    c.last16 = last16;
    std::vector<uint16_t> o(c.q8.size(), 0x7fff); /* NaN */
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    CUtensorMap mq, mk, mv, mv16;
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.q8.data(), N, B * H, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.k8.data(), N, B * KV, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.vt.data(), D, B * KV, int8_fp8_v_keys(N), 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv16, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, c.v16.data(), N, B * KV, D, 2) != CUDA_SUCCESS) {
        printf("encode failed\n");
        return 1;
    }
    const int qblocks = (N + INT8_BLOCK - 1) / INT8_BLOCK;
    const float qk_scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    if (persistent_grid > 0) {
        std::vector<int> counter(2, 0);
        emu_launch(persistent_grid, 1, 1, WS_THREADS, Fp8PvLayout::SMEM, [&] {
            fp8_pv_ws<Sc, CAUSAL, true>(mq, mk, mv, mv16, last16, c.qscale.data(), c.kscale.data(), c.vscale.data(),
                                        o.data(), N, H, KV, qblocks, qk_scale_log2, B, counter.data());
        });
        printf("persistent on %d blocks, %s: ", persistent_grid, last16 ? "last tile f16" : "all tiles e4m3");
        const int bad = quant_judge(c, name, o, INT8_FP8_KERNEL_TOLERANCE, true);
        if (counter[0] != 0 || counter[1] != 0) {
            printf("    FAIL: the work-tile counters were left at %d, %d (the next launch would skip tiles)\n", counter[0],
                   counter[1]);
            return 1;
        }
        return bad;
    }
    const WsGrid g = ws_grid(N, H, B, BM, CAUSAL, true); /* the launcher's default grid (causal: in sections of planes) */
    emu_launch(g.x, g.y, g.z, WS_THREADS, Fp8PvLayout::SMEM, [&] {
        fp8_pv_ws<Sc, CAUSAL>(mq, mk, mv, mv16, last16, c.qscale.data(), c.kscale.data(), c.vscale.data(), o.data(), N, H, KV, qblocks,
                              qk_scale_log2, B, nullptr);
    });
    printf("%s: ", last16 ? "last tile f16" : "all tiles e4m3");
    return quant_judge(c, name, o, INT8_FP8_KERNEL_TOLERANCE, true);
}

// The cases both drivers run: N not a multiple of 128 (and one whole tile, and one token),
// causal and not, GQA, batch 2, with the last key tile on f16, then three with every tile in e4m3
// (KBENCH_FP8_PV_LAST16=0), then the persistent kernel on fewer blocks than work tiles
// (KBENCH_FP8_PV_PERSISTENT=1), causal with the f16 last tile and not. With arguments B H KV N causal, that one case
// (with EMU_SEED and EMU_INPUT: the inputs of a kbench case, to hold a GPU result against the
// emulation; EMU_LAST16=0: every tile in e4m3).
template <class Sc> int fp8_pv_main(enum kb_dtype dt, const char *name, int argc = 0, char **argv = nullptr)
{
    if (argc == 6) {
        const bool last16 = !(getenv("EMU_LAST16") && strcmp(getenv("EMU_LAST16"), "0") == 0);
        return atoi(argv[5]) ? fp8_pv_run<Sc, true>(dt, name, atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), last16)
                             : fp8_pv_run<Sc, false>(dt, name, atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), last16);
    }
    int bad = 0;
    bad += fp8_pv_run<Sc, false>(dt, name, 1, 2, 1, 77);
    bad += fp8_pv_run<Sc, true>(dt, name, 1, 2, 2, 300);
    bad += fp8_pv_run<Sc, false>(dt, name, 2, 2, 1, 200);
    bad += fp8_pv_run<Sc, true>(dt, name, 2, 4, 2, 128);
    bad += fp8_pv_run<Sc, false>(dt, name, 1, 1, 1, 1);
    bad += fp8_pv_run<Sc, true>(dt, name, 1, 2, 1, 129);
    bad += fp8_pv_run<Sc, false>(dt, name, 1, 2, 1, 77, false);
    bad += fp8_pv_run<Sc, true>(dt, name, 1, 2, 2, 300, false);
    bad += fp8_pv_run<Sc, true>(dt, name, 1, 2, 1, 129, false);
    bad += fp8_pv_run<Sc, false>(dt, name, 2, 2, 1, 300, false, 5);  /* 12 work tiles on 5 blocks */
    bad += fp8_pv_run<Sc, false>(dt, name, 2, 3, 3, 129, false, 4);  /* 12 on 4: a ragged last tile each */
    bad += fp8_pv_run<Sc, false>(dt, name, 1, 2, 2, 77, false, 1);   /* 2 on one block */
    bad += fp8_pv_run<Sc, true>(dt, name, 2, 2, 1, 300, true, 5);    /* causal, claimed, the f16 tile reloaded each tile */
    bad += fp8_pv_run<Sc, true>(dt, name, 1, 3, 1, 400, true, 2);
    bad += fp8_pv_run<Sc, true>(dt, name, 2, 2, 2, 129, false, 3);   /* causal, all tiles e4m3 */
    printf("%d failed\n", bad);
    return bad != 0;
}
