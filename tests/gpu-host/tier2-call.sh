#!/bin/bash
# tier2-call.sh - one device call for what issue 21 still needs measured on the GPU, and the FP8
# MoE experts of issue 20, all into $OUT/tier2.db (bounded by CALL_LIMIT seconds in all):
#   1. flash-decoding at batch 1 (the 64k miss: 60% of the copy bandwidth) with the split target
#      at 4, 8 and 16 CTAs per SM, with the calibrated copy bandwidth beside them;
#   2. block-sparse at 50/75/90% on the warp-specialised schedule against dense wgmma-ws flash
#      at 32k (and the mma.sync kernel at 90%, with its kernels' traced times);
#   3. the delta rule on tensor cores (@cuda.mma, 64- and 32-channel state passes) against its
#      recurrent form at 16k and fla's chunked kernels at 4k and 16k;
#   4. moe.experts@cuda.wgmma-fp8 verified at odd sizes, then Mixtral and DeepSeek-V3 (16 of its
#      256 experts: the full preset's host weights are 45 GB) beside the bf16 experts and cuBLAS's
#      dense GEMMs of the same FLOPs.
# The steps run most wanted first, in the order 1, 2, 3, 4 with the extras last.
# Results print as one table (and the database comes back under $OUT).
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start
[ -x kbench ] || bash tests/gpu-host/build.sh || exit 1
timing_db tier2
left() { echo $(( ${CALL_LIMIT:-560} - ($(date +%s) - t0) )); }
echo "=== calibrate $(date -u +%T)"
timeout 60 ./kbench calibrate --db "$DB" --devices cuda:0 2>&1 | grep -iE 'copy|bandwidth|error' | head -3
D="--kernels attention.flash@cuda.decode --dtype bf16 --heads 16 --kv-heads 4 --head-dim 128 --decode 1 --batch 1"
# most wanted first: each step gets at most what is left of CALL_LIMIT
step decode 45 $D --page 0,64 --seq 16384,65536
for c in 4 16; do KBENCH_DECODE_CTAS_PER_SM=$c step decode-sm$c 20 $D --page 0 --seq 65536; done
# block-sparse on the warp-specialised schedule (block 128: top-k 12 of 256 blocks keeps 9.9%,
# 33 24.8%, 74 49.9%) against the fastest dense flash, causal, N = 32k
step block-sparse-ws 60 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --seq 32768 --causal 1 \
    --kernels 'attention.block_sparse@cuda.wgmma-ws,attention.flash@cuda.wgmma-ws' --block 128 --topk-blocks 12,33,74
step delta 150 --plugin fla_delta.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.recurrent,attention.delta@cuda.fla-*' \
    --seq 4096,16384 --decay 0,1
step moefp8-verify 90 --max-time 0.02 --min-time 0.005 --no-counters --kernels moe.experts@cuda.wgmma-fp8 \
    --dtype e4m3 --tokens 1,77,1001 --hidden 384 --ffn 640 --experts 8,64 --top-k 1,2,8 --routing zipf
step moe-mixtral 80 --max-time 0.3 \
    --kernels 'moe.experts@cuda.wgmma-fp8,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas,gemm.dense@cuda.cublaslt' \
    --dtype e4m3,bf16 --preset mixtral-8x7b --tokens 4096 --m 8192 --n 43008 --k 4096
# the mma.sync block-sparse kernel at 90% (block 64, top-k 25 of 512), each of its kernels' traced
# time printed below (selection against attention)
step block-sparse 50 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --seq 32768 --causal 1 \
    --kernels attention.block_sparse@cuda.mma --block 64 --topk-blocks 25
KBENCH_DELTA_VS=32 step delta-vs32 40 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels attention.delta@cuda.mma --seq 4096,16384 --decay 0,1
step moe-deepseek 120 --max-time 0.3 \
    --kernels 'moe.experts@cuda.wgmma-fp8,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas,gemm.dense@cuda.cublaslt' \
    --dtype e4m3,bf16 --preset deepseek-v3 --experts 16 --tokens 4096 --m 32768 --n 6144 --k 7168
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.kernel || '@' || r.impl, r.dtype, 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), coalesce('pg' || nullif(r.page_size, 0), ''), coalesce('decay' || r.decay, ''), coalesce('E' || r.experts, ''), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('%.0fGB/s', r.gbytes_per_s), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('decode.splits', 'delta.state_channels', 'fp8.quantize_s')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.kernel || '@' || c.impl, substr(g.name, 1, 60), count(*), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'attention.block_sparse' GROUP BY c.id, g.name;" | sed 's/^/block-sparse kernels: /'
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 8;"
echo "done $(date -u +%T), $(left) s of the call left"
