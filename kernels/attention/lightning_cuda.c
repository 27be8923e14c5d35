/* lightning_cuda.c - attention.lightning@cuda.mma: the descriptor of the chunk-parallel
 * un-normalised decayed linear attention on tensor cores (passes in lightning_cuda.h, device
 * code in lightning_mma.cu). f16 and bf16 inputs, float32 accumulation, 16-bit chunk states,
 * d = 64 or 128, chunk 64 or 128, GQA; no decode step (attention.lightning@cpu has one).
 *
 * Verification is the operation's (lightning_op.c): its inputs hold values already rounded to
 * the dtype, so the float64 reference measures only the kernel's own error: the decayed keys,
 * the in-chunk weights, the local and prefix states are rounded to the dtype before the tensor
 * cores read them, and O is stored in it. Bound: verify_default_tolerance (relative L2: f16
 * 5e-3, bf16 2e-2). The weights are signed, but each rounded quantity is a sum of such terms
 * whose rounding is an independent relative error of about one unit of the dtype (2^-11,
 * 2^-8), a few of them per output: several times inside the bound (attention.gla@cuda.mma's
 * argument, which rounds the same quantities). */
#include "kernels/attention/lightning_cuda.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/lightning.h"
#include "kernels/attention/linear_ops.h"
#include "kernels/gpu/device_memory.h"
#include "kernels/gpu/tile_counter.h"

struct lightning_cuda_state {
    struct attention_cuda a;
    struct lightning_cuda_scratch scr;
};

int lightning_cuda_chunk_ok(int chunk)
{
    return chunk == 64 || chunk == 128;
}

static long chunks_of(const struct kb_shape *s)
{
    return (s->seq_len + s->chunk - 1) / s->chunk;
}

int lightning_cuda_group(const struct kb_shape *s)
{
    static int forced = -1; /* KBENCH_LIGHTNING_GROUP, read once: 0 when unset or not a power of two <= 16 */
    if (forced < 0) {
        const char *e = getenv("KBENCH_LIGHTNING_GROUP");
        const int g = e ? atoi(e) : 0;
        forced = g >= 1 && g <= LIGHTNING_CUDA_MAX_GROUP && (g & (g - 1)) == 0 ? g : 0;
    }
    if (forced)
        return forced;
    const long bh = (long)s->batch * s->heads, nc = chunks_of(s);
    int g = 1;
    while (g < LIGHTNING_CUDA_MAX_GROUP && bh * ((nc + 2 * g - 1) / (2 * g)) >= LIGHTNING_CUDA_MIN_BLOCKS)
        g *= 2;
    return g;
}

int lightning_cuda_prefetch(const struct kb_shape *s)
{
    static int forced = -2; /* KBENCH_LIGHTNING_PREFETCH, read once: 1 or 0, else -1 (unset) */
    if (forced == -2) {
        const char *e = getenv("KBENCH_LIGHTNING_PREFETCH");
        forced = e && strcmp(e, "1") == 0 ? 1 : e && strcmp(e, "0") == 0 ? 0 : -1;
    }
    return forced >= 0 ? forced : lightning_cuda_group(s) < LIGHTNING_CUDA_MAX_GROUP;
}

/* groups a (batch, head) plane has with the launcher's G */
static long groups_of(const struct kb_shape *s)
{
    const long g = lightning_cuda_group(s);
    return (chunks_of(s) + g - 1) / g;
}

int lightning_cuda_fused(const struct kb_shape *s)
{
    const char *e = getenv("KBENCH_LIGHTNING_FUSED"); /* read at each call: setup and launch agree */
    return e && strcmp(e, "1") == 0 && groups_of(s) <= LIGHTNING_CUDA_FUSED_MAX_GROUPS;
}

double lightning_cuda_fused_bytes(const struct kb_shape *s)
{
    return lightning_cuda_fused(s) ? (double)s->batch * s->heads * sizeof(int) : 0;
}

double lightning_cuda_scratch_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double states = (double)s->batch * s->heads * chunks_of(s), d = s->head_dim;
    return 2.0 * states * kb_dtype_size(t) * d * d;
}

/* Its own device memory beyond the operands: Q, K, V and O in the dtype and the chunk states. */
static double lightning_cuda_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    const double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads;
    double io = (double)kb_dtype_size(t) * s->batch * s->seq_len * s->head_dim * (2.0 * s->heads + 2.0 * kvh);
    return lightning_cuda_chunk_ok(s->chunk) ? io + lightning_cuda_scratch_bytes(s, t) + lightning_cuda_fused_bytes(s) : io;
}

static void lightning_cuda_teardown(struct kb_case *c)
{
    struct lightning_cuda_state *st = c->state;
    if (st) {
        cudaFree(st->scr.local);
        cudaFree(st->scr.prefix);
        cudaFree(st->scr.arrive);
        attention_cuda_free(&st->a);
        free(st);
    }
    c->state = NULL;
}

static int lightning_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct kb_shape *s = &c->shape;
    int rc = lightning_check_shape(s, 0, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->decode) {
        snprintf(err, errlen, "attention.lightning@cuda.mma: no decode step on the GPU (attention.lightning@cpu has one)");
        return KB_UNSUPPORTED;
    }
    if (!lightning_cuda_chunk_ok(s->chunk)) {
        snprintf(err, errlen, "attention.lightning@cuda.mma: chunk = %d, the device code is compiled for chunk 64 and 128",
                 s->chunk);
        return KB_UNSUPPORTED;
    }
    double need = lightning_cuda_scratch_bytes(s, c->dtype) + lightning_cuda_fused_bytes(s) +
                  attention_cuda_chunked_io_bytes(s, c->dtype);
    rc = attention_cuda_chunked_setup(c, sizeof(struct lightning_cuda_state), need,
                                      "attention.lightning@cuda.mma (chunk states included)", err, errlen);
    if (rc != KB_OK)
        return rc;
    if (lightning_cuda_fused(s)) { /* a plane's blocks wait for each other: they must fit at once */
        const long ng = groups_of(s);
        int at_once = 0;
        const int fe = lightning_cuda_fused_at_once(s, c->dtype, &at_once);
        if (fe != 0 || at_once < ng) {
            if (fe != 0)
                snprintf(err, errlen, "attention.lightning@cuda.mma (KBENCH_LIGHTNING_FUSED=1): %s",
                         cudaGetErrorString((cudaError_t)fe));
            else
                snprintf(err, errlen,
                         "attention.lightning@cuda.mma (KBENCH_LIGHTNING_FUSED=1): a plane's %ld groups wait for each "
                         "other, but only %d of its blocks fit on this GPU at once",
                         ng, at_once);
            lightning_cuda_teardown(c);
            return fe != 0 ? KB_ERROR : KB_UNSUPPORTED;
        }
    }
    struct lightning_cuda_state *st = c->state;
    const size_t states = (size_t)s->batch * s->heads * (size_t)chunks_of(s), d = (size_t)s->head_dim;
    const size_t bytes = states * d * d * (size_t)kb_dtype_size(c->dtype);
    cudaError_t e = cudaMalloc(&st->scr.local, bytes);
    if (e == cudaSuccess)
        e = cudaMalloc(&st->scr.prefix, bytes);
    if (e == cudaSuccess && lightning_cuda_fused(s)) { /* the fused form's barrier counts and claims */
        const size_t planes = (size_t)s->batch * s->heads;
        e = cudaMalloc((void **)&st->scr.arrive, planes * sizeof(int));
        if (e == cudaSuccess)
            e = cudaMemset(st->scr.arrive, 0, planes * sizeof(int));
        if (e == cudaSuccess)
            e = (cudaError_t)kb_tile_counter_reset();
    }
    if (e != cudaSuccess) {
        lightning_cuda_teardown(c);
        return attention_cuda_chunk_states_error("attention.lightning@cuda.mma",
                                                 lightning_cuda_scratch_bytes(s, c->dtype) + lightning_cuda_fused_bytes(s), e,
                                                 err, errlen);
    }
    return KB_OK;
}

static int lightning_cuda_run(struct kb_case *c)
{
    struct lightning_cuda_state *st = c->state;
    int e = lightning_cuda_launch(&c->shape, c->dtype, st->a.q, st->a.k, st->a.v, st->a.o, &st->scr, c->stream);
    return attention_cuda_launch_result(c, e, "lightning attention");
}

static int lightning_cuda_collect(struct kb_case *c)
{
    const struct lightning_cuda_state *st = c->state;
    return attention_cuda_collect(c, &st->a, KB_LIN_O);
}

static int lightning_cuda_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    if (max < 3)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "lightning.group");
    out[0].value = lightning_cuda_group(&c->shape);
    snprintf(out[0].unit, sizeof out[0].unit, "count");
    snprintf(out[1].name, sizeof out[1].name, "lightning.prefetch");
    out[1].value = lightning_cuda_prefetch(&c->shape);
    snprintf(out[1].unit, sizeof out[1].unit, "count");
    snprintf(out[2].name, sizeof out[2].name, "lightning.fused");
    out[2].value = lightning_cuda_fused(&c->shape);
    snprintf(out[2].unit, sizeof out[2].unit, "count");
    return 3;
}

const struct kb_kernel kb_attention_lightning_cuda = {
    .name = "attention.lightning",
    .impl = "cuda.mma",
    .description = "Lightning / RetNet decayed linear attention (un-normalised) on tensor cores, chunk-parallel (16-bit "
                   "chunk states, a scan, per-chunk outputs); f16/bf16, d = 64 or 128, chunk 64 or 128, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CHUNK) |
            KB_AXIS_BIT(KB_AXIS_INPUT),
    .footprint = lightning_cuda_footprint,
    .setup = lightning_cuda_setup,
    .run = lightning_cuda_run,
    .teardown = lightning_cuda_teardown,
    .op = &kb_op_attention_lightning,
    .collect = lightning_cuda_collect,
    .stats = lightning_cuda_stats,
};
