/* fp4_cuda.c - the FP4 operations on the GPU (device code in fp4_dev.cu):
 *
 *   quant.fp4_quantize@cuda   MXFP4 / NVFP4 quantize + dequantize; setup copies x to the device,
 *                             collect copies codes, scales, the tensor scale and the dequantized
 *                             matrix back, and the operation judges them bit for bit as @cpu's.
 *   quant.fp4_gemm@cuda.mma   the emulated GEMM: codes decoded to f16 in shared memory, f16 mma of
 *                             the E2M1 values per 16-k half block, scaled into float32 accumulators.
 *   quant.fp4_gemm@cuda.native the GEMM on FP4 tensor cores. They exist from Blackwell (sm_100,
 *                             tcgen05 block-scaled MMA) on; this build has no such kernel and an
 *                             H100 (sm_90) no such units, so setup refuses with "cannot be tested
 *                             here" and the reason: the case is recorded as skipped, saying why,
 *                             and a claim that FP4 beats FP8 is judged "cannot be tested here".
 * No input rotation: FP4 operands are small, and a cold-cache case says so with 1 copy. */
#include "kernels/quant/fp4.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_cuda.h"
#include "kernels/quant/quant_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- quant.fp4_quantize@cuda ------------------------------------------------------------------ */

struct fp4q_cuda {
    size_t n_x, n_codes, n_scales;
    float *x, *deq, *ts; /* device */
    uint8_t *codes, *scales;
    unsigned *scratch;
};

static void fq_teardown(struct kb_case *c)
{
    struct fp4q_cuda *q = c->state;
    if (!q)
        return;
    cudaFree(q->x);
    cudaFree(q->deq);
    cudaFree(q->ts);
    cudaFree(q->codes);
    cudaFree(q->scales);
    cudaFree(q->scratch);
    free(q);
    c->state = NULL;
}

static int fq_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct fp4q_cuda *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "quant.fp4_quantize@cuda: out of memory");
        return KB_ERROR;
    }
    c->state = q;
    q->n_x = (size_t)c->shape.m * c->shape.k;
    q->n_codes = (size_t)c->shape.m * fp4_row_bytes(c->shape.k);
    q->n_scales = (size_t)c->shape.m * fp4_blocks(c->shape.k, c->dtype);
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc((void **)&q->x, q->n_x * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->deq, q->n_x * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->ts, sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->codes, q->n_codes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->scales, q->n_scales);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->scratch, sizeof(unsigned));
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(q->x, kb_input(c, KB_FP4Q_X), q->n_x * sizeof(float), cudaMemcpyHostToDevice, st);
    /* poisoned outputs: what the kernel leaves unwritten shows up as a mismatch */
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->deq, 0xFF, q->n_x * sizeof(float), st);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->codes, 0xFF, q->n_codes, st);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->scales, 0xEE, q->n_scales, st);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->ts, 0xFF, sizeof(float), st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "quant.fp4_quantize@cuda: device buffers", err, errlen);
        fq_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int fq_run(struct kb_case *c)
{
    struct fp4q_cuda *q = c->state;
    int e = fp4_quantize_launch(q->x, c->shape.m, c->shape.k, c->dtype == KB_DTYPE_NVFP4, q->codes, q->scales, q->ts,
                                q->deq, q->scratch, c->stream);
    if (e != 0)
        return quant_cuda_fail(e, "quant.fp4_quantize@cuda launch", c->error, sizeof c->error);
    return KB_OK;
}

static int fq_collect(struct kb_case *c)
{
    struct fp4q_cuda *q = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_FP4Q_CODES), q->codes, q->n_codes, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_FP4Q_SCALES), q->scales, q->n_scales, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_FP4Q_TENSOR_SCALE), q->ts, sizeof(float), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_FP4Q_DEQ), q->deq, q->n_x * sizeof(float), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess)
        return quant_cuda_fail(e, "quant.fp4_quantize@cuda: copying the outputs back", c->error, sizeof c->error);
    return KB_OK;
}

const struct kb_kernel kb_quant_fp4_quantize_cuda = {
    .name = "quant.fp4_quantize",
    .impl = "cuda",
    .description = "MXFP4 / NVFP4 quantize + dequantize on the GPU, one thread per block, bit-exact with fp4.c",
    .op = &kb_op_quant_fp4_quantize,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_MXFP4) | KB_DTYPE_BIT(KB_DTYPE_NVFP4),
    .setup = fq_setup,
    .run = fq_run,
    .collect = fq_collect,
    .teardown = fq_teardown,
    .stats = fp4_quantize_stats,
};

/* ---- quant.fp4_gemm@cuda.mma ------------------------------------------------------------------ */

struct fp4g_cuda {
    size_t a_bytes, as_bytes, w_bytes, ws_bytes, y_elems;
    uint8_t *a, *as, *w, *ws; /* device */
    float *y;
    float out_scale;
};

static void fg_teardown(struct kb_case *c)
{
    struct fp4g_cuda *g = c->state;
    if (!g)
        return;
    cudaFree(g->a);
    cudaFree(g->as);
    cudaFree(g->w);
    cudaFree(g->ws);
    cudaFree(g->y);
    free(g);
    c->state = NULL;
}

static int fg_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct fp4g_cuda *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "quant.fp4_gemm@cuda.mma: out of memory");
        return KB_ERROR;
    }
    c->state = g;
    const struct kb_shape *s = &c->shape;
    const size_t rb = fp4_row_bytes(s->k), nb = (size_t)fp4_blocks(s->k, c->dtype);
    g->a_bytes = (size_t)s->m * rb;
    g->as_bytes = (size_t)s->m * nb;
    g->w_bytes = (size_t)s->n * rb;
    g->ws_bytes = (size_t)s->n * nb;
    g->y_elems = (size_t)s->m * s->n;
    const float *ts = kb_input(c, KB_FP4G_TENSOR_SCALES);
    g->out_scale = ts[0] * ts[1]; /* as @cpu: one float32 product */
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc((void **)&g->a, g->a_bytes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->as, g->as_bytes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->w, g->w_bytes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->ws, g->ws_bytes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->y, g->y_elems * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(g->a, kb_input(c, KB_FP4G_A), g->a_bytes, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(g->as, kb_input(c, KB_FP4G_A_SCALES), g->as_bytes, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(g->w, kb_input(c, KB_FP4G_W), g->w_bytes, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(g->ws, kb_input(c, KB_FP4G_W_SCALES), g->ws_bytes, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(g->y, 0xFF, g->y_elems * sizeof(float), st); /* NaN until written */
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "quant.fp4_gemm@cuda.mma: device buffers", err, errlen);
        fg_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int fg_run(struct kb_case *c)
{
    struct fp4g_cuda *g = c->state;
    int e = fp4_gemm_launch(g->a, g->as, g->w, g->ws, g->out_scale, g->y, c->shape.m, c->shape.n, c->shape.k,
                            c->dtype == KB_DTYPE_NVFP4, c->stream);
    if (e != 0)
        return quant_cuda_fail(e, "quant.fp4_gemm@cuda.mma launch", c->error, sizeof c->error);
    return KB_OK;
}

static int fg_collect(struct kb_case *c)
{
    struct fp4g_cuda *g = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_FP4G_Y), g->y, g->y_elems * sizeof(float), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess)
        return quant_cuda_fail(e, "quant.fp4_gemm@cuda.mma: copying Y back", c->error, sizeof c->error);
    return KB_OK;
}

const struct kb_kernel kb_quant_fp4_gemm_cuda = {
    .name = "quant.fp4_gemm",
    .impl = "cuda.mma",
    .description = "emulated FP4 GEMM on f16 tensor cores: codes decoded in shared memory, per-block scaled partials",
    .op = &kb_op_quant_fp4_gemm,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_MXFP4) | KB_DTYPE_BIT(KB_DTYPE_NVFP4),
    .setup = fg_setup,
    .run = fg_run,
    .collect = fg_collect,
    .teardown = fg_teardown,
};

/* ---- quant.fp4_gemm@cuda.native --------------------------------------------------------------- */

static int native_setup(struct kb_case *c, char *err, size_t errlen)
{
    int major = 0, minor = 0;
    cudaError_t e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, c->device_index);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, c->device_index);
    if (e != cudaSuccess)
        return quant_cuda_fail(e, "quant.fp4_gemm@cuda.native: reading the compute capability", err, errlen);
    if (major < 10)
        snprintf(err, errlen, "cannot be tested here: no FP4 tensor cores on sm_%d%d (needs sm_100)", major, minor);
    else
        snprintf(err, errlen, "cannot be tested here: this build has no sm_100 FP4 (tcgen05 block-scaled) kernel "
                              "for this sm_%d%d GPU", major, minor);
    return KB_UNSUPPORTED;
}

static int native_run(struct kb_case *c)
{
    snprintf(c->error, sizeof c->error, "quant.fp4_gemm@cuda.native never runs (setup refuses)");
    return KB_ERROR;
}

static void native_teardown(struct kb_case *c)
{
    c->state = NULL; /* setup never succeeds: nothing to free */
}

const struct kb_kernel kb_quant_fp4_gemm_cuda_native = {
    .name = "quant.fp4_gemm",
    .impl = "cuda.native",
    .description = "FP4 GEMM on FP4 tensor cores: needs sm_100 (Blackwell); recorded as cannot be tested here",
    .op = &kb_op_quant_fp4_gemm,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_MXFP4) | KB_DTYPE_BIT(KB_DTYPE_NVFP4),
    .setup = native_setup,
    .run = native_run,
    .teardown = native_teardown,
};
