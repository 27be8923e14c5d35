/* moe_tile.cuh - which output tile a block of the grouped expert GEMMs computes (moe_gemm_mma.cu,
 * moe_gemm_wgmma.cu, moe_fp8_wgmma.cu): one block per (group, column tile, row tile), row tiles
 * numbered fastest so the blocks resident at one time share the group's weight panel, found from
 * mtile_start (each group's first row tile, written on the device by the sort's scan) by a
 * binary search: no host round trip, graph-capturable. */
#ifndef KB_MOE_TILE_CUH
#define KB_MOE_TILE_CUH

struct moe_tile {
    int group;   /* the expert e */
    int n0;      /* the tile's first column */
    int row0;    /* its first row of the gathered activations */
    int row_end; /* the group's end: rows from here on belong to the next group */
};

/* The tile of block bid with ntn column tiles of width bn and row tiles of bm rows; 0 when bid
 * lies past the last tile (then the whole block returns, before any barrier). */
__device__ __forceinline__ int moe_tile_of(long bid, int ntn, int bm, int bn, const int *mtile_start,
                                           const int *group_off, int groups, struct moe_tile *t)
{
    if (bid >= (long)mtile_start[groups] * ntn)
        return 0;
    int lo = 0, hi = groups; /* the last group e with mtile_start[e]·ntn <= bid: it has tiles */
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if ((long)mtile_start[mid] * ntn <= bid)
            lo = mid;
        else
            hi = mid;
    }
    const int e = lo;
    const int mt_e = mtile_start[e + 1] - mtile_start[e];
    const long local = bid - (long)mtile_start[e] * ntn;
    t->group = e;
    t->n0 = (int)(local / mt_e) * bn;
    t->row0 = group_off[e] + (int)(local % mt_e) * bm;
    t->row_end = group_off[e + 1];
    return 1;
}

#endif
