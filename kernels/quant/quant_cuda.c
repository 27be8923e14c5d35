/* quant_cuda.c - the host side shared by the CUDA quantization kernels (quant_cuda.h). */
#include "kernels/quant/quant_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <string.h>

int quant_cuda_inner_setup(const struct kb_case *outer, const struct kb_kernel *cpu_kernel,
                           struct kb_case *inner, char *err, size_t errlen)
{
    memset(inner, 0, sizeof *inner);
    inner->kernel = cpu_kernel;
    inner->shape = outer->shape;
    inner->dtype = outer->dtype;
    inner->threads = 1;
    inner->seed = outer->seed;
    inner->input_copies_wanted = 1;
    return cpu_kernel->setup(inner, err, errlen);
}

void quant_cuda_inner_teardown(struct kb_case *inner)
{
    if (inner->kernel && inner->state)
        inner->kernel->teardown(inner);
    inner->state = NULL;
}

void *quant_cuda_tensor(const struct kb_case *inner, const char *name, struct kb_tensor *t)
{
    struct kb_tensor all[KB_TENSORS_MAX];
    int n = inner->kernel->tensors(inner, all, KB_TENSORS_MAX);
    for (int i = 0; i < n; i++)
        if (strcmp(all[i].name, name) == 0) {
            if (t)
                *t = all[i];
            return (void *)all[i].data; /* the inner case's own heap buffer */
        }
    return NULL;
}

int quant_cuda_fail(int cuda_error, const char *doing, char *err, size_t errlen)
{
    cudaError_t e = (cudaError_t)cuda_error;
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}
