/* moe_cuda.c - the CUDA mixture-of-experts kernels: moe.router, moe.dispatch, moe.combine,
 * moe.experts and moe.layer (unfused and fused), bf16 on tensor cores with float32
 * accumulation (device code in moe_gemm_mma.cu and moe_route_cuda.cu, layouts in moe_cuda.h).
 *
 * Inputs are drawn in float32 exactly as for the CPU kernels (moe_inputs_new, same seeds) and
 * rounded to bf16 on the host; the host copies keep the rounded values, so the float64
 * reference measures the kernels' own error. The bias stays float32 (added in float32).
 * Dtypes: x, weights and the intermediates xp, hb (the SwiGLU activations) and yp in bf16;
 * logits, gates and the layer output y in float32.
 *
 * Tolerances (relative L2 against float64): router gates and combine 1e-4 (float32 arithmetic
 * on exactly representable inputs), expert choices exact up to the near-tie window (moe.h);
 * experts and layer 2e-2 (verify_default_tolerance(bf16)): the activations are rounded to bf16
 * between the two projections (and yp before the combine in the unfused layer), ~2^-9 each.
 *
 * The layer, unfused (9 kernels, intermediates in global memory):
 *   router GEMM → top-k → histogram → scan → scatter → gather xp → up GEMM with SwiGLU → hb
 *   → down GEMM → yp → combine → y
 * fused (7 kernels and a memset, no xp, yp or combine pass):
 *   router GEMM → top-k → histogram → scan → scatter → up GEMM gathering its A rows from x
 *   through perm → hb → down GEMM adding gate·row into y[token] in its epilogue (atomic, y
 *   zeroed first; each element gets exactly top_k adds).
 * Both keep the routing on the device: the grouped GEMMs' grids cover the most row tiles any
 * routing can need and blocks past the last tile exit (no host synchronisation, so a case can
 * be captured in a CUDA graph).
 */
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_cuda.h"
#include "kernels/moe/moe_gemm.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "datasets/generate.h"
#include "kernels/verify.h"

enum moe_gpu_kind { GPU_ROUTER, GPU_DISPATCH, GPU_COMBINE, GPU_EXPERTS, GPU_UNFUSED, GPU_FUSED };
static const char *const kind_name[] = { "moe.router@cuda.mma", "moe.dispatch@cuda", "moe.combine@cuda",
                                         "moe.experts@cuda.mma", "moe.layer@cuda.unfused", "moe.layer@cuda.fused" };
enum { SEED_YP = 6 }; /* moe.combine's yp, as on the CPU */

struct moe_gpu {
    enum moe_gpu_kind kind;
    struct moe_inputs in; /* host, rounded to bf16 */
    struct moe_routing r; /* host: the given routing, or the kernel's copied back by verify */
    int hp, fp, ep, max_mtiles, threads;
    long slots;
    long near_ties;
    /* device */
    uint16_t *x, *wr, *w13, *w2, *xp, *hb, *yp;
    float *bias, *logits, *gates, *y;
    int *ids, *counts, *chunk_counts, *offsets, *mtile_start, *perm, *slot_of, *one_group;
    /* host copies of outputs (and of the given dispatch of moe.experts/combine) */
    int *h_offsets, *h_perm, *h_slot_of;
    float *h_xp, *h_yp, *h_y;
};

static int round8(int v) { return (v + 7) / 8 * 8; }

/* float32 → bf16, round to nearest even (NaN stays NaN) */
static uint16_t bf16_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float float_of_bf16(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void round_bf16(float *v, size_t n)
{
    if (!v)
        return;
    long long nn = (long long)n;
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < nn; i++)
        v[i] = float_of_bf16(bf16_of(v[i]));
}

static int cuda_fail(cudaError_t e, const char *who, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s (%s)", who, doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

/* A device buffer of `bytes`, poisoned with 0xFF (a NaN in float32 and bf16, -1 as an int) so
 * anything a kernel fails to write fails verify. */
static cudaError_t dev_alloc(void *pp, size_t bytes)
{
    void **p = pp;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 16);
    if (e == cudaSuccess)
        e = cudaMemset(*p, 0xFF, bytes ? bytes : 16);
    return e;
}

/* Uploads rows × cols float32 (already bf16 values) as bf16 into [rows_pad][ld] zero-padded. */
static cudaError_t upload_bf16(const float *src, long rows, int cols, long rows_pad, int ld, uint16_t **dst)
{
    size_t n = (size_t)rows_pad * ld;
    uint16_t *stage = calloc(n ? n : 1, sizeof *stage);
    if (!stage)
        return cudaErrorMemoryAllocation;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            stage[(size_t)r * ld + c] = bf16_of(src[(size_t)r * cols + c]);
    cudaError_t e = cudaMalloc((void **)dst, n * sizeof *stage);
    if (e == cudaSuccess)
        e = cudaMemcpy(*dst, stage, n * sizeof *stage, cudaMemcpyHostToDevice);
    free(stage);
    return e;
}

/* W1, W3 [E][h][f] → w13 [E][hp][2·fp] interleaved by 8 columns (moe_cuda.h); W2 [E][f][h] →
 * w2 [E][fp][hp]. One expert's staging at a time. */
static cudaError_t upload_experts(struct moe_gpu *g, const struct kb_shape *s)
{
    const int h = s->hidden, f = s->ffn, E = s->experts, hp = g->hp, fp = g->fp;
    const size_t per13 = (size_t)hp * 2 * fp, per2 = (size_t)fp * hp;
    uint16_t *stage = calloc(per13 > per2 ? per13 : per2, sizeof *stage);
    if (!stage)
        return cudaErrorMemoryAllocation;
    cudaError_t e = cudaMalloc((void **)&g->w13, (size_t)E * per13 * sizeof *stage);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->w2, (size_t)E * per2 * sizeof *stage);
    for (int x = 0; x < E && e == cudaSuccess; x++) {
        const float *w1 = g->in.w1 + (size_t)x * h * f, *w3 = g->in.w3 + (size_t)x * h * f;
        memset(stage, 0, per13 * sizeof *stage);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < f; j++) {
                size_t col = (size_t)(j / 8) * 16 + j % 8;
                stage[(size_t)i * 2 * fp + col] = bf16_of(w1[(size_t)i * f + j]);
                stage[(size_t)i * 2 * fp + col + 8] = bf16_of(w3[(size_t)i * f + j]);
            }
        e = cudaMemcpy(g->w13 + (size_t)x * per13, stage, per13 * sizeof *stage, cudaMemcpyHostToDevice);
        if (e != cudaSuccess)
            break;
        const float *w2 = g->in.w2 + (size_t)x * f * h;
        memset(stage, 0, per2 * sizeof *stage);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < f; i++)
            for (int j = 0; j < h; j++)
                stage[(size_t)i * hp + j] = bf16_of(w2[(size_t)i * h + j]);
        e = cudaMemcpy(g->w2 + (size_t)x * per2, stage, per2 * sizeof *stage, cudaMemcpyHostToDevice);
    }
    free(stage);
    return e;
}

static void mtiles_of(const int *offsets, int experts, int *mtile_start)
{
    mtile_start[0] = 0;
    for (int e = 0; e < experts; e++)
        mtile_start[e + 1] = mtile_start[e] + (offsets[e + 1] - offsets[e] + MOE_CUDA_BM - 1) / MOE_CUDA_BM;
}

static void gpu_free(struct moe_gpu *g)
{
    void *dev[] = { g->x, g->wr, g->w13, g->w2, g->xp, g->hb, g->yp, g->bias, g->logits, g->gates, g->y,
                    g->ids, g->counts, g->chunk_counts, g->offsets, g->mtile_start, g->perm, g->slot_of,
                    g->one_group };
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        cudaFree(dev[i]);
    void *host[] = { g->h_offsets, g->h_perm, g->h_slot_of, g->h_xp, g->h_yp, g->h_y };
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
        free(host[i]);
    moe_inputs_free(&g->in);
    moe_routing_free(&g->r);
    free(g);
}

static void gpu_teardown(struct kb_case *c)
{
    if (c->state)
        gpu_free(c->state);
    c->state = NULL;
}

static int uses_ffn(enum moe_gpu_kind k)
{
    return k == GPU_EXPERTS || k == GPU_UNFUSED || k == GPU_FUSED;
}

static int gpu_setup(struct kb_case *c, enum moe_gpu_kind kind, char *err, size_t errlen)
{
    const char *who = kind_name[kind];
    const struct kb_shape *s = &c->shape;
    int rc = moe_check_shape(s, uses_ffn(kind), err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_BF16) {
        snprintf(err, errlen, "%s: dtype %s not supported (bf16 only)", who,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct moe_gpu *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "%s: out of memory", who);
        return KB_ERROR;
    }
    c->state = g;
    g->kind = kind;
#ifdef _OPENMP
    g->threads = omp_get_max_threads(); /* the host work (routing given as input, verify) is untimed */
#else
    g->threads = 1;
#endif
    const int T = s->tokens, E = s->experts, k = s->top_k, h = s->hidden;
    g->hp = round8(h);
    g->fp = uses_ffn(kind) ? round8(s->ffn) : 0;
    g->ep = round8(E);
    g->slots = (long)T * k;
    const size_t slots = (size_t)g->slots;
    int what = MOE_IN_X | MOE_IN_ROUTER | (uses_ffn(kind) ? MOE_IN_EXPERTS | MOE_IN_UNPACKED : 0);
    if (moe_inputs_new(&g->in, s, c->seed, what, err, errlen) != KB_OK ||
        moe_routing_new(&g->r, s, &g->in, g->threads, err, errlen) != KB_OK) {
        gpu_teardown(c);
        return KB_ERROR;
    }
    round_bf16(g->in.x, (size_t)T * h);
    round_bf16(g->in.wr, (size_t)h * E);
    moe_pack_b(g->in.wr, (size_t)E, h, E, (size_t)h, g->in.wrp); /* the host router sees the rounded W_r */
    if (uses_ffn(kind)) {
        round_bf16(g->in.w1, (size_t)E * h * s->ffn);
        round_bf16(g->in.w3, (size_t)E * h * s->ffn);
        round_bf16(g->in.w2, (size_t)E * h * s->ffn);
    }
    g->h_offsets = malloc(((size_t)E + 1) * sizeof(int));
    g->h_perm = malloc(slots * sizeof(int));
    g->h_slot_of = malloc(slots * sizeof(int));
    g->h_xp = malloc(slots * h * sizeof(float));
    if (kind == GPU_COMBINE || kind == GPU_EXPERTS)
        g->h_yp = malloc(slots * h * sizeof(float));
    if (kind == GPU_COMBINE || kind == GPU_UNFUSED || kind == GPU_FUSED)
        g->h_y = malloc((size_t)T * h * sizeof(float));
    if (!g->h_offsets || !g->h_perm || !g->h_slot_of || !g->h_xp ||
        ((kind == GPU_COMBINE || kind == GPU_EXPERTS) && !g->h_yp) ||
        ((kind == GPU_COMBINE || kind == GPU_UNFUSED || kind == GPU_FUSED) && !g->h_y)) {
        snprintf(err, errlen, "%s: out of host memory", who);
        gpu_teardown(c);
        return KB_ERROR;
    }
    /* the routing that dispatch, combine and experts are given: the float32 router's on the
     * rounded inputs (computed now, untimed) */
    if (kind == GPU_DISPATCH || kind == GPU_COMBINE || kind == GPU_EXPERTS) {
        moe_route_all(&g->in, s, &g->r);
        moe_dispatch_rows(g->in.x, s, g->r.ids, g->threads, g->h_offsets, g->h_perm, g->h_slot_of, g->h_xp);
    }

    cudaError_t e = cudaSuccess;
    const int router = kind == GPU_ROUTER || kind == GPU_UNFUSED || kind == GPU_FUSED;
    const int sorts = kind == GPU_DISPATCH || kind == GPU_UNFUSED || kind == GPU_FUSED;
    const size_t nchunks = (slots + MOE_CUDA_SORT_CHUNK - 1) / MOE_CUDA_SORT_CHUNK;
    if (kind != GPU_COMBINE && kind != GPU_EXPERTS)
        e = upload_bf16(g->in.x, T, h, T, g->hp, &g->x);
    if (e == cudaSuccess && router) {
        e = upload_bf16(g->in.wr, h, E, g->hp, g->ep, &g->wr);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&g->bias, (size_t)E * sizeof(float));
        if (e == cudaSuccess)
            e = cudaMemcpy(g->bias, g->in.bias, (size_t)E * sizeof(float), cudaMemcpyHostToDevice);
        if (e == cudaSuccess)
            e = dev_alloc(&g->logits, (size_t)T * g->ep * sizeof(float));
        /* the router GEMM is one group of T rows */
        int one[4] = { 0, T, 0, (T + MOE_CUDA_BM - 1) / MOE_CUDA_BM };
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&g->one_group, sizeof one);
        if (e == cudaSuccess)
            e = cudaMemcpy(g->one_group, one, sizeof one, cudaMemcpyHostToDevice);
        if (e == cudaSuccess)
            e = dev_alloc(&g->gates, slots * sizeof(float));
        if (e == cudaSuccess)
            e = dev_alloc(&g->counts, (size_t)E * sizeof(int));
    }
    if (e == cudaSuccess && (router || kind == GPU_DISPATCH))
        e = dev_alloc(&g->ids, slots * sizeof(int));
    if (e == cudaSuccess && kind == GPU_DISPATCH)
        e = cudaMemcpy(g->ids, g->r.ids, slots * sizeof(int), cudaMemcpyHostToDevice);
    if (e == cudaSuccess && sorts) {
        e = dev_alloc(&g->chunk_counts, (size_t)E * nchunks * sizeof(int));
        if (e == cudaSuccess)
            e = dev_alloc(&g->offsets, ((size_t)E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = dev_alloc(&g->mtile_start, ((size_t)E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = dev_alloc(&g->perm, slots * sizeof(int));
        if (e == cudaSuccess)
            e = dev_alloc(&g->slot_of, slots * sizeof(int));
        g->max_mtiles = (int)((slots + (size_t)E * (MOE_CUDA_BM - 1)) / MOE_CUDA_BM);
    }
    if (e == cudaSuccess && (kind == GPU_DISPATCH || kind == GPU_UNFUSED))
        e = dev_alloc(&g->xp, slots * g->hp * sizeof(uint16_t));
    if (e == cudaSuccess && kind == GPU_COMBINE) {
        gen_fill_normal_f32(g->h_yp, slots * h, moe_sub_seed(c->seed, SEED_YP), 0.0, 1.0);
        round_bf16(g->h_yp, slots * h);
        e = upload_bf16(g->h_yp, (long)slots, h, (long)slots, g->hp, &g->yp);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&g->gates, slots * sizeof(float));
        if (e == cudaSuccess)
            e = cudaMemcpy(g->gates, g->r.gates, slots * sizeof(float), cudaMemcpyHostToDevice);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&g->slot_of, slots * sizeof(int));
        if (e == cudaSuccess)
            e = cudaMemcpy(g->slot_of, g->h_slot_of, slots * sizeof(int), cudaMemcpyHostToDevice);
    }
    if (e == cudaSuccess && kind == GPU_EXPERTS) {
        int *mts = malloc(((size_t)E + 1) * sizeof *mts);
        e = mts ? cudaSuccess : cudaErrorMemoryAllocation;
        if (e == cudaSuccess) {
            mtiles_of(g->h_offsets, E, mts);
            g->max_mtiles = mts[E];
            e = upload_bf16(g->h_xp, (long)slots, h, (long)slots, g->hp, &g->xp);
        }
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&g->offsets, ((size_t)E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = cudaMemcpy(g->offsets, g->h_offsets, ((size_t)E + 1) * sizeof(int), cudaMemcpyHostToDevice);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&g->mtile_start, ((size_t)E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = cudaMemcpy(g->mtile_start, mts, ((size_t)E + 1) * sizeof(int), cudaMemcpyHostToDevice);
        free(mts);
    }
    if (e == cudaSuccess && uses_ffn(kind)) {
        e = upload_experts(g, s);
        if (e == cudaSuccess)
            e = dev_alloc(&g->hb, slots * g->fp * sizeof(uint16_t));
    }
    if (e == cudaSuccess && (kind == GPU_EXPERTS || kind == GPU_UNFUSED))
        e = dev_alloc(&g->yp, slots * g->hp * sizeof(uint16_t));
    if (e == cudaSuccess && (kind == GPU_COMBINE || kind == GPU_UNFUSED || kind == GPU_FUSED))
        e = dev_alloc(&g->y, (size_t)T * g->hp * sizeof(float));
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        rc = cuda_fail(e, who, "setting up the device buffers", err, errlen);
        gpu_teardown(c);
        return rc;
    }
    return KB_OK;
}

/* ---- run: the launch sequences ------------------------------------------------------------------ */

static int launch_router(struct moe_gpu *g, const struct kb_shape *s, int *counts, void *st)
{
    struct moe_cuda_gemm m = {
        .a = g->x, .lda = g->hp, .b = g->wr, .ldb = g->ep, .n = g->ep, .k = g->hp,
        .group_off = g->one_group, .mtile_start = g->one_group + 2, .groups = 1,
        .max_mtiles = (s->tokens + MOE_CUDA_BM - 1) / MOE_CUDA_BM,
        .epilogue = MOE_EPI_F32, .c = g->logits, .ldc = g->ep,
    };
    int e = moe_cuda_gemm_launch(&m, st);
    if (e == 0)
        e = moe_cuda_topk_launch(g->logits, g->ep, g->bias, s->tokens, s->experts, s->top_k, g->ids, g->gates, counts, st);
    return e;
}

/* up (SwiGLU into hb) and down projections; fused: A rows from x through perm, and the down
 * projection adds gate·row into y */
static int launch_experts(struct moe_gpu *g, const struct kb_shape *s, int fused, void *st)
{
    struct moe_cuda_gemm up = {
        .a = fused ? g->x : g->xp, .lda = g->hp, .a_index = fused ? g->perm : NULL, .a_div = s->top_k,
        .b = g->w13, .b_group_stride = (long)g->hp * 2 * g->fp, .ldb = 2L * g->fp, .n = 2 * g->fp, .k = g->hp,
        .group_off = g->offsets, .mtile_start = g->mtile_start, .groups = s->experts, .max_mtiles = g->max_mtiles,
        .epilogue = MOE_EPI_SWIGLU, .c = g->hb, .ldc = g->fp,
    };
    struct moe_cuda_gemm down = {
        .a = g->hb, .lda = g->fp,
        .b = g->w2, .b_group_stride = (long)g->fp * g->hp, .ldb = g->hp, .n = g->hp, .k = g->fp,
        .group_off = g->offsets, .mtile_start = g->mtile_start, .groups = s->experts, .max_mtiles = g->max_mtiles,
        .epilogue = fused ? MOE_EPI_SCATTER : MOE_EPI_BF16, .c = fused ? (void *)g->y : (void *)g->yp, .ldc = g->hp,
        .c_index = fused ? g->perm : NULL, .c_div = s->top_k, .c_scale = fused ? g->gates : NULL,
    };
    int e = moe_cuda_gemm_launch(&up, st);
    if (e == 0)
        e = moe_cuda_gemm_launch(&down, st);
    return e;
}

static int gpu_run(struct kb_case *c)
{
    struct moe_gpu *g = c->state;
    const struct kb_shape *s = &c->shape;
    void *st = c->stream;
    int e = 0;
    switch (g->kind) {
    case GPU_ROUTER:
        e = (int)cudaMemsetAsync(g->counts, 0, (size_t)s->experts * sizeof(int), (cudaStream_t)st);
        if (e == 0)
            e = launch_router(g, s, g->counts, st);
        break;
    case GPU_DISPATCH:
        e = moe_cuda_sort_launch(g->ids, g->slots, s->experts, g->chunk_counts, g->offsets, g->mtile_start, g->perm,
                                 g->slot_of, st);
        if (e == 0)
            e = moe_cuda_gather_launch(g->x, g->hp, g->perm, s->top_k, g->slots, g->xp, st);
        break;
    case GPU_COMBINE:
        e = moe_cuda_combine_launch(g->yp, g->gates, g->slot_of, s->tokens, s->top_k, g->hp, g->y, st);
        break;
    case GPU_EXPERTS:
        e = launch_experts(g, s, 0, st);
        break;
    case GPU_UNFUSED:
    case GPU_FUSED: {
        const int fused = g->kind == GPU_FUSED;
        e = launch_router(g, s, NULL, st);
        if (e == 0)
            e = moe_cuda_sort_launch(g->ids, g->slots, s->experts, g->chunk_counts, g->offsets, g->mtile_start,
                                     g->perm, g->slot_of, st);
        if (e == 0 && !fused)
            e = moe_cuda_gather_launch(g->x, g->hp, g->perm, s->top_k, g->slots, g->xp, st);
        if (e == 0 && fused)
            e = (int)cudaMemsetAsync(g->y, 0, (size_t)s->tokens * g->hp * sizeof(float), (cudaStream_t)st);
        if (e == 0)
            e = launch_experts(g, s, fused, st);
        if (e == 0 && !fused)
            e = moe_cuda_combine_launch(g->yp, g->gates, g->slot_of, s->tokens, s->top_k, g->hp, g->y, st);
        break;
    }
    }
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "%s launch: %s", kind_name[g->kind], cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

/* ---- verify ------------------------------------------------------------------------------------- */

/* rows × h of a padded device matrix (row stride ld elements of `size` bytes) into host. */
static cudaError_t fetch_rows(void *host, const void *dev, size_t rows, int h, int ld, size_t size, void *st)
{
    if (rows == 0)
        return cudaSuccess;
    return cudaMemcpy2DAsync(host, (size_t)h * size, dev, (size_t)ld * size, (size_t)h * size, rows,
                             cudaMemcpyDeviceToHost, (cudaStream_t)st);
}

/* bf16 rows on the device → float32 on the host */
static cudaError_t fetch_bf16_rows(float *host, const uint16_t *dev, size_t rows, int h, int ld, void *st)
{
    uint16_t *tmp = malloc(rows * h * sizeof *tmp + 2);
    if (!tmp)
        return cudaErrorMemoryAllocation;
    cudaError_t e = fetch_rows(tmp, dev, rows, h, ld, sizeof *tmp, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize((cudaStream_t)st);
    for (size_t i = 0; e == cudaSuccess && i < rows * h; i++)
        host[i] = float_of_bf16(tmp[i]);
    free(tmp);
    return e;
}

/* ids, gates and (from the counts or the offsets) the loads of the kernel's routing */
static cudaError_t fetch_routing(struct moe_gpu *g, const struct kb_shape *s, void *st)
{
    const size_t slots = (size_t)g->slots;
    const int E = s->experts;
    cudaError_t e = cudaMemcpyAsync(g->r.ids, g->ids, slots * sizeof(int), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(g->r.gates, g->gates, slots * sizeof(float), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess && g->kind == GPU_ROUTER)
        e = cudaMemcpyAsync(g->r.counts, g->counts, (size_t)E * sizeof(int), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess && g->kind != GPU_ROUTER)
        e = cudaMemcpyAsync(g->h_offsets, g->offsets, ((size_t)E + 1) * sizeof(int), cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize((cudaStream_t)st);
    if (e == cudaSuccess && g->kind != GPU_ROUTER)
        for (int x = 0; x < E; x++)
            g->r.counts[x] = g->h_offsets[x + 1] - g->h_offsets[x];
    return e;
}

static int gpu_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct moe_gpu *g = c->state;
    const struct kb_shape *s = &c->shape;
    const int T = s->tokens, h = s->hidden, E = s->experts;
    const size_t slots = (size_t)g->slots;
    void *st = c->stream;
    const double tol16 = verify_default_tolerance(KB_DTYPE_BF16);
    cudaError_t e = cudaSuccess;
    memset(acc, 0, sizeof *acc);
    acc->rel_l2_err = INFINITY;
    switch (g->kind) {
    case GPU_ROUTER: {
        if ((e = fetch_routing(g, s, st)) != cudaSuccess)
            break;
        struct verify_acc va;
        verify_begin(&va);
        g->near_ties = 0;
        long rows = moe_verify_routing(&g->in, s, &g->r, c->seed, &va, &acc->exact_checked, &acc->exact_mismatches,
                                       &g->near_ties);
        verify_finish(&va, MOE_TOLERANCE, acc);
        acc->passed = acc->passed && acc->exact_mismatches == 0;
        acc->rows_checked = rows;
        acc->rows_total = T;
        return KB_OK;
    }
    case GPU_DISPATCH:
        e = cudaMemcpyAsync(g->h_offsets, g->offsets, ((size_t)E + 1) * sizeof(int), cudaMemcpyDeviceToHost, st);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(g->h_perm, g->perm, slots * sizeof(int), cudaMemcpyDeviceToHost, st);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(g->h_slot_of, g->slot_of, slots * sizeof(int), cudaMemcpyDeviceToHost, st);
        if (e == cudaSuccess)
            e = fetch_bf16_rows(g->h_xp, g->xp, slots, h, g->hp, st);
        if (e == cudaSuccess)
            return moe_verify_dispatch(s, g->in.x, g->r.ids, g->h_offsets, g->h_perm, g->h_slot_of, g->h_xp, c->seed,
                                       acc);
        break;
    case GPU_COMBINE:
        e = fetch_rows(g->h_y, g->y, (size_t)T, h, g->hp, sizeof(float), st);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize((cudaStream_t)st);
        if (e == cudaSuccess)
            return moe_verify_combine(s, g->r.ids, g->r.gates, g->h_yp, g->h_y, c->seed, MOE_TOLERANCE, acc);
        break;
    case GPU_EXPERTS:
        e = fetch_bf16_rows(g->h_yp, g->yp, slots, h, g->hp, st);
        if (e == cudaSuccess)
            return moe_verify_experts(&g->in, s, g->r.ids, g->h_perm, g->h_xp, g->h_yp, c->seed, g->threads, tol16,
                                      acc);
        break;
    case GPU_UNFUSED:
    case GPU_FUSED:
        e = fetch_routing(g, s, st);
        if (e == cudaSuccess)
            e = fetch_rows(g->h_y, g->y, (size_t)T, h, g->hp, sizeof(float), st);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize((cudaStream_t)st);
        if (e == cudaSuccess)
            return moe_verify_layer(&g->in, s, &g->r, g->h_y, c->seed, g->threads, tol16, acc, &g->near_ties);
        break;
    }
    snprintf(c->error, sizeof c->error, "%s verify: %s", kind_name[g->kind], cudaGetErrorString(e));
    return KB_ERROR;
}

/* ---- tensors, stats ----------------------------------------------------------------------------- */

static int gpu_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct moe_gpu *g = c->state;
    const struct kb_shape *s = &c->shape;
    const int64_t slots = g->slots;
    struct kb_tensor t[KB_TENSORS_MAX];
    int n = 0;
    /* the inputs as rounded (float32 holding bf16 values), and the outputs verify copied back */
    if (g->kind == GPU_COMBINE) {
        t[n++] = (struct kb_tensor){ "yp", KB_DTYPE_F32, 2, { slots, s->hidden }, g->h_yp, 0 };
        t[n++] = (struct kb_tensor){ "gates", KB_DTYPE_F32, 2, { s->tokens, s->top_k }, g->r.gates, 0 };
        t[n++] = (struct kb_tensor){ "y", KB_DTYPE_F32, 2, { s->tokens, s->hidden }, g->h_y, 1 };
    } else if (g->kind == GPU_EXPERTS) {
        t[n++] = (struct kb_tensor){ "xp", KB_DTYPE_F32, 2, { slots, s->hidden }, g->h_xp, 0 };
        t[n++] = (struct kb_tensor){ "offsets", KB_DTYPE_I32, 1, { s->experts + 1 }, g->h_offsets, 0 };
        t[n++] = (struct kb_tensor){ "w1", KB_DTYPE_F32, 3, { s->experts, s->hidden, s->ffn }, g->in.w1, 0 };
        t[n++] = (struct kb_tensor){ "w3", KB_DTYPE_F32, 3, { s->experts, s->hidden, s->ffn }, g->in.w3, 0 };
        t[n++] = (struct kb_tensor){ "w2", KB_DTYPE_F32, 3, { s->experts, s->ffn, s->hidden }, g->in.w2, 0 };
        t[n++] = (struct kb_tensor){ "yp", KB_DTYPE_F32, 2, { slots, s->hidden }, g->h_yp, 1 };
    } else {
        t[n++] = (struct kb_tensor){ "x", KB_DTYPE_F32, 2, { s->tokens, s->hidden }, g->in.x, 0 };
        if (g->kind != GPU_DISPATCH) {
            t[n++] = (struct kb_tensor){ "w_router", KB_DTYPE_F32, 2, { s->hidden, s->experts }, g->in.wr, 0 };
            t[n++] = (struct kb_tensor){ "b_router", KB_DTYPE_F32, 1, { s->experts }, g->in.bias, 0 };
        }
        t[n++] = (struct kb_tensor){ "ids", KB_DTYPE_I32, 2, { s->tokens, s->top_k }, g->r.ids, g->kind != GPU_DISPATCH };
        if (g->kind == GPU_ROUTER)
            t[n++] = (struct kb_tensor){ "gates", KB_DTYPE_F32, 2, { s->tokens, s->top_k }, g->r.gates, 1 };
        if (g->kind == GPU_DISPATCH) {
            t[n++] = (struct kb_tensor){ "perm", KB_DTYPE_I32, 1, { slots }, g->h_perm, 1 };
            t[n++] = (struct kb_tensor){ "xp", KB_DTYPE_F32, 2, { slots, s->hidden }, g->h_xp, 1 };
        }
        if (g->kind == GPU_UNFUSED || g->kind == GPU_FUSED)
            t[n++] = (struct kb_tensor){ "y", KB_DTYPE_F32, 2, { s->tokens, s->hidden }, g->h_y, 1 };
    }
    int m = 0;
    for (int i = 0; i < n && m < max; i++)
        out[m++] = t[i];
    return m;
}

static int gpu_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct moe_gpu *g = c->state;
    int n = moe_load_stats(g->r.counts, c->shape.experts, out, max);
    if (n < max && (g->kind == GPU_ROUTER || g->kind == GPU_UNFUSED || g->kind == GPU_FUSED)) {
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].name, sizeof out[n].name, "moe.route.near_ties");
        snprintf(out[n].unit, sizeof out[n].unit, "count");
        out[n++].value = (double)g->near_ties;
    }
    return n;
}

/* Host bytes setup allocates (the device holds about the same in bf16). */
static double gpu_footprint_of(const struct kb_shape *s, int what)
{
    double slots = (double)s->tokens * s->top_k;
    return moe_inputs_bytes(s, what) + moe_routing_bytes(s, 64) + 4.0 * slots * (3.0 + 2.0 * s->hidden) +
           4.0 * s->tokens * s->hidden + 2.0 * (double)s->hidden * 2 * (s->ffn + 8);
}
static double small_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return gpu_footprint_of(s, MOE_IN_X | MOE_IN_ROUTER);
}
static double ffn_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return gpu_footprint_of(s, MOE_IN_X | MOE_IN_ROUTER | MOE_IN_EXPERTS | MOE_IN_UNPACKED);
}

static double zero_flops(const struct kb_shape *s)
{
    (void)s;
    return 0.0;
}

static int router_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_ROUTER, e, n); }
static int dispatch_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_DISPATCH, e, n); }
static int combine_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_COMBINE, e, n); }
static int experts_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_EXPERTS, e, n); }
static int unfused_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_UNFUSED, e, n); }
static int fused_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_FUSED, e, n); }

#define ROUTED_AXES (KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) | \
                     KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT))

const struct kb_kernel kb_moe_router_cuda = {
    .name = "moe.router", .impl = "cuda.mma",
    .description = "MoE router on the GPU: logits x·W_r (bf16 mma.sync GEMM, f32 accumulate), top-k and gates kernel",
    .family = KB_FAMILY_MOE, .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = ROUTED_AXES,
    .flops = moe_router_flops, .bytes = moe_router_bytes, .footprint = small_footprint,
    .setup = router_setup, .run = gpu_run, .verify = gpu_verify, .tensors = gpu_tensors,
    .teardown = gpu_teardown, .stats = gpu_stats,
};

const struct kb_kernel kb_moe_dispatch_cuda = {
    .name = "moe.dispatch", .impl = "cuda",
    .description = "MoE dispatch on the GPU: stable counting sort (histogram, scan, warp-match scatter), bf16 row gather",
    .family = KB_FAMILY_MOE, .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = ROUTED_AXES,
    .flops = zero_flops, .bytes = moe_dispatch_bytes, .footprint = small_footprint,
    .setup = dispatch_setup, .run = gpu_run, .verify = gpu_verify, .tensors = gpu_tensors,
    .teardown = gpu_teardown, .stats = gpu_stats,
};

const struct kb_kernel kb_moe_combine_cuda = {
    .name = "moe.combine", .impl = "cuda",
    .description = "MoE combine on the GPU: gate-weighted gather-sum of bf16 expert rows into f32 tokens",
    .family = KB_FAMILY_MOE, .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = ROUTED_AXES,
    .flops = moe_combine_flops, .bytes = moe_combine_bytes, .footprint = small_footprint,
    .setup = combine_setup, .run = gpu_run, .verify = gpu_verify, .tensors = gpu_tensors,
    .teardown = gpu_teardown, .stats = gpu_stats,
};

const struct kb_kernel kb_moe_experts_cuda = {
    .name = "moe.experts", .impl = "cuda.mma",
    .description = "MoE experts on the GPU: grouped bf16 mma.sync GEMMs over all (expert, tile) pairs, SwiGLU epilogue",
    .family = KB_FAMILY_MOE, .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .flops = moe_experts_flops, .bytes = moe_experts_bytes, .footprint = ffn_footprint,
    .setup = experts_setup, .run = gpu_run, .verify = gpu_verify, .tensors = gpu_tensors,
    .teardown = gpu_teardown, .stats = gpu_stats,
};

const struct kb_kernel kb_moe_layer_cuda_unfused = {
    .name = "moe.layer", .impl = "cuda.unfused",
    .description = "MoE layer on the GPU, unfused: router, sort, gather, grouped GEMMs, combine; intermediates in memory",
    .family = KB_FAMILY_MOE, .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .flops = moe_layer_flops, .bytes = moe_layer_bytes, .footprint = ffn_footprint,
    .setup = unfused_setup, .run = gpu_run, .verify = gpu_verify, .tensors = gpu_tensors,
    .teardown = gpu_teardown, .stats = gpu_stats,
};

const struct kb_kernel kb_moe_layer_cuda_fused = {
    .name = "moe.layer", .impl = "cuda.fused",
    .description = "MoE layer on the GPU, fused: rows gathered in the GEMM's A load, gate-weighted scatter-add epilogue",
    .family = KB_FAMILY_MOE, .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .flops = moe_layer_flops, .bytes = moe_layer_bytes, .footprint = ffn_footprint,
    .setup = fused_setup, .run = gpu_run, .verify = gpu_verify, .tensors = gpu_tensors,
    .teardown = gpu_teardown, .stats = gpu_stats,
};
