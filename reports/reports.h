/* reports.h - turning stored results into text: tables for people, CSV and JSON for tools. */
#ifndef KB_REPORTS_H
#define KB_REPORTS_H

#include <stdio.h>
#include "harness/store.h"

/* The runs list (`kbench runs`): newest first; limit <= 0 lists all. */
int report_runs_table(FILE *out, struct store *s, int limit);
/* The same table for rows already read (store_list_runs), e.g. a filtered list. */
int report_runs_rows(FILE *out, struct store *s, const struct run_row *rows, size_t n);

/* The results of a run as an aligned table (`kbench show`, and after `kbench run`): one row
 * per case with kernel, impl, device, dtype, shape, threads, median ± CI, GFLOP/s, GB/s,
 * accuracy and status; failed cases show their error below the table. */
int report_results_table(FILE *out, struct store *s, int64_t run_id);
/* The same, only the cases whose kernel matches pattern (NAME or NAME@IMPL; NULL: all). */
int report_results_table_matching(FILE *out, struct store *s, int64_t run_id, const char *pattern);
int report_row_matches(const struct result_row *r, const char *pattern);
/* 1 when tag is one of a run's tags as the store lists them (comma-separated; a tag holds no
 * comma). */
int report_tags_include(const char *tags, const char *tag);

enum export_format { EXPORT_CSV, EXPORT_JSON };
/* What a CSV export holds (JSON always holds all of it in one document):
 *   EXPORT_CASES        one row per case: statistics, accuracy, roofline fraction
 *   EXPORT_COUNTERS     one row per counter of each case (long format)
 *   EXPORT_ENVIRONMENT  one row per fact of the run, machine, software and ceilings
 * Column sets: docs/export.md. */
enum export_table { EXPORT_CASES, EXPORT_COUNTERS, EXPORT_ENVIRONMENT };
int report_export_table(FILE *out, struct store *s, int64_t run_id, enum export_format fmt, enum export_table table);
/* Every case of a run with statistics and accuracy (and, in JSON, counters, raw samples and
 * the machine). Column set documented in docs/schema.md. */
int report_export(FILE *out, struct store *s, int64_t run_id, enum export_format fmt);
/* The two formats of report_export (csv.c, json.c). Both return 0, or -1 with the reason in
 * store_errmsg(s); the CSV column order is fixed (see csv.c), and JSON cases carry the same
 * field names. */
int report_export_csv(FILE *out, struct store *s, int64_t run_id);
int report_export_json(FILE *out, struct store *s, int64_t run_id);

/* The cases of a run in execution order, malloc'd into *rows (free() them); returns the count,
 * or -1 with the reason in store_errmsg(s). Shared by the table, CSV and JSON writers. */
long report_load_results(struct store *s, int64_t run_id, struct result_row **rows);

/* Length of the valid UTF-8 sequence that starts at s, or 0 where none does: the exports write
 * such bytes as U+FFFD so every decoder accepts them (utf8.c). */
int report_utf8_sequence(const char *s);

/* Human-readable duration: "812 ns", "3.41 us", "12.0 ms", "1.25 s". */
void report_format_seconds(double s, char *buf, size_t len);

/* The median's 95% CI as "±1.2%"; "n/a" for fewer than 3 samples, whatever interval an older file
 * stored (one sample's "interval" is the sample itself); "-" for an untimed case. */
void report_format_ci(const struct result_row *r, char *buf, size_t len);
/* 1 when a CI may be shown for this case: timed with at least 3 samples. */
int report_has_ci(const struct result_row *r);
/* 1 when the case's noise target was known and not met (0: met, or unknown in an older file). */
int report_noise_missed(const struct result_row *r);
/* 1 when the case has fewer samples than the minimum asked for (0: reached, or unknown). */
int report_min_missed(const struct result_row *r);
/* What sampling did not deliver, in words ("noise target ±1.0% not met; 2 of 10 samples
 * (stopped by min-samples-cap); 3 throttled samples set aside (sw_power_cap)"); "" when all was
 * kept or nothing is known. */
void report_sampling_note(const struct result_row *r, char *buf, size_t len);

#endif
