/* selftest.h - kernels that check the harness itself rather than compute anything. */
#ifndef KB_SELFTEST_H
#define KB_SELFTEST_H

#include "kernels/kernel.h"

/* Does nothing: its median latency is the harness's own overhead per call
 * (`kbench run --kernels selftest.noop --min-sample-time 0` gives the per-sample overhead). */
extern const struct kb_kernel kb_selftest_noop;

#endif
