// attention_naive.cu - a CUDA kbench plugin: an implementation of kbench's softmax attention
// (attention.softmax), attention.naive@cuda.plugin. One warp per query row walks the keys with an
// online softmax (each lane keeps d/32 of the row's output); no shared-memory tiling, no tensor
// cores: the plainest correct GPU kernel, to sit beside attention.flash@cuda.* in kbench.
//
// The operation gives it Q, K, V and O in host memory (c->io, float32, row-major; see
// softmax_ops.h in <kbench/kbench.h>). setup copies Q, K and V to the GPU, run launches on
// c->stream without waiting, collect (outside the timed region) copies O back into c->io, and
// kbench judges it against the operation's float64 reference, as it judges every implementation.
// Build (see Makefile): nvcc -O2 $(pkg-config --cflags kbench) -shared -Xcompiler -fPIC ...
#include <kbench/kbench.h>

#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_D 256
#define WARPS_PER_BLOCK 4

struct naive {
    float *q, *k, *v, *o; // device copies of the operands
    size_t q_bytes, kv_bytes;
};

__global__ void attention_rows(const float *q, const float *k, const float *v, float *o, int h, int hkv, int n,
                               int rows_per_head, int d, int causal, long rows, float scale)
{
    long row = (long)blockIdx.x * WARPS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows)
        return;
    // row = ((b * H + head) * rows_per_head + i): rows_per_head is N, or 1 in decode
    int i = (int)(row % rows_per_head), head = (int)(row / rows_per_head % h), b = (int)(row / rows_per_head / h);
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
    cudaFree(st->q), cudaFree(st->k), cudaFree(st->v), cudaFree(st->o);
    free(st);
    c->state = NULL;
}

static int upload(float **dev, const void *host, size_t bytes)
{
    return cudaMalloc((void **)dev, bytes) == cudaSuccess &&
           cudaMemcpy(*dev, host, bytes, cudaMemcpyHostToDevice) == cudaSuccess ? 0 : -1;
}

static int naive_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape; // completed by the operation: kv_heads is set
    if (s->head_dim > MAX_D) {
        snprintf(err, errlen, "attention.naive@cuda.plugin: d = %d, at most %d", s->head_dim, MAX_D);
        return KB_UNSUPPORTED;
    }
    if (cudaSetDevice(c->device_index) != cudaSuccess) {
        snprintf(err, errlen, "attention.naive@cuda.plugin: no cuda:%d", c->device_index);
        return KB_ERROR;
    }
    struct naive *st = (struct naive *)calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.naive@cuda.plugin: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    // the operands' sizes: elements times 4 bytes (c->io.bytes[i] also counts padding)
    st->q_bytes = 4 * kb_operands_elems(&c->io, KB_ATTN_Q);
    st->kv_bytes = 4 * kb_operands_elems(&c->io, KB_ATTN_K);
    if (upload(&st->q, kb_input(c, KB_ATTN_Q), st->q_bytes) || upload(&st->k, kb_input(c, KB_ATTN_K), st->kv_bytes) ||
        upload(&st->v, kb_input(c, KB_ATTN_V), st->kv_bytes) ||
        cudaMalloc((void **)&st->o, st->q_bytes) != cudaSuccess) {
        snprintf(err, errlen, "attention.naive@cuda.plugin: %s", cudaGetErrorString(cudaGetLastError()));
        naive_teardown(c);
        return KB_ERROR;
    }
    c->input_copies = 1; // one copy of the inputs: no rotation in cold-cache runs
    return KB_OK;
}

static int naive_run(struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    struct naive *st = (struct naive *)c->state;
    int rows_per_head = s->decode ? 1 : s->seq_len;
    long rows = (long)s->batch * s->heads * rows_per_head;
    unsigned blocks = (unsigned)((rows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
    attention_rows<<<blocks, 32 * WARPS_PER_BLOCK, 0, (cudaStream_t)c->stream>>>(
        st->q, st->k, st->v, st->o, s->heads, s->kv_heads, s->seq_len, rows_per_head, s->head_dim,
        s->causal && !s->decode, rows, 1.0f / sqrtf((float)s->head_dim));
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "attention.naive@cuda.plugin: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

// After the last run, outside the timed region: O back into the operation's host tensor.
static int naive_collect(struct kb_case *c)
{
    struct naive *st = (struct naive *)c->state;
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)c->stream);
    if (e == cudaSuccess)
        e = cudaMemcpy(kb_output(c, KB_ATTN_O), st->o, st->q_bytes, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "attention.naive@cuda.plugin: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

// Filled field by field (C++ before C++20 has no designated initializers): every field left out
// is zero, and the descriptor does not depend on the order of struct kb_kernel's fields.
static struct kb_kernel describe(void)
{
    struct kb_kernel k = {};
    k.name = "attention.naive";
    k.impl = "cuda.plugin";
    k.description = "softmax attention, one warp per row, online softmax, float32 (example plugin)";
    k.device = KB_DEVICE_CUDA;
    k.dtypes = KB_DTYPE_BIT(KB_DTYPE_F32);
    k.setup = naive_setup;
    k.run = naive_run;
    k.collect = naive_collect;
    k.teardown = naive_teardown;
    k.op = &kb_op_attention_softmax;
    return k;
}
static const struct kb_kernel attention_naive_cuda = describe();

KBENCH_PLUGIN(&attention_naive_cuda)
