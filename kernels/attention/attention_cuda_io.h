/* attention_cuda_io.h - the CUDA implementations of the operations of linear_ops.h and
 * sparse_ops.h: the case's host operands onto the GPU and the output back. The operation has
 * already drawn Q, K, V (and GLA's gates) in float32 and rounded them to f16/bf16 values, so
 * converting them on the GPU is exact and every implementation computes on the bytes the
 * reference reads. Private to the family. */
#ifndef KB_ATTENTION_CUDA_IO_H
#define KB_ATTENTION_CUDA_IO_H

#include <stddef.h>

#include "kernels/attention/attention_cuda.h"

/* A float32 host tensor of n elements converted on the GPU into a new device buffer *dst of
 * dtype t (f16/bf16). KB_OK, or KB_ERROR with the CUDA error in err (*dst freed). */
int attention_cuda_upload_f32(const float *host, size_t n, enum kb_dtype t, void **dst, void *stream, char *err,
                              size_t errlen);
/* The case's operands 0, 1, 2 (Q, K, V, host float32) each onto the GPU into a new buffer (*q,
 * *k, *v) in c->dtype, by attention_cuda_upload_f32. KB_OK, or KB_ERROR with the CUDA error in
 * err (the buffers made before the failure stay for the caller to free). */
int attention_cuda_upload_qkv(const struct kb_case *c, void **q, void **k, void **v, char *err, size_t errlen);
/* The case's operands 0, 1, 2 (Q [B,H,N,d], K and V [B,H_kv,N,d]) on the GPU in c->dtype and
 * O [B,H,N,d] allocated there, poisoned with NaN; a->in stays empty (the case owns the host
 * inputs). Refuses a dtype other than f16/bf16 and, when dims_ok is given, a head_dim not in
 * it. KB_OK, KB_UNSUPPORTED or KB_ERROR with a message; on failure nothing stays allocated. */
int attention_cuda_from_case(struct attention_cuda *a, struct kb_case *c, const int *dims_ok, int n_dims, char *err,
                             size_t errlen);
/* A .collect: waits for c->stream, then O widened to float32 into the case's output
 * out_index ([B,H,N,d]). KB_OK, or KB_ERROR with the reason in c->error. */
int attention_cuda_collect(struct kb_case *c, const struct attention_cuda *a, int out_index);

/* The start of a chunk-parallel kernel's setup (attention.linear, .lightning, .gla @cuda.mma):
 * refuses when need bytes do not fit the GPU (what names the kernel in that message), then a
 * zeroed state of state_bytes, whose first member must be its struct attention_cuda, filled by
 * attention_cuda_from_case for d = 64 or 128, becomes c->state. KB_OK, or the error with a
 * message and nothing allocated. */
int attention_cuda_chunked_setup(struct kb_case *c, size_t state_bytes, double need, const char *what, char *err,
                                 size_t errlen);
/* The device bytes of Q, K, V and O in c's dtype plus a float32 O: what the chunk-parallel
 * kernels need beyond their chunk states. */
double attention_cuda_chunked_io_bytes(const struct kb_shape *s, enum kb_dtype t);
/* The message for a failed chunk-state allocation of `bytes` (cuda_error a cudaError_t):
 * "kernel: allocating X GiB of chunk states: ...". Returns KB_ERROR. */
int attention_cuda_chunk_states_error(const char *kernel, double bytes, int cuda_error, char *err, size_t errlen);
/* A .run's launch result (cuda_error a cudaError_t): KB_OK for 0, else KB_ERROR with
 * "what launch: <CUDA error>" in c->error. */
int attention_cuda_launch_result(struct kb_case *c, int cuda_error, const char *what);

#endif
