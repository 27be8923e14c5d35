/* vit_block_steps.c - the steps of vit.block@cuda.int8 (vit_block_cuda.h) in the order and with
 * the operand views of vit.block@cpu.int8's run (vit_block_int8.c):
 *
 *   a = I-LayerNorm(x)                     ivit op 2
 *   qkv = requant(a·W_qkvᵀ)                dyadic per column
 *   per head (the GEMM's batch index z): s = requant(Q_h·K_hᵀ) (one dyadic), p = Shiftmax(s)
 *   (ivit op 0 over h·t rows), o_h = requant(p·V_h) into columns h·dh.. of attn
 *   h = sat8(dy(o·W_oᵀ) + dy(x));  a = I-LayerNorm(h);  f = requant(a·W_1ᵀ);  g = ShiftGELU(f)
 *   y = sat8(dy(g·W_2ᵀ) + dy(h))
 *
 * Q_h, K_h and V_h are read in place in the [t][3d] QKV buffer: Q_h rows 3d apart from column
 * h·dh; K_h as the W of Q_h·K_hᵀ (row j = token j) the same from column d + h·dh; V_hᵀ as the W
 * of p·V_h, element (e, j) = V[j][e]: e one apart, j 3d apart, from column 2d + h·dh. Plain C, so
 * a unit test runs these steps on the CPU with host launchers. */
#include "kernels/quant/vit_block.h"
#include "kernels/quant/vit_block_cuda.h"

void vit_block_dyadics(const struct vit_i8_view *w, int32_t *b, int32_t *c)
{
    const size_t d = (size_t)w->v.d, f = (size_t)w->v.f;
    const struct {
        const struct quant_dyadic *dy;
        size_t n;
    } cols[] = { { w->dy_qkv, 3 * d }, { w->dy_o, d }, { w->dy_1, f }, { w->dy_2, d }, { &w->dy_sc, 1 }, { &w->dy_pv, 1 } };
    size_t at = 0;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        for (size_t j = 0; j < cols[i].n; j++, at++)
            b[at] = cols[i].dy[j].b, c[at] = cols[i].dy[j].c;
}

int vit_block_steps(const struct vit_block_bufs *bf, const struct vit_i8_view *w, const struct vit_block_launchers *l,
                    void *s)
{
    const int t = w->v.t, d = w->v.d, f = w->v.f, h = w->v.h, dh = w->v.dh;
    const long d3 = 3L * d;
    const int32_t *b = bf->dy_b, *c = bf->dy_c;
    const size_t o_qkv = 0, o_o = 3 * (size_t)d, o_1 = 4 * (size_t)d, o_2 = 4 * (size_t)d + f, o_sc = 5 * (size_t)d + f,
                 o_pv = o_sc + 1;
    int e = l->ivit(2, bf->x, bf->ln, t, d, 0, s);
    struct vit_gemm g = { .a = bf->ln, .lda = d, .w = bf->wqkv, .w_sn = d, .w_sk = 1, .m = t, .n = 3 * d, .k = d,
                          .out = bf->qkv, .ldo = d3, .dy_b = b + o_qkv, .dy_c = c + o_qkv, .per_col = 1 };
    if (!e)
        e = l->gemm(&g, 1, s);
    g = (struct vit_gemm){ .a = bf->qkv, .lda = d3, .a_bs = dh, .w = bf->qkv + d, .w_sn = d3, .w_sk = 1, .w_bs = dh,
                           .m = t, .n = t, .k = dh, .out = bf->sc, .ldo = t, .o_bs = (long)t * t,
                           .dy_b = b + o_sc, .dy_c = c + o_sc };
    if (!e)
        e = l->gemm(&g, h, s);
    if (!e)
        e = l->ivit(0, bf->sc, bf->p, h * t, t, w->i0_sc, s);
    g = (struct vit_gemm){ .a = bf->p, .lda = t, .a_bs = (long)t * t, .w = bf->qkv + 2 * d, .w_sn = 1, .w_sk = d3,
                           .w_bs = dh, .m = t, .n = dh, .k = t, .out = bf->attn, .ldo = d, .o_bs = dh,
                           .dy_b = b + o_pv, .dy_c = c + o_pv };
    if (!e)
        e = l->gemm(&g, h, s);
    g = (struct vit_gemm){ .a = bf->attn, .lda = d, .w = bf->wo, .w_sn = d, .w_sk = 1, .m = t, .n = d, .k = d,
                           .out = bf->hb, .ldo = d, .dy_b = b + o_o, .dy_c = c + o_o, .per_col = 1, .res = bf->x,
                           .res_b = w->dy_xh.b, .res_c = w->dy_xh.c };
    if (!e)
        e = l->gemm(&g, 1, s);
    if (!e)
        e = l->ivit(2, bf->hb, bf->ln, t, d, 0, s);
    g = (struct vit_gemm){ .a = bf->ln, .lda = d, .w = bf->w1, .w_sn = d, .w_sk = 1, .m = t, .n = f, .k = d,
                           .out = bf->ff, .ldo = f, .dy_b = b + o_1, .dy_c = c + o_1, .per_col = 1 };
    if (!e)
        e = l->gemm(&g, 1, s);
    if (!e)
        e = l->ivit(1, bf->ff, bf->g, t, f, w->i0_f, s);
    g = (struct vit_gemm){ .a = bf->g, .lda = f, .w = bf->w2, .w_sn = f, .w_sk = 1, .m = t, .n = d, .k = f,
                           .out = bf->y, .ldo = d, .dy_b = b + o_2, .dy_c = c + o_2, .per_col = 1, .res = bf->hb,
                           .res_b = w->dy_hy.b, .res_c = w->dy_hy.c };
    if (!e)
        e = l->gemm(&g, 1, s);
    return e;
}
