/* format.h - how the dashboard writes numbers: times, throughput, shapes. */
#ifndef KB_TUI_FORMAT_H
#define KB_TUI_FORMAT_H

#include <stddef.h>
#include "harness/store.h"

/* "812 ns", "3.41 us", "12.0 ms", "1.25 s"; "-" for NaN. */
void fmt_seconds(double s, char *buf, size_t len);
/* Throughput of a case: FLOP/s when the kernel counts FLOPs ("27.0 GFLOP/s", "1.23 TFLOP/s"),
 * else bytes ("3.10 GB/s"); "-" when not timed. *value gets the number it shows (per second). */
void fmt_throughput(const struct result_row *r, char *buf, size_t len, double *value);
/* The shape's non-zero axes but the sequence length (its own column), as kbench writes shapes
 * everywhere: "b=1 h=8 d=64 causal", "M=512 K=512 g=128 group". */
void fmt_shape(const struct kb_shape *s, char *buf, size_t len);
/* A value with SI prefix and unit: "1.23 G" + unit. */
void fmt_si(double v, const char *unit, char *buf, size_t len);
/* text in at most width columns (bytes): whole when it fits, else cut at the last space that
 * leaves room for a '~' (never mid-value: "d=32" is never shown as "d=3"). */
void fmt_cut_words(const char *text, int width, char *buf, size_t len);

#endif
