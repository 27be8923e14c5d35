/* delta_dev.cu - the device code of attention.delta@cuda.chunked and @cuda.recurrent (the
 * algorithms are described in delta_cuda.h; definition in delta_ops.h). Plain float32 FMAs on
 * CUDA cores with the chunk's operands in shared memory: written to be right first, then fast. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/delta_cuda.h"
}

namespace {

constexpr int C = DELTA_CUDA_CHUNK;
constexpr int VS = DELTA_CUDA_VS;
constexpr int THREADS = 256;
constexpr int WARPS = THREADS / 32;
static_assert(VS == 32, "the forward substitution gives each lane of one warp a value channel");
static_assert(C == 64, "the gate scan gives each lane of one warp two tokens");
static_assert((C * VS) % THREADS == 0, "each thread owns whole output elements of a chunk");
constexpr int OUT_PER_THREAD = C * VS / THREADS;

__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }

__device__ __forceinline__ float warp_sum(float x)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

/* Shared memory of the chunked kernel for head dim d (floats): K̂ and Q̂ rows padded to d + 1
 * (conflict-free column reads), the state slice, L and P padded to C + 1, the right-hand side
 * X / U, and β, γ, e^γ, e^−γ. */
__host__ __device__ inline size_t chunked_smem_floats(int d)
{
    return 2 * (size_t)C * (d + 1) + (size_t)d * VS + 2 * (size_t)C * (C + 1) + (size_t)C * VS + 4 * (size_t)C;
}

template <typename T>
__global__ void __launch_bounds__(THREADS) delta_chunked_kernel(const T *__restrict__ q, const T *__restrict__ k,
                                                                const T *__restrict__ v,
                                                                const float *__restrict__ beta,
                                                                const float *__restrict__ g, float *__restrict__ o,
                                                                float *__restrict__ state_out, int tokens, int d,
                                                                int n)
{
    extern __shared__ float smem[];
    const int dp = d + 1;
    float *sK = smem, *sQ = sK + C * dp, *sS = sQ + C * dp, *sL = sS + d * VS, *sP = sL + C * (C + 1);
    float *sX = sP + C * (C + 1), *sB = sX + C * VS, *sGam = sB + C, *sEg = sGam + C, *sEng = sEg + C;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const size_t head = blockIdx.x;
    const int j0 = blockIdx.y * VS;
    const T *qh = q + head * tokens * d, *kh = k + head * tokens * d, *vh = v + head * tokens * d;
    const float *bh = beta + head * tokens, *gh = g + head * tokens;
    const float scale = rsqrtf((float)d);

    for (int e = tid; e < d * VS; e += THREADS)
        sS[e] = 0.f;
    for (int t0 = 0; t0 < n; t0 += C) {
        const int c = n - t0 < C ? n - t0 : C;
        /* load the chunk (rows past c are zero) */
        for (int e = tid; e < C * d; e += THREADS) {
            const int i = e / d, p = e - i * d;
            const bool in = i < c;
            sK[i * dp + p] = in ? to_f(kh[(size_t)(t0 + i) * d + p]) : 0.f;
            sQ[i * dp + p] = in ? to_f(qh[(size_t)(t0 + i) * d + p]) : 0.f;
        }
        for (int i = tid; i < C; i += THREADS) {
            sB[i] = i < c ? bh[t0 + i] : 0.f;
            sGam[i] = i < c ? gh[t0 + i] : 0.f;
        }
        __syncthreads();
        /* L2-normalise K̂ and Q̂ (Q̂ times 1/√d), a warp per row; the gate's prefix sums */
        for (int i = warp; i < c; i += WARPS) {
            float sk = 0.f, sq = 0.f;
            for (int p = lane; p < d; p += 32) {
                sk += sK[i * dp + p] * sK[i * dp + p];
                sq += sQ[i * dp + p] * sQ[i * dp + p];
            }
            sk = warp_sum(sk);
            sq = warp_sum(sq);
            const float rk = sk > 0.f ? rsqrtf(sk) : 0.f, rq = sq > 0.f ? scale * rsqrtf(sq) : 0.f;
            for (int p = lane; p < d; p += 32) {
                sK[i * dp + p] *= rk;
                sQ[i * dp + p] *= rq;
            }
        }
        if (warp == WARPS - 1) {
            /* inclusive scan of the C log-gates over one warp: two per lane */
            float a = sGam[2 * lane], b = a + sGam[2 * lane + 1];
            float run = b;
#pragma unroll
            for (int o2 = 1; o2 < 32; o2 <<= 1) {
                float up = __shfl_up_sync(0xffffffffu, run, o2);
                if (lane >= o2)
                    run += up;
            }
            const float before = run - b;
            sGam[2 * lane] = before + a;
            sGam[2 * lane + 1] = before + b;
            __syncwarp();
            sEg[2 * lane] = __expf(sGam[2 * lane]);
            sEg[2 * lane + 1] = __expf(sGam[2 * lane + 1]);
            sEng[2 * lane] = __expf(-sGam[2 * lane]);
            sEng[2 * lane + 1] = __expf(-sGam[2 * lane + 1]);
        }
        __syncthreads();
        /* L (strictly lower) and P (lower with the diagonal), C × C */
        for (int e = tid; e < C * C; e += THREADS) {
            const int i = e / C, j = e - i * C;
            float l = 0.f, pv = 0.f;
            if (j <= i && i < c) {
                float kk = 0.f, qk = 0.f;
                const float *ki = sK + i * dp, *kj = sK + j * dp, *qi = sQ + i * dp;
                for (int p = 0; p < d; p++) {
                    kk += ki[p] * kj[p];
                    qk += qi[p] * kj[p];
                }
                const float decay = sEg[i] * sEng[j];
                if (j < i)
                    l = sB[i] * decay * kk;
                pv = decay * qk;
            }
            sL[i * (C + 1) + j] = l;
            sP[i * (C + 1) + j] = pv;
        }
        /* X = diag(β)(V − diag(e^γ) K̂ S0) and O0 = diag(e^γ) Q̂ S0, this thread's elements */
        float oacc[OUT_PER_THREAD];
#pragma unroll
        for (int r = 0; r < OUT_PER_THREAD; r++) {
            const int e = tid + r * THREADS, i = e / VS, m = e - i * VS;
            float ks = 0.f, qs = 0.f;
            for (int p = 0; p < d; p++) {
                const float s = sS[p * VS + m];
                ks += sK[i * dp + p] * s;
                qs += sQ[i * dp + p] * s;
            }
            oacc[r] = sEg[i] * qs;
            const float vv = i < c ? to_f(vh[(size_t)(t0 + i) * d + j0 + m]) : 0.f;
            sX[i * VS + m] = sB[i] * (vv - sEg[i] * ks);
        }
        __syncthreads();
        /* (I + L) U = X, row by row: lane m owns value channel m */
        if (warp == 0) {
            for (int i = 1; i < c; i++) {
                float acc = sX[i * VS + lane];
                const float *li = sL + i * (C + 1);
                for (int j = 0; j < i; j++)
                    acc -= li[j] * sX[j * VS + lane];
                sX[i * VS + lane] = acc;
                __syncwarp();
            }
        }
        __syncthreads();
        /* O = O0 + P U */
#pragma unroll
        for (int r = 0; r < OUT_PER_THREAD; r++) {
            const int e = tid + r * THREADS, i = e / VS, m = e - i * VS;
            if (i >= c)
                continue;
            float acc = oacc[r];
            const float *pi = sP + i * (C + 1);
            for (int j = 0; j <= i; j++)
                acc += pi[j] * sX[j * VS + m];
            if (o)
                o[(head * (size_t)n + t0 + i) * d + j0 + m] = acc;
        }
        /* S ← e^{γ_last} S0 + (K̂ ⊙ e^{γ_last − γ})ᵀ U */
        const float elast = sEg[c - 1];
        for (int e = tid; e < d * VS; e += THREADS) {
            const int p = e / VS, m = e - p * VS;
            float acc = elast * sS[e];
            for (int j = 0; j < c; j++)
                acc += sK[j * dp + p] * (elast * sEng[j]) * sX[j * VS + m];
            sS[e] = acc;
        }
        __syncthreads();
    }
    if (state_out)
        for (int e = tid; e < d * VS; e += THREADS) {
            const int p = e / VS, m = e - p * VS;
            state_out[(head * d + p) * d + j0 + m] = sS[e];
        }
}

/* Token by token: the block's d × VS slice lives in registers, row p = warp + WARPS·r of
 * column lane; the column sums go through shared memory. */
constexpr int REC_ROWS = DELTA_CUDA_MAX_D / WARPS;

template <typename T>
__global__ void __launch_bounds__(THREADS) delta_recurrent_kernel(const T *__restrict__ q, const T *__restrict__ k,
                                                                  const T *__restrict__ v,
                                                                  const float *__restrict__ beta,
                                                                  const float *__restrict__ g, float *__restrict__ o,
                                                                  const float *__restrict__ state_in,
                                                                  float *__restrict__ state_out, int tokens, int d,
                                                                  int begin, int end)
{
    __shared__ float sk[DELTA_CUDA_MAX_D], sq[DELTA_CUDA_MAX_D], red[2][WARPS][VS], norms[2];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const size_t head = blockIdx.x;
    const int j0 = blockIdx.y * VS, rows = d / WARPS; /* d is a multiple of VS = 32, so of WARPS */
    const T *qh = q + head * tokens * d, *kh = k + head * tokens * d, *vh = v + head * tokens * d;
    const float scale = rsqrtf((float)d);
    float s[REC_ROWS];
#pragma unroll
    for (int r = 0; r < REC_ROWS; r++)
        s[r] = (r < rows && state_in) ? state_in[(head * d + warp + WARPS * r) * d + j0 + lane] : 0.f;
    for (int t = begin; t < end; t++) {
        for (int p = tid; p < d; p += THREADS) {
            sk[p] = to_f(kh[(size_t)t * d + p]);
            sq[p] = to_f(qh[(size_t)t * d + p]);
        }
        __syncthreads();
        if (warp < 2) {
            const float *x = warp == 0 ? sk : sq;
            float ss = 0.f;
            for (int p = lane; p < d; p += 32)
                ss += x[p] * x[p];
            ss = warp_sum(ss);
            if (lane == 0)
                norms[warp] = ss > 0.f ? rsqrtf(ss) : 0.f;
        }
        __syncthreads();
        const float rk = norms[0], rq = norms[1] * scale;
        /* column m of Sᵀk̂: this thread's rows, then the warps' partial sums */
        float part = 0.f;
#pragma unroll
        for (int r = 0; r < REC_ROWS; r++)
            if (r < rows)
                part += s[r] * sk[warp + WARPS * r];
        red[0][warp][lane] = part * rk;
        __syncthreads();
        float ks = 0.f;
#pragma unroll
        for (int w = 0; w < WARPS; w++)
            ks += red[0][w][lane];
        const float alpha = __expf(g[head * tokens + t]), b = beta[head * tokens + t];
        const float u = b * (to_f(vh[(size_t)t * d + j0 + lane]) - alpha * ks);
        float op = 0.f;
#pragma unroll
        for (int r = 0; r < REC_ROWS; r++)
            if (r < rows) {
                const int p = warp + WARPS * r;
                s[r] = alpha * s[r] + sk[p] * rk * u;
                op += s[r] * sq[p];
            }
        red[1][warp][lane] = op * rq;
        __syncthreads();
        if (warp == 0 && o) {
            float acc = 0.f;
#pragma unroll
            for (int w = 0; w < WARPS; w++)
                acc += red[1][w][lane];
            o[(head * (size_t)(end - begin) + (t - begin)) * d + j0 + lane] = acc;
        }
        /* red, sk, sq are rewritten next token only after its first barrier */
    }
    if (state_out)
#pragma unroll
        for (int r = 0; r < REC_ROWS; r++)
            if (r < rows)
                state_out[(head * d + warp + WARPS * r) * d + j0 + lane] = s[r];
}

/* The chunked kernel's dynamic shared memory allowance, once per instantiation and process, for
 * the largest d: setup calls it, so no run sets it while a CUDA graph is being captured. */
template <typename T>
int allow_smem()
{
    static bool attribute_set;
    if (!attribute_set) {
        cudaError_t e = cudaFuncSetAttribute(delta_chunked_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)(chunked_smem_floats(DELTA_CUDA_MAX_D) * sizeof(float)));
        if (e != cudaSuccess)
            return (int)e;
        attribute_set = true;
    }
    return 0;
}

template <typename T>
int launch_chunked(const delta_cuda_args *a, cudaStream_t st)
{
    int rc = allow_smem<T>();
    if (rc != 0)
        return rc;
    const size_t bytes = chunked_smem_floats(a->d) * sizeof(float);
    dim3 grid((unsigned)a->bh, (unsigned)(a->d / VS));
    delta_chunked_kernel<T><<<grid, THREADS, bytes, st>>>((const T *)a->q, (const T *)a->k, (const T *)a->v, a->beta,
                                                           a->g, a->o, a->state_out, a->tokens, a->d, a->end);
    return (int)cudaGetLastError();
}

template <typename T>
int launch_recurrent(const delta_cuda_args *a, cudaStream_t st)
{
    dim3 grid((unsigned)a->bh, (unsigned)(a->d / VS));
    delta_recurrent_kernel<T><<<grid, THREADS, 0, st>>>((const T *)a->q, (const T *)a->k, (const T *)a->v, a->beta,
                                                         a->g, a->o, a->state_in, a->state_out, a->tokens, a->d,
                                                         a->begin, a->end);
    return (int)cudaGetLastError();
}

} // namespace

extern "C" int delta_cuda_chunked_launch(const struct delta_cuda_args *a, void *stream)
{
    if (a->begin != 0 || a->state_in || a->d % VS != 0 || a->d > DELTA_CUDA_MAX_D)
        return (int)cudaErrorInvalidValue;
    return a->bf16 ? launch_chunked<__nv_bfloat16>(a, (cudaStream_t)stream)
                   : launch_chunked<__half>(a, (cudaStream_t)stream);
}

extern "C" int delta_cuda_chunked_prepare(int bf16)
{
    return bf16 ? allow_smem<__nv_bfloat16>() : allow_smem<__half>();
}

extern "C" int delta_cuda_recurrent_launch(const struct delta_cuda_args *a, void *stream)
{
    if (a->d % VS != 0 || a->d > DELTA_CUDA_MAX_D)
        return (int)cudaErrorInvalidValue;
    return a->bf16 ? launch_recurrent<__nv_bfloat16>(a, (cudaStream_t)stream)
                   : launch_recurrent<__half>(a, (cudaStream_t)stream);
}
