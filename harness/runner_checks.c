/* runner_checks.c - the warnings of a run and of its cases (runner_checks.h). sched_getaffinity
 * needs _GNU_SOURCE, which the build defines. */
#include "harness/runner_checks.h"

#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int runner_cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Reads the first word of a small file into out; 0, or -1. */
static int read_word(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fgets(out, (int)len, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    out[strcspn(out, " \t\r\n")] = '\0';
    return *out ? 0 : -1;
}

int runner_governor_check(char *other, size_t len, int *readable)
{
    const char *root = getenv("KBENCH_SYSFS_CPU");
    if (!root || !*root)
        root = "/sys/devices/system/cpu";
    int not_performance = 0;
    *readable = 0;
    if (len)
        other[0] = '\0';
    /* cpu0, cpu1, ...: stop after a run of missing numbers (offline CPUs leave gaps) */
    for (int cpu = 0, missing = 0; missing < 64 && cpu < 65536; cpu++) {
        char path[512], gov[64];
        snprintf(path, sizeof path, "%s/cpu%d/cpufreq/scaling_governor", root, cpu);
        if (read_word(path, gov, sizeof gov) != 0) {
            missing++;
            continue;
        }
        missing = 0;
        (*readable)++;
        if (strcmp(gov, "performance") != 0) {
            if (!not_performance++ && len)
                snprintf(other, len, "%s", gov);
        }
    }
    return *readable ? not_performance : -1;
}

__attribute__((format(printf, 3, 4))) static void say(runner_warn_fn warn, void *ctx, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    warn(ctx, line);
}

void runner_warn_run(int max_threads, int others, const long *pids, runner_warn_fn warn, void *ctx)
{
    int cpus = runner_cpus_available();
    if (max_threads > cpus)
        say(warn, ctx, "warning: %d threads on %d CPU%s: threads will share CPUs and time each other's waits",
            max_threads, cpus, cpus == 1 ? "" : "s");
    char gov[64];
    int readable = 0, slow = runner_governor_check(gov, sizeof gov, &readable);
    if (slow > 0)
        say(warn, ctx, "warning: CPU frequency governor '%s' on %d of %d CPUs (not 'performance'): clocks may "
            "change during the run (cpupower frequency-set -g performance)", gov, slow, readable);
    if (others > 0) {
        char list[160] = "";
        size_t used = 0;
        for (int i = 0; i < others && i < 8 && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%ld", i ? ", " : "", pids[i]);
        say(warn, ctx, "warning: another kbench run is measuring on this host (pid %s%s): both runs' "
            "timings will suffer", list, others > 8 ? ", ..." : "");
    }
}

void runner_warn_case(const char *label, const struct case_record *r, runner_warn_fn warn, void *ctx)
{
    if (r->status != CASE_OK)
        return;
    const struct kb_stats *s = &r->stats;
    if (r->min_samples > 0 && s->n < (size_t)r->min_samples)
        say(warn, ctx, "warning: %s: %zu of the %d samples asked for (--min-samples): stopped by %s", label, s->n,
            r->min_samples, r->stop == STOP_MIN_SAMPLES_CAP ? "--min-samples-cap" : sampling_stop_name(r->stop));
    if (r->set_aside > 0)
        say(warn, ctx, "warning: %s: %zu samples taken under GPU throttling (%s) set aside", label, r->set_aside,
            *r->throttle_reason ? r->throttle_reason : "low SM clock");
    if (s->n > 0 && (double)s->outliers > RUNNER_WARN_OUTLIER_SHARE * (double)s->n)
        say(warn, ctx, "warning: %s: %zu of %zu samples are outliers (beyond 3 IQR of the quartiles): "
            "the machine may have been busy", label, s->outliers, s->n);
    if (isfinite(s->noise) && s->noise > RUNNER_WARN_CI)
        say(warn, ctx, "warning: %s: the median's 95%% CI is +-%.1f%%, wider than %.0f%%", label, 100 * s->noise,
            100 * RUNNER_WARN_CI);
}
