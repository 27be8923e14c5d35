/* linear_sp.h - attention.linear@cuda.sp (linear_sp.c): linear attention over the GPUs of a
 * span, sequence parallel as LASP-2 does it, and the launchers of its own device code
 * (linear_sp_dev.cu). Private to the family. */
#ifndef KB_LINEAR_SP_H
#define KB_LINEAR_SP_H

#ifdef __cplusplus
extern "C" {
#endif

/* One shard's state per kv head, [groups][(d+1)·d] float32 (S then z), and the running z
 * zc [groups][n][d]; k and v [groups][n][d] in f16 (bf16 = 0) or bf16. Feature: enum
 * kb_feature_map. Returns a cudaError_t. */
int linear_sp_state_launch(const void *k, const void *v, int groups, int n, int d, int feature, int bf16,
                           float *state, float *zc, void *stream);
/* prefix[e] = Σ_{q < upto, q != skip} gathered[q·per_rank + e]. */
int linear_sp_prefix_launch(const float *gathered, long per_rank, int upto, int skip, float *prefix, void *stream);
/* o [B][H][n][d] float32 = the shard's o_local corrected by the other shards' prefix state. */
int linear_sp_correct_launch(const void *q, const void *o_local, const float *prefix, const float *zc,
                             const float *state, int batch, int heads, int kv_heads, int n, int d, int feature,
                             int causal, int bf16, float *o, void *stream);

#ifdef __cplusplus
}
#endif

#ifndef __cplusplus
#include "kernels/kernel.h"
extern const struct kb_kernel kb_attention_linear_cuda_sp;
#endif

#endif
