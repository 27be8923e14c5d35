/* lightning_op.c - the operation attention.lightning (linear_ops.h, definitions lightning.h):
 * shape rule, inputs, float64 verification and counts, shared by every implementation. */
#include "kernels/attention/linear_ops.h"

#include "kernels/attention/lightning.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/qkv_operands.h"
#include "kernels/verify.h"

/* The chunk is a parameter of the chunked algorithms (0 = unset is accepted here; each chunked
 * implementation checks its own). */
static int lightning_op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                               size_t errlen)
{
    int rc = lightning_check_shape(s, 1, err, errlen);
    if (rc != KB_OK)
        return rc;
    return linear_decode_operands_add(io, s, t, seed, err, errlen);
}

/* The sampled rows (row N of N + 1 tokens in decode) against the direct float64 sum; float32
 * held to LIGHTNING_TOLERANCE_F32, the 16-bit dtypes (inputs already rounded) to their default. */
static int lightning_op_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t,
                               uint64_t seed, int threads, struct kb_accuracy *acc)
{
    struct attention_inputs in = qkv_operands_view(io);
    double tol = t == KB_DTYPE_F32 ? LIGHTNING_TOLERANCE_F32 : verify_default_tolerance(t);
    return linear_verify_rows_tol(s, &in, io->buffer[KB_LIN_O], seed, threads, tol, lightning_reference_rows, acc);
}

const struct kb_operation kb_op_attention_lightning = {
    .name = "attention.lightning",
    .description = "Lightning / RetNet decayed linear attention, un-normalised: o_i = (1/√d) Σ_{s≤i} λ_h^(i−s) "
                   "(q_i·k_s) v_s, per-head decay λ_h = 1 − 2^(−5−8h/H), causal; decode step",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CHUNK) |
            KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "q [B,H,T,d], k and v [B,H_kv,T,d] float32 inputs (T = N, N + 1 in decode; 16-bit cases hold values "
              "rounded to the dtype); o [B,H,N,d] float32 output ([B,H,1,d] in decode: token N's row); row-major",
    .flops = lightning_flops,
    .bytes = lightning_bytes,
    .footprint = linear_decode_op_footprint,
    .inputs = lightning_op_inputs,
    .verify = lightning_op_verify,
};
