// shim.h - host emulation of the few CUDA features delta_dev.cu's kernels use: one std::thread per CUDA
// thread, std::barrier for __syncthreads and the warp exchanges. For a correctness check only.
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(x)
struct dim3e { int x, y, z; };
thread_local dim3e threadIdx, blockIdx, gridDim;
static std::barrier<> *g_block_bar;
static std::barrier<> *g_warp_bar[8];
static float g_xch[8][32];
static float *g_smem;
inline void __syncthreads() { g_block_bar->arrive_and_wait(); }
inline void __syncwarp() { g_warp_bar[threadIdx.x >> 5]->arrive_and_wait(); }
inline float __shfl_xor_sync(unsigned, float v, int o)
{
    int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    g_xch[w][l] = v;
    g_warp_bar[w]->arrive_and_wait();
    float r = g_xch[w][l ^ o];
    g_warp_bar[w]->arrive_and_wait();
    return r;
}
inline float __shfl_up_sync(unsigned, float v, int o)
{
    int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    g_xch[w][l] = v;
    g_warp_bar[w]->arrive_and_wait();
    float r = l >= o ? g_xch[w][l - o] : v;
    g_warp_bar[w]->arrive_and_wait();
    return r;
}
inline float __expf(float x) { return expf(x); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
struct __nv_bfloat16 { uint16_t x; };
struct __half { uint16_t x; };
inline float __bfloat162float(__nv_bfloat16 h) { uint32_t u = (uint32_t)h.x << 16; float f; memcpy(&f, &u, 4); return f; }
inline float __half2float(__half) { return NAN; } // main.cpp runs bf16 only; f16 would fail loudly
template <typename F> void emu_launch(int gx, int gy, int gz, int threads, size_t smem_bytes, F body)
{
    std::vector<float> smem(smem_bytes / 4 + 1);
    g_smem = smem.data();
    for (int bz = 0; bz < gz; bz++)
    for (int by = 0; by < gy; by++)
        for (int bx = 0; bx < gx; bx++) {
            std::barrier<> bb(threads);
            g_block_bar = &bb;
            for (int w = 0; w < threads / 32; w++)
                g_warp_bar[w] = new std::barrier<>(32);
            std::vector<std::thread> ts;
            for (int t = 0; t < threads; t++)
                ts.emplace_back([=] { threadIdx = { t, 0, 0 }; blockIdx = { bx, by, bz }; gridDim = { gx, gy, gz }; body(); });
            for (auto &t : ts) t.join();
            for (int w = 0; w < threads / 32; w++)
                delete g_warp_bar[w];
        }
}
