/* linear_sp.c - attention.linear@cuda.sp: linear attention over the GPUs of a span (--span),
 * sequence parallel with LASP-2's single collective (kernels/gpu/span.h: one process, a
 * stream per GPU).
 *
 * Rank r holds the rows [n0_r, n0_r + n_r) of every head (chunk-aligned shards). One call:
 *   1 each rank: its shard's output as if the sequence began there (the single-GPU passes of
 *     linear_mma.cu, unchanged: o_local) and its shard's state per kv head, S = Σ φ(k)ᵀv (d×d)
 *     and z = Σ φ(k) (linear_sp_dev.cu)
 *   2 one ncclAllGather of the states ((d+1)·d floats per kv head and rank)
 *   3 each rank sums the states before it (causal) or of every other shard (non-causal) and
 *     corrects its rows: o = (o_local·den_local + φ(q)·P) / (den_local + φ(q)·z_P)
 * Decay (RetNet/Lightning) would weight the gathered states by λ^distance: not here yet, such
 * cases are skipped. Span 1 runs the same path (an all-gather of one).
 *
 * Verification is attention.linear's float64 reference of the whole sequence on one device. */
#include "kernels/attention/linear_sp.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_cuda.h"
#include "kernels/attention/linear_ops.h"
#include "kernels/gpu/span.h"
#include "kernels/gpu/nccl_include.h"

struct sp_rank {
    int n0, nn;
    void *q, *k, *v, *o_local;
    struct linear_cuda_scratch scr;
    float *state, *zc, *gathered, *prefix, *o;
};

struct sp_state {
    struct kb_span span;
    long per_rank; /* floats of one rank's states: B·H_kv·(d+1)·d */
    struct sp_rank rank[KB_SPAN_MAX];
};

static void sp_teardown(struct kb_case *c)
{
    struct sp_state *g = c->state;
    if (!g)
        return;
    for (int r = 0; r < g->span.ranks; r++) {
        struct sp_rank *rk = &g->rank[r];
        cudaSetDevice(g->span.first + r);
        void *dev[] = { rk->q, rk->k, rk->v, rk->o_local, rk->scr.local, rk->scr.prefix, rk->scr.zprefix,
                        rk->state, rk->zc, rk->gathered, rk->prefix, rk->o };
        for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
            cudaFree(dev[i]);
    }
    kb_span_state_close(c);
}

/* rows [n0, n0+nn) of every head of a [B][heads][N][d] host tensor, uploaded in dtype t */
static int upload_shard(const float *host, const struct kb_shape *s, int heads, int n0, int nn, enum kb_dtype t,
                        void **dst, void *stream, char *err, size_t errlen)
{
    const size_t d = (size_t)s->head_dim, rows = (size_t)s->batch * heads;
    float *stage = malloc((rows * nn * d + 1) * sizeof *stage);
    if (!stage) {
        snprintf(err, errlen, "attention.linear@cuda.sp: out of memory");
        return KB_ERROR;
    }
    for (size_t r = 0; r < rows; r++)
        memcpy(stage + r * nn * d, host + (r * s->seq_len + n0) * d, (size_t)nn * d * sizeof *stage);
    int rc = attention_cuda_upload_f32(stage, rows * nn * d, t, dst, stream, err, errlen);
    free(stage);
    return rc;
}

static int rank_setup(struct sp_state *g, int r, struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    struct sp_rank *rk = &g->rank[r];
    const int R = g->span.ranks, N = s->seq_len;
    const int per = (N + R - 1) / R;
    const int per_aligned = (per + LINEAR_CUDA_CHUNK - 1) / LINEAR_CUDA_CHUNK * LINEAR_CUDA_CHUNK;
    rk->n0 = (int)((long)r * per_aligned < N ? (long)r * per_aligned : N);
    rk->nn = N - rk->n0 < per_aligned ? N - rk->n0 : per_aligned;
    void *st = g->span.stream[r];
    const size_t d = (size_t)s->head_dim, groups = (size_t)s->batch * s->kv_heads;
    const size_t qrows = (size_t)s->batch * s->heads * rk->nn, esize = (size_t)kb_dtype_size(c->dtype);
    int rc = KB_OK;
    if (rk->nn > 0) {
        rc = upload_shard(kb_input(c, KB_LIN_Q), s, s->heads, rk->n0, rk->nn, c->dtype, &rk->q, st, err, errlen);
        if (rc == KB_OK)
            rc = upload_shard(kb_input(c, KB_LIN_K), s, s->kv_heads, rk->n0, rk->nn, c->dtype, &rk->k, st, err,
                              errlen);
        if (rc == KB_OK)
            rc = upload_shard(kb_input(c, KB_LIN_V), s, s->kv_heads, rk->n0, rk->nn, c->dtype, &rk->v, st, err,
                              errlen);
        if (rc != KB_OK)
            return rc;
    }
    struct kb_shape sh = *s;
    sh.seq_len = rk->nn > 0 ? rk->nn : 1;
    const size_t chunks = (size_t)s->batch * s->heads * (size_t)((sh.seq_len + LINEAR_CUDA_CHUNK - 1) / LINEAR_CUDA_CHUNK);
    cudaError_t e = cudaMalloc(&rk->o_local, qrows * esize + 16);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->scr.local, chunks * (d + 1) * d * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc(&rk->scr.prefix, chunks * d * d * esize);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->scr.zprefix, chunks * d * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->state, (size_t)g->per_rank * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->zc, groups * (size_t)(rk->nn > 0 ? rk->nn : 1) * d * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->gathered, (size_t)R * g->per_rank * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->prefix, (size_t)g->per_rank * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->o, qrows * sizeof(float) + 16);
    if (e == cudaSuccess) /* NaN: a row the kernels miss fails verify */
        e = cudaMemset(rk->o, 0xFF, qrows * sizeof(float) + 16);
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        snprintf(err, errlen, "attention.linear@cuda.sp: rank %d buffers: %s", r, cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int sp_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    if (s->decode || s->decay) {
        snprintf(err, errlen, "attention.linear@cuda.sp: %s is not sequence parallel here (attention.linear@cuda.mma "
                 "runs it on one GPU)", s->decode ? "the decode step" : "decay");
        return KB_UNSUPPORTED;
    }
    if (s->chunk != LINEAR_CUDA_CHUNK || (s->head_dim != 64 && s->head_dim != 128)) {
        snprintf(err, errlen, "attention.linear@cuda.sp: needs chunk %d and d = 64 or 128 (the single-GPU passes)",
                 LINEAR_CUDA_CHUNK);
        return KB_UNSUPPORTED;
    }
    int rc = kb_span_state_open(c, sizeof(struct sp_state), "attention.linear@cuda.sp", err, errlen);
    if (rc != KB_OK)
        return rc;
    struct sp_state *g = c->state;
    g->per_rank = (long)s->batch * s->kv_heads * (s->head_dim + 1) * s->head_dim;
    for (int r = 0; r < g->span.ranks && rc == KB_OK; r++) {
        rc = cudaSetDevice(g->span.first + r) == cudaSuccess ? KB_OK : KB_ERROR;
        if (rc == KB_OK)
            rc = rank_setup(g, r, c, err, errlen);
        else
            snprintf(err, errlen, "attention.linear@cuda.sp: cannot use cuda:%d", g->span.first + r);
    }
    cudaSetDevice(g->span.first);
    if (rc != KB_OK)
        sp_teardown(c);
    return rc;
}

static int sp_run(struct kb_case *c)
{
#ifndef HAVE_NCCL
    snprintf(c->error, sizeof c->error, "attention.linear@cuda.sp: built without NCCL");
    return KB_ERROR;
#else
    struct sp_state *g = c->state;
    const struct kb_shape *s = &c->shape;
    const int R = g->span.ranks, d = s->head_dim, bf16 = c->dtype == KB_DTYPE_BF16;
    const int groups = s->batch * s->kv_heads;
    if (kb_span_refuse_capture(c, "attention.linear@cuda.sp"))
        return KB_ERROR;
    const char *step = "fork";
    int e = kb_span_fork(&g->span);
    for (int r = 0; r < R && e == 0; r++) {
        struct sp_rank *rk = &g->rank[r];
        void *st = g->span.stream[r];
        step = "the shard's own passes";
        e = (int)cudaSetDevice(g->span.first + r);
        struct kb_shape sh = *s;
        sh.seq_len = rk->nn;
        if (e == 0 && rk->nn > 0)
            e = linear_cuda_launch(&sh, c->dtype, rk->q, rk->k, rk->v, rk->o_local, &rk->scr, st);
        if (e == 0)
            e = linear_sp_state_launch(rk->k, rk->v, groups, rk->nn, d, s->feature, bf16, rk->state, rk->zc, st);
    }
    if (e == 0) {
        step = "the all-gather of the states (NCCL)";
        int bad = ncclGroupStart() != ncclSuccess;
        for (int r = 0; r < R && !bad; r++)
            bad = ncclAllGather(g->rank[r].state, g->rank[r].gathered, (size_t)g->per_rank, ncclFloat,
                                (ncclComm_t)g->span.comm[r], (cudaStream_t)g->span.stream[r]) != ncclSuccess;
        bad |= ncclGroupEnd() != ncclSuccess;
        e = bad ? (int)cudaErrorUnknown : 0;
        g->span.bytes_moved = (double)R * (R - 1) * g->per_rank * sizeof(float);
    }
    for (int r = 0; r < R && e == 0; r++) {
        struct sp_rank *rk = &g->rank[r];
        void *st = g->span.stream[r];
        step = "the prefix and the corrected outputs";
        e = (int)cudaSetDevice(g->span.first + r);
        if (e == 0)
            e = linear_sp_prefix_launch(rk->gathered, g->per_rank, s->causal ? r : R, s->causal ? -1 : r, rk->prefix,
                                        st);
        if (e == 0 && rk->nn > 0)
            e = linear_sp_correct_launch(rk->q, rk->o_local, rk->prefix, rk->zc, rk->state, s->batch, s->heads,
                                         s->kv_heads, rk->nn, d, s->feature, s->causal, bf16, rk->o, st);
    }
    if (e == 0) {
        step = "join";
        e = kb_span_join(&g->span);
    }
    cudaSetDevice(g->span.first);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "attention.linear@cuda.sp: %s: %s", step,
                 cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
#endif
}

static int sp_collect(struct kb_case *c)
{
    struct sp_state *g = c->state;
    const struct kb_shape *s = &c->shape;
    float *out = kb_output(c, KB_LIN_O);
    const size_t d = (size_t)s->head_dim, rows = (size_t)s->batch * s->heads;
    cudaError_t e = cudaSuccess;
    for (int r = 0; r < g->span.ranks && e == cudaSuccess; r++) {
        const struct sp_rank *rk = &g->rank[r];
        e = (cudaError_t)kb_span_rank_sync(&g->span, r);
        if (e == cudaSuccess && rk->nn > 0)
            e = cudaMemcpy2D(out + (size_t)rk->n0 * d, (size_t)s->seq_len * d * sizeof(float), rk->o,
                             (size_t)rk->nn * d * sizeof(float), (size_t)rk->nn * d * sizeof(float), rows,
                             cudaMemcpyDeviceToHost);
    }
    cudaSetDevice(g->span.first);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "attention.linear@cuda.sp collect: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

/* host staging of one tensor's shard at a time */
static double sp_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return 4.0 * s->batch * s->heads * s->seq_len * s->head_dim;
}

const struct kb_kernel kb_attention_linear_cuda_sp = {
    .name = "attention.linear",
    .impl = "cuda.sp",
    .description = "linear attention over --span GPUs, sequence parallel (LASP-2): shard outputs and states, one "
                   "NCCL all-gather of the d×d states, prefix-corrected outputs; f16/bf16, d = 64 or 128, no decay",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_FEATURE) |
            KB_AXIS_BIT(KB_AXIS_SPAN),
    .footprint = sp_footprint,
    .setup = sp_setup,
    .run = sp_run,
    .teardown = sp_teardown,
    .op = &kb_op_attention_linear,
    .collect = sp_collect,
    .stats = kb_span_case_stats,
};
