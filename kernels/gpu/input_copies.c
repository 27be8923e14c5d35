/* input_copies.c - device copies of an input for rotation (input_copies.h). */
#include "kernels/gpu/input_copies.h"

#include <cuda_runtime_api.h>

int input_copies_make(struct input_copies *ic, void *base, size_t bytes, int wanted, void *stream)
{
    ic->ptr[0] = base;
    ic->n = 1;
    if (wanted > KB_INPUT_COPIES_MAX)
        wanted = KB_INPUT_COPIES_MAX;
    while (ic->n < wanted) {
        void *p = NULL;
        if (cudaMalloc(&p, bytes) != cudaSuccess) {
            cudaGetLastError(); /* out of memory is not sticky: rotate through fewer */
            break;
        }
        if (cudaMemcpyAsync(p, base, bytes, cudaMemcpyDeviceToDevice, (cudaStream_t)stream) != cudaSuccess) {
            cudaFree(p);
            break;
        }
        ic->ptr[ic->n++] = p;
    }
    cudaStreamSynchronize((cudaStream_t)stream);
    return ic->n;
}

void *input_copies_get(const struct input_copies *ic, int i)
{
    return ic->n > 0 ? ic->ptr[(i < 0 ? 0 : i) % ic->n] : NULL;
}

void input_copies_free(struct input_copies *ic)
{
    for (int i = 1; i < ic->n; i++)
        cudaFree(ic->ptr[i]);
    ic->n = ic->n > 0 ? 1 : 0;
}
