/* gemm_cublaslt.c - gemm.dense@cuda.cublaslt: the library baseline of the quantized GEMMs,
 * Y[M,N] = A[M,K]·W[N,K]ᵀ through cublasLtMatmul on the very operands ours read
 * (kernels/quant/gemm_cuda.h: same inputs, same padded device rows), in the output format of
 * our kernel of the same dtype:
 *
 *   i8    = quant.gemm_int8@cuda.mma's problem: int8 codes (per-tensor A, per-channel W scales),
 *         int32 accumulation (CUBLAS_COMPUTE_32I), int8 output scaled per output channel by
 *         alpha[n] = s_a·s_w[n]/s_y (a device alpha vector) — cuBLASLt's float epilogue in
 *         place of our dyadic one. Where this cuBLASLt has no such algorithm it falls back to
 *         int32 output (4 bytes per element written instead of 1); the counter
 *         cublaslt.output_bits says which ran.
 *   e4m3  = quant.gemm_fp8@cuda.mma's problem: e4m3 codes with per-tensor scales (the A/B scale
 *         pointers), float32 accumulation, bf16 output (default, not fast, accumulation).
 *
 * cuBLAS is column-major: row-major Y[M,N] = A·Wᵀ is column-major Yᵀ[N,M] = op_T(W)·A, with W
 * and A each a column-major K×rows matrix of leading dimension lda — the "TN" form the IMMA and
 * FP8 kernels require. The library is handed the zero-padded operands whole (gemm_cuda.h: K, M
 * and N rounded up to 16, which its FP8 kernels require), so it computes an M_pad×N_pad Y with
 * rows ldd = N_pad apart, of which verify reads the M×N corner. At multiples of 16 (every
 * benchmark size) nothing is padded.
 *
 * An implementation of the operation gemm (kernels/gemm/gemm_ops.h) at i8 and e4m3: the same
 * inputs and the same float64 verdict as quant.gemm_int8 and quant.gemm_fp8. collect copies the
 * M×N corner of the library's output into the operation's Y; with int32 output it first applies
 * the operation's dyadic requantization to the library's accumulators on the host. The check
 * (lt_check): i8 with int32 output is bit for bit the scalar emulation (as quant.gemm_int8); i8
 * with int8 output every sampled element within one unit of it (cuBLASLt's float scaling may
 * round a tie or a saturation to −128 differently; a larger gap fails the case); e4m3 has none. */
#include "kernels/gemm/gemm.h"

/* cublasLt.h declares one function with () in C: not ours to fix, so not ours to warn about */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cublasLt.h>
#pragma GCC diagnostic pop
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm/gemm_ops.h"
#include "kernels/quant/gemm_cuda.h"
#include "kernels/quant/gemm_int8.h"
#include "kernels/gpu/device_memory.h"

#define LT_WORKSPACE (32u << 20)
#define LT_CANDIDATES 8

/* e4m3: the per-tensor scales through cuBLASLt's A/B scale pointers (its FP8 interface), else
 * folded into alpha = s_w·s_a (the same product: both scales are scalars), for a cuBLASLt that
 * refuses the first at run time. */
enum lt_variant { LT_I8_VECTOR_BETA_ZERO, LT_I8_VECTOR_BETA_HOST, LT_I8_OUT_I32, LT_E4M3_BF16, LT_E4M3_BF16_ALPHA };
/* Where the e4m3 scales sit in dev_scalars: each scale pointer 256-byte aligned, the alignment
 * cuBLASLt assumes of the pointers it is given. */
#define LT_FP8_SW 0
#define LT_FP8_SA 64

struct lt_state {
    enum kb_dtype t;
    enum lt_variant variant;
    struct qgemm_operands ops;
    void *d;                  /* device output, ldd elements a row */
    size_t ldd, dbytes;       /* row stride; bytes per element */
    void *host_d;             /* collect's copy of it */
    float *dev_scalars;       /* i8: alpha[N]; e4m3: s_w, s_a at LT_FP8_SW, LT_FP8_SA */
    float fp8_alpha;          /* LT_E4M3_BF16_ALPHA: s_w·s_a */
    void *workspace;
    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t lw, la, ly;
    cublasLtMatmulAlgo_t algo;
};

static int lt_fail(cublasStatus_t b, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", doing, cublasGetStatusString(b));
    return KB_ERROR;
}

static int cuda_fail(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

/* Host workspace beyond the operands: collect's copy of the padded output (int32 at most). */
static double lt_workspace(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return 4.0 * ((double)s->m + 16) * ((double)s->n + 16) + 4.0 * ((double)s->n + 16) + 1024;
}

static void lt_destroy_plan(struct lt_state *st)
{
    if (st->ly)
        cublasLtMatrixLayoutDestroy(st->ly);
    if (st->la)
        cublasLtMatrixLayoutDestroy(st->la);
    if (st->lw)
        cublasLtMatrixLayoutDestroy(st->lw);
    if (st->op)
        cublasLtMatmulDescDestroy(st->op);
    st->ly = st->la = st->lw = NULL;
    st->op = NULL;
    cudaFree(st->d);
    free(st->host_d);
    st->d = st->host_d = NULL;
}

static void lt_teardown(struct kb_case *c)
{
    struct lt_state *st = c->state;
    if (!st)
        return;
    lt_destroy_plan(st);
    if (st->lt)
        cublasLtDestroy(st->lt);
    cudaFree(st->workspace);
    cudaFree(st->dev_scalars);
    qgemm_operands_free(&st->ops);
    free(st);
    c->state = NULL;
}

static int lt_run(struct kb_case *c)
{
    struct lt_state *st = c->state;
    const int p = qgemm_operands_pick(&st->ops, c->input_copy);
    static const float one_f = 1.0f, zero_f = 0.0f;
    static const int32_t one_i = 1, zero_i = 0;
    const void *alpha = &one_f, *beta = &zero_f;
    if (st->variant == LT_I8_VECTOR_BETA_ZERO || st->variant == LT_I8_VECTOR_BETA_HOST)
        alpha = st->dev_scalars;
    else if (st->variant == LT_I8_OUT_I32)
        alpha = &one_i, beta = &zero_i;
    else if (st->variant == LT_E4M3_BF16_ALPHA)
        alpha = &st->fp8_alpha;
    cublasStatus_t b = cublasLtMatmul(st->lt, st->op, alpha, st->ops.w.ptr[p], st->lw, st->ops.a.ptr[p], st->la, beta, st->d,
                                      st->ly, st->d, st->ly, &st->algo, st->workspace, LT_WORKSPACE,
                                      (cudaStream_t)c->stream);
    if (b != CUBLAS_STATUS_SUCCESS) {
        snprintf(c->error, sizeof c->error, "cublasLtMatmul: %s", cublasGetStatusString(b));
        return KB_ERROR;
    }
    return KB_OK;
}

/* Descriptors, output buffer and the heuristic's best algorithm for one variant; then one
 * trial call, so that a variant the library accepts on paper but not in practice is skipped. */
static int lt_plan(struct kb_case *c, enum lt_variant v, char *err, size_t errlen)
{
    struct lt_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int fp8 = v == LT_E4M3_BF16 || v == LT_E4M3_BF16_ALPHA, i32 = v == LT_I8_OUT_I32;
    const cudaDataType_t in_t = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_8I;
    const cudaDataType_t out_t = fp8 ? CUDA_R_16BF : i32 ? CUDA_R_32I : CUDA_R_8I;
    st->variant = v;
    st->dbytes = fp8 ? 2 : i32 ? 4 : 1;
    st->ldd = (size_t)st->ops.n_pad;
    cublasStatus_t b = cublasLtMatmulDescCreate(&st->op, fp8 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32I,
                                                i32 ? CUDA_R_32I : CUDA_R_32F);
    const cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasLtMatmulDescSetAttribute(st->op, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT);
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasLtMatmulDescSetAttribute(st->op, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN);
    if (b == CUBLAS_STATUS_SUCCESS && (v == LT_I8_VECTOR_BETA_ZERO || v == LT_I8_VECTOR_BETA_HOST)) {
        int32_t mode = v == LT_I8_VECTOR_BETA_ZERO ? CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO
                                                   : CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST;
        b = cublasLtMatmulDescSetAttribute(st->op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode, sizeof mode);
    }
    if (b == CUBLAS_STATUS_SUCCESS && v == LT_E4M3_BF16) {
        /* cuBLAS's A is our W, its B our A */
        const float *sw = st->dev_scalars + LT_FP8_SW, *sa = st->dev_scalars + LT_FP8_SA;
        b = cublasLtMatmulDescSetAttribute(st->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sw, sizeof sw);
        if (b == CUBLAS_STATUS_SUCCESS)
            b = cublasLtMatmulDescSetAttribute(st->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sa, sizeof sa);
    }
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasLtMatrixLayoutCreate(&st->lw, in_t, st->ops.lda, (uint64_t)st->ops.n_pad, (int64_t)st->ops.lda);
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasLtMatrixLayoutCreate(&st->la, in_t, st->ops.lda, (uint64_t)st->ops.m_pad, (int64_t)st->ops.lda);
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasLtMatrixLayoutCreate(&st->ly, out_t, (uint64_t)st->ops.n_pad, (uint64_t)st->ops.m_pad,
                                       (int64_t)st->ldd);
    if (b != CUBLAS_STATUS_SUCCESS)
        return lt_fail(b, "cuBLASLt descriptors", err, errlen);

    cublasLtMatmulPreference_t pref = NULL;
    const uint64_t ws = LT_WORKSPACE;
    /* Several candidates: on CUDA 13.0 the heuristic's first FP8 choice for an H100 (a 4x2x1
     * cluster) is refused at run time as "not supported"; the next ones are tried in turn. */
    cublasLtMatmulHeuristicResult_t res[LT_CANDIDATES];
    int found = 0;
    b = cublasLtMatmulPreferenceCreate(&pref);
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasLtMatmulAlgoGetHeuristic(st->lt, st->op, st->lw, st->la, st->ly, st->ly, pref, LT_CANDIDATES, res,
                                           &found);
    if (pref)
        cublasLtMatmulPreferenceDestroy(pref);
    if (b != CUBLAS_STATUS_SUCCESS || found < 1) {
        snprintf(err, errlen, "cuBLASLt has no %s algorithm for M=%d N=%d K=%d (%s)",
                 fp8 ? "e4m3→bf16" : i32 ? "int8→int32" : "int8→int8 per-channel alpha", s->m, s->n, s->k,
                 b != CUBLAS_STATUS_SUCCESS ? cublasGetStatusString(b) : "no heuristic result");
        return KB_UNSUPPORTED;
    }

    const size_t dsize = (size_t)st->ops.m_pad * st->ldd * st->dbytes;
    cudaStream_t stream = (cudaStream_t)c->stream;
    st->host_d = malloc(dsize);
    cudaError_t e = st->host_d ? cudaMalloc(&st->d, dsize) : cudaErrorMemoryAllocation;
    if (e == cudaSuccess) /* poisoned: bf16 NaN; int8 −128 and int32 −2139062144, never produced */
        e = cudaMemsetAsync(st->d, fp8 ? 0xFF : 0x80, dsize, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess)
        return cuda_fail(e, "allocating Y", err, errlen);
    int accepted = 0;
    for (int i = 0; i < found && !accepted; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS)
            continue;
        st->algo = res[i].algo;
        accepted = lt_run(c) == KB_OK;
    }
    if (!accepted) {
        snprintf(err, errlen, "%s (all %d candidate algorithms of the heuristic)", c->error, found);
        return KB_UNSUPPORTED;
    }
    c->error[0] = '\0';
    e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess)
        return cuda_fail(e, "cuBLASLt trial call", err, errlen);
    if (cudaMemsetAsync(st->d, fp8 ? 0xFF : 0x80, dsize, stream) != cudaSuccess) /* poisoned again */
        return cuda_fail(cudaGetLastError(), "poisoning Y", err, errlen);
    return KB_OK;
}

static int lt_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    int dev = 0;
    cudaGetDevice(&dev);
    if (c->dtype == KB_DTYPE_FP8_E4M3 && !qgemm_fp8_capable(dev, err, errlen))
        return KB_UNSUPPORTED;
    struct lt_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->t = c->dtype;
    cudaStream_t stream = (cudaStream_t)c->stream;
    const float *s_w = kb_input(c, KB_GEMM_W_SCALES), *sc = kb_input(c, KB_GEMM_SCALES); /* sc: s_a, s_y */
    /* i8: one alpha per padded row of Yᵀ; e4m3: the two scales at their aligned places */
    const size_t nscal = c->dtype == KB_DTYPE_I8 ? ((size_t)s->n + 15) / 16 * 16 : LT_FP8_SA + 1;
    float *scal = calloc(nscal, sizeof *scal);
    if (!scal) {
        snprintf(err, errlen, "out of memory");
        lt_teardown(c);
        return KB_ERROR;
    }
    if (c->dtype == KB_DTYPE_I8) {
        for (size_t j = 0; j < (size_t)s->n; j++) /* the float the dyadic b_n/2^c_n approximates; 0 past N */
            scal[j] = (float)((double)sc[0] * s_w[j] / sc[1]);
    } else {
        scal[LT_FP8_SW] = s_w[0], scal[LT_FP8_SA] = sc[0];
        st->fp8_alpha = s_w[0] * sc[0];
    }
    int rc = qgemm_operands_new(&st->ops, kb_input(c, KB_GEMM_A), kb_input(c, KB_GEMM_W), s->m, s->n, s->k,
                                c->input_copies_wanted, stream, err, errlen);
    if (rc != KB_OK) {
        free(scal);
        lt_teardown(c);
        return rc;
    }
    c->input_copies = st->ops.copies;
    cudaError_t e = cudaMalloc((void **)&st->dev_scalars, nscal * sizeof *scal);
    if (e == cudaSuccess)
        e = (cudaError_t)gpu_copy_to_device(st->dev_scalars, scal, nscal * sizeof *scal);
    if (e == cudaSuccess)
        e = cudaMalloc(&st->workspace, LT_WORKSPACE);
    free(scal);
    if (e != cudaSuccess) {
        lt_teardown(c);
        return cuda_fail(e, "allocating scales and workspace", err, errlen);
    }
    cublasStatus_t b = cublasLtCreate(&st->lt);
    if (b != CUBLAS_STATUS_SUCCESS) {
        lt_teardown(c);
        return lt_fail(b, "cublasLtCreate", err, errlen);
    }
    /* i8: per-channel int8 output if this cuBLASLt has it, else int32 */
    static const enum lt_variant i8_order[] = { LT_I8_VECTOR_BETA_ZERO, LT_I8_VECTOR_BETA_HOST, LT_I8_OUT_I32 };
    static const enum lt_variant f8_order[] = { LT_E4M3_BF16, LT_E4M3_BF16_ALPHA };
    const enum lt_variant *order = c->dtype == KB_DTYPE_I8 ? i8_order : f8_order;
    const int n_order = c->dtype == KB_DTYPE_I8 ? 3 : 2;
    char why[3][256] = { "", "", "" };
    for (int i = 0; i < n_order; i++) {
        rc = lt_plan(c, order[i], why[i], sizeof why[i]);
        if (rc == KB_OK)
            return KB_OK;
        lt_destroy_plan(st);
        cudaGetLastError(); /* a refused trial call leaves no sticky error behind */
        if (rc == KB_ERROR)
            break;
    }
    snprintf(err, errlen, "%s%s%s%s%s", why[0], why[1][0] ? "; " : "", why[1], why[2][0] ? "; " : "", why[2]);
    lt_teardown(c);
    return rc;
}

/* The M×N corner of the library's output into the operation's Y (int32 accumulators through the
 * operation's dyadic requantization). */
static int lt_collect(struct kb_case *c)
{
    struct lt_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    cudaStream_t stream = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(stream);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(st->host_d, st->d, (size_t)s->m * st->ldd * st->dbytes, cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying Y back: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    unsigned char *y = kb_output(c, KB_GEMM_Y);
    const size_t row = (size_t)s->n * st->dbytes;
    if (st->variant == LT_I8_OUT_I32) {
        const int32_t *acc32 = st->host_d, *dy_b = kb_input(c, KB_GEMM_REQUANT), *dy_c = dy_b + s->n;
        for (int i = 0; i < s->m; i++)
            for (int j = 0; j < s->n; j++) {
                struct quant_dyadic d = { dy_b[j], dy_c[j] };
                y[(size_t)i * s->n + j] = (unsigned char)quant_dyadic_requant(acc32[(size_t)i * st->ldd + j], d);
            }
    } else {
        for (int i = 0; i < s->m; i++)
            memcpy(y + (size_t)i * row, (const unsigned char *)st->host_d + (size_t)i * st->ldd * st->dbytes, row);
    }
    return KB_OK;
}

/* i8: the library's int32 accumulators, requantized by the operation's dyadics, are bit for bit
 * the emulation; its own float epilogue stays within one unit of it. e4m3: nothing beyond the
 * operation's verdict. */
static int lt_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const struct lt_state *st = c->state;
    if (st->t != KB_DTYPE_I8)
        return KB_OK;
    if (st->variant == LT_I8_OUT_I32)
        return gemm_int8_check_exact(c, acc);
    long checked, off_by_more = gemm_int8_emulation_diff(c, 1, &checked);
    if (off_by_more < 0)
        return KB_ERROR;
    if (off_by_more)
        acc->passed = 0;
    return KB_OK;
}

static int lt_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct lt_state *st = c->state;
    if (!st || max < 1)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "cublaslt.output_bits");
    out[0].value = 8.0 * (double)st->dbytes;
    snprintf(out[0].unit, sizeof out[0].unit, "count");
    if (st->t != KB_DTYPE_FP8_E4M3 || max < 2)
        return 1;
    /* which FP8 interface this cuBLASLt accepted: 1 = A/B scale pointers, 0 = scales in alpha */
    snprintf(out[1].name, sizeof out[1].name, "cublaslt.fp8_scale_pointers");
    out[1].value = st->variant == LT_E4M3_BF16;
    snprintf(out[1].unit, sizeof out[1].unit, "count");
    return 2;
}

const struct kb_kernel kb_gemm_cublaslt = {
    .name = "gemm.dense",
    .impl = "cuda.cublaslt",
    .description = "C = A Wt through cublasLtMatmul: i8 (int32 accumulate, int8 out, per-channel scale), e4m3 (bf16 out)",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .axes = KB_AXES_GEMM,
    .op = &kb_op_gemm,
    .footprint = lt_workspace,
    .setup = lt_setup,
    .run = lt_run,
    .collect = lt_collect,
    .check = lt_check,
    .teardown = lt_teardown,
    .stats = lt_stats,
};
