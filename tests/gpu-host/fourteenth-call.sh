#!/bin/bash
# fourteenth-call.sh - the first lease of the twelfth session: what changed since the last GPU
# verification checked at tests/gpu.sh's odd sizes (a subset of it, side by side), then the FP8
# MoE's two-block clusters timed (the eleventh session's thirteenth-call.sh, first half):
#   flashwsv    attention.flash@cuda.wgmma-ws's defaults (d 64 non-causal now on three consumers)
#   flashws2cv  d 64 on two consumers, non-causal (KBENCH_FLASH_WS_D64_CONSUMERS=2)
#   moefp8v     moe.experts@cuda.wgmma-fp8's defaults; moefp8cv the same with
#               KBENCH_MOE_FP8_CLUSTER=2 (pairs of tiles, a pair without its second tile)
#   qgemmv      quant.gemm_*@cuda (gemm_mma.cu's shared-memory raise moved to kb_gpu), with a long K
# then DeepSeek-V3's shape, default and clusters alternating twice, beside cuBLASLt's FP8 GEMM of
# the same FLOPs, and Mixtral's in clusters beside its cuBLASLt GEMM. profile-call.sh (its second
# half) then runs on the warm machine.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.limit --format=csv,noheader
NEW_LIMIT=${SWEEP_LIMIT:-150}
export NEW_LIMIT
sweep flashwsv --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 --batch 2 --heads 4 \
    --kv-heads 1,2,4 --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 &
( export KBENCH_FLASH_WS_D64_CONSUMERS=2; sweep flashws2cv --kernels 'attention.flash@cuda.wgmma-ws' \
    --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64 --causal 0 ) &
sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 \
    --ffn 640 --experts 8 --top-k 2,8 --routing zipf &
( export KBENCH_MOE_FP8_CLUSTER=2; sweep moefp8cv --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
    --tokens 1,77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
( sweep qgemmv --kernels 'quant.gemm_int8@cuda*,quant.gemm_fp8@cuda*' --dtype i8,e4m3 --m 1,333 --n 7,513 \
    --k 129,777 --input normal,outlier
  sweep qgemmwv --kernels 'quant.gemm_int8@cuda.wgmma,quant.gemm_fp8@cuda.wgmma' --dtype i8,e4m3 --m 129,1000 \
    --n 300 --k 4099 ) &
wait
sweep_report flashwsv flashws2cv moefp8v moefp8cv qgemmv qgemmwv
for d in moefp8cv; do
    echo "$d cluster counters: $(sqlite3 "$OUT/$d.db" "SELECT group_concat(DISTINCT name || '=' || value) FROM counters WHERE name LIKE 'moe_fp8.cluster%';")"
done
echo "flashwsv consumers: $(sqlite3 "$OUT/flashwsv.db" "SELECT group_concat(x, ' ') FROM (SELECT c.head_dim || '/' || c.causal || ':' || k.value AS x FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'flash_ws.consumers' GROUP BY c.head_dim, c.causal);")"
echo "sweeps done $(date -u +%T), $(( $(date +%s) - t0 )) s"
timing_db fourteen
MIXTRAL="--dtype e4m3 --preset mixtral-8x7b --tokens 4096"
step moe-default 90 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
KBENCH_MOE_FP8_CLUSTER=2 step moe-cluster 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step moe-default2 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_CLUSTER=2 step moe-cluster2 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_CLUSTER=2 step moe-cluster-mixtral 90 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MIXTRAL --m 8192 --n 43008 --k 4096
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), r.status, printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name LIKE 'moe_fp8.cluster%'), '') FROM v_results r ORDER BY r.case_id;"
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)), count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'moe.experts' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/moe kernels: /'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | head -10
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
