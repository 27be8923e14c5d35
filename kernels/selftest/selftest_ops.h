/* selftest_ops.h - the operations of the selftest kernels: what kbench checks itself with rather
 * than computes. Part of the public <kbench/kbench.h>, like every operation's header.
 *
 * All three are defined over the selftest axes (seq, causal), in f32 only, and count no FLOPs and
 * no bytes (GFLOP/s and GB/s stay empty for their cases). */
#ifndef KB_SELFTEST_OPS_H
#define KB_SELFTEST_OPS_H

#include "kernels/kernel.h"

/* "selftest.noop": computes nothing, so an implementation's median latency is the harness's own
 * cost per call. No tensors; every run passes verification. */
extern const struct kb_operation kb_op_selftest_noop;

/* "selftest.spin": waits a known time, for end-to-end checks of timing and of compare's verdicts.
 *   KB_SPIN_SECONDS  f64 [1], input:  seq microseconds times $KBENCH_SPIN_SCALE (default 1; a
 *                    factor in (0, 1000]: how a test plants a slowdown without changing the
 *                    case's identity)
 *   KB_SPIN_ELAPSED  f64 [1], output: the seconds the last run actually waited
 * Verification fails when the run waited less than asked (a clock that stopped, a loop the
 * compiler removed). */
extern const struct kb_operation kb_op_selftest_spin;
enum { KB_SPIN_SECONDS, KB_SPIN_ELAPSED };

/* "selftest.fault": computes nothing, and its implementations fail on purpose in setup or run
 * (a crash, an abort, a hang, an allocation that cannot succeed, a GPU fault), so the harness's
 * containment of each is exercised for real. No tensors; verification passes: a run that gets
 * that far did not fail, and its case should say ok rather than hide behind a wrong answer. */
extern const struct kb_operation kb_op_selftest_fault;

#endif
