/* moe.h - the mixture-of-experts family: shapes, inputs, routing, float64 references, the
 * analytic counts, and the registered kernels. Everything a CPU or CUDA implementation of a
 * moe.* kernel shares lives here (moe_common.c, moe_reference.c, moe_route.c).
 *
 * The layer, for T tokens x_t [h], E experts, top_k = k:
 *   router    l_t = x_t·W_r + b                   W_r [h,E], b [E] (b sets the routing skew,
 *                                                  datasets/generate.h)
 *             ids_t = the k largest l_t,e        (descending; ties → the lower expert id)
 *             g_t,j = exp(l_t,ids_j) / Σ_i exp(l_t,ids_i)
 *                     (softmax over all E, then renormalised over the chosen k: the same thing)
 *   dispatch  a stable counting sort of the T·k assignments (t, j) by expert: offsets [E+1],
 *             perm [T·k] (slot → assignment t·k + j), slot_of [T·k] (its inverse) and the
 *             gathered rows xp [T·k, h] (xp[s] = x[perm[s] / k])
 *   experts   for each expert e, the rows of its slots: yp = (silu(xp·W1_e) ⊙ (xp·W3_e))·W2_e
 *             W1, W3 [E,h,f], W2 [E,f,h] (SwiGLU; silu(z) = z / (1 + e^-z))
 *   combine   y_t = Σ_j g_t,j · yp[slot_of[t·k + j]]
 * All tensors float32, row-major.
 */
#ifndef KB_MOE_H
#define KB_MOE_H

#include "kernels/kernel.h"
#include "kernels/verify.h"

extern const struct kb_kernel kb_moe_router_cpu;
extern const struct kb_kernel kb_moe_dispatch_cpu;
extern const struct kb_kernel kb_moe_combine_cpu;
extern const struct kb_kernel kb_moe_experts_cpu;
extern const struct kb_kernel kb_moe_layer_unfused;
extern const struct kb_kernel kb_moe_layer_fused;
/* CUDA builds (moe_cuda.c): bf16 on tensor cores, f32 accumulation */
extern const struct kb_kernel kb_moe_router_cuda;
extern const struct kb_kernel kb_moe_dispatch_cuda;
extern const struct kb_kernel kb_moe_combine_cuda;
extern const struct kb_kernel kb_moe_experts_cuda;
extern const struct kb_kernel kb_moe_layer_cuda_unfused;
extern const struct kb_kernel kb_moe_layer_cuda_fused;

/* ---- shapes and counts (the catalogue's formulas) ------------------------------------------ */

/* Checks T, h, E ≥ 1 (and f ≥ 1 when need_ffn: the router, dispatch and combine do not sweep
 * f), 1 ≤ top_k ≤ min(E, MOE_MAX_TOPK), routing in range, and element counts that fit size_t.
 * KB_OK, or KB_UNSUPPORTED with a message naming the value. */
int moe_check_shape(const struct kb_shape *s, int need_ffn, char *err, size_t errlen);

double moe_router_flops(const struct kb_shape *s);   /* 2·T·h·E + 5·T·E */
double moe_router_bytes(const struct kb_shape *s, enum kb_dtype t); /* s·(T·h + h·E) + 8·T·k */
double moe_dispatch_bytes(const struct kb_shape *s, enum kb_dtype t); /* s·T·h + s·T·k·h + 12·T·k */
double moe_combine_flops(const struct kb_shape *s);  /* 2·T·k·h */
double moe_combine_bytes(const struct kb_shape *s, enum kb_dtype t); /* s·(T·k·h + T·h) + 8·T·k */
double moe_experts_flops(const struct kb_shape *s);  /* 6·T·k·h·f + 4·T·k·f */
/* s·3·h·f·E_act + s·2·T·k·h, with E_act = min(E, T·k) (every expert that can get a token) */
double moe_experts_bytes(const struct kb_shape *s, enum kb_dtype t);
double moe_layer_flops(const struct kb_shape *s);    /* router + experts + combine */
/* the ideal fused layer: s·2·T·h + s·(h·E + 3·h·f·E_act) */
double moe_layer_bytes(const struct kb_shape *s, enum kb_dtype t);

/* ---- inputs ---------------------------------------------------------------------------------- */

/* Width of the packed weight panels (the GEMM micro-kernel's N tile, moe_gemm.h). */
#define MOE_NR 16
/* Width of the ffn chunks the fused layer works in, and the unit in which W1 and W3 are
 * interleaved in their packed form: a multiple of MOE_NR. */
#define MOE_FC 128

/* The layer's inputs as a model stores them, and the weights repacked once at setup into the
 * panel layout the GEMM micro-kernel streams (inference engines reformat weights at load time
 * in the same way; it is not part of the timed region):
 *   w13p  per expert, for each ffn chunk c of width w_c (MOE_FC, the last one shorter): the
 *         ceil(w_c/NR) panels of W1's columns of the chunk, then as many of W3's, each panel
 *         [h][NR] (zeros past f). One GEMM against it yields [G_c | U_c] for every chunk.
 *   w2p   per expert, ceil(h/NR) panels [fpad][NR] of W2 (zero rows past f).
 *   wrp   ceil(E/NR) panels [h][NR] of W_r. */
struct moe_inputs {
    float *x;      /* [T,h] from the shape's input distribution */
    float *wr;     /* [h,E] router weights */
    float *bias;   /* [E] router bias (the routing skew) */
    float *w1, *w3; /* [E,h,f], N(0, 1/h) */
    float *w2;     /* [E,f,h], N(0, 1/f) */
    float *w13p, *w2p, *wrp;
    size_t fpad;   /* f rounded up to MOE_NR */
    size_t hpad;   /* h rounded up to MOE_NR */
    size_t epad;   /* E rounded up to MOE_NR */
};

/* What moe_inputs_new allocates and fills. */
enum {
    MOE_IN_X = 1,       /* x */
    MOE_IN_ROUTER = 2,  /* wr, bias, wrp */
    MOE_IN_EXPERTS = 4, /* w1, w3, w2, w13p, w2p */
    MOE_IN_UNPACKED = 8, /* with MOE_IN_EXPERTS: w1, w3, w2 only (the GPU kernels lay the weights
                          * out their own way; the CPU panels would double the host memory) */
};
/* Allocates and fills the parts `what` (MOE_IN_*) from the case seed; a distinct sub-seed per
 * tensor, so every kernel of the family sees the same tensors for the same case. KB_OK or
 * KB_ERROR with a message (nothing stays allocated). */
int moe_inputs_new(struct moe_inputs *in, const struct kb_shape *s, uint64_t seed, int what,
                   char *err, size_t errlen);
void moe_inputs_free(struct moe_inputs *in);
/* Bytes moe_inputs_new allocates for `what`. */
double moe_inputs_bytes(const struct kb_shape *s, int what);

/* 64-byte aligned, size rounded up to 64 bytes; free() it. NULL for 0 bytes or failure. */
void *moe_alloc(size_t bytes);
/* Sub-seed `which` of a case seed, for tensors beyond moe_inputs (yp of moe.combine). */
uint64_t moe_sub_seed(uint64_t seed, unsigned which);

/* ---- routing (float32, the kernels' own; moe_route.c) --------------------------------------- */

/* Top-k of one token's logits (bias already added): ids descending, ties → lower id, and the
 * renormalised gates. */
void moe_select_topk(const float *logits, int experts, int k, int *ids, float *gates);
/* Routes tokens [t0, t1): logits = x·W_r + b through the packed GEMM into logits [T, epad] (a
 * caller's scratch), then moe_select_topk into ids/gates [T,k]. Single-threaded; callers
 * parallelise over token ranges. */
void moe_route_range(const struct moe_inputs *in, const struct kb_shape *s, int t0, int t1,
                     float *logits, int *ids, float *gates, float *apack);
/* Floats of A-packing scratch moe_route_range and moe_gemm need per thread. */
size_t moe_gemm_scratch_floats(void);

/* A whole routing of the case's T tokens: what moe.router computes, what moe.layer keeps (the
 * routing decision is its output too: T·k ids and gates, not an activation buffer), and what
 * dispatch/experts/combine are given as input. */
struct moe_routing {
    float *logits; /* [T, epad] scratch */
    int *ids;      /* [T,k] */
    float *gates;  /* [T,k] */
    int *counts;   /* [E] tokens per expert */
    float *apack;  /* threads × moe_gemm_scratch_floats() */
    int threads;
};
int moe_routing_new(struct moe_routing *r, const struct kb_shape *s, const struct moe_inputs *in,
                    int threads, char *err, size_t errlen);
void moe_routing_free(struct moe_routing *r);
double moe_routing_bytes(const struct kb_shape *s, int threads);
/* Routes every token (parallel over token blocks) and counts the loads. */
void moe_route_all(const struct moe_inputs *in, const struct kb_shape *s, struct moe_routing *r);

/* Checks a routing against the float64 reference on sampled tokens (moe_verify_rows): the
 * chosen experts (exact, with the near-tie rule below), the gates (added to va) and the counts
 * (exact, against the ids). Adds to *exact_checked / *exact_mismatches / *near_ties; returns the
 * number of tokens checked. */
long moe_verify_routing(const struct moe_inputs *in, const struct kb_shape *s,
                        const struct moe_routing *r, uint64_t seed, struct verify_acc *va,
                        long *exact_checked, long *exact_mismatches, long *near_ties);

/* Tokens per expert of a routing: counts [E] from ids [T,k]. */
void moe_count_loads(const int *ids, long assignments, int experts, int *counts);
/* The stable counting sort of the assignments by expert (see the top of this file): offsets
 * [E+1], perm and slot_of [T·k]. Sequential: it is O(T·k + E), tiny beside the row copies. */
void moe_counting_sort(const int *ids, long assignments, int experts, int *offsets, int *perm,
                       int *slot_of);

/* The dispatch of a routing: the counting sort, then xp[s] = x[perm[s] / k] for every slot
 * (rows copied in parallel over `threads`). offsets [E+1], perm and slot_of [T·k], xp [T·k,h]. */
void moe_dispatch_rows(const float *x, const struct kb_shape *s, const int *ids, int threads,
                       int *offsets, int *perm, int *slot_of, float *xp);
/* The combine: y_t = Σ_j g_t,j · yp[slot_of[t·k + j]] (gather form: one writer per output
 * row, so no atomics and a deterministic sum order), parallel over tokens. */
void moe_combine_rows(const float *yp, const float *gates, const int *slot_of, const struct kb_shape *s,
                      int threads, float *y);

/* The grouped SwiGLU over expert-contiguous rows (moe.experts, and the middle of the unfused
 * layer), in three parallel passes with materialised intermediates:
 *   gu [T·k, 2·fpad] = xp·[W1|W3] per expert (tasks: expert × column block)
 *   hb [T·k, fpad]   = silu(G) ⊙ U (tasks: rows)
 *   yp [T·k, h]      = hb·W2 per expert (tasks: expert × column block)
 * apack: threads × moe_gemm_scratch_floats(). */
void moe_experts_forward(const struct moe_inputs *in, const struct kb_shape *s, const int *offsets,
                         const float *xp, float *gu, float *hb, float *yp, int threads, float *apack);

/* The kernel stats every routed kernel reports (kb_kernel.stats): moe.load.max, .min, .mean,
 * .imbalance (max/mean), .active (experts with a token) and moe.load.eNNN for each expert when
 * E ≤ 64 (the load histogram). Returns how many were written. */
int moe_load_stats(const int *counts, int experts, struct kb_counter *out, int max);

/* The verdicts of the kernels (shared by the CPU and CUDA implementations, which hand over
 * host copies of their outputs): dispatch (moe_dispatch.c: offsets, perm and slot_of exact,
 * sampled rows of xp bit for bit against x), combine (moe_dispatch.c: sampled tokens in float64
 * from ids, gates and yp), experts (moe_experts.c: sampled slots against the float64 FFN of the
 * expert ids[perm[slot]]) and the layer (moe_layer.c: the routing, then sampled tokens of y
 * [T,h] against the float64 layer; *near_ties receives the choices accepted through the tie
 * window). tolerance bounds the relative L2 error of the float outputs. KB_OK, or KB_ERROR
 * without memory (acc then fails). */
int moe_verify_dispatch(const struct kb_shape *s, const float *x, const int *ids, const int *offsets,
                        const int *perm, const int *slot_of, const float *xp, uint64_t seed,
                        struct kb_accuracy *acc);
int moe_verify_combine(const struct kb_shape *s, const int *ids, const float *gates, const float *yp,
                       const float *y, uint64_t seed, double tolerance, struct kb_accuracy *acc);
int moe_verify_experts(const struct moe_inputs *in, const struct kb_shape *s, const int *ids, const int *perm,
                       const float *xp, const float *yp, uint64_t seed, int threads, double tolerance,
                       struct kb_accuracy *acc);
int moe_verify_layer(const struct moe_inputs *in, const struct kb_shape *s, const struct moe_routing *r,
                     const float *y, uint64_t seed, int threads, double tolerance, struct kb_accuracy *acc,
                     long *near_ties);

/* ---- float64 references (moe_reference.c) --------------------------------------------------- */

/* Tolerance on the relative L2 error of float32 MoE outputs against the float64 reference
 * (gates, combine, experts, layer): verify_default_tolerance(f32) = 1e-4. The layer's dot
 * products run over h and then f terms, the same growth the attention kernels allow for. */
#define MOE_TOLERANCE 1e-4
/* Reference evaluations are budgeted: verify checks at most this many sampled rows (tokens or
 * slots), fewer when one row costs more than MOE_VERIFY_FLOPS / MOE_VERIFY_MIN_ROWS. */
#define MOE_VERIFY_ROWS 256
#define MOE_VERIFY_MIN_ROWS 16
#define MOE_VERIFY_FLOPS 4e9
/* Rows verify checks when one row's reference costs row_flops. */
long moe_verify_rows(long total, double row_flops);

/* Near ties. A float32 kernel and the float64 reference may order two experts whose logits
 * differ by less than the float rounding of the dot product differently; that is not a wrong
 * answer. The reference route of one token therefore compares the kernel's chosen set with its
 * own: each kernel choice must be in the reference top-k, or have a float64 logit within
 * moe_tie_tolerance of the k-th largest. When the choice is accepted the reference computes
 * the gates (and the layer output) for the kernel's experts, so a legitimate flip cannot fail
 * the numeric check; a choice outside the window counts as an exact mismatch and the
 * reference's own experts are used. The window is 32·ε_f32·√h·(Σ_i |x_i·w_ie| + |b_e|), the
 * typical float rounding of a blocked dot product with a wide safety factor (~1e-2 for
 * Mixtral's h = 4096), far below the O(1) logit gaps a wrong pick has. */
struct moe_ref_route {
    int ids[64];       /* the experts the reference evaluates (the kernel's, when accepted) */
    double gates[64];  /* their renormalised gates, float64 */
    int mismatches;    /* kernel choices outside the reference top-k beyond the tie window */
    int near_ties;     /* kernel choices accepted only through the tie window */
};
#define MOE_MAX_TOPK 64
/* Routes token t in float64 and judges the kernel's ids (kernel_ids NULL: no kernel choice,
 * the reference's own). top_k ≤ MOE_MAX_TOPK. */
void moe_reference_route(const struct moe_inputs *in, const struct kb_shape *s, int t,
                         const int *kernel_ids, struct moe_ref_route *out);
/* One expert's SwiGLU FFN on one row x [h] in float64: out [h]. */
void moe_reference_expert_row(const struct moe_inputs *in, const struct kb_shape *s, int e,
                              const float *x, double *out);

#endif
