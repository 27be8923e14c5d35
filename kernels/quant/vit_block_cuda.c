/* vit_block_cuda.c - vit.block@cuda.int8: the I-ViT integer-only ViT block (vit_block.h) on the
 * GPU, the same integer pipeline as vit.block@cpu.int8, step for step:
 *
 *   the steps of vit_block_steps.c: I-LayerNorm, ShiftGELU and Shiftmax rows by quant_ivit_launch
 *   (ivit_dev.cu, bit-exact with ivit.c), every product by vit_gemm_launch (vit_block_dev.cu: a
 *   strided INT8 GEMM with exact int32 sums and the dyadic requant or residual epilogue)
 *
 * Setup runs vit.block@cpu.int8's own setup on the case (an inner case sharing the operands):
 * weight quantization, the calibration pass and every dyadic are that kernel's, fixed before
 * timing as a deployed integer model is built offline, and uploaded once. collect copies the
 * output codes into the CPU kernel's state and lets its collect write the case's float32 y
 * (s_y·code); check is the CPU kernel's: the sampled rows bit for bit against its scalar
 * emulation of the whole pipeline (vit_i8_emulate_rows). The operation's float64 verdict is the
 * same as for @cpu.int8. */
#include "kernels/quant/vit_block.h"
#include "kernels/quant/vit_block_cuda.h"
#include "kernels/quant/quant_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vit_cuda {
    struct kb_case inner; /* vit.block@cpu.int8 on the same operands */
    struct vit_i8_view view;
    /* device buffers */
    int8_t *x, *wqkv, *wo, *w1, *w2, *ln, *qkvb, *sc, *p, *attn, *hb, *ff, *g, *y;
    int32_t *dyb, *dyc; /* every dyadic: qkv [3d], o [d], fc1 [f], fc2 [d], then sc, pv */
};

static void vc_teardown(struct kb_case *c)
{
    struct vit_cuda *st = c->state;
    if (!st)
        return;
    void *bufs[] = { st->x, st->wqkv, st->wo, st->w1, st->w2, st->ln, st->qkvb, st->sc, st->p, st->attn,
                     st->hb, st->ff, st->g, st->y, st->dyb, st->dyc };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cudaFree(bufs[i]);
    if (st->inner.state)
        kb_vit_block_int8.teardown(&st->inner);
    free(st);
    c->state = NULL;
}

static cudaError_t upload(void **dst, const void *src, size_t bytes, cudaStream_t s)
{
    cudaError_t e = cudaMalloc(dst, bytes);
    if (e == cudaSuccess && src)
        e = cudaMemcpyAsync(*dst, src, bytes, cudaMemcpyHostToDevice, s);
    return e;
}

static int vc_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct vit_cuda *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "vit.block@cuda.int8: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->inner = *c; /* the same shape, seed and operands (the harness's) */
    st->inner.kernel = &kb_vit_block_int8;
    st->inner.state = NULL;
    st->inner.stream = NULL;
    int rc = kb_vit_block_int8.setup(&st->inner, err, errlen);
    if (rc != KB_OK || vit_block_int8_view(&st->inner, &st->view) != KB_OK) {
        vc_teardown(c);
        return rc != KB_OK ? rc : KB_ERROR;
    }
    const struct vit_i8_view *w = &st->view;
    const size_t t = (size_t)w->v.t, d = (size_t)w->v.d, f = (size_t)w->v.f, h = (size_t)w->v.h;
    const size_t ndy = 5 * d + f + 2;
    int32_t *hb = malloc(ndy * sizeof *hb), *hc = malloc(ndy * sizeof *hc);
    if (!hb || !hc) {
        free(hb), free(hc);
        snprintf(err, errlen, "vit.block@cuda.int8: out of memory");
        vc_teardown(c);
        return KB_ERROR;
    }
    vit_block_dyadics(w, hb, hc);
    cudaStream_t s = (cudaStream_t)c->stream;
    cudaError_t e = upload((void **)&st->x, w->x, t * d, s);
    if (e == cudaSuccess)
        e = upload((void **)&st->wqkv, w->wqkv, 3 * d * d, s);
    if (e == cudaSuccess)
        e = upload((void **)&st->wo, w->wo, d * d, s);
    if (e == cudaSuccess)
        e = upload((void **)&st->w1, w->w1, f * d, s);
    if (e == cudaSuccess)
        e = upload((void **)&st->w2, w->w2, d * f, s);
    if (e == cudaSuccess)
        e = upload((void **)&st->dyb, hb, ndy * sizeof(int32_t), s);
    if (e == cudaSuccess)
        e = upload((void **)&st->dyc, hc, ndy * sizeof(int32_t), s);
    const size_t sizes[] = { t * d, 3 * t * d, h * t * t, h * t * t, t * d, t * d, t * f, t * f, t * d };
    int8_t **bufs[] = { &st->ln, &st->qkvb, &st->sc, &st->p, &st->attn, &st->hb, &st->ff, &st->g, &st->y };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0] && e == cudaSuccess; i++)
        e = upload((void **)bufs[i], NULL, sizes[i], s);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(st->y, 0x80, t * d, s); /* -128: a code no step produces */
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(s);
    free(hb), free(hc);
    if (e != cudaSuccess) {
        quant_cuda_fail(e, "vit.block@cuda.int8: device buffers", err, errlen);
        vc_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int vc_run(struct kb_case *c)
{
    struct vit_cuda *st = c->state;
    const struct vit_block_bufs b = { .x = st->x, .wqkv = st->wqkv, .wo = st->wo, .w1 = st->w1, .w2 = st->w2,
                                      .dy_b = st->dyb, .dy_c = st->dyc, .ln = st->ln, .qkv = st->qkvb, .sc = st->sc,
                                      .p = st->p, .attn = st->attn, .hb = st->hb, .ff = st->ff, .g = st->g, .y = st->y };
    static const struct vit_block_launchers gpu = { vit_gemm_launch, quant_ivit_launch };
    int e = vit_block_steps(&b, &st->view, &gpu, c->stream);
    if (e)
        return quant_cuda_fail(e, "vit.block@cuda.int8 launch", c->error, sizeof c->error);
    return KB_OK;
}

static int vc_collect(struct kb_case *c)
{
    struct vit_cuda *st = c->state;
    cudaStream_t s = (cudaStream_t)c->stream;
    const size_t n = (size_t)st->view.v.t * st->view.v.d;
    cudaError_t e = cudaStreamSynchronize(s);
    if (e == cudaSuccess)
        e = cudaMemcpy(st->view.y, st->y, n, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess)
        return quant_cuda_fail(e, "vit.block@cuda.int8: copying y back", c->error, sizeof c->error);
    return kb_vit_block_int8.collect(&st->inner); /* y = s_y·code into the shared output */
}

static int vc_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const struct vit_cuda *st = c->state;
    return kb_vit_block_int8.check(&st->inner, acc);
}

static double vc_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    return kb_vit_block_int8.footprint ? kb_vit_block_int8.footprint(s, t) : 0;
}

const struct kb_kernel kb_vit_block_cuda_int8 = {
    .name = "vit.block",
    .impl = "cuda.int8",
    .description = "I-ViT integer-only ViT block on the GPU: INT8 GEMMs (dyadic / residual epilogues), the I-ViT row ops",
    .op = &kb_op_vit_block,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .axes = VIT_AXES,
    .footprint = vc_footprint,
    .setup = vc_setup,
    .run = vc_run,
    .collect = vc_collect,
    .check = vc_check,
    .teardown = vc_teardown,
};
