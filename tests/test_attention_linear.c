/* test_attention_linear.c - the linear-attention kernels against their float64 definitions:
 * the two reference forms against each other; attention.linear@cpu (non-causal, causal chunked,
 * decay, both feature maps, GQA, N not a multiple of the chunk, every SIMD path this CPU runs,
 * one and two threads) and @cpu.naive against the long-double recurrence on every row; the
 * decode step against the causal kernel's last row; attention.gla against its recurrence;
 * planted mistakes that verify must catch; shape checks; the analytic counts' growth with N.
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

#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/kernel.h"

/* The SIMD paths by kb_cpu_path (their names are kb_cpu_path_name's) and what each needs. */
static const char *const paths[KB_PATH_COUNT] = { "scalar", "avx2", "avx512" };
static const unsigned path_needs[KB_PATH_COUNT] = { 0, LINEAR_AVX2_NEEDS, LINEAR_AVX512_NEEDS };

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, int threads, uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = KB_DTYPE_F32, .threads = threads, .seed = seed };
}

static struct kb_accuracy verify_of(struct kb_case *c)
{
    struct kb_accuracy acc;
    assert_int_equal(c->kernel->verify(c, &acc), KB_OK);
    return acc;
}

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

/* Every row of a linear-attention case's output against the long-double recurrence. */
static double linear_full_error(const struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    struct kb_tensor q = case_tensor(c, "q"), k = case_tensor(c, "k"), v = case_tensor(c, "v");
    struct kb_tensor o = case_tensor(c, "o");
    size_t per_head = (size_t)s->seq_len * s->head_dim;
    double *ref = malloc(per_head * sizeof *ref), worst = 0;
    assert_non_null(ref);
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++) {
            linear_reference_recurrent(s, q.data, k.data, v.data, b, h, ref);
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
        struct kb_case c = make_case(&kb_attention_linear_cpu, shapes[i], 1, 11 + i);
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
        c.kernel->teardown(&c);
    }
    /* GLA: closed form with cumulative log-gates against the recurrence */
    struct kb_shape gs = lin_shape(1, 2, 1, 60, 8, 1, 16, 0, 0);
    struct kb_case g = make_case(&kb_attention_gla_cpu, gs, 1, 5);
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
    g.kernel->teardown(&g);
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
                struct kb_case c = make_case(&kb_attention_linear_cpu, lin_cases[i].shape, lin_cases[i].threads, seed * 31 + i);
                case_setup_ok(&c);
                assert_int_equal(linear_cpu_use_path(&c, paths[p]), 0);
                assert_int_equal(c.kernel->run(&c), KB_OK);
                double err = linear_full_error(&c);
                if (err > 2e-6)
                    fail_msg("path %s case %zu seed %llu: rel L2 %.3g against the recurrence", paths[p], i,
                             (unsigned long long)seed, err);
                struct kb_accuracy acc = verify_of(&c);
                assert_true(acc.passed);
                assert_true(acc.rows_checked > 0);
                c.kernel->teardown(&c);
            }
    }
    case_paths_end(&run);
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
            struct kb_case c = make_case(&kb_attention_linear_naive, s, lin_cases[i].threads, 7 + i);
            case_setup_ok(&c);
            assert_int_equal(linear_naive_use_path(&c, paths[p]), 0);
            assert_int_equal(c.kernel->run(&c), KB_OK);
            double err = linear_full_error(&c);
            if (err > 2e-6)
                fail_msg("naive path %s case %zu: rel L2 %.3g", paths[p], i, err);
            assert_true(verify_of(&c).passed);
            c.kernel->teardown(&c);
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
        struct kb_case c = make_case(&kb_attention_linear_cpu, s, 1, 42);
        case_setup_ok(&c);
        assert_int_equal(c.kernel->run(&c), KB_OK);
        const float *o = case_tensor(&c, "o").data;
        if (!first) {
            first = malloc(n * sizeof *first);
            memcpy(first, o, n * sizeof *first);
        } else {
            for (size_t e = 0; e < n; e++)
                assert_true(fabsf(o[e] - first[e]) <= 1e-5f * (1.0f + fabsf(first[e])));
        }
        c.kernel->teardown(&c);
    }
    free(first);
}

/* The decode step equals the causal kernel's row N over the same N + 1 tokens, repeats exactly,
 * and its state moved. */
static void test_decode_step(void **state)
{
    (void)state;
    for (int decay = 0; decay <= 1; decay++) {
        struct kb_shape ds = lin_shape(2, 4, 2, 300, 32, 1, 64, KB_FEATURE_ELU1, decay);
        ds.decode = 1;
        struct kb_case dc = make_case(&kb_attention_linear_cpu, ds, 2, 9);
        case_setup_ok(&dc);
        assert_int_equal(dc.kernel->run(&dc), KB_OK);
        struct kb_shape cs = ds;
        cs.decode = 0;
        cs.seq_len = 301;
        struct kb_case cc = make_case(&kb_attention_linear_cpu, cs, 1, 9);
        case_setup_ok(&cc);
        assert_int_equal(cc.kernel->run(&cc), KB_OK);
        const float *od = case_tensor(&dc, "o").data, *oc = case_tensor(&cc, "o").data;
        assert_int_equal(case_tensor(&dc, "o").dims[2], 1);
        for (int bh = 0; bh < 8; bh++)
            for (int j = 0; j < 32; j++) {
                float want = oc[((size_t)bh * 301 + 300) * 32 + j];
                assert_true(fabsf(od[bh * 32 + j] - want) <= 1e-5f * (1.0f + fabsf(want)));
            }
        float first[8 * 32];
        memcpy(first, od, sizeof first);
        assert_int_equal(dc.kernel->run(&dc), KB_OK);
        assert_memory_equal(first, od, sizeof first);
        struct kb_tensor st = case_tensor(&dc, "state"), next = case_tensor(&dc, "state_next");
        assert_false(st.is_output);
        assert_true(next.is_output);
        assert_memory_not_equal(st.data, next.data, 33 * 32 * sizeof(float));
        assert_true(verify_of(&dc).passed);
        assert_int_equal(verify_of(&dc).rows_checked, 8);
        dc.kernel->teardown(&dc);
        cc.kernel->teardown(&cc);
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
            struct kb_case c = make_case(&kb_attention_gla_cpu, cases[i].shape, cases[i].threads, 3 + i);
            case_setup_ok(&c);
            assert_int_equal(gla_cpu_use_path(&c, paths[p]), 0);
            assert_int_equal(c.kernel->run(&c), KB_OK);
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
            assert_true(verify_of(&c).passed);
            c.kernel->teardown(&c);
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
    struct kb_case c = make_case(&kb_attention_linear_cpu, s, 1, 9);
    case_setup_ok(&c);
    assert_int_equal(c.kernel->run(&c), KB_OK);
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
    assert_false(verify_of(&c).passed); /* the float32 kernel's own verify: 1e-4 */
    c.kernel->teardown(&c);
}

static void test_planted_mistakes_fail(void **state)
{
    (void)state;
    /* one output element corrupted: every row is checked at this size */
    struct kb_shape s = lin_shape(1, 2, 1, 64, 16, 1, 16, KB_FEATURE_ELU1, 1);
    struct kb_case c = make_case(&kb_attention_linear_cpu, s, 1, 3);
    case_setup_ok(&c);
    assert_int_equal(c.kernel->run(&c), KB_OK);
    assert_true(verify_of(&c).passed);
    float *o = (float *)case_tensor(&c, "o").data;
    o[100] += 0.5f;
    assert_false(verify_of(&c).passed);
    /* decay forgotten: run without, judged with */
    c.shape.decay = 0;
    assert_int_equal(c.kernel->run(&c), KB_OK);
    c.shape.decay = 1;
    assert_false(verify_of(&c).passed);
    /* causal mask forgotten */
    c.shape.causal = 0;
    c.shape.decay = 0;
    assert_int_equal(c.kernel->run(&c), KB_OK);
    c.shape.causal = 1;
    assert_false(verify_of(&c).passed);
    c.kernel->teardown(&c);

    /* the wrong feature map in the naive kernel */
    struct kb_shape ns = lin_shape(1, 2, 2, 50, 16, 1, 0, KB_FEATURE_ELU1, 0);
    struct kb_case n = make_case(&kb_attention_linear_naive, ns, 1, 4);
    case_setup_ok(&n);
    n.shape.feature = KB_FEATURE_RELU;
    assert_int_equal(n.kernel->run(&n), KB_OK);
    n.shape.feature = KB_FEATURE_ELU1;
    assert_false(verify_of(&n).passed);
    n.kernel->teardown(&n);

    /* decode with the context's state lost */
    struct kb_shape ds = lin_shape(1, 2, 2, 100, 16, 1, 32, KB_FEATURE_RELU, 0);
    ds.decode = 1;
    struct kb_case d = make_case(&kb_attention_linear_cpu, ds, 1, 5);
    case_setup_ok(&d);
    memset((void *)case_tensor(&d, "state").data, 0, (size_t)2 * 17 * 16 * sizeof(float));
    assert_int_equal(d.kernel->run(&d), KB_OK);
    assert_false(verify_of(&d).passed);
    d.kernel->teardown(&d);

    /* GLA with its gates ignored (all α = 1) */
    struct kb_shape gs = { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 80, .head_dim = 16, .chunk = 16 };
    struct kb_case g = make_case(&kb_attention_gla_cpu, gs, 1, 6);
    case_setup_ok(&g);
    assert_int_equal(g.kernel->run(&g), KB_OK);
    assert_true(verify_of(&g).passed);
    struct kb_tensor gt = case_tensor(&g, "log_gates");
    size_t ng = (size_t)2 * 80 * 16;
    float *saved = malloc(ng * sizeof *saved);
    memcpy(saved, gt.data, ng * sizeof *saved);
    memset((void *)gt.data, 0, ng * sizeof(float));
    assert_int_equal(g.kernel->run(&g), KB_OK);
    memcpy((void *)gt.data, saved, ng * sizeof *saved);
    assert_false(verify_of(&g).passed);
    free(saved);
    g.kernel->teardown(&g);
}

/* ---- shapes and counts ------------------------------------------------------------------- */

static void test_setup_rejects_bad_shapes(void **state)
{
    (void)state;
    char err[256];
    struct kb_case c = make_case(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 0, 16, KB_FEATURE_ELU1, 1), 1, 1);
    assert_int_equal(c.kernel->setup(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "decay"));
    c = make_case(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 1, 16, 3, 0), 1, 1);
    assert_int_equal(c.kernel->setup(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "feature"));
    c = make_case(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 1, 0, KB_FEATURE_ELU1, 0), 1, 1);
    assert_int_equal(c.kernel->setup(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "chunk"));
    c = make_case(&kb_attention_linear_naive, lin_shape(1, 6, 4, 32, 8, 1, 0, KB_FEATURE_ELU1, 0), 1, 1);
    assert_int_equal(c.kernel->setup(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "kv_heads"));
    struct kb_shape gs = { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 2000, .head_dim = 8, .chunk = GLA_MAX_CHUNK + 1 };
    c = make_case(&kb_attention_gla_cpu, gs, 1, 1);
    assert_int_equal(c.kernel->setup(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "chunk"));
    c = make_case(&kb_attention_linear_cpu, lin_shape(1, 2, 2, 32, 8, 1, 16, KB_FEATURE_ELU1, 0), 1, 1);
    c.dtype = KB_DTYPE_BF16;
    assert_int_equal(c.kernel->setup(&c, err, sizeof err), KB_UNSUPPORTED);
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
    assert_true(k->axes == kb_attention_gla_cpu.axes);
    struct kb_shape s = { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 4099, .head_dim = 128, .chunk = 64 };
    assert_true(k->flops(&s) == kb_attention_gla_cpu.flops(&s));
    assert_true(k->bytes(&s, KB_DTYPE_BF16) == kb_attention_gla_cpu.bytes(&s, KB_DTYPE_BF16));
    char err[256] = "";
    s.chunk = 32;
    struct kb_case c = make_case(k, s, 1, 1);
    c.dtype = KB_DTYPE_BF16;
    assert_int_equal(k->setup(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "chunk 64"));
    assert_null(c.state);
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
    assert_true(kb_attention_linear_naive.flops(&s2) == linear_flops(&s2));
    assert_true(kb_attention_linear_naive.bytes(&s2, KB_DTYPE_F32) == linear_bytes(&s2, KB_DTYPE_F32));
    struct kb_shape other_chunk = s;
    other_chunk.chunk = 256; /* and the chunk, the algorithm's choice, does not change it */
    assert_true(linear_flops(&other_chunk) == linear_flops(&s));
    s.decode = s2.decode = 1;
    assert_true(linear_flops(&s2) == linear_flops(&s));                       /* decode: flat */
    assert_true(linear_bytes(&s2, KB_DTYPE_F32) == linear_bytes(&s, KB_DTYPE_F32));
    assert_true(kb_attention_linear_cpu.footprint(&s2, KB_DTYPE_F32) > kb_attention_linear_cpu.footprint(&s, KB_DTYPE_F32));
    /* the naive kernel's footprint holds an N×N matrix */
    s.decode = 0;
    assert_true(kb_attention_linear_naive.footprint(&s, KB_DTYPE_F32) > 4.0 * 4096.0 * 4096.0);
    /* λ_h: RetNet's 1 − 2^(−5−h) at 8 heads */
    for (int h = 0; h < 8; h++)
        assert_true(fabs(linear_decay_lambda(h, 8) - (1.0 - exp2(-5.0 - h))) < 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_forms_agree),
        cmocka_unit_test(test_linear_matches_recurrence_on_every_path),
        cmocka_unit_test(test_naive_matches_recurrence),
        cmocka_unit_test(test_linear_result_independent_of_chunk),
        cmocka_unit_test(test_decode_step),
        cmocka_unit_test(test_gla_matches_recurrence),
        cmocka_unit_test(test_planted_mistakes_fail),
        cmocka_unit_test(test_verify_tolerance_is_the_callers),
        cmocka_unit_test(test_setup_rejects_bad_shapes),
        cmocka_unit_test(test_counts_scale_as_the_algorithms),
        cmocka_unit_test(test_gla_cuda_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
