/* ivit_dev.cu - the device code of quant.ivit_*@cuda (I-ViT's integer-only Shiftmax, ShiftGELU,
 * I-LayerNorm on int8 rows) and @cuda.f32 (softmax, GELU, LayerNorm in float32).
 *
 * The integer kernels are ivit.c's scalar emulation, operation for operation: the same shifts,
 * the same int32/int64 products, the same rounding constants, so every output code equals the
 * CPU's. Two integer divisions have no fast GPU instruction:
 *   ShiftExp's −I_p / I_0 (|I_p| < 400 here: I_p comes from an int8 difference times ≈ 1.7):
 *     float multiply by 1/I_0, truncate, then correct the remainder by one step either way — the
 *     float quotient of such small integers is within one of the true one;
 *   ShiftGELU's ⌊e1·2^15 / (e1 + e2)⌋ (numerator < 2^46, quotient ≤ 2^15): float division gives
 *     the quotient within 2^15·3·2^-24 < 1 of the truth, then the same one-step correction with
 *     int64 products.
 * The once-per-row divisions (Shiftmax's 2^31 / Σ, LayerNorm's mean, variance and 2^24 / σ) are
 * plain int64 divisions.
 *
 * Shiftmax and I-LayerNorm: one warp per row (rows of ViT are 197 scores or 768 channels); each
 * lane keeps its strided elements in registers (IV_CACHE of them; longer rows are re-read) and
 * the row's max / sums come from warp reductions (integer sums: order-independent, exact).
 * ShiftGELU is element-wise, 16 codes per thread per step. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/quant/quant_cuda.h"
#include "kernels/quant/ivit.h"
}

namespace {

constexpr int IV_CACHE = 32;       /* elements per lane kept in registers (rows up to 1024) */
constexpr int IV_WARPS = 8;        /* rows (warps) per block */
constexpr unsigned FULL = 0xFFFFFFFFu;

/* ShiftExp (ivit.c shift_exp): ≈ 2^15·I_0·e^(S·d), d ≤ 0. */
__device__ __forceinline__ int32_t shift_exp(int32_t d, int32_t i0, float rcp_i0)
{
    const int32_t p = d + (d >> 1) - (d >> 4);
    const int32_t np = -p; /* ≥ 0 */
    int32_t q = __float2int_rz(__int2float_rn(np) * rcp_i0);
    int32_t r = np - q * i0;
    if (r < 0) {
        q--;
        r += i0;
    } else if (r >= i0) {
        q++;
        r -= i0;
    }
    if (q > 30)
        return 0;
    return ((i0 - (r >> 1)) << 15) >> q;
}

__device__ __forceinline__ int8_t shiftgelu_one(int32_t v, int32_t i0, float rcp_i0)
{
    const int32_t p = v + (v >> 1) + (v >> 3) + (v >> 4);
    const int32_t m = p > 0 ? p : 0;
    const int64_t e1 = shift_exp(p - m, i0, rcp_i0), e2 = shift_exp(-m, i0, rcp_i0);
    const int64_t num = e1 << 15, den = e1 + e2; /* den ≥ I_0·2^15 > 0 */
    int64_t q = (int64_t)__float2int_rz(__fdiv_rn((float)num, (float)den));
    const int64_t r = num - q * den;
    if (r < 0)
        q--;
    else if (r >= den)
        q++;
    const int32_t sig = (int32_t)q;
    return (int8_t)((v * sig + (1 << 14)) >> 15);
}

__device__ __forceinline__ int64_t warp_sum64(int64_t v)
{
    for (int off = 16; off >= 1; off >>= 1)
        v += __shfl_xor_sync(FULL, v, off);
    return v;
}

__global__ void __launch_bounds__(IV_WARPS * 32) shiftmax_rows(const int8_t *__restrict__ x, int8_t *__restrict__ y,
                                                               int m, int n, int32_t i0, float rcp_i0)
{
    const int lane = threadIdx.x & 31;
    const long row = (long)blockIdx.x * IV_WARPS + (threadIdx.x >> 5);
    if (row >= m)
        return; /* whole warps: the row is the warp's */
    const int8_t *xr = x + row * n;
    int8_t *yr = y + row * n;
    int32_t v[IV_CACHE];
    int32_t mx = -128;
#pragma unroll
    for (int c = 0; c < IV_CACHE; c++) {
        const int j = lane + 32 * c;
        v[c] = j < n ? xr[j] : -128;
        mx = max(mx, v[c]);
    }
    for (int j = lane + 32 * IV_CACHE; j < n; j += 32)
        mx = max(mx, (int32_t)xr[j]);
    mx = __reduce_max_sync(FULL, mx);
    int64_t sum = 0;
#pragma unroll
    for (int c = 0; c < IV_CACHE; c++) {
        if (lane + 32 * c < n) {
            v[c] = shift_exp(v[c] - mx, i0, rcp_i0);
            sum += v[c];
        }
    }
    for (int j = lane + 32 * IV_CACHE; j < n; j += 32)
        sum += shift_exp(xr[j] - mx, i0, rcp_i0);
    sum = warp_sum64(sum);
    const int64_t factor = ((int64_t)1 << 31) / sum;
#pragma unroll
    for (int c = 0; c < IV_CACHE; c++) {
        const int j = lane + 32 * c;
        if (j < n)
            yr[j] = (int8_t)(((int64_t)v[c] * factor * 127 + ((int64_t)1 << 30)) >> 31);
    }
    for (int j = lane + 32 * IV_CACHE; j < n; j += 32) {
        const int64_t e = shift_exp(xr[j] - mx, i0, rcp_i0);
        yr[j] = (int8_t)((e * factor * 127 + ((int64_t)1 << 30)) >> 31);
    }
}

__global__ void shiftgelu_elems(const int8_t *__restrict__ x, int8_t *__restrict__ y, size_t total, int32_t i0,
                                float rcp_i0)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x, n16 = total / 16;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n16; i += stride) {
        uint4 in = reinterpret_cast<const uint4 *>(x)[i], out;
        const int8_t *a = reinterpret_cast<const int8_t *>(&in);
        int8_t *b = reinterpret_cast<int8_t *>(&out);
#pragma unroll
        for (int e = 0; e < 16; e++)
            b[e] = shiftgelu_one(a[e], i0, rcp_i0);
        reinterpret_cast<uint4 *>(y)[i] = out;
    }
    for (size_t i = n16 * 16 + (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride)
        y[i] = shiftgelu_one(x[i], i0, rcp_i0);
}

/* ⌊√v⌋, Newton's iteration from above (ivit.c isqrt64). */
__device__ int64_t isqrt64(int64_t v)
{
    if (v < 2)
        return v;
    const int bits = 64 - __clzll((long long)v);
    int64_t x = (int64_t)1 << ((bits + 1) / 2);
    for (;;) {
        const int64_t y = (x + v / x) >> 1;
        if (y >= x)
            return x;
        x = y;
    }
}

__global__ void __launch_bounds__(IV_WARPS * 32) layernorm_rows(const int8_t *__restrict__ x, int8_t *__restrict__ y,
                                                                int m, int n)
{
    const int lane = threadIdx.x & 31;
    const long row = (long)blockIdx.x * IV_WARPS + (threadIdx.x >> 5);
    if (row >= m)
        return;
    const int8_t *xr = x + row * n;
    int8_t *yr = y + row * n;
    int32_t v[IV_CACHE];
    int32_t sum = 0;
#pragma unroll
    for (int c = 0; c < IV_CACHE; c++) {
        const int j = lane + 32 * c;
        v[c] = j < n ? xr[j] : 0;
        sum += v[c];
    }
    for (int j = lane + 32 * IV_CACHE; j < n; j += 32)
        sum += xr[j];
    sum = __reduce_add_sync(FULL, sum);
    const int32_t mu = sum >= 0 ? (sum + n / 2) / n : -((-sum + n / 2) / n);
    int32_t sq = 0;
#pragma unroll
    for (int c = 0; c < IV_CACHE; c++)
        if (lane + 32 * c < n)
            sq += (v[c] - mu) * (v[c] - mu);
    for (int j = lane + 32 * IV_CACHE; j < n; j += 32)
        sq += (xr[j] - mu) * (xr[j] - mu);
    sq = __reduce_add_sync(FULL, sq);
    const int64_t var16 = (((int64_t)sq << 16) + n / 2) / n;
    const int64_t sd8 = isqrt64(var16);
    const int32_t factor = sd8 > 0 ? (int32_t)(((int64_t)1 << 24) / sd8) : 0;
#pragma unroll
    for (int c = 0; c < IV_CACHE; c++) {
        const int j = lane + 32 * c;
        if (j < n) {
            const int32_t o = ((v[c] - mu) * factor + (1 << 11)) >> 12;
            yr[j] = (int8_t)(o > 127 ? 127 : o < -127 ? -127 : o);
        }
    }
    for (int j = lane + 32 * IV_CACHE; j < n; j += 32) {
        const int32_t o = ((xr[j] - mu) * factor + (1 << 11)) >> 12;
        yr[j] = (int8_t)(o > 127 ? 127 : o < -127 ? -127 : o);
    }
}

/* ---- float32 counterparts: one warp per row (softmax, LayerNorm), element-wise GELU --------- */

__device__ __forceinline__ float warp_sumf(float v)
{
    for (int off = 16; off >= 1; off >>= 1)
        v += __shfl_xor_sync(FULL, v, off);
    return v;
}

__global__ void __launch_bounds__(IV_WARPS * 32) softmax_rows_f32(const float *__restrict__ x, float *__restrict__ y,
                                                                  int m, int n)
{
    const int lane = threadIdx.x & 31;
    const long row = (long)blockIdx.x * IV_WARPS + (threadIdx.x >> 5);
    if (row >= m)
        return;
    const float *xr = x + row * n;
    float *yr = y + row * n;
    float mx = -INFINITY, sum = 0.0f;
    for (int j = lane; j < n; j += 32)
        mx = fmaxf(mx, xr[j]);
    for (int off = 16; off >= 1; off >>= 1)
        mx = fmaxf(mx, __shfl_xor_sync(FULL, mx, off));
    for (int j = lane; j < n; j += 32)
        sum += expf(xr[j] - mx);
    const float inv = 1.0f / warp_sumf(sum);
    for (int j = lane; j < n; j += 32)
        yr[j] = expf(xr[j] - mx) * inv;
}

__global__ void __launch_bounds__(IV_WARPS * 32) layernorm_rows_f32(const float *__restrict__ x, float *__restrict__ y,
                                                                    int m, int n)
{
    const int lane = threadIdx.x & 31;
    const long row = (long)blockIdx.x * IV_WARPS + (threadIdx.x >> 5);
    if (row >= m)
        return;
    const float *xr = x + row * n;
    float *yr = y + row * n;
    float s = 0.0f, q = 0.0f;
    for (int j = lane; j < n; j += 32)
        s += xr[j];
    const float mean = warp_sumf(s) / (float)n;
    for (int j = lane; j < n; j += 32)
        q += (xr[j] - mean) * (xr[j] - mean);
    const float inv = 1.0f / sqrtf(warp_sumf(q) / (float)n + (float)IVIT_LN_EPS);
    for (int j = lane; j < n; j += 32)
        yr[j] = (xr[j] - mean) * inv;
}

__global__ void gelu_elems_f32(const float *__restrict__ x, float *__restrict__ y, size_t total)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride)
        y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678f));
}

unsigned grid_for(size_t work, int block)
{
    size_t b = (work + block - 1) / block;
    return (unsigned)(b < 1 ? 1 : b > 16384 ? 16384 : b);
}

} // namespace

extern "C" int quant_ivit_launch(int op, const int8_t *x, int8_t *y, int m, int n, int32_t i0, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const float rcp = 1.0f / (float)(i0 > 0 ? i0 : 1);
    const unsigned rows_grid = (unsigned)(((long)m + IV_WARPS - 1) / IV_WARPS);
    if (op == 0)
        shiftmax_rows<<<rows_grid, IV_WARPS * 32, 0, st>>>(x, y, m, n, i0, rcp);
    else if (op == 1)
        shiftgelu_elems<<<grid_for((size_t)m * n / 16 + 1, 256), 256, 0, st>>>(x, y, (size_t)m * n, i0, rcp);
    else
        layernorm_rows<<<rows_grid, IV_WARPS * 32, 0, st>>>(x, y, m, n);
    return cudaGetLastError();
}

extern "C" int quant_ivit_f32_launch(int op, const float *x, float *y, int m, int n, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const unsigned rows_grid = (unsigned)(((long)m + IV_WARPS - 1) / IV_WARPS);
    if (op == 0)
        softmax_rows_f32<<<rows_grid, IV_WARPS * 32, 0, st>>>(x, y, m, n);
    else if (op == 1)
        gelu_elems_f32<<<grid_for((size_t)m * n, 256), 256, 0, st>>>(x, y, (size_t)m * n);
    else
        layernorm_rows_f32<<<rows_grid, IV_WARPS * 32, 0, st>>>(x, y, m, n);
    return cudaGetLastError();
}
