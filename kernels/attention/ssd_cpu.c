/* ssd_cpu.c - attention.ssd@cpu.recurrent and @cpu.chunked (ssd_ops.h): float32, OpenMP threads
 * over (batch, head), SIMD chosen at run time.
 *
 * recurrent: the definition token by token, h ← a_t h + dt_t B_t x_tᵀ, y_t = C_tᵀh (ssd_step.h).
 *   5·S·P flops per token on a state that stays in L1.
 * chunked: Mamba-2's SSD algorithm per chunk of c tokens, with cum_i = Σ_{r≤i} dt_r·A the
 *   in-chunk cumulative log-decay (the segment sum cum_i − cum_j gives L inside the chunk):
 *     G   = C_c B_cᵀ, its lower part                    (c×c, the "attention" scores)
 *     M_ij = G_ij · exp(cum_i − cum_j) · dt_j, j ≤ i     (the chunk's block of the SSD matrix)
 *     Y   = diag(exp(cum)) (C_c h)  +  M X_c             (output from the state + intra-chunk)
 *     h   ← exp(cum_{c−1}) h + B_cᵀ (diag(exp(cum_{c−1} − cum) dt) X_c)   (the state, passed on)
 *   every product a small GEMM (linear_isa.h's register-tiled gemm_acc), the two triangular ones
 *   in row blocks that stop at the diagonal; the weights go on X's and Y's c×P rows, not on the
 *   S-wide Bᵀ or C; about c²/24 + 9.5c exponentials (the decay factored left of M's row blocks).
 *   Scratch and state rows are padded (padded_ld). docs/performance.md has the phase profile.
 *   B and C are shared by the H/G heads of a group, so a first pass per group (not per head)
 *   lays Bᵀ out once for the whole sequence and forms every chunk's C Bᵀ: the heads then read
 *   them (a per-head transpose of B cost more than the GEMMs: scattered scalar stores). A thread
 *   takes a group (or, with fewer groups than threads, a slice of a group's heads) and walks its
 *   chunks: it prepares the chunk's Bᵀ and C·Bᵀ once (in L1/L2), then advances each of its heads
 *   by that chunk, their states waiting in `carry`. One parallel region, no barrier per chunk
 *   (an earlier version prepared blocks of chunks between barriers: on a busy 2-core machine two
 *   threads ran it 3x slower than one).
 * bidirectional (causal = 0): the same pass over the reversed sequence (chunks gathered in
 *   reverse), added, with the diagonal left out of the second pass (exclusive: the M diagonal
 *   zeroed; the recurrent step reads C before adding its own input).
 * decode: setup runs the forward pass over the first N tokens into a state per head (untimed);
 *   run applies the one step of token N to a copy (the stored state is unchanged: repeatable),
 *   the same step code for both implementations. */
#include "kernels/attention/attention.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/ssd.h"
#include "kernels/attention/ssd_ops.h"
#include "kernels/attention/ssd_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ssd_cpu {
    struct ssd_view v;
    float *y;
    int chunked; /* 1: the chunked algorithm, 0: the recurrence */
    int chunk;   /* c = min(chunk, N) */
    int ldc;     /* leading dimension of the c-wide scratch rows (Bᵀ, C·Bᵀ, M): padded */
    int ldh;     /* leading dimension of a chunked pass's state rows: padded */
    int nthreads;
    size_t scratch_floats;
    float *scratch;
    float *carry;      /* chunked: [B·H][S·ldh] each head's state from chunk to chunk */
    int nc;            /* chunks per head */
    float *states;     /* decode: [B·H][S·P] after the first N tokens */
    float *states_new; /* decode: run's updated copies */
    const struct linear_isa *isa;
    const struct ssd_step_isa *step;
};

struct chunk_scratch {
    float *xc, *bc, *cc; /* gathered chunk rows (reversed pass) [c][P], [c][S], [c][S] */
    float *xw;            /* [c][P] diag(exp(cum_last − cum) dt) X: the state's input */
    float *dtc, *cum, *e; /* [c] */
    float *bt;  /* [S][ldc] the group's chunk Bᵀ */
    float *gk;  /* [c][ldc] the group's chunk C·Bᵀ, its lower part */
    float *g;   /* [c][ldc] M: gk masked and decayed for one head */
    float *yc;  /* [c][P] */
    float *h;   /* [S][P] */
};

/* Rows of ld floats for the c-wide scratch matrices and the states: a multiple of 16 floats
 * that is not a multiple of 256 bytes' larger powers of two, so the k rows a GEMM tile walks in
 * the B operand (Bᵀ in C·Bᵀ, the state in C·H) do not pile into a few L1 sets: at 512-byte rows
 * (128 floats) 128 rows fall into 8 set positions, 16 lines a set for 12 ways. */
static int padded_ld(int n)
{
    const int ld = (int)attention_round16((size_t)n);
    return ld % 64 == 0 ? ld + 16 : ld;
}

static size_t scratch_floats_of(size_t C, size_t S, size_t P)
{
    const size_t ld = (size_t)padded_ld((int)C);
    return 3 * attention_round16(C * P) + 2 * attention_round16(C * S) + 3 * attention_round16(C) +
           attention_round16(S * ld) + 2 * attention_round16(C * ld) + attention_round16(S * P) + 16;
}

static struct chunk_scratch scratch_of(const struct ssd_cpu *st, int tid, size_t S, size_t P)
{
    float *p = st->scratch + (size_t)tid * st->scratch_floats;
    size_t C = (size_t)st->chunk;
    struct chunk_scratch w;
    const size_t ld = (size_t)st->ldc;
    w.xc = p, p += attention_round16(C * P);
    w.xw = p, p += attention_round16(C * P);
    w.yc = p, p += attention_round16(C * P);
    w.bc = p, p += attention_round16(C * S);
    w.cc = p, p += attention_round16(C * S);
    w.dtc = p, p += attention_round16(C);
    w.cum = p, p += attention_round16(C);
    w.e = p, p += attention_round16(C);
    w.bt = p, p += attention_round16(S * ld);
    w.gk = p, p += attention_round16(C * ld);
    w.g = p, p += attention_round16(C * ld);
    w.h = p;
    return w;
}

/* ---- the recurrence ------------------------------------------------------------------------ */

/* One direction over tokens [0, n) of head (b, h); y rows written (forward) or added to
 * (backward, exclusive of the diagonal). h: the S×P state (zeroed here); tmp: P floats. */
static void scan_head(const struct ssd_cpu *st, const struct kb_shape *s, int b, int h, int n, int backward,
                      float *state, float *tmp, float *y)
{
    const int T = ssd_tokens(s), P = s->head_dim, S = s->state;
    const float *x = st->v.x + ssd_x_off(s, b, h, T), *dt = st->v.dt + ssd_dt_off(s, b, h, T);
    const float *B = st->v.b + ssd_bc_off(s, b, h, T), *C = st->v.c + ssd_bc_off(s, b, h, T);
    const float A = st->v.A[h];
    memset(state, 0, (size_t)S * P * sizeof *state);
    for (int k = 0; k < n; k++) {
        const int t = backward ? n - 1 - k : k;
        const float a = expf(dt[t] * A);
        float *yt = y ? y + (size_t)t * P : tmp;
        if (backward) {
            st->step->step(S, P, a, dt[t], 1, x + (size_t)t * P, B + (size_t)t * S, C + (size_t)t * S, state, tmp);
            for (int p = 0; p < P; p++)
                yt[p] += tmp[p];
        } else {
            st->step->step(S, P, a, dt[t], 0, x + (size_t)t * P, B + (size_t)t * S, C + (size_t)t * S, state, yt);
        }
    }
}

/* ---- the chunked algorithm ----------------------------------------------------------------- */

/* Row blocks of the lower-triangular products: C·Bᵀ's scores in blocks of 16 rows (columns up to
 * the block's end, whole vectors), M·X in blocks of 12 (two of gemm_acc's 6-row tiles). Blocks
 * above the diagonal are skipped: half the products of the full squares. */
#define SSD_SCORE_BLOCK 16
#define SSD_TIMES_BLOCK 12

/* The physical token of logical token k (< n) of a pass: reversed backward. */
static inline int token_of(int n, int k, int backward)
{
    return backward ? n - 1 - k : k;
}

/* Chunk `chunk` of group `grp` (b·G + g) in one direction: Bᵀ into w->bt and, for outputs,
 * the lower part of C·Bᵀ into w->gk (rows blocked by SSD_SCORE_BLOCK, every column up to a row
 * block's end written); backward, the chunk's C rows (reversed) are left in w->cc. */
static void prepare_chunk(const struct ssd_cpu *st, const struct kb_shape *s, long grp, int chunk, int backward,
                          int with_g, const struct chunk_scratch *w)
{
    const int n = s->seq_len, T = ssd_tokens(s), S = s->state, Cmax = st->chunk, ld = st->ldc;
    const int k0 = chunk * Cmax, c = n - k0 < Cmax ? n - k0 : Cmax;
    const float *bg = st->v.b + (size_t)grp * T * S, *cg = st->v.c + (size_t)grp * T * S;
    const float *rows = bg + (size_t)k0 * S, *cc = cg + (size_t)k0 * S;
    if (backward) { /* logical token k0 + j is physical n − 1 − k0 − j */
        for (int j = 0; j < c; j++) {
            memcpy(w->bc + (size_t)j * S, bg + (size_t)(n - 1 - k0 - j) * S, (size_t)S * sizeof(float));
            if (with_g)
                memcpy(w->cc + (size_t)j * S, cg + (size_t)(n - 1 - k0 - j) * S, (size_t)S * sizeof(float));
        }
        rows = w->bc, cc = w->cc;
    }
    st->step->transpose(w->bt, ld, rows, S, c, S);
    if (with_g)
        for (int i0 = 0; i0 < c; i0 += SSD_SCORE_BLOCK) {
            const int i1 = c - i0 < SSD_SCORE_BLOCK ? c : i0 + SSD_SCORE_BLOCK;
            float *gi = w->gk + (size_t)i0 * ld;
            for (int i = i0; i < i1; i++)
                memset(gi + (size_t)(i - i0) * ld, 0, (size_t)i1 * sizeof(float));
            st->isa->gemm_acc(i1 - i0, i1, S, cc + (size_t)i0 * S, S, w->bt, ld, gi, ld);
        }
}

/* Asks for one row of the next chunk's operands while this chunk computes: the head's x row,
 * its y row (NULL: none; for writing), and (when `shared`) the group's B and C rows. The hardware
 * prefetcher alone left the first product that read a chunk's x waiting on memory (the
 * intra-chunk GEMM ran at half the rate of the same-sized product from the state, timed per
 * phase). */
static inline void prefetch_row(const float *x, float *y, int P, const float *b, const float *c, int S, int shared)
{
    for (int p = 0; p < P; p += 16) {
        __builtin_prefetch(x + p, 0, 2);
        if (y)
            __builtin_prefetch(y + p, 1, 2);
    }
    if (shared)
        for (int i = 0; i < S; i += 16) {
            __builtin_prefetch(b + i, 0, 2);
            __builtin_prefetch(c + i, 0, 2);
        }
}

/* Chunk `chunk` of one direction over tokens [0, n) of head (b, h), after prepare_chunk for the
 * same chunk and direction; hs is the head's S×ldh state (zeroed here at chunk 0); y as scan_head
 * (NULL: only the state is wanted). The head is number `lane` of the `lanes` heads that share
 * the prepared chunk: the lanes split the prefetch of the group's next B and C rows. */
static void chunk_step(const struct ssd_cpu *st, const struct kb_shape *s, int b, int h, int backward,
                       const struct chunk_scratch *w, float *y, int chunk, float *hs, int lane, int lanes)
{
    const struct linear_isa *isa = st->isa;
    const struct ssd_step_isa *vec = st->step;
    const int n = s->seq_len, T = ssd_tokens(s), P = s->head_dim, S = s->state, Cmax = st->chunk;
    const int ld = st->ldc, ldh = st->ldh;
    const int k0 = chunk * Cmax, c = n - k0 < Cmax ? n - k0 : Cmax;
    const float *x = st->v.x + ssd_x_off(s, b, h, T), *dt = st->v.dt + ssd_dt_off(s, b, h, T);
    const float *C = st->v.c + ssd_bc_off(s, b, h, T), *Bg = st->v.b + ssd_bc_off(s, b, h, T);
    const float A = st->v.A[h];
    if (chunk == 0)
        memset(hs, 0, (size_t)S * ldh * sizeof(float));
    const float *xc, *cc, *dtc;
    float *yc;
    if (!backward) {
        xc = x + (size_t)k0 * P, cc = C + (size_t)k0 * S, dtc = dt + k0;
        yc = y ? y + (size_t)k0 * P : w->yc;
    } else { /* the group's C rows were gathered by prepare_chunk */
        for (int j = 0; j < c; j++) {
            const int t = n - 1 - k0 - j;
            memcpy(w->xc + (size_t)j * P, x + (size_t)t * P, (size_t)P * sizeof(float));
            w->dtc[j] = dt[t];
        }
        xc = w->xc, cc = w->cc, dtc = w->dtc, yc = w->yc;
    }
    /* cumulative log-decay */
    float run = 0;
    for (int j = 0; j < c; j++) {
        run += dtc[j] * A;
        w->cum[j] = run;
    }
    const float last = w->cum[c - 1];
    /* the state's input rows: X weighted by exp(cum_last − cum_j)·dt_j (c×P, not the S×c Bᵀ) */
    for (int j = 0; j < c; j++)
        w->e[j] = last - w->cum[j];
    isa->vexp(w->e, c);
    for (int j = 0; j < c; j++)
        vec->scale(w->xw + (size_t)j * P, xc + (size_t)j * P, w->e[j] * dtc[j], P);
    if (y) {
        /* from the state: diag(exp(cum)) (C H), the rows scaled after the product */
        memset(yc, 0, (size_t)c * P * sizeof(float));
        isa->gemm_acc(c, P, S, cc, S, hs, ldh, yc, P);
        for (int i = 0; i < c; i++)
            w->e[i] = w->cum[i];
        isa->vexp(w->e, c);
        for (int i = 0; i < c; i++)
            vec->scale(yc + (size_t)i * P, yc + (size_t)i * P, w->e[i], P);
        /* M = the group's C·Bᵀ, masked and decayed for this head, zero to its row block's end.
         * Left of a row block starting at i0 the decay factors as exp(cum_i − cum_i0) ·
         * exp(cum_i0 − cum_j) (both exponents ≤ 0: no overflow, and where a factor underflows the
         * weight is below 1e-38 anyway), so a row costs a vector product there and exponentials
         * only inside its block: about c·(c/24 + 7) exponentials instead of c²/2. */
        const int k1 = k0 + Cmax, c1 = n - k1 < Cmax ? n - k1 : Cmax;
        float *q = w->e, r[SSD_TIMES_BLOCK + 1]; /* q: the block's column factors; r: a row's */
        for (int i0 = 0; i0 < c; i0 += SSD_TIMES_BLOCK) {
            const int i1 = c - i0 < SSD_TIMES_BLOCK ? c : i0 + SSD_TIMES_BLOCK;
            for (int j = 0; j < i0; j++)
                q[j] = w->cum[i0] - w->cum[j];
            isa->vexp(q, i0);
            vec->mul(q, q, dtc, i0);
            for (int i = i0; i < i1; i++) {
                if (i < c1) {
                    const int t = token_of(n, k1 + i, backward);
                    prefetch_row(x + (size_t)t * P, backward ? NULL : y + (size_t)t * P, P, Bg + (size_t)t * S,
                                 C + (size_t)t * S, S, i % lanes == lane);
                }
                const float *gs = w->gk + (size_t)i * ld;
                float *gi = w->g + (size_t)i * ld;
                const int upto = backward ? i : i + 1; /* the backward pass leaves the diagonal out */
                /* r[0]: exp(cum_i − cum_i0) for the columns left of the block; r[1..]: the block's */
                r[0] = w->cum[i] - w->cum[i0];
                for (int j = i0; j < upto; j++)
                    r[1 + j - i0] = w->cum[i] - w->cum[j];
                isa->vexp(r, 1 + upto - i0);
                if (i0 > 0) {
                    vec->mul(gi, gs, q, i0);
                    vec->scale(gi, gi, r[0], i0);
                }
                for (int j = i0; j < i1; j++)
                    gi[j] = j < upto ? gs[j] * r[1 + j - i0] * dtc[j] : 0;
            }
        }
        if (c1 > 0)
            __builtin_prefetch(dt + token_of(n, k1 + (backward ? c1 - 1 : 0), backward), 0, 2);
        /* intra-chunk, lower-triangular: row block [i0, i1) reads columns < i1 */
        for (int i0 = 0; i0 < c; i0 += SSD_TIMES_BLOCK) {
            const int i1 = c - i0 < SSD_TIMES_BLOCK ? c : i0 + SSD_TIMES_BLOCK;
            isa->gemm_acc(i1 - i0, P, i1, w->g + (size_t)i0 * ld, ld, xc, P, yc + (size_t)i0 * P, P);
        }
    }
    /* pass the state on */
    vec->scale(hs, hs, expf(last), S * ldh);
    isa->gemm_acc(S, P, c, w->bt, ld, w->xw, P, hs, ldh);
    if (backward && y)
        for (int j = 0; j < c; j++) {
            float *dst = y + (size_t)(n - 1 - k0 - j) * P;
            const float *src = yc + (size_t)j * P;
            for (int p = 0; p < P; p++)
                dst[p] += src[p];
        }
}

/* One direction of the chunked algorithm over every head: work units of (group, slice of its
 * heads), as many slices as it takes to give every thread a unit; each unit walks the chunks,
 * preparing each once for its heads. y NULL: only the states (decode's setup). */
static void chunked_pass(const struct ssd_cpu *st, const struct kb_shape *s, int backward, float *y, float *states)
{
    const int G = ssd_groups(s), per_group = s->heads / G, n = s->seq_len, P = s->head_dim;
    const long groups = (long)s->batch * G;
    int slices = (int)((st->nthreads + groups - 1) / groups);
    slices = slices > per_group ? per_group : slices < 1 ? 1 : slices;
    const size_t sp = (size_t)s->state * st->ldh;
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
    for (long u = 0; u < groups * slices; u++) {
        const long grp = u / slices;
        const int slice = (int)(u % slices), b = (int)(grp / G), g = (int)(grp % G);
        const int h0 = g * per_group + slice * per_group / slices, h1 = g * per_group + (slice + 1) * per_group / slices;
        struct chunk_scratch w = scratch_of(st, attention_thread(), (size_t)s->state, (size_t)P);
        for (int chunk = 0; chunk < st->nc; chunk++) {
            prepare_chunk(st, s, grp, chunk, backward, y != NULL, &w);
            for (int h = h0; h < h1; h++) {
                const size_t t = (size_t)b * s->heads + h;
                chunk_step(st, s, b, h, backward, &w, y ? y + t * n * P : NULL, chunk, states + t * sp, h - h0,
                           h1 - h0);
            }
        }
    }
}

/* ---- the kernel interface ------------------------------------------------------------------ */

static void ssd_cpu_teardown(struct kb_case *c)
{
    struct ssd_cpu *st = c->state;
    if (!st)
        return;
    free(st->scratch);
    free(st->carry);
    free(st->states);
    free(st->states_new);
    free(st);
    c->state = NULL;
}

/* The decode state of every head after the first N tokens, by the implementation's own pass. */
static void build_states(struct ssd_cpu *st, const struct kb_shape *s)
{
    const long heads = (long)s->batch * s->heads;
    const size_t sp = (size_t)s->state * s->head_dim;
    if (st->chunked) { /* the pass keeps padded rows (ldh); the step reads S×P */
        chunked_pass(st, s, 0, NULL, st->carry);
        for (long t = 0; t < heads; t++)
            for (int i = 0; i < s->state; i++)
                memcpy(st->states + (size_t)t * sp + (size_t)i * s->head_dim,
                       st->carry + ((size_t)t * s->state + i) * st->ldh, (size_t)s->head_dim * sizeof(float));
        return;
    }
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
    for (long t = 0; t < heads; t++) {
        struct chunk_scratch w = scratch_of(st, attention_thread(), (size_t)s->state, (size_t)s->head_dim);
        scan_head(st, s, (int)(t / s->heads), (int)(t % s->heads), s->seq_len, 0, st->states + (size_t)t * sp, w.yc,
                  NULL);
    }
}

static int ssd_cpu_setup_as(struct kb_case *c, int chunked, char *err, size_t errlen)
{
    const char *name = chunked ? "attention.ssd@cpu.chunked" : "attention.ssd@cpu.recurrent";
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "%s: dtype %s not supported (f32 only)", name,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct ssd_cpu *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", name);
        return KB_ERROR;
    }
    c->state = st;
    const struct kb_shape *s = &c->shape;
    st->v = ssd_view_of(&c->io);
    st->y = kb_output(c, KB_SSD_Y);
    st->chunked = chunked;
    st->chunk = s->chunk < s->seq_len ? s->chunk : s->seq_len;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->ldc = padded_ld(st->chunk);
    st->ldh = padded_ld(s->head_dim);
    st->isa = linear_isa_best();
    st->step = ssd_step_best();
    st->scratch_floats = scratch_floats_of((size_t)st->chunk, (size_t)s->state, (size_t)s->head_dim);
    st->scratch = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (!st->scratch) {
        snprintf(err, errlen, "%s: out of memory for %d threads' scratch", name, st->nthreads);
        ssd_cpu_teardown(c);
        return KB_ERROR;
    }
    if (chunked) {
        st->nc = (s->seq_len + st->chunk - 1) / st->chunk;
        st->carry = attention_alloc((size_t)s->batch * s->heads * s->state * (size_t)st->ldh * sizeof(float));
        if (!st->carry) {
            snprintf(err, errlen, "%s: out of memory for the heads' states", name);
            ssd_cpu_teardown(c);
            return KB_ERROR;
        }
    }
    if (s->decode) {
        size_t bytes = (size_t)s->batch * s->heads * s->state * s->head_dim * sizeof(float);
        st->states = attention_alloc(bytes);
        st->states_new = attention_alloc(bytes);
        if (!st->states || !st->states_new) {
            snprintf(err, errlen, "%s: out of memory for the decode states", name);
            ssd_cpu_teardown(c);
            return KB_ERROR;
        }
        build_states(st, s);
    }
    return KB_OK;
}

static int ssd_recurrent_setup(struct kb_case *c, char *err, size_t errlen)
{
    return ssd_cpu_setup_as(c, 0, err, errlen);
}

static int ssd_chunked_setup(struct kb_case *c, char *err, size_t errlen)
{
    return ssd_cpu_setup_as(c, 1, err, errlen);
}

/* Decode: y = Cᵀ(a·h + dt·B xᵀ) for token N, the updated state into states_new. */
static void decode_all(const struct ssd_cpu *st, const struct kb_shape *s)
{
    const long heads = (long)s->batch * s->heads;
    const int T = ssd_tokens(s), P = s->head_dim, S = s->state, n = s->seq_len;
    const size_t sp = (size_t)S * P;
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (long t = 0; t < heads; t++) {
        const int b = (int)(t / s->heads), h = (int)(t % s->heads);
        const float *dt = st->v.dt + ssd_dt_off(s, b, h, T);
        float *state = st->states_new + (size_t)t * sp;
        memcpy(state, st->states + (size_t)t * sp, sp * sizeof(float));
        st->step->step(S, P, expf(dt[n] * st->v.A[h]), dt[n], 0, st->v.x + ssd_x_off(s, b, h, T) + (size_t)n * P,
                       st->v.b + ssd_bc_off(s, b, h, T) + (size_t)n * S,
                       st->v.c + ssd_bc_off(s, b, h, T) + (size_t)n * S, state, st->y + (size_t)t * P);
    }
}

static int ssd_cpu_run(struct kb_case *c)
{
    struct ssd_cpu *st = c->state;
    const struct kb_shape *s = &c->shape;
    if (s->decode) {
        decode_all(st, s);
        return KB_OK;
    }
    const long heads = (long)s->batch * s->heads;
    const int n = s->seq_len, P = s->head_dim, passes = s->causal ? 1 : 2;
    if (!st->chunked) {
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
        for (long t = 0; t < heads; t++) {
            struct chunk_scratch w = scratch_of(st, attention_thread(), (size_t)s->state, (size_t)P);
            float *y = st->y + (size_t)t * n * P;
            for (int dir = 0; dir < passes; dir++)
                scan_head(st, s, (int)(t / s->heads), (int)(t % s->heads), n, dir, w.h, w.yc, y);
        }
        return KB_OK;
    }
    for (int dir = 0; dir < passes; dir++)
        chunked_pass(st, s, dir, st->y, st->carry);
    return KB_OK;
}

/* Make a set-up case use the named SIMD path for both the GEMMs and the step (tests compare
 * paths); 0, or -1 when this CPU cannot run it. */
int ssd_cpu_use_path(struct kb_case *c, const char *name)
{
    struct ssd_cpu *st = c->state;
    const struct linear_isa *isa = linear_isa_by_name(name);
    const struct ssd_step_isa *step = ssd_step_by_name(name);
    if (!st || !isa || !step)
        return -1;
    st->isa = isa;
    st->step = step;
    return 0;
}

static double ssd_cpu_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    size_t c = (size_t)(s->chunk > 0 && s->chunk < s->seq_len ? s->chunk : s->seq_len);
    double states = s->decode ? 8.0 * s->batch * s->heads * (double)s->state * s->head_dim : 0;
    /* the chunked kernel's heads' states, rows padded (counted for both kernels: one footprint) */
    double shared = 4.0 * s->batch * s->heads * (double)s->state * padded_ld(s->head_dim);
    return 4.0 * (double)scratch_floats_of(c, (size_t)s->state, (size_t)s->head_dim) + states + shared;
}

#define SSD_CPU_AXES                                                                                               \
    (KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |                    \
     KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CAUSAL) |                     \
     KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_INPUT) |                      \
     KB_AXIS_BIT(KB_AXIS_STATE))

const struct kb_kernel kb_attention_ssd_recurrent = {
    .name = "attention.ssd",
    .impl = "cpu.recurrent",
    .description = "Mamba-2 SSD by its recurrence, token by token on an L1-resident state; causal, bidirectional, "
                   "decode; float32 (AVX-512/AVX2/scalar chosen at run time)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = SSD_CPU_AXES,
    .footprint = ssd_cpu_footprint,
    .setup = ssd_recurrent_setup,
    .run = ssd_cpu_run,
    .teardown = ssd_cpu_teardown,
    .op = &kb_op_attention_ssd,
};

const struct kb_kernel kb_attention_ssd_chunked = {
    .name = "attention.ssd",
    .impl = "cpu.chunked",
    .description = "Mamba-2 SSD, chunked: intra-chunk C·Bᵀ with the segment-sum decay, chunk states passed on, "
                   "output from the states; causal, bidirectional, decode; float32 (AVX-512/AVX2/scalar GEMMs)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = SSD_CPU_AXES,
    .footprint = ssd_cpu_footprint,
    .setup = ssd_chunked_setup,
    .run = ssd_cpu_run,
    .teardown = ssd_cpu_teardown,
    .op = &kb_op_attention_ssd,
};
