/* attention_naive.c - a kbench plugin: softmax attention O = softmax(Q Kᵀ/√d) V in float32, the
 * plain three-loop way, registered as attention.flash's neighbour attention.naive@cpu.plugin.
 *
 * It takes kbench's attention axes (B, H, H_kv for grouped-query attention, N, d, causal, the
 * input distribution), generates its inputs from the case's seed with kbench's generators, and
 * checks itself in verify against its own float64 reference on sampled rows. Build:
 *   cc -std=c11 -O2 $(pkg-config --cflags kbench) -shared -fPIC -o libattention_naive.so attention_naive.c
 * and run: kbench run --plugin ./libattention_naive.so --kernels 'attention.naive@cpu.plugin' */
#include <kbench/kbench.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct naive {
    int b, h, hkv, n, d, causal;
    float *q, *k, *v, *o; /* Q, O [B,H,N,d]; K, V [B,H_kv,N,d] */
    float *scores;        /* one row of scores (N) */
};

static int kv_heads(const struct kb_shape *s) { return s->kv_heads > 0 ? s->kv_heads : s->heads; }

/* useful work: QKᵀ and PV, 2 FLOPs a multiply-add; a causal row i sees i+1 keys */
static double naive_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, n = s->seq_len, d = s->head_dim;
    return s->causal ? 2.0 * bh * n * (n + 1.0) * d : 4.0 * bh * n * n * d;
}

/* the least an ideal kernel moves: read Q, K, V and write O once */
static double naive_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double bnd = (double)s->batch * s->seq_len * s->head_dim;
    return kb_dtype_size(t) * bnd * (2.0 * s->heads + 2.0 * kv_heads(s));
}

static double naive_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double bnd = (double)s->batch * s->seq_len * s->head_dim;
    return sizeof(float) * (bnd * (2.0 * s->heads + 2.0 * kv_heads(s)) + s->seq_len);
}

static void naive_teardown(struct kb_case *c)
{
    struct naive *st = c->state;
    if (!st)
        return;
    free(st->q), free(st->k), free(st->v), free(st->o), free(st->scores);
    free(st);
    c->state = NULL;
}

static int naive_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    int hkv = kv_heads(s);
    if (s->batch < 1 || s->heads < 1 || s->seq_len < 1 || s->head_dim < 1 || s->heads % hkv != 0) {
        snprintf(err, errlen, "attention.naive: needs B, H, N, d >= 1 and H a multiple of H_kv");
        return KB_UNSUPPORTED;
    }
    struct naive *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.naive: out of memory");
        return KB_ERROR;
    }
    *st = (struct naive){ .b = s->batch, .h = s->heads, .hkv = hkv, .n = s->seq_len, .d = s->head_dim,
                          .causal = s->causal };
    c->state = st;
    size_t rows_q = (size_t)st->b * st->h * st->n, rows_kv = (size_t)st->b * hkv * st->n, d = (size_t)st->d;
    st->q = malloc(rows_q * d * sizeof(float));
    st->o = malloc(rows_q * d * sizeof(float));
    st->k = malloc(rows_kv * d * sizeof(float));
    st->v = malloc(rows_kv * d * sizeof(float));
    st->scores = malloc((size_t)st->n * sizeof(float));
    if (!st->q || !st->o || !st->k || !st->v || !st->scores) {
        naive_teardown(c);
        snprintf(err, errlen, "attention.naive: out of memory");
        return KB_ERROR;
    }
    /* one seed per tensor, derived from the case's: same seed, same inputs */
    gen_fill_input_f32(st->q, rows_q, d, c->seed * 3 + 1, s->input);
    gen_fill_input_f32(st->k, rows_kv, d, c->seed * 3 + 2, s->input);
    gen_fill_input_f32(st->v, rows_kv, d, c->seed * 3 + 3, s->input);
    return KB_OK;
}

static const float *kv_row(const struct naive *st, const float *t, int b, int h, int j)
{
    int g = h / (st->h / st->hkv); /* the K/V head this query head shares */
    return t + (((size_t)b * st->hkv + g) * st->n + j) * st->d;
}

static int naive_run(struct kb_case *c)
{
    struct naive *st = c->state;
    float scale = 1.0f / sqrtf((float)st->d);
    for (int b = 0; b < st->b; b++)
        for (int h = 0; h < st->h; h++)
            for (int i = 0; i < st->n; i++) {
                const float *q = st->q + (((size_t)b * st->h + h) * st->n + i) * st->d;
                float *o = st->o + (((size_t)b * st->h + h) * st->n + i) * st->d;
                int keys = st->causal ? i + 1 : st->n;
                float max = -INFINITY, sum = 0.0f;
                for (int j = 0; j < keys; j++) {
                    const float *k = kv_row(st, st->k, b, h, j);
                    float dot = 0.0f;
                    for (int e = 0; e < st->d; e++)
                        dot += q[e] * k[e];
                    st->scores[j] = dot * scale;
                    max = fmaxf(max, st->scores[j]);
                }
                for (int j = 0; j < keys; j++)
                    sum += st->scores[j] = expf(st->scores[j] - max);
                for (int e = 0; e < st->d; e++)
                    o[e] = 0.0f;
                for (int j = 0; j < keys; j++) {
                    const float *v = kv_row(st, st->v, b, h, j);
                    float p = st->scores[j] / sum;
                    for (int e = 0; e < st->d; e++)
                        o[e] += p * v[e];
                }
            }
    return KB_OK;
}

/* The float64 reference of one output row, compared element by element. */
static void check_row(const struct naive *st, long row, struct verify_acc *a, double *p)
{
    int i = (int)(row % st->n), h = (int)(row / st->n % st->h), b = (int)(row / st->n / st->h);
    const float *q = st->q + (size_t)row * st->d;
    int keys = st->causal ? i + 1 : st->n;
    double max = -INFINITY, sum = 0.0;
    for (int j = 0; j < keys; j++) {
        const float *k = kv_row(st, st->k, b, h, j);
        double dot = 0.0;
        for (int e = 0; e < st->d; e++)
            dot += (double)q[e] * k[e];
        p[j] = dot / sqrt((double)st->d);
        max = fmax(max, p[j]);
    }
    for (int j = 0; j < keys; j++)
        sum += p[j] = exp(p[j] - max);
    for (int e = 0; e < st->d; e++) {
        double ref = 0.0;
        for (int j = 0; j < keys; j++)
            ref += p[j] / sum * kv_row(st, st->v, b, h, j)[e];
        verify_add(a, st->o[(size_t)row * st->d + e], ref);
    }
}

static int naive_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct naive *st = c->state;
    long total = (long)st->b * st->h * st->n, rows[256];
    long n = verify_sample_rows(total, 256, c->seed, rows);
    double *p = malloc((size_t)st->n * sizeof *p);
    if (!p)
        return KB_ERROR;
    struct verify_acc a;
    verify_begin(&a);
    for (long r = 0; r < n; r++)
        check_row(st, rows[r], &a, p);
    free(p);
    acc->rows_checked = n;
    acc->rows_total = total;
    verify_finish(&a, verify_default_tolerance(KB_DTYPE_F32), acc);
    return KB_OK;
}

static int naive_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct naive *st = c->state;
    const float *data[4] = { st->q, st->k, st->v, st->o };
    const char *names[4] = { "q", "k", "v", "o" };
    int n = 0;
    for (; n < 4 && n < max; n++)
        out[n] = (struct kb_tensor){ .name = names[n], .dtype = KB_DTYPE_F32, .ndim = 4,
                                     .dims = { st->b, n == 1 || n == 2 ? st->hkv : st->h, st->n, st->d },
                                     .data = data[n], .is_output = n == 3 };
    return n;
}

static const struct kb_kernel attention_naive = {
    .name = "attention.naive",
    .impl = "cpu.plugin",
    .description = "softmax attention, three plain loops in f32 (example plugin)",
    .family = KB_FAMILY_ATTENTION,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .flops = naive_flops,
    .bytes = naive_bytes,
    .footprint = naive_footprint,
    .setup = naive_setup,
    .run = naive_run,
    .verify = naive_verify,
    .tensors = naive_tensors,
    .teardown = naive_teardown,
    /* .axes 0: the attention family's axes (KB_AXES_ATTENTION) */
};

KBENCH_PLUGIN(&attention_naive)
