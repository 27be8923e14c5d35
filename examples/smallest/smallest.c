/* The smallest useful kbench plugin: an implementation of kbench's softmax attention
 * (attention.softmax), O = softmax(Q Kᵀ/√d) V in three plain loops. kbench makes Q, K and V,
 * checks O against its float64 reference and counts the FLOPs: this file only computes. */
#include <kbench/kbench.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int setup(struct kb_case *c, char *err, size_t errlen)
{
    c->state = malloc((size_t)c->shape.seq_len * sizeof(float)); /* one row of scores */
    if (!c->state)
        snprintf(err, errlen, "out of memory");
    return c->state ? KB_OK : KB_ERROR;
}

static int run(struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    const float *q = kb_input(c, KB_ATTN_Q), *k = kb_input(c, KB_ATTN_K), *v = kb_input(c, KB_ATTN_V);
    float *o = kb_output(c, KB_ATTN_O), *p = c->state;
    int n = s->seq_len, d = s->head_dim, rows = s->decode ? 1 : n;
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++)
            for (int i = 0; i < rows; i++) {
                size_t row = ((size_t)(b * s->heads + h) * rows + i) * d;
                size_t kv = (size_t)(b * s->kv_heads + h / (s->heads / s->kv_heads)) * n * d;
                int keys = s->causal && !s->decode ? i + 1 : n;
                float max = -INFINITY, sum = 0.0f;
                for (int j = 0; j < keys; j++) {
                    float dot = 0.0f;
                    for (int e = 0; e < d; e++)
                        dot += q[row + e] * k[kv + (size_t)j * d + e];
                    p[j] = dot / sqrtf((float)d);
                    max = fmaxf(max, p[j]);
                }
                for (int j = 0; j < keys; j++)
                    sum += p[j] = expf(p[j] - max);
                for (int e = 0; e < d; e++) {
                    float acc = 0.0f;
                    for (int j = 0; j < keys; j++)
                        acc += p[j] * v[kv + (size_t)j * d + e];
                    o[row + e] = acc / sum;
                }
            }
    return KB_OK;
}

static void teardown(struct kb_case *c) { free(c->state); }

static const struct kb_kernel mine = {
    .name = "attention.mine", .impl = "cpu.plugin", .description = "softmax attention in three plain loops",
    .device = KB_DEVICE_CPU, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = setup, .run = run, .teardown = teardown, .op = &kb_op_attention_softmax,
};

KBENCH_PLUGIN(&mine)
