/* paged_kv.h - the paged KV cache of attention decode (shape.page > 0), as attention.softmax
 * lays it out (softmax_ops.h) and its implementations read it. Private to the family.
 *
 * A sequence's N cached tokens live in P = ceil(N / page) logical pages; the block table
 * [B, P] (int32) maps logical page p of sequence b to a physical page of a pool shared by
 * the batch. Pool: K and V each [B·P, H_kv, page, d] float32, so one (physical page, KV head)
 * is `page` contiguous rows. The table is a seeded shuffle of 0 .. B·P − 1, so neighbouring
 * logical pages are not neighbours in memory (as in a serving engine after some churn); the
 * rows past N in a sequence's last page are zeros and never read. */
#ifndef KB_PAGED_KV_H
#define KB_PAGED_KV_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

/* Logical pages per sequence: ceil(N / page). */
static inline int64_t paged_kv_pages(const struct kb_shape *s)
{
    return ((int64_t)s->seq_len + s->page - 1) / s->page;
}

/* Row j (0 .. page−1) of physical page `phys`, KV head kvh, in a pool laid out as above. */
static inline size_t paged_kv_row(const struct kb_shape *s, int64_t phys, int kvh, int j)
{
    return (((size_t)phys * (size_t)s->kv_heads + (size_t)kvh) * (size_t)s->page + (size_t)j) * (size_t)s->head_dim;
}

/* table[B·P]: a permutation of 0 .. B·P − 1 drawn from seed (Fisher-Yates). */
void paged_kv_table_fill(int32_t *table, const struct kb_shape *s, uint64_t seed);
/* Copies the contiguous cache src [B, H_kv, N, d] into the pool dst through the table. */
void paged_kv_scatter(float *dst, const float *src, const int32_t *table, const struct kb_shape *s);
/* The float64 reference of one decode output row: query q (d floats) of batch b against the
 * N keys and values of KV head kvh, read through the table from the pools k and v (page 0:
 * table NULL, k and v the contiguous [B, H_kv, N, d] cache). Two passes, row max subtracted. */
void paged_kv_reference_row(const struct kb_shape *s, const float *q, const float *k, const float *v,
                            const int32_t *table, int b, int kvh, double *out);

#endif
