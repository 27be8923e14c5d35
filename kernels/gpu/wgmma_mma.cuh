/* wgmma_mma.cuh - the wgmma.mma_async instructions of the Hopper attention kernels (PTX ISA 8.0,
 * "Asynchronous Warpgroup Level Matrix Multiply-Accumulate") as typed functions, and the e4m3
 * conversion that feeds the 8-bit A fragment: flash_wgmma.cuh, int8_wgmma.cuh, fp8_pv.cuh and
 * flash_fp8_ws.cu call these and keep no inline PTX of their own, so tests/cuda_emu can put an
 * emulation of this one header (and of ptx.cuh, wgmma.cuh, tma.cuh) in its place.
 *
 * Every function is one instruction of the warpgroup (all 128 threads call it together):
 *   d: this thread's accumulators of the m64nN D fragment (N/2 of them, f32 or s32);
 *   desc_a, desc_b: shared-memory matrix descriptors (wgmma.cuh's desc_sw128);
 *   a: this thread's A fragment registers (RS forms: A from registers);
 *   accumulate: nonzero adds to d, zero overwrites it (the scale-d predicate).
 * 16-bit SS forms read A and B K-major; 16-bit RS forms read B MN-major (transposed); 8-bit forms
 * are K-major only (the ISA has no transpose for them). Include only from code built for sm_90a. */
#ifndef KB_WGMMA_MMA_CUH
#define KB_WGMMA_MMA_CUH

#include <stdint.h>

namespace kb_wgmma {

/* The 64 accumulator operands of an m64n128 wgmma (f32 or s32), and the f16/bf16 instructions
 * for one input type TY ("bf16" or "f16"): SS reads A and B from shared memory, RS takes A from
 * registers. Both accumulate into d when `accumulate` is nonzero and overwrite it otherwise. */
#define WGMMA_D \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define WGMMA_D_OPERANDS(C) \
      C(d[0]), C(d[1]), C(d[2]), C(d[3]), C(d[4]), C(d[5]), C(d[6]), C(d[7]), \
      C(d[8]), C(d[9]), C(d[10]), C(d[11]), C(d[12]), C(d[13]), C(d[14]), C(d[15]), \
      C(d[16]), C(d[17]), C(d[18]), C(d[19]), C(d[20]), C(d[21]), C(d[22]), C(d[23]), \
      C(d[24]), C(d[25]), C(d[26]), C(d[27]), C(d[28]), C(d[29]), C(d[30]), C(d[31]), \
      C(d[32]), C(d[33]), C(d[34]), C(d[35]), C(d[36]), C(d[37]), C(d[38]), C(d[39]), \
      C(d[40]), C(d[41]), C(d[42]), C(d[43]), C(d[44]), C(d[45]), C(d[46]), C(d[47]), \
      C(d[48]), C(d[49]), C(d[50]), C(d[51]), C(d[52]), C(d[53]), C(d[54]), C(d[55]), \
      C(d[56]), C(d[57]), C(d[58]), C(d[59]), C(d[60]), C(d[61]), C(d[62]), C(d[63])
#define WGMMA_F32(x) "+f"(x)
#define WGMMA_S32(x) "+r"(x)
#define WGMMA_SS(TY)                                                                                \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                      \
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " WGMMA_D               \
                 ", %64, %65, p, 1, 1, 0, 0;\n}\n"                                                  \
                 : WGMMA_D_OPERANDS(WGMMA_F32)                                                      \
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate))
#define WGMMA_RS(TY)                                                                                \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                                      \
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " WGMMA_D               \
                 ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"                                    \
                 : WGMMA_D_OPERANDS(WGMMA_F32)                                                      \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate))

/* The same RS instruction for N = 64 (P·V of head_dim 64): 32 accumulators. */
#define WGMMA_D32 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define WGMMA_D32_OPERANDS(C) \
      C(d[0]), C(d[1]), C(d[2]), C(d[3]), C(d[4]), C(d[5]), C(d[6]), C(d[7]), \
      C(d[8]), C(d[9]), C(d[10]), C(d[11]), C(d[12]), C(d[13]), C(d[14]), C(d[15]), \
      C(d[16]), C(d[17]), C(d[18]), C(d[19]), C(d[20]), C(d[21]), C(d[22]), C(d[23]), \
      C(d[24]), C(d[25]), C(d[26]), C(d[27]), C(d[28]), C(d[29]), C(d[30]), C(d[31])
#define WGMMA_RS_N64(TY)                                                                            \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                      \
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " WGMMA_D32              \
                 ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"                                    \
                 : WGMMA_D32_OPERANDS(WGMMA_F32)                                                    \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate))

/* Head_dim 256 (flash_wgmma_ws.cu's 64-key tiles): S = Q·Kᵀ as m64n64k16 with both operands in
 * shared memory (32 accumulators), and O += P·V as m64n256k16 with P from registers (128). */
#define WGMMA_SS_N64(TY)                                                                            \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                      \
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " WGMMA_D32              \
                 ", %32, %33, p, 1, 1, 0, 0;\n}\n"                                                  \
                 : WGMMA_D32_OPERANDS(WGMMA_F32)                                                    \
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate))
#define WGMMA_D128 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, " \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
    "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, " \
    "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
    "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"
#define WGMMA_D128_OPERANDS(C) \
      C(d[0]), C(d[1]), C(d[2]), C(d[3]), C(d[4]), C(d[5]), C(d[6]), C(d[7]), \
      C(d[8]), C(d[9]), C(d[10]), C(d[11]), C(d[12]), C(d[13]), C(d[14]), C(d[15]), \
      C(d[16]), C(d[17]), C(d[18]), C(d[19]), C(d[20]), C(d[21]), C(d[22]), C(d[23]), \
      C(d[24]), C(d[25]), C(d[26]), C(d[27]), C(d[28]), C(d[29]), C(d[30]), C(d[31]), \
      C(d[32]), C(d[33]), C(d[34]), C(d[35]), C(d[36]), C(d[37]), C(d[38]), C(d[39]), \
      C(d[40]), C(d[41]), C(d[42]), C(d[43]), C(d[44]), C(d[45]), C(d[46]), C(d[47]), \
      C(d[48]), C(d[49]), C(d[50]), C(d[51]), C(d[52]), C(d[53]), C(d[54]), C(d[55]), \
      C(d[56]), C(d[57]), C(d[58]), C(d[59]), C(d[60]), C(d[61]), C(d[62]), C(d[63]), \
      C(d[64]), C(d[65]), C(d[66]), C(d[67]), C(d[68]), C(d[69]), C(d[70]), C(d[71]), \
      C(d[72]), C(d[73]), C(d[74]), C(d[75]), C(d[76]), C(d[77]), C(d[78]), C(d[79]), \
      C(d[80]), C(d[81]), C(d[82]), C(d[83]), C(d[84]), C(d[85]), C(d[86]), C(d[87]), \
      C(d[88]), C(d[89]), C(d[90]), C(d[91]), C(d[92]), C(d[93]), C(d[94]), C(d[95]), \
      C(d[96]), C(d[97]), C(d[98]), C(d[99]), C(d[100]), C(d[101]), C(d[102]), C(d[103]), \
      C(d[104]), C(d[105]), C(d[106]), C(d[107]), C(d[108]), C(d[109]), C(d[110]), C(d[111]), \
      C(d[112]), C(d[113]), C(d[114]), C(d[115]), C(d[116]), C(d[117]), C(d[118]), C(d[119]), \
      C(d[120]), C(d[121]), C(d[122]), C(d[123]), C(d[124]), C(d[125]), C(d[126]), C(d[127])
#define WGMMA_RS_N256(TY)                                                                           \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %133, 0;\n"                                     \
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32." TY "." TY " " WGMMA_D128            \
                 ", {%128, %129, %130, %131}, %132, p, 1, 1, 1;\n}\n"                               \
                 : WGMMA_D128_OPERANDS(WGMMA_F32)                                                   \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate))

#define WGMMA_SS_N256(TY)                                                                           \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"                                     \
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32." TY "." TY " " WGMMA_D128            \
                 ", %128, %129, p, 1, 1, 0, 0;\n}\n"                                                \
                 : WGMMA_D128_OPERANDS(WGMMA_F32)                                                   \
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate))

/* d (64×128, f32) (+)= A (64×16) · B (16×128), bf16 or f16, both K-major in shared memory. */
template <bool BF16>
__device__ __forceinline__ void mma_m64n128k16_ss(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_SS("bf16");
    else
        WGMMA_SS("f16");
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×128, f32) (+)= A (64×16, this thread's 4 registers of the A fragment) · B (16×128,
 * MN-major in shared memory), bf16 or f16. */
template <bool BF16>
__device__ __forceinline__ void mma_m64n128k16_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_RS("bf16");
    else
        WGMMA_RS("f16");
#else
    (void)d, (void)a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×64, f32) (+)= A (registers, as mma_m64n128k16_rs) · B (16×64, MN-major), bf16 or f16. */
template <bool BF16>
__device__ __forceinline__ void mma_m64n64k16_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_RS_N64("bf16");
    else
        WGMMA_RS_N64("f16");
#else
    (void)d, (void)a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×64, f32) (+)= A (64×16) · B (16×64), bf16 or f16, both K-major in shared memory. */
template <bool BF16>
__device__ __forceinline__ void mma_m64n64k16_ss(float (&d)[32], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_SS_N64("bf16");
    else
        WGMMA_SS_N64("f16");
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* S of 176-key tiles (flash_wgmma_ws.cu's KBENCH_FLASH_WS_KEYS=176 at d = 128, FlashAttention-3's
 * non-causal tile): d (64×176, f32) (+)= A (64×16) · B (16×176), bf16 or f16, both K-major in
 * shared memory. 88 accumulators. */
#define WGMMA_D88 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87}"
#define WGMMA_D88_OPERANDS(C) WGMMA_D_OPERANDS(C), \
      C(d[64]), C(d[65]), C(d[66]), C(d[67]), C(d[68]), C(d[69]), C(d[70]), C(d[71]), \
      C(d[72]), C(d[73]), C(d[74]), C(d[75]), C(d[76]), C(d[77]), C(d[78]), C(d[79]), \
      C(d[80]), C(d[81]), C(d[82]), C(d[83]), C(d[84]), C(d[85]), C(d[86]), C(d[87])
#define WGMMA_SS_N176(TY)                                                                           \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %90, 0;\n"                                      \
                 "wgmma.mma_async.sync.aligned.m64n176k16.f32." TY "." TY " " WGMMA_D88             \
                 ", %88, %89, p, 1, 1, 0, 0;\n}\n"                                                  \
                 : WGMMA_D88_OPERANDS(WGMMA_F32)                                                    \
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate))
template <bool BF16>
__device__ __forceinline__ void mma_m64n176k16_ss(float (&d)[88], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_SS_N176("bf16");
    else
        WGMMA_SS_N176("f16");
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×256, f32) (+)= A (64×16) · B (16×256), bf16 or f16, both K-major in shared memory. */
template <bool BF16>
__device__ __forceinline__ void mma_m64n256k16_ss(float (&d)[128], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_SS_N256("bf16");
    else
        WGMMA_SS_N256("f16");
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×256, f32) (+)= A (registers, as mma_m64n128k16_rs) · B (16×256, MN-major), bf16 or f16. */
template <bool BF16>
__device__ __forceinline__ void mma_m64n256k16_rs(float (&d)[128], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    if (BF16)
        WGMMA_RS_N256("bf16");
    else
        WGMMA_RS_N256("f16");
#else
    (void)d, (void)a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×128, s32) (+)= A (64×32 s8) · B (32×128 s8), both K-major in shared memory. */
__device__ __forceinline__ void mma_m64n128k32_s8_ss(int (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " WGMMA_D ", %64, %65, p;\n}\n"
                 : WGMMA_D_OPERANDS(WGMMA_S32)
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate));
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×256, s32) (+)= A (64×32 s8) · B (32×256 s8), both K-major in shared memory. */
__device__ __forceinline__ void mma_m64n256k32_s8_ss(int (&d)[128], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 " WGMMA_D128 ", %128, %129, p;\n}\n"
                 : WGMMA_D128_OPERANDS(WGMMA_S32)
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate));
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×256, f32) (+)= A (64×32 e4m3) · B (32×256 e4m3), both K-major in shared memory. */
__device__ __forceinline__ void mma_m64n256k32_e4m3_ss(float (&d)[128], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 " WGMMA_D128 ", %128, %129, p, 1, 1;\n}\n"
                 : WGMMA_D128_OPERANDS(WGMMA_F32)
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate));
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×128, f32) (+)= A (64×32 e4m3) · B (32×128 e4m3), both K-major in shared memory. */
__device__ __forceinline__ void mma_m64n128k32_e4m3_ss(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 " WGMMA_D ", %64, %65, p, 1, 1;\n}\n"
                 : WGMMA_D_OPERANDS(WGMMA_F32)
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate));
#else
    (void)d, (void)desc_a, (void)desc_b, (void)accumulate;
#endif
}

/* d (64×128, f32) (+)= A (64×32 e4m3, this thread's four registers of the 8-bit A fragment) ·
 * B (32×128 e4m3, K-major in shared memory). */
__device__ __forceinline__ void mma_m64n128k32_e4m3_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 " WGMMA_D
                 ", {%64, %65, %66, %67}, %68, p, 1, 1;\n}\n"
                 : WGMMA_D_OPERANDS(WGMMA_F32)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
#else
    (void)d, (void)a, (void)desc_b, (void)accumulate;
#endif
}

/* The FP8 P·V with its row sums (fp8_pv.cuh): d (64×136, f32) (+)= A (64×32 e4m3, this thread's
 * four registers) · B (32×136 e4m3, K-major in shared memory: 17 groups of 8 rows, the last
 * 8 rows all ones, so d[64..67] are A's row sums). 68 accumulators. */
#define WGMMA_D68 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67}"
#define WGMMA_D68_OPERANDS(C) WGMMA_D_OPERANDS(C), C(d[64]), C(d[65]), C(d[66]), C(d[67])
__device__ __forceinline__ void mma_m64n136k32_e4m3_rs(float (&d)[68], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %73, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n136k32.f32.e4m3.e4m3 " WGMMA_D68
                 ", {%68, %69, %70, %71}, %72, p, 1, 1;\n}\n"
                 : WGMMA_D68_OPERANDS(WGMMA_F32)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
#else
    (void)d, (void)a, (void)desc_b, (void)accumulate;
#endif
}

/* Two floats as e4m3 (round to nearest even, saturating), x0 in the low byte: cvt_e4m3x4's
 * first two, one conversion and no packing. cvt's first source goes to the upper byte. */
__device__ __forceinline__ uint16_t cvt_e4m3x2(float x0, float x1)
{
    uint16_t r;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %2, %1;\n" : "=h"(r) : "f"(x0), "f"(x1));
    return r;
}

/* Four floats as e4m3 (round to nearest even, saturating), x0 in the lowest byte. cvt's first
 * source goes to the upper byte of each pair. */
__device__ __forceinline__ uint32_t cvt_e4m3x4(float x0, float x1, float x2, float x3)
{
    uint32_t r;
    asm("{\n.reg .b16 lo, hi;\n"
        "cvt.rn.satfinite.e4m3x2.f32 lo, %2, %1;\n"
        "cvt.rn.satfinite.e4m3x2.f32 hi, %4, %3;\n"
        "mov.b32 %0, {lo, hi};\n}\n"
        : "=r"(r)
        : "f"(x0), "f"(x1), "f"(x2), "f"(x3));
    return r;
}

} // namespace kb_wgmma

#endif
