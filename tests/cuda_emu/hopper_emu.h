// hopper_emu.h - Hopper's (sm_90a) instructions emulated on the host for shim.h (README.md):
// what kernels/gpu/wgmma.cuh, wgmma_mma.cuh and tma.cuh give the attention kernels, with the
// PTX ISA's semantics. run.sh installs this one file as all three (an include guard, not
// #pragma once, makes the copies one header), after ptx_emu.h as ptx.cuh.
//
//   wgmma.mma_async  warpgroup-collective (the 128 threads of threadIdx.x / 128 call it together):
//       the operands of the 4 warps are gathered (A from the threads' fragment registers or from
//       a shared-memory descriptor, B from a descriptor), the product summed in float (int32 for
//       s8; every product of these types is exact in float, only the order of the sums differs
//       from the tensor cores'), and each thread's D fragment written: d[i] is row
//       16·warp + lane/4 + 8·((i/2)%2), column 8·(i/4) + 2·(lane%4) + i%2 ("Register fragments",
//       m64nN 32-bit accumulators). A fragments in registers: 16-bit k16, register r of lane
//       (g = lane/4, t = lane%4) holds row g + 8(r%2), k = 8(r/2) + 2t + {0, 1}; 8-bit k32,
//       register r holds row g + 8(r%2), k = 16(r/2) + 4t + {0..3}, lowest byte first.
//       Asynchronous as on the GPU, at its latest: each thread's issued products wait in
//       commit groups and are computed only at the wgmma.wait_group that covers them (their
//       shared-memory operands and A registers read, their accumulators written then). So an
//       accumulator read before its wait holds its old value, and a stage or an A register
//       overwritten before the wait (a ring stage released too early) feeds the product the new
//       contents: either shows in the result. A missing fence is not caught.
//   descriptors  start address bits 0-13, leading byte offset 16-29, stride byte offset 32-45
//       (all >> 4), base offset 49-51 (must be 0), swizzle 62-63 (only 1 = 128B is emulated).
//       K-major (A; B unless transposed): element (row, k) at start + (row/8)·SBO + (row%8)·128
//       + k·size. MN-major (16-bit B with the transpose bit): element (k, n) at start +
//       (n/64)·LBO + (k/8)·SBO + (k%8)·128 + (n%64)·2. Then the 128B swizzle of the address:
//       bits 4-6 ^= bits 7-9 (16-byte chunk c of a 128-byte row r of a 1024-byte atom at c ^ r),
//       so a start advanced inside the row (a k-step) is swizzled after the add, as on the GPU.
//   cvt.rn.satfinite.e4m3x2.f32  round to nearest even, saturating to ±448, NaN to 0x7F.
//   TMA  the host's cuTensorMapEncodeTiled is emu_encode_tiled (encode_tiled() returns it): it
//       checks the arguments as the driver does and records pointer, element size, dims,
//       strides, box and swizzle in the CUtensorMap's bytes. load_2d/load_3d copy the box into
//       shared memory (rows of box[0] elements one after another, 128B-swizzled as above when
//       the map says so), zero-filling elements outside the tensor, then complete_tx the whole
//       box's bytes on the mbarrier (out-of-bounds ones included, as the hardware counts them):
//       as late as the GPU may, when a thread first waits on that mbarrier, so a stage read
//       before its full barrier's wait holds what was there before.
//       store_3d is kept pending per thread and performed by that thread's bulk_wait_read (the
//       reverse copy, elements outside the tensor skipped); one still pending when the block
//       ends is a failure.
//   mbarrier  init(count), arrive, arrive.expect_tx (tx += bytes, then arrive), complete_tx; a
//       phase completes when its pending arrivals and its transaction count are both zero;
//       try_wait.parity(P) succeeds once the phase with parity P has completed (the current
//       phase's parity is not P). A mutex and a condition variable.
//   bar.sync / bar.arrive id, count: a generation barrier per id; arrive counts without waiting.
//   setmaxnreg, fence.proxy.async, fence.mbarrier_init, prefetch.tensormap: nothing.
// A wait that never ends (a barrier protocol bug: a deadlock on the GPU) aborts after
// EMU_DEADLOCK_S seconds with the barrier's name; so does a descriptor or tensor map this
// emulation does not cover, or a shared-memory access past the block's dynamic shared memory.
#ifndef KB_HOPPER_EMU_H
#define KB_HOPPER_EMU_H
#define KB_WGMMA_CUH
#define KB_WGMMA_MMA_CUH
#define KB_TMA_CUH
#ifndef __CUDA_ARCH_FEAT_SM90_ALL
#define __CUDA_ARCH_FEAT_SM90_ALL 1 /* the kernels' sm_90a branches are the ones emulated */
#endif
#include "shim.h"
#include "cuda.h" /* cuda_driver_emu.h */
#include "kernels/gpu/ptx.cuh" /* ptx_emu.h: smem_u32, the shared-memory base */
#include <bitset>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#ifndef EMU_DEADLOCK_S
#define EMU_DEADLOCK_S 120
#endif
inline void __trap() { abort(); }

namespace kb_hopper_emu {

[[noreturn]] inline void fail(const char *what, uint64_t value = 0)
{
    fprintf(stderr, "hopper_emu: %s (0x%llx; thread %u of block %u,%u,%u)\n", what, (unsigned long long)value,
            threadIdx.x, blockIdx.x, blockIdx.y, blockIdx.z);
    abort();
}
inline uint32_t swizzle128(uint32_t a) { return a ^ (((a >> 7) & 7) << 4); }

/* ---- synchronisation state: per block (shim.h's emu_cta::ext) ---- */
inline std::mutex mu; /* one for every block: a cluster's blocks touch each other's barriers */
inline std::condition_variable cv;
/* a TMA load issued and not yet landed (tma_load): its box's place in shared memory (a
 * shared::cluster address for another block of the cluster), map, coordinates and bytes */
struct tma_load_op {
    uint32_t dst;
    CUtensorMap map;
    int rank, c[5];
};
struct mbarrier {
    int count, pending;
    int64_t tx;
    uint32_t phase; /* completed phases */
    std::vector<tma_load_op> loads; /* TMA loads that complete their bytes on it, not yet landed */
};
struct named_barrier {
    int arrived, count;
    uint64_t gen;
    std::bitset<1024> in; /* the threads that joined this phase */
};
/* a warpgroup's wgmma operands, gathered from its threads */
constexpr int MAX_N = 256, MAX_K = 32;
struct stage {
    float a[64][MAX_K], b[MAX_K][MAX_N];
    uint32_t regs[128][4];
    uint64_t desc_a[128], desc_b[128];
};
/* a TMA store issued and not yet waited for (tma_store_now) */
struct tma_store_op {
    uint32_t src;
    CUtensorMap map;
    int rank, c[5];
};
struct cta_state {
    std::map<uint32_t, mbarrier> mbars; /* by shared-memory address */
    std::map<unsigned, std::vector<tma_store_op>> stores; /* by thread */
    named_barrier named[16];
    stage stages[EMU_MAX_WARPS / 4];
};
inline cta_state &state_of(emu_cta *c) { return *static_cast<cta_state *>(c->ext); }
inline cta_state &state() { return state_of(g_cta); }
/* A shared::cluster address (mapa's): the rank of its block, plus one, above bit RANK_SHIFT
 * (shared-memory offsets stay below it); an address without one is the calling block's. The
 * block it names, a is made its offset there. */
constexpr int RANK_SHIFT = 24;
inline emu_cta *cta_of(uint32_t &a)
{
    const uint32_t tag = a >> RANK_SHIFT;
    if (tag == 0)
        return g_cta;
    if (!g_cluster || (int)tag > g_cluster->size)
        fail("a shared::cluster address of a block outside the cluster", a);
    a &= (1u << RANK_SHIFT) - 1;
    emu_cta *const c = g_cluster->cta[tag - 1];
    if (c->live == 0) /* on the GPU its shared memory may already be another block's */
        fail("an access to a block of the cluster whose threads have all returned", a);
    return c;
}
inline unsigned char *smem_at(uint32_t a, uint32_t bytes)
{
    emu_cta *const c = cta_of(a);
    if ((size_t)a + bytes > c->smem_bytes)
        fail("shared-memory access past the block's dynamic shared memory", a);
    return reinterpret_cast<unsigned char *>(c->smem) + a;
}
inline void reset(emu_cta *c) { c->ext = new cta_state(); }
inline const bool reset_hooked = (g_block_begin = reset, true);
/* A named barrier with arrivals pending when the block ends: on the GPU a bar.arrive that no
 * bar.sync ever completes, the sign of turns passed once too often or taken once too few. */
inline void check_named(emu_cta *c)
{
    for (int id = 1; id < 16; id++)
        if (state_of(c).named[id].arrived)
            fail("a named barrier has arrivals pending at the block's end", (uint64_t)id);
    for (const auto &t : state_of(c).stores)
        if (!t.second.empty()) /* on the GPU the block may be gone before its box was read */
            fail("a TMA store never waited for (bulk_wait_read) at the block's end", t.first);
    delete &state_of(c);
    c->ext = nullptr;
}
inline const bool end_hooked = (g_block_end = check_named, true);

template <class P> void wait_until(std::unique_lock<std::mutex> &lk, P done, const char *what, uint32_t id)
{
    if (!cv.wait_for(lk, std::chrono::seconds(EMU_DEADLOCK_S), done))
        fail(what, id);
}
inline mbarrier &mbar(uint32_t bar)
{
    cta_state &st = state_of(cta_of(bar));
    auto it = st.mbars.find(bar);
    if (it == st.mbars.end())
        fail("mbarrier used before mbarrier.init", bar);
    return it->second;
}
inline void complete_if_done(mbarrier &b)
{
    if (b.pending == 0 && b.tx == 0) {
        b.phase++;
        b.pending = b.count;
        cv.notify_all();
    }
}
inline void arrive_locked(uint32_t bar)
{
    mbarrier &b = mbar(bar);
    if (--b.pending < 0)
        fail("more arrivals on an mbarrier phase than its count", bar);
    complete_if_done(b);
}

/* ---- element types ---- */
enum type { F16, BF16, E4M3, S8 };
inline float e4m3_value(uint8_t c)
{
    const int s = c >> 7, e = (c >> 3) & 15, m = c & 7;
    float v;
    if (e == 15 && m == 7)
        v = NAN;
    else if (e == 0)
        v = ldexpf((float)m, -9);
    else
        v = ldexpf(1.f + m / 8.f, e - 7);
    return s ? -v : v;
}
inline uint8_t e4m3_code(float x)
{
    if (std::isnan(x))
        return 0x7F;
    const uint8_t sign = std::signbit(x) ? 0x80 : 0;
    const float a = fabsf(x);
    if (a >= 448.f)
        return sign | 0x7E; /* satfinite */
    if (a < ldexpf(1.f, -6)) /* subnormal: multiples of 2^-9 (8 of them reach the first normal) */
        return sign | (uint8_t)std::nearbyint(ldexpf(a, 9));
    int ex;
    frexpf(a, &ex); /* a = f·2^ex, f in [0.5, 1): the normal exponent is ex − 1 */
    int e = ex - 1, q = (int)std::nearbyint((ldexpf(a, -e) - 1.f) * 8.f);
    if (q == 8)
        e++, q = 0;
    return sign | (uint8_t)(((e + 7) << 3) | q);
}
inline float value_at(type t, uint32_t addr)
{
    const unsigned char *p = smem_at(addr, t == F16 || t == BF16 ? 2 : 1);
    uint16_t h;
    switch (t) {
    case F16: memcpy(&h, p, 2); return __half2float(__half{ h });
    case BF16: memcpy(&h, p, 2); return __bfloat162float(__nv_bfloat16{ h });
    case E4M3: return e4m3_value(*p);
    default: return (float)(int8_t)*p;
    }
}
inline int type_bytes(type t) { return t == F16 || t == BF16 ? 2 : 1; }

/* ---- wgmma ---- */
struct descriptor {
    uint32_t start, lbo, sbo;
};
inline descriptor decode(uint64_t d)
{
    if ((d >> 62) != 1)
        fail("wgmma descriptor without the 128B swizzle (the only layout emulated)", d);
    if (((d >> 49) & 7) != 0)
        fail("wgmma descriptor with a base offset (not emulated)", d);
    if ((d >> 14) & 3 || (d >> 30) & 3 || (d >> 46) & 7 || (d >> 52) & 0x3FF)
        fail("wgmma descriptor with reserved bits set", d);
    return { (uint32_t)(d & 0x3FFF) << 4, (uint32_t)((d >> 16) & 0x3FFF) << 4, (uint32_t)((d >> 32) & 0x3FFF) << 4 };
}
/* (row, k) of a K-major operand; (k, n) of an MN-major one */
inline uint32_t kmajor_addr(const descriptor &d, int row, int k, int bytes)
{
    return swizzle128(d.start + (uint32_t)(row / 8) * d.sbo + (uint32_t)(row % 8) * 128 + (uint32_t)(k * bytes));
}
inline uint32_t mnmajor_addr(const descriptor &d, int k, int n, int bytes)
{
    return swizzle128(d.start + (uint32_t)(n * bytes / 128) * d.lbo + (uint32_t)(k / 8) * d.sbo + (uint32_t)(k % 8) * 128 +
                      (uint32_t)(n * bytes % 128));
}
/* A's element (m, k) from the fragment registers of the warpgroup's threads */
inline float reg_value(type t, const uint32_t (*regs)[4], int m, int k)
{
    const int w = m / 16, r = m % 16, g = r % 8;
    if (type_bytes(t) == 2) {
        const uint32_t v = regs[32 * w + 4 * g + (k % 8) / 2][r / 8 + 2 * (k / 8)];
        const uint16_t h = (uint16_t)(k % 2 ? v >> 16 : v & 0xFFFF);
        return t == F16 ? __half2float(__half{ h }) : __bfloat162float(__nv_bfloat16{ h });
    }
    const uint32_t v = regs[32 * w + 4 * g + (k % 16) / 4][r / 8 + 2 * (k / 16)];
    const uint8_t c = (uint8_t)(v >> (8 * (k % 4)));
    return t == E4M3 ? e4m3_value(c) : (float)(int8_t)c;
}


/* d (64×N) (+)= A (64×K) · B (K×N) of type t for the calling warpgroup; a_regs: A from the
 * fragment registers (else desc_a, K-major); trans_b: B MN-major. Acc float or int. */
template <int N, typename Acc>
void mma(Acc *d, type t, int K, const uint32_t *a_regs, uint64_t desc_a, uint64_t desc_b, bool trans_b, int accumulate)
{
    static_assert(N % 8 == 0 && N <= MAX_N);
    if (blockDim.x % 128 != 0)
        fail("wgmma in a block that is not whole warpgroups", blockDim.x);
    const int wg = threadIdx.x / 128, tid = threadIdx.x % 128, bytes = type_bytes(t);
    stage &s = state().stages[wg];
    if (a_regs)
        memcpy(s.regs[tid], a_regs, sizeof s.regs[tid]);
    s.desc_a[tid] = desc_a, s.desc_b[tid] = desc_b;
    g_wg_bar[wg]->arrive_and_wait();
    if (s.desc_b[tid] != s.desc_b[0] || (!a_regs && s.desc_a[tid] != s.desc_a[0]))
        fail("wgmma descriptor differs between the threads of a warpgroup", desc_b);
    const descriptor db = decode(desc_b);
    if (tid < 64) {
        const descriptor da = a_regs ? descriptor{} : decode(desc_a);
        for (int k = 0; k < K; k++)
            s.a[tid][k] = a_regs ? reg_value(t, s.regs, tid, k) : value_at(t, kmajor_addr(da, tid, k, bytes));
    }
    for (int n = tid; n < N; n += 128)
        for (int k = 0; k < K; k++)
            s.b[k][n] = value_at(t, trans_b ? mnmajor_addr(db, k, n, bytes) : kmajor_addr(db, n, k, bytes));
    g_wg_bar[wg]->arrive_and_wait();
    const int w = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
    for (int i = 0; i < N / 2; i++) {
        const int row = 16 * w + g + 8 * ((i / 2) % 2), col = 8 * (i / 4) + 2 * t4 + i % 2;
        float acc = 0.f;
        for (int k = 0; k < K; k++)
            acc += s.a[row][k] * s.b[k][col];
        d[i] = accumulate ? d[i] + (Acc)acc : (Acc)acc;
    }
    g_wg_bar[wg]->arrive_and_wait(); /* the stage is reused by the next wgmma */
}

/* ---- tensor maps ---- */
constexpr uint32_t MAP_MAGIC = 0x7e4a5001u;
struct tensor_map {
    const unsigned char *ptr;
    uint32_t magic, rank, elem_bytes, swizzle;
    uint64_t dims[5], strides[5]; /* strides[i]: bytes between steps of dimension i + 1 */
    uint32_t box[5];
};
static_assert(sizeof(tensor_map) <= sizeof(CUtensorMap), "a tensor map's record fits its 128 bytes");

inline CUresult encode_tiled(CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank, void *addr,
                             const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box,
                             const cuuint32_t *elem_strides, CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                             CUtensorMapL2promotion, CUtensorMapFloatOOBfill oob)
{
    static const int sizes[] = { 1, 2, 4, 4, 8, 8, 2, 4, 8, 2 };
    if (type < 0 || type > CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 || rank < 1 || rank > 5 || (uintptr_t)addr % 16 ||
        interleave != CU_TENSOR_MAP_INTERLEAVE_NONE || oob != CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)
        return CUDA_ERROR_INVALID_VALUE;
    tensor_map m = {};
    m.ptr = (const unsigned char *)addr, m.magic = MAP_MAGIC, m.rank = rank, m.elem_bytes = sizes[type];
    m.swizzle = swizzle;
    for (cuuint32_t i = 0; i < rank; i++) {
        if (dims[i] < 1 || box[i] < 1 || box[i] > 256 || elem_strides[i] != 1) /* strided boxes: not emulated */
            return CUDA_ERROR_INVALID_VALUE;
        m.dims[i] = dims[i], m.box[i] = box[i];
        if (i + 1 < rank) {
            if (strides[i] % 16)
                return CUDA_ERROR_INVALID_VALUE;
            m.strides[i] = strides[i];
        }
    }
    const uint32_t row = box[0] * m.elem_bytes;
    if (row % 16 || (swizzle == CU_TENSOR_MAP_SWIZZLE_128B && row > 128))
        return CUDA_ERROR_INVALID_VALUE;
    if (swizzle != CU_TENSOR_MAP_SWIZZLE_NONE && swizzle != CU_TENSOR_MAP_SWIZZLE_128B)
        return CUDA_ERROR_INVALID_VALUE; /* 32B and 64B: not emulated */
    memset(map, 0, sizeof *map);
    memcpy(map, &m, sizeof m);
    return CUDA_SUCCESS;
}

/* For drivers: a 2D map of a row-major [rows][cols] byte tensor in boxes of box_rows × box_cols,
 * as a launcher would encode it; a map the encoder refuses ends the driver, saying so. */
inline CUtensorMap map_2d_u8(const uint8_t *p, long rows, int cols, uint32_t box_cols, uint32_t box_rows,
                             CUtensorMapSwizzle swizzle)
{
    CUtensorMap m;
    const cuuint64_t dims[2] = { (cuuint64_t)cols, (cuuint64_t)rows }, strides[1] = { (cuuint64_t)cols };
    const cuuint32_t box[2] = { box_cols, box_rows }, es[2] = { 1, 1 };
    if (encode_tiled(&m, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, (void *)p, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                     swizzle, CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) != CUDA_SUCCESS) {
        fprintf(stderr, "hopper_emu: a %ld × %d byte tensor map in %u × %u boxes was refused\n", rows, cols, box_rows,
                box_cols);
        exit(1);
    }
    return m;
}

/* Every element of the box at coordinates c[rank] of a tensor map and its place in shared memory
 * from smem on (rows of box[0] elements one after another, 128B-swizzled when the map says so):
 * f(the shared-memory bytes, the tensor's bytes or nullptr outside the tensor, the element's
 * bytes). Returns the box's bytes. `what` names the operation in a failure. */
template <class F> uint32_t walk_box(const CUtensorMap *map, int rank, const int *c, uint32_t smem, const char *what, F f)
{
    tensor_map m;
    memcpy(&m, map, sizeof m);
    if (m.magic != MAP_MAGIC || (int)m.rank != rank)
        fail(what, (uint64_t)rank);
    if (smem % 128)
        fail("TMA shared-memory address not 128-byte aligned", smem);
    const uint32_t eb = m.elem_bytes, row = m.box[0] * eb;
    if (m.swizzle == CU_TENSOR_MAP_SWIZZLE_128B && row != 128)
        fail("128B-swizzled box rows other than 128 bytes are not emulated", row);
    uint32_t rows = 1;
    for (int i = 1; i < rank; i++)
        rows *= m.box[i];
    for (uint32_t r = 0; r < rows; r++) {
        int64_t at[5];
        uint32_t rest = r;
        bool inside = true;
        for (int i = 1; i < rank; i++) {
            at[i] = (int64_t)c[i] + rest % m.box[i];
            rest /= m.box[i];
            inside = inside && at[i] >= 0 && at[i] < (int64_t)m.dims[i];
        }
        for (uint32_t e = 0; e < m.box[0]; e++) {
            at[0] = (int64_t)c[0] + e;
            uint32_t a = smem + r * row + e * eb;
            if (m.swizzle == CU_TENSOR_MAP_SWIZZLE_128B)
                a = swizzle128(a);
            unsigned char *g = nullptr;
            if (inside && at[0] >= 0 && at[0] < (int64_t)m.dims[0]) {
                size_t off = (size_t)at[0] * eb;
                for (int i = 1; i < rank; i++)
                    off += (size_t)at[i] * m.strides[i - 1];
                g = const_cast<unsigned char *>(m.ptr) + off;
            }
            f(smem_at(a, eb), g, eb);
        }
    }
    return rows * row;
}

/* The box of a TMA load into shared memory, zero outside the tensor; its bytes. */
inline uint32_t tma_land(const tma_load_op &op)
{
    return walk_box(&op.map, op.rank, op.c, op.dst, "TMA load through a tensor map not encoded with this rank",
                    [](unsigned char *sm, const unsigned char *g, uint32_t eb) {
                        if (g)
                            memcpy(sm, g, eb);
                        else
                            memset(sm, 0, eb);
                    });
}
/* The box at coordinates c[rank] into shared memory at dst, its bytes completed on bar: as late
 * as the GPU may, when a thread waits on bar (mbar_wait lands the loads pending there, also
 * those issued while it waits), so a stage read before its full barrier's wait holds what was
 * there before. */
inline void tma_load(uint32_t dst, const CUtensorMap *map, int rank, const int *c, uint32_t bar)
{
    tma_load_op op = {};
    op.dst = dst, op.map = *map, op.rank = rank;
    for (int i = 0; i < rank; i++)
        op.c[i] = c[i];
    std::lock_guard<std::mutex> lk(mu);
    mbar(bar).loads.push_back(op);
    cv.notify_all(); /* a thread waiting on bar lands it */
}
/* The TMA loads pending on b landed and their bytes completed (mu held, by a thread waiting on it). */
inline void tma_land_pending_locked(mbarrier &b)
{
    std::vector<tma_load_op> loads;
    loads.swap(b.loads);
    for (const tma_load_op &op : loads)
        b.tx -= tma_land(op);
    if (!loads.empty())
        complete_if_done(b);
}

/* A TMA store (kb_tma::store_3d): the box at c[rank] from shared memory at src to the tensor,
 * elements outside it skipped. Kept pending in the block until bulk_wait_read, which performs
 * them: a store never waited for is a failure at the block's end (check_named), and a box read
 * after its shared memory was overwritten stores the overwritten bytes, as on the GPU. */
inline void tma_store_now(const tma_store_op &op)
{
    walk_box(&op.map, op.rank, op.c, op.src, "TMA store through a tensor map not encoded with this rank",
             [](const unsigned char *sm, unsigned char *g, uint32_t eb) {
                 if (g)
                     memcpy(g, sm, eb);
             });
}

/* wgmma's asynchrony (see the top): this thread's issued products since its last commit, then
 * its committed groups, oldest first. Every thread of a warpgroup issues, commits and waits
 * together, so each computes its share of the same products in the same order. */
inline thread_local std::vector<std::function<void()>> wg_open;
inline thread_local std::vector<std::vector<std::function<void()>>> wg_groups;
inline void issue(std::function<void()> product) { wg_open.push_back(std::move(product)); }

} // namespace kb_hopper_emu

namespace kb_wgmma {

inline uint64_t desc_sw128(uint32_t addr, uint32_t lbo, uint32_t sbo)
{
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
           ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}
inline void fence() {}
inline void commit() { kb_ptx::emu_commit_group(kb_hopper_emu::wg_open, kb_hopper_emu::wg_groups); }
/* the committed groups but the N most recent computed */
template <int N> inline void wait()
{
    kb_ptx::emu_wait_groups(kb_hopper_emu::wg_groups, (size_t)N, [](std::vector<std::function<void()>> &products) {
        for (auto &product : products)
            product();
    });
}
inline void fence_proxy_async() {}
template <size_t N> inline void pin(float (&)[N]) {}
template <size_t N> inline void pin(int (&)[N]) {}

template <bool BF16> inline void mma_m64n128k16_ss(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<128>(d, BF16 ? kb_hopper_emu::BF16 : kb_hopper_emu::F16, 16, nullptr, desc_a, desc_b, false, accumulate); });
}
template <bool BF16> inline void mma_m64n128k16_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, &a, desc_b, accumulate] { kb_hopper_emu::mma<128>(d, BF16 ? kb_hopper_emu::BF16 : kb_hopper_emu::F16, 16, a, 0, desc_b, true, accumulate); });
}
template <bool BF16> inline void mma_m64n64k16_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, &a, desc_b, accumulate] { kb_hopper_emu::mma<64>(d, BF16 ? kb_hopper_emu::BF16 : kb_hopper_emu::F16, 16, a, 0, desc_b, true, accumulate); });
}
template <bool BF16> inline void mma_m64n64k16_ss(float (&d)[32], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<64>(d, BF16 ? kb_hopper_emu::BF16 : kb_hopper_emu::F16, 16, nullptr, desc_a, desc_b, false, accumulate); });
}
template <bool BF16> inline void mma_m64n176k16_ss(float (&d)[88], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<176>(d, BF16 ? kb_hopper_emu::BF16 : kb_hopper_emu::F16, 16, nullptr, desc_a, desc_b, false, accumulate); });
}
template <bool BF16> inline void mma_m64n256k16_ss(float (&d)[128], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<256>(d, BF16 ? kb_hopper_emu::BF16 : kb_hopper_emu::F16, 16, nullptr, desc_a, desc_b, false, accumulate); });
}
template <bool BF16> inline void mma_m64n256k16_rs(float (&d)[128], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, &a, desc_b, accumulate] { kb_hopper_emu::mma<256>(d, BF16 ? kb_hopper_emu::BF16 : kb_hopper_emu::F16, 16, a, 0, desc_b, true, accumulate); });
}
inline void mma_m64n128k32_s8_ss(int (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<128>(d, kb_hopper_emu::S8, 32, nullptr, desc_a, desc_b, false, accumulate); });
}
inline void mma_m64n256k32_s8_ss(int (&d)[128], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<256>(d, kb_hopper_emu::S8, 32, nullptr, desc_a, desc_b, false, accumulate); });
}
inline void mma_m64n256k32_e4m3_ss(float (&d)[128], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<256>(d, kb_hopper_emu::E4M3, 32, nullptr, desc_a, desc_b, false, accumulate); });
}
inline void mma_m64n128k32_e4m3_ss(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, desc_a, desc_b, accumulate] { kb_hopper_emu::mma<128>(d, kb_hopper_emu::E4M3, 32, nullptr, desc_a, desc_b, false, accumulate); });
}
inline void mma_m64n128k32_e4m3_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, &a, desc_b, accumulate] { kb_hopper_emu::mma<128>(d, kb_hopper_emu::E4M3, 32, a, 0, desc_b, false, accumulate); });
}
inline void mma_m64n136k32_e4m3_rs(float (&d)[68], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_hopper_emu::issue([&d, &a, desc_b, accumulate] { kb_hopper_emu::mma<136>(d, kb_hopper_emu::E4M3, 32, a, 0, desc_b, false, accumulate); });
}
inline uint16_t cvt_e4m3x2(float x0, float x1)
{
    using kb_hopper_emu::e4m3_code;
    return (uint16_t)(e4m3_code(x0) | e4m3_code(x1) << 8);
}
inline uint32_t cvt_e4m3x4(float x0, float x1, float x2, float x3)
{
    using kb_hopper_emu::e4m3_code;
    return (uint32_t)e4m3_code(x0) | (uint32_t)e4m3_code(x1) << 8 | (uint32_t)e4m3_code(x2) << 16 |
           (uint32_t)e4m3_code(x3) << 24;
}

} // namespace kb_wgmma

namespace kb_tma {

inline void mbar_init(uint32_t bar, int count)
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    kb_hopper_emu::smem_at(bar, 8);
    uint32_t at = bar;
    kb_hopper_emu::state_of(kb_hopper_emu::cta_of(at)).mbars[at] = { count, count, 0, 0 };
}
inline void fence_barrier_init() {}
inline void mbar_expect_tx(uint32_t bar, uint32_t bytes)
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    kb_hopper_emu::mbar(bar).tx += bytes;
    kb_hopper_emu::arrive_locked(bar);
}
inline void mbar_arrive(uint32_t bar)
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    kb_hopper_emu::arrive_locked(bar);
}
/* the arrival once all of the thread's cp.async copies have landed (ptx_emu.h defers them) */
inline void mbar_arrive_after_cp_async(uint32_t bar)
{
    kb_ptx::emu_cp_land_all();
    mbar_arrive(bar);
}
inline void mbar_wait(uint32_t bar, uint32_t parity)
{
    std::unique_lock<std::mutex> lk(kb_hopper_emu::mu);
    kb_hopper_emu::mbarrier &b = kb_hopper_emu::mbar(bar);
    kb_hopper_emu::wait_until(
        lk,
        [&] {
            kb_hopper_emu::tma_land_pending_locked(b);
            return (b.phase & 1) != (parity & 1);
        },
        "mbarrier wait never completes", bar);
}
inline void load_2d(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar)
{
    const int c[2] = { x, y };
    kb_hopper_emu::tma_load(dst, map, 2, c, bar);
}
inline void load_3d(uint32_t dst, const CUtensorMap *map, int x, int y, int z, uint32_t bar)
{
    const int c[3] = { x, y, z };
    kb_hopper_emu::tma_load(dst, map, 3, c, bar);
}
inline void store_3d(const CUtensorMap *map, int x, int y, int z, uint32_t src)
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    kb_hopper_emu::tma_store_op op = { src, *map, 3, { x, y, z } };
    kb_hopper_emu::state().stores[threadIdx.x].push_back(op);
}
inline void store_2d(const CUtensorMap *map, int x, int y, uint32_t src)
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    kb_hopper_emu::tma_store_op op = { src, *map, 2, { x, y } };
    kb_hopper_emu::state().stores[threadIdx.x].push_back(op);
}
inline void bulk_commit() {}
/* every store this thread issued is performed here, whatever N (a thread waits for its own) */
template <int N> inline void bulk_wait_read()
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    for (const kb_hopper_emu::tma_store_op &op : kb_hopper_emu::state().stores[threadIdx.x])
        kb_hopper_emu::tma_store_now(op);
    kb_hopper_emu::state().stores[threadIdx.x].clear();
}
inline void prefetch_map(const CUtensorMap *) {}
template <int N> inline void regs_dec() {}
template <int N> inline void regs_inc() {}

/* bar.sync and bar.arrive both join named barrier id of `threads` (kb_hopper_emu::mu held): true
 * when this arrival completed it; *gen is the generation joined, which a waiter waits to see pass. */
inline bool named_join(int id, int threads, uint64_t *gen)
{
    if (id < 1 || id > 15 || threads % 32)
        kb_hopper_emu::fail("named barrier id outside 1..15 or a count that is not whole warps", (uint64_t)id);
    kb_hopper_emu::named_barrier &b = kb_hopper_emu::state().named[id];
    if (b.arrived == 0)
        b.count = threads;
    else if (b.count != threads)
        kb_hopper_emu::fail("named barrier used with two thread counts", (uint64_t)id);
    /* on the GPU a warp's second arrival in one phase counts again, completing the barrier
     * without the threads it waits for: turns passed twice before they were taken */
    if (b.in[threadIdx.x])
        kb_hopper_emu::fail("a thread joins a named barrier twice in one phase", (uint64_t)id);
    b.in[threadIdx.x] = true;
    *gen = b.gen;
    if (++b.arrived < b.count)
        return false;
    b.arrived = 0, b.gen++, b.in.reset();
    kb_hopper_emu::cv.notify_all();
    return true;
}

inline void bar_sync(int id, int threads)
{
    std::unique_lock<std::mutex> lk(kb_hopper_emu::mu);
    uint64_t gen;
    if (!named_join(id, threads, &gen)) {
        const kb_hopper_emu::named_barrier &b = kb_hopper_emu::state().named[id];
        kb_hopper_emu::wait_until(lk, [&] { return b.gen != gen; }, "bar.sync never completes", (uint32_t)id);
    }
}
inline void bar_arrive(int id, int threads)
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    uint64_t gen;
    named_join(id, threads, &gen);
}

/* ---- clusters (emu_launch_cluster) ---- */
inline uint32_t cluster_ctarank() { return (uint32_t)g_cta->rank; }
/* addr (this block's shared memory) in block `rank` of the cluster: a shared::cluster address */
inline uint32_t mapa(uint32_t addr, uint32_t rank)
{
    if (addr >> kb_hopper_emu::RANK_SHIFT || (int)rank >= g_cluster->size)
        kb_hopper_emu::fail("mapa of a cluster address or to a rank outside the cluster", addr);
    return addr | (rank + 1) << kb_hopper_emu::RANK_SHIFT;
}
/* One arrival on an mbarrier of any block of the cluster (a mapa address). */
inline void mbar_arrive_cluster(uint32_t bar)
{
    std::lock_guard<std::mutex> lk(kb_hopper_emu::mu);
    kb_hopper_emu::arrive_locked(bar);
}
/* load_2d into every block of the cluster in mask, at the same offsets dst and bar in each. */
inline void load_2d_multicast(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar, uint16_t mask)
{
    if (mask >> g_cluster->size)
        kb_hopper_emu::fail("multicast to a rank outside the cluster", mask);
    const int c[2] = { x, y };
    for (int r = 0; r < g_cluster->size; r++)
        if (mask >> r & 1)
            kb_hopper_emu::tma_load(mapa(dst, (uint32_t)r), map, 2, c, mapa(bar, (uint32_t)r));
}
/* barrier.cluster.arrive + wait: every thread of the cluster not yet returned */
inline void cluster_sync() { g_cluster->bar->arrive_and_wait(); }

/* The host's encoder: the emulation's, always there. */
inline PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() { return kb_hopper_emu::encode_tiled; }

/* tma.cuh's 2D map of 128B-swizzled boxes, through the encoder given (a launcher's own helper
 * calls it, as gemm_wgmma.cu's encode does) */
inline CUresult encode_2d_sw128(PFN_cuTensorMapEncodeTiled_v12000 fn, CUtensorMap *map, CUtensorMapDataType type,
                                const void *ptr, uint64_t rows, uint64_t cols, uint64_t ld_bytes, uint32_t box_cols,
                                uint32_t box_rows)
{
    const cuuint64_t dims[2] = { (cuuint64_t)cols, (cuuint64_t)rows }, strides[1] = { (cuuint64_t)ld_bytes };
    const cuuint32_t box[2] = { box_cols, box_rows }, es[2] = { 1, 1 };
    return fn(map, type, 2, const_cast<void *>(ptr), dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
              CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

} // namespace kb_tma

#endif
