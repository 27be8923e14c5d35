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
. tests/gpu-host/sweeps.sh
call_start build || exit 1
export NEW_LIMIT=60
delta_sweeps vs16 KBENCH_DELTA_VS=16 $DELTA_ODD --head-dim 128
for f in vs16 deltav; do echo "=== $f"; cat "$OUT/$f.log"; rm -f "$OUT/$f.log"; done >"$OUT/sweeps.log"
timing_db five
delta_vs16_and_fla
echo "=== results $(date -u +%T)"
delta_report "$DB"
echo "done $(date -u +%T)"
