/* tile_cpu.c - see tile_cpu.h: masking, online softmax and P·V of one query tile. The same
 * arithmetic as attention.flash@cpu's query block (exp2 with the 1/√d folded in, the output
 * rescaled by 2^(m_old − m_new) when a row's maximum grows), generalised to a key interval
 * per row. */
#include "kernels/attention/tile_cpu.h"
#include "kernels/attention/attention.h"

#include <math.h>
#include <string.h>

static int ldo_of(int d)
{
    return (d + 31) / 32 * 32;
}

size_t tile_scratch_floats(int max_rows, int d)
{
    size_t r = (size_t)max_rows;
    return r * FLASH_BC + r * (size_t)ldo_of(d) + 5 * attention_round16(r);
}

void tile_bind(struct tile *t, const struct flash_isa *isa, int d, int max_rows, float *mem)
{
    t->isa = isa;
    t->d = d;
    t->ldo = ldo_of(d);
    t->rows = max_rows;
    t->c = (float)(1.4426950408889634 / sqrt((double)d));
    t->s = mem;
    mem += (size_t)max_rows * FLASH_BC;
    t->o = mem;
    mem += (size_t)max_rows * t->ldo;
    t->m = mem;
    t->l = mem + attention_round16((size_t)max_rows);
    t->alpha = mem + 2 * attention_round16((size_t)max_rows);
    /* ints are as wide as floats: the interval arrays share the float scratch */
    t->lo = (int *)(void *)(mem + 3 * attention_round16((size_t)max_rows));
    t->hi = (int *)(void *)(mem + 4 * attention_round16((size_t)max_rows));
}

void tile_begin(struct tile *t, int rows)
{
    t->rows = rows;
    memset(t->o, 0, (size_t)rows * t->ldo * sizeof(float));
    for (int r = 0; r < rows; r++) {
        t->m[r] = -INFINITY;
        t->l[r] = 0;
    }
}

void tile_update(struct tile *t, int k0, int keys, const float *v)
{
    const int cols = (keys + FLASH_KP - 1) / FLASH_KP * FLASH_KP;
    int used = 0; /* keys up to the last one any row sees: P·V need not go further */
    for (int r = 0; r < t->rows; r++) {
        float *sr = t->s + (size_t)r * FLASH_BC;
        int lo = t->lo[r] - k0, hi = t->hi[r] - k0;
        if (lo < 0)
            lo = 0;
        if (hi > keys)
            hi = keys;
        if (hi <= lo) { /* this row sees no key of this block */
            memset(sr, 0, (size_t)cols * sizeof(float));
            t->alpha[r] = 1.0f;
            continue;
        }
        if (hi > used)
            used = hi;
        for (int j = 0; j < lo; j++)
            sr[j] = -INFINITY;
        for (int j = hi; j < cols; j++)
            sr[j] = -INFINITY;
        float m_new = t->isa->row_max(sr, cols);
        if (t->m[r] > m_new)
            m_new = t->m[r];
        float alpha = exp2f((t->m[r] - m_new) * t->c); /* 0 on a row's first keys: m = -inf */
        float sum = t->isa->row_exp2_sum(sr, cols, t->c, m_new * t->c);
        /* Masked entries come out of exp2 as 2^-126 (its clamp), not 0. Their share of the sum
         * (≤ 128·2^-126 against at least 1) is far below float32's resolution, but they must not
         * reach P·V: a row whose interval starts inside the block (every sliding-window row once
         * N > W) would accumulate 2^-126·v into a still-zero output, a subnormal, and every FMA
         * on a subnormal takes a microcode assist on Intel cores - that made attention.window@cpu
         * 5x slower than causal attention.flash@cpu. Exact zeros cost nothing. */
        for (int j = 0; j < lo; j++)
            sr[j] = 0.0f;
        for (int j = hi; j < cols; j++)
            sr[j] = 0.0f;
        t->l[r] = t->l[r] * alpha + sum;
        t->m[r] = m_new;
        t->alpha[r] = alpha;
    }
    if (used == 0)
        return; /* no row saw a key: the accumulators stay as they are (alpha = 1) */
    t->isa->pv(t->s, used, v, t->d, t->o, t->ldo, t->alpha, t->rows);
}

void tile_finish(const struct tile *t, int nrows, float *out)
{
    for (int r = 0; r < nrows; r++) {
        const float inv = t->l[r] > 0 ? 1.0f / t->l[r] : 0.0f;
        for (int p = 0; p < t->d; p++)
            out[(size_t)r * t->d + p] = t->o[(size_t)r * t->ldo + p] * inv;
    }
}

void tile_pack_k(const float *k, int n, int d, float *kpan)
{
    const int panels = (n + FLASH_KP - 1) / FLASH_KP;
    for (int pn = 0; pn < panels; pn++) {
        float *dst = kpan + (size_t)pn * d * FLASH_KP;
        for (int jj = 0; jj < FLASH_KP; jj++) {
            int j = pn * FLASH_KP + jj;
            for (int p = 0; p < d; p++)
                dst[(size_t)p * FLASH_KP + jj] = j < n ? k[(size_t)j * d + p] : 0.0f;
        }
    }
}

void tile_pack_q(const float *q, int nrows, int rows, int d, float *qpack)
{
    for (int r = 0; r < rows; r++) {
        float *dst = qpack + (size_t)(r / FLASH_MR) * d * FLASH_MR + r % FLASH_MR;
        for (int p = 0; p < d; p++)
            dst[(size_t)p * FLASH_MR] = r < nrows ? q[(size_t)r * d + p] : 0.0f;
    }
}
