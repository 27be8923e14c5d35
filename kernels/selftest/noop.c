/* noop.c - selftest.noop: an empty kernel, so the harness's own cost per sample can be measured
 * and tracked like any other result. */
#include "kernels/selftest/selftest.h"

#include <string.h>

static double noop_count(const struct kb_shape *s) { (void)s; return 0.0; }
static double noop_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 0.0; }

static int noop_setup(struct kb_case *c, char *err, size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    return KB_OK;
}

/* The call itself must not be optimised away: it is an indirect call through the descriptor,
 * which is what every kernel pays. */
static int noop_run(struct kb_case *c)
{
    (void)c;
    return KB_OK;
}

/* Nothing to be wrong about: an exact, trivially passing comparison. */
static int noop_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    (void)c;
    memset(acc, 0, sizeof *acc);
    acc->cosine = 1.0;
    acc->passed = 1;
    return KB_OK;
}

static void noop_teardown(struct kb_case *c) { (void)c; }

const struct kb_kernel kb_selftest_noop = {
    .name = "selftest.noop",
    .impl = "cpu",
    .description = "does nothing: measures the harness's own overhead per call",
    .family = KB_FAMILY_SELFTEST,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .flops = noop_count,
    .bytes = noop_bytes,
    .setup = noop_setup,
    .run = noop_run,
    .verify = noop_verify,
    .teardown = noop_teardown,
};
