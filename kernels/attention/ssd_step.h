/* ssd_step.h - one token of the SSD recurrence on a float32 state, and two row scalings, in the
 * SIMD paths the CPU runs (ssd_step.c). Internal to attention.ssd's CPU kernels. */
#ifndef KB_SSD_STEP_H
#define KB_SSD_STEP_H

struct ssd_step_isa {
    const char *name; /* "avx512", "avx2", "scalar" */
    /* h (S×P, row-major) ← a·h + (w·b) xᵀ and y (P) = cᵀh of the updated state; with
     * exclusive, y = cᵀ(a·h) of the state before the token's own input is added (the backward
     * scan of the bidirectional form, whose diagonal the forward scan already counted). */
    void (*step)(int S, int P, float a, float w, int exclusive, const float *x, const float *b, const float *c,
                 float *h, float *y);
    /* dst[j] = a[j]·b[j] and dst[j] = a[j]·f for j < n (dst may be a): the chunked kernel's
     * row scalings, which -O2 leaves scalar. */
    void (*mul)(float *dst, const float *a, const float *b, int n);
    void (*scale)(float *dst, const float *a, float f, int n);
    /* dst[i·ldd + k] = src[k·lds + i] for k < rows, i < cols: a rows×cols block transposed. */
    void (*transpose)(float *dst, int ldd, const float *src, int lds, int rows, int cols);
};

extern const struct ssd_step_isa ssd_step_scalar;
/* The fastest path this CPU runs; the path called name when it can run it, else NULL. */
const struct ssd_step_isa *ssd_step_best(void);
const struct ssd_step_isa *ssd_step_by_name(const char *name);

#endif
