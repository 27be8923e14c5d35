/* test_attention_hybrid.c - attention.hybrid (kernels/attention/hybrid_ops.h): which layers are
 * softmax for each ratio (L a multiple of r + 1 or not), the memory count against a hand count
 * and the kernel's counters, the all-softmax stack against L separate attention.flash@cpu cases
 * and the all-linear ones against attention.linear@cpu and attention.gla@cpu (bit for bit: the
 * same implementations on the same bytes), every ratio verified at odd sizes with GQA (gla
 * layers too; their decode refused), decode against the last row of the
 * prefill of N + 1 tokens, a wrong implementation (softmax run where linear belongs) and a
 * spoiled layer caught by verify, and bad shapes refused. Cases are driven through
 * tests/kernel_case.h and harness/case.h, as the runner drives them. */
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
#include "kernels/attention/attention.h"
#include "kernels/attention/hybrid.h"
#include "kernels/attention/linear.h"
#include "kernels/kernel.h"
#include "tests/kernel_case.h"

static struct kb_shape hyb_shape(int b, int h, int hkv, int n, int d, int layers, int ratio, int decode)
{
    return (struct kb_shape){ .batch = b, .heads = h, .kv_heads = hkv, .seq_len = n, .head_dim = d,
                              .layers = layers, .ratio = ratio, .decode = decode, .input = KB_INPUT_NORMAL,
                              .linear_kind = KB_LINEAR_KIND_LINEAR };
}

static struct kb_case hyb_case(const struct kb_kernel *k, struct kb_shape s, uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = KB_DTYPE_F32, .threads = 1, .seed = seed };
}

/* Layer l's output block of a hybrid case (its first B·H·M·d floats). */
static const float *layer_output(const struct kb_case *c, int l)
{
    const struct kb_shape *s = &c->shape;
    size_t stride = hybrid_layer_rows(hybrid_o_rows(s), s->head_dim) * (size_t)s->head_dim;
    return (const float *)case_tensor(c, "o").data + (size_t)l * stride;
}

/* ---- layer placement ------------------------------------------------------------------------ */

static void expect_layers(int ratio, int layers, const char *softmax_mask)
{
    for (int l = 0; l < layers; l++) {
        int want = softmax_mask[l] == 'S';
        if (hybrid_layer_is_softmax(ratio, l) != want)
            fail_msg("ratio %s, L = %d: layer %d should be %s", kb_axis_value_name(KB_AXIS_RATIO, ratio), layers, l,
                     want ? "softmax" : "linear");
    }
    int count = 0;
    for (int l = 0; l < layers; l++)
        count += softmax_mask[l] == 'S';
    assert_int_equal(hybrid_softmax_layers(ratio, layers), count);
}

static void test_layer_placement(void **state)
{
    (void)state;
    /* every (r+1)-th layer softmax: r linear layers, then one softmax layer */
    expect_layers(KB_RATIO_SOFTMAX, 5, "SSSSS");
    expect_layers(KB_RATIO_LINEAR, 5, "LLLLL");
    expect_layers(KB_RATIO_1_1, 8, "LSLSLSLS");
    expect_layers(KB_RATIO_1_1, 7, "LSLSLSL");       /* L odd: the last layer linear */
    expect_layers(KB_RATIO_3_1, 8, "LLLSLLLS");
    expect_layers(KB_RATIO_3_1, 10, "LLLSLLLSLL");   /* L not a multiple of 4 */
    expect_layers(KB_RATIO_6_1, 14, "LLLLLLSLLLLLLS");
    expect_layers(KB_RATIO_6_1, 12, "LLLLLLSLLLLL"); /* the default L: one softmax layer */
    expect_layers(KB_RATIO_6_1, 5, "LLLLL");         /* fewer layers than r + 1: none */
    /* the axis names the ratios as the papers write them, linear:softmax */
    assert_int_equal(kb_axis_value_parse(KB_AXIS_RATIO, "3:1"), KB_RATIO_3_1);
    assert_int_equal(kb_axis_value_parse(KB_AXIS_RATIO, "softmax"), KB_RATIO_SOFTMAX);
    assert_int_equal(kb_axis_value_parse(KB_AXIS_RATIO, "linear"), KB_RATIO_LINEAR);
    assert_int_equal(kb_axis_value_parse(KB_AXIS_RATIO, "1:3"), -1);
    assert_int_equal(hybrid_ratio_linear_per_softmax(0), -2);
}

/* ---- memory -------------------------------------------------------------------------------- */

static void test_memory_formula(void **state)
{
    (void)state;
    /* B = 2, H = 4, H_kv = 2, N = 10, d = 8, L = 5 at 1:1: layers 1 and 3 softmax, 0, 2, 4 linear.
     * KV: 2 layers x (K and V) x 2 x 2 x 10 x 8 floats x 4 bytes = 5120.
     * state: 3 layers x B·H = 8 heads x (S 8x8 + z 8) floats x 4 bytes = 6912. */
    struct kb_shape s = hyb_shape(2, 4, 2, 10, 8, 5, KB_RATIO_1_1, 0);
    assert_true(hybrid_kv_cache_bytes(&s, KB_DTYPE_F32) == 5120.0);
    assert_true(hybrid_state_bytes(&s) == 6912.0);
    assert_true(hybrid_cache_bytes(&s, KB_DTYPE_F32) == 12032.0);
    /* a 16-bit KV cache is half the size; the float32 states are not */
    assert_true(hybrid_kv_cache_bytes(&s, KB_DTYPE_BF16) == 2560.0);
    assert_true(hybrid_cache_bytes(&s, KB_DTYPE_BF16) == 2560.0 + 6912.0);
    /* the ends: all softmax keeps no state, all linear no KV cache and a state that ignores N */
    s.ratio = KB_RATIO_SOFTMAX;
    assert_true(hybrid_state_bytes(&s) == 0.0);
    assert_true(hybrid_kv_cache_bytes(&s, KB_DTYPE_F32) == 5.0 * 2 * 2 * 2 * 10 * 8 * 4);
    s.ratio = KB_RATIO_LINEAR;
    assert_true(hybrid_kv_cache_bytes(&s, KB_DTYPE_F32) == 0.0);
    double st10 = hybrid_state_bytes(&s);
    s.seq_len = 10000;
    assert_true(hybrid_state_bytes(&s) == st10);

    /* gla layers keep S alone: 3 layers x 8 heads x 64 floats x 4 bytes */
    s = hyb_shape(2, 4, 2, 10, 8, 5, KB_RATIO_1_1, 0);
    s.linear_kind = KB_LINEAR_KIND_GLA;
    assert_true(hybrid_state_bytes(&s) == 6144.0);
    assert_true(hybrid_kv_cache_bytes(&s, KB_DTYPE_F32) == 5120.0);

    /* the kernel reports the same numbers as counters after a case */
    struct kb_case c = hyb_case(&kb_attention_hybrid_cpu, hyb_shape(2, 4, 2, 10, 8, 5, KB_RATIO_1_1, 0), 5);
    case_setup_ok(&c);
    (void)case_run_verify(&c);
    struct kb_counter out[8];
    int n = kb_attention_hybrid_cpu.stats(&c, out, 8);
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(out[i].name, "hybrid.cache_bytes") == 0)
            found++, assert_true(out[i].value == 12032.0);
        if (strcmp(out[i].name, "hybrid.kv_cache_bytes") == 0)
            found++, assert_true(out[i].value == 5120.0);
        if (strcmp(out[i].name, "hybrid.state_bytes") == 0)
            found++, assert_true(out[i].value == 6912.0);
        if (strcmp(out[i].name, "hybrid.softmax_layers") == 0)
            found++, assert_true(out[i].value == 2.0);
    }
    assert_int_equal(found, 4);
    assert_int_equal(kb_attention_hybrid_cpu.stats(&c, out, 2), 2); /* never more than asked */
    case_teardown(&c);
}

/* ---- the stack is its layers ----------------------------------------------------------------- */

/* A hybrid case with every layer of one kind, against L single-layer cases of k at the layers'
 * seeds: the same bytes in, the same bytes out. */
static void check_stack_is_layers(int ratio, int linear_kind, const struct kb_kernel *single,
                                  struct kb_shape layer_shape)
{
    const uint64_t seed = 77;
    const int layers = 3;
    struct kb_shape s = hyb_shape(layer_shape.batch, layer_shape.heads, layer_shape.kv_heads, layer_shape.seq_len,
                                  layer_shape.head_dim, layers, ratio, 0);
    s.linear_kind = linear_kind;
    struct kb_case h = hyb_case(&kb_attention_hybrid_cpu, s, seed);
    case_setup_ok(&h);
    struct kb_accuracy acc = case_run_verify(&h);
    assert_true(acc.passed);
    for (int l = 0; l < layers; l++) {
        struct kb_case one = hyb_case(single, layer_shape, hybrid_layer_seed(seed, l));
        case_setup_ok(&one);
        struct kb_accuracy a1 = case_run_verify(&one);
        assert_true(a1.passed);
        struct kb_tensor q1 = case_tensor(&one, "q"), o1 = case_tensor(&one, "o");
        size_t qstride = hybrid_layer_rows(hybrid_q_rows(&h.shape), s.head_dim) * (size_t)s.head_dim;
        const float *hq = (const float *)case_tensor(&h, "q").data + (size_t)l * qstride;
        assert_memory_equal(hq, q1.data, kb_operands_elems(&one.io, 0) * sizeof(float));
        assert_memory_equal(layer_output(&h, l), o1.data, kb_operands_elems(&one.io, one.io.count - 1) * sizeof(float));
        if (linear_kind == KB_LINEAR_KIND_GLA) { /* the same gates too */
            const float *hg = (const float *)case_tensor(&h, "log_gates").data + (size_t)l * qstride;
            assert_memory_equal(hg, case_tensor(&one, "log_gates").data, kb_operands_elems(&one.io, 3) * sizeof(float));
        }
        case_teardown(&one);
    }
    case_teardown(&h);
}

static void test_all_softmax_is_flash_layers(void **state)
{
    (void)state;
    struct kb_shape flash = { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 53, .head_dim = 24, .causal = 1,
                              .input = KB_INPUT_NORMAL };
    check_stack_is_layers(KB_RATIO_SOFTMAX, KB_LINEAR_KIND_LINEAR, &kb_attention_flash_cpu, flash);
}

static void test_all_linear_is_linear_layers(void **state)
{
    (void)state;
    struct kb_shape lin = { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 53, .head_dim = 24, .causal = 1,
                            .chunk = HYBRID_LINEAR_CHUNK, .feature = KB_FEATURE_ELU1, .input = KB_INPUT_NORMAL };
    check_stack_is_layers(KB_RATIO_LINEAR, KB_LINEAR_KIND_LINEAR, &kb_attention_linear_cpu, lin);
}

static void test_all_gla_is_gla_layers(void **state)
{
    (void)state;
    struct kb_shape gla = { .batch = 2, .heads = 4, .kv_heads = 2, .seq_len = 53, .head_dim = 24,
                            .chunk = HYBRID_LINEAR_CHUNK, .input = KB_INPUT_NORMAL };
    check_stack_is_layers(KB_RATIO_LINEAR, KB_LINEAR_KIND_GLA, &kb_attention_gla_cpu, gla);
}

/* ---- every ratio, prefill and decode -------------------------------------------------------- */

static void test_every_ratio_verifies(void **state)
{
    (void)state;
    for (int ratio = 1; ratio <= KB_RATIO_LINEAR; ratio++)
        for (int decode = 0; decode <= 1; decode++) {
            /* odd sizes: N = 61 (no chunk or tile divides it), d = 40, GQA, L = 9 (not a multiple of 2, 4, 7) */
            struct kb_case c = hyb_case(&kb_attention_hybrid_cpu, hyb_shape(1, 4, 2, 61, 40, 9, ratio, decode), 9);
            c.threads = 2;
            case_setup_ok(&c);
            struct kb_accuracy acc = case_run_verify(&c);
            if (!acc.passed)
                fail_msg("ratio %s decode %d: rel_l2 %g", kb_axis_value_name(KB_AXIS_RATIO, ratio), decode,
                         acc.rel_l2_err);
            assert_true(acc.rows_checked > 0);
            case_teardown(&c);
        }    /* gla layers, prefill (attention.gla has no decode step: refused, saying so) */
    for (int ratio = 1; ratio <= KB_RATIO_LINEAR; ratio++) {
        struct kb_case c = hyb_case(&kb_attention_hybrid_cpu, hyb_shape(1, 4, 2, 61, 40, 9, ratio, 0), 9);
        c.shape.linear_kind = KB_LINEAR_KIND_GLA;
        case_setup_ok(&c);
        struct kb_accuracy acc = case_run_verify(&c);
        if (!acc.passed)
            fail_msg("gla, ratio %s: rel_l2 %g", kb_axis_value_name(KB_AXIS_RATIO, ratio), acc.rel_l2_err);
        case_teardown(&c);
    }
    struct kb_shape s = hyb_shape(1, 4, 2, 61, 40, 9, KB_RATIO_3_1, 1);
    s.linear_kind = KB_LINEAR_KIND_GLA;
    struct kb_operands io = { 0 };
    char err[256] = "";
    assert_int_equal(kb_op_attention_hybrid.inputs(&io, &s, KB_DTYPE_F32, 1, err, sizeof err), KB_UNSUPPORTED);
    assert_non_null(strstr(err, "gla"));
    kb_operands_free(&io);
}

static void test_decode_is_last_prefill_row(void **state)
{
    (void)state;
    const int n = 45, d = 16, b = 2, h = 2, layers = 4;
    struct kb_case dec = hyb_case(&kb_attention_hybrid_cpu, hyb_shape(b, h, 1, n, d, layers, KB_RATIO_1_1, 1), 3);
    struct kb_case pre = hyb_case(&kb_attention_hybrid_cpu, hyb_shape(b, h, 1, n + 1, d, layers, KB_RATIO_1_1, 0), 3);
    case_setup_ok(&dec);
    case_setup_ok(&pre);
    assert_true(case_run_verify(&dec).passed);
    assert_true(case_run_verify(&pre).passed);
    double worst = 0;
    for (int l = 0; l < layers; l++)
        for (int head = 0; head < b * h; head++) {
            const float *row_dec = layer_output(&dec, l) + (size_t)head * d;
            const float *row_pre = layer_output(&pre, l) + ((size_t)head * (n + 1) + n) * d;
            for (int i = 0; i < d; i++)
                worst = fmax(worst, fabs((double)row_dec[i] - row_pre[i]));
        }
    printf("# decode against the prefill's last row: max |difference| %.3g\n", worst);
    assert_true(worst < 1e-5);
    case_teardown(&dec);
    case_teardown(&pre);
}

/* ---- mistakes are caught -------------------------------------------------------------------- */

/* A stack that runs softmax attention where the linear layers belong. */
static const struct hybrid_impl wrong_parts = {
    .name = "attention.hybrid@test.wrong",
    .softmax = &kb_attention_flash_cpu,
    .linear = &kb_attention_flash_cpu,
};

static int wrong_setup(struct kb_case *c, char *err, size_t errlen)
{
    return hybrid_stack_setup(&wrong_parts, c, err, errlen);
}

static const struct kb_kernel wrong_kernel = {
    .name = "attention.hybrid",
    .impl = "test.wrong",
    .op = &kb_op_attention_hybrid,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = wrong_setup,
    .run = hybrid_stack_run,
    .collect = hybrid_stack_collect,
    .teardown = hybrid_stack_teardown,
};

static void test_wrong_implementation_fails(void **state)
{
    (void)state;
    struct kb_accuracy acc;
    /* the wrong stack is right where every layer is softmax, wrong as soon as one is linear */
    struct kb_case ok = hyb_case(&wrong_kernel, hyb_shape(1, 2, 2, 50, 16, 4, KB_RATIO_SOFTMAX, 0), 4);
    case_setup_ok(&ok);
    assert_true(case_run_verify(&ok).passed);
    case_teardown(&ok);
    struct kb_case bad = hyb_case(&wrong_kernel, hyb_shape(1, 2, 2, 50, 16, 4, KB_RATIO_3_1, 0), 4);
    case_setup_ok(&bad);
    assert_int_equal(kb_case_run(&bad), KB_OK);
    assert_int_equal(kb_case_verify(&bad, &acc), KB_OK);
    assert_false(acc.passed);
    case_teardown(&bad);

    /* one spoiled layer (the softmax one of 3:1, then a linear one) fails the whole stack */
    for (int spoil = 0; spoil < 2; spoil++) {
        struct kb_case c = hyb_case(&kb_attention_hybrid_cpu, hyb_shape(1, 2, 2, 50, 16, 4, KB_RATIO_3_1, 0), 4);
        case_setup_ok(&c);
        assert_true(case_run_verify(&c).passed);
        int layer = spoil == 0 ? 3 : 1;
        assert_int_equal(hybrid_layer_is_softmax(KB_RATIO_3_1, layer), spoil == 0);
        float *o = (float *)layer_output(&c, layer);
        for (size_t i = 0; i < hybrid_o_rows(&c.shape) * 16; i++)
            o[i] *= 1.01f;
        /* judged again without running (collect is a no-op on the CPU) */
        assert_int_equal(c.kernel->op->verify(&c.io, &c.shape, c.dtype, c.seed, 1, &acc), KB_OK);
        assert_false(acc.passed);
        assert_true(acc.rel_l2_err > 1e-3);
        case_teardown(&c);
    }
}

static void test_bad_shapes_refused(void **state)
{
    (void)state;
    struct kb_shape bad[] = {
        hyb_shape(1, 2, 2, 32, 16, 0, KB_RATIO_1_1, 0),  /* no layers */
        hyb_shape(1, 2, 2, 32, 16, 4, 0, 0),             /* no ratio */
        hyb_shape(1, 2, 2, 32, 16, 4, 9, 0),             /* no such ratio */
        hyb_shape(1, 2, 2, 32, 16, 4, KB_RATIO_1_1, 2),  /* decode 2 */
        hyb_shape(1, 3, 2, 32, 16, 4, KB_RATIO_1_1, 0),  /* H not a multiple of H_kv */
        hyb_shape(1, 2, 2, 32, 16, 4, KB_RATIO_1_1, 0),  /* no such linear kind (set below) */
    };
    bad[5].linear_kind = 3;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct kb_operands io = { 0 };
        char err[256] = "";
        int rc = kb_op_attention_hybrid.inputs(&io, &bad[i], KB_DTYPE_F32, 1, err, sizeof err);
        assert_int_equal(rc, KB_UNSUPPORTED);
        assert_true(strlen(err) > 0);
        kb_operands_free(&io);
    }
    struct kb_operands io = { 0 };
    char err[256] = "";
    struct kb_shape s = hyb_shape(1, 2, 2, 32, 16, 4, KB_RATIO_1_1, 0);
    assert_int_equal(kb_op_attention_hybrid.inputs(&io, &s, KB_DTYPE_I8, 1, err, sizeof err), KB_UNSUPPORTED);
    kb_operands_free(&io);
}

/* The counts are the layers' counts: all softmax costs L flash layers, decode far less than prefill. */
static void test_counts_are_the_layers(void **state)
{
    (void)state;
    struct kb_shape s = hyb_shape(1, 8, 8, 4096, 64, 12, KB_RATIO_SOFTMAX, 0);
    struct kb_shape one = { .batch = 1, .heads = 8, .kv_heads = 8, .seq_len = 4096, .head_dim = 64, .causal = 1 };
    assert_true(fabs(kb_op_attention_hybrid.flops(&s) - 12.0 * attention_flops(&one)) < 1.0);
    double all_softmax = kb_op_attention_hybrid.flops(&s);
    s.ratio = KB_RATIO_3_1;
    double mixed = kb_op_attention_hybrid.flops(&s);
    s.ratio = KB_RATIO_LINEAR;
    double all_linear = kb_op_attention_hybrid.flops(&s);
    assert_true(all_softmax > mixed && mixed > all_linear);
    s.ratio = KB_RATIO_3_1;
    s.decode = 1;
    assert_true(kb_op_attention_hybrid.flops(&s) < mixed / 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_placement),
        cmocka_unit_test(test_memory_formula),
        cmocka_unit_test(test_all_softmax_is_flash_layers),
        cmocka_unit_test(test_all_linear_is_linear_layers),
        cmocka_unit_test(test_all_gla_is_gla_layers),
        cmocka_unit_test(test_every_ratio_verifies),
        cmocka_unit_test(test_decode_is_last_prefill_row),
        cmocka_unit_test(test_wrong_implementation_fails),
        cmocka_unit_test(test_bad_shapes_refused),
        cmocka_unit_test(test_counts_are_the_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
