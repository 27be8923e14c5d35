/* quantize_cuda.c - quant.quantize@cuda: symmetric quantize + dequantize of an M×K float32
 * matrix on the GPU, i8 / i4 (packed) / e4m3 / e5m2, per tensor, channel or group (device code
 * in quantize_dev.cu). It implements kb_op_quant_quantize: setup copies the case's input x to
 * the device, collect copies codes, scales and the dequantized matrix back into the case's
 * outputs, and the operation judges them as it judges @cpu's (bit for bit against the scalar
 * emulation, the dequantized matrix against float64). Per tensor is two kernels (abs-max
 * reduction, then codes), both timed. */
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_cuda.h"
#include "kernels/quant/quant_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

struct quantize_cuda {
    size_t n_x, n_codes, n_scales;
    float *x, *deq, *scales; /* device */
    uint8_t *codes;
    unsigned *scratch;
};

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
    free(q);
    c->state = NULL;
}

static int qc_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct quantize_cuda *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "quant.quantize@cuda: out of memory");
        return KB_ERROR;
    }
    c->state = q;
    q->n_x = kb_operands_elems(&c->io, KB_QUANTIZE_X);
    q->n_codes = (size_t)c->shape.m * quant_row_bytes(c->shape.k, c->dtype);
    q->n_scales = kb_operands_elems(&c->io, KB_QUANTIZE_SCALES);
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
        e = cudaMemcpyAsync(q->x, kb_input(c, KB_QUANTIZE_X), q->n_x * sizeof(float), cudaMemcpyHostToDevice, st);
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

static int qc_collect(struct kb_case *c)
{
    struct quantize_cuda *q = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_QUANTIZE_CODES), q->codes, q->n_codes, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_QUANTIZE_SCALES), q->scales, q->n_scales * sizeof(float),
                            cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_QUANTIZE_DEQ), q->deq, q->n_x * sizeof(float), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess)
        return quant_cuda_fail(e, "quant.quantize@cuda: copying the outputs back", c->error, sizeof c->error);
    return KB_OK;
}

const struct kb_kernel kb_quant_quantize_cuda = {
    .name = "quant.quantize",
    .impl = "cuda",
    .description = "symmetric quantize+dequantize on the GPU, per tensor/channel/group, i8, i4 (packed), fp8 e4m3/e5m2",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_I4) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3) |
              KB_DTYPE_BIT(KB_DTYPE_FP8_E5M2),
    .axes = QUANT_AXES_QUANTIZE,
    .setup = qc_setup,
    .run = qc_run,
    .teardown = qc_teardown,
    .op = &kb_op_quant_quantize,
    .collect = qc_collect,
};
