/* moe_tile.cuh - which output tiles a block of the grouped expert GEMMs computes (moe_gemm_mma.cu,
 * moe_gemm_wgmma.cu, moe_fp8_wgmma.cu): tiles numbered (group, column tile, row tile) with row
 * tiles fastest, so the blocks resident at one time share the group's weight panel, each found
 * from mtile_start (each group's first row tile, written on the device by the sort's scan) by a
 * binary search: no host round trip, graph-capturable. A block takes one tile (moe_tile_of), or
 * on a persistent grid every gridDim.x-th (moe_for_each_tile, which starts each search from the
 * group of the block's previous tile: moe_tile_after). */
#ifndef KB_MOE_TILE_CUH
#define KB_MOE_TILE_CUH

struct moe_tile {
    int group;   /* the expert e */
    int n0;      /* the tile's first column */
    int row0;    /* its first row of the gathered activations */
    int row_end; /* the group's end: rows from here on belong to the next group */
};

/* The last group e in [lo, hi) with mtile_start[e]·ntn <= bid, given mtile_start[lo]·ntn <= bid
 * < mtile_start[hi]·ntn: a group with tiles. One dependent load per halving. */
__device__ __forceinline__ int moe_group_search(long bid, int ntn, const int *mtile_start, int lo, int hi)
{
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if ((long)mtile_start[mid] * ntn <= bid)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Tile bid of group e, from e's first row tile s0 and the next group's s1 (mtile_start[e],
 * [e + 1]) and e's rows [g0, g1) (group_off[e], [e + 1]): the group's column tiles outer, its
 * row tiles inner. */
__device__ __forceinline__ void moe_tile_in(long bid, int ntn, int bm, int bn, int e, int s0, int s1, int g0, int g1,
                                            struct moe_tile *t)
{
    const int mt_e = s1 - s0;
    const long local = bid - (long)s0 * ntn;
    t->group = e;
    t->n0 = (int)(local / mt_e) * bn;
    t->row0 = g0 + (int)(local % mt_e) * bm;
    t->row_end = g1;
}

/* The tile of block bid with ntn column tiles of width bn and row tiles of bm rows; 0 when bid
 * lies past the last tile (then the whole block returns, before any barrier). */
__device__ __forceinline__ int moe_tile_of(long bid, int ntn, int bm, int bn, const int *mtile_start,
                                           const int *group_off, int groups, struct moe_tile *t)
{
    if (bid >= (long)mtile_start[groups] * ntn)
        return 0;
    const int e = moe_group_search(bid, ntn, mtile_start, 0, groups);
    moe_tile_in(bid, ntn, bm, bn, e, mtile_start[e], mtile_start[e + 1], group_off[e], group_off[e + 1], t);
    return 1;
}

/* The tile of bid as moe_tile_of gives it, for a caller whose bids only grow: *group is the
 * group of its previous tile (0 before the first), and becomes bid's. Mostly bid still lies in that
 * group, and then its four loads are independent, one memory latency where the binary search
 * chains one per halving: on an H100 (2026-12-07, DeepSeek-V3's shape, the FP8 down GEMM) the
 * consumers spent about 5% of their time in that search at the start of each tile. Read through
 * the non-coherent path: the sort wrote these arrays before this kernel began. groups >= 1 (the
 * kernels return before their loop where moe_tile_of finds no first tile). */
__device__ __forceinline__ int moe_tile_after(long bid, int ntn, int bm, int bn, const int *mtile_start,
                                              const int *group_off, int groups, int *group, struct moe_tile *t)
{
    int e = *group;
    int s0 = __ldg(mtile_start + e), s1 = __ldg(mtile_start + e + 1);
    int g0 = __ldg(group_off + e), g1 = __ldg(group_off + e + 1);
    if ((long)s1 * ntn <= bid) { /* a later group: mtile_start[e + 1]·ntn <= bid */
        if (bid >= (long)__ldg(mtile_start + groups) * ntn)
            return 0;
        e = moe_group_search(bid, ntn, mtile_start, e + 1, groups);
        s0 = __ldg(mtile_start + e), s1 = __ldg(mtile_start + e + 1);
        g0 = __ldg(group_off + e), g1 = __ldg(group_off + e + 1);
    }
    *group = e;
    moe_tile_in(bid, ntn, bm, bn, e, s0, s1, g0, g1, t);
    return 1;
}

/* f(tile, u0, shared_box) for each output tile of this block, in order, u0 the k-tiles (ring
 * uses) of the block's tiles before it. The producer and the consumers of a block all walk the
 * same sequence, so the ring's stages and phases run on from tile to tile. A block of its own
 * (cluster 1) takes tiles blockIdx.x, + gridDim.x, ...; shared_box is -1. In two-block clusters
 * (cluster 2, rank: the block's %cluster_ctarank, which the caller reads: this header is also
 * built for GPUs without clusters) the clusters take pairs of tiles q = the cluster's index,
 * + the clusters, ...: tiles 2q and 2q + 1, one a block. Consecutive tiles are mostly row tiles
 * of one expert's column tile, the same B: then shared_box is the block's rank (the half of B it
 * loads for both), else -1. A pair whose second tile does not exist gives block 1 the first's
 * weights and no rows (row0 = row_end), so the ring's protocol stays the same for both blocks. */
template <class F>
__device__ __forceinline__ void moe_for_each_tile(int ntn, int bm, int bn, const int *mtile_start, const int *group_off,
                                                  int groups, int ktiles, int cluster, int rank, F f)
{
    struct moe_tile t0, t1;
    int u0 = 0, group = 0; /* moe_tile_after's: the group of the block's last tile */
    for (int q = blockIdx.x / cluster;
         moe_tile_after((long)q * cluster, ntn, bm, bn, mtile_start, group_off, groups, &group, &t0);
         q += gridDim.x / cluster, u0 += ktiles) {
        if (cluster == 1) {
            f(t0, u0, -1);
            continue;
        }
        if (!moe_tile_after((long)q * 2 + 1, ntn, bm, bn, mtile_start, group_off, groups, &group, &t1))
            t1 = t0, t1.row0 = t0.row_end; /* no rows: row0 = row_end */
        const bool shared = t0.group == t1.group && t0.n0 == t1.n0;
        if (rank) /* a copy, not a pointer to one or the other: no local memory */
            t0 = t1;
        f(t0, u0, shared ? rank : -1);
    }
}

#endif
