/* progress.h - progress on stderr: a bar with ETA on a terminal, plain lines when piped. */
#ifndef KB_PROGRESS_H
#define KB_PROGRESS_H

#include <stdio.h>
#include <stddef.h>

struct progress {
    FILE *out;
    int tty;
    size_t total, done, failed, skipped; /* skipped: did not fit this machine, not a failure */
    double t0, last_draw;
    int quiet;
};

void progress_begin(struct progress *p, FILE *out, size_t total, int quiet);
/* Before a case starts: its label. */
void progress_case_start(struct progress *p, const char *label);
/* After a case: one line (plain) or the redrawn bar (terminal). */
void progress_case_done(struct progress *p, const char *label, const char *status, const char *summary);
/* "N cases in T s, F not ok" (and ", S skipped" when any were). */
void progress_end(struct progress *p);

#endif
