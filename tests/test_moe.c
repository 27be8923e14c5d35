/* test_moe.c - the MoE operations and their CPU implementations against the float64 references: every kernel on several seeds
 * and shapes (T not a multiple of the GEMM or fused token block, f not a multiple of the chunk,
 * h not a multiple of the panel), uniform, Zipf and all-to-one routing, one and two threads;
 * the GEMM's SIMD path against its scalar one; the routing-skew generators' loads; the
 * near-tie rule; and planted bugs (a swapped expert, a wrong count, a moved row, a wrong gate,
 * a perturbed output) that verify must catch. */
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
#include "datasets/generate.h"
#include "harness/case.h"
#include "kernels/kernel.h"
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_gemm.h"
#include "kernels/moe/moe_ep_plan.h"

static const struct kb_kernel *const all_kernels[] = {
    &kb_moe_router_cpu, &kb_moe_dispatch_cpu, &kb_moe_combine_cpu,
    &kb_moe_experts_cpu, &kb_moe_layer_unfused, &kb_moe_layer_fused,
};
#define NKERNELS (sizeof all_kernels / sizeof all_kernels[0])

static struct kb_shape moe_shape(int T, int h, int f, int E, int k, int routing)
{
    struct kb_shape s = { 0 };
    s.tokens = T;
    s.hidden = h;
    s.ffn = f;
    s.experts = E;
    s.top_k = k;
    s.routing = routing;
    s.input = KB_INPUT_NORMAL;
    return s;
}

static struct kb_case make_case(const struct kb_kernel *k, struct kb_shape s, int threads, uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = KB_DTYPE_F32, .threads = threads, .seed = seed };
}

struct shape_case {
    int T, h, f, E, k;
};

/* ragged everywhere: T not a multiple of MOE_GEMM_MC (96) nor of the fused block, h not of
 * MOE_NR, f not of MOE_FC (128), E not of MOE_NR */
static const struct shape_case shapes[] = {
    { 1, 16, 16, 4, 1 },
    { 77, 40, 200, 8, 2 },
    { 203, 64, 130, 6, 3 },
    { 150, 33, 70, 32, 4 },
};

static void every_kernel_passes_on_one_path(enum kb_cpu_path p)
{
    (void)p;
    int cases = 0;
    for (size_t ki = 0; ki < NKERNELS; ki++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (int routing = KB_ROUTING_UNIFORM; routing <= KB_ROUTING_ONE; routing++)
                for (int threads = 1; threads <= 2; threads++) {
                    const struct shape_case *sc = &shapes[si];
                    uint64_t seed = 1000 + si * 17 + (uint64_t)routing * 3 + (uint64_t)threads;
                    struct kb_case c = make_case(all_kernels[ki], moe_shape(sc->T, sc->h, sc->f, sc->E, sc->k, routing),
                                                 threads, seed);
                    case_setup_ok(&c);
                    struct kb_accuracy acc = case_run_verify(&c);
                    if (!acc.passed)
                        fail_msg("%s@%s T=%d h=%d f=%d E=%d k=%d routing=%d threads=%d: rel L2 %.3g, %ld of %ld exact mismatches",
                                 c.kernel->name, c.kernel->impl, sc->T, sc->h, sc->f, sc->E, sc->k, routing, threads,
                                 acc.rel_l2_err, acc.exact_mismatches, acc.exact_checked);
                    assert_true(acc.rows_checked > 0);
                    /* run is repeatable: a second call verifies as well */
                    acc = case_run_verify(&c);
                    assert_true(acc.passed);
                    case_teardown(&c);
                    cases++;
                }
    assert_int_equal(cases, (int)(NKERNELS * 4 * 3 * 2));
}

/* The fused and unfused layers agree with each other, element by element, on every token (the
 * reference checks a sample; this checks all). */
static void fused_matches_unfused_everywhere_on_one_path(enum kb_cpu_path p)
{
    (void)p;
    for (int routing = KB_ROUTING_UNIFORM; routing <= KB_ROUTING_ONE; routing++) {
        struct kb_shape s = moe_shape(1100, 48, 136, 8, 2, routing); /* > one fused block (512) */
        struct kb_case u = make_case(&kb_moe_layer_unfused, s, 2, 77), f = make_case(&kb_moe_layer_fused, s, 2, 77);
        case_setup_ok(&u);
        case_setup_ok(&f);
        assert_true(case_run_verify(&u).passed);
        assert_true(case_run_verify(&f).passed);
        const float *yu = case_tensor(&u, "y").data, *yf = case_tensor(&f, "y").data;
        double err = 0, ref = 0;
        for (size_t i = 0; i < (size_t)s.tokens * s.hidden; i++) {
            err = fmax(err, fabs(yu[i] - yf[i]));
            ref = fmax(ref, fabs(yu[i]));
        }
        assert_true(err <= 1e-5 * ref);
        case_teardown(&u);
        case_teardown(&f);
    }
}

/* The AVX2 tile against the portable one on a ragged GEMM with gather, scatter and scale. */
static void test_gemm_paths_agree(void **state)
{
    (void)state;
    const struct moe_gemm_isa *avx2 = moe_gemm_by_name("avx2");
    if (!avx2)
        skip();
    const int m = 101, n = 45, k = 300, rows_a = 130;
    float *a = malloc((size_t)rows_a * k * sizeof *a), *b = malloc((size_t)k * n * sizeof *b);
    size_t panels = (n + MOE_NR - 1) / MOE_NR;
    float *bp = moe_alloc(panels * k * MOE_NR * sizeof(float));
    float *c1 = calloc((size_t)rows_a * n, sizeof *c1), *c2 = calloc((size_t)rows_a * n, sizeof *c2);
    float *ap = moe_alloc(moe_gemm_scratch_floats() * sizeof(float));
    int *ra = malloc(m * sizeof *ra), *rc = malloc(m * sizeof *rc);
    float *sc = malloc(m * sizeof *sc);
    gen_fill_normal_f32(a, (size_t)rows_a * k, 5, 0, 1);
    gen_fill_normal_f32(b, (size_t)k * n, 6, 0, 1);
    for (int i = 0; i < m; i++) {
        ra[i] = (i * 7) % rows_a;
        rc[i] = (i * 11) % rows_a;
        sc[i] = 0.5f + (float)i / m;
    }
    moe_pack_b(b, n, k, n, k, bp);
    struct moe_gemm g = { .m = m, .n = n, .k = k, .a = a, .lda = k, .a_rows = ra, .b = bp,
                          .b_panel_stride = (size_t)k * MOE_NR, .ldc = n, .c_rows = rc, .c_scale = sc };
    g.c = c1;
    moe_gemm_run(&moe_gemm_scalar, &g, ap);
    g.c = c2;
    moe_gemm_run(avx2, &g, ap);
    double err = 0;
    for (size_t i = 0; i < (size_t)rows_a * n; i++)
        err = fmax(err, fabs(c1[i] - c2[i]));
    assert_true(err < 1e-3);
    /* and against the definition, in double */
    double worst = 0;
    for (int i = 0; i < m; i++) { /* rows rc collide (i·11 mod 130 repeats): check first writers only */
        int first = 1;
        for (int q = 0; q < i; q++)
            first &= rc[q] != rc[i];
        if (!first)
            continue;
        for (int j = 0; j < n; j++) {
            double want = 0;
            for (int q = 0; q < m; q++)
                if (rc[q] == rc[i]) {
                    double dot = 0;
                    for (int p = 0; p < k; p++)
                        dot += (double)a[(size_t)ra[q] * k + p] * b[(size_t)p * n + j];
                    want += sc[q] * dot;
                }
            worst = fmax(worst, fabs(c2[(size_t)rc[i] * n + j] - want));
        }
    }
    assert_true(worst < 1e-3);
    free(a); free(b); free(bp); free(c1); free(c2); free(ap); free(ra); free(rc); free(sc);
}

/* The generators' loads follow the targets: uniform is flat, Zipf's sorted shares fall like the
 * target, all-to-one puts every token on one expert. Measured through moe.router. */
static void test_routing_skews(void **state)
{
    (void)state;
    const int T = 4000, E = 16, k = 2;
    for (int routing = KB_ROUTING_UNIFORM; routing <= KB_ROUTING_ONE; routing++) {
        struct kb_case c = make_case(&kb_moe_router_cpu, moe_shape(T, 64, 0, E, k, routing), 1, 99);
        case_setup_ok(&c);
        assert_true(case_run_verify(&c).passed);
        const int *counts = case_tensor(&c, "counts").data;
        double target[16];
        gen_routing_target(target, E, k, moe_sub_seed(99, 2), routing);
        double total = (double)T * k;
        for (int e = 0; e < E; e++) {
            double got = counts[e] / total;
            /* binomial noise of T·k draws plus the calibration's: a few percent of the total */
            if (fabs(got - target[e]) > 0.03)
                fail_msg("routing %d expert %d: share %.3f, target %.3f", routing, e, got, target[e]);
        }
        struct kb_counter out[80];
        int n = c.kernel->stats(&c, out, 80);
        assert_true(n >= 5 + E);
        double imbalance = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(out[i].name, "moe.load.imbalance") == 0)
                imbalance = out[i].value;
        if (routing == KB_ROUTING_UNIFORM)
            assert_true(imbalance < 1.3);
        else if (routing == KB_ROUTING_ZIPF)
            assert_true(imbalance > 2.0 && imbalance < E / (double)k + 1e-9);
        else
            assert_true(fabs(imbalance - (double)E / k) < 1e-9); /* one expert takes all T */
        case_teardown(&c);
    }
}

/* The load histogram is whole or absent: where the room left for a kernel's counters cannot hold
 * every expert's, none is written (a part would plot as another distribution), the summary still is. */
static void test_load_histogram_whole_or_absent(void **state)
{
    (void)state;
    int counts[64];
    for (int e = 0; e < 64; e++)
        counts[e] = (e * 7) % 13;
    struct kb_counter out[80];
    const int full = moe_load_stats(counts, 64, out, 80);
    assert_int_equal(full, 5 + 64);
    assert_string_equal(out[5 + 63].name, "moe.load.e063");
    assert_int_equal(out[5 + 63].value, counts[63]);
    for (int max = 5; max < 5 + 64; max += 21) {
        const int n = moe_load_stats(counts, 64, out, max);
        assert_int_equal(n, 5);
        for (int i = 0; i < n; i++)
            assert_null(strstr(out[i].name, "moe.load.e"));
    }
    assert_int_equal(moe_load_stats(counts, 64, out, 3), 3); /* the summary itself as far as it fits */
}

/* Same seed, same routing; another seed, another hot expert placement or weights. */
static void test_generator_seeded(void **state)
{
    (void)state;
    float w1[64 * 8], w2[64 * 8], b1[8], b2[8], b3[8];
    gen_router_f32(w1, b1, 64, 8, 2, 5, KB_ROUTING_ZIPF);
    gen_router_f32(w2, b2, 64, 8, 2, 5, KB_ROUTING_ZIPF);
    assert_memory_equal(w1, w2, sizeof w1);
    assert_memory_equal(b1, b2, sizeof b1);
    gen_router_f32(w2, b3, 64, 8, 2, 6, KB_ROUTING_ZIPF);
    assert_memory_not_equal(w1, w2, sizeof w1);
}

/* An exact tie: two experts with identical router columns. Kernel and reference both keep the
 * lower id, and a kernel that took the higher one is accepted as a near tie, not a mismatch. */
static void test_ties(void **state)
{
    (void)state;
    struct kb_shape s = moe_shape(50, 32, 0, 4, 1, KB_ROUTING_UNIFORM);
    struct kb_case c = make_case(&kb_moe_router_cpu, s, 1, 3);
    case_setup_ok(&c);
    float *wr = (float *)case_tensor(&c, "w_router").data;
    for (int i = 0; i < 32; i++) { /* experts 1 and 2 identical and dominant */
        wr[i * 4 + 2] = wr[i * 4 + 1] = 0.0f;
    }
    float *bias = (float *)case_tensor(&c, "b_router").data;
    bias[1] = bias[2] = 5.0f;
    bias[0] = bias[3] = 0.0f;
    /* the packed copy must follow the edit: rebuild it the way setup does (the CPU router's
     * state starts with its struct moe_inputs) */
    moe_pack_b(wr, 4, 32, 4, 32, ((struct moe_inputs *)c.state)->wrp);
    struct kb_accuracy acc = case_run_verify(&c);
    assert_true(acc.passed);
    int *ids = (int *)case_tensor(&c, "ids").data;
    for (int t = 0; t < 50; t++)
        assert_int_equal(ids[t], 1); /* the lower id of the tie */
    /* a kernel that broke the tie the other way: accepted through the window */
    ids[7] = 2;
    int *counts = (int *)case_tensor(&c, "counts").data;
    counts[1]--, counts[2]++; /* keep the counts consistent with the edited ids */
    assert_int_equal(kb_case_verify(&c, &acc), KB_OK);
    assert_true(acc.passed);
    assert_int_equal(acc.exact_mismatches, 0);
    case_teardown(&c);
}

/* ---- planted bugs ---------------------------------------------------------------------------- */

static struct kb_case planted_case(const struct kb_kernel *k, int routing)
{
    struct kb_case c = make_case(k, moe_shape(90, 40, 72, 8, 2, routing), 1, 4242);
    case_setup_ok(&c);
    assert_true(case_run_verify(&c).passed);
    return c;
}

static void expect_fail(struct kb_case *c, const char *what)
{
    struct kb_accuracy acc;
    assert_int_equal(kb_case_verify(c, &acc), KB_OK);
    if (acc.passed)
        fail_msg("%s@%s: verify passed with %s planted", c->kernel->name, c->kernel->impl, what);
}

static void test_planted_router(void **state)
{
    (void)state;
    struct kb_case c = planted_case(&kb_moe_router_cpu, KB_ROUTING_ZIPF);
    int *ids = (int *)case_tensor(&c, "ids").data;
    int *counts = (int *)case_tensor(&c, "counts").data;
    float *gates = (float *)case_tensor(&c, "gates").data;
    /* a token sent to an expert far from its top-k, counts kept consistent */
    int old = ids[0], worst = 0;
    double lo = INFINITY;
    const float *wr = case_tensor(&c, "w_router").data, *x = case_tensor(&c, "x").data;
    const float *b = case_tensor(&c, "b_router").data;
    for (int e = 0; e < 8; e++) { /* the expert with the lowest logit for token 0 */
        double v = b[e];
        for (int i = 0; i < 40; i++)
            v += (double)x[i] * wr[i * 8 + e];
        if (v < lo && e != ids[1]) {
            lo = v;
            worst = e;
        }
    }
    ids[0] = worst;
    counts[old]--, counts[worst]++;
    expect_fail(&c, "a wrong expert choice");
    ids[0] = old;
    counts[old]++, counts[worst]--;
    assert_true(case_run_verify(&c).passed);
    counts[3]++;
    expect_fail(&c, "a wrong count");
    counts[3]--;
    gates[5] *= 1.01f;
    expect_fail(&c, "a gate 1% off");
    case_teardown(&c);
}

static void test_planted_dispatch(void **state)
{
    (void)state;
    struct kb_case c = planted_case(&kb_moe_dispatch_cpu, KB_ROUTING_ONE);
    float *xp = (float *)case_tensor(&c, "xp").data;
    int *perm = (int *)case_tensor(&c, "perm").data;
    int *off = (int *)case_tensor(&c, "offsets").data;
    xp[40 * 5 + 3] += 1e-3f;
    expect_fail(&c, "a moved value in xp");
    xp[40 * 5 + 3] -= 1e-3f;
    assert_true(case_run_verify(&c).passed);
    int t = perm[3];
    perm[3] = perm[4], perm[4] = t; /* an unstable sort */
    expect_fail(&c, "a swapped permutation");
    assert_true(case_run_verify(&c).passed);
    off[1]++;
    expect_fail(&c, "a wrong offset");
    case_teardown(&c);
}

static void test_planted_outputs(void **state)
{
    (void)state;
    struct { const struct kb_kernel *k; const char *out; } v[] = {
        { &kb_moe_combine_cpu, "y" }, { &kb_moe_experts_cpu, "yp" },
        { &kb_moe_layer_unfused, "y" }, { &kb_moe_layer_fused, "y" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct kb_case c = planted_case(v[i].k, KB_ROUTING_UNIFORM);
        struct kb_tensor t = case_tensor(&c, v[i].out);
        float *y = (float *)t.data;
        /* one row (the last, always sampled) scaled by 1.05: 5% off in 1 of 90 rows */
        size_t row = (size_t)t.dims[0] - 1;
        for (size_t j = 0; j < (size_t)t.dims[1]; j++)
            y[row * t.dims[1] + j] *= 1.05f;
        expect_fail(&c, "one output row 5% off");
        case_teardown(&c);
    }
}

/* A layer that ignores the gate (weights every expert by 1/k) or routes a token elsewhere. */
static void test_planted_layer_routing(void **state)
{
    (void)state;
    struct kb_case c = planted_case(&kb_moe_layer_fused, KB_ROUTING_ZIPF);
    int *ids = (int *)case_tensor(&c, "ids").data;
    int a = ids[0], b = ids[1];
    int other = 0;
    while (other == a || other == b)
        other++;
    ids[1] = other;
    expect_fail(&c, "a token routed to a wrong expert");
    case_teardown(&c);
}

/* Shapes and dtypes the operations do not define are refused before any implementation runs,
 * with a message naming the value, and nothing stays allocated (ASan checks). */
static void test_bad_shapes(void **state)
{
    (void)state;
    char err[256];
    struct kb_shape s = moe_shape(10, 8, 8, 4, 5, KB_ROUTING_UNIFORM);
    for (size_t ki = 0; ki < NKERNELS; ki++) {
        struct kb_case c = make_case(all_kernels[ki], s, 1, 1);
        err[0] = 0;
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_non_null(strstr(err, "top_k"));
        assert_int_equal(c.io.count, 0);
        c.dtype = KB_DTYPE_F16;
        c.shape.top_k = 2;
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        c.dtype = KB_DTYPE_F32;
        c.shape.tokens = 0;
        err[0] = 0;
        assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
        assert_non_null(strstr(err, "tokens"));
        /* the operation refuses a dtype none of its implementations could take */
        c.shape.tokens = 10;
        assert_int_equal(all_kernels[ki]->op->inputs(&c.io, &c.shape, KB_DTYPE_I8, 1, err, sizeof err), KB_UNSUPPORTED);
        kb_operands_free(&c.io);
    }
}

static void test_counts(void **state)
{
    (void)state;
    struct kb_shape s = moe_shape(4096, 4096, 14336, 8, 2, KB_ROUTING_UNIFORM);
    /* Mixtral at 4096 tokens: 2·T·k·3·h·f ≈ 2.89 TFLOP of expert GEMMs */
    assert_true(fabs(moe_experts_flops(&s) - (6.0 * 4096 * 2 * 4096 * 14336 + 4.0 * 4096 * 2 * 14336)) < 1);
    assert_true(moe_layer_flops(&s) > moe_experts_flops(&s));
    /* the ideal fused layer moves every expert's weights once: s·3·h·f·E dominates */
    assert_true(moe_layer_bytes(&s, KB_DTYPE_F32) > 4.0 * 3 * 4096 * 14336 * 8);
    struct kb_shape one = moe_shape(1, 64, 64, 256, 8, KB_ROUTING_UNIFORM);
    /* one token reaches at most k experts: E_act = 8, not 256 */
    assert_true(moe_experts_bytes(&one, KB_DTYPE_F32) < 4.0 * 3 * 64 * 64 * 9);
}

/* The two CPU layers implement one operation: the same case gives them byte-identical inputs
 * (the operation generates them, not the implementation) and the same FLOP and byte counts. */
static void test_layers_share_inputs_and_counts(void **state)
{
    (void)state;
    static const char *const inputs[] = { "x", "w_router", "b_router", "w1", "w3", "w2" };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const struct shape_case *sc = &shapes[si];
        struct kb_shape s = moe_shape(sc->T, sc->h, sc->f, sc->E, sc->k, KB_ROUTING_ZIPF);
        struct kb_case u = make_case(&kb_moe_layer_unfused, s, 1, 31 + si), f = make_case(&kb_moe_layer_fused, s, 2, 31 + si);
        case_setup_ok(&u);
        case_setup_ok(&f);
        assert_ptr_equal(u.kernel->op, f.kernel->op);
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
            struct kb_tensor a = case_tensor(&u, inputs[i]), b = case_tensor(&f, inputs[i]);
            assert_int_equal(a.is_output, 0);
            assert_int_equal(a.ndim, b.ndim);
            size_t n = 1;
            for (int d = 0; d < a.ndim; d++) {
                assert_int_equal(a.dims[d], b.dims[d]);
                n *= (size_t)a.dims[d];
            }
            assert_true(a.data != b.data);
            assert_memory_equal(a.data, b.data, n * sizeof(float));
        }
        assert_true(kb_kernel_flops(u.kernel, &s) > 0);
        assert_true(kb_kernel_flops(u.kernel, &s) == kb_kernel_flops(f.kernel, &s));
        assert_true(kb_kernel_bytes(u.kernel, &s, KB_DTYPE_F32) > 0);
        assert_true(kb_kernel_bytes(u.kernel, &s, KB_DTYPE_F32) == kb_kernel_bytes(f.kernel, &s, KB_DTYPE_F32));
        /* and they agree on the routing they output */
        assert_true(case_run_verify(&u).passed);
        assert_true(case_run_verify(&f).passed);
        struct kb_tensor iu = case_tensor(&u, "ids"), ifu = case_tensor(&f, "ids");
        assert_memory_equal(iu.data, ifu.data, (size_t)s.tokens * s.top_k * sizeof(int));
        case_teardown(&u);
        case_teardown(&f);
    }
}

/* The bf16 cases (the CUDA implementations'): the operation's inputs are its f32 draw rounded to
 * bf16 (the bias alone stays f32), so both dtypes of a case share the draw; and the verdict of
 * a bf16 routing, computed here by the CPU router on those inputs, passes, and fails with a
 * wrong choice planted. */
static void test_bf16_inputs_and_verdict(void **state)
{
    (void)state;
    char err[256] = "";
    struct kb_shape s = moe_shape(77, 40, 72, 8, 2, KB_ROUTING_ZIPF);
    struct kb_operands a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    assert_int_equal(kb_op_moe_layer.inputs(&a, &s, KB_DTYPE_F32, 9, err, sizeof err), KB_OK);
    assert_int_equal(kb_op_moe_layer.inputs(&b, &s, KB_DTYPE_BF16, 9, err, sizeof err), KB_OK);
    int rounded = 0;
    for (int i = KB_MOE_LAYER_X; i <= KB_MOE_LAYER_W2; i++) {
        size_t n = kb_operands_elems(&a, i);
        const float *fa = a.tensor[i].data, *fb = b.tensor[i].data;
        for (size_t j = 0; j < n; j++) {
            uint32_t ua, ub;
            memcpy(&ua, &fa[j], 4);
            memcpy(&ub, &fb[j], 4);
            if (i == KB_MOE_LAYER_BIAS) {
                assert_true(ua == ub);
                continue;
            }
            assert_int_equal(ub & 0xffffu, 0);             /* a bf16 value */
            assert_true(fabs(fb[j] - fa[j]) <= fabs(fa[j]) * 0x1p-8); /* the nearest one */
            rounded += ua != ub;
        }
    }
    assert_true(rounded > 0);
    kb_operands_free(&a);
    kb_operands_free(&b);

    memset(&a, 0, sizeof a);
    assert_int_equal(kb_op_moe_router.inputs(&a, &s, KB_DTYPE_BF16, 9, err, sizeof err), KB_OK);
    struct moe_inputs in = { .x = a.tensor[KB_MOE_ROUTER_X].data, .wr = a.tensor[KB_MOE_ROUTER_WR].data,
                             .bias = a.tensor[KB_MOE_ROUTER_BIAS].data };
    struct moe_routing r;
    assert_int_equal(moe_pack(&in, &s, MOE_PACK_ROUTER, err, sizeof err), KB_OK);
    assert_int_equal(moe_routing_new(&r, &s, 1, err, sizeof err), KB_OK);
    r.ids = a.buffer[KB_MOE_ROUTER_IDS];
    r.gates = a.buffer[KB_MOE_ROUTER_GATES];
    r.counts = a.buffer[KB_MOE_ROUTER_COUNTS];
    moe_route_all(&in, &s, &r);
    struct kb_accuracy acc;
    assert_int_equal(kb_op_moe_router.verify(&a, &s, KB_DTYPE_BF16, 9, 1, &acc), KB_OK);
    assert_true(acc.passed);
    assert_true(acc.exact_checked > 0);
    r.gates[0] *= 1.01f;
    assert_int_equal(kb_op_moe_router.verify(&a, &s, KB_DTYPE_BF16, 9, 1, &acc), KB_OK);
    assert_false(acc.passed);
    moe_routing_free(&r);
    moe_pack_free(&in);
    kb_operands_free(&a);
}

static void test_every_kernel_passes(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, MOE_GEMM_AVX2_NEEDS, CASE_NO_PATH };
    case_each_path("moe.*@cpu (grouped GEMM)", needs, every_kernel_passes_on_one_path);
}

static void test_fused_matches_unfused_everywhere(void **state)
{
    (void)state;
    static const unsigned needs[KB_PATH_COUNT] = { 0, MOE_GEMM_AVX2_NEEDS, CASE_NO_PATH };
    case_each_path("moe.layer@cpu.fused/unfused", needs, fused_matches_unfused_everywhere_on_one_path);
}

/* moe.layer@cuda.ep's bookkeeping, simulated on the host with tagged rows (the GPU path cannot
 * run here): for R ranks holding random routings, the dispatch sends every row to its expert's
 * owner (as moe_ep.c's exchange does: sender blocks from off[r][e0[q]], received sender by
 * sender), the grouped order holds each local expert's rows and only them, with its row tiles
 * counted, and the return puts every row back in its sender's sorted slot. Uneven splits, empty
 * ranks (fewer tokens or experts than ranks) and R = 1 included. */
static void test_ep_exchange_plan(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    const int cases[][3] = { { 1, 8, 40 }, { 2, 8, 77 }, { 3, 7, 100 }, { 4, 3, 9 }, { 8, 64, 300 }, { 8, 5, 0 } };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int R = cases[t][0], E = cases[t][1], slots_total = cases[t][2];
        int e0[MOE_EP_MAX_RANKS], en[MOE_EP_MAX_RANKS], nslots[MOE_EP_MAX_RANKS];
        int *offs[MOE_EP_MAX_RANKS];
        const int *coff[MOE_EP_MAX_RANKS];
        long *tag[MOE_EP_MAX_RANKS]; /* sender's sorted rows: tag = rank * 1e6 + slot */
        for (int r = 0; r < R; r++) {
            e0[r] = (int)((long)r * E / R);
            en[r] = (int)((long)(r + 1) * E / R) - e0[r];
            nslots[r] = (int)((long)(r + 1) * slots_total / R) - (int)((long)r * slots_total / R);
            offs[r] = calloc((size_t)E + 1, sizeof(int));
            assert_non_null(offs[r]);
            /* a random routing's histogram, skewed: some experts get nothing */
            int *count = calloc((size_t)E, sizeof(int));
            for (int i = 0; i < nslots[r]; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                int e = (int)((rng >> 33) % (uint64_t)E);
                if ((rng >> 20) % 3 == 0)
                    e = e / 2; /* lower experts more often */
                count[e]++;
            }
            for (int e = 0; e < E; e++)
                offs[r][e + 1] = offs[r][e] + count[e];
            free(count);
            coff[r] = offs[r];
            tag[r] = calloc((size_t)nslots[r] + 1, sizeof(long));
            for (int i = 0; i < nslots[r]; i++)
                tag[r][i] = (long)r * 1000000 + i;
        }
        long *back[MOE_EP_MAX_RANKS];
        for (int r = 0; r < R; r++) {
            back[r] = calloc((size_t)nslots[r] + 1, sizeof(long));
            for (int i = 0; i < nslots[r]; i++)
                back[r][i] = -1;
        }
        for (int r = 0; r < R; r++) {
            /* dispatch into r */
            long *recv = calloc((size_t)slots_total + 1, sizeof(long));
            int *a_index = calloc((size_t)slots_total + 1, sizeof(int));
            int *ret_perm = calloc((size_t)slots_total + 1, sizeof(int));
            int *l_off = calloc((size_t)en[r] + 1, sizeof(int)), *l_mts = calloc((size_t)en[r] + 1, sizeof(int));
            long at = 0;
            for (int q = 0; q < R; q++) {
                long n = moe_ep_sent_rows(coff, e0, en, q, r);
                for (long i = 0; i < n; i++)
                    recv[at + i] = tag[q][offs[q][e0[r]] + i];
                at += n;
            }
            long nrecv = moe_ep_plan_receiver(R, coff, e0, en, r, 4, a_index, ret_perm, l_off, l_mts);
            assert_int_equal(nrecv, at);
            assert_int_equal(l_off[en[r]], nrecv);
            /* the grouped order: local expert x's rows are exactly the assignments to e0 + x */
            long *yl = calloc((size_t)nrecv + 1, sizeof(long));
            for (int x = 0; x < en[r]; x++) {
                long want = 0;
                for (int q = 0; q < R; q++)
                    want += offs[q][e0[r] + x + 1] - offs[q][e0[r] + x];
                assert_int_equal(l_off[x + 1] - l_off[x], want);
                assert_int_equal(l_mts[x + 1] - l_mts[x], (want + 3) / 4);
                for (int s2 = l_off[x]; s2 < l_off[x + 1]; s2++) {
                    long tg = recv[a_index[s2]];
                    int q = (int)(tg / 1000000), slot = (int)(tg % 1000000);
                    assert_true(slot >= offs[q][e0[r] + x] && slot < offs[q][e0[r] + x + 1]);
                    yl[s2] = tg; /* the expert's result for that row, tagged as its input */
                }
            }
            /* back into received order, then the return exchange (r sends each sender its block) */
            long recv_base = 0;
            for (int q = 0; q < R; q++) {
                long n = moe_ep_sent_rows(coff, e0, en, q, r);
                for (long i = 0; i < n; i++)
                    back[q][offs[q][e0[r]] + i] = yl[ret_perm[recv_base + i]];
                recv_base += n;
            }
            free(recv), free(a_index), free(ret_perm), free(l_off), free(l_mts), free(yl);
        }
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < nslots[r]; i++)
                if (back[r][i] != tag[r][i])
                    fail_msg("R=%d E=%d: rank %d slot %d came back as %ld", R, E, r, i, back[r][i]);
            free(back[r]), free(tag[r]), free(offs[r]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kernel_passes),
        cmocka_unit_test(test_fused_matches_unfused_everywhere),
        cmocka_unit_test(test_gemm_paths_agree),
        cmocka_unit_test(test_routing_skews),
        cmocka_unit_test(test_load_histogram_whole_or_absent),
        cmocka_unit_test(test_generator_seeded),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_planted_router),
        cmocka_unit_test(test_planted_dispatch),
        cmocka_unit_test(test_planted_outputs),
        cmocka_unit_test(test_planted_layer_routing),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_layers_share_inputs_and_counts),
        cmocka_unit_test(test_bf16_inputs_and_verdict),
        cmocka_unit_test(test_ep_exchange_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
