/* quantize_cuda.c - quant.quantize@cuda: symmetric quantize + dequantize of an M×K float32
 * matrix on the GPU, i8 / i4 (packed) / e4m3 / e5m2, per tensor, channel or group (device code
 * in quantize_dev.cu). The same inputs as quant.quantize@cpu (its case is set up inside this
 * one), and the same verify: codes and scales bit for bit against quant_quantize_emulate on
 * every element, the dequantized matrix against the float64 input with the CPU kernel's
 * tolerance per format. Per tensor is two kernels (abs-max reduction, then codes), both timed. */
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct quantize_cuda {
    struct kb_case cpu;      /* the CPU case: inputs, host output buffers, verify */
    float *x_h, *deq_h, *scales_h;
    uint8_t *codes_h;
    size_t n_x, n_codes, n_scales;
    float *x, *deq, *scales; /* device */
    uint8_t *codes;
    unsigned *scratch;
};

static double qc_flops(const struct kb_shape *s) { return kb_quant_quantize_cpu.flops(s); }
static double qc_bytes(const struct kb_shape *s, enum kb_dtype t) { return kb_quant_quantize_cpu.bytes(s, t); }
static double qc_footprint(const struct kb_shape *s, enum kb_dtype t) { return kb_quant_quantize_cpu.footprint(s, t); }

static void qc_teardown(struct kb_case *c)
{
    struct quantize_cuda *q = c->state;
    if (!q)
        return;
    cudaFree(q->x);
    cudaFree(q->deq);
    cudaFree(q->scales);
    cudaFree(q->codes);
    cudaFree(q->scratch);
    quant_cuda_inner_teardown(&q->cpu);
    free(q);
    c->state = NULL;
}

static int qc_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct quantize_cuda *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "quant.quantize: out of memory");
        return KB_ERROR;
    }
    int rc = quant_cuda_inner_setup(c, &kb_quant_quantize_cpu, &q->cpu, err, errlen);
    if (rc != KB_OK) {
        free(q);
        return rc;
    }
    c->state = q;
    struct kb_tensor t;
    q->x_h = quant_cuda_tensor(&q->cpu, "x", &t);
    q->n_x = (size_t)t.dims[0] * (size_t)t.dims[1];
    q->codes_h = quant_cuda_tensor(&q->cpu, "codes", &t);
    q->n_codes = (size_t)t.dims[0] * (size_t)t.dims[1];
    q->scales_h = quant_cuda_tensor(&q->cpu, "scales", &t);
    q->n_scales = (size_t)t.dims[0];
    q->deq_h = quant_cuda_tensor(&q->cpu, "dequantized", NULL);
    if (!q->x_h || !q->codes_h || !q->scales_h || !q->deq_h) {
        snprintf(err, errlen, "quant.quantize@cuda: the CPU case lacks a tensor");
        qc_teardown(c);
        return KB_ERROR;
    }
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc((void **)&q->x, q->n_x * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->deq, q->n_x * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->scales, q->n_scales * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->codes, q->n_codes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&q->scratch, sizeof(unsigned));
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(q->x, q->x_h, q->n_x * sizeof(float), cudaMemcpyHostToDevice, st);
    /* poisoned outputs: 0xFF bytes are NaN floats and codes no element may keep unwritten */
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->deq, 0xFF, q->n_x * sizeof(float), st);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->scales, 0xFF, q->n_scales * sizeof(float), st);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->codes, 0xFF, q->n_codes, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "quant.quantize@cuda: device buffers", err, errlen);
        qc_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int qc_run(struct kb_case *c)
{
    struct quantize_cuda *q = c->state;
    int e = quant_quantize_launch(q->x, &c->shape, c->dtype, q->codes, q->scales, q->deq, q->scratch, c->stream);
    if (e != 0) {
        quant_cuda_fail(e, "quant.quantize@cuda launch", c->error, sizeof c->error);
        return KB_ERROR;
    }
    return KB_OK;
}

static int qc_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct quantize_cuda *q = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMemcpyAsync(q->codes_h, q->codes, q->n_codes, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(q->scales_h, q->scales, q->n_scales * sizeof(float), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(q->deq_h, q->deq, q->n_x * sizeof(float), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "quant.quantize@cuda: copying the outputs back", c->error, sizeof c->error);
        return KB_ERROR;
    }
    return kb_quant_quantize_cpu.verify(&q->cpu, acc);
}

static int qc_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct quantize_cuda *q = c->state;
    return kb_quant_quantize_cpu.tensors(&q->cpu, out, max); /* the outputs as of the last verify */
}

const struct kb_kernel kb_quant_quantize_cuda = {
    .name = "quant.quantize",
    .impl = "cuda",
    .description = "symmetric quantize+dequantize on the GPU, per tensor/channel/group, i8, i4 (packed), fp8 e4m3/e5m2",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_I4) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3) |
              KB_DTYPE_BIT(KB_DTYPE_FP8_E5M2),
    .axes = QUANT_AXES_QUANTIZE,
    .flops = qc_flops,
    .bytes = qc_bytes,
    .footprint = qc_footprint,
    .setup = qc_setup,
    .run = qc_run,
    .verify = qc_verify,
    .tensors = qc_tensors,
    .teardown = qc_teardown,
};
