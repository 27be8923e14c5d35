/* selftest.c - kernels that check the harness rather than compute: selftest.noop (the harness's
 * own overhead per call) and kernels that fail on purpose, one way each, so the harness's
 * isolation (crash, hang, allocation failure) can be exercised for real by the tests and by
 * users who want to see what a broken kernel looks like in the database. */
#include "kernels/selftest/selftest.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double zero_count(const struct kb_shape *s) { (void)s; return 0.0; }
static double zero_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 0.0; }

static int nothing_setup(struct kb_case *c, char *err, size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    return KB_OK;
}

/* The faults happen in run, so verify is never reached; were it reached, the fault did not
 * happen and the case should show up as ok rather than hide behind a wrong answer. */
static int always_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    (void)c;
    memset(acc, 0, sizeof *acc);
    acc->cosine = 1.0;
    acc->passed = 1;
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
    .family = KB_FAMILY_SELFTEST,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .flops = zero_count,
    .bytes = zero_bytes,
    .setup = nothing_setup,
    .run = noop_run,
    .verify = always_verify,
    .teardown = nothing_teardown,
};

/* selftest.spin busy-waits a known time, so timing, statistics and regression verdicts can be
 * checked end to end against known answers. The time comes from the shape: seq_len microseconds
 * (the one axis every sweep sets), times the factor in $KBENCH_SPIN_SCALE (default 1). The factor
 * is how a test plants a slowdown (1.10: 10% slower) without changing the case's identity, which
 * compare matches on. The wait is on CLOCK_MONOTONIC, so time lost to other processes on a busy
 * machine does not lengthen a call beyond what the scheduler adds to any kernel. */
struct spin_state {
    double seconds;      /* requested per call */
    double last_elapsed; /* what the last call took, for verify */
};

static double spin_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int spin_setup(struct kb_case *c, char *err, size_t errlen)
{
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
    if (c->shape.seq_len < 1) {
        snprintf(err, errlen, "selftest.spin needs seq >= 1 (the spin time in microseconds)");
        return KB_UNSUPPORTED;
    }
    struct spin_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "cannot allocate %zu bytes", sizeof *st);
        return KB_ERROR;
    }
    st->seconds = c->shape.seq_len * 1e-6 * scale;
    c->state = st;
    return KB_OK;
}

static int spin_run(struct kb_case *c)
{
    struct spin_state *st = c->state;
    double start = spin_now(), now;
    do
        now = spin_now();
    while (now - start < st->seconds);
    st->last_elapsed = now - start;
    return KB_OK;
}

/* The "output" is the time spun: it must be at least what was asked (a clock that stopped, or a
 * loop the compiler removed, would fail here rather than give a fast, wrong result). */
static int spin_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct spin_state *st = c->state;
    memset(acc, 0, sizeof *acc);
    double short_by = st->seconds - st->last_elapsed;
    acc->max_abs_err = short_by > 0 ? short_by : 0;
    acc->rel_l2_err = acc->max_abs_err / st->seconds;
    acc->cosine = 1.0;
    acc->tolerance = 0;
    acc->rows_checked = acc->rows_total = 1;
    acc->passed = short_by <= 0;
    return KB_OK;
}

static void spin_teardown(struct kb_case *c)
{
    free(c->state);
    c->state = NULL;
}

const struct kb_kernel kb_selftest_spin = {
    .name = "selftest.spin",
    .impl = "cpu",
    .description = "busy-waits seq microseconds (times $KBENCH_SPIN_SCALE): known answers for timing and compare",
    .family = KB_FAMILY_SELFTEST,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .flops = zero_count,
    .bytes = zero_bytes,
    .setup = spin_setup,
    .run = spin_run,
    .verify = spin_verify,
    .teardown = spin_teardown,
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
        .family = KB_FAMILY_SELFTEST,                                                               \
        .device = KB_DEVICE_CPU,                                                                    \
        .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),                                                       \
        .flops = zero_count,                                                                        \
        .bytes = zero_bytes,                                                                        \
        .setup = nothing_setup,                                                                     \
        .run = run_fn,                                                                              \
        .verify = always_verify,                                                                    \
        .teardown = nothing_teardown,                                                               \
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
    .family = KB_FAMILY_SELFTEST,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .flops = zero_count,
    .bytes = zero_bytes,
    .footprint = oom_footprint,
    .setup = oom_setup,
    .run = oom_run,
    .verify = always_verify,
    .teardown = oom_teardown,
};
