/* axis.h - the shape axis a sweep moves along, and how a plot names it.
 *
 * A series is the cases of one kernel, impl, device, dtype, thread count and cache state that
 * differ in exactly one shape axis: sequence length for attention, tokens, experts or top-k for
 * MoE, M, N, K or the group size for GEMMs. The reports, `kbench scaling` and the dashboard's
 * plot put that axis on x, fit t = c * x^p along it and look for crossovers on it.
 */
#ifndef KB_REPORT_AXIS_H
#define KB_REPORT_AXIS_H

#include <stddef.h>

#include "harness/store.h"

/* 1 for the integer axes a plot can put on x (sequence length, window, M/N/K, group, tokens,
 * experts, top-k, ...); 0 for flags and enumerations (causal, routing, input). */
int report_axis_plottable(enum kb_axis a);

/* What the axis is ("MoE tokens"), its symbol on a plot ("T") and its unit ("tokens"). */
const char *report_axis_title(enum kb_axis a);
const char *report_axis_symbol(enum kb_axis a);
const char *report_axis_unit(enum kb_axis a);

/* The x label: "MoE tokens T (tokens, log scale)"; log 0 leaves out ", log scale". */
void report_axis_label(enum kb_axis a, int log, char *buf, size_t len);

/* The axis an --x value names: its suite key ("tokens", "top_k", "m") or flag spelling
 * ("top-k", "head-dim"), case-insensitive; -1 when it names no plottable axis. */
int report_axis_parse(const char *text);
/* The plottable axes' keys, space-separated, in the order report_swept_axis prefers them: the
 * choices of the --x options (their completion). */
#define REPORT_AXIS_CHOICES \
    "seq tokens m n k experts top_k group window topk_blocks block chunk head_dim state hidden ffn batch heads kv_heads"
/* The same keys, comma-separated, for an error message. */
void report_axis_keys(char *buf, size_t len);

/* The axis a set of cases sweeps: the plottable axis along which the longest line of cases runs
 * (cases alike in kernel, impl, device, dtype, threads, cache and every other axis), ties going
 * to the axis a reader expects first (sequence length, tokens, M, N, K, experts, top-k, group,
 * ...). With no line of two or more cases, the first axis in that order the first case has a
 * value for; -1 when there is none. rows[i] for i < n; NULL rows are skipped. */
int report_swept_axis(const struct result_row *const *rows, long n);

/* The number of distinct values of x among the cases in rows[0..n) that form one series with
 * key along x (report_same_except). */
int report_line_through(const struct result_row *key, const struct result_row *rows, long n, enum kb_axis x);

/* The axes along which the series through keys[0..nkeys) have two or more points, longest
 * first (summed over the keys; ties in the order report_swept_axis prefers): the dashboard's
 * choices of x for its selection. Writes up to max into out; returns how many. */
int report_axes_through(const struct result_row *keys, int nkeys, const struct result_row *rows, long n, int *out,
                        int max);

/* 1 when a and b are one series along axis x: alike in everything but the value of x. */
int report_same_except(const struct result_row *a, const struct result_row *b, enum kb_axis x);

#endif
