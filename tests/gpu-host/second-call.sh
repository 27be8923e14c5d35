#!/bin/bash
# second-call.sh - the fifth session's second call, after one-call.sh: Lightning's chunks per group
# against fla over 4k..256k, the gated delta rule against fla's gated kernel, the 32-channel
# state pass, DeepSeek-V3's FP8 experts; into $OUT/two.db, each step bounded by CALL_LIMIT.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start
[ -x kbench ] || bash tests/gpu-host/build.sh || exit 1
timing_db two
L="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384,65536,262144"
step lightning 90 --plugin fla_attention.py $L --kernels 'attention.lightning@cuda.mma,attention.lightning@cuda.fla-simple-gla'
for g in 4 8 16; do KBENCH_LIGHTNING_GROUP=$g step lightning-g$g 40 $L --kernels attention.lightning@cuda.mma; done
step delta-gated 80 --plugin fla_delta.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-*' --seq 4096,16384 --decay 0,1
KBENCH_DELTA_VS=32 step delta-vs32 30 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels attention.delta@cuda.mma --seq 4096,16384 --decay 0,1
step moe-deepseek 120 --max-time 0.3 \
    --kernels 'moe.experts@cuda.wgmma-fp8,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas,gemm.dense@cuda.cublaslt' \
    --dtype e4m3,bf16 --preset deepseek-v3 --experts 16 --tokens 4096 --m 32768 --n 6144 --k 7168
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), coalesce('decay' || r.decay, ''), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('lightning.group', 'delta.state_channels', 'fp8.quantize_s')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 8;"
echo "done $(date -u +%T)"
