/* linear_cpu.c - attention.linear@cpu: feature-map linear attention (definitions in linear.h),
 * float32, SIMD through linear_isa.h, OpenMP threads over (batch, head).
 *
 * Non-causal: S = φ(K)ᵀV (d×d) and z = φ(K)ᵀ1 over all tokens, then o_i = φ(q_i)S / φ(q_i)·z.
 *
 * Causal, chunked (Lightning Attention-2's tiling): the tokens go in chunks of C; the state
 * S, z holds every earlier chunk, decayed to the position before the chunk. Per chunk of c
 * rows (i, j local indices, λ^m from a per-head table):
 *   inter  O = φ(Q)·S,  den = φ(Q)·z, row i scaled by λ^(i+1)         (c·d² work)
 *   intra  P = φ(Q)·φ(K)ᵀ, P_ij ← λ^(i−j) for j ≤ i, 0 above;
 *          O += P·V, den += row sums of P                              (c²·d work)
 *   state  S ← λ^c S + Σ_j λ^(c−1−j) φ(k_j)ᵀ v_j,  z likewise           (c·d² work)
 *   o_i = O_i / den_i
 * so the cost is linear in N and the memory a d×d state plus one chunk's c×c scores per
 * thread: nothing grows with N but the inputs and output. Without decay the inter and intra
 * products of O go into the same accumulators (linear_isa's gemm_plus_lower), and z's update
 * rides on φ(K)ᵀ's pass.
 *
 * Decode (decode = 1): the inputs hold N + 1 tokens. setup runs the chunked state update over
 * the first N (outside the timed region) and keeps S, z per (batch, head); run takes one step
 * for token N and writes S', z' to a second buffer (so every call starts from the same state
 * and is repeatable): S' = λS + φ(k)ᵀv, z' = λz + φ(k), o = φ(q)S' / φ(q)·z'. Its cost is
 * 4·d² per head whatever N is.
 *
 * GQA: query head h reads key/value head h / (H / H_kv); each query head keeps its own state
 * (the decay λ_h is per query head). */
#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/linear_ops.h"
#include "kernels/attention/linear_cpu.h"
#include "kernels/attention/linear_chunk_cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct linear_state {
    struct attention_inputs in;      /* the case's Q, K, V (not owned): N tokens; N + 1 in decode */
    float *o;                        /* the case's output (not owned): [B,H,N,d]; [B,H,1,d] in decode */
    struct linear_chunk_buffers buf; /* decay table (all 1 without decay), decode states
                                        [B,H][(d + 1)·d] (S rows then z), scratch */
};

size_t linear_cpu_scratch_floats(size_t chunk, size_t d)
{
    return 2 * attention_round16(chunk * d) + 2 * attention_round16(chunk * chunk) + 2 * attention_round16(chunk) +
           attention_round16((d + 1) * d);
}

static size_t scratch_floats_of(size_t chunk, size_t d)
{
    return linear_cpu_scratch_floats(chunk, d);
}

static struct linear_scratch scratch_of(const struct linear_state *st, int tid, size_t d)
{
    return linear_cpu_scratch_bind(linear_chunk_scratch(&st->buf, tid), (size_t)st->buf.chunk, d);
}

struct linear_scratch linear_cpu_scratch_bind(float *p, size_t c, size_t d)
{
    struct linear_scratch w;
    w.fq = p;
    p += attention_round16(c * d);
    w.fkt = p;
    p += attention_round16(c * d);
    w.p = p;
    p += attention_round16(c * c);
    w.mask = p;
    p += attention_round16(c * c);
    w.den = p;
    p += attention_round16(c);
    w.wdec = p;
    p += attention_round16(c);
    w.s = p;
    return w;
}

/* ---- the chunked passes over one (batch, head) -------------------------------------------- */

static struct head_view head_view_of(const struct linear_state *st, const struct kb_shape *s, int b, int h)
{
    const int d = s->head_dim, kvh = h / (s->heads / s->kv_heads);
    struct head_view hv;
    hv.q = st->in.q + ((size_t)b * s->heads + h) * st->buf.n_in * d;
    hv.k = st->in.k + ((size_t)b * s->kv_heads + kvh) * st->buf.n_in * d;
    hv.v = st->in.v + ((size_t)b * s->kv_heads + kvh) * st->buf.n_in * d;
    hv.dec = st->buf.decay_pow + (size_t)h * (st->buf.chunk + 1);
    hv.feature = s->feature;
    hv.d = d;
    hv.ldq = hv.ldkv = hv.ldo = d;
    hv.chunk = st->buf.chunk;
    hv.stream_out = 0; /* a hybrid stack's next layer reads these outputs */
    return hv;
}

/* φ(K) of rows t0..t0+c transposed into fkt [d][C], in one pass (the map's exponentials and
 * the transpose's shuffles overlap, and no φ(K) rows are written and read back); without
 * decay z += Σ_j φ(k_j) in the same pass (z not NULL). */
static void load_fkt(const struct linear_isa *isa, const struct head_view *hv, int t0, int c, float *fkt, float *z)
{
    isa->feature_transpose(hv->feature, c, hv->d, hv->k + (size_t)t0 * hv->ldkv, hv->ldkv, fkt, hv->chunk, z);
}

/* φ(Q) of rows t0..t0+c into fq [c][d], and den_i = φ(q_i)·z in the same pass. */
static void load_fq(const struct linear_isa *isa, const struct head_view *hv, int t0, int c, float *fq, const float *z,
                    float *den)
{
    isa->feature_dot(hv->feature, c, hv->d, hv->q + (size_t)t0 * hv->ldq, hv->ldq, fq, z, den);
}

/* rows r0..r0+n of a tensor with row stride ld (floats) from base, as a fetch for gemm_ex */
static struct linear_ahead rows_ahead(const float *base, int ld, int r0, int n, int d)
{
    struct linear_ahead a = { NULL, 0, 0, 0 };
    if (n > 0)
        a = (struct linear_ahead){ base + (size_t)r0 * ld, (size_t)d * sizeof(float), (size_t)ld * sizeof(float), n };
    return a;
}

/* S ← λ^c S + (φ(K) decay-weighted)ᵀ V for the chunk at t0 whose φ(K)ᵀ is in fkt, and with
 * decay z likewise (its columns get scaled here, by wdec: λ^(c−1−j); without decay load_fkt
 * added to z); the product brings ahead into the cache meanwhile. */
static void state_update(const struct linear_isa *isa, const struct head_view *hv, int t0, int c,
                         int decay, float *fkt, float *wdec, float *s, const struct linear_ahead *ahead)
{
    const int d = hv->d, C = hv->chunk;
    float *z = s + (size_t)d * d;
    const float lc = decay ? hv->dec[c] : 1.0f;
    if (decay) {
        for (int j = 0; j < c; j++)
            wdec[j] = hv->dec[c - 1 - j];
        isa->scale_rows(1, d, z, 0, &lc);
        isa->mul_rowsum(d, c, fkt, C, wdec, 0, z); /* the weights, and z += Σ_j of each row */
    }
    isa->gemm_ex(d, d, c, fkt, C, hv->v + (size_t)t0 * hv->ldkv, hv->ldkv, s, d, lc, NULL, ahead);
}

/* Rows of the intra-chunk product done together: the blocks above the diagonal are skipped. */
enum { INTRA_ROWS = 16 };
/* Rows of each P·V product (one row tile of the SIMD products), and how many a chunk of 64 has. */
enum { PV_ROWS = 6, PV_TILES = (64 + PV_ROWS - 1) / PV_ROWS };

void linear_cpu_causal_begin(const struct head_view *hv, int decay, int outputs, const struct linear_scratch *w)
{
    const int d = hv->d, C = hv->chunk;
    memset(w->s, 0, (size_t)(d + 1) * d * sizeof(float));
    if (!outputs)
        return;
    memset(w->p, 0, (size_t)C * C * sizeof(float)); /* P above the diagonal blocks: never written, read as 0 */
    /* the causal weights: λ^(i−j) at and below the diagonal (1 without decay), 0 above */
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++)
            w->mask[(size_t)i * C + j] = j <= i ? (decay ? hv->dec[i - j] : 1.0f) : 0.0f;
}

void linear_cpu_causal_chunk(const struct linear_isa *isa, const struct head_view *hv, int ntok, int t0,
                             int decay, float *out, const struct linear_scratch *w)
{
    const int c = ntok - t0 < hv->chunk ? ntok - t0 : hv->chunk, t1 = t0 + c;
    linear_cpu_causal_chunk_then(isa, hv, ntok, t0, decay, out, w, hv, t1, ntok - t1 < hv->chunk ? ntok - t1 : hv->chunk);
}

void linear_cpu_causal_chunk_then(const struct linear_isa *isa, const struct head_view *hv, int ntok, int t0,
                                  int decay, float *out, const struct linear_scratch *w, const struct head_view *nx,
                                  int t1, int cn)
{
    const int d = hv->d, C = hv->chunk, ldo = hv->ldo, ldkv = hv->ldkv;
    float *z = w->s + (size_t)d * d;
    const int c = ntok - t0 < C ? ntok - t0 : C;
    /* the rows the next chunk to run reads (cn of them, from t1 of head nx), brought into the
     * cache while this chunk's products run */
    const struct linear_ahead next_k = rows_ahead(nx->k, nx->ldkv, t1, cn, d);
    if (out) {
        load_fq(isa, hv, t0, c, w->fq, z, w->den);
        if (decay) {
            /* inter: O = φ(Q)·S, row i scaled by λ^(i+1); den likewise */
            isa->gemm_ex(c, d, d, w->fq, d, w->s, d, out + (size_t)t0 * ldo, ldo, 0.0f, hv->dec + 1, &next_k);
            for (int i = 0; i < c; i++)
                w->den[i] *= hv->dec[i + 1];
        }
    }
    /* φ(K)ᵀ, and without decay z's update (den above read the z before this chunk) */
    load_fkt(isa, hv, t0, c, w->fkt, decay ? NULL : z);
    if (out) {
        float *o = out + (size_t)t0 * ldo;
        const float *vc = hv->v + (size_t)t0 * ldkv;
        /* intra: P = φ(Q)·φ(K)ᵀ weighted by the mask, its row sums completing den; per block
         * of rows only the columns up to the block's last row */
        for (int i0 = 0; i0 < c; i0 += INTRA_ROWS) {
            const int rows = c - i0 < INTRA_ROWS ? c - i0 : INTRA_ROWS, cols = i0 + rows;
            float *pb = w->p + (size_t)i0 * C;
            /* a quarter of the next chunk's V rows during each block's product */
            const int pr = i0 < cn ? (cn - i0 < INTRA_ROWS ? cn - i0 : INTRA_ROWS) : 0;
            const struct linear_ahead next_v = rows_ahead(nx->v, nx->ldkv, t1 + i0, pr, d);
            isa->gemm_ex(rows, cols, d, w->fq + (size_t)i0 * d, d, w->fkt, C, pb, C, 0.0f, NULL, &next_v);
            isa->mul_rowsum(rows, cols, pb, C, w->mask + (size_t)i0 * C, C, w->den + i0);
        }
        for (int i = 0; i < c; i++)
            w->den[i] = w->den[i] > 0 ? 1.0f / w->den[i] : 0.0f;
        if (!decay) {
            /* O = (φ(Q)·S + P·V) / den as one product, each tile's P·V to the depth of its last
             * row (P is 0 beyond: mask-weighted where written, zeroed before the first chunk
             * elsewhere): the inter rows are neither stored nor read back */
            isa->gemm_plus_lower(c, d, d, w->fq, d, w->s, d, w->p, C, vc, ldkv, o, ldo, w->den, hv->stream_out,
                                 &next_k);
        } else {
            /* with decay the inter rows carry λ^(i+1), the intra ones not: O ← (O + P·V) / den,
             * each tile of PV_ROWS rows to the depth of its last row */
            for (int i0 = 0, n = 0; i0 < c; i0 += PV_ROWS, n++) {
                const int rows = c - i0 < PV_ROWS ? c - i0 : PV_ROWS, depth = i0 + rows;
                const int on = nx == hv ? cn : 0; /* this head's next output rows */
                const int per = (on + PV_TILES - 1) / PV_TILES, from = n * per;
                const int pr = from < on ? (on - from < per ? on - from : per) : 0;
                const struct linear_ahead next_o = rows_ahead(out, ldo, t1 + from, pr, d);
                isa->gemm_ex(rows, d, depth, w->p + (size_t)i0 * C, C, vc, ldkv, o + (size_t)i0 * ldo, ldo, 1.0f,
                             w->den + i0, &next_o);
            }
        }
    }
    const struct linear_ahead next_q = rows_ahead(nx->q, nx->ldq, t1, out ? cn : 0, d);
    state_update(isa, hv, t0, c, decay, w->fkt, w->wdec, w->s, &next_q);
}

void linear_cpu_causal_head(const struct linear_isa *isa, const struct head_view *hv, int ntok, int decay, float *out,
                            const struct linear_scratch *w)
{
    linear_cpu_causal_begin(hv, decay, out != NULL, w);
    for (int t0 = 0; t0 < ntok; t0 += hv->chunk)
        linear_cpu_causal_chunk(isa, hv, ntok, t0, decay, out, w);
}

void linear_cpu_noncausal_head(const struct linear_isa *isa, const struct head_view *hv, int ntok,
                           float *out, const struct linear_scratch *w)
{
    const int d = hv->d, C = hv->chunk, ldo = hv->ldo;
    const float *z = w->s + (size_t)d * d;
    memset(w->s, 0, (size_t)(d + 1) * d * sizeof(float));
    for (int t0 = 0; t0 < ntok; t0 += C) {
        const int c = ntok - t0 < C ? ntok - t0 : C;
        load_fkt(isa, hv, t0, c, w->fkt, w->s + (size_t)d * d);
        state_update(isa, hv, t0, c, 0, w->fkt, w->wdec, w->s, NULL);
    }
    for (int t0 = 0; t0 < ntok; t0 += C) {
        const int c = ntok - t0 < C ? ntok - t0 : C;
        float *o = out + (size_t)t0 * ldo;
        load_fq(isa, hv, t0, c, w->fq, z, w->den);
        for (int i = 0; i < c; i++)
            w->den[i] = w->den[i] > 0 ? 1.0f / w->den[i] : 0.0f;
        isa->gemm_ex(c, d, d, w->fq, d, w->s, d, o, ldo, 0.0f, w->den, NULL);
    }
}

/* One decode step of head (b, h): token n_in − 1 against the state of the tokens before it. */
static void decode_head(const struct linear_isa *isa, const struct head_view *hv, int last,
                        int decay, const float *s_in, float *s_out, float *fq, float *o)
{
    const int d = hv->d;
    const float lambda = decay ? hv->dec[1] : 1.0f;
    const float *kt = hv->k + (size_t)last * d, *vt = hv->v + (size_t)last * d;
    const float *qt = hv->q + (size_t)last * d;
    float *fk = fq + d;
    for (int p = 0; p < d; p++) {
        fk[p] = linear_feature_f32(hv->feature, kt[p]);
        fq[p] = linear_feature_f32(hv->feature, qt[p]);
    }
    for (size_t e = 0; e < (size_t)(d + 1) * d; e++)
        s_out[e] = lambda * s_in[e];
    isa->gemm_acc(d, d, 1, fk, 1, vt, d, s_out, d); /* S' += φ(k)ᵀ v */
    float *z = s_out + (size_t)d * d, den = 0;
    for (int p = 0; p < d; p++) {
        z[p] += fk[p];
        den += fq[p] * z[p];
    }
    memset(o, 0, (size_t)d * sizeof(float));
    isa->gemm_acc(1, d, d, fq, d, s_out, d, o, d); /* o = φ(q)·S' */
    const float inv = den > 0 ? 1.0f / den : 0.0f;
    for (int p = 0; p < d; p++)
        o[p] *= inv;
}

/* ---- descriptor functions ------------------------------------------------------------------ */

/* The workspace beyond the operands: decay table, decode states and the threads' scratch. */
static double linear_cpu_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    return linear_chunk_footprint(shape, (size_t)shape->head_dim + 1, scratch_floats_of);
}

static void linear_cpu_teardown(struct kb_case *c)
{
    struct linear_state *st = c->state;
    if (!st)
        return;
    linear_chunk_buffers_free(&st->buf);
    free(st);
    c->state = NULL;
}

static int linear_cpu_setup(struct kb_case *c, char *err, size_t errlen)
{
    /* the operation accepts chunk 0 (unset); this algorithm needs a chunk */
    int rc = linear_check_shape(&c->shape, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.linear@cpu: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct linear_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.linear@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim, bh = (size_t)s->batch * s->heads;
    /* the kernels only read Q, K, V; attention_inputs is the family's (non-const) view */
    st->in = (struct attention_inputs){ .q = (float *)kb_input(c, KB_LIN_Q), .k = (float *)kb_input(c, KB_LIN_K),
                                        .v = (float *)kb_input(c, KB_LIN_V) };
    st->o = kb_output(c, KB_LIN_O);
    rc = linear_chunk_buffers_setup(&st->buf, c, "attention.linear@cpu", scratch_floats_of, d + 1, s->decay, err,
                                    errlen);
    if (rc != KB_OK) {
        linear_cpu_teardown(c);
        return rc;
    }
    if (s->decode) {
        /* the state of the first N tokens, built by the chunked update (not timed) */
        const long heads = (long)bh;
#pragma omp parallel for num_threads(st->buf.nthreads) schedule(dynamic, 1)
        for (long t = 0; t < heads; t++) {
            struct linear_scratch w = scratch_of(st, attention_thread(), d);
            struct head_view hv = head_view_of(st, s, (int)(t / s->heads), (int)(t % s->heads));
            linear_cpu_causal_head(st->buf.isa, &hv, s->seq_len, s->decay, NULL, &w);
            memcpy(st->buf.state_in + (size_t)t * (d + 1) * d, w.s, (d + 1) * d * sizeof(float));
        }
    }
    return KB_OK;
}

int linear_cpu_use_path(struct kb_case *c, const char *name)
{
    struct linear_state *st = c->state;
    return linear_chunk_use_path(st ? &st->buf : NULL, name);
}

static int linear_cpu_run(struct kb_case *c)
{
    struct linear_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim;
    const long heads = (long)s->batch * s->heads;
#pragma omp parallel for num_threads(st->buf.nthreads) schedule(static)
    for (long t = 0; t < heads; t++) {
        struct linear_scratch w = scratch_of(st, attention_thread(), d);
        struct head_view hv = head_view_of(st, s, (int)(t / s->heads), (int)(t % s->heads));
        if (s->decode) {
            size_t so = (size_t)t * (d + 1) * d;
            decode_head(st->buf.isa, &hv, st->buf.n_in - 1, s->decay, st->buf.state_in + so, st->buf.state_out + so,
                        w.fq, st->o + (size_t)t * d);
        } else if (s->causal) {
            linear_cpu_causal_head(st->buf.isa, &hv, s->seq_len, s->decay, st->o + (size_t)t * s->seq_len * d, &w);
        } else {
            linear_cpu_noncausal_head(st->buf.isa, &hv, s->seq_len, st->o + (size_t)t * s->seq_len * d, &w);
        }
    }
    return KB_OK;
}

/* ---- tensors ----------------------------------------------------------------------------- */

/* Decode's own buffers beyond the operands: the state of the N cached tokens it built in setup
 * and the state after the step. */
static int linear_cpu_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct linear_state *st = c->state;
    return linear_chunk_tensors(&c->shape, st ? &st->buf : NULL, c->shape.head_dim + 1, out, max);
}

const struct kb_kernel kb_attention_linear_cpu = {
    .name = "attention.linear",
    .impl = "cpu",
    .description = "linear attention φ(Q)(φ(K)ᵀV)/normaliser: non-causal, causal chunked with per-head decay, decode step; float32 (AVX-512/AVX2/scalar chosen at run time)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 0,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_FEATURE) |
            KB_AXIS_BIT(KB_AXIS_DECAY) | KB_AXIS_BIT(KB_AXIS_DECODE),
    .footprint = linear_cpu_footprint,
    .setup = linear_cpu_setup,
    .run = linear_cpu_run,
    .tensors = linear_cpu_tensors,
    .teardown = linear_cpu_teardown,
    .op = &kb_op_attention_linear,
};
