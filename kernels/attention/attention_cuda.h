/* attention_cuda.h - what the CUDA attention kernels share: inputs on the GPU in 16-bit, the
 * output checked against the float64 reference on sampled rows, and the launchers of the
 * device code (attention_convert.cu, flash_mma.cu).
 *
 * Implementations of an operation (attention.softmax) copy the operation's inputs, which hold
 * values of the case's dtype already, to the GPU (attention_cuda_upload) and hand O back in
 * collect (attention_cuda_collect_o). Kernels without an operation yet draw their inputs in
 * float32 exactly as the CPU kernels do (attention_inputs_new), convert them to f16/bf16 on the
 * GPU and replace the host copies by the rounded values (attention_cuda_new): either way the
 * reference measures the kernel's own error, not the rounding of its inputs.
 */
#ifndef KB_ATTENTION_CUDA_H
#define KB_ATTENTION_CUDA_H

#include "kernels/attention/attention.h"
#include "kernels/gpu/input_copies.h"

extern const struct kb_kernel kb_attention_window_cuda; /* sliding window, tensor cores */
extern const struct kb_kernel kb_attention_int8_cuda;   /* SageAttention-style INT8 QKᵀ */
extern const struct kb_kernel kb_attention_int8_wgmma;  /* the same on Hopper wgmma (sm_90a builds) */
extern const struct kb_kernel kb_attention_int8_wgmma_ws; /* the same, FlashAttention-3 scheduling (sm_90a builds) */
extern const struct kb_kernel kb_attention_int8_wgmma_fp8; /* the same with FP8 P·V (SageAttention2; sm_90a builds) */
extern const struct kb_kernel kb_attention_flash_wgmma_fp8; /* attention.flash in e4m3 on that schedule (sm_90a builds) */

/* A CUDA attention case: host inputs (rounded), device Q, K, V, O in the case's dtype. */
struct attention_cuda {
    struct attention_inputs in; /* float32, rounded to dtype */
    void *q, *k, *v, *o;        /* device, [B,H(_kv),N,d] in dtype */
    enum kb_dtype dtype;
    void *stream;               /* cudaStream_t */
    void *extra;                /* the kernel's own (cuBLAS handle, scratch) */
    struct input_copies qc, kc, vc; /* Q, K, V copies rotated in cold-cache runs (n 0: none) */
    float *o_host;              /* O copied back for a dump (attention_cuda_tensors), or NULL */
};

/* Checks the shape (head_dim in dims_ok[0..n_dims), when given), draws the inputs, allocates
 * and fills the device buffers. KB_OK, KB_UNSUPPORTED or KB_ERROR with a message. */
int attention_cuda_new(struct attention_cuda *a, struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                       void *stream, const int *dims_ok, int n_dims, char *err, size_t errlen);
void attention_cuda_free(struct attention_cuda *a);
/* What attention_cuda_free releases, for a kernel keeping its own device Q, K, V, O and copies. */
void attention_cuda_free_qkvo(struct input_copies *qc, struct input_copies *kc, struct input_copies *vc, void *q,
                              void *k, void *v, void *o);
/* Implementations of attention.softmax (softmax_ops.h): checks head_dim (in dims_ok[0..n_dims),
 * when given), copies the operation's Q, K, V (c->io, host float32 holding values of dtype t)
 * to the device converted to t (f16 or bf16: exact, the operation rounded them), and allocates
 * O poisoned. a->in stays empty (the harness owns the inputs). KB_OK, KB_UNSUPPORTED or
 * KB_ERROR with a message; on failure nothing stays allocated. */
int attention_cuda_upload(struct attention_cuda *a, const struct kb_case *c, enum kb_dtype t, const int *dims_ok,
                          int n_dims, char *err, size_t errlen);
/* Their collect: waits for c->stream, then O widened to float32 into the operation's O.
 * KB_OK, or KB_ERROR with the CUDA error in c->error. */
int attention_cuda_collect_o(const struct attention_cuda *a, struct kb_case *c);
/* The same for a kernel keeping its own device O (o, in dtype t, as many elements as the
 * operation's O). */
int attention_cuda_collect_device_o(struct kb_case *c, const void *o, enum kb_dtype t);
/* "doing: <CUDA error string> (<its name>)" into err for a cudaError_t; returns KB_ERROR. */
int attention_cuda_fail(int cuda_error, const char *doing, char *err, size_t errlen);
/* The setup check of the Hopper kernels (attention.flash@cuda.wgmma, attention.int8@cuda.wgmma):
 * a compute capability 9.0 device (kernels/gpu/wgmma_device.h) and head_dim 128, the one they
 * are compiled for. KB_OK, else KB_UNSUPPORTED (or KB_ERROR) with the reason in err. */
int attention_wgmma_check(const struct kb_case *c, char *err, size_t errlen);
/* The same for the n_dims head_dims in dims_ok (attention.flash@cuda.wgmma-ws: 64, 128, 256); the
 * refusal lists them. */
int attention_wgmma_check_dims(const struct kb_case *c, const int *dims_ok, int n_dims, char *err, size_t errlen);
/* Makes the Q, K, V copies a cold-cache case asks for (kb_case.input_copies_wanted) and sets
 * c->input_copies; a no-op when none are wanted. */
void attention_cuda_copies(struct attention_cuda *a, struct kb_case *c, const struct kb_shape *s);
/* The same for a kernel keeping its own device Q (q_bytes) and K, V (kv_bytes each) and copies. */
void attention_cuda_copies_of(struct kb_case *c, void *stream, struct input_copies *qc, struct input_copies *kc,
                              struct input_copies *vc, void *q, void *k, void *v, size_t q_bytes, size_t kv_bytes);
/* The Q, K, V that call number `copy` reads (kb_case.input_copy). */
void attention_cuda_inputs(const struct attention_cuda *a, int copy, const void **q, const void **k,
                           const void **v);
/* A device function O = attention(Q, K, V) enqueued on stream; returns a cudaError_t. */
typedef int (*attention_cuda_launcher)(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                       const void *v, void *o, void *stream);
/* A case's run(): launch on the Q, K, V copy the harness chose; on failure c->error names
 * `what` and the CUDA error, and KB_ERROR is returned. */
int attention_cuda_run(struct kb_case *c, attention_cuda_launcher launch, const char *what);
/* O copied back into o (host, B·H·N·d floats). KB_OK or KB_ERROR. */
int attention_cuda_output(const struct attention_cuda *a, const struct kb_shape *s, float *o);
/* A case's tensors for --dump: the inputs (as rounded) and O, copied back from the GPU now and
 * widened to float32 (kept until attention_cuda_free), so a dumped GPU case can be checked
 * outside kbench like a CPU one. When the copy fails, only the inputs. */
int attention_cuda_tensors(struct attention_cuda *a, const struct kb_shape *s, struct kb_tensor *out, int max);

/* ---- device code (extern "C" from the .cu files) ------------------------------------------- */

/* dst[i] = (dtype) src[i] on the GPU, and src[i] = (float) dst[i]: the rounded values back. */
int attention_cuda_round(float *d_src, void *d_dst, size_t n, enum kb_dtype t, void *stream);
/* dst[i] = (float) src[i]. */
int attention_cuda_widen(const void *d_src, float *d_dst, size_t n, enum kb_dtype t, void *stream);

/* attention.flash@cuda.mma: O = softmax(Q Kᵀ/√d) V with mma.sync tensor cores. Enqueues on
 * stream; returns a cudaError_t (0 = success). */
int flash_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                      void *o, void *stream);

/* attention.varlen@cuda.mma: the same kernel over a packed ragged batch (varlen_ops.h),
 * token-major: q, o [total, H, d], k, v [total, H_kv, d] in dtype, cu_seqlens [s->batch + 1] on
 * the device, s->seq_len the longest sequence. Returns a cudaError_t. */
int varlen_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                       void *o, const int *cu_seqlens, void *stream);

/* attention.flash@cuda.wgmma: the same on Hopper's wgmma (flash_wgmma.cu, sm_90a, d = 128). */
int flash_wgmma_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                       void *o, void *stream);
/* attention.flash@cuda.wgmma-ws: the same scheduled as FlashAttention-3 (flash_wgmma_ws.cu,
 * sm_90a, d = 64, 128 or 256): a TMA producer warpgroup and two ping-pong consumer warpgroups. prepare once
 * per process before the first launch (checks the driver's TMA encoder, raises the kernels'
 * shared-memory limit): KB_OK, or KB_UNSUPPORTED / KB_ERROR with the reason in err. launch
 * encodes the tensor maps of q, k, v (host only) and enqueues; returns a cudaError_t. */
int flash_wgmma_ws_prepare(char *err, size_t errlen);
int flash_wgmma_ws_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                          void *o, void *stream);
/* 1 when launch runs the persistent kernel at head_dim dh (a grid of at most one block per SM
 * looping over the work tiles: by default at d = 128 and at d = 64 causal;
 * KBENCH_FLASH_WS_PERSISTENT=1 or 0 forces it everywhere or nowhere), else 0. */
int flash_wgmma_ws_persistent(int dh, int causal);
/* The consumer warpgroups launch runs at head_dim dh: at d = 64, 3 (192 query rows a block) where
 * not causal and 2 where causal, unless KBENCH_FLASH_WS_D64_CONSUMERS=2 or 3 forces one; 2 at
 * other head_dims and in the persistent kernel (which takes precedence). */
int flash_wgmma_ws_consumers(int dh, int causal);
/* The keys of a K/V tile launch runs at head_dim dh: 176 at d = 128 with KBENCH_FLASH_WS_KEYS=176
 * (not the persistent kernel), 64 at d = 256, else 128. */
int flash_wgmma_ws_keys(int dh);
/* 1 when launch's kernel at head_dim dh stores O with TMA from shared memory (the Q tile's, or
 * the persistent kernel's staging tile at d 64 and 128; unless KBENCH_FLASH_WS_TMA_STORE=0), 0
 * when its threads store it from registers. */
int flash_wgmma_ws_tma_store(int dh, int causal);
/* 1 when launch's kernel keeps a row's maximum until it grows by more than 2^8, skipping O's
 * rescale meanwhile (unless KBENCH_FLASH_WS_LAZY_RESCALE=0), else 0. */
int flash_wgmma_ws_lazy_rescale(void);
/* 1 when launch's causal grid is numbered in sections of (batch, head) planes, every plane's
 * heaviest query block first (flash_ws.cuh's ws_grid; the non-persistent kernels, unless
 * KBENCH_FLASH_WS_SECTIONS=0), 0 when a plane at a time, persistent or not causal. */
int flash_wgmma_ws_sections(int dh, int causal);
/* 1 unless KBENCH_FLASH_WS_SECTIONS=0: the warp-specialised kernels' causal grids (bf16, INT8,
 * FP8) numbered in sections of planes where they are not persistent (flash_ws.cuh). */
int flash_ws_sections_wanted(void);
/* attention.window@cuda.mma: causal sliding window of s->window keys, the flash kernel with
 * the window bound (flash_mma.cu). Returns a cudaError_t. */
int window_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                       void *o, void *stream);
/* attention.block_sparse@cuda.mma's attention (flash_mma.cu): causal, block = 64 (one query
 * block per CTA), each query block's key tiles its kept past blocks kept [B·H][nb][topk]
 * (ascending; the first min(topk, qb) used) then its own block. Returns a cudaError_t
 * (cudaErrorInvalidValue for a block other than 64, a d other than 64/128). */
int block_sparse_cuda_attend(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                             const int *kept, void *o, void *stream);
/* Its selection (block_sparse_select.cu): the block means of Q and K in float64 (tokens
 * summed in ascending order, then divided), and each query block's top-k past blocks by
 * mean_q·mean_k (channels summed in ascending order, no fused multiply-add, ties to the lower
 * block) into kept, ascending: exactly the operation's choice (sparse_ops.h). qmean
 * [B·H][nb][d] and kmean [B·H_kv][d][nb] (channel-major) are scratch. Returns a cudaError_t. */
int block_sparse_cuda_select(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, double *qmean,
                             double *kmean, int *kept, void *stream);
/* attention.block_sparse@cuda.wgmma-ws's attention (block_sparse_ws.cu, sm_90a): the same walk
 * of the kept blocks, then the own block, on attention.flash@cuda.wgmma-ws's schedule
 * (flash_ws.cuh); block = 128 (one 128-row Q tile, one 128-key K/V tile per block), d = 128 or
 * 64. prepare once per process before the first launch (the driver's TMA encoder, the
 * shared-memory limit): KB_OK, or KB_UNSUPPORTED / KB_ERROR with the reason in err. attend
 * returns a cudaError_t (cudaErrorInvalidValue for a block other than 128, a d other than
 * 64/128). */
int block_sparse_ws_prepare(char *err, size_t errlen);
int block_sparse_ws_attend(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                           const int *kept, void *o, void *stream);
/* attention.int8@cuda.mma's pre-pass (int8_quant.cu): from f16 Q and K, the K channel means
 * kmean [B·H_kv][d] (through the partial sums kpartial [B·H_kv][int8_mean_chunks(N)][d]),
 * codes q8 [B,H,N,d] and k8 [B,H_kv,N,d] (K smoothed), and the scales of each block of
 * INT8_BLOCK tokens qscale [B·H][blocks], kscale [B·H_kv][blocks]. */
int int8_cuda_quantize(const struct kb_shape *s, const void *q, const void *k, double *kpartial, float *kmean,
                       void *q8, void *k8, float *qscale, float *kscale, void *stream);
/* Its attention (flash_mma.cu): INT8 Q·Kᵀ dequantized with the block scales, f32 online
 * softmax, f16 P·V with f16 V, f16 O. */
int int8_cuda_attend(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                     const float *kscale, const void *v, void *o, void *stream);
/* attention.int8@cuda.wgmma's (int8_wgmma.cu, sm_90a, d = 128): the same with Q·Kᵀ on INT8
 * wgmma and the rest flash_wgmma.cu's. */
int int8_cuda_attend_wgmma(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                           const float *kscale, const void *v, void *o, void *stream);
/* attention.int8@cuda.wgmma-ws's (int8_wgmma_ws.cu, sm_90a, d = 128): the same on the FlashAttention-3
 * schedule of flash_wgmma_ws.cu (TMA producer, ping-pong consumers). prepare once per process
 * before the first launch (the driver's TMA encoder, the shared-memory limit): KB_OK, or
 * KB_UNSUPPORTED / KB_ERROR with the reason in err. attend returns a cudaError_t. */
int int8_wgmma_ws_prepare(char *err, size_t errlen);
int int8_cuda_attend_wgmma_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                              const float *kscale, const void *v, void *o, void *stream);
/* attention.int8@cuda.wgmma-fp8's pre-pass addition (int8_quant.cu, d = 128): V's e4m3 codes
 * vt [B·H_kv][d][int8_fp8_v_keys(N)] (transposed, the keys of each group of 32 permuted as
 * int8.h defines) and channel scales vscale [B·H_kv][d], through vmax [B·H_kv][d] (scratch).
 * Its attention (int8_fp8_ws.cu, sm_90a): the wgmma-ws kernel's Q·Kᵀ with P·V on FP8 wgmma
 * (P·448 and V as e4m3, f32 accumulated per tile and added into O); with v16 (V's f16 input,
 * else NULL) each work tile's last key tile on f16 instead (fp8_pv.cuh); with persistent a
 * grid of at most one block an SM looping over the work tiles (causal: claimed from
 * kernels/gpu/tile_counter.h's counters, which prepare zeroes); prepare as
 * int8_wgmma_ws_prepare. Both return a cudaError_t (prepare: KB_OK or the reason in err). */
int int8_cuda_quantize_v_fp8(const struct kb_shape *s, const void *v, unsigned *vmax, void *vt, float *vscale,
                             void *stream);
int int8_fp8_ws_prepare(char *err, size_t errlen);
int int8_cuda_attend_fp8_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                            const float *kscale, const void *vt, const float *vscale, const void *v16, int persistent,
                            void *o, void *stream);
/* attention.flash@cuda.wgmma-fp8's pre-pass (int8_quant.cu): int8_cuda_quantize's with e4m3
 * codes (int8_e4m3_quantize_block, int8.h) for the INT8 ones, then int8_cuda_quantize_v_fp8; its
 * attention (flash_fp8_ws.cu, sm_90a, d = 128): S = Q·Kᵀ on FP8 wgmma, then int8_fp8_ws.cu's
 * FP8 P·V. Arguments and results as the INT8 ones. */
int int8_cuda_quantize_e4m3(const struct kb_shape *s, const void *q, const void *k, double *kpartial, float *kmean,
                            void *q8, void *k8, float *qscale, float *kscale, void *stream);
int flash_fp8_ws_prepare(char *err, size_t errlen);
int flash_cuda_attend_fp8_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                             const float *kscale, const void *vt, const float *vscale, const void *v16, int persistent,
                             void *o, void *stream);

/* attention.softmax@cuda.cublas's softmax: each of `rows` rows of n float32 scores (row r is
 * query r % n of its head) becomes probabilities in dtype, written over the start of the same
 * row (so P has a row stride of 2n 16-bit elements); causal rows keep keys <= their query. */
int softmax_rows_launch(float *s, long rows, int n, int causal, enum kb_dtype t, void *stream);

#endif
