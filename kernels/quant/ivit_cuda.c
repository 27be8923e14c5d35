/* ivit_cuda.c - quant.ivit_shiftmax / ivit_shiftgelu / ivit_layernorm on the GPU:
 *   @cuda      I-ViT's integer-only operators, int8 in and out (device code in ivit_dev.cu);
 *   @cuda.f32  their float32 counterparts (softmax, GELU, LayerNorm).
 * Inputs, input scale and I_0 are those of the @cpu / @cpu.f32 case of the same shape and seed
 * (set up inside this one); verify is that kernel's verify on the GPU's output: every element
 * bit for bit against the scalar emulation (integer kernels) and the relative L2 error against
 * float64 of the exact function (ivit.c's bounds). */
#include "kernels/quant/ivit.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ivit_cuda {
    struct kb_case cpu;
    const struct kb_kernel *cpu_kernel;
    int op, integer, m, n;
    int32_t i0;
    void *x_h, *y_h;    /* the CPU case's input and output buffers */
    void *x, *y;        /* device */
    size_t elem;        /* bytes per element */
};

static const struct kb_kernel *cpu_counterpart(const struct kb_kernel *k, int *op, int *integer)
{
    *integer = strcmp(k->impl, "cuda") == 0;
    if (strcmp(k->name, "quant.ivit_shiftmax") == 0) {
        *op = 0;
        return *integer ? &kb_quant_ivit_shiftmax_cpu : &kb_quant_ivit_shiftmax_f32;
    }
    if (strcmp(k->name, "quant.ivit_shiftgelu") == 0) {
        *op = 1;
        return *integer ? &kb_quant_ivit_shiftgelu_cpu : &kb_quant_ivit_shiftgelu_f32;
    }
    *op = 2;
    return *integer ? &kb_quant_ivit_layernorm_cpu : &kb_quant_ivit_layernorm_f32;
}

static double iv_flops(const struct kb_shape *s) { return kb_quant_ivit_shiftmax_cpu.flops(s); }
static double iv_bytes(const struct kb_shape *s, enum kb_dtype t) { return kb_quant_ivit_shiftmax_cpu.bytes(s, t); }
static double iv_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    return kb_quant_ivit_shiftmax_cpu.footprint(s, t);
}

static void iv_teardown(struct kb_case *c)
{
    struct ivit_cuda *v = c->state;
    if (!v)
        return;
    cudaFree(v->x);
    cudaFree(v->y);
    quant_cuda_inner_teardown(&v->cpu);
    free(v);
    c->state = NULL;
}

static int iv_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct ivit_cuda *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "%s: out of memory", c->kernel->name);
        return KB_ERROR;
    }
    v->cpu_kernel = cpu_counterpart(c->kernel, &v->op, &v->integer);
    int rc = quant_cuda_inner_setup(c, v->cpu_kernel, &v->cpu, err, errlen);
    if (rc != KB_OK) {
        free(v);
        return rc;
    }
    c->state = v;
    struct kb_tensor t;
    v->x_h = quant_cuda_tensor(&v->cpu, "x", &t);
    v->y_h = quant_cuda_tensor(&v->cpu, "y", NULL);
    if (!v->x_h || !v->y_h) {
        snprintf(err, errlen, "%s@%s: the CPU case lacks a tensor", c->kernel->name, c->kernel->impl);
        iv_teardown(c);
        return KB_ERROR;
    }
    v->m = c->shape.m, v->n = c->shape.n;
    v->elem = v->integer ? 1 : sizeof(float);
    v->i0 = v->integer ? ivit_case_i0(&v->cpu) : 0;
    const size_t bytes = (size_t)v->m * v->n * v->elem;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc(&v->x, bytes);
    if (e == cudaSuccess)
        e = cudaMalloc(&v->y, bytes);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(v->x, v->x_h, bytes, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess) /* poisoned: an unwritten float is NaN, an unwritten code -1 */
        e = cudaMemsetAsync(v->y, 0xFF, bytes, st);
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

static int iv_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct ivit_cuda *v = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMemcpyAsync(v->y_h, v->y, (size_t)v->m * v->n * v->elem, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "ivit@cuda: copying the output back", c->error, sizeof c->error);
        return KB_ERROR;
    }
    return v->cpu_kernel->verify(&v->cpu, acc);
}

static int iv_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct ivit_cuda *v = c->state;
    return v->cpu_kernel->tensors(&v->cpu, out, max);
}

#define IVIT_CUDA_KERNEL(var, nm, im, dt, desc)                                                  \
    const struct kb_kernel var = {                                                             \
        .name = nm, .impl = im, .description = desc, .family = KB_FAMILY_QUANT,                \
        .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(dt), .axes = QUANT_AXES_ROWS,         \
        .flops = iv_flops, .bytes = iv_bytes, .footprint = iv_footprint,                       \
        .setup = iv_setup, .run = iv_run, .verify = iv_verify, .tensors = iv_tensors,          \
        .teardown = iv_teardown,                                                               \
    }

IVIT_CUDA_KERNEL(kb_quant_ivit_shiftmax_cuda, "quant.ivit_shiftmax", "cuda", KB_DTYPE_I8,
                 "I-ViT Shiftmax on the GPU: integer-only softmax, one warp per row, int8 in/out");
IVIT_CUDA_KERNEL(kb_quant_ivit_shiftgelu_cuda, "quant.ivit_shiftgelu", "cuda", KB_DTYPE_I8,
                 "I-ViT ShiftGELU on the GPU: x·sigmoid(1.702x) by shift-exp, int8 in/out");
IVIT_CUDA_KERNEL(kb_quant_ivit_layernorm_cuda, "quant.ivit_layernorm", "cuda", KB_DTYPE_I8,
                 "I-ViT I-LayerNorm on the GPU: integer mean/variance/Newton sqrt, one warp per row");
IVIT_CUDA_KERNEL(kb_quant_ivit_shiftmax_cuda_f32, "quant.ivit_shiftmax", "cuda.f32", KB_DTYPE_F32,
                 "float32 softmax on the GPU (expf): the float counterpart of Shiftmax");
IVIT_CUDA_KERNEL(kb_quant_ivit_shiftgelu_cuda_f32, "quant.ivit_shiftgelu", "cuda.f32", KB_DTYPE_F32,
                 "float32 GELU on the GPU (erff): the float counterpart of ShiftGELU");
IVIT_CUDA_KERNEL(kb_quant_ivit_layernorm_cuda_f32, "quant.ivit_layernorm", "cuda.f32", KB_DTYPE_F32,
                 "float32 LayerNorm on the GPU: the float counterpart of I-LayerNorm");
