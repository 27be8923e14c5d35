// cuda_runtime_emu.h - the few runtime names device headers mention outside launchers (run.sh
// installs it as <cuda_runtime.h> for the mma drivers); nothing here is called.
#pragma once
typedef int cudaError_t;
enum { cudaSuccess = 0, cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
template <typename F> cudaError_t cudaFuncSetAttribute(F *, int, int) { return cudaSuccess; }
inline cudaError_t cudaGetDevice(int *dev) { *dev = 0; return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr, int) { *value = 1; return cudaSuccess; }
