/* window_naive_cuda.c - attention.window@cuda.naive: causal sliding-window attention (query i
 * sees keys max(0, i − W + 1) .. i), the "existing naive kernel" Faster Neighborhood Attention
 * measures its fused kernel against, on the GPU: a thread block per query row, a scalar score
 * loop over the window's keys into shared memory, the softmax, then P·V (naive_cuda.cu). The
 * GPU twin of attention.window@cpu.naive and the baseline of attention.window@cuda.mma.
 * f16 and bf16 inputs (the operation's, already rounded), float32 arithmetic, any d, GQA.
 * Verified by the operation (window_op.c) as every implementation: sampled rows against the
 * float64 window reference over the same rounded inputs, verify_default_tolerance's bound for the dtype
 * (f16 5e-3, bf16 2e-2 relative L2; here only O's final rounding to 16 bits enters). */
#include "kernels/attention/naive_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/sparse_ops.h"

/* The score row lives in shared memory: refuse a window the device cannot hold there. The
 * kernel's own static shared memory (two reductions of 4 floats) is left room for. */
static int window_naive_fits(const struct kb_shape *s, int *optin_out, char *err, size_t errlen)
{
    int dev = 0, optin = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "attention.window@cuda.naive: querying shared memory: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    size_t need = window_naive_cuda_smem(s);
    if (need + 256 > (size_t)optin) {
        snprintf(err, errlen,
                 "attention.window@cuda.naive: min(W, N) = %d scores and d = %d need %zu bytes of shared memory per "
                 "block, the device allows %d",
                 s->window < s->seq_len ? s->window : s->seq_len, s->head_dim, need, optin);
        return KB_UNSUPPORTED;
    }
    *optin_out = optin;
    return KB_OK;
}

static void window_naive_cuda_teardown(struct kb_case *c)
{
    struct attention_cuda *a = c->state;
    if (a) {
        attention_cuda_free(a);
        free(a);
    }
    c->state = NULL;
}

static int window_naive_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    int optin = 0;
    int rc = window_naive_fits(&c->shape, &optin, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct attention_cuda *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    rc = attention_cuda_from_case(a, c, NULL, 0, err, errlen);
    if (rc != KB_OK) {
        free(a);
        return rc;
    }
    c->state = a;
    /* the device's whole opt-in limit, not this case's need: a smaller later case must not
     * lower it under a case set up before it and run after */
    cudaError_t e = (cudaError_t)window_naive_cuda_prepare((size_t)optin - 256, c->dtype);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "attention.window@cuda.naive: allowing %d bytes of shared memory: %s", optin - 256,
                 cudaGetErrorString(e));
        window_naive_cuda_teardown(c);
        return KB_ERROR;
    }
    attention_cuda_copies(a, c, &c->shape);
    return KB_OK;
}

static int window_naive_cuda_run(struct kb_case *c)
{
    return attention_cuda_run(c, window_naive_cuda_launch, "window_naive");
}

/* O back to the host, into the case's output. */
static int window_naive_cuda_collect(struct kb_case *c)
{
    return attention_cuda_collect(c, c->state, KB_WIN_O);
}

const struct kb_kernel kb_attention_window_cuda_naive = {
    .name = "attention.window",
    .impl = "cuda.naive",
    .description = "causal sliding-window attention, naive GPU baseline: a block per query, scalar score loop into "
                   "shared memory, softmax, P·V; f16/bf16 inputs, f32 math, no tensor cores",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .footprint = NULL,
    .setup = window_naive_cuda_setup,
    .run = window_naive_cuda_run,
    .teardown = window_naive_cuda_teardown,
    .axes = WINDOW_AXES,
    .op = &kb_op_attention_window,
    .collect = window_naive_cuda_collect,
};
