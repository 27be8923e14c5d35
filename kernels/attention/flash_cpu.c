/* flash_cpu.c - attention.flash@cpu: tiled softmax attention with an online softmax, float32.
 *
 * Work is split into query blocks of FLASH_BR rows of one (batch, head); each block walks the
 * key blocks of FLASH_BC keys it may see and keeps, per query row, the running maximum m and
 * the running sum l of exponentials, rescaling its output accumulator by 2^(m_old − m_new)
 * when the maximum grows. Nothing of size N² is ever stored. Per (query block, key block):
 *   S = Q·Kᵀ        register-tiled GEMM against K pre-packed in transposed panels
 *   P = 2^(S·c − m) in place (c = log2(e)/√d), with the causal mask and the ragged end masked
 *   O = α·O + P·V   register-tiled GEMM streaming rows of V straight from the input
 * The micro-kernels come in AVX-512, AVX2+FMA and portable scalar versions (flash_cpu.h),
 * chosen at setup from what the CPU reports.
 *
 * Parallel over (batch, head, query block). Causal blocks cost in proportion to their index,
 * so the tasks are taken heaviest first and dealt to threads in a snake order (0,1,…,T−1,
 * T−1,…,0, …): a fixed, static assignment whose per-thread totals differ by at most one
 * block's work.
 *
 * An implementation of attention.softmax (softmax_ops.h): it reads the operation's Q, K, V
 * and writes its O in place.
 * bf16: setup stores the operation's Q, K, V (bf16 values) as bf16; each run first widens them
 * to float32 work copies (timed: it is part of the kernel), then computes as above. The
 * reference sees the same bf16 values, so the kernel's own error stays float32's (1e-4, which
 * the tests hold it to) well inside the operation's bf16 bound.
 * decode (decode = 1): one new query per (batch, head) against the N-token cache; the query
 * heads of one KV head (the GQA group) are the rows of one block, so each K/V row read serves
 * the whole group. The K panels are re-packed from the cache in each run, like prefill: decode
 * time includes that pass over K (a kernel reading a pre-packed cache would skip it). */
#include "kernels/attention/attention.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/attention/flash_cpu.h"
#include "kernels/attention/sparse.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if FLASH_BR % FLASH_MR != 0 || FLASH_BC % (2 * FLASH_KP) != 0
#error "FLASH_BR must be a multiple of FLASH_MR and FLASH_BC of 2*FLASH_KP"
#endif

/* ---- portable scalar path ------------------------------------------------------------------ */

static void scores_scalar(const float *qpack, int d, const float *kpan, int npan, int rows, float *s)
{
    for (int pn = 0; pn < npan; pn++) {
        const float *kp = kpan + (size_t)pn * d * FLASH_KP;
        for (int r = 0; r < rows; r += FLASH_MR) {
            const float *a = qpack + (size_t)r * d;
            float acc[FLASH_MR][FLASH_KP] = { { 0 } };
            for (int p = 0; p < d; p++)
                for (int k = 0; k < FLASH_MR; k++)
                    for (int j = 0; j < FLASH_KP; j++)
                        acc[k][j] += a[p * FLASH_MR + k] * kp[p * FLASH_KP + j];
            for (int k = 0; k < FLASH_MR; k++)
                memcpy(s + (size_t)(r + k) * FLASH_BC + pn * FLASH_KP, acc[k], sizeof acc[k]);
        }
    }
}

static float row_max_scalar(const float *s, int cols)
{
    float m = -INFINITY;
    for (int j = 0; j < cols; j++)
        m = s[j] > m ? s[j] : m;
    return m;
}

static float row_exp2_sum_scalar(float *s, int cols, float c, float mc)
{
    float sum = 0;
    for (int j = 0; j < cols; j++) {
        float x = fmaf(s[j], c, -mc);
        s[j] = exp2f(x < -126.0f ? -126.0f : x);
        sum += s[j];
    }
    return sum;
}

static void pv_scalar(const float *p, int keys, const float *v, int d, float *o, int ldo,
                      const float *alpha, int rows)
{
    for (int r = 0; r < rows; r++) {
        float *orow = o + (size_t)r * ldo;
        const float *pr = p + (size_t)r * FLASH_BC;
        for (int c = 0; c < d; c++)
            orow[c] *= alpha[r];
        for (int j = 0; j < keys; j++)
            for (int c = 0; c < d; c++)
                orow[c] += pr[j] * v[(size_t)j * d + c];
    }
}

const struct flash_isa flash_isa_scalar = {
    .name = "scalar",
    .scores = scores_scalar,
    .row_max = row_max_scalar,
    .row_exp2_sum = row_exp2_sum_scalar,
    .pv = pv_scalar,
};

/* ---- dispatch ------------------------------------------------------------------------------ */

static int isa_runs_here(const struct flash_isa *isa)
{
#if defined(__x86_64__)
    if (isa == &flash_isa_avx512)
        return kb_cpu_has(FLASH_AVX512_NEEDS);
    if (isa == &flash_isa_avx2)
        return kb_cpu_has(FLASH_AVX2_NEEDS);
#endif
    return isa == &flash_isa_scalar;
}

static const struct flash_isa *const isa_by_preference[] = {
#if defined(__x86_64__)
    &flash_isa_avx512,
    &flash_isa_avx2,
#endif
    &flash_isa_scalar,
};

const struct flash_isa *flash_isa_best(void)
{
    for (size_t i = 0; i < sizeof isa_by_preference / sizeof isa_by_preference[0]; i++)
        if (isa_runs_here(isa_by_preference[i]))
            return isa_by_preference[i];
    return &flash_isa_scalar;
}

const struct flash_isa *flash_isa_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof isa_by_preference / sizeof isa_by_preference[0]; i++)
        if (strcmp(isa_by_preference[i]->name, name) == 0)
            return isa_runs_here(isa_by_preference[i]) ? isa_by_preference[i] : NULL;
    return NULL;
}

const char *attention_flash_cpu_path(void)
{
    return flash_isa_best()->name;
}

/* ---- state --------------------------------------------------------------------------------- */

struct flash_state {
    const float *q, *k, *v;      /* what run computes from: the operation's inputs (f32), or the work copies (bf16) */
    float *wq, *wk, *wv;         /* float32 work copies run widens the bf16 storage into (bf16 cases only) */
    uint16_t *q16, *k16, *v16;   /* bf16 storage of Q, K, V (bf16 cases only) */
    float *o;                /* the operation's O: [B,H,N,d]; decode: [B,H,1,d] */
    float *kpan;             /* per (b, kv head): [panels][d][FLASH_KP] */
    size_t panels;           /* per (b, kv head), covering whole key blocks */
    int ldo;                 /* d rounded up to 32 floats */
    int nthreads;
    float *scratch_mem;      /* nthreads slices of scratch_floats */
    struct flash_scratch *scratch;
    const struct flash_isa *isa;
};

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

struct flash_dims {
    size_t out, panels, kpan, scratch; /* floats */
    int ldo;
};

static struct flash_dims flash_dims_of(const struct kb_shape *s)
{
    struct flash_dims g;
    size_t d = (size_t)s->head_dim;
    int hkv = s->kv_heads > 0 ? s->kv_heads : s->heads;
    g.ldo = flash_ldo(s->head_dim);
    g.out = (size_t)s->batch * s->heads * (s->decode ? 1 : s->seq_len) * d;
    g.panels = round_up((size_t)s->seq_len, FLASH_BC) / FLASH_KP;
    g.kpan = (size_t)s->batch * hkv * g.panels * d * FLASH_KP;
    g.scratch = flash_scratch_floats(s->head_dim);
    return g;
}

int flash_ldo(int d)
{
    return (int)round_up((size_t)d, 32);
}

size_t flash_scratch_floats(int d)
{
    /* Each piece a multiple of 16 floats so every piece stays 64-byte aligned. */
    return round_up((size_t)FLASH_BR * d, 16) + (size_t)FLASH_BR * FLASH_BC + (size_t)FLASH_BR * flash_ldo(d) +
           3 * round_up(FLASH_BR, 16);
}

void flash_scratch_bind(struct flash_scratch *w, float *p, int d)
{
    w->qpack = p;
    p += round_up((size_t)FLASH_BR * d, 16);
    w->s = p;
    p += (size_t)FLASH_BR * FLASH_BC;
    w->o = p;
    p += (size_t)FLASH_BR * flash_ldo(d);
    w->m = p;
    w->l = p + round_up(FLASH_BR, 16);
    w->alpha = p + 2 * round_up(FLASH_BR, 16);
}

/* Its workspace beyond the operands: packed K and one thread's scratch (the descriptor's
 * footprint has no thread count: about 150 KiB at d = 128; each further thread adds as much
 * again), and for bf16 the bf16 storage and float32 work copies of Q, K, V. */
static double flash_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    struct flash_dims g = flash_dims_of(&s);
    double qkv = (double)g.out + 2.0 * s.batch * s.kv_heads * (double)s.seq_len * s.head_dim +
                 3.0 * ATTENTION_INPUT_PAD;
    double own = t == KB_DTYPE_BF16 ? qkv * (2.0 + 4.0) : 0; /* bf16 storage plus the float32 work copies */
    return own + 4.0 * (round_up(g.kpan, 16) + g.scratch);
}

static void flash_teardown(struct kb_case *c)
{
    struct flash_state *st = c->state;
    if (!st)
        return;
    free(st->wq);
    free(st->wk);
    free(st->wv);
    free(st->q16);
    free(st->k16);
    free(st->v16);
    free(st->kpan);
    free(st->scratch_mem);
    free(st->scratch);
    free(st);
    c->state = NULL;
}

/* bf16: the operation's inputs (bf16 values already) stored as bf16, and float32 work copies
 * for run to widen them into. f32: run reads the operation's inputs. */
static int flash_inputs(struct flash_state *st, const struct kb_case *c, char *err, size_t errlen)
{
    st->q = kb_input(c, KB_ATTN_Q);
    st->k = kb_input(c, KB_ATTN_K);
    st->v = kb_input(c, KB_ATTN_V);
    if (c->dtype != KB_DTYPE_BF16)
        return KB_OK;
    const size_t nq = kb_operands_elems(&c->io, KB_ATTN_Q), kv = kb_operands_elems(&c->io, KB_ATTN_K);
    st->q16 = malloc(nq * sizeof *st->q16);
    st->k16 = malloc(kv * sizeof *st->k16);
    st->v16 = malloc(kv * sizeof *st->v16);
    st->wq = attention_alloc((nq + ATTENTION_INPUT_PAD) * sizeof(float));
    st->wk = attention_alloc((kv + ATTENTION_INPUT_PAD) * sizeof(float));
    st->wv = attention_alloc((kv + ATTENTION_INPUT_PAD) * sizeof(float));
    if (!st->q16 || !st->k16 || !st->v16 || !st->wq || !st->wk || !st->wv) {
        snprintf(err, errlen, "attention.flash@cpu: out of memory for bf16 inputs and their work copies");
        return KB_ERROR;
    }
    const float *f[3] = { st->q, st->k, st->v };
    float *w[3] = { st->wq, st->wk, st->wv };
    uint16_t *b[3] = { st->q16, st->k16, st->v16 };
    for (int t = 0; t < 3; t++) {
        size_t count = t == 0 ? nq : kv;
        for (size_t i = 0; i < count; i++)
            b[t][i] = bf16_from_f32(f[t][i]); /* exact: the operation rounded them to bf16 */
        memset(w[t] + count, 0, ATTENTION_INPUT_PAD * sizeof(float));
    }
    st->q = st->wq;
    st->k = st->wk;
    st->v = st->wv;
    return KB_OK;
}

static int flash_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct flash_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.flash@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    if (flash_inputs(st, c, err, errlen) != KB_OK) {
        flash_teardown(c);
        return KB_ERROR;
    }
    struct flash_dims g = flash_dims_of(&c->shape);
    st->panels = g.panels;
    st->ldo = g.ldo;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->isa = flash_isa_best();
    st->o = kb_output(c, KB_ATTN_O);
    st->kpan = attention_alloc(g.kpan * sizeof(float));
    st->scratch_mem = attention_alloc((size_t)st->nthreads * g.scratch * sizeof(float));
    st->scratch = calloc((size_t)st->nthreads, sizeof *st->scratch);
    if (!st->kpan || !st->scratch_mem || !st->scratch) {
        snprintf(err, errlen, "attention.flash@cpu: out of memory (%.0f bytes for packed K and %d threads' scratch)",
                 4.0 * ((double)g.kpan + (double)st->nthreads * g.scratch), st->nthreads);
        flash_teardown(c);
        return KB_ERROR;
    }
    for (int t = 0; t < st->nthreads; t++)
        flash_scratch_bind(&st->scratch[t], st->scratch_mem + (size_t)t * g.scratch, c->shape.head_dim);
    return KB_OK;
}

int flash_cpu_use_path(struct kb_case *c, const char *name)
{
    const struct flash_isa *isa = flash_isa_by_name(name);
    struct flash_state *st = c->state;
    if (!isa || !st)
        return -1;
    st->isa = isa;
    return 0;
}

/* ---- run ----------------------------------------------------------------------------------- */

void flash_pack_k_panel(const float *k, size_t ldk, int n, int d, size_t pn, float *dst)
{
    size_t j0 = pn * FLASH_KP;
    for (int jj = 0; jj < FLASH_KP; jj++) {
        size_t j = j0 + (size_t)jj;
        if (j < (size_t)n) {
            const float *kj = k + j * ldk;
            for (int p = 0; p < d; p++)
                dst[(size_t)p * FLASH_KP + jj] = kj[p];
        } else {
            for (int p = 0; p < d; p++)
                dst[(size_t)p * FLASH_KP + jj] = 0;
        }
    }
}

struct flash_block {
    int b, h, qb;
};

static void flash_query_block(const struct flash_state *st, const struct kb_shape *s,
                              struct flash_block task, struct flash_scratch *w)
{
    const int n = s->seq_len, d = s->head_dim;
    const int group = s->heads / s->kv_heads;
    const int kvh = task.h / group;
    const size_t kv_head = (size_t)task.b * s->kv_heads + kvh;
    const size_t q_head = (size_t)task.b * s->heads + task.h;
    /* decode: the rows are the query heads task.h, task.h + 1, ... of one KV group (one token
     * each, adjacent in Q and O); they see every key */
    const int q0 = s->decode ? 0 : task.qb * FLASH_BR;
    const int nrows = s->decode ? (group - task.h % group < FLASH_BR ? group - task.h % group : FLASH_BR)
                                : (n - q0 < FLASH_BR ? n - q0 : FLASH_BR);
    const float *q = s->decode ? st->q + q_head * d : st->q + (q_head * n + q0) * d;
    float *out = s->decode ? st->o + q_head * d : st->o + (q_head * n + q0) * d;
    flash_cpu_block(st->isa, q, (size_t)d, nrows, q0, st->kpan + kv_head * st->panels * d * FLASH_KP,
                    st->v + kv_head * n * d, n, d, s->causal && !s->decode, out, (size_t)d, w);
}

void flash_cpu_block(const struct flash_isa *isa, const float *q, size_t ldq, int nrows, int q0, const float *kpan,
                     const float *v, int n, int d, int causal, float *out, size_t ldout, struct flash_scratch *w)
{
    const int ldo = flash_ldo(d);
    const int rows = (int)round_up((size_t)nrows, FLASH_MR);
    const float c = (float)(1.4426950408889634 / sqrt((double)d)); /* log2(e)/sqrt(d) */

    /* Q rows interleaved FLASH_MR at a time; rows past the end are zeros (discarded later). */
    for (int r = 0; r < rows; r++) {
        float *dst = w->qpack + (size_t)(r / FLASH_MR) * d * FLASH_MR + r % FLASH_MR;
        for (int p = 0; p < d; p++)
            dst[(size_t)p * FLASH_MR] = r < nrows ? q[(size_t)r * ldq + p] : 0.0f;
    }
    memset(w->o, 0, (size_t)rows * ldo * sizeof(float));
    for (int r = 0; r < rows; r++) {
        w->m[r] = -INFINITY;
        w->l[r] = 0;
    }

    const int kend = causal ? q0 + nrows : n;
    for (int k0 = 0; k0 < kend; k0 += FLASH_BC) {
        const int keys = n - k0 < FLASH_BC ? n - k0 : FLASH_BC;
        /* the last key any row of this block may see, so fully masked panels are skipped */
        const int used = kend - k0 < keys ? kend - k0 : keys;
        const int npan = (used + FLASH_KP - 1) / FLASH_KP;
        const int cols = npan * FLASH_KP;
        isa->scores(w->qpack, d, kpan + (size_t)(k0 / FLASH_KP) * d * FLASH_KP, npan, rows, w->s);
        for (int r = 0; r < rows; r++) {
            float *sr = w->s + (size_t)r * FLASH_BC;
            int limit = used;
            if (causal && r < nrows && q0 + r - k0 + 1 < limit)
                limit = q0 + r - k0 + 1;
            if (limit <= 0) { /* this row sees no key of this block */
                memset(sr, 0, (size_t)used * sizeof(float));
                w->alpha[r] = 1.0f;
                continue;
            }
            for (int j = limit; j < cols; j++)
                sr[j] = -INFINITY;
            float m_new = isa->row_max(sr, cols);
            if (w->m[r] > m_new)
                m_new = w->m[r];
            float alpha = exp2f((w->m[r] - m_new) * c); /* 0 on the first block: m = -inf */
            float sum = isa->row_exp2_sum(sr, cols, c, m_new * c);
            w->l[r] = w->l[r] * alpha + sum;
            w->m[r] = m_new;
            w->alpha[r] = alpha;
        }
        isa->pv(w->s, used, v + (size_t)k0 * d, d, w->o, ldo, w->alpha, rows);
    }

    for (int r = 0; r < nrows; r++) {
        const float inv = 1.0f / w->l[r];
        for (int p = 0; p < d; p++)
            out[(size_t)r * ldout + p] = w->o[(size_t)r * ldo + p] * inv;
    }
}

static int flash_run(struct kb_case *c)
{
    struct flash_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim;
    const int group = s->heads / s->kv_heads;
    /* a task is a query block of one head, or in decode a block of one KV group's heads */
    const long bh = s->decode ? (long)s->batch * s->kv_heads : (long)s->batch * s->heads;
    const long nqb = s->decode ? (group + FLASH_BR - 1) / FLASH_BR : (n + FLASH_BR - 1) / FLASH_BR;
    const long ntasks = bh * nqb;
    const size_t nq = (size_t)s->batch * s->heads * (s->decode ? 1 : n) * d;
    const size_t nkv = (size_t)s->batch * s->kv_heads * n * d;
    const long kv_panels = (long)s->batch * s->kv_heads * (long)st->panels;

#pragma omp parallel num_threads(st->nthreads)
    {
        int tid = 0, nt = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        if (st->q16) { /* bf16: widen to the float32 work copies (exact) */
#pragma omp for schedule(static)
            for (size_t i = 0; i < nq; i++)
                st->wq[i] = bf16_to_f32(st->q16[i]);
#pragma omp for schedule(static)
            for (size_t i = 0; i < nkv; i++) {
                st->wk[i] = bf16_to_f32(st->k16[i]);
                st->wv[i] = bf16_to_f32(st->v16[i]);
            }
        }
#pragma omp for schedule(static)
        for (long i = 0; i < kv_panels; i++) {
            long head = i / (long)st->panels, pn = i % (long)st->panels;
            flash_pack_k_panel(st->k + (size_t)head * n * d, (size_t)d, n, d, (size_t)pn,
                         st->kpan + (size_t)i * d * FLASH_KP);
        }
        /* (the loop's barrier: every panel is packed before any block reads it) */
        for (long t = 0; t < ntasks; t++) {
            long round = t / nt, pos = t % nt;
            int owner = (int)((round & 1) ? nt - 1 - pos : pos);
            if (owner != tid)
                continue;
            /* heaviest (last) query blocks first */
            long qb = nqb - 1 - t / bh, head = t % bh;
            struct flash_block task = { .b = (int)(head / s->heads), .h = (int)(head % s->heads), .qb = (int)qb };
            if (s->decode) /* head counts KV heads: its group's first query head of block qb */
                task = (struct flash_block){ .b = (int)(head / s->kv_heads),
                                             .h = (int)(head % s->kv_heads) * group + (int)qb * FLASH_BR,
                                             .qb = (int)qb };
            flash_query_block(st, s, task, &st->scratch[tid]);
        }
    }
    return KB_OK;
}

/* ---- tensors ------------------------------------------------------------------------------ */

/* bf16 cases: the stored bits of Q, K, V (the operands hold the same values as float32). */
static int flash_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct flash_state *st = c->state;
    if (!st->q16)
        return 0;
    const char *names[3] = { "q_bf16", "k_bf16", "v_bf16" };
    const uint16_t *data[3] = { st->q16, st->k16, st->v16 };
    int n = 0;
    for (int i = 0; i < 3 && n < max; i++, n++) {
        out[n] = c->io.tensor[KB_ATTN_Q + i];
        out[n].name = names[i];
        out[n].dtype = KB_DTYPE_BF16;
        out[n].data = data[i];
        out[n].is_output = 0;
    }
    return n;
}

const struct kb_kernel kb_attention_flash_cpu = {
    .name = "attention.flash",
    .impl = "cpu",
    .description = "tiled softmax attention, online softmax, float32 math on f32 or bf16 inputs, prefill or decode (AVX-512/AVX2/scalar chosen at run time)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_DECODE),
    .footprint = flash_footprint,
    .setup = flash_setup,
    .run = flash_run,
    .tensors = flash_tensors,
    .teardown = flash_teardown,
    .op = &kb_op_attention_softmax,
};
