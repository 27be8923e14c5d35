#!/bin/bash
# tenth-call.sh - after ninth-call.sh, on the same machine: what it timed, verified at
# tests/gpu.sh's odd sizes (the FP8 and INT8 attention with FP8 P·V, the bf16/f16 flash on the
# FlashAttention-3 schedule, the FP8 MoE GEMM), then Nsight Compute's stall, occupancy and
# instruction sections of the FP8 flash at SageAttention2's shape, of the bf16 flash against
# cuDNN at N = 2k (batch 8, d 128), and of the FP8 MoE GEMM on DeepSeek-V3's shape.
# Into $OUT: the sweeps' .db and .log, ncu*.txt.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
NEW_LIMIT=200 sweep int8fp8v --timeout 20 --kernels 'attention.int8@cuda.wgmma-fp8,attention.int8@cuda.wgmma-ws' \
    --dtype i8 --batch 2 --heads 3 --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
NEW_LIMIT=200 sweep flashfp8v --timeout 20 --kernels 'attention.flash@cuda.wgmma-fp8' --dtype e4m3 --batch 2 --heads 3 \
    --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
NEW_LIMIT=200 sweep flashwsv --timeout 20 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 --batch 2 --heads 4 \
    --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 &
NEW_LIMIT=200 sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384 \
    --ffn 640 --experts 8,64 --top-k 1,2,8 --routing zipf &
wait
sweep_report int8fp8v flashfp8v flashwsv moefp8v
if ncu_start; then
    K="--no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics --no-counters --quiet --no-show"
    timeout "$left" "$NCU" --clock-control none -k regex:'fp8_pv_ws' --launch-skip 3 \
        --launch-count 1 $NCU_SECTIONS --section InstructionStats --section ComputeWorkloadAnalysis --print-details all \
        ./kbench run --db /tmp/ncu-fp8.db $K --kernels attention.flash@cuda.wgmma-fp8 --dtype e4m3 --batch 4 \
        --heads 32 --head-dim 128 --seq 8192 --causal 0 >"$OUT/ncu-fp8.txt" 2>&1
    left=$(( ${CALL_LIMIT:-500} - 20 - ($(date +%s) - t0) ))
    [ "$left" -gt 30 ] && timeout "$left" "$NCU" --clock-control none -k regex:'flash_wgmma_ws|sdpa|fmha|cudnn' \
        --launch-skip 6 --launch-count 2 $NCU_SECTIONS --section InstructionStats --print-details all \
        ./kbench run --db /tmp/ncu.db $K --plugin torch_attention.py \
        --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' --dtype bf16 --heads 16 \
        --head-dim 128 --batch 8 --seq 2048 --causal 0 >"$OUT/ncu.txt" 2>&1
    left=$(( ${CALL_LIMIT:-500} - 20 - ($(date +%s) - t0) ))
    [ "$left" -gt 30 ] && timeout "$left" "$NCU" --clock-control none -k regex:'moe_fp8_wgmma' --launch-skip 3 \
        --launch-count 1 $NCU_SECTIONS --print-details all \
        ./kbench run --db /tmp/ncu-moe.db $K --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
        --preset deepseek-v3 --experts 16 --tokens 4096 >"$OUT/ncu-moe.txt" 2>&1
    for f in "$OUT"/ncu*.txt; do
        echo "--- $f"
        grep -E '^  [a-zA-Z_].*\(|Duration|Achieved Occupancy|No Eligible|Warp Cycles Per Issued|Stall|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy|Pipe' \
            "$f" | cut -c1-150 | head -40
    done
fi
echo "done $(date -u +%T)"
