/* ssd.h - attention.ssd (ssd_ops.h) inside the family: the shape rule, the counts, the input
 * generator's constants, the two float64 references and the registered implementations. */
#ifndef KB_SSD_H
#define KB_SSD_H

#include <stddef.h>

#include "kernels/kernel.h"

extern const struct kb_kernel kb_attention_ssd_recurrent; /* @cpu.recurrent: the scan, SIMD step */
extern const struct kb_kernel kb_attention_ssd_chunked;   /* @cpu.chunked: Mamba-2's chunked SSD */

/* Makes a set-up case of either CPU kernel use the named SIMD path ("avx512", "avx2",
 * "scalar"); 0, or -1 when this CPU cannot run it. */
struct kb_case;
int ssd_cpu_use_path(struct kb_case *c, const char *name);

/* Chunks longer than this are refused: the chunked form's c×c block per thread stays small. */
#define SSD_MAX_CHUNK 512
/* float32 relative-L2 bound: every weight the scan applies is a product of decays ≤ 1 and the
 * sums are of O(N_eff) signed terms, so float32 rounding stays near 1e-6; ample margin. */
#define SSD_TOLERANCE_F32 1e-4

/* The operands as typed pointers (not owned). T = N (+1 in decode) tokens. */
struct ssd_view {
    const float *x;  /* [B,H,T,P] */
    const float *dt; /* [B,H,T] */
    const float *A;  /* [H] */
    const float *b;  /* [B,G,T,S] */
    const float *c;  /* [B,G,T,S] */
};

/* The groups G of a checked shape (kv_heads; unset: one per head, as the planner sets it). */
static inline int ssd_groups(const struct kb_shape *s)
{
    return s->kv_heads > 0 ? s->kv_heads : s->heads;
}
/* The tokens the inputs hold: N, or N + 1 in decode. */
static inline int ssd_tokens(const struct kb_shape *s)
{
    return s->seq_len + (s->decode ? 1 : 0);
}

/* Positive sizes, state 1..1024, groups dividing heads (kv_heads 0 becomes heads), chunk
 * 1..SSD_MAX_CHUNK, causal/decode 0 or 1. KB_OK or KB_UNSUPPORTED with a message. */
int ssd_check_shape(struct kb_shape *s, char *err, size_t errlen);

/* A_h = −2^(−4 + 8h/H). */
double ssd_A(int h, int heads);
/* dt = softplus(u), u ~ N(SSD_DT_MEAN, SSD_DT_STD²). */
#define SSD_DT_MEAN (-3.0)
#define SSD_DT_STD 0.5

/* Useful FLOPs (multiply-add = 2), the catalogue's: B·H·(4·N·S·P + 2·N·C·(S + P)) prefill
 * (the chunked form's in-chunk work credited, C = min(chunk, N)), twice that bidirectional;
 * decode 5·B·H·S·P (decay, input outer product, output). */
double ssd_flops(const struct kb_shape *s);
/* Compulsory bytes: s·B·N·(2·H·P + 2·G·S) + 4·B·N·H (dt); decode: the float32 state read and
 * written, 8·B·H·S·P, plus one token's operands. */
double ssd_bytes(const struct kb_shape *s, enum kb_dtype t);

/* Float64 reference of head (b, h) by the recurrence (the definition), over the first
 * `tokens` tokens of the operands laid out for shape s (its seq_len and decode give T):
 * causal (or decode) forward scan, else forward + backward − diagonal. Writes rows
 * [0, tokens) of P doubles into out (tokens·P). 0, or -1 when out of memory. */
int ssd_reference_recurrent(const struct kb_shape *s, const struct ssd_view *v, int b, int h, int tokens,
                            double *out);
/* Causal rows rows[0..nrows) (ascending, < T) of head (b, h) by the same recurrence, forward
 * only, restarted from a zero state wherever everything before a row's first relevant token
 * weighs less than 2^-80 on it (exp(A Σ dt) over the tokens between): verify's reference at long
 * N, exact to float64 rounding. Writes nrows·P doubles. 0, or -1 when out of memory. */
int ssd_reference_rows(const struct kb_shape *s, const struct ssd_view *v, int b, int h, const long *rows, int nrows,
                       double *out);
/* The same outputs by the materialised matrix form y = (M ∘ ...) X, M_ts = (C_t·B_s)·L_ts·dt_s
 * (and R_ts for s > t bidirectional), built explicitly as a tokens×tokens float64 matrix: the
 * cross-check of the recurrence (quadratic: for tests at small sizes). 0 or -1 (memory). */
int ssd_reference_matrix(const struct kb_shape *s, const struct ssd_view *v, int b, int h, int tokens,
                         double *out);

/* The operands of a case as a view. */
struct kb_operands;
struct ssd_view ssd_view_of(const struct kb_operands *io);

/* Exact per-step helpers every implementation shares: the group a head reads and the offsets. */
static inline size_t ssd_x_off(const struct kb_shape *s, int b, int h, int tokens)
{
    return ((size_t)b * s->heads + h) * (size_t)tokens * s->head_dim;
}
static inline size_t ssd_dt_off(const struct kb_shape *s, int b, int h, int tokens)
{
    return ((size_t)b * s->heads + h) * (size_t)tokens;
}
static inline size_t ssd_bc_off(const struct kb_shape *s, int b, int h, int tokens)
{
    int g = h / (s->heads / ssd_groups(s));
    return ((size_t)b * ssd_groups(s) + g) * (size_t)tokens * s->state;
}

#endif
