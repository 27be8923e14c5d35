/* window_cuda.c - attention.window@cuda.mma: causal sliding-window attention (query i sees keys
 * max(0, i − W + 1) .. i, attention.window@cpu's definition) on tensor cores: the flash kernel
 * of flash_mma.cu with a window bound, so its key-tile loop covers W + 128 keys per block of
 * 128 queries and the cost is O(N·W·d). f16 and bf16, d = 64 and 128, GQA.
 * Verified by the operation (window_op.c): sampled rows against the float64 window reference
 * over the same rounded inputs, with verify_default_tolerance's bound for the dtype (f16 5e-3,
 * bf16 2e-2 relative L2). */
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/sparse_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

static int window_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc;
    struct attention_cuda *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    static const int dims[] = { 64, 128 };
    rc = attention_cuda_from_case(a, c, dims, 2, err, errlen);
    if (rc != KB_OK) {
        free(a);
        return rc;
    }
    c->state = a;
    return KB_OK;
}

static int window_cuda_run(struct kb_case *c)
{
    return attention_cuda_run(c, window_cuda_launch, "flash_fwd (window)");
}

/* O back to the host, into the case's output. */
static int window_cuda_collect(struct kb_case *c)
{
    return attention_cuda_collect(c, c->state, KB_WIN_O);
}

static void window_cuda_teardown(struct kb_case *c)
{
    struct attention_cuda *a = c->state;
    if (a) {
        attention_cuda_free(a);
        free(a);
    }
    c->state = NULL;
}

const struct kb_kernel kb_attention_window_cuda = {
    .name = "attention.window",
    .impl = "cuda.mma",
    .description = "causal sliding-window attention (W latest keys) on tensor cores (mma.sync), f16/bf16, d = 64 or 128, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .footprint = NULL,
    .setup = window_cuda_setup,
    .run = window_cuda_run,
    .teardown = window_cuda_teardown,
    .axes = WINDOW_AXES,
    .op = &kb_op_attention_window,
    .collect = window_cuda_collect,
};
