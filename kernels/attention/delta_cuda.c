/* delta_cuda.c - attention.delta@cuda.chunked, @cuda.recurrent and @cuda.mma: the descriptors
 * of the delta rule on the GPU (device code in delta_dev.cu and delta_mma.cu, algorithms in
 * delta_cuda.h). f16 and bf16 Q, K, V; β and the gates float32; the state and every sum in
 * float32 (@cuda.mma: 16-bit GEMM operands, float32 accumulators); O in float32, except
 * @cuda.mma's prefill, which writes O in the inputs' 16-bit dtype as fla does (widened to float32
 * when collected, so verify sees that rounding too).
 *
 * Verification is the operation's (delta_op.c): Q, K, V hold values of the dtype already, so
 * the float64 recurrence measures only the kernel's float32 arithmetic, far inside the dtype's
 * default bound. Decode: setup builds each head's state over the first N tokens with the
 * kernel's own form (untimed); the timed run is one recurrent step from it into a second
 * buffer, so runs repeat. */
#include "kernels/attention/delta_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/delta.h"
#include "kernels/gpu/device_memory.h"

struct delta_cuda_state {
    void *q, *k, *v;           /* [B·H][T][d] in the dtype */
    float *beta, *g, *o;       /* [B·H][T], [B·H][T], [B·H][rows][d] */
    void *o16;                 /* @cuda.mma prefill: O [B·H][N][d] in the dtype, in place of o */
    float *state_in, *state_out; /* decode: [B·H][d][d] */
    float *scratch[4];           /* the chunked forms' scratch (delta_cuda.h) */
    struct delta_cuda_args args;
    int form;
};

enum { FORM_RECURRENT, FORM_CHUNKED, FORM_MMA };

static const char *form_name(int form)
{
    return form == FORM_MMA       ? "attention.delta@cuda.mma"
           : form == FORM_CHUNKED ? "attention.delta@cuda.chunked"
                                  : "attention.delta@cuda.recurrent";
}

/* The whole sequence (or the state before decode) in the case's form. */
static int launch_form(int form, const struct delta_cuda_args *a, void *stream)
{
    if (form == FORM_MMA)
        return delta_cuda_mma_launch(a, stream);
    return form == FORM_CHUNKED ? delta_cuda_chunked_launch(a, stream) : delta_cuda_recurrent_launch(a, stream);
}

int delta_cuda_mma_state_channels(int d)
{
    static int vs = -1; /* -1 until read; 0: not set */
    if (vs < 0) {
        const char *e = getenv("KBENCH_DELTA_VS");
        vs = e && (atoi(e) == 16 || atoi(e) == 32 || atoi(e) == 64) ? atoi(e) : 0;
    }
    return vs ? vs : DELTA_MMA_VS(d);
}

int delta_cuda_mma_out_split(void)
{
    static int split = -1; /* unknown until read */
    if (split < 0) {
        const char *e = getenv("KBENCH_DELTA_OUT");
        split = e && strcmp(e, "split") == 0;
    }
    return split;
}

static void delta_cuda_teardown(struct kb_case *c)
{
    struct delta_cuda_state *st = c->state;
    if (st) {
        cudaFree(st->q);
        cudaFree(st->k);
        cudaFree(st->v);
        cudaFree(st->beta);
        cudaFree(st->g);
        cudaFree(st->o);
        cudaFree(st->o16);
        cudaFree(st->state_in);
        cudaFree(st->state_out);
        for (int i = 0; i < 4; i++)
            cudaFree(st->scratch[i]);
        free(st);
    }
    c->state = NULL;
}

static int fail_cuda(struct kb_case *c, cudaError_t e, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    delta_cuda_teardown(c);
    return KB_ERROR;
}

static int delta_cuda_setup(struct kb_case *c, int form, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    const char *name = form_name(form);
    const int chunked = form != FORM_RECURRENT;
    if (c->dtype != KB_DTYPE_F16 && c->dtype != KB_DTYPE_BF16) {
        snprintf(err, errlen, "%s: dtype %s not supported (f16 or bf16)", name,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    if (form == FORM_MMA && s->head_dim != 64 && s->head_dim != 128) {
        snprintf(err, errlen, "%s: head_dim = %d, the tensor-core tiles are compiled for 64 and 128", name,
                 s->head_dim);
        return KB_UNSUPPORTED;
    }
    if (s->head_dim % DELTA_CUDA_VS != 0 || s->head_dim > DELTA_CUDA_MAX_D) {
        snprintf(err, errlen, "%s: head_dim = %d, must be a multiple of %d up to %d", name, s->head_dim,
                 DELTA_CUDA_VS, DELTA_CUDA_MAX_D);
        return KB_UNSUPPORTED;
    }
    if (chunked && s->chunk != DELTA_CUDA_CHUNK) {
        snprintf(err, errlen, "%s: chunk = %d, the device code is compiled for chunk %d", name, s->chunk,
                 DELTA_CUDA_CHUNK);
        return KB_UNSUPPORTED;
    }
    if (form == FORM_MMA && delta_cuda_mma_state_channels(s->head_dim) == 16 && s->head_dim != 128) {
        snprintf(err, errlen, "%s: KBENCH_DELTA_VS=16 is compiled for d = 128 only", name);
        return KB_UNSUPPORTED;
    }
    if (form == FORM_MMA && (long)s->batch * s->heads > 65535) {
        snprintf(err, errlen, "%s: batch x heads = %ld, more than 65535 (a grid dimension)", name,
                 (long)s->batch * s->heads);
        return KB_UNSUPPORTED;
    }
    if (form == FORM_CHUNKED && (s->seq_len + DELTA_CUDA_CHUNK - 1) / DELTA_CUDA_CHUNK > 65535) {
        snprintf(err, errlen, "%s: N = %d is more than 65535 chunks of %d (a grid dimension)", name, s->seq_len,
                 DELTA_CUDA_CHUNK);
        return KB_UNSUPPORTED;
    }
    const int tokens = delta_tokens(s), rows = s->decode ? 1 : s->seq_len;
    const size_t bh = (size_t)s->batch * s->heads, d = (size_t)s->head_dim;
    const size_t nqkv = bh * (size_t)tokens * d, nout = bh * (size_t)rows * d;
    size_t scratch[4] = { 0, 0, 0, 0 };
    if (form == FORM_MMA)
        delta_cuda_mma_scratch_floats((int)bh, s->seq_len, (int)d, scratch);
    else if (chunked)
        delta_cuda_chunked_scratch_floats((int)bh, s->seq_len, (int)d, scratch);
    double need = 3.0 * nqkv * kb_dtype_size(c->dtype) + 4.0 * nqkv /* upload scratch */ + 8.0 * bh * tokens +
                  4.0 * nout + (s->decode ? 8.0 * bh * d * d : 0.0) +
                  4.0 * ((double)scratch[0] + scratch[1] + scratch[2] + scratch[3]);
    int rc = gpu_memory_fits(need, 1.0, name, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct delta_cuda_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", name);
        return KB_ERROR;
    }
    c->state = st;
    st->form = form;
    void **dev[3] = { &st->q, &st->k, &st->v };
    for (int i = 0; i < 3; i++)
        if (attention_cuda_upload_f32(kb_input(c, i), nqkv, c->dtype, dev[i], c->stream, err, errlen) != KB_OK) {
            delta_cuda_teardown(c);
            return KB_ERROR;
        }
    cudaStream_t stream = (cudaStream_t)c->stream;
    const size_t nscal = bh * (size_t)tokens;
    cudaError_t e = cudaMalloc((void **)&st->beta, nscal * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->g, nscal * sizeof(float));
    const int out16 = form == FORM_MMA && !s->decode;
    if (e == cudaSuccess && out16)
        e = cudaMalloc(&st->o16, nout * kb_dtype_size(c->dtype));
    else if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->o, nout * sizeof(float));
    if (e == cudaSuccess && s->decode)
        e = cudaMalloc((void **)&st->state_in, bh * d * d * sizeof(float));
    if (e == cudaSuccess && s->decode)
        e = cudaMalloc((void **)&st->state_out, bh * d * d * sizeof(float));
    for (int i = 0; i < 4 && e == cudaSuccess; i++)
        if (scratch[i])
            e = cudaMalloc((void **)&st->scratch[i], scratch[i] * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(st->beta, kb_input(c, KB_DELTA_BETA), nscal * sizeof(float), cudaMemcpyHostToDevice,
                            stream);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(st->g, kb_input(c, KB_DELTA_G), nscal * sizeof(float), cudaMemcpyHostToDevice, stream);
    /* poisoned: all-ones is a NaN in float32, f16 and bf16, so an unwritten element fails verify */
    if (e == cudaSuccess)
        e = out16 ? cudaMemsetAsync(st->o16, 0xFF, nout * kb_dtype_size(c->dtype), stream)
                  : cudaMemsetAsync(st->o, 0xFF, nout * sizeof(float), stream);
    if (e == cudaSuccess && form == FORM_CHUNKED)
        e = (cudaError_t)delta_cuda_chunked_prepare(c->dtype == KB_DTYPE_BF16);
    if (e == cudaSuccess && form == FORM_MMA)
        e = (cudaError_t)delta_cuda_mma_prepare(c->dtype == KB_DTYPE_BF16, s->head_dim);
    if (e != cudaSuccess)
        return fail_cuda(c, e, name, err, errlen);
    struct delta_cuda_args *a = &st->args;
    a->q = st->q;
    a->k = st->k;
    a->v = st->v;
    a->beta = st->beta;
    a->g = st->g;
    a->bh = (int)bh;
    a->tokens = tokens;
    a->d = s->head_dim;
    a->bf16 = c->dtype == KB_DTYPE_BF16;
    a->state_channels = form == FORM_MMA ? delta_cuda_mma_state_channels(s->head_dim) : 0;
    a->out_split = form == FORM_MMA ? delta_cuda_mma_out_split() : 0;
    a->scratch_l = st->scratch[0];
    a->scratch_p = st->scratch[1];
    a->scratch_s = st->scratch[2];
    a->scratch_u = st->scratch[3];
    if (s->decode) {
        /* the state after the N cached tokens, built with this kernel's own form */
        struct delta_cuda_args build = *a;
        build.o = NULL;
        build.begin = 0;
        build.end = s->seq_len;
        build.state_out = st->state_in;
        e = (cudaError_t)launch_form(form, &build, stream);
        a->begin = s->seq_len;
        a->end = tokens;
        a->state_in = st->state_in;
        a->state_out = st->state_out;
    } else {
        a->begin = 0;
        a->end = s->seq_len;
    }
    a->o = st->o;
    a->o16 = st->o16;
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess)
        return fail_cuda(c, e, name, err, errlen);
    return KB_OK;
}

static int chunked_setup(struct kb_case *c, char *err, size_t errlen)
{
    return delta_cuda_setup(c, FORM_CHUNKED, err, errlen);
}
static int recurrent_setup(struct kb_case *c, char *err, size_t errlen)
{
    return delta_cuda_setup(c, FORM_RECURRENT, err, errlen);
}
static int mma_setup(struct kb_case *c, char *err, size_t errlen)
{
    return delta_cuda_setup(c, FORM_MMA, err, errlen);
}

static int delta_cuda_run(struct kb_case *c)
{
    struct delta_cuda_state *st = c->state;
    /* decode is one recurrent step whichever form built the state */
    int e = c->shape.decode ? delta_cuda_recurrent_launch(&st->args, c->stream)
                            : launch_form(st->form, &st->args, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "delta rule launch: %s", cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int delta_cuda_collect(struct kb_case *c)
{
    const struct delta_cuda_state *st = c->state;
    const size_t n = kb_operands_elems(&c->io, KB_DELTA_O);
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)c->stream);
    float *widened = NULL, *wide = st->o;
    if (e == cudaSuccess && st->o16) { /* widened on the device, then copied as the other forms' O */
        e = cudaMalloc((void **)&widened, n * sizeof(float));
        if (e != cudaSuccess)
            widened = NULL;
        wide = widened;
        if (e == cudaSuccess)
            e = (cudaError_t)attention_cuda_widen(st->o16, wide, n, c->dtype, c->stream);
    }
    /* on the case's stream, which does not wait for the legacy default stream's cudaMemcpy: a
     * plain cudaMemcpy raced the widening and copied a zero O in some cases on the H100 */
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_DELTA_O), wide, n * sizeof(float), cudaMemcpyDeviceToHost,
                            (cudaStream_t)c->stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize((cudaStream_t)c->stream);
    cudaFree(widened); /* NULL: nothing */
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying O back: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int mma_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    if (max < 2)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "delta.state_channels");
    out[0].value = delta_cuda_mma_state_channels(c->shape.head_dim);
    snprintf(out[0].unit, sizeof out[0].unit, "count");
    snprintf(out[1].name, sizeof out[1].name, "delta.out_split");
    out[1].value = delta_cuda_mma_out_split();
    snprintf(out[1].unit, sizeof out[1].unit, "count");
    return 2;
}

#define DELTA_CUDA_AXES                                                                                      \
    (KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_SEQ) |                   \
     KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_DECAY) | KB_AXIS_BIT(KB_AXIS_DECODE) |             \
     KB_AXIS_BIT(KB_AXIS_INPUT))

const struct kb_kernel kb_attention_delta_cuda_chunked = {
    .name = "attention.delta",
    .impl = "cuda.chunked",
    .description = "delta rule, chunkwise WY/UT form (chunk 64; per-chunk L, P and outputs in parallel, the state "
                   "pass a block per head and 32 value channels; float32 CUDA cores), decode step; f16/bf16 inputs, "
                   "float32 state, d a multiple of 32 up to 128",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = DELTA_CUDA_AXES | KB_AXIS_BIT(KB_AXIS_CHUNK),
    .setup = chunked_setup,
    .run = delta_cuda_run,
    .collect = delta_cuda_collect,
    .teardown = delta_cuda_teardown,
    .op = &kb_op_attention_delta,
};

const struct kb_kernel kb_attention_delta_cuda_recurrent = {
    .name = "attention.delta",
    .impl = "cuda.recurrent",
    .description = "delta rule token by token (a block per head and 32 value channels, the state slice in "
                   "registers), decode step; f16/bf16 inputs, float32 state, d a multiple of 32 up to 128",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = DELTA_CUDA_AXES,
    .setup = recurrent_setup,
    .run = delta_cuda_run,
    .collect = delta_cuda_collect,
    .teardown = delta_cuda_teardown,
    .op = &kb_op_attention_delta,
};

const struct kb_kernel kb_attention_delta_cuda_mma = {
    .name = "attention.delta",
    .impl = "cuda.mma",
    .description = "delta rule, chunkwise WY/UT form in fla's three passes on mma.sync tensor cores (chunk 64: T by "
                   "float32 forward substitution, W, U per chunk in parallel; the state pass a block per head and 16 "
                   "value channels at d 128, 32 at d 64 (KBENCH_DELTA_VS=32 or 64 for others); outputs per chunk), "
                   "decode step; f16/bf16 inputs, GEMM operands and output, float32 accumulators, d 64 or 128",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = DELTA_CUDA_AXES | KB_AXIS_BIT(KB_AXIS_CHUNK),
    .setup = mma_setup,
    .run = delta_cuda_run,
    .collect = delta_cuda_collect,
    .teardown = delta_cuda_teardown,
    .op = &kb_op_attention_delta,
    .stats = mma_stats,
};
