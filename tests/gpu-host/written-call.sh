#!/bin/bash
# written-call.sh - one device call for the CUDA code written after the fourth session's budget
# ran out (every piece passed tests/cuda_emu's host emulation, none has run on a GPU): build,
# then gpu.sh's own odd-size sweeps of it side by side (NEW_LIMIT seconds), a table of what did
# not verify, then tests/gpu-host/issue20-next.sh's timings with what is left of CALL_LIMIT.
# Rebuild .gpubuild/cuobj.tar.gz first (tests/gpu-host/build.sh): the .cu objects changed.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
t0=$(date +%s)
bash tests/gpu-host/build.sh || exit 1
V="--devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show --timeout 10"
. tests/gpu-host/sweeps.sh
sweep flashws --kernels attention.flash@cuda.wgmma-ws --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 \
    --seq 1,77,1000,4099 --head-dim 256 --causal 0,1 &
( export KBENCH_FLASH_WS_PERSISTENT=1
  sweep flashwsp --kernels attention.flash@cuda.wgmma-ws --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 \
      --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 ) &
sweep fp8attn --kernels 'attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-fp8' --dtype i8,e4m3 --batch 2 \
    --heads 3 --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
sweep moefp8 --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384 --ffn 640 \
    --experts 8,64 --top-k 1,2,8 --routing zipf &
( export KBENCH_DELTA_VS=32
  sweep deltavs32 --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,300,1000,4099 \
      --head-dim 64,128 --decay 0,1 ) &
sweep lightning --kernels attention.lightning@cuda.mma --dtype f16,bf16 --batch 2 --heads 4 --seq 1,77,1000,4099 \
    --head-dim 64,128 --chunk 64,128 &
sweep bsaws --kernels attention.block_sparse@cuda.wgmma-ws --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 \
    --seq 1,77,1000,4099 --head-dim 64,128 --block 128 --topk-blocks 1,3,8 &
wait
sweep_report flashws flashwsp fp8attn moefp8 deltavs32 lightning bsaws
left=$(( ${CALL_LIMIT:-560} - ($(date +%s) - t0) ))
echo "=== $(date -u +%T): $left s left for issue20-next.sh"
[ "$left" -gt 60 ] && LIMIT=$left bash tests/gpu-host/issue20-next.sh
