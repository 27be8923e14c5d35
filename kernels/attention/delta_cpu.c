/* delta_cpu.c - attention.delta@cpu.recurrent and @cpu.chunked: the delta rule (DeltaNet,
 * Gated DeltaNet; definition in delta_ops.h) in float32, OpenMP threads over (batch, head).
 *
 * @cpu.recurrent walks the tokens: per token two passes over the d×d state (u = Sᵀk̂, then
 * S = αS + k̂uᵀ fused with o = Sᵀq̂), the inner loops over value channels vectorised by the
 * compiler under `omp simd`, compiled once per ISA (AVX-512, AVX2+FMA, baseline) and chosen
 * at run time as linear_isa.h chooses its paths.
 *
 * @cpu.chunked is the chunkwise WY/UT form (Yang et al., "Parallelizing Linear Transformers
 * with the Delta Rule"; gated as in Gated DeltaNet). For a chunk of c tokens with state S0
 * before it, γ_i = Σ_{j≤i} log α_j inside the chunk, and Γ_ij = exp(γ_i − γ_j):
 *   L = strictly-lower(diag(β) (K̂K̂ᵀ ⊙ Γ)),  T = (I + L)⁻¹  (forward substitution)
 *   W = T diag(β e^γ) K̂,  U = T diag(β) V − W S0              (U: the chunk's "new values" u_t)
 * computed as U = T (diag(β) V − diag(β e^γ) K̂ S0), which saves forming W.
 *   O = (Q̂ e^γ / √d) S0 + (Q̂K̂ᵀ/√d ⊙ Γ ⊙ causal) U
 *   S ← e^{γ_last} S0 + (K̂ ⊙ e^{γ_last − γ})ᵀ U
 * which unrolls the recurrence exactly (u_t = β_t(v_t − α_t S_{t−1}ᵀk̂_t) is a triangular
 * system in the chunk's u). Every product is a small dense GEMM through linear_isa.h; what
 * makes it fast here (docs/performance.md has the measurements):
 *  - the C×C×d products with a triangular factor (K̂K̂ᵀ, Q̂K̂ᵀ, T·X, P·U) run in row blocks
 *    that stop at the diagonal block, half the work of the full squares;
 *  - T's forward substitution runs over whole 16-float blocks of columns (rows of T padded
 *    with zeros), a vector FMA each;
 *  - the scratch matrices' rows are padded (delta_ld) so GEMM panels do not alias in L1;
 *  - the gate's decay of the state is a scalar σ (state = σŜ) folded into the products'
 *    row scalings, Ŝ rescaled only when σ gets small, instead of a d² pass per chunk;
 *  - on AVX-512, K̂ᵀ is built by 16×16 register transposes.
 * Chunks of 16–32 are the fastest on the CPU at d = 64..256 (the three c×d×d products with
 * the state dominate; smaller chunks shrink the C×C terms).
 *
 * Decode: setup builds each head's state over the first N tokens (the chunked form, or the
 * recurrence for @cpu.recurrent); the timed step reads it and writes the next state into a
 * second buffer (so runs repeat) and the output row. */
#include "kernels/attention/attention.h"
#include "kernels/attention/delta.h"
#include "kernels/attention/linear_isa.h"

#include <math.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- one recurrent step, per ISA --------------------------------------------------------- */

/* S_out = α S_in + k̂ uᵀ with u = β(v − α S_inᵀk̂), o = scale·S_outᵀq̂ (S_out may be S_in). */
typedef void (*delta_step_fn)(int d, const float *s_in, float *s_out, const float *k, const float *q,
                              const float *v, float alpha, float beta, float scale, float *u, float *o);

#define DELTA_STEP_BODY                                                                  \
    {                                                                                    \
        for (int j = 0; j < d; j++)                                                      \
            u[j] = 0.0f;                                                                 \
        for (int i = 0; i < d; i++) {                                                    \
            const float ki = k[i], *row = s_in + (size_t)i * d;                          \
            _Pragma("omp simd") for (int j = 0; j < d; j++) u[j] += row[j] * ki;         \
        }                                                                                \
        _Pragma("omp simd") for (int j = 0; j < d; j++) {                                \
            u[j] = beta * (v[j] - alpha * u[j]);                                         \
            o[j] = 0.0f;                                                                 \
        }                                                                                \
        for (int i = 0; i < d; i++) {                                                    \
            const float ki = k[i], qi = q[i], *row = s_in + (size_t)i * d;               \
            float *dst = s_out + (size_t)i * d;                                          \
            _Pragma("omp simd") for (int j = 0; j < d; j++) {                            \
                float x = alpha * row[j] + ki * u[j];                                    \
                dst[j] = x;                                                              \
                o[j] += x * qi;                                                          \
            }                                                                            \
        }                                                                                \
        _Pragma("omp simd") for (int j = 0; j < d; j++) o[j] *= scale;                   \
    }

#define DELTA_STEP_ARGS                                                                  \
    (int d, const float *s_in, float *s_out, const float *k, const float *q, const float *v, float alpha, \
     float beta, float scale, float *restrict u, float *restrict o)

static void step_scalar DELTA_STEP_ARGS DELTA_STEP_BODY
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void step_avx2 DELTA_STEP_ARGS DELTA_STEP_BODY
__attribute__((target("avx512f"))) static void step_avx512 DELTA_STEP_ARGS DELTA_STEP_BODY
#endif

static delta_step_fn step_for(const struct linear_isa *isa)
{
#if defined(__x86_64__)
    if (strcmp(isa->name, "avx512") == 0)
        return step_avx512;
    if (strcmp(isa->name, "avx2") == 0)
        return step_avx2;
#endif
    return step_scalar;
}

/* ---- the case ------------------------------------------------------------------------------ */

struct chunk_scratch;
struct delta_state {
    const float *q, *k, *v, *beta, *g; /* the case's operands (not owned) */
    float *o;
    int tokens;  /* N, or N + 1 in decode */
    int chunk;   /* the chunked form's C (0 for the recurrent form) */
    int nthreads;
    size_t scratch_floats;
    float *scratch_mem;
    float *state_in, *state_out; /* decode: [B·H][d·d] */
    const struct linear_isa *isa;
    delta_step_fn step;
    void (*chunked)(const struct delta_state *st, const struct kb_shape *s, size_t head, int n, float *o,
                    const struct chunk_scratch *w);
};

static void normalise(const float *x, int d, float mul, float *out)
{
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int i = 0; i < d; i++)
        ss += x[i] * x[i];
    float r = ss > 0.0f ? mul / sqrtf(ss) : 0.0f;
#pragma omp simd
    for (int i = 0; i < d; i++)
        out[i] = x[i] * r;
}

/* The chunked form's scratch of one thread. */
struct chunk_scratch {
    float *kn, *qn, *kb, *w, *u, *qe; /* [C][ldd] */
    float *kt;                        /* [d][ldc] K̂ᵀ (ldd, ldc: delta_ld of d and C) */
    float *a, *t, *p;                 /* [C][ldc] */
    float *l;                         /* [C16] a row of L */
    float *eg, *eng;                  /* [C] e^γ, e^−γ */
    float *s;                         /* [d][ldd] state */
    float *vec;                       /* [4d] a step's u, o, k̂, q̂ */
};

/* The leading dimension of the chunked form's [·][n] scratch matrices: n rounded up to 16 floats,
 * plus 16, so that rows are not a multiple of 4 KiB / 64 apart and a GEMM's panel of B (its rows
 * 512 bytes apart when n = 128) does not crowd into a few sets of the L1 cache (10–18% on the
 * d×d products). */
static int delta_ld(int n)
{
    return (int)attention_round16((size_t)n) + 16;
}

static size_t scratch_floats_of(size_t c, size_t d)
{
    const size_t c16 = attention_round16(c), ldd = (size_t)delta_ld((int)d), ldc = (size_t)delta_ld((int)c);
    return 6 * c * ldd + d * ldc + 3 * c * ldc + 3 * c16 + d * ldd + attention_round16(4 * d);
}

static struct chunk_scratch scratch_of(const struct delta_state *st, int tid, size_t d)
{
    float *p = st->scratch_mem + (size_t)tid * st->scratch_floats;
    size_t c = (size_t)(st->chunk > 0 ? st->chunk : 1), c16 = attention_round16(c);
    size_t ldd = (size_t)delta_ld((int)d), ldc = (size_t)delta_ld((int)c), cd = c * ldd, cc = c * ldc;
    struct chunk_scratch w;
    w.kn = p, p += cd;
    w.qn = p, p += cd;
    w.kb = p, p += cd;
    w.w = p, p += cd;
    w.u = p, p += cd;
    w.qe = p, p += cd;
    w.kt = p, p += d * ldc;
    w.a = p, p += cc;
    w.t = p, p += cc;
    w.p = p, p += cc;
    w.eg = p, p += c16;
    w.eng = p, p += c16;
    w.l = p, p += c16;
    w.s = p, p += d * ldd;
    w.vec = p;
    return w;
}

/* The chunked form per SIMD level (delta_cpu_body.h). */
typedef void (*delta_chunked_fn)(const struct delta_state *st, const struct kb_shape *s, size_t head, int n,
                                 float *o, const struct chunk_scratch *w);
/* row blocks of the triangular products: a whole vector of columns in the scores' blocks */
#define DELTA_ROW_BLOCK 16
#define DELTA_TIMES_BLOCK 12
/* the smallest factor the gated state is kept scaled by before it is rescaled: Ŝ's entries
 * stay within 2^20 of the state's, far from float overflow */
#define DELTA_MIN_SCALE 0x1p-20f
#define DELTA_ISA(name) name##_scalar
#define DELTA_FMA(a, b, c) ((a) * (b) + (c))
#include "kernels/attention/delta_cpu_body.h"
#undef DELTA_ISA
#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#undef DELTA_FMA
#define DELTA_FMA(a, b, c) fmaf(a, b, c)
#define DELTA_ISA(name) name##_avx2
#include "kernels/attention/delta_cpu_body.h"
#undef DELTA_ISA
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
#define DELTA_ISA(name) name##_avx512
#include "kernels/attention/delta_cpu_body.h"
#undef DELTA_ISA
#pragma GCC pop_options
#endif

static delta_chunked_fn chunked_for(const struct linear_isa *isa)
{
#if defined(__x86_64__)
    if (strcmp(isa->name, "avx512") == 0)
        return chunked_head_avx512;
    if (strcmp(isa->name, "avx2") == 0)
        return chunked_head_avx2;
#endif
    return chunked_head_scalar;
}

/* Runs tokens [0, n) of the head token by token from the zero state, in s; output rows when o. */
static void recurrent_head(const struct delta_state *st, const struct kb_shape *s, size_t head, int n, float *o,
                           float *state, float *vec)
{
    const int d = s->head_dim;
    const size_t off = head * (size_t)st->tokens;
    const float *q = st->q + off * d, *k = st->k + off * d, *v = st->v + off * d;
    const float *beta = st->beta + off, *g = st->g + off;
    const float scale = (float)(1.0 / sqrt((double)d));
    float *kn = vec + 2 * d, *qn = vec + 3 * d, *scratch_o = vec + d;
    memset(state, 0, (size_t)d * d * sizeof(float));
    for (int t = 0; t < n; t++) {
        normalise(k + (size_t)t * d, d, 1.0f, kn);
        normalise(q + (size_t)t * d, d, 1.0f, qn);
        const float alpha = s->decay ? expf(g[t]) : 1.0f;
        st->step(d, state, state, kn, qn, v + (size_t)t * d, alpha, beta[t], scale, vec,
                 o ? o + (size_t)t * d : scratch_o);
    }
}

/* One decode step of a head: token N against the state in state_in. */
static void decode_head(const struct delta_state *st, const struct kb_shape *s, size_t head, float *vec)
{
    const int d = s->head_dim, t = s->seq_len;
    const size_t off = head * (size_t)st->tokens + (size_t)t;
    float *kn = vec + 2 * d, *qn = vec + 3 * d;
    normalise(st->k + off * d, d, 1.0f, kn);
    normalise(st->q + off * d, d, 1.0f, qn);
    const float alpha = s->decay ? expf(st->g[off]) : 1.0f;
    st->step(d, st->state_in + head * d * d, st->state_out + head * d * d, kn, qn, st->v + off * d, alpha,
             st->beta[off], (float)(1.0 / sqrt((double)d)), vec, st->o + head * d);
}

static void delta_cpu_teardown(struct kb_case *c)
{
    struct delta_state *st = c->state;
    if (!st)
        return;
    free(st->scratch_mem);
    free(st->state_in);
    free(st->state_out);
    free(st);
    c->state = NULL;
}

/* the chunked kernel's C, 0 for the recurrent one */
static int chunk_of(const struct kb_shape *s, int chunked)
{
    if (!chunked)
        return 0;
    int c = s->chunk > 0 ? s->chunk : 64;
    return c < s->seq_len ? c : s->seq_len;
}

static double footprint_of(const struct kb_shape *s, int chunked)
{
    size_t c = (size_t)(chunked ? chunk_of(s, 1) : 1), d = (size_t)s->head_dim;
    double states = s->decode ? 2.0 * 4.0 * s->batch * s->heads * (double)d * d : 0.0;
    return 4.0 * (double)scratch_floats_of(c, d) + states; /* one thread's scratch */
}
static double recurrent_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return footprint_of(s, 0);
}
static double chunked_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return footprint_of(s, 1);
}

static int delta_cpu_setup(struct kb_case *c, int chunked, char *err, size_t errlen)
{
    const char *name = chunked ? "attention.delta@cpu.chunked" : "attention.delta@cpu.recurrent";
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "%s: dtype %s not supported (f32 only)", name,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    const struct kb_shape *s = &c->shape;
    if (chunked && s->chunk > DELTA_MAX_CHUNK) {
        snprintf(err, errlen, "%s: chunk = %d, at most %d", name, s->chunk, DELTA_MAX_CHUNK);
        return KB_UNSUPPORTED;
    }
    struct delta_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", name);
        return KB_ERROR;
    }
    c->state = st;
    st->tokens = delta_tokens(s);
    st->chunk = chunk_of(s, chunked);
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->isa = linear_isa_best();
    st->step = step_for(st->isa);
    st->chunked = chunked_for(st->isa);
    const size_t d = (size_t)s->head_dim, heads = (size_t)s->batch * s->heads;
    st->scratch_floats = scratch_floats_of((size_t)(st->chunk > 0 ? st->chunk : 1), d);
    st->q = kb_input(c, KB_DELTA_Q);
    st->k = kb_input(c, KB_DELTA_K);
    st->v = kb_input(c, KB_DELTA_V);
    st->beta = kb_input(c, KB_DELTA_BETA);
    st->g = kb_input(c, KB_DELTA_G);
    st->o = kb_output(c, KB_DELTA_O);
    st->scratch_mem = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (s->decode) {
        st->state_in = attention_alloc(heads * d * d * sizeof(float));
        st->state_out = attention_alloc(heads * d * d * sizeof(float));
    }
    if (!st->scratch_mem || (s->decode && (!st->state_in || !st->state_out))) {
        snprintf(err, errlen, "%s: out of memory for %d threads' scratch and the decode states", name, st->nthreads);
        delta_cpu_teardown(c);
        return KB_ERROR;
    }
    if (s->decode) {
        /* the state after the N cached tokens, built once here, untimed */
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
        for (long h = 0; h < (long)heads; h++) {
            struct chunk_scratch w = scratch_of(st, attention_thread(), d);
            float *dst = st->state_in + (size_t)h * d * d;
            if (chunked) {
                st->chunked(st, s, (size_t)h, s->seq_len, NULL, &w);
                for (size_t i = 0; i < d; i++)
                    memcpy(dst + i * d, w.s + i * (size_t)delta_ld((int)d), d * sizeof(float));
            } else {
                recurrent_head(st, s, (size_t)h, s->seq_len, NULL, dst, w.vec);
            }
        }
    }
    return KB_OK;
}

static int recurrent_setup(struct kb_case *c, char *err, size_t errlen)
{
    return delta_cpu_setup(c, 0, err, errlen);
}
static int chunked_setup(struct kb_case *c, char *err, size_t errlen)
{
    return delta_cpu_setup(c, 1, err, errlen);
}

static int delta_cpu_run(struct kb_case *c)
{
    struct delta_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const long heads = (long)s->batch * s->heads;
    const size_t d = (size_t)s->head_dim;
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (long h = 0; h < heads; h++) {
        struct chunk_scratch w = scratch_of(st, attention_thread(), d);
        if (s->decode)
            decode_head(st, s, (size_t)h, w.vec);
        else if (st->chunk > 0)
            st->chunked(st, s, (size_t)h, s->seq_len, st->o + (size_t)h * s->seq_len * d, &w);
        else
            recurrent_head(st, s, (size_t)h, s->seq_len, st->o + (size_t)h * s->seq_len * d, w.s, w.vec);
    }
    return KB_OK;
}

int delta_cpu_use_path(struct kb_case *c, const char *name)
{
    const struct linear_isa *isa = linear_isa_by_name(name);
    struct delta_state *st = c->state;
    if (!isa || !st)
        return -1;
    st->isa = isa;
    st->step = step_for(isa);
    st->chunked = chunked_for(isa);
    return 0;
}

#define DELTA_CPU_AXES                                                                                        \
    (KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_SEQ) |                    \
     KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_DECAY) | KB_AXIS_BIT(KB_AXIS_DECODE) |              \
     KB_AXIS_BIT(KB_AXIS_INPUT))

const struct kb_kernel kb_attention_delta_cpu_recurrent = {
    .name = "attention.delta",
    .impl = "cpu.recurrent",
    .description = "delta rule token by token (two passes over the d×d state a token), decode step; float32 "
                   "(AVX-512/AVX2/scalar chosen at run time)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = DELTA_CPU_AXES,
    .footprint = recurrent_footprint,
    .setup = recurrent_setup,
    .run = delta_cpu_run,
    .teardown = delta_cpu_teardown,
    .op = &kb_op_attention_delta,
};

const struct kb_kernel kb_attention_delta_cpu_chunked = {
    .name = "attention.delta",
    .impl = "cpu.chunked",
    .description = "delta rule, chunkwise WY/UT form (triangular solve + GEMMs per chunk), decode step; float32 "
                   "(AVX-512/AVX2/scalar chosen at run time)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = DELTA_CPU_AXES | KB_AXIS_BIT(KB_AXIS_CHUNK),
    .footprint = chunked_footprint,
    .setup = chunked_setup,
    .run = delta_cpu_run,
    .teardown = delta_cpu_teardown,
    .op = &kb_op_attention_delta,
};
