/* ivit_cuda.c - quant.ivit_shiftmax / ivit_shiftgelu / ivit_layernorm on the GPU:
 *   @cuda      I-ViT's integer-only operators, int8 in and out (device code in ivit_dev.cu);
 *   @cuda.f32  their float32 counterparts (softmax, GELU, LayerNorm).
 * They implement the operations kb_op_quant_ivit_* (ivit_op.c): setup copies the case's input
 * to the device (I_0 and the shapes refused are @cpu's, ivit_prepare), collect copies the output
 * back, the operation judges it against float64 of the exact function, and the integer ones'
 * check (ivit_check, @cpu's) compares every code with the scalar emulation. */
#include "kernels/quant/ivit.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_cuda.h"
#include "kernels/quant/quant_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

struct ivit_cuda {
    int op, integer, m, n;
    int32_t i0;
    void *x, *y;        /* device */
    size_t bytes;       /* of x, of y */
};

static void iv_teardown(struct kb_case *c)
{
    struct ivit_cuda *v = c->state;
    if (!v)
        return;
    cudaFree(v->x);
    cudaFree(v->y);
    free(v);
    c->state = NULL;
}

static int iv_setup(struct kb_case *c, char *err, size_t errlen)
{
    int32_t i0;
    int rc = ivit_prepare(c, &i0, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct ivit_cuda *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "%s: out of memory", c->kernel->name);
        return KB_ERROR;
    }
    c->state = v;
    v->op = (int)ivit_op_of(c->kernel->op); /* the launchers' 0, 1, 2 */
    v->integer = c->dtype == KB_DTYPE_I8;
    v->m = c->shape.m, v->n = c->shape.n;
    v->i0 = i0;
    v->bytes = (size_t)v->m * v->n * (v->integer ? 1 : sizeof(float));
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc(&v->x, v->bytes);
    if (e == cudaSuccess)
        e = cudaMalloc(&v->y, v->bytes);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(v->x, kb_input(c, KB_IVIT_X), v->bytes, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess) /* poisoned: an unwritten float is NaN, an unwritten code -1 */
        e = cudaMemsetAsync(v->y, 0xFF, v->bytes, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "ivit@cuda: device buffers", err, errlen);
        iv_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int iv_run(struct kb_case *c)
{
    struct ivit_cuda *v = c->state;
    int e = v->integer ? quant_ivit_launch(v->op, v->x, v->y, v->m, v->n, v->i0, c->stream)
                       : quant_ivit_f32_launch(v->op, v->x, v->y, v->m, v->n, c->stream);
    if (e != 0) {
        quant_cuda_fail(e, "ivit@cuda launch", c->error, sizeof c->error);
        return KB_ERROR;
    }
    return KB_OK;
}

static int iv_collect(struct kb_case *c)
{
    struct ivit_cuda *v = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_IVIT_Y), v->y, v->bytes, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess)
        return quant_cuda_fail(e, "ivit@cuda: copying the output back", c->error, sizeof c->error);
    return KB_OK;
}

#define IVIT_CUDA_KERNEL(var, o, im, dt, chk, desc)                                              \
    const struct kb_kernel var = {                                                             \
        .name = "quant." #o, .impl = im, .description = desc, .device = KB_DEVICE_CUDA,        \
        .dtypes = KB_DTYPE_BIT(dt), .axes = QUANT_AXES_ROWS, .setup = iv_setup,                \
        .run = iv_run, .teardown = iv_teardown, .op = &kb_op_quant_##o,                        \
        .collect = iv_collect, .check = chk,                                                   \
    }

IVIT_CUDA_KERNEL(kb_quant_ivit_shiftmax_cuda, ivit_shiftmax, "cuda", KB_DTYPE_I8, ivit_check,
                 "I-ViT Shiftmax on the GPU: integer-only softmax, one warp per row, int8 in/out");
IVIT_CUDA_KERNEL(kb_quant_ivit_shiftgelu_cuda, ivit_shiftgelu, "cuda", KB_DTYPE_I8, ivit_check,
                 "I-ViT ShiftGELU on the GPU: x·sigmoid(1.702x) by shift-exp, int8 in/out");
IVIT_CUDA_KERNEL(kb_quant_ivit_layernorm_cuda, ivit_layernorm, "cuda", KB_DTYPE_I8, ivit_check,
                 "I-ViT I-LayerNorm on the GPU: integer mean/variance/Newton sqrt, one warp per row");
IVIT_CUDA_KERNEL(kb_quant_ivit_shiftmax_cuda_f32, ivit_shiftmax, "cuda.f32", KB_DTYPE_F32, NULL,
                 "float32 softmax on the GPU (expf): the float counterpart of Shiftmax");
IVIT_CUDA_KERNEL(kb_quant_ivit_shiftgelu_cuda_f32, ivit_shiftgelu, "cuda.f32", KB_DTYPE_F32, NULL,
                 "float32 GELU on the GPU (erff): the float counterpart of ShiftGELU");
IVIT_CUDA_KERNEL(kb_quant_ivit_layernorm_cuda_f32, ivit_layernorm, "cuda.f32", KB_DTYPE_F32, NULL,
                 "float32 LayerNorm on the GPU: the float counterpart of I-LayerNorm");
