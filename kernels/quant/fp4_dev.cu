/* fp4_dev.cu - the device code of quant.fp4_quantize@cuda and quant.fp4_gemm@cuda.mma.
 *
 * Quantize: the float32 operations of fp4.c, with the rounding spelled out (__fmul_rn,
 * __fdiv_rn: nothing may be contracted into an FMA), so codes, scales and dequantized values are
 * bit for bit the scalar definition's. NVFP4 first reduces the tensor's finite abs-max (one
 * atomicMax per block on the float's bits: non-negative floats order like their unsigned bits),
 * then one thread quantizes one block of a row (16 or 32 elements; blocks start at even
 * columns, so a thread writes whole bytes of codes).
 *
 * GEMM (emulated: sm_90 has no FP4 tensor cores): a 64×64 tile of Y per CTA of 4 warps (2×2,
 * each 32×32 = 2×4 mma tiles of 16×8). Each step of 32 k decodes A's and W's codes to f16 in
 * shared memory (the E2M1 values themselves, exact in f16) with the scale of each 16-k half,
 * then per half: an m16n8k16 mma of the codes into a fresh partial (sums of 16 products of
 * multiples of 0.5 up to 6: exact in float32), added into the accumulator times
 * scale_A[row]·scale_W[col] (exact products of powers of two or E4M3 values). Y = acc·s_tA·s_tW.
 * So the only rounding is float32 accumulation across blocks, as on the CPU. */
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/quant/quant_cuda.h"
}
#include "kernels/gpu/ptx.cuh"

namespace {

/* ---- the formats (fp4.c, fp8.c) ------------------------------------------------------------ */

__device__ __forceinline__ unsigned e2m1_encode(float v) /* v finite */
{
    const float a = fabsf(v);
    unsigned code = (a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) + (a >= 3.5f) + (a > 5.0f);
    return code | ((__float_as_uint(v) >> 31) << 3);
}

/* the value of a code from its fields (no table: a runtime-indexed array would live in local
 * memory): 2^(e-1)·(1 + m/2) for e > 0, m/2 for e = 0 */
__device__ __forceinline__ float e2m1_value(unsigned code)
{
    const unsigned e = (code >> 1) & 3, mb = code & 1;
    const float m = e ? (1.0f + 0.5f * (float)mb) * (float)(1u << (e - 1)) : 0.5f * (float)mb;
    return (code & 8) ? -m : m;
}

/* fp8_encode (fp8.c) for e4m3: round to nearest even on the float32 bits, saturating */
__device__ __forceinline__ uint8_t e4m3_encode(float x)
{
    constexpr int mbits = 3, bias = 7;
    constexpr uint32_t max_code = 0x7E;
    const uint32_t bits = __float_as_uint(x);
    const uint32_t sign = (bits >> 24) & 0x80;
    const uint32_t biased = (bits >> 23) & 0xFF, frac = bits & 0x7FFFFF;
    if (biased == 0xFF && frac != 0)
        return (uint8_t)(0x7F | sign);
    if (fabsf(x) > 448.0f)
        return (uint8_t)(max_code | sign);
    if (biased == 0 && frac == 0)
        return (uint8_t)sign;
    const int e = biased ? (int)biased - 127 : -126;
    const uint32_t sig = biased ? frac | 0x800000u : frac;
    const int emin = 1 - bias;
    const int qe = (e > emin ? e : emin) - mbits;
    const int shift = qe - (e - 23);
    uint32_t n;
    if (shift >= 32) {
        n = 0;
    } else {
        n = sig >> shift;
        const uint32_t rest = sig & ((1u << shift) - 1), half = 1u << (shift - 1);
        n += (uint32_t)(rest > half) | ((uint32_t)(rest == half) & n & 1u);
    }
    uint32_t code = ((uint32_t)((e > emin ? e : emin) - emin) << mbits) + n;
    if (code > max_code)
        code = max_code;
    return (uint8_t)(code | sign);
}

__device__ __forceinline__ float e4m3_value(uint8_t code)
{
    const int efield = (code >> 3) & 15, mfield = code & 7;
    const float sign = (code & 0x80) ? -1.0f : 1.0f;
    if (efield == 15 && mfield == 7)
        return __uint_as_float(0x7FC00000u);
    if (efield == 0)
        return sign * (float)mfield * 0x1p-9f;
    return __uint_as_float(((uint32_t)(code & 0x80) << 24) | ((uint32_t)(efield - 7 + 127) << 23) |
                           ((uint32_t)mfield << 20));
}

__device__ __forceinline__ float e8m0_value(uint8_t code)
{
    if (code == 0xFF)
        return __uint_as_float(0x7FC00000u);
    return code == 0 ? __uint_as_float(0x00400000u) : __uint_as_float((uint32_t)code << 23);
}

template <bool NV> __device__ __forceinline__ float scale_value(uint8_t code)
{
    return NV ? e4m3_value(code) : e8m0_value(code);
}

/* fp4_mx_scale_code: floor(log2 amax) - 2, clamped at -127, biased by 127 */
__device__ __forceinline__ uint8_t mx_scale_code(float amax) /* finite, >= 0 */
{
    const uint32_t bits = __float_as_uint(amax) & 0x7FFFFFFFu;
    if (bits == 0)
        return 0;
    const uint32_t biased = bits >> 23;
    const int e = biased ? (int)biased - 127 : (31 - __clz((int)bits)) - 149;
    int shared = e - 2;
    if (shared < -127)
        shared = -127;
    return (uint8_t)(shared + 127);
}

__device__ __forceinline__ float nv_tensor_scale(float amax)
{
    const float s = __fdiv_rn(amax, 2688.0f); /* 6 · 448 */
    return isfinite(s) && s > 0.0f ? s : 1.0f;
}

/* ---- quantize -------------------------------------------------------------------------------- */

__global__ void finite_absmax_kernel(const float *x, size_t n, unsigned *out)
{
    float m = 0.0f;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float a = fabsf(x[i]);
        if (a > m && a <= 3.4028235e38f)
            m = a;
    }
    for (int off = 16; off > 0; off >>= 1)
        m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
    __shared__ float warp_max[32];
    if ((threadIdx.x & 31) == 0)
        warp_max[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); w++)
            m = fmaxf(m, warp_max[w]);
        atomicMax(out, __float_as_uint(m));
    }
}

template <bool NV>
__global__ void fp4_quantize_kernel(const float *x, int m, int k, int nb, const unsigned *amax_bits, uint8_t *codes,
                                    uint8_t *scales, float *tensor_scale, float *deq)
{
    constexpr int B = NV ? 16 : 32;
    const long id = blockIdx.x * (long)blockDim.x + threadIdx.x;
    const float s_t = NV ? nv_tensor_scale(__uint_as_float(*amax_bits)) : 1.0f;
    if (id == 0)
        *tensor_scale = s_t;
    if (id >= (long)m * nb)
        return;
    const int i = (int)(id / nb), bi = (int)(id % nb);
    const int j0 = bi * B, n = j0 + B <= k ? B : k - j0;
    const float *xb = x + (size_t)i * k + j0;
    float *db = deq + (size_t)i * k + j0;
    uint8_t *row = codes + (size_t)i * ((k + 1) / 2);
    float amax = 0.0f;
    bool finite = true;
    for (int j = 0; j < n; j++) {
        const float v = xb[j];
        finite &= isfinite(v) != 0;
        amax = fmaxf(amax, fabsf(v));
    }
    uint8_t sc;
    if (!finite)
        sc = NV ? 0x7F : 0xFF;
    else
        sc = NV ? e4m3_encode(__fdiv_rn(__fdiv_rn(amax, 6.0f), s_t)) : mx_scale_code(amax);
    scales[(size_t)i * nb + bi] = sc;
    const float sv = scale_value<NV>(sc);
    const bool encode = finite && sv != 0.0f;
    const float inv_x = NV ? 0.0f : __uint_as_float((uint32_t)(254 - sc) << 23); /* 2^(127 - sc) */
    const float denom = NV ? __fmul_rn(sv, s_t) : 0.0f;
    for (int j = 0; j < n; j += 2) {
        unsigned byte = 0;
        for (int h = 0; h < 2 && j + h < n; h++) {
            const float v = xb[j + h];
            const unsigned code = encode ? e2m1_encode(NV ? __fdiv_rn(v, denom) : __fmul_rn(v, inv_x)) : 0u;
            byte |= code << (4 * h);
            const float val = __fmul_rn(e2m1_value(code), sv);
            db[j + h] = NV ? __fmul_rn(val, s_t) : val;
        }
        row[(j0 + j) / 2] = (uint8_t)byte;
    }
}

/* ---- GEMM ------------------------------------------------------------------------------------ */

constexpr int TILE = 64, TK = 32, LDS = TK + 8; /* LDS: 80-byte rows, conflict-free fragments */

/* f16 bits of the E2M1 value of a code */
__device__ __forceinline__ uint16_t e2m1_f16(unsigned code)
{
    /* E2M1 exponent e (bias 1) is f16 exponent e + 14 (bias 15); its mantissa bit the top one of
     * f16's; e = 0 is 0 or 0.5 (0x3800) */
    const unsigned e = (code >> 1) & 3, mb = code & 1;
    const unsigned mag = e ? ((e + 14) << 10) | (mb << 9) : (mb ? 0x3800u : 0u);
    return (uint16_t)(mag | ((code & 8u) << 12));
}

/* 16 codes (8 bytes) of row r, k in [k0, k0+16), as f16 into dst; zero past the row or the matrix */
__device__ __forceinline__ void stage16(const uint8_t *codes, int rows, int rb, int r, int k0, uint16_t *dst)
{
    const bool row_ok = r < rows;
    const uint8_t *p = codes + (size_t)(row_ok ? r : 0) * rb;
#pragma unroll
    for (int q = 0; q < 8; q++) {
        const int b = k0 / 2 + q;
        const unsigned byte = row_ok && b < rb ? p[b] : 0u;
        dst[2 * q] = e2m1_f16(byte & 15);
        dst[2 * q + 1] = e2m1_f16(byte >> 4);
    }
}

template <bool NV>
__device__ __forceinline__ float stage_scale(const uint8_t *scales, int rows, int nb, int r, int k0, int k)
{
    constexpr int B = NV ? 16 : 32;
    if (r >= rows || k0 >= k)
        return 0.0f;
    return scale_value<NV>(scales[(size_t)r * nb + k0 / B]);
}

template <bool NV>
__global__ void __launch_bounds__(128) fp4_gemm_kernel(const uint8_t *a, const uint8_t *as, const uint8_t *w,
                                                       const uint8_t *ws, float out_scale, float *y, int m, int n, int k)
{
    __shared__ __align__(16) uint16_t sa[TILE][LDS], sw[TILE][LDS];
    __shared__ float sca[TILE][2], scw[TILE][2];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t4 = lane & 3;
    const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
    const int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
    const int rb = (k + 1) / 2, nb = (k + (NV ? 16 : 32) - 1) / (NV ? 16 : 32);
    /* staging: thread t decodes 16 k of row t/2 of A and of W, half t%2 of the 32 */
    const int sr = tid >> 1, sh = tid & 1;
    float acc[2][4][4] = {};
    for (int k0 = 0; k0 < k; k0 += TK) {
        stage16(a, m, rb, row0 + sr, k0 + 16 * sh, &sa[sr][16 * sh]);
        stage16(w, n, rb, col0 + sr, k0 + 16 * sh, &sw[sr][16 * sh]);
        sca[sr][sh] = stage_scale<NV>(as, m, nb, row0 + sr, k0 + 16 * sh, k);
        scw[sr][sh] = stage_scale<NV>(ws, n, nb, col0 + sr, k0 + 16 * sh, k);
        __syncthreads();
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int kk = 16 * h;
            uint32_t af[2][4];
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                const int r = wm + 16 * mi + g;
                af[mi][0] = *reinterpret_cast<const uint32_t *>(&sa[r][kk + 2 * t4]);
                af[mi][1] = *reinterpret_cast<const uint32_t *>(&sa[r + 8][kk + 2 * t4]);
                af[mi][2] = *reinterpret_cast<const uint32_t *>(&sa[r][kk + 2 * t4 + 8]);
                af[mi][3] = *reinterpret_cast<const uint32_t *>(&sa[r + 8][kk + 2 * t4 + 8]);
            }
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
                const int cn = wn + 8 * ni + g;
                const uint32_t b0 = *reinterpret_cast<const uint32_t *>(&sw[cn][kk + 2 * t4]);
                const uint32_t b1 = *reinterpret_cast<const uint32_t *>(&sw[cn][kk + 2 * t4 + 8]);
                const int c = wn + 8 * ni + 2 * t4;
                const float w0 = scw[c][h], w1 = scw[c + 1][h];
#pragma unroll
                for (int mi = 0; mi < 2; mi++) {
                    float p[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
                    kb_ptx::mma_16816<false>(p, af[mi], b0, b1);
                    const int r = wm + 16 * mi + g;
                    const float a0 = sca[r][h], a1 = sca[r + 8][h];
                    acc[mi][ni][0] = fmaf(p[0], a0 * w0, acc[mi][ni][0]);
                    acc[mi][ni][1] = fmaf(p[1], a0 * w1, acc[mi][ni][1]);
                    acc[mi][ni][2] = fmaf(p[2], a1 * w0, acc[mi][ni][2]);
                    acc[mi][ni][3] = fmaf(p[3], a1 * w1, acc[mi][ni][3]);
                }
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int r = row0 + wm + 16 * mi + g + (e >= 2 ? 8 : 0);
                const int c = col0 + wn + 8 * ni + 2 * t4 + (e & 1);
                if (r < m && c < n)
                    y[(size_t)r * n + c] = acc[mi][ni][e] * out_scale;
            }
}

} // namespace

extern "C" int fp4_quantize_launch(const float *x, int m, int k, int nvfp4, uint8_t *codes, uint8_t *scales,
                                   float *tensor_scale, float *deq, unsigned *scratch, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const int nb = nvfp4 ? (k + 15) / 16 : (k + 31) / 32;
    const long blocks = (long)m * nb;
    const int threads = 256;
    const unsigned grid = (unsigned)((blocks + threads - 1) / threads);
    if (nvfp4) {
        cudaError_t e = cudaMemsetAsync(scratch, 0, sizeof(unsigned), st);
        if (e != cudaSuccess)
            return (int)e;
        const size_t n = (size_t)m * k;
        unsigned g = (unsigned)((n + 255) / 256);
        finite_absmax_kernel<<<g < 1024 ? g : 1024, 256, 0, st>>>(x, n, scratch);
        fp4_quantize_kernel<true><<<grid, threads, 0, st>>>(x, m, k, nb, scratch, codes, scales, tensor_scale, deq);
    } else {
        fp4_quantize_kernel<false><<<grid, threads, 0, st>>>(x, m, k, nb, scratch, codes, scales, tensor_scale, deq);
    }
    return (int)cudaGetLastError();
}

extern "C" int fp4_gemm_launch(const uint8_t *a, const uint8_t *as, const uint8_t *w, const uint8_t *ws, float out_scale,
                               float *y, int m, int n, int k, int nvfp4, void *stream)
{
    dim3 grid((unsigned)((n + TILE - 1) / TILE), (unsigned)((m + TILE - 1) / TILE));
    if (nvfp4)
        fp4_gemm_kernel<true><<<grid, 128, 0, (cudaStream_t)stream>>>(a, as, w, ws, out_scale, y, m, n, k);
    else
        fp4_gemm_kernel<false><<<grid, 128, 0, (cudaStream_t)stream>>>(a, as, w, ws, out_scale, y, m, n, k);
    return (int)cudaGetLastError();
}
