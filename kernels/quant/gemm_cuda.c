/* gemm_cuda.c - the quantized GEMMs on tensor cores (device code in gemm_mma.cu), implementations
 * of the operation gemm (kernels/gemm/gemm_ops.h), which makes their inputs and judges them:
 *
 *   quant.gemm_int8@cuda.mma  gemm at i8: W8A8, int32 accumulation, per-column dyadic
 *                             requantization to int8 in the epilogue (the operation's dyadics,
 *                             KB_GEMM_REQUANT). Also checked as quant.gemm_int8@cpu is: bit for
 *                             bit against the scalar emulation on the sampled rows
 *                             (gemm_int8_check_exact).
 *   quant.gemm_fp8@cuda.mma   gemm at e4m3: e4m3 activations and weights (per-tensor scales),
 *                             float32 accumulation, bf16 output Y = s_a·s_w·(Â·Ŵᵀ): the format
 *                             cuBLASLt's FP8 GEMM produces (gemm.dense@cuda.cublaslt, dtype
 *                             e4m3). Needs compute capability 8.9+. Float32 sums are
 *                             order-dependent, so there is no bit-exact check: the operation's
 *                             float64 verdict alone.
 *
 * Setup uploads the operation's host inputs (c->io) into padded device rows (gemm_cuda.h), with
 * input rotation: kb_case.input_copies_wanted copies of A and W. collect waits for the stream and
 * copies Y back into c->io's output.
 *
 * quant.gemm_int8@cuda.wgmma and quant.gemm_fp8@cuda.wgmma (builds with HAVE_SM90A) are the same
 * cases on Hopper's wgmma with TMA loads (gemm_wgmma.cu): they share every function here but
 * setup, which also refuses any GPU but compute capability 9.0 and encodes the TMA tensor maps
 * of each operand copy (state.tma), and run, which launches through them when state.tma is set. */
#include "config.h"
#include "kernels/quant/gemm_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm/gemm_ops.h"
#include "kernels/gpu/wgmma_device.h"
#include "kernels/quant/gemm_int8.h"

static int cuda_fail(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

/* Waits for the case's stream, then copies `bytes` of device Y into the operation's output. */
static int collect_y(struct kb_case *c, const void *y, size_t bytes)
{
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(stream);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_GEMM_Y), y, bytes, cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying Y back: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

/* ---- quant.gemm_int8@cuda.mma ----------------------------------------------------------------- */

struct int8_cuda_state {
    struct qgemm_operands ops;
    int32_t *dy;                /* device [2,N]: b_n, then c_n of each column's dyadic */
    int8_t *y;                  /* device [M,N] */
    struct qgemm_tma *tma;      /* @cuda.wgmma: the tensor maps of each operand copy; NULL for @cuda.mma */
};

static void int8_teardown(struct kb_case *c)
{
    struct int8_cuda_state *st = c->state;
    if (!st)
        return;
    qgemm_operands_free(&st->ops);
    cudaFree(st->dy);
    cudaFree(st->y);
    free(st->tma);
    free(st);
    c->state = NULL;
}

static int int8_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    struct int8_cuda_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = st;
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = (cudaError_t)qgemm_cuda_prepare();
    if (e != cudaSuccess) {
        int8_teardown(c);
        return cuda_fail(e, "raising the shared-memory limit", err, errlen);
    }
    int rc = qgemm_operands_new(&st->ops, kb_input(c, KB_GEMM_A), kb_input(c, KB_GEMM_W), s->m, s->n, s->k,
                                c->input_copies_wanted, stream, err, errlen);
    if (rc != KB_OK) {
        int8_teardown(c);
        return rc;
    }
    c->input_copies = st->ops.copies;
    const size_t nb = 2 * (size_t)s->n * sizeof(int32_t), mn = (size_t)s->m * s->n;
    e = cudaMalloc((void **)&st->dy, nb);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->y, mn);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(st->dy, kb_input(c, KB_GEMM_REQUANT), nb, cudaMemcpyHostToDevice, stream);
    if (e == cudaSuccess) /* poisoned with −128, which the requantizer never produces */
        e = cudaMemsetAsync(st->y, 0x80, mn, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        int8_teardown(c);
        return cuda_fail(e, "allocating the dyadics and Y", err, errlen);
    }
    return KB_OK;
}

static int int8_run(struct kb_case *c)
{
    struct int8_cuda_state *st = c->state;
    const int p = qgemm_operands_pick(&st->ops, c->input_copy);
    const int m = c->shape.m, n = c->shape.n;
    int e;
#ifdef HAVE_SM90A
    if (st->tma)
        e = qgemm_int8_wgmma_launch(&st->tma[p], m, n, st->ops.lda, st->dy, st->dy + n, st->y, c->stream);
    else
#endif
        e = qgemm_int8_launch(st->ops.a.ptr[p], st->ops.w.ptr[p], m, n, st->ops.lda, st->dy, st->dy + n, st->y,
                              c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "quant.gemm_int8@%s launch: %s", c->kernel->impl,
                 cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int int8_collect(struct kb_case *c)
{
    const struct int8_cuda_state *st = c->state;
    return collect_y(c, st->y, (size_t)c->shape.m * c->shape.n);
}

const struct kb_kernel kb_quant_gemm_int8_cuda = {
    .name = "quant.gemm_int8",
    .impl = "cuda.mma",
    .description = "W8A8 GEMM on INT8 tensor cores (mma.sync m16n8k32, cp.async pipeline), dyadic requant to int8",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .op = &kb_op_gemm,
    .setup = int8_setup,
    .run = int8_run,
    .collect = int8_collect,
    .check = gemm_int8_check_exact,
    .teardown = int8_teardown,
};

/* ---- quant.gemm_fp8@cuda.mma ------------------------------------------------------------------ */

struct fp8_cuda_state {
    struct qgemm_operands ops;
    float scale;           /* s_a·s_w */
    void *y;               /* device [M,N] bf16 */
    struct qgemm_tma *tma; /* @cuda.wgmma: the tensor maps of each operand copy; NULL for @cuda.mma */
};

static void fp8_teardown(struct kb_case *c)
{
    struct fp8_cuda_state *st = c->state;
    if (!st)
        return;
    qgemm_operands_free(&st->ops);
    cudaFree(st->y);
    free(st->tma);
    free(st);
    c->state = NULL;
}

static int fp8_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    int dev = 0;
    cudaGetDevice(&dev);
    if (!qgemm_fp8_capable(dev, err, errlen))
        return KB_UNSUPPORTED;
    struct fp8_cuda_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = st;
    /* per-tensor scales: s_a, and s_w (every column's is the tensor's) */
    st->scale = ((const float *)kb_input(c, KB_GEMM_SCALES))[0] * ((const float *)kb_input(c, KB_GEMM_W_SCALES))[0];
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = (cudaError_t)qgemm_cuda_prepare();
    if (e != cudaSuccess) {
        fp8_teardown(c);
        return cuda_fail(e, "raising the shared-memory limit", err, errlen);
    }
    int rc = qgemm_operands_new(&st->ops, kb_input(c, KB_GEMM_A), kb_input(c, KB_GEMM_W), s->m, s->n, s->k,
                                c->input_copies_wanted, stream, err, errlen);
    if (rc != KB_OK) {
        fp8_teardown(c);
        return rc;
    }
    c->input_copies = st->ops.copies;
    const size_t ybytes = (size_t)s->m * s->n * 2;
    e = cudaMalloc(&st->y, ybytes);
    if (e == cudaSuccess) /* poisoned: 0xFFFF is a bf16 NaN */
        e = cudaMemsetAsync(st->y, 0xFF, ybytes, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        fp8_teardown(c);
        return cuda_fail(e, "allocating Y", err, errlen);
    }
    return KB_OK;
}

static int fp8_run(struct kb_case *c)
{
    struct fp8_cuda_state *st = c->state;
    const int p = qgemm_operands_pick(&st->ops, c->input_copy);
    const int m = c->shape.m, n = c->shape.n;
    int e;
#ifdef HAVE_SM90A
    if (st->tma)
        e = qgemm_fp8_wgmma_launch(&st->tma[p], m, n, st->ops.lda, st->scale, st->y, c->stream);
    else
#endif
        e = qgemm_fp8_launch(st->ops.a.ptr[p], st->ops.w.ptr[p], m, n, st->ops.lda, st->scale, st->y, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "quant.gemm_fp8@%s launch: %s", c->kernel->impl,
                 cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int fp8_collect(struct kb_case *c)
{
    const struct fp8_cuda_state *st = c->state;
    return collect_y(c, st->y, (size_t)c->shape.m * c->shape.n * 2);
}

const struct kb_kernel kb_quant_gemm_fp8_cuda = {
    .name = "quant.gemm_fp8",
    .impl = "cuda.mma",
    .description = "FP8 GEMM on e4m3 tensor cores (mma.sync m16n8k32, sm_89+), per-tensor scales, f32 accumulate, bf16 out",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .axes = QUANT_AXES_GEMM,
    .op = &kb_op_gemm,
    .setup = fp8_setup,
    .run = fp8_run,
    .collect = fp8_collect,
    .teardown = fp8_teardown,
};

/* ---- quant.gemm_int8@cuda.wgmma, quant.gemm_fp8@cuda.wgmma (Hopper) ------------------------------ */
#ifdef HAVE_SM90A

/* The wgmma kernels are built for sm_90a only: other GPUs have no code for them. */
/* The TMA tensor maps of every operand copy (host-side encoding only: nothing to do in run). */
static int wgmma_maps(struct qgemm_tma **out, const struct qgemm_operands *o, char *err, size_t errlen)
{
    cudaError_t e = (cudaError_t)qgemm_wgmma_prepare();
    if (e != cudaSuccess)
        return cuda_fail(e, "raising the wgmma kernels' shared-memory limit", err, errlen);
    struct qgemm_tma *t = calloc((size_t)o->copies, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    for (int i = 0; i < o->copies; i++) {
        int rc = qgemm_wgmma_tma_new(&t[i], o->a.ptr[i], o->w.ptr[i], o->m, o->n, o->lda, err, errlen);
        if (rc != KB_OK) {
            free(t);
            return rc;
        }
    }
    *out = t;
    return KB_OK;
}

static int int8_wgmma_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = wgmma_device_check(c->device_index, err, errlen);
    if (rc == KB_OK)
        rc = int8_setup(c, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct int8_cuda_state *st = c->state;
    rc = wgmma_maps(&st->tma, &st->ops, err, errlen);
    if (rc != KB_OK)
        int8_teardown(c);
    return rc;
}

static int fp8_wgmma_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = wgmma_device_check(c->device_index, err, errlen);
    if (rc == KB_OK)
        rc = fp8_setup(c, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct fp8_cuda_state *st = c->state;
    rc = wgmma_maps(&st->tma, &st->ops, err, errlen);
    if (rc != KB_OK)
        fp8_teardown(c);
    return rc;
}

const struct kb_kernel kb_quant_gemm_int8_wgmma = {
    .name = "quant.gemm_int8",
    .impl = "cuda.wgmma",
    .description = "W8A8 GEMM on Hopper warpgroup tensor cores (wgmma m64n256k32 s8, TMA, sm_90a), dyadic requant to int8",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .op = &kb_op_gemm,
    .setup = int8_wgmma_setup,
    .run = int8_run,
    .collect = int8_collect,
    .check = gemm_int8_check_exact,
    .teardown = int8_teardown,
};

const struct kb_kernel kb_quant_gemm_fp8_wgmma = {
    .name = "quant.gemm_fp8",
    .impl = "cuda.wgmma",
    .description = "FP8 GEMM on Hopper warpgroup tensor cores (wgmma m64n256k32 e4m3, TMA, sm_90a), f32 accumulate, bf16 out",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .axes = QUANT_AXES_GEMM,
    .op = &kb_op_gemm,
    .setup = fp8_wgmma_setup,
    .run = fp8_run,
    .collect = fp8_collect,
    .teardown = fp8_teardown,
};

#endif
