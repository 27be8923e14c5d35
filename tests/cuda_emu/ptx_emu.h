// ptx_emu.h - host emulation of kernels/gpu/ptx.cuh for shim.h's threads (run.sh puts it in
// place of ptx.cuh, and an empty <cuda_runtime.h> beside it, for the drivers of mma kernels):
// cp.async as a synchronous 16-byte copy (the commit/wait are then no-ops), ldmatrix and
// mma.sync m16n8k16 as warp exchanges with the PTX ISA's fragment layouts ("Matrix Fragments
// for mma.m16n8k16", "ldmatrix"), products summed in float32. Shared addresses are offsets into
// the block's dynamic shared memory (g_smem): only tiles there can be ldmatrix'd or cp.async'd.
#pragma once
#include <cstring>

inline float2 make_float2(float x, float y) { return { x, y }; }

namespace kb_ptx {

inline uint32_t smem_u32(const void *p)
{
    const ptrdiff_t off = (const char *)p - (const char *)g_smem;
    assert(off >= 0);
    return (uint32_t)off;
}
inline unsigned char *emu_smem(uint32_t addr) { return (unsigned char *)g_smem + addr; }

inline void cp_async16(uint32_t dst, const void *src, bool valid)
{
    if (valid)
        memcpy(emu_smem(dst), src, 16);
    else
        memset(emu_smem(dst), 0, 16);
}
inline void cp_async16(uint32_t dst, const void *src) { memcpy(emu_smem(dst), src, 16); }
inline void cp_commit() {}
template <int N> inline void cp_wait() {}

// Every lane of the warp publishes n words, then reads them all (all[lane][i]).
alignas(16) static uint32_t g_mma_xch[EMU_MAX_WARPS][32][6];
inline void emu_publish(const uint32_t *v, int n, uint32_t (&all)[32][6])
{
    const int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    memcpy(g_mma_xch[w][l], v, n * sizeof(uint32_t));
    g_warp_bar[w]->arrive_and_wait();
    memcpy(all, g_mma_xch[w], sizeof all);
    g_warp_bar[w]->arrive_and_wait();
}

inline uint16_t emu_h16(uint32_t addr) { uint16_t v; memcpy(&v, emu_smem(addr), 2); return v; }

// Lane i gives the address of row i % 8 of matrix i / 8. Without .trans lane l receives row l/4,
// columns 2(l%4), +1 of each matrix; with .trans rows 2(l%4), +1 of column l/4 (low half first).
inline void emu_ldsm(uint32_t (&r)[4], uint32_t addr, bool trans)
{
    uint32_t all[32][6];
    emu_publish(&addr, 1, all);
    const int l = threadIdx.x & 31;
    for (int m = 0; m < 4; m++) {
        if (!trans) {
            memcpy(&r[m], emu_smem(all[8 * m + l / 4][0] + 4 * (l % 4)), 4);
        } else {
            const uint32_t lo = emu_h16(all[8 * m + 2 * (l % 4)][0] + 2 * (l / 4));
            const uint32_t hi = emu_h16(all[8 * m + 2 * (l % 4) + 1][0] + 2 * (l / 4));
            r[m] = lo | hi << 16;
        }
    }
}
inline void ldsm_x4(uint32_t (&r)[4], uint32_t addr) { emu_ldsm(r, addr, false); }
inline void ldsm_x4_trans(uint32_t (&r)[4], uint32_t addr) { emu_ldsm(r, addr, true); }

template <bool BF16> inline float emu_f(uint16_t h)
{
    if (BF16)
        return __bfloat162float(__nv_bfloat16{ h });
    return __half2float(__half{ h });
}
inline uint16_t emu_half_of(uint32_t w, int k) { return (uint16_t)(k ? w >> 16 : w & 0xFFFFu); }

// D (16x8) += A (16x16) B (16x8). Lane 4g + t owns A (g, 2t..+1) in a0, (g+8, ..) a1, (g, 2t+8..)
// a2, (g+8, 2t+8..) a3; B (k 2t..+1, n g) b0, (k 2t+8..) b1; D (g, 2t..+1) d0 d1, (g+8, ..) d2 d3.
template <bool BF16> void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    const uint32_t mine[6] = { a[0], a[1], a[2], a[3], b0, b1 };
    uint32_t all[32][6];
    emu_publish(mine, 6, all);
    const int l = threadIdx.x & 31, g = l / 4, t = l % 4;
    auto A = [&](int row, int k) {
        const int reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
        return emu_f<BF16>(emu_half_of(all[4 * (row % 8) + (k % 8) / 2][reg], k % 2));
    };
    auto B = [&](int k, int col) { return emu_f<BF16>(emu_half_of(all[4 * col + (k % 8) / 2][4 + (k >= 8)], k % 2)); };
    for (int e = 0; e < 4; e++) {
        const int row = g + 8 * (e / 2), col = 2 * t + (e % 2);
        float s = d[e];
        for (int k = 0; k < 16; k++)
            s += A(row, k) * B(k, col);
        d[e] = s;
    }
}

template <bool BF16> inline uint32_t pack2(float lo, float hi)
{
    if (BF16)
        return (uint32_t)__float2bfloat16_rn(lo).x | (uint32_t)__float2bfloat16_rn(hi).x << 16;
    return (uint32_t)__float2half_rn(lo).x | (uint32_t)__float2half_rn(hi).x << 16;
}

inline float ex2(float x) { return exp2f(x); }

} // namespace kb_ptx
