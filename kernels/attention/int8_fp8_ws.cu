/* int8_fp8_ws.cu - the attention of attention.int8@cuda.wgmma-fp8: SageAttention2's recipe on
 * the FlashAttention-3 schedule of flash_ws.cuh. S = Q₈·K₈ᵀ exactly as
 * attention.int8@cuda.wgmma-ws (int8_wgmma_ws.cu: wgmma .s32.s8.s8, dequantized per Q block
 * and K block; the scores policy Scores8 of int8_ws_scores.cuh), and P·V in FP8 (fp8_pv.cuh:
 * P·448 and V as e4m3, wgmma m64n136k32 .f32.e4m3.e4m3 with P from registers and V's tile
 * followed by ones rows for P's row sums, each tile's product in a fresh f32 accumulator added
 * into O, V's channel scales applied at the store).
 * sm_90a only, head_dim 128, after the pre-pass of int8_quant.cu (Q and K codes as the other
 * INT8 kernels, plus V's e4m3 codes transposed to [channel][keys] with the keys of each group
 * of 32 permuted as fp8_pv.cuh derives), which setup runs and times apart (int8_cuda.c).
 *
 * What changes against @cuda.wgmma-ws: V is one 16 KiB box a stage (128 channel rows × 128 key
 * bytes) instead of two f16 boxes, P is 16 registers a thread instead of 32, and the P·V of a
 * tile needs its own 64 f32 accumulators (two-level accumulation) beside O, S and P: the
 * consumer holds O 64, S 64, pv 68 and P 16 across the wgmmas.
 * A quarter of the softmax's exponentials run on the FMA pipe (KB_EX2_FMA_EVERY = 4,
 * kernels/gpu/ex2_fma.h): measured on an H100 (ninth session, SageAttention2's shape, one lease)
 * 738 TOPS against 706 with all on MUFU; this kernel's exact s32 → f32 conversion keeps its XU
 * and FMA pipes at a balance where the FP8 flash kernel gained nothing. -DKB_EX2_FMA_EVERY=0
 * restores MUFU only.
 * Shared memory: Q 16 KiB, K 2 × 16 KiB, V 2 × (16 + 1) KiB, barriers, +1024: 85064 bytes.
 * The kernel and its launcher are fp8_pv_ws.cuh's, shared with attention.flash@cuda.wgmma-fp8;
 * this file names the scores. */
#ifndef KB_EX2_FMA_EVERY
#define KB_EX2_FMA_EVERY 4 /* before flash_wgmma.cuh, whose default is 0 (the header comment) */
#endif
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/int8.h"
}

#include "kernels/attention/fp8_pv_ws.cuh"

namespace {

using namespace kb_fws;

using Scores = Scores8<PvFp8>;

} // namespace

extern "C" int int8_fp8_ws_prepare(char *err, size_t errlen)
{
    return fp8_pv_ws_prepare<Scores>("int8_fp8_ws", err, errlen);
}

extern "C" int int8_cuda_attend_fp8_ws(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                                       const float *kscale, const void *vt, const float *vscale, const void *v16, int persistent,
                                        void *o, void *stream)
{
    return fp8_pv_ws_attend<Scores>(s, q8, k8, qscale, kscale, vt, vscale, v16, persistent, o, stream);
}
