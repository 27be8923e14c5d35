// flash_wgmma.cpp - attention.flash@cuda.wgmma's kernel (kernels/attention/flash_wgmma.cu,
// verified on an H100 by tests/gpu.sh) under hopper_emu.h. Its tiles are not TMA's: cp.async
// copies put them in the 128B-swizzled layout that flash_wgmma.cuh's sw128 computes by hand, so
// this checks the emulation's wgmma descriptors (K-major and MN-major addressing, the swizzle
// applied after a k-step's offset) against a layout the hardware accepted, which the TMA
// kernels cannot: there the emulated TMA and wgmma share one swizzle and would agree on a wrong
// one. f16 and bf16, causal or not, GQA, N not a multiple of 128; attention.softmax's verify.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* flash_wgmma.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/softmax_ops.h"
}
#include "softmax_case.h"
#include <cstdio>
#include <type_traits>

template <typename T, bool CAUSAL>
static int run(enum kb_dtype dt, int B, int H, int KV, int N)
{
    constexpr bool BF16 = std::is_same<T, __nv_bfloat16>::value;
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = KV; s.seq_len = N; s.head_dim = D; s.causal = CAUSAL;
    s.input = KB_INPUT_NORMAL;
    softmax_case<T> c;
    if (c.setup(s, dt))
        return 1;
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    emu_launch((N + BM - 1) / BM, H, B, THREADS, SMEM_BYTES, [&] {
        flash_wgmma<CAUSAL, BF16>((const uint16_t *)c.q.data(), (const uint16_t *)c.k.data(), (const uint16_t *)c.v.data(),
                                  c.o.data(), N, H, KV, scale_log2);
    });
    const kb_accuracy acc = c.judge(dt);
    printf("flash wgmma %s B=%d H=%d KV=%d N=%d causal=%d: rel_l2 %.3g max_abs %.3g %s\n", kb_dtype_name(dt), B, H, KV, N,
           CAUSAL, acc.rel_l2_err, acc.max_abs_err, acc.passed ? "PASS" : "FAIL");
    return !acc.passed;
}

int main()
{
    int bad = 0;
    bad += run<__nv_bfloat16, false>(KB_DTYPE_BF16, 1, 2, 1, 77);
    bad += run<__half, true>(KB_DTYPE_F16, 1, 2, 2, 300);
    printf("%d failed\n", bad);
    return bad != 0;
}
