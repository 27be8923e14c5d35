/* kernel_case.c - see kernel_case.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tests/kernel_case.h"

void case_setup_ok(struct kb_case *c)
{
    char err[256] = "";
    if (c->kernel->setup(c, err, sizeof err) != KB_OK)
        fail_msg("setup of %s@%s failed: %s", c->kernel->name, c->kernel->impl, err);
}

struct kb_accuracy case_run_verify(struct kb_case *c)
{
    struct kb_accuracy acc;
    memset(&acc, 0, sizeof acc);
    assert_int_equal(c->kernel->run(c), KB_OK);
    assert_int_equal(c->kernel->verify(c, &acc), KB_OK);
    return acc;
}

struct kb_tensor case_tensor(const struct kb_case *c, const char *name)
{
    struct kb_tensor t[KB_TENSORS_MAX];
    int n = c->kernel->tensors(c, t, KB_TENSORS_MAX);
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i];
    fail_msg("%s@%s has no tensor %s", c->kernel->name, c->kernel->impl, name);
    return t[0];
}
