/* test_verify.c - the attention kernels against the float64 reference: the flash kernel on
 * every SIMD path this CPU runs, over causal, GQA, ragged and multi-thread shapes; planted bugs
 * (a corrupted output, a kernel without its causal mask, one with the wrong scale) that verify
 * must catch; the reference's own second-method check; the analytic FLOP and byte counts; the
 * registry, dtype names and the CPU peak arithmetic. */
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
#include "harness/cpu.h"
#include "kernels/verify.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/flash_cpu.h"
#include "kernels/kernel.h"

static const char *const paths[] = { "scalar", "avx2", "avx512" };

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, int threads, uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = KB_DTYPE_F32, .threads = threads, .seed = seed };
}

/* Largest |flash − reference| over every row (not a sample), relative to the largest |ref|. */
static double full_rel_max_err(const struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    const float *q = case_tensor(c, "q").data, *k = case_tensor(c, "k").data, *v = case_tensor(c, "v").data;
    const float *o = case_tensor(c, "o").data;
    double *ref = malloc((size_t)s->head_dim * sizeof *ref);
    double max_err = 0, max_ref = 0;
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++)
            for (int i = 0; i < s->seq_len; i++) {
                attention_reference_row(s, q, k, v, b, h, i, ref);
                const float *got = o + (((size_t)b * s->heads + h) * s->seq_len + i) * s->head_dim;
                for (int j = 0; j < s->head_dim; j++) {
                    max_err = fmax(max_err, fabs(got[j] - ref[j]));
                    max_ref = fmax(max_ref, fabs(ref[j]));
                }
            }
    free(ref);
    return max_err / max_ref;
}

struct flash_shape_case {
    struct kb_shape shape;
    int threads;
};

static const struct flash_shape_case flash_shapes[] = {
    { { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 77, .head_dim = 64, .causal = 0 }, 1 },
    { { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 77, .head_dim = 64, .causal = 1 }, 1 },
    { { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 130, .head_dim = 128, .causal = 1 }, 2 },
    { { .batch = 1, .heads = 4, .kv_heads = 2, .seq_len = 130, .head_dim = 64, .causal = 0 }, 2 },
    { { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 300, .head_dim = 128, .causal = 1 }, 1 },
    /* kv_heads 0 means one KV head per query head; d not a multiple of 16 */
    { { .batch = 1, .heads = 2, .kv_heads = 0, .seq_len = 97, .head_dim = 40, .causal = 0 }, 2 },
    /* one query row and one key: the degenerate block */
    { { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 1, .head_dim = 64, .causal = 1 }, 1 },
};

static void test_flash_matches_reference_on_every_path(void **state)
{
    (void)state;
    int paths_run = 0;
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        if (!flash_isa_by_name(paths[p]))
            continue; /* this CPU lacks the instructions */
        paths_run++;
        for (size_t i = 0; i < sizeof flash_shapes / sizeof flash_shapes[0]; i++) {
            struct kb_case c = make_case(&kb_attention_flash_cpu, flash_shapes[i].shape, flash_shapes[i].threads, 7 + i);
            case_setup_ok(&c);
            assert_int_equal(flash_cpu_use_path(&c, paths[p]), 0);
            assert_int_equal(kb_case_run(&c), KB_OK);
            struct kb_accuracy acc;
            assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
            if (!acc.passed || !(acc.rel_l2_err < 1e-5))
                fail_msg("path %s shape %zu: passed %d rel_l2 %g", paths[p], i, acc.passed, acc.rel_l2_err);
            assert_true(acc.cosine > 0.999999);
            long rows = (long)c.shape.batch * c.shape.heads * c.shape.seq_len;
            assert_int_equal(acc.rows_total, rows);
            long sample[ATTENTION_VERIFY_ROWS];
            assert_int_equal(acc.rows_checked, verify_sample_rows(rows, ATTENTION_VERIFY_ROWS, c.seed, sample));
            if (rows <= ATTENTION_VERIFY_ROWS)
                assert_int_equal(acc.rows_checked, rows);
            /* every row, not just verify's sample */
            double e = full_rel_max_err(&c);
            if (!(e < 1e-5))
                fail_msg("path %s shape %zu: max relative error over all rows %g", paths[p], i, e);
            case_teardown(&c);
        }
    }
    assert_true(paths_run >= 1);
    assert_non_null(flash_isa_by_name("scalar"));
    assert_non_null(flash_isa_by_name(attention_flash_cpu_path()));
    assert_null(flash_isa_by_name("neon-on-x86"));
}

/* Same seed, same inputs and the same output on every run; another seed, other inputs. */
static void test_flash_is_repeatable_and_seeded(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 100, .head_dim = 64, .causal = 1 };
    struct kb_case a = make_case(&kb_attention_flash_cpu, s, 2, 99), b = make_case(&kb_attention_flash_cpu, s, 1, 99);
    struct kb_case other = make_case(&kb_attention_flash_cpu, s, 1, 100);
    case_setup_ok(&a);
    case_setup_ok(&b);
    case_setup_ok(&other);
    size_t nq = (size_t)s.heads * s.seq_len * s.head_dim;
    assert_memory_equal(case_tensor(&a, "q").data, case_tensor(&b, "q").data, nq * sizeof(float));
    assert_memory_not_equal(case_tensor(&a, "q").data, case_tensor(&other, "q").data, nq * sizeof(float));
    /* Q, K and V are different draws */
    assert_memory_not_equal(case_tensor(&a, "q").data, case_tensor(&a, "k").data, nq * sizeof(float));
    assert_memory_not_equal(case_tensor(&a, "k").data, case_tensor(&a, "v").data, nq * sizeof(float));
    float *first = malloc(nq * sizeof *first);
    assert_int_equal(kb_case_run(&a), KB_OK);
    memcpy(first, case_tensor(&a, "o").data, nq * sizeof *first);
    assert_int_equal(kb_case_run(&a), KB_OK);
    assert_memory_equal(first, case_tensor(&a, "o").data, nq * sizeof *first);
    /* the thread count changes the schedule, not the arithmetic of a row */
    assert_int_equal(kb_case_run(&b), KB_OK);
    assert_memory_equal(first, case_tensor(&b, "o").data, nq * sizeof *first);
    free(first);
    case_teardown(&a);
    case_teardown(&b);
    case_teardown(&other);
}

static void test_setup_rejects_bad_shapes(void **state)
{
    (void)state;
    const struct kb_kernel *ks[] = { &kb_attention_flash_cpu, &kb_attention_reference };
    for (size_t i = 0; i < 2; i++) {
        char err[256] = "";
        struct kb_case c = make_case(ks[i], (struct kb_shape){ .batch = 1, .heads = 6, .kv_heads = 4, .seq_len = 32, .head_dim = 64, .causal = 0 }, 1, 1);
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_non_null(strstr(err, "kv_heads = 4"));
        c = make_case(ks[i], (struct kb_shape){ .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 0, .head_dim = 64, .causal = 0 }, 1, 1);
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_non_null(strstr(err, "seq_len = 0"));
        c = make_case(ks[i], (struct kb_shape){ .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 16, .head_dim = 64, .causal = 0 }, 1, 1);
        /* flash takes f32 and bf16 since the catalogue issue; neither takes f16 */
        c.dtype = KB_DTYPE_F16;
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_non_null(strstr(err, "dtype f16"));
        assert_int_equal(c.io.count, 0); /* nothing stays allocated */
    }
}

/* A wrong element in a row verify checks must fail the case. */
static void test_corrupted_output_fails(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 400, .head_dim = 64, .causal = 1 };
    struct kb_case c = make_case(&kb_attention_flash_cpu, s, 2, 1234);
    case_setup_ok(&c);
    assert_int_equal(kb_case_run(&c), KB_OK);
    struct kb_accuracy acc;
    kb_case_verify(&c, &acc);
    assert_true(acc.passed);

    long total = (long)s.heads * s.seq_len, rows[ATTENTION_VERIFY_ROWS];
    long n = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, c.seed, rows);
    assert_true(n > 2 && n < total); /* a sample, so the choice of row matters */
    float *o = (float *)case_tensor(&c, "o").data;
    long row = rows[n / 2];
    float saved = o[row * s.head_dim + 5];
    o[row * s.head_dim + 5] = saved + 1.0f;
    kb_case_verify(&c, &acc);
    assert_false(acc.passed);
    assert_true(acc.max_abs_err > 0.5);

    /* a NaN anywhere checked fails whatever the error sum says */
    o[row * s.head_dim + 5] = NAN;
    kb_case_verify(&c, &acc);
    assert_false(acc.passed);

    o[row * s.head_dim + 5] = saved;
    kb_case_verify(&c, &acc);
    assert_true(acc.passed);
    case_teardown(&c);
}

/* ---- planted wrong kernels: the flash kernel with one classic mistake each ----------------- */

/* Forgets the causal mask: runs the non-causal computation on a causal case. */
static int run_without_mask(struct kb_case *c)
{
    int causal = c->shape.causal;
    c->shape.causal = 0;
    int rc = kb_attention_flash_cpu.run(c);
    c->shape.causal = causal;
    return rc;
}

/* Scales scores by 1/d instead of 1/sqrt(d): runs on Q shrunk by another 1/sqrt(d). */
static int run_with_scale_over_d(struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    float *q = (float *)case_tensor(c, "q").data;
    size_t nq = (size_t)s->batch * s->heads * s->seq_len * s->head_dim;
    float *saved = malloc(nq * sizeof *saved);
    if (!saved)
        return KB_ERROR;
    memcpy(saved, q, nq * sizeof *q);
    for (size_t i = 0; i < nq; i++)
        q[i] /= sqrtf((float)s->head_dim);
    int rc = kb_attention_flash_cpu.run(c);
    memcpy(q, saved, nq * sizeof *q);
    free(saved);
    return rc;
}

static void check_planted_kernel_fails(int (*run)(struct kb_case *), struct kb_shape s)
{
    struct kb_kernel wrong = kb_attention_flash_cpu;
    wrong.name = "test.wrong_flash";
    wrong.run = run;
    struct kb_case c = make_case(&wrong, s, 2, 77);
    case_setup_ok(&c);
    assert_int_equal(kb_case_run(&c), KB_OK);
    struct kb_accuracy acc;
    kb_case_verify(&c, &acc);
    if (acc.passed)
        fail_msg("a planted bug passed verify: rel_l2 %g tolerance %g", acc.rel_l2_err, acc.tolerance);
    assert_true(acc.rel_l2_err > acc.tolerance);
    case_teardown(&c);
}

static void test_planted_wrong_kernels_fail(void **state)
{
    (void)state;
    check_planted_kernel_fails(run_without_mask,
                               (struct kb_shape){ .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 300, .head_dim = 64, .causal = 1 });
    check_planted_kernel_fails(run_with_scale_over_d,
                               (struct kb_shape){ .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 200, .head_dim = 128, .causal = 0 });
}

/* ---- the reference kernel ----------------------------------------------------------------- */

static void test_reference_checks_itself(void **state)
{
    (void)state;
    struct kb_shape shapes[] = {
        { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 70, .head_dim = 32, .causal = 1 },
        { .batch = 1, .heads = 3, .kv_heads = 0, .seq_len = 120, .head_dim = 64, .causal = 0 },
    };
    for (size_t i = 0; i < 2; i++) {
        struct kb_case c = make_case(&kb_attention_reference, shapes[i], 2, 5 + i);
        case_setup_ok(&c);
        struct kb_accuracy acc = case_run_verify(&c);
        /* the operation's O is the float64 output rounded to float32: its only error */
        if (!acc.passed || !(acc.rel_l2_err < 1e-6))
            fail_msg("reference shape %zu: passed %d rel_l2 %g", i, acc.passed, acc.rel_l2_err);
        struct kb_tensor o = case_tensor(&c, "o");
        assert_int_equal(o.dtype, KB_DTYPE_F32);
        assert_true(o.is_output);
        assert_int_equal(o.dims[1], shapes[i].heads);
        struct kb_tensor o64 = case_tensor(&c, "o_f64");
        assert_int_equal(o64.dtype, KB_DTYPE_F64);

        /* The second method (the kernel's check) notices a wrong value in the first method's
         * float64 output that float32 rounding hides from the operation's verdict: row 0 is
         * always checked, and an error of ten float64 tolerances of the whole output's norm
         * must show. */
        double *od = (double *)o64.data, norm = 0;
        size_t elems = (size_t)o64.dims[0] * o64.dims[1] * o64.dims[2] * o64.dims[3];
        for (size_t j = 0; j < elems; j++)
            norm += od[j] * od[j];
        od[3] += 10 * verify_default_tolerance(KB_DTYPE_F64) * sqrt(norm);
        struct kb_accuracy op_only;
        assert_int_equal(c.kernel->op->verify(&c.io, &c.shape, c.dtype, c.seed, 1, &op_only), KB_OK);
        assert_true(op_only.passed);
        assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
        assert_false(acc.passed);
        case_teardown(&c);
    }
}

/* Row 0 of causal attention sees one key, so its output is that key's value row exactly. */
static void test_reference_row_first_causal_row_is_v0(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 5, .head_dim = 4, .causal = 1 };
    float q[2 * 5 * 4], k[5 * 4], v[5 * 4];
    for (int i = 0; i < 40; i++)
        q[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < 20; i++) {
        k[i] = (float)(i % 5) * 0.5f;
        v[i] = (float)i;
    }
    double out[4];
    attention_reference_row(&s, q, k, v, 0, 1, 0, out);
    for (int j = 0; j < 4; j++)
        assert_true(out[j] == v[j]);
    /* equal scores (q = 0) average the visible value rows: row 2 sees v rows 0..2 */
    memset(q, 0, sizeof q);
    attention_reference_row(&s, q, k, v, 0, 0, 2, out);
    for (int j = 0; j < 4; j++)
        assert_true(fabs(out[j] - (v[j] + v[4 + j] + v[8 + j]) / 3.0) < 1e-12);
    /* non-causal: every row sees all five */
    s.causal = 0;
    attention_reference_row(&s, q, k, v, 0, 0, 0, out);
    assert_true(fabs(out[1] - (1.0 + 5 + 9 + 13 + 17) / 5.0) < 1e-12);
}

/* ---- analytic counts ------------------------------------------------------------------------ */

static void test_flops_and_bytes(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 10, .head_dim = 8, .causal = 0 };
    /* 4·B·H·N²·d = 4·2·4·100·8 */
    assert_true(attention_flops(&s) == 25600.0);
    assert_true(kb_kernel_flops(&kb_attention_flash_cpu, &s) == 25600.0);
    /* s·B·N·d·(2H + 2H_kv) = 4·2·10·8·(8 + 4) */
    assert_true(attention_min_bytes(&s, KB_DTYPE_F32) == 7680.0);
    assert_true(attention_min_bytes(&s, KB_DTYPE_BF16) == 3840.0);
    assert_true(kb_kernel_bytes(&kb_attention_reference, &s, KB_DTYPE_F32) == 7680.0);
    s.causal = 1; /* 2·B·H·N·(N+1)·d = 2·2·4·10·11·8 */
    assert_true(attention_flops(&s) == 14080.0);
    s.kv_heads = 0; /* = heads: 4·2·10·8·(8 + 8) */
    assert_true(attention_min_bytes(&s, KB_DTYPE_F32) == 10240.0);
    /* footprints cover at least the inputs and the output */
    s.kv_heads = 2;
    assert_true(kb_kernel_footprint(&kb_attention_flash_cpu, &s, KB_DTYPE_F32) >= 4.0 * (2 * 4 + 2 * 2 + 2 * 4) * 10 * 8);
    assert_true(kb_kernel_footprint(&kb_attention_reference, &s, KB_DTYPE_F32) >= 4.0 * (2 * 4 + 2 * 2 * 2) * 10 * 8 + 8.0 * 2 * 4 * 10 * 8);
}

/* ---- registry, names ------------------------------------------------------------------------ */

static void test_registry(void **state)
{
    (void)state;
    size_t n = 0;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    assert_true(n >= 2);
    int refs = 0;
    for (size_t i = 0; i < n; i++)
        refs += all[i]->is_reference;
    assert_true(refs >= 1);
    assert_ptr_equal(kb_registry_find("attention.flash", NULL), &kb_attention_flash_cpu);
    assert_ptr_equal(kb_registry_find("attention.flash", "cpu"), &kb_attention_flash_cpu);
    assert_ptr_equal(kb_registry_find("attention.reference", "cpu.f64"), &kb_attention_reference);
    /* the tensor-core kernel exists exactly in CUDA builds, as a CUDA kernel */
    const struct kb_kernel *cuda = kb_registry_find("attention.flash", "cuda.mma");
#ifdef HAVE_CUDA
    assert_non_null(cuda);
    assert_int_equal(cuda->device, KB_DEVICE_CUDA);
#else
    assert_null(cuda);
#endif
    assert_null(kb_registry_find("attention.nope", NULL));

    assert_true(kb_kernel_matches(&kb_attention_flash_cpu, "attention.*"));
    assert_true(kb_kernel_matches(&kb_attention_reference, "attention.*"));
    assert_true(kb_kernel_matches(&kb_attention_flash_cpu, "attention.flash@cpu*"));
    assert_false(kb_kernel_matches(&kb_attention_reference, "attention.flash@cpu*"));
    assert_true(kb_kernel_matches(&kb_attention_reference, "*@cpu.f64"));
    assert_false(kb_kernel_matches(&kb_attention_flash_cpu, "attention.flash@cuda*"));
    assert_false(kb_kernel_matches(&kb_attention_flash_cpu, "moe.*"));
    /* whatever else is registered, attention.* selects only the attention family */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(kb_kernel_matches(all[i], "attention.*"), kb_kernel_family(all[i]) == KB_FAMILY_ATTENTION);
}

static void test_dtype_names(void **state)
{
    (void)state;
    for (int t = 0; t < KB_DTYPE_COUNT; t++) {
        enum kb_dtype back;
        const char *name = kb_dtype_name((enum kb_dtype)t);
        assert_non_null(name);
        assert_int_equal(kb_dtype_parse(name, &back), 0);
        assert_int_equal(back, t);
        assert_true(kb_dtype_size((enum kb_dtype)t) > 0);
    }
    assert_string_equal(kb_dtype_name(KB_DTYPE_BF16), "bf16");
    assert_null(kb_dtype_name(KB_DTYPE_COUNT));
    const struct {
        const char *name;
        enum kb_dtype t;
    } aliases[] = { { "float32", KB_DTYPE_F32 }, { "float", KB_DTYPE_F32 }, { "fp32", KB_DTYPE_F32 },
                    { "double", KB_DTYPE_F64 }, { "float64", KB_DTYPE_F64 }, { "half", KB_DTYPE_F16 },
                    { "fp16", KB_DTYPE_F16 }, { "bfloat16", KB_DTYPE_BF16 }, { "int8", KB_DTYPE_I8 },
                    { "int32", KB_DTYPE_I32 } };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        enum kb_dtype t = KB_DTYPE_COUNT;
        assert_int_equal(kb_dtype_parse(aliases[i].name, &t), 0);
        assert_int_equal(t, aliases[i].t);
    }
    enum kb_dtype t = KB_DTYPE_F64;
    assert_int_equal(kb_dtype_parse("f33", &t), -1);
    assert_int_equal(kb_dtype_parse("", &t), -1);
    assert_int_equal(t, KB_DTYPE_F64); /* untouched on failure */
    assert_true(kb_dtype_size(KB_DTYPE_F32) == 4 && kb_dtype_size(KB_DTYPE_BF16) == 2 &&
                kb_dtype_size(KB_DTYPE_I8) == 1 && kb_dtype_size(KB_DTYPE_F64) == 8);
    assert_string_equal(kb_family_name(KB_FAMILY_ATTENTION), "attention");
    assert_string_equal(kb_family_name(KB_FAMILY_MOE), "moe");
}

/* ---- CPU peak arithmetic -------------------------------------------------------------------- */

static void test_cpu_peak_and_llc(void **state)
{
    (void)state;
    struct cpu_info ci;
    memset(&ci, 0, sizeof ci);
    ci.f32_flops_per_cycle = 16;
    ci.mhz = 2000;
    assert_true(fabs(cpu_peak_f32_per_core(&ci) - 32e9) < 1);
    ci.mhz = 0;
    assert_true(cpu_peak_f32_per_core(&ci) == 0);
    assert_int_equal(cpu_llc_bytes(&ci), (size_t)32 << 20);
    ci.l2_bytes = 512 << 10;
    assert_int_equal(cpu_llc_bytes(&ci), (size_t)512 << 10);
    ci.l3_bytes = 8 << 20;
    assert_int_equal(cpu_llc_bytes(&ci), (size_t)8 << 20);

    cpu_info_read(&ci);
    assert_true(ci.logical_cpus >= 1);
    assert_true(ci.physical_cores >= 1 && ci.physical_cores <= ci.logical_cpus);
    assert_non_null(ci.peak_method);
#if defined(__x86_64__)
    /* every x86-64 has at least SSE2: a multiply and an add of 4 lanes per cycle */
    assert_true(ci.f32_flops_per_cycle >= 8);
    assert_true(ci.simd[0] != '\0');
    if (ci.has_avx512f)
        assert_non_null(strstr(ci.simd, "avx512f"));
    /* the flash kernel's dispatch and cpuid agree on what runs here */
    assert_true((flash_isa_by_name("avx2") != NULL) == (ci.has_avx2 && ci.has_fma));
    assert_true((flash_isa_by_name("avx512") != NULL) == ci.has_avx512f);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flash_matches_reference_on_every_path),
        cmocka_unit_test(test_flash_is_repeatable_and_seeded),
        cmocka_unit_test(test_setup_rejects_bad_shapes),
        cmocka_unit_test(test_corrupted_output_fails),
        cmocka_unit_test(test_planted_wrong_kernels_fail),
        cmocka_unit_test(test_reference_checks_itself),
        cmocka_unit_test(test_reference_row_first_causal_row_is_v0),
        cmocka_unit_test(test_flops_and_bytes),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_dtype_names),
        cmocka_unit_test(test_cpu_peak_and_llc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
