#!/bin/bash
# first-call.sh - one device call that builds, verifies at odd sizes the CUDA implementations
# never yet run on a GPU (NEW_KERNELS: gpu.sh's own sweeps of them, side by side, bounded by
# NEW_LIMIT seconds), checks the varlen upload race (warm processes, three rounds), and then
# starts the h100 suite as one run (h100-suite.sh, SUITE_LIMIT) that later calls resume.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
t0=$(date +%s)
bash tests/gpu-host/build.sh || exit 1
V="--devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show"
. tests/gpu-host/sweeps.sh
sweep deltamma --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,300,1000,4099 --head-dim 64,128 --decay 0,1 &
sweep deltamma-dec --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16,bf16 --seq 1,300,1000 --head-dim 64,128 --decay 1 --decode 1 &
sweep ssdmma --kernels attention.ssd@cuda.mma --dtype f16,bf16 --batch 2 --heads 4 --chunk 64 --kv-heads 1,2 --seq 1,77,1000,4099 --head-dim 64,128 --state 64,128 --causal 0,1 &
sweep int8ws --kernels 'attention.int8@cuda.wgmma-ws,attention.int8@cuda.wgmma' --dtype i8 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input outlier,normal &
sweep varlen --kernels attention.varlen@cuda.mma --dtype f16,bf16 --batch 5 --heads 4 --head-dim 64,128 --causal 0,1 --lengths uniform,longtail,equal --kv-heads 1,4 --seq 1,77,1000 &
wait
sweep_report deltamma deltamma-dec ssdmma int8ws varlen
left=$(( ${CALL_LIMIT:-560} - ($(date +%s) - t0) ))
echo "=== $(date -u +%T): $left s left for the suite"
[ "$left" -gt 60 ] && SUITE_LIMIT=$left bash tests/gpu-host/h100-suite.sh
