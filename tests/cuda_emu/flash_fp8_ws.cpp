// flash_fp8_ws.cpp - attention.flash@cuda.wgmma-fp8's kernel (kernels/attention/flash_fp8_ws.cu:
// e4m3 Q·Kᵀ on wgmma m64n128k32 .e4m3 SS with both operands K-major, scaled per Q and K block,
// then fp8_pv.cuh's FP8 P·V as int8_fp8_ws) under hopper_emu.h, before it has run on a GPU. The
// launcher's maps (Vᵀ rows of whole 128-key tiles), grid and arguments on the pre-pass's codes
// (quant_emu.h: e4m3 Q and K); head_dim 128, causal or not, GQA, N not a multiple of 128.
#include "dev_emu.cpp" /* flash_fp8_ws.cu made C++ by run.sh */
#include "quant_emu.h"

template <bool CAUSAL> static int run(int B, int H, int KV, int N)
{
    quant_case c;
    if (quant_setup(c, KB_DTYPE_FP8_E4M3, B, H, KV, N, CAUSAL, true, true))
        return 1;
    std::vector<uint16_t> o(c.q8.size(), 0x7fff); /* NaN */
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    CUtensorMap mq, mk, mv;
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.q8.data(), N, B * H, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.k8.data(), N, B * KV, D, 1) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT8, c.vt.data(), D, B * KV, int8_fp8_v_keys(N), 1) != CUDA_SUCCESS) {
        printf("encode failed\n");
        return 1;
    }
    const int qblocks = (N + INT8_BLOCK - 1) / INT8_BLOCK;
    const float qk_scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    emu_launch((N + BM - 1) / BM, H, B, WS_THREADS, Fp8PvLayout::SMEM, [&] {
        fp8_pv_ws<ScoresE4M3, CAUSAL>(mq, mk, mv, c.qscale.data(), c.kscale.data(), c.vscale.data(), o.data(), N, H, KV, qblocks,
                             qk_scale_log2);
    });
    return quant_judge(c, "flash wgmma-fp8", o, INT8_FP8_KERNEL_TOLERANCE, true);
}

int main()
{
    int bad = 0;
    bad += run<false>(1, 2, 1, 77);
    bad += run<true>(1, 2, 2, 300);
    bad += run<false>(2, 2, 1, 200);
    bad += run<true>(2, 4, 2, 128);
    bad += run<false>(1, 1, 1, 1);
    bad += run<true>(1, 2, 1, 129);
    printf("%d failed\n", bad);
    return bad != 0;
}
