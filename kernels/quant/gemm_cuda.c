/* gemm_cuda.c - the quantized GEMMs on tensor cores (device code in gemm_mma.cu):
 *
 *   quant.gemm_int8@cuda.mma  quant.gemm_int8@cpu on the GPU: the same inputs (gemm_int8_data_new),
 *                             W8A8, int32 accumulation, per-column dyadic requantization to int8
 *                             in the epilogue. Verified as the CPU kernel is (gemm_int8_verify):
 *                             bit for bit against the scalar emulation on QUANT_VERIFY_ROWS sampled
 *                             rows, and Y·s_y against float64 over the unquantized inputs.
 *   quant.gemm_fp8@cuda.mma   e4m3 activations and weights (per-tensor scales), float32
 *                             accumulation, bf16 output Y = s_a·s_w·(Â·Ŵᵀ): the format cuBLASLt's
 *                             FP8 GEMM produces (gemm.dense@cuda.cublaslt, dtype e4m3). Needs
 *                             compute capability 8.9+. No CPU counterpart (float32 sums are
 *                             order-dependent, so there is no bit-exact emulation): verified on
 *                             sampled elements against float64 over the decoded e4m3 inputs.
 *
 * Both honour input rotation: kb_case.input_copies_wanted copies of A and W (gemm_cuda.h).
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

#include "kernels/gpu/wgmma_device.h"
#include "kernels/quant/gemm_int8.h"

static int cuda_fail(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

static int check_dtype(const struct kb_case *c, enum kb_dtype want, char *err, size_t errlen)
{
    int rc = quant_check_shape(c->kernel->name, &c->shape, QUANT_AXES_GEMM, err, errlen);
    if (rc == KB_OK && c->dtype != want) {
        snprintf(err, errlen, "%s@%s: dtype %s not supported (%s only)", c->kernel->name, c->kernel->impl,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?", kb_dtype_name(want));
        rc = KB_UNSUPPORTED;
    }
    return rc;
}

/* ---- quant.gemm_int8@cuda.mma ----------------------------------------------------------------- */

struct int8_cuda_state {
    struct gemm_int8_data d;    /* host: inputs, scales, dyadics, and Y copied back by verify */
    struct qgemm_operands ops;
    int32_t *dyb, *dyc;         /* device: b_n and c_n of each column's dyadic */
    int8_t *y;                  /* device [M,N] */
    struct qgemm_tma *tma;      /* @cuda.wgmma: the tensor maps of each operand copy; NULL for @cuda.mma */
};

static double int8_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t; /* as @cpu: M·K + N·K + M·N + 4·(M + N) scale bytes */
    return (double)s->m * s->k + (double)s->n * s->k + (double)s->m * s->n + 4.0 * ((double)s->m + s->n);
}

static double int8_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t; /* float inputs + codes + Y + per-column data */
    return 5.0 * ((double)s->m + s->n) * s->k + (double)s->m * s->n + 16.0 * s->n + 256;
}

static void int8_teardown(struct kb_case *c)
{
    struct int8_cuda_state *st = c->state;
    if (!st)
        return;
    qgemm_operands_free(&st->ops);
    cudaFree(st->dyb);
    cudaFree(st->dyc);
    cudaFree(st->y);
    free(st->tma);
    gemm_int8_data_free(&st->d);
    free(st);
    c->state = NULL;
}

static int int8_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = check_dtype(c, KB_DTYPE_I8, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct int8_cuda_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = st;
    if (gemm_int8_data_new(&st->d, &c->shape, c->seed, err, errlen) != KB_OK) {
        int8_teardown(c);
        return KB_ERROR;
    }
    const struct gemm_int8_data *d = &st->d;
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = (cudaError_t)qgemm_cuda_prepare();
    if (e != cudaSuccess) {
        int8_teardown(c);
        return cuda_fail(e, "raising the shared-memory limit", err, errlen);
    }
    rc = qgemm_operands_new(&st->ops, d->a, d->w, d->m, d->n, d->k, c->input_copies_wanted, stream, err, errlen);
    if (rc != KB_OK) {
        int8_teardown(c);
        return rc;
    }
    c->input_copies = st->ops.copies;
    int32_t *hb = malloc((size_t)d->n * sizeof *hb), *hc = malloc((size_t)d->n * sizeof *hc);
    if (!hb || !hc) {
        free(hb);
        free(hc);
        int8_teardown(c);
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    for (int j = 0; j < d->n; j++)
        hb[j] = d->dy[j].b, hc[j] = d->dy[j].c;
    const size_t nb = (size_t)d->n * sizeof(int32_t), mn = (size_t)d->m * d->n;
    e = cudaMalloc((void **)&st->dyb, nb);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->dyc, nb);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->y, mn);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(st->dyb, hb, nb, cudaMemcpyHostToDevice, stream);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(st->dyc, hc, nb, cudaMemcpyHostToDevice, stream);
    if (e == cudaSuccess) /* poisoned with −128, which the requantizer never produces */
        e = cudaMemsetAsync(st->y, 0x80, mn, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    free(hb);
    free(hc);
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
    int e;
#ifdef HAVE_SM90A
    if (st->tma)
        e = qgemm_int8_wgmma_launch(&st->tma[p], st->d.m, st->d.n, st->ops.lda, st->dyb, st->dyc, st->y, c->stream);
    else
#endif
        e = qgemm_int8_launch(st->ops.a.ptr[p], st->ops.w.ptr[p], st->d.m, st->d.n, st->ops.lda, st->dyb, st->dyc,
                              st->y, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "quant.gemm_int8@%s launch: %s", c->kernel->impl,
                 cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int int8_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct int8_cuda_state *st = c->state;
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = cudaMemcpyAsync(st->d.y, st->y, (size_t)st->d.m * st->d.n, cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying Y back: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return gemm_int8_verify(&st->d, c->seed, c->shape.input, acc);
}

static int int8_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct int8_cuda_state *st = c->state;
    const struct gemm_int8_data *d = &st->d;
    struct kb_tensor t[] = {
        { "a", KB_DTYPE_I8, 2, { d->m, d->k }, d->a, 0 },
        { "w", KB_DTYPE_I8, 2, { d->n, d->k }, d->w, 0 },
        { "w_scales", KB_DTYPE_F32, 1, { d->n }, d->s_w, 0 },
        { "y", KB_DTYPE_I8, 2, { d->m, d->n }, d->y, 1 }, /* as copied back by the last verify */
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

const struct kb_kernel kb_quant_gemm_int8_cuda = {
    .name = "quant.gemm_int8",
    .impl = "cuda.mma",
    .description = "W8A8 GEMM on INT8 tensor cores (mma.sync m16n8k32, cp.async pipeline), dyadic requant to int8",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .flops = quant_gemm_flops,
    .bytes = int8_bytes,
    .footprint = int8_footprint,
    .setup = int8_setup,
    .run = int8_run,
    .verify = int8_verify,
    .tensors = int8_tensors,
    .teardown = int8_teardown,
};

/* ---- quant.gemm_fp8@cuda.mma ------------------------------------------------------------------ */

struct fp8_cuda_state {
    struct gemm_fp8_data d;
    struct qgemm_operands ops;
    void *y;         /* device [M,N] bf16 */
    uint16_t *y_host;
    struct qgemm_tma *tma; /* @cuda.wgmma: the tensor maps of each operand copy; NULL for @cuda.mma */
};

static double fp8_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t; /* e4m3 in, bf16 out (the two scales are negligible) */
    return (double)s->m * s->k + (double)s->n * s->k + 2.0 * s->m * (double)s->n;
}

static double fp8_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t; /* float inputs while quantizing + codes + Y */
    return 5.0 * ((double)s->m + s->n) * s->k + 2.0 * s->m * (double)s->n + 1024;
}

static void fp8_teardown(struct kb_case *c)
{
    struct fp8_cuda_state *st = c->state;
    if (!st)
        return;
    qgemm_operands_free(&st->ops);
    cudaFree(st->y);
    free(st->y_host);
    free(st->tma);
    gemm_fp8_data_free(&st->d);
    free(st);
    c->state = NULL;
}

static int fp8_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = check_dtype(c, KB_DTYPE_FP8_E4M3, err, errlen);
    if (rc != KB_OK)
        return rc;
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
    if (gemm_fp8_data_new(&st->d, &c->shape, c->seed, err, errlen) != KB_OK) {
        fp8_teardown(c);
        return KB_ERROR;
    }
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = (cudaError_t)qgemm_cuda_prepare();
    if (e != cudaSuccess) {
        fp8_teardown(c);
        return cuda_fail(e, "raising the shared-memory limit", err, errlen);
    }
    rc = qgemm_operands_new(&st->ops, st->d.a, st->d.w, st->d.m, st->d.n, st->d.k, c->input_copies_wanted, stream,
                            err, errlen);
    if (rc != KB_OK) {
        fp8_teardown(c);
        return rc;
    }
    c->input_copies = st->ops.copies;
    const size_t ybytes = (size_t)st->d.m * st->d.n * 2;
    st->y_host = malloc(ybytes);
    e = st->y_host ? cudaMalloc(&st->y, ybytes) : cudaErrorMemoryAllocation;
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
    const float scale = st->d.s_a * st->d.s_w;
    int e;
#ifdef HAVE_SM90A
    if (st->tma)
        e = qgemm_fp8_wgmma_launch(&st->tma[p], st->d.m, st->d.n, st->ops.lda, scale, st->y, c->stream);
    else
#endif
        e = qgemm_fp8_launch(st->ops.a.ptr[p], st->ops.w.ptr[p], st->d.m, st->d.n, st->ops.lda, scale, st->y, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "quant.gemm_fp8@%s launch: %s", c->kernel->impl,
                 cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int fp8_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct fp8_cuda_state *st = c->state;
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = cudaMemcpyAsync(st->y_host, st->y, (size_t)st->d.m * st->d.n * 2, cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying Y back: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    memset(acc, 0, sizeof *acc);
    gemm_fp8_verify(&st->d, st->y_host, (size_t)st->d.n, c->seed, acc);
    return KB_OK;
}

static int fp8_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct fp8_cuda_state *st = c->state;
    const struct gemm_fp8_data *d = &st->d;
    struct kb_tensor t[] = {
        { "a", KB_DTYPE_FP8_E4M3, 2, { d->m, d->k }, d->a, 0 },
        { "w", KB_DTYPE_FP8_E4M3, 2, { d->n, d->k }, d->w, 0 },
        { "y", KB_DTYPE_BF16, 2, { d->m, d->n }, st->y_host, 1 }, /* as copied back by the last verify */
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

const struct kb_kernel kb_quant_gemm_fp8_cuda = {
    .name = "quant.gemm_fp8",
    .impl = "cuda.mma",
    .description = "FP8 GEMM on e4m3 tensor cores (mma.sync m16n8k32, sm_89+), per-tensor scales, f32 accumulate, bf16 out",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .axes = QUANT_AXES_GEMM,
    .flops = quant_gemm_flops,
    .bytes = fp8_bytes,
    .footprint = fp8_footprint,
    .setup = fp8_setup,
    .run = fp8_run,
    .verify = fp8_verify,
    .tensors = fp8_tensors,
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
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_GEMM,
    .flops = quant_gemm_flops,
    .bytes = int8_bytes,
    .footprint = int8_footprint,
    .setup = int8_wgmma_setup,
    .run = int8_run,
    .verify = int8_verify,
    .tensors = int8_tensors,
    .teardown = int8_teardown,
};

const struct kb_kernel kb_quant_gemm_fp8_wgmma = {
    .name = "quant.gemm_fp8",
    .impl = "cuda.wgmma",
    .description = "FP8 GEMM on Hopper warpgroup tensor cores (wgmma m64n256k32 e4m3, TMA, sm_90a), f32 accumulate, bf16 out",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .axes = QUANT_AXES_GEMM,
    .flops = quant_gemm_flops,
    .bytes = fp8_bytes,
    .footprint = fp8_footprint,
    .setup = fp8_wgmma_setup,
    .run = fp8_run,
    .verify = fp8_verify,
    .tensors = fp8_tensors,
    .teardown = fp8_teardown,
};

#endif
