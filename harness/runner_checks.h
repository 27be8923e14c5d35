/* runner_checks.h - what makes a run's numbers less trustworthy, found before and after each
 * case and said as warnings (as hyperfine and Google Benchmark do): more threads than CPUs, a CPU
 * frequency governor other than "performance", another kbench measuring on the same host, and per
 * case, statistical outliers, a wide confidence interval, a minimum of samples not reached and
 * samples taken under GPU throttling.
 *
 * Each check writes whole lines through a callback, so `kbench run` can interleave them with its
 * progress display and tests can collect them.
 */
#ifndef KB_RUNNER_CHECKS_H
#define KB_RUNNER_CHECKS_H

#include <stddef.h>

#include "harness/record.h"

typedef void (*runner_warn_fn)(void *ctx, const char *line);

/* A CI half-width above this fraction of the median is worth a warning. */
#define RUNNER_WARN_CI 0.10
/* Outliers (Tukey's far-out fences) in more than this fraction of a case's samples are worth a
 * warning; a few are normal on any machine (an interrupt, a page fault). */
#define RUNNER_WARN_OUTLIER_SHARE 0.05

/* CPUs this process may run on (its affinity mask; the online count where unknown). */
int runner_cpus_available(void);

/* The CPU frequency governors under $KBENCH_SYSFS_CPU (tests), else /sys/devices/system/cpu:
 * returns how many CPUs have a governor other than "performance" (its name in `other`), 0 when
 * all have it, or -1 when none is readable (no cpufreq: a VM, a container). */
int runner_governor_check(char *other, size_t len, int *readable);

/* The run's warnings before it starts: threads > CPUs for any planned thread count, the governor,
 * and `others` other live kbench runs on this host (their pids). */
void runner_warn_run(int max_threads, int others, const long *pids, runner_warn_fn warn, void *ctx);

/* One measured case's warnings, each line starting with its label. */
void runner_warn_case(const char *label, const struct case_record *r, runner_warn_fn warn, void *ctx);

#endif
