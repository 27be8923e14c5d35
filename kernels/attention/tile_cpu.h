/* tile_cpu.h - the online-softmax step of a query tile, on attention.flash@cpu's micro-kernels,
 * for the attention kernels whose queries see a per-row key interval (sliding window, block
 * sparse) or whose scores come from elsewhere (INT8 QKᵀ). Not part of the kernel contract.
 *
 * A tile is up to `rows` query rows (a multiple of FLASH_MR; rows past the real ones are
 * padding whose output is discarded). The caller walks key blocks of at most FLASH_BC keys:
 * it fills t->s (row stride FLASH_BC) with the raw scores q·k of the block's keys, then calls
 * tile_update, which masks every row to its interval [lo[r], hi[r]) (absolute key indices),
 * updates the running maximum and sum, and accumulates P·V. tile_finish writes O = acc / l.
 */
#ifndef KB_TILE_CPU_H
#define KB_TILE_CPU_H

#include "kernels/attention/flash_cpu.h"

struct tile {
    const struct flash_isa *isa;
    int d, ldo;      /* ldo: d rounded up to 32 floats */
    int rows;        /* multiple of FLASH_MR */
    float c;         /* log2(e)/√d */
    float *s;        /* [rows][FLASH_BC] scores, then probabilities */
    float *o;        /* [rows][ldo] unnormalised output */
    float *m, *l, *alpha;
    int *lo, *hi;    /* [rows] the key interval each row sees */
};

/* Floats of scratch one tile of max_rows rows needs (every piece 64-byte aligned). */
size_t tile_scratch_floats(int max_rows, int d);
/* Lays the tile's buffers out in mem (tile_scratch_floats(max_rows, d) floats, 64-byte aligned). */
void tile_bind(struct tile *t, const struct flash_isa *isa, int d, int max_rows, float *mem);
/* Starts a tile of `rows` rows (a multiple of FLASH_MR): zero accumulators. lo/hi are the
 * caller's to fill. */
void tile_begin(struct tile *t, int rows);
/* Keys k0 .. k0 + keys − 1 (keys <= FLASH_BC); t->s holds the scores of columns
 * 0 .. round_up(keys, FLASH_KP) − 1 (the ones past `keys` are ignored); v points at key k0's
 * row of V (row stride d). */
void tile_update(struct tile *t, int k0, int keys, const float *v);
/* out[r][0..d) = o / l for r < nrows (row stride d). Rows that saw no key get zeros. */
void tile_finish(const struct tile *t, int nrows, float *out);


/* K [n][d] of one head into ceil(n / FLASH_KP) panels [d][FLASH_KP] (keys past n are zeros),
 * the layout flash_isa.scores reads. */
void tile_pack_k(const float *k, int n, int d, float *kpan);
/* nrows query rows [nrows][d] into qpack [rows/FLASH_MR][d][FLASH_MR] (rows a multiple of
 * FLASH_MR; the padding rows are zeros). */
void tile_pack_q(const float *q, int nrows, int rows, int d, float *qpack);

#endif
