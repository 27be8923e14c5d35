// quant_emu.h - what the drivers of the quantized Hopper attention kernels share (int8_wgmma_ws,
// int8_fp8_ws, flash_fp8_ws): the pre-pass's codes and scales made on the host by the library's
// own definitions (int8_cuda.c's emulate(): int8_channel_mean, int8_quantize_block or
// int8_e4m3_quantize_block, int8_fp8_quantize_v), which tests/gpu.sh checks the GPU pre-pass
// against bit for bit, so the kernel reads exactly what it reads on the GPU; and int8_cuda.c's
// two checks of the output: attention.softmax's verify at the case's dtype (the cost of the
// quantization), and the sampled rows against float64 attention (attention_reference_row) on the
// kernel's dequantized Q, K and V, within int8.h's INT8_CUDA_KERNEL_TOLERANCE (f16 P·V) or
// INT8_FP8_KERNEL_TOLERANCE (e4m3 P·V). That last bound is the e4m3 rounding of P itself (rel_l2
// ~0.02 measured), loose enough to let a small error through, so the FP8 drivers add a third,
// tighter judgment of their own: float64 attention on the dequantized inputs with P rounded as
// fp8_pv.cuh's recipe rounds it (fp8_recipe_row), within FP8_RECIPE_TOLERANCE.
#pragma once
extern "C" {
#include "kernels/kernel.h"
#include <cstdlib>
#include <cstring>
#include "kernels/attention/attention.h"
#include "kernels/attention/int8.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/quant/fp8.h"
}
#include <cstdio>
#include <vector>

struct quant_case {
    kb_shape s;
    enum kb_dtype dt;
    kb_operands io;
    int blocks;                  /* ceil(N / INT8_BLOCK) */
    std::vector<uint8_t> q8, k8; /* INT8 or e4m3 codes, [B·H or B·H_kv][N][d] */
    std::vector<float> qscale, kscale;
    std::vector<uint8_t> vt;     /* FP8 P·V: V's e4m3 codes [B·H_kv][d][int8_fp8_v_keys(N)] */
    std::vector<float> vscale;   /* and its channel scales [B·H_kv][d] */
    std::vector<uint16_t> v16;   /* V as f16: the f16 P·V's V, the FP8 P·V's last key tile */
    std::vector<float> vin;      /* V's f16 values as floats */
    bool last16;                 /* FP8 P·V: each work tile's last key tile on f16 (fp8_pv.cuh) */
    std::vector<float> qd, kd, vd; /* the kernel's dequantized Q, K, V */
    uint64_t seed;                 /* of the inputs: 42, or EMU_SEED */
};

/* Inputs of attention.softmax at dt (i8 or e4m3: f16 values) and the pre-pass's codes. */
static int quant_setup(quant_case &c, enum kb_dtype dt, int B, int H, int KV, int N, int causal, bool e4m3_qk, bool fp8_v)
{
    kb_shape &s = c.s;
    s = {};
    s.batch = B; s.heads = H; s.kv_heads = KV; s.seq_len = N; s.head_dim = 128; s.causal = causal;
    /* EMU_INPUT=outlier: attention.softmax's outlier inputs (channel bias and outlier channels) */
    s.input = getenv("EMU_INPUT") && strcmp(getenv("EMU_INPUT"), "outlier") == 0 ? KB_INPUT_OUTLIER : KB_INPUT_NORMAL;
    c.dt = dt;
    c.io = {};
    char err[256];
    /* EMU_SEED: a kbench case's own seed (cases.seed), to run exactly the inputs a GPU run had */
    c.seed = getenv("EMU_SEED") ? (uint64_t)strtoll(getenv("EMU_SEED"), NULL, 10) : 42;
    if (kb_op_attention_softmax.inputs(&c.io, &s, dt, c.seed, err, sizeof err) != KB_OK) {
        printf("inputs: %s\n", err);
        return -1;
    }
    const float *q = (const float *)c.io.buffer[KB_ATTN_Q], *k = (const float *)c.io.buffer[KB_ATTN_K];
    const float *v = (const float *)c.io.buffer[KB_ATTN_V];
    const int n = N, d = 128;
    const size_t bh = (size_t)B * H, bhkv = (size_t)B * KV, keys = (size_t)int8_fp8_v_keys(n);
    c.blocks = (n + INT8_BLOCK - 1) / INT8_BLOCK;
    c.q8.assign(bh * n * d, 0);
    c.k8.assign(bhkv * n * d, 0);
    c.qscale.assign(bh * c.blocks, 0.f);
    c.kscale.assign(bhkv * c.blocks, 0.f);
    std::vector<float> mean(d);
    for (size_t h = 0; h < bh; h++)
        for (int b = 0; b < c.blocks; b++) {
            const int t0 = b * INT8_BLOCK, rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
            const float *x = q + (h * n + t0) * d;
            uint8_t *code = c.q8.data() + (h * n + t0) * d;
            c.qscale[h * c.blocks + b] = e4m3_qk ? int8_e4m3_quantize_block(x, rows, d, NULL, code)
                                                 : int8_quantize_block(x, rows, d, NULL, (int8_t *)code);
        }
    for (size_t h = 0; h < bhkv; h++) {
        int8_channel_mean(k + h * n * d, n, d, mean.data());
        for (int b = 0; b < c.blocks; b++) {
            const int t0 = b * INT8_BLOCK, rows = n - t0 < INT8_BLOCK ? n - t0 : INT8_BLOCK;
            const float *x = k + (h * n + t0) * d;
            uint8_t *code = c.k8.data() + (h * n + t0) * d;
            c.kscale[h * c.blocks + b] = e4m3_qk ? int8_e4m3_quantize_block(x, rows, d, mean.data(), code)
                                                 : int8_quantize_block(x, rows, d, mean.data(), (int8_t *)code);
        }
    }
    /* the dequantized operands the second check's float64 attention takes */
    auto deq = [&](uint8_t code) { return e4m3_qk ? fp8_decode(code, FP8_E4M3) : (float)(int8_t)code; };
    c.qd.resize(c.q8.size());
    c.kd.resize(c.k8.size());
    for (size_t i = 0; i < c.q8.size(); i++)
        c.qd[i] = deq(c.q8[i]) * c.qscale[i / ((size_t)n * d) * c.blocks + (i / d % n) / INT8_BLOCK];
    for (size_t i = 0; i < c.k8.size(); i++)
        c.kd[i] = deq(c.k8[i]) * c.kscale[i / ((size_t)n * d) * c.blocks + (i / d % n) / INT8_BLOCK];
    c.vd.assign(v, v + bhkv * n * d);
    c.vin.assign(v, v + bhkv * n * d);
    c.last16 = false;
    c.v16.resize(bhkv * n * d);
    for (size_t i = 0; i < c.v16.size(); i++)
        c.v16[i] = __float2half_rn(v[i]).x; /* exact: the inputs are f16 values */
    if (fp8_v) {
        c.vt.assign(bhkv * d * keys, 0xFF);
        c.vscale.assign(bhkv * d, 0.f);
        for (size_t h = 0; h < bhkv; h++)
            int8_fp8_quantize_v(v + h * n * d, n, d, c.vt.data() + h * d * keys, c.vscale.data() + h * d);
        int pos[32];
        for (int p = 0; p < 32; p++)
            pos[int8_fp8_pv_key(p)] = p;
        for (size_t h = 0; h < bhkv; h++)
            for (int j = 0; j < n; j++)
                for (int ch = 0; ch < d; ch++)
                    c.vd[(h * n + j) * d + ch] =
                        fp8_decode(c.vt[(h * d + ch) * keys + j / 32 * 32 + pos[j % 32]], FP8_E4M3) * c.vscale[h * d + ch];
    }
    return 0;
}

struct dequantized_ctx {
    const quant_case *c;
};
/* The first key of a row's last 128-key tile (int8.h's INT8_FP8_PV_TILE): from there on the FP8
 * kernels multiply V's f16 input when c.last16 (else past the row's keys: none). */
static int last_tile_start(const quant_case *c, int keys)
{
    return c->last16 ? (keys - 1) / INT8_FP8_PV_TILE * INT8_FP8_PV_TILE : keys;
}
/* Row `row`'s scores against its keys (causal: up to its own) on the dequantized Q and K, times
 * scale; its KV head's first row in kvh. */
static std::vector<double> row_scores(const quant_case *c, const struct kb_shape *s, long row, double scale, size_t *kvh)
{
    const int n = s->seq_len, d = s->head_dim, i = (int)(row % n), h = (int)(row / n % s->heads);
    const int b = (int)(row / n / s->heads), keys = s->causal ? i + 1 : n;
    *kvh = (size_t)b * s->kv_heads + h / (s->heads / s->kv_heads);
    const float *q = c->qd.data() + (size_t)row * d, *k = c->kd.data() + *kvh * n * d;
    std::vector<double> sc(keys);
    for (int j = 0; j < keys; j++) {
        double dot = 0;
        for (int e = 0; e < d; e++)
            dot += (double)q[e] * k[(size_t)j * d + e];
        sc[j] = dot * scale;
    }
    return sc;
}
static void dequantized_row(const void *ctx, const struct kb_shape *s, long row, double *out)
{
    const quant_case *c = ((const dequantized_ctx *)ctx)->c;
    const int n = s->seq_len, i = (int)(row % n), h = (int)(row / n % s->heads), b = (int)(row / n / s->heads);
    if (!c->last16) {
        attention_reference_row(s, c->qd.data(), c->kd.data(), c->vd.data(), b, h, i, out);
        return;
    }
    /* the same float64 attention with the last tile's keys taking V's f16 input */
    size_t kvh;
    const std::vector<double> sc = row_scores(c, s, row, 1.0 / sqrt((double)s->head_dim), &kvh);
    const int d = s->head_dim, keys = (int)sc.size(), t_last = last_tile_start(c, keys);
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < keys; j++)
        mx = sc[j] > mx ? sc[j] : mx;
    for (int e = 0; e < d; e++)
        out[e] = 0;
    for (int j = 0; j < keys; j++) {
        const double p = exp(sc[j] - mx);
        const float *v = (j < t_last ? c->vd.data() : c->vin.data()) + (kvh * n + j) * d;
        sum += p;
        for (int e = 0; e < d; e++)
            out[e] += p * v[e];
    }
    for (int e = 0; e < d; e++)
        out[e] /= sum;
}

/* The FP8 P·V recipe of fp8_pv.cuh and flash_ws.cuh in float64, on the dequantized inputs:
 * tiles of 128 keys; after tile t the running maximum m_t of the base-2 scores; the tile's P =
 * 2^(s − m_t) rounded as e4m3(448·P) (the library's fp8_encode, round to nearest even) times V,
 * added into O after O is scaled by 2^(m_{t-1} − m_t); l the sum of the rounded 448·P (the
 * kernel's P·V sums them with its ones rows); O / l. With last16 the last tile's 448·P is
 * rounded to f16 instead and multiplies V's f16 input.
 * What the kernel computes up to float32 arithmetic and the f16 output: a P whose float32 and
 * float64 values round to different e4m3 codes is the rare exception. */
#define FP8_RECIPE_TOLERANCE 2e-3
static void fp8_recipe_row(const void *ctx, const struct kb_shape *s, long row, double *out)
{
    const quant_case *c = ((const dequantized_ctx *)ctx)->c;
    const int n = s->seq_len, d = s->head_dim;
    size_t kvh;
    const std::vector<double> sc = row_scores(c, s, row, 1.4426950408889634 / sqrt((double)d), &kvh); /* base 2 */
    const int keys = (int)sc.size(), t_last = last_tile_start(c, keys);
    std::vector<double> o(d, 0.0);
    double m = -INFINITY, l = 0;
    for (int t0 = 0; t0 < keys; t0 += 128) {
        const int t1 = keys < t0 + 128 ? keys : t0 + 128;
        double mnew = m;
        for (int j = t0; j < t1; j++)
            mnew = sc[j] > mnew ? sc[j] : mnew;
        const double alpha = m == -INFINITY ? 0.0 : exp2(m - mnew);
        l *= alpha;
        for (int e = 0; e < d; e++)
            o[e] *= alpha;
        for (int j = t0; j < t1; j++) {
            const double p = exp2(sc[j] - mnew);
            const bool f16 = j >= t_last;
            const double p8 = f16 ? (double)__half2float(__float2half_rn((float)(p * 448.0)))
                                  : fp8_decode(fp8_encode((float)(p * 448.0), FP8_E4M3), FP8_E4M3);
            const float *v = (f16 ? c->vin.data() : c->vd.data()) + (kvh * n + j) * d;
            l += p8;
            for (int e = 0; e < d; e++)
                o[e] += p8 * v[e];
        }
        m = mnew;
    }
    for (int e = 0; e < d; e++)
        out[e] = o[e] / l;
}

/* O (f16 [B, H, N, 128]) judged twice (three times with fp8_recipe); prints one line; 0 when all pass. */
static int quant_judge(quant_case &c, const char *name, const std::vector<uint16_t> &o, double kernel_tol,
                       bool fp8_recipe = false)
{
    const kb_shape &s = c.s;
    float *out = (float *)c.io.buffer[KB_ATTN_O];
    for (size_t e = 0; e < o.size(); e++)
        out[e] = __half2float(__half{ o[e] });
    kb_accuracy op = {}, own = {};
    kb_op_attention_softmax.verify(&c.io, &s, c.dt, c.seed, 1, &op);
    const dequantized_ctx ctx = { &c };
    attention_verify_sampled(&s, c.seed, out, (long)s.batch * s.heads * s.seq_len, 1, dequantized_row, &ctx, kernel_tol, &own);
    kb_accuracy recipe = {};
    recipe.passed = 1;
    if (fp8_recipe)
        attention_verify_sampled(&s, c.seed, out, (long)s.batch * s.heads * s.seq_len, 1, fp8_recipe_row, &ctx,
                                 FP8_RECIPE_TOLERANCE, &recipe);
    const bool ok = op.passed && own.passed && recipe.passed;
    printf("%s %s B=%d H=%d KV=%d N=%d causal=%d: op rel_l2 %.3g %s; against its dequantized inputs rel_l2 %.3g "
           "max_abs %.3g (bound %g) %s: %s\n",
           name, kb_dtype_name(c.dt), s.batch, s.heads, s.kv_heads, s.seq_len, s.causal, op.rel_l2_err,
           op.passed ? "pass" : "fail", own.rel_l2_err, own.max_abs_err, kernel_tol, own.passed ? "pass" : "fail",
           ok ? "PASS" : "FAIL");
    if (fp8_recipe)
        printf("    against the FP8 recipe (P rounded as the kernel rounds it): rel_l2 %.3g max_abs %.3g (bound %g) %s\n",
               recipe.rel_l2_err, recipe.max_abs_err, FP8_RECIPE_TOLERANCE, recipe.passed ? "pass" : "fail");
    kb_operands_free(&c.io);
    return !ok;
}
