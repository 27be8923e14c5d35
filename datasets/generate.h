/* generate.h - deterministic input generators (seeded), so a case's inputs can be rebuilt. */
#ifndef KB_GENERATE_H
#define KB_GENERATE_H

#include <stddef.h>
#include <stdint.h>

/* xoshiro256** state, seeded through splitmix64. */
struct kb_rng { uint64_t s[4]; };

void kb_rng_seed(struct kb_rng *r, uint64_t seed);
uint64_t kb_rng_next(struct kb_rng *r);
double kb_rng_uniform(struct kb_rng *r);  /* [0, 1) */
double kb_rng_normal(struct kb_rng *r);   /* standard normal */

/* n values ~ N(mean, std²) into a float array. */
void gen_fill_normal_f32(float *x, size_t n, uint64_t seed, double mean, double std);

#endif
