/* moe.h - the mixture-of-experts family's private interface: shapes, input generation,
 * routing, float64 references, the analytic counts, the operations' verdicts, and the
 * registered implementations. The operations themselves and their operands are public
 * (moe_ops.h, which has the layer's definition); everything a CPU or CUDA implementation of a
 * moe.* operation shares lives here (moe_common.c, moe_reference.c, moe_route.c, moe_op.c; the
 * operations in moe_*_op.c).
 */
#ifndef KB_MOE_H
#define KB_MOE_H

#include "kernels/kernel.h"
#include "kernels/moe/moe_ops.h"
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
extern const struct kb_kernel kb_moe_layer_cuda_ep; /* moe_ep.c: over --span GPUs */
/* sm_90a builds (HAVE_SM90A): the grouped GEMMs on wgmma with TMA (moe_gemm_wgmma.cu) */
extern const struct kb_kernel kb_moe_experts_cuda_wgmma;
extern const struct kb_kernel kb_moe_layer_cuda_wgmma;
/* moe.experts@cuda.wgmma-fp8 (moe_fp8_cuda.c, moe_fp8_wgmma.cu): DeepSeek-V3's block-scaled FP8 */
extern const struct kb_kernel kb_moe_experts_cuda_wgmma_fp8;

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

/* Fills the operation inputs of a case from its seed, each tensor from its own sub-seed (so
 * every operation and implementation sees the same tensor for the same case): x [T,h] from the
 * shape's input distribution, the router W_r [h,E] and b [E] (datasets/generate.h: the routing
 * skew), W1, W3 [E,h,f] N(0, 1/h) and W2 [E,f,h] N(0, 1/f). NULL skips a tensor. In a bf16 case
 * every one but b is rounded to bf16 values (moe_ops.h). */
void moe_generate(const struct kb_shape *s, enum kb_dtype t, uint64_t seed, float *x, float *wr, float *bias,
                  float *w1, float *w3, float *w2);
/* v[i] = the bf16 value nearest v[i] (round to nearest even). */
void moe_round_bf16(float *v, size_t n);

/* The layer's inputs as the CPU kernels see them: the operation's tensors (borrowed, never
 * freed here), and the weights repacked once at setup into the panel layout the GEMM
 * micro-kernel streams (inference engines reformat weights at load time in the same way; it
 * is not part of the timed region):
 *   w13p  per expert, for each ffn chunk c of width w_c (MOE_FC, the last one shorter): the
 *         ceil(w_c/NR) panels of W1's columns of the chunk, then as many of W3's, each panel
 *         [h][NR] (zeros past f). One GEMM against it yields [G_c | U_c] for every chunk.
 *   w2p   per expert, ceil(h/NR) panels [fpad][NR] of W2 (zero rows past f).
 *   wrp   ceil(E/NR) panels [h][NR] of W_r. */
struct moe_inputs {
    const float *x;       /* [T,h] */
    const float *wr;      /* [h,E] router weights */
    const float *bias;    /* [E] router bias (the routing skew) */
    const float *w1, *w3; /* [E,h,f] */
    const float *w2;      /* [E,f,h] */
    float *w13p, *w2p, *wrp; /* owned by moe_pack */
    size_t fpad;   /* f rounded up to MOE_NR */
    size_t hpad;   /* h rounded up to MOE_NR */
    size_t epad;   /* E rounded up to MOE_NR */
};

/* What moe_pack packs. */
enum {
    MOE_PACK_ROUTER = 1,  /* wrp from wr */
    MOE_PACK_EXPERTS = 2, /* w13p, w2p from w1, w3, w2 */
};
/* Sets the paddings and packs the parts `what` from the borrowed tensors. KB_OK or KB_ERROR
 * with a message (nothing stays allocated). */
int moe_pack(struct moe_inputs *in, const struct kb_shape *s, int what, char *err, size_t errlen);
/* Frees what moe_pack allocated and clears in. */
void moe_pack_free(struct moe_inputs *in);
/* Bytes moe_pack allocates for `what`. */
double moe_pack_bytes(const struct kb_shape *s, int what);

/* 64-byte aligned, size rounded up to 64 bytes; free() it. NULL for 0 bytes or failure. */
void *moe_alloc(size_t bytes);
/* Sub-seed `which` of a case seed, for tensors beyond moe_generate's (yp of moe.combine). */
uint64_t moe_sub_seed(uint64_t seed, unsigned which);
enum { MOE_SEED_YP = 6 };

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

/* A whole routing of the case's T tokens: the scratch (owned: logits, apack) and where the
 * routing goes (ids [T,k], gates [T,k], counts [E]: the caller's, usually operation outputs). */
struct moe_routing {
    float *logits; /* [T, epad] scratch */
    float *apack;  /* threads × moe_gemm_scratch_floats() */
    int *ids;
    float *gates;
    int *counts;
    int threads;
};
/* Allocates the scratch (ids, gates, counts left NULL for the caller to set). */
int moe_routing_new(struct moe_routing *r, const struct kb_shape *s, int threads, char *err, size_t errlen);
void moe_routing_free(struct moe_routing *r);
/* Bytes moe_routing_new allocates. */
double moe_routing_bytes(const struct kb_shape *s, int threads);
/* Routes every token (parallel over token blocks) and counts the loads. */
void moe_route_all(const struct moe_inputs *in, const struct kb_shape *s, struct moe_routing *r);

/* Checks a routing against the float64 reference on sampled tokens (moe_verify_rows): the
 * chosen experts (exact, with the near-tie rule below), the gates (added to va) and the counts
 * (exact, against the ids). Adds to *exact_checked / *exact_mismatches / *near_ties; returns the
 * number of tokens checked. */
long moe_verify_routing(const struct moe_inputs *in, const struct kb_shape *s, const int *ids,
                        const float *gates, const int *counts, uint64_t seed, int threads,
                        struct verify_acc *va, long *exact_checked, long *exact_mismatches, long *near_ties);

/* Tokens per expert of a routing: counts [E] from ids [T,k]. */
void moe_count_loads(const int *ids, long assignments, int experts, int *counts);
/* The stable counting sort of the assignments by expert (moe_ops.h): offsets [E+1], perm and
 * slot_of [T·k]. Sequential: it is O(T·k + E), tiny beside the row copies. */
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
 * E ≤ 64 and all E fit in max (the load histogram, whole or not at all). Returns how many were
 * written. */
int moe_load_stats(const int *counts, int experts, struct kb_counter *out, int max);
/* Appends one counter (name, value, unit) when n < max; returns the new count. */
int moe_put_counter(struct kb_counter *out, int n, int max, const char *name, double value, const char *unit);
/* The loads (and near ties when with_ties) of a case, for .stats: counts from the operand at
 * counts_index when >= 0, else from the operation's state
 * (moe_op_state below). */
int moe_case_stats(const struct kb_case *c, int counts_index, int with_ties, struct kb_counter *out, int max);

/* ---- the operations (moe_op.c and the *_op.c files) ----------------------------------------- */

/* What an operation derived at inputs() for its verdict and the implementations' stats
 * (c->io.state). */
struct moe_op_state {
    int *ids;        /* [T,k] the routing the inputs came from (combine, experts) */
    int *perm;       /* [T·k] its stable sort (experts: the expert of a slot is ids[perm[s]]) */
    int *counts;     /* [E] its loads (dispatch, combine, experts) */
    long near_ties;  /* router, layer: expert choices the last verify accepted through the tie
                      * window (written by verify, read by stats) */
};
/* The case's state (NULL for a case of another operation's io). */
static inline struct moe_op_state *moe_op_state_of(const struct kb_operands *io)
{
    return (struct moe_op_state *)io->state;
}
/* Allocates io->state (zeroed, free_state set). KB_OK or KB_ERROR with a message. */
int moe_op_state_new(struct kb_operands *io, char *err, size_t errlen);
/* Adds a tensor to io: f32 or i32, dims as given. -1 with the message on failure. */
int moe_op_add(struct kb_operands *io, const char *name, enum kb_dtype t, int ndim, int64_t d0, int64_t d1,
               int64_t d2, int is_output, char *err, size_t errlen);
/* The routing of the case's x (generated here unless given), W_r and b by the float32 router
 * (the routing moe.layer makes): ids [T,k], gates [T,k] (may be NULL) and counts [E]. */
int moe_op_route(const struct kb_shape *s, enum kb_dtype t, uint64_t seed, const float *x, int *ids, float *gates,
                 int *counts, char *err, size_t errlen);
/* Threads the operations' own untimed host work uses (input derivation). */
int moe_op_threads(void);
/* Rejects a dtype the operations do not define (f32 and bf16 only). */
int moe_op_check_dtype(enum kb_dtype t, char *err, size_t errlen);
/* Tolerance of the float outputs that went through the expert FFN (experts, layer). */
double moe_ffn_tolerance(enum kb_dtype t);
/* Host bytes the routing derivation of moe_op_route needs at most. */
double moe_op_route_bytes(const struct kb_shape *s);

/* The verdicts (moe_*_op.c). tolerance bounds the relative L2 error of the float outputs.
 * KB_OK, or KB_ERROR without memory (acc then fails). */
int moe_verify_dispatch(const struct kb_shape *s, const float *x, const int *ids, const int *offsets,
                        const int *perm, const int *slot_of, const float *xp, uint64_t seed,
                        struct kb_accuracy *acc);
int moe_verify_combine(const struct kb_shape *s, const int *ids, const float *gates, const float *yp,
                       const float *y, uint64_t seed, double tolerance, struct kb_accuracy *acc);
int moe_verify_experts(const struct moe_inputs *in, const struct kb_shape *s, const int *ids, const int *perm,
                       const float *xp, const float *yp, uint64_t seed, int threads, double tolerance,
                       struct kb_accuracy *acc);
int moe_verify_layer(const struct moe_inputs *in, const struct kb_shape *s, const int *ids, const float *gates,
                     const int *counts, const float *y, uint64_t seed, int threads, double tolerance,
                     struct kb_accuracy *acc, long *near_ties);

/* ---- float64 references (moe_reference.c) --------------------------------------------------- */

/* Tolerance on the relative L2 error of float32 MoE outputs against the float64 reference
 * (gates, combine, experts, layer): verify_default_tolerance(f32) = 1e-4. The layer's dot
 * products run over h and then f terms, the same growth the attention kernels allow for. */
#define MOE_TOLERANCE 1e-4
/* moe.experts at e4m3 (DeepSeek-V3's recipe: activations in 1 × 128 blocks, weights in
 * 128 × 128 blocks, a float scale each). Per-block scaling puts each block's largest magnitude at
 * e4m3's 448, so every element is rounded with the format's relative step: 3 mantissa bits, a
 * spacing of 2^-3 of the power of two, at most u = 2^-4 of the value, whatever the K/128 blocks
 * of a row (the scales only move the exponent). As independent errors (uniform over ±u: RMS
 * u/√3), a sum of incoherent products keeps the RMS relative error of its terms. The experts'
 * output carries six roundings: x and W1/W3 in the up projection (the SwiGLU passes relative
 * errors through with a factor near 1), then h and W2: RMS ≤ √6 · u/√3 = √2 · 2^-4 ≈ 0.088. The
 * bound is 2^-3: that estimate with 40% to spare (tests/cuda_emu/moe_fp8.cpp measures 0.063-0.065). */
#define MOE_FP8_TOLERANCE 0.125
/* The FP8 kernel's own check: its output against a float64 evaluation on its dequantized inputs
 * (the e4m3 codes times their scales: xq, W13, the kernel's h codes and W2), so the quantization
 * is no longer error; what remains is the bf16 output (2^-9 relative) and the f32 sums. 2^-8. */
#define MOE_FP8_KERNEL_TOLERANCE (1.0 / 256)

/* ---- the FP8 experts' host-side quantization (moe_fp8.c) --------------------------------------
 * The same rule as the GPU pre-pass (moe_fp8_wgmma.cu): per block, scale = amax / 448 and code =
 * e4m3(x · (448 / amax)) (round to nearest even, saturating; an all-zero block: scale 0, codes
 * 0), so the host quantizes a row exactly as the GPU does. */
#define MOE_FP8_QBLOCK 128
/* A row of `cols` (a multiple of 128) into codes, and its cols/128 scales at scales[kb · stride]. */
void moe_fp8_quantize_row(const float *x, int cols, uint8_t *codes, float *scales, long stride);
/* One expert's W1, W3 [h][f] as the K-major, 8-column-interleaved w13 [2f][h] (moe_cuda.h's w13t)
 * in e4m3 with scales [2f/128][h/128]; h and f multiples of 128. KB_OK, or KB_ERROR (out of
 * memory). */
int moe_fp8_quantize_w13(const float *w1, const float *w3, int h, int f, uint8_t *codes, float *scales);
/* One expert's W2 [f][h] as the K-major w2 [h][f] in e4m3, scales [h/128][f/128]; likewise. */
int moe_fp8_quantize_w2(const float *w2, int f, int h, uint8_t *codes, float *scales);
/* The quantizer's codes q [rows][cols] and scales [cols/128][rows] against the host rule applied
 * to x (float32 rows x_f32, or bf16 rows x_bf16 when x_f32 is NULL): the 128-blocks whose codes
 * differ plus the scales that differ (0: bit for bit). */
long moe_fp8_quantizer_mismatches(const float *x_f32, const uint16_t *x_bf16, long rows, int cols, const uint8_t *q,
                                  const float *scale);
/* The FP8 experts' operands as the kernel read them, for float64 evaluations on the dequantized
 * codes: the activations (xq, xs: the up projection's A; hq, hs: the down projection's) and one
 * expert's weights (w13 [2f][h], s13 [2f/128][h/128]; w2 [h][f], s2 [h/128][f/128]). */
struct moe_fp8_operands {
    const uint8_t *xq, *hq, *w13, *w2;
    const float *xs, *hs, *s13, *s2;
    long slots;
    int h, f;
};
/* Row r (of the expert whose weights o holds) in float64 on the dequantized codes: hrow [f] =
 * SwiGLU(xq·W13) (the gate and up columns of w13's 8-column interleave), yrow [h] = hq·W2.
 * Parallel over the row's outputs on `threads` threads. */
void moe_fp8_reference_row(const struct moe_fp8_operands *o, long r, int threads, double *hrow, double *yrow);

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
