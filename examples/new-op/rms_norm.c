/* rms_norm.c - a kbench plugin that defines a NEW operation, example.rms_norm, with its own
 * inputs, float64 reference and counts, and two implementations of it that kbench then compares
 * like its own:
 *
 *     y[t, :] = x[t, :] / sqrt(mean(x[t, :]²) + 1e-6) * w        (RMSNorm, per token t)
 *
 * An operation is defined once (struct kb_operation): which shape axes it has (tokens T and
 * hidden h, the input distribution), which dtypes, how its tensors are made from the case's seed
 * (inputs), how they are judged (verify), its useful FLOPs and minimum bytes. Its implementations
 * (struct kb_kernel with .op = &rms_norm) only compute: kbench gives both the same bytes and the
 * same verdict. Build:
 *   cc -std=c11 -O2 $(pkg-config --cflags kbench) -shared -fPIC -o librms_norm.so rms_norm.c -lm
 * and run: kbench run --plugin ./librms_norm.so --kernels 'example.rms_norm' --tokens 4k --hidden 4k */
#include <kbench/kbench.h>

#include <math.h>
#include <stdio.h>

/* ---- the operation ------------------------------------------------------------------------- */

enum { RMS_X, RMS_W, RMS_Y }; /* x [T,h] input, w [h] input, y [T,h] output; float32, row-major */
#define RMS_EPS 1e-6

/* square, sum, scale, weight: 4 per element */
static double rms_flops(const struct kb_shape *s) { return 4.0 * s->tokens * s->hidden; }
/* read x and w, write y */
static double rms_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return 4.0 * (2.0 * s->tokens * s->hidden + s->hidden);
}
static double rms_footprint(const struct kb_shape *s, enum kb_dtype t) { return rms_bytes(s, t); }

/* Allocates every tensor through kb_operands_add (aligned, zeroed, freed by kbench) and fills the
 * inputs from the seed: the same (shape, dtype, seed), the same bytes, for every implementation. */
static int rms_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                      size_t errlen)
{
    (void)t;
    if (s->tokens < 1 || s->hidden < 1) {
        snprintf(err, errlen, "example.rms_norm needs tokens and hidden >= 1");
        return KB_UNSUPPORTED;
    }
    const int64_t x_dims[2] = { s->tokens, s->hidden }, w_dims[1] = { s->hidden };
    if (kb_operands_add(io, "x", KB_DTYPE_F32, 2, x_dims, 0, 0, err, errlen) != RMS_X ||
        kb_operands_add(io, "w", KB_DTYPE_F32, 1, w_dims, 0, 0, err, errlen) != RMS_W ||
        kb_operands_add(io, "y", KB_DTYPE_F32, 2, x_dims, 1, 0, err, errlen) != RMS_Y)
        return KB_ERROR;
    gen_fill_input_f32(io->buffer[RMS_X], (size_t)s->tokens, (size_t)s->hidden, seed * 2 + 1, s->input);
    gen_fill_uniform_f32(io->buffer[RMS_W], (size_t)s->hidden, seed * 2 + 2, 0.5, 1.5);
    return KB_OK;
}

/* The float64 reference on up to 256 sampled tokens (the first, the last, the rest spread). */
static int rms_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                      int threads, struct kb_accuracy *acc)
{
    (void)threads;
    const float *x = io->tensor[RMS_X].data, *w = io->tensor[RMS_W].data, *y = io->tensor[RMS_Y].data;
    long rows[256], n = verify_sample_rows(s->tokens, 256, seed, rows);
    size_t h = (size_t)s->hidden;
    struct verify_acc a;
    verify_begin(&a);
    for (long r = 0; r < n; r++) {
        const float *xr = x + (size_t)rows[r] * h;
        double sq = 0.0;
        for (size_t e = 0; e < h; e++)
            sq += (double)xr[e] * xr[e];
        double inv = 1.0 / sqrt(sq / (double)h + RMS_EPS);
        for (size_t e = 0; e < h; e++)
            verify_add(&a, y[(size_t)rows[r] * h + e], xr[e] * inv * w[e]);
    }
    acc->rows_checked = n;
    acc->rows_total = s->tokens;
    verify_finish(&a, verify_default_tolerance(t), acc);
    return KB_OK;
}

static const struct kb_operation rms_norm = {
    .name = "example.rms_norm", /* a name no operation of kbench has */
    .description = "RMSNorm: y = x / sqrt(mean(x^2) + 1e-6) * w per token (example plugin)",
    .family = KB_FAMILY_MOE, /* the family whose axes it takes: tokens, hidden */
    .axes = KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .layout = "row-major float32; x and y [tokens,hidden], w [hidden]",
    .flops = rms_flops,
    .bytes = rms_bytes,
    .footprint = rms_footprint,
    .inputs = rms_inputs,
    .verify = rms_verify,
};

/* ---- two implementations ------------------------------------------------------------------- */

static int nothing_to_set_up(struct kb_case *c, char *err, size_t errlen)
{
    (void)c, (void)err, (void)errlen;
    return KB_OK;
}
static void nothing_to_free(struct kb_case *c) { (void)c; }

/* The plain loop: the sum of squares in double. */
static int rms_plain(struct kb_case *c)
{
    const float *x = kb_input(c, RMS_X), *w = kb_input(c, RMS_W);
    float *y = kb_output(c, RMS_Y);
    size_t h = (size_t)c->shape.hidden;
    for (size_t t = 0; t < (size_t)c->shape.tokens; t++) {
        const float *xr = x + t * h;
        double sq = 0.0;
        for (size_t e = 0; e < h; e++)
            sq += (double)xr[e] * xr[e];
        float inv = (float)(1.0 / sqrt(sq / (double)h + RMS_EPS));
        for (size_t e = 0; e < h; e++)
            y[t * h + e] = xr[e] * inv * w[e];
    }
    return KB_OK;
}

/* Eight float partial sums, which a compiler can keep in one vector register. */
static int rms_lanes(struct kb_case *c)
{
    const float *x = kb_input(c, RMS_X), *w = kb_input(c, RMS_W);
    float *y = kb_output(c, RMS_Y);
    size_t h = (size_t)c->shape.hidden;
    for (size_t t = 0; t < (size_t)c->shape.tokens; t++) {
        const float *xr = x + t * h;
        float part[8] = { 0 };
        size_t e = 0;
        for (; e + 8 <= h; e += 8)
            for (int l = 0; l < 8; l++)
                part[l] += xr[e + l] * xr[e + l];
        for (; e < h; e++)
            part[0] += xr[e] * xr[e];
        float sq = 0.0f;
        for (int l = 0; l < 8; l++)
            sq += part[l];
        float inv = 1.0f / sqrtf(sq / (float)h + (float)RMS_EPS);
        for (e = 0; e < h; e++)
            y[t * h + e] = xr[e] * inv * w[e];
    }
    return KB_OK;
}

static const struct kb_kernel rms_norm_plain = {
    .name = "example.rms_norm", .impl = "cpu.plain", .description = "RMSNorm, sum of squares in double",
    .device = KB_DEVICE_CPU, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = nothing_to_set_up, .run = rms_plain, .teardown = nothing_to_free, .op = &rms_norm,
};

static const struct kb_kernel rms_norm_lanes = {
    .name = "example.rms_norm", .impl = "cpu.lanes", .description = "RMSNorm, eight float partial sums",
    .device = KB_DEVICE_CPU, .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .setup = nothing_to_set_up, .run = rms_lanes, .teardown = nothing_to_free, .op = &rms_norm,
};

KBENCH_PLUGIN(&rms_norm_plain, &rms_norm_lanes)
