/* selftest.c - kernels that check the harness rather than compute: selftest.noop (the harness's
 * own overhead per call), selftest.spin (a known latency) and kernels that fail on purpose, one
 * way each, so the harness's isolation (crash, hang, allocation failure) can be exercised for
 * real by the tests and by users who want to see what a broken kernel looks like in the
 * database. Their operations (inputs, verdicts, counts) are in selftest_op.c. */
#include "kernels/selftest/selftest.h"
#include "kernels/selftest/selftest_ops.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int nothing_setup(struct kb_case *c, char *err, size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    return KB_OK;
}

static void nothing_teardown(struct kb_case *c) { (void)c; }

/* The call itself must not be optimised away: it is an indirect call through the descriptor,
 * which is what every kernel pays. */
static int noop_run(struct kb_case *c)
{
    (void)c;
    return KB_OK;
}

const struct kb_kernel kb_selftest_noop = {
    .name = "selftest.noop",
    .impl = "cpu",
    .description = "does nothing: measures the harness's own overhead per call",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = nothing_setup,
    .run = noop_run,
    .teardown = nothing_teardown,
    .op = &kb_op_selftest_noop,
};

/* selftest.spin busy-waits the time its operation's input says (seq microseconds, scaled), so
 * timing, statistics and regression verdicts can be checked end to end against known answers. The
 * wait is on CLOCK_MONOTONIC, so time lost to other processes on a busy machine does not lengthen
 * a call beyond what the scheduler adds to any kernel. It keeps no state: run reads the wait from
 * the input and writes the time it took into the output, which the operation verifies. */
static double spin_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int spin_run(struct kb_case *c)
{
    double seconds = *(const double *)kb_input(c, KB_SPIN_SECONDS);
    double start = spin_now(), now;
    do
        now = spin_now();
    while (now - start < seconds);
    *(double *)kb_output(c, KB_SPIN_ELAPSED) = now - start;
    return KB_OK;
}

const struct kb_kernel kb_selftest_spin = {
    .name = "selftest.spin",
    .impl = "cpu",
    .description = "busy-waits seq microseconds (times $KBENCH_SPIN_SCALE): known answers for timing and compare",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = nothing_setup,
    .run = spin_run,
    .teardown = nothing_teardown,
    .op = &kb_op_selftest_spin,
};

/* The pointer comes through a volatile object so the compiler can neither prove it null (and
 * delete the store as undefined behaviour) nor fold the fault away. */
static int * volatile null_target;

static int crash_run(struct kb_case *c)
{
    (void)c;
    *null_target = 1;
    raise(SIGSEGV); /* a platform that maps page 0 still ends here */
    return KB_ERROR;
}

static int abort_run(struct kb_case *c)
{
    (void)c;
    abort();
}

static int fpe_run(struct kb_case *c)
{
    (void)c;
    volatile int num = 1, den = 0;
    volatile int q = num / den; /* x86 traps integer division by zero with SIGFPE */
    (void)q;
    raise(SIGFPE); /* architectures that return 0 instead of trapping (arm64) */
    return KB_ERROR;
}

static int hang_run(struct kb_case *c)
{
    (void)c;
    for (;;)
        pause();
    return KB_ERROR; /* pause is not declared noreturn */
}

/* selftest.oom wants 1 PiB per sequence position. With causal=0 it says so through footprint and
 * the harness should skip it before forking; with causal=1 it understates its footprint, as a
 * buggy kernel might, so the allocation itself fails and setup must report it. mmap rather than
 * malloc: the request exceeds any address space and fails at once without touching a page, and
 * sanitizer allocators (which abort on absurd malloc sizes) stay out of the way. */
static double oom_bytes_wanted(const struct kb_shape *s)
{
    return (double)(s->seq_len > 0 ? s->seq_len : 1) * 1125899906842624.0;
}

static double oom_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return s->causal ? 0.0 : oom_bytes_wanted(s);
}

struct oom_state {
    void *block;
    size_t len;
};

static int oom_setup(struct kb_case *c, char *err, size_t errlen)
{
    double want = oom_bytes_wanted(&c->shape);
    size_t len = want >= (double)SIZE_MAX ? SIZE_MAX : (size_t)want;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "cannot allocate %.0f bytes (%.0f GiB)", want, want / 1073741824.0);
        return KB_ERROR;
    }
    /* Some kernel let it through (overcommit on a huge address space): still never touch it. */
    struct oom_state *st = malloc(sizeof *st);
    if (!st) {
        munmap(p, len);
        snprintf(err, errlen, "cannot allocate %zu bytes", sizeof *st);
        return KB_ERROR;
    }
    st->block = p;
    st->len = len;
    c->state = st;
    return KB_OK;
}

static int oom_run(struct kb_case *c)
{
    (void)c;
    return KB_OK;
}

static void oom_teardown(struct kb_case *c)
{
    struct oom_state *st = c->state;
    if (st) {
        munmap(st->block, st->len);
        free(st);
        c->state = NULL;
    }
}

#define FAULT_KERNEL(ident, kname, desc, run_fn)                                                    \
    const struct kb_kernel ident = {                                                                \
        .name = kname,                                                                              \
        .impl = "cpu",                                                                              \
        .description = desc,                                                                        \
        .device = KB_DEVICE_CPU,                                                                    \
        .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),                                                       \
        .setup = nothing_setup,                                                                     \
        .run = run_fn,                                                                              \
        .teardown = nothing_teardown,                                                               \
        .op = &kb_op_selftest_fault,                                                                \
    }

FAULT_KERNEL(kb_selftest_crash, "selftest.crash", "fault injection: writes through a null pointer (SIGSEGV)",
             crash_run);
FAULT_KERNEL(kb_selftest_abort, "selftest.abort", "fault injection: calls abort() (SIGABRT)", abort_run);
FAULT_KERNEL(kb_selftest_fpe, "selftest.fpe", "fault injection: integer division by zero (SIGFPE)", fpe_run);
FAULT_KERNEL(kb_selftest_hang, "selftest.hang", "fault injection: never returns from run (hits --timeout)",
             hang_run);

const struct kb_kernel kb_selftest_oom = {
    .name = "selftest.oom",
    .impl = "cpu",
    .description = "fault injection: wants 1 PiB per position; causal=0 declares it (skipped), "
                   "causal=1 hides it (setup's allocation fails)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = oom_footprint, /* the workspace setup maps: the operation's tensors are none */
    .setup = oom_setup,
    .run = oom_run,
    .teardown = oom_teardown,
    .op = &kb_op_selftest_fault,
};
