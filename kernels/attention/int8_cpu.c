/* int8_cpu.c - attention.int8@cpu: SageAttention-style attention with INT8 QKᵀ and INT8 P·V
 * (recipe in int8.h).
 *   setup (untimed, timed on its own: stats int8.quantize_s): smooth + quantize K per (b, kv
 *   head) into 16-key panels, with per-block scales and per-key code sums; quantize Q per block
 *   of INT8_BLOCK tokens; quantize V per channel into 4-key groups.
 *   run (the stored latency): per query tile of INT8_BLOCK rows (one Q scale), per key block
 *   of FLASH_BC keys: int32 scores with the SIMD micro-kernel (AVX-512 VNNI or AVX-VNNI
 *   vpdpbusd, AVX2 maddubs/madd, or scalar), dequantize, online softmax in float32
 *   (attention.flash@cpu's row max and exp2), P to 7-bit codes per row and block, int32 P·V
 *   with the same instructions, rescaled into a float32 accumulator. Parallel over tiles.
 *
 * An implementation of attention.softmax (softmax_ops.h) at dtype i8: it reads the operation's
 * Q, K, V (f16 values) and writes its O in place. The operation judges the output against
 * float64 attention on those inputs (the accuracy cost of INT8, stored as max_abs_err /
 * rel_l2_err / cosine, bound 5e-2); the kernel's check adds what only it can: codes, scales
 * and the int32 scores of the sampled rows against the scalar emulation (exact_checked /
 * exact_mismatches), and the output against float64 attention on the dequantized Q, K (the
 * kernel's own error, bound INT8_KERNEL_TOLERANCE). */
#include "kernels/attention/int8.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/attention/tile_cpu.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/verify.h"

#define TILE_ROWS ((INT8_BLOCK + FLASH_MR - 1) / FLASH_MR * FLASH_MR) /* 66: pv's 6-row tiles */

#if FLASH_BC % INT8_BLOCK != 0 && INT8_BLOCK % FLASH_BC != 0
#error "a key block of FLASH_BC keys must not straddle K quantization blocks unevenly"
#endif

/* ---- scalar path ----------------------------------------------------------------------------- */

static void scores_scalar(const int8_t *q, int dq, int rows, const int8_t *kpan, int npan, const int32_t *ksum,
                          int32_t *acc, int ldacc)
{
    (void)ksum;
    const int d4 = dq / 4;
    for (int pn = 0; pn < npan; pn++) {
        const int8_t *kp = kpan + (size_t)pn * d4 * 64;
        for (int r = 0; r < rows; r++) {
            int32_t a[INT8_KP] = { 0 };
            const int8_t *qr = q + (size_t)r * dq;
            for (int p = 0; p < d4; p++)
                for (int j = 0; j < INT8_KP; j++)
                    for (int t = 0; t < 4; t++)
                        a[j] += (int32_t)qr[4 * p + t] * kp[(size_t)p * 64 + 4 * j + t];
            memcpy(acc + (size_t)r * ldacc + pn * INT8_KP, a, sizeof a);
        }
    }
}

static void dequant_scalar(const int32_t *acc, int n, float scale, float *s)
{
    for (int j = 0; j < n; j++)
        s[j] = (float)acc[j] * scale;
}

static void pquant_scalar(const float *p, int n, float inv, uint8_t *codes)
{
    for (int j = 0; j < n; j++) {
        float r = nearbyintf(p[j] * inv);
        codes[j] = (uint8_t)(r > 127.0f ? 127 : (int)r);
    }
}

static void pv_scalar(const uint8_t *p, int ldp, int rows, int groups, const int8_t *v, int dv, float *o, int ldo,
                      const float *alpha, const float *sp)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < dv; c++) {
            int32_t acc = 0;
            for (int g = 0; g < groups; g++)
                for (int t = 0; t < 4; t++)
                    acc += (int32_t)p[(size_t)r * ldp + 4 * g + t] * v[((size_t)g * dv + c) * 4 + t];
            o[(size_t)r * ldo + c] = o[(size_t)r * ldo + c] * alpha[r] + (float)acc * sp[r];
        }
}

const struct int8_isa int8_isa_scalar = {
    .name = "scalar", .scores = scores_scalar, .dequant = dequant_scalar, .pquant = pquant_scalar, .pv = pv_scalar,
};

static int isa_runs_here(const struct int8_isa *isa)
{
#if defined(__x86_64__)
    if (isa == &int8_isa_avx512vnni)
        return kb_cpu_has(INT8_AVX512_NEEDS);
    if (isa == &int8_isa_avxvnni)
        return kb_cpu_has(INT8_AVXVNNI_NEEDS);
    if (isa == &int8_isa_avx2)
        return kb_cpu_has(INT8_AVX2_NEEDS);
#endif
    return isa == &int8_isa_scalar;
}

const struct int8_isa *int8_isa_get(const char *name)
{
    static const struct int8_isa *const by_preference[] = {
#if defined(__x86_64__)
        &int8_isa_avx512vnni,
        &int8_isa_avxvnni,
        &int8_isa_avx2,
#endif
        &int8_isa_scalar,
    };
    for (size_t i = 0; i < sizeof by_preference / sizeof by_preference[0]; i++) {
        if (name && strcmp(name, by_preference[i]->name) != 0)
            continue;
        if (isa_runs_here(by_preference[i]))
            return by_preference[i];
        if (name)
            return NULL;
    }
    return NULL;
}

/* ---- state ----------------------------------------------------------------------------------- */

struct int8_state {
    const float *q, *k, *v; /* the operation's inputs */
    float *o;          /* the operation's O [B,H,N,d] */
    int dq, qblocks;   /* padded channels; blocks of INT8_BLOCK tokens per head */
    size_t panels;     /* 16-key panels per KV head */
    int8_t *q8;        /* [B,H,N,dq] (+ TILE_ROWS rows of slack: tiles read whole 6-row groups) */
    int8_t *q8x;       /* the same codes XOR 0x80 (q + 128 as unsigned), for paths with q_xor */
    float *qscale;     /* [B,H,qblocks] */
    int8_t *kpan;      /* per KV head: panels × dq/4 × 64 bytes */
    float *kscale;     /* [B,H_kv,qblocks] */
    int32_t *ksum;     /* [B,H_kv,panels·16] */
    float *kmean;      /* [B,H_kv,d] */
    int dv;            /* V channels padded to 16 */
    size_t vgroups;    /* 4-key groups of V per KV head */
    int8_t *vpk;       /* per KV head: vgroups × dv × 4 bytes */
    float *vscale;     /* [B,H_kv,d] */
    int8_t *vrows;     /* per thread [N,d]: setup's staging of one head's V codes */
    double quantize_s; /* the quantization's time in setup (best of its repetitions) */
    int smooth;
    int nthreads;
    float *scratch;    /* per thread: tile + int32 scores */
    size_t scratch_floats;
    const struct flash_isa *fisa;
    const struct int8_isa *isa;
};

static size_t round64(size_t x)
{
    return (x + 63) / 64 * 64;
}

/* One thread's scratch: the tile (tile_cpu.h), int32 scores, P codes, P scales. */
static size_t scratch_floats(int d)
{
    return round64(tile_scratch_floats(TILE_ROWS, d)) + (size_t)TILE_ROWS * FLASH_BC +
           round64((size_t)TILE_ROWS * FLASH_BC / 4) + round64(TILE_ROWS);
}

/* Its workspace beyond the operands: codes, scales, sums, K's mean, one thread's scratch. */
static double int8_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    double dq = int8_padded_dim(s.head_dim), bh = (double)s.batch * s.heads, bhkv = (double)s.batch * s.kv_heads;
    double q8 = 2 * bh * (s.seq_len + TILE_ROWS) * dq; /* signed and biased */
    double k8 = bhkv * (s.seq_len + INT8_KP) * (dq + 4.0) + 4.0 * bhkv * s.head_dim; /* codes, sums, mean */
    double scales = 4.0 * (bh + bhkv) * (s.seq_len / INT8_BLOCK + 1.0);
    double v8 = bhkv * (s.seq_len + 4.0) * int8_v_channels(s.head_dim) + 4.0 * bhkv * s.head_dim +
                (double)s.seq_len * s.head_dim; /* one thread's staging (footprints are per thread) */
    double scratch = 4.0 * (double)scratch_floats(s.head_dim);
    return q8 + k8 + v8 + scales + scratch;
}

static void int8_teardown(struct kb_case *c)
{
    struct int8_state *st = c->state;
    if (!st)
        return;
    free(st->q8);
    free(st->q8x);
    free(st->qscale);
    free(st->kpan);
    free(st->kscale);
    free(st->ksum);
    free(st->kmean);
    free(st->vpk);
    free(st->vscale);
    free(st->vrows);
    free(st->scratch);
    free(st);
    c->state = NULL;
}

/* ---- quantization (setup) ------------------------------------------------------------------------------------- */

/* Smooths and quantizes the K of one KV head into panels, block scales and per-key code sums. */
static void quantize_k_head(struct int8_state *st, const struct kb_shape *s, size_t hk, int8_t *rowbuf)
{
    const int n = s->seq_len, d = s->head_dim, dq = st->dq, d4 = dq / 4;
    const float *k = st->k + hk * n * d;
    float *mean = st->kmean + hk * d;
    if (st->smooth)
        int8_channel_mean(k, n, d, mean);
    int8_t *kp = st->kpan + hk * st->panels * INT8_KP * dq;
    int32_t *ksum = st->ksum + hk * st->panels * INT8_KP;
    memset(kp, 0, st->panels * INT8_KP * (size_t)dq);
    memset(ksum, 0, st->panels * INT8_KP * sizeof *ksum);
    for (int kb = 0; kb < st->qblocks; kb++) {
        int t0 = kb * INT8_BLOCK, rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
        st->kscale[hk * st->qblocks + kb] =
            int8_quantize_block(k + (size_t)t0 * d, rows, d, st->smooth ? mean : NULL, rowbuf);
        for (int t = 0; t < rows; t++) {
            int j = t0 + t, pn = j / INT8_KP, jj = j % INT8_KP;
            int8_t *dst = kp + (size_t)pn * d4 * 64 + 4 * jj;
            const int8_t *src = rowbuf + (size_t)t * dq;
            int32_t sum = 0;
            for (int p = 0; p < d4; p++) {
                memcpy(dst + (size_t)p * 64, src + 4 * p, 4);
                sum += src[4 * p] + src[4 * p + 1] + src[4 * p + 2] + src[4 * p + 3];
            }
            ksum[j] = sum;
        }
    }
}

/* V of one KV head: per-channel codes and scales, packed in 4-key groups. */
static void quantize_v_head(struct int8_state *st, const struct kb_shape *s, size_t hk, int8_t *vrows)
{
    const int n = s->seq_len, d = s->head_dim, dv = st->dv;
    int8_quantize_channels(st->v + hk * n * d, n, d, vrows, st->vscale + hk * d);
    int8_t *vp = st->vpk + hk * st->vgroups * dv * 4;
    memset(vp, 0, st->vgroups * dv * 4);
    for (int j = 0; j < n; j++)
        for (int c = 0; c < d; c++)
            vp[((size_t)(j / 4) * dv + c) * 4 + j % 4] = vrows[(size_t)j * d + c];
}

/* Steps 1-3 of the recipe for every head: what run no longer does. */
static void quantize_all(struct int8_state *st, const struct kb_shape *s)
{
    const int n = s->seq_len, d = s->head_dim;
    const long bh = (long)s->batch * s->heads, bhkv = (long)s->batch * s->kv_heads;
    const long qtasks = bh * st->qblocks;
#pragma omp parallel num_threads(st->nthreads)
    {
        /* a thread's scratch holds the K block's code rows */
        int8_t *rowbuf = (int8_t *)(void *)(st->scratch + (size_t)attention_thread() * st->scratch_floats);
#pragma omp for schedule(static)
        for (long hk = 0; hk < bhkv; hk++)
            quantize_k_head(st, s, (size_t)hk, rowbuf);
#pragma omp for schedule(static)
        for (long task = 0; task < qtasks; task++) {
            long head = task / st->qblocks;
            int qb = (int)(task % st->qblocks), t0 = qb * INT8_BLOCK;
            int rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
            st->qscale[task] = int8_quantize_block(st->q + ((size_t)head * n + t0) * d, rows, d, NULL,
                                                   st->q8 + ((size_t)head * n + t0) * st->dq);
            const size_t off = ((size_t)head * n + t0) * st->dq;
            for (size_t i = 0; i < (size_t)rows * st->dq; i++) /* vpdpbusd's unsigned operand, ready */
                st->q8x[off + i] = (int8_t)((uint8_t)st->q8[off + i] ^ 0x80);
        }
#pragma omp for schedule(static)
        for (long hk = 0; hk < bhkv; hk++)
            quantize_v_head(st, s, (size_t)hk, st->vrows + (size_t)attention_thread() * n * d);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Quantizes, and times it: the best of up to 5 repetitions within about 0.2 s (the first pays
 * for cold caches and page faults). The only timing a kernel does itself: the harness times
 * run, and this work is not part of it. */
static void quantize_timed(struct int8_state *st, const struct kb_shape *s)
{
    double best = INFINITY, spent = 0;
    for (int rep = 0; rep < 5 && (rep < 2 || spent < 0.2); rep++) {
        double t0 = now_s();
        quantize_all(st, s);
        double dt = now_s() - t0;
        spent += dt;
        best = dt < best ? dt : best;
    }
    st->quantize_s = best;
}

static int int8_setup(struct kb_case *c, char *err, size_t errlen)
{
    if (c->shape.decode) {
        snprintf(err, errlen, "attention.int8@cpu: decode not supported");
        return KB_UNSUPPORTED;
    }
    struct int8_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.int8@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->q = kb_input(c, KB_ATTN_Q);
    st->k = kb_input(c, KB_ATTN_K);
    st->v = kb_input(c, KB_ATTN_V);
    st->o = kb_output(c, KB_ATTN_O);
    const struct kb_shape *s = &c->shape;
    const size_t n = (size_t)s->seq_len, d = (size_t)s->head_dim;
    const size_t bh = (size_t)s->batch * s->heads, bhkv = (size_t)s->batch * s->kv_heads;
    st->dq = int8_padded_dim(s->head_dim);
    st->qblocks = (s->seq_len + INT8_BLOCK - 1) / INT8_BLOCK;
    st->panels = (n + INT8_KP - 1) / INT8_KP;
    st->smooth = 1;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->fisa = flash_isa_best();
    st->isa = int8_isa_get(NULL);
    st->scratch_floats = scratch_floats(s->head_dim);
    st->dv = int8_v_channels(s->head_dim);
    st->vgroups = (n + 3) / 4;
    st->q8 = attention_alloc((bh * n + TILE_ROWS) * (size_t)st->dq);
    st->q8x = attention_alloc((bh * n + TILE_ROWS) * (size_t)st->dq);
    st->qscale = attention_alloc(bh * st->qblocks * sizeof(float));
    st->kpan = attention_alloc(bhkv * st->panels * INT8_KP * (size_t)st->dq);
    st->kscale = attention_alloc(bhkv * st->qblocks * sizeof(float));
    st->ksum = attention_alloc(bhkv * st->panels * INT8_KP * sizeof(int32_t));
    st->kmean = attention_alloc(bhkv * d * sizeof(float));
    st->scratch = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    st->vpk = attention_alloc(bhkv * st->vgroups * st->dv * 4);
    st->vscale = attention_alloc(bhkv * d * sizeof(float));
    st->vrows = attention_alloc((size_t)st->nthreads * n * d);
    if (!st->q8 || !st->q8x || !st->qscale || !st->kpan || !st->kscale || !st->ksum || !st->kmean || !st->scratch || !st->vpk ||
        !st->vscale || !st->vrows) {
        snprintf(err, errlen, "attention.int8@cpu: out of memory for codes, scales and scratch");
        int8_teardown(c);
        return KB_ERROR;
    }
    memset(st->q8 + bh * n * st->dq, 0, (size_t)TILE_ROWS * st->dq);
    memset(st->q8x + bh * n * st->dq, 0x80, (size_t)TILE_ROWS * st->dq);
    quantize_timed(st, s);
    return KB_OK;
}

int int8_cpu_use_path(struct kb_case *c, const char *name)
{
    struct int8_state *st = c->state;
    const struct int8_isa *isa = int8_isa_get(name);
    if (!st || !isa || !name)
        return -1;
    st->isa = isa;
    return 0;
}

void int8_cpu_set_smoothing(struct kb_case *c, int on)
{
    struct int8_state *st = c->state;
    if (st) {
        st->smooth = on;
        quantize_timed(st, &c->shape); /* the codes follow the switch */
    }
}

double int8_cpu_quantize_seconds(const struct kb_case *c)
{
    const struct int8_state *st = c->state;
    return st ? st->quantize_s : 0;
}

void int8_cpu_corrupt_code(struct kb_case *c)
{
    struct int8_state *st = c->state;
    if (st)
        st->q8[0] = (int8_t)(st->q8[0] == 127 ? 126 : st->q8[0] + 1);
}

static void int8_tile(const struct int8_state *st, const struct kb_shape *s, size_t q_head, int qb, float *scratch)
{
    const int n = s->seq_len, d = s->head_dim, dq = st->dq, d4 = dq / 4, dv = st->dv;
    const size_t kv_head = attention_kv_head(s, q_head);
    const int q0 = qb * INT8_BLOCK;
    const int nrows = n - q0 < INT8_BLOCK ? n - q0 : INT8_BLOCK;
    const int rows = (nrows + FLASH_MR - 1) / FLASH_MR * FLASH_MR;
    struct tile t;
    tile_bind(&t, st->fisa, d, TILE_ROWS, scratch);
    int32_t *acc = (int32_t *)(void *)(scratch + round64(tile_scratch_floats(TILE_ROWS, d)));
    uint8_t *pc = (uint8_t *)(void *)(acc + (size_t)TILE_ROWS * FLASH_BC); /* P codes [rows][FLASH_BC] */
    float *sp = (float *)(void *)(pc + round64((size_t)TILE_ROWS * FLASH_BC / 4) * 4); /* P scales */
    tile_begin(&t, rows);
    for (int r = 0; r < rows; r++) {
        t.lo[r] = 0;
        t.hi[r] = r >= nrows ? 0 : s->causal ? q0 + r + 1 : n;
    }
    const int8_t *q8 = (st->isa->q_xor ? st->q8x : st->q8) + (q_head * n + q0) * (size_t)dq;
    const float sq = st->qscale[q_head * st->qblocks + qb] * t.c; /* log2(e)/√d folded in: exp2 below */
    const float *ks = st->kscale + kv_head * st->qblocks;
    const int8_t *kp = st->kpan + kv_head * st->panels * INT8_KP * dq;
    const int32_t *ksum = st->ksum + kv_head * st->panels * INT8_KP;
    const int8_t *vp = st->vpk + kv_head * st->vgroups * dv * 4;
    const int kend = s->causal ? q0 + nrows : n;
    for (int k0 = 0; k0 < kend; k0 += FLASH_BC) {
        const int keys = kend - k0 < FLASH_BC ? kend - k0 : FLASH_BC;
        const int npan = (keys + INT8_KP - 1) / INT8_KP, cols = npan * INT8_KP;
        st->isa->scores(q8, dq, rows, kp + (size_t)(k0 / INT8_KP) * d4 * 64, npan, ksum + k0, acc, FLASH_BC);
        int used = 0; /* keys up to the last one any row sees: P·V need not go further */
        for (int r = 0; r < rows; r++) {
            float *sr = t.s + (size_t)r * FLASH_BC;
            uint8_t *pr = pc + (size_t)r * FLASH_BC;
            int hi = t.hi[r] - k0 < keys ? t.hi[r] - k0 : keys;
            if (hi <= 0) { /* a padding row, or a causal row before this block */
                memset(pr, 0, (size_t)cols);
                t.alpha[r] = 1.0f;
                sp[r] = 0.0f;
                continue;
            }
            used = hi > used ? hi : used;
            for (int j0 = 0; j0 < cols; j0 += INT8_BLOCK) /* one K scale per INT8_BLOCK keys */
                st->isa->dequant(acc + (size_t)r * FLASH_BC + j0, cols - j0 < INT8_BLOCK ? cols - j0 : INT8_BLOCK,
                                 sq * ks[(k0 + j0) / INT8_BLOCK], sr + j0);
            for (int j = hi; j < cols; j++)
                sr[j] = -INFINITY;
            const float mb = st->fisa->row_max(sr, cols);
            const float mn = t.m[r] > mb ? t.m[r] : mb;
            /* 0 on a row's first keys (m = -inf); 1 whenever the maximum stays (most blocks) */
            const float alpha = t.m[r] == mn ? 1.0f : exp2f(t.m[r] - mn);
            const float sum = st->fisa->row_exp2_sum(sr, cols, 1.0f, mn);
            const float pmax = mb == mn ? 1.0f : exp2f(mb - mn); /* the block's largest probability */
            st->isa->pquant(sr, cols, 127.0f / pmax, pr);
            for (int j = hi; j < cols; j++)
                pr[j] = 0; /* masked keys (exp2's clamp leaves 2^-126, which rounds to 0 anyway) */
            t.l[r] = t.l[r] * alpha + sum;
            t.m[r] = mn;
            t.alpha[r] = alpha;
            sp[r] = pmax / 127.0f;
        }
        if (used > 0)
            st->isa->pv(pc, FLASH_BC, rows, (used + 3) / 4, vp + (size_t)k0 * dv, dv, t.o, t.ldo, t.alpha, sp);
    }
    const float *sv = st->vscale + kv_head * d;
    float *out = st->o + (q_head * n + q0) * d;
    for (int r = 0; r < nrows; r++) {
        const float inv = t.l[r] > 0 ? 1.0f / t.l[r] : 0.0f;
        for (int c = 0; c < d; c++)
            out[(size_t)r * d + c] = t.o[(size_t)r * t.ldo + c] * sv[c] * inv;
    }
}

static int int8_run(struct kb_case *c)
{
    struct int8_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const long bh = (long)s->batch * s->heads;
    const long qtasks = bh * st->qblocks;
    /* causal tiles cost in proportion to their index: hand them out dynamically, last first */
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
    for (long task = 0; task < qtasks; task++) {
        long tt = qtasks - 1 - task;
        int8_tile(st, s, (size_t)(tt % bh), (int)(tt / bh), st->scratch + (size_t)attention_thread() * st->scratch_floats);
    }
    return KB_OK;
}

/* ---- verify ---------------------------------------------------------------------------------- */

/* The emulation's codes and scales of every head, from the inputs alone. */
struct emulated {
    int8_t *q8, *k8;    /* [B,H,N,dq], [B,H_kv,N,dq] row-major */
    float *qscale, *kscale;
    int8_t *v8;         /* [B,H_kv,N,d] row-major */
    float *vscale;      /* [B,H_kv,d] */
};

static void emulated_free(struct emulated *e)
{
    free(e->q8);
    free(e->k8);
    free(e->v8);
    free(e->vscale);
    free(e->qscale);
    free(e->kscale);
}

static int emulate(const struct int8_state *st, const struct kb_shape *s, struct emulated *e)
{
    const int n = s->seq_len, d = s->head_dim, dq = st->dq;
    const size_t bh = (size_t)s->batch * s->heads, bhkv = (size_t)s->batch * s->kv_heads;
    e->q8 = malloc(bh * n * dq);
    e->k8 = malloc(bhkv * n * dq);
    e->qscale = malloc(bh * st->qblocks * sizeof(float));
    e->kscale = malloc(bhkv * st->qblocks * sizeof(float));
    e->v8 = malloc(bhkv * n * d);
    e->vscale = malloc(bhkv * d * sizeof(float));
    float *mean = malloc((size_t)d * sizeof *mean);
    if (!e->q8 || !e->k8 || !e->qscale || !e->kscale || !e->v8 || !e->vscale || !mean) {
        free(mean);
        return -1;
    }
    for (size_t h = 0; h < bh; h++)
        for (int qb = 0; qb < st->qblocks; qb++) {
            int t0 = qb * INT8_BLOCK, rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
            e->qscale[h * st->qblocks + qb] =
                int8_quantize_block(st->q + (h * n + t0) * d, rows, d, NULL, e->q8 + (h * n + t0) * dq);
        }
    for (size_t h = 0; h < bhkv; h++) {
        int8_channel_mean(st->k + h * n * d, n, d, mean);
        for (int kb = 0; kb < st->qblocks; kb++) {
            int t0 = kb * INT8_BLOCK, rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
            e->kscale[h * st->qblocks + kb] = int8_quantize_block(st->k + (h * n + t0) * d, rows, d,
                                                                  st->smooth ? mean : NULL, e->k8 + (h * n + t0) * dq);
        }
        int8_quantize_channels(st->v + h * n * d, n, d, e->v8 + h * n * d, e->vscale + h * d);
    }
    free(mean);
    return 0;
}

static int same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Codes and scales of the run against the emulation; returns mismatches, adds to *checked. */
static long compare_codes(const struct int8_state *st, const struct kb_shape *s, const struct emulated *e,
                          long *checked)
{
    const int n = s->seq_len, dq = st->dq, d4 = dq / 4;
    const size_t bh = (size_t)s->batch * s->heads, bhkv = (size_t)s->batch * s->kv_heads;
    long bad = 0;
    for (size_t i = 0; i < bh * n * dq; i++)
        bad += st->q8[i] != e->q8[i];
    for (size_t i = 0; i < bh * st->qblocks; i++)
        bad += !same_float(st->qscale[i], e->qscale[i]);
    for (size_t h = 0; h < bhkv; h++) {
        const int8_t *kp = st->kpan + h * st->panels * INT8_KP * dq;
        for (int j = 0; j < n; j++)
            for (int c = 0; c < dq; c++)
                bad += kp[(size_t)(j / INT8_KP) * d4 * 64 + (size_t)(c / 4) * 64 + 4 * (j % INT8_KP) + c % 4] !=
                       e->k8[(h * n + j) * dq + c];
    }
    for (size_t i = 0; i < bhkv * st->qblocks; i++)
        bad += !same_float(st->kscale[i], e->kscale[i]);
    const int d = s->head_dim, dv = st->dv;
    for (size_t h = 0; h < bhkv; h++) {
        const int8_t *vp = st->vpk + h * st->vgroups * dv * 4;
        for (int j = 0; j < n; j++)
            for (int c = 0; c < d; c++)
                bad += vp[((size_t)(j / 4) * dv + c) * 4 + j % 4] != e->v8[(h * n + j) * d + c];
    }
    for (size_t i = 0; i < bhkv * d; i++)
        bad += !same_float(st->vscale[i], e->vscale[i]);
    *checked += (long)((bh + bhkv) * n * dq + (bh + bhkv) * st->qblocks + bhkv * (size_t)n * d + bhkv * d);
    return bad;
}

/* The int32 scores of one query row (the kernel's packed codes, through the case's SIMD path)
 * against the emulation's exact dot products, over every key the row sees. */
static long compare_scores(const struct int8_state *st, const struct kb_shape *s, const struct emulated *e,
                           long row, int keys, int8_t *qtile, int32_t *acc, long *checked)
{
    const int n = s->seq_len, dq = st->dq, d4 = dq / 4;
    const long q_head = row / n;
    const size_t kv_head = attention_kv_head(s, (size_t)q_head);
    for (int c = 0; c < dq; c++) /* the kernel's operand: its codes, biased where the path wants */
        qtile[c] = (int8_t)((uint8_t)st->q8[(size_t)row * dq + c] ^ st->isa->q_xor);
    memset(qtile + dq, st->isa->q_xor, (size_t)(FLASH_MR - 1) * dq);
    const int8_t *kp = st->kpan + kv_head * st->panels * INT8_KP * dq;
    const int32_t *ksum = st->ksum + kv_head * st->panels * INT8_KP;
    long bad = 0;
    for (int k0 = 0; k0 < keys; k0 += FLASH_BC) {
        int cnt = keys - k0 < FLASH_BC ? keys - k0 : FLASH_BC, npan = (cnt + INT8_KP - 1) / INT8_KP;
        st->isa->scores(qtile, dq, FLASH_MR, kp + (size_t)(k0 / INT8_KP) * d4 * 64, npan, ksum + k0, acc, FLASH_BC);
        for (int j = 0; j < cnt; j++)
            bad += acc[j] != int8_dot(e->q8 + (size_t)row * dq, e->k8 + (kv_head * n + k0 + j) * dq, dq);
    }
    *checked += keys;
    return bad;
}

/* The int32 P·V of one query row through the case's SIMD path (the kernel's packed V), against
 * the exact sums over the emulation's V codes. The P codes are a stand-in the check can make
 * from the emulation alone (its int32 scores folded into 0..127: every value occurs), since the
 * kernel's own are float32 softmax results; what is checked bit for bit is the integer product
 * and the V layout it reads. With alpha = 1 and s_p = 1 on a zero accumulator the kernel's
 * float output is (float)acc, exact below 2^24 (|acc| ≤ 127·127·FLASH_BC). */
static long compare_pv(const struct int8_state *st, const struct kb_shape *s, const struct emulated *e, long row,
                       int keys, uint8_t *ptile, float *otile, long *checked)
{
    const int n = s->seq_len, d = s->head_dim, dq = st->dq, dv = st->dv, ldo = (dv + 31) / 32 * 32;
    const size_t kv_head = attention_kv_head(s, (size_t)(row / n));
    const float ones[FLASH_MR] = { 1, 1, 1, 1, 1, 1 };
    long bad = 0;
    for (int k0 = 0; k0 < keys; k0 += FLASH_BC) {
        const int cnt = keys - k0 < FLASH_BC ? keys - k0 : FLASH_BC;
        memset(ptile, 0, (size_t)FLASH_MR * FLASH_BC);
        memset(otile, 0, (size_t)FLASH_MR * ldo * sizeof *otile);
        for (int j = 0; j < cnt; j++)
            ptile[j] = (uint8_t)(int8_dot(e->q8 + (size_t)row * dq, e->k8 + (kv_head * n + k0 + j) * dq, dq) & 127);
        st->isa->pv(ptile, FLASH_BC, FLASH_MR, (cnt + 3) / 4, st->vpk + kv_head * st->vgroups * dv * 4 + (size_t)k0 * dv,
                    dv, otile, ldo, ones, ones);
        for (int c = 0; c < d; c++) {
            int64_t want = 0;
            for (int j = 0; j < cnt; j++)
                want += (int64_t)ptile[j] * e->v8[(kv_head * n + k0 + j) * d + c];
            bad += otile[c] != (float)want;
        }
    }
    *checked += d;
    return bad;
}

/* The recipe in float64 for one row: the emulation's scores, the block-wise online softmax with
 * P quantized per row and block as the kernel does it, the dequantized V. */
static void dequantized_reference_row(const struct int8_state *st, const struct kb_shape *s, const struct emulated *e,
                                      long row, int keys, double *out)
{
    const int n = s->seq_len, d = s->head_dim, dq = st->dq;
    const long q_head = row / n;
    const int i = (int)(row % n);
    const size_t kv_head = attention_kv_head(s, (size_t)q_head);
    const double sq = e->qscale[(size_t)q_head * st->qblocks + i / INT8_BLOCK];
    const double c2 = 1.4426950408889634 / sqrt((double)d); /* base-2 logits, as the kernel's */
    const int8_t *v8 = e->v8 + kv_head * n * d;
    const float *sv = e->vscale + kv_head * d;
    double m = -INFINITY, l = 0, x[FLASH_BC];
    for (int c = 0; c < d; c++)
        out[c] = 0;
    for (int k0 = 0; k0 < keys; k0 += FLASH_BC) {
        const int cnt = keys - k0 < FLASH_BC ? keys - k0 : FLASH_BC;
        double mb = -INFINITY;
        for (int j = 0; j < cnt; j++) {
            x[j] = int8_dot(e->q8 + (size_t)row * dq, e->k8 + (kv_head * n + k0 + j) * dq, dq) * sq *
                   e->kscale[kv_head * st->qblocks + (k0 + j) / INT8_BLOCK] * c2;
            mb = x[j] > mb ? x[j] : mb;
        }
        const double mn = m > mb ? m : mb, alpha = exp2(m - mn), pmax = exp2(mb - mn);
        double sum = 0;
        for (int c = 0; c < d; c++)
            out[c] *= alpha;
        for (int j = 0; j < cnt; j++) {
            const double p = exp2(x[j] - mn), code = fmin(127.0, nearbyint(p * 127.0 / pmax));
            sum += p;
            for (int c = 0; c < d; c++)
                out[c] += code * (pmax / 127.0) * v8[(size_t)(k0 + j) * d + c] * sv[c];
        }
        l = l * alpha + sum;
        m = mn;
    }
    for (int c = 0; c < d; c++)
        out[c] /= l;
}

/* The implementation's own checks (the operation has judged the output against float64
 * attention on the inputs): the codes, scales and sampled int32 scores bit for bit, and the
 * sampled rows within INT8_KERNEL_TOLERANCE of float64 attention on the dequantized Q, K. */
static int int8_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const struct int8_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim;
    const long total = (long)s->batch * s->heads * n;
    struct emulated e = { 0 };
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)ATTENTION_VERIFY_ROWS * d * sizeof *ref);
    int8_t *qtile = malloc((size_t)FLASH_MR * st->dq);
    int32_t *sacc = malloc((size_t)FLASH_MR * FLASH_BC * sizeof *sacc);
    uint8_t *ptile = malloc((size_t)FLASH_MR * FLASH_BC);
    float *otile = malloc((size_t)FLASH_MR * ((st->dv + 31) / 32 * 32) * sizeof *otile);
    if (!rows || !ref || !qtile || !sacc || !ptile || !otile || emulate(st, s, &e) != 0) {
        free(ptile);
        free(otile);
        free(rows);
        free(ref);
        free(qtile);
        free(sacc);
        emulated_free(&e);
        acc->passed = 0;
        return KB_ERROR;
    }
    long checked = 0, bad = compare_codes(st, s, &e, &checked);
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, c->seed, rows);
    for (long t = 0; t < nrows; t++) {
        int i = (int)(rows[t] % n);
        bad += compare_scores(st, s, &e, rows[t], s->causal ? i + 1 : n, qtile, sacc, &checked);
        bad += compare_pv(st, s, &e, rows[t], s->causal ? i + 1 : n, ptile, otile, &checked);
    }
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
    for (long t = 0; t < nrows; t++) {
        int i = (int)(rows[t] % n);
        dequantized_reference_row(st, s, &e, rows[t], s->causal ? i + 1 : n, ref + (size_t)t * d);
    }
    struct verify_acc kernel_err;
    verify_begin(&kernel_err);
    for (long t = 0; t < nrows; t++)
        for (int j = 0; j < d; j++)
            verify_add(&kernel_err, st->o[(size_t)rows[t] * d + j], ref[(size_t)t * d + j]);
    struct kb_accuracy kacc;
    verify_finish(&kernel_err, INT8_KERNEL_TOLERANCE, &kacc);
    acc->exact_checked = checked;
    acc->exact_mismatches = bad;
    if (!kacc.passed || bad != 0)
        acc->passed = 0;
    free(rows);
    free(ref);
    free(qtile);
    free(sacc);
    free(ptile);
    free(otile);
    emulated_free(&e);
    return KB_OK;
}

/* The quantization's own figure, stored beside the kernel's latency. */
static int int8_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    if (max < 1)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "int8.quantize_s");
    out[0].value = int8_cpu_quantize_seconds(c);
    snprintf(out[0].unit, sizeof out[0].unit, "s");
    return 1;
}

static int int8_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct int8_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    int n = 0;
    if (n < max)
        out[n++] = (struct kb_tensor){ .name = "q_i8", .dtype = KB_DTYPE_I8, .ndim = 4,
                                       .dims = { s->batch, s->heads, s->seq_len, st->dq },
                                       .data = st->q8, .is_output = 1 };
    return n;
}

const struct kb_kernel kb_attention_int8_cpu = {
    .name = "attention.int8",
    .impl = "cpu",
    .description = "SageAttention-style: K smoothed, Q/K INT8 per 64 tokens, V per channel, 7-bit P; int32 QK and PV "
                   "(VNNI/AVX-VNNI/AVX2/scalar); quantization untimed (counter int8.quantize_s)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .footprint = int8_footprint,
    .setup = int8_setup,
    .run = int8_run,
    .tensors = int8_tensors,
    .teardown = int8_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .check = int8_check,
    .stats = int8_stats,
};
