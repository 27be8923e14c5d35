/* selftest_cuda.cu - CUDA kernels that fail on purpose, so the harness's containment of GPU
 * faults is exercised for real: an illegal address (a sticky error that poisons the CUDA
 * context of the case's process) and a kernel that never ends (only the time limit stops it).
 * Each runs inside its case's own process, so neither can harm the cases after it. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "kernels/selftest/selftest.h"
}

__global__ void write_to_bad_address(int *p)
{
    p[threadIdx.x] = 1; /* p is an address no allocation owns */
}

__global__ void spin_forever(volatile int *flag)
{
    while (*flag == 0) /* nothing ever sets it */
        ;
}

static double zero_count(const struct kb_shape *s) { (void)s; return 0.0; }
static double zero_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 0.0; }

static int cuda_failed(struct kb_case *c, cudaError_t e, const char *doing)
{
    snprintf(c->error, sizeof c->error, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

static int gpu_setup(struct kb_case *c, char *err, size_t errlen)
{
    cudaError_t e = cudaSetDevice(c->device_index);
    if (e == cudaSuccess) {
        int *flag = NULL;
        e = cudaMalloc(&flag, sizeof *flag);
        if (e == cudaSuccess)
            e = cudaMemset(flag, 0, sizeof *flag);
        c->state = flag;
    }
    if (e != cudaSuccess) {
        snprintf(err, errlen, "cuda:%d: %s", c->device_index, cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int fault_run(struct kb_case *c)
{
    cudaStream_t stream = (cudaStream_t)c->stream;
    write_to_bad_address<<<1, 32, 0, stream>>>((int *)(uintptr_t)0x10);
    cudaError_t e = cudaStreamSynchronize(stream);
    return e == cudaSuccess ? KB_OK : cuda_failed(c, e, "write_to_bad_address");
}

static int hang_run(struct kb_case *c)
{
    cudaStream_t stream = (cudaStream_t)c->stream;
    spin_forever<<<1, 1, 0, stream>>>((volatile int *)c->state);
    cudaError_t e = cudaStreamSynchronize(stream);
    return e == cudaSuccess ? KB_OK : cuda_failed(c, e, "spin_forever");
}

static int never_wrong(struct kb_case *c, struct kb_accuracy *acc)
{
    (void)c;
    memset(acc, 0, sizeof *acc);
    acc->cosine = 1.0;
    acc->passed = 1;
    return KB_OK;
}

static void gpu_teardown(struct kb_case *c)
{
    cudaFree(c->state); /* fails harmlessly once the context is poisoned */
}

/* Positional initialisers: the order of struct kb_kernel's fields (kernel.h). */
extern "C" const struct kb_kernel kb_selftest_cuda_fault = {
    "selftest.cuda_fault", "cuda", "fault injection: a GPU kernel writes to an illegal address",
    KB_FAMILY_SELFTEST, KB_DEVICE_CUDA, KB_DTYPE_BIT(KB_DTYPE_F32), 0,
    zero_count, zero_bytes, NULL, gpu_setup, fault_run, never_wrong, NULL, gpu_teardown,
};

extern "C" const struct kb_kernel kb_selftest_cuda_hang = {
    "selftest.cuda_hang", "cuda", "fault injection: a GPU kernel that never ends (hits --timeout)",
    KB_FAMILY_SELFTEST, KB_DEVICE_CUDA, KB_DTYPE_BIT(KB_DTYPE_F32), 0,
    zero_count, zero_bytes, NULL, gpu_setup, hang_run, never_wrong, NULL, gpu_teardown,
};
