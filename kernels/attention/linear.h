/* linear.h - the linear-attention part of the attention family: attention.linear (feature-map
 * linear attention: non-causal, causal chunked with optional per-head decay, decode step),
 * attention.gla (gated linear attention, data-dependent per-channel decay) and the library
 * baseline attention.softmax@cpu.blas. The definitions, analytic counts and float64 references
 * live here (linear_common.c) so a CUDA implementation can share them with the CPU ones.
 *
 * Definitions (float64 is the reference; every kernel reads the family's float32 Q, K, V):
 *
 *   attention.linear, feature map φ (elu1: elu(x)+1, relu: max(x, 0)), per-head decay λ_h
 *   (1 without the decay axis), weights w_is = λ_h^(i−s) · φ(q_i)·φ(k_s) over the keys s the
 *   row sees (all of them non-causal, s ≤ i causal):
 *       o_i = Σ_s w_is v_s / Σ_s w_is            (o_i = 0 where Σ_s w_is = 0)
 *   This is φ(Q)(φ(K)ᵀV) with its normaliser φ(Q)(φ(K)ᵀ1); with decay it is the normalised
 *   form of RetNet / TransNormerLLM's o_i = Σ_{s≤i} λ^(i−s) q_i k_sᵀ v_s (the same decay
 *   weights in numerator and denominator, so o_i stays a weighted mean of the values).
 *   Decay is defined for causal order only (it needs "older"); decay without causal is refused.
 *
 *   λ_h = 1 − 2^(−5 − 8h/H)  for query head h of H: RetNet's γ_h = 1 − 2^(−5−h) at H = 8,
 *   spread over the same range (memory spans 32 … 4096 tokens) for any head count.
 *
 *   Decode (decode axis 1): the inputs hold N + 1 tokens; setup builds the state of the first
 *   N (S = Σ_{s<N} λ^(N−1−s) φ(k_s)ᵀ v_s, z = Σ_{s<N} λ^(N−1−s) φ(k_s)) and run takes the one
 *   step of token N: S' = λS + φ(k_N)ᵀ v_N, z' = λz + φ(k_N), o_N = φ(q_N)S' / φ(q_N)·z'.
 *   Its reference is row N of the causal definition above over the N + 1 tokens.
 *
 *   attention.gla: log-gates G = log α [B,H,N,d], α = sigmoid(x)^(1/τ), τ = 16 (GLA paper),
 *   x ~ N(0,1) seeded per case; always causal; q scaled by 1/√d:
 *       S_t = diag(α_t) S_{t−1} + k_tᵀ v_t,   o_t = (q_t/√d) S_t
 *   i.e. o_i = Σ_{s≤i} Σ_p (q_ip/√d) k_sp exp(Σ_{t=s+1..i} G_tp) v_s.
 */
#ifndef KB_LINEAR_H
#define KB_LINEAR_H

#include "kernels/attention/attention.h"
#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_linear_cpu;       /* chunked, SIMD, threads */
extern const struct kb_kernel kb_attention_linear_naive;     /* masked quadratic, N×N */
extern const struct kb_kernel kb_attention_gla_cpu;          /* chunkwise gated */

/* The GLA gate temperature: α = sigmoid(x)^(1/GLA_TAU). */
#define GLA_TAU 16.0
/* Chunks longer than this are refused by attention.gla: inside a chunk the kernel scales keys
 * by exp(−Σ log α), which must stay inside float's range (|Σ log α| < 88). With τ = 16 and
 * normal gate logits a step averages log α ≈ −0.05, so 512 steps stay far from the edge. */
#define GLA_MAX_CHUNK 512

/* Pass/fail bound on the relative L2 error of a float32 kernel against float64 (the harness's
 * float32 default). The weights are non-negative, so o_i is a weighted mean and float32
 * rounding alone stays near 1e-6; GLA has signed weights but no normaliser and the same bound
 * holds with a wide margin at d <= 256. */
#define LINEAR_TOLERANCE_F32 1e-4

/* λ_h = 1 − 2^(−5 − 8h/H). */
double linear_decay_lambda(int h, int heads);
/* φ(x) of the feature map (enum kb_feature_map). */
double linear_feature_f64(int feature, double x);
float linear_feature_f32(int feature, float x);

/* Checks a linear-attention shape (attention_check_shape plus chunk >= 1, a known feature map,
 * decay 0/1 and only with causal or decode). Fills kv_heads. KB_OK or KB_UNSUPPORTED + message. */
int linear_check_shape(struct kb_shape *s, char *err, size_t errlen);
/* The same for attention.gla: causal by definition, chunk in 1..GLA_MAX_CHUNK. */
int gla_check_shape(struct kb_shape *s, char *err, size_t errlen);

/* Useful FLOPs of the operation (multiply-add = 2, d_k = d_v = d), the same for every
 * implementation: 4·B·H·N·d² + 4·B·H·N·d prefill (causal or not: the recurrent form's count; a
 * chunked or quadratic algorithm's extra work is not credited), 4·B·H·d² + 4·B·H·d per decode
 * token. */
double linear_flops(const struct kb_shape *s);
/* Compulsory bytes: Q,K,V,O once, s·B·N·d·(2H + 2H_kv); decode: the fp32 state read and
 * written, 8·B·H·d² (+ the z vector), plus one token's q,k,v,o. */
double linear_bytes(const struct kb_shape *s, enum kb_dtype t);
/* B·H·(4·N·d² + 2·N·C·2d) + B·H·N·C·d gate work. */
double gla_flops(const struct kb_shape *s);
/* s·B·N·d·(2H + 2H_kv) + s·B·H·N·d (the gates). */
double gla_bytes(const struct kb_shape *s, enum kb_dtype t);

/* Float64 reference of one output row (b, h, i) of attention.linear by its masked-quadratic
 * definition (weights computed directly, no state); the shape's causal flag picks the keys.
 * With decay, keys whose weight factor λ^(i−s) is below 2^-80 are skipped (they change no
 * float64 digit that float32 output could show). Writes d doubles. */
void linear_reference_row(const struct kb_shape *s, const float *q, const float *k,
                          const float *v, int b, int h, int i, double *out);
/* The same for several rows of one head at once (one walk over the keys): rows[0..nrows) are
 * row indices, out receives nrows·d doubles. */
void linear_reference_rows(const struct kb_shape *s, const float *q, const float *k,
                           const float *v, int b, int h, const int *rows, int nrows, double *out);
/* A second, independently structured float64 definition: the causal recurrence
 * S_t = λS_{t−1} + φ(k_t)ᵀv_t, z_t = λz_{t−1} + φ(k_t), o_t = φ(q_t)S_t / φ(q_t)·z_t, in long
 * double, for every row of head (b, h): writes N·d doubles. Non-causal shapes get the
 * final state applied to every row. */
void linear_reference_recurrent(const struct kb_shape *s, const float *q, const float *k,
                                const float *v, int b, int h, double *out);

/* attention.linear's verification (linear_op.c): compares o (laid out [B,H,N,d], [B,H,1,d] in
 * decode) with linear_reference_rows on the rows verify_sample_rows(rows, ATTENTION_VERIFY_ROWS,
 * seed) picks (every (b, h) in decode), judged against tol (LINEAR_TOLERANCE_F32 for float32,
 * verify_default_tolerance for the 16-bit dtypes, whose inputs the operation rounded). */
int linear_verify_output_tol(const struct kb_shape *s, const struct attention_inputs *in, const float *o,
                             uint64_t seed, int threads, double tol, struct kb_accuracy *acc);

/* A float64 reference of several rows of one head (linear_reference_rows' signature). */
typedef void (*linear_rows_fn)(const struct kb_shape *s, const float *q, const float *k, const float *v, int b,
                               int h, const int *rows, int nrows, double *out);
/* linear_verify_output_tol with another operation's reference (attention.lightning's), the
 * same sampled rows, the same decode rule (row N of N + 1 tokens), one reference walk per head. */
int linear_verify_rows_tol(const struct kb_shape *s, const struct attention_inputs *in, const float *o,
                           uint64_t seed, int threads, double tol, linear_rows_fn reference_rows,
                           struct kb_accuracy *acc);

/* The operands of attention.linear and attention.lightning (linear_ops.h): "q", "k", "v" of N
 * tokens (N + 1 in decode: the cached tokens and the new one, drawn together) and the output
 * "o" of N rows (1 in decode) as KB_LIN_O. KB_OK or KB_ERROR with a message. */
int linear_decode_operands_add(struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                               char *err, size_t errlen);
/* Those operands' bytes plus verify's float64 rows: both operations' footprint. */
double linear_decode_op_footprint(const struct kb_shape *s, enum kb_dtype t);

/* Allocates the GLA log-gates [B,H,N,d] (64-byte aligned, padded as attention inputs) from seed:
 * log α = logsigmoid(x)/τ, x ~ N(0,1). NULL when out of memory. */
float *gla_gates_new(const struct kb_shape *s, uint64_t seed);
/* Float64 reference of GLA row (b, h, i): the closed form with cumulative log-gates, walking
 * the keys from i backwards and stopping once every channel's decay is below 2^-80. */
void gla_reference_row(const struct kb_shape *s, const float *q, const float *k, const float *v,
                       const float *g, int b, int h, int i, double *out);
/* The recurrence S_t = diag(α_t)S_{t−1} + k_tᵀv_t in long double for every row of (b, h). */
void gla_reference_recurrent(const struct kb_shape *s, const float *q, const float *k,
                             const float *v, const float *g, int b, int h, double *out);

#endif
