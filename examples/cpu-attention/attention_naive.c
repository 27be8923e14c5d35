/* attention_naive.c - a kbench plugin: an implementation of kbench's softmax attention
 * (attention.softmax, <kbench/kbench.h>'s softmax_ops.h), registered as attention.naive@cpu.plugin
 * beside attention.flash@cpu.
 *
 * What the operation gives it (c->io, filled before setup): Q [B,H,N,d], K and V [B,H_kv,N,d]
 * (grouped-query attention: query head h reads key/value head h / (H/H_kv)), and O [B,H,N,d] to
 * write, all float32, row-major; with decode = 1, Q and O hold one row per head, which sees all
 * N keys. What it writes: setup (check the shape, allocate its own workspace), run (compute O),
 * teardown. kbench judges O against the float64 reference, on sampled rows, within the dtype's
 * tolerance, and counts FLOPs and bytes the operation's way, the same for every implementation.
 *
 * The algorithm: one pass over the keys per query row with an online softmax (the running maximum
 * rescales what is summed so far), so no row of N scores is kept: the workspace is one row of d
 * floats. f16 and bf16 cases give float32 inputs holding f16/bf16 values; this computes in
 * float32 for all three and is judged with each dtype's tolerance. Build:
 *   cc -std=c11 -O2 $(pkg-config --cflags kbench) -shared -fPIC -o libattention_naive.so attention_naive.c -lm
 * and run: kbench run --plugin ./libattention_naive.so --kernels 'attention.naive,attention.flash@cpu' */
#include <kbench/kbench.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Host bytes setup allocates beyond the operation's tensors: kbench adds it to the operation's
 * footprint and skips a shape that would not fit in memory before running it. */
static double naive_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return sizeof(float) * (double)s->head_dim;
}

static int naive_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape; /* completed by the operation: kv_heads is set */
    if (s->head_dim > 1024) {
        snprintf(err, errlen, "attention.naive: d = %d is more than this example handles (1024)", s->head_dim);
        return KB_UNSUPPORTED; /* stored as skipped, with this message */
    }
    c->state = malloc((size_t)s->head_dim * sizeof(float));
    if (!c->state) {
        snprintf(err, errlen, "attention.naive: out of memory");
        return KB_ERROR;
    }
    return KB_OK;
}

/* One query row against `keys` rows of K and V, into out. */
static void attend_row(const float *q, const float *k, const float *v, int keys, int d, float *acc, float *out)
{
    float scale = 1.0f / sqrtf((float)d), max = -INFINITY, sum = 0.0f;
    for (int e = 0; e < d; e++)
        acc[e] = 0.0f;
    for (int j = 0; j < keys; j++) {
        const float *kj = k + (size_t)j * d, *vj = v + (size_t)j * d;
        float dot = 0.0f;
        for (int e = 0; e < d; e++)
            dot += q[e] * kj[e];
        float score = dot * scale, m = fmaxf(max, score);
        float rescale = expf(max - m), p = expf(score - m); /* exp(-inf) = 0 on the first key */
        sum = sum * rescale + p;
        for (int e = 0; e < d; e++)
            acc[e] = acc[e] * rescale + p * vj[e];
        max = m;
    }
    for (int e = 0; e < d; e++)
        out[e] = acc[e] / sum;
}

static int naive_run(struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    const float *q = kb_input(c, KB_ATTN_Q), *k = kb_input(c, KB_ATTN_K), *v = kb_input(c, KB_ATTN_V);
    float *o = kb_output(c, KB_ATTN_O);
    int n = s->seq_len, d = s->head_dim, rows = s->decode ? 1 : n, group = s->heads / s->kv_heads;
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++) {
            size_t kv = ((size_t)b * s->kv_heads + h / group) * n * d;
            for (int i = 0; i < rows; i++) {
                size_t row = (((size_t)b * s->heads + h) * rows + i) * d;
                int keys = s->causal && !s->decode ? i + 1 : n;
                attend_row(q + row, k + kv, v + kv, keys, d, c->state, o + row);
            }
        }
    return KB_OK;
}

static void naive_teardown(struct kb_case *c)
{
    free(c->state);
    c->state = NULL;
}

static const struct kb_kernel attention_naive = {
    .name = "attention.naive",
    .impl = "cpu.plugin",
    .description = "softmax attention, one pass per row with an online softmax, float32 (example plugin)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .footprint = naive_footprint,
    .setup = naive_setup,
    .run = naive_run,
    .teardown = naive_teardown,
    .op = &kb_op_attention_softmax,
    /* .axes 0: all of the operation's (batch, heads, kv_heads, seq, head_dim, causal, decode, input) */
};

KBENCH_PLUGIN(&attention_naive)
