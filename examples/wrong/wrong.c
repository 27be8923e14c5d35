/* A deliberately wrong kbench plugin: an implementation of attention.softmax that forgets the
 * softmax, giving every visible key the same weight (O = the mean of V's rows). It runs and
 * writes O, but kbench's float64 reference of the operation disagrees, so its cases are stored
 * verify_failed and `kbench run` exits 1: a plugin cannot grade itself. */
#include <kbench/kbench.h>

static int setup(struct kb_case *c, char *err, size_t errlen)
{
    (void)c, (void)err, (void)errlen;
    return KB_OK;
}

static int run(struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    const float *v = kb_input(c, KB_ATTN_V);
    float *o = kb_output(c, KB_ATTN_O);
    int n = s->seq_len, d = s->head_dim, rows = s->decode ? 1 : n;
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++)
            for (int i = 0; i < rows; i++) {
                size_t row = ((size_t)(b * s->heads + h) * rows + i) * d;
                size_t kv = (size_t)(b * s->kv_heads + h / (s->heads / s->kv_heads)) * n * d;
                int keys = s->causal && !s->decode ? i + 1 : n;
                for (int e = 0; e < d; e++) {
                    float acc = 0.0f;
                    for (int j = 0; j < keys; j++) /* the bug: no Q·Kᵀ, no softmax */
                        acc += v[kv + (size_t)j * d + e];
                    o[row + e] = acc / (float)keys;
                }
            }
    return KB_OK;
}

static void teardown(struct kb_case *c) { (void)c; }

static const struct kb_kernel wrong = {
    .name = "attention.wrong", .impl = "cpu.plugin", .description = "softmax attention without the softmax (wrong on purpose)",
    .device = KB_DEVICE_CPU, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = setup, .run = run, .teardown = teardown, .op = &kb_op_attention_softmax,
};

KBENCH_PLUGIN(&wrong)
