/* linear_isa_avx512.c - AVX-512F primitives of the linear-attention kernels (linear_isa.h).
 *
 * As the AVX2 path with 16-float vectors: tiles of 6 rows × 64 columns (24 zmm accumulators),
 * then 48, 32 or 16 columns, and the last partial vector of columns through a lane mask
 * instead of a scalar loop. */
#include "kernels/attention/linear_isa.h"

/* The products' k loops start on 64-byte boundaries (GCC; as -falign-loops=64 for this file
 * alone): where they fall otherwise moves with any code around them, and on the machine of
 * docs/performance.md's tier-2 table that alone measured ±2% for the same instructions
 * (attention.linear_varlen@cpu's rounds: +0.5-1.3% on AVX-512, and AVX2's 2% loss after an
 * unrelated change recovered). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("align-loops=64")
#endif

#if defined(__x86_64__)

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/attention/linear_transpose.h"

#define AVX512 __attribute__((target("avx512f")))
#define INLINE_AVX512 static inline __attribute__((always_inline, target("avx512f")))

/* What a product does besides C += A·B: lines to bring into the cache while it runs (one every
 * (mask + 1) steps of its k loops until next reaches end) and, for gemm_ex, how C is formed. */
struct tile_job {
    const char *next, *end;   /* the next line, and where the rows end */
    const char *row_end;      /* the end of next's row */
    size_t row_bytes, stride; /* of the rows */
    int mask;
    int ex;               /* 0: C += A·B; 1: C_i = rowscale_i·(beta·C_i + A_i·B) */
    float beta;           /* ex: 0 leaves C unread */
    const float *rowscale; /* ex: per row of C, NULL for 1 */
};

/* acc[R][V] += A[R][p]·B[p][16V]: one step of a tile's k loop (TILE_STEP: of the tile's a, b). */
#define TILE_STEP_OF(p, a, lda, b, ldb)                                                                         \
    do {                                                                                                        \
        const float *bp = (b) + (size_t)(p) * (ldb);                                                            \
        __m512 bv[4];                                                                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; v++)                                                     \
            bv[v] = _mm512_maskz_loadu_ps(v == V - 1 ? mask : (__mmask16)0xFFFF, bp + 16 * v);                   \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                                     \
        {                                                                                                       \
            __m512 x = _mm512_set1_ps((a)[(size_t)r * (lda) + (p)]);                                            \
            _Pragma("GCC unroll 4") for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]); \
        }                                                                                                       \
    } while (0)
#define TILE_STEP(p) TILE_STEP_OF(p, a, lda, b, ldb)

/* C[R×16V] (+)= A[R×k]·B[k×16V] as job says, the last vector's lanes limited by mask; rs: the
 * tile's first row's scale (ex with a rowscale). The k loop goes two steps at a time, so the
 * fetch-ahead check costs a branch every other step. */
INLINE_AVX512 void tile(const int R, const int V, __mmask16 mask, int k, const float *a, int lda,
                        const float *b, int ldb, float *c, int ldc, struct tile_job *job, const float *rs)
{
    const char *pf_next = job->next, *pf_row_end = job->row_end, *const pf_end = job->end;
    const int pf_mask = job->mask;
    __m512 acc[8][4];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[r][v] = job->ex ? _mm512_setzero_ps()
                                : _mm512_maskz_loadu_ps(v == V - 1 ? mask : (__mmask16)0xFFFF, c + (size_t)r * ldc + 16 * v);
    int p = 0;
    for (; p + 2 <= k; p += 2) {
        if (pf_next < pf_end && (p & pf_mask) == 0) {
            _mm_prefetch(pf_next, _MM_HINT_T0);
            pf_next += 64;
            if (pf_next >= pf_row_end) { /* the next row */
                pf_next = pf_row_end - job->row_bytes + job->stride;
                pf_row_end = pf_next + job->row_bytes;
            }
        }
        TILE_STEP(p);
        TILE_STEP(p + 1);
    }
    if (p < k)
        TILE_STEP(p);
    if (job->ex) {
        const __m512 beta = _mm512_set1_ps(job->beta);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int v = 0; v < V; v++) {
                const __mmask16 l = v == V - 1 ? mask : (__mmask16)0xFFFF;
                if (job->beta != 0.0f)
                    acc[r][v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(l, c + (size_t)r * ldc + 16 * v), beta, acc[r][v]);
                if (rs)
                    acc[r][v] = _mm512_mul_ps(acc[r][v], _mm512_set1_ps(rs[r]));
            }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, v == V - 1 ? mask : (__mmask16)0xFFFF, acc[r][v]);
    job->next = pf_next;
    job->row_end = pf_row_end;
}

INLINE_AVX512 void tile_rows(int rows, const int V, __mmask16 mask, int k, const float *a, int lda,
                             const float *b, int ldb, float *c, int ldc, struct tile_job *job, const float *rs)
{
    switch (rows) {
    case 8: tile(8, V, mask, k, a, lda, b, ldb, c, ldc, job, rs); break;
    case 6: tile(6, V, mask, k, a, lda, b, ldb, c, ldc, job, rs); break;
    case 5: tile(5, V, mask, k, a, lda, b, ldb, c, ldc, job, rs); break;
    case 4: tile(4, V, mask, k, a, lda, b, ldb, c, ldc, job, rs); break;
    case 3: tile(3, V, mask, k, a, lda, b, ldb, c, ldc, job, rs); break;
    case 2: tile(2, V, mask, k, a, lda, b, ldb, c, ldc, job, rs); break;
    default: tile(1, V, mask, k, a, lda, b, ldb, c, ldc, job, rs); break;
    }
}

/* C[R×16V] = rs·(A[R×k]·B[k×16V] + L[R×depth]·D[depth×16V]) (gemm_plus_lower's tile: one set
 * of accumulators, one store; rs NULL: 1), fetching ahead during the A·B steps as tile does;
 * stream: C's whole vectors go past the caches (c and ldc then keep them 64-byte aligned). */
INLINE_AVX512 void tile_lower(const int R, const int V, __mmask16 mask, int k, const float *a, int lda,
                              const float *b, int ldb, const float *l, int ldl, const float *dd, int lddd, int depth,
                              float *c, int ldc, struct tile_job *job, const float *rs, int stream)
{
    const char *pf_next = job->next, *pf_row_end = job->row_end, *const pf_end = job->end;
    const int pf_mask = job->mask;
    __m512 acc[6][4];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_setzero_ps();
    int p = 0;
    for (; p + 2 <= k; p += 2) {
        if (pf_next < pf_end && (p & pf_mask) == 0) {
            _mm_prefetch(pf_next, _MM_HINT_T0);
            pf_next += 64;
            if (pf_next >= pf_row_end) { /* the next row */
                pf_next = pf_row_end - job->row_bytes + job->stride;
                pf_row_end = pf_next + job->row_bytes;
            }
        }
        TILE_STEP(p);
        TILE_STEP(p + 1);
    }
    if (p < k)
        TILE_STEP(p);
    for (p = 0; p + 2 <= depth; p += 2) {
        TILE_STEP_OF(p, l, ldl, dd, lddd);
        TILE_STEP_OF(p + 1, l, ldl, dd, lddd);
    }
    if (p < depth)
        TILE_STEP_OF(p, l, ldl, dd, lddd);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            const __m512 x = rs ? _mm512_mul_ps(acc[r][v], _mm512_set1_ps(rs[r])) : acc[r][v];
            if (stream && (v < V - 1 || mask == (__mmask16)0xFFFF))
                _mm512_stream_ps(c + (size_t)r * ldc + 16 * v, x);
            else
                _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, v == V - 1 ? mask : (__mmask16)0xFFFF, x);
        }
    job->next = pf_next;
    job->row_end = pf_row_end;
}

/* gemm_plus_lower's tile of rows i.. and columns j..: L's row i + r is 0 beyond column i + r,
 * so the tile's L·D goes to the depth of its last row. */
INLINE_AVX512 void tile_lower_rows(int m, int i, int j, const int V, __mmask16 mask, int k, const float *a, int lda,
                                   const float *b, int ldb, const float *l, int ldl, const float *d, int ldd,
                                   float *c, int ldc, struct tile_job *job, const float *rowscale, int stream)
{
    const int rows = m - i < 6 ? m - i : 6, depth = i + rows;
    a += (size_t)i * lda;
    l += (size_t)i * ldl;
    c += (size_t)i * ldc + j;
    const float *rs = rowscale ? rowscale + i : NULL;
    switch (rows) {
    case 6: tile_lower(6, V, mask, k, a, lda, b + j, ldb, l, ldl, d + j, ldd, depth, c, ldc, job, rs, stream); break;
    case 5: tile_lower(5, V, mask, k, a, lda, b + j, ldb, l, ldl, d + j, ldd, depth, c, ldc, job, rs, stream); break;
    case 4: tile_lower(4, V, mask, k, a, lda, b + j, ldb, l, ldl, d + j, ldd, depth, c, ldc, job, rs, stream); break;
    case 3: tile_lower(3, V, mask, k, a, lda, b + j, ldb, l, ldl, d + j, ldd, depth, c, ldc, job, rs, stream); break;
    case 2: tile_lower(2, V, mask, k, a, lda, b + j, ldb, l, ldl, d + j, ldd, depth, c, ldc, job, rs, stream); break;
    default: tile_lower(1, V, mask, k, a, lda, b + j, ldb, l, ldl, d + j, ldd, depth, c, ldc, job, rs, stream); break;
    }
}

AVX512 static void gemm_tiles(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                              int ldc, struct tile_job *job)
{
#define ROW_SCALE(i) (job->rowscale ? job->rowscale + (i) : NULL)
    int j = 0;
    for (; j + 64 <= n; j += 64)
        for (int i = 0; i < m; i += 6)
            tile_rows(m - i < 6 ? m - i : 6, 4, 0xFFFF, k, a + (size_t)i * lda, lda, b + j, ldb,
                      c + (size_t)i * ldc + j, ldc, job, ROW_SCALE(i));
    /* up to 48 columns, rows in tiles of 8 where they divide m and 6 leaves a short tile (the
     * causal chunk's intra blocks of 16 rows: 8 + 8, not 6 + 6 + 4, whose 16-column tiles had
     * 6 and 4 accumulators, too few to cover the FMA latency) */
    const int rt = m % 8 == 0 && m % 6 != 0 ? 8 : 6;
    for (; j + 48 <= n; j += 48) /* 48 columns: one tile of 18 or 24 accumulators, not 32 + 16 */
        for (int i = 0; i < m; i += rt)
            tile_rows(m - i < rt ? m - i : rt, 3, 0xFFFF, k, a + (size_t)i * lda, lda, b + j, ldb,
                      c + (size_t)i * ldc + j, ldc, job, ROW_SCALE(i));
    for (; j + 32 <= n; j += 32)
        for (int i = 0; i < m; i += rt)
            tile_rows(m - i < rt ? m - i : rt, 2, 0xFFFF, k, a + (size_t)i * lda, lda, b + j, ldb,
                      c + (size_t)i * ldc + j, ldc, job, ROW_SCALE(i));
    for (; j < n; j += 16) {
        __mmask16 mask = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1u);
        for (int i = 0; i < m; i += rt)
            tile_rows(m - i < rt ? m - i : rt, 1, mask, k, a + (size_t)i * lda, lda, b + j, ldb,
                      c + (size_t)i * ldc + j, ldc, job, ROW_SCALE(i));
    }
#undef ROW_SCALE
}

AVX512 static void gemm_acc_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                                   float *c, int ldc)
{
    struct tile_job job = { NULL, NULL, NULL, 0, 0, 0, 0, 0.0f, NULL };
    gemm_tiles(m, n, k, a, lda, b, ldb, c, ldc, &job);
}

/* The lines spread evenly over the k steps of every tile: one every 2, 4 or 8 steps, the
 * sparsest spacing that still reaches the last line (if even one a step cannot, the rest go
 * after the product: job_ahead_rest). */
static void job_ahead(struct tile_job *job, int m, int n, int k, const struct linear_ahead *ahead)
{
    if (ahead && ahead->first && ahead->rows > 0 && ahead->row_bytes > 0) {
        /* whole lines: the row's first byte rounded down, its length rounded up */
        const size_t lines_per_row = (ahead->row_bytes + 63) / 64 + 1;
        const size_t lines = lines_per_row * (size_t)ahead->rows;
        const size_t col_tiles = (size_t)(n / 64 + (n % 64) / 48 + (n % 64 % 48) / 32 + (n % 64 % 48 % 32 + 15) / 16);
        const int rt = m % 8 == 0 && m % 6 != 0 && n < 64 ? 8 : 6; /* gemm_tiles' row tiles (roughly, past 64 columns) */
        const size_t steps = (size_t)((m + rt - 1) / rt) * col_tiles * (size_t)k;
        while (job->mask > 1 && steps / (size_t)(job->mask + 1) < lines)
            job->mask >>= 1;
        job->next = ahead->first;
        job->row_bytes = ahead->row_bytes;
        job->stride = ahead->stride;
        job->row_end = job->next + ahead->row_bytes;
        job->end = job->next + (size_t)ahead->rows * ahead->stride;
    }
}

AVX512 static void job_ahead_rest(struct tile_job *job)
{
    while (job->next < job->end) {
        _mm_prefetch(job->next, _MM_HINT_T0);
        job->next += 64;
        if (job->next >= job->row_end) {
            job->next = job->row_end - job->row_bytes + job->stride;
            job->row_end = job->next + job->row_bytes;
        }
    }
}

AVX512 static void gemm_ex_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                                  float *c, int ldc, float beta, const float *rowscale,
                                  const struct linear_ahead *ahead)
{
    struct tile_job job = { NULL, NULL, NULL, 0, 0, 7, 1, beta, rowscale }; /* mask: odd, as p is even */
    job_ahead(&job, m, n, k, ahead);
    gemm_tiles(m, n, k, a, lda, b, ldb, c, ldc, &job); /* k = 0 works too: C is only scaled */
    job_ahead_rest(&job);
}

/* Both products in each tile's accumulators, the tiles in gemm_tiles' order. Streaming stores
 * need 64-byte aligned rows: otherwise (or when not asked) ordinary ones. */
AVX512 static void gemm_plus_lower_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                                          const float *l, int ldl, const float *d, int ldd, float *c, int ldc,
                                          const float *rowscale, int stream, const struct linear_ahead *ahead)
{
    struct tile_job job = { NULL, NULL, NULL, 0, 0, 7, 1, 0.0f, rowscale };
    stream = stream && ((uintptr_t)c & 63) == 0 && ldc % 16 == 0;
    job_ahead(&job, m, n, k, ahead);
    int j = 0;
    for (; j + 64 <= n; j += 64)
        for (int i = 0; i < m; i += 6)
            tile_lower_rows(m, i, j, 4, 0xFFFF, k, a, lda, b, ldb, l, ldl, d, ldd, c, ldc, &job, rowscale, stream);
    for (; j + 48 <= n; j += 48)
        for (int i = 0; i < m; i += 6)
            tile_lower_rows(m, i, j, 3, 0xFFFF, k, a, lda, b, ldb, l, ldl, d, ldd, c, ldc, &job, rowscale, stream);
    for (; j + 32 <= n; j += 32)
        for (int i = 0; i < m; i += 6)
            tile_lower_rows(m, i, j, 2, 0xFFFF, k, a, lda, b, ldb, l, ldl, d, ldd, c, ldc, &job, rowscale, stream);
    for (; j < n; j += 16) {
        __mmask16 mask = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1u);
        for (int i = 0; i < m; i += 6)
            tile_lower_rows(m, i, j, 1, mask, k, a, lda, b, ldb, l, ldl, d, ldd, c, ldc, &job, rowscale, stream);
    }
    job_ahead_rest(&job);
    if (stream) /* the streamed lines ordered before whatever follows (another thread's reads) */
        _mm_sfence();
}

INLINE_AVX512 __m512 exp_avx512(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.533757750e-4f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339985989e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618519805e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550329015e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264625e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931471825e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

AVX512 static void vexp_avx512(float *x, int len)
{
    for (int j = 0; j < len; j += 16) {
        __mmask16 mask = len - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (len - j)) - 1u);
        _mm512_mask_storeu_ps(x + j, mask, exp_avx512(_mm512_maskz_loadu_ps(mask, x + j)));
    }
}

static inline __mmask16 lanes(size_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* e^x for the lanes x <= 0 only, as elu+1 needs it (the others' results are discarded, so
 * they may be anything, inf or NaN included): no upper clamp, the range reduction through a
 * shifter constant and a polynomial of degree 4 for 2^f, f in [-1/2, 1/2] (fitted for
 * relative error, at most 3.7e-6 in float; exp_avx512's degree 6 has 2e-7). The operation's
 * tolerance is 1e-4 and its outputs, ratios of sums of φ, keep ~2e-7 (kbench's rel.err at
 * B 3, N 1000, d 128: 1.7e-7 before, 2.1e-7 after), so the margin stays wide. The lower clamp
 * (as exp_avx512's) keeps −inf from giving NaN and the results normal floats (a denormal
 * would slow the products that read them). Nine vector instructions where exp_avx512 with the
 * min(x, 0) before it took thirteen, on the ports the products use: the map is bound by them (a chunk
 * maps 1024 vectors), and each operation fewer a vector measured ~0.5% of the pass. */
INLINE_AVX512 __m512 exp_nonpositive_avx512(__m512 x)
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f), shift = _mm512_set1_ps(12582912.0f); /* 1.5·2^23 */
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    /* n = round(x·log2 e) by the shift's rounding (|x·log2 e| < 2^22 where it matters), and
     * f = x·log2 e − n in one rounding: three operations where a roundscale (two) and the
     * product and difference took four */
    const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, log2e, shift), shift);
    const __m512 f = _mm512_fmsub_ps(x, log2e, n);
    __m512 p = _mm512_set1_ps(9.570096619e-03f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.591785908e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402474433e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931217909e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* φ of 16 lanes: relu as a max, elu+1 as e^x with the lanes above zero replaced by x + 1
 * under a mask. */
INLINE_AVX512 __m512 phi_avx512(int feature, __m512 v)
{
    const __m512 zero = _mm512_setzero_ps();
    if (feature == KB_FEATURE_RELU)
        return _mm512_max_ps(v, zero); /* NaN and -0 give +0, as x > 0 ? x : 0 */
    const __mmask16 pos = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
    return _mm512_mask_add_ps(exp_nonpositive_avx512(v), pos, v, _mm512_set1_ps(1.0f));
}

/* φ in one pass, without branches on the data. */
AVX512 static void feature_avx512(int feature, const float *x, float *y, size_t len)
{
    for (size_t e = 0; e < len; e += 16) {
        const __mmask16 m = lanes(len - e);
        _mm512_mask_storeu_ps(y + e, m, phi_avx512(feature, _mm512_maskz_loadu_ps(m, x + e)));
    }
}

/* φ of each row, stored, and its dot product with z from the φ vectors in registers (the
 * order of row_dots_avx512's: the same floats). */
AVX512 static void feature_dot_avx512(int feature, int m, int k, const float *x, int ldx, float *y, const float *z,
                                      float *dots)
{
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * ldx;
        float *yi = y + (size_t)i * k;
        __m512 acc = _mm512_setzero_ps();
        for (int p = 0; p < k; p += 16) {
            const __mmask16 l = lanes((size_t)(k - p));
            const __m512 v = phi_avx512(feature, _mm512_maskz_loadu_ps(l, xi + p));
            _mm512_mask_storeu_ps(yi + p, l, v);
            acc = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(l, z + p), acc);
        }
        dots[i] = _mm512_reduce_add_ps(acc);
    }
}

/* dst[c·ldd + r] = r_in[r][c] for r, c < 16: sixteen rows in registers, transposed in four
 * rounds of 16 shuffles (32-bit and 64-bit interleaves within 128-bit lanes, then two rounds of
 * 128-bit lane moves): a third fewer shuffles than four 8×8 blocks, half the loads and stores. */
INLINE_AVX512 void transpose16x16_regs(const __m512 *r, float *dst, int ldd)
{
    __m512 a[16], b[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) { /* lane k: r_i[4k], r_i+1[4k], r_i[4k+1], r_i+1[4k+1] / the +2, +3 */
        a[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        a[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) { /* b[g + m], lane k: rows g..g+3 at column 4k + m */
        b[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a[g]), _mm512_castps_pd(a[g + 2])));
        b[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a[g]), _mm512_castps_pd(a[g + 2])));
        b[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a[g + 1]), _mm512_castps_pd(a[g + 3])));
        b[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a[g + 1]), _mm512_castps_pd(a[g + 3])));
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) {
        /* lanes: rows 0-3 and 4-7 (c, d), 8-11 and 12-15 (e, f) at columns m, 4+m (c, e), 8+m, 12+m (d, f) */
        const __m512 c = _mm512_shuffle_f32x4(b[m], b[4 + m], 0x44), d = _mm512_shuffle_f32x4(b[m], b[4 + m], 0xEE);
        const __m512 e = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0x44),
                     f = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0xEE);
        _mm512_storeu_ps(dst + (size_t)m * ldd, _mm512_shuffle_f32x4(c, e, 0x88));
        _mm512_storeu_ps(dst + (size_t)(4 + m) * ldd, _mm512_shuffle_f32x4(c, e, 0xDD));
        _mm512_storeu_ps(dst + (size_t)(8 + m) * ldd, _mm512_shuffle_f32x4(d, f, 0x88));
        _mm512_storeu_ps(dst + (size_t)(12 + m) * ldd, _mm512_shuffle_f32x4(d, f, 0xDD));
    }
}

AVX512 static void feature_transpose_rows8(int feature, int rows, int cols, const float *src, int lds, float *dst,
                                           int ldd, float *colsum);

/* colsum[0..16) += the sum of the n vectors r (lanes limited by mask), when colsum is not NULL */
INLINE_AVX512 void add_colsum(float *colsum, const __m512 *r, int n, __mmask16 mask)
{
    if (!colsum)
        return;
    __m512 t = r[0];
    for (int q = 1; q < n; q++)
        t = _mm512_add_ps(t, r[q]);
    _mm512_mask_storeu_ps(colsum, mask, _mm512_add_ps(_mm512_maskz_loadu_ps(mask, colsum), t));
}

/* Blocks of 16 × 16 (φ on sixteen 16-lane rows, then transpose16x16_regs), the rest in blocks of
 * 8 rows × 16 columns: φ on the eight 16-lane rows, then each half transposed as an
 * 8×8 block in registers; the edges through a small buffer. The column sums add the φ rows
 * in registers before the transpose. */
AVX512 static void feature_transpose_avx512(int feature, int rows, int cols, const float *src, int lds, float *dst,
                                            int ldd, float *colsum)
{
    int i0 = 0;
    for (; i0 + 16 <= rows && cols >= 16; i0 += 16) { /* 16×16 blocks */
        int j = 0;
        for (; j + 16 <= cols; j += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int q = 0; q < 16; q++)
                r[q] = phi_avx512(feature, _mm512_loadu_ps(src + (size_t)(i0 + q) * lds + j));
            add_colsum(colsum ? colsum + j : NULL, r, 16, 0xFFFF);
            transpose16x16_regs(r, dst + (size_t)j * ldd + i0, ldd);
        }
        if (j < cols) /* the last columns of these rows: the blocks of 8 rows below */
            feature_transpose_rows8(feature, 16, cols - j, src + (size_t)i0 * lds + j, lds, dst + (size_t)j * ldd + i0, ldd,
                                    colsum ? colsum + j : NULL);
    }
    feature_transpose_rows8(feature, rows - i0, cols, src + (size_t)i0 * lds, lds, dst + i0, ldd, colsum);
}

/* feature_transpose in blocks of 8 rows × 16 columns (the edges through a small buffer). */
AVX512 static void feature_transpose_rows8(int feature, int rows, int cols, const float *src, int lds, float *dst,
                                           int ldd, float *colsum)
{
    float buf[8 * 16];
    for (int i = 0; i < rows; i += 8) {
        const int r = rows - i < 8 ? rows - i : 8;
        for (int j = 0; j < cols; j += 16) {
            const int n = cols - j < 16 ? cols - j : 16;
            __m512 v[8];
            for (int q = 0; q < r; q++)
                v[q] = phi_avx512(feature, _mm512_maskz_loadu_ps(lanes((size_t)n), src + (size_t)(i + q) * lds + j));
            add_colsum(colsum ? colsum + j : NULL, v, r, lanes((size_t)n));
            if (r == 8 && n == 16) {
                __m256 lo[8], hi[8];
#pragma GCC unroll 8
                for (int q = 0; q < 8; q++) {
                    lo[q] = _mm512_castps512_ps256(v[q]);
                    hi[q] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v[q]), 1));
                }
                linear_transpose8x8_regs(lo, dst + (size_t)j * ldd + i, ldd, NULL);
                linear_transpose8x8_regs(hi, dst + (size_t)(j + 8) * ldd + i, ldd, NULL);
                continue;
            }
            for (int q = 0; q < r; q++)
                _mm512_storeu_ps(buf + 16 * q, v[q]);
            for (int jj = 0; jj < n; jj++)
                for (int q = 0; q < r; q++)
                    dst[(size_t)(j + jj) * ldd + i + q] = buf[16 * q + jj];
        }
    }
}

/* 8×8 blocks transposed in registers; the edges element by element. */
AVX512 static void transpose_avx512(int rows, int cols, const float *src, int lds, float *dst, int ldd, const float *w)
{
    int i = 0;
    for (; i + 16 <= rows && cols >= 16; i += 16) { /* 16×16 blocks, the weights on the rows first */
        int j = 0;
        for (; j + 16 <= cols; j += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int q = 0; q < 16; q++) {
                r[q] = _mm512_loadu_ps(src + (size_t)(i + q) * lds + j);
                if (w)
                    r[q] = _mm512_mul_ps(r[q], _mm512_set1_ps(w[i + q]));
            }
            transpose16x16_regs(r, dst + (size_t)j * ldd + i, ldd);
        }
        for (; j < cols; j++)
            for (int r = 0; r < 16; r++)
                dst[(size_t)j * ldd + i + r] = src[(size_t)(i + r) * lds + j] * (w ? w[i + r] : 1.0f);
    }
    for (; i + 8 <= rows; i += 8) {
        int j = 0;
        for (; j + 8 <= cols; j += 8)
            linear_transpose8x8(src + (size_t)i * lds + j, lds, dst + (size_t)j * ldd + i, ldd, w ? w + i : NULL);
        for (; j < cols; j++)
            for (int r = 0; r < 8; r++)
                dst[(size_t)j * ldd + i + r] = src[(size_t)(i + r) * lds + j] * (w ? w[i + r] : 1.0f);
    }
    for (; i < rows; i++)
        for (int j = 0; j < cols; j++)
            dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j] * (w ? w[i] : 1.0f);
}

AVX512 static void row_dots_avx512(int m, int k, const float *a, int lda, const float *x, float *out)
{
    for (int i = 0; i < m; i++) {
        const float *ai = a + (size_t)i * lda;
        __m512 acc = _mm512_setzero_ps();
        for (int p = 0; p < k; p += 16) {
            const __mmask16 l = lanes((size_t)(k - p));
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(l, ai + p), _mm512_maskz_loadu_ps(l, x + p), acc);
        }
        out[i] = _mm512_reduce_add_ps(acc);
    }
}

AVX512 static void mul_rowsum_avx512(int m, int n, float *a, int lda, const float *w, int ldw, float *sums)
{
    for (int i = 0; i < m; i++) {
        float *ai = a + (size_t)i * lda;
        const float *wi = w + (size_t)i * ldw;
        __m512 acc = _mm512_setzero_ps();
        for (int j = 0; j < n; j += 16) {
            const __mmask16 l = lanes((size_t)(n - j));
            const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(l, ai + j), _mm512_maskz_loadu_ps(l, wi + j));
            _mm512_mask_storeu_ps(ai + j, l, v);
            acc = _mm512_add_ps(acc, v);
        }
        if (sums)
            sums[i] += _mm512_reduce_add_ps(acc);
    }
}

AVX512 static void scale_rows_avx512(int m, int n, float *a, int lda, const float *s)
{
    for (int i = 0; i < m; i++) {
        float *ai = a + (size_t)i * lda;
        const __m512 f = _mm512_set1_ps(s[i]);
        for (int j = 0; j < n; j += 16) {
            const __mmask16 l = lanes((size_t)(n - j));
            _mm512_mask_storeu_ps(ai + j, l, _mm512_mul_ps(_mm512_maskz_loadu_ps(l, ai + j), f));
        }
    }
}

const struct linear_isa linear_isa_avx512 = {
    .name = "avx512",
    .gemm_acc = gemm_acc_avx512,
    .gemm_ex = gemm_ex_avx512,
    .gemm_plus_lower = gemm_plus_lower_avx512,
    .vexp = vexp_avx512,
    .feature = feature_avx512,
    .transpose = transpose_avx512,
    .feature_transpose = feature_transpose_avx512,
    .feature_dot = feature_dot_avx512,
    .row_dots = row_dots_avx512,
    .mul_rowsum = mul_rowsum_avx512,
    .scale_rows = scale_rows_avx512,
};

#else
typedef int linear_isa_avx512_unused;
#endif
