/* measure.h - measuring from the dashboard: re-measure cases, repeat a run, resume one.
 *
 * The measurement is the harness's sweep (harness/sweep.h: plan, run, store, events), run in a
 * child process of the dashboard on its own connection to the database, so the panels stay
 * live while it measures: its events come back through a pipe as lines and show in the status
 * line, and its cases show up in the runs and results screens as it stores them (the
 * dashboard's live refresh). Ctrl-C (or 'x') during a measurement is sent to that child alone,
 * which stops the sweep as `kbench run` does on Ctrl-C: the case being measured is killed, the
 * run keeps its finished cases and is marked interrupted; the dashboard stays.
 *
 * One measurement at a time. When it ends the status line says how it went and, for a
 * re-measure or a repeat, the comparison of the new run with the old one opens.
 */
#ifndef KB_TUI_MEASURE_H
#define KB_TUI_MEASURE_H

#include <stdint.h>

#include "harness/store.h"
#include "harness/sweep.h"

struct app;

/* Re-measures each case (same kernel, impl, device, dtype, shape, threads and cache state; the
 * same inputs, whose seed follows from the shape) into a new run tagged "remeasure", measured
 * with the dashboard's default settings. Returns 0 once started, -1 with the reason in the
 * status line. */
int measure_cases(struct app *a, int64_t from_run, const struct result_row *cases, int n);
/* Measures every case run_id stored again, into a new run tagged "repeat". */
int measure_repeat(struct app *a, int64_t run_id);
/* Finishes an unfinished run of this machine: the cases its stored arguments plan that it has
 * not stored (as `kbench run --resume RUN`). Needs the app's resume function (tui_options). */
int measure_resume(struct app *a, int64_t run_id);

/* How a stored run is resumed: called in the measuring process, it re-plans the run from its
 * stored arguments and runs the sweep with on_event; 0, or -1 with why. kbench's CLI provides it
 * (the dashboard does not parse `kbench run` arguments itself). */
typedef int (*measure_resume_fn)(const char *db_path, int64_t run_id, sweep_event_fn on_event, void *ctx,
                                 char *why, size_t whylen);

/* 1 while a measurement runs. */
int measure_active(const struct app *a);
/* Reads what the measurement said since the last call, and when it has ended, reaps it and
 * reports (the loop calls this between keys). */
void measure_poll(struct app *a);
/* Asks the measurement to stop (its process gets SIGINT). */
void measure_stop(struct app *a);
/* The progress as one line ("measuring 3/8: moe.layer@cpu.fused ...  ^C stops"), "" when idle. */
void measure_status(const struct app *a, char *buf, size_t len);
/* At the dashboard's end: stops a measurement still running and waits for it. */
void measure_end(struct app *a);

#endif
