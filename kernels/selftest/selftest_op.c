/* selftest_op.c - the operations of the selftest kernels (selftest_ops.h). */
#include "kernels/selftest/selftest_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double zero_flops(const struct kb_shape *s)
{
    (void)s;
    return 0.0;
}

static double zero_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    (void)s;
    (void)t;
    return 0.0;
}

/* noop and fault: no tensors at all, so the harness's own cost is all a call pays */
static int no_inputs(struct kb_operands *io, struct kb_shape *shape, enum kb_dtype dtype, uint64_t seed,
                     char *err, size_t errlen)
{
    (void)io, (void)shape, (void)dtype, (void)seed, (void)err, (void)errlen;
    return KB_OK;
}

static int always_passes(const struct kb_operands *io, const struct kb_shape *shape, enum kb_dtype dtype,
                         uint64_t seed, int threads, struct kb_accuracy *acc)
{
    (void)io, (void)shape, (void)dtype, (void)seed, (void)threads;
    memset(acc, 0, sizeof *acc);
    acc->cosine = 1.0;
    acc->passed = 1;
    return KB_OK;
}

const struct kb_operation kb_op_selftest_noop = {
    .name = "selftest.noop",
    .description = "nothing: an implementation's latency is the harness's own cost per call",
    .family = KB_FAMILY_SELFTEST,
    .axes = KB_AXES_SELFTEST,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .layout = "no tensors",
    .flops = zero_flops,
    .bytes = zero_bytes,
    .inputs = no_inputs,
    .verify = always_passes,
};

const struct kb_operation kb_op_selftest_fault = {
    .name = "selftest.fault",
    .description = "nothing, failing on purpose: how the harness contains a crash, a hang, an allocation failure",
    .family = KB_FAMILY_SELFTEST,
    .axes = KB_AXES_SELFTEST,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .layout = "no tensors",
    .flops = zero_flops,
    .bytes = zero_bytes,
    .inputs = no_inputs,
    .verify = always_passes,
};

/* The wait comes from the shape: seq microseconds (the one axis every sweep sets) times the
 * factor in $KBENCH_SPIN_SCALE. The factor lives in the input, not in the shape, so a planted
 * slowdown keeps the case's identity, which compare matches on. */
static int spin_inputs(struct kb_operands *io, struct kb_shape *shape, enum kb_dtype dtype, uint64_t seed,
                       char *err, size_t errlen)
{
    (void)dtype, (void)seed;
    double scale = 1.0;
    const char *env = getenv("KBENCH_SPIN_SCALE");
    if (env && *env) {
        char *end;
        scale = strtod(env, &end);
        if (end == env || *end || !(scale > 0 && scale <= 1000)) {
            snprintf(err, errlen, "KBENCH_SPIN_SCALE='%s' is not a factor in (0, 1000]", env);
            return KB_ERROR;
        }
    }
    if (shape->seq_len < 1) {
        snprintf(err, errlen, "selftest.spin needs seq >= 1 (the spin time in microseconds)");
        return KB_UNSUPPORTED;
    }
    const int64_t one[1] = { 1 };
    if (kb_operands_add(io, "seconds", KB_DTYPE_F64, 1, one, 0, 0, err, errlen) != KB_SPIN_SECONDS ||
        kb_operands_add(io, "elapsed", KB_DTYPE_F64, 1, one, 1, 0, err, errlen) != KB_SPIN_ELAPSED)
        return KB_ERROR;
    *(double *)io->buffer[KB_SPIN_SECONDS] = shape->seq_len * 1e-6 * scale;
    return KB_OK;
}

static int spin_verify(const struct kb_operands *io, const struct kb_shape *shape, enum kb_dtype dtype,
                       uint64_t seed, int threads, struct kb_accuracy *acc)
{
    (void)shape, (void)dtype, (void)seed, (void)threads;
    double want = *(const double *)io->tensor[KB_SPIN_SECONDS].data;
    double got = *(const double *)io->tensor[KB_SPIN_ELAPSED].data;
    double short_by = want - got;
    memset(acc, 0, sizeof *acc);
    acc->max_abs_err = short_by > 0 ? short_by : 0;
    acc->rel_l2_err = acc->max_abs_err / want;
    acc->cosine = 1.0;
    acc->tolerance = 0;
    acc->rows_checked = acc->rows_total = 1;
    acc->passed = short_by <= 0;
    return KB_OK;
}

const struct kb_operation kb_op_selftest_spin = {
    .name = "selftest.spin",
    .description = "waits seq microseconds (times $KBENCH_SPIN_SCALE): known answers for timing and compare",
    .family = KB_FAMILY_SELFTEST,
    .axes = KB_AXES_SELFTEST,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .layout = "seconds [1] f64: the wait asked; elapsed [1] f64: the wait the last run made",
    .flops = zero_flops,
    .bytes = zero_bytes,
    .inputs = spin_inputs,
    .verify = spin_verify,
};
