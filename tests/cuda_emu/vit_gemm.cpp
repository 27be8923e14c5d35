// vit_gemm.cpp - vit.block@cuda.int8's strided INT8 GEMM (kernels/quant/vit_block_dev.cu) run on
// the host under shim.h's emulation, against a scalar loop over the same strided views with the
// CPU's epilogues (quant_dyadic_requant; vit_dyadic_i32 and vit_sat8 for the residual add): the
// integer result must match bit for bit. Views as the block uses them: A rows of a wider buffer,
// W as rows (K_h) or transposed (V_hᵀ: w_sk = row stride), heads along z. run.sh runs it.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* vit_block_dev.cu made C++ by run.sh */
extern "C" {
#include "kernels/quant/quant.h"
#include "kernels/quant/vit_block.h"
}
#include <cstdio>
#include <cstdlib>
#include <random>

static int run(int batch, int m, int n, int k, int transposed, int per_col, int residual, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> i8(-127, 127), cb(1 << 10, 1 << 14), cc(20, 24);
    /* A: batch heads of [m][k] inside rows of lda = batch·k + 5; W: [n][k] rows or [k][n] columns */
    const long lda = (long)batch * k + 5, a_bs = k;
    const long w_rows = transposed ? k : n, w_cols = (transposed ? n : k) * batch + 3;
    const long w_sn = transposed ? 1 : w_cols, w_sk = transposed ? w_cols : 1, w_bs = transposed ? n : k;
    const long ldo = (long)batch * n + 7, o_bs = n;
    std::vector<int8_t> a((size_t)m * lda), w((size_t)w_rows * w_cols), res((size_t)m * ldo), out((size_t)m * ldo, 99),
        want((size_t)m * ldo, 99);
    for (auto &x : a) x = (int8_t)i8(rng);
    for (auto &x : w) x = (int8_t)i8(rng);
    for (auto &x : res) x = (int8_t)i8(rng);
    std::vector<int32_t> dy_b(n), dy_c(n);
    for (int j = 0; j < n; j++) { dy_b[j] = cb(rng); dy_c[j] = cc(rng); }
    vit_gemm g = {};
    g.a = a.data(); g.lda = lda; g.a_bs = a_bs;
    g.w = w.data(); g.w_sn = w_sn; g.w_sk = w_sk; g.w_bs = w_bs;
    g.m = m; g.n = n; g.k = k; g.out = out.data(); g.ldo = ldo; g.o_bs = o_bs;
    g.dy_b = dy_b.data(); g.dy_c = dy_c.data(); g.per_col = per_col;
    g.res = residual ? res.data() : nullptr; g.res_b = 3 << 26; g.res_c = 29;
    emu_launch((n + VT - 1) / VT, (m + VT - 1) / VT, batch, 256, 0, [&] { vit_gemm_kernel(g); });
    for (int z = 0; z < batch; z++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                int32_t acc = 0;
                for (int p = 0; p < k; p++)
                    acc += (int32_t)a[z * a_bs + i * lda + p] * w[z * w_bs + j * w_sn + p * w_sk];
                const int col = per_col ? j : 0;
                const size_t at = (size_t)z * o_bs + (size_t)i * ldo + j;
                const quant_dyadic d = { dy_b[col], dy_c[col] }, dr = { g.res_b, g.res_c };
                want[at] = residual ? vit_sat8(vit_dyadic_i32(acc, d) + vit_dyadic_i32(res[at], dr))
                                    : quant_dyadic_requant(acc, d);
            }
    long diff = 0, sat = 0, zero = 0;
    for (size_t i = 0; i < out.size(); i++) {
        diff += out[i] != want[i];
        sat += want[i] == 127 || want[i] == -127;
        zero += want[i] == 0;
    }
    /* the saturated and zero counts show the outputs are not all at a clamp */
    printf("vit_gemm batch=%d m=%d n=%d k=%d transposed=%d per_col=%d residual=%d: %ld of %zu bytes differ "
           "(%ld saturated, %ld zero) %s\n",
           batch, m, n, k, transposed, per_col, residual, diff, out.size(), sat, zero, diff ? "FAIL" : "PASS");
    return diff != 0;
}

int main()
{
    int bad = 0;
    bad += run(1, 37, 45, 70, 0, 1, 0, 1);
    bad += run(3, 33, 29, 64, 1, 0, 0, 2);
    bad += run(2, 65, 31, 97, 0, 1, 1, 3);
    bad += run(1, 1, 1, 1, 0, 0, 1, 4);
    bad += run(3, 50, 77, 33, 1, 1, 0, 5);
    printf("%d failed\n", bad);
    return bad != 0;
}
