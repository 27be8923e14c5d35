/* selftest.h - kernels that check the harness itself rather than compute anything. */
#ifndef KB_SELFTEST_H
#define KB_SELFTEST_H

#include "kernels/kernel.h"

/* Does nothing: its median latency is the harness's own overhead per call
 * (`kbench run --kernels selftest.noop --min-sample-time 0` gives the per-sample overhead). */
extern const struct kb_kernel kb_selftest_noop;

/* Busy-waits seq_len microseconds × $KBENCH_SPIN_SCALE (default 1) on CLOCK_MONOTONIC: a kernel
 * whose latency is known, for end-to-end tests of timing and of regression verdicts. */
extern const struct kb_kernel kb_selftest_spin;

/* Fault injection: each fails one way in a forked case, so the harness's handling of
 * it can be tested for real. */
extern const struct kb_kernel kb_selftest_crash; /* SIGSEGV in run */
extern const struct kb_kernel kb_selftest_abort; /* SIGABRT in run */
extern const struct kb_kernel kb_selftest_fpe;   /* SIGFPE in run */
extern const struct kb_kernel kb_selftest_hang;  /* never returns from run */
extern const struct kb_kernel kb_selftest_oom;   /* absurd memory: skipped, or setup fails */

/* CUDA fault injection (built with CUDA): an illegal address, and a kernel that never ends. */
extern const struct kb_kernel kb_selftest_cuda_fault;
extern const struct kb_kernel kb_selftest_cuda_hang;

#endif
