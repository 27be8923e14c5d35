/* int8.h - attention.int8 (SageAttention-style): the quantization recipe, its scalar emulation
 * and the SIMD micro-kernels of the CPU implementation.
 *
 * Recipe (per (batch, head), float32 inputs [B,H,N,d] / [B,H_kv,N,d]):
 *   1. smooth K: subtract its mean over all N tokens, per KV head and channel (float64 sums
 *      of INT8_MEAN_CHUNK consecutive tokens each, in token order, then those sums in order,
 *      divided by N and rounded to float: an order a GPU can run in parallel and a CPU can
 *      repeat bit for bit). Softmax is invariant to it:
 *      q·(k − μ) = q·k − q·μ shifts every score of a query row by the same amount.
 *   2. quantize Q and K symmetrically per block of INT8_BLOCK tokens of one head:
 *      scale = max|x| / 127 (float), code = clamp(nearbyint(x · (127 / max|x|)), −127, 127),
 *      an all-zero block has scale 0 and codes 0. Codes never reach −128, so the AVX2 path's
 *      maddubs pairs (|q|·(±k) + |q|·(±k) ≤ 2·127·127 < 2^15) cannot saturate.
 *   3. quantize V symmetrically per channel over all N tokens of a KV head (the same rule:
 *      scale = max|v| / 127, codes in [−127, 127]).
 *   4. S = (Q₈·K₈ᵀ) in int32 exactly, dequantized as (float)acc · (s_q · s_k), then the online
 *      softmax in float32 per key block of FLASH_BC keys; the block's probabilities (≤ 1 after
 *      the running maximum is subtracted) are quantized per row and block to unsigned 7-bit
 *      codes, code = min(127, nearbyint(p · 127 / p_max)) with p_max = 2^(block max − running
 *      max), scale s_p = p_max / 127; P₈·V₈ in int32 exactly (vpdpbusd: P is its unsigned
 *      operand as it stands; 7 bits keep AVX2's vpmaddubsw pairs below 2^15), then
 *      O ← α·O + (float)acc · s_p in float32 (the two-level accumulation: int32 within a
 *      block, float32 across blocks) and finally O · s_v[c] / l.
 * The emulation below is the plain scalar definition of the integer part, so the check can
 * compare the kernel's codes, scales and int32 products (QKᵀ and P·V) bit for bit.
 *
 * Quantization (steps 1–3) is done by setup, outside the timed region, and timed there on its
 * own (stats: int8.quantize_s): the stored latency is the attention kernel alone, as
 * SageAttention's kernel benchmark times it; the quantization time is stored beside it.
 */
#ifndef KB_ATTENTION_INT8_H
#define KB_ATTENTION_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/cpu_features.h"

/* What each SIMD path of the INT8 scores needs (kernels/cpu_features.h decides). */
#define INT8_AVX512_NEEDS (KB_CPU_AVX512F | KB_CPU_AVX512VNNI)
#define INT8_AVXVNNI_NEEDS (KB_CPU_AVX2 | KB_CPU_AVXVNNI)
#define INT8_AVX2_NEEDS KB_CPU_AVX2

#define INT8_BLOCK 64 /* tokens per quantization block, for Q and for K */
/* Tokens per partial sum of K's channel mean. Any fixed size gives a bit-exact definition; one
 * sum per 64 tokens gives a GPU thousands of independent chains instead of one per channel. */
#define INT8_MEAN_CHUNK 64

/* Partial sums per channel of a head's K: ceil(n / INT8_MEAN_CHUNK). */
static inline int int8_mean_chunks(int n)
{
    return (n + INT8_MEAN_CHUNK - 1) / INT8_MEAN_CHUNK;
}

extern const struct kb_kernel kb_attention_int8_cpu;

/* Channels padded to a multiple of 4 (the 4-byte groups of the dot-product instructions). */
static inline int int8_padded_dim(int d)
{
    return (d + 3) / 4 * 4;
}

/* Per-channel mean of K [n][d] over its n tokens (step 1's order of float64 sums), rounded. */
void int8_channel_mean(const float *k, int n, int d, float *mean);
/* One block of `rows` tokens of X [rows][d] (minus `shift` [d] per channel when not NULL) to
 * codes [rows][dq] (dq = int8_padded_dim(d), zero-padded); returns the block's scale. The
 * definition the kernel must match bit for bit. */
float int8_quantize_block(const float *x, int rows, int d, const float *shift, int8_t *codes);
/* V [n][d] of one head per channel: scale[c] = max_t |v[t][c]| / 127, codes [n][d] (row-major). */
void int8_quantize_channels(const float *v, int n, int d, int8_t *codes, float *scale);
/* Σ_c a[c]·b[c] of two code rows, exactly. */
int32_t int8_dot(const int8_t *a, const int8_t *b, int dq);

/* ---- FP8 P·V (attention.int8@cuda.wgmma-fp8, SageAttention2's step) --------------------------
 * V quantized per channel over all N tokens of a KV head to OCP e4m3 (kernels/quant/fp8.h):
 * absmax = max_t |v[t][c]| (float), inv = 448 / absmax, scale = absmax / 448 (float divisions),
 * code = e4m3(v · inv) rounded to nearest even and saturating; absmax 0: scale 0, codes of
 * v · 0. The codes are stored transposed, Vᵀ [d][int8_fp8_v_keys(N)], with the keys of each
 * group of 32 permuted: position p of a group holds key int8_fp8_pv_key(p) of it (the order in
 * which the wgmma's 8-bit A fragment takes P straight from the f32 accumulator of S; the
 * derivation is in kernels/attention/fp8_pv.cuh); positions of keys ≥ N hold code 0. P (≤ 1
 * after the softmax) is rounded to e4m3 as P · INT8_FP8_MAX. */
#define INT8_FP8_MAX 448.0f /* e4m3's largest finite value */
/* The key tiles of the FP8 P·V: 128 keys. Each work tile's last one (causal: the diagonal; not
 * causal: the last, ragged one) is multiplied on V's f16 input by default (fp8_pv.cuh): the
 * keys from (keys − 1) / 128 · 128 on of a row that sees `keys` keys. */
#define INT8_FP8_PV_TILE 128
/* Keys of a row of Vᵀ: N rounded up to whole tiles of 128 keys. */
static inline int int8_fp8_v_keys(int n)
{
    return (n + 127) / 128 * 128;
}
/* The key (0..31) at position p (0..31) of a group: p = 16h + 4t + e -> 16h + 8(e/2) + 2t + e%2. */
static inline int int8_fp8_pv_key(int p)
{
    return 16 * (p / 16) + 8 * ((p % 4) / 2) + 2 * ((p % 16) / 4) + p % 2;
}
/* V [n][d] of one KV head to its transposed, permuted e4m3 codes vt [d][int8_fp8_v_keys(n)]
 * and channel scales scale [d], as above: the definition the pre-pass must match bit for bit. */
void int8_fp8_quantize_v(const float *v, int n, int d, uint8_t *vt, float *scale);
/* attention.flash@cuda.wgmma-fp8's Q and K: one block of `rows` tokens of X [rows][d] (minus
 * `shift` [d] per channel when not NULL, K's channel mean as in step 1) to e4m3 codes [rows][d]
 * by the rule of V above with the block's absmax; returns the block's scale (absmax / 448). */
float int8_e4m3_quantize_block(const float *x, int rows, int d, const float *shift, uint8_t *codes);

/* ---- CPU micro-kernels (int8_cpu*.c) ----------------------------------------------------- */

/* K of one head packed in panels of 16 keys: panel p holds keys 16p..16p+15 as
 * [dq/4][16 keys][4 channels] bytes, so one 64-byte load is 16 keys × 4 channels. */
#define INT8_KP 16
/* V of one head packed for P·V: [ceil(n/4) groups of 4 keys][dv channels][4 keys] bytes, dv =
 * d rounded up to 16, so one 64-byte load is 16 channels × 4 keys. */
static inline int int8_v_channels(int d)
{
    return (d + 15) / 16 * 16;
}

struct int8_isa {
    const char *name; /* "avx512vnni", "avxvnni", "avx2", "scalar" */
    /* 0x80: scores reads the Q codes XOR 0x80 (q + 128, vpdpbusd's unsigned operand, made once
     * in setup); 0: the signed codes */
    unsigned char q_xor;
    /* acc[r][j] = Σ_c q[r][c]·k_j[c] exactly (q as q_xor says), for r < rows (a multiple of 6) and the 16·npan
     * keys of the panels; q rows have dq bytes; ksum[j] = Σ_c k_j[c] for those keys (paths that
     * bias q to unsigned need it); acc row stride `ldacc`. */
    void (*scores)(const int8_t *q, int dq, int rows, const int8_t *kpan, int npan, const int32_t *ksum,
                   int32_t *acc, int ldacc);
    /* s[j] = (float)acc[j] · scale for j < n (a multiple of 16). */
    void (*dequant)(const int32_t *acc, int n, float scale, float *s);
    /* codes[j] = min(127, nearbyint(p[j] · inv)) for j < n (a multiple of 16), p[j] ≥ 0. */
    void (*pquant)(const float *p, int n, float inv, uint8_t *codes);
    /* For r < rows (a multiple of 6): o[r][c] = alpha[r]·o[r][c] + (float)acc · sp[r] for c < dv,
     * acc = Σ_{g < groups} Σ_{t<4} p[r][4g + t] · v[g][c][t] exactly in int32; p rows ldp bytes
     * apart, v packed as above with dv channels. */
    void (*pv)(const uint8_t *p, int ldp, int rows, int groups, const int8_t *v, int dv, float *o, int ldo,
               const float *alpha, const float *sp);
};

extern const struct int8_isa int8_isa_scalar;
#if defined(__x86_64__)
extern const struct int8_isa int8_isa_avx2;
extern const struct int8_isa int8_isa_avxvnni;
extern const struct int8_isa int8_isa_avx512vnni;
#endif

/* The named path when this CPU runs it, else NULL; NULL name: the fastest. */
const struct int8_isa *int8_isa_get(const char *name);
/* Tests: make a set-up case use the named path (0, or −1 when this CPU cannot), turn the K
 * smoothing off (the planted variant that shows what smoothing buys), or corrupt one Q code
 * after a run (which the bit-exact check must catch). */
int int8_cpu_use_path(struct kb_case *c, const char *name);
void int8_cpu_set_smoothing(struct kb_case *c, int on);
void int8_cpu_corrupt_code(struct kb_case *c);

/* The relative L2 bound of the output against a float64 emulation of the recipe (dequantized
 * Q, K, V; the block-wise online softmax with P quantized as above): the kernel's own error,
 * float32 arithmetic and the rare P code that float32 rounds the other way at a half. */
#define INT8_KERNEL_TOLERANCE 1e-3
/* The CUDA kernels' own error bounds (int8_cuda.c's check, and tests/cuda_emu's drivers): the
 * relative L2 error of the sampled output rows against float64 attention on the kernel's
 * dequantized Q, K (and V). With P and O in f16, as attention.flash f16: */
#define INT8_CUDA_KERNEL_TOLERANCE 5e-3
/* The same with P in e4m3 (3 mantissa bits): each P is off by at most 2^-4 relative (its unit
 * roundoff), so O = Σ p·v / l, a weighted sum of the dequantized V with independently rounded
 * weights, is off by about the rms of that relative error (~2^-4/√3 ≈ 0.036 at most, ~0.025
 * measured in a host simulation): the bound is the unit roundoff itself. */
#define INT8_FP8_KERNEL_TOLERANCE 0.0625
/* Seconds the case's quantization (smoothing and quantizing Q, K, V) took in setup. */
double int8_cpu_quantize_seconds(const struct kb_case *c);

#endif
