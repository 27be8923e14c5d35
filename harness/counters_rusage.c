/* counters_rusage.c - the counter report itself and the getrusage back end.
 *
 * getrusage needs no PMU, so these figures exist on every machine kbench runs on, virtual
 * machines and CI included. RUSAGE_SELF covers every thread of the process, OpenMP workers
 * included, so user_time of a threaded kernel can exceed the wall time.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "harness/counters.h"

void counter_report_add(struct kb_counter_report *r, const char *backend, const char *name,
                        double value, const char *unit)
{
    if (!r || r->n < 0 || r->n >= KB_COUNTERS_MAX)
        return;
    struct kb_counter *c = &r->v[r->n++];
    snprintf(c->backend, sizeof c->backend, "%s", backend ? backend : "");
    snprintf(c->name, sizeof c->name, "%s", name ? name : "");
    snprintf(c->unit, sizeof c->unit, "%s", unit ? unit : "");
    c->value = value;
}

static double timeval_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

void rusage_mark_now(struct rusage_mark *m)
{
    struct rusage ru;
    /* RUSAGE_SELF cannot fail with a valid pointer; zeroes keep the difference sane anyway. */
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        memset(&ru, 0, sizeof ru);
    m->utime = timeval_seconds(ru.ru_utime);
    m->stime = timeval_seconds(ru.ru_stime);
    m->minflt = ru.ru_minflt;
    m->majflt = ru.ru_majflt;
    m->nvcsw = ru.ru_nvcsw;
    m->nivcsw = ru.ru_nivcsw;
}

void rusage_report_since(const struct rusage_mark *start, struct kb_counter_report *r)
{
    struct rusage_mark now;
    rusage_mark_now(&now);
    counter_report_add(r, "rusage", "minor_faults", (double)(now.minflt - start->minflt), "count");
    counter_report_add(r, "rusage", "major_faults", (double)(now.majflt - start->majflt), "count");
    counter_report_add(r, "rusage", "voluntary_ctx_switches", (double)(now.nvcsw - start->nvcsw),
                       "count");
    counter_report_add(r, "rusage", "involuntary_ctx_switches",
                       (double)(now.nivcsw - start->nivcsw), "count");
    counter_report_add(r, "rusage", "user_time", now.utime - start->utime, "s");
    counter_report_add(r, "rusage", "system_time", now.stime - start->stime, "s");
}
