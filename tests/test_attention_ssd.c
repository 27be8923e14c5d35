/* test_attention_ssd.c - attention.ssd (Mamba-2's state-space duality) against its float64
 * definitions: the recurrence and the materialised matrix form agree (causal, bidirectional,
 * groups, odd sizes); both CPU implementations match the recurrence on every row at odd sizes
 * (N not a multiple of the chunk, odd S and P, groups, one and two threads, every SIMD path this
 * CPU runs) and each other; the decode step equals the last row of a causal run over N + 1
 * tokens; planted mistakes (wrong decay, the diagonal counted twice, the causal scan judged as
 * bidirectional) fail verification; shape checks and counts. */
#ifdef HAVE_CONFIG_H
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
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/ssd.h"
#include "kernels/attention/ssd_ops.h"
#include "kernels/kernel.h"
#include "tests/kernel_case.h"

static const unsigned path_needs[KB_PATH_COUNT] = { 0, LINEAR_AVX2_NEEDS, LINEAR_AVX512_NEEDS };

static struct kb_shape shape_of(int b, int h, int g, int n, int p, int st, int chunk, int causal)
{
    struct kb_shape s;
    memset(&s, 0, sizeof s);
    s.batch = b, s.heads = h, s.kv_heads = g, s.seq_len = n, s.head_dim = p, s.state = st, s.chunk = chunk;
    s.causal = causal, s.input = KB_INPUT_NORMAL;
    return s;
}

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, int threads, uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = KB_DTYPE_F32, .threads = threads, .seed = seed };
}

static double rel_l2_dd(const double *got, const double *ref, size_t n)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        e += (got[i] - ref[i]) * (got[i] - ref[i]);
        r += ref[i] * ref[i];
    }
    return r > 0 ? sqrt(e / r) : sqrt(e);
}

/* The whole output of a run against the recurrence, every row of every head. */
static double full_error(const struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    const struct ssd_view v = ssd_view_of(&c->io);
    const float *y = c->io.buffer[KB_SSD_Y];
    const int P = s->head_dim, rows = s->decode ? 1 : s->seq_len, tokens = ssd_tokens(s);
    double e = 0, r = 0;
    double *ref = malloc((size_t)tokens * P * sizeof *ref);
    assert_non_null(ref);
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++) {
            assert_int_equal(ssd_reference_recurrent(s, &v, b, h, tokens, ref), 0);
            const double *want = ref + (size_t)(s->decode ? s->seq_len : 0) * P;
            const float *got = y + ((size_t)b * s->heads + h) * rows * P;
            for (size_t i = 0; i < (size_t)rows * P; i++) {
                e += (got[i] - want[i]) * (got[i] - want[i]);
                r += want[i] * want[i];
            }
        }
    free(ref);
    return sqrt(e / r);
}

/* ---- the two float64 definitions ------------------------------------------------------------ */

static void test_matrix_form_equals_recurrence(void **state)
{
    (void)state;
    const struct kb_shape shapes[] = {
        shape_of(1, 2, 1, 37, 5, 3, 16, 1),
        shape_of(2, 4, 2, 53, 7, 11, 16, 1),
        shape_of(1, 2, 1, 37, 5, 3, 16, 0),  /* bidirectional */
        shape_of(1, 6, 3, 41, 9, 6, 16, 0),
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct kb_operands io;
        memset(&io, 0, sizeof io);
        struct kb_shape s = shapes[i];
        char err[256];
        assert_int_equal(kb_op_attention_ssd.inputs(&io, &s, KB_DTYPE_F32, 40 + i, err, sizeof err), KB_OK);
        const struct ssd_view v = ssd_view_of(&io);
        size_t n = (size_t)s.seq_len * s.head_dim;
        double *rec = malloc(n * sizeof *rec), *mat = malloc(n * sizeof *mat);
        assert_non_null(rec);
        assert_non_null(mat);
        for (int b = 0; b < s.batch; b++)
            for (int h = 0; h < s.heads; h++) {
                assert_int_equal(ssd_reference_recurrent(&s, &v, b, h, s.seq_len, rec), 0);
                assert_int_equal(ssd_reference_matrix(&s, &v, b, h, s.seq_len, mat), 0);
                double e = rel_l2_dd(rec, mat, n);
                if (!(e < 1e-12))
                    fail_msg("shape %zu head (%d, %d): recurrence and matrix form differ by %.3g", i, b, h, e);
            }
        /* the prefix property of a causal definition: the first t rows of N tokens are those of t */
        if (s.causal) {
            assert_int_equal(ssd_reference_recurrent(&s, &v, 0, 1, 20, rec), 0);
            assert_int_equal(ssd_reference_matrix(&s, &v, 0, 1, s.seq_len, mat), 0);
            assert_true(rel_l2_dd(rec, mat, (size_t)20 * s.head_dim) < 1e-12);
        }
        free(rec);
        free(mat);
        kb_operands_free(&io);
    }
}

/* The bidirectional definition is the forward scan plus the reversed one minus the diagonal:
 * check it independently, by building the reversed sequence's causal output. */
static void test_bidirectional_is_two_scans(void **state)
{
    (void)state;
    struct kb_shape s = shape_of(1, 2, 1, 29, 6, 5, 16, 0);
    struct kb_operands io;
    memset(&io, 0, sizeof io);
    char err[256];
    assert_int_equal(kb_op_attention_ssd.inputs(&io, &s, KB_DTYPE_F32, 7, err, sizeof err), KB_OK);
    const int n = s.seq_len, P = s.head_dim, S = s.state;
    const struct ssd_view v = ssd_view_of(&io);
    /* a reversed copy of head 1's operands (group 0) as a one-head causal case */
    struct kb_shape r = shape_of(1, 1, 1, n, P, S, 16, 1);
    float *x = calloc((size_t)n * P, sizeof *x), *dt = calloc((size_t)n, sizeof *dt);
    float *B = calloc((size_t)n * S, sizeof *B), *C = calloc((size_t)n * S, sizeof *C);
    float A = v.A[1];
    assert_non_null(x);
    assert_non_null(dt);
    assert_non_null(B);
    assert_non_null(C);
    for (int t = 0; t < n; t++) {
        memcpy(x + (size_t)t * P, v.x + ssd_x_off(&s, 0, 1, n) + (size_t)(n - 1 - t) * P, (size_t)P * sizeof *x);
        memcpy(B + (size_t)t * S, v.b + (size_t)(n - 1 - t) * S, (size_t)S * sizeof *B);
        memcpy(C + (size_t)t * S, v.c + (size_t)(n - 1 - t) * S, (size_t)S * sizeof *C);
        dt[t] = v.dt[ssd_dt_off(&s, 0, 1, n) + (size_t)(n - 1 - t)];
    }
    struct ssd_view rv = { .x = x, .dt = dt, .A = &A, .b = B, .c = C };
    double *fwd = malloc((size_t)n * P * sizeof *fwd), *bwd = malloc((size_t)n * P * sizeof *bwd);
    double *both = malloc((size_t)n * P * sizeof *both);
    assert_non_null(fwd);
    assert_non_null(bwd);
    assert_non_null(both);
    struct kb_shape c1 = s;
    c1.causal = 1;
    assert_int_equal(ssd_reference_recurrent(&c1, &v, 0, 1, n, fwd), 0);
    assert_int_equal(ssd_reference_recurrent(&r, &rv, 0, 0, n, bwd), 0);
    assert_int_equal(ssd_reference_recurrent(&s, &v, 0, 1, n, both), 0);
    double e = 0, ref = 0;
    for (int t = 0; t < n; t++) {
        double cb = 0;
        for (int i = 0; i < S; i++)
            cb += (double)v.c[(size_t)t * S + i] * v.b[(size_t)t * S + i];
        const double w = v.dt[ssd_dt_off(&s, 0, 1, n) + (size_t)t];
        for (int p = 0; p < P; p++) {
            double want = fwd[(size_t)t * P + p] + bwd[(size_t)(n - 1 - t) * P + p] -
                          w * cb * v.x[ssd_x_off(&s, 0, 1, n) + (size_t)t * P + p];
            e += (both[(size_t)t * P + p] - want) * (both[(size_t)t * P + p] - want);
            ref += want * want;
        }
    }
    assert_true(sqrt(e / ref) < 1e-12);
    free(x), free(dt), free(B), free(C), free(fwd), free(bwd), free(both);
    kb_operands_free(&io);
}

/* verify's restarted recurrence (ssd_reference_rows) against the full one, where restarts happen:
 * the last heads forget within ~150 tokens, the sampled rows lie 300-700 apart. */
static void test_restarted_rows_equal_full_scan(void **state)
{
    (void)state;
    struct kb_shape s = shape_of(1, 8, 2, 3001, 16, 8, 64, 1);
    struct kb_operands io;
    memset(&io, 0, sizeof io);
    char err[256];
    assert_int_equal(kb_op_attention_ssd.inputs(&io, &s, KB_DTYPE_F32, 77, err, sizeof err), KB_OK);
    const struct ssd_view v = ssd_view_of(&io);
    const long rows[] = { 0, 1, 2, 300, 301, 1000, 1700, 2999, 3000 };
    const int nrows = (int)(sizeof rows / sizeof rows[0]), P = s.head_dim;
    double *full = malloc((size_t)s.seq_len * P * sizeof *full), *got = malloc((size_t)nrows * P * sizeof *got);
    double *want = malloc((size_t)nrows * P * sizeof *want);
    assert_non_null(full);
    assert_non_null(got);
    assert_non_null(want);
    for (int h = 0; h < s.heads; h++) {
        assert_int_equal(ssd_reference_recurrent(&s, &v, 0, h, s.seq_len, full), 0);
        assert_int_equal(ssd_reference_rows(&s, &v, 0, h, rows, nrows, got), 0);
        for (int r = 0; r < nrows; r++)
            memcpy(want + (size_t)r * P, full + (size_t)rows[r] * P, (size_t)P * sizeof *want);
        double e = rel_l2_dd(got, want, (size_t)nrows * P);
        if (!(e < 1e-12))
            fail_msg("head %d: restarted rows differ from the full scan by %.3g", h, e);
    }
    free(full), free(got), free(want);
    kb_operands_free(&io);
}

/* ---- the implementations -------------------------------------------------------------------- */

static const struct kb_shape *impl_shapes(size_t *n)
{
    static struct kb_shape shapes[9];
    shapes[0] = shape_of(1, 2, 1, 67, 64, 64, 16, 1);  /* N not a multiple of the chunk */
    shapes[1] = shape_of(2, 4, 2, 133, 40, 24, 32, 1); /* groups, P and S not multiples of 16 */
    shapes[2] = shape_of(1, 3, 1, 50, 17, 13, 64, 1);  /* one chunk longer than N */
    shapes[3] = shape_of(1, 2, 1, 67, 64, 64, 16, 0);  /* bidirectional */
    shapes[4] = shape_of(2, 4, 2, 99, 24, 20, 32, 0);
    shapes[5] = shape_of(1, 2, 2, 70, 33, 7, 1, 1);    /* chunk 1 */
    shapes[6] = shape_of(1, 2, 1, 301, 16, 8, 4, 0);   /* 76 chunks, bidirectional */
    /* the chunked form's row blocks (12 and 16 rows) with a partial last one, the decay factored
     * left of each block, and state rows padded past 128 floats */
    shapes[7] = shape_of(1, 2, 1, 300, 128, 40, 100, 1);
    shapes[8] = shape_of(1, 2, 1, 211, 64, 32, 100, 0);
    *n = sizeof shapes / sizeof shapes[0];
    return shapes;
}

static void check_implementations(enum kb_cpu_path path)
{
    size_t n;
    const struct kb_shape *shapes = impl_shapes(&n);
    const struct kb_kernel *k[2] = { &kb_attention_ssd_recurrent, &kb_attention_ssd_chunked };
    for (size_t i = 0; i < n; i++)
        for (int threads = 1; threads <= 2; threads++) {
            struct kb_case c[2];
            for (int j = 0; j < 2; j++) {
                c[j] = make_case(k[j], shapes[i], threads, 100 + i);
                case_setup_ok(&c[j]);
                struct kb_accuracy acc = case_run_verify(&c[j]);
                if (!acc.passed)
                    fail_msg("%s@%s path %s shape %zu: verify failed (rel L2 %.3g)", k[j]->name, k[j]->impl,
                             kb_cpu_path_name(path), i, acc.rel_l2_err);
                double e = full_error(&c[j]);
                if (!(e < 2e-6))
                    fail_msg("%s@%s path %s shape %zu threads %d: every row against the recurrence: %.3g",
                             k[j]->name, k[j]->impl, kb_cpu_path_name(path), i, threads, e);
            }
            /* chunked == recurrent on the same bytes */
            assert_memory_equal(c[0].io.buffer[KB_SSD_X], c[1].io.buffer[KB_SSD_X], c[0].io.bytes[KB_SSD_X]);
            const float *y0 = c[0].io.buffer[KB_SSD_Y], *y1 = c[1].io.buffer[KB_SSD_Y];
            size_t elems = kb_operands_elems(&c[0].io, KB_SSD_Y);
            double e = 0, r = 0;
            for (size_t t = 0; t < elems; t++) {
                e += ((double)y0[t] - y1[t]) * ((double)y0[t] - y1[t]);
                r += (double)y0[t] * y0[t];
            }
            assert_true(sqrt(e / r) < 2e-6);
            case_teardown(&c[0]);
            case_teardown(&c[1]);
        }
}

static void test_implementations_every_path(void **state)
{
    (void)state;
    case_each_path("attention.ssd@cpu.*", path_needs, check_implementations);
}

/* Decode: the one step against the state of N tokens is row N of a causal run over N + 1. */
static void test_decode_is_last_row(void **state)
{
    (void)state;
    const struct kb_kernel *k[2] = { &kb_attention_ssd_recurrent, &kb_attention_ssd_chunked };
    const int sizes[] = { 1, 16, 77 };
    for (int j = 0; j < 2; j++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct kb_shape d = shape_of(2, 4, 2, sizes[i], 40, 24, 4, 0), full = d; /* up to 20 chunks */
            d.decode = 1;
            full.seq_len = sizes[i] + 1;
            full.causal = 1;
            struct kb_case cd = make_case(k[j], d, 2, 9), cf = make_case(k[j], full, 2, 9);
            case_setup_ok(&cd);
            case_setup_ok(&cf);
            /* the same bytes: decode's N + 1 tokens are the full run's */
            for (int t = KB_SSD_X; t <= KB_SSD_C; t++)
                assert_memory_equal(cd.io.buffer[t], cf.io.buffer[t], cd.io.bytes[t]);
            struct kb_accuracy acc = case_run_verify(&cd);
            assert_true(acc.passed);
            assert_true(full_error(&cd) < 2e-6);
            acc = case_run_verify(&cd); /* repeatable: the stored state is not advanced */
            assert_true(acc.passed);
            assert_true(case_run_verify(&cf).passed);
            const float *yd = cd.io.buffer[KB_SSD_Y], *yf = cf.io.buffer[KB_SSD_Y];
            const int P = d.head_dim;
            for (int bh = 0; bh < d.batch * d.heads; bh++)
                for (int p = 0; p < P; p++) {
                    float a = yd[(size_t)bh * P + p], b = yf[((size_t)bh * full.seq_len + sizes[i]) * P + p];
                    if (!(fabsf(a - b) <= 1e-5f * (1.0f + fabsf(b))))
                        fail_msg("%s decode N=%d head %d col %d: %g, full run %g", k[j]->impl, sizes[i], bh, p, a, b);
                }
            case_teardown(&cd);
            case_teardown(&cf);
        }
}

/* ---- planted mistakes ------------------------------------------------------------------------- */

static void test_wrong_implementations_fail(void **state)
{
    (void)state;
    /* a wrong decay: A scaled by 1.5 while the kernel runs */
    struct kb_case c = make_case(&kb_attention_ssd_chunked, shape_of(1, 4, 1, 131, 32, 16, 32, 1), 1, 3);
    case_setup_ok(&c);
    float *A = c.io.buffer[KB_SSD_A], saved[4];
    memcpy(saved, A, sizeof saved);
    for (int h = 0; h < 4; h++)
        A[h] *= 1.5f;
    assert_int_equal(kb_case_run(&c), KB_OK);
    memcpy(A, saved, sizeof saved);
    struct kb_accuracy acc;
    assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
    assert_false(acc.passed);
    /* the causal scan judged as the bidirectional operation */
    c.shape.causal = 0;
    assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
    assert_false(acc.passed);
    case_teardown(&c);

    /* the bidirectional output with the diagonal counted twice */
    struct kb_case b = make_case(&kb_attention_ssd_recurrent, shape_of(1, 2, 1, 45, 16, 8, 16, 0), 1, 4);
    case_setup_ok(&b);
    assert_true(case_run_verify(&b).passed);
    const struct ssd_view v = ssd_view_of(&b.io);
    float *y = b.io.buffer[KB_SSD_Y];
    for (int h = 0; h < 2; h++)
        for (int t = 0; t < 45; t++) {
            double cb = 0;
            for (int i = 0; i < 8; i++)
                cb += (double)v.c[(size_t)t * 8 + i] * v.b[(size_t)t * 8 + i];
            double w = v.dt[ssd_dt_off(&b.shape, 0, h, 45) + t];
            for (int p = 0; p < 16; p++)
                y[((size_t)h * 45 + t) * 16 + p] += (float)(w * cb * v.x[ssd_x_off(&b.shape, 0, h, 45) + (size_t)t * 16 + p]);
        }
    assert_int_equal(kb_case_verify(&b, &acc), KB_OK);
    assert_false(acc.passed);
    case_teardown(&b);
}

/* ---- shapes and counts ------------------------------------------------------------------------ */

static void test_shape_checks(void **state)
{
    (void)state;
    char err[256];
    struct kb_shape s = shape_of(1, 4, 0, 100, 64, 64, 64, 1);
    assert_int_equal(ssd_check_shape(&s, err, sizeof err), KB_OK);
    assert_int_equal(s.kv_heads, 4); /* unset: a group per head, as the planner completes it */
    s.state = 0;
    assert_int_equal(ssd_check_shape(&s, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "state"));
    s.state = 64, s.kv_heads = 3;
    assert_int_equal(ssd_check_shape(&s, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "groups"));
    s.kv_heads = 2, s.chunk = SSD_MAX_CHUNK + 1;
    assert_int_equal(ssd_check_shape(&s, err, sizeof err), KB_UNSUPPORTED);
    /* f16 is the operation's but not the CPU kernels' */
    struct kb_case c = make_case(&kb_attention_ssd_recurrent, shape_of(1, 2, 1, 10, 8, 8, 4, 1), 1, 1);
    c.dtype = KB_DTYPE_F16;
    char e2[256] = "";
    assert_int_equal(kb_case_begin(&c, e2, sizeof e2), KB_UNSUPPORTED);
    kb_case_end(&c);
}

static void test_counts(void **state)
{
    (void)state;
    struct kb_shape s = shape_of(1, 8, 1, 4096, 64, 128, 64, 1);
    double f1 = ssd_flops(&s);
    assert_true(fabs(f1 - 8.0 * (4.0 * 4096 * 128 * 64 + 2.0 * 4096 * 64 * (128 + 64))) < 1);
    s.seq_len = 8192;
    assert_true(fabs(ssd_flops(&s) / f1 - 2.0) < 1e-12); /* linear in N */
    s.causal = 0;
    assert_true(fabs(ssd_flops(&s) / f1 - 4.0) < 1e-12); /* two scans */
    s.decode = 1;
    assert_true(fabs(ssd_flops(&s) - 8.0 * 5 * 128 * 64) < 1);
    /* decode reads and writes the float32 state: at least 8·B·H·S·P bytes, whatever N */
    double b1 = ssd_bytes(&s, KB_DTYPE_BF16);
    s.seq_len = 100000;
    assert_true(ssd_bytes(&s, KB_DTYPE_BF16) == b1 && b1 >= 8.0 * 8 * 128 * 64);
    s.decode = 0;
    assert_true(ssd_bytes(&s, KB_DTYPE_BF16) < ssd_bytes(&s, KB_DTYPE_F32));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_form_equals_recurrence),
        cmocka_unit_test(test_bidirectional_is_two_scans),
        cmocka_unit_test(test_restarted_rows_equal_full_scan),
        cmocka_unit_test(test_implementations_every_path),
        cmocka_unit_test(test_decode_is_last_row),
        cmocka_unit_test(test_wrong_implementations_fail),
        cmocka_unit_test(test_shape_checks),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
