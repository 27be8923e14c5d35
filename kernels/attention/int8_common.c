/* int8_common.c - the scalar definition of attention.int8's quantization (see int8.h), which the
 * kernel must reproduce bit for bit and which a CUDA implementation can share. */
#include "kernels/attention/int8.h"
#include "kernels/attention/attention.h"
#include "kernels/quant/fp8.h"

#include <math.h>
#include <stdlib.h>

/* nearbyintf in the default rounding mode (half to even) for |x| < 2^22, without a libm call:
 * adding 1.5·2^23 leaves no fraction bits, so the hardware rounds; subtracting it is exact.
 * Codes are at most 127 (times a float's rounding) in magnitude. Identical results to
 * nearbyintf but for the sign of a zero, which the integer conversion drops. */
static inline float round_half_even(float x)
{
    const float big = 0x1.8p23f;
    return (x + big) - big;
}

void int8_channel_mean(const float *k, int n, int d, float *mean)
{
    /* row by row (K's layout), yet each channel's additions in the order int8.h defines */
    double *sum = calloc((size_t)d * 2, sizeof *sum), *part = sum + d;
    if (!sum) { /* the same sums, channel by channel */
        for (int c = 0; c < d; c++) {
            double total = 0;
            for (int t0 = 0; t0 < n; t0 += INT8_MEAN_CHUNK) {
                double p = 0;
                for (int t = t0; t < n && t < t0 + INT8_MEAN_CHUNK; t++)
                    p += k[(size_t)t * d + c];
                total += p;
            }
            mean[c] = (float)(total / n);
        }
        return;
    }
    for (int t0 = 0; t0 < n; t0 += INT8_MEAN_CHUNK) {
        for (int c = 0; c < d; c++)
            part[c] = 0;
        for (int t = t0; t < n && t < t0 + INT8_MEAN_CHUNK; t++)
            for (int c = 0; c < d; c++)
                part[c] += k[(size_t)t * d + c];
        for (int c = 0; c < d; c++)
            sum[c] += part[c];
    }
    for (int c = 0; c < d; c++)
        mean[c] = (float)(sum[c] / n);
    free(sum);
}

float int8_quantize_block(const float *x, int rows, int d, const float *shift, int8_t *codes)
{
    const int dq = int8_padded_dim(d);
    float absmax = 0;
    for (int t = 0; t < rows; t++)
        for (int c = 0; c < d; c++) {
            float v = x[(size_t)t * d + c] - (shift ? shift[c] : 0.0f);
            absmax = fabsf(v) > absmax ? fabsf(v) : absmax;
        }
    const float inv = absmax > 0 ? 127.0f / absmax : 0.0f;
    for (int t = 0; t < rows; t++) {
        for (int c = 0; c < d; c++) {
            float v = (x[(size_t)t * d + c] - (shift ? shift[c] : 0.0f)) * inv;
            float r = round_half_even(v);
            codes[(size_t)t * dq + c] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
        }
        for (int c = d; c < dq; c++)
            codes[(size_t)t * dq + c] = 0;
    }
    return absmax / 127.0f;
}

float int8_e4m3_quantize_block(const float *x, int rows, int d, const float *shift, uint8_t *codes)
{
    float absmax = 0;
    for (int t = 0; t < rows; t++)
        for (int c = 0; c < d; c++) {
            float v = x[(size_t)t * d + c] - (shift ? shift[c] : 0.0f);
            absmax = fabsf(v) > absmax ? fabsf(v) : absmax;
        }
    const float inv = absmax > 0 ? INT8_FP8_MAX / absmax : 0.0f;
    for (int t = 0; t < rows; t++)
        for (int c = 0; c < d; c++)
            codes[(size_t)t * d + c] = fp8_encode((x[(size_t)t * d + c] - (shift ? shift[c] : 0.0f)) * inv, FP8_E4M3);
    return absmax / INT8_FP8_MAX;
}

void int8_quantize_channels(const float *v, int n, int d, int8_t *codes, float *scale)
{
    for (int c = 0; c < d; c++)
        scale[c] = 0;
    for (int t = 0; t < n; t++) /* row by row: V's layout */
        for (int c = 0; c < d; c++)
            scale[c] = fabsf(v[(size_t)t * d + c]) > scale[c] ? fabsf(v[(size_t)t * d + c]) : scale[c];
    for (int t = 0; t < n; t++)
        for (int c = 0; c < d; c++) {
            const float inv = scale[c] > 0 ? 127.0f / scale[c] : 0.0f;
            float r = round_half_even(v[(size_t)t * d + c] * inv);
            codes[(size_t)t * d + c] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
        }
    for (int c = 0; c < d; c++)
        scale[c] = scale[c] / 127.0f;
}

void int8_fp8_quantize_v(const float *v, int n, int d, uint8_t *vt, float *scale)
{
    const int keys = int8_fp8_v_keys(n);
    for (int c = 0; c < d; c++) {
        float amax = 0;
        for (int t = 0; t < n; t++)
            amax = fabsf(v[(size_t)t * d + c]) > amax ? fabsf(v[(size_t)t * d + c]) : amax;
        const float inv = amax > 0 ? INT8_FP8_MAX / amax : 0.0f;
        scale[c] = amax / INT8_FP8_MAX;
        for (int p = 0; p < keys; p++) {
            const int t = p / 32 * 32 + int8_fp8_pv_key(p % 32);
            vt[(size_t)c * keys + p] = t < n ? fp8_encode(v[(size_t)t * d + c] * inv, FP8_E4M3) : 0;
        }
    }
}

int32_t int8_dot(const int8_t *a, const int8_t *b, int dq)
{
    int64_t acc = 0; /* wider than the kernel's int32, so an overflow there would show */
    for (int c = 0; c < dq; c++)
        acc += (int64_t)a[c] * b[c];
    return (int32_t)acc;
}
