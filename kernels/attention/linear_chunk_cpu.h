/* linear_chunk_cpu.h - what the chunked CPU kernels of decayed linear attention
 * (attention.linear@cpu, attention.lightning@cpu) keep beyond their operands: the per-head decay
 * table, the decode states and the threads' scratch, set up, described and freed the same way
 * (linear_chunk_cpu.c). Each kernel keeps its own per-head passes and state layout. Not part of
 * the kernel contract. */
#ifndef KB_LINEAR_CHUNK_CPU_H
#define KB_LINEAR_CHUNK_CPU_H

#include <stddef.h>

#include "kernels/attention/linear_isa.h"
#include "kernels/kernel.h"

struct linear_chunk_buffers {
    int n_in;                    /* tokens in the inputs: N, N + 1 in decode */
    int chunk;                   /* C = min(chunk, N) */
    float *decay_pow;            /* [H][C + 1]: λ_h^m, all 1 without decay */
    float *state_in, *state_out; /* decode: [B·H][state_rows·d] */
    int nthreads;
    size_t scratch_floats;       /* one thread's scratch */
    float *scratch_mem;          /* nthreads scratches */
    const struct linear_isa *isa;
};

/* One thread's scratch size for chunk C and head dim d. */
typedef size_t (*linear_chunk_scratch_fn)(size_t chunk, size_t d);

/* Fills b for case c (whose shape is checked): n_in, chunk, threads, the best SIMD path, the
 * decay table (λ_h^m when decay, else 1), the scratch and, in decode, the two state buffers of
 * state_rows·d floats per (batch, head). KB_OK, or KB_ERROR with a message naming kernel when
 * out of memory (b then holds what was allocated: linear_chunk_buffers_free frees it). */
int linear_chunk_buffers_setup(struct linear_chunk_buffers *b, const struct kb_case *c, const char *kernel,
                               linear_chunk_scratch_fn scratch_floats_of, size_t state_rows, int decay, char *err,
                               size_t errlen);
void linear_chunk_buffers_free(struct linear_chunk_buffers *b);

/* Thread tid's scratch. */
static inline float *linear_chunk_scratch(const struct linear_chunk_buffers *b, int tid)
{
    return b->scratch_mem + (size_t)tid * b->scratch_floats;
}

/* Selects the named SIMD path (linear_isa.h); 0, or -1 when b is NULL or this CPU cannot run it. */
int linear_chunk_use_path(struct linear_chunk_buffers *b, const char *name);

/* The footprint beyond the operands: the decode states, the decay table and one thread's
 * scratch, in bytes. */
double linear_chunk_footprint(const struct kb_shape *s, size_t state_rows, linear_chunk_scratch_fn scratch_floats_of);

/* Decode's own tensors, "state" (before the step) and "state_next" ([B,H,state_rows,d]); none
 * outside decode. The count written. */
int linear_chunk_tensors(const struct kb_shape *s, const struct linear_chunk_buffers *b, int state_rows,
                         struct kb_tensor *out, int max);

#endif
