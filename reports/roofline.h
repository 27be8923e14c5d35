/* roofline.h - where a result stands against the machine's ceilings.
 *
 * The roofline model: a kernel of arithmetic intensity I (FLOP per byte of minimal traffic)
 * can reach at most min(P, I * B), P the compute ceiling and B the memory bandwidth. kbench
 * prefers the ceilings `kbench calibrate` measured on the run's machine; where the machine was
 * never calibrated, P falls back to the nominal per-core FMA peak of cpu.h (clock x FLOP per
 * cycle) and B is unknown (the roof is then P alone). `source` says which was used.
 *
 * A run made under KBENCH_CPU_FEATURES (kernels/cpu_features.h) could only reach the peak of the
 * features it was allowed: its CPU compute roof is the nominal peak under its mask, or, where
 * the ceilings were measured, each measured CPU compute ceiling scaled by the ratio of the
 * nominal peaks (masked / the machine's own). The memory roof does not depend on the mask.
 */
#ifndef KB_ROOFLINE_H
#define KB_ROOFLINE_H

#include "harness/store.h"

#define ROOFLINE_MAX 32

struct roofline {
    struct ceiling ceilings[ROOFLINE_MAX]; /* the measured ones, newest of each name */
    int count;
    double nominal_core;  /* cpu.h's per-core peak recorded with the machine, FLOP/s; 0 unknown */
    int cores;            /* physical cores of the machine */
    int measured;         /* 1 when the CPU compute ceilings were measured */
    struct run_cpu_mask mask; /* the run's KBENCH_CPU_FEATURES mask; mask.mask "" none */
};

/* Reads the ceilings of machine m (by fingerprint) and the CPU feature mask of run run_id
 * (the machine of that run; run_id <= 0: no run, the machine's own peak) from the store. */
int roofline_load(struct store *s, int64_t run_id, const struct machine_info *m, struct roofline *out);

/* The factor a CPU compute ceiling is scaled by under the run's mask: 1 without a mask, the
 * masked over the machine's nominal peak with one, NaN where either peak is unknown. */
double roofline_mask_scale(const struct roofline *r);

/* The code path the run's mask allowed, "avx512", "avx2" or "scalar"; NULL without a mask. */
const char *roofline_mask_path(const struct roofline *r);

/* A measured ceiling by device and name, or NaN. */
double roofline_ceiling(const struct roofline *r, const char *device, const char *name);

/* The compute ceiling for a case: on the CPU, the f32 (or, for dtype i8, INT8) rate of one
 * core times min(threads, cores), capped by the all-core rate; on a GPU the device's
 * "flops_<dtype>" ceiling. NaN when unknown. */
double roofline_compute(const struct roofline *r, const char *device, const char *dtype, int threads);
/* The memory ceiling: triad bandwidth for 1 thread or all (CPU), "copy_bw" (GPU); NaN unknown. */
double roofline_bandwidth(const struct roofline *r, const char *device, int threads);

/* Achieved FLOP/s of a case over what the roofline allows at its intensity; NaN when the
 * case has no FLOP count, was not timed, or the machine has no compute ceiling. */
double roofline_fraction(const struct roofline *r, const struct result_row *row);

/* A sentence on where the ceilings came from, for reports. */
void roofline_describe(const struct roofline *r, char *out, size_t len);

#endif
