/* linear_cuda.c - attention.linear@cuda.mma: the descriptor of the chunk-parallel linear
 * attention on tensor cores (passes in linear_cuda.h, device code in linear_mma.cu).
 * f16 and bf16 inputs, float32 state and accumulation, d = 64 or 128, chunk 64, causal with or
 * without decay, non-causal, GQA, both feature maps; no decode step (that stays on the CPU).
 *
 * Verification is the operation's (linear_op.c): its inputs hold values already rounded to the
 * dtype, so the float64 reference (linear_reference_rows, on ATTENTION_VERIFY_ROWS sampled
 * rows) measures only the kernel's own error: φ(Q), φ(K), the
 * intra-chunk weights and the prefix state are rounded to the dtype before the tensor cores
 * read them, and O is stored in it. Bound: verify_default_tolerance (relative L2: f16 5e-3,
 * bf16 2e-2); o_i is a weighted mean with non-negative weights, so those roundings give about
 * one unit of the dtype's precision (2^-11, 2^-8) relative, well inside. */
#include "kernels/attention/linear_cuda.h"

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

struct linear_cuda_state {
    struct attention_cuda a;
    struct linear_cuda_scratch scr;
};

static long chunks_of(const struct kb_shape *s)
{
    return (s->seq_len + LINEAR_CUDA_CHUNK - 1) / LINEAR_CUDA_CHUNK;
}

double linear_cuda_scratch_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double states = (double)s->batch * s->heads * chunks_of(s), d = s->head_dim;
    return states * (4.0 * (d + 1) * d + kb_dtype_size(t) * d * d + 4.0 * d);
}

/* Its own memory beyond the operands, on the device: Q, K, V and O in dtype and the chunk
 * states (the scaling-transnormer claim compares it with attention.linear@cuda.naive's N×N
 * matrices). */
static double linear_cuda_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    const double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads;
    return (double)kb_dtype_size(t) * s->batch * s->seq_len * s->head_dim * (2.0 * s->heads + 2.0 * kvh) +
           linear_cuda_scratch_bytes(s, t);
}

static void linear_cuda_teardown(struct kb_case *c)
{
    struct linear_cuda_state *st = c->state;
    if (st) {
        cudaFree(st->scr.local);
        cudaFree(st->scr.prefix);
        cudaFree(st->scr.zprefix);
        attention_cuda_free(&st->a);
        free(st);
    }
    c->state = NULL;
}

static int linear_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct kb_shape *s = &c->shape;
    int rc;
    if (s->decode) {
        snprintf(err, errlen, "attention.linear@cuda.mma: no decode step on the GPU (attention.linear@cpu has one)");
        return KB_UNSUPPORTED;
    }
    if (s->chunk != LINEAR_CUDA_CHUNK) {
        snprintf(err, errlen, "attention.linear@cuda.mma: chunk = %d, the device code is compiled for chunk %d",
                 s->chunk, LINEAR_CUDA_CHUNK);
        return KB_UNSUPPORTED;
    }
    double need = linear_cuda_scratch_bytes(s, c->dtype) + attention_cuda_chunked_io_bytes(s, c->dtype);
    rc = attention_cuda_chunked_setup(c, sizeof(struct linear_cuda_state), need,
                                      "attention.linear@cuda.mma (chunk states included)", err, errlen);
    if (rc != KB_OK)
        return rc;
    struct linear_cuda_state *st = c->state;
    const size_t states = (size_t)s->batch * s->heads * (size_t)chunks_of(s), d = (size_t)s->head_dim;
    cudaError_t e = cudaMalloc((void **)&st->scr.local, states * (d + 1) * d * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc(&st->scr.prefix, states * d * d * (size_t)kb_dtype_size(c->dtype));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->scr.zprefix, states * d * sizeof(float));
    if (e != cudaSuccess) {
        linear_cuda_teardown(c);
        return attention_cuda_chunk_states_error("attention.linear@cuda.mma", linear_cuda_scratch_bytes(s, c->dtype), e,
                                                 err, errlen);
    }
    return KB_OK;
}

static int linear_cuda_run(struct kb_case *c)
{
    struct linear_cuda_state *st = c->state;
    int e = linear_cuda_launch(&c->shape, c->dtype, st->a.q, st->a.k, st->a.v, st->a.o, &st->scr, c->stream);
    return attention_cuda_launch_result(c, e, "linear attention");
}

static int linear_cuda_collect(struct kb_case *c)
{
    const struct linear_cuda_state *st = c->state;
    return attention_cuda_collect(c, &st->a, KB_LIN_O);
}

const struct kb_kernel kb_attention_linear_cuda = {
    .name = "attention.linear",
    .impl = "cuda.mma",
    .description = "linear attention φ(Q)(φ(K)ᵀV)/normaliser on tensor cores, chunk-parallel (chunk states, a scan, "
                   "per-chunk outputs): causal with per-head decay or not, non-causal; f16/bf16, d = 64 or 128, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_FEATURE) | KB_AXIS_BIT(KB_AXIS_DECAY),
    .footprint = linear_cuda_footprint,
    .setup = linear_cuda_setup,
    .run = linear_cuda_run,
    .teardown = linear_cuda_teardown,
    .op = &kb_op_attention_linear,
    .collect = linear_cuda_collect,
};
