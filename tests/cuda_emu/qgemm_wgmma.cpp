// qgemm_wgmma.cpp - quant.gemm_int8@cuda.wgmma's and quant.gemm_fp8@cuda.wgmma's kernel
// (kernels/quant/gemm_wgmma.cu: wgmma m64n256k32 s8 / e4m3 from a 4-stage TMA ring,
// kb_wgring::consume, the grouped block order) under hopper_emu.h, as qgemm_*_wgmma_launch runs
// it: a block a 128 × 256 output tile, A [m][lda] and W [n][lda] through 128B-swizzled maps,
// k padded with zeros to lda (a multiple of 16). Sizes that no tile divides: m 77 and 300, n 300
// and 520, k 200 and 1000 (the ring turns over twice).
// Judged: INT8, every output against quant_dyadic_requant of the exact int32 sums with the
// column's dyadic factor (bit for bit); FP8, every output against bf16(float64 Σ a·w · scale) of
// the decoded codes within 2^-7 relative (bf16's rounding of f32 sums), so a wrong k-block,
// swizzle or column tile is off by order 1.
extern "C" {
#include "kernels/kernel.h"
#include "kernels/quant/fp8.h"
#include "kernels/quant/quant.h"
}
#include "dev_emu.cpp" /* gemm_wgmma.cu made C++ by run.sh */
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

template <bool FP8> static int run(int m, int n, int k, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> i8(-127, 127), cb(1 << 10, 1 << 14), cc(20, 24);
    std::normal_distribution<float> nd(0.f, 1.f);
    const int lda = (k + 15) / 16 * 16;
    std::vector<uint8_t> a((size_t)m * lda, 0), w((size_t)n * lda, 0);
    for (int r = 0; r < m; r++)
        for (int c = 0; c < k; c++)
            a[(size_t)r * lda + c] = FP8 ? fp8_encode(nd(rng), FP8_E4M3) : (uint8_t)(int8_t)i8(rng);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < k; c++)
            w[(size_t)r * lda + c] = FP8 ? fp8_encode(nd(rng), FP8_E4M3) : (uint8_t)(int8_t)i8(rng);
    std::vector<int32_t> dyb(n), dyc(n);
    for (int j = 0; j < n; j++)
        dyb[j] = cb(rng), dyc[j] = cc(rng);
    std::vector<uint16_t> y16((size_t)m * n, 0x7fff); /* FP8: bf16, NaN until written */
    std::vector<int8_t> y8((size_t)m * n, 99);         /* INT8: 99 is no requantized value */
    /* the maps as qgemm_wgmma_tma_new encodes them (its encode) */
    CUtensorMap ma, mw;
    if (encode(kb_tma::encode_tiled(), &ma, a.data(), m, (size_t)lda, BM) != CUDA_SUCCESS ||
        encode(kb_tma::encode_tiled(), &mw, w.data(), n, (size_t)lda, BN) != CUDA_SUCCESS) {
        printf("a map was refused\n");
        return 1;
    }
    Args p = make_args(m, n, (size_t)lda, FP8 ? (void *)y16.data() : (void *)y8.data());
    const float scale = 0.0625f;
    if (FP8)
        p.scale = scale;
    else
        p.dyb = dyb.data(), p.dyc = dyc.data();
    const int blocks = ((m + BM - 1) / BM) * ((n + BN - 1) / BN);
    emu_launch(blocks, 1, 1, THREADS, SMEM, [&] { qgemm_wgmma<FP8>(ma, mw, p); });
    long bad = 0;
    double worst = 0;
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) {
            if (FP8) {
                double s = 0;
                for (int c = 0; c < k; c++)
                    s += (double)fp8_decode(a[(size_t)r * lda + c], FP8_E4M3) * fp8_decode(w[(size_t)j * lda + c], FP8_E4M3);
                const double want = s * scale, got = __bfloat162float(__nv_bfloat16{ y16[(size_t)r * n + j] });
                const double err = std::fabs(got - want) / (std::fabs(want) + 1e-3);
                worst = err > worst ? err : worst;
                bad += !(err <= 1.0 / 128);
            } else {
                int32_t s = 0;
                for (int c = 0; c < k; c++)
                    s += (int32_t)(int8_t)a[(size_t)r * lda + c] * (int8_t)w[(size_t)j * lda + c];
                const struct quant_dyadic dy = { dyb[j], dyc[j] };
                bad += y8[(size_t)r * n + j] != quant_dyadic_requant(s, dy);
            }
        }
    printf("%s m %d n %d k %d (lda %d, %d blocks): %ld of %ld outputs wrong", FP8 ? "fp8 " : "int8", m, n, k, lda, blocks,
           bad, (long)m * n);
    if (FP8)
        printf(", worst relative error %.2g (bound 2^-7)", worst);
    printf(" %s\n", bad ? "FAIL" : "ok");
    return bad != 0;
}

int main()
{
    int bad = 0;
    bad += run<false>(77, 300, 200, 1);
    bad += run<false>(300, 520, 1000, 2);
    bad += run<true>(77, 300, 200, 3);
    bad += run<true>(300, 520, 1000, 4);
    printf("%d failed\n", bad);
    return bad != 0;
}
