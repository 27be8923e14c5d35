/* linear_sp_dev.cu - the device code of attention.linear@cuda.sp (linear_sp.c) beyond the
 * single-GPU passes it reuses (linear_mma.cu): one shard's state, the sum of the gathered
 * states of the shards before it, and the outputs corrected by that prefix.
 *
 * Deliberately plain (no tensor cores): the state is N_shard·d² multiply-adds, a small part of
 * the shard's work, and being simple it can be trusted before it is measured. float32
 * throughout; the inputs are f16/bf16 values (exact in float32). */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/attention/linear_sp.h"

template <typename T> __device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

/* φ of attention.linear: elu(x)+1 (feature 1) or max(x, 0) (feature 2) */
__device__ __forceinline__ float phi(int feature, float x)
{
    return feature == 1 ? (x > 0.f ? x + 1.f : __expf(x)) : fmaxf(x, 0.f);
}

/* state[g] = [ S (d×d) | z (d) ] of kv head g = (b, kvh) over the shard's n rows:
 * S[i][j] = Σ_n φ(k[n][i]) v[n][j], z[i] = Σ_n φ(k[n][i]); and zc[g][n][i], the running z
 * (inclusive), which the causal outputs need. Block (g, i), thread j < d. */
template <typename T>
__global__ void shard_state(const T *k, const T *v, int n, int d, int feature, float *state, float *zc)
{
    const long g = blockIdx.x;
    const int i = blockIdx.y, j = threadIdx.x;
    const T *kg = k + g * (long)n * d, *vg = v + g * (long)n * d;
    float s = 0.f, z = 0.f;
    for (int t = 0; t < n; t++) {
        float pk = phi(feature, to_f32(kg[(long)t * d + i]));
        if (j < d)
            s += pk * to_f32(vg[(long)t * d + j]);
        z += pk;
        if (j == 0)
            zc[(g * n + t) * d + i] = z;
    }
    float *st = state + g * (long)(d + 1) * d;
    if (j < d)
        st[(long)i * d + j] = s;
    if (j == 0)
        st[(long)d * d + i] = z;
}

/* prefix[e] = Σ over the shards q in [0, upto) except skip of gathered[q][e] */
__global__ void sum_states(const float *gathered, long per_rank, int upto, int skip, float *prefix)
{
    long e = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= per_rank)
        return;
    float acc = 0.f;
    for (int q = 0; q < upto; q++)
        if (q != skip)
            acc += gathered[(long)q * per_rank + e];
    prefix[e] = acc;
}

/* One query row per block, thread c < d: the shard's own output o_local (normalised by the
 * shard's denominator, which is recomputed here) and the other shards' prefix state P | Pz:
 * o = (o_local·den_local + φ(q)·P) / (den_local + φ(q)·Pz), 0 where the denominator is 0 (as the
 * reference). Rows: [B][H][n]; kv head of h is h / (H / Hkv). */
template <typename T>
__global__ void correct_rows(const T *q, const T *o_local, const float *prefix, const float *zc, const float *state,
                             int heads, int kv_heads, int n, int d, int feature, int causal, float *o)
{
    extern __shared__ float pq[];
    const long row = blockIdx.x;
    const int t = (int)(row % n);
    const long bh = row / n;
    const int h = (int)(bh % heads);
    const long b = bh / heads;
    const long g = b * kv_heads + h / (heads / kv_heads);
    const int c = threadIdx.x;
    for (int p = c; p < d; p += blockDim.x)
        pq[p] = phi(feature, to_f32(q[row * d + p]));
    __syncthreads();
    const float *P = prefix + g * (long)(d + 1) * d, *Pz = P + (long)d * d;
    const float *zl = causal ? zc + (g * n + t) * d : state + g * (long)(d + 1) * d + (long)d * d;
    float den_local = 0.f, den_prev = 0.f, num = 0.f;
    for (int p = 0; p < d; p++) {
        den_local += pq[p] * zl[p];
        den_prev += pq[p] * Pz[p];
        if (c < d)
            num += pq[p] * P[(long)p * d + c];
    }
    if (c >= d)
        return;
    float den = den_local + den_prev;
    num += to_f32(o_local[row * d + c]) * den_local;
    o[row * d + c] = den > 0.f ? num / den : 0.f;
}

extern "C" int linear_sp_state_launch(const void *k, const void *v, int groups, int n, int d, int feature,
                                      int bf16, float *state, float *zc, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (groups == 0)
        return 0;
    if (n == 0)
        return (int)cudaMemsetAsync(state, 0, (size_t)groups * (d + 1) * d * sizeof(float), st);
    dim3 grid(groups, d), block(d);
    if (bf16)
        shard_state<__nv_bfloat16><<<grid, block, 0, st>>>((const __nv_bfloat16 *)k, (const __nv_bfloat16 *)v, n, d,
                                                           feature, state, zc);
    else
        shard_state<__half><<<grid, block, 0, st>>>((const __half *)k, (const __half *)v, n, d, feature, state, zc);
    return (int)cudaGetLastError();
}

extern "C" int linear_sp_prefix_launch(const float *gathered, long per_rank, int upto, int skip, float *prefix,
                                       void *stream)
{
    if (per_rank == 0)
        return 0;
    sum_states<<<(unsigned)((per_rank + 255) / 256), 256, 0, (cudaStream_t)stream>>>(gathered, per_rank, upto, skip,
                                                                                      prefix);
    return (int)cudaGetLastError();
}

extern "C" int linear_sp_correct_launch(const void *q, const void *o_local, const float *prefix, const float *zc,
                                        const float *state, int batch, int heads, int kv_heads, int n, int d,
                                        int feature, int causal, int bf16, float *o, void *stream)
{
    long rows = (long)batch * heads * n;
    if (rows == 0)
        return 0;
    cudaStream_t st = (cudaStream_t)stream;
    size_t shared = (size_t)d * sizeof(float);
    if (bf16)
        correct_rows<__nv_bfloat16><<<(unsigned)rows, d, shared, st>>>(
            (const __nv_bfloat16 *)q, (const __nv_bfloat16 *)o_local, prefix, zc, state, heads, kv_heads, n, d,
            feature, causal, o);
    else
        correct_rows<__half><<<(unsigned)rows, d, shared, st>>>((const __half *)q, (const __half *)o_local, prefix,
                                                               zc, state, heads, kv_heads, n, d, feature, causal, o);
    return (int)cudaGetLastError();
}
