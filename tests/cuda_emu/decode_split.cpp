// decode_split.cpp - attention.flash@cuda.decode's kernels (kernels/attention/decode_split.cu)
// run on the host under shim.h's emulation in launch_split's order (the split kernel, then the
// log-sum-exp combine), contiguous and paged caches, on the operation's own inputs, judged by
// attention.softmax's float64 verify. The splits are decode_cuda_split's for a GPU of `sms`
// multiprocessors, or a forced chunk (many short splits, more than D of them). O and the
// partials start as NaN. run.sh builds and runs it.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* decode_split.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/softmax_ops.h"
}
#include "softmax_case.h"
#include <cstdio>
#include <cstdlib>

template <typename T, int D, int G>
static void launch(const decode_cuda_args &a, int head_chunks)
{
    const int pages = a.page > 0 ? (a.n + a.page - 1) / a.page : 0;
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    emu_launch(a.batch * a.kv_heads * head_chunks, a.splits, 1, kThreads, 0, [&] {
        decode_split_kernel<T, D, G>((const T *)a.q, (const T *)a.k, (const T *)a.v, a.page > 0 ? a.table : nullptr,
                                     a.part_o, a.part_ml, a.heads, a.kv_heads, a.n, a.page, pages, a.chunk, a.splits,
                                     head_chunks, scale_log2); });
    emu_launch(a.batch * a.heads, 1, 1, COMBINE_THREADS, 0, [&] {
        decode_combine_kernel<T, D>(a.part_o, a.part_ml, (T *)a.o, a.splits); });
}

template <typename T, int D>
static void launch_d(const decode_cuda_args &a)
{
    const int group = a.heads / a.kv_heads;
    const int g = group < DECODE_CUDA_MAX_GROUP ? group : DECODE_CUDA_MAX_GROUP;
    const int hc = decode_cuda_head_chunks(group);
    if (g <= 1)
        launch<T, D, 1>(a, hc);
    else if (g <= 2)
        launch<T, D, 2>(a, hc);
    else if (g <= 4)
        launch<T, D, 4>(a, hc);
    else
        launch<T, D, 8>(a, hc);
}

/* sms > 0: decode_cuda_split's choice for that GPU; sms < 0: chunk = -sms tokens per split. */
template <typename T>
static int run(enum kb_dtype dt, int B, int H, int Hkv, int N, int d, int page, int sms)
{
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = Hkv; s.seq_len = N; s.head_dim = d; s.decode = 1; s.page = page;
    s.input = KB_INPUT_NORMAL;
    softmax_case<T> c; /* O starts as NaN, as decode_cuda.c poisons it */
    if (c.setup(s, dt))
        return 1;
    decode_cuda_args a = {};
    a.batch = B; a.heads = H; a.kv_heads = s.kv_heads; a.n = N; a.d = d; a.page = page; a.dtype = dt;
    if (sms > 0)
        decode_cuda_split(N, (long)B * s.kv_heads * decode_cuda_head_chunks(H / s.kv_heads), sms, DECODE_CUDA_CTAS_PER_SM, &a.splits, &a.chunk);
    else {
        a.chunk = -sms;
        a.splits = (N + a.chunk - 1) / a.chunk;
    }
    std::vector<float> part((size_t)B * H * a.splits * (d + 2), NAN);
    a.q = c.q.data(); a.k = c.k.data(); a.v = c.v.data(); a.o = c.o.data();
    a.table = page > 0 ? (const int32_t *)c.io.buffer[KB_ATTN_BLOCK_TABLE] : nullptr;
    a.part_o = part.data(); a.part_ml = part.data() + (size_t)B * H * a.splits * d;
    if (d == 64)
        launch_d<T, 64>(a);
    else if (d == 128)
        launch_d<T, 128>(a);
    else
        launch_d<T, 256>(a);
    const kb_accuracy acc = c.judge(dt);
    printf("decode %s B=%d H=%d H_kv=%d N=%d d=%d page=%d: %d splits of %d: rel_l2 %.3g max_abs %.3g %s\n",
           kb_dtype_name(dt), B, H, s.kv_heads, N, d, page, a.splits, a.chunk, acc.rel_l2_err, acc.max_abs_err,
           acc.passed ? "PASS" : "FAIL");
    return !acc.passed;
}

int main(int argc, char **argv)
{
    (void)argv;
    const int quick = argc > 1;
    int bad = 0;
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 2, 2, 77, 64, 0, 132);
    bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 3, 6, 2, 301, 128, 16, 132);   /* GQA 3: G = 4, one head idle */
    bad += run<__half>(KB_DTYPE_F16, 1, 8, 1, 1001, 64, 64, 132);           /* group 8, 8 splits */
    if (!quick) {
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 3, 12, 1, 333, 128, 0, 132); /* group 12: two head chunks */
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 4, 2, 1001, 256, 16, -3); /* 334 splits > D */
        bad += run<__half>(KB_DTYPE_F16, 3, 2, 1, 1, 64, 16, 132);             /* one token */
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 2, 1, 131, 256, 64, -7);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 3, 3, 3, 517, 64, 64, 1);
        bad += run<__nv_bfloat16>(KB_DTYPE_BF16, 1, 2, 1, 4099, 128, 16, 132); /* the H100 choice: 33 splits */
    }
    printf("%d failed\n", bad);
    return bad != 0;
}
