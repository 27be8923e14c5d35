/* A deliberately wrong kbench plugin: y = 2x with an off-by-one loop that never writes the last
 * element, so its float64 check in verify must fail (kbench records the case as verify_failed). */
#include <kbench/kbench.h>
#include <stdio.h>
#include <stdlib.h>

struct state { float *x, *y; size_t n; };

static double flops(const struct kb_shape *s) { return s->seq_len; }
static double bytes(const struct kb_shape *s, enum kb_dtype t) { (void)t; return 8.0 * s->seq_len; }

static int setup(struct kb_case *c, char *err, size_t errlen)
{
    size_t n = (size_t)c->shape.seq_len;
    struct state *st = calloc(1, sizeof *st);
    float *x = malloc(n * sizeof *x), *y = calloc(n, sizeof *y);
    if (!st || !x || !y) {
        free(st), free(x), free(y);
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    *st = (struct state){ x, y, n };
    gen_fill_normal_f32(st->x, st->n, c->seed, 0.0, 1.0);
    c->state = st;
    return KB_OK;
}

static int run(struct kb_case *c)
{
    struct state *st = c->state;
    for (size_t i = 0; i + 1 < st->n; i++) /* the bug: stops one short */
        st->y[i] = 2.0f * st->x[i];
    return KB_OK;
}

static int verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct state *st = c->state;
    struct verify_acc a;
    verify_begin(&a);
    for (size_t i = 0; i < st->n; i++)
        verify_add(&a, st->y[i], 2.0 * (double)st->x[i]);
    acc->rows_checked = acc->rows_total = (long)st->n;
    verify_finish(&a, verify_default_tolerance(c->dtype), acc);
    return KB_OK;
}

static void teardown(struct kb_case *c)
{
    struct state *st = c->state;
    free(st->x);
    free(st->y);
    free(st);
}

static const struct kb_kernel wrong = {
    .name = "example.wrong", .impl = "cpu.mine", .description = "y = 2x, but the last element is never written",
    .family = KB_FAMILY_SELFTEST, .device = KB_DEVICE_CPU, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .flops = flops, .bytes = bytes, .setup = setup, .run = run, .verify = verify,
    .teardown = teardown, .axes = KB_AXIS_BIT(KB_AXIS_SEQ),
};

KBENCH_PLUGIN(&wrong)
