/* delta_dev.cu - the device code of attention.delta@cuda.chunked and @cuda.recurrent (the
 * algorithms are described in delta_cuda.h; definition in delta_ops.h). Plain float32 FMAs on
 * CUDA cores, register-tiled, with the chunk's operands in shared memory: written to be right
 * first, then fast (no tensor cores yet). */
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

/* ---- the chunked form: three kernels -------------------------------------------------------
 *   A  per (head, chunk), all chunks at once: L and P (C × C) into scratch
 *   B  per (head, VS value channels), chunk after chunk: the state before each chunk into
 *      scratch, U = (I + L)⁻¹ diag(β)(V − diag(e^γ) K̂ S) into scratch, S ← e^{γ_last} S + ...
 *   C  per (head, chunk, VS value channels), all at once: O = diag(e^γ) Q̂ S_chunk + P U
 * Only B is sequential, and it does the least: per chunk one C×d·d×VS product, the triangular
 * solve and one d×C·C×VS product. */

/* Rows t0 .. t0 + c − 1 of a head's [tokens][d] operand into dst [C][d + 1] as float32 (rows
 * past c zero), then L2-normalised and multiplied by mul, a warp per row. Ends synchronised. */
template <typename T>
__device__ void load_rows_normalised(const T *__restrict__ src, int t0, int c, int d, float mul, float *dst)
{
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, dp = d + 1;
    for (int e = tid; e < C * d; e += THREADS) {
        const int i = e / d, p = e - i * d;
        dst[i * dp + p] = i < c ? to_f(src[(size_t)(t0 + i) * d + p]) : 0.f;
    }
    __syncthreads();
    for (int i = warp; i < c; i += WARPS) {
        float ss = 0.f;
        for (int p = lane; p < d; p += 32)
            ss += dst[i * dp + p] * dst[i * dp + p];
        ss = warp_sum(ss);
        const float r = ss > 0.f ? mul * rsqrtf(ss) : 0.f;
        for (int p = lane; p < d; p += 32)
            dst[i * dp + p] *= r;
    }
    __syncthreads();
}

/* The chunk's β (0 past c), γ = inclusive prefix sums of the log-gates, e^γ and e^−γ, each [C].
 * Ends synchronised. */
__device__ void load_gates(const float *__restrict__ bh, const float *__restrict__ gh, int t0, int c, float *sB,
                           float *sGam, float *sEg, float *sEng)
{
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    for (int i = tid; i < C; i += THREADS) {
        sB[i] = i < c ? bh[t0 + i] : 0.f;
        sGam[i] = i < c ? gh[t0 + i] : 0.f;
    }
    __syncthreads();
    if (warp == WARPS - 1) {
        /* inclusive scan over one warp, two tokens a lane */
        const float a = sGam[2 * lane], b = a + sGam[2 * lane + 1];
        float run = b;
#pragma unroll
        for (int o2 = 1; o2 < 32; o2 <<= 1) {
            const float up = __shfl_up_sync(0xffffffffu, run, o2);
            if (lane >= o2)
                run += up;
        }
        const float before = run - b;
        const float g0 = before + a, g1 = before + b;
        sGam[2 * lane] = g0;
        sGam[2 * lane + 1] = g1;
        sEg[2 * lane] = __expf(g0);
        sEg[2 * lane + 1] = __expf(g1);
        sEng[2 * lane] = __expf(-g0);
        sEng[2 * lane + 1] = __expf(-g1);
    }
    __syncthreads();
}

/* Shared floats of each kernel for head dim d. */
__host__ __device__ inline size_t smem_a(int d) { return 2 * (size_t)C * (d + 1) + 4 * (size_t)C; }
__host__ __device__ inline size_t smem_b(int d)
{
    return (size_t)C * (d + 1) + (size_t)d * VS + (size_t)C * (C + 1) + (size_t)C * VS + 4 * (size_t)C;
}
__host__ __device__ inline size_t smem_c(int d)
{
    return (size_t)C * (d + 1) + (size_t)d * VS + (size_t)C * (C + 1) + (size_t)C * VS + 4 * (size_t)C;
}

/* acc = rows 2·oy and 2·oy + 1 of A (row stride dp) times columns ox + 8·b (b < 4) of the
 * [d][VS] state sS: a 2 × 4 tile a thread, the product both the chunked pass (K̂S) and the
 * output pass (Q̂S) take. */
__device__ __forceinline__ void rows_times_state(const float *sA, int dp, const float *sS, int d, int oy, int ox,
                                                 float (&acc)[2][4])
{
#pragma unroll
    for (int a = 0; a < 2; a++)
#pragma unroll
        for (int b = 0; b < 4; b++)
            acc[a][b] = 0.f;
    for (int p = 0; p < d; p++) {
        float ai[2], sv[4];
#pragma unroll
        for (int a = 0; a < 2; a++)
            ai[a] = sA[(2 * oy + a) * dp + p];
#pragma unroll
        for (int b = 0; b < 4; b++)
            sv[b] = sS[p * VS + ox + 8 * b];
#pragma unroll
        for (int a = 0; a < 2; a++)
#pragma unroll
            for (int b = 0; b < 4; b++)
                acc[a][b] += ai[a] * sv[b];
    }
}

/* A: L = strictly-lower(diag(β)(K̂K̂ᵀ ⊙ Γ)) and P = (Q̂K̂ᵀ/√d ⊙ Γ) with the diagonal, for chunk
 * blockIdx.y of head blockIdx.x, into lg and pg [C][C]; a 4 × 4 tile a thread, rows 4·ty + a,
 * columns tx + 16·b (a half-warp's 16 columns in distinct banks). */
template <typename T>
__global__ void __launch_bounds__(THREADS) delta_lp_kernel(const T *__restrict__ q, const T *__restrict__ k,
                                                           const float *__restrict__ beta,
                                                           const float *__restrict__ g, float *__restrict__ lg,
                                                           float *__restrict__ pg, int tokens, int d, int n)
{
    extern __shared__ float smem[];
    const int dp = d + 1, tid = threadIdx.x;
    float *sK = smem, *sQ = sK + C * dp, *sB = sQ + C * dp, *sGam = sB + C, *sEg = sGam + C, *sEng = sEg + C;
    const size_t head = blockIdx.x, chunk = blockIdx.y, nch = gridDim.y;
    const int t0 = (int)chunk * C, c = n - t0 < C ? n - t0 : C;
    load_rows_normalised(k + head * tokens * d, t0, c, d, 1.f, sK);
    load_rows_normalised(q + head * tokens * d, t0, c, d, rsqrtf((float)d), sQ);
    load_gates(beta + head * tokens, g + head * tokens, t0, c, sB, sGam, sEg, sEng);
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
    float *l = lg + (head * nch + chunk) * C * C, *pp = pg + (head * nch + chunk) * C * C;
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 4; b++) {
            const int i = 4 * ty + a, j = tx + 16 * b;
            const float decay = sEg[i] * sEng[j];
            const bool row = i < c;
            l[i * C + j] = row && j < i ? sB[i] * decay * kk[a][b] : 0.f;
            pp[i * C + j] = row && j <= i ? decay * qk[a][b] : 0.f;
        }
}

/* B: the sequential pass of head blockIdx.x over value channels j0 .. j0 + VS − 1. */
template <typename T>
__global__ void __launch_bounds__(THREADS) delta_state_kernel(const T *__restrict__ k, const T *__restrict__ v,
                                                              const float *__restrict__ beta,
                                                              const float *__restrict__ g,
                                                              const float *__restrict__ lg, float *__restrict__ sg,
                                                              float *__restrict__ ug, float *__restrict__ state_out,
                                                              int tokens, int d, int n, int nch)
{
    extern __shared__ float smem[];
    const int dp = d + 1, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    float *sK = smem, *sS = sK + C * dp, *sL = sS + d * VS, *sX = sL + C * (C + 1), *sB = sX + C * VS;
    float *sGam = sB + C, *sEg = sGam + C, *sEng = sEg + C;
    const size_t head = blockIdx.x;
    const int j0 = blockIdx.y * VS;
    const T *vh = v + head * tokens * d;
    const int oy = tid >> 3, ox = tid & 7; /* C × VS tiles: rows 2·oy + a, channels ox + 8·b */
    const int sy = tid >> 3, arows = d / 32; /* d × VS tiles: rows sy + 32·a */
    for (int e = tid; e < d * VS; e += THREADS)
        sS[e] = 0.f;
    for (int ch = 0; ch < nch; ch++) {
        const int t0 = ch * C, c = n - t0 < C ? n - t0 : C;
        load_rows_normalised(k + head * tokens * d, t0, c, d, 1.f, sK);
        load_gates(beta + head * tokens, g + head * tokens, t0, c, sB, sGam, sEg, sEng);
        const float *l = lg + (head * nch + ch) * C * C;
        for (int e = tid; e < C * C; e += THREADS) {
            const int i = e / C, j = e - i * C;
            sL[i * (C + 1) + j] = l[e];
        }
        /* the state before this chunk, for pass C */
        float *snap = sg + (head * nch + ch) * (size_t)d * d;
        for (int e = tid; e < d * VS; e += THREADS) {
            const int p = e / VS, m = e - p * VS;
            snap[(size_t)p * d + j0 + m] = sS[e];
        }
        /* X = diag(β)(V − diag(e^γ) K̂ S) */
        {
            float ks[2][4];
            rows_times_state(sK, dp, sS, d, oy, ox, ks);
#pragma unroll
            for (int a = 0; a < 2; a++)
#pragma unroll
                for (int b = 0; b < 4; b++) {
                    const int i = 2 * oy + a, m = ox + 8 * b;
                    const float vv = i < c ? to_f(vh[(size_t)(t0 + i) * d + j0 + m]) : 0.f;
                    sX[i * VS + m] = sB[i] * (vv - sEg[i] * ks[a][b]);
                }
        }
        __syncthreads();
        /* (I + L) U = X, row by row: lane m owns value channel m and reads only its own column */
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
        /* U out for pass C */
        for (int e = tid; e < c * VS; e += THREADS) {
            const int i = e / VS, m = e - i * VS;
            ug[(head * (size_t)nch * C + t0 + i) * d + j0 + m] = sX[e];
        }
        /* S ← e^{γ_last} S + (K̂ ⊙ e^{γ_last − γ})ᵀ U; each element is this thread's alone */
        {
            const float elast = sEg[c - 1];
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

/* C: O = diag(e^γ) Q̂ S_chunk /√d + P U for chunk blockIdx.y of head blockIdx.x, value
 * channels blockIdx.z·VS ..; a 2 × 4 tile a thread. */
template <typename T>
__global__ void __launch_bounds__(THREADS) delta_out_kernel(const T *__restrict__ q, const float *__restrict__ g,
                                                            const float *__restrict__ pg,
                                                            const float *__restrict__ sg,
                                                            const float *__restrict__ ug, float *__restrict__ o,
                                                            int tokens, int d, int n)
{
    extern __shared__ float smem[];
    const int dp = d + 1, tid = threadIdx.x;
    float *sQ = smem, *sS = sQ + C * dp, *sP = sS + d * VS, *sU = sP + C * (C + 1), *sB = sU + C * VS;
    float *sGam = sB + C, *sEg = sGam + C, *sEng = sEg + C;
    const size_t head = blockIdx.x, chunk = blockIdx.y, nch = gridDim.y;
    const int j0 = blockIdx.z * VS, t0 = (int)chunk * C, c = n - t0 < C ? n - t0 : C;
    const float *snap = sg + (head * nch + chunk) * (size_t)d * d, *pp = pg + (head * nch + chunk) * C * C;
    for (int e = tid; e < d * VS; e += THREADS) {
        const int p = e / VS, m = e - p * VS;
        sS[e] = snap[(size_t)p * d + j0 + m];
    }
    for (int e = tid; e < C * C; e += THREADS) {
        const int i = e / C, j = e - i * C;
        sP[i * (C + 1) + j] = pp[e];
    }
    for (int e = tid; e < C * VS; e += THREADS) {
        const int i = e / VS, m = e - i * VS;
        sU[e] = i < c ? ug[(head * nch * C + t0 + i) * d + j0 + m] : 0.f;
    }
    load_rows_normalised(q + head * tokens * d, t0, c, d, rsqrtf((float)d), sQ);
    load_gates(g + head * tokens, g + head * tokens, t0, c, sB, sGam, sEg, sEng); /* only γ is used */
    const int oy = tid >> 3, ox = tid & 7;
    float acc[2][4];
    rows_times_state(sQ, dp, sS, d, oy, ox, acc);
#pragma unroll
    for (int a = 0; a < 2; a++) {
        const int i = 2 * oy + a;
        if (i >= c)
            continue;
        float r[4];
#pragma unroll
        for (int b = 0; b < 4; b++)
            r[b] = sEg[i] * acc[a][b];
        const float *pi = sP + i * (C + 1);
        for (int j = 0; j <= i; j++) {
            const float pij = pi[j];
#pragma unroll
            for (int b = 0; b < 4; b++)
                r[b] += pij * sU[j * VS + ox + 8 * b];
        }
#pragma unroll
        for (int b = 0; b < 4; b++)
            o[(head * (size_t)n + t0 + i) * d + j0 + ox + 8 * b] = r[b];
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

/* The chunked kernels' dynamic shared memory allowances, once per instantiation and process, for
 * the largest d: setup calls it, so no run sets them while a CUDA graph is being captured. */
template <typename T>
int allow_smem()
{
    static bool attribute_set;
    if (!attribute_set) {
        const int dm = DELTA_CUDA_MAX_D;
        cudaError_t e = cudaFuncSetAttribute(delta_lp_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)(smem_a(dm) * sizeof(float)));
        if (e == cudaSuccess)
            e = cudaFuncSetAttribute(delta_state_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     (int)(smem_b(dm) * sizeof(float)));
        if (e == cudaSuccess)
            e = cudaFuncSetAttribute(delta_out_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     (int)(smem_c(dm) * sizeof(float)));
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
    const int n = a->end, nch = (n + C - 1) / C, d = a->d;
    const T *q = (const T *)a->q, *k = (const T *)a->k, *v = (const T *)a->v;
    delta_lp_kernel<T><<<dim3((unsigned)a->bh, (unsigned)nch), THREADS, smem_a(d) * sizeof(float), st>>>(
        q, k, a->beta, a->g, a->scratch_l, a->scratch_p, a->tokens, d, n);
    delta_state_kernel<T><<<dim3((unsigned)a->bh, (unsigned)(d / VS)), THREADS, smem_b(d) * sizeof(float), st>>>(
        k, v, a->beta, a->g, a->scratch_l, a->scratch_s, a->scratch_u, a->state_out, a->tokens, d, n, nch);
    if (a->o)
        delta_out_kernel<T><<<dim3((unsigned)a->bh, (unsigned)nch, (unsigned)(d / VS)), THREADS,
                              smem_c(d) * sizeof(float), st>>>(q, a->g, a->scratch_p, a->scratch_s, a->scratch_u,
                                                              a->o, a->tokens, d, n);
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

extern "C" void delta_cuda_chunked_scratch_floats(int bh, int n, int d, size_t out[4])
{
    const size_t nch = (size_t)(n + C - 1) / C;
    out[0] = out[1] = (size_t)bh * nch * C * C;
    out[2] = (size_t)bh * nch * d * d;
    out[3] = (size_t)bh * nch * C * d;
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
