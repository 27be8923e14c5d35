/* attention_common.c - what every attention kernel shares: shape checks, the analytic FLOP and
 * byte counts of the catalogue, input generation, and the float64 reference for one row. */
#include "kernels/attention/attention.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/verify.h"

/* Sub-seeds keep Q, K and V independent draws while one case seed rebuilds all three. */
enum { SEED_Q = 1, SEED_K = 2, SEED_V = 3 };
static uint64_t sub_seed(uint64_t seed, unsigned which)
{
    return seed ^ (0x9E3779B97F4A7C15ull * which);
}

static int kv_heads_of(const struct kb_shape *s)
{
    return s->kv_heads > 0 ? s->kv_heads : s->heads;
}

double attention_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, n = s->seq_len, d = s->head_dim;
    if (s->causal)
        return 2.0 * bh * n * (n + 1.0) * d;
    return 4.0 * bh * n * n * d;
}

double attention_min_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double bnd = (double)s->batch * s->seq_len * s->head_dim;
    return kb_dtype_size(t) * bnd * (2.0 * s->heads + 2.0 * kv_heads_of(s));
}

int attention_check_shape(struct kb_shape *s, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        size_t offset;
    } dims[] = {
        { "batch", offsetof(struct kb_shape, batch) },
        { "heads", offsetof(struct kb_shape, heads) },
        { "seq_len", offsetof(struct kb_shape, seq_len) },
        { "head_dim", offsetof(struct kb_shape, head_dim) },
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int v = *(const int *)((const char *)s + dims[i].offset);
        if (v < 1) {
            snprintf(err, errlen, "attention: %s = %d, must be at least 1", dims[i].name, v);
            return KB_UNSUPPORTED;
        }
    }
    if (s->kv_heads < 0) {
        snprintf(err, errlen, "attention: kv_heads = %d, must be 0 (= heads) or positive", s->kv_heads);
        return KB_UNSUPPORTED;
    }
    if (s->kv_heads == 0)
        s->kv_heads = s->heads;
    if (s->heads % s->kv_heads != 0) {
        snprintf(err, errlen, "attention: heads = %d is not a multiple of kv_heads = %d (GQA needs whole groups)",
                 s->heads, s->kv_heads);
        return KB_UNSUPPORTED;
    }
    if (s->causal != 0 && s->causal != 1) {
        snprintf(err, errlen, "attention: causal = %d, must be 0 or 1", s->causal);
        return KB_UNSUPPORTED;
    }
    /* Kernels index with size_t and 64-bit row counts; keep every buffer well inside them. */
    double elems = (double)s->batch * s->heads * s->seq_len * s->head_dim;
    if (elems > (double)(SIZE_MAX / 16)) {
        snprintf(err, errlen, "attention: %.3g elements per tensor do not fit this machine's address space", elems);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

void *attention_alloc(size_t bytes)
{
    if (bytes == 0 || bytes > SIZE_MAX - 64)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static size_t padded_bytes(size_t elems)
{
    return ((elems + ATTENTION_INPUT_PAD) * sizeof(float) + 63) & ~(size_t)63;
}

double attention_inputs_bytes(const struct kb_shape *s)
{
    size_t bnd = (size_t)s->batch * s->seq_len * s->head_dim;
    return (double)padded_bytes(bnd * s->heads) + 2.0 * padded_bytes(bnd * kv_heads_of(s));
}

/* elems floats and the zero padding after them (attention_inputs_fill fills the floats) */
static float *new_tensor(size_t elems)
{
    float *x = attention_alloc(padded_bytes(elems));
    if (x)
        memset(x + elems, 0, ATTENTION_INPUT_PAD * sizeof(float));
    return x;
}

/* Attention's outlier case is the one SageAttention measured in real models: K's outlier
 * channels are large offsets shared by every token (a per-channel bias of 50-100 on the
 * channels gen_outlier_channels picks, sign alternating with the channel index), which
 * break per-block INT8 quantization of K unless K is smoothed; Q stays N(0,1) and V gets the
 * generator's scaled outlier channels (V is never quantized by the attention kernels). */
static void attention_key_outliers(float *k, size_t rows, size_t d, uint64_t seed)
{
    size_t idx[256];
    float scale[256];
    int count = gen_outlier_channels(d, seed, idx, scale, 256);
    for (size_t r = 0; r < rows; r++)
        for (int i = 0; i < count; i++)
            k[r * d + idx[i]] += (idx[i] & 1) ? -scale[i] : scale[i];
}

void attention_inputs_fill(float *q, size_t q_rows, float *k, float *v, const struct kb_shape *s, uint64_t seed)
{
    size_t d = (size_t)s->head_dim, kv_rows = (size_t)s->batch * kv_heads_of(s) * s->seq_len;
    /* outlier inputs: see attention_key_outliers */
    int qk_input = s->input == KB_INPUT_OUTLIER ? KB_INPUT_NORMAL : s->input;
    gen_fill_input_f32(q, q_rows, d, sub_seed(seed, SEED_Q), qk_input);
    gen_fill_input_f32(k, kv_rows, d, sub_seed(seed, SEED_K), qk_input);
    if (s->input == KB_INPUT_OUTLIER)
        attention_key_outliers(k, kv_rows, d, sub_seed(seed, SEED_K));
    gen_fill_input_f32(v, kv_rows, d, sub_seed(seed, SEED_V), s->input);
}

int attention_inputs_new(struct attention_inputs *in, const struct kb_shape *s, uint64_t seed,
                         char *err, size_t errlen)
{
    size_t bnd = (size_t)s->batch * s->seq_len * s->head_dim;
    size_t nq = bnd * s->heads, nkv = bnd * kv_heads_of(s);
    in->q = new_tensor(nq);
    in->k = new_tensor(nkv);
    in->v = new_tensor(nkv);
    if (in->q && in->k && in->v)
        attention_inputs_fill(in->q, nq / (size_t)s->head_dim, in->k, in->v, s, seed);
    if (!in->q || !in->k || !in->v) {
        snprintf(err, errlen, "attention: out of memory allocating Q, K, V (%.0f bytes)",
                 attention_inputs_bytes(s));
        attention_inputs_free(in);
        return KB_ERROR;
    }
    return KB_OK;
}

void attention_inputs_free(struct attention_inputs *in)
{
    free(in->q);
    free(in->k);
    free(in->v);
    in->q = in->k = in->v = NULL;
}

int attention_input_tensors(const struct kb_shape *s, const struct attention_inputs *in,
                            struct kb_tensor *out, int max)
{
    const char *names[3] = { "q", "k", "v" };
    const float *data[3] = { in->q, in->k, in->v };
    int n = 0;
    for (int i = 0; i < 3 && n < max; i++, n++) {
        out[n] = (struct kb_tensor){ .name = names[i], .dtype = KB_DTYPE_F32, .ndim = 4,
                                     .dims = { s->batch, i == 0 ? s->heads : kv_heads_of(s),
                                               s->seq_len, s->head_dim },
                                     .data = data[i], .is_output = 0 };
    }
    return n;
}

static double row_dot(const float *a, const float *b, int d)
{
    double acc = 0;
    for (int c = 0; c < d; c++)
        acc += (double)a[c] * (double)b[c];
    return acc;
}

void attention_reference_row(const struct kb_shape *s, const float *q, const float *k,
                             const float *v, int b, int h, int i, double *out)
{
    const int n = s->seq_len, d = s->head_dim, hkv = kv_heads_of(s);
    const int kh = h / (s->heads / hkv);
    const float *qi = q + (((size_t)b * s->heads + h) * n + i) * d;
    const float *kb = k + ((size_t)b * hkv + kh) * n * d;
    const float *vb = v + ((size_t)b * hkv + kh) * n * d;
    const int keys = s->causal ? i + 1 : n;
    const double scale = 1.0 / sqrt((double)d);

    /* Scores are kept so the second pass does not recompute them; without memory the second
     * pass recomputes them instead, which gives the same numbers. */
    double *score = malloc((size_t)keys * sizeof *score);
    double mx = -INFINITY;
    for (int j = 0; j < keys; j++) {
        double sj = scale * row_dot(qi, kb + (size_t)j * d, d);
        if (score)
            score[j] = sj;
        if (sj > mx)
            mx = sj;
    }
    for (int c = 0; c < d; c++)
        out[c] = 0;
    double sum = 0;
    for (int j = 0; j < keys; j++) {
        double sj = score ? score[j] : scale * row_dot(qi, kb + (size_t)j * d, d);
        double p = exp(sj - mx);
        sum += p;
        const float *vj = vb + (size_t)j * d;
        for (int c = 0; c < d; c++)
            out[c] += p * (double)vj[c];
    }
    for (int c = 0; c < d; c++)
        out[c] /= sum;
    free(score);
}

int attention_output_tensor(const struct kb_shape *s, const float *o, struct kb_tensor *out, int n, int max)
{
    if (n < max)
        out[n++] = (struct kb_tensor){ .name = "o", .dtype = KB_DTYPE_F32, .ndim = 4,
                                       .dims = { s->batch, s->heads, s->seq_len, s->head_dim },
                                       .data = o, .is_output = 1 };
    return n;
}

void attention_compare_rows(const float *o, const long *rows, long nrows, const double *ref, int d, double tol,
                            long total, struct kb_accuracy *acc)
{
    struct verify_acc va;
    verify_begin(&va);
    for (long t = 0; t < nrows; t++)
        for (int j = 0; j < d; j++)
            verify_add(&va, o[(size_t)rows[t] * d + j], ref[(size_t)t * d + j]);
    verify_finish(&va, tol, acc);
    acc->rows_checked = nrows;
    acc->rows_total = total;
}

int attention_verify_sampled(const struct kb_shape *s, uint64_t seed, const float *o, long total, int threads,
                             attention_row_fn row_fn, const void *ctx, double tol, struct kb_accuracy *acc)
{
    const int d = s->head_dim;
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)ATTENTION_VERIFY_ROWS * d * sizeof *ref);
    if (!rows || !ref) {
        free(rows);
        free(ref);
        memset(acc, 0, sizeof *acc);
        acc->rel_l2_err = INFINITY;
        acc->rows_total = total;
        return KB_ERROR;
    }
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, seed, rows);
    int nt = threads;
#ifdef _OPENMP
    if (nt <= 0)
        nt = omp_get_max_threads();
#else
    (void)nt;
#endif
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (long t = 0; t < nrows; t++)
        row_fn(ctx, s, rows[t], ref + (size_t)t * d);
    attention_compare_rows(o, rows, nrows, ref, d, tol, total, acc);
    free(rows);
    free(ref);
    return KB_OK;
}
