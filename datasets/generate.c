/* generate.c - deterministic input generators (see generate.h). */
#include "datasets/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Values per independently seeded block of gen_fill_normal_f32. Fixed (never derived from the
 * thread count) so that the output depends on the seed alone. Even, so normal pairs never
 * straddle two blocks. */
#define FILL_BLOCK ((size_t)1 << 16)

static const double two_pi = 6.283185307179586476925286766559;

/* The splitmix64 finaliser: a bijection on 64-bit words that scrambles every input bit. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void kb_rng_seed(struct kb_rng *r, uint64_t seed)
{
    /* splitmix64 spreads any seed (0, 1, 2, ...) over the whole state, which xoshiro needs:
     * small or similar seeds would otherwise start in correlated, low-entropy states */
    uint64_t s = seed;
    for (int i = 0; i < 4; i++) {
        s += 0x9E3779B97F4A7C15ull;
        r->s[i] = mix64(s);
    }
    /* the all-zero state is xoshiro's one fixed point; splitmix cannot produce it for four
     * consecutive outputs in practice, but guard anyway since it would emit zeros forever */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 0x9E3779B97F4A7C15ull;
}

uint64_t kb_rng_next(struct kb_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kb_rng_uniform(struct kb_rng *r)
{
    /* the top 53 bits are xoshiro256**'s best and exactly fill a double's mantissa */
    return (double)(kb_rng_next(r) >> 11) * 0x1.0p-53;
}

double kb_rng_normal(struct kb_rng *r)
{
    /* Box-Muller, one value per call: struct kb_rng has no room to cache the sine partner.
     * 1 - u lies in (0, 1], so the logarithm is finite. */
    double u1 = 1.0 - kb_rng_uniform(r), u2 = kb_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* One block of normals by Marsaglia's polar method, in single precision: the output is f32, so
 * one 64-bit draw supplies both 24-bit coordinates of a candidate point, both values of each
 * accepted pair are kept, and no sine or cosine is needed. About 4x faster than kb_rng_normal,
 * which matters for the gigabyte-sized inputs of long-context cases. */
static void fill_block(float *x, size_t n, struct kb_rng *r, double mean, double std)
{
    const float scale = 0x1.0p-23f; /* 24-bit integer -> [-1, 1) */
    for (size_t i = 0; i < n; i += 2) {
        float u, v, s;
        do {
            uint64_t bits = kb_rng_next(r);
            u = (float)(int32_t)((bits >> 40) & 0xFFFFFF) * scale - 1.0f;
            v = (float)(int32_t)((bits >> 8) & 0xFFFFFF) * scale - 1.0f;
            s = u * u + v * v;
        } while (s >= 1.0f || s == 0.0f);
        float f = sqrtf(-2.0f * logf(s) / s);
        x[i] = (float)(mean + std * (double)(u * f));
        if (i + 1 < n)
            x[i + 1] = (float)(mean + std * (double)(v * f));
    }
}

void gen_fill_normal_f32(float *x, size_t n, uint64_t seed, double mean, double std)
{
    /* Each block has its own stream, seeded from (seed, block index) through two rounds of the
     * bijective mixer, so blocks can be filled in any order by any number of threads. Mixing
     * (rather than seed + block) keeps tensors seeded with nearby seeds from sharing blocks. */
    size_t nblocks = (n + FILL_BLOCK - 1) / FILL_BLOCK;
    uint64_t base = mix64(seed);
    long long nb = (long long)nblocks;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (long long b = 0; b < nb; b++) {
        struct kb_rng r;
        kb_rng_seed(&r, mix64(base ^ (uint64_t)b));
        size_t start = (size_t)b * FILL_BLOCK;
        size_t len = n - start < FILL_BLOCK ? n - start : FILL_BLOCK;
        fill_block(x + start, len, &r, mean, std);
    }
}

void gen_fill_uniform_f32(float *x, size_t n, uint64_t seed, double lo, double hi)
{
    size_t nblocks = (n + FILL_BLOCK - 1) / FILL_BLOCK;
    uint64_t base = mix64(seed ^ 0x756e69666f726dull); /* not the normal fill's streams */
    long long nb = (long long)nblocks;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (long long b = 0; b < nb; b++) {
        struct kb_rng r;
        kb_rng_seed(&r, mix64(base ^ (uint64_t)b));
        size_t start = (size_t)b * FILL_BLOCK;
        size_t len = n - start < FILL_BLOCK ? n - start : FILL_BLOCK;
        for (size_t i = 0; i < len; i++)
            x[start + i] = (float)(lo + (hi - lo) * kb_rng_uniform(&r));
    }
}

int gen_outlier_channels(size_t cols, uint64_t seed, size_t *idx, float *scale, int max)
{
    /* SmoothQuant and LLM.int8() report outliers in well under 1% of channels, at magnitudes
     * tens of times the rest; 1 in 64 channels (at least one) at x50-x100 is that case, with
     * enough outliers at small d for the test shapes to contain some. */
    int count = (int)(cols / 64) > 0 ? (int)(cols / 64) : 1;
    if (count > max)
        count = max;
    struct kb_rng r;
    kb_rng_seed(&r, mix64(seed ^ 0x6f75746c696572ull));
    for (int i = 0; i < count; i++) {
        size_t c;
        int fresh;
        do { /* distinct channels */
            c = (size_t)(kb_rng_uniform(&r) * (double)cols);
            fresh = 1;
            for (int j = 0; j < i; j++)
                fresh &= idx[j] != c;
        } while (!fresh);
        idx[i] = c;
        scale[i] = (float)(50.0 + 50.0 * kb_rng_uniform(&r));
    }
    return count;
}

void gen_fill_input_f32(float *x, size_t rows, size_t cols, uint64_t seed, int input)
{
    size_t n = rows * cols;
    if (input == KB_INPUT_UNIFORM) {
        gen_fill_uniform_f32(x, n, seed, -1.0, 1.0);
        return;
    }
    gen_fill_normal_f32(x, n, seed, 0.0, 1.0);
    if (input != KB_INPUT_OUTLIER || cols == 0)
        return;
    size_t idx[256];
    float scale[256];
    int k = gen_outlier_channels(cols, seed, idx, scale, 256);
    for (size_t row = 0; row < rows; row++)
        for (int i = 0; i < k; i++)
            x[row * cols + idx[i]] *= scale[i];
}

/* ---- MoE routing skews (see generate.h) ------------------------------------------------------ */

/* Caps shares at `cap` and spreads the excess over the uncapped ones in proportion (water
 * filling), so that a skew top_k cannot realise is brought to the nearest one it can. */
static void cap_shares(double *share, int n, double cap)
{
    for (int round = 0; round < n; round++) {
        double excess = 0, free_mass = 0;
        for (int e = 0; e < n; e++) {
            if (share[e] > cap) {
                excess += share[e] - cap;
                share[e] = cap;
            } else if (share[e] < cap) {
                free_mass += share[e];
            }
        }
        if (excess <= 0 || free_mass <= 0)
            return;
        for (int e = 0; e < n; e++)
            if (share[e] < cap)
                share[e] += excess * share[e] / free_mass;
    }
}

/* A seeded permutation of 0..n-1 (Fisher-Yates), so the hot experts are not always the first. */
static void permute(int *p, int n, uint64_t seed)
{
    struct kb_rng r;
    kb_rng_seed(&r, mix64(seed ^ 0x7065726d757465ull));
    for (int i = 0; i < n; i++)
        p[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(kb_rng_uniform(&r) * (double)(i + 1));
        if (j > i)
            j = i;
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

void gen_routing_target(double *share, int experts, int top_k, uint64_t seed, int routing)
{
    if (experts < 1)
        return;
    int k = top_k < 1 ? 1 : top_k > experts ? experts : top_k;
    int *perm = malloc((size_t)experts * sizeof *perm);
    if (!perm) { /* no permutation: ranks in expert order, still a valid target */
        for (int e = 0; e < experts; e++)
            share[e] = 1.0 / experts;
        return;
    }
    permute(perm, experts, seed);
    if (routing == KB_ROUTING_ZIPF) {
        double sum = 0;
        for (int rank = 0; rank < experts; rank++)
            sum += pow(rank + 1.0, -GEN_ZIPF_S);
        for (int rank = 0; rank < experts; rank++)
            share[perm[rank]] = pow(rank + 1.0, -GEN_ZIPF_S) / sum;
        cap_shares(share, experts, 1.0 / k);
    } else if (routing == KB_ROUTING_ONE && experts > 1) {
        for (int e = 0; e < experts; e++)
            share[e] = (1.0 - 1.0 / k) / (experts - 1);
        share[perm[0]] = 1.0 / k;
    } else {
        for (int e = 0; e < experts; e++)
            share[e] = 1.0 / experts;
    }
    free(perm);
}

/* Counts, over samples of N(0,1) logit noise z [samples, E], how often each expert lands in
 * the top k of b + z (ties: lower expert id). */
static void simulate_loads(const double *z, int samples, int experts, int k, const double *bias,
                           double *count, unsigned char *taken)
{
    for (int e = 0; e < experts; e++)
        count[e] = 0;
    for (int s = 0; s < samples; s++) {
        const double *zs = z + (size_t)s * experts;
        memset(taken, 0, (size_t)experts);
        for (int j = 0; j < k; j++) {
            int best = -1;
            double bv = 0;
            for (int e = 0; e < experts; e++) {
                double v = bias[e] + zs[e];
                if (!taken[e] && (best < 0 || v > bv)) {
                    best = e;
                    bv = v;
                }
            }
            taken[best] = 1;
            count[best] += 1;
        }
    }
}

/* Samples of logit noise the bias is calibrated against, and the fixed-point rounds: each
 * round moves b_e by the log-ratio of target to simulated share, which converges because
 * the share of an expert grows monotonically with its bias. */
#define ROUTER_CAL_SAMPLES 2048
#define ROUTER_CAL_ROUNDS 60
/* The "one" expert's bias: 12 standard deviations of the noise above the rest, so it is the
 * first choice of every token (P(miss) per token < 1e-30 for N(0,1) noise). */
#define ROUTER_HOT_BIAS 12.0

void gen_router_f32(float *wr, float *bias, size_t hidden, int experts, int top_k, uint64_t seed,
                    int routing)
{
    gen_fill_normal_f32(wr, hidden * (size_t)experts, mix64(seed ^ 0x726f75746572ull), 0.0,
                        hidden ? 1.0 / sqrt((double)hidden) : 1.0);
    /* every column scaled to unit norm, so that every expert's logit is exactly N(0,1) for N(0,1)
     * inputs: a random column norm alone would skew a "uniform" routing by ±1/√(2h) */
    for (int e = 0; e < experts; e++) {
        double norm = 0;
        for (size_t i = 0; i < hidden; i++)
            norm += (double)wr[i * experts + e] * wr[i * experts + e];
        norm = sqrt(norm);
        for (size_t i = 0; norm > 0 && i < hidden; i++)
            wr[i * experts + e] = (float)(wr[i * experts + e] / norm);
    }
    int k = top_k < 1 ? 1 : top_k > experts ? experts : top_k;
    for (int e = 0; e < experts; e++)
        bias[e] = 0.0f;
    if (experts <= 1 || routing == KB_ROUTING_UNIFORM || routing == 0)
        return; /* symmetric: every expert expects T·k/E */
    double *share = malloc((size_t)experts * sizeof *share);
    if (!share)
        return;
    gen_routing_target(share, experts, k, seed, routing);
    if (routing == KB_ROUTING_ONE) { /* the hot expert is the one with the largest share */
        int hot = 0;
        for (int e = 1; e < experts; e++)
            if (share[e] > share[hot])
                hot = e;
        bias[hot] = (float)ROUTER_HOT_BIAS;
        free(share);
        return;
    }
    double *z = malloc((size_t)ROUTER_CAL_SAMPLES * experts * sizeof *z);
    double *b = calloc((size_t)experts, sizeof *b), *count = malloc((size_t)experts * sizeof *count);
    unsigned char *taken = malloc((size_t)experts);
    if (z && b && count && taken) {
        struct kb_rng r;
        kb_rng_seed(&r, mix64(seed ^ 0x63616c6962ull));
        for (size_t i = 0; i < (size_t)ROUTER_CAL_SAMPLES * experts; i++)
            z[i] = kb_rng_normal(&r);
        const double total = (double)ROUTER_CAL_SAMPLES * k, eps = 0.5 / total;
        for (int e = 0; e < experts; e++) /* a good start: the top-1 Gumbel answer */
            b[e] = log(share[e] + eps);
        for (int round = 0; round < ROUTER_CAL_ROUNDS; round++) {
            simulate_loads(z, ROUTER_CAL_SAMPLES, experts, k, b, count, taken);
            for (int e = 0; e < experts; e++)
                b[e] += 0.7 * (log(share[e] + eps) - log(count[e] / total + eps));
        }
        double mean = 0;
        for (int e = 0; e < experts; e++)
            mean += b[e] / experts;
        for (int e = 0; e < experts; e++) /* only differences matter; centre them */
            bias[e] = (float)(b[e] - mean);
    }
    free(z);
    free(b);
    free(count);
    free(taken);
    free(share);
}

/* ---- sequence lengths (see generate.h) ----------------------------------------------------- */

int64_t gen_seq_lengths(int *len, int batch, int max_len, int mix, uint64_t seed)
{
    struct kb_rng r;
    kb_rng_seed(&r, seed ^ 0x6C656E6774687321ull); /* "lengths!": apart from the tensors' draws */
    int64_t total = 0;
    if (batch < 1 || max_len < 1)
        return 0;
    if (mix == KB_LENGTHS_EQUAL) {
        for (int i = 0; i < batch; i++)
            len[i] = max_len;
        return (int64_t)batch * max_len;
    }
    if (mix == KB_LENGTHS_LONGTAIL) {
        /* x = u^(-1/alpha) >= 1 is Pareto; scaling by max_len / max(x) pins the longest at max_len */
        double *x = malloc((size_t)batch * sizeof *x), xmax = 1.0;
        for (int i = 0; i < batch; i++) {
            double u = 1.0 - kb_rng_uniform(&r); /* (0, 1] */
            double xi = pow(u, -1.0 / GEN_PARETO_ALPHA);
            if (x)
                x[i] = xi;
            xmax = xi > xmax ? xi : xmax;
        }
        for (int i = 0; i < batch; i++) {
            double l = x ? ceil((double)max_len * x[i] / xmax) : max_len; /* no memory: equal */
            len[i] = l < 1 ? 1 : l > max_len ? max_len : (int)l;
            total += len[i];
        }
        free(x);
        return total;
    }
    const int lo = (max_len + 3) / 4, span = max_len - lo + 1;
    for (int i = 0; i < batch; i++) {
        len[i] = lo + (int)(kb_rng_uniform(&r) * span);
        if (len[i] > max_len)
            len[i] = max_len;
        total += len[i];
    }
    return total;
}
