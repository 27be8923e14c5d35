/* ivit.c - I-ViT's integer-only non-linear operators and their float32 counterparts, on an M×N
 * matrix (M rows: tokens or attention-score rows; N: channels or keys), one row at a time.
 *
 *   quant.ivit_shiftmax   @cpu: Shiftmax      @cpu.f32: softmax, expf
 *   quant.ivit_shiftgelu  @cpu: ShiftGELU     @cpu.f32: GELU, 0.5·x·(1 + erf(x/√2))
 *   quant.ivit_layernorm  @cpu: I-LayerNorm   @cpu.f32: LayerNorm (no affine), eps 1e-5
 *
 * The integer kernels take int8 codes I with one float scale S (x ≈ S·I: the operation's input,
 * quant_ops.h) and produce int8 codes; after setup they use only integer add, multiply, shift and compare
 * (plus the integer divisions that I-ViT's IntDiv and the integer square root need, one per row
 * or per element). Constants derived from S at setup, as a deployed model fixes them offline:
 *   I_0 = round(1/S), the integer that stands for 1.0 in the exponent.
 *
 * ShiftExp(I_d), I_d ≤ 0, approximates 2^15·I_0·e^(S·I_d):
 *   I_p = I_d + (I_d >> 1) − (I_d >> 4)            (× log2 e ≈ 1.4375: e^x = 2^(x·log2 e))
 *   q = (−I_p) / I_0, r = −I_p − q·I_0              (2^(S·I_p) = 2^−q · 2^(−r/I_0), r/I_0 in [0, 1))
 *   ShiftExp = ((I_0 − (r >> 1)) << 15) >> q        (2^−f ≈ 1 − f/2 on [0, 1), then the shift)
 * Shiftmax: I_d = I − max_row I; out = (e·⌊2^31/Σe⌋·127 + 2^30) >> 31: the probability in
 *   int8 with scale 1/127 (0..127).
 * ShiftGELU: GELU(x) ≈ x·σ(1.702·x); I_p = I + (I>>1) + (I>>3) + (I>>4) (× 1.6875);
 *   σ = e^(S·(I_p − m)) / (e^(S·(I_p − m)) + e^(−S·m)), m = max(I_p, 0), both exponents ≤ 0
 *   through ShiftExp; σ_15 = ⌊e1·2^15 / (e1 + e2)⌋; out = (I·σ_15 + 2^14) >> 15, scale S.
 * I-LayerNorm: μ = round(ΣI / N); d = I − μ; var16 = round(Σd²·2^16 / N);
 *   σ_8 = isqrt(var16) = ⌊√var16⌋ by Newton's iteration x ← (x + var16/x) >> 1 from a power of
 *   two above the root (σ_8 ≈ σ·2^8, σ in units of S); factor = ⌊2^24 / σ_8⌋;
 *   out = sat8((d·factor + 2^11) >> 12): (x − μ)/σ with scale 2^−4 (range ±7.9; saturates past).
 *
 * Each pair implements one operation (kb_op_quant_ivit_*, ivit_op.c), which draws the inputs of
 * both dtypes and judges both against float64 of the exact function (the integer kernels on the
 * dequantized input S·I: the approximation and output rounding are the cost). The integer
 * kernels' own check, ivit_check, compares every code with the scalar emulation (the *_row
 * functions below, which the AVX2 path and the GPU must match). */
#include "kernels/quant/quant.h"
#include "kernels/cpu_features.h"
#include "kernels/quant/ivit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/quant/quant_ops.h"

/* A case of an implementation: the operands (the harness owns them) and what setup derived. */
struct ivit_state {
    enum ivit_op op;
    int integer;        /* i8 (@cpu) or f32 (@cpu.f32) */
    int m, n;
    const int8_t *xi;   /* i8: input codes [M,N] */
    int8_t *yi;         /*     output codes [M,N] */
    const float *x;     /* f32: input [M,N] */
    float *y;           /*      output [M,N] */
    int32_t i0;         /* i8: round(1/S) */
    int nthreads, use_avx2;
};

/* ---- integer building blocks (the scalar emulation) ------------------------------------------ */

static inline int32_t shift_exp(int32_t d, int32_t i0)
{
    int32_t p = d + (d >> 1) - (d >> 4); /* ≤ 0 */
    int32_t q = -p / i0, r = -p - q * i0;
    if (q > 30)
        return 0;
    return ((i0 - (r >> 1)) << 15) >> q;
}

static void shiftmax_row(const int8_t *in, int n, int32_t i0, int8_t *out)
{
    int32_t mx = -128;
    for (int j = 0; j < n; j++)
        mx = in[j] > mx ? in[j] : mx;
    int64_t sum = 0;
    for (int j = 0; j < n; j++)
        sum += shift_exp(in[j] - mx, i0);
    const int64_t factor = ((int64_t)1 << 31) / sum; /* sum ≥ I_0·2^15 > 0: the maximum's term */
    for (int j = 0; j < n; j++) {
        int64_t e = shift_exp(in[j] - mx, i0);
        out[j] = (int8_t)((e * factor * 127 + ((int64_t)1 << 30)) >> 31);
    }
}

static inline int8_t shiftgelu_one(int32_t v, int32_t i0)
{
    int32_t p = v + (v >> 1) + (v >> 3) + (v >> 4);
    int32_t m = p > 0 ? p : 0;
    int64_t e1 = shift_exp(p - m, i0), e2 = shift_exp(-m, i0);
    int32_t sig = (int32_t)((e1 << 15) / (e1 + e2)); /* e1 + e2 ≥ I_0·2^15 > 0 */
    return (int8_t)((v * sig + (1 << 14)) >> 15);
}

static void shiftgelu_row(const int8_t *in, int n, int32_t i0, int8_t *out)
{
    for (int j = 0; j < n; j++)
        out[j] = shiftgelu_one(in[j], i0);
}

/* ⌊√v⌋ for v ≥ 0, Newton's iteration from above (integer only). */
static int64_t isqrt64(int64_t v)
{
    if (v < 2)
        return v;
    int bits = 64 - __builtin_clzll((unsigned long long)v);
    int64_t x = (int64_t)1 << ((bits + 1) / 2); /* ≥ √v */
    for (;;) {
        int64_t y = (x + v / x) >> 1;
        if (y >= x)
            return x;
        x = y;
    }
}

/* N ≤ IVIT_LN_MAX_N keeps every sum in int32: Σd² ≤ N·254² < 2^31, and |d|·factor ≤
 * √N·2^16·(1 + 2^-8) < 2^31 because no deviation exceeds √(N·var). So the loops are plain int32
 * arithmetic the compiler vectorizes. */
static void layernorm_row(const int8_t *in, int n, int8_t *out)
{
    int32_t sum = 0;
    for (int j = 0; j < n; j++)
        sum += in[j];
    /* round half away from zero of sum / n */
    int32_t mu = sum >= 0 ? (sum + n / 2) / n : -((-sum + n / 2) / n);
    int32_t sq = 0;
    for (int j = 0; j < n; j++) {
        int32_t d = in[j] - mu;
        sq += d * d;
    }
    int64_t var16 = (((int64_t)sq << 16) + n / 2) / n;
    int64_t sd8 = isqrt64(var16);
    int32_t factor = sd8 > 0 ? (int32_t)(((int64_t)1 << 24) / sd8) : 0; /* a constant row gives 0 */
    for (int j = 0; j < n; j++) {
        int32_t y = ((in[j] - mu) * factor + (1 << 11)) >> 12; /* d/σ · 2^16 → · 2^4 */
        out[j] = (int8_t)(y > 127 ? 127 : y < -127 ? -127 : y);
    }
}

/* ---- AVX2 Shiftmax / ShiftGELU: the exponent step eight lanes at a time --------------------- */
#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))

/* shift_exp on 8 lanes. −p / I_0 has no vector instruction: float division of exact integers
 * (|p| < 2^24, I_0 < 2^24) truncated is the integer quotient except where rounding pushes an
 * exact-looking result across an integer; the remainder is then corrected by one step. */
AVX2 static inline __m256i shift_exp8(__m256i d, __m256i i0v, __m256 i0f)
{
    __m256i p = _mm256_sub_epi32(_mm256_add_epi32(d, _mm256_srai_epi32(d, 1)), _mm256_srai_epi32(d, 4));
    __m256i np = _mm256_sub_epi32(_mm256_setzero_si256(), p);
    __m256i q = _mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(np), i0f));
    __m256i r = _mm256_sub_epi32(np, _mm256_mullo_epi32(q, i0v));
    /* r < 0: q one too big; r ≥ I_0: q one too small */
    __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), r);
    q = _mm256_add_epi32(q, neg);
    r = _mm256_add_epi32(r, _mm256_and_si256(neg, i0v));
    __m256i big = _mm256_cmpgt_epi32(r, _mm256_sub_epi32(i0v, _mm256_set1_epi32(1)));
    q = _mm256_sub_epi32(q, big);
    r = _mm256_sub_epi32(r, _mm256_and_si256(big, i0v));
    __m256i mant = _mm256_slli_epi32(_mm256_sub_epi32(i0v, _mm256_srai_epi32(r, 1)), 15);
    /* vpsrlvd gives 0 for shifts ≥ 32; q > 30 must give 0 as well, and mant < 2^31 so 31 does */
    return _mm256_srlv_epi32(mant, q);
}

/* ShiftGELU on 8 lanes. σ's quotient e1·2^15 / (e1 + e2) in double: both exact (< 2^53), the
 * quotient below 2^15 + 1, so the double's relative error 2^-53 cannot carry it across an
 * integer and truncation is the integer floor. */
AVX2 static void shiftgelu_row_avx2(const int8_t *in, int n, int32_t i0, int8_t *out)
{
    const __m256i i0v = _mm256_set1_epi32(i0), zero = _mm256_setzero_si256();
    const __m256 i0f = _mm256_set1_ps((float)i0);
    const __m256d two15 = _mm256_set1_pd(32768.0);
    const __m256i gather = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(in + j)));
        __m256i p = _mm256_add_epi32(_mm256_add_epi32(v, _mm256_srai_epi32(v, 1)),
                                     _mm256_add_epi32(_mm256_srai_epi32(v, 3), _mm256_srai_epi32(v, 4)));
        __m256i m = _mm256_max_epi32(p, zero);
        __m256i e1 = shift_exp8(_mm256_sub_epi32(p, m), i0v, i0f);
        __m256i e2 = shift_exp8(_mm256_sub_epi32(zero, m), i0v, i0f);
        __m256d a0 = _mm256_cvtepi32_pd(_mm256_castsi256_si128(e1)), a1 = _mm256_cvtepi32_pd(_mm256_extracti128_si256(e1, 1));
        __m256d b0 = _mm256_add_pd(a0, _mm256_cvtepi32_pd(_mm256_castsi256_si128(e2)));
        __m256d b1 = _mm256_add_pd(a1, _mm256_cvtepi32_pd(_mm256_extracti128_si256(e2, 1)));
        __m128i s0 = _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_mul_pd(a0, two15), b0));
        __m128i s1 = _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_mul_pd(a1, two15), b1));
        __m256i sig = _mm256_set_m128i(s1, s0);
        __m256i y = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(v, sig), _mm256_set1_epi32(1 << 14)), 15);
        __m256i y16 = _mm256_packs_epi32(y, y);
        __m256i y8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(y16, y16), gather);
        _mm_storel_epi64((__m128i *)(out + j), _mm256_castsi256_si128(y8));
    }
    for (; j < n; j++)
        out[j] = shiftgelu_one(in[j], i0);
}

AVX2 static void shiftmax_row_avx2(const int8_t *in, int n, int32_t i0, int8_t *out, int32_t *tmp)
{
    int32_t mx = -128;
    for (int j = 0; j < n; j++)
        mx = in[j] > mx ? in[j] : mx;
    const __m256i i0v = _mm256_set1_epi32(i0), mxv = _mm256_set1_epi32(mx);
    const __m256 i0f = _mm256_set1_ps((float)i0);
    int64_t sum = 0;
    int j = 0;
    __m256i acc_lo = _mm256_setzero_si256(), acc_hi = acc_lo;
    for (; j + 8 <= n; j += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(in + j));
        __m256i e = shift_exp8(_mm256_sub_epi32(_mm256_cvtepi8_epi32(b), mxv), i0v, i0f);
        _mm256_storeu_si256((__m256i *)(tmp + j), e);
        /* 64-bit sums: e < 2^30 and rows are long */
        acc_lo = _mm256_add_epi64(acc_lo, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(e)));
        acc_hi = _mm256_add_epi64(acc_hi, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(e, 1)));
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(acc_lo, acc_hi));
    sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; j < n; j++) {
        tmp[j] = shift_exp(in[j] - mx, i0);
        sum += tmp[j];
    }
    const int64_t factor = ((int64_t)1 << 31) / sum;
    for (j = 0; j < n; j++)
        out[j] = (int8_t)(((int64_t)tmp[j] * factor * 127 + ((int64_t)1 << 30)) >> 31);
}
#endif

/* ---- float counterparts ---------------------------------------------------------------------- */

static void softmax_row_f32(const float *x, int n, float *y)
{
    float mx = -INFINITY, sum = 0;
    for (int j = 0; j < n; j++)
        mx = fmaxf(mx, x[j]);
    for (int j = 0; j < n; j++) {
        y[j] = expf(x[j] - mx);
        sum += y[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < n; j++)
        y[j] *= inv;
}

static void gelu_row_f32(const float *x, int n, float *y)
{
    for (int j = 0; j < n; j++)
        y[j] = 0.5f * x[j] * (1.0f + erff(x[j] * 0.70710678f));
}

static void layernorm_row_f32(const float *x, int n, float *y)
{
    float mean = 0, var = 0;
    for (int j = 0; j < n; j++)
        mean += x[j];
    mean /= (float)n;
    for (int j = 0; j < n; j++)
        var += (x[j] - mean) * (x[j] - mean);
    var /= (float)n;
    const float inv = 1.0f / sqrtf(var + (float)IVIT_LN_EPS);
    for (int j = 0; j < n; j++)
        y[j] = (x[j] - mean) * inv;
}

/* ---- the row operators for composite kernels (ivit.h) ---------------------------------------- */

int ivit_simd_available(void)
{
#if defined(__x86_64__)
    return kb_cpu_has(QUANT_AVX2_NEEDS);
#else
    return 0;
#endif
}

void ivit_shiftmax_row(const int8_t *in, int n, int32_t i0, int8_t *out, int32_t *tmp)
{
#if defined(__x86_64__)
    if (tmp && ivit_simd_available()) {
        shiftmax_row_avx2(in, n, i0, out, tmp);
        return;
    }
#endif
    (void)tmp;
    shiftmax_row(in, n, i0, out);
}

void ivit_shiftgelu_row(const int8_t *in, int n, int32_t i0, int8_t *out, int simd)
{
#if defined(__x86_64__)
    if (simd && ivit_simd_available()) {
        shiftgelu_row_avx2(in, n, i0, out);
        return;
    }
#endif
    (void)simd;
    shiftgelu_row(in, n, i0, out);
}

void ivit_layernorm_row(const int8_t *in, int n, int8_t *out)
{
    layernorm_row(in, n, out);
}


void ivit_softmax_row_f32(const float *x, int n, float *y)
{
    softmax_row_f32(x, n, y);
}

void ivit_gelu_row_f32(const float *x, int n, float *y)
{
    gelu_row_f32(x, n, y);
}

void ivit_layernorm_row_f32(const float *x, int n, float *y)
{
    layernorm_row_f32(x, n, y);
}

/* ---- implementations: @cpu (i8) and @cpu.f32 --------------------------------------------------- */

enum ivit_op ivit_op_of(const struct kb_operation *op)
{
    return op == &kb_op_quant_ivit_shiftmax ? IVIT_SHIFTMAX
         : op == &kb_op_quant_ivit_shiftgelu ? IVIT_SHIFTGELU : IVIT_LAYERNORM;
}

int ivit_prepare(const struct kb_case *c, int32_t *i0, char *err, size_t errlen)
{
    const char *name = c->kernel->name, *impl = c->kernel->impl;
    const enum ivit_op op = ivit_op_of(c->kernel->op);
    *i0 = 0;
    if (c->dtype != KB_DTYPE_I8)
        return KB_OK;
    if (op == IVIT_LAYERNORM && c->shape.n > IVIT_LN_MAX_N) {
        snprintf(err, errlen, "%s@%s: n = %d exceeds %d, past which I-LayerNorm's int32 sums may overflow", name, impl,
                 c->shape.n, IVIT_LN_MAX_N);
        return KB_UNSUPPORTED;
    }
    const float s = *(const float *)c->io.tensor[KB_IVIT_X_SCALE].data;
    const double i = nearbyint(1.0 / s);
    if (op != IVIT_LAYERNORM && (i < 1 || i > (1 << 15))) {
        /* |x| up to hundreds (outlier channels) leaves less than one integer step per unit of
         * the exponent: the shift-exp cannot represent e^x at all */
        snprintf(err, errlen, "%s@%s: input scale %g gives I_0 = round(1/S) = %.0f outside [1, 2^15] (input range too wide for the shift-exp)",
                 name, impl, s, i);
        return KB_UNSUPPORTED;
    }
    *i0 = (int32_t)i;
    return KB_OK;
}

static void ivit_teardown(struct kb_case *c)
{
    free(c->state);
    c->state = NULL;
}

static int ivit_setup(struct kb_case *c, char *err, size_t errlen)
{
    int32_t i0;
    int rc = ivit_prepare(c, &i0, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct ivit_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", c->kernel->name);
        return KB_ERROR;
    }
    c->state = st;
    st->op = ivit_op_of(c->kernel->op);
    st->integer = c->dtype == KB_DTYPE_I8;
    st->m = c->shape.m, st->n = c->shape.n;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->i0 = i0;
    if (st->integer) {
        st->xi = kb_input(c, KB_IVIT_X);
        st->yi = kb_output(c, KB_IVIT_Y);
    } else {
        st->x = kb_input(c, KB_IVIT_X);
        st->y = kb_output(c, KB_IVIT_Y);
    }
#if defined(__x86_64__)
    st->use_avx2 = kb_cpu_has(QUANT_AVX2_NEEDS);
#endif
    return KB_OK;
}

/* Out of line, as it was when verify called it too: inlined into ivit_run's row loop it changed
 * the code around the float rows' calls, and the float kernels' timings with it (5-10% on small
 * rows on a busy VM), which would have set them apart from stored runs for no reason of theirs. */
__attribute__((noinline)) static void int_row(const struct ivit_state *st, int i, int8_t *out, int32_t *tmp)
{
    const int8_t *in = st->xi + (size_t)i * st->n;
    switch (st->op) {
    case IVIT_SHIFTMAX:
#if defined(__x86_64__)
        if (st->use_avx2 && tmp) {
            shiftmax_row_avx2(in, st->n, st->i0, out, tmp);
            return;
        }
#endif
        (void)tmp;
        shiftmax_row(in, st->n, st->i0, out);
        return;
    case IVIT_SHIFTGELU:
#if defined(__x86_64__)
        if (st->use_avx2 && tmp) {
            shiftgelu_row_avx2(in, st->n, st->i0, out);
            return;
        }
#endif
        shiftgelu_row(in, st->n, st->i0, out);
        return;
    case IVIT_LAYERNORM: layernorm_row(in, st->n, out); return;
    }
}

static int ivit_run(struct kb_case *c)
{
    struct ivit_state *st = c->state;
    int failed = 0;
#pragma omp parallel num_threads(st->nthreads) reduction(| : failed)
    {
        int32_t *tmp = st->integer ? malloc((size_t)st->n * sizeof(int32_t)) : NULL;
        failed |= st->integer && !tmp;
#pragma omp for schedule(static)
        for (int i = 0; i < st->m; i++) {
            if (failed)
                continue;
            if (st->integer) {
                int_row(st, i, st->yi + (size_t)i * st->n, tmp);
                continue;
            }
            const float *x = st->x + (size_t)i * st->n;
            float *y = st->y + (size_t)i * st->n;
            if (st->op == IVIT_SHIFTMAX)
                softmax_row_f32(x, st->n, y);
            else if (st->op == IVIT_SHIFTGELU)
                gelu_row_f32(x, st->n, y);
            else
                layernorm_row_f32(x, st->n, y);
        }
        free(tmp);
    }
    if (failed) {
        snprintf(c->error, sizeof c->error, "%s: out of memory for a row buffer", c->kernel->name);
        return KB_ERROR;
    }
    return KB_OK;
}

/* The integer implementations' own check (@cpu, @cuda): every output code against the scalar
 * emulation of the same integer arithmetic (which the AVX2 and GPU paths must match). */
int ivit_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const enum ivit_op op = ivit_op_of(c->kernel->op);
    const int m = c->shape.m, n = c->shape.n;
    const float s = *(const float *)c->io.tensor[KB_IVIT_X_SCALE].data;
    const int32_t i0 = (int32_t)nearbyint(1.0 / s); /* as ivit_prepare, which accepted it */
    const int8_t *x = c->io.tensor[KB_IVIT_X].data, *y = c->io.tensor[KB_IVIT_Y].data;
    int8_t *emu = malloc((size_t)n);
    if (!emu)
        return KB_ERROR;
    long mismatches = 0;
    for (int i = 0; i < m; i++) {
        const int8_t *in = x + (size_t)i * n, *got = y + (size_t)i * n;
        switch (op) {
        case IVIT_SHIFTMAX: shiftmax_row(in, n, i0, emu); break;
        case IVIT_SHIFTGELU: shiftgelu_row(in, n, i0, emu); break;
        case IVIT_LAYERNORM: layernorm_row(in, n, emu); break;
        }
        for (int j = 0; j < n; j++)
            mismatches += got[j] != emu[j];
    }
    free(emu);
    acc->exact_checked = (long)m * n;
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
    return KB_OK;
}

#define IVIT_KERNEL(var, o, im, dt, chk, desc)                                                   \
    const struct kb_kernel var = {                                                             \
        .name = "quant." #o, .impl = im, .description = desc, .device = KB_DEVICE_CPU,         \
        .dtypes = KB_DTYPE_BIT(dt), .axes = QUANT_AXES_ROWS, .setup = ivit_setup,              \
        .run = ivit_run, .teardown = ivit_teardown, .op = &kb_op_quant_##o, .check = chk,      \
    }

IVIT_KERNEL(kb_quant_ivit_shiftmax_cpu, ivit_shiftmax, "cpu", KB_DTYPE_I8, ivit_check,
            "I-ViT Shiftmax: integer-only softmax by bit shifts, int8 in/out (AVX2)");
IVIT_KERNEL(kb_quant_ivit_shiftgelu_cpu, ivit_shiftgelu, "cpu", KB_DTYPE_I8, ivit_check,
            "I-ViT ShiftGELU: x·sigmoid(1.702x) by shift-exp, int8 in/out");
IVIT_KERNEL(kb_quant_ivit_layernorm_cpu, ivit_layernorm, "cpu", KB_DTYPE_I8, ivit_check,
            "I-ViT I-LayerNorm: integer mean/variance, Newton integer sqrt, int8 in/out");
IVIT_KERNEL(kb_quant_ivit_shiftmax_f32, ivit_shiftmax, "cpu.f32", KB_DTYPE_F32, NULL,
            "float32 softmax (expf): the float counterpart of Shiftmax");
IVIT_KERNEL(kb_quant_ivit_shiftgelu_f32, ivit_shiftgelu, "cpu.f32", KB_DTYPE_F32, NULL,
            "float32 GELU (erf): the float counterpart of ShiftGELU");
IVIT_KERNEL(kb_quant_ivit_layernorm_f32, ivit_layernorm, "cpu.f32", KB_DTYPE_F32, NULL,
            "float32 LayerNorm: the float counterpart of I-LayerNorm");
