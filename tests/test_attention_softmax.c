/* test_attention_softmax.c - the operation attention.softmax and its implementations beyond
 * attention.flash@cpu's f32 prefill (test_verify.c): the operation's inputs (the same bytes the
 * kernels drew before operations existed; f16/bf16/i8 cases rounded to the type's values; bad
 * shapes and dtypes refused), two implementations seeing identical inputs and counting alike,
 * attention.flash@cpu's bf16 and decode modes, attention.int8@cpu bit-exact against its scalar
 * emulation on every SIMD path this CPU runs (its accuracy on outlier inputs with and without K
 * smoothing, a corrupted code its check must catch), and attention.softmax@cpu.blas against the
 * float64 reference on every row. */
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

#include "tests/kernel_case.h"
#include "harness/case.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/flash_cpu.h"
#include "kernels/attention/int8.h"
#include "kernels/attention/decode_cuda.h"
#include "kernels/attention/paged_kv.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/attention/sparse.h"
#include "kernels/quant/fp8.h"
#include "kernels/kernel.h"
#include "kernels/verify.h"

static const unsigned flash_needs[KB_PATH_COUNT] = { 0, FLASH_AVX2_NEEDS, FLASH_AVX512_NEEDS };

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, enum kb_dtype t, int threads,
                                uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = t, .threads = threads, .seed = seed };
}

/* ---- the operation ---------------------------------------------------------------------------- */

/* The operation's inputs for (shape, dtype, seed) into io (freed by the caller). */
static void op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed)
{
    char err[256] = "";
    memset(io, 0, sizeof *io);
    if (kb_op_attention_softmax.inputs(io, s, t, seed, err, sizeof err) != KB_OK)
        fail_msg("attention.softmax inputs (%s): %s", kb_dtype_name(t), err);
    assert_int_equal(io->count, 4);
    assert_string_equal(io->tensor[KB_ATTN_Q].name, "q");
    assert_string_equal(io->tensor[KB_ATTN_O].name, "o");
    assert_true(io->tensor[KB_ATTN_O].is_output && !io->tensor[KB_ATTN_V].is_output);
}

/* x is an f16 value: a multiple of its f16 step (2^(e-10) for |x| in [2^e, 2^(e+1)), 2^-24
 * below 2^-14) and within f16's range. */
static int is_f16_value(float x)
{
    float a = fabsf(x);
    if (a == 0.0f)
        return 1;
    if (a > 65504.0f)
        return 0;
    int e;
    frexpf(a, &e);
    int lsb = (e - 1 < -14 ? -14 : e - 1) - 10;
    float steps = ldexpf(a, -lsb);
    return steps == floorf(steps);
}

/* The inputs are today's draws: attention_inputs_new's for prefill, decode_query_new's Q in
 * decode (with K and V as prefill draws them), so stored results stay comparable; the padding
 * after each input is zeros. */
static void test_inputs_are_the_kernels_draws(void **state)
{
    (void)state;
    const struct kb_shape shapes[] = {
        { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 77, .head_dim = 40, .causal = 1 },
        { .batch = 1, .heads = 2, .kv_heads = 0, .seq_len = 33, .head_dim = 64, .input = KB_INPUT_OUTLIER },
        { .batch = 1, .heads = 8, .kv_heads = 2, .seq_len = 50, .head_dim = 64, .decode = 1, .input = KB_INPUT_UNIFORM },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct kb_shape s = shapes[i];
        struct kb_operands io;
        op_inputs(&io, &s, KB_DTYPE_F32, 17 + i);
        assert_true(s.kv_heads > 0); /* completed */
        struct kb_shape drawn = s;
        if (s.decode) /* K and V of decode are prefill's, drawn with a KV-sized Q */
            drawn.heads = drawn.kv_heads;
        struct attention_inputs in;
        char err[128];
        assert_int_equal(attention_inputs_new(&in, &drawn, 17 + i, err, sizeof err), KB_OK);
        size_t nkv = kb_operands_elems(&io, KB_ATTN_K), nq = kb_operands_elems(&io, KB_ATTN_Q);
        assert_int_equal(nkv, (size_t)s.batch * s.kv_heads * s.seq_len * s.head_dim);
        assert_memory_equal(io.tensor[KB_ATTN_K].data, in.k, nkv * sizeof(float));
        assert_memory_equal(io.tensor[KB_ATTN_V].data, in.v, nkv * sizeof(float));
        if (s.decode) {
            assert_int_equal(io.tensor[KB_ATTN_Q].dims[2], 1);
            assert_int_equal(io.tensor[KB_ATTN_O].dims[2], 1);
            float *q = decode_query_new(&s, 17 + i);
            assert_non_null(q);
            assert_memory_equal(io.tensor[KB_ATTN_Q].data, q, nq * sizeof(float));
            free(q);
        } else {
            assert_memory_equal(io.tensor[KB_ATTN_Q].data, in.q, nq * sizeof(float));
        }
        for (int t = KB_ATTN_Q; t <= KB_ATTN_V; t++) {
            const float *x = io.tensor[t].data;
            size_t n = kb_operands_elems(&io, t);
            assert_true(io.bytes[t] >= (n + KB_ATTN_INPUT_PAD) * sizeof(float));
            assert_true((uintptr_t)x % 64 == 0);
            for (size_t j = n; j < n + KB_ATTN_INPUT_PAD; j++)
                assert_true(x[j] == 0.0f);
        }
        attention_inputs_free(&in);
        kb_operands_free(&io);
    }
}

/* bf16 cases hold the bf16 rounding of the f32 draws; f16 cases the nearest f16 values; i8
 * cases the f16 ones (an INT8 attention quantizes from half precision). */
static void test_inputs_round_to_the_dtype(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 300, .head_dim = 64, .causal = 0 };
    s.input = KB_INPUT_OUTLIER; /* values up to about 100 and many tiny ones */
    struct kb_operands f32, bf16, f16, i8, e4m3;
    op_inputs(&f32, &s, KB_DTYPE_F32, 3);
    op_inputs(&bf16, &s, KB_DTYPE_BF16, 3);
    op_inputs(&f16, &s, KB_DTYPE_F16, 3);
    op_inputs(&i8, &s, KB_DTYPE_I8, 3);
    op_inputs(&e4m3, &s, KB_DTYPE_FP8_E4M3, 3);
    long f16_changed = 0, tiny = 0;
    for (int t = KB_ATTN_Q; t <= KB_ATTN_V; t++) {
        const float *x = f32.tensor[t].data, *b = bf16.tensor[t].data, *h = f16.tensor[t].data;
        size_t n = kb_operands_elems(&f32, t);
        for (size_t j = 0; j < n; j++) {
            assert_true(b[j] == bf16_to_f32(bf16_from_f32(x[j])));
            if (!is_f16_value(h[j]))
                fail_msg("tensor %d element %zu: %.9g is not an f16 value", t, j, (double)h[j]);
            /* the nearest: within half a step (2^-11 relative; 2^-25 absolute below 2^-14) */
            double half = fabs(x[j]) < ldexp(1, -14) ? ldexp(1, -25) : fabs(x[j]) * ldexp(1, -11);
            assert_true(fabs((double)h[j] - x[j]) <= half);
            f16_changed += h[j] != x[j];
            tiny += fabsf(x[j]) < 6.1e-5f;
        }
        assert_memory_equal(i8.tensor[t].data, f16.tensor[t].data, n * sizeof(float));
        assert_memory_equal(e4m3.tensor[t].data, f16.tensor[t].data, n * sizeof(float)); /* quantized by the kernel */
    }
    assert_true(f16_changed > 0); /* the rounding happened */
    print_message("# f16 inputs: %ld values changed, %ld below f16's normal range\n", f16_changed, tiny);
    /* the outputs start as zeros: an implementation that writes nothing fails */
    struct kb_accuracy acc;
    assert_int_equal(kb_op_attention_softmax.verify(&f32, &s, KB_DTYPE_F32, 3, 1, &acc), KB_OK);
    assert_false(acc.passed);
    kb_operands_free(&f32);
    kb_operands_free(&bf16);
    kb_operands_free(&f16);
    kb_operands_free(&i8);
    kb_operands_free(&e4m3);
}

static void test_inputs_refuse_what_is_not_defined(void **state)
{
    (void)state;
    const struct {
        struct kb_shape s;
        enum kb_dtype t;
        const char *says;
    } bad[] = {
        { { .batch = 1, .heads = 4, .kv_heads = 3, .seq_len = 16, .head_dim = 64 }, KB_DTYPE_F32, "kv_heads = 3" },
        { { .batch = 1, .heads = 4, .kv_heads = 4, .seq_len = 16, .head_dim = 0 }, KB_DTYPE_F32, "head_dim = 0" },
        { { .batch = 1, .heads = 4, .kv_heads = 4, .seq_len = 16, .head_dim = 64, .decode = 2 }, KB_DTYPE_F32, "decode = 2" },
        { { .batch = 1, .heads = 4, .kv_heads = 4, .seq_len = 16, .head_dim = 64 }, KB_DTYPE_F64, "dtype f64" },
        { { .batch = 1, .heads = 4, .kv_heads = 4, .seq_len = 16, .head_dim = 64, .page = 16 }, KB_DTYPE_F32,
          "needs decode = 1" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct kb_operands io;
        memset(&io, 0, sizeof io);
        char err[256] = "";
        struct kb_shape s = bad[i].s;
        assert_int_equal(kb_op_attention_softmax.inputs(&io, &s, bad[i].t, 1, err, sizeof err), KB_UNSUPPORTED);
        if (!strstr(err, bad[i].says))
            fail_msg("case %zu: \"%s\" does not say %s", i, err, bad[i].says);
        kb_operands_free(&io);
    }
}

/* Two (three with CBLAS) implementations of attention.softmax see byte-identical inputs for one
 * case, produce the same output within float32 error, pass the same verdict, and report the
 * same counts whatever their own traffic. */
static void test_implementations_share_inputs_and_counts(void **state)
{
    (void)state;
    const struct kb_kernel *impls[] = {
        &kb_attention_reference, &kb_attention_flash_cpu,
#ifdef HAVE_CBLAS
        &kb_attention_softmax_blas,
#endif
    };
    const size_t n = sizeof impls / sizeof impls[0];
    struct kb_shape s = { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 150, .head_dim = 64, .causal = 1 };
    struct kb_case c[3];
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(impls[i]->op, &kb_op_attention_softmax);
        c[i] = make_case(impls[i], s, KB_DTYPE_F32, 1 + (int)i, 5);
        case_setup_ok(&c[i]);
    }
    for (size_t i = 1; i < n; i++) {
        for (int t = KB_ATTN_Q; t <= KB_ATTN_V; t++) {
            assert_int_equal(c[i].io.bytes[t], c[0].io.bytes[t]);
            assert_memory_equal(c[i].io.tensor[t].data, c[0].io.tensor[t].data, c[0].io.bytes[t]); /* padding too */
        }
        assert_true(kb_kernel_flops(impls[i], &c[i].shape) == kb_kernel_flops(impls[0], &c[0].shape));
        assert_true(kb_kernel_bytes(impls[i], &c[i].shape, KB_DTYPE_F32) ==
                    kb_kernel_bytes(impls[0], &c[0].shape, KB_DTYPE_F32));
    }
    /* the counts are the catalogue's: 2·B·H·N·(N+1)·d causal, 4·B·N·d·(2H + 2H_kv) bytes */
    assert_true(kb_kernel_flops(impls[1], &c[1].shape) == 2.0 * 2 * 4 * 150 * 151 * 64);
    assert_true(kb_kernel_bytes(impls[1], &c[1].shape, KB_DTYPE_F32) == 4.0 * 2 * 150 * 64 * (2 * 4 + 2 * 2));
    for (size_t i = 0; i < n; i++) {
        struct kb_accuracy acc = case_run_verify(&c[i]);
        if (!acc.passed)
            fail_msg("%s@%s: rel_l2 %g", impls[i]->name, impls[i]->impl, acc.rel_l2_err);
    }
    const float *ref = c[0].io.tensor[KB_ATTN_O].data;
    for (size_t i = 1; i < n; i++) {
        const float *o = c[i].io.tensor[KB_ATTN_O].data;
        for (size_t j = 0; j < kb_operands_elems(&c[i].io, KB_ATTN_O); j++)
            assert_true(fabsf(o[j] - ref[j]) <= 1e-5f * (1.0f + fabsf(ref[j])));
    }
    for (size_t i = 0; i < n; i++)
        case_teardown(&c[i]);
    /* decode and the i8 rule: one formula for every implementation */
    s.decode = 1;
    assert_true(kb_kernel_flops(&kb_attention_int8_cpu, &s) == 4.0 * 2 * 4 * 150 * 64);
    assert_true(kb_kernel_bytes(&kb_attention_int8_cpu, &s, KB_DTYPE_I8) ==
                kb_kernel_bytes(&kb_attention_flash_cpu, &s, KB_DTYPE_F16));
}

/* ---- attention.flash@cpu: bf16 and decode ----------------------------------------------------- */

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
                /* float32 arithmetic on inputs the reference sees too: float32's error at bf16,
                 * far inside the operation's bf16 bound */
                if (!acc.passed || !(acc.rel_l2_err < 1e-5))
                    fail_msg("path %s shape %zu dtype %s: passed %d rel_l2 %g", kb_cpu_path_name(p), i,
                             kb_dtype_name(dt), acc.passed, acc.rel_l2_err);
                long rows = (long)shapes[i].batch * shapes[i].heads * (shapes[i].decode ? 1 : shapes[i].seq_len);
                assert_int_equal(acc.rows_total, rows);
                struct kb_tensor q = case_tensor(&c, "q"), o = case_tensor(&c, "o");
                assert_int_equal(q.dtype, KB_DTYPE_F32);
                assert_int_equal(o.dims[2], shapes[i].decode ? 1 : shapes[i].seq_len);
                if (dt == KB_DTYPE_BF16) { /* the kernel's bf16 storage holds the operation's values */
                    const uint16_t *qb = case_tensor(&c, "q_bf16").data;
                    const float *qf = q.data;
                    for (long j = 0; j < rows * shapes[i].head_dim; j++)
                        assert_true(bf16_to_f32(qb[j]) == qf[j]);
                }
                /* a corrupted output row must fail */
                float *out = kb_output(&c, KB_ATTN_O);
                out[0] += 1.0f;
                assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
                assert_false(acc.passed);
                case_teardown(&c);
            }
    }
    case_paths_end(&paths);
    struct kb_shape s = { .batch = 2, .heads = 8, .kv_heads = 2, .seq_len = 1000, .head_dim = 64, .causal = 0, .decode = 1 };
    assert_true(kb_kernel_flops(&kb_attention_flash_cpu, &s) == 4.0 * 2 * 8 * 1000 * 64);
    assert_true(kb_kernel_bytes(&kb_attention_flash_cpu, &s, KB_DTYPE_BF16) ==
                2.0 * (2.0 * 2 * 8 * 64 + 2.0 * 2 * 2 * 1000 * 64));
    assert_true(kb_kernel_axes(&kb_attention_flash_cpu) & KB_AXIS_BIT(KB_AXIS_DECODE));
    /* the implementations without a decode mode keep their axes, so their planned cases stay */
    assert_false(kb_kernel_axes(&kb_attention_reference) & KB_AXIS_BIT(KB_AXIS_DECODE));
    assert_false(kb_kernel_axes(&kb_attention_int8_cpu) & KB_AXIS_BIT(KB_AXIS_DECODE));
}

/* ---- paged KV cache (decode, page > 0) ------------------------------------------------------- */

/* A paged case holds the values of the contiguous case of the same seed, moved into a pool
 * through a block table that is a permutation (and not the identity); the reference reads
 * through it, so the paged output is judged against the same attention. */
static void test_paged_inputs_are_the_contiguous_cache_moved(void **state)
{
    (void)state;
    const int pages_of[] = { 16, 64, 7 };
    for (size_t pi = 0; pi < sizeof pages_of / sizeof pages_of[0]; pi++) {
        struct kb_shape flat = { .batch = 3, .heads = 4, .kv_heads = 2, .seq_len = 1000, .head_dim = 64, .decode = 1,
                                 .input = KB_INPUT_NORMAL };
        struct kb_shape paged = flat;
        paged.page = pages_of[pi];
        struct kb_operands a, b;
        char err[256] = "";
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        assert_int_equal(kb_op_attention_softmax.inputs(&a, &flat, KB_DTYPE_BF16, 9, err, sizeof err), KB_OK);
        assert_int_equal(kb_op_attention_softmax.inputs(&b, &paged, KB_DTYPE_BF16, 9, err, sizeof err), KB_OK);
        assert_int_equal(a.count, 4);
        assert_int_equal(b.count, 5);
        assert_string_equal(b.tensor[KB_ATTN_BLOCK_TABLE].name, "block_table");
        assert_int_equal(b.tensor[KB_ATTN_BLOCK_TABLE].dtype, KB_DTYPE_I32);
        assert_false(b.tensor[KB_ATTN_BLOCK_TABLE].is_output);
        const int64_t pages = paged_kv_pages(&paged);
        assert_int_equal(pages, (1000 + paged.page - 1) / paged.page);
        assert_int_equal(b.tensor[KB_ATTN_K].dims[0], 3 * pages);
        assert_int_equal(b.tensor[KB_ATTN_K].dims[2], paged.page);
        const int32_t *table = b.tensor[KB_ATTN_BLOCK_TABLE].data;
        char *seen = calloc((size_t)(3 * pages), 1);
        int moved = 0;
        for (int64_t i = 0; i < 3 * pages; i++) {
            assert_true(table[i] >= 0 && table[i] < 3 * pages);
            assert_false(seen[table[i]]);
            seen[table[i]] = 1;
            moved += table[i] != i;
        }
        free(seen);
        assert_true(moved > 0); /* shuffled */
        assert_memory_equal(a.tensor[KB_ATTN_Q].data, b.tensor[KB_ATTN_Q].data, a.bytes[KB_ATTN_Q]);
        for (int t = KB_ATTN_K; t <= KB_ATTN_V; t++) {
            const float *x = a.tensor[t].data, *y = b.tensor[t].data;
            for (int bb = 0; bb < 3; bb++)
                for (int h = 0; h < 2; h++)
                    for (int tok = 0; tok < 1000; tok++) {
                        const float *want = x + (((size_t)bb * 2 + h) * 1000 + tok) * 64;
                        const float *got = y + paged_kv_row(&paged, table[bb * pages + tok / paged.page], h,
                                                            tok % paged.page);
                        assert_memory_equal(want, got, 64 * sizeof(float));
                    }
        }
        /* bytes: the cache, Q and O at the dtype's size, plus the table */
        assert_true(kb_op_attention_softmax.bytes(&paged, KB_DTYPE_BF16) ==
                    kb_op_attention_softmax.bytes(&flat, KB_DTYPE_BF16) + 4.0 * 3 * pages);
        kb_operands_free(&a);
        kb_operands_free(&b);
    }
}

/* attention.flash@cpu.paged: contiguous and paged caches, odd N, batch 1 and 3, GQA, against
 * the float64 reference; a corrupted row fails; prefill is refused. */
static void test_decode_cpu_paged(void **state)
{
    (void)state;
    const int pages_of[] = { 0, 16, 64 };
    const int batches[] = { 1, 3 };
    struct case_paths paths = case_paths_start("attention.flash@cpu.paged");
    for (enum kb_cpu_path path = 0; path < KB_PATH_COUNT; path++) {
        if (!case_path_begin(&paths, path, flash_needs[path])) /* the same needs as flash's paths */
            continue;
        for (size_t pi = 0; pi < 3; pi++)
            for (size_t bi = 0; bi < 2; bi++) {
                /* d = 72: a tail past the vector loops' 16 and 32 channels; 12 heads: GQA groups
                 * of 6, more than the AVX-512 fold's 4 heads a walk */
                struct kb_shape s = { .batch = batches[bi], .heads = bi ? 12 : 8, .kv_heads = 2,
                                      .seq_len = 1000 + 97 * (int)pi, .head_dim = bi ? 72 : 64, .decode = 1,
                                      .page = pages_of[pi], .input = KB_INPUT_NORMAL };
                struct kb_case c = make_case(&kb_attention_decode_cpu, s, KB_DTYPE_F32, 1 + (int)bi, 70 + pi);
                case_setup_ok(&c);
                struct kb_accuracy acc = case_run_verify(&c);
                if (!acc.passed || !(acc.rel_l2_err < 1e-5))
                    fail_msg("path %s page %d batch %d: passed %d rel_l2 %g", kb_cpu_path_name(path), s.page, s.batch,
                             acc.passed, acc.rel_l2_err);
                assert_int_equal(acc.rows_total, (long)s.batch * s.heads);
                float *out = kb_output(&c, KB_ATTN_O);
                out[(size_t)(s.batch * s.heads - 1) * s.head_dim] += 1.0f;
                assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
                assert_false(acc.passed);
                case_teardown(&c);
            }
    }
    case_paths_end(&paths);
    struct kb_shape prefill = { .batch = 1, .heads = 2, .kv_heads = 2, .seq_len = 64, .head_dim = 64 };
    struct kb_case c = make_case(&kb_attention_decode_cpu, prefill, KB_DTYPE_F32, 1, 1);
    char err[256] = "";
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "decode = 1"));
    kb_case_end(&c);
    assert_true(kb_kernel_axes(&kb_attention_decode_cpu) & KB_AXIS_BIT(KB_AXIS_PAGE));
    assert_false(kb_kernel_axes(&kb_attention_flash_cpu) & KB_AXIS_BIT(KB_AXIS_PAGE));
}

/* flash-decoding's split rule (attention.flash@cuda.decode): every split non-empty and covering
 * N, enough CTAs to fill the GPU where N allows, no split shorter than the minimum, and never
 * more CTAs than the target (a few past it were a nearly empty second wave: at 32 rows and 4 per
 * SM, 17 splits put 544 blocks on 528 slots). */
static void test_decode_cuda_split_rule(void **state)
{
    (void)state;
    const int ns[] = { 1, 255, 1000, 4097, 65536, 1 << 20 };
    const long rows_of[] = { 1, 8, 32, 64, 1024 };
    const int per_sm_of[] = { DECODE_CUDA_CTAS_PER_SM, 8 }, sms = 132;
    for (size_t p = 0; p < sizeof per_sm_of / sizeof per_sm_of[0]; p++)
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
            for (size_t r = 0; r < sizeof rows_of / sizeof rows_of[0]; r++) {
                const long rows = rows_of[r], target = (long)per_sm_of[p] * sms;
                int splits, chunk;
                decode_cuda_split(ns[i], rows, sms, per_sm_of[p], &splits, &chunk);
                assert_true(splits >= 1 && splits <= DECODE_CUDA_MAX_SPLITS);
                assert_true((long)splits * chunk >= ns[i]);
                assert_true((long)(splits - 1) * chunk < ns[i]); /* the last split holds a token */
                if (splits > 1) {
                    assert_true(chunk > DECODE_CUDA_MIN_SPLIT / 2); /* ceil(N / ceil(N / MIN)) */
                    assert_true((long)splits * rows <= target);      /* no spill into a second wave */
                }
                if ((long)ns[i] >= target * DECODE_CUDA_MIN_SPLIT && rows <= 32) { /* the GPU is filled */
                    const long want = target < DECODE_CUDA_MAX_SPLITS * rows ? target : DECODE_CUDA_MAX_SPLITS * rows;
                    assert_true((long)splits * rows > want - rows);
                }
            }
    assert_int_equal(decode_cuda_head_chunks(1), 1);
    assert_int_equal(decode_cuda_head_chunks(8), 1);
    assert_int_equal(decode_cuda_head_chunks(9), 2);
}

/* ---- attention.int8@cpu -------------------------------------------------------------------------- */

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
        /* the AVX2 level includes AVX-VNNI: the 256-bit vpdpbusd wins there when the CPU has it */
        const char *level_best = p == KB_PATH_AVX2 && kb_cpu_has(INT8_AVXVNNI_NEEDS) ? "avxvnni" : int8_paths[p];
        assert_string_equal(int8_isa_get(NULL)->name, level_best); /* the mask chose it */
        const char *names[2] = { int8_paths[p], strcmp(level_best, int8_paths[p]) != 0 ? level_best : NULL };
        for (int ni = 0; ni < 2 && names[ni]; ni++)
        for (size_t i = 0; i < sizeof int8_shapes / sizeof int8_shapes[0]; i++)
            for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_OUTLIER; input++) {
                struct kb_shape s = int8_shapes[i];
                s.input = input;
                struct kb_case c = make_case(&kb_attention_int8_cpu, s, KB_DTYPE_I8, 1 + (int)(i % 2), 11 + i);
                case_setup_ok(&c);
                assert_int_equal(int8_cpu_use_path(&c, names[ni]), 0);
                struct kb_accuracy acc = case_run_verify(&c);
                if (!acc.passed || acc.exact_mismatches != 0 || !(acc.cosine >= 0.999))
                    fail_msg("path %s shape %zu input %d: passed %d mismatches %ld of %ld rel_l2 %g cosine %.6f",
                             names[ni], i, input, acc.passed, acc.exact_mismatches, acc.exact_checked,
                             acc.rel_l2_err, acc.cosine);
                assert_true(acc.exact_checked > (long)s.batch * s.heads * s.seq_len * s.head_dim);
                /* quantization costs something: the error is real, not the float path's */
                assert_true(acc.rel_l2_err > 1e-4);
                assert_true(acc.tolerance == verify_default_tolerance(KB_DTYPE_I8));
                /* the quantization was timed on its own, outside run */
                assert_true(int8_cpu_quantize_seconds(&c) > 0);
                case_teardown(&c);
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
        case_teardown(&c);
    }
    print_message("# int8 on outliers: smoothed rel_l2 %.3g cosine %.6f, unsmoothed rel_l2 %.3g cosine %.6f\n",
                  err[1], cosine[1], err[0], cosine[0]);
    assert_true(cosine[1] >= 0.999);
    assert_true(cosine[0] < cosine[1]);
    assert_true(err[0] > 3 * err[1]);
}

/* A wrong code changes the output too little for the operation's bound: the kernel's check
 * must fail it. */
static void test_int8_corrupted_code_fails(void **state)
{
    (void)state;
    struct kb_shape s = { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 100, .head_dim = 64, .causal = 0 };
    struct kb_case c = make_case(&kb_attention_int8_cpu, s, KB_DTYPE_I8, 1, 4);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    int8_cpu_corrupt_code(&c);
    struct kb_accuracy acc;
    assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
    assert_false(acc.passed);
    assert_true(acc.exact_mismatches >= 1);
    case_teardown(&c);
    /* and the dtype rule: INT8 QK only, refused before anything is allocated */
    c = make_case(&kb_attention_int8_cpu, s, KB_DTYPE_F32, 1, 4);
    char err[256];
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    assert_int_equal(c.io.count, 0);
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

/* attention.int8@cuda.wgmma-fp8's V layout (int8.h): the key order of a group of 32 is the one
 * in which fp8_pv.cuh packs P from the f32 accumulator of S into the 8-bit A fragment, derived
 * here again from the two fragment layouts; and the codes are V per channel, transposed, in
 * that order, zero past N. */
static void test_int8_fp8_v_layout(void **state)
{
    (void)state;
    int seen[32] = { 0 };
    for (int p = 0; p < 32; p++) {
        assert_in_range(int8_fp8_pv_key(p), 0, 31);
        seen[int8_fp8_pv_key(p)]++;
    }
    for (int k = 0; k < 32; k++)
        assert_int_equal(seen[k], 1);
    /* thread t4 of a quad, row g: A register 0 (k = 4t4 + e) packs accumulators {0, 1, 4, 5}[e]
     * of the group's 16, register 2 (k = 16 + 4t4 + e) those + 8; accumulator i holds column
     * 8(i / 4) + 2t4 + i % 2 (rows g for i % 4 < 2) */
    static const int packed[4] = { 0, 1, 4, 5 };
    for (int t4 = 0; t4 < 4; t4++)
        for (int h = 0; h < 2; h++)
            for (int e = 0; e < 4; e++) {
                int i = packed[e] + 8 * h, col = 8 * (i / 4) + 2 * t4 + i % 2;
                assert_int_equal(int8_fp8_pv_key(16 * h + 4 * t4 + e), col);
            }

    enum { N = 37, D = 3 };
    float v[N * D];
    for (int t = 0; t < N; t++) {
        v[t * D] = (float)(t - 18) / 4.0f; /* absmax 4.5 at t = 0 (-4.5) and 36 (+4.5) */
        v[t * D + 1] = 0.0f;               /* an all-zero channel: scale 0, codes 0 */
        v[t * D + 2] = t == 5 ? 1e-3f : 1e-6f;
    }
    const int keys = int8_fp8_v_keys(N);
    assert_int_equal(keys, 128);
    uint8_t vt[D * 128];
    float scale[D];
    memset(vt, 0xAB, sizeof vt);
    int8_fp8_quantize_v(v, N, D, vt, scale);
    assert_true(scale[0] == 4.5f / 448.0f);
    assert_true(scale[1] == 0.0f);
    assert_true(scale[2] == 1e-3f / 448.0f);
    for (int p = 0; p < keys; p++) {
        int t = p / 32 * 32 + int8_fp8_pv_key(p % 32);
        for (int c = 0; c < D; c++) {
            uint8_t want = t < N ? fp8_encode(v[t * D + c] * (448.0f / (c == 0 ? 4.5f : 1e-3f)), FP8_E4M3) : 0;
            if (c == 1)
                want = 0;
            assert_int_equal(vt[c * keys + p], want);
        }
    }
    /* the extremes: ±absmax is ±448 (0x7E, 0xFE); key 37 = N is padding */
    int pos[32];
    for (int p = 0; p < 32; p++)
        pos[int8_fp8_pv_key(p)] = p;
    assert_int_equal(pos[4], 8); /* 16·0 + 4·2 + 0 -> 16·0 + 8·0 + 2·2 + 0 */
    assert_int_equal(vt[pos[0]], 0xFE);           /* key 0, channel 0: -4.5 */
    assert_int_equal(vt[32 + pos[4]], 0x7E);      /* key 36: +4.5 */
    assert_int_equal(vt[2 * keys + pos[5]], 0x7E); /* key 5 of channel 2: its maximum */
    assert_int_equal(vt[32 + pos[5]], 0);         /* key 37: past N */

    /* Q and K blocks in e4m3 (attention.flash@cuda.wgmma-fp8): absmax of x − shift to ±448 */
    float x[2 * 3] = { 1.0f, -2.5f, 0.5f, 0.25f, 0.0f, -0.001f }, shift[3] = { 0.0f, 0.0f, 0.5f };
    uint8_t codes[2 * 3];
    float sc = int8_e4m3_quantize_block(x, 2, 3, shift, codes);
    assert_true(sc == 2.5f / 448.0f);
    assert_int_equal(codes[1], 0xFE);                                   /* -2.5 -> -448 */
    assert_int_equal(codes[2], 0x00);                                   /* 0.5 − 0.5 */
    assert_int_equal(codes[0], fp8_encode(1.0f * (448.0f / 2.5f), FP8_E4M3)); /* 179.2 -> 176 */
    assert_true(fp8_decode(codes[0], FP8_E4M3) == 176.0f);
    assert_int_equal(codes[4], 0x00);
    assert_true(fp8_decode(codes[5], FP8_E4M3) == -88.0f);              /* -0.501 · 179.2 = -89.8 */
    float zero[4] = { 0 };
    assert_true(int8_e4m3_quantize_block(zero, 1, 4, NULL, codes) == 0.0f);
    for (int i = 0; i < 4; i++)
        assert_int_equal(codes[i], 0);
}

/* ---- attention.softmax@cpu.blas ------------------------------------------------------------ */

static void test_softmax_blas(void **state)
{
    (void)state;
#ifdef HAVE_CBLAS
    const struct kb_shape shapes[] = {
        { .batch = 1, .heads = 2, .kv_heads = 1, .seq_len = 77, .head_dim = 16, .causal = 1 },
        { .batch = 2, .heads = 2, .kv_heads = 2, .seq_len = 130, .head_dim = 32, .causal = 0 },
    };
    for (size_t i = 0; i < 2; i++) {
        struct kb_case c = make_case(&kb_attention_softmax_blas, shapes[i], KB_DTYPE_F32, 2, 21 + i);
        case_setup_ok(&c);
        assert_int_equal(kb_case_run(&c), KB_OK);
        const struct kb_shape *s = &c.shape;
        struct kb_tensor q = case_tensor(&c, "q"), k = case_tensor(&c, "k"), v = case_tensor(&c, "v");
        const float *o = case_tensor(&c, "o").data;
        double row[32];
        for (int b = 0; b < s->batch; b++)
            for (int h = 0; h < s->heads; h++)
                for (int r = 0; r < s->seq_len; r++) {
                    attention_reference_row(s, q.data, k.data, v.data, b, h, r, row);
                    const float *got = o + (((size_t)b * s->heads + h) * s->seq_len + r) * s->head_dim;
                    for (int j = 0; j < s->head_dim; j++)
                        assert_true(fabs(got[j] - row[j]) <= 1e-5 * (1 + fabs(row[j])));
                }
        struct kb_accuracy acc;
        assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
        assert_true(acc.passed);
        /* planted: the causal mask forgotten (run as non-causal, judged as causal) */
        if (s->causal) {
            c.shape.causal = 0;
            assert_int_equal(kb_case_run(&c), KB_OK);
            c.shape.causal = 1;
            assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
            assert_false(acc.passed);
        }
        case_teardown(&c);
    }
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inputs_are_the_kernels_draws),
        cmocka_unit_test(test_inputs_round_to_the_dtype),
        cmocka_unit_test(test_inputs_refuse_what_is_not_defined),
        cmocka_unit_test(test_implementations_share_inputs_and_counts),
        cmocka_unit_test(test_flash_bf16_and_decode),
        cmocka_unit_test(test_paged_inputs_are_the_contiguous_cache_moved),
        cmocka_unit_test(test_decode_cpu_paged),
        cmocka_unit_test(test_decode_cuda_split_rule),
        cmocka_unit_test(test_int8_bit_exact_and_accurate),
        cmocka_unit_test(test_int8_smoothing_matters_on_outliers),
        cmocka_unit_test(test_int8_corrupted_code_fails),
        cmocka_unit_test(test_int8_quantizer),
        cmocka_unit_test(test_int8_fp8_v_layout),
        cmocka_unit_test(test_softmax_blas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
