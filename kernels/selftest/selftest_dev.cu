/* selftest_dev.cu - GPU kernels that fail on purpose (their descriptors are in selftest_cuda.c):
 * an illegal address (a sticky error that poisons the CUDA context of the case's process) and a
 * kernel that never ends (only the time limit stops it). */
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/selftest/selftest_cuda.h"

__global__ void write_to_bad_address(int *p)
{
    p[threadIdx.x] = 1; /* p is an address no allocation owns */
}

__global__ void spin_forever(volatile int *flag)
{
    while (*flag == 0) /* nothing ever sets it */
        ;
}

int selftest_cuda_write_to_bad_address(void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    write_to_bad_address<<<1, 32, 0, s>>>((int *)(uintptr_t)0x10);
    return (int)cudaStreamSynchronize(s);
}

int selftest_cuda_spin_forever(void *stream, volatile int *flag)
{
    cudaStream_t s = (cudaStream_t)stream;
    spin_forever<<<1, 1, 0, s>>>(flag);
    return (int)cudaStreamSynchronize(s);
}
