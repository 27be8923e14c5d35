// int8_wgmma.cpp - attention.int8@cuda.wgmma's kernel (kernels/attention/int8_wgmma.cu, verified
// on an H100 by tests/gpu.sh) under hopper_emu.h: its INT8 tiles are cp.async copies into a
// swizzle built by hand (load_tile8), so this checks the emulated 8-bit K-major descriptors (the
// k-steps 32 bytes apart inside the swizzled row) against a layout the hardware accepted, as
// flash_wgmma.cpp does for 16-bit ones. On the pre-pass's codes (quant_emu.h), causal or not, GQA.
#include "dev_emu.cpp" /* int8_wgmma.cu made C++ by run.sh */
#include "quant_emu.h"

template <bool CAUSAL> static int run(int B, int H, int KV, int N)
{
    quant_case c;
    if (quant_setup(c, KB_DTYPE_I8, B, H, KV, N, CAUSAL, false, false))
        return 1;
    std::vector<uint16_t> o(c.q8.size(), 0x7fff); /* NaN */
    const int qblocks = (N + INT8_BLOCK - 1) / INT8_BLOCK;
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    emu_launch((N + BM - 1) / BM, H, B, THREADS, SMEM_BYTES, [&] {
        int8_wgmma<CAUSAL>((const int8_t *)c.q8.data(), (const int8_t *)c.k8.data(), c.qscale.data(), c.kscale.data(),
                           c.v16.data(), o.data(), N, H, KV, qblocks, scale_log2);
    });
    return quant_judge(c, "int8 wgmma", o, INT8_CUDA_KERNEL_TOLERANCE);
}

int main()
{
    int bad = 0;
    bad += run<false>(1, 2, 1, 77);
    bad += run<true>(1, 2, 2, 300);
    printf("%d failed\n", bad);
    return bad != 0;
}
