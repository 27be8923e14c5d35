/* vit_block_int8.c - vit.block@cpu.int8: the ViT block (vit_block.h) integer-only, as I-ViT runs
 * it. After setup every step is integer arithmetic on int8 codes with one float scale each:
 *
 *   a   = I-LayerNorm(x)                      int8, scale 2^-4 (ivit.c)
 *   qkv = requant(a·W_qkvᵀ)                   INT8 GEMM, int32 acc, dyadic per column to the
 *                                             per-tensor scales of Q, K and V
 *   per head: s = requant(Q_h·K_hᵀ)           INT8 GEMM (1/√d_h folded into the dyadic)
 *             p = Shiftmax(s)                 codes 0..127, scale 1/127
 *             o = requant(p·V_h)              INT8 GEMM (V_h packed transposed in place)
 *   h   = sat8(dy(o·W_oᵀ) + dy(x))            residual: both on h's scale in int32, then int8
 *   g   = ShiftGELU(requant(I-LayerNorm(h)·W_1ᵀ))
 *   y   = sat8(dy(g·W_2ᵀ) + dy(h))
 *
 * The GEMMs are quant.gemm_int8's (gemm_int8.h: its packing, its register tiles — AVX-512 VNNI,
 * AVX2 or scalar — and its task split); the non-linear rows are quant.ivit_*'s (ivit.h).
 * Set up once, untimed, as a deployed integer model is built offline:
 *   - weights quantized per output channel (abs-max) and packed into the GEMM's panels;
 *   - the input quantized per tensor (the previous block would hand over int8 codes);
 *   - activation scales from one calibration pass of the float32 block on the same input:
 *     each intermediate's abs-max maps to 127 (the static calibration I-ViT uses; values past it
 *     in other inputs saturate). Shiftmax and ShiftGELU take I_0 = round(1/S) of their input.
 * It implements the operation vit.block (vit_block_op.c) on the operation's float32 input and
 * weights: collect turns the int8 output codes into the case's float32 y (s_y·code), which the
 * operation compares with float64 of the unquantized block (the accuracy I-ViT pays); its own
 * check compares the codes bit for bit with vit_i8_emulate_rows, a scalar re-statement of the
 * whole integer pipeline (int64 dot products, the scalar Shiftmax/ShiftGELU/I-LayerNorm) on the
 * rows the operation samples. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/quant/vit_block.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_CBLAS
#include <cblas.h>
#endif

#include "kernels/verify.h"
#include "kernels/quant/gemm_int8.h"
#include "kernels/quant/ivit.h"

/* One quantized projection y = a·Wᵀ: codes [n][k], per-channel scales, packed panels, and the
 * dyadic of each output column (filled once the activation scales are known). */
struct vit_qlinear {
    int n, k;
    size_t k4;
    int8_t *codes;
    float *s_w;
    int8_t *pk;
    int32_t *cs;
    struct quant_dyadic *dy;
};

struct vit_i8_state {
    struct vit_dims v;
    struct vit_weights w; /* unquantized: the case's operands, for the calibration pass */
    const struct gemm_int8_isa *isa;
    int threads, simd, mpad;
    size_t k4d, k4dh, k4t, k4a; /* packed row lengths: hidden, head_dim, tokens, max(hidden, ffn) */
    struct vit_calib cal;
    float s_x, s_q, s_k, s_v, s_sc, s_o, s_h, s_f, s_y;
    int32_t i0_sc, i0_f;
    struct quant_dyadic dy_sc, dy_pv, dy_xh, dy_hy;
    struct vit_qlinear qkv, o, fc1, fc2;
    int8_t *x;    /* input codes [t][d] at s_x */
    int8_t *ln;   /* [t][d] I-LayerNorm output */
    uint8_t *apk; /* [mpad][k4a] the packed A of the current projection */
    int8_t *qkvb; /* [t][3d] */
    /* per head, so heads run in parallel: packed Q, K panels and sums, scores/probabilities,
     * packed P, V panels and sums, Shiftmax scratch */
    uint8_t *qpk, *ppk;
    int8_t *kpk, *sc, *vpk;
    int32_t *kcs, *vcs, *tmp;
    size_t qpk_n, kpk_n, kcs_n, sc_n, ppk_n, vpk_n, vcs_n;
    int8_t *attn, *hb, *ff, *y; /* [t][d] [t][d] [t][f] [t][d] */
};

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

/* ---- epilogues of the GEMM --------------------------------------------------------------------- */

/* int8 output: one dyadic per column (dy[j]) or one for all (one = 1) */
struct ep_requant {
    int8_t *out;
    size_t ld;
    const struct quant_dyadic *dy;
    int one;
};

static void ep_requant8(void *ctx, int i0, int rows, int j0, int cols, const int32_t *acc, int ldacc)
{
    const struct ep_requant *e = ctx;
    for (int r = 0; r < rows; r++) {
        int8_t *o = e->out + (size_t)(i0 + r) * e->ld + j0;
        for (int j = 0; j < cols; j++)
            o[j] = quant_dyadic_requant(acc[r * ldacc + j], e->dy[e->one ? 0 : j0 + j]);
    }
}

/* the residual add: out = sat8(acc·dy[j] + res·dres), both terms int32 on out's scale */
struct ep_residual {
    int8_t *out;
    const int8_t *res;
    size_t ld;
    const struct quant_dyadic *dy;
    struct quant_dyadic dres;
};

static void ep_residual(void *ctx, int i0, int rows, int j0, int cols, const int32_t *acc, int ldacc)
{
    const struct ep_residual *e = ctx;
    for (int r = 0; r < rows; r++) {
        const size_t at = (size_t)(i0 + r) * e->ld + j0;
        for (int j = 0; j < cols; j++)
            e->out[at + j] = vit_sat8(vit_dyadic_i32(acc[r * ldacc + j], e->dy[j0 + j]) +
                                      vit_dyadic_i32(e->res[at + j], e->dres));
    }
}

/* ---- setup ----------------------------------------------------------------------------------- */

static void qlinear_free(struct vit_qlinear *q)
{
    free(q->codes);
    free(q->s_w);
    free(q->pk);
    free(q->cs);
    free(q->dy);
}

static void qlinear_pack(struct vit_qlinear *q, const struct gemm_int8_isa *isa)
{
    for (int pn = 0; pn < (q->n + isa->nr - 1) / isa->nr; pn++)
        gemm_int8_pack_w_panel(q->codes, q->n, q->k, (size_t)q->k, 1, isa->nr, q->k4, pn,
                               q->pk + (size_t)pn * isa->nr * q->k4, q->cs + (size_t)pn * isa->nr);
}

/* Quantizes W[n][k] per output channel and packs it for isa. */
static int qlinear_new(struct vit_qlinear *q, const float *w, int n, int k, const struct gemm_int8_isa *isa)
{
    q->n = n, q->k = k, q->k4 = round_up((size_t)k, 4);
    const size_t npad = round_up((size_t)n, GEMM_NR_MAX);
    q->codes = quant_alloc((size_t)n * k);
    q->s_w = malloc((size_t)n * sizeof *q->s_w);
    q->pk = quant_alloc(npad * q->k4);
    q->cs = quant_alloc(npad * sizeof(int32_t));
    q->dy = malloc((size_t)n * sizeof *q->dy);
    if (!q->codes || !q->s_w || !q->pk || !q->cs || !q->dy)
        return KB_ERROR;
    for (int j = 0; j < n; j++) {
        const float *wr = w + (size_t)j * k;
        float amax = 0;
        for (int p = 0; p < k; p++)
            amax = fmaxf(amax, fabsf(wr[p]));
        q->s_w[j] = quant_scale(amax, KB_DTYPE_I8);
        const float inv = 1.0f / q->s_w[j];
        for (int p = 0; p < k; p++)
            q->codes[(size_t)j * k + p] = (int8_t)quant_code(wr[p], inv, KB_DTYPE_I8);
    }
    qlinear_pack(q, isa);
    return KB_OK;
}

/* column j's dyadic: s_in·s_w[j] / s_out(j) */
static void qlinear_scales(struct vit_qlinear *q, double s_in, const float *s_out, int out_cols_per_scale)
{
    for (int j = 0; j < q->n; j++)
        q->dy[j] = quant_dyadic_from(s_in * q->s_w[j] / s_out[j / out_cols_per_scale]);
}

static double vit_i8_footprint(const struct kb_shape *s, enum kb_dtype dt)
{
    (void)dt;
    const double t = s->seq_len + GEMM_MR_MAX, d = s->hidden, f = s->ffn, h = s->heads;
    const double wts = 4 * d * d + 2 * d * f;
    /* weight codes + packed; float calibration work; int8 activations and per-head buffers;
     * the check's emulated K, V */
    return 2 * wts + 4 * t * (7 * d + f + h * t) + t * (10 * d + 2 * f) + h * t * (3 * t + 3 * s->head_dim + 64) +
           2 * t * d + 65536;
}

static void vit_i8_teardown(struct kb_case *c)
{
    struct vit_i8_state *st = c->state;
    if (!st)
        return;
    qlinear_free(&st->qkv);
    qlinear_free(&st->o);
    qlinear_free(&st->fc1);
    qlinear_free(&st->fc2);
    void *bufs[] = { st->x, st->ln, st->apk, st->qkvb, st->qpk, st->ppk, st->kpk, st->sc, st->vpk,
                     st->kcs, st->vcs, st->tmp, st->attn, st->hb, st->ff, st->y };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(st);
    c->state = NULL;
}

/* Activation scales from one float32 pass, and every dyadic that follows from them. */
static int calibrate(struct vit_i8_state *st, char *err, size_t errlen)
{
    struct vit_f32_work wk;
    if (vit_f32_work_new(&wk, &st->v, NULL) != KB_OK) {
        snprintf(err, errlen, "vit.block@cpu.int8: out of memory for the calibration pass");
        return KB_ERROR;
    }
    vit_f32_forward(&st->w, &st->v, &wk, st->threads, &st->cal);
    vit_f32_work_free(&wk);
    const struct vit_calib *k = &st->cal;
    st->s_x = quant_scale(k->x, KB_DTYPE_I8);
    st->s_q = quant_scale(k->q, KB_DTYPE_I8);
    st->s_k = quant_scale(k->k, KB_DTYPE_I8);
    st->s_v = quant_scale(k->v, KB_DTYPE_I8);
    st->s_sc = quant_scale(k->scores, KB_DTYPE_I8);
    st->s_o = quant_scale(k->attn, KB_DTYPE_I8);
    st->s_h = quant_scale(k->h, KB_DTYPE_I8);
    st->s_f = quant_scale(k->fc1, KB_DTYPE_I8);
    st->s_y = quant_scale(k->y, KB_DTYPE_I8);
    const double i0_sc = nearbyint(1.0 / st->s_sc), i0_f = nearbyint(1.0 / st->s_f);
    if (i0_sc < 1 || i0_sc > (1 << 15) || i0_f < 1 || i0_f > (1 << 15)) {
        snprintf(err, errlen, "vit.block@cpu.int8: scores scale %g / fc1 scale %g give I_0 = %.0f / %.0f outside "
                 "[1, 2^15] (range too wide for the shift-exp)", st->s_sc, st->s_f, i0_sc, i0_f);
        return KB_UNSUPPORTED;
    }
    st->i0_sc = (int32_t)i0_sc, st->i0_f = (int32_t)i0_f;
    const int d = st->v.d;
    const float s_qkv[3] = { st->s_q, st->s_k, st->s_v };
    qlinear_scales(&st->qkv, IVIT_LN_OUT_SCALE, s_qkv, d);
    qlinear_scales(&st->o, st->s_o, &st->s_h, st->o.n);
    qlinear_scales(&st->fc1, IVIT_LN_OUT_SCALE, &st->s_f, st->fc1.n);
    qlinear_scales(&st->fc2, st->s_f, &st->s_y, st->fc2.n);
    st->dy_sc = quant_dyadic_from((double)st->s_q * st->s_k / (sqrt((double)st->v.dh) * st->s_sc));
    st->dy_pv = quant_dyadic_from((double)st->s_v / (127.0 * st->s_o));
    st->dy_xh = quant_dyadic_from((double)st->s_x / st->s_h);
    st->dy_hy = quant_dyadic_from((double)st->s_h / st->s_y);
    return KB_OK;
}

static int vit_i8_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct vit_dims v;
    int rc = vit_dims_from("vit.block@cpu.int8", &c->shape, &v, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct vit_i8_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "vit.block@cpu.int8: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->v = v;
    st->threads = c->threads > 0 ? c->threads : 1;
    st->isa = gemm_int8_isa_best();
    st->simd = ivit_simd_available();
    const size_t t = (size_t)v.t, d = (size_t)v.d, h = (size_t)v.h, dh = (size_t)v.dh, f = (size_t)v.f;
    const size_t tpad = round_up(t, GEMM_MR_MAX), tnpad = round_up(t, GEMM_NR_MAX), dhnpad = round_up(dh, GEMM_NR_MAX);
    st->mpad = (int)round_up(t, (size_t)st->isa->mr);
    st->k4d = round_up(d, 4), st->k4dh = round_up(dh, 4), st->k4t = round_up(t, 4);
    st->k4a = round_up(d > f ? d : f, 4);
    st->qpk_n = tpad * st->k4dh, st->kpk_n = tnpad * st->k4dh, st->kcs_n = tnpad, st->sc_n = t * t;
    st->ppk_n = tpad * st->k4t, st->vpk_n = dhnpad * st->k4t, st->vcs_n = dhnpad;
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(st->threads); /* the calibration pass */
#endif
    st->w = vit_weights_of(&c->io);
    int oom = qlinear_new(&st->qkv, st->w.wqkv, 3 * v.d, v.d, st->isa) != KB_OK ||
              qlinear_new(&st->o, st->w.wo, v.d, v.d, st->isa) != KB_OK ||
              qlinear_new(&st->fc1, st->w.w1, v.f, v.d, st->isa) != KB_OK ||
              qlinear_new(&st->fc2, st->w.w2, v.d, v.f, st->isa) != KB_OK;
    st->x = quant_alloc(t * d);
    st->ln = quant_alloc(t * d);
    st->apk = quant_alloc(tpad * st->k4a);
    st->qkvb = quant_alloc(3 * t * d);
    st->qpk = quant_alloc(h * st->qpk_n);
    st->kpk = quant_alloc(h * st->kpk_n);
    st->kcs = quant_alloc(h * st->kcs_n * sizeof(int32_t));
    st->sc = quant_alloc(h * st->sc_n);
    st->ppk = quant_alloc(h * st->ppk_n);
    st->vpk = quant_alloc(h * st->vpk_n);
    st->vcs = quant_alloc(h * st->vcs_n * sizeof(int32_t));
    st->tmp = quant_alloc(h * t * sizeof(int32_t));
    st->attn = quant_alloc(t * d);
    st->hb = quant_alloc(t * d);
    st->ff = quant_alloc(t * f);
    st->y = quant_alloc(t * d);
    if (oom || !st->x || !st->ln || !st->apk || !st->qkvb || !st->qpk || !st->kpk || !st->kcs || !st->sc ||
        !st->ppk || !st->vpk || !st->vcs || !st->tmp || !st->attn || !st->hb || !st->ff || !st->y) {
        snprintf(err, errlen, "vit.block@cpu.int8: out of memory (%.0f bytes)", vit_i8_footprint(&c->shape, c->dtype));
        vit_i8_teardown(c);
        return KB_ERROR;
    }
    rc = calibrate(st, err, errlen);
    if (rc != KB_OK) {
        vit_i8_teardown(c);
        return rc;
    }
    const float inv_x = 1.0f / st->s_x;
    for (size_t i = 0; i < t * d; i++)
        st->x[i] = (int8_t)quant_code(st->w.x[i], inv_x, KB_DTYPE_I8);
    return KB_OK;
}

int vit_block_int8_use_path(struct kb_case *c, const char *name)
{
    const struct gemm_int8_isa *isa = gemm_int8_isa_by_name(name);
    struct vit_i8_state *st = c->state;
    if (!isa || !st || c->kernel != &kb_vit_block_int8)
        return -1;
    st->isa = isa;
    st->mpad = (int)round_up((size_t)st->v.t, (size_t)isa->mr);
    qlinear_pack(&st->qkv, isa);
    qlinear_pack(&st->o, isa);
    qlinear_pack(&st->fc1, isa);
    qlinear_pack(&st->fc2, isa);
    return 0;
}

/* ---- run ------------------------------------------------------------------------------------- */

/* One head, in the calling thread: scores, Shiftmax, P·V into its columns of attn. */
static void attention_head(struct vit_i8_state *st, int hd)
{
    const struct gemm_int8_isa *isa = st->isa;
    const int t = st->v.t, d = st->v.d, dh = st->v.dh, d3 = 3 * d, nr = isa->nr;
    uint8_t *qpk = st->qpk + hd * st->qpk_n, *ppk = st->ppk + hd * st->ppk_n;
    int8_t *kpk = st->kpk + hd * st->kpk_n, *sc = st->sc + hd * st->sc_n, *vpk = st->vpk + hd * st->vpk_n;
    int32_t *kcs = st->kcs + hd * st->kcs_n, *vcs = st->vcs + hd * st->vcs_n;
    int32_t *tmp = st->simd ? st->tmp + (size_t)hd * t : NULL;
    const int8_t *q = st->qkvb + (size_t)hd * dh, *k = q + d, *v = q + 2 * d;
    for (int i = 0; i < st->mpad; i++)
        gemm_int8_pack_a_row(i < t ? q + (size_t)i * d3 : NULL, dh, st->k4dh, isa->offset_a, qpk + i * st->k4dh);
    for (int pn = 0; pn < (t + nr - 1) / nr; pn++) /* K_h as W: token j is output column j */
        gemm_int8_pack_w_panel(k, t, dh, (size_t)d3, 1, nr, st->k4dh, pn, kpk + (size_t)pn * nr * st->k4dh,
                               kcs + (size_t)pn * nr);
    struct ep_requant es = { sc, (size_t)t, &st->dy_sc, 1 };
    gemm_int8_packed(isa, qpk, t, st->k4dh, kpk, kcs, t, 0, ep_requant8, &es);
    for (int i = 0; i < st->mpad; i++) {
        int8_t *row = i < t ? sc + (size_t)i * t : NULL;
        if (row)
            ivit_shiftmax_row(row, t, st->i0_sc, row, tmp);
        gemm_int8_pack_a_row(row, t, st->k4t, isa->offset_a, ppk + i * st->k4t);
    }
    for (int pn = 0; pn < (dh + nr - 1) / nr; pn++) /* V_hᵀ as W: W[e][j] = V[j][e] */
        gemm_int8_pack_w_panel(v, dh, t, 1, (size_t)d3, nr, st->k4t, pn, vpk + (size_t)pn * nr * st->k4t,
                               vcs + (size_t)pn * nr);
    struct ep_requant eo = { st->attn + (size_t)hd * dh, (size_t)d, &st->dy_pv, 1 };
    gemm_int8_packed(isa, ppk, t, st->k4t, vpk, vcs, dh, 0, ep_requant8, &eo);
}

static int vit_i8_run(struct kb_case *c)
{
    struct vit_i8_state *st = c->state;
    const struct gemm_int8_isa *isa = st->isa;
    const int t = st->v.t, d = st->v.d, f = st->v.f, off = isa->offset_a;
    const size_t k4d = st->k4d, k4f = round_up((size_t)f, 4);
#pragma omp parallel num_threads(st->threads)
    {
#pragma omp for schedule(static)
        for (int i = 0; i < st->mpad; i++) {
            int8_t *ln = i < t ? st->ln + (size_t)i * d : NULL;
            if (ln)
                ivit_layernorm_row(st->x + (size_t)i * d, d, ln);
            gemm_int8_pack_a_row(ln, d, k4d, off, st->apk + i * k4d);
        }
        struct ep_requant eq = { st->qkvb, (size_t)3 * d, st->qkv.dy, 0 };
        gemm_int8_packed(isa, st->apk, t, k4d, st->qkv.pk, st->qkv.cs, 3 * d, 1, ep_requant8, &eq);
#pragma omp for schedule(dynamic, 1)
        for (int hd = 0; hd < st->v.h; hd++)
            attention_head(st, hd);
#pragma omp for schedule(static)
        for (int i = 0; i < st->mpad; i++)
            gemm_int8_pack_a_row(i < t ? st->attn + (size_t)i * d : NULL, d, k4d, off, st->apk + i * k4d);
        struct ep_residual eh = { st->hb, st->x, (size_t)d, st->o.dy, st->dy_xh };
        gemm_int8_packed(isa, st->apk, t, k4d, st->o.pk, st->o.cs, d, 1, ep_residual, &eh);
#pragma omp for schedule(static)
        for (int i = 0; i < st->mpad; i++) {
            int8_t *ln = i < t ? st->ln + (size_t)i * d : NULL;
            if (ln)
                ivit_layernorm_row(st->hb + (size_t)i * d, d, ln);
            gemm_int8_pack_a_row(ln, d, k4d, off, st->apk + i * k4d);
        }
        struct ep_requant ef = { st->ff, (size_t)f, st->fc1.dy, 0 };
        gemm_int8_packed(isa, st->apk, t, k4d, st->fc1.pk, st->fc1.cs, f, 1, ep_requant8, &ef);
#pragma omp for schedule(static)
        for (int i = 0; i < st->mpad; i++) {
            int8_t *g = i < t ? st->ff + (size_t)i * f : NULL;
            if (g)
                ivit_shiftgelu_row(g, f, st->i0_f, g, st->simd);
            gemm_int8_pack_a_row(g, f, k4f, off, st->apk + i * k4f);
        }
        struct ep_residual ey = { st->y, st->hb, (size_t)d, st->fc2.dy, st->dy_hy };
        gemm_int8_packed(isa, st->apk, t, k4f, st->fc2.pk, st->fc2.cs, d, 1, ep_residual, &ey);
    }
    return KB_OK;
}

int vit_block_int8_view(const struct kb_case *c, struct vit_i8_view *view)
{
    struct vit_i8_state *st = c->state;
    if (!st)
        return KB_ERROR;
    *view = (struct vit_i8_view){
        .v = st->v, .x = st->x, .wqkv = st->qkv.codes, .wo = st->o.codes, .w1 = st->fc1.codes,
        .w2 = st->fc2.codes, .dy_qkv = st->qkv.dy, .dy_o = st->o.dy, .dy_1 = st->fc1.dy, .dy_2 = st->fc2.dy,
        .dy_sc = st->dy_sc, .dy_pv = st->dy_pv, .dy_xh = st->dy_xh, .dy_hy = st->dy_hy,
        .i0_sc = st->i0_sc, .i0_f = st->i0_f, .y = st->y,
    };
    return KB_OK;
}

/* ---- the scalar emulation and verify ----------------------------------------------------------- */

/* Σ_p a[p]·W[j][p] in int64 (exact; the GEMM's int32 holds it since K·127² < 2^31) */
static int32_t dot_i8(const int8_t *a, const int8_t *w, int k)
{
    int64_t s = 0;
    for (int p = 0; p < k; p++)
        s += (int64_t)a[p] * w[p];
    return (int32_t)s;
}

/* Output rows rows[0..nr) of the integer pipeline, one scalar step at a time, into out[nr][d]. */
static int vit_i8_emulate_rows(const struct vit_i8_state *st, const long *rows, long nr, int8_t *out)
{
    const int t = st->v.t, d = st->v.d, dh = st->v.dh, f = st->v.f;
    int8_t *kv = malloc((size_t)t * 2 * d), *buf = malloc((size_t)(6 * d + 2 * f + 2 * t));
    if (!kv || !buf) {
        free(kv);
        free(buf);
        return KB_ERROR;
    }
    int8_t *a = buf, *q = a + d, *o = q + d, *h = o + d, *ff = h + d, *g = ff + f, *s = g + f, *p = s + t;
    for (int i = 0; i < t; i++) { /* K and V of every token */
        ivit_layernorm_row(st->x + (size_t)i * d, d, a);
        for (int j = d; j < 3 * d; j++)
            kv[(size_t)i * 2 * d + j - d] = quant_dyadic_requant(dot_i8(a, st->qkv.codes + (size_t)j * d, d), st->qkv.dy[j]);
    }
    for (long r = 0; r < nr; r++) {
        const int i = (int)rows[r];
        const int8_t *x = st->x + (size_t)i * d;
        ivit_layernorm_row(x, d, a);
        for (int j = 0; j < d; j++)
            q[j] = quant_dyadic_requant(dot_i8(a, st->qkv.codes + (size_t)j * d, d), st->qkv.dy[j]);
        for (int hd = 0; hd < st->v.h; hd++) {
            for (int j = 0; j < t; j++)
                s[j] = quant_dyadic_requant(dot_i8(q + hd * dh, kv + (size_t)j * 2 * d + hd * dh, dh), st->dy_sc);
            ivit_shiftmax_row(s, t, st->i0_sc, p, NULL);
            for (int e = 0; e < dh; e++) {
                int64_t acc = 0;
                for (int j = 0; j < t; j++)
                    acc += (int64_t)p[j] * kv[(size_t)j * 2 * d + d + hd * dh + e];
                o[hd * dh + e] = quant_dyadic_requant((int32_t)acc, st->dy_pv);
            }
        }
        for (int j = 0; j < d; j++)
            h[j] = vit_sat8(vit_dyadic_i32(dot_i8(o, st->o.codes + (size_t)j * d, d), st->o.dy[j]) +
                            vit_dyadic_i32(x[j], st->dy_xh));
        ivit_layernorm_row(h, d, a);
        for (int j = 0; j < f; j++)
            ff[j] = quant_dyadic_requant(dot_i8(a, st->fc1.codes + (size_t)j * d, d), st->fc1.dy[j]);
        ivit_shiftgelu_row(ff, f, st->i0_f, g, 0);
        for (int j = 0; j < d; j++)
            out[(size_t)r * d + j] = vit_sat8(vit_dyadic_i32(dot_i8(g, st->fc2.codes + (size_t)j * f, f), st->fc2.dy[j]) +
                                              vit_dyadic_i32(h[j], st->dy_hy));
    }
    free(kv);
    free(buf);
    return KB_OK;
}

/* The output codes into the case's y: the values they stand for. */
static int vit_i8_collect(struct kb_case *c)
{
    const struct vit_i8_state *st = c->state;
    float *y = kb_output(c, KB_VIT_Y);
    for (size_t i = 0; i < (size_t)st->v.t * st->v.d; i++)
        y[i] = st->s_y * (float)st->y[i];
    return KB_OK;
}

/* The codes of the rows the operation's verify samples, bit for bit against the emulation. */
static int vit_i8_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const struct vit_i8_state *st = c->state;
    const int d = st->v.d;
    long rows[VIT_VERIFY_ROWS];
    long nr = verify_sample_rows(st->v.t, VIT_VERIFY_ROWS, c->seed, rows);
    int8_t *emu = malloc((size_t)nr * d);
    if (!emu || vit_i8_emulate_rows(st, rows, nr, emu) != KB_OK) {
        free(emu);
        return KB_ERROR;
    }
    long mismatches = 0;
    for (long r = 0; r < nr; r++)
        for (int j = 0; j < d; j++)
            mismatches += st->y[(size_t)rows[r] * d + j] != emu[(size_t)r * d + j];
    acc->exact_checked = nr * d;
    acc->exact_mismatches = mismatches;
    if (mismatches)
        acc->passed = 0;
    free(emu);
    return KB_OK;
}

static int vit_i8_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct vit_i8_state *st = c->state;
    const int t = st->v.t, d = st->v.d, f = st->v.f;
    struct kb_tensor ts[] = {
        { "x_codes", KB_DTYPE_I8, 2, { t, d }, st->x, 0 },
        { "w_qkv_codes", KB_DTYPE_I8, 2, { 3 * d, d }, st->qkv.codes, 0 },
        { "w_o_codes", KB_DTYPE_I8, 2, { d, d }, st->o.codes, 0 },
        { "w_1_codes", KB_DTYPE_I8, 2, { f, d }, st->fc1.codes, 0 },
        { "w_2_codes", KB_DTYPE_I8, 2, { d, f }, st->fc2.codes, 0 },
        { "y_codes", KB_DTYPE_I8, 2, { t, d }, st->y, 1 },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof ts / sizeof ts[0] && n < max; i++)
        out[n++] = ts[i];
    return n;
}

const struct kb_kernel kb_vit_block_int8 = {
    .name = "vit.block",
    .impl = "cpu.int8",
    .description = "I-ViT integer-only ViT block: INT8 GEMMs (dyadic requant), Shiftmax, ShiftGELU, I-LayerNorm",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_I8),
    .footprint = vit_i8_footprint,
    .setup = vit_i8_setup,
    .run = vit_i8_run,
    .tensors = vit_i8_tensors,
    .teardown = vit_i8_teardown,
    .axes = VIT_AXES,
    .op = &kb_op_vit_block,
    .collect = vit_i8_collect,
    .check = vit_i8_check,
};
