/* test_vit_block.c - vit.block@cpu.f32 and @cpu.int8 (kernels/quant/vit_block*.c): both against
 * the float64 block on several seeds and shapes (tokens not a multiple of any tile, odd head
 * counts), the integer block bit-exact against its scalar emulation on every GEMM path this CPU
 * runs and with two threads, planted bugs that verification must catch, and the I-ViT claim's
 * preset planning exactly one case per implementation. */
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
#include "config.h"
#include "datasets/generate.h"
#include "harness/case.h"
#include "harness/plan.h"
#include "kernels/kernel.h"
#include "kernels/quant/gemm_int8.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_ops.h"
#include "kernels/quant/vit_block.h"
#include "kernels/quant/vit_block_cuda.h"
#include "kernels/quant/ivit.h"
#include "reports/claims.h"

/* t, d, h, dh, f */
static const int shapes[][5] = { { 37, 128, 2, 64, 256 }, { 20, 96, 3, 32, 200 }, { 9, 64, 4, 16, 100 } };

static struct kb_shape vit_shape(const int *s, int input)
{
    return (struct kb_shape){ .seq_len = s[0], .hidden = s[1], .heads = s[2], .head_dim = s[3], .ffn = s[4],
                              .input = input };
}

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, enum kb_dtype t, int threads,
                                uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = t, .threads = threads, .seed = seed };
}

static void test_f32_matches_float64(void **state)
{
    (void)state;
    for (size_t si = 0; si < 3; si++)
        for (uint64_t seed = 1; seed <= 2; seed++) {
            struct kb_case c = make_case(&kb_vit_block_f32, vit_shape(shapes[si], KB_INPUT_NORMAL), KB_DTYPE_F32,
                                         1 + (int)(seed & 1), seed * 7 + si);
            case_setup_ok(&c);
            struct kb_accuracy a = case_run_verify(&c);
            if (!a.passed || a.rel_l2_err > 1e-5 || a.rows_checked < (shapes[si][0] < VIT_VERIFY_ROWS ? shapes[si][0] : VIT_VERIFY_ROWS))
                fail_msg("shape %zu seed %llu: passed %d rel %.3g rows %ld", si, (unsigned long long)seed, a.passed,
                         a.rel_l2_err, a.rows_checked);
            case_teardown(&c);
        }
}

static void test_int8_bit_exact_and_accurate(void **state)
{
    (void)state;
    for (size_t si = 0; si < 3; si++)
        for (uint64_t seed = 1; seed <= 2; seed++)
            for (int input = KB_INPUT_NORMAL; input <= KB_INPUT_UNIFORM; input++) {
                struct kb_case c = make_case(&kb_vit_block_int8, vit_shape(shapes[si], input), KB_DTYPE_I8,
                                             1 + (int)(seed & 1), seed * 7 + si);
                case_setup_ok(&c);
                struct kb_accuracy a = case_run_verify(&c);
                print_message("# int8 block t=%d d=%d h=%d f=%d seed %llu input %d: rel L2 %.4f cosine %.5f\n",
                              shapes[si][0], shapes[si][1], shapes[si][2], shapes[si][4], (unsigned long long)seed,
                              input, a.rel_l2_err, a.cosine);
                if (!a.passed || a.exact_mismatches != 0 || a.exact_checked != a.rows_checked * shapes[si][1])
                    fail_msg("shape %zu seed %llu input %d: passed %d, %ld/%ld mismatches, rel %.3g (tol %.3g)", si,
                             (unsigned long long)seed, input, a.passed, a.exact_mismatches, a.exact_checked,
                             a.rel_l2_err, a.tolerance);
                /* quantization costs something real, and not everything */
                assert_true(a.rel_l2_err > 1e-3 && a.cosine > 0.99);
                case_teardown(&c);
            }
}

/* Every GEMM path this CPU runs (and the VNNI path's offset arithmetic in portable C) gives the
 * same codes, and so does a second thread. */
/* The GEMM paths by kb_cpu_path: scalar-u8 (the VNNI arithmetic in C) runs with scalar. */
static const char *const vit_paths[KB_PATH_COUNT][2] = { { "scalar", "scalar-u8" }, { "avx2", NULL }, { "avx512vnni", NULL } };

static void int8_paths_and_threads_agree_on_one_path(enum kb_cpu_path p)
{
    struct kb_shape s = vit_shape(shapes[1], KB_INPUT_NORMAL);
    /* the baseline: the scalar path, one thread, whatever path this run masks in */
    struct kb_case base = make_case(&kb_vit_block_int8, s, KB_DTYPE_I8, 1, 3);
    case_setup_ok(&base);
    assert_int_equal(vit_block_int8_use_path(&base, "scalar"), 0);
    case_run_verify(&base);
    const size_t n = (size_t)s.seq_len * s.hidden;
    const int8_t *want = case_tensor(&base, "y_codes").data;
    assert_string_equal(gemm_int8_isa_best()->name, vit_paths[p][0]); /* the mask chose it */
    for (size_t pi = 0; pi < 2 && vit_paths[p][pi]; pi++)
        for (int threads = 1; threads <= 2; threads++) {
            struct kb_case c = make_case(&kb_vit_block_int8, s, KB_DTYPE_I8, threads, 3);
            case_setup_ok(&c);
            assert_int_equal(vit_block_int8_use_path(&c, vit_paths[p][pi]), 0);
            struct kb_accuracy a = case_run_verify(&c);
            assert_true(a.passed && a.exact_mismatches == 0);
            if (memcmp(case_tensor(&c, "y_codes").data, want, n) != 0)
                fail_msg("path %s, %d threads: output differs from the scalar path's", vit_paths[p][pi], threads);
            case_teardown(&c);
        }
    case_teardown(&base);
}

static void test_int8_paths_and_threads_agree(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, GEMM_INT8_AVX2_NEEDS, GEMM_INT8_AVX512_NEEDS };
    case_each_path("vit.block@cpu.int8", needs, int8_paths_and_threads_agree_on_one_path);
}

/* The verdict on a case's outputs as they are now (a planted bug), without running it again. */
static struct kb_accuracy verdict_now(struct kb_case *c)
{
    struct kb_accuracy a;
    memset(&a, 0, sizeof a);
    assert_int_equal(kb_case_verify(c, &a), KB_OK);
    return a;
}

static void test_planted_bugs_fail(void **state)
{
    (void)state;
    struct kb_shape s = vit_shape(shapes[0], KB_INPUT_NORMAL);
    const size_t n = (size_t)s.seq_len * s.hidden;
    struct kb_accuracy a;
    /* f32: the block without its first residual (to first order: y − x) */
    struct kb_case f = make_case(&kb_vit_block_f32, s, KB_DTYPE_F32, 1, 5);
    case_setup_ok(&f);
    assert_true(case_run_verify(&f).passed);
    float *y = (float *)case_tensor(&f, "y").data;
    const float *x = case_tensor(&f, "x").data;
    for (size_t i = 0; i < n; i++)
        y[i] -= x[i];
    assert_false(verdict_now(&f).passed);
    /* f32: one element of the last row (always sampled) off by 0.1 */
    assert_int_equal(kb_case_run(&f), KB_OK);
    y[n - 1] += 0.1f;
    assert_false(verdict_now(&f).passed);
    case_teardown(&f);

    /* int8: the plants go into the kernel's own codes, which collect turns into the case's y */
    struct kb_case c = make_case(&kb_vit_block_int8, s, KB_DTYPE_I8, 1, 5);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    int8_t *yi = (int8_t *)case_tensor(&c, "y_codes").data;
    /* one code one unit off: within the accuracy bound, caught by the bit-exact check only */
    yi[n - 1] = (int8_t)(yi[n - 1] == 127 ? 126 : yi[n - 1] + 1);
    a = verdict_now(&c);
    assert_false(a.passed);
    assert_int_equal(a.exact_mismatches, 1);
    assert_true(a.rel_l2_err < VIT_INT8_TOL);
    /* the output's scale off by 2 */
    assert_int_equal(kb_case_run(&c), KB_OK);
    for (size_t i = 0; i < n; i++)
        yi[i] = (int8_t)(yi[i] / 2);
    a = verdict_now(&c);
    assert_false(a.passed);
    assert_true(a.rel_l2_err > VIT_INT8_TOL);
    /* the input quantized at the wrong scale (codes halved): the integer pipeline is consistent
     * with itself (bit-exact with the emulation on the same codes) but no longer computes the
     * block, which only the float64 comparison sees */
    int8_t *xi = (int8_t *)case_tensor(&c, "x_codes").data;
    for (size_t i = 0; i < n; i++)
        xi[i] = (int8_t)(xi[i] / 2);
    assert_int_equal(kb_case_run(&c), KB_OK);
    a = verdict_now(&c);
    assert_int_equal(a.exact_mismatches, 0);
    assert_false(a.passed);
    assert_true(a.rel_l2_err > VIT_INT8_TOL);
    case_teardown(&c);
}

/* Both implementations see the same operands, the bytes the kernels drew before operations
 * existed (the input from quant's sub-seed A), and report the operation's counts; the integer
 * block's input codes are that input quantized. */
static void test_one_operation_same_inputs(void **state)
{
    (void)state;
    struct kb_shape s = vit_shape(shapes[1], KB_INPUT_OUTLIER);
    const size_t td = (size_t)s.seq_len * s.hidden;
    struct kb_case f = make_case(&kb_vit_block_f32, s, KB_DTYPE_F32, 1, 11);
    struct kb_case c = make_case(&kb_vit_block_int8, s, KB_DTYPE_I8, 1, 11);
    case_setup_ok(&f);
    case_setup_ok(&c);
    assert_ptr_equal(kb_vit_block_f32.op, &kb_op_vit_block);
    assert_ptr_equal(kb_vit_block_int8.op, &kb_op_vit_block);
    assert_int_equal(f.io.count, c.io.count);
    for (int i = 0; i < f.io.count; i++) {
        assert_string_equal(f.io.tensor[i].name, c.io.tensor[i].name);
        assert_int_equal(f.io.tensor[i].dtype, KB_DTYPE_F32);
        if (!f.io.tensor[i].is_output)
            assert_memory_equal(f.io.tensor[i].data, c.io.tensor[i].data, kb_operands_elems(&f.io, i) * sizeof(float));
    }
    float *want = malloc(td * sizeof *want);
    assert_non_null(want);
    gen_fill_input_f32(want, (size_t)s.seq_len, (size_t)s.hidden, quant_sub_seed(11, QUANT_SEED_A), s.input);
    assert_memory_equal(case_tensor(&f, "x").data, want, td * sizeof *want);
    const int8_t *xi = case_tensor(&c, "x_codes").data;
    float amax = 0;
    for (size_t i = 0; i < td; i++)
        amax = fmaxf(amax, fabsf(want[i]));
    const float inv = 1.0f / quant_scale(amax, KB_DTYPE_I8);
    for (size_t i = 0; i < td; i++)
        assert_int_equal((uint8_t)xi[i], quant_code(want[i], inv, KB_DTYPE_I8));
    free(want);
    assert_true(kb_kernel_flops(&kb_vit_block_f32, &s) == kb_kernel_flops(&kb_vit_block_int8, &s));
    /* both verdicts on the same sampled rows */
    struct kb_accuracy af = case_run_verify(&f), ai = case_run_verify(&c);
    assert_true(af.passed && ai.passed);
    assert_int_equal(af.rows_checked, ai.rows_checked);
    assert_int_equal(af.rows_total, s.seq_len);
    case_teardown(&f);
    case_teardown(&c);
}

static void test_shapes_rejected(void **state)
{
    (void)state;
    char err[256];
    struct kb_shape s = vit_shape(shapes[0], KB_INPUT_NORMAL);
    s.hidden = 100; /* not heads × head_dim */
    for (int k = 0; k < 2; k++) {
        const struct kb_kernel *kk = k ? &kb_vit_block_int8 : &kb_vit_block_f32;
        struct kb_case c = make_case(kk, s, k ? KB_DTYPE_I8 : KB_DTYPE_F32, 1, 1);
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_non_null(strstr(err, "heads"));
        assert_int_equal(c.io.count, 0);
        struct kb_shape ok = vit_shape(shapes[0], KB_INPUT_NORMAL);
        c = make_case(kk, ok, k ? KB_DTYPE_F32 : KB_DTYPE_I8, 1, 1); /* the other's dtype */
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_non_null(strstr(err, "dtype"));
        assert_int_equal(c.io.count, 0);
    }
}

static void test_claim_plans_one_case_each(void **state)
{
    (void)state;
    struct claim cl;
    char err[512];
    if (claim_load(KB_SRCDIR "/datasets/claims/06-i-vit.claim", &cl, err, sizeof err) != 0)
        fail_msg("%s", err);
    FILE *f = fmemopen(cl.suite, strlen(cl.suite), "r");
    assert_non_null(f);
    struct plan_spec base, specs[4];
    plan_spec_default(&base);
    char name[64];
    int n = plan_suite_parse(f, "i-vit", &base, specs, 4, name, sizeof name, err, sizeof err);
    fclose(f);
    if (n < 0)
        fail_msg("%s", err);
    struct plan p = { 0 };
    if (plan_build(specs, n, &p, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(p.n, 2);
    int seen_int8 = 0, seen_f32 = 0;
    for (size_t i = 0; i < p.n; i++) {
        const struct plan_case *pc = &p.cases[i];
        assert_string_equal(pc->kernel->name, "vit.block");
        seen_int8 += strcmp(pc->kernel->impl, "cpu.int8") == 0 && pc->dtype == KB_DTYPE_I8;
        seen_f32 += strcmp(pc->kernel->impl, "cpu.f32") == 0 && pc->dtype == KB_DTYPE_F32;
        assert_int_equal(pc->shape.seq_len, 197);
        assert_int_equal(pc->shape.hidden, 768);
        assert_int_equal(pc->shape.heads, 12);
        assert_int_equal(pc->shape.head_dim, 64);
        assert_int_equal(pc->shape.ffn, 3072);
    }
    assert_int_equal(seen_int8, 1);
    assert_int_equal(seen_f32, 1);
    assert_true(p.cases[0].seed == p.cases[1].seed);
    plan_free(&p);
}

/* ---- vit.block@cuda.int8's steps on the CPU ---------------------------------------------------
 * The GPU block runs vit_block_steps with two device launchers; here the same steps run with host
 * launchers of the same contracts (vit_block_cuda.h, quant_cuda.h), so the order of the steps and
 * every strided view into the QKV buffer are checked bit for bit against the CPU block here, and
 * the GPU run only has the two launchers left to get right (tests/gpu.sh). */
static int host_gemm(const struct vit_gemm *g, int batch, void *stream)
{
    (void)stream;
    for (int z = 0; z < batch; z++)
        for (int i = 0; i < g->m; i++)
            for (int j = 0; j < g->n; j++) {
                int64_t acc = 0;
                for (int p = 0; p < g->k; p++)
                    acc += (int64_t)g->a[z * g->a_bs + i * g->lda + p] * g->w[z * g->w_bs + j * g->w_sn + p * g->w_sk];
                const int col = g->per_col ? j : 0;
                const struct quant_dyadic dy = { g->dy_b[col], g->dy_c[col] };
                const size_t at = (size_t)(z * g->o_bs + i * g->ldo + j);
                if (g->res)
                    g->out[at] = vit_sat8(vit_dyadic_i32((int32_t)acc, dy) +
                                          vit_dyadic_i32(g->res[at], (struct quant_dyadic){ g->res_b, g->res_c }));
                else
                    g->out[at] = quant_dyadic_requant((int32_t)acc, dy);
            }
    return 0;
}

static int host_ivit(int op, const int8_t *x, int8_t *y, int m, int n, int32_t i0, void *stream)
{
    (void)stream;
    int32_t *tmp = malloc((size_t)n * sizeof *tmp);
    assert_non_null(tmp);
    for (int i = 0; i < m; i++) {
        const int8_t *in = x + (size_t)i * n;
        int8_t *out = y + (size_t)i * n;
        if (op == 0)
            ivit_shiftmax_row(in, n, i0, out, tmp);
        else if (op == 1)
            ivit_shiftgelu_row(in, n, i0, out, 0);
        else
            ivit_layernorm_row(in, n, out);
    }
    free(tmp);
    return 0;
}

static void test_cuda_steps_match_cpu_block(void **state)
{
    (void)state;
    for (size_t si = 0; si < 3; si++) {
        struct kb_case c = make_case(&kb_vit_block_int8, vit_shape(shapes[si], KB_INPUT_NORMAL), KB_DTYPE_I8, 1, 5 + si);
        case_setup_ok(&c);
        assert_int_equal(kb_case_run(&c), KB_OK);
        struct vit_i8_view w;
        assert_int_equal(vit_block_int8_view(&c, &w), KB_OK);
        const size_t t = (size_t)w.v.t, d = (size_t)w.v.d, f = (size_t)w.v.f, h = (size_t)w.v.h, ndy = 5 * d + f + 2;
        int32_t *dyb = malloc(ndy * sizeof *dyb), *dyc = malloc(ndy * sizeof *dyc);
        int8_t *buf = malloc(t * d * 7 + 2 * h * t * t + 2 * t * f);
        assert_true(dyb && dyc && buf);
        vit_block_dyadics(&w, dyb, dyc);
        struct vit_block_bufs b = { .x = w.x, .wqkv = w.wqkv, .wo = w.wo, .w1 = w.w1, .w2 = w.w2, .dy_b = dyb, .dy_c = dyc };
        b.ln = buf, b.qkv = b.ln + t * d, b.sc = b.qkv + 3 * t * d, b.p = b.sc + h * t * t, b.attn = b.p + h * t * t;
        b.hb = b.attn + t * d, b.ff = b.hb + t * d, b.g = b.ff + t * f, b.y = b.g + t * f;
        /* ln, qkv (3), attn, hb, y: 7·t·d; sc, p: 2·h·t²; ff, g: 2·t·f */
        const struct vit_block_launchers host = { host_gemm, host_ivit };
        assert_int_equal(vit_block_steps(&b, &w, &host, NULL), 0);
        long mismatches = 0;
        for (size_t i = 0; i < t * d; i++)
            mismatches += b.y[i] != w.y[i];
        if (mismatches)
            fail_msg("shape %zu: %ld of %zu output codes differ from vit.block@cpu.int8", si, mismatches, t * d);
        free(dyb), free(dyc), free(buf);
        case_teardown(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32_matches_float64),
        cmocka_unit_test(test_int8_bit_exact_and_accurate),
        cmocka_unit_test(test_int8_paths_and_threads_agree),
        cmocka_unit_test(test_cuda_steps_match_cpu_block),
        cmocka_unit_test(test_planted_bugs_fail),
        cmocka_unit_test(test_one_operation_same_inputs),
        cmocka_unit_test(test_shapes_rejected),
        cmocka_unit_test(test_claim_plans_one_case_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
