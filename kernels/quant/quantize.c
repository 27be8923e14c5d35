/* quantize.c - quant.quantize@cpu: symmetric quantize + dequantize of an M×K float32 matrix.
 *
 * Scale per tensor, per channel (one per row: an output channel of a weight, a token of an
 * activation) or per group of `group` consecutive elements of a row (the last group of a row
 * may be short). scale = absmax / qmax in float32; code = RNE(x · (1/scale)) clamped to ±qmax
 * (i8, i4) or the FP8 encoding of x · (1/scale) (e4m3, e5m2; fp8.c); dequantized = code · scale.
 * INT4 codes are packed two per byte, low nibble first, rows padded to whole bytes.
 *
 * One pass per row (parallel over rows): block abs-max, then codes and dequantized values;
 * per-tensor scales need a parallel abs-max pass first. The integer formats take an AVX2 path
 * (float multiply, clamp, convert with the default round-to-nearest-even mode: the same float32
 * operations as the scalar emulation, so the codes are identical); FP8 encodes element by
 * element with integer bit arithmetic.
 *
 * It implements the operation kb_op_quant_quantize (quantize_op.c, which verifies: codes and
 * scales bit for bit against quant_quantize_emulate, the dequantized matrix against the float64
 * input), writing straight into the case's outputs. */
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_ops.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/quant/fp8.h"

/* The case's operands (the harness owns them) and what setup derives once. */
struct quantize_state {
    const float *x;
    float *deq, *scales;
    uint8_t *codes;
    size_t rb;
    int use_avx2;
    float decode[256]; /* FP8 code → value: the dequantization step of the FP8 formats */
};

/* ---- block kernels -------------------------------------------------------------------------- */

static float absmax_scalar(const float *x, int n)
{
    float m = 0;
    for (int j = 0; j < n; j++)
        m = fmaxf(m, fabsf(x[j]));
    return m;
}

/* Integer codes of one block into q (int8 values), dequantized into deq. */
static void block_int_scalar(const float *x, int n, float inv, float sc, float qmax, int8_t *q, float *deq)
{
    for (int j = 0; j < n; j++) {
        float v = x[j] * inv;
        v = v > qmax ? qmax : v < -qmax ? -qmax : v == v ? v : 0.0f;
        q[j] = (int8_t)nearbyintf(v);
        deq[j] = (float)q[j] * sc;
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))
AVX2 static float absmax_avx2(const float *x, int n)
{
    const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 m0 = _mm256_setzero_ps(), m1 = m0;
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        m0 = _mm256_max_ps(m0, _mm256_and_ps(_mm256_loadu_ps(x + j), mask));
        m1 = _mm256_max_ps(m1, _mm256_and_ps(_mm256_loadu_ps(x + j + 8), mask));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
    float m = absmax_scalar(x + j, n - j);
    for (int i = 0; i < 8; i++)
        m = fmaxf(m, lanes[i]);
    return m;
}

AVX2 static void block_int_avx2(const float *x, int n, float inv, float sc, float qmax, int8_t *q, float *deq)
{
    const __m256 vinv = _mm256_set1_ps(inv), vsc = _mm256_set1_ps(sc);
    const __m256 hi = _mm256_set1_ps(qmax), lo = _mm256_set1_ps(-qmax);
    const __m256i gather = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j), vinv);
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        __m256i i32 = _mm256_cvtps_epi32(v); /* MXCSR default: round to nearest even */
        _mm256_storeu_ps(deq + j, _mm256_mul_ps(_mm256_cvtepi32_ps(i32), vsc));
        __m256i i16 = _mm256_packs_epi32(i32, i32);  /* [0..3 0..3 | 4..7 4..7] */
        __m256i i8 = _mm256_packs_epi16(i16, i16);   /* bytes 0..3 in each lane */
        i8 = _mm256_permutevar8x32_epi32(i8, gather); /* dwords 0 and 4 side by side */
        _mm_storel_epi64((__m128i *)(q + j), _mm256_castsi256_si128(i8));
    }
    block_int_scalar(x + j, n - j, inv, sc, qmax, q + j, deq + j);
}
#endif

static float absmax(const struct quantize_state *st, const float *x, int n)
{
#if defined(__x86_64__)
    if (st->use_avx2)
        return absmax_avx2(x, n);
#endif
    (void)st;
    return absmax_scalar(x, n);
}

static void block_codes(const struct quantize_state *st, enum kb_dtype t, const float *x, int j0, int n,
                        float sc, uint8_t *crow, float *deq, int8_t *tmp)
{
    const float inv = 1.0f / sc;
    if (t == KB_DTYPE_I8 || t == KB_DTYPE_I4) {
        int8_t *q = t == KB_DTYPE_I8 ? (int8_t *)crow + j0 : tmp;
        float qmax = (float)quant_qmax(t);
#if defined(__x86_64__)
        if (st->use_avx2)
            block_int_avx2(x + j0, n, inv, sc, qmax, q, deq + j0);
        else
#endif
            block_int_scalar(x + j0, n, inv, sc, qmax, q, deq + j0);
        if (t == KB_DTYPE_I4)
            for (int j = 0; j < n; j++)
                quant_i4_put(crow, j0 + j, q[j]);
        return;
    }
    const enum fp8_format f = t == KB_DTYPE_FP8_E4M3 ? FP8_E4M3 : FP8_E5M2;
    for (int j = j0; j < j0 + n; j++) {
        uint8_t c = fp8_encode(x[j] * inv, f); /* = quant_code(x[j], inv, t) */
        crow[j] = c;
        deq[j] = st->decode[c] * sc;
    }
}

/* ---- implementation ------------------------------------------------------------------------- */

static void quantize_teardown(struct kb_case *c)
{
    free(c->state);
    c->state = NULL;
}

static int quantize_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct quantize_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "quant.quantize: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->x = kb_input(c, KB_QUANTIZE_X);
    st->codes = kb_output(c, KB_QUANTIZE_CODES);
    st->scales = kb_output(c, KB_QUANTIZE_SCALES);
    st->deq = kb_output(c, KB_QUANTIZE_DEQ);
    st->rb = quant_row_bytes(c->shape.k, c->dtype);
#if defined(__x86_64__)
    st->use_avx2 = kb_cpu_has(QUANT_AVX2_NEEDS);
#endif
    for (int code = 0; code < 256; code++)
        st->decode[code] = quant_decode((uint8_t)code, c->dtype);
    return KB_OK;
}

static int quantize_run(struct kb_case *c)
{
    struct quantize_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const enum kb_dtype t = c->dtype;
    const int m = s->m, k = s->k, g = quant_scale_cols(s);
    const int groups = (k + g - 1) / g;
    const int nt = c->threads > 0 ? c->threads : 1;

    if (s->granularity == KB_GRAN_TENSOR) {
        float amax = 0;
#pragma omp parallel for num_threads(nt) reduction(max : amax) schedule(static)
        for (int i = 0; i < m; i++)
            amax = fmaxf(amax, absmax(st, st->x + (size_t)i * k, k));
        st->scales[0] = quant_scale(amax, t);
    }
    int failed = 0;
#pragma omp parallel num_threads(nt) reduction(| : failed)
    {
        int8_t *tmp = t == KB_DTYPE_I4 ? malloc((size_t)g) : NULL;
        failed |= t == KB_DTYPE_I4 && !tmp;
#pragma omp for schedule(static)
        for (int i = 0; i < m; i++) {
            if (failed)
                continue;
            const float *xr = st->x + (size_t)i * k;
            uint8_t *cr = st->codes + (size_t)i * st->rb;
            if (t == KB_DTYPE_I4)
                memset(cr, 0, st->rb);
            for (int gi = 0; gi < groups; gi++) {
                int j0 = gi * g, n = j0 + g < k ? g : k - j0;
                float sc;
                if (s->granularity == KB_GRAN_TENSOR) {
                    sc = st->scales[0];
                } else {
                    sc = quant_scale(absmax(st, xr + j0, n), t);
                    st->scales[(size_t)i * groups + gi] = sc;
                }
                block_codes(st, t, xr, j0, n, sc, cr, st->deq + (size_t)i * k, tmp);
            }
        }
        free(tmp);
    }
    if (failed) {
        snprintf(c->error, sizeof c->error, "quant.quantize: out of memory for a row buffer");
        return KB_ERROR;
    }
    return KB_OK;
}

const struct kb_kernel kb_quant_quantize_cpu = {
    .name = "quant.quantize",
    .impl = "cpu",
    .description = "symmetric quantize+dequantize per tensor/channel/group to i8, i4 (packed), fp8 e4m3/e5m2",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_I4) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3) |
              KB_DTYPE_BIT(KB_DTYPE_FP8_E5M2),
    .axes = QUANT_AXES_QUANTIZE,
    .setup = quantize_setup,
    .run = quantize_run,
    .teardown = quantize_teardown,
    .op = &kb_op_quant_quantize,
};
