/* delta_cpu_body.h - the per-ISA part of attention.delta@cpu.chunked (delta_cpu.c): included
 * once per SIMD level with DELTA_ISA(name) naming its functions and `#pragma GCC target` set
 * around the inclusion, so the loops outside the GEMMs (normalisation, the forward
 * substitution, the gate scaling) are vectorised for the path linear_isa.h chose. Needs
 * delta_cpu.c's struct delta_state and struct chunk_scratch; not a header of its own. */

static void DELTA_ISA(normalise)(const float *x, int d, float mul, float *out)
{
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int i = 0; i < d; i++)
        ss += x[i] * x[i];
    float r = ss > 0.0f ? mul / sqrtf(ss) : 0.0f;
#pragma omp simd
    for (int i = 0; i < d; i++)
        out[i] = x[i] * r;
}

/* Runs tokens [0, n) of head `head` from the zero state through the chunked form, leaving the
 * state in w->s; writes output rows when o is not NULL. */
static void DELTA_ISA(chunked_head)(const struct delta_state *st, const struct kb_shape *s, size_t head, int n, float *o,
                         const struct chunk_scratch *w)
{
    const struct linear_isa *isa = st->isa;
    const int d = s->head_dim, C = st->chunk, gated = s->decay;
    const size_t off = head * (size_t)st->tokens;
    const float *q = st->q + off * d, *k = st->k + off * d, *v = st->v + off * d;
    const float *beta = st->beta + off, *g = st->g + off;
    const float scale = (float)(1.0 / sqrt((double)d));

    memset(w->s, 0, (size_t)d * d * sizeof(float));
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
        /* normalised keys (rows and transposed), β e^γ k̂ (negated: W comes out as −W) */
        for (int i = 0; i < c; i++) {
            float *kn = w->kn + (size_t)i * d, *kb = w->kb + (size_t)i * d;
            DELTA_ISA(normalise)(kc + (size_t)i * d, d, 1.0f, kn);
            const float f = -bc[i] * w->eg[i];
#pragma omp simd
            for (int p = 0; p < d; p++)
                kb[p] = f * kn[p];
        }
        /* K̂ᵀ, written row by row (contiguous stores; the strided reads stay in L1) */
        for (int p = 0; p < d; p++) {
            float *ktp = w->kt + (size_t)p * C;
            for (int i = 0; i < c; i++)
                ktp[i] = w->kn[(size_t)i * d + p];
        }
        /* L = strictly-lower(diag(β)(K̂K̂ᵀ ⊙ Γ)) */
        memset(w->a, 0, (size_t)c * C * sizeof(float));
        isa->gemm_acc(c, c, d, w->kn, d, w->kt, C, w->a, C);
        /* T = (I + L)⁻¹ by forward substitution: T_i = e_i − Σ_{j<i} L_ij T_j */
        for (int i = 0; i < c; i++) {
            float *ti = w->t + (size_t)i * C;
            memset(ti, 0, (size_t)c * sizeof(float));
            ti[i] = 1.0f;
            const float *ai = w->a + (size_t)i * C;
            const float fi = bc[i] * w->eg[i];
            for (int j = 0; j < i; j++) {
                const float l = fi * ai[j] * w->eng[j];
                const float *tj = w->t + (size_t)j * C;
#pragma omp simd
                for (int m = 0; m <= j; m++)
                    ti[m] -= l * tj[m];
            }
        }
        /* X = diag(β)V − diag(βe^γ) K̂ S0, then U = T X: the same as U_WY − W S0 with
         * U_WY = T diag(β) V and W = T diag(βe^γ) K̂, one c×c×d product fewer */
        memset(w->w, 0, (size_t)c * d * sizeof(float));
        isa->gemm_acc(c, d, d, w->kb, d, w->s, d, w->w, d);
        for (int i = 0; i < c; i++) {
            float *xi = w->w + (size_t)i * d;
            const float *vi = vc + (size_t)i * d;
            const float b = bc[i];
#pragma omp simd
            for (int p = 0; p < d; p++)
                xi[p] += b * vi[p];
        }
        memset(w->u, 0, (size_t)c * d * sizeof(float));
        isa->gemm_acc(c, d, c, w->t, C, w->w, d, w->u, d);
        if (o) {
            /* O = (Q̂e^γ/√d) S0 + (Q̂K̂ᵀ/√d ⊙ Γ ⊙ causal) U */
            for (int i = 0; i < c; i++) {
                float *qn = w->qn + (size_t)i * d, *qe = w->qe + (size_t)i * d;
                DELTA_ISA(normalise)(qc + (size_t)i * d, d, scale, qn);
                const float e = w->eg[i];
#pragma omp simd
                for (int p = 0; p < d; p++)
                    qe[p] = qn[p] * e;
            }
            float *oc = o + (size_t)t0 * d;
            memset(oc, 0, (size_t)c * d * sizeof(float));
            isa->gemm_acc(c, d, d, w->qe, d, w->s, d, oc, d);
            memset(w->p, 0, (size_t)c * C * sizeof(float));
            isa->gemm_acc(c, c, d, w->qn, d, w->kt, C, w->p, C);
            for (int i = 0; i < c; i++) {
                float *pi = w->p + (size_t)i * C;
                const float e = w->eg[i];
#pragma omp simd
                for (int j = 0; j <= i; j++)
                    pi[j] *= e * w->eng[j];
                for (int j = i + 1; j < c; j++)
                    pi[j] = 0.0f;
            }
            isa->gemm_acc(c, d, c, w->p, C, w->u, d, oc, d);
        }
        /* S = e^{γ_last} S0 + K̂ᵀ diag(e^{γ_last − γ}) U */
        const float *ud = w->u;
        if (gated) {
#pragma omp simd
            for (size_t e = 0; e < (size_t)d * d; e++)
                w->s[e] *= elast;
            for (int j = 0; j < c; j++) {
                const float f = elast * w->eng[j];
                const float *uj = w->u + (size_t)j * d;
                float *dj = w->w + (size_t)j * d;
#pragma omp simd
                for (int p = 0; p < d; p++)
                    dj[p] = f * uj[p];
            }
            ud = w->w;
        }
        isa->gemm_acc(d, d, c, w->kt, C, ud, d, w->s, d);
    }
}

