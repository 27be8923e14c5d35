/* gemm_cuda_common.c - what the quantized GEMMs on the GPU share (gemm_cuda.h): device operands
 * with input rotation, the FP8 capability check, and the FP8 GEMM's inputs and verification. */
#include "kernels/quant/gemm_cuda.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/verify.h"

/* ---- device operands ------------------------------------------------------------------------ */

static int fail_cuda(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

void qgemm_operands_free(struct qgemm_operands *o)
{
    input_copies_free(&o->a);
    input_copies_free(&o->w);
    cudaFree(o->a.ptr[0]);
    cudaFree(o->w.ptr[0]);
    memset(o, 0, sizeof *o);
}

/* rows × k dense host bytes into a zeroed device matrix of rows_pad rows lda apart */
static cudaError_t upload_padded(void **dst, const void *src, int rows, int rows_pad, int k, size_t lda,
                                 cudaStream_t st)
{
    cudaError_t e = cudaMalloc(dst, (size_t)rows_pad * lda);
    if (e == cudaSuccess && (lda != (size_t)k || rows_pad != rows))
        e = cudaMemsetAsync(*dst, 0, (size_t)rows_pad * lda, st);
    if (e == cudaSuccess)
        e = cudaMemcpy2DAsync(*dst, lda, src, (size_t)k, (size_t)k, (size_t)rows, cudaMemcpyHostToDevice, st);
    return e;
}

int qgemm_operands_new(struct qgemm_operands *o, const void *a, const void *w, int m, int n, int k,
                       int copies_wanted, void *stream, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->m = m, o->n = n, o->k = k, o->lda = QGEMM_LDA(k);
    o->m_pad = (m + 15) / 16 * 16, o->n_pad = (n + 15) / 16 * 16;
    cudaStream_t st = (cudaStream_t)stream;
    const size_t a_bytes = (size_t)o->m_pad * o->lda, w_bytes = (size_t)o->n_pad * o->lda, bytes = a_bytes + w_bytes;
    int copies = copies_wanted < 1 ? 1 : copies_wanted > QGEMM_COPIES_MAX ? QGEMM_COPIES_MAX : copies_wanted;
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
        /* leave half of what is free to the output, the library's workspace and other cases */
        while (copies > 1 && (double)copies * (double)bytes > 0.5 * (double)free_b)
            copies--;
        if ((double)bytes > 0.8 * (double)free_b) {
            snprintf(err, errlen, "A and W need %.2f GiB of GPU memory, %.2f GiB free", (double)bytes / 1073741824.0,
                     (double)free_b / 1073741824.0);
            return KB_UNSUPPORTED;
        }
    }
    cudaError_t e = upload_padded(&o->a.ptr[0], a, m, o->m_pad, k, o->lda, st);
    if (e == cudaSuccess)
        e = upload_padded(&o->w.ptr[0], w, n, o->n_pad, k, o->lda, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        qgemm_operands_free(o);
        return fail_cuda(e, "uploading A and W", err, errlen);
    }
    /* the rotation's copies are made on the GPU from the uploads (fewer if memory runs short) */
    copies = input_copies_make(&o->a, o->a.ptr[0], a_bytes, copies, st);
    o->copies = input_copies_make(&o->w, o->w.ptr[0], w_bytes, copies, st);
    return KB_OK;
}

int qgemm_operands_pick(const struct qgemm_operands *o, int input_copy)
{
    return input_copy >= 0 && input_copy < o->copies ? input_copy : 0;
}

int qgemm_fp8_capable(int device, char *err, size_t errlen)
{
    struct cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, device);
    if (e != cudaSuccess) {
        fail_cuda(e, "cudaGetDeviceProperties", err, errlen);
        return 0;
    }
    if (p.major * 10 + p.minor < 89) {
        snprintf(err, errlen, "e4m3 tensor cores need compute capability 8.9 or later; %s is %d.%d", p.name, p.major,
                 p.minor);
        return 0;
    }
    return 1;
}

/* ---- FP8 inputs and verification ------------------------------------------------------------ */

float qgemm_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void gemm_fp8_data_free(struct gemm_fp8_data *d)
{
    free(d->a);
    free(d->w);
    memset(d, 0, sizeof *d);
}

static float absmax(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* x[n] to e4m3 codes at one scale for the tensor (quant.h's scalar quantizer) */
static void quantize_tensor(const float *x, size_t n, uint8_t *codes, float *scale)
{
    *scale = quant_scale(absmax(x, n), KB_DTYPE_FP8_E4M3);
    const float inv = 1.0f / *scale;
    for (size_t i = 0; i < n; i++)
        codes[i] = quant_code(x[i], inv, KB_DTYPE_FP8_E4M3);
}

int gemm_fp8_data_new(struct gemm_fp8_data *d, const struct kb_shape *s, uint64_t seed, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->m = s->m, d->n = s->n, d->k = s->k;
    const size_t mk = (size_t)s->m * s->k, nk = (size_t)s->n * s->k;
    float *a_f = quant_input_new((size_t)s->m, (size_t)s->k, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    float *w_f = quant_input_new((size_t)s->n, (size_t)s->k, quant_sub_seed(seed, QUANT_SEED_B), KB_INPUT_NORMAL);
    d->a = malloc(mk);
    d->w = malloc(nk);
    if (!a_f || !w_f || !d->a || !d->w) {
        snprintf(err, errlen, "quant.gemm_fp8: out of host memory");
        free(a_f);
        free(w_f);
        gemm_fp8_data_free(d);
        return KB_ERROR;
    }
    quantize_tensor(a_f, mk, d->a, &d->s_a);
    quantize_tensor(w_f, nk, d->w, &d->s_w);
    for (int c = 0; c < 256; c++)
        d->lut[c] = quant_decode((uint8_t)c, KB_DTYPE_FP8_E4M3);
    free(a_f);
    free(w_f);
    return KB_OK;
}

void gemm_fp8_verify(const struct gemm_fp8_data *d, const uint16_t *y, size_t ldy, uint64_t seed,
                     struct kb_accuracy *acc)
{
    const size_t mn = (size_t)d->m * d->n;
    const long points = mn < QGEMM_FP8_VERIFY_POINTS ? (long)mn : QGEMM_FP8_VERIFY_POINTS;
    const double scale = (double)d->s_a * d->s_w;
    struct kb_rng r;
    kb_rng_seed(&r, seed);
    struct verify_acc va;
    verify_begin(&va);
    for (long p = 0; p < points; p++) {
        /* every element when they are few; else the first, the last, then seeded random ones */
        size_t idx = (size_t)points == mn ? (size_t)p : p == 0 ? 0 : p == 1 ? mn - 1 : (size_t)(kb_rng_next(&r) % mn);
        size_t i = idx / (size_t)d->n, j = idx % (size_t)d->n;
        const uint8_t *ar = d->a + i * (size_t)d->k, *wr = d->w + j * (size_t)d->k;
        double ref = 0;
        for (int kk = 0; kk < d->k; kk++)
            ref += (double)d->lut[ar[kk]] * (double)d->lut[wr[kk]];
        verify_add(&va, qgemm_bf16_to_float(y[i * ldy + j]), ref * scale);
    }
    verify_finish(&va, QGEMM_FP8_TOL, acc);
    acc->rows_checked = points; /* elements, here */
    acc->rows_total = (long)mn;
}
