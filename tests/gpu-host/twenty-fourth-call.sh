#!/bin/bash
# twenty-fourth-call.sh - the fifteenth session's FP8 MoE tile boundaries, after
# twenty-second-call.sh put about 7.5 us a 128 x 256 output tile outside its k-tiles (the down
# GEMM at ffn 1024 and 2048), both opt-in until timed:
#   turn carry     consumer 1's last turn of a tile passes to consumer 0's first of the next, so
#                  consumer 0 no longer waits for consumer 1's epilogue (KBENCH_MOE_FP8_TURN_CARRY=1)
#   staged stores  the down GEMM's tile through shared memory by stmatrix, stored in 16-byte row
#                  segments (KBENCH_MOE_FP8_STAGED_STORE=1; by default 64 four-byte stores a thread)
#   moefp8*v       verified at tests/gpu.sh's odd sizes: the defaults, both new forms, the clusters
#                  and the narrow tile with both, a block a tile with both, uniform and one-expert
#                  routing with both
#   fp8-ds*        DeepSeek-V3's shape (4096 tokens, 16 experts) beside cuBLASLt: the default, the
#                  staged stores, the carry, both (about 50 s a case, most of it setup)
#   fp8-ds-f1024   both at ffn 1024 (8 k-tiles a down tile) for the cost per tile again
# The databases and the log come back as $OUT/twenty-fourth.tar.gz.
# Run 2026-12-07 (docs/performance.md, "Sixteenth session"): the staged stores took 16-20% off the
# down GEMM and are now the default (so STAGED_STORE=1 here is the default); the carry was no
# faster. The fp8-ds-f1024 step named above was never in it.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
ODD8="--kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf"
BOTH="KBENCH_MOE_FP8_TURN_CARRY=1 KBENCH_MOE_FP8_STAGED_STORE=1"
NEW_LIMIT=80 sweep moefp8v $ODD8 &
( export $BOTH; NEW_LIMIT=80 sweep moefp8tv $ODD8 ) &
( export $BOTH KBENCH_MOE_FP8_TILE=128; NEW_LIMIT=80 sweep moefp8nv $ODD8 ) &
( export $BOTH KBENCH_MOE_FP8_CLUSTER=2; NEW_LIMIT=80 sweep moefp8cv $ODD8 ) &
( export $BOTH KBENCH_MOE_FP8_PERSISTENT=0; NEW_LIMIT=80 sweep moefp8bv $ODD8 ) &
( export $BOTH; NEW_LIMIT=80 sweep moefp8ev --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 999 --hidden 640 \
    --ffn 384 --experts 8 --top-k 2 --routing uniform,one ) &
wait
sweep_report moefp8v moefp8tv moefp8nv moefp8cv moefp8bv moefp8ev
for f in moefp8v moefp8tv; do
    echo "$f: $(sqlite3 "$OUT/$f.db" "SELECT group_concat(name || '=' || v, ' ') FROM (SELECT DISTINCT name, value AS v FROM counters WHERE name IN ('moe_fp8.scales_async', 'moe_fp8.turn_carry', 'moe_fp8.staged_store'));")"
done
timing_db twenty-fourth
step fp8-ds 75 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
KBENCH_MOE_FP8_STAGED_STORE=1 step fp8-ds-staged 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_TURN_CARRY=1 step fp8-ds-carry 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_TURN_CARRY=1 KBENCH_MOE_FP8_STAGED_STORE=1 step fp8-ds-both 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step fp8-ds-2 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
moe_call_report twenty-fourth "'moe_fp8.turn_carry', 'moe_fp8.staged_store'"
