/* swiglu.cuh - silu(gate)·up as every MoE GEMM's SwiGLU epilogue computes it (moe_gemm_mma.cu,
 * moe_gemm_wgmma.cu, moe_fp8_wgmma.cu; one definition, so the FP8 GEMM's fused quantization sees
 * the h its separate quantizer would). On the special-function unit's approximations (ex2, rcp,
 * each within about 2^-22): an IEEE division and __expf's denormal handling made 29 instructions
 * an element of the bf16 epilogue in the H100's SASS, and h is rounded to 16 bits right after.
 * A gate below about −88 makes 1 + 2^(−gate·log2 e) infinite and its reciprocal 0: silu is then
 * below 1e-36, far under bf16's resolution. Include only from a .cu file. */
#ifndef KB_MOE_SWIGLU_CUH
#define KB_MOE_SWIGLU_CUH

#include "kernels/gpu/ptx.cuh"

namespace kb_moe {

__device__ __forceinline__ float swiglu(float gate, float up)
{
    return gate * kb_ptx::rcp(1.f + kb_ptx::ex2(-1.44269504f * gate)) * up;
}

} // namespace kb_moe

#endif
