/* attention_cuda.c - the host side shared by the CUDA attention kernels (attention_cuda.h):
 * inputs onto the GPU in 16-bit, and verification against the float64 reference. Plain C over
 * the CUDA runtime's C API; the device code lives in the .cu files. */
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/softmax_ops.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"
#include "kernels/gpu/wgmma_device.h"

int attention_cuda_fail(int cuda_error, const char *doing, char *err, size_t errlen)
{
    cudaError_t e = (cudaError_t)cuda_error;
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

static int cuda_err(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    return attention_cuda_fail(e, doing, err, errlen);
}

/* Uploads a float32 tensor, converts it to dtype into *dst, and rounds the host copy. */
static int upload(float *host, size_t n, enum kb_dtype t, void **dst, cudaStream_t st, float *scratch,
                  char *err, size_t errlen)
{
    size_t bytes = n * (size_t)kb_dtype_size(t);
    cudaError_t e = cudaMalloc(dst, bytes);
    if (e != cudaSuccess)
        return cuda_err(e, "cudaMalloc", err, errlen);
    e = cudaMemcpyAsync(scratch, host, n * sizeof *host, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = (cudaError_t)attention_cuda_round(scratch, *dst, n, t, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(host, scratch, n * sizeof *host, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    return e == cudaSuccess ? KB_OK : cuda_err(e, "uploading the inputs", err, errlen);
}

int attention_cuda_new(struct attention_cuda *a, struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                       void *stream, const int *dims_ok, int n_dims, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->dtype = t;
    a->stream = stream;
    int rc = attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (t != KB_DTYPE_F16 && t != KB_DTYPE_BF16) {
        snprintf(err, errlen, "dtype %s: this kernel computes in f16 or bf16", kb_dtype_name(t));
        return KB_UNSUPPORTED;
    }
    if (dims_ok) {
        int ok = 0;
        for (int i = 0; i < n_dims; i++)
            ok |= s->head_dim == dims_ok[i];
        if (!ok) {
            snprintf(err, errlen, "head_dim = %d: this kernel is compiled for d = 64 and 128", s->head_dim);
            return KB_UNSUPPORTED;
        }
    }
    rc = attention_inputs_new(&a->in, s, seed, err, errlen);
    if (rc != KB_OK)
        return rc;
    size_t bnd = (size_t)s->batch * s->seq_len * s->head_dim;
    size_t nq = bnd * s->heads, nkv = bnd * s->kv_heads;
    float *scratch = NULL;
    cudaStream_t st = (cudaStream_t)stream;
    cudaError_t e = cudaMalloc((void **)&scratch, nq * sizeof *scratch);
    if (e != cudaSuccess) {
        rc = cuda_err(e, "cudaMalloc", err, errlen);
    } else {
        rc = upload(a->in.q, nq, t, &a->q, st, scratch, err, errlen);
        if (rc == KB_OK)
            rc = upload(a->in.k, nkv, t, &a->k, st, scratch, err, errlen);
        if (rc == KB_OK)
            rc = upload(a->in.v, nkv, t, &a->v, st, scratch, err, errlen);
        if (rc == KB_OK) {
            e = cudaMalloc(&a->o, nq * (size_t)kb_dtype_size(t));
            /* poisoned (0xFFFF is a NaN in both f16 and bf16): an unwritten element fails verify */
            if (e == cudaSuccess)
                e = cudaMemsetAsync(a->o, 0xFF, nq * (size_t)kb_dtype_size(t), st);
            if (e != cudaSuccess)
                rc = cuda_err(e, "allocating O", err, errlen);
        }
        cudaStreamSynchronize(st);
        cudaFree(scratch);
    }
    if (rc != KB_OK)
        attention_cuda_free(a);
    return rc;
}

/* "head_dim = D: this kernel is compiled for d = 64, 128 and 256" (the dims listed) into err. */
static void head_dim_refusal(int d, const int *dims_ok, int n_dims, char *err, size_t errlen)
{
    int at = snprintf(err, errlen, "head_dim = %d: this kernel is compiled for d = ", d);
    for (int i = 0; i < n_dims && at >= 0 && (size_t)at < errlen; i++)
        at += snprintf(err + at, errlen - (size_t)at, "%s%d", i == 0 ? "" : i + 1 < n_dims ? ", " : " and ", dims_ok[i]);
}

/* head_dim among dims_ok (none given: any). */
static int head_dim_ok(int d, const int *dims_ok, int n_dims, char *err, size_t errlen)
{
    if (!dims_ok)
        return KB_OK;
    for (int i = 0; i < n_dims; i++)
        if (d == dims_ok[i])
            return KB_OK;
    head_dim_refusal(d, dims_ok, n_dims, err, errlen);
    return KB_UNSUPPORTED;
}

/* One of the operation's inputs (host float32, n values of dtype t) to *dst in t, through the
 * device float32 scratch. The host copy is left as it is. */
static int upload_input(const float *host, size_t n, enum kb_dtype t, void **dst, cudaStream_t st, float *scratch,
                        char *err, size_t errlen)
{
    cudaError_t e = cudaMalloc(dst, n * (size_t)kb_dtype_size(t));
    if (e != cudaSuccess)
        return cuda_err(e, "cudaMalloc", err, errlen);
    e = cudaMemcpyAsync(scratch, host, n * sizeof *host, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = (cudaError_t)attention_cuda_round(scratch, *dst, n, t, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st); /* scratch is reused by the next input */
    return e == cudaSuccess ? KB_OK : cuda_err(e, "uploading the inputs", err, errlen);
}

int attention_cuda_upload(struct attention_cuda *a, const struct kb_case *c, enum kb_dtype t, const int *dims_ok,
                          int n_dims, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->dtype = t;
    a->stream = c->stream;
    if (t != KB_DTYPE_F16 && t != KB_DTYPE_BF16) {
        snprintf(err, errlen, "dtype %s: this kernel computes in f16 or bf16", kb_dtype_name(t));
        return KB_UNSUPPORTED;
    }
    if (c->shape.decode) {
        snprintf(err, errlen, "decode: this kernel has no decode mode");
        return KB_UNSUPPORTED;
    }
    int rc = head_dim_ok(c->shape.head_dim, dims_ok, n_dims, err, errlen);
    if (rc != KB_OK)
        return rc;
    const size_t nq = kb_operands_elems(&c->io, KB_ATTN_Q), nkv = kb_operands_elems(&c->io, KB_ATTN_K);
    float *scratch = NULL;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc((void **)&scratch, (nq > nkv ? nq : nkv) * sizeof *scratch);
    if (e != cudaSuccess) {
        rc = cuda_err(e, "cudaMalloc", err, errlen);
    } else {
        rc = upload_input(kb_input(c, KB_ATTN_Q), nq, t, &a->q, st, scratch, err, errlen);
        if (rc == KB_OK)
            rc = upload_input(kb_input(c, KB_ATTN_K), nkv, t, &a->k, st, scratch, err, errlen);
        if (rc == KB_OK)
            rc = upload_input(kb_input(c, KB_ATTN_V), nkv, t, &a->v, st, scratch, err, errlen);
        if (rc == KB_OK) {
            e = cudaMalloc(&a->o, nq * (size_t)kb_dtype_size(t));
            /* poisoned (0xFFFF is a NaN in both f16 and bf16): an unwritten element fails verify */
            if (e == cudaSuccess)
                e = cudaMemsetAsync(a->o, 0xFF, nq * (size_t)kb_dtype_size(t), st);
            if (e == cudaSuccess)
                e = cudaStreamSynchronize(st);
            if (e != cudaSuccess)
                rc = cuda_err(e, "allocating O", err, errlen);
        }
        cudaStreamSynchronize(st);
        cudaFree(scratch);
    }
    if (rc != KB_OK)
        attention_cuda_free(a);
    return rc;
}

int attention_cuda_collect_o(const struct attention_cuda *a, struct kb_case *c)
{
    return attention_cuda_collect_device_o(c, a->o, a->dtype);
}

int attention_cuda_collect_device_o(struct kb_case *c, const void *o, enum kb_dtype t)
{
    cudaStream_t st = (cudaStream_t)c->stream;
    const size_t nq = kb_operands_elems(&c->io, KB_ATTN_O);
    float *d_o = NULL;
    cudaError_t e = cudaStreamSynchronize(st); /* the last run's work, and any error it left */
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&d_o, nq * sizeof *d_o);
    if (e == cudaSuccess)
        e = (cudaError_t)attention_cuda_widen(o, d_o, nq, t, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_ATTN_O), d_o, nq * sizeof *d_o, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    cudaFree(d_o);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying O back: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        return KB_ERROR;
    }
    return KB_OK;
}

void attention_cuda_copies(struct attention_cuda *a, struct kb_case *c, const struct kb_shape *s)
{
    if (c->input_copies_wanted <= 1)
        return;
    size_t es = (size_t)kb_dtype_size(a->dtype), bnd = (size_t)s->batch * s->seq_len * s->head_dim;
    attention_cuda_copies_of(c, a->stream, &a->qc, &a->kc, &a->vc, a->q, a->k, a->v, bnd * s->heads * es,
                             bnd * s->kv_heads * es);
}

void attention_cuda_copies_of(struct kb_case *c, void *stream, struct input_copies *qc, struct input_copies *kc,
                              struct input_copies *vc, void *q, void *k, void *v, size_t q_bytes, size_t kv_bytes)
{
    if (c->input_copies_wanted <= 1)
        return;
    int n = input_copies_make(qc, q, q_bytes, c->input_copies_wanted, stream);
    n = input_copies_make(kc, k, kv_bytes, n, stream);
    n = input_copies_make(vc, v, kv_bytes, n, stream);
    c->input_copies = n;
}

void attention_cuda_inputs(const struct attention_cuda *a, int copy, const void **q, const void **k,
                           const void **v)
{
    *q = a->qc.n > 1 ? input_copies_get(&a->qc, copy) : a->q;
    *k = a->kc.n > 1 ? input_copies_get(&a->kc, copy) : a->k;
    *v = a->vc.n > 1 ? input_copies_get(&a->vc, copy) : a->v;
}

int attention_cuda_run(struct kb_case *c, attention_cuda_launcher launch, const char *what)
{
    struct attention_cuda *a = c->state;
    const void *q, *k, *v;
    attention_cuda_inputs(a, c->input_copy, &q, &k, &v);
    int e = launch(&c->shape, c->dtype, q, k, v, a->o, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "%s launch: %s", what, cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    return KB_OK;
}

void attention_cuda_free_qkvo(struct input_copies *qc, struct input_copies *kc, struct input_copies *vc, void *q,
                               void *k, void *v, void *o)
{
    input_copies_free(qc);
    input_copies_free(kc);
    input_copies_free(vc);
    cudaFree(q);
    cudaFree(k);
    cudaFree(v);
    cudaFree(o);
}

void attention_cuda_free(struct attention_cuda *a)
{
    attention_cuda_free_qkvo(&a->qc, &a->kc, &a->vc, a->q, a->k, a->v, a->o);
    a->q = a->k = a->v = a->o = NULL;
    free(a->o_host);
    a->o_host = NULL;
    attention_inputs_free(&a->in);
}

int attention_cuda_output(const struct attention_cuda *a, const struct kb_shape *s, float *o)
{
    size_t nq = (size_t)s->batch * s->heads * s->seq_len * s->head_dim;
    float *d_o = NULL;
    cudaStream_t st = (cudaStream_t)a->stream;
    cudaError_t e = cudaMalloc((void **)&d_o, nq * sizeof *d_o);
    if (e == cudaSuccess)
        e = (cudaError_t)attention_cuda_widen(a->o, d_o, nq, a->dtype, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(o, d_o, nq * sizeof *o, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    cudaFree(d_o);
    return e == cudaSuccess ? KB_OK : KB_ERROR;
}

int attention_cuda_tensors(struct attention_cuda *a, const struct kb_shape *s, struct kb_tensor *out, int max)
{
    int n = attention_input_tensors(s, &a->in, out, max); /* the inputs, as rounded */
    size_t nq = (size_t)s->batch * s->heads * s->seq_len * s->head_dim;
    if (!a->o_host)
        a->o_host = malloc(nq * sizeof *a->o_host);
    if (n < max && a->o_host && attention_cuda_output(a, s, a->o_host) == KB_OK)
        out[n++] = (struct kb_tensor){ .name = "o", .dtype = KB_DTYPE_F32, .ndim = 4,
                                       .dims = { s->batch, s->heads, s->seq_len, s->head_dim },
                                       .data = a->o_host, .is_output = 1 };
    return n;
}

int attention_wgmma_check(const struct kb_case *c, char *err, size_t errlen)
{
    static const int d128[] = { 128 };
    return attention_wgmma_check_dims(c, d128, 1, err, errlen);
}

int attention_wgmma_check_dims(const struct kb_case *c, const int *dims_ok, int n_dims, char *err, size_t errlen)
{
    int rc = wgmma_device_check(c->device_index, err, errlen);
    if (rc == KB_OK)
        rc = head_dim_ok(c->shape.head_dim, dims_ok, n_dims, err, errlen);
    return rc;
}
