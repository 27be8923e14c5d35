/* block_sparse_cuda.c - attention.block_sparse@cuda.mma: MoBA-style causal mixture of block
 * attention on tensor cores, f16/bf16, d = 64 or 128, block = 64, GQA; and (sm_90a builds)
 * attention.block_sparse@cuda.wgmma-ws, the same with block = 128 on the Hopper schedule of
 * attention.flash@cuda.wgmma-ws (block_sparse_ws.cu).
 *
 * One run, all timed, as attention.block_sparse@cpu: the block means and each query block's
 * top-k past blocks (block_sparse_select.cu, float64, the operation's exact choice), then the
 * flash kernel of attention.flash@cuda.mma walking only the kept blocks and the own block
 * (flash_mma.cu, BLOCKS: one CTA per 64-row query block, each kept block one 64-key tile).
 * An implementation of attention.block_sparse (sparse_ops.h): setup copies the operation's Q,
 * K, V (f16/bf16 values) to the GPU; collect copies O back widened to float32 and the choice
 * into the operation's "kept_blocks", which verify compares exactly before the sampled rows.
 * The two implementations differ only in the attention they launch after the same selection. */
#include "config.h"
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/attention_cuda_io.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/sparse_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The attention after the selection: block_sparse_cuda_attend or block_sparse_ws_attend. */
typedef int (*bsa_attend_fn)(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                             const int *kept, void *o, void *stream);

struct bsa_cuda {
    bsa_attend_fn attend;
    void *q, *k, *v, *o;            /* device, in the case's dtype */
    double *qmean, *kmean;          /* [B·H][nb][d], [B·H_kv][nb][d] */
    int *kept;                      /* [B·H][nb][topk] */
    struct input_copies qc, kc, vc; /* cold-cache rotation */
};

/* The device workspace: block means (float64) and the choice. */
static double bsa_cuda_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double nb = (s->seq_len + (s->block > 0 ? s->block : 1) - 1) / (s->block > 0 ? s->block : 1);
    double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads;
    return 8.0 * nb * s->head_dim * s->batch * (s->heads + kvh) + 4.0 * nb * s->batch * s->heads * s->topk_blocks;
}

static void bsa_cuda_teardown(struct kb_case *c)
{
    struct bsa_cuda *a = c->state;
    if (a) {
        attention_cuda_free_qkvo(&a->qc, &a->kc, &a->vc, a->q, a->k, a->v, a->o);
        cudaFree(a->qmean);
        cudaFree(a->kmean);
        cudaFree(a->kept);
        free(a);
    }
    c->state = NULL;
}

/* KB_OK when the kernel is compiled for the case's dtype, head_dim and block (tile: the query
 * and key tile that one block is), else KB_UNSUPPORTED saying why. */
static int bsa_cuda_check(const struct kb_case *c, int tile, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    if (c->dtype != KB_DTYPE_F16 && c->dtype != KB_DTYPE_BF16) {
        snprintf(err, errlen, "dtype %s: this kernel computes in f16 or bf16", kb_dtype_name(c->dtype));
        return KB_UNSUPPORTED;
    }
    if (s->head_dim != 64 && s->head_dim != 128) {
        snprintf(err, errlen, "head_dim = %d: this kernel is compiled for d = 64 and 128", s->head_dim);
        return KB_UNSUPPORTED;
    }
    if (s->block != tile) {
        snprintf(err, errlen, "block = %d: this kernel is compiled for block %d (one %d-row query tile, one %d-key "
                 "tile per block)", s->block, tile, tile, tile);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

/* Device Q, K, V, O, the selection's scratch and the choice, for attention `attend`. */
static int bsa_cuda_alloc(struct kb_case *c, bsa_attend_fn attend, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    struct bsa_cuda *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    a->attend = attend;
    c->state = a;
    const size_t nq = kb_operands_elems(&c->io, KB_BSA_Q), nkv = kb_operands_elems(&c->io, KB_BSA_K);
    const size_t nb = (size_t)bsa_blocks(s), d = (size_t)s->head_dim;
    cudaStream_t st = (cudaStream_t)c->stream;
    int rc = attention_cuda_upload_qkv(c, &a->q, &a->k, &a->v, err, errlen);
    if (rc == KB_OK) {
        const size_t ob = nq * (size_t)kb_dtype_size(c->dtype);
        cudaError_t e = cudaMalloc(&a->o, ob);
        if (e == cudaSuccess) /* poisoned: an unwritten element fails verify */
            e = cudaMemsetAsync(a->o, 0xFF, ob, st);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&a->qmean, (size_t)s->batch * s->heads * nb * d * sizeof(double));
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&a->kmean, (size_t)s->batch * s->kv_heads * nb * d * sizeof(double));
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&a->kept, (size_t)s->batch * s->heads * nb * s->topk_blocks * sizeof(int));
        if (e == cudaSuccess) /* -1: a choice never written fails the exact comparison */
            e = cudaMemsetAsync(a->kept, 0xFF, (size_t)s->batch * s->heads * nb * s->topk_blocks * sizeof(int), st);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(st);
        if (e != cudaSuccess)
            rc = attention_cuda_fail(e, "allocating O and the selection", err, errlen);
    }
    if (rc != KB_OK) {
        bsa_cuda_teardown(c);
        return rc;
    }
    const size_t es = (size_t)kb_dtype_size(c->dtype);
    attention_cuda_copies_of(c, c->stream, &a->qc, &a->kc, &a->vc, a->q, a->k, a->v, nq * es, nkv * es);
    return KB_OK;
}

/* The axes both implementations vary (they differ in block size only, which setup checks). */
#define BSA_CUDA_AXES                                                                                        \
    (KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |                 \
     KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_BLOCK) |                   \
     KB_AXIS_BIT(KB_AXIS_TOPK_BLOCKS) | KB_AXIS_BIT(KB_AXIS_INPUT))

static int bsa_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = bsa_cuda_check(c, 64, err, errlen);
    return rc == KB_OK ? bsa_cuda_alloc(c, block_sparse_cuda_attend, err, errlen) : rc;
}

static int bsa_cuda_run(struct kb_case *c)
{
    struct bsa_cuda *a = c->state;
    const void *q = a->q, *k = a->k, *v = a->v;
    if (a->qc.n > 1) {
        q = input_copies_get(&a->qc, c->input_copy);
        k = input_copies_get(&a->kc, c->input_copy);
        v = input_copies_get(&a->vc, c->input_copy);
    }
    int e = block_sparse_cuda_select(&c->shape, c->dtype, q, k, a->qmean, a->kmean, a->kept, c->stream);
    const char *what = "block selection";
    if (e == 0) {
        e = a->attend(&c->shape, c->dtype, q, k, v, a->kept, a->o, c->stream);
        what = "block-sparse attention";
    }
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "%s launch: %s", what, cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

static int bsa_cuda_collect(struct kb_case *c)
{
    struct bsa_cuda *a = c->state;
    cudaStream_t st = (cudaStream_t)c->stream;
    const size_t nq = kb_operands_elems(&c->io, KB_BSA_O);
    float *d_o = NULL;
    cudaError_t e = cudaStreamSynchronize(st);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&d_o, nq * sizeof *d_o);
    if (e == cudaSuccess)
        e = (cudaError_t)attention_cuda_widen(a->o, d_o, nq, c->dtype, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_BSA_O), d_o, nq * sizeof *d_o, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_BSA_KEPT), a->kept, kb_operands_elems(&c->io, KB_BSA_KEPT) * sizeof(int),
                            cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    cudaFree(d_o);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying O and the choice back: %s (%s)", cudaGetErrorString(e),
                 cudaGetErrorName(e));
        return KB_ERROR;
    }
    return KB_OK;
}

const struct kb_kernel kb_attention_block_sparse_cuda = {
    .name = "attention.block_sparse",
    .impl = "cuda.mma",
    .description = "MoBA-style causal block attention on tensor cores: float64 top-k block selection, then the flash "
                   "kernel over the kept 64-token blocks only; f16/bf16, d = 64/128, block 64, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = BSA_CUDA_AXES,
    .footprint = bsa_cuda_footprint,
    .setup = bsa_cuda_setup,
    .run = bsa_cuda_run,
    .collect = bsa_cuda_collect,
    .teardown = bsa_cuda_teardown,
    .op = &kb_op_attention_block_sparse,
};

#ifdef HAVE_SM90A
/* The Hopper kernel is built for sm_90a only: other GPUs have no code for it (the device check
 * says so first). Then its TMA encoder and shared-memory limit (cheap to repeat per case). */
static int bsa_ws_setup(struct kb_case *c, char *err, size_t errlen)
{
    static const int dims[] = { 64, 128 };
    int rc = attention_wgmma_check_dims(c, dims, 2, err, errlen);
    if (rc == KB_OK)
        rc = bsa_cuda_check(c, 128, err, errlen);
    if (rc == KB_OK)
        rc = block_sparse_ws_prepare(err, errlen);
    return rc == KB_OK ? bsa_cuda_alloc(c, block_sparse_ws_attend, err, errlen) : rc;
}

const struct kb_kernel kb_attention_block_sparse_wgmma_ws = {
    .name = "attention.block_sparse",
    .impl = "cuda.wgmma-ws",
    .description = "MoBA-style causal block attention on Hopper (sm_90a): float64 top-k block selection, then "
                   "attention.flash@cuda.wgmma-ws's TMA/ping-pong wgmma schedule over the kept 128-token blocks only; "
                   "f16/bf16, d = 64/128, block 128, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .axes = BSA_CUDA_AXES,
    .footprint = bsa_cuda_footprint,
    .setup = bsa_ws_setup,
    .run = bsa_cuda_run,
    .collect = bsa_cuda_collect,
    .teardown = bsa_cuda_teardown,
    .op = &kb_op_attention_block_sparse,
};
#endif
