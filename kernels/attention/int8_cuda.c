/* int8_cuda.c - attention.int8@cuda.mma and @cuda.wgmma: SageAttention-style attention on the
 * GPU, with the recipe of int8.h (K smoothed by its per-channel mean over tokens, Q and K
 * quantized to INT8 per block of INT8_BLOCK tokens with a float scale). Two stored figures, as
 * SageAttention's kernel benchmark separates them:
 *   setup  the pre-pass (int8_quant.cu: K means, Q codes, K codes and their scales), run and
 *          timed there with CUDA events (best of INT8_QUANT_REPS after one warm-up), stored by
 *          stats as the counter int8.quantize_s;
 *   run    (the stored latency) the flash kernel alone, with S = Q₈·K₈ᵀ on INT8 tensor cores (mma.sync m16n8k32 s8·s8→s32),
 * dequantized by s_q·s_k, online softmax in f32, P rounded to f16 and P·V on f16 tensor cores.
 * The two implementations differ only in that flash kernel (the attend launcher a case keeps):
 *   cuda.mma    flash_mma.cu's QK8 variant, mma.sync m16n8k32, sm_80 on, d = 64 or 128;
 *   cuda.wgmma  int8_wgmma.cu, Hopper's wgmma m64n128k32 s8 (sm_90a builds, compute capability
 *               9.0 only, d = 128).
 *   cuda.wgmma-ws  int8_wgmma_ws.cu, the same instructions on attention.flash@cuda.wgmma-ws's
 *               FlashAttention-3 schedule (TMA producer warpgroup, mbarrier rings, ping-pong
 *               consumers; sm_90a builds, compute capability 9.0, d = 128).
 *   cuda.wgmma-fp8  int8_fp8_ws.cu, SageAttention2's step on top: P·V in FP8 (P·448 and V as
 *               e4m3, V per channel; wgmma .e4m3, each tile's product in its own f32
 *               accumulator added into O). Its pre-pass also makes V's codes and channel scales
 *               (int8_cuda_quantize_v_fp8, timed with the rest); the kernel reads no f16 V.
 * attention.flash@cuda.wgmma-fp8 (flash_fp8_ws.cu, dtype e4m3) shares all of it: the same
 * pre-pass with e4m3 codes for Q and K (int8_e4m3_quantize_block: scale absmax/448 per block of
 * 64 tokens, K smoothed first), V as cuda.wgmma-fp8's, S on e4m3 wgmma, the same FP8 P·V, the
 * same two checks (its codes bit for bit, then float64 attention on its dequantized Q, K, V);
 * its pre-pass time is the counter fp8.quantize_s.
 *
 * Precision: the case's dtype is i8 (it names the kernel: INT8 Q·Kᵀ). Implementations of
 * attention.softmax (softmax_ops.h): the operation's Q, K, V are f16 values at i8, copied to
 * the GPU as f16 (exactly); V, P and O are f16. causal or not, d = 64 or 128, GQA.
 *
 * The two checks of a quantized kernel:
 *   accuracy  (the operation's verify) the sampled output rows against float64 attention on
 *             the f16 inputs: the cost of INT8, stored as max_abs_err / rel_l2_err / cosine,
 *             bound 5e-2;
 *   exact     (the kernel's check) its codes and scales (copied back) against the host
 *             emulation (int8_channel_mean, int8_quantize_block of int8_common.c) over every
 *             head, bit for bit (exact_checked / exact_mismatches), and the sampled rows
 *             against float64 attention on its own dequantized Q, K (its own error: f16 P and
 *             O, bound INT8_CUDA_KERNEL_TOLERANCE). cuda.wgmma-fp8 adds V's codes and channel
 *             scales to the bit-exact comparison (int8_fp8_quantize_v) and takes its own
 *             dequantized V in the float64 attention (its error: e4m3 P, bound
 *             INT8_FP8_KERNEL_TOLERANCE).
 * The int32 Q·Kᵀ values themselves stay in registers; a wrong one shows in the last bound. */
#include "config.h"
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/int8.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/quant/fp8.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"

/* Timed pre-pass launches in setup after the warm-up one: the best is the stored figure. */
#define INT8_QUANT_REPS 5

/* The kernels' own error bounds (INT8_CUDA_KERNEL_TOLERANCE, INT8_FP8_KERNEL_TOLERANCE) are
 * int8.h's: tests/cuda_emu judges the Hopper kernels by them too. */

/* The attention after the pre-pass: int8_cuda_attend, int8_cuda_attend_wgmma or _wgmma_ws; with
 * V's e4m3 codes instead of f16 V: int8_cuda_attend_fp8_ws or flash_cuda_attend_fp8_ws. */
typedef int (*int8_attend_fn)(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                              const float *kscale, const void *v, void *o, void *stream);
typedef int (*fp8_attend_fn)(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                             const float *kscale, const void *vt, const float *vscale, const void *v16, int persistent,
                             void *o, void *stream);

struct int8_cuda {
    struct attention_cuda a; /* Q, K, V, O in f16 */
    int8_attend_fn attend;   /* the implementation's flash kernel */
    const char *attend_name; /* for launch errors */
    void *q8, *k8;           /* device codes [B,H,N,d], [B,H_kv,N,d] */
    float *qscale, *kscale;  /* device [B·H][blocks], [B·H_kv][blocks] */
    float *kmean;            /* device [B·H_kv][d] */
    double *kpartial;        /* device [B·H_kv][int8_mean_chunks(N)][d]: kmean's partial sums */
    int blocks;              /* per head: ceil(N / INT8_BLOCK) */
    double quantize_s;       /* the pre-pass, timed in setup: best of INT8_QUANT_REPS */
    /* cuda.wgmma-fp8 only (else NULL): V's e4m3 codes [B·H_kv][d][int8_fp8_v_keys(N)], its
     * channel scales [B·H_kv][d] and their scratch absmax */
    void *vt;
    float *vscale;
    unsigned *vmax;
    fp8_attend_fn fp8_attend;
    int e4m3_qk; /* attention.flash@cuda.wgmma-fp8: Q and K codes in e4m3 (else INT8) */
    /* cuda.wgmma-fp8: each work tile's last key tile multiplied on V's f16 input instead of its
     * e4m3 codes (fp8_pv.cuh's header comment says why; fp8_pv_last16 says where) */
    int last16;
    int persistent; /* cuda.wgmma-fp8: the persistent kernel (fp8_pv_persistent) */
    /* the warp-specialised schedules (cuda.wgmma-ws, cuda.wgmma-fp8): -1 for the others, else
     * 1 when the causal grid is numbered in sections of planes (flash_ws_sections_wanted) */
    int sections;
};

/* Whether the FP8 P·V kernels take each work tile's last key tile on f16 at shape s: by default
 * where rows see few keys, causal (the diagonal tile's first rows see one key, two, ...) and a
 * sequence of one key tile; not elsewhere, where every row sees more than 128 keys and e4m3's
 * rounding averages out (non-causal at SageAttention2's shape: rel. L2 0.0412 with the recipe
 * alone, 0.0404 with it, on an H100 in one lease, for 4.8% of the time in its first form).
 * KBENCH_FP8_PV_LAST16=1 or 0 forces it everywhere or nowhere (0: SageAttention2's recipe alone). */
static int fp8_pv_last16(const struct kb_shape *s)
{
    const char *e = getenv("KBENCH_FP8_PV_LAST16");
    if (e && strcmp(e, "1") == 0)
        return 1;
    if (e && strcmp(e, "0") == 0)
        return 0;
    return s->causal || s->seq_len <= INT8_FP8_PV_TILE;
}

/* Whether the FP8 P·V kernels run persistent (a grid of at most one block an SM looping over the
 * work tiles, causal claiming them from a counter, as attention.flash@cuda.wgmma-ws does by
 * default at d 128): KBENCH_FP8_PV_PERSISTENT=1 asks for it (written after the nineteenth
 * session's lease: opt-in until timed). */
static int fp8_pv_persistent(void)
{
    const char *e = getenv("KBENCH_FP8_PV_PERSISTENT");
    return e && strcmp(e, "1") == 0;
}

static size_t vt_bytes(const struct kb_shape *s)
{
    return (size_t)s->batch * s->kv_heads * s->head_dim * int8_fp8_v_keys(s->seq_len);
}
static size_t vscale_elems(const struct kb_shape *s) { return (size_t)s->batch * s->kv_heads * s->head_dim; }

static size_t q_elems(const struct kb_shape *s) { return (size_t)s->batch * s->heads * s->seq_len * s->head_dim; }
static size_t kv_elems(const struct kb_shape *s) { return (size_t)s->batch * s->kv_heads * s->seq_len * s->head_dim; }

static void int8_cuda_teardown(struct kb_case *c)
{
    struct int8_cuda *st = c->state;
    if (st) {
        attention_cuda_free(&st->a);
        cudaFree(st->q8);
        cudaFree(st->k8);
        cudaFree(st->qscale);
        cudaFree(st->kscale);
        cudaFree(st->kmean);
        cudaFree(st->kpartial);
        cudaFree(st->vt);
        cudaFree(st->vscale);
        cudaFree(st->vmax);
        free(st);
    }
    c->state = NULL;
}

/* The pre-pass, outside run: once to warm up, then INT8_QUANT_REPS times between CUDA events on
 * the setup stream (the inputs do not change between runs, so its codes serve every run);
 * the best time is kept. 0, or −1 with the CUDA error in err. */
static int quantize_timed(struct int8_cuda *st, const struct kb_shape *s, char *err, size_t errlen)
{
    cudaEvent_t t0 = NULL, t1 = NULL;
    cudaStream_t stream = (cudaStream_t)st->a.stream;
    int e = cudaEventCreate(&t0);
    if (e == 0)
        e = cudaEventCreate(&t1);
    float best = INFINITY;
    for (int rep = 0; rep <= INT8_QUANT_REPS && e == 0; rep++) {
        e = cudaEventRecord(t0, stream);
        if (e == 0)
            e = (st->e4m3_qk ? int8_cuda_quantize_e4m3 : int8_cuda_quantize)(s, st->a.q, st->a.k, st->kpartial,
                                                                            st->kmean, st->q8, st->k8, st->qscale,
                                                                            st->kscale, stream);
        if (e == 0 && st->vt)
            e = int8_cuda_quantize_v_fp8(s, st->a.v, st->vmax, st->vt, st->vscale, stream);
        if (e == 0)
            e = cudaEventRecord(t1, stream);
        if (e == 0)
            e = cudaEventSynchronize(t1);
        float ms = 0;
        if (e == 0)
            e = cudaEventElapsedTime(&ms, t0, t1);
        if (e == 0 && rep > 0 && ms < best) /* rep 0 warms up */
            best = ms;
    }
    if (t0)
        cudaEventDestroy(t0);
    if (t1)
        cudaEventDestroy(t1);
    if (e != 0) {
        snprintf(err, errlen, "%s quantize pre-pass: %s", st->e4m3_qk ? "e4m3" : "int8",
                 cudaGetErrorString((cudaError_t)e));
        return -1;
    }
    st->quantize_s = 1e-3 * best;
    return 0;
}

/* What the implementations set up. With fp8_attend (not NULL) the pre-pass also makes V's e4m3
 * codes and that kernel runs; e4m3_qk: Q and K codes in e4m3; ws_schedule: the kernel runs on
 * flash_ws.cuh's warp-specialised grid, whose causal block order the case then notes for the
 * counter flash_ws.sections (in sections of planes where causal and not persistent, unless
 * KBENCH_FLASH_WS_SECTIONS=0, as attention.flash@cuda.wgmma-ws's). */
static int int8_setup_with(struct kb_case *c, char *err, size_t errlen, int ws_schedule, int8_attend_fn attend,
                           fp8_attend_fn fp8_attend, int e4m3_qk, const char *attend_name)
{
    const int fp8_v = fp8_attend != NULL;
    struct int8_cuda *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    static const int dims[] = { 64, 128 };
    int rc = attention_cuda_upload(&st->a, c, KB_DTYPE_F16, dims, 2, err, errlen); /* exact: f16 values */
    if (rc != KB_OK) {
        free(st);
        return rc;
    }
    c->state = st;
    st->attend = attend;
    st->fp8_attend = fp8_attend;
    st->e4m3_qk = e4m3_qk;
    st->last16 = fp8_v && fp8_pv_last16(&c->shape);
    st->persistent = fp8_v && fp8_pv_persistent();
    st->sections = -1;
#ifdef HAVE_SM90A /* the warp-specialised kernels exist only in sm_90a builds */
    if (ws_schedule)
        st->sections = c->shape.causal && !st->persistent && flash_ws_sections_wanted();
#else
    (void)ws_schedule;
#endif
    st->attend_name = attend_name;
    const struct kb_shape *s = &c->shape;
    st->blocks = (s->seq_len + INT8_BLOCK - 1) / INT8_BLOCK;
    size_t nqs = (size_t)s->batch * s->heads * st->blocks, nks = (size_t)s->batch * s->kv_heads * st->blocks;
    cudaError_t e = cudaMalloc(&st->q8, q_elems(s));
    if (e == cudaSuccess)
        e = cudaMalloc(&st->k8, kv_elems(s));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->qscale, nqs * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->kscale, nks * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->kmean, (size_t)s->batch * s->kv_heads * s->head_dim * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->kpartial, (size_t)s->batch * s->kv_heads * int8_mean_chunks(s->seq_len) *
                                                   s->head_dim * sizeof(double));
    /* poisoned: codes of −1 and NaN scales, so anything the pre-pass leaves unwritten fails */
    if (e == cudaSuccess)
        e = cudaMemset(st->q8, 0xFF, q_elems(s));
    if (e == cudaSuccess)
        e = cudaMemset(st->k8, 0xFF, kv_elems(s));
    if (e == cudaSuccess)
        e = cudaMemset(st->qscale, 0xFF, nqs * sizeof(float));
    if (e == cudaSuccess)
        e = cudaMemset(st->kscale, 0xFF, nks * sizeof(float));
    /* V's e4m3 codes poisoned with 0xFF, e4m3's NaN */
    if (e == cudaSuccess && fp8_v)
        e = cudaMalloc(&st->vt, vt_bytes(s));
    if (e == cudaSuccess && fp8_v)
        e = cudaMalloc((void **)&st->vscale, vscale_elems(s) * sizeof(float));
    if (e == cudaSuccess && fp8_v)
        e = cudaMalloc((void **)&st->vmax, vscale_elems(s) * sizeof(unsigned));
    if (e == cudaSuccess && fp8_v)
        e = cudaMemset(st->vt, 0xFF, vt_bytes(s));
    if (e == cudaSuccess && fp8_v)
        e = cudaMemset(st->vscale, 0xFF, vscale_elems(s) * sizeof(float));
    if (e != cudaSuccess) {
        snprintf(err, errlen, "allocating codes and scales: %s", cudaGetErrorString(e));
        int8_cuda_teardown(c);
        return KB_ERROR;
    }
    return quantize_timed(st, s, err, errlen) == 0 ? KB_OK : (int8_cuda_teardown(c), KB_ERROR);
}

static int int8_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    return int8_setup_with(c, err, errlen, 0, int8_cuda_attend, NULL, 0, "flash_fwd (int8)");
}

/* The attention kernel alone: the codes and scales are setup's (quantize_timed). */
static int int8_cuda_run(struct kb_case *c)
{
    struct int8_cuda *st = c->state;
    const struct kb_shape *s = &c->shape;
    int e = st->attend(s, st->q8, st->k8, st->qscale, st->kscale, st->a.v, st->a.o, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "%s launch: %s", st->attend_name, cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

/* ---- verify ---------------------------------------------------------------------------------- */

/* Host copies of the kernel's codes and scales, or the emulation's. */
struct codes {
    int8_t *q8, *k8;
    float *qscale, *kscale;
    uint8_t *vt;   /* cuda.wgmma-fp8: V's e4m3 codes and channel scales, else NULL */
    float *vscale;
};

static void codes_free(struct codes *x)
{
    free(x->q8);
    free(x->k8);
    free(x->qscale);
    free(x->kscale);
    free(x->vt);
    free(x->vscale);
}

static int codes_alloc(struct codes *x, const struct kb_shape *s, int blocks, int fp8_v)
{
    x->q8 = malloc(q_elems(s));
    x->k8 = malloc(kv_elems(s));
    x->qscale = malloc((size_t)s->batch * s->heads * blocks * sizeof(float));
    x->kscale = malloc((size_t)s->batch * s->kv_heads * blocks * sizeof(float));
    if (fp8_v) {
        x->vt = malloc(vt_bytes(s));
        x->vscale = malloc(vscale_elems(s) * sizeof(float));
        if (!x->vt || !x->vscale)
            return -1;
    }
    return x->q8 && x->k8 && x->qscale && x->kscale ? 0 : -1;
}

static int codes_download(const struct int8_cuda *st, const struct kb_shape *s, struct codes *x)
{
    cudaError_t e = cudaMemcpy(x->q8, st->q8, q_elems(s), cudaMemcpyDeviceToHost);
    if (e == cudaSuccess)
        e = cudaMemcpy(x->k8, st->k8, kv_elems(s), cudaMemcpyDeviceToHost);
    if (e == cudaSuccess)
        e = cudaMemcpy(x->qscale, st->qscale, (size_t)s->batch * s->heads * st->blocks * sizeof(float),
                       cudaMemcpyDeviceToHost);
    if (e == cudaSuccess)
        e = cudaMemcpy(x->kscale, st->kscale, (size_t)s->batch * s->kv_heads * st->blocks * sizeof(float),
                       cudaMemcpyDeviceToHost);
    if (e == cudaSuccess && st->vt)
        e = cudaMemcpy(x->vt, st->vt, vt_bytes(s), cudaMemcpyDeviceToHost);
    if (e == cudaSuccess && st->vt)
        e = cudaMemcpy(x->vscale, st->vscale, vscale_elems(s) * sizeof(float), cudaMemcpyDeviceToHost);
    return e == cudaSuccess ? 0 : -1;
}

/* The recipe on the host, from the operation's (f16) inputs: int8_common.c's definition. */
static int emulate(const struct int8_cuda *st, const struct kb_case *c, struct codes *x)
{
    const struct kb_shape *s = &c->shape;
    const float *q = kb_input(c, KB_ATTN_Q), *k = kb_input(c, KB_ATTN_K);
    const int n = s->seq_len, d = s->head_dim;
    const size_t bh = (size_t)s->batch * s->heads, bhkv = (size_t)s->batch * s->kv_heads;
    float *mean = malloc((size_t)d * sizeof *mean);
    if (!mean)
        return -1;
    for (size_t h = 0; h < bh; h++)
        for (int b = 0; b < st->blocks; b++) {
            int t0 = b * INT8_BLOCK, rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
            x->qscale[h * st->blocks + b] =
                st->e4m3_qk
                    ? int8_e4m3_quantize_block(q + (h * n + t0) * d, rows, d, NULL, (uint8_t *)x->q8 + (h * n + t0) * d)
                    : int8_quantize_block(q + (h * n + t0) * d, rows, d, NULL, x->q8 + (h * n + t0) * d);
        }
    for (size_t h = 0; h < bhkv; h++) {
        int8_channel_mean(k + h * n * d, n, d, mean);
        for (int b = 0; b < st->blocks; b++) {
            int t0 = b * INT8_BLOCK, rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
            x->kscale[h * st->blocks + b] =
                st->e4m3_qk
                    ? int8_e4m3_quantize_block(k + (h * n + t0) * d, rows, d, mean, (uint8_t *)x->k8 + (h * n + t0) * d)
                    : int8_quantize_block(k + (h * n + t0) * d, rows, d, mean, x->k8 + (h * n + t0) * d);
        }
    }
    free(mean);
    if (x->vt) {
        const float *v = kb_input(c, KB_ATTN_V);
        const size_t keys = (size_t)int8_fp8_v_keys(n);
        for (size_t h = 0; h < bhkv; h++)
            int8_fp8_quantize_v(v + h * n * d, n, d, x->vt + h * d * keys, x->vscale + h * d);
    }
    return 0;
}

static long count_mismatches(const struct kb_shape *s, int blocks, const struct codes *got, const struct codes *want,
                             long *checked)
{
    const size_t nqs = (size_t)s->batch * s->heads * blocks, nks = (size_t)s->batch * s->kv_heads * blocks;
    long bad = 0;
    for (size_t i = 0; i < q_elems(s); i++)
        bad += got->q8[i] != want->q8[i];
    for (size_t i = 0; i < kv_elems(s); i++)
        bad += got->k8[i] != want->k8[i];
    /* bit patterns, not values: a NaN (an unwritten scale) never matches */
    for (size_t i = 0; i < nqs; i++)
        bad += memcmp(&got->qscale[i], &want->qscale[i], sizeof(float)) != 0;
    for (size_t i = 0; i < nks; i++)
        bad += memcmp(&got->kscale[i], &want->kscale[i], sizeof(float)) != 0;
    *checked = (long)(q_elems(s) + kv_elems(s) + nqs + nks);
    if (got->vt) {
        for (size_t i = 0; i < vt_bytes(s); i++)
            bad += got->vt[i] != want->vt[i];
        for (size_t i = 0; i < vscale_elems(s); i++)
            bad += memcmp(&got->vscale[i], &want->vscale[i], sizeof(float)) != 0;
        *checked += (long)(vt_bytes(s) + vscale_elems(s));
    }
    return bad;
}

/* V[j][c] of a KV head from the kernel's e4m3 codes vt [d][keys] (int8.h's layout) and channel
 * scales vs [d]: the V its FP8 P·V multiplies. pos[]: the inverse of int8_fp8_pv_key. */
static double fp8_v_dequant(const uint8_t *vt, const float *vs, size_t keys, const int *pos, int j, int c)
{
    const size_t p = (size_t)(j / 32 * 32 + pos[j % 32]);
    return (double)fp8_decode(vt[(size_t)c * keys + p], FP8_E4M3) * vs[c];
}

/* Σ_c a[c]·b[c] of two rows of e4m3 codes, in float64 (exact: each product of two e4m3 values
 * has at most 8 significant bits, and the sum of 128 stays within 53). */
static double e4m3_dot(const uint8_t *a, const uint8_t *b, int d)
{
    double acc = 0;
    for (int c = 0; c < d; c++)
        acc += (double)fp8_decode(a[c], FP8_E4M3) * fp8_decode(b[c], FP8_E4M3);
    return acc;
}

/* float64 attention of one row with the scores of the kernel's codes (its dequantized Q, K),
 * and with cuda.wgmma-fp8 its dequantized V; with last16 the keys of the row's last 128-key
 * tile (the one holding its last key: its work tile's last, as the kernel walks them) take V's
 * f16 input, as the kernel multiplies them. */
static void dequantized_row(const struct int8_cuda *st, const struct kb_shape *s, const float *vin,
                            const struct codes *x, long row, double *out)
{
    const int n = s->seq_len, d = s->head_dim, i = (int)(row % n), keys = s->causal ? i + 1 : n;
    const long q_head = row / n;
    const size_t kv_head = attention_kv_head(s, (size_t)q_head);
    const double sq = x->qscale[(size_t)q_head * st->blocks + i / INT8_BLOCK], scale = 1.0 / sqrt((double)d);
    const int8_t *qr = x->q8 + (size_t)row * d, *k = x->k8 + kv_head * n * d;
    const float *ks = x->kscale + kv_head * st->blocks, *v = vin + kv_head * n * d;
    double *score = malloc((size_t)keys * sizeof *score), mx = -INFINITY, sum = 0;
    for (int c = 0; c < d; c++)
        out[c] = NAN;
    if (!score)
        return;
    for (int j = 0; j < keys; j++) {
        const double dot = st->e4m3_qk ? e4m3_dot((const uint8_t *)qr, (const uint8_t *)k + (size_t)j * d, d)
                                       : int8_dot(qr, k + (size_t)j * d, d);
        score[j] = dot * sq * ks[j / INT8_BLOCK] * scale;
        mx = score[j] > mx ? score[j] : mx;
    }
    for (int c = 0; c < d; c++)
        out[c] = 0;
    int pos[32];
    for (int p = 0; p < 32; p++)
        pos[int8_fp8_pv_key(p)] = p;
    const size_t vkeys = (size_t)int8_fp8_v_keys(n);
    const uint8_t *vt = x->vt ? x->vt + kv_head * d * vkeys : NULL;
    const float *vs = x->vt ? x->vscale + kv_head * d : NULL;
    const int last_tile0 = st->last16 ? (keys - 1) / INT8_FP8_PV_TILE * INT8_FP8_PV_TILE : keys;
    for (int j = 0; j < keys; j++) {
        double p = exp(score[j] - mx);
        sum += p;
        for (int c = 0; c < d; c++)
            out[c] += p * (vt && j < last_tile0 ? fp8_v_dequant(vt, vs, vkeys, pos, j, c) : v[(size_t)j * d + c]);
    }
    for (int c = 0; c < d; c++)
        out[c] /= sum;
    free(score);
}

/* The bit-exact verdict on the downloaded codes `got` against the emulation `want`, and the
 * operation's O (collected) against float64 attention on the kernel's dequantized Q, K. */
static void judge(const struct int8_cuda *st, const struct kb_case *c, const struct codes *got,
                  const struct codes *want, long *rows, double *ref, struct kb_accuracy *acc)
{
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim;
    const long total = (long)s->batch * s->heads * n;
    const float *o = c->io.tensor[KB_ATTN_O].data, *v = kb_input(c, KB_ATTN_V);
    long checked = 0, bad = count_mismatches(s, st->blocks, got, want, &checked);
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, c->seed, rows);
#pragma omp parallel for schedule(dynamic, 1)
    for (long t = 0; t < nrows; t++)
        dequantized_row(st, s, v, got, rows[t], ref + (size_t)t * d);
    struct verify_acc kernel_err;
    verify_begin(&kernel_err);
    for (long t = 0; t < nrows; t++)
        for (int j = 0; j < d; j++)
            verify_add(&kernel_err, o[(size_t)rows[t] * d + j], ref[(size_t)t * d + j]);
    struct kb_accuracy kacc;
    verify_finish(&kernel_err, got->vt ? INT8_FP8_KERNEL_TOLERANCE : INT8_CUDA_KERNEL_TOLERANCE, &kacc);
    acc->exact_checked = checked;
    acc->exact_mismatches = bad;
    if (!kacc.passed || bad != 0)
        acc->passed = 0;
}

static int int8_cuda_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const struct int8_cuda *st = c->state;
    const struct kb_shape *s = &c->shape;
    struct codes got = { 0 }, want = { 0 };
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)ATTENTION_VERIFY_ROWS * s->head_dim * sizeof *ref);
    /* the codes and scales are setup's pre-pass (synchronised there), which every run reads */
    const int fp8_v = st->vt != NULL;
    int ok = rows && ref && codes_alloc(&got, s, st->blocks, fp8_v) == 0 && codes_alloc(&want, s, st->blocks, fp8_v) == 0 &&
             codes_download(st, s, &got) == 0 && emulate(st, c, &want) == 0;
    if (ok)
        judge(st, c, &got, &want, rows, ref, acc);
    else
        acc->passed = 0;
    codes_free(&got);
    codes_free(&want);
    free(rows);
    free(ref);
    return ok ? KB_OK : KB_ERROR;
}

/* The pre-pass's own figure, stored beside the kernel's latency; for the warp-specialised schedules
 * the grid's block order, and for the FP8 P·V the form that ran. */
static int int8_cuda_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct int8_cuda *st = c->state;
    if (max < 1 || !st)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, st->e4m3_qk ? "fp8.quantize_s" : "int8.quantize_s");
    out[0].value = st->quantize_s;
    snprintf(out[0].unit, sizeof out[0].unit, "s");
    int n = 1;
    if (st->sections >= 0 && max >= 2) { /* which block order the warp-specialised grid ran */
        snprintf(out[n].name, sizeof out[n].name, "flash_ws.sections");
        out[n].value = st->sections;
        snprintf(out[n].unit, sizeof out[n].unit, "count");
        n++;
    }
    if (!st->vt || max < n + 2)
        return n;
    /* which P·V ran: the last key tile on f16 (1) or every tile in e4m3 (0); which grid */
    snprintf(out[n].name, sizeof out[n].name, "fp8_pv.last_tile16");
    out[n].value = st->last16;
    snprintf(out[n].unit, sizeof out[n].unit, "count");
    snprintf(out[n + 1].name, sizeof out[n + 1].name, "fp8_pv.persistent");
    out[n + 1].value = st->persistent;
    snprintf(out[n + 1].unit, sizeof out[n + 1].unit, "count");
    return n + 2;
}

static int int8_cuda_collect(struct kb_case *c)
{
    struct int8_cuda *st = c->state;
    return attention_cuda_collect_o(&st->a, c);
}

const struct kb_kernel kb_attention_int8_cuda = {
    .name = "attention.int8",
    .impl = "cuda.mma",
    .description = "SageAttention-style: K smoothed, Q/K INT8 per 64 tokens, QK on INT8 tensor cores (mma.sync s8), f32 softmax, f16 PV",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .is_reference = 0,
    .setup = int8_cuda_setup,
    .run = int8_cuda_run,
    .teardown = int8_cuda_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = int8_cuda_collect,
    .check = int8_cuda_check,
    .stats = int8_cuda_stats,
};

#ifdef HAVE_SM90A
/* The wgmma kernel is built for sm_90a only (other GPUs have no code for it) and for d = 128:
 * one INT8 row is one 128-byte swizzle row. */
static int int8_wgmma_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_wgmma_check(c, err, errlen);
    if (rc != KB_OK)
        return rc;
    return int8_setup_with(c, err, errlen, 0, int8_cuda_attend_wgmma, NULL, 0, "int8_wgmma");
}

const struct kb_kernel kb_attention_int8_wgmma = {
    .name = "attention.int8",
    .impl = "cuda.wgmma",
    .description = "SageAttention-style: K smoothed, Q/K INT8 per 64 tokens, QK on Hopper INT8 wgmma (sm_90a, d = 128), f32 softmax, f16 PV",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .is_reference = 0,
    .setup = int8_wgmma_setup,
    .run = int8_cuda_run,
    .teardown = int8_cuda_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = int8_cuda_collect,
    .check = int8_cuda_check,
    .stats = int8_cuda_stats,
};

/* The same codes on the warp-specialised schedule: also needs the driver's TMA encoder. */
static int int8_wgmma_ws_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_wgmma_check(c, err, errlen);
    if (rc == KB_OK)
        rc = int8_wgmma_ws_prepare(err, errlen);
    if (rc != KB_OK)
        return rc;
    return int8_setup_with(c, err, errlen, 1, int8_cuda_attend_wgmma_ws, NULL, 0, "int8_wgmma_ws");
}

const struct kb_kernel kb_attention_int8_wgmma_ws = {
    .name = "attention.int8",
    .impl = "cuda.wgmma-ws",
    .description = "SageAttention-style: K smoothed, Q/K INT8 per 64 tokens, QK on Hopper INT8 wgmma, FlashAttention-3 schedule (TMA, ping-pong; sm_90a, d = 128), f32 softmax, f16 PV",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .is_reference = 0,
    .setup = int8_wgmma_ws_setup,
    .run = int8_cuda_run,
    .teardown = int8_cuda_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = int8_cuda_collect,
    .check = int8_cuda_check,
    .stats = int8_cuda_stats,
};

/* SageAttention2's FP8 P·V on the same schedule: V's codes come from the pre-pass too. */
static int int8_wgmma_fp8_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_wgmma_check(c, err, errlen);
    if (rc == KB_OK)
        rc = int8_fp8_ws_prepare(err, errlen);
    if (rc != KB_OK)
        return rc;
    return int8_setup_with(c, err, errlen, 1, NULL, int8_cuda_attend_fp8_ws, 0, "int8_fp8_ws");
}

/* The attention kernel alone: Q, K and V codes and scales are setup's. */
static int int8_fp8_run(struct kb_case *c)
{
    struct int8_cuda *st = c->state;
    int e = st->fp8_attend(&c->shape, st->q8, st->k8, st->qscale, st->kscale, st->vt, st->vscale,
                           st->last16 ? st->a.v : NULL, st->persistent, st->a.o, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "%s launch: %s", st->attend_name, cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

const struct kb_kernel kb_attention_int8_wgmma_fp8 = {
    .name = "attention.int8",
    .impl = "cuda.wgmma-fp8",
    .description = "SageAttention2-style: K smoothed, Q/K INT8 per 64 tokens, QK on Hopper INT8 wgmma, PV in FP8 (e4m3 P, V per channel, f32 per-tile accumulation), FlashAttention-3 schedule (sm_90a, d = 128)",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .is_reference = 0,
    .setup = int8_wgmma_fp8_setup,
    .run = int8_fp8_run,
    .teardown = int8_cuda_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = int8_cuda_collect,
    .check = int8_cuda_check,
    .stats = int8_cuda_stats,
};

/* attention.flash in FP8: the same pre-pass with e4m3 codes for Q and K, the same checks. */
static int flash_wgmma_fp8_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_wgmma_check(c, err, errlen);
    if (rc == KB_OK)
        rc = flash_fp8_ws_prepare(err, errlen);
    if (rc != KB_OK)
        return rc;
    return int8_setup_with(c, err, errlen, 1, NULL, flash_cuda_attend_fp8_ws, 1, "flash_fp8_ws");
}

const struct kb_kernel kb_attention_flash_wgmma_fp8 = {
    .name = "attention.flash",
    .impl = "cuda.wgmma-fp8",
    .description = "FlashAttention in FP8 on Hopper (sm_90a, d = 128): K smoothed, Q/K e4m3 per 64 tokens, V e4m3 per channel (pre-pass timed apart), QK and PV on e4m3 wgmma, f32 per-tile PV accumulation, FlashAttention-3 schedule, f16 out",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .is_reference = 0,
    .setup = flash_wgmma_fp8_setup,
    .run = int8_fp8_run,
    .teardown = int8_cuda_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = int8_cuda_collect,
    .check = int8_cuda_check,
    .stats = int8_cuda_stats,
};
#endif
