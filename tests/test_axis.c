/* test_axis.c - the swept axis of a set of cases (reports/axis.h) and the series built along it
 * (report_series_build): synthetic result rows whose sweep is known by construction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports/axis.h"
#include "reports/report.h"

/* A timed MoE layer case (the registry has moe.layer@cpu.fused). */
static struct result_row moe(int tokens, int experts, double seconds)
{
    struct result_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.kernel, sizeof r.kernel, "moe.layer");
    snprintf(r.impl, sizeof r.impl, "cpu.fused");
    snprintf(r.device, sizeof r.device, "cpu");
    snprintf(r.dtype, sizeof r.dtype, "f32");
    snprintf(r.status, sizeof r.status, "ok");
    r.shape = (struct kb_shape){ .tokens = tokens, .hidden = 64, .ffn = 128, .experts = experts, .top_k = 2,
                                 .routing = KB_ROUTING_UNIFORM, .input = KB_INPUT_NORMAL };
    r.null_axes = ~(uint64_t)0 & ~KB_AXES_MOE;
    r.threads = 1;
    r.stats.median = seconds;
    r.flops = 1e6 * tokens;
    return r;
}

static struct result_row gemm(const char *kernel, const char *impl, const char *dtype, int m, int n, double seconds)
{
    struct result_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.kernel, sizeof r.kernel, "%s", kernel);
    snprintf(r.impl, sizeof r.impl, "%s", impl);
    snprintf(r.device, sizeof r.device, "cpu");
    snprintf(r.dtype, sizeof r.dtype, "%s", dtype);
    snprintf(r.status, sizeof r.status, "ok");
    r.shape = (struct kb_shape){ .m = m, .n = n, .k = 256, .input = KB_INPUT_NORMAL };
    r.threads = 1;
    r.stats.median = seconds;
    r.flops = 2.0 * m * n * 256;
    return r;
}

static int swept(const struct result_row *rows, long n)
{
    const struct result_row *p[32];
    for (long i = 0; i < n; i++)
        p[i] = &rows[i];
    return report_swept_axis(p, n);
}

static void picks_the_axis_the_cases_sweep(void **unused)
{
    (void)unused;
    struct result_row tokens[] = { moe(64, 8, 1e-3), moe(128, 8, 2e-3), moe(256, 8, 4e-3) };
    assert_int_equal(swept(tokens, 3), KB_AXIS_TOKENS);
    /* experts swept over 4 values at each of 2 token counts: the longer line wins */
    struct result_row grid[8];
    for (int i = 0; i < 8; i++)
        grid[i] = moe(i < 4 ? 64 : 128, 2 << (i % 4), 1e-3);
    assert_int_equal(swept(grid, 8), KB_AXIS_EXPERTS);
    /* a tie (3 and 3) goes to tokens, the axis a reader expects first */
    struct result_row tie[9];
    for (int i = 0; i < 9; i++)
        tie[i] = moe(64 << (i / 3), 4 << (i % 3), 1e-3);
    assert_int_equal(swept(tie, 9), KB_AXIS_TOKENS);
    /* one case: no sweep, the family's first axis */
    assert_int_equal(swept(tokens, 1), KB_AXIS_TOKENS);
    /* a GEMM over M */
    struct result_row g[] = { gemm("gemm.f32", "cpu.blas", "f32", 16, 512, 1e-5), gemm("gemm.f32", "cpu.blas", "f32", 64, 512, 3e-5) };
    assert_int_equal(swept(g, 2), KB_AXIS_M);
}

static void series_along_the_swept_axis(void **unused)
{
    (void)unused;
    /* int8 and f32 GEMMs over M = 16, 64, 256 at two N: four series along M */
    struct result_row rows[12];
    int k = 0;
    for (int n = 256; n <= 512; n += 256)
        for (int m = 16; m <= 256; m *= 4) {
            rows[k++] = gemm("gemm.f32", "cpu.blas", "f32", m, n, 1e-9 * m * n);
            rows[k++] = gemm("quant.gemm_int8", "cpu", "i8", m, n, 0.5e-9 * m * n);
        }
    struct series *v;
    long nv = report_series_build(rows, k, -1, &v);
    assert_int_equal(nv, 4);
    for (long i = 0; i < nv; i++) {
        assert_int_equal(v[i].axis, KB_AXIS_M);
        assert_int_equal(v[i].count, 3);
        assert_true(v[i].x[0] == 16 && v[i].x[1] == 64 && v[i].x[2] == 256);
        assert_true(v[i].fitted);
        assert_true(fabs(v[i].fit.exponent - 1.0) < 1e-9); /* t proportional to M by construction */
        /* labelled by what differs (N), never by a point of M */
        assert_non_null(strstr(v[i].label, "N="));
        assert_null(strstr(v[i].label, "M="));
        assert_string_equal(v[i].family, "quant"); /* gemm.f32 is a quant kernel, by the registry */
    }
    char fixed[128];
    report_series_fixed(v, nv, "quant", KB_AXIS_M, fixed, sizeof fixed);
    assert_string_equal(fixed, "K=256");
    /* the INT8 and float GEMMs do the same useful work: alternatives, crossovers worth drawing */
    assert_true(report_series_alternatives(&v[0], &v[1]));
    report_series_free(v, nv);

    /* forced onto N: two points per series, one series per (kernel, M) */
    nv = report_series_build(rows, k, KB_AXIS_N, &v);
    assert_int_equal(nv, 6);
    for (long i = 0; i < nv; i++) {
        assert_int_equal(v[i].axis, KB_AXIS_N);
        assert_int_equal(v[i].count, 2);
    }
    report_series_free(v, nv);

    /* forced onto an axis no case has: nothing */
    nv = report_series_build(rows, k, KB_AXIS_TOKENS, &v);
    assert_int_equal(nv, 0);
    report_series_free(v, nv);
}

static void axes_through_a_selection(void **unused)
{
    (void)unused;
    struct result_row rows[9];
    for (int i = 0; i < 9; i++)
        rows[i] = moe(64 << (i / 3), 4 << (i % 3), 1e-3);
    int axes[8];
    int n = report_axes_through(&rows[0], 1, rows, 9, axes, 8);
    assert_int_equal(n, 2);
    assert_int_equal(axes[0], KB_AXIS_TOKENS);
    assert_int_equal(axes[1], KB_AXIS_EXPERTS);
    assert_int_equal(report_line_through(&rows[0], rows, 9, KB_AXIS_EXPERTS), 3);
}

static void axis_names(void **unused)
{
    (void)unused;
    assert_int_equal(report_axis_parse("top-k"), KB_AXIS_TOP_K);
    assert_int_equal(report_axis_parse("TOKENS"), KB_AXIS_TOKENS);
    assert_int_equal(report_axis_parse("causal"), -1); /* a flag is never on x */
    assert_int_equal(report_axis_parse("colour"), -1);
    char label[96];
    report_axis_label(KB_AXIS_M, 1, label, sizeof label);
    assert_string_equal(label, "GEMM rows M (rows, log scale)");
    report_axis_label(KB_AXIS_TOKENS, 0, label, sizeof label);
    assert_string_equal(label, "MoE tokens T (tokens)");
    /* every choice the --x options offer parses back to a plottable axis */
    char choices[] = REPORT_AXIS_CHOICES;
    for (char *w = strtok(choices, " "); w; w = strtok(NULL, " "))
        assert_true(report_axis_plottable((enum kb_axis)report_axis_parse(w)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picks_the_axis_the_cases_sweep),
        cmocka_unit_test(series_along_the_swept_axis),
        cmocka_unit_test(axes_through_a_selection),
        cmocka_unit_test(axis_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
