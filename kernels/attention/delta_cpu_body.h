/* delta_cpu_body.h - the per-ISA part of attention.delta@cpu.chunked (delta_cpu.c): included
 * once per SIMD level with DELTA_ISA(name) naming its functions and `#pragma GCC target` set
 * around the inclusion, so the loops outside the GEMMs (normalisation, the forward
 * substitution, the gate scaling) are vectorised for the path linear_isa.h chose. Needs
 * delta_cpu.c's struct delta_state and struct chunk_scratch; not a header of its own. */

/* out = x·mul/‖x‖ (0 when x is 0). The sum of squares keeps 16 partial sums (a vector FMA per 16
 * floats) and halves them in a tree unrolled into registers; a plain reduction loop, or the tree
 * as a loop, left a 16-step chain through memory per row, the main cost of this function. */
static void DELTA_ISA(normalise)(const float *x, int d, float mul, float *out)
{
    float part[16] = { 0 };
    int p = 0;
    for (; p + 16 <= d; p += 16)
#pragma omp simd
        for (int m = 0; m < 16; m++)
            part[m] = DELTA_FMA(x[p + m], x[p + m], part[m]);
    for (; p < d; p++)
        part[p & 15] = DELTA_FMA(x[p], x[p], part[p & 15]);
#pragma GCC unroll 4
    for (int half = 8; half > 0; half /= 2)
#pragma GCC unroll 8
        for (int m = 0; m < half; m++)
            part[m] += part[m + half];
    const float ss = part[0], r = ss > 0.0f ? mul / sqrtf(ss) : 0.0f;
#pragma omp simd
    for (int i = 0; i < d; i++)
        out[i] = x[i] * r;
}

/* out[i0:i1, ·] += a[i0:i1, 0:i1]·b[0:i1, ·] for row blocks of DELTA_ROW_BLOCK rows: the product
 * of a lower-triangular c×c matrix (T, or the masked scores P) with a c×n one, skipping the
 * blocks of zeros above the diagonal. */
static void DELTA_ISA(lower_times)(const struct linear_isa *isa, int c, int n, const float *a, int lda, const float *b,
                                   int ldb, float *out, int ldo)
{
    for (int i0 = 0; i0 < c; i0 += DELTA_TIMES_BLOCK) {
        const int i1 = c - i0 < DELTA_TIMES_BLOCK ? c : i0 + DELTA_TIMES_BLOCK;
        isa->gemm_acc(i1 - i0, n, i1, a + (size_t)i0 * lda, lda, b, ldb, out + (size_t)i0 * ldo, ldo);
    }
}

/* out[i, j] += (x·kt)[i, j] for j < the end of i's row block: the lower part (and a sliver above
 * the diagonal) of the c×c scores x·K̂ᵀ, half the products of the full square. */
static void DELTA_ISA(lower_scores)(const struct linear_isa *isa, int c, int d, const float *x, int ldx,
                                    const float *kt, int ldk, float *out, int ldo)
{
    for (int i0 = 0; i0 < c; i0 += DELTA_ROW_BLOCK) {
        const int i1 = c - i0 < DELTA_ROW_BLOCK ? c : i0 + DELTA_ROW_BLOCK;
        isa->gemm_acc(i1 - i0, i1, d, x + (size_t)i0 * ldx, ldx, kt, ldk, out + (size_t)i0 * ldo, ldo);
    }
}

/* T = (I + L)⁻¹ with L_ij = β_i e^{γ_i} a_ij e^{−γ_j} (j < i), row by row: T_i = e_i − Σ_{j<i} L_ij T_j.
 * Rows of T are ldt ≥ c floats (a multiple of 16) and zero beyond the diagonal, so each sum runs
 * over whole 16-float blocks of columns with a fixed-length inner loop (one zmm, two ymm). */
static void DELTA_ISA(invert_unit_lower)(int c, const float *a, int lda, const float *beta, const float *eg,
                                         const float *eng, float *t, int ldt, float *l)
{
    for (int i = 0; i < c; i++) {
        float *ti = t + (size_t)i * ldt;
        const float *ai = a + (size_t)i * lda;
        const float fi = -beta[i] * eg[i];
#pragma omp simd
        for (int j = 0; j < i; j++)
            l[j] = fi * ai[j] * eng[j];
        for (int m = 0; m < ldt; m++)
            ti[m] = 0.0f;
        ti[i] = 1.0f;
        for (int mb = 0; mb < i; mb += 16) {
            float acc[16];
#pragma omp simd
            for (int m = 0; m < 16; m++)
                acc[m] = ti[mb + m];
            for (int j = mb; j < i; j++) {
                const float lj = l[j], *tj = t + (size_t)j * ldt + mb;
#pragma omp simd
                for (int m = 0; m < 16; m++)
                    acc[m] = DELTA_FMA(lj, tj[m], acc[m]);
            }
#pragma omp simd
            for (int m = 0; m < 16; m++)
                ti[mb + m] = acc[m];
        }
    }
}

#if defined(__AVX512F__)
/* dst[p][i] = src[i][p] for a 16×16 block (rows lds and ldt floats apart) in registers: pairs of
 * rows interleaved, then pairs of pairs, then the 128-bit lanes of four vectors transposed; the
 * scalar loop it replaces moved one float per load and store. */
static inline void transpose16_avx512(const float *src, int lds, float *dst, int ldt)
{
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_loadu_ps(src + (size_t)i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* u[4g + j], lane k: column 4k + j of rows 4g..4g+3 */
    for (int g = 0; g < 16; g += 4) {
        const __m512d a = _mm512_castps_pd(t[g]), b = _mm512_castps_pd(t[g + 1]);
        const __m512d c = _mm512_castps_pd(t[g + 2]), e = _mm512_castps_pd(t[g + 3]);
        r[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, e));
        r[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, e));
    }
    for (int j = 0; j < 4; j++) {
        const __m512 v0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44), v1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
        const __m512 v2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
        const __m512 v3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
        _mm512_storeu_ps(dst + (size_t)(0 + j) * ldt, _mm512_shuffle_f32x4(v0, v2, 0x88));
        _mm512_storeu_ps(dst + (size_t)(4 + j) * ldt, _mm512_shuffle_f32x4(v0, v2, 0xDD));
        _mm512_storeu_ps(dst + (size_t)(8 + j) * ldt, _mm512_shuffle_f32x4(v1, v3, 0x88));
        _mm512_storeu_ps(dst + (size_t)(12 + j) * ldt, _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
}
#endif

/* Runs tokens [0, n) of head `head` from the zero state through the chunked form, leaving the
 * state in w->s; writes output rows when o is not NULL. */
static void DELTA_ISA(chunked_head)(const struct delta_state *st, const struct kb_shape *s, size_t head, int n, float *o,
                         const struct chunk_scratch *w)
{
    const struct linear_isa *isa = st->isa;
    const int d = s->head_dim, C = st->chunk, gated = s->decay;
    const int ldd = delta_ld(d), ldc = delta_ld(C); /* rows of the [·][d] and [·][C] scratch */
    const size_t off = head * (size_t)st->tokens;
    const float *q = st->q + off * d, *k = st->k + off * d, *v = st->v + off * d;
    const float *beta = st->beta + off, *g = st->g + off;
    const float scale = (float)(1.0 / sqrt((double)d));

    memset(w->s, 0, (size_t)d * ldd * sizeof(float));
    float sigma = 1.0f; /* the state is sigma·w->s (gated: the chunks' decay not yet applied) */
    for (int t0 = 0; t0 < n; t0 += C) {
        const int c = n - t0 < C ? n - t0 : C;
        const float *qc = q + (size_t)t0 * d, *kc = k + (size_t)t0 * d, *vc = v + (size_t)t0 * d;
        const float *bc = beta + t0, *gc = g + t0;
        /* γ (cumulative log-gate), e^γ, e^−γ */
        float glast = 0.0f;
        if (gated) {
            float acc = 0.0f;
            for (int i = 0; i < c; i++) {
                acc += gc[i];
                w->eg[i] = acc;
                w->eng[i] = -acc;
            }
            glast = acc;
            isa->vexp(w->eg, c);
            isa->vexp(w->eng, c);
        } else {
            for (int i = 0; i < c; i++)
                w->eg[i] = w->eng[i] = 1.0f;
        }
        const float elast = gated ? expf(glast) : 1.0f;
        /* normalised keys (rows and transposed), β e^γ k̂ (negated: the product with S0 is
         * subtracted), X = diag(β)V to accumulate − diag(βe^γ) K̂ S0 onto */
        for (int i = 0; i < c; i++) {
            float *kn = w->kn + (size_t)i * ldd, *kb = w->kb + (size_t)i * ldd, *xi = w->w + (size_t)i * ldd;
            const float *vi = vc + (size_t)i * d;
            DELTA_ISA(normalise)(kc + (size_t)i * d, d, 1.0f, kn);
            const float f = -bc[i] * w->eg[i] * sigma, b = bc[i];
#pragma omp simd
            for (int p = 0; p < d; p++) {
                kb[p] = f * kn[p];
                xi[p] = b * vi[p];
            }
        }
        /* K̂ᵀ, 16 keys at a time (the strided reads of a block stay in L1) */
        for (int i0 = 0; i0 < c; i0 += 16) {
            const int i1 = c - i0 < 16 ? c : i0 + 16;
            int p = 0;
#if defined(__AVX512F__)
            if (i1 - i0 == 16)
                for (; p + 16 <= d; p += 16)
                    transpose16_avx512(w->kn + (size_t)i0 * ldd + p, ldd, w->kt + (size_t)p * ldc + i0, ldc);
#endif
            for (; p < d; p++) {
                float *ktp = w->kt + (size_t)p * ldc;
                for (int i = i0; i < i1; i++)
                    ktp[i] = w->kn[(size_t)i * ldd + p];
            }
        }
        /* K̂K̂ᵀ below the diagonal, then T = (I + L)⁻¹, L = strictly-lower(diag(β)(K̂K̂ᵀ ⊙ Γ)) */
        memset(w->a, 0, (size_t)c * ldc * sizeof(float));
        DELTA_ISA(lower_scores)(isa, c, d, w->kn, ldd, w->kt, ldc, w->a, ldc);
        DELTA_ISA(invert_unit_lower)(c, w->a, ldc, bc, w->eg, w->eng, w->t, ldc, w->l);
        /* X = diag(β)V − diag(βe^γ) K̂ S0, then U = T X: the same as U_WY − W S0 with
         * U_WY = T diag(β) V and W = T diag(βe^γ) K̂, one c×c×d product fewer */
        isa->gemm_acc(c, d, d, w->kb, ldd, w->s, ldd, w->w, ldd);
        memset(w->u, 0, (size_t)c * ldd * sizeof(float));
        DELTA_ISA(lower_times)(isa, c, d, w->t, ldc, w->w, ldd, w->u, ldd);
        if (o) {
            /* O = (Q̂e^γ/√d) S0 + (Q̂K̂ᵀ/√d ⊙ Γ ⊙ causal) U */
            for (int i = 0; i < c; i++) {
                float *qn = w->qn + (size_t)i * ldd, *qe = w->qe + (size_t)i * ldd;
                DELTA_ISA(normalise)(qc + (size_t)i * d, d, scale, qn);
                const float e = w->eg[i] * sigma;
#pragma omp simd
                for (int p = 0; p < d; p++)
                    qe[p] = qn[p] * e;
            }
            float *oc = o + (size_t)t0 * d;
            memset(oc, 0, (size_t)c * d * sizeof(float));
            isa->gemm_acc(c, d, d, w->qe, ldd, w->s, ldd, oc, d);
            memset(w->p, 0, (size_t)c * ldc * sizeof(float));
            DELTA_ISA(lower_scores)(isa, c, d, w->qn, ldd, w->kt, ldc, w->p, ldc);
            for (int i = 0; i < c; i++) {
                float *pi = w->p + (size_t)i * ldc;
                const float e = w->eg[i];
#pragma omp simd
                for (int j = 0; j <= i; j++)
                    pi[j] *= e * w->eng[j];
                for (int j = i + 1; j < c; j++)
                    pi[j] = 0.0f;
            }
            DELTA_ISA(lower_times)(isa, c, d, w->p, ldc, w->u, ldd, oc, d);
        }
        /* S = e^{γ_last} S0 + K̂ᵀ diag(e^{γ_last − γ}) U, kept as σŜ: the decay goes into σ, and
         * Ŝ is only rescaled (one pass over d²) when σ would fall below DELTA_MIN_SCALE */
        const float *ud = w->u;
        if (gated) {
            if (sigma * elast >= DELTA_MIN_SCALE) {
                sigma *= elast;
            } else {
                const float fold = sigma * elast;
#pragma omp simd
                for (size_t e = 0; e < (size_t)d * ldd; e++)
                    w->s[e] *= fold;
                sigma = 1.0f;
            }
            const float inv = elast / sigma;
            for (int j = 0; j < c; j++) {
                const float f = inv * w->eng[j];
                const float *uj = w->u + (size_t)j * ldd;
                float *dj = w->w + (size_t)j * ldd;
#pragma omp simd
                for (int p = 0; p < d; p++)
                    dj[p] = f * uj[p];
            }
            ud = w->w;
        }
        isa->gemm_acc(d, d, c, w->kt, ldc, ud, ldd, w->s, ldd);
    }
    if (sigma != 1.0f) {
#pragma omp simd
        for (size_t e = 0; e < (size_t)d * ldd; e++)
            w->s[e] *= sigma;
    }
}
