/* moe_ep_plan.c - moe.layer@cuda.ep's exchange bookkeeping (moe_ep_plan.h). */
#include "kernels/moe/moe_ep_plan.h"

long moe_ep_sent_rows(const int *const *off, const int *e0, const int *en, int from, int to)
{
    return (long)off[from][e0[to] + en[to]] - off[from][e0[to]];
}

long moe_ep_plan_receiver(int ranks, const int *const *off, const int *e0, const int *en, int r, int mtile_rows,
                          int *a_index, int *ret_perm, int *l_off, int *l_mts)
{
    /* where sender q's block starts among the received rows */
    long at = 0;
    long base_of[MOE_EP_MAX_RANKS];
    if (ranks > MOE_EP_MAX_RANKS)
        return -1;
    for (int q = 0; q < ranks; q++) {
        base_of[q] = at;
        at += moe_ep_sent_rows(off, e0, en, q, r);
    }
    long s = 0;
    l_off[0] = 0;
    l_mts[0] = 0;
    for (int x = 0; x < en[r]; x++) {
        const int e = e0[r] + x;
        for (int q = 0; q < ranks; q++) {
            const long first = base_of[q] + (off[q][e] - off[q][e0[r]]);
            for (long i = 0; i < off[q][e + 1] - off[q][e]; i++, s++) {
                a_index[s] = (int)(first + i);
                ret_perm[first + i] = (int)s;
            }
        }
        l_off[x + 1] = (int)s;
        l_mts[x + 1] = l_mts[x] + (l_off[x + 1] - l_off[x] + mtile_rows - 1) / mtile_rows;
    }
    return at;
}
