#!/bin/bash
# thirteenth-call.sh - the FP8 MoE's two-block clusters timed, then where the two missed bf16/FP8
# targets lose their time, for a lease after verify.sh (written in the eleventh session, whose one
# lease timed them but had no time left for Nsight Compute's per-instruction view):
#   moe-cluster       moe.experts@cuda.wgmma-fp8 with KBENCH_MOE_FP8_CLUSTER=2 (each pair of
#                     blocks shares its B tiles through TMA multicast: 32 KiB a k-tile from L2
#                     per block instead of 48) against its default and cuBLASLt's FP8 GEMM, on
#                     DeepSeek-V3's and Mixtral's shapes, default and clusters alternating twice
#                     (the eleventh session's repeats spread by 7%)
#   moe-up, moe-down  moe.experts@cuda.wgmma-fp8's two GEMMs on DeepSeek-V3's shape (0.61-0.64x
#                     cuBLASLt): SpeedOfLight, WarpStateStats (the stall reasons the eleventh
#                     call's sections did not print), SourceCounters (stall samples per SASS
#                     instruction) and the memory sections, then the SASS with its samples as CSV
#   flash-causal      attention.flash@cuda.wgmma-ws bf16, d 128, batch 8, N 2k, causal (0.91x
#                     cuDNN) and the same non-causal (0.90x): the same sections
# Each ncu run is bounded by what is left of CALL_LIMIT (default 500 s); the reports' text and
# CSV land in $OUT. This tree's .gpubuild/cuobj.tar.gz (tests/gpu-host/pack-objects.sh) spares
# the host nvcc.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader
timing_db thirteen
DEEPSEEK="--dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096"
MIXTRAL="--dtype e4m3 --preset mixtral-8x7b --tokens 4096"
step moe-default 90 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
KBENCH_MOE_FP8_CLUSTER=2 step moe-cluster 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step moe-default2 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_CLUSTER=2 step moe-cluster2 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_CLUSTER=2 step moe-cluster-mixtral 90 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MIXTRAL --m 8192 --n 43008 --k 4096
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), r.status, printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name LIKE 'moe_fp8.cluster%'), '') FROM v_results r ORDER BY r.case_id;"
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'moe.experts' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/moe kernels: /'
K="--no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics --no-counters --quiet --no-show"
SECTIONS="--section SpeedOfLight --section WarpStateStats --section SourceCounters --section MemoryWorkloadAnalysis
    --section ComputeWorkloadAnalysis"
# profile NAME KERNEL_REGEX SKIP KBENCH_ARGS...: one launch of the kernel after SKIP of them
profile() {
    local name=$1 regex=$2 skip=$3
    shift 3
    ncu_start || return 1
    timeout "$left" "$NCU" --clock-control none --kernel-name-base demangled -k "regex:$regex" --launch-skip "$skip" --launch-count 1 $SECTIONS \
        --print-details all -o "/tmp/$name" ./kbench run --db "/tmp/$name.db" $K "$@" >"$OUT/$name.log" 2>&1
    "$NCU" -i "/tmp/$name.ncu-rep" --print-details all >"$OUT/$name.txt" 2>&1
    "$NCU" -i "/tmp/$name.ncu-rep" --page source --print-source sass --csv >"$OUT/$name-sass.csv" 2>&1
    grep -E '^  [a-zA-Z_].*\(|Duration|Throughput|Stall|Issue|Eligible|Pipe|Busy' "$OUT/$name.txt" | cut -c1-150 | head -40
}
MOE="--kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096"
# the kernels' template arguments: <EPI, TN>, MOE_EPI_SWIGLU = 2 the up GEMM, MOE_EPI_BF16 = 1 the down
profile moe-up 'moe_fp8_wgmma<2' 2 $MOE
profile moe-down 'moe_fp8_wgmma<1' 2 $MOE
FLASH="--kernels attention.flash@cuda.wgmma-ws --dtype bf16 --batch 8 --heads 16 --head-dim 128 --seq 2048"
profile flash-causal 'flash_wgmma_ws' 4 $FLASH --causal 1
profile flash-noncausal 'flash_wgmma_ws' 4 $FLASH --causal 0
echo "done $(date -u +%T)"
