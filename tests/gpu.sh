#!/bin/sh
# gpu.sh - GPU faults are contained: an illegal address and a never-ending kernel each become
# their case's status, the GPU stays usable for the cases after them, and the sweep goes on.
# Skips, saying why, where there is no CUDA device.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
"$KBENCH" devices >"$TMP/devices" 2>&1
if ! grep -q '^cuda:0' "$TMP/devices"; then
    echo "1..0 # SKIP no CUDA device: $(sed -n 's/^cuda *//p' "$TMP/devices" | head -1)"
    exit 0
fi
DB="$TMP/gpu.db"
expect_exit 1 "a sweep of GPU faults finishes (exit 1: cases failed)" "$KBENCH" run --db "$DB" --devices cuda:0 \
    --kernels 'selftest.cuda_fault,selftest.cuda_hang' --seq 1,2 --timeout 5 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'selftest.cuda_fault' AND status = 'setup_failed' AND error LIKE '%illegal%';")" "2" "illegal address recorded with the CUDA error, twice (the GPU recovered in between)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'selftest.cuda_hang' AND status = 'timeout';")" "2" "never-ending GPU kernel killed at its time limit, twice"
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "run complete"
expect_exit 0 "a CPU case after the GPU faults runs clean" "$KBENCH" run --db "$DB" --kernels attention.flash --seq 64 --head-dim 8 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.flash' AND status = 'ok';")" "1" "and is stored ok"
finish
