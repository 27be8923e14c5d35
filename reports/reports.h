/* reports.h - turning stored results into text: tables for people, CSV and JSON for tools. */
#ifndef KB_REPORTS_H
#define KB_REPORTS_H

#include <stdio.h>
#include "harness/store.h"

/* The runs list (`kbench runs`): newest first; limit <= 0 lists all. */
int report_runs_table(FILE *out, struct store *s, int limit);

/* The results of a run as an aligned table (`kbench show`, and after `kbench run`): one row
 * per case with kernel, impl, device, dtype, shape, threads, median ± CI, GFLOP/s, GB/s,
 * accuracy and status; failed cases show their error below the table. */
int report_results_table(FILE *out, struct store *s, int64_t run_id);

enum export_format { EXPORT_CSV, EXPORT_JSON };
/* Every case of a run with statistics and accuracy (and, in JSON, counters, raw samples and
 * the machine). Column set documented in docs/schema.md. */
int report_export(FILE *out, struct store *s, int64_t run_id, enum export_format fmt);

/* Human-readable duration: "812 ns", "3.41 us", "12.0 ms", "1.25 s". */
void report_format_seconds(double s, char *buf, size_t len);

#endif
