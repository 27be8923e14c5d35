/* int8_common.c - the scalar definition of attention.int8's quantization (see int8.h), which the
 * kernel must reproduce bit for bit and which a CUDA implementation can share. */
#include "kernels/attention/int8.h"
#include "kernels/attention/attention.h"

#include <math.h>
#include <stdlib.h>

void int8_channel_mean(const float *k, int n, int d, float *mean)
{
    for (int c = 0; c < d; c++) {
        double sum = 0;
        for (int t0 = 0; t0 < n; t0 += INT8_MEAN_CHUNK) {
            double part = 0;
            for (int t = t0; t < n && t < t0 + INT8_MEAN_CHUNK; t++)
                part += k[(size_t)t * d + c];
            sum += part;
        }
        mean[c] = (float)(sum / n);
    }
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
            float r = nearbyintf(v); /* round half to even in the default rounding mode */
            codes[(size_t)t * dq + c] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
        }
        for (int c = d; c < dq; c++)
            codes[(size_t)t * dq + c] = 0;
    }
    return absmax / 127.0f;
}

void int8_quantize_channels(const float *v, int n, int d, int8_t *codes, float *scale)
{
    for (int c = 0; c < d; c++) {
        float absmax = 0;
        for (int t = 0; t < n; t++)
            absmax = fabsf(v[(size_t)t * d + c]) > absmax ? fabsf(v[(size_t)t * d + c]) : absmax;
        const float inv = absmax > 0 ? 127.0f / absmax : 0.0f;
        for (int t = 0; t < n; t++) {
            float r = nearbyintf(v[(size_t)t * d + c] * inv);
            codes[(size_t)t * d + c] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
        }
        scale[c] = absmax / 127.0f;
    }
}

int32_t int8_dot(const int8_t *a, const int8_t *b, int dq)
{
    int64_t acc = 0; /* wider than the kernel's int32, so an overflow there would show */
    for (int c = 0; c < dq; c++)
        acc += (int64_t)a[c] * b[c];
    return (int32_t)acc;
}
