#!/bin/bash
# fifth-call.sh - the sixth session's last call: the delta rule's three passes chained by PDL (the
# default, verified at odd sizes), and its state pass at 16 value channels a block
# (KBENCH_DELTA_VS=16, d = 128: 128 blocks at batch 1 and 16 heads, where 32 channels fill 64 of
# the 132 SMs), verified too; then both timed beside fla's gated kernel at 4k and 16k. Into
# $OUT: vs16.db, deltav.db, sweeps.log, five.db, steps.log.
# Ran once (17:06 UTC): the PDL chain made the default 35% slower (1331 against 984-990 us at
# 16k) and was reverted; docs/performance.md, "Sixth session", has the numbers. Run again as it
# is, it times the 16-wide pass without PDL: the next lease's first measurement. If that pass
# wins, make it the default at d = 128 (delta_cuda.c) and re-run tests/gpu.sh.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
. tests/gpu-host/sweeps.sh
call_start build || exit 1
export NEW_LIMIT=60
( export KBENCH_DELTA_VS=16
  sweep vs16 --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,300,1000,4099 \
      --head-dim 128 --decay 0,1 ) &
sweep deltav --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,300,1000,4099 \
    --head-dim 64,128 --decay 0,1 &
wait
sweep_report vs16 deltav
for f in vs16 deltav; do echo "=== $f"; cat "$OUT/$f.log"; rm -f "$OUT/$f.log"; done >"$OUT/sweeps.log"
DB=$OUT/five.db
P="--db $DB --devices cuda:0 --max-time 0.2 --no-metrics --quiet --no-show"
T="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 --seq 4096,16384 --decay 0,1"
KBENCH_DELTA_VS=16 step delta-vs16 30 $T --kernels attention.delta@cuda.mma
step delta 110 --plugin fla_delta.py $T --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk'
echo "=== results $(date -u +%T)"
delta_report "$DB"
echo "done $(date -u +%T)"
