#!/bin/bash
# twentieth-call.sh - the thirteenth session's MoE epilogues (SwiGLU on the special-function
# unit in every MoE GEMM, kernels/moe/swiglu.cuh; the fused FP8 epilogue's shorter stores) and
# the fourteenth's bf16 grouped GEMM forms (persistent by default, KBENCH_MOE_WG_PERSISTENT=0 a
# block a tile, KBENCH_MOE_WG_CLUSTER=2 two-block clusters sharing B): verified at tests/gpu.sh's
# odd sizes, then timed (e47d4e6's FP8 object, the old epilogue, no longer links with this host
# side: the FP8 default is compared with the thirteenth session's 2878-2901 us, another lease):
#   bf16-ds*       moe.experts@cuda.wgmma on DeepSeek-V3's shape beside cuBLAS bf16 (0.74x when
#                  last timed, sessions ago), in its three forms
#   moe-fp8*       moe.experts@cuda.wgmma-fp8 on DeepSeek-V3's shape beside cuBLASLt (about 55 s
#                  a case, most of it setup), by default and with KBENCH_MOE_FP8_A_REGS=1 (A
#                  fragments in registers) alternating
# Mixtral's shapes and the fused layer are twenty-first-call.sh's.
# The databases and the log come back as $OUT/twenty.tar.gz.
# Run as it stands (fourteenth session, 12:28 UTC); the bf16 GEMMs' clusters became their default
# after it, so a run now times clusters where its steps name the default.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
ODD="--dtype bf16 --tokens 1,77,1000 --hidden 100 --ffn 333 --experts 8,64 --top-k 1,2,8 --routing zipf"
NEW_LIMIT=80 sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 \
    --ffn 640 --experts 8 --top-k 2,8 --routing zipf &
NEW_LIMIT=80 sweep moewgv --kernels 'moe.experts@cuda.wgmma,moe.layer@cuda.wgmma' $ODD &
NEW_LIMIT=80 sweep moemmav --kernels 'moe.experts@cuda.mma,moe.layer@cuda.fused,moe.layer@cuda.unfused' $ODD &
( export KBENCH_MOE_WG_CLUSTER=2; NEW_LIMIT=80 sweep moewgcv --kernels 'moe.experts@cuda.wgmma,moe.layer@cuda.wgmma' $ODD ) &
( export KBENCH_MOE_WG_PERSISTENT=0; NEW_LIMIT=80 sweep moewgbv --kernels 'moe.experts@cuda.wgmma,moe.layer@cuda.wgmma' $ODD ) &
( export KBENCH_MOE_FP8_A_REGS=1; NEW_LIMIT=80 sweep moefp8av --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
    --tokens 1,77,1001 --hidden 384,512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
wait
sweep_report moefp8v moewgv moemmav moewgcv moewgbv moefp8av
timing_db twenty
DSB="--dtype bf16 --preset deepseek-v3 --experts 16 --tokens 4096"
step bf16-ds 75 --kernels 'moe.experts@cuda.wgmma,gemm.dense@cuda.cublas' $DSB --m 32768 --n 6144 --k 7168
KBENCH_MOE_WG_CLUSTER=2 step bf16-ds-cluster 55 --kernels moe.experts@cuda.wgmma $DSB
KBENCH_MOE_WG_PERSISTENT=0 step bf16-ds-tile 55 --kernels moe.experts@cuda.wgmma $DSB
step moe-fp8 65 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
KBENCH_MOE_FP8_A_REGS=1 step moe-fp8-aregs 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step moe-fp8-2 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_A_REGS=1 step moe-fp8-aregs2 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('min %.1fus', (SELECT 1e6 * min(s.seconds) FROM samples s WHERE s.case_id = r.case_id)), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND (k.name LIKE 'moe_wg.%' OR k.name LIKE 'moe_fp8.a_regs%')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel LIKE 'moe.%' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/kernels: /'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -6
tar czf "$OUT/twenty.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
