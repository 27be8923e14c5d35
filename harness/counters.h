/* counters.h - hardware and OS counters around a kernel: PAPI (CPU PMU) and getrusage.
 *
 * PAPI runs in a counting pass separate from timing, inside the case's child process.
 * Where PAPI finds no PMU (virtual machines, CI) the set reports itself unavailable with
 * PAPI's own reason; the caller records that and carries on. getrusage figures are always
 * available.
 */
#ifndef KB_COUNTERS_H
#define KB_COUNTERS_H

#include <stddef.h>
#include <stdio.h>

#include "kernels/kernel.h" /* struct kb_counter: one value, as a kernel's stats also report it */

/* PAPI events and derived rates (~20), rusage (6) and a kernel's own stats (up to ~70: a MoE
 * router's per-expert loads for 64 experts plus summaries). */
#define KB_COUNTERS_MAX 128

struct kb_counter_report {
    int n;
    struct kb_counter v[KB_COUNTERS_MAX];
    int papi_available;     /* 1 when at least one PAPI event was counted */
    int papi_multiplexed;   /* 1 when the set needed multiplexing */
    char papi_status[256];  /* "ok", or why PAPI counted nothing, in PAPI's words */
};

/* Appends a counter (silently dropped when the report is full). */
void counter_report_add(struct kb_counter_report *r, const char *backend, const char *name,
                        double value, const char *unit);

/* The default event list: cycles, instructions, L1/L2/LLC data misses, branch misses and
 * FP operations, whichever of them this CPU has. */
extern const char *const counters_default_events[];

/* Checks an event list ("PAPI_TOT_CYC,perf::CACHE-MISSES") before a run starts. Unknown names
 * are an error naming the event (with near matches where PAPI knows some); names that exist
 * but cannot be counted on this machine are not. Returns 0, or -1 with a message in err.
 * Without PAPI compiled in, any explicit list is an error saying so. */
int counters_validate(const char *events_csv, char *err, size_t errlen);

/* A PAPI counting session in the current process. */
struct papi_session;

/* Opens an event set for events_csv (NULL: the defaults that exist here), multiplexed when
 * the events do not fit the PMU together. Returns NULL when nothing can be counted, with the
 * reason in why (PAPI's own message: no PMU, perf_event_paranoid, unknown event, ...). */
struct papi_session *papi_session_open(const char *events_csv, char *why, size_t whylen);
int papi_session_start(struct papi_session *s);
/* Stops and appends each event's count divided by calls, plus derived IPC and miss rates. */
int papi_session_stop(struct papi_session *s, double calls, struct kb_counter_report *r);
void papi_session_close(struct papi_session *s);

/* getrusage(RUSAGE_SELF) difference: minor/major faults, voluntary/involuntary context
 * switches, user and system time. */
struct rusage_mark { double utime, stime; long minflt, majflt, nvcsw, nivcsw; };
void rusage_mark_now(struct rusage_mark *m);
void rusage_report_since(const struct rusage_mark *start, struct kb_counter_report *r);

/* `kbench counters`: PAPI version, components and why any is disabled, the preset events this
 * machine can count, and native event names. Returns 0, or 1 when PAPI counts nothing here. */
int counters_print_available(FILE *out, int include_native);

/* PAPI's version string, or "not built" / "init failed: reason". */
const char *counters_papi_version(char *buf, size_t len);

#endif
