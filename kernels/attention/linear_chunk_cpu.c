/* linear_chunk_cpu.c - the buffers of the chunked linear-attention CPU kernels (linear_chunk_cpu.h),
 * shared by attention.linear@cpu and attention.lightning@cpu. */
#include "kernels/attention/linear_chunk_cpu.h"

#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int linear_chunk_buffers_setup(struct linear_chunk_buffers *b, const struct kb_case *c, const char *kernel,
                               linear_chunk_scratch_fn scratch_floats_of, size_t state_rows, int decay, char *err,
                               size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim, bh = (size_t)s->batch * s->heads;
    b->n_in = s->seq_len + (s->decode ? 1 : 0);
    b->chunk = s->chunk < s->seq_len ? s->chunk : s->seq_len;
    b->nthreads = c->threads > 0 ? c->threads : 1;
    b->isa = linear_isa_best();
    b->scratch_floats = scratch_floats_of((size_t)b->chunk, d);
    b->decay_pow = attention_alloc((size_t)s->heads * (b->chunk + 1) * sizeof(float));
    b->scratch_mem = attention_alloc((size_t)b->nthreads * b->scratch_floats * sizeof(float));
    if (s->decode) {
        b->state_in = attention_alloc(bh * state_rows * d * sizeof(float));
        b->state_out = attention_alloc(bh * state_rows * d * sizeof(float));
    }
    if (!b->decay_pow || !b->scratch_mem || (s->decode && (!b->state_in || !b->state_out))) {
        snprintf(err, errlen, "%s: out of memory for the states and %d threads' scratch", kernel, b->nthreads);
        return KB_ERROR;
    }
    for (int h = 0; h < s->heads; h++) {
        double lambda = decay ? linear_decay_lambda(h, s->heads) : 1.0;
        for (int m = 0; m <= b->chunk; m++)
            b->decay_pow[(size_t)h * (b->chunk + 1) + m] = (float)pow(lambda, m);
    }
    return KB_OK;
}

void linear_chunk_buffers_free(struct linear_chunk_buffers *b)
{
    free(b->decay_pow);
    free(b->state_in);
    free(b->state_out);
    free(b->scratch_mem);
}

int linear_chunk_use_path(struct linear_chunk_buffers *b, const char *name)
{
    const struct linear_isa *isa = linear_isa_by_name(name);
    if (!isa || !b)
        return -1;
    b->isa = isa;
    return 0;
}

double linear_chunk_footprint(const struct kb_shape *s, size_t state_rows, linear_chunk_scratch_fn scratch_floats_of)
{
    size_t chunk = (size_t)(s->chunk > 0 && s->chunk < s->seq_len ? s->chunk : s->seq_len);
    double states = s->decode ? 2.0 * (double)s->batch * s->heads * (double)state_rows * s->head_dim : 0;
    /* one thread's scratch; each further thread adds as much again */
    return 4.0 * (states + (double)s->heads * (chunk + 1) + (double)scratch_floats_of(chunk, (size_t)s->head_dim));
}

int linear_chunk_tensors(const struct kb_shape *s, const struct linear_chunk_buffers *b, int state_rows,
                         struct kb_tensor *out, int max)
{
    int n = 0;
    if (s->decode && n + 1 < max) {
        out[n++] = (struct kb_tensor){ .name = "state", .dtype = KB_DTYPE_F32, .ndim = 4,
                                       .dims = { s->batch, s->heads, state_rows, s->head_dim },
                                       .data = b->state_in, .is_output = 0 };
        out[n++] = (struct kb_tensor){ .name = "state_next", .dtype = KB_DTYPE_F32, .ndim = 4,
                                       .dims = { s->batch, s->heads, state_rows, s->head_dim },
                                       .data = b->state_out, .is_output = 1 };
    }
    return n;
}
