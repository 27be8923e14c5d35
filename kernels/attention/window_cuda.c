/* window_cuda.c - attention.window@cuda.mma: causal sliding-window attention (query i sees keys
 * max(0, i − W + 1) .. i, attention.window@cpu's definition) on tensor cores: the flash kernel
 * of flash_mma.cu with a window bound, so its key-tile loop covers W + 128 keys per block of
 * 128 queries and the cost is O(N·W·d). f16 and bf16, d = 64 and 128, GQA.
 * Verified on sampled rows against the float64 window reference over the same rounded inputs,
 * with verify_default_tolerance's bound for the dtype (f16 5e-3, bf16 2e-2 relative L2), as
 * attention.flash@cuda.mma. */
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/sparse.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"

static int window_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = window_check_shape(&c->shape, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct attention_cuda *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    static const int dims[] = { 64, 128 };
    rc = attention_cuda_new(a, &c->shape, c->dtype, c->seed, c->stream, dims, 2, err, errlen);
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

/* Row `row` of the output: softmax attention over the W latest keys, in float64. */
static void window_cuda_row(const void *ctx, const struct kb_shape *s, long row, double *out)
{
    const struct attention_cuda *a = ctx;
    const int n = s->seq_len, d = s->head_dim;
    const int i = (int)(row % n);
    const size_t kv_head = attention_kv_head(s, (size_t)(row / n));
    struct key_range range = { window_first_key(i, s->window), i + 1 };
    attention_ranges_reference_row(a->in.q + (size_t)row * d, a->in.k + kv_head * n * d, a->in.v + kv_head * n * d, d,
                                   &range, 1, out);
}

int window_cuda_verify_output(const struct attention_cuda *a, const struct kb_shape *s, uint64_t seed,
                              enum kb_dtype t, struct kb_accuracy *acc)
{
    const long total = (long)s->batch * s->heads * s->seq_len;
    float *o = malloc((size_t)total * s->head_dim * sizeof *o);
    if (!o || attention_cuda_output(a, s, o) != KB_OK) {
        free(o);
        return KB_ERROR;
    }
    int rc = attention_verify_sampled(s, seed, o, total, 0, window_cuda_row, a, verify_default_tolerance(t), acc);
    free(o);
    return rc;
}

static int window_cuda_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    return window_cuda_verify_output(c->state, &c->shape, c->seed, c->dtype, acc);
}

static int window_cuda_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    struct attention_cuda *a = c->state;
    return attention_cuda_tensors(a, &c->shape, out, max); /* the inputs as rounded, and O */
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
    .family = KB_FAMILY_ATTENTION,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .flops = window_flops,
    .bytes = window_bytes,
    .footprint = NULL,
    .setup = window_cuda_setup,
    .run = window_cuda_run,
    .verify = window_cuda_verify,
    .tensors = window_cuda_tensors,
    .teardown = window_cuda_teardown,
    .axes = WINDOW_AXES,
};
