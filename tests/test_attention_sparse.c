/* test_attention_sparse.c - attention.window (fused and naive) and attention.block_sparse
 * against their float64 references: several seeds and shapes (N not a multiple of the tiles or
 * blocks, GQA, windows wider than N), and planted wrong answers (a window off by one, a changed
 * block choice, a corrupted output) that verify must catch; the analytic pair counts and the
 * block density; bf16 rounding; the window and block-sparse operations' inputs, the same bytes
 * and counts for every implementation. (attention.int8 and attention.flash's bf16 and decode
 * modes: test_attention_softmax.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/kernel_case.h"
#include "harness/case.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/sparse_ops.h"
#include "kernels/attention/tile_cpu.h"
#include "kernels/kernel.h"

/* What each path of the flash micro-kernels needs: window, block-sparse and flash share them. */
static const unsigned flash_needs[KB_PATH_COUNT] = { 0, FLASH_AVX2_NEEDS, FLASH_AVX512_NEEDS };

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, enum kb_dtype t, int threads,
                                uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = t, .threads = threads, .seed = seed };
}

/* ---- window ---------------------------------------------------------------------------------- */

static const struct kb_shape window_shapes[] = {
    { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 77, .head_dim = 64, .causal = 0, .decode = 0, .window = 16 },
    { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 300, .head_dim = 64, .causal = 0, .decode = 0, .window = 100 },  /* window not a multiple of 16, GQA */
    { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 250, .head_dim = 128, .causal = 0, .decode = 0, .window = 128 },
    { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 97, .head_dim = 40, .causal = 0, .decode = 0, .window = 1000 },  /* window wider than N: plain causal attention; d % 16 != 0 */
    { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 130, .head_dim = 64, .causal = 0, .decode = 0, .window = 1 },    /* each query sees only itself: O = V */
};

/* The fused kernel on every path this CPU runs (the defect of issue 15 was on the AVX-512 one);
 * the naive one has no SIMD path and runs once. */
static void test_window_matches_reference(void **state)
{
    (void)state;
    const struct kb_kernel *ks[] = { &kb_attention_window_cpu, &kb_attention_window_naive };
    struct case_paths paths = case_paths_start("attention.window@cpu");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&paths, p, flash_needs[p]))
            continue;
    for (size_t k = 0; k < (p == KB_PATH_SCALAR ? 2u : 1u); k++)
        for (size_t i = 0; i < sizeof window_shapes / sizeof window_shapes[0]; i++)
            for (uint64_t seed = 1; seed <= 2; seed++) {
                struct kb_case c = make_case(ks[k], window_shapes[i], KB_DTYPE_F32, 1 + (int)(i % 2), seed * 31 + i);
                case_setup_ok(&c);
                struct kb_accuracy acc = case_run_verify(&c);
                if (!acc.passed || !(acc.rel_l2_err < 1e-5) || !(acc.cosine > 0.999999))
                    fail_msg("%s path %s shape %zu seed %llu: passed %d rel_l2 %g", ks[k]->impl, kb_cpu_path_name(p), i,
                             (unsigned long long)seed, acc.passed, acc.rel_l2_err);
                if (window_shapes[i].window == 1) { /* softmax over one key: exactly that key's V */
                    const float *o = case_tensor(&c, "o").data, *v = case_tensor(&c, "v").data;
                    for (int j = 0; j < 130 * 64; j++)
                        assert_float_equal(o[j], v[j], 1e-6);
                }
                case_teardown(&c);
            }
    }
    case_paths_end(&paths);
}

/* The window defect of issue 15: a masked key's probability must be an exact zero, not exp2's
 * clamp 2^-126. Rows whose interval starts inside a key block (every window row once N > W)
 * otherwise accumulated 2^-126·v into a zero output, a subnormal, and every later FMA on it took
 * a microcode assist (5x slower on AVX-512). On every path: each has its own exp2. */
static void test_tile_masked_keys_are_exact_zeros(void **state)
{
    (void)state;
    const int d = 64, rows = FLASH_MR, keys = 64;
    float *mem = aligned_alloc(64, (tile_scratch_floats(rows, d) + 16) * sizeof(float));
    float *v = aligned_alloc(64, (size_t)(keys * d + 64) * sizeof(float));
    assert_non_null(mem);
    assert_non_null(v);
    for (int j = 0; j < keys * d + 64; j++)
        v[j] = 0.5f + (float)(j % 7) * 0.1f;
    struct case_paths paths = case_paths_start("tile_update (window, block_sparse, int8)");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&paths, p, flash_needs[p]))
            continue;
        struct tile t;
        tile_bind(&t, flash_isa_best(), d, rows, mem);
        tile_begin(&t, rows);
        for (int r = 0; r < rows; r++) {
            t.lo[r] = 10 + r; /* the interval starts inside the block */
            t.hi[r] = 40 + r;
            for (int j = 0; j < keys; j++)
                t.s[(size_t)r * FLASH_BC + j] = 0.25f * (float)((j + r) % 5);
        }
        tile_update(&t, 0, keys, v);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < keys; j++)
                if ((j < t.lo[r] || j >= t.hi[r]) && t.s[(size_t)r * FLASH_BC + j] != 0.0f)
                    fail_msg("path %s row %d key %d outside [%d, %d): probability %g, not 0", kb_cpu_path_name(p), r, j,
                             t.lo[r], t.hi[r], (double)t.s[(size_t)r * FLASH_BC + j]);
            for (int c = 0; c < d; c++)
                assert_true(fpclassify(t.o[(size_t)r * t.ldo + c]) == FP_NORMAL);
        }
    }
    case_paths_end(&paths);
    free(mem);
    free(v);
}

/* The fused window kernel run with W + 1 but judged as W: one extra key per row must fail. */
static void test_window_off_by_one_fails(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 200, .head_dim = 64, .causal = 0, .decode = 0, .window = 32 };
    struct kb_case c = make_case(&kb_attention_window_cpu, s, KB_DTYPE_F32, 1, 5);
    c.shape.window = 33;
    case_setup_ok(&c);
    assert_int_equal(kb_case_run(&c), KB_OK);
    c.shape.window = 32;
    struct kb_accuracy acc;
    assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
    assert_false(acc.passed);
    assert_true(acc.rel_l2_err > 1e-3);
    case_teardown(&c);
}

static void test_window_counts(void **state)
{
    (void)state;
    assert_true(window_pairs(10, 100) == 55.0); /* N <= W: the causal triangle */
    assert_true(window_pairs(10, 1) == 10.0);
    assert_true(window_pairs(10, 4) == 10.0 + 6 * 4.0);
    struct kb_shape s = { .batch = 2, .heads = 3, .kv_heads = 3, .seq_len = 10, .head_dim = 8, .causal = 0, .decode = 0, .window = 4 };
    assert_true(window_flops(&s) == 4.0 * 2 * 3 * 8 * 34);
    /* linear in N once N > W: doubling N past W doubles the work, less the first triangle */
    s.seq_len = 1 << 16;
    s.window = 512;
    double f1 = window_flops(&s);
    s.seq_len = 1 << 17;
    assert_true(fabs(window_flops(&s) / f1 - 2.0) < 0.01);
    char err[128];
    s.window = 0;
    assert_int_equal(window_check_shape(&s, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "window = 0"));
}

/* ---- block sparse ---------------------------------------------------------------------------- */

static const struct kb_shape bsa_shapes[] = {
    { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 300, .head_dim = 64, .causal = 0, .decode = 0, .window = 0, .block = 32, .topk_blocks = 2 },
    { .batch = 1, .heads = 4, .kv_heads = 2, .seq_len = 333, .head_dim = 64, .causal = 0, .decode = 0, .window = 0, .block = 50, .topk_blocks = 3 },   /* N and block not multiples of 16, GQA */
    { .batch = 2, .heads = 2, .kv_heads = 1, .seq_len = 520, .head_dim = 128, .causal = 0, .decode = 0, .window = 0, .block = 128, .topk_blocks = 1 }, /* block > FLASH_BC... no: = FLASH_BC; last block short */
    { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 700, .head_dim = 64, .causal = 0, .decode = 0, .window = 0, .block = 200, .topk_blocks = 2 },  /* blocks wider than a key block of the tiles */
    { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 100, .head_dim = 32, .causal = 0, .decode = 0, .window = 0, .block = 16, .topk_blocks = 50 },  /* topk beyond the past: dense causal attention */
};

static void test_block_sparse_matches_reference(void **state)
{
    (void)state;
    struct case_paths paths = case_paths_start("attention.block_sparse@cpu");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&paths, p, flash_needs[p]))
            continue;
    for (size_t i = 0; i < sizeof bsa_shapes / sizeof bsa_shapes[0]; i++)
        for (uint64_t seed = 1; seed <= 2; seed++) {
            struct kb_case c = make_case(&kb_attention_block_sparse_cpu, bsa_shapes[i], KB_DTYPE_F32, 1 + (int)(i % 2),
                                         seed * 17 + i);
            case_setup_ok(&c);
            struct kb_accuracy acc = case_run_verify(&c);
            if (!acc.passed || !(acc.rel_l2_err < 1e-5) || acc.exact_mismatches != 0)
                fail_msg("path %s shape %zu seed %llu: passed %d rel_l2 %g mismatches %ld", kb_cpu_path_name(p), i,
                         (unsigned long long)seed, acc.passed, acc.rel_l2_err, acc.exact_mismatches);
            /* every past block of every query block was considered */
            int nb = bsa_blocks(&c.shape);
            assert_int_equal(acc.exact_checked, (long)c.shape.batch * c.shape.heads * nb * (nb - 1) / 2);
            case_teardown(&c);
        }
    }
    case_paths_end(&paths);
}

/* With topk >= the past, block-sparse attention is causal attention: compare with flash. */
static void test_block_sparse_dense_equals_causal_flash(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 150, .head_dim = 64, .causal = 1, .decode = 0, .window = 0, .block = 32, .topk_blocks = 10 };
    struct kb_case b = make_case(&kb_attention_block_sparse_cpu, s, KB_DTYPE_F32, 1, 9);
    struct kb_case f = make_case(&kb_attention_flash_cpu, s, KB_DTYPE_F32, 1, 9);
    case_setup_ok(&b);
    case_setup_ok(&f);
    assert_int_equal(kb_case_run(&b), KB_OK);
    assert_int_equal(kb_case_run(&f), KB_OK);
    const float *ob = case_tensor(&b, "o").data, *of = case_tensor(&f, "o").data;
    for (int j = 0; j < 2 * 150 * 64; j++)
        assert_float_equal(ob[j], of[j], 1e-5);
    case_teardown(&b);
    case_teardown(&f);
}

/* A changed block choice must show as a selection mismatch and fail, even though the output
 * itself was computed with the kernel's own (unchanged) choice. */
static void test_block_sparse_wrong_choice_fails(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 512, .head_dim = 64, .causal = 0, .decode = 0, .window = 0, .block = 32, .topk_blocks = 3 };
    struct kb_case c = make_case(&kb_attention_block_sparse_cpu, s, KB_DTYPE_F32, 1, 3);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    int *keep = (int *)(uintptr_t)case_tensor(&c, "kept_blocks").data;
    int last = (bsa_blocks(&s) - 1) * s.topk_blocks; /* the last query block: 15 past blocks, keeps 3 */
    keep[last] = keep[last] == 0 ? 1 : keep[last] - 1;
    if (keep[last] == keep[last + 1])
        keep[last] = keep[last] == 0 ? 14 : 0;
    struct kb_accuracy acc;
    assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
    assert_false(acc.passed);
    assert_true(acc.exact_mismatches >= 1);
    /* the output alone still agrees: the mismatch is what failed it */
    assert_true(acc.rel_l2_err < 1e-5);
    case_teardown(&c);
}

static void test_block_sparse_counts(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 256, .head_dim = 16, .causal = 0, .decode = 0, .window = 0, .block = 32, .topk_blocks = 2 }; /* 8 blocks */
    assert_int_equal(bsa_blocks(&s), 8);
    /* kept: 1 + 2 + 3·6 = 21 of 1 + 2 + ... + 8 = 36 causal blocks */
    assert_true(fabs(bsa_density(&s) - 21.0 / 36.0) < 1e-15);
    /* pairs: per query block 32·kept_past·32 + the 32·33/2 triangle */
    assert_true(bsa_pairs(&s) == 32.0 * 32 * (0 + 1 + 2 * 6) + 8 * 528.0);
    s.topk_blocks = 100; /* dense: the causal triangle */
    assert_true(bsa_pairs(&s) == 256.0 * 257 / 2);
    assert_true(fabs(bsa_density(&s) - 1.0) < 1e-15);
    /* the selection keeps the best-scoring past blocks, ties to the lower index, ascending */
    double q[2] = { 1, 0 }, k[5 * 2] = { 0.5, 0, 3, 0, 1, 9, 3, -1, 2, 0 }, score[5];
    int keep[3];
    bsa_select(q, k, 2, 5, 3, score, keep);
    assert_int_equal(keep[0], 1);
    assert_int_equal(keep[1], 3);
    assert_int_equal(keep[2], 4);
    char err[128];
    s.block = 0;
    assert_int_equal(bsa_check_shape(&s, err, sizeof err), KB_UNSUPPORTED);
}

/* ---- the operations own inputs and counts ------------------------------------------------- */

/* attention.window@cpu and @cpu.naive of one case see byte-identical inputs (the family's
 * generator's, as before the operations owned them), report the same counts and pass the same
 * verdict on outputs that agree. */
static void test_window_impls_share_inputs_and_counts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof window_shapes / sizeof window_shapes[0]; i++) {
        struct kb_case a = make_case(&kb_attention_window_cpu, window_shapes[i], KB_DTYPE_F32, 1, 90 + i);
        struct kb_case b = make_case(&kb_attention_window_naive, window_shapes[i], KB_DTYPE_F32, 2, 90 + i);
        case_setup_ok(&a);
        case_setup_ok(&b);
        assert_ptr_equal(a.kernel->op, &kb_op_attention_window);
        assert_ptr_equal(b.kernel->op, a.kernel->op);
        struct attention_inputs in;
        char err[256];
        assert_int_equal(attention_inputs_new(&in, &a.shape, a.seed, err, sizeof err), KB_OK);
        const float *drawn[3] = { in.q, in.k, in.v };
        for (int t = KB_WIN_Q; t <= KB_WIN_V; t++) {
            size_t bytes = kb_operands_elems(&a.io, t) * sizeof(float);
            assert_memory_equal(a.io.tensor[t].data, b.io.tensor[t].data, bytes);
            assert_memory_equal(a.io.tensor[t].data, drawn[t], bytes);
        }
        attention_inputs_free(&in);
        assert_true(kb_kernel_flops(a.kernel, &a.shape) == kb_kernel_flops(b.kernel, &b.shape));
        assert_true(kb_kernel_bytes(a.kernel, &a.shape, KB_DTYPE_F32) == kb_kernel_bytes(b.kernel, &b.shape, KB_DTYPE_F32));
        struct kb_accuracy ra = case_run_verify(&a), rb = case_run_verify(&b);
        assert_true(ra.passed && rb.passed);
        const float *oa = case_tensor(&a, "o").data, *ob = case_tensor(&b, "o").data;
        for (size_t e = 0; e < kb_operands_elems(&a.io, KB_WIN_O); e++)
            assert_true(fabsf(oa[e] - ob[e]) <= 1e-5f * (1.0f + fabsf(oa[e])));
        case_teardown(&a);
        case_teardown(&b);
    }
}

/* attention.block_sparse's operands: Q, K, V as the family draws them, O and the kept blocks as
 * outputs; a kernel that writes no choice at all (the zeroed output) fails on the choice. */
static void test_block_sparse_operands(void **state)
{
    (void)state;
    struct kb_shape s = bsa_shapes[1];
    struct kb_case c = make_case(&kb_attention_block_sparse_cpu, s, KB_DTYPE_F32, 1, 5);
    case_setup_ok(&c);
    struct kb_tensor kept = case_tensor(&c, "kept_blocks");
    assert_int_equal(kept.dtype, KB_DTYPE_I32);
    assert_true(kept.is_output);
    assert_int_equal(kept.dims[2], bsa_blocks(&c.shape));
    assert_int_equal(kept.dims[3], s.topk_blocks);
    assert_false(case_tensor(&c, "q").is_output);
    assert_true(case_tensor(&c, "o").is_output);
    struct attention_inputs in;
    char err[256];
    assert_int_equal(attention_inputs_new(&in, &c.shape, c.seed, err, sizeof err), KB_OK);
    assert_memory_equal(kb_input(&c, KB_BSA_K), in.k, kb_operands_elems(&c.io, KB_BSA_K) * sizeof(float));
    attention_inputs_free(&in);
    struct kb_accuracy acc;
    assert_int_equal(kb_case_verify(&c, &acc), KB_OK); /* judged before any run */
    assert_false(acc.passed);
    assert_true(acc.exact_mismatches > 0);
    case_teardown(&c);
}

/* bf16 and f16 cases (attention.block_sparse@cuda.mma's): the inputs are the f32 draws rounded
 * to the type, and the choice verify expects is made from the rounded values; the CPU
 * implementation, which computes in f32 only, refuses them. */
static void test_block_sparse_half_dtypes(void **state)
{
    (void)state;
    struct kb_shape s = bsa_shapes[1];
    const enum kb_dtype types[] = { KB_DTYPE_BF16, KB_DTYPE_F16 };
    assert_true(kb_op_attention_block_sparse.dtypes & KB_DTYPE_BIT(KB_DTYPE_BF16));
    for (int i = 0; i < 2; i++) {
        struct kb_operands io, f32;
        char err[256] = "";
        struct kb_shape a = s, b = s;
        memset(&io, 0, sizeof io);
        memset(&f32, 0, sizeof f32);
        assert_int_equal(kb_op_attention_block_sparse.inputs(&io, &a, types[i], 5, err, sizeof err), KB_OK);
        assert_int_equal(kb_op_attention_block_sparse.inputs(&f32, &b, KB_DTYPE_F32, 5, err, sizeof err), KB_OK);
        const float *x = io.tensor[KB_BSA_Q].data, *y = f32.tensor[KB_BSA_Q].data;
        size_t differ = 0;
        for (size_t j = 0; j < kb_operands_elems(&io, KB_BSA_Q); j++) {
            if (types[i] == KB_DTYPE_BF16)
                assert_true(bf16_to_f32(bf16_from_f32(x[j])) == x[j]); /* a bf16 value */
            assert_true(fabsf(x[j] - y[j]) <= 1e-2f * (1.0f + fabsf(y[j])));
            differ += x[j] != y[j];
        }
        assert_true(differ > 0);
        kb_operands_free(&io);
        kb_operands_free(&f32);
    }
    struct kb_case c = make_case(&kb_attention_block_sparse_cpu, s, KB_DTYPE_BF16, 1, 5);
    char err[256] = "";
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    kb_case_end(&c);
}

/* ---- bf16 ------------------------------------------------------------------------------------ */

static void test_bf16_rounding(void **state)
{
    (void)state;
    assert_int_equal(bf16_from_f32(1.0f), 0x3F80);
    /* 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even (1.0) */
    assert_int_equal(bf16_from_f32(1.00390625f), 0x3F80);
    assert_int_equal(bf16_from_f32(1.01171875f), 0x3F82); /* halfway, odd below: rounds up */
    assert_true(bf16_to_f32(bf16_from_f32(-3.5f)) == -3.5f);
    assert_true(isnan(bf16_to_f32(bf16_from_f32(NAN))));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_matches_reference),
        cmocka_unit_test(test_window_off_by_one_fails),
        cmocka_unit_test(test_tile_masked_keys_are_exact_zeros),
        cmocka_unit_test(test_window_counts),
        cmocka_unit_test(test_block_sparse_matches_reference),
        cmocka_unit_test(test_block_sparse_dense_equals_causal_flash),
        cmocka_unit_test(test_block_sparse_wrong_choice_fails),
        cmocka_unit_test(test_block_sparse_counts),
        cmocka_unit_test(test_window_impls_share_inputs_and_counts),
        cmocka_unit_test(test_block_sparse_operands),
        cmocka_unit_test(test_block_sparse_half_dtypes),
        cmocka_unit_test(test_bf16_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
