#!/bin/bash
# sixth-call.sh - the seventh session's first call: the delta rule's state pass at 16 value
# channels a block (KBENCH_DELTA_VS=16, verified 20 of 20 in the sixth session, timed then only
# with the PDL chain since reverted) beside the default (32) and fla's gated kernel at 4k and
# 16k; then Nsight Compute's stall and throughput sections of the state and output passes at 16k
# (ncu --clock-control none), to see where their time goes. First the output pass that loads V'
# into S's space (64 KiB a block at d = 128, three an SM) is verified at odd sizes, with its
# 64-channel split. Into $OUT: deltav.db, deltav.log, six.db, steps.log, ncu.txt.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
export NEW_LIMIT=60
delta_sweeps deltasplit KBENCH_DELTA_OUT=split --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype bf16 \
    --seq 1,77,300,1000 --head-dim 128 --decay 0,1
cat "$OUT/deltasplit.log" >>"$OUT/deltav.log"; rm -f "$OUT/deltasplit.log" "$OUT/deltasplit.db"
timing_db six
delta_vs16_and_fla
echo "=== results $(date -u +%T)"
delta_report "$DB"
if ncu_start; then
    for vs in 32 16; do
        echo "##### KBENCH_DELTA_VS=$vs"
        KBENCH_DELTA_VS=$vs timeout $((left / 2)) "$NCU" --clock-control none -k regex:'delta_mma_(state|out)' \
            --launch-skip 4 --launch-count 2 $NCU_SECTIONS --section MemoryWorkloadAnalysis_Tables \
            --section InstructionStats --section SourceCounters \
            ./kbench run --db /tmp/ncu.db --no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 \
            --no-metrics --no-counters --quiet --no-show ${DELTA_T%% --seq*} --seq 16384 --decay 1 --kernels attention.delta@cuda.mma
        echo "ncu exit $?"
    done >"$OUT/ncu.txt" 2>&1
    grep -E '^  delta_mma|Duration|Achieved Occupancy|Registers Per|Issue Slots Busy|No Eligible|Stall|Warp Cycles Per Issued|Compute \(SM\) Throughput|Memory Throughput|L1/TEX Hit|Block Limit|Bank|Shared' "$OUT/ncu.txt" | head -80
fi
echo "done $(date -u +%T)"
