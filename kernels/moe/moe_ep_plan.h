/* moe_ep_plan.h - the host-side bookkeeping of moe.layer@cuda.ep's exchanges (moe_ep.c), pure C
 * so the CPU tests can check it (tests/test_moe.c): which rows each rank sends to each owner,
 * and in which order an owner hands the received rows to its grouped GEMM and back.
 *
 * Rank q's assignments sit in expert order (its counting sort), expert e's rows at
 * [off[q][e], off[q][e+1]); rank r owns experts [e0[r], e0[r] + en[r]). */
#ifndef KB_MOE_EP_PLAN_H
#define KB_MOE_EP_PLAN_H

/* the most ranks (GPUs of a span: kb_shape.span's range) */
#define MOE_EP_MAX_RANKS 64

/* Rows rank `from` sends to rank `to` (its assignments to `to`'s experts). */
long moe_ep_sent_rows(const int *const *off, const int *e0, const int *en, int from, int to);

/* Receiver r's plan. Received rows arrive sender by sender (rank 0's block first), each block
 * in expert order; the grouped GEMM wants them expert by expert: grouped row s reads received
 * row a_index[s], and ret_perm is the inverse (received row j was grouped row ret_perm[j]).
 * l_off [en[r]+1]: the grouped rows of each local expert; l_mts [en[r]+1]: the row tiles of
 * mtile_rows before each. a_index and ret_perm hold at least the rows received. Returns how
 * many rows r receives (-1: more than MOE_EP_MAX_RANKS ranks). */
long moe_ep_plan_receiver(int ranks, const int *const *off, const int *e0, const int *en, int r, int mtile_rows,
                          int *a_index, int *ret_perm, int *l_off, int *l_mts);

#endif
