/* moe_fp8.c - the host side of the FP8 experts' quantization (moe.h, "FP8 experts"): the static
 * weights in 128 × 128 blocks, quantized once in setup, and the activation rule the GPU pre-pass
 * follows (moe_fp8_wgmma.cu), kept here so the emulation driver and the kernel's check can
 * reproduce the device's codes. Plain C: no CUDA needed. */
#include "kernels/moe/moe.h"
#include "kernels/quant/fp8.h"

#include <math.h>
#include <stdlib.h>

/* n values at x (stride apart) into codes: the block's scale (amax / 448) returned. */
static float quantize_block(const float *x, long stride, int n, uint8_t *codes, long code_stride)
{
    float amax = 0.f;
    for (int i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(x[i * stride]));
    const float inv = amax > 0.f ? 448.f / amax : 0.f;
    for (int i = 0; i < n; i++)
        codes[i * code_stride] = fp8_encode(x[i * stride] * inv, FP8_E4M3);
    return amax / 448.f;
}

void moe_fp8_quantize_row(const float *x, int cols, uint8_t *codes, float *scales, long stride)
{
    for (int kb = 0; kb < cols / MOE_FP8_QBLOCK; kb++)
        scales[kb * stride] = quantize_block(x + kb * MOE_FP8_QBLOCK, 1, MOE_FP8_QBLOCK, codes + kb * MOE_FP8_QBLOCK, 1);
}

/* A K-major [rows][cols] matrix, one 128-row slab at a time (rows and cols multiples of 128):
 * slab[r][k] is row nb·128 + r, filled by the caller; each 128 × 128 block gets one scale. */
static void quantize_slab(const float *slab, int cols, uint8_t *codes, float *scales)
{
    for (int kb = 0; kb < cols / MOE_FP8_QBLOCK; kb++) {
        float amax = 0.f;
        for (int r = 0; r < MOE_FP8_QBLOCK; r++)
            for (int k = 0; k < MOE_FP8_QBLOCK; k++)
                amax = fmaxf(amax, fabsf(slab[(size_t)r * cols + kb * MOE_FP8_QBLOCK + k]));
        const float inv = amax > 0.f ? 448.f / amax : 0.f;
        for (int r = 0; r < MOE_FP8_QBLOCK; r++)
            for (int k = 0; k < MOE_FP8_QBLOCK; k++) {
                const size_t at = (size_t)r * cols + kb * MOE_FP8_QBLOCK + k;
                codes[at] = fp8_encode(slab[at] * inv, FP8_E4M3);
            }
        scales[kb] = amax / 448.f;
    }
}

int moe_fp8_quantize_w13(const float *w1, const float *w3, int h, int f, uint8_t *codes, float *scales)
{
    int failed = 0;
    const int slabs = 2 * f / MOE_FP8_QBLOCK, kblocks = h / MOE_FP8_QBLOCK;
#pragma omp parallel for schedule(dynamic, 1)
    for (int nb = 0; nb < slabs; nb++) {
        float *slab = malloc((size_t)MOE_FP8_QBLOCK * h * sizeof *slab);
        if (!slab) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        /* interleaved column n = 16q + c: W1's column 8q + c (c < 8), else W3's 8q + c − 8; row
         * by row of W1 and W3, whose 64 columns of this slab are contiguous */
        for (int k = 0; k < h; k++)
            for (int r = 0; r < MOE_FP8_QBLOCK; r++) {
                const int n = nb * MOE_FP8_QBLOCK + r, q = n / 16, c = n % 16;
                const float *src = c < 8 ? w1 + 8 * q + c : w3 + 8 * q + c - 8;
                slab[(size_t)r * h + k] = src[(size_t)k * f];
            }
        quantize_slab(slab, h, codes + (size_t)nb * MOE_FP8_QBLOCK * h, scales + (size_t)nb * kblocks);
        free(slab);
    }
    return failed ? KB_ERROR : KB_OK;
}

int moe_fp8_quantize_w2(const float *w2, int f, int h, uint8_t *codes, float *scales)
{
    int failed = 0;
    const int slabs = h / MOE_FP8_QBLOCK, kblocks = f / MOE_FP8_QBLOCK;
#pragma omp parallel for schedule(dynamic, 1)
    for (int nb = 0; nb < slabs; nb++) {
        float *slab = malloc((size_t)MOE_FP8_QBLOCK * f * sizeof *slab);
        if (!slab) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        for (int k = 0; k < f; k++) /* row k of W2 [f][h]: columns nb·128 .. + 127 of the slab */
            for (int r = 0; r < MOE_FP8_QBLOCK; r++)
                slab[(size_t)r * f + k] = w2[(size_t)k * h + nb * MOE_FP8_QBLOCK + r];
        quantize_slab(slab, f, codes + (size_t)nb * MOE_FP8_QBLOCK * f, scales + (size_t)nb * kblocks);
        free(slab);
    }
    return failed ? KB_ERROR : KB_OK;
}
