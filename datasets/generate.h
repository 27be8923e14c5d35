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

#endif
