/* flash_cuda.c - attention.flash@cuda.mma, @cuda.wgmma and @cuda.wgmma-ws: the kernel
 * descriptors of the tensor-core flash attention (device code in flash_mma.cu, for sm_80 on, and
 * flash_wgmma.cu and flash_wgmma_ws.cu, for Hopper's sm_90a alone: d = 128, and 64 and 256 for
 * the latter). f16 and bf16, d = 64 and 128 (wgmma-ws also 256), causal or not, GQA. All three
 * share setup, collect and teardown.
 * Implementations of attention.softmax (softmax_ops.h): setup copies the operation's Q, K, V
 * (already f16 or bf16 values) to the GPU in the case's dtype, collect copies O back widened
 * to float32, and the operation verifies it against the float64 reference over the same
 * inputs, with its bound for the dtype (f16 5e-3, bf16 2e-2 relative L2): P is rounded to the
 * input dtype before P·V, as in FlashAttention-2. */
#include "config.h"
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/softmax_ops.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int dims_mma[] = { 64, 128 };
static const int dims_ws[] = { 64, 128, 256 }; /* @cuda.wgmma-ws: d = 256 on 64-key tiles */

/* The inputs on the GPU for a kernel compiled for the n_dims head_dims in dims. */
static int flash_setup_dims(struct kb_case *c, const int *dims, int n_dims, char *err, size_t errlen)
{
    struct attention_cuda *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    int rc = attention_cuda_upload(a, c, c->dtype, dims, n_dims, err, errlen);
    if (rc != KB_OK) {
        free(a);
        return rc;
    }
    attention_cuda_copies(a, c, &c->shape);
    c->state = a;
    return KB_OK;
}

static int flash_setup(struct kb_case *c, char *err, size_t errlen) { return flash_setup_dims(c, dims_mma, 2, err, errlen); }

static int flash_run(struct kb_case *c) { return attention_cuda_run(c, flash_cuda_launch, "flash_fwd"); }

static int flash_collect(struct kb_case *c) { return attention_cuda_collect_o(c->state, c); }

static void flash_teardown(struct kb_case *c)
{
    struct attention_cuda *a = c->state;
    if (a) {
        attention_cuda_free(a);
        free(a);
    }
    c->state = NULL;
}

const struct kb_kernel kb_attention_flash_cuda = {
    .name = "attention.flash",
    .impl = "cuda.mma",
    .description = "FlashAttention-2 forward on tensor cores (mma.sync), f16/bf16, d = 64 or 128, causal, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .setup = flash_setup,
    .run = flash_run,
    .teardown = flash_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = flash_collect,
};

#ifdef HAVE_SM90A
/* The wgmma kernel is built for sm_90a only: other GPUs have no code for it. */
static int flash_wgmma_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_wgmma_check(c, err, errlen);
    if (rc != KB_OK)
        return rc;
    return flash_setup(c, err, errlen);
}

static int flash_wgmma_run(struct kb_case *c)
{
    return attention_cuda_run(c, flash_wgmma_launch, "flash_wgmma");
}

const struct kb_kernel kb_attention_flash_wgmma = {
    .name = "attention.flash",
    .impl = "cuda.wgmma",
    .description = "FlashAttention forward on Hopper warpgroup tensor cores (wgmma, sm_90a), f16/bf16, d = 128, causal, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .setup = flash_wgmma_setup,
    .run = flash_wgmma_run,
    .teardown = flash_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = flash_collect,
};

/* The FlashAttention-3-style kernel: the same check and inputs, then its TMA encoder and
 * shared-memory limit (once per process is enough; cheap to repeat). */
static int flash_wgmma_ws_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_wgmma_check_dims(c, dims_ws, 3, err, errlen);
    if (rc == KB_OK)
        rc = flash_wgmma_ws_prepare(err, errlen);
    if (rc != KB_OK)
        return rc;
    return flash_setup_dims(c, dims_ws, 3, err, errlen);
}

static int flash_wgmma_ws_run(struct kb_case *c)
{
    return attention_cuda_run(c, flash_wgmma_ws_launch, "flash_wgmma_ws");
}

/* Which kernel ran: the persistent one at d = 128 and at d = 64 causal (KBENCH_FLASH_WS_PERSISTENT=1
 * or 0 forces it everywhere or nowhere); three consumer warpgroups at d = 64 where not causal and
 * not persistent (KBENCH_FLASH_WS_D64_CONSUMERS forces 2 or 3), else two;
 * KBENCH_FLASH_WS_KEYS=176 176-key tiles at d = 128 (not persistent); O stored with TMA unless
 * KBENCH_FLASH_WS_TMA_STORE=0 or persistent at d = 256; O's rescale skipped while a row's
 * maximum grows by at most 2^8 unless KBENCH_FLASH_WS_LAZY_RESCALE=0; a causal grid numbered in
 * sections of planes unless KBENCH_FLASH_WS_SECTIONS=0 (not persistent). */
static int flash_wgmma_ws_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    if (max < 6)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "flash_ws.persistent");
    out[0].value = flash_wgmma_ws_persistent(c->shape.head_dim, c->shape.causal);
    snprintf(out[0].unit, sizeof out[0].unit, "count");
    snprintf(out[1].name, sizeof out[1].name, "flash_ws.consumers");
    out[1].value = flash_wgmma_ws_consumers(c->shape.head_dim, c->shape.causal);
    snprintf(out[1].unit, sizeof out[1].unit, "count");
    snprintf(out[2].name, sizeof out[2].name, "flash_ws.keys");
    out[2].value = flash_wgmma_ws_keys(c->shape.head_dim);
    snprintf(out[2].unit, sizeof out[2].unit, "count");
    snprintf(out[3].name, sizeof out[3].name, "flash_ws.tma_store");
    out[3].value = flash_wgmma_ws_tma_store(c->shape.head_dim, c->shape.causal);
    snprintf(out[3].unit, sizeof out[3].unit, "count");
    snprintf(out[4].name, sizeof out[4].name, "flash_ws.lazy_rescale");
    out[4].value = flash_wgmma_ws_lazy_rescale();
    snprintf(out[4].unit, sizeof out[4].unit, "count");
    snprintf(out[5].name, sizeof out[5].name, "flash_ws.sections");
    out[5].value = flash_wgmma_ws_sections(c->shape.head_dim, c->shape.causal);
    snprintf(out[5].unit, sizeof out[5].unit, "count");
    return 6;
}

const struct kb_kernel kb_attention_flash_wgmma_ws = {
    .name = "attention.flash",
    .impl = "cuda.wgmma-ws",
    .description = "FlashAttention-3-style forward on Hopper (sm_90a): TMA producer warpgroup, 2-stage K/V ring, "
                   "two ping-pong wgmma consumer warpgroups, f16/bf16, d = 64, 128 or 256 (64-key tiles), causal, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .is_reference = 0,
    .setup = flash_wgmma_ws_setup,
    .run = flash_wgmma_ws_run,
    .teardown = flash_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = flash_collect,
    .stats = flash_wgmma_ws_stats,
};
#endif
