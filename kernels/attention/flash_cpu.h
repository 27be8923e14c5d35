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

/* One thread's working set for one query block (flash_scratch_floats(d) floats). */
struct flash_scratch {
    float *qpack; /* [FLASH_BR/FLASH_MR][d][FLASH_MR] */
    float *s;     /* [FLASH_BR][FLASH_BC] */
    float *o;     /* [FLASH_BR][ldo] */
    float *m, *l, *alpha; /* [FLASH_BR] each */
};
/* ldo: d rounded up to 32 floats. */
int flash_ldo(int d);
/* Floats of one thread's scratch (each piece 64-byte aligned when mem is). */
size_t flash_scratch_floats(int d);
/* Lays a scratch out in mem (flash_scratch_floats(d) floats, 64-byte aligned). */
void flash_scratch_bind(struct flash_scratch *w, float *mem, int d);
/* Panel pn of one head's K, n rows of d floats ldk apart: keys pn·FLASH_KP.. transposed to
 * [d][FLASH_KP], zeros past n. A head of n keys has round_up(n, FLASH_BC) / FLASH_KP panels
 * (whole key blocks). */
void flash_pack_k_panel(const float *k, size_t ldk, int n, int d, size_t pn, float *dst);
/* One query block of one head (attention.flash@cpu's unit of work, shared with the packed
 * ragged batches of attention.varlen@cpu.flash): nrows <= FLASH_BR query rows q (ldq floats
 * apart) at positions q0.. of a head of n keys, whose K is packed in kpan (panel 0 first) and
 * whose V [n][d] (contiguous rows) starts at v; causal rows see keys <= their position. Writes
 * nrows rows of d outputs to out, ldout floats apart. */
void flash_cpu_block(const struct flash_isa *isa, const float *q, size_t ldq, int nrows, int q0, const float *kpan,
                     const float *v, int n, int d, int causal, float *out, size_t ldout, struct flash_scratch *w);

/* The fastest path this CPU runs. */
const struct flash_isa *flash_isa_best(void);
/* The path called name ("avx512", "avx2", "scalar") when this CPU can run it, else NULL. */
const struct flash_isa *flash_isa_by_name(const char *name);
/* Makes a set-up case of attention.flash@cpu use the named path (tests compare paths);
 * 0, or -1 when this CPU cannot run it. */
int flash_cpu_use_path(struct kb_case *c, const char *name);

#endif
