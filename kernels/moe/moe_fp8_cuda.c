/* moe_fp8_cuda.c - moe.experts@cuda.wgmma-fp8: the experts' two grouped GEMMs in DeepSeek-V3's
 * block-scaled FP8 on Hopper (device code in moe_fp8_wgmma.cu, layouts in moe_cuda.h "Hopper
 * FP8"; HAVE_SM90A builds, compute capability 9.0 only).
 *
 * setup  the weights quantized once on the host (static weights: moe_fp8.c, e4m3 in 128 × 128
 *        blocks of the K-major w13t [E][2f][h] and w2t [E][h][f], a float scale each) and
 *        uploaded; xp uploaded as bf16 (the e4m3 case's inputs hold bf16 values) and quantized on
 *        the device per token per 128 channels, the activations' pre-pass: timed apart (events,
 *        best of MOE_FP8_QUANT_REPS) into the counter fp8.quantize_s, so the case's time is the
 *        GEMMs, as attention.int8's int8.quantize_s.
 * run    up GEMM (xq · W13, SwiGLU epilogue → hb bf16), the quantizer on hb (h in 1 × 128 blocks,
 *        as DeepSeek-V3 feeds its down projection), down GEMM (hq · W2 → yp bf16): three kernels.
 *        hb's quantizer is part of the experts and is timed with them. By default (the up GEMM on
 *        its 256-column tile; KBENCH_MOE_FP8_FUSED_QUANT=0 keeps three kernels) the up GEMM's
 *        epilogue quantizes h itself (MOE_EPI_SWIGLU_FP8), bit for bit as the quantizer would:
 *        two kernels, and no bf16 h in the timed calls. The first call, the one verified, also
 *        stores hb, so the check below judges the same things either way.
 * check  beyond moe.experts' verdict (float64 FFN on the unquantized inputs, MOE_FP8_TOLERANCE):
 *        the pre-pass's codes and scales bit for bit against the host rule (exact_checked), and
 *        sampled rows against float64 on the kernel's own dequantized operands (xq · W13 → h
 *        against hb; hq · W2 against yp) within MOE_FP8_KERNEL_TOLERANCE.
 * Shapes: hidden and ffn multiples of 128 (the quantization blocks and the 128 × 128 tiles);
 * anything else is refused with the reason. */
#include "config.h"

#include "kernels/moe/moe.h"
#include "kernels/moe/moe_cuda.h"
#include "kernels/moe/moe_cuda_host.h"
#include "kernels/gpu/wgmma_device.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOE_FP8_QUANT_REPS 5
static const char who[] = "moe.experts@cuda.wgmma-fp8";

/* the GEMMs' operands, and their outputs' store maps: hq (the up GEMM's codes), yp */
enum { MAP_UP_A, MAP_UP_B, MAP_DOWN_A, MAP_DOWN_B, MAP_UP_Q, MAP_DOWN_Y, MAPS };

struct moe_fp8_gpu {
    int max_mtiles;
    long slots;
    uint16_t *xp, *hb, *yp;    /* bf16 [slots][h], [slots][f], [slots][h] */
    uint8_t *xq, *hq;          /* e4m3 activations, [slots][h] and [slots][f] */
    float *xs, *hs;            /* their scales, [h/128][slots] and [f/128][slots] */
    uint8_t *w13, *w2;         /* e4m3 [E][2f][h], [E][h][f] */
    float *s13, *s2;           /* [E][2f/128][h/128], [E][h/128][f/128] */
    int *offsets, *mtile_start;
    struct moe_wg_map maps[MAPS];
    double quantize_s;
    long runs; /* calls of fp8_run so far: the first (verified) one stores hb in the fused form */
};

static int fail(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", who, doing, cudaGetErrorString(e));
    return KB_ERROR;
}

static void fp8_teardown(struct kb_case *c)
{
    struct moe_fp8_gpu *g = c->state;
    if (!g)
        return;
    void *bufs[] = { g->xp, g->hb, g->yp, g->xq, g->hq, g->xs, g->hs, g->w13, g->w2, g->s13, g->s2, g->offsets, g->mtile_start };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cudaFree(bufs[i]);
    free(g);
    c->state = NULL;
}

/* Every expert's weights quantized (moe_fp8.c) and uploaded, one expert's staging at a time. */
static cudaError_t upload_weights(struct moe_fp8_gpu *g, const struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    const int h = s->hidden, f = s->ffn, E = s->experts;
    const size_t n13 = (size_t)2 * f * h, n2 = (size_t)h * f;
    const size_t k13 = n13 / (MOE_FP8_BLOCK * MOE_FP8_BLOCK), k2 = n2 / (MOE_FP8_BLOCK * MOE_FP8_BLOCK);
    uint8_t *codes = malloc(n13);
    float *scales = malloc(k13 * sizeof *scales);
    cudaError_t e = codes && scales ? cudaSuccess : cudaErrorMemoryAllocation;
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->w13, (size_t)E * n13);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->w2, (size_t)E * n2);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->s13, (size_t)E * k13 * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&g->s2, (size_t)E * k2 * sizeof(float));
    const float *w1 = kb_input(c, KB_MOE_EXPERTS_W1), *w3 = kb_input(c, KB_MOE_EXPERTS_W3);
    const float *w2 = kb_input(c, KB_MOE_EXPERTS_W2);
    for (int x = 0; x < E && e == cudaSuccess; x++) {
        const size_t wx = (size_t)x * h * f;
        if (moe_fp8_quantize_w13(w1 + wx, w3 + wx, h, f, codes, scales) != KB_OK)
            e = cudaErrorMemoryAllocation;
        if (e == cudaSuccess)
            e = (cudaError_t)gpu_copy_to_device(g->w13 + x * n13, codes, n13);
        if (e == cudaSuccess)
            e = (cudaError_t)gpu_copy_to_device(g->s13 + x * k13, scales, k13 * sizeof(float));
        if (e == cudaSuccess && moe_fp8_quantize_w2(w2 + wx, f, h, codes, scales) != KB_OK)
            e = cudaErrorMemoryAllocation;
        if (e == cudaSuccess)
            e = (cudaError_t)gpu_copy_to_device(g->w2 + x * n2, codes, n2);
        if (e == cudaSuccess)
            e = (cudaError_t)gpu_copy_to_device(g->s2 + x * k2, scales, k2 * sizeof(float));
    }
    free(codes);
    free(scales);
    return e;
}

/* The activations' pre-pass, run MOE_FP8_QUANT_REPS times: the best time into quantize_s. */
static cudaError_t time_prepass(struct moe_fp8_gpu *g, const struct kb_shape *s, cudaStream_t st)
{
    cudaEvent_t t0, t1;
    cudaError_t e = cudaEventCreate(&t0);
    if (e != cudaSuccess)
        return e;
    e = cudaEventCreate(&t1);
    float best = INFINITY;
    for (int i = 0; e == cudaSuccess && i < MOE_FP8_QUANT_REPS; i++) {
        float ms = 0;
        e = cudaEventRecord(t0, st);
        if (e == cudaSuccess)
            e = (cudaError_t)moe_fp8_quantize_launch(g->xp, s->hidden, (int)g->slots, g->xq, g->xs, st);
        if (e == cudaSuccess)
            e = cudaEventRecord(t1, st);
        if (e == cudaSuccess)
            e = cudaEventSynchronize(t1);
        if (e == cudaSuccess)
            e = cudaEventElapsedTime(&ms, t0, t1);
        if (e == cudaSuccess && ms < best)
            best = ms;
    }
    g->quantize_s = 1e-3 * best;
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);
    return e;
}

static int fp8_maps(struct moe_fp8_gpu *g, const struct kb_shape *s, char *err, size_t errlen)
{
    cudaError_t e = (cudaError_t)moe_fp8_prepare();
    if (e != cudaSuccess)
        return fail(e, "raising the kernels' shared-memory limit", err, errlen);
    const long E = s->experts;
    const int h = s->hidden, f = s->ffn;
    char why[256];
    int rc = moe_fp8_map_new(&g->maps[MAP_UP_A], g->xq, g->slots, h, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_fp8_map_new(&g->maps[MAP_UP_B], g->w13, E * 2 * f, h, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_fp8_map_new(&g->maps[MAP_DOWN_A], g->hq, g->slots, f, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_fp8_map_new(&g->maps[MAP_DOWN_B], g->w2, E * h, f, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_fp8_store_map_new(&g->maps[MAP_UP_Q], g->hq, g->slots, f, 1, why, sizeof why);
    if (rc == KB_OK)
        rc = moe_fp8_store_map_new(&g->maps[MAP_DOWN_Y], g->yp, g->slots, h, 2, why, sizeof why);
    if (rc != KB_OK)
        snprintf(err, errlen, "%s: %s", who, why);
    return rc;
}

static int fp8_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    if (s->hidden % MOE_FP8_BLOCK || s->ffn % MOE_FP8_BLOCK) {
        snprintf(err, errlen, "%s: hidden (%d) and ffn (%d) must be multiples of %d (the FP8 blocks)", who, s->hidden,
                 s->ffn, MOE_FP8_BLOCK);
        return KB_UNSUPPORTED;
    }
    int rc = wgmma_device_check(c->device_index, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct moe_fp8_gpu *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "%s: out of memory", who);
        return KB_ERROR;
    }
    c->state = g;
    const int E = s->experts, h = s->hidden, f = s->ffn;
    g->slots = (long)s->tokens * s->top_k;
    const size_t slots = (size_t)g->slots;
    const int *offsets = kb_input(c, KB_MOE_EXPERTS_OFFSETS);
    int *mts = malloc(((size_t)E + 1) * sizeof *mts);
    uint16_t *stage = malloc(slots * h * sizeof *stage + 2);
    cudaError_t e = mts && stage ? cudaSuccess : cudaErrorMemoryAllocation;
    if (e == cudaSuccess) {
        mts[0] = 0;
        for (int x = 0; x < E; x++)
            mts[x + 1] = mts[x] + (offsets[x + 1] - offsets[x] + MOE_CUDA_BM - 1) / MOE_CUDA_BM;
        g->max_mtiles = mts[E];
        const float *xp = kb_input(c, KB_MOE_EXPERTS_XP);
        for (size_t i = 0; i < slots * h; i++)
            stage[i] = moe_bf16_of(xp[i]);
        e = moe_dev_copy(&g->xp, stage, slots * h * sizeof *stage);
    }
    if (e == cudaSuccess)
        e = moe_dev_copy(&g->offsets, offsets, ((size_t)E + 1) * sizeof(int));
    if (e == cudaSuccess)
        e = moe_dev_copy(&g->mtile_start, mts, ((size_t)E + 1) * sizeof(int));
    free(mts);
    free(stage);
    if (e == cudaSuccess)
        e = moe_dev_alloc(&g->xq, slots * h);
    if (e == cudaSuccess)
        e = moe_dev_alloc(&g->xs, slots * (h / MOE_FP8_BLOCK) * sizeof(float));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&g->hb, slots * f * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&g->hq, slots * f);
    if (e == cudaSuccess)
        e = moe_dev_alloc(&g->hs, slots * (f / MOE_FP8_BLOCK) * sizeof(float));
    if (e == cudaSuccess)
        e = moe_dev_alloc(&g->yp, slots * h * sizeof(uint16_t));
    if (e == cudaSuccess)
        e = upload_weights(g, c);
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e == cudaSuccess)
        e = time_prepass(g, s, (cudaStream_t)c->stream);
    if (e != cudaSuccess) {
        rc = fail(e, "setting up the device buffers and the pre-pass", err, errlen);
        fp8_teardown(c);
        return rc;
    }
    rc = fp8_maps(g, s, err, errlen);
    if (rc != KB_OK)
        fp8_teardown(c);
    return rc;
}

static int fp8_run(struct kb_case *c)
{
    struct moe_fp8_gpu *g = c->state;
    const struct kb_shape *s = &c->shape;
    const int h = s->hidden, f = s->ffn;
    struct moe_fp8_gemm up = {
        .a = &g->maps[MAP_UP_A], .b = &g->maps[MAP_UP_B], .a_scale = g->xs, .b_scale = g->s13, .a_scale_ld = g->slots,
        .n = 2 * f, .k = h, .group_off = g->offsets, .mtile_start = g->mtile_start, .groups = s->experts,
        .max_mtiles = g->max_mtiles, .epilogue = MOE_EPI_SWIGLU, .c = g->hb, .ldc = f,
    };
    const int fused = moe_fp8_fused_quant(2 * f);
    if (fused) {
        up.epilogue = MOE_EPI_SWIGLU_FP8, up.q = g->hq, up.q_scale = g->hs, up.q_scale_ld = g->slots;
        up.c_map = &g->maps[MAP_UP_Q];
        up.c = g->runs == 0 ? g->hb : NULL;
    }
    g->runs++;
    struct moe_fp8_gemm down = {
        .a = &g->maps[MAP_DOWN_A], .b = &g->maps[MAP_DOWN_B], .a_scale = g->hs, .b_scale = g->s2, .a_scale_ld = g->slots,
        .n = h, .k = f, .group_off = g->offsets, .mtile_start = g->mtile_start, .groups = s->experts,
        .max_mtiles = g->max_mtiles, .epilogue = MOE_EPI_BF16, .c = g->yp, .ldc = h, .c_map = &g->maps[MAP_DOWN_Y],
    };
    int e = moe_fp8_gemm_launch(&up, c->stream);
    if (e == 0 && !fused)
        e = moe_fp8_quantize_launch(g->hb, f, (int)g->slots, g->hq, g->hs, c->stream);
    if (e == 0)
        e = moe_fp8_gemm_launch(&down, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "%s launch: %s", who, cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static float bf16_value(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int fp8_collect(struct kb_case *c)
{
    const struct moe_fp8_gpu *g = c->state;
    const size_t n = (size_t)g->slots * c->shape.hidden;
    uint16_t *tmp = malloc(n * sizeof *tmp + 2);
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)c->stream);
    if (e == cudaSuccess)
        e = tmp ? cudaMemcpy(tmp, g->yp, n * sizeof *tmp, cudaMemcpyDeviceToHost) : cudaErrorMemoryAllocation;
    float *yp = kb_output(c, KB_MOE_EXPERTS_YP);
    for (size_t i = 0; e == cudaSuccess && i < n; i++)
        yp[i] = bf16_value(tmp[i]);
    free(tmp);
    if (e == cudaSuccess)
        return KB_OK;
    snprintf(c->error, sizeof c->error, "%s collect: %s", who, cudaGetErrorString(e));
    return KB_ERROR;
}

/* ---- check: the kernel's arithmetic on its own codes -------------------------------------------- */

struct fp8_host {
    uint8_t *xq, *hq, *w13, *w2; /* activations whole; one expert's weights at a time */
    float *xs, *hs, *s13, *s2;
    uint16_t *hb;
};

static cudaError_t fetch(void *dst, const void *src, size_t bytes)
{
    return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
}

static void host_free(struct fp8_host *hs)
{
    free(hs->xq), free(hs->hq), free(hs->w13), free(hs->w2), free(hs->xs), free(hs->hs), free(hs->s13), free(hs->s2);
    free(hs->hb);
}

static int fp8_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const struct moe_fp8_gpu *g = c->state;
    const struct kb_shape *s = &c->shape;
    const int h = s->hidden, f = s->ffn, E = s->experts;
    const size_t slots = (size_t)g->slots, n13 = (size_t)2 * f * h, n2 = (size_t)h * f;
    const size_t k13 = n13 / (MOE_FP8_BLOCK * MOE_FP8_BLOCK), k2 = n2 / (MOE_FP8_BLOCK * MOE_FP8_BLOCK);
    const int *off = kb_input(c, KB_MOE_EXPERTS_OFFSETS);
    const float *yp = c->io.tensor[KB_MOE_EXPERTS_YP].data;
    struct fp8_host hs = { 0 };
    long nrows = moe_verify_rows((long)slots, 6.0 * h * f);
    long *rows = malloc((size_t)nrows * sizeof *rows + 8);
    double *href = malloc((size_t)f * sizeof *href), *yref = malloc((size_t)h * sizeof *yref);
    hs.xq = malloc(slots * h + 1), hs.hq = malloc(slots * f + 1), hs.w13 = malloc(n13), hs.w2 = malloc(n2);
    hs.xs = malloc(slots * (h / 128) * sizeof(float) + 4), hs.hs = malloc(slots * (f / 128) * sizeof(float) + 4);
    hs.s13 = malloc(k13 * sizeof(float)), hs.s2 = malloc(k2 * sizeof(float));
    hs.hb = malloc(slots * f * sizeof(uint16_t) + 2);
    cudaError_t e = rows && href && yref && hs.xq && hs.hq && hs.w13 && hs.w2 && hs.xs && hs.hs && hs.s13 && hs.s2 && hs.hb
                        ? cudaSuccess
                        : cudaErrorMemoryAllocation;
    if (e == cudaSuccess)
        e = fetch(hs.xq, g->xq, slots * h);
    if (e == cudaSuccess)
        e = fetch(hs.xs, g->xs, slots * (h / 128) * sizeof(float));
    if (e == cudaSuccess)
        e = fetch(hs.hq, g->hq, slots * f);
    if (e == cudaSuccess)
        e = fetch(hs.hs, g->hs, slots * (f / 128) * sizeof(float));
    if (e == cudaSuccess)
        e = fetch(hs.hb, g->hb, slots * f * sizeof(uint16_t));
    struct verify_acc hv, yv;
    verify_begin(&hv);
    verify_begin(&yv);
    if (e == cudaSuccess) {
        /* the quantizer bit for bit: setup's pre-pass on xp, and the first run's on hb (the
         * separate kernel's, or the up GEMM's epilogue's; the runs after it make the same codes) */
        acc->exact_mismatches =
            moe_fp8_quantizer_mismatches(kb_input(c, KB_MOE_EXPERTS_XP), NULL, (long)slots, h, hs.xq, hs.xs) +
            moe_fp8_quantizer_mismatches(NULL, hs.hb, (long)slots, f, hs.hq, hs.hs);
        acc->exact_checked = (long)slots * ((h + f) / MOE_FP8_BLOCK);
        nrows = verify_sample_rows((long)slots, nrows, c->seed, rows);
        struct moe_fp8_operands o = { .xq = hs.xq, .hq = hs.hq, .w13 = hs.w13, .w2 = hs.w2, .xs = hs.xs, .hs = hs.hs,
                                      .s13 = hs.s13, .s2 = hs.s2, .slots = (long)slots, .h = h, .f = f };
        /* the sample ascends and the groups are contiguous: each expert's weights downloaded once */
        int x = -1;
        for (long t = 0; e == cudaSuccess && t < nrows; t++) {
            const long r = rows[t];
            int owner = x < 0 ? 0 : x;
            while (owner + 1 < E && off[owner + 1] <= r)
                owner++;
            if (owner != x) {
                x = owner;
                e = fetch(hs.w13, g->w13 + x * n13, n13);
                if (e == cudaSuccess)
                    e = fetch(hs.w2, g->w2 + x * n2, n2);
                if (e == cudaSuccess)
                    e = fetch(hs.s13, g->s13 + x * k13, k13 * sizeof(float));
                if (e == cudaSuccess)
                    e = fetch(hs.s2, g->s2 + x * k2, k2 * sizeof(float));
                if (e != cudaSuccess)
                    break;
            }
            moe_fp8_reference_row(&o, r, c->threads, href, yref);
            for (int j = 0; j < f; j++)
                verify_add(&hv, bf16_value(hs.hb[(size_t)r * f + j]), href[j]);
            for (int j = 0; j < h; j++)
                verify_add(&yv, yp[(size_t)r * h + j], yref[j]);
        }
    }
    struct kb_accuracy ha, ya;
    verify_finish(&hv, MOE_FP8_KERNEL_TOLERANCE, &ha);
    verify_finish(&yv, MOE_FP8_KERNEL_TOLERANCE, &ya);
    if (e != cudaSuccess || !ha.passed || !ya.passed || acc->exact_mismatches != 0)
        acc->passed = 0;
    free(rows);
    free(href);
    free(yref);
    host_free(&hs);
    return e == cudaSuccess ? KB_OK : KB_ERROR;
}

/* ---- stats, descriptor -------------------------------------------------------------------------- */

/* The forms the two GEMMs ran in first, then the routing's counters (moe_case_stats): with 64
 * experts those take 70 places, and whatever comes after the runner's room is dropped. */
static int fp8_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct moe_fp8_gpu *g = c->state;
    int n = 0;
    /* the output tiles the two GEMMs ran with (KBENCH_MOE_FP8_TILE=128 keeps the narrow one) */
    n = moe_put_counter(out, n, max, "moe_fp8.tile_up", moe_fp8_tile_columns(2 * c->shape.ffn), "count");
    n = moe_put_counter(out, n, max, "moe_fp8.tile_down", moe_fp8_tile_columns(c->shape.hidden), "count");
    /* whether the consumers took turns (KBENCH_MOE_FP8_TURNS=0 turns it off) */
    n = moe_put_counter(out, n, max, "moe_fp8.turns", moe_fp8_turns(), "count");
    /* and from which k-tile of a tile (KBENCH_MOE_FP8_TURNS_FROM) */
    n = moe_put_counter(out, n, max, "moe_fp8.turns_from", moe_fp8_turns_from(), "count");
    /* h quantized in the up GEMM's epilogue (1), or by a kernel of its own (KBENCH_MOE_FP8_FUSED_QUANT=0) */
    n = moe_put_counter(out, n, max, "moe_fp8.fused_quant", moe_fp8_fused_quant(2 * c->shape.ffn), "count");
    /* a block an SM looping over tiles, or a block a tile (KBENCH_MOE_FP8_PERSISTENT=0) */
    n = moe_put_counter(out, n, max, "moe_fp8.persistent", moe_fp8_persistent(), "count");
    /* two-block clusters sharing B (KBENCH_MOE_FP8_CLUSTER=2), per GEMM */
    n = moe_put_counter(out, n, max, "moe_fp8.cluster_up", moe_fp8_cluster(2 * c->shape.ffn), "count");
    n = moe_put_counter(out, n, max, "moe_fp8.cluster_down", moe_fp8_cluster(c->shape.hidden), "count");
    /* A fragments in registers (KBENCH_MOE_FP8_A_REGS=1), per GEMM */
    n = moe_put_counter(out, n, max, "moe_fp8.a_regs_up", moe_fp8_a_regs(2 * c->shape.ffn), "count");
    n = moe_put_counter(out, n, max, "moe_fp8.a_regs_down", moe_fp8_a_regs(c->shape.hidden), "count");
    /* the scales copied by cp.async (1), or loaded and stored by the scale warp (KBENCH_MOE_FP8_SCALES_ASYNC=0) */
    n = moe_put_counter(out, n, max, "moe_fp8.scales_async", moe_fp8_scales_async(), "count");
    /* the down GEMM's stores and the up GEMM's h codes through shared memory (the default), or
     * from the accumulators (KBENCH_MOE_FP8_STAGED_STORE=0; =down: the down GEMM's alone staged) */
    const int staged_store = moe_fp8_staged_store(c->shape.hidden), staged_codes = moe_fp8_staged_codes(2 * c->shape.ffn);
    n = moe_put_counter(out, n, max, "moe_fp8.staged_store", staged_store, "count");
    n = moe_put_counter(out, n, max, "moe_fp8.staged_codes", staged_codes, "count");
    /* those staged stores sent by TMA stores (the default), or by the lanes (KBENCH_MOE_FP8_TMA_STORE=0) */
    n = moe_put_counter(out, n, max, "moe_fp8.tma_store", moe_fp8_tma_store() && (staged_store || staged_codes), "count");
    if (g)
        n = moe_put_counter(out, n, max, "fp8.quantize_s", g->quantize_s, "s");
    return n < max ? n + moe_case_stats(c, -1, 0, out + n, max - n) : n;
}

/* Host bytes beyond the operands: setup's bf16 staging of xp and one expert's codes and scales;
 * check's copies of the codes (activations whole, one expert's weights), hb and the sample. */
static double fp8_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    const double slots = (double)s->tokens * s->top_k, h = s->hidden, f = s->ffn;
    const double setup = 2.0 * slots * h + 2.0 * f * h * (1.0 + 4.0 / (128.0 * 128.0));
    const double check = slots * (h + f) * (1.0 + 4.0 / 128.0) + 3.0 * f * h + 2.0 * slots * f +
                         8.0 * (h + f + MOE_VERIFY_ROWS);
    return (setup > check ? setup : check) + 4.0 * (s->experts + 1.0);
}

const struct kb_kernel kb_moe_experts_cuda_wgmma_fp8 = {
    .name = "moe.experts", .impl = "cuda.wgmma-fp8",
    .description = "MoE experts on Hopper in DeepSeek-V3's FP8: e4m3 1x128 activations, 128x128 weight blocks, wgmma "
                   "m64n128k32 e4m3 with per-k-block f32 promotion (sm_90a), SwiGLU epilogue",
    .device = KB_DEVICE_CUDA, .dtypes = KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .footprint = fp8_footprint,
    .setup = fp8_setup, .run = fp8_run, .collect = fp8_collect, .check = fp8_check, .teardown = fp8_teardown,
    .stats = fp8_stats, .op = &kb_op_moe_experts,
};
