#!/bin/bash
# twenty-third-call.sh - Nsight Compute on the FP8 MoE's two GEMMs (DeepSeek-V3's shape, 4096
# tokens, 16 experts; the fifteenth session's default: block scales by cp.async), after
# twenty-second-call.sh put about 7.5 us a 128 x 256 output tile (its down GEMM at ffn 1024
# and 2048: 8 and 16 k-tiles a tile, the same tiles) outside the k-tiles' 0.77 us each: the
# stall samples per SASS instruction say where a tile's fixed time goes (epilogue stores, the
# consumers' turns, the ring's refill). Reports and the per-SASS CSVs come back as
# $OUT/profiles23.tar.gz. Run 2026-12-07 with KBENCH_MOE_FP8_STAGED_STORE=1 (then opt-in, now the
# default): docs/performance.md, "Sixteenth session".
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
K="--no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics --no-counters --quiet --no-show"
SECTIONS="--section SpeedOfLight --section WarpStateStats --section SourceCounters --section MemoryWorkloadAnalysis
    --section ComputeWorkloadAnalysis --section SchedulerStats"
MOE="--kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096"
# <EPI, TN>: MOE_EPI_SWIGLU_FP8 = 4 the up GEMM (h quantized in its epilogue), MOE_EPI_BF16 = 1 the down
profile moe-down 'moe_fp8_wgmma<.int.1, .int.256' 2 $MOE
profile moe-up 'moe_fp8_wgmma<.int.4, .int.256' 2 $MOE
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
tar czf "$OUT/profiles23.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.txt *.csv *.log 2>/dev/null)
