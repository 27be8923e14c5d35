/* test_attention_linear.c - the linear-attention kernels against their float64 definitions:
 * the two reference forms against each other; attention.linear@cpu (non-causal, causal chunked,
 * decay, both feature maps, GQA, N not a multiple of the chunk, every SIMD path this CPU runs,
 * one and two threads) and @cpu.naive against the long-double recurrence on every row; the
 * decode step against the causal kernel's last row; attention.gla against its recurrence;
 * planted mistakes that verify must catch; shape checks; the analytic counts' growth with N; the
 * operations' inputs (the bytes the kernels drew for themselves before, the same for every
 * implementation, rounded for 16-bit cases) and one count for every implementation;
 * attention.lightning (the un-normalised form): its two references against a direct O(N²) sum,
 * @cpu against the recurrence at chunks that do not divide N on every path, its decode step,
 * and wrong forms (the normalised one among them) that verify must fail. Cases are
 * driven through tests/kernel_case.h and harness/case.h, as the runner drives them.
 * (attention.softmax@cpu.blas: test_attention_softmax.c.) */
#ifdef HAVE_CONFIG_H
#include "tests/kernel_case.h"
#include "config.h"
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/case.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/lightning.h"
#ifdef HAVE_CUDA
#include "kernels/attention/lightning_cuda.h"
#endif
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/linear_ops.h"
#include "kernels/attention/qkv_operands.h"
#include "kernels/kernel.h"

/* The SIMD paths by kb_cpu_path (their names are kb_cpu_path_name's) and what each needs. */
static const char *const paths[KB_PATH_COUNT] = { "scalar", "avx2", "avx512" };
static const unsigned path_needs[KB_PATH_COUNT] = { 0, LINEAR_AVX2_NEEDS, LINEAR_AVX512_NEEDS };

/* relative L2 distance of a float output from a double reference */
static double rel_l2(const float *got, const double *ref, size_t n)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        e += (got[i] - ref[i]) * (got[i] - ref[i]);
        r += ref[i] * ref[i];
    }
    return r > 0 ? sqrt(e / r) : sqrt(e);
}

static struct kb_shape lin_shape(int b, int h, int hkv, int n, int d, int causal, int chunk, int feature, int decay)
{
    return (struct kb_shape){ .batch = b, .heads = h, .kv_heads = hkv, .seq_len = n, .head_dim = d,
                              .causal = causal, .chunk = chunk, .feature = feature, .decay = decay };
}

/* A long-double recurrence of every row of head (b, h) (linear_reference_recurrent's signature). */
typedef void (*recurrent_fn)(const struct kb_shape *s, const float *q, const float *k, const float *v, int b, int h,
                             double *out);

/* Every row of a case's output against its operation's long-double recurrence: the worst head's
 * relative L2 error. */
static double full_error(const struct kb_case *c, recurrent_fn recurrent)
{
    const struct kb_shape *s = &c->shape;
    struct kb_tensor q = case_tensor(c, "q"), k = case_tensor(c, "k"), v = case_tensor(c, "v");
    struct kb_tensor o = case_tensor(c, "o");
    size_t per_head = (size_t)s->seq_len * s->head_dim;
    double *ref = malloc(per_head * sizeof *ref), worst = 0;
    assert_non_null(ref);
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++) {
            recurrent(s, q.data, k.data, v.data, b, h, ref);
            double e = rel_l2((const float *)o.data + ((size_t)b * s->heads + h) * per_head, ref, per_head);
            worst = e > worst ? e : worst;
        }
    free(ref);
    return worst;
}

/* ---- the references agree with each other ------------------------------------------------- */

static void test_reference_forms_agree(void **state)
{
    (void)state;
    const struct kb_shape shapes[] = {
        lin_shape(1, 2, 1, 37, 8, 1, 1, KB_FEATURE_ELU1, 0),
        lin_shape(1, 2, 2, 37, 8, 0, 1, KB_FEATURE_RELU, 0),
        lin_shape(2, 4, 2, 50, 16, 1, 1, KB_FEATURE_RELU, 1),
        lin_shape(1, 8, 8, 40, 4, 1, 1, KB_FEATURE_ELU1, 1),
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct kb_case c = case_f32(&kb_attention_linear_cpu, shapes[i], 1, 11 + i);
        case_setup_ok(&c);
        const struct kb_shape *s = &c.shape;
        struct kb_tensor q = case_tensor(&c, "q"), k = case_tensor(&c, "k"), v = case_tensor(&c, "v");
        double *rec = malloc((size_t)s->seq_len * s->head_dim * sizeof *rec), row[64];
        for (int b = 0; b < s->batch; b++)
            for (int h = 0; h < s->heads; h++) {
                linear_reference_recurrent(s, q.data, k.data, v.data, b, h, rec);
                for (int r = 0; r < s->seq_len; r++) {
                    linear_reference_row(s, q.data, k.data, v.data, b, h, r, row);
                    for (int j = 0; j < s->head_dim; j++)
                        assert_true(fabs(row[j] - rec[(size_t)r * s->head_dim + j]) <= 1e-10 * (1 + fabs(row[j])));
                }
            }
        free(rec);
        case_teardown(&c);
    }
    /* GLA: closed form with cumulative log-gates against the recurrence */
    struct kb_shape gs = lin_shape(1, 2, 1, 60, 8, 1, 16, 0, 0);
    struct kb_case g = case_f32(&kb_attention_gla_cpu, gs, 1, 5);
    case_setup_ok(&g);
    struct kb_tensor q = case_tensor(&g, "q"), k = case_tensor(&g, "k"), v = case_tensor(&g, "v");
    struct kb_tensor gates = case_tensor(&g, "log_gates");
    double rec[60 * 8], row[8];
    for (int h = 0; h < 2; h++) {
        gla_reference_recurrent(&g.shape, q.data, k.data, v.data, gates.data, 0, h, rec);
        for (int r = 0; r < 60; r++) {
            gla_reference_row(&g.shape, q.data, k.data, v.data, gates.data, 0, h, r, row);
            for (int j = 0; j < 8; j++)
                assert_true(fabs(row[j] - rec[r * 8 + j]) <= 1e-10 * (1 + fabs(row[j])));
        }
    }
    case_teardown(&g);
}

/* ---- attention.linear@cpu and @cpu.naive ---------------------------------------------------- */

struct lin_case {
    struct kb_shape shape;
    int threads;
};

static const struct lin_case lin_cases[] = {
    { { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 100, .head_dim = 16, .causal = 1, .chunk = 32, .feature = KB_FEATURE_ELU1 }, 1 },
    { { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 77, .head_dim = 24, .causal = 1, .chunk = 16, .feature = KB_FEATURE_RELU, .decay = 1 }, 2 },
    { { .batch = 1, .heads = 3, .kv_heads = 1, .seq_len = 130, .head_dim = 33, .causal = 0, .chunk = 64, .feature = KB_FEATURE_ELU1 }, 2 },
    { { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 45, .head_dim = 64, .causal = 1, .chunk = 1000, .feature = KB_FEATURE_ELU1, .decay = 1 }, 1 },
    { { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 29, .head_dim = 7, .causal = 1, .chunk = 1, .feature = KB_FEATURE_RELU }, 1 },
    { { .batch = 1, .heads = 8, .kv_heads = 8, .seq_len = 200, .head_dim = 32, .causal = 1, .chunk = 48, .feature = KB_FEATURE_ELU1, .decay = 1 }, 2 },
    /* a chunk of 1000 with decay: head 0's λ^C about 2^-46, and a last chunk of 100 */
    { { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 1100, .head_dim = 16, .causal = 1, .chunk = 1000, .feature = KB_FEATURE_ELU1, .decay = 1 }, 1 },
};

static void test_linear_matches_recurrence_on_every_path(void **state)
{
    (void)state;
    struct case_paths run = case_paths_start("attention.linear@cpu");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&run, p, path_needs[p]))
            continue;
        assert_string_equal(linear_isa_best()->name, paths[p]); /* the mask chose it */
        for (size_t i = 0; i < sizeof lin_cases / sizeof lin_cases[0]; i++)
            for (uint64_t seed = 1; seed <= 2; seed++) {
                struct kb_case c =
                    case_f32(&kb_attention_linear_cpu, lin_cases[i].shape, lin_cases[i].threads, seed * 31 + i);
                case_setup_ok(&c);
                assert_int_equal(linear_cpu_use_path(&c, paths[p]), 0);
                assert_int_equal(kb_case_run(&c), KB_OK);
                double err = full_error(&c, linear_reference_recurrent);
                if (err > 2e-6)
                    fail_msg("path %s case %zu seed %llu: rel L2 %.3g against the recurrence", paths[p], i,
                             (unsigned long long)seed, err);
                struct kb_accuracy acc = case_verdict(&c);
                assert_true(acc.passed);
                assert_true(acc.rows_checked > 0);
                case_teardown(&c);
            }
    }
    case_paths_end(&run);
}

/* feature_transpose on every path this CPU runs equals the path's φ (feature) element by
 * element, transposed, at
 * sizes on and off the vector blocks (8 rows, 16 columns), with strides wider than the rows;
 * nothing outside the rows × cols block of dst is written. */
static void test_feature_transpose_on_every_path(void **state)
{
    (void)state;
    static const int sizes[][2] = { { 1, 1 }, { 7, 13 }, { 8, 16 }, { 9, 17 }, { 23, 40 }, { 64, 128 }, { 16, 5 } };
    for (int p = 0; p < KB_PATH_COUNT; p++) {
        const struct linear_isa *isa = linear_isa_by_name(paths[p]);
        if (!isa)
            continue;
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (int feature = KB_FEATURE_ELU1; feature <= KB_FEATURE_RELU; feature++) {
                const int rows = sizes[z][0], cols = sizes[z][1], lds = cols + 3, ldd = rows + 5;
                float *src = malloc(sizeof(float) * (size_t)rows * lds);
                float *dst = malloc(sizeof(float) * (size_t)cols * ldd);
                assert_non_null(src);
                assert_non_null(dst);
                for (int e = 0; e < rows * lds; e++) /* both signs, a wide range, some huge */
                    src[e] = (float)((e * 37 % 101) - 60) * (e % 7 == 0 ? 10.0f : 0.1f);
                for (int e = 0; e < cols * ldd; e++)
                    dst[e] = -12345.0f;
                float colsum[128 + 1];
                for (int j = 0; j <= cols; j++)
                    colsum[j] = 0.25f * (float)j; /* added to, not overwritten */
                isa->feature_transpose(feature, rows, cols, src, lds, dst, ldd, colsum);
                for (int j = 0; j < cols; j++)
                    for (int i = 0; i < ldd; i++) {
                        const float got = dst[(size_t)j * ldd + i];
                        if (i >= rows) {
                            assert_true(got == -12345.0f);
                            continue;
                        }
                        /* the path's own map, bit for bit; and φ itself, to float accuracy */
                        float want;
                        isa->feature(feature, src + (size_t)i * lds + j, &want, 1);
                        const float exact = linear_feature_f32(feature, src[(size_t)i * lds + j]);
                        if (got != want || fabsf(got - exact) > 1e-5f * fabsf(exact) + 1e-37f)
                            fail_msg("path %s %dx%d feature %d: [%d][%d] %.9g, its map %.9g, φ %.9g", paths[p], rows,
                                     cols, feature, j, i, got, want, exact);
                    }
                /* the column sums: each column's φ values (as transposed) added to what was there */
                for (int j = 0; j <= cols; j++) {
                    double sum = 0.25 * j, mag = 0.25 * j;
                    for (int i = 0; j < cols && i < rows; i++) {
                        sum += dst[(size_t)j * ldd + i];
                        mag += fabs(dst[(size_t)j * ldd + i]);
                    }
                    if (fabs(colsum[j] - sum) > 1e-6 * mag + 1e-30)
                        fail_msg("path %s %dx%d feature %d: column sum %d %.9g, want %.9g", paths[p], rows, cols,
                                 feature, j, colsum[j], sum);
                }
                free(src);
                free(dst);
            }
    }
}

/* feature_dot on every path this CPU runs: y is the path's own φ (feature) bit for bit, the
 * dots are the path's own row_dots of y with z bit for bit and φ(x)·z in float64 to float
 * accuracy, at sizes on and off the vectors (8, 16 lanes) with a row stride wider than the
 * rows; nothing past the m × k block of y is written. */
static void test_feature_dot_on_every_path(void **state)
{
    (void)state;
    static const int sizes[][2] = { { 1, 1 }, { 3, 7 }, { 5, 16 }, { 6, 17 }, { 2, 130 }, { 64, 128 } };
    for (int p = 0; p < KB_PATH_COUNT; p++) {
        const struct linear_isa *isa = linear_isa_by_name(paths[p]);
        if (!isa)
            continue;
        for (size_t q = 0; q < sizeof sizes / sizeof sizes[0]; q++)
            for (int feature = KB_FEATURE_ELU1; feature <= KB_FEATURE_RELU; feature++) {
                const int m = sizes[q][0], k = sizes[q][1], ldx = k + 3;
                float *x = malloc(sizeof(float) * (size_t)m * ldx), *y = malloc(sizeof(float) * ((size_t)m * k + 4));
                float *z = malloc(sizeof(float) * (size_t)k), *dots = malloc(sizeof(float) * (size_t)m);
                float *want = malloc(sizeof(float) * (size_t)m * k), *want_dots = malloc(sizeof(float) * (size_t)m);
                assert_true(x && y && z && dots && want && want_dots);
                for (int e = 0; e < m * ldx; e++) /* both signs, a wide range, some huge */
                    x[e] = (float)((e * 37 % 101) - 60) * (e % 7 == 0 ? 10.0f : 0.1f);
                for (int j = 0; j < k; j++)
                    z[j] = 0.5f + (float)(j % 5);
                for (int e = 0; e < m * k + 4; e++)
                    y[e] = -12345.0f;
                isa->feature_dot(feature, m, k, x, ldx, y, z, dots);
                for (int i = 0; i < m; i++)
                    isa->feature(feature, x + (size_t)i * ldx, want + (size_t)i * k, (size_t)k);
                isa->row_dots(m, k, want, k, z, want_dots);
                for (int e = 0; e < 4; e++)
                    assert_true(y[(size_t)m * k + e] == -12345.0f);
                for (int i = 0; i < m; i++) {
                    double exact = 0, mag = 0;
                    for (int j = 0; j < k; j++) {
                        if (y[(size_t)i * k + j] != want[(size_t)i * k + j])
                            fail_msg("path %s %dx%d feature %d: y[%d][%d] %.9g, its map %.9g", paths[p], m, k,
                                     feature, i, j, y[(size_t)i * k + j], want[(size_t)i * k + j]);
                        const double f = linear_feature_f32(feature, x[(size_t)i * ldx + j]);
                        exact += f * z[j];
                        mag += fabs(f * z[j]);
                    }
                    if (dots[i] != want_dots[i] || fabs(dots[i] - exact) > 1e-5 * mag + 1e-30)
                        fail_msg("path %s %dx%d feature %d: dot %d %.9g, its row_dots %.9g, float64 %.9g", paths[p],
                                 m, k, feature, i, dots[i], want_dots[i], exact);
                }
                free(x);
                free(y);
                free(z);
                free(dots);
                free(want);
                free(want_dots);
            }
    }
}

/* gemm_plus_lower on every path this CPU runs against float64: rowscale·(A·B + L·D) with L
 * lower triangular, at sizes on and off the tiles (6 rows, 16/32/64 columns), row scales or
 * none, streaming stores asked for on 64-byte aligned rows and on rows that are not (then the
 * path must store normally); nothing outside the m × n block of C is written. */
static void test_gemm_plus_lower_on_every_path(void **state)
{
    (void)state;
    static const int sizes[][3] = { { 1, 1, 1 }, { 5, 16, 7 }, { 6, 64, 128 }, { 13, 40, 9 }, { 64, 128, 128 },
                                    { 23, 130, 33 }, { 7, 96, 64 }, { 9, 112, 20 }, { 6, 48, 64 } };
    for (int p = 0; p < KB_PATH_COUNT; p++) {
        const struct linear_isa *isa = linear_isa_by_name(paths[p]);
        if (!isa)
            continue;
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (int variant = 0; variant < 4; variant++) {
                const int m = sizes[z][0], n = sizes[z][1], k = sizes[z][2];
                const int scaled = variant & 1, stream = variant >= 2;
                /* variant 3: rows 64-byte aligned (ldc a multiple of 16); else an odd stride */
                const int lda = k + 1, ldb = n + 2, ldl = m + 3, ldd = n + 1, ldc = variant == 3 ? (n + 15) / 16 * 16 + 16 : n + 5;
                float *a = malloc(sizeof(float) * (size_t)m * lda), *b = malloc(sizeof(float) * (size_t)k * ldb);
                float *l = malloc(sizeof(float) * (size_t)m * ldl), *d = malloc(sizeof(float) * (size_t)m * ldd);
                /* C11's aligned_alloc wants a size that is a multiple of the alignment */
                const size_t c_bytes = (sizeof(float) * (size_t)(m * ldc + 16) + 63) / 64 * 64;
                float *c = aligned_alloc(64, c_bytes), rs[64];
                assert_true(a && b && l && d && c);
                for (int e = 0; e < m * lda; e++)
                    a[e] = (float)((e * 29 % 53) - 26) * 0.03f;
                for (int e = 0; e < k * ldb; e++)
                    b[e] = (float)((e * 17 % 41) - 20) * 0.05f;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < ldl; j++) /* 0 above the diagonal, as the contract asks */
                        l[(size_t)i * ldl + j] = j <= i ? (float)(((i * 13 + j * 7) % 23) - 11) * 0.04f : 0.0f;
                for (int e = 0; e < m * ldd; e++)
                    d[e] = (float)((e * 11 % 37) - 18) * 0.06f;
                for (int i = 0; i < m; i++)
                    rs[i] = 0.5f + 0.125f * (float)(i % 5);
                for (int e = 0; e < m * ldc + 16; e++)
                    c[e] = -12345.0f;
                isa->gemm_plus_lower(m, n, k, a, lda, b, ldb, l, ldl, d, ldd, c, ldc, scaled ? rs : NULL, stream,
                                     NULL);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < ldc; j++) {
                        const float got = c[(size_t)i * ldc + j];
                        if (j >= n) {
                            assert_true(got == -12345.0f);
                            continue;
                        }
                        double want = 0, mag = 0;
                        for (int q = 0; q < k; q++) {
                            want += (double)a[(size_t)i * lda + q] * b[(size_t)q * ldb + j];
                            mag += fabs((double)a[(size_t)i * lda + q] * b[(size_t)q * ldb + j]);
                        }
                        for (int q = 0; q <= i; q++) {
                            want += (double)l[(size_t)i * ldl + q] * d[(size_t)q * ldd + j];
                            mag += fabs((double)l[(size_t)i * ldl + q] * d[(size_t)q * ldd + j]);
                        }
                        if (scaled) {
                            want *= rs[i];
                            mag *= rs[i];
                        }
                        if (fabs(got - want) > 1e-6 * mag + 1e-30)
                            fail_msg("path %s m %d n %d k %d variant %d: C[%d][%d] %.9g, want %.9g", paths[p], m, n, k,
                                     variant, i, j, got, want);
                    }
                assert_true(c[(size_t)m * ldc] == -12345.0f);
                free(a);
                free(b);
                free(l);
                free(d);
                free(c);
            }
    }
}

static void test_naive_matches_recurrence(void **state)
{
    (void)state;
    struct case_paths run = case_paths_start("attention.linear@cpu.naive");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&run, p, path_needs[p]))
            continue;
        for (size_t i = 0; i < sizeof lin_cases / sizeof lin_cases[0]; i++) {
            struct kb_shape s = lin_cases[i].shape;
            s.chunk = 0; /* not an axis of the naive kernel */
            struct kb_case c = case_f32(&kb_attention_linear_naive, s, lin_cases[i].threads, 7 + i);
            case_setup_ok(&c);
            assert_int_equal(linear_naive_use_path(&c, paths[p]), 0);
            assert_int_equal(kb_case_run(&c), KB_OK);
            double err = full_error(&c, linear_reference_recurrent);
            if (err > 2e-6)
                fail_msg("naive path %s case %zu: rel L2 %.3g", paths[p], i, err);
            assert_true(case_verdict(&c).passed);
            case_teardown(&c);
        }
    }
    case_paths_end(&run);
}

/* The chunk length changes the order of the sums, not the result. */
static void test_linear_result_independent_of_chunk(void **state)
{
    (void)state;
    const int chunks[] = { 1, 5, 64, 300 };
    struct kb_shape s = lin_shape(1, 2, 1, 150, 16, 1, 0, KB_FEATURE_ELU1, 1);
    float *first = NULL;
    size_t n = (size_t)2 * 150 * 16;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        s.chunk = chunks[i];
        struct kb_case c = case_f32(&kb_attention_linear_cpu, s, 1, 42);
        case_setup_ok(&c);
        assert_int_equal(kb_case_run(&c), KB_OK);
        const float *o = case_tensor(&c, "o").data;
        if (!first) {
            first = malloc(n * sizeof *first);
            memcpy(first, o, n * sizeof *first);
        } else {
            for (size_t e = 0; e < n; e++)
                assert_true(fabsf(o[e] - first[e]) <= 1e-5f * (1.0f + fabsf(first[e])));
        }
        case_teardown(&c);
    }
    free(first);
}

/* The decode case of ds (decode = 1: N cached tokens, then one step) against the causal case
 * over the same N + 1 tokens and seed: row N equal within 1e-5 relative, a repeated step
 * bit-equal (it starts from the same state), "state" an input and "state_next" an output that
 * differ in their first state_floats, and verify passing on every (b, h). *dc is left set up
 * for the caller's further checks (and teardown). */
static void expect_decode_step(const struct kb_kernel *k, struct kb_shape ds, uint64_t seed, size_t state_floats,
                               struct kb_case *dc)
{
    const int bh = ds.batch * ds.heads, d = ds.head_dim, n = ds.seq_len;
    *dc = case_f32(k, ds, 2, seed);
    case_setup_ok(dc);
    assert_int_equal(kb_case_run(dc), KB_OK);
    struct kb_shape cs = ds;
    cs.decode = 0;
    cs.seq_len = n + 1;
    struct kb_case cc = case_f32(k, cs, 1, seed);
    case_setup_ok(&cc);
    assert_int_equal(kb_case_run(&cc), KB_OK);
    const float *od = case_tensor(dc, "o").data, *oc = case_tensor(&cc, "o").data;
    assert_int_equal(case_tensor(dc, "o").dims[2], 1);
    for (int r = 0; r < bh; r++)
        for (int j = 0; j < d; j++) {
            float want = oc[((size_t)r * (n + 1) + n) * d + j];
            assert_true(fabsf(od[(size_t)r * d + j] - want) <= 1e-5f * (1.0f + fabsf(want)));
        }
    const size_t bytes = (size_t)bh * d * sizeof(float);
    float *first = malloc(bytes);
    assert_non_null(first);
    memcpy(first, od, bytes);
    assert_int_equal(kb_case_run(dc), KB_OK);
    assert_memory_equal(first, od, bytes);
    free(first);
    struct kb_tensor st = case_tensor(dc, "state"), next = case_tensor(dc, "state_next");
    assert_false(st.is_output);
    assert_true(next.is_output);
    assert_memory_not_equal(st.data, next.data, state_floats * sizeof(float));
    struct kb_accuracy acc = case_verdict(dc);
    assert_true(acc.passed);
    assert_int_equal(acc.rows_checked, bh);
    case_teardown(&cc);
}

/* The decode step equals the causal kernel's row N over the same N + 1 tokens, repeats exactly,
 * and its state moved. */
static void test_decode_step(void **state)
{
    (void)state;
    for (int decay = 0; decay <= 1; decay++) {
        struct kb_shape ds = lin_shape(2, 4, 2, 300, 32, 1, 64, KB_FEATURE_ELU1, decay);
        ds.decode = 1;
        struct kb_case dc;
        expect_decode_step(&kb_attention_linear_cpu, ds, 9, 33 * 32, &dc);
        case_teardown(&dc);
    }
}

/* ---- attention.gla ---------------------------------------------------------------------- */

static void test_gla_matches_recurrence(void **state)
{
    (void)state;
    const struct lin_case cases[] = {
        { { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 100, .head_dim = 16, .chunk = 32 }, 1 },
        { { .batch = 2, .heads = 2, .kv_heads = 2, .seq_len = 67, .head_dim = 40, .chunk = 7 }, 2 },
        { { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 50, .head_dim = 64, .chunk = 512 }, 1 },
        { { .batch = 1, .heads = 4, .kv_heads = 2, .seq_len = 300, .head_dim = 32, .chunk = 64 }, 2 },
    };
    struct case_paths run = case_paths_start("attention.gla@cpu");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&run, p, path_needs[p]))
            continue;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct kb_case c = case_f32(&kb_attention_gla_cpu, cases[i].shape, cases[i].threads, 3 + i);
            case_setup_ok(&c);
            assert_int_equal(gla_cpu_use_path(&c, paths[p]), 0);
            assert_int_equal(kb_case_run(&c), KB_OK);
            const struct kb_shape *s = &c.shape;
            struct kb_tensor q = case_tensor(&c, "q"), k = case_tensor(&c, "k"), v = case_tensor(&c, "v");
            struct kb_tensor g = case_tensor(&c, "log_gates"), o = case_tensor(&c, "o");
            size_t per_head = (size_t)s->seq_len * s->head_dim;
            double *ref = malloc(per_head * sizeof *ref);
            for (int b = 0; b < s->batch; b++)
                for (int h = 0; h < s->heads; h++) {
                    gla_reference_recurrent(s, q.data, k.data, v.data, g.data, b, h, ref);
                    double err = rel_l2((const float *)o.data + ((size_t)b * s->heads + h) * per_head, ref, per_head);
                    if (err > 2e-6)
                        fail_msg("gla path %s case %zu head %d: rel L2 %.3g", paths[p], i, h, err);
                }
            free(ref);
            assert_true(case_verdict(&c).passed);
            case_teardown(&c);
        }
    }
    case_paths_end(&run);
}

/* ---- planted mistakes verify must catch ---------------------------------------------------- */

/* linear_verify_output_tol judges by the bound it is given (the GPU kernels pass their dtype's):
 * an output 1% too large fails float32's 1e-4 and f16's 5e-3, passes bf16's 2e-2. */
static void test_verify_tolerance_is_the_callers(void **state)
{
    (void)state;
    struct kb_shape s = lin_shape(1, 2, 1, 300, 16, 1, 64, KB_FEATURE_ELU1, 1);
    struct kb_case c = case_f32(&kb_attention_linear_cpu, s, 1, 9);
    case_setup_ok(&c);
    assert_int_equal(kb_case_run(&c), KB_OK);
    struct attention_inputs in = { .q = (float *)case_tensor(&c, "q").data, .k = (float *)case_tensor(&c, "k").data,
                                   .v = (float *)case_tensor(&c, "v").data };
    float *o = (float *)case_tensor(&c, "o").data;
    struct kb_accuracy acc;
    assert_int_equal(linear_verify_output_tol(&c.shape, &in, o, c.seed, 1, 2e-2, &acc), KB_OK);
    assert_true(acc.passed);
    for (size_t e = 0; e < (size_t)2 * 300 * 16; e++)
        o[e] *= 1.01f;
    assert_int_equal(linear_verify_output_tol(&c.shape, &in, o, c.seed, 1, 2e-2, &acc), KB_OK);
    assert_true(acc.passed);
    assert_true(acc.rel_l2_err > 5e-3 && acc.rel_l2_err < 2e-2);
    assert_int_equal(linear_verify_output_tol(&c.shape, &in, o, c.seed, 1, 5e-3, &acc), KB_OK);
    assert_false(acc.passed);
    assert_false(case_verdict(&c).passed); /* the operation's verify of a float32 case: 1e-4 */
    case_teardown(&c);
}

static void test_planted_mistakes_fail(void **state)
{
    (void)state;
    /* one output element corrupted: every row is checked at this size */
    struct kb_shape s = lin_shape(1, 2, 1, 64, 16, 1, 16, KB_FEATURE_ELU1, 1);
    struct kb_case c = case_f32(&kb_attention_linear_cpu, s, 1, 3);
    case_setup_ok(&c);
    assert_int_equal(kb_case_run(&c), KB_OK);
    assert_true(case_verdict(&c).passed);
    float *o = (float *)case_tensor(&c, "o").data;
    o[100] += 0.5f;
    assert_false(case_verdict(&c).passed);
    /* decay forgotten: run without, judged with */
    c.shape.decay = 0;
    assert_int_equal(kb_case_run(&c), KB_OK);
    c.shape.decay = 1;
    assert_false(case_verdict(&c).passed);
    /* causal mask forgotten */
    c.shape.causal = 0;
    c.shape.decay = 0;
    assert_int_equal(kb_case_run(&c), KB_OK);
    c.shape.causal = 1;
    assert_false(case_verdict(&c).passed);
    case_teardown(&c);

    /* the wrong feature map in the naive kernel */
    struct kb_shape ns = lin_shape(1, 2, 2, 50, 16, 1, 0, KB_FEATURE_ELU1, 0);
    struct kb_case n = case_f32(&kb_attention_linear_naive, ns, 1, 4);
    case_setup_ok(&n);
    n.shape.feature = KB_FEATURE_RELU;
    assert_int_equal(kb_case_run(&n), KB_OK);
    n.shape.feature = KB_FEATURE_ELU1;
    assert_false(case_verdict(&n).passed);
    case_teardown(&n);

    /* decode with the context's state lost */
    struct kb_shape ds = lin_shape(1, 2, 2, 100, 16, 1, 32, KB_FEATURE_RELU, 0);
    ds.decode = 1;
    struct kb_case d = case_f32(&kb_attention_linear_cpu, ds, 1, 5);
    case_setup_ok(&d);
    memset((void *)case_tensor(&d, "state").data, 0, (size_t)2 * 17 * 16 * sizeof(float));
    assert_int_equal(kb_case_run(&d), KB_OK);
    assert_false(case_verdict(&d).passed);
    case_teardown(&d);

    /* GLA with its gates ignored (all α = 1) */
    struct kb_shape gs = { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 80, .head_dim = 16, .chunk = 16 };
    struct kb_case g = case_f32(&kb_attention_gla_cpu, gs, 1, 6);
    case_setup_ok(&g);
    assert_int_equal(kb_case_run(&g), KB_OK);
    assert_true(case_verdict(&g).passed);
    struct kb_tensor gt = case_tensor(&g, "log_gates");
    size_t ng = (size_t)2 * 80 * 16;
    float *saved = malloc(ng * sizeof *saved);
    memcpy(saved, gt.data, ng * sizeof *saved);
    memset((void *)gt.data, 0, ng * sizeof(float));
    assert_int_equal(kb_case_run(&g), KB_OK);
    memcpy((void *)gt.data, saved, ng * sizeof *saved);
    assert_false(case_verdict(&g).passed);
    free(saved);
    case_teardown(&g);
}

/* ---- shapes and counts ------------------------------------------------------------------- */

static void test_setup_rejects_bad_shapes(void **state)
{
    (void)state;
    const enum kb_dtype f32 = KB_DTYPE_F32;
    case_expect_refused(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 0, 16, KB_FEATURE_ELU1, 1), f32, "decay");
    case_expect_refused(&kb_attention_linear_naive, lin_shape(1, 2, 2, 32, 8, 0, 0, KB_FEATURE_ELU1, 1), f32, "decay");
    case_expect_refused(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 1, 16, 3, 0), f32, "feature");
    /* chunk 0 is the operation's "unset", which the chunked algorithm cannot run */
    case_expect_refused(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 1, 0, KB_FEATURE_ELU1, 0), f32, "chunk");
    case_expect_refused(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 1, -3, KB_FEATURE_ELU1, 0), f32, "chunk");
    case_expect_refused(&kb_attention_linear_naive, lin_shape(1, 6, 4, 32, 8, 1, 0, KB_FEATURE_ELU1, 0), f32,
                        "kv_heads");
    struct kb_shape nd = lin_shape(1, 2, 2, 32, 8, 1, 0, KB_FEATURE_ELU1, 0);
    nd.decode = 1; /* the naive kernel has no decode step */
    case_expect_refused(&kb_attention_linear_naive, nd, f32, "decode");
    struct kb_shape gs = { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 2000, .head_dim = 8, .chunk = GLA_MAX_CHUNK + 1 };
    case_expect_refused(&kb_attention_gla_cpu, gs, f32, "chunk");
    case_expect_refused(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 1, 16, KB_FEATURE_ELU1, 0), KB_DTYPE_BF16,
                        "bf16");
}

/* The CUDA version (CUDA builds only) is the same kernel to the harness: name, axes, counts;
 * and it refuses a chunk it is not compiled for before touching a GPU. */
static void test_gla_cuda_descriptor(void **state)
{
    (void)state;
    const struct kb_kernel *k = kb_registry_find("attention.gla", "cuda.mma");
#ifdef HAVE_CUDA
    assert_non_null(k);
    assert_int_equal(k->device, KB_DEVICE_CUDA);
    assert_ptr_equal(k->op, &kb_op_attention_gla);
    assert_true(kb_kernel_axes(k) == kb_kernel_axes(&kb_attention_gla_cpu));
    struct kb_shape s = { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 4099, .head_dim = 128, .chunk = 64 };
    assert_true(kb_kernel_flops(k, &s) == kb_kernel_flops(&kb_attention_gla_cpu, &s));
    assert_true(kb_kernel_bytes(k, &s, KB_DTYPE_BF16) == kb_kernel_bytes(&kb_attention_gla_cpu, &s, KB_DTYPE_BF16));
    s.chunk = 32;
    case_expect_refused(k, s, KB_DTYPE_BF16, "chunk 64");
#else
    assert_null(k);
#endif
}

static void test_counts_scale_as_the_algorithms(void **state)
{
    (void)state;
    struct kb_shape s = lin_shape(1, 8, 8, 4096, 128, 1, 64, KB_FEATURE_ELU1, 0);
    struct kb_shape s2 = s;
    s2.seq_len = 8192;
    assert_true(fabs(linear_flops(&s2) / linear_flops(&s) - 2.0) < 1e-9);     /* linear in N */
    /* counts belong to the operation: the quadratic baseline is credited @cpu's FLOPs */
    assert_true(kb_kernel_flops(&kb_attention_linear_naive, &s2) == linear_flops(&s2));
    assert_true(kb_kernel_bytes(&kb_attention_linear_naive, &s2, KB_DTYPE_F32) == linear_bytes(&s2, KB_DTYPE_F32));
    struct kb_shape other_chunk = s;
    other_chunk.chunk = 256; /* and the chunk, the algorithm's choice, does not change it */
    assert_true(linear_flops(&other_chunk) == linear_flops(&s));
    s.decode = s2.decode = 1;
    assert_true(linear_flops(&s2) == linear_flops(&s));                       /* decode: flat */
    assert_true(linear_bytes(&s2, KB_DTYPE_F32) == linear_bytes(&s, KB_DTYPE_F32));
    /* decode's inputs grow with the cache (the operation's footprint) */
    assert_true(kb_kernel_footprint(&kb_attention_linear_cpu, &s2, KB_DTYPE_F32) >
                kb_kernel_footprint(&kb_attention_linear_cpu, &s, KB_DTYPE_F32));
    /* the naive kernel's footprint holds an N×N matrix; the chunked one's workspace does not grow
     * with N, the naive one as N² */
    s.decode = s2.decode = 0;
    assert_true(kb_kernel_footprint(&kb_attention_linear_naive, &s, KB_DTYPE_F32) > 4.0 * 4096.0 * 4096.0);
    assert_true(kb_attention_linear_cpu.footprint(&s2, KB_DTYPE_F32) == kb_attention_linear_cpu.footprint(&s, KB_DTYPE_F32));
    assert_true(kb_attention_linear_naive.footprint(&s2, KB_DTYPE_F32) > 3.5 * kb_attention_linear_naive.footprint(&s, KB_DTYPE_F32));
    /* λ_h: RetNet's 1 − 2^(−5−h) at 8 heads */
    for (int h = 0; h < 8; h++)
        assert_true(fabs(linear_decay_lambda(h, 8) - (1.0 - exp2(-5.0 - h))) < 1e-15);
}

/* ---- the operations own the inputs and the counts ------------------------------------------ */

/* @cpu and @cpu.naive of one case see byte-identical inputs, write the same output layout and
 * are credited identical FLOPs and bytes (before, @cpu.naive claimed 31x @cpu's FLOPs). */
static void test_cpu_and_naive_share_inputs_and_counts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof lin_cases / sizeof lin_cases[0]; i++) {
        struct kb_shape s = lin_cases[i].shape;
        struct kb_case a = case_f32(&kb_attention_linear_cpu, s, 1, 77 + i);
        s.chunk = 0; /* not an axis of the naive kernel: the planner leaves it unset */
        struct kb_case b = case_f32(&kb_attention_linear_naive, s, 1, 77 + i);
        case_setup_ok(&a);
        case_setup_ok(&b);
        assert_int_equal(a.io.count, b.io.count);
        for (int t = 0; t < a.io.count; t++) {
            assert_string_equal(a.io.tensor[t].name, b.io.tensor[t].name);
            assert_int_equal(a.io.tensor[t].is_output, b.io.tensor[t].is_output);
            size_t n = kb_operands_elems(&a.io, t);
            assert_int_equal(n, kb_operands_elems(&b.io, t));
            if (!a.io.tensor[t].is_output)
                assert_memory_equal(a.io.tensor[t].data, b.io.tensor[t].data, n * sizeof(float));
        }
        assert_true(kb_kernel_flops(&kb_attention_linear_cpu, &a.shape) == kb_kernel_flops(&kb_attention_linear_naive, &b.shape));
        assert_true(kb_kernel_bytes(&kb_attention_linear_cpu, &a.shape, KB_DTYPE_F32) ==
                    kb_kernel_bytes(&kb_attention_linear_naive, &b.shape, KB_DTYPE_F32));
        /* and both outputs pass the same verdict, agreeing with each other */
        struct kb_accuracy ra = case_run_verify(&a), rb = case_run_verify(&b);
        assert_true(ra.passed && rb.passed);
        assert_int_equal(ra.rows_checked, rb.rows_checked);
        const float *oa = case_tensor(&a, "o").data, *ob = case_tensor(&b, "o").data;
        for (size_t e = 0; e < kb_operands_elems(&a.io, KB_LIN_O); e++)
            assert_true(fabsf(oa[e] - ob[e]) <= 1e-4f * (1.0f + fabsf(oa[e])));
        case_teardown(&a);
        case_teardown(&b);
    }
    /* the registry agrees: every implementation of the operation, one count */
    struct kb_shape s = lin_shape(2, 8, 2, 1024, 64, 1, 64, KB_FEATURE_ELU1, 1);
    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    int impls = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i]->op == &kb_op_attention_linear) {
            impls++;
            assert_true(kb_kernel_flops(all[i], &s) == linear_flops(&s));
        }
    assert_true(impls >= 2);
}

/* The operations' inputs are the bytes the kernels drew for themselves (attention_inputs_new,
 * gla_gates_new), so stored runs stay comparable; decode draws its N + 1 tokens together. */
static void test_inputs_are_the_family_generators(void **state)
{
    (void)state;
    struct kb_shape shapes[3] = { lin_shape(2, 4, 2, 61, 24, 1, 16, KB_FEATURE_RELU, 1),
                                  lin_shape(1, 2, 2, 40, 8, 1, 8, KB_FEATURE_ELU1, 0),
                                  { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 70, .head_dim = 16, .chunk = 16 } };
    shapes[1].decode = 1;
    shapes[0].input = KB_INPUT_OUTLIER; /* K's channel offsets, V's scaled channels */
    shapes[2].input = KB_INPUT_UNIFORM;
    const struct kb_kernel *kernels[3] = { &kb_attention_linear_cpu, &kb_attention_linear_cpu, &kb_attention_gla_cpu };
    for (int i = 0; i < 3; i++) {
        struct kb_case c = case_f32(kernels[i], shapes[i], 1, 1234 + i);
        case_setup_ok(&c);
        struct kb_shape drawn = c.shape;
        drawn.seq_len += c.shape.decode;
        struct attention_inputs in;
        char err[256];
        assert_int_equal(attention_inputs_new(&in, &drawn, c.seed, err, sizeof err), KB_OK);
        const float *mine[3] = { in.q, in.k, in.v };
        for (int t = 0; t < 3; t++) {
            struct kb_tensor x = c.io.tensor[t];
            assert_int_equal(x.dims[2], drawn.seq_len);
            assert_memory_equal(x.data, mine[t], kb_operands_elems(&c.io, t) * sizeof(float));
        }
        attention_inputs_free(&in);
        if (kernels[i] == &kb_attention_gla_cpu) {
            float *g = gla_gates_new(&c.shape, c.seed);
            assert_non_null(g);
            assert_memory_equal(case_tensor(&c, "log_gates").data, g, kb_operands_elems(&c.io, KB_GLA_G) * sizeof(float));
            free(g);
        }
        case_teardown(&c);
    }
}

/* 16-bit cases: the operation rounds its float32 draws to the dtype's values (ties to even),
 * the same for every implementation. */
static void test_inputs_rounded_for_16_bits(void **state)
{
    (void)state;
    float x[] = { 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65519.0f, 65520.0f, 0x1p-25f, 3 * 0x1p-25f, -0x1p-20f, 0.1f };
    const float want[] = { 1.0f, 1.0f + 0x1p-9f, 65504.0f, INFINITY, 0.0f, 0x1p-23f, -0x1p-20f, 0.0999755859375f };
    qkv_round_to(x, 8, KB_DTYPE_F16);
    for (int i = 0; i < 8; i++)
        if (x[i] != want[i])
            fail_msg("f16 rounding of element %d: %a, want %a", i, (double)x[i], (double)want[i]);
    struct kb_shape s = lin_shape(1, 2, 1, 33, 16, 1, 64, KB_FEATURE_ELU1, 0);
    struct kb_case f = case_f32(&kb_attention_linear_cpu, s, 1, 8);
    case_setup_ok(&f);
    const enum kb_dtype t16[2] = { KB_DTYPE_F16, KB_DTYPE_BF16 };
    for (int d = 0; d < 2; d++) {
        struct kb_operands io = { 0 };
        struct kb_shape s16 = s;
        char err[256];
        assert_int_equal(kb_op_attention_linear.inputs(&io, &s16, t16[d], 8, err, sizeof err), KB_OK);
        for (int t = 0; t < 3; t++) {
            size_t n = kb_operands_elems(&io, t);
            const float *got = io.tensor[t].data, *full = f.io.tensor[t].data;
            int differ = 0;
            for (size_t e = 0; e < n; e++) {
                float r = full[e];
                qkv_round_to(&r, 1, t16[d]);
                assert_true(got[e] == r);
                differ += got[e] != full[e];
                assert_true(fabsf(got[e] - full[e]) <= (d ? 0x1p-8f : 0x1p-11f) * fabsf(full[e]));
            }
            assert_true(differ > 0); /* rounding happened */
        }
        kb_operands_free(&io);
    }
    case_teardown(&f);
}

/* ---- attention.lightning: the un-normalised (Lightning / RetNet) form ------------------------ */

/* o_i = scale · Σ_{s≤i} λ^(i−s) (q_i·k_s) v_s for every row of head (b, h), summed directly in
 * the test (no cut-off, no state): the definition both references must reproduce. lambda < 0
 * takes the operation's λ_h; otherwise that constant (1: decay forgotten). */
static void lightning_direct(const struct kb_shape *s, const float *q, const float *k, const float *v, int b, int h,
                             double lambda, double *out)
{
    const int n = s->seq_len, d = s->head_dim, group = s->heads / s->kv_heads;
    const float *qb = q + ((size_t)b * s->heads + h) * n * d;
    const float *kb = k + ((size_t)b * s->kv_heads + h / group) * n * d;
    const float *vb = v + ((size_t)b * s->kv_heads + h / group) * n * d;
    const double lam = lambda < 0 ? 1.0 - exp2(-5.0 - 8.0 * h / s->heads) : lambda;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++) {
            double acc = 0;
            for (int j = 0; j <= i; j++) {
                double w = 0;
                for (int p = 0; p < d; p++)
                    w += (double)qb[(size_t)i * d + p] * kb[(size_t)j * d + p];
                acc += pow(lam, i - j) * w * vb[(size_t)j * d + c];
            }
            out[(size_t)i * d + c] = acc / sqrt((double)d);
        }
}

static struct kb_shape lt_shape(int b, int h, int hkv, int n, int d, int chunk)
{
    return (struct kb_shape){ .batch = b, .heads = h, .kv_heads = hkv, .seq_len = n, .head_dim = d, .chunk = chunk };
}

static void test_lightning_references_agree(void **state)
{
    (void)state;
    const struct kb_shape shapes[] = { lt_shape(1, 2, 1, 37, 8, 1), lt_shape(2, 3, 3, 53, 13, 1),
                                       lt_shape(1, 4, 2, 61, 5, 1) };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct kb_case c = case_f32(&kb_attention_lightning_cpu, shapes[i], 1, 21 + i);
        case_setup_ok(&c);
        const struct kb_shape *s = &c.shape;
        struct kb_tensor q = case_tensor(&c, "q"), k = case_tensor(&c, "k"), v = case_tensor(&c, "v");
        const size_t per_head = (size_t)s->seq_len * s->head_dim;
        double *direct = malloc(per_head * sizeof *direct), *rec = malloc(per_head * sizeof *rec);
        double *rows = malloc(per_head * sizeof *rows);
        int *all = malloc((size_t)s->seq_len * sizeof *all);
        for (int r = 0; r < s->seq_len; r++)
            all[r] = r;
        for (int b = 0; b < s->batch; b++)
            for (int h = 0; h < s->heads; h++) {
                lightning_direct(s, q.data, k.data, v.data, b, h, -1, direct);
                lightning_reference_recurrent(s, q.data, k.data, v.data, b, h, rec);
                lightning_reference_rows(s, q.data, k.data, v.data, b, h, all, s->seq_len, rows);
                for (size_t e = 0; e < per_head; e++) {
                    assert_true(fabs(rec[e] - direct[e]) <= 1e-10 * (1 + fabs(direct[e])));
                    assert_true(fabs(rows[e] - direct[e]) <= 1e-10 * (1 + fabs(direct[e])));
                }
            }
        free(direct);
        free(rec);
        free(rows);
        free(all);
        case_teardown(&c);
    }
}

/* Chunks that do not divide N (and one longer than N, and 1), GQA, one and two threads, on
 * every SIMD path this CPU runs; chunks of 1000 so long that head 0's λ^C is below the kernel's
 * threshold for folding the decay into Kᵀ (its first chunk takes the unfolded weights, its
 * second, of 100, the folded ones). */
static void test_lightning_cpu_matches_recurrence(void **state)
{
    (void)state;
    const struct lin_case cases[] = {
        { lt_shape(1, 2, 2, 100, 16, 32), 1 }, { lt_shape(2, 4, 2, 77, 24, 16), 2 }, { lt_shape(1, 3, 1, 130, 33, 64), 2 },
        { lt_shape(1, 2, 1, 45, 64, 1000), 1 }, { lt_shape(1, 1, 1, 29, 7, 1), 1 }, { lt_shape(1, 8, 8, 300, 32, 48), 2 },
        { lt_shape(1, 2, 1, 1100, 16, 1000), 1 },
    };
    struct case_paths run = case_paths_start("attention.lightning@cpu");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&run, p, path_needs[p]))
            continue;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct kb_case c = case_f32(&kb_attention_lightning_cpu, cases[i].shape, cases[i].threads, 40 + i);
            case_setup_ok(&c);
            assert_int_equal(lightning_cpu_use_path(&c, paths[p]), 0);
            assert_int_equal(kb_case_run(&c), KB_OK);
            double err = full_error(&c, lightning_reference_recurrent);
            if (err > 2e-6)
                fail_msg("path %s case %zu: rel L2 %.3g against the recurrence", paths[p], i, err);
            struct kb_accuracy acc = case_verdict(&c);
            assert_true(acc.passed);
            assert_true(acc.rows_checked > 0);
            case_teardown(&c);
        }
    }
    case_paths_end(&run);
}

/* The decode step equals the causal kernel's row N over the same N + 1 tokens, repeats exactly,
 * and its state moved. */
static void test_lightning_decode_step(void **state)
{
    (void)state;
    struct kb_shape ds = lt_shape(2, 4, 2, 301, 32, 64);
    ds.decode = 1;
    struct kb_case dc;
    expect_decode_step(&kb_attention_lightning_cpu, ds, 19, 32 * 32, &dc);
    /* with the context's state lost, the step is wrong */
    struct kb_tensor st = case_tensor(&dc, "state");
    memset((void *)st.data, 0, (size_t)8 * 32 * 32 * sizeof(float));
    assert_int_equal(kb_case_run(&dc), KB_OK);
    assert_false(case_verdict(&dc).passed);
    case_teardown(&dc);
}

/* Plausible wrong implementations fail the operation's verify: the normalised form
 * (attention.linear@cpu with decay on the same inputs), the decay forgotten, the scale
 * forgotten, one element off. */
static void test_lightning_wrong_forms_fail(void **state)
{
    (void)state;
    struct kb_shape s = lt_shape(1, 4, 2, 61, 16, 32); /* 244 rows: verify checks every one */
    struct kb_case c = case_f32(&kb_attention_lightning_cpu, s, 1, 23);
    case_setup_ok(&c);
    assert_int_equal(kb_case_run(&c), KB_OK);
    assert_true(case_verdict(&c).passed);
    float *o = (float *)case_tensor(&c, "o").data;
    const size_t n = (size_t)4 * 61 * 16;
    float *good = malloc(n * sizeof *good);
    memcpy(good, o, n * sizeof *good);

    /* the normalised form: attention.linear, causal, decayed, on the same bytes */
    struct kb_shape ls = lin_shape(1, 4, 2, 61, 16, 1, 32, KB_FEATURE_RELU, 1);
    struct kb_case l = case_f32(&kb_attention_linear_cpu, ls, 1, 23);
    case_setup_ok(&l);
    assert_memory_equal(case_tensor(&l, "k").data, case_tensor(&c, "k").data, (size_t)2 * 61 * 16 * sizeof(float));
    assert_int_equal(kb_case_run(&l), KB_OK);
    assert_true(case_verdict(&l).passed); /* right for its own operation */
    memcpy(o, case_tensor(&l, "o").data, n * sizeof *o);
    assert_false(case_verdict(&c).passed);
    case_teardown(&l);

    /* no decay (λ = 1) */
    struct kb_tensor q = case_tensor(&c, "q"), k = case_tensor(&c, "k"), v = case_tensor(&c, "v");
    double *row = malloc((size_t)61 * 16 * sizeof *row);
    for (int h = 0; h < 4; h++) {
        lightning_direct(&c.shape, q.data, k.data, v.data, 0, h, 1.0, row);
        for (size_t e = 0; e < (size_t)61 * 16; e++)
            o[(size_t)h * 61 * 16 + e] = (float)row[e];
    }
    assert_false(case_verdict(&c).passed);
    /* the test's own direct sum with the operation's λ passes (the check above is fair) */
    for (int h = 0; h < 4; h++) {
        lightning_direct(&c.shape, q.data, k.data, v.data, 0, h, -1, row);
        for (size_t e = 0; e < (size_t)61 * 16; e++)
            o[(size_t)h * 61 * 16 + e] = (float)row[e];
    }
    assert_true(case_verdict(&c).passed);
    free(row);

    /* no 1/√d scale */
    for (size_t e = 0; e < n; e++)
        o[e] = good[e] * 4.0f;
    assert_false(case_verdict(&c).passed);
    /* one element off */
    memcpy(o, good, n * sizeof *o);
    o[n / 2] += 0.5f;
    assert_false(case_verdict(&c).passed);
    free(good);
    case_teardown(&c);
}

/* Shapes and dtypes the kernels refuse, the counts (linear in N, flat in decode, the same for
 * every implementation), and the CUDA descriptor (CUDA builds) refusing an uncompiled chunk. */
static void test_lightning_shapes_and_counts(void **state)
{
    (void)state;
    const enum kb_dtype f32 = KB_DTYPE_F32;
    case_expect_refused(&kb_attention_lightning_cpu, lt_shape(1, 2, 2, 32, 8, 0), f32, "chunk");
    case_expect_refused(&kb_attention_lightning_cpu, lt_shape(1, 6, 4, 32, 8, 16), f32, "kv_heads");
    case_expect_refused(&kb_attention_lightning_cpu, lt_shape(1, 2, 2, 32, 8, 16), KB_DTYPE_BF16, "bf16");
    struct kb_shape s = lt_shape(1, 16, 16, 4096, 128, 64), s2 = s;
    s2.seq_len = 8192;
    assert_true(fabs(lightning_flops(&s2) / lightning_flops(&s) - 2.0) < 1e-9);
    assert_true(lightning_flops(&s) == 4.0 * 16 * 4096 * 128 * 128);
    s.decode = s2.decode = 1;
    assert_true(lightning_flops(&s2) == lightning_flops(&s));
    assert_true(lightning_bytes(&s2, f32) == lightning_bytes(&s, f32));
    s.decode = s2.decode = 0;
    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    int impls = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i]->op == &kb_op_attention_lightning) {
            impls++;
            assert_true(kb_kernel_flops(all[i], &s) == lightning_flops(&s));
        }
    const struct kb_kernel *k = kb_registry_find("attention.lightning", "cuda.mma");
#ifdef HAVE_CUDA
    assert_non_null(k);
    assert_int_equal(impls, 2);
    assert_int_equal(k->device, KB_DEVICE_CUDA);
    struct kb_shape cs = lt_shape(1, 4, 2, 4099, 128, 32);
    case_expect_refused(k, cs, KB_DTYPE_BF16, "chunk 64 and 128");
    /* chunks per group: a power of two up to 16, never fewer than LIGHTNING_CUDA_MIN_BLOCKS blocks once above 1, and
     * growing with N (one state per chunk at short N, one per 16 chunks at long N) */
    int last = 1;
    for (int len = 1024; len <= 1 << 20; len *= 2) {
        struct kb_shape gs = lt_shape(1, 16, 16, len, 128, 64);
        const int g = lightning_cuda_group(&gs), nc = (len + 63) / 64;
        assert_true(g >= last && g <= 16 && (g & (g - 1)) == 0);
        if (g > 1)
            assert_true(16L * ((nc + g - 1) / g) >= LIGHTNING_CUDA_MIN_BLOCKS);
        last = g;
    }
    struct kb_shape short_seq = lt_shape(1, 16, 16, 1024, 128, 64); /* 16 chunks a head: no grouping */
    assert_int_equal(lightning_cuda_group(&short_seq), 1);
    assert_int_equal(last, 16);

    /* the fused form: opt-in, only up to LIGHTNING_CUDA_FUSED_MAX_GROUPS groups a plane, and its
     * barrier counts (one a plane) in the scratch only where it runs */
    struct kb_shape s4k = lt_shape(1, 16, 16, 4096, 128, 64), s1m = lt_shape(1, 16, 16, 1 << 20, 128, 64);
    unsetenv("KBENCH_LIGHTNING_FUSED");
    assert_int_equal(lightning_cuda_fused(&s4k), 0);
    assert_true(lightning_cuda_fused_bytes(&s4k) == 0);
    setenv("KBENCH_LIGHTNING_FUSED", "1", 1);
    const long g4k = lightning_cuda_group(&s4k), ng4k = (64 + g4k - 1) / g4k;
    assert_true(ng4k <= LIGHTNING_CUDA_FUSED_MAX_GROUPS);
    assert_int_equal(lightning_cuda_fused(&s4k), 1);
    assert_true(lightning_cuda_fused_bytes(&s4k) == 16.0 * sizeof(int));
    assert_true((16384 + 15) / 16 > LIGHTNING_CUDA_FUSED_MAX_GROUPS); /* 1M tokens: 1024 groups of 16 chunks */
    assert_int_equal(lightning_cuda_fused(&s1m), 0);
    assert_true(lightning_cuda_fused_bytes(&s1m) == 0);
    unsetenv("KBENCH_LIGHTNING_FUSED");
#else
    assert_null(k);
    assert_int_equal(impls, 1);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_forms_agree),
        cmocka_unit_test(test_linear_matches_recurrence_on_every_path),
        cmocka_unit_test(test_feature_transpose_on_every_path),
        cmocka_unit_test(test_feature_dot_on_every_path),
        cmocka_unit_test(test_gemm_plus_lower_on_every_path),
        cmocka_unit_test(test_naive_matches_recurrence),
        cmocka_unit_test(test_linear_result_independent_of_chunk),
        cmocka_unit_test(test_decode_step),
        cmocka_unit_test(test_gla_matches_recurrence),
        cmocka_unit_test(test_planted_mistakes_fail),
        cmocka_unit_test(test_verify_tolerance_is_the_callers),
        cmocka_unit_test(test_setup_rejects_bad_shapes),
        cmocka_unit_test(test_counts_scale_as_the_algorithms),
        cmocka_unit_test(test_gla_cuda_descriptor),
        cmocka_unit_test(test_cpu_and_naive_share_inputs_and_counts),
        cmocka_unit_test(test_inputs_are_the_family_generators),
        cmocka_unit_test(test_inputs_rounded_for_16_bits),
        cmocka_unit_test(test_lightning_references_agree),
        cmocka_unit_test(test_lightning_cpu_matches_recurrence),
        cmocka_unit_test(test_lightning_decode_step),
        cmocka_unit_test(test_lightning_wrong_forms_fail),
        cmocka_unit_test(test_lightning_shapes_and_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
