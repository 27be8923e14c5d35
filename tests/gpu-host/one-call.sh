#!/bin/bash
# one-call.sh - the fifth session's GPU work when only one call may come: build, verify every
# CUDA kernel written since the fourth session at odd sizes (side by side, NEW_LIMIT seconds),
# then the most wanted timings of issues 20 and 21, most wanted first, each step bounded by what
# is left of CALL_LIMIT, into $OUT/one.db; the rest is in written-call.sh / issue20-next.sh and
# tier2-call.sh for later calls. Results print as one table.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start
bash tests/gpu-host/build.sh || exit 1
V="--devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show --timeout 10"
export NEW_LIMIT=${NEW_LIMIT:-120}
sweep flashws --kernels attention.flash@cuda.wgmma-ws --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 \
    --seq 1,77,1000,4099 --head-dim 256 --causal 0,1 &
( export KBENCH_FLASH_WS_PERSISTENT=1
  sweep flashwsp --kernels attention.flash@cuda.wgmma-ws --dtype bf16 --batch 2 --heads 4 --kv-heads 1,4 \
      --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 ) &
sweep fp8attn --kernels 'attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-fp8' --dtype i8,e4m3 --batch 2 \
    --heads 3 --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
sweep moefp8 --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384 --ffn 640 \
    --experts 8,64 --top-k 1,2,8 --routing zipf &
( export KBENCH_DELTA_VS=32
  sweep deltavs32 --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype bf16 --seq 1,77,1000,4099 \
      --head-dim 64,128 --decay 0,1 ) &
sweep bsaws --kernels attention.block_sparse@cuda.wgmma-ws --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 \
    --seq 1,77,1000,4099 --head-dim 64,128 --block 128 --topk-blocks 1,3,8 &
( export KBENCH_DECODE_PIPELINE=0
  sweep decodeu --kernels attention.flash@cuda.decode --decode 1 --dtype bf16 --batch 1,3 --heads 8 --kv-heads 2 \
      --seq 1,1000,4097 --head-dim 64,128 --page 0,16 ) &
sweep decodep --kernels attention.flash@cuda.decode --decode 1 --dtype f16,bf16 --batch 1,3 --heads 8 --kv-heads 8,2 \
    --seq 1,1000,4097,65537 --head-dim 64,128,256 --page 0,16 &
wait
sweep_report flashws flashwsp fp8attn moefp8 deltavs32 bsaws decodeu decodep

timing_db one
# issue 21: block-sparse on the warp-specialised schedule at 90% (block 128, top-k 12 of 256)
# against dense wgmma-ws flash; the delta rule on tensor cores against recurrent and fla at 16k
step block-sparse-ws 45 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --seq 32768 --causal 1 \
    --kernels 'attention.block_sparse@cuda.wgmma-ws,attention.flash@cuda.wgmma-ws' --block 128 --topk-blocks 12,33
step delta 90 --plugin fla_delta.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.recurrent,attention.delta@cuda.fla-*' \
    --seq 16384 --decay 0,1
# issue 20: the N = 2k miss with the persistent kernel beside cuDNN; INT8 / FP8 attention at
# SageAttention2's shape against the bf16 flash
step flash-2k 50 --plugin torch_attention.py --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' \
    --dtype bf16 --heads 16 --head-dim 128 --batch 8 --seq 2048 --causal 0,1
KBENCH_FLASH_WS_PERSISTENT=1 step flash-2k-persistent 25 --kernels attention.flash@cuda.wgmma-ws \
    --dtype bf16 --heads 16 --head-dim 128 --batch 8 --seq 2048 --causal 0,1
step int8 70 --input outlier --dtype i8,bf16,e4m3 --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0 \
    --kernels 'attention.int8@cuda.wgmma-ws,attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8'
# flash-decoding at batch 1, 64k: with software-pipelined loads (this session's first try, since
# removed: 77.5 us against 73.7 without) and not
D="--kernels attention.flash@cuda.decode --dtype bf16 --heads 16 --kv-heads 4 --head-dim 128 --decode 1 --batch 1 --seq 65536 --page 0"
timeout 40 ./kbench calibrate --db "$DB" --devices cuda:0 2>&1 | grep -iE 'copy|error' | head -2
step decode 20 $D
KBENCH_DECODE_PIPELINE=0 step decode-unpipelined 20 $D
# Lightning against fla at 4k and 8k, and with 2 and 4 chunks per group
step lightning 50 --plugin fla_attention.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --seq 4096,8192 --chunk 64 \
    --kernels 'attention.lightning@cuda.mma,attention.lightning@cuda.fla-simple-gla'
for g in 2 4; do
    KBENCH_LIGHTNING_GROUP=$g step lightning-g$g 20 --kernels attention.lightning@cuda.mma --dtype bf16 --batch 1 \
        --heads 16 --head-dim 128 --seq 4096,8192 --chunk 64
done
step moe-mixtral 60 --max-time 0.3 --dtype e4m3,bf16 --preset mixtral-8x7b --tokens 4096 --m 8192 --n 43008 --k 4096 \
    --kernels 'moe.experts@cuda.wgmma-fp8,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas,gemm.dense@cuda.cublaslt'
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.kernel || '@' || r.impl, r.dtype, 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), 'd' || coalesce(r.head_dim, '-'), coalesce('c' || r.causal, ''), coalesce('top' || r.topk_blocks, ''), coalesce('decay' || r.decay, ''), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('%.0fGB/s', r.gbytes_per_s), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('decode.splits', 'decode.pipelined', 'flash_ws.persistent', 'lightning.group', 'fp8.quantize_s')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 8;"
echo "done $(date -u +%T), $(( ${CALL_LIMIT:-560} - ($(date +%s) - t0) )) s of the call left"
