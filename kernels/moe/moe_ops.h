/* moe_ops.h - the mixture-of-experts operations: what each step of a MoE layer computes, its
 * operands and their layouts. Implementations (built in or plugins) read the inputs and write
 * the outputs at the indices below; the operations generate the inputs, count FLOPs and bytes
 * and verify against float64.
 *
 * The layer, for T tokens x_t [h], E experts, top_k = k:
 *   router    l_t = x_t·W_r + b                  W_r [h,E], b [E] (b sets the routing skew)
 *             ids_t = the k largest l_t,e        (descending; ties → the lower expert id)
 *             g_t,j = exp(l_t,ids_j) / Σ_i exp(l_t,ids_i)
 *   dispatch  a stable counting sort of the T·k assignments (t, j) by expert: offsets [E+1],
 *             perm [T·k] (slot → assignment t·k + j), slot_of [T·k] (its inverse), and the
 *             gathered rows xp [T·k, h] (xp[s] = x[perm[s] / k])
 *   experts   for each expert e, the rows of its slots: yp = (silu(xp·W1_e) ⊙ (xp·W3_e))·W2_e
 *             W1, W3 [E,h,f], W2 [E,f,h] (SwiGLU; silu(z) = z / (1 + e^-z))
 *   combine   y_t = Σ_j g_t,j · yp[slot_of[t·k + j]]
 *
 * Dtypes. Every float tensor is stored as float32 and every index tensor as int32, row-major,
 * whatever the case's dtype. In an f32 case the inputs are float32 values; in a bf16 case the
 * inputs x, W_r, W1, W3, W2 and yp hold values exactly representable in bf16 (the float32
 * draw rounded to nearest even), so a bf16 kernel converts them without loss, and the
 * reference measures the kernel's own error. The router bias stays float32 in both. Outputs
 * are float32 (y, yp, xp, gates) or int32 (ids, counts, offsets, perm, slot_of) in both.
 *
 * Routing inputs (ids of moe.dispatch; gates and slot_of of moe.combine; xp and offsets of
 * moe.experts) are the float32 router's routing of the case's own x, W_r and b: the routing
 * moe.layer would make, so the steps see what they would see inside the layer.
 *
 * Tolerances (relative L2 against float64): gates, combine, dispatch 1e-4 in both dtypes;
 * experts and layer 1e-4 (f32) and 2e-2 (bf16: activations are rounded between projections).
 * Expert choices are exact up to a near-tie window (two experts whose logits differ by less
 * than float rounding may be ordered either way); dispatch's offsets, perm and slot_of are
 * exact and xp bit for bit; counts exact against the ids.
 */
#ifndef KB_MOE_OPS_H
#define KB_MOE_OPS_H

#include "kernels/kernel.h"

/* moe.router: logits, top-k, renormalised gates, tokens per expert. */
extern const struct kb_operation kb_op_moe_router;
enum {
    KB_MOE_ROUTER_X,      /* in  f32 [T,h] tokens */
    KB_MOE_ROUTER_WR,     /* in  f32 [h,E] router weights */
    KB_MOE_ROUTER_BIAS,   /* in  f32 [E] router bias */
    KB_MOE_ROUTER_IDS,    /* out i32 [T,k] chosen experts, descending logit, ties → lower id */
    KB_MOE_ROUTER_GATES,  /* out f32 [T,k] renormalised gates, in the order of ids */
    KB_MOE_ROUTER_COUNTS, /* out i32 [E] tokens routed to each expert */
};

/* moe.dispatch: the stable counting sort and the row gather. */
extern const struct kb_operation kb_op_moe_dispatch;
enum {
    KB_MOE_DISPATCH_X,       /* in  f32 [T,h] tokens */
    KB_MOE_DISPATCH_IDS,     /* in  i32 [T,k] the routing */
    KB_MOE_DISPATCH_OFFSETS, /* out i32 [E+1] first slot of each expert; offsets[E] = T·k */
    KB_MOE_DISPATCH_PERM,    /* out i32 [T·k] slot → assignment t·k + j (stable: token order) */
    KB_MOE_DISPATCH_SLOT_OF, /* out i32 [T·k] assignment → slot (perm's inverse) */
    KB_MOE_DISPATCH_XP,      /* out f32 [T·k,h] xp[s] = x[perm[s] / k], bit for bit */
};

/* moe.combine: the gate-weighted sum back to token order. */
extern const struct kb_operation kb_op_moe_combine;
enum {
    KB_MOE_COMBINE_YP,      /* in  f32 [T·k,h] expert outputs in slot order, N(0,1) */
    KB_MOE_COMBINE_GATES,   /* in  f32 [T,k] the routing's gates */
    KB_MOE_COMBINE_SLOT_OF, /* in  i32 [T·k] assignment t·k + j → its slot (the stable sort's) */
    KB_MOE_COMBINE_Y,       /* out f32 [T,h] */
};

/* moe.experts: the SwiGLU FFN of each expert over its group of rows. */
extern const struct kb_operation kb_op_moe_experts;
enum {
    KB_MOE_EXPERTS_XP,      /* in  f32 [T·k,h] rows in expert order (dispatched tokens) */
    KB_MOE_EXPERTS_OFFSETS, /* in  i32 [E+1] rows [offsets[e], offsets[e+1]) belong to expert e */
    KB_MOE_EXPERTS_W1,      /* in  f32 [E,h,f] gate projection, N(0, 1/h) */
    KB_MOE_EXPERTS_W3,      /* in  f32 [E,h,f] up projection, N(0, 1/h) */
    KB_MOE_EXPERTS_W2,      /* in  f32 [E,f,h] down projection, N(0, 1/f) */
    KB_MOE_EXPERTS_YP,      /* out f32 [T·k,h] */
};

/* moe.layer: router, dispatch, experts and combine. The routing is an output too. */
extern const struct kb_operation kb_op_moe_layer;
enum {
    KB_MOE_LAYER_X,      /* in  f32 [T,h] */
    KB_MOE_LAYER_WR,     /* in  f32 [h,E] */
    KB_MOE_LAYER_BIAS,   /* in  f32 [E] */
    KB_MOE_LAYER_W1,     /* in  f32 [E,h,f] */
    KB_MOE_LAYER_W3,     /* in  f32 [E,h,f] */
    KB_MOE_LAYER_W2,     /* in  f32 [E,f,h] */
    KB_MOE_LAYER_IDS,    /* out i32 [T,k] as moe.router's */
    KB_MOE_LAYER_GATES,  /* out f32 [T,k] */
    KB_MOE_LAYER_COUNTS, /* out i32 [E] */
    KB_MOE_LAYER_Y,      /* out f32 [T,h] */
};

#endif
