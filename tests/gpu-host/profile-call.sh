#!/bin/bash
# profile-call.sh - the eleventh session's thirteenth-call.sh, second half, for a warm machine after
# fourteenth-call.sh: Nsight Compute's stall reasons and per-SASS samples of the FP8 MoE's two
# GEMMs (DeepSeek-V3's shape) and the bf16 flash at d 128, batch 8, N 2k, causal and not.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
K="--no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics --no-counters --quiet --no-show"
SECTIONS="--section SpeedOfLight --section WarpStateStats --section SourceCounters --section MemoryWorkloadAnalysis
    --section ComputeWorkloadAnalysis"
MOE="--kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096"
# the kernels' template arguments: <EPI, TN>, MOE_EPI_SWIGLU = 2 the up GEMM, MOE_EPI_BF16 = 1 the down
profile moe-up 'moe_fp8_wgmma<.int.2' 2 $MOE
profile moe-down 'moe_fp8_wgmma<.int.1' 2 $MOE
FLASH="--kernels attention.flash@cuda.wgmma-ws --dtype bf16 --batch 8 --heads 16 --head-dim 128 --seq 2048"
[ -n "$NO_FLASH" ] || profile flash-causal 'flash_wgmma_ws' 4 $FLASH --causal 1
[ -n "$NO_FLASH" ] || profile flash-noncausal 'flash_wgmma_ws' 4 $FLASH --causal 0
KBENCH_MOE_FP8_CLUSTER=2 profile moe-up-cluster 'moe_fp8_wgmma<.int.2' 2 $MOE
echo "done $(date -u +%T)"
tar czf "$OUT/profiles.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.txt *.csv *.log 2>/dev/null)
