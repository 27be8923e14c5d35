// ptx_emu.h - kernels/gpu/ptx.cuh emulated on the host for shim.h (README.md): the kb_ptx
// functions the chunk-parallel tensor-core kernels use, with the PTX ISA's fragment layouts.
// run.sh installs it as kernels/gpu/ptx.cuh ahead of the real one for drivers of mma kernels.
//   smem_u32      the byte offset into the block's dynamic shared memory (all of it is dynamic)
//   cp.async      a 16- or 4-byte copy (zero fill when not valid) that lands only when the
//                 thread's cp.async.wait_group lets it (or an mbarrier arrive after its cp.async,
//                 hopper_emu.h): the latest the GPU may, so a tile read before the wait that
//                 covers its copies reads what was there before (NaN in fresh shared memory)
//   ldmatrix.x4   lane i names row i % 8 of matrix i / 8; a lane receives (row g, cols 2t4, 2t4+1)
//                 of each matrix, or with .trans (rows 2t4, 2t4+1, col g), lane = 4g + t4
//   mma m16n8k16  A a0 (row g, k 2t4..), a1 (row g+8), a2 (row g, k 8+2t4..), a3 (row g+8, k 8+..);
//                 B b0 (k 2t4.., col g), b1 (k 8+2t4.., col g); C (row g, cols 2t4..), (row g+8)
//                 products summed in float (the tensor cores' order and rounding differ slightly)
// Every lane of a warp must call ldmatrix and mma together (as on the GPU).
#pragma once
#ifndef KB_PTX_CUH
#define KB_PTX_CUH
#include "shim.h"

inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return { __float2bfloat16_rn(a), __float2bfloat16_rn(b) }; }
inline __half2 __floats2half2_rn(float a, float b) { return { __float2half_rn(a), __float2half_rn(b) }; }
inline float2 make_float2(float x, float y) { return { x, y }; }

namespace kb_ptx {

inline unsigned char *emu_smem_base() { return reinterpret_cast<unsigned char *>(g_smem); }
inline uint32_t smem_u32(const void *p)
{
    return (uint32_t)(reinterpret_cast<const unsigned char *>(p) - emu_smem_base());
}
/* The asynchronous operations' commit groups (cp.async here, wgmma in hopper_emu.h): a thread's
 * operations since its last commit become its newest group, and a wait_group N finishes, oldest
 * first, all its committed groups but the N most recent. */
template <class Op> inline void emu_commit_group(std::vector<Op> &open, std::vector<std::vector<Op>> &groups)
{
    groups.push_back(std::move(open));
    open.clear();
}
template <class Op, class Finish>
inline void emu_wait_groups(std::vector<std::vector<Op>> &groups, size_t keep, Finish finish)
{
    if (groups.size() <= keep)
        return;
    const size_t done = groups.size() - keep;
    for (size_t i = 0; i < done; i++)
        finish(groups[i]);
    groups.erase(groups.begin(), groups.begin() + (long)done);
}

/* This thread's cp.async copies not yet landed: those since its last commit, then its committed
 * groups, oldest first (each emulated thread is a host thread of one block). */
struct emu_cp {
    uint32_t dst;
    const void *src; /* nullptr: zero fill */
    int bytes;
};
inline thread_local std::vector<emu_cp> emu_cp_open;
inline thread_local std::vector<std::vector<emu_cp>> emu_cp_groups;
inline void emu_cp_land(const std::vector<emu_cp> &group)
{
    for (const emu_cp &c : group) {
        if (c.src)
            memcpy(emu_smem_base() + c.dst, c.src, c.bytes);
        else
            memset(emu_smem_base() + c.dst, 0, c.bytes);
    }
}
/* all of this thread's copies, committed or not (cp.async.mbarrier.arrive's trigger) */
inline void emu_cp_land_all()
{
    emu_commit_group(emu_cp_open, emu_cp_groups);
    emu_wait_groups(emu_cp_groups, 0, emu_cp_land);
}
inline void cp_async16(uint32_t dst, const void *src, bool valid) { emu_cp_open.push_back({ dst, valid ? src : nullptr, 16 }); }
inline void cp_async16(uint32_t dst, const void *src) { emu_cp_open.push_back({ dst, src, 16 }); }
inline void cp_async4(uint32_t dst, const void *src) { emu_cp_open.push_back({ dst, src, 4 }); }
inline void cp_commit() { emu_commit_group(emu_cp_open, emu_cp_groups); }
/* the thread's committed groups but the N most recent have landed */
template <int N> inline void cp_wait() { emu_wait_groups(emu_cp_groups, (size_t)N, emu_cp_land); }
inline void cp_wait_all() { cp_wait<0>(); }

#define g_emu_addr (g_cta->addr) /* the block's (shim.h's emu_cta) */
#define g_emu_frag (g_cta->frag) /* and its warps' exchanged fragments: blocks of a cluster run at once */

inline uint16_t emu_half_at(uint32_t byte_addr)
{
    uint16_t h;
    memcpy(&h, emu_smem_base() + byte_addr, 2);
    return h;
}

inline void emu_ldsm(uint32_t (&r)[4], uint32_t addr, bool trans)
{
    const int w = threadIdx.x >> 5, l = threadIdx.x & 31, g = l / 4, t4 = l % 4;
    g_emu_addr[w][l] = addr;
    g_warp_bar[w]->arrive_and_wait();
    for (int m = 0; m < 4; m++) {
        uint16_t lo, hi;
        if (!trans) {
            lo = emu_half_at(g_emu_addr[w][8 * m + g] + 4 * t4);
            hi = emu_half_at(g_emu_addr[w][8 * m + g] + 4 * t4 + 2);
        } else {
            lo = emu_half_at(g_emu_addr[w][8 * m + 2 * t4] + 2 * g);
            hi = emu_half_at(g_emu_addr[w][8 * m + 2 * t4 + 1] + 2 * g);
        }
        r[m] = (uint32_t)lo | ((uint32_t)hi << 16);
    }
    g_warp_bar[w]->arrive_and_wait();
}
inline void ldsm_x4(uint32_t (&r)[4], uint32_t addr) { emu_ldsm(r, addr, false); }
/* stmatrix .x4: lane l's row address (row l % 8 of matrix l / 8) and its four registers (matrix
 * m's row l / 4, columns 2·(l % 4), + 1), gathered, then lane 0 writes the four matrices */
inline void stsm_x4(uint32_t addr, uint32_t r0, uint32_t r1, uint32_t r2, uint32_t r3)
{
    const int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    g_emu_addr[w][l] = addr;
    uint32_t *mine = g_emu_frag[w][l];
    mine[0] = r0, mine[1] = r1, mine[2] = r2, mine[3] = r3;
    g_warp_bar[w]->arrive_and_wait();
    if (l == 0)
        for (int m = 0; m < 4; m++)
            for (int row = 0; row < 8; row++)
                for (int t4 = 0; t4 < 4; t4++)
                    memcpy(emu_smem_base() + g_emu_addr[w][8 * m + row] + 4 * t4, &g_emu_frag[w][4 * row + t4][m], 4);
    g_warp_bar[w]->arrive_and_wait();
}
inline void ldsm_x4_trans(uint32_t (&r)[4], uint32_t addr) { emu_ldsm(r, addr, true); }

template <bool BF16> inline float emu_f16(uint32_t reg, int half)
{
    const uint16_t h = (uint16_t)(half ? reg >> 16 : reg & 0xFFFFu);
    if (BF16)
        return __bfloat162float(__nv_bfloat16{ h });
    return __half2float(__half{ h });
}

template <bool BF16> inline void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    const int w = threadIdx.x >> 5, l = threadIdx.x & 31, g = l / 4, t4 = l % 4;
    uint32_t *mine = g_emu_frag[w][l];
    mine[0] = a[0], mine[1] = a[1], mine[2] = a[2], mine[3] = a[3], mine[4] = b0, mine[5] = b1;
    g_warp_bar[w]->arrive_and_wait();
    auto A = [&](int r, int k) {
        return emu_f16<BF16>(g_emu_frag[w][4 * (r % 8) + (k % 8) / 2][(r >= 8) + 2 * (k >= 8)], k % 2);
    };
    auto B = [&](int k, int c) { return emu_f16<BF16>(g_emu_frag[w][4 * c + (k % 8) / 2][4 + (k >= 8)], k % 2); };
    for (int e = 0; e < 4; e++) {
        const int r = g + 8 * (e / 2), c = 2 * t4 + (e & 1);
        float acc = 0.f;
        for (int k = 0; k < 16; k++)
            acc += A(r, k) * B(k, c);
        d[e] += acc;
    }
    g_warp_bar[w]->arrive_and_wait();
}

template <bool BF16> inline uint32_t pack2(float lo, float hi)
{
    uint16_t a, b;
    if (BF16)
        a = __float2bfloat16_rn(lo).x, b = __float2bfloat16_rn(hi).x;
    else
        a = __float2half_rn(lo).x, b = __float2half_rn(hi).x;
    return (uint32_t)a | ((uint32_t)b << 16);
}

inline float ex2(float x) { return exp2f(x); }
inline float rcp(float x) { return 1.f / x; }

} // namespace kb_ptx

#endif
