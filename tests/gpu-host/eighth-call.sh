#!/bin/bash
# eighth-call.sh - written at the end of the seventh session for the next lease (not yet run):
# 1. the delta rule's KBENCH_DELTA_OUT=split output pass, not timed since the output pass began
#    loading V' into S's space (48 KiB a block now); if it still loses to the default (189 us at
#    16k in the seventh session), take it out with its tests;
# 2. Nsight Compute's stall, occupancy and memory sections of attention.flash@cuda.wgmma-ws and of
#    cuDNN's kernel (PyTorch's SDPA) at issue 20's missed shape, N = 2k, batch 8, 16 heads, d 128,
#    bf16, non-causal: the CUPTI metrics of the sixth session put the tensor pipe at 64.7% against
#    cuDNN's 73.7%; these sections say what its warps wait on instead;
# 3. the same sections of moe.experts@cuda.wgmma-fp8 on DeepSeek-V3's shape (16 of its experts,
#    4096 tokens), 0.47x cuBLASLt's FP8 GEMM with its tensor pipe 37% busy: whether shared memory
#    (both wgmma operands read from it, m64n128k32) or the per-k-block promotion holds it.
# Into $OUT: eight.db, steps.log, ncu.txt, ncu-moe.txt.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
timing_db eight
B="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 --seq 4096,16384 --decay 1"
KBENCH_DELTA_OUT=split step delta-split 30 $B --kernels attention.delta@cuda.mma
step delta 30 $B --kernels attention.delta@cuda.mma
echo "=== results $(date -u +%T)"
delta_report "$DB"
if ncu_start; then
    # the first launches are warm-up; one of each kernel after them
    timeout "$left" "$NCU" --clock-control none -k regex:'flash_wgmma_ws|sdpa|fmha|cudnn' --launch-skip 6 \
        --launch-count 2 $NCU_SECTIONS --section InstructionStats --print-details all \
        ./kbench run --db /tmp/ncu.db --no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics \
        --no-counters --quiet --no-show --plugin torch_attention.py \
        --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' --dtype bf16 --heads 16 \
        --head-dim 128 --batch 8 --seq 2048 --causal 0 >"$OUT/ncu.txt" 2>&1
    echo "ncu exit $?"
    left=$(( ${CALL_LIMIT:-500} - 20 - ($(date +%s) - t0) ))
    [ "$left" -gt 30 ] && timeout "$left" "$NCU" --clock-control none -k regex:'moe_fp8_wgmma' --launch-skip 3 \
        --launch-count 1 $NCU_SECTIONS --section MemoryWorkloadAnalysis_Chart --print-details all \
        ./kbench run --db /tmp/ncu-moe.db --no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 \
        --no-metrics --no-counters --quiet --no-show --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
        --preset deepseek-v3 --experts 16 --tokens 4096 >"$OUT/ncu-moe.txt" 2>&1
    grep -E '^  [a-zA-Z_].*\(|Duration|Achieved Occupancy|Registers Per|No Eligible|Warp Cycles Per Issued|Stall|Compute \(SM\) Throughput|Memory Throughput' \
        "$OUT/ncu.txt" | cut -c1-160 | head -80
fi
echo "done $(date -u +%T)"
