/* moe_fp8.c - the host side of the FP8 experts (moe.h, "the FP8 experts' host-side
 * quantization"): the static weights in 128 × 128 blocks, quantized once in setup; the activation
 * rule the GPU pre-pass follows (moe_fp8_wgmma.cu); and the two judgments of
 * moe.experts@cuda.wgmma-fp8's check (its codes against that rule, float64 on its dequantized
 * codes), kept here in plain C so tests/cuda_emu's driver runs the same code without a GPU. */
#include "kernels/moe/moe.h"
#include "kernels/quant/fp8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

long moe_fp8_quantizer_mismatches(const float *x_f32, const uint16_t *x_bf16, long rows, int cols, const uint8_t *q,
                                  const float *scale)
{
    const int blocks = cols / MOE_FP8_QBLOCK;
    long bad = 0;
#pragma omp parallel for reduction(+ : bad) schedule(static)
    for (long r = 0; r < rows; r++) {
        float x[MOE_FP8_QBLOCK], sc;
        uint8_t codes[MOE_FP8_QBLOCK];
        for (int b = 0; b < blocks; b++) {
            const size_t at = (size_t)r * cols + (size_t)b * MOE_FP8_QBLOCK;
            for (int j = 0; j < MOE_FP8_QBLOCK; j++) {
                if (x_f32) {
                    x[j] = x_f32[at + j];
                } else { /* bf16: the upper half of a float32 */
                    const uint32_t u = (uint32_t)x_bf16[at + j] << 16;
                    memcpy(&x[j], &u, sizeof u);
                }
            }
            moe_fp8_quantize_row(x, MOE_FP8_QBLOCK, codes, &sc, 1);
            bad += memcmp(codes, q + at, MOE_FP8_QBLOCK) != 0;
            bad += memcmp(&sc, scale + (size_t)b * rows + r, sizeof sc) != 0;
        }
    }
    return bad;
}

void moe_fp8_reference_row(const struct moe_fp8_operands *o, long r, int threads, double *hrow, double *yrow)
{
    const int h = o->h, f = o->f, hk = h / MOE_FP8_QBLOCK, fk = f / MOE_FP8_QBLOCK;
    const long slots = o->slots;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int j = 0; j < f; j++) {
        const int ng = 16 * (j / 8) + j % 8, nu = ng + 8; /* w13's 8-column interleave */
        double gate = 0, up = 0;
        for (int k = 0; k < h; k++) {
            const double x = (double)fp8_decode(o->xq[(size_t)r * h + k], FP8_E4M3) * o->xs[(size_t)(k / 128) * slots + r];
            gate += x * fp8_decode(o->w13[(size_t)ng * h + k], FP8_E4M3) * o->s13[(size_t)(ng / 128) * hk + k / 128];
            up += x * fp8_decode(o->w13[(size_t)nu * h + k], FP8_E4M3) * o->s13[(size_t)(nu / 128) * hk + k / 128];
        }
        hrow[j] = gate / (1.0 + exp(-gate)) * up;
    }
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int col = 0; col < h; col++) {
        double y = 0;
        for (int j = 0; j < f; j++)
            y += (double)fp8_decode(o->hq[(size_t)r * f + j], FP8_E4M3) * o->hs[(size_t)(j / 128) * slots + r] *
                 fp8_decode(o->w2[(size_t)col * f + j], FP8_E4M3) * o->s2[(size_t)(col / 128) * fk + j / 128];
        yrow[col] = y;
    }
}
