/* test_registry.c - counts belong to the operation: every implementation of one kernel name
 * (attention.linear@cpu and @cpu.naive, @cuda, ...) reports the same useful FLOPs and the same
 * minimum bytes for the same shape and dtype, so GFLOP/s and % of roof compare the
 * implementations rather than how much extra work the slower one does. Walks the whole
 * registry, CUDA descriptors included when they are compiled in (their flops and bytes run on
 * the host). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernel.h"

/* A few shapes per family: MHA and GQA, causal and not, prefill and decode, N not a multiple of
 * the tiles, windows and block counts that do and do not divide N, both decay settings. */
static const struct kb_shape attention_shapes[] = {
    { .batch = 1, .heads = 8, .kv_heads = 8, .seq_len = 1024, .head_dim = 64, .window = 256, .block = 64,
      .topk_blocks = 4, .chunk = 64 },
    { .batch = 2, .heads = 8, .kv_heads = 2, .seq_len = 777, .head_dim = 128, .causal = 1, .window = 100,
      .block = 128, .topk_blocks = 2, .chunk = 32, .decay = 1 },
    { .batch = 1, .heads = 4, .kv_heads = 4, .seq_len = 4096, .head_dim = 64, .causal = 1, .decode = 1,
      .window = 4096, .block = 64, .topk_blocks = 8, .chunk = 128, .feature = 1 },
};
static const struct kb_shape quant_shapes[] = {
    { .m = 256, .n = 512, .k = 1024, .group = 128 },
    { .m = 77, .n = 300, .k = 768, .group = 64, .granularity = 1 },
    { .m = 1, .n = 4096, .k = 4096, .group = 128, .granularity = 2 },
};
static const struct kb_shape moe_shapes[] = {
    { .tokens = 256, .hidden = 512, .ffn = 1024, .experts = 8, .top_k = 2 },
    { .tokens = 1000, .hidden = 768, .ffn = 2048, .experts = 64, .top_k = 6, .routing = 1 },
};

static const struct kb_shape *family_shapes(enum kb_family f, size_t *n)
{
    switch (f) {
    case KB_FAMILY_ATTENTION:
        *n = sizeof attention_shapes / sizeof attention_shapes[0];
        return attention_shapes;
    case KB_FAMILY_QUANT:
        *n = sizeof quant_shapes / sizeof quant_shapes[0];
        return quant_shapes;
    case KB_FAMILY_MOE:
        *n = sizeof moe_shapes / sizeof moe_shapes[0];
        return moe_shapes;
    default:
        *n = 1; /* selftest kernels count nothing; any shape will do */
        return attention_shapes;
    }
}

/* Equal up to rounding (two formulas for one count may sum in another order). */
static int same_count(double a, double b)
{
    return a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Every pair of implementations of one name, every shape of its family, every dtype both
 * accept: one message per mismatch, all of them before failing. */
static void test_implementations_of_one_operation_count_alike(void **state)
{
    (void)state;
    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    int mismatches = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const struct kb_kernel *a = all[i], *b = all[j];
            /* one operation: the same name (old form) or the same .op (attention.flash and
             * attention.softmax@cpu.blas both implement attention.softmax) */
            if (strcmp(kb_kernel_operation_name(a), kb_kernel_operation_name(b)) != 0 || a->is_reference ||
                b->is_reference)
                continue;
            pairs++;
            size_t ns;
            const struct kb_shape *shapes = family_shapes(kb_kernel_family(a), &ns);
            for (size_t s = 0; s < ns; s++) {
                double fa = kb_kernel_flops(a, &shapes[s]), fb = kb_kernel_flops(b, &shapes[s]);
                if (!same_count(fa, fb)) {
                    printf("# %s: flops %s %.6g, %s %.6g (shape %zu)\n", a->name, a->impl, fa, b->impl, fb, s);
                    mismatches++;
                }
                for (int t = 0; t < KB_DTYPE_COUNT; t++) {
                    if (!(a->dtypes & b->dtypes & KB_DTYPE_BIT(t)))
                        continue;
                    double ba = kb_kernel_bytes(a, &shapes[s], (enum kb_dtype)t), bb = kb_kernel_bytes(b, &shapes[s], (enum kb_dtype)t);
                    if (!same_count(ba, bb)) {
                        printf("# %s %s: bytes %s %.6g, %s %.6g (shape %zu)\n", a->name, kb_dtype_name((enum kb_dtype)t),
                               a->impl, ba, b->impl, bb, s);
                        mismatches++;
                    }
                }
            }
        }
    printf("# %d pairs of implementations of one operation compared\n", pairs);
    assert_true(pairs > 0); /* attention.window@cpu and @cpu.naive are in every build */
    assert_int_equal(mismatches, 0);
}

/* The check itself: two descriptors that differ only in their counts must be caught. */
static double one(const struct kb_shape *s)
{
    (void)s;
    return 1;
}
static double two(const struct kb_shape *s)
{
    (void)s;
    return 2;
}

static void test_same_count_tells_counts_apart(void **state)
{
    (void)state;
    assert_true(same_count(one(NULL), one(NULL)));
    assert_false(same_count(one(NULL), two(NULL)));
    assert_true(same_count(1e12, 1e12 + 1e-1));
    assert_false(same_count(1e12, 1.001e12));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_implementations_of_one_operation_count_alike),
        cmocka_unit_test(test_same_count_tells_counts_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
