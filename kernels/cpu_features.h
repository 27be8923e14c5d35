/* cpu_features.h - the one place that decides which SIMD code paths may run in this process.
 *
 * A kernel never asks the CPU itself (cpuid, __builtin_cpu_supports): it asks kb_cpu_has() for
 * the features its path needs. The answer is what the CPU and the OS support (cpuid and XCR0)
 * intersected with the process-wide mask KBENCH_CPU_FEATURES, so one variable moves every CPU
 * kernel, `kbench devices`, calibration and the roofline peaks onto the same path.
 *
 * KBENCH_CPU_FEATURES (unset or empty: no mask) is a comma-separated list of
 *   scalar | none   no SIMD feature at all (every kernel takes its portable path)
 *   avx2            the AVX2 level: avx2, fma and avxvnni (every kernel's AVX2 path)
 *   avx512          the AVX-512 level: avx512f, avx512bw, avx512vnni and the AVX2 level
 *   native | all    whatever the CPU has
 *   or single features: fma, avx512f, avx512bw, avx512vnni, avxvnni
 * ("avx2,fma" is the AVX2 level; "avx2,avx512f" adds AVX-512F without VNNI), and -NAME takes a
 * feature or level away ("avx2,-avxvnni": an AVX2 CPU without AVX-VNNI; a list of subtractions
 * alone starts from native: "-avx512vnni"). Names are lower case. The list's union is a mask, an upper bound: a feature the CPU lacks is not switched on
 * by naming it. Anything else is an error naming the offending entry (kbench exits 2 on it).
 *
 * Kept free of harness headers: kernel implementations include it. */
#ifndef KB_CPU_FEATURES_H
#define KB_CPU_FEATURES_H

#include <stddef.h>

enum {
    KB_CPU_AVX2 = 1u << 0,
    KB_CPU_FMA = 1u << 1,
    KB_CPU_AVX512F = 1u << 2,
    KB_CPU_AVX512BW = 1u << 3,
    KB_CPU_AVX512VNNI = 1u << 4,
    KB_CPU_AVXVNNI = 1u << 5,
    KB_CPU_ALL = (1u << 6) - 1,
};

/* The name of the environment variable that masks the features. */
#define KB_CPU_FEATURES_ENV "KBENCH_CPU_FEATURES"

/* What the CPU and the OS support (cpuid + XCR0), regardless of the mask; 0 off x86-64. */
unsigned kb_cpu_detected(void);
/* The features code may use: detected & mask. The mask is read from KBENCH_CPU_FEATURES on the
 * first call; a bad value there masks everything (scalar only, never an unrequested path) until
 * kb_cpu_features_init reports it. */
unsigned kb_cpu_features(void);
/* 1 when every feature in `needed` may be used. */
int kb_cpu_has(unsigned needed);
/* 1 when the mask hides a feature the CPU has. */
int kb_cpu_masked(void);

/* Reads KBENCH_CPU_FEATURES now: 0, or -1 with a message naming the bad entry in err. */
int kb_cpu_features_init(char *err, size_t errlen);
/* Parses a mask written as KBENCH_CPU_FEATURES is: 0, or -1 with a message naming the entry. */
int kb_cpu_features_parse(const char *spec, unsigned *mask, char *err, size_t errlen);
/* Replaces the mask for this process (unit tests run one kernel per path); KB_CPU_ALL unmasks. */
void kb_cpu_features_set_mask(unsigned mask);
/* "avx512f avx512bw avx512vnni avx2 fma avxvnni" for the features in f, "" for none. */
void kb_cpu_features_format(unsigned f, char *buf, size_t len);

/* The named code paths the CPU kernels share. A kernel's path may need more than its level
 * (int8's AVX-512 path needs VNNI): kb_cpu_has() with the kernel's own features decides. */
enum kb_cpu_path { KB_PATH_SCALAR, KB_PATH_AVX2, KB_PATH_AVX512, KB_PATH_COUNT };
const char *kb_cpu_path_name(enum kb_cpu_path p);
/* The features the path's level masks in: scalar 0, avx2 its level, avx512 everything. */
unsigned kb_cpu_path_mask(enum kb_cpu_path p);

#endif
