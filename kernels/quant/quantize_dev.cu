/* quantize_dev.cu - the device code of quant.quantize@cuda: symmetric quantize + dequantize of
 * an M×K float32 matrix, bit for bit the float32 operations of quant_quantize_emulate
 * (quant_common.c): scale = (float)((double)absmax / qmax), inv = 1/scale rounded to nearest
 * (__frcp_rn), v = x·inv (__fmul_rn: no FMA contraction may merge it into anything), then
 * round-to-nearest-even and clamp (i8, i4) or the OCP FP8 encoding (fp8.c's integer algorithm,
 * ported line for line), and dequantized = decode(code)·scale.
 *
 * Per channel / per group: one "team" of T threads per segment (a row, or a group of a row),
 * T a power of two from 1 to 1024 sized so each thread holds at most QZ_CACHE units of V
 * consecutive elements in registers: x is read from memory once, its abs-max reduced over the
 * team (warp shuffles, then shared memory past 32), and the codes and dequantized values written
 * from the registers. Consecutive threads of a team read consecutive units (coalesced).
 *
 * Per tensor: a grid-stride abs-max reduction (one atomicMax per block on the float's bit
 * pattern: non-negative floats order like their unsigned bits) into a word zeroed by a memset,
 * then an element-wise kernel: two passes over x, as on the CPU.
 *
 * INT4 packs element j of a row into byte j/2 (low nibble when j is even), rows padded to
 * whole bytes. A team owns the whole bytes of its segment when segments start at even columns
 * (channel, or an even group); an odd group splits bytes between two segments, so then the
 * segment kernel only writes the scales and a byte-wise kernel writes codes and values. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/quant/quant_cuda.h"
}

namespace {

constexpr int QZ_CACHE = 4;    /* units each thread keeps in registers */
constexpr int QZ_BLOCK = 256;  /* threads per block when teams are smaller */

template <int T> struct fmt;
template <> struct fmt<KB_DTYPE_I8> { static constexpr double qmax = 127; };
template <> struct fmt<KB_DTYPE_I4> { static constexpr double qmax = 7; };
template <> struct fmt<KB_DTYPE_FP8_E4M3> { static constexpr double qmax = 448; };
template <> struct fmt<KB_DTYPE_FP8_E5M2> { static constexpr double qmax = 57344; };

/* quant_scale: 1 for an all-zero (or non-finite) block and for one whose scale underflows */
template <int T> __device__ __forceinline__ float block_scale(float amax)
{
    if (!(amax > 0.0f) || !isfinite(amax))
        return 1.0f;
    float s = (float)((double)amax / fmt<T>::qmax);
    return s > 0.0f ? s : 1.0f;
}

/* fp8_encode (fp8.c): round to nearest even on the float32 bits, saturating. */
template <bool E4M3> __device__ __forceinline__ uint8_t fp8_enc(float x)
{
    constexpr int mbits = E4M3 ? 3 : 2, bias = E4M3 ? 7 : 15;
    constexpr uint32_t max_code = E4M3 ? 0x7E : 0x7B;
    constexpr float fmax = E4M3 ? 448.0f : 57344.0f;
    const uint32_t bits = __float_as_uint(x);
    const uint32_t sign = (bits >> 24) & 0x80;
    const uint32_t biased = (bits >> 23) & 0xFF, frac = bits & 0x7FFFFF;
    if (biased == 0xFF && frac != 0)
        return (uint8_t)(0x7F | sign);
    if (fabsf(x) > fmax)
        return (uint8_t)(max_code | sign);
    if (biased == 0 && frac == 0)
        return (uint8_t)sign;
    const int e = biased ? (int)biased - 127 : -126;
    const uint32_t sig = biased ? frac | 0x800000u : frac;
    constexpr int emin = 1 - bias;
    const int eq = e > emin ? e : emin;
    const int shift = (eq - mbits) - (e - 23);
    uint32_t n = 0;
    if (shift < 32) {
        n = sig >> shift;
        const uint32_t rest = sig & ((1u << shift) - 1), half = 1u << (shift - 1);
        n += (uint32_t)(rest > half) | ((uint32_t)(rest == half) & n & 1u);
    }
    uint32_t code = ((uint32_t)(eq - emin) << mbits) + n;
    if (code > max_code)
        code = max_code;
    return (uint8_t)(code | sign);
}

/* fp8_decode: exact */
template <bool E4M3> __device__ __forceinline__ float fp8_dec(uint32_t code)
{
    constexpr int mbits = E4M3 ? 3 : 2, bias = E4M3 ? 7 : 15, ebits = 7 - mbits;
    const int efield = (code >> mbits) & ((1 << ebits) - 1);
    const int mfield = code & ((1 << mbits) - 1);
    const float sign = (code & 0x80) ? -1.0f : 1.0f;
    if (efield == (1 << ebits) - 1) {
        if (!E4M3)
            return mfield == 0 ? sign * INFINITY : NAN;
        if (mfield == (1 << mbits) - 1)
            return NAN;
    }
    if (efield == 0)
        return sign * (float)mfield * (E4M3 ? 0x1p-9f : 0x1p-16f);
    return __uint_as_float(((code & 0x80u) << 24) | ((uint32_t)(efield - bias + 127) << 23) |
                           ((uint32_t)mfield << (23 - mbits)));
}

/* quant_code + quant_decode of one element. */
template <int T> __device__ __forceinline__ uint8_t quant1(float x, float inv, float sc, float &deq)
{
    const float v = __fmul_rn(x, inv);
    if constexpr (T == KB_DTYPE_FP8_E4M3 || T == KB_DTYPE_FP8_E5M2) {
        constexpr bool e4 = T == KB_DTYPE_FP8_E4M3;
        const uint8_t c = fp8_enc<e4>(v);
        deq = __fmul_rn(fp8_dec<e4>(c), sc);
        return c;
    } else {
        const float q = (float)fmt<T>::qmax;
        const float cl = v > q ? q : v < -q ? -q : v == v ? v : 0.0f;
        const int c = __float2int_rn(cl);
        deq = __fmul_rn((float)c, sc);
        return (uint8_t)(int8_t)c;
    }
}

template <int V> __device__ __forceinline__ void load_unit(const float *p, float (&v)[V])
{
    if constexpr (V == 4) {
        const float4 f = *reinterpret_cast<const float4 *>(p);
        v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
    } else {
#pragma unroll
        for (int i = 0; i < V; i++)
            v[i] = p[i];
    }
}

/* Codes and values of one unit of V elements (n of them real) at column offset `col` of a row. */
template <int T, int V>
__device__ __forceinline__ void store_unit(const float (&v)[V], int n, float inv, float sc, uint8_t *crow, float *drow,
                                           int col)
{
    float d[V];
    uint8_t c[V];
#pragma unroll
    for (int i = 0; i < V; i++) {
        c[i] = i < n ? quant1<T>(v[i], inv, sc, d[i]) : 0;
        if (i >= n)
            d[i] = 0;
    }
    if constexpr (T == KB_DTYPE_I4) {
        /* col is even: V/2 whole bytes (a missing last element leaves its nibble 0) */
#pragma unroll
        for (int i = 0; i < V; i += 2)
            crow[(col + i) / 2] = (uint8_t)((c[i] & 0x0F) | ((i + 1 < n ? c[i + 1] & 0x0F : 0) << 4));
    } else if constexpr (V == 4) {
        *reinterpret_cast<uchar4 *>(crow + col) = make_uchar4(c[0], c[1], c[2], c[3]);
    } else {
#pragma unroll
        for (int i = 0; i < V; i++)
            if (i < n)
                crow[col + i] = c[i];
    }
    if constexpr (V == 4) {
        *reinterpret_cast<float4 *>(drow + col) = make_float4(d[0], d[1], d[2], d[3]);
    } else {
#pragma unroll
        for (int i = 0; i < V; i++)
            if (i < n)
                drow[col + i] = d[i];
    }
}

/* One team of 2^team_log2 threads per segment (row i, group gi) of up to g elements. */
template <int T, int V>
__global__ void __launch_bounds__(1024) quantize_segments(const float *__restrict__ x, int m, int k, int g, int groups,
                                                          int team_log2, int scales_only, float *__restrict__ scales,
                                                          uint8_t *__restrict__ codes, size_t rb, float *__restrict__ deq)
{
    __shared__ float red[32];
    const int TS = 1 << team_log2;
    const int lt = threadIdx.x & (TS - 1), team = threadIdx.x >> team_log2;
    const long seg = (long)blockIdx.x * (blockDim.x >> team_log2) + team;
    const bool active = seg < (long)m * groups;
    const int row = active ? (int)(seg / groups) : 0, gi = active ? (int)(seg - (long)row * groups) : 0;
    const int j0 = gi * g, len = active ? min(g, k - j0) : 0, units = (len + V - 1) / V;
    const float *xs = x + (size_t)row * k + j0;

    float v[QZ_CACHE][V];
    float amax = 0.0f;
#pragma unroll
    for (int c = 0; c < QZ_CACHE; c++) {
        const int u = lt + c * TS;
        if (u < units) {
            const int n = min(V, len - u * V);
            if (n == V) {
                load_unit<V>(xs + u * V, v[c]);
            } else {
#pragma unroll
                for (int i = 0; i < V; i++)
                    v[c][i] = i < n ? xs[u * V + i] : 0.0f;
            }
#pragma unroll
            for (int i = 0; i < V; i++)
                amax = fmaxf(amax, fabsf(v[c][i]));
        }
    }
    for (int u = lt + QZ_CACHE * TS; u < units; u += TS) /* segments longer than the registers */
        for (int i = 0; i < V && u * V + i < len; i++)
            amax = fmaxf(amax, fabsf(xs[u * V + i]));
    /* the team's abs-max (max is exact: the order does not matter) */
    for (int off = (TS < 32 ? TS : 32) / 2; off >= 1; off >>= 1)
        amax = fmaxf(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, off));
    if (TS > 32) {
        if ((threadIdx.x & 31) == 0)
            red[threadIdx.x >> 5] = amax;
        __syncthreads();
        const int w0 = (team * TS) >> 5;
        amax = 0.0f;
        for (int w = 0; w < TS / 32; w++)
            amax = fmaxf(amax, red[w0 + w]);
    }
    if (!active)
        return;
    const float sc = block_scale<T>(amax);
    if (lt == 0)
        scales[seg] = sc;
    if (scales_only)
        return;
    const float inv = __frcp_rn(sc);
    uint8_t *crow = codes + (size_t)row * rb;
    float *drow = deq + (size_t)row * k;
#pragma unroll
    for (int c = 0; c < QZ_CACHE; c++) {
        const int u = lt + c * TS;
        if (u < units)
            store_unit<T, V>(v[c], min(V, len - u * V), inv, sc, crow, drow, j0 + u * V);
    }
    for (int u = lt + QZ_CACHE * TS; u < units; u += TS) {
        float w[V];
        const int n = min(V, len - u * V);
#pragma unroll
        for (int i = 0; i < V; i++)
            w[i] = i < n ? xs[u * V + i] : 0.0f;
        store_unit<T, V>(w, n, inv, sc, crow, drow, j0 + u * V);
    }
}

/* Per-tensor abs-max into *out (zeroed before). */
__global__ void absmax_tensor(const float *__restrict__ x, size_t n, unsigned *out)
{
    __shared__ float red[32];
    float m = 0.0f;
    const size_t stride = (size_t)gridDim.x * blockDim.x, n4 = n / 4;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        const float4 f = reinterpret_cast<const float4 *>(x)[i];
        m = fmaxf(m, fmaxf(fmaxf(fabsf(f.x), fabsf(f.y)), fmaxf(fabsf(f.z), fabsf(f.w))));
    }
    for (size_t i = n4 * 4 + (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        m = fmaxf(m, fabsf(x[i]));
    for (int off = 16; off >= 1; off >>= 1)
        m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
    if ((threadIdx.x & 31) == 0)
        red[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); w++)
            m = fmaxf(m, red[w]);
        atomicMax(out, __float_as_uint(m));
    }
}

/* Per tensor, 8-bit formats: element-wise, four at a time. */
template <int T>
__global__ void quantize_tensor8(const float *__restrict__ x, size_t n, const unsigned *amax, float *scales,
                                 uint8_t *__restrict__ codes, float *__restrict__ deq)
{
    const float sc = block_scale<T>(__uint_as_float(*amax)), inv = __frcp_rn(sc);
    if (blockIdx.x == 0 && threadIdx.x == 0)
        scales[0] = sc;
    const size_t stride = (size_t)gridDim.x * blockDim.x, n4 = n / 4;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        float v[4];
        load_unit<4>(x + 4 * i, v);
        store_unit<T, 4>(v, 4, inv, sc, codes + 4 * i, deq + 4 * i, 0);
    }
    for (size_t i = n4 * 4 + (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        codes[i] = quant1<T>(x[i], inv, sc, deq[i]);
}

/* INT4 byte by byte: per tensor (the scale from *amax), or per group when groups split bytes
 * (the scales already written by quantize_segments). */
__global__ void quantize_i4_bytes(const float *__restrict__ x, int m, int k, int g, int groups, const unsigned *amax,
                                  float *scales, uint8_t *__restrict__ codes, size_t rb, float *__restrict__ deq)
{
    const bool tensor = amax != nullptr;
    const float tsc = tensor ? block_scale<KB_DTYPE_I4>(__uint_as_float(*amax)) : 1.0f;
    if (tensor && blockIdx.x == 0 && threadIdx.x == 0)
        scales[0] = tsc;
    const size_t total = (size_t)m * rb, stride = (size_t)gridDim.x * blockDim.x;
    for (size_t b = (size_t)blockIdx.x * blockDim.x + threadIdx.x; b < total; b += stride) {
        const size_t row = b / rb;
        const int j = 2 * (int)(b - row * rb);
        const float *xr = x + row * k;
        float *dr = deq + row * k;
        uint8_t byte = 0;
        for (int h = 0; h < 2 && j + h < k; h++) {
            const float sc = tensor ? tsc : scales[row * groups + (j + h) / g];
            const uint8_t c = quant1<KB_DTYPE_I4>(xr[j + h], __frcp_rn(sc), sc, dr[j + h]);
            byte |= (uint8_t)((c & 0x0F) << (4 * h));
        }
        codes[b] = byte;
    }
}

unsigned grid_for(size_t work, int block)
{
    size_t b = (work + block - 1) / block;
    return (unsigned)(b < 1 ? 1 : b > 8192 ? 8192 : b); /* grid-stride past 8192 blocks */
}

template <int T, int V>
cudaError_t launch_segments(const float *x, int m, int k, int g, int groups, int scales_only, float *scales,
                            uint8_t *codes, size_t rb, float *deq, cudaStream_t st)
{
    const int units = (g + V - 1) / V;
    int team_log2 = 0;
    while ((1 << team_log2) < 1024 && (1 << team_log2) * QZ_CACHE < units)
        team_log2++;
    const int threads = (1 << team_log2) > QZ_BLOCK ? (1 << team_log2) : QZ_BLOCK;
    const long segs = (long)m * groups, per_block = threads >> team_log2;
    const long blocks = (segs + per_block - 1) / per_block;
    quantize_segments<T, V><<<(unsigned)blocks, threads, 0, st>>>(x, m, k, g, groups, team_log2, scales_only, scales,
                                                                  codes, rb, deq);
    return cudaGetLastError();
}

template <int T>
cudaError_t launch(const float *x, const struct kb_shape *s, uint8_t *codes, float *scales, float *deq,
                   unsigned *scratch, cudaStream_t st)
{
    const int m = s->m, k = s->k;
    const size_t rb = T == KB_DTYPE_I4 ? (size_t)(k + 1) / 2 : (size_t)k, n = (size_t)m * k;
    if (s->granularity == KB_GRAN_TENSOR) {
        cudaError_t e = cudaMemsetAsync(scratch, 0, sizeof *scratch, st);
        if (e != cudaSuccess)
            return e;
        absmax_tensor<<<grid_for(n / 4 + 1, 256), 256, 0, st>>>(x, n, scratch);
        if constexpr (T == KB_DTYPE_I4)
            quantize_i4_bytes<<<grid_for((size_t)m * rb, 256), 256, 0, st>>>(x, m, k, k, 1, scratch, scales, codes, rb,
                                                                             deq);
        else
            quantize_tensor8<T><<<grid_for(n / 4 + 1, 256), 256, 0, st>>>(x, n, scratch, scales, codes, deq);
        return cudaGetLastError();
    }
    const int g = s->granularity == KB_GRAN_GROUP && s->group < k ? s->group : k;
    const int groups = (k + g - 1) / g;
    const bool vec4 = k % 4 == 0 && g % 4 == 0;
    if constexpr (T == KB_DTYPE_I4) {
        if (g % 2 == 0 || groups == 1)
            return vec4 ? launch_segments<T, 4>(x, m, k, g, groups, 0, scales, codes, rb, deq, st)
                        : launch_segments<T, 2>(x, m, k, g, groups, 0, scales, codes, rb, deq, st);
        /* odd groups share bytes: scales first, then the bytes */
        cudaError_t e = launch_segments<T, 2>(x, m, k, g, groups, 1, scales, codes, rb, deq, st);
        if (e != cudaSuccess)
            return e;
        quantize_i4_bytes<<<grid_for((size_t)m * rb, 256), 256, 0, st>>>(x, m, k, g, groups, nullptr, scales, codes, rb,
                                                                         deq);
        return cudaGetLastError();
    } else {
        return vec4 ? launch_segments<T, 4>(x, m, k, g, groups, 0, scales, codes, rb, deq, st)
                    : launch_segments<T, 1>(x, m, k, g, groups, 0, scales, codes, rb, deq, st);
    }
}

} // namespace

extern "C" int quant_quantize_launch(const float *x, const struct kb_shape *s, enum kb_dtype t, uint8_t *codes,
                                     float *scales, float *deq, unsigned *scratch, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    switch (t) {
    case KB_DTYPE_I8: return launch<KB_DTYPE_I8>(x, s, codes, scales, deq, scratch, st);
    case KB_DTYPE_I4: return launch<KB_DTYPE_I4>(x, s, codes, scales, deq, scratch, st);
    case KB_DTYPE_FP8_E4M3: return launch<KB_DTYPE_FP8_E4M3>(x, s, codes, scales, deq, scratch, st);
    case KB_DTYPE_FP8_E5M2: return launch<KB_DTYPE_FP8_E5M2>(x, s, codes, scales, deq, scratch, st);
    default: return cudaErrorInvalidValue;
    }
}
