/* test_cpu_features.c - kernels/cpu_features: the KBENCH_CPU_FEATURES syntax (levels, feature
 * lists, errors naming the bad entry), the mask as an upper bound on what the CPU has, and the
 * consumers that must honour it: cpu_info's features and FMA peak, calibration's FMA loop and
 * the kernels' dispatch. Holds on any CPU: it only ever masks features away. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/calibrate.h"
#include "harness/cpu.h"
#include "harness/machine.h"
#include "kernels/attention/flash_cpu.h"
#include "kernels/cpu_features.h"

static unsigned parse_ok(const char *spec)
{
    unsigned m = 12345;
    char err[256] = "";
    if (kb_cpu_features_parse(spec, &m, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", spec, err);
    return m;
}

static void test_parse_levels_and_lists(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("scalar"), 0);
    assert_int_equal(parse_ok("none"), 0);
    assert_int_equal(parse_ok("avx2"), KB_CPU_AVX2 | KB_CPU_FMA | KB_CPU_AVXVNNI);
    assert_int_equal(parse_ok("avx512"), KB_CPU_ALL);
    assert_int_equal(parse_ok("native"), KB_CPU_ALL);
    assert_int_equal(parse_ok("avx2,fma"), KB_CPU_AVX2 | KB_CPU_FMA | KB_CPU_AVXVNNI); /* avx2 is the level */
    assert_int_equal(parse_ok("fma,avx512f"), KB_CPU_FMA | KB_CPU_AVX512F);
    assert_int_equal(parse_ok("avx512f,avx512bw,avx512vnni"), KB_CPU_AVX512F | KB_CPU_AVX512BW | KB_CPU_AVX512VNNI);
    assert_int_equal(parse_ok("avxvnni"), KB_CPU_AVXVNNI);
    assert_int_equal(parse_ok("scalar,fma"), KB_CPU_FMA);
    /* subtractions: an AVX2 CPU without AVX-VNNI, native without AVX-512 VNNI */
    assert_int_equal(parse_ok("avx2,-avxvnni"), KB_CPU_AVX2 | KB_CPU_FMA);
    assert_int_equal(parse_ok("-avxvnni,avx2"), KB_CPU_AVX2 | KB_CPU_FMA); /* order does not matter */
    assert_int_equal(parse_ok("-avx512vnni"), KB_CPU_ALL & ~KB_CPU_AVX512VNNI);
    assert_int_equal(parse_ok("avx512,-avx2"), KB_CPU_ALL & ~(KB_CPU_AVX2 | KB_CPU_FMA | KB_CPU_AVXVNNI));
}

static void test_parse_errors_name_the_entry(void **state)
{
    (void)state;
    const char *bad[] = { "avx3", "avx2,sse9", "AVX2", "avx2,", ",avx2", "", "avx2 fma", "avx2,-sse9", "avx2,-" };
    const char *named[] = { "'avx3'", "'sse9'", "'AVX2'", "''", "''", "''", "'avx2 fma'", "'-sse9'", "'-'" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned m = 777;
        char err[256] = "";
        assert_int_equal(kb_cpu_features_parse(bad[i], &m, err, sizeof err), -1);
        assert_int_equal(m, 777); /* untouched on error */
        if (!strstr(err, named[i]) || !strstr(err, "KBENCH_CPU_FEATURES") || !strstr(err, "accepted"))
            fail_msg("'%s': message '%s' does not name %s", bad[i], err, named[i]);
    }
}

static void test_mask_is_an_upper_bound(void **state)
{
    (void)state;
    const unsigned before = kb_cpu_features(), cpu = kb_cpu_detected();
    assert_int_equal(before & ~cpu, 0);
    kb_cpu_features_set_mask(0);
    assert_int_equal(kb_cpu_features(), 0);
    assert_true(kb_cpu_has(0));
    assert_false(kb_cpu_has(KB_CPU_AVX2));
    assert_int_equal(kb_cpu_masked(), cpu != 0);
    kb_cpu_features_set_mask(KB_CPU_ALL);
    assert_int_equal(kb_cpu_features(), cpu); /* naming a feature never adds one the CPU lacks */
    assert_false(kb_cpu_masked());
    kb_cpu_features_set_mask(before);
    char buf[128];
    kb_cpu_features_format(KB_CPU_AVX2 | KB_CPU_AVX512F, buf, sizeof buf);
    assert_string_equal(buf, "avx512f avx2");
    kb_cpu_features_format(0, buf, sizeof buf);
    assert_string_equal(buf, "");
}

/* Scalar-only: every consumer must see no SIMD. */
static void test_consumers_honour_the_mask(void **state)
{
    (void)state;
    const unsigned before = kb_cpu_features();
    kb_cpu_features_set_mask(0);
    struct cpu_info ci;
    cpu_info_read(&ci);
    assert_false(ci.has_avx2 || ci.has_fma || ci.has_avx512f || ci.has_avx512bw || ci.has_avx512vnni || ci.has_avxvnni);
    assert_int_equal(ci.features_masked, kb_cpu_detected() != 0);
    assert_null(strstr(ci.simd, "avx"));
#if defined(__x86_64__)
    assert_true(ci.f32_flops_per_cycle == 8); /* SSE: 4 lanes, a multiply and an add */
    assert_string_equal(calibrate_fma_path(), "portable");
#endif
    assert_string_equal(flash_isa_best()->name, "scalar");
    assert_true(cpu_hw_peak_f32_per_core(&ci) >= cpu_peak_f32_per_core(&ci));
    /* the stored machine row is shared by every run on the machine: it keeps the hardware's
     * features and peak whatever this process masks */
    struct machine_info m;
    machine_info_read(&m);
    assert_string_equal(m.simd, ci.simd_detected[0] ? ci.simd_detected : ci.simd);
    assert_true(m.peak_f32_core == cpu_hw_peak_f32_per_core(&ci));
    /* with AVX-512 masked away, neither the peak nor calibration nor a kernel may use it */
    kb_cpu_features_set_mask(kb_cpu_path_mask(KB_PATH_AVX2));
    cpu_info_read(&ci);
    assert_false(ci.has_avx512f);
    assert_true(ci.f32_flops_per_cycle <= 32);
    assert_null(strstr(calibrate_fma_path(), "avx512"));
    assert_true(strcmp(flash_isa_best()->name, "avx512") != 0);
    kb_cpu_features_set_mask(before);
    cpu_info_read(&ci);
    assert_false(ci.features_masked && !getenv(KB_CPU_FEATURES_ENV));
    printf("# this CPU: %s\n", ci.simd_detected[0] ? ci.simd_detected : "no SIMD feature kbench uses");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_levels_and_lists),
        cmocka_unit_test(test_parse_errors_name_the_entry),
        cmocka_unit_test(test_mask_is_an_upper_bound),
        cmocka_unit_test(test_consumers_honour_the_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
