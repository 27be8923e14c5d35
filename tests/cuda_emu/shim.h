// shim.h - host emulation of the plain-CUDA features kbench's simple kernels use: one std::thread
// per CUDA thread of a block (blocks one after another, or a cluster's blocks together:
// emu_launch_cluster), std::barrier for __syncthreads and for the warp exchanges (shuffles),
// `__shared__` arrays as statics (so not for kernels launched in clusters), dynamic shared memory
// as a NaN-poisoned buffer per block. For a correctness check only (README.md); the PTX of mma.sync and friends
// is ptx_emu.h's, Hopper's (wgmma, TMA, mbarriers) hopper_emu.h's.
// A shuffle that not every lane of a warp reaches deadlocks here, as it is undefined on the GPU.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__
using std::max;
using std::min;
struct dim3e { unsigned x, y, z; };
thread_local dim3e threadIdx, blockIdx, gridDim, blockDim;
constexpr int EMU_MAX_WARPS = 32, EMU_MAX_CLUSTER = 8;
// One block's state: its dynamic shared memory, its barriers, the warps' exchange buffers, and
// what hopper_emu.h keeps per block (ext). The threads of a block point g_cta at it, so the
// blocks of a cluster run side by side; the g_ names below are the calling thread's block's.
struct emu_cta {
    float *smem;
    size_t smem_bytes;
    std::barrier<> *block_bar;
    std::barrier<> *warp_bar[EMU_MAX_WARPS];
    std::barrier<> *wg_bar[EMU_MAX_WARPS / 4]; /* warpgroups of 128 threads (hopper_emu.h) */
    alignas(8) unsigned char xch[EMU_MAX_WARPS][32][8];
    uint32_t addr[EMU_MAX_WARPS][32]; /* ptx_emu.h's ldmatrix row addresses */
    uint32_t frag[EMU_MAX_WARPS][32][6]; /* and the registers its mma.sync and stmatrix exchange */
    void *ext;
    int rank;              /* in its cluster */
    std::atomic<int> live; /* its threads not yet returned */
};
// The blocks of one cluster (size 1 for a plain launch) and its barrier.cluster, which a returning
// thread leaves (arrive_and_drop), as an exited thread releases a barrier.cluster on the GPU.
struct emu_cluster {
    int size;
    emu_cta *cta[EMU_MAX_CLUSTER];
    std::barrier<> *bar;
};
thread_local emu_cta *g_cta;
thread_local emu_cluster *g_cluster;
#define g_smem (g_cta->smem)
#define g_smem_bytes (g_cta->smem_bytes)
#define g_block_bar (g_cta->block_bar)
#define g_warp_bar (g_cta->warp_bar)
#define g_wg_bar (g_cta->wg_bar)
#define g_xch (g_cta->xch)
static void (*g_block_begin)(emu_cta *); /* state to set up before each block (hopper_emu.h's barriers) */
static void (*g_block_end)(emu_cta *);   /* checks after each block (hopper_emu.h: no barrier left mid-phase) */
inline void __syncthreads() { g_block_bar->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { g_warp_bar[threadIdx.x >> 5]->arrive_and_wait(); }
// Every lane publishes v, then reads its source lane's (src < 0: keeps its own).
template <typename V, typename F> V emu_exchange(V v, F src_of)
{
    static_assert(sizeof(V) <= 8);
    const int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    memcpy(g_xch[w][l], &v, sizeof v);
    g_warp_bar[w]->arrive_and_wait();
    const int s = src_of(l);
    V r = v;
    if (s >= 0)
        memcpy(&r, g_xch[w][s], sizeof r);
    g_warp_bar[w]->arrive_and_wait();
    return r;
}
template <typename V> V __shfl_xor_sync(unsigned, V v, int o, int width = 32)
{
    return emu_exchange(v, [=](int l) { const int s = l ^ o; return (s / width == l / width) ? s : l; });
}
template <typename V> V __shfl_up_sync(unsigned, V v, int o, int width = 32)
{
    return emu_exchange(v, [=](int l) { return l % width >= o ? l - o : -1; });
}
template <typename V> V __shfl_down_sync(unsigned, V v, int o, int width = 32)
{
    return emu_exchange(v, [=](int l) { return l % width + o < width ? l + o : -1; });
}
template <typename V> V __shfl_sync(unsigned, V v, int src, int width = 32)
{
    return emu_exchange(v, [=](int l) { return l / width * width + src % width; });
}
template <typename V> V __ldg(const V *p) { return *p; }
template <typename V> V __ldcg(const V *p) { return *p; }
// Each lane's predicate as bit `lane` of the warp's mask (every lane takes part, as the kernels'
// full-mask ballots ask).
inline unsigned __ballot_sync(unsigned, int pred)
{
    const int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    g_xch[w][l][0] = pred != 0;
    g_warp_bar[w]->arrive_and_wait();
    unsigned mask = 0;
    for (int i = 0; i < 32; i++)
        mask |= (unsigned)g_xch[w][i][0] << i;
    g_warp_bar[w]->arrive_and_wait();
    return mask;
}
inline int __all_sync(unsigned m, int pred) { return __ballot_sync(m, pred) == 0xffffffffu; }
inline int __any_sync(unsigned m, int pred) { return __ballot_sync(m, pred) != 0; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
// float64 with round-to-nearest and no contraction into a fused multiply-add (volatile keeps the
// product a rounded double even where the compiler would fuse)
inline double __dmul_rn(double a, double b) { volatile double p = a * b; return p; }
inline double __dadd_rn(double a, double b) { volatile double s = a + b; return s; }
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
inline float __expf(float x) { return expf(x); }
inline float __fdividef(float a, float b) { return a / b; }
/* one float's read-modify-write, atomic among the emulated threads, as on the GPU */
inline float atomicAdd(float *p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline int atomicAdd(int *p, int v) { return std::atomic_ref<int>(*p).fetch_add(v); }
inline int atomicExch(int *p, int v) { return std::atomic_ref<int>(*p).exchange(v); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
struct uint4 { unsigned x, y, z, w; };
struct float2 { float x, y; };
struct char2 { signed char x, y; };
inline char2 make_char2(signed char x, signed char y) { return { x, y }; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return { x, y, z, w }; }

// The 16-bit types as their bits, converted as the CUDA intrinsics do (round to nearest even).
struct __nv_bfloat16 { uint16_t x; };
struct __half { uint16_t x; };
struct __nv_bfloat162 { __nv_bfloat16 a, b; };
struct __half2 { __half a, b; };
inline float __bfloat162float(__nv_bfloat16 h) { uint32_t u = (uint32_t)h.x << 16; float f; memcpy(&f, &u, 4); return f; }
inline __nv_bfloat16 __float2bfloat16_rn(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if (std::isnan(f))
        return { 0x7fc0 };
    u += 0x7fff + ((u >> 16) & 1);
    return { (uint16_t)(u >> 16) };
}
inline float __half2float(__half h) { _Float16 v; memcpy(&v, &h.x, 2); return (float)v; }
inline __half __float2half_rn(float f) { _Float16 v = (_Float16)f; __half h; memcpy(&h.x, &v, 2); return h; }
inline float2 __bfloat1622float2(__nv_bfloat162 h) { return { __bfloat162float(h.a), __bfloat162float(h.b) }; }
inline float2 __half22float2(__half2 h) { return { __half2float(h.a), __half2float(h.b) }; }
template <typename T> T emu_from_float(float f);
template <> inline __nv_bfloat16 emu_from_float<__nv_bfloat16>(float f) { return __float2bfloat16_rn(f); }
template <> inline __half emu_from_float<__half>(float f) { return __float2half_rn(f); }
inline float emu_to_float(__nv_bfloat16 h) { return __bfloat162float(h); }
inline float emu_to_float(__half h) { return __half2float(h); }
template <typename T> std::vector<T> emu_convert(const float *x, size_t n)
{
    std::vector<T> r(n);
    for (size_t i = 0; i < n; i++)
        r[i] = emu_from_float<T>(x[i]);
    return r;
}

// Runs body() as every thread of every block of the grid (gx, gy, gz) x threads, in clusters of
// cx consecutive blocks along x (gx a multiple of cx): a cluster's blocks run together, each with
// its own shared memory and barriers, the clusters one after another.
template <typename F> void emu_launch_cluster(int gx, int gy, int gz, int cx, int threads, size_t smem_bytes, F body)
{
    assert(threads % 32 == 0 && threads / 32 <= EMU_MAX_WARPS && cx >= 1 && cx <= EMU_MAX_CLUSTER && gx % cx == 0);
    for (int bz = 0; bz < gz; bz++)
        for (int by = 0; by < gy; by++)
            for (int bx0 = 0; bx0 < gx; bx0 += cx) {
                std::vector<std::vector<float>> buffers(cx);
                std::vector<emu_cta> ctas(cx);
                emu_cluster cluster = {};
                cluster.size = cx;
                std::barrier<> cluster_bar(cx * threads);
                cluster.bar = &cluster_bar;
                for (int r = 0; r < cx; r++) {
                    emu_cta &c = ctas[r]; /* value-initialised: zeros */
                    /* 1024-byte aligned, as the GPU's shared window starts at address 0: a kernel
                     * that aligns its tiles by the generic pointer then agrees with the offsets
                     * smem_u32 gives; unwritten shared memory reads as NaN */
                    buffers[r].assign(smem_bytes / 4 + 1 + 256, NAN);
                    c.smem = (float *)(((uintptr_t)buffers[r].data() + 1023) & ~(uintptr_t)1023);
                    c.smem_bytes = smem_bytes;
                    c.block_bar = new std::barrier<>(threads);
                    for (int w = 0; w < threads / 32; w++)
                        c.warp_bar[w] = new std::barrier<>(32);
                    for (int w = 0; w < threads / 128; w++)
                        c.wg_bar[w] = new std::barrier<>(128);
                    c.rank = r;
                    c.live = threads;
                    cluster.cta[r] = &c;
                    if (g_block_begin)
                        g_block_begin(&c);
                }
                std::vector<std::thread> ts;
                for (int r = 0; r < cx; r++)
                    for (int t = 0; t < threads; t++)
                        ts.emplace_back([=, &ctas, &cluster] {
                            g_cta = &ctas[r];
                            g_cluster = &cluster;
                            threadIdx = { (unsigned)t, 0, 0 };
                            blockIdx = { (unsigned)(bx0 + r), (unsigned)by, (unsigned)bz };
                            gridDim = { (unsigned)gx, (unsigned)gy, (unsigned)gz };
                            blockDim = { (unsigned)threads, 1, 1 };
                            body();
                            g_cta->live--;
                            g_cluster->bar->arrive_and_drop();
                        });
                for (auto &t : ts)
                    t.join();
                for (int r = 0; r < cx; r++) {
                    emu_cta &c = ctas[r];
                    g_cta = &c; /* the end hook's failure message names this block */
                    blockIdx = { (unsigned)(bx0 + r), (unsigned)by, (unsigned)bz };
                    if (g_block_end)
                        g_block_end(&c);
                    delete c.block_bar;
                    for (int w = 0; w < threads / 32; w++)
                        delete c.warp_bar[w];
                    for (int w = 0; w < threads / 128; w++)
                        delete c.wg_bar[w];
                }
                g_cta = nullptr;
            }
}

// Runs body() as every thread of every block of the grid (gx, gy, gz) x threads, blocks in turn.
template <typename F> void emu_launch(int gx, int gy, int gz, int threads, size_t smem_bytes, F body)
{
    emu_launch_cluster(gx, gy, gz, 1, threads, smem_bytes, body);
}
