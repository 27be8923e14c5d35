/* lightning_cpu.c - attention.lightning@cpu: the un-normalised decayed linear attention
 * (definition in lightning.h), float32, the SIMD products of linear_isa.h (AVX-512 / AVX2 /
 * scalar chosen at run time), OpenMP threads over (batch, head).
 *
 * Chunked, Lightning Attention-2's tiling: the tokens go in chunks of C; the state S (d×d)
 * holds every earlier chunk, decayed to the position just before the chunk. Per chunk of c
 * rows (i, j local indices, λ^m from a per-head table):
 *   inter  O = Q·S, row i scaled by λ^(i+1)                              (c·d² work)
 *   intra  P = Q·Kᵀ, P_ij ← λ^(i−j) P_ij for j ≤ i, 0 above; O += P·V    (c²·d work)
 *   o      O · scale
 *   state  S ← λ^c S + Σ_j λ^(c−1−j) k_jᵀ v_j                            (c·d² work)
 * The memory is a d×d state and one chunk's c×c weights per thread, whatever N is.
 *
 * Decode (decode = 1): the inputs hold N + 1 tokens; setup runs the state update over the first
 * N (untimed) and keeps S per (batch, head); run takes one step for token N into a second
 * buffer (so every call starts from the same state): S' = λS + kᵀv, o = scale · q S'.
 *
 * GQA: query head h reads key/value head h / (H / H_kv) and keeps its own state (λ_h is per
 * query head). */
#include "kernels/attention/attention.h"
#include "kernels/attention/lightning.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_chunk_cpu.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/linear_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lightning_scratch {
    float *kt;   /* [d][C]  Kᵀ of a chunk (columns decay-weighted for the state update) */
    float *p;    /* [C][C]  intra-chunk weights */
    float *mask; /* [C][C]  the intra-chunk weights (build_mask), 0 above the diagonal */
    float *wdec; /* [C]     the state update's column weights λ^(c−1−j) */
    float *rowsc; /* [C]    the inter product's row scales λ^(i+1)·scale */
    float *s;    /* [d][d]  running state */
};

struct lightning_state {
    const float *q, *k, *v;          /* the case's inputs (not owned): N tokens, N + 1 in decode */
    float *o;                        /* the case's output (not owned) */
    struct linear_chunk_buffers buf; /* decay table λ_h^m, decode states [B·H][d·d], scratch */
};

static size_t scratch_floats_of(size_t chunk, size_t d)
{
    return attention_round16(d * chunk) + 2 * attention_round16(chunk * chunk) + 2 * attention_round16(chunk) +
           attention_round16(d * d);
}

static struct lightning_scratch scratch_of(const struct lightning_state *st, int tid, size_t d)
{
    float *p = linear_chunk_scratch(&st->buf, tid);
    size_t c = (size_t)st->buf.chunk;
    struct lightning_scratch w;
    w.kt = p;
    p += attention_round16(d * c);
    w.p = p;
    p += attention_round16(c * c);
    w.mask = p;
    p += attention_round16(c * c);
    w.wdec = p;
    p += attention_round16(c);
    w.rowsc = p;
    p += attention_round16(c);
    w.s = p;
    return w;
}

struct head_view {
    const float *q, *k, *v; /* first token of this head's rows */
    const float *dec;       /* λ^m, m = 0..C */
    int d, chunk;
    float scale;
};

static struct head_view head_view_of(const struct lightning_state *st, const struct kb_shape *s, long bh)
{
    const int d = s->head_dim;
    const size_t kvh = attention_kv_head(s, (size_t)bh);
    struct head_view hv;
    hv.q = st->q + (size_t)bh * st->buf.n_in * d;
    hv.k = st->k + kvh * st->buf.n_in * d;
    hv.v = st->v + kvh * st->buf.n_in * d;
    hv.dec = st->buf.decay_pow + (size_t)(bh % s->heads) * (st->buf.chunk + 1);
    hv.d = d;
    hv.chunk = st->buf.chunk;
    hv.scale = (float)lightning_scale(d);
    return hv;
}

/* Rows of the intra-chunk product done together: the blocks above the diagonal are skipped. */
enum { INTRA_ROWS = 16 };
/* Rows of each P·V product (one row tile of the SIMD products), and how many a chunk of 64 has. */
enum { PV_ROWS = 6, PV_TILES = (64 + PV_ROWS - 1) / PV_ROWS };

/* The intra-chunk weights of a chunk of c rows: with the state's weights folded into Kᵀ (folded:
 * Kᵀ's column j already carries λ^(c−1−j)), λ^(i−j) = λ^(i+1−c) · λ^(c−1−j) leaves a factor per
 * row, λ^(i+1−c) = λ^(i+1) / λ^c; else λ^(i−j) itself. The scale is folded in; 0 above the
 * diagonal. */
static void build_mask(const struct head_view *hv, int c, int folded, float *mask)
{
    const int C = hv->chunk;
    for (int i = 0; i < C; i++) {
        const float row = folded ? (float)((double)hv->dec[i < c ? i + 1 : c] / (double)hv->dec[c]) : 0.0f;
        for (int j = 0; j < C; j++)
            mask[(size_t)i * C + j] = j > i ? 0.0f : (folded ? row : hv->dec[i - j]) * hv->scale;
    }
}

/* Tokens 0..ntok of the head from a zero state: outputs into out (ntok rows of d) unless out is
 * NULL; the final state stays in w->s. */
static void causal_head(const struct linear_isa *isa, const struct head_view *hv, int ntok, float *out,
                        const struct lightning_scratch *w)
{
    const int d = hv->d, C = hv->chunk;
    int mask_of = -1; /* the mask holds: c when folded, 0 when not, -1 nothing yet */
    memset(w->s, 0, (size_t)d * d * sizeof(float));
    if (out) /* P above the diagonal blocks: never written, read as 0 by the P·V tiles */
        memset(w->p, 0, (size_t)C * C * sizeof(float));
    for (int t0 = 0; t0 < ntok; t0 += C) {
        const int c = ntok - t0 < C ? ntok - t0 : C;
        const float *qc = hv->q + (size_t)t0 * d, *kc = hv->k + (size_t)t0 * d, *vc = hv->v + (size_t)t0 * d;
        /* the next chunk's rows, brought into the cache while this chunk's products run */
        const int cn = ntok - t0 - c < C ? ntok - t0 - c : C;
        const size_t next = (size_t)(t0 + c) * d, row_bytes = (size_t)d * sizeof(float);
        /* Kᵀ with the state update's weights λ^(c−1−j) on its columns when 1/λ^c stays small
         * (for the catalogue's λ >= 1 − 2^−5: chunks up to 870), so no separate
         * weighting pass; else plain, weighted after the intra-chunk products */
        const int folded = hv->dec[c] >= 0x1p-40f;
        for (int j = 0; j < c; j++)
            w->wdec[j] = hv->dec[c - 1 - j];
        isa->transpose(c, d, kc, d, w->kt, C, folded ? w->wdec : NULL);
        if (out) {
            float *o = out + (size_t)t0 * d;
            if (mask_of != (folded ? c : 0)) {
                build_mask(hv, c, folded, w->mask);
                mask_of = folded ? c : 0;
            }
            for (int i = 0; i < c; i++)
                w->rowsc[i] = hv->dec[i + 1] * hv->scale;
            /* inter: O = Q·S, row i scaled by λ^(i+1)·scale */
            const struct linear_ahead next_k = { hv->k + next, row_bytes, row_bytes, cn };
            isa->gemm_ex(c, d, d, qc, d, w->s, d, o, d, 0.0f, w->rowsc, &next_k);
            /* intra: P = Q·Kᵀ weighted by the mask, O += P·V; per block of rows only the
             * columns up to the block's last row */
            for (int i0 = 0; i0 < c; i0 += INTRA_ROWS) {
                const int rows = c - i0 < INTRA_ROWS ? c - i0 : INTRA_ROWS, cols = i0 + rows;
                float *pb = w->p + (size_t)i0 * C;
                /* a quarter of the next chunk's V rows during each block's product */
                const int pr = i0 < cn ? (cn - i0 < INTRA_ROWS ? cn - i0 : INTRA_ROWS) : 0;
                const struct linear_ahead next_v = { hv->v + next + (size_t)i0 * d, row_bytes, row_bytes, pr };
                isa->gemm_ex(rows, cols, d, qc + (size_t)i0 * d, d, w->kt, C, pb, C, 0.0f, NULL, &next_v);
                isa->mul_rowsum(rows, cols, pb, C, w->mask + (size_t)i0 * C, C, NULL);
            }
            /* O += P·V, each tile of PV_ROWS rows to the depth of its last row (P is 0 beyond:
             * mask-weighted where written, zeroed before the first chunk elsewhere) */
            for (int i0 = 0, n = 0; i0 < c; i0 += PV_ROWS, n++) {
                const int rows = c - i0 < PV_ROWS ? c - i0 : PV_ROWS, depth = i0 + rows;
                const int per = (cn + PV_TILES - 1) / PV_TILES, from = n * per;
                const int pr = from < cn ? (cn - from < per ? cn - from : per) : 0;
                const struct linear_ahead next_o = { out + next + (size_t)from * d, row_bytes, row_bytes, pr };
                isa->gemm_ex(rows, d, depth, w->p + (size_t)i0 * C, C, vc, d, o + (size_t)i0 * d, d, 1.0f, NULL,
                             &next_o);
            }
        }
        /* S ← λ^c S + (K decay-weighted)ᵀ V */
        if (!folded)
            isa->mul_rowsum(d, c, w->kt, C, w->wdec, 0, NULL);
        const struct linear_ahead next_q = { hv->q + next, row_bytes, row_bytes, out ? cn : 0 };
        isa->gemm_ex(d, d, c, w->kt, C, vc, d, w->s, d, hv->dec[c], NULL, &next_q);
    }
}

/* One decode step of a head: token `last` against the state of the tokens before it. */
static void decode_head(const struct linear_isa *isa, const struct head_view *hv, int last, const float *s_in,
                        float *s_out, float *o)
{
    const int d = hv->d;
    const float lambda = hv->dec[1];
    const float *kt = hv->k + (size_t)last * d, *vt = hv->v + (size_t)last * d, *qt = hv->q + (size_t)last * d;
    for (size_t e = 0; e < (size_t)d * d; e++)
        s_out[e] = lambda * s_in[e];
    isa->gemm_acc(d, d, 1, kt, 1, vt, d, s_out, d); /* S' += kᵀ v */
    memset(o, 0, (size_t)d * sizeof(float));
    isa->gemm_acc(1, d, d, qt, d, s_out, d, o, d); /* o = q·S' */
    for (int p = 0; p < d; p++)
        o[p] *= hv->scale;
}

/* ---- descriptor functions ------------------------------------------------------------------ */

static double lightning_cpu_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return linear_chunk_footprint(s, (size_t)s->head_dim, scratch_floats_of);
}

static void lightning_cpu_teardown(struct kb_case *c)
{
    struct lightning_state *st = c->state;
    if (!st)
        return;
    linear_chunk_buffers_free(&st->buf);
    free(st);
    c->state = NULL;
}

static int lightning_cpu_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = lightning_check_shape(&c->shape, 0, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.lightning@cpu: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct lightning_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.lightning@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim, bh = (size_t)s->batch * s->heads;
    st->q = kb_input(c, KB_LIN_Q);
    st->k = kb_input(c, KB_LIN_K);
    st->v = kb_input(c, KB_LIN_V);
    st->o = kb_output(c, KB_LIN_O);
    rc = linear_chunk_buffers_setup(&st->buf, c, "attention.lightning@cpu", scratch_floats_of, d, 1, err, errlen);
    if (rc != KB_OK) {
        lightning_cpu_teardown(c);
        return rc;
    }
    if (s->decode) {
        /* the state of the first N tokens, by the chunked update (not timed) */
        const long heads = (long)bh;
#pragma omp parallel for num_threads(st->buf.nthreads) schedule(dynamic, 1)
        for (long t = 0; t < heads; t++) {
            struct lightning_scratch w = scratch_of(st, attention_thread(), d);
            struct head_view hv = head_view_of(st, s, t);
            causal_head(st->buf.isa, &hv, s->seq_len, NULL, &w);
            memcpy(st->buf.state_in + (size_t)t * d * d, w.s, d * d * sizeof(float));
        }
    }
    return KB_OK;
}

int lightning_cpu_use_path(struct kb_case *c, const char *name)
{
    struct lightning_state *st = c->state;
    return linear_chunk_use_path(st ? &st->buf : NULL, name);
}

static int lightning_cpu_run(struct kb_case *c)
{
    struct lightning_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim;
    const long heads = (long)s->batch * s->heads;
#pragma omp parallel for num_threads(st->buf.nthreads) schedule(static)
    for (long t = 0; t < heads; t++) {
        struct lightning_scratch w = scratch_of(st, attention_thread(), d);
        struct head_view hv = head_view_of(st, s, t);
        if (s->decode)
            decode_head(st->buf.isa, &hv, st->buf.n_in - 1, st->buf.state_in + (size_t)t * d * d,
                        st->buf.state_out + (size_t)t * d * d, st->o + (size_t)t * d);
        else
            causal_head(st->buf.isa, &hv, s->seq_len, st->o + (size_t)t * s->seq_len * d, &w);
    }
    return KB_OK;
}

/* Decode's own buffers beyond the operands: the state of the N cached tokens and the state
 * after the step. */
static int lightning_cpu_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct lightning_state *st = c->state;
    return linear_chunk_tensors(&c->shape, st ? &st->buf : NULL, c->shape.head_dim, out, max);
}

const struct kb_kernel kb_attention_lightning_cpu = {
    .name = "attention.lightning",
    .impl = "cpu",
    .description = "Lightning / RetNet decayed linear attention (un-normalised), causal chunked, decode step; float32 "
                   "(AVX-512/AVX2/scalar chosen at run time), threads over batch x heads",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 0,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CHUNK) |
            KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .footprint = lightning_cpu_footprint,
    .setup = lightning_cpu_setup,
    .run = lightning_cpu_run,
    .tensors = lightning_cpu_tensors,
    .teardown = lightning_cpu_teardown,
    .op = &kb_op_attention_lightning,
};
