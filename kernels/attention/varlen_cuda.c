/* varlen_cuda.c - attention.varlen@cuda.mma and attention.linear_varlen@cuda.mma: the padded
 * operations' tensor-core kernels (flash_mma.cu's flash_fwd, linear_mma.cu's three passes) run
 * over a packed ragged batch (varlen_ops.h, token-major). The grid is the padded one of the
 * longest sequence (query blocks or chunks x heads x sequences); each block reads its
 * sequence's offset and length from cu_seqlens, reads and writes its head's rows H·d (H_kv·d)
 * elements apart, and exits when it lies past the sequence's end, so no padding is read,
 * written or computed beyond that exit. */
#include "config.h"
#include "kernels/attention/varlen.h"
#include "kernels/attention/varlen_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/linear_cuda.h"
#include "kernels/gpu/device_memory.h"

struct varlen_cuda {
    struct attention_cuda a; /* Q, K, V on the device in dtype; O (sized for the padded shape) */
    int *cu;                 /* cu_seqlens on the device */
    long long total;                /* packed tokens: O's rows to copy back */
    struct linear_cuda_scratch scr; /* linear only: chunk states of the longest sequence's shape */
};

static void varlen_cuda_teardown(struct kb_case *c)
{
    struct varlen_cuda *st = c->state;
    if (st) {
        cudaFree(st->cu);
        cudaFree(st->scr.local);
        cudaFree(st->scr.prefix);
        cudaFree(st->scr.zprefix);
        attention_cuda_free(&st->a);
        free(st);
    }
    c->state = NULL;
}

static int varlen_cuda_setup_common(struct kb_case *c, int linear, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    if (linear && s->chunk != LINEAR_CUDA_CHUNK) {
        snprintf(err, errlen, "attention.linear_varlen@cuda.mma: chunk = %d, the device code is compiled for chunk %d",
                 s->chunk, LINEAR_CUDA_CHUNK);
        return KB_UNSUPPORTED;
    }
    struct varlen_cuda *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    static const int dims[] = { 64, 128 };
    int rc = attention_cuda_from_case(&st->a, c, dims, 2, err, errlen);
    if (rc != KB_OK) {
        free(st);
        return rc;
    }
    c->state = st;
    const int32_t *cu = kb_input(c, KB_VARLEN_CU);
    st->total = cu[s->batch];
    const size_t cu_bytes = ((size_t)s->batch + 1) * sizeof(int);
    cudaError_t e = cudaMalloc((void **)&st->cu, cu_bytes);
    if (e == cudaSuccess)
        e = (cudaError_t)gpu_copy_to_device(st->cu, cu, cu_bytes);
    if (e == cudaSuccess && linear) {
        const size_t states = (size_t)s->batch * s->heads * ((s->seq_len + LINEAR_CUDA_CHUNK - 1) / LINEAR_CUDA_CHUNK);
        const size_t d = (size_t)s->head_dim;
        e = cudaMalloc((void **)&st->scr.local, states * (d + 1) * d * sizeof(float));
        if (e == cudaSuccess)
            e = cudaMalloc(&st->scr.prefix, states * d * d * (size_t)kb_dtype_size(c->dtype));
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&st->scr.zprefix, states * d * sizeof(float));
    }
    if (e != cudaSuccess) {
        snprintf(err, errlen, "%s@cuda.mma: allocating cu_seqlens%s: %s", c->kernel ? c->kernel->name : "varlen",
                 linear ? " and chunk states" : "", cudaGetErrorString(e));
        varlen_cuda_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int varlen_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    return varlen_cuda_setup_common(c, 0, err, errlen);
}

static int linear_varlen_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    return varlen_cuda_setup_common(c, 1, err, errlen);
}

static int launch_failed(struct kb_case *c, const char *what, int e)
{
    snprintf(c->error, sizeof c->error, "%s launch: %s", what, cudaGetErrorString((cudaError_t)e));
    return KB_ERROR;
}

static int varlen_cuda_run(struct kb_case *c)
{
    struct varlen_cuda *st = c->state;
    int e = varlen_cuda_launch(&c->shape, c->dtype, st->a.q, st->a.k, st->a.v, st->a.o, st->cu, c->stream);
    return e ? launch_failed(c, "flash_fwd (varlen)", e) : KB_OK;
}

static int linear_varlen_cuda_run(struct kb_case *c)
{
    struct varlen_cuda *st = c->state;
    int e = linear_varlen_cuda_launch(&c->shape, c->dtype, st->a.q, st->a.k, st->a.v, st->a.o, &st->scr, st->cu,
                                      c->stream);
    return e ? launch_failed(c, "linear attention (varlen)", e) : KB_OK;
}

/* The packed O, [total, H, d] (total·H·d elements, as a [1, H, total, d] shape counts them),
 * widened into the operation's output. */
static int varlen_cuda_collect(struct kb_case *c)
{
    const struct varlen_cuda *st = c->state;
    struct kb_shape packed = varlen_sequence_shape(&c->shape, (int)st->total);
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)c->stream);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "waiting for the run: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        return KB_ERROR;
    }
    if (attention_cuda_output(&st->a, &packed, kb_output(c, KB_VARLEN_O)) != KB_OK) {
        snprintf(c->error, sizeof c->error, "copying O back to the host failed");
        return KB_ERROR;
    }
    return KB_OK;
}

/* Device memory beyond the operands: Q, K, V and O in dtype at the padded shape (an upper bound
 * of the packed one), and for linear the chunk states. */
static double varlen_cuda_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    const double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads;
    return (double)kb_dtype_size(t) * s->batch * s->seq_len * s->head_dim * (2.0 * s->heads + 2.0 * kvh) +
           4.0 * (s->batch + 1.0);
}

static double linear_varlen_cuda_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    return varlen_cuda_footprint(s, t) + linear_cuda_scratch_bytes(s, t);
}

const struct kb_kernel kb_attention_varlen_cuda = {
    .name = "attention.varlen",
    .impl = "cuda.mma",
    .description = "attention.flash@cuda.mma's kernel over a packed ragged batch (a grid slice per sequence, blocks "
                   "past its end exit), f16/bf16, d = 64 or 128, causal, GQA",
    .op = &kb_op_attention_varlen,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = varlen_cuda_footprint,
    .setup = varlen_cuda_setup,
    .run = varlen_cuda_run,
    .collect = varlen_cuda_collect,
    .teardown = varlen_cuda_teardown,
};

const struct kb_kernel kb_attention_linear_varlen_cuda = {
    .name = "attention.linear_varlen",
    .impl = "cuda.mma",
    .description = "attention.linear@cuda.mma's chunk-parallel passes over a packed ragged batch (a fresh state per "
                   "sequence, chunks past its end exit), f16/bf16, d = 64 or 128, chunk 64, causal or not, GQA",
    .op = &kb_op_attention_linear_varlen,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = linear_varlen_cuda_footprint,
    .setup = linear_varlen_cuda_setup,
    .run = linear_varlen_cuda_run,
    .collect = varlen_cuda_collect,
    .teardown = varlen_cuda_teardown,
};
