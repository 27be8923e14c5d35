/* test_operations.c - every registered operation with every implementation that can run here,
 * the way the harness runs them (harness/case.h: the operation's inputs, setup, run, collect, the
 * operation's verdict, teardown), at small odd sizes (seq 67, M 33: no tile, vector width or
 * thread count divides them):
 *   - each implementation passes verification (or says KB_UNSUPPORTED for the shape or dtype,
 *     which is printed as a TAP comment, not a failure);
 *   - all implementations of an operation see byte-identical input tensors for one (shape, dtype,
 *     seed), and report identical useful FLOPs and minimum bytes (true by construction, the
 *     operation counts; kept true here);
 *   - kb_case_tensors (what --dump writes) lists every operand, each with its data.
 * CUDA implementations run where a GPU is and are skipped, saying why, where none is. The
 * selftest.fault implementations fail on purpose (tests/reliability.sh and test_runner run them
 * in forked cases) and are only listed. Every kernel must implement an operation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/case.h"
#include "harness/gpu.h"
#include "harness/timer_gpu.h"
#include "kernels/kernel.h"

/* The sizes the shapes take where the axis fallbacks (kernels/axes.c) are round numbers. */
static const struct { enum kb_axis axis; int value; } odd_sizes[] = {
    { KB_AXIS_BATCH, 2 },   { KB_AXIS_HEADS, 4 },   { KB_AXIS_SEQ, 67 },     { KB_AXIS_WINDOW, 24 },
    { KB_AXIS_BLOCK, 16 },  { KB_AXIS_TOPK_BLOCKS, 2 }, { KB_AXIS_CHUNK, 16 },
    { KB_AXIS_M, 33 },      { KB_AXIS_N, 40 },      { KB_AXIS_K, 256 },      { KB_AXIS_GROUP, 64 },
    { KB_AXIS_TOKENS, 37 }, { KB_AXIS_HIDDEN, 128 }, { KB_AXIS_FFN, 192 }, { KB_AXIS_STATE, 24 },
};

#define SHAPES_MAX 3

/* The shapes an operation is tried at: its axes at their fallbacks, sized oddly; then, where it
 * has such axes, every switch flipped (causal, decay, ...; the next value of each enumerated axis
 * but the input distribution) with grouped-query heads (H_kv = H/2); then decode. Returns how
 * many. */
static int shapes_of(const struct kb_operation *op, struct kb_shape out[SHAPES_MAX])
{
    struct kb_shape s;
    memset(&s, 0, sizeof s);
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        if (op->axes & KB_AXIS_BIT(a))
            kb_shape_set(&s, (enum kb_axis)a, kb_axis_info((enum kb_axis)a)->fallback);
    for (size_t i = 0; i < sizeof odd_sizes / sizeof odd_sizes[0]; i++)
        if (op->axes & KB_AXIS_BIT(odd_sizes[i].axis))
            kb_shape_set(&s, odd_sizes[i].axis, odd_sizes[i].value);
    if (s.kv_heads == 0)
        s.kv_heads = s.heads; /* as the runner completes it */
    uint64_t width = KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM);
    if ((op->axes & width) == width)
        s.hidden = s.heads * s.head_dim; /* a transformer block's width is its heads' */
    int n = 0;
    out[n++] = s;
    int flipped = 0;
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        if (!(op->axes & KB_AXIS_BIT(a)) || a == KB_AXIS_DECODE || a == KB_AXIS_INPUT)
            continue;
        int v = kb_shape_get(&s, (enum kb_axis)a);
        if (ax->kind == KB_AXIS_KIND_BOOL)
            kb_shape_set(&s, (enum kb_axis)a, !v);
        else if (ax->kind == KB_AXIS_KIND_ENUM)
            kb_shape_set(&s, (enum kb_axis)a, v % ax->max + 1);
        else if (a == KB_AXIS_KV_HEADS && s.heads > 1)
            s.kv_heads = s.heads / 2;
        else
            continue;
        flipped = 1;
    }
    if (flipped)
        out[n++] = s;
    if (op->axes & KB_AXIS_BIT(KB_AXIS_DECODE)) {
        s = out[0];
        s.decode = 1;
        out[n++] = s;
    }
    return n;
}

/* The planner's view of the shape for one implementation: the axes it does not sweep are 0. */
static struct kb_shape shape_for(const struct kb_kernel *k, const struct kb_shape *s)
{
    struct kb_shape out;
    memset(&out, 0, sizeof out);
    uint64_t axes = kb_kernel_axes(k);
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        if (axes & KB_AXIS_BIT(a))
            kb_shape_set(&out, (enum kb_axis)a, kb_shape_get(s, (enum kb_axis)a));
    if ((axes & KB_AXIS_BIT(KB_AXIS_HEADS)) && out.kv_heads == 0)
        out.kv_heads = out.heads;
    return out;
}

/* The inputs the first implementation saw for one (shape, dtype, seed): what the others must
 * match. */
struct seen_inputs {
    struct kb_shape shape;
    enum kb_dtype dtype;
    uint64_t seed;
    const struct kb_kernel *first;
    int count;
    struct kb_tensor tensor[KB_TENSORS_MAX];
    void *copy[KB_TENSORS_MAX];
    size_t bytes[KB_TENSORS_MAX];
};

struct op_run {
    const struct kb_operation *op;
    struct seen_inputs seen[64];
    int n_seen;
    int failures, verified, unsupported;
    int expect_failures; /* the checks' own test: a failure is what it wants */
    struct gpu_timer *gpu; /* NULL: no GPU here (why in no_gpu) */
    char no_gpu[256];
};

static void failure(struct op_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# %s %s: ", r->expect_failures ? "caught, as it should be:" : "FAIL", r->op->name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    r->failures++;
}

/* Records the first implementation's inputs for (shape, dtype), or compares with them. */
static void check_same_inputs(struct op_run *r, const struct kb_case *c, const struct kb_shape *planned,
                              const char *what)
{
    struct seen_inputs *s = NULL;
    for (int i = 0; i < r->n_seen && !s; i++)
        if (r->seen[i].dtype == c->dtype && r->seen[i].seed == c->seed &&
            memcmp(&r->seen[i].shape, planned, sizeof *planned) == 0)
            s = &r->seen[i];
    if (!s) {
        if (r->n_seen == (int)(sizeof r->seen / sizeof r->seen[0]))
            return;
        s = &r->seen[r->n_seen++];
        memset(s, 0, sizeof *s);
        s->shape = *planned;
        s->dtype = c->dtype;
        s->seed = c->seed;
        s->first = c->kernel;
        s->count = c->io.count;
        for (int i = 0; i < c->io.count; i++) {
            s->tensor[i] = c->io.tensor[i];
            s->bytes[i] = c->io.bytes[i];
            if (c->io.tensor[i].is_output)
                continue;
            s->copy[i] = malloc(c->io.bytes[i]);
            assert_non_null(s->copy[i]);
            memcpy(s->copy[i], c->io.buffer[i], c->io.bytes[i]);
        }
        return;
    }
    const char *first = s->first->impl;
    if (c->io.count != s->count) {
        failure(r, "%s has %d operands, %s@%s had %d", what, c->io.count, s->first->name, first, s->count);
        return;
    }
    for (int i = 0; i < c->io.count; i++) {
        const struct kb_tensor *t = &c->io.tensor[i], *u = &s->tensor[i];
        int same = t->dtype == u->dtype && t->ndim == u->ndim && t->is_output == u->is_output &&
                   strcmp(t->name, u->name) == 0 && c->io.bytes[i] == s->bytes[i] &&
                   memcmp(t->dims, u->dims, sizeof t->dims) == 0;
        if (!same)
            failure(r, "%s: operand %d (%s) is not laid out as %s@%s's", what, i, t->name, s->first->name, first);
        else if (!t->is_output && memcmp(c->io.buffer[i], s->copy[i], s->bytes[i]) != 0)
            failure(r, "%s: input %s differs from the bytes %s@%s saw", what, t->name, s->first->name, first);
    }
}

static void free_seen(struct op_run *r)
{
    for (int i = 0; i < r->n_seen; i++)
        for (int j = 0; j < r->seen[i].count; j++)
            free(r->seen[i].copy[j]);
    r->n_seen = 0;
}

/* One case of one implementation: begin, run, verify, the tensors, end. */
static void run_case(struct op_run *r, const struct kb_kernel *k, const struct kb_shape *s, enum kb_dtype t,
                     uint64_t seed)
{
    char shape[160], what[320];
    struct kb_shape planned = shape_for(k, s);
    kb_shape_string(&planned, kb_kernel_axes(k), shape, sizeof shape);
    snprintf(what, sizeof what, "%s@%s %s %s", k->name, k->impl, kb_dtype_name(t), shape);
    double need = kb_kernel_footprint(k, &planned, t);
    if (need > 2e9) {
        printf("# %s: skipped, needs %.3g bytes\n", what, need);
        return;
    }
    struct kb_case c = { .kernel = k, .shape = planned, .dtype = t, .threads = 2, .seed = seed,
                         .input_copies_wanted = 1 };
    if (k->device == KB_DEVICE_CUDA)
        c.stream = gpu_timer_stream(r->gpu);
    char err[512] = "";
    int rc = kb_case_begin(&c, err, sizeof err);
    if (rc == KB_UNSUPPORTED) {
        printf("# %s: unsupported: %s\n", what, err);
        r->unsupported++;
        return;
    }
    if (rc != KB_OK) {
        failure(r, "%s: setup failed: %s", what, err);
        return;
    }
    check_same_inputs(r, &c, &planned, what);
    struct kb_accuracy acc;
    memset(&acc, 0, sizeof acc);
    if (kb_case_run(&c) != KB_OK || (r->gpu && k->device == KB_DEVICE_CUDA &&
                                     gpu_timer_sync(r->gpu, c.error, sizeof c.error) != 0)) {
        failure(r, "%s: run failed: %s", what, c.error);
    } else if (kb_case_verify(&c, &acc) != KB_OK) {
        failure(r, "%s: verify could not judge: %s", what, c.error);
    } else if (!acc.passed) {
        failure(r, "%s: wrong answer: relative L2 error %.3g, tolerance %.3g (%ld of %ld rows checked)", what,
                acc.rel_l2_err, acc.tolerance, acc.rows_checked, acc.rows_total);
    } else {
        r->verified++;
    }
    struct kb_tensor tensors[KB_TENSORS_MAX];
    int n = kb_case_tensors(&c, tensors, KB_TENSORS_MAX);
    if (n < c.io.count)
        failure(r, "%s: kb_case_tensors lists %d tensors, the operation has %d", what, n, c.io.count);
    for (int i = 0; i < n; i++)
        if (!tensors[i].data || !tensors[i].name || !*tensors[i].name)
            failure(r, "%s: tensor %d (%s) has no %s", what, i, tensors[i].name ? tensors[i].name : "?",
                    tensors[i].data ? "name" : "data");
    for (int i = 0; i < c.io.count && i < n; i++)
        if (tensors[i].data != c.io.tensor[i].data)
            failure(r, "%s: dumped tensor %d is not operand %d (%s)", what, i, i, c.io.tensor[i].name);
    kb_case_end(&c);
    if (c.io.count != 0)
        failure(r, "%s: the operands were not freed by kb_case_end", what);
}

/* Same counts from every implementation of the operation, for each shape and dtype. */
static void check_counts(struct op_run *r, const struct kb_kernel *const *impls, int n, const struct kb_shape *s)
{
    for (int i = 1; i < n; i++) {
        double f0 = kb_kernel_flops(impls[0], s), f = kb_kernel_flops(impls[i], s);
        if (!(f0 == f || (isnan(f0) && isnan(f))))
            failure(r, "flops: %s@%s %.6g, %s@%s %.6g", impls[0]->name, impls[0]->impl, f0, impls[i]->name,
                    impls[i]->impl, f);
        for (int t = 0; t < KB_DTYPE_COUNT; t++) {
            if (!(r->op->dtypes & KB_DTYPE_BIT(t)))
                continue;
            double b0 = kb_kernel_bytes(impls[0], s, (enum kb_dtype)t), b = kb_kernel_bytes(impls[i], s, (enum kb_dtype)t);
            if (!(b0 == b || (isnan(b0) && isnan(b))))
                failure(r, "bytes %s: %s@%s %.6g, %s@%s %.6g", kb_dtype_name((enum kb_dtype)t), impls[0]->name,
                        impls[0]->impl, b0, impls[i]->name, impls[i]->impl, b);
        }
    }
}

static struct gpu_timer *gpu;
static char no_gpu[256] = "";

static void test_operation(void **state)
{
    const struct kb_operation *op = *state;
    static struct op_run r;
    memset(&r, 0, sizeof r);
    r.op = op;
    r.gpu = gpu;
    size_t nk;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    const struct kb_kernel *impls[256];
    int n = 0;
    for (size_t i = 0; i < nk && n < 256; i++)
        if (all[i]->op == op)
            impls[n++] = all[i];
    assert_true(n > 0);
    struct kb_shape shapes[SHAPES_MAX];
    int ns = shapes_of(op, shapes);
    for (int si = 0; si < ns; si++) {
        check_counts(&r, impls, n, &shapes[si]);
        for (int i = 0; i < n; i++) {
            const struct kb_kernel *k = impls[i];
            if (strcmp(op->name, "selftest.fault") == 0) {
                if (si == 0)
                    printf("# %s@%s: fails on purpose (reliability.sh, gpu.sh and test_runner run it in a "
                           "forked case)\n", k->name, k->impl);
                continue;
            }
            if (k->device == KB_DEVICE_CUDA && !gpu) {
                if (si == 0)
                    printf("# %s@%s: skipped, no GPU: %s\n", k->name, k->impl, no_gpu);
                continue;
            }
            /* a shape that differs only in axes this implementation does not sweep is one it ran */
            struct kb_shape mine = shape_for(k, &shapes[si]);
            int ran = 0;
            for (int sj = 0; sj < si && !ran; sj++) {
                struct kb_shape before = shape_for(k, &shapes[sj]);
                ran = memcmp(&before, &mine, sizeof mine) == 0;
            }
            if (ran)
                continue;
            for (int t = 0; t < KB_DTYPE_COUNT; t++)
                if (op->dtypes & k->dtypes & KB_DTYPE_BIT(t))
                    run_case(&r, k, &shapes[si], (enum kb_dtype)t, 0x5eed0000u + (uint64_t)si);
        }
    }
    printf("# %s: %d implementations, %d cases verified, %d unsupported\n", op->name, n, r.verified, r.unsupported);
    if (r.unsupported > 0 && r.verified == 0)
        failure(&r, "every case that ran was unsupported: the shapes of this test miss what the operation defines");
    free_seen(&r);
    assert_int_equal(r.failures, 0);
}

/* Every kernel is an implementation of an operation (the harness dereferences .op). */
static void test_every_kernel_has_an_operation(void **state)
{
    (void)state;
    size_t nk;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    int without = 0;
    for (size_t i = 0; i < nk; i++)
        if (!all[i]->op) {
            printf("# %s@%s implements no operation\n", all[i]->name, all[i]->impl);
            without++;
        }
    assert_int_equal(without, 0);
}

/* The checks above must be able to fail: an input that differs, and counts that differ, are seen. */
static double flops_one(const struct kb_shape *s) { (void)s; return 1; }
static double flops_two(const struct kb_shape *s) { (void)s; return 2; }
static double no_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 0; }

static void test_the_checks_catch_differences(void **state)
{
    (void)state;
    static const struct kb_operation a = { .name = "test.a", .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
                                           .flops = flops_one, .bytes = no_bytes };
    static const struct kb_operation b = { .name = "test.b", .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
                                           .flops = flops_two, .bytes = no_bytes };
    const struct kb_kernel ka = { .name = "test.k", .impl = "a", .op = &a }, kb = { .name = "test.k", .impl = "b", .op = &b };
    const struct kb_kernel *pair[2] = { &ka, &kb };
    static struct op_run r;
    memset(&r, 0, sizeof r);
    r.op = &a;
    r.expect_failures = 1;
    struct kb_shape s;
    memset(&s, 0, sizeof s);
    check_counts(&r, pair, 2, &s);
    assert_int_equal(r.failures, 1);

    r.failures = 0;
    struct kb_case c = { .kernel = &ka };
    char err[128];
    const int64_t dims[1] = { 5 };
    assert_int_equal(kb_operands_add(&c.io, "x", KB_DTYPE_F32, 1, dims, 0, 0, err, sizeof err), 0);
    check_same_inputs(&r, &c, &s, "first");
    check_same_inputs(&r, &c, &s, "same");
    assert_int_equal(r.failures, 0);
    ((float *)c.io.buffer[0])[4] = 1.0f;
    check_same_inputs(&r, &c, &s, "changed");
    assert_int_equal(r.failures, 1);
    kb_operands_free(&c.io);
    free_seen(&r);
}

int main(void)
{
    int devices = gpu_count(no_gpu, sizeof no_gpu);
    if (devices > 0) {
        gpu = gpu_timer_new(0, 0, no_gpu, sizeof no_gpu);
    } else if (devices == 0) {
        snprintf(no_gpu, sizeof no_gpu, "no CUDA device");
    }
    size_t n;
    const struct kb_operation *const *ops = kb_registry_operations(&n);
    struct CMUnitTest *tests = calloc(n + 2, sizeof *tests);
    assert_non_null(tests);
    size_t t = 0;
    tests[t++] = (struct CMUnitTest)cmocka_unit_test(test_the_checks_catch_differences);
    tests[t++] = (struct CMUnitTest)cmocka_unit_test(test_every_kernel_has_an_operation);
    /* one test per operation, named after it; cmocka hands initial_state to it as *state */
    for (size_t i = 0; i < n; i++)
        tests[t++] = (struct CMUnitTest){ .name = ops[i]->name, .test_func = test_operation,
                                          .initial_state = (void *)(uintptr_t)ops[i] };
    int rc = _cmocka_run_group_tests("operations", tests, t, NULL, NULL);
    free(tests);
    gpu_timer_free(gpu);
    return rc;
}
