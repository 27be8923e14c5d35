/* compare_report.h - a comparison of two runs (compare.h) written for people and for tools:
 * plain text for the terminal, markdown for a CI page or pull request, JSON for scripts, and
 * JUnit XML, which CI systems (Jenkins, GitLab, GitHub test reporters) show as test results:
 * one testcase per case, a <failure> for each regression, newly failing case or accuracy drop,
 * <skipped> for cases that were not compared (new, missing, untimed, failing in both). */
#ifndef KB_COMPARE_REPORT_H
#define KB_COMPARE_REPORT_H

#include <stdio.h>
#include "harness/compare.h"

enum compare_format { COMPARE_TEXT, COMPARE_MARKDOWN, COMPARE_JSON, COMPARE_JUNIT };

/* "text", "md" (or "markdown"), "json", "junit"; 0, or -1 for another name. */
int compare_format_parse(const char *name, enum compare_format *out);

/* Writes the comparison in the format; returns 0, or -1 when the stream fails. */
int report_compare(FILE *out, const struct compare_result *r, enum compare_format fmt);

int report_compare_text(FILE *out, const struct compare_result *r);     /* compare_text.c */
int report_compare_json(FILE *out, const struct compare_result *r);     /* compare_text.c */
int report_compare_markdown(FILE *out, const struct compare_result *r); /* markdown.c */
int report_compare_junit(FILE *out, const struct compare_result *r);    /* junit.c */

/* "PASS" or "FAIL (1 regressed, 2 newly failing)": the one-line outcome every format states. */
void report_compare_outcome(const struct compare_result *r, char *buf, size_t len);
/* Calls fn with each warning about the comparison as a whole, one line each: a run that did not
 * finish (interrupted, running, failed), runs with too few cases in common. */
void report_compare_warnings(const struct compare_result *r, void (*fn)(const char *line, void *ctx), void *ctx);

/* 1 for a case whose report lists the counters that moved: regressed or improved, timed in both. */
int report_compare_has_counters(const struct compare_case *c);

#endif
