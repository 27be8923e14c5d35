/* gemm_w4a8_cuda.c - quant.gemm_w4a8@cuda.mma: INT4 weights with per-group scales × INT8
 * activations on INT8 tensor cores (device code in gemm_w4a8_mma.cu), float32 out.
 *
 * An implementation of the operation quant.gemm_w4a8 (kernels/gemm/gemm_ops.h), which makes the
 * inputs (the same bytes quant.gemm_w4a8@cpu reads: weights quantized to int4 per group of g,
 * activations to int8 per tensor) and judges Y against float64. They go to the GPU zero-padded
 * to whole tiles (rows of A to a multiple of 64 bytes, of W to 32 packed bytes, M and N to 128):
 * the padding adds zero products to the integer sums. collect copies Y back; the check is the
 * CPU kernel's (gemm_w4a8_check_exact): the sampled rows bit for bit the scalar emulation.
 *
 * Limits (KB_UNSUPPORTED otherwise): activations i8 (e4m3 would need FP8 tensor cores, whose
 * float accumulation does not give the exact group sums); group a multiple of 32 unless it
 * covers all of K (an mma step of 32 k must not straddle two groups). Input rotation: as many
 * copies of A, W and the scales as the harness asks for (up to 16) when they fit in memory. */
#include "kernels/quant/quant.h"
#include "kernels/gemm/gemm_ops.h"
#include "kernels/gpu/input_copies.h"
#include "kernels/quant/gemm_w4a8.h"
#include "kernels/quant/quant_cuda.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W4A8_MAX_COPIES 16

struct w4a8_cuda {
    int m, n, k, g, groups, mp, np, kp;
    float s_a;
    int copies;
    /* device A [mp, kp], W [np, kp/2] (int4 packed), scales [np, groups]: ptr[0] the uploads,
     * the rest their copies for cold-cache rotation */
    struct input_copies a, w, s_w;
    float *y;                    /* device [m, n] */
};

/* Host workspace beyond the operands: the padded images built once at setup. */
static double wc_workspace(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    const double mp = s->m + W4A8_TILE, np = s->n + W4A8_TILE, kp = s->k + W4A8_TILE_K;
    const double g = s->group < s->k ? s->group : s->k;
    return mp * kp + np * kp / 2 + 4 * np * ceil(s->k / (g > 0 ? g : 1)) + 1024;
}

static void wc_teardown(struct kb_case *c)
{
    struct w4a8_cuda *q = c->state;
    if (!q)
        return;
    struct input_copies *bufs[] = { &q->a, &q->w, &q->s_w };
    for (int i = 0; i < 3; i++) {
        input_copies_free(bufs[i]);
        cudaFree(bufs[i]->ptr[0]);
    }
    cudaFree(q->y);
    free(q);
    c->state = NULL;
}

static int round_up(int v, int to) { return (v + to - 1) / to * to; }

/* The padded inputs on the device (ptr[0] of each); a cudaError_t. */
static int wc_upload_once(struct w4a8_cuda *q, const int8_t *a, const uint8_t *w, const float *sw, size_t na,
                          size_t nw, size_t ns, cudaStream_t st)
{
    cudaError_t e = cudaMalloc(&q->a.ptr[0], na);
    if (e == cudaSuccess)
        e = cudaMalloc(&q->w.ptr[0], nw);
    if (e == cudaSuccess)
        e = cudaMalloc(&q->s_w.ptr[0], ns * sizeof *sw);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(q->a.ptr[0], a, na, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(q->w.ptr[0], w, nw, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(q->s_w.ptr[0], sw, ns * sizeof *sw, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    return (int)e;
}

/* The padded device images of A, W and the scales, built once on the host; as many copies as
 * the harness wants and memory holds (at least one). */
static int wc_upload(struct w4a8_cuda *q, const struct kb_case *c, char *err, size_t errlen)
{
    const int8_t *a_h = kb_input(c, KB_W4A8_A);
    const uint8_t *w_h = kb_input(c, KB_W4A8_W);
    const float *sw_h = kb_input(c, KB_W4A8_W_SCALES);
    const size_t rb = (size_t)(q->k + 1) / 2, na = (size_t)q->mp * q->kp, nw = (size_t)q->np * q->kp / 2,
                 ns = (size_t)q->np * q->groups;
    int8_t *a = calloc(na, 1);
    uint8_t *w = calloc(nw, 1);
    float *sw = calloc(ns, sizeof *sw);
    int rc = KB_OK;
    if (!a || !w || !sw) {
        snprintf(err, errlen, "quant.gemm_w4a8@cuda.mma: out of memory for the padded inputs");
        rc = KB_ERROR;
    } else {
        for (int i = 0; i < q->m; i++)
            memcpy(a + (size_t)i * q->kp, a_h + (size_t)i * q->k, (size_t)q->k);
        for (int j = 0; j < q->n; j++) {
            memcpy(w + (size_t)j * q->kp / 2, w_h + (size_t)j * rb, rb);
            memcpy(sw + (size_t)j * q->groups, sw_h + (size_t)j * q->groups, (size_t)q->groups * sizeof *sw);
        }
        const int wanted = c->input_copies_wanted < 1 ? 1
                           : c->input_copies_wanted > W4A8_MAX_COPIES ? W4A8_MAX_COPIES
                                                                      : c->input_copies_wanted;
        cudaStream_t st = (cudaStream_t)c->stream;
        int e = wc_upload_once(q, a, w, sw, na, nw, ns, st);
        if (e != 0) {
            rc = quant_cuda_fail(e, "quant.gemm_w4a8@cuda.mma: device inputs", err, errlen);
        } else { /* the rotation's copies, made on the GPU (fewer if memory runs short) */
            int n = input_copies_make(&q->a, q->a.ptr[0], na, wanted, st);
            n = input_copies_make(&q->w, q->w.ptr[0], nw, n, st);
            q->copies = input_copies_make(&q->s_w, q->s_w.ptr[0], ns * sizeof *sw, n, st);
        }
    }
    free(a);
    free(w);
    free(sw);
    return rc;
}

static int wc_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct w4a8_cuda *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "quant.gemm_w4a8@cuda.mma: out of memory");
        return KB_ERROR;
    }
    c->state = q;
    q->m = c->shape.m, q->n = c->shape.n, q->k = c->shape.k;
    q->g = c->shape.group < q->k ? c->shape.group : q->k;
    q->groups = (q->k + q->g - 1) / q->g;
    if (q->groups > 1 && q->g % 32 != 0) {
        snprintf(err, errlen, "quant.gemm_w4a8@cuda.mma: group = %d is not a multiple of 32 (the mma's k step) "
                 "and does not cover K = %d", q->g, q->k);
        wc_teardown(c);
        return KB_UNSUPPORTED;
    }
    q->mp = round_up(q->m, W4A8_TILE), q->np = round_up(q->n, W4A8_TILE), q->kp = round_up(q->k, W4A8_TILE_K);
    q->s_a = *(const float *)kb_input(c, KB_W4A8_A_SCALE); /* the operation's per-tensor scale */
    int rc = wc_upload(q, c, err, errlen);
    if (rc != KB_OK) {
        wc_teardown(c);
        return rc;
    }
    cudaStream_t st = (cudaStream_t)c->stream;
    const size_t ybytes = (size_t)q->m * q->n * sizeof(float);
    cudaError_t e = cudaMalloc((void **)&q->y, ybytes);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(q->y, 0xFF, ybytes, st); /* NaN: an unwritten element fails verify */
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "quant.gemm_w4a8@cuda.mma: output", err, errlen);
        wc_teardown(c);
        return KB_ERROR;
    }
    c->input_copies = q->copies;
    return KB_OK;
}

static int wc_run(struct kb_case *c)
{
    struct w4a8_cuda *q = c->state;
    const int i = c->input_copy >= 0 && c->input_copy < q->copies ? c->input_copy : 0;
    int e = quant_w4a8_launch(input_copies_get(&q->a, i), input_copies_get(&q->w, i), input_copies_get(&q->s_w, i), q->s_a, q->y, q->m, q->n, q->k, q->kp, q->g, q->groups,
                              c->stream);
    if (e != 0) {
        quant_cuda_fail(e, "w4a8_mma launch", c->error, sizeof c->error);
        return KB_ERROR;
    }
    return KB_OK;
}

static int wc_collect(struct kb_case *c)
{
    struct w4a8_cuda *q = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_W4A8_Y), q->y, (size_t)q->m * q->n * sizeof(float), cudaMemcpyDeviceToHost,
                            st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "quant.gemm_w4a8@cuda.mma: copying Y back", c->error, sizeof c->error);
        return KB_ERROR;
    }
    return KB_OK;
}

const struct kb_kernel kb_quant_gemm_w4a8_cuda = {
    .name = "quant.gemm_w4a8",
    .impl = "cuda.mma",
    .description = "INT4 weights (group scales) x INT8 activations on INT8 tensor cores (mma.sync), exact group sums, f32 out",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = QUANT_AXES_W4A8,
    .op = &kb_op_quant_gemm_w4a8,
    .footprint = wc_workspace,
    .setup = wc_setup,
    .run = wc_run,
    .collect = wc_collect,
    .check = gemm_w4a8_check_exact,
    .teardown = wc_teardown,
};
