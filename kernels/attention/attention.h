/* attention.h - the attention family: shared shape arithmetic and the registered kernels. */
#ifndef KB_ATTENTION_H
#define KB_ATTENTION_H

#include "kernels/kernel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

extern const struct kb_kernel kb_attention_reference;     /* float64 naive, two pass */
extern const struct kb_kernel kb_attention_flash_cpu;     /* tiled online softmax, float32 */
extern const struct kb_kernel kb_attention_decode_cpu;    /* decode, contiguous or paged cache (decode_cpu.c) */
extern const struct kb_kernel kb_attention_decode_cuda;   /* flash-decoding, split KV (CUDA builds) */
extern const struct kb_kernel kb_attention_softmax_blas;  /* unfused, CBLAS (HAVE_CBLAS only) */
extern const struct kb_kernel kb_attention_flash_cuda;    /* tensor cores, f16/bf16 (CUDA builds) */
extern const struct kb_kernel kb_attention_flash_wgmma;   /* Hopper wgmma, d = 128 (sm_90a builds) */
extern const struct kb_kernel kb_attention_flash_wgmma_ws; /* the same, FlashAttention-3 scheduling (sm_90a builds) */
extern const struct kb_kernel kb_attention_softmax_cublas; /* unfused cuBLAS baseline (CUDA + cuBLAS builds) */

/* FLOPs of softmax attention: 4·B·H·N²·d non-causal, 2·B·H·N·(N+1)·d causal. */
double attention_flops(const struct kb_shape *s);
/* Compulsory bytes of a fused kernel: s·B·N·d·(2H + 2H_kv). */
double attention_min_bytes(const struct kb_shape *s, enum kb_dtype t);

/* The float64 reference for one query row (b, h, i) of Q,K,V laid out [B,H(_kv),N,d] in
 * float32: writes d outputs into out. Two passes with row-max subtraction. */
void attention_reference_row(const struct kb_shape *s, const float *q, const float *k,
                             const float *v, int b, int h, int i, double *out);

/* ---- shared by the attention kernels (additions to the original contract) ---------------- */

/* verify() compares the rows verify_sample_rows(B·H·N, ATTENTION_VERIFY_ROWS, c->seed, rows)
 * chooses: the same seed every time, so a test can find out which rows are checked. */
#define ATTENTION_VERIFY_ROWS 256

/* Q [B,H,N,d], K and V [B,H_kv,N,d] in float32, 64-byte aligned, each followed by at least
 * ATTENTION_INPUT_PAD zero floats so vector code may read a short way past the last row. */
struct attention_inputs {
    float *q, *k, *v;
};
#define ATTENTION_INPUT_PAD 64

/* Replaces kv_heads 0 by heads and checks the shape every kernel of the family needs: positive
 * sizes, heads a multiple of kv_heads, element counts that fit size_t. Returns KB_OK, or
 * KB_UNSUPPORTED with a message naming the offending value. */
int attention_check_shape(struct kb_shape *s, char *err, size_t errlen);
/* Allocates and fills Q, K, V from seed (normal(0,1), a distinct sub-seed per tensor), so every
 * kernel of the family sees the same inputs for the same case. KB_OK or KB_ERROR with a message;
 * on failure nothing stays allocated. */
int attention_inputs_new(struct attention_inputs *in, const struct kb_shape *s, uint64_t seed,
                         char *err, size_t errlen);
void attention_inputs_free(struct attention_inputs *in);
/* What attention_inputs_new draws, into buffers the caller owns: q_rows rows of d floats of Q
 * (B·H·N; decode's B·H rows are the same draw as decode_query_new's), K and V of B·H_kv·N rows
 * each (the shape checked). Rows are rows of head_dim channels (outlier channels are channels
 * of the head dimension). Padding is the caller's. */
void attention_inputs_fill(float *q, size_t q_rows, float *k, float *v, const struct kb_shape *s, uint64_t seed);
/* Bytes attention_inputs_new allocates for this (checked) shape. */
double attention_inputs_bytes(const struct kb_shape *s);
/* Lists q, k, v as tensors into out (at most max); returns how many were written. */
int attention_input_tensors(const struct kb_shape *s, const struct attention_inputs *in,
                            struct kb_tensor *out, int max);
/* Small shared helpers of the CPU attention kernels. */
/* x rounded up to a multiple of 16 floats (64 bytes): scratch sub-buffers stay cache-line aligned. */
static inline size_t attention_round16(size_t x)
{
    return (x + 15) / 16 * 16;
}
/* The OpenMP thread number inside a parallel region (0 without OpenMP): selects its scratch. */
static inline int attention_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
/* The KV head a query head (counted over batch x heads) reads under GQA, counted over batch x kv heads. */
static inline size_t attention_kv_head(const struct kb_shape *s, size_t q_head)
{
    return (q_head / (size_t)s->heads) * (size_t)s->kv_heads + (q_head % (size_t)s->heads) / (size_t)(s->heads / s->kv_heads);
}

/* Appends the [B, H, N, d] float32 output o as tensor "o" after n others (at most max);
 * returns the new count. */
int attention_output_tensor(const struct kb_shape *s, const float *o, struct kb_tensor *out, int n, int max);
/* Compares the sampled output rows o[rows[t]] (d floats each) with ref (nrows x d, float64)
 * into acc, judged against tol; total is the number of rows the output has. */
void attention_compare_rows(const float *o, const long *rows, long nrows, const double *ref, int d, double tol,
                            long total, struct kb_accuracy *acc);
/* The float64 reference of output row `row` (0 .. total-1, in the output's row order) into
 * out[d]; ctx is the kernel's own. */
typedef void (*attention_row_fn)(const void *ctx, const struct kb_shape *s, long row, double *out);
/* A kernel's verify: ATTENTION_VERIFY_ROWS rows of the output o (total rows of d floats)
 * sampled from the seed, their references computed on `threads` threads (0: OpenMP's
 * default), compared against tol. KB_OK, or KB_ERROR (out of memory: acc says infinite error). */
int attention_verify_sampled(const struct kb_shape *s, uint64_t seed, const float *o, long total, int threads,
                             attention_row_fn row_fn, const void *ctx, double tol, struct kb_accuracy *acc);
/* aligned_alloc with 64-byte alignment, the size rounded up to a multiple of 64; free() it.
 * NULL on failure or for 0 bytes. */
void *attention_alloc(size_t bytes);

/* The SIMD path attention.flash@cpu runs on this CPU: "avx512", "avx2" or "scalar". */
const char *attention_flash_cpu_path(void);

#endif
