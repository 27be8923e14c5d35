#!/bin/bash
# twenty-second-call.sh - the fifteenth session's FP8 MoE scale warp: cp.async copies of each
# stage's block scales with the stage's arrival made when they land (the default), against the
# loads through the warp's registers (KBENCH_MOE_FP8_SCALES_ASYNC=0), which cost the warp a load's
# latency a k-tile:
#   moefp8*v       verified at tests/gpu.sh's odd sizes: the default, the old scale loads, the
#                  narrow tile, the clusters (all four forms copy their scales by cp.async)
#   fp8-ds*        DeepSeek-V3's shape (4096 tokens, 16 experts) beside cuBLASLt, the two scale
#                  forms alternating (about 55 s a case, most of it setup)
#   fp8-ds-f1024   the same with ffn 1024: the down GEMM's 8 k-tiles a tile against 16 at 2048,
#                  to part its time into k-tiles and a cost per tile
# The databases and the log come back as $OUT/twenty-second.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
ODD8="--kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf"
NEW_LIMIT=80 sweep moefp8v $ODD8 &
( export KBENCH_MOE_FP8_SCALES_ASYNC=0; NEW_LIMIT=80 sweep moefp8sv $ODD8 ) &
( export KBENCH_MOE_FP8_TILE=128; NEW_LIMIT=80 sweep moefp8nv $ODD8 ) &
( export KBENCH_MOE_FP8_CLUSTER=2; NEW_LIMIT=80 sweep moefp8cv $ODD8 ) &
NEW_LIMIT=80 sweep moefp8ev --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 999 --hidden 640 --ffn 384 \
    --experts 8 --top-k 2 --routing uniform,one &
wait
sweep_report moefp8v moefp8sv moefp8nv moefp8cv moefp8ev
for f in moefp8v moefp8sv; do
    echo "$f scales_async: $(sqlite3 "$OUT/$f.db" "SELECT group_concat(DISTINCT value) FROM counters WHERE name = 'moe_fp8.scales_async';")"
done
timing_db twenty-second
step fp8-ds 75 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
KBENCH_MOE_FP8_SCALES_ASYNC=0 step fp8-ds-sync 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step fp8-ds-2 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_SCALES_ASYNC=0 step fp8-ds-sync2 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step fp8-ds-f1024 50 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK --ffn 1024
moe_call_report twenty-second "'moe_fp8.scales_async'"
