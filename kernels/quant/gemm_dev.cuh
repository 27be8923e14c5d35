/* gemm_dev.cuh - device code the quantized GEMM kernels share (gemm_mma.cu for mma.sync,
 * gemm_wgmma.cu for Hopper's wgmma): the grouped block order over output tiles and the two
 * epilogues' arithmetic and stores, so both kernels produce the very same output bits from the
 * same accumulators. */
#ifndef KB_QUANT_GEMM_DEV_CUH
#define KB_QUANT_GEMM_DEV_CUH

#include <cuda_bf16.h>
#include <stddef.h>
#include <stdint.h>

namespace kb_qgemm {

/* Block `bid`'s output tile (m0, n0) of BM×BN tiles, numbered in groups of `group_m` tile-rows:
 * the W tiles of a group's column are reused from L2 by group_m consecutive blocks, not 1. */
__device__ __forceinline__ void grouped_tile(int bid, int m, int n, int bm, int bn, int group_m, int &m0, int &n0)
{
    const int tiles_m = (m + bm - 1) / bm, tiles_n = (n + bn - 1) / bn;
    const int per_group = group_m * tiles_n;
    const int first_m = (bid / per_group) * group_m;
    const int gsize = min(tiles_m - first_m, group_m);
    m0 = (first_m + (bid % per_group) % gsize) * bm;
    n0 = ((bid % per_group) / gsize) * bn;
}

/* quant_dyadic_requant of quant.h, on the device: the same int64 multiply, add and shift */
__device__ __forceinline__ int requant(int acc, int32_t b, int c)
{
    long long y = ((long long)acc * b + (1LL << (c - 1))) >> c;
    return y > 127 ? 127 : y < -127 ? -127 : (int)y;
}

/* The dyadic factors b/2^c of output columns col and col + 1 (the second only when `pair`);
 * b = 0, c = 1 elsewhere and in the FP8 epilogue, which has none. */
struct column_dyadic {
    int32_t b0 = 0, b1 = 0;
    int c0 = 1, c1 = 1;
};
template <bool FP8>
__device__ __forceinline__ column_dyadic load_column_dyadic(const int32_t *dyb, const int32_t *dyc, int col, bool pair)
{
    column_dyadic r;
    if (!FP8) {
        r.b0 = dyb[col], r.c0 = dyc[col];
        if (pair)
            r.b1 = dyb[col + 1], r.c1 = dyc[col + 1];
    }
    return r;
}

/* Y[at], Y[at + 1] (the second only when `pair`) as bf16(v): one 4-byte store where aligned. */
__device__ __forceinline__ void store_bf16_pair(void *y_base, size_t at, float v0, float v1, bool pair)
{
    __nv_bfloat16 *y = (__nv_bfloat16 *)y_base + at;
    if (pair && (at & 1) == 0)
        *(__nv_bfloat162 *)y = __floats2bfloat162_rn(v0, v1);
    else {
        y[0] = __float2bfloat16_rn(v0);
        if (pair)
            y[1] = __float2bfloat16_rn(v1);
    }
}

/* Y[at], Y[at + 1] (the second only when `pair`) as int8 codes q0, q1. */
__device__ __forceinline__ void store_s8_pair(void *y_base, size_t at, int q0, int q1, bool pair)
{
    int8_t *y = (int8_t *)y_base + at;
    if (pair && (at & 1) == 0)
        *(char2 *)y = make_char2((signed char)q0, (signed char)q1);
    else {
        y[0] = (int8_t)q0;
        if (pair)
            y[1] = (int8_t)q1;
    }
}

} // namespace kb_qgemm

#endif
