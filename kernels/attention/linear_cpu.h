/* linear_cpu.h - attention.linear@cpu's per-head passes (linear_cpu.c), shared with the packed
 * ragged batches of attention.linear_varlen@cpu (varlen_linear_cpu.c), which run them on each
 * (sequence, head) with the sequence's offset and length. Not part of the kernel contract. */
#ifndef KB_LINEAR_CPU_H
#define KB_LINEAR_CPU_H

#include <stddef.h>

#include "kernels/attention/linear_isa.h"

/* One thread's working set (chunk C, head dim d). */
struct linear_scratch {
    float *fq;  /* [C][d]   φ(Q) of a chunk */
    float *fkt; /* [d][C]   φ(K)ᵀ of a chunk (its columns decay-weighted for the state update) */
    float *p;    /* [C][C]   intra-chunk weights */
    float *mask; /* [C][C]   the causal weights λ^(i−j) at and below the diagonal, 0 above */
    float *den;  /* [C]      normalisers, then their inverses */
    float *wdec; /* [C]      the state update's column weights λ^(c−1−j) */
    float *s;   /* [d][d]   running state S, then z [d] right after it */
};
/* Floats of one scratch; each piece stays 64-byte aligned when mem is. */
size_t linear_cpu_scratch_floats(size_t chunk, size_t d);
/* The scratch laid out in mem (linear_cpu_scratch_floats(chunk, d) floats). */
struct linear_scratch linear_cpu_scratch_bind(float *mem, size_t chunk, size_t d);

/* One head's rows: token t of Q at q + t·ldq, of K and V at k + t·ldkv, v + t·ldkv, of the
 * output at out + t·ldo (d for a head's contiguous rows; heads·d for a packed batch's). */
struct head_view {
    const float *q, *k, *v; /* first token of this head's rows */
    const float *dec;       /* λ^m, m = 0..C (all 1 without decay; read only with decay) */
    int feature, d, chunk;
    int ldq, ldkv, ldo;     /* row strides in floats */
    int stream_out;         /* 1: the outputs are not read again soon (the caller's final result, larger
                               than the caches): the causal pass may write them past the caches */
};

/* Causal, chunked: tokens 0..ntok of the head from a zero state, outputs into out (rows
 * 0..ntok, stride hv->ldo) unless out is NULL; the final state stays in w->s. */
void linear_cpu_causal_head(const struct linear_isa *isa, const struct head_view *hv, int ntok, int decay, float *out,
                            const struct linear_scratch *w);
/* The same a chunk at a time (several heads can then go chunk by chunk together, each with
 * its own scratch): begin (outputs: out will not be NULL), then the chunks at t0 = 0, C, 2C, ...
 * below ntok in order. */
void linear_cpu_causal_begin(const struct head_view *hv, int decay, int outputs, const struct linear_scratch *w);
void linear_cpu_causal_chunk(const struct linear_isa *isa, const struct head_view *hv, int ntok, int t0, int decay,
                             float *out, const struct linear_scratch *w);
/* A chunk as linear_cpu_causal_chunk, fetching into the cache meanwhile the cn rows from t1
 * of head nx (the chunk that will run next: this head's next one, or another head's). */
void linear_cpu_causal_chunk_then(const struct linear_isa *isa, const struct head_view *hv, int ntok, int t0,
                                  int decay, float *out, const struct linear_scratch *w, const struct head_view *nx,
                                  int t1, int cn);
/* Non-causal: the state of all ntok tokens, then every row's output into out. */
void linear_cpu_noncausal_head(const struct linear_isa *isa, const struct head_view *hv, int ntok, float *out,
                               const struct linear_scratch *w);

#endif
