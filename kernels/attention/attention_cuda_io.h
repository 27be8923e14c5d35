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
/* The case's operands 0, 1, 2 (Q [B,H,N,d], K and V [B,H_kv,N,d]) on the GPU in c->dtype and
 * O [B,H,N,d] allocated there, poisoned with NaN; a->in stays empty (the case owns the host
 * inputs). Refuses a dtype other than f16/bf16 and, when dims_ok is given, a head_dim not in
 * it. KB_OK, KB_UNSUPPORTED or KB_ERROR with a message; on failure nothing stays allocated. */
int attention_cuda_from_case(struct attention_cuda *a, struct kb_case *c, const int *dims_ok, int n_dims, char *err,
                             size_t errlen);
/* A .collect: waits for c->stream, then O widened to float32 into the case's output
 * out_index ([B,H,N,d]). KB_OK, or KB_ERROR with the reason in c->error. */
int attention_cuda_collect(struct kb_case *c, const struct attention_cuda *a, int out_index);

#endif
