/* gla_cpu.c - attention.gla@cpu: gated linear attention (GLA, Yang et al.), causal, chunkwise,
 * float32, SIMD through linear_isa.h, OpenMP threads over (batch, head). Definition in linear.h:
 * S_t = diag(α_t) S_{t−1} + k_tᵀ v_t, o_t = (q_t/√d) S_t, with log α = G given per channel.
 *
 * Per chunk of c tokens, with B_i = Σ_{t=t0..i} G_t the in-chunk cumulative log-gate (a row
 * of d channels) and S the state of every earlier token:
 *   q̃_i = (q_i/√d) ⊙ exp(B_i)               (≤ |q|: decays are ≤ 1)
 *   k̃_j = k_j ⊙ exp(−B_j)                   (grows inside the chunk; GLA_MAX_CHUNK bounds it)
 *   O = q̃·S  +  ((q̃·k̃ᵀ) masked to j ≤ i)·V   (inter + intra)
 *   S ← diag(exp(B_{c−1})) S + (k_j ⊙ exp(B_{c−1} − B_j))ᵀ·V
 * which is the GLA paper's chunkwise form with one level of chunking (the paper adds a second,
 * log-space level for the diagonal blocks to allow half precision; in float32 with chunks of
 * at most GLA_MAX_CHUNK the one-level form stays in range). The gates cost 3·c·d
 * exponentials per chunk, done by the vector exp of linear_isa.h. */
#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/linear_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct gla_state {
    /* the case's operands (not owned) */
    const float *q, *k, *v;
    const float *g; /* [B,H,N,d] log-gates */
    float *o;       /* [B,H,N,d] */
    int chunk; /* C = min(chunk, N) */
    int nthreads;
    size_t scratch_floats;
    float *scratch_mem;
    const struct linear_isa *isa;
};

struct gla_scratch {
    float *cum;  /* [C][d] B_i, then scratch for exponentials */
    float *qt;   /* [C][d] q̃ */
    float *ktt;  /* [d][C] k̃ᵀ */
    float *kdt;  /* [d][C] (k_j ⊙ exp(B_{c−1} − B_j))ᵀ */
    float *e;    /* [C][d] exponentials */
    float *p;    /* [C][C] */
    float *s;    /* [d][d] state */
    float *last; /* [d] exp(B_{c−1}) */
};

static size_t scratch_floats_of(size_t c, size_t d)
{
    return 5 * attention_round16(c * d) + attention_round16(c * c) + attention_round16(d * d) + attention_round16(d);
}

static struct gla_scratch scratch_of(const struct gla_state *st, int tid, size_t d)
{
    float *p = st->scratch_mem + (size_t)tid * st->scratch_floats;
    size_t c = (size_t)st->chunk, cd = attention_round16(c * d);
    struct gla_scratch w;
    w.cum = p;
    w.qt = p + cd;
    w.ktt = p + 2 * cd;
    w.kdt = p + 3 * cd;
    w.e = p + 4 * cd;
    w.p = p + 5 * cd;
    w.s = w.p + attention_round16(c * c);
    w.last = w.s + attention_round16(d * d);
    return w;
}

/* The workspace beyond the operands: the threads' scratch. */
static double gla_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    size_t c = (size_t)(s->chunk > 0 && s->chunk < s->seq_len ? s->chunk : s->seq_len);
    /* one thread's scratch (each further thread adds as much) */
    return 4.0 * (double)scratch_floats_of(c, (size_t)s->head_dim);
}

static void gla_teardown(struct kb_case *c)
{
    struct gla_state *st = c->state;
    if (!st)
        return;
    free(st->scratch_mem);
    free(st);
    c->state = NULL;
}

static int gla_setup(struct kb_case *c, char *err, size_t errlen)
{
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.gla@cpu: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct gla_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.gla@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    const struct kb_shape *s = &c->shape;
    st->chunk = s->chunk < s->seq_len ? s->chunk : s->seq_len;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->isa = linear_isa_best();
    st->scratch_floats = scratch_floats_of((size_t)st->chunk, (size_t)s->head_dim);
    st->q = kb_input(c, KB_GLA_Q);
    st->k = kb_input(c, KB_GLA_K);
    st->v = kb_input(c, KB_GLA_V);
    st->g = kb_input(c, KB_GLA_G);
    st->o = kb_output(c, KB_GLA_O);
    st->scratch_mem = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (!st->scratch_mem) {
        snprintf(err, errlen, "attention.gla@cpu: out of memory for %d threads' scratch",
                 st->nthreads);
        gla_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

int gla_cpu_use_path(struct kb_case *c, const char *name)
{
    const struct linear_isa *isa = linear_isa_by_name(name);
    struct gla_state *st = c->state;
    if (!isa || !st)
        return -1;
    st->isa = isa;
    return 0;
}

static void gla_head(const struct gla_state *st, const struct kb_shape *s, int b, int h,
                     const struct gla_scratch *w)
{
    const struct linear_isa *isa = st->isa;
    const int n = s->seq_len, d = s->head_dim, C = st->chunk, kvh = h / (s->heads / s->kv_heads);
    const size_t qoff = ((size_t)b * s->heads + h) * n * d;
    const float *q = st->q + qoff, *g = st->g + qoff;
    const float *k = st->k + ((size_t)b * s->kv_heads + kvh) * n * d;
    const float *v = st->v + ((size_t)b * s->kv_heads + kvh) * n * d;
    float *out = st->o + qoff;
    const float scale = (float)(1.0 / sqrt((double)d));

    memset(w->s, 0, (size_t)d * d * sizeof(float));
    for (int t0 = 0; t0 < n; t0 += C) {
        const int c = n - t0 < C ? n - t0 : C;
        const size_t cd = (size_t)c * d;
        const float *qc = q + (size_t)t0 * d, *kc = k + (size_t)t0 * d, *vc = v + (size_t)t0 * d;
        const float *gc = g + (size_t)t0 * d;
        float *o = out + (size_t)t0 * d;
        /* cumulative log-gates B_i */
        memcpy(w->cum, gc, (size_t)d * sizeof(float));
        for (int i = 1; i < c; i++)
            for (int p = 0; p < d; p++)
                w->cum[(size_t)i * d + p] = w->cum[(size_t)(i - 1) * d + p] + gc[(size_t)i * d + p];
        const float *blast = w->cum + (size_t)(c - 1) * d;
        /* q̃ = q/√d ⊙ exp(B) */
        memcpy(w->e, w->cum, cd * sizeof(float));
        isa->vexp(w->e, (int)cd);
        for (size_t e = 0; e < cd; e++)
            w->qt[e] = qc[e] * scale * w->e[e];
        /* k̃ᵀ = (k ⊙ exp(−B))ᵀ */
        for (size_t e = 0; e < cd; e++)
            w->e[e] = -w->cum[e];
        isa->vexp(w->e, (int)cd);
        for (int j = 0; j < c; j++)
            for (int p = 0; p < d; p++)
                w->ktt[(size_t)p * C + j] = kc[(size_t)j * d + p] * w->e[(size_t)j * d + p];
        /* (k ⊙ exp(B_{c−1} − B))ᵀ and exp(B_{c−1}) */
        for (int j = 0; j < c; j++)
            for (int p = 0; p < d; p++)
                w->e[(size_t)j * d + p] = blast[p] - w->cum[(size_t)j * d + p];
        isa->vexp(w->e, (int)cd);
        for (int j = 0; j < c; j++)
            for (int p = 0; p < d; p++)
                w->kdt[(size_t)p * C + j] = kc[(size_t)j * d + p] * w->e[(size_t)j * d + p];
        memcpy(w->last, blast, (size_t)d * sizeof(float));
        isa->vexp(w->last, d);

        memset(o, 0, cd * sizeof(float));
        isa->gemm_acc(c, d, d, w->qt, d, w->s, d, o, d); /* inter: q̃·S */
        memset(w->p, 0, (size_t)c * C * sizeof(float));
        isa->gemm_acc(c, c, d, w->qt, d, w->ktt, C, w->p, C); /* q̃·k̃ᵀ */
        for (int i = 0; i < c; i++)
            for (int j = i + 1; j < c; j++)
                w->p[(size_t)i * C + j] = 0;
        isa->gemm_acc(c, d, c, w->p, C, vc, d, o, d); /* intra: P·V */
        for (int p = 0; p < d; p++) {
            const float a = w->last[p];
            float *sp = w->s + (size_t)p * d;
            for (int col = 0; col < d; col++)
                sp[col] *= a;
        }
        isa->gemm_acc(d, d, c, w->kdt, C, vc, d, w->s, d); /* state update */
    }
}

static int gla_run(struct kb_case *c)
{
    struct gla_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const long heads = (long)s->batch * s->heads;
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (long t = 0; t < heads; t++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        struct gla_scratch w = scratch_of(st, tid, (size_t)s->head_dim);
        gla_head(st, s, (int)(t / s->heads), (int)(t % s->heads), &w);
    }
    return KB_OK;
}

const struct kb_kernel kb_attention_gla_cpu = {
    .name = "attention.gla",
    .impl = "cpu",
    .description = "gated linear attention, data-dependent per-channel decay, causal, chunkwise; float32 (AVX-512/AVX2/scalar chosen at run time)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 0,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CHUNK) |
            KB_AXIS_BIT(KB_AXIS_INPUT),
    .footprint = gla_footprint,
    .setup = gla_setup,
    .run = gla_run,
    .teardown = gla_teardown,
    .op = &kb_op_attention_gla,
};
