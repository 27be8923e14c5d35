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
/* the register tiles below: C×C as 16×16 threads of 4×4, C×VS as 32×8 threads of 2×4, d×VS
 * as 32×8 threads of (d/32)×4 */
static_assert(THREADS == 256 && C == 64 && VS == 32 && DELTA_CUDA_MAX_D == 128, "tiles assume these sizes");

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
        /* L (strictly lower) and P (lower with the diagonal), C × C: a 4 × 4 tile per thread,
         * rows 4·ty + a, columns tx + 16·b (the 16 columns of a half-warp in distinct banks) */
        {
            const int ty = tid >> 4, tx = tid & 15;
            float kk[4][4], qk[4][4];
#pragma unroll
            for (int a = 0; a < 4; a++)
#pragma unroll
                for (int b = 0; b < 4; b++)
                    kk[a][b] = qk[a][b] = 0.f;
            for (int p = 0; p < d; p++) {
                float ki[4], qi[4], kj[4];
#pragma unroll
                for (int a = 0; a < 4; a++) {
                    ki[a] = sK[(4 * ty + a) * dp + p];
                    qi[a] = sQ[(4 * ty + a) * dp + p];
                }
#pragma unroll
                for (int b = 0; b < 4; b++)
                    kj[b] = sK[(tx + 16 * b) * dp + p];
#pragma unroll
                for (int a = 0; a < 4; a++)
#pragma unroll
                    for (int b = 0; b < 4; b++) {
                        kk[a][b] += ki[a] * kj[b];
                        qk[a][b] += qi[a] * kj[b];
                    }
            }
#pragma unroll
            for (int a = 0; a < 4; a++)
#pragma unroll
                for (int b = 0; b < 4; b++) {
                    const int i = 4 * ty + a, j = tx + 16 * b;
                    const float decay = sEg[i] * sEng[j];
                    const bool row = i < c;
                    sL[i * (C + 1) + j] = row && j < i ? sB[i] * decay * kk[a][b] : 0.f;
                    sP[i * (C + 1) + j] = row && j <= i ? decay * qk[a][b] : 0.f;
                }
        }
        /* X = diag(β)(V − diag(e^γ) K̂ S0) and O0 = diag(e^γ) Q̂ S0: a 2 × 4 tile per thread,
         * rows 2·oy + a, value channels ox + 8·b (kept for the output below) */
        const int oy = tid >> 3, ox = tid & 7;
        float oacc[2][4];
        {
            float ks[2][4];
#pragma unroll
            for (int a = 0; a < 2; a++)
#pragma unroll
                for (int b = 0; b < 4; b++)
                    ks[a][b] = oacc[a][b] = 0.f;
            for (int p = 0; p < d; p++) {
                float ki[2], qi[2], sv[4];
#pragma unroll
                for (int a = 0; a < 2; a++) {
                    ki[a] = sK[(2 * oy + a) * dp + p];
                    qi[a] = sQ[(2 * oy + a) * dp + p];
                }
#pragma unroll
                for (int b = 0; b < 4; b++)
                    sv[b] = sS[p * VS + ox + 8 * b];
#pragma unroll
                for (int a = 0; a < 2; a++)
#pragma unroll
                    for (int b = 0; b < 4; b++) {
                        ks[a][b] += ki[a] * sv[b];
                        oacc[a][b] += qi[a] * sv[b];
                    }
            }
#pragma unroll
            for (int a = 0; a < 2; a++)
#pragma unroll
                for (int b = 0; b < 4; b++) {
                    const int i = 2 * oy + a, m = ox + 8 * b;
                    oacc[a][b] *= sEg[i];
                    const float vv = i < c ? to_f(vh[(size_t)(t0 + i) * d + j0 + m]) : 0.f;
                    sX[i * VS + m] = sB[i] * (vv - sEg[i] * ks[a][b]);
                }
        }
        __syncthreads();
        /* (I + L) U = X, row by row: lane m owns value channel m (and reads only its own
         * column, so the lanes need no barrier); four partial sums shorten the FMA chain */
        if (warp == 0) {
            for (int i = 1; i < c; i++) {
                const float *li = sL + i * (C + 1);
                float a0 = sX[i * VS + lane], a1 = 0.f, a2 = 0.f, a3 = 0.f;
                int j = 0;
                for (; j + 4 <= i; j += 4) {
                    a0 -= li[j] * sX[j * VS + lane];
                    a1 -= li[j + 1] * sX[(j + 1) * VS + lane];
                    a2 -= li[j + 2] * sX[(j + 2) * VS + lane];
                    a3 -= li[j + 3] * sX[(j + 3) * VS + lane];
                }
                for (; j < i; j++)
                    a0 -= li[j] * sX[j * VS + lane];
                sX[i * VS + lane] = (a0 + a1) + (a2 + a3);
            }
        }
        __syncthreads();
        /* O = O0 + P U, on the same 2 × 4 tile */
#pragma unroll
        for (int a = 0; a < 2; a++) {
            const int i = 2 * oy + a;
            if (i >= c)
                continue;
            float acc[4];
#pragma unroll
            for (int b = 0; b < 4; b++)
                acc[b] = oacc[a][b];
            const float *pi = sP + i * (C + 1);
            for (int j = 0; j <= i; j++) {
                const float pij = pi[j];
#pragma unroll
                for (int b = 0; b < 4; b++)
                    acc[b] += pij * sX[j * VS + ox + 8 * b];
            }
            if (o)
#pragma unroll
                for (int b = 0; b < 4; b++)
                    o[(head * (size_t)n + t0 + i) * d + j0 + ox + 8 * b] = acc[b];
        }
        /* S ← e^{γ_last} S0 + (K̂ ⊙ e^{γ_last − γ})ᵀ U: rows sy + 32·a (a < d/32), value
         * channels ox + 8·b; each element is this thread's alone */
        {
            const float elast = sEg[c - 1];
            const int sy = tid >> 3, arows = d / 32;
            float acc[4][4];
#pragma unroll
            for (int a = 0; a < 4; a++)
#pragma unroll
                for (int b = 0; b < 4; b++)
                    acc[a][b] = a < arows ? elast * sS[(sy + 32 * a) * VS + ox + 8 * b] : 0.f;
            for (int j = 0; j < c; j++) {
                const float f = elast * sEng[j];
                float kp[4], xv[4];
#pragma unroll
                for (int a = 0; a < 4; a++)
                    kp[a] = a < arows ? sK[j * dp + sy + 32 * a] : 0.f;
#pragma unroll
                for (int b = 0; b < 4; b++)
                    xv[b] = f * sX[j * VS + ox + 8 * b];
#pragma unroll
                for (int a = 0; a < 4; a++)
#pragma unroll
                    for (int b = 0; b < 4; b++)
                        acc[a][b] += kp[a] * xv[b];
            }
#pragma unroll
            for (int a = 0; a < 4; a++)
                if (a < arows)
#pragma unroll
                    for (int b = 0; b < 4; b++)
                        sS[(sy + 32 * a) * VS + ox + 8 * b] = acc[a][b];
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
