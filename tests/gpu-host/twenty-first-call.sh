#!/bin/bash
# twenty-first-call.sh - the fourteenth session's MoE forms on Mixtral-8x7B's shape (4096 tokens),
# after twentieth-call.sh timed them on DeepSeek-V3's (and verified them at odd sizes):
#   bf16-mx*       moe.experts@cuda.wgmma (persistent by default; KBENCH_MOE_WG_CLUSTER=2 two-block
#                  clusters sharing B) and @cuda.mma beside cuBLAS bf16 of the same FLOPs
#   fp8-mx         moe.experts@cuda.wgmma-fp8 beside cuBLASLt
#   layer          moe.layer@cuda.wgmma (fused) against @cuda.unfused (issue 20's 1.2x)
#   bf16-ds*       DeepSeek-V3's shape again, clusters then the default (twentieth-call.sh had the
#                  clusters' up GEMM 9% faster, their median slower)
# WG_CLUSTER=2 makes the bf16 clusters the form of every step (where twentieth-call.sh found them
# faster). The database and the log come back as $OUT/twenty-first.tar.gz.
# Run as it stands (fourteenth session, 12:28 UTC); the bf16 GEMMs' clusters became their default
# after it, so a run now times clusters where its steps name the default.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
[ -n "$WG_CLUSTER" ] && export KBENCH_MOE_WG_CLUSTER=$WG_CLUSTER
timing_db twenty-first
MIXTRAL="--preset mixtral-8x7b --tokens 4096"
step bf16-mx 80 --kernels 'moe.experts@cuda.wgmma,moe.experts@cuda.mma,gemm.dense@cuda.cublas' --dtype bf16 $MIXTRAL \
    --m 8192 --n 43008 --k 4096
KBENCH_MOE_WG_CLUSTER=2 step bf16-mx-cluster 50 --kernels moe.experts@cuda.wgmma --dtype bf16 $MIXTRAL
step fp8-mx 70 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' --dtype e4m3 $MIXTRAL --m 8192 --n 43008 --k 4096
step layer 70 --kernels 'moe.layer@cuda.wgmma,moe.layer@cuda.unfused' --dtype bf16 $MIXTRAL
DSB="--dtype bf16 --preset deepseek-v3 --experts 16 --tokens 4096"
KBENCH_MOE_WG_CLUSTER=2 step bf16-ds-cluster 50 --kernels moe.experts@cuda.wgmma $DSB
step bf16-ds 50 --kernels moe.experts@cuda.wgmma $DSB
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('min %.1fus', (SELECT 1e6 * min(s.seconds) FROM samples s WHERE s.case_id = r.case_id)), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND (k.name LIKE 'moe_wg.%' OR k.name LIKE 'moe_fp8.a_regs%')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel LIKE 'moe.%' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/kernels: /'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -6
tar czf "$OUT/twenty-first.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
