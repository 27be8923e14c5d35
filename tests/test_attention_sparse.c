/* test_attention_sparse.c - attention.window (fused and naive), attention.block_sparse,
 * attention.int8 and attention.flash's bf16 and decode modes against their float64 references:
 * several seeds and shapes (N not a multiple of the tiles or blocks, GQA, windows wider than N),
 * the INT8 kernel bit-exact against its scalar emulation on every SIMD path this CPU runs, its
 * accuracy on outlier inputs with and without K smoothing, and planted wrong answers (a window
 * off by one, a changed block choice, a corrupted code, a corrupted output) that verify must
 * catch; the analytic pair counts and the block density; the window and block-sparse operations'
 * inputs, the same bytes and counts for every implementation. */
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
#include "kernels/attention/int8.h"
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

/* ---- int8 ------------------------------------------------------------------------------------ */

/* The INT8 scores' path names, and what each needs, by kb_cpu_path. */
static const char *const int8_paths[KB_PATH_COUNT] = { "scalar", "avx2", "avx512vnni" };
static const unsigned int8_needs[KB_PATH_COUNT] = { 0, INT8_AVX2_NEEDS, INT8_AVX512_NEEDS };

static const struct kb_shape int8_shapes[] = {
    { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 77, .head_dim = 64, .causal = 0 },
    { .batch = 1, .heads = 1, .kv_heads = 1, .seq_len = 77, .head_dim = 64, .causal = 1 },
    { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 200, .head_dim = 128, .causal = 1 }, /* GQA, N not a multiple of the 64-token blocks */
    { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 130, .head_dim = 40, .causal = 0 },  /* d not a multiple of 16 */
    { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 129, .head_dim = 66, .causal = 1 },  /* d not a multiple of 4: padded channels */
};

static void test_int8_bit_exact_and_accurate(void **state)
{
    (void)state;
    struct case_paths paths = case_paths_start("attention.int8@cpu");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&paths, p, int8_needs[p]))
            continue;
        assert_string_equal(int8_isa_get(NULL)->name, int8_paths[p]); /* the mask chose it */
        for (size_t i = 0; i < sizeof int8_shapes / sizeof int8_shapes[0]; i++)
            for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_OUTLIER; input++) {
                struct kb_shape s = int8_shapes[i];
                s.input = input;
                struct kb_case c = make_case(&kb_attention_int8_cpu, s, KB_DTYPE_I8, 1 + (int)(i % 2), 11 + i);
                case_setup_ok(&c);
                assert_int_equal(int8_cpu_use_path(&c, int8_paths[p]), 0);
                struct kb_accuracy acc = case_run_verify(&c);
                if (!acc.passed || acc.exact_mismatches != 0 || !(acc.cosine >= 0.999))
                    fail_msg("path %s shape %zu input %d: passed %d mismatches %ld of %ld rel_l2 %g cosine %.6f",
                             int8_paths[p], i, input, acc.passed, acc.exact_mismatches, acc.exact_checked,
                             acc.rel_l2_err, acc.cosine);
                assert_true(acc.exact_checked > (long)s.batch * s.heads * s.seq_len * s.head_dim);
                /* quantization costs something: the error is real, not the float path's */
                assert_true(acc.rel_l2_err > 1e-4);
                c.kernel->teardown(&c);
            }
    }
    case_paths_end(&paths);
    assert_null(int8_isa_get("neon"));
}

/* The claim SageAttention makes for smoothing K: on inputs whose K has channel offsets, without
 * smoothing the per-block scale is set by the offsets and the error grows many times. */
static void test_int8_smoothing_matters_on_outliers(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 256, .head_dim = 128, .causal = 1 };
    s.input = KB_INPUT_OUTLIER;
    double err[2], cosine[2];
    for (int smooth = 0; smooth <= 1; smooth++) {
        struct kb_case c = make_case(&kb_attention_int8_cpu, s, KB_DTYPE_I8, 1, 21);
        case_setup_ok(&c);
        int8_cpu_set_smoothing(&c, smooth);
        struct kb_accuracy acc = case_run_verify(&c);
        assert_int_equal(acc.exact_mismatches, 0); /* the emulation follows the switch */
        err[smooth] = acc.rel_l2_err;
        cosine[smooth] = acc.cosine;
        c.kernel->teardown(&c);
    }
    print_message("# int8 on outliers: smoothed rel_l2 %.3g cosine %.6f, unsmoothed rel_l2 %.3g cosine %.6f\n",
                  err[1], cosine[1], err[0], cosine[0]);
    assert_true(cosine[1] >= 0.999);
    assert_true(cosine[0] < cosine[1]);
    assert_true(err[0] > 3 * err[1]);
}

static void test_int8_corrupted_code_fails(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 100, .head_dim = 64, .causal = 0 };
    struct kb_case c = make_case(&kb_attention_int8_cpu, s, KB_DTYPE_I8, 1, 4);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    int8_cpu_corrupt_code(&c);
    struct kb_accuracy acc;
    assert_int_equal(c.kernel->verify(&c, &acc), KB_OK);
    assert_false(acc.passed);
    assert_true(acc.exact_mismatches >= 1);
    /* and the dtype rule: INT8 QK only */
    c.kernel->teardown(&c);
    c = make_case(&kb_attention_int8_cpu, s, KB_DTYPE_F32, 1, 4);
    char err[256];
    assert_int_equal(c.kernel->setup(&c, err, sizeof err), KB_UNSUPPORTED);
}

/* The emulation's quantizer: symmetric, |code| <= 127, scale = max/127, zero blocks stay zero. */
static void test_int8_quantizer(void **state)
{
    (void)state;
    float x[2 * 3] = { 1.0f, -2.54f, 0.5f, 0.0f, 0.02f, -0.01f };
    int8_t codes[2 * 4];
    float scale = int8_quantize_block(x, 2, 3, NULL, codes);
    assert_true(scale == 2.54f / 127.0f);
    assert_int_equal(codes[1], -127);
    assert_int_equal(codes[0], 50);
    assert_int_equal(codes[2], 25);
    assert_int_equal(codes[3], 0); /* padding */
    assert_int_equal(codes[5], 1);
    float zero[4] = { 0 };
    assert_true(int8_quantize_block(zero, 1, 4, NULL, codes) == 0.0f);
    for (int i = 0; i < 4; i++)
        assert_int_equal(codes[i], 0);
    int8_t a[4] = { 127, -127, 3, 0 }, b[4] = { 127, 127, -2, 5 };
    assert_int_equal(int8_dot(a, b, 4), -6);
}

/* ---- flash: bf16 and decode ------------------------------------------------------------------ */

static void test_flash_bf16_and_decode(void **state)
{
    (void)state;
    const struct kb_shape shapes[] = {
        { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 77, .head_dim = 64, .causal = 1, .decode = 0 },
        { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 200, .head_dim = 128, .causal = 0, .decode = 0 },
        { .batch = 1, .heads = 8, .kv_heads = 2, .seq_len = 300, .head_dim = 64, .causal = 0, .decode = 1 },  /* decode, GQA group of 4 */
        { .batch = 2, .heads = 4, .kv_heads = 4, .seq_len = 1000, .head_dim = 40, .causal = 1, .decode = 1 }, /* decode ignores causal */
        { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 1, .head_dim = 64, .causal = 0, .decode = 1 },    /* a one-token cache */
    };
    struct case_paths paths = case_paths_start("attention.flash@cpu");
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
        if (!case_path_begin(&paths, p, flash_needs[p]))
            continue;
        assert_string_equal(flash_isa_best()->name, kb_cpu_path_name(p)); /* the mask chose it */
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; t < 2; t++) {
            enum kb_dtype dt = t ? KB_DTYPE_BF16 : KB_DTYPE_F32;
            struct kb_case c = make_case(&kb_attention_flash_cpu, shapes[i], dt, 1 + (int)(i % 2), 40 + i);
            case_setup_ok(&c);
            struct kb_accuracy acc = case_run_verify(&c);
            if (!acc.passed || !(acc.rel_l2_err < 1e-5))
                fail_msg("path %s shape %zu dtype %s: passed %d rel_l2 %g", kb_cpu_path_name(p), i, kb_dtype_name(dt),
                         acc.passed, acc.rel_l2_err);
            long rows = (long)shapes[i].batch * shapes[i].heads * (shapes[i].decode ? 1 : shapes[i].seq_len);
            assert_int_equal(acc.rows_total, rows);
            struct kb_tensor q = case_tensor(&c, "q"), o = case_tensor(&c, "o");
            assert_int_equal(q.dtype, dt);
            assert_int_equal(o.dims[2], shapes[i].decode ? 1 : shapes[i].seq_len);
            if (dt == KB_DTYPE_BF16) { /* stored bits are the rounded float32 draws */
                const uint16_t *qb = q.data;
                assert_true(bf16_to_f32(qb[0]) == bf16_to_f32(bf16_from_f32(bf16_to_f32(qb[0]))));
            }
            /* a corrupted output row must fail */
            float *out = (float *)(uintptr_t)o.data;
            out[0] += 1.0f;
            assert_int_equal(c.kernel->verify(&c, &acc), KB_OK);
            assert_false(acc.passed);
            c.kernel->teardown(&c);
        }
    }
    case_paths_end(&paths);
    struct kb_shape s = { .batch = 2, .heads = 8, .kv_heads = 2, .seq_len = 1000, .head_dim = 64, .causal = 0, .decode = 1 };
    assert_true(kb_attention_flash_cpu.flops(&s) == 4.0 * 2 * 8 * 1000 * 64);
    assert_true(kb_attention_flash_cpu.bytes(&s, KB_DTYPE_BF16) == 2.0 * (2.0 * 2 * 8 * 64 + 2.0 * 2 * 2 * 1000 * 64));
    assert_true(kb_kernel_axes(&kb_attention_flash_cpu) & KB_AXIS_BIT(KB_AXIS_DECODE));
}

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
        cmocka_unit_test(test_int8_bit_exact_and_accurate),
        cmocka_unit_test(test_int8_smoothing_matters_on_outliers),
        cmocka_unit_test(test_int8_corrupted_code_fails),
        cmocka_unit_test(test_int8_quantizer),
        cmocka_unit_test(test_flash_bf16_and_decode),
        cmocka_unit_test(test_bf16_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
