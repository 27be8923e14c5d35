/* test_plan.c - the sweep planner: axis syntax, spec setters, suite files, expansion, shards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/presets.h"
#include "harness/plan.h"

static char err[512];

static void test_axis_geometric(void **state)
{
    (void)state;
    struct int_axis a;
    assert_int_equal(plan_parse_int_axis("512:8192:x2", 1, 1 << 20, &a, err, sizeof err), 0);
    assert_int_equal(a.n, 5);
    int want[] = { 512, 1024, 2048, 4096, 8192 };
    for (int i = 0; i < 5; i++)
        assert_int_equal(a.v[i], want[i]);
    /* an upper bound off the progression stops below it */
    assert_int_equal(plan_parse_int_axis("3:100:x3", 1, 1000, &a, err, sizeof err), 0);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.v[3], 81);
    /* LO:HI alone doubles */
    assert_int_equal(plan_parse_int_axis("1k:4k", 1, 1 << 20, &a, err, sizeof err), 0);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.v[0], 1024);
    assert_int_equal(a.v[2], 4096);
}

static void test_axis_arithmetic_and_lists(void **state)
{
    (void)state;
    struct int_axis a;
    assert_int_equal(plan_parse_int_axis("64:256:+64", 1, 1024, &a, err, sizeof err), 0);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.v[3], 256);
    assert_int_equal(plan_parse_int_axis("1,2,4,2", 1, 64, &a, err, sizeof err), 0);
    assert_int_equal(a.n, 3); /* duplicates collapse */
    assert_int_equal(plan_parse_int_axis("1, 3:5:+1", 1, 64, &a, err, sizeof err), 0);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.v[1], 3);
    assert_int_equal(a.v[3], 5);
}

static void test_axis_errors_name_the_value(void **state)
{
    (void)state;
    struct int_axis a;
    const char *bad[] = { "", "abc", "8:4", "1,,2", "4:64:x1", "4:64:y2", "0:64:x2", "12q" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(plan_parse_int_axis(bad[i], 0, 1 << 20, &a, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(plan_parse_int_axis("abc", 0, 10, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "abc"));
    assert_int_equal(plan_parse_int_axis("5,99", 0, 10, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "99"));
}

static void test_spec_set(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "dtype", "f32,bf16", err, sizeof err), 0);
    assert_int_equal(s.n_dtypes, 2);
    assert_int_equal(s.dtypes[1], KB_DTYPE_BF16);
    assert_int_equal(plan_spec_set(&s, "dtype", "f33", err, sizeof err), -1);
    assert_non_null(strstr(err, "f33"));
    assert_int_equal(plan_spec_set(&s, "devices", "cpu,cuda:1", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "devices", "tpu:0", err, sizeof err), -1);
    assert_non_null(strstr(err, "tpu:0"));
    assert_int_equal(plan_spec_set(&s, "causal", "2", err, sizeof err), -1);
    assert_int_equal(plan_spec_set(&s, "cache", "lukewarm", err, sizeof err), -1);
    assert_non_null(strstr(err, "lukewarm"));
    assert_int_equal(plan_spec_set(&s, "sequence", "4", err, sizeof err), -2); /* unknown key */
    assert_non_null(strstr(err, "sequence"));
}

static size_t count_kernel(const struct plan *p, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += strcmp(p->cases[i].kernel->name, name) == 0;
    return n;
}

static void test_build_cartesian(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.flash", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "seq", "128:512:x2", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "causal", "0,1", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "threads", "1,2", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "cache", "both", err, sizeof err), 0);
    /* a dtype the kernel lacks and a device it does not run on add no cases */
    assert_int_equal(plan_spec_set(&s, "dtype", "f32,i8", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "devices", "cpu,cuda:0", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    assert_int_equal(p.n, 3 * 2 * 2 * 2);
    for (size_t i = 0; i < p.n; i++) {
        assert_string_equal(p.cases[i].device, "cpu");
        assert_int_equal(p.cases[i].shape.kv_heads, p.cases[i].shape.heads);
    }
    /* building the same spec twice adds nothing (duplicates collapse) */
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    assert_int_equal(p.n, 24);
    plan_free(&p);
}

/* With no dtype named, each kernel runs in f32 when it has it and in its own dtype otherwise:
 * an INT8-only kernel is not silently left out; naming a dtype still filters. */
static void test_unnamed_dtype_is_each_kernels_own(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.flash@cpu,attention.int8@cpu", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "seq", "128", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    assert_int_equal(p.n, 2);
    for (size_t i = 0; i < p.n; i++)
        assert_int_equal(p.cases[i].dtype, strcmp(p.cases[i].kernel->name, "attention.int8") == 0 ? KB_DTYPE_I8 : KB_DTYPE_F32);
    plan_free(&p);
    /* a named dtype that one pattern's kernels all lack is the user's error, not a silent drop */
    struct plan q = { 0 };
    assert_int_equal(plan_spec_set(&s, "dtype", "f32", err, sizeof err), 0);
    assert_int_equal(plan_build(&s, 1, &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "'attention.int8@cpu' takes dtype f32"));
    plan_free(&q);
    /* a pattern some of whose kernels take it plans those */
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.flash@cpu,attention.*@cpu", err, sizeof err), 0);
    assert_int_equal(plan_build(&s, 1, &q, err, sizeof err), 0);
    assert_int_equal(count_kernel(&q, "attention.int8"), 0);
    assert_int_equal(count_kernel(&q, "attention.flash"), 1);
    plan_free(&q);
}

static void test_seed_shared_across_impls(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.*", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "seq", "256", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    assert_true(count_kernel(&p, "attention.flash") == 1 && count_kernel(&p, "attention.reference") == 1);
    /* every kernel of a family sees the same inputs for the same shape */
    assert_true(p.cases[0].seed == p.cases[1].seed);
    plan_free(&p);
}

/* span (GPUs per case) plans one case per value for the kernels that span devices, leaves the
 * others alone, and stays out of the seed: every span of a layer sees the inputs the one-device
 * implementations see (CUDA builds, where such a kernel exists). */
static void test_span_plans_and_keeps_the_seed(void **state)
{
    (void)state;
    if (!kb_registry_find("moe.layer", "cuda.ep"))
        skip();
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "moe.layer@cuda.ep,moe.layer@cuda.unfused", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "devices", "cuda:0", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "dtype", "bf16", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "span", "1,2,8", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    assert_int_equal((int)p.n, 4);
    int spans = 0;
    for (size_t i = 0; i < p.n; i++) {
        assert_true(p.cases[i].seed == p.cases[0].seed);
        if (strcmp(p.cases[i].kernel->impl, "cuda.ep") == 0)
            spans += p.cases[i].shape.span;
        else
            assert_int_equal(p.cases[i].shape.span, 0);
    }
    assert_int_equal(spans, 1 + 2 + 8);
    plan_free(&p);
}

static void test_unknown_kernel_pattern(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.nope*", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "attention.nope*"));
    plan_free(&p);
}

static void test_shards_partition(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "seq", "64:8192:x2", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "head_dim", "32,64,128", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "causal", "0,1", err, sizeof err), 0);
    struct plan all = { 0 };
    assert_int_equal(plan_build(&s, 1, &all, err, sizeof err), 0);
    size_t total = 0;
    for (int i = 1; i <= 3; i++) {
        struct plan part = { 0 };
        assert_int_equal(plan_build(&s, 1, &part, err, sizeof err), 0);
        plan_shard(&part, i, 3);
        assert_true(part.n > 0 && part.n < all.n);
        total += part.n;
        plan_free(&part);
    }
    assert_int_equal(total, all.n);   /* every case in exactly one shard */
    plan_free(&all);
}

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/kbench-test-suite-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_suite_groups(void **state)
{
    (void)state;
    const char *path = write_tmp("# a suite\nname = demo\nhead_dim = 32\n\n[a]\nkernels = attention.flash\n"
                                 "seq = 128,256  # trailing comment\n[b]\nkernels = attention.reference\nseq = 64\n");
    struct plan_spec base, specs[4];
    plan_spec_default(&base);
    char name[64];
    int n = plan_suite_load(path, &base, specs, 4, name, sizeof name, err, sizeof err);
    unlink(path);
    assert_int_equal(n, 2);
    assert_string_equal(name, "demo");
    assert_string_equal(specs[0].group, "a");
    assert_int_equal(specs[0].axis[KB_AXIS_SEQ].n, 2);
    assert_int_equal(specs[1].axis[KB_AXIS_HEAD_DIM].v[0], 32); /* top-level keys reach every group */
    struct plan p = { 0 };
    assert_int_equal(plan_build(specs, n, &p, err, sizeof err), 0);
    assert_int_equal(p.n, 3);
    plan_free(&p);
}

static void test_suite_errors_name_the_line(void **state)
{
    (void)state;
    struct { const char *text, *expect; } cases[] = {
        { "[ok]\nseq = 128\nthis line is wrong\n", ":3:" },
        { "[ok]\nseq = 12x8\n", "12x8" },
        { "[unclosed\nseq = 1\n", ":1:" },
        { "[g]\nwarp = 9\n", "warp" },
        { "[g]\nseq =\n", "missing value" },
    };
    struct plan_spec base, specs[4];
    plan_spec_default(&base);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_tmp(cases[i].text);
        int n = plan_suite_load(path, &base, specs, 4, NULL, 0, err, sizeof err);
        unlink(path);
        assert_int_equal(n, -1);
        assert_non_null(strstr(err, cases[i].expect));
    }
    assert_int_equal(plan_suite_load("/nonexistent/x.suite", &base, specs, 4, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.suite"));
}

static void test_shipped_suites_parse(void **state)
{
    (void)state;
    const char *names[] = { "quick", "standard", "nightly", "long-context" };
    static struct plan_spec specs[64]; /* as many groups as kbench run takes */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        assert_int_equal(plan_suite_find(names[i], path, sizeof path), 0);
        struct plan_spec base;
        plan_spec_default(&base);
        int n = plan_suite_load(path, &base, specs, 64, NULL, 0, err, sizeof err);
        if (n < 1)
            fail_msg("%s: %s", names[i], err);
        struct plan p = { 0 };
        assert_int_equal(plan_build(specs, n, &p, err, sizeof err), 0);
        assert_true(p.n > 0);
        plan_free(&p);
    }
    /* the GPU suite names CUDA kernels, which a build without CUDA lacks: it must still parse */
    char path[1024];
    assert_int_equal(plan_suite_find("h100", path, sizeof path), 0);
    struct plan_spec base;
    plan_spec_default(&base);
    int n = plan_suite_load(path, &base, specs, 64, NULL, 0, err, sizeof err);
    if (n < 1)
        fail_msg("h100: %s", err);
    assert_true(n >= 9);
}


/* Each kernel sweeps only its own axes: the selftest kernels take seq (and causal), so a heads
 * axis multiplies attention cases but not theirs, and the axes they do not use stay 0. */
/* A decode-only kernel (required_axes: attention.flash@cpu.paged) is planned only where decode
 * is 1, so "attention.flash" over prefill shapes keeps its cases; asked for alone without
 * --decode 1 the plan says what is missing. */
static void test_decode_only_kernels(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.flash*", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "seq", "100", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "decode", "0,1", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "page", "0,16", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    size_t paged = 0, flash = 0;
    for (size_t i = 0; i < p.n; i++) {
        if (strcmp(p.cases[i].kernel->impl, "cpu.paged") == 0) {
            paged++;
            assert_int_equal(p.cases[i].shape.decode, 1);
        } else if (strcmp(p.cases[i].kernel->impl, "cpu") == 0) {
            flash++;
            assert_int_equal(p.cases[i].shape.page, 0); /* not its axis */
        }
    }
    assert_int_equal(paged, 2); /* page 0 and 16, decode 1 */
    assert_int_equal(flash, 2); /* decode 0 and 1 */
    plan_free(&p);

    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.flash@cpu.paged", err, sizeof err), 0);
    memset(&p, 0, sizeof p);
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "--decode 1"));
    plan_free(&p);
}

static void test_kernels_sweep_their_own_axes(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "selftest.noop,attention.flash", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "seq", "64,128", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "heads", "2,4,8", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "tokens", "16,32", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    size_t noop = 0, flash = 0;
    for (size_t i = 0; i < p.n; i++) {
        const struct plan_case *c = &p.cases[i];
        assert_int_equal(c->shape.tokens, 0); /* no kernel here sweeps tokens */
        if (strcmp(c->kernel->name, "selftest.noop") == 0) {
            noop++;
            assert_int_equal(c->shape.heads, 0);
        } else {
            flash++;
            assert_int_equal(c->shape.kv_heads, c->shape.heads); /* unset kv_heads follows heads */
            assert_int_equal(c->shape.input, KB_INPUT_NORMAL);   /* the fallback of an unset axis */
        }
    }
    assert_int_equal(noop, 2);
    assert_int_equal(flash, 6);
    plan_free(&p);
}

static void test_enum_axes_and_presets(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "input", "outlier, normal", err, sizeof err), 0);
    assert_int_equal(s.axis[KB_AXIS_INPUT].n, 2);
    assert_int_equal(s.axis[KB_AXIS_INPUT].v[0], KB_INPUT_OUTLIER);
    assert_int_equal(plan_spec_set(&s, "routing", "all", err, sizeof err), 0);
    assert_int_equal(s.axis[KB_AXIS_ROUTING].n, 3);
    assert_int_equal(plan_spec_set(&s, "routing", "skewed", err, sizeof err), -1);
    assert_non_null(strstr(err, "skewed"));
    assert_non_null(strstr(err, "zipf")); /* the message lists what is accepted */
    assert_int_equal(plan_spec_set(&s, "preset", "mixtral-8x7b", err, sizeof err), 0);
    assert_int_equal(s.axis[KB_AXIS_HIDDEN].v[0], 4096);
    assert_int_equal(s.axis[KB_AXIS_FFN].v[0], 14336);
    assert_int_equal(s.axis[KB_AXIS_EXPERTS].v[0], 8);
    assert_int_equal(s.axis[KB_AXIS_TOP_K].v[0], 2);
    assert_int_equal(plan_spec_set(&s, "preset", "gpt-5", err, sizeof err), -1);
    assert_non_null(strstr(err, "llama3-8b"));
    /* Every preset applies cleanly and every setting names a real axis. */
    size_t np;
    const struct kb_preset *all = kb_presets(&np);
    assert_true(np >= 8);
    for (size_t i = 0; i < np; i++) {
        struct plan_spec t;
        plan_spec_default(&t);
        if (plan_spec_set(&t, "preset", all[i].name, err, sizeof err) != 0)
            fail_msg("preset %s: %s", all[i].name, err);
    }
}

static void test_shape_strings(void **state)
{
    (void)state;
    char buf[160];
    struct kb_shape a = { .batch = 1, .heads = 32, .kv_heads = 8, .seq_len = 4096, .head_dim = 128, .causal = 1,
                          .window = 256, .input = KB_INPUT_OUTLIER };
    kb_shape_string(&a, 0, buf, sizeof buf);
    assert_string_equal(buf, "b=1 h=32 kvh=8 n=4096 d=128 causal w=256 input=outlier");
    struct kb_shape m = { .tokens = 4096, .hidden = 4096, .ffn = 14336, .experts = 8, .top_k = 2,
                          .routing = KB_ROUTING_ZIPF, .input = KB_INPUT_NORMAL };
    kb_shape_string(&m, 0, buf, sizeof buf);
    assert_string_equal(buf, "T=4096 hid=4096 f=14336 E=8 top=2 route=zipf");
    /* Too small a buffer truncates at an item boundary, never mid-number. */
    kb_shape_string(&m, 0, buf, 16);
    assert_string_equal(buf, "T=4096 hid=4096");
    /* Every axis has a key, a column and a fallback within its range. */
    for (int i = 0; i < KB_AXIS_COUNT; i++) {
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)i);
        assert_non_null(ax->key);
        assert_non_null(ax->column);
        assert_int_equal(kb_axis_by_key(ax->key), i);
        if (i != KB_AXIS_KV_HEADS)
            assert_in_range(ax->fallback, ax->min, ax->max);
    }
}

static void test_suite_errors_name_the_column(void **state)
{
    (void)state;
    struct plan_spec base, specs[4];
    plan_spec_default(&base);
    const char *path = write_tmp("[g]\nkernels = attention.flash\nrouting =  zipf,bogus\n");
    assert_int_equal(plan_suite_load(path, &base, specs, 4, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3:12: unknown routing 'bogus'"));
    unlink(path);
    /* a NUL byte is named as such, not mistaken for a long line */
    static const char with_nul[] = "[g]\nseq = 12\0003\n";
    FILE *f = fmemopen((void *)with_nul, sizeof with_nul - 1, "r");
    assert_int_equal(plan_suite_parse(f, "nul.suite", &base, specs, 4, NULL, 0, err, sizeof err), -1);
    fclose(f);
    assert_non_null(strstr(err, "nul.suite:2:9: a NUL byte"));
    path = write_tmp("[g]\n  colour = red\n");
    assert_int_equal(plan_suite_load(path, &base, specs, 4, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2:3: unknown axis 'colour'"));
    unlink(path);
}

/* ---- issue 15: what the user typed is checked where it is typed ------------------------------- */

/* A shape no kernel could run (kv_heads not dividing heads, top_k above experts, decay without
 * causal order) is a planning error naming the values, not a case planned and then skipped. */
static void test_impossible_shapes_are_errors(void **state)
{
    (void)state;
    static const struct { const char *kernels, *k1, *v1, *k2, *v2, *want; } bad[] = {
        { "attention.flash@cpu", "heads", "3", "kv_heads", "2", "--heads 3 is not a multiple of --kv-heads 2" },
        { "attention.flash@cpu", "heads", "2", "kv_heads", "4", "--kv-heads 4 is more than --heads 2" },
        { "moe.router", "experts", "4", "top_k", "8", "--top-k 8 is more than --experts 4" },
        { "attention.linear@cpu", "decay", "1", "causal", "0", "--decay 1 needs causal order" },
        { "vit.block@cpu.f32", "heads", "12", "head_dim", "64", "--hidden 512 is not --heads 12 x --head-dim 64" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct plan_spec s;
        plan_spec_default(&s);
        assert_int_equal(plan_spec_set(&s, "kernels", bad[i].kernels, err, sizeof err), 0);
        assert_int_equal(plan_spec_set(&s, "seq", "64", err, sizeof err), 0);
        assert_int_equal(plan_spec_set(&s, bad[i].k1, bad[i].v1, err, sizeof err), 0);
        assert_int_equal(plan_spec_set(&s, bad[i].k2, bad[i].v2, err, sizeof err), 0);
        struct plan p = { 0 };
        err[0] = '\0';
        assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: got '%s'", bad[i].want, err);
        assert_int_equal(p.n, 0);
        plan_free(&p);
    }
    /* one bad value in a sweep is enough: 12 heads are not whole groups of 8 KV heads */
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "kernels", "attention.flash@cpu", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "heads", "8,12", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "kv_heads", "8", err, sizeof err), 0);
    struct plan p = { 0 };
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "--heads 12"));
    plan_free(&p);
    /* attention.delta has no causal axis (it is causal by definition): its decay, Gated
     * DeltaNet's gate, plans without --causal */
    struct plan_spec ds;
    plan_spec_default(&ds);
    assert_int_equal(plan_spec_set(&ds, "kernels", "attention.delta@cpu.recurrent", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&ds, "seq", "64", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&ds, "decay", "0,1", err, sizeof err), 0);
    struct plan dp = { 0 };
    assert_int_equal(plan_build(&ds, 1, &dp, err, sizeof err), 0);
    assert_int_equal(dp.n, 2);
    plan_free(&dp);
    /* valid GQA and MoE shapes plan as before */
    assert_int_equal(plan_spec_set(&s, "heads", "8,16", err, sizeof err), 0);
    assert_int_equal(plan_spec_set(&s, "kv_heads", "2,8", err, sizeof err), 0);
    assert_int_equal(plan_build(&s, 1, &p, err, sizeof err), 0);
    assert_int_equal(p.n, 4 * 3);
    plan_free(&p);
    /* kv_heads unset follows heads, and a kernel without the axes is not checked on them */
    struct kb_shape shape = { .heads = 3, .experts = 2, .top_k = 4 };
    assert_int_equal(plan_check_shape(KB_AXES_ATTENTION, &shape, err, sizeof err), 0);
    assert_int_equal(plan_check_shape(KB_AXES_MOE, &shape, err, sizeof err), -1);
}

/* A value beyond the axis' range says "out of range" with the range, even when it is too large
 * to parse as a number; text that is not a number still says it cannot be parsed. */
static void test_out_of_range_is_named(void **state)
{
    (void)state;
    struct int_axis a;
    const char *huge[] = { "99999999999999999999999", "4k,99999999999999999999k", "1:99999999999999999999999:x2",
                           "9000000000000000000k", "70000" };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        err[0] = '\0';
        assert_int_equal(plan_parse_int_axis(huge[i], 1, 65536, &a, err, sizeof err), -1);
        if (!strstr(err, "out of range") || !strstr(err, "65536") || strstr(err, "cannot parse"))
            fail_msg("%s: '%s'", huge[i], err);
    }
    assert_int_equal(plan_parse_int_axis("4:64:x99999999999999999999", 1, 65536, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(plan_parse_int_axis("12q", 1, 65536, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot parse"));
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "top_k", "65", err, sizeof err), -1);
    assert_non_null(strstr(err, "out of range [1, 64]"));
}

/* cache takes a list like every axis; preset names ignore case and punctuation */
static void test_cache_list_and_preset_names(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "cache", "hot,cold", err, sizeof err), 0);
    assert_int_equal(s.cold_cache, 2);
    assert_int_equal(plan_spec_set(&s, "cache", "cold", err, sizeof err), 0);
    assert_int_equal(s.cold_cache, 1);
    assert_int_equal(plan_spec_set(&s, "cache", "hot, hot", err, sizeof err), 0);
    assert_int_equal(s.cold_cache, 0);
    assert_int_equal(plan_spec_set(&s, "cache", "hot,lukewarm", err, sizeof err), -1);
    assert_non_null(strstr(err, "'lukewarm'"));
    char v[64];
    plan_spec_value_string(&s, "cache", v, sizeof v);
    assert_string_equal(v, "hot");
    assert_non_null(kb_preset_find("Llama-3-8B"));
    assert_string_equal(kb_preset_find("Llama-3-8B")->name, "llama3-8b");
    assert_string_equal(kb_preset_find("ViT-B/16")->name, "vit-b16");
    assert_string_equal(kb_preset_find("QWEN3-30B-A3B")->name, "qwen3-30b-a3b");
    assert_null(kb_preset_find("llama3-8"));
    assert_int_equal(plan_spec_set(&s, "preset", "llama3-7b", err, sizeof err), -1);
    assert_non_null(strstr(err, "did you mean llama3-8b?"));
    assert_int_equal(plan_spec_set(&s, "preset", "Mixtral-8x7B", err, sizeof err), 0);
    assert_int_equal(s.axis[KB_AXIS_EXPERTS].v[0], 8);
}

/* A mistyped key is answered with the nearest one (a key, or the store column a user may know) */
static void test_did_you_mean_axis(void **state)
{
    (void)state;
    char guess[32];
    static const struct { const char *typed, *want; } cases[] = {
        { "seqlen", "seq" }, { "seq_len", "seq" }, { "kv-heads", "kv_heads" }, { "haeds", "heads" },
        { "topk", "top_k" }, { "kernel", "kernels" }, { "gemm_m", "m" }, { "cahce", "cache" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (plan_suggest_key(cases[i].typed, guess, sizeof guess) != 0 || strcmp(guess, cases[i].want) != 0)
            fail_msg("%s: wanted %s", cases[i].typed, cases[i].want);
    }
    assert_int_equal(plan_suggest_key("colour", guess, sizeof guess), -1);
    struct plan_spec s;
    plan_spec_default(&s);
    assert_int_equal(plan_spec_set(&s, "seqlen", "4", err, sizeof err), -2);
    assert_non_null(strstr(err, "did you mean seq?"));
}

/* A key given twice in one group would silently override; a folder is not a suite file */
static void test_suite_duplicates_and_folders(void **state)
{
    (void)state;
    struct plan_spec base, specs[4];
    plan_spec_default(&base);
    const char *path = write_tmp("[g]\nkernels = attention.flash\nseq = 64\n# again\nseq = 128\n");
    assert_int_equal(plan_suite_load(path, &base, specs, 4, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, ":5:1: 'seq' is set twice in group [g] (first on line 3)"));
    unlink(path);
    /* the same key in two groups, or at the top and in a group, is how suites are written */
    path = write_tmp("seq = 64\n[a]\nkernels = attention.flash\nseq = 128\n[b]\nkernels = attention.flash\nseq = 256\n");
    assert_int_equal(plan_suite_load(path, &base, specs, 4, NULL, 0, err, sizeof err), 2);
    unlink(path);
    path = write_tmp("[a]\nseq = 64\n[a]\nseq = 128\n");
    assert_int_equal(plan_suite_load(path, &base, specs, 4, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3: group [a] appears twice"));
    unlink(path);
    char dir[] = "/tmp/kbench-suite-dir.XXXXXX", found[1024];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(plan_suite_find(dir, found, sizeof found), 0);
    assert_int_equal(plan_suite_load(found, &base, specs, 4, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "is a folder"));
    rmdir(dir);
}

/* What 'kbench list --axes' prints as defaults is what plan_spec_default plans */
static void test_default_values_and_accepted_values(void **state)
{
    (void)state;
    struct plan_spec s;
    plan_spec_default(&s);
    char v[128];
    plan_spec_value_string(&s, "seq", v, sizeof v);
    assert_string_equal(v, "512,1024,2048");
    plan_spec_value_string(&s, "kv_heads", v, sizeof v);
    assert_string_equal(v, "=heads");
    plan_spec_value_string(&s, "routing", v, sizeof v);
    assert_string_equal(v, "uniform");
    plan_spec_value_string(&s, "kernels", v, sizeof v);
    assert_string_equal(v, "attention.*");
    plan_spec_value_string(&s, "threads", v, sizeof v);
    assert_string_equal(v, "1");
    /* every value listed for an enum axis is one the parser takes */
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        if (kb_axis_info((enum kb_axis)a)->kind != KB_AXIS_KIND_ENUM)
            continue;
        kb_axis_values_string((enum kb_axis)a, v, sizeof v);
        char copy[128];
        snprintf(copy, sizeof copy, "%s", v);
        int listed = 0;
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","), listed++) {
            struct plan_spec t;
            plan_spec_default(&t);
            if (plan_spec_set(&t, kb_axis_info((enum kb_axis)a)->key, tok, err, sizeof err) != 0)
                fail_msg("%s: listed value '%s' refused: %s", kb_axis_info((enum kb_axis)a)->key, tok, err);
        }
        assert_int_equal(listed, kb_axis_info((enum kb_axis)a)->max + 1); /* the names and "all" */
    }
    kb_axis_values_string(KB_AXIS_ROUTING, v, sizeof v);
    assert_string_equal(v, "uniform,zipf,one,all");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_axis_geometric),
        cmocka_unit_test(test_axis_arithmetic_and_lists),
        cmocka_unit_test(test_axis_errors_name_the_value),
        cmocka_unit_test(test_spec_set),
        cmocka_unit_test(test_build_cartesian),
        cmocka_unit_test(test_seed_shared_across_impls),
        cmocka_unit_test(test_span_plans_and_keeps_the_seed),
        cmocka_unit_test(test_unnamed_dtype_is_each_kernels_own),
        cmocka_unit_test(test_unknown_kernel_pattern),
        cmocka_unit_test(test_shards_partition),
        cmocka_unit_test(test_kernels_sweep_their_own_axes),
        cmocka_unit_test(test_decode_only_kernels),
        cmocka_unit_test(test_enum_axes_and_presets),
        cmocka_unit_test(test_shape_strings),
        cmocka_unit_test(test_suite_errors_name_the_column),
        cmocka_unit_test(test_suite_groups),
        cmocka_unit_test(test_suite_errors_name_the_line),
        cmocka_unit_test(test_shipped_suites_parse),
        cmocka_unit_test(test_impossible_shapes_are_errors),
        cmocka_unit_test(test_out_of_range_is_named),
        cmocka_unit_test(test_cache_list_and_preset_names),
        cmocka_unit_test(test_did_you_mean_axis),
        cmocka_unit_test(test_suite_duplicates_and_folders),
        cmocka_unit_test(test_default_values_and_accepted_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
