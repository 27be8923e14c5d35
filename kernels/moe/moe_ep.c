/* moe_ep.c - moe.layer@cuda.ep: the MoE layer with expert parallelism over the GPUs of a span
 * (kb_shape.span; one process drives them all, kernels/gpu/span.h).
 *
 * Rank r of R holds tokens [r·T/R, (r+1)·T/R) and experts [r·E/R, (r+1)·E/R) (the router's
 * weights on every rank). One call, unfused (NCCL send/receive around the grouped GEMMs):
 *   1 each rank: router GEMM and top-k on its tokens, the counting sort of its assignments by
 *     expert, gather xp (rows in expert order, so the rows bound for one owner are contiguous)
 *   2 the host reads every rank's expert offsets (E+1 ints each; one process sees them all, so
 *     no count exchange is needed) and plans both exchanges and the receivers' row order
 *   3 dispatch: one NCCL group of sends/receives (an all-to-all of uneven blocks) by owner
 *   4 each owner: the grouped up (SwiGLU) and down GEMMs of moe_gemm_mma.cu over its experts,
 *     A rows gathered from the received blocks by index; the results gathered back into
 *     received order
 *   5 combine: the reverse exchange puts each result row in its sender's sorted slot, and the
 *     sender's combine kernel sums gate·row per token
 * Step 2 waits for the host, so a call cannot be captured in a CUDA graph: the harness times
 * it directly (its cuda_graph_replay counter says 0). Span 1 runs the same path through a
 * single-GPU communicator (sends to itself). Not here yet: the overlapped variant (one chunk's
 * exchange under another's GEMMs).
 *
 * Verification is moe.layer's: the float64 reference of the whole layer on one device. */
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_cuda.h"
#include "kernels/moe/moe_cuda_host.h"
#include "kernels/moe/moe_ep_plan.h"
#include "kernels/moe/moe_ops.h"
#include "kernels/gpu/span.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kernels/gpu/nccl_include.h"
#include "kernels/gpu/device_memory.h"

struct ep_rank {
    int t0, tn, e0, en;
    uint16_t *x, *wr, *w13, *w2, *xp, *recv, *hb, *yl, *ret, *back;
    float *bias, *logits, *gates, *y;
    int *one_group, *ids, *chunk_counts, *offsets, *mtile_start, *perm, *slot_of;
    int *a_index, *l_off, *l_mts, *ret_perm;
    /* host: this rank's expert offsets, and its plan as a receiver */
    int *h_off, *h_a_index, *h_l_off, *h_l_mts, *h_ret_perm;
    long nrecv;
};

struct ep_state {
    struct kb_span span;
    int hp, fp, ep;
    struct ep_rank rank[KB_SPAN_MAX];
};

/* rows x cols float32 (row stride src_ld) into rows_pad bf16 rows of ld elements, zero padded
 * (a GEMM's B reads all k = hp rows) */
static cudaError_t upload_bf16(const float *src, long rows, int cols, long src_ld, long rows_pad, int ld,
                               uint16_t **dst)
{
    size_t n = (size_t)(rows_pad > 0 ? rows_pad : 1) * ld;
    uint16_t *stage = calloc(n, sizeof *stage);
    if (!stage)
        return cudaErrorMemoryAllocation;
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            stage[(size_t)r * ld + c] = moe_bf16_of(src[(size_t)r * src_ld + c]);
    cudaError_t e = cudaMalloc((void **)dst, n * sizeof *stage);
    if (e == cudaSuccess)
        e = (cudaError_t)gpu_copy_to_device(*dst, stage, n * sizeof *stage);
    free(stage);
    return e;
}

/* experts [e0, e0+en) in moe_cuda.h's layouts: w13 interleaved by 8 columns, w2 padded */
static cudaError_t upload_experts(struct ep_rank *rk, const struct kb_shape *s, int hp, int fp, const float *w1all,
                                  const float *w3all, const float *w2all)
{
    const int h = s->hidden, f = s->ffn;
    const size_t per13 = (size_t)hp * 2 * fp, per2 = (size_t)fp * hp;
    uint16_t *stage = calloc(per13 > per2 ? per13 : per2, sizeof *stage);
    if (!stage)
        return cudaErrorMemoryAllocation;
    int en = rk->en > 0 ? rk->en : 1;
    cudaError_t e = cudaMalloc((void **)&rk->w13, (size_t)en * per13 * sizeof *stage);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&rk->w2, (size_t)en * per2 * sizeof *stage);
    for (int x = 0; x < rk->en && e == cudaSuccess; x++) {
        size_t g = (size_t)(rk->e0 + x);
        const float *w1 = w1all + g * h * f, *w3 = w3all + g * h * f, *w2 = w2all + g * f * h;
        memset(stage, 0, per13 * sizeof *stage);
        for (int i = 0; i < h; i++)
            for (int j = 0; j < f; j++) {
                size_t col = (size_t)(j / 8) * 16 + j % 8;
                stage[(size_t)i * 2 * fp + col] = moe_bf16_of(w1[(size_t)i * f + j]);
                stage[(size_t)i * 2 * fp + col + 8] = moe_bf16_of(w3[(size_t)i * f + j]);
            }
        e = (cudaError_t)gpu_copy_to_device(rk->w13 + (size_t)x * per13, stage, per13 * sizeof *stage);
        if (e != cudaSuccess)
            break;
        memset(stage, 0, per2 * sizeof *stage);
        for (int i = 0; i < f; i++)
            for (int j = 0; j < h; j++)
                stage[(size_t)i * hp + j] = moe_bf16_of(w2[(size_t)i * h + j]);
        e = (cudaError_t)gpu_copy_to_device(rk->w2 + (size_t)x * per2, stage, per2 * sizeof *stage);
    }
    free(stage);
    return e;
}

static void rank_free(struct ep_rank *rk)
{
    void *dev[] = { rk->x, rk->wr, rk->w13, rk->w2, rk->xp, rk->recv, rk->hb, rk->yl, rk->ret, rk->back, rk->bias,
                    rk->logits, rk->gates, rk->y, rk->one_group, rk->ids, rk->chunk_counts, rk->offsets,
                    rk->mtile_start, rk->perm, rk->slot_of, rk->a_index, rk->l_off, rk->l_mts, rk->ret_perm };
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        cudaFree(dev[i]);
    free(rk->h_off);
    free(rk->h_a_index);
    free(rk->h_l_off);
    free(rk->h_l_mts);
    free(rk->h_ret_perm);
}

static void ep_teardown(struct kb_case *c)
{
    struct ep_state *g = c->state;
    if (!g)
        return;
    for (int r = 0; r < g->span.ranks; r++) {
        cudaSetDevice(g->span.first + r);
        rank_free(&g->rank[r]);
    }
    kb_span_state_close(c);
}

static int rank_setup(struct ep_state *g, int r, struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    struct ep_rank *rk = &g->rank[r];
    const int R = g->span.ranks, T = s->tokens, E = s->experts, h = s->hidden, k = s->top_k;
    rk->t0 = (int)((long)r * T / R);
    rk->tn = (int)((long)(r + 1) * T / R) - rk->t0;
    rk->e0 = (int)((long)r * E / R);
    rk->en = (int)((long)(r + 1) * E / R) - rk->e0;
    const size_t slots = (size_t)rk->tn * k, all = (size_t)T * k, hp = (size_t)g->hp, fp = (size_t)g->fp;
    const size_t nchunks = (slots + MOE_CUDA_SORT_CHUNK - 1) / MOE_CUDA_SORT_CHUNK;
    rk->h_off = calloc((size_t)E + 1, sizeof(int));
    rk->h_a_index = calloc(all + 1, sizeof(int));
    rk->h_ret_perm = calloc(all + 1, sizeof(int));
    rk->h_l_off = calloc((size_t)rk->en + 1, sizeof(int));
    rk->h_l_mts = calloc((size_t)rk->en + 1, sizeof(int));
    if (!rk->h_off || !rk->h_a_index || !rk->h_ret_perm || !rk->h_l_off || !rk->h_l_mts)
        return cudaErrorMemoryAllocation;
    const float *x = kb_input(c, KB_MOE_LAYER_X);
    cudaError_t e = upload_bf16(x + (size_t)rk->t0 * h, rk->tn, h, h, rk->tn, g->hp, &rk->x);
    if (e == cudaSuccess)
        e = upload_bf16(kb_input(c, KB_MOE_LAYER_WR), h, E, E, g->hp, g->ep, &rk->wr);
    if (e == cudaSuccess)
        e = moe_dev_copy(&rk->bias, kb_input(c, KB_MOE_LAYER_BIAS), (size_t)E * sizeof(float));
    int one[4] = { 0, rk->tn, 0, (rk->tn + MOE_CUDA_BM - 1) / MOE_CUDA_BM };
    if (e == cudaSuccess)
        e = moe_dev_copy(&rk->one_group, one, sizeof one);
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->logits, slots / (k ? k : 1) * g->ep * sizeof(float) + 16);
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->gates, slots * sizeof(float));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->ids, slots * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->chunk_counts, (size_t)E * (nchunks ? nchunks : 1) * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->offsets, ((size_t)E + 1) * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->mtile_start, ((size_t)E + 1) * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->perm, slots * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->slot_of, slots * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->xp, slots * hp * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->back, slots * hp * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->y, (size_t)rk->tn * hp * sizeof(float));
    /* an owner may receive every assignment (all tokens routed to its experts) */
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->recv, all * hp * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->hb, all * fp * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->yl, all * hp * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->ret, all * hp * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->a_index, all * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->ret_perm, all * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->l_off, ((size_t)rk->en + 1) * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&rk->l_mts, ((size_t)rk->en + 1) * sizeof(int));
    if (e == cudaSuccess)
        e = upload_experts(rk, s, g->hp, g->fp, kb_input(c, KB_MOE_LAYER_W1), kb_input(c, KB_MOE_LAYER_W3),
                           kb_input(c, KB_MOE_LAYER_W2));
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    return (int)e;
}

static int ep_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = kb_span_state_open(c, sizeof(struct ep_state), "moe.layer@cuda.ep", err, errlen);
    if (rc != KB_OK)
        return rc;
    struct ep_state *g = c->state;
    g->hp = moe_round8(c->shape.hidden);
    g->fp = moe_round8(c->shape.ffn);
    g->ep = moe_round8(c->shape.experts);
    for (int r = 0; r < g->span.ranks; r++) {
        int e = cudaSetDevice(g->span.first + r);
        if (e == 0)
            e = rank_setup(g, r, c);
        if (e != 0) {
            snprintf(err, errlen, "moe.layer@cuda.ep: setting up rank %d (cuda:%d): %s", r, g->span.first + r,
                     cudaGetErrorString((cudaError_t)e));
            ep_teardown(c);
            return KB_ERROR;
        }
    }
    cudaSetDevice(g->span.first);
    return KB_OK;
}

#ifdef HAVE_NCCL
/* the plan's view of the ranks: each one's expert offsets and owned experts */
struct ep_view {
    const int *off[KB_SPAN_MAX];
    int e0[KB_SPAN_MAX], en[KB_SPAN_MAX];
};

static void view_of(const struct ep_state *g, struct ep_view *v)
{
    for (int r = 0; r < g->span.ranks; r++) {
        v->off[r] = g->rank[r].h_off;
        v->e0[r] = g->rank[r].e0;
        v->en[r] = g->rank[r].en;
    }
}

/* rows rank `from` sends to rank `to`: its assignments to `to`'s experts */
static long sent_rows(const struct ep_state *g, int from, int to)
{
    struct ep_view v;
    view_of(g, &v);
    return moe_ep_sent_rows(v.off, v.e0, v.en, from, to);
}

/* one NCCL group: every rank sends its block for each peer and receives each peer's block;
 * back = 0 is the dispatch (sorted rows to owners), 1 the return (results to their senders) */
static int exchange(struct ep_state *g, int back)
{
    const int R = g->span.ranks;
    const size_t row = (size_t)g->hp * sizeof(uint16_t);
    double moved = 0;
    if (ncclGroupStart() != ncclSuccess)
        return -1;
    for (int r = 0; r < R; r++) {
        struct ep_rank *rk = &g->rank[r];
        ncclComm_t comm = g->span.comm[r];
        cudaStream_t st = g->span.stream[r];
        long recv_base = 0;
        for (int q = 0; q < R; q++) {
            long out_rows = back ? sent_rows(g, q, r) : sent_rows(g, r, q);
            long in_rows = back ? sent_rows(g, r, q) : sent_rows(g, q, r);
            const struct ep_rank *peer = &g->rank[q];
            /* dispatch: send my sorted rows of q's experts, receive q's rows of mine after the
             * earlier senders'; return: send q's results from my received order, receive mine
             * into my sorted slots of q's experts */
            const uint16_t *src = back ? rk->ret + (size_t)recv_base * g->hp : rk->xp + (size_t)rk->h_off[peer->e0] * g->hp;
            uint16_t *dst = back ? rk->back + (size_t)rk->h_off[peer->e0] * g->hp : rk->recv + (size_t)recv_base * g->hp;
            if (out_rows > 0 && ncclSend(src, (size_t)out_rows * row, ncclUint8, q, comm, st) != ncclSuccess)
                return ncclGroupEnd(), -1;
            if (in_rows > 0 && ncclRecv(dst, (size_t)in_rows * row, ncclUint8, q, comm, st) != ncclSuccess)
                return ncclGroupEnd(), -1;
            if (q != r)
                moved += (double)out_rows * row;
            recv_base += back ? out_rows : in_rows;
        }
    }
    g->span.bytes_moved += moved;
    return ncclGroupEnd() == ncclSuccess ? 0 : -1;
}
#endif

static int ep_run(struct kb_case *c)
{
#ifndef HAVE_NCCL
    snprintf(c->error, sizeof c->error, "moe.layer@cuda.ep: built without NCCL");
    return KB_ERROR;
#else
    struct ep_state *g = c->state;
    const struct kb_shape *s = &c->shape;
    const int R = g->span.ranks, E = s->experts, k = s->top_k;
    if (kb_span_refuse_capture(c, "moe.layer@cuda.ep"))
        return KB_ERROR;
    const char *step = "fork";
    int e = kb_span_fork(&g->span);
    g->span.bytes_moved = 0;
    /* 1: route, sort and gather on every rank */
    for (int r = 0; r < R && e == 0; r++) {
        struct ep_rank *rk = &g->rank[r];
        void *st = g->span.stream[r];
        step = "routing";
        e = (int)cudaSetDevice(g->span.first + r);
        if (e == 0 && rk->tn > 0) {
            struct moe_cuda_gemm m = {
                .a = rk->x, .lda = g->hp, .b = rk->wr, .ldb = g->ep, .n = g->ep, .k = g->hp,
                .group_off = rk->one_group, .mtile_start = rk->one_group + 2, .groups = 1,
                .max_mtiles = (rk->tn + MOE_CUDA_BM - 1) / MOE_CUDA_BM, .epilogue = MOE_EPI_F32, .c = rk->logits,
                .ldc = g->ep,
            };
            e = moe_cuda_gemm_launch(&m, st);
            if (e == 0)
                e = moe_cuda_topk_launch(rk->logits, g->ep, rk->bias, rk->tn, E, k, rk->ids, rk->gates, NULL, st);
            if (e == 0)
                e = moe_cuda_sort_launch(rk->ids, (long)rk->tn * k, E, rk->chunk_counts, rk->offsets,
                                         rk->mtile_start, rk->perm, rk->slot_of, st);
            if (e == 0)
                e = moe_cuda_gather_launch(rk->x, g->hp, rk->perm, k, (long)rk->tn * k, rk->xp, st);
        }
        if (e == 0 && rk->tn > 0)
            e = (int)cudaMemcpyAsync(rk->h_off, rk->offsets, ((size_t)E + 1) * sizeof(int), cudaMemcpyDeviceToHost,
                                     (cudaStream_t)st);
        else if (e == 0)
            memset(rk->h_off, 0, ((size_t)E + 1) * sizeof(int));
    }
    /* 2: the host plans the exchanges from every rank's offsets */
    for (int r = 0; r < R && e == 0; r++) {
        step = "reading the routing";
        e = (int)cudaSetDevice(g->span.first + r);
        if (e == 0)
            e = (int)cudaStreamSynchronize((cudaStream_t)g->span.stream[r]);
    }
    struct ep_view view;
    view_of(g, &view);
    for (int r = 0; r < R && e == 0; r++) {
        struct ep_rank *rk = &g->rank[r];
        cudaStream_t st = g->span.stream[r];
        rk->nrecv = moe_ep_plan_receiver(R, view.off, view.e0, view.en, r, MOE_CUDA_BM, rk->h_a_index,
                                         rk->h_ret_perm, rk->h_l_off, rk->h_l_mts);
        step = "uploading the plan";
        e = (int)cudaSetDevice(g->span.first + r);
        if (e == 0 && rk->nrecv > 0)
            e = (int)cudaMemcpyAsync(rk->a_index, rk->h_a_index, (size_t)rk->nrecv * sizeof(int),
                                     cudaMemcpyHostToDevice, st);
        if (e == 0 && rk->nrecv > 0)
            e = (int)cudaMemcpyAsync(rk->ret_perm, rk->h_ret_perm, (size_t)rk->nrecv * sizeof(int),
                                     cudaMemcpyHostToDevice, st);
        if (e == 0)
            e = (int)cudaMemcpyAsync(rk->l_off, rk->h_l_off, ((size_t)rk->en + 1) * sizeof(int),
                                     cudaMemcpyHostToDevice, st);
        if (e == 0)
            e = (int)cudaMemcpyAsync(rk->l_mts, rk->h_l_mts, ((size_t)rk->en + 1) * sizeof(int),
                                     cudaMemcpyHostToDevice, st);
    }
    /* 3: dispatch */
    if (e == 0) {
        step = "dispatch (NCCL)";
        e = exchange(g, 0) == 0 ? 0 : (int)cudaErrorUnknown;
    }
    /* 4: each owner's experts */
    for (int r = 0; r < R && e == 0; r++) {
        struct ep_rank *rk = &g->rank[r];
        void *st = g->span.stream[r];
        step = "expert GEMMs";
        e = (int)cudaSetDevice(g->span.first + r);
        int mt = rk->h_l_mts[rk->en];
        if (e == 0 && rk->nrecv > 0 && mt > 0) {
            struct moe_cuda_gemm up = {
                .a = rk->recv, .lda = g->hp, .a_index = rk->a_index, .a_div = 1, .b = rk->w13,
                .b_group_stride = (long)g->hp * 2 * g->fp, .ldb = 2L * g->fp, .n = 2 * g->fp, .k = g->hp,
                .group_off = rk->l_off, .mtile_start = rk->l_mts, .groups = rk->en, .max_mtiles = mt,
                .epilogue = MOE_EPI_SWIGLU, .c = rk->hb, .ldc = g->fp,
            };
            struct moe_cuda_gemm down = {
                .a = rk->hb, .lda = g->fp, .b = rk->w2, .b_group_stride = (long)g->fp * g->hp, .ldb = g->hp,
                .n = g->hp, .k = g->fp, .group_off = rk->l_off, .mtile_start = rk->l_mts, .groups = rk->en,
                .max_mtiles = mt, .epilogue = MOE_EPI_BF16, .c = rk->yl, .ldc = g->hp,
            };
            e = moe_cuda_gemm_launch(&up, st);
            if (e == 0)
                e = moe_cuda_gemm_launch(&down, st);
            /* back into received order: ret[j] = yl[ret_perm[j]] (a gather with top_k 1) */
            if (e == 0)
                e = moe_cuda_gather_launch(rk->yl, g->hp, rk->ret_perm, 1, rk->nrecv, rk->ret, st);
        }
    }
    /* 5: return and combine */
    if (e == 0) {
        step = "return (NCCL)";
        e = exchange(g, 1) == 0 ? 0 : (int)cudaErrorUnknown;
    }
    for (int r = 0; r < R && e == 0; r++) {
        struct ep_rank *rk = &g->rank[r];
        step = "combine";
        e = (int)cudaSetDevice(g->span.first + r);
        if (e == 0 && rk->tn > 0)
            e = moe_cuda_combine_launch(rk->back, rk->gates, rk->slot_of, rk->tn, k, g->hp, rk->y, g->span.stream[r]);
    }
    if (e == 0) {
        step = "join";
        e = kb_span_join(&g->span);
    }
    cudaSetDevice(g->span.first);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "moe.layer@cuda.ep: %s: %s", step, cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
#endif
}

static int ep_collect(struct kb_case *c)
{
    struct ep_state *g = c->state;
    const struct kb_shape *s = &c->shape;
    const int E = s->experts, k = s->top_k, h = s->hidden;
    int *ids = kb_output(c, KB_MOE_LAYER_IDS), *counts = kb_output(c, KB_MOE_LAYER_COUNTS);
    float *gates = kb_output(c, KB_MOE_LAYER_GATES), *y = kb_output(c, KB_MOE_LAYER_Y);
    memset(counts, 0, (size_t)E * sizeof *counts);
    cudaError_t e = cudaSuccess;
    for (int r = 0; r < g->span.ranks && e == cudaSuccess; r++) {
        const struct ep_rank *rk = &g->rank[r];
        e = (cudaError_t)kb_span_rank_sync(&g->span, r);
        if (rk->tn == 0)
            continue;
        const size_t slots = (size_t)rk->tn * k;
        if (e == cudaSuccess)
            e = cudaMemcpy(ids + (size_t)rk->t0 * k, rk->ids, slots * sizeof(int), cudaMemcpyDeviceToHost);
        if (e == cudaSuccess)
            e = cudaMemcpy(gates + (size_t)rk->t0 * k, rk->gates, slots * sizeof(float), cudaMemcpyDeviceToHost);
        if (e == cudaSuccess)
            e = cudaMemcpy2D(y + (size_t)rk->t0 * h, (size_t)h * sizeof(float), rk->y, (size_t)g->hp * sizeof(float),
                             (size_t)h * sizeof(float), (size_t)rk->tn, cudaMemcpyDeviceToHost);
        for (int x = 0; x < E; x++)
            counts[x] += rk->h_off[x + 1] - rk->h_off[x];
    }
    cudaSetDevice(g->span.first);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "moe.layer@cuda.ep collect: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

/* device memory per GPU at span 1 (the most any rank holds): what the harness checks is host
 * memory, so only the staging of one expert counts here */
static double ep_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return 2.0 * moe_round8(s->hidden) * 2.0 * moe_round8(s->ffn) * 2 + 4.0 * s->tokens * s->top_k * 3;
}

const struct kb_kernel kb_moe_layer_cuda_ep = {
    .name = "moe.layer", .impl = "cuda.ep",
    .description = "MoE layer over --span GPUs, expert parallel: tokens sent to their experts' GPU and back "
                   "with NCCL around the grouped GEMMs",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = KB_AXES_MOE | KB_AXIS_BIT(KB_AXIS_SPAN),
    .footprint = ep_footprint,
    .setup = ep_setup, .run = ep_run, .teardown = ep_teardown, .stats = kb_span_case_stats,
    .op = &kb_op_moe_layer, .collect = ep_collect,
};
