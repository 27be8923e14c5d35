/* selftest_cuda.c - CUDA kernels that fail on purpose, so the harness's containment of GPU
 * faults is exercised for real: selftest.cuda_fault (an illegal address) and selftest.cuda_hang
 * (a kernel that never ends), implementations of the operation selftest.fault. Each runs inside
 * its case's own process, so neither can harm the cases after it. Device code in
 * selftest_dev.cu. */
#include "kernels/selftest/selftest.h"
#include "kernels/selftest/selftest_cuda.h"
#include "kernels/selftest/selftest_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>

static int cuda_failed(struct kb_case *c, int code, const char *doing)
{
    cudaError_t e = (cudaError_t)code;
    snprintf(c->error, sizeof c->error, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

/* A flag in device memory that nothing ever sets (what spin_forever waits on). */
static int gpu_setup(struct kb_case *c, char *err, size_t errlen)
{
    cudaError_t e = cudaSetDevice(c->device_index);
    if (e == cudaSuccess) {
        int *flag = NULL;
        e = cudaMalloc((void **)&flag, sizeof *flag);
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
    int e = selftest_cuda_write_to_bad_address(c->stream);
    return e == 0 ? KB_OK : cuda_failed(c, e, "write_to_bad_address");
}

static int hang_run(struct kb_case *c)
{
    int e = selftest_cuda_spin_forever(c->stream, (volatile int *)c->state);
    return e == 0 ? KB_OK : cuda_failed(c, e, "spin_forever");
}

static void gpu_teardown(struct kb_case *c)
{
    cudaFree(c->state); /* fails harmlessly once the context is poisoned */
    c->state = NULL;
}

const struct kb_kernel kb_selftest_cuda_fault = {
    .name = "selftest.cuda_fault",
    .impl = "cuda",
    .description = "fault injection: a GPU kernel writes to an illegal address",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = gpu_setup,
    .run = fault_run,
    .teardown = gpu_teardown,
    .op = &kb_op_selftest_fault,
};

const struct kb_kernel kb_selftest_cuda_hang = {
    .name = "selftest.cuda_hang",
    .impl = "cuda",
    .description = "fault injection: a GPU kernel that never ends (hits --timeout)",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = gpu_setup,
    .run = hang_run,
    .teardown = gpu_teardown,
    .op = &kb_op_selftest_fault,
};
