/* tui.h - the interactive dashboard over a kbench database (`kbench tui`).
 *
 * Screens: runs (the start), results of a run, a case's detail, a plot of latency or
 * throughput against the swept axis (through gnuplot), two runs compared, and help. The
 * dashboard reads the database, and re-reads it when another process commits to it (live runs);
 * what it measures itself (re-measure, repeat, resume: measure.h) a child process writes.
 */
#ifndef KB_TUI_H
#define KB_TUI_H

#include <stddef.h>

#include "tui/measure.h"

struct tui_options {
    const char *db_path;
    int poll_ms;        /* how often to look for changes to the database (> 0) */
    const char *export_dir; /* where `e` writes files ("." when NULL) */
    measure_resume_fn resume; /* resumes a stored run (kbench's CLI gives it); NULL: no resume */
};

/* Opens the database for reading and runs the dashboard on the terminal until the user
 * quits. A database that cannot be read (missing, empty, locked, newer schema, not kbench)
 * is refused before the screen is touched: the reason goes into err and the result is 2.
 * Returns 0 after a normal quit. */
int tui_main(const struct tui_options *o, char *err, size_t errlen);

#endif
