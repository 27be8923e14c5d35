/* decode_cpu.c - attention.flash@cpu.paged: the decode step of softmax attention (decode = 1)
 * against a contiguous (page 0) or paged (page > 0) KV cache, float32, on the CPU.
 *
 * One task per (batch, KV head): the query heads of its GQA group walk the cache together, so
 * each K/V row read serves the whole group. The cache is walked in segments of contiguous rows
 * (a physical page, looked up in the block table; or 64 tokens of a contiguous cache), each
 * folded into a running max m, sum l and unnormalised output per query head (online softmax,
 * base 2). No packing pass: decode reads each K and V row once, as the operation's bytes()
 * counts. The two inner loops (a row's dot product with a query, and o += p·v) come in
 * AVX2+FMA and portable versions, chosen at setup through kernels/cpu_features.h; the AVX-512
 * path folds a whole segment for up to four heads at a time instead (fold_segment_avx512:
 * each K and V load feeds every head, vector exponentials, the next segment fetched ahead).
 *
 * An implementation of attention.softmax (softmax_ops.h) for decode = 1 only: prefill cases
 * are never planned (required_axes) and refused by setup; the planner refuses page > 0
 * without decode. */
#include "kernels/attention/attention.h"
#include "kernels/attention/paged_kv.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECODE_SEGMENT 64 /* tokens per segment of a contiguous cache */

/* The inner loops of one code path. */
struct decode_isa {
    const char *name;
    float (*dot)(const float *x, const float *y, int d);         /* x·y */
    void (*axpy)(float *acc, float p, const float *v, int d);     /* acc += p·v */
};

/* The best path this CPU (under KBENCH_CPU_FEATURES) runs; defined with the paths below. */
static const struct decode_isa *decode_isa_best(void);

struct decode_state {
    const struct decode_isa *isa;
    int nthreads;
    int seg;        /* rows per segment: page, or DECODE_SEGMENT */
    size_t per_thread; /* floats of one thread's scratch */
    float *scratch; /* per thread: scores [group][seg], acc [group][d], m, l [group] */
};

static int segment_rows(const struct kb_shape *s)
{
    return s->page > 0 ? s->page : DECODE_SEGMENT;
}

static size_t scratch_floats(const struct kb_shape *s)
{
    const size_t g = (size_t)(s->heads / (s->kv_heads > 0 ? s->kv_heads : s->heads));
    return attention_round16(g * (size_t)segment_rows(s)) + attention_round16(g * (size_t)s->head_dim) +
           2 * attention_round16(g);
}

static double decode_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    return 4.0 * (double)scratch_floats(&s); /* one thread's; each further thread as much again */
}

static void decode_teardown(struct kb_case *c)
{
    struct decode_state *st = c->state;
    if (st)
        free(st->scratch);
    free(st);
    c->state = NULL;
}

static int decode_setup(struct kb_case *c, char *err, size_t errlen)
{
    if (!c->shape.decode) {
        snprintf(err, errlen, "attention.flash@cpu.paged is a decode step: give decode = 1");
        return KB_UNSUPPORTED;
    }
    struct decode_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->isa = decode_isa_best();
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->seg = segment_rows(&c->shape);
    st->per_thread = scratch_floats(&c->shape);
    st->scratch = attention_alloc((size_t)st->nthreads * st->per_thread * sizeof(float));
    if (!st->scratch) {
        snprintf(err, errlen, "out of memory for %d threads' scratch", st->nthreads);
        decode_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

/* x·y over d floats, in 8 independent partial sums so the loop vectorises without reassociation. */
static float dot_scalar(const float *x, const float *y, int d)
{
    float part[8] = { 0 };
    int c = 0;
    for (; c + 8 <= d; c += 8)
        for (int i = 0; i < 8; i++)
            part[i] += x[c + i] * y[c + i];
    float sum = 0;
    for (; c < d; c++)
        sum += x[c] * y[c];
    for (int i = 0; i < 8; i++)
        sum += part[i];
    return sum;
}

static void axpy_scalar(float *restrict acc, float p, const float *restrict v, int d)
{
    for (int e = 0; e < d; e++)
        acc[e] += p * v[e];
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

AVX2 static float dot_avx2(const float *x, const float *y, int d)
{
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    int c = 0;
    for (; c + 16 <= d; c += 16) {
        a = _mm256_fmadd_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(y + c), a);
        b = _mm256_fmadd_ps(_mm256_loadu_ps(x + c + 8), _mm256_loadu_ps(y + c + 8), b);
    }
    __m256 sum8 = _mm256_add_ps(a, b);
    __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(sum8), _mm256_extractf128_ps(sum8, 1));
    sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
    sum4 = _mm_add_ss(sum4, _mm_movehdup_ps(sum4));
    float sum = _mm_cvtss_f32(sum4);
    for (; c < d; c++)
        sum += x[c] * y[c];
    return sum;
}

AVX2 static void axpy_avx2(float *acc, float p, const float *v, int d)
{
    const __m256 pp = _mm256_set1_ps(p);
    int e = 0;
    for (; e + 8 <= d; e += 8)
        _mm256_storeu_ps(acc + e, _mm256_fmadd_ps(pp, _mm256_loadu_ps(v + e), _mm256_loadu_ps(acc + e)));
    for (; e < d; e++)
        acc[e] += p * v[e];
}

AVX512 static float dot_avx512(const float *x, const float *y, int d)
{
    __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
    int c = 0;
    for (; c + 32 <= d; c += 32) {
        a = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), _mm512_loadu_ps(y + c), a);
        b = _mm512_fmadd_ps(_mm512_loadu_ps(x + c + 16), _mm512_loadu_ps(y + c + 16), b);
    }
    for (; c + 16 <= d; c += 16)
        a = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), _mm512_loadu_ps(y + c), a);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(a, b));
    for (; c < d; c++)
        sum += x[c] * y[c];
    return sum;
}

AVX512 static void axpy_avx512(float *acc, float p, const float *v, int d)
{
    const __m512 pp = _mm512_set1_ps(p);
    int e = 0;
    for (; e + 16 <= d; e += 16)
        _mm512_storeu_ps(acc + e, _mm512_fmadd_ps(pp, _mm512_loadu_ps(v + e), _mm512_loadu_ps(acc + e)));
    for (; e < d; e++)
        acc[e] += p * v[e];
}

/* 2^x for x <= 0 (scores minus their running max): 2^f of the fraction by the degree-6
 * polynomial of attention.flash's CPU paths, 2^n by vscalefps; below -126 it tends to 0. */
static inline __attribute__((always_inline, target("avx512f"))) __m512 exp2_avx512(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-127.0f));
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(1.533757750e-4f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339985989e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618519805e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550329015e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264625e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931471825e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static inline __mmask16 lanes16(int left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

enum { FOLD_HEADS = 4 }; /* query heads sharing each K and V load */

/* fold_segment for AVX-512 with every query head of the group in one walk over the rows: each
 * K row's chunks of 16 feed up to FOLD_HEADS dot products, the exponentials go 16 scores at a
 * time, and each V chunk feeds the heads' accumulators (rescaled by alpha as they load). While
 * a head block's scores are computed the next segment's K and V rows (k_next, v_next:
 * rows_next of them, or none) are fetched, a row of each per row of this one, so a paged
 * cache's next page arrives behind this page's arithmetic. */
AVX512 static void fold_segment_avx512(const float *q, int g, int d, const float *k, const float *v, int rows,
                                       float c, float *sc, float *acc, float *m, float *l, int seg,
                                       const float *k_next, const float *v_next, int rows_next)
{
    const int chunks = (d + 15) / 16;
    const __mmask16 tail = lanes16(d - 16 * (chunks - 1));
    for (int h0 = 0; h0 < g; h0 += FOLD_HEADS) {
        const int hb = g - h0 < FOLD_HEADS ? g - h0 : FOLD_HEADS;
        const float *qb = q + (size_t)h0 * d;
        /* scores: s[h][j] = c · q_h·k_j */
        for (int j = 0; j < rows; j++) {
            const float *kj = k + (size_t)j * d;
            if (h0 == 0 && j < rows_next)
                for (int e = 0; e < d; e += 16) {
                    _mm_prefetch((const char *)(k_next + (size_t)j * d + e), _MM_HINT_T0);
                    _mm_prefetch((const char *)(v_next + (size_t)j * d + e), _MM_HINT_T0);
                }
            __m512 a[FOLD_HEADS] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                                     _mm512_setzero_ps() };
            for (int ch = 0; ch < chunks; ch++) {
                const __mmask16 mk = ch == chunks - 1 ? tail : (__mmask16)0xFFFF;
                const __m512 kv = _mm512_maskz_loadu_ps(mk, kj + 16 * ch);
#pragma GCC unroll 4
                for (int h = 0; h < FOLD_HEADS; h++)
                    if (h < hb)
                        a[h] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, qb + (size_t)h * d + 16 * ch), kv, a[h]);
            }
#pragma GCC unroll 4
            for (int h = 0; h < FOLD_HEADS; h++)
                if (h < hb)
                    sc[(size_t)(h0 + h) * seg + j] = _mm512_reduce_add_ps(a[h]) * c;
        }
        /* per head: the new max, the exponentials and their sum, the old state's factor */
        float alpha[FOLD_HEADS] = { 0 };
        for (int h = h0; h < h0 + hb; h++) {
            float *si = sc + (size_t)h * seg;
            __m512 mx = _mm512_set1_ps(m[h]);
            for (int j = 0; j < rows; j += 16)
                mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, lanes16(rows - j), si + j));
            const float mnew = _mm512_reduce_max_ps(mx);
            const __m512 vm = _mm512_set1_ps(mnew);
            __m512 sum = _mm512_setzero_ps();
            for (int j = 0; j < rows; j += 16) {
                const __mmask16 mr = lanes16(rows - j);
                const __m512 p = exp2_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mr, si + j), vm));
                _mm512_mask_storeu_ps(si + j, mr, p);
                sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(mr, p));
            }
            alpha[h - h0] = exp2f(m[h] - mnew); /* 0 on the first segment: m = -inf */
            l[h] = l[h] * alpha[h - h0] + _mm512_reduce_add_ps(sum);
            m[h] = mnew;
        }
        /* acc_h ← alpha_h·acc_h + Σ_j p_hj v_j, a chunk of 16 columns at a time */
        for (int ch = 0; ch < chunks; ch++) {
            const __mmask16 mk = ch == chunks - 1 ? tail : (__mmask16)0xFFFF;
            __m512 o[FOLD_HEADS] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                                     _mm512_setzero_ps() };
#pragma GCC unroll 4
            for (int h = 0; h < FOLD_HEADS; h++)
                if (h < hb)
                    o[h] = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, acc + (size_t)(h0 + h) * d + 16 * ch),
                                         _mm512_set1_ps(alpha[h]));
            for (int j = 0; j < rows; j++) {
                const __m512 vv = _mm512_maskz_loadu_ps(mk, v + (size_t)j * d + 16 * ch);
#pragma GCC unroll 4
                for (int h = 0; h < FOLD_HEADS; h++)
                    if (h < hb)
                        o[h] = _mm512_fmadd_ps(_mm512_set1_ps(sc[(size_t)(h0 + h) * seg + j]), vv, o[h]);
            }
#pragma GCC unroll 4
            for (int h = 0; h < FOLD_HEADS; h++)
                if (h < hb)
                    _mm512_mask_storeu_ps(acc + (size_t)(h0 + h) * d + 16 * ch, mk, o[h]);
        }
    }
}
#endif

static const struct decode_isa isa_scalar = { "scalar", dot_scalar, axpy_scalar };
#if defined(__x86_64__)
static const struct decode_isa isa_avx2 = { "avx2", dot_avx2, axpy_avx2 };
static const struct decode_isa isa_avx512 = { "avx512", dot_avx512, axpy_avx512 };
#endif

static const struct decode_isa *decode_isa_best(void)
{
#if defined(__x86_64__)
    if (kb_cpu_has(KB_CPU_AVX512F))
        return &isa_avx512;
    if (kb_cpu_has(KB_CPU_AVX2 | KB_CPU_FMA))
        return &isa_avx2;
#endif
    return &isa_scalar;
}

/* Folds `rows` contiguous K/V rows into the group's running state. */
static void fold_segment(const struct decode_isa *isa, const float *q, int g, int d, const float *k, const float *v,
                         int rows, float c, float *sc, float *acc, float *m, float *l, int seg)
{
    for (int i = 0; i < g; i++) {
        float *si = sc + (size_t)i * seg, mx = m[i];
        for (int j = 0; j < rows; j++) {
            si[j] = isa->dot(q + (size_t)i * d, k + (size_t)j * d, d) * c;
            mx = si[j] > mx ? si[j] : mx;
        }
        const float alpha = exp2f(m[i] - mx); /* 0 on the first segment: m = -inf */
        float sum = 0, *ai = acc + (size_t)i * d;
        for (int j = 0; j < rows; j++) {
            si[j] = exp2f(si[j] - mx);
            sum += si[j];
        }
        for (int e = 0; e < d; e++)
            ai[e] *= alpha;
        for (int j = 0; j < rows; j++)
            isa->axpy(ai, si[j], v + (size_t)j * d, d);
        l[i] = l[i] * alpha + sum;
        m[i] = mx;
    }
}

static int decode_run(struct kb_case *c)
{
    struct decode_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const float *q = kb_input(c, KB_ATTN_Q), *k = kb_input(c, KB_ATTN_K), *v = kb_input(c, KB_ATTN_V);
    const int32_t *table = s->page > 0 ? kb_input(c, KB_ATTN_BLOCK_TABLE) : NULL;
    float *o = kb_output(c, KB_ATTN_O);
    const int d = s->head_dim, n = s->seq_len, g = s->heads / s->kv_heads, seg = st->seg;
    const long tasks = (long)s->batch * s->kv_heads;
    const int64_t pages = s->page > 0 ? paged_kv_pages(s) : 0;
    const float cl2 = (float)(1.4426950408889634 / sqrt((double)d)); /* log2(e)/sqrt(d) */

#pragma omp parallel for schedule(dynamic, 1) num_threads(st->nthreads)
    for (long t = 0; t < tasks; t++) {
        const int b = (int)(t / s->kv_heads), kvh = (int)(t % s->kv_heads);
        float *sc = st->scratch + (size_t)attention_thread() * st->per_thread;
        float *acc = sc + attention_round16((size_t)g * seg);
        float *m = acc + attention_round16((size_t)g * d), *l = m + attention_round16((size_t)g);
        const float *qg = q + ((size_t)b * s->heads + (size_t)kvh * g) * d; /* the group's heads are adjacent */
        memset(acc, 0, (size_t)g * d * sizeof *acc);
        for (int i = 0; i < g; i++) {
            m[i] = -INFINITY;
            l[i] = 0;
        }
        for (int t0 = 0; t0 < n; t0 += seg) {
            const int rows = n - t0 < seg ? n - t0 : seg;
            size_t at = table ? paged_kv_row(s, table[(int64_t)b * pages + t0 / seg], kvh, 0)
                              : (((size_t)b * s->kv_heads + kvh) * (size_t)n + (size_t)t0) * d;
#if defined(__x86_64__)
            if (st->isa == &isa_avx512) {
                const int t1 = t0 + rows, rows_next = n - t1 < seg ? n - t1 : seg;
                size_t next = at;
                if (rows_next > 0)
                    next = table ? paged_kv_row(s, table[(int64_t)b * pages + t1 / seg], kvh, 0) : at + (size_t)rows * d;
                fold_segment_avx512(qg, g, d, k + at, v + at, rows, cl2, sc, acc, m, l, seg, k + next, v + next,
                                    rows_next > 0 ? rows_next : 0);
                continue;
            }
#endif
            fold_segment(st->isa, qg, g, d, k + at, v + at, rows, cl2, sc, acc, m, l, seg);
        }
        float *og = o + ((size_t)b * s->heads + (size_t)kvh * g) * d;
        for (int i = 0; i < g; i++)
            for (int e = 0; e < d; e++)
                og[(size_t)i * d + e] = acc[(size_t)i * d + e] / l[i];
    }
    return KB_OK;
}

const struct kb_kernel kb_attention_decode_cpu = {
    .name = "attention.flash",
    .impl = "cpu.paged",
    .description = "decode step (decode = 1 only) against a contiguous or paged KV cache (block table), GQA group per task, float32",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 0,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_PAGE),
    .required_axes = KB_AXIS_BIT(KB_AXIS_DECODE), /* planned for decode = 1 only */
    .footprint = decode_footprint,
    .setup = decode_setup,
    .run = decode_run,
    .teardown = decode_teardown,
    .op = &kb_op_attention_softmax,
};
