#!/bin/bash
# seventh-call.sh - the seventh session's second call: attention.delta@cuda.mma with its new
# defaults (the state pass at 16 value channels a block at d = 128; the output pass with V' in
# S's shared memory) verified at odd sizes, with the 32-wide pass at d = 128 (KBENCH_DELTA_VS=32);
# then timed beside fla's gated kernel (4k, 16k; decay 0 and 1) and, for issue 21's table, beside
# fla, its own recurrent form and attention.linear@cuda.mma from 1k to 64k (decay 1).
# Into $OUT: deltav.db, deltav.log, seven.db, steps.log.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
export NEW_LIMIT=60
delta_sweeps deltavs32 KBENCH_DELTA_VS=32 $DELTA_ODD --head-dim 128
cat "$OUT/deltavs32.log" >>"$OUT/deltav.log"; rm -f "$OUT/deltavs32.log" "$OUT/deltavs32.db"
timing_db seven
B="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1"
step delta 100 --plugin fla_delta.py $B --seq 4096,16384 --decay 0,1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk'
step delta-n 90 --plugin fla_delta.py $B --seq 1024,65536 --decay 1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk,attention.linear@cuda.mma'
step linear 40 $B --seq 4096,16384 --decay 1 --kernels attention.linear@cuda.mma
step recurrent 40 $B --seq 16384 --decay 1 --kernels attention.delta@cuda.recurrent
echo "=== results $(date -u +%T)"
delta_report "$DB"
sqlite3 -separator ' ' "$DB" "SELECT kernel || '@' || impl, 'n' || seq_len, status, printf('%.1fus', median_us) FROM v_results WHERE kernel <> 'attention.delta' OR impl = 'cuda.recurrent' ORDER BY case_id;"
echo "done $(date -u +%T)"
