/* registry.c - every kernel compiled into kbench, in a stable order (the order of `kbench list`
 * and of planned cases). Adding a kernel is one line here. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/kernel.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/attention.h"
#include "kernels/moe/moe.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/int8.h"
#ifdef HAVE_CUDA
#include "kernels/attention/attention_cuda.h"
#endif
#include "kernels/attention/linear.h"
#include "kernels/attention/delta.h"
#include "kernels/attention/lightning.h"
#include "kernels/attention/hybrid.h"
#include "kernels/attention/ssd.h"
#include "kernels/attention/varlen.h"
#ifdef HAVE_CUDA
#include "kernels/attention/linear_cuda.h"
#include "kernels/attention/linear_sp.h"
#include "kernels/attention/gla_cuda.h"
#include "kernels/attention/lightning_cuda.h"
#include "kernels/attention/delta_cuda.h"
#include "kernels/attention/ssd_cuda.h"
#include "kernels/attention/naive_cuda.h"
#endif
#include "kernels/quant/quant.h"
#include "kernels/quant/fp4.h"
#ifdef HAVE_CUDA
#include "kernels/quant/quant_cuda.h"
#include "kernels/quant/vit_block_cuda.h"
#endif
#include "kernels/quant/vit_block.h"
#include "kernels/gemm/gemm.h"
#include "kernels/quant/gemm_cuda.h"
#include "kernels/selftest/selftest.h"

static const struct kb_kernel *const registry[] = {
    &kb_attention_reference,
    &kb_attention_flash_cpu,
    &kb_attention_decode_cpu,
    &kb_attention_window_cpu,
    &kb_attention_window_naive,
    &kb_attention_int8_cpu,
    &kb_attention_block_sparse_cpu,
#ifdef HAVE_CBLAS
    &kb_attention_softmax_blas,
#endif
    &kb_attention_linear_cpu,
    &kb_attention_linear_naive,
    &kb_attention_gla_cpu,
    &kb_attention_lightning_cpu,
    &kb_attention_delta_cpu_recurrent,
    &kb_attention_delta_cpu_chunked,
    &kb_attention_hybrid_cpu,
    &kb_attention_ssd_recurrent,
    &kb_attention_ssd_chunked,
    &kb_attention_varlen_cpu,
    &kb_attention_linear_varlen_cpu,
    &kb_moe_router_cpu,
    &kb_moe_dispatch_cpu,
    &kb_moe_combine_cpu,
    &kb_moe_experts_cpu,
    &kb_moe_layer_unfused,
    &kb_moe_layer_fused,
    &kb_quant_quantize_cpu,
    &kb_quant_gemm_int8_cpu,
    &kb_quant_gemm_int8_naive,
    &kb_quant_gemm_w4a8_cpu,
    &kb_quant_ivit_shiftmax_cpu,
    &kb_quant_ivit_shiftmax_f32,
    &kb_quant_ivit_shiftgelu_cpu,
    &kb_quant_ivit_shiftgelu_f32,
    &kb_quant_ivit_layernorm_cpu,
    &kb_quant_ivit_layernorm_f32,
    &kb_quant_fp4_quantize_cpu,
    &kb_quant_fp4_gemm_cpu,
    &kb_vit_block_int8,
    &kb_vit_block_f32,
#ifdef HAVE_CBLAS
    &kb_gemm_f32_blas,
#endif
    &kb_selftest_noop,
    &kb_selftest_crash,
    &kb_selftest_abort,
    &kb_selftest_fpe,
    &kb_selftest_hang,
    &kb_selftest_oom,
    &kb_selftest_spin,
#ifdef HAVE_CUDA
    &kb_selftest_cuda_fault,
    &kb_selftest_cuda_hang,
    &kb_attention_flash_cuda,
    &kb_attention_linear_cuda,
    &kb_attention_gla_cuda,
    &kb_attention_lightning_cuda,
    &kb_attention_delta_cuda_chunked,
    &kb_attention_delta_cuda_recurrent,
    &kb_attention_delta_cuda_mma,
    &kb_attention_decode_cuda,
    &kb_attention_block_sparse_cuda,
    &kb_attention_hybrid_cuda,
    &kb_attention_ssd_cuda_chunked,
    &kb_attention_ssd_cuda_recurrent,
    &kb_attention_ssd_cuda_mma,
    &kb_quant_quantize_cuda,
    &kb_quant_gemm_w4a8_cuda,
    &kb_quant_ivit_shiftmax_cuda,
    &kb_quant_ivit_shiftgelu_cuda,
    &kb_quant_ivit_layernorm_cuda,
    &kb_quant_ivit_shiftmax_cuda_f32,
    &kb_quant_ivit_shiftgelu_cuda_f32,
    &kb_quant_ivit_layernorm_cuda_f32,
    &kb_quant_fp4_quantize_cuda,
    &kb_quant_fp4_gemm_cuda,
    &kb_quant_fp4_gemm_cuda_native,
    &kb_vit_block_cuda_int8,
    &kb_moe_router_cuda,
    &kb_moe_dispatch_cuda,
    &kb_moe_combine_cuda,
    &kb_moe_experts_cuda,
    &kb_moe_layer_cuda_unfused,
    &kb_moe_layer_cuda_fused,
    &kb_moe_layer_cuda_ep,
    &kb_attention_linear_cuda_sp,
    &kb_attention_window_cuda,
    &kb_attention_int8_cuda,
    &kb_attention_window_cuda_naive,
    &kb_attention_linear_cuda_naive,
    &kb_attention_varlen_cuda,
    &kb_attention_linear_varlen_cuda,
#endif
#ifdef HAVE_SM90A
    &kb_attention_flash_wgmma,
    &kb_attention_flash_wgmma_ws,
    &kb_attention_int8_wgmma,
    &kb_attention_int8_wgmma_ws,
    &kb_attention_int8_wgmma_fp8,
    &kb_attention_flash_wgmma_fp8,
    &kb_attention_block_sparse_wgmma_ws,
#endif
#ifdef HAVE_CUBLAS
    &kb_attention_softmax_cublas,
    &kb_gemm_cublas,
#endif
#ifdef HAVE_CUDA
    &kb_quant_gemm_int8_cuda,
    &kb_quant_gemm_fp8_cuda,
#endif
#ifdef HAVE_SM90A
    &kb_quant_gemm_int8_wgmma,
    &kb_quant_gemm_fp8_wgmma,
    &kb_moe_experts_cuda_wgmma,
    &kb_moe_experts_cuda_wgmma_fp8,
    &kb_moe_layer_cuda_wgmma,
#endif
#ifdef HAVE_CUBLASLT
    &kb_gemm_cublaslt,
#endif
};

/* Kernels added at run time (plugins'), after the built-in ones, with the file each came from;
 * `all` is the built-in array followed by them, rebuilt on each addition. */
static struct {
    const struct kb_kernel **all;
    const char **origin; /* parallel to the additions */
    size_t n;            /* additions */
} added;

#define BUILTIN_COUNT (sizeof registry / sizeof registry[0])

const struct kb_kernel *const *kb_registry_all(size_t *n)
{
    *n = BUILTIN_COUNT + added.n;
    return added.n ? (const struct kb_kernel *const *)added.all : registry;
}

const struct kb_kernel *kb_registry_find(const char *name, const char *impl)
{
    if (!name)
        return NULL;
    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    for (size_t i = 0; i < n; i++) {
        const struct kb_kernel *k = all[i];
        if (strcmp(k->name, name) == 0 && (!impl || strcmp(k->impl, impl) == 0))
            return k;
    }
    return NULL;
}

int kb_registry_add(const struct kb_kernel *k, const char *origin, char *err, size_t errlen)
{
    if (!k || !k->name || !k->impl) {
        snprintf(err, errlen, "a kernel without a name or impl");
        return -1;
    }
    if (k->op) {
        const struct kb_operation *same = kb_registry_operation(k->op->name);
        if (same && same != k->op) {
            /* its definer: the file of the first kernel implementing it (built-in kernels come
             * first, so a built-in operation is kbench's even when plugins implement it too) */
            const char *from = NULL;
            size_t n;
            const struct kb_kernel *const *all = kb_registry_all(&n);
            for (size_t i = 0; i < n; i++)
                if (all[i]->op == same) {
                    from = kb_registry_origin(all[i]);
                    break;
                }
            snprintf(err, errlen,
                     "%s@%s: operation %s is already defined by %s (an implementation of it points at that "
                     "definition, kbench_operation(\"%s\"); a new operation needs a name of its own)",
                     k->name, k->impl, k->op->name, from ? from : "kbench itself (built in)", k->op->name);
            return -1;
        }
    }
    const struct kb_kernel *had = kb_registry_find(k->name, k->impl);
    if (had) {
        const char *from = kb_registry_origin(had);
        snprintf(err, errlen, "%s@%s is already defined by %s", k->name, k->impl, from ? from : "kbench itself (built in)");
        return -1;
    }
    size_t total = BUILTIN_COUNT + added.n + 1;
    const struct kb_kernel **all = realloc(added.all, total * sizeof *all);
    if (!all) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    added.all = all;
    const char **origin_v = realloc(added.origin, (added.n + 1) * sizeof *origin_v);
    char *copy = strdup(origin ? origin : "");
    if (!origin_v || !copy) {
        free(copy);
        if (origin_v)
            added.origin = origin_v;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    added.origin = origin_v;
    if (added.n == 0)
        memcpy(added.all, registry, sizeof registry);
    added.all[BUILTIN_COUNT + added.n] = k;
    added.origin[added.n] = copy;
    added.n++;
    return 0;
}

const struct kb_operation *const *kb_registry_operations(size_t *n)
{
    /* rebuilt on each call: plugins may have added kernels (and operations) since */
    static const struct kb_operation **ops;
    static size_t cap;
    size_t nk;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    if (cap < nk) {
        const struct kb_operation **grown = realloc(ops, nk * sizeof *grown);
        if (!grown) {
            *n = 0;
            return NULL;
        }
        ops = grown;
        cap = nk;
    }
    size_t count = 0;
    for (size_t i = 0; i < nk; i++) {
        const struct kb_operation *op = all[i]->op;
        if (!op)
            continue;
        size_t j = 0;
        while (j < count && ops[j] != op)
            j++;
        if (j == count)
            ops[count++] = op;
    }
    *n = count;
    return (const struct kb_operation *const *)ops;
}

const struct kb_operation *kb_registry_operation(const char *name)
{
    size_t n;
    const struct kb_operation *const *ops = kb_registry_operations(&n);
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(ops[i]->name, name) == 0)
            return ops[i];
    return NULL;
}

const char *kb_registry_origin(const struct kb_kernel *k)
{
    for (size_t i = 0; i < added.n; i++)
        if (added.all[BUILTIN_COUNT + i] == k)
            return added.origin[i];
    return NULL;
}

int kb_kernel_matches(const struct kb_kernel *k, const char *pattern)
{
    if (!k || !pattern)
        return 0;
    if (fnmatch(pattern, k->name, 0) == 0)
        return 1;
    char full[256];
    int n = snprintf(full, sizeof full, "%s@%s", k->name, k->impl ? k->impl : "");
    if (n < 0 || (size_t)n >= sizeof full)
        return 0;
    return fnmatch(pattern, full, 0) == 0;
}

uint64_t kb_kernel_axes(const struct kb_kernel *k)
{
    return k->axes ? k->axes : k->op->axes;
}
