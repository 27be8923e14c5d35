/* ssd_dev.cu - the device code of attention.ssd@cuda.recurrent and @cuda.chunked (the passes
 * are described in ssd_cuda.h; definition in ssd_ops.h). CUDA cores, float32 arithmetic on
 * f16/bf16 operands converted as they are staged in shared memory; every state float32.
 *
 * Token order. Both kernels walk a head's tokens in a logical order: forward k = t, or for the
 * bidirectional form's second pass backward, physical t = n − 1 − k. The backward pass leaves
 * out the diagonal term the forward pass already counted (the recurrent step reads the state
 * before adding its own token; the chunked mask keeps j < i) and adds into y. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/ssd_cuda.h"
}

namespace {

__device__ __forceinline__ float to_f(__half v)
{
    return __half2float(v);
}
__device__ __forceinline__ float to_f(__nv_bfloat16 v)
{
    return __bfloat162float(v);
}

/* The shape as the kernels need it: T tokens held per head, n processed (seq_len). */
struct Dims {
    int H, G, T, n, P, S;
};

__device__ __forceinline__ size_t x_off(const Dims &d, int b, int h)
{
    return ((size_t)b * d.H + h) * (size_t)d.T * d.P;
}
__device__ __forceinline__ size_t dt_off(const Dims &d, int b, int h)
{
    return ((size_t)b * d.H + h) * (size_t)d.T;
}
__device__ __forceinline__ size_t bc_off(const Dims &d, int b, int h)
{
    const int g = h / (d.H / d.G);
    return ((size_t)b * d.G + g) * (size_t)d.T * d.S;
}
__device__ __forceinline__ int phys(int k, int n, int dir)
{
    return dir ? n - 1 - k : k;
}

/* ---- the recurrence ------------------------------------------------------------------------ */

constexpr int RT = 8;                       /* threads per state column */
constexpr int RCOLS = 32;                   /* state columns per block of the recurrence */
constexpr int RTILE = 16;                   /* tokens staged per shared-memory tile */
constexpr int MAXK = SSD_CUDA_MAX_S / RT;   /* state rows per thread */

/* One block per (b·H + h, slice of RCOLS columns): the columns of the state never mix (y_t[p]
 * reads only column p), so a head's P columns run in P/RCOLS blocks side by side. blockDim.x =
 * RCOLS·RT; thread (p, r) holds state rows r, r + RT, ... of column p. Writes y and/or the
 * final forward state. */
template <typename T>
__global__ void __launch_bounds__(RCOLS * RT) recurrent_kernel(Dims d, const T *__restrict__ x, const T *__restrict__ bm,
                                 const T *__restrict__ cm, const float *__restrict__ dt,
                                 const float *__restrict__ A, float *__restrict__ y, float *__restrict__ state_out,
                                 int passes)
{
    extern __shared__ float smem[];
    const int P = d.P, S = d.S, n = d.n;
    float *xs = smem, *bs = xs + RTILE * RCOLS, *cs = bs + RTILE * S, *ds = cs + RTILE * S;
    const int bh = blockIdx.x, b = bh / d.H, h = bh % d.H, p0 = blockIdx.y * RCOLS;
    const int pl = threadIdx.x / RT, p = p0 + pl, r = threadIdx.x % RT;
    const int ncols = min(RCOLS, P - p0);
    const T *xb = x + x_off(d, b, h), *bb = bm + bc_off(d, b, h), *cb = cm + bc_off(d, b, h);
    const float *db = dt + dt_off(d, b, h);
    const float Ah = A[h];
    float hreg[MAXK];
    for (int dir = 0; dir < passes; dir++) {
#pragma unroll
        for (int k = 0; k < MAXK; k++)
            hreg[k] = 0.f;
        for (int k0 = 0; k0 < n; k0 += RTILE) {
            const int cnt = min(RTILE, n - k0);
            __syncthreads();
            for (int e = threadIdx.x; e < cnt * ncols; e += blockDim.x)
                xs[(e / ncols) * RCOLS + e % ncols] = to_f(xb[(size_t)phys(k0 + e / ncols, n, dir) * P + p0 + e % ncols]);
            for (int e = threadIdx.x; e < cnt * S; e += blockDim.x) {
                const size_t g = (size_t)phys(k0 + e / S, n, dir) * S + e % S;
                bs[e] = to_f(bb[g]);
                cs[e] = to_f(cb[g]);
            }
            for (int e = threadIdx.x; e < cnt; e += blockDim.x)
                ds[e] = db[phys(k0 + e, n, dir)];
            __syncthreads();
            for (int j = 0; j < cnt; j++) {
                const float w = ds[j], a = __expf(w * Ah);
                const float bx = p < P ? w * xs[j * RCOLS + pl] : 0.f;
                float acc = 0.f;
#pragma unroll
                for (int k = 0; k < MAXK; k++) {
                    const int i = r + RT * k;
                    if (i < S) {
                        const float old = hreg[k];
                        const float upd = fmaf(a, old, bs[j * S + i] * bx);
                        acc = dir ? fmaf(cs[j * S + i] * a, old, acc) : fmaf(cs[j * S + i], upd, acc);
                        hreg[k] = upd;
                    }
                }
                acc += __shfl_xor_sync(0xffffffffu, acc, 1);
                acc += __shfl_xor_sync(0xffffffffu, acc, 2);
                acc += __shfl_xor_sync(0xffffffffu, acc, 4);
                if (y && r == 0 && p < P) {
                    float *yp = y + ((size_t)bh * n + phys(k0 + j, n, dir)) * P + p;
                    *yp = dir ? *yp + acc : acc;
                }
            }
        }
    }
    if (state_out && p < P)
#pragma unroll
        for (int k = 0; k < MAXK; k++) {
            const int i = r + RT * k;
            if (i < S)
                state_out[(size_t)bh * S * P + (size_t)i * P + p] = hreg[k];
        }
}

/* Decode: one step of token n (d.T = n + 1) against states, into states_new and y [B·H][P]. */
template <typename T>
__global__ void __launch_bounds__(SSD_CUDA_MAX_P * RT) decode_kernel(Dims d, const T *__restrict__ x, const T *__restrict__ bm, const T *__restrict__ cm,
                              const float *__restrict__ dt, const float *__restrict__ A,
                              const float *__restrict__ states, float *__restrict__ states_new, float *__restrict__ y)
{
    const int P = d.P, S = d.S, n = d.n;
    const int bh = blockIdx.x, b = bh / d.H, h = bh % d.H;
    const int p = threadIdx.x / RT, r = threadIdx.x % RT;
    const float w = dt[dt_off(d, b, h) + n], a = __expf(w * A[h]);
    const float bx = p < P ? w * to_f(x[x_off(d, b, h) + (size_t)n * P + p]) : 0.f;
    const T *bt = bm + bc_off(d, b, h) + (size_t)n * S, *ct = cm + bc_off(d, b, h) + (size_t)n * S;
    const size_t base = (size_t)bh * S * P;
    float acc = 0.f;
    if (p < P)
        for (int i = r; i < S; i += RT) {
            const float upd = fmaf(a, states[base + (size_t)i * P + p], to_f(bt[i]) * bx);
            states_new[base + (size_t)i * P + p] = upd;
            acc = fmaf(to_f(ct[i]), upd, acc);
        }
    acc += __shfl_xor_sync(0xffffffffu, acc, 1);
    acc += __shfl_xor_sync(0xffffffffu, acc, 2);
    acc += __shfl_xor_sync(0xffffffffu, acc, 4);
    if (r == 0 && p < P)
        y[(size_t)bh * P + p] = acc;
}

/* ---- the chunked algorithm ----------------------------------------------------------------- */

constexpr int CH = SSD_CUDA_CHUNK;
constexpr int CHP = CH + 1; /* padded row of the transposed tiles: column walks hit distinct banks */
constexpr int THREADS = 256;
static_assert(CH == 64, "the micro-tiles below assume 64-token chunks and 16x16 thread grids");

/* Chunk k's dt (0 past the end), the inclusive cumulative log-decay, and per thread j < CH. */
__device__ __forceinline__ void chunk_decay(const float *db, float Ah, int k0, int cnt, int n, int dir, float *ws,
                                            float *cum)
{
    if (threadIdx.x < CH)
        ws[threadIdx.x] = (int)threadIdx.x < cnt ? db[phys(k0 + threadIdx.x, n, dir)] : 0.f;
    __syncthreads();
    if (threadIdx.x < 32) { /* inclusive scan of 64 values by one warp, two per lane */
        const int l = threadIdx.x;
        float v0 = ws[2 * l] * Ah, v1 = ws[2 * l + 1] * Ah;
        float s = v0 + v1;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const float u = __shfl_up_sync(0xffffffffu, s, o);
            if (l >= o)
                s += u;
        }
        cum[2 * l + 1] = s;
        cum[2 * l] = s - v1;
    }
    __syncthreads();
}

/* Pass 1: L_k[i][p] = Σ_j exp(cum_last − cum_j) dt_j B_j[i] x_j[p] and a_k = exp(cum_last). */
template <typename T, int S, int P>
__global__ void __launch_bounds__(THREADS) chunk_states_kernel(Dims d, const T *__restrict__ x,
                                                               const T *__restrict__ bm,
                                                               const float *__restrict__ dt,
                                                               const float *__restrict__ A,
                                                               float *__restrict__ states,
                                                               float *__restrict__ decays, int nc, int dir)
{
    extern __shared__ float smem[];
    float *wb = smem;        /* [CH][S] w_j B_j */
    float *xs = wb + CH * S; /* [CH][P] */
    __shared__ float ws[CH], cum[CH], wj[CH];
    const int chunk = blockIdx.x, bh = blockIdx.y, b = bh / d.H, h = bh % d.H, n = d.n;
    const int k0 = chunk * CH, cnt = min(CH, n - k0);
    chunk_decay(dt + dt_off(d, b, h), A[h], k0, cnt, n, dir, ws, cum);
    const float last = cum[CH - 1];
    if (threadIdx.x < CH)
        wj[threadIdx.x] = __expf(last - cum[threadIdx.x]) * ws[threadIdx.x];
    __syncthreads();
    const T *xb = x + x_off(d, b, h), *bb = bm + bc_off(d, b, h);
    for (int e = threadIdx.x; e < CH * S; e += THREADS) {
        const int j = e / S;
        wb[e] = j < cnt ? to_f(bb[(size_t)phys(k0 + j, n, dir) * S + e % S]) * wj[j] : 0.f;
    }
    for (int e = threadIdx.x; e < CH * P; e += THREADS) {
        const int j = e / P;
        xs[e] = j < cnt ? to_f(xb[(size_t)phys(k0 + j, n, dir) * P + e % P]) : 0.f;
    }
    __syncthreads();
    const int ti = threadIdx.x / 16, tp = threadIdx.x % 16;
    float acc[S / 16][P / 16];
#pragma unroll
    for (int a = 0; a < S / 16; a++)
#pragma unroll
        for (int c = 0; c < P / 16; c++)
            acc[a][c] = 0.f;
    for (int j = 0; j < CH; j++) {
        float av[S / 16], bv[P / 16];
#pragma unroll
        for (int a = 0; a < S / 16; a++)
            av[a] = wb[j * S + ti + 16 * a];
#pragma unroll
        for (int c = 0; c < P / 16; c++)
            bv[c] = xs[j * P + tp + 16 * c];
#pragma unroll
        for (int a = 0; a < S / 16; a++)
#pragma unroll
            for (int c = 0; c < P / 16; c++)
                acc[a][c] = fmaf(av[a], bv[c], acc[a][c]);
    }
    float *out = states + ((size_t)bh * nc + chunk) * S * P;
#pragma unroll
    for (int a = 0; a < S / 16; a++)
#pragma unroll
        for (int c = 0; c < P / 16; c++)
            out[(size_t)(ti + 16 * a) * P + tp + 16 * c] = acc[a][c];
    if (threadIdx.x == 0)
        decays[(size_t)bh * nc + chunk] = __expf(last);
}

/* Pass 2: per state element, H_0 = 0, H_{k+1} = a_k H_k + L_k, H_k written over L_k. */
__global__ void __launch_bounds__(THREADS) chunk_scan_kernel(float *__restrict__ states,
                                                             const float *__restrict__ decays, int nc, int sp)
{
    const int bh = blockIdx.y, e = blockIdx.x * THREADS + threadIdx.x;
    if (e >= sp)
        return;
    float *st = states + (size_t)bh * nc * sp + e;
    const float *dc = decays + (size_t)bh * nc;
    float run = 0.f;
    constexpr int U = 8; /* loads of U chunks issued before their dependent updates */
    int k = 0;
    for (; k + U <= nc; k += U) {
        float l[U], a[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            l[u] = st[(size_t)(k + u) * sp];
            a[u] = dc[k + u];
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            st[(size_t)(k + u) * sp] = run;
            run = fmaf(a[u], run, l[u]);
        }
    }
    for (; k < nc; k++) {
        const float l = st[(size_t)k * sp];
        st[(size_t)k * sp] = run;
        run = fmaf(dc[k], run, l);
    }
}

/* Pass 3: Y = (C Bᵀ ∘ exp(cum_i − cum_j) dt_j masked) X + diag(exp(cum)) C H_k. */
template <typename T, int S, int P>
__global__ void __launch_bounds__(THREADS) chunk_output_kernel(Dims d, const T *__restrict__ x,
                                                               const T *__restrict__ bm,
                                                               const T *__restrict__ cm,
                                                               const float *__restrict__ dt,
                                                               const float *__restrict__ A,
                                                               const float *__restrict__ states,
                                                               float *__restrict__ y, int nc, int dir)
{
    extern __shared__ float smem[];
    float *ct = smem;          /* [S][CHP] Cᵀ */
    float *bt = ct + S * CHP;  /* [S][CHP] Bᵀ */
    float *mt = bt + S * CHP;  /* [CH][CHP] Mᵀ: mt[j][i] = M[i][j] */
    float *xs = mt + CH * CHP; /* [CH][P] */
    float *hs = xs + CH * P;   /* [S][P] the state before the chunk */
    __shared__ float ws[CH], cum[CH], ec[CH];
    const int chunk = blockIdx.x, bh = blockIdx.y, b = bh / d.H, h = bh % d.H, n = d.n;
    const int k0 = chunk * CH, cnt = min(CH, n - k0);
    chunk_decay(dt + dt_off(d, b, h), A[h], k0, cnt, n, dir, ws, cum);
    if (threadIdx.x < CH)
        ec[threadIdx.x] = __expf(cum[threadIdx.x]);
    const T *xb = x + x_off(d, b, h), *bb = bm + bc_off(d, b, h), *cb = cm + bc_off(d, b, h);
    for (int e = threadIdx.x; e < CH * S; e += THREADS) {
        const int j = e / S, i = e % S;
        float bv = 0.f, cv = 0.f;
        if (j < cnt) {
            const size_t g = (size_t)phys(k0 + j, n, dir) * S + i;
            bv = to_f(bb[g]);
            cv = to_f(cb[g]);
        }
        bt[i * CHP + j] = bv;
        ct[i * CHP + j] = cv;
    }
    for (int e = threadIdx.x; e < CH * P; e += THREADS) {
        const int j = e / P;
        xs[e] = j < cnt ? to_f(xb[(size_t)phys(k0 + j, n, dir) * P + e % P]) : 0.f;
    }
    const float *hg = states + ((size_t)bh * nc + chunk) * S * P;
    for (int e = threadIdx.x; e < S * P; e += THREADS)
        hs[e] = hg[e];
    __syncthreads();
    const int ti = threadIdx.x / 16, tj = threadIdx.x % 16;
    { /* M = C Bᵀ, decayed and masked, stored transposed */
        float g[4][4];
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int c = 0; c < 4; c++)
                g[a][c] = 0.f;
        for (int s = 0; s < S; s++) {
            float av[4], bv[4];
#pragma unroll
            for (int a = 0; a < 4; a++) {
                av[a] = ct[s * CHP + ti + 16 * a];
                bv[a] = bt[s * CHP + tj + 16 * a];
            }
#pragma unroll
            for (int a = 0; a < 4; a++)
#pragma unroll
                for (int c = 0; c < 4; c++)
                    g[a][c] = fmaf(av[a], bv[c], g[a][c]);
        }
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int c = 0; c < 4; c++) {
                const int i = ti + 16 * a, j = tj + 16 * c;
                const bool keep = dir ? j < i : j <= i;
                mt[j * CHP + i] = keep ? g[a][c] * __expf(cum[i] - cum[j]) * ws[j] : 0.f;
            }
    }
    __syncthreads();
    /* Y rows i = ti + 16a, columns p = tj + 16c */
    float acc[4][P / 16];
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int c = 0; c < P / 16; c++)
            acc[a][c] = 0.f;
    for (int s = 0; s < S; s++) { /* C H */
        float av[4], bv[P / 16];
#pragma unroll
        for (int a = 0; a < 4; a++)
            av[a] = ct[s * CHP + ti + 16 * a];
#pragma unroll
        for (int c = 0; c < P / 16; c++)
            bv[c] = hs[s * P + tj + 16 * c];
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int c = 0; c < P / 16; c++)
                acc[a][c] = fmaf(av[a], bv[c], acc[a][c]);
    }
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int c = 0; c < P / 16; c++)
            acc[a][c] *= ec[ti + 16 * a];
    for (int j = 0; j < CH; j++) { /* + M X */
        float av[4], bv[P / 16];
#pragma unroll
        for (int a = 0; a < 4; a++)
            av[a] = mt[j * CHP + ti + 16 * a];
#pragma unroll
        for (int c = 0; c < P / 16; c++)
            bv[c] = xs[j * P + tj + 16 * c];
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int c = 0; c < P / 16; c++)
                acc[a][c] = fmaf(av[a], bv[c], acc[a][c]);
    }
#pragma unroll
    for (int a = 0; a < 4; a++) {
        const int i = ti + 16 * a;
        if (i >= cnt)
            continue;
        float *yr = y + ((size_t)bh * n + phys(k0 + i, n, dir)) * P;
#pragma unroll
        for (int c = 0; c < P / 16; c++) {
            const int p = tj + 16 * c;
            yr[p] = dir ? yr[p] + acc[a][c] : acc[a][c];
        }
    }
}

template <int S, int P>
constexpr size_t states_smem()
{
    return sizeof(float) * (size_t)(CH * S + CH * P);
}
template <int S, int P>
constexpr size_t output_smem()
{
    return sizeof(float) * (size_t)(2 * S * CHP + CH * CHP + CH * P + S * P);
}

Dims dims_of(const struct kb_shape *s)
{
    Dims d;
    d.H = s->heads;
    d.G = s->kv_heads > 0 ? s->kv_heads : 1;
    d.n = s->seq_len;
    d.T = s->seq_len + (s->decode ? 1 : 0);
    d.P = s->head_dim;
    d.S = s->state;
    return d;
}

template <typename T, int S, int P>
cudaError_t chunked_typed(const struct kb_shape *s, const struct ssd_cuda_args *a, cudaStream_t st)
{
    const Dims d = dims_of(s);
    const int nc = (d.n + CH - 1) / CH, bh = s->batch * s->heads;
    const size_t s1 = states_smem<S, P>(), s3 = output_smem<S, P>();
    cudaError_t e = cudaFuncSetAttribute(chunk_states_kernel<T, S, P>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         (int)s1);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(chunk_output_kernel<T, S, P>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)s3);
    if (e != cudaSuccess)
        return e;
    const T *x = (const T *)a->x, *b = (const T *)a->b, *c = (const T *)a->c;
    const int passes = s->causal ? 1 : 2;
    for (int dir = 0; dir < passes; dir++) {
        chunk_states_kernel<T, S, P><<<dim3(nc, bh), THREADS, s1, st>>>(d, x, b, a->dt, a->A, a->states, a->decays,
                                                                          nc, dir);
        if ((e = cudaGetLastError()) != cudaSuccess)
            return e;
        chunk_scan_kernel<<<dim3((S * P + THREADS - 1) / THREADS, bh), THREADS, 0, st>>>(a->states, a->decays, nc,
                                                                                         S * P);
        if ((e = cudaGetLastError()) != cudaSuccess)
            return e;
        chunk_output_kernel<T, S, P><<<dim3(nc, bh), THREADS, s3, st>>>(d, x, b, c, a->dt, a->A, a->states, a->y,
                                                                          nc, dir);
        if ((e = cudaGetLastError()) != cudaSuccess)
            return e;
    }
    return cudaSuccess;
}

template <typename T>
cudaError_t chunked_sized(const struct kb_shape *s, const struct ssd_cuda_args *a, cudaStream_t st)
{
    if (s->state == 64 && s->head_dim == 64)
        return chunked_typed<T, 64, 64>(s, a, st);
    if (s->state == 128 && s->head_dim == 64)
        return chunked_typed<T, 128, 64>(s, a, st);
    if (s->state == 64 && s->head_dim == 128)
        return chunked_typed<T, 64, 128>(s, a, st);
    if (s->state == 128 && s->head_dim == 128)
        return chunked_typed<T, 128, 128>(s, a, st);
    return cudaErrorInvalidValue;
}

int recurrent_threads(const struct kb_shape *s)
{
    return (s->head_dim * RT + 31) / 32 * 32;
}

size_t recurrent_smem(const struct kb_shape *s)
{
    return sizeof(float) * (size_t)RTILE * (RCOLS + 2 * s->state + 1);
}

template <typename T>
cudaError_t recurrent_typed(const struct kb_shape *s, const struct ssd_cuda_args *a, float *y, float *state_out,
                            int passes, cudaStream_t st)
{
    const Dims d = dims_of(s);
    const dim3 grid(s->batch * s->heads, (s->head_dim + RCOLS - 1) / RCOLS);
    recurrent_kernel<T><<<grid, RCOLS * RT, recurrent_smem(s), st>>>(
        d, (const T *)a->x, (const T *)a->b, (const T *)a->c, a->dt, a->A, y, state_out, passes);
    return cudaGetLastError();
}

} /* namespace */

extern "C" int ssd_cuda_chunked_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a,
                                       void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (t == KB_DTYPE_F16)
        return (int)chunked_sized<__half>(s, a, st);
    if (t == KB_DTYPE_BF16)
        return (int)chunked_sized<__nv_bfloat16>(s, a, st);
    return (int)cudaErrorInvalidValue;
}

extern "C" int ssd_cuda_recurrent_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a,
                                         void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const int passes = s->causal ? 1 : 2;
    if (t == KB_DTYPE_F16)
        return (int)recurrent_typed<__half>(s, a, a->y, NULL, passes, st);
    if (t == KB_DTYPE_BF16)
        return (int)recurrent_typed<__nv_bfloat16>(s, a, a->y, NULL, passes, st);
    return (int)cudaErrorInvalidValue;
}

extern "C" int ssd_cuda_build_states(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a,
                                     void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (t == KB_DTYPE_F16)
        return (int)recurrent_typed<__half>(s, a, NULL, a->states, 1, st);
    if (t == KB_DTYPE_BF16)
        return (int)recurrent_typed<__nv_bfloat16>(s, a, NULL, a->states, 1, st);
    return (int)cudaErrorInvalidValue;
}

extern "C" int ssd_cuda_decode_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a,
                                      void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const Dims d = dims_of(s);
    const int blocks = s->batch * s->heads, threads = recurrent_threads(s);
    if (t == KB_DTYPE_F16)
        decode_kernel<__half><<<blocks, threads, 0, st>>>(d, (const __half *)a->x, (const __half *)a->b,
                                                          (const __half *)a->c, a->dt, a->A, a->states,
                                                          a->states_new, a->y);
    else if (t == KB_DTYPE_BF16)
        decode_kernel<__nv_bfloat16><<<blocks, threads, 0, st>>>(
            d, (const __nv_bfloat16 *)a->x, (const __nv_bfloat16 *)a->b, (const __nv_bfloat16 *)a->c, a->dt, a->A,
            a->states, a->states_new, a->y);
    else
        return (int)cudaErrorInvalidValue;
    return (int)cudaGetLastError();
}
