/* gpu_cuda.cu - the GPU interface through the CUDA runtime: device count and properties. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "harness/gpu.h"
}

extern "C" int gpu_count(char *why, size_t whylen)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice) {
        /* what cudart says on a machine without an NVIDIA driver or GPU is cryptic: say it plainly */
        snprintf(why, whylen, "no NVIDIA GPU or driver on this machine (CUDA runtime: %s)", cudaGetErrorString(e));
        return -1;
    }
    if (e != cudaSuccess) {
        snprintf(why, whylen, "%s", cudaGetErrorString(e));
        return -1;
    }
    if (n == 0)
        snprintf(why, whylen, "no CUDA devices visible");
    return n;
}

extern "C" int gpu_describe(int index, struct gpu_info *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, index);
    if (e != cudaSuccess) {
        snprintf(why, whylen, "cuda:%d: %s", index, cudaGetErrorString(e));
        return -1;
    }
    out->index = index;
    snprintf(out->name, sizeof out->name, "%.127s", p.name);
    out->cc_major = p.major;
    out->cc_minor = p.minor;
    out->sms = p.multiProcessorCount;
    out->mem_bytes = (double)p.totalGlobalMem;
    out->l2_bytes = (double)p.l2CacheSize;
    /* clock fields left cudaDeviceProp in CUDA 13: ask by attribute */
    int khz = 0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, index) == cudaSuccess)
        out->sm_clock_mhz = khz / 1000.0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, index) == cudaSuccess)
        out->mem_clock_mhz = khz / 1000.0;
    cudaDriverGetVersion(&out->driver_version);
    cudaRuntimeGetVersion(&out->runtime_version);
    return 0;
}
