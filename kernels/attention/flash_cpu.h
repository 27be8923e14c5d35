/* flash_cpu.h - internals of attention.flash@cpu shared by its driver (flash_cpu.c) and its
 * SIMD micro-kernels (flash_cpu_avx2.c, flash_cpu_avx512.c). Not part of the kernel contract.
 *
 * Layouts the micro-kernels work on (all float32):
 *   packed Q  [rows/FLASH_MR][d][FLASH_MR]   a query block, FLASH_MR rows interleaved so one
 *                                            step of the score loop reads FLASH_MR adjacent floats
 *   K panels  [panels][d][FLASH_KP]          K transposed in strips of FLASH_KP keys, so the
 *                                            score loop streams one contiguous panel
 *   S / P     [rows][FLASH_BC]               scores of one query block against one key block,
 *                                            turned into probabilities in place
 *   O acc     [rows][ldo]                    unnormalised output; ldo = d rounded up to 32
 *   V         [keys][d]                      read in place from the input (no copy)
 */
#ifndef KB_FLASH_CPU_H
#define KB_FLASH_CPU_H

#include "kernels/kernel.h"
#include "kernels/cpu_features.h"

/* What each SIMD path needs (kernels/cpu_features.h decides whether it may run). */
#define FLASH_AVX512_NEEDS KB_CPU_AVX512F
#define FLASH_AVX2_NEEDS (KB_CPU_AVX2 | KB_CPU_FMA)

#define FLASH_MR 6  /* query rows per register tile */
#define FLASH_KP 16 /* keys per K panel */
#ifndef FLASH_BR
#define FLASH_BR 96  /* query rows per block: a multiple of FLASH_MR */
#endif
#ifndef FLASH_BC
#define FLASH_BC 128 /* keys per block: a multiple of 2·FLASH_KP */
#endif

struct flash_isa {
    const char *name; /* "avx512", "avx2", "scalar" */
    /* S[r][j] = q_r · k_j for rows r < rows (a multiple of FLASH_MR) and the keys of npan
     * panels; S row stride FLASH_BC. */
    void (*scores)(const float *qpack, int d, const float *kpan, int npan, int rows, float *s);
    /* Largest of s[0..cols); cols a multiple of FLASH_KP. */
    float (*row_max)(const float *s, int cols);
    /* s[j] = 2^(s[j]·c − mc) for j < cols, returns their sum; cols a multiple of FLASH_KP. */
    float (*row_exp2_sum)(float *s, int cols, float c, float mc);
    /* o[r][0..ldo) = alpha[r]·o[r][..] + Σ_{j<keys} p[r][j]·v[j][..] for r < rows; v has row
     * stride d and may be read up to ldo − d floats past a row's end. */
    void (*pv)(const float *p, int keys, const float *v, int d, float *o, int ldo,
               const float *alpha, int rows);
};

extern const struct flash_isa flash_isa_scalar;
#if defined(__x86_64__)
extern const struct flash_isa flash_isa_avx2;
extern const struct flash_isa flash_isa_avx512;
#endif

/* The fastest path this CPU runs. */
const struct flash_isa *flash_isa_best(void);
/* The path called name ("avx512", "avx2", "scalar") when this CPU can run it, else NULL. */
const struct flash_isa *flash_isa_by_name(const char *name);
/* Makes a set-up case of attention.flash@cpu use the named path (tests compare paths);
 * 0, or -1 when this CPU cannot run it. */
int flash_cpu_use_path(struct kb_case *c, const char *name);

#endif
