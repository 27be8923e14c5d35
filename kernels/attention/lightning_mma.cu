/* lightning_mma.cu - the device code of attention.lightning@cuda.mma (the three passes are
 * described in lightning_cuda.h; definition in lightning.h). mma.sync m16n8k16, f16/bf16
 * operands, float32 accumulation, sm_80 and later (programmatic dependent launch on sm_90).
 *
 * Tokens go in chunks of C (the in-chunk tile) and chunks in groups of G (the state's
 * granularity: one stored state per group, so the state traffic is 1/G of a state per chunk).
 *
 * Fragment layouts and the swizzled [rows][D] shared tiles are those of linear_mma.cu and
 * chunk_tiles.cuh (lane = 4·g + t4; C/D fragment (row g, cols 2t4, 2t4+1), (row g+8, same)):
 * an operand stored with its k index along rows (V for P·V, the state S for Q·S, K for Kᵀ·V)
 * is read with ldmatrix .trans, one stored with k along columns (Q, K in Q·Kᵀ) without.
 *
 * 16-bit range: a group's local state is stored times 1/C (a sum of G·C products kept near a
 * few products' size; undone in the scan's float32 sum) and every state before a chunk that
 * starts at token t times σ(t) = 2^-⌊log2(t+1)/2⌋ (powers of two, exact; undone in the float32
 * accumulator) so f16 keeps room at long N; the in-chunk weights are scaled per row by
 * τ = 1/max|w| before they are rounded (undone at the store), as attention.linear@cuda.mma does. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include <type_traits>

extern "C" {
#include "kernels/attention/lightning.h"
#include "kernels/attention/lightning_cuda.h"
}

#include "kernels/attention/chunk_tiles.cuh"
#include "kernels/gpu/pdl.cuh"
#include "kernels/gpu/sm_count.cuh"
#include "kernels/gpu/tile_counter.h"

namespace {

using namespace kb_ptx;
using namespace kb_chunk;

/* log2 λ_h, λ_h = 1 − 2^(−5 − 8h/H) (linear_decay_lambda), in double so λ^m stays accurate. */
__device__ __forceinline__ double log2_lambda(int h, int heads)
{
    return log2(1.0 - exp2(-5.0 - 8.0 * (double)h / (double)heads));
}

/* σ for the state of the first t tokens: 2^-⌊log2(t+1)/2⌋. */
__device__ __forceinline__ float state_scale(int t)
{
    int e = (31 - __clz(t + 1)) / 2;
    return ldexpf(1.f, -e);
}

/* ---- pass 1: each group's own state --------------------------------------------------------- */

/* acc = L_q = K̃ᵀ V over the group's chunks (1..group of them hold tokens) from token `first`,
 * k̃_j = λ^(G·C−1−j) k_j (j the token's index in the group; tokens past N are zero), one chunk of
 * C at a time into the same float32 accumulator, the decay applied to the A fragments. All
 * THREADS load; threads 0..127 (chunk_state_mma's four warps) hold acc. Two stages of K, V tiles
 * at tiles (4·C·D values): the next chunk's loads are in flight while the tensor cores work on
 * this one. Returns with every thread past its last read of the tiles. */
template <int D, int C, bool BF16, int THREADS>
__device__ __forceinline__ void group_state(uint16_t *tiles, const uint16_t *K, const uint16_t *V, int first, int n,
                                            int chunks, int group, float l2, float (&acc)[D / 64][D / 8][4])
{
    /* stage s (0, 1): its K tile at tiles + 2·s·C·D, its V tile C·D after it, [C][D] each */
    chunk_state_zero<D>(acc);
    load_tile<D, C, THREADS>(tiles, K, first, n);
    load_tile<D, C, THREADS>(tiles + C * D, V, first, n);
    cp_commit();
    for (int u = 0; u < chunks; u++) {
        uint16_t *sK = tiles + (size_t)(u & 1) * 2 * C * D, *sV = sK + C * D;
        if (u + 1 < chunks) {
            const int next = first + (u + 1) * C;
            uint16_t *nK = tiles + (size_t)((u + 1) & 1) * 2 * C * D;
            load_tile<D, C, THREADS>(nK, K, next, n);
            load_tile<D, C, THREADS>(nK + C * D, V, next, n);
            cp_commit();
            cp_wait<1>(); /* chunk u's group is complete, chunk u + 1's may still be in flight */
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        /* k_j weighted by λ^((group−1−u)·C + C−1−j): its decay to the group's last token */
        if (THREADS == 128 || threadIdx.x < 128)
            chunk_state_mma<D, C, BF16, true>(sK, sV, acc, l2, (group - 1 - u) * C);
        __syncthreads(); /* every warp done with this stage before it is loaded again */
    }
}

/* Block (group q, head h, batch b), 4 warps: L_q (group_state), stored in 16 bits times 1/C at
 * local[(b·H + h)·ng + q]. */
template <int D, int C, bool BF16>
__global__ void __launch_bounds__(128) lightning_local(const uint16_t *__restrict__ K, const uint16_t *__restrict__ V,
                                                        uint16_t *__restrict__ local, int n, int heads, int kv_heads,
                                                        int ng, int group)
{
    kb_pdl::launch_dependents(); /* the scan may start its blocks; it waits for this grid's end */
    extern __shared__ __align__(128) unsigned char smem[];
    const int q = blockIdx.x, h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const size_t kvoff = ((size_t)b * kv_heads + kh) * (size_t)n * D;
    const int first = q * group * C; /* the group's first token (< n) */
    float acc[D / 64][D / 8][4];
    group_state<D, C, BF16, 128>(reinterpret_cast<uint16_t *>(smem), K + kvoff, V + kvoff, first, n,
                                 min(group, (n - first + C - 1) / C), group, (float)log2_lambda(h, heads), acc);
    const size_t slot = ((size_t)b * heads + h) * ng + q;
    chunk_state_store16<D, BF16>(acc, 1.f / C, local + slot * D * D);
}

/* ---- pass 2: the scan over groups, one thread per pair of state elements -------------------- */

/* Grid (D·D/2/256, H, B): thread e2 owns elements 2·e2, 2·e2 + 1 of every group state of head
 * (b, h): P_0 = 0, P_{q+1} = λ^(G·C) P_q + L_q in float32 (L_q read as C times its stored
 * value); prefix[q] = σ(q·G·C) P_q in 16 bits. */
/* The scan of one pair of state elements over a plane's ng groups: src and dst point at the pair
 * in group 0's local and prefix states (PAIRS words apart). src is read from L2: in the fused
 * form other blocks wrote it during this launch. */
template <int D, int C, bool BF16>
__device__ __forceinline__ void scan_pair(const uint32_t *src, uint32_t *dst, int ng, int span, float decay)
{
    constexpr int PAIRS = D * D / 2; /* uint32 words per state */
    float run0 = 0.f, run1 = 0.f;
    constexpr int U = 8; /* loads issued ahead of the dependent chain */
    for (int q = 0; q < ng; q += U) {
        uint32_t l[U];
#pragma unroll
        for (int u = 0; u < U; u++)
            l[u] = q + u < ng ? __ldcg(src + (size_t)(q + u) * PAIRS) : 0u;
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (q + u < ng) {
                const float sigma = state_scale((q + u) * span);
                dst[(size_t)(q + u) * PAIRS] = pack2<BF16>(run0 * sigma, run1 * sigma);
                const float2 x = unpack2<BF16>(l[u]);
                run0 = decay * run0 + (float)C * x.x;
                run1 = decay * run1 + (float)C * x.y;
            }
        }
    }
}

/* Grid (D·D/2/256, H, B): thread e2 owns elements 2·e2, 2·e2 + 1 of every group state of head
 * (b, h): P_0 = 0, P_{q+1} = λ^(G·C) P_q + L_q in float32 (L_q read as C times its stored
 * value); prefix[q] = σ(q·G·C) P_q in 16 bits. */
template <int D, int C, bool BF16>
__global__ void __launch_bounds__(256) lightning_scan(const uint16_t *__restrict__ local, uint16_t *__restrict__ prefix,
                                                       int ng, int group, int heads)
{
    constexpr int PAIRS = D * D / 2;
    const int e2 = blockIdx.x * blockDim.x + threadIdx.x;
    kb_pdl::launch_dependents(); /* lightning_out may start loading its Q, K and V */
    kb_pdl::wait();              /* for lightning_local's states */
    if (e2 >= PAIRS)
        return;
    const int h = blockIdx.y;
    const size_t bh = (size_t)blockIdx.z * heads + h;
    scan_pair<D, C, BF16>(reinterpret_cast<const uint32_t *>(local + bh * ng * D * D) + e2,
                          reinterpret_cast<uint32_t *>(prefix + bh * ng * D * D) + e2, ng, group * C,
                          (float)exp2(log2_lambda(h, heads) * group * C));
}

/* ---- the fused form: the three passes in one kernel, for short sequences --------------------- */

/* At short N the three passes are short kernels in a row, each with its ramp and tail (at 4k,
 * batch 1, 16 heads the output pass was 51 of the call's 81.5 us on an H100). Fused, the grid is
 * one dimension of B·H·ng blocks, each claiming the next (FusedArgs::counter) in plane-major order,
 * so a (batch, head) plane's ng blocks are consecutive claims; a block
 *   1 computes its group's L_q (group_state) into local, as pass 1;
 *   2 waits at its plane's barrier until all ng have, then scans its share of the state's pairs
 *     over the plane's ng groups into prefix (scan_pair, as pass 2: the scan's work and traffic
 *     spread over the plane's blocks), and waits at the barrier again;
 *   3 loads its P_q from prefix and computes its outputs, as pass 3 (with PREFETCH the first
 *     chunk's Q, K and V load from the end of 1 on).
 * The same states in the same 16 bits, so the same answer to the bit as the three passes. A block
 * waits only for blocks of its own plane: every earlier claim is a running block, and once all
 * earlier planes are done the plane's later blocks find room, so it cannot deadlock as long as a
 * plane's ng blocks fit on the GPU at once (the launcher checks). The barriers count up across
 * launches (FusedArgs::arrive, zeroed once): launch e's first completes at (2e − 1)·ng arrivals,
 * its second at 2e·ng. */
struct FusedArgs {
    uint16_t *local;  /* [B·H·ng][D·D], pass 1's */
    uint16_t *prefix; /* [B·H·ng][D·D], pass 2's */
    int *arrive;      /* [B·H]: the plane's barrier count */
    int *counter;     /* kb_tile_counter's two ints: the claims, and the blocks that have claimed */
    int epoch;        /* 1 at the first launch on these counts, then 2, 3, ... */
};

/* Bytes past the fused kernel's tiles for its block-wide scalars (the claim): dynamic shared
 * memory, not a __shared__ variable, so that the emulation's blocks running side by side each
 * have their own. */
constexpr int FUSED_SCALARS = 16;

/* The block's claimed index, 0, 1, ... in the order blocks start, via box (shared). The last block
 * to claim puts the counters back to zero for the next launch (as flash_ws.cuh's DYNAMIC). */
__device__ __forceinline__ int claim_block(int *counter, int blocks, volatile int *box)
{
    if (threadIdx.x == 0) {
        *box = atomicAdd(counter, 1);
        __threadfence(); /* the claim before the count of claimers */
        if (atomicAdd(counter + 1, 1) == blocks - 1) {
            atomicExch(counter, 0);
            atomicExch(counter + 1, 0);
        }
    }
    __syncthreads();
    return *box;
}

/* Every thread's global writes so far made visible, then the block counted in at *arrive, then
 * held until the count reaches target. */
__device__ __forceinline__ void plane_barrier(int *arrive, int target)
{
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        atomicAdd(arrive, 1);
        const volatile int *count = arrive;
        while (*count < target) {
        }
        __threadfence(); /* the count read before the block's reads of the others' writes */
    }
    __syncthreads();
}

/* Passes 1 and 2 of the fused form for group q of plane bh: L_q into local, the plane's scan, and
 * the cp.async of P_q (times σ) into sS committed as one group; decay is λ^(G·C) as the scan
 * kernel computes it. `tiles` is the block's shared memory (group_state's 4·C·D values);
 * `first_loads` runs once the tiles are free, so pass 3's first loads overlap the barriers and
 * the scan. */
template <int D, int C, bool BF16, int THREADS, class F>
__device__ __forceinline__ void fused_prefix(const FusedArgs &f, uint16_t *tiles, uint16_t *sS, const uint16_t *K,
                                             const uint16_t *V, int q, size_t bh, int n, int ng, int group, float l2,
                                             float decay, F first_loads)
{
    constexpr int PAIRS = D * D / 2;
    const size_t base = bh * ng;
    const int first = q * group * C;
    {
        float acc[D / 64][D / 8][4];
        group_state<D, C, BF16, THREADS>(tiles, K, V, first, n, min(group, (n - first + C - 1) / C), group, l2, acc);
        if (threadIdx.x < 128)
            chunk_state_store16<D, BF16>(acc, 1.f / C, f.local + (base + q) * D * D);
    }
    first_loads();
    plane_barrier(f.arrive + bh, (2 * f.epoch - 1) * ng);
    /* this block's pairs: runs of THREADS, every ng-th run from the q-th */
    const uint32_t *src = reinterpret_cast<const uint32_t *>(f.local + base * D * D);
    uint32_t *dst = reinterpret_cast<uint32_t *>(f.prefix + base * D * D);
    for (int e2 = q * THREADS + (int)threadIdx.x; e2 < PAIRS; e2 += ng * THREADS)
        scan_pair<D, C, BF16>(src + e2, dst + e2, ng, group * C, decay);
    plane_barrier(f.arrive + bh, 2 * f.epoch * ng);
    load_tile<D, D, THREADS>(sS, f.prefix + (base + q) * D * D, 0, D);
    cp_commit();
}

/* ---- pass 3: the outputs, a group of chunks a block ------------------------------------------ */

/* Block (group q, head h, batch b), C/16 warps; warp w owns rows [16w, 16w + 16) of each chunk.
 * sS holds σ(t0)·S, the state before the chunk at t0, in 16 bits: from the scan for the group's
 * first chunk, then updated in place after each chunk. Row i of a chunk (token t0 + i):
 *   o_i = scale · ( λ^(i+1) q_i·S  +  Σ_{j≤i} λ^(i−j) (q_i·k_j) v_j )
 * and after the chunk S ← λ^C S + Σ_j λ^(C−1−j) k_jᵀ v_j (by threads 0..127, the four warps of
 * chunk_state_mma).
 * PREFETCH (lightning_out_smem's layout: Q and K twice): the next chunk's Q and K load into the
 * other copies while this chunk computes, and its V once this chunk's state update is done with
 * sV, so only the group's first chunk waits for its loads with nothing to do. Without it each
 * chunk's Q, K and V load after the last chunk is done: at N 4k (batch 1, 16 heads) the 256
 * blocks are one wave in step, and every chunk's loads and products took turns. cp.async groups,
 * oldest first: A(u) = Q, K of chunk u (committed at the start of chunk u − 1, or before the
 * loop), B(u) = V of chunk u (at the end of chunk u − 1, or before the loop), the scan's state
 * (before the loop), then A(u + 1) at the start of chunk u (empty in the group's last chunk). */
template <int D, int C> __host__ __device__ constexpr size_t lightning_out_smem(bool prefetch)
{
    return ((size_t)(prefetch ? 5 : 3) * C * D + (size_t)D * D) * sizeof(uint16_t);
}
/* The fused form's shared memory: pass 3's, or group_state's two stages if more, then its
 * scalars (FUSED_SCALARS). */
template <int D, int C> __host__ __device__ constexpr size_t lightning_fused_smem(bool prefetch)
{
    return (lightning_out_smem<D, C>(prefetch) > (size_t)4 * C * D * sizeof(uint16_t)
                ? lightning_out_smem<D, C>(prefetch)
                : (size_t)4 * C * D * sizeof(uint16_t)) +
           FUSED_SCALARS;
}

template <int D, int C, bool BF16, bool PREFETCH = false, bool FUSED = false>
__global__ void __launch_bounds__(C / 16 * 32) lightning_out(const uint16_t *__restrict__ Q,
                                                             const uint16_t *__restrict__ K,
                                                             const uint16_t *__restrict__ V, uint16_t *__restrict__ O,
                                                             const uint16_t *__restrict__ prefix, int n, int heads,
                                                             int kv_heads, int ng, int group, FusedArgs f)
{
    constexpr int W = C / 16, THREADS = 32 * W, MT = D / 64;
    extern __shared__ __align__(128) unsigned char smem[];
    /* sQ, sK, sV, sS; with PREFETCH the second Q and K after sS, both COPY elements on */
    uint16_t *const sQ0 = reinterpret_cast<uint16_t *>(smem);
    uint16_t *const sK0 = sQ0 + C * D, *const sV = sK0 + C * D, *const sS = sV + C * D;
    constexpr int COPY = 3 * C * D + D * D;

    /* FUSED: a one-dimensional grid of ng · H · B blocks, each taking the group it claims, a
     * plane's ng groups one after another (the fused form's comment says why) */
    int q = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    if constexpr (FUSED) {
        const int i = claim_block(f.counter, (int)gridDim.x,
                                  reinterpret_cast<int *>(smem + lightning_fused_smem<D, C>(PREFETCH) - FUSED_SCALARS));
        q = i % ng;
        h = i / ng % heads;
        b = i / ng / heads;
    }
    const int kh = h / (heads / kv_heads);
    const size_t qoff = ((size_t)b * heads + h) * (size_t)n * D;
    const size_t kvoff = ((size_t)b * kv_heads + kh) * (size_t)n * D;
    const size_t slot = ((size_t)b * heads + h) * ng + q;
    const float l2 = (float)log2_lambda(h, heads);
    const float decay_chunk = exp2f(l2 * (float)C); /* λ^C */
    const float qk_scale = rsqrtf((float)D);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int r0 = warp * 16;
    const int ia = r0 + g, ib = ia + 8; /* the chunk-local rows this lane holds */
    uint16_t *out = O + qoff;

    /* PREFETCH: A(0), B(0) (while the scan may still run, or fused while the plane scans), then
     * the state */
    auto first_loads = [&] {
        if constexpr (PREFETCH) {
            const int t0 = q * group * C; /* < n: the grid has no group past N */
            load_tile<D, C, THREADS>(sQ0, Q + qoff, t0, n);
            load_tile<D, C, THREADS>(sK0, K + kvoff, t0, n);
            cp_commit();
            load_tile<D, C, THREADS>(sV, V + kvoff, t0, n);
            cp_commit();
        }
    };
    if constexpr (FUSED) {
        fused_prefix<D, C, BF16, THREADS>(f, sQ0, sS, K + kvoff, V + kvoff, q, (size_t)b * heads + h, n, ng, group, l2,
                                          (float)exp2(log2_lambda(h, heads) * group * C), first_loads);
    } else if constexpr (PREFETCH) {
        first_loads();
        kb_pdl::wait();
        load_tile<D, D, THREADS>(sS, prefix + slot * D * D, 0, D);
        cp_commit();
    }
    for (int u = 0; u < group; u++) {
        const int t0 = (q * group + u) * C;
        if (t0 >= n) /* the same for every thread: the group's tail past N */
            break;
        const float sigma = state_scale(t0);
        const int copy = PREFETCH ? (u & 1) * COPY : 0; /* chunk u's copy of Q and K */
        uint16_t *const sQ = sQ0 + copy, *const sK = sK0 + copy;
        if constexpr (PREFETCH) {
            if (u + 1 < group && t0 + C < n) { /* A(u + 1), into the copies chunk u − 1 used */
                load_tile<D, C, THREADS>(sQ0 + (COPY - copy), Q + qoff, t0 + C, n);
                load_tile<D, C, THREADS>(sK0 + (COPY - copy), K + kvoff, t0 + C, n);
            }
            cp_commit();
            /* pending: A(u), B(u), A(u + 1); at u = 0 A(0), B(0), the state, A(1) */
            if (u == 0)
                cp_wait<1>();
            else
                cp_wait<2>();
        } else {
            /* the chunk's inputs; for the first chunk then the scan's state (the inputs load
             * while the scan may still be running) */
            load_tile<D, C, THREADS>(sQ, Q + qoff, t0, n);
            load_tile<D, C, THREADS>(sK, K + kvoff, t0, n);
            load_tile<D, C, THREADS>(sV, V + kvoff, t0, n);
            cp_commit();
            if (!FUSED && u == 0) {
                kb_pdl::wait();
                load_tile<D, D, THREADS>(sS, prefix + slot * D * D, 0, D);
                cp_commit();
            }
            cp_wait<0>();
        }
        __syncthreads();

        float o[D / 8][4], s[C / 8][4];
#pragma unroll
        for (int i = 0; i < D / 8; i++)
            o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
#pragma unroll
        for (int i = 0; i < C / 8; i++)
            s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;

        /* o = Q·(σS) over all D columns; s = Q·Kᵀ over the key tiles at or left of the warp's rows */
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            uint32_t qa[4];
            ldsm_x4(qa, smem_u32(sQ + swz<D>(r0 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
            mma_rows_state<D, BF16>(o, qa, sS, kk, lane);
#pragma unroll
            for (int np = 0; np < C / 16; np++) {
                if (np > warp)
                    break;
                uint32_t r[4];
                ldsm_x4(r, smem_u32(sK + swz<D>(np * 16 + (lane % 8) + 8 * (lane / 16), kk * 2 + (lane / 8) % 2)));
                mma_16816<BF16>(s[2 * np], qa, r[0], r[1]);
                mma_16816<BF16>(s[2 * np + 1], qa, r[2], r[3]);
            }
        }

        /* in-chunk weights w_ij = (q_i·k_j) λ^(i−j) for j ≤ i, 0 above; each row's max |w| */
        float mx[2] = { 0.f, 0.f };
#pragma unroll
        for (int nt = 0; nt < C / 8; nt++) {
            if (nt / 2 > warp)
                break;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int i = e < 2 ? ia : ib, j = nt * 8 + 2 * t4 + (e & 1);
                float w = j <= i ? s[nt][e] * exp2f(l2 * (float)(i - j)) : 0.f;
                s[nt][e] = w;
                mx[e / 2] = fmaxf(mx[e / 2], fabsf(w));
            }
        }
        float tau[2], out_scale[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
            tau[i] = mx[i] > 0.f ? 1.f / mx[i] : 1.f;
            out_scale[i] = qk_scale / tau[i];
            /* the inter part: undo σ, apply λ^(i+1), and join the intra part's scale τ */
            const float m = exp2f(l2 * (float)((i ? ib : ia) + 1)) / sigma * tau[i];
#pragma unroll
            for (int dt = 0; dt < D / 8; dt++) {
                o[dt][2 * i] *= m;
                o[dt][2 * i + 1] *= m;
            }
        }
        if constexpr (PREFETCH) { /* B(u): this chunk's V (A(u + 1) may still be in flight) */
            cp_wait<1>();
            __syncthreads();
        }
        /* o += (τ·W)·V */
        chunk_intra_pv<D, C, BF16>(o, s, tau, sV, warp, lane);

#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            int col = dt * 8 + 2 * t4;
            if (t0 + ia < n)
                *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ia) * D + col) =
                    pack2<BF16>(o[dt][0] * out_scale[0], o[dt][1] * out_scale[0]);
            if (t0 + ib < n)
                *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ib) * D + col) =
                    pack2<BF16>(o[dt][2] * out_scale[1], o[dt][3] * out_scale[1]);
        }

        /* the state before the next chunk of the group, when there is one (the test written out
         * at each use: kept in a register across the chunk, it cost the default kernel 84 more
         * bytes of spills at d 128, chunk 64) */
        if (u + 1 < group && t0 + C < n) {
            __syncthreads(); /* every warp done reading sS and sK */
            /* k_j ← λ^(C−1−j) k_j in place (16-byte pieces of the swizzled tile) */
            for (int c = threadIdx.x; c < C * (D / 8); c += THREADS) {
                const int r = c / (D / 8), ch = c % (D / 8);
                uint4 *piece = reinterpret_cast<uint4 *>(sK + swz<D>(r, ch));
                const float w = exp2f(l2 * (float)(C - 1 - r));
                uint4 x = *piece;
                uint32_t iw[4] = { x.x, x.y, x.z, x.w }, ow[4];
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    float2 f = unpack2<BF16>(iw[i]);
                    ow[i] = pack2<BF16>(f.x * w, f.y * w);
                }
                *piece = make_uint4(ow[0], ow[1], ow[2], ow[3]);
            }
            __syncthreads();
            if (threadIdx.x < 128) { /* chunk_state_mma's four warps */
                float acc[MT][D / 8][4];
                chunk_state_accumulate<D, C, BF16>(sK, sV, acc);
                /* σ'S' = σ'·(λ^C S + acc), each element read and written by the lane that owns it */
                const float keep = decay_chunk / sigma, sigma_next = state_scale(t0 + C);
#pragma unroll
                for (int mt = 0; mt < MT; mt++)
#pragma unroll
                    for (int nt = 0; nt < D / 8; nt++) {
                        const int p = warp * 16 * MT + mt * 16 + g, col = nt * 8 + 2 * t4;
#pragma unroll
                        for (int half = 0; half < 2; half++) {
                            uint32_t *cell = reinterpret_cast<uint32_t *>(sS + swz_elem<D>(p + 8 * half, col));
                            const float2 old = unpack2<BF16>(*cell);
                            *cell = pack2<BF16>((old.x * keep + acc[mt][nt][2 * half]) * sigma_next,
                                                (old.y * keep + acc[mt][nt][2 * half + 1]) * sigma_next);
                        }
                    }
            }
        }
        __syncthreads(); /* the tiles and the state are free for the next chunk */
        if (PREFETCH && u + 1 < group && t0 + C < n) { /* B(u + 1) */
            load_tile<D, C, THREADS>(sV, V + kvoff, t0 + C, n);
            cp_commit();
        }
    }
}

/* The fused kernel's blocks that fit on the current GPU at once (its shared memory allowed first;
 * blocks an SM asked once, as the launch is inside the timed region). */
template <int D, int C, bool BF16, bool PREFETCH> cudaError_t fused_at_once(int *blocks)
{
    static bool set;
    static int per_sm;
    const size_t smem = lightning_fused_smem<D, C>(PREFETCH);
    auto kernel = lightning_out<D, C, BF16, PREFETCH, true>;
    cudaError_t e = allow_smem(kernel, smem, &set);
    if (e == cudaSuccess && per_sm < 1)
        e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, C / 16 * 32, smem);
    *blocks = per_sm * kb_gpu::sm_count();
    return e;
}

template <int D, int C, bool BF16, bool PREFETCH>
cudaError_t launch_fused(const struct kb_shape *s, const uint16_t *Q, const uint16_t *K, const uint16_t *V, uint16_t *o,
                         struct lightning_cuda_scratch *scr, int ng, int group, cudaStream_t st)
{
    const size_t smem = lightning_fused_smem<D, C>(PREFETCH);
    auto kernel = lightning_out<D, C, BF16, PREFETCH, true>;
    if (!scr->arrive || !kb_tile_counter())
        return cudaErrorInvalidValue; /* setup allocates them where lightning_cuda_fused says */
    /* a plane's blocks wait for each other: they must fit on the GPU at once (setup refuses a
     * shape where they do not, with its reason; this guards the launch itself) */
    int at_once = 0;
    cudaError_t e = fused_at_once<D, C, BF16, PREFETCH>(&at_once);
    if (e != cudaSuccess)
        return e;
    if (at_once < ng)
        return cudaErrorCooperativeLaunchTooLarge;
    const FusedArgs f = { (uint16_t *)scr->local, (uint16_t *)scr->prefix, scr->arrive, kb_tile_counter(),
                          scr->launches + 1 };
    kernel<<<ng * s->heads * s->batch, C / 16 * 32, smem, st>>>(Q, K, V, o, nullptr, s->seq_len, s->heads, s->kv_heads,
                                                                ng, group, f);
    if ((e = cudaGetLastError()) == cudaSuccess) /* counted only once it runs: the next waits for its arrivals */
        scr->launches = f.epoch;
    return e;
}

template <int D, int C, bool BF16>
cudaError_t launch(const struct kb_shape *s, const void *q, const void *k, const void *v, void *o,
                   struct lightning_cuda_scratch *scr, cudaStream_t st)
{
    const int n = s->seq_len, nc = (n + C - 1) / C, group = lightning_cuda_group(s), ng = (nc + group - 1) / group;
    const uint16_t *Q = (const uint16_t *)q, *K = (const uint16_t *)k, *V = (const uint16_t *)v;
    uint16_t *local = (uint16_t *)scr->local, *prefix = (uint16_t *)scr->prefix;
    const dim3 groups(ng, s->heads, s->batch);
    if (lightning_cuda_fused(s))
        return lightning_cuda_prefetch(s) ? launch_fused<D, C, BF16, true>(s, Q, K, V, (uint16_t *)o, scr, ng, group, st)
                                          : launch_fused<D, C, BF16, false>(s, Q, K, V, (uint16_t *)o, scr, ng, group, st);

    const size_t smem1 = (size_t)4 * C * D * sizeof(uint16_t); /* two stages of K, V */
    static bool set1;
    cudaError_t e = allow_smem(lightning_local<D, C, BF16>, smem1, &set1);
    if (e != cudaSuccess)
        return e;
    lightning_local<D, C, BF16><<<groups, 128, smem1, st>>>(K, V, local, n, s->heads, s->kv_heads, ng, group);
    if ((e = cudaGetLastError()) != cudaSuccess)
        return e;

    /* passes 2 and 3 each start while the one before drains (kernels/gpu/pdl.cuh) */
    const dim3 pairs((D * D / 2 + 255) / 256, s->heads, s->batch);
    e = kb_pdl::launch_pdl(lightning_scan<D, C, BF16>, pairs, dim3(256), 0, st, (const uint16_t *)local, prefix, ng,
                           group, s->heads);
    if (e != cudaSuccess)
        return e;

    const FusedArgs none = {};
    if (lightning_cuda_prefetch(s)) {
        const size_t smem3 = lightning_out_smem<D, C>(true);
        static bool set3p;
        if ((e = allow_smem(lightning_out<D, C, BF16, true>, smem3, &set3p)) != cudaSuccess)
            return e;
        return kb_pdl::launch_pdl(lightning_out<D, C, BF16, true>, groups, dim3(C / 16 * 32), smem3, st, Q, K, V,
                                  (uint16_t *)o, (const uint16_t *)prefix, n, s->heads, s->kv_heads, ng, group, none);
    }
    const size_t smem3 = lightning_out_smem<D, C>(false);
    static bool set3;
    if ((e = allow_smem(lightning_out<D, C, BF16>, smem3, &set3)) != cudaSuccess)
        return e;
    return kb_pdl::launch_pdl(lightning_out<D, C, BF16>, groups, dim3(C / 16 * 32), smem3, st, Q, K, V,
                              (uint16_t *)o, (const uint16_t *)prefix, n, s->heads, s->kv_heads, ng, group, none);
}

/* f(d, chunk, bf16) with the shape's compiled head_dim (64, 128), chunk (64, 128) and dtype (f16,
 * bf16) as std::integral_constant arguments, for the templates above; cudaErrorInvalidValue for
 * any other. */
template <class F> cudaError_t with_compiled_shape(const struct kb_shape *s, enum kb_dtype t, F f)
{
    using std::integral_constant;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || (s->chunk != 64 && s->chunk != 128) ||
        (s->head_dim != 64 && s->head_dim != 128))
        return cudaErrorInvalidValue;
    auto chunk = [&](auto d, auto bf16) {
        return s->chunk == 64 ? f(d, integral_constant<int, 64>{}, bf16) : f(d, integral_constant<int, 128>{}, bf16);
    };
    auto dim = [&](auto bf16) {
        return s->head_dim == 64 ? chunk(integral_constant<int, 64>{}, bf16) : chunk(integral_constant<int, 128>{}, bf16);
    };
    return t == KB_DTYPE_BF16 ? dim(std::true_type{}) : dim(std::false_type{});
}

} // namespace

extern "C" int lightning_cuda_fused_at_once(const struct kb_shape *s, enum kb_dtype t, int *blocks)
{
    const bool pf = lightning_cuda_prefetch(s) != 0;
    *blocks = 0;
    return (int)with_compiled_shape(s, t, [&](auto d, auto c, auto bf16) {
        return pf ? fused_at_once<decltype(d)::value, decltype(c)::value, decltype(bf16)::value, true>(blocks)
                  : fused_at_once<decltype(d)::value, decltype(c)::value, decltype(bf16)::value, false>(blocks);
    });
}

extern "C" int lightning_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                     const void *v, void *o, struct lightning_cuda_scratch *scratch,
                                     void *stream)
{
    if (s->kv_heads < 1 || s->heads % s->kv_heads != 0 || s->decode || s->seq_len < 1)
        return (int)cudaErrorInvalidValue;
    return (int)with_compiled_shape(s, t, [&](auto d, auto c, auto bf16) {
        return launch<decltype(d)::value, decltype(c)::value, decltype(bf16)::value>(s, q, k, v, o, scratch,
                                                                                  (cudaStream_t)stream);
    });
}
