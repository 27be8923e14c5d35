// attention_naive.cu - a CUDA kbench plugin: softmax attention O = softmax(Q Kᵀ/√d) V in f32,
// attention.naive@cuda.plugin. One warp per query row walks the keys with an online softmax
// (each lane keeps d/32 of the row's output); no shared-memory tiling, no tensor cores: the
// plainest correct GPU kernel, to sit beside attention.flash@cuda.* in kbench.
//
// It takes kbench's attention axes (B, H, H_kv, N, d <= 256, causal, input distribution), makes
// its inputs on the host from the case's seed with kbench's generators, copies them to the GPU in
// setup, and in verify copies O back and checks sampled rows against its own float64 reference.
// Build (see Makefile): nvcc -O2 $(pkg-config --cflags kbench) -shared -Xcompiler -fPIC ...
#include <kbench/kbench.h>

#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_D 256
#define WARPS_PER_BLOCK 4

struct naive {
    int b, h, hkv, n, d, causal;
    float *q, *k, *v;       // host copies (the reference reads them)
    float *dq, *dk, *dv, *do_; // device
    float *o;               // host copy of O, filled by verify
};

static int kv_heads(const struct kb_shape *s) { return s->kv_heads > 0 ? s->kv_heads : s->heads; }

static double naive_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, n = s->seq_len, d = s->head_dim;
    return s->causal ? 2.0 * bh * n * (n + 1.0) * d : 4.0 * bh * n * n * d;
}

static double naive_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double bnd = (double)s->batch * s->seq_len * s->head_dim;
    return kb_dtype_size(t) * bnd * (2.0 * s->heads + 2.0 * kv_heads(s));
}

__global__ void attention_rows(const float *q, const float *k, const float *v, float *o, int h, int hkv,
                               int n, int d, int causal, long rows, float scale)
{
    long row = (long)blockIdx.x * WARPS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows)
        return;
    int i = (int)(row % n), head = (int)(row / n % h), b = (int)(row / n / h);
    long kv_base = ((long)b * hkv + head / (h / hkv)) * n * d;
    const float *qr = q + row * d;
    float acc[MAX_D / 32], max = -INFINITY, sum = 0.0f;
    for (int e = 0; e < MAX_D / 32; e++)
        acc[e] = 0.0f;
    int keys = causal ? i + 1 : n;
    for (int j = 0; j < keys; j++) {
        const float *kr = k + kv_base + (long)j * d, *vr = v + kv_base + (long)j * d;
        float dot = 0.0f;
        for (int e = lane; e < d; e += 32)
            dot += qr[e] * kr[e];
        for (int off = 16; off > 0; off /= 2)
            dot += __shfl_xor_sync(0xffffffffu, dot, off);
        float s = dot * scale, m = fmaxf(max, s);
        float old = __expf(max - m), p = __expf(s - m);
        sum = sum * old + p;
        for (int e = lane, x = 0; e < d; e += 32, x++)
            acc[x] = acc[x] * old + p * vr[e];
        max = m;
    }
    for (int e = lane, x = 0; e < d; e += 32, x++)
        o[row * d + e] = acc[x] / sum;
}

static void naive_teardown(struct kb_case *c)
{
    struct naive *st = (struct naive *)c->state;
    if (!st)
        return;
    free(st->q), free(st->k), free(st->v), free(st->o);
    cudaFree(st->dq), cudaFree(st->dk), cudaFree(st->dv), cudaFree(st->do_);
    free(st);
    c->state = NULL;
}

static int upload(float **dev, const float *host, size_t count)
{
    return cudaMalloc((void **)dev, count * sizeof(float)) == cudaSuccess &&
           cudaMemcpy(*dev, host, count * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess ? 0 : -1;
}

static int naive_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    int hkv = kv_heads(s);
    if (s->batch < 1 || s->heads < 1 || s->seq_len < 1 || s->head_dim < 1 || s->head_dim > MAX_D ||
        s->heads % hkv != 0) {
        snprintf(err, errlen, "attention.naive: needs B, H, N >= 1, 1 <= d <= %d and H a multiple of H_kv", MAX_D);
        return KB_UNSUPPORTED;
    }
    if (cudaSetDevice(c->device_index) != cudaSuccess) {
        snprintf(err, errlen, "attention.naive: no cuda:%d", c->device_index);
        return KB_ERROR;
    }
    struct naive *st = (struct naive *)calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.naive: out of memory");
        return KB_ERROR;
    }
    st->b = s->batch, st->h = s->heads, st->hkv = hkv, st->n = s->seq_len, st->d = s->head_dim;
    st->causal = s->causal;
    c->state = st;
    size_t d = (size_t)st->d, nq = (size_t)st->b * st->h * st->n * d, nkv = (size_t)st->b * hkv * st->n * d;
    st->q = (float *)malloc(nq * sizeof(float));
    st->o = (float *)malloc(nq * sizeof(float));
    st->k = (float *)malloc(nkv * sizeof(float));
    st->v = (float *)malloc(nkv * sizeof(float));
    if (!st->q || !st->o || !st->k || !st->v) {
        naive_teardown(c);
        snprintf(err, errlen, "attention.naive: out of host memory");
        return KB_ERROR;
    }
    gen_fill_input_f32(st->q, nq / d, d, c->seed * 3 + 1, s->input);
    gen_fill_input_f32(st->k, nkv / d, d, c->seed * 3 + 2, s->input);
    gen_fill_input_f32(st->v, nkv / d, d, c->seed * 3 + 3, s->input);
    if (upload(&st->dq, st->q, nq) || upload(&st->dk, st->k, nkv) || upload(&st->dv, st->v, nkv) ||
        cudaMalloc((void **)&st->do_, nq * sizeof(float)) != cudaSuccess) {
        snprintf(err, errlen, "attention.naive: %s", cudaGetErrorString(cudaGetLastError()));
        naive_teardown(c);
        return KB_ERROR;
    }
    c->input_copies = 1;
    return KB_OK;
}

static int naive_run(struct kb_case *c)
{
    struct naive *st = (struct naive *)c->state;
    long rows = (long)st->b * st->h * st->n;
    unsigned blocks = (unsigned)((rows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
    attention_rows<<<blocks, 32 * WARPS_PER_BLOCK, 0, (cudaStream_t)c->stream>>>(
        st->dq, st->dk, st->dv, st->do_, st->h, st->hkv, st->n, st->d, st->causal, rows, 1.0f / sqrtf((float)st->d));
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "attention.naive: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int naive_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct naive *st = (struct naive *)c->state;
    size_t d = (size_t)st->d, nq = (size_t)st->b * st->h * st->n * d;
    if (cudaMemcpy(st->o, st->do_, nq * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess)
        return KB_ERROR;
    long total = (long)st->b * st->h * st->n, rows[256];
    long nrows = verify_sample_rows(total, 256, c->seed, rows);
    double *p = (double *)malloc((size_t)st->n * sizeof *p);
    if (!p)
        return KB_ERROR;
    struct verify_acc a;
    verify_begin(&a);
    for (long r = 0; r < nrows; r++) {
        long row = rows[r];
        int i = (int)(row % st->n), head = (int)(row / st->n % st->h), b = (int)(row / st->n / st->h);
        const float *kv_k = st->k + ((size_t)b * st->hkv + head / (st->h / st->hkv)) * st->n * d;
        const float *kv_v = st->v + (kv_k - st->k);
        int keys = st->causal ? i + 1 : st->n;
        double max = -INFINITY, sum = 0.0;
        for (int j = 0; j < keys; j++) {
            double dot = 0.0;
            for (size_t e = 0; e < d; e++)
                dot += (double)st->q[row * d + e] * kv_k[j * d + e];
            p[j] = dot / sqrt((double)d);
            max = fmax(max, p[j]);
        }
        for (int j = 0; j < keys; j++)
            sum += p[j] = exp(p[j] - max);
        for (size_t e = 0; e < d; e++) {
            double ref = 0.0;
            for (int j = 0; j < keys; j++)
                ref += p[j] / sum * kv_v[j * d + e];
            verify_add(&a, st->o[row * d + e], ref);
        }
    }
    free(p);
    acc->rows_checked = nrows;
    acc->rows_total = total;
    verify_finish(&a, verify_default_tolerance(KB_DTYPE_F32), acc);
    return KB_OK;
}

// positional, in the order of struct kb_kernel (C++ has no designated initializers before C++20)
static const struct kb_kernel attention_naive_cuda = {
    "attention.naive", "cuda.plugin", "softmax attention, one warp per row, online softmax (example plugin)",
    KB_FAMILY_ATTENTION, KB_DEVICE_CUDA, KB_DTYPE_BIT(KB_DTYPE_F32), 0,
    naive_flops, naive_bytes, NULL, naive_setup, naive_run, naive_verify, NULL, naive_teardown,
};

KBENCH_PLUGIN(&attention_naive_cuda)
