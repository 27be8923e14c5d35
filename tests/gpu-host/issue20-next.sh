#!/bin/bash
# issue20-next.sh - what issue 20 still needs measured on the H100, in one call: the targets
# missed in the third session with CUPTI's metrics stored beside them (flash wgmma-ws at N = 2k,
# moe.experts wgmma on Mixtral), wgmma-ws at f16 and d = 64 and 256, its persistent form at N = 2k, Lightning against fla's
# chunk_simple_gla, and INT8 attention against the new bf16 flash. Results print as one table.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
[ -x kbench ] || bash tests/gpu-host/build.sh || exit 1
DB=$OUT/issue20.db
P="--db $DB --devices cuda:0 --max-time 0.3 --quiet --no-show"
# LIMIT (seconds, default 600) bounds the whole script: each step gets at most what is left of it
# less 20 s, so the results below always print
t0=$(date +%s)
step() {
    name=$1; lim=$2; shift 2
    left=$(( ${LIMIT:-600} - 20 - ($(date +%s) - t0) )); [ "$lim" -gt "$left" ] && lim=$left
    [ "$lim" -lt 10 ] && { echo "=== $name skipped: the call's time is spent"; return; }
    echo "=== $name $(date -u +%T)"; timeout "$lim" ./kbench run $P "$@" >/dev/null 2>&1; echo "exit $?"
}
# most wanted first (a call may end before the last steps): the N = 2k miss, INT8/FP8
# attention, Lightning, the other head dims, then the CUPTI metrics of the misses
# the N = 2k miss (0.89-0.91x cuDNN) with the persistent kernel (KBENCH_FLASH_WS_PERSISTENT=1: one
# block per SM looping over the 128-row work tiles; the counter flash_ws.persistent says which
# ran), beside the non-persistent one and cuDNN again in the same step's neighbour
step flash-2k 60 --no-metrics --plugin torch_attention.py \
    --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' \
    --dtype bf16 --heads 16 --head-dim 128 --batch 8 --seq 2048 --causal 0,1
KBENCH_FLASH_WS_PERSISTENT=1 step flash-2k-persistent 60 --no-metrics --kernels 'attention.flash@cuda.wgmma-ws' \
    --dtype bf16 --heads 16 --head-dim 128 --batch 8 --seq 2048 --causal 0,1
# and at d = 256 beside flash-f16-d64's bf16 rows (batch 4, N = 4k)
KBENCH_FLASH_WS_PERSISTENT=1 step flash-d256-persistent 60 --no-metrics --kernels 'attention.flash@cuda.wgmma-ws' \
    --dtype bf16 --heads 16 --head-dim 256 --batch 4 --seq 4096 --causal 0,1
# INT8 attention (SageAttention2's shape) against the bf16 flash kernels; the target: INT8 >= 1.5x
# the bf16 wgmma-ws (attention.int8@cuda.wgmma-ws is the INT8 recipe on the same schedule,
# @cuda.wgmma-fp8 adds SageAttention2's FP8 P·V; attention.flash@cuda.wgmma-fp8 is all-e4m3 flash)
step int8 120 --no-metrics \
    --kernels 'attention.int8@cuda.mma,attention.int8@cuda.wgmma,attention.int8@cuda.wgmma-ws,attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8' \
    --dtype i8,bf16,e4m3 --input outlier \
    --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0
# Lightning (un-normalised decay) against fla's chunk_simple_gla, 4k..64k; then where it misses
# (4k, 8k: 0.74x in the fourth session) with chunks per group forced to 2 and 4 (the counter
# lightning.group says which ran): less state traffic against fewer blocks
step lightning 150 --no-metrics --plugin fla_attention.py \
    --kernels 'attention.lightning@cuda.mma,attention.lightning@cuda.fla-simple-gla' --dtype bf16 --batch 1 \
    --heads 16 --head-dim 128 --seq 4096:65536:x4 --chunk 64
for g in 2 4; do
    KBENCH_LIGHTNING_GROUP=$g step lightning-g$g 40 --no-metrics --kernels attention.lightning@cuda.mma --dtype bf16 \
        --batch 1 --heads 16 --head-dim 128 --seq 4096,8192 --chunk 64
done
# f16, d = 64 and d = 256 (wgmma-ws only: @cuda.wgmma skips 256, saying so; no metrics)
step flash-f16-d64 120 --no-metrics --plugin torch_attention.py \
    --kernels 'attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma,attention.sdpa@cuda.torch-cudnn' \
    --dtype f16,bf16 --heads 16 --head-dim 64,128,256 --batch 4 --seq 4096 --causal 0,1
# the FP8 kernels at issue 20's shape (16 heads, d = 128), causal and not, beside their baselines
step fp8 150 --no-metrics \
    --kernels 'attention.int8@cuda.wgmma-ws,attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8' \
    --dtype i8,bf16,e4m3 --heads 16 --head-dim 128 --seq 4096,16384 --batch 4,1 --causal 0,1
# the misses, with the default metric set (tensor pipe, DRAM bytes, SM throughput, occupancy)
step flash-2k-metrics 90 --plugin torch_attention.py --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' \
    --dtype bf16 --heads 16 --head-dim 128 --batch 8 --seq 2048 --causal 0,1
step moe-metrics 120 --kernels 'moe.experts@cuda.wgmma,gemm.dense@cuda.cublas' --dtype bf16 --preset mixtral-8x7b \
    --tokens 4096 --m 8192 --n 43008 --k 4096
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT kernel || '@' || impl, dtype, 'b' || coalesce(batch, '-'), 'n' || coalesce(seq_len, gemm_m), 'd' || coalesce(head_dim, '-'), 'causal' || coalesce(causal, '-'), status, printf('%.1f us', median_us), printf('%.0f TF/s', gflops / 1000) FROM v_results ORDER BY case_id;"
sqlite3 -separator ' ' "$DB" "SELECT c.id, 'n' || c.seq_len, 'd' || c.head_dim, 'causal' || c.causal, k.name, k.value FROM counters k JOIN cases c ON c.id = k.case_id WHERE k.name = 'flash_ws.persistent' AND k.value = 1 ORDER BY c.id;" | sed 's/^/persistent: case /'
sqlite3 -separator ' ' "$DB" "SELECT c.kernel || '@' || c.impl, 'n' || coalesce(c.seq_len, c.gemm_m), k.name, printf('%.3g', k.value) FROM counters k JOIN cases c ON c.id = k.case_id WHERE k.name LIKE 'sm__%' OR k.name LIKE 'dram__%' OR k.name LIKE '%tensor%' ORDER BY c.id, k.name;" | head -40
echo "done $(date -u +%T)"
