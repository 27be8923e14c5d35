/* ssd_cuda.c - attention.ssd@cuda.chunked, @cuda.recurrent and @cuda.mma: the descriptors (device
 * code in ssd_dev.cu and ssd_mma.cu, passes in ssd_cuda.h). f16/bf16 x, B, C (the values the
 * operation rounded, so the upload is exact), float32 dt, A, states and output.
 *
 * Verification is the operation's (ssd_op.c): the float64 recurrence on sampled rows, bound
 * verify_default_tolerance (relative L2: f16 5e-3, bf16 2e-2). The kernels compute in float32
 * on exactly the reference's inputs, so their error is float32 rounding (~1e-6): far inside; the
 * mma kernel's 16-bit roundings of its weights and states (ssd_mma.cu) stay near 2^-9 relative. */
#include "kernels/attention/ssd_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/ssd.h"
#include "kernels/attention/ssd_ops.h"
#include "kernels/gpu/device_memory.h"

/* The three implementations share the upload, scratch and decode path. */
enum ssd_cuda_mode { SSD_RECURRENT, SSD_CHUNKED, SSD_MMA };

static const char *const mode_names[] = { "attention.ssd@cuda.recurrent", "attention.ssd@cuda.chunked",
                                          "attention.ssd@cuda.mma" };

struct ssd_cuda_state {
    struct ssd_cuda_args a;
    void *x, *b, *c; /* owned device copies (a's const pointers alias them) */
    float *dt, *A;
    enum ssd_cuda_mode mode;
    size_t y_elems;
};

static long chunks_of(const struct kb_shape *s)
{
    return (s->seq_len + SSD_CUDA_CHUNK - 1) / SSD_CUDA_CHUNK;
}

/* Device bytes beyond the operands: chunk states and decays (and mma's 16-bit prefix states),
 * or the decode states. */
static double scratch_bytes(const struct kb_shape *s, enum ssd_cuda_mode mode, enum kb_dtype t)
{
    const double bh = (double)s->batch * s->heads, sp = (double)s->state * s->head_dim;
    if (s->decode)
        return 2.0 * 4.0 * bh * sp;
    const double chunks = 4.0 * bh * (double)chunks_of(s) * (sp + 1);
    if (mode == SSD_MMA)
        return chunks + (double)kb_dtype_size(t) * bh * (double)chunks_of(s) * sp;
    return mode == SSD_CHUNKED ? chunks : 0;
}

static void ssd_cuda_teardown(struct kb_case *c)
{
    struct ssd_cuda_state *st = c->state;
    if (st) {
        cudaFree(st->x);
        cudaFree(st->b);
        cudaFree(st->c);
        cudaFree(st->dt);
        cudaFree(st->A);
        cudaFree(st->a.y);
        cudaFree(st->a.states);
        cudaFree(st->a.decays);
        cudaFree(st->a.states_new);
        cudaFree(st->a.prefix);
        free(st);
    }
    c->state = NULL;
}

static int copy_f32(const float *host, size_t n, float **dst, cudaStream_t stream)
{
    cudaError_t e = cudaMalloc((void **)dst, n * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(*dst, host, n * sizeof(float), cudaMemcpyHostToDevice, stream);
    return (int)e;
}

static int ssd_cuda_setup_as(struct kb_case *c, enum ssd_cuda_mode mode, char *err, size_t errlen)
{
    const char *name = mode_names[mode];
    const int chunked = mode != SSD_RECURRENT;
    const struct kb_shape *s = &c->shape;
    if (c->dtype != KB_DTYPE_F16 && c->dtype != KB_DTYPE_BF16) {
        snprintf(err, errlen, "%s: dtype %s not supported (f16 or bf16)", name,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    if (s->head_dim > SSD_CUDA_MAX_P || s->state > SSD_CUDA_MAX_S) {
        snprintf(err, errlen, "%s: head_dim %d and state %d must be at most %d and %d", name, s->head_dim, s->state,
                 SSD_CUDA_MAX_P, SSD_CUDA_MAX_S);
        return KB_UNSUPPORTED;
    }
    if (chunked && !s->decode) {
        if (s->chunk != SSD_CUDA_CHUNK) {
            snprintf(err, errlen, "%s: chunk = %d, the device code is compiled for chunk %d", name, s->chunk,
                     SSD_CUDA_CHUNK);
            return KB_UNSUPPORTED;
        }
        if ((s->state != 64 && s->state != 128) || (s->head_dim != 64 && s->head_dim != 128)) {
            snprintf(err, errlen, "%s: state %d and head_dim %d must each be 64 or 128", name, s->state, s->head_dim);
            return KB_UNSUPPORTED;
        }
    }
    if ((long)s->batch * s->heads > 65535) {
        snprintf(err, errlen, "%s: batch x heads = %ld, at most 65535 (a grid dimension)", name, (long)s->batch * s->heads);
        return KB_UNSUPPORTED;
    }
    const double T = ssd_tokens(s), B = s->batch, H = s->heads, G = ssd_groups(s);
    const double rows = s->decode ? 1 : s->seq_len;
    double need = kb_dtype_size(c->dtype) * (B * H * T * s->head_dim + 2.0 * B * G * T * s->state) + 4.0 * B * H * T +
                  4.0 * B * H * rows * s->head_dim + scratch_bytes(s, mode, c->dtype) +
                  4.0 * B * H * T * s->head_dim; /* the upload's float32 scratch */
    int rc = gpu_memory_fits(need, 1.0, name, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct ssd_cuda_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", name);
        return KB_ERROR;
    }
    c->state = st;
    st->mode = mode;
    cudaStream_t stream = (cudaStream_t)c->stream;
    if (attention_cuda_upload_f32(kb_input(c, KB_SSD_X), kb_operands_elems(&c->io, KB_SSD_X), c->dtype, &st->x,
                                  c->stream, err, errlen) != KB_OK ||
        attention_cuda_upload_f32(kb_input(c, KB_SSD_B), kb_operands_elems(&c->io, KB_SSD_B), c->dtype, &st->b,
                                  c->stream, err, errlen) != KB_OK ||
        attention_cuda_upload_f32(kb_input(c, KB_SSD_C), kb_operands_elems(&c->io, KB_SSD_C), c->dtype, &st->c,
                                  c->stream, err, errlen) != KB_OK) {
        ssd_cuda_teardown(c);
        return KB_ERROR;
    }
    st->y_elems = kb_operands_elems(&c->io, KB_SSD_Y);
    cudaError_t e = (cudaError_t)copy_f32(kb_input(c, KB_SSD_DT), kb_operands_elems(&c->io, KB_SSD_DT), &st->dt, stream);
    if (e == cudaSuccess)
        e = (cudaError_t)copy_f32(kb_input(c, KB_SSD_A), (size_t)s->heads, &st->A, stream);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->a.y, st->y_elems * sizeof(float));
    const size_t sp = (size_t)s->state * s->head_dim, bh = (size_t)s->batch * s->heads;
    if (e == cudaSuccess && s->decode) {
        e = cudaMalloc((void **)&st->a.states, bh * sp * sizeof(float));
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&st->a.states_new, bh * sp * sizeof(float));
    } else if (e == cudaSuccess && chunked) {
        e = cudaMalloc((void **)&st->a.states, bh * (size_t)chunks_of(s) * sp * sizeof(float));
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&st->a.decays, bh * (size_t)chunks_of(s) * sizeof(float));
        if (e == cudaSuccess && mode == SSD_MMA)
            e = cudaMalloc(&st->a.prefix, bh * (size_t)chunks_of(s) * sp * kb_dtype_size(c->dtype));
    }
    st->a.x = st->x, st->a.b = st->b, st->a.c = st->c, st->a.dt = st->dt, st->a.A = st->A;
    if (e == cudaSuccess && s->decode) /* the state of the first N tokens, untimed */
        e = (cudaError_t)ssd_cuda_build_states(s, c->dtype, &st->a, c->stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "%s: device buffers (%.2f GiB of chunk states): %s", name,
                 scratch_bytes(s, mode, c->dtype) / (1024.0 * 1024 * 1024), cudaGetErrorString(e));
        ssd_cuda_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int ssd_cuda_chunked_setup(struct kb_case *c, char *err, size_t errlen)
{
    return ssd_cuda_setup_as(c, SSD_CHUNKED, err, errlen);
}

static int ssd_cuda_recurrent_setup(struct kb_case *c, char *err, size_t errlen)
{
    return ssd_cuda_setup_as(c, SSD_RECURRENT, err, errlen);
}

static int ssd_cuda_mma_setup(struct kb_case *c, char *err, size_t errlen)
{
    return ssd_cuda_setup_as(c, SSD_MMA, err, errlen);
}

static int ssd_cuda_run(struct kb_case *c)
{
    struct ssd_cuda_state *st = c->state;
    int e;
    if (c->shape.decode)
        e = ssd_cuda_decode_launch(&c->shape, c->dtype, &st->a, c->stream);
    else if (st->mode == SSD_CHUNKED)
        e = ssd_cuda_chunked_launch(&c->shape, c->dtype, &st->a, c->stream);
    else if (st->mode == SSD_MMA)
        e = ssd_cuda_mma_launch(&c->shape, c->dtype, &st->a, c->stream);
    else
        e = ssd_cuda_recurrent_launch(&c->shape, c->dtype, &st->a, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "attention.ssd launch: %s", cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int ssd_cuda_collect(struct kb_case *c)
{
    const struct ssd_cuda_state *st = c->state;
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)c->stream);
    if (e == cudaSuccess)
        e = cudaMemcpy(kb_output(c, KB_SSD_Y), st->a.y, st->y_elems * sizeof(float), cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "attention.ssd: copying y back: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

#define SSD_CUDA_AXES                                                                                              \
    (KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |                    \
     KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CAUSAL) |                     \
     KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_INPUT) |                      \
     KB_AXIS_BIT(KB_AXIS_STATE))

const struct kb_kernel kb_attention_ssd_cuda_chunked = {
    .name = "attention.ssd",
    .impl = "cuda.chunked",
    .description = "Mamba-2 SSD, chunked on CUDA cores: chunk states, a scan over chunks, per-chunk C·Bᵀ outputs with "
                   "the segment-sum decay; f16/bf16 in, float32 states and output; chunk 64, S and P 64 or 128",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = SSD_CUDA_AXES,
    .setup = ssd_cuda_chunked_setup,
    .run = ssd_cuda_run,
    .collect = ssd_cuda_collect,
    .teardown = ssd_cuda_teardown,
    .op = &kb_op_attention_ssd,
};

const struct kb_kernel kb_attention_ssd_cuda_recurrent = {
    .name = "attention.ssd",
    .impl = "cuda.recurrent",
    .description = "Mamba-2 SSD by its recurrence on CUDA: one block per head, the state in registers, N sequential "
                   "steps; f16/bf16 in, float32 state and output; P <= 128, S <= 256",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = SSD_CUDA_AXES,
    .setup = ssd_cuda_recurrent_setup,
    .run = ssd_cuda_run,
    .collect = ssd_cuda_collect,
    .teardown = ssd_cuda_teardown,
    .op = &kb_op_attention_ssd,
};

const struct kb_kernel kb_attention_ssd_cuda_mma = {
    .name = "attention.ssd",
    .impl = "cuda.mma",
    .description = "Mamba-2 SSD, chunked on mma.sync tensor cores: chunk states B̃ᵀX, a float32 scan over chunks, "
                   "per-chunk C·Bᵀ with the segment-sum decay on the fragments plus C·H; f16/bf16 in, float32 "
                   "accumulation and output; chunk 64, S and P 64 or 128; decode: @cuda.chunked's step",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = SSD_CUDA_AXES,
    .setup = ssd_cuda_mma_setup,
    .run = ssd_cuda_run,
    .collect = ssd_cuda_collect,
    .teardown = ssd_cuda_teardown,
    .op = &kb_op_attention_ssd,
};
