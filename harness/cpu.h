/* cpu.h - what the CPU can do: model, cores, caches, SIMD features, and its FMA peak. */
#ifndef KB_CPU_H
#define KB_CPU_H

#include <stddef.h>

struct cpu_info {
    char model[128];
    int logical_cpus;       /* online */
    int physical_cores;
    double mhz;             /* nominal or reported clock, 0 when unknown */
    size_t l1d_bytes, l2_bytes, l3_bytes;
    int has_avx2, has_fma, has_avx512f, has_avx512bw, has_avx512vnni, has_avxvnni;
    char simd[64];          /* "avx512f avx2 fma": the features in effect (after KBENCH_CPU_FEATURES) */
    char simd_detected[64]; /* what the CPU has, mask or not */
    int features_masked;    /* 1 when KBENCH_CPU_FEATURES hides a feature the CPU has */
    double f32_flops_per_cycle; /* per core: vector lanes x FMA units x 2 */
    const char *peak_method; /* how f32_flops_per_cycle was derived, for the notes */
    double hw_f32_flops_per_cycle; /* the same with every feature the CPU has (mask or not) */
};

/* Fills info from cpuid, sysconf and /proc/cpuinfo. Never fails; unknown fields are 0. The SIMD
 * features (has_*, simd) and the FMA peak are those in effect under KBENCH_CPU_FEATURES
 * (kernels/cpu_features.h). */
void cpu_info_read(struct cpu_info *info);

/* Single-core float32 FMA peak in FLOP/s (flops per cycle x clock), 0 when the clock is unknown. */
double cpu_peak_f32_per_core(const struct cpu_info *info);

/* The CPU's own peak, as if KBENCH_CPU_FEATURES were unset: what the stored machine row
 * records, since every run on the machine shares that row whatever it masked. */
double cpu_hw_peak_f32_per_core(const struct cpu_info *info);

/* Last-level cache size in bytes (falls back to 32 MiB when unknown): the flush size for
 * cold-cache sampling. */
size_t cpu_llc_bytes(const struct cpu_info *info);

#endif
