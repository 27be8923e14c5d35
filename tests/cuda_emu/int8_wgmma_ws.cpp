// int8_wgmma_ws.cpp - attention.int8@cuda.wgmma-ws's kernel (kernels/attention/int8_wgmma_ws.cu:
// INT8 Q·Kᵀ on wgmma m64n128k32 s8, f16 P·V, flash_ws.cuh's schedule; verified on an H100 by
// tests/gpu.sh) under hopper_emu.h: with flash_wgmma_ws, the check of the emulation (8-bit
// K-major operands and 8-bit TMA boxes here). The launcher's maps, grid and arguments on the
// pre-pass's codes (quant_emu.h); head_dim 128, causal or not, GQA, N not a multiple of 128.
#include "dev_emu.cpp" /* int8_wgmma_ws.cu made C++ by run.sh */
#include "quant_emu.h"

template <bool CAUSAL> static int run(int B, int H, int KV, int N)
{
    quant_case c;
    if (quant_setup(c, KB_DTYPE_I8, B, H, KV, N, CAUSAL, false, false))
        return 1;
    std::vector<uint16_t> o(c.q8.size(), 0x7fff); /* NaN */
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    CUtensorMap mq, mk, mv;
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.q8.data(), N, B * H, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.k8.data(), N, B * KV, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT16, c.v16.data(), N, B * KV, D, 2) != CUDA_SUCCESS) {
        printf("encode failed\n");
        return 1;
    }
    const int qblocks = (N + INT8_BLOCK - 1) / INT8_BLOCK;
    const float qk_scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    const WsGrid g = ws_grid(N, H, B, BM, CAUSAL, true); /* the launcher's grid with KBENCH_FLASH_WS_SECTIONS=1 (causal: in sections of planes) */
    emu_launch(g.x, g.y, g.z, WS_THREADS, Layout::SMEM, [&] {
        int8_wgmma_ws<CAUSAL>(mq, mk, mv, c.qscale.data(), c.kscale.data(), o.data(), N, H, KV, qblocks, qk_scale_log2);
    });
    return quant_judge(c, "int8 wgmma-ws", o, INT8_CUDA_KERNEL_TOLERANCE);
}

int main()
{
    int bad = 0;
    bad += run<false>(1, 2, 1, 77);
    bad += run<true>(1, 2, 2, 300);
    bad += run<false>(2, 2, 1, 200);
    bad += run<true>(2, 4, 2, 128);
    bad += run<false>(1, 1, 1, 1);
    printf("%d failed\n", bad);
    return bad != 0;
}
