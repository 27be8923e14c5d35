/* generate.h - deterministic input generators (seeded), so a case's inputs can be rebuilt. */
#ifndef KB_GENERATE_H
#define KB_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

/* xoshiro256** state, seeded through splitmix64. */
struct kb_rng { uint64_t s[4]; };

void kb_rng_seed(struct kb_rng *r, uint64_t seed);
uint64_t kb_rng_next(struct kb_rng *r);
double kb_rng_uniform(struct kb_rng *r);  /* [0, 1) */
double kb_rng_normal(struct kb_rng *r);   /* standard normal */

/* n values ~ N(mean, std²) into a float array. */
void gen_fill_normal_f32(float *x, size_t n, uint64_t seed, double mean, double std);
/* n values ~ U[lo, hi) into a float array. */
void gen_fill_uniform_f32(float *x, size_t n, uint64_t seed, double lo, double hi);

/* A rows x cols matrix (row-major; columns are channels) from the input distribution `input`
 * (enum kb_input of kernels/kernel.h): normal N(0,1), uniform U(-1,1), or outlier: N(0,1) with
 * the channels gen_outlier_channels picks scaled x50-x100 in every row. 0 means normal. */
void gen_fill_input_f32(float *x, size_t rows, size_t cols, uint64_t seed, int input);
/* The outlier channels of a cols-wide input: writes up to max distinct channel indices and
 * their scales (50-100), chosen by the seed; returns how many (cols/64, at least 1). */
int gen_outlier_channels(size_t cols, uint64_t seed, size_t *idx, float *scale, int max);

/* ---- MoE routing skews ---------------------------------------------------------------------
 * A router computes logits = x·W_r + b (x a row of the input, W_r [h,E], b [E]) and sends each
 * token to its top_k experts. The skew of the expected load is set through the bias: W_r has
 * random normal columns scaled to unit norm, so for N(0,1) inputs every logit is b_e plus N(0,1)
 * noise, and b is
 * calibrated (by a seeded simulation of that noise, so the result depends on the seed alone)
 * until each expert's expected share of the T·top_k assignments matches the target:
 *   uniform  1/E each (b = 0)
 *   zipf     ∝ 1/rank^GEN_ZIPF_S, ranks dealt to experts by a seeded permutation, as far as
 *            top_k allows (an expert can take at most every token: share ≤ 1/top_k)
 *   one      one seeded expert is every token's first choice (share 1/top_k); the other
 *            top_k − 1 picks spread evenly over the rest
 * Inputs of another distribution (uniform, outlier channels) change the noise and so flatten
 * or sharpen the realised loads; the target is what N(0,1) inputs give. */
#define GEN_ZIPF_S 1.1

/* The target share of each of `experts` experts (sums to 1) under routing (enum kb_routing;
 * 0 means uniform). */
void gen_routing_target(double *share, int experts, int top_k, uint64_t seed, int routing);
/* W_r [hidden, experts] row-major and the bias b [experts], as described above. */
void gen_router_f32(float *wr, float *bias, size_t hidden, int experts, int top_k, uint64_t seed,
                    int routing);

/* ---- sequence lengths of packed ragged batches ---------------------------------------------
 * batch lengths, each in [1, max_len], under mix (enum kb_lengths of kernels/kernel.h; 0 means
 * uniform), chosen by the seed alone:
 *   uniform   each U{ceil(max_len/4) .. max_len}
 *   longtail  Pareto(GEN_PARETO_ALPHA) draws scaled so the largest is max_len (so at least one
 *             sequence is max_len long and most are much shorter: a few long documents among
 *             many short chats), each rounded up to at least 1; alpha 0.8 (an infinite-mean
 *             tail): at batch 23, N 4096 one sequence of 4096 among ones of 300..1300
 *   equal     every length max_len (the padded batch's shape, for comparison)
 * Returns the sum (a 64-bit count: batch · max_len may pass INT_MAX). */
#define GEN_PARETO_ALPHA 0.8
int64_t gen_seq_lengths(int *len, int batch, int max_len, int mix, uint64_t seed);

#endif
