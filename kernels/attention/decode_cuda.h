/* decode_cuda.h - attention.flash@cuda.decode: flash-decoding (split KV, then a reduction) for
 * the decode step of softmax attention, against a contiguous or paged KV cache. The host side
 * (decode_cuda.c) and the device code (decode_split.cu) share this; the split choice is plain
 * arithmetic here so a unit test can check it without a GPU. */
#ifndef KB_DECODE_CUDA_H
#define KB_DECODE_CUDA_H

#include <stdint.h>

#include "kernels/kernel.h"

/* Query heads one CTA serves (a GQA group of more is cut into chunks of at most this many). */
#define DECODE_CUDA_MAX_GROUP 8
/* Fewest tokens a split gets: below it the combine's reads outweigh what splitting gains. */
#define DECODE_CUDA_MIN_SPLIT 128
#define DECODE_CUDA_MAX_SPLITS 1024 /* gridDim.y: at most 65535 */
/* The default split target: one wave of the 4 blocks an SM holds at d = 128, G = 4 (61.2 us at
 * batch 1, 64k on an H100 against 71.1 at 8); KBENCH_DECODE_CTAS_PER_SM overrides it. */
#define DECODE_CUDA_CTAS_PER_SM 4

/* How the N tokens of each (batch, KV head) are split: `splits` CTAs of `chunk` tokens (the
 * last may hold fewer, none holds zero). rows is the number of CTAs per split index (batch x
 * KV heads x head chunks), sms the GPU's multiprocessors: aim at per_sm CTAs per SM
 * (DECODE_CUDA_CTAS_PER_SM by default) so every SM has loads in flight, without splits much
 * shorter than DECODE_CUDA_MIN_SPLIT tokens (at most ceil(N / DECODE_CUDA_MIN_SPLIT) splits, so
 * a split holds more than half of it). */
static inline void decode_cuda_split(int n, long rows, int sms, int per_sm, int *splits, int *chunk)
{
    long target = (long)(per_sm > 0 ? per_sm : 1) * (sms > 0 ? sms : 1);
    long s = target / (rows > 0 ? rows : 1); /* rounded down: rows·s past the target spills a small last wave */
    long most = ((long)n + DECODE_CUDA_MIN_SPLIT - 1) / DECODE_CUDA_MIN_SPLIT;
    if (s > most)
        s = most;
    if (s > DECODE_CUDA_MAX_SPLITS)
        s = DECODE_CUDA_MAX_SPLITS;
    if (s < 1)
        s = 1;
    long c = ((long)n + s - 1) / s;
    *chunk = (int)c;
    *splits = (int)(((long)n + c - 1) / c); /* so that no split is empty */
}

/* CTAs per (batch, KV head) along the heads: a GQA group of more than DECODE_CUDA_MAX_GROUP
 * query heads is served in chunks (each re-reads the group's K and V, mostly from L2). */
static inline int decode_cuda_head_chunks(int group)
{
    return (group + DECODE_CUDA_MAX_GROUP - 1) / DECODE_CUDA_MAX_GROUP;
}

/* One launch's arguments (device pointers). */
struct decode_cuda_args {
    int batch, heads, kv_heads, n, d, page; /* page 0: contiguous K, V [B, H_kv, N, d] */
    enum kb_dtype dtype;                    /* f16 or bf16 */
    const void *q, *k, *v;                  /* Q [B, H, d]; K, V the cache or the pools */
    const int32_t *table;                   /* [B, ceil(N/page)] when paged, else NULL */
    void *o;                                /* O [B, H, d] */
    float *part_o;                          /* [B·H][splits][d] unnormalised partial outputs */
    float *part_ml;                         /* [B·H][splits][2]: running max (base 2) and sum */
    int splits, chunk;
};

/* Enqueues the split kernel and the combine on stream; returns a cudaError_t (0: success). */
int decode_cuda_launch(const struct decode_cuda_args *a, void *stream);

#endif
