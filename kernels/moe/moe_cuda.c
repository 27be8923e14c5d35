/* moe_cuda.c - the CUDA implementations of the mixture-of-experts operations (moe_ops.h):
 * moe.router, moe.dispatch, moe.combine, moe.experts and moe.layer (unfused and fused), bf16 on
 * tensor cores with float32 accumulation (device code in moe_gemm_mma.cu and moe_route_cuda.cu,
 * layouts in moe_cuda.h).
 *
 * The operations' bf16 inputs already hold bf16 values in float32 (moe_ops.h); setup converts
 * them to bf16 without loss into the padded device layouts, and collect copies the outputs back
 * into the operations' float32/int32 tensors for the float64 verdict. The bias stays float32
 * (added in float32). Device dtypes: x, weights and the intermediates xp, hb (the SwiGLU
 * activations) and yp in bf16; logits, gates and the layer output y in float32.
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
 *
 * Hopper (HAVE_SM90A builds, compute capability 9.0 only): moe.experts@cuda.wgmma is the same
 * two grouped GEMMs on wgmma with TMA loads (moe_gemm_wgmma.cu), the weights uploaded transposed
 * (K-major, moe_cuda.h); moe.layer@cuda.wgmma is the routing, the gather of xp (TMA cannot
 * gather on Hopper), the wgmma up GEMM with SwiGLU, and the wgmma down GEMM adding gate·row
 * into y (no yp, no combine): 8 kernels and a memset.
 */
#include "config.h"

#include "kernels/moe/moe.h"
#include "kernels/moe/moe_cuda.h"
#include "kernels/moe/moe_cuda_host.h"
#include "kernels/gpu/wgmma_device.h"
#include "kernels/gpu/device_memory.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum moe_gpu_kind { GPU_ROUTER, GPU_DISPATCH, GPU_COMBINE, GPU_EXPERTS, GPU_UNFUSED, GPU_FUSED, GPU_EXPERTS_WG, GPU_LAYER_WG };
static const char *const kind_name[] = { "moe.router@cuda.mma",    "moe.dispatch@cuda",     "moe.combine@cuda",
                                         "moe.experts@cuda.mma",   "moe.layer@cuda.unfused", "moe.layer@cuda.fused",
                                         "moe.experts@cuda.wgmma", "moe.layer@cuda.wgmma" };

/* the tensor maps of the wgmma kinds' four GEMM operands */
enum { MAP_UP_A, MAP_UP_B, MAP_DOWN_A, MAP_DOWN_B, MAPS };

/* device buffers only: the inputs and outputs are the operation's (c->io) */
struct moe_gpu {
    enum moe_gpu_kind kind;
    int hp, fp, ep, max_mtiles;
    long slots;
    uint16_t *x, *wr, *w13, *w2, *xp, *hb, *yp;
    float *bias, *logits, *gates, *y;
    int *ids, *counts, *chunk_counts, *offsets, *mtile_start, *perm, *slot_of, *one_group;
    struct moe_wg_map *maps; /* wgmma kinds: MAPS tensor maps (host memory, passed by value at launch) */
};

static float float_of_bf16(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int cuda_fail(cudaError_t e, const char *who, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s (%s)", who, doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
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
            stage[(size_t)r * ld + c] = moe_bf16_of(src[(size_t)r * cols + c]);
    cudaError_t e = cudaMalloc((void **)dst, n * sizeof *stage);
    if (e == cudaSuccess)
        e = (cudaError_t)gpu_copy_to_device(*dst, stage, n * sizeof *stage);
    free(stage);
    return e;
}

/* The row of w13 (its column of the [k][n] layout) that holds column j of W1; W3's is 8 further. */
static size_t w13_column(int j) { return (size_t)(j / 8) * 16 + j % 8; }

/* dst[col_of(c)·ld + r] = bf16(src[r·cols + c]): a rows × cols matrix transposed into bf16 rows
 * of ld, in 32 × 32 tiles so the strided side stays in cache. interleave: col_of is w13_column
 * plus `plus` (W1 0, W3 8); otherwise col_of(c) = c. */
static void put_transposed(uint16_t *dst, size_t ld, const float *src, int rows, int cols, int interleave, int plus)
{
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < cols; c0 += 32)
        for (int r0 = 0; r0 < rows; r0 += 32)
            for (int c = c0; c < c0 + 32 && c < cols; c++) {
                const size_t at = (interleave ? w13_column(c) + (size_t)plus : (size_t)c) * ld;
                for (int r = r0; r < r0 + 32 && r < rows; r++)
                    dst[at + r] = moe_bf16_of(src[(size_t)r * cols + c]);
            }
}

/* W1, W3 [E][h][f] → w13 [E][hp][2·fp] interleaved by 8 columns (moe_cuda.h); W2 [E][f][h] →
 * w2 [E][fp][hp]. k_major (the wgmma kinds): transposed, w13t [E][2·fp][hp] and w2t [E][hp][fp].
 * One expert's staging at a time. */
static cudaError_t upload_experts(struct moe_gpu *g, const struct kb_shape *s, const float *w1all, const float *w3all,
                                  const float *w2all, int k_major)
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
        const float *w1 = w1all + (size_t)x * h * f, *w3 = w3all + (size_t)x * h * f;
        memset(stage, 0, per13 * sizeof *stage);
        if (k_major) {
            put_transposed(stage, (size_t)hp, w1, h, f, 1, 0);
            put_transposed(stage, (size_t)hp, w3, h, f, 1, 8);
        } else {
#pragma omp parallel for schedule(static)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < f; j++) {
                    size_t col = w13_column(j);
                    stage[(size_t)i * 2 * fp + col] = moe_bf16_of(w1[(size_t)i * f + j]);
                    stage[(size_t)i * 2 * fp + col + 8] = moe_bf16_of(w3[(size_t)i * f + j]);
                }
        }
        e = (cudaError_t)gpu_copy_to_device(g->w13 + (size_t)x * per13, stage, per13 * sizeof *stage);
        if (e != cudaSuccess)
            break;
        const float *w2 = w2all + (size_t)x * f * h;
        memset(stage, 0, per2 * sizeof *stage);
        if (k_major) {
            put_transposed(stage, (size_t)fp, w2, f, h, 0, 0);
        } else {
#pragma omp parallel for schedule(static)
            for (int i = 0; i < f; i++)
                for (int j = 0; j < h; j++)
                    stage[(size_t)i * hp + j] = moe_bf16_of(w2[(size_t)i * h + j]);
        }
        e = (cudaError_t)gpu_copy_to_device(g->w2 + (size_t)x * per2, stage, per2 * sizeof *stage);
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
    free(g->maps);
    free(g);
}

static void gpu_teardown(struct kb_case *c)
{
    if (c->state)
        gpu_free(c->state);
    c->state = NULL;
}

static int is_wgmma(enum moe_gpu_kind k)
{
    return k == GPU_EXPERTS_WG || k == GPU_LAYER_WG;
}

/* moe.experts: the operation's xp, offsets and weights in, yp out */
static int is_experts(enum moe_gpu_kind k)
{
    return k == GPU_EXPERTS || k == GPU_EXPERTS_WG;
}

static int is_layer(enum moe_gpu_kind k)
{
    return k == GPU_UNFUSED || k == GPU_FUSED || k == GPU_LAYER_WG;
}

static int uses_ffn(enum moe_gpu_kind k)
{
    return is_experts(k) || is_layer(k);
}

/* The wgmma kinds' tensor maps over xp, hb and the transposed weights (their pointers are fixed
 * for the case's life). */
static int wg_maps(struct moe_gpu *g, const struct kb_shape *s, char *err, size_t errlen)
{
#ifdef HAVE_SM90A
    const char *who = kind_name[g->kind];
    char why[200] = "";
    cudaError_t e = (cudaError_t)moe_wg_prepare();
    if (e != cudaSuccess)
        return cuda_fail(e, who, "raising the wgmma kernels' shared-memory limit", err, errlen);
    g->maps = calloc(MAPS, sizeof *g->maps);
    if (!g->maps) {
        snprintf(err, errlen, "%s: out of memory", who);
        return KB_ERROR;
    }
    const long E = s->experts;
    int rc = moe_wg_map_new(&g->maps[MAP_UP_A], g->xp, g->slots, g->hp, 0, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_wg_map_new(&g->maps[MAP_UP_B], g->w13, E * 2 * g->fp, g->hp, 1, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_wg_map_new(&g->maps[MAP_DOWN_A], g->hb, g->slots, g->fp, 0, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_wg_map_new(&g->maps[MAP_DOWN_B], g->w2, E * g->hp, g->fp, 1, why, sizeof why);
    if (rc != KB_OK)
        snprintf(err, errlen, "%s: %s", who, why);
    return rc;
#else
    (void)g, (void)s;
    snprintf(err, errlen, "this kbench was built without sm_90a (wgmma)");
    return KB_UNSUPPORTED;
#endif
}

/* setup reads x, W_r and b of moe.router, moe.dispatch and moe.layer at one set of indices */
_Static_assert((int)KB_MOE_DISPATCH_X == (int)KB_MOE_ROUTER_X && (int)KB_MOE_LAYER_X == (int)KB_MOE_ROUTER_X &&
               (int)KB_MOE_LAYER_WR == (int)KB_MOE_ROUTER_WR && (int)KB_MOE_LAYER_BIAS == (int)KB_MOE_ROUTER_BIAS,
               "moe operands: x, w_router and b_router at the same indices");

static int gpu_setup(struct kb_case *c, enum moe_gpu_kind kind, char *err, size_t errlen)
{
    const char *who = kind_name[kind];
    const struct kb_shape *s = &c->shape;
    if (is_wgmma(kind)) { /* sm_90a code only: any other GPU is refused, saying why */
        int rc = wgmma_device_check(c->device_index, err, errlen);
        if (rc != KB_OK)
            return rc;
    }
    struct moe_gpu *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "%s: out of memory", who);
        return KB_ERROR;
    }
    c->state = g;
    g->kind = kind;
    const int T = s->tokens, E = s->experts, h = s->hidden;
    g->hp = moe_round8(h);
    g->fp = uses_ffn(kind) ? moe_round8(s->ffn) : 0;
    g->ep = moe_round8(E);
    g->slots = (long)T * s->top_k;
    const size_t slots = (size_t)g->slots;

    cudaError_t e = cudaSuccess;
    const int router = kind == GPU_ROUTER || is_layer(kind);
    const int sorts = kind == GPU_DISPATCH || is_layer(kind);
    const size_t nchunks = (slots + MOE_CUDA_SORT_CHUNK - 1) / MOE_CUDA_SORT_CHUNK;
    /* x, W_r and b sit at the same indices in moe.router, moe.dispatch (x) and moe.layer */
    if (kind != GPU_COMBINE && !is_experts(kind))
        e = upload_bf16(kb_input(c, KB_MOE_ROUTER_X), T, h, T, g->hp, &g->x);
    if (e == cudaSuccess && router) {
        e = upload_bf16(kb_input(c, KB_MOE_ROUTER_WR), h, E, g->hp, g->ep, &g->wr);
        if (e == cudaSuccess)
            e = moe_dev_copy(&g->bias, kb_input(c, KB_MOE_ROUTER_BIAS), (size_t)E * sizeof(float));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->logits, (size_t)T * g->ep * sizeof(float));
        /* the router GEMM is one group of T rows */
        int one[4] = { 0, T, 0, (T + MOE_CUDA_BM - 1) / MOE_CUDA_BM };
        if (e == cudaSuccess)
            e = moe_dev_copy(&g->one_group, one, sizeof one);
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->gates, slots * sizeof(float));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->counts, (size_t)E * sizeof(int));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->ids, slots * sizeof(int));
    }
    if (e == cudaSuccess && kind == GPU_DISPATCH)
        e = moe_dev_copy(&g->ids, kb_input(c, KB_MOE_DISPATCH_IDS), slots * sizeof(int));
    if (e == cudaSuccess && sorts) {
        e = moe_dev_alloc(&g->chunk_counts, (size_t)E * nchunks * sizeof(int));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->offsets, ((size_t)E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->mtile_start, ((size_t)E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->perm, slots * sizeof(int));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->slot_of, slots * sizeof(int));
        g->max_mtiles = (int)((slots + (size_t)E * (MOE_CUDA_BM - 1)) / MOE_CUDA_BM);
    }
    if (e == cudaSuccess && (kind == GPU_DISPATCH || kind == GPU_UNFUSED || kind == GPU_LAYER_WG))
        e = moe_dev_alloc(&g->xp, slots * g->hp * sizeof(uint16_t));
    if (e == cudaSuccess && kind == GPU_COMBINE) {
        e = upload_bf16(kb_input(c, KB_MOE_COMBINE_YP), (long)slots, h, (long)slots, g->hp, &g->yp);
        if (e == cudaSuccess)
            e = moe_dev_copy(&g->gates, kb_input(c, KB_MOE_COMBINE_GATES), slots * sizeof(float));
        if (e == cudaSuccess)
            e = moe_dev_copy(&g->slot_of, kb_input(c, KB_MOE_COMBINE_SLOT_OF), slots * sizeof(int));
    }
    if (e == cudaSuccess && is_experts(kind)) {
        const int *offsets = kb_input(c, KB_MOE_EXPERTS_OFFSETS);
        int *mts = malloc(((size_t)E + 1) * sizeof *mts);
        e = mts ? cudaSuccess : cudaErrorMemoryAllocation;
        if (e == cudaSuccess) {
            mtiles_of(offsets, E, mts);
            g->max_mtiles = mts[E];
            e = upload_bf16(kb_input(c, KB_MOE_EXPERTS_XP), (long)slots, h, (long)slots, g->hp, &g->xp);
        }
        if (e == cudaSuccess)
            e = moe_dev_copy(&g->offsets, offsets, ((size_t)E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = moe_dev_copy(&g->mtile_start, mts, ((size_t)E + 1) * sizeof(int));
        free(mts);
    }
    if (e == cudaSuccess && uses_ffn(kind)) {
        /* W1, W3, W2 at the same relative place in moe.experts and moe.layer */
        const int w1 = is_experts(kind) ? KB_MOE_EXPERTS_W1 : KB_MOE_LAYER_W1;
        const int w3 = is_experts(kind) ? KB_MOE_EXPERTS_W3 : KB_MOE_LAYER_W3;
        const int w2 = is_experts(kind) ? KB_MOE_EXPERTS_W2 : KB_MOE_LAYER_W2;
        e = upload_experts(g, s, kb_input(c, w1), kb_input(c, w3), kb_input(c, w2), is_wgmma(kind));
        if (e == cudaSuccess)
            e = moe_dev_alloc(&g->hb, slots * g->fp * sizeof(uint16_t));
    }
    if (e == cudaSuccess && (is_experts(kind) || kind == GPU_UNFUSED))
        e = moe_dev_alloc(&g->yp, slots * g->hp * sizeof(uint16_t));
    if (e == cudaSuccess && (kind == GPU_COMBINE || is_layer(kind)))
        e = moe_dev_alloc(&g->y, (size_t)T * g->hp * sizeof(float));
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        int rc = cuda_fail(e, who, "setting up the device buffers", err, errlen);
        gpu_teardown(c);
        return rc;
    }
    if (is_wgmma(kind)) {
        int rc = wg_maps(g, s, err, errlen);
        if (rc != KB_OK) {
            gpu_teardown(c);
            return rc;
        }
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

/* The same two projections on wgmma (moe_gemm_wgmma.cu): A from xp (TMA cannot gather), the
 * weights transposed; scatter: the down projection adds gate·row into y instead of writing yp. */
static int launch_experts_wg(struct moe_gpu *g, const struct kb_shape *s, int scatter, void *st)
{
#ifdef HAVE_SM90A
    struct moe_wg_gemm up = {
        .a = &g->maps[MAP_UP_A], .b = &g->maps[MAP_UP_B], .n = 2 * g->fp, .k = g->hp,
        .group_off = g->offsets, .mtile_start = g->mtile_start, .groups = s->experts, .max_mtiles = g->max_mtiles,
        .epilogue = MOE_EPI_SWIGLU, .c = g->hb, .ldc = g->fp,
    };
    struct moe_wg_gemm down = {
        .a = &g->maps[MAP_DOWN_A], .b = &g->maps[MAP_DOWN_B], .n = g->hp, .k = g->fp,
        .group_off = g->offsets, .mtile_start = g->mtile_start, .groups = s->experts, .max_mtiles = g->max_mtiles,
        .epilogue = scatter ? MOE_EPI_SCATTER : MOE_EPI_BF16, .c = scatter ? (void *)g->y : (void *)g->yp,
        .ldc = g->hp, .c_index = scatter ? g->perm : NULL, .c_div = s->top_k, .c_scale = scatter ? g->gates : NULL,
    };
    int e = moe_wg_gemm_launch(&up, st);
    if (e == 0)
        e = moe_wg_gemm_launch(&down, st);
    return e;
#else
    (void)g, (void)s, (void)scatter, (void)st;
    return (int)cudaErrorNotSupported; /* setup refused the case already */
#endif
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
    case GPU_EXPERTS_WG:
        e = launch_experts_wg(g, s, 0, st);
        break;
    case GPU_LAYER_WG:
        e = launch_router(g, s, NULL, st);
        if (e == 0)
            e = moe_cuda_sort_launch(g->ids, g->slots, s->experts, g->chunk_counts, g->offsets, g->mtile_start,
                                     g->perm, g->slot_of, st);
        if (e == 0)
            e = moe_cuda_gather_launch(g->x, g->hp, g->perm, s->top_k, g->slots, g->xp, st);
        if (e == 0)
            e = (int)cudaMemsetAsync(g->y, 0, (size_t)s->tokens * g->hp * sizeof(float), (cudaStream_t)st);
        if (e == 0)
            e = launch_experts_wg(g, s, 1, st);
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

/* ---- collect: the outputs into the operation's tensors ---------------------------------------- */

/* rows × h of a padded device matrix (row stride ld elements of `size` bytes) into host. */
static cudaError_t fetch_rows(void *host, const void *dev, size_t rows, int h, int ld, size_t size)
{
    if (rows == 0)
        return cudaSuccess;
    return cudaMemcpy2D(host, (size_t)h * size, dev, (size_t)ld * size, (size_t)h * size, rows,
                        cudaMemcpyDeviceToHost);
}

/* bf16 rows on the device → float32 on the host */
static cudaError_t fetch_bf16_rows(float *host, const uint16_t *dev, size_t rows, int h, int ld)
{
    uint16_t *tmp = malloc(rows * h * sizeof *tmp + 2);
    if (!tmp)
        return cudaErrorMemoryAllocation;
    cudaError_t e = fetch_rows(tmp, dev, rows, h, ld, sizeof *tmp);
    for (size_t i = 0; e == cudaSuccess && i < rows * h; i++)
        host[i] = float_of_bf16(tmp[i]);
    free(tmp);
    return e;
}

static cudaError_t fetch(void *host, const void *dev, size_t bytes)
{
    return cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost);
}

/* the layer's routing: ids, gates, and the loads from the sort's offsets */
static cudaError_t fetch_layer_routing(const struct moe_gpu *g, struct kb_case *c)
{
    const int E = c->shape.experts;
    int *off = malloc(((size_t)E + 1) * sizeof *off);
    if (!off)
        return cudaErrorMemoryAllocation;
    cudaError_t e = fetch(kb_output(c, KB_MOE_LAYER_IDS), g->ids, (size_t)g->slots * sizeof(int));
    if (e == cudaSuccess)
        e = fetch(kb_output(c, KB_MOE_LAYER_GATES), g->gates, (size_t)g->slots * sizeof(float));
    if (e == cudaSuccess)
        e = fetch(off, g->offsets, ((size_t)E + 1) * sizeof(int));
    int *counts = kb_output(c, KB_MOE_LAYER_COUNTS);
    for (int x = 0; e == cudaSuccess && x < E; x++)
        counts[x] = off[x + 1] - off[x];
    free(off);
    return e;
}

static int gpu_collect(struct kb_case *c)
{
    const struct moe_gpu *g = c->state;
    const struct kb_shape *s = &c->shape;
    const size_t slots = (size_t)g->slots, T = (size_t)s->tokens, E = (size_t)s->experts;
    const int h = s->hidden;
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)c->stream);
    if (e != cudaSuccess)
        goto fail;
    switch (g->kind) {
    case GPU_ROUTER:
        e = fetch(kb_output(c, KB_MOE_ROUTER_IDS), g->ids, slots * sizeof(int));
        if (e == cudaSuccess)
            e = fetch(kb_output(c, KB_MOE_ROUTER_GATES), g->gates, slots * sizeof(float));
        if (e == cudaSuccess)
            e = fetch(kb_output(c, KB_MOE_ROUTER_COUNTS), g->counts, E * sizeof(int));
        break;
    case GPU_DISPATCH:
        e = fetch(kb_output(c, KB_MOE_DISPATCH_OFFSETS), g->offsets, (E + 1) * sizeof(int));
        if (e == cudaSuccess)
            e = fetch(kb_output(c, KB_MOE_DISPATCH_PERM), g->perm, slots * sizeof(int));
        if (e == cudaSuccess)
            e = fetch(kb_output(c, KB_MOE_DISPATCH_SLOT_OF), g->slot_of, slots * sizeof(int));
        if (e == cudaSuccess)
            e = fetch_bf16_rows(kb_output(c, KB_MOE_DISPATCH_XP), g->xp, slots, h, g->hp);
        break;
    case GPU_COMBINE:
        e = fetch_rows(kb_output(c, KB_MOE_COMBINE_Y), g->y, T, h, g->hp, sizeof(float));
        break;
    case GPU_EXPERTS:
    case GPU_EXPERTS_WG:
        e = fetch_bf16_rows(kb_output(c, KB_MOE_EXPERTS_YP), g->yp, slots, h, g->hp);
        break;
    case GPU_UNFUSED:
    case GPU_FUSED:
    case GPU_LAYER_WG:
        e = fetch_layer_routing(g, c);
        if (e == cudaSuccess)
            e = fetch_rows(kb_output(c, KB_MOE_LAYER_Y), g->y, T, h, g->hp, sizeof(float));
        break;
    }
    if (e == cudaSuccess)
        return KB_OK;
fail:
    snprintf(c->error, sizeof c->error, "%s collect: %s", kind_name[g->kind], cudaGetErrorString(e));
    return KB_ERROR;
}

/* ---- stats, descriptors ------------------------------------------------------------------------- */

/* The Hopper GEMMs' form after the case's own counters: persistent or a block a tile
 * (KBENCH_MOE_WG_PERSISTENT), clusters (KBENCH_MOE_WG_CLUSTER). */
static int wg_form_stats(const struct moe_gpu *g, struct kb_counter *out, int n, int max)
{
#ifdef HAVE_SM90A
    if (is_wgmma(g->kind)) {
        n = moe_put_counter(out, n, max, "moe_wg.persistent", moe_wg_persistent(), "count");
        n = moe_put_counter(out, n, max, "moe_wg.cluster", moe_wg_cluster(), "count");
    }
#else
    (void)g, (void)out, (void)max;
#endif
    return n;
}

static int gpu_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct moe_gpu *g = c->state;
    int n;
    switch (g->kind) {
    case GPU_ROUTER:
        return moe_case_stats(c, KB_MOE_ROUTER_COUNTS, 1, out, max);
    case GPU_UNFUSED:
    case GPU_FUSED:
    case GPU_LAYER_WG:
        n = moe_case_stats(c, KB_MOE_LAYER_COUNTS, 1, out, max);
        break;
    default: /* the loads of the routing the operation's inputs came from */
        n = moe_case_stats(c, -1, 0, out, max);
        break;
    }
    return wg_form_stats(g, out, n, max);
}

/* Host bytes beyond the operands: the bf16 staging of the largest upload or download (tokens,
 * dispatched rows, one expert's weights). */
static double gpu_footprint_of(const struct kb_shape *s, int ffn)
{
    double rows = (double)s->tokens * s->top_k > s->tokens ? (double)s->tokens * s->top_k : s->tokens;
    double hp = s->hidden + 8.0, fp = ffn ? s->ffn + 8.0 : 0;
    double stage = rows * hp > hp * (s->experts + 8.0) ? rows * hp : hp * (s->experts + 8.0);
    if (2.0 * hp * fp > stage)
        stage = 2.0 * hp * fp;
    return 2.0 * stage + 4.0 * (s->experts + 1.0) + 64.0 * 2;
}
static double small_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return gpu_footprint_of(s, 0);
}
static double ffn_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return gpu_footprint_of(s, 1);
}

static int router_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_ROUTER, e, n); }
static int dispatch_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_DISPATCH, e, n); }
static int combine_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_COMBINE, e, n); }
static int experts_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_EXPERTS, e, n); }
static int unfused_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_UNFUSED, e, n); }
static int fused_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_FUSED, e, n); }
static int experts_wg_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_EXPERTS_WG, e, n); }
static int layer_wg_setup(struct kb_case *c, char *e, size_t n) { return gpu_setup(c, GPU_LAYER_WG, e, n); }

#define ROUTED_AXES (KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) | \
                     KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT))

const struct kb_kernel kb_moe_router_cuda = {
    .name = "moe.router", .impl = "cuda.mma",
    .description = "MoE router on the GPU: logits x·W_r (bf16 mma.sync GEMM, f32 accumulate), top-k and gates kernel",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = ROUTED_AXES, .footprint = small_footprint,
    .setup = router_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_router, .collect = gpu_collect,
};

const struct kb_kernel kb_moe_dispatch_cuda = {
    .name = "moe.dispatch", .impl = "cuda",
    .description = "MoE dispatch on the GPU: stable counting sort (histogram, scan, warp-match scatter), bf16 row gather",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = ROUTED_AXES, .footprint = small_footprint,
    .setup = dispatch_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_dispatch, .collect = gpu_collect,
};

const struct kb_kernel kb_moe_combine_cuda = {
    .name = "moe.combine", .impl = "cuda",
    .description = "MoE combine on the GPU: gate-weighted gather-sum of bf16 expert rows into f32 tokens",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = ROUTED_AXES, .footprint = small_footprint,
    .setup = combine_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_combine, .collect = gpu_collect,
};

const struct kb_kernel kb_moe_experts_cuda = {
    .name = "moe.experts", .impl = "cuda.mma",
    .description = "MoE experts on the GPU: grouped bf16 mma.sync GEMMs over all (expert, tile) pairs, SwiGLU epilogue",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = ffn_footprint,
    .setup = experts_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_experts, .collect = gpu_collect,
};

const struct kb_kernel kb_moe_layer_cuda_unfused = {
    .name = "moe.layer", .impl = "cuda.unfused",
    .description = "MoE layer on the GPU, unfused: router, sort, gather, grouped GEMMs, combine; intermediates in memory",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = ffn_footprint,
    .setup = unfused_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_layer, .collect = gpu_collect,
};

const struct kb_kernel kb_moe_layer_cuda_fused = {
    .name = "moe.layer", .impl = "cuda.fused",
    .description = "MoE layer on the GPU, fused: rows gathered in the GEMM's A load, gate-weighted scatter-add epilogue",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = ffn_footprint,
    .setup = fused_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_layer, .collect = gpu_collect,
};

#ifdef HAVE_SM90A
const struct kb_kernel kb_moe_experts_cuda_wgmma = {
    .name = "moe.experts", .impl = "cuda.wgmma",
    .description = "MoE experts on Hopper: grouped bf16 GEMMs on wgmma m64n256k16 with TMA loads (sm_90a), SwiGLU epilogue",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = ffn_footprint,
    .setup = experts_wg_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_experts, .collect = gpu_collect,
};

const struct kb_kernel kb_moe_layer_cuda_wgmma = {
    .name = "moe.layer", .impl = "cuda.wgmma",
    .description = "MoE layer on Hopper: routing, gather, wgmma+TMA grouped GEMMs (sm_90a), gate-weighted scatter-add epilogue",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = ffn_footprint,
    .setup = layer_wg_setup, .run = gpu_run, .teardown = gpu_teardown, .stats = gpu_stats,
    .op = &kb_op_moe_layer, .collect = gpu_collect,
};
#endif
