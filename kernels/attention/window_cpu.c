/* window_cpu.c - attention.window: causal sliding-window attention, query i sees the W latest
 * keys max(0, i − W + 1) .. i. Two implementations on the same inputs and the same verify:
 *
 *   cpu        fused and tiled: query tiles of FLASH_BR rows walk only the key blocks their
 *              windows touch (W + FLASH_BR keys at most), with attention.flash@cpu's register-
 *              tiled micro-kernels (AVX-512 / AVX2 / scalar) and the online softmax of
 *              tile_cpu.c; parallel over (batch, head, query tile). Cost O(N·W·d).
 *   cpu.naive  the "existing naive kernels" Faster Neighborhood Attention measures against:
 *              per query, a scalar loop computes the window's scores into a buffer, then the
 *              softmax, then P·V; parallel over queries. Same O(N·W·d), no tiling, no reuse.
 */
#include "kernels/attention/attention.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/sparse_ops.h"
#include "kernels/attention/tile_cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct window_state {
    const float *q, *k, *v; /* the case's operands (not owned) */
    float *o;       /* [B,H,N,d] */
    float *kpan;    /* fused: per (b, kv head) ceil(N/16) panels [d][16] */
    size_t panels;  /* per head */
    float *scratch; /* per thread: fused tile (qpack + tile) or naive score row */
    size_t scratch_floats;
    int nthreads;
    const struct flash_isa *isa;
};

/* The workspace beyond the operands: packed K (the fused kernel's) and one thread's scratch. */
static double window_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads;
    double kpan = (double)s->batch * kvh * ((s->seq_len + 15) / 16) * 16.0 * s->head_dim;
    return 4.0 * kpan +
           4.0 * (double)(attention_round16((size_t)FLASH_BR * s->head_dim) + tile_scratch_floats(FLASH_BR, s->head_dim));
}

static void window_teardown(struct kb_case *c)
{
    struct window_state *st = c->state;
    if (!st)
        return;
    free(st->kpan);
    free(st->scratch);
    free(st);
    c->state = NULL;
}

static int window_setup_common(struct kb_case *c, int fused, char *err, size_t errlen)
{
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.window: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct window_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.window: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->q = kb_input(c, KB_WIN_Q);
    st->k = kb_input(c, KB_WIN_K);
    st->v = kb_input(c, KB_WIN_V);
    st->o = kb_output(c, KB_WIN_O);
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->isa = flash_isa_best();
    st->panels = ((size_t)s->seq_len + FLASH_KP - 1) / FLASH_KP;
    st->scratch_floats = fused ? attention_round16(FLASH_BR * d) + tile_scratch_floats(FLASH_BR, (int)d)
                               : attention_round16((size_t)(s->window < s->seq_len ? s->window : s->seq_len));
    st->scratch = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (fused)
        st->kpan = attention_alloc((size_t)s->batch * s->kv_heads * st->panels * d * FLASH_KP * sizeof(float));
    if (!st->scratch || (fused && !st->kpan)) {
        snprintf(err, errlen, "attention.window: out of memory for packed K and scratch");
        window_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int window_setup(struct kb_case *c, char *err, size_t errlen)
{
    return window_setup_common(c, 1, err, errlen);
}

static int window_naive_setup(struct kb_case *c, char *err, size_t errlen)
{
    return window_setup_common(c, 0, err, errlen);
}

/* ---- fused ----------------------------------------------------------------------------------- */

static void window_tile(const struct window_state *st, const struct kb_shape *s, int b, int h, int q0,
                        float *scratch)
{
    const int n = s->seq_len, d = s->head_dim, w = s->window;
    const size_t kv_head = (size_t)b * s->kv_heads + h / (s->heads / s->kv_heads);
    const size_t q_head = (size_t)b * s->heads + h;
    const int nrows = n - q0 < FLASH_BR ? n - q0 : FLASH_BR;
    const int rows = (nrows + FLASH_MR - 1) / FLASH_MR * FLASH_MR;
    float *qpack = scratch;
    struct tile t;
    tile_bind(&t, st->isa, d, FLASH_BR, scratch + attention_round16((size_t)FLASH_BR * d));
    tile_pack_q(st->q + (q_head * n + q0) * d, nrows, rows, d, qpack);
    tile_begin(&t, rows);
    for (int r = 0; r < rows; r++) {
        t.lo[r] = r < nrows ? window_first_key(q0 + r, w) : 0;
        t.hi[r] = r < nrows ? q0 + r + 1 : 0; /* padding rows see nothing */
    }
    const float *kpan = st->kpan + kv_head * st->panels * d * FLASH_KP;
    const float *v = st->v + kv_head * n * d;
    const int kend = q0 + nrows;
    for (int k0 = window_first_key(q0, w) / FLASH_KP * FLASH_KP; k0 < kend; k0 += FLASH_BC) {
        const int keys = kend - k0 < FLASH_BC ? kend - k0 : FLASH_BC;
        const int npan = (keys + FLASH_KP - 1) / FLASH_KP;
        st->isa->scores(qpack, d, kpan + (size_t)(k0 / FLASH_KP) * d * FLASH_KP, npan, rows, t.s);
        tile_update(&t, k0, keys, v + (size_t)k0 * d);
    }
    tile_finish(&t, nrows, st->o + (q_head * n + q0) * d);
}

static int window_run(struct kb_case *c)
{
    struct window_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim;
    const long heads_kv = (long)s->batch * s->kv_heads;
    const long tiles = (n + FLASH_BR - 1) / FLASH_BR;
    const long tasks = (long)s->batch * s->heads * tiles;
#pragma omp parallel num_threads(st->nthreads)
    {
#pragma omp for schedule(static)
        for (long hk = 0; hk < heads_kv; hk++)
            tile_pack_k(st->k + (size_t)hk * n * d, n, d, st->kpan + (size_t)hk * st->panels * d * FLASH_KP);
        /* every tile costs about the same (W + FLASH_BR keys) except the first W/FLASH_BR */
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < tasks; task++) {
            long head = task / tiles;
            window_tile(st, s, (int)(head / s->heads), (int)(head % s->heads), (int)(task % tiles) * FLASH_BR,
                        st->scratch + (size_t)attention_thread() * st->scratch_floats);
        }
    }
    return KB_OK;
}

/* ---- naive ----------------------------------------------------------------------------------- */

static void window_naive_row(const struct window_state *st, const struct kb_shape *s, long row, float *score)
{
    const int n = s->seq_len, d = s->head_dim;
    const long q_head = row / n;
    const int i = (int)(row % n);
    const size_t kv_head = attention_kv_head(s, (size_t)q_head);
    const float *q = st->q + (size_t)row * d;
    const float *k = st->k + kv_head * n * d, *v = st->v + kv_head * n * d;
    const int j0 = window_first_key(i, s->window), keys = i + 1 - j0;
    const float scale = 1.0f / sqrtf((float)d);
    float mx = -INFINITY;
    for (int j = 0; j < keys; j++) {
        float acc = 0;
        for (int p = 0; p < d; p++)
            acc += q[p] * k[(size_t)(j0 + j) * d + p];
        score[j] = acc * scale;
        mx = score[j] > mx ? score[j] : mx;
    }
    float sum = 0;
    for (int j = 0; j < keys; j++) {
        score[j] = expf(score[j] - mx);
        sum += score[j];
    }
    float *o = st->o + (size_t)row * d;
    for (int p = 0; p < d; p++) {
        float acc = 0;
        for (int j = 0; j < keys; j++)
            acc += score[j] * v[(size_t)(j0 + j) * d + p];
        o[p] = acc / sum;
    }
}

static int window_naive_run(struct kb_case *c)
{
    struct window_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const long rows = (long)s->batch * s->heads * s->seq_len;
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (long r = 0; r < rows; r++)
        window_naive_row(st, s, r, st->scratch + (size_t)attention_thread() * st->scratch_floats);
    return KB_OK;
}

const struct kb_kernel kb_attention_window_cpu = {
    .name = "attention.window",
    .impl = "cpu",
    .description = "causal sliding-window attention (W latest keys), fused tiles + online softmax, float32 (AVX-512/AVX2/scalar)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = WINDOW_AXES,
    .footprint = window_footprint,
    .setup = window_setup,
    .run = window_run,
    .teardown = window_teardown,
    .op = &kb_op_attention_window,
};

const struct kb_kernel kb_attention_window_naive = {
    .name = "attention.window",
    .impl = "cpu.naive",
    .description = "causal sliding-window attention, naive baseline: per query a scalar score loop, softmax, P·V",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = WINDOW_AXES,
    .footprint = window_footprint,
    .setup = window_naive_setup,
    .run = window_naive_run,
    .teardown = window_teardown,
    .op = &kb_op_attention_window,
};
