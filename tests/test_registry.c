/* test_registry.c - the registry as the harness relies on it: every kernel implements an
 * operation, within that operation's dtypes and axes; name@impl is unique; every kernel name
 * belongs to one operation (attention.linear@cpu and @cpu.naive compute the same thing, so
 * they share one reference and one count: the bug where @cpu.naive claimed 31x the FLOPs of
 * @cpu cannot come back); operations are found by name; a plugin's kernel that reuses a
 * built-in name@impl or a built-in operation's name is refused, naming the definer.
 * (tests/test_operations runs every operation and implementation.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernel.h"

static void test_every_kernel_implements_an_operation(void **state)
{
    (void)state;
    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        const struct kb_kernel *k = all[i];
        if (!k->op)
            fail_msg("%s@%s implements no operation", k->name, k->impl);
        if (k->dtypes == 0 || (k->dtypes & ~k->op->dtypes))
            fail_msg("%s@%s: dtypes 0x%x outside %s's 0x%x", k->name, k->impl, k->dtypes, k->op->name, k->op->dtypes);
        if (k->axes & ~(k->op->axes | KB_AXES_EXECUTION))
            fail_msg("%s@%s sweeps an axis %s is not defined over", k->name, k->impl, k->op->name);
        assert_true(kb_kernel_axes(k) != 0);
        assert_non_null(k->setup);
        assert_non_null(k->run);
        assert_non_null(k->teardown);
        assert_true(kb_registry_find(k->name, k->impl) == k);
    }
}

static void test_one_operation_per_kernel_name(void **state)
{
    (void)state;
    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    int names = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(all[i]->name, all[j]->name) != 0)
                continue;
            names++;
            if (all[i]->op != all[j]->op)
                fail_msg("%s@%s implements %s but @%s implements %s", all[i]->name, all[i]->impl, all[i]->op->name,
                         all[j]->impl, all[j]->op->name);
            if (strcmp(all[i]->impl, all[j]->impl) == 0)
                fail_msg("%s@%s is registered twice", all[i]->name, all[i]->impl);
        }
    printf("# %d pairs of implementations sharing a kernel name share its operation\n", names);
    assert_true(names > 0);
}

static void test_operations_are_found_by_name(void **state)
{
    (void)state;
    size_t n;
    const struct kb_operation *const *ops = kb_registry_operations(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(kb_registry_operation(ops[i]->name) == ops[i]);
        assert_non_null(ops[i]->inputs);
        assert_non_null(ops[i]->verify);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(ops[i]->name, ops[j]->name);
    }
    assert_null(kb_registry_operation("no.such.operation"));
    assert_null(kb_registry_operation(NULL));
}

/* What kb_registry_add refuses, before anything joins the registry. */
static int dummy_setup(struct kb_case *c, char *err, size_t errlen) { (void)c; (void)err; (void)errlen; return KB_OK; }
static int dummy_run(struct kb_case *c) { (void)c; return KB_OK; }
static void dummy_teardown(struct kb_case *c) { (void)c; }

static void test_clashes_are_refused(void **state)
{
    (void)state;
    size_t n0;
    kb_registry_all(&n0);
    const struct kb_kernel *flash = kb_registry_find("attention.flash", "cpu");
    assert_non_null(flash);
    char err[512] = "";
    /* a second attention.flash@cpu */
    static struct kb_kernel same_name;
    same_name = *flash;
    assert_int_equal(kb_registry_add(&same_name, "/tmp/libclash.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "attention.flash@cpu"));
    assert_non_null(strstr(err, "built in"));
    /* a plugin's own operation that takes a built-in operation's name */
    static struct kb_operation fake_op;
    fake_op = *flash->op;
    static struct kb_kernel own_op = { .name = "example.mine", .impl = "cpu", .op = &fake_op, .device = KB_DEVICE_CPU,
                                       .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .setup = dummy_setup, .run = dummy_run,
                                       .teardown = dummy_teardown };
    err[0] = '\0';
    assert_int_equal(kb_registry_add(&own_op, "/tmp/libclash.so", err, sizeof err), -1);
    assert_non_null(strstr(err, flash->op->name));
    size_t n1;
    kb_registry_all(&n1);
    assert_int_equal(n1, n0); /* nothing joined */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kernel_implements_an_operation),
        cmocka_unit_test(test_one_operation_per_kernel_name),
        cmocka_unit_test(test_operations_are_found_by_name),
        cmocka_unit_test(test_clashes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
