/* gla_cuda.c - attention.gla@cuda.mma: the descriptor of the chunk-parallel gated linear
 * attention on tensor cores (passes in gla_cuda.h, device code in gla_mma.cu). f16 and bf16
 * inputs and gates, float32 gate sums, state and accumulation; d = 64 or 128, chunk 64, GQA.
 *
 * Verification is the operation's (gla_op.c): Q, K, V and the log-gates are drawn in float32
 * as for attention.gla@cpu and rounded to the dtype's values, so the float64 reference
 * (gla_reference_row, on ATTENTION_VERIFY_ROWS sampled rows) measures only the kernel's own
 * error: q̃, k̂, the intra-chunk weights and the
 * prefix state are rounded to the dtype before the tensor cores read them, and O is stored in
 * it. Bound: verify_default_tolerance (relative L2: f16 5e-3, bf16 2e-2). GLA's weights are
 * signed and unnormalised, but every product the kernel rounds is a sum of such terms, so the
 * roundings stay independent relative errors of about one unit of the dtype (2^-11, 2^-8)
 * each, a few of them per term: several times inside the bound. */
#include "kernels/attention/gla_cuda.h"

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

struct gla_cuda_state {
    struct attention_cuda a;
    void *d_gates;  /* the case's log-gates on the device, in the dtype */
    struct gla_cuda_scratch scr;
};

static long chunks_of(const struct kb_shape *s)
{
    return (s->seq_len + GLA_CUDA_CHUNK - 1) / GLA_CUDA_CHUNK;
}

double gla_cuda_scratch_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double states = (double)s->batch * s->heads * chunks_of(s), d = s->head_dim;
    return states * (4.0 * (d + 1) * d + kb_dtype_size(t) * d * d);
}

static void gla_cuda_teardown(struct kb_case *c)
{
    struct gla_cuda_state *st = c->state;
    if (st) {
        cudaFree(st->scr.local);
        cudaFree(st->scr.prefix);
        cudaFree(st->d_gates);
        attention_cuda_free(&st->a);
        free(st);
    }
    c->state = NULL;
}

static int gla_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct kb_shape *s = &c->shape;
    int rc;
    if (s->chunk != GLA_CUDA_CHUNK) {
        snprintf(err, errlen, "attention.gla@cuda.mma: chunk = %d, the device code is compiled for chunk %d",
                 s->chunk, GLA_CUDA_CHUNK);
        return KB_UNSUPPORTED;
    }
    const double bnd = (double)s->batch * s->seq_len * s->head_dim;
    double need = gla_cuda_scratch_bytes(s, c->dtype) + kb_dtype_size(c->dtype) * bnd * (4.0 * s->heads + 2.0 * s->kv_heads) +
                  4.0 * bnd * s->heads; /* Q, gates, O, K, V; the float32 upload scratch */
    rc = attention_cuda_chunked_setup(c, sizeof(struct gla_cuda_state), need,
                                      "attention.gla@cuda.mma (chunk states included)", err, errlen);
    if (rc != KB_OK)
        return rc;
    struct gla_cuda_state *st = c->state;
    const size_t nq = (size_t)s->batch * s->heads * s->seq_len * s->head_dim;
    if (attention_cuda_upload_f32(kb_input(c, KB_GLA_G), nq, c->dtype, &st->d_gates, c->stream, err, errlen) !=
        KB_OK) {
        gla_cuda_teardown(c);
        return KB_ERROR;
    }
    const size_t states = (size_t)s->batch * s->heads * (size_t)chunks_of(s), d = (size_t)s->head_dim;
    cudaError_t e = cudaMalloc((void **)&st->scr.local, states * (d + 1) * d * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc(&st->scr.prefix, states * d * d * (size_t)kb_dtype_size(c->dtype));
    if (e != cudaSuccess) {
        gla_cuda_teardown(c);
        return attention_cuda_chunk_states_error("attention.gla@cuda.mma", gla_cuda_scratch_bytes(s, c->dtype), e, err,
                                                 errlen);
    }
    return KB_OK;
}

static int gla_cuda_run(struct kb_case *c)
{
    struct gla_cuda_state *st = c->state;
    int e = gla_cuda_launch(&c->shape, c->dtype, st->a.q, st->a.k, st->a.v, st->d_gates, st->a.o, &st->scr, c->stream);
    return attention_cuda_launch_result(c, e, "gated linear attention");
}

static int gla_cuda_collect(struct kb_case *c)
{
    const struct gla_cuda_state *st = c->state;
    return attention_cuda_collect(c, &st->a, KB_GLA_O);
}

const struct kb_kernel kb_attention_gla_cuda = {
    .name = "attention.gla",
    .impl = "cuda.mma",
    .description = "gated linear attention (per-channel data-dependent decay), causal, on tensor cores, chunk-parallel "
                   "(chunk states, a scan, per-chunk outputs with log-space gates); f16/bf16, d = 64 or 128, chunk 64, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CHUNK) |
            KB_AXIS_BIT(KB_AXIS_INPUT),
    .footprint = NULL,
    .setup = gla_cuda_setup,
    .run = gla_cuda_run,
    .teardown = gla_cuda_teardown,
    .op = &kb_op_attention_gla,
    .collect = gla_cuda_collect,
};
