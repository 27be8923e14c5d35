/* wgmma_device.c - the compute-capability check of the sm_90a kernels (wgmma_device.h). */
#include "kernels/gpu/wgmma_device.h"

#include <cuda_runtime_api.h>
#include <stdio.h>

#include "kernels/kernel.h"

int wgmma_device_check(int device_index, char *err, size_t errlen)
{
    struct cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, device_index);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "cudaGetDeviceProperties: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    if (p.major != 9 || p.minor != 0) {
        snprintf(err, errlen, "wgmma needs compute capability 9.0 (sm_90a); this GPU is %d.%d", p.major, p.minor);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}
