/* linear_naive_cuda.c - attention.linear@cuda.naive: linear attention in its masked-quadratic
 * form on the GPU, the baseline Lightning Attention (Scaling TransNormer) measures the chunked
 * kernel against:
 *     A = (φ(Q)·φ(K)ᵀ) ⊙ D,   D_is = λ^(i−s)[s ≤ i] (causal) or 1,   O = A·V / A·1
 * with the whole [B·H][N][N] float32 matrix A materialised in global memory, as
 * attention.linear@cpu.naive does per head: one kernel writes A, one reads it back for the
 * outputs and normalisers (naive_cuda.cu). Time and memory grow as N²; a case whose A would
 * take more than a quarter of the free device memory is refused, saying how much it needs.
 * f16/bf16 inputs (the operation's, already rounded), float32 arithmetic, any d, GQA, both
 * feature maps, decay; no chunk axis (it has no chunks) and no decode step.
 *
 * Verification is the operation's (linear_op.c), as for every implementation: sampled rows
 * against the float64 masked-quadratic reference over the same rounded inputs, with
 * verify_default_tolerance's bound for the dtype (f16 5e-3, bf16 2e-2 relative L2; only
 * O's final rounding to 16 bits and float32 sums enter). */
#include "kernels/attention/naive_cuda.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/gpu/device_memory.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_ops.h"

struct linear_naive_cuda_state {
    struct attention_cuda a;
    float *scores;    /* device [B·H][N][N] */
    float *decay_pow; /* device [H][N]: λ_h^m in float32, as the CPU naive kernel's table */
};

/* Its own memory beyond the operands, on the device: Q, K, V and O in dtype, the N×N matrices
 * and the decay table (what the scaling-transnormer claim compares with the chunked kernel's
 * footprint). */
static double linear_naive_cuda_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    const double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads, n = s->seq_len;
    return (double)kb_dtype_size(t) * s->batch * n * s->head_dim * (2.0 * s->heads + 2.0 * kvh) +
           4.0 * s->batch * s->heads * n * n + 4.0 * s->heads * n;
}

static void linear_naive_cuda_teardown(struct kb_case *c)
{
    struct linear_naive_cuda_state *st = c->state;
    if (st) {
        cudaFree(st->scores);
        cudaFree(st->decay_pow);
        attention_cuda_free(&st->a);
        free(st);
    }
    c->state = NULL;
}

/* The N×N matrices must fit in a quarter of the free memory (the rest for the inputs, other
 * cases' leftovers and the cold-L2 buffer). */
static int scores_fit(const struct kb_shape *s, char *err, size_t errlen)
{
    if ((long)s->batch * s->heads > 65535) {
        snprintf(err, errlen, "attention.linear@cuda.naive: B·H = %ld heads, the score kernel's grid allows 65535",
                 (long)s->batch * s->heads);
        return KB_UNSUPPORTED;
    }
    const double need = 4.0 * s->batch * s->heads * (double)s->seq_len * s->seq_len;
    int fits = gpu_memory_fits(need, 0.25, "attention.linear@cuda.naive, its N×N score matrices (B·H·N² floats)", err,
                               errlen);
    if (fits != KB_OK)
        return fits;
    return KB_OK;
}

static int linear_naive_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    /* the operation checked the shape; decode is not an axis of this kernel (it stays 0) */
    if (c->shape.decode) {
        snprintf(err, errlen, "attention.linear@cuda.naive: no decode step (attention.linear@cpu has one)");
        return KB_UNSUPPORTED;
    }
    const struct kb_shape *s = &c->shape;
    int rc = scores_fit(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct linear_naive_cuda_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    rc = attention_cuda_from_case(&st->a, c, NULL, 0, err, errlen);
    if (rc != KB_OK) {
        free(st);
        return rc;
    }
    c->state = st;
    const size_t n = (size_t)s->seq_len, table = (size_t)s->heads * n;
    float *pow_host = malloc(table * sizeof *pow_host);
    if (!pow_host) {
        snprintf(err, errlen, "out of memory");
        linear_naive_cuda_teardown(c);
        return KB_ERROR;
    }
    for (int h = 0; h < s->heads; h++) {
        double lambda = s->decay ? linear_decay_lambda(h, s->heads) : 1.0;
        for (size_t m = 0; m < n; m++)
            pow_host[(size_t)h * n + m] = (float)pow(lambda, (double)m);
    }
    cudaError_t e = cudaMalloc((void **)&st->scores, (size_t)s->batch * s->heads * n * n * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->decay_pow, table * sizeof(float));
    if (e == cudaSuccess)
        e = (cudaError_t)gpu_copy_to_device(st->decay_pow, pow_host, table * sizeof(float));
    free(pow_host);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "attention.linear@cuda.naive: allocating the %.2f GiB score matrices: %s",
                 4.0 * s->batch * s->heads * (double)n * n / 1073741824.0, cudaGetErrorString(e));
        linear_naive_cuda_teardown(c);
        return KB_ERROR;
    }
    attention_cuda_copies(&st->a, c, s);
    return KB_OK;
}

static int linear_naive_cuda_run(struct kb_case *c)
{
    struct linear_naive_cuda_state *st = c->state;
    const void *q, *k, *v;
    attention_cuda_inputs(&st->a, c->input_copy, &q, &k, &v);
    int e = linear_naive_cuda_launch(&c->shape, c->dtype, q, k, v, st->a.o, st->scores, st->decay_pow, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "linear_naive launch: %s", cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int linear_naive_cuda_collect(struct kb_case *c)
{
    const struct linear_naive_cuda_state *st = c->state;
    return attention_cuda_collect(c, &st->a, KB_LIN_O);
}

const struct kb_kernel kb_attention_linear_cuda_naive = {
    .name = "attention.linear",
    .impl = "cuda.naive",
    .description = "linear attention, masked-quadratic form ((φ(Q)φ(K)ᵀ)⊙D)V with the N×N matrices in GPU memory: the "
                   "naive GPU baseline; f16/bf16 inputs, f32 math, no tensor cores",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_FEATURE) | KB_AXIS_BIT(KB_AXIS_DECAY),
    .footprint = linear_naive_cuda_footprint,
    .setup = linear_naive_cuda_setup,
    .run = linear_naive_cuda_run,
    .teardown = linear_naive_cuda_teardown,
    .op = &kb_op_attention_linear, /* credited the operation's FLOPs, not the N×N form's work */
    .collect = linear_naive_cuda_collect,
};
