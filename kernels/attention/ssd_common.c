/* ssd_common.c - what every implementation of attention.ssd shares (ssd.h): the shape rule,
 * the head decays, the catalogue's counts and the two float64 references. */
#include "kernels/attention/ssd.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/ssd_ops.h"

int ssd_check_shape(struct kb_shape *s, char *err, size_t errlen)
{
    if (s->batch < 1 || s->heads < 1 || s->seq_len < 1 || s->head_dim < 1) {
        snprintf(err, errlen, "attention.ssd: batch, heads, seq and head_dim must be positive (b=%d h=%d n=%d d=%d)",
                 s->batch, s->heads, s->seq_len, s->head_dim);
        return KB_UNSUPPORTED;
    }
    if (s->state < 1 || s->state > 1024) {
        snprintf(err, errlen, "attention.ssd: state = %d, must be 1..1024", s->state);
        return KB_UNSUPPORTED;
    }
    if (s->kv_heads == 0)
        s->kv_heads = s->heads; /* as the planner completes it for every attention kernel */
    if (s->kv_heads < 1 || s->heads % s->kv_heads != 0) {
        snprintf(err, errlen, "attention.ssd: groups (kv_heads) = %d must divide heads = %d", s->kv_heads, s->heads);
        return KB_UNSUPPORTED;
    }
    if (s->chunk < 1 || s->chunk > SSD_MAX_CHUNK) {
        snprintf(err, errlen, "attention.ssd: chunk = %d, must be 1..%d", s->chunk, SSD_MAX_CHUNK);
        return KB_UNSUPPORTED;
    }
    if ((s->causal != 0 && s->causal != 1) || (s->decode != 0 && s->decode != 1)) {
        snprintf(err, errlen, "attention.ssd: causal and decode must be 0 or 1");
        return KB_UNSUPPORTED;
    }
    /* the largest tensor's element count must fit size_t and int64 with room */
    double most = (double)s->batch * s->heads * ((double)s->seq_len + 1) * s->head_dim;
    double bc = (double)s->batch * s->kv_heads * ((double)s->seq_len + 1) * s->state;
    if (most > 1e12 || bc > 1e12) {
        snprintf(err, errlen, "attention.ssd: shape too large (%.3g elements)", most > bc ? most : bc);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

double ssd_A(int h, int heads)
{
    return -exp2(-4.0 + 8.0 * (double)h / (double)(heads > 0 ? heads : 1));
}

double ssd_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, S = s->state, P = s->head_dim;
    if (s->decode)
        return bh * 5.0 * S * P;
    double n = s->seq_len, c = s->chunk < s->seq_len ? s->chunk : s->seq_len;
    double one = bh * (4.0 * n * S * P + 2.0 * n * c * (S + P));
    return s->causal ? one : 2.0 * one;
}

double ssd_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double sz = kb_dtype_size(t), B = s->batch, H = s->heads, G = ssd_groups(s), S = s->state, P = s->head_dim;
    if (s->decode)
        return B * H * 8.0 * S * P + sz * B * (2.0 * H * P + 2.0 * G * S) + 4.0 * B * H;
    double n = s->seq_len;
    return sz * B * n * (2.0 * H * P + 2.0 * G * S) + 4.0 * B * n * H;
}

struct ssd_view ssd_view_of(const struct kb_operands *io)
{
    struct ssd_view v = {
        .x = io->buffer[KB_SSD_X],
        .dt = io->buffer[KB_SSD_DT],
        .A = io->buffer[KB_SSD_A],
        .b = io->buffer[KB_SSD_B],
        .c = io->buffer[KB_SSD_C],
    };
    return v;
}

/* One scan direction over tokens [0, n) of head (b, h): dir +1 forward, −1 backward; adds
 * C_tᵀ h_t to out rows (out is n×P). h is S×P scratch. */
static void scan(const struct kb_shape *s, const struct ssd_view *v, int b, int h, int n, int dir, double *st,
                 double *out)
{
    const int T = ssd_tokens(s), P = s->head_dim, S = s->state;
    const float *x = v->x + ssd_x_off(s, b, h, T), *dt = v->dt + ssd_dt_off(s, b, h, T);
    const float *B = v->b + ssd_bc_off(s, b, h, T), *C = v->c + ssd_bc_off(s, b, h, T);
    const double A = v->A[h];
    memset(st, 0, (size_t)S * P * sizeof *st);
    for (int k = 0; k < n; k++) {
        const int t = dir > 0 ? k : n - 1 - k;
        const double a = exp((double)dt[t] * A), w = dt[t];
        const float *xt = x + (size_t)t * P, *bt = B + (size_t)t * S, *ct = C + (size_t)t * S;
        double *yt = out + (size_t)t * P;
        for (int i = 0; i < S; i++) {
            double *row = st + (size_t)i * P;
            const double bi = w * bt[i], ci = ct[i];
            for (int p = 0; p < P; p++) {
                row[p] = a * row[p] + bi * xt[p];
                yt[p] += ci * row[p];
            }
        }
    }
}

int ssd_reference_recurrent(const struct kb_shape *s, const struct ssd_view *v, int b, int h, int tokens,
                            double *out)
{
    const int T = ssd_tokens(s), P = s->head_dim, S = s->state;
    double *st = malloc((size_t)S * P * sizeof *st);
    if (!st)
        return -1;
    memset(out, 0, (size_t)tokens * P * sizeof *out);
    scan(s, v, b, h, tokens, +1, st, out);
    if (!s->causal && !s->decode) {
        scan(s, v, b, h, tokens, -1, st, out);
        /* the diagonal dt_t (C_t·B_t) x_t, which both scans counted */
        const float *x = v->x + ssd_x_off(s, b, h, T), *dt = v->dt + ssd_dt_off(s, b, h, T);
        const float *B = v->b + ssd_bc_off(s, b, h, T), *C = v->c + ssd_bc_off(s, b, h, T);
        for (int t = 0; t < tokens; t++) {
            double cb = 0;
            for (int i = 0; i < S; i++)
                cb += (double)C[(size_t)t * S + i] * B[(size_t)t * S + i];
            for (int p = 0; p < P; p++)
                out[(size_t)t * P + p] -= dt[t] * cb * x[(size_t)t * P + p];
        }
    }
    free(st);
    return 0;
}

int ssd_reference_matrix(const struct kb_shape *s, const struct ssd_view *v, int b, int h, int tokens,
                         double *out)
{
    const int T = ssd_tokens(s), P = s->head_dim, S = s->state, n = tokens;
    const int bidir = !s->causal && !s->decode;
    const float *x = v->x + ssd_x_off(s, b, h, T), *dt = v->dt + ssd_dt_off(s, b, h, T);
    const float *B = v->b + ssd_bc_off(s, b, h, T), *C = v->c + ssd_bc_off(s, b, h, T);
    const double A = v->A[h];
    double *m = malloc((size_t)n * n * sizeof *m), *cum = malloc(((size_t)n + 1) * sizeof *cum);
    if (!m || !cum) {
        free(m);
        free(cum);
        return -1;
    }
    /* cum[t] = Σ_{r<t} dt_r, so Σ_{s<r≤t} dt_r = cum[t+1] − cum[s+1], Σ_{t≤r<s} dt_r = cum[s] − cum[t] */
    cum[0] = 0;
    for (int t = 0; t < n; t++)
        cum[t + 1] = cum[t] + dt[t];
    for (int t = 0; t < n; t++)
        for (int j = 0; j < n; j++) {
            double l;
            if (j <= t)
                l = exp(A * (cum[t + 1] - cum[j + 1]));
            else
                l = bidir ? exp(A * (cum[j] - cum[t])) : 0.0;
            double cb = 0;
            for (int i = 0; i < S; i++)
                cb += (double)C[(size_t)t * S + i] * B[(size_t)j * S + i];
            m[(size_t)t * n + j] = cb * l * dt[j];
        }
    /* y = M X */
    for (int t = 0; t < n; t++)
        for (int p = 0; p < P; p++) {
            double acc = 0;
            for (int j = 0; j < n; j++)
                acc += m[(size_t)t * n + j] * x[(size_t)j * P + p];
            out[(size_t)t * P + p] = acc;
        }
    free(m);
    free(cum);
    return 0;
}

/* Below this weight an earlier token cannot change a float32 output (as GLA's reference). */
#define SSD_NEGLIGIBLE_LOG (80.0 * 0.69314718055994531) /* 80·ln 2 */

int ssd_reference_rows(const struct kb_shape *s, const struct ssd_view *v, int b, int h, const long *rows, int nrows,
                       double *out)
{
    const int T = ssd_tokens(s), P = s->head_dim, S = s->state;
    const float *x = v->x + ssd_x_off(s, b, h, T), *dt = v->dt + ssd_dt_off(s, b, h, T);
    const float *B = v->b + ssd_bc_off(s, b, h, T), *C = v->c + ssd_bc_off(s, b, h, T);
    const double A = v->A[h];
    double *st = calloc((size_t)S * P, sizeof *st);
    if (!st)
        return -1;
    long pos = -1; /* st holds the recurrence over tokens (start, pos] */
    for (int r = 0; r < nrows; r++) {
        const long t = rows[r];
        /* the first token whose weight on row t can still matter */
        long s0 = t;
        for (double sum = 0; s0 > 0; s0--) {
            sum -= A * dt[s0];
            if (sum > SSD_NEGLIGIBLE_LOG)
                break;
        }
        if (pos < s0 - 1) { /* the state so far weighs nothing on row t: restart there */
            memset(st, 0, (size_t)S * P * sizeof *st);
            pos = s0 - 1;
        }
        for (long k = pos + 1; k <= t; k++) {
            const double a = exp((double)dt[k] * A), w = dt[k];
            const float *xk = x + (size_t)k * P, *bk = B + (size_t)k * S;
            for (int i = 0; i < S; i++) {
                double *row = st + (size_t)i * P;
                const double bi = w * bk[i];
                for (int p = 0; p < P; p++)
                    row[p] = a * row[p] + bi * xk[p];
            }
        }
        pos = t;
        double *y = out + (size_t)r * P;
        const float *ct = C + (size_t)t * S;
        for (int p = 0; p < P; p++)
            y[p] = 0;
        for (int i = 0; i < S; i++) {
            const double ci = ct[i];
            const double *row = st + (size_t)i * P;
            for (int p = 0; p < P; p++)
                y[p] += ci * row[p];
        }
    }
    free(st);
    return 0;
}
