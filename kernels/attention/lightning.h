/* lightning.h - attention.lightning, the un-normalised decayed linear attention of Lightning
 * Attention, RetNet and fla's chunk_simple_gla (public operands: linear_ops.h). Its shape rule,
 * counts and float64 references (lightning_common.c), shared by the CPU and CUDA kernels.
 *
 *   o_i = scale · Σ_{s≤i} λ_h^(i−s) (q_i·k_s) v_s,   scale = 1/√d,   λ_h = linear_decay_lambda(h, H)
 *
 * equivalently the recurrence S_t = λ_h S_{t−1} + k_tᵀ v_t (d×d), o_t = scale · q_t S_t. Always
 * causal; no feature map, no normaliser. attention.linear with decay = 1 is the normalised
 * form of the same weights (its o_i is a weighted mean of the values; this o_i is the weighted
 * sum, signed weights, scaled): the two differ by the row's normaliser and the feature map.
 *
 * Decode (decode = 1): the inputs hold N + 1 tokens, the output is token N's row; the state of
 * the first N tokens is the implementation's to build in setup.
 */
#ifndef KB_LIGHTNING_H
#define KB_LIGHTNING_H

#include "kernels/attention/attention.h"
#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_lightning_cpu; /* chunked, SIMD, threads; decode step */

/* Pass/fail bound on the relative L2 error of a float32 kernel against float64. The weights
 * are signed and un-normalised (GLA's case), but each output row is a sum of products the
 * kernel forms in float32 without cancellation beyond the float64 value's own; 1e-4 holds with
 * a wide margin at d <= 256 (as attention.gla's bound). */
#define LIGHTNING_TOLERANCE_F32 1e-4

/* Make a set-up attention.lightning@cpu case use the named SIMD path (linear_isa.h); 0, or -1
 * when this CPU cannot run it (tests compare paths). */
int lightning_cpu_use_path(struct kb_case *c, const char *name);

/* scale = 1/√d. */
double lightning_scale(int head_dim);

/* attention_check_shape plus chunk >= 1 (chunk 0 is accepted when allow_unset_chunk: the
 * operation's own check; the chunked kernels need one) and decode 0/1. Fills kv_heads.
 * KB_OK or KB_UNSUPPORTED with a message. */
int lightning_check_shape(struct kb_shape *s, int allow_unset_chunk, char *err, size_t errlen);

/* The recurrent form's FLOPs: 4·B·H·N·d² prefill (k⊗v into the state, q·S), 4·B·H·d² per
 * decode token. A chunked algorithm's in-chunk products are its own cost, not credited. */
double lightning_flops(const struct kb_shape *s);
/* Compulsory bytes: Q, K, V, O once; decode: the fp32 state read and written (8·B·H·d²) and
 * one token's q, k, v, o. */
double lightning_bytes(const struct kb_shape *s, enum kb_dtype t);

/* Float64 reference of rows rows[0..nrows) of head (b, h) by the direct sum of the definition
 * (no state): for each row i the keys s ≤ i whose λ^(i−s) is at least 2^-80 (older ones change
 * no float64 digit a float32 output could show). out receives nrows·d doubles. The shape's
 * seq_len is the number of tokens in q, k, v. */
void lightning_reference_rows(const struct kb_shape *s, const float *q, const float *k, const float *v, int b,
                              int h, const int *rows, int nrows, double *out);
/* The second, independently structured definition: the recurrence S_t = λS_{t−1} + k_tᵀv_t,
 * o_t = scale · q_t S_t in long double for every row of head (b, h) (no cut-off): N·d doubles. */
void lightning_reference_recurrent(const struct kb_shape *s, const float *q, const float *k, const float *v, int b,
                                   int h, double *out);

#endif
