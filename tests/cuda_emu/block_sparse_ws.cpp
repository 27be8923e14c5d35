// block_sparse_ws.cpp - attention.block_sparse@cuda.wgmma-ws's device code under hopper_emu.h:
// the selection kernels (kernels/attention/block_sparse_select.cu: block means, top-k by
// mean_q·mean_k in float64) then the attention (kernels/attention/block_sparse_ws.cu:
// flash_ws.cuh's schedule walking the kept 128-key tiles, then the diagonal), both made C++ by
// run.sh, launched in block_sparse_cuda.c's order with the launchers' grids and shared memory,
// on attention.block_sparse's inputs; judged by the operation's verify (the kept blocks
// exactly, then sampled rows in float64). f16 and bf16, d 128 and 64, GQA, batch 2, N 1, 77,
// 300 and 1000 (a short last block), a top-k below, at and above the past blocks.
extern "C" {
#include "kernels/kernel.h"
}
#include "dev_emu.cpp" /* block_sparse_select.cu and block_sparse_ws.cu made C++ by run.sh */
extern "C" {
#include "kernels/attention/sparse_ops.h"
}
#include <cstdio>
#include <type_traits>

template <typename T, int DH>
static int run(enum kb_dtype dt, int B, int H, int KV, int N, int topk)
{
    constexpr bool BF16 = std::is_same<T, __nv_bfloat16>::value;
    constexpr int QG = 8; /* select_t's query blocks per selection CTA */
    kb_shape s = {};
    s.batch = B; s.heads = H; s.kv_heads = KV; s.seq_len = N; s.head_dim = DH; s.causal = 1;
    s.block = BSA_BLOCK; s.topk_blocks = topk;
    s.input = KB_INPUT_NORMAL;
    kb_operands io = {};
    char err[256];
    if (kb_op_attention_block_sparse.inputs(&io, &s, dt, 42, err, sizeof err) != KB_OK) { printf("inputs: %s\n", err); return 1; }
    auto q = emu_convert<T>((float *)io.buffer[KB_BSA_Q], kb_operands_elems(&io, KB_BSA_Q));
    auto k = emu_convert<T>((float *)io.buffer[KB_BSA_K], kb_operands_elems(&io, KB_BSA_K));
    auto v = emu_convert<T>((float *)io.buffer[KB_BSA_V], kb_operands_elems(&io, KB_BSA_V));
    const int nb = (N + BSA_BLOCK - 1) / BSA_BLOCK;
    /* scratch and outputs poisoned as the device's are (O NaN, the choice -1) */
    std::vector<double> qmean((size_t)B * H * nb * DH, NAN), kmean((size_t)B * KV * nb * DH, NAN);
    std::vector<int> kept(kb_operands_elems(&io, KB_BSA_KEPT), -1);
    const size_t no = kb_operands_elems(&io, KB_BSA_O);
    std::vector<uint16_t> o(no, 0x7fff); /* NaN in f16 and bf16 */

    /* block_sparse_cuda_select: the means of Q, of K (channel-major), then the choice */
    emu_launch(nb, B * H, 1, DH, 0, [&] { block_means<T, false>(q.data(), qmean.data(), N, DH, BSA_BLOCK); });
    emu_launch(nb, B * KV, 1, DH, 0, [&] { block_means<T, true>(k.data(), kmean.data(), N, DH, BSA_BLOCK); });
    const size_t sel_smem = (size_t)QG * nb * (sizeof(double) + 1) + (size_t)QG * DH * sizeof(double);
    emu_launch((nb + QG - 1) / QG, B * H, 1, kSelectThreads, sel_smem,
               [&] { select_blocks<QG>(qmean.data(), kmean.data(), kept.data(), nb, H, KV, DH, topk); });

    /* block_sparse_ws_attend: its tensor maps and grid */
    CUtensorMap mq, mk, mv;
    PFN_cuTensorMapEncodeTiled_v12000 fn = kb_tma::encode_tiled();
    if (encode_rows(fn, &mq, CU_TENSOR_MAP_DATA_TYPE_UINT16, q.data(), N, B * H, DH, 2) != CUDA_SUCCESS ||
        encode_rows(fn, &mk, CU_TENSOR_MAP_DATA_TYPE_UINT16, k.data(), N, B * KV, DH, 2) != CUDA_SUCCESS ||
        encode_rows(fn, &mv, CU_TENSOR_MAP_DATA_TYPE_UINT16, v.data(), N, B * KV, DH, 2) != CUDA_SUCCESS) {
        printf("encode failed\n");
        return 1;
    }
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)DH));
    emu_launch(nb, H, B, WS_THREADS, BsaLayout<DH>::SMEM,
               [&] { block_sparse_ws<BF16, DH>(mq, mk, mv, o.data(), kept.data(), N, H, KV, topk, scale_log2); });

    float *out = (float *)io.buffer[KB_BSA_O];
    for (size_t e = 0; e < no; e++)
        out[e] = emu_to_float(T{ o[e] });
    memcpy(io.buffer[KB_BSA_KEPT], kept.data(), kept.size() * sizeof(int));
    kb_accuracy acc;
    kb_op_attention_block_sparse.verify(&io, &s, dt, 42, 1, &acc);
    printf("block-sparse wgmma-ws %s B=%d H=%d KV=%d N=%d d=%d topk=%d: choices %ld/%ld differ, rel_l2 %.3g max_abs %.3g "
           "%s\n",
           kb_dtype_name(dt), B, H, KV, N, DH, topk, (long)acc.exact_mismatches, (long)acc.exact_checked, acc.rel_l2_err,
           acc.max_abs_err, acc.passed ? "PASS" : "FAIL");
    kb_operands_free(&io);
    return !acc.passed;
}

int main()
{
    int bad = 0;
    /* one short block: only the diagonal */
    bad += run<__nv_bfloat16, 128>(KB_DTYPE_BF16, 1, 2, 1, 1, 1);
    bad += run<__half, 128>(KB_DTYPE_F16, 1, 3, 3, 77, 2);
    /* 3 blocks, the last short; top-k 1 below the 2 past blocks of the last, GQA, batch 2 */
    bad += run<__nv_bfloat16, 128>(KB_DTYPE_BF16, 2, 2, 1, 300, 1);
    /* 8 blocks, the last of 104 tokens: top-k below (3), at (7) and above (9) the 7 past blocks
     * of the last; GQA 3:1 and 2:1, batch 2, d 64 */
    bad += run<__half, 128>(KB_DTYPE_F16, 1, 3, 1, 1000, 3);
    bad += run<__nv_bfloat16, 64>(KB_DTYPE_BF16, 2, 2, 2, 1000, 7);
    bad += run<__half, 128>(KB_DTYPE_F16, 1, 2, 1, 1000, 9);
    bad += run<__half, 64>(KB_DTYPE_F16, 2, 4, 2, 300, 2);
    bad += run<__nv_bfloat16, 128>(KB_DTYPE_BF16, 1, 2, 2, 1000, 2);
    printf("%d failed\n", bad);
    return bad != 0;
}
