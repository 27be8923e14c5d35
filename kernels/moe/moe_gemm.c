/* moe_gemm.c - the blocked driver, packing and the portable scalar micro-kernel of the MoE
 * GEMM (see moe_gemm.h); the AVX2 tile is in moe_gemm_avx2.c. */
#include "kernels/moe/moe_gemm.h"
#include "kernels/cpu_features.h"

#include <string.h>

#if MOE_GEMM_MC % MOE_MR != 0 || MOE_GEMM_NC % MOE_NR != 0 || MOE_FC % MOE_NR != 0
#error "MOE_GEMM_MC must be a multiple of MOE_MR, MOE_GEMM_NC and MOE_FC of MOE_NR"
#endif

static void tile_scalar(int kc, const float *ap, const float *bp, float *const *crow, int mr, int nr,
                        const float *scale, int add)
{
    float acc[MOE_MR][MOE_NR] = { { 0 } };
    for (int p = 0; p < kc; p++, ap += MOE_MR, bp += MOE_NR)
        for (int i = 0; i < MOE_MR; i++)
            for (int j = 0; j < MOE_NR; j++)
                acc[i][j] += ap[i] * bp[j];
    for (int i = 0; i < mr; i++) {
        float sc = scale ? scale[i] : 1.0f;
        for (int j = 0; j < nr; j++)
            crow[i][j] = add ? crow[i][j] + sc * acc[i][j] : sc * acc[i][j];
    }
}

const struct moe_gemm_isa moe_gemm_scalar = { .name = "scalar", .tile = tile_scalar };

static int isa_runs_here(const struct moe_gemm_isa *isa)
{
#if defined(__x86_64__)
    if (isa == &moe_gemm_avx2)
        return kb_cpu_has(MOE_GEMM_AVX2_NEEDS);
#endif
    return isa == &moe_gemm_scalar;
}

static const struct moe_gemm_isa *const isa_by_preference[] = {
#if defined(__x86_64__)
    &moe_gemm_avx2,
#endif
    &moe_gemm_scalar,
};

const struct moe_gemm_isa *moe_gemm_best(void)
{
    for (size_t i = 0; i < sizeof isa_by_preference / sizeof isa_by_preference[0]; i++)
        if (isa_runs_here(isa_by_preference[i]))
            return isa_by_preference[i];
    return &moe_gemm_scalar;
}

const struct moe_gemm_isa *moe_gemm_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof isa_by_preference / sizeof isa_by_preference[0]; i++)
        if (strcmp(isa_by_preference[i]->name, name) == 0)
            return isa_runs_here(isa_by_preference[i]) ? isa_by_preference[i] : NULL;
    return NULL;
}

size_t moe_gemm_scratch_floats(void)
{
    return (size_t)MOE_GEMM_MC * MOE_GEMM_KC;
}

/* Rows [ic, ic+mc) × depth [pc, pc+kc) of A into micro-panels [mc/MR][kc][MR]; the gather
 * through a_rows happens here, so a gathered A costs nothing beyond the packing every GEMM
 * does anyway. Rows past mc are zeros (their results are never stored). */
static void pack_a(const struct moe_gemm *g, int ic, int mc, int pc, int kc, float *dst)
{
    for (int r0 = 0; r0 < mc; r0 += MOE_MR) {
        float *panel = dst + (size_t)r0 * kc;
        for (int i = 0; i < MOE_MR; i++) {
            if (r0 + i >= mc) {
                for (int p = 0; p < kc; p++)
                    panel[(size_t)p * MOE_MR + i] = 0.0f;
                continue;
            }
            int row = ic + r0 + i;
            const float *src = g->a + (size_t)(g->a_rows ? g->a_rows[row] : row) * g->lda + pc;
            for (int p = 0; p < kc; p++)
                panel[(size_t)p * MOE_MR + i] = src[p];
        }
    }
}

void moe_gemm_run(const struct moe_gemm_isa *isa, const struct moe_gemm *g, float *apack)
{
    if (g->m <= 0 || g->n <= 0)
        return;
    for (int jc = 0; jc < g->n; jc += MOE_GEMM_NC) {
        const int nc = g->n - jc < MOE_GEMM_NC ? g->n - jc : MOE_GEMM_NC;
        for (int pc = 0; pc < g->k || pc == 0; pc += MOE_GEMM_KC) {
            const int kc = g->k - pc < MOE_GEMM_KC ? g->k - pc : MOE_GEMM_KC;
            const int add = g->accumulate || g->c_scale || pc > 0;
            for (int ic = 0; ic < g->m; ic += MOE_GEMM_MC) {
                const int mc = g->m - ic < MOE_GEMM_MC ? g->m - ic : MOE_GEMM_MC;
                pack_a(g, ic, mc, pc, kc, apack);
                for (int jr = 0; jr < nc; jr += MOE_NR) {
                    const int nr = nc - jr < MOE_NR ? nc - jr : MOE_NR;
                    const float *bp = g->b + (size_t)((jc + jr) / MOE_NR) * g->b_panel_stride +
                                      (size_t)pc * MOE_NR;
                    for (int ir = 0; ir < mc; ir += MOE_MR) {
                        const int mr = mc - ir < MOE_MR ? mc - ir : MOE_MR;
                        float *crow[MOE_MR];
                        float sc[MOE_MR];
                        for (int i = 0; i < MOE_MR; i++) {
                            int row = ic + ir + (i < mr ? i : 0);
                            crow[i] = g->c + (size_t)(g->c_rows ? g->c_rows[row] : row) * g->ldc + jc + jr;
                            sc[i] = g->c_scale ? g->c_scale[row] : 1.0f;
                        }
                        isa->tile(kc, apack + (size_t)ir * kc, bp, crow, mr, nr, g->c_scale ? sc : NULL, add);
                    }
                }
            }
            if (g->k <= 0)
                break;
        }
    }
}

void moe_pack_b(const float *b, size_t ldb, int k, int n, size_t kpad, float *dst)
{
    const int panels = (n + MOE_NR - 1) / MOE_NR;
    for (int p = 0; p < panels; p++) {
        float *panel = dst + (size_t)p * kpad * MOE_NR;
        for (size_t r = 0; r < kpad; r++)
            for (int j = 0; j < MOE_NR; j++) {
                int col = p * MOE_NR + j;
                panel[r * MOE_NR + j] = (r < (size_t)k && col < n) ? b[r * ldb + col] : 0.0f;
            }
    }
}
