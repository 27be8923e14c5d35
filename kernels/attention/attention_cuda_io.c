/* attention_cuda_io.c - see attention_cuda_io.h. Plain C over the CUDA runtime's C API; the
 * conversions are attention_convert.cu's. */
#include "kernels/attention/attention_cuda_io.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gpu/device_memory.h"

int attention_cuda_upload_f32(const float *host, size_t n, enum kb_dtype t, void **dst, void *stream, char *err,
                              size_t errlen)
{
    cudaStream_t st = (cudaStream_t)stream;
    float *scratch = NULL;
    *dst = NULL;
    cudaError_t e = cudaMalloc(dst, n * (size_t)kb_dtype_size(t));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&scratch, n * sizeof *scratch);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(scratch, host, n * sizeof *host, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess) /* exact: the operation rounded the values to t already */
        e = (cudaError_t)attention_cuda_round(scratch, *dst, n, t, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    cudaFree(scratch);
    if (e != cudaSuccess) {
        cudaFree(*dst);
        *dst = NULL;
        snprintf(err, errlen, "uploading the inputs: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        return KB_ERROR;
    }
    return KB_OK;
}

int attention_cuda_upload_qkv(const struct kb_case *c, void **q, void **k, void **v, char *err, size_t errlen)
{
    void **dev[3] = { q, k, v };
    for (int i = 0; i < 3; i++) {
        if (attention_cuda_upload_f32(kb_input(c, i), kb_operands_elems(&c->io, i), c->dtype, dev[i], c->stream, err,
                                      errlen) != KB_OK)
            return KB_ERROR;
    }
    return KB_OK;
}

int attention_cuda_from_case(struct attention_cuda *a, struct kb_case *c, const int *dims_ok, int n_dims, char *err,
                             size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    memset(a, 0, sizeof *a);
    a->dtype = c->dtype;
    a->stream = c->stream;
    if (c->dtype != KB_DTYPE_F16 && c->dtype != KB_DTYPE_BF16) {
        snprintf(err, errlen, "dtype %s: this kernel computes in f16 or bf16",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
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
    if (attention_cuda_upload_qkv(c, &a->q, &a->k, &a->v, err, errlen) != KB_OK) {
        attention_cuda_free(a);
        return KB_ERROR;
    }
    size_t nq = (size_t)s->batch * s->heads * s->seq_len * s->head_dim, bytes = nq * (size_t)kb_dtype_size(c->dtype);
    cudaError_t e = cudaMalloc(&a->o, bytes);
    /* poisoned (0xFFFF is a NaN in both f16 and bf16): an unwritten element fails verify */
    if (e == cudaSuccess)
        e = cudaMemsetAsync(a->o, 0xFF, bytes, (cudaStream_t)c->stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize((cudaStream_t)c->stream);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "allocating O: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        attention_cuda_free(a);
        return KB_ERROR;
    }
    return KB_OK;
}

int attention_cuda_collect(struct kb_case *c, const struct attention_cuda *a, int out_index)
{
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)c->stream);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "waiting for the run: %s (%s)", cudaGetErrorString(e),
                 cudaGetErrorName(e));
        return KB_ERROR;
    }
    if (attention_cuda_output(a, &c->shape, kb_output(c, out_index)) != KB_OK) {
        snprintf(c->error, sizeof c->error, "copying O back to the host failed");
        return KB_ERROR;
    }
    return KB_OK;
}

int attention_cuda_chunked_setup(struct kb_case *c, size_t state_bytes, double need, const char *what, char *err,
                                 size_t errlen)
{
    int rc = gpu_memory_fits(need, 1.0, what, err, errlen);
    if (rc != KB_OK)
        return rc;
    void *st = calloc(1, state_bytes);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    static const int dims[] = { 64, 128 };
    rc = attention_cuda_from_case((struct attention_cuda *)st, c, dims, 2, err, errlen);
    if (rc != KB_OK) {
        free(st);
        return rc;
    }
    c->state = st;
    return KB_OK;
}

double attention_cuda_chunked_io_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double inputs = (double)kb_dtype_size(t) * s->batch * s->seq_len * s->head_dim * (2.0 * s->heads + 2.0 * s->kv_heads);
    return inputs + 4.0 * s->batch * s->heads * s->seq_len * s->head_dim;
}

int attention_cuda_chunk_states_error(const char *kernel, double bytes, int cuda_error, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: allocating %.2f GiB of chunk states: %s", kernel, bytes / (1024.0 * 1024 * 1024),
             cudaGetErrorString((cudaError_t)cuda_error));
    return KB_ERROR;
}

int attention_cuda_launch_result(struct kb_case *c, int cuda_error, const char *what)
{
    if (cuda_error != 0) {
        snprintf(c->error, sizeof c->error, "%s launch: %s", what, cudaGetErrorString((cudaError_t)cuda_error));
        return KB_ERROR;
    }
    return KB_OK;
}
