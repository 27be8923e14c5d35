/* decode_cuda.c - attention.flash@cuda.decode: the kernel descriptor and host side of
 * flash-decoding (device code and the method in decode_split.cu). f16 and bf16, d = 64, 128 and
 * 256, batch >= 1, GQA, contiguous (page 0) or paged (page > 0) KV cache, decode = 1 only.
 *
 * An implementation of attention.softmax (softmax_ops.h): setup copies the operation's Q, K, V
 * (already f16/bf16 values; K and V are the page pools when paged) and the block table to the
 * GPU, chooses the splits from N, the CTAs per split and the GPU's SM count
 * (decode_cuda_split), and allocates the partials; run enqueues the split kernel and the
 * combine; collect copies O back widened to float32 for the operation's float64 reference. */
#include "config.h"
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/decode_cuda.h"
#include "kernels/attention/paged_kv.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/gpu/device_memory.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct decode_cuda {
    struct decode_cuda_args args;   /* the pointers of input copy 0 */
    void *q, *k, *v, *o;            /* device */
    int32_t *table;                 /* device block table, or NULL */
    float *part;                    /* partial outputs, then (m, l) pairs */
    struct input_copies qc, kc, vc; /* cold-cache rotation */
};

/* Partials of at most ceil(N / DECODE_CUDA_MIN_SPLIT) splits (the GPU's SM count is not known here). */
static double partial_bytes(const struct kb_shape *s, int splits)
{
    return 4.0 * (double)s->batch * s->heads * splits * (s->head_dim + 2.0);
}

static double decode_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return partial_bytes(s, (s->seq_len + DECODE_CUDA_MIN_SPLIT - 1) / DECODE_CUDA_MIN_SPLIT);
}

/* The split target, read once from the environment to compare others: KBENCH_DECODE_CTAS_PER_SM
 * (1..64; the counter decode.splits shows what ran). */
static int decode_ctas_per_sm(void)
{
    static int per_sm = -1;
    if (per_sm < 0) {
        const char *e = getenv("KBENCH_DECODE_CTAS_PER_SM");
        const int v = e ? atoi(e) : 0;
        per_sm = v >= 1 && v <= 64 ? v : DECODE_CUDA_CTAS_PER_SM;
    }
    return per_sm;
}

static void decode_teardown(struct kb_case *c)
{
    struct decode_cuda *a = c->state;
    if (a) {
        attention_cuda_free_qkvo(&a->qc, &a->kc, &a->vc, a->q, a->k, a->v, a->o);
        cudaFree(a->table);
        cudaFree(a->part);
        free(a);
    }
    c->state = NULL;
}

static int decode_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    if (!s->decode) {
        snprintf(err, errlen, "attention.flash@cuda.decode is a decode step: give decode = 1");
        return KB_UNSUPPORTED;
    }
    if (c->dtype != KB_DTYPE_F16 && c->dtype != KB_DTYPE_BF16) {
        snprintf(err, errlen, "dtype %s: this kernel computes in f16 or bf16", kb_dtype_name(c->dtype));
        return KB_UNSUPPORTED;
    }
    if (s->head_dim != 64 && s->head_dim != 128 && s->head_dim != 256) {
        snprintf(err, errlen, "head_dim = %d: this kernel is compiled for d = 64, 128 and 256", s->head_dim);
        return KB_UNSUPPORTED;
    }
    struct decode_cuda *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = a;
    int sms = 0;
    cudaError_t e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, c->device_index);
    if (e != cudaSuccess) {
        decode_teardown(c);
        return attention_cuda_fail(e, "reading the SM count", err, errlen);
    }
    struct decode_cuda_args *g = &a->args;
    g->batch = s->batch;
    g->heads = s->heads;
    g->kv_heads = s->kv_heads;
    g->n = s->seq_len;
    g->d = s->head_dim;
    g->page = s->page;
    g->dtype = c->dtype;
    long rows = (long)s->batch * s->kv_heads * decode_cuda_head_chunks(s->heads / s->kv_heads);
    decode_cuda_split(s->seq_len, rows, sms, decode_ctas_per_sm(), &g->splits, &g->chunk);

    const size_t nkv = kb_operands_elems(&c->io, KB_ATTN_K), nq = kb_operands_elems(&c->io, KB_ATTN_Q);
    cudaStream_t st = (cudaStream_t)c->stream;
    int rc = attention_cuda_upload_qkv(c, &a->q, &a->k, &a->v, err, errlen);
    if (rc == KB_OK && s->page > 0) {
        const size_t entries = kb_operands_elems(&c->io, KB_ATTN_BLOCK_TABLE);
        e = cudaMalloc((void **)&a->table, entries * sizeof(int32_t));
        if (e == cudaSuccess)
            e = (cudaError_t)gpu_copy_to_device(a->table, kb_input(c, KB_ATTN_BLOCK_TABLE), entries * sizeof(int32_t));
        if (e != cudaSuccess)
            rc = attention_cuda_fail(e, "uploading the block table", err, errlen);
    }
    if (rc == KB_OK) {
        const size_t ob = nq * (size_t)kb_dtype_size(c->dtype);
        e = cudaMalloc(&a->o, ob);
        /* poisoned (0xFFFF is a NaN in f16 and bf16): an unwritten element fails verify */
        if (e == cudaSuccess)
            e = cudaMemsetAsync(a->o, 0xFF, ob, st);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&a->part, (size_t)partial_bytes(s, g->splits));
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(st);
        if (e != cudaSuccess)
            rc = attention_cuda_fail(e, "allocating O and the partials", err, errlen);
    }
    if (rc != KB_OK) {
        decode_teardown(c);
        return rc;
    }
    g->q = a->q;
    g->k = a->k;
    g->v = a->v;
    g->table = a->table;
    g->o = a->o;
    g->part_o = a->part;
    g->part_ml = a->part + (size_t)s->batch * s->heads * g->splits * s->head_dim;
    const size_t es = (size_t)kb_dtype_size(c->dtype);
    attention_cuda_copies_of(c, c->stream, &a->qc, &a->kc, &a->vc, a->q, a->k, a->v, nq * es, nkv * es);
    return KB_OK;
}

static int decode_run(struct kb_case *c)
{
    struct decode_cuda *a = c->state;
    struct decode_cuda_args g = a->args;
    if (a->qc.n > 1) {
        g.q = input_copies_get(&a->qc, c->input_copy);
        g.k = input_copies_get(&a->kc, c->input_copy);
        g.v = input_copies_get(&a->vc, c->input_copy);
    }
    int e = decode_cuda_launch(&g, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "flash-decoding launch (%d splits of %d tokens): %s", g.splits, g.chunk,
                 cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int decode_collect(struct kb_case *c)
{
    const struct decode_cuda *a = c->state;
    return attention_cuda_collect_device_o(c, a->o, c->dtype);
}

/* The split the case ran with, for the results (not a hardware counter). */
static int decode_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct decode_cuda *a = c->state;
    if (!a || max < 2)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "decode.splits");
    out[0].value = a->args.splits;
    snprintf(out[0].unit, sizeof out[0].unit, "count");
    snprintf(out[1].name, sizeof out[1].name, "decode.split_tokens");
    out[1].value = a->args.chunk;
    snprintf(out[1].unit, sizeof out[1].unit, "count");
    return 2;
}

const struct kb_kernel kb_attention_decode_cuda = {
    .name = "attention.flash",
    .impl = "cuda.decode",
    .description = "flash-decoding (split KV, log-sum-exp combine), decode = 1 only, contiguous or paged KV cache, "
                   "f16/bf16, d = 64/128/256, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_PAGE),
    .required_axes = KB_AXIS_BIT(KB_AXIS_DECODE), /* planned for decode = 1 only */
    .footprint = decode_footprint,
    .setup = decode_setup,
    .run = decode_run,
    .collect = decode_collect,
    .stats = decode_stats,
    .teardown = decode_teardown,
    .op = &kb_op_attention_softmax,
};
