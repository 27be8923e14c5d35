#!/bin/bash
# nineteenth-call.sh - the eighteenth call's FP8 MoE steps again with room for their setup (about
# 55 s a DeepSeek-V3 case, most of it the host quantizing 2.8 GB of weights; the eighteenth gave
# them 45 s and kept only the first): the up GEMM quantizing h in its epilogue (the default)
# against KBENCH_MOE_FP8_FUSED_QUANT=0, alternating, beside cuBLASLt, and Mixtral's shape; then
# free settings at the two shapes still furthest from their bars: Lightning at 4k with each
# chunks-per-group (KBENCH_LIGHTNING_GROUP 1, 2, 8 beside the launcher's 4) and the bf16 flash at
# d 64 causal in its persistent form (KBENCH_FLASH_WS_PERSISTENT=1) beside its default.
# The databases and the log come back as $OUT/nineteen.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
timing_db nineteen
step moe-fused 75 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
( export KBENCH_MOE_FP8_FUSED_QUANT=0; step moe-sep 65 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
step moe-fused2 65 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
MIXTRAL="--dtype e4m3 --preset mixtral-8x7b --tokens 4096"
step mixtral-fused 70 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MIXTRAL --m 8192 --n 43008 --k 4096
LT="--kernels attention.lightning@cuda.mma --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096"
step lightning 15 $LT
for g in 1 2 8; do ( export KBENCH_LIGHTNING_GROUP=$g; step lightning-g$g 12 $LT ); done
D64C="--kernels attention.flash@cuda.wgmma-ws --dtype bf16 --head-dim 64 --heads 16 --causal 1 --batch 4,8 --seq 4096,2048"
step flash64c 20 $D64C
( export KBENCH_FLASH_WS_PERSISTENT=1; step flash64c-persistent 20 $D64C )
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('moe_fp8.fused_quant', 'lightning.group', 'flash_ws.persistent')), ''), r.status, printf('%.1fus', r.median_us), printf('min %.1fus', (SELECT 1e6 * min(s.seconds) FROM samples s WHERE s.case_id = r.case_id)), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err) FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel IN ('moe.experts', 'attention.lightning') GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/kernels: /'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -6
tar czf "$OUT/nineteen.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
