/* linear_common.c - definitions shared by every implementation of attention.linear and
 * attention.gla (CPU now, CUDA later): shape checks, decay and feature maps, the catalogue's
 * FLOP and byte formulas, GLA gate generation and the float64 references (see linear.h). */
#include "kernels/attention/linear.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/verify.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/linear_ops.h"
#include "kernels/attention/qkv_operands.h"

/* A sub-seed distinct from attention_common.c's Q, K, V (1, 2, 3). */
enum { SEED_GATES = 4 };

double linear_decay_lambda(int h, int heads)
{
    return 1.0 - exp2(-5.0 - 8.0 * (double)h / (double)(heads > 0 ? heads : 1));
}

double linear_feature_f64(int feature, double x)
{
    if (feature == KB_FEATURE_RELU)
        return x > 0 ? x : 0;
    return x > 0 ? x + 1.0 : exp(x);
}

float linear_feature_f32(int feature, float x)
{
    if (feature == KB_FEATURE_RELU)
        return x > 0 ? x : 0;
    return x > 0 ? x + 1.0f : expf(x);
}

int linear_check_shape(struct kb_shape *s, char *err, size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->chunk < 1) {
        snprintf(err, errlen, "attention.linear: chunk = %d, must be at least 1", s->chunk);
        return KB_UNSUPPORTED;
    }
    if (s->feature != KB_FEATURE_ELU1 && s->feature != KB_FEATURE_RELU) {
        snprintf(err, errlen, "attention.linear: feature map %d unknown (elu1 or relu)", s->feature);
        return KB_UNSUPPORTED;
    }
    if (s->decay != 0 && s->decay != 1) {
        snprintf(err, errlen, "attention.linear: decay = %d, must be 0 or 1", s->decay);
        return KB_UNSUPPORTED;
    }
    if (s->decode != 0 && s->decode != 1) {
        snprintf(err, errlen, "attention.linear: decode = %d, must be 0 or 1", s->decode);
        return KB_UNSUPPORTED;
    }
    if (s->decay && !s->causal && !s->decode) {
        snprintf(err, errlen, "attention.linear: decay needs causal order (causal=1 or decode=1)");
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

int gla_check_shape(struct kb_shape *s, char *err, size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->chunk < 1 || s->chunk > GLA_MAX_CHUNK) {
        snprintf(err, errlen, "attention.gla: chunk = %d, must be 1..%d (the in-chunk gate scaling must stay in float range)",
                 s->chunk, GLA_MAX_CHUNK);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

static int kv_heads_of(const struct kb_shape *s)
{
    return s->kv_heads > 0 ? s->kv_heads : s->heads;
}

/* The operation's count, whatever the algorithm: the recurrent (right-product) form, per token
 * k⊗v into the state (2d²), q·S (2d²), z += k and q·z (4d all told), causal or not. The chunked
 * @cpu kernel also multiplies within each chunk (2·N·C·2d more) and the masked-quadratic
 * @cpu.naive forms the N×N matrix (≈ 4·N²·d): both are extra work of their algorithm, not of
 * the operation, so every implementation is credited the same FLOPs for the same shape and the
 * slower algorithm shows the lower GFLOP/s (before, @cpu.naive was credited 31x @cpu's FLOPs at
 * N = 1024 and so read as the faster kernel per FLOP). */
double linear_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, n = s->decode ? 1 : s->seq_len, d = s->head_dim;
    return bh * n * (4.0 * d * d + 4.0 * d);
}

/* Compulsory traffic, whatever the algorithm (the naive kernel's N×N matrix is its own cost). */
double linear_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    if (s->decode) {
        double bh = (double)s->batch * s->heads, d = s->head_dim;
        return bh * (8.0 * d * d + 8.0 * d) + kb_dtype_size(t) * bh * 4.0 * d;
    }
    return attention_min_bytes(s, t);
}

double gla_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, n = s->seq_len, d = s->head_dim;
    double c = s->chunk < s->seq_len ? s->chunk : s->seq_len;
    return bh * (4.0 * n * d * d + 2.0 * n * c * 2.0 * d + n * c * d);
}

double gla_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return attention_min_bytes(s, t) +
           kb_dtype_size(t) * (double)s->batch * s->heads * s->seq_len * s->head_dim;
}

/* ---- float64 references ------------------------------------------------------------------- */

void linear_reference_rows(const struct kb_shape *s, const float *q, const float *k,
                           const float *v, int b, int h, const int *rows, int nrows, double *out)
{
    const int n = s->seq_len, d = s->head_dim, hkv = kv_heads_of(s);
    const int kh = h / (s->heads / hkv);
    const float *qb = q + ((size_t)b * s->heads + h) * n * d;
    const float *kb = k + ((size_t)b * hkv + kh) * n * d;
    const float *vb = v + ((size_t)b * hkv + kh) * n * d;
    const int causal = s->causal || s->decode;
    const double lambda = s->decay ? linear_decay_lambda(h, s->heads) : 1.0;
    const double log_lambda = log(lambda);
    /* with decay, keys older than `span` weigh less than 2^-80 of the newest */
    const long span = s->decay ? (long)(80.0 / -log2(lambda)) : (long)n;
    memset(out, 0, (size_t)nrows * d * sizeof *out);
    double *phi_q = malloc(((size_t)nrows * d + d + nrows) * sizeof *phi_q);
    if (!phi_q) /* out of memory: all-zero reference rows fail verification visibly */
        return;
    double *phi_k = phi_q + (size_t)nrows * d, *den = phi_k + d;
    int lo = n, hi = 0;
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < d; c++)
            phi_q[(size_t)r * d + c] = linear_feature_f64(s->feature, qb[(size_t)rows[r] * d + c]);
        den[r] = 0;
        int first = causal && rows[r] - span > 0 ? (int)(rows[r] - span) : 0;
        int last = causal ? rows[r] : n - 1;
        lo = first < lo ? first : lo;
        hi = last > hi ? last : hi;
    }
    /* one walk over the keys serves every requested row: φ(k_s) is evaluated once */
    for (int j = lo; j <= hi; j++) {
        const float *kj = kb + (size_t)j * d, *vj = vb + (size_t)j * d;
        for (int c = 0; c < d; c++)
            phi_k[c] = linear_feature_f64(s->feature, kj[c]);
        for (int r = 0; r < nrows; r++) {
            if (causal && (j > rows[r] || rows[r] - j > span))
                continue;
            const double *pq = phi_q + (size_t)r * d;
            double w = 0;
            for (int c = 0; c < d; c++)
                w += pq[c] * phi_k[c];
            if (s->decay)
                w *= exp(log_lambda * (double)(rows[r] - j));
            den[r] += w;
            double *o = out + (size_t)r * d;
            for (int c = 0; c < d; c++)
                o[c] += w * (double)vj[c];
        }
    }
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < d; c++)
            out[(size_t)r * d + c] = den[r] > 0 ? out[(size_t)r * d + c] / den[r] : 0.0;
    free(phi_q);
}

void linear_reference_row(const struct kb_shape *s, const float *q, const float *k,
                          const float *v, int b, int h, int i, double *out)
{
    linear_reference_rows(s, q, k, v, b, h, &i, 1, out);
}

void linear_reference_recurrent(const struct kb_shape *s, const float *q, const float *k,
                                const float *v, int b, int h, double *out)
{
    const int n = s->seq_len, d = s->head_dim, hkv = kv_heads_of(s);
    const int kh = h / (s->heads / hkv);
    const float *qb = q + ((size_t)b * s->heads + h) * n * d;
    const float *kb = k + ((size_t)b * hkv + kh) * n * d;
    const float *vb = v + ((size_t)b * hkv + kh) * n * d;
    const int causal = s->causal || s->decode;
    const long double lambda = s->decay ? (long double)linear_decay_lambda(h, s->heads) : 1.0L;
    long double *st = calloc((size_t)d * d + d, sizeof *st);
    long double *fk = malloc((size_t)d * sizeof *fk);
    if (!st || !fk) {
        free(st);
        free(fk);
        memset(out, 0, (size_t)n * d * sizeof *out);
        return;
    }
    long double *z = st + (size_t)d * d;
    /* non-causal: every row sees the state of all N tokens, so build it first */
    const int passes = causal ? 1 : 2;
    for (int pass = 0; pass < passes; pass++) {
        for (int t = 0; t < n; t++) {
            if (causal || pass == 0) {
                for (int c = 0; c < d; c++)
                    fk[c] = linear_feature_f64(s->feature, kb[(size_t)t * d + c]);
                for (int p = 0; p < d; p++) {
                    z[p] = lambda * z[p] + fk[p];
                    for (int c = 0; c < d; c++)
                        st[(size_t)p * d + c] = lambda * st[(size_t)p * d + c] + fk[p] * vb[(size_t)t * d + c];
                }
            }
            if (causal || pass == 1) {
                long double den = 0;
                for (int p = 0; p < d; p++)
                    den += linear_feature_f64(s->feature, qb[(size_t)t * d + p]) * z[p];
                for (int c = 0; c < d; c++) {
                    long double num = 0;
                    for (int p = 0; p < d; p++)
                        num += linear_feature_f64(s->feature, qb[(size_t)t * d + p]) * st[(size_t)p * d + c];
                    out[(size_t)t * d + c] = den > 0 ? (double)(num / den) : 0.0;
                }
            }
        }
    }
    free(st);
    free(fk);
}

float *gla_gates_new(const struct kb_shape *s, uint64_t seed)
{
    size_t elems = (size_t)s->batch * s->heads * s->seq_len * s->head_dim;
    size_t bytes = (elems + ATTENTION_INPUT_PAD) * sizeof(float);
    float *g = attention_alloc(bytes);
    if (!g)
        return NULL;
    /* Gate logits are always N(0,1): the input axis shapes Q, K, V; an outlier gate of x100
     * would only saturate the sigmoid. */
    gen_fill_normal_f32(g, elems, seed ^ (0x9E3779B97F4A7C15ull * SEED_GATES), 0.0, 1.0);
    for (size_t e = 0; e < elems; e++) {
        double x = g[e];
        /* log sigmoid(x) = −log(1 + e^−x), computed without overflow either side */
        double ls = x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x));
        g[e] = (float)(ls / GLA_TAU);
    }
    memset(g + elems, 0, ATTENTION_INPUT_PAD * sizeof(float));
    return g;
}

void gla_reference_row(const struct kb_shape *s, const float *q, const float *k, const float *v,
                       const float *g, int b, int h, int i, double *out)
{
    const int n = s->seq_len, d = s->head_dim, hkv = kv_heads_of(s);
    const int kh = h / (s->heads / hkv);
    const size_t qoff = ((size_t)b * s->heads + h) * n * d;
    const float *qi = q + qoff + (size_t)i * d;
    const float *gb = g + qoff;
    const float *kb = k + ((size_t)b * hkv + kh) * n * d;
    const float *vb = v + ((size_t)b * hkv + kh) * n * d;
    const double scale = 1.0 / sqrt((double)d);
    /* decay[p] = exp(Σ_{t=j+1..i} G_tp), built walking j downwards from i */
    double *decay = malloc((size_t)d * sizeof *decay);
    for (int c = 0; c < d; c++)
        out[c] = 0;
    if (!decay)
        return;
    for (int p = 0; p < d; p++)
        decay[p] = 0; /* log-space running sum */
    for (int j = i; j >= 0; j--) {
        const float *kj = kb + (size_t)j * d, *vj = vb + (size_t)j * d;
        double w = 0;
        for (int p = 0; p < d; p++)
            w += scale * (double)qi[p] * (double)kj[p] * exp(decay[p]);
        for (int c = 0; c < d; c++)
            out[c] += w * (double)vj[c];
        double most = -INFINITY;
        for (int p = 0; p < d; p++) {
            decay[p] += (double)gb[(size_t)j * d + p];
            most = decay[p] > most ? decay[p] : most;
        }
        /* every older key now weighs less than 2^-80 of its undecayed product: stop */
        if (most < -80.0 * M_LN2)
            break;
    }
    free(decay);
}

void gla_reference_recurrent(const struct kb_shape *s, const float *q, const float *k,
                             const float *v, const float *g, int b, int h, double *out)
{
    const int n = s->seq_len, d = s->head_dim, hkv = kv_heads_of(s);
    const int kh = h / (s->heads / hkv);
    const size_t qoff = ((size_t)b * s->heads + h) * n * d;
    const float *kb = k + ((size_t)b * hkv + kh) * n * d;
    const float *vb = v + ((size_t)b * hkv + kh) * n * d;
    const long double scale = 1.0L / sqrtl((long double)d);
    long double *st = calloc((size_t)d * d, sizeof *st);
    if (!st) {
        memset(out, 0, (size_t)n * d * sizeof *out);
        return;
    }
    for (int t = 0; t < n; t++) {
        const float *qt = q + qoff + (size_t)t * d, *gt = g + qoff + (size_t)t * d;
        for (int p = 0; p < d; p++) {
            long double a = expl((long double)gt[p]);
            for (int c = 0; c < d; c++)
                st[(size_t)p * d + c] = a * st[(size_t)p * d + c] +
                                        (long double)kb[(size_t)t * d + p] * vb[(size_t)t * d + c];
        }
        for (int c = 0; c < d; c++) {
            long double acc = 0;
            for (int p = 0; p < d; p++)
                acc += scale * qt[p] * st[(size_t)p * d + c];
            out[(size_t)t * d + c] = (double)acc;
        }
    }
    free(st);
}

int linear_verify_output_tol(const struct kb_shape *s, const struct attention_inputs *in, const float *o,
                             uint64_t seed, int threads, double tol, struct kb_accuracy *acc)
{
    return linear_verify_rows_tol(s, in, o, seed, threads, tol, linear_reference_rows, acc);
}

int linear_verify_rows_tol(const struct kb_shape *s, const struct attention_inputs *in, const float *o,
                           uint64_t seed, int threads, double tol, linear_rows_fn reference_rows,
                           struct kb_accuracy *acc)
{
    const int d = s->head_dim;
    /* decode: every (b, h) row, which is row N of the causal definition over N + 1 tokens */
    const long rows_per_head = s->decode ? 1 : s->seq_len;
    const long total = (long)s->batch * s->heads * rows_per_head;
    struct kb_shape ref_shape = *s;
    ref_shape.seq_len = s->seq_len + (s->decode ? 1 : 0);
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)ATTENTION_VERIFY_ROWS * d * sizeof *ref);
    memset(acc, 0, sizeof *acc);
    acc->rows_total = total;
    if (!rows || !ref) {
        free(rows);
        free(ref);
        acc->rel_l2_err = INFINITY;
        return KB_ERROR;
    }
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, seed, rows);
    /* rows come sorted, so each head's rows are one run: one reference walk per head */
    long *starts = malloc((size_t)(nrows + 1) * sizeof *starts);
    int *idx = malloc((size_t)(nrows > 0 ? nrows : 1) * sizeof *idx);
    long runs = 0;
    if (!starts || !idx) {
        free(starts);
        free(idx);
        free(rows);
        free(ref);
        acc->rel_l2_err = INFINITY;
        return KB_ERROR;
    }
    for (long t = 0; t < nrows; t++) {
        if (t == 0 || rows[t] / rows_per_head != rows[t - 1] / rows_per_head)
            starts[runs++] = t;
        idx[t] = s->decode ? s->seq_len : (int)(rows[t] % rows_per_head);
    }
    starts[runs] = nrows;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(dynamic, 1)
    for (long u = 0; u < runs; u++) {
        long t0 = starts[u], head = rows[t0] / rows_per_head;
        reference_rows(&ref_shape, in->q, in->k, in->v, (int)(head / s->heads), (int)(head % s->heads),
                              idx + t0, (int)(starts[u + 1] - t0), ref + (size_t)t0 * d);
    }
    free(starts);
    free(idx);
    attention_compare_rows(o, rows, nrows, ref, d, tol, total, acc);
    free(rows);
    free(ref);
    return KB_OK;
}

int linear_decode_operands_add(struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                               char *err, size_t errlen)
{
    /* decode: the N cached tokens and the new one, drawn together as the kernels always did */
    if (qkv_operands_add(io, s, s->seq_len + (s->decode ? 1 : 0), t, seed, err, errlen) != KB_OK ||
        qkv_operands_output(io, "o", s, s->decode ? 1 : s->seq_len, err, errlen) != KB_LIN_O)
        return KB_ERROR;
    return KB_OK;
}

double linear_decode_op_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    /* the operands and verify's rows */
    double operands = qkv_operands_bytes(s, s->seq_len + (s->decode ? 1 : 0), s->decode ? 1 : s->seq_len);
    return operands + 8.0 * ATTENTION_VERIFY_ROWS * (s->head_dim + 2.0);
}
