/* fp4_quantize.c - quant.fp4_quantize@cpu: MXFP4 / NVFP4 quantize + dequantize of an M×K float32
 * matrix (quant_ops.h, fp4.h), threaded over rows.
 *
 * NVFP4 first reduces the tensor's finite abs-max in parallel (its float32 scale). Then each
 * row, block by block: abs-max, the block's scale code (scalar: one per 16 or 32 elements), and
 * the codes. The AVX-512 path encodes 16 elements at a time with the same float32 operations
 * as fp4.c (a multiply by 2^-e or a division by s_b·s_t, then seven compares with the grid's
 * midpoints, each adding one step), so its codes are bit for bit the scalar ones; the
 * dequantized values come from a 16-entry table (vpermps) times the same scales. NVFP4 goes 16
 * blocks at a time: their abs-maxes, FP8 scale codes (fp8_encode's integer steps in vector
 * lanes) and decoded scales in one pass, so the blocks' scalar scale chains no longer run one
 * after another. A block that is short, non-finite or has a zero NV scale takes the scalar
 * definition (fp4_quantize_block).
 */
#include "kernels/quant/fp4.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_ops.h"
#include "kernels/cpu_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

struct fp4q_state {
    int use_avx512;
};

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f")))

/* The largest finite |x| of a row (NVFP4's tensor amax), 16 lanes at a time */
AVX512 static float finite_absmax_avx512(const float *x, int n)
{
    __m512 m = _mm512_setzero_ps();
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512 v = _mm512_loadu_ps(x + j);
        const __mmask16 finite = _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_EQ_OQ);
        m = _mm512_mask_max_ps(m, finite, m, _mm512_abs_ps(v));
    }
    return fmaxf(_mm512_reduce_max_ps(m), fp4_finite_absmax(x + j, (size_t)(n - j)));
}

/* Codes of 16 scaled values v (finite): the number of grid midpoints below |v|, and the sign */
AVX512 static __m512i encode16(__m512 v)
{
    const __m512 a = _mm512_abs_ps(v);
    __m512i code = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi32(1);
#define STEP(th, pred) code = _mm512_mask_add_epi32(code, _mm512_cmp_ps_mask(a, _mm512_set1_ps(th), pred), code, one)
    STEP(0.25f, _CMP_GT_OQ);
    STEP(0.75f, _CMP_GE_OQ);
    STEP(1.25f, _CMP_GT_OQ);
    STEP(1.75f, _CMP_GE_OQ);
    STEP(2.5f, _CMP_GT_OQ);
    STEP(3.5f, _CMP_GE_OQ);
    STEP(5.0f, _CMP_GT_OQ);
#undef STEP
    __m512i sign = _mm512_slli_epi32(_mm512_srli_epi32(_mm512_castps_si512(v), 31), 3);
    return _mm512_or_si512(code, sign);
}

/* 16 codes (one per int32 lane) packed into 8 bytes: lane 2p in the low nibble of byte p */
AVX512 static void pack16(__m512i code, uint8_t *dst)
{
    __m128i b = _mm512_cvtepi32_epi8(code); /* 16 bytes, one code each */
    __m128i lo = _mm_and_si128(b, _mm_set1_epi16(0x000F));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi16(0x00F0));
    __m128i packed = _mm_packus_epi16(_mm_or_si128(lo, hi), _mm_setzero_si128());
    _mm_storel_epi64((__m128i *)dst, packed);
}

/* A whole block of n = 16 or 32 elements starting at an even column j0; returns 0 when the
 * block must take the scalar path (non-finite, or an NV scale of 0), else 1 with *sc set. */
AVX512 static int block_avx512(const float *x, int n, enum kb_dtype t, float s_t, uint8_t *row, int j0, float *deq,
                               uint8_t *sc)
{
    __m512 amax = _mm512_setzero_ps();
    __mmask16 finite = 0xFFFF;
    for (int h = 0; h < n; h += 16) {
        __m512 v = _mm512_loadu_ps(x + h);
        finite &= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_EQ_OQ);
        amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
    }
    if (finite != 0xFFFF)
        return 0;
    const float am = _mm512_reduce_max_ps(amax);
    const int nv = t == KB_DTYPE_NVFP4;
    *sc = nv ? fp4_nv_scale_code(am, s_t) : fp4_mx_scale_code(am);
    const float sv = fp4_scale_value(*sc, t);
    if (sv == 0)
        return 0;
    const __m512 lut = _mm512_loadu_ps(fp4_e2m1_value);
    const __m512 vsv = _mm512_set1_ps(sv), vst = _mm512_set1_ps(s_t);
    /* MX: the exact multiply by 2^-e (1/sv, a normal float32); NV: the division by s_b·s_t */
    const __m512 mul = _mm512_set1_ps(nv ? 0 : 1.0f / sv), den = _mm512_set1_ps(nv ? sv * s_t : 1);
    for (int h = 0; h < n; h += 16) {
        __m512 xv = _mm512_loadu_ps(x + h);
        __m512i code = encode16(nv ? _mm512_div_ps(xv, den) : _mm512_mul_ps(xv, mul));
        pack16(code, row + (j0 + h) / 2);
        __m512 val = _mm512_mul_ps(_mm512_permutexvar_ps(code, lut), vsv);
        _mm512_storeu_ps(deq + h, nv ? _mm512_mul_ps(val, vst) : val);
    }
    return 1;
}

/* fp8_encode(s, FP8_E4M3) for 16 finite s >= 0 at once, with the same integer steps (fp8.c):
 * the significand shifted right to the E4M3 quantum at its magnitude, rounded to nearest even
 * on the bits shifted out, above 448 the largest finite code. */
AVX512 static __m512i e4m3_encode16(__m512 s)
{
    const __m512i bits = _mm512_castps_si512(s);
    const __m512i biased = _mm512_srli_epi32(bits, 23), frac = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFF));
    const __mmask16 normal = _mm512_cmpneq_epi32_mask(biased, _mm512_setzero_si512());
    const __m512i e = _mm512_mask_sub_epi32(_mm512_set1_epi32(-126), normal, biased, _mm512_set1_epi32(127));
    const __m512i sig = _mm512_mask_or_epi32(frac, normal, frac, _mm512_set1_epi32(0x800000));
    const __m512i emin = _mm512_set1_epi32(-6), one = _mm512_set1_epi32(1);
    const __m512i ee = _mm512_max_epi32(e, emin);
    const __m512i shift = _mm512_add_epi32(_mm512_sub_epi32(ee, e), _mm512_set1_epi32(20)); /* >= 20 */
    __m512i n = _mm512_srlv_epi32(sig, shift); /* 0 for shifts of 32 and more */
    const __m512i rest = _mm512_and_si512(sig, _mm512_sub_epi32(_mm512_sllv_epi32(one, shift), one));
    const __m512i half = _mm512_sllv_epi32(one, _mm512_sub_epi32(shift, one));
    const __mmask16 small = _mm512_cmplt_epi32_mask(shift, _mm512_set1_epi32(32));
    const __mmask16 up = _mm512_cmpgt_epu32_mask(rest, half) |
                         (_mm512_cmpeq_epi32_mask(rest, half) & _mm512_test_epi32_mask(n, one));
    n = _mm512_mask_add_epi32(n, up & small, n, one);
    n = _mm512_maskz_mov_epi32(small, n);
    __m512i code = _mm512_add_epi32(_mm512_slli_epi32(_mm512_sub_epi32(ee, emin), 3), n);
    code = _mm512_min_epi32(code, _mm512_set1_epi32(0x7E));
    const __mmask16 over = _mm512_cmp_ps_mask(s, _mm512_set1_ps(448.0f), _CMP_GT_OQ);
    const __mmask16 zero = _mm512_cmpeq_epi32_mask(bits, _mm512_setzero_si512());
    code = _mm512_mask_mov_epi32(code, over, _mm512_set1_epi32(0x7E));
    return _mm512_maskz_mov_epi32((__mmask16)~zero, code);
}

/* fp8_decode(code, FP8_E4M3) for 16 codes in 0..0x7E */
AVX512 static __m512 e4m3_decode16(__m512i code)
{
    const __m512i efield = _mm512_srli_epi32(code, 3), m = _mm512_and_si512(code, _mm512_set1_epi32(7));
    const __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(m), _mm512_set1_ps(0x1p-9f));
    const __m512i nbits = _mm512_or_si512(_mm512_slli_epi32(_mm512_add_epi32(efield, _mm512_set1_epi32(120)), 23),
                                          _mm512_slli_epi32(m, 20));
    const __mmask16 normal = _mm512_cmpneq_epi32_mask(efield, _mm512_setzero_si512());
    return _mm512_mask_mov_ps(sub, normal, _mm512_castsi512_ps(nbits));
}

/* 16 whole NVFP4 blocks (256 elements from an even column j0) with their scales found together:
 * the blocks' abs-maxes are independent reductions and the FP8 scale codes one vector pass, so
 * no block waits on the one before. Returns 0 (nothing written) when a value is not finite or a
 * scale decodes to 0: those blocks then take the one-block path. */
AVX512 static int nv_group_avx512(const float *x, float s_t, uint8_t *row, int j0, float *deq, uint8_t *sc)
{
    float am[16];
    __mmask16 finite = 0xFFFF;
    for (int b = 0; b < 16; b++) {
        const __m512 v = _mm512_loadu_ps(x + 16 * b);
        finite &= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_EQ_OQ);
        am[b] = _mm512_reduce_max_ps(_mm512_abs_ps(v));
    }
    if (finite != 0xFFFF)
        return 0;
    const __m512 vst = _mm512_set1_ps(s_t);
    /* fp4_nv_scale_code: amax / 6 / s_t, encoded */
    const __m512i code = e4m3_encode16(_mm512_div_ps(_mm512_div_ps(_mm512_loadu_ps(am), _mm512_set1_ps(6.0f)), vst));
    const __m512 sv = e4m3_decode16(code);
    if (_mm512_cmp_ps_mask(sv, _mm512_setzero_ps(), _CMP_EQ_OQ))
        return 0;
    float svs[16], dens[16];
    _mm512_storeu_ps(svs, sv);
    _mm512_storeu_ps(dens, _mm512_mul_ps(sv, vst));
    _mm_storeu_si128((__m128i *)sc, _mm512_cvtepi32_epi8(code));
    const __m512 lut = _mm512_loadu_ps(fp4_e2m1_value);
    for (int b = 0; b < 16; b++) {
        const __m512 xv = _mm512_loadu_ps(x + 16 * b);
        const __m512i c = encode16(_mm512_div_ps(xv, _mm512_set1_ps(dens[b])));
        pack16(c, row + (j0 + 16 * b) / 2);
        const __m512 val = _mm512_mul_ps(_mm512_permutexvar_ps(c, lut), _mm512_set1_ps(svs[b]));
        _mm512_storeu_ps(deq + 16 * b, _mm512_mul_ps(val, vst));
    }
    return 1;
}
#endif

static void row_quantize(const struct fp4q_state *st, const float *x, int k, enum kb_dtype t, float s_t, uint8_t *row,
                         uint8_t *scales, float *deq)
{
    const int b = fp4_block(t), nb = fp4_blocks(k, t);
    for (int bi = 0; bi < nb; bi++) {
        const int j0 = bi * b, n = j0 + b <= k ? b : k - j0;
#if defined(__x86_64__)
        if (st->use_avx512 && t == KB_DTYPE_NVFP4 && bi % 16 == 0 && j0 + 256 <= k &&
            nv_group_avx512(x + j0, s_t, row, j0, deq + j0, &scales[bi])) {
            bi += 15;
            continue;
        }
        if (st->use_avx512 && n == b && block_avx512(x + j0, n, t, s_t, row, j0, deq + j0, &scales[bi]))
            continue;
#else
        (void)st;
#endif
        scales[bi] = fp4_quantize_block(x + j0, n, t, s_t, row, j0, deq + j0);
    }
}

static int fp4q_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct fp4q_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "quant.fp4_quantize: out of memory");
        return KB_ERROR;
    }
#if defined(__x86_64__)
    /* 1/2^e must be a normal float for the MX multiply: it is (fp4.c), so no other condition */
    st->use_avx512 = kb_cpu_has(KB_CPU_AVX512F);
#endif
    c->state = st;
    return KB_OK;
}

static int fp4q_run(struct kb_case *c)
{
    const struct fp4q_state *st = c->state;
    const int m = c->shape.m, k = c->shape.k, nb = fp4_blocks(k, c->dtype), nt = c->threads > 0 ? c->threads : 1;
    const enum kb_dtype t = c->dtype;
    const float *x = kb_input(c, KB_FP4Q_X);
    uint8_t *codes = kb_output(c, KB_FP4Q_CODES), *scales = kb_output(c, KB_FP4Q_SCALES);
    float *deq = kb_output(c, KB_FP4Q_DEQ), *ts = kb_output(c, KB_FP4Q_TENSOR_SCALE);
    const size_t rb = fp4_row_bytes(k);
    float s_t = 1.0f;
    if (t == KB_DTYPE_NVFP4) {
        float amax = 0;
#pragma omp parallel for num_threads(nt) reduction(max : amax) schedule(static)
        for (int i = 0; i < m; i++) {
#if defined(__x86_64__)
            if (st->use_avx512) {
                amax = fmaxf(amax, finite_absmax_avx512(x + (size_t)i * k, k));
                continue;
            }
#endif
            amax = fmaxf(amax, fp4_finite_absmax(x + (size_t)i * k, (size_t)k));
        }
        s_t = fp4_nv_tensor_scale(amax);
    }
    *ts = s_t;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < m; i++) {
        uint8_t *row = codes + (size_t)i * rb;
        if (k & 1)
            row[rb - 1] = 0; /* the padding nibble */
        row_quantize(st, x + (size_t)i * k, k, t, s_t, row, scales + (size_t)i * nb, deq + (size_t)i * k);
    }
    return KB_OK;
}

static void fp4q_teardown(struct kb_case *c)
{
    free(c->state);
    c->state = NULL;
}

const struct kb_kernel kb_quant_fp4_quantize_cpu = {
    .name = "quant.fp4_quantize",
    .impl = "cpu",
    .description = "MXFP4 / NVFP4 quantize + dequantize, threaded, AVX-512 encode (compare-count) or scalar",
    .op = &kb_op_quant_fp4_quantize,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_MXFP4) | KB_DTYPE_BIT(KB_DTYPE_NVFP4),
    .setup = fp4q_setup,
    .run = fp4q_run,
    .teardown = fp4q_teardown,
    .stats = fp4_quantize_stats,
};
